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
    /// The limit of `POST /oauth/token` and `POST /oauth/revoke` (their `oauth` rate
    /// class), per client: it slows the guessing of client secrets.
    #[arg(long, default_value = "30/minute")]
    pub oauth_limit: String,
    /// The audit trail: JSON Lines with a SHA-256 hash chain (append-only, mode 0600).
    #[arg(long, default_value = "quickstart-audit.jsonl")]
    pub audit_log: PathBuf,
    /// The audit checkpoint key (HMAC-SHA-256; at least 32 bytes, used as is). Default:
    /// beside the audit log, `<log>.key`. Generated (64 hex digits) and saved with
    /// mode 0600 if the file does not exist.
    #[arg(long, value_name = "FILE")]
    pub audit_key: Option<PathBuf>,
    /// The audit anchor: every checkpoint's (seq, hash, time), appended. Keep it
    /// apart from the log (another disk, host or user): it is what shows a log cut
    /// back to an earlier checkpoint. Default: beside the audit log, `<log>.anchor`.
    #[arg(long, value_name = "FILE")]
    pub audit_anchor: Option<PathBuf>,
    /// Where the bootstrap secrets go (admin API key, demo client secret): a
    /// shell-sourceable file with mode 0600, rewritten at each start.
    #[arg(long, default_value = "quickstart-bootstrap.env")]
    pub bootstrap_file: PathBuf,
}

impl Options {
    /// The audit checkpoint key file: `--audit-key`, or `<log>.key` beside the log.
    pub fn audit_key_path(&self) -> PathBuf {
        self.audit_key
            .clone()
            .unwrap_or_else(|| self.audit_log.with_extension("key"))
    }

    /// The audit anchor file: `--audit-anchor`, or `<log>.anchor` beside the log.
    pub fn audit_anchor_path(&self) -> PathBuf {
        self.audit_anchor
            .clone()
            .unwrap_or_else(|| self.audit_log.with_extension("anchor"))
    }
}
