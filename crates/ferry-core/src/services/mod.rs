//! Application services: the use cases, written once over the ports and run unchanged by
//! ferry-local and by the Lambda functions.

pub mod abandon;
pub mod access;
pub mod admin;
pub mod authorize;
pub mod clients;
pub mod deliveries;
pub mod drop_folder;
mod ingest;
pub mod pipeline;
pub mod purge;
pub mod session;
pub mod speed_test;
pub mod transfers;

use crate::audit::AuditEvent;
use crate::auth::oidc::OidcVerifier;
use crate::auth::recipient::RecipientTokens;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::ids::TransferId;
use crate::limits::{Action, RateLimiter, Subject};
use crate::model::Transfer;
use crate::ports::{
    Catalog, Clock, Deliverer, Inbox, MachineClients, Mailer, ObjectStore, SaveError,
    TextExtractor, UserDirectory, WorkQueue,
};
use crate::scan::MalwareScanner;
use std::sync::Arc;

/// Everything the services reach outside the process, chosen by a composition root.
#[derive(Clone)]
pub struct Ports {
    pub store: Arc<dyn ObjectStore>,
    /// The drop folders, beside the documents (the same bucket in AWS).
    pub inbox: Arc<dyn Inbox>,
    pub catalog: Arc<dyn Catalog>,
    pub queue: Arc<dyn WorkQueue>,
    pub mailer: Arc<dyn Mailer>,
    pub users: Arc<dyn UserDirectory>,
    pub clients: Arc<dyn MachineClients>,
    pub extractor: Arc<dyn TextExtractor>,
    pub deliverer: Arc<dyn Deliverer>,
    pub clock: Arc<dyn Clock>,
}

pub struct Ferry {
    pub ports: Ports,
    pub settings: Settings,
    pub recipient_tokens: RecipientTokens,
    pub oidc: OidcVerifier,
    /// Counts repeated attempts; none where the platform in front limits them (AWS).
    limiter: Option<Arc<dyn RateLimiter>>,
    /// Scans each document that passed validation; none where no scanner is configured.
    malware_scanner: Option<Arc<dyn MalwareScanner>>,
}

/// Whether an update changed the transfer (and so must be saved).
pub enum Step<T> {
    Save(T),
    Keep(T),
}

/// Optimistic concurrency retries before giving up; contention is per transfer, so a handful
/// is plenty.
const MAX_SAVE_ATTEMPTS: usize = 16;

impl Ferry {
    pub fn new(
        ports: Ports,
        settings: Settings,
        recipient_tokens: RecipientTokens,
        oidc: OidcVerifier,
    ) -> Self {
        Self {
            ports,
            settings,
            recipient_tokens,
            oidc,
            limiter: None,
            malware_scanner: None,
        }
    }

    /// Turns on the malware scan of uploaded documents.
    pub fn with_malware_scanner(mut self, scanner: Arc<dyn MalwareScanner>) -> Self {
        self.malware_scanner = Some(scanner);
        self
    }

    pub fn with_rate_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Counts one attempt of `action` by the client's address and, when known, the account.
    pub(crate) fn limit(
        &self,
        action: Action,
        source_ip: Option<&str>,
        account: Option<&str>,
    ) -> Result<()> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if let Some(ip) = source_ip {
            limiter.check(action, Subject::Ip(ip))?;
        }
        if let Some(account) = account {
            limiter.check(action, Subject::Account(account))?;
        }
        Ok(())
    }

    pub(crate) async fn load(&self, id: TransferId) -> Result<Transfer> {
        self.ports
            .catalog
            .get_transfer(id)
            .await?
            .ok_or_else(|| Error::not_found("transfer"))
    }

    /// Reads the transfer, applies `change`, and saves it over the version read; on a
    /// concurrent save it reads again and re-applies, so every change is computed from the
    /// state it replaces.
    pub(crate) async fn update<T>(
        &self,
        id: TransferId,
        mut change: impl FnMut(&mut Transfer) -> Result<Step<T>>,
    ) -> Result<(Transfer, T)> {
        for _ in 0..MAX_SAVE_ATTEMPTS {
            let mut transfer = self.load(id).await?;
            match change(&mut transfer)? {
                Step::Keep(value) => return Ok((transfer, value)),
                Step::Save(value) => match self.ports.catalog.save_transfer(&transfer).await {
                    Ok(()) => {
                        transfer.version += 1;
                        return Ok((transfer, value));
                    }
                    Err(SaveError::Conflict) => continue,
                    Err(SaveError::Other(e)) => return Err(e.into()),
                },
            }
        }
        Err(anyhow::anyhow!("transfer {id} kept changing under concurrent updates").into())
    }

    /// Audit writes must not be lost silently, but an audit failure after the state change
    /// is done must not report the change as failed either: it is logged loudly instead.
    pub(crate) async fn audit(&self, event: AuditEvent) {
        if let Err(e) = self.ports.catalog.append_audit(&event).await {
            tracing::error!(error = %e, action = %event.action, "failed to write an audit event");
        }
    }

    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.ports.clock.now()
    }
}

#[cfg(test)]
mod tests;
