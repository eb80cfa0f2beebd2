//! The composition root of ferry-local: picks the embedded adapters, wires them to the core's
//! services, and serves the API, the identity provider, the storage endpoint and the outbox.

use crate::catalog::SqliteCatalog;
use crate::clients::LocalClients;
use crate::db::Db;
use crate::idp::LocalIdp;
use crate::inbox::LocalInbox;
use crate::outbox::Outbox;
use crate::portal::PortalConfig;
use crate::queue::SqliteQueue;
use crate::storage::{self, DiskObjectStore};
use crate::users::LocalUsers;
use anyhow::Context;
use axum::Router;
use ferry_core::auth::jwks::JwksCache;
use ferry_core::auth::oidc::{MACHINE_SCOPE, OidcConfig, OidcVerifier};
use ferry_core::auth::recipient::RecipientTokens;
use ferry_core::config::Settings;
use ferry_core::extract::ExtractLimits;
use ferry_core::limits::{InProcessLimits, RateLimiter, RateLimits};
use ferry_core::native::NativeExtractor;
use ferry_core::ports::{
    Catalog, Inbox, Mailer, NewUser, ObjectStore, SystemClock, TextExtractor, UserDirectory,
    WorkQueue,
};
use ferry_core::services::Ferry;
use ferry_core::services::Ports;
use ferry_core::validation::TypePolicy;
use ferry_core::values::{EmailAddress, Role};
use ferry_delivery::{HttpDeliverer, TargetPolicy};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tower_http::trace::TraceLayer;

/// The public OIDC client of the web portal.
pub const WEB_CLIENT_ID: &str = crate::idp::CLIENT_ID;

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "ferry-local",
    version,
    about = "The whole Ferry portal on one machine"
)]
pub struct Options {
    /// Address to listen on.
    #[arg(long, env = "FERRY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where documents, metadata, keys and the mail outbox are kept.
    #[arg(long, env = "FERRY_DATA_DIR", default_value = "./ferry-data")]
    pub data_dir: PathBuf,
    /// The URL people use to reach the portal (links in emails); default http://{listen}.
    #[arg(long, env = "FERRY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Let deliveries reach private and loopback addresses over plain HTTP. For local testing
    /// only: it turns off the guard against requests into your own network.
    #[arg(long, env = "FERRY_ALLOW_PRIVATE_TARGETS")]
    pub allow_private_targets: bool,
    /// Allowed document types, comma-separated (e.g. pdf,png,jpeg,text,csv,docx).
    #[arg(long, env = "FERRY_ALLOWED_TYPES")]
    pub allowed_types: Option<String>,
    /// Largest file accepted, in bytes (default 5 GiB).
    #[arg(long, env = "FERRY_MAX_FILE_BYTES")]
    pub max_file_bytes: Option<u64>,
    /// Largest transfer accepted, in bytes (default 20 GiB).
    #[arg(long, env = "FERRY_MAX_TRANSFER_BYTES")]
    pub max_transfer_bytes: Option<u64>,
    /// Background workers for validation, extraction, email and deliveries; 0 pauses them
    /// (uploads are still acknowledged and queued).
    #[arg(long, env = "FERRY_WORKERS", default_value_t = 4)]
    pub workers: usize,
    /// Seconds between sweeps for expired transfers.
    #[arg(long, env = "FERRY_SWEEP_SECONDS", default_value_t = 60)]
    pub sweep_seconds: u64,
    /// Where documents, metadata and jobs live: `local` (the data dir) or `aws` (S3, DynamoDB,
    /// SQS and SES, configured by the SDK's environment: AWS_ENDPOINT_URL, AWS_REGION and
    /// credentials). Sign-in and users stay ferry-local's either way.
    #[arg(long, env = "FERRY_BACKEND", value_enum, default_value_t = Backend::Local)]
    pub backend: Backend,
    /// With `--backend aws`: create the bucket, table and queues when missing.
    #[arg(long, env = "FERRY_CREATE_RESOURCES")]
    pub create_resources: bool,
    /// With `--backend aws`: the prefix of every resource name.
    #[arg(long, env = "FERRY_AWS_PREFIX", default_value = "ferry-local")]
    pub aws_prefix: String,
    /// With `--backend aws`: the From address of emails, an identity verified in SES.
    #[arg(
        long,
        env = "FERRY_SENDER_EMAIL",
        default_value = "no-reply@ferry.localhost"
    )]
    pub sender_email: String,
    /// Rate limits other than the defaults, per client address and per account:
    /// `ACTION=COUNT/PERIOD,...` with the actions sign-in, request-code, verify-code,
    /// create-transfer and download (defaults 20/min, 20/min, 30/min, 60/min, 600/min).
    #[arg(long, env = "FERRY_RATE_LIMITS", default_value = "")]
    pub rate_limits: String,
    /// The built web portal (`frontend/dist`), served at `/`.
    #[arg(long, env = "FERRY_WEB_DIR", default_value_os_t = crate::portal::default_web_dir())]
    pub web_dir: PathBuf,
    /// Scan each document that passes validation with ClamAV's clamd, at `host:port` or a Unix
    /// socket path; an infected one is rejected as `malware`. Off by default.
    #[arg(long, env = "FERRY_CLAMD", value_name = "ADDR")]
    pub clamd: Option<ferry_clamd::ClamdAddress>,
    /// Without a command, ferry-local serves the portal.
    #[command(subcommand)]
    pub command: Option<crate::admin_cli::Command>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Local,
    Aws,
}

/// The adapters behind the ports that differ between backends, the routes that only the
/// embedded ones need, and how their jobs are run.
pub(crate) struct Adapters {
    pub store: Arc<dyn ObjectStore>,
    pub inbox: Arc<dyn Inbox>,
    /// Where users put files for their drop folders, as `Settings::drop_folder_location`.
    pub drop_folder_location: String,
    pub catalog: Arc<dyn Catalog>,
    pub queue: Arc<dyn WorkQueue>,
    pub mailer: Arc<dyn Mailer>,
    pub extractor: Arc<dyn TextExtractor>,
    pub routes: Router,
    pub jobs: Box<dyn JobRunner>,
    /// Where the store's presigned URLs point when that is not this origin.
    pub storage_origin: Option<String>,
}

/// Runs the background jobs until `stopped` turns true, then finishes those in progress.
pub(crate) trait JobRunner: Send {
    fn start(
        self: Box<Self>,
        ferry: Arc<Ferry>,
        workers: usize,
        sweep_every: Duration,
        stopped: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()>;
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    if let Some(command) = &options.command {
        return crate::admin_cli::run(command, &options.data_dir).await;
    }
    let public_url = options
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", options.listen))
        .trim_end_matches('/')
        .to_owned();
    let data_dir = prepare_data_dir(&options.data_dir)?;
    let db = Db::open(&data_dir.join("ferry.db"))?;

    let users = Arc::new(LocalUsers::new(db.clone())?);
    let clients = Arc::new(LocalClients::new(db.clone())?);
    let first_admin = ensure_first_admin(&users).await?;
    let adapters = match options.backend {
        Backend::Local => local_adapters(&data_dir, &db, &public_url)?,
        Backend::Aws => aws_adapters(&options, &public_url).await?,
    };
    let deliverer = Arc::new(HttpDeliverer::new(TargetPolicy {
        allow_private: options.allow_private_targets,
        ..TargetPolicy::default()
    })?);
    let limiter: Arc<dyn RateLimiter> = Arc::new(InProcessLimits::new(
        &RateLimits::default()
            .with_overrides(&options.rate_limits)
            .map_err(|e| anyhow::anyhow!("--rate-limits: {e}"))?,
    ));
    let issuer = format!("{public_url}/oidc");
    let idp = Arc::new(
        LocalIdp::new(
            issuer.clone(),
            public_url.clone(),
            &data_dir,
            users.clone(),
            clients.clone(),
        )?
        .with_rate_limiter(limiter.clone())
        .with_audit(adapters.catalog.clone()),
    );

    let mut settings = Settings::new(public_url.clone());
    if let Some(types) = &options.allowed_types {
        settings.types =
            TypePolicy::parse(types).map_err(|e| anyhow::anyhow!("--allowed-types: {e}"))?;
    }
    if let Some(max) = options.max_file_bytes {
        settings.limits.max_file_bytes = max;
    }
    if let Some(max) = options.max_transfer_bytes {
        settings.limits.max_transfer_bytes = max;
    }
    let recipient_key = storage::load_or_create_signing_key(&data_dir.join("recipient-token.key"))?;
    let recipient_tokens = RecipientTokens::new(&recipient_key, settings.recipient_token_ttl);
    let oidc = OidcVerifier::new(
        OidcConfig {
            issuer: issuer.clone(),
            audience: WEB_CLIENT_ID.into(),
            groups_claim: "groups".into(),
            machine_scope: Some(MACHINE_SCOPE.into()),
            ..OidcConfig::default()
        },
        Arc::new(JwksCache::new(idp.jwks_fetcher(), Duration::from_secs(30))),
    );
    settings.drop_folder_location = adapters.drop_folder_location.clone();
    let ports = Ports {
        store: adapters.store,
        inbox: adapters.inbox,
        catalog: adapters.catalog,
        queue: adapters.queue,
        mailer: adapters.mailer,
        users: users.clone(),
        clients,
        extractor: adapters.extractor,
        deliverer,
        clock: Arc::new(SystemClock),
    };
    let mut ferry = Ferry::new(ports, settings, recipient_tokens, oidc).with_rate_limiter(limiter);
    if let Some(address) = &options.clamd {
        let clamd = ferry_clamd::ClamdScanner::new(address.clone());
        // Not fatal: until clamd answers, documents wait in the queue and are retried.
        let probe = clamd.clone();
        tokio::spawn(async move {
            if let Err(e) = probe.ping().await {
                tracing::warn!(error = %e, address = %probe.address(), "clamd does not answer yet");
            }
        });
        ferry = ferry.with_malware_scanner(Arc::new(clamd));
    }
    let ferry = Arc::new(ferry);

    let https = public_url.starts_with("https://");
    let portal_config = PortalConfig {
        public_url: public_url.clone(),
        issuer: issuer.clone(),
        client_id: WEB_CLIENT_ID.into(),
        account_url: Some(format!("{issuer}/account")),
        dev_mail_url: (options.backend == Backend::Local).then(|| "/_dev/mail".to_owned()),
        storage_origin: adapters.storage_origin,
    };
    let app = Router::new()
        .merge(ferry_api::router(ferry.clone()))
        .merge(idp.clone().router())
        .merge(adapters.routes)
        .merge(crate::portal::router(&options.web_dir, &portal_config))
        .layer(axum::middleware::map_response(move |response| {
            crate::portal::with_baseline_headers(https, response)
        }))
        .layer(TraceLayer::new_for_http().make_span_with(request_span));

    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("listening on {}", options.listen))?;
    let (stop, stopped) = watch::channel(false);
    let jobs = adapters.jobs.start(
        ferry.clone(),
        options.workers,
        Duration::from_secs(options.sweep_seconds.max(1)),
        stopped,
    );

    println!("Ferry is running at {public_url}/");
    println!("  API:         {public_url}/api/v1/health");
    match options.backend {
        Backend::Local => println!("  mail outbox: {public_url}/_dev/mail"),
        Backend::Aws => println!(
            "  backend:     AWS, resources named {}-*",
            options.aws_prefix
        ),
    }
    println!("  OIDC issuer: {issuer}");
    println!("  data dir:    {}", data_dir.display());
    if let Some((email, password)) = first_admin {
        println!(
            "  first admin: {email} with password {password}  (shown once; change it or keep it safe)"
        );
    }

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving HTTP")?;
    tracing::info!("shutting down: finishing the jobs in progress");
    let _ = stop.send(true);
    let _ = jobs.await;
    Ok(())
}

fn local_adapters(data_dir: &Path, db: &Db, public_url: &str) -> anyhow::Result<Adapters> {
    let queue = SqliteQueue::new(db.clone())?;
    let store_key = storage::load_or_create_signing_key(&data_dir.join("storage-signing.key"))?;
    let store = Arc::new(DiskObjectStore::new(
        data_dir.join("objects"),
        public_url.to_owned(),
        store_key,
        queue.clone(),
    )?);
    let inbox_root = data_dir.join("inbox");
    let inbox = Arc::new(LocalInbox::new(inbox_root.clone(), store.clone())?);
    let outbox = Arc::new(Outbox::new(
        data_dir.join("outbox"),
        "Ferry <no-reply@ferry.localhost>".into(),
    )?);
    Ok(Adapters {
        store: store.clone(),
        inbox,
        drop_folder_location: inbox_root.display().to_string(),
        catalog: Arc::new(SqliteCatalog::new(db.clone())?),
        queue: queue.clone(),
        mailer: outbox.clone(),
        extractor: Arc::new(
            NativeExtractor::new(store.clone(), ExtractLimits::default())
                .with_spool_dir(fresh_spool_dir(data_dir)?),
        ),
        routes: Router::new()
            .merge(storage::router(store.clone()))
            .merge(crate::outbox::router(outbox)),
        jobs: Box::new(LocalJobs {
            queue,
            store,
            inbox_root,
        }),
        storage_origin: None,
    })
}

struct LocalJobs {
    queue: Arc<SqliteQueue>,
    store: Arc<DiskObjectStore>,
    inbox_root: PathBuf,
}

/// How often the drop folders are looked at; a file is announced once unchanged this long.
const DROP_FOLDER_SCAN: Duration = Duration::from_secs(1);

impl JobRunner for LocalJobs {
    fn start(
        self: Box<Self>,
        ferry: Arc<Ferry>,
        workers: usize,
        sweep_every: Duration,
        stopped: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let (handling, abandoning) = (ferry.clone(), ferry.clone());
        let queue = self.queue.clone().run(
            workers,
            move |job| {
                let ferry = handling.clone();
                async move { ferry.handle_job(&job).await.map_err(anyhow::Error::from) }
            },
            move |job| {
                let ferry = abandoning.clone();
                async move { ferry.abandon_job(&job).await.map_err(anyhow::Error::from) }
            },
            stopped.clone(),
        );
        let drop_folders = crate::inbox::watch_drop_folders(
            self.inbox_root,
            self.queue.clone(),
            DROP_FOLDER_SCAN,
            stopped.clone(),
        );
        let sweeper = sweep(ferry, Some(self.store), sweep_every, stopped);
        tokio::spawn(async move {
            tokio::join!(queue, drop_folders, sweeper);
        })
    }
}

#[cfg(feature = "aws")]
async fn aws_adapters(options: &Options, public_url: &str) -> anyhow::Result<Adapters> {
    crate::aws::adapters(options, public_url).await
}

#[cfg(not(feature = "aws"))]
async fn aws_adapters(_: &Options, _: &str) -> anyhow::Result<Adapters> {
    anyhow::bail!(
        "this ferry-local was built without AWS support: build it with `--features aws` to use --backend aws"
    )
}

fn prepare_data_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the data dir {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", dir.display()))?;
    }
    dir.canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))
}

/// Copies of documents being read; whatever a crash left there is removed at start.
fn fresh_spool_dir(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = data_dir.join("spool");
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("emptying {}", dir.display())),
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// On an empty directory, the first admin comes from FERRY_ADMIN_EMAIL / FERRY_ADMIN_PASSWORD,
/// or gets a generated password that is printed once.
async fn ensure_first_admin(users: &LocalUsers) -> anyhow::Result<Option<(String, String)>> {
    if !users.list().await?.is_empty() {
        return Ok(None);
    }
    let email =
        std::env::var("FERRY_ADMIN_EMAIL").unwrap_or_else(|_| "admin@ferry.localhost".into());
    let email =
        EmailAddress::parse(&email).map_err(|e| anyhow::anyhow!("FERRY_ADMIN_EMAIL: {e}"))?;
    let (password, generated) = match std::env::var("FERRY_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (generate_password(), true),
    };
    users
        .create(NewUser {
            email: email.clone(),
            name: "Administrator".into(),
            roles: vec![Role::Admin, Role::Member],
            password: Some(password.clone()),
        })
        .await
        .map_err(|e| anyhow::anyhow!("creating the first admin: {e}"))?;
    tracing::info!(email = %email, "created the first admin");
    Ok(generated.then(|| (email.to_string(), password)))
}

fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Ends expired transfers; with the embedded store, also removes abandoned uploads (S3's
/// lifecycle rule does that on AWS).
pub(crate) async fn sweep(
    ferry: Arc<Ferry>,
    store: Option<Arc<DiskObjectStore>>,
    every: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.changed() => return,
        }
        match ferry.sweep_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "expired transfers purged"),
            Err(e) => tracing::error!(error = %e, "the expiry sweep failed"),
        }
        // Like the S3 lifecycle rule, a backstop: a live transfer's uploads go with its purge,
        // so only those outliving any transfer (plus a day) are orphans.
        let Some(store) = &store else { continue };
        let orphaned_after = (ferry.settings.limits.max_expiry_hours + 24).unsigned_abs() * 3600;
        if let Err(e) = store
            .delete_incomplete_uploads_older_than(Duration::from_secs(orphaned_after))
            .await
        {
            tracing::error!(error = %e, "cleaning up incomplete uploads failed");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// The route's template, never the URI: paths and queries carry link tokens, storage
/// signatures and authorization codes.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("(no route)", |m| m.as_str());
    tracing::info_span!("request", method = %request.method(), route)
}
