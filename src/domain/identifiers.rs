//! Institutional identifiers (staff number, student number, INE, UID) and the method a person uses to say who they are.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why an identifier typed by a user or read from an export was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("identifier is empty")]
    Empty,
    #[error("identifier is too long")]
    TooLong,
    #[error("identifier contains invalid characters")]
    InvalidCharacters,
    #[error("INE must be 10 digits and a letter, or 9 digits and two letters")]
    InvalidIne,
}

impl IdentifierError {
    /// Stable translation key, see `locales/domain.yml`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "identifier.empty",
            Self::TooLong => "identifier.too_long",
            Self::InvalidCharacters => "identifier.invalid_characters",
            Self::InvalidIne => "identifier.invalid_ine",
        }
    }
}

const NUMBER_MAX_LEN: usize = 20;
const UID_MAX_LEN: usize = 64;
const INE_LEN: usize = 11;

/// Shared first step: people paste identifiers with stray spaces around them,
/// but a space inside one is always a typo or two values glued together.
fn trimmed(input: &str) -> Result<&str, IdentifierError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(IdentifierError::Empty);
    }
    if trimmed.chars().any(char::is_whitespace) {
        return Err(IdentifierError::InvalidCharacters);
    }
    Ok(trimmed)
}

/// Staff and student numbers share one rule: the information systems print
/// them in capitals, so users typing lower-case must still match.
fn parse_number(input: &str) -> Result<String, IdentifierError> {
    let trimmed = trimmed(input)?;
    if !trimmed.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(IdentifierError::InvalidCharacters);
    }
    // Only ASCII is left, so bytes and characters count the same.
    if trimmed.len() > NUMBER_MAX_LEN {
        return Err(IdentifierError::TooLong);
    }
    Ok(trimmed.to_ascii_uppercase())
}

/// Staff number from the HR system (1 to 20 letters or digits, stored in capitals).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct StaffNumber(String);

impl StaffNumber {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        parse_number(input).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Student number from the student-records system (1 to 20 letters or digits, stored in capitals).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct StudentNumber(String);

impl StudentNumber {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        parse_number(input).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Identifiant national étudiant: 10 digits and a letter, or 9 digits and two
/// letters (the older BEA form), stored in capitals.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct Ine(String);

impl Ine {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let trimmed = trimmed(input)?;
        let chars: Vec<char> = trimmed.chars().collect();
        if chars.len() != INE_LEN {
            return Err(IdentifierError::InvalidIne);
        }
        // Positions 0–8 are always digits, position 10 always a letter;
        // position 9 decides between the two forms.
        let well_formed = chars.iter().enumerate().all(|(i, c)| match i {
            0..=8 => c.is_ascii_digit(),
            9 => c.is_ascii_digit() || c.is_ascii_alphabetic(),
            _ => c.is_ascii_alphabetic(),
        });
        if !well_formed {
            return Err(IdentifierError::InvalidIne);
        }
        Ok(Self(trimmed.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Key of the person in the information system (LDAP `uid`, SIHAM/Apogée id…).
/// Case is kept as given because other systems compare it byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct Uid(String);

impl Uid {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let trimmed = trimmed(input)?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
        if !trimmed.chars().all(allowed) {
            return Err(IdentifierError::InvalidCharacters);
        }
        if trimmed.len() > UID_MAX_LEN {
            return Err(IdentifierError::TooLong);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_conversions {
    ($($ty:ident),*) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $ty {
            type Error = IdentifierError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl FromStr for $ty {
            type Err = IdentifierError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    )*};
}

string_conversions!(StaffNumber, StudentNumber, Ine, Uid);

/// Which identifier a person is asked for on the activation form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentificationMethod {
    StudentNumber,
    Ine,
    StaffNumber,
    Uid,
}

impl IdentificationMethod {
    /// The order in which the choices are shown to users: students are the
    /// bulk of activations, so their identifiers come first.
    pub const ALL: [Self; 4] = [Self::StudentNumber, Self::Ine, Self::StaffNumber, Self::Uid];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::StudentNumber => "student_number",
            Self::Ine => "ine",
            Self::StaffNumber => "staff_number",
            Self::Uid => "uid",
        }
    }
}

impl fmt::Display for IdentificationMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A form or configuration named an identification method that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown identification method")]
pub struct InvalidIdentificationMethod;

impl InvalidIdentificationMethod {
    /// Stable translation key, see `locales/domain.yml`.
    pub fn code(&self) -> &'static str {
        "identification_method.invalid"
    }
}

impl FromStr for IdentificationMethod {
    type Err = InvalidIdentificationMethod;

    /// Lenient about case and surrounding spaces because the value may come
    /// from a hand-edited configuration file as well as from the form.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Self::ALL.into_iter().find(|m| m.as_str().eq_ignore_ascii_case(s)).ok_or(InvalidIdentificationMethod)
    }
}

/// An identifier together with the kind it was parsed as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identifier {
    StaffNumber(StaffNumber),
    StudentNumber(StudentNumber),
    Ine(Ine),
    Uid(Uid),
}

impl Identifier {
    pub fn parse(method: IdentificationMethod, input: &str) -> Result<Self, IdentifierError> {
        Ok(match method {
            IdentificationMethod::StaffNumber => Self::StaffNumber(StaffNumber::parse(input)?),
            IdentificationMethod::StudentNumber => Self::StudentNumber(StudentNumber::parse(input)?),
            IdentificationMethod::Ine => Self::Ine(Ine::parse(input)?),
            IdentificationMethod::Uid => Self::Uid(Uid::parse(input)?),
        })
    }

    pub fn method(&self) -> IdentificationMethod {
        match self {
            Self::StaffNumber(_) => IdentificationMethod::StaffNumber,
            Self::StudentNumber(_) => IdentificationMethod::StudentNumber,
            Self::Ine(_) => IdentificationMethod::Ine,
            Self::Uid(_) => IdentificationMethod::Uid,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::StaffNumber(v) => v.as_str(),
            Self::StudentNumber(v) => v.as_str(),
            Self::Ine(v) => v.as_str(),
            Self::Uid(v) => v.as_str(),
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::assert_translated;

    type NumberParser = fn(&str) -> Result<String, IdentifierError>;

    const NUMBER_PARSERS: [(&str, NumberParser); 2] = [
        ("staff", |s| StaffNumber::parse(s).map(|v| v.as_str().to_owned())),
        ("student", |s| StudentNumber::parse(s).map(|v| v.as_str().to_owned())),
    ];

    // ---- staff and student numbers ----

    #[test]
    fn numbers_of_digits_only_are_accepted() {
        for (kind, parse) in NUMBER_PARSERS {
            assert_eq!(parse("12345").as_deref(), Ok("12345"), "{kind}");
        }
    }

    #[test]
    fn numbers_of_letters_and_digits_are_accepted_in_upper_case() {
        for (kind, parse) in NUMBER_PARSERS {
            assert_eq!(parse("ab12cd").as_deref(), Ok("AB12CD"), "{kind}");
            assert_eq!(parse("AB12cd").as_deref(), Ok("AB12CD"), "{kind}");
            assert_eq!(parse("Z").as_deref(), Ok("Z"), "{kind}");
        }
    }

    #[test]
    fn numbers_of_one_and_twenty_characters_are_accepted() {
        for (kind, parse) in NUMBER_PARSERS {
            assert_eq!(parse("7").as_deref(), Ok("7"), "{kind}");
            let twenty = "a1".repeat(10);
            assert_eq!(parse(&twenty), Ok(twenty.to_ascii_uppercase()), "{kind}");
        }
    }

    #[test]
    fn numbers_longer_than_twenty_characters_are_too_long() {
        for (kind, parse) in NUMBER_PARSERS {
            assert_eq!(parse(&"1".repeat(21)), Err(IdentifierError::TooLong), "{kind}");
            assert_eq!(parse(&"A".repeat(500)), Err(IdentifierError::TooLong), "{kind}");
        }
    }

    #[test]
    fn numbers_are_trimmed() {
        for (kind, parse) in NUMBER_PARSERS {
            assert_eq!(parse("  123\t").as_deref(), Ok("123"), "{kind}");
            assert_eq!(parse("\n\u{a0}a1\u{3000}").as_deref(), Ok("A1"), "{kind}");
        }
    }

    #[test]
    fn empty_or_blank_numbers_are_empty() {
        for (kind, parse) in NUMBER_PARSERS {
            for input in ["", " ", "\t\n", "\u{a0}\u{2003}"] {
                assert_eq!(parse(input), Err(IdentifierError::Empty), "{kind} {input:?}");
            }
        }
    }

    #[test]
    fn numbers_with_inner_whitespace_have_invalid_characters() {
        for (kind, parse) in NUMBER_PARSERS {
            for input in ["12 34", "12\t34", "12\u{a0}34", " 1 2 "] {
                assert_eq!(parse(input), Err(IdentifierError::InvalidCharacters), "{kind} {input:?}");
            }
        }
    }

    #[test]
    fn numbers_with_punctuation_or_non_ascii_have_invalid_characters() {
        for (kind, parse) in NUMBER_PARSERS {
            for input in ["12-34", "12.34", "12_34", "é123", "１２３", "١٢٣", "12\u{0}3", "😀", "+12"] {
                assert_eq!(parse(input), Err(IdentifierError::InvalidCharacters), "{kind} {input:?}");
            }
        }
    }

    #[test]
    fn long_numbers_with_invalid_characters_report_the_characters() {
        for (kind, parse) in NUMBER_PARSERS {
            let input = format!("{}-", "1".repeat(30));
            assert_eq!(parse(&input), Err(IdentifierError::InvalidCharacters), "{kind}");
        }
    }

    // ---- INE ----

    #[test]
    fn ine_with_one_letter_is_accepted() {
        assert_eq!(Ine::parse("1234567890A").map(|i| i.0), Ok("1234567890A".into()));
    }

    #[test]
    fn ine_with_two_letters_is_accepted() {
        assert_eq!(Ine::parse("123456789AB").map(|i| i.0), Ok("123456789AB".into()));
    }

    #[test]
    fn ine_in_lower_case_is_stored_in_upper_case() {
        assert_eq!(Ine::parse("1234567890a").map(|i| i.0), Ok("1234567890A".into()));
        assert_eq!(Ine::parse("123456789aB").map(|i| i.0), Ok("123456789AB".into()));
    }

    #[test]
    fn ine_is_trimmed() {
        assert_eq!(Ine::parse("  1234567890A \n").map(|i| i.0), Ok("1234567890A".into()));
    }

    #[test]
    fn empty_ine_is_empty() {
        assert_eq!(Ine::parse("   "), Err(IdentifierError::Empty));
    }

    #[test]
    fn ine_with_inner_whitespace_has_invalid_characters() {
        assert_eq!(Ine::parse("12345 67890A"), Err(IdentifierError::InvalidCharacters));
    }

    #[test]
    fn ine_of_the_wrong_length_is_invalid() {
        for input in ["1234567890", "123456789A", "12345678901A", "1234567890AB", "1", "A"] {
            assert_eq!(Ine::parse(input), Err(IdentifierError::InvalidIne), "{input:?}");
        }
    }

    #[test]
    fn ine_with_letters_in_the_wrong_place_is_invalid() {
        for input in [
            "12345678901", // no letter
            "A234567890B", // letter at the start
            "12345678ABC", // three letters
            "1234A678901",
            "123456789A1", // digit after the letters
            "ABCDEFGHIJK",
        ] {
            assert_eq!(Ine::parse(input), Err(IdentifierError::InvalidIne), "{input:?}");
        }
    }

    #[test]
    fn ine_with_non_ascii_or_punctuation_is_invalid() {
        for input in ["1234567890É", "123456789-A", "１２３４５６７８９０A", "1234567890😀", "123456789.."]
        {
            assert_eq!(Ine::parse(input), Err(IdentifierError::InvalidIne), "{input:?}");
        }
    }

    #[test]
    fn every_ine_shape_is_classified_correctly() {
        // Each of the 11 positions is a digit (d) or a letter (l): try all 2^11 shapes.
        for mask in 0u32..(1 << INE_LEN) {
            let input: String = (0..INE_LEN).map(|i| if mask & (1 << i) != 0 { 'x' } else { '5' }).collect();
            let letters_at_end = |n: usize| mask == ((1u32 << n) - 1) << (INE_LEN - n);
            let expected_ok = letters_at_end(1) || letters_at_end(2);
            assert_eq!(Ine::parse(&input).is_ok(), expected_ok, "{input}");
        }
    }

    // ---- UID ----

    #[test]
    fn uid_keeps_its_case() {
        assert_eq!(Uid::parse("JDupont").map(|u| u.0), Ok("JDupont".into()));
    }

    #[test]
    fn uid_with_dots_hyphens_and_underscores_is_accepted() {
        for input in ["jean.dupont", "jean-dupont", "jean_dupont", "a", "1", ".", "-_.", "p12345"] {
            assert_eq!(Uid::parse(input).map(|u| u.0), Ok(input.to_owned()), "{input:?}");
        }
    }

    #[test]
    fn uid_of_sixty_four_characters_is_accepted() {
        let input = "u".repeat(64);
        assert_eq!(Uid::parse(&input).map(|u| u.0), Ok(input));
    }

    #[test]
    fn uid_longer_than_sixty_four_characters_is_too_long() {
        assert_eq!(Uid::parse(&"u".repeat(65)), Err(IdentifierError::TooLong));
    }

    #[test]
    fn uid_is_trimmed() {
        assert_eq!(Uid::parse("\t jdupont  ").map(|u| u.0), Ok("jdupont".into()));
    }

    #[test]
    fn empty_uid_is_empty() {
        assert_eq!(Uid::parse(""), Err(IdentifierError::Empty));
        assert_eq!(Uid::parse(" \r\n"), Err(IdentifierError::Empty));
    }

    #[test]
    fn uid_with_inner_whitespace_has_invalid_characters() {
        assert_eq!(Uid::parse("jean dupont"), Err(IdentifierError::InvalidCharacters));
    }

    #[test]
    fn uid_with_other_characters_has_invalid_characters() {
        for input in ["jean@dupont", "jean/dupont", "élodie", "a,b", "a;b", "a\u{0}b", "a\u{202e}b", "💥", "ａｂ"]
        {
            assert_eq!(Uid::parse(input), Err(IdentifierError::InvalidCharacters), "{input:?}");
        }
    }

    #[test]
    fn uid_of_multibyte_characters_is_refused_without_panicking() {
        // 64 characters but far more bytes: must be refused for the characters, not sliced.
        let input = "é".repeat(64);
        assert_eq!(Uid::parse(&input), Err(IdentifierError::InvalidCharacters));
    }

    // ---- identification method ----

    #[test]
    fn identification_methods_are_listed_in_display_order() {
        assert_eq!(
            IdentificationMethod::ALL,
            [
                IdentificationMethod::StudentNumber,
                IdentificationMethod::Ine,
                IdentificationMethod::StaffNumber,
                IdentificationMethod::Uid
            ]
        );
    }

    #[test]
    fn identification_method_names_are_snake_case() {
        let names: Vec<&str> = IdentificationMethod::ALL.iter().map(|m| m.as_str()).collect();
        assert_eq!(names, ["student_number", "ine", "staff_number", "uid"]);
        for m in IdentificationMethod::ALL {
            assert_eq!(m.to_string(), m.as_str());
        }
    }

    #[test]
    fn identification_method_round_trips_through_from_str() {
        for m in IdentificationMethod::ALL {
            assert_eq!(m.as_str().parse::<IdentificationMethod>(), Ok(m));
        }
    }

    #[test]
    fn identification_method_from_str_ignores_case_and_surrounding_spaces() {
        assert_eq!(" INE ".parse(), Ok(IdentificationMethod::Ine));
        assert_eq!("Student_Number".parse(), Ok(IdentificationMethod::StudentNumber));
    }

    #[test]
    fn unknown_identification_method_is_refused() {
        for input in ["", "student", "student-number", "studentnumber", "email", "ine2", "uïd"] {
            assert_eq!(input.parse::<IdentificationMethod>(), Err(InvalidIdentificationMethod), "{input:?}");
        }
    }

    #[test]
    fn identification_method_serialises_as_its_name() {
        for m in IdentificationMethod::ALL {
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
            assert_eq!(serde_json::from_str::<IdentificationMethod>(&json).unwrap(), m);
        }
        assert!(serde_json::from_str::<IdentificationMethod>("\"StudentNumber\"").is_err());
    }

    // ---- identifier ----

    #[test]
    fn identifier_parses_with_the_rule_of_its_method() {
        let cases = [
            (IdentificationMethod::StudentNumber, " e12ab ", "E12AB"),
            (IdentificationMethod::Ine, "123456789ab", "123456789AB"),
            (IdentificationMethod::StaffNumber, "p42", "P42"),
            (IdentificationMethod::Uid, "J.Dupont", "J.Dupont"),
        ];
        for (method, input, expected) in cases {
            let id = Identifier::parse(method, input).unwrap();
            assert_eq!(id.method(), method);
            assert_eq!(id.as_str(), expected);
            assert_eq!(id.to_string(), expected);
        }
    }

    #[test]
    fn identifier_reports_the_error_of_its_method() {
        assert_eq!(Identifier::parse(IdentificationMethod::Ine, "12345"), Err(IdentifierError::InvalidIne));
        assert_eq!(
            Identifier::parse(IdentificationMethod::StudentNumber, "j.dupont"),
            Err(IdentifierError::InvalidCharacters)
        );
        assert!(Identifier::parse(IdentificationMethod::Uid, "j.dupont").is_ok());
        for m in IdentificationMethod::ALL {
            assert_eq!(Identifier::parse(m, " "), Err(IdentifierError::Empty));
        }
    }

    // ---- conversions ----

    #[test]
    fn identifiers_serialise_as_plain_strings_and_validate_when_deserialised() {
        let uid = Uid::parse("JDupont").unwrap();
        assert_eq!(serde_json::to_string(&uid).unwrap(), "\"JDupont\"");
        assert_eq!(serde_json::from_str::<StaffNumber>("\"ab1\"").unwrap().as_str(), "AB1");
        assert!(serde_json::from_str::<Ine>("\"123\"").is_err());
        assert!(serde_json::from_str::<Uid>("\"a b\"").is_err());
        assert!(serde_json::from_str::<StudentNumber>("\"\"").is_err());
    }

    #[test]
    fn identifiers_display_and_from_str_agree_with_parse() {
        let n: StudentNumber = "abc".parse().unwrap();
        assert_eq!(n.to_string(), "ABC");
        assert_eq!(n.as_ref(), "ABC");
        assert_eq!("".parse::<Uid>(), Err(IdentifierError::Empty));
    }

    // ---- errors ----

    #[test]
    fn identifier_errors_have_distinct_translated_codes() {
        let all = [
            IdentifierError::Empty,
            IdentifierError::TooLong,
            IdentifierError::InvalidCharacters,
            IdentifierError::InvalidIne,
        ];
        let mut codes: Vec<&str> = all.iter().map(|e| e.code()).collect();
        for code in &codes {
            assert!(code.starts_with("identifier."));
            assert_translated(code);
        }
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert_translated(InvalidIdentificationMethod.code());
    }

    #[test]
    fn identifier_errors_have_short_english_messages() {
        assert_eq!(IdentifierError::Empty.to_string(), "identifier is empty");
        assert_eq!(IdentifierError::TooLong.to_string(), "identifier is too long");
        assert_eq!(IdentifierError::InvalidCharacters.to_string(), "identifier contains invalid characters");
        assert!(IdentifierError::InvalidIne.to_string().starts_with("INE must be"));
        assert_eq!(InvalidIdentificationMethod.to_string(), "unknown identification method");
    }
}
