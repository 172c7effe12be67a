//! Faults of the machine and of the database, as a drill makes them: a disk that fills up and
//! empties, a database that hangs, a session store that fails after a form. Each answer of ours
//! is the styled page, quickly, and the service recovers by itself.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::drill::{assert_styled_503, identification, import_people};
use common::journey::csrf;
use common::{spawn_app, test_config};
use reqwest::StatusCode;
use sesame::store::{SqliteStore, Store};

/// Sets `PRAGMA max_page_count` (a per-connection setting) on every connection of the pool,
/// by holding all of them at once: the file "fills up" at `pages`.
async fn limit_pages(pool: &sqlx::SqlitePool, pages: i64) {
    let mut held = Vec::new();
    for _ in 0..pool.options().get_max_connections() {
        let mut conn = pool.acquire().await.unwrap();
        sqlx::query(&format!("PRAGMA max_page_count = {pages}")).execute(&mut *conn).await.unwrap();
        held.push(conn);
    }
}

/// The drill's tmpfs, as SQLite's page limit: writes fail while the file is full, each with the
/// styled 503 and none hanging; /readyz says the database cannot be written; once there is room
/// again, the same process writes again within seconds, and every write it said it made is
/// there for another instance to read. Before, a connection whose transaction SQLite had rolled
/// back by itself stayed inside a transaction of its own: "database is locked" for minutes,
/// and the writes it took were lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_recovers_by_itself_when_the_disk_has_room_again() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sesame.db").display());
    let sqlite = SqliteStore::connect(&url, Duration::from_secs(5)).await.unwrap();
    sqlite.migrate().await.unwrap();
    import_people(&sqlite).await;
    let pool = sqlite.pool().clone();
    let store: Arc<dyn Store> = Arc::new(sqlite);
    let app = spawn_app(test_config(&url), store).await;
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&pool).await.unwrap();
    limit_pages(&pool, pages + 1).await;

    // Identifications until the file is full and a few more: each wrote its session or was
    // told, at once, to come back later.
    let mut written = Vec::new();
    let mut refused = 0;
    for _ in 0..60 {
        let asked = Instant::now();
        let res = tokio::time::timeout(Duration::from_secs(15), identification(&app)).await;
        let (status, location, client) = res.expect("an answer, not a hang");
        assert!(asked.elapsed() < Duration::from_secs(12), "answered in {:?}", asked.elapsed());
        match status {
            StatusCode::SEE_OTHER => written.push(client_of(location, client)),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_styled_503(&location);
                refused += 1;
            }
            other => panic!("{other}: {location}"),
        }
        if refused >= 10 {
            break;
        }
    }
    assert!(refused >= 10, "the file did fill up ({} identifications written)", written.len());
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE, "a full database cannot be written");

    // Room again, without a restart.
    limit_pages(&pool, 1_000_000).await;
    let room = Instant::now();
    loop {
        let (status, location, client) = identification(&app).await;
        if status == StatusCode::SEE_OTHER {
            written.push(client_of(location, client));
            break;
        }
        assert!(room.elapsed() < Duration::from_secs(10), "still failing: {status} {location}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for _ in 0..20 {
        let (status, location, client) = identification(&app).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
        written.push(client_of(location, client));
    }
    // Each probe takes the next connection of the pool: every one of them can write again.
    for _ in 0..10 {
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), StatusCode::OK, "a connection left inside a transaction");
    }

    // Another instance, reading the file afresh, sees every session this one said it wrote.
    let other = spawn_app(test_config(&url), sesame::store::connect(&url).await.unwrap()).await;
    for client in written {
        let res = client.get(other.url("/activate/question")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "a session written and lost");
    }
}

fn client_of(location: String, client: reqwest::Client) -> reqwest::Client {
    assert_eq!(location, "/activate/question");
    client
}

/// The session layer writes the session after the handler; when the database refuses that
/// write, the person gets the styled 503 like any failure of ours, not tower-sessions' empty 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_cannot_be_saved_after_a_form_gets_the_styled_page() {
    let t = common::sqlite().await;
    import_people(t.store.as_ref()).await;
    let app = spawn_app(test_config(&t.url), t.store.clone()).await;
    let client = app.new_client();
    let form = app.url("/activate/identify?method=staff_number");
    let page = client.get(&form).send().await.unwrap().text().await.unwrap();
    let other = sqlx::SqlitePool::connect(&t.url).await.unwrap();
    for event in ["INSERT", "UPDATE"] {
        let trigger = format!(
            "CREATE TRIGGER refuse_{event} BEFORE {event} ON tower_sessions BEGIN SELECT RAISE(ABORT, 'refused'); END"
        );
        sqlx::query(&trigger).execute(&other).await.unwrap();
    }
    let token = csrf(&page);
    let fields = [
        ("csrf_token", token.as_str()),
        ("method", "staff_number"),
        ("identifier", "12345"),
        ("birth_date", "14/07/1985"),
    ];
    let res = client.post(&form).form(&fields).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));
    assert_styled_503(&res.text().await.unwrap());
}

/// Behind an https public URL every answer tells the browser to use https only, for the
/// configured time; over plain http nothing is said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_transport_security_only_behind_https() {
    let t = common::sqlite().await;
    let mut config = test_config(&t.url);
    let plain = spawn_app(config.clone(), t.store.clone()).await;
    let res = plain.client.get(plain.url("/")).send().await.unwrap();
    assert!(!res.headers().contains_key("strict-transport-security"), "over http");

    config.public_url = "https://sesame.example.edu/".parse().unwrap();
    let secure = spawn_app(config.clone(), t.store.clone()).await;
    for path in ["/", "/healthz", "/nowhere"] {
        let res = secure.client.get(secure.url(path)).send().await.unwrap();
        assert_eq!(res.headers()["strict-transport-security"], "max-age=31536000", "{path}");
    }
    config.hsts_max_age_seconds = 600;
    let shorter = spawn_app(config, t.store.clone()).await;
    let res = shorter.client.get(shorter.url("/")).send().await.unwrap();
    assert_eq!(res.headers()["strict-transport-security"], "max-age=600");
}

/// A PostgreSQL that accepts connections but never answers: forms get the styled 503 with
/// Retry-After within the database time-out, /readyz says not ready within a second, and all
/// is well again once the server answers. Before, requests waited for the whole outage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_postgresql_gets_a_quick_503_and_recovers() {
    let mut proxy = common::CuttableProxy::start(common::postgres_addr()).await;
    let (t, url) = common::postgres_via(proxy.port).await;
    import_people(t.store.as_ref()).await;
    let timeout = Duration::from_secs(2);
    let store = sesame::store::connect_serving(&url, false, timeout).await.unwrap();
    let mut config = test_config(&url);
    config.database_timeout = timeout;
    let app = Arc::new(spawn_app(config, store).await);
    assert_eq!(identification(&app).await.0, StatusCode::SEE_OTHER);

    proxy.hang();
    let asked = Instant::now();
    let people: Vec<_> = (0..6)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                let answer = tokio::time::timeout(Duration::from_secs(20), identification(&app)).await;
                (answer.expect("an answer, not a hang"), Instant::now())
            })
        })
        .collect();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(asked.elapsed() < Duration::from_millis(1500), "/readyz answered in {:?}", asked.elapsed());
    for person in people {
        let ((status, body, _), answered) = person.await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_styled_503(&body);
        let took = answered - asked;
        assert!(took < timeout * 2 + Duration::from_secs(1), "answered in {took:?}");
    }

    proxy.restore().await;
    let restored = Instant::now();
    while identification(&app).await.0 != StatusCode::SEE_OTHER {
        assert!(restored.elapsed() < Duration::from_secs(15), "no recovery");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.client.get(app.url("/readyz")).send().await.unwrap().status(), StatusCode::OK);
}

/// The September rush with the hashing queue's bound set tiny: a password post that would wait
/// longer gets the styled 503 at once, with Retry-After and a form that sends again what was
/// typed (never the password); the others are served; pages that need no hash do not wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_posts_beyond_the_queue_bound_are_refused_at_once_keeping_what_was_typed() {
    let t = common::sqlite().await;
    let mut config = test_config(&t.url);
    config.hash_wait = Duration::from_millis(1);
    let app = Arc::new(spawn_app(config, t.store.clone()).await);
    let sign_in = |login: String| {
        let app = app.clone();
        async move {
            let client = app.new_client();
            let page = client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
            let fields = [("csrf_token", csrf(&page)), ("login", login), ("password", "Secret-Typed-42".into())];
            let asked = Instant::now();
            let res = client.post(app.url("/login")).form(&fields).send().await.unwrap();
            let (status, retry) = (res.status(), res.headers().get("retry-after").cloned());
            (status, retry, res.text().await.unwrap(), asked.elapsed())
        }
    };
    // One hash first, so that the queue knows how long one takes.
    assert_ne!(sign_in("warm.up".into()).await.0, StatusCode::SERVICE_UNAVAILABLE);

    let rush: Vec<_> = (0..12).map(|i| tokio::spawn(sign_in(format!("rush.{i}")))).collect();
    let page = Instant::now();
    let home = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let page = page.elapsed();
    let (mut served, mut shed) = (0, 0);
    for (i, post) in rush.into_iter().enumerate() {
        let (status, retry, body, took) = post.await.unwrap();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            shed += 1;
            assert_eq!(retry.unwrap(), "5");
            assert!(body.contains("beaucoup de demandes") && body.contains("<nav"), "{body}");
            assert!(body.contains(&format!("name=\"login\" value=\"rush.{i}\"")), "what was typed: {body}");
            assert!(body.contains("name=\"csrf_token\"") && body.contains("action=\"/login\""), "{body}");
            assert!(!body.contains("Secret-Typed-42") && !body.contains("name=\"password\""), "{body}");
            assert!(took < Duration::from_secs(5), "refused in {took:?}");
        } else {
            served += 1;
            assert!(status.is_success() || status.is_client_error(), "{status}: {body}");
        }
    }
    assert!(shed > 0 && served > 0, "{served} served, {shed} shed");
    assert!(page < Duration::from_millis(500), "a page without a hash took {page:?}");
}
