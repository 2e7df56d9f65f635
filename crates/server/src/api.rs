//! The REST API under `/api/v1`: every route, declared once; the handlers live with their feature.

use axum::Router;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

use crate::AppState;
use crate::chat::api as chat;
use crate::followups::api as followups;
use crate::incidents::{actions, api as incidents, freeze, participation, tasks, timeline};
use crate::insights::api as insights;
use crate::oncall::api as schedules;
use crate::paging::api as paging;
use crate::people::{api as people, tokens};
use crate::postmortems::api as postmortems;
use crate::status_page::api as status;
use crate::webhooks;
use crate::workflow::api as workflow;

/// The API's routes as they are declared: each path under `/api/v1` with its handlers.
/// The router is built from this list, and a test holds the OpenAPI document to its paths.
pub struct Routes {
    router: Router<AppState>,
    paths: Vec<&'static str>,
}

impl Routes {
    fn new() -> Routes {
        Routes {
            router: Router::new(),
            paths: Vec::new(),
        }
    }

    fn route(mut self, path: &'static str, handlers: MethodRouter<AppState>) -> Routes {
        self.paths.push(path);
        self.router = self.router.route(path, handlers);
        self
    }
}

pub fn router() -> Router<AppState> {
    routes().router
}

/// Every routed path under `/api/v1`.
pub fn paths() -> Vec<&'static str> {
    routes().paths
}

fn routes() -> Routes {
    Routes::new()
        .route("/incidents", post(incidents::declare).get(incidents::list))
        .route(
            "/incidents/{key}",
            get(incidents::show).patch(incidents::patch),
        )
        .route("/incidents/{key}/updates", post(incidents::post_update))
        .route(
            "/incidents/{key}/updates/latest.txt",
            get(incidents::latest_update_text),
        )
        .route("/incidents/{key}/members", post(incidents::add_member))
        .route("/incidents/{key}/freeze", post(freeze::set))
        .route("/incidents/{key}/channel", post(chat::open_channel))
        .route("/incidents/{key}/call", post(chat::set_call))
        .route("/incidents/{key}/chat", get(chat::status))
        .route("/incidents/{key}/chat/retry", post(chat::retry))
        .route("/incidents/{key}/tasks", get(tasks::list).post(tasks::add))
        .route("/incidents/{key}/tasks/{number}/done", post(tasks::done))
        .route("/incidents/{key}/tasks/{number}/skip", post(tasks::skip))
        .route(
            "/incidents/{key}/tasks/{number}/reopen",
            post(tasks::reopen),
        )
        .route(
            "/incidents/{key}/tasks/{number}/assign",
            post(tasks::assign),
        )
        .route(
            "/incidents/{key}/actions",
            get(actions::list).post(actions::propose),
        )
        .route(
            "/incidents/{key}/actions/{number}/approve",
            post(actions::approve),
        )
        .route(
            "/incidents/{key}/actions/{number}/reject",
            post(actions::reject),
        )
        .route(
            "/incidents/{key}/actions/{number}/start",
            post(actions::start),
        )
        .route(
            "/incidents/{key}/actions/{number}/finish",
            post(actions::finish),
        )
        .route("/incidents/{key}/join", post(participation::join))
        .route("/incidents/{key}/leave", post(participation::leave))
        .route(
            "/incidents/{key}/stakeholders/{who}",
            put(participation::put_stakeholder).delete(participation::remove_stakeholder),
        )
        .route(
            "/incidents/{key}/notifications",
            get(participation::notifications),
        )
        .route(
            "/status/components",
            get(status::components).post(status::create_component),
        )
        .route("/status/components/{id}", patch(status::update_component))
        .route(
            "/status/incidents",
            get(status::incidents).post(status::publish),
        )
        .route("/status/incidents/{id}/updates", post(status::post_update))
        .route("/status/maintenances", post(status::schedule))
        .route(
            "/status/subscribers",
            get(status::subscribers).post(status::add_subscriber),
        )
        .route(
            "/incidents/{key}/postmortem",
            get(postmortems::show)
                .post(postmortems::create)
                .put(postmortems::save),
        )
        .route(
            "/incidents/{key}/retrospective",
            post(postmortems::schedule_retrospective),
        )
        .route(
            "/incidents/{key}/postmortem/status",
            post(postmortems::set_status),
        )
        .route(
            "/incidents/{key}/postmortem/share",
            post(postmortems::share),
        )
        .route(
            "/incidents/{key}/postmortem/revisions",
            get(postmortems::revisions),
        )
        .route(
            "/incidents/{key}/postmortem/revisions/{n}",
            get(postmortems::revision),
        )
        .route(
            "/incidents/{key}/postmortem.md",
            get(postmortems::export_markdown),
        )
        .route(
            "/incidents/{key}/postmortem.html",
            get(postmortems::export_html),
        )
        .route(
            "/incidents/{key}/followups",
            get(followups::of_incident).post(followups::create),
        )
        .route("/followups", get(followups::list))
        .route(
            "/imports/pagerduty",
            post(crate::imports::api::pagerduty).layer(axum::extract::DefaultBodyLimit::max(
                crate::imports::MAX_ACCOUNT_BYTES,
            )),
        )
        .route(
            "/imports/opsgenie",
            post(crate::imports::api::opsgenie).layer(axum::extract::DefaultBodyLimit::max(
                crate::imports::MAX_ACCOUNT_BYTES,
            )),
        )
        .route("/followups/{id}", patch(followups::update))
        .route("/followups/{id}/export", post(followups::export))
        .route("/schedules", get(schedules::list).post(schedules::create))
        .route(
            "/schedules/{id}",
            get(schedules::show)
                .put(schedules::replace)
                .delete(schedules::delete),
        )
        .route("/schedules/{id}/oncall", get(schedules::oncall))
        .route("/schedules/{id}/shifts", get(schedules::shifts))
        .route("/schedules/{id}/report", get(schedules::report))
        .route("/schedules/{id}/overrides", post(schedules::add_override))
        .route(
            "/schedules/{id}/overrides/{override_id}",
            axum::routing::delete(schedules::delete_override),
        )
        .route("/oncall", get(schedules::everyone))
        .route("/teams", get(paging::teams).post(paging::create_team))
        .route(
            "/escalation-policies",
            get(paging::policies).post(paging::create_policy),
        )
        .route("/escalation-policies/{id}", put(paging::replace_policy))
        .route(
            "/services",
            get(paging::services).post(paging::create_service),
        )
        .route(
            "/services/{id}",
            get(paging::service).put(paging::replace_service),
        )
        .route(
            "/services/{id}/integration-keys",
            get(paging::keys).post(paging::create_key),
        )
        .route(
            "/services/{id}/integration-keys/{key_id}",
            axum::routing::delete(paging::revoke_key),
        )
        .route(
            "/services/{id}/heartbeats",
            get(paging::heartbeats).post(paging::create_heartbeat),
        )
        .route(
            "/silences",
            get(paging::silences).post(paging::create_silence),
        )
        .route("/silences/{id}", axum::routing::delete(paging::end_silence))
        .route(
            "/me/contact-methods",
            get(paging::contacts).post(paging::add_contact),
        )
        .route(
            "/me/contact-methods/{id}",
            axum::routing::delete(paging::delete_contact),
        )
        .route(
            "/me/contact-methods/{id}/send-code",
            axum::routing::post(paging::send_code),
        )
        .route(
            "/me/contact-methods/{id}/verify",
            axum::routing::post(paging::verify_contact),
        )
        .route(
            "/me/notification-rules",
            get(paging::rules).post(paging::add_rule),
        )
        .route(
            "/me/notification-rules/{id}",
            axum::routing::delete(paging::delete_rule),
        )
        .route("/alerts", get(paging::alerts).post(paging::ingest))
        .route("/alerts/{id}", get(paging::alert))
        .route("/alerts/{id}/ack", post(paging::ack))
        .route("/alerts/{id}/resolve", post(paging::resolve))
        .route("/alerts/{id}/incident", post(paging::declare_incident))
        .route("/calendar-feeds", post(schedules::create_feed))
        .route("/insights", get(insights::show))
        .route("/insights.csv", get(insights::csv))
        .route(
            "/deploys",
            post(insights::record_deploy).get(insights::list_deploys),
        )
        .route("/deploys/{id}/incident", put(insights::link_deploy))
        .route("/workflow", get(workflow::show))
        .route(
            "/workflow/playbooks/{name}",
            put(workflow::put_playbook).delete(workflow::delete_playbook),
        )
        .route(
            "/workflow/rules/{name}",
            put(workflow::put_rule).delete(workflow::delete_rule),
        )
        .route("/freeze", get(freeze::show))
        .route(
            "/incidents/{key}/roles/{role}",
            put(incidents::assign_role).delete(incidents::unassign_role),
        )
        .route(
            "/incidents/{key}/timestamps/{name}",
            put(incidents::assert_timestamp),
        )
        .route(
            "/incidents/{key}/timeline",
            get(timeline::list).post(timeline::append),
        )
        .route("/incidents/{key}/timeline/verify", get(timeline::verify))
        .route("/incidents/{key}/events", get(timeline::events))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/webhooks/{id}",
            get(webhooks::show)
                .patch(webhooks::update)
                .delete(webhooks::remove),
        )
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route(
            "/webhooks/{id}/deliveries/{delivery_id}/retry",
            post(webhooks::retry),
        )
        .route("/me", get(people::me))
        .route("/users", get(people::list).post(people::create))
        .route("/users/{id}", patch(people::update))
        .route("/users/{id}/sessions", delete(people::revoke_sessions))
        .route("/audit/private-reads", get(people::private_reads))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", delete(tokens::revoke))
        .route("/openapi.json", get(crate::openapi::serve))
}
