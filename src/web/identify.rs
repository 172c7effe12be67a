//! Identification, shared by activation and recovery: choose a method, then prove who one is
//! with an identifier and a birth date, throttled, with one answer for every failure.

use askama::Template;
use axum::response::Response;
use serde::Deserialize;
use time::OffsetDateTime;

use super::AppState;
use super::changes::failure_event;
use super::client::ClientAddr;
use super::error::AppError;
use super::form::FieldErrors;
use super::page_context::Page;
use super::respond::{render, see_other, too_many, unprocessable};
use super::routes::{ACTIVATE_IDENTIFY, RECOVER};
use crate::domain::activation::Step;
use crate::domain::birth_date::BirthDate;
use crate::domain::identifiers::{IdentificationMethod, Identifier};
use crate::domain::throttle::{self, ThrottleRule};
use crate::store::PersonRecord;

/// The journeys that start with identification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journey {
    Activation,
    Recovery,
}

impl Journey {
    /// The page to choose a method on.
    pub fn start(self) -> &'static str {
        match self {
            Self::Activation => Step::Identify.path(),
            Self::Recovery => RECOVER,
        }
    }

    /// Where the identification form is and posts to.
    pub fn form(self) -> &'static str {
        match self {
            Self::Activation => ACTIVATE_IDENTIFY,
            Self::Recovery => RECOVER,
        }
    }

    /// How the audit trail names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Activation => "activation",
            Self::Recovery => "recovery",
        }
    }

    fn title_key(self) -> &'static str {
        match self {
            Self::Activation => "activate.title",
            Self::Recovery => "recover.title",
        }
    }

    fn intro_key(self) -> &'static str {
        match self {
            Self::Activation => "activate.choose_intro",
            Self::Recovery => "recover.choose_intro",
        }
    }

    /// Only activation is a wizard with a progress bar.
    fn progress(self) -> Option<Progress> {
        (self == Self::Activation).then(|| Progress::of(Step::Identify))
    }
}

/// The activation wizard's progress bar at a step, as the templates show it.
pub struct Progress {
    pub percent: u8,
    pub previous: Option<&'static str>,
}

impl Progress {
    pub fn of(step: Step) -> Self {
        Self { percent: step.progress(), previous: step.previous().map(Step::path) }
    }
}

#[derive(Template)]
#[template(path = "identify/choose.html")]
struct Choose {
    page: Page,
    methods: [IdentificationMethod; 4],
    /// Where each method's form is.
    target: &'static str,
    title_key: &'static str,
    intro_key: &'static str,
}

/// How a method is named and where its number is found, for both identification pages.
trait MethodTexts {
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

/// The page listing the methods of a journey.
pub fn choose(page: Page, journey: Journey) -> Result<Response, AppError> {
    render(&Choose {
        page,
        methods: IdentificationMethod::ALL,
        target: journey.form(),
        title_key: journey.title_key(),
        intro_key: journey.intro_key(),
    })
}

#[derive(Template)]
#[template(path = "identify/form.html")]
struct IdentifyForm {
    page: Page,
    action: &'static str,
    method: IdentificationMethod,
    csrf: String,
    identifier: String,
    birth_date: String,
    errors: FieldErrors,
    progress: Option<Progress>,
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

/// The identification form of a journey, empty.
pub fn empty_form(
    page: Page,
    csrf: String,
    journey: Journey,
    method: IdentificationMethod,
) -> Result<Response, AppError> {
    render(&IdentifyForm {
        page,
        action: journey.form(),
        method,
        csrf,
        identifier: String::new(),
        birth_date: String::new(),
        errors: FieldErrors::default(),
        progress: journey.progress(),
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

/// Throttled per client address and per identifier, with one answer for an unknown identifier
/// and for a wrong birth date.
pub async fn identify(
    state: &AppState,
    csrf: String,
    client: ClientAddr,
    page: Page,
    journey: Journey,
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
        return Ok(Identification::Refused(see_other(&page, journey.start())));
    };

    let mut errors = FieldErrors::default();
    let identifier =
        Identifier::parse(method, &fields.identifier).map_err(|e| errors.add("identifier", page.t(e.code()))).ok();
    let birth_date =
        BirthDate::parse(&fields.birth_date, now.date()).map_err(|e| errors.add("birth_date", page.t(e.code()))).ok();
    let form = |page: Page, errors: FieldErrors| IdentifyForm {
        page,
        action: journey.form(),
        method,
        csrf,
        identifier: fields.identifier.clone(),
        birth_date: fields.birth_date.clone(),
        errors,
        progress: journey.progress(),
    };
    let (Some(identifier), Some(birth_date)) = (identifier, birth_date) else {
        if let Some(until) = address_locked().await? {
            return Ok(Identification::Refused(too_many(page, until, now_s)?));
        }
        return Ok(Identification::Refused(unprocessable(&form(page, errors))?));
    };

    let key = throttle::identifier_key(&identifier);
    let lookup = state.store.identification(&identifier, [&addr_key, &key], now_s).await?;
    if let Some(until) = lookup.locked_until {
        return Ok(Identification::Refused(too_many(page, until, now_s)?));
    }
    // Every identifier of one person adds up to one more counter; an unknown identifier has a
    // twin of its own, so that both cost the same queries and give the same answers.
    let person_key = match &lookup.person {
        Some(person) => throttle::identified_person_key(person.id),
        None => throttle::unidentified_person_key(&identifier),
    };
    if let Some(until) = state.store.throttle_locked_until(&person_key, now_s).await? {
        return Ok(Identification::Refused(too_many(page, until, now_s)?));
    }
    match lookup.person {
        Some(person) if person.birth_date == birth_date.date() => {
            if lookup.failures_counted {
                state.store.throttle_clear(&key).await?;
            }
            state.store.throttle_clear(&person_key).await?;
            Ok(Identification::Person { person, identifier, has_account: lookup.has_account })
        }
        other => {
            tracing::info!(method = method.as_str(), known = other.is_some(), "identification failed");
            metrics::counter!("sesame_identification_failures_total").increment(1);
            let counters = [
                (&key, &throttle::IDENTIFIER),
                (&person_key, &throttle::IDENTIFIER),
                (&addr_key, &throttle::CLIENT_ADDRESS),
            ];
            for (k, rule) in counters {
                count_failure(state, k, now_s, rule).await?;
            }
            let step = format!("{}:identify:{}", journey.name(), method.as_str());
            let person_id = other.map(|p| p.id);
            state.store.audit(&failure_event("identification_failed", person_id, client, &step, now)).await?;
            let mut errors = FieldErrors::default();
            // Either field may be wrong, and which one is not told.
            errors.add("identification", page.t("identify.no_match"));
            Ok(Identification::Refused(unprocessable(&form(page, errors))?))
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

#[derive(Template)]
#[template(path = "identify/disabled.html")]
struct Disabled {
    page: Page,
}

/// The page for a person whose account the institution disabled, whatever the journey.
pub fn disabled(page: Page) -> Result<Response, AppError> {
    render(&Disabled { page })
}
