//! `history.atom` (Atom 1.0) and `history.rss` (RSS 2.0) in Statuspage's shape: one entry per
//! incident, its content every update newest first as
//! `<p><small>Mar <var data-var='date'> 2</var>, <var data-var='time'>10:41</var> UTC</small><br><strong>Identified</strong> - body</p>`.

use firebreak_store::{PublicIncident, StatusData};
use jiff::Timestamp;

use super::v2::PageInfo;

/// Escapes text for XML (element content and attribute values).
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// The HTML of one incident's updates, newest first (escaped again when put in the feed).
fn content(incident: &PublicIncident) -> String {
    incident
        .updates
        .iter()
        .map(|update| {
            let at = update.created_at;
            let label = if incident
                .updates
                .iter()
                .any(|other| other.created_at < at && other.status == update.status)
            {
                "Update"
            } else {
                update.status.label()
            };
            format!(
                "<p><small>{} <var data-var='date'>{}</var>, <var data-var='time'>{}</var> UTC</small><br><strong>{label}</strong> - {}</p>",
                at.strftime("%b"),
                at.strftime("%_d"),
                at.strftime("%H:%M"),
                xml(&update.body),
            )
        })
        .collect()
}

fn host(url: &str) -> &str {
    url.split("://")
        .nth(1)
        .unwrap_or(url)
        .split('/')
        .next()
        .unwrap_or("")
}

/// "Acme Status - Incident History" (a page already called "… Status" is not doubled).
fn feed_title(name: &str) -> String {
    if name.to_lowercase().contains("status") {
        format!("{name} - Incident History")
    } else {
        format!("{name} Status - Incident History")
    }
}

fn rfc3339(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn rfc822(at: Timestamp) -> String {
    at.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

pub fn atom(data: &StatusData, page: &PageInfo, updated: Timestamp) -> String {
    let host = host(&page.url);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xml:lang=\"en-US\" xmlns=\"http://www.w3.org/2005/Atom\">\n  <id>tag:{host},2005:/history</id>\n  <link rel=\"alternate\" type=\"text/html\" href=\"{url}\"/>\n  <link rel=\"self\" type=\"application/atom+xml\" href=\"{url}/history.atom\"/>\n  <title>{title}</title>\n  <updated>{updated}</updated>\n  <author><name>{name}</name></author>\n",
        url = xml(&page.url),
        name = xml(&page.name),
        title = xml(&feed_title(&page.name)),
        updated = rfc3339(updated),
    );
    for incident in data.incidents.iter().take(50) {
        out.push_str(&format!(
            "  <entry>\n    <id>tag:{host},2005:Incident/{id}</id>\n    <published>{published}</published>\n    <updated>{updated}</updated>\n    <link rel=\"alternate\" type=\"text/html\" href=\"{url}/incidents/{id}\"/>\n    <title>{title}</title>\n    <content type=\"html\">{content}</content>\n  </entry>\n",
            id = xml(&incident.id),
            published = rfc3339(incident.created_at),
            updated = rfc3339(incident.updated_at),
            url = xml(&page.url),
            title = xml(&incident.name),
            content = xml(&content(incident)),
        ));
    }
    out.push_str("</feed>\n");
    out
}

pub fn rss(data: &StatusData, page: &PageInfo, updated: Timestamp) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n  <channel>\n    <title>{title}</title>\n    <link>{url}</link>\n    <description>Statuspage</description>\n    <pubDate>{updated}</pubDate>\n",
        url = xml(&page.url),
        title = xml(&feed_title(&page.name)),
        updated = rfc822(updated),
    );
    for incident in data.incidents.iter().take(50) {
        out.push_str(&format!(
            "    <item>\n      <title>{title}</title>\n      <description>{content}</description>\n      <pubDate>{published}</pubDate>\n      <link>{url}/incidents/{id}</link>\n      <guid>{url}/incidents/{id}</guid>\n    </item>\n",
            title = xml(&incident.name),
            content = xml(&content(incident)),
            published = rfc822(incident.updated_at),
            url = xml(&page.url),
            id = xml(&incident.id),
        ));
    }
    out.push_str("  </channel>\n</rss>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_drops_control_characters() {
        assert_eq!(
            xml("a < b & 'c' \"d\" >\u{1}"),
            "a &lt; b &amp; &apos;c&apos; &quot;d&quot; &gt;"
        );
        assert_eq!(host("https://status.acme.dev/x"), "status.acme.dev");
        assert_eq!(host("http://127.0.0.1:8080/status"), "127.0.0.1:8080");
    }
}
