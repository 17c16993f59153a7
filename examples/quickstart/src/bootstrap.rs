//! The bootstrap admin key and the demo client: created on the first start, kept
//! by later ones (their secrets stay in the 0600 bootstrap file; the database holds
//! only hashes), replaced with `--reset-bootstrap`.

use std::path::Path;

use token_audit::{AuditEvent, Auditor};
use token_core::apikey::{ApiKeyErrorKind, ApiKeys, NewKey};
use token_core::client::{ClientCredentials, ClientError};
use token_sql::{SqlClientStore, SqlKeyStore};
use zeroize::Zeroizing;

use crate::{ADMIN_SCOPES, CLIENT_SCOPES, StartError, fail, files};

/// The metadata entry that marks the bootstrap admin key (for people reading a
/// listing; what is revoked on a reset is the id the bootstrap file names).
pub(crate) const MARKER: (&str, &str) = ("tokenkit.quickstart", "bootstrap-admin");

/// What the start found or made.
#[derive(Debug)]
pub(crate) struct Bootstrap {
    pub(crate) client_id: String,
    /// Whether the secrets were created at this start (else: they existed).
    pub(crate) created: bool,
}

/// The secrets a bootstrap file holds.
struct Secrets {
    admin_key: Zeroizing<String>,
    /// Absent from files written before the id was recorded.
    admin_key_id: Option<String>,
    client_id: String,
    client_secret: Zeroizing<String>,
}

fn read(path: &Path) -> Option<Secrets> {
    let text = Zeroizing::new(std::fs::read_to_string(path).ok()?);
    let var = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_owned)
    };
    Some(Secrets {
        admin_key: Zeroizing::new(var("ADMIN_API_KEY")?),
        admin_key_id: var("ADMIN_KEY_ID"),
        client_id: var("DEMO_CLIENT_ID")?,
        client_secret: Zeroizing::new(var("DEMO_CLIENT_SECRET")?),
    })
}

/// Keeps the bootstrap admin key and demo client when the file names ones the
/// database still accepts. Otherwise (or with `reset`) revokes the admin key the
/// file names, if any (only that one: a key rotated from it, or another data dir's
/// bootstrap key on a shared database, is left alone), mints a new one, registers a
/// new demo client, and writes their secrets to the 0600 file. A store failure
/// fails the start rather than replacing a bootstrap that may be fine.
pub(crate) async fn ensure(
    path: &Path,
    reset: bool,
    keys: &ApiKeys<SqlKeyStore>,
    clients: &ClientCredentials<SqlClientStore>,
    auditor: &Auditor,
) -> Result<Bootstrap, StartError> {
    let found = read(path);
    if !reset
        && let Some(found) = &found
        && still_valid(found, keys, clients).await?
    {
        return Ok(Bootstrap {
            client_id: found.client_id.clone(),
            created: false,
        });
    }
    if let Some(old) = found.as_ref().and_then(|f| f.admin_key_id.as_deref()) {
        let why = "replaced by a new bootstrap admin key";
        match keys.revoke(old, why).await {
            Ok(revoked) => auditor.record(AuditEvent::key_revoked(&revoked, why)),
            Err(e) if e.kind() == ApiKeyErrorKind::NotFound => {}
            Err(e) => return Err(fail("revoking the old bootstrap admin key")(&e)),
        }
    }
    let scopes = ADMIN_SCOPES.parse().map_err(|e| fail("scopes")(&e))?;
    let (admin_key, admin_record) = keys
        .mint(NewKey::new("bootstrap admin", scopes).metadata(MARKER.0, MARKER.1))
        .await
        .map_err(|e| fail("bootstrap key")(&e))?;
    auditor.record(AuditEvent::key_created(&admin_record));
    let (client, client_secret) = clients
        .register(
            "quickstart demo client",
            CLIENT_SCOPES.parse().map_err(|e| fail("scopes")(&e))?,
            Some("acme"),
        )
        .await
        .map_err(|e| fail("demo client")(&e))?;
    auditor.record(AuditEvent::client_created(&client));
    let secrets = Zeroizing::new(format!(
        "# tokenkit quickstart bootstrap secrets: keep private (mode 0600).\n\
         # Load them with: . {}\n\
         ADMIN_API_KEY={}\nADMIN_KEY_ID={}\nDEMO_CLIENT_ID={}\nDEMO_CLIENT_SECRET={}\n",
        path.display(),
        admin_key.expose_secret(),
        admin_record.id,
        client.client_id,
        client_secret.expose_secret(),
    ));
    files::replace_private(path, secrets.as_bytes()).map_err(|e| fail("--bootstrap-file")(&e))?;
    Ok(Bootstrap {
        client_id: client.client_id,
        created: true,
    })
}

/// Whether the file's admin key and demo client still work: `false` when the
/// database refuses them (unknown, revoked, expired, past a rotation's grace), an
/// error when it cannot say (the store failed).
async fn still_valid(
    found: &Secrets,
    keys: &ApiKeys<SqlKeyStore>,
    clients: &ClientCredentials<SqlClientStore>,
) -> Result<bool, StartError> {
    match keys.lookup(&found.admin_key).await {
        Ok(_) => {}
        Err(e) if e.kind() == ApiKeyErrorKind::StoreUnavailable => {
            return Err(fail("reading the bootstrap admin key")(&e));
        }
        Err(_) => return Ok(false),
    }
    match clients
        .authenticate(&found.client_id, &found.client_secret)
        .await
    {
        Ok(_) => Ok(true),
        Err(e @ ClientError::Store(_)) => Err(fail("reading the demo client")(&e)),
        Err(_) => Ok(false),
    }
}
