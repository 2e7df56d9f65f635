//! Heartbeat monitors and their pings.

use super::*;

// ----- heartbeats -----

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatBody {
    pub name: String,
    /// A ping is expected at least this often (1 to 10080 minutes).
    pub interval_minutes: i64,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct HeartbeatDto {
    pub id: String,
    pub name: String,
    pub interval_minutes: i64,
    pub last_ping_at: Option<String>,
    pub next_ping_due: String,
    /// An alert is open for a missed ping.
    pub missed: bool,
    /// `POST` (or `GET`) here with one of the service's integration keys in place of `{key}`.
    pub ping_url: String,
}

pub(crate) fn heartbeat_dto(state: &AppState, it: firebreak_store::Heartbeat) -> HeartbeatDto {
    HeartbeatDto {
        ping_url: format!(
            "{}/integrations/heartbeat/{{key}}/{}",
            state.settings.base_url(),
            it.name
        ),
        id: it.id,
        name: it.name,
        interval_minutes: it.interval_minutes,
        last_ping_at: it.last_ping_at.map(|at| at.to_string()),
        next_ping_due: it.due_at.to_string(),
        missed: it.missed,
    }
}

/// Add a heartbeat monitor to a service (admin): a missed ping raises an alert on the service
/// (paged like any other), the next ping resolves it.
#[utoipa::path(post, path = "/api/v1/services/{id}/heartbeats", tag = "paging", request_body = HeartbeatBody,
    params(("id" = String, Path, description = "Service id or name")),
    responses((status = 201, body = HeartbeatDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_heartbeat(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<HeartbeatBody>,
) -> ApiResult<(StatusCode, Json<HeartbeatDto>)> {
    caller.require(Role::Admin)?;
    let service = state
        .store
        .service(&id)
        .await
        .map_err(not_found("service"))?;
    let name = name_of("name", &body.name)?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(ApiError::field(
            "name",
            "letters, digits, - _ . (it is part of the ping URL)",
        ));
    }
    if !(1..=10_080).contains(&body.interval_minutes) {
        return Err(ApiError::field("interval_minutes", "1 to 10080 (a week)"));
    }
    let created = state
        .store
        .create_heartbeat(
            &service.id,
            &name,
            body.interval_minutes,
            firebreak_store::clock::now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(heartbeat_dto(&state, created))))
}

#[utoipa::path(get, path = "/api/v1/services/{id}/heartbeats", tag = "paging",
    params(("id" = String, Path, description = "Service id or name")),
    responses((status = 200, body = Vec<HeartbeatDto>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn heartbeats(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<HeartbeatDto>>> {
    caller.require(Role::Viewer)?;
    let service = state
        .store
        .service(&id)
        .await
        .map_err(not_found("service"))?;
    Ok(Json(
        state
            .store
            .heartbeats(&service.id)
            .await?
            .into_iter()
            .map(|it| heartbeat_dto(&state, it))
            .collect(),
    ))
}
