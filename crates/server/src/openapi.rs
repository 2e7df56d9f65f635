//! The OpenAPI 3.1 document, derived from the handlers' annotations. A test compares it with
//! the committed `openapi.json` so the published contract never drifts silently.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Firebreak API", description = "Incident response: declare, coordinate, communicate, learn."),
    paths(
        serve,
        crate::incidents::api::declare,
        crate::incidents::api::list,
        crate::incidents::api::show,
        crate::incidents::api::patch,
        crate::incidents::api::post_update,
        crate::incidents::api::latest_update_text,
        crate::incidents::api::assign_role,
        crate::incidents::api::unassign_role,
        crate::incidents::api::add_member,
        crate::incidents::participation::join,
        crate::incidents::participation::leave,
        crate::incidents::participation::put_stakeholder,
        crate::incidents::participation::remove_stakeholder,
        crate::incidents::participation::notifications,
        crate::status_page::api::components,
        crate::status_page::api::create_component,
        crate::status_page::api::update_component,
        crate::status_page::api::incidents,
        crate::status_page::api::publish,
        crate::status_page::api::post_update,
        crate::status_page::api::schedule,
        crate::status_page::api::subscribers,
        crate::status_page::api::add_subscriber,
        crate::postmortems::api::show,
        crate::postmortems::api::create,
        crate::postmortems::api::save,
        crate::postmortems::api::set_status,
        crate::postmortems::api::revisions,
        crate::postmortems::api::revision,
        crate::postmortems::api::schedule_retrospective,
        crate::postmortems::api::share,
        crate::postmortems::api::export_markdown,
        crate::postmortems::api::export_html,
        crate::oncall::api::list,
        crate::oncall::api::create,
        crate::oncall::api::show,
        crate::oncall::api::replace,
        crate::oncall::api::delete,
        crate::oncall::api::oncall,
        crate::oncall::api::everyone,
        crate::oncall::api::shifts,
        crate::oncall::api::report,
        crate::oncall::api::add_override,
        crate::oncall::api::delete_override,
        crate::oncall::api::create_feed,
        crate::paging::api::teams,
        crate::paging::api::create_team,
        crate::paging::api::policies,
        crate::paging::api::create_policy,
        crate::paging::api::replace_policy,
        crate::paging::api::services,
        crate::paging::api::service,
        crate::paging::api::create_service,
        crate::paging::api::replace_service,
        crate::paging::api::create_key,
        crate::paging::api::keys,
        crate::paging::api::revoke_key,
        crate::paging::api::alerts,
        crate::paging::api::alert,
        crate::paging::api::ack,
        crate::paging::api::resolve,
        crate::paging::api::ingest,
        crate::paging::api::declare_incident,
        crate::paging::api::create_heartbeat,
        crate::paging::api::create_silence,
        crate::paging::api::add_contact,
        crate::paging::api::contacts,
        crate::paging::api::delete_contact,
        crate::paging::api::send_code,
        crate::paging::api::verify_contact,
        crate::paging::api::add_rule,
        crate::paging::api::rules,
        crate::paging::api::delete_rule,
        crate::paging::api::silences,
        crate::paging::api::end_silence,
        crate::paging::api::heartbeats,
        crate::followups::api::create,
        crate::imports::api::pagerduty,
        crate::imports::api::opsgenie,
        crate::followups::api::of_incident,
        crate::followups::api::list,
        crate::followups::api::update,
        crate::followups::api::export,
        crate::insights::api::show,
        crate::insights::api::csv,
        crate::insights::api::record_deploy,
        crate::insights::api::list_deploys,
        crate::insights::api::link_deploy,
        crate::workflow::api::show,
        crate::workflow::api::put_playbook,
        crate::workflow::api::delete_playbook,
        crate::workflow::api::put_rule,
        crate::workflow::api::delete_rule,
        crate::incidents::freeze::show,
        crate::incidents::freeze::set,
        crate::chat::api::open_channel,
        crate::chat::api::set_call,
        crate::chat::api::status,
        crate::chat::api::retry,
        crate::incidents::tasks::list,
        crate::incidents::tasks::add,
        crate::incidents::tasks::done,
        crate::incidents::tasks::skip,
        crate::incidents::tasks::reopen,
        crate::incidents::tasks::assign,
        crate::incidents::actions::list,
        crate::incidents::actions::propose,
        crate::incidents::actions::approve,
        crate::incidents::actions::reject,
        crate::incidents::actions::start,
        crate::incidents::actions::finish,
        crate::incidents::api::assert_timestamp,
        crate::incidents::timeline::list,
        crate::incidents::timeline::append,
        crate::incidents::timeline::verify,
        crate::incidents::timeline::events,
        crate::webhooks::list,
        crate::webhooks::create,
        crate::webhooks::show,
        crate::webhooks::update,
        crate::webhooks::remove,
        crate::webhooks::deliveries,
        crate::webhooks::retry,
        crate::people::api::me,
        crate::people::api::list,
        crate::people::api::create,
        crate::people::api::update,
        crate::people::api::revoke_sessions,
        crate::people::api::private_reads,
        crate::people::tokens::list,
        crate::people::tokens::create,
        crate::people::tokens::revoke,
    ),
    modifiers(&BearerAuth, &CommonResponses),
    tags(
        (name = "incidents", description = "Declare and run incidents"),
        (name = "chat", description = "Chat channels per incident (Slack, Matrix), what chat still owes an incident"),
        (name = "meta", description = "This document"),
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

/// The answers any operation can give besides its own, in the one error shape, added where an
/// operation does not document them itself: 401 and 403 where a token is needed, 400, 408,
/// 413, 415 and 422 where a body is sent, 400 and 422 where a query or path is parsed, 404
/// where a path names something, and 503 (the database cannot take the request; busy)
/// everywhere.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let mut add: Vec<(&str, &str)> = vec![(
                    "503",
                    "The database cannot take the request now, or the server is at its connection limit (see Retry-After)",
                )];
                if operation.security.as_ref().is_some_and(|it| !it.is_empty()) {
                    add.push(("401", "No valid token or session"));
                    add.push((
                        "403",
                        "The token's scope or its person's role does not allow this",
                    ));
                }
                if operation.request_body.is_some() {
                    add.push(("400", "The body is not well-formed JSON"));
                    add.push(("408", "The body did not arrive in time"));
                    add.push(("413", "The body is too large"));
                    add.push(("415", "The body is not sent as application/json"));
                    add.push(("422", "The body does not have the right fields or values"));
                }
                let parameters = operation.parameters.iter().flatten();
                let (mut has_query, mut has_path) = (false, false);
                for parameter in parameters {
                    if let utoipa::openapi::RefOr::T(parameter) = parameter {
                        has_query |= parameter.parameter_in == ParameterIn::Query;
                        has_path |= parameter.parameter_in == ParameterIn::Path;
                    }
                }
                if has_query || has_path || path.contains('{') {
                    add.push(("400", "A query or path parameter is malformed"));
                    add.push(("422", "A query or path parameter has a value out of range"));
                }
                if has_path || path.contains('{') {
                    add.push(("404", "Nothing by that name, or nothing the caller may see"));
                }
                for (status, description) in add {
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error_response(description));
                }
            }
        }
    }
}

fn error_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
        .build()
        .into()
}

/// The document as pretty JSON with a trailing newline, exactly as committed.
pub fn document() -> String {
    let mut text = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, content_type = "application/json", body = Object)))]
pub async fn serve() -> Json<serde_json::Value> {
    Json(serde_json::to_value(ApiDoc::openapi()).unwrap_or_default())
}
