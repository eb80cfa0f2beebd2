//! `ferry`: Ferry from the command line and from scripts. See the README's "Command line".

mod api;
mod auth;
mod digest;
mod dirs;
mod failure;
mod login;
mod progress;
mod receive;
mod resume;
mod send;
mod show;
mod throttle;
mod upload;
mod watch;

use api::Api;
use auth::{ClientCredentials, Portal, TokenSource};
use clap::{Parser, Subcommand};
use failure::Failure;
use progress::Progress;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Send documents through a Ferry portal"
)]
struct Cli {
    /// The portal's URL (where its web pages are).
    #[arg(long, env = "FERRY_URL", global = true)]
    url: Option<String>,
    /// Print results as JSON on stdout, for programs; no progress is shown.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign in with your browser; the tokens are kept in your config directory (0600) for the
    /// other commands. Scripts use FERRY_CLIENT_ID and FERRY_CLIENT_SECRET instead.
    Login {
        /// The port of the loopback address the browser returns to (0: any free one).
        #[arg(long, default_value_t = 53682)]
        port: u16,
    },
    /// Forget the tokens `ferry login` kept.
    Logout,
    /// Send files to recipients; prints the transfer id. Run the same command again to resume
    /// an interrupted upload.
    Send {
        #[command(flatten)]
        addressing: Addressing,
        /// How long the recipients have: hours (`48`, `48h`) or days (`7d`); at most 30 days.
        #[arg(long, value_parser = parse_expiry)]
        expires: Option<u64>,
        /// Wait until the server has checked every document; exit 4 if one was rejected.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        pace: Pace,
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Download the documents of an emailed access link into a directory, each checked
    /// against its MD5 and SHA-256; prints the files written. Needs no credentials.
    Receive {
        /// The link from the email (`https://…/r/…`).
        link: String,
        /// Where the files go (created if missing; existing files are never overwritten).
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// The emailed code; without it, a code is requested and read from stdin.
        #[arg(long)]
        code: Option<String>,
        /// Confirm receipt once every file is verified: the documents are then purged.
        #[arg(long)]
        confirm: bool,
    },
    /// Send every file that appears in DIR once it has stopped growing, then move it to
    /// DIR/.sent/ or DIR/.failed/ (beside a .reason.txt). Files found together go as one
    /// transfer.
    Watch {
        dir: PathBuf,
        #[command(flatten)]
        addressing: Addressing,
        /// Seconds a file must keep its size and time to count as complete (and between looks).
        #[arg(long, default_value_t = 5)]
        settle: u64,
        /// Send what is there now and exit (for cron); exit 4 if a file failed.
        #[arg(long)]
        once: bool,
        #[command(flatten)]
        pace: Pace,
    },
    /// A transfer's status and its documents'.
    Status { transfer_id: String },
    /// Your sent transfers, or with --received those sent to you.
    List {
        #[arg(long)]
        received: bool,
    },
}

/// Who gets a transfer, and what their email says.
#[derive(clap::Args)]
struct Addressing {
    /// A recipient's email address (repeat for several).
    #[arg(long = "to", required = true, value_name = "EMAIL")]
    recipients: Vec<String>,
    /// The subject of the recipients' email (default: the files' names).
    #[arg(long)]
    subject: Option<String>,
    /// A message for the recipients.
    #[arg(long)]
    message: Option<String>,
}

/// How fast the bytes go.
#[derive(clap::Args)]
struct Pace {
    /// Parts sent at the same time.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    parallel: u16,
    /// At most this many bytes per second (`500K`, `8M`, `1G`).
    #[arg(long, value_parser = throttle::parse_rate)]
    limit_rate: Option<u64>,
}

fn parse_expiry(raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    let (number, hours_per_unit) = if let Some(days) = raw.strip_suffix('d') {
        (days, 24)
    } else {
        (raw.strip_suffix('h').unwrap_or(raw), 1)
    };
    let hours = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(hours_per_unit))
        .filter(|h| *h > 0)
        .ok_or_else(|| format!("'{raw}' is not a duration such as 48h or 7d"))?;
    Ok(hours)
}

fn required_env(name: &str) -> anyhow::Result<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Failure::Auth(format!(
                "{name} is not set: set FERRY_URL, FERRY_CLIENT_ID and FERRY_CLIENT_SECRET to \
                 the machine credentials an admin created for you"
            ))
            .into()
        })
}

fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .user_agent(concat!("ferry-cli/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .build()?)
}

/// Machine credentials from the environment when they are set, else the person who signed in
/// with `ferry login`.
async fn connect(url: Option<&str>) -> anyhow::Result<(Api, String)> {
    let http = http_client()?;
    if std::env::var_os("FERRY_CLIENT_ID").is_some() {
        let url = match url {
            Some(url) => url.to_owned(),
            None => required_env("FERRY_URL")?,
        };
        let credentials = ClientCredentials {
            id: required_env("FERRY_CLIENT_ID")?,
            secret: required_env("FERRY_CLIENT_SECRET")?,
        };
        let portal = Portal::discover(&http, &url).await?;
        let tokens = TokenSource::client_credentials(portal.token_endpoint, credentials);
        return Ok((Api::new(http, &portal.api_url, tokens), url));
    }
    let Some(login) = login::load() else {
        return Err(Failure::Auth(
            "not signed in: run `ferry login --url URL`, or set FERRY_URL, FERRY_CLIENT_ID and \
             FERRY_CLIENT_SECRET to machine credentials"
                .into(),
        )
        .into());
    };
    if let Some(url) = url
        && url.trim_end_matches('/') != login.url
    {
        return Err(Failure::Auth(format!(
            "signed in to {}, not {url}: run `ferry login --url {url}`",
            login.url
        ))
        .into());
    }
    let url = login.url.clone();
    let api_url = login.api_url.clone();
    let tokens = TokenSource::Login(std::sync::Mutex::new(login));
    Ok((Api::new(http, &api_url, tokens), url))
}

fn sender(api: &Api, pace: &Pace) -> upload::Sender {
    upload::Sender {
        http: api.http().clone(),
        throttle: pace
            .limit_rate
            .map(|rate| Arc::new(throttle::Throttle::new(rate))),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let progress = Progress::new(cli.json);
    let url = cli.url.as_deref();
    match cli.command {
        Command::Login { port } => {
            let url = url.map(str::to_owned).ok_or_else(|| {
                Failure::Refused("which portal? give --url URL or set FERRY_URL".into())
            })?;
            let signed_in = login::login(&http_client()?, &url, port).await?;
            if cli.json {
                return show::print_json(&serde_json::json!({ "url": signed_in.url }));
            }
            eprintln!("Signed in to {}.", signed_in.url);
            Ok(())
        }
        Command::Logout => {
            let forgotten = login::logout()?;
            if !cli.json {
                eprintln!(
                    "{}",
                    if forgotten {
                        "Signed out."
                    } else {
                        "Not signed in."
                    }
                );
            }
            Ok(())
        }
        Command::Receive {
            link,
            out,
            code,
            confirm,
        } => {
            let request = receive::ReceiveRequest {
                link,
                out,
                code,
                confirm,
            };
            let received = receive::receive(&http_client()?, &request, &progress).await?;
            if cli.json {
                return show::print_json(&serde_json::json!({
                    "transfer": received.transfer,
                    "files": received.files,
                }));
            }
            for file in &received.files {
                println!("{}", file.display());
            }
            Ok(())
        }
        Command::Send {
            addressing,
            expires,
            wait,
            pace,
            files,
        } => {
            let (api, portal_url) = connect(url).await?;
            let request = send::SendRequest {
                portal_url,
                recipients: addressing.recipients,
                subject: addressing.subject,
                message: addressing.message,
                expires_in_hours: expires,
                files,
                parallel: usize::from(pace.parallel),
            };
            let sender = sender(&api, &pace);
            let mut transfer = send::send(&api, &sender, &request, &progress).await?;
            if !cli.json {
                println!("{}", transfer.id);
            }
            if wait {
                progress.note("waiting for the server to check the documents");
                transfer = send::wait(&api, &transfer.id).await?;
            }
            if cli.json {
                show::print_json(&transfer)?;
            } else if wait {
                show::documents(&transfer, &progress);
            }
            if wait {
                send::verdict(&transfer)?;
            }
            Ok(())
        }
        Command::Watch {
            dir,
            addressing,
            settle,
            once,
            pace,
        } => {
            let (api, portal_url) = connect(url).await?;
            let request = watch::WatchRequest {
                dir,
                portal_url,
                recipients: addressing.recipients,
                subject: addressing.subject,
                message: addressing.message,
                parallel: usize::from(pace.parallel),
                settle: Duration::from_secs(settle),
                once,
            };
            let failed = watch::watch(&api, &sender(&api, &pace), &request, &progress).await?;
            if failed > 0 {
                return Err(Failure::Rejected(format!(
                    "{failed} file(s) failed: see {}",
                    request.dir.join(watch::FAILED).display()
                ))
                .into());
            }
            Ok(())
        }
        Command::Status { transfer_id } => {
            let (api, _) = connect(url).await?;
            let transfer = api.transfer(&transfer_id).await?;
            if cli.json {
                show::print_json(&transfer)
            } else {
                show::status(&transfer);
                Ok(())
            }
        }
        Command::List { received } => {
            let (api, _) = connect(url).await?;
            let transfers = api.list(received).await?;
            if cli.json {
                show::print_json(&transfers)
            } else {
                show::list(&transfers);
                Ok(())
            }
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ferry: {error:#}");
            failure::exit_code(&error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_are_hours_or_days() {
        assert_eq!(parse_expiry("48"), Ok(48));
        assert_eq!(parse_expiry("48h"), Ok(48));
        assert_eq!(parse_expiry("7d"), Ok(168));
        assert!(parse_expiry("0").is_err());
        assert!(parse_expiry("soon").is_err());
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
