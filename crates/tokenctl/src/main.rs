//! `tokenctl`: keys, JWT access tokens and API keys from the command line, on
//! token-core.
//!
//! ```text
//! tokenctl keygen --alg ALG [--kid KID] [--out FILE]
//! tokenctl jwks KEYFILE...
//! tokenctl jwt mint --key KEYFILE --iss I --sub S --aud A [--scope "a b"] [--tenant T]
//!                   [--ttl 15m] [--claim k=v]...
//! tokenctl jwt verify --jwks FILE [--token T] [--iss I] [--aud A] [--typ T] [--alg ALG]...
//!                     [--now UNIX_SECONDS] [--leeway SECONDS] [--max-lifetime SECONDS|none]
//!                     [--tenant-claim NAME]
//! tokenctl jwt inspect [TOKEN]
//! tokenctl key mint --prefix P --scopes "a b" [--name N] [--tenant T] [--owner O]
//!                   [--ttl 90d | --expires-at UNIX_TIME] [--network CIDR]...
//!                   [--rate-limit 100/minute] [--credits N [--refill daily|monthly
//!                   [--refill-amount N]]] [--metadata KEY=VALUE]...
//! tokenctl key list (--from RECORDS.jsonl | --database URL) [--owner O] [--status S]
//!                   [--name-prefix P] [--tenant T] [--limit 50] [--cursor C] [--json]
//! tokenctl key show ID --database URL [--json]
//! tokenctl key revoke ID --database URL [--reason R] [--json]
//! tokenctl key rotate ID --database URL [--grace 1h] [--prefix P] [--json]
//! tokenctl db migrate --database URL
//! tokenctl key check [KEY|-]
//! tokenctl audit verify FILE... [--key FILE] [--closed] [--partial] [--allow-unsealed]
//!                       [--expect-last-seq N] [--max-age SECONDS]
//! tokenctl audit stats FILE... [--json] [--top N]
//! ```
//!
//! - `keygen` generates an Ed25519, ECDSA (P-256, P-384, P-521) or HMAC key. With `--out` the
//!   private JWK goes to a new file of mode 0600 and the public JWK to standard output
//!   (for HMAC, only `kty`, `alg` and `kid`); without it the private JWK goes to
//!   standard output. RSA keys are imported, not generated.
//! - `jwks` prints the public JWKS of key files (JWK, JWKS or PEM, private or public).
//!   Shared secrets (`oct`) and private members are never printed.
//! - `jwt mint` signs an RFC 9068 access token (`typ: at+jwt`) with a private JWK or
//!   PEM. `--ttl` takes `Ns`, `Nm`, `Nh` or `Nd`, at most 24 hours; `--claim k=v` adds a
//!   claim whose value is JSON if it parses as JSON, else a string.
//! - `jwt verify` checks a token (from `--token` or standard input) against a JWKS or
//!   JWK file and prints its claims as one JSON object. Issuer and audience are checked
//!   only when given; `typ` only with `--typ`.
//! - `jwt inspect` decodes a token **without verifying it** and says so on standard
//!   error.
//! - `key mint` mints an API key `{prefix}_{36 base62 characters}`: the secret alone on
//!   standard output, its record (hash and hint, never the secret) as one line of JSON
//!   on standard error. `--ttl` takes `Ns`, `Nm`, `Nh` or `Nd`, at most 3650 days
//!   (default: no expiry); `--name` defaults to `tokenctl`. `--network`,
//!   `--rate-limit`, `--credits` (with `--refill` and `--refill-amount`), `--metadata`,
//!   `--owner` and `--expires-at` set every other attribute, checked by token-core's
//!   rules (the admin API's too). Nothing is stored, unless `--database URL` names
//!   a tokenkit database (SQLite or PostgreSQL): then the record is stored there.
//! - `key list` reads the records `key mint` wrote (JSON Lines, `--from`) or a
//!   database's (`--database`) and prints one page of them, filtered, oldest first: a
//!   table (id, name, status, scopes, owner, tenant, created, expires), or with `--json`
//!   one JSON object per line without the hash; when more follow, `next: --cursor C` on
//!   standard error. `key show`, `key revoke` and `key rotate` print a table too, JSON
//!   with `--json`.
//! - `key rotate` mints the key's successor (same name, scopes and attributes; the
//!   prefix read from the key's hint unless `--prefix` says) and prints its secret
//!   alone on standard output, its record on standard error; the old key keeps
//!   working for `--grace` (default 1h, at most 30d).
//! - `key show` prints one key's record (no hash), `key revoke` revokes it for good
//!   with every key it created (`--reason`, default `revoked with tokenctl`) and
//!   prints their records, the key's first. A service with a key cached refuses it
//!   once the cache entry expires. A SQLite path that does not exist is refused,
//!   never created. `key mint --database` hashes keys without a pepper: for a
//!   service that peppers its hashes, mint through its admin API instead.
//! - `db migrate` applies the embedded schema migrations to a database, each in one
//!   transaction, and prints the version; a database migrated by a newer tokenkit is
//!   refused (exit 2). The other `--database` commands refuse a database whose schema
//!   is not this binary's.
//! - `key check` checks an API key's format and checksum, with no store (for secret
//!   scanners and pre-commit hooks), from the argument or standard input (`-` or none),
//!   and prints `ok: <hint>`, such as `ok: tk_live_3Fq9…`.
//!
//! - `audit verify` checks the hash chain of token-audit JSON Lines files (taken in
//!   chain order, by the seq of their first line, so `audit*.jsonl` works), streaming,
//!   and names the first bad line as `file:line`. With `--key` (a file whose bytes,
//!   less trailing whitespace, are the HMAC key) checkpoint MACs are verified and the
//!   chain must end with a checkpoint; `--closed` also requires the final checkpoint
//!   of a clean shutdown; `--partial` accepts a chain whose oldest files were deleted;
//!   `--allow-unsealed` accepts lines after the last checkpoint (a live file), at most
//!   the checkpoint interval of them; `--expect-last-seq N` requires the chain to
//!   reach seq N; `--max-age SECONDS` (needs `--key`) requires the last checkpoint
//!   to be at most that old. Warnings (a partial line left by a crash, a writer that
//!   resumed after an unsealed tail) go to standard error as `warning: ...` lines
//!   and do not change the exit status, except that `--closed` refuses a
//!   resumption.
//! - `audit stats` counts events by kind, outcome, reason, key and tenant (the `--top`
//!   largest of each, default 10), or prints every count as JSON with `--json`; lines
//!   that are not events are counted as malformed.
//!
//! Both show a progress bar on standard error for inputs of 16 MiB or more when it is
//! a terminal.
//!
//! Exit status: 0 on success; 1 when a token or API key is invalid (the reason and its
//! stable code on standard error), or when an audit chain is broken (the first bad
//! line on standard error); 2 on a usage error, unreadable input or an unusable
//! key. Messages never contain secrets, whole tokens or API keys.

mod apikey;
mod apikey_list;
mod audit;
mod block_on;
mod db;
mod duration;
mod failure;
mod inspect;
mod io;
mod jwks;
mod jwt;
mod keygen;
mod keys;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::NonEmptyStringValueParser;
use clap::{Parser, Subcommand};
use token_core::jose::Algorithm;
use token_scopes::ScopeSet;

use crate::duration::MaxLifetime;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "tokenctl",
    version,
    about = "Keys, JWT access tokens and API keys for tokenkit"
)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a signing key: Ed25519, ECDSA (P-256, P-384, P-521) or an HMAC secret.
    Keygen(KeygenArgs),
    /// Print the public JWKS of key files (JWK, JWKS or PEM); `oct` keys are skipped.
    Jwks(JwksArgs),
    /// Mint, verify or inspect JWT access tokens.
    #[command(subcommand)]
    Jwt(JwtCommand),
    /// Mint, list or check API keys.
    #[command(subcommand, after_help = KEY_HELP)]
    Key(KeyCommand),
    /// Verify or summarise token-audit JSON Lines files.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage a tokenkit database (SQLite or PostgreSQL).
    #[command(subcommand)]
    Db(DbCommand),
}

/// The `db` subcommands.
#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Apply the schema migrations this binary embeds; exit 2 if the database
    /// cannot be reached or was migrated by a newer tokenkit.
    Migrate(DbMigrateArgs),
}

/// Arguments of `tokenctl db migrate`.
#[derive(Debug, clap::Args)]
struct DbMigrateArgs {
    /// The database: `sqlite://PATH` (created if missing) or `postgres://...`.
    #[arg(long, value_name = "URL")]
    database: String,
}

/// Arguments of `tokenctl key show`.
#[derive(Debug, clap::Args)]
struct KeyShowArgs {
    /// The key's id (`key_...`).
    #[arg(value_name = "ID")]
    id: String,
    /// The database: `sqlite://PATH` or `postgres://...`.
    #[arg(long, value_name = "URL")]
    database: String,
    /// Print the record as one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Arguments of `tokenctl key rotate`.
#[derive(Debug, clap::Args)]
struct KeyRotateArgs {
    /// The key's id (`key_...`).
    #[arg(value_name = "ID")]
    id: String,
    /// The database: `sqlite://PATH` or `postgres://...`.
    #[arg(long, value_name = "URL")]
    database: String,
    /// How long the old key keeps working: `Ns`, `Nm`, `Nh` or `Nd`, at most 30d.
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    grace: String,
    /// The successor's prefix (default: the key's own, from its hint).
    #[arg(long, value_name = "PREFIX")]
    prefix: Option<String>,
    /// Print the record as one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Arguments of `tokenctl key revoke`.
#[derive(Debug, clap::Args)]
struct KeyRevokeArgs {
    /// The key's id (`key_...`).
    #[arg(value_name = "ID")]
    id: String,
    /// The database: `sqlite://PATH` or `postgres://...`.
    #[arg(long, value_name = "URL")]
    database: String,
    /// Why (kept with the revocation).
    #[arg(long, value_name = "REASON", default_value = "revoked with tokenctl")]
    reason: String,
    /// Print the records as JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

/// The `audit` subcommands.
#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify the hash chain (checkpoints with --key, rollback with --anchor); exit 1
    /// naming the first bad line, 2 for unreadable files and bad options.
    Verify(AuditVerifyArgs),
    /// Count events by kind, outcome, reason, key and tenant.
    Stats(AuditStatsArgs),
}

/// Arguments of `tokenctl audit verify`.
#[derive(Debug, clap::Args)]
struct AuditVerifyArgs {
    /// The audit files (rotated and live); they are put in chain order.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// The checkpoint HMAC key file: verify checkpoints and require a sealed end.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Require the final checkpoint of a clean shutdown (needs --key).
    #[arg(long)]
    closed: bool,
    /// Accept a chain that starts after seq 1 (older files removed by retention).
    #[arg(long)]
    partial: bool,
    /// Accept lines after the last checkpoint (a file still being written), at most
    /// the checkpoint interval of them.
    #[arg(long)]
    allow_unsealed: bool,
    /// Require the chain to reach this seq (known from elsewhere): catches a cut tail.
    #[arg(long, value_name = "N")]
    expect_last_seq: Option<u64>,
    /// Require the last checkpoint to be at most this many seconds old (needs --key):
    /// for a live log with time-based checkpoints, catches a cut tail.
    #[arg(long, value_name = "SECONDS")]
    max_age: Option<u64>,
    /// The anchor file the writer kept apart from the log (one line per checkpoint):
    /// exit 1 if an anchored checkpoint is missing from the chain or the chain ends
    /// before the last one (the log was cut back to an earlier checkpoint). Without
    /// it, such a rollback is not excluded.
    #[arg(long, value_name = "ANCHORFILE")]
    anchor: Option<PathBuf>,
    /// The current time, in seconds since the epoch (for tests).
    #[arg(long, value_name = "UNIX_SECONDS", hide = true)]
    now: Option<i64>,
}

/// Arguments of `tokenctl audit stats`.
#[derive(Debug, clap::Args)]
struct AuditStatsArgs {
    /// The audit files.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Print every count as one JSON object.
    #[arg(long)]
    json: bool,
    /// How many rows of each table to show.
    #[arg(long, value_name = "N", default_value_t = 10)]
    top: usize,
}

/// The `jwt` subcommands.
#[derive(Debug, Subcommand)]
enum JwtCommand {
    /// Sign an access token and print it.
    Mint(MintArgs),
    /// Verify a token and print its claims; exit 1 if it is invalid.
    Verify(VerifyArgs),
    /// Decode a token WITHOUT verifying it.
    Inspect(InspectArgs),
}

/// The `key` subcommands.
#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Mint an API key: the secret on stdout, its record (no secret) as JSON on stderr.
    Mint(KeyMintArgs),
    /// List key records from a file of `key mint` records or a database, a page at a
    /// time, filtered.
    List(KeyListArgs),
    /// Show one key's record from a database (never its secret or hash).
    Show(KeyShowArgs),
    /// Revoke a key in a database, for good.
    Revoke(KeyRevokeArgs),
    /// Rotate a key in a database: a successor, the old key working for the grace.
    Rotate(KeyRotateArgs),
    /// Check an API key's format and checksum (no store); exit 1 if it is not a key.
    Check(KeyCheckArgs),
}

/// Arguments of `tokenctl keygen`.
#[derive(Debug, clap::Args)]
struct KeygenArgs {
    /// The algorithm the key is for.
    #[arg(long, value_name = "ALG")]
    alg: Algorithm,
    /// The key id (default: the RFC 7638 thumbprint).
    #[arg(long, value_name = "KID", value_parser = NonEmptyStringValueParser::new())]
    kid: Option<String>,
    /// Write the private JWK to this new file (mode 0600) and print the public JWK.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Arguments of `tokenctl jwks`.
#[derive(Debug, clap::Args)]
struct JwksArgs {
    /// Key files: JWK or JWKS (JSON), or PEM (private or public).
    #[arg(value_name = "KEYFILE", required = true)]
    files: Vec<PathBuf>,
}

/// Arguments of `tokenctl jwt mint`.
#[derive(Debug, clap::Args)]
struct MintArgs {
    /// The signing key: a private JWK or a private PEM.
    #[arg(long, value_name = "KEYFILE")]
    key: PathBuf,
    /// The issuer (`iss`).
    #[arg(long, value_name = "ISSUER")]
    iss: String,
    /// The subject (`sub`).
    #[arg(long, value_name = "SUBJECT")]
    sub: String,
    /// The audience (`aud`); repeat for several.
    #[arg(long, value_name = "AUDIENCE", required = true)]
    aud: Vec<String>,
    /// The granted scopes, space-separated.
    #[arg(long, value_name = "SCOPES", value_parser = parse_scope)]
    scope: Option<ScopeSet>,
    /// The tenant (claim `tid`).
    #[arg(long, value_name = "TENANT")]
    tenant: Option<String>,
    /// The lifetime: `Ns`, `Nm`, `Nh` or `Nd`, at most 24h.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = duration::parse_ttl)]
    ttl: i64,
    /// An extra claim `name=value`; the value is JSON if it parses, else a string.
    #[arg(long = "claim", value_name = "NAME=VALUE", value_parser = jwt::parse_claim)]
    claims: Vec<(String, serde_json::Value)>,
}

/// Arguments of `tokenctl jwt verify`.
#[derive(Debug, clap::Args)]
#[command(after_help = VERIFY_HELP)]
struct VerifyArgs {
    /// The keys: a JWKS document or a single JWK (`oct` secrets included), or a PEM.
    #[arg(long, value_name = "FILE")]
    jwks: PathBuf,
    /// The token (default: read from standard input).
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// The required issuer (default: any issuer).
    #[arg(long, value_name = "ISSUER")]
    iss: Option<String>,
    /// The audience `aud` must contain (default: any audience).
    #[arg(long, value_name = "AUDIENCE")]
    aud: Option<String>,
    /// The required header `typ`, e.g. `at+jwt` (default: not checked).
    #[arg(long, value_name = "TYPE")]
    typ: Option<String>,
    /// An allowed algorithm; repeat for several (default: each key's own). Keys
    /// without `alg` are bound to the allowed algorithms they fit.
    #[arg(long = "alg", value_name = "ALG")]
    algs: Vec<Algorithm>,
    /// Verify as if the time were this many seconds since the epoch.
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<i64>,
    /// Clock-skew allowance in seconds (0 to 300; default 30).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    leeway: Option<i64>,
    /// The longest accepted lifetime in seconds, or `none` (default: 24 hours).
    #[arg(long, value_name = "SECONDS", value_parser = duration::parse_max_lifetime)]
    max_lifetime: Option<MaxLifetime>,
    /// The claim that carries the tenant.
    #[arg(long, value_name = "NAME", default_value = "tid")]
    tenant_claim: String,
}

/// The end of `tokenctl key --help`: every attribute `key mint` sets and the filters
/// of `key list` (each subcommand's `--help` says more).
const KEY_HELP: &str = "\
key mint options:
  --prefix P --scopes \"a b\"     required
  --name N --tenant T --owner O  who and where
  --ttl 90d | --expires-at T     lifetime (at most ten years)
  --network CIDR                 allowed networks (repeat; at most 64)
  --rate-limit 100/minute        rate-limit override (quota grammar)
  --credits N [--refill daily|monthly [--refill-amount N]]   usage credits
  --metadata KEY=VALUE           metadata (repeat; at most 64 entries, 4 KiB)
  --database URL                 store it (sqlite://PATH or postgres://...)

key list options:
  --from RECORDS.jsonl           the records key mint printed on stderr
  --database URL                 or a database's records
  --json                         JSON lines instead of a table
  --owner O --status active|revoked|rotated --name-prefix P --tenant T
  --limit N (1 to 500, default 50) --cursor C (printed after a page as next: --cursor C)";

/// The end of `tokenctl jwt verify --help`: how keys bind and the exit statuses.
const VERIFY_HELP: &str = "\
Keys and algorithms:
  A key that names its algorithm (JWK \"alg\", or the curve of an EC or OKP key)
  verifies that algorithm only, and only if it is allowed by --alg. An RSA or oct
  key without \"alg\" (and an RSA PEM) is bound to every --alg it fits: RSA keys to
  RS256/384/512 and PS256/384/512, oct keys to each HS algorithm whose hash is no
  longer than the secret (RFC 7518 section 3.2). The token's \"alg\" then chooses
  among its key's bindings; a key never verifies another key type's algorithm.
  Without --alg, RSA and oct JWKs without \"alg\" are skipped and RSA PEMs verify
  RS256.

Exit status:
  0  the token is valid; its claims are printed as one JSON object
  1  the token is invalid (reason and code on standard error), including a token
     larger than the limit (token_too_large) and a token whose algorithm no key
     of the file is bound to
  2  usage error, unreadable key file, or a key file with no key usable under any
     allowed algorithm (\"holds no usable key\")";

/// Arguments of `tokenctl jwt inspect`.
#[derive(Debug, clap::Args)]
struct InspectArgs {
    /// The token (default: read from standard input).
    #[arg(value_name = "TOKEN")]
    token: Option<String>,
}

/// Arguments of `tokenctl key mint`. The prefix, scopes and lifetime are checked by
/// the command, so that a bad one gives a one-line message.
#[derive(Debug, clap::Args)]
struct KeyMintArgs {
    /// The key prefix: lowercase letters and digits with inner `_`, e.g. `tk_live`.
    #[arg(long, value_name = "PREFIX")]
    prefix: String,
    /// The granted scopes, space-separated (at least one).
    #[arg(long, value_name = "SCOPES")]
    scopes: String,
    /// A name for people.
    #[arg(long, value_name = "NAME", default_value = "tokenctl")]
    #[arg(value_parser = NonEmptyStringValueParser::new())]
    name: String,
    /// The tenant.
    #[arg(long, value_name = "TENANT", value_parser = NonEmptyStringValueParser::new())]
    tenant: Option<String>,
    /// The lifetime: `Ns`, `Nm`, `Nh` or `Nd`, at most 3650d (default: no expiry).
    #[arg(long, value_name = "DURATION", conflicts_with = "expires_at")]
    ttl: Option<String>,
    /// The expiry instead of --ttl: seconds since the epoch, in the future, at most ten
    /// years away.
    #[arg(long, value_name = "UNIX_TIME", allow_negative_numbers = true)]
    expires_at: Option<i64>,
    /// The owner or application (what `key list --owner` finds).
    #[arg(long, value_name = "OWNER", value_parser = NonEmptyStringValueParser::new())]
    owner: Option<String>,
    /// A network the key may be used from, as a CIDR (`10.0.0.0/8`); repeat for
    /// several, at most 64 (default: anywhere).
    #[arg(long = "network", value_name = "CIDR")]
    networks: Vec<String>,
    /// A rate-limit override: a quota such as `100/minute` or `10/second burst 20`.
    #[arg(long, value_name = "QUOTA")]
    rate_limit: Option<String>,
    /// Usage credits: the key takes one per request and is refused (`usage_exceeded`)
    /// when none is left.
    #[arg(long, value_name = "N")]
    credits: Option<u64>,
    /// Refill the credits every `daily` or `monthly` (UTC), to --refill-amount.
    #[arg(long, value_name = "INTERVAL", requires = "credits", value_parser = ["daily", "monthly"])]
    refill: Option<String>,
    /// The count after each refill (default: --credits); at least 1.
    #[arg(long, value_name = "N", requires = "refill")]
    refill_amount: Option<u64>,
    /// A metadata entry `KEY=VALUE`; repeat for several (at most 64 entries, 4 KiB).
    #[arg(long = "metadata", value_name = "KEY=VALUE")]
    metadata: Vec<String>,
    /// Store the key in this database (`sqlite://PATH` or `postgres://...`); without
    /// it nothing is stored.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

/// Arguments of `tokenctl key list`: one page of the key records in a file (the
/// JSON Lines `key mint` writes on standard error), filtered, oldest first; the
/// records shown without their hashes.
#[derive(Debug, clap::Args)]
struct KeyListArgs {
    /// The records: JSON Lines, one `key mint` record per line.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "database",
        conflicts_with = "database"
    )]
    from: Option<PathBuf>,
    /// Or the records of a database: `sqlite://PATH` or `postgres://...`.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Only keys of this owner.
    #[arg(long, value_name = "OWNER")]
    owner: Option<String>,
    /// Only keys of this status: `active`, `revoked` or `rotated`.
    #[arg(long, value_name = "STATUS")]
    status: Option<String>,
    /// Only keys whose name starts with this.
    #[arg(long, value_name = "PREFIX")]
    name_prefix: Option<String>,
    /// Only keys of this tenant.
    #[arg(long, value_name = "TENANT")]
    tenant: Option<String>,
    /// Keys per page: 1 to 500.
    #[arg(long, value_name = "N", default_value_t = 50)]
    limit: usize,
    /// Where to start: the cursor the previous page printed.
    #[arg(long, value_name = "CURSOR")]
    cursor: Option<String>,
    /// Print one JSON object per key instead of a table.
    #[arg(long)]
    json: bool,
}

/// Arguments of `tokenctl key check`.
#[derive(Debug, clap::Args)]
struct KeyCheckArgs {
    /// The API key (default, or `-`: read from standard input).
    #[arg(value_name = "KEY")]
    key: Option<String>,
}

/// Parses `--scope`.
fn parse_scope(text: &str) -> Result<ScopeSet, String> {
    text.parse().map_err(|e| format!("{e}"))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    let result = match &cli.command {
        Command::Keygen(args) => keygen::run(args),
        Command::Jwks(args) => jwks::run(args),
        Command::Jwt(JwtCommand::Mint(args)) => jwt::mint(args),
        Command::Jwt(JwtCommand::Verify(args)) => jwt::verify(args),
        Command::Jwt(JwtCommand::Inspect(args)) => inspect::run(args),
        Command::Key(KeyCommand::Mint(args)) => apikey::mint(args),
        Command::Key(KeyCommand::List(args)) => apikey_list::list(args),
        Command::Key(KeyCommand::Check(args)) => apikey::check(args),
        Command::Key(KeyCommand::Show(args)) => db::show(args),
        Command::Key(KeyCommand::Revoke(args)) => db::revoke(args),
        Command::Key(KeyCommand::Rotate(args)) => db::rotate(args),
        Command::Db(DbCommand::Migrate(args)) => db::migrate(args),
        Command::Audit(AuditCommand::Verify(args)) => audit::verify(args),
        Command::Audit(AuditCommand::Stats(args)) => audit::stats(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

/// Reports a command-line error (exit status 2) or prints help or the version (exit
/// status 0). Arguments that look like tokens or API keys are redacted from the
/// message.
fn clap_exit(error: &clap::Error) -> ExitCode {
    if !error.use_stderr() {
        // `--help` or `--version`.
        return match error.print() {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(2),
        };
    }
    let message = failure::redact_tokens(&error.render().to_string());
    // A database URL given where a word was expected: never its password.
    let message: String = message
        .split_inclusive(char::is_whitespace)
        .map(|word| {
            if word.contains("://") || word.contains("password=") {
                std::borrow::Cow::Owned(token_sql::redact_url(word))
            } else {
                std::borrow::Cow::Borrowed(word)
            }
        })
        .collect();
    eprint!("{message}");
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
