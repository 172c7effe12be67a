//! Account logins: validating those given in imports and deriving new ones from a person's names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("login is empty")]
    Empty,
    #[error("login is longer than 64 characters")]
    TooLong,
    #[error("login may only contain a-z, 0-9, '.', '-' and '_'")]
    InvalidCharacters,
    #[error("login must start with a letter")]
    MustStartWithLetter,
}

impl LoginError {
    /// Stable translation key, see `locales/domain.yml`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "login.empty",
            Self::TooLong => "login.too_long",
            Self::InvalidCharacters => "login.invalid_characters",
            Self::MustStartWithLetter => "login.must_start_with_letter",
        }
    }
}

/// The local part of an e-mail address is limited to 64 octets (RFC 5321),
/// and logins become addresses through `Email::institutional`.
const LOGIN_MAX_LEN: usize = 64;

/// Generated logins stop here so that a numeric suffix always fits under
/// `LOGIN_MAX_LEN`.
const BASE_MAX_LEN: usize = 50;

/// Used when a person's names contain nothing that can be spelt in ASCII.
const FALLBACK_BASE: &str = "user";

/// Put in front of a generated login that would otherwise start with a digit.
const LETTER_PREFIX: char = 'u';

/// An account login: 1 to 64 characters among `a-z 0-9 . - _`, starting with
/// a letter. Lower-case only, since LDAP and mail systems compare logins
/// without regard to case and two accounts must never differ only by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct Login(String);

fn is_login_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_')
}

impl Login {
    pub fn parse(input: &str) -> Result<Self, LoginError> {
        let login = input.trim().to_ascii_lowercase();
        if login.is_empty() {
            return Err(LoginError::Empty);
        }
        if !login.chars().all(is_login_char) {
            return Err(LoginError::InvalidCharacters);
        }
        // Only ASCII is left, so bytes and characters count the same.
        if login.len() > LOGIN_MAX_LEN {
            return Err(LoginError::TooLong);
        }
        if !login.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(LoginError::MustStartWithLetter);
        }
        Ok(Self(login))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Login {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Login {
    type Error = LoginError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl FromStr for Login {
    type Err = LoginError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Transliterates to ASCII and keeps only `a-z0-9`: spaces, hyphens and
/// apostrophes inside names would otherwise give logins people mistype.
fn fold(name: &str) -> String {
    deunicode::deunicode_with_tofu_cow(name, "")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// All of `s` is ASCII here, but counting characters keeps this safe anyway.
fn truncated(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// The login a person would get if nobody had it yet: `given.family`, folded
/// to lower-case ASCII (`Élodie` + `Le Bœuf` → `elodie.leboeuf`).
///
/// At most 50 characters, and always a valid [`Login`].
pub fn base_login(given_name: &str, family_name: &str) -> String {
    let mut given = fold(given_name);
    let mut family = fold(family_name);
    if given.is_empty() && family.is_empty() {
        return FALLBACK_BASE.to_owned();
    }
    // Whichever side comes first must start with a letter.
    let first = if given.is_empty() { &mut family } else { &mut given };
    if first.starts_with(|c: char| c.is_ascii_digit()) {
        first.insert(0, LETTER_PREFIX);
    }
    if given.is_empty() || family.is_empty() {
        return truncated(&(given + &family), BASE_MAX_LEN);
    }
    // Share the room left by the dot, letting a short side give its unused
    // share to the other, so neither name is cut more than necessary.
    let room = BASE_MAX_LEN - 1;
    let given_share = room / 2;
    let (given_len, family_len) = if given.len() + family.len() <= room {
        (given.len(), family.len())
    } else if given.len() <= given_share {
        (given.len(), room - given.len())
    } else if family.len() <= room - given_share {
        (room - family.len(), family.len())
    } else {
        (given_share, room - given_share)
    };
    format!("{}.{}", truncated(&given, given_len), truncated(&family, family_len))
}

/// Turns arbitrary text into something usable as a base: callers are meant
/// to pass `base_login`'s output, but this must not fail on anything else.
fn sanitised_base(base: &str) -> String {
    let mut kept: String = base.trim().chars().map(|c| c.to_ascii_lowercase()).filter(|&c| is_login_char(c)).collect();
    if kept.is_empty() {
        return FALLBACK_BASE.to_owned();
    }
    if !kept.starts_with(|c: char| c.is_ascii_lowercase()) {
        kept.insert(0, LETTER_PREFIX);
    }
    truncated(&kept, BASE_MAX_LEN)
}

/// The first free login among `base`, `base2`, `base3`…
///
/// `is_taken` is only a first filter: between this check and the insertion
/// another activation may take the same login, so the store must still
/// enforce uniqueness and the caller retry on conflict.
///
/// Never returns while `is_taken` answers `true` for every candidate.
pub fn unique_login(base: &str, is_taken: impl Fn(&str) -> bool) -> Login {
    LoginAllocator::default().allocate(base, is_taken)
}

/// Hands out unique logins to many people in a row: it remembers, per base, the next
/// suffix worth trying, so a thousand namesakes cost a thousand probes, not half a million.
/// Valid while what `is_taken` reports only grows, as during one import.
#[derive(Debug, Default)]
pub struct LoginAllocator {
    next_suffix: foldhash::HashMap<String, u64>,
}

impl LoginAllocator {
    pub fn allocate(&mut self, base: &str, is_taken: impl Fn(&str) -> bool) -> Login {
        let base = sanitised_base(base);
        let mut n = self.next_suffix.get(&base).copied().unwrap_or(1);
        let login = loop {
            let candidate = if n == 1 {
                base.clone()
            } else {
                // With a base of at most 50 characters this only cuts once the
                // suffix passes 14 digits, i.e. never in practice; it is there so
                // that the result stays a valid login whatever happens.
                let suffix = n.to_string();
                format!("{}{suffix}", truncated(&base, LOGIN_MAX_LEN.saturating_sub(suffix.len())))
            };
            if !is_taken(&candidate) {
                break Login(candidate);
            }
            // The first number appended is 2: `elodie.leboeuf`, then `elodie.leboeuf2`.
            n = if n == 1 { 2 } else { n.saturating_add(1) };
        };
        self.next_suffix.insert(base, n.saturating_add(1).max(2));
        login
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::assert_translated;
    use std::cell::Cell;
    use std::collections::HashSet;

    fn login(s: &str) -> Result<String, LoginError> {
        Login::parse(s).map(|l| l.0)
    }

    // ---- Login::parse ----

    #[test]
    fn simple_login_is_accepted() {
        assert_eq!(login("jdupont"), Ok("jdupont".into()));
    }

    #[test]
    fn login_with_digits_dots_hyphens_and_underscores_is_accepted() {
        for input in ["jean.dupont", "jean-dupont", "jean_dupont", "jdupont2", "a", "a.", "a-_.9", "x1.2-3_4"] {
            assert_eq!(login(input), Ok(input.to_owned()), "{input:?}");
        }
    }

    #[test]
    fn upper_case_login_is_lower_cased() {
        assert_eq!(login("JDupont"), Ok("jdupont".into()));
        assert_eq!(login("JEAN.DUPONT"), Ok("jean.dupont".into()));
    }

    #[test]
    fn login_is_trimmed() {
        assert_eq!(login("  jdupont\t\n"), Ok("jdupont".into()));
    }

    #[test]
    fn login_of_sixty_four_characters_is_accepted() {
        let input = "a".repeat(64);
        assert_eq!(login(&input), Ok(input));
    }

    #[test]
    fn login_longer_than_sixty_four_characters_is_too_long() {
        assert_eq!(login(&"a".repeat(65)), Err(LoginError::TooLong));
        assert_eq!(login(&"a".repeat(1000)), Err(LoginError::TooLong));
    }

    #[test]
    fn empty_or_blank_login_is_empty() {
        for input in ["", "   ", "\t\n", "\u{a0}"] {
            assert_eq!(login(input), Err(LoginError::Empty), "{input:?}");
        }
    }

    #[test]
    fn login_with_other_characters_is_refused() {
        for input in [
            "jean dupont",
            "jean@dupont",
            "élodie",
            "ÉLODIE",
            "jean'dupont",
            "jean+dupont",
            "jean/dupont",
            "ｊｅａｎ",
            "jean\u{0}",
            "jean\u{200b}dupont",
            "😀",
            "ǅ",
            "\u{212A}", // Kelvin sign: lower-cases to ASCII k under full Unicode rules
        ] {
            assert_eq!(login(input), Err(LoginError::InvalidCharacters), "{input:?}");
        }
    }

    #[test]
    fn login_not_starting_with_a_letter_is_refused() {
        for input in ["1jdupont", ".jdupont", "-jdupont", "_jdupont", "2", "..."] {
            assert_eq!(login(input), Err(LoginError::MustStartWithLetter), "{input:?}");
        }
    }

    #[test]
    fn long_login_with_invalid_characters_reports_the_characters() {
        let input = format!("{} x", "a".repeat(70));
        assert_eq!(login(&input), Err(LoginError::InvalidCharacters));
    }

    #[test]
    fn login_conversions_agree_with_parse() {
        let l: Login = "JDupont".parse().unwrap();
        assert_eq!(l.as_str(), "jdupont");
        assert_eq!(l.as_ref(), "jdupont");
        assert_eq!(l.to_string(), "jdupont");
        assert_eq!(serde_json::to_string(&l).unwrap(), "\"jdupont\"");
        assert_eq!(serde_json::from_str::<Login>("\"JDupont\"").unwrap(), l);
        assert!(serde_json::from_str::<Login>("\"1abc\"").is_err());
    }

    // ---- base_login ----

    #[test]
    fn base_login_folds_accents_and_ligatures() {
        assert_eq!(base_login("Élodie", "Le Bœuf"), "elodie.leboeuf");
        assert_eq!(base_login("Zoë", "Çelik"), "zoe.celik");
        assert_eq!(base_login("Ægir", "Straße"), "aegir.strasse");
        assert_eq!(base_login("Øyvind", "Łukasz"), "oyvind.lukasz");
    }

    #[test]
    fn base_login_drops_spaces_hyphens_and_apostrophes() {
        assert_eq!(base_login("Jean-Pierre", "N'Diaye"), "jeanpierre.ndiaye");
        assert_eq!(base_login("Anne Marie", "D’Artagnan"), "annemarie.dartagnan");
        assert_eq!(base_login(" Jean ", "de la Fontaine"), "jean.delafontaine");
    }

    #[test]
    fn base_login_transliterates_other_scripts() {
        assert_eq!(base_login("Αλέξανδρος", "Παπαδόπουλος"), "alexandros.papadopoulos");
        assert_eq!(base_login("Дмитрий", "Шостакович"), "dmitrii.shostakovich");
        assert_eq!(base_login("明", "王"), "ming.wang");
    }

    #[test]
    fn base_login_uses_the_family_name_alone_when_the_given_name_folds_to_nothing() {
        assert_eq!(base_login("", "Dupont"), "dupont");
        assert_eq!(base_login("  ", "Dupont"), "dupont");
        assert_eq!(base_login("-'", "Dupont"), "dupont");
    }

    #[test]
    fn base_login_uses_the_given_name_alone_when_the_family_name_folds_to_nothing() {
        assert_eq!(base_login("Jean", ""), "jean");
        assert_eq!(base_login("Jean", "…"), "jean");
    }

    #[test]
    fn base_login_is_user_when_both_names_fold_to_nothing() {
        assert_eq!(base_login("", ""), "user");
        assert_eq!(base_login("'", "- -"), "user");
        assert_eq!(base_login("\u{0}", "\u{feff}"), "user");
    }

    #[test]
    fn base_login_starting_with_a_digit_is_prefixed_with_a_letter() {
        assert_eq!(base_login("", "3M"), "u3m");
        assert_eq!(base_login("4", "Dupont"), "u4.dupont");
        assert_eq!(base_login("Jean", "4"), "jean.4");
    }

    #[test]
    fn base_login_keeps_digits() {
        assert_eq!(base_login("Louis 14", "Bourbon"), "louis14.bourbon");
    }

    #[test]
    fn base_login_truncates_a_long_family_name_first_when_the_given_name_is_short() {
        let family = "x".repeat(80);
        let base = base_login("Jean", &family);
        assert_eq!(base, format!("jean.{}", "x".repeat(45)));
        assert_eq!(base.len(), 50);
    }

    #[test]
    fn base_login_truncates_a_long_given_name_first_when_the_family_name_is_short() {
        let base = base_login(&"y".repeat(80), "Dupont");
        assert_eq!(base, format!("{}.dupont", "y".repeat(43)));
        assert_eq!(base.len(), 50);
    }

    #[test]
    fn base_login_shares_the_room_when_both_names_are_long() {
        let base = base_login(&"g".repeat(80), &"f".repeat(80));
        assert_eq!(base, format!("{}.{}", "g".repeat(24), "f".repeat(25)));
    }

    #[test]
    fn base_login_keeps_names_that_fit_exactly() {
        let given = "g".repeat(20);
        let family = "f".repeat(29);
        assert_eq!(base_login(&given, &family), format!("{given}.{family}"));
    }

    #[test]
    fn base_login_truncates_a_single_long_name_to_fifty() {
        assert_eq!(base_login("", &"f".repeat(80)), "f".repeat(50));
        assert_eq!(base_login("", &"9".repeat(80)), format!("u{}", "9".repeat(49)));
    }

    #[test]
    fn base_login_always_parses_as_a_login() {
        let names = [
            "",
            " ",
            "Élodie",
            "Le Bœuf",
            "Jean-Pierre",
            "N'Diaye",
            "D’Artagnan",
            "Zoë",
            "Çelik",
            "Αλέξανδρος",
            "Ωμέγα",
            "Дмитрий",
            "Щукина-Ёлкина",
            "王小明",
            "北京",
            "山田 太郎",
            "김민준",
            "محمد",
            "דוד",
            "नमस्ते",
            "ภาษาไทย",
            "😀",
            "😀🎉👍🏽",
            "👨‍👩‍👧",
            "🇫🇷",
            "123",
            "0",
            "9Lives",
            "-",
            "'",
            "…",
            "\u{0}",
            "\u{202e}evil",
            "\u{200b}",
            "\u{fffd}",
            "\u{10ffff}",
            "ǅ",
            "ß",
            "İstanbul",
            "Ⅻ",
            "①②",
            "ẍ̧̣",
        ];
        let long = "Wolfeschlegelsteinhausenbergerdorff".repeat(5);
        let names: Vec<&str> = names.iter().copied().chain([long.as_str()]).collect();
        for given in &names {
            for family in &names {
                let base = base_login(given, family);
                assert!(base.len() <= BASE_MAX_LEN, "{given:?} {family:?} -> {base:?}");
                assert_eq!(login(&base), Ok(base.clone()), "{given:?} {family:?}");
                assert!(base.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.'));
            }
        }
    }

    #[test]
    fn base_login_of_every_single_character_parses_as_a_login() {
        // Every Unicode scalar value as given name and as family name.
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32).step_by(7) {
            let s = c.to_string();
            for base in [base_login(&s, "x"), base_login("", &s), base_login(&s, &s)] {
                assert!(Login::parse(&base).is_ok(), "{c:?} -> {base:?}");
                assert!(base.len() <= BASE_MAX_LEN);
            }
        }
    }

    // ---- unique_login ----

    #[test]
    fn unique_login_returns_the_base_when_it_is_free() {
        assert_eq!(unique_login("elodie.leboeuf", |_| false).as_str(), "elodie.leboeuf");
    }

    #[test]
    fn unique_login_appends_two_first() {
        let taken = |s: &str| s == "elodie.leboeuf";
        assert_eq!(unique_login("elodie.leboeuf", taken).as_str(), "elodie.leboeuf2");
    }

    #[test]
    fn unique_login_counts_up_until_free() {
        let taken: HashSet<String> = ["jdupont", "jdupont2", "jdupont3", "jdupont5"].map(String::from).into();
        assert_eq!(unique_login("jdupont", |s| taken.contains(s)).as_str(), "jdupont4");
    }

    #[test]
    fn unique_login_gives_distinct_logins_to_namesakes() {
        let mut taken = HashSet::new();
        for _ in 0..200 {
            let l = unique_login("jean.martin", |s| taken.contains(s));
            assert!(taken.insert(l.as_str().to_owned()), "{l} given twice");
        }
        assert!(taken.contains("jean.martin"));
        assert!(taken.contains("jean.martin200"));
        assert!(!taken.contains("jean.martin1"));
    }

    #[test]
    fn unique_login_suffix_fits_after_a_fifty_character_base() {
        let base = base_login(&"g".repeat(80), &"f".repeat(80));
        let l = unique_login(&base, |s| s == base);
        assert_eq!(l.as_str().len(), base.len() + 1);
        assert_eq!(Login::parse(l.as_str()), Ok(l.clone()));
        assert!(l.as_str().starts_with(&base));
    }

    #[test]
    fn the_allocator_numbers_namesakes_in_order_without_rescanning() {
        let taken = std::cell::RefCell::new(HashSet::new());
        let probes = Cell::new(0);
        let mut allocator = LoginAllocator::default();
        for i in 1..=1000 {
            let l = allocator.allocate("marie.martin", |c| {
                probes.set(probes.get() + 1);
                taken.borrow().contains(c)
            });
            let expected = if i == 1 { "marie.martin".to_string() } else { format!("marie.martin{i}") };
            assert_eq!(l.as_str(), expected);
            taken.borrow_mut().insert(l.as_str().to_string());
        }
        assert_eq!(probes.get(), 1000, "one probe per login");
    }

    #[test]
    fn unique_login_sanitises_a_base_that_is_not_a_login() {
        assert_eq!(unique_login("", |_| false).as_str(), "user");
        assert_eq!(unique_login("  ", |_| false).as_str(), "user");
        assert_eq!(unique_login("Jean Dupont", |_| false).as_str(), "jeandupont");
        assert_eq!(unique_login("élodie", |_| false).as_str(), "lodie");
        assert_eq!(unique_login("42", |_| false).as_str(), "u42");
        assert_eq!(unique_login(".x", |_| false).as_str(), "u.x");
        assert_eq!(unique_login(&"a".repeat(200), |_| false).as_str(), "a".repeat(50));
        assert_eq!(unique_login("😀", |s| s == "user").as_str(), "user2");
    }

    #[test]
    fn unique_login_always_returns_a_valid_login() {
        for base in ["", "a", "A.B", "1", "-", "é", &"z".repeat(64), "x y", "\u{0}"] {
            for taken_first in [0usize, 1, 5] {
                // The first `taken_first` candidates offered are taken.
                let offered = Cell::new(0usize);
                let l = unique_login(base, |_| {
                    offered.set(offered.get() + 1);
                    offered.get() <= taken_first
                });
                assert_eq!(Login::parse(l.as_str()), Ok(l.clone()), "{base:?}");
            }
        }
    }

    // ---- errors ----

    #[test]
    fn login_errors_have_distinct_translated_codes() {
        let all =
            [LoginError::Empty, LoginError::TooLong, LoginError::InvalidCharacters, LoginError::MustStartWithLetter];
        let mut codes: Vec<&str> = all.iter().map(|e| e.code()).collect();
        for code in &codes {
            assert!(code.starts_with("login."));
            assert_translated(code);
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }

    #[test]
    fn login_errors_have_short_english_messages() {
        assert_eq!(LoginError::Empty.to_string(), "login is empty");
        assert_eq!(LoginError::TooLong.to_string(), "login is longer than 64 characters");
        assert_eq!(LoginError::MustStartWithLetter.to_string(), "login must start with a letter");
        assert!(LoginError::InvalidCharacters.to_string().starts_with("login may only contain"));
    }
}
