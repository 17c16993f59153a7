//! Database URLs as they may be shown: never with a password.

/// `url` with any password replaced by `***`: the user-info password of a URL
/// (`postgres://user:pw@host/db`; everything up to the last `@` counts as user
/// info, so a password holding `/`, `?` or `@` is hidden whole), and every
/// `password=` parameter, whether in a query string or in a libpq `key=value`
/// string, quoted or not, wherever it stands. When a URL is ambiguous (an `@` in its
/// query) it hides too much rather than too little. Text that is no URL at all (a
/// libpq `key = value` string, say, whose spacing rules are looser) is not shown:
/// it becomes `(not a URL: not shown)`. Use it wherever a URL is logged or shown;
/// every error of this crate does.
///
/// ```
/// use token_sql::redact_url;
///
/// assert_eq!(
///     redact_url("postgres://app:s3cret@db:5432/keys?sslmode=require&password=x"),
///     "postgres://app:***@db:5432/keys?sslmode=require&password=***",
/// );
/// assert_eq!(redact_url("host=db password = s3cret"), "(not a URL: not shown)");
/// assert_eq!(redact_url("sqlite://.tokenkit/tokenkit.db"), "sqlite://.tokenkit/tokenkit.db");
/// ```
pub fn redact_url(url: &str) -> String {
    let (head, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None if url.starts_with("sqlite:") => (String::new(), url),
        None if url.is_empty() => return String::new(),
        None => return "(not a URL: not shown)".to_owned(),
    };
    let mut out = head;
    let rest = if out.is_empty() {
        rest
    } else {
        match rest.rsplit_once('@') {
            Some((userinfo, after)) => {
                let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
                out.push_str(user);
                if userinfo.contains(':') {
                    out.push_str(":***");
                }
                out.push('@');
                after
            }
            None => rest,
        }
    };
    out.push_str(rest);
    // Over the whole text: a `password=` that the user-info split took for a user
    // name (an `@` in the query) is hidden too.
    redact_parameters(&out)
}

/// Every `password=VALUE` (any case) replaced by `password=***`, where a value
/// ends at `&`, whitespace or the end, or, quoted (`'...'` or `"..."`), at its
/// closing quote (the whole rest when there is none).
fn redact_parameters(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_password(rest) {
        let value_start = at + "password=".len();
        out.push_str(&rest[..value_start]);
        out.push_str("***");
        let value = &rest[value_start..];
        let end = match value.chars().next() {
            Some(quote @ ('\'' | '"')) => value[1..]
                .find(quote)
                .map_or(value.len(), |close| close + 2),
            _ => value
                .find(|c: char| c == '&' || c.is_whitespace())
                .unwrap_or(value.len()),
        };
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

/// The byte offset of the next `password=` that starts a parameter (at the
/// start, or after `?`, `&` or whitespace), ignoring case.
fn find_password(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("password=") {
        let at = from + i;
        let starts = at == 0
            || matches!(lower.as_bytes()[at - 1], b'?' | b'&')
            || lower.as_bytes()[at - 1].is_ascii_whitespace();
        if starts {
            return Some(at);
        }
        from = at + 1;
    }
    None
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
            ("postgres://app:p?ss@db/keys", "postgres://app:***@db/keys"),
            ("postgres://app:pa/ss@db/keys", "postgres://app:***@db/keys"),
            ("postgres://u@h/d", "postgres://u@h/d"),
            (
                "postgres://h/d?user=u&PASSWORD=pw",
                "postgres://h/d?user=u&PASSWORD=***",
            ),
            (
                "host=db user=app password=s3cret dbname=x",
                "(not a URL: not shown)",
            ),
            ("host=db password = s3cret", "(not a URL: not shown)"),
            ("postgres://h/d?mypassword=x", "postgres://h/d?mypassword=x"),
            // An `@` in the query: the password is hidden whatever the split.
            (
                "postgres://db.example.com/app?password=s3cret&user=admin@srv",
                "postgres://db.example.com/app?password=***&user=admin@srv",
            ),
            (
                "postgres://h:5432/d?password=x&user=a@b",
                "postgres://h:***@b",
            ),
            (
                "postgres://h/d?password='a b'&user=u",
                "postgres://h/d?password=***&user=u",
            ),
            (
                "postgres://h/d?password=\"a b",
                "postgres://h/d?password=***",
            ),
            ("sqlite::memory:", "sqlite::memory:"),
            ("", ""),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
