#!/usr/bin/env python3
"""Builds french.txt, first_names.txt and places.txt from Debian's hunspell-fr dictionary
(Grammalecte, MPL-2.0): `apt-get install hunspell-fr && python3 generate.py`.

Entries are folded as the strength check folds a password (lower case, no accents, œ → oe,
letters only), at least 4 letters long; common words are kept up to 10 letters, which holds
the file to a few hundred KB (a longer word plus the required digit and symbol is left to
zxcvbn). Sorted, one a line, so that a diff shows what changed.
"""
import unicodedata

DIC = "/usr/share/hunspell/fr.dic"
MIN_LETTERS, MAX_WORD_LETTERS = 4, 10


def fold(word):
    word = word.lower().replace("œ", "oe").replace("æ", "ae")
    word = "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))
    return "".join(c for c in word if c.isalpha())


words, first_names, places = set(), set(), set()
with open(DIC, encoding="utf-8") as dic:
    next(dic)
    for line in dic:
        parts = line.split()
        tags = [p for p in parts[1:] if p.startswith("po:")]
        if not parts or not tags:
            continue
        raw, tag = parts[0].split("/")[0], tags[0]
        folded = fold(raw)
        if not folded.isascii() or len(folded) < MIN_LETTERS:
            continue
        if tag == "po:prn":
            first_names.add(folded)
        elif tag == "po:npr":
            places.add(folded)
        elif raw[0].islower() and len(folded) <= MAX_WORD_LETTERS and not tag.endswith("zz"):
            # Verbs tagged "zz" are the dictionary's rarest; capitalised entries are names.
            words.add(folded)
words -= first_names | places
for name, entries in [("french.txt", words), ("first_names.txt", first_names), ("places.txt", places)]:
    with open(name, "w", encoding="ascii") as out:
        out.write("".join(f"{entry}\n" for entry in sorted(entries)))
