//! Walking the activation wizard as a browser does.

use reqwest::{Client, StatusCode};

use super::TestApp;

pub const GOOD_PASSWORD: &str = "Vélo-Rouge-Lune-42";

/// The CSRF token of a page's form.
pub fn csrf(body: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker).expect("a form with a CSRF token") + marker.len();
    body[start..].split('"').next().unwrap().to_string()
}

pub async fn get(client: &Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let res = client.get(app.url(path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Posts a form with the token of the page at `form_page`; returns status, Location and body.
pub async fn post(
    client: &Client,
    app: &TestApp,
    form_page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let (_, page) = get(client, app, form_page).await;
    let token = csrf(&page);
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    let res = client.post(app.url(action)).form(&all).send().await.unwrap();
    let location = res.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (res.status(), location, res.text().await.unwrap())
}

pub async fn identify(
    client: &Client,
    app: &TestApp,
    method: &str,
    id: &str,
    born: &str,
) -> (StatusCode, String, String) {
    identify_at(client, app, "/activate/identify", method, id, born).await
}

/// Identification at activation's form (`/activate/identify`) or recovery's (`/recover`).
pub async fn identify_at(
    client: &Client,
    app: &TestApp,
    form: &str,
    method: &str,
    id: &str,
    born: &str,
) -> (StatusCode, String, String) {
    let page = format!("{form}?method={method}");
    post(client, app, &page, &page, &[("method", method), ("identifier", id), ("birth_date", born)]).await
}

/// Walks every step before the password with valid answers.
pub async fn up_to_password(client: &Client, app: &TestApp) {
    let (s, l, _) = identify(client, app, "staff_number", "12345", "14/07/1985").await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/activate/question"));
    let q = [("question", "first_pet"), ("custom_question", ""), ("answer", "Crème  Brûlée")];
    let (s, l, _) = post(client, app, "/activate/question", "/activate/question", &q).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/activate/sms"));
    let sms = [("sms_consent", "yes"), ("phone", "06 12 34 56 78")];
    let (s, l, _) = post(client, app, "/activate/sms", "/activate/sms", &sms).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/activate/photo"));
    let (s, l, _) = post(client, app, "/activate/photo", "/activate/photo", &[("photo_consent", "no")]).await;
    assert_eq!((s, l.as_str()), (StatusCode::SEE_OTHER, "/activate/password"));
}
