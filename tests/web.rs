//! The foundation's pages over real HTTP: probes, home page, headers, languages.

mod common;

use common::{TestStore, spawn_app, test_config};
use reqwest::StatusCode;

async fn app(t: &TestStore) -> common::TestApp {
    spawn_app(test_config(&t.url), t.store.clone()).await
}

async fn probes_answer(t: TestStore) {
    let app = app(&t).await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}

async fn home_is_french_by_default_with_the_contract_headers(t: TestStore) {
    let app = app(&t).await;
    let res = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe-inline")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    let body = res.text().await.unwrap();
    assert!(body.contains("<html lang=\"fr\">"));
    for link in ["/activate", "/recover", "/login", "/help"] {
        assert!(body.contains(&format!("href=\"{link}\"")), "home links to {link}");
    }
    assert!(body.contains("Activer mon compte") && body.contains("Identifiants oubliés"));
}

async fn english_when_the_browser_prefers_it_or_asked_and_remembered(t: TestStore) {
    let app = app(&t).await;
    let body = app
        .client
        .get(app.url("/"))
        .header("accept-language", "en-GB,en;q=0.9,fr;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("<html lang=\"en\">") && body.contains("Activate my account"));

    let res = app.client.get(app.url("/?lang=en")).send().await.unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("lang=en") && cookie.contains("HttpOnly"), "{cookie}");
    // The cookie jar now carries the choice, whatever the browser says.
    let body = app.client.get(app.url("/")).header("accept-language", "fr").send().await.unwrap().text().await.unwrap();
    assert!(body.contains("<html lang=\"en\">"));
}

async fn unknown_pages_are_a_calm_404(t: TestStore) {
    let app = app(&t).await;
    let res = app.client.get(app.url("/nowhere")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("Page introuvable"));
}

/// The `src` or `href` of the page's link to a static asset: `sesame.css` under its hashed
/// name for `("sesame.", ".css")`.
fn asset_link(body: &str, stem: &str, extension: &str) -> String {
    let start = format!("/static/{stem}");
    body.split('"').find(|part| part.contains(&start) && part.ends_with(extension)).expect("an asset link").to_string()
}

async fn static_assets_are_hashed_compressed_and_cached(t: TestStore) {
    let app = app(&t).await;
    let home = app.client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    for extension in [".css", ".js"] {
        let link = asset_link(&home, "sesame.", extension);
        assert!(link.len() > "/static/sesame.".len() + 16, "content-hashed name: {link}");
        let res = app.client.get(app.url(&link)).header("accept-encoding", "gzip").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{link}");
        assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(res.headers()["content-encoding"], "gzip");
        assert_eq!(res.headers()["vary"], "accept-encoding");
        let plain = app.client.get(app.url(&link)).send().await.unwrap();
        assert!(plain.headers().get("content-encoding").is_none(), "only to who asks");
        assert!(plain.bytes().await.unwrap().len() > res.bytes().await.unwrap().len());
    }
    // By its plain name, for whoever links it by hand: revalidated with its ETag.
    let res = app.client.get(app.url("/static/sesame.css")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "public, no-cache");
    let etag = res.headers()["etag"].clone();
    let again = app.client.get(app.url("/static/sesame.css")).header("if-none-match", etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let missing = app.client.get(app.url("/static/sesame.0000000000000000.css")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

async fn the_header_shows_the_institution_and_its_logo(t: TestStore) {
    let mut config = test_config(&t.url);
    config.institution_name = "Université de Bretagne".into();
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>".to_vec();
    config.logo = Some(sesame::config::Logo { bytes: svg.clone(), extension: "svg", content_type: "image/svg+xml" });
    let app = spawn_app(config, t.store.clone()).await;
    let home = app.client.get(app.url("/help")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("<span class=\"institution\">Université de Bretagne</span>"), "{home}");
    assert!(home.contains("Aide — Sésame — Université de Bretagne</title>"), "{home}");
    assert!(home.contains("href=\"/help\" aria-current=\"page\""), "the current section is marked");
    let logo = asset_link(&home, "logo.", ".svg");
    let res = app.client.get(app.url(&logo)).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert_eq!(res.bytes().await.unwrap().to_vec(), svg);
    // Without one, no image at all.
    let plain = self::app(&t).await;
    let plain = plain.client.get(plain.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(!plain.contains("<img"), "{plain}");
}

async fn oversized_bodies_are_refused(t: TestStore) {
    let app = app(&t).await;
    let res = app
        .client
        .post(app.url("/"))
        .body(vec![b'a'; 17 * 1024])
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

async fn metrics_count_requests_by_route_template(t: TestStore) {
    let app = app(&t).await;
    app.client.get(app.url("/activate/identify?method=uid")).send().await.unwrap();
    app.client.get(app.url("/activate/identify?method=uid")).send().await.unwrap();
    app.client.get(app.url("/nowhere/secret-looking-path")).send().await.unwrap();
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(text.contains("http_requests_total{") && text.contains("route=\"/activate/identify\""), "{text}");
    assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("sesame_outbox_backlog 0") && text.contains("sesame_argon2_seconds_total"), "{text}");
    assert!(
        text.contains("sesame_session_reads_total{from=\"cache\"}"),
        "the second page read its session from memory"
    );
    assert!(!text.contains("secret-looking-path"), "raw paths never become labels");
}

async fn everything_follows_a_path_prefix(t: TestStore) {
    let mut config = test_config(&t.url);
    config.public_url = url::Url::parse("https://ent.example.edu/sesame").unwrap();
    let app = spawn_app(config, t.store.clone()).await;
    let slash = app.client.get(app.url("/sesame/")).send().await.unwrap();
    assert_eq!(slash.headers()["location"], "/sesame");
    let home = app.client.get(app.url("/sesame")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let body = home.text().await.unwrap();
    assert!(body.contains("href=\"/sesame/activate\""));
    for extension in [".css", ".js"] {
        let link = asset_link(&body, "sesame.", extension);
        assert!(link.starts_with("/sesame/static/sesame."), "{link}");
        assert_eq!(app.client.get(app.url(&link)).send().await.unwrap().status(), StatusCode::OK);
    }
    assert_eq!(app.client.get(app.url("/activate")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let res = app.client.get(app.url("/sesame/activate/identify?method=uid")).send().await.unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("Path=/sesame"), "{cookie}");
    let res = app.client.get(app.url("/sesame/activate/password")).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/sesame/activate", "redirects stay under the prefix");
    assert_eq!(app.client.get(app.url("/sesame/static/sesame.css")).send().await.unwrap().status(), StatusCode::OK);
}

on_both_stores!(
    everything_follows_a_path_prefix,
    metrics_count_requests_by_route_template,
    probes_answer,
    home_is_french_by_default_with_the_contract_headers,
    english_when_the_browser_prefers_it_or_asked_and_remembered,
    unknown_pages_are_a_calm_404,
    static_assets_are_hashed_compressed_and_cached,
    the_header_shows_the_institution_and_its_logo,
    oversized_bodies_are_refused,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_the_database_through_an_outage() {
    let mut proxy = common::CuttableProxy::start(common::postgres_addr()).await;
    let (_schema, url) = common::postgres_via(proxy.port).await;
    let store = sesame::store::connect(&url).await.unwrap();
    let app = spawn_app(test_config(&url), store).await;
    assert_eq!(app.client.get(app.url("/readyz")).send().await.unwrap().status(), StatusCode::OK);

    proxy.cut();
    let during = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(during.status(), StatusCode::SERVICE_UNAVAILABLE);
    let page = app.client.get(app.url("/activate/identify?method=uid")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE, "a page that needs the database");
    assert!(page.headers().contains_key("retry-after"));
    let body = page.text().await.unwrap();
    assert!(body.contains("momentanément indisponible") && !body.contains("sqlx") && !body.contains("5432"), "{body}");
    assert!(body.contains("<h1>Service momentanément indisponible</h1>"), "a page of the site: {body}");
    assert!(body.contains("<nav") && asset_link(&body, "sesame.", ".css").starts_with("/static/sesame."), "{body}");
    let english = app.client.get(app.url("/activate/identify?method=uid&lang=en")).send().await.unwrap();
    assert!(english.text().await.unwrap().contains("<h1>Temporarily unavailable</h1>"), "in the person's language");
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);

    proxy.restore().await;
    let mut recovered = false;
    for _ in 0..50 {
        if app.client.get(app.url("/readyz")).send().await.unwrap().status() == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(recovered, "readyz recovers without a restart");
    let page = app.client.get(app.url("/activate/identify?method=uid")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "and so do the pages");
}
