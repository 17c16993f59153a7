//! token-tower (work in progress).
