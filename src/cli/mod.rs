//! The command line: one sub-command per job, each returning the process exit code.

mod config_check;
mod demo;
mod directory;
mod helpdesk;
pub mod import;
mod progress;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::{Config, Overrides, redact_url};
use crate::domain::import_plan::DisableLimit;
use crate::store::{self, Store};

#[derive(Debug, Parser)]
#[command(name = "sesame", version, about = "Sésame: self-service account activation for universities")]
pub struct Cli {
    /// TOML file with the same keys as the environment (lower-case, without SESAME_); the environment wins.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the production server until SIGTERM or Ctrl-C.
    ///
    /// Reads the configuration (see `sesame config check`), applies pending migrations unless
    /// --no-migrate, and serves HTTP on SESAME_BIND. Mail goes through SESAME_SMTP_URL, or is
    /// written as files to SESAME_MAIL_DIR when it is unset (said once in the log at start).
    Serve {
        /// Listen address (overrides SESAME_BIND; an unset SESAME_PUBLIC_URL follows it).
        #[arg(long)]
        bind: Option<SocketAddr>,
        /// Do not apply pending migrations at start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Run the embedded demo: ./sesame-demo.db, demo people, mail written to ./mail.
    ///
    /// Creates and migrates ./sesame-demo.db whatever DATABASE_URL says, seeds and prints the
    /// demo people, writes mail to SESAME_MAIL_DIR (./mail), leaves cookies without `Secure`,
    /// and serves on SESAME_BIND (127.0.0.1:8080) until Ctrl-C.
    Demo {
        /// Listen address (overrides SESAME_BIND; an unset SESAME_PUBLIC_URL follows it).
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
    /// Apply pending database migrations to DATABASE_URL and exit (an SQLite file is created
    /// when missing).
    Migrate,
    /// Upsert people from the HR / student-records CSV export.
    #[command(after_long_help = IMPORT_HELP)]
    Import {
        /// The CSV file: UTF-8, a header row, separated by `,` or `;` (see below).
        file: PathBuf,
        /// Check the file and print what would change, including how many people would be
        /// disabled; write nothing (a missing SQLite file is not created). Exits as the real
        /// run would, 2 included when --max-disable would refuse it.
        #[arg(long)]
        dry_run: bool,
        /// Disable the active people absent from the file (accounts are never deleted; a later
        /// import that names them enables them again).
        #[arg(long)]
        disable_missing: bool,
        /// With --disable-missing: refuse (exit 2, nothing written) when more people than this
        /// would be disabled: a number of people, or a share of the active people such as 10%.
        #[arg(long, value_name = "N|N%", default_value_t = DisableLimit::default(), requires = "disable_missing")]
        max_disable: DisableLimit,
    },
    /// Check the configuration as `serve` would load it (see `sesame config check`).
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Help-desk actions on one person: show, unlock, disable, reset.
    Account {
        #[command(subcommand)]
        action: helpdesk::AccountAction,
    },
    /// Count people and activated accounts per category, and activations per day over the
    /// last 7 days (days of SESAME_TIMEZONE).
    Stats,
    /// Print the audit trail, newest first (the latest 100 events unless --limit says otherwise).
    ///
    /// Times are in SESAME_TIMEZONE with their offset. A command's events name the system user
    /// who ran it (`cli:alice`); an import's name its file.
    Audit(helpdesk::AuditArgs),
    /// The institution's LDAP directory: check the settings, list waiting and refused changes, send them again.
    Directory {
        #[command(subcommand)]
        action: directory::DirectoryAction,
    },
}

const IMPORT_HELP: &str = "\
Columns (header row, any order, names in any case; empty cells count as absent):
  required  uid, category (staff, student or external), given_name, family_name,
            birth_date (YYYY-MM-DD or DD/MM/YYYY)
  optional  staff_number, student_number, ine, email, login, personal_email
  Other columns are reported and ignored.

Separator: `;` when the header line holds more semicolons than commas, `,` otherwise.
A UTF-8 byte-order mark is ignored. Line numbers count the header as line 1.

One import at a time per database: a second one stops at once (exit 2).

Exit status:
  0  every line was accepted
  1  some lines were rejected (each is printed with its number and reason; the others are kept)
  2  nothing was written: the file is unusable, the database is unreachable or busy with
     another import, or --disable-missing would disable more than --max-disable allows";

/// "1 line", "2 lines".
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(crate) fn cells(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| t.to_string()).collect()
}

/// Rows with every column padded to its widest cell, two spaces apart (the last one unpadded).
pub(crate) fn table(rows: &[Vec<String>]) -> String {
    // Cells hold what people and files gave: shown with their control characters escaped.
    let rows: Vec<Vec<String>> = rows.iter().map(|row| row.iter().map(|cell| printable(cell)).collect()).collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 < row.len() {
                line += &format!("{cell:<width$}  ", width = widths[i]);
            } else {
                line += cell;
            }
        }
        out += line.trim_end();
        out.push('\n');
    }
    out
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Print every setting and its source, then check the database and the mail server.
    ///
    /// Loads the configuration exactly as `serve` does; prints every effective setting with
    /// where it came from (default, file, environment, command line), passwords in URLs hidden;
    /// then checks that the database answers (without creating or migrating it) and that the
    /// SMTP server answers (without one: that the mail folder can be written). Exit 0 when all
    /// is well, 1 when a check failed, 2 when a setting is invalid.
    Check,
}

/// Parses the command line and runs it on a multi-threaded runtime.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    return_large_blocks_to_the_system();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

/// When a thread frees a large block (an Argon2 hash works in 19 MiB), glibc raises its mmap
/// threshold and keeps such blocks in per-thread arenas: with a blocking thread per hash, a
/// burst of posts grew the process past 1 GiB. The hashing threads now keep their own memory
/// (`hashing`); a fixed threshold still makes any other large block an mmap returned on free.
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; it is called once, before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

async fn run(cli: Cli) -> ExitCode {
    let overrides = match &cli.command {
        Command::Demo { bind } => Overrides {
            cookie_secure_default: Some(false),
            database_url_default: Some(demo::DATABASE_URL.into()),
            bind: *bind,
        },
        Command::Serve { bind, .. } => Overrides { bind: *bind, ..Overrides::default() },
        _ => Overrides::default(),
    };
    let (mut config, settings) = match Config::load_explained(cli.config.as_deref(), &overrides) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if matches!(cli.command, Command::Demo { .. }) {
        // The demo always uses its own file, whatever DATABASE_URL says, so it never touches real data.
        config.database_url = demo::DATABASE_URL.into();
    }
    crate::telemetry::init(config.log_format);

    match cli.command {
        Command::Serve { no_migrate, .. } => {
            if let Some(dir) = config.smtp_url.is_none().then(|| std::path::absolute(&config.mail_dir)) {
                let dir = dir.unwrap_or_else(|_| config.mail_dir.clone());
                tracing::warn!(
                    "SESAME_SMTP_URL is not set: mail is not sent but written as files to {}",
                    dir.display()
                );
            }
            if config.sealing_key.is_none() {
                tracing::warn!(
                    "SESAME_SECRET_KEY is not set: recovery codes wait sealed with a key of this process only; \
                     another instance cannot send them, and those waiting at a restart are dropped"
                );
            }
            let Some(store) = open_serving(&config, !no_migrate).await else { return ExitCode::FAILURE };
            serve(config, store).await
        }
        Command::Demo { .. } => {
            let Some(store) = open_serving(&config, true).await else { return ExitCode::FAILURE };
            if let Err(e) = demo::seed(store.as_ref(), &config).await {
                eprintln!("error: cannot seed the demo people: {e}");
                return ExitCode::FAILURE;
            }
            serve(config, store).await
        }
        Command::Config { action: ConfigAction::Check } => config_check::check(&config, &settings).await,
        Command::Migrate => match open(&config, true).await {
            Some(_) => {
                println!("migrations applied to {}", redact_url(&config.database_url));
                ExitCode::SUCCESS
            }
            None => ExitCode::FAILURE,
        },
        Command::Import { file, dry_run, disable_missing, max_disable } => {
            let options = import::Options { dry_run, disable_missing };
            import::command(&config, import::Request { file: &file, options, max_disable }).await
        }
        // The help desk's commands leave the schema to `migrate` and `serve`.
        Command::Account { action } => match open(&config, false).await {
            Some(store) => helpdesk::account(store.as_ref(), action, &config.timezone).await,
            None => ExitCode::FAILURE,
        },
        Command::Stats => match open(&config, false).await {
            Some(store) => helpdesk::stats(store.as_ref(), &config.timezone).await,
            None => ExitCode::FAILURE,
        },
        Command::Audit(args) => match open(&config, false).await {
            Some(store) => helpdesk::audit(store.as_ref(), args, &config.timezone).await,
            None => ExitCode::FAILURE,
        },
        // Checking the directory's settings needs no database.
        Command::Directory { action: directory::DirectoryAction::Check } => directory::check(&config).await,
        Command::Directory { action } => match open(&config, false).await {
            Some(store) => directory::run(store, &config, action).await,
            None => ExitCode::FAILURE,
        },
    }
}

/// Text from outside (a server's message, a file) made safe for a terminal: control
/// characters are shown escaped, never sent as they are.
fn printable(text: &str) -> String {
    text.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
}

/// Connects (and migrates when asked); on failure prints one line and returns None.
async fn open(config: &Config, migrate: bool) -> Option<Arc<dyn Store>> {
    open_with(config, migrate, store::connect_with(&config.database_url, config.directory.is_some())).await
}

/// For `serve` and `demo`: every wait for the database is bounded by its time-out.
async fn open_serving(config: &Config, migrate: bool) -> Option<Arc<dyn Store>> {
    let directory = config.directory.is_some();
    open_with(config, migrate, store::connect_serving(&config.database_url, directory, config.database_timeout)).await
}

async fn open_with(
    config: &Config,
    migrate: bool,
    connecting: impl Future<Output = store::Result<Arc<dyn Store>>>,
) -> Option<Arc<dyn Store>> {
    let shown = redact_url(&config.database_url);
    let store = match connecting.await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot connect to the database {shown}: {}", one_line(&e));
            return None;
        }
    };
    if migrate && let Err(e) = store.migrate().await {
        eprintln!("error: cannot migrate the database {shown}: {}", one_line(&e));
        return None;
    }
    Some(store)
}

fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text.replace('\n', " ")
}

async fn serve(mut config: Config, store: Arc<dyn Store>) -> ExitCode {
    if let Err(e) = crate::weak_passwords::apply(&mut config).await {
        eprintln!("error: SESAME_WEAK_PASSWORDS_FILE: {e}");
        return ExitCode::FAILURE;
    }
    let listener = match tokio::net::TcpListener::bind(config.bind).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: SESAME_BIND: cannot listen on {}: {e}", config.bind);
            return ExitCode::FAILURE;
        }
    };
    let bound = listener.local_addr().map_or(config.bind, |a| a);
    config.listening_on(bound);
    println!("Sésame is listening on {bound} — open {}", config.public_url);
    let state = crate::web::AppState::new(config, store);
    match crate::web::serve(listener, state, crate::web::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: the server stopped: {e}");
            ExitCode::FAILURE
        }
    }
}
