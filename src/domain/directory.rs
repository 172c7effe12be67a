//! What Sésame writes into the institution's LDAP directory, decided without touching it: the
//! attribute values, which of them an entry can hold, and whether a failure is worth a retry.

use md4::{Digest, Md4};
use time::OffsetDateTime;

/// What is waiting to reach one person's entry. Newer changes merge into older ones still waiting,
/// so that the entry always gets the person's latest state in one modify.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pending {
    /// Write the account's current password hash.
    pub password: bool,
    /// Write the account's directory visibility.
    pub visibility: bool,
    /// Remove every password (help-desk reset or disable).
    pub remove_password: bool,
}

impl Pending {
    pub const PASSWORD: Self = Self { password: true, visibility: false, remove_password: false };
    pub const VISIBILITY: Self = Self { password: false, visibility: true, remove_password: false };
    pub const REMOVE: Self = Self { password: false, visibility: false, remove_password: true };

    /// `self` followed by `newer`: a password set after a removal wins, and a removal after a
    /// password set wins.
    pub fn then(self, newer: Self) -> Self {
        Self {
            password: newer.password || (self.password && !newer.remove_password),
            visibility: self.visibility || newer.visibility,
            remove_password: newer.remove_password || (self.remove_password && !newer.password),
        }
    }
}

/// The object classes that decide which attributes an entry may take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntryClasses {
    pub shadow_account: bool,
    pub samba_sam_account: bool,
    pub supann_person: bool,
}

impl EntryClasses {
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        names.into_iter().fold(Self::default(), |mut c, name| {
            match name.to_ascii_lowercase().as_str() {
                "shadowaccount" => c.shadow_account = true,
                "sambasamaccount" => c.samba_sam_account = true,
                "supannperson" => c.supann_person = true,
                _ => {}
            }
            c
        })
    }
}

/// The account's state when the change is delivered (the latest, whatever was asked first).
#[derive(Debug, Clone)]
pub struct Current<'a> {
    /// Sésame's Argon2id PHC string; `None` when the person has no account any more.
    pub password_hash: Option<&'a str>,
    /// The NT hash of that password, when the deployment writes them and it was kept for delivery.
    pub nt_hash: Option<&'a str>,
    pub directory_visible: bool,
    pub at: OffsetDateTime,
}

/// One attribute replaced by these values (none: the attribute goes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replace {
    pub attribute: &'static str,
    pub values: Vec<String>,
}

fn replace(attribute: &'static str, values: Vec<String>) -> Replace {
    Replace { attribute, values }
}

/// The replaces of one modify: only attributes the entry's classes allow, only by replace, so
/// that sending the same change twice leaves the entry as once.
pub fn modifications(pending: Pending, classes: EntryClasses, current: &Current, nt_hashes: bool) -> Vec<Replace> {
    let mut mods = Vec::new();
    let password = match current.password_hash {
        Some(hash) if pending.password && !pending.remove_password => Some(hash),
        _ => None,
    };
    if let Some(hash) = password {
        mods.push(replace("userPassword", vec![user_password(hash)]));
        if classes.shadow_account {
            mods.push(replace("shadowLastChange", vec![days_since_epoch(current.at).to_string()]));
        }
        // A password whose NT hash is not at hand must not leave the old one usable on the wifi.
        if nt_hashes && classes.samba_sam_account {
            let nt = current.nt_hash.map(|h| vec![h.to_string()]).unwrap_or_default();
            mods.push(replace("sambaNTPassword", nt));
            mods.push(replace("sambaPwdLastSet", vec![current.at.unix_timestamp().to_string()]));
        }
    } else if pending.remove_password || pending.password {
        // Removed, or a password asked for by someone who has no account any more: nothing may bind.
        mods.push(replace("userPassword", Vec::new()));
        if classes.samba_sam_account {
            mods.push(replace("sambaNTPassword", Vec::new()));
        }
    }
    if pending.visibility && classes.supann_person {
        let hidden = if current.directory_visible { "FALSE" } else { "TRUE" };
        mods.push(replace("supannListeRouge", vec![hidden.to_string()]));
    }
    mods
}

/// `userPassword` as slapd's argon2 module verifies it: the scheme, then the PHC string itself.
pub fn user_password(phc: &str) -> String {
    format!("{{ARGON2}}{phc}")
}

/// `shadowLastChange`: whole days since 1970-01-01 (UTC).
pub fn days_since_epoch(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(86_400)
}

/// The NT hash MSCHAPv2 needs: MD4 of the UTF-16LE password, 32 upper-case hex digits.
pub fn nt_hash(password: &str) -> String {
    let utf16: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
    Md4::digest(&utf16).iter().map(|b| format!("{b:02X}")).collect()
}

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth trying again later (unreachable, busy, timed out).
    Transient(String),
    /// The directory said no; only a person can fix it.
    Refused(String),
}

/// LDAP result codes (RFC 4511) that no retry can change: the entry, the schema or the rights
/// must be fixed first. Anything else (busy 51, unavailable 52, time limit 3, other 80…) is retried.
pub fn is_refusal(code: u32) -> bool {
    matches!(code, 16 | 17 | 18 | 19 | 20 | 21 | 32 | 34 | 48 | 49 | 50 | 53 | 64 | 65 | 67 | 69)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    const AT: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

    fn current(hash: Option<&'static str>, nt: Option<&'static str>, visible: bool) -> Current<'static> {
        Current { password_hash: hash, nt_hash: nt, directory_visible: visible, at: AT }
    }

    fn attrs(mods: &[Replace]) -> Vec<(&str, Vec<&str>)> {
        mods.iter().map(|m| (m.attribute, m.values.iter().map(String::as_str).collect())).collect()
    }

    #[test]
    fn nt_hash_matches_known_vectors() {
        // Values from Samba's and Windows' documentation of the NT hash.
        assert_eq!(nt_hash(""), "31D6CFE0D16AE931B73C59D7E0C089C0");
        assert_eq!(nt_hash("password"), "8846F7EAEE8FB117AD06BDD830B7586C");
        assert_eq!(nt_hash("Azerty123!"), nt_hash("Azerty123!"));
        assert_ne!(nt_hash("é"), nt_hash("e"));
        assert_eq!(nt_hash("x").len(), 32);
    }

    #[test]
    fn shadow_days_count_whole_days() {
        assert_eq!(days_since_epoch(datetime!(1970-01-01 23:59 UTC)), 0);
        assert_eq!(days_since_epoch(datetime!(1970-01-02 00:00 UTC)), 1);
        assert_eq!(days_since_epoch(AT), 20_788);
    }

    #[test]
    fn a_password_goes_as_argon2_with_shadow_and_nt_where_the_entry_takes_them() {
        let all = EntryClasses { shadow_account: true, samba_sam_account: true, supann_person: true };
        let mods = modifications(Pending::PASSWORD, all, &current(Some(PHC), Some("AB"), true), true);
        assert_eq!(
            attrs(&mods),
            vec![
                ("userPassword", vec![format!("{{ARGON2}}{PHC}").as_str()]),
                ("shadowLastChange", vec!["20788"]),
                ("sambaNTPassword", vec!["AB"]),
                ("sambaPwdLastSet", vec!["1796119200"]),
            ]
        );
        let plain =
            modifications(Pending::PASSWORD, EntryClasses::default(), &current(Some(PHC), Some("AB"), true), true);
        assert_eq!(attrs(&plain), vec![("userPassword", vec![format!("{{ARGON2}}{PHC}").as_str()])]);
        let no_nt = modifications(Pending::PASSWORD, all, &current(Some(PHC), Some("AB"), true), false);
        assert!(no_nt.iter().all(|m| !m.attribute.starts_with("samba")));
    }

    #[test]
    fn a_password_without_its_nt_hash_clears_the_old_one() {
        let samba = EntryClasses { samba_sam_account: true, ..Default::default() };
        let mods = modifications(Pending::PASSWORD, samba, &current(Some(PHC), None, true), true);
        assert!(mods.contains(&Replace { attribute: "sambaNTPassword", values: vec![] }));
    }

    #[test]
    fn removal_empties_the_passwords_the_entry_holds() {
        let samba = EntryClasses { samba_sam_account: true, ..Default::default() };
        let mods = modifications(Pending::REMOVE, samba, &current(None, None, true), false);
        assert_eq!(attrs(&mods), vec![("userPassword", vec![]), ("sambaNTPassword", vec![])]);
        let plain = modifications(Pending::REMOVE, EntryClasses::default(), &current(Some(PHC), None, true), true);
        assert_eq!(attrs(&plain), vec![("userPassword", vec![])]);
        // A password asked for by someone reset since then leaves nothing to bind with.
        let gone = modifications(Pending::PASSWORD, EntryClasses::default(), &current(None, None, true), true);
        assert_eq!(attrs(&gone), vec![("userPassword", vec![])]);
    }

    #[test]
    fn visibility_goes_to_supann_entries_only() {
        let supann = EntryClasses { supann_person: true, ..Default::default() };
        let hidden = modifications(Pending::VISIBILITY, supann, &current(Some(PHC), None, false), false);
        assert_eq!(attrs(&hidden), vec![("supannListeRouge", vec!["TRUE"])]);
        let shown = modifications(Pending::VISIBILITY, supann, &current(Some(PHC), None, true), false);
        assert_eq!(attrs(&shown), vec![("supannListeRouge", vec!["FALSE"])]);
        assert!(
            modifications(Pending::VISIBILITY, EntryClasses::default(), &current(None, None, false), false).is_empty()
        );
    }

    #[test]
    fn newer_changes_supersede_older_ones() {
        assert_eq!(Pending::PASSWORD.then(Pending::REMOVE), Pending::REMOVE);
        assert_eq!(Pending::REMOVE.then(Pending::PASSWORD), Pending::PASSWORD);
        assert_eq!(
            Pending::PASSWORD.then(Pending::VISIBILITY),
            Pending { password: true, visibility: true, remove_password: false }
        );
        assert_eq!(
            Pending::VISIBILITY.then(Pending::REMOVE),
            Pending { password: false, visibility: true, remove_password: true }
        );
        assert_eq!(Pending::PASSWORD.then(Pending::PASSWORD), Pending::PASSWORD);
    }

    #[test]
    fn classes_are_read_in_any_case() {
        let c = EntryClasses::from_names(["top", "inetOrgPerson", "SHADOWACCOUNT", "sambaSamAccount", "supannPerson"]);
        assert_eq!(c, EntryClasses { shadow_account: true, samba_sam_account: true, supann_person: true });
        assert_eq!(EntryClasses::from_names(["person"]), EntryClasses::default());
    }

    #[test]
    fn refusals_are_the_codes_no_retry_can_change() {
        for code in [16, 17, 19, 21, 32, 34, 50, 53, 65] {
            assert!(is_refusal(code), "{code}");
        }
        for code in [1, 3, 11, 51, 52, 80] {
            assert!(!is_refusal(code), "{code}");
        }
    }
}
