//! The `[ossec]` table of ctpd's configuration file: the window, the sources, the routes,
//! and what `ctpd ossec setup` creates. See docs/ossec.md for an example.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// The OSSEC/Wazuh feed's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OssecConfig {
    /// Seconds of alerts a result holds (default 3600).
    #[serde(default = "default_window")]
    pub window: f64,
    /// Most rows a result holds; the newest are kept (default 500).
    #[serde(default = "default_max_rows")]
    pub max_rows: usize,
    /// Whether `POST {base}ossec/alerts` (Wazuh's integrator) is served.
    #[serde(default)]
    pub intake: bool,
    /// Where `ctpd ossec setup` puts the measurements (and where routes without a
    /// `measurement` id find theirs).
    #[serde(default)]
    pub setup: SetupConfig,
    /// Alert files to follow.
    #[serde(default)]
    pub file: Vec<FileSourceConfig>,
    /// Syslog receivers.
    #[serde(default)]
    pub syslog: Vec<SyslogSourceConfig>,
    /// Routes from alerts to measurements, first match wins.
    #[serde(default)]
    pub route: Vec<RouteConfig>,
}

fn default_window() -> f64 {
    3600.0
}

fn default_max_rows() -> usize {
    500
}

/// Names of the resources `ctpd ossec setup` creates (or finds, when they exist).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupConfig {
    /// The service view (default `Intrusion detection`).
    #[serde(default = "default_view")]
    pub service_view: String,
    /// The provider named by the service view.
    #[serde(default)]
    pub provider: String,
    /// The asset (default `OSSEC/Wazuh manager`).
    #[serde(default = "default_asset")]
    pub asset: String,
    /// The attribute holding the measurements (default `intrusion alerts`).
    #[serde(default = "default_attribute")]
    pub attribute: String,
    /// Access tags of the service view (and so of everything below it); customers whose
    /// account tags hold one of them see the measurements.
    #[serde(default)]
    pub access_tags: Vec<String>,
    /// An objective given to each new measurement (CTPScript), for example
    /// `select("level", value).max() < 10`.
    #[serde(default)]
    pub objective: Option<String>,
}

fn default_view() -> String {
    "Intrusion detection".into()
}

fn default_asset() -> String {
    "OSSEC/Wazuh manager".into()
}

fn default_attribute() -> String {
    "intrusion alerts".into()
}

impl Default for SetupConfig {
    fn default() -> Self {
        SetupConfig {
            service_view: default_view(),
            provider: String::new(),
            asset: default_asset(),
            attribute: default_attribute(),
            access_tags: Vec::new(),
            objective: None,
        }
    }
}

/// An alert file the manager writes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// The source's name (letters, digits, `-` and `_`): its metrics label and the key of
    /// its stored position.
    pub name: String,
    /// The file, e.g. `/var/ossec/logs/alerts/alerts.json`.
    pub path: PathBuf,
    /// `auto` (default), `alerts-log` or `alerts-json`.
    #[serde(default)]
    pub format: Option<String>,
    /// Where the manager moves rotated files (glob patterns); default: its daily folders.
    #[serde(default)]
    pub rotated: Vec<String>,
    /// Milliseconds between two looks at an idle file (default 20).
    #[serde(default)]
    pub poll_ms: Option<u64>,
}

/// A syslog receiver for managers configured with `<syslog_output>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogSourceConfig {
    /// The source's name.
    pub name: String,
    /// UDP address to listen on.
    #[serde(default)]
    pub udp: Option<SocketAddr>,
    /// TCP address to listen on.
    #[serde(default)]
    pub tcp: Option<SocketAddr>,
    /// Senders allowed (addresses or CIDR networks); default: loopback only.
    #[serde(default)]
    pub allow: Vec<String>,
}

/// A route: alerts matching every criterion given go to its measurement. A route without
/// criteria matches every alert (a default route, last).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The route's name: the measurement's name under the setup's attribute.
    pub name: String,
    /// The measurement's id, for a route to a measurement made otherwise than by setup.
    #[serde(default)]
    pub measurement: Option<String>,
    /// Glob on the agent's name.
    #[serde(default)]
    pub agent: Option<String>,
    /// Glob on the location.
    #[serde(default)]
    pub location: Option<String>,
    /// Glob matched against each of the alert's groups (one matching is enough).
    #[serde(default)]
    pub groups: Option<String>,
    /// Glob on the rule id (as decimal text: `57*`, `5710`).
    #[serde(default)]
    pub rule: Option<String>,
    /// Lowest level routed.
    #[serde(default)]
    pub min_level: Option<u32>,
}

impl OssecConfig {
    /// Checks what serde cannot: names, the window, duplicates.
    pub fn check(&self) -> Result<(), String> {
        if !(self.window.is_finite() && self.window > 0.0) {
            return Err(format!("ossec.window must be a positive number of seconds, got {}", self.window));
        }
        if self.max_rows == 0 {
            return Err("ossec.max_rows must be at least 1".into());
        }
        let mut names = std::collections::BTreeSet::new();
        let sources = self.file.iter().map(|f| &f.name).chain(self.syslog.iter().map(|s| &s.name));
        for name in sources {
            let valid = !name.is_empty()
                && name.len() <= 64
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                return Err(format!("source name {name:?}: use 1 to 64 letters, digits, '-' and '_'"));
            }
            if !names.insert(name.clone()) {
                return Err(format!("two sources are named {name:?}"));
            }
            if name == super::INTAKE_SOURCE {
                return Err(format!("source name {name:?} is the HTTP intake's"));
            }
        }
        for file in &self.file {
            if let Some(format) = &file.format {
                if format != "auto" && ossec_alerts::Format::from_name(format).is_none() {
                    return Err(format!("ossec.file {:?}: format must be auto, alerts-log or alerts-json", file.name));
                }
            }
        }
        for syslog in &self.syslog {
            if syslog.udp.is_none() && syslog.tcp.is_none() {
                return Err(format!("ossec.syslog {:?} has neither udp nor tcp", syslog.name));
            }
        }
        let mut routes = std::collections::BTreeSet::new();
        for route in &self.route {
            if route.name.trim().is_empty() || !routes.insert(route.name.clone()) {
                return Err(format!("route names must be given and differ: {:?}", route.name));
            }
        }
        Ok(())
    }
}
