//! The bootstrap admin key and the demo client: created on the first start, kept
//! by later ones (their secrets stay in the 0600 bootstrap file; the database holds
//! only hashes), replaced with `--reset-bootstrap`.

use std::path::Path;

use token_audit::{AuditEvent, Auditor};
use token_core::apikey::{ApiKeys, KeyStatus, NewKey};
use token_core::client::ClientCredentials;
use token_sql::{SqlClientStore, SqlKeyStore};
use zeroize::Zeroizing;

use crate::{ADMIN_SCOPES, CLIENT_SCOPES, StartError, fail, files};

/// The metadata entry that marks the bootstrap admin key, so that a later
/// `--reset-bootstrap` (or a start that lost the bootstrap file) can revoke it.
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
        client_id: var("DEMO_CLIENT_ID")?,
        client_secret: Zeroizing::new(var("DEMO_CLIENT_SECRET")?),
    })
}

/// Keeps the bootstrap admin key and demo client when the file names ones the
/// database still accepts; otherwise (or with `reset`) revokes every earlier
/// bootstrap admin key, mints a new one, registers a new demo client, and writes
/// their secrets to the 0600 file.
pub(crate) async fn ensure(
    path: &Path,
    reset: bool,
    keys: &ApiKeys<SqlKeyStore>,
    clients: &ClientCredentials<SqlClientStore>,
    auditor: &Auditor,
) -> Result<Bootstrap, StartError> {
    if !reset
        && let Some(found) = read(path)
        && keys.lookup(&found.admin_key).await.is_ok()
        && clients
            .authenticate(&found.client_id, &found.client_secret)
            .await
            .is_ok()
    {
        return Ok(Bootstrap {
            client_id: found.client_id,
            created: false,
        });
    }
    for old in keys.list(None).await.map_err(|e| fail("bootstrap")(&e))? {
        let marked = old.metadata.get(MARKER.0).map(String::as_str) == Some(MARKER.1);
        if marked && !matches!(old.status, KeyStatus::Revoked { .. }) {
            let why = "replaced by a new bootstrap admin key";
            let revoked = keys
                .revoke(&old.id, why)
                .await
                .map_err(|e| fail("revoking the old bootstrap admin key")(&e))?;
            auditor.record(AuditEvent::key_revoked(&revoked, why));
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
         ADMIN_API_KEY={}\nDEMO_CLIENT_ID={}\nDEMO_CLIENT_SECRET={}\n",
        path.display(),
        admin_key.expose_secret(),
        client.client_id,
        client_secret.expose_secret(),
    ));
    files::replace_private(path, secrets.as_bytes()).map_err(|e| fail("--bootstrap-file")(&e))?;
    Ok(Bootstrap {
        client_id: client.client_id,
        created: true,
    })
}
