//! `sesame config check`: the configuration exactly as `serve` loads it, each setting with
//! where it came from, then whether the services `serve` needs answer.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::{cells, table};
use crate::config::{Config, Setting, redact_url};
use crate::mail::Transport;

/// How long a service may take to answer before it counts as down.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Prints the settings and the checks; exit 0 when every check passed, 1 otherwise.
pub async fn check(config: &Config, settings: &[Setting]) -> ExitCode {
    let mut rows = vec![cells(&["setting", "source", "value"])];
    rows.extend(settings.iter().map(|s| {
        let value = if s.value.is_empty() { "(empty)".to_string() } else { s.value.clone() };
        vec![s.variable.clone(), s.source.to_string(), value]
    }));
    println!("{}", table(&rows));
    // One line per service `serve` needs.
    let checks =
        [("database", database(config).await), ("mail", mail(config).await), ("directory", directory(config).await)];
    let mut rows = vec![cells(&["check", "result"])];
    rows.extend(checks.iter().map(|(what, result)| match result {
        Ok(said) => vec![what.to_string(), format!("ok: {said}")],
        Err(why) => vec![what.to_string(), format!("FAILED: {why}")],
    }));
    print!("{}", table(&rows));
    if checks.iter().all(|(_, result)| result.is_ok()) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Connects and asks the database a question, without creating or migrating anything.
async fn database(config: &Config) -> Result<String, String> {
    let shown = redact_url(&config.database_url);
    if let Some(file) = super::import::missing_sqlite_file(&config.database_url) {
        let folder = std::path::absolute(&file).ok().and_then(|f| f.parent().map(Path::to_path_buf));
        return match folder {
            Some(folder) if folder.is_dir() => Ok(format!("{shown} does not exist yet: serve will create it")),
            _ => Err(format!("{shown}: its folder does not exist")),
        };
    }
    let store = crate::store::connect(&config.database_url)
        .await
        .map_err(|e| format!("cannot connect to {shown}: {}", super::one_line(&e)))?;
    store.ping().await.map_err(|e| format!("{shown} does not answer: {}", super::one_line(&e)))?;
    Ok(format!("{shown} answered ({})", store.backend()))
}

/// The directory binds and shows its base, as `sesame directory check` says in detail.
async fn directory(config: &Config) -> Result<String, String> {
    let Some(settings) = &config.directory else { return Ok("none configured (SESAME_LDAP_URL is empty)".into()) };
    let check = crate::directory::Connection::check(settings).await;
    let said = check.lines.iter().map(|(_, line)| line.as_str()).collect::<Vec<_>>().join("; ");
    if check.ok() { Ok(said) } else { Err(said) }
}

/// The SMTP server says hello and answers NOOP; without one, the mail folder can be written.
async fn mail(config: &Config) -> Result<String, String> {
    match Transport::from_config(config)? {
        Transport::Smtp(smtp, _) => {
            let shown = config.smtp_url.as_ref().map_or_else(String::new, |u| redact_url(u.as_str()));
            match tokio::time::timeout(TIMEOUT, smtp.test_connection()).await {
                Ok(Ok(true)) => Ok(format!("{shown} answered")),
                Ok(Ok(false)) => Err(format!("{shown} refused the connection test")),
                Ok(Err(e)) => Err(format!("{shown}: {}", super::one_line(&e))),
                Err(_) => Err(format!("{shown} did not answer within {} s", TIMEOUT.as_secs())),
            }
        }
        Transport::Files(_, dir) => {
            let dir = std::path::absolute(&dir).unwrap_or(dir);
            let said = format!("no SMTP server: mail is written as files to {}", dir.display());
            if !dir.exists() {
                return match dir.ancestors().skip(1).find(|a| a.exists()) {
                    Some(a) if a.is_dir() => Ok(format!("{said} (created when the first mail goes)")),
                    _ => Err(format!("{}: cannot be created", dir.display())),
                };
            }
            let probe = dir.join(".sesame-config-check");
            std::fs::write(&probe, b"")
                .and_then(|()| std::fs::remove_file(&probe))
                .map_err(|e| format!("{}: cannot write there: {e}", dir.display()))?;
            Ok(said)
        }
    }
}
