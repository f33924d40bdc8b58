//! HTTPS: the server's certificate and private key, read from PEM files and read again on
//! demand (ctpd does it on SIGHUP) without disturbing the connections already open.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};

/// A certificate file or key file that cannot be used; the message names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError(pub String);

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

/// The server's certificate chain and key, from two PEM files. New TLS connections get the
/// pair loaded last; [`CertificateFiles::reload`] replaces it only with a valid pair.
#[derive(Debug)]
pub struct CertificateFiles {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertificateFiles {
    /// Reads `cert_path` (the server's certificate first, then the intermediate CA
    /// certificates) and `key_path` (its private key: PKCS#8, PKCS#1 or SEC1).
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<CertificateFiles>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let current = read_pair(cert_path, key_path, &provider)?;
        Ok(Arc::new(CertificateFiles {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            provider,
            current: RwLock::new(Arc::new(current)),
        }))
    }

    /// Reads the two files again. When they hold a valid certificate and its key, new
    /// connections get them, and the SHA-256 fingerprint of the new certificate is returned;
    /// otherwise nothing changes. Open connections keep the certificate they started with.
    pub fn reload(&self) -> Result<String, TlsError> {
        let pair = Arc::new(read_pair(&self.cert_path, &self.key_path, &self.provider)?);
        let fingerprint = fingerprint(&pair);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = pair;
        Ok(fingerprint)
    }

    /// The SHA-256 fingerprint (hex) of the certificate new connections get.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.current())
    }

    /// The server's TLS configuration: TLS 1.3 and 1.2 (ring), HTTP/1.1 by ALPN, and the
    /// certificate of these files, as reloaded.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError(format!("TLS configuration: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    fn current(&self) -> Arc<CertifiedKey> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }
}

impl ResolvesServerCert for CertificateFiles {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

fn read_pair(cert_path: &Path, key_path: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let read = |path: &Path| std::fs::read(path).map_err(|e| TlsError(format!("cannot read {}: {e}", path.display())));
    let chain = CertificateDer::pem_slice_iter(&read(cert_path)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError(format!("{}: not a PEM certificate chain: {e}", cert_path.display())))?;
    if chain.is_empty() {
        return Err(TlsError(format!("{} holds no PEM certificate", cert_path.display())));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key_path)?)
        .map_err(|e| TlsError(format!("{}: no usable PEM private key: {e}", key_path.display())))?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        TlsError(format!(
            "{} and {}: the key does not fit the certificate or is not supported: {e}",
            cert_path.display(),
            key_path.display()
        ))
    })
}

fn fingerprint(pair: &CertifiedKey) -> String {
    pair.cert.first().map(|cert| hex::encode(Sha256::digest(cert.as_ref()))).unwrap_or_default()
}
