//! Failed sign-ins slow down whoever makes them: per login (whether it exists or not, so the
//! answer tells nothing) and per client address. After [`FREE_FAILURES`] failures within
//! [`WINDOW_MS`], each further attempt waits twice as long as the last, up to [`MAX_WAIT_MS`].
//! The table is bounded ([`MAX_KEYS`]): at the bound the oldest entries are forgotten.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;

pub const FREE_FAILURES: u32 = 5;
pub const WINDOW_MS: i64 = 15 * 60_000;
pub const MAX_WAIT_MS: i64 = 15 * 60_000;
pub const MAX_KEYS: usize = 10_000;
/// An address may try many logins (a shared desk): its allowance is larger.
const ADDRESS_FACTOR: u32 = 4;

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    first_ms: i64,
    last_ms: i64,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Login(u64),
    Address(IpAddr),
}

#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<Key, Failures>>,
}

fn login_key(login: &str) -> Key {
    use std::hash::{BuildHasher, Hasher};
    // Keyed by a hash of the lower-cased login: the table holds no login text.
    let mut h = std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().build_hasher();
    h.write(login.to_lowercase().as_bytes());
    Key::Login(h.finish())
}

impl Throttle {
    /// Milliseconds to wait before `login` may be tried again from `address` (0: now).
    pub fn wait_ms(&self, login: &str, address: IpAddr, now_ms: i64) -> i64 {
        let failures = self.failures.lock();
        let wait = |key: Key, free: u32| {
            failures.get(&key).filter(|f| now_ms - f.first_ms <= WINDOW_MS && f.count >= free).map_or(0, |f| {
                let doublings = (f.count - free).min(20);
                let wait = (1_000i64 << doublings).min(MAX_WAIT_MS);
                (f.last_ms + wait - now_ms).max(0)
            })
        };
        wait(login_key(login), FREE_FAILURES).max(wait(Key::Address(address), FREE_FAILURES * ADDRESS_FACTOR))
    }

    pub fn failed(&self, login: &str, address: IpAddr, now_ms: i64) {
        let mut failures = self.failures.lock();
        if failures.len() >= MAX_KEYS {
            let cutoff = now_ms - WINDOW_MS;
            failures.retain(|_, f| f.last_ms > cutoff);
            if failures.len() >= MAX_KEYS {
                let oldest = failures.iter().min_by_key(|(_, f)| f.last_ms).map(|(k, _)| *k);
                oldest.map(|k| failures.remove(&k));
            }
        }
        for key in [login_key(login), Key::Address(address)] {
            let f = failures.entry(key).or_insert(Failures { count: 0, first_ms: now_ms, last_ms: now_ms });
            if now_ms - f.first_ms > WINDOW_MS {
                *f = Failures { count: 0, first_ms: now_ms, last_ms: now_ms };
            }
            f.count += 1;
            f.last_ms = now_ms;
        }
    }

    /// A success clears the login's failures (not the address's).
    pub fn succeeded(&self, login: &str) {
        self.failures.lock().remove(&login_key(login));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_allowance_wait_longer_and_longer_and_a_success_clears_the_login() {
        let t = Throttle::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for i in 0..FREE_FAILURES {
            assert_eq!(t.wait_ms("pp.dispatcher", ip, 1_000 + i64::from(i)), 0);
            t.failed("pp.dispatcher", ip, 1_000 + i64::from(i));
        }
        let first = t.wait_ms("PP.Dispatcher", ip, 1_005);
        assert!(first > 0 && first <= 1_000, "{first}");
        t.failed("pp.dispatcher", ip, 2_005);
        assert!(t.wait_ms("pp.dispatcher", ip, 2_005) > 1_000, "doubles");
        assert_eq!(t.wait_ms("someone.else", ip, 2_005), 0, "another login from the same desk may still try");
        t.succeeded("pp.dispatcher");
        assert_eq!(t.wait_ms("pp.dispatcher", ip, 2_005), 0);
        assert_eq!(t.wait_ms("pp.dispatcher", ip, 2_005 + WINDOW_MS + 1), 0, "the window passes");
    }

    #[test]
    fn the_table_stays_bounded() {
        let t = Throttle::default();
        for i in 0..(MAX_KEYS as u32 + 100) {
            t.failed(&format!("user{i}"), "10.0.0.1".parse().unwrap(), i64::from(i));
        }
        assert!(t.failures.lock().len() <= MAX_KEYS);
    }
}
