//! Where webhooks may go: the address policy of ctpd's outbound requests.
//!
//! A customer chooses a trigger's webhook URL, and ctpd POSTs to it from inside the
//! provider's network. Without a policy a customer could make ctpd reach its own port on
//! loopback, the cloud's metadata service (169.254.169.254) or the provider's private
//! network. By default ctpd therefore sends webhooks only to public unicast addresses:
//!
//! - when a trigger is created, a URL whose host is a literal address (in any spelling the
//!   URL parser normalizes: `2130706433`, `0x7f000001`, `127.1`, `[::ffff:127.0.0.1]`) or a
//!   name that is internal whatever DNS says (`localhost`, `*.localhost`,
//!   `metadata.google.internal`...) is refused ([`WebhookPolicy::check_url`]);
//! - when a notification is delivered, the URL is checked again (the policy may have
//!   changed since), and a name is resolved by [`PolicyResolver`], which keeps only the
//!   addresses the policy allows: the connection goes to one of exactly those, so a name
//!   that resolves differently the next time (DNS rebinding) cannot reach an internal
//!   address.
//!
//! Operators open the policy for tests and private deployments with
//! `--webhook-allow-private` (every address) or `--webhook-allow-network CIDR` (some
//! networks), and may require `https`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use url::{Host, Url};

/// What an operator allows webhooks to reach; the default refuses every address that is
/// not public unicast and accepts `http` and `https`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Every address is allowed (`--webhook-allow-private`).
    pub allow_private: bool,
    /// Networks allowed although they are not public (`--webhook-allow-network`).
    pub allowed_networks: Vec<IpNet>,
    /// Only `https` URLs are accepted (`--webhook-require-https`).
    pub require_https: bool,
}

/// Where to read how to allow a refused address, in messages.
const HINT: &str = "see --webhook-allow-private or --webhook-allow-network";

/// The kind of a refused address, for messages: "a loopback address", or for an IPv6
/// form of an IPv4 address "an IPv4-mapped form of 127.0.0.1, a loopback address".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserved {
    /// What the address is, e.g. "a private address".
    pub kind: &'static str,
    /// The IPv6 form ("an IPv4-mapped", "a NAT64"...) and the IPv4 address it carries.
    pub embeds: Option<(&'static str, Ipv4Addr)>,
}

impl fmt::Display for Reserved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.embeds {
            Some((form, v4)) => write!(f, "{form} form of {v4}, {}", self.kind),
            None => f.write_str(self.kind),
        }
    }
}

/// Why a webhook URL is refused. Its text says what was refused and how an operator can
/// allow it; refusals are permanent (see [`crate::notify`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An `http` URL while `--webhook-require-https` is set.
    NotHttps,
    /// A literal address that is not allowed.
    Address {
        /// The address as the URL gave it (normalized by the URL parser).
        address: IpAddr,
        /// What it is.
        reserved: Reserved,
    },
    /// A name that is internal whatever DNS says, refused without resolving it.
    InternalName {
        /// The name.
        name: String,
        /// What it stands for.
        reserved: Reserved,
    },
    /// A name whose every address is refused.
    Resolved {
        /// The name.
        name: String,
        /// One of its addresses.
        address: IpAddr,
        /// What that address is.
        reserved: Reserved,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotHttps => f.write_str("this server sends webhooks only over https (--webhook-require-https)"),
            Refusal::Address { address, reserved } => write!(f, "{address} is {reserved}; {HINT}"),
            Refusal::InternalName { name, reserved } => write!(f, "{name} is an internal name ({reserved}); {HINT}"),
            Refusal::Resolved { name, address, reserved } => {
                write!(f, "{name} resolves to {address}, {reserved}; {HINT}")
            }
        }
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    /// The refusal among the causes of an error, if there is one (the webhook client
    /// reports [`PolicyResolver`]'s refusals wrapped in its own errors).
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refusal> {
        let mut cause = Some(error);
        while let Some(error) = cause {
            if let Some(refusal) = error.downcast_ref::<Refusal>() {
                return Some(refusal);
            }
            cause = error.source();
        }
        None
    }
}

/// What an address is, for the policy.
enum Class {
    /// A public unicast address.
    Public,
    /// A reserved range: loopback, private...
    Reserved(&'static str),
    /// An IPv6 address that carries an IPv4 address, which decides.
    Embeds(&'static str, Ipv4Addr),
}

const PRIVATE: &str = "a private address";
const DOCUMENTATION: &str = "a documentation address";

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_broadcast() => "the broadcast address",
        _ if ip.is_unspecified() => "the unspecified address",
        (0, _, _) => "a \"this network\" address (0.0.0.0/8)",
        (127, _, _) => "a loopback address",
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => PRIVATE,
        (100, 64..=127, _) => "a shared address (CGNAT, 100.64.0.0/10)",
        (169, 254, _) => "a link-local address",
        (192, 0, 0) => "a reserved address (IETF protocol assignments, 192.0.0.0/24)",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => DOCUMENTATION,
        (198, 18..=19, _) => "a benchmarking address",
        (192, 88, 99) => "a reserved address (6to4 relay anycast, 192.88.99.0/24)",
        (224..=239, _, _) => "a multicast address",
        (240..=255, _, _) => "a reserved address (240.0.0.0/4)",
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(match s[0] {
        _ if ip.is_unspecified() => "the unspecified address",
        _ if ip.is_loopback() => "a loopback address",
        0xfe80..=0xfebf => "a link-local address",
        0xfc00..=0xfdff => "a unique-local address",
        0xff00..=0xffff => "a multicast address",
        0x2001 if s[1] == 0xdb8 => DOCUMENTATION,
        0x3fff if s[1] <= 0x0fff => DOCUMENTATION,
        0x2001 if s[1] == 2 && s[2] == 0 => "a benchmarking address",
        0x2001 if s[1] < 0x200 => "a reserved address (IETF protocol assignments, 2001::/23)",
        0x2000..=0x3fff => return None,
        _ => "a reserved address (outside the global unicast range 2000::/3)",
    })
}

fn classify(ip: IpAddr) -> Class {
    let v6 = match ip {
        IpAddr::V4(v4) => return classify_v4(v4).map_or(Class::Public, Class::Reserved),
        IpAddr::V6(v6) => v6,
    };
    if v6.is_unspecified() || v6.is_loopback() {
        return classify_v6(v6).map_or(Class::Public, Class::Reserved);
    }
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Class::Embeds("an IPv4-mapped", v4);
    }
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match v6.segments() {
        [0, 0, 0, 0, 0, 0, hi, lo] => Class::Embeds("an IPv4-compatible", v4(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Class::Embeds("a NAT64", v4(hi, lo)),
        [0x2002, hi, lo, ..] => Class::Embeds("a 6to4", v4(hi, lo)),
        _ => classify_v6(v6).map_or(Class::Public, Class::Reserved),
    }
}

const LOOPBACK: &[IpAddr] = &[IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)];
const METADATA: &[IpAddr] = &[IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254))];

/// The addresses of a name that is internal whatever DNS answers: the loopback names of
/// RFC 6761 and common `/etc/hosts` files, and the cloud metadata services' names.
fn internal_name(name: &str) -> Option<&'static [IpAddr]> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    match name.as_str() {
        "localhost" | "localhost.localdomain" | "ip6-localhost" | "ip6-loopback" => Some(LOOPBACK),
        n if n.ends_with(".localhost") => Some(LOOPBACK),
        "metadata.google.internal" | "instance-data.ec2.internal" => Some(METADATA),
        _ => None,
    }
}

/// Parses a network of `--webhook-allow-network`: `CIDR` or a single address.
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map(|net| net.trunc())
        .map_err(|_| format!("{text:?} is not a network (CIDR such as 10.1.0.0/16 or fd00::/8) or an address"))
}

impl WebhookPolicy {
    /// Whether an operator allowed `ip` explicitly.
    fn allows(&self, ip: IpAddr) -> bool {
        self.allow_private || self.allowed_networks.iter().any(|net| net.contains(&ip))
    }

    /// Checks one address: public unicast, or allowed by the operator. An IPv6 form of an
    /// IPv4 address (mapped, compatible, NAT64, 6to4) is checked as that IPv4 address too.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), Reserved> {
        if self.allows(ip) {
            return Ok(());
        }
        match classify(ip) {
            Class::Public => Ok(()),
            Class::Reserved(kind) => Err(Reserved { kind, embeds: None }),
            Class::Embeds(form, v4) => match self.check_address(IpAddr::V4(v4)) {
                Ok(()) => Ok(()),
                Err(inner) => Err(Reserved { kind: inner.kind, embeds: Some((form, v4)) }),
            },
        }
    }

    /// Checks what a webhook URL says without resolving anything: its scheme, a literal
    /// address, a name that is internal whatever DNS says. Names are checked again, once
    /// resolved, by [`PolicyResolver`].
    pub fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        if self.require_https && url.scheme() != "https" {
            return Err(Refusal::NotHttps);
        }
        let literal =
            |address: IpAddr| self.check_address(address).map_err(|reserved| Refusal::Address { address, reserved });
        match url.host() {
            Some(Host::Ipv4(ip)) => literal(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => literal(IpAddr::V6(ip)),
            // The URL parser reads every IPv4 spelling as an address; a domain that still
            // parses as one (it cannot) would bypass the resolver, so it is checked as one.
            Some(Host::Domain(name)) => match name.parse::<IpAddr>() {
                Ok(ip) => literal(ip),
                Err(_) => self.check_name(name),
            },
            None => Ok(()),
        }
    }

    /// Refuses a name that is internal whatever DNS says unless one of the addresses it
    /// stands for is allowed (as the resolver would keep it at delivery).
    fn check_name(&self, name: &str) -> Result<(), Refusal> {
        let mut refused = None;
        for address in internal_name(name).unwrap_or_default() {
            match self.check_address(*address) {
                Ok(()) => return Ok(()),
                Err(reserved) => {
                    refused.get_or_insert(Refusal::InternalName { name: name.to_owned(), reserved });
                }
            }
        }
        refused.map_or(Ok(()), Err)
    }

    /// The addresses of `name` that may be connected to; if there are addresses but none
    /// is allowed, the refusal of the first.
    pub fn allowed_addresses(
        &self,
        name: &str,
        addresses: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, Refusal> {
        let mut allowed = Vec::new();
        let mut refused = None;
        for address in addresses {
            match self.check_address(address.ip()) {
                Ok(()) => allowed.push(address),
                Err(reserved) => {
                    refused.get_or_insert(Refusal::Resolved { name: name.to_owned(), address: address.ip(), reserved });
                }
            }
        }
        match refused {
            Some(refusal) if allowed.is_empty() => Err(refusal),
            _ => Ok(allowed),
        }
    }
}

/// The webhook client's DNS resolver: the system's resolver (`getaddrinfo`), then only
/// the addresses the policy allows. The client connects to one of the addresses returned,
/// so what was checked is what is connected to.
pub struct PolicyResolver {
    policy: Arc<WebhookPolicy>,
}

impl PolicyResolver {
    /// A resolver applying `policy`.
    pub fn new(policy: Arc<WebhookPolicy>) -> PolicyResolver {
        PolicyResolver { policy }
    }
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.policy);
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed = policy.allowed_addresses(&name, found)?;
            if allowed.is_empty() {
                return Err(format!("{name} has no address").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> WebhookPolicy {
        WebhookPolicy::default()
    }

    fn url_check(policy: &WebhookPolicy, url: &str) -> Result<(), Refusal> {
        policy.check_url(&Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}")))
    }

    #[test]
    fn every_reserved_range_is_refused_and_public_addresses_pass() {
        let refused = [
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "this network"),
            ("127.0.0.1", "loopback"),
            ("127.255.255.254", "loopback"),
            ("10.0.0.1", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("100.64.0.1", "CGNAT"),
            ("100.127.255.255", "CGNAT"),
            ("169.254.169.254", "link-local"),
            ("192.0.0.8", "IETF"),
            ("192.0.2.1", "documentation"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.9", "documentation"),
            ("198.18.0.1", "benchmarking"),
            ("192.88.99.1", "6to4 relay"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.255", "broadcast"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fe80::1", "link-local"),
            ("fc00::1", "unique-local"),
            ("fd12:3456::1", "unique-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
            ("3fff::1", "documentation"),
            ("2001:2::1", "benchmarking"),
            ("2001::1", "IETF"),
            ("100::1", "reserved"),
            ("64:ff9b:1::1", "reserved"),
            ("fec0::1", "reserved"),
            ("::ffff:127.0.0.1", "IPv4-mapped form of 127.0.0.1, a loopback"),
            ("::ffff:169.254.169.254", "IPv4-mapped form of 169.254.169.254, a link-local"),
            ("::10.0.0.1", "IPv4-compatible form of 10.0.0.1, a private"),
            ("64:ff9b::a00:1", "NAT64 form of 10.0.0.1, a private"),
            ("2002:7f00:1::1", "6to4 form of 127.0.0.1, a loopback"),
        ];
        for (text, kind) in refused {
            let ip: IpAddr = text.parse().unwrap();
            let reserved = strict().check_address(ip).expect_err(text);
            assert!(reserved.to_string().contains(kind), "{text}: {reserved}");
        }
        for public in ["93.184.215.14", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert_eq!(strict().check_address(public.parse().unwrap()), Ok(()), "{public}");
        }
    }

    #[test]
    fn the_url_parser_normalizes_odd_ipv4_spellings_which_are_then_refused() {
        for (url, address) in [
            ("http://2130706433/", "127.0.0.1"),
            ("http://0x7f000001/", "127.0.0.1"),
            ("http://0x7f.1/", "127.0.0.1"),
            ("http://127.1/", "127.0.0.1"),
            ("http://0177.0.0.1/", "127.0.0.1"),
            ("http://127.0.0.1./", "127.0.0.1"),
            ("http://%31%32%37.0.0.1/", "127.0.0.1"),
            ("http://0/", "0.0.0.0"),
            ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
            ("http://[::ffff:7f00:1]/", "::ffff:127.0.0.1"),
            ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
            ("http://10.0.0.1/", "10.0.0.1"),
        ] {
            let refusal = url_check(&strict(), url).expect_err(url);
            assert!(
                matches!(&refusal, Refusal::Address { address: a, .. } if a.to_string() == address),
                "{url}: {refusal}"
            );
            assert!(refusal.to_string().contains("--webhook-allow-private"), "{refusal}");
        }
    }

    #[test]
    fn internal_names_are_refused_without_resolving() {
        for url in [
            "http://localhost/",
            "http://LOCALHOST:8080/",
            "http://localhost./",
            "http://api.localhost/",
            "http://localhost.localdomain/",
            "http://ip6-localhost/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://instance-data.ec2.internal/",
        ] {
            assert!(matches!(url_check(&strict(), url), Err(Refusal::InternalName { .. })), "{url}");
        }
        // Other names are resolved and checked at delivery.
        assert_eq!(url_check(&strict(), "https://hooks.example.com/ctp"), Ok(()));
        assert_eq!(url_check(&strict(), "http://intranet/"), Ok(()));
    }

    #[test]
    fn operators_can_allow_networks_everything_or_require_https() {
        let loopback = WebhookPolicy { allowed_networks: vec![parse_network("127.0.0.0/8").unwrap()], ..strict() };
        assert_eq!(url_check(&loopback, "http://127.0.0.1:9000/"), Ok(()));
        assert_eq!(url_check(&loopback, "http://[::ffff:127.0.0.1]:9000/"), Ok(()), "the mapped form too");
        assert_eq!(url_check(&loopback, "http://localhost:9000/"), Ok(()), "one of its addresses is allowed");
        assert!(url_check(&loopback, "http://[::1]/").is_err());
        assert!(url_check(&loopback, "http://10.0.0.1/").is_err());
        let one = WebhookPolicy { allowed_networks: vec![parse_network("10.1.2.3").unwrap()], ..strict() };
        assert_eq!(url_check(&one, "http://10.1.2.3/"), Ok(()));
        assert!(url_check(&one, "http://10.1.2.4/").is_err());

        let open = WebhookPolicy { allow_private: true, ..strict() };
        for url in ["http://127.0.0.1/", "http://[::1]/", "http://localhost/", "http://169.254.169.254/"] {
            assert_eq!(url_check(&open, url), Ok(()), "{url}");
        }
        let https = WebhookPolicy { require_https: true, allow_private: true, ..strict() };
        assert_eq!(url_check(&https, "http://example.com/"), Err(Refusal::NotHttps));
        assert_eq!(url_check(&https, "https://example.com/"), Ok(()));

        assert!(parse_network("10.0.0.0/33").is_err());
        assert!(parse_network("example.com").is_err());
        assert_eq!(parse_network(" 10.1.2.3/8 ").unwrap().to_string(), "10.0.0.0/8");
    }

    #[test]
    fn resolved_addresses_are_filtered_and_a_name_with_none_left_is_refused() {
        let at = |ip: &str| SocketAddr::new(ip.parse().unwrap(), 0);
        let policy = strict();
        assert_eq!(policy.allowed_addresses("mixed.example", [at("10.0.0.1"), at("8.8.8.8")]), Ok(vec![at("8.8.8.8")]));
        let refusal = policy.allowed_addresses("rebind.example", [at("127.0.0.1"), at("::1")]).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "rebind.example resolves to 127.0.0.1, a loopback address; \
             see --webhook-allow-private or --webhook-allow-network"
        );
        assert_eq!(policy.allowed_addresses("none.example", []), Ok(vec![]));
    }

    /// The client reports the resolver's refusal inside its own errors; it is found there,
    /// and nothing is connected to.
    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_resolves_to_loopback() {
        crate::notify::install_crypto_provider();
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(PolicyResolver::new(Arc::new(strict()))))
            .build()
            .unwrap();
        let error = client.get("http://localhost:9/").send().await.unwrap_err();
        let refusal = Refusal::find(&error).unwrap_or_else(|| panic!("a refusal in {error:?}"));
        assert!(matches!(refusal, Refusal::Resolved { name, .. } if name == "localhost"), "{refusal}");
    }
}
