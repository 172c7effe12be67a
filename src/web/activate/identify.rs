//! Steps 1 and 2: choose how to identify, then prove it with an identifier and a birth date.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::{Progress, forget_wizard, save, see_other};
use crate::domain::activation::{Identified, Step, Wizard};
use crate::domain::birth_date::BirthDate;
use crate::domain::identifiers::{IdentificationMethod, Identifier};
use crate::domain::throttle::{self, ThrottleRule};
use crate::store::{AuditEvent, PersonRecord};
use crate::web::AppState;
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::{CsrfForm, FieldErrors, csrf_token};
use crate::web::page::{Page, render};

#[derive(Template)]
#[template(path = "activate/choose.html")]
pub struct Choose {
    pub page: Page,
    pub methods: [IdentificationMethod; 4],
    /// Where each method's form is: activation's or recovery's.
    pub target: &'static str,
    pub title_key: &'static str,
}

/// How a method is named and where its number is found, for both identification pages.
pub trait MethodTexts {
    fn page(&self) -> &Page;

    fn method_label(&self, method: &IdentificationMethod) -> String {
        self.page().t(&format!("method.{}", method.as_str()))
    }

    fn method_hint(&self, method: &IdentificationMethod) -> String {
        self.page().t(&format!("method.{}.where", method.as_str()))
    }
}

impl MethodTexts for Choose {
    fn page(&self) -> &Page {
        &self.page
    }
}

impl MethodTexts for IdentifyForm {
    fn page(&self) -> &Page {
        &self.page
    }
}

pub async fn choose(page: Page) -> Result<Response, AppError> {
    render(&Choose {
        page,
        methods: IdentificationMethod::ALL,
        target: "/activate/identify",
        title_key: "activate.title",
    })
}

#[derive(Template)]
#[template(path = "activate/identify.html")]
pub struct IdentifyForm {
    pub page: Page,
    pub action: &'static str,
    pub method: IdentificationMethod,
    pub csrf: String,
    pub identifier: String,
    pub birth_date: String,
    pub errors: FieldErrors,
    pub progress: Option<Progress>,
}

#[derive(Deserialize)]
pub struct MethodQuery {
    method: Option<String>,
}

impl MethodQuery {
    pub fn method(&self) -> Option<IdentificationMethod> {
        self.method.as_deref().and_then(|m| m.parse().ok())
    }
}

pub async fn show(page: Page, session: Session, Query(query): Query<MethodQuery>) -> Result<Response, AppError> {
    match query.method() {
        Some(method) => empty_form(page, &session, "/activate/identify", method).await,
        None => Ok(see_other(&page, "/activate")),
    }
}

/// The identification form, empty, for activation or recovery.
pub async fn empty_form(
    page: Page,
    session: &Session,
    action: &'static str,
    method: IdentificationMethod,
) -> Result<Response, AppError> {
    let csrf = csrf_token(session).await?;
    render(&IdentifyForm {
        page,
        action,
        method,
        csrf,
        identifier: String::new(),
        birth_date: String::new(),
        errors: FieldErrors::default(),
        progress: (action == "/activate/identify").then(|| Progress::of(Step::Identify)),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct IdentifyFields {
    method: String,
    identifier: String,
    birth_date: String,
}

/// Who the identifier and birth date designate, once the throttles let the attempt through.
pub enum Identification {
    Person {
        person: PersonRecord,
        identifier: Identifier,
        has_account: bool,
    },
    /// The answer to give instead: the form again with its errors, or 429.
    Refused(Response),
}

#[derive(Template)]
#[template(path = "too_many.html")]
struct TooMany {
    page: Page,
    minutes: i64,
}

/// 429 with `Retry-After` and a page that says when to come back.
pub fn too_many(page: Page, locked_until: i64, now: i64) -> Result<Response, AppError> {
    let seconds = throttle::retry_after(locked_until, now);
    let mut response = render(&TooMany { page, minutes: (seconds + 59) / 60 })?;
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    Ok(response)
}

/// Identification shared by activation and recovery: throttled per client address and per
/// identifier, with one answer for an unknown identifier and for a wrong birth date.
pub async fn identify(
    state: &AppState,
    session: &Session,
    client: ClientAddr,
    page: Page,
    action: &'static str,
    fields: IdentifyFields,
) -> Result<Identification, AppError> {
    let now = OffsetDateTime::now_utc();
    let now_s = now.unix_timestamp();
    let addr_key = throttle::address_key(client.0);
    // A locked address is refused whatever it sent, before anything else is said.
    let address_locked = async || state.store.throttle_locked_until(&addr_key, now_s).await;
    let Ok(method) = fields.method.parse::<IdentificationMethod>() else {
        if let Some(until) = address_locked().await? {
            return Ok(Identification::Refused(too_many(page, until, now_s)?));
        }
        let start = if action == "/recover" { "/recover" } else { "/activate" };
        return Ok(Identification::Refused(see_other(&page, start)));
    };

    let mut errors = FieldErrors::default();
    let identifier =
        Identifier::parse(method, &fields.identifier).map_err(|e| errors.add("identifier", page.t(e.code()))).ok();
    let birth_date =
        BirthDate::parse(&fields.birth_date, now.date()).map_err(|e| errors.add("birth_date", page.t(e.code()))).ok();
    let form = |page: Page, errors: FieldErrors, csrf: String| IdentifyForm {
        page,
        action,
        method,
        csrf,
        identifier: fields.identifier.clone(),
        birth_date: fields.birth_date.clone(),
        errors,
        progress: (action == "/activate/identify").then(|| Progress::of(Step::Identify)),
    };
    let (Some(identifier), Some(birth_date)) = (identifier, birth_date) else {
        if let Some(until) = address_locked().await? {
            return Ok(Identification::Refused(too_many(page, until, now_s)?));
        }
        let csrf = csrf_token(session).await?;
        return Ok(Identification::Refused(unprocessable(&form(page, errors, csrf))?));
    };

    let key = throttle::identifier_key(&identifier);
    let lookup = state.store.identification(&identifier, [&addr_key, &key], now_s).await?;
    if let Some(until) = lookup.locked_until {
        return Ok(Identification::Refused(too_many(page, until, now_s)?));
    }
    match lookup.person {
        Some(person) if person.birth_date == birth_date.date() => {
            if lookup.failures_counted {
                state.store.throttle_clear(&key).await?;
            }
            Ok(Identification::Person { person, identifier, has_account: lookup.has_account })
        }
        other => {
            tracing::info!(method = method.as_str(), known = other.is_some(), "identification failed");
            metrics::counter!("sesame_identification_failures_total").increment(1);
            for (k, rule) in [(&key, &throttle::IDENTIFIER), (&addr_key, &throttle::CLIENT_ADDRESS)] {
                count_failure(state, k, now_s, rule).await?;
            }
            let mut errors = FieldErrors::default();
            errors.add("identifier", page.t("identify.no_match"));
            let csrf = csrf_token(session).await?;
            Ok(Identification::Refused(unprocessable(&form(page, errors, csrf))?))
        }
    }
}

async fn count_failure(state: &AppState, key: &str, now: i64, rule: &ThrottleRule) -> Result<(), AppError> {
    if state.store.throttle_failure(key, now, rule).await?.is_some() {
        metrics::counter!("sesame_locks_total", "scope" => key.split(':').next().unwrap_or("").to_string())
            .increment(1);
        tracing::warn!(scope = key.split(':').next().unwrap_or(""), "throttle: locked after repeated failures");
    }
    Ok(())
}

/// 422 with the form again.
pub fn unprocessable(template: &impl Template) -> Result<Response, AppError> {
    let mut response = render(template)?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

#[derive(Template)]
#[template(path = "activate/already.html")]
pub struct AlreadyActive {
    pub page: Page,
}

#[derive(Template)]
#[template(path = "activate/disabled.html")]
pub struct Disabled {
    pub page: Page,
}

pub async fn submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    page: Page,
    CsrfForm(fields): CsrfForm<IdentifyFields>,
) -> Result<Response, AppError> {
    let (person, identifier, has_account) =
        match identify(&state, &session, client, page.clone(), "/activate/identify", fields).await? {
            Identification::Person { person, identifier, has_account } => (person, identifier, has_account),
            Identification::Refused(response) => return Ok(response),
        };
    if !person.is_active() {
        forget_wizard(&session).await?;
        return render(&Disabled { page });
    }
    if has_account {
        forget_wizard(&session).await?;
        return render(&AlreadyActive { page });
    }
    // Identified: a new session id, so that a cookie planted beforehand is worth nothing.
    crate::web::session::new_id(&session).await?;
    let now = OffsetDateTime::now_utc();
    state
        .store
        .audit(&AuditEvent {
            kind: "identified",
            actor: person.login.clone(),
            person_id: Some(person.id),
            client_addr: Some(client.0.to_string()),
            detail: format!("method={}", identifier.method().as_str()),
            at: now,
        })
        .await?;
    let identified = Identified {
        person_id: person.id,
        uid: person.uid,
        login: person.login,
        email: person.email,
        given_name: person.given_name,
        family_name: person.family_name,
        identifier: identifier.as_str().to_string(),
        birth_date: person.birth_date,
    };
    save(&session, &Wizard::start(identified, now)).await?;
    Ok(see_other(&page, Step::Question.path()))
}
