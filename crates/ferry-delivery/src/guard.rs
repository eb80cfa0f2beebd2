//! The guard against server-side request forgery. A recipient names the URL we send to, so
//! without it anyone could make Ferry reach into its own network: the cloud metadata service,
//! a database on 10.x, an admin page on localhost. We resolve the host ourselves, check every
//! address, and then connect only to the addresses checked (see `deliverer.rs`).

use ferry_core::ports::DeliveryError;
use futures_util::future::BoxFuture;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use url::{Host, Url};

/// Resolves a host name to the addresses a connection may use. Swappable so that tests can
/// map names to chosen addresses without touching DNS.
pub trait Resolve: Send + Sync {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>>;
}

/// The system's resolver (`getaddrinfo` through `tokio::net::lookup_host`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }
}

/// IPv4 ranges no delivery may reach: not the public internet, or not a real destination.
const FORBIDDEN_V4: &[(Ipv4Addr, u8)] = &[
    // "This network"; 0.0.0.0 itself reaches the local host on Linux.
    (Ipv4Addr::new(0, 0, 0, 0), 8),
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    // Carrier-grade NAT: private to the provider's network.
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    // Link-local, home of the cloud metadata service 169.254.169.254.
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    // IETF protocol assignments.
    (Ipv4Addr::new(192, 0, 0, 0), 24),
    // Documentation (TEST-NET-1, -2, -3).
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    // Deprecated 6to4 relay anycast.
    (Ipv4Addr::new(192, 88, 99, 0), 24),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    // Benchmarking.
    (Ipv4Addr::new(198, 18, 0, 0), 15),
    (Ipv4Addr::new(224, 0, 0, 0), 4),
    // Reserved, including the broadcast address 255.255.255.255.
    (Ipv4Addr::new(240, 0, 0, 0), 4),
];

/// The EC2 instance metadata service over IPv6 (inside fc00::/7, listed to be explicit).
const EC2_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

/// IPv6 ranges no delivery may reach. Ranges that embed an IPv4 address are checked by what
/// they embed, in `embedded_v4`.
const FORBIDDEN_V6: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::UNSPECIFIED, 128),
    (Ipv6Addr::LOCALHOST, 128),
    (EC2_METADATA_V6, 128),
    // Discard-only.
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64),
    // Local-use NAT64: translates to whatever IPv4 network the operator has behind it.
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48),
    // Teredo hides an IPv4 address in its bits; no delivery target needs it.
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32),
    // Benchmarking.
    (Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0), 48),
    // Documentation.
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20),
    // Unique local addresses.
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
    // Deprecated site-local.
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),
];

/// Whether a delivery must not connect to `ip`: loopback, private, link-local, shared,
/// reserved, documentation, multicast, or an IPv6 address that leads to one of those.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let ip = u32::from(ip);
    FORBIDDEN_V4.iter().any(|&(net, len)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
        ip & mask == u32::from(net)
    })
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    let bits = u128::from(ip);
    let listed = FORBIDDEN_V6.iter().any(|&(net, len)| {
        let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
        bits & mask == u128::from(net)
    });
    listed || embedded_v4(ip).is_some_and(is_forbidden_v4)
}

/// The IPv4 address that a connection to `ip` actually reaches, for the forms that carry one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from_bits((u32::from(hi) << 16) | u32::from(lo));
    let low = v4(s[6], s[7]);
    match s {
        // IPv4-mapped ::ffff:a.b.c.d: the kernel connects to a.b.c.d.
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        // Deprecated IPv4-compatible ::a.b.c.d.
        [0, 0, 0, 0, 0, 0, _, _] => Some(low),
        // NAT64's well-known prefix: the gateway connects to a.b.c.d.
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        // 6to4 2002:aabb:ccdd::/48 tunnels to aa.bb.cc.dd.
        [0x2002, hi, lo, ..] => Some(v4(hi, lo)),
        _ => None,
    }
}

/// A URL that passed the guard, with the addresses it may connect to.
#[derive(Debug)]
pub(crate) struct Target {
    pub url: Url,
    /// The host name and its checked addresses; `None` for an IP-literal host.
    pub pinned: Option<(String, Vec<SocketAddr>)>,
}

impl Target {
    /// For logs: the host only, never the path or query (they carry the recipient's secrets).
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or("")
    }
}

fn refused(reason: &str) -> DeliveryError {
    DeliveryError::Refused(reason.to_owned())
}

/// Parses and checks `raw`, resolving its host. Messages never repeat the URL: its query string
/// is the recipient's credential.
pub(crate) async fn vet(
    raw: &str,
    allow_private: bool,
    resolver: &dyn Resolve,
    resolve_timeout: Duration,
) -> Result<Target, DeliveryError> {
    let url = Url::parse(raw).map_err(|_| refused("the target URL is not a valid URL"))?;
    match (url.scheme(), allow_private) {
        ("https", _) | ("http", true) => {}
        (_, false) => return Err(refused("the target URL must use https")),
        (_, true) => return Err(refused("the target URL must use http or https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused(
            "the target URL must not contain a user name or password",
        ));
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| refused("the target URL has no port"))?;
    let host = url
        .host()
        .ok_or_else(|| refused("the target URL has no host"))?;
    let check = |ip: IpAddr| {
        if !allow_private && is_forbidden(ip) {
            Err(refused(
                "the target is a private, loopback or reserved address",
            ))
        } else {
            Ok(())
        }
    };
    let pinned = match host {
        // IP literals never go through DNS, so they are checked here or not at all.
        Host::Ipv4(ip) => {
            check(IpAddr::V4(ip))?;
            None
        }
        Host::Ipv6(ip) => {
            check(IpAddr::V6(ip))?;
            None
        }
        Host::Domain(name) => {
            let addrs = tokio::time::timeout(resolve_timeout, resolver.resolve(name, port))
                .await
                .map_err(|_| DeliveryError::Failed("resolving the target host timed out".into()))?
                .map_err(|e| {
                    DeliveryError::Failed(format!("the target host could not be resolved: {e}"))
                })?;
            if addrs.is_empty() {
                return Err(DeliveryError::Failed(
                    "the target host has no address".into(),
                ));
            }
            // Every address, not just the first: the connector may try any of them.
            for addr in &addrs {
                check(addr.ip()).map_err(|_| {
                    refused("the target host resolves to a private, loopback or reserved address")
                })?;
            }
            Some((name.to_owned(), addrs))
        }
    };
    Ok(Target { url, pinned })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> bool {
        is_forbidden(s.parse::<Ipv4Addr>().unwrap().into())
    }

    fn v6(s: &str) -> bool {
        is_forbidden(s.parse::<Ipv6Addr>().unwrap().into())
    }

    /// Each pair is (last address before a forbidden range or first after it, allowed) and
    /// (first or last address inside it, forbidden).
    #[test]
    fn ipv4_ranges_are_forbidden_exactly_to_their_boundaries() {
        let forbidden = [
            "0.0.0.0",
            "0.255.255.255",
            "10.0.0.0",
            "10.255.255.255",
            "100.64.0.0",
            "100.127.255.255",
            "127.0.0.0",
            "127.0.0.1",
            "127.255.255.255",
            "169.254.0.0",
            "169.254.169.254",
            "169.254.255.255",
            "172.16.0.0",
            "172.31.255.255",
            "192.0.0.0",
            "192.0.0.255",
            "192.0.2.0",
            "192.0.2.255",
            "192.88.99.0",
            "192.88.99.255",
            "192.168.0.0",
            "192.168.255.255",
            "198.18.0.0",
            "198.19.255.255",
            "198.51.100.0",
            "198.51.100.255",
            "203.0.113.0",
            "203.0.113.255",
            "224.0.0.0",
            "239.255.255.255",
            "240.0.0.0",
            "255.255.255.255",
        ];
        let allowed = [
            "1.0.0.0",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "191.255.255.255",
            "192.0.1.0",
            "192.0.3.0",
            "192.88.98.255",
            "192.88.100.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "198.51.99.255",
            "198.51.101.0",
            "203.0.112.255",
            "203.0.114.0",
            "223.255.255.255",
            "93.184.216.34",
            "8.8.8.8",
        ];
        for ip in forbidden {
            assert!(v4(ip), "{ip} should be forbidden");
        }
        for ip in allowed {
            assert!(!v4(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn ipv6_ranges_are_forbidden_exactly_to_their_boundaries() {
        let forbidden = [
            "::",
            "::1",
            "fd00:ec2::254",
            "100::",
            "100::ffff:ffff:ffff:ffff",
            "64:ff9b:1::",
            "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
            "2001::",
            "2001:0:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:2::",
            "2001:2:0:ffff:ffff:ffff:ffff:ffff",
            "2001:db8::",
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            "3fff::",
            "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fc00::",
            "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fe80::",
            "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fec0::",
            "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "ff00::",
            "ff02::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ];
        let allowed = [
            "::2:0:0",
            "ff::",
            "100:0:0:1::",
            "64:ff9b:2::",
            "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:1::",
            "2001:2:1::",
            "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:db9::",
            "2606:2800:220:1:248:1893:25c8:1946",
            "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "3fff:1000::",
            "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ];
        for ip in forbidden {
            assert!(v6(ip), "{ip} should be forbidden");
        }
        for ip in allowed {
            assert!(!v6(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn ipv6_forms_that_embed_ipv4_are_judged_by_the_ipv4_address() {
        for ip in [
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::192.168.1.1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(v6(ip), "{ip} should be forbidden");
        }
        for ip in [
            "::ffff:93.184.216.34",
            "::ffff:9.255.255.255",
            "::ffff:11.0.0.0",
            "64:ff9b::93.184.216.34",
            "64:ff9b::808:808",
            "2002:5db8:d822::1",
        ] {
            assert!(!v6(ip), "{ip} should be allowed");
        }
    }
}
