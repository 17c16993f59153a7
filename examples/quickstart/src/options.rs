//! Command-line options, each with its documented default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// `cargo run -p quickstart -- [OPTIONS]`
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "quickstart", version, about)]
pub struct Options {
    /// Address to listen on. Outside loopback, credentials are accepted over TLS only,
    /// so keep the default unless a TLS-terminating proxy sits in front.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// Where the quickstart keeps its state: the database (by default), the signing
    /// key, the bootstrap secrets, the audit log with its key and anchor. Created
    /// with mode 0700. Keep it out of version control (`.gitignore` lists the
    /// default).
    #[arg(long, value_name = "DIR", default_value = ".tokenkit")]
    pub data_dir: PathBuf,
    /// The database: `sqlite://PATH` or `postgres://...`. Default:
    /// `sqlite://DIR/tokenkit.db` in the data dir.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Apply the schema migrations at start. Always done for the default database
    /// (the SQLite file in the data dir, which the quickstart owns); a database you
    /// name with `--database` is migrated only when asked (or with `tokenctl db
    /// migrate --database URL`).
    #[arg(long)]
    pub migrate: bool,
    /// Replace the bootstrap admin key and the demo client, revoking the old admin
    /// key. Without it, a start that finds them keeps them.
    #[arg(long)]
    pub reset_bootstrap: bool,
    /// The first signing key: a private JWK as written by `tokenctl keygen --out
    /// FILE`, stored (sealed) in the database's keyring on the first start; later
    /// starts sign with the database's active key. Generated (`EdDSA`) and saved with
    /// mode 0600 if the file does not exist. Default: `DIR/signing-key.json`.
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
    /// The seal key: 64 hex digits that seal the private signing keys stored in the
    /// database (AES-256-GCM). The `TOKENKIT_SEAL_KEY` environment variable, if set,
    /// holds the key itself and wins. Default: `DIR/seal.key`, generated (mode 0600)
    /// if missing. Every process on one database needs the same seal key.
    #[arg(long, value_name = "FILE")]
    pub seal_key: Option<PathBuf>,
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
    /// Default: `DIR/audit.jsonl`.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
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
    /// shell-sourceable file with mode 0600, written when they are created.
    /// Default: `DIR/bootstrap.env`.
    #[arg(long, value_name = "FILE")]
    pub bootstrap_file: Option<PathBuf>,
}

impl Options {
    /// The options of `quickstart --data-dir DIR --listen 127.0.0.1:0` (tests).
    pub fn in_dir(dir: &Path) -> Options {
        use clap::Parser as _;
        let dir = dir.to_string_lossy();
        Options::parse_from(["quickstart", "--data-dir", &dir, "--listen", "127.0.0.1:0"])
    }

    fn in_data_dir(&self, given: Option<&PathBuf>, name: &str) -> PathBuf {
        given.cloned().unwrap_or_else(|| self.data_dir.join(name))
    }

    /// The database URL: `--database`, or the SQLite file in the data dir.
    pub fn database_url(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("tokenkit.db").display()))
    }

    /// The signing key file: `--signing-key`, or `DIR/signing-key.json`.
    pub fn signing_key_path(&self) -> PathBuf {
        self.in_data_dir(self.signing_key.as_ref(), "signing-key.json")
    }

    /// The seal key file: `--seal-key`, or `DIR/seal.key`.
    pub fn seal_key_path(&self) -> PathBuf {
        self.in_data_dir(self.seal_key.as_ref(), "seal.key")
    }

    /// The audit log: `--audit-log`, or `DIR/audit.jsonl`.
    pub fn audit_log_path(&self) -> PathBuf {
        self.in_data_dir(self.audit_log.as_ref(), "audit.jsonl")
    }

    /// The bootstrap secrets file: `--bootstrap-file`, or `DIR/bootstrap.env`.
    pub fn bootstrap_path(&self) -> PathBuf {
        self.in_data_dir(self.bootstrap_file.as_ref(), "bootstrap.env")
    }

    /// The audit checkpoint key file: `--audit-key`, or `<log>.key` beside the log.
    pub fn audit_key_path(&self) -> PathBuf {
        self.audit_key
            .clone()
            .unwrap_or_else(|| self.audit_log_path().with_extension("key"))
    }

    /// The audit anchor file: `--audit-anchor`, or `<log>.anchor` beside the log.
    pub fn audit_anchor_path(&self) -> PathBuf {
        self.audit_anchor
            .clone()
            .unwrap_or_else(|| self.audit_log_path().with_extension("anchor"))
    }
}
