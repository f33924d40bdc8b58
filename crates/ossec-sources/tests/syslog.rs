//! The syslog receiver against a real sender: util-linux `logger`, sending the messages
//! ossec-csyslogd wrote in the sample set (their payloads, after `ossec: `), over UDP and
//! TCP, in RFC 3164 and RFC 5424 framing, octet-counted and newline-terminated; and raw
//! sockets for what `logger` cannot do (NUL trailers, bytes that are not UTF-8, idle
//! connections).

use std::io::Write;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use ossec_alerts::Alert;
use ossec_sources::syslog::{bind, SyslogSource};
use ossec_sources::{Arrival, SkipReason, Skipped};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};

/// csyslogd's `default` format, as received by SC4S.
const DEFAULT: &str = include_str!("../../ossec-alerts/tests/samples/syslog/ossec_sc4s_syslog-default_messages.txt");
/// csyslogd's `json` format, with OSSEC's BSD header.
const JSON: &str =
    include_str!("../../ossec-alerts/tests/samples/syslog/ossec3x_datadog-ossec-security_syslog-json_part1.log");
/// csyslogd's `cef` format, without its header.
const CEF: &str = include_str!("../../ossec-alerts/tests/samples/syslog/ossec25_kafka-connect-transform-cef_cef.txt");

/// How long any wait for the receiver may take.
const PATIENCE: Duration = Duration::from_secs(15);

/// The payloads of a sample file: what follows `ossec: ` on each line (or the whole line).
fn payloads(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| l.split_once("ossec: ").map_or(l, |(_, p)| p)).collect()
}

/// A running receiver on loopback, UDP and TCP on ephemeral ports.
struct Receiver {
    rx: mpsc::Receiver<Arrival>,
    udp: SocketAddr,
    tcp: SocketAddr,
    task: JoinHandle<std::io::Result<()>>,
    arrivals: Vec<Arrival>,
}

async fn start(configure: impl FnOnce(&mut SyslogSource)) -> Receiver {
    let mut source = SyslogSource::new("csyslogd");
    source.udp = Some("127.0.0.1:0".parse().unwrap());
    source.tcp = Some("127.0.0.1:0".parse().unwrap());
    configure(&mut source);
    let bound = bind(source).await.expect("binding");
    let (udp, tcp) = (bound.udp_addr().unwrap(), bound.tcp_addr().unwrap());
    assert_ne!(udp.port(), 0);
    assert_ne!(tcp.port(), 0);
    let (tx, rx) = mpsc::channel(16);
    let task = tokio::spawn(bound.run(tx));
    Receiver { rx, udp, tcp, task, arrivals: Vec::new() }
}

impl Receiver {
    /// Waits until at least `alerts` alerts and `skipped` skipped records arrived (in all);
    /// returns them all.
    async fn until(&mut self, alerts: usize, skipped: usize) -> (Vec<Alert>, Vec<Skipped>) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let (a, s) = self.records();
            if a.len() >= alerts && s.len() >= skipped {
                return (a, s);
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(arrival)) => {
                    assert_eq!(&*arrival.source, "csyslogd");
                    assert_eq!(arrival.position, None);
                    self.arrivals.push(arrival);
                }
                Ok(None) => panic!("the receiver stopped: {:?}", self.task),
                Err(_) => panic!("waited for {alerts} alerts and {skipped} skipped, got {} and {:?}", a.len(), s),
            }
        }
    }

    fn records(&self) -> (Vec<Alert>, Vec<Skipped>) {
        let alerts = self.arrivals.iter().flat_map(|a| a.alerts.iter().cloned()).collect();
        let skipped = self.arrivals.iter().flat_map(|a| a.skipped.iter().cloned()).collect();
        (alerts, skipped)
    }

    /// Stops the receiver (the channel closed) and checks that it ends cleanly.
    async fn stop(self) {
        drop(self.rx);
        let ended = timeout(PATIENCE, self.task).await.expect("the receiver ends when its channel is closed");
        ended.expect("no panic").expect("no error");
    }
}

/// Runs `logger` sending to `addr` with `args`, one message a line of `stdin` (one
/// connection for all of them over TCP); returns whether it succeeded.
async fn logger(addr: SocketAddr, args: &[&str], stdin: &str) -> bool {
    let mut child = tokio::process::Command::new("logger")
        .args(["--server", &addr.ip().to_string(), "--port", &addr.port().to_string(), "--tag", "ossec"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("logger (util-linux) runs");
    let mut input = child.stdin.take().unwrap();
    // A sender the receiver closed on may stop reading its input: not an error here.
    let _ = input.write_all(stdin.as_bytes()).await;
    drop(input);
    let output = timeout(PATIENCE, child.wait_with_output()).await.expect("logger ends").unwrap();
    output.status.success()
}

async fn logger_ok(addr: SocketAddr, args: &[&str], stdin: &str) {
    assert!(logger(addr, args, stdin).await, "logger {args:?} failed");
}

/// Joins lines with LF, one at the end too.
fn lines(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn check_default_0(alert: &Alert) {
    // ossec: Alert Level: 2; Rule: 1002 - Unknown problem somewhere in the system.;
    // Location: so1->/var/log/messages; classification:  syslog,errors,; Oct  1 ...
    assert_eq!((alert.level, alert.rule), (2, 1002), "{alert:?}");
    assert_eq!(alert.description, "Unknown problem somewhere in the system.");
    assert_eq!(alert.agent, "so1");
    assert_eq!(alert.location, "/var/log/messages");
    assert_eq!(alert.groups, "syslog,errors");
    assert!(!alert.time.is_empty());
}

fn check_default_1(alert: &Alert) {
    // ossec: Alert Level: 3; Rule: 18145 - Service startup type was changed.; Location:
    // (windows_os) 10.202.37.29->WinEvtLog; classification:  windows,policy_changed,;
    // user: SYSTEM; 2020 Sep 28 ...
    assert_eq!((alert.level, alert.rule), (3, 18145), "{alert:?}");
    assert_eq!(alert.description, "Service startup type was changed.");
    assert_eq!(alert.agent, "windows_os");
    assert_eq!(alert.location, "WinEvtLog");
    assert_eq!(alert.user, "SYSTEM");
}

fn check_json_2(alert: &Alert) {
    // {"crit":5,"id":4101,"component":"ub20->/root/test.log","classification":"
    // firewall,firewall_drop,","description":"Firewall drop event.",...,"src_ip":"10.10.10.10",...}
    assert_eq!((alert.level, alert.rule), (5, 4101), "{alert:?}");
    assert_eq!(alert.description, "Firewall drop event.");
    assert_eq!(alert.agent, "ub20");
    assert_eq!(alert.location, "/root/test.log");
    assert_eq!(alert.srcip, "10.10.10.10");
}

fn check_cef(alert: &Alert) {
    // CEF:0|Trend Micro Inc.|OSSEC HIDS|v2.5.1|5302|User missed the password to change UID
    // to root.|9|dvc=ubuntusvr cs2=ubuntusvr->/var/log/auth.log ... suser=root ...
    assert_eq!((alert.level, alert.rule), (9, 5302), "{alert:?}");
    assert_eq!(alert.description, "User missed the password to change UID to root.");
    assert_eq!(alert.agent, "ubuntusvr");
}

#[tokio::test]
async fn udp_rfc3164() {
    let mut receiver = start(|_| {}).await;
    let default = payloads(DEFAULT);
    for payload in &default[..2] {
        logger_ok(receiver.udp, &["--udp", "--rfc3164", "--size", "8192", "--"], payload).await;
    }
    let (alerts, skipped) = receiver.until(2, 0).await;
    assert_eq!(skipped, []);
    check_default_0(&alerts[0]);
    check_default_1(&alerts[1]);
    receiver.stop().await;
}

#[tokio::test]
async fn udp_rfc5424() {
    let mut receiver = start(|_| {}).await;
    let json = payloads(JSON);
    logger_ok(receiver.udp, &["--udp", "--rfc5424", "--size", "8192"], &lines(&json[2..3])).await;
    // CEF has no tag: with RFC 5424 the tag is a header field, so the message is the CEF.
    logger_ok(receiver.udp, &["--udp", "--rfc5424", "--size", "8192"], CEF).await;
    let (alerts, skipped) = receiver.until(2, 0).await;
    assert_eq!(skipped, []);
    check_json_2(&alerts[0]);
    check_cef(&alerts[1]);
    receiver.stop().await;
}

#[tokio::test]
async fn tcp_octet_counted_several_on_one_connection() {
    let mut receiver = start(|_| {}).await;
    let default = payloads(DEFAULT);
    logger_ok(receiver.tcp, &["--tcp", "--octet-count", "--size", "8192"], &lines(&default)).await;
    let (alerts, skipped) = receiver.until(default.len(), 0).await;
    assert_eq!(skipped, []);
    assert_eq!(alerts.len(), 4);
    check_default_0(&alerts[0]);
    check_default_1(&alerts[1]);
    assert_eq!(alerts.iter().map(|a| a.rule).collect::<Vec<_>>(), [1002, 18145, 5502, 552]);
    receiver.stop().await;
}

#[tokio::test]
async fn tcp_newline_framed_several_on_one_connection() {
    let mut receiver = start(|_| {}).await;
    let json = payloads(JSON);
    logger_ok(receiver.tcp, &["--tcp", "--rfc3164", "--size", "8192"], &lines(&json)).await;
    let (alerts, skipped) = receiver.until(json.len(), 0).await;
    assert_eq!(skipped, []);
    assert_eq!(alerts.len(), 10);
    check_json_2(&alerts[2]);
    receiver.stop().await;
}

#[tokio::test]
async fn tcp_framings_mixed_in_pieces() {
    let mut receiver = start(|_| {}).await;
    let json: Vec<&str> = JSON.lines().collect();
    // Whole lines as ossec-csyslogd sends them (its own `<132>` header), framed four ways.
    let mut stream = String::new();
    stream += &format!("{}\n", json[0]);
    stream += &format!("{}\r\n", json[1]);
    stream += &format!("{}\0", json[2]);
    stream += &format!("{} {}", json[3].len(), json[3]);
    stream += json[4]; // the last one: ended by the connection's end
    let bytes = stream.into_bytes();
    let mut tcp = std::net::TcpStream::connect(receiver.tcp).unwrap();
    for piece in bytes.chunks(37) {
        tcp.write_all(piece).unwrap();
        tcp.flush().unwrap();
    }
    drop(tcp);
    let (alerts, skipped) = receiver.until(5, 0).await;
    assert_eq!(skipped, []);
    assert_eq!(alerts.iter().map(|a| a.rule).collect::<Vec<_>>(), [1002, 1002, 4101, 5902, 11104]);
    check_json_2(&alerts[2]);
    // <132>Jun 19 11:56:43 ub20 ossec: {...}: the header's time, in some year.
    assert!(alerts[0].time.contains("-06-19T11:56:43"), "{:?}", alerts[0].time);
    receiver.stop().await;
}

#[tokio::test]
async fn many_connections_at_once() {
    let mut receiver = start(|_| {}).await;
    let json = payloads(JSON);
    let input = lines(&json);
    let senders: Vec<_> = (0..24)
        .map(|i| {
            let addr = receiver.tcp;
            let input = input.clone();
            let framing = if i % 2 == 0 { "--octet-count" } else { "--rfc3164" };
            tokio::spawn(async move { logger(addr, &["--tcp", framing, "--size", "8192"], &input).await })
        })
        .collect();
    for sender in senders {
        assert!(sender.await.unwrap());
    }
    let (alerts, skipped) = receiver.until(24 * json.len(), 0).await;
    assert_eq!(skipped, []);
    assert_eq!(alerts.len(), 240);
    assert_eq!(alerts.iter().filter(|a| a.rule == 4101).count(), 24);
    receiver.stop().await;
}

#[tokio::test]
async fn senders_outside_the_allowed_networks() {
    let mut receiver = start(|source| source.allow = vec!["192.0.2.0/24".parse().unwrap()]).await;
    let default = payloads(DEFAULT);
    logger_ok(receiver.udp, &["--udp", "--rfc3164", "--size", "8192", "--"], default[0]).await;
    // The connection is closed at once: logger may or may not notice.
    logger(receiver.tcp, &["--tcp", "--octet-count", "--size", "8192", "--"], default[0]).await;
    let (alerts, skipped) = receiver.until(0, 2).await;
    assert_eq!(alerts, []);
    assert!(skipped.iter().all(|s| s.reason == SkipReason::NotAllowed), "{skipped:?}");
    let mut origins: Vec<&str> = skipped.iter().map(|s| s.origin.split(' ').next().unwrap()).collect();
    origins.sort();
    assert_eq!(origins, ["tcp", "udp"]);
    assert!(skipped.iter().all(|s| s.origin.contains(" 127.0.0.1:")), "{skipped:?}");
    // Nothing more comes: no alert from either.
    assert!(timeout(Duration::from_millis(300), receiver.rx.recv()).await.is_err());
    receiver.stop().await;
}

#[tokio::test]
async fn too_long_then_good_on_one_connection() {
    let mut receiver = start(|source| source.max_message = 1000).await;
    let default = payloads(DEFAULT);
    let long = format!("{}; {}", default[0], "x".repeat(2000));
    let input = lines(&[&long, default[1]]);
    // Octet-counted: the long message's bytes skipped exactly.
    logger_ok(receiver.tcp, &["--tcp", "--octet-count", "--size", "8192"], &input).await;
    let (alerts, skipped) = receiver.until(1, 1).await;
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].reason, SkipReason::TooLong);
    assert!(skipped[0].origin.starts_with("tcp 127.0.0.1:"), "{skipped:?}");
    assert_eq!(alerts.len(), 1);
    check_default_1(&alerts[0]);
    // Newline-terminated: discarded up to its LF.
    logger_ok(receiver.tcp, &["--tcp", "--rfc3164", "--size", "8192"], &input).await;
    let (alerts, skipped) = receiver.until(2, 2).await;
    assert_eq!(skipped[1].reason, SkipReason::TooLong);
    check_default_1(&alerts[1]);
    // A datagram.
    logger_ok(receiver.udp, &["--udp", "--rfc3164", "--size", "8192"], &input).await;
    let (alerts, skipped) = receiver.until(3, 3).await;
    assert_eq!(skipped[2].reason, SkipReason::TooLong);
    assert!(skipped[2].origin.starts_with("udp 127.0.0.1:"), "{skipped:?}");
    check_default_1(&alerts[2]);
    assert_eq!((alerts.len(), skipped.len()), (3, 3));
    receiver.stop().await;
}

#[tokio::test]
async fn garbage_is_unreadable() {
    let mut receiver = start(|_| {}).await;
    logger_ok(receiver.udp, &["--udp", "--rfc3164", "--", "hello, not an alert"], "").await;
    logger_ok(receiver.tcp, &["--tcp", "--octet-count", "--", "Alert Level: x; Rule: 1 - y; Location: z"], "").await;
    // Not UTF-8.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(b"<132>Jun 19 11:56:43 ub20 ossec: \xff\xfe{\"crit\":\n", receiver.udp).unwrap();
    let (alerts, skipped) = receiver.until(0, 3).await;
    assert_eq!(alerts, []);
    assert!(skipped.iter().all(|s| s.reason == SkipReason::Unreadable), "{skipped:?}");
    assert!(skipped.iter().any(|s| s.origin.starts_with("tcp 127.0.0.1:")), "{skipped:?}");
    assert_eq!(skipped.iter().filter(|s| s.origin.starts_with("udp 127.0.0.1:")).count(), 2, "{skipped:?}");
    assert!(skipped.iter().all(|s| !s.detail.is_empty()));
    receiver.stop().await;
}

#[tokio::test]
async fn datagrams_in_bounded_batches() {
    let mut receiver = start(|source| source.max_batch = 3).await;
    let json: Vec<&str> = JSON.lines().collect();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for line in &json {
        udp.send_to(format!("{line}\0").as_bytes(), receiver.udp).unwrap();
    }
    let (alerts, _) = receiver.until(10, 0).await;
    assert_eq!(alerts.len(), 10);
    assert!(receiver.arrivals.iter().all(|a| a.alerts.len() + a.skipped.len() <= 3));
    receiver.stop().await;
}

/// Reads until the peer closes the connection; panics after the patience.
async fn closed_by_peer(stream: &mut tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut buffer = [0u8; 16];
    let read = timeout(PATIENCE, stream.read(&mut buffer)).await.expect("the receiver closes the connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let mut receiver = start(|source| source.idle_timeout = Duration::from_millis(200)).await;
    let mut stream = tokio::net::TcpStream::connect(receiver.tcp).await.unwrap();
    // Something without its LF: read when the connection is closed.
    stream.write_all(JSON.lines().next().unwrap().as_bytes()).await.unwrap();
    closed_by_peer(&mut stream).await;
    let (alerts, _) = receiver.until(1, 0).await;
    assert_eq!(alerts[0].rule, 1002);
    receiver.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed() {
    let mut receiver = start(|source| source.max_connections = 2).await;
    let line = format!("{}\n", JSON.lines().next().unwrap());
    let mut open = Vec::new();
    for n in 1..=2 {
        let mut stream = tokio::net::TcpStream::connect(receiver.tcp).await.unwrap();
        stream.write_all(line.as_bytes()).await.unwrap();
        // Accepted once its message arrived.
        receiver.until(n, 0).await;
        open.push(stream);
    }
    let mut third = tokio::net::TcpStream::connect(receiver.tcp).await.unwrap();
    closed_by_peer(&mut third).await;
    // The two first still work; once one is closed, a new one is accepted.
    open[1].write_all(line.as_bytes()).await.unwrap();
    receiver.until(3, 0).await;
    drop(open.remove(0));
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut stream = tokio::net::TcpStream::connect(receiver.tcp).await.unwrap();
        // A closed connection fails the write or is never read; retry until accepted.
        if stream.write_all(line.as_bytes()).await.is_ok()
            && timeout(Duration::from_millis(200), receiver.until(4, 0)).await.is_ok()
        {
            break;
        }
        assert!(Instant::now() < deadline, "no connection accepted after one was closed");
    }
    receiver.stop().await;
}

#[tokio::test]
async fn bind_errors_are_returned() {
    let receiver = start(|_| {}).await;
    let mut source = SyslogSource::new("again");
    source.tcp = Some(receiver.tcp);
    let error = bind(source).await.expect_err("the port is taken");
    assert!(error.to_string().contains(&receiver.tcp.to_string()), "{error}");
    receiver.stop().await;
}
