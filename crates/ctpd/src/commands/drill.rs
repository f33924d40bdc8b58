//! `ctpd drill`: starts a drill on a running server and reads drill reports, over the
//! back-office API (`POST {base}serviceViews/{id}/drills`, `GET {base}drills[/{id}]`) with
//! an administrator's token.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::Value;

/// The server and the administrator's token.
#[derive(Debug, Args)]
pub struct Server {
    /// The API's base URL (`{CtpBase}`), e.g. http://127.0.0.1:8080/api/1.0/.
    #[arg(long, env = "CTPD_URL", default_value = "http://127.0.0.1:8080/api/1.0/")]
    url: String,
    /// An administrator's bearer token (better given in the environment than on the command
    /// line, where other users of the machine can read it).
    #[arg(long, env = "CTPD_TOKEN", hide_env_values = true)]
    token: String,
    /// Print the JSON the server returned instead of a summary.
    #[arg(long)]
    json: bool,
}

/// What `ctpd drill` does.
#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// Start a drill: every trigger of the service view with a notification gets a message
    /// marked as a drill through its real channel. Exit status 0 when every message was
    /// delivered (with --wait), 1 otherwise.
    Start {
        /// The service view's id (or its URL); an id may start with `-`.
        #[arg(allow_hyphen_values = true)]
        view: String,
        /// Why the drill is run, kept in its record.
        #[arg(long, default_value = "")]
        annotation: String,
        /// Seconds to wait for every message to be delivered (or to fail) before printing
        /// the report; 0 prints it at once.
        #[arg(long, default_value_t = 60)]
        wait: u64,
        #[command(flatten)]
        server: Server,
    },
    /// Print a drill's report (its id or URL).
    Show {
        /// The drill's id or URL; an id may start with `-`.
        #[arg(allow_hyphen_values = true)]
        drill: String,
        #[command(flatten)]
        server: Server,
    },
    /// List the drills with their outcome, oldest first.
    List {
        #[command(flatten)]
        server: Server,
    },
}

/// Runs a `ctpd drill` command; returns the exit status.
pub fn run(command: &DrillCommand) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        match command {
            DrillCommand::Start { view, annotation, wait, server } => start(server, view, annotation, *wait).await,
            DrillCommand::Show { drill, server } => {
                let report = Api::new(server)?.get(&format!("drills/{}", last_segment(drill))).await?;
                print_report(server, &report);
                Ok(exit_status(&report))
            }
            DrillCommand::List { server } => {
                let list = Api::new(server)?.get("drills").await?;
                if server.json {
                    println!("{list}");
                } else {
                    for drill in list["collection"].as_array().into_iter().flatten() {
                        println!("{}", one_line(drill));
                    }
                }
                Ok(0)
            }
        }
    })
}

async fn start(server: &Server, view: &str, annotation: &str, wait: u64) -> anyhow::Result<u8> {
    let api = Api::new(server)?;
    let body = serde_json::json!({ "annotation": annotation });
    let mut report = api.post(&format!("serviceViews/{}/drills", last_segment(view)), &body).await?;
    let link = report["self"].as_str().context("the server's answer has no drill link")?.to_owned();
    let deadline = Instant::now() + Duration::from_secs(wait);
    while report["outcome"] == "pending" && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        report = api.get_url(&link).await?;
    }
    print_report(server, &report);
    Ok(exit_status(&report))
}

fn exit_status(report: &Value) -> u8 {
    u8::from(report["reachedEveryone"] != true)
}

fn last_segment(text: &str) -> &str {
    text.trim_end_matches('/').rsplit('/').next().unwrap_or(text)
}

fn one_line(drill: &Value) -> String {
    format!(
        "{}  {}  {}  {}/{} delivered, {} acknowledged  {}",
        drill["creationTime"].as_str().unwrap_or("?"),
        drill["self"].as_str().unwrap_or("?"),
        drill["outcome"].as_str().unwrap_or("?"),
        drill["delivered"],
        drill["messages"],
        drill["acknowledged"],
        drill["annotation"].as_str().unwrap_or(""),
    )
}

fn print_report(server: &Server, report: &Value) {
    if server.json {
        println!("{report}");
        return;
    }
    println!("{}", one_line(report));
    for message in report["deliveries"].as_array().into_iter().flatten() {
        let job = &message["job"];
        let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
        let seconds = |v: &Value| v.as_f64().map_or("-".to_owned(), |s| format!("{s:.3} s"));
        println!(
            "  {} ({}) via {} {}: {}, {} attempt(s), delivered after {}, acknowledged {}{}{}",
            text(&message["triggerName"]),
            text(&message["trigger"]),
            text(&job["channel"]),
            text(&job["notification"]),
            text(&job["state"]),
            job["attempts"],
            seconds(&message["deliveryLatencySeconds"]),
            match message["acknowledgeTime"].as_str() {
                Some(time) => format!("at {time} (after {})", seconds(&message["acknowledgeLatencySeconds"])),
                None => "not yet".to_owned(),
            },
            message["acknowledgedBy"].as_str().map(|by| format!(" by {by}")).unwrap_or_default(),
            job["lastError"].as_str().map(|e| format!("; last error: {e}")).unwrap_or_default(),
        );
    }
}

/// A minimal client of the back-office API.
struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(server: &Server) -> anyhow::Result<Api> {
        ctp_server::notify::install_crypto_provider();
        let base = if server.url.ends_with('/') { server.url.clone() } else { format!("{}/", server.url) };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("ctpd-drill/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Api { client, base, token: server.token.clone() })
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.get_url(&format!("{}{path}", self.base)).await
    }

    async fn get_url(&self, url: &str) -> anyhow::Result<Value> {
        Self::answer(self.client.get(url).bearer_auth(&self.token).send().await, url).await
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let request = self.client.post(&url).bearer_auth(&self.token).header("content-type", "application/json");
        Self::answer(request.body(body.to_string()).send().await, &url).await
    }

    async fn answer(sent: reqwest::Result<reqwest::Response>, url: &str) -> anyhow::Result<Value> {
        let response = sent.with_context(|| format!("cannot reach {url}"))?;
        let status = response.status();
        let text = response.text().await.with_context(|| format!("reading the answer of {url}"))?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() {
            let message = json["error"].as_str().map(str::to_owned).unwrap_or(text);
            bail!("{url}: {status}: {message}");
        }
        Ok(json)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: DrillCommand,
    }

    /// Ids are base64url: one may start with `-`, and must not be read as a flag.
    #[test]
    fn an_id_starting_with_a_hyphen_is_an_id() {
        let cli = Cli::try_parse_from(["drill", "start", "-GieloEHkOfyb5xZ", "--annotation", "q", "--token", "t"])
            .expect("parses");
        assert!(matches!(cli.command, DrillCommand::Start { ref view, .. } if view == "-GieloEHkOfyb5xZ"));
        let cli = Cli::try_parse_from(["drill", "show", "-x1", "--token", "t"]).expect("parses");
        assert!(matches!(cli.command, DrillCommand::Show { ref drill, .. } if drill == "-x1"));
    }
}
