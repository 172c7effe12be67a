//! The one error type of the HTTP layer: logged in full, shown as a calm page with a reference.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use super::i18n::Locale;
use super::page_context::Page;
use crate::hashing::HashError;
use crate::store::StoreError;

/// Failures of ours (never of the user): each becomes a page that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 503: the database does not answer; the process keeps running and recovers by itself.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 503: the session store (in the database) failed; like `Store(Unavailable)`.
    #[error("session store: {0}")]
    Sessions(#[from] tower_sessions::session::Error),
    /// 503: the session layer could not save the session after the handler (it logged why).
    #[error("the session could not be saved")]
    SessionSave,
    /// 503: the request's database work took longer than the database time-out.
    #[error("the database did not answer within {0:?}")]
    Deadline(std::time::Duration),
    /// 500: the hashing threads failed.
    #[error("password hashing: {0}")]
    Hashing(#[from] HashError),
    /// 500: a template could not render.
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    /// 500: anything else that went wrong on our side.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// The answer of an extractor that failed on our side: the calm page, as from a handler.
    pub fn rejection(e: impl Into<AppError>) -> Response {
        e.into().into_response()
    }
}

/// What the user is told of a failure; carried by the response so that `styled` can render it
/// as a page like the others.
#[derive(Clone)]
struct Report {
    status: u16,
    unavailable: bool,
    /// Unavailable because too many passwords are being checked at once, not for the database.
    busy: bool,
    reference: String,
    /// Where the form that failed was posted, and what was typed in it (secrets left out), so
    /// that it can be sent again as it was.
    resend: Option<(String, Vec<(String, String)>)>,
}

#[derive(Template)]
#[template(path = "error_fallback.html")]
struct FallbackPage {
    report: Report,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Page,
    report: Report,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let busy = matches!(self, AppError::Hashing(HashError::Busy));
        let unavailable = busy
            || matches!(
                self,
                AppError::Store(StoreError::Unavailable(_))
                    | AppError::Sessions(_)
                    | AppError::SessionSave
                    | AppError::Deadline(_)
            );
        let status = if unavailable { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::INTERNAL_SERVER_ERROR };
        if busy {
            tracing::warn!(reference = %reference, "refused: the hashing queue is full");
        } else {
            tracing::error!(reference = %reference, error = ?self, "request failed");
        }
        let report = Report { status: status.as_u16(), unavailable, busy, reference, resend: None };
        // Bilingual and bare on purpose: what is shown when `styled` cannot render the real page.
        let body = FallbackPage { report: report.clone() }
            .render()
            .unwrap_or_else(|_| format!("Erreur / Error {}", report.status));
        let mut response = (status, Html(body)).into_response();
        response.extensions_mut().insert(report);
        if unavailable {
            // A full queue empties within seconds; a database comes back in its own time.
            let after = if busy { "5" } else { "30" };
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static(after));
        }
        response
    }
}

/// Renders our failures as pages of the site: in the person's language, under the path prefix,
/// with the header that leads back. Needs nothing of the database, so it works during an outage.
/// Costs two cheap copies on requests that do not fail; a form is read only when it failed. Sits outside the session layer, whose
/// own failure is a bare 500.
pub async fn styled(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let locale = request.extensions().get::<Locale>().copied().unwrap_or_default();
    let uri = request.uri().clone();
    let (request, form) = match form_body(request).await {
        Ok(kept) => kept,
        Err(refused) => return refused,
    };
    let mut response = next.run(request).await;
    // tower-sessions answers an empty 500, without a type, when the session cannot be saved
    // after the handler; every answer of ours has a type.
    if response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && !response.headers().contains_key(axum::http::header::CONTENT_TYPE)
    {
        response = AppError::SessionSave.into_response();
    }
    if let Some(mut report) = response.extensions_mut().remove::<Report>()
        && let Ok(body) = {
            if let Some(typed) = form.filter(|_| report.unavailable).as_deref().and_then(resendable) {
                let action = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
                report.resend = Some((format!("{}{action}", state.config.base_path()), typed));
            }
            ErrorPage { page: Page::new(&state, locale, uri.path()), report }.render()
        }
    {
        response.headers_mut().remove(axum::http::header::CONTENT_LENGTH);
        *response.body_mut() = body.into();
    }
    response
}

/// Fields whose values are never written back into a page: passwords, security answers, codes.
fn secret(name: &str) -> bool {
    name.contains("password") || name == "answer" || name == "code"
}

/// The body of a form post, read ahead of the handler (forms are small: `BODY_LIMIT`) and kept
/// (a shared buffer, no copy), so that an unavailable service can offer to send it again; the
/// request keeps its body.
async fn form_body(request: Request) -> Result<(Request, Option<Bytes>), Response> {
    let form = request.method() == axum::http::Method::POST
        && request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/x-www-form-urlencoded"));
    if !form {
        return Ok((request, None));
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, super::BODY_LIMIT)
        .await
        .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
    Ok((Request::from_parts(parts, bytes.clone().into()), Some(bytes)))
}

/// What was typed into a form, read by the one door every form passes (secrets left out), to be
/// sent again; nothing when the door would refuse the body.
fn resendable(body: &[u8]) -> Option<Vec<(String, String)>> {
    let fields = super::form::decode(body).ok()?;
    fields.iter().try_for_each(|(name, value)| super::form::judge(name, value)).ok()?;
    let typed: Vec<_> = fields.into_iter().filter(|(name, _)| !secret(name)).collect();
    (!typed.is_empty()).then_some(typed)
}

#[cfg(test)]
mod tests {
    use super::resendable;

    #[test]
    fn only_what_the_door_accepts_is_offered_again_and_never_a_secret() {
        let pairs = |p: &[(&str, &str)]| p.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect::<Vec<_>>();
        assert_eq!(
            resendable(b"login=ana&password=x&csrf_token=t"),
            Some(pairs(&[("login", "ana"), ("csrf_token", "t")]))
        );
        assert_eq!(resendable(b"answer=x&current_password=y&code=123456"), None, "secrets only");
        assert_eq!(resendable(b"login=a%00b&csrf_token=t"), None, "a NUL");
        assert_eq!(resendable(b"login=%FF&csrf_token=t"), None, "not UTF-8");
    }
}
