//! token-audit (work in progress).
