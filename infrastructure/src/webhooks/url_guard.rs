//! Where webhooks may go. A URL must be https; plain http only to a loopback or private address,
//! and only with `--webhook-allow-private` (tests, local development). Unless that flag is
//! given, a host that resolves to a loopback, private, link-local, unspecified or otherwise
//! non-public address is refused, at creation and again before every attempt (a name may come
//! to resolve elsewhere later).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reqwest::Url;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlRefused {
    #[error("not a valid absolute URL")]
    Malformed,
    #[error(
        "the URL must use https (http only to a private address with --webhook-allow-private)"
    )]
    Scheme,
    #[error("the URL must not carry a user name or password")]
    Credentials,
    #[error("the host `{0}` does not resolve")]
    Unresolvable(String),
    #[error("the host `{0}` is a loopback, private or link-local address: refused unless the server runs with --webhook-allow-private")]
    NonPublic(String),
    #[error("http is allowed only to a loopback or private address; `{0}` is public: use https")]
    PlainHttpToPublic(String),
}

/// Where webhooks may be sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    /// `--webhook-allow-private`.
    pub allow_private: bool,
}

impl UrlPolicy {
    /// The checks that need no DNS: scheme, host, no credentials.
    pub fn parse(&self, url: &str) -> Result<Url, UrlRefused> {
        let parsed = Url::parse(url).map_err(|_| UrlRefused::Malformed)?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            _ => return Err(UrlRefused::Scheme),
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(UrlRefused::Malformed);
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(UrlRefused::Credentials);
        }
        Ok(parsed)
    }

    /// The whole check: [`Self::parse`], then every address the host resolves to.
    pub async fn check(&self, url: &str) -> Result<Url, UrlRefused> {
        let parsed = self.parse(url)?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
        let port = parsed.port_or_known_default().unwrap_or(443);
        // An IPv6 literal's host is spelled in brackets.
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        let addresses: Vec<IpAddr> = match literal.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|_| UrlRefused::Unresolvable(host.clone()))?
                .map(|socket| socket.ip())
                .collect(),
        };
        if addresses.is_empty() {
            return Err(UrlRefused::Unresolvable(host));
        }
        self.judge(parsed.scheme(), &host, &addresses)?;
        Ok(parsed)
    }

    fn judge(&self, scheme: &str, host: &str, addresses: &[IpAddr]) -> Result<(), UrlRefused> {
        let all_public = addresses.iter().all(|ip| is_public(*ip));
        let any_public = addresses.iter().any(|ip| is_public(*ip));
        if !self.allow_private && !all_public {
            return Err(UrlRefused::NonPublic(host.to_owned()));
        }
        if scheme == "http" && any_public {
            return Err(UrlRefused::PlainHttpToPublic(host.to_owned()));
        }
        Ok(())
    }
}

/// An address on the public internet: not loopback, private, link-local, unspecified, shared
/// (carrier-grade NAT), multicast, broadcast or reserved for documentation.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(mapped) => is_public_v4(mapped),
            None => is_public_v6(ip),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b);
    let reserved = a >= 240 || a == 0;
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || shared
        || reserved)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00;
    let link_local = first & 0xffc0 == 0xfe80;
    let documentation = first == 0x2001 && ip.segments()[1] == 0x0db8;
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || unique_local
        || link_local
        || documentation)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: UrlPolicy = UrlPolicy {
        allow_private: false,
    };
    const LOCAL: UrlPolicy = UrlPolicy {
        allow_private: true,
    };

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn loopback_and_private_hosts_are_refused_without_the_flag() {
        for url in [
            "https://127.0.0.1/hook",
            "https://[::1]:8443/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.7/hook",
            "https://localhost/hook",
        ] {
            assert!(
                matches!(STRICT.check(url).await, Err(UrlRefused::NonPublic(_))),
                "{url}"
            );
            assert!(LOCAL.check(url).await.is_ok(), "{url}");
        }
    }

    #[tokio::test]
    async fn plain_http_needs_the_flag_and_a_private_address() {
        assert_eq!(
            STRICT.check("http://127.0.0.1:9000/hook").await,
            Err(UrlRefused::Scheme)
        );
        assert!(LOCAL.check("http://127.0.0.1:9000/hook").await.is_ok());
        assert_eq!(
            LOCAL.check("http://8.8.8.8/hook").await,
            Err(UrlRefused::PlainHttpToPublic("8.8.8.8".into()))
        );
        assert!(STRICT.check("https://8.8.8.8/hook").await.is_ok());
    }

    #[test]
    fn malformed_urls_and_credentials_are_refused() {
        assert_eq!(STRICT.parse("not a url"), Err(UrlRefused::Malformed));
        assert_eq!(STRICT.parse("ftp://example.com/"), Err(UrlRefused::Scheme));
        assert_eq!(STRICT.parse("file:///etc/passwd"), Err(UrlRefused::Scheme));
        assert_eq!(
            STRICT.parse("https://user:pw@example.com/"),
            Err(UrlRefused::Credentials)
        );
    }
}
