//! Birth dates as typed on the activation form or found in HR / student-records exports.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month};

/// Why a birth date was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BirthDateError {
    #[error("birth date is empty")]
    Empty,
    #[error("birth date is not in DD/MM/YYYY or YYYY-MM-DD format")]
    Format,
    #[error("birth date does not exist")]
    InvalidDate,
    #[error("birth date is before 1900")]
    TooOld,
    #[error("birth date is in the future")]
    InFuture,
}

impl BirthDateError {
    /// Stable translation key, see `locales/domain.yml`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "birth_date.empty",
            Self::Format => "birth_date.format",
            Self::InvalidDate => "birth_date.invalid",
            Self::TooOld => "birth_date.too_old",
            Self::InFuture => "birth_date.future",
        }
    }
}

/// Anything earlier is a data-entry error (a two-digit year, a placeholder
/// such as 01/01/0001), not a living person.
const MIN_YEAR: i32 = 1900;

/// A calendar date of birth, without time zone: it is compared as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BirthDate(Date);

impl BirthDate {
    /// Accepts `DD/MM/YYYY` (one-digit day or month allowed, `/`, `.` or `-`
    /// as separator, the same one twice) and ISO `YYYY-MM-DD`.
    ///
    /// `today` is passed in rather than read from the clock so that this type
    /// stays pure and the "in the future" rule can be tested.
    pub fn parse(input: &str, today: Date) -> Result<Self, BirthDateError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(BirthDateError::Empty);
        }
        let (year, month, day) = split_fields(input).ok_or(BirthDateError::Format)?;
        let month = Month::try_from(month).map_err(|_| BirthDateError::InvalidDate)?;
        let date = Date::from_calendar_date(year, month, day).map_err(|_| BirthDateError::InvalidDate)?;
        if year < MIN_YEAR {
            return Err(BirthDateError::TooOld);
        }
        if date > today {
            return Err(BirthDateError::InFuture);
        }
        Ok(Self(date))
    }

    /// For dates already validated before they were stored: no rule is
    /// re-applied, so that a record never becomes unreadable as time passes.
    pub fn from_date(date: Date) -> Self {
        Self(date)
    }

    pub fn date(&self) -> Date {
        self.0
    }

    /// `jj/mm/aaaa`, the form French users read and type.
    pub fn to_french(&self) -> String {
        format!("{:02}/{:02}/{:04}", self.0.day(), u8::from(self.0.month()), self.0.year())
    }

    /// `YYYY-MM-DD`, for storage and exchange.
    pub fn to_iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.0.year(), u8::from(self.0.month()), self.0.day())
    }
}

/// Returns (year, month, day) if `input` has one of the accepted shapes,
/// without judging whether the numbers make a real date.
fn split_fields(input: &str) -> Option<(i32, u8, u8)> {
    split_iso(input).or_else(|| split_french(input))
}

/// `YYYY-MM-DD`, strictly two-digit month and day as every ISO producer emits.
fn split_iso(input: &str) -> Option<(i32, u8, u8)> {
    let [year, month, day] = three_parts(input, '-')?;
    if digits(year, &[4]) && digits(month, &[2]) && digits(day, &[2]) {
        return Some((number(year)?, number(month)?, number(day)?));
    }
    None
}

/// `D/M/YYYY` with one or two digits for day and month, and the same
/// separator twice: a mix such as `07/03-1985` is more likely a typo than a date.
fn split_french(input: &str) -> Option<(i32, u8, u8)> {
    let separator = input.chars().find(|c| !c.is_ascii_digit())?;
    if !matches!(separator, '/' | '.' | '-') {
        return None;
    }
    let [day, month, year] = three_parts(input, separator)?;
    if digits(day, &[1, 2]) && digits(month, &[1, 2]) && digits(year, &[4]) {
        return Some((number(year)?, number(month)?, number(day)?));
    }
    None
}

fn three_parts(input: &str, separator: char) -> Option<[&str; 3]> {
    let mut parts = input.split(separator);
    let three = [parts.next()?, parts.next()?, parts.next()?];
    match parts.next() {
        Some(_) => None,
        None => Some(three),
    }
}

/// `str::len` counts bytes, which equals characters only once every
/// character is known to be an ASCII digit, hence the order of the checks.
fn digits(part: &str, lengths: &[usize]) -> bool {
    part.bytes().all(|b| b.is_ascii_digit()) && lengths.contains(&part.len())
}

/// Only ever called on 1–4 ASCII digits; `str::parse` alone would also accept a sign.
fn number<T: std::str::FromStr>(digits: &str) -> Option<T> {
    digits.parse().ok()
}

impl fmt::Display for BirthDate {
    /// French, as this is what end users see.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_french())
    }
}

impl Serialize for BirthDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_iso())
    }
}

impl<'de> Deserialize<'de> for BirthDate {
    /// Only ISO, and like `from_date` without the age rules: a serialised
    /// value was validated when it was first entered.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let invalid = || serde::de::Error::custom("expected a date as YYYY-MM-DD");
        let (year, month, day) = split_iso(&text).ok_or_else(invalid)?;
        let month = Month::try_from(month).map_err(|_| invalid())?;
        Date::from_calendar_date(year, month, day).map(Self).map_err(|_| invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::assert_translated;
    use time::macros::date;

    const TODAY: Date = date!(2025 - 06 - 15);

    fn parse(input: &str) -> Result<Date, BirthDateError> {
        BirthDate::parse(input, TODAY).map(|b| b.date())
    }

    #[test]
    fn french_date_with_slashes_is_accepted() {
        assert_eq!(parse("07/03/1985"), Ok(date!(1985 - 03 - 07)));
    }

    #[test]
    fn french_date_with_dots_or_hyphens_is_accepted() {
        assert_eq!(parse("07.03.1985"), Ok(date!(1985 - 03 - 07)));
        assert_eq!(parse("07-03-1985"), Ok(date!(1985 - 03 - 07)));
    }

    #[test]
    fn french_date_with_one_digit_day_or_month_is_accepted() {
        assert_eq!(parse("7/3/1985"), Ok(date!(1985 - 03 - 07)));
        assert_eq!(parse("7/03/1985"), Ok(date!(1985 - 03 - 07)));
        assert_eq!(parse("07/3/1985"), Ok(date!(1985 - 03 - 07)));
        assert_eq!(parse("1.2.2000"), Ok(date!(2000 - 02 - 01)));
        assert_eq!(parse("1-2-2000"), Ok(date!(2000 - 02 - 01)));
    }

    #[test]
    fn iso_date_is_accepted() {
        assert_eq!(parse("1985-03-07"), Ok(date!(1985 - 03 - 07)));
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        assert_eq!(parse("  07/03/1985\t\n"), Ok(date!(1985 - 03 - 07)));
        assert_eq!(parse("\u{a0}1985-03-07 "), Ok(date!(1985 - 03 - 07)));
    }

    #[test]
    fn empty_or_blank_input_is_empty() {
        for input in ["", " ", "\t\r\n", "\u{a0}"] {
            assert_eq!(parse(input), Err(BirthDateError::Empty), "{input:?}");
        }
    }

    #[test]
    fn other_shapes_are_format_errors() {
        for input in [
            "07031985",    // no separator
            "07/03/85",    // two-digit year
            "07/03/01985", // five-digit year
            "007/03/1985", // three-digit day
            "07/003/1985", // three-digit month
            "07/03-1985",  // mixed separators
            "07.03/1985",
            "07 03 1985",       // space as separator
            "07 / 03 / 1985",   // spaces around separators
            "07/03/1985 12:00", // trailing time
            "1985-03-07T00:00", // ISO date-time
            "1985-3-7",         // ISO needs two-digit month and day
            "1985-003-07",
            "1985/03/07", // year first with slashes
            "1985.03.07",
            "07/03",         // missing year
            "07/03/1985/12", // extra part
            "//",
            "/03/1985",   // empty day
            "07//1985",   // empty month
            "07/03/",     // empty year
            "+7/03/1985", // sign
            "-7/03/1985",
            "07/+3/1985",
            "07/03/+985",
            "a7/03/1985",
            "07/O3/1985",         // letter O
            "٠٧/٠٣/١٩٨٥",         // Arabic-Indic digits
            "０７/０３/１９８５", // full-width digits
            "7 mars 1985",
            "March 7, 1985",
            "😀",
            "é/é/éééé",
            "-",
            "1985",
        ] {
            assert_eq!(parse(input), Err(BirthDateError::Format), "{input:?}");
        }
    }

    #[test]
    fn nonexistent_days_are_invalid_dates() {
        for input in [
            "31/02/2000",
            "30/02/2000",
            "29/02/2001",
            "29/02/1900", // not a leap year: divisible by 100
            "31/04/1990",
            "32/01/1990",
            "00/01/1990",
            "0/1/1990",
            "99/99/1990",
            "2001-02-29",
            "2000-01-00",
            "2000-01-32",
        ] {
            assert_eq!(parse(input), Err(BirthDateError::InvalidDate), "{input:?}");
        }
    }

    #[test]
    fn nonexistent_months_are_invalid_dates() {
        for input in ["01/13/1990", "01/00/1990", "1/0/1990", "1990-13-01", "1990-00-01"] {
            assert_eq!(parse(input), Err(BirthDateError::InvalidDate), "{input:?}");
        }
    }

    #[test]
    fn leap_days_are_accepted() {
        assert_eq!(parse("29/02/2000"), Ok(date!(2000 - 02 - 29)));
        assert_eq!(parse("29/02/2004"), Ok(date!(2004 - 02 - 29)));
        assert_eq!(parse("2024-02-29"), Ok(date!(2024 - 02 - 29)));
    }

    #[test]
    fn dates_before_1900_are_too_old() {
        for input in ["31/12/1899", "01/01/0001", "01/01/0000", "1899-12-31", "15/06/1066"] {
            assert_eq!(parse(input), Err(BirthDateError::TooOld), "{input:?}");
        }
    }

    #[test]
    fn first_of_january_1900_is_accepted() {
        assert_eq!(parse("01/01/1900"), Ok(date!(1900 - 01 - 01)));
    }

    #[test]
    fn dates_after_today_are_in_the_future() {
        for input in ["16/06/2025", "2025-06-16", "01/01/2026", "31/12/9999"] {
            assert_eq!(parse(input), Err(BirthDateError::InFuture), "{input:?}");
        }
    }

    #[test]
    fn today_is_accepted() {
        assert_eq!(parse("15/06/2025"), Ok(TODAY));
    }

    #[test]
    fn nonexistent_date_is_reported_before_its_age() {
        assert_eq!(parse("31/02/1850"), Err(BirthDateError::InvalidDate));
        assert_eq!(parse("31/02/3000"), Err(BirthDateError::InvalidDate));
    }

    #[test]
    fn french_and_iso_output_are_zero_padded() {
        let d = BirthDate::from_date(date!(1985 - 03 - 07));
        assert_eq!(d.to_french(), "07/03/1985");
        assert_eq!(d.to_iso(), "1985-03-07");
        assert_eq!(d.to_string(), "07/03/1985");
    }

    #[test]
    fn from_date_keeps_the_date_without_checking_rules() {
        let old = date!(1850 - 01 - 01);
        assert_eq!(BirthDate::from_date(old).date(), old);
        let future = date!(2999 - 01 - 01);
        assert_eq!(BirthDate::from_date(future).date(), future);
    }

    #[test]
    fn every_day_from_1900_to_today_round_trips_through_every_accepted_form() {
        let mut day = date!(1900 - 01 - 01);
        let mut count = 0;
        while day <= TODAY {
            let b = BirthDate::from_date(day);
            let (d, m, y) = (day.day(), u8::from(day.month()), day.year());
            for text in [
                b.to_french(),
                b.to_iso(),
                format!("{d}/{m}/{y}"),
                format!("{d}.{m}.{y}"),
                format!("{d}-{m}-{y}"),
                format!("{d:02}.{m:02}.{y}"),
                format!(" {d:02}-{m:02}-{y} "),
            ] {
                assert_eq!(BirthDate::parse(&text, TODAY), Ok(b), "{text:?}");
            }
            count += 1;
            day = match day.next_day() {
                Some(next) => next,
                None => break,
            };
        }
        assert!(count > 45_000);
    }

    #[test]
    fn every_day_month_pair_is_judged_like_the_calendar() {
        for year in [1900, 1999, 2000, 2001, 2004, 2024] {
            for month in 0u8..=20 {
                for day in 0u8..=40 {
                    let expected =
                        Month::try_from(month).ok().and_then(|m| Date::from_calendar_date(year, m, day).ok());
                    let got = parse(&format!("{day}/{month}/{year}"));
                    match expected {
                        Some(d) => assert_eq!(got, Ok(d)),
                        None => assert_eq!(got, Err(BirthDateError::InvalidDate), "{day}/{month}/{year}"),
                    }
                }
            }
        }
    }

    #[test]
    fn arbitrary_short_inputs_never_panic() {
        let alphabet = ['0', '1', '9', '/', '.', '-', ' ', 'é', '+', '٣'];
        let mut input = String::new();
        // Every string of up to 5 characters from the alphabet: 111 111 inputs.
        fn walk(input: &mut String, alphabet: &[char], depth: usize) {
            let _ = BirthDate::parse(input, TODAY);
            if depth == 0 {
                return;
            }
            for &c in alphabet {
                input.push(c);
                walk(input, alphabet, depth - 1);
                input.pop();
            }
        }
        walk(&mut input, &alphabet, 5);
    }

    #[test]
    fn birth_date_serialises_as_iso_and_deserialises_from_iso_only() {
        let b = BirthDate::from_date(date!(1985 - 03 - 07));
        assert_eq!(serde_json::to_string(&b).unwrap(), "\"1985-03-07\"");
        assert_eq!(serde_json::from_str::<BirthDate>("\"1985-03-07\"").unwrap(), b);
        for bad in ["\"07/03/1985\"", "\"1985-02-30\"", "\"1985-3-7\"", "\"\"", "19850307"] {
            assert!(serde_json::from_str::<BirthDate>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn birth_date_errors_have_distinct_translated_codes() {
        let all = [
            BirthDateError::Empty,
            BirthDateError::Format,
            BirthDateError::InvalidDate,
            BirthDateError::TooOld,
            BirthDateError::InFuture,
        ];
        let mut codes: Vec<&str> = all.iter().map(|e| e.code()).collect();
        for code in &codes {
            assert!(code.starts_with("birth_date."));
            assert_translated(code);
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert_eq!(BirthDateError::InFuture.code(), "birth_date.future");
    }

    #[test]
    fn birth_date_errors_have_short_english_messages() {
        assert_eq!(BirthDateError::InFuture.to_string(), "birth date is in the future");
        assert_eq!(BirthDateError::TooOld.to_string(), "birth date is before 1900");
        assert_eq!(BirthDateError::InvalidDate.to_string(), "birth date does not exist");
        assert_eq!(BirthDateError::Empty.to_string(), "birth date is empty");
        assert!(BirthDateError::Format.to_string().contains("DD/MM/YYYY"));
    }
}
