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
        serve,
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
        api::postmortems::export_markdown,
        api::postmortems::export_html,
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
        api::insights::csv,
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
    modifiers(&BearerAuth, &CommonResponses),
    tags(
        (name = "incidents", description = "Declare and run incidents"),
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
