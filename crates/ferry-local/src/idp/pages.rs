//! The provider's HTML: plain forms, no script, nothing loaded from anywhere. Every value that
//! reaches a page is escaped, and every page carries headers that keep it out of frames and
//! caches.

use crate::users::{MIN_PASSWORD_CHARS, TotpEnrollment};
use anyhow::Context;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write;

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                   form-action 'self'; frame-ancestors 'none'";

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:30rem;margin:3rem auto;\
padding:0 1rem;color:#1b1b1b}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}\
label{display:block;margin-top:1rem;font-weight:600}\
input:not([type=hidden]){display:block;width:100%;box-sizing:border-box;padding:.5rem;font:inherit}\
button{margin-top:1.25rem;padding:.5rem 1.25rem;font:inherit}\
.error{color:#8a1010;border-left:4px solid #8a1010;padding-left:.75rem}\
.notice{color:#0b5a1b;border-left:4px solid #0b5a1b;padding-left:.75rem}\
code{word-break:break-all}svg{width:14rem;height:14rem;display:block;margin:1rem 0}";

pub(super) use crate::html::escape;

/// The headers every page of ours carries.
pub(super) fn harden(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

pub(super) fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Ferry</title><style>{STYLE}</style></head>\
         <body><main><h1>{title}</h1>\n{body}</main></body></html>\n",
        title = escape(title),
    );
    harden(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page,
        )
            .into_response(),
    )
}

/// 303 See Other: the browser follows with a GET, whatever the method was.
pub(super) fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => harden((StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response()),
        Err(_) => unexpected(anyhow::anyhow!("a redirect target is not a valid header")),
    }
}

/// Something on our side failed: logged, and a page that says so without detail.
pub(super) fn unexpected(e: anyhow::Error) -> Response {
    tracing::error!(error = %format!("{e:#}"), "the identity provider failed");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Ferry could not finish this step. Please try again in a moment.",
        None,
    )
}

/// 429 with `Retry-After`, for a person at a sign-in form.
pub(super) fn too_many(limited: &ferry_core::limits::Limited) -> Response {
    let seconds = limited.retry_after.as_secs().max(1);
    let mut response = message(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        &format!(
            "There were too many sign-in attempts in a short time. Please wait {} and try again.",
            if seconds < 120 {
                format!("{seconds} seconds")
            } else {
                format!("{} minutes", seconds.div_ceil(60))
            }
        ),
        None,
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

pub(super) fn message(
    status: StatusCode,
    title: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let mut body = format!("<p>{}</p>", escape(text));
    if let Some((href, label)) = link {
        let _ = write!(
            body,
            "<p><a href=\"{}\">{}</a></p>",
            escape(href),
            escape(label)
        );
    }
    html(status, title, &body)
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
        escape(name),
        escape(value)
    )
}

/// A message above a form: `Err` for what went wrong, `Ok` for what went right.
pub(super) type Flash<'a> = Option<Result<&'a str, &'a str>>;

fn flash(flash: Flash<'_>) -> String {
    match flash {
        Some(Err(text)) => format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape(text)),
        Some(Ok(text)) => format!("<p class=\"notice\" role=\"status\">{}</p>\n", escape(text)),
        None => String::new(),
    }
}

fn email_and_password(email: &str) -> String {
    format!(
        "<label for=\"email\">Email</label>\n\
         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required \
         maxlength=\"254\" value=\"{}\">\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\" required maxlength=\"1024\">\n",
        escape(email)
    )
}

fn otp_input(label: &str, required: bool) -> String {
    format!(
        "<label for=\"otp\">{}</label>\n\
         <input id=\"otp\" name=\"otp\" type=\"text\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" pattern=\"[0-9 ]{{6,7}}\" maxlength=\"7\"{}>\n",
        escape(label),
        if required { " required" } else { "" }
    )
}

/// The sign-in form of the authorization endpoint, carrying the request along.
pub(super) fn login(fields: &[(&str, &str)], email: &str, error: Flash<'_>) -> String {
    let mut body = flash(error);
    body.push_str("<form method=\"post\" action=\"/oidc/authorize\">\n");
    for (name, value) in fields {
        body.push_str(&hidden(name, value));
    }
    body.push_str(&email_and_password(email));
    body.push_str("<button type=\"submit\">Sign in</button>\n</form>\n");
    body
}

/// The second step of signing in, when the account has TOTP.
pub(super) fn otp(ticket: &str, error: Flash<'_>) -> String {
    let mut body = flash(error);
    body.push_str("<p>Enter the 6-digit code from your authenticator app.</p>\n");
    body.push_str("<form method=\"post\" action=\"/oidc/authorize/otp\">\n");
    body.push_str(&hidden("ticket", ticket));
    body.push_str(&otp_input("One-time code", true));
    body.push_str("<button type=\"submit\">Continue</button>\n</form>\n");
    body
}

pub(super) fn account_login(email: &str, error: Flash<'_>) -> String {
    let mut body = flash(error);
    body.push_str(
        "<p>Sign in to manage your password and two-step sign-in.</p>\n\
         <form method=\"post\" action=\"/oidc/account/login\">\n",
    );
    body.push_str(&email_and_password(email));
    body.push_str(&otp_input(
        "One-time code (if two-step sign-in is on)",
        false,
    ));
    body.push_str("<button type=\"submit\">Sign in</button>\n</form>\n");
    body
}

pub(super) struct AccountView<'a> {
    pub(super) email: &'a str,
    pub(super) name: &'a str,
    pub(super) totp_on: bool,
    pub(super) csrf: &'a str,
    pub(super) portal: &'a str,
}

pub(super) fn account(view: &AccountView<'_>, note: Flash<'_>) -> String {
    let csrf = hidden("csrf", view.csrf);
    let mut body = flash(note);
    let _ = writeln!(
        body,
        "<p>Signed in as <strong>{}</strong> ({}).</p>",
        escape(view.name),
        escape(view.email)
    );
    let (status, button) = if view.totp_on {
        (
            "On: signing in asks for a code from your authenticator app.",
            "Set up a new authenticator",
        )
    } else {
        (
            "Off: your password alone signs you in.",
            "Turn on two-step sign-in",
        )
    };
    let _ = write!(
        body,
        "<h2>Two-step sign-in</h2>\n<p>{status}</p>\n\
         <form method=\"post\" action=\"/oidc/account/totp\">\n{csrf}\
         <button type=\"submit\">{button}</button>\n</form>\n"
    );
    let _ = write!(
        body,
        "<h2>Password</h2>\n<form method=\"post\" action=\"/oidc/account/password\">\n{csrf}\
         <label for=\"current_password\">Current password</label>\n\
         <input id=\"current_password\" name=\"current_password\" type=\"password\" \
         autocomplete=\"current-password\" required maxlength=\"1024\">\n\
         <label for=\"new_password\">New password (at least {MIN_PASSWORD_CHARS} characters)</label>\n\
         <input id=\"new_password\" name=\"new_password\" type=\"password\" \
         autocomplete=\"new-password\" required minlength=\"{MIN_PASSWORD_CHARS}\" maxlength=\"1024\">\n\
         <button type=\"submit\">Change password</button>\n</form>\n"
    );
    let _ = write!(
        body,
        "<h2>Sign out</h2>\n<form method=\"post\" action=\"/oidc/account/logout\">\n{csrf}\
         <button type=\"submit\">Sign out</button>\n</form>\n\
         <p><a href=\"{}/\">Back to Ferry</a></p>\n",
        escape(view.portal)
    );
    body
}

pub(super) fn enrollment(
    enrollment: &TotpEnrollment,
    qr_svg: &str,
    csrf: &str,
    error: Flash<'_>,
) -> String {
    let mut body = flash(error);
    let _ = write!(
        body,
        "<p>Scan this QR code with your authenticator app, then enter the code it shows.</p>\n\
         {qr_svg}\n<p>No camera? Add this key by hand: <code>{}</code></p>\n\
         <p>Setup link: <code>{}</code></p>\n\
         <form method=\"post\" action=\"/oidc/account/totp/confirm\">\n{}{}\
         <button type=\"submit\">Turn on</button>\n</form>\n\
         <p><a href=\"/oidc/account\">Cancel</a></p>\n",
        escape(&enrollment.secret),
        escape(&enrollment.uri),
        hidden("csrf", csrf),
        otp_input("Code from the app", true),
    );
    body
}

/// The otpauth URI as an inline SVG QR code, labelled for screen readers.
pub(super) fn qr_svg(uri: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).context("drawing the QR code")?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    let start = svg.find("<svg").context("the QR code is not SVG")?;
    Ok(svg[start..].replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code for your authenticator app\" ",
        1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        assert_eq!(
            escape("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn the_qr_code_is_inline_svg() {
        let svg = qr_svg("otpauth://totp/Ferry:a%40example.org?secret=ABC&issuer=Ferry").unwrap();
        assert!(svg.starts_with("<svg role=\"img\""));
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<?xml"));
    }
}
