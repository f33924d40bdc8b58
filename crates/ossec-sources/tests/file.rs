//! The file source on real files in a temporary folder: appended lines, alerts.log blocks,
//! rotation by rename and by copy-truncate, restarts from a stored position (also in a
//! rotated, gzipped copy and in the middle of a block), skipped lines.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use ossec_alerts::{Context, Format};
use ossec_sources::file::{fingerprint, follow, FileSource};
use ossec_sources::{Arrival, Position, SkipReason};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ossec-alerts/tests/samples");

/// An alerts.json line of alert `n` (a real OSSEC line, its id changed).
fn json_line(n: u32) -> String {
    format!(
        r#"{{"rule":{{"level":5,"comment":"Syslogd restarted.","sidid":1005,"group":"syslog,errors,"}},"id":"1510376401.{n}","TimeStamp":1510376401000,"location":"/var/log/messages","full_log":"Nov 11 00:00:01 ix syslogd[72090]: restart","hostname":"ix","program_name":"syslogd"}}"#
    ) + "\n"
}

/// An alerts.log block of alert `n` (a real OSSEC block, its id changed).
fn log_block(n: u32) -> String {
    format!(
        "** Alert 1486482473.{n}: - syslog,errors,\n2017 Nov 11 00:00:01 ix->/var/log/messages\n\
         Rule: 1005 (level 5) -> 'Syslogd restarted.'\nNov 11 00:00:01 ix syslogd[72090]: restart\n\n"
    )
}

fn record(format: Format, n: u32) -> String {
    match format {
        Format::AlertsLog => log_block(n),
        _ => json_line(n),
    }
}

fn ids(format: Format, range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    let epoch = if format == Format::AlertsLog { "1486482473" } else { "1510376401" };
    range.map(|n| format!("{epoch}.{n}")).collect()
}

fn append(path: &Path, text: &str) {
    OpenOptions::new().create(true).append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
}

fn source(path: &Path) -> FileSource {
    let mut source = FileSource::new("test", path);
    source.poll = Duration::from_millis(5);
    source.quiet = Duration::from_millis(30);
    source
}

/// A running `follow` and what it handed over.
struct Feed {
    rx: mpsc::Receiver<Arrival>,
    task: JoinHandle<std::io::Result<()>>,
    arrivals: Vec<Arrival>,
}

impl Feed {
    fn start(source: FileSource, start: Option<Position>) -> Feed {
        let (tx, rx) = mpsc::channel(4);
        Feed { rx, task: tokio::spawn(follow(source, start, tx)), arrivals: Vec::new() }
    }

    fn ids(&self) -> Vec<String> {
        self.arrivals.iter().flat_map(|a| a.alerts.iter().map(|alert| alert.id.clone())).collect()
    }

    fn position(&self) -> Option<Position> {
        self.arrivals.iter().rev().find_map(|a| a.position.clone())
    }

    /// Receives until `done` holds (fails after 5 s).
    async fn until(&mut self, what: &str, done: impl Fn(&Feed) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(arrival)) => self.arrivals.push(arrival),
                Ok(None) => panic!("{what}: the source ended: {:?}", self.task.is_finished()),
                Err(_) => panic!("{what}: not within 5 s; got {:?}", self.ids()),
            }
        }
    }

    async fn until_ids(&mut self, expected: &[String]) {
        self.until("the alerts", |feed| feed.ids().len() >= expected.len()).await;
        assert_eq!(self.ids(), expected);
    }

    /// Receives for `period`; fails if an alert comes.
    async fn quiet_for(&mut self, period: Duration) {
        let before = self.ids().len();
        let end = Instant::now() + period;
        while let Ok(Some(arrival)) = tokio::time::timeout_at(end.into(), self.rx.recv()).await {
            self.arrivals.push(arrival);
        }
        assert_eq!(self.ids().len(), before, "nothing more expected: {:?}", self.ids());
    }

    /// Stops the source, as a server that goes down.
    async fn stop(self) -> Vec<Arrival> {
        self.task.abort();
        let _ = self.task.await;
        self.arrivals
    }
}

#[tokio::test]
async fn appended_lines_arrive_and_a_partial_line_waits_for_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.json");
    append(&path, &(json_line(1) + &json_line(2)));
    let mut feed = Feed::start(source(&path), None);
    feed.until_ids(&ids(Format::AlertsJson, 1..=2)).await;
    let position = feed.position().unwrap();
    assert_eq!(position.offset, fs::metadata(&path).unwrap().len());
    assert_eq!(position.line, 3);
    assert_eq!(position.path, path);
    assert_eq!(Some(position.fingerprint), fingerprint(&path).unwrap());

    // Latency: a line appended to a followed file.
    let mut worst = Duration::ZERO;
    for n in 3..=12 {
        let written = Instant::now();
        append(&path, &json_line(n));
        feed.until("the appended line", |feed| feed.ids().len() == n as usize).await;
        worst = worst.max(written.elapsed());
    }
    eprintln!("latency of an appended line (poll 5 ms), worst of 10: {worst:?}");
    assert!(worst < Duration::from_millis(500), "{worst:?}");

    let line = json_line(13);
    let (first, second) = line.split_at(100);
    append(&path, first);
    feed.quiet_for(Duration::from_millis(60)).await;
    assert_eq!(feed.position().unwrap().offset, fs::metadata(&path).unwrap().len() - 100);
    append(&path, second);
    feed.until_ids(&ids(Format::AlertsJson, 1..=13)).await;
    assert_eq!(feed.position().unwrap().offset, fs::metadata(&path).unwrap().len());
    assert!(feed.arrivals.iter().all(|a| a.skipped.is_empty() && &*a.source == "test"));
    feed.stop().await;
}

#[tokio::test]
async fn alerts_log_samples_arrive_the_last_block_after_the_quiet_period() {
    for entry in fs::read_dir(Path::new(SAMPLES).join("alerts-log")).unwrap() {
        let sample = entry.unwrap().path();
        let text = fs::read_to_string(&sample).unwrap();
        let (format, records) = ossec_alerts::parse_text(None, &text, Context { now: Utc::now() });
        assert_eq!(format, Format::AlertsLog);
        let expected: Vec<String> = records.iter().map(|r| r.outcome.as_ref().unwrap().id.clone()).collect();
        assert!(!expected.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.log");
        fs::write(&path, &text).unwrap();

        // Without a quiet period, the last block stays open (no `** Alert` line after it).
        let mut patient = source(&path);
        patient.quiet = Duration::from_secs(3600);
        let mut feed = Feed::start(patient, None);
        let all_but_last = &expected[..expected.len() - 1];
        if !all_but_last.is_empty() {
            feed.until_ids(all_but_last).await;
        }
        feed.quiet_for(Duration::from_millis(60)).await;
        let position = feed.position();
        let last_block = text.rfind("** Alert ").unwrap() as u64;
        assert_eq!(position.map_or(0, |p| p.offset), last_block, "{}", sample.display());
        feed.stop().await;

        let mut feed = Feed::start(source(&path), None);
        feed.until_ids(&expected).await;
        assert_eq!(feed.position().unwrap().offset, text.len() as u64);
        assert!(feed.arrivals.iter().all(|a| a.skipped.is_empty()), "{}", sample.display());
        feed.stop().await;
    }
}

/// Where OSSEC moves the day's file at midnight.
fn daily(dir: &Path, day: u32, ext: &str) -> PathBuf {
    let folder = dir.join("2017").join("Nov");
    fs::create_dir_all(&folder).unwrap();
    folder.join(format!("ossec-alerts-{day:02}.{ext}"))
}

fn ext(format: Format) -> &'static str {
    if format == Format::AlertsLog {
        "log"
    } else {
        "json"
    }
}

#[tokio::test]
async fn a_renamed_file_is_read_to_its_end_then_the_new_one_from_its_beginning() {
    for format in [Format::AlertsJson, Format::AlertsLog] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("alerts.{}", ext(format)));
        append(&path, &(1..=3).map(|n| record(format, n)).collect::<String>());
        let mut patient = source(&path);
        patient.quiet = Duration::from_secs(3600);
        let mut feed = Feed::start(patient, None);
        let before = if format == Format::AlertsLog { 1..=2 } else { 1..=3 };
        feed.until_ids(&ids(format, before)).await;
        // One more in the old file, then the rename, a while without a file, the new file.
        append(&path, &record(format, 4));
        fs::rename(&path, daily(dir.path(), 11, ext(format))).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        append(&path, &(5..=6).map(|n| record(format, n)).collect::<String>());
        append(&path, &record(format, 7));
        // alerts.log: the new file's last block stays open (no quiet period here).
        let last = if format == Format::AlertsLog { 6 } else { 7 };
        feed.until_ids(&ids(format, 1..=last)).await;
        feed.quiet_for(Duration::from_millis(50)).await;
        let position = feed.position().unwrap();
        assert_eq!(position.path, path);
        assert_eq!(Some(&position.fingerprint), fingerprint(&path).unwrap().as_ref());
        feed.stop().await;
    }
}

#[tokio::test]
async fn a_copied_and_truncated_file_is_read_again_from_its_beginning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.json");
    append(&path, &(1..=3).map(json_line).collect::<String>());
    // A poll long enough for the truncation and the writing after it to happen between two
    // looks.
    let mut slow = source(&path);
    slow.poll = Duration::from_millis(100);
    let mut feed = Feed::start(slow, None);
    feed.until_ids(&ids(Format::AlertsJson, 1..=3)).await;
    // Shorter than before.
    fs::copy(&path, dir.path().join("alerts.json.1")).unwrap();
    OpenOptions::new().write(true).open(&path).unwrap().set_len(0).unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    append(&path, &json_line(4));
    feed.until_ids(&ids(Format::AlertsJson, 1..=4)).await;
    // Longer than before, written at once: the source sees a file that grew, with other
    // first bytes (were it read on from where it was, alert 5 would be missed).
    fs::copy(&path, dir.path().join("alerts.json.1")).unwrap();
    let mut file = OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(0).unwrap();
    file.write_all((5..=9).map(json_line).collect::<String>().as_bytes()).unwrap();
    feed.until_ids(&ids(Format::AlertsJson, 1..=9)).await;
    feed.quiet_for(Duration::from_millis(50)).await;
    feed.stop().await;
}

fn gzip(path: &Path) -> PathBuf {
    let gz = PathBuf::from(format!("{}.gz", path.display()));
    let mut encoder = flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::default());
    encoder.write_all(&fs::read(path).unwrap()).unwrap();
    encoder.finish().unwrap();
    fs::remove_file(path).unwrap();
    gz
}

#[tokio::test]
async fn a_restart_resumes_in_the_rotated_gzipped_copy_then_reads_the_new_file() {
    for format in [Format::AlertsJson, Format::AlertsLog] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("alerts.{}", ext(format)));
        append(&path, &(1..=5).map(|n| record(format, n)).collect::<String>());
        let mut small = source(&path);
        small.max_batch = 2;
        let mut feed = Feed::start(small.clone(), None);
        // The first arrival only: 3, 4, 5 are not handed over.
        feed.until("a first arrival", |feed| !feed.arrivals.is_empty()).await;
        let first = feed.stop().await;
        assert_eq!(first.len(), 1);
        let handed: Vec<String> = first[0].alerts.iter().map(|a| a.id.clone()).collect();
        assert_eq!(handed, ids(format, 1..=2));
        let position = first[0].position.clone().unwrap();

        // While down: more alerts, the midnight move, the gzip, the new day's file.
        append(&path, &record(format, 6));
        let moved = daily(dir.path(), 11, ext(format));
        fs::rename(&path, &moved).unwrap();
        gzip(&moved);
        append(&path, &(7..=8).map(|n| record(format, n)).collect::<String>());

        let mut feed = Feed::start(small, Some(position));
        let last = if format == Format::AlertsLog { 7 } else { 8 };
        feed.until_ids(&ids(format, 3..=last)).await;
        if format == Format::AlertsLog {
            // The last block after the quiet period.
            feed.until_ids(&ids(format, 3..=8)).await;
        }
        feed.quiet_for(Duration::from_millis(50)).await;
        assert!(feed.arrivals.iter().all(|a| a.alerts.len() <= 2));
        let position = feed.position().unwrap();
        assert_eq!((position.path.as_path(), position.offset), (path.as_path(), fs::metadata(&path).unwrap().len()));
        feed.stop().await;
    }
}

#[tokio::test]
async fn a_restart_after_two_rotations_reads_the_copies_in_between_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.json");
    append(&path, &(1..=3).map(|n| record(Format::AlertsJson, n)).collect::<String>());
    let mut feed = Feed::start(source(&path), None);
    feed.until_ids(&ids(Format::AlertsJson, 1..=3)).await;
    let position = feed.position().unwrap();
    feed.stop().await;

    // While down: day 11 ends (one more alert), day 12 is written whole and rotated (then
    // gzipped, the plain copy still there for a moment), day 13 begins.
    append(&path, &record(Format::AlertsJson, 4));
    fs::rename(&path, daily(dir.path(), 11, "json")).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    append(&path, &(5..=7).map(|n| record(Format::AlertsJson, n)).collect::<String>());
    let day12 = daily(dir.path(), 12, "json");
    fs::rename(&path, &day12).unwrap();
    let twin = fs::read(&day12).unwrap();
    gzip(&day12);
    fs::write(&day12, twin).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    append(&path, &(8..=9).map(|n| record(Format::AlertsJson, n)).collect::<String>());

    let mut feed = Feed::start(source(&path), Some(position));
    feed.until_ids(&ids(Format::AlertsJson, 4..=9)).await;
    feed.quiet_for(Duration::from_millis(50)).await;
    feed.stop().await;
}

#[tokio::test]
async fn a_restart_in_the_middle_of_an_alerts_log_block_reads_the_whole_block() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.log");
    let third = log_block(3);
    let (head, tail) = third.split_at(third.find("Rule:").unwrap());
    append(&path, &(log_block(1) + &log_block(2) + head));
    let mut patient = source(&path);
    patient.quiet = Duration::from_secs(3600);
    let mut feed = Feed::start(patient, None);
    feed.until_ids(&ids(Format::AlertsLog, 1..=2)).await;
    feed.quiet_for(Duration::from_millis(50)).await;
    let position = feed.position().unwrap();
    let block_start = (log_block(1).len() + log_block(2).len()) as u64;
    assert_eq!((position.offset, position.line), (block_start, 11));
    feed.stop().await;

    append(&path, &(tail.to_owned() + &log_block(4)));
    let mut feed = Feed::start(source(&path), Some(position));
    feed.until_ids(&ids(Format::AlertsLog, 3..=4)).await;
    let third = &feed.arrivals.iter().flat_map(|a| &a.alerts).next().unwrap();
    assert_eq!((third.rule, third.level), (1005, 5));
    assert!(feed.arrivals.iter().all(|a| a.skipped.is_empty()));
    feed.stop().await;
}

#[tokio::test]
async fn a_too_long_line_and_a_garbage_line_are_skipped_and_the_feed_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.json");
    append(&path, &json_line(1));
    let mut feed = Feed::start(source(&path), None);
    feed.until_ids(&ids(Format::AlertsJson, 1..=1)).await;
    // A line of 1.5 MiB, written in two parts.
    let long = "x".repeat(3 << 19);
    append(&path, &long[..1 << 20]);
    tokio::time::sleep(Duration::from_millis(20)).await;
    append(&path, &(long[1 << 20..].to_owned() + "\n"));
    append(&path, "{this is not json\n");
    append(&path, &json_line(4));
    feed.until("the skipped lines and alert 4", |feed| feed.ids().len() == 2).await;
    assert_eq!(feed.ids(), vec!["1510376401.1".to_owned(), "1510376401.4".to_owned()]);
    let skipped: Vec<_> = feed.arrivals.iter().flat_map(|a| a.skipped.clone()).collect();
    let origin = |line: u32| format!("{}:{line}", path.display());
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert_eq!((skipped[0].origin.clone(), skipped[0].reason), (origin(2), SkipReason::TooLong));
    assert_eq!((skipped[1].origin.clone(), skipped[1].reason), (origin(3), SkipReason::Unreadable));
    assert!(!skipped[1].detail.is_empty());
    let position = feed.position().unwrap();
    assert_eq!((position.offset, position.line), (fs::metadata(&path).unwrap().len(), 5));
    feed.stop().await;
}

#[test]
fn a_fingerprint_recognises_a_file_that_grew() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.json");
    File::create(&path).unwrap();
    assert_eq!(fingerprint(&path).unwrap(), None);
    append(&path, "abc\n");
    let small = fingerprint(&path).unwrap().unwrap();
    assert!(small.starts_with("sha256-4:"), "{small}");
    append(&path, &"y".repeat(2000));
    let big = fingerprint(&path).unwrap().unwrap();
    assert!(big.starts_with("sha256-1024:"), "{big}");
    assert_eq!(big.len(), "sha256-1024:".len() + 64);
}

#[tokio::test]
async fn without_the_file_of_the_position_the_current_file_is_read_from_its_beginning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.json");
    append(&path, &(1..=2).map(json_line).collect::<String>());
    let gone =
        Position { path: path.clone(), fingerprint: format!("sha256-1024:{}", "0".repeat(64)), offset: 400, line: 2 };
    let mut feed = Feed::start(source(&path), Some(gone));
    feed.until_ids(&ids(Format::AlertsJson, 1..=2)).await;
    feed.stop().await;
}

#[tokio::test]
async fn invalid_utf8_is_read_lossily_and_the_source_ends_when_the_receiver_goes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.json");
    let mut line = json_line(1).into_bytes();
    let at = line.windows(7).position(|w| w == b"restart").unwrap();
    line[at] = 0xff;
    fs::write(&path, &line).unwrap();
    let (tx, mut rx) = mpsc::channel(4);
    let task = tokio::spawn(follow(source(&path), None, tx));
    let arrival = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap().unwrap();
    assert_eq!(arrival.alerts.len(), 1, "{arrival:?}");
    drop(rx);
    let ended = tokio::time::timeout(Duration::from_secs(5), task).await.expect("the source ends");
    ended.unwrap().unwrap();
}

#[tokio::test]
async fn a_backlog_arrives_in_batches_of_at_most_max_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.json");
    let count = 20_000u32;
    fs::write(&path, (1..=count).map(json_line).collect::<String>()).unwrap();
    let mut big = source(&path);
    big.max_batch = 5000;
    let started = Instant::now();
    let mut feed = Feed::start(big, None);
    feed.until("the backlog", |feed| feed.ids().len() == count as usize).await;
    let took = started.elapsed();
    eprintln!(
        "a backlog of {count} alerts.json lines ({} bytes): {took:?}, {:.0} alerts/s, {} arrivals",
        fs::metadata(&path).unwrap().len(),
        count as f64 / took.as_secs_f64(),
        feed.arrivals.len()
    );
    assert!(feed.arrivals.iter().all(|a| a.alerts.len() <= 5000));
    assert_eq!(feed.ids(), ids(Format::AlertsJson, 1..=count));
    feed.stop().await;
}
