//! The response body: the inner service's, or a refusal's.

use bytes::Bytes;
use http_body_util::{Either, Full};

/// The body of responses from [`crate::AuthService`]: the inner service's body on
/// admission, a small buffered body for refusals.
pub type AuthBody<B> = Either<B, Full<Bytes>>;
