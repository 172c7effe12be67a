//! What the benchmark examples share: a `sesame serve` with N people imported, and forms.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

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

/// GETs the form at `path` for its token, then posts `fields` to it.
pub async fn post(client: &Client, base: &str, path: &str, fields: &[(&str, &str)]) -> StatusCode {
    let page = client.get(format!("{base}{path}")).send().await.unwrap().text().await.unwrap();
    let token = csrf(&page);
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    client.post(format!("{base}{path}")).form(&all).send().await.unwrap().status()
}
