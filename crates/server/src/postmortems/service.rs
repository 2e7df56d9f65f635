//! Post-mortems on the server side: drafting from the timeline (for the clock worker when an
//! incident resolves, and on demand), rendering Markdown to safe HTML, and what the API and
//! the pages both do — blame warnings, revisions, the retrospective, sharing on the status page.

use axum::http::StatusCode;
use firebreak_core::Incident;
use firebreak_core::narrate::Reader;
use firebreak_core::postmortem::{PostmortemStatus, TimelineItem, draft};
use firebreak_store::{Postmortem, Store, StoreError};
use jiff::Timestamp;
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Caller;

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

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct BlameWarning {
    pub sentence: String,
    pub matched: String,
    pub suggestion: String,
}

/// The people the blameless check should recognise: everyone who took part or held a role.
pub fn people_of(incident: &firebreak_core::Incident, names: &[(String, String)]) -> Vec<String> {
    let mut emails: Vec<&String> = incident
        .coordination
        .participants
        .iter()
        .map(|it| &it.person)
        .chain(incident.roles.values())
        .collect();
    emails.sort();
    emails.dedup();
    let mut people = Vec::new();
    for email in emails {
        people.push(email.split('@').next().unwrap_or(email).to_string());
        if let Some((_, name)) = names.iter().find(|(it, _)| it == email) {
            people.push(name.clone());
        }
    }
    people
}

pub async fn revision_detail(
    state: &AppState,
    incident: &firebreak_core::Incident,
    number: i64,
) -> ApiResult<RevisionDetail> {
    let list = state.store.postmortem_revisions(incident.id.0).await?;
    let found = list
        .iter()
        .find(|it| it.revision == number)
        .ok_or_else(|| ApiError::not_found("revision"))?;
    let before = list
        .iter()
        .find(|it| it.revision == number - 1)
        .map_or("", |it| it.body.as_str());
    let diff = firebreak_core::diff::lines(before, &found.body)
        .into_iter()
        .map(|(change, line)| DiffLine {
            change: match change {
                firebreak_core::diff::Change::Same => "same",
                firebreak_core::diff::Change::Added => "added",
                firebreak_core::diff::Change::Removed => "removed",
            }
            .into(),
            line,
        })
        .collect();
    Ok(RevisionDetail {
        revision: found.revision,
        author: found.author.clone(),
        created_at: found.created_at.to_string(),
        body: found.body.clone(),
        diff,
    })
}

pub fn warnings(body: &str, people: &[String]) -> Vec<BlameWarning> {
    firebreak_core::blameless::check(body, people)
        .into_iter()
        .map(|it| BlameWarning {
            sentence: it.sentence,
            matched: it.matched,
            suggestion: it.suggestion.to_string(),
        })
        .collect()
}

/// Set when the meeting is more than 7 days after the incident resolved.
pub fn late_warning(
    incident: &firebreak_core::Incident,
    starts_at: jiff::Timestamp,
) -> Option<String> {
    incident
        .timestamp(firebreak_core::TimestampName::Resolved)
        .effective()
        .filter(|at| starts_at > *at + jiff::SignedDuration::from_hours(24 * 7))
        .map(|_| {
            "the retrospective is more than 7 days after the incident resolved; memories fade, consider an earlier slot".to_string()
        })
}

/// Posts the customer-facing version (or `text`) as a `postmortem` update; the API and the
/// post-mortem page both come here.
pub async fn share_on_status_page(
    state: &AppState,
    caller: &Caller,
    incident: &firebreak_core::Incident,
    text: Option<String>,
) -> ApiResult<firebreak_store::PublicIncident> {
    let pm = current(state, incident).await?;
    if pm.status != PostmortemStatus::Published {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_published",
            "publish the post-mortem before sharing it with customers",
        ));
    }
    let public = public_face(state, incident).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "not_on_status_page",
            "this incident has no public incident on the status page; publish one first",
        )
    })?;
    let text = text.unwrap_or_else(|| firebreak_core::postmortem::customer_version(&pm.body));
    let post = firebreak_store::PublicPost {
        status: firebreak_core::status_page::PublicStatus::Postmortem,
        body: crate::status_page::service::text(
            "body",
            &text,
            firebreak_core::postmortem::CUSTOMER_MAX,
        )?,
        components: Vec::new(),
    };
    let updated = state
        .store
        .post_public_update(&public.id, post, firebreak_store::clock::now())
        .await?;
    crate::status_page::service::record_on_timeline(state, &caller.actor(), &updated).await;
    crate::status_page::service::refresh(state).await;
    Ok(updated)
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct RetrospectiveBody {
    /// RFC 3339 start.
    pub starts_at: String,
    /// Default 60.
    pub duration_minutes: Option<i64>,
    /// Emails of the people invited.
    pub attendees: Vec<String>,
    #[serde(default)]
    pub location: String,
}

/// Checks and records a retrospective and queues the invitations; the API and the
/// post-mortem page both come here.
pub async fn schedule(
    state: &AppState,
    caller: &Caller,
    incident: &firebreak_core::Incident,
    body: RetrospectiveBody,
) -> ApiResult<RetrospectiveDto> {
    let starts_at: jiff::Timestamp = body
        .starts_at
        .parse()
        .map_err(|_| ApiError::field("starts_at", "an RFC 3339 time, e.g. 2026-11-24T15:00:00Z"))?;
    let minutes = body.duration_minutes.unwrap_or(60);
    if !(15..=480).contains(&minutes) {
        return Err(ApiError::field("duration_minutes", "between 15 and 480"));
    }
    let attendees: Vec<String> = body
        .attendees
        .iter()
        .map(|it| {
            firebreak_core::person::parse_email(it).ok_or_else(|| {
                ApiError::field("attendees", format!("{it:?} is not an email address"))
            })
        })
        .collect::<ApiResult<_>>()?;
    if attendees.is_empty() {
        return Err(ApiError::field("attendees", "invite at least one person"));
    }
    let ends_at = starts_at + jiff::SignedDuration::from_mins(minutes);
    let warning = late_warning(incident, starts_at);
    let link = format!(
        "{}/incidents/{}/postmortem",
        state.settings.base_url(),
        incident.reference
    );
    let summary = format!("Retrospective: {} — {}", incident.reference, incident.title);
    let description = format!(
        "Blameless retrospective of {}. Read the post-mortem before: {link}",
        incident.reference
    );
    let organizer = if caller.actor().contains('@') {
        caller.actor()
    } else {
        "firebreak@localhost".to_string()
    };
    let now = firebreak_store::clock::now();
    let ics = {
        let (summary, description, location, organizer, attendees) = (
            summary.clone(),
            description.clone(),
            body.location.clone(),
            organizer.clone(),
            attendees.clone(),
        );
        move |uid: &str, sequence: i64| {
            firebreak_core::ics::request(&firebreak_core::ics::Invite {
                uid,
                sequence,
                start: starts_at,
                end: ends_at,
                summary: &summary,
                description: &description,
                location: &location,
                organizer: &organizer,
                attendees: &attendees,
                now,
            })
        }
    };
    let invitation = firebreak_store::Invitation {
        subject: format!(
            "Invitation: {summary} ({})",
            starts_at.strftime("%Y-%m-%d %H:%M UTC")
        ),
        text: format!(
            "{description}\n\nWhen: {} to {} (UTC)\n\nThe invitation is attached (invite.ics).\n",
            starts_at.strftime("%Y-%m-%d %H:%M"),
            ends_at.strftime("%H:%M")
        ),
    };
    let scheduled = state
        .store
        .schedule_retrospective(
            incident.id.0,
            (starts_at, ends_at, &attendees),
            (&caller.actor(), &invitation),
            &ics,
            now,
        )
        .await?;
    Ok(RetrospectiveDto {
        starts_at: scheduled.starts_at.to_string(),
        ends_at: scheduled.ends_at.to_string(),
        attendees: scheduled.attendees,
        sequence: scheduled.sequence,
        warning,
    })
}

/// The public incident a post-mortem would be shared on: the newest one of this incident
/// that is not a maintenance window.
pub async fn public_face(
    state: &AppState,
    incident: &firebreak_core::Incident,
) -> ApiResult<Option<firebreak_store::PublicIncident>> {
    Ok(state
        .store
        .public_incidents_of(&incident.id.to_string())
        .await?
        .into_iter()
        .find(|it| it.window.is_none()))
}

pub const MAX_BODY: usize = 200_000;

/// Records the publication on the incident's timeline; its stakeholders and the
/// announcement target are notified through the outbox.
pub async fn announce(
    state: &AppState,
    incident: &firebreak_core::Incident,
    actor: &str,
) -> ApiResult<()> {
    let url = format!(
        "{}/api/v1/incidents/{}/postmortem.html",
        state.settings.base_url(),
        incident.reference
    );
    let command = firebreak_core::Command::RecordPostmortemPublished { url };
    let key = firebreak_store::IncidentKey::Id(incident.id.0);
    state
        .store
        .execute_command(key, actor, firebreak_core::Access::All, command)
        .await?;
    Ok(())
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct DiffLine {
    /// same, added, removed.
    pub change: String,
    pub line: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct RevisionDetail {
    pub revision: i64,
    pub author: String,
    pub created_at: String,
    pub body: String,
    /// Against the revision before it.
    pub diff: Vec<DiffLine>,
}

pub(crate) async fn current(
    state: &AppState,
    incident: &firebreak_core::Incident,
) -> ApiResult<Postmortem> {
    state
        .store
        .postmortem(incident.id.0)
        .await?
        .ok_or_else(|| ApiError::not_found("post-mortem"))
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct RetrospectiveDto {
    pub starts_at: String,
    pub ends_at: String,
    pub attendees: Vec<String>,
    /// 0 for the first invitation; each reschedule sends the next.
    pub sequence: i64,
    /// Set when the meeting is more than 7 days after the incident resolved.
    pub warning: Option<String>,
}
