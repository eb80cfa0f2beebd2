//! The signed-in member's drop folder (routed in `routes`): where to put files, and the
//! default recipients, subject and message of what arrives there.

use crate::AppState;
use crate::extract::{ApiJson, SignedIn};
use crate::problem::ApiResult;
use axum::Json;
use axum::extract::State;
use ferry_core::services::drop_folder::{DropFolderChange, DropFolderView};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct View<'a> {
    location: &'a str,
    default_recipients: Vec<&'a str>,
    subject: Option<&'a str>,
    message: Option<&'a str>,
}

fn render(view: &DropFolderView) -> Json<serde_json::Value> {
    let settings = &view.settings;
    Json(serde_json::json!(View {
        location: &view.location,
        default_recipients: settings
            .default_recipients
            .iter()
            .map(|e| e.as_str())
            .collect(),
        subject: settings.subject.as_deref(),
        message: settings.message.as_deref(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeRequest {
    default_recipients: Vec<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

pub(crate) async fn get_drop_folder(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(render(&state.ferry.drop_folder(&user).await?))
}

pub(crate) async fn put_drop_folder(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ApiJson(body): ApiJson<ChangeRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    let change = DropFolderChange {
        default_recipients: body.default_recipients,
        subject: body.subject,
        message: body.message,
    };
    Ok(render(&state.ferry.set_drop_folder(&user, change).await?))
}
