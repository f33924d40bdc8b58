//! The connection layer of `ctpd serve` against the attacks of issue 10, on the real binary:
//! idle and slowloris connections held by the thousand (at a low open-file limit too) while
//! `/healthz` and an authenticated GET must answer within 100 ms; the header, idle, body and
//! request timeouts; the caps on connections; a SIGTERM that ends within its grace whatever
//! clients do; HTTPS with a certificate reloaded on SIGHUP.
//!
//! The tests take turns (`turn()`): the load tests measure latency, which the other tests'
//! servers would disturb on a small machine. Every connection goes to loopback; attackers
//! connect from other loopback addresses (127.0.0.2 and up) than the probes (127.0.0.1).

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ctp_test_support::{Ctpd, CtpdBuilder};

const ADMIN_TOKEN: &str = "connections-admin-token-0123";

/// The latency every probe must stay under while the attack holds.
const PROBE_LIMIT: Duration = Duration::from_millis(100);

fn turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

/// `ctpd serve` in a folder of its own (default SQLite store), its JSON log in a file; ready
/// once it logs that it serves (a probe connection would count against the caps).
fn serve(args: &[&str]) -> CtpdBuilder {
    Ctpd::serve(env!("CARGO_BIN_EXE_ctpd"))
        .admin_token(ADMIN_TOKEN)
        .args(["--log-format", "json"])
        .args(args)
        .env("RUST_LOG", "info")
        .ready_when_logged("ctpd is serving")
}

fn start(args: &[&str]) -> Ctpd {
    serve(args).start()
}

/// Starts ctpd with these soft and hard limits of open files.
fn start_with_open_files(soft: u64, hard: u64, args: &[&str]) -> Ctpd {
    serve(args).open_files(soft, hard).start()
}

/// A connection to the server, which waits 20 s at most for an answer.
fn connect(server: &Ctpd) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream
}

/// Reads one HTTP/1.1 answer with a `Content-Length`: its status and body.
fn read_response(stream: &mut TcpStream) -> std::io::Result<(u16, String)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut length = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// A GET from 127.0.0.1 on a new connection: status, body and the time from the connect
/// to the end of the answer.
fn probe(port: u16, path: &str, token: Option<&str>) -> (u16, String, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the probe connects");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Connection: close\r\n\r\n").unwrap();
    let (status, body) = read_response(&mut stream).expect("the probe gets an answer");
    (status, body, started.elapsed())
}

/// The slowest of `rounds` probes of `/healthz` and of an authenticated GET that reads the
/// store; every probe must succeed.
fn slowest_probes(port: u16, rounds: usize) -> (Duration, Duration) {
    let (mut health, mut get) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        let (status, body, took) = probe(port, "/healthz", None);
        assert_eq!(status, 200, "{body}");
        health = health.max(took);
        let (status, body, took) = probe(port, "/api/1.0/serviceViews", Some(ADMIN_TOKEN));
        assert_eq!(status, 200, "{body}");
        get = get.max(took);
        std::thread::sleep(Duration::from_millis(20));
    }
    (health, get)
}

/// Opens `per_source` connections from each of `sources` (loopback addresses) to `port`,
/// 100 at a time so as not to overflow the listen backlog.
fn connect_from(port: u16, sources: &[Ipv4Addr], per_source: usize) -> Vec<TcpStream> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let targets: Vec<Ipv4Addr> = sources.iter().flat_map(|s| std::iter::repeat_n(*s, per_source)).collect();
    runtime.block_on(async {
        let mut streams = Vec::with_capacity(targets.len());
        for batch in targets.chunks(100) {
            let mut connecting = tokio::task::JoinSet::new();
            for &source in batch {
                connecting.spawn(async move {
                    let socket = tokio::net::TcpSocket::new_v4()?;
                    socket.bind(SocketAddr::from((source, 0)))?;
                    socket.connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await
                });
            }
            while let Some(connected) = connecting.join_next().await {
                let stream = connected.unwrap().expect("connects").into_std().unwrap();
                stream.set_nonblocking(false).unwrap();
                streams.push(stream);
            }
        }
        streams
    })
}

/// Whether the server keeps the connection open without having answered anything.
fn is_held(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let held = matches!(stream.peek(&mut [0; 1]), Err(e) if e.kind() == ErrorKind::WouldBlock);
    stream.set_nonblocking(false).unwrap();
    held
}

fn held(streams: &[TcpStream]) -> usize {
    streams.iter().filter(|s| is_held(s)).count()
}

/// The start of a request head, never finished.
const SLOWLORIS_HEAD: &[u8] = b"GET /api/1.0/serviceViews HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-0: a\r\n";

/// Makes every other connection a slowloris: a request head started and fed slowly. The
/// other half stays idle, never sending a byte.
fn start_slowloris(streams: &mut [TcpStream]) {
    for stream in streams.iter_mut().step_by(2) {
        // A refused connection may already be closed: its write fails, which is fine.
        let _ = stream.write_all(SLOWLORIS_HEAD);
    }
}

fn feed_slowloris(streams: &mut [TcpStream], round: usize) {
    for stream in streams.iter_mut().step_by(2) {
        let _ = write!(stream, "X-Slow-{round}: a\r\n");
    }
}

/// Raises this process's own open-file limit for `connections` client sockets (ctpd, its
/// child, inherits it and raises its soft limit to the hard one).
fn allow_open_files(connections: u64) {
    let wanted = connections + 1_000;
    let mut limit = rlimit::increase_nofile_limit(wanted).unwrap();
    if limit < wanted && rlimit::Resource::NOFILE.set(wanted, wanted).is_ok() {
        limit = wanted; // a hard limit raised too (as root)
    }
    assert!(limit >= connections + 500, "this test needs {connections} open files and more; the limit is {limit}");
}

fn field(log: &str, name: &str) -> Option<u64> {
    let start = log.find(&format!("\"{name}\":"))? + name.len() + 3;
    log[start..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

#[test]
fn hoarding_at_an_open_file_limit_of_1024_leaves_the_api_answering() {
    let _turn = turn();
    allow_open_files(1_100);
    let server = start_with_open_files(
        256,
        1024,
        &["--max-connections-per-ip", "100", "--header-timeout", "60", "--idle-timeout", "60"],
    );
    let log = server.log();
    assert_eq!(field(&log, "open_files"), Some(1024), "ctpd raised its soft limit to the hard one: {log}");
    assert_eq!(field(&log, "was"), Some(256), "{log}");
    assert_eq!(field(&log, "max_connections"), Some(768), "room is left for the store and accepts: {log}");

    // 1 100 connections, more than the open-file limit, from 5 addresses: 100 of each held.
    let sources: Vec<Ipv4Addr> = (2..=6).map(|i| Ipv4Addr::new(127, 0, 0, i)).collect();
    let mut streams = connect_from(server.port, &sources, 220);
    start_slowloris(&mut streams);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(held(&streams), 500, "each address keeps 100 connections; the others were closed at once");

    let (health, get) = slowest_probes(server.port, 10);
    feed_slowloris(&mut streams, 1);
    let (health2, get2) = slowest_probes(server.port, 10);
    let (health, get) = (health.max(health2), get.max(get2));
    eprintln!("1 100 connections (500 held) at 1 024 open files: slowest /healthz {health:?}, GET {get:?} of 20 each");
    assert!(health < PROBE_LIMIT && get < PROBE_LIMIT, "slowest /healthz {health:?}, GET {get:?}");
    assert_eq!(held(&streams), 500, "the attack still holds its connections");
    assert!(!server.log().contains("cannot accept"), "never out of file descriptors: {}", server.log());
}

#[test]
fn five_thousand_held_connections_leave_the_api_answering() {
    let _turn = turn();
    allow_open_files(5_000);
    let server = start(&["--header-timeout", "60", "--idle-timeout", "60"]);
    let (quiet_health, quiet_get) = slowest_probes(server.port, 10);

    // 200 from each of 25 addresses: under the default cap per address (256), all held.
    let sources: Vec<Ipv4Addr> = (1..=25).map(|i| Ipv4Addr::new(127, 0, 1, i)).collect();
    let started = Instant::now();
    let mut streams = connect_from(server.port, &sources, 200);
    start_slowloris(&mut streams);
    let opened = started.elapsed();
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(held(&streams), 5_000);

    let (health, get) = slowest_probes(server.port, 10);
    feed_slowloris(&mut streams, 1);
    let (health2, get2) = slowest_probes(server.port, 10);
    let (health, get) = (health.max(health2), get.max(get2));
    eprintln!(
        "5 000 held connections (opened in {opened:?}): slowest /healthz {health:?}, GET {get:?} of 20 each; \
         without them {quiet_health:?}, {quiet_get:?} of 10"
    );
    assert!(health < PROBE_LIMIT && get < PROBE_LIMIT, "slowest /healthz {health:?}, GET {get:?}");
    assert_eq!(held(&streams), 5_000, "the attack still holds its connections");
}

#[test]
fn a_connection_must_send_its_head_in_time_and_may_then_idle() {
    let _turn = turn();
    let server = start(&["--header-timeout", "1", "--idle-timeout", "3"]);

    // A half-sent head and a silent connection: closed after the header timeout, unanswered.
    let mut half_sent = connect(&server);
    half_sent.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n").unwrap();
    let mut silent = connect(&server);
    let started = Instant::now();
    for stream in [&mut half_sent, &mut silent] {
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        assert!(answer.is_empty(), "no answer: {}", String::from_utf8_lossy(&answer));
    }
    let closed = started.elapsed();
    assert!(closed >= Duration::from_millis(900) && closed < Duration::from_secs(5), "closed after {closed:?}");

    // A kept-alive connection may wait longer than the header timeout between requests, up
    // to the idle timeout.
    let mut kept = connect(&server);
    let request = format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", server.port);
    kept.write_all(request.as_bytes()).unwrap();
    assert_eq!(read_response(&mut kept).unwrap().0, 200);
    std::thread::sleep(Duration::from_millis(1500));
    kept.write_all(request.as_bytes()).unwrap();
    assert_eq!(read_response(&mut kept).unwrap().0, 200, "still open after more than the header timeout");
    let idle_from = Instant::now();
    let mut rest = Vec::new();
    let _ = kept.read_to_end(&mut rest);
    let idle = idle_from.elapsed();
    assert!(rest.is_empty());
    assert!(idle >= Duration::from_millis(2500) && idle < Duration::from_secs(8), "closed after {idle:?} idle");
}

/// Sends an authenticated PUT announcing a 100-byte body and sends 10 bytes of it.
fn start_slow_put(server: &Ctpd) -> TcpStream {
    let mut stream = connect(server);
    write!(
        stream,
        "PUT /api/1.0/measurements/nosuch?x=result HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
         Authorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n\
         {{\"result\":",
        server.port
    )
    .unwrap();
    stream
}

#[test]
fn a_slow_body_is_answered_408_and_a_slow_request_503() {
    let _turn = turn();
    let server = start(&["--body-timeout", "1", "--request-timeout", "30"]);
    let mut slow = start_slow_put(&server);
    let started = Instant::now();
    let (status, body) = read_response(&mut slow).unwrap();
    let took = started.elapsed();
    assert_eq!(status, 408, "{body}");
    assert!(body.contains("\"error\":\"the request body did not arrive within 1 seconds"), "{body}");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "answered after {took:?}");
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(rest.is_empty(), "and the connection is closed");
    drop(server);

    let server = start(&["--body-timeout", "30", "--request-timeout", "1"]);
    let mut slow = start_slow_put(&server);
    let (status, body) = read_response(&mut slow).unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("did not answer within 1 seconds"), "{body}");
    assert!(server.log().contains("request deadline"), "{}", server.log());
}

/// Whether the server closed a new connection without answering, within 2 seconds.
fn is_refused(stream: &mut TcpStream) -> bool {
    stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    match stream.read(&mut [0; 64]) {
        Ok(0) => true,
        Err(e) => matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted),
        Ok(_) => false,
    }
}

#[test]
fn connections_over_the_caps_are_closed_at_once() {
    let _turn = turn();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ctpd.toml");
    std::fs::write(&config, "max_connections = 8\nmax_connections_per_ip = 5\n").unwrap();
    let server = start(&["--config", config.to_str().unwrap()]);
    let (a, b, c) = (Ipv4Addr::new(127, 0, 0, 7), Ipv4Addr::new(127, 0, 0, 8), Ipv4Addr::new(127, 0, 0, 9));

    let mut from_a = connect_from(server.port, &[a], 6);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(held(&from_a), 5, "5 connections per address");
    let mut refused = from_a.iter_mut().filter(|s| !is_held(s)).collect::<Vec<_>>();
    assert!(is_refused(refused[0]), "the sixth is closed without an answer");
    from_a.retain(is_held);

    let mut from_b = connect_from(server.port, &[b], 3);
    let mut from_c = connect_from(server.port, &[c], 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(held(&from_b), 3);
    assert!(is_refused(&mut from_c[0]), "8 connections in all");

    // Places come back as connections close.
    from_b.pop();
    from_a.pop();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(probe(server.port, "/healthz", None).0, 200);
    let mut again = connect_from(server.port, &[a], 1).pop().unwrap();
    again.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(again, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut again).unwrap().0, 200);
    let log = server.log();
    assert!(log.contains("refused connections over the cap on one client's connections"), "{log}");
    assert!(log.contains("refused connections over the cap on connections"), "{log}");
}

#[test]
fn bad_connection_settings_are_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    for (args, message) in [
        (&["--header-timeout", "0"][..], "header_timeout must be a positive number of seconds"),
        (&["--max-connections-per-ip", "0"][..], "max_connections_per_ip must be at least 1"),
        (&["--tls-cert", "cert.pem"][..], "tls_cert and tls_key go together"),
        (&["--tls-cert", "cert.pem", "--tls-key", "key.pem"][..], "cannot read cert.pem"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_ctpd"))
            .current_dir(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn sigterm_ends_within_the_grace_whatever_clients_do() {
    let _turn = turn();
    let grace = Duration::from_secs(2);
    let mut server =
        start(&["--shutdown-grace", "2", "--header-timeout", "60", "--idle-timeout", "60", "--body-timeout", "60"]);
    let mut half_sent_head = connect(&server);
    half_sent_head.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n").unwrap();
    let mut kept_alive = connect(&server);
    write!(kept_alive, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut kept_alive).unwrap().0, 200);
    let mut never_finished = start_slow_put(&server);
    let mut in_flight = start_slow_put(&server);
    std::thread::sleep(Duration::from_millis(200));

    let signalled = Instant::now();
    server.signal("TERM");
    server.wait_for_log("shutting down", 1);
    std::thread::sleep(Duration::from_millis(300));
    assert!(TcpStream::connect(("127.0.0.1", server.port)).is_err(), "no longer accepting");
    let mut rest = Vec::new();
    let _ = kept_alive.read_to_end(&mut rest);
    assert!(rest.is_empty() && signalled.elapsed() < grace, "the idle connection is closed at once");
    // A request in flight finishes.
    in_flight.write_all(&[b' '; 90]).unwrap();
    let (status, body) = read_response(&mut in_flight).expect("an answer to the request in flight");
    assert!(status == 400 || status == 404, "{status} {body}");

    let (status, took) = server.wait_exit(signalled);
    assert!(status.success(), "{status}: {}", server.log());
    assert!(took >= grace - Duration::from_millis(300), "the grace was given: exited after {took:?}");
    assert!(took < grace + Duration::from_secs(3), "exited after {took:?}, grace {grace:?}");
    for stream in [&mut half_sent_head, &mut never_finished] {
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
    }
    assert!(!server.dir().join("ctpd-data/ctpd.db-wal").exists(), "the store was closed");
    assert!(server.log().contains("ctpd stopped; the store is closed"));
}

/// A private CA, as an operator's, that issues server certificates for 127.0.0.1.
struct Ca {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl Ca {
    fn new() -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "ctpd test CA");
        let issuer = rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    /// A new key and a certificate for it: (certificate PEM, key PEM, certificate DER).
    fn issue(&self) -> (String, String, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem(), cert.der().to_vec())
    }
}

/// Replaces a file as an operator's deployment does: a new file renamed over the old one.
fn replace(path: &Path, text: &str) {
    let new = path.with_extension("new");
    std::fs::write(&new, text).unwrap();
    std::fs::rename(&new, path).unwrap();
}

#[test]
fn https_with_a_certificate_reloaded_on_sighup() {
    let _turn = turn();
    ctp_server::notify::install_crypto_provider();
    let ca = Ca::new();
    let files = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (files.path().join("cert.pem"), files.path().join("key.pem"));
    let (first_cert, first_key, first_der) = ca.issue();
    replace(&cert_path, &first_cert);
    replace(&key_path, &first_key);
    let mut server = start(&["--tls-cert", cert_path.to_str().unwrap(), "--tls-key", key_path.to_str().unwrap()]);
    let base = format!("https://127.0.0.1:{}/", server.port);

    let client = || {
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(ca.issuer.pem().as_bytes()).unwrap()])
            .tls_info(true)
            .build()
            .unwrap()
    };
    // A GET: its status, body and the certificate the server showed on that connection.
    let get = |client: reqwest::Client, path: &str| {
        let url = format!("{base}{path}");
        async move {
            let response = client.get(url).bearer_auth(ADMIN_TOKEN).send().await.expect("an HTTPS answer");
            let certificate = response
                .extensions()
                .get::<reqwest::tls::TlsInfo>()
                .and_then(|info| info.peer_certificate())
                .map(<[u8]>::to_vec)
                .expect("the server's certificate");
            (response.status().as_u16(), response.text().await.unwrap(), certificate)
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let kept = client();
        let (status, body, certificate) = get(kept.clone(), "api/1.0/").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(certificate, first_der);
        assert!(body.contains(&format!("\"self\":\"{base}api/1.0/\"")), "links say https: {body}");

        // A new certificate and key, then SIGHUP: new connections get them...
        let (second_cert, second_key, second_der) = ca.issue();
        replace(&cert_path, &second_cert);
        replace(&key_path, &second_key);
        server.signal("HUP");
        server.wait_for_log("TLS certificate reloaded", 1);
        let (status, _, certificate) = get(client(), "healthz").await;
        assert_eq!(status, 200);
        assert_eq!(certificate, second_der, "a new connection gets the new certificate");
        // ...while the connection opened before goes on with the certificate it started with.
        let (status, _, certificate) = get(kept.clone(), "api/1.0/serviceViews").await;
        assert_eq!(status, 200);
        assert_eq!(certificate, first_der, "the kept-alive connection still works");

        // A broken file: logged, and the certificate in use stays.
        replace(&cert_path, "not a certificate\n");
        server.signal("HUP");
        server.wait_for_log("TLS certificate not reloaded", 1);
        let (status, _, certificate) = get(client(), "healthz").await;
        assert_eq!(status, 200);
        assert_eq!(certificate, second_der);
    });
    assert!(server.log().contains("holds no PEM certificate"), "{}", server.log());
}
