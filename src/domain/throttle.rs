//! How many failures are tolerated before a lock, and for how long: the same on every instance.

use std::net::IpAddr;

use super::identifiers::Identifier;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    /// Failures within `window_secs` that trigger the lock.
    pub limit: u32,
    pub window_secs: i64,
    /// The first lock; each failure after the limit doubles it, up to `max_lock_secs`.
    pub lock_secs: i64,
    pub max_lock_secs: i64,
}

impl ThrottleRule {
    /// How long the `failures`-th failure in the window locks the key, if at all.
    pub fn lock_for(&self, failures: u32) -> Option<i64> {
        let beyond = failures.checked_sub(self.limit)?;
        Some(self.lock_secs.saturating_mul(1_i64 << beyond.min(30)).min(self.max_lock_secs))
    }
}

/// Failed identifications, counted per identifier and per person: failures count for 24 hours;
/// the 5th locks for 15 minutes and each one after doubles the wait (30 min, 1 h, 2 h…) up to
/// 24 hours. An unknown identifier is counted the same way, so the lock says nothing about
/// existence. Worst case for one person: 11 guesses of the birth date a day (see README).
pub const IDENTIFIER: ThrottleRule =
    ThrottleRule { limit: 5, window_secs: 24 * 3600, lock_secs: 15 * 60, max_lock_secs: 24 * 3600 };

/// 20 failures from one client address in 15 minutes turn that address away for 15 minutes.
pub const CLIENT_ADDRESS: ThrottleRule =
    ThrottleRule { limit: 20, window_secs: 15 * 60, lock_secs: 15 * 60, max_lock_secs: 15 * 60 };

/// 5 wrong answers to the question joker in 15 minutes lock that account's recovery for 15 minutes.
pub const RECOVERY_ANSWER: ThrottleRule =
    ThrottleRule { limit: 5, window_secs: 15 * 60, lock_secs: 15 * 60, max_lock_secs: 15 * 60 };

/// Sign-in, in the spirit of Keycloak's brute-force detection: failures count for 12 hours;
/// from the 3rd one each failure locks the login for a wait that doubles (30 s, 1 min, 2 min…)
/// up to 15 minutes. A successful sign-in clears the count.
pub const SIGN_IN: ThrottleRule =
    ThrottleRule { limit: 3, window_secs: 12 * 3600, lock_secs: 30, max_lock_secs: 15 * 60 };

/// The sign-in counter of an account, whichever of its names was typed.
pub fn sign_in_key(person_id: i64) -> String {
    format!("signin:{person_id}")
}

/// The sign-in counter of a name that reaches no account: its own text.
pub fn unknown_sign_in_key(name: &str) -> String {
    format!("signin:{}", name.trim().to_lowercase())
}

pub fn recovery_key(person_id: i64) -> String {
    format!("recover:{person_id}")
}

/// The counter of one identifier; the method is part of it, since numbering schemes overlap.
pub fn identifier_key(identifier: &Identifier) -> String {
    format!("identify:{}:{}", identifier.method().as_str(), identifier.as_str())
}

/// The counter that adds up every identifier of one person.
pub fn identified_person_key(person_id: i64) -> String {
    format!("identify-person:{person_id}")
}

/// Its twin for an identifier that designates no one, so that both cost and answer the same.
pub fn unidentified_person_key(identifier: &Identifier) -> String {
    format!("identify-person:{}:{}", identifier.method().as_str(), identifier.as_str())
}

/// An IPv6 client holds a whole /64 (one customer line, one host's privacy addresses):
/// counted as one, or it would rotate through its addresses freely.
pub fn address_key(addr: IpAddr) -> String {
    match addr.to_canonical() {
        IpAddr::V4(v4) => format!("addr:{v4}"),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("addr:{}/64", std::net::Ipv6Addr::from(prefix))
        }
    }
}

/// Seconds to announce in `Retry-After`: never zero, so a client does not retry at once.
pub fn retry_after(locked_until: i64, now: i64) -> i64 {
    (locked_until - now).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identifiers::IdentificationMethod;

    #[test]
    fn keys_separate_methods_and_normalise_the_identifier() {
        let staff = Identifier::parse(IdentificationMethod::StaffNumber, " ab12 ").unwrap();
        let student = Identifier::parse(IdentificationMethod::StudentNumber, "AB12").unwrap();
        assert_eq!(identifier_key(&staff), "identify:staff_number:AB12");
        assert_ne!(identifier_key(&staff), identifier_key(&student));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_mapped_ipv4_as_ipv4() {
        let key = |s: &str| address_key(s.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "addr:2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), key("2001:db8:1:2::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:198.51.100.7"), "addr:198.51.100.7");
        assert_eq!(key("198.51.100.7"), "addr:198.51.100.7");
    }

    #[test]
    fn sign_in_waits_double_from_the_third_failure_up_to_fifteen_minutes() {
        let waits: Vec<Option<i64>> = (1..=9).map(|n| SIGN_IN.lock_for(n)).collect();
        assert_eq!(waits, vec![None, None, Some(30), Some(60), Some(120), Some(240), Some(480), Some(900), Some(900)]);
        assert_eq!(SIGN_IN.lock_for(u32::MAX), Some(900));
    }

    #[test]
    fn fixed_rules_lock_for_their_time_from_the_limit_on() {
        assert_eq!(CLIENT_ADDRESS.lock_for(19), None);
        assert_eq!(CLIENT_ADDRESS.lock_for(20), Some(900));
        assert_eq!(CLIENT_ADDRESS.lock_for(29), Some(900));
    }

    /// The README's figure: how many birth dates one person's identifiers let through in a day.
    #[test]
    fn identification_waits_grow_to_eleven_guesses_a_day() {
        let waits: Vec<Option<i64>> = (4..=12).map(|n| IDENTIFIER.lock_for(n)).collect();
        let m = 60;
        assert_eq!(
            waits,
            vec![
                None,
                Some(15 * m),
                Some(30 * m),
                Some(60 * m),
                Some(120 * m),
                Some(240 * m),
                Some(480 * m),
                Some(960 * m),
                Some(1440 * m)
            ]
        );
        let (mut guesses, mut now) = (0, 0);
        while now < 24 * 3600 {
            guesses += 1;
            now += IDENTIFIER.lock_for(guesses).unwrap_or(0);
        }
        assert_eq!(guesses, 11);
    }

    #[test]
    fn retry_after_is_at_least_a_second() {
        assert_eq!(retry_after(1_000, 100), 900);
        assert_eq!(retry_after(100, 100), 1);
        assert_eq!(retry_after(50, 100), 1);
    }
}
