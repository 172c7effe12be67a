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

/// 5 failed identifications of one identifier in 15 minutes lock it for 15 minutes,
/// whether or not it exists, so the lock says nothing about existence.
pub const IDENTIFIER: ThrottleRule =
    ThrottleRule { limit: 5, window_secs: 15 * 60, lock_secs: 15 * 60, max_lock_secs: 15 * 60 };

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

pub fn sign_in_key(login: &str) -> String {
    format!("signin:{}", login.trim().to_lowercase())
}

pub fn recovery_key(person_id: i64) -> String {
    format!("recover:{person_id}")
}

/// The counter of one identifier; the method is part of it, since numbering schemes overlap.
pub fn identifier_key(identifier: &Identifier) -> String {
    format!("identify:{}:{}", identifier.method().as_str(), identifier.as_str())
}

pub fn address_key(addr: IpAddr) -> String {
    format!("addr:{addr}")
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
        assert_eq!(address_key("::1".parse().unwrap()), "addr:::1");
    }

    #[test]
    fn sign_in_waits_double_from_the_third_failure_up_to_fifteen_minutes() {
        let waits: Vec<Option<i64>> = (1..=9).map(|n| SIGN_IN.lock_for(n)).collect();
        assert_eq!(waits, vec![None, None, Some(30), Some(60), Some(120), Some(240), Some(480), Some(900), Some(900)]);
        assert_eq!(SIGN_IN.lock_for(u32::MAX), Some(900));
    }

    #[test]
    fn fixed_rules_lock_for_their_time_from_the_limit_on() {
        assert_eq!(IDENTIFIER.lock_for(4), None);
        assert_eq!(IDENTIFIER.lock_for(5), Some(900));
        assert_eq!(IDENTIFIER.lock_for(9), Some(900));
        assert_eq!(CLIENT_ADDRESS.lock_for(20), Some(900));
    }

    #[test]
    fn retry_after_is_at_least_a_second() {
        assert_eq!(retry_after(1_000, 100), 900);
        assert_eq!(retry_after(100, 100), 1);
        assert_eq!(retry_after(50, 100), 1);
    }
}
