//! Where OSSEC and Wazuh alerts come from, up to the point where they are parsed: files the
//! manager writes, followed across rotation ([`file`]), and csyslogd's messages received on
//! UDP and TCP ([`syslog`]). Each source parses what it reads with `ossec-alerts` and hands
//! batches ([`Arrival`]) to a channel; what happens to them next (routing, windows, the
//! store) is the server's business. This crate knows nothing of CTP, the store or HTTP.

pub mod file;
pub mod syslog;

use std::path::PathBuf;
use std::sync::Arc;

use ossec_alerts::Alert;

/// What a source read since its last arrival: alerts, records it skipped, and (for a file
/// source) where to resume once these alerts are stored.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// The source's name (from the configuration).
    pub source: Arc<str>,
    /// The alerts, in the order they were read.
    pub alerts: Vec<Alert>,
    /// The records that were not read, each with where and why.
    pub skipped: Vec<Skipped>,
    /// For a file source: the position just after everything in this arrival (and every
    /// earlier one). Stored in the same transaction as the results these alerts produce,
    /// it is where the source resumes after a restart: nothing lost, nothing read twice.
    pub position: Option<Position>,
}

/// A record a source could not turn into an alert. Never dropped silently: counted by
/// reason and logged with its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Where it came from: `path:line` for a file, `udp 192.0.2.1:514` or `tcp ...` for a
    /// syslog message.
    pub origin: String,
    /// Why, as a bounded set (a metric label).
    pub reason: SkipReason,
    /// Why, in words.
    pub detail: String,
}

/// Why a record was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// The parser could not read it (the detail says what was wrong).
    Unreadable,
    /// A line or message longer than the source's limit.
    TooLong,
    /// A syslog message from an address outside the source's allow list.
    NotAllowed,
}

impl SkipReason {
    /// The reason's name in metrics and logs: `unreadable`, `too_long`, `not_allowed`.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Unreadable => "unreadable",
            SkipReason::TooLong => "too_long",
            SkipReason::NotAllowed => "not_allowed",
        }
    }
}

/// Where a file source stands in the file it follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The file (the path the source follows, or a rotated copy it was finishing).
    pub path: PathBuf,
    /// What identifies the file's content, independent of its name and inode: an opaque
    /// string made by [`file`] from its first bytes.
    pub fingerprint: String,
    /// The byte offset of the first byte not yet handed over in an arrival.
    pub offset: u64,
    /// The line number (1-based) at `offset`, for messages about skipped records.
    pub line: u64,
}
