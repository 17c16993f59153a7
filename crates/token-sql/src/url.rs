//! Database URLs as they may be shown: never with a password.

/// `url` with any password replaced by `***`: the one in the user-info part
/// (`postgres://user:pw@host/db`) and a `password=` query parameter. Use it
/// wherever a URL is logged or shown; every error of this crate does.
///
/// ```
/// use token_sql::redact_url;
///
/// assert_eq!(
///     redact_url("postgres://app:s3cret@db:5432/keys?sslmode=require&password=x"),
///     "postgres://app:***@db:5432/keys?sslmode=require&password=***",
/// );
/// assert_eq!(redact_url("sqlite://.tokenkit/tokenkit.db"), "sqlite://.tokenkit/tokenkit.db");
/// ```
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = String::with_capacity(url.len());
    match base.split_once("://") {
        Some((scheme, rest)) => {
            out.push_str(scheme);
            out.push_str("://");
            // The user info ends at the last '@' before the path.
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    match userinfo.split_once(':') {
                        Some((user, _password)) => {
                            out.push_str(user);
                            out.push_str(":***");
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push('@');
                    out.push_str(host);
                }
                None => out.push_str(authority),
            }
            out.push_str(path);
        }
        None => out.push_str(base),
    }
    if let Some(query) = query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                    out.push_str(name);
                    out.push_str("=***");
                }
                _ => out.push_str(pair),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_survive() {
        for (url, shown) in [
            ("postgres://u:p@h/d", "postgres://u:***@h/d"),
            ("postgresql://u:p:q@h", "postgresql://u:***@h"),
            ("postgres://u:p@x@h/d", "postgres://u:***@h/d"),
            ("postgres://u@h/d", "postgres://u@h/d"),
            (
                "postgres://h/d?user=u&PASSWORD=pw",
                "postgres://h/d?user=u&PASSWORD=***",
            ),
            ("sqlite::memory:", "sqlite::memory:"),
            ("", ""),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
