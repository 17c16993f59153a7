//! Per-key, per-tenant and per-route rate limits for tokenkit.
//!
//! A [`Limiter`] checks each request against layered limits — per principal (API key
//! or token subject, with per-key overrides from the key record), per tenant, per
//! route class (from the matched policy rule) and global — and admits it only if all
//! admit. A refused request is charged to no limit. Each decision is data
//! ([`RateLimitDecision`]) that turns into IETF `RateLimit-Policy` / `RateLimit`
//! headers, `Retry-After`, and optionally the legacy `X-RateLimit-*` trio.
//!
//! - **Quotas people can read**: [`Quota`] is "N requests per period with a burst",
//!   parsed from `100/minute`, `10/second burst 20`, `5000/day`.
//! - **GCRA on governor**: local counters live in governor's keyed state store, keyed
//!   by a 64-bit keyed hash (no allocation per request), with idle keys swept out on
//!   a schedule and a hard cap on tracked keys ([`LocalStore`](backend::LocalStore)).
//! - **Shared state seam**: limits marked [`Mode::Strict`] use a [`LimitStore`](backend::LimitStore) (a
//!   Redis backend, later) in one all-or-nothing round trip.
//! - **Injectable time**: [`Clock`](token_core::Clock); tests use [`ManualClock`](token_core::ManualClock) and never sleep.
//!
//! Usage credits (a total allowance, not a rate) live on token-core's key record,
//! not here. The crate has no feature flags. The guide is `docs/rate-limits.md`.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use token_ratelimit::{CheckRequest, HeaderStyle, Limiter, Quota, RefusalReason};
//! use token_core::ManualClock;
//!
//! let clock = ManualClock::default();
//! let limiter = Limiter::builder()
//!     .principal("3/second".parse::<Quota>()?)
//!     .tenant(Quota::per_minute(1000)?)
//!     .route_class("search", Quota::per_second(2)?)
//!     .clock(clock.clone())
//!     .build()?;
//!
//! let request = CheckRequest::new("key_alice")
//!     .tenant(Some("acme"))
//!     .route_class(Some("search"));
//!
//! // `check` is async (strict limits may do I/O); with only local limits,
//! // `try_check` answers synchronously.
//! let first = limiter.try_check(&request).expect("all limits are local");
//! assert!(first.is_allowed());
//! assert_eq!(first.status().unwrap().name().as_str(), "search");
//! assert_eq!(first.status().unwrap().remaining(), 1);
//!
//! assert!(limiter.try_check(&request).unwrap().is_allowed());
//! let third = limiter.try_check(&request).unwrap();
//! let refusal = third.refusal().unwrap();
//! assert_eq!(refusal.reason(), RefusalReason::Exhausted);
//! assert_eq!(refusal.retry_after(), Some(Duration::from_millis(500)));
//! assert_eq!(
//!     third.headers(HeaderStyle::Ietf),
//!     [
//!         ("ratelimit-policy", "\"search\";q=2;w=1".to_owned()),
//!         ("ratelimit", "\"search\";r=0;t=1".to_owned()),
//!         ("retry-after", "1".to_owned()),
//!     ]
//! );
//!
//! clock.advance(Duration::from_millis(500));
//! assert!(limiter.try_check(&request).unwrap().is_allowed());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod backend;
mod builder;
mod decision;
mod error;
mod gcra;
mod headers;
mod key;
mod limiter;
mod local;
mod overrides;
mod parse;
mod quota;
mod request;
mod store;

pub use builder::{Limit, LimiterBuilder, Mode};
pub use decision::{LimitStatus, RateLimitDecision, Refusal, RefusalReason};
pub use error::{BuildError, BuildErrorKind, QuotaError, QuotaErrorKind};
pub use headers::HeaderStyle;
pub use key::{LimitName, Tier};
pub use limiter::Limiter;
pub use quota::{Period, Quota};
pub use request::CheckRequest;
