//! Where Firebreak may send webhooks, subscriber notifications and pages: by default public
//! addresses only, so a URL someone typed cannot reach the host's own services, the private
//! network or a cloud's metadata endpoint. A self-hoster allows private addresses, or some
//! networks, to reach an internal chat or tracker.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A network in CIDR form (`10.1.2.0/24`, `fd00::/64`, or one address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(text: &str) -> Option<Network> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr.parse::<IpAddr>().ok()?, prefix.parse::<u8>().ok()?),
            None => {
                let addr = text.parse::<IpAddr>().ok()?;
                (addr, if addr.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Network { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The outbound policy: public addresses always; others only when allowed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub allow_private: bool,
    pub allowed: Vec<Network>,
}

impl Policy {
    /// From the settings; a network that does not parse is named in the error.
    pub fn parse(allow_private: bool, networks: &[String]) -> Result<Policy, String> {
        let allowed = networks
            .iter()
            .map(|it| Network::parse(it).ok_or_else(|| format!("{it:?} is not a network")))
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            allow_private,
            allowed,
        })
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip) || self.allowed.iter().any(|it| it.contains(ip))
    }
}

/// An IPv4 address written as IPv6 (`::ffff:127.0.0.1`, NAT64 `64:ff9b::7f00:1`) is judged as
/// the IPv4 address it reaches.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let [a, b, ..] = v6.segments();
            if a == 0x64 && b == 0xff9b && v6.segments()[2..6] == [0, 0, 0, 0] {
                let bits = u128::from(v6) as u32;
                return IpAddr::V4(Ipv4Addr::from(bits));
            }
            IpAddr::V6(v6)
        }
        v4 => v4,
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local, shared
/// (CGNAT), unique-local, multicast, unspecified, broadcast, documentation, benchmarking or
/// reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        || (first == 0x0100 && ip.segments()[1..4] == [0, 0, 0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &Policy, ip: &str, expected: bool) {
        let ip: IpAddr = ip.parse().unwrap();
        assert_eq!(policy.allows(ip), expected, "{ip}");
    }

    #[test]
    fn only_public_addresses_by_default() {
        let policy = Policy::default();
        let table = [
            ("93.184.215.14", true),
            ("2606:4700:4700::1111", true),
            ("8.8.8.8", true),
            ("127.0.0.1", false),
            ("127.0.0.2", false),
            ("0.0.0.0", false),
            ("10.0.0.1", false),
            ("172.16.5.4", false),
            ("172.32.0.1", true),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("224.0.0.1", false),
            ("255.255.255.255", false),
            ("240.0.0.1", false),
            ("198.18.0.1", false),
            ("192.0.2.1", false),
            ("::1", false),
            ("::", false),
            ("fe80::1", false),
            ("fd00::1", false),
            ("fc00::1", false),
            ("ff02::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.0.0.1", false),
            ("::ffff:8.8.8.8", true),
            ("64:ff9b::7f00:1", false),
            ("64:ff9b::808:808", true),
            ("2001:db8::1", false),
        ];
        for (ip, expected) in table {
            check(&policy, ip, expected);
        }
    }

    #[test]
    fn allowed_networks_and_allow_private() {
        let policy = Policy::parse(false, &["10.1.2.0/24".into(), "fd00:1::/64".into()]).unwrap();
        check(&policy, "10.1.2.9", true);
        check(&policy, "10.1.3.9", false);
        check(&policy, "::ffff:10.1.2.9", true);
        check(&policy, "fd00:1::5", true);
        check(&policy, "fd00:2::5", false);
        check(&policy, "127.0.0.1", false);
        let everything = Policy::parse(true, &[]).unwrap();
        check(&everything, "127.0.0.1", true);
        check(&everything, "169.254.169.254", true);
        let one = Policy::parse(false, &["127.0.0.1".into()]).unwrap();
        check(&one, "127.0.0.1", true);
        check(&one, "127.0.0.2", false);
        assert!(Policy::parse(false, &["10.0.0.0/33".into()]).is_err());
        assert!(Policy::parse(false, &["example.com".into()]).is_err());
        let all = Policy::parse(false, &["0.0.0.0/0".into()]).unwrap();
        check(&all, "10.9.9.9", true);
    }
}
