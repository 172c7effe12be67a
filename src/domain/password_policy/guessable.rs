//! What zxcvbn cannot see in a French password: a French word, first name, place or common
//! password, or an AZERTY walk, dressed up with capitals, leetspeak and a few digits and
//! symbols (« Soleil2024!! », « M0tdepasse! », « Azerty123456! »). zxcvbn 3 takes no
//! dictionary or keyboard of our own, so this check runs first, on its own lists.

use std::sync::LazyLock;

use foldhash::HashMap;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::{Violation, keyboard};

/// Why a password is easy to guess; each has its own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guessable {
    KeyboardWalk,
    CommonPassword,
    FrenchWord,
    FirstName,
    Place,
    /// One of the configured words of the institution (name, city, acronym…).
    InstitutionWord,
    /// The person's names, login, identifiers or birth date.
    PersonalData,
    /// In the institution's list of refused passwords (`SESAME_WEAK_PASSWORDS_FILE`).
    Listed,
}

impl Guessable {
    /// Translation key of the message that says why.
    pub fn key(self) -> &'static str {
        match self {
            Self::KeyboardWalk => "password.weak.keyboard_walk",
            Self::CommonPassword => "password.weak.common_password",
            Self::FrenchWord => "password.weak.french_word",
            Self::FirstName => "password.weak.first_name",
            Self::Place => "password.weak.place",
            Self::InstitutionWord => "password.weak.institution_word",
            Self::PersonalData => "password.weak.personal_data",
            Self::Listed => "password.weak.listed",
        }
    }

    /// The refusal shown next to the field: « too easy to guess », this reason, and the advice
    /// to put a few words together.
    pub fn violation(self) -> Violation {
        Violation::TooWeak { warning: Some(self.key()), suggestions: vec!["zxcvbn.suggestion.use_a_few_words"] }
    }
}

/// Common passwords, written for Sésame; the other lists come from `words/generate.py`.
pub const COMMON_PASSWORDS: &str = include_str!("../words/passwords.txt");

/// Shorter words hide by chance in random passwords.
const MIN_WORD_LETTERS: usize = 4;

/// Every listed word, folded, with the list that names it; built once, on first use.
static DICTIONARY: LazyLock<HashMap<&'static str, Guessable>> = LazyLock::new(|| {
    let mut words = HashMap::default();
    // Later lists win: a common password is reported as such even when it is also a word.
    for (list, kind) in [
        (include_str!("../words/french.txt"), Guessable::FrenchWord),
        (include_str!("../words/places.txt"), Guessable::Place),
        (include_str!("../words/first_names.txt"), Guessable::FirstName),
        (COMMON_PASSWORDS, Guessable::CommonPassword),
    ] {
        words.extend(entries(list).map(|word| (word, kind)));
    }
    words
});

/// The entries of a list: one a line, `#` starting a comment line.
pub fn entries(list: &'static str) -> impl Iterator<Item = &'static str> {
    list.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// Lower case, no accents, « œ » and « æ » spelled out: how the lists are written.
pub fn fold(value: &str) -> String {
    let mut folded = String::with_capacity(value.len());
    for c in value.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase) {
        match c {
            'œ' => folded.push_str("oe"),
            'æ' => folded.push_str("ae"),
            'ß' => folded.push_str("ss"),
            other => folded.push(other),
        }
    }
    folded
}

/// The letters of a folded value, other characters dropped: « Hauts-de-France » is
/// « hautsdefrance », as a person would type it in a password.
fn letters(folded: &str) -> String {
    folded.chars().filter(char::is_ascii_lowercase).collect()
}

/// The digits and symbols people put for letters. « 1 » stands for « i » or « l »: both are tried.
fn unleet(c: char, one: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' | '!' | '|' => one,
        '3' | '€' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' | '+' => 't',
        '8' => 'b',
        '9' => 'g',
        _ => return None,
    })
}

/// The word a password is built on: what lies between its leading and trailing digits and
/// symbols, leetspeak read as letters, and other characters between letters dropped
/// (« M0t-de-passe2024! » → « motdepasse »). One spelling for each reading of « 1 ».
fn cores(folded: &str) -> Vec<String> {
    let inner = folded.trim_matches(|c: char| !c.is_ascii_lowercase());
    let mut cores: Vec<String> = ['i', 'l']
        .into_iter()
        .map(|one| {
            inner.chars().filter_map(|c| if c.is_ascii_lowercase() { Some(c) } else { unleet(c, one) }).collect()
        })
        .collect();
    cores.dedup();
    cores
}

/// The forms a word may take in a password: as is, reversed, doubled, or in the plural or
/// the feminine of a listed word.
fn forms(core: &str) -> Vec<String> {
    let mut forms = vec![core.to_owned(), core.chars().rev().collect()];
    let half = core.len() / 2;
    if core.len() % 2 == 0 && core[..half] == core[half..] {
        forms.push(core[..half].to_owned());
    }
    for ending in ["s", "x", "e", "es"] {
        if let Some(stem) = core.strip_suffix(ending) {
            forms.push(stem.to_owned());
        }
    }
    forms
}

/// Why the candidate is easy to guess, if it is. `institution_words` are the configured
/// ones; `personal` the person's data, each value whole (« Hauts-de-France », « 07/03/1985 »).
pub fn guessable(candidate: &str, institution_words: &[String], personal: &[&str]) -> Option<Guessable> {
    // Half the password on one keyboard walk: « Azerty123456! », « &é"'(-Soleil » (before
    // folding, which would turn « é » into a letter elsewhere on the keyboard).
    let chars: Vec<char> = candidate.chars().collect();
    if keyboard::walked(&chars) * 2 >= chars.len() {
        return Some(Guessable::KeyboardWalk);
    }
    // The same between digits and symbols (« Azerty2024!!! »), as typed: read as leetspeak,
    // « k0i1u » would pass for a walk.
    if keyboard::is_walk(candidate.trim_matches(|c: char| !c.is_alphabetic())) {
        return Some(Guessable::KeyboardWalk);
    }
    let folded = fold(candidate);
    let institution = word_set(institution_words.iter().map(String::as_str));
    let person = word_set(personal.iter().copied());
    for core in cores(&folded) {
        if core.len() < MIN_WORD_LETTERS {
            continue;
        }
        for form in forms(&core) {
            if person.iter().any(|word| *word == form) {
                return Some(Guessable::PersonalData);
            }
            if institution.iter().any(|word| *word == form) {
                return Some(Guessable::InstitutionWord);
            }
            if let Some(kind) = DICTIONARY.get(form.as_str()) {
                return Some(*kind);
            }
        }
    }
    None
}

/// Each value's words and all its letters together, folded: « Jean-Pierre » gives « jean »,
/// « pierre » and « jeanpierre ». Short pieces (« de », « 07 ») would match too much.
fn word_set<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut words = Vec::new();
    for value in values {
        let folded = fold(value);
        let pieces = folded.split(|c: char| !c.is_ascii_lowercase()).map(str::to_owned);
        for word in pieces.chain(std::iter::once(letters(&folded))) {
            if word.len() >= MIN_WORD_LETTERS && !words.contains(&word) {
                words.push(word);
            }
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(candidate: &str) -> Option<Guessable> {
        guessable(candidate, &["UPHF".to_owned(), "Valenciennes".to_owned()], &["Jean-Pierre", "Dupont", "jp.dupont"])
    }

    #[test]
    fn the_issues_passwords_are_guessable() {
        assert_eq!(check("Azerty123456!"), Some(Guessable::KeyboardWalk));
        assert_eq!(check("Soleil2024!!"), Some(Guessable::CommonPassword));
        assert_eq!(check("Motdepasse2024!"), Some(Guessable::CommonPassword));
        assert_eq!(check("Universite2026!"), Some(Guessable::CommonPassword));
        assert_eq!(check("Bonjour123456!"), Some(Guessable::CommonPassword));
        assert_eq!(check("Marseille13000!"), Some(Guessable::CommonPassword));
    }

    #[test]
    fn each_list_is_named_in_its_refusal() {
        assert_eq!(check("Qsdfghjk2024!"), Some(Guessable::KeyboardWalk));
        assert_eq!(check("Grenouille2024!"), Some(Guessable::FrenchWord));
        assert_eq!(check("Sandrine1978!"), Some(Guessable::FirstName));
        assert_eq!(check("Strasbourg67!"), Some(Guessable::Place));
        assert_eq!(check("Valenciennes59!"), Some(Guessable::InstitutionWord));
        assert_eq!(check("Uphf2024!!Uphf"), None, "two words are left to zxcvbn");
        assert_eq!(check("!!Uphf2024!!"), Some(Guessable::InstitutionWord));
        assert_eq!(check("JeanPierre1985!"), Some(Guessable::PersonalData));
        assert_eq!(check("Dupont-1985!!"), Some(Guessable::PersonalData));
    }

    #[test]
    fn disguises_are_seen_through() {
        for disguised in [
            "M0tDeP@sse2024!",
            "Mot-de-passe2024!",
            "2024!!Motdepasse",
            "ESSAPEDTOM2024!",
            "MotdepasseMotdepasse1!",
            "S0l3il#2024!",
            "Soleils2024!!",
            "B1sous2024!!!",
            "Étudiante2024!",
        ] {
            assert!(check(disguised).is_some(), "{disguised}");
        }
        assert_eq!(check("&é\"'(-Soleil"), Some(Guessable::KeyboardWalk));
        assert_eq!(check("Azerty2024!!!"), Some(Guessable::KeyboardWalk));
    }

    #[test]
    fn passphrases_and_random_passwords_are_left_to_zxcvbn() {
        for candidate in [
            "Tr0mbone-Velo-Nuage!",
            "Lune#Cactus7Piano",
            "K7#mq2!Zp9wX",
            "Vx7#kq2!LmpZ",
            "Jean1985!Soleil",
            ".,?K0==1k|^u",
        ] {
            assert_eq!(check(candidate), None, "{candidate}");
        }
    }

    #[test]
    fn short_cores_are_not_looked_up() {
        // « ami » is a word, but three letters hide in too many random passwords.
        assert_eq!(check("Ami#2024!785"), None);
    }

    #[test]
    fn folding_spells_out_ligatures_and_drops_accents() {
        assert_eq!(fold("Œuvre Lætitia Straße ÉTÉ ﬁ"), "oeuvre laetitia strasse ete fi");
    }

    #[test]
    fn cores_read_leetspeak_between_letters_only() {
        assert_eq!(cores(&fold("M0tdepa$$e2024!")), vec!["motdepasse"]);
        assert_eq!(cores(&fold("B1sous!")), vec!["bisous", "blsous"]);
        assert_eq!(cores("2024!!"), vec![""]);
    }

    #[test]
    fn every_list_loads_folded_and_without_blank_entries() {
        assert!(DICTIONARY.len() > 40_000, "{}", DICTIONARY.len());
        for word in DICTIONARY.keys() {
            assert!(word.len() >= 3 && word.chars().all(|c| c.is_ascii_lowercase()), "{word:?}");
        }
    }
}
