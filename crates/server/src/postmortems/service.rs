//! Post-mortems on the server side: drafting from the timeline (for the clock worker when an
//! incident resolves, and on demand), and rendering Markdown to safe HTML.

use firebreak_core::Incident;
use firebreak_core::narrate::Reader;
use firebreak_core::postmortem::{TimelineItem, draft};
use firebreak_store::{Store, StoreError};
use jiff::Timestamp;
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};

/// The draft of `incident`'s post-mortem from its whole timeline (times in UTC; readers see
/// names where the page shows it).
pub async fn draft_for(store: &Store, incident: &Incident) -> Result<String, StoreError> {
    let events = store.timeline(incident.id.0, 0, 100_000).await?;
    let items: Vec<TimelineItem<'_>> = events
        .iter()
        .map(|event| TimelineItem {
            event: &event.data,
            at: firebreak_store::clock::from_micros(event.occurred_at_us),
        })
        .collect();
    let person = |it: &str| it.to_string();
    let time = |at: Timestamp| at.strftime("%Y-%m-%d %H:%M UTC").to_string();
    let reader = Reader {
        person: &person,
        time: &time,
    };
    Ok(draft(incident, &items, &reader))
}

/// Drafts the post-mortem unless there is one; answers true when it made it.
pub async fn ensure(store: &Store, incident: &Incident, author: &str) -> Result<bool, StoreError> {
    if store.postmortem(incident.id.0).await?.is_some() {
        return Ok(false);
    }
    let body = draft_for(store, incident).await?;
    store
        .create_postmortem(incident.id.0, &body, author, firebreak_store::clock::now())
        .await
}

/// Markdown to HTML that is safe to show: raw HTML in the text is shown as text, and links
/// and images keep only http(s), mailto and in-page addresses.
pub fn render_html(markdown: &str) -> String {
    let safe = |url: CowStr<'_>| -> CowStr<'static> {
        let text = url.to_string();
        let lower = text.to_lowercase();
        let allowed = ["https://", "http://", "mailto:", "#", "/"]
            .iter()
            .any(|it| lower.starts_with(it))
            && !lower.starts_with("//");
        CowStr::from(if allowed { text } else { "#".to_string() })
    };
    let events = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_html_is_sanitised() {
        let table = [
            ("# Title", "<h1>Title</h1>", ""),
            ("<script>alert(1)</script>", "&lt;script&gt;", "<script>"),
            ("[x](javascript:alert(1))", "href=\"#\"", "javascript:"),
            ("[x](//evil.example)", "href=\"#\"", "evil"),
            (
                "[docs](https://example.com/a)",
                "href=\"https://example.com/a\"",
                "",
            ),
            ("<img src=x onerror=alert(1)>", "&lt;img", "<img"),
            ("| a | b |\n|---|---|\n| 1 | 2 |", "<table>", ""),
        ];
        for (markdown, must, must_not) in table {
            let html = render_html(markdown);
            assert!(html.contains(must), "{markdown}: {html}");
            if !must_not.is_empty() {
                assert!(!html.contains(must_not), "{markdown}: {html}");
            }
        }
    }
}
