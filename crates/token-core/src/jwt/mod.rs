//! JWT access tokens (RFC 9068): keyrings with rotation and JWKS, minting with keys
//! parsed once, and verification hardened per RFC 8725.

mod cache;
mod claims;
mod error;
mod header;
mod keyring;
pub(crate) mod mint;
pub(crate) mod revocation;
pub(crate) mod verify;

pub use claims::{AccessClaims, NoExtra};
pub use error::{JwtError, JwtErrorKind, MintError};
pub use keyring::{JwksReport, Keyring, KeyringError, SharedKeyring};
pub use mint::{AccessTokenRequest, Minter};
pub(crate) use revocation::RevocationStore;
pub use verify::{Validation, ValidationBuilder, ValidationError, Verified, Verifier};
