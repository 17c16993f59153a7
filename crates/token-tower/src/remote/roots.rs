//! Which certificate authorities the HTTPS fetcher trusts (feature `https`).

use std::fmt;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

/// The certificate authorities an HTTPS fetch trusts.
///
/// - [`TrustRoots::webpki`] (what [`super::HttpFetcher::new`] uses): Mozilla's root
///   program as compiled into the `webpki-roots` crate. The same on every machine and
///   in every container image, and independent of the file system; it changes when
///   you update the crate.
/// - [`TrustRoots::platform`] (feature `native-roots`): the operating system's store,
///   read once at run time (`SSL_CERT_FILE`/`SSL_CERT_DIR` are honoured). Choose it
///   when your provider's certificate chains to a company CA installed on the hosts.
/// - [`TrustRoots::from_pem`] / [`TrustRoots::add_pem`]: your own, e.g. one private CA.
///   Only these roots are then trusted.
#[derive(Clone)]
pub struct TrustRoots {
    pub(super) store: Arc<RootCertStore>,
}

/// Why roots could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RootsError {
    /// The PEM text holds no `CERTIFICATE` section.
    #[error("no certificate found in the PEM text")]
    NoCertificate,
    /// A certificate does not parse (bad PEM or DER, or not usable as a trust anchor).
    #[error("a certificate could not be parsed")]
    BadCertificate,
    /// The operating system's store could not be read or holds no certificate.
    #[error("the platform's certificate store is unusable: {0}")]
    Platform(String),
}

impl TrustRoots {
    /// Mozilla's root program, compiled in (`webpki-roots`).
    pub fn webpki() -> Self {
        let store: RootCertStore = webpki_roots::TLS_SERVER_ROOTS.iter().cloned().collect();
        TrustRoots {
            store: Arc::new(store),
        }
    }

    /// The operating system's certificate store, read now (feature `native-roots`).
    /// Certificates the platform holds but that do not parse are skipped; it fails
    /// only when no certificate at all could be loaded.
    #[cfg(feature = "native-roots")]
    pub fn platform() -> Result<Self, RootsError> {
        let loaded = rustls_native_certs::load_native_certs();
        let mut store = RootCertStore::empty();
        let (_added, _skipped) = store.add_parsable_certificates(loaded.certs);
        if store.is_empty() {
            let why = loaded
                .errors
                .first()
                .map_or_else(|| "no certificate found".to_owned(), ToString::to_string);
            return Err(RootsError::Platform(why));
        }
        Ok(TrustRoots {
            store: Arc::new(store),
        })
    }

    /// No roots at all: every certificate is refused until some are added.
    pub fn empty() -> Self {
        TrustRoots {
            store: Arc::new(RootCertStore::empty()),
        }
    }

    /// Only the CA certificates in `pem` (one or more `CERTIFICATE` sections).
    pub fn from_pem(pem: &[u8]) -> Result<Self, RootsError> {
        Self::empty().add_pem(pem)
    }

    /// These roots and the CA certificates in `pem`.
    pub fn add_pem(self, pem: &[u8]) -> Result<Self, RootsError> {
        let mut ders = Vec::new();
        for cert in CertificateDer::pem_slice_iter(pem) {
            ders.push(cert.map_err(|_| RootsError::BadCertificate)?);
        }
        if ders.is_empty() {
            return Err(RootsError::NoCertificate);
        }
        ders.into_iter().try_fold(self, Self::add)
    }

    /// These roots and one DER-encoded CA certificate.
    pub fn add_der(self, der: &[u8]) -> Result<Self, RootsError> {
        self.add(CertificateDer::from(der.to_vec()))
    }

    fn add(mut self, cert: CertificateDer<'static>) -> Result<Self, RootsError> {
        Arc::make_mut(&mut self.store)
            .add(cert)
            .map_err(|_| RootsError::BadCertificate)?;
        Ok(self)
    }

    /// How many roots are trusted.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether no root is trusted.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }
}

impl fmt::Debug for TrustRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustRoots")
            .field("roots", &self.store.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_roots_are_parsed_and_garbage_is_refused() {
        assert!(TrustRoots::webpki().len() > 50);
        assert!(TrustRoots::empty().is_empty());
        assert_eq!(
            TrustRoots::from_pem(b"not pem").unwrap_err(),
            RootsError::NoCertificate
        );
        let bad = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(
            TrustRoots::from_pem(bad).unwrap_err(),
            RootsError::BadCertificate
        );
        let ca = rcgen::CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap();
        let roots = TrustRoots::from_pem(ca.pem().as_bytes()).unwrap();
        assert_eq!(roots.len(), 1);
        assert_eq!(roots.add_der(ca.der()).unwrap().len(), 2);
    }
}
