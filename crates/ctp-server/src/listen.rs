//! The HTTP/1.1 server under the router: the accept loop, the limits that keep a client from
//! hoarding connections, HTTPS, and a shutdown bounded in time.
//!
//! ```text
//! accept ─▶ admission: connections of this client < per-client cap, all < total cap
//!                      (else closed at once, unread)
//!        ─▶ task per connection: [TLS handshake] ─▶ hyper HTTP/1.1 ─▶ request deadline
//!           ─▶ body deadline ─▶ router
//!           watched by a timer: request head within `header_timeout` of the accept,
//!           the next head within `idle_timeout` of the previous answer
//! shutdown ─▶ stop accepting ─▶ idle connections close, requests in flight finish
//!          ─▶ after `shutdown_grace`, whatever is left is closed
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::error::ApiError;
use crate::AppState;

/// The largest request head (request line and headers) accepted, in bytes; a larger one is
/// answered 431. It bounds the memory a client holds with one connection.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Connections the system may hold, established but not yet accepted, for a listener of
/// [`bind`] (Linux lowers it to `net.core.somaxconn`, 4096 by default).
const BACKLOG: u32 = 4096;

/// How long the accept loop waits after an error other than a failed connection (out of
/// file descriptors, of memory) before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The least interval between two warnings of the same kind (refused connections, accept
/// errors), so that an attack cannot flood the log.
const WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// The limits of the connection layer. A connection that breaks one is closed; a request
/// that breaks one is answered with an error.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time allowed from the accept to the end of the first request's head, TLS handshake
    /// included (default 10 s). A connection that has not sent a whole head by then is closed
    /// without an answer.
    pub header_timeout: Duration,
    /// Time allowed from the end of an answer to the end of the next request's head on a
    /// kept-alive connection (default 60 s); it also bounds the time a client may take to read
    /// an answer.
    pub idle_timeout: Duration,
    /// Time allowed from the request's head to the end of its body (default 30 s); past it
    /// the request is answered 408 and the connection closed.
    pub body_timeout: Duration,
    /// Time allowed from the request's head to the answer (default 60 s); past it the handler
    /// is abandoned and the request answered 503.
    pub request_timeout: Duration,
    /// Connections open at once (default 10 000); a connection over it is closed at once.
    pub max_connections: usize,
    /// Connections open at once from one client (default 256): one IPv4 address, or one /64
    /// IPv6 prefix. A connection over it is closed at once.
    pub max_connections_per_client: usize,
    /// Time given to requests in flight to finish after the shutdown signal (default 10 s);
    /// then every connection still open is closed.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            max_connections_per_client: 256,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// How [`serve_with`] serves.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// The limits of the connection layer.
    pub limits: Limits,
    /// Serve HTTPS with this configuration (see [`crate::tls`]), else plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// A request extension: the request came over TLS, so the links built from its `Host` say
/// `https`.
#[derive(Debug, Clone, Copy)]
pub struct Https;

/// Listens on `address` with a long queue of connections waiting to be accepted
/// ([`BACKLOG`]; the standard library's 128 drops the connections of a burst, whose clients
/// then wait a second to try again).
pub fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(BACKLOG)
}

/// Serves `state`'s router on `listener` until `shutdown` completes, then stops accepting,
/// lets the requests in flight finish for at most `options.limits.shutdown_grace` and closes
/// every connection left.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = options.limits;
    let server = Arc::new(Server::new(crate::router(state), &options));
    let admission = Arc::new(Admission::new(limits.max_connections, limits.max_connections_per_client));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let (mut refused_total, mut refused_per_client) = (Throttled::default(), Throttled::default());
    let mut accept_errors = Throttled::default();
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            // Accepting comes before reaping finished connection tasks, the stop before both.
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match admission.admit(peer.ip()) {
                    Ok(permit) => {
                        connections.spawn(connection(stream, Arc::clone(&server), stopping.clone(), permit));
                        // A finished task keeps its memory until reaped, and during a flood of
                        // connections the branch below may not get its turn.
                        while let Some(finished) = connections.try_join_next() {
                            report_panic(finished);
                        }
                    }
                    Err(refusal) => {
                        // Closed unread: the cheapest answer to a client that holds too many.
                        drop(stream);
                        let refused = match refusal {
                            Refusal::Total => &mut refused_total,
                            Refusal::PerClient => &mut refused_per_client,
                        };
                        if let Some(count) = refused.note() {
                            tracing::warn!(
                                client = %peer.ip(), count, "refused connections over {refusal} (this one, and others since the last warning)"
                            );
                        }
                    }
                },
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    if let Some(count) = accept_errors.note() {
                        tracing::error!(error = %e, count, "cannot accept connections; retrying shortly");
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(finished) = connections.join_next(), if !connections.is_empty() => report_panic(finished),
        }
    }
    drop(listener);
    let _ = stop.send(true);
    if !connections.is_empty() {
        tracing::info!(
            connections = connections.len(),
            "no longer accepting; waiting up to {:?} for requests in flight",
            limits.shutdown_grace
        );
    }
    let drained =
        tokio::time::timeout(limits.shutdown_grace, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(connections = connections.len(), "closing the connections still open after the shutdown grace");
        connections.shutdown().await;
    }
    Ok(())
}

fn report_panic(finished: Result<(), tokio::task::JoinError>) {
    if let Err(e) = finished {
        if e.is_panic() {
            tracing::error!(error = %e, "a connection task panicked");
        }
    }
}

/// Failures of one incoming connection, not of the listener: accept the next one at once.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset | Interrupted | WouldBlock)
}

/// Counts events and says when to log them: the first at once, then at most once per
/// [`WARNING_INTERVAL`] with the number of events since the last message.
#[derive(Default)]
struct Throttled {
    last: Option<Instant>,
    count: u64,
}

impl Throttled {
    fn note(&mut self) -> Option<u64> {
        self.count += 1;
        let now = Instant::now();
        if self.last.is_some_and(|last| now.duration_since(last) < WARNING_INTERVAL) {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.count))
    }
}

/// The counts of open connections, in total and per client.
struct Admission {
    max_total: usize,
    max_per_client: usize,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

/// Which cap a refused connection was over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Total,
    PerClient,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::Total => "the cap on connections (--max-connections)",
            Refusal::PerClient => "the cap on one client's connections (--max-connections-per-ip)",
        })
    }
}

/// An admitted connection's place in the counts, given back when it is dropped.
struct Permit {
    admission: Arc<Admission>,
    client: IpAddr,
}

impl Admission {
    fn new(max_total: usize, max_per_client: usize) -> Admission {
        Admission { max_total, max_per_client, counts: Mutex::default() }
    }

    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Refusal> {
        let client = client_key(ip);
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.total >= self.max_total {
            return Err(Refusal::Total);
        }
        let of_client = counts.per_client.entry(client).or_default();
        if *of_client >= self.max_per_client {
            return Err(Refusal::PerClient);
        }
        *of_client += 1;
        counts.total += 1;
        Ok(Permit { admission: Arc::clone(self), client })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.admission.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.total -= 1;
        if let Some(of_client) = counts.per_client.get_mut(&self.client) {
            *of_client -= 1;
            if *of_client == 0 {
                counts.per_client.remove(&self.client);
            }
        }
    }
}

/// The client a connection is counted against: its IPv4 address (also when it comes as an
/// IPv4-mapped IPv6 address), or the /64 prefix of its IPv6 address, the usual allocation of
/// one subscriber, who can use any address in it.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

/// What every connection task shares.
struct Server {
    app: Router,
    limits: Limits,
    http: hyper::server::conn::http1::Builder,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Server {
    fn new(app: Router, options: &ServeOptions) -> Server {
        let mut http = hyper::server::conn::http1::Builder::new();
        // The connection timer (`Activity`) enforces the head and idle timeouts.
        http.keep_alive(true).header_read_timeout(None).max_header_size(MAX_HEAD_BYTES);
        Server { app, limits: options.limits, http, tls: options.tls.clone().map(tokio_rustls::TlsAcceptor::from) }
    }

    /// Serves HTTP/1.1 on `io` until the client or the server closes the connection; on
    /// `shutdown`, answers the request in flight, if any, and closes.
    async fn drive<I>(&self, io: I, https: bool, activity: &Arc<Activity>, shutdown: &mut watch::Receiver<bool>)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = {
            let app = self.app.clone();
            let activity = Arc::clone(activity);
            let limits = self.limits;
            hyper::service::service_fn(move |request| {
                handle(app.clone(), activity.begin_request(), limits, https, request)
            })
        };
        let mut conn = pin!(self.http.serve_connection(TokioIo::new(io), service));
        let result = tokio::select! {
            result = conn.as_mut() => result,
            () = stopped(shutdown) => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    }
}

/// Completes when the server stops (or is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// One connection, from the accept to the close.
async fn connection(stream: TcpStream, server: Arc<Server>, mut shutdown: watch::Receiver<bool>, _permit: Permit) {
    let activity = Arc::new(Activity::new());
    let serve = async {
        match &server.tls {
            None => server.drive(stream, false, &activity, &mut shutdown).await,
            Some(acceptor) => match acceptor.accept(stream).await {
                Ok(stream) => server.drive(stream, true, &activity, &mut shutdown).await,
                Err(e) => tracing::debug!(error = %e, "TLS handshake failed"),
            },
        }
    };
    tokio::select! {
        () = serve => {}
        () = activity.expired(&server.limits) => tracing::debug!("connection closed: no request head in time"),
    }
}

/// One request: the router under the request deadline, its body under the body deadline.
async fn handle(
    app: Router,
    _in_flight: InFlight,
    limits: Limits,
    https: bool,
    request: Request<Incoming>,
) -> Result<Response, Infallible> {
    let mut request = request.map(Body::new);
    if https {
        request.extensions_mut().insert(Https);
    }
    let body_late = if request.body().is_end_stream() {
        None
    } else {
        let late = Arc::new(AtomicBool::new(false));
        request = request.map(|body| {
            Body::new(DeadlineBody {
                body,
                deadline: Box::pin(tokio::time::sleep(limits.body_timeout)),
                late: Arc::clone(&late),
            })
        });
        Some(late)
    };
    let response = match tokio::time::timeout(limits.request_timeout, app.oneshot(request)).await {
        Ok(response) => response.unwrap_or_else(|never| match never {}),
        Err(_) => {
            tracing::warn!("a request was abandoned after the request deadline of {:?}", limits.request_timeout);
            ApiError::with_status(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the server did not answer within {} seconds and abandoned the request; a write it carried \
                     may have been applied",
                    limits.request_timeout.as_secs_f64()
                ),
            )
            .into_response()
        }
    };
    if body_late.is_some_and(|late| late.load(Ordering::Relaxed)) {
        let mut response = ApiError::with_status(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {} seconds of the request's head",
                limits.body_timeout.as_secs_f64()
            ),
        )
        .into_response();
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Ok(response);
    }
    Ok(response)
}

/// A request body that fails once its deadline has passed, and says so in `late`.
struct DeadlineBody {
    body: Body,
    deadline: Pin<Box<Sleep>>,
    late: Arc<AtomicBool>,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.late.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new("the request body did not arrive in time"))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// What a connection's timer needs to know: when it was accepted, whether a request is being
/// answered, and since when it has been idle.
struct Activity {
    accepted: Instant,
    /// Requests being answered (one at a time over HTTP/1.1).
    in_flight: AtomicUsize,
    /// Whether a request has been received.
    served: AtomicBool,
    /// When the last answer was ready, in milliseconds since `accepted`.
    idle_since_ms: AtomicU64,
}

/// A request being answered; dropped when its answer is ready (or abandoned).
struct InFlight(Arc<Activity>);

impl Activity {
    fn new() -> Activity {
        Activity {
            accepted: Instant::now(),
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            idle_since_ms: AtomicU64::new(0),
        }
    }

    fn begin_request(self: &Arc<Self>) -> InFlight {
        self.served.store(true, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }

    /// When the connection is to be closed if no request head arrives before: none while a
    /// request is being answered.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        if !self.served.load(Ordering::Relaxed) {
            return Some(self.accepted + limits.header_timeout);
        }
        let idle_since = self.accepted + Duration::from_millis(self.idle_since_ms.load(Ordering::Relaxed));
        Some(idle_since + limits.idle_timeout)
    }

    /// Completes when the connection has missed its deadline.
    async fn expired(&self, limits: &Limits) {
        let recheck = limits.header_timeout.min(limits.idle_timeout);
        loop {
            match self.deadline(limits) {
                Some(deadline) if deadline <= Instant::now() => return,
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => tokio::time::sleep(recheck).await,
            }
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let idle_since = self.0.accepted.elapsed().as_millis();
        self.0.idle_since_ms.store(u64::try_from(idle_since).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_addresses_or_ipv6_prefixes() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(client_key(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client_key(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(client_key(ip("2001:db8:1:2:ffff::1")), client_key(ip("2001:db8:1:2::9")));
        assert_ne!(client_key(ip("2001:db8:1:3::1")), client_key(ip("2001:db8:1:2::1")));
    }

    #[test]
    fn admission_caps_each_client_and_the_total_and_gives_places_back() {
        let admission = Arc::new(Admission::new(3, 2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = admission.admit(a).unwrap();
        let _second = admission.admit(a).unwrap();
        assert_eq!(admission.admit(a).err(), Some(Refusal::PerClient));
        let _third = admission.admit(b).unwrap();
        assert_eq!(admission.admit(b).err(), Some(Refusal::Total));
        drop(first);
        assert!(admission.admit(b).is_ok(), "a closed connection gives its place back");
        drop(_second);
        let counts = admission.counts.lock().unwrap();
        assert_eq!(counts.total, 1);
        assert_eq!(counts.per_client.get(&a), None, "a client without connections is forgotten");
    }

    #[tokio::test(start_paused = true)]
    async fn the_timer_gives_the_head_then_the_idle_time() {
        let limits = Limits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            ..Limits::default()
        };
        let activity = Arc::new(Activity::new());
        let start = Instant::now();
        assert_eq!(activity.deadline(&limits), Some(start + limits.header_timeout));
        tokio::time::advance(Duration::from_secs(3)).await;
        let request = activity.begin_request();
        assert_eq!(activity.deadline(&limits), None, "no deadline while answering");
        tokio::time::advance(Duration::from_secs(20)).await;
        drop(request);
        assert_eq!(activity.deadline(&limits), Some(start + Duration::from_secs(23) + limits.idle_timeout));
        let expired = activity.expired(&limits);
        tokio::time::timeout(Duration::from_secs(61), expired).await.expect("closed after the idle timeout");
        assert_eq!(Instant::now(), start + Duration::from_secs(83));
    }
}
