//! Machine clients as Cognito app clients of the user pool: each has its own secret (Cognito's),
//! the client-credentials flow and the scope `ferry/transfers` of the pool's resource server.
//! The owner is written into the client's name, `ferry.{owner sub}.{name}`, so the pool is the
//! one record of who a client acts for.

use crate::cognito::{CognitoDirectory, directory_error};
use anyhow::{Context, anyhow};
use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{
    OAuthFlowType, TimeUnitsType, TokenValidityUnitsType, UserPoolClientType,
};
use chrono::{DateTime, Utc};
use ferry_core::auth::oidc::MACHINE_SCOPE;
use ferry_core::ids::UserId;
use ferry_core::model::MachineClient;
use ferry_core::ports::{DirectoryError, IssuedClient, MachineClients};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const NAME_PREFIX: &str = "ferry.";
/// Minutes: long enough for a nightly job's calls, short enough to bound a deleted client.
const ACCESS_TOKEN_MINUTES: i32 = 60;
/// A client's owner never changes; only its deletion matters, and that bound is this.
const SEEN_TTL: Duration = Duration::from_secs(60);
const SEEN_MAX: usize = 1_000;

/// Every API request of a machine client looks its client up: a minute of reuse keeps
/// DescribeUserPoolClient far below its quota.
#[derive(Default)]
pub(crate) struct SeenClients(Mutex<HashMap<String, (Instant, MachineClient)>>);

impl SeenClients {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, MachineClient)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, id: &str) -> Option<MachineClient> {
        self.lock()
            .get(id)
            .filter(|(at, _)| at.elapsed() < SEEN_TTL)
            .map(|(_, c)| c.clone())
    }

    fn remember(&self, client: &MachineClient) {
        let mut seen = self.lock();
        if seen.len() >= SEEN_MAX {
            seen.clear();
        }
        seen.insert(client.id.clone(), (Instant::now(), client.clone()));
    }

    fn forget(&self, id: &str) {
        self.lock().remove(id);
    }
}

fn client_name(owner: &UserId, name: &str) -> String {
    format!("{NAME_PREFIX}{owner}.{name}")
}

/// `None` for the pool's other clients (the web portal's): they are not machine clients.
fn parse_client_name(full: &str) -> Option<(UserId, &str)> {
    let rest = full.strip_prefix(NAME_PREFIX)?;
    let (owner, name) = rest.split_once('.')?;
    Some((UserId::parse(owner)?, name))
}

fn timestamp(t: Option<&aws_sdk_cognitoidentityprovider::primitives::DateTime>) -> DateTime<Utc> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
        .unwrap_or_default()
}

fn machine_client(c: &UserPoolClientType) -> Option<MachineClient> {
    let (owner, name) = parse_client_name(c.client_name()?)?;
    Some(MachineClient {
        id: c.client_id()?.to_owned(),
        name: name.to_owned(),
        owner,
        created_at: timestamp(c.creation_date()),
    })
}

fn is_not_found<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ResourceNotFoundException")
}

#[async_trait]
impl MachineClients for CognitoDirectory {
    async fn create(&self, owner: &UserId, name: &str) -> Result<IssuedClient, DirectoryError> {
        let created = self
            .client
            .create_user_pool_client()
            .user_pool_id(&self.user_pool_id)
            .client_name(client_name(owner, name))
            .generate_secret(true)
            .allowed_o_auth_flows_user_pool_client(true)
            .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
            .allowed_o_auth_scopes(MACHINE_SCOPE)
            .access_token_validity(ACCESS_TOKEN_MINUTES)
            .token_validity_units(
                TokenValidityUnitsType::builder()
                    .access_token(TimeUnitsType::Minutes)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| directory_error(e.into_service_error(), "creating an app client"))?;
        let pool_client = created
            .user_pool_client()
            .ok_or_else(|| anyhow!("Cognito returned no app client"))?;
        let client = machine_client(pool_client)
            .ok_or_else(|| anyhow!("Cognito returned an app client without id or name"))?;
        let secret = pool_client
            .client_secret()
            .ok_or_else(|| anyhow!("Cognito returned no client secret"))?
            .to_owned();
        Ok(IssuedClient { client, secret })
    }

    async fn get(&self, id: &str) -> anyhow::Result<Option<MachineClient>> {
        if let Some(client) = self.clients_seen.get(id) {
            return Ok(Some(client));
        }
        let described = match self
            .client
            .describe_user_pool_client()
            .user_pool_id(&self.user_pool_id)
            .client_id(id)
            .send()
            .await
        {
            Ok(described) => described,
            Err(e) => {
                let e = e.into_service_error();
                if is_not_found(&e) {
                    return Ok(None);
                }
                return Err(anyhow::Error::new(e).context("describing an app client"));
            }
        };
        let client = described.user_pool_client().and_then(machine_client);
        if let Some(client) = &client {
            self.clients_seen.remember(client);
        }
        Ok(client)
    }

    async fn list(&self) -> anyhow::Result<Vec<MachineClient>> {
        let mut ids = Vec::new();
        let mut pages = self
            .client
            .list_user_pool_clients()
            .user_pool_id(&self.user_pool_id)
            .max_results(self.page_size)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.context("listing app clients")?;
            ids.extend(
                page.user_pool_clients()
                    .iter()
                    .filter(|c| c.client_name().and_then(parse_client_name).is_some())
                    .filter_map(|c| c.client_id().map(str::to_owned)),
            );
        }
        // The listing has no creation dates; an admin's page of clients is short.
        let mut clients = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(client) = self.get(&id).await? {
                clients.push(client);
            }
        }
        clients.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(clients)
    }

    async fn delete(&self, id: &str) -> Result<(), DirectoryError> {
        self.clients_seen.forget(id);
        self.client
            .delete_user_pool_client()
            .user_pool_id(&self.user_pool_id)
            .client_id(id)
            .send()
            .await
            .map_err(|e| {
                let e = e.into_service_error();
                if is_not_found(&e) {
                    DirectoryError::NotFound
                } else {
                    directory_error(e, "deleting an app client")
                }
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_is_read_back_from_the_client_name() {
        let owner = UserId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").unwrap();
        let full = client_name(&owner, "nightly export.v2");
        assert_eq!(parse_client_name(&full), Some((owner, "nightly export.v2")));
        assert_eq!(parse_client_name("ferry-web"), None);
        assert_eq!(parse_client_name("ferry.bad id.x"), None);
    }
}
