//! UC2's door: a link holder asks for an emailed code and trades link + code for a recipient
//! token scoped to one transfer. Wrong codes count per recipient; five lock the link for a while.

use super::{Ferry, Step};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::RecipientGrant;
use crate::error::{Error, Result};
use crate::ids::TransferId;
use crate::limits::Action;
use crate::model::{CodeChallenge, Recipient, RecipientStatus, Transfer};
use crate::ports::OutgoingMail;
use crate::tokens;
use crate::values::EmailAddress;
use chrono::{DateTime, Duration, Utc};

#[derive(Debug)]
pub struct AccessGrant {
    pub access_token: String,
    pub transfer_id: TransferId,
    pub expires_in: i64,
}

const INVALID_LINK: &str =
    "this link is not valid: it may have expired, or the transfer may have ended";

impl Ferry {
    async fn resolve_link(&self, link_token: &str) -> Result<(TransferId, EmailAddress, String)> {
        if !tokens::is_link_token(link_token) {
            return Err(Error::invalid("link_token: not a Ferry access link token"));
        }
        let link_hash = tokens::hash_secret(link_token, "link");
        let (tid, email) = self
            .ports
            .catalog
            .find_link(&link_hash)
            .await?
            .ok_or_else(|| Error::NotFound(INVALID_LINK.into()))?;
        Ok((tid, email, link_hash))
    }

    /// The recipient a link belongs to, while the transfer is open, the link is current and
    /// not locked.
    fn link_holder<'a>(
        t: &'a mut Transfer,
        email: &EmailAddress,
        link_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<&'a mut Recipient> {
        if t.status.is_final() || t.is_expired(now) {
            return Err(Error::Gone(
                "this transfer has ended and its documents were deleted".into(),
            ));
        }
        let r = t
            .recipient_mut(email)
            .ok_or_else(|| Error::NotFound(INVALID_LINK.into()))?;
        if r.link_hash.as_deref() != Some(link_hash) {
            return Err(Error::NotFound(INVALID_LINK.into()));
        }
        Self::locked(r.locked_until, now)?;
        Ok(r)
    }

    fn locked(until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<()> {
        match until {
            Some(until) if until > now => Err(Error::TooManyRequests {
                detail: "too many wrong codes: this link is locked for a while".into(),
                retry_after: (until - now).to_std().unwrap_or_default(),
            }),
            _ => Ok(()),
        }
    }

    /// Emails a fresh 6-digit code to the link's recipient.
    pub async fn request_code(&self, link_token: &str, source_ip: Option<String>) -> Result<()> {
        self.limit(Action::RequestCode, source_ip.as_deref(), None)?;
        let (tid, email, link_hash) = self.resolve_link(link_token).await?;
        // Per inbox too: one person's links, however many, cannot be used to flood it.
        self.limit(Action::RequestCode, None, Some(email.as_str()))?;
        let now = self.now();
        let code = tokens::new_code();
        let code_hash = tokens::hash_secret(&code, &link_hash);
        let settings = &self.settings;
        let (transfer, sent_count) = self
            .update(tid, |t| {
                let r = Self::link_holder(t, &email, &link_hash, now)?;
                r.codes_sent.retain(|at| *at > now - Duration::hours(1));
                if r.codes_sent.len() >= settings.max_codes_per_hour {
                    let oldest = r.codes_sent.iter().min().copied().unwrap_or(now);
                    return Err(Error::TooManyRequests {
                        detail: "too many codes were requested for this link; try again later"
                            .into(),
                        retry_after: (oldest + Duration::hours(1) - now)
                            .to_std()
                            .unwrap_or_default(),
                    });
                }
                r.codes_sent.push(now);
                r.challenge = Some(CodeChallenge {
                    code_hash: code_hash.clone(),
                    expires_at: now + settings.code_ttl,
                });
                Ok(Step::Save(r.codes_sent.len()))
            })
            .await?;
        let minutes = settings.code_ttl.num_minutes();
        self.ports
            .mailer
            .send(&OutgoingMail {
                to: email.clone(),
                subject: format!("Your Ferry code: {code}"),
                text: format!(
                    "Your code to open the documents \"{subject}\" from {sender} is:\n\n    {code}\n\nIt works for {minutes} minutes. If you did not ask for it, ignore this email.\n",
                    subject = transfer.subject,
                    sender = transfer.sender.email,
                ),
                idempotency_key: format!("code:{tid}:{email}:{}:{sent_count}", now.timestamp()),
            })
            .await?;
        self.audit(
            AuditEvent::new(
                format!("recipient:{email}"),
                "access.code_sent",
                Outcome::Success,
                now,
            )
            .transfer(tid)
            .source_ip(source_ip),
        )
        .await;
        Ok(())
    }

    /// Trades link + code for a recipient token.
    pub async fn verify_code(
        &self,
        link_token: &str,
        code: &str,
        source_ip: Option<String>,
    ) -> Result<AccessGrant> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid("code: the 6-digit code from the email"));
        }
        self.limit(Action::VerifyCode, source_ip.as_deref(), None)?;
        let (tid, email, link_hash) = self.resolve_link(link_token).await?;
        self.limit(Action::VerifyCode, None, Some(email.as_str()))?;
        let now = self.now();
        let offered = tokens::hash_secret(code, &link_hash);
        let settings = &self.settings;
        let (_, result) = self
            .update(tid, |t| {
                let r = Self::link_holder(t, &email, &link_hash, now)?;
                let Some(challenge) = r.challenge.clone().filter(|c| c.expires_at > now) else {
                    return Err(Error::Conflict("no valid code: request a new one".into()));
                };
                if tokens::hashes_match(&challenge.code_hash, &offered) {
                    r.challenge = None;
                    r.failed_attempts = 0;
                    r.locked_until = None;
                    if r.status == RecipientStatus::Notified {
                        r.status = RecipientStatus::Verified;
                        r.verified_at = Some(now);
                    }
                    return Ok(Step::Save(Ok(())));
                }
                r.failed_attempts += 1;
                if r.failed_attempts >= settings.max_code_attempts {
                    r.failed_attempts = 0;
                    r.challenge = None;
                    r.locked_until = Some(now + settings.lockout);
                    return Ok(Step::Save(Err(None)));
                }
                Ok(Step::Save(Err(Some(
                    settings.max_code_attempts - r.failed_attempts,
                ))))
            })
            .await?;
        let actor = format!("recipient:{email}");
        match result {
            Ok(()) => {
                let grant = RecipientGrant {
                    transfer_id: tid,
                    email,
                };
                let access_token = self.recipient_tokens.issue(&grant, now)?;
                self.audit(
                    AuditEvent::new(actor, "access.verified", Outcome::Success, now)
                        .transfer(tid)
                        .source_ip(source_ip),
                )
                .await;
                Ok(AccessGrant {
                    access_token,
                    transfer_id: tid,
                    expires_in: self.recipient_tokens.ttl().num_seconds(),
                })
            }
            Err(left) => {
                self.audit(
                    AuditEvent::new(actor, "access.code_rejected", Outcome::Denied, now)
                        .transfer(tid)
                        .detail(if left.is_none() {
                            "link locked"
                        } else {
                            "wrong code"
                        })
                        .source_ip(source_ip),
                )
                .await;
                match left {
                    Some(left) => Err(Error::Unauthenticated(format!(
                        "wrong code: {left} attempt{} left before the link is locked",
                        if left == 1 { "" } else { "s" }
                    ))),
                    None => Err(Self::locked(Some(now + settings.lockout), now)
                        .err()
                        .unwrap_or_else(|| {
                            Error::Unauthenticated("wrong code: the link is locked".into())
                        })),
                }
            }
        }
    }
}
