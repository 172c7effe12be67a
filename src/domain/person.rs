//! People as the HR and student-records exports describe them: category, names, and whole import records.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::birth_date::{BirthDate, BirthDateError};
use super::email::{Email, EmailError};
use super::identifiers::{IdentifierError, Ine, StaffNumber, StudentNumber, Uid};
use super::login::{Login, LoginError};

/// Which population a person belongs to; decides which identifiers they are
/// expected to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Staff,
    Student,
    External,
}

impl Category {
    pub const ALL: [Self; 3] = [Self::Staff, Self::Student, Self::External];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::Student => "student",
            Self::External => "external",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The category column held something other than staff, student or external.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown category (expected staff, student or external)")]
pub struct InvalidCategory;

impl InvalidCategory {
    /// Stable translation key, see `locales/domain.yml`.
    pub fn code(&self) -> &'static str {
        "category.invalid"
    }
}

impl FromStr for Category {
    type Err = InvalidCategory;

    /// Lenient about case and spaces: exports are produced by hand-written
    /// extraction scripts that disagree on both.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Self::ALL.into_iter().find(|c| c.as_str().eq_ignore_ascii_case(s)).ok_or(InvalidCategory)
    }
}

/// Whether a person may use the portal now; `DisabledBy` says who decided otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Disabled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [Self::Active, Self::Disabled].into_iter().find(|status| status.as_str() == s)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a given or family name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PersonNameError {
    #[error("name is empty")]
    Empty,
    #[error("name is longer than 100 characters")]
    TooLong,
    #[error("name contains invalid characters")]
    InvalidCharacters,
}

impl PersonNameError {
    /// Stable translation key, see `locales/domain.yml`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "person_name.empty",
            Self::TooLong => "person_name.too_long",
            Self::InvalidCharacters => "person_name.invalid_characters",
        }
    }
}

const NAME_MAX_CHARS: usize = 100;

/// Characters that are invisible or reorder text: in a name they only ever
/// come from a broken export or an attempt to make two names look alike.
/// Zero-width (non-)joiners are kept, as Persian and Indic spellings need them.
fn is_refused_in_name(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'                 // soft hyphen
            | '\u{061C}'               // Arabic letter mark
            | '\u{200B}'               // zero-width space
            | '\u{200E}' | '\u{200F}'  // left-to-right / right-to-left marks
            | '\u{202A}'..='\u{202E}'  // bidirectional embeddings and overrides
            | '\u{2060}'               // word joiner
            | '\u{2066}'..='\u{2069}'  // bidirectional isolates
            | '\u{FEFF}'               // byte-order mark
            | '\u{FFF9}'..='\u{FFFB}'  // interlinear annotations
            | '\u{FFFC}'               // object replacement
            | '\u{FFFD}'               // replacement character: the export was mis-decoded
        )
}

/// A given or family name, in any script, with whitespace normalised so that
/// the same name typed twice compares equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct PersonName(String);

impl PersonName {
    /// Trims, collapses runs of whitespace (including tabs and line breaks) to
    /// one space, and requires 1 to 100 characters with at least one letter:
    /// a name made only of punctuation or digits is a placeholder such as
    /// `-` or `.` left by the source system, not a name.
    pub fn parse(input: &str) -> Result<Self, PersonNameError> {
        let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err(PersonNameError::Empty);
        }
        if name.chars().any(is_refused_in_name) || !name.chars().any(char::is_alphabetic) {
            return Err(PersonNameError::InvalidCharacters);
        }
        if name.chars().count() > NAME_MAX_CHARS {
            return Err(PersonNameError::TooLong);
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PersonName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PersonName {
    type Error = PersonNameError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl FromStr for PersonName {
    type Err = PersonNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A person as the HR or student-records export describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    pub uid: Uid,
    pub category: Category,
    pub given_name: PersonName,
    pub family_name: PersonName,
    pub birth_date: BirthDate,
    pub staff_number: Option<StaffNumber>,
    pub student_number: Option<StudentNumber>,
    pub ine: Option<Ine>,
    pub email: Option<Email>,
    pub login: Option<Login>,
    /// A personal address (supannMailPerso), used only to send a recovery code.
    pub personal_email: Option<Email>,
}

/// The raw columns of one import line. `None`, empty and whitespace-only
/// all mean the column is absent: CSV exports do not distinguish them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordFields<'a> {
    pub uid: Option<&'a str>,
    pub category: Option<&'a str>,
    pub given_name: Option<&'a str>,
    pub family_name: Option<&'a str>,
    pub birth_date: Option<&'a str>,
    pub staff_number: Option<&'a str>,
    pub student_number: Option<&'a str>,
    pub ine: Option<&'a str>,
    pub email: Option<&'a str>,
    pub login: Option<&'a str>,
    pub personal_email: Option<&'a str>,
}

impl RecordFields<'_> {
    /// Column names, in the order in which errors are looked for.
    pub const COLUMNS: [&'static str; 11] = [
        "uid",
        "category",
        "given_name",
        "family_name",
        "birth_date",
        "staff_number",
        "student_number",
        "ine",
        "email",
        "login",
        "personal_email",
    ];
}

/// Translation key of [`RecordError`] for a required column left empty.
pub const MISSING_CODE: &str = "record.missing";

/// The first problem found in an import line: which column, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{column}: {reason}")]
pub struct RecordError {
    /// One of [`RecordFields::COLUMNS`].
    pub column: &'static str,
    /// Translation key of the reason, for messages shown in French.
    pub code: &'static str,
    /// Short English reason, `missing` for a required column left empty.
    pub reason: String,
}

impl RecordError {
    /// Stable translation key of the reason, see `locales/domain.yml`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    fn missing(column: &'static str) -> Self {
        Self { column, code: MISSING_CODE, reason: "missing".to_owned() }
    }
}

/// The errors of the field types, seen uniformly so each column is one line below.
trait FieldError: fmt::Display {
    fn code(&self) -> &'static str;
}

macro_rules! field_error {
    ($($ty:ty),*) => {$(
        impl FieldError for $ty {
            fn code(&self) -> &'static str {
                <$ty>::code(self)
            }
        }
    )*};
}

field_error!(IdentifierError, InvalidCategory, PersonNameError, BirthDateError, EmailError, LoginError);

fn present(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

fn optional<T, E: FieldError>(
    column: &'static str,
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, RecordError> {
    present(value).map(parse).transpose().map_err(|e| RecordError { column, code: e.code(), reason: e.to_string() })
}

fn required<T, E: FieldError>(
    column: &'static str,
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, RecordError> {
    optional(column, value, parse)?.ok_or_else(|| RecordError::missing(column))
}

/// Validates one import line. Columns are checked in [`RecordFields::COLUMNS`]
/// order and the first problem is returned, so that fixing the export and
/// re-running converges one message at a time.
///
/// No rule ties identifiers to the category: a student may also hold a staff
/// number, and which identifiers are needed is the portal's configuration.
pub fn parse_record(fields: &RecordFields<'_>, today: time::Date) -> Result<NewPerson, RecordError> {
    Ok(NewPerson {
        uid: required("uid", fields.uid, Uid::parse)?,
        category: required("category", fields.category, Category::from_str)?,
        given_name: required("given_name", fields.given_name, PersonName::parse)?,
        family_name: required("family_name", fields.family_name, PersonName::parse)?,
        birth_date: required("birth_date", fields.birth_date, |s| BirthDate::parse(s, today))?,
        staff_number: optional("staff_number", fields.staff_number, StaffNumber::parse)?,
        student_number: optional("student_number", fields.student_number, StudentNumber::parse)?,
        ine: optional("ine", fields.ine, Ine::parse)?,
        email: optional("email", fields.email, Email::parse)?,
        login: optional("login", fields.login, Login::parse)?,
        personal_email: optional("personal_email", fields.personal_email, Email::parse)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::identifiers::InvalidIdentificationMethod;
    use super::*;
    use std::collections::BTreeSet;
    use time::macros::date;

    const TODAY: time::Date = date!(2025 - 06 - 15);
    const LOCALES: &str = include_str!("../../locales/domain.yml");

    fn name(s: &str) -> Result<String, PersonNameError> {
        PersonName::parse(s).map(|n| n.0)
    }

    // ---- status ----

    #[test]
    fn a_status_reads_back_as_the_word_stored_and_nothing_else() {
        for status in [Status::Active, Status::Disabled] {
            assert_eq!(Status::from_db(status.as_str()), Some(status));
        }
        assert_eq!((Status::Active.as_str(), Status::Disabled.as_str()), ("active", "disabled"));
        assert_eq!(Status::from_db("Active"), None);
    }

    // ---- category ----

    #[test]
    fn category_names_are_lower_case_words() {
        let names: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names, ["staff", "student", "external"]);
        for c in Category::ALL {
            assert_eq!(c.to_string(), c.as_str());
        }
    }

    #[test]
    fn category_round_trips_through_from_str() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse(), Ok(c));
        }
    }

    #[test]
    fn category_from_str_ignores_case_and_surrounding_spaces() {
        assert_eq!(" Staff ".parse(), Ok(Category::Staff));
        assert_eq!("STUDENT".parse(), Ok(Category::Student));
        assert_eq!("\texTernal\n".parse(), Ok(Category::External));
    }

    #[test]
    fn unknown_category_is_invalid() {
        for input in ["", " ", "students", "personnel", "étudiant", "stu dent", "staff,student", "ſtaff"] {
            assert_eq!(input.parse::<Category>(), Err(InvalidCategory), "{input:?}");
        }
    }

    #[test]
    fn category_serialises_as_its_name() {
        for c in Category::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<Category>(&json).unwrap(), c);
        }
        assert!(serde_json::from_str::<Category>("\"Staff\"").is_err());
    }

    // ---- person name ----

    #[test]
    fn names_in_any_script_are_accepted() {
        for input in [
            "Élodie",
            "Le Bœuf",
            "Jean-Pierre",
            "N'Diaye",
            "D’Artagnan",
            "Zoë",
            "Çelik",
            "Αλέξανδρος",
            "Дмитрий",
            "王小明",
            "山田",
            "김민준",
            "محمد",
            "דוד",
            "नमस्ते",
            "ภาษาไทย",
            "میر\u{200C}حسین", // zero-width non-joiner, needed in Persian
            "X",
            "Louis XIV",
            "Jr.",
            "Ó Briain",
            "e\u{0301}lodie", // decomposed accent
        ] {
            assert_eq!(name(input), Ok(input.to_owned()), "{input:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_inner_whitespace_collapsed() {
        assert_eq!(name("  Jean   Pierre  "), Ok("Jean Pierre".into()));
        assert_eq!(name("Jean\tPierre"), Ok("Jean Pierre".into()));
        assert_eq!(name("Jean \r\n Pierre"), Ok("Jean Pierre".into()));
        assert_eq!(name("Jean\u{a0}\u{3000}Pierre"), Ok("Jean Pierre".into()));
        assert_eq!(name("Jean\u{85}\u{2028}Pierre"), Ok("Jean Pierre".into())); // control, but whitespace
        assert_eq!(name("de  la   Fontaine"), Ok("de la Fontaine".into()));
    }

    #[test]
    fn empty_or_blank_name_is_empty() {
        for input in ["", " ", "\t\r\n", "\u{a0}\u{2003}"] {
            assert_eq!(name(input), Err(PersonNameError::Empty), "{input:?}");
        }
    }

    #[test]
    fn names_of_one_hundred_characters_are_accepted() {
        let ascii = "a".repeat(100);
        assert_eq!(name(&ascii), Ok(ascii.clone()));
        // 100 characters but 200 bytes: the limit is on characters.
        let accented = "é".repeat(100);
        assert_eq!(name(&accented), Ok(accented.clone()));
        let chinese = "王".repeat(100);
        assert_eq!(name(&chinese), Ok(chinese.clone()));
    }

    #[test]
    fn names_longer_than_one_hundred_characters_are_too_long() {
        assert_eq!(name(&"a".repeat(101)), Err(PersonNameError::TooLong));
        assert_eq!(name(&"é".repeat(101)), Err(PersonNameError::TooLong));
        assert_eq!(name(&"ab ".repeat(50)), Err(PersonNameError::TooLong)); // 149 after trimming
    }

    #[test]
    fn length_is_measured_after_collapsing_whitespace() {
        let input = format!("{}     {}", "a".repeat(49), "b".repeat(50));
        assert_eq!(name(&input).map(|n| n.chars().count()), Ok(100));
    }

    #[test]
    fn names_with_control_characters_are_refused() {
        for input in ["Jean\u{0}", "Je\u{7}an", "\u{1b}[31mJean", "Jean\u{7f}", "Jean\u{9f}", "Jean\u{9b}"] {
            assert_eq!(name(input), Err(PersonNameError::InvalidCharacters), "{input:?}");
        }
    }

    #[test]
    fn names_with_invisible_or_reordering_characters_are_refused() {
        for c in [
            '\u{ad}', '\u{61c}', '\u{200b}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202e}', '\u{2060}', '\u{2066}',
            '\u{2069}', '\u{feff}', '\u{fff9}', '\u{fffc}', '\u{fffd}',
        ] {
            let input = format!("Jean{c}Dupont");
            assert_eq!(name(&input), Err(PersonNameError::InvalidCharacters), "{c:?}");
        }
    }

    #[test]
    fn names_without_any_letter_are_refused() {
        for input in ["-", ".", "'", "123", "?", "😀", "- -", "/"] {
            assert_eq!(name(input), Err(PersonNameError::InvalidCharacters), "{input:?}");
        }
    }

    #[test]
    fn long_names_with_invalid_characters_report_the_characters() {
        let input = format!("{}\u{0}", "a".repeat(200));
        assert_eq!(name(&input), Err(PersonNameError::InvalidCharacters));
    }

    #[test]
    fn person_name_conversions_agree_with_parse() {
        let n: PersonName = " Le   Bœuf ".parse().unwrap();
        assert_eq!(n.as_str(), "Le Bœuf");
        assert_eq!(n.as_ref(), "Le Bœuf");
        assert_eq!(n.to_string(), "Le Bœuf");
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"Le Bœuf\"");
        assert_eq!(serde_json::from_str::<PersonName>("\"Le  Bœuf\"").unwrap(), n);
        assert!(serde_json::from_str::<PersonName>("\"\"").is_err());
    }

    #[test]
    fn every_single_character_name_is_judged_without_panicking() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let result = PersonName::parse(&c.to_string());
            if c.is_alphabetic() && !is_refused_in_name(c) {
                assert!(result.is_ok(), "{c:?}");
            } else {
                assert!(result.is_err(), "{c:?}");
            }
        }
    }

    // ---- records ----

    fn full() -> RecordFields<'static> {
        RecordFields {
            uid: Some("jdupont"),
            category: Some("student"),
            given_name: Some("Élodie"),
            family_name: Some("Le Bœuf"),
            birth_date: Some("07/03/1985"),
            staff_number: Some("p123"),
            student_number: Some("e456"),
            ine: Some("1234567890a"),
            email: Some("Elodie@Example.FR"),
            login: Some("ELeboeuf"),
            personal_email: Some("elodie.perso@Example.ORG"),
        }
    }

    fn minimal() -> RecordFields<'static> {
        RecordFields {
            uid: Some("jdupont"),
            category: Some("staff"),
            given_name: Some("Jean"),
            family_name: Some("Dupont"),
            birth_date: Some("1970-01-01"),
            ..RecordFields::default()
        }
    }

    fn err(fields: RecordFields<'_>) -> (&'static str, &'static str, String) {
        let e = parse_record(&fields, TODAY).unwrap_err();
        (e.column, e.code(), e.reason)
    }

    #[test]
    fn complete_record_is_parsed_and_normalised() {
        let p = parse_record(&full(), TODAY).unwrap();
        assert_eq!(p.uid.as_str(), "jdupont");
        assert_eq!(p.category, Category::Student);
        assert_eq!(p.given_name.as_str(), "Élodie");
        assert_eq!(p.family_name.as_str(), "Le Bœuf");
        assert_eq!(p.birth_date.date(), date!(1985 - 03 - 07));
        assert_eq!(p.staff_number.unwrap().as_str(), "P123");
        assert_eq!(p.student_number.unwrap().as_str(), "E456");
        assert_eq!(p.ine.unwrap().as_str(), "1234567890A");
        assert_eq!(p.email.unwrap().as_str(), "Elodie@example.fr");
        assert_eq!(p.login.unwrap().as_str(), "eleboeuf");
        assert_eq!(p.personal_email.unwrap().as_str(), "elodie.perso@example.org");
    }

    #[test]
    fn record_with_only_required_columns_is_parsed() {
        let p = parse_record(&minimal(), TODAY).unwrap();
        assert_eq!(p.category, Category::Staff);
        assert_eq!(p.staff_number, None);
        assert_eq!(p.student_number, None);
        assert_eq!(p.ine, None);
        assert_eq!(p.email, None);
        assert_eq!(p.login, None);
    }

    #[test]
    fn empty_or_blank_optional_columns_are_absent() {
        for blank in [None, Some(""), Some("   "), Some("\t")] {
            let fields = RecordFields {
                staff_number: blank,
                student_number: blank,
                ine: blank,
                email: blank,
                login: blank,
                personal_email: blank,
                ..full()
            };
            let p = parse_record(&fields, TODAY).unwrap();
            assert_eq!((p.staff_number, p.student_number, p.ine, p.email, p.login), (None, None, None, None, None));
            assert_eq!(p.personal_email, None);
        }
    }

    #[test]
    fn absent_required_columns_are_missing() {
        type Blank = fn(&mut RecordFields<'static>, Option<&'static str>);
        let required: [(&str, Blank); 5] = [
            ("uid", |f, v| f.uid = v),
            ("category", |f, v| f.category = v),
            ("given_name", |f, v| f.given_name = v),
            ("family_name", |f, v| f.family_name = v),
            ("birth_date", |f, v| f.birth_date = v),
        ];
        for (column, clear) in required {
            for blank in [None, Some(""), Some("  \t ")] {
                let mut fields = full();
                clear(&mut fields, blank);
                assert_eq!(err(fields), (column, "record.missing", "missing".to_owned()), "{column} {blank:?}");
            }
        }
    }

    #[test]
    fn invalid_columns_are_reported_with_their_reason() {
        const TOO_LONG_NAME: &str =
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
        type Set = fn(&mut RecordFields<'static>);
        let cases: [(&str, &str, Set); 11] = [
            ("uid", "identifier.invalid_characters", |f| f.uid = Some("j dupont")),
            ("category", "category.invalid", |f| f.category = Some("teacher")),
            ("given_name", "person_name.invalid_characters", |f| f.given_name = Some("-")),
            ("family_name", "person_name.too_long", |f| f.family_name = Some(TOO_LONG_NAME)),
            ("birth_date", "birth_date.future", |f| f.birth_date = Some("01/01/2030")),
            ("staff_number", "identifier.too_long", |f| f.staff_number = Some("123456789012345678901")),
            ("student_number", "identifier.invalid_characters", |f| f.student_number = Some("E-456")),
            ("ine", "identifier.invalid_ine", |f| f.ine = Some("123")),
            ("email", "email.invalid", |f| f.email = Some("elodie@")),
            ("login", "login.must_start_with_letter", |f| f.login = Some("1elodie")),
            ("personal_email", "email.invalid", |f| f.personal_email = Some("elodie.perso@")),
        ];
        for (column, code, set) in cases {
            let mut fields = full();
            set(&mut fields);
            let (got_column, got_code, _) = err(fields);
            assert_eq!((got_column, got_code), (column, code));
        }
    }

    #[test]
    fn record_error_displays_column_and_reason() {
        let fields = RecordFields { birth_date: Some("01/01/2030"), ..full() };
        let e = parse_record(&fields, TODAY).unwrap_err();
        assert_eq!(e.to_string(), "birth_date: birth date is in the future");
        let fields = RecordFields { uid: None, ..full() };
        assert_eq!(parse_record(&fields, TODAY).unwrap_err().to_string(), "uid: missing");
    }

    #[test]
    fn first_error_in_column_order_is_reported() {
        // Break every column; fixing them one at a time from the first must
        // reveal the errors in COLUMNS order.
        let broken = RecordFields {
            uid: Some("a b"),
            category: Some("x"),
            given_name: None,
            family_name: Some("\u{0}"),
            birth_date: Some("31/02/2000"),
            staff_number: Some("?"),
            student_number: Some("?"),
            ine: Some("?"),
            email: Some("?"),
            login: Some("?"),
            personal_email: Some("?"),
        };
        let good = full();
        let mut fields = broken;
        let mut seen = Vec::new();
        for column in RecordFields::COLUMNS {
            let e = parse_record(&fields, TODAY).unwrap_err();
            seen.push(e.column);
            match column {
                "uid" => fields.uid = good.uid,
                "category" => fields.category = good.category,
                "given_name" => fields.given_name = good.given_name,
                "family_name" => fields.family_name = good.family_name,
                "birth_date" => fields.birth_date = good.birth_date,
                "staff_number" => fields.staff_number = good.staff_number,
                "student_number" => fields.student_number = good.student_number,
                "ine" => fields.ine = good.ine,
                "email" => fields.email = good.email,
                "login" => fields.login = good.login,
                "personal_email" => fields.personal_email = good.personal_email,
                other => panic!("unexpected column {other}"),
            }
        }
        assert_eq!(seen, RecordFields::COLUMNS);
        assert!(parse_record(&fields, TODAY).is_ok());
    }

    #[test]
    fn empty_record_reports_the_missing_uid() {
        assert_eq!(err(RecordFields::default()), ("uid", "record.missing", "missing".to_owned()));
    }

    #[test]
    fn today_decides_what_is_in_the_future() {
        let fields = RecordFields { birth_date: Some("16/06/2025"), ..minimal() };
        assert_eq!(err(fields).1, "birth_date.future");
        assert!(parse_record(&fields, date!(2025 - 06 - 16)).is_ok());
    }

    #[test]
    fn identifiers_do_not_depend_on_the_category() {
        let staff_with_ine = RecordFields { category: Some("staff"), ..full() };
        assert!(parse_record(&staff_with_ine, TODAY).is_ok());
        let student_without_numbers = RecordFields { category: Some("student"), ..minimal() };
        assert!(parse_record(&student_without_numbers, TODAY).is_ok());
    }

    // ---- translations ----

    fn locale_keys() -> BTreeSet<&'static str> {
        LOCALES
            .lines()
            .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| l.strip_suffix(':'))
            .collect()
    }

    #[test]
    fn locale_file_is_version_two() {
        assert!(LOCALES.starts_with("_version: 2\n"));
    }

    #[test]
    fn every_domain_error_code_has_french_and_english_text_and_nothing_else_is_there() {
        let codes: BTreeSet<&str> = [
            IdentifierError::Empty.code(),
            IdentifierError::TooLong.code(),
            IdentifierError::InvalidCharacters.code(),
            IdentifierError::InvalidIne.code(),
            InvalidIdentificationMethod.code(),
            BirthDateError::Empty.code(),
            BirthDateError::Format.code(),
            BirthDateError::InvalidDate.code(),
            BirthDateError::TooOld.code(),
            BirthDateError::InFuture.code(),
            InvalidCategory.code(),
            PersonNameError::Empty.code(),
            PersonNameError::TooLong.code(),
            PersonNameError::InvalidCharacters.code(),
            EmailError::Empty.code(),
            EmailError::Invalid.code(),
            LoginError::Empty.code(),
            LoginError::TooLong.code(),
            LoginError::InvalidCharacters.code(),
            LoginError::MustStartWithLetter.code(),
            MISSING_CODE,
        ]
        .into();
        assert_eq!(codes.len(), 21, "codes must be distinct");
        assert_eq!(locale_keys(), codes);
        for code in codes {
            let (_, block) = LOCALES.split_once(&format!("\n{code}:\n")).unwrap();
            let mut lines = block.lines();
            let fr = lines.next().unwrap();
            let en = lines.next().unwrap();
            assert!(fr.starts_with("  fr: \"") && fr.ends_with('"') && fr.len() > 10, "{code}: {fr}");
            assert!(en.starts_with("  en: \"") && en.ends_with('"') && en.len() > 10, "{code}: {en}");
        }
    }

    #[test]
    fn french_texts_use_typographic_apostrophes() {
        for line in LOCALES.lines().filter(|l| l.starts_with("  fr:")) {
            assert!(!line.contains('\''), "straight apostrophe in {line}");
            assert!(
                !line.contains(" :") && !line.contains(" ?") && !line.contains(" !"),
                "use a non-breaking space in {line}"
            );
        }
    }

    #[test]
    fn person_name_errors_have_short_english_messages() {
        assert_eq!(PersonNameError::Empty.to_string(), "name is empty");
        assert_eq!(PersonNameError::TooLong.to_string(), "name is longer than 100 characters");
        assert_eq!(PersonNameError::InvalidCharacters.to_string(), "name contains invalid characters");
        assert_eq!(InvalidCategory.to_string(), "unknown category (expected staff, student or external)");
    }
}
