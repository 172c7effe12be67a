//! Benchmark: the time of one password check under the default policy (rules, our French
//! lists and AZERTY walks, then zxcvbn), per kind of candidate, with the person's words and
//! the institution's as the activation page passes them. Target: a few milliseconds at p99.
//!
//! Run: `cargo run --release --example password_check [N]` (default 2,000 random candidates);
//! the first check, which builds the word lists, is timed on its own.

use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sesame::domain::password_policy::{DEFAULT_SPECIAL_CHARACTERS, PasswordContext, PasswordPolicy};

const INPUTS: &[&str] =
    &["Jean", "Dupont", "07/03/1985", "1985-03-07", "1985", "Université Polytechnique Hauts-de-France"];

/// Refused by our lists before zxcvbn runs.
const FRENCH_WEAK: &[&str] = &[
    "Azerty123456!",
    "Soleil2024!!",
    "Motdepasse2024!",
    "Universite2026!",
    "Bonjour123456!",
    "Marseille13000!",
    "Grenouille2024!",
    "Sandrine1978!",
];

/// Passphrases that go all the way through zxcvbn, the slowest path.
const PASSPHRASES: &[&str] = &["Tr0mbone-Velo-Nuage!", "Lune#Cactus7Piano", "correct-Horse-battery-9staple"];

fn random_password(rng: &mut impl Rng, length: usize) -> String {
    let kinds: [Vec<char>; 4] = [
        ('a'..='z').collect(),
        ('A'..='Z').collect(),
        ('0'..='9').collect(),
        DEFAULT_SPECIAL_CHARACTERS.chars().collect(),
    ];
    let all = kinds.concat();
    let mut chars: Vec<char> = kinds.iter().map(|kind| kind[rng.gen_range(0..kind.len())]).collect();
    chars.extend((4..length).map(|_| all[rng.gen_range(0..all.len())]));
    chars.shuffle(rng);
    chars.into_iter().collect()
}

fn time(policy: &PasswordPolicy, ctx: &PasswordContext<'_>, candidate: &str) -> (Duration, bool) {
    let start = Instant::now();
    let accepted = policy.check(candidate, ctx).is_empty();
    (start.elapsed(), accepted)
}

fn report(label: &str, mut times: Vec<Duration>, accepted: usize) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    println!(
        "{label:<36} n={:<6} accepted={accepted:<6} median {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        times.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let policy = PasswordPolicy {
        institution_words: vec!["UPHF".into(), "Valenciennes".into(), "Mont-Houy".into()],
        ..PasswordPolicy::default()
    };
    let ctx = PasswordContext { login: "jean.dupont", user_inputs: INPUTS };
    let (first, _) = time(&policy, &ctx, "Soleil2024!!");
    println!("first check (builds the word lists): {:.1} ms", first.as_secs_f64() * 1000.0);

    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let mut groups: Vec<(String, Vec<String>)> = vec![
        ("French weak (refused by our lists)".into(), FRENCH_WEAK.iter().map(|s| (*s).to_owned()).collect()),
        ("passphrases (through zxcvbn)".into(), PASSPHRASES.iter().map(|s| (*s).to_owned()).collect()),
    ];
    for length in [12, 20, 30] {
        groups.push((
            format!("random, {length} characters"),
            (0..n).map(|_| random_password(&mut rng, length)).collect(),
        ));
    }
    let (mut every, mut every_accepted) = (Vec::new(), 0);
    for (label, candidates) in groups {
        // Small groups are cycled so that each kind gets as many timings as the random ones.
        let mut times = Vec::with_capacity(n);
        let mut accepted = 0;
        for candidate in candidates.iter().cycle().take(n.max(candidates.len())) {
            let (elapsed, ok) = time(&policy, &ctx, candidate);
            times.push(elapsed);
            accepted += usize::from(ok);
        }
        every.extend_from_slice(&times);
        every_accepted += accepted;
        report(&label, times, accepted);
    }
    report("all checks", every, every_accepted);
}
