//! The connection settings of `ctpd serve`: timeouts, caps on open connections, the
//! shutdown grace and HTTPS; the open-file limit they need; the certificate reload on SIGHUP.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use clap::Args;
use ctp_server::tls::CertificateFiles;
use ctp_server::Limits;

use super::{seconds, FileConfig};

/// Flags of `ctpd serve` that limit connections and requests, and HTTPS.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Seconds a new connection has to send its first request's head (TLS handshake
    /// included); then it is closed [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub header_timeout: Option<f64>,

    /// Seconds a kept-alive connection may wait, after an answer, for the next request's
    /// head; then it is closed [default: 60].
    #[arg(long, value_name = "SECONDS")]
    pub idle_timeout: Option<f64>,

    /// Seconds a request's body has to arrive after its head; then 408 [default: 30].
    #[arg(long, value_name = "SECONDS")]
    pub body_timeout: Option<f64>,

    /// Seconds allowed to answer a request; then it is abandoned with 503 [default: 60].
    #[arg(long, value_name = "SECONDS")]
    pub request_timeout: Option<f64>,

    /// Connections open at once; more are closed at once. Lowered to leave room under the
    /// open-file limit [default: 10000].
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,

    /// Connections open at once from one IPv4 address or IPv6 /64; more are closed at once
    /// [default: 256].
    #[arg(long, value_name = "N")]
    pub max_connections_per_ip: Option<usize>,

    /// Seconds given to requests in flight after SIGTERM; then the connections left are
    /// closed [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub shutdown_grace: Option<f64>,

    /// Serve HTTPS with this PEM certificate chain (server certificate first); read again on
    /// SIGHUP. Needs --tls-key.
    #[arg(long, value_name = "PATH")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert; read again on SIGHUP.
    #[arg(long, value_name = "PATH")]
    pub tls_key: Option<PathBuf>,
}

/// The connection settings in force.
#[derive(Debug)]
pub(super) struct ConnectionSettings {
    pub(super) limits: Limits,
    /// The certificate and key files, when serving HTTPS.
    tls: Option<(PathBuf, PathBuf)>,
}

/// Flags over the file's keys over the defaults of [`Limits`].
pub(super) fn settings(args: &ConnectionArgs, file: &FileConfig) -> anyhow::Result<ConnectionSettings> {
    let defaults = Limits::default();
    let duration = |name: &str, flag: Option<f64>, key: Option<f64>, default: std::time::Duration| {
        flag.or(key).map_or(Ok(default), |value| seconds(name, value))
    };
    let count = |name: &str, flag: Option<usize>, key: Option<usize>, default: usize| match flag.or(key) {
        Some(0) => bail!("{name} must be at least 1"),
        value => Ok(value.unwrap_or(default)),
    };
    let limits = Limits {
        header_timeout: duration("header_timeout", args.header_timeout, file.header_timeout, defaults.header_timeout)?,
        idle_timeout: duration("idle_timeout", args.idle_timeout, file.idle_timeout, defaults.idle_timeout)?,
        body_timeout: duration("body_timeout", args.body_timeout, file.body_timeout, defaults.body_timeout)?,
        request_timeout: duration(
            "request_timeout",
            args.request_timeout,
            file.request_timeout,
            defaults.request_timeout,
        )?,
        max_connections: count(
            "max_connections",
            args.max_connections,
            file.max_connections,
            defaults.max_connections,
        )?,
        max_connections_per_client: count(
            "max_connections_per_ip",
            args.max_connections_per_ip,
            file.max_connections_per_ip,
            defaults.max_connections_per_client,
        )?,
        shutdown_grace: duration("shutdown_grace", args.shutdown_grace, file.shutdown_grace, defaults.shutdown_grace)?,
    };
    let tls = match (args.tls_cert.clone().or(file.tls_cert.clone()), args.tls_key.clone().or(file.tls_key.clone())) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => bail!("tls_cert and tls_key go together: give both to serve HTTPS, or neither"),
    };
    Ok(ConnectionSettings { limits, tls })
}

impl ConnectionSettings {
    /// Whether ctpd serves HTTPS.
    pub(super) fn https(&self) -> bool {
        self.tls.is_some()
    }

    /// Raises the soft limit of open files to the hard limit, and lowers the cap on
    /// connections so that it leaves room for the store, the notification worker and the
    /// connection being accepted and refused (a quarter of the limit, at most 256 files).
    pub(super) fn fit_open_file_limit(&mut self) {
        let before = rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft).ok();
        let limit = match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => limit,
            Err(e) => {
                tracing::warn!(error = %e, "cannot raise the open-file limit");
                match rlimit::getrlimit(rlimit::Resource::NOFILE) {
                    Ok((soft, _)) => soft,
                    Err(_) => return,
                }
            }
        };
        let room = usize::try_from(limit - (limit / 4).min(256)).unwrap_or(usize::MAX);
        let configured = self.limits.max_connections;
        self.limits.max_connections = configured.min(room.max(1));
        if self.limits.max_connections < configured {
            tracing::warn!(
                open_files = limit,
                was = before,
                max_connections = self.limits.max_connections,
                "max_connections lowered from {configured} to leave room under the open-file limit (raise the hard limit, `ulimit -Hn`, to allow more)"
            );
        } else {
            tracing::info!(open_files = limit, was = before, max_connections = configured, "open-file limit");
        }
    }

    /// Reads the certificate and key when serving HTTPS.
    pub(super) fn load_certificate(&self) -> anyhow::Result<Option<Arc<CertificateFiles>>> {
        let Some((cert, key)) = &self.tls else {
            return Ok(None);
        };
        let files = CertificateFiles::load(cert, key)?;
        tracing::info!(certificate = %cert.display(), sha256 = %files.fingerprint(), "serving HTTPS");
        Ok(Some(files))
    }
}

/// Reads the certificate files again on each SIGHUP, for the connections opened after it;
/// a file that cannot be used is logged and the certificate in use kept. The handler is
/// installed when this is called, so that a SIGHUP never takes the default action (exit).
pub(super) fn reload_on_hangup(certificate: Option<Arc<CertificateFiles>>) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangup = signal(SignalKind::hangup())?;
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                let Some(certificate) = &certificate else {
                    tracing::info!("SIGHUP: nothing to reload (no --tls-cert)");
                    continue;
                };
                match certificate.reload() {
                    Ok(sha256) => tracing::info!(%sha256, "SIGHUP: TLS certificate reloaded for new connections"),
                    Err(e) => {
                        tracing::error!(error = %e, "SIGHUP: TLS certificate not reloaded; keeping the one in use")
                    }
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = certificate;
    Ok(())
}
