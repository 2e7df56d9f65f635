//! The OpenAPI 3.1 document, derived from the handlers' annotations. A test compares it with
//! the committed `openapi.json` so the published contract never drifts silently.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(title = "Firebreak API", description = "Incident response: declare, coordinate, communicate, learn."),
    paths(
        api::incidents::declare,
        api::incidents::list,
        api::incidents::show,
        api::incidents::patch,
        api::incidents::post_update,
        api::incidents::latest_update_text,
        api::incidents::assign_role,
        api::incidents::unassign_role,
        api::incidents::add_member,
        api::participation::join,
        api::participation::leave,
        api::participation::put_stakeholder,
        api::participation::remove_stakeholder,
        api::participation::notifications,
        api::status::components,
        api::status::create_component,
        api::status::update_component,
        api::status::incidents,
        api::status::publish,
        api::status::post_update,
        api::status::schedule,
        api::status::subscribers,
        api::status::add_subscriber,
        api::postmortems::show,
        api::postmortems::create,
        api::postmortems::save,
        api::postmortems::set_status,
        api::postmortems::revisions,
        api::postmortems::revision,
        api::postmortems::schedule_retrospective,
        api::postmortems::share,
        api::schedules::list,
        api::schedules::create,
        api::schedules::show,
        api::schedules::replace,
        api::schedules::delete,
        api::schedules::oncall,
        api::schedules::everyone,
        api::schedules::shifts,
        api::schedules::report,
        api::schedules::add_override,
        api::schedules::delete_override,
        api::schedules::create_feed,
        api::paging::teams,
        api::paging::create_team,
        api::paging::policies,
        api::paging::create_policy,
        api::paging::replace_policy,
        api::paging::services,
        api::paging::service,
        api::paging::create_service,
        api::paging::replace_service,
        api::paging::create_key,
        api::paging::keys,
        api::paging::revoke_key,
        api::paging::alerts,
        api::paging::alert,
        api::paging::ack,
        api::paging::resolve,
        api::paging::ingest,
        api::paging::declare_incident,
        api::paging::create_heartbeat,
        api::paging::create_silence,
        api::paging::add_contact,
        api::paging::contacts,
        api::paging::delete_contact,
        api::paging::add_rule,
        api::paging::rules,
        api::paging::delete_rule,
        api::paging::silences,
        api::paging::end_silence,
        api::paging::heartbeats,
        api::followups::create,
        api::followups::of_incident,
        api::followups::list,
        api::followups::update,
        api::followups::export,
        api::insights::show,
        api::insights::record_deploy,
        api::insights::link_deploy,
        api::workflow::show,
        api::workflow::put_playbook,
        api::workflow::delete_playbook,
        api::workflow::put_rule,
        api::workflow::delete_rule,
        api::freeze::show,
        api::freeze::set,
        api::tasks::list,
        api::tasks::add,
        api::tasks::done,
        api::tasks::skip,
        api::tasks::reopen,
        api::tasks::assign,
        api::actions::list,
        api::actions::propose,
        api::actions::approve,
        api::actions::reject,
        api::actions::start,
        api::actions::finish,
        api::incidents::assert_timestamp,
        api::timeline::list,
        api::timeline::append,
        api::timeline::verify,
        api::sse::events,
        api::webhooks::list,
        api::webhooks::create,
        api::webhooks::show,
        api::webhooks::update,
        api::webhooks::remove,
        api::webhooks::deliveries,
        api::webhooks::retry,
        api::people::me,
        api::people::list,
        api::people::create,
        api::people::update,
        api::people::revoke_sessions,
        api::people::private_reads,
        api::tokens::list,
        api::tokens::create,
        api::tokens::revoke,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "incidents", description = "Declare and run incidents"),
        (name = "tasks", description = "Tasks from playbooks and by hand"),
        (name = "actions", description = "The action register: risky steps approved by a second person"),
        (name = "participation", description = "Who is in an incident, who is kept informed, and what was notified"),
        (name = "status page", description = "The public status page: components, and public incidents with their updates"),
        (name = "post-mortems", description = "Post-mortems drafted from the timeline, revisions, the blameless check, exports"),
        (name = "follow-ups", description = "Action items tracked until done, with reminders"),
        (name = "insights", description = "MTTR and friends, change failure rate, responder load"),
        (name = "paging", description = "Teams, escalation policies, services and integration keys; alerts, their log, acknowledge and resolve"),
        (name = "on-call", description = "Schedules: rotations, restrictions and overrides in a zone's wall clock; who is on call; shifts; fairness; calendar feeds"),
        (name = "workflow", description = "Rules, notification targets and playbooks: from the settings file (read-only) and made by admins"),
        (name = "timeline", description = "The append-only, hash-chained record"),
        (name = "webhooks", description = "Signed outgoing webhooks, delivered through the outbox"),
        (name = "people", description = "People, sessions and the audit of private-incident reads"),
        (name = "tokens", description = "API tokens; each acts as the person who owns it"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as pretty JSON with a trailing newline, exactly as committed.
pub fn document() -> String {
    let mut text = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

pub async fn serve() -> Json<serde_json::Value> {
    Json(serde_json::to_value(ApiDoc::openapi()).unwrap_or_default())
}
