//! What the benchmark examples share: a `sesame serve` with N people imported, and forms.
#![allow(dead_code)] // each example uses its own part of this module

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};

/// A running server on its own database: SQLite in `dir`, or `$BENCH_DATABASE_URL`.
pub struct Server {
    pub process: Child,
    pub base: String,
    pub store: &'static str,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Imports `n` staff people (`{prefix}{i}` as uid, upper-case as staff number, born
    /// 01/01/1980), then starts `$SESAME_BIN` (default `default_bin`).
    pub fn start(n: usize, prefix: &str, default_bin: &str) -> Self {
        let bin = std::env::var("SESAME_BIN").unwrap_or_else(|_| default_bin.into());
        let bin = std::fs::canonicalize(&bin).unwrap_or_else(|e| panic!("{bin}: {e} (build it first)"));
        let dir = tempfile::tempdir().unwrap();
        let url = std::env::var("BENCH_DATABASE_URL")
            .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
        let mut csv = String::from("uid,category,given_name,family_name,birth_date,staff_number\n");
        for i in 0..n {
            csv.push_str(&format!("{prefix}{i},staff,Prénom{i},Nom{i},01/01/1980,{}{i}\n", prefix.to_uppercase()));
        }
        std::fs::write(dir.path().join("people.csv"), csv).unwrap();
        let mut import = Command::new(&bin);
        import.args(["import", "people.csv"]).current_dir(dir.path()).env("DATABASE_URL", &url).stdout(Stdio::null());
        assert!(import.status().unwrap().success(), "import failed");
        let mut process = Command::new(&bin)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .current_dir(dir.path())
            .env("DATABASE_URL", &url)
            .env("SESAME_COOKIE_SECURE", "false")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(process.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.split_whitespace().find(|w| w.parse::<std::net::SocketAddr>().is_ok()).unwrap().to_string();
        let store = if url.starts_with("sqlite") { "sqlite" } else { "postgres" };
        Self { process, base: format!("http://{addr}"), store, _dir: dir }
    }

    pub fn stop(mut self) {
        let _ = Command::new("kill").arg(self.process.id().to_string()).status();
        let _ = self.process.wait();
    }
}

pub fn browser() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub fn csrf(body: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker).expect("form") + marker.len();
    body[start..].split('"').next().unwrap_or_default().to_string()
}

/// GETs the form at `path` for its token, then posts `fields` to it; the GET's status when
/// the form itself did not come.
pub async fn post(client: &Client, base: &str, path: &str, fields: &[(&str, &str)]) -> StatusCode {
    let form = client.get(format!("{base}{path}")).send().await.unwrap();
    if form.status() != StatusCode::OK {
        return form.status();
    }
    let token = csrf(&form.text().await.unwrap());
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    client.post(format!("{base}{path}")).form(&all).send().await.unwrap().status()
}

/// The wizard's steps in the order `activate` times them (each a GET of the form and its POST,
/// the last one a GET).
pub const STEPS: [&str; 6] = ["identify", "question", "sms", "photo", "password", "done"];

/// The first unexpected answer, with its path.
pub type Failure = (&'static str, StatusCode);

/// Every step of the wizard up to (not including) the password, for the person whose staff
/// number is `identifier`; the time each step took.
pub async fn up_to_password(client: &Client, base: &str, identifier: &str) -> Result<Vec<Duration>, Failure> {
    let steps: [(&'static str, Vec<(&str, &str)>); 4] = [
        (
            "/activate/identify?method=staff_number",
            vec![("method", "staff_number"), ("identifier", identifier), ("birth_date", "01/01/1980")],
        ),
        ("/activate/question", vec![("question", "first_pet"), ("answer", "Rantanplan")]),
        ("/activate/sms", vec![("sms_consent", "no")]),
        ("/activate/photo", vec![("photo_consent", "no")]),
    ];
    let mut times = Vec::with_capacity(STEPS.len());
    for (path, fields) in steps {
        let start = Instant::now();
        match post(client, base, path, &fields).await {
            StatusCode::SEE_OTHER => times.push(start.elapsed()),
            status => return Err((path, status)),
        }
    }
    Ok(times)
}

/// A whole activation (eleven requests, two Argon2 hashes: the answer's and the password's);
/// the time of each of its `STEPS`.
pub async fn activate(client: &Client, base: &str, identifier: &str, password: &str) -> Result<Vec<Duration>, Failure> {
    let mut times = up_to_password(client, base, identifier).await?;
    let fields = [("password", password), ("password_confirm", password), ("accept_rules", "on")];
    let start = Instant::now();
    match post(client, base, "/activate/password", &fields).await {
        StatusCode::SEE_OTHER => times.push(start.elapsed()),
        status => return Err(("/activate/password", status)),
    }
    let start = Instant::now();
    match client.get(format!("{base}/activate/done")).send().await.unwrap().status() {
        StatusCode::OK => times.push(start.elapsed()),
        status => return Err(("/activate/done", status)),
    }
    Ok(times)
}

/// A field of `/proc/{pid}/status` in KiB (`VmRSS:`, `VmHWM:`), 0 when unreadable.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The server's own count of seconds spent inside Argon2, from `/metrics`.
pub async fn argon2_seconds(base: &str) -> f64 {
    let text = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("sesame_argon2_seconds_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

/// Each route's mean time inside the server, from `/metrics`: "route mean-ms".
pub async fn server_time_by_route(base: &str) -> Vec<String> {
    let text = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    let series = |suffix: &str| -> Vec<(String, f64)> {
        let prefix = format!("http_request_duration_seconds_{suffix}{{route=\"");
        text.lines()
            .filter_map(|l| l.strip_prefix(prefix.as_str()))
            .filter_map(|l| l.split_once("\"} "))
            .filter_map(|(route, v)| Some((route.to_string(), v.trim().parse().ok()?)))
            .collect()
    };
    let counts = series("count");
    series("sum")
        .into_iter()
        .filter_map(|(route, sum)| {
            let count = counts.iter().find(|(r, _)| *r == route)?.1;
            Some(format!("{route} {:.2}", sum * 1000.0 / count))
        })
        .collect()
}
