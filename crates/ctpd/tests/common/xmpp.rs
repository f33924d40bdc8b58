//! A Prosody XMPP server of the test's own (its port, its folder, accounts for ctpd and a
//! customer) and the customer's XMPP client, for the tests of the real binary
//! (`#[path = "common/xmpp.rs"] mod xmpp;`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use ctp_test_support::free_port;
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// A Prosody server of the test's own: its configuration, a port and a folder.
pub struct Prosody {
    pub dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
    tls: bool,
}

/// A CA and a leaf certificate for `localhost` signed by it (webpki refuses a self-signed
/// CA:TRUE certificate as a server's), with openssl.
pub fn make_test_ca_and_certificate(certs: &Path) {
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl").args(args).current_dir(certs).stderr(Stdio::null()).status().unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(
        &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=ctpd test CA"]
            .into_iter()
            .chain(["-keyout", "ca.key", "-out", "ca.crt", "-addext", "basicConstraints=critical,CA:TRUE"])
            .chain(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            .collect::<Vec<_>>(),
    );
    openssl(
        &["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "localhost.key"]
            .into_iter()
            .chain(["-out", "localhost.csr"])
            .collect::<Vec<_>>(),
    );
    std::fs::write(
        certs.join("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n\
         keyUsage=critical,digitalSignature,keyEncipherment\n",
    )
    .unwrap();
    openssl(
        &["x509", "-req", "-in", "localhost.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"]
            .into_iter()
            .chain(["-days", "30", "-extfile", "leaf.ext", "-out", "localhost.crt"])
            .collect::<Vec<_>>(),
    );
}

pub const CTPD_JID: &str = "ctpd@localhost";
pub const CTPD_PASSWORD: &str = "ctpd-secret";
pub const CUSTOMER_JID: &str = "customer@localhost";
pub const CUSTOMER_PASSWORD: &str = "customer-secret";

impl Prosody {
    pub fn config() -> String {
        format!("{}/tests/fixtures/prosody.cfg.lua", env!("CARGO_MANIFEST_DIR"))
    }

    pub fn prosodyctl(&self, args: &[&str]) {
        let status = Command::new("prosodyctl")
            .args(["--config", &Prosody::config()])
            .args(args)
            .env("PROSODY_DIR", &self.dir)
            .env("PROSODY_PORT", self.port.to_string())
            .env("PROSODY_TLS", if self.tls { "1" } else { "0" })
            .stdout(Stdio::null())
            .status()
            .expect("prosodyctl runs (scripts/test installs Prosody)");
        assert!(status.success(), "prosodyctl {args:?}");
    }

    pub fn start(dir: &Path) -> Prosody {
        Prosody::start_with(dir, false)
    }

    /// With `tls`, the server offers STARTTLS with a certificate for `localhost` from a CA
    /// of the test's own (`certs/ca.crt`); clients may still log in without it.
    pub fn start_with(dir: &Path, tls: bool) -> Prosody {
        let dir = dir.join("prosody");
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::create_dir_all(dir.join("certs")).unwrap();
        if tls {
            make_test_ca_and_certificate(&dir.join("certs"));
        }
        let mut prosody = Prosody { dir, port: free_port(), child: None, tls };
        prosody.prosodyctl(&["register", "ctpd", "localhost", CTPD_PASSWORD]);
        prosody.prosodyctl(&["register", "customer", "localhost", CUSTOMER_PASSWORD]);
        prosody.resume();
        prosody
    }

    /// Starts the server (again) on the same port and folder.
    pub fn resume(&mut self) {
        let child = Command::new("prosody")
            .args(["--config", &Prosody::config(), "-F"])
            .env("PROSODY_DIR", &self.dir)
            .env("PROSODY_PORT", self.port.to_string())
            .env("PROSODY_TLS", if self.tls { "1" } else { "0" })
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prosody starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "prosody did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    pub fn ctpd_flags(&self) -> Vec<String> {
        ["--xmpp-jid", CTPD_JID, "--xmpp-password", CTPD_PASSWORD, "--xmpp-tls", "off", "--xmpp-server"]
            .into_iter()
            .map(str::to_owned)
            .chain([format!("127.0.0.1:{}", self.port)])
            .collect()
    }
}

impl Drop for Prosody {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A chat message as the customer's client got it.
pub struct Chat {
    pub from: String,
    pub id: String,
    pub subject: Option<String>,
    pub body: String,
}

/// The customer's XMPP client: online, with available presence, collecting messages.
pub async fn customer_client(port: u16) -> mpsc::UnboundedReceiver<Chat> {
    use tokio_xmpp::parsers::message::{Message, MessageType};
    use tokio_xmpp::parsers::presence::{Presence, Type};
    let jid = tokio_xmpp::jid::BareJid::from_str(CUSTOMER_JID).unwrap();
    let mut client = tokio_xmpp::Client::new_plaintext(
        jid,
        CUSTOMER_PASSWORD,
        tokio_xmpp::connect::DnsConfig::addr(&format!("127.0.0.1:{port}")),
        tokio_xmpp::xmlstream::Timeouts::default(),
    );
    let (tx, rx) = mpsc::unbounded_channel();
    let (online_tx, online) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut online_tx = Some(online_tx);
        while let Some(event) = client.next().await {
            match event {
                tokio_xmpp::Event::Online { .. } => {
                    client.send_stanza(Presence::new(Type::None).into()).await.unwrap();
                    if let Some(online) = online_tx.take() {
                        let _ = online.send(());
                    }
                }
                tokio_xmpp::Event::Stanza(stanza) => {
                    if let Ok(message) = Message::try_from(stanza) {
                        if message.type_ == MessageType::Chat {
                            let _ = tx.send(Chat {
                                from: message.from.map(|f| f.to_bare().to_string()).unwrap_or_default(),
                                id: message.id.map(|id| id.0).unwrap_or_default(),
                                subject: message.subjects.values().next().cloned(),
                                // Prosody sets xml:lang="en": take whichever body there is.
                                body: message.bodies.values().next().cloned().unwrap_or_default(),
                            });
                        }
                    }
                }
                tokio_xmpp::Event::Disconnected(_) => {}
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(20), online).await.expect("the customer gets online").unwrap();
    rx
}

pub async fn next_chat(chats: &mut mpsc::UnboundedReceiver<Chat>) -> Chat {
    tokio::time::timeout(Duration::from_secs(30), chats.recv()).await.expect("a chat message arrives").unwrap()
}
