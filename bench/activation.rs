//! Benchmark: the cost of one whole activation over HTTP against the Argon2 work it needs
//! (two hashes: answer and password), timed alone in the same run.
//!
//! Run: `cargo run --release --example activation [N]` (default 20 activations, one at a time),
//! with `target/release/sesame` built (or `$SESAME_BIN`); SQLite, or PostgreSQL with
//! `$BENCH_DATABASE_URL`.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use secrecy::SecretString;

fn csrf(body: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker).expect("form") + marker.len();
    body[start..].split('"').next().unwrap_or_default().to_string()
}

async fn post(client: &Client, base: &str, path: &str, fields: &[(&str, &str)]) -> StatusCode {
    let page = client.get(format!("{base}{path}")).send().await.unwrap().text().await.unwrap();
    let token = csrf(&page);
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    client.post(format!("{base}{path}")).form(&all).send().await.unwrap().status()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let bin = std::env::var("SESAME_BIN").unwrap_or_else(|_| "target/release/sesame".into());
    let bin = std::fs::canonicalize(&bin).unwrap_or_else(|e| panic!("{bin}: {e} (cargo build --release first)"));
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let mut csv = String::from("uid,category,given_name,family_name,birth_date,staff_number\n");
    for i in 0..n {
        csv.push_str(&format!("a{i},staff,Prénom{i},Nom{i},01/01/1980,A{i}\n"));
    }
    std::fs::write(dir.path().join("people.csv"), csv).unwrap();
    let mut import = Command::new(&bin);
    import.args(["import", "people.csv"]).current_dir(dir.path()).env("DATABASE_URL", &url).stdout(Stdio::null());
    assert!(import.status().unwrap().success(), "import failed");
    let mut server = Command::new(&bin)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &url)
        .env("SESAME_COOKIE_SECURE", "false")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.split_whitespace().find(|w| w.parse::<std::net::SocketAddr>().is_ok()).unwrap().to_string();
    let base = format!("http://{addr}");

    let mut activations = Vec::with_capacity(n);
    for i in 0..n {
        let client = Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let id = format!("A{i}");
        let password = format!("Mesure-Vélo-{i}-Lune!");
        let start = Instant::now();
        let steps: [(&str, Vec<(&str, &str)>); 5] = [
            (
                "/activate/identify?method=staff_number",
                vec![("method", "staff_number"), ("identifier", &id), ("birth_date", "01/01/1980")],
            ),
            ("/activate/question", vec![("question", "first_pet"), ("answer", "Rantanplan")]),
            ("/activate/sms", vec![("sms_consent", "no")]),
            ("/activate/photo", vec![("photo_consent", "no")]),
            (
                "/activate/password",
                vec![("password", &password), ("password_confirm", &password), ("accept_rules", "on")],
            ),
        ];
        for (path, fields) in steps {
            assert_eq!(post(&client, &base, path, &fields).await, StatusCode::SEE_OTHER, "{path}");
        }
        assert!(client.get(format!("{base}/activate/done")).send().await.unwrap().status().is_success());
        activations.push(start.elapsed());
    }
    let _ = Command::new("kill").arg(server.id().to_string()).status();
    let _ = server.wait();

    // The Argon2 work of one activation, alone: two hashes with the server's parameters.
    let hasher = sesame::hashing::Hasher::owasp();
    let mut hashing = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        hasher.hash(&SecretString::from(format!("rantanplan{i}"))).await.unwrap();
        hasher.hash(&SecretString::from(format!("Mesure-Vélo-{i}-Lune!"))).await.unwrap();
        hashing.push(start.elapsed());
    }
    let (whole, argon2) = (median(activations), median(hashing));
    println!("store: {}", if url.starts_with("sqlite") { "sqlite" } else { "postgres" });
    println!("one activation over HTTP (10 requests), median of {n}: {:.1} ms", whole.as_secs_f64() * 1000.0);
    println!("its Argon2 work alone (2 hashes), median of {n}: {:.1} ms", argon2.as_secs_f64() * 1000.0);
    println!("ratio: {:.2} (target ≤ 1.3)", whole.as_secs_f64() / argon2.as_secs_f64());
}
