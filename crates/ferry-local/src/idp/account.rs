//! The account page: TOTP enrollment and password change, behind a sign-in of its own. The
//! session is a random id in an HttpOnly, SameSite=Strict cookie scoped to `/oidc`, kept
//! server-side; every form that changes something also carries the session's CSRF token.

use super::ephemeral::random_handle;
use super::params::Params;
use super::trail::Way;
use super::{LocalIdp, pages};
use crate::users::{TotpEnrollment, password_problem};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use ferry_api::ClientIp;
use ferry_core::ids::UserId;
use ferry_core::model::User;
use std::sync::Arc;
use subtle::ConstantTimeEq;

const COOKIE: &str = "ferry_account";
const BAD_LOGIN: &str = "The email, password or code is not right.";

#[derive(Clone, Debug)]
pub(super) struct Session {
    user: UserId,
    csrf: String,
}

/// The session id from the request's cookies, if any.
pub(super) fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

fn cookie(idp: &LocalIdp, value: &str, max_age: u64) -> HeaderValue {
    let secure = if idp.secure_cookies { "; Secure" } else { "" };
    let text = format!(
        "{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/oidc; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&text)
        .unwrap_or_else(|_| HeaderValue::from_static("ferry_account=; Max-Age=0"))
}

pub(super) fn clear_cookie(idp: &LocalIdp) -> HeaderValue {
    cookie(idp, "", 0)
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    pages::html(status, title, body)
}

fn login_page(status: StatusCode, email: &str, error: Option<&str>) -> Response {
    page(
        status,
        "Your Ferry account",
        &pages::account_login(email, error.map(Err)),
    )
}

async fn account_page(
    idp: &LocalIdp,
    status: StatusCode,
    user: &User,
    session: &Session,
    note: pages::Flash<'_>,
) -> Response {
    let totp_on = match idp.users.totp_enabled(&user.id).await {
        Ok(on) => on,
        Err(e) => return pages::unexpected(e),
    };
    let view = pages::AccountView {
        email: user.email.as_str(),
        name: &user.name,
        totp_on,
        csrf: &session.csrf,
        portal: &idp.public_url,
    };
    page(status, "Your Ferry account", &pages::account(&view, note))
}

/// The live session of this request and its (still enabled) user.
async fn current(
    idp: &LocalIdp,
    headers: &HeaderMap,
) -> anyhow::Result<Option<(String, Session, User)>> {
    let Some(sid) = session_id(headers) else {
        return Ok(None);
    };
    let Some(session) = idp.sessions.get(&sid) else {
        return Ok(None);
    };
    match idp.enabled_user(&session.user).await? {
        Some(user) => Ok(Some((sid, session, user))),
        None => {
            idp.sessions.remove(&sid);
            Ok(None)
        }
    }
}

/// `GET /oidc/account`.
pub(super) async fn show(State(idp): State<Arc<LocalIdp>>, headers: HeaderMap) -> Response {
    match current(&idp, &headers).await {
        Ok(Some((_, session, user))) => {
            account_page(&idp, StatusCode::OK, &user, &session, None).await
        }
        Ok(None) => login_page(StatusCode::OK, "", None),
        Err(e) => pages::unexpected(e),
    }
}

/// `POST /oidc/account/login`: password, and the code when TOTP is on, in one form.
pub(super) async fn login(
    State(idp): State<Arc<LocalIdp>>,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Response {
    let Ok(params) = Params::parse(&body) else {
        return login_page(StatusCode::BAD_REQUEST, "", Some("The form is malformed."));
    };
    let email = params.get("email").unwrap_or_default();
    let password = params.get("password").unwrap_or_default();
    if let Some(refused) = idp.sign_in_refusal(ip.as_deref(), email) {
        return refused;
    }
    let user = match idp.users.verify_password(email, password).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            idp.record_wrong_password(email, Way::AccountPage, ip.as_deref())
                .await;
            return login_page(StatusCode::UNAUTHORIZED, email, Some(BAD_LOGIN));
        }
        Err(e) => return pages::unexpected(e),
    };
    match idp.users.totp_enabled(&user.id).await {
        Ok(false) => {}
        Ok(true) => {
            let Some(code) = params.get("otp") else {
                return login_page(
                    StatusCode::UNAUTHORIZED,
                    email,
                    Some("This account also needs the code from your authenticator app."),
                );
            };
            match idp.users.check_totp(&user.id, code).await {
                Ok(true) => {}
                Ok(false) => {
                    idp.record_wrong_code(&user.id, Way::AccountPage, ip.as_deref())
                        .await;
                    return login_page(StatusCode::UNAUTHORIZED, email, Some(BAD_LOGIN));
                }
                Err(e) => return pages::unexpected(e),
            }
        }
        Err(e) => return pages::unexpected(e),
    }
    // A new id at every sign-in: a session id planted before it is worth nothing.
    let sid = idp.sessions.insert(Session {
        user: user.id.clone(),
        csrf: random_handle(),
    });
    tracing::info!(user = %user.id, "signed in to the account page");
    idp.record_sign_in(&user, Way::AccountPage, ip.as_deref())
        .await;
    let mut response = pages::redirect("/oidc/account");
    let max_age = idp.sessions.ttl().as_secs();
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie(&idp, &sid, max_age));
    response
}

/// A state-changing request: a live session and a matching CSRF token, or the answer to give.
enum Gate {
    Open {
        sid: String,
        session: Session,
        user: User,
        params: Params,
    },
    Closed(Response),
}

async fn gate(idp: &LocalIdp, headers: &HeaderMap, body: &[u8]) -> Gate {
    let (sid, session, user) = match current(idp, headers).await {
        Ok(Some(found)) => found,
        Ok(None) => return Gate::Closed(pages::redirect("/oidc/account")),
        Err(e) => return Gate::Closed(pages::unexpected(e)),
    };
    let Ok(params) = Params::parse(body) else {
        return Gate::Closed(pages::message(
            StatusCode::BAD_REQUEST,
            "Malformed form",
            "The form is malformed.",
            None,
        ));
    };
    let presented = params.get("csrf").unwrap_or_default();
    if !bool::from(presented.as_bytes().ct_eq(session.csrf.as_bytes())) {
        tracing::warn!("an account form came without the right CSRF token");
        return Gate::Closed(pages::message(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form is out of date. Open your account page again.",
            Some(("/oidc/account", "Your account")),
        ));
    }
    Gate::Open {
        sid,
        session,
        user,
        params,
    }
}

fn enrollment_page(
    status: StatusCode,
    enrollment: &TotpEnrollment,
    session: &Session,
    error: Option<&str>,
) -> Response {
    match pages::qr_svg(&enrollment.uri) {
        Ok(svg) => page(
            status,
            "Turn on two-step sign-in",
            &pages::enrollment(enrollment, &svg, &session.csrf, error.map(Err)),
        ),
        Err(e) => pages::unexpected(e),
    }
}

/// `POST /oidc/account/totp`: a new secret, shown as a QR code until a code confirms it.
pub(super) async fn start_totp(
    State(idp): State<Arc<LocalIdp>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (session, user) = match gate(&idp, &headers, &body).await {
        Gate::Open { session, user, .. } => (session, user),
        Gate::Closed(response) => return response,
    };
    match idp.users.begin_totp(&user.id).await {
        Ok(Some(enrollment)) => enrollment_page(StatusCode::OK, &enrollment, &session, None),
        Ok(None) => pages::redirect("/oidc/account"),
        Err(e) => pages::unexpected(e),
    }
}

/// `POST /oidc/account/totp/confirm`.
pub(super) async fn confirm_totp(
    State(idp): State<Arc<LocalIdp>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (session, user, params) = match gate(&idp, &headers, &body).await {
        Gate::Open {
            session,
            user,
            params,
            ..
        } => (session, user, params),
        Gate::Closed(response) => return response,
    };
    let code = params.get("otp").unwrap_or_default();
    match idp.users.confirm_totp(&user.id, code).await {
        Ok(true) => {
            tracing::info!(user = %user.id, "two-step sign-in turned on");
            idp.record_account_change(&user, "user.two_step_enabled", ip.as_deref())
                .await;
            account_page(
                &idp,
                StatusCode::OK,
                &user,
                &session,
                Some(Ok("Two-step sign-in is on.")),
            )
            .await
        }
        Ok(false) => match idp.users.pending_totp(&user.id).await {
            Ok(Some(enrollment)) => {
                let error = Some("That code is not right. Try the current one.");
                enrollment_page(StatusCode::BAD_REQUEST, &enrollment, &session, error)
            }
            Ok(None) => {
                let note = Some(Err("Start the set-up again."));
                account_page(&idp, StatusCode::BAD_REQUEST, &user, &session, note).await
            }
            Err(e) => pages::unexpected(e),
        },
        Err(e) => pages::unexpected(e),
    }
}

/// `POST /oidc/account/password`: the current password, then the new one.
pub(super) async fn change_password(
    State(idp): State<Arc<LocalIdp>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (sid, session, user, params) = match gate(&idp, &headers, &body).await {
        Gate::Open {
            sid,
            session,
            user,
            params,
        } => (sid, session, user, params),
        Gate::Closed(response) => return response,
    };
    let current = params.get("current_password").unwrap_or_default();
    let new = params.get("new_password").unwrap_or_default();
    match idp
        .users
        .verify_password(user.email.as_str(), current)
        .await
    {
        Ok(Some(checked)) if checked.id == user.id => {}
        Ok(_) => {
            let note = Some(Err("Your current password is not right."));
            return account_page(&idp, StatusCode::UNAUTHORIZED, &user, &session, note).await;
        }
        Err(e) => return pages::unexpected(e),
    }
    if let Some(problem) = password_problem(new) {
        let text = format!("The new password is not accepted: {problem}.");
        return account_page(
            &idp,
            StatusCode::BAD_REQUEST,
            &user,
            &session,
            Some(Err(&text)),
        )
        .await;
    }
    if let Err(e) = idp.users.set_password(&user.id, new).await {
        return pages::unexpected(anyhow::anyhow!("changing a password: {e}"));
    }
    // Whoever else was signed in with the old password is signed out.
    idp.sessions
        .retain(|other, s| s.user != user.id || other == sid);
    tracing::info!(user = %user.id, "password changed");
    idp.record_account_change(&user, "user.password_changed", ip.as_deref())
        .await;
    let note = Some(Ok("Your password is changed. Other sign-ins were ended."));
    account_page(&idp, StatusCode::OK, &user, &session, note).await
}

/// `POST /oidc/account/logout`.
pub(super) async fn logout(
    State(idp): State<Arc<LocalIdp>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let sid = match gate(&idp, &headers, &body).await {
        Gate::Open { sid, .. } => sid,
        Gate::Closed(response) => return response,
    };
    idp.sessions.remove(&sid);
    let mut response = pages::redirect("/oidc/account");
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_cookie(&idp));
    response
}
