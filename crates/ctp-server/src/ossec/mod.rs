//! The OSSEC/Wazuh feed: intrusion alerts become CTP results. Alerts come from the sources
//! of `ossec-sources` (followed files, syslog receivers) and from the HTTP intake for
//! Wazuh's integrator (`routes/ossec.rs`); each is routed to a measurement
//! ([`routing`]), kept in that measurement's window ([`window`]), and every batch of changed
//! windows is pushed through the one push path ([`crate::push`]) together with the file
//! sources' positions, in one transaction ([`feed`]). [`setup`] creates the metric and
//! the measurements; [`config`] is the `[ossec]` table; [`counters`] what `/metrics` shows.

pub mod config;
pub mod counters;
pub mod feed;
pub mod routing;
pub mod setup;
pub mod window;

pub use config::OssecConfig;
pub use feed::{start, Feed, Started};

/// The source name of alerts posted to the HTTP intake.
pub const INTAKE_SOURCE: &str = "intake";
