//! Benchmark: saturation. 2 × cores clients run whole activations for a bounded time, against
//! the ceiling cores ÷ (2 hashes × the time of one hash, measured in the same run); then N
//! password posts arrive at once while the server's resident memory is sampled.
//!
//! Last, the overload: 4 × the saturation's clients for a few seconds, half of them walking to
//! the password step and posting it, half reading pages; the hashing queue's bound
//! (`SESAME_HASH_WAIT_SECONDS`, 5 s) sheds the posts it cannot serve in time.
//!
//! Run: `cargo run --release --example saturation [seconds] [N] [overload seconds]` (default
//! 20 s, 500 and 10 s) with
//! `target/release/sesame` built (or `$SESAME_BIN`); SQLite, or PostgreSQL with
//! `$BENCH_DATABASE_URL`. The clients run on the same machine as the server (and the database):
//! what they and PostgreSQL use of the cores is reported, since hashes compete with it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use support::{csrf, status_kib};

#[path = "support.rs"]
mod support;

/// Argon2 hashes in one activation: the security answer's and the password's.
const HASHES_PER_ACTIVATION: f64 = 2.0;

/// Ten hashes one at a time, each timed.
async fn time_hashes(hasher: &sesame::hashing::Hasher) -> Vec<Duration> {
    let mut times = Vec::with_capacity(10);
    for i in 0..10 {
        let start = Instant::now();
        hasher.hash(&SecretString::from(format!("seul-{i}"))).await.unwrap();
        times.push(start.elapsed());
    }
    times
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// CPU seconds (user + system) from a `/proc/…/stat` line: the process's own, plus, with
/// `reaped`, those of its children that have exited.
fn stat_cpu(stat: &str, reaped: bool) -> f64 {
    // Fields after the command name, which is in parentheses and may hold spaces: utime,
    // stime, cutime and cstime are fields 14 to 17 of the line, 11 to 14 from the state (field 3).
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    let children = if reaped { field(13) + field(14) } else { 0 };
    (field(11) + field(12) + children) as f64 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// CPU seconds used so far by the process `pid`.
fn process_cpu(pid: u32) -> f64 {
    stat_cpu(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default(), false)
}

/// CPU seconds used so far by the threads of `pid` whose name starts with `prefix`.
fn threads_cpu(pid: u32, prefix: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0.0 };
    tasks
        .filter_map(Result::ok)
        .map(|task| std::fs::read_to_string(task.path().join("stat")).unwrap_or_default())
        .filter(|stat| stat.split_once('(').is_some_and(|(_, name)| name.starts_with(prefix)))
        .map(|stat| stat_cpu(&stat, false))
        .sum()
}

/// CPU seconds used so far by every process named `name` (PostgreSQL's backends), those that
/// have exited included: a backend that ended during the run (the last run's connections, say)
/// would otherwise take its whole CPU time out of the difference, which came out negative.
/// The postmaster, their parent, holds the time of the ended ones.
fn processes_cpu(name: &str) -> f64 {
    let Ok(processes) = std::fs::read_dir("/proc") else { return 0.0 };
    processes
        .filter_map(Result::ok)
        .filter(|p| p.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .map(|p| std::fs::read_to_string(p.path().join("stat")).unwrap_or_default())
        .filter(|stat| stat.split_once('(').is_some_and(|(_, rest)| rest.starts_with(&format!("{name})"))))
        .map(|stat| stat_cpu(&stat, true))
        .sum()
}

/// CPU seconds the whole machine spent busy so far, all cores together.
fn machine_busy() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> =
        stat.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
    (cpu.iter().sum::<u64>() - idle) as f64 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// Samples the resident memory of `pid` every 10 ms until `sampling` turns false; the peak.
fn sample_rss(pid: u32, sampling: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut peak = 0;
        while sampling.load(Ordering::Relaxed) {
            peak = peak.max(status_kib(pid, "VmRSS:"));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        peak
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let n: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(500);
    let overload_seconds: u64 = std::env::args().nth(3).and_then(|a| a.parse().ok()).unwrap_or(10);
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let clients = 2 * cores;

    // One hash alone, with the server's parameters, before the load and again after it (the
    // machine's speed drifts): the ceiling takes the median of both.
    let hasher = sesame::hashing::Hasher::owasp();
    let mut alone = time_hashes(&hasher).await;
    let first = median(alone.clone()).as_secs_f64();
    // The same hashes, as many at once as there are cores: what the memory bus allows.
    let start = Instant::now();
    let together: Vec<_> = (0..4 * cores)
        .map(|i| {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.hash(&SecretString::from(format!("ensemble-{i}"))).await.unwrap() })
        })
        .collect();
    for h in together {
        h.await.unwrap();
    }
    let parallel_hash = start.elapsed().as_secs_f64() * cores as f64 / (4 * cores) as f64;
    // Enough people for twice the rate the first hashes allow, then the burst's.
    let planned = (2.0 * cores as f64 / (HASHES_PER_ACTIVATION * first) * seconds as f64) as usize + 100;
    // The overload's posters can start at most one activation every 50 ms each.
    let overloaders = 4 * clients;
    let overload_people = overloaders / 2 * (overload_seconds as usize * 20 + 1);
    let server = support::Server::start(planned + n + overload_people, "s", "target/release/sesame");
    let base = Arc::new(server.base.clone());
    let pid = server.process.id();

    // Saturation: each client runs one whole activation after another until the time is up.
    let next = Arc::new(AtomicUsize::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let peak = sample_rss(pid, sampling.clone());
    let me = std::process::id();
    let (cpu_before, hashing_before, clients_before, database_before, busy_before, argon2_before) = (
        process_cpu(pid),
        threads_cpu(pid, "argon2-"),
        process_cpu(me),
        processes_cpu("postgres"),
        machine_busy(),
        support::argon2_seconds(&base).await,
    );
    let start = Instant::now();
    let stop_at = start + Duration::from_secs(seconds);
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (base, next) = (base.clone(), next.clone());
        running.spawn(async move {
            let (mut done, mut failures) = (0usize, Vec::new());
            while Instant::now() < stop_at {
                let i = next.fetch_add(1, Ordering::Relaxed);
                assert!(i < planned, "more activations than people imported");
                let client = support::browser();
                let password = format!("Charge-Vélo-{i}-Lune!");
                match support::activate(&client, &base, &format!("S{i}"), &password).await {
                    Ok(_) => done += 1,
                    Err(failure) => failures.push(failure),
                }
            }
            (done, failures)
        });
    }
    let (mut activations, mut failures) = (0, BTreeMap::new());
    while let Some(finished) = running.join_next().await {
        let (done, failed) = finished.unwrap();
        activations += done;
        for (path, status) in failed {
            *failures.entry(format!("{path} {status}")).or_insert(0) += 1;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (server_cpu, hashing_cpu, clients_cpu, database_cpu, machine_cpu, argon2) = (
        process_cpu(pid) - cpu_before,
        threads_cpu(pid, "argon2-") - hashing_before,
        process_cpu(me) - clients_before,
        processes_cpu("postgres") - database_before,
        machine_busy() - busy_before,
        support::argon2_seconds(&base).await - argon2_before,
    );
    sampling.store(false, Ordering::Relaxed);
    let saturation_peak = peak.await.unwrap();
    let after = time_hashes(&hasher).await;
    let last = median(after.clone()).as_secs_f64();
    alone.extend(after);
    drop(hasher);
    let hash = median(alone).as_secs_f64();
    let ceiling = cores as f64 / (HASHES_PER_ACTIVATION * hash);
    let server_5xx: usize = failures
        .iter()
        .filter(|(k, _)| k.split_whitespace().nth(1).is_some_and(|s| s.starts_with('5')))
        .map(|(_, v)| v)
        .sum();

    // The burst: N people brought to the password step, 16 at a time, then every post at once.
    let limit = Arc::new(tokio::sync::Semaphore::new(16));
    let mut ready = tokio::task::JoinSet::new();
    for i in planned..planned + n {
        let (base, limit) = (base.clone(), limit.clone());
        ready.spawn(async move {
            let _permit = limit.acquire().await.unwrap();
            let client = support::browser();
            support::up_to_password(&client, &base, &format!("S{i}")).await.unwrap();
            let page = client.get(format!("{base}/activate/password")).send().await.unwrap().text().await.unwrap();
            (client, csrf(&page))
        });
    }
    let mut sessions = Vec::with_capacity(n);
    while let Some(done) = ready.join_next().await {
        sessions.push(done.unwrap());
    }
    let before = status_kib(pid, "VmRSS:");
    let sampling = Arc::new(AtomicBool::new(true));
    let peak = sample_rss(pid, sampling.clone());
    let burst = Instant::now();
    let mut posts = tokio::task::JoinSet::new();
    for (i, (client, token)) in sessions.into_iter().enumerate() {
        let base = base.clone();
        posts.spawn(async move {
            let password = format!("Burst-Vélo-{i}-Lune!");
            let fields = [
                ("csrf_token", token.as_str()),
                ("password", &password),
                ("password_confirm", &password),
                ("accept_rules", "on"),
            ];
            client.post(format!("{base}/activate/password")).form(&fields).send().await.map(|r| r.status())
        });
    }
    let mut by_status = BTreeMap::new();
    while let Some(done) = posts.join_next().await {
        let key = match done.unwrap() {
            Ok(s) => s.as_u16().to_string(),
            Err(e) => format!("error: {e}"),
        };
        *by_status.entry(key).or_insert(0) += 1;
    }
    let burst_time = burst.elapsed().as_secs_f64();
    sampling.store(false, Ordering::Relaxed);
    let burst_peak = peak.await.unwrap();
    let hwm = status_kib(pid, "VmHWM:");
    let overload = overload(&base, overloaders, overload_seconds, planned + n).await;
    let store = server.store;
    server.stop();

    let rate = activations as f64 / elapsed;
    let per = |seconds: f64| seconds / activations as f64 * 1e3;
    println!("store: {store}; {cores} cores, {clients} clients, {seconds} s");
    println!(
        "one Argon2 hash alone: {:.1} ms (before the load {:.1}, after it {:.1}); {cores} at once: {:.1} ms each",
        hash * 1e3,
        first * 1e3,
        last * 1e3,
        parallel_hash * 1e3
    );
    println!("ceiling: {cores} ÷ ({HASHES_PER_ACTIVATION} × {:.1} ms) = {ceiling:.1} activations/s", hash * 1e3);
    println!(
        "saturation: {activations} activations in {elapsed:.1} s = {rate:.1}/s, {:.0} % of the ceiling (target ≥ 80 %)",
        100.0 * rate / ceiling
    );
    println!("  unexpected answers: {failures:?}; 5xx: {server_5xx} (target 0)");
    println!(
        "  CPU per activation: server {:.1} ms ({:.1} ms hashing, {:.1} ms the rest), clients {:.1} ms, \
         PostgreSQL {:.1} ms, anything else running on the machine {:.1} ms",
        per(server_cpu),
        per(hashing_cpu),
        per(server_cpu - hashing_cpu),
        per(clients_cpu),
        per(database_cpu),
        per(machine_cpu - server_cpu - clients_cpu - database_cpu),
    );
    // What the same work would give on cores that do nothing else (another engineer's build
    // shares this machine at times): the figure to compare when "anything else" is not ~0.
    let alone = cores as f64 / (server_cpu + clients_cpu + database_cpu) * activations as f64;
    println!(
        "  projected on otherwise idle cores: {cores} ÷ ({:.1} ms) = {alone:.1}/s, {:.0} % of the ceiling",
        per(server_cpu + clients_cpu + database_cpu),
        100.0 * alone / ceiling
    );
    println!(
        "  each hash took {:.1} ms of wall time under load, {:.1} ms of CPU ({:.1} ms alone)",
        argon2 / (HASHES_PER_ACTIVATION * activations as f64) * 1e3,
        hashing_cpu / (HASHES_PER_ACTIVATION * activations as f64) * 1e3,
        hash * 1e3
    );
    println!(
        "  cores busy: {:.0} % of {cores}; hashing threads busy {:.0} %; server peak RSS {:.1} MiB",
        100.0 * machine_cpu / (elapsed * cores as f64),
        100.0 * argon2 / (elapsed * cores as f64),
        mib(saturation_peak)
    );
    println!(
        "burst: {n} password posts at once answered in {burst_time:.1} s ({:.1}/s): {by_status:?}",
        n as f64 / burst_time
    );
    println!(
        "  server RSS before: {:.1} MiB; peak during the burst: {:.1} MiB (target ≤ 300); VmHWM over the run: {:.1} MiB",
        mib(before),
        mib(burst_peak),
        mib(hwm)
    );
    overload.print(overloaders, clients);
}

/// What the overload phase saw.
#[derive(Default)]
struct Overload {
    seconds: f64,
    /// Every page read, its time.
    pages: Vec<Duration>,
    /// Password posts (the question's answer and the password, each hashed) served, and the slowest.
    served: usize,
    slowest_served: Duration,
    /// Refused by the hashing queue's bound: 503 with Retry-After: 5.
    shed: usize,
    slowest_shed: Duration,
    timeouts: usize,
    /// Any other 5xx, and any other unexpected answer.
    other_5xx: usize,
    other: BTreeMap<String, usize>,
}

impl Overload {
    fn post(&mut self, status: Option<reqwest::StatusCode>, retry: Option<&str>, took: Duration) {
        match status {
            None => self.timeouts += 1,
            Some(s) if s.as_u16() == 503 && retry == Some("5") => {
                self.shed += 1;
                self.slowest_shed = self.slowest_shed.max(took);
            }
            Some(s) if s.is_server_error() => self.other_5xx += 1,
            Some(s) if s.is_redirection() => {
                self.served += 1;
                self.slowest_served = self.slowest_served.max(took);
            }
            Some(s) => *self.other.entry(s.as_u16().to_string()).or_insert(0) += 1,
        }
    }

    fn merge(&mut self, other: Overload) {
        self.pages.extend(other.pages);
        self.served += other.served;
        self.slowest_served = self.slowest_served.max(other.slowest_served);
        self.shed += other.shed;
        self.slowest_shed = self.slowest_shed.max(other.slowest_shed);
        self.timeouts += other.timeouts;
        self.other_5xx += other.other_5xx;
        for (k, v) in other.other {
            *self.other.entry(k).or_insert(0) += v;
        }
    }

    fn print(mut self, overloaders: usize, clients: usize) {
        self.pages.sort();
        let p99 = self.pages.get(self.pages.len() * 99 / 100).copied().unwrap_or_default();
        let posts = (self.served + self.shed).max(1);
        println!(
            "overload: {overloaders} clients (4 × {clients}) for {:.1} s, half posting passwords, half reading pages",
            self.seconds
        );
        println!("  pages: {} read, p99 {:.1} ms (target ≤ 50)", self.pages.len(), p99.as_secs_f64() * 1e3);
        println!(
            "  password posts: {} served ({:.0} %), {} shed with the 503 ({:.0} %); slowest served {:.2} s \
             (target ≤ the 5 s bound + one hash), slowest shed {:.3} s",
            self.served,
            100.0 * self.served as f64 / posts as f64,
            self.shed,
            100.0 * self.shed as f64 / posts as f64,
            self.slowest_served.as_secs_f64(),
            self.slowest_shed.as_secs_f64()
        );
        println!(
            "  timeouts: {} (target 0); 5xx other than the shedding 503: {} (target 0); other answers: {:?}",
            self.timeouts, self.other_5xx, self.other
        );
    }
}

/// A client whose requests give up after a minute: what a browser would call a time-out.
fn patient_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Posts a form (its token read from the form's page) and times the post alone.
async fn timed_post(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    fields: &[(&str, &str)],
    seen: &mut Overload,
) -> bool {
    let Ok(page) = client.get(format!("{base}{path}")).send().await else {
        seen.timeouts += 1;
        return false;
    };
    let Ok(page) = page.text().await else { return false };
    let token = csrf(&page);
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    let start = Instant::now();
    let answer = client.post(format!("{base}{path}")).form(&all).send().await.ok();
    let retry = answer.as_ref().and_then(|a| a.headers().get("retry-after")?.to_str().ok().map(str::to_owned));
    let status = answer.map(|a| a.status());
    seen.post(status, retry.as_deref(), start.elapsed());
    status.is_some_and(|s| s.is_redirection())
}

/// `overloaders` clients for `seconds`: half activate people from `first` on (the answer and the
/// password are the posts that hash), half read pages that need no hash.
async fn overload(base: &Arc<String>, overloaders: usize, seconds: u64, first: usize) -> Overload {
    let next = Arc::new(AtomicUsize::new(first));
    let start = Instant::now();
    let stop_at = start + Duration::from_secs(seconds);
    let mut running = tokio::task::JoinSet::new();
    for worker in 0..overloaders {
        let (base, next) = (base.clone(), next.clone());
        running.spawn(async move {
            let mut seen = Overload::default();
            while Instant::now() < stop_at {
                let client = patient_browser();
                if worker % 2 == 1 {
                    for path in ["/", "/activate/identify?method=staff_number", "/help"] {
                        let asked = Instant::now();
                        match client.get(format!("{base}{path}")).send().await {
                            Ok(r) if r.status().is_server_error() => seen.other_5xx += 1,
                            Ok(_) => seen.pages.push(asked.elapsed()),
                            Err(_) => seen.timeouts += 1,
                        }
                    }
                    continue;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let id = format!("S{i}");
                let identify = [("method", "staff_number"), ("identifier", id.as_str()), ("birth_date", "01/01/1980")];
                let path = "/activate/identify?method=staff_number";
                let identified = support::post(&client, &base, path, &identify).await;
                if identified != reqwest::StatusCode::SEE_OTHER {
                    seen.post(Some(identified), None, Duration::ZERO);
                    continue;
                }
                let answer = [("question", "first_pet"), ("custom_question", ""), ("answer", "Crème Brûlée")];
                if !timed_post(&client, &base, "/activate/question", &answer, &mut seen).await {
                    continue;
                }
                support::post(&client, &base, "/activate/sms", &[("sms_consent", "no")]).await;
                support::post(&client, &base, "/activate/photo", &[("photo_consent", "no")]).await;
                let password = format!("Surcharge-Vélo-{i}-Lune!");
                let fields = [("password", password.as_str()), ("password_confirm", &password), ("accept_rules", "on")];
                timed_post(&client, &base, "/activate/password", &fields, &mut seen).await;
            }
            seen
        });
    }
    let mut all = Overload::default();
    while let Some(done) = running.join_next().await {
        all.merge(done.unwrap());
    }
    all.seconds = start.elapsed().as_secs_f64();
    all
}
