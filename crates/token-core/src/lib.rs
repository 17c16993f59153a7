//! token-core: the credentials of tokenkit, and one `Authenticator` that turns any of
//! them into a [`Principal`].
//!
//! - [`apikey`]: checksummed API keys shown once and hashed at rest, cached
//!   verification, instant revocation, rotation with grace, usage credits.
//! - [`jwt`] and [`jose`]: keys parsed once into ring's types, keyrings with rotation
//!   and JWKS, RFC 9068 access tokens, verification hardened per RFC 8725.
//! - [`client`]: the client-credentials grant. [`refresh`]: refresh-token families with
//!   reuse detection.
//!
//! ```
//! use token_core::jose::{Algorithm, SigningKey};
//! use token_core::jwt::{AccessTokenRequest, Keyring, Minter, Validation, Verifier};
//!
//! // One active key; publish `keyring.public_jwks()` at /.well-known/jwks.json.
//! let keyring = Keyring::new(SigningKey::generate(Algorithm::ES256)?);
//!
//! let minter = Minter::new(keyring.clone(), "https://auth.example");
//! let token = minter.mint(
//!     &AccessTokenRequest::new("user-42", "reports-api")
//!         .scope("read:reports write:reports".parse()?)
//!         .tenant("acme"),
//! )?;
//!
//! let verifier = Verifier::new(keyring, Validation::access_tokens("https://auth.example", "reports-api"));
//! let verified = verifier.verify(&token)?;
//! assert_eq!(verified.claims.tenant.as_deref(), Some("acme"));
//! assert!(verified.claims.scope.grants(&"read:reports".parse()?));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every refusal carries a stable reason code ([`AuthError::code`]); see `docs/jwt.md`
//! and `docs/api-keys.md` for each default and why.
//!
//! # Crypto
//!
//! ring does all signing, verification and key generation, except ES512 (P-521), which
//! ring lacks: that comes from the pure-Rust `p521` (`RustCrypto`). Key files (PKCS#8,
//! SEC 1, PKCS#1, SPKI) are read and written with `RustCrypto`'s `pkcs8`, `sec1`, `pkcs1`
//! and `spki`. Tokens are verified by this crate's own verifier, not `jsonwebtoken`'s (see
//! `docs/jwt.md` for why, with the numbers).
//!
//! # Features
//!
//! - `jsonwebtoken` (off by default): for processes that also call `jsonwebtoken` 10
//!   built without its own backends (`rust_crypto`, `aws_lc_rs`). Adds
//!   `jose::install_ring_provider` (ring as `jsonwebtoken`'s provider), and building a [`jwt::Keyring`] then installs ring
//!   as `jsonwebtoken`'s process-wide provider (unless one was installed first), so those
//!   calls use ring too and never panic for want of a provider. Without the feature,
//!   `jsonwebtoken` is no dependency and building a keyring installs nothing.

pub mod apikey;
mod authenticator;
pub mod backend;
pub mod client;
mod clock;
pub mod duration;
pub mod jose;
pub mod jwt;
pub mod limits;
mod net;
mod principal;
pub mod refresh;
mod store;
mod store_arc;

pub use authenticator::{AuthError, AuthErrorKind, Authenticator, CredentialKind};
pub use clock::{Clock, ManualClock, SystemClock};
pub use net::{Cidr, CidrError};
pub use principal::{Principal, PrincipalBuilder, PrincipalKind};
