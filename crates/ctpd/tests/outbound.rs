//! Where ctpd's outbound requests go (issue 10): the real `ctpd` binary on SQLite, webhook
//! targets that would reach loopback, private or metadata addresses refused at trigger
//! creation or at delivery (with a listener on 127.0.0.1 proving no connection was made),
//! and one tenant's hanging receivers not delaying another tenant's notification.
//!
//! Only loopback is ever contacted: refused targets are never connected to, accepted
//! targets that are not on loopback never fire, and the name resolved at delivery comes
//! from `/etc/hosts`.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use ctp_test_support::{api_path, free_port, link, wait_for, Client, Ctpd, Tree};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

const ADMIN_TOKEN: &str = "admin-token-for-outbound-tests";

/// The real binary on a port over `dir/ctpd.db`; its log is printed if the test fails.
fn start(dir: &Path, port: u16, extra: &[&str]) -> Ctpd {
    Ctpd::serve(env!("CARGO_BIN_EXE_ctpd"))
        .dir(dir)
        .port(port)
        .args(["--database", "sqlite:ctpd.db"])
        .admin_token(ADMIN_TOKEN)
        .args(["--delivery-backoff", "0.1", "--delivery-max-backoff", "0.4"])
        .args(extra)
        .env("RUST_LOG", "info,ctp_server::notify=debug")
        .start()
}

/// A tenant: its service view and measurement, a customer and an agent.
struct Tenant {
    tree: Tree,
    customer: Client,
    agent: Client,
}

async fn tenant(ctpd: &Ctpd, tag: &str) -> Tenant {
    let admin = ctpd.admin();
    let tree = Tree::build(&admin, &[tag], false).await;
    let customer = admin.create("accounts", json!({"name": "customer", "accountTags": ["role:user", tag]})).await;
    let agent = admin.create("accounts", json!({"name": "agent", "accountTags": ["role:agent", tag]})).await;
    Tenant {
        tree,
        customer: ctpd.client(customer["token"].as_str().unwrap()),
        agent: ctpd.client(agent["token"].as_str().unwrap()),
    }
}

impl Tenant {
    fn triggers(&self) -> String {
        format!("{}/triggers", api_path(&link(&self.tree.view)))
    }

    /// Creates a trigger that fires at level 7 or more; the answer's status and body.
    async fn trigger(&self, notification: &str) -> (StatusCode, Value) {
        let body = json!({"name": "high level", "measurement": link(&self.tree.measurement),
                          "condition": "value[0].level >= 7", "notification": notification, "guardTime": 0});
        self.customer.post(&self.triggers(), body).await
    }

    /// Pushes a result that makes the triggers fire.
    async fn fire(&self) {
        let measurement = api_path(&link(&self.tree.measurement));
        let (status, body) =
            self.agent.put(&format!("{measurement}?x=result"), json!({"result": {"value": [{"level": 9}]}})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

/// A listener that counts the connections it accepts; it answers each request `204` and
/// reports when it arrived, or (`hang`) reads nothing and never answers.
struct Recorder {
    address: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: mpsc::UnboundedReceiver<(String, Instant)>,
}

impl Recorder {
    async fn start(ip: IpAddr, hang: bool) -> Recorder {
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let address = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let (tx, requests) = mpsc::unbounded_channel();
        let counted = Arc::clone(&connections);
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                if hang {
                    held.push(stream);
                    continue;
                }
                let tx = tx.clone();
                tokio::spawn(async move {
                    let Some(request_line) = read_request(&mut stream).await else { return };
                    let _ = tx.send((request_line, Instant::now()));
                    let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n").await;
                });
            }
        });
        Recorder { address, connections, requests }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The next request's first line and arrival time.
    async fn next(&mut self) -> (String, Instant) {
        tokio::time::timeout(Duration::from_secs(20), self.requests.recv()).await.expect("a request arrives").unwrap()
    }
}

/// Reads one HTTP/1.1 request (head and `content-length` body); returns its first line.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        received.extend_from_slice(&chunk[..n]);
        let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&received[..end]).into_owned();
        let length = head
            .lines()
            .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        if received.len() >= end + 4 + length {
            return head.lines().next().map(str::to_owned);
        }
    }
}

/// Creates a trigger that must be refused: 400, the error containing `reason`.
async fn assert_refused(tenant: &Tenant, notification: &str, reason: &str) {
    let (status, body) = tenant.trigger(notification).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{notification:?}: {body}");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(message.contains(reason), "{notification:?}: {message:?} should say {reason:?}");
}

#[tokio::test]
async fn targets_that_would_reach_inside_are_refused_at_creation() {
    let dir = tempfile::tempdir().unwrap();
    let ctpd = start(dir.path(), free_port(), &[]);
    let recorder = Recorder::start(IpAddr::from([127, 0, 0, 1]), false).await;
    let r = recorder.address.port();
    let own = ctpd.port;
    let tenant = tenant(&ctpd, "tenant:a").await;

    let loopback = "127.0.0.1 is a loopback address; see --webhook-allow-private or --webhook-allow-network";
    let refused = [
        ("http://169.254.169.254/latest/meta-data/".to_owned(), "169.254.169.254 is a link-local address"),
        (format!("http://127.0.0.1:{own}/api/1.0/serviceViews"), loopback),
        (format!("http://127.0.0.1:{r}/hook"), loopback),
        (format!("http://2130706433:{r}/"), loopback),
        (format!("http://0x7f000001:{r}/"), loopback),
        (format!("http://127.1:{r}/"), loopback),
        (format!("http://0177.0.0.1:{r}/"), loopback),
        (format!("http://127.0.0.1.:{r}/"), loopback),
        (format!("http://[::ffff:127.0.0.1]:{r}/"), "IPv4-mapped form of 127.0.0.1, a loopback address"),
        (format!("http://[::1]:{r}/"), "::1 is a loopback address"),
        (format!("http://0.0.0.0:{r}/"), "the unspecified address"),
        ("http://10.0.0.1/".to_owned(), "10.0.0.1 is a private address"),
        ("http://172.16.5.4/".to_owned(), "a private address"),
        ("http://192.168.1.10/".to_owned(), "a private address"),
        ("http://100.64.0.1/".to_owned(), "CGNAT"),
        ("http://[fd00::1]/".to_owned(), "a unique-local address"),
        ("http://[fe80::1]/".to_owned(), "a link-local address"),
        ("http://224.0.0.1/".to_owned(), "a multicast address"),
        ("http://255.255.255.255/".to_owned(), "the broadcast address"),
        ("http://192.0.2.1/".to_owned(), "a documentation address"),
        ("http://240.0.0.1/".to_owned(), "a reserved address"),
        ("http://[64:ff9b::a9fe:a9fe]/".to_owned(), "NAT64 form of 169.254.169.254"),
        (
            "http://metadata.google.internal/computeMetadata/v1/".to_owned(),
            "metadata.google.internal is an internal name",
        ),
        (format!("http://localhost:{r}/"), "localhost is an internal name"),
        (format!("http://ctpd.localhost:{r}/"), "ctpd.localhost is an internal name"),
        // Forms refused whatever the address policy.
        ("https://hooks.example.com/a\r\nX-Injected: 1".to_owned(), "control character U+000D"),
        ("https://hooks.example.com/a\nb".to_owned(), "control character U+000A"),
        ("https://hooks.exa\tmple.com/".to_owned(), "control character U+0009"),
        // U+0000 is refused in any request string, before the URL is read.
        ("https://hooks.example.com/\0".to_owned(), "holds U+0000"),
        ("https://user:pass@hooks.example.com/".to_owned(), "user name or password"),
        ("ftp://hooks.example.com/".to_owned(), "unsupported scheme"),
        ("file:///etc/passwd".to_owned(), "unsupported scheme"),
        (format!("gopher://127.0.0.1:{r}/_"), "unsupported scheme"),
    ];
    for (notification, reason) in &refused {
        assert_refused(&tenant, notification, reason).await;
    }
    let triggers = tenant.customer.get_ok(&tenant.triggers()).await;
    assert_eq!(triggers["collectionLength"], 0, "nothing was created");

    // A public name is accepted (it is resolved and checked when a notification is sent;
    // nothing is pushed here, so nothing is sent).
    let (status, body) = tenant.trigger("https://hooks.example.com/ctp").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(recorder.connections(), 0, "no connection to the listener on 127.0.0.1");
}

#[tokio::test]
async fn https_can_be_required_in_the_configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ctpd.toml"), "webhook_require_https = true\nwebhook_allow_private = true\n")
        .unwrap();
    let ctpd = start(dir.path(), free_port(), &["--config", "ctpd.toml"]);
    let tenant = tenant(&ctpd, "tenant:a").await;
    assert_refused(&tenant, "http://hooks.example.com/ctp", "only over https").await;
    assert_refused(&tenant, "http://127.0.0.1:9/ctp", "only over https").await;
    let (status, body) = tenant.trigger("https://127.0.0.1:9/ctp").await;
    assert_eq!(status, StatusCode::CREATED, "allowed by webhook_allow_private: {body}");
    let (status, body) = tenant.trigger("xmpp:desk@hospital.example").await;
    assert_eq!(status, StatusCode::CREATED, "XMPP is not concerned: {body}");
}

#[test]
fn invalid_outbound_settings_stop_ctpd_at_start() {
    for (flag, value, key) in [
        ("--webhook-allow-network", "10.0.0.0/33", "webhook_allow_network"),
        ("--webhook-allow-network", "hooks.example.com", "webhook_allow_network"),
        ("--delivery-host-concurrency", "0", "delivery_host_concurrency"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ctpd"))
            .current_dir(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0", "--database", "sqlite:ctpd.db", flag, value])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ctpd runs");
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("ctpd started with {flag} {value}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(!status.success(), "{flag} {value}");
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(stderr.contains(key), "{flag} {value}: {stderr}");
    }
}

/// The job of the newest log entry, once its attempt is recorded.
async fn finished_job(admin: &Client) -> Value {
    wait_for("an attempt to be recorded", || async {
        admin.get_ok("deliveries").await["collection"][0]["attempts"].as_u64() >= Some(1)
    })
    .await;
    admin.get_ok("deliveries").await["collection"][0].clone()
}

#[tokio::test]
async fn a_literal_address_refused_at_delivery_fails_at_once_without_a_connection() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut recorder = Recorder::start(IpAddr::from([127, 0, 0, 1]), false).await;
    let hook = format!("http://{}/hook", recorder.address);

    // Created while the operator allowed private addresses...
    let ctpd = start(dir.path(), port, &["--webhook-allow-private"]);
    let tenant = tenant(&ctpd, "tenant:a").await;
    let (status, body) = tenant.trigger(&hook).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    drop(ctpd);

    // ...and fired after a restart without the flag: refused, failed at the first attempt.
    let ctpd = start(dir.path(), port, &["--delivery-attempts", "10"]);
    tenant.fire().await;
    let job = finished_job(&ctpd.admin()).await;
    assert_eq!((job["state"].as_str(), job["attempts"].as_u64()), (Some("failed"), Some(1)), "{job}");
    assert_eq!(
        job["lastError"],
        "refused: 127.0.0.1 is a loopback address; see --webhook-allow-private or --webhook-allow-network"
    );
    assert_eq!(recorder.connections(), 0, "no connection was attempted");
    assert!(ctpd.admin().text("/metrics").await.contains("ctpd_deliveries_failed_total{channel=\"webhook\"} 1"));

    // Once the operator allows the address, an administrator's retry delivers it.
    drop(ctpd);
    let ctpd = start(dir.path(), port, &["--webhook-allow-network", "127.0.0.1/32"]);
    let (status, retried) =
        ctpd.admin().put(&format!("{}?x=retry", api_path(job["self"].as_str().unwrap())), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!(recorder.next().await.0, "POST /hook HTTP/1.1");
}

/// A name of `/etc/hosts` that stands only for IPv4 loopback addresses and that ctpd does
/// not refuse by name, with its address: on Debian the machine's own name (127.0.1.1).
/// Resolving it reads the file; no DNS server is asked.
fn loopback_name_in_hosts_file() -> Option<(String, IpAddr)> {
    let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
    let entries: Vec<(IpAddr, String)> = hosts
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let address = fields.next()?.parse::<IpAddr>().ok()?;
            Some(fields.map(move |name| (address, name.to_ascii_lowercase())).collect::<Vec<_>>())
        })
        .flatten()
        .collect();
    entries.iter().find_map(|(address, name)| {
        let only_loopback_v4 = entries.iter().filter(|(_, n)| n == name).all(|(a, _)| a.is_ipv4() && a.is_loopback());
        let internal = name.contains("localhost") || name.starts_with("ip6-");
        let resolved: Vec<SocketAddr> = (name.as_str(), 0).to_socket_addrs().ok()?.collect();
        (only_loopback_v4 && !internal && !resolved.is_empty() && resolved.iter().all(|a| a.ip() == *address))
            .then(|| (name.clone(), *address))
    })
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_at_delivery_without_a_connection() {
    let Some((name, address)) = loopback_name_in_hosts_file() else {
        eprintln!("skipped: /etc/hosts names no loopback address other than localhost");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut recorder = Recorder::start(address, false).await;
    let hook = format!("http://{name}:{}/hook", recorder.address.port());
    let ctpd = start(dir.path(), port, &["--delivery-attempts", "10"]);
    let tenant = tenant(&ctpd, "tenant:a").await;
    let (status, body) = tenant.trigger(&hook).await;
    assert_eq!(status, StatusCode::CREATED, "a name is checked once resolved: {body}");
    tenant.fire().await;
    let job = finished_job(&ctpd.admin()).await;
    assert_eq!((job["state"].as_str(), job["attempts"].as_u64()), (Some("failed"), Some(1)), "{job}");
    assert_eq!(
        job["lastError"].as_str().unwrap(),
        format!(
            "refused: {name} resolves to {address}, a loopback address; \
             see --webhook-allow-private or --webhook-allow-network"
        )
    );
    assert_eq!(recorder.connections(), 0, "no connection was attempted");

    // The same name reaches the listener once its network is allowed (in the file).
    drop(ctpd);
    std::fs::write(dir.path().join("ctpd.toml"), "webhook_allow_network = [\"127.0.0.0/8\"]\n").unwrap();
    let ctpd = start(dir.path(), port, &["--config", "ctpd.toml"]);
    let (status, retried) =
        ctpd.admin().put(&format!("{}?x=retry", api_path(job["self"].as_str().unwrap())), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!(recorder.next().await.0, "POST /hook HTTP/1.1");
    assert_eq!(recorder.connections(), 1);
}

/// Tenant A has 100 triggers (more than the 64 attempts in flight in all) whose receiver
/// accepts connections and never answers; tenant B's alert still arrives at once, and A's
/// receiver gets `per_host` attempts at a time.
async fn hanging_receivers_do_not_delay_another_tenant(extra: &[&str], per_host: usize) {
    let dir = tempfile::tempdir().unwrap();
    let flags = [&["--webhook-allow-private", "--delivery-timeout", "10"], extra].concat();
    let ctpd = start(dir.path(), free_port(), &flags);
    let hanging = Recorder::start(IpAddr::from([127, 0, 0, 1]), true).await;
    let mut answering = Recorder::start(IpAddr::from([127, 0, 0, 1]), false).await;

    let a = tenant(&ctpd, "tenant:a").await;
    for i in 0..100 {
        let (status, body) = a.trigger(&format!("http://{}/hook-{i}", hanging.address)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let b = tenant(&ctpd, "tenant:b").await;
    let (status, body) = b.trigger(&format!("http://{}/hook", answering.address)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    a.fire().await;
    wait_for("A's attempts to hang", || async { hanging.connections() >= per_host }).await;
    let pushed = Instant::now();
    b.fire().await;
    let (request, arrived) = answering.next().await;
    assert_eq!(request, "POST /hook HTTP/1.1");
    let delay = arrived.saturating_duration_since(pushed);
    assert!(delay < Duration::from_secs(2), "B's notification took {delay:?}");
    assert_eq!(hanging.connections(), per_host, "A's receiver gets {per_host} attempts at a time");

    let jobs = ctpd.admin().get_ok("deliveries?state=pending").await;
    assert_eq!(jobs["collectionLength"], 100, "A's jobs wait, none lost");
}

#[tokio::test]
async fn hanging_receivers_of_one_tenant_do_not_delay_another_tenant() {
    hanging_receivers_do_not_delay_another_tenant(&[], 4).await;
}

#[tokio::test]
async fn the_attempts_per_host_can_be_set() {
    hanging_receivers_do_not_delay_another_tenant(&["--delivery-host-concurrency", "2"], 2).await;
}
