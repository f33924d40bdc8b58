//! Following an alert file across rotation. (Placeholder of the API; being written.)

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ossec_alerts::Format;

use crate::{Arrival, Position};

/// A followed file.
pub struct FileSource {
    /// Name.
    pub name: Arc<str>,
    /// Path.
    pub path: PathBuf,
    /// Format.
    pub format: Option<Format>,
    /// Rotated globs.
    pub rotated: Vec<String>,
    /// Poll interval.
    pub poll: Duration,
    /// Quiet period.
    pub quiet: Duration,
    /// Batch.
    pub max_batch: usize,
}

impl FileSource {
    /// Defaults.
    pub fn new(name: Arc<str>, path: PathBuf) -> FileSource {
        FileSource {
            name,
            path,
            format: None,
            rotated: Vec::new(),
            poll: Duration::from_millis(20),
            quiet: Duration::from_millis(50),
            max_batch: 5000,
        }
    }
}

/// Follows.
pub async fn follow(
    _source: FileSource,
    _start: Option<Position>,
    _tx: tokio::sync::mpsc::Sender<Arrival>,
) -> std::io::Result<()> {
    Ok(())
}
