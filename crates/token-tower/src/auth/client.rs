//! Who is really calling, and over what: the peer address, forwarded headers from
//! trusted proxies only, and whether the client's hop was TLS.

use std::net::{IpAddr, SocketAddr};

use http::request::Parts;
use http::{HeaderMap, HeaderName};
use token_core::Cidr;

use super::layer::Config;

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
pub(crate) const MAX_FORWARDED_HOPS: usize = 32;

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
    /// trusted proxy (the right-most hop that is not a trusted proxy). `None` when the
    /// peer is unknown or that hop is unusable: every network allowlist refuses it.
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
/// layer sets it from its configuration). Never fails.
///
/// The hops are walked right to left (the right-most was written by the proxy next to
/// us): trusted hops are skipped, and the first hop that is not trusted decides. If it
/// is an address, that is the client; if it is unusable (not an address, an
/// obfuscated or `unknown` node, bytes that are not visible ASCII, a `Forwarded`
/// element that does not parse), the client is unknown (`ip: None`), which every
/// per-key network allowlist refuses. A bad hop further left is never read. A trusted
/// peer that sends no forwarded header at all is the client itself.
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))] // public for the fuzz targets
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
    let chain = match which {
        ProxyHeaders::Forwarded => forwarded_hops(headers),
        ProxyHeaders::XForwarded => x_forwarded_hops(headers),
    };
    let Some(last) = chain.hops.last() else {
        return direct;
    };
    let chosen = match chain.hops.iter().rev().find(|h| !h.is_trusted(trusted)) {
        Some(hop) => *hop,
        // Every hop is trusted: the left-most is the client, unless the chain was cut
        // and the real left-most is unseen.
        None if chain.cut => Hop {
            ip: None,
            https: last.https,
        },
        None => chain.hops[0],
    };
    ClientInfo {
        ip: chosen.ip,
        tls: tls || chosen.https,
        credentials_ok: false,
    }
}

fn is_trusted(ip: IpAddr, trusted: &[Cidr]) -> bool {
    trusted.iter().any(|c| c.contains(ip))
}

/// IPv4-mapped IPv6 addresses as IPv4.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// One proxy hop: who the proxy heard from (`None`: unusable), and whether that hop
/// was HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hop {
    ip: Option<IpAddr>,
    https: bool,
}

impl Hop {
    /// Only an address inside a trusted network is trusted; an unusable hop never is.
    fn is_trusted(&self, trusted: &[Cidr]) -> bool {
        self.ip.is_some_and(|ip| is_trusted(ip, trusted))
    }
}

/// The hops of a forwarded header, left to right, at most [`MAX_FORWARDED_HOPS`].
#[derive(Debug, Default)]
struct Chain {
    hops: Vec<Hop>,
    /// Whether hops on the left were dropped to stay within the bound.
    cut: bool,
}

/// Every comma-separated element of every line of `name`, left to right, trimmed;
/// `None` for an element that is not visible ASCII (one bad element spoils only
/// itself, never its line or the header). Keeps the right-most
/// [`MAX_FORWARDED_HOPS`]; the flag says whether any were dropped.
fn elements<'h>(headers: &'h HeaderMap, name: &HeaderName) -> (Vec<Option<&'h str>>, bool) {
    let mut out = Vec::new();
    for value in headers.get_all(name) {
        out.extend(value.as_bytes().split(|b| *b == b',').map(|raw| {
            std::str::from_utf8(raw).ok().map(str::trim).filter(|t| {
                t.bytes()
                    .all(|b| b.is_ascii_graphic() || b == b' ' || b == b'\t')
            })
        }));
    }
    let skip = out.len().saturating_sub(MAX_FORWARDED_HOPS);
    (out.split_off(skip), skip > 0)
}

/// RFC 7239 `Forwarded`: `for=` (quoted, bracketed IPv6, optional port) and `proto=`.
/// An element without a usable `for=` (an obfuscated or `unknown` node, a pair without
/// `=`, a repeated parameter) is an unusable hop.
fn forwarded_hops(headers: &HeaderMap) -> Chain {
    let (elements, cut) = elements(headers, &http::header::FORWARDED);
    let hops = elements
        .into_iter()
        .map(|e| {
            e.and_then(forwarded_element).unwrap_or(Hop {
                ip: None,
                https: false,
            })
        })
        .collect();
    Chain { hops, cut }
}

/// One `Forwarded` element, or `None` when it does not parse.
fn forwarded_element(element: &str) -> Option<Hop> {
    let mut ip = None;
    let mut proto = None;
    // Empty pairs are allowed by the grammar (`for=192.0.2.1;`).
    for pair in element.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=')?;
        let value = value.trim().trim_matches('"');
        let name = name.trim();
        let slot = if name.eq_ignore_ascii_case("for") {
            &mut ip
        } else if name.eq_ignore_ascii_case("proto") {
            &mut proto
        } else {
            continue;
        };
        if slot.replace(value).is_some() {
            return None; // a parameter given twice is ambiguous
        }
    }
    Some(Hop {
        ip: Some(parse_node(ip?)?),
        https: proto.is_some_and(|p| p.eq_ignore_ascii_case("https")),
    })
}

/// `X-Forwarded-For` with the right-most `X-Forwarded-Proto` (the one our proxy set)
/// applied to every hop (only the client's counts).
fn x_forwarded_hops(headers: &HeaderMap) -> Chain {
    let (protos, _) = elements(headers, &X_FORWARDED_PROTO);
    let https = protos
        .last()
        .copied()
        .flatten()
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let (elements, cut) = elements(headers, &X_FORWARDED_FOR);
    let hops = elements
        .into_iter()
        .map(|e| Hop {
            ip: e.and_then(parse_node),
            https,
        })
        .collect();
    Chain { hops, cut }
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

impl<K, L> Config<K, L> {
    /// The client of this request under the layer's settings.
    pub(super) fn client(&self, parts: &Parts) -> ClientInfo {
        let mut client = resolve(
            peer(parts).or(self.default_peer),
            parts.extensions.get::<TlsConnection>().is_some(),
            &parts.headers,
            &self.trusted_proxies,
            self.proxy_headers,
        );
        client.credentials_ok = self.transport.admits(client.tls, client.is_loopback());
        client
    }
}

/// The peer: our own extension, or axum's `ConnectInfo`.
pub(super) fn peer(parts: &Parts) -> Option<IpAddr> {
    if let Some(PeerAddr(addr)) = parts.extensions.get::<PeerAddr>() {
        return Some(addr.ip());
    }
    #[cfg(feature = "axum")]
    if let Some(info) = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        return Some(info.0.ip());
    }
    None
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
        // Spaces and tabs around the pairs, as proxies write them, are allowed.
        for spaced in [
            "for=192.0.2.61; proto=https",
            "for = 192.0.2.61;\tproto=https",
        ] {
            let h = headers(&[("forwarded", spaced)]);
            let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
            assert_eq!((c.ip, c.tls), (Some(ip("192.0.2.61")), true), "{spaced:?}");
        }
    }

    /// A header map whose lines are raw bytes (nginx passes the client's bytes on).
    fn raw(name: &str, lines: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_bytes(line).unwrap(),
            );
        }
        map
    }

    #[test]
    fn an_unusable_hop_next_to_the_proxies_makes_the_client_unknown() {
        for bad in [
            "for=unknown",
            "for=_hidden",
            "nonsense",
            "for=1.2.3.4;;x",
            "for=1.2.3.4;for=5.6.7.8",
            "proto=https",
            "",
        ] {
            let h = headers(&[("forwarded", bad)]);
            let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
            assert_eq!(c.ip, None, "{bad:?}: never the proxy");
        }
        let h = headers(&[("x-forwarded-for", "203.0.113.9, unknown, 10.0.0.2")]);
        let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
        assert_eq!(c.ip, None, "the hop left of our proxies is unknown");
        let h = raw("x-forwarded-for", &[b"203.0.113.9, 10.0.\xff.2"]);
        let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
        assert_eq!(c.ip, None);
    }

    #[test]
    fn garbage_left_of_the_client_is_never_read() {
        // nginx appends the address it heard from to the client's own line.
        let h = raw("x-forwarded-for", &[b"caf\xc3\xa9 \xff, 203.0.113.9"]);
        let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
        assert_eq!(c.ip, Some(ip("203.0.113.9")));
        // A bad line of its own does not spoil the others.
        let h = raw("x-forwarded-for", &[b"\x80\x81", b"203.0.113.9, 10.0.0.2"]);
        let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
        assert_eq!(c.ip, Some(ip("203.0.113.9")));
        // A Forwarded element without `=` on the client's side.
        let h = headers(&[("forwarded", "nonsense, for=203.0.113.9;proto=https")]);
        let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
        assert_eq!((c.ip, c.tls), (Some(ip("203.0.113.9")), true));
        // An empty trailing pair is allowed by the grammar.
        let h = headers(&[("forwarded", "for=203.0.113.9;")]);
        let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
        assert_eq!(c.ip, Some(ip("203.0.113.9")));
    }

    #[test]
    fn a_trusted_peer_without_a_header_is_the_client() {
        let c = resolve(
            Some(ip("10.0.0.1")),
            false,
            &HeaderMap::new(),
            &proxies(),
            ProxyHeaders::XForwarded,
        );
        assert_eq!(c.ip, Some(ip("10.0.0.1")));
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
        // Every hop seen is trusted but the chain was cut: the client is unseen.
        let chain = vec!["10.0.0.9"; 40].join(", ");
        let h = headers(&[("x-forwarded-for", &chain)]);
        let c = resolve(Some(ip("10.0.0.1")), false, &h, &proxies(), xff(&h));
        assert_eq!(c.ip, None);
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
