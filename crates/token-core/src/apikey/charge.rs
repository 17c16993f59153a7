//! A metered key's use as a separate step: checking a key takes nothing; the use is
//! charged only once every other check (network, policy, rate limit) admitted it.

use std::fmt;
use std::sync::Arc;

use super::KeyRef;
use crate::principal::Principal;

/// One use of a metered key, owed and not yet taken. [`super::ApiKeys::check`] hands
/// it out; [`super::ApiKeys::charge`] (or [`crate::Authenticator::charge`]) takes it
/// from the key's balance. Dropping it takes nothing: do that when a later check
/// refused the request. Names the key (id and hint), never the key itself.
#[must_use = "a metered key's use is taken only by `charge`; drop it only if the request was refused"]
#[derive(Clone)]
pub struct Charge {
    inner: Arc<Owed>,
}

struct Owed {
    /// The record holding the balance: the key itself, or the first key of its
    /// rotation line (a key and its successors share one balance).
    balance: String,
    /// The key presented, for a refusal.
    key: Arc<KeyRef>,
}

impl Charge {
    pub(crate) fn new(balance: String, key: Arc<KeyRef>) -> Charge {
        Charge {
            inner: Arc::new(Owed { balance, key }),
        }
    }

    /// The id of the key presented.
    pub fn key_id(&self) -> &str {
        &self.inner.key.id
    }

    /// The id of the key whose balance pays: the key itself, or the first key of its
    /// rotation line.
    pub fn balance_id(&self) -> &str {
        &self.inner.balance
    }

    pub(crate) fn key(&self) -> &Arc<KeyRef> {
        &self.inner.key
    }
}

impl fmt::Debug for Charge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Charge")
            .field("key_id", &self.inner.key.id)
            .field("balance_id", &self.inner.balance)
            .finish()
    }
}

/// A credential that passed its own checks (format, lookup, status, expiry, or a JWT's
/// signature and claims), with the charge of a metered key still due. Nothing has been
/// consumed yet.
#[must_use = "a checked credential still owes its charge when metered"]
#[derive(Debug, Clone)]
pub struct Checked {
    principal: Principal,
    charge: Option<Charge>,
}

impl Checked {
    /// A principal that owes nothing (unmetered keys, JWTs).
    pub fn free(principal: Principal) -> Checked {
        Checked {
            principal,
            charge: None,
        }
    }

    pub(crate) fn owing(principal: Principal, charge: Option<Charge>) -> Checked {
        Checked { principal, charge }
    }

    /// Who is calling.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The use still owed, for a metered key.
    pub fn charge(&self) -> Option<&Charge> {
        self.charge.as_ref()
    }

    /// The principal and the use still owed.
    pub fn into_parts(self) -> (Principal, Option<Charge>) {
        (self.principal, self.charge)
    }
}
