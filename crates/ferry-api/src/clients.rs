//! The admin handlers for machine clients (routed in `routes`): create one for a user (its secret shown once), list
//! them, delete one.

use crate::AppState;
use crate::extract::{Admin, ApiJson, ApiPath as Path, ClientIp};
use crate::problem::ApiResult;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ferry_core::model::MachineClient;
use ferry_core::services::clients::CreateClient;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct ClientView<'a> {
    client_id: &'a str,
    name: &'a str,
    owner_id: &'a str,
    created_at: DateTime<Utc>,
}

impl<'a> From<&'a MachineClient> for ClientView<'a> {
    fn from(c: &'a MachineClient) -> Self {
        Self {
            client_id: &c.id,
            name: &c.name,
            owner_id: c.owner.as_str(),
            created_at: c.created_at,
        }
    }
}

#[derive(Serialize)]
struct IssuedView<'a> {
    #[serde(flatten)]
    client: ClientView<'a>,
    client_secret: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateClientRequest {
    name: String,
    owner_email: String,
}

pub(crate) async fn create_client(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<CreateClientRequest>,
) -> ApiResult<Response> {
    let issued = state
        .ferry
        .create_client(
            &admin,
            CreateClient {
                name: body.name,
                owner_email: body.owner_email,
            },
            ip,
        )
        .await?;
    let mut response = (
        StatusCode::CREATED,
        Json(IssuedView {
            client: ClientView::from(&issued.client),
            client_secret: &issued.secret,
        }),
    )
        .into_response();
    // The secret is shown this once; no cache may keep a copy.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub(crate) async fn list_clients(
    State(state): State<AppState>,
    Admin(admin): Admin,
) -> ApiResult<Json<serde_json::Value>> {
    let clients = state.ferry.list_clients(&admin).await?;
    Ok(Json(serde_json::json!({
        "clients": clients.iter().map(ClientView::from).collect::<Vec<_>>()
    })))
}

pub(crate) async fn delete_client(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ClientIp(ip): ClientIp,
    Path(cid): Path<String>,
) -> ApiResult<StatusCode> {
    state.ferry.delete_client(&admin, &cid, ip).await?;
    Ok(StatusCode::NO_CONTENT)
}
