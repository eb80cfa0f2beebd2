//! The functions' configuration: the environment variables the SAM template gives every
//! function (its `Globals`). Read once per cold start; a missing or malformed variable stops
//! the function at init with a message naming it.

use anyhow::{Context, bail};
use ferry_aws::sqs::QueueUrls;
use ferry_aws::textract::ExtractionMode;
use ferry_clamd::ClamdAddress;
use ferry_core::config::UserSource;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    /// The portal's origin: base of the emailed links.
    pub public_url: String,
    pub table: String,
    pub bucket: String,
    pub queues: QueueUrls,
    /// The queues' maxReceiveCount: on this receive a failing job is settled, not retried.
    pub max_receive_count: u32,
    pub oidc_issuer: String,
    pub oidc_audience: String,
    pub oidc_groups_claim: String,
    /// `directory` (the stack's user pool) or `token` (an outside issuer's claims).
    pub user_source: UserSource,
    /// Where the issuer's keys are, when not where its discovery document says.
    pub oidc_jwks_url: Option<String>,
    pub user_pool_id: String,
    /// The secret holding the key of Ferry's recipient tokens; only the API functions read it.
    pub token_secret_arn: Option<String>,
    pub sender_email: String,
    pub extraction_mode: ExtractionMode,
    /// How long the worker waits for a Textract job: below the function's timeout.
    pub textract_max_wait: Duration,
    /// clamd (`host:port` or a socket path), when documents are scanned for malware: the
    /// validating function's, through a clamd extension in its sandbox.
    pub clamd: Option<ClamdAddress>,
}

impl Environment {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let required = |name: &str| -> anyhow::Result<String> {
            match lookup(name) {
                Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
                _ => bail!("the environment variable {name} is not set"),
            }
        };
        let optional = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let number = |name: &str, default: u64| -> anyhow::Result<u64> {
            optional(name).map_or(Ok(default), |v| {
                v.trim()
                    .parse()
                    .with_context(|| format!("{name} must be a whole number, not '{v}'"))
            })
        };
        let max_receive_count = u32::try_from(number("MAX_RECEIVE_COUNT", 5)?)
            .ok()
            .filter(|n| *n >= 1)
            .context("MAX_RECEIVE_COUNT must be between 1 and 4294967295")?;
        let extraction_mode = optional("EXTRACTION_MODE")
            .map(|m| m.parse::<ExtractionMode>())
            .transpose()
            .map_err(|e| anyhow::anyhow!("EXTRACTION_MODE: {e}"))?
            .unwrap_or_default();
        let user_source = match optional("USER_SOURCE").as_deref().map(str::trim) {
            None | Some("directory") => UserSource::Directory,
            Some("token") => UserSource::Token,
            Some(other) => bail!("USER_SOURCE must be directory or token, not '{other}'"),
        };
        Ok(Self {
            public_url: required("PUBLIC_URL")?.trim_end_matches('/').to_owned(),
            table: required("TABLE_NAME")?,
            bucket: required("BUCKET_NAME")?,
            queues: QueueUrls {
                validate: required("VALIDATE_QUEUE_URL")?,
                extract: required("EXTRACT_QUEUE_URL")?,
                notify: required("NOTIFY_QUEUE_URL")?,
                deliver: required("DELIVER_QUEUE_URL")?,
            },
            max_receive_count,
            oidc_issuer: required("OIDC_ISSUER")?,
            oidc_audience: required("OIDC_AUDIENCE")?,
            oidc_groups_claim: optional("OIDC_GROUPS_CLAIM").unwrap_or_else(|| "groups".into()),
            user_source,
            oidc_jwks_url: optional("OIDC_JWKS_URL"),
            user_pool_id: required("USER_POOL_ID")?,
            token_secret_arn: optional("TOKEN_SECRET_ARN"),
            sender_email: required("SENDER_EMAIL")?,
            extraction_mode,
            textract_max_wait: Duration::from_secs(number("TEXTRACT_MAX_WAIT_SECONDS", 240)?),
            clamd: optional("FERRY_CLAMD")
                .map(|a| a.parse())
                .transpose()
                .map_err(|e| anyhow::anyhow!("FERRY_CLAMD: {e}"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn complete() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("PUBLIC_URL", "https://ferry.example.com/"),
            ("TABLE_NAME", "ferry"),
            ("BUCKET_NAME", "docs"),
            ("VALIDATE_QUEUE_URL", "https://sqs/validate"),
            ("EXTRACT_QUEUE_URL", "https://sqs/extract"),
            ("NOTIFY_QUEUE_URL", "https://sqs/notify"),
            ("DELIVER_QUEUE_URL", "https://sqs/deliver"),
            (
                "OIDC_ISSUER",
                "https://cognito-idp.eu-west-1.amazonaws.com/pool",
            ),
            ("OIDC_AUDIENCE", "client"),
            ("OIDC_GROUPS_CLAIM", "cognito:groups"),
            ("USER_POOL_ID", "eu-west-1_pool"),
            ("SENDER_EMAIL", "ferry@example.com"),
            ("EXTRACTION_MODE", "native"),
        ])
    }

    fn read(vars: &HashMap<&str, &str>) -> anyhow::Result<Environment> {
        Environment::from_lookup(|name| vars.get(name).map(|v| v.to_string()))
    }

    #[test]
    fn reads_the_templates_variables_with_defaults() {
        let env = read(&complete()).unwrap();
        assert_eq!(env.public_url, "https://ferry.example.com");
        assert_eq!(env.queues.notify, "https://sqs/notify");
        assert_eq!(env.max_receive_count, 5);
        assert_eq!(env.extraction_mode, ExtractionMode::Native);
        assert_eq!(env.oidc_groups_claim, "cognito:groups");
        assert_eq!(env.token_secret_arn, None);
        assert_eq!(env.textract_max_wait, Duration::from_secs(240));
        assert_eq!(env.user_source, UserSource::Directory);
        assert_eq!(env.clamd, None);
    }

    #[test]
    fn names_what_is_missing_or_malformed() {
        let mut vars = complete();
        vars.remove("TABLE_NAME");
        let error = read(&vars).unwrap_err().to_string();
        assert!(error.contains("TABLE_NAME"), "{error}");

        let mut vars = complete();
        vars.insert("MAX_RECEIVE_COUNT", "five");
        let error = read(&vars).unwrap_err().to_string();
        assert!(error.contains("MAX_RECEIVE_COUNT"), "{error}");

        let mut vars = complete();
        vars.insert("MAX_RECEIVE_COUNT", "0");
        assert!(read(&vars).is_err());

        let mut vars = complete();
        vars.insert("USER_SOURCE", "token");
        assert_eq!(read(&vars).unwrap().user_source, UserSource::Token);
        vars.insert("USER_SOURCE", "ldap");
        assert!(read(&vars).unwrap_err().to_string().contains("USER_SOURCE"));

        let mut vars = complete();
        vars.insert("FERRY_CLAMD", "");
        assert_eq!(read(&vars).unwrap().clamd, None, "empty: no scan");
        vars.insert("FERRY_CLAMD", "127.0.0.1:3310");
        assert_eq!(
            read(&vars).unwrap().clamd,
            Some(ClamdAddress::Tcp("127.0.0.1:3310".into()))
        );
        vars.insert("FERRY_CLAMD", "clamd");
        let error = read(&vars).unwrap_err().to_string();
        assert!(error.contains("FERRY_CLAMD"), "{error}");

        let mut vars = complete();
        vars.insert("EXTRACTION_MODE", "sometimes");
        let error = read(&vars).unwrap_err().to_string();
        assert!(error.contains("EXTRACTION_MODE"), "{error}");
    }
}
