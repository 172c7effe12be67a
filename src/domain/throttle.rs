//! How many failures are tolerated before a lock, and for how long: the same on every instance.

use std::net::IpAddr;

use super::identifiers::Identifier;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    /// Failures within `window_secs` that trigger the lock.
    pub limit: u32,
    pub window_secs: i64,
    pub lock_secs: i64,
}

/// 5 failed identifications of one identifier in 15 minutes lock it for 15 minutes,
/// whether or not it exists, so the lock says nothing about existence.
pub const IDENTIFIER: ThrottleRule = ThrottleRule { limit: 5, window_secs: 15 * 60, lock_secs: 15 * 60 };

/// 20 failures from one client address in 15 minutes turn that address away for 15 minutes.
pub const CLIENT_ADDRESS: ThrottleRule = ThrottleRule { limit: 20, window_secs: 15 * 60, lock_secs: 15 * 60 };

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
    fn retry_after_is_at_least_a_second() {
        assert_eq!(retry_after(1_000, 100), 900);
        assert_eq!(retry_after(100, 100), 1);
        assert_eq!(retry_after(50, 100), 1);
    }
}
