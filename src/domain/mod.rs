//! Pure rules of the domain: parsing, checking and deciding, with no I/O.

pub mod activation;
pub mod birth_date;
pub mod directory;
pub mod email;
pub mod identifiers;
pub mod import_plan;
pub mod login;
pub mod password_policy;
pub mod person;
pub mod phone;
pub mod recovery_code;
pub mod security_answer;
pub mod sign_in;
pub mod throttle;

/// What the domain's tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::i18n::Locale;

    /// The code has a French and an English text (rust-i18n answers a missing key with the key).
    pub fn assert_translated(code: &str) {
        for locale in [Locale::Fr, Locale::En] {
            let text = locale.t(code);
            assert!(!text.trim().is_empty() && !text.ends_with(code), "{code} has no {} text", locale.as_str());
        }
    }

    #[test]
    #[should_panic(expected = "no.such.key has no fr text")]
    fn a_missing_key_is_caught() {
        assert_translated("no.such.key");
    }
}
