//! What the fault drills share: one person, her identification, the calm 503.

use reqwest::StatusCode;
use sesame::cli::import::{Options, import_lines, parse_csv};
use sesame::store::Store;

use super::TestApp;
use super::journey::csrf;

pub const PEOPLE: &str = "uid,category,given_name,family_name,birth_date,staff_number
100001,staff,Élodie,Le Bœuf,14/07/1985,12345
";

pub async fn import_people(store: &dyn Store) {
    let (lines, _) = parse_csv(PEOPLE.as_bytes(), time::OffsetDateTime::now_utc().date()).unwrap();
    import_lines(store, lines, "example.edu", Options::default()).await.unwrap();
}

/// A person identifies in a new browser: the status, the redirection or the page, and the
/// browser (which holds the session the identification wrote, if it succeeded). A 503 must
/// say when to come back.
pub async fn identification(app: &TestApp) -> (StatusCode, String, reqwest::Client) {
    let client = app.new_client();
    let form = app.url("/activate/identify?method=staff_number");
    let page = client.get(&form).send().await.unwrap();
    let status = page.status();
    assert!(status != StatusCode::SERVICE_UNAVAILABLE || page.headers().contains_key("retry-after"));
    let body = page.text().await.unwrap();
    if status != StatusCode::OK {
        return (status, body, client);
    }
    let fields = [
        ("csrf_token", csrf(&body).as_str()),
        ("method", "staff_number"),
        ("identifier", "12345"),
        ("birth_date", "14/07/1985"),
    ]
    .map(|(k, v)| (k, v.to_string()));
    let res = client.post(&form).form(&fields).send().await.unwrap();
    let status = res.status();
    assert!(status != StatusCode::SERVICE_UNAVAILABLE || res.headers().contains_key("retry-after"));
    let location = res.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    let body = res.text().await.unwrap();
    (status, location.unwrap_or(body), client)
}

/// The styled 503 of ours: the site's page, nothing of the database.
pub fn assert_styled_503(body: &str) {
    assert!(body.contains("<h1>Service momentanément indisponible</h1>") && body.contains("<nav"), "{body}");
    assert!(!body.contains("sqlx") && !body.contains("full"), "{body}");
}
