//! The security question (« question joker ») and its answer, used when a password is forgotten.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

pub const ANSWER_MIN_CHARS: usize = 3;
pub const ANSWER_MAX_CHARS: usize = 100;
pub const QUESTION_MIN_CHARS: usize = 10;
pub const QUESTION_MAX_CHARS: usize = 200;

/// The value of the question field when the person writes their own question.
pub const CUSTOM_QUESTION_ID: &str = "custom";

/// Translation key of the choice « write my own question ».
pub const CUSTOM_QUESTION_KEY: &str = "security_question.custom";

/// The form an answer is stored and compared in, so that a person who typed « Crème  Brûlée »
/// or « Dupont-Lefèvre » at activation gets in with « creme brulee » or « dupont lefevre »
/// years later, from a phone keyboard.
///
/// Beyond NFKC (which folds ligatures such as « ﬁ » and full-width letters), lower-casing,
/// accent removal and whitespace collapsing, it also writes « œ », « æ » and « ß » as « oe »,
/// « ae » and « ss », reads hyphens, apostrophes and other punctuation as spaces, and drops
/// control and invisible characters (zero-width spaces, soft hyphens, byte-order marks), none
/// of which a person can tell apart on screen or remembers typing. Changing it makes stored
/// answers unreachable unless the previous form is kept for verification, as `legacy` is.
pub fn normalize_answer(input: &str) -> String {
    normalize(input, Punctuation::AsSpace)
}

/// The typed answer in each form a stored hash may have been made from.
#[derive(Clone, PartialEq, Eq)]
pub struct AnswerForms {
    pub current: String,
    /// The form of hashes made before punctuation counted as spaces (typographic apostrophes
    /// written ', other punctuation kept), when it differs from `current`.
    pub legacy: Option<String>,
}

impl AnswerForms {
    pub fn of(input: &str) -> Self {
        let current = normalize_answer(input);
        let legacy = Some(normalize(input, Punctuation::Kept)).filter(|legacy| *legacy != current);
        Self { current, legacy }
    }
}

impl fmt::Debug for AnswerForms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AnswerForms([redacted])")
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Punctuation {
    AsSpace,
    Kept,
}

fn normalize(input: &str, punctuation: Punctuation) -> String {
    let lowered: String = input.nfkc().flat_map(char::to_lowercase).collect();
    let mut out = String::with_capacity(lowered.len());
    let mut pending_space = false;
    for c in lowered.nfd() {
        if c.is_whitespace() || (punctuation == Punctuation::AsSpace && is_punctuation(c)) {
            pending_space = true;
            continue;
        }
        if is_combining_mark(c) || c.is_control() || is_invisible(c) {
            continue;
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        match c {
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            'ß' => out.push_str("ss"),
            '\u{2019}' | '\u{2018}' | '\u{02bc}' | '`' => out.push('\''),
            other => out.push(other),
        }
    }
    // Recomposition only matters for scripts such as Hangul, whose syllables NFD split.
    out.nfc().collect()
}

/// Punctuation as Unicode classes it (connectors, dashes, brackets, quotes and the rest), in
/// the scripts our people write; symbols such as « + », « $ » or « = » still count.
fn is_punctuation(c: char) -> bool {
    matches!(c,
        '!' | '"' | '#' | '%' | '&' | '\'' | '(' | ')' | '*' | ',' | '-' | '.' | '/' | ':' | ';' | '?' | '@'
        | '[' | '\\' | ']' | '_' | '{' | '}' | '`'
        | '¡' | '§' | '«' | '¶' | '·' | '»' | '¿' | '\u{02bc}'
        | '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{205e}' | '\u{3001}'..='\u{3003}' | '\u{3008}'..='\u{3011}')
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00ad}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}')
}

/// Personal data compared without separators, so that « 07 03 1985 » is caught as well as
/// « 07/03/1985 ».
fn skeleton(normalized: &str) -> String {
    normalized.chars().filter(|c| c.is_alphanumeric()).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("the answer is empty")]
    Empty,
    #[error("the answer must be at least {min} characters long")]
    TooShort { min: usize },
    #[error("the answer must be at most {max} characters long")]
    TooLong { max: usize },
    #[error("the answer must not be the person's identifier, login or birth date")]
    SameAsPersonalData,
}

impl AnswerError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "security_answer.empty",
            Self::TooShort { .. } => "security_answer.too_short",
            Self::TooLong { .. } => "security_answer.too_long",
            Self::SameAsPersonalData => "security_answer.same_as_personal_data",
        }
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::TooShort { min } => vec![("min", min.to_string())],
            Self::TooLong { max } => vec![("max", max.to_string())],
            Self::Empty | Self::SameAsPersonalData => Vec::new(),
        }
    }
}

/// An accepted answer, already normalised: what gets hashed and compared.
#[derive(Clone, PartialEq, Eq)]
pub struct SecurityAnswer(String);

impl SecurityAnswer {
    /// `forbidden` holds what an attacker may already know: identifiers, login, birth date
    /// in each usual form. Lengths are counted on the trimmed input, as the person sees it;
    /// an answer whose normalised form is shorter (invisible characters) is too short as well.
    pub fn parse(input: &str, forbidden: &[&str]) -> Result<Self, AnswerError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(AnswerError::Empty);
        }
        let length = trimmed.chars().count();
        if length > ANSWER_MAX_CHARS {
            return Err(AnswerError::TooLong { max: ANSWER_MAX_CHARS });
        }
        let normalized = normalize_answer(trimmed);
        if normalized.is_empty() {
            return Err(AnswerError::Empty);
        }
        if length < ANSWER_MIN_CHARS || normalized.chars().count() < ANSWER_MIN_CHARS {
            return Err(AnswerError::TooShort { min: ANSWER_MIN_CHARS });
        }
        let answer_skeleton = skeleton(&normalized);
        let is_personal = forbidden.iter().any(|value| {
            let value = normalize_answer(value);
            !value.is_empty()
                && (value == normalized || (!answer_skeleton.is_empty() && skeleton(&value) == answer_skeleton))
        });
        if is_personal {
            return Err(AnswerError::SameAsPersonalData);
        }
        Ok(Self(normalized))
    }

    /// The normalised answer, to be hashed; never log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecurityAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecurityAnswer([redacted])")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuestionError {
    #[error("the question is empty")]
    Empty,
    #[error("the question must be at least {min} characters long")]
    TooShort { min: usize },
    #[error("the question must be at most {max} characters long")]
    TooLong { max: usize },
    #[error("the question contains control characters")]
    InvalidCharacters,
}

impl QuestionError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "security_question.empty",
            Self::TooShort { .. } => "security_question.too_short",
            Self::TooLong { .. } => "security_question.too_long",
            Self::InvalidCharacters => "security_question.invalid_characters",
        }
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::TooShort { min } => vec![("min", min.to_string())],
            Self::TooLong { max } => vec![("max", max.to_string())],
            Self::Empty | Self::InvalidCharacters => Vec::new(),
        }
    }
}

/// A question the person wrote, tidied for display: trimmed, whitespace collapsed, NFC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityQuestion(String);

impl SecurityQuestion {
    pub fn parse(input: &str) -> Result<Self, QuestionError> {
        let collapsed = collapse_whitespace(input);
        if collapsed.is_empty() {
            return Err(QuestionError::Empty);
        }
        // Bidirectional overrides can make a question read differently from what is stored.
        if collapsed.chars().any(|c| c.is_control() || is_bidi_control(c)) {
            return Err(QuestionError::InvalidCharacters);
        }
        let question: String = collapsed.nfc().collect();
        let length = question.chars().count();
        if length < QUESTION_MIN_CHARS {
            return Err(QuestionError::TooShort { min: QUESTION_MIN_CHARS });
        }
        if length > QUESTION_MAX_CHARS {
            return Err(QuestionError::TooLong { max: QUESTION_MAX_CHARS });
        }
        Ok(Self(question))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn collapse_whitespace(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for word in input.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A question offered in the drop-down list; `id` is the form value, `key` its translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProposedQuestion {
    pub id: &'static str,
    pub key: &'static str,
}

const PROPOSED_QUESTIONS: [ProposedQuestion; 6] = [
    ProposedQuestion { id: "mother_maiden_name", key: "security_question.proposed.mother_maiden_name" },
    ProposedQuestion { id: "first_pet", key: "security_question.proposed.first_pet" },
    ProposedQuestion { id: "birth_city", key: "security_question.proposed.birth_city" },
    ProposedQuestion { id: "childhood_friend", key: "security_question.proposed.childhood_friend" },
    ProposedQuestion { id: "first_school", key: "security_question.proposed.first_school" },
    ProposedQuestion { id: "favourite_book", key: "security_question.proposed.favourite_book" },
];

/// The questions offered, in the order of the list; the first is the one the page shows first.
pub fn default_questions() -> Vec<ProposedQuestion> {
    PROPOSED_QUESTIONS.to_vec()
}

/// The proposed question with this form value, if any.
pub fn find_proposed_question(id: &str) -> Option<ProposedQuestion> {
    PROPOSED_QUESTIONS.iter().copied().find(|q| q.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCALES: &str = include_str!("../../locales/password.yml");

    const PERSONAL: &[&str] = &["20231234", "jean.dupont", "07/03/1985", "1985-03-07"];

    fn translation(key: &str, lang: &str) -> Option<String> {
        let header = format!("{key}:");
        let mut lines = LOCALES.lines().skip_while(|line| *line != header);
        lines.next();
        lines
            .take_while(|line| line.starts_with("  "))
            .filter_map(|line| line.trim().split_once(": "))
            .find(|(l, _)| *l == lang)
            .map(|(_, text)| text.trim_matches('"').to_owned())
    }

    fn assert_translated(key: &str, params: &[(&'static str, String)]) {
        for lang in ["fr", "en"] {
            let text = translation(key, lang).unwrap_or_else(|| panic!("{key} has no {lang}"));
            assert!(!text.is_empty());
            assert_eq!(text.matches("%{").count(), params.len(), "placeholders of {key} ({lang})");
            for (name, _) in params {
                assert!(text.contains(&format!("%{{{name}}}")), "{key} ({lang}) lacks {name}");
            }
            assert!(!text.contains('\''), "{key} ({lang}) uses ' instead of ’");
        }
    }

    // --- normalisation --------------------------------------------------------------------

    #[test]
    fn creme_brulee_matches_whatever_the_accents_case_and_spaces() {
        assert_eq!(normalize_answer("Crème  Brûlée"), "creme brulee");
        assert_eq!(normalize_answer("creme brulee"), "creme brulee");
        assert_eq!(normalize_answer("  CRÈME\tBRÛLÉE \n"), "creme brulee");
    }

    #[test]
    fn ligatures_and_full_width_letters_fold() {
        assert_eq!(normalize_answer("ﬁdèle"), "fidele");
        assert_eq!(normalize_answer("Ｍｏｎｔｒéａｌ"), "montreal");
        assert_eq!(normalize_answer("Ⅻ"), "xii");
    }

    #[test]
    fn decomposed_and_composed_accents_normalise_alike() {
        assert_eq!(normalize_answer("e\u{301}cole"), normalize_answer("\u{e9}cole"));
        assert_eq!(normalize_answer("école"), "ecole");
    }

    #[test]
    fn french_ligatures_and_sharp_s_are_spelled_out() {
        assert_eq!(normalize_answer("Sœur Œdipe"), "soeur oedipe");
        assert_eq!(normalize_answer("Lætitia"), "laetitia");
        assert_eq!(normalize_answer("Straße"), "strasse");
    }

    #[test]
    fn hyphens_apostrophes_and_punctuation_read_as_spaces() {
        assert_eq!(normalize_answer("Dupont-Lefèvre"), "dupont lefevre");
        assert_eq!(normalize_answer("dupont lefevre"), "dupont lefevre");
        for typed in ["L’Haÿ-les-Roses", "L'Haÿ-les-Roses", "L‘Haÿ-les-Roses", "Lʼhaÿ-les-roses", "l hay les roses"]
        {
            assert_eq!(normalize_answer(typed), "l hay les roses", "{typed}");
        }
        assert_eq!(normalize_answer("« Médor », St. Malo (35) ; n°1… ¿qué?"), "medor st malo 35 n°1 que");
        assert_eq!(normalize_answer("Jean‐Pierre — Marie–Claire"), "jean pierre marie claire");
        assert_eq!(normalize_answer("C++ = 2$"), "c++ = 2$", "symbols are not punctuation");
    }

    #[test]
    fn the_legacy_form_is_kept_only_where_it_differs() {
        let forms = AnswerForms::of("L’Haÿ-les-Roses");
        assert_eq!(forms.current, "l hay les roses");
        assert_eq!(forms.legacy.as_deref(), Some("l'hay-les-roses"));
        assert_eq!(AnswerForms::of("Crème  Brûlée").legacy, None);
        assert_eq!(format!("{forms:?}"), "AnswerForms([redacted])");
    }

    #[test]
    fn every_kind_of_whitespace_collapses_to_one_space() {
        assert_eq!(normalize_answer("\u{a0}Jean\u{202f}\u{2003}Pierre\u{3000}Martin\r\n"), "jean pierre martin");
    }

    #[test]
    fn invisible_and_control_characters_are_dropped() {
        assert_eq!(normalize_answer("Mé\u{200b}dor\u{ad}\u{feff}"), "medor");
        assert_eq!(normalize_answer("Mé\u{0}dor\u{7}"), "medor");
    }

    #[test]
    fn other_scripts_survive_normalisation() {
        assert_eq!(normalize_answer("서울"), "서울");
        assert_eq!(normalize_answer("Москва"), "москва");
        assert_eq!(normalize_answer("東京"), "東京");
    }

    #[test]
    fn normalisation_is_idempotent() {
        for input in ["Crème  Brûlée", "ﬁdèle", "L’Haÿ", "Straße", "서울", " a\u{200b} b ", "Dupont-Lefèvre", "-a- -b-"]
        {
            let once = normalize_answer(input);
            assert_eq!(normalize_answer(&once), once, "{input}");
        }
    }

    #[test]
    fn blank_input_normalises_to_nothing() {
        assert_eq!(normalize_answer(""), "");
        assert_eq!(normalize_answer(" \t\u{a0}\u{200b} "), "");
    }

    // --- answers --------------------------------------------------------------------------

    #[test]
    fn answer_is_stored_normalised() {
        let answer = SecurityAnswer::parse("  Crème  Brûlée ", PERSONAL).expect("valid");
        assert_eq!(answer.as_str(), "creme brulee");
        assert_eq!(answer, SecurityAnswer::parse("creme brulee", PERSONAL).expect("valid"));
    }

    #[test]
    fn answer_debug_is_redacted() {
        let answer = SecurityAnswer::parse("Médor le chien", &[]).expect("valid");
        let shown = format!("{answer:?}");
        assert_eq!(shown, "SecurityAnswer([redacted])");
        assert!(!format!("{:?}", Some(answer)).contains("medor"));
    }

    #[test]
    fn punctuation_alone_is_an_empty_answer() {
        assert_eq!(SecurityAnswer::parse("...", &[]), Err(AnswerError::Empty));
        assert_eq!(SecurityAnswer::parse("« — »", &[]), Err(AnswerError::Empty));
    }

    #[test]
    fn blank_answer_is_empty() {
        assert_eq!(SecurityAnswer::parse("", &[]), Err(AnswerError::Empty));
        assert_eq!(SecurityAnswer::parse(" \t\n ", &[]), Err(AnswerError::Empty));
        assert_eq!(SecurityAnswer::parse("\u{200b}\u{200b}\u{200b}", &[]), Err(AnswerError::Empty));
    }

    #[test]
    fn two_characters_are_too_short_three_are_enough() {
        assert_eq!(SecurityAnswer::parse("Lé", &[]), Err(AnswerError::TooShort { min: 3 }));
        assert_eq!(SecurityAnswer::parse("  Lé  ", &[]), Err(AnswerError::TooShort { min: 3 }));
        assert!(SecurityAnswer::parse("Léa", &[]).is_ok());
    }

    #[test]
    fn invisible_characters_do_not_count_towards_the_length() {
        assert_eq!(SecurityAnswer::parse("L\u{200b}\u{200b}é", &[]), Err(AnswerError::TooShort { min: 3 }));
    }

    #[test]
    fn hundred_characters_are_allowed_one_more_is_too_long() {
        let hundred = "é".repeat(100);
        assert!(SecurityAnswer::parse(&hundred, &[]).is_ok());
        assert!(SecurityAnswer::parse(&format!("  {hundred}  "), &[]).is_ok());
        assert_eq!(SecurityAnswer::parse(&"é".repeat(101), &[]), Err(AnswerError::TooLong { max: 100 }));
    }

    #[test]
    fn huge_answer_is_too_long() {
        assert_eq!(SecurityAnswer::parse(&"x".repeat(1_000_000), &[]), Err(AnswerError::TooLong { max: 100 }));
    }

    #[test]
    fn answer_equal_to_personal_data_is_refused() {
        for answer in ["20231234", "Jean.Dupont", " JEAN.DUPONT ", "07/03/1985", "1985-03-07"] {
            assert_eq!(SecurityAnswer::parse(answer, PERSONAL), Err(AnswerError::SameAsPersonalData), "{answer}");
        }
    }

    #[test]
    fn personal_data_with_other_separators_is_refused() {
        for answer in ["07 03 1985", "07.03.1985", "07031985", "jean dupont"] {
            assert_eq!(SecurityAnswer::parse(answer, PERSONAL), Err(AnswerError::SameAsPersonalData), "{answer}");
        }
    }

    #[test]
    fn answer_that_merely_contains_personal_data_is_accepted() {
        assert!(SecurityAnswer::parse("Dupont-Moretti", &["dupont"]).is_ok());
        assert!(SecurityAnswer::parse("Lille 1985", PERSONAL).is_ok());
    }

    #[test]
    fn blank_or_punctuation_only_forbidden_values_are_ignored() {
        assert!(SecurityAnswer::parse("Médor", &["", "  ", "\u{200b}"]).is_ok());
        assert!(SecurityAnswer::parse("Médor", &["---", "..."]).is_ok());
    }

    #[test]
    fn answer_checks_never_panic_on_odd_input() {
        for input in [
            "\u{0}\u{0}\u{0}",
            "\u{301}\u{301}\u{301}",
            "👩‍👩‍👧‍👦👩‍👩‍👧‍👦",
            "\u{202e}abc",
            "\u{10ffff}\u{e000}\u{fffd}",
            "İİİ",
            "ǅǅǅ",
        ] {
            let _ = SecurityAnswer::parse(input, PERSONAL);
            let _ = SecurityQuestion::parse(input);
            let _ = normalize_answer(input);
        }
    }

    // --- questions ------------------------------------------------------------------------

    #[test]
    fn question_is_trimmed_and_its_whitespace_collapsed() {
        let question = SecurityQuestion::parse("  Quel est le nom\tde mon\n\n premier vélo ?  ").expect("ok");
        assert_eq!(question.as_str(), "Quel est le nom de mon premier vélo ?");
    }

    #[test]
    fn question_keeps_case_and_accents_but_is_composed() {
        let question = SecurityQuestion::parse("Où ai-je passé l’été 1998 ?").expect("ok");
        assert_eq!(question.as_str(), "Où ai-je passé l’été 1998 ?");
        let decomposed = SecurityQuestion::parse("Ou\u{300} ai-je passe\u{301} l’e\u{301}te\u{301} ?").expect("ok");
        assert_eq!(decomposed.as_str(), "Où ai-je passé l’été ?");
    }

    #[test]
    fn blank_question_is_empty() {
        assert_eq!(SecurityQuestion::parse(""), Err(QuestionError::Empty));
        assert_eq!(SecurityQuestion::parse(" \u{a0}\t\n"), Err(QuestionError::Empty));
    }

    #[test]
    fn question_length_bounds_count_characters() {
        assert_eq!(SecurityQuestion::parse("Mon chien"), Err(QuestionError::TooShort { min: 10 }));
        // Nine characters once whitespace is collapsed.
        assert_eq!(SecurityQuestion::parse("Mon    chien"), Err(QuestionError::TooShort { min: 10 }));
        assert!(SecurityQuestion::parse("Mon chien ?").is_ok());
        assert!(SecurityQuestion::parse("Ma ville é").is_ok());
        let two_hundred = "é".repeat(199) + "?";
        assert!(SecurityQuestion::parse(&two_hundred).is_ok());
        assert_eq!(SecurityQuestion::parse(&("é".repeat(200) + "?")), Err(QuestionError::TooLong { max: 200 }));
    }

    #[test]
    fn question_with_control_characters_is_refused() {
        for input in [
            "Quel est mon\u{0} surnom ?",
            "Quel est mon\u{1b}[31m surnom ?",
            "Quel est mon\u{7f} surnom ?",
            "Quel est mon\u{202e} surnom ?",
            "Quel est mon\u{2067} surnom ?",
        ] {
            assert_eq!(SecurityQuestion::parse(input), Err(QuestionError::InvalidCharacters), "{input:?}");
        }
    }

    #[test]
    fn question_whitespace_controls_are_collapsed_not_refused() {
        assert_eq!(SecurityQuestion::parse("Quel est\r\nmon surnom ?").expect("ok").as_str(), "Quel est mon surnom ?");
    }

    // --- proposed questions ---------------------------------------------------------------

    #[test]
    fn first_proposed_question_is_the_mothers_maiden_name() {
        let questions = default_questions();
        assert_eq!(questions[0].id, "mother_maiden_name");
        assert_eq!(
            translation(questions[0].key, "fr").as_deref(),
            Some("Quel est le nom de jeune fille de votre mère\u{202f}?")
        );
    }

    #[test]
    fn proposed_questions_have_distinct_ids_and_translations() {
        let questions = default_questions();
        assert!(questions.len() >= 6);
        let mut ids: Vec<&str> = questions.iter().map(|q| q.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), questions.len());
        assert!(!ids.contains(&CUSTOM_QUESTION_ID));
        for question in &questions {
            assert_translated(question.key, &[]);
            for lang in ["fr", "en"] {
                let text = translation(question.key, lang).expect("translated");
                assert!(text.ends_with('?'), "{} ({lang})", question.key);
                assert!(SecurityQuestion::parse(&text).is_ok(), "{text}");
            }
        }
        assert_translated(CUSTOM_QUESTION_KEY, &[]);
    }

    #[test]
    fn proposed_question_is_found_by_its_id() {
        assert_eq!(find_proposed_question("first_pet").map(|q| q.key), Some("security_question.proposed.first_pet"));
        assert_eq!(find_proposed_question("custom"), None);
        assert_eq!(find_proposed_question(""), None);
    }

    // --- codes ----------------------------------------------------------------------------

    #[test]
    fn answer_errors_have_stable_codes_and_translations() {
        let errors = [
            (AnswerError::Empty, "security_answer.empty"),
            (AnswerError::TooShort { min: 3 }, "security_answer.too_short"),
            (AnswerError::TooLong { max: 100 }, "security_answer.too_long"),
            (AnswerError::SameAsPersonalData, "security_answer.same_as_personal_data"),
        ];
        for (error, code) in errors {
            assert_eq!(error.code(), code);
            assert_translated(code, &error.params());
        }
        assert_eq!(AnswerError::TooShort { min: 3 }.params(), vec![("min", "3".to_owned())]);
    }

    #[test]
    fn question_errors_have_stable_codes_and_translations() {
        let errors = [
            (QuestionError::Empty, "security_question.empty"),
            (QuestionError::TooShort { min: 10 }, "security_question.too_short"),
            (QuestionError::TooLong { max: 200 }, "security_question.too_long"),
            (QuestionError::InvalidCharacters, "security_question.invalid_characters"),
        ];
        for (error, code) in errors {
            assert_eq!(error.code(), code);
            assert_translated(code, &error.params());
        }
        assert_eq!(QuestionError::TooLong { max: 200 }.params(), vec![("max", "200".to_owned())]);
    }
}
