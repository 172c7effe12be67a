//! The help desk's commands: `sesame account show|unlock|disable|reset`, `sesame stats`, `sesame audit`.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

use super::{cells, plural, table};
use crate::config::Timezone;
use crate::domain::identifiers::{IdentificationMethod, Identifier};
use crate::domain::person::Category;
use crate::domain::phone::MobileNumber;
use crate::domain::security_answer::find_proposed_question;
use crate::domain::throttle::{identified_person_key, identifier_key, recovery_key, sign_in_key};
use crate::i18n::Locale;
use crate::store::{AccountRecord, AuditEvent, AuditLine, AuditQuery, PersonRecord, Store, StoreError};

/// Days `sesame stats` counts back, today included.
const RECENT_DAYS: i64 = 7;

/// Events `sesame account show` lists.
const SHOWN_EVENTS: i64 = 5;

/// Failed attempts `sesame account show` lists ("why can't I get in?"), among the person's
/// latest `SEARCHED_EVENTS` events.
const SHOWN_FAILURES: usize = 10;
const SEARCHED_EVENTS: i64 = 200;

/// The audit kinds of a failed attempt to prove who one is (see `web::changes::failure_event`).
const FAILURE_KINDS: [&str; 3] = ["identification_failed", "answer_wrong", "sign_in_failed"];

#[derive(Debug, Subcommand)]
pub enum AccountAction {
    /// Print the person, their account, their current locks and their latest audit events.
    ///
    /// The person: identifiers, birth date (DD/MM/YYYY), status. The account: when it was
    /// activated and its password last changed, the security question's text, the SMS and photo
    /// choices (the phone masked; never a hash or an answer). Each lock with when it ends, the
    /// 10 latest failed attempts (identification, security answer, sign-in: when, from which
    /// address, at which step) and the 5 latest events; times in SESAME_TIMEZONE with their
    /// offset.
    Show {
        #[arg(value_name = "ID", help = ID_HELP)]
        id: String,
    },
    /// Lift the person's sign-in, recovery and identification locks and forget their failures.
    ///
    /// Recorded in the audit trail with the locks it lifted.
    Unlock {
        #[arg(value_name = "ID", help = ID_HELP)]
        id: String,
    },
    /// Disable the person: no sign-in, activation or recovery; an import never re-enables them.
    ///
    /// Their account and history are kept; a signed-in session of theirs stops working. Recorded
    /// in the audit trail with the status it replaced.
    Disable {
        #[arg(value_name = "ID", help = ID_HELP)]
        id: String,
    },
    /// Put the person back to not activated, so that they can activate again; keep the history.
    ///
    /// Their account (password, security question, SMS and photo choices) is removed; their
    /// status, audit trail and password history are kept, so their recent passwords stay
    /// refused at the next activation. Recorded in the audit trail.
    Reset {
        #[arg(value_name = "ID", help = ID_HELP)]
        id: String,
    },
}

pub(super) const ID_HELP: &str = "The person: a login, an institutional e-mail address, a uid, a staff number, \
                       a student number or an INE (tried in that order)";

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only events from this day on (a day of SESAME_TIMEZONE): YYYY-MM-DD or DD/MM/YYYY.
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    since: Option<Date>,
    /// Only the events of this person (login, e-mail, uid, staff or student number, INE).
    #[arg(long, value_name = "ID")]
    person: Option<String>,
    /// How many events at most, the newest.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..))]
    limit: i64,
}

/// Why a help-desk command stopped (exit 1).
#[derive(Debug, thiserror::Error)]
pub(super) enum Failure {
    #[error("no person is known as '{0}' (login, e-mail, uid, staff or student number, INE)")]
    UnknownPerson(String),
    #[error("the database failed: {}", super::one_line(.0))]
    Store(#[from] StoreError),
}

/// Prints the failure, if any, as one line on stderr and gives the exit code.
fn exit_code(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", super::printable(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

/// `sesame account …`
pub async fn account(store: &dyn Store, action: AccountAction, tz: &Timezone) -> ExitCode {
    exit_code(run_account(store, action, tz).await)
}

async fn run_account(store: &dyn Store, action: AccountAction, tz: &Timezone) -> Result<(), Failure> {
    let (AccountAction::Show { id }
    | AccountAction::Unlock { id }
    | AccountAction::Disable { id }
    | AccountAction::Reset { id }) = &action;
    let person = resolve(store, id).await?;
    match action {
        AccountAction::Show { .. } => show(store, &person, tz).await,
        AccountAction::Unlock { .. } => unlock(store, &person).await,
        AccountAction::Disable { .. } => disable(store, &person).await,
        AccountAction::Reset { .. } => reset(store, &person).await,
    }
}

async fn disable(store: &dyn Store, person: &PersonRecord) -> Result<(), Failure> {
    let previously = person.disabled_by.map_or(person.status.to_string(), |by| format!("disabled by {by}"));
    let event = helpdesk_event("helpdesk_disable", person, format!("previously={}", previously.replace(' ', "_")));
    if store.disable_person(person.id, &event).await? {
        println!("{} is disabled (was {previously}); an import will not re-enable them", person.login);
    } else {
        println!("{} was already disabled by the help desk; nothing changed", person.login);
    }
    Ok(())
}

async fn reset(store: &dyn Store, person: &PersonRecord) -> Result<(), Failure> {
    let event = helpdesk_event("helpdesk_reset", person, "back to not activated, history kept".into());
    if store.reset_account(person.id, &event).await? {
        println!(
            "{} is back to not activated: they can activate again (history kept; their recent passwords stay refused)",
            person.login
        );
    } else {
        println!("{} has no account to reset; nothing changed", person.login);
    }
    Ok(())
}

/// The person an ID names: login or e-mail first, then uid, staff number, student number, INE.
pub(super) async fn resolve(store: &dyn Store, id: &str) -> Result<PersonRecord, Failure> {
    if let Some(person) = store.find_by_login(id).await? {
        return Ok(person);
    }
    use IdentificationMethod::{Ine, StaffNumber, StudentNumber, Uid};
    for method in [Uid, StaffNumber, StudentNumber, Ine] {
        if let Ok(identifier) = Identifier::parse(method, id)
            && let Some(person) = store.find_person(&identifier).await?
        {
            return Ok(person);
        }
    }
    Err(Failure::UnknownPerson(id.trim().to_string()))
}

fn helpdesk_event(kind: &'static str, person: &PersonRecord, detail: String) -> AuditEvent {
    AuditEvent {
        kind,
        actor: operator(),
        person_id: Some(person.id),
        client_addr: None,
        detail,
        at: OffsetDateTime::now_utc(),
    }
}

/// Who ran a help-desk command, as the audit trail names them: the system user.
fn operator() -> String {
    format!("cli:{}", whoami::username())
}

/// Every identifier the person can be identified with at activation or recovery.
fn identifiers(person: &PersonRecord) -> Vec<Identifier> {
    use IdentificationMethod::{Ine, StaffNumber, StudentNumber, Uid};
    [
        (Uid, Some(&person.uid)),
        (StaffNumber, person.staff_number.as_ref()),
        (StudentNumber, person.student_number.as_ref()),
        (Ine, person.ine.as_ref()),
    ]
    .into_iter()
    .filter_map(|(method, value)| Identifier::parse(method, value?).ok())
    .collect()
}

/// The throttle counters that concern one person, with what each one guards.
fn throttle_keys(person: &PersonRecord) -> Vec<(String, String)> {
    let mut keys = vec![
        ("sign-in".to_string(), sign_in_key(person.id)),
        ("recovery".to_string(), recovery_key(person.id)),
        ("identification (every identifier)".to_string(), identified_person_key(person.id)),
    ];
    keys.extend(identifiers(person).iter().map(|i| (format!("identification by {}", i.method()), identifier_key(i))));
    keys
}

/// What is locked now, and until when.
async fn current_locks(store: &dyn Store, person: &PersonRecord) -> Result<Vec<(String, i64)>, Failure> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut locks: Vec<(String, i64)> = Vec::new();
    for (what, key) in throttle_keys(person) {
        if let Some(until) = store.throttle_locked_until(&key, now).await? {
            match locks.iter_mut().find(|(w, _)| *w == what) {
                Some(lock) => lock.1 = lock.1.max(until),
                None => locks.push((what, until)),
            }
        }
    }
    Ok(locks)
}

async fn unlock(store: &dyn Store, person: &PersonRecord) -> Result<(), Failure> {
    let locks = current_locks(store, person).await?;
    let lifted: Vec<&str> = locks.iter().map(|(what, _)| what.as_str()).collect();
    let detail =
        if lifted.is_empty() { "no lock was set".to_string() } else { format!("lifted: {}", lifted.join(", ")) };
    let keys: Vec<String> = throttle_keys(person).into_iter().map(|(_, key)| key).collect();
    let cleared = store.lift_locks(&keys, &helpdesk_event("helpdesk_unlock", person, detail.clone())).await?;
    let cleared = plural(cleared as usize, "failure counter", "failure counters");
    println!("{}: {detail}; {cleared} cleared", person.login);
    Ok(())
}

async fn show(store: &dyn Store, person: &PersonRecord, tz: &Timezone) -> Result<(), Failure> {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let status = match &person.disabled_by {
        Some(by) if !person.is_active() => format!("{} (by {by})", person.status),
        _ => person.status.to_string(),
    };
    let mut out = String::from("person\n");
    out += &fields(&[
        ("uid", person.uid.clone()),
        ("login", person.login.clone()),
        ("e-mail", person.email.clone()),
        ("category", person.category.to_string()),
        ("name", format!("{} {}", person.given_name, person.family_name)),
        ("birth date", day_text(person.birth_date)),
        ("staff number", or_dash(&person.staff_number)),
        ("student number", or_dash(&person.student_number)),
        ("INE", or_dash(&person.ine)),
        ("status", status),
    ]);
    match store.account(person.id).await? {
        Some(account) => {
            out += "account\n";
            out += &fields(&account_fields(&account, tz));
        }
        None => out += "account\n  not activated\n",
    }
    out += "locks\n";
    let locks = current_locks(store, person).await?;
    let locks: Vec<(&str, String)> =
        locks.iter().map(|(what, until)| (what.as_str(), until_text(*until, tz))).collect();
    out += &if locks.is_empty() { "  none\n".to_string() } else { fields(&locks) };
    out += "directory\n";
    out += &super::directory::show(store, person, tz).await?;
    out += &format!("latest {SHOWN_FAILURES} failed attempts\n");
    let query = AuditQuery { since: None, person_id: Some(person.id), limit: SEARCHED_EVENTS };
    let mut failures = store.audit_trail(&query).await?;
    failures.retain(|e| FAILURE_KINDS.contains(&e.kind.as_str()));
    failures.truncate(SHOWN_FAILURES);
    out += &if failures.is_empty() { "  none\n".to_string() } else { indent(&audit_table(&failures, tz)) };
    out += &format!("latest {SHOWN_EVENTS} events\n");
    let query = AuditQuery { since: None, person_id: Some(person.id), limit: SHOWN_EVENTS };
    let events = store.audit_trail(&query).await?;
    out += &if events.is_empty() { "  none\n".to_string() } else { indent(&audit_table(&events, tz)) };
    print!("{out}");
    Ok(())
}

/// What the help desk may see of an account: dates and choices, never a hash, the phone masked.
fn account_fields(account: &AccountRecord, tz: &Timezone) -> Vec<(&'static str, String)> {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    let sms = match account.phone.as_deref().map(MobileNumber::parse) {
        Some(Ok(number)) if account.sms_consent => format!("yes, {}", number.masked()),
        Some(Err(_)) if account.sms_consent => "yes, unreadable number on file".into(),
        _ => "no".into(),
    };
    vec![
        ("activated at", tz.text(account.activated_at)),
        ("password changed at", tz.text(account.password_changed_at)),
        ("question", question_text(account)),
        ("SMS alerts", sms),
        ("photo consent", yes_no(account.photo_consent)),
        ("in the directory", yes_no(account.directory_visible)),
    ]
}

/// `sesame stats`
pub async fn stats(store: &dyn Store, tz: &Timezone) -> ExitCode {
    exit_code(run_stats(store, tz).await)
}

async fn run_stats(store: &dyn Store, tz: &Timezone) -> Result<(), Failure> {
    let today = tz.local(OffsetDateTime::now_utc()).date();
    let first_day = today - Duration::days(RECENT_DAYS - 1);
    let stats = store.activation_stats(tz.start_of_day(first_day)).await?;
    let share = |activated: i64, people: i64| {
        if people == 0 { "-".to_string() } else { format!("{}%", activated * 100 / people) }
    };
    let mut rows = vec![cells(&["category", "people", "activated", "share"])];
    let (mut people, mut activated) = (0, 0);
    for category in Category::ALL {
        let count = stats.by_category.iter().find(|c| c.category == category);
        let (p, a) = count.map_or((0, 0), |c| (c.people, c.activated));
        rows.push(vec![category.to_string(), p.to_string(), a.to_string(), share(a, p)]);
        (people, activated) = (people + p, activated + a);
    }
    rows.push(vec!["total".into(), people.to_string(), activated.to_string(), share(activated, people)]);
    println!("{}", table(&rows));

    println!("activations over the last {RECENT_DAYS} days ({})", tz.name());
    let mut rows = vec![cells(&["day", "activations"])];
    for offset in 0..RECENT_DAYS {
        let day = first_day + Duration::days(offset);
        let count = stats.activated_since.iter().filter(|at| tz.local(**at).date() == day).count();
        rows.push(vec![day.to_string(), count.to_string()]);
    }
    rows.push(vec!["total".into(), stats.activated_since.len().to_string()]);
    print!("{}", table(&rows));
    Ok(())
}

/// `sesame audit`
pub async fn audit(store: &dyn Store, args: AuditArgs, tz: &Timezone) -> ExitCode {
    exit_code(run_audit(store, args, tz).await)
}

async fn run_audit(store: &dyn Store, args: AuditArgs, tz: &Timezone) -> Result<(), Failure> {
    let person_id = match &args.person {
        Some(id) => Some(resolve(store, id).await?.id),
        None => None,
    };
    let since = args.since.map(|day| tz.start_of_day(day));
    let events = store.audit_trail(&AuditQuery { since, person_id, limit: args.limit }).await?;
    print!("{}", audit_table(&events, tz));
    if events.len() as i64 == args.limit {
        let shown = if args.limit == 1 { "event is".to_string() } else { format!("{} events are", args.limit) };
        eprintln!("note: only the latest {shown} shown; --limit N shows more");
    }
    Ok(())
}

fn audit_table(events: &[AuditLine], tz: &Timezone) -> String {
    let time = format!("time ({})", tz.name());
    let mut rows = vec![cells(&[&time, "kind", "actor", "person", "address", "detail"])];
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    rows.extend(events.iter().map(|e| {
        vec![
            tz.text(e.at),
            e.kind.clone(),
            e.actor.clone(),
            or_dash(&e.login),
            or_dash(&e.client_addr),
            e.detail.clone(),
        ]
    }));
    table(&rows)
}

/// A day as the help desk types it: `YYYY-MM-DD` or `DD/MM/YYYY`.
fn parse_day(text: &str) -> Result<Date, String> {
    let text = text.trim();
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .or_else(|_| Date::parse(text, format_description!("[day]/[month]/[year]")))
        .map_err(|_| format!("'{text}' is not a date such as 2026-09-01 or 01/09/2026"))
}

/// A day as the help desk reads it: DD/MM/YYYY.
fn day_text(day: Date) -> String {
    day.format(format_description!("[day]/[month]/[year]")).unwrap_or_else(|_| day.to_string())
}

fn until_text(unix: i64, tz: &Timezone) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .map_or_else(|_| unix.to_string(), |t| format!("locked until {}", tz.text(t)))
}

/// The question as the person saw it (proposed ones in French, the portal's default language).
fn question_text(account: &AccountRecord) -> String {
    match (&account.custom_question, find_proposed_question(&account.question_id)) {
        (Some(own), _) => format!("{own} (their own question)"),
        (None, Some(proposed)) => Locale::Fr.t(proposed.key),
        (None, None) => format!("unknown question '{}'", account.question_id),
    }
}

/// Name–value lines under a heading.
fn fields(pairs: &[(&str, String)]) -> String {
    indent(&table(&pairs.iter().map(|(name, value)| vec![name.to_string(), value.clone()]).collect::<Vec<_>>()))
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn days_are_read_in_iso_and_french_order() {
        assert_eq!(parse_day("2026-09-01"), Ok(date!(2026 - 09 - 01)));
        assert_eq!(parse_day(" 01/09/2026 "), Ok(date!(2026 - 09 - 01)));
        assert!(parse_day("09/2026").unwrap_err().contains("not a date"));
        assert!(parse_day("31/02/2026").is_err());
    }

    #[test]
    fn tables_pad_columns_to_their_widest_cell_by_characters() {
        let rows = vec![cells(&["kind", "who"]), cells(&["élan", "x"]), cells(&["a", "yy"])];
        assert_eq!(table(&rows), "kind  who\nélan  x\na     yy\n");
    }

    #[test]
    fn days_are_shown_in_french_order() {
        assert_eq!(day_text(date!(1985 - 07 - 14)), "14/07/1985");
    }

    #[test]
    fn a_person_has_the_keys_of_each_identifier_and_of_the_whole_account() {
        let person = PersonRecord {
            id: 7,
            uid: "u1".into(),
            category: Category::Student,
            given_name: "A".into(),
            family_name: "B".into(),
            birth_date: date!(2000 - 01 - 01),
            staff_number: None,
            student_number: Some("E12".into()),
            ine: Some("1234567890A".into()),
            email: "A.B@example.edu".into(),
            login: "a.b".into(),
            status: crate::domain::person::Status::Active,
            disabled_by: None,
            personal_email: None,
        };
        let keys: Vec<String> = throttle_keys(&person).into_iter().map(|(_, k)| k).collect();
        assert_eq!(
            keys,
            [
                "signin:7",
                "recover:7",
                "identify-person:7",
                "identify:uid:u1",
                "identify:student_number:E12",
                "identify:ine:1234567890A"
            ]
        );
    }
}
