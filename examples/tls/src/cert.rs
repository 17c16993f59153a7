//! The server's certificate: generated self-signed at start, or read from PEM files.

use std::path::Path;

use rcgen::{CertificateParams, DnType, KeyPair};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate chain and its private key (the key is never printed or written).
#[derive(Debug)]
pub struct ServerCert {
    /// The chain, the server's own certificate first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The chain as PEM, for clients to trust (`curl --cacert`).
    pub chain_pem: String,
    pub(crate) key: PrivateKeyDer<'static>,
}

impl ServerCert {
    /// A fresh self-signed certificate for `names` (host names or IP addresses), with
    /// a fresh P-256 key that lives only in this process.
    pub fn self_signed(names: &[String]) -> Result<ServerCert, String> {
        let mut params = CertificateParams::new(names.to_vec()).map_err(|e| e.to_string())?;
        params
            .distinguished_name
            .push(DnType::CommonName, "tokenkit tls example");
        let key = KeyPair::generate().map_err(|e| e.to_string())?;
        let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
        Ok(ServerCert {
            chain: vec![cert.der().clone()],
            chain_pem: cert.pem(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        })
    }

    /// A chain and key from PEM files (`--cert`, `--key`; PKCS#8, PKCS#1 or SEC1 key).
    pub fn from_files(cert: &Path, key: &Path) -> Result<ServerCert, String> {
        let chain_pem =
            std::fs::read_to_string(cert).map_err(|e| format!("--cert {}: {e}", cert.display()))?;
        let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("--cert {}: {e}", cert.display()))?;
        if chain.is_empty() {
            return Err(format!("--cert {}: no certificate in it", cert.display()));
        }
        // The key's bytes never reach an error message.
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|_| format!("--key {}: no readable PEM private key", key.display()))?;
        Ok(ServerCert {
            chain,
            chain_pem,
            key,
        })
    }
}
