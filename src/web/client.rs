//! Who is asking: the peer address, or the forwarded one when the peer is a trusted proxy.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use ipnet::IpNet;

use super::AppState;

/// Walks `X-Forwarded-For` from the right while each hop is a trusted proxy: the first
/// untrusted hop is the client. Anything further left was written by the client itself.
/// Addresses are compared in their canonical form: a server bound to `[::]` sees IPv4 peers as
/// `::ffff:a.b.c.d`, which must match the IPv4 proxy list and share the IPv4 client's counters.
pub fn client_addr(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    let hops = forwarded_for.iter().flat_map(|h| h.split(',')).map(str::trim).collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        if !is_trusted(&client) {
            break;
        }
        match hop_addr(hop) {
            Some(ip) => client = ip.to_canonical(),
            None => break,
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, bare or bracketed, with or without a port
/// (`1.2.3.4:5678`, `[2001:db8::1]:443`), as proxies write them.
fn hop_addr(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Ok(socket) = hop.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

/// The client's address, as far as the configured proxies let us know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl<S> FromRequestParts<S> for ClientAddr
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([127, 0, 0, 1]), |ConnectInfo(addr)| addr.ip());
        let forwarded: Vec<&str> =
            parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        Ok(Self(client_addr(peer, &forwarded, &state.config.trusted_proxies)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn forwarded_headers_are_ignored_from_untrusted_peers() {
        assert_eq!(client_addr(ip("203.0.113.9"), &["1.2.3.4"], &[]), ip("203.0.113.9"));
        assert_eq!(client_addr(ip("203.0.113.9"), &["1.2.3.4"], &nets(&["10.0.0.0/8"])), ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        assert_eq!(client_addr(ip("10.0.0.2"), &["198.51.100.7"], &nets(&["10.0.0.0/8"])), ip("198.51.100.7"));
    }

    #[test]
    fn a_spoofed_left_part_is_not_believed() {
        // The client sent "X-Forwarded-For: 1.1.1.1"; the proxy appended the real address.
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(client_addr(ip("10.0.0.2"), &["1.1.1.1, 198.51.100.7"], &trusted), ip("198.51.100.7"));
        assert_eq!(client_addr(ip("10.0.0.2"), &["1.1.1.1", "198.51.100.7"], &trusted), ip("198.51.100.7"));
    }

    #[test]
    fn chains_of_trusted_proxies_are_walked_and_junk_stops_the_walk() {
        let trusted = nets(&["10.0.0.0/8", "::1/128"]);
        assert_eq!(client_addr(ip("::1"), &["198.51.100.7, 10.1.1.1"], &trusted), ip("198.51.100.7"));
        assert_eq!(client_addr(ip("10.0.0.2"), &["garbage"], &trusted), ip("10.0.0.2"));
        assert_eq!(client_addr(ip("10.0.0.2"), &[], &trusted), ip("10.0.0.2"));
    }

    #[test]
    fn ipv4_mapped_peers_are_ipv4() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(client_addr(ip("::ffff:10.0.0.2"), &["198.51.100.7"], &trusted), ip("198.51.100.7"));
        assert_eq!(client_addr(ip("::ffff:203.0.113.9"), &[], &trusted), ip("203.0.113.9"));
        assert_eq!(client_addr(ip("10.0.0.2"), &["::ffff:198.51.100.7"], &trusted), ip("198.51.100.7"));
    }

    #[test]
    fn forwarded_entries_with_ports_or_brackets_are_read() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(client_addr(ip("10.0.0.2"), &["198.51.100.7:5678"], &trusted), ip("198.51.100.7"));
        assert_eq!(client_addr(ip("10.0.0.2"), &["[2001:db8::1]:443"], &trusted), ip("2001:db8::1"));
        assert_eq!(client_addr(ip("10.0.0.2"), &["[2001:db8::1]"], &trusted), ip("2001:db8::1"));
        assert_eq!(client_addr(ip("10.0.0.2"), &["1.2.3.4:notaport"], &trusted), ip("10.0.0.2"));
    }
}
