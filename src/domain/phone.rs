//! Mobile numbers for SMS alerts: what people type, checked and kept in E.164.

use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber, Type};
use unicode_normalization::UnicodeNormalization;

/// Longer than any number written with generous spacing; refusing early keeps odd input away
/// from the parser.
const MAX_INPUT_CHARS: usize = 40;

/// E.164 allows at most 15 digits; two more leave room for a « 00 » prefix and a trunk « 0 ».
const MAX_DIGITS: usize = 17;

/// Overseas departments share the French national numbering plan: a student from La Réunion
/// writes « 0692 12 34 56 », which is a +262 number, not a +33 one.
const FRENCH_OVERSEAS: [Id; 5] = [Id::RE, Id::YT, Id::GP, Id::MQ, Id::GF];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("the phone number is empty")]
    Empty,
    #[error("the phone number is not valid")]
    Invalid,
    #[error("the phone number is not a mobile number")]
    NotMobile,
}

impl PhoneError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "phone.empty",
            Self::Invalid => "phone.invalid",
            Self::NotMobile => "phone.not_mobile",
        }
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// A number that can receive SMS, in E.164 (« +33612345678 »).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MobileNumber(String);

impl MobileNumber {
    /// Accepts numbers as people write them: French ones in national form with any usual
    /// separators (« 06 12 34 56 78 », « 06.12.34.56.78 », « 06-12-34-56-78 »), with « +33 »,
    /// « 0033 » or « +33 (0)6 … », and foreign ones with their « + » or « 00 » prefix.
    /// Letters are refused rather than ignored, so that « 06 12 34 56 78 poste 12 » is not
    /// silently cut to a different number.
    ///
    /// Numbers the numbering plan marks as something other than mobile (landlines, VoIP
    /// « 09 », toll-free…) are `NotMobile`; where the plan cannot tell fixed from mobile (the
    /// United States, Canada…) the number is accepted.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        if input.trim().is_empty() {
            return Err(PhoneError::Empty);
        }
        if input.trim().chars().count() > MAX_INPUT_CHARS {
            return Err(PhoneError::Invalid);
        }
        // Full-width digits from Asian keyboards become ASCII digits.
        let input: String = input.nfkc().collect();
        let trimmed = input.trim();
        let (international, canonical) = canonical_form(trimmed).ok_or(PhoneError::Invalid)?;
        let number = if international {
            parse_in(None, &canonical)
        } else {
            parse_in(Some(Id::FR), &canonical).map(|french| {
                if french.is_valid() {
                    return french;
                }
                // Only the country code may change: the digits people dialled stay the same.
                FRENCH_OVERSEAS
                    .into_iter()
                    .filter_map(|region| parse_in(Some(region), &canonical))
                    .find(|overseas| overseas.is_valid() && overseas.national() == french.national())
                    .unwrap_or(french)
            })
        };
        let number = number.filter(PhoneNumber::is_valid).ok_or(PhoneError::Invalid)?;
        if number.extension().is_some() {
            return Err(PhoneError::Invalid);
        }
        match number.number_type(&DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile => {}
            Type::Unknown => return Err(PhoneError::Invalid),
            _ => return Err(PhoneError::NotMobile),
        }
        let e164 = number.format().mode(Mode::E164).to_string();
        if !is_e164(&e164) {
            return Err(PhoneError::Invalid);
        }
        Ok(Self(e164))
    }

    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// For pages and mail that remind people which number is on file without showing it:
    /// the country code, the first digit of the national number (6 or 7 for a French mobile,
    /// so it tells nothing), then only the last two digits, the others as bullets in pairs
    /// from the right: « +33 6 •• •• •• 78 », « +44 7 • •• •• •• 56 ».
    pub fn masked(&self) -> String {
        let digits = self.0.strip_prefix('+').unwrap_or(&self.0);
        if let Some(number) = parse_in(None, &self.0) {
            let code = number.code().value().to_string();
            if let Some(national) = digits.strip_prefix(code.as_str()) {
                let mut rest = national.chars();
                if let Some(first) = rest.next()
                    && rest.clone().count() >= 2
                {
                    return format!("+{code} {first} {}", bullets_then_last_two(rest.as_str()));
                }
            }
        }
        format!("+{}", bullets_then_last_two(digits))
    }
}

fn parse_in(region: Option<Id>, canonical: &str) -> Option<PhoneNumber> {
    phonenumber::parse(region, canonical).ok()
}

/// Reduces what was typed to « +digits » or « digits » and says which, or `None` when it is
/// not a phone number at all. Only the characters people put between digits are accepted.
fn canonical_form(trimmed: &str) -> Option<(bool, String)> {
    let (plus, rest) = match trimmed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    if !rest.chars().all(|c| c.is_ascii_digit() || c.is_whitespace() || matches!(c, '.' | '-' | '/' | '(' | ')')) {
        return None;
    }
    let mut digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    let international = plus || digits.starts_with("00");
    if !plus && international {
        digits.drain(..2);
    }
    if international {
        // « +33 (0)6 … »: the trunk zero people put in brackets is not dialled from abroad.
        let compact: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
        if let Some(position) = compact.find("(0)") {
            let zeros_before = usize::from(!plus) * 2;
            let digits_before =
                compact[..position].chars().filter(char::is_ascii_digit).count().saturating_sub(zeros_before);
            if digits_before > 0 && digits_before < digits.len() {
                digits.remove(digits_before);
            }
        }
    }
    if digits.is_empty() || digits.len() > MAX_DIGITS {
        return None;
    }
    Some((international, if international { format!("+{digits}") } else { digits }))
}

fn is_e164(value: &str) -> bool {
    value
        .strip_prefix('+')
        .is_some_and(|digits| (2..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()))
}

fn bullets_then_last_two(digits: &str) -> String {
    let count = digits.chars().count();
    let shown: Vec<char> = digits.chars().enumerate().map(|(i, c)| if i + 2 >= count { c } else { '•' }).collect();
    let mut out = String::new();
    for (i, c) in shown.iter().enumerate() {
        if i > 0 && (count - i).is_multiple_of(2) {
            out.push(' ');
        }
        out.push(*c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCALES: &str = include_str!("../../locales/password.yml");

    fn e164(input: &str) -> Result<String, PhoneError> {
        MobileNumber::parse(input).map(|number| number.as_e164().to_owned())
    }

    #[test]
    fn french_mobile_in_every_usual_form() {
        for input in [
            "06 12 34 56 78",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "06/12/34/56/78",
            "0612345678",
            " 06 12 34 56 78 ",
            "06\u{a0}12\u{a0}34\u{a0}56\u{a0}78",
            "06\u{202f}12\u{202f}34\u{202f}56\u{202f}78",
            "+33 6 12 34 56 78",
            "+33612345678",
            "+33 612 345 678",
            "0033612345678",
            "00 33 6 12 34 56 78",
            "+33 (0)6 12 34 56 78",
            "+33(0)612345678",
            "0033 (0)6 12 34 56 78",
            "(0)6 12 34 56 78",
            "０６１２３４５６７８",
        ] {
            assert_eq!(e164(input), Ok("+33612345678".to_owned()), "{input:?}");
        }
    }

    #[test]
    fn french_07_mobile_is_accepted() {
        assert_eq!(e164("07 81 23 45 67"), Ok("+33781234567".to_owned()));
    }

    #[test]
    fn french_overseas_mobiles_in_national_form_get_their_own_country_code() {
        assert_eq!(e164("0692 12 34 56"), Ok("+262692123456".to_owned()));
        assert_eq!(e164("0690 12 34 56"), Ok("+590690123456".to_owned()));
        assert_eq!(e164("0696 12 34 56"), Ok("+596696123456".to_owned()));
        assert_eq!(e164("0694 12 34 56"), Ok("+594694123456".to_owned()));
        assert_eq!(e164("0639 01 23 45"), Ok("+262639012345".to_owned()));
        assert_eq!(e164("+262 692 12 34 56"), Ok("+262692123456".to_owned()));
    }

    #[test]
    fn international_mobiles_are_accepted() {
        assert_eq!(e164("+44 7911 123456"), Ok("+447911123456".to_owned()));
        assert_eq!(e164("0044 7911 123456"), Ok("+447911123456".to_owned()));
        assert_eq!(e164("+49 151 23456789"), Ok("+4915123456789".to_owned()));
        assert_eq!(e164("+44 (0)7911 123456"), Ok("+447911123456".to_owned()));
    }

    #[test]
    fn numbers_that_may_be_fixed_or_mobile_are_accepted() {
        assert_eq!(e164("+1 415 555 2671"), Ok("+14155552671".to_owned()));
        assert_eq!(e164("+1 (415) 555-2671"), Ok("+14155552671".to_owned()));
    }

    #[test]
    fn french_landline_is_not_mobile() {
        for input in ["01 23 45 67 89", "03 27 51 12 34", "+33 3 27 51 12 34"] {
            assert_eq!(e164(input), Err(PhoneError::NotMobile), "{input}");
        }
    }

    #[test]
    fn other_french_non_mobile_numbers_are_not_mobile() {
        // VoIP (internet boxes), toll-free.
        for input in ["09 51 23 45 67", "08 00 12 34 56"] {
            assert_eq!(e164(input), Err(PhoneError::NotMobile), "{input}");
        }
    }

    #[test]
    fn foreign_landline_is_not_mobile() {
        assert_eq!(e164("+49 30 123456"), Err(PhoneError::NotMobile));
    }

    #[test]
    fn blank_is_empty() {
        assert_eq!(e164(""), Err(PhoneError::Empty));
        assert_eq!(e164("   \t"), Err(PhoneError::Empty));
    }

    #[test]
    fn text_is_invalid() {
        for input in ["abc", "+", "++33612345678", "-", "()", "Appelez-moi", "06 12 34 56 7O"] {
            assert_eq!(e164(input), Err(PhoneError::Invalid), "{input:?}");
        }
    }

    #[test]
    fn extensions_and_uris_are_invalid() {
        for input in [
            "+33 6 12 34 56 78 ext 12",
            "06 12 34 56 78 poste 12",
            "0612345678;ext=5",
            "tel:+33612345678",
            "06 12 34 56 78 #12",
        ] {
            assert_eq!(e164(input), Err(PhoneError::Invalid), "{input:?}");
        }
    }

    #[test]
    fn wrong_lengths_are_invalid() {
        for input in [
            "12",
            "0612",
            "06 12 34 56 7",
            "06 12 34 56 78 90",
            "+33 6 12 34 56 7",
            "+33 6 12 34 56 78 9",
            "1234567890123456789",
        ] {
            assert_eq!(e164(input), Err(PhoneError::Invalid), "{input:?}");
        }
    }

    #[test]
    fn unallocated_numbers_are_invalid() {
        for input in ["07 00 00 00 00", "+999 612345678", "+33 0 12 34 56 78"] {
            assert_eq!(e164(input), Err(PhoneError::Invalid), "{input:?}");
        }
    }

    #[test]
    fn overlong_input_is_invalid() {
        let padded = format!("06{}12345678", " ".repeat(60));
        assert_eq!(e164(&padded), Err(PhoneError::Invalid));
        assert_eq!(e164(&"6".repeat(1_000_000)), Err(PhoneError::Invalid));
    }

    #[test]
    fn e164_input_round_trips() {
        for stored in ["+33612345678", "+447911123456", "+14155552671", "+262692123456"] {
            assert_eq!(e164(stored), Ok(stored.to_owned()));
        }
    }

    #[test]
    fn masked_french_mobile_shows_only_the_last_two_digits() {
        let number = MobileNumber::parse("06 12 34 56 78").expect("valid");
        assert_eq!(number.masked(), "+33 6 •• •• •• 78");
    }

    #[test]
    fn masked_foreign_numbers_follow_the_same_pattern() {
        let uk = MobileNumber::parse("+44 7911 123456").expect("valid");
        assert_eq!(uk.masked(), "+44 7 • •• •• •• 56");
        let us = MobileNumber::parse("+1 415 555 2671").expect("valid");
        assert_eq!(us.masked(), "+1 4 • •• •• •• 71");
        let reunion = MobileNumber::parse("0692 12 34 56").expect("valid");
        assert_eq!(reunion.masked(), "+262 6 •• •• •• 56");
    }

    #[test]
    fn masking_falls_back_to_bullets_for_unparsable_content() {
        // Not reachable through `parse`, but `masked` must not panic whatever it holds.
        assert_eq!(MobileNumber("+0012345".to_owned()).masked(), "+• •• •• 45");
        assert_eq!(MobileNumber("+1".to_owned()).masked(), "+1");
        assert_eq!(MobileNumber(String::new()).masked(), "+");
    }

    #[test]
    fn bullets_group_in_pairs_from_the_right() {
        assert_eq!(bullets_then_last_two("12345678"), "•• •• •• 78");
        assert_eq!(bullets_then_last_two("123456789"), "• •• •• •• 89");
        assert_eq!(bullets_then_last_two("12"), "12");
        assert_eq!(bullets_then_last_two(""), "");
    }

    #[test]
    fn random_input_never_panics() {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet: Vec<char> = "0123456789+()-./ #*x;:\u{a0}e".chars().collect();
        for _ in 0..2_000 {
            let length = (next() % 24) as usize;
            let input: String = (0..length)
                .map(|_| {
                    if next() % 16 == 0 {
                        char::from_u32((next() % 0x11_0000) as u32).unwrap_or('x')
                    } else {
                        alphabet[(next() % alphabet.len() as u64) as usize]
                    }
                })
                .collect();
            if let Ok(number) = MobileNumber::parse(&input) {
                assert!(is_e164(number.as_e164()), "{input:?}");
                let _ = number.masked();
            }
        }
    }

    #[test]
    fn errors_have_stable_codes_and_translations() {
        for (error, code) in [
            (PhoneError::Empty, "phone.empty"),
            (PhoneError::Invalid, "phone.invalid"),
            (PhoneError::NotMobile, "phone.not_mobile"),
        ] {
            assert_eq!(error.code(), code);
            assert!(error.params().is_empty());
            let header = format!("{code}:");
            let entry: Vec<&str> = LOCALES
                .lines()
                .skip_while(|line| *line != header)
                .skip(1)
                .take_while(|line| line.starts_with("  "))
                .collect();
            assert!(entry.iter().any(|line| line.trim_start().starts_with("fr: ")), "{code}");
            assert!(entry.iter().any(|line| line.trim_start().starts_with("en: ")), "{code}");
            assert!(entry.iter().all(|line| !line.contains('\'')), "{code}");
        }
    }
}
