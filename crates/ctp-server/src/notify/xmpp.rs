//! XMPP notifications: ctpd logs in as its own account and sends each log entry as a
//! `chat` message. One connection is kept (tokio-xmpp reconnects it after a failure).
//!
//! A message written to the socket is not yet received: after each message the sender
//! pings the server (XEP-0199) and counts the message delivered only when the answer
//! comes, since the server handles a session's stanzas in order. A message whose ping is
//! lost is sent again later (at-least-once; receivers drop duplicates by message `id`).

use std::str::FromStr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_xmpp::connect::DnsConfig;
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::parsers::message::{Id, Lang, Message, MessageType};
use tokio_xmpp::parsers::ping::Ping;
use tokio_xmpp::parsers::presence::{Presence, Type as PresenceType};
use tokio_xmpp::xmlstream::Timeouts;
use tokio_xmpp::{Client, Event, IqRequest, IqResponse};

/// How ctpd's XMPP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XmppTls {
    /// STARTTLS, verified against the system's trust store (required).
    StartTls,
    /// No TLS: only for a server on the loopback interface.
    Off,
}

/// ctpd's XMPP account.
#[derive(Debug, Clone)]
pub struct XmppSettings {
    /// ctpd's own address.
    pub jid: BareJid,
    /// Its password.
    pub password: String,
    /// `HOST:PORT` of the server; default the JID's domain, port 5222.
    pub server: Option<String>,
    /// TLS mode.
    pub tls: XmppTls,
}

impl XmppSettings {
    /// Parses a JID for [`XmppSettings::jid`].
    pub fn parse_jid(text: &str) -> Result<BareJid, String> {
        BareJid::from_str(text).map_err(|e| format!("invalid XMPP address {text:?}: {e}"))
    }
}

struct Outgoing {
    to: BareJid,
    id: String,
    subject: Option<&'static str>,
    body: String,
    done: oneshot::Sender<Result<(), String>>,
}

/// A handle to the connection task; cloning shares the connection.
#[derive(Clone)]
pub struct XmppSender {
    queue: mpsc::Sender<Outgoing>,
    timeout: Duration,
}

impl XmppSender {
    /// Starts the connection (it connects at once and keeps reconnecting) on a thread of
    /// its own, so that nothing the XMPP client does can hold up the server or the other
    /// channels.
    pub fn start(settings: XmppSettings, timeout: Duration) -> std::io::Result<XmppSender> {
        let (queue, outgoing) = mpsc::channel(256);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new()
            .name("ctpd-xmpp".into())
            .spawn(move || runtime.block_on(connection(settings, outgoing, timeout)))?;
        Ok(XmppSender { queue, timeout })
    }

    /// Sends one message (with a subject, if given) and waits until the server has it, or
    /// fails after the timeout.
    pub async fn send(
        &self,
        to: BareJid,
        id: String,
        subject: Option<&'static str>,
        body: String,
    ) -> Result<(), String> {
        let (done, answer) = oneshot::channel();
        let attempt = async {
            self.queue
                .send(Outgoing { to, id, subject, body, done })
                .await
                .map_err(|_| "the XMPP task has stopped".to_owned())?;
            answer
                .await
                .map_err(|_| "the XMPP connection was reset before the server acknowledged the message".to_owned())?
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "the XMPP server did not acknowledge the message within {:?} (is it reachable?)",
                self.timeout
            )),
        }
    }
}

fn new_client(settings: &XmppSettings) -> Client {
    let dns = match &settings.server {
        Some(server) => match server.rsplit_once(':').and_then(|(host, port)| Some((host, port.parse().ok()?))) {
            Some((host, port)) => DnsConfig::no_srv(host, port),
            None => DnsConfig::no_srv(server, 5222),
        },
        None => DnsConfig::no_srv(settings.jid.domain().as_str(), 5222),
    };
    let timeouts = Timeouts { read_timeout: Duration::from_secs(60), response_timeout: Duration::from_secs(30) };
    match settings.tls {
        XmppTls::StartTls => Client::new_starttls(settings.jid.clone(), settings.password.clone(), dns, timeouts),
        XmppTls::Off => Client::new_plaintext(settings.jid.clone(), settings.password.clone(), dns, timeouts),
    }
}

/// Owns the client: polls its events (which keeps it connected) and sends queued messages.
/// A send that does not complete within `timeout` means a dead stream that the client has
/// not noticed: the client is replaced by a new connection.
async fn connection(settings: XmppSettings, mut outgoing: mpsc::Receiver<Outgoing>, timeout: Duration) {
    let mut client = new_client(&settings);
    let (online_tx, online) = watch::channel(false);
    loop {
        tokio::select! {
            event = client.next() => match event {
                Some(Event::Online { bound_jid, .. }) => {
                    tracing::info!(jid = %bound_jid, "XMPP connection online");
                    // Available presence, as a client is expected to send (RFC 6121).
                    let presence = client.send_stanza(Presence::new(PresenceType::None).into());
                    let _ = tokio::time::timeout(timeout, presence).await;
                    let _ = online_tx.send(true);
                }
                Some(Event::Disconnected(error)) => {
                    tracing::warn!(%error, "XMPP connection lost; reconnecting");
                    let _ = online_tx.send(false);
                }
                Some(Event::Stanza(_)) => {}
                None => {
                    tracing::warn!("XMPP client ended; starting a new one");
                    let _ = online_tx.send(false);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    client = new_client(&settings);
                }
            },
            message = outgoing.recv(), if *online.borrow() => {
                let Some(message) = message else { break };
                // An attempt that timed out while the connection was down is retried by
                // the worker as a new message; this one is dropped.
                if !message.done.is_closed() && tokio::time::timeout(timeout, send_one(&mut client, message)).await.is_err() {
                    tracing::warn!("the XMPP connection does not take messages; connecting again");
                    let _ = online_tx.send(false);
                    client = new_client(&settings);
                }
            }
        }
    }
    let _ = client.send_end().await;
}

/// Writes a message and a ping; the ping's answer, awaited in its own task so that the
/// connection keeps being polled, completes the message.
async fn send_one(client: &mut Client, message: Outgoing) {
    let mut stanza = Message::new(Some(Jid::from(message.to)));
    stanza.type_ = MessageType::Chat;
    stanza.id = Some(Id(message.id));
    if let Some(subject) = message.subject {
        stanza.subjects.insert(Lang::default(), subject.to_owned());
    }
    stanza.bodies.insert(Lang::default(), message.body);
    if let Err(e) = client.send_stanza(stanza.into()).await {
        let _ = message.done.send(Err(format!("cannot send the XMPP message: {e}")));
        return;
    }
    let ping = client.send_iq(None, IqRequest::Get(Ping.into())).await;
    tokio::spawn(async move {
        let outcome = match ping.await {
            Ok(IqResponse::Result(_)) | Ok(IqResponse::Error(_)) => Ok(()),
            Err(e) => Err(format!("the XMPP server did not acknowledge the message: {e}")),
        };
        let _ = message.done.send(outcome);
    });
}
