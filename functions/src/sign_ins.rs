//! Cognito's post-authentication trigger: every sign-in to the stack's user pool enters the
//! audit trail, as ferry-local's sign-ins do. Cognito fails a sign-in whose trigger fails, so a
//! trail that cannot be written is logged, never returned as an error: the event goes back as
//! it came, which is all Cognito expects.

use aws_lambda_events::cognito::CognitoEventUserPoolsPostAuthentication;
use chrono::{DateTime, Utc};
use ferry_core::audit::{AuditEvent, Outcome};
use ferry_core::ids::UserId;
use ferry_core::ports::Catalog;
use serde::Deserialize;
use serde_json::Value;

/// The audit event of one post-authentication event, or why there is none.
pub fn sign_in_event(event: &Value, at: DateTime<Utc>) -> Result<AuditEvent, String> {
    let event = CognitoEventUserPoolsPostAuthentication::deserialize(event)
        .map_err(|e| format!("not a post-authentication event: {e}"))?;
    let user = event
        .request
        .user_attributes
        .get("sub")
        .and_then(|sub| UserId::parse(sub))
        .ok_or("the event names no user (userAttributes.sub)")?;
    let detail = if event.request.new_device_used {
        "Cognito sign-in, new device"
    } else {
        "Cognito sign-in"
    };
    Ok(AuditEvent::new(
        format!("user:{user}"),
        "user.signed_in",
        Outcome::Success,
        at,
    )
    .detail(detail))
}

/// Records the sign-in if it can; whatever happens, the sign-in goes on.
pub async fn record(catalog: &dyn Catalog, event: &Value) {
    match sign_in_event(event, Utc::now()) {
        Ok(audit) => {
            if let Err(e) = catalog.append_audit(&audit).await {
                tracing::error!(error = format!("{e:#}"), "a sign-in could not be recorded");
            }
        }
        Err(why) => tracing::warn!(why, "a trigger event was not recorded"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn post_authentication(attributes: Value, new_device: bool) -> Value {
        json!({
            "version": "1",
            "triggerSource": "PostAuthentication_Authentication",
            "region": "eu-west-1",
            "userPoolId": "eu-west-1_pool",
            "userName": "0b7e5a60-3f7c-4d1e-9d41-6d1a5f0c9e21",
            "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "portal"},
            "request": {"userAttributes": attributes, "newDeviceUsed": new_device},
            "response": {}
        })
    }

    #[test]
    fn a_sign_in_is_the_users_and_carries_no_attribute_but_its_id() {
        let sub = "0b7e5a60-3f7c-4d1e-9d41-6d1a5f0c9e21";
        let attributes = json!({"sub": sub, "email": "erin@example.org", "email_verified": "true"});
        let at = Utc::now();
        let event = sign_in_event(&post_authentication(attributes, false), at).unwrap();
        assert_eq!(event.actor, format!("user:{sub}"));
        assert_eq!(event.action, "user.signed_in");
        assert_eq!(event.outcome, Outcome::Success);
        assert_eq!(event.detail.as_deref(), Some("Cognito sign-in"));
        assert_eq!(event.at, at);
        assert!(!serde_json::to_string(&event).unwrap().contains("erin@"));

        let attributes = json!({"sub": sub});
        let event = sign_in_event(&post_authentication(attributes, true), at).unwrap();
        assert_eq!(event.detail.as_deref(), Some("Cognito sign-in, new device"));
    }

    #[test]
    fn an_event_without_a_user_or_of_another_kind_is_not_recorded() {
        let no_sub = post_authentication(json!({"email": "erin@example.org"}), false);
        assert!(
            sign_in_event(&no_sub, Utc::now())
                .unwrap_err()
                .contains("sub")
        );
        let not_an_id = post_authentication(json!({"sub": "../../etc"}), false);
        assert!(sign_in_event(&not_an_id, Utc::now()).is_err());
        assert!(sign_in_event(&json!({"Records": []}), Utc::now()).is_err());
    }
}
