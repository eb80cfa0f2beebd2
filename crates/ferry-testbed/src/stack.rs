//! A fresh Ferry stack in moto: the resources the template creates, and the environment the
//! template gives the functions.

use crate::issuer::{AUDIENCE, TestIssuer};

use ferry_aws::provision::{self, Plan};
use ferry_moto::{cognito_client, moto, s3_client, sdk_config, unique};
use std::collections::BTreeMap;

pub const PORTAL: &str = "https://ferry.example.com";
pub const SENDER: &str = "no-reply@ferry.example.com";

pub struct Stack {
    pub vars: BTreeMap<String, String>,
    pub bucket: String,
}

impl Stack {
    pub async fn create(issuer: &TestIssuer) -> Self {
        let sdk = sdk_config().await;
        let prefix = unique("ferry");
        let plan = Plan {
            prefix: prefix.clone(),
            portal_origin: PORTAL.into(),
            sender_email: SENDER.into(),
        };
        let resources = provision::create_resources(&sdk, &s3_client().await, &plan)
            .await
            .unwrap();
        let token_secret_arn = provision::token_secret(&sdk, &format!("{prefix}-token-key"))
            .await
            .unwrap();
        let cognito = cognito_client().await;
        let user_pool_id =
            ferry_aws::cognito::create_user_pool(&cognito, &format!("{prefix}-users"))
                .await
                .unwrap();
        let endpoint = &moto().endpoint;
        let vars = [
            ("PUBLIC_URL", PORTAL.to_owned()),
            ("TABLE_NAME", resources.table),
            ("BUCKET_NAME", resources.bucket.clone()),
            ("VALIDATE_QUEUE_URL", resources.queues.validate),
            ("EXTRACT_QUEUE_URL", resources.queues.extract),
            ("NOTIFY_QUEUE_URL", resources.queues.notify),
            ("DELIVER_QUEUE_URL", resources.queues.deliver),
            ("MAX_RECEIVE_COUNT", "5".to_owned()),
            ("OIDC_ISSUER", issuer.issuer.clone()),
            ("OIDC_JWKS_URL", issuer.jwks_url.clone()),
            ("OIDC_AUDIENCE", AUDIENCE.to_owned()),
            ("OIDC_GROUPS_CLAIM", "groups".to_owned()),
            ("USER_POOL_ID", user_pool_id.clone()),
            ("TOKEN_SECRET_ARN", token_secret_arn),
            ("SENDER_EMAIL", SENDER.to_owned()),
            // moto's Textract answers `DocumentMetadata.Pages` as an object, which the SDK
            // refuses to parse; Textract's side is tested on recorded responses instead.
            ("EXTRACTION_MODE", "native".to_owned()),
            ("RUST_LOG", "info".to_owned()),
            ("AWS_ENDPOINT_URL", endpoint.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Self {
            vars,
            bucket: resources.bucket,
        }
    }
}
