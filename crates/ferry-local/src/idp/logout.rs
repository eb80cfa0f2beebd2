//! RP-initiated logout. There is no single sign-on session to end (every sign-in asks for the
//! password), so this ends the account page's session and sends the browser back to the portal,
//! but only to an address under the portal's own URL.

use super::params::Params;
use super::{LocalIdp, account, pages};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use std::sync::Arc;

/// Whether `target` is the portal's root or a path under it.
pub(super) fn is_portal_url(public_url: &str, target: &str) -> bool {
    if target
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return false;
    }
    let root = format!("{public_url}/");
    if !target.starts_with(&root) {
        return false;
    }
    // The prefix check is on text; the parsed origin must agree.
    match (url::Url::parse(target), url::Url::parse(&root)) {
        (Ok(t), Ok(r)) => t.origin() == r.origin(),
        _ => false,
    }
}

/// `GET /oidc/logout`.
pub(super) async fn logout(
    State(idp): State<Arc<LocalIdp>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(sid) = account::session_id(&headers) {
        idp.sessions.remove(&sid);
    }
    let params = Params::parse_query(query.as_deref()).ok();
    let target = params
        .as_ref()
        .and_then(|p| p.get("post_logout_redirect_uri"))
        .filter(|t| is_portal_url(&idp.public_url, t))
        .and_then(|t| url::Url::parse(t).ok());
    let mut response = match target {
        Some(mut url) => {
            if let Some(state) = params.as_ref().and_then(|p| p.get("state")) {
                url.query_pairs_mut().append_pair("state", state);
            }
            pages::redirect(url.as_str())
        }
        None => pages::message(
            StatusCode::OK,
            "Signed out",
            "You are signed out of Ferry.",
            Some((&format!("{}/", idp.public_url), "Go to Ferry")),
        ),
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, account::clear_cookie(&idp));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_portal_addresses_are_targets() {
        let base = "https://ferry.example.org";
        assert!(is_portal_url(base, "https://ferry.example.org/"));
        assert!(is_portal_url(base, "https://ferry.example.org/bye?x=1"));
        assert!(!is_portal_url(base, "https://ferry.example.org"));
        assert!(!is_portal_url(base, "https://ferry.example.org.evil.com/"));
        assert!(!is_portal_url(base, "https://ferry.example.org@evil.com/"));
        assert!(!is_portal_url(
            base,
            "https://evil.com/https://ferry.example.org/"
        ));
        assert!(!is_portal_url(base, "https://ferry.example.org/\\evil.com"));
        assert!(!is_portal_url(base, "javascript:alert(1)"));
    }
}
