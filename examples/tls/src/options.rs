//! Command-line options, each with its documented default.

use std::net::SocketAddr;
use std::path::PathBuf;

/// `cargo run -p tls -- [OPTIONS]`
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "tls", version, about)]
pub struct Options {
    /// The HTTPS address.
    #[arg(long, default_value = "127.0.0.1:3443")]
    pub listen: SocketAddr,
    /// The plain-HTTP address of the same service, to see credentials refused there.
    #[arg(long, default_value = "127.0.0.1:3080")]
    pub plain_listen: SocketAddr,
    /// The certificate chain (PEM, server certificate first). Without it a
    /// self-signed certificate is generated at each start.
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// The private key of `--cert` (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    /// The names a generated certificate is valid for (host names or IP addresses).
    #[arg(
        long = "name",
        value_delimiter = ',',
        default_value = "localhost,127.0.0.1,::1"
    )]
    pub names: Vec<String>,
    /// The folder the certificate (`tls-example-cert.pem`) and the API key
    /// (`tls-example-api-key`, mode 0600) are written to, rewritten at each start.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}
