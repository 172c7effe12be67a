//! Recovery by a one-time code (SMS or personal mail): the import of the personal address, and
//! the journeys over real HTTP on both stores.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::journey::{GOOD_PASSWORD, csrf, get, identify_at, post, up_to_password};
use common::{TestApp, TestStore, spawn_app, test_config};
use reqwest::{Client, StatusCode};
use sesame::cli::import::{Options, import_lines, parse_csv};
use sesame::store::AuditQuery;

const NEW_PASSWORD: &str = "Marée-Haute-Sur-Brest-7";

/// `personal_email` is read, checked as an address and kept; an invalid one rejects its line.
async fn import_reads_the_personal_address(t: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let csv = "uid,category,given_name,family_name,birth_date,personal_email
u1,staff,Élodie,Le Bœuf,14/07/1985,Elodie.Perso@Example.ORG
u2,staff,Jean,Dupont,01/02/1990,
u3,staff,Léa,Roux,01/01/1990,lea@
";
    std::fs::write(dir.path().join("people.csv"), csv).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(["import", "people.csv"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &t.url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("line 4: rejected: personal_email"), "{stdout}");
    let elodie = t.store.find_by_login("elodie.leboeuf").await.unwrap().unwrap();
    assert_eq!(elodie.personal_email.as_deref(), Some("Elodie.Perso@example.org"));
    let jean = t.store.find_by_login("jean.dupont").await.unwrap().unwrap();
    assert_eq!(jean.personal_email, None);
}

// ---- the journeys over HTTP ----

const PEOPLE: &str = "uid,category,given_name,family_name,birth_date,staff_number,personal_email
100001,staff,Élodie,Le Bœuf,14/07/1985,12345,elodie.perso@example.org
100003,staff,Ana,Lima,01/01/1990,777,
";

const USER: &str = "sesame";
const PASSWORD: &str = "gateway-secret";

/// An esup-smsu-api gateway of the test's own: checks the Basic auth and the form, keeps every
/// message it accepted; while `down`, answers 503.
struct Gateway {
    url: String,
    messages: Arc<Mutex<Vec<(String, String)>>>,
    down: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct GatewayState {
    messages: Arc<Mutex<Vec<(String, String)>>>,
    down: Arc<AtomicBool>,
}

async fn gateway_answer(
    axum::extract::State(s): axum::extract::State<GatewayState>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> (axum::http::StatusCode, String) {
    use base64::Engine;
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}")));
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (axum::http::StatusCode::UNAUTHORIZED, r#"{"status":"KO"}"#.into());
    }
    if s.down.load(Ordering::SeqCst) {
        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down".into());
    }
    assert_eq!(query.get("action").map(String::as_str), Some("SendSms"));
    let (phone, message) = (form["phoneNumber"].clone(), form["message"].clone());
    s.messages.lock().unwrap().push((phone, message));
    (axum::http::StatusCode::OK, r#"{"status":"OK"}"#.into())
}

impl Gateway {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/smsu", listener.local_addr().unwrap());
        let state = GatewayState { messages: Arc::default(), down: Arc::default() };
        let (messages, down) = (state.messages.clone(), state.down.clone());
        let app = axum::Router::new().route("/smsu", axum::routing::post(gateway_answer)).with_state(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, messages, down, task }
    }

    /// The messages so far, waiting up to ten seconds for `at_least` of them.
    async fn messages(&self, at_least: usize) -> Vec<(String, String)> {
        for _ in 0..100 {
            let messages = self.messages.lock().unwrap().clone();
            if messages.len() >= at_least {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.messages.lock().unwrap().clone()
    }
}

/// The log lines of this test binary, every level: no code may ever be in one.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink = logs.clone();
        let writer = move || Sink(sink.clone());
        let _ = tracing_subscriber::fmt().with_env_filter("debug").with_ansi(false).with_writer(writer).try_init();
        logs
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Setup {
    app: TestApp,
    gateway: Gateway,
    mail_dir: std::path::PathBuf,
}

/// Élodie activated with her mobile (SMS accepted) and a personal address; Ana activated with
/// neither.
async fn setup_with(t: &TestStore, validity: time::Duration) -> Setup {
    logs();
    let today = time::OffsetDateTime::now_utc().date();
    let (lines, _) = parse_csv(PEOPLE.as_bytes(), today).unwrap();
    import_lines(t.store.as_ref(), lines, "example.edu", Options::default()).await.unwrap();
    let gateway = Gateway::start().await;
    let mut config = test_config(&t.url);
    config.sms = sesame::sms::Settings::check(&gateway.url, USER, PASSWORD, "./unused").unwrap();
    config.recovery_code_validity = validity;
    let mail_dir = config.mail_dir.clone();
    let app = spawn_app(config, t.store.clone()).await;
    let c = app.new_client();
    up_to_password(&c, &app).await;
    let fields = [("password", GOOD_PASSWORD), ("password_confirm", GOOD_PASSWORD), ("accept_rules", "on")];
    let (s, _, body) = post(&c, &app, "/activate/password", "/activate/password", &fields).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let ana = t.store.find_by_login("ana.lima").await.unwrap().unwrap();
    common::activate_in_store(t.store.as_ref(), &ana, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA").await;
    Setup { app, gateway, mail_dir }
}

async fn setup(t: &TestStore) -> Setup {
    setup_with(t, time::Duration::minutes(10)).await
}

/// A browser that identified on `/recover` as the person with this staff number.
async fn recovering(app: &TestApp, staff_number: &str, born: &str) -> Client {
    let c = app.new_client();
    let (s, l, body) = identify_at(&c, app, "/recover", "staff_number", staff_number, born).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/recover/question"), "{body}");
    c
}

async fn elodie(app: &TestApp) -> Client {
    recovering(app, "12345", "14/07/1985").await
}

async fn send(c: &Client, app: &TestApp, channel: &str) -> (StatusCode, String, String) {
    post(c, app, "/recover/question", "/recover/send", &[("channel", channel)]).await
}

async fn type_code(c: &Client, app: &TestApp, code: &str) -> (StatusCode, String, String) {
    post(c, app, "/recover/code", "/recover/code", &[("code", code)]).await
}

/// The first run of exactly six digits after the headers.
fn code_in(text: &str) -> String {
    // Mail files end their lines with CRLF; the headers hold a Message-ID (a UUID) with digits.
    let text = text.replace("\r\n", "\n");
    let body = text.split_once("\n\n").map_or(text.as_str(), |(_, body)| body);
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i - start == 6 {
            return body[start..i].to_string();
        }
        i = i.max(start + 1);
    }
    panic!("no code in {text}")
}

/// A code that is not `code`.
fn other_than(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

/// Every byte the database holds of codes and their messages, and the audit trail.
async fn stored_bytes(t: &TestStore) -> Vec<Vec<u8>> {
    let queries = [
        "SELECT code_hash FROM recovery_codes WHERE code_hash IS NOT NULL",
        "SELECT message_sealed FROM sms_outbox",
        "SELECT body_sealed FROM mail_outbox WHERE body_sealed IS NOT NULL",
        "SELECT CAST(body_text AS BLOB) FROM mail_outbox",
        "SELECT CAST(detail AS BLOB) FROM audit_events",
    ];
    let mut all = Vec::new();
    if t.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&t.url).await.unwrap();
        for q in queries {
            all.extend(sqlx::query_scalar::<_, Vec<u8>>(q).fetch_all(&pool).await.unwrap());
        }
    } else {
        let pool = sqlx::PgPool::connect(&t.url).await.unwrap();
        for q in queries {
            let q = q
                .replace("CAST(body_text AS BLOB)", "convert_to(body_text, 'UTF8')")
                .replace("CAST(detail AS BLOB)", "convert_to(detail, 'UTF8')");
            all.extend(sqlx::query_scalar::<_, Vec<u8>>(&q).fetch_all(&pool).await.unwrap());
        }
    }
    all
}

async fn assert_nowhere_in_clear(t: &TestStore, code: &str) {
    let stored = stored_bytes(t).await;
    assert!(!stored.is_empty());
    assert!(!stored.iter().any(|b| b.windows(6).any(|w| w == code.as_bytes())), "the code is stored in clear");
    let logs = logs();
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logs.contains("recovery") || logs.contains("outbox"), "the logs are captured: {logs}");
    // As a number of its own: other numbers (ids, durations such as 1.234567ms) may hold the
    // same digits.
    let part_of_number = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '.');
    let alone = logs.match_indices(code).find(|(at, _)| {
        !part_of_number(logs[..*at].chars().next_back()) && !part_of_number(logs[at + 6..].chars().next())
    });
    if let Some((at, _)) = alone {
        let (before, after) = (logs[..at].rsplit('\n').next(), logs[at..].lines().next());
        let line = format!("{}{}", before.unwrap_or_default(), after.unwrap_or_default());
        panic!("the code is in a log line: {line}");
    }
}

/// By SMS: the offer names the masked number, the gateway gets the E.164 number and a message
/// with the code; the right code leads to the new password, as the right answer does.
async fn an_sms_code_recovers_the_account(t: TestStore) {
    let s = setup(&t).await;
    let c = elodie(&s.app).await;
    let (_, page) = get(&c, &s.app, "/recover/question").await;
    assert!(page.contains("Recevoir un code par SMS au 06 •• •• •• 78"), "{page}");
    assert!(page.contains("Recevoir un code par mail à e•••@example.org"), "{page}");
    let (status, location, _) = send(&c, &s.app, "sms").await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/recover/code"));
    let (status, page) = get(&c, &s.app, "/recover/code").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("06 •• •• •• 78") && page.contains("10 minutes"), "{page}");
    let messages = s.gateway.messages(1).await;
    assert_eq!(messages.len(), 1);
    let (phone, message) = &messages[0];
    assert_eq!(phone, "+33612345678");
    assert!(message.starts_with("Sesame") && message.is_ascii() && message.len() <= 160, "{message}");
    let code = code_in(message);
    assert_nowhere_in_clear(&t, &code).await;
    let (status, location, body) = type_code(&c, &s.app, &code).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/recover/password"), "{body}");
    let fields = [("password", NEW_PASSWORD), ("password_confirm", NEW_PASSWORD)];
    let (status, location, body) = post(&c, &s.app, "/recover/password", "/recover/password", &fields).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/recover/done"), "{body}");
    // Used once: no code waits any more.
    let person = t.store.find_by_login("elodie.leboeuf").await.unwrap().unwrap();
    let waiting = t.store.recovery_code(person.id).await.unwrap().unwrap();
    assert!(waiting.code_hash.is_none());
    let trail = t.store.audit_trail(&AuditQuery { since: None, person_id: None, limit: 50 }).await.unwrap();
    let kinds: Vec<&str> = trail.iter().map(|l| l.kind.as_str()).collect();
    assert!(kinds.contains(&"recovery_code_sent") && kinds.contains(&"recovery_code_accepted"), "{kinds:?}");
    let (_, metrics) = get(&s.app.client, &s.app, "/metrics").await;
    assert!(metrics.contains(r#"sesame_recovery_codes_total{channel="sms",outcome="sent"}"#), "{metrics}");
    assert!(metrics.contains(r#"sesame_sms_deliveries_total{outcome="sent"}"#), "{metrics}");
}

/// By mail: the code goes to the personal address through the mail outbox.
async fn a_mail_code_recovers_the_account(t: TestStore) {
    let s = setup(&t).await;
    let c = elodie(&s.app).await;
    let (status, location, _) = send(&c, &s.app, "mail").await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/recover/code"));
    let (_, page) = get(&c, &s.app, "/recover/code").await;
    assert!(page.contains("par mail à e•••@example.org"), "{page}");
    // Élodie's and Ana's activation mails, then the code.
    let mails = common::mail_files(&s.mail_dir, 3).await;
    let mail = mails.iter().find(|m| m.contains("elodie.perso@example.org")).expect("a mail to the personal address");
    let code = code_in(mail);
    assert_nowhere_in_clear(&t, &code).await;
    let (status, location, body) = type_code(&c, &s.app, &code).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/recover/password"), "{mail}{body}");
}

/// A wrong code says how many tries are left; the third voids the code, and then even the right
/// one is refused.
async fn three_wrong_codes_void_it(t: TestStore) {
    let s = setup(&t).await;
    let c = elodie(&s.app).await;
    send(&c, &s.app, "sms").await;
    let code = code_in(&s.gateway.messages(1).await[0].1);
    let wrong = other_than(&code);
    let (status, _, page) = type_code(&c, &s.app, &wrong).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Il vous reste 2 essais."), "{page}");
    let (status, _, page) = type_code(&c, &s.app, "12 34").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("6 chiffres"), "not a code: no try counted: {page}");
    let (_, _, page) = type_code(&c, &s.app, &wrong).await;
    assert!(page.contains("Il vous reste un essai."), "{page}");
    let (status, _, page) = type_code(&c, &s.app, &wrong).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("n’est plus valable"), "{page}");
    let (status, _, page) = type_code(&c, &s.app, &code).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Aucun code"), "{page}");
}

/// A new code voids the previous one.
async fn a_new_code_voids_the_previous_one(t: TestStore) {
    let s = setup(&t).await;
    let c = elodie(&s.app).await;
    send(&c, &s.app, "sms").await;
    let first = code_in(&s.gateway.messages(1).await[0].1);
    send(&c, &s.app, "sms").await;
    let second = code_in(&s.gateway.messages(2).await[1].1);
    if first != second {
        let (status, _, _) = type_code(&c, &s.app, &first).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (status, location, _) = type_code(&c, &s.app, &second).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/recover/password"));
}

/// Past its validity a code is refused.
async fn an_expired_code_is_refused(t: TestStore) {
    let s = setup_with(&t, time::Duration::seconds(1)).await;
    let c = elodie(&s.app).await;
    send(&c, &s.app, "sms").await;
    let code = code_in(&s.gateway.messages(1).await[0].1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, _, page) = type_code(&c, &s.app, &code).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("a expiré"), "{page}");
}

/// Three codes an hour, whatever the channel; the fourth is a 429 with Retry-After and our page.
async fn a_fourth_code_within_the_hour_waits(t: TestStore) {
    let s = setup(&t).await;
    let c = elodie(&s.app).await;
    for channel in ["sms", "mail", "sms"] {
        let (status, ..) = send(&c, &s.app, channel).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    let (_, page) = get(&c, &s.app, "/recover/question").await;
    let res = c
        .post(s.app.url("/recover/send"))
        .form(&[("csrf_token", csrf(&page).as_str()), ("channel", "sms")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((3000..=3600).contains(&wait), "{wait}");
    let page = res.text().await.unwrap();
    assert!(page.contains("<nav") && page.contains("<h1>"), "{page}");
    assert_eq!(s.gateway.messages(2).await.len(), 2, "the refused code was not sent");
    let (_, metrics) = get(&s.app.client, &s.app, "/metrics").await;
    assert!(metrics.contains(r#"sesame_recovery_codes_total{channel="sms",outcome="too_many"}"#), "{metrics}");
    let trail = t.store.audit_trail(&AuditQuery { since: None, person_id: None, limit: 50 }).await.unwrap();
    let refused = trail.iter().find(|l| l.kind == "recovery_code_refused").expect("the refusal is audited");
    assert_eq!(refused.detail, "channel=sms reason=too_many");
}

/// A channel the person does not have, or no channel at all: 422 next to the offers.
async fn a_channel_not_held_is_refused(t: TestStore) {
    let s = setup(&t).await;
    let c = recovering(&s.app, "777", "01/01/1990").await;
    let (_, page) = get(&c, &s.app, "/recover/question").await;
    assert!(!page.contains("/recover/send"), "Ana has no channel: no offer: {page}");
    for channel in ["sms", "mail", "pigeon", ""] {
        let (status, _, page) = send(&c, &s.app, channel).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{channel}");
        assert!(page.contains("n’est pas enregistré"), "{page}");
    }
    assert!(s.gateway.messages(0).await.is_empty());
}

/// Before identification there is nobody to send to: back to the first step.
async fn sending_before_identification_leads_to_the_first_step(t: TestStore) {
    let s = setup(&t).await;
    let c = s.app.new_client();
    let (status, location, _) =
        post(&c, &s.app, "/recover?method=staff_number", "/recover/send", &[("channel", "sms")]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/recover"));
    let (status, location, _) =
        post(&c, &s.app, "/recover?method=staff_number", "/recover/code", &[("code", "123456")]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/recover"));
}

/// The gateway down, then back: the SMS is delivered, once.
async fn an_sms_waits_for_the_gateway_and_goes_once(t: TestStore) {
    let s = setup(&t).await;
    s.gateway.down.store(true, Ordering::SeqCst);
    let c = elodie(&s.app).await;
    let (status, ..) = send(&c, &s.app, "sms").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(s.gateway.messages.lock().unwrap().is_empty());
    s.gateway.down.store(false, Ordering::SeqCst);
    assert_eq!(s.gateway.messages(1).await.len(), 1);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(s.gateway.messages.lock().unwrap().len(), 1, "delivered once");
}

/// The account area lists the channels held, and saves a new personal address only once the
/// code sent to it came back; a later import without the column keeps it.
async fn the_account_area_confirms_a_personal_address_by_a_code(t: TestStore) {
    let s = setup(&t).await;
    let c = s.app.new_client();
    let sign_in = [("login", "elodie.leboeuf"), ("password", GOOD_PASSWORD)];
    let (status, ..) = post(&c, &s.app, "/login", "/login", &sign_in).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = get(&c, &s.app, "/account/recovery").await;
    assert!(page.contains("par SMS au 06 •• •• •• 78") && page.contains("par mail à e•••@example.org"), "{page}");
    let (status, _, page) =
        post(&c, &s.app, "/account/recovery", "/account/recovery", &[("personal_email", "élo@")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    let new = [("personal_email", "Elodie.Nouvelle@Perso.example")];
    let (status, location, _) = post(&c, &s.app, "/account/recovery", "/account/recovery", &new).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/account/recovery/confirm"));
    let (_, page) = get(&c, &s.app, "/account/recovery/confirm").await;
    assert!(page.contains("E•••@perso.example"), "{page}");
    let mails = common::mail_files(&s.mail_dir, 3).await;
    let mail = mails.iter().find(|m| m.contains("Elodie.Nouvelle@perso.example")).expect("a mail to the new address");
    let code = code_in(mail);
    let confirm = "/account/recovery/confirm";
    let (status, _, page) = post(&c, &s.app, confirm, confirm, &[("code", &other_than(&code))]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    let elodie = t.store.find_by_login("elodie.leboeuf").await.unwrap().unwrap();
    assert_eq!(elodie.personal_email.as_deref(), Some("elodie.perso@example.org"), "not before the code");
    let (status, location, _) = post(&c, &s.app, confirm, confirm, &[("code", &code)]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/account"));
    let elodie = t.store.find_by_login("elodie.leboeuf").await.unwrap().unwrap();
    assert_eq!(elodie.personal_email.as_deref(), Some("Elodie.Nouvelle@perso.example"));
    let without = PEOPLE.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n").collect::<String>();
    let (lines, _) = parse_csv(without.as_bytes(), time::OffsetDateTime::now_utc().date()).unwrap();
    import_lines(t.store.as_ref(), lines, "example.edu", Options::default()).await.unwrap();
    let elodie = t.store.find_by_login("elodie.leboeuf").await.unwrap().unwrap();
    assert_eq!(elodie.personal_email.as_deref(), Some("Elodie.Nouvelle@perso.example"), "kept by the import");
}

/// A message whose code expired while the gateway was down is dropped, never sent late.
async fn an_sms_past_its_code_validity_is_dropped(t: TestStore) {
    let s = setup_with(&t, time::Duration::seconds(1)).await;
    s.gateway.down.store(true, Ordering::SeqCst);
    let c = elodie(&s.app).await;
    let (status, ..) = send(&c, &s.app, "sms").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.gateway.down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(s.gateway.messages.lock().unwrap().is_empty(), "an expired code is not sent");
}

on_both_stores!(
    an_sms_past_its_code_validity_is_dropped,
    the_account_area_confirms_a_personal_address_by_a_code,
    import_reads_the_personal_address,
    an_sms_code_recovers_the_account,
    a_mail_code_recovers_the_account,
    three_wrong_codes_void_it,
    a_new_code_voids_the_previous_one,
    an_expired_code_is_refused,
    a_fourth_code_within_the_hour_waits,
    a_channel_not_held_is_refused,
    sending_before_identification_leads_to_the_first_step,
    an_sms_waits_for_the_gateway_and_goes_once,
);
