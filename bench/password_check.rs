//! Benchmark: the time of one password check under the default policy (rules, our French
//! lists and AZERTY walks, then zxcvbn), per kind of candidate, with the person's words and
//! the institution's as the activation page passes them. Target: a few milliseconds at p99.
//!
//! Run: `cargo run --release --example password_check [N]` (default 2,000 random candidates);
//! the first check, which builds the word lists, is timed on its own. Each check is timed on
//! the wall clock and in this thread's CPU time, which a busy machine's waits do not inflate.

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

/// This thread's CPU time.
fn cpu_now() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Wall and CPU time of one check, and whether it passed.
fn time(policy: &PasswordPolicy, ctx: &PasswordContext<'_>, candidate: &str) -> (Duration, Duration, bool) {
    let (start, cpu) = (Instant::now(), cpu_now());
    let accepted = policy.check(candidate, ctx).is_empty();
    (start.elapsed(), cpu_now() - cpu, accepted)
}

fn quantiles(mut times: Vec<Duration>) -> String {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    format!("median {:.3} ms, p99 {:.3} ms, max {:.3} ms", at(0.5), at(0.99), at(1.0))
}

fn report(label: &str, wall: Vec<Duration>, cpu: Vec<Duration>, accepted: usize) {
    println!("{label} (n={}, accepted {accepted})", wall.len());
    println!("    wall: {}", quantiles(wall));
    println!("    cpu:  {}", quantiles(cpu));
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let policy = PasswordPolicy {
        institution_words: vec!["UPHF".into(), "Valenciennes".into(), "Mont-Houy".into()],
        ..PasswordPolicy::default()
    };
    let ctx = PasswordContext { login: "jean.dupont", user_inputs: INPUTS };
    let (first, first_cpu, _) = time(&policy, &ctx, "Soleil2024!!");
    println!(
        "first check (builds the word lists): {:.1} ms wall, {:.1} ms cpu",
        first.as_secs_f64() * 1000.0,
        first_cpu.as_secs_f64() * 1000.0
    );

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
    let (mut every_wall, mut every_cpu, mut every_accepted) = (Vec::new(), Vec::new(), 0);
    for (label, candidates) in groups {
        // Small groups are cycled so that each kind gets as many timings as the random ones.
        let (mut wall, mut cpu, mut accepted) = (Vec::with_capacity(n), Vec::with_capacity(n), 0);
        for candidate in candidates.iter().cycle().take(n.max(candidates.len())) {
            let (elapsed, used, ok) = time(&policy, &ctx, candidate);
            wall.push(elapsed);
            cpu.push(used);
            accepted += usize::from(ok);
        }
        every_wall.extend_from_slice(&wall);
        every_cpu.extend_from_slice(&cpu);
        every_accepted += accepted;
        report(&label, wall, cpu, accepted);
    }
    report("all checks", every_wall, every_cpu, every_accepted);
}
