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
//! ring does all signing, verification and key generation. `jsonwebtoken` (at 10.4)
//! is present without its own backends; building a [`jwt::Keyring`] installs
//! [`jose::RING_PROVIDER`] as its process-wide provider, so `jsonwebtoken` calls
//! elsewhere in the process use ring too and never panic for want of a provider.
//!
//! # Features
//!
//! None yet.

pub mod apikey;
mod authenticator;
pub mod client;
mod clock;
pub mod duration;
pub mod jose;
pub mod jwt;
mod net;
mod principal;
pub mod refresh;
mod store;

pub use authenticator::{
    AuthError, AuthErrorKind, Authenticator, CredentialKind, MAX_CREDENTIAL_LEN,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use net::{Cidr, CidrError};
pub use principal::{Principal, PrincipalBuilder, PrincipalKind};
pub use store::{StoreError, StoreErrorKind};
