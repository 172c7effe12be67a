//! `sesame directory check|status|retry`: the LDAP directory as the IT admin sees it.

use std::process::ExitCode;

use clap::Subcommand;
use time::OffsetDateTime;

use super::helpdesk::resolve;
use crate::config::{Config, Timezone};
use crate::directory::worker::{Step, Worker};
use crate::directory::{Connection, Settings};
use crate::store::{DirectoryLine, PersonRecord, Store};

/// How long `retry` waits for changes a server's worker took to settle: longer than a lease's
/// connect, bind, search and modify at their time-outs.
const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(40);

#[derive(Debug, Subcommand)]
pub enum DirectoryAction {
    /// Bind with the configured service account and search the base; exit 0 when both work, 1 otherwise.
    ///
    /// Also says whether slapd's argon2 module is loaded, when cn=config is readable. Never prints the password.
    Check,
    /// List the changes waiting for the directory and those it refused, one line each; exit 1 when one is refused.
    Status,
    /// Send the refused changes again now (of one person when ID is given) and print what became of them.
    ///
    /// Fix the cause first (the entry, the schema or the rights): a change refused again stays refused.
    Retry {
        #[arg(value_name = "ID", help = super::helpdesk::ID_HELP)]
        id: Option<String>,
    },
}

fn settings(config: &Config) -> Option<&Settings> {
    if config.directory.is_none() {
        eprintln!("error: no directory is configured (SESAME_LDAP_URL is empty)");
    }
    config.directory.as_ref()
}

/// `sesame directory check`: needs no database.
pub async fn check(config: &Config) -> ExitCode {
    let Some(settings) = settings(config) else { return ExitCode::FAILURE };
    let check = Connection::check(settings).await;
    for (ok, line) in &check.lines {
        println!("{} {line}", if *ok { "ok:    " } else { "FAILED:" });
    }
    for note in &check.notes {
        println!("note:   {note}");
    }
    if check.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// `sesame directory status` and `retry`.
pub async fn run(store: std::sync::Arc<dyn Store>, config: &Config, action: DirectoryAction) -> ExitCode {
    let result = match action {
        DirectoryAction::Check => return check(config).await,
        DirectoryAction::Status => status(store.as_ref(), config).await,
        DirectoryAction::Retry { id } => retry(store, config, id.as_deref()).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn status(store: &dyn Store, config: &Config) -> Result<ExitCode, super::helpdesk::Failure> {
    if config.directory.is_none() {
        println!("no directory is configured (SESAME_LDAP_URL is empty): nothing is sent");
    }
    let queue = store.directory_queue(None).await?;
    if queue.is_empty() {
        println!("nothing waits for the directory");
    }
    let now = OffsetDateTime::now_utc().unix_timestamp();
    for line in &queue {
        println!("{}", queue_line(line, now, &config.timezone));
    }
    Ok(if queue.iter().any(|l| l.refused_at.is_some()) { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// One change as the admin reads it: whose, since when, and why it has not gone.
fn queue_line(line: &DirectoryLine, now: i64, tz: &Timezone) -> String {
    let who = format!("uid={} login={} since {}", line.uid, line.login, tz.text(line.since));
    let why = super::printable(line.last_error.as_deref().unwrap_or("not tried yet"));
    match line.refused_at {
        Some(at) => format!("refused  {who}, refused {}: {why}", tz.text(at)),
        None => {
            let next = (line.next_attempt_at - now).max(0);
            format!("waiting  {who}, {} attempt(s), next in {next} s: {why}", line.attempts)
        }
    }
}

async fn retry(
    store: std::sync::Arc<dyn Store>,
    config: &Config,
    id: Option<&str>,
) -> Result<ExitCode, super::helpdesk::Failure> {
    let Some(settings) = settings(config) else { return Ok(ExitCode::FAILURE) };
    let person: Option<PersonRecord> = match id {
        Some(id) => Some(resolve(store.as_ref(), id).await?),
        None => None,
    };
    let person_id = person.as_ref().map(|p| p.id);
    let refused: Vec<i64> = store
        .directory_queue(person_id)
        .await?
        .iter()
        .filter(|l| l.refused_at.is_some())
        .map(|l| l.person_id)
        .collect();
    let count = store.directory_retry(person_id, OffsetDateTime::now_utc().unix_timestamp()).await?;
    println!("{count} refused change(s) made due again");
    // Deliver them from here, so that the admin sees the outcome. A server's worker may take
    // some first: then wait (bounded) until each has gone, been refused again or postponed.
    let mut worker = Worker::new(store.clone(), settings.clone(), config.sealing_key.clone(), config.directory_pace);
    let deadline = std::time::Instant::now() + SETTLE_LIMIT;
    let mut unreachable = false;
    loop {
        match worker.step().await {
            Step::Delivered | Step::Refused(_) => continue,
            Step::Postponed(why) => {
                println!(
                    "the directory cannot be reached now ({}); the servers will keep trying",
                    super::printable(&why)
                );
                unreachable = true;
                break;
            }
            Step::Idle => {}
        }
        let queue = store.directory_queue(person_id).await?;
        let pending =
            |l: &&DirectoryLine| refused.contains(&l.person_id) && l.refused_at.is_none() && l.last_error.is_none();
        if !queue.iter().any(|l| pending(&l)) || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let left = store.directory_queue(person_id).await?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    for line in &left {
        println!("{}", queue_line(line, now, &config.timezone));
    }
    if left.is_empty() {
        println!(
            "delivered: nothing waits for the directory{}",
            person.map_or(String::new(), |p| format!(" for {}", p.login))
        );
    }
    Ok(if unreachable || left.iter().any(|l| l.refused_at.is_some()) { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The directory lines of `sesame account show`.
pub async fn show(store: &dyn Store, person: &PersonRecord, tz: &Timezone) -> Result<String, crate::store::StoreError> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let lines = store.directory_queue(Some(person.id)).await?;
    Ok(if lines.is_empty() {
        "  nothing waiting\n".to_string()
    } else {
        lines.iter().map(|l| format!("  {}\n", queue_line(l, now, tz))).collect()
    })
}
