//! Command-line options, each with its documented default.

use std::net::SocketAddr;
use std::path::PathBuf;

/// `cargo run -p quickstart -- [OPTIONS]`
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "quickstart", version, about)]
pub struct Options {
    /// Address to listen on. Outside loopback, credentials are accepted over TLS only,
    /// so keep the default unless a TLS-terminating proxy sits in front.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// The signing key: a private JWK as written by `tokenctl keygen --out FILE`.
    /// Generated (`EdDSA`) and saved with mode 0600 if the file does not exist.
    #[arg(long, default_value = "quickstart-signing-key.json")]
    pub signing_key: PathBuf,
    /// The `iss` of tokens this service mints and requires.
    #[arg(long, default_value = "tokenkit-quickstart")]
    pub issuer: String,
    /// The `aud` of tokens this service mints and requires.
    #[arg(long, default_value = "quickstart-api")]
    pub audience: String,
    /// The default per-principal rate limit (per-key overrides replace it).
    #[arg(long, default_value = "60/minute")]
    pub limit: String,
    /// The audit trail: JSON Lines with a SHA-256 hash chain (append-only, mode 0600).
    #[arg(long, default_value = "quickstart-audit.jsonl")]
    pub audit_log: PathBuf,
    /// Where the bootstrap secrets go (admin API key, demo client secret): a
    /// shell-sourceable file with mode 0600, rewritten at each start.
    #[arg(long, default_value = "quickstart-bootstrap.env")]
    pub bootstrap_file: PathBuf,
}
