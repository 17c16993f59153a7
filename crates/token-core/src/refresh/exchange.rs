//! The refresh grant (RFC 6749 §6) as a rule of the core: what a redeemed token may
//! be exchanged for, and the access token minted for it. The OAuth route, the CLI and
//! the portal share it.

use token_scopes::{Scope, ScopeSet};

use super::{RefreshError, RefreshRecord, RefreshStore, RefreshTokens};
use crate::apikey::ApiKeySecret;
use crate::client::ClientRecord;
use crate::jwt::{AccessTokenRequest, Minter};

/// How access tokens are minted for the refresh grant.
#[derive(Debug, Clone, Copy)]
pub struct AccessIssue<'a> {
    /// The minter.
    pub minter: &'a Minter,
    /// The tokens' audience.
    pub audience: &'a str,
    /// The tokens' lifetime.
    pub ttl_secs: i64,
    /// The scope that crosses tenants: granted only where held exactly, never
    /// through a wildcard.
    pub cross_tenant: &'a Scope,
}

/// What a refresh grant answered: the next refresh token (the presented one is now
/// used), the family's record, and the access token with its scope.
#[derive(Debug)]
#[non_exhaustive]
pub struct Refreshed {
    /// The next refresh token of the family, shown once.
    pub refresh_token: ApiKeySecret,
    /// The family's record (subject, client, tenant).
    pub record: RefreshRecord,
    /// The access token.
    pub access_token: String,
    /// The scope it carries.
    pub scope: ScopeSet,
}

impl<R: RefreshStore> RefreshTokens<R> {
    /// Whether `token` is one of ours by its format (no lookup): a revocation
    /// endpoint tells refresh tokens from access tokens with it.
    pub fn recognizes(&self, token: &str) -> bool {
        self.inner.format.parse(token).is_ok()
    }

    /// Redeems `presented` for `client` and mints an access token: never more scope
    /// than the family was granted, nor more than the client may have today (an
    /// operator may have narrowed it since), narrowed to `requested` when given. A
    /// request that leaves no scope is [`RefreshError::ScopeNotGranted`] and leaves
    /// the token unused; a failed mint is [`RefreshError::Mint`].
    pub async fn exchange(
        &self,
        presented: &str,
        client: &ClientRecord,
        requested: Option<&ScopeSet>,
        issue: AccessIssue<'_>,
    ) -> Result<Refreshed, RefreshError> {
        let exact = issue.cross_tenant;
        let redeemed = self
            .redeem_checked(presented, &client.client_id, |record| {
                let granted = record
                    .scope
                    .intersect_keeping_exact(&client.allowed_scopes, exact);
                let scope = match requested {
                    Some(r) => r.intersect_keeping_exact(&granted, exact),
                    None => granted,
                };
                if scope.is_empty() {
                    return Err(RefreshError::ScopeNotGranted);
                }
                let mut request = AccessTokenRequest::new(&record.subject, issue.audience)
                    .client_id(&record.client_id)
                    .scope(scope.clone())
                    .ttl_secs(issue.ttl_secs);
                if let Some(t) = &record.tenant {
                    request = request.tenant(t);
                }
                let token = issue
                    .minter
                    .mint(&request)
                    .map_err(|_| RefreshError::Mint)?;
                Ok((scope, token))
            })
            .await?;
        let (refresh_token, record, (scope, access_token)) = redeemed?;
        Ok(Refreshed {
            refresh_token,
            record,
            access_token,
            scope,
        })
    }
}
