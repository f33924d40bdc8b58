//! Following an alert file across rotation.
//!
//! A [`FileSource`] names the file the manager writes (`alerts.json`, `alerts.log`, or a
//! file of syslog lines); [`follow`] reads what is appended to it as it comes, parses it
//! with `ossec-alerts` and hands the alerts over in [`Arrival`]s, each with the
//! [`Position`] where to resume so that, after a restart, nothing is lost and nothing is
//! read twice.
//!
//! Only complete lines (ending in `\n`) are read; a partial last line waits for its end.
//! An `alerts.log` block is complete when the next `** Alert` line arrives or, since the
//! manager writes one block at a time, when no new data came for [`FileSource::quiet`].
//! Lines longer than 1 MiB are skipped ([`SkipReason::TooLong`]) without being kept;
//! invalid UTF-8 is read lossily, as `ctpd ossec parse` does.
//!
//! Rotation, while following:
//! - the path names another file (a rename: OSSEC and Wazuh move `alerts.json` to
//!   `logs/alerts/<YYYY>/<Mon>/ossec-alerts-<DD>.json` at midnight, logrotate renames it
//!   to `alerts.json.1`): the file still open is read to its end (its last `alerts.log`
//!   block finished), then the new file from its beginning;
//! - the file is shorter than what was read, or its first bytes changed (logrotate's
//!   `copytruncate`): it is read again from its beginning;
//! - no file at the path (between a rename and the manager creating the new file) is
//!   normal: the source keeps looking, quietly.
//!
//! After a restart, the file is recognised by its content (see [`fingerprint`]), not its
//! name or inode: when the file at the path is no longer the one the position was taken
//! in, the rotated copies ([`FileSource::rotated`], gzipped or not) are searched for it;
//! its rest is read first, then the current file from its beginning. A position in a
//! gzipped copy counts bytes of its decompressed content.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use chrono::Utc;
use flate2::read::MultiGzDecoder;
use ossec_alerts::{Alert, Context, Format, Parser, Record};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc::Sender;

use crate::{Arrival, Position, SkipReason, Skipped};

/// The longest line read (without its end of line), as in `ctpd ossec parse`.
const MAX_LINE: usize = 1 << 20;
/// How many first bytes of a file make its fingerprint.
const HEAD: usize = 1024;
/// How much is read at a time.
const CHUNK: usize = 64 * 1024;
/// At most this much is read before an arrival is handed over (bounds a step's time).
const STEP_BYTES: u64 = 8 << 20;

/// An alert file to follow, and how.
#[derive(Debug, Clone)]
pub struct FileSource {
    /// The source's name, copied into [`Arrival::source`].
    pub name: Arc<str>,
    /// The file the manager writes, e.g. `/var/ossec/logs/alerts/alerts.json`.
    pub path: PathBuf,
    /// The file's format; `None`: detected from the first non-empty line of each file.
    pub format: Option<Format>,
    /// Glob patterns of where rotated copies go, searched after a restart when the file at
    /// [`FileSource::path`] is no longer the one the position was taken in. Each pattern is
    /// also tried with `.gz` appended (unless it ends in `.gz` or `*`). Empty: the manager's daily
    /// folders `<dir>/*/*/ossec-alerts-*.<ext>` (for `<dir>/alerts.<ext>`), `<path>.1` and
    /// `<path>-*`.
    pub rotated: Vec<String>,
    /// How often to look for new data when there is none (default 20 ms).
    pub poll: Duration,
    /// `alerts.log`: how long without new data before the block still open is handed over
    /// (default 50 ms).
    pub quiet: Duration,
    /// At most this many records (alerts and skipped ones) per arrival (default 5000).
    pub max_batch: usize,
}

impl FileSource {
    /// A source named `name` following `path`, its format detected, with the default
    /// rotated copies, poll interval, quiet period and batch size.
    pub fn new(name: impl Into<Arc<str>>, path: impl Into<PathBuf>) -> FileSource {
        FileSource {
            name: name.into(),
            path: path.into(),
            format: None,
            rotated: Vec::new(),
            poll: Duration::from_millis(20),
            quiet: Duration::from_millis(50),
            max_batch: 5000,
        }
    }

    /// The glob patterns searched for rotated copies (see [`FileSource::rotated`]).
    pub fn rotated_patterns(&self) -> Vec<String> {
        let mut patterns = if self.rotated.is_empty() {
            let path = glob::Pattern::escape(&self.path.to_string_lossy());
            let dir = match self.path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => glob::Pattern::escape(&dir.to_string_lossy()),
                _ => ".".to_owned(),
            };
            let ext = self.path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
            vec![format!("{dir}/*/*/ossec-alerts-*{ext}"), format!("{path}.1"), format!("{path}-*")]
        } else {
            self.rotated.clone()
        };
        let gzipped: Vec<String> =
            patterns.iter().filter(|p| !p.ends_with(".gz") && !p.ends_with('*')).map(|p| format!("{p}.gz")).collect();
        patterns.extend(gzipped);
        patterns
    }
}

/// The fingerprint of a file's content, as in [`Position::fingerprint`]: the SHA-256 of its
/// first bytes (up to 1024), with the number of bytes used: `sha256-<n>:<hex>`. A file
/// that grows keeps being recognised: its first `n` bytes do not change. `None` for an
/// empty file. The bytes are read as they are (a gzipped file is not decompressed).
pub fn fingerprint(path: &Path) -> io::Result<Option<String>> {
    Ok(fingerprint_of(&head_of(File::open(path)?, HEAD)?))
}

/// Whether the file at `path` is the one `fingerprint` was made of (its first bytes are the
/// same; it may have grown since).
pub fn has_fingerprint(path: &Path, fingerprint: &str) -> io::Result<bool> {
    matches(File::open(path)?, fingerprint)
}

fn fingerprint_of(head: &[u8]) -> Option<String> {
    (!head.is_empty()).then(|| format!("sha256-{}:{}", head.len(), hex::encode(Sha256::digest(head))))
}

/// The number of bytes a fingerprint covers and its digest.
fn parse_fingerprint(fingerprint: &str) -> Option<(usize, &str)> {
    let (length, digest) = fingerprint.strip_prefix("sha256-")?.split_once(':')?;
    let length: usize = length.parse().ok()?;
    ((1..=HEAD).contains(&length) && digest.len() == 64).then_some((length, digest))
}

/// Whether the content read by `input` starts with the bytes `fingerprint` was made of.
fn matches(input: impl Read, fingerprint: &str) -> io::Result<bool> {
    let Some((length, digest)) = parse_fingerprint(fingerprint) else { return Ok(false) };
    let head = head_of(input, length)?;
    Ok(head.len() == length && hex::encode(Sha256::digest(&head)).eq_ignore_ascii_case(digest))
}

/// Up to `length` first bytes of `input`.
fn head_of(input: impl Read, length: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(length);
    input.take(length as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// Follows `source` until `tx` is closed, sending an [`Arrival`] whenever records were
/// completed or the position moved (waiting on `tx` when the receiver is behind).
///
/// Starts at `start` (a position from an earlier arrival, stored by the server), or at the
/// beginning of the current file when `None`. When the file at the path is no longer the
/// one `start` was taken in, the rest of its rotated copy is read first (a warning is
/// logged when no copy is found, and the current file is read from its beginning).
///
/// Returns `Ok(())` once `tx` is closed; an error when the file cannot be opened (other
/// than not existing, which is waited out) or read.
pub async fn follow(source: FileSource, start: Option<Position>, tx: Sender<Arrival>) -> io::Result<()> {
    let name = source.name.clone();
    let mut follower = Follower::new(source, start);
    let mut sent = follower.position_key();
    loop {
        if tx.is_closed() {
            return Ok(());
        }
        let step = tokio::task::spawn_blocking(move || {
            let mut batch = Batch::default();
            let outcome = follower.step(&mut batch).map(|idle| (idle, batch));
            (follower, outcome)
        });
        let (back, outcome) = match step.await {
            Ok(done) => done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => return Err(io::Error::other(e)),
        };
        follower = back;
        let (idle, batch) = outcome?;
        let key = follower.position_key();
        if !batch.is_empty() || key != sent {
            sent = key;
            let arrival = Arrival {
                source: name.clone(),
                alerts: batch.alerts,
                skipped: batch.skipped,
                position: follower.noted.as_ref().map(|(_, position)| position.clone()),
            };
            if tx.send(arrival).await.is_err() {
                return Ok(());
            }
        }
        if idle {
            tokio::select! {
                _ = tokio::time::sleep(follower.wait()) => {}
                _ = tx.closed() => return Ok(()),
            }
        }
    }
}

/// What one step read.
#[derive(Default)]
struct Batch {
    alerts: Vec<Alert>,
    skipped: Vec<Skipped>,
}

impl Batch {
    fn len(&self) -> usize {
        self.alerts.len() + self.skipped.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn skip(&mut self, path: &Path, line: u64, reason: SkipReason, detail: String) {
        self.skipped.push(Skipped { origin: format!("{}:{line}", path.display()), reason, detail });
    }
}

/// The follower's state between steps (each step runs on a blocking thread).
struct Follower {
    source: FileSource,
    /// Where to start, until the first step.
    start: Option<Position>,
    /// The file being read.
    current: Option<Open>,
    /// Counts the files opened (and truncations): with the offset, tells positions apart.
    epoch: u64,
    /// The last position known, with the epoch of its file.
    noted: Option<(u64, Position)>,
    /// Rotated copies newer than the one a restart resumed in, oldest first: read whole,
    /// before the current file (the manager rotated more than once while ctpd was down).
    backlog: std::collections::VecDeque<PathBuf>,
}

/// A change of the followed path seen while at the end of the open file.
enum Change {
    Same,
    Rotated,
    Truncated,
}

impl Follower {
    fn new(source: FileSource, start: Option<Position>) -> Follower {
        let noted = start.clone().map(|position| (0, position));
        Follower { source, start, current: None, epoch: 0, noted, backlog: Default::default() }
    }

    fn position_key(&self) -> Option<(u64, u64)> {
        self.noted.as_ref().map(|(epoch, position)| (*epoch, position.offset))
    }

    /// How long to wait before looking again.
    fn wait(&self) -> Duration {
        match &self.current {
            Some(open) if open.pending() => {
                let left = self.source.quiet.saturating_sub(open.last_data.elapsed());
                left.min(self.source.poll).max(Duration::from_millis(1))
            }
            _ => self.source.poll,
        }
    }

    fn note(&mut self) {
        if let Some(open) = &mut self.current {
            if let Some(position) = open.position() {
                self.noted = Some((open.epoch, position));
            }
        }
    }

    /// Reads until there is nothing more (returns `true`: wait before the next step) or the
    /// batch is full (`false`).
    fn step(&mut self, out: &mut Batch) -> io::Result<bool> {
        if let Some(start) = self.start.take() {
            self.resume(start)?;
        }
        let idle = self.read(out);
        self.note();
        idle
    }

    fn read(&mut self, out: &mut Batch) -> io::Result<bool> {
        let mut read = 0u64;
        loop {
            if out.len() >= self.source.max_batch {
                return Ok(false);
            }
            let Some(open) = &mut self.current else {
                if let Some(copy) = self.backlog.pop_front() {
                    match open_input(&copy) {
                        Ok(input) => {
                            tracing::info!(path = %copy.display(), "reading a rotated alert file written while ctpd was down");
                            self.epoch += 1;
                            self.current = Some(Open::new(input, copy, false, (0, 0), self.epoch, 0, 0, Vec::new()));
                        }
                        Err(e) => tracing::warn!(path = %copy.display(), "cannot read a rotated alert file: {e}"),
                    }
                    continue;
                }
                if self.open_current()? {
                    continue;
                }
                return Ok(true);
            };
            if open.next_line(out, self.source.format) {
                continue;
            }
            if read >= STEP_BYTES {
                return Ok(false);
            }
            if open.following && !open.draining && open.at_end {
                open.at_end = false;
                match open.check(&self.source.path) {
                    Change::Same => {}
                    Change::Rotated => {
                        tracing::debug!(path = %self.source.path.display(), "alert file rotated, reading the old one to its end");
                        open.draining = true;
                    }
                    Change::Truncated if !room_to_end(out, self.source.max_batch) => {
                        open.at_end = true;
                        return Ok(false);
                    }
                    Change::Truncated => {
                        tracing::info!(path = %self.source.path.display(), "alert file truncated, reading it again from its beginning");
                        open.end_of_file(out, self.source.format);
                        self.note();
                        let open = self.current.take().expect("a file is open");
                        let id = open.id;
                        let Input::Plain(mut file) = open.input else { unreachable!("a followed file is plain") };
                        file.seek(SeekFrom::Start(0))?;
                        self.epoch += 1;
                        let path = self.source.path.clone();
                        self.current =
                            Some(Open::new(Input::Plain(file), path, true, id, self.epoch, 0, 0, Vec::new()));
                        continue;
                    }
                }
            }
            let n = open.read_chunk()?;
            read += n as u64;
            if n > 0 {
                continue;
            }
            if !open.following || open.draining {
                if !room_to_end(out, self.source.max_batch) {
                    return Ok(false);
                }
                open.end_of_file(out, self.source.format);
                self.note();
                self.current = None;
                continue;
            }
            open.at_end = true;
            if open.pending() && open.last_data.elapsed() >= self.source.quiet {
                open.finish(out);
            }
            return Ok(true);
        }
    }

    /// Opens the file at the path, at its beginning; `false` when there is none.
    fn open_current(&mut self) -> io::Result<bool> {
        let file = match File::open(&self.source.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        self.epoch += 1;
        let path = self.source.path.clone();
        self.current =
            Some(Open::new(Input::Plain(file), path, true, (meta.dev(), meta.ino()), self.epoch, 0, 0, Vec::new()));
        Ok(true)
    }

    /// Finds the file `start` was taken in: the current one, or a rotated copy.
    fn resume(&mut self, start: Position) -> io::Result<()> {
        let line = start.line.saturating_sub(1);
        match File::open(&self.source.path) {
            Ok(mut file) => {
                let meta = file.metadata()?;
                if meta.len() >= start.offset && matches(&file, &start.fingerprint)? {
                    file.seek(SeekFrom::Start(start.offset))?;
                    let mut head = vec![0; start.offset.min(HEAD as u64) as usize];
                    file.read_exact_at(&mut head, 0)?;
                    let path = self.source.path.clone();
                    let id = (meta.dev(), meta.ino());
                    self.current = Some(Open::new(Input::Plain(file), path, true, id, 0, start.offset, line, head));
                    return Ok(());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        for candidate in self.candidates(&start) {
            let found = open_input(&candidate).and_then(|input| matches(input, &start.fingerprint));
            match found {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(path = %candidate.display(), "cannot read a rotated alert file: {e}");
                    continue;
                }
            }
            let mut input = open_input(&candidate)?;
            let (reached, head) = input.skip_to(start.offset)?;
            if reached < start.offset {
                tracing::warn!(
                    path = %candidate.display(),
                    "the rotated alert file is shorter ({reached} bytes) than the stored position ({}): reading on from its end",
                    start.offset
                );
            }
            tracing::info!(path = %candidate.display(), offset = reached, "resuming in a rotated alert file");
            self.backlog = self.newer_copies(&candidate, &start.fingerprint);
            self.current = Some(Open::new(input, candidate, false, (0, 0), 0, reached, line, head));
            return Ok(());
        }
        tracing::warn!(
            path = %self.source.path.display(),
            stored = %start.path.display(),
            offset = start.offset,
            "the alert file of the stored position was not found (neither at the path nor among the rotated \
             copies): reading the current file from its beginning"
        );
        Ok(())
    }

    /// The rotated copies modified after `resumed`, oldest first, each once (a copy and its
    /// gzipped twin have the same content: the first seen is kept), none with the content
    /// `fingerprint` of the resumed one.
    fn newer_copies(&self, resumed: &Path, fingerprint: &str) -> std::collections::VecDeque<PathBuf> {
        let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let Some(since) = modified(resumed) else { return Default::default() };
        let mut newer: Vec<(SystemTime, PathBuf)> = self
            .candidates(&Position { path: resumed.to_owned(), fingerprint: String::new(), offset: 0, line: 0 })
            .into_iter()
            .filter(|path| path != resumed)
            .filter_map(|path| modified(&path).filter(|m| *m > since).map(|m| (m, path)))
            .collect();
        newer.sort();
        let mut seen = Vec::new();
        let mut copies = std::collections::VecDeque::new();
        for (_, path) in newer {
            // The resumed file under another name (gzipped, say) is not read again.
            if open_input(&path).and_then(|input| matches(input, fingerprint)).unwrap_or(true) {
                continue;
            }
            let head = open_input(&path).and_then(|input| head_of(input, HEAD));
            let Some(print) = head.ok().as_deref().and_then(fingerprint_of) else { continue };
            if seen.contains(&print) {
                continue; // a copy and its gzipped twin: one of them
            }
            seen.push(print);
            copies.push_back(path);
        }
        copies
    }

    /// Where the file of `start` may be now: its own path (and gzipped), then the rotated
    /// copies, newest first (by modification time).
    fn candidates(&self, start: &Position) -> Vec<PathBuf> {
        let mut first = Vec::new();
        if start.path != self.source.path {
            first.push(start.path.clone());
        }
        let mut gz = start.path.clone().into_os_string();
        gz.push(".gz");
        first.push(PathBuf::from(gz));
        let mut globbed: Vec<(SystemTime, PathBuf)> = Vec::new();
        for pattern in self.source.rotated_patterns() {
            match glob::glob(&pattern) {
                Ok(paths) => {
                    for path in paths.flatten() {
                        let modified = std::fs::metadata(&path).and_then(|m| m.modified());
                        if let Ok(modified) = modified {
                            globbed.push((modified, path));
                        }
                    }
                }
                Err(e) => tracing::warn!(pattern, "not a glob pattern: {e}"),
            }
        }
        globbed.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
        let mut all = first;
        for (_, path) in globbed {
            if !all.contains(&path) && path != self.source.path {
                all.push(path);
            }
        }
        // Not the current file under another name (OSSEC's alerts file is a hard link to the
        // day's file): it was found not to be the one of the position.
        let current = std::fs::metadata(&self.source.path).ok().map(|m| (m.dev(), m.ino()));
        all.retain(|path| std::fs::metadata(path).is_ok_and(|m| m.is_file() && Some((m.dev(), m.ino())) != current));
        all
    }
}

/// Whether the end of a file (a last line without its end of line, the block still open:
/// two records at most) fits in the batch; else it is read in the next one.
fn room_to_end(out: &Batch, max_batch: usize) -> bool {
    out.is_empty() || out.len() + 2 <= max_batch
}

/// What a file is read through.
enum Input {
    Plain(File),
    Gz(Box<MultiGzDecoder<File>>),
}

fn open_input(path: &Path) -> io::Result<Input> {
    let file = File::open(path)?;
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Input::Gz(Box::new(MultiGzDecoder::new(file)))
    } else {
        Input::Plain(file)
    })
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Plain(file) => file.read(buf),
            Input::Gz(decoder) => decoder.read(buf),
        }
    }
}

impl Input {
    /// Moves to `offset` (of the content); returns the offset reached (less at the end of
    /// the content) and the content's first bytes before it (up to 1024).
    fn skip_to(&mut self, offset: u64) -> io::Result<(u64, Vec<u8>)> {
        match self {
            Input::Plain(file) => {
                let reached = offset.min(file.metadata()?.len());
                file.seek(SeekFrom::Start(reached))?;
                let mut head = vec![0; reached.min(HEAD as u64) as usize];
                file.read_exact_at(&mut head, 0)?;
                Ok((reached, head))
            }
            Input::Gz(decoder) => {
                let head = head_of(&mut *decoder, offset.min(HEAD as u64) as usize)?;
                let rest = offset - head.len() as u64;
                let skipped = io::copy(&mut (&mut *decoder).take(rest), &mut io::sink())?;
                Ok((head.len() as u64 + skipped, head))
            }
        }
    }
}

/// A file being read, with its parser.
struct Open {
    input: Input,
    /// Its path (in origins and positions): the followed path, or a rotated copy's.
    path: PathBuf,
    /// The file at the followed path (else a rotated copy, read to its end once).
    following: bool,
    /// Device and inode of a followed file.
    id: (u64, u64),
    epoch: u64,
    /// How far the input was read.
    read_pos: u64,
    /// The bytes read and not yet consumed: `buf[at..]`, ending at `read_pos`.
    buf: Vec<u8>,
    at: usize,
    /// The offset after the last complete line, and the number of lines before it.
    consumed: u64,
    line: u64,
    /// In a line longer than [`MAX_LINE`] (starting at `consumed`), dropped as it is read.
    skipping: bool,
    /// The content's first bytes (up to 1024, as far as read).
    head: Vec<u8>,
    fingerprint: Option<String>,
    parser: Option<Parser>,
    /// Empty lines read before the format is known (replayed into the parser).
    waiting: usize,
    /// The line number before the parser's first line.
    line_base: u64,
    /// Offset and line number of the `alerts.log` block still open.
    block: (u64, u64),
    /// When data last came.
    last_data: Instant,
    /// The path names another file: read this one to its end, then move on.
    draining: bool,
    /// The last read found no new data.
    at_end: bool,
}

impl Open {
    #[allow(clippy::too_many_arguments)]
    fn new(
        input: Input,
        path: PathBuf,
        following: bool,
        id: (u64, u64),
        epoch: u64,
        offset: u64,
        line: u64,
        head: Vec<u8>,
    ) -> Open {
        Open {
            input,
            path,
            following,
            id,
            epoch,
            read_pos: offset,
            buf: Vec::new(),
            at: 0,
            consumed: offset,
            line,
            skipping: false,
            head,
            fingerprint: None,
            parser: None,
            waiting: 0,
            line_base: line,
            block: (offset, line + 1),
            last_data: Instant::now(),
            draining: false,
            at_end: false,
        }
    }

    fn pending(&self) -> bool {
        self.parser.as_ref().is_some_and(|p| p.pending_since().is_some())
    }

    /// Where to resume: the start of the open block, else after the last complete line.
    /// `None` at the beginning of the file (nothing of it handed over).
    fn position(&mut self) -> Option<Position> {
        let (offset, line) = if self.pending() { self.block } else { (self.consumed, self.line + 1) };
        if offset == 0 {
            return None;
        }
        let stale = match &self.fingerprint {
            Some(fingerprint) => parse_fingerprint(fingerprint).map(|(n, _)| n) != Some(self.head.len()),
            None => true,
        };
        if stale {
            self.fingerprint = fingerprint_of(&self.head);
        }
        Some(Position { path: self.path.clone(), fingerprint: self.fingerprint.clone()?, offset, line })
    }

    /// Looks at the followed path: another file there, or this one rewritten.
    fn check(&self, path: &Path) -> Change {
        let Ok(meta) = std::fs::metadata(path) else { return Change::Same };
        if (meta.dev(), meta.ino()) != self.id {
            return Change::Rotated;
        }
        if meta.len() < self.read_pos {
            return Change::Truncated;
        }
        if meta.len() > self.read_pos && !self.head.is_empty() {
            if let Input::Plain(file) = &self.input {
                let mut now = vec![0; self.head.len()];
                if file.read_exact_at(&mut now, 0).is_ok() && now != self.head {
                    return Change::Truncated;
                }
            }
        }
        Change::Same
    }

    /// Reads more; returns how much (0 at the end).
    fn read_chunk(&mut self) -> io::Result<usize> {
        if self.at > 0 {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        if let Some(parser) = &mut self.parser {
            parser.set_now(Utc::now());
        }
        let old = self.buf.len();
        self.buf.resize(old + CHUNK, 0);
        let n = loop {
            match self.input.read(&mut self.buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        };
        self.buf.truncate(old + n);
        if self.read_pos < HEAD as u64 {
            let take = (HEAD - self.read_pos as usize).min(n);
            self.head.extend_from_slice(&self.buf[old..old + take]);
        }
        self.read_pos += n as u64;
        if n > 0 {
            self.last_data = Instant::now();
        }
        Ok(n)
    }

    /// The offset of `buf[index]`.
    fn offset_of(&self, index: usize) -> u64 {
        self.read_pos - (self.buf.len() - index) as u64
    }

    /// Consumes the next complete line, if there is one.
    fn next_line(&mut self, out: &mut Batch, forced: Option<Format>) -> bool {
        let newline = self.buf[self.at..].iter().position(|&b| b == b'\n');
        if self.skipping {
            let Some(i) = newline else {
                self.buf.clear();
                self.at = 0;
                return false;
            };
            self.at += i + 1;
            self.skipping = false;
            self.take_line(None, self.offset_of(self.at), out, forced);
            return true;
        }
        match newline {
            Some(i) => {
                let (start, end) = (self.at, self.at + i);
                self.at = end + 1;
                let after = self.offset_of(self.at);
                if i > MAX_LINE {
                    self.take_line(None, after, out, forced);
                } else {
                    let buf = std::mem::take(&mut self.buf);
                    self.take_line(Some(&String::from_utf8_lossy(&buf[start..end])), after, out, forced);
                    self.buf = buf;
                }
                true
            }
            None => {
                if self.buf.len() - self.at > MAX_LINE {
                    self.skipping = true;
                    self.buf.clear();
                    self.at = 0;
                }
                false
            }
        }
    }

    /// Reads one line (`None`: too long), which starts at `consumed` and ends before `after`.
    fn take_line(&mut self, text: Option<&str>, after: u64, out: &mut Batch, forced: Option<Format>) {
        let start = self.consumed;
        let number = self.line + 1;
        self.consumed = after;
        self.line = number;
        if text.is_none() {
            let detail = format!("a line longer than {MAX_LINE} bytes");
            out.skip(&self.path, number, SkipReason::TooLong, detail);
        }
        let parser = match (&mut self.parser, text) {
            (Some(parser), _) => parser,
            (None, Some(text)) if !text.trim().is_empty() => {
                let format = forced.or_else(|| Format::detect(text)).unwrap_or(Format::Syslog);
                let mut parser = Parser::new(format, Context { now: Utc::now() });
                for _ in 0..self.waiting {
                    parser.push_line("");
                }
                self.parser.insert(parser)
            }
            (None, _) => {
                self.waiting += 1;
                return;
            }
        };
        let record = parser.push_line(text.unwrap_or(""));
        if parser.pending_since().map(|l| l as u64 + self.line_base) == Some(number) {
            self.block = (start, number);
        }
        self.report(record, out);
    }

    fn report(&self, record: Option<Record>, out: &mut Batch) {
        let Some(record) = record else { return };
        match record.outcome {
            Ok(alert) => out.alerts.push(alert),
            Err(detail) => {
                out.skip(&self.path, self.line_base + record.line as u64, SkipReason::Unreadable, detail);
            }
        }
    }

    /// Hands over the block still open.
    fn finish(&mut self, out: &mut Batch) {
        let record = self.parser.as_mut().and_then(Parser::finish);
        self.report(record, out);
    }

    /// The file ends: a last line without its end of line is read too, then the open block.
    fn end_of_file(&mut self, out: &mut Batch, forced: Option<Format>) {
        while self.next_line(out, forced) {}
        if self.skipping {
            self.skipping = false;
            self.at = self.buf.len();
            self.take_line(None, self.read_pos, out, forced);
        } else if self.at < self.buf.len() {
            let text = String::from_utf8_lossy(&self.buf[self.at..]).into_owned();
            self.at = self.buf.len();
            self.take_line(Some(&text), self.read_pos, out, forced);
        }
        self.finish(out);
    }
}
