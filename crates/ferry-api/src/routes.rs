//! The routes of API v1: parse, call one service, render. No logic lives here.

use crate::clients::{create_client, delete_client, list_clients};
use crate::drop_folder::{get_drop_folder, put_drop_folder};
use crate::extract::{
    Admin, ApiJson, ApiPath as Path, ApiQuery, Authenticated, ClientIp, SignedIn, not_found,
};
use crate::problem::{ApiResult, problem};
use crate::views::{AuditView, DeliveryView, TransferView, UserView};
use crate::whole;
use crate::{AppState, MAX_COMPLETE_BODY, MAX_JSON_BODY};
use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, Utc};
use ferry_core::Error;
use ferry_core::audit::AuditQuery;
use ferry_core::ids::{DocumentId, TransferId};
use ferry_core::model::Transfer;
use ferry_core::ports::CompletedPart;
use ferry_core::services::Ferry;
use ferry_core::services::admin::{ChangeUser, CreateUser};
use ferry_core::services::authorize::Access;
use ferry_core::services::deliveries::Destination;
use ferry_core::services::transfers::{Mailbox, NewFile, NewTransfer};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

pub fn router() -> Router<AppState> {
    let api = Router::new()
        .route("/health", get(health))
        .route("/me", get(me))
        .route("/me/drop-folder", get(get_drop_folder).put(put_drop_folder))
        .route("/speed-test", post(speed_test))
        .route("/transfers", post(create_transfer).get(list_transfers))
        .route(
            "/transfers/{tid}",
            get(get_transfer).delete(cancel_transfer),
        )
        .route("/transfers/{tid}/documents/{did}/parts", post(sign_parts))
        .route(
            "/transfers/{tid}/documents/{did}/complete",
            // Up to 10,000 parts with their ETags: more than a small JSON body.
            post(complete_upload).layer(DefaultBodyLimit::max(MAX_COMPLETE_BODY)),
        )
        .route("/transfers/{tid}/documents/{did}/content", get(download))
        .route("/transfers/{tid}/documents/{did}/text", get(document_text))
        .route("/transfers/{tid}/deliveries", post(create_delivery))
        .route("/transfers/{tid}/receipt", post(confirm_receipt))
        .route("/transfers/{tid}/events", get(transfer_events))
        .route("/access", post(request_code))
        .route("/access/verify", post(verify_code))
        .route("/admin/users", get(list_users).post(create_user))
        .route(
            "/admin/users/{uid}",
            axum::routing::patch(change_user).delete(delete_user),
        )
        .route("/admin/clients", get(list_clients).post(create_client))
        .route("/admin/clients/{cid}", delete(delete_client))
        .route("/admin/audit", get(query_audit))
        .fallback(|| async { not_found() })
        .method_not_allowed_fallback(|| async {
            problem(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this route does not accept that method",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY));
    Router::new()
        .nest("/api/v1", api)
        // A nested router's fallback does not see its prefix with a trailing slash.
        .route("/api/v1/", axum::routing::any(|| async { not_found() }))
}

fn transfer_id(raw: &str) -> Result<TransferId, Error> {
    TransferId::parse(raw).ok_or_else(|| Error::not_found("transfer"))
}

fn document_ids(tid: &str, did: &str) -> Result<(TransferId, DocumentId), Error> {
    Ok((
        transfer_id(tid)?,
        DocumentId::parse(did).ok_or_else(|| Error::not_found("document"))?,
    ))
}

async fn render(ferry: &Ferry, t: &Transfer, access: &Access) -> ApiResult<TransferView> {
    let mut uploads = Vec::with_capacity(t.documents.len());
    for doc in &t.documents {
        uploads.push(if *access == Access::Sender {
            ferry.upload_instructions(t, doc).await?
        } else {
            None
        });
    }
    Ok(TransferView::new(t, access, uploads))
}

/// The transfer as this caller may see it.
async fn render_for(
    ferry: &Ferry,
    caller: &ferry_core::auth::Caller,
    t: &Transfer,
) -> ApiResult<TransferView> {
    let access = ferry_core::services::authorize::require(caller, t)?;
    render(ferry, t, &access).await
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn me(SignedIn(user): SignedIn) -> Json<serde_json::Value> {
    Json(json!({ "id": user.id, "email": user.email, "name": user.name, "roles": user.roles }))
}

async fn speed_test(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
) -> ApiResult<Json<serde_json::Value>> {
    let test = state.ferry.speed_test(&user).await?;
    let probes: Vec<_> = test
        .probes
        .iter()
        .map(|p| {
            json!({
                "size": p.size,
                "method": p.request.method,
                "url": p.request.url,
                "headers": p.request.headers,
            })
        })
        .collect();
    Ok(Json(
        json!({ "probes": probes, "expires_at": test.expires_at }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRequest {
    name: String,
    #[serde(deserialize_with = "whole::number")]
    size: u64,
    #[serde(default)]
    content_type: String,
    #[serde(default)]
    md5: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTransferRequest {
    recipients: Vec<String>,
    subject: String,
    message: Option<String>,
    #[serde(default, deserialize_with = "whole::optional")]
    expires_in_hours: Option<i64>,
    files: Vec<FileRequest>,
}

async fn create_transfer(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<CreateTransferRequest>,
) -> ApiResult<Response> {
    let request = NewTransfer {
        recipients: body.recipients,
        subject: body.subject,
        message: body.message,
        expires_in_hours: body.expires_in_hours,
        files: body
            .files
            .into_iter()
            .map(|f| NewFile {
                name: f.name,
                size: f.size,
                content_type: f.content_type,
                md5: f.md5,
            })
            .collect(),
    };
    let transfer = state.ferry.create_transfer(&user, request, ip).await?;
    let view = render(&state.ferry, &transfer, &Access::Sender).await?;
    let location = format!("/api/v1/transfers/{}", transfer.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(view),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(rename = "box")]
    mailbox: Option<String>,
}

async fn list_transfers(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let mailbox = match query.mailbox.as_deref() {
        None | Some("sent") => Mailbox::Sent,
        Some("received") => Mailbox::Received,
        Some(_) => return Err(Error::invalid("box: 'sent' or 'received'").into()),
    };
    let transfers = state.ferry.list_transfers(&user, mailbox).await?;
    let caller = ferry_core::auth::Caller::User(user);
    let mut views = Vec::with_capacity(transfers.len());
    for t in &transfers {
        if let Some(access) = ferry_core::services::authorize::access(&caller, t) {
            views.push(render(&state.ferry, t, &access).await?);
        }
    }
    Ok(Json(json!({ "transfers": views })))
}

async fn get_transfer(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(tid): Path<String>,
) -> ApiResult<Json<TransferView>> {
    let (transfer, access) = state
        .ferry
        .get_transfer(&caller, transfer_id(&tid)?)
        .await?;
    Ok(Json(render(&state.ferry, &transfer, &access).await?))
}

async fn cancel_transfer(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ClientIp(ip): ClientIp,
    Path(tid): Path<String>,
) -> ApiResult<Json<TransferView>> {
    let transfer = state
        .ferry
        .cancel_transfer(&caller, transfer_id(&tid)?, ip)
        .await?;
    Ok(Json(render_for(&state.ferry, &caller, &transfer).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartRequest {
    #[serde(deserialize_with = "whole::number")]
    number: u32,
    md5: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartsRequest {
    parts: Vec<PartRequest>,
}

async fn sign_parts(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path((tid, did)): Path<(String, String)>,
    ApiJson(body): ApiJson<PartsRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    let (tid, did) = document_ids(&tid, &did)?;
    let parts = body.parts.into_iter().map(|p| (p.number, p.md5)).collect();
    let signed = state.ferry.sign_parts(&caller, tid, did, parts).await?;
    let parts: Vec<_> = signed
        .into_iter()
        .map(|(number, r)| json!({ "number": number, "method": r.method, "url": r.url, "headers": r.headers }))
        .collect();
    Ok(Json(json!({ "parts": parts })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompletedPartRequest {
    #[serde(deserialize_with = "whole::number")]
    number: u32,
    etag: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteRequest {
    parts: Vec<CompletedPartRequest>,
    md5: Option<String>,
}

async fn complete_upload(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ClientIp(ip): ClientIp,
    Path((tid, did)): Path<(String, String)>,
    ApiJson(body): ApiJson<CompleteRequest>,
) -> ApiResult<Response> {
    let (tid, did) = document_ids(&tid, &did)?;
    let parts = body
        .parts
        .into_iter()
        .map(|p| CompletedPart {
            number: p.number,
            etag: p.etag,
        })
        .collect();
    state
        .ferry
        .complete_upload(&caller, tid, did, parts, body.md5, ip)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "status": "uploaded", "document_id": did })),
    )
        .into_response())
}

async fn download(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path((tid, did)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (tid, did) = document_ids(&tid, &did)?;
    let url = state.ferry.download_url(&caller, tid, did, ip).await?;
    // A script follows the redirect; a web page that must attach the bearer token itself
    // asks for JSON and navigates to the URL.
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        let expires_in = state.ferry.settings.download_url_ttl.num_seconds();
        return Ok((
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({ "url": url, "expires_in": expires_in })),
        )
            .into_response());
    }
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, url),
            (header::CACHE_CONTROL, "no-store".into()),
        ],
    )
        .into_response())
}

async fn document_text(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ClientIp(ip): ClientIp,
    Path((tid, did)): Path<(String, String)>,
) -> ApiResult<Json<serde_json::Value>> {
    let (tid, did) = document_ids(&tid, &did)?;
    let text = state.ferry.document_text(&caller, tid, did, ip).await?;
    Ok(Json(json!({
        "document_id": did,
        "engine": text.engine,
        "page_count": text.page_count,
        "truncated": text.truncated,
        "pages": text.pages.iter().enumerate().map(|(i, t)| json!({ "number": i + 1, "text": t })).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum DestinationRequest {
    S3Presigned { urls: BTreeMap<String, String> },
    Webhook { url: String, secret: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryRequest {
    destination: DestinationRequest,
}

async fn create_delivery(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ClientIp(ip): ClientIp,
    Path(tid): Path<String>,
    ApiJson(body): ApiJson<DeliveryRequest>,
) -> ApiResult<Response> {
    let destination = match body.destination {
        DestinationRequest::S3Presigned { urls } => Destination::S3Presigned { urls },
        DestinationRequest::Webhook { url, secret } => Destination::Webhook { url, secret },
    };
    let delivery = state
        .ferry
        .create_delivery(&caller, transfer_id(&tid)?, destination, ip)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryView::from(&delivery))).into_response())
}

async fn confirm_receipt(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ClientIp(ip): ClientIp,
    Path(tid): Path<String>,
) -> ApiResult<Json<TransferView>> {
    let transfer = state
        .ferry
        .confirm_receipt(&caller, transfer_id(&tid)?, ip)
        .await?;
    Ok(Json(render_for(&state.ferry, &caller, &transfer).await?))
}

async fn transfer_events(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(tid): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let events = state
        .ferry
        .transfer_events(&caller, transfer_id(&tid)?)
        .await?;
    Ok(Json(
        json!({ "events": events.iter().map(AuditView::from).collect::<Vec<_>>() }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessRequest {
    link_token: String,
}

async fn request_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<AccessRequest>,
) -> ApiResult<Response> {
    state.ferry.request_code(&body.link_token, ip).await?;
    let minutes = state.ferry.settings.code_ttl.num_minutes();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "status": "code_sent", "expires_in": minutes * 60 })),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    link_token: String,
    code: String,
}

async fn verify_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<VerifyRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    let grant = state
        .ferry
        .verify_code(&body.link_token, &body.code, ip)
        .await?;
    Ok(Json(json!({
        "access_token": grant.access_token,
        "token_type": "Bearer",
        "transfer_id": grant.transfer_id,
        "expires_in": grant.expires_in,
    })))
}

async fn list_users(
    State(state): State<AppState>,
    Admin(admin): Admin,
) -> ApiResult<Json<serde_json::Value>> {
    let users = state.ferry.list_users(&admin).await?;
    Ok(Json(
        json!({ "users": users.iter().map(UserView::from).collect::<Vec<_>>() }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUserRequest {
    email: String,
    name: String,
    #[serde(default = "default_roles")]
    roles: Vec<String>,
    password: Option<String>,
}

fn default_roles() -> Vec<String> {
    vec!["member".into()]
}

async fn create_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<CreateUserRequest>,
) -> ApiResult<Response> {
    let user = state
        .ferry
        .create_user(
            &admin,
            CreateUser {
                email: body.email,
                name: body.name,
                roles: body.roles,
                password: body.password,
            },
            ip,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(UserView::from(&user))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeUserRequest {
    name: Option<String>,
    roles: Option<Vec<String>>,
    enabled: Option<bool>,
}

async fn change_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ClientIp(ip): ClientIp,
    Path(uid): Path<String>,
    ApiJson(body): ApiJson<ChangeUserRequest>,
) -> ApiResult<Json<UserView>> {
    let user = state
        .ferry
        .change_user(
            &admin,
            &uid,
            ChangeUser {
                name: body.name,
                roles: body.roles,
                enabled: body.enabled,
            },
            ip,
        )
        .await?;
    Ok(Json(UserView::from(&user)))
}

async fn delete_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ClientIp(ip): ClientIp,
    Path(uid): Path<String>,
) -> ApiResult<StatusCode> {
    state.ferry.delete_user(&admin, &uid, ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditRequest {
    transfer_id: Option<String>,
    actor: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    cursor: Option<String>,
    limit: Option<usize>,
}

async fn query_audit(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiQuery(q): ApiQuery<AuditRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    let transfer_id = match q.transfer_id.as_deref() {
        Some(raw) => Some(
            TransferId::parse(raw)
                .ok_or_else(|| Error::invalid("transfer_id: not a transfer id"))?,
        ),
        None => None,
    };
    if q.cursor
        .as_deref()
        .is_some_and(|c| c.is_empty() || c.len() > 18 || !c.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Error::invalid("cursor: use the next_cursor of the previous page").into());
    }
    let page = state
        .ferry
        .query_audit(
            &admin,
            AuditQuery {
                transfer_id,
                actor: q.actor,
                since: q.since,
                until: q.until,
                cursor: q.cursor,
                limit: q.limit.unwrap_or(100),
            },
        )
        .await?;
    Ok(Json(json!({
        "events": page.events.iter().map(AuditView::from).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
    })))
}
