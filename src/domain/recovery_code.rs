//! One-time recovery codes: how they are drawn, kept (only a salted hash), checked and paced,
//! and how the channel they went to is shown.

use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

use super::phone::MobileNumber;
use crate::i18n::Locale;

/// Wrong codes that void the current one.
pub const MAX_TRIES: i32 = 3;
/// Codes one person may be sent in `SEND_WINDOW_SECS`.
pub const MAX_SENDS: i32 = 3;
pub const SEND_WINDOW_SECS: i64 = 3600;
/// Validity when `SESAME_RECOVERY_CODE_MINUTES` is not set.
pub const DEFAULT_MINUTES: u32 = 10;

const SALT_LEN: usize = 16;

/// Where a code goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Mail,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Mail => "mail",
        }
    }

    /// Exactly the form's values: anything else is no channel.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sms" => Some(Self::Sms),
            "mail" => Some(Self::Mail),
            _ => None,
        }
    }
}

/// A freshly drawn code: put in one message, then forgotten; only its hash is kept.
pub struct OneTimeCode(String);

impl std::fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeCode([redacted])")
    }
}

impl OneTimeCode {
    /// Six digits, uniformly drawn from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self(format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A fresh salt, then SHA-256 of salt and code: what the store keeps.
    pub fn hash(&self) -> Vec<u8> {
        let mut salt = [0u8; SALT_LEN];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        [salt.as_slice(), &digest(&salt, &self.0)].concat()
    }
}

fn digest(salt: &[u8], code: &str) -> [u8; 32] {
    Sha256::new().chain_update(salt).chain_update(code.as_bytes()).finalize().into()
}

/// The code as typed, without the spaces people put in (« 123 456 »); `None` when it cannot be
/// a code: the form says so and no try is counted.
pub fn typed_code(input: &str) -> Option<String> {
    let code: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// Whether `code` is the one `stored` was made of; the comparison takes the same time whatever
/// the bytes.
pub fn matches(stored: &[u8], code: &str) -> bool {
    if stored.len() != SALT_LEN + 32 {
        return false;
    }
    let (salt, expected) = stored.split_at(SALT_LEN);
    let actual = digest(salt, code);
    expected.iter().zip(actual.iter()).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

/// A person's current code and sends, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeState {
    /// `None` once used or voided.
    pub code_hash: Option<Vec<u8>>,
    pub expires_at: i64,
    pub tries: i32,
    pub window_start: i64,
    pub sends: i32,
}

impl std::fmt::Debug for CodeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeState")
            .field("expires_at", &self.expires_at)
            .field("tries", &self.tries)
            .field("sends", &self.sends)
            .finish_non_exhaustive()
    }
}

/// Whether a new code may be sent at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendDecision {
    /// Yes: the hour's window then starts at `window_start` and counts `sends` (this one included).
    Allowed { window_start: i64, sends: i32 },
    /// No: the hour's sends are spent; the next one is possible in `retry_after` seconds.
    TooMany { retry_after: i64 },
}

pub fn may_send(state: Option<&CodeState>, now: i64) -> SendDecision {
    match state {
        Some(s) if now < s.window_start + SEND_WINDOW_SECS => {
            if s.sends >= MAX_SENDS {
                SendDecision::TooMany { retry_after: (s.window_start + SEND_WINDOW_SECS - now).max(1) }
            } else {
                SendDecision::Allowed { window_start: s.window_start, sends: s.sends + 1 }
            }
        }
        _ => SendDecision::Allowed { window_start: now, sends: 1 },
    }
}

/// What a typed code is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Right,
    /// Wrong; the code still holds `tries_left` tries.
    Wrong {
        tries_left: i32,
    },
    /// Wrong for the last time: the code is now void.
    Voided,
    /// Past its validity.
    Expired,
    /// No code waits (never sent, used, or voided already).
    NoCode,
}

/// Judges `typed` against the stored state at `now` (anything but six digits is wrong). The
/// store records the outcome (a try, or the code gone) only while the code is still the one judged.
pub fn judge(state: Option<&CodeState>, typed: &str, now: i64) -> Verdict {
    let Some((state, hash)) = state.and_then(|s| s.code_hash.as_deref().map(|h| (s, h))) else {
        return Verdict::NoCode;
    };
    if now >= state.expires_at {
        return Verdict::Expired;
    }
    if typed_code(typed).is_some_and(|code| matches(hash, &code)) {
        return Verdict::Right;
    }
    let tries = state.tries + 1;
    if tries >= MAX_TRIES { Verdict::Voided } else { Verdict::Wrong { tries_left: MAX_TRIES - tries } }
}

/// « 06 •• •• •• 78 » for a French mobile; other countries' numbers as `MobileNumber::masked`.
pub fn masked_phone(number: &MobileNumber) -> String {
    match number.as_e164().strip_prefix("+33") {
        Some(national) if national.len() == 9 => {
            format!("0{} •• •• •• {}", &national[..1], &national[7..])
        }
        _ => number.masked(),
    }
}

/// « m•••@example.org »: the first character of the mailbox only.
pub fn masked_email(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
}

/// The SMS: ASCII only (one GSM-7 segment of at most 160 characters), naming the service and
/// the validity, with no link.
pub fn sms_text(locale: Locale, code: &OneTimeCode, minutes: u32) -> String {
    locale.t_with("recovery.sms", &[("code", code.as_str().to_string()), ("minutes", minutes.to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::assert_translated;

    fn state(code: &OneTimeCode, tries: i32) -> CodeState {
        CodeState { code_hash: Some(code.hash()), expires_at: 1_000, tries, window_start: 0, sends: 1 }
    }

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> =
            (0..200).map(|_| OneTimeCode::generate().as_str().to_string()).collect();
        assert!(codes.iter().all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())));
        assert!(codes.len() > 190, "a CSPRNG repeats rarely");
    }

    #[test]
    fn only_a_salted_hash_is_kept_and_it_matches_its_code_only() {
        let code = OneTimeCode::generate();
        let (one, two) = (code.hash(), code.hash());
        assert_ne!(one, two, "a fresh salt each time");
        assert!(!one.windows(6).any(|w| w == code.as_str().as_bytes()));
        assert!(matches(&one, code.as_str()) && matches(&two, code.as_str()));
        let other = format!("{:06}", (code.as_str().parse::<u32>().unwrap() + 1) % 1_000_000);
        assert!(!matches(&one, &other));
        assert!(!matches(&one[..10], code.as_str()));
        assert_eq!(format!("{code:?}"), "OneTimeCode([redacted])");
    }

    #[test]
    fn typed_codes_may_hold_spaces_but_nothing_else() {
        assert_eq!(typed_code(" 123 456 ").as_deref(), Some("123456"));
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６", "123-456"] {
            assert_eq!(typed_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_right_code_before_expiry_is_right() {
        let code = OneTimeCode::generate();
        assert_eq!(judge(Some(&state(&code, 0)), code.as_str(), 999), Verdict::Right);
        assert_eq!(judge(Some(&state(&code, 2)), code.as_str(), 10), Verdict::Right);
    }

    #[test]
    fn three_wrong_codes_void_it() {
        let code = OneTimeCode::generate();
        assert_eq!(judge(Some(&state(&code, 0)), "000000x", 10), Verdict::Wrong { tries_left: 2 });
        let wrong = if code.as_str() == "111111" { "222222" } else { "111111" };
        assert_eq!(judge(Some(&state(&code, 1)), wrong, 10), Verdict::Wrong { tries_left: 1 });
        assert_eq!(judge(Some(&state(&code, 2)), wrong, 10), Verdict::Voided);
    }

    #[test]
    fn an_expired_used_or_absent_code_is_never_right() {
        let code = OneTimeCode::generate();
        assert_eq!(judge(Some(&state(&code, 0)), code.as_str(), 1_000), Verdict::Expired);
        let used = CodeState { code_hash: None, ..state(&code, 0) };
        assert_eq!(judge(Some(&used), code.as_str(), 10), Verdict::NoCode);
        assert_eq!(judge(None, code.as_str(), 10), Verdict::NoCode);
    }

    #[test]
    fn three_sends_an_hour_then_wait_for_the_window() {
        assert_eq!(may_send(None, 100), SendDecision::Allowed { window_start: 100, sends: 1 });
        let mut s = CodeState { code_hash: None, expires_at: 0, tries: 0, window_start: 100, sends: 1 };
        assert_eq!(may_send(Some(&s), 200), SendDecision::Allowed { window_start: 100, sends: 2 });
        s.sends = 3;
        assert_eq!(may_send(Some(&s), 200), SendDecision::TooMany { retry_after: 3500 });
        assert_eq!(may_send(Some(&s), 3700), SendDecision::Allowed { window_start: 3700, sends: 1 });
    }

    #[test]
    fn channels_are_masked() {
        assert_eq!(masked_phone(&MobileNumber::parse("06 12 34 56 78").unwrap()), "06 •• •• •• 78");
        assert_eq!(masked_phone(&MobileNumber::parse("+44 7400 123456").unwrap()), "+44 7 • •• •• •• 56");
        assert_eq!(masked_email("marie.curie@example.org"), "m•••@example.org");
        assert_eq!(Channel::parse("sms"), Some(Channel::Sms));
        assert_eq!(Channel::parse("SMS"), None);
    }

    #[test]
    fn the_sms_is_one_ascii_segment_naming_the_service_and_the_validity_without_link() {
        let code = OneTimeCode::generate();
        assert_translated("recovery.sms");
        for locale in [Locale::Fr, Locale::En] {
            let text = sms_text(locale, &code, 1440);
            assert!(text.is_ascii() && text.chars().count() <= 160, "{text}");
            assert!(text.contains(code.as_str()) && text.contains("1440") && text.contains("Sesame"), "{text}");
            assert!(!text.contains("http") && !text.contains("www"), "{text}");
            // GSM-7's basic set has no backquote, braces, backslash, caret, tilde, bar or brackets.
            assert!(!text.chars().any(|c| "`{}\\^~|[]".contains(c)), "{text}");
        }
    }
}
