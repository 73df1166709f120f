//! Who a client is (its address, believing `X-Forwarded-For` only from
//! proxies the operator named) and how many failed authentications it may
//! still spend. The throttle is consulted before a token's row is read and
//! before argon2 runs, so guessing tokens costs us a hash-map lookup.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use actix_web::http::header::HeaderName;
use ipnet::IpNet;

use crate::http::bucket::Bucket;
use crate::scim::ScimError;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Addresses the throttle remembers at most (about 64 bytes each). Beyond
/// them, new addresses share one budget, so a flood from many addresses
/// cannot grow memory, nor buy itself unthrottled verifications.
const MAX_ADDRESSES: usize = 16_384;

/// How often a full table is swept for addresses whose budget is whole again.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// The proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies(networks.into())
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer's, unless the peer is a trusted
    /// proxy; then the nearest `X-Forwarded-For` hop that is not one (each
    /// proxy appends the address it got the request from, so hops to the
    /// left of an untrusted one may be forged). `None` without a peer.
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let mut client = canonical(req.peer_addr()?.ip());
        if !self.trusts(client) {
            return Some(client);
        }
        let hops: Vec<&str> = req
            .headers()
            .get_all(X_FORWARDED_FOR)
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                Some(ip) => client = ip,
                // Garbage written by a trusted proxy's own client: the
                // proxy is the last address we can vouch for.
                None => break,
            }
            if !self.trusts(client) {
                break;
            }
        }
        Some(client)
    }
}

/// `--trusted-proxy`: an address (`10.0.0.5`) or a network (`10.0.0.0/8`).
pub fn parse_trusted_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    IpNet::from_str(text)
        .or_else(|_| IpAddr::from_str(text).map(IpNet::from))
        .map(|net| net.trunc())
        .map_err(|_| {
            format!("{text:?}: expected an IP address or a CIDR network such as 10.0.0.0/8")
        })
}

/// One `X-Forwarded-For` entry: an address, possibly with a port
/// (`203.0.113.7:4711`, `[2001:db8::1]:4711`), as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    IpAddr::from_str(hop)
        .ok()
        .or_else(|| std::net::SocketAddr::from_str(hop).ok().map(|s| s.ip()))
        .map(canonical)
}

/// IPv4 seen through an IPv6 socket is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// The unit an address is throttled as: an IPv4 address, or an IPv6 /64,
/// since one host is usually given a whole /64 to pick addresses from.
fn budget_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !u128::from(u64::MAX);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

/// How many failed authentications an address may make, and over how long.
#[derive(Debug, Clone, Copy)]
pub struct FailureLimit {
    /// Failures allowed in a burst; 0 turns the throttle off.
    pub failures: u32,
    /// The budget refills completely over this long, steadily.
    pub window: Duration,
}

impl Default for FailureLimit {
    fn default() -> Self {
        FailureLimit {
            failures: 10,
            window: Duration::from_secs(60),
        }
    }
}

/// Failed authentications per client address: each address holds a budget
/// of `failures` that refills over `window`. A request that may fail takes
/// one unit before anything costly runs and gives it back if it succeeds.
pub struct FailureThrottle {
    limit: FailureLimit,
    table: Mutex<Table>,
}

struct Table {
    budgets: HashMap<IpAddr, Bucket>,
    /// Shared by addresses that found the table full.
    overflow: Option<Bucket>,
    swept_at: Option<Instant>,
}

/// Where an admitted request's unit came from, to give it back.
#[derive(Debug, Clone, Copy)]
pub struct Admission {
    key: Option<IpAddr>,
}

impl FailureThrottle {
    pub fn new(limit: FailureLimit) -> FailureThrottle {
        FailureThrottle {
            limit,
            table: Mutex::new(Table {
                budgets: HashMap::new(),
                overflow: None,
                swept_at: None,
            }),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        // Budgets are plain numbers: a panic elsewhere cannot corrupt them.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn capacity(&self) -> f64 {
        f64::from(self.limit.failures)
    }

    /// Units regained per second.
    fn rate(&self) -> f64 {
        self.capacity() / self.limit.window.as_secs_f64().max(0.001)
    }

    /// Takes one unit of `ip`'s budget, or refuses with the seconds until
    /// one is back (`None` address: requests without a peer share one).
    pub fn admit(&self, ip: Option<IpAddr>, now: Instant) -> Result<Admission, ScimError> {
        if self.limit.failures == 0 {
            return Ok(Admission { key: None });
        }
        let capacity = self.capacity();
        let mut guard = self.table();
        let table = &mut *guard;
        let key = ip
            .map(budget_key)
            .unwrap_or(IpAddr::V4([0, 0, 0, 0].into()));
        if !table.budgets.contains_key(&key) && table.budgets.len() >= MAX_ADDRESSES {
            self.sweep(table, now);
        }
        let (budget, admission) =
            if table.budgets.len() < MAX_ADDRESSES || table.budgets.contains_key(&key) {
                let budget = table
                    .budgets
                    .entry(key)
                    .or_insert_with(|| Bucket::full(capacity, now));
                (budget, Admission { key: Some(key) })
            } else {
                let budget = table
                    .overflow
                    .get_or_insert_with(|| Bucket::full(capacity, now));
                (budget, Admission { key: None })
            };
        budget
            .take(now, capacity, self.rate())
            .map(|()| admission)
            .map_err(ScimError::AuthThrottled)
    }

    /// The admitted request authenticated (or could not be checked for a
    /// reason of ours): its unit goes back.
    pub fn refund(&self, admission: Admission) {
        if self.limit.failures == 0 {
            return;
        }
        let capacity = self.capacity();
        let mut table = self.table();
        let budget = match admission.key {
            Some(key) => table.budgets.get_mut(&key),
            None => table.overflow.as_mut(),
        };
        if let Some(budget) = budget {
            budget.give_back(capacity);
        }
    }

    /// Forgets addresses whose budget has refilled: they are as good as new.
    fn sweep(&self, table: &mut Table, now: Instant) {
        if table
            .swept_at
            .is_some_and(|at| now.saturating_duration_since(at) < SWEEP_INTERVAL)
        {
            return;
        }
        table.swept_at = Some(now);
        let (capacity, rate) = (self.capacity(), self.rate());
        table
            .budgets
            .retain(|_, budget| !budget.refill(now, capacity, rate));
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.table().budgets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    fn throttle(failures: u32, window_secs: u64) -> FailureThrottle {
        FailureThrottle::new(FailureLimit {
            failures,
            window: Duration::from_secs(window_secs),
        })
    }

    #[test]
    fn a_burst_of_failures_then_a_wait_per_address() {
        let throttle = throttle(3, 60);
        let now = Instant::now();
        for _ in 0..3 {
            throttle.admit(ip("198.51.100.1"), now).unwrap();
        }
        match throttle.admit(ip("198.51.100.1"), now) {
            Err(ScimError::AuthThrottled(seconds)) => assert_eq!(seconds, 20),
            other => panic!("{other:?}"),
        }
        assert!(throttle.admit(ip("198.51.100.2"), now).is_ok());
        // One unit is back after window / failures.
        let later = now + Duration::from_secs(20);
        assert!(throttle.admit(ip("198.51.100.1"), later).is_ok());
        assert!(throttle.admit(ip("198.51.100.1"), later).is_err());
    }

    #[test]
    fn a_success_gives_its_unit_back_but_erases_no_failure() {
        let throttle = throttle(2, 60);
        let now = Instant::now();
        throttle.admit(ip("198.51.100.1"), now).unwrap();
        let admitted = throttle.admit(ip("198.51.100.1"), now).unwrap();
        throttle.refund(admitted);
        throttle.admit(ip("198.51.100.1"), now).unwrap();
        assert!(throttle.admit(ip("198.51.100.1"), now).is_err());
    }

    #[test]
    fn an_ipv6_host_is_throttled_by_its_64() {
        let throttle = throttle(1, 60);
        let now = Instant::now();
        throttle.admit(ip("2001:db8:1:2::1"), now).unwrap();
        assert!(throttle.admit(ip("2001:db8:1:2::ffff"), now).is_err());
        assert!(throttle.admit(ip("2001:db8:1:3::1"), now).is_ok());
        throttle.admit(ip("::ffff:198.51.100.9"), now).unwrap();
        assert!(
            throttle.admit(ip("198.51.100.9"), now).is_err(),
            "IPv4 through an IPv6 socket is the same address"
        );
    }

    #[test]
    fn zero_failures_turns_it_off() {
        let throttle = throttle(0, 60);
        for _ in 0..100 {
            throttle.admit(ip("198.51.100.1"), Instant::now()).unwrap();
        }
        assert_eq!(throttle.remembered(), 0);
    }

    #[test]
    fn the_table_is_bounded_and_newcomers_then_share_a_budget() {
        let throttle = throttle(2, 60);
        let now = Instant::now();
        for n in 0..MAX_ADDRESSES as u32 {
            throttle
                .admit(Some(IpAddr::V4((0x0a00_0000 + n).into())), now)
                .unwrap();
        }
        assert_eq!(throttle.remembered(), MAX_ADDRESSES);
        throttle.admit(ip("198.51.100.1"), now).unwrap();
        throttle.admit(ip("198.51.100.2"), now).unwrap();
        assert!(
            throttle.admit(ip("198.51.100.3"), now).is_err(),
            "addresses beyond the table share one budget"
        );
        assert_eq!(throttle.remembered(), MAX_ADDRESSES);
        // Once their budgets have refilled, the old addresses are swept.
        let later = now + Duration::from_secs(61);
        throttle.admit(ip("198.51.100.3"), later).unwrap();
        assert_eq!(throttle.remembered(), 1);
    }

    #[test]
    fn trusted_proxies_parse_as_addresses_or_networks() {
        assert_eq!(
            parse_trusted_proxy("10.0.0.0/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_trusted_proxy("10.1.2.3").unwrap().to_string(),
            "10.1.2.3/32"
        );
        assert_eq!(
            parse_trusted_proxy(" 10.1.2.3/8 ").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(parse_trusted_proxy("::1").unwrap().to_string(), "::1/128");
        for bad in ["", "proxy.example.com", "10.0.0.0/33", "10.0.0"] {
            let message = parse_trusted_proxy(bad).unwrap_err();
            assert!(message.contains("CIDR"), "{message}");
        }
    }

    fn request(peer: &str, forwarded_for: &[&str]) -> HttpRequest {
        let mut req = actix_web::test::TestRequest::default().peer_addr(peer.parse().unwrap());
        for value in forwarded_for {
            req = req.append_header((X_FORWARDED_FOR, *value));
        }
        req.to_http_request()
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let proxies = TrustedProxies::new(vec![
            parse_trusted_proxy("10.0.0.0/8").unwrap(),
            parse_trusted_proxy("192.0.2.1").unwrap(),
        ]);
        let client = |peer, xff: &[&str]| proxies.client_ip(&request(peer, xff)).unwrap();
        let addr = |text: &str| text.parse::<IpAddr>().unwrap();
        // An untrusted peer's header is ignored.
        assert_eq!(
            client("203.0.113.9:1", &["198.51.100.1"]),
            addr("203.0.113.9")
        );
        // A trusted proxy's last hop is the client.
        assert_eq!(
            client("10.0.0.2:1", &["198.51.100.1"]),
            addr("198.51.100.1")
        );
        // Hops added by trusted proxies are skipped; what the client wrote
        // itself (left of the first untrusted hop) is not believed.
        assert_eq!(
            client("10.0.0.2:1", &["1.1.1.1, 198.51.100.1, 192.0.2.1"]),
            addr("198.51.100.1")
        );
        assert_eq!(
            client("10.0.0.2:1", &["1.1.1.1", "198.51.100.1:4711"]),
            addr("198.51.100.1")
        );
        assert_eq!(
            client("10.0.0.2:1", &["[2001:db8::7]:4711"]),
            addr("2001:db8::7")
        );
        // Without a usable hop the proxy itself is the client.
        assert_eq!(client("10.0.0.2:1", &[]), addr("10.0.0.2"));
        assert_eq!(client("10.0.0.2:1", &["unknown"]), addr("10.0.0.2"));
        assert_eq!(client("10.0.0.2:1", &["10.0.0.3"]), addr("10.0.0.3"));
        // Nothing trusted: the peer, always.
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(&request("10.0.0.2:1", &["198.51.100.1"])),
            Some(addr("10.0.0.2"))
        );
    }
}
