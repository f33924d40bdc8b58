//! Receiving csyslogd messages on UDP and TCP: what a manager configured with
//! `<syslog_output>` sends (`ossec-csyslogd`, `wazuh-csyslogd`, or a relay in between).
//!
//! - UDP: one datagram is one message (one trailing `\n` or `\r\n` and trailing NULs are
//!   removed).
//! - TCP (RFC 6587): each frame is either octet-counted (`MSG-LEN SP SYSLOG-MSG`, the length
//!   in digits without a leading zero) or ends with LF (or NUL; a CR before it is removed),
//!   decided frame by frame. One task per connection, at most
//!   [`SyslogSource::max_connections`] of them; a connection silent for
//!   [`SyslogSource::idle_timeout`] is closed.
//!
//! Senders outside [`SyslogSource::allow`] are not read: each of their datagrams, and each
//! of their connections (closed at once), is a [`Skipped`] record with reason
//! [`SkipReason::NotAllowed`]. A message longer than [`SyslogSource::max_message`] is
//! skipped ([`SkipReason::TooLong`]) without being held in memory, and the next one on the
//! same connection is read. Every message is parsed with `ossec-alerts`
//! ([`Format::Syslog`]); what it cannot read is skipped as [`SkipReason::Unreadable`].

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ipnet::IpNet;
use ossec_alerts::{Alert, Context, Format, Parser};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::{Arrival, SkipReason, Skipped};

/// The receive buffer asked for the UDP socket, so that bursts wait in the kernel while an
/// arrival waits for room in the channel (the kernel may grant less).
const UDP_RECEIVE_BUFFER: usize = 4 << 20;

/// The most bytes read from a TCP connection at once.
const TCP_READ_CHUNK: usize = 16 << 10;

/// The most digits of an octet count (RFC 6587 `MSG-LEN`); a frame starting with more
/// digits than this is read as ending with LF.
const MAX_LENGTH_DIGITS: usize = 18;

/// The configuration of a syslog receiver.
#[derive(Debug, Clone)]
pub struct SyslogSource {
    /// The source's name, copied into [`Arrival::source`].
    pub name: Arc<str>,
    /// Where to receive UDP datagrams (none when `None`; port 0 for an ephemeral port).
    pub udp: Option<SocketAddr>,
    /// Where to accept TCP connections (none when `None`; port 0 for an ephemeral port).
    pub tcp: Option<SocketAddr>,
    /// The networks senders may be in; empty: loopback addresses only. Datagrams from
    /// elsewhere are skipped ([`SkipReason::NotAllowed`]), connections from elsewhere closed
    /// at once (and skipped once each).
    pub allow: Vec<IpNet>,
    /// The longest message read, in bytes (64 KiB by default); longer ones are skipped
    /// ([`SkipReason::TooLong`]).
    pub max_message: usize,
    /// The most TCP connections open at once (256 by default); connections beyond it are
    /// closed when accepted.
    pub max_connections: usize,
    /// How long a TCP connection may stay without data before it is closed (5 minutes by
    /// default).
    pub idle_timeout: Duration,
    /// The most records (alerts and skipped ones) in one [`Arrival`] (5000 by default).
    pub max_batch: usize,
}

impl SyslogSource {
    /// A source named `name` with the default limits and no address (set
    /// [`SyslogSource::udp`] and/or [`SyslogSource::tcp`]).
    pub fn new(name: impl Into<Arc<str>>) -> SyslogSource {
        SyslogSource {
            name: name.into(),
            udp: None,
            tcp: None,
            allow: Vec::new(),
            max_message: 64 << 10,
            max_connections: 256,
            idle_timeout: Duration::from_secs(5 * 60),
            max_batch: 5000,
        }
    }

    /// Whether a sender at `ip` may send (see [`SyslogSource::allow`]).
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        if self.allow.is_empty() {
            ip.is_loopback()
        } else {
            self.allow.iter().any(|net| net.contains(&ip))
        }
    }
}

/// A syslog source whose sockets are bound, ready to [`run`](BoundSyslog::run).
#[derive(Debug)]
pub struct BoundSyslog {
    config: Arc<SyslogSource>,
    udp: Option<UdpSocket>,
    tcp: Option<TcpListener>,
}

/// Binds the source's sockets, so that bind errors (and ephemeral ports) are known before
/// it runs. The UDP socket gets a large receive buffer where the system allows it.
pub async fn bind(source: SyslogSource) -> io::Result<BoundSyslog> {
    let udp = match source.udp {
        Some(addr) => Some(bind_udp(addr).map_err(|e| context(e, "udp", addr))?),
        None => None,
    };
    let tcp = match source.tcp {
        Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| context(e, "tcp", addr))?),
        None => None,
    };
    Ok(BoundSyslog { config: Arc::new(source), udp, tcp })
}

/// An I/O error saying which address it is about.
fn context(error: io::Error, protocol: &str, addr: SocketAddr) -> io::Error {
    io::Error::new(error.kind(), format!("binding {protocol} {addr}: {error}"))
}

/// A UDP socket bound to `addr` with a large receive buffer (when granted).
fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if let Err(error) = socket.set_recv_buffer_size(UDP_RECEIVE_BUFFER) {
        tracing::debug!(%addr, %error, "could not enlarge the UDP receive buffer");
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

impl BoundSyslog {
    /// The address UDP datagrams are received on.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// The address TCP connections are accepted on.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// Receives until `tx` is closed (then returns `Ok`), handing over what is available at
    /// once as one [`Arrival`] (at most [`SyslogSource::max_batch`] records, no position).
    /// Errors on a socket are logged and receiving goes on.
    pub async fn run(self, tx: mpsc::Sender<Arrival>) -> io::Result<()> {
        let mut tasks = JoinSet::new();
        if let Some(socket) = self.udp {
            tasks.spawn(receive_udp(socket, self.config.clone(), tx.clone()));
        }
        if let Some(listener) = self.tcp {
            tasks.spawn(accept_tcp(listener, self.config.clone(), tx.clone()));
        }
        loop {
            tokio::select! {
                _ = tx.closed() => return Ok(()),
                done = tasks.join_next() => match done {
                    Some(Ok(Ok(()))) => {}
                    Some(Ok(Err(error))) => return Err(error),
                    Some(done) => propagate_panic(done),
                    // Nothing to receive on, or every receiver saw the channel closed.
                    None => {
                        tx.closed().await;
                        return Ok(());
                    }
                },
            }
        }
    }
}

/// The records read since the last arrival.
struct Batch {
    source: Arc<str>,
    alerts: Vec<Alert>,
    skipped: Vec<Skipped>,
}

impl Batch {
    fn new(source: &Arc<str>) -> Batch {
        Batch { source: source.clone(), alerts: Vec::new(), skipped: Vec::new() }
    }

    fn len(&self) -> usize {
        self.alerts.len() + self.skipped.len()
    }

    fn skip(&mut self, origin: &str, reason: SkipReason, detail: String) {
        tracing::debug!(source = %self.source, origin, reason = reason.as_str(), detail, "syslog message skipped");
        self.skipped.push(Skipped { origin: origin.to_owned(), reason, detail });
    }

    /// Parses one message (its framing removed) into an alert or a skipped record; an
    /// empty message is nothing.
    fn read(&mut self, parser: &mut Parser, message: &[u8], origin: &str) {
        let text = String::from_utf8_lossy(message);
        parser.set_now(Utc::now());
        if let Some(record) = parser.push_line(&text) {
            match record.outcome {
                Ok(alert) => self.alerts.push(alert),
                Err(detail) => self.skip(origin, SkipReason::Unreadable, detail),
            }
        }
    }

    /// The arrival of what was read (`None` when nothing was), leaving the batch empty.
    fn take(&mut self) -> Option<Arrival> {
        if self.len() == 0 {
            return None;
        }
        Some(Arrival {
            source: self.source.clone(),
            alerts: std::mem::take(&mut self.alerts),
            skipped: std::mem::take(&mut self.skipped),
            position: None,
        })
    }

    /// Sends what was read; `false` when the channel is closed.
    async fn send(&mut self, tx: &mpsc::Sender<Arrival>) -> bool {
        match self.take() {
            Some(arrival) => tx.send(arrival).await.is_ok(),
            None => !tx.is_closed(),
        }
    }
}

/// A parser of syslog messages.
fn parser() -> Parser {
    Parser::new(Format::Syslog, Context { now: Utc::now() })
}

/// Receives datagrams until the channel is closed.
async fn receive_udp(socket: UdpSocket, config: Arc<SyslogSource>, tx: mpsc::Sender<Arrival>) -> io::Result<()> {
    // A datagram is at most 65535 bytes; one byte more tells a longer message limit apart.
    let mut buffer = vec![0u8; 65536];
    let mut parser = parser();
    let mut batch = Batch::new(&config.name);
    let max_batch = config.max_batch.max(1);
    loop {
        let received = tokio::select! {
            _ = tx.closed() => return Ok(()),
            received = socket.recv_from(&mut buffer) => received,
        };
        match received {
            Ok((len, peer)) => datagram(&config, &mut parser, &mut batch, &buffer[..len], peer),
            Err(error) => {
                tracing::warn!(source = %config.name, %error, "receiving a syslog datagram");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        }
        while batch.len() < max_batch {
            match socket.try_recv_from(&mut buffer) {
                Ok((len, peer)) => datagram(&config, &mut parser, &mut batch, &buffer[..len], peer),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) => {
                    tracing::warn!(source = %config.name, %error, "receiving a syslog datagram");
                    break;
                }
            }
        }
        if !batch.send(&tx).await {
            return Ok(());
        }
    }
}

/// Reads one datagram into the batch.
fn datagram(config: &SyslogSource, parser: &mut Parser, batch: &mut Batch, bytes: &[u8], peer: SocketAddr) {
    let peer = canonical(peer);
    if !config.allows(peer.ip()) {
        let origin = format!("udp {peer}");
        batch.skip(&origin, SkipReason::NotAllowed, format!("{} is not in the allowed networks", peer.ip()));
        return;
    }
    if bytes.len() > config.max_message {
        let origin = format!("udp {peer}");
        let detail = format!("a message of {} bytes (the limit is {})", bytes.len(), config.max_message);
        batch.skip(&origin, SkipReason::TooLong, detail);
        return;
    }
    let mut message = bytes;
    while let [rest @ .., 0] = message {
        message = rest;
    }
    if let [rest @ .., b'\n'] = message {
        message = rest;
        if let [rest @ .., b'\r'] = message {
            message = rest;
        }
    }
    batch.read(parser, message, &format!("udp {peer}"));
}

/// The address of a sender as it is written in origins: IPv4 senders on a dual-stack
/// socket as IPv4 addresses.
fn canonical(peer: SocketAddr) -> SocketAddr {
    SocketAddr::new(peer.ip().to_canonical(), peer.port())
}

/// Accepts connections until the channel is closed, each read by a task of its own.
async fn accept_tcp(listener: TcpListener, config: Arc<SyslogSource>, tx: mpsc::Sender<Arrival>) -> io::Result<()> {
    // Dropped with this future: the connections' tasks end with it.
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = tx.closed() => return Ok(()),
            accepted = listener.accept() => accepted,
            Some(done) = connections.join_next() => {
                propagate_panic(done);
                continue;
            }
        };
        let (stream, peer) = match accepted {
            Ok((stream, peer)) => (stream, canonical(peer)),
            Err(error) => {
                // Out of file descriptors, most likely: wait for some to be closed.
                tracing::warn!(source = %config.name, %error, "accepting a syslog connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if !config.allows(peer.ip()) {
            drop(stream);
            let mut batch = Batch::new(&config.name);
            let detail = format!("{} is not in the allowed networks (connection closed)", peer.ip());
            batch.skip(&format!("tcp {peer}"), SkipReason::NotAllowed, detail);
            if !batch.send(&tx).await {
                return Ok(());
            }
            continue;
        }
        while let Some(done) = connections.try_join_next() {
            propagate_panic(done);
        }
        if connections.len() >= config.max_connections {
            tracing::warn!(
                source = %config.name,
                %peer,
                max_connections = config.max_connections,
                "too many syslog connections: closing the new one"
            );
            continue;
        }
        tracing::debug!(source = %config.name, %peer, "syslog connection");
        connections.spawn(read_tcp(stream, peer, config.clone(), tx.clone()));
    }
}

/// Panics again with the panic of a task that panicked.
fn propagate_panic<T>(done: Result<T, tokio::task::JoinError>) {
    if let Err(error) = done {
        if error.is_panic() {
            std::panic::resume_unwind(error.into_panic());
        }
    }
}

/// Reads one connection until its sender closes it, it stays idle too long, or the channel
/// is closed.
async fn read_tcp(mut stream: TcpStream, peer: SocketAddr, config: Arc<SyslogSource>, tx: mpsc::Sender<Arrival>) {
    let origin = format!("tcp {peer}");
    let mut frames = Frames::new(config.max_message);
    let mut parser = parser();
    let mut batch = Batch::new(&config.name);
    let max_batch = config.max_batch.max(1);
    loop {
        let spare = frames.spare(TCP_READ_CHUNK);
        let read = match tokio::time::timeout(config.idle_timeout, stream.read_buf(spare)).await {
            Ok(Ok(read)) => read,
            Ok(Err(error)) => {
                tracing::debug!(source = %config.name, %peer, %error, "syslog connection failed");
                0
            }
            Err(_) => {
                tracing::debug!(source = %config.name, %peer, "syslog connection idle: closing it");
                0
            }
        };
        let end = read == 0;
        loop {
            let frame = if end { frames.next_or_rest() } else { frames.next() };
            match frame {
                None => break,
                Some(Frame::Message(message)) => batch.read(&mut parser, &message, &origin),
                Some(Frame::Skipped(reason, detail)) => batch.skip(&origin, reason, detail),
            }
            if batch.len() >= max_batch && !batch.send(&tx).await {
                return;
            }
        }
        if !batch.send(&tx).await || end {
            return;
        }
    }
}

/// What the framing of a TCP stream yields.
#[derive(Debug, PartialEq, Eq)]
enum Frame {
    /// A message, its framing removed.
    Message(Vec<u8>),
    /// A message that is not read.
    Skipped(SkipReason, String),
}

/// What is being discarded of a message too long to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Discard {
    /// Nothing.
    Nothing,
    /// The rest of an octet-counted message: that many bytes.
    Bytes(u64),
    /// The rest of a message ending with LF (or NUL).
    Line,
}

/// RFC 6587 framing of a TCP stream: bytes pushed in, frames taken out. Holds at most one
/// message (of at most `max_message` bytes) and its octet count besides what was pushed
/// last.
struct Frames {
    /// What was received; the bytes before `start` are read already.
    bytes: Vec<u8>,
    start: usize,
    /// How much of the pending bytes is known not to hold a LF or NUL (for a frame ending with one).
    scanned: usize,
    discard: Discard,
    max_message: usize,
}

/// Whether a byte ends a non-transparently framed message.
fn is_trailer(byte: &u8) -> bool {
    matches!(byte, b'\n' | 0)
}

/// How a frame at the start of a buffer is framed.
enum Framing {
    /// Octet-counted: the length, and how many bytes the count and its space take.
    Counted(u64, usize),
    /// Ending with LF.
    Line,
    /// Not known yet: the buffer holds only digits.
    Unknown,
}

impl Frames {
    fn new(max_message: usize) -> Frames {
        Frames { bytes: Vec::new(), start: 0, scanned: 0, discard: Discard::Nothing, max_message }
    }

    /// The bytes received and not read yet.
    fn pending(&self) -> &[u8] {
        &self.bytes[self.start..]
    }

    /// Where to receive more bytes: the end of a vector holding only the pending ones,
    /// with room for `room` more.
    fn spare(&mut self, room: usize) -> &mut Vec<u8> {
        self.bytes.drain(..self.start);
        self.start = 0;
        if self.bytes.is_empty() && self.bytes.capacity() > 2 * room {
            // What a long message needed, given back.
            self.bytes = Vec::new();
        }
        self.bytes.reserve(room);
        &mut self.bytes
    }

    #[cfg(test)]
    fn push(&mut self, bytes: &[u8]) {
        self.spare(bytes.len()).extend_from_slice(bytes);
    }

    fn framing(&self) -> Framing {
        if !matches!(self.pending().first(), Some(b'1'..=b'9')) {
            return Framing::Line;
        }
        let digits = self.pending().iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > MAX_LENGTH_DIGITS {
            return Framing::Line;
        }
        match self.pending().get(digits) {
            None => Framing::Unknown,
            Some(b' ') => {
                let length = std::str::from_utf8(&self.pending()[..digits]).ok().and_then(|d| d.parse().ok());
                length.map_or(Framing::Line, |length| Framing::Counted(length, digits + 1))
            }
            Some(_) => Framing::Line,
        }
    }

    /// Removes the first `n` bytes of the buffer.
    fn consume(&mut self, n: usize) {
        self.start += n;
        self.scanned = 0;
        if self.start == self.bytes.len() {
            self.bytes.clear();
            self.start = 0;
        }
    }

    /// The next complete frame, if any.
    fn next(&mut self) -> Option<Frame> {
        loop {
            match self.discard {
                Discard::Nothing => {}
                Discard::Bytes(left) => {
                    let n = usize::try_from(left).map_or(self.pending().len(), |left| left.min(self.pending().len()));
                    self.consume(n);
                    let left = left - n as u64;
                    if left > 0 {
                        self.discard = Discard::Bytes(left);
                        return None;
                    }
                    self.discard = Discard::Nothing;
                }
                Discard::Line => match self.pending().iter().position(is_trailer) {
                    Some(end) => {
                        self.consume(end + 1);
                        self.discard = Discard::Nothing;
                    }
                    None => {
                        self.consume(self.pending().len());
                        return None;
                    }
                },
            }
            if self.pending().is_empty() {
                return None;
            }
            match self.framing() {
                Framing::Unknown => return None,
                Framing::Counted(length, header) => {
                    if length > self.max_message as u64 {
                        self.consume(header);
                        self.discard = Discard::Bytes(length);
                        let detail =
                            format!("an octet-counted message of {length} bytes (the limit is {})", self.max_message);
                        return Some(Frame::Skipped(SkipReason::TooLong, detail));
                    }
                    let end = header + length as usize;
                    if self.pending().len() < end {
                        return None;
                    }
                    let message = self.pending()[header..end].to_vec();
                    self.consume(end);
                    return Some(Frame::Message(message));
                }
                Framing::Line => {
                    let found = self.pending()[self.scanned..].iter().position(is_trailer).map(|i| i + self.scanned);
                    // The length of the message without its CR.
                    let length = |end: usize| if end > 0 && self.pending()[end - 1] == b'\r' { end - 1 } else { end };
                    match found {
                        Some(end) if length(end) <= self.max_message => {
                            let mut message = self.pending()[..end].to_vec();
                            if message.last() == Some(&b'\r') {
                                message.pop();
                            }
                            self.consume(end + 1);
                            if message.is_empty() {
                                // An empty line (or a NUL after a LF): no message.
                                continue;
                            }
                            return Some(Frame::Message(message));
                        }
                        Some(end) => {
                            self.consume(end + 1);
                            return Some(self.too_long_line());
                        }
                        // One byte more than the limit may be the CR before the LF.
                        None if self.pending().len() > self.max_message + 1 => {
                            self.consume(self.pending().len());
                            self.discard = Discard::Line;
                            return Some(self.too_long_line());
                        }
                        None => {
                            self.scanned = self.pending().len();
                            return None;
                        }
                    }
                }
            }
        }
    }

    fn too_long_line(&self) -> Frame {
        let detail = format!("a message longer than {} bytes (discarded up to its end of line)", self.max_message);
        Frame::Skipped(SkipReason::TooLong, detail)
    }

    /// The next frame once the stream has ended: a complete one, then what is left (a
    /// message without its trailer, or the start of an octet-counted one, skipped).
    fn next_or_rest(&mut self) -> Option<Frame> {
        if let Some(frame) = self.next() {
            return Some(frame);
        }
        if self.pending().is_empty() || self.discard != Discard::Nothing {
            return None;
        }
        let frame = match self.framing() {
            Framing::Counted(length, header) => {
                let detail = format!(
                    "the connection ended after {} of the {length} bytes of an octet-counted message",
                    self.pending().len() - header
                );
                Frame::Skipped(SkipReason::Unreadable, detail)
            }
            Framing::Line | Framing::Unknown => {
                let mut message = self.pending().to_vec();
                if message.last() == Some(&b'\r') {
                    message.pop();
                }
                Frame::Message(message)
            }
        };
        self.consume(self.pending().len());
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(max: usize, chunks: &[&[u8]], end: bool) -> Vec<Frame> {
        let mut frames = Frames::new(max);
        let mut out = Vec::new();
        for chunk in chunks {
            frames.push(chunk);
            while let Some(frame) = frames.next() {
                out.push(frame);
            }
        }
        if end {
            while let Some(frame) = frames.next_or_rest() {
                out.push(frame);
            }
        }
        out
    }

    fn message(text: &str) -> Frame {
        Frame::Message(text.as_bytes().to_vec())
    }

    #[test]
    fn octet_counted_and_lines_mixed_across_chunks() {
        let out = frames(100, &[b"5 he", b"llo<1>a\r\n", b"<2>b\0", b"9", b" <3>c\nd ef", b"3 xyz\n\n"], true);
        assert_eq!(out, [message("hello"), message("<1>a"), message("<2>b"), message("<3>c\nd ef"), message("xyz")]);
    }

    #[test]
    fn digits_without_a_space_are_a_line() {
        let out = frames(100, &[b"123", b"4", b"5x\n", b"0 a\n", b"12"], true);
        assert_eq!(out, [message("12345x"), message("0 a"), message("12")]);
    }

    #[test]
    fn too_long_octet_counted_is_skipped_exactly() {
        let out = frames(4, &[b"10 01234", b"56789", b"3 abc"], true);
        assert!(matches!(&out[0], Frame::Skipped(SkipReason::TooLong, _)), "{out:?}");
        assert_eq!(out[1..], [message("abc")]);
    }

    #[test]
    fn too_long_line_is_discarded_up_to_its_end() {
        let out = frames(4, &[b"abcdef", b"ghij", b"kl\nok\n", b"abcdefg\nyes\n"], false);
        assert!(matches!(&out[0], Frame::Skipped(SkipReason::TooLong, _)), "{out:?}");
        assert_eq!(out[1], message("ok"));
        assert!(matches!(&out[2], Frame::Skipped(SkipReason::TooLong, _)), "{out:?}");
        assert_eq!(out[3], message("yes"));
        assert_eq!(out.len(), 4);
    }

    #[test]
    fn exactly_the_limit_is_read() {
        let out = frames(4, &[b"abcd\r\n4 wxyz"], false);
        assert_eq!(out, [message("abcd"), message("wxyz")]);
    }

    #[test]
    fn a_cut_octet_counted_message_is_unreadable() {
        let out = frames(100, &[b"10 abc"], true);
        assert!(matches!(&out[..], [Frame::Skipped(SkipReason::Unreadable, _)]), "{out:?}");
    }

    #[test]
    fn allow_list() {
        let mut source = SyslogSource::new("s");
        assert!(source.allows("127.0.0.1".parse().unwrap()));
        assert!(source.allows("::1".parse().unwrap()));
        assert!(source.allows("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!source.allows("192.0.2.1".parse().unwrap()));
        source.allow = vec!["192.0.2.0/24".parse().unwrap()];
        assert!(source.allows("192.0.2.1".parse().unwrap()));
        assert!(source.allows("::ffff:192.0.2.1".parse().unwrap()));
        assert!(!source.allows("127.0.0.1".parse().unwrap()));
    }
}
