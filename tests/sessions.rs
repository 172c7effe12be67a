//! Two instances on one database, each with its own session cache: what one changes or ends,
//! the other sees at once. Cookies are handled by hand, so that an old one can be replayed.

mod common;

use std::sync::Arc;

use common::journey::{GOOD_PASSWORD, csrf, up_to_password};
use common::{TestApp, TestStore, spawn_app, test_config};
use reqwest::StatusCode;
use sesame::cli::import::{Options, import_lines, parse_csv};
use sesame::store::Store;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};

const PEOPLE: &str = "uid,category,given_name,family_name,birth_date,staff_number
100001,staff,Élodie,Le Bœuf,14/07/1985,12345
";

/// Two instances of the application, each with its own connection pool and session cache.
async fn two_instances(t: &TestStore) -> (TestApp, TestApp) {
    let today = OffsetDateTime::now_utc().date();
    let (lines, _) = parse_csv(PEOPLE.as_bytes(), today).unwrap();
    import_lines(t.store.as_ref(), lines, "example.edu", Options::default()).await.unwrap();
    let other: Arc<dyn Store> = sesame::store::connect(&t.url).await.unwrap();
    (spawn_app(test_config(&t.url), t.store.clone()).await, spawn_app(test_config(&t.url), other).await)
}

/// A browser whose one cookie the test holds.
struct Browser {
    http: reqwest::Client,
    cookie: String,
}

struct Answer {
    status: StatusCode,
    location: String,
    body: String,
}

impl Browser {
    fn new() -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { http, cookie: String::new() }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let res = request.header("cookie", &self.cookie).send().await.unwrap();
        if let Some(set) = res.headers().get("set-cookie") {
            self.cookie = set.to_str().unwrap().split(';').next().unwrap().to_string();
        }
        let header = |name| res.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let location = header("location");
        Answer { status: res.status(), location, body: res.text().await.unwrap() }
    }

    async fn get(&mut self, app: &TestApp, path: &str) -> Answer {
        self.send(self.http.get(app.url(path))).await
    }

    /// Posts `fields` with the CSRF token of `form` (a page already fetched).
    async fn post(&mut self, app: &TestApp, path: &str, form: &Answer, fields: &[(&str, &str)]) -> Answer {
        let token = csrf(&form.body);
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.send(self.http.post(app.url(path)).form(&all)).await
    }
}

async fn identified(b: &mut Browser, app: &TestApp) {
    let form = b.get(app, "/activate/identify?method=staff_number").await;
    let fields = [("method", "staff_number"), ("identifier", "12345"), ("birth_date", "14/07/1985")];
    let a = b.post(app, "/activate/identify?method=staff_number", &form, &fields).await;
    assert_eq!((a.status, a.location.as_str()), (StatusCode::SEE_OTHER, "/activate/question"));
}

const QUESTION: [(&str, &str); 3] = [("question", "first_pet"), ("custom_question", ""), ("answer", "Minou")];

async fn a_wizard_step_taken_on_one_instance_is_seen_on_the_other(t: TestStore) {
    let (one, two) = two_instances(&t).await;
    let mut b = Browser::new();
    identified(&mut b, &one).await;
    let form = b.get(&two, "/activate/question").await;
    assert_eq!(form.status, StatusCode::OK, "the other instance reads the wizard (and keeps it)");
    let a = b.post(&one, "/activate/question", &form, &QUESTION).await;
    assert_eq!((a.status, a.location.as_str()), (StatusCode::SEE_OTHER, "/activate/sms"));
    let a = b.get(&two, "/activate/sms").await;
    assert_eq!(a.status, StatusCode::OK, "the other instance sees the step done, not its copy from before");
}

async fn a_form_sent_twice_is_taken_twice(t: TestStore) {
    let (one, _) = two_instances(&t).await;
    let mut b = Browser::new();
    identified(&mut b, &one).await;
    let form = b.get(&one, "/activate/question").await;
    let before = b.cookie.clone();
    let a = b.post(&one, "/activate/question", &form, &QUESTION).await;
    assert_eq!(a.location, "/activate/sms");
    assert_ne!(b.cookie, before, "a changed session has a new id");
    // A double click: the browser sends the form again with the cookie it had.
    b.cookie = before;
    let a = b.post(&one, "/activate/question", &form, &QUESTION).await;
    assert_eq!((a.status, a.location.as_str()), (StatusCode::SEE_OTHER, "/activate/sms"), "not refused as forged");
}

/// Élodie's account, activated on `app` with GOOD_PASSWORD.
async fn activated(app: &TestApp) {
    let c = app.new_client();
    up_to_password(&c, app).await;
    let fields = [("password", GOOD_PASSWORD), ("password_confirm", GOOD_PASSWORD), ("accept_rules", "on")];
    let (s, l, _) = common::journey::post(&c, app, "/activate/password", "/activate/password", &fields).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/activate/done"));
}

async fn signing_out_on_one_instance_ends_the_session_on_the_other(t: TestStore) {
    let (one, two) = two_instances(&t).await;
    activated(&one).await;

    let mut b = Browser::new();
    let form = b.get(&one, "/login").await;
    let a = b.post(&one, "/login", &form, &[("login", "elodie.leboeuf"), ("password", GOOD_PASSWORD)]).await;
    assert_eq!(a.location, "/account");
    let account = b.get(&two, "/account").await;
    assert_eq!(account.status, StatusCode::OK, "signed in on the other instance too");
    let signed_in = b.cookie.clone();
    let a = b.post(&one, "/logout", &account, &[]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    b.cookie = signed_in;
    let a = b.get(&two, "/account").await;
    assert_eq!((a.status, a.location.as_str()), (StatusCode::SEE_OTHER, "/login"), "ended on the other at once");
}

async fn a_recovery_cookie_from_before_the_reset_opens_nothing(t: TestStore) {
    let (one, two) = two_instances(&t).await;
    activated(&one).await;

    let mut b = Browser::new();
    let form = b.get(&one, "/recover?method=staff_number").await;
    let fields = [("method", "staff_number"), ("identifier", "12345"), ("birth_date", "14/07/1985")];
    let a = b.post(&one, "/recover?method=staff_number", &form, &fields).await;
    assert_eq!(a.location, "/recover/question");
    let form = b.get(&one, "/recover/question").await;
    let a = b.post(&one, "/recover/question", &form, &[("answer", "creme brulee")]).await;
    assert_eq!(a.location, "/recover/password");
    let form = b.get(&two, "/recover/password").await;
    assert_eq!(form.status, StatusCode::OK);
    let answered = b.cookie.clone();
    let new = "Nouveau-Ciel-Bleu-77";
    let a = b.post(&one, "/recover/password", &form, &[("password", new), ("password_confirm", new)]).await;
    assert_eq!(a.location, "/recover/done");
    b.cookie = answered;
    for app in [&one, &two] {
        let a = b.get(app, "/recover/password").await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "no second reset from the cookie of the first");
    }
}

/// Session rows in the database, counted behind the store's back: all of them, and those
/// readable for more than `minutes` still.
async fn session_rows_lasting(t: &TestStore, minutes: u32) -> (i64, i64) {
    let (sqlite, all) = (t.url.starts_with("sqlite:"), "SELECT COUNT(*) FROM tower_sessions");
    let lasting = if sqlite {
        format!(
            "SELECT COUNT(*) FROM tower_sessions WHERE datetime(expiry_date) > datetime('now', '+{minutes} minutes')"
        )
    } else {
        format!("SELECT COUNT(*) FROM tower_sessions WHERE expiry_date > now() + interval '{minutes} minutes'")
    };
    let lasting = lasting.as_str();
    let mut counts = [0; 2];
    for (count, sql) in counts.iter_mut().zip([all, lasting]) {
        *count = if sqlite {
            let pool = sqlx::SqlitePool::connect(&t.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap()
        } else {
            let pool = sqlx::PgPool::connect(&t.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap()
        };
    }
    (counts[0], counts[1])
}

/// All session rows, and those that are not a replaced id in its grace.
async fn session_rows(t: &TestStore) -> (i64, i64) {
    session_rows_lasting(t, 1).await
}

async fn identification_leaves_a_planted_cookie_with_nothing(t: TestStore) {
    let (one, two) = two_instances(&t).await;
    let mut b = Browser::new();
    // A visitor has no session: the one to plant is the attacker's own, identified.
    identified(&mut b, &one).await;
    let planted = b.cookie.clone();
    identified(&mut b, &one).await;
    assert_ne!(b.cookie, planted, "a new id once identified");
    let form = b.get(&one, "/activate/question").await;
    let a = b.post(&one, "/activate/question", &form, &QUESTION).await;
    assert_eq!(a.location, "/activate/sms");
    b.cookie = planted;
    for app in [&one, &two] {
        let a = b.get(app, "/activate/sms").await;
        assert_eq!((a.status, a.location.as_str()), (StatusCode::SEE_OTHER, "/activate/question"), "none of it");
    }
}

async fn a_visit_makes_no_session_and_each_step_one_more(t: TestStore) {
    let (one, _) = two_instances(&t).await;
    let mut b = Browser::new();
    let form = b.get(&one, "/activate/identify?method=staff_number").await;
    assert_eq!(session_rows(&t).await, (0, 0), "nothing is kept for a visitor");
    let first = b.cookie.clone();
    b.get(&one, "/activate/identify?method=staff_number").await;
    assert_eq!(
        (b.cookie.as_str(), session_rows(&t).await),
        (first.as_str(), (0, 0)),
        "a page that only reads writes nothing"
    );
    let fields = [("method", "staff_number"), ("identifier", "12345"), ("birth_date", "14/07/1985")];
    b.post(&one, "/activate/identify?method=staff_number", &form, &fields).await;
    assert_eq!(session_rows(&t).await, (1, 1), "identification makes the first session");
    let form = b.get(&one, "/activate/question").await;
    b.post(&one, "/activate/question", &form, &QUESTION).await;
    assert_eq!(session_rows(&t).await, (2, 1), "the question step retired one");
    assert_eq!(session_rows_lasting(&t, 60).await.1, 0, "a wizard's session lives the wizard's time, not hours");
}

/// The store's own session writes: one-statement creation, and retirement of a replaced id.
async fn a_retired_session_reads_until_its_grace_ends(t: TestStore) {
    let rows = t.store.sessions();
    let expiry = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let mut record = Record { id: Id::default(), data: Default::default(), expiry_date: expiry };
    record.data.insert("csrf".into(), "token".into());
    let taken = record.id;
    rows.create(&mut record).await.unwrap();
    assert_eq!(record.id, taken);
    let mut twin = Record { id: taken, data: Default::default(), expiry_date: expiry };
    rows.create(&mut twin).await.unwrap();
    assert_ne!(twin.id, taken, "a taken id is never overwritten: the new session gets another");
    assert_eq!(rows.load(&taken).await.unwrap().unwrap().data["csrf"], "token");

    rows.retire(&taken, OffsetDateTime::now_utc() + time::Duration::seconds(30)).await.unwrap();
    assert!(rows.load(&taken).await.unwrap().is_some(), "readable during the grace");
    rows.retire(&taken, OffsetDateTime::now_utc() - time::Duration::seconds(1)).await.unwrap();
    assert!(rows.load(&taken).await.unwrap().is_none(), "gone once it ends");
    let mut ended = Record { id: Id::default(), data: Default::default(), expiry_date: OffsetDateTime::now_utc() };
    rows.create(&mut ended).await.unwrap();
    rows.retire(&ended.id, expiry).await.unwrap();
    assert!(rows.load(&ended.id).await.unwrap().is_none(), "retiring never brings a session back");
}

on_both_stores!(
    a_wizard_step_taken_on_one_instance_is_seen_on_the_other,
    a_form_sent_twice_is_taken_twice,
    signing_out_on_one_instance_ends_the_session_on_the_other,
    a_recovery_cookie_from_before_the_reset_opens_nothing,
    a_retired_session_reads_until_its_grace_ends,
    a_visit_makes_no_session_and_each_step_one_more,
    identification_leaves_a_planted_cookie_with_nothing,
);
