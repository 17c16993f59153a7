//! Who is really calling, and over what: the peer address, forwarded headers from
//! trusted proxies only, and whether the client's hop was TLS.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, HeaderName};
use token_core::Cidr;

/// The address of the peer that opened the connection. With axum, serve with
/// `into_make_service_with_connect_info::<SocketAddr>()` and the layer reads
/// `ConnectInfo` itself; on a bare hyper server, insert this as a request extension
/// (see `examples/hyper-minimal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// A marker the TLS acceptor inserts as a request extension: this request arrived
/// over a TLS connection terminated by this process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TlsConnection;

/// The most hops read from `Forwarded` or `X-Forwarded-For`; longer chains are cut to
/// their right-most hops (the ones our proxies wrote).
pub const MAX_FORWARDED_HOPS: usize = 32;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// The header your trusted proxies write the client's address and scheme into. Name
/// the one they write: a header they pass through untouched is the client's to forge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyHeaders {
    /// `X-Forwarded-For` (each proxy appends the address it heard from) and
    /// `X-Forwarded-Proto`, of which the right-most value is used: the proxy must set
    /// or append it, never pass the client's through alone. nginx, `HAProxy`, AWS ALB,
    /// most CDNs. The default.
    #[default]
    XForwarded,
    /// RFC 7239 `Forwarded` (`for=` and `proto=` per hop).
    Forwarded,
}

/// Where a request came from, as far as the configuration lets us trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientInfo {
    /// The client's address: the peer's, or from forwarded headers when the peer is a
    /// trusted proxy (the right-most untrusted hop). `None` when the peer is unknown.
    pub ip: Option<IpAddr>,
    /// Whether the client's hop used TLS: the connection's marker, or a trusted
    /// proxy's `Forwarded: proto=https` / `X-Forwarded-Proto: https`.
    pub tls: bool,
    /// Whether credentials may travel on this request under the layer's settings:
    /// TLS, a loopback client, or `insecure_allow_plaintext`. Handlers that take
    /// credentials in a body (the OAuth endpoints) check it.
    pub credentials_ok: bool,
}

impl ClientInfo {
    /// Whether the client is this machine (a loopback address).
    pub fn is_loopback(&self) -> bool {
        self.ip.is_some_and(|ip| canonical(ip).is_loopback())
    }
}

/// Resolves the client from the peer address, the TLS marker and, only when the peer
/// is inside `trusted`, the forwarded headers (`credentials_ok` is left false: the
/// layer sets it from its configuration). Never fails: a forwarded header that
/// does not parse is ignored and the peer (the proxy) is the client, which fails
/// closed for any per-key network allowlist.
pub fn resolve(
    peer: Option<IpAddr>,
    tls: bool,
    headers: &HeaderMap,
    trusted: &[Cidr],
    which: ProxyHeaders,
) -> ClientInfo {
    let direct = ClientInfo {
        ip: peer,
        tls,
        credentials_ok: false,
    };
    let Some(peer) = peer else { return direct };
    if !is_trusted(peer, trusted) {
        return direct;
    }
    let hops = match which {
        ProxyHeaders::Forwarded => forwarded_hops(headers),
        ProxyHeaders::XForwarded => x_forwarded_hops(headers),
    };
    let Some(hops) = hops else { return direct };
    // Right to left: the first hop not in a trusted network is the client; if every
    // hop is trusted, the left-most is.
    let chosen = hops
        .iter()
        .rev()
        .find(|h| !is_trusted(h.ip, trusted))
        .or_else(|| hops.first());
    let Some(hop) = chosen else { return direct };
    ClientInfo {
        ip: Some(hop.ip),
        tls: tls || hop.https,
        credentials_ok: false,
    }
}

fn is_trusted(ip: IpAddr, trusted: &[Cidr]) -> bool {
    trusted.iter().any(|c| c.contains(ip))
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// One proxy hop: who the proxy heard from, and whether that hop was HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hop {
    ip: IpAddr,
    https: bool,
}

/// Every comma-separated element of every line of `name`, left to right, or `None`
/// when a line is not visible ASCII.
fn elements<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<Vec<&'h str>> {
    let mut out = Vec::new();
    for value in headers.get_all(name) {
        let text = value.to_str().ok()?;
        out.extend(text.split(',').map(str::trim));
    }
    let skip = out.len().saturating_sub(MAX_FORWARDED_HOPS);
    Some(out.split_off(skip))
}

/// RFC 7239 `Forwarded`: `for=` (quoted, bracketed IPv6, optional port) and `proto=`.
/// An element without a usable `for=` (an obfuscated or `unknown` node) ends the
/// trustworthy part of the chain: nothing left of it can be attributed.
fn forwarded_hops(headers: &HeaderMap) -> Option<Vec<Hop>> {
    let elements = elements(headers, &http::header::FORWARDED)?;
    let mut hops = Vec::with_capacity(elements.len());
    for element in elements {
        let mut ip = None;
        let mut https = false;
        for pair in element.split(';') {
            let (name, value) = pair.trim().split_once('=')?;
            let value = value.trim().trim_matches('"');
            if name.trim().eq_ignore_ascii_case("for") {
                ip = parse_node(value);
            } else if name.trim().eq_ignore_ascii_case("proto") {
                https = value.eq_ignore_ascii_case("https");
            }
        }
        match ip {
            Some(ip) => hops.push(Hop { ip, https }),
            None => hops.clear(),
        }
    }
    Some(hops)
}

/// `X-Forwarded-For` with the right-most `X-Forwarded-Proto` (the one our proxy set)
/// applied to the client's hop.
fn x_forwarded_hops(headers: &HeaderMap) -> Option<Vec<Hop>> {
    let https = elements(headers, &X_FORWARDED_PROTO)
        .and_then(|p| p.last().map(|p| p.eq_ignore_ascii_case("https")))
        .unwrap_or(false);
    let mut hops = Vec::new();
    for element in elements(headers, &X_FORWARDED_FOR)? {
        match parse_node(element) {
            Some(ip) => hops.push(Hop { ip, https }),
            None => hops.clear(),
        }
    }
    Some(hops)
}

/// `192.0.2.1`, `192.0.2.1:443`, `[2001:db8::1]`, `[2001:db8::1]:443`, `2001:db8::1`.
fn parse_node(text: &str) -> Option<IpAddr> {
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, _) = rest.split_once(']')?;
        return inside.parse().ok().map(canonical);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// The tests name the header each case exercises.
    fn xff(h: &HeaderMap) -> ProxyHeaders {
        if h.contains_key(http::header::FORWARDED) {
            ProxyHeaders::Forwarded
        } else {
            ProxyHeaders::XForwarded
        }
    }

    fn proxies() -> Vec<Cidr> {
        vec!["10.0.0.0/8".parse().unwrap()]
    }

    #[test]
    fn untrusted_peers_cannot_forward() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
        ]);
        let c = resolve(
            Some(ip("198.51.100.7")),
            false,
            &h,
            &proxies(),
            ProxyHeaders::XForwarded,
        );
        assert_eq!(c.ip, Some(ip("198.51.100.7")));
        assert!(!c.tls, "a client cannot claim TLS by header");
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        // The client forged the left entry; our proxies appended the rest.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.2")]);
        let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
        assert_eq!(c.ip, Some(ip("203.0.113.9")));
        // Several header lines are one list.
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
        assert_eq!(c.ip, Some(ip("203.0.113.9")));
        // All trusted: the left-most.
        let h = headers(&[("x-forwarded-for", "10.1.1.1, 10.0.0.2")]);
        let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
        assert_eq!(c.ip, Some(ip("10.1.1.1")));
    }

    #[test]
    fn only_the_configured_header_is_read() {
        // The proxy appends to X-Forwarded-For and passes the client's Forwarded on.
        let h = headers(&[
            ("forwarded", "for=203.0.113.5;proto=https"),
            ("x-forwarded-for", "198.51.100.1"),
            ("x-forwarded-proto", "http"),
        ]);
        let c = resolve(
            Some(ip("10.0.0.1")),
            false,
            &h,
            &proxies(),
            ProxyHeaders::XForwarded,
        );
        assert_eq!((c.ip, c.tls), (Some(ip("198.51.100.1")), false));
        // And the other way round.
        let h = headers(&[
            ("forwarded", "for=198.51.100.1;proto=http"),
            ("x-forwarded-for", "203.0.113.5"),
            ("x-forwarded-proto", "https"),
        ]);
        let c = resolve(
            Some(ip("10.0.0.1")),
            false,
            &h,
            &proxies(),
            ProxyHeaders::Forwarded,
        );
        assert_eq!((c.ip, c.tls), (Some(ip("198.51.100.1")), false));
    }

    #[test]
    fn forwarded_is_parsed_per_rfc_7239() {
        let h = headers(&[
            ("x-forwarded-for", "9.9.9.9"),
            (
                "forwarded",
                r#"for=1.2.3.4;proto=http, for="[2001:db8::7]:443";proto=https, For=10.0.0.3"#,
            ),
        ]);
        let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
        assert_eq!(c.ip, Some(ip("2001:db8::7")));
        assert!(c.tls, "the client's hop was https");
        let h = headers(&[("forwarded", "for=192.0.2.60:8080;proto=http")]);
        let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
        assert_eq!((c.ip, c.tls), (Some(ip("192.0.2.60")), false));
    }

    #[test]
    fn unattributable_or_garbage_headers_fall_back_to_the_proxy() {
        for bad in ["for=unknown", "for=_hidden", "nonsense", "for=1.2.3.4;;x"] {
            let h = headers(&[("forwarded", bad)]);
            let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
            assert_eq!(c.ip, Some(ip("10.0.0.1")), "{bad}");
        }
        // An unknown hop cuts the chain: nothing left of it is attributable.
        let h = headers(&[("x-forwarded-for", "203.0.113.9, unknown, 10.0.0.2")]);
        let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
        assert_eq!(c.ip, Some(ip("10.0.0.2")));
    }

    #[test]
    fn proto_comes_from_the_right_most_value_only() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https, http"),
        ]);
        let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
        assert!(!c.tls, "a forged left value does not count");
    }

    #[test]
    fn long_chains_keep_the_right_most_hops() {
        let mut chain = vec!["203.0.113.1"; 100].join(", ");
        chain.push_str(", 198.51.100.2");
        let h = headers(&[("x-forwarded-for", &chain)]);
        let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
        assert_eq!(c.ip, Some(ip("198.51.100.2")));
    }

    #[test]
    fn loopback_includes_mapped_addresses() {
        let none = HeaderMap::new();
        let c = resolve(
            Some(ip("::ffff:127.0.0.1")),
            false,
            &none,
            &[],
            ProxyHeaders::XForwarded,
        );
        assert!(c.is_loopback());
        assert!(!resolve(None, false, &none, &[], ProxyHeaders::XForwarded).is_loopback());
    }
}
