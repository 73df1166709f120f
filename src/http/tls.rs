//! HTTPS without a proxy in front (`scimd serve --tls-cert/--tls-key`):
//! rustls with the certificate chain and key read from PEM files, and read
//! again on SIGHUP so a renewed certificate (certbot, an internal CA) is
//! picked up without a restart. New handshakes get the new certificate;
//! open connections keep the one they started with.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Context;
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Where the certificate chain and its private key are (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server certificate first, then any intermediates.
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The certificate being served, swapped whole on reload.
#[derive(Debug)]
pub struct Certificates {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Certificates {
    /// Reads the files; fails (naming the file and why) on anything short of
    /// a usable chain with its matching key.
    pub fn load(files: TlsFiles) -> anyhow::Result<Arc<Certificates>> {
        let provider = Arc::new(ring::default_provider());
        let current = read(&files, &provider)?;
        Ok(Arc::new(Certificates {
            files,
            provider,
            current: RwLock::new(Arc::new(current)),
        }))
    }

    /// Reads the files again. On failure the certificate being served stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        let fresh = Arc::new(read(&self.files, &self.provider)?);
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        Ok(())
    }

    /// The rustls configuration for the listener (TLS 1.2 and 1.3, no
    /// client certificates); actix adds the ALPN protocols.
    pub fn server_config(self: &Arc<Self>) -> anyhow::Result<rustls::ServerConfig> {
        Ok(
            rustls::ServerConfig::builder_with_provider(self.provider.clone())
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_cert_resolver(self.clone()),
        )
    }

    pub fn files(&self) -> &TlsFiles {
        &self.files
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        )
    }
}

fn read(files: &TlsFiles, provider: &CryptoProvider) -> anyhow::Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .with_context(|| described(&files.cert, "certificate"))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "{}: no PEM certificate in it",
        files.cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| described(&files.key, "private key"))?;
    let key = provider
        .key_provider
        .load_private_key(key)
        .with_context(|| described(&files.key, "private key"))?;
    let certified = CertifiedKey::new(chain, key);
    certified.keys_match().with_context(|| {
        format!(
            "{} is not the key of the certificate in {}",
            files.key.display(),
            files.cert.display()
        )
    })?;
    Ok(certified)
}

fn described(path: &Path, what: &str) -> String {
    format!("{}: cannot read a PEM {what}", path.display())
}

/// Reloads the certificate on each SIGHUP until the server stops; a file
/// that cannot be used is logged and the certificate being served stays.
pub async fn reload_on_hangup(certificates: Arc<Certificates>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    while hangups.recv().await.is_some() {
        match certificates.reload() {
            Ok(()) => tracing::info!(
                cert = %certificates.files().cert.display(),
                "SIGHUP: TLS certificate reloaded"
            ),
            Err(error) => tracing::error!(
                error = format!("{error:#}"),
                "SIGHUP: TLS certificate not reloaded; still serving the previous one"
            ),
        }
    }
    Ok(())
}
