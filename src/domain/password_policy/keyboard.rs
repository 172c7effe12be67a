//! Walks along French keyboards: zxcvbn only knows QWERTY and Dvorak, so « azerty »,
//! « qsdfgh » or « &é"'( » (the digit row typed without Shift) look random to it.

use std::sync::LazyLock;

use foldhash::HashMap;

/// A key's place: column and row, each row drawn one column further right than on paper, so
/// that the six neighbours of a key are the same offsets everywhere (zxcvbn's slanted model).
type Position = (i8, i8);

/// Each row as the characters of its keys, unshifted then shifted, and the column of its first
/// key. Letter rows start under the second key of the digit row; the bottom row starts with the
/// ISO « < » key, which sits under the left half of « q ».
const AZERTY: [(i8, &str); 4] = [
    (0, "²²&1é2\"3'4(5-6è7_8ç9à0)°=+"),
    (1, "aAzZeErRtTyYuUiIoOpP^¨$£"),
    (1, "qQsSdDfFgGhHjJkKlLmMù%*µ"),
    (0, "<>wWxXcCvVbBnN,?;.:/!§"),
];

/// The Mac variant: « @ » before « & », « § » and « ! » on the digit row, « = » bottom right.
const AZERTY_MAC: [(i8, &str); 4] = [
    (0, "@#&1é2\"3'4(5§6è7!8ç9à0)°-_"),
    (1, "aAzZeErRtTyYuUiIoOpP^¨$*"),
    (1, "qQsSdDfFgGhHjJkKlLmMù%`£"),
    (0, "<>wWxXcCvVbBnN,?;.:/=+"),
];

/// Rows people type as passwords, given to zxcvbn as words so that its advice names them.
pub const ROWS: &[&str] = &["azerty", "azertyuiop", "qsdfgh", "qsdfghjklm", "wxcvbn", "wxcvbn,;:!"];

/// Walks shorter than this are too common by chance to mean anything.
pub const MIN_WALK: usize = 4;

const NEIGHBOURS: [Position; 6] = [(-1, 0), (1, 0), (0, -1), (1, -1), (0, 1), (-1, 1)];

struct Layout(HashMap<char, Position>);

impl Layout {
    fn new(rows: &[(i8, &str); 4]) -> Self {
        let mut keys = HashMap::default();
        for (row, (first_column, chars)) in (0i8..).zip(rows) {
            let chars: Vec<char> = chars.chars().collect();
            for (column, pair) in (*first_column..).zip(chars.chunks(2)) {
                for c in pair {
                    keys.insert(*c, (column, row));
                }
            }
        }
        Self(keys)
    }

    fn adjacent(&self, a: char, b: char) -> bool {
        match (self.0.get(&a), self.0.get(&b)) {
            (Some(&(ax, ay)), Some(&(bx, by))) => NEIGHBOURS.contains(&(bx - ax, by - ay)),
            _ => false,
        }
    }

    /// How many characters belong to walks of at least `MIN_WALK` keys.
    fn walked(&self, chars: &[char]) -> usize {
        let mut covered = 0;
        let mut run = 1;
        for pair in chars.windows(2) {
            if self.adjacent(pair[0], pair[1]) {
                run += 1;
            } else {
                if run >= MIN_WALK {
                    covered += run;
                }
                run = 1;
            }
        }
        if run >= MIN_WALK { covered + run } else { covered }
    }
}

static LAYOUTS: LazyLock<[Layout; 2]> = LazyLock::new(|| [Layout::new(&AZERTY), Layout::new(&AZERTY_MAC)]);

/// The most characters of `chars` that walks cover on one French layout.
pub fn walked(chars: &[char]) -> usize {
    LAYOUTS.iter().map(|layout| layout.walked(chars)).max().unwrap_or(0)
}

/// Whether all of `word` is one walk on a French layout.
pub fn is_walk(word: &str) -> bool {
    let chars: Vec<char> = word.chars().collect();
    chars.len() >= MIN_WALK && walked(&chars) == chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walked_str(s: &str) -> usize {
        walked(&s.chars().collect::<Vec<_>>())
    }

    #[test]
    fn rows_columns_and_zigzags_are_walks() {
        for walk in ["azerty", "azertyuiop", "qsdfghjklm", "wxcvbn", "poiuyt", "azsxdc", "&é\"'(-", "AZERTY"] {
            assert!(is_walk(walk), "{walk}");
        }
        // On the digit row, Shift gives the digits: « 123456 » is the same walk as « &é"'(- ».
        assert!(is_walk("123456"));
    }

    #[test]
    fn every_row_given_to_zxcvbn_is_a_walk() {
        for row in ROWS {
            assert!(is_walk(row), "{row}");
        }
    }

    #[test]
    fn mac_keys_differ_from_pc_keys() {
        // « ! » is right of « : » on a PC, on the digit row of a Mac, between « è » and « ç ».
        assert!(is_walk("è!çà"));
        assert!(is_walk("wxcvbn,;:!"));
        // « = » is bottom right on a Mac, top right on a PC.
        assert!(is_walk("=:;,"));
        assert!(is_walk("^$*ù"));
    }

    #[test]
    fn qwerty_only_rows_and_random_letters_are_not_walks() {
        for word in ["qwerty", "asdfgh", "zxcvbn", "soleil", "bonjour", "kzqm", "xkcd"] {
            assert!(!is_walk(word), "{word}");
        }
        assert!(is_walk("azer"));
        assert!(!is_walk("aze"), "three keys are not a walk");
    }

    #[test]
    fn only_runs_of_four_keys_or_more_are_counted() {
        assert_eq!(walked_str("Azerty123456!"), 12);
        assert_eq!(walked_str("aze-Kp9!"), 0);
        assert_eq!(walked_str("xazerx"), 4);
        assert_eq!(walked_str(""), 0);
    }
}
