//! token-ratelimit (work in progress).
