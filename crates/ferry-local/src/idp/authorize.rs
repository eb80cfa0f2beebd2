//! The authorization endpoint: authorization code with PKCE (S256 only) for the one public
//! client (the portal, or the command line through a loopback redirect), a password form, then a TOTP form when the account has it on. Until the client and
//! its exact redirect URI are known good, nothing is ever sent to the redirect URI.

use super::params::Params;
use super::trail::Way;
use super::{CLIENT_ID, LocalIdp, pages};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use ferry_api::ClientIp;
use ferry_core::ids::UserId;
use ferry_core::model::User;
use std::sync::Arc;

const SCOPES: [&str; 3] = ["openid", "email", "profile"];
pub(super) const DEFAULT_SCOPE: &str = "openid email profile";
const MAX_STATE: usize = 1024;
const MAX_NONCE: usize = 512;
/// Wrong codes allowed per login ticket; then the sign-in starts over.
const MAX_OTP_ATTEMPTS: u32 = 5;
const BAD_LOGIN: &str = "The email or password is not right.";

/// A validated authorization request.
#[derive(Clone, Debug)]
pub(super) struct AuthRequest {
    pub(super) redirect_uri: String,
    pub(super) code_challenge: String,
    pub(super) state: Option<String>,
    pub(super) nonce: Option<String>,
    pub(super) scope: String,
}

impl AuthRequest {
    /// The request again, as the login form's hidden fields.
    fn fields(&self) -> Vec<(&'static str, &str)> {
        let mut fields = vec![
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_challenge", self.code_challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("scope", self.scope.as_str()),
        ];
        if let Some(state) = &self.state {
            fields.push(("state", state));
        }
        if let Some(nonce) = &self.nonce {
            fields.push(("nonce", nonce));
        }
        fields
    }
}

/// An issued authorization code. It stays in the map after it is redeemed, marked, so that a
/// second redemption can be recognised and the tokens of the first one revoked.
#[derive(Clone, Debug)]
pub(super) struct CodeGrant {
    pub(super) user: UserId,
    pub(super) request: AuthRequest,
    pub(super) redeemed: bool,
    pub(super) refresh_token: Option<String>,
}

/// Between a right password and the TOTP code.
#[derive(Clone, Debug)]
pub(super) struct LoginTicket {
    user: UserId,
    request: AuthRequest,
    attempts: u32,
}

enum Refusal {
    /// Unknown client or unregistered redirect URI: a page, never a redirect.
    Page(String),
    /// A bad request from the registered client: back to it with an OAuth error.
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: &'static str,
        state: Option<String>,
    },
}

/// The unreserved characters of RFC 7636, which code challenges and verifiers are made of.
pub(super) fn is_pkce_text(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn normalized_scope(raw: Option<&str>) -> String {
    let Some(raw) = raw else {
        return DEFAULT_SCOPE.to_owned();
    };
    let mut scopes = vec!["openid"];
    for s in raw.split(' ') {
        if SCOPES.contains(&s) && !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    scopes.join(" ")
}

fn validate(idp: &LocalIdp, p: &Params) -> Result<AuthRequest, Refusal> {
    if p.get("client_id") != Some(CLIENT_ID) {
        return Err(Refusal::Page(
            "This sign-in request comes from an unknown application.".into(),
        ));
    }
    let Some(redirect_uri) = p
        .get("redirect_uri")
        .filter(|uri| *uri == idp.redirect_uri || is_loopback_redirect(uri))
        .map(str::to_owned)
    else {
        return Err(Refusal::Page(
            "This sign-in request would return to an address that is not registered.".into(),
        ));
    };
    // From here on the redirect URI is ours; `state` goes back only when it is sane.
    let state = p
        .get("state")
        .filter(|s| s.len() <= MAX_STATE)
        .map(str::to_owned);
    let refuse = |error, description| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        description,
        state: state.clone(),
    };
    if p.get("state").is_some_and(|s| s.len() > MAX_STATE) {
        return Err(refuse("invalid_request", "state is too long"));
    }
    if p.get("response_type") != Some("code") {
        return Err(refuse(
            "unsupported_response_type",
            "only response_type=code is supported",
        ));
    }
    if p.get("response_mode").is_some_and(|m| m != "query") {
        return Err(refuse(
            "invalid_request",
            "only response_mode=query is supported",
        ));
    }
    match p.get("code_challenge_method") {
        Some("S256") => {}
        Some(_) => {
            return Err(refuse(
                "invalid_request",
                "only code_challenge_method=S256 is supported",
            ));
        }
        None => {
            return Err(refuse(
                "invalid_request",
                "PKCE with code_challenge_method=S256 is required",
            ));
        }
    }
    let Some(challenge) = p.get("code_challenge").filter(|c| is_pkce_text(c, 43, 43)) else {
        return Err(refuse(
            "invalid_request",
            "code_challenge must be a base64url SHA-256 digest",
        ));
    };
    let nonce = p.get("nonce");
    if nonce.is_some_and(|n| n.len() > MAX_NONCE) {
        return Err(refuse("invalid_request", "nonce is too long"));
    }
    if p.get("prompt")
        .is_some_and(|p| p.split(' ').any(|v| v == "none"))
    {
        // There is no single sign-on session here: every sign-in asks for the password.
        return Err(refuse("login_required", "the user must sign in"));
    }
    Ok(AuthRequest {
        redirect_uri,
        code_challenge: challenge.to_owned(),
        state,
        nonce: nonce.map(str::to_owned),
        scope: normalized_scope(p.get("scope")),
    })
}

/// A native app's loopback redirect (RFC 8252 §7.3), for the `ferry` command line: plain HTTP
/// to this machine on any port, path `/callback`. Nothing sent there leaves the machine.
fn is_loopback_redirect(uri: &str) -> bool {
    let Ok(url) = url::Url::parse(uri) else {
        return false;
    };
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    url.scheme() == "http"
        && loopback
        && url.port().is_some()
        && url.path() == "/callback"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none()
}

/// `redirect_uri` with `pairs` added to its query, and our issuer (RFC 9207).
fn back_to_client(idp: &LocalIdp, redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(url) => url,
        Err(e) => {
            return pages::unexpected(anyhow::anyhow!("the redirect URI does not parse: {e}"));
        }
    };
    url.query_pairs_mut()
        .extend_pairs(pairs)
        .append_pair("iss", &idp.issuer);
    pages::redirect(url.as_str())
}

fn refusal(idp: &LocalIdp, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(text) => pages::message(
            StatusCode::BAD_REQUEST,
            "Sign-in request refused",
            &text,
            Some((&format!("{}/", idp.public_url), "Go to Ferry")),
        ),
        Refusal::Redirect {
            redirect_uri,
            error,
            description,
            state,
        } => {
            let mut pairs = vec![("error", error), ("error_description", description)];
            if let Some(state) = &state {
                pairs.push(("state", state));
            }
            back_to_client(idp, &redirect_uri, &pairs)
        }
    }
}

fn malformed(idp: &LocalIdp, problem: &str) -> Response {
    refusal(
        idp,
        Refusal::Page(format!("This sign-in request is malformed: {problem}.")),
    )
}

fn login_page(
    status: StatusCode,
    request: &AuthRequest,
    email: &str,
    error: Option<&str>,
) -> Response {
    pages::html(
        status,
        "Sign in to Ferry",
        &pages::login(&request.fields(), email, error.map(Err)),
    )
}

fn otp_page(status: StatusCode, ticket: &str, error: Option<&str>) -> Response {
    pages::html(
        status,
        "Two-step sign-in",
        &pages::otp(ticket, error.map(Err)),
    )
}

/// A fresh single-use code for `user`, sent back to the client with its `state`.
fn issue_code(idp: &LocalIdp, user: &User, request: AuthRequest) -> Response {
    let redirect_uri = request.redirect_uri.clone();
    let state = request.state.clone();
    let code = idp.codes.insert(CodeGrant {
        user: user.id.clone(),
        request,
        redeemed: false,
        refresh_token: None,
    });
    tracing::info!(user = %user.id, "signed in to the identity provider");
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = &state {
        pairs.push(("state", state));
    }
    back_to_client(idp, &redirect_uri, &pairs)
}

/// `GET /oidc/authorize`: the sign-in form.
pub(super) async fn show(State(idp): State<Arc<LocalIdp>>, RawQuery(query): RawQuery) -> Response {
    let params = match Params::parse_query(query.as_deref()) {
        Ok(p) => p,
        Err(problem) => return malformed(&idp, &problem),
    };
    match validate(&idp, &params) {
        Ok(request) => login_page(StatusCode::OK, &request, "", None),
        Err(r) => refusal(&idp, r),
    }
}

/// `POST /oidc/authorize`: the password.
pub(super) async fn login(
    State(idp): State<Arc<LocalIdp>>,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Response {
    let params = match Params::parse(&body) {
        Ok(p) => p,
        Err(problem) => return malformed(&idp, &problem),
    };
    let request = match validate(&idp, &params) {
        Ok(r) => r,
        Err(r) => return refusal(&idp, r),
    };
    let email = params.get("email").unwrap_or_default();
    let password = params.get("password").unwrap_or_default();
    if let Some(refused) = idp.sign_in_refusal(ip.as_deref(), email) {
        return refused;
    }
    let user = match idp.users.verify_password(email, password).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            tracing::info!("a sign-in was refused");
            idp.record_wrong_password(email, Way::Portal, ip.as_deref())
                .await;
            return login_page(StatusCode::UNAUTHORIZED, &request, email, Some(BAD_LOGIN));
        }
        Err(e) => return pages::unexpected(e),
    };
    match idp.users.totp_enabled(&user.id).await {
        Ok(true) => {
            let ticket = idp.tickets.insert(LoginTicket {
                user: user.id,
                request,
                attempts: 0,
            });
            otp_page(StatusCode::OK, &ticket, None)
        }
        Ok(false) => {
            idp.record_sign_in(&user, Way::Portal, ip.as_deref()).await;
            issue_code(&idp, &user, request)
        }
        Err(e) => pages::unexpected(e),
    }
}

fn start_over(idp: &LocalIdp, text: &str) -> Response {
    pages::message(
        StatusCode::UNAUTHORIZED,
        "Please sign in again",
        text,
        Some((&format!("{}/", idp.public_url), "Go to Ferry")),
    )
}

/// `POST /oidc/authorize/otp`: the code, against a login ticket.
pub(super) async fn otp(
    State(idp): State<Arc<LocalIdp>>,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Response {
    let params = match Params::parse(&body) {
        Ok(p) => p,
        Err(problem) => return malformed(&idp, &problem),
    };
    let Some(handle) = params.get("ticket") else {
        return malformed(&idp, "the sign-in ticket is missing");
    };
    if let Some(refused) = idp.sign_in_refusal(ip.as_deref(), "") {
        return refused;
    }
    let ticket = idp.tickets.update(handle, |t| {
        t.attempts += 1;
        t.clone()
    });
    let Some(ticket) = ticket else {
        return start_over(&idp, "This sign-in took too long or was already used.");
    };
    if ticket.attempts > MAX_OTP_ATTEMPTS {
        idp.tickets.remove(handle);
        return start_over(&idp, "Too many wrong codes.");
    }
    let code = params.get("otp").unwrap_or_default();
    let checked = idp.users.check_totp(&ticket.user, code).await;
    if let Ok(false) = checked {
        idp.record_wrong_code(&ticket.user, Way::PortalWithCode, ip.as_deref())
            .await;
    }
    match checked {
        Ok(true) => {}
        Ok(false) if ticket.attempts >= MAX_OTP_ATTEMPTS => {
            idp.tickets.remove(handle);
            return start_over(&idp, "Too many wrong codes.");
        }
        Ok(false) => {
            tracing::info!(user = %ticket.user, "a one-time code was refused");
            return otp_page(
                StatusCode::UNAUTHORIZED,
                handle,
                Some("That code is not right. Try the current one."),
            );
        }
        Err(e) => return pages::unexpected(e),
    }
    // Single use: whoever takes the ticket first gets the code.
    if idp.tickets.take(handle).is_none() {
        return start_over(&idp, "This sign-in took too long or was already used.");
    }
    match idp.enabled_user(&ticket.user).await {
        Ok(Some(user)) => {
            idp.record_sign_in(&user, Way::PortalWithCode, ip.as_deref())
                .await;
            issue_code(&idp, &user, ticket.request)
        }
        Ok(None) => start_over(&idp, BAD_LOGIN),
        Err(e) => pages::unexpected(e),
    }
}

#[cfg(test)]
mod loopback_tests {
    use super::is_loopback_redirect;

    #[test]
    fn only_plain_loopback_callbacks_with_a_port_are_native_redirects() {
        for good in [
            "http://127.0.0.1:53682/callback",
            "http://localhost:8976/callback",
            "http://[::1]:1234/callback",
        ] {
            assert!(is_loopback_redirect(good), "{good}");
        }
        for bad in [
            "https://127.0.0.1:53682/callback",
            "http://127.0.0.1/callback",
            "http://127.0.0.1:53682/other",
            "http://127.0.0.1:53682/callback?x=1",
            "http://evil.example:53682/callback",
            "http://localhost.evil.example:1/callback",
            "http://user@127.0.0.1:1/callback",
            "http://10.0.0.1:1/callback",
        ] {
            assert!(!is_loopback_redirect(bad), "{bad}");
        }
    }
}
