//! The institution's password rules: which passwords are accepted, and how the rules are listed to people.

use serde::{Deserialize, Serialize};
use zxcvbn::feedback::{Suggestion, Warning};

mod guessable;
mod keyboard;
pub mod weak_list;

pub use guessable::Guessable;
pub use weak_list::WeakList;

/// The special characters of the help page. The apostrophe and the backslash are not in it:
/// some downstream directories and scripts mishandle them.
pub const DEFAULT_SPECIAL_CHARACTERS: &str = "!\"#$%&()*+,-./:;<=>?@[]^_`{|}~";

/// Upper bound for `max_length`, so that a typo in the configuration cannot let megabytes
/// reach the hasher.
pub const MAX_LENGTH_LIMIT: usize = 1024;

/// Highest score zxcvbn gives.
pub const MAX_STRENGTH: u8 = 4;

/// Shorter pieces of a person's data are too common to mean anything to zxcvbn.
const MIN_USER_TOKEN_CHARS: usize = 3;

/// The configurable rules; the defaults are those of the help page, plus the strength check.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
    /// An ASCII letter a–z: accented letters do not count, as on the help page.
    pub require_lowercase: bool,
    /// An ASCII letter A–Z.
    pub require_uppercase: bool,
    /// An ASCII digit 0–9.
    pub require_digit: bool,
    pub require_special: bool,
    /// Characters that count as special; any other character is still allowed.
    pub special_characters: String,
    /// Any Unicode whitespace, not only the space bar.
    pub forbid_whitespace: bool,
    /// The login, compared without regard to case.
    pub forbid_login: bool,
    /// How many previous passwords a new one must differ from; the caller checks it, since it
    /// takes hash verification. 0 turns the rule off.
    pub history_depth: usize,
    /// Lowest zxcvbn score (0–4) accepted; `None` turns the check off, and with it the
    /// check for French words, names and AZERTY walks.
    pub min_strength: Option<u8>,
    /// The institution's own words (name, acronym, city, campus…), refused as the word a
    /// password is built on and given to zxcvbn.
    pub institution_words: Vec<String>,
    /// Passwords refused whatever the rest says, loaded once at start-up from
    /// `SESAME_WEAK_PASSWORDS_FILE`; not part of the TOML table.
    #[serde(skip)]
    pub weak_list: WeakList,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 12,
            max_length: 30,
            require_lowercase: true,
            require_uppercase: true,
            require_digit: true,
            require_special: true,
            special_characters: DEFAULT_SPECIAL_CHARACTERS.to_owned(),
            forbid_whitespace: true,
            forbid_login: true,
            history_depth: 3,
            min_strength: Some(3),
            institution_words: Vec::new(),
            weak_list: WeakList::default(),
        }
    }
}

/// What is known of the person choosing the password.
#[derive(Debug, Clone, Copy)]
pub struct PasswordContext<'a> {
    pub login: &'a str,
    /// Names, birth date (in the forms people write it), the institution's name…: zxcvbn
    /// treats passwords built from them as easy to guess.
    pub user_inputs: &'a [&'a str],
}

/// A broken rule, shown next to the password field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("the password must be at least {min} characters long")]
    TooShort { min: usize },
    #[error("the password must be at most {max} characters long")]
    TooLong { max: usize },
    #[error("the password must contain a lower-case letter")]
    MissingLowercase,
    #[error("the password must contain an upper-case letter")]
    MissingUppercase,
    #[error("the password must contain a digit")]
    MissingDigit,
    #[error("the password must contain a special character")]
    MissingSpecial,
    #[error("the password must not contain whitespace")]
    ContainsWhitespace,
    #[error("the password must not contain the login")]
    ContainsLogin,
    /// `warning` and `suggestions` are translation keys for zxcvbn's feedback.
    #[error("the password is too easy to guess")]
    TooWeak { warning: Option<&'static str>, suggestions: Vec<&'static str> },
    /// Produced by the caller, after comparing the candidate with the stored hashes.
    #[error("the password must differ from the last {depth} passwords")]
    ReusedRecent { depth: usize },
}

impl Violation {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "password.too_short",
            Self::TooLong { .. } => "password.too_long",
            Self::MissingLowercase => "password.missing_lowercase",
            Self::MissingUppercase => "password.missing_uppercase",
            Self::MissingDigit => "password.missing_digit",
            Self::MissingSpecial => "password.missing_special",
            Self::ContainsWhitespace => "password.contains_whitespace",
            Self::ContainsLogin => "password.contains_login",
            Self::TooWeak { .. } => "password.too_weak",
            Self::ReusedRecent { .. } => "password.reused_recent",
        }
    }

    /// Values for the placeholders of the translated message.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::TooShort { min } => vec![("min", min.to_string())],
            Self::TooLong { max } => vec![("max", max.to_string())],
            Self::ReusedRecent { depth } => vec![("depth", depth.to_string())],
            Self::MissingLowercase
            | Self::MissingUppercase
            | Self::MissingDigit
            | Self::MissingSpecial
            | Self::ContainsWhitespace
            | Self::ContainsLogin
            | Self::TooWeak { .. } => Vec::new(),
        }
    }
}

/// Translation key of the confirmation field's error, when the two entries differ.
pub const MISMATCH_CODE: &str = "password.mismatch";

/// Translation key of the sentence that introduces the list of rules.
pub const RULES_INTRO_CODE: &str = "password.rules.intro";

/// One line of the list of rules shown above the password field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub code: &'static str,
    pub params: Vec<(&'static str, String)>,
}

impl Rule {
    fn new(code: &'static str, params: Vec<(&'static str, String)>) -> Self {
        Self { code, params }
    }
}

/// A policy that cannot be applied; found when the configuration is loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyConfigError {
    #[error("min_length must be at least 1")]
    MinLengthZero,
    #[error("max_length ({max}) must not be below min_length ({min})")]
    MaxBelowMin { min: usize, max: usize },
    #[error("max_length ({max}) must not exceed {limit}")]
    MaxTooLarge { max: usize, limit: usize },
    #[error("max_length ({max}) cannot hold the {required} kinds of character required")]
    MaxBelowRequiredKinds { max: usize, required: usize },
    #[error("min_strength ({value}) must be between 0 and 4")]
    StrengthOutOfRange { value: u8 },
    #[error("special_characters must not be empty when require_special is set")]
    EmptySpecialSet,
    #[error("special_characters must hold symbols only, not {character:?}")]
    InvalidSpecialCharacter { character: char },
}

impl PolicyConfigError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::MinLengthZero => "password.config.min_length_zero",
            Self::MaxBelowMin { .. } => "password.config.max_below_min",
            Self::MaxTooLarge { .. } => "password.config.max_too_large",
            Self::MaxBelowRequiredKinds { .. } => "password.config.max_below_required_kinds",
            Self::StrengthOutOfRange { .. } => "password.config.strength_out_of_range",
            Self::EmptySpecialSet => "password.config.empty_special_set",
            Self::InvalidSpecialCharacter { .. } => "password.config.invalid_special_character",
        }
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::MinLengthZero | Self::EmptySpecialSet => Vec::new(),
            Self::MaxBelowMin { min, max } => {
                vec![("min", min.to_string()), ("max", max.to_string())]
            }
            Self::MaxTooLarge { max, limit } => {
                vec![("max", max.to_string()), ("limit", limit.to_string())]
            }
            Self::MaxBelowRequiredKinds { max, required } => {
                vec![("max", max.to_string()), ("required", required.to_string())]
            }
            Self::StrengthOutOfRange { value } => vec![("value", value.to_string())],
            Self::InvalidSpecialCharacter { character } => {
                vec![("character", character.to_string())]
            }
        }
    }
}

impl PasswordPolicy {
    /// Checks that the configured rules can be met and mean what they say; returns the first
    /// problem found.
    pub fn validate(&self) -> Result<(), PolicyConfigError> {
        if self.min_length == 0 {
            return Err(PolicyConfigError::MinLengthZero);
        }
        if self.max_length < self.min_length {
            return Err(PolicyConfigError::MaxBelowMin { min: self.min_length, max: self.max_length });
        }
        if self.max_length > MAX_LENGTH_LIMIT {
            return Err(PolicyConfigError::MaxTooLarge { max: self.max_length, limit: MAX_LENGTH_LIMIT });
        }
        let required = [self.require_lowercase, self.require_uppercase, self.require_digit, self.require_special]
            .into_iter()
            .filter(|required| *required)
            .count();
        if self.max_length < required {
            return Err(PolicyConfigError::MaxBelowRequiredKinds { max: self.max_length, required });
        }
        if let Some(value) = self.min_strength
            && value > MAX_STRENGTH
        {
            return Err(PolicyConfigError::StrengthOutOfRange { value });
        }
        if self.require_special && self.special_characters.is_empty() {
            return Err(PolicyConfigError::EmptySpecialSet);
        }
        // A letter, digit or blank in the set would make the rules contradict each other or
        // the list shown to people.
        if let Some(character) =
            self.special_characters.chars().find(|c| c.is_alphanumeric() || c.is_whitespace() || c.is_control())
        {
            return Err(PolicyConfigError::InvalidSpecialCharacter { character });
        }
        Ok(())
    }

    /// Every rule the candidate breaks, each once, in the order of `rules()`. The history is
    /// the caller's to check. The strength estimate only runs on a candidate that breaks no
    /// other rule: its advice would be noise next to a missing digit, and zxcvbn is slow on
    /// long input.
    pub fn check(&self, candidate: &str, ctx: &PasswordContext<'_>) -> Vec<Violation> {
        let mut violations = Vec::new();
        let length = candidate.chars().count();
        if length < self.min_length {
            violations.push(Violation::TooShort { min: self.min_length });
        }
        if length > self.max_length {
            violations.push(Violation::TooLong { max: self.max_length });
        }
        if self.require_lowercase && !candidate.chars().any(|c| c.is_ascii_lowercase()) {
            violations.push(Violation::MissingLowercase);
        }
        if self.require_uppercase && !candidate.chars().any(|c| c.is_ascii_uppercase()) {
            violations.push(Violation::MissingUppercase);
        }
        if self.require_digit && !candidate.chars().any(|c| c.is_ascii_digit()) {
            violations.push(Violation::MissingDigit);
        }
        if self.require_special && !candidate.chars().any(|c| self.special_characters.contains(c)) {
            violations.push(Violation::MissingSpecial);
        }
        if self.forbid_whitespace && candidate.chars().any(char::is_whitespace) {
            violations.push(Violation::ContainsWhitespace);
        }
        if self.forbid_login && contains_login(candidate, ctx.login) {
            violations.push(Violation::ContainsLogin);
        }
        if violations.is_empty() && self.weak_list.contains(candidate) {
            violations.push(Guessable::Listed.violation());
        }
        if violations.is_empty()
            && let Some(min_strength) = self.min_strength
            && let Some(weak) = self.strength_violation(candidate, ctx, min_strength)
        {
            violations.push(weak);
        }
        violations
    }

    /// The rules as the page lists them, derived from the configured values.
    pub fn rules(&self) -> Vec<Rule> {
        let mut rules = vec![Rule::new(
            "password.rule.length",
            vec![("min", self.min_length.to_string()), ("max", self.max_length.to_string())],
        )];
        if self.require_lowercase {
            rules.push(Rule::new("password.rule.lowercase", Vec::new()));
        }
        if self.require_uppercase {
            rules.push(Rule::new("password.rule.uppercase", Vec::new()));
        }
        if self.require_digit {
            rules.push(Rule::new("password.rule.digit", Vec::new()));
        }
        if self.require_special {
            rules.push(Rule::new("password.rule.special", vec![("chars", self.special_characters_for_display())]));
        }
        if self.forbid_whitespace {
            rules.push(Rule::new("password.rule.no_whitespace", Vec::new()));
        }
        if self.forbid_login {
            rules.push(Rule::new("password.rule.no_login", Vec::new()));
        }
        if self.history_depth > 0 {
            rules.push(Rule::new("password.rule.history", vec![("depth", self.history_depth.to_string())]));
        }
        if self.min_strength.is_some_and(|min| min > 0) {
            rules.push(Rule::new("password.rule.strength", Vec::new()));
        }
        rules
    }

    /// The set spaced out as on the help page, so that `( )` and `[ ]` read as characters.
    fn special_characters_for_display(&self) -> String {
        let mut shown = String::new();
        for c in self.special_characters.chars() {
            if !shown.is_empty() {
                shown.push(' ');
            }
            shown.push(c);
        }
        shown
    }

    fn strength_violation(&self, candidate: &str, ctx: &PasswordContext<'_>, min_strength: u8) -> Option<Violation> {
        if min_strength == 0 {
            return None;
        }
        // Our lists first: they are cheaper than zxcvbn and say more precisely what is wrong.
        let personal: Vec<&str> = std::iter::once(ctx.login).chain(ctx.user_inputs.iter().copied()).collect();
        if let Some(kind) = guessable::guessable(candidate, &self.institution_words, &personal) {
            return Some(kind.violation());
        }
        let inputs = self.strength_inputs(ctx);
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let estimate = zxcvbn::zxcvbn(candidate, &inputs);
        if u8::from(estimate.score()) >= min_strength {
            return None;
        }
        let (warning, suggestions) = match estimate.feedback() {
            Some(feedback) => (
                feedback.warning().map(warning_key),
                feedback
                    .suggestions()
                    .iter()
                    .copied()
                    .filter(|suggestion| self.suggestion_fits(*suggestion))
                    .map(suggestion_key)
                    .collect(),
            ),
            None => (None, Vec::new()),
        };
        Some(Violation::TooWeak { warning, suggestions })
    }

    /// zxcvbn's advice to drop symbols, digits or capitals would contradict our own rules.
    fn suggestion_fits(&self, suggestion: Suggestion) -> bool {
        suggestion != Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters
            || !(self.require_special || self.require_digit || self.require_uppercase)
    }
}

fn contains_login(candidate: &str, login: &str) -> bool {
    let login = login.trim();
    !login.is_empty() && candidate.to_lowercase().contains(&login.to_lowercase())
}

/// zxcvbn compares the password with each input as a whole word, so « Hauts-de-France » or
/// « jean.dupont » only help once split into words, and « Université » only once people's
/// habit of typing it without accents is taken into account. Our common passwords and
/// AZERTY rows go in too, so that zxcvbn sees them inside longer passwords.
impl PasswordPolicy {
    fn strength_inputs(&self, ctx: &PasswordContext<'_>) -> Vec<String> {
        let mut inputs: Vec<String> = Vec::new();
        let mut add = |value: String| {
            if value.chars().count() >= MIN_USER_TOKEN_CHARS && !inputs.contains(&value) {
                inputs.push(value);
            }
        };
        let own = self.institution_words.iter().map(String::as_str);
        for value in std::iter::once(ctx.login).chain(ctx.user_inputs.iter().copied()).chain(own) {
            let lower = value.trim().to_lowercase();
            let folded = guessable::fold(&lower);
            for form in [lower, folded] {
                for word in form.split(|c: char| !c.is_alphanumeric()) {
                    add(word.to_owned());
                }
                add(form);
            }
        }
        for word in guessable::entries(guessable::COMMON_PASSWORDS).chain(keyboard::ROWS.iter().copied()) {
            add(word.to_owned());
        }
        inputs
    }
}

/// Exhaustive on purpose: a warning added by a new zxcvbn must get a translation.
fn warning_key(warning: Warning) -> &'static str {
    match warning {
        Warning::StraightRowsOfKeysAreEasyToGuess => "zxcvbn.warning.straight_rows_of_keys",
        Warning::ShortKeyboardPatternsAreEasyToGuess => "zxcvbn.warning.short_keyboard_patterns",
        Warning::RepeatsLikeAaaAreEasyToGuess => "zxcvbn.warning.repeated_characters",
        Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => "zxcvbn.warning.repeated_patterns",
        Warning::ThisIsATop10Password => "zxcvbn.warning.top10_password",
        Warning::ThisIsATop100Password => "zxcvbn.warning.top100_password",
        Warning::ThisIsACommonPassword => "zxcvbn.warning.common_password",
        Warning::ThisIsSimilarToACommonlyUsedPassword => "zxcvbn.warning.similar_to_common_password",
        Warning::SequencesLikeAbcAreEasyToGuess => "zxcvbn.warning.sequences",
        Warning::RecentYearsAreEasyToGuess => "zxcvbn.warning.recent_years",
        Warning::AWordByItselfIsEasyToGuess => "zxcvbn.warning.word_by_itself",
        Warning::DatesAreOftenEasyToGuess => "zxcvbn.warning.dates",
        Warning::NamesAndSurnamesByThemselvesAreEasyToGuess => "zxcvbn.warning.names_by_themselves",
        Warning::CommonNamesAndSurnamesAreEasyToGuess => "zxcvbn.warning.common_names",
    }
}

/// Exhaustive on purpose: a suggestion added by a new zxcvbn must get a translation.
fn suggestion_key(suggestion: Suggestion) -> &'static str {
    match suggestion {
        Suggestion::UseAFewWordsAvoidCommonPhrases => "zxcvbn.suggestion.use_a_few_words",
        Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters => "zxcvbn.suggestion.no_need_for_symbols",
        Suggestion::AddAnotherWordOrTwo => "zxcvbn.suggestion.add_another_word",
        Suggestion::CapitalizationDoesntHelpVeryMuch => "zxcvbn.suggestion.capitalization",
        Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase => "zxcvbn.suggestion.all_uppercase",
        Suggestion::ReversedWordsArentMuchHarderToGuess => "zxcvbn.suggestion.reversed_words",
        Suggestion::PredictableSubstitutionsDontHelpVeryMuch => "zxcvbn.suggestion.predictable_substitutions",
        Suggestion::UseALongerKeyboardPatternWithMoreTurns => "zxcvbn.suggestion.longer_keyboard_pattern",
        Suggestion::AvoidRepeatedWordsAndCharacters => "zxcvbn.suggestion.avoid_repeats",
        Suggestion::AvoidSequences => "zxcvbn.suggestion.avoid_sequences",
        Suggestion::AvoidRecentYears => "zxcvbn.suggestion.avoid_recent_years",
        Suggestion::AvoidYearsThatAreAssociatedWithYou => "zxcvbn.suggestion.avoid_personal_years",
        Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou => "zxcvbn.suggestion.avoid_personal_dates",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCALES: &str = include_str!("../../locales/password.yml");

    const INPUTS: &[&str] = &["Jean", "Dupont", "07/03/1985", "1985-03-07", "Université Polytechnique Hauts-de-France"];

    fn ctx() -> PasswordContext<'static> {
        PasswordContext { login: "jean.dupont", user_inputs: INPUTS }
    }

    fn check(candidate: &str) -> Vec<Violation> {
        PasswordPolicy::default().check(candidate, &ctx())
    }

    /// The (language, text) pairs of a key in password.yml.
    fn translations(key: &str) -> Vec<(String, String)> {
        let header = format!("{key}:");
        let mut lines = LOCALES.lines().skip_while(|line| *line != header);
        lines.next();
        lines
            .take_while(|line| line.starts_with("  "))
            .filter_map(|line| line.trim().split_once(": "))
            .map(|(lang, text)| (lang.to_owned(), text.trim_matches('"').to_owned()))
            .collect()
    }

    fn placeholders(text: &str) -> Vec<String> {
        let mut found: Vec<String> =
            text.split("%{").skip(1).filter_map(|rest| rest.split_once('}')).map(|(name, _)| name.to_owned()).collect();
        found.sort();
        found
    }

    fn assert_translated(key: &str, params: &[&str]) {
        let entries = translations(key);
        let mut expected: Vec<String> = params.iter().map(|p| (*p).to_owned()).collect();
        expected.sort();
        for lang in ["fr", "en"] {
            let text = entries
                .iter()
                .find(|(l, _)| l == lang)
                .map(|(_, text)| text.as_str())
                .unwrap_or_else(|| panic!("{key} has no {lang} text"));
            assert!(!text.trim().is_empty(), "{key} has an empty {lang} text");
            assert_eq!(placeholders(text), expected, "placeholders of {key} ({lang})");
            assert!(!text.contains('\''), "{key} ({lang}) uses ' instead of ’");
        }
    }

    const ALL_WARNINGS: [Warning; 14] = [
        Warning::StraightRowsOfKeysAreEasyToGuess,
        Warning::ShortKeyboardPatternsAreEasyToGuess,
        Warning::RepeatsLikeAaaAreEasyToGuess,
        Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess,
        Warning::ThisIsATop10Password,
        Warning::ThisIsATop100Password,
        Warning::ThisIsACommonPassword,
        Warning::ThisIsSimilarToACommonlyUsedPassword,
        Warning::SequencesLikeAbcAreEasyToGuess,
        Warning::RecentYearsAreEasyToGuess,
        Warning::AWordByItselfIsEasyToGuess,
        Warning::DatesAreOftenEasyToGuess,
        Warning::NamesAndSurnamesByThemselvesAreEasyToGuess,
        Warning::CommonNamesAndSurnamesAreEasyToGuess,
    ];

    const ALL_SUGGESTIONS: [Suggestion; 13] = [
        Suggestion::UseAFewWordsAvoidCommonPhrases,
        Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters,
        Suggestion::AddAnotherWordOrTwo,
        Suggestion::CapitalizationDoesntHelpVeryMuch,
        Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase,
        Suggestion::ReversedWordsArentMuchHarderToGuess,
        Suggestion::PredictableSubstitutionsDontHelpVeryMuch,
        Suggestion::UseALongerKeyboardPatternWithMoreTurns,
        Suggestion::AvoidRepeatedWordsAndCharacters,
        Suggestion::AvoidSequences,
        Suggestion::AvoidRecentYears,
        Suggestion::AvoidYearsThatAreAssociatedWithYou,
        Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou,
    ];

    fn all_violations() -> Vec<Violation> {
        vec![
            Violation::TooShort { min: 12 },
            Violation::TooLong { max: 30 },
            Violation::MissingLowercase,
            Violation::MissingUppercase,
            Violation::MissingDigit,
            Violation::MissingSpecial,
            Violation::ContainsWhitespace,
            Violation::ContainsLogin,
            Violation::TooWeak { warning: None, suggestions: Vec::new() },
            Violation::ReusedRecent { depth: 3 },
        ]
    }

    fn all_config_errors() -> Vec<PolicyConfigError> {
        vec![
            PolicyConfigError::MinLengthZero,
            PolicyConfigError::MaxBelowMin { min: 12, max: 8 },
            PolicyConfigError::MaxTooLarge { max: 2000, limit: MAX_LENGTH_LIMIT },
            PolicyConfigError::MaxBelowRequiredKinds { max: 3, required: 4 },
            PolicyConfigError::StrengthOutOfRange { value: 5 },
            PolicyConfigError::EmptySpecialSet,
            PolicyConfigError::InvalidSpecialCharacter { character: 'a' },
        ]
    }

    // --- defaults -------------------------------------------------------------------------

    #[test]
    fn default_policy_is_the_help_page_plus_strength() {
        let policy = PasswordPolicy::default();
        assert_eq!((policy.min_length, policy.max_length), (12, 30));
        assert!(policy.require_lowercase && policy.require_uppercase);
        assert!(policy.require_digit && policy.require_special);
        assert!(policy.forbid_whitespace && policy.forbid_login);
        assert_eq!(policy.history_depth, 3);
        assert_eq!(policy.min_strength, Some(3));
        assert_eq!(policy.special_characters.chars().count(), 30);
        assert!(!policy.special_characters.contains('\''));
        assert!(!policy.special_characters.contains('\\'));
        assert_eq!(policy.validate(), Ok(()));
    }

    #[test]
    fn default_special_characters_are_those_of_the_help_page() {
        let help_page = "! \" # $ % & ( ) * + , - . / : ; < = > ? @ [ ] ^ _ ` { | } ~";
        let listed: String = help_page.split(' ').collect();
        assert_eq!(DEFAULT_SPECIAL_CHARACTERS, listed);
    }

    #[test]
    fn policy_deserializes_partially_with_defaults_for_the_rest() {
        let policy: PasswordPolicy =
            serde::Deserialize::deserialize(serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(
                [("min_length", 8usize), ("history_depth", 5usize)].into_iter(),
            ))
            .expect("valid policy");
        assert_eq!(policy.min_length, 8);
        assert_eq!(policy.history_depth, 5);
        assert_eq!(policy.max_length, 30);
        assert_eq!(policy.min_strength, Some(3));
    }

    // --- each rule alone ------------------------------------------------------------------

    #[test]
    fn strong_passwords_pass_every_rule() {
        for candidate in ["Tr0mbone-Velo-Nuage!", "Lune#Cactus7Piano", "K7#mq2!Zp9wX", "correct-Horse-battery-9staple"]
        {
            assert_eq!(check(candidate), Vec::new(), "{candidate}");
        }
    }

    #[test]
    fn password_2024_with_bang_passes_rules_but_is_weak() {
        let violations = check("Password2024!");
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(matches!(violations[0], Violation::TooWeak { .. }));
    }

    #[test]
    fn weak_password_carries_zxcvbn_feedback_as_translation_keys() {
        let violations = check("Password2024!");
        let Some(Violation::TooWeak { warning, suggestions }) = violations.first() else {
            panic!("expected TooWeak, got {violations:?}");
        };
        assert_eq!(*warning, Some("zxcvbn.warning.similar_to_common_password"));
        assert!(suggestions.contains(&"zxcvbn.suggestion.add_another_word"));
        assert!(suggestions.iter().all(|key| key.starts_with("zxcvbn.suggestion.")));
    }

    #[test]
    fn too_short_alone() {
        assert_eq!(check("Vx7#kq2!Lm"), vec![Violation::TooShort { min: 12 }]);
    }

    #[test]
    fn too_long_alone() {
        let candidate = "Vx7#kq2!Lm-Tr0mbone-Velo-Nuage!!";
        assert_eq!(candidate.chars().count(), 32);
        assert_eq!(check(candidate), vec![Violation::TooLong { max: 30 }]);
    }

    #[test]
    fn missing_lowercase_alone() {
        assert_eq!(check("VX7#KQ2!LMPZRT"), vec![Violation::MissingLowercase]);
    }

    #[test]
    fn missing_uppercase_alone() {
        assert_eq!(check("vx7#kq2!lmpzrt"), vec![Violation::MissingUppercase]);
    }

    #[test]
    fn missing_digit_alone() {
        assert_eq!(check("Vxh#kqw!LmpZrt"), vec![Violation::MissingDigit]);
    }

    #[test]
    fn missing_special_alone() {
        assert_eq!(check("Vx7Fkq2WLmpZrt"), vec![Violation::MissingSpecial]);
    }

    #[test]
    fn apostrophe_and_backslash_are_not_special() {
        assert_eq!(check("Vx7'kq2\\LmpZrt"), vec![Violation::MissingSpecial]);
    }

    #[test]
    fn contains_whitespace_alone() {
        assert_eq!(check("Vx7#kq2! LmpZrt"), vec![Violation::ContainsWhitespace]);
    }

    #[test]
    fn any_unicode_whitespace_is_refused() {
        for space in ['\t', '\n', '\u{a0}', '\u{202f}', '\u{2003}', '\u{3000}'] {
            let candidate = format!("Vx7#kq2!{space}LmpZrt");
            assert_eq!(check(&candidate), vec![Violation::ContainsWhitespace], "{space:?}");
        }
    }

    #[test]
    fn contains_login_alone() {
        assert_eq!(check("Xjean.dupont7#"), vec![Violation::ContainsLogin]);
    }

    #[test]
    fn login_check_ignores_case() {
        assert_eq!(check("#7JEAN.DUPONTx"), vec![Violation::ContainsLogin]);
        assert_eq!(check("#7Jean.Dupontx"), vec![Violation::ContainsLogin]);
        let upper_login = PasswordContext { login: "JEAN.DUPONT", user_inputs: &[] };
        assert_eq!(PasswordPolicy::default().check("Xjean.dupont7#", &upper_login), vec![Violation::ContainsLogin]);
    }

    #[test]
    fn blank_login_is_not_found_in_every_password() {
        let no_login = PasswordContext { login: "  ", user_inputs: &[] };
        assert_eq!(PasswordPolicy::default().check("Tr0mbone-Velo-Nuage!", &no_login), Vec::new());
    }

    #[test]
    fn every_broken_rule_is_reported_in_order() {
        assert_eq!(
            check(""),
            vec![
                Violation::TooShort { min: 12 },
                Violation::MissingLowercase,
                Violation::MissingUppercase,
                Violation::MissingDigit,
                Violation::MissingSpecial,
            ]
        );
        assert_eq!(
            check("jean.dupont and more words than thirty"),
            vec![
                Violation::TooLong { max: 30 },
                Violation::MissingUppercase,
                Violation::MissingDigit,
                Violation::ContainsWhitespace,
                Violation::ContainsLogin,
            ]
        );
    }

    #[test]
    fn strength_is_not_estimated_when_another_rule_is_broken() {
        // Weak as can be, but only the character rule is reported.
        assert_eq!(check("Password2024"), vec![Violation::MissingSpecial]);
    }

    // --- lengths --------------------------------------------------------------------------

    #[test]
    fn eleven_characters_are_too_short() {
        assert_eq!(check("Vx7#kq2!Lmp"), vec![Violation::TooShort { min: 12 }]);
    }

    #[test]
    fn twelve_characters_are_enough() {
        assert_eq!(check("Vx7#kq2!LmpZ"), Vec::new());
    }

    #[test]
    fn thirty_characters_are_allowed() {
        let candidate = "Vx7#kq2!Lm-Tr0mbone-Velo-Nuage";
        assert_eq!(candidate.chars().count(), 30);
        assert_eq!(check(candidate), Vec::new());
    }

    #[test]
    fn thirty_one_characters_are_too_long() {
        let candidate = "Vx7#kq2!Lm-Tr0mbone-Velo-Nuage!";
        assert_eq!(candidate.chars().count(), 31);
        assert_eq!(check(candidate), vec![Violation::TooLong { max: 30 }]);
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 12 characters, 24 bytes: long enough.
        let twelve = "Éé7#ÀàçÇ!ùÙz";
        assert_eq!(twelve.chars().count(), 12);
        assert!(twelve.len() > 12);
        assert!(!check(twelve).iter().any(|v| matches!(v, Violation::TooShort { .. })));
        // 30 characters but far more bytes: not too long.
        let thirty = "Éé7#ÀàçÇ!ùÙzÉé7#ÀàçÇ!ùÙzéèêëîï";
        assert_eq!(thirty.chars().count(), 30);
        assert!(!check(thirty).iter().any(|v| matches!(v, Violation::TooLong { .. })));
        // 11 characters of 4 bytes each are still too short.
        let emoji = "😀😀😀😀😀😀😀😀Aa1";
        assert_eq!(check(emoji), vec![Violation::TooShort { min: 12 }, Violation::MissingSpecial]);
    }

    #[test]
    fn accented_letters_do_not_count_as_lower_or_upper_case() {
        assert_eq!(check("ÉÈÀ7#çéè!ùüö"), vec![Violation::MissingLowercase, Violation::MissingUppercase]);
    }

    #[test]
    fn multibyte_passwords_that_meet_the_rules_are_accepted() {
        assert_eq!(check("Crème-Brûlée-Ardèche-7"), Vec::new());
        assert_eq!(check("Été🌞Pluie#Vent9"), Vec::new());
    }

    #[test]
    fn huge_input_is_refused_quickly_without_estimating_strength() {
        let huge = "Aa1!".repeat(250_000);
        let start = std::time::Instant::now();
        assert_eq!(check(&huge), vec![Violation::TooLong { max: 30 }]);
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn odd_unicode_never_panics() {
        let policy = PasswordPolicy { max_length: MAX_LENGTH_LIMIT, ..PasswordPolicy::default() };
        let samples = [
            "Aa1!\u{0}\u{1}\u{7f}xxxxxxxx",
            "Aa1!\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}",
            "Aa1!\u{200d}\u{200d}👩‍👩‍👧‍👦🏳️‍🌈xyzw",
            "Aa1!\u{fffd}\u{feff}\u{202e}gnirts",
            "Aa1!ǅǈǋ\u{10ffff}\u{e000}ßẞİı",
            "Aa1!ﬁﬂﬀﬃ１２３ＡＢＣ",
            "Aa1!한국어日本語中文עבריתالعربية",
        ];
        for sample in samples {
            let _ = policy.check(sample, &ctx());
            let _ = policy.check(&sample.repeat(20), &ctx());
        }
    }

    #[test]
    fn random_input_never_panics() {
        // A small xorshift, so the test needs no extra crate and is reproducible.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let policy = PasswordPolicy::default();
        for _ in 0..300 {
            let length = (next() % 40) as usize;
            let mut candidate = String::from("Aa1!");
            for _ in 0..length {
                let c = match next() % 4 {
                    0 => char::from_u32((next() % 0x80) as u32),
                    1 => char::from_u32((next() % 0x800) as u32),
                    2 => char::from_u32((next() % 0x3_0000) as u32),
                    _ => char::from_u32((next() % 0x11_0000) as u32),
                };
                candidate.push(c.unwrap_or('x'));
            }
            let _ = policy.check(&candidate, &ctx());
        }
    }

    // --- French passwords ------------------------------------------------------------------

    fn weak_because(candidate: &str) -> Option<&'static str> {
        match check(candidate).as_slice() {
            [Violation::TooWeak { warning, .. }] => *warning,
            other => panic!("{candidate}: {other:?}"),
        }
    }

    #[test]
    fn passwords_french_people_pick_are_refused_with_the_reason() {
        for (candidate, reason) in [
            ("Azerty123456!", "password.weak.keyboard_walk"),
            ("Soleil2024!!", "password.weak.common_password"),
            ("Motdepasse2024!", "password.weak.common_password"),
            // The context's institution is an « Université ».
            ("Universite2026!", "password.weak.personal_data"),
            ("Bonjour123456!", "password.weak.common_password"),
            ("Marseille13000!", "password.weak.common_password"),
            ("2024!Wxcvbn!#", "password.weak.keyboard_walk"),
            ("Grenouille2024!", "password.weak.french_word"),
            ("Sandrine1978!", "password.weak.first_name"),
            ("Strasbourg67!", "password.weak.place"),
            ("Polytechnique2024!", "password.weak.personal_data"),
            ("Dupont-1985!!", "password.weak.personal_data"),
        ] {
            assert_eq!(weak_because(candidate), Some(reason), "{candidate}");
        }
    }

    #[test]
    fn institution_words_come_from_the_policy() {
        let policy: PasswordPolicy =
            serde_json::from_str(r#"{"institution_words": ["UPHF", "Valenciennes"]}"#).expect("valid policy");
        assert_eq!(policy.min_length, 12, "other keys keep their defaults");
        let elsewhere = PasswordContext { login: "marie.curie", user_inputs: &[] };
        for candidate in ["Valenciennes59!", "!!Uphf2024!!#"] {
            let violations = policy.check(candidate, &elsewhere);
            let expected = Violation::TooWeak {
                warning: Some("password.weak.institution_word"),
                suggestions: vec!["zxcvbn.suggestion.use_a_few_words"],
            };
            assert_eq!(violations, vec![expected], "{candidate}");
        }
        assert!(PasswordPolicy::default().strength_inputs(&elsewhere).iter().all(|i| i != "uphf"));
        assert!(policy.strength_inputs(&elsewhere).iter().any(|i| i == "uphf"));
    }

    #[test]
    fn random_passwords_of_all_four_kinds_pass() {
        use rand::{Rng, SeedableRng, seq::SliceRandom};
        let mut rng = rand::rngs::StdRng::seed_from_u64(19);
        let kinds: [Vec<char>; 4] = [
            ('a'..='z').collect(),
            ('A'..='Z').collect(),
            ('0'..='9').collect(),
            DEFAULT_SPECIAL_CHARACTERS.chars().collect(),
        ];
        let all: Vec<char> = kinds.concat();
        let policy = PasswordPolicy::default();
        for _ in 0..1000 {
            let mut chars: Vec<char> = kinds.iter().map(|kind| kind[rng.gen_range(0..kind.len())]).collect();
            chars.extend((0..8).map(|_| all[rng.gen_range(0..all.len())]));
            chars.shuffle(&mut rng);
            let candidate: String = chars.into_iter().collect();
            assert_eq!(policy.check(&candidate, &ctx()), Vec::new(), "{candidate}");
        }
    }

    #[test]
    fn listed_passwords_are_refused_even_without_the_strength_check() {
        let list = weak_list::list_of(&[b"Trottinette#42", b"Vx7#kq2!LmpZ"]);
        for min_strength in [None, Some(3)] {
            let policy = PasswordPolicy { weak_list: list.clone(), min_strength, ..PasswordPolicy::default() };
            assert_eq!(policy.check("Vx7#kq2!LmpZ", &ctx()), vec![Guessable::Listed.violation()]);
            assert_eq!(policy.check("Vx7#kq2!LmpY", &ctx()), Vec::new());
        }
        let policy = PasswordPolicy { weak_list: list, ..PasswordPolicy::default() };
        assert_eq!(policy.check("Trottinette42", &ctx()), vec![Violation::MissingSpecial], "other rules first");
    }

    #[test]
    fn french_checks_are_off_with_the_strength_check() {
        for min_strength in [None, Some(0)] {
            let policy = PasswordPolicy { min_strength, ..PasswordPolicy::default() };
            assert_eq!(policy.check("Soleil2024!!", &ctx()), Vec::new());
        }
    }

    #[test]
    fn every_reason_of_our_own_is_translated() {
        for kind in [
            Guessable::KeyboardWalk,
            Guessable::CommonPassword,
            Guessable::FrenchWord,
            Guessable::FirstName,
            Guessable::Place,
            Guessable::InstitutionWord,
            Guessable::PersonalData,
            Guessable::Listed,
        ] {
            assert_translated(kind.key(), &[]);
        }
    }

    // --- user inputs ----------------------------------------------------------------------

    #[test]
    fn institution_name_makes_a_password_weak() {
        for candidate in ["Polytechnique2024!", "Universite2024!"] {
            let violations = check(candidate);
            assert!(matches!(violations.as_slice(), [Violation::TooWeak { .. }]), "{candidate}: {violations:?}");
        }
    }

    #[test]
    fn the_same_password_passes_without_that_context() {
        let elsewhere =
            PasswordContext { login: "marie.curie", user_inputs: &["Marie", "Curie", "07/11/1867", "Sorbonne"] };
        assert_eq!(PasswordPolicy::default().check("Polytechnique2024!", &elsewhere), Vec::new());
    }

    #[test]
    fn common_french_words_make_a_password_weak() {
        // zxcvbn's own dictionaries are English: without our list these would score 3.
        for candidate in ["Motdepasse2024!", "Jetaime1234!"] {
            let violations = check(candidate);
            assert!(matches!(violations.as_slice(), [Violation::TooWeak { .. }]), "{candidate}: {violations:?}");
            assert_eq!(u8::from(zxcvbn::zxcvbn(candidate, &[]).score()), 3);
        }
    }

    #[test]
    fn user_inputs_are_split_into_words_and_folded() {
        let inputs = PasswordPolicy::default().strength_inputs(&ctx());
        for expected in [
            "jean.dupont",
            "jean",
            "dupont",
            "1985",
            "université",
            "universite",
            "polytechnique",
            "hauts",
            "france",
            "azerty",
        ] {
            assert!(inputs.iter().any(|i| i == expected), "{expected} in {inputs:?}");
        }
        assert!(!inputs.iter().any(|i| i == "de" || i == "07" || i.is_empty()));
        let mut unique = inputs.clone();
        unique.dedup();
        assert_eq!(unique.len(), inputs.len());
    }

    #[test]
    fn strength_check_can_be_turned_off() {
        let policy = PasswordPolicy { min_strength: None, ..PasswordPolicy::default() };
        assert_eq!(policy.check("Password2024!", &ctx()), Vec::new());
        let zero = PasswordPolicy { min_strength: Some(0), ..PasswordPolicy::default() };
        assert_eq!(zero.check("Password2024!", &ctx()), Vec::new());
    }

    #[test]
    fn stricter_strength_refuses_more() {
        let policy = PasswordPolicy { min_strength: Some(4), ..PasswordPolicy::default() };
        assert!(matches!(policy.check("Jean1985!Soleil", &ctx()).as_slice(), [Violation::TooWeak { .. }]));
    }

    #[test]
    fn advice_against_symbols_is_dropped_when_the_rules_require_them() {
        let policy = PasswordPolicy::default();
        assert!(!policy.suggestion_fits(Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters));
        assert!(policy.suggestion_fits(Suggestion::AddAnotherWordOrTwo));
        let relaxed = PasswordPolicy {
            require_special: false,
            require_digit: false,
            require_uppercase: false,
            ..PasswordPolicy::default()
        };
        assert!(relaxed.suggestion_fits(Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters));
    }

    // --- another policy -------------------------------------------------------------------

    fn relaxed_policy() -> PasswordPolicy {
        PasswordPolicy {
            min_length: 8,
            max_length: 64,
            require_special: false,
            history_depth: 5,
            ..PasswordPolicy::default()
        }
    }

    #[test]
    fn non_default_policy_changes_check() {
        let policy = relaxed_policy();
        assert_eq!(policy.validate(), Ok(()));
        // No special character needed any more.
        assert_eq!(policy.check("Trombone7VeloNuage", &ctx()), Vec::new());
        // Shorter and longer passwords now fit.
        let long = "Trombone7VeloNuage-Cactus-Piano-Lune-Hiver-Marmotte-Oc";
        assert!(long.chars().count() > 30 && long.chars().count() <= 64);
        assert_eq!(policy.check(long, &ctx()), Vec::new());
        assert_eq!(policy.check("Tr0m!b", &ctx()), vec![Violation::TooShort { min: 8 }]);
        let too_long = "A1b".repeat(22);
        assert_eq!(policy.check(&too_long, &ctx()), vec![Violation::TooLong { max: 64 }]);
    }

    #[test]
    fn non_default_policy_changes_rules() {
        let rules = relaxed_policy().rules();
        let codes: Vec<&str> = rules.iter().map(|rule| rule.code).collect();
        assert_eq!(
            codes,
            [
                "password.rule.length",
                "password.rule.lowercase",
                "password.rule.uppercase",
                "password.rule.digit",
                "password.rule.no_whitespace",
                "password.rule.no_login",
                "password.rule.history",
                "password.rule.strength",
            ]
        );
        assert_eq!(rules[0].params, vec![("min", "8".to_owned()), ("max", "64".to_owned())]);
        assert_eq!(rules[6].params, vec![("depth", "5".to_owned())]);
    }

    #[test]
    fn default_rules_list_every_rule_with_its_values() {
        let rules = PasswordPolicy::default().rules();
        assert_eq!(
            rules,
            vec![
                Rule::new("password.rule.length", vec![("min", "12".to_owned()), ("max", "30".to_owned())]),
                Rule::new("password.rule.lowercase", vec![]),
                Rule::new("password.rule.uppercase", vec![]),
                Rule::new("password.rule.digit", vec![]),
                Rule::new(
                    "password.rule.special",
                    vec![("chars", "! \" # $ % & ( ) * + , - . / : ; < = > ? @ [ ] ^ _ ` { | } ~".to_owned())]
                ),
                Rule::new("password.rule.no_whitespace", vec![]),
                Rule::new("password.rule.no_login", vec![]),
                Rule::new("password.rule.history", vec![("depth", "3".to_owned())]),
                Rule::new("password.rule.strength", vec![]),
            ]
        );
    }

    #[test]
    fn rules_turned_off_are_not_listed() {
        let policy = PasswordPolicy {
            require_lowercase: false,
            require_uppercase: false,
            require_digit: false,
            require_special: false,
            forbid_whitespace: false,
            forbid_login: false,
            history_depth: 0,
            min_strength: None,
            ..PasswordPolicy::default()
        };
        let codes: Vec<&str> = policy.rules().iter().map(|rule| rule.code).collect();
        assert_eq!(codes, ["password.rule.length"]);
        assert_eq!(policy.check("   ", &ctx()), vec![Violation::TooShort { min: 12 }]);
        assert_eq!(policy.check("jean.dupont is here", &ctx()), Vec::new());
    }

    #[test]
    fn custom_special_set_is_used_by_check_and_rules() {
        let policy = PasswordPolicy { special_characters: "!?".to_owned(), ..PasswordPolicy::default() };
        assert_eq!(policy.validate(), Ok(()));
        assert_eq!(policy.check("Tr0mbone-Velo-Nuage", &ctx()), vec![Violation::MissingSpecial]);
        assert_eq!(policy.check("Tr0mbone?Velo?Nuage", &ctx()), Vec::new());
        assert!(policy.rules().contains(&Rule::new("password.rule.special", vec![("chars", "! ?".to_owned())])));
    }

    // --- configuration --------------------------------------------------------------------

    #[test]
    fn validate_refuses_zero_minimum() {
        let policy = PasswordPolicy { min_length: 0, ..PasswordPolicy::default() };
        assert_eq!(policy.validate(), Err(PolicyConfigError::MinLengthZero));
    }

    #[test]
    fn validate_refuses_maximum_below_minimum() {
        let policy = PasswordPolicy { min_length: 12, max_length: 11, ..PasswordPolicy::default() };
        assert_eq!(policy.validate(), Err(PolicyConfigError::MaxBelowMin { min: 12, max: 11 }));
        let equal = PasswordPolicy { min_length: 16, max_length: 16, ..PasswordPolicy::default() };
        assert_eq!(equal.validate(), Ok(()));
    }

    #[test]
    fn validate_refuses_huge_maximum() {
        let at_limit = PasswordPolicy { max_length: MAX_LENGTH_LIMIT, ..PasswordPolicy::default() };
        assert_eq!(at_limit.validate(), Ok(()));
        let over = PasswordPolicy { max_length: MAX_LENGTH_LIMIT + 1, ..PasswordPolicy::default() };
        assert_eq!(
            over.validate(),
            Err(PolicyConfigError::MaxTooLarge { max: MAX_LENGTH_LIMIT + 1, limit: MAX_LENGTH_LIMIT })
        );
    }

    #[test]
    fn validate_refuses_maximum_too_small_for_required_kinds() {
        let policy = PasswordPolicy { min_length: 1, max_length: 3, ..PasswordPolicy::default() };
        assert_eq!(policy.validate(), Err(PolicyConfigError::MaxBelowRequiredKinds { max: 3, required: 4 }));
    }

    #[test]
    fn validate_refuses_strength_above_four() {
        for value in 0..=MAX_STRENGTH {
            let policy = PasswordPolicy { min_strength: Some(value), ..PasswordPolicy::default() };
            assert_eq!(policy.validate(), Ok(()));
        }
        let policy = PasswordPolicy { min_strength: Some(5), ..PasswordPolicy::default() };
        assert_eq!(policy.validate(), Err(PolicyConfigError::StrengthOutOfRange { value: 5 }));
    }

    #[test]
    fn validate_refuses_empty_special_set_only_when_required() {
        let required = PasswordPolicy { special_characters: String::new(), ..PasswordPolicy::default() };
        assert_eq!(required.validate(), Err(PolicyConfigError::EmptySpecialSet));
        let not_required =
            PasswordPolicy { special_characters: String::new(), require_special: false, ..PasswordPolicy::default() };
        assert_eq!(not_required.validate(), Ok(()));
    }

    #[test]
    fn validate_refuses_letters_digits_and_blanks_as_special() {
        for (set, character) in [("!a", 'a'), ("1#", '1'), ("! ?", ' '), ("é!", 'é'), ("!\n", '\n')] {
            let policy = PasswordPolicy { special_characters: set.to_owned(), ..PasswordPolicy::default() };
            assert_eq!(policy.validate(), Err(PolicyConfigError::InvalidSpecialCharacter { character }), "{set:?}");
        }
    }

    // --- codes and translations -----------------------------------------------------------

    #[test]
    fn violation_codes_are_stable() {
        let codes: Vec<&str> = all_violations().iter().map(Violation::code).collect();
        assert_eq!(
            codes,
            [
                "password.too_short",
                "password.too_long",
                "password.missing_lowercase",
                "password.missing_uppercase",
                "password.missing_digit",
                "password.missing_special",
                "password.contains_whitespace",
                "password.contains_login",
                "password.too_weak",
                "password.reused_recent",
            ]
        );
    }

    #[test]
    fn violations_expose_their_numbers_as_params() {
        assert_eq!(Violation::TooShort { min: 12 }.params(), vec![("min", "12".to_owned())]);
        assert_eq!(Violation::TooLong { max: 30 }.params(), vec![("max", "30".to_owned())]);
        assert_eq!(Violation::ReusedRecent { depth: 3 }.params(), vec![("depth", "3".to_owned())]);
        assert_eq!(Violation::MissingDigit.params(), Vec::new());
    }

    #[test]
    fn violations_display_short_english() {
        assert_eq!(Violation::TooShort { min: 12 }.to_string(), "the password must be at least 12 characters long");
        assert_eq!(
            Violation::ReusedRecent { depth: 3 }.to_string(),
            "the password must differ from the last 3 passwords"
        );
    }

    #[test]
    fn every_violation_is_translated_with_its_placeholders() {
        for violation in all_violations() {
            let params: Vec<&str> = violation.params().iter().map(|(name, _)| *name).collect();
            assert_translated(violation.code(), &params);
        }
    }

    #[test]
    fn every_rule_is_translated_with_its_placeholders() {
        for rule in PasswordPolicy::default().rules() {
            let params: Vec<&str> = rule.params.iter().map(|(name, _)| *name).collect();
            assert_translated(rule.code, &params);
        }
        assert_translated(RULES_INTRO_CODE, &[]);
        assert_translated(MISMATCH_CODE, &[]);
    }

    #[test]
    fn every_config_error_is_translated_with_its_placeholders() {
        for error in all_config_errors() {
            let params: Vec<&str> = error.params().iter().map(|(name, _)| *name).collect();
            assert_translated(error.code(), &params);
        }
    }

    #[test]
    fn every_zxcvbn_warning_and_suggestion_is_translated() {
        for warning in ALL_WARNINGS {
            assert_translated(warning_key(warning), &[]);
        }
        for suggestion in ALL_SUGGESTIONS {
            assert_translated(suggestion_key(suggestion), &[]);
        }
    }

    #[test]
    fn zxcvbn_keys_are_distinct_and_none_is_left_over_in_the_file() {
        let mut keys: Vec<&str> = ALL_WARNINGS.iter().map(|w| warning_key(*w)).collect();
        keys.extend(ALL_SUGGESTIONS.iter().map(|s| suggestion_key(*s)));
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), keys.len());
        let in_file: Vec<&str> = LOCALES
            .lines()
            .filter(|line| line.starts_with("zxcvbn."))
            .filter_map(|line| line.strip_suffix(':'))
            .collect();
        assert_eq!(in_file.len(), keys.len());
        assert!(in_file.iter().all(|key| keys.contains(key)));
    }

    #[test]
    fn locale_file_is_version_2_without_duplicate_keys() {
        assert!(LOCALES.lines().any(|line| line == "_version: 2"));
        let mut keys: Vec<&str> = LOCALES
            .lines()
            .filter(|line| !line.starts_with(' ') && !line.starts_with('#') && !line.is_empty())
            .collect();
        let total = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), total, "duplicate key in password.yml");
    }
}
