//! JWT access tokens (RFC 9068): keyrings with rotation and JWKS, minting with keys
//! parsed once, and verification hardened per RFC 8725.

mod cache;
mod claims;
mod error;
mod header;
mod keyring;
mod mint;
mod revocation;
mod verify;

pub use claims::{AccessClaims, NoExtra};
pub use error::{JwtError, JwtErrorKind, MintError};
pub use keyring::{JwksReport, Keyring, KeyringError, SharedKeyring};
pub use mint::{AccessTokenRequest, DEFAULT_MAX_TTL_SECS, Minter};
pub use revocation::{MemoryRevocationStore, RevocationStore};
pub use verify::{
    MAX_LEEWAY_SECS, Validation, ValidationBuilder, ValidationError, Verified, Verifier,
};
