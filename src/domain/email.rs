//! E-mail addresses: personal ones typed or imported, and institutional ones built from a login.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use validator::ValidateEmail;

use super::login::Login;

/// Why an e-mail address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("email address is empty")]
    Empty,
    #[error("email address is invalid")]
    Invalid,
}

impl EmailError {
    /// Stable translation key, see `locales/domain.yml`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "email.empty",
            Self::Invalid => "email.invalid",
        }
    }
}

/// The longest address that fits in an SMTP path (RFC 5321 §4.5.3.1.3).
const EMAIL_MAX_LEN: usize = 254;

/// An e-mail address in the HTML5 form-validation syntax. The domain is
/// lower-cased because it is case-insensitive; the local part is kept as
/// given because, in theory, only the receiving server may interpret it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(EmailError::Empty);
        }
        // The last '@' separates the domain: domains can never contain one.
        let (local, domain) = input.rsplit_once('@').ok_or(EmailError::Invalid)?;
        let address = format!("{local}@{}", domain.to_lowercase());
        if address.chars().count() > EMAIL_MAX_LEN || !address.validate_email() {
            return Err(EmailError::Invalid);
        }
        Ok(Self(address))
    }

    /// The address the institution gives with the account, `login@domain`.
    ///
    /// `domain` comes from the portal's configuration, not from users, and is
    /// therefore trusted; it is only trimmed, stripped of a leading `@` and
    /// lower-cased to forgive the usual ways of writing it.
    pub fn institutional(login: &Login, domain: &str) -> Email {
        let domain = domain.trim().trim_start_matches('@').to_lowercase();
        Email(format!("{}@{domain}", login.as_str()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl FromStr for Email {
    type Err = EmailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::super::login::{base_login, unique_login};
    use super::*;
    use crate::domain::test_support::assert_translated;

    fn email(s: &str) -> Result<String, EmailError> {
        Email::parse(s).map(|e| e.0)
    }

    #[test]
    fn ordinary_addresses_are_accepted() {
        for input in [
            "jean.dupont@univ-exemple.fr",
            "j@x.fr",
            "jean+sesame@gmail.com",
            "jean_dupont-2@etu.univ-exemple.fr",
            "o'brien@example.ie",
            "a.b.c@d.e.f.g",
            "!#$%&'*+/=?^_`{|}~-@example.com",
            "1234@example.com",
        ] {
            assert_eq!(email(input), Ok(input.to_owned()), "{input:?}");
        }
    }

    #[test]
    fn domain_is_lower_cased_but_local_part_is_kept() {
        assert_eq!(email("Jean.Dupont@Univ-Exemple.FR"), Ok("Jean.Dupont@univ-exemple.fr".into()));
    }

    #[test]
    fn internationalised_domain_is_accepted_and_lower_cased() {
        assert_eq!(email("jean@ÉCOLE.fr"), Ok("jean@école.fr".into()));
        assert_eq!(email("user@пример.рф"), Ok("user@пример.рф".into()));
    }

    #[test]
    fn address_is_trimmed() {
        assert_eq!(email("  jean@example.fr \n"), Ok("jean@example.fr".into()));
    }

    #[test]
    fn empty_or_blank_address_is_empty() {
        for input in ["", " ", "\t\r\n", "\u{a0}"] {
            assert_eq!(email(input), Err(EmailError::Empty), "{input:?}");
        }
    }

    #[test]
    fn malformed_addresses_are_invalid() {
        for input in [
            "jean",
            "jean.example.fr",
            "@example.fr",
            "jean@",
            "@",
            "jean@@example.fr",
            "jean@dupont@example.fr",
            "jean dupont@example.fr",
            "jean@exa mple.fr",
            "jean@example.fr.",
            "jean@.example.fr",
            "jean@-example.fr",
            "jean@example-.fr",
            "jean@exa_mple.fr",
            "jean@example..fr",
            "\"jean dupont\"@example.fr",
            "élodie@example.fr",
            "jean\n@example.fr",
            "jean@example.fr\u{0}",
            "jean@example.fr\n<script>",
            "jean@[300.0.0.1]",
            "jean<jean@example.fr>",
            "mailto:jean@example.fr",
            "😀@example.fr",
        ] {
            assert_eq!(email(input), Err(EmailError::Invalid), "{input:?}");
        }
    }

    #[test]
    fn local_part_longer_than_sixty_four_characters_is_invalid() {
        assert!(email(&format!("{}@example.fr", "a".repeat(64))).is_ok());
        assert_eq!(email(&format!("{}@example.fr", "a".repeat(65))), Err(EmailError::Invalid));
    }

    #[test]
    fn address_of_254_characters_is_accepted_and_255_is_invalid() {
        // A 64-character local part and 63-character labels are each legal,
        // so only the total length decides here.
        let local = "a".repeat(64);
        let label = "d".repeat(63);
        let at_limit = format!("{local}@{label}.{label}.{}", "d".repeat(61));
        assert_eq!(at_limit.len(), 254);
        assert_eq!(email(&at_limit), Ok(at_limit.clone()));
        let over = format!("{local}@{label}.{label}.{}", "d".repeat(62));
        assert_eq!(over.len(), 255);
        assert_eq!(email(&over), Err(EmailError::Invalid));
    }

    #[test]
    fn huge_input_is_invalid_without_panicking() {
        assert_eq!(email(&"é@".repeat(10_000)), Err(EmailError::Invalid));
        assert_eq!(email(&format!("a@{}", "b".repeat(100_000))), Err(EmailError::Invalid));
    }

    #[test]
    fn what_validator_accepts_is_accepted() {
        // Documented behaviour of the HTML5 rule we rely on, kept visible here.
        assert!(email("jean@localhost").is_ok());
        assert!(email("jean@[127.0.0.1]").is_ok());
    }

    #[test]
    fn institutional_address_is_login_at_domain() {
        let login = Login::parse("elodie.leboeuf").unwrap();
        let e = Email::institutional(&login, "univ-exemple.fr");
        assert_eq!(e.as_str(), "elodie.leboeuf@univ-exemple.fr");
        assert_eq!(Email::parse(e.as_str()), Ok(e));
    }

    #[test]
    fn institutional_address_forgives_how_the_domain_is_written() {
        let login = Login::parse("jdupont").unwrap();
        for domain in ["Univ-Exemple.FR", " univ-exemple.fr ", "@univ-exemple.fr"] {
            assert_eq!(Email::institutional(&login, domain).as_str(), "jdupont@univ-exemple.fr");
        }
    }

    #[test]
    fn institutional_address_of_any_generated_login_is_valid() {
        let names = ["Élodie", "Le Bœuf", "", "王", "😀", "9", &"x".repeat(200)];
        for given in names {
            for family in names {
                let login = unique_login(&base_login(given, family), |s| !s.ends_with("12"));
                let e = Email::institutional(&login, "etu.univ-exemple.fr");
                assert_eq!(Email::parse(e.as_str()), Ok(e.clone()), "{given:?} {family:?}");
            }
        }
    }

    #[test]
    fn email_conversions_agree_with_parse() {
        let e: Email = "Jean@Example.FR".parse().unwrap();
        assert_eq!(e.to_string(), "Jean@example.fr");
        assert_eq!(e.as_ref(), "Jean@example.fr");
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"Jean@example.fr\"");
        assert_eq!(serde_json::from_str::<Email>("\"Jean@EXAMPLE.fr\"").unwrap(), e);
        assert!(serde_json::from_str::<Email>("\"jean\"").is_err());
    }

    #[test]
    fn email_errors_have_distinct_translated_codes() {
        assert_eq!(EmailError::Empty.code(), "email.empty");
        assert_eq!(EmailError::Invalid.code(), "email.invalid");
        assert_translated(EmailError::Empty.code());
        assert_translated(EmailError::Invalid.code());
    }

    #[test]
    fn email_errors_have_short_english_messages() {
        assert_eq!(EmailError::Empty.to_string(), "email address is empty");
        assert_eq!(EmailError::Invalid.to_string(), "email address is invalid");
    }
}
