//! Test helpers: a fresh store of either kind, and the real application on a random port.
#![allow(dead_code)] // each test binary uses its own subset

pub mod drill;
pub mod journey;

use std::net::SocketAddr;
use std::sync::Arc;

use sesame::config::Config;
use sesame::store::{self, Store};

/// A fresh store for one test; holds what must live as long as the store does.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// The PostgreSQL database of this test run: `SESAME_TEST_DATABASE_URL`, which `.ci/run`
/// sets to a database it creates; by default the local server's `sesame_test`.
/// There is no skipping: without PostgreSQL these tests fail.
fn postgres_base_url() -> String {
    std::env::var("SESAME_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/sesame_test".into())
}

impl TestStore {
    /// The database another process made (the real binary's), opened as tests open theirs.
    pub async fn existing(url: &str) -> Self {
        Self { store: store::connect(url).await.expect("open the database"), url: url.into(), _dir: None }
    }
}

/// A second, fresh store of the same kind as `t`.
pub async fn postgres_or_sqlite_like(t: &TestStore) -> TestStore {
    if t.url.starts_with("sqlite:") { sqlite().await } else { postgres().await }
}

pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("sesame.db").display());
    let store = store::connect(&url).await.expect("open sqlite");
    store.migrate().await.expect("migrate sqlite");
    TestStore { store, url, _dir: Some(dir) }
}

/// A schema of its own inside the run's database, so tests run in parallel without meeting.
pub async fn postgres() -> TestStore {
    let url = empty_postgres_schema().await;
    let store = store::connect(&url).await.expect("open postgres");
    store.migrate().await.expect("migrate postgres");
    TestStore { store, url, _dir: None }
}

/// The URL of a new, empty schema in the run's database (the connection's `search_path`).
pub async fn empty_postgres_schema() -> String {
    let base = postgres_base_url();
    ensure_database(&base).await;
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&base).await.unwrap_or_else(|e| panic!("PostgreSQL at {base} is required: {e}"));
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin).await.expect("create schema");
    admin.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

/// Creates the run's database when it is missing (a developer's first run).
async fn ensure_database(base: &str) {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        let (server, name) = base.rsplit_once('/').expect("database URL names a database");
        let name = name.split('?').next().unwrap_or(name).to_string();
        let admin = sqlx::PgPool::connect(&format!("{server}/postgres"))
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {server} is required for these tests: {e}"));
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&admin)
            .await
            .expect("query pg_database");
        if !exists {
            // Another test binary may create it at the same moment; either way it exists after.
            let _ = sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&admin).await;
        }
        admin.close().await;
    })
    .await;
}

/// Runs one async test body against both stores.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::common::sqlite().await).await })+
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::common::postgres().await).await })+
        }
    };
}

/// Defaults, with cookies usable over plain HTTP and mail written to a folder of the test's own.
pub fn test_config(database_url: &str) -> Config {
    let mut config = Config::defaults();
    config.cookie_secure = false;
    config.database_url = database_url.to_string();
    config.mail_dir = std::env::temp_dir().join(format!("sesame-mail-{}", uuid::Uuid::new_v4().simple()));
    config.mail_pace = sesame::outbox::Pace {
        poll: std::time::Duration::from_millis(100),
        first_backoff_secs: 1,
        max_backoff_secs: 2,
        lease_secs: 30,
    };
    // h22: SMS files in a folder of the test's own; quick retries.
    config.sms.dir = std::env::temp_dir().join(format!("sesame-sms-{}", uuid::Uuid::new_v4().simple()));
    config.sms_pace = config.mail_pace;
    config
}

/// The real application with its outbox worker, served on a random local port.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Another browser: its own cookie jar.
    pub fn new_client(&self) -> reqwest::Client {
        browser()
    }
}

/// The mails written to `dir` so far, waiting up to ten seconds for `at_least` of them. A file
/// the worker has created but not yet written (empty) is not a mail yet.
pub async fn mail_files(dir: &std::path::Path, at_least: usize) -> Vec<String> {
    for _ in 0..100 {
        let found: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                    .filter(|mail| !mail.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if found.len() >= at_least {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Vec::new()
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

pub async fn spawn_app(config: Config, store: Arc<dyn Store>) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = sesame::AppState::new(config, store.clone());
    tokio::spawn(async move {
        sesame::web::serve(listener, state, std::future::pending()).await.expect("serve");
    });
    TestApp { addr, client: browser(), store }
}

/// A TCP relay between the application and PostgreSQL that a test can cut and restore,
/// or make hang (connections stay open, nothing passes), to simulate an outage without
/// touching the machine's server.
pub struct CuttableProxy {
    pub port: u16,
    target: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
    hung: Arc<tokio::sync::watch::Sender<bool>>,
}

impl CuttableProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        let hung = Arc::new(tokio::sync::watch::Sender::new(false));
        let task = Some(tokio::spawn(relay(listener, target, hung.subscribe())));
        Self { port, target, task, hung }
    }

    /// Drops the listener and every relayed connection.
    pub fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Keeps every connection open, and accepts new ones, but passes nothing either way: a
    /// server that accepts connections and never answers.
    pub fn hang(&self) {
        self.hung.send_replace(true);
    }

    /// Ends the outage (a cut or a hang): the connections held are dropped, new ones relayed.
    pub async fn restore(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            // Once it has ended, its listener is closed and the port free again.
            let _ = task.await;
        }
        self.hung.send_replace(false);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await.expect("rebind proxy");
        self.task = Some(tokio::spawn(relay(listener, self.target, self.hung.subscribe())));
    }
}

async fn relay(listener: tokio::net::TcpListener, target: SocketAddr, hung: tokio::sync::watch::Receiver<bool>) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((mut inbound, _)) = listener.accept().await {
        let mut hung = hung.clone();
        connections.spawn(async move {
            let hanging = *hung.borrow();
            if hanging {
                return std::future::pending().await;
            }
            if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    () = async { drop(hung.wait_for(|h| *h).await) } => std::future::pending().await,
                }
            }
        });
    }
}

/// The run's PostgreSQL URL rewritten to go through a proxy on `port`, in a fresh schema.
pub async fn postgres_via(port: u16) -> (TestStore, String) {
    let t = postgres().await;
    let url = url::Url::parse(&t.url).expect("url");
    let mut proxied = url.clone();
    proxied.set_port(Some(port)).expect("port");
    proxied.set_host(Some("127.0.0.1")).expect("host");
    (t, proxied.to_string())
}

pub fn postgres_addr() -> SocketAddr {
    let url = url::Url::parse(&postgres_base_url()).expect("url");
    let host = url.host_str().unwrap_or("127.0.0.1");
    let host = if host == "localhost" { "127.0.0.1" } else { host };
    format!("{}:{}", host, url.port().unwrap_or(5432)).parse().expect("PostgreSQL test host must be an IP address")
}

/// How the relay answers the end of a message.
#[derive(Clone, Copy)]
pub enum Mode {
    /// 250 at once.
    Accept,
    /// 250 after this long.
    Slow(std::time::Duration),
    /// Never.
    Hung,
    /// 451 to the first message, 250 to the others.
    RefuseFirst,
}

/// An SMTP relay of the test's own that keeps every message it was sent (accepted or not).
pub struct Relay {
    pub port: u16,
    pub messages: Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Relay {
    pub async fn start(mode: Mode) -> Self {
        Self::start_on(0, mode).await
    }

    /// On a chosen port, e.g. one the application was already told about.
    pub async fn start_on(port: u16, mode: Mode) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind smtp");
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = messages.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let keep = keep.clone();
                tokio::spawn(async move {
                    let _ = smtp_session(stream, keep, mode).await;
                });
            }
        });
        Self { port, messages, task }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn message_ids(&self) -> Vec<String> {
        let messages = self.messages.lock().unwrap();
        messages
            .iter()
            .filter_map(|m| m.lines().find_map(|l| l.strip_prefix("Message-ID: ")).map(str::to_string))
            .collect()
    }
}

async fn smtp_session(
    stream: tokio::net::TcpStream,
    keep: Arc<std::sync::Mutex<Vec<String>>>,
    mode: Mode,
) -> std::io::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 relay ESMTP\r\n").await?;
    while let Some(line) = lines.next_line().await? {
        match line.split_whitespace().next().unwrap_or("").to_ascii_uppercase().as_str() {
            "EHLO" | "HELO" => write.write_all(b"250-relay\r\n250 8BITMIME\r\n").await?,
            "DATA" => {
                write.write_all(b"354 go on\r\n").await?;
                let mut message = String::new();
                while let Some(l) = lines.next_line().await? {
                    if l == "." {
                        break;
                    }
                    message += &l;
                    message.push('\n');
                }
                let first = {
                    let mut all = keep.lock().unwrap();
                    all.push(message);
                    all.len() == 1
                };
                match mode {
                    Mode::Accept => write.write_all(b"250 queued\r\n").await?,
                    Mode::Slow(delay) => {
                        tokio::time::sleep(delay).await;
                        write.write_all(b"250 queued\r\n").await?;
                    }
                    Mode::Hung => std::future::pending::<()>().await,
                    Mode::RefuseFirst if first => write.write_all(b"451 try again later\r\n").await?,
                    Mode::RefuseFirst => write.write_all(b"250 queued\r\n").await?,
                }
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"250 ok\r\n").await?,
        }
    }
    Ok(())
}

/// A port nobody listens on (yet).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `sesame serve` from the built binary, in `dir`, on a free port, with cookies usable over
/// plain HTTP and `vars` on top (a later variable wins). Standard error goes to
/// `dir/stderr.log`. Returns the process and the address it announced.
pub fn serve_binary(dir: &std::path::Path, vars: &[(&str, &str)]) -> (std::process::Child, SocketAddr) {
    use std::io::BufRead;
    let log = std::fs::File::create(dir.join("stderr.log")).expect("log file");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sesame"));
    command
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir)
        .env("SESAME_COOKIE_SECURE", "false")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(log);
    for (name, value) in vars {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("start sesame");
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("first line");
    let addr = first.split_whitespace().find_map(|w| w.parse::<SocketAddr>().ok()).expect(&first);
    (child, addr)
}

/// SIGTERM, as systemd and nginx's master expect, then wait for the process to end.
pub fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    child.wait().expect("wait")
}

/// An account for `person` straight through the store, as the wizard's last step writes it.
pub async fn activate_in_store(store: &dyn Store, person: &store::PersonRecord, hash: &str) {
    let at = time::OffsetDateTime::now_utc();
    let account = store::NewAccount {
        person_id: person.id,
        password_hash: hash.into(),
        question_id: "first_pet".into(),
        custom_question: None,
        answer_hash: hash.into(),
        phone: None,
        sms_consent_at: at,
        photo_consent: false,
        photo_consent_at: at,
        rules_version: "1".into(),
        at,
        nt_sealed: None,
    };
    let mail = store::NewMail {
        kind: "activated",
        recipient: person.email.clone(),
        subject: "s".into(),
        body_text: "b".into(),
    };
    assert_eq!(
        store.activate(&account, 3, &event(person, "activated"), &mail).await.unwrap(),
        store::Activation::Activated
    );
}

pub fn event(person: &store::PersonRecord, kind: &'static str) -> store::AuditEvent {
    store::AuditEvent {
        kind,
        actor: person.login.clone(),
        person_id: Some(person.id),
        client_addr: None,
        detail: String::new(),
        at: time::OffsetDateTime::now_utc(),
    }
}

/// Another connection pool on `t`'s database, as a second instance opens it.
pub async fn same_database(t: &TestStore) -> Arc<dyn Store> {
    store::connect(&t.url).await.expect("open the same database")
}

/// A count (`SELECT COUNT(*) …`) read behind the store's back, on either kind of database.
/// Runs one statement on `t`'s database, as an operator (or the passing of time) would.
pub async fn sql_execute(t: &TestStore, sql: &str) {
    if t.url.starts_with("sqlite:") {
        sqlx::query(sql).execute(&sqlx::SqlitePool::connect(&t.url).await.unwrap()).await.unwrap();
    } else {
        sqlx::query(sql).execute(&sqlx::PgPool::connect(&t.url).await.unwrap()).await.unwrap();
    }
}

pub async fn sql_count(t: &TestStore, sql: &str) -> i64 {
    if t.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&t.url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(&t.url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap()
    }
}
