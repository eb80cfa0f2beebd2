//! The composition root on AWS: the adapters of ferry-aws behind the ports, configured from
//! the [`Environment`] and the standard SDK configuration (region, credentials and, for an
//! emulator, `AWS_ENDPOINT_URL`).

use crate::environment::Environment;
use crate::jwks::HttpJwksFetcher;
use anyhow::{Context, ensure};
use aws_config::{BehaviorVersion, SdkConfig};
use ferry_aws::cognito::CognitoDirectory;
use ferry_aws::dynamodb::DynamoCatalog;
use ferry_aws::s3::S3ObjectStore;
use ferry_aws::s3_inbox::S3Inbox;
use ferry_aws::ses::SesMailer;
use ferry_aws::sqs::SqsWorkQueue;
use ferry_aws::textract::{CostAwareExtractor, TextractSettings};
use ferry_clamd::ClamdScanner;
use ferry_core::auth::jwks::JwksCache;
use ferry_core::auth::oidc::{MACHINE_SCOPE, OidcConfig, OidcVerifier};
use ferry_core::auth::recipient::RecipientTokens;
use ferry_core::cached_users::CachedUsers;
use ferry_core::config::{Settings, UserSource};
use ferry_core::ports::{ObjectStore, SystemClock};
use ferry_core::services::{Ferry, Ports};
use ferry_delivery::{HttpDeliverer, TargetPolicy};
use rand::RngCore;
use std::sync::Arc;
use std::time::Duration;

/// The issuer's keys are re-read at most this often, unless a token names an unknown key.
const JWKS_TTL: Duration = Duration::from_secs(3600);
/// How long a function reuses what the user pool said of a caller: the bound within which a
/// user disabled or deleted by another function loses access.
const USER_CACHE_TTL: Duration = Duration::from_secs(30);

/// What a function does, which decides whether it needs the recipient token key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// API routes that recipients call with Ferry's own tokens.
    Api,
    /// The administrators' routes: issuer tokens only.
    AdminApi,
    Worker,
}

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

pub async fn ferry(env: &Environment, sdk: &SdkConfig, role: Role) -> anyhow::Result<Arc<Ferry>> {
    let s3 = ferry_aws::s3::client(sdk);
    let store: Arc<dyn ObjectStore> = Arc::new(S3ObjectStore::new(s3.clone(), &env.bucket));
    let directory = Arc::new(CognitoDirectory::new(
        aws_sdk_cognitoidentityprovider::Client::new(sdk),
        &env.user_pool_id,
    ));
    let ports = Ports {
        store: store.clone(),
        inbox: Arc::new(S3Inbox::new(s3, &env.bucket)),
        catalog: Arc::new(DynamoCatalog::new(
            aws_sdk_dynamodb::Client::new(sdk),
            &env.table,
        )),
        queue: Arc::new(SqsWorkQueue::new(
            aws_sdk_sqs::Client::new(sdk),
            env.queues.clone(),
        )),
        mailer: Arc::new(SesMailer::new(
            aws_sdk_sesv2::Client::new(sdk),
            format!("Ferry <{}>", env.sender_email),
        )),
        users: Arc::new(CachedUsers::new(directory.clone(), USER_CACHE_TTL)),
        clients: directory,
        extractor: Arc::new(CostAwareExtractor::on_aws(
            env.extraction_mode,
            store.clone(),
            sdk,
            &env.bucket,
            TextractSettings {
                max_wait: env.textract_max_wait,
                ..TextractSettings::default()
            },
        )),
        deliverer: Arc::new(HttpDeliverer::new(TargetPolicy::default())?),
        clock: Arc::new(SystemClock),
    };
    let mut settings = Settings::new(env.public_url.clone());
    settings.users = env.user_source;
    settings.drop_folder_location = format!("s3://{}/inbox", env.bucket);
    let jwks = Arc::new(JwksCache::new(
        Arc::new(HttpJwksFetcher::new(
            &env.oidc_issuer,
            env.oidc_jwks_url.clone(),
        )?),
        JWKS_TTL,
    ));
    let key = async {
        match role {
            Role::Api => recipient_token_key(env, sdk).await,
            // These neither issue nor accept recipient tokens: a key nobody else has makes any
            // such token worthless to them, and they need no right to read the real one.
            Role::AdminApi | Role::Worker => {
                let mut key = vec![0; 32];
                rand::thread_rng().fill_bytes(&mut key);
                Ok(key)
            }
        }
    };
    // The issuer's keys while the function starts, beside the secret: the first request then
    // waits for neither. Workers verify no tokens.
    let prefetch = async {
        if role != Role::Worker
            && let Err(e) = jwks.prefetch().await
        {
            tracing::warn!(
                error = format!("{e:#}"),
                "fetching the issuer's keys at start failed; the first token will ask again"
            );
        }
    };
    let (key, ()) = tokio::join!(key, prefetch);
    let recipient_tokens = RecipientTokens::new(&key?, settings.recipient_token_ttl);
    let oidc = OidcVerifier::new(
        OidcConfig {
            issuer: env.oidc_issuer.clone(),
            audience: env.oidc_audience.clone(),
            groups_claim: env.oidc_groups_claim.clone(),
            // Machine clients are app clients of the stack's own user pool.
            machine_scope: (env.user_source == UserSource::Directory)
                .then(|| MACHINE_SCOPE.to_owned()),
            ..OidcConfig::default()
        },
        jwks,
    );
    let mut ferry = Ferry::new(ports, settings, recipient_tokens, oidc);
    if let Some(address) = &env.clamd {
        ferry = ferry.with_malware_scanner(Arc::new(ClamdScanner::new(address.clone())));
    }
    Ok(Arc::new(ferry))
}

/// The key that signs recipient tokens, from Secrets Manager: every API function must share it.
async fn recipient_token_key(env: &Environment, sdk: &SdkConfig) -> anyhow::Result<Vec<u8>> {
    let arn = env
        .token_secret_arn
        .as_deref()
        .context("the environment variable TOKEN_SECRET_ARN is not set")?;
    let secret = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .context("reading the recipient token key from Secrets Manager")?;
    let key = secret
        .secret_string()
        .map(|s| s.as_bytes().to_vec())
        .or_else(|| secret.secret_binary().map(|b| b.as_ref().to_vec()))
        .context("the recipient token secret has no value")?;
    ensure!(
        key.len() >= 32,
        "the recipient token key must be at least 32 bytes long"
    );
    Ok(key)
}
