//! The command line: one sub-command per job, each returning the process exit code.

mod demo;
mod helpdesk;
pub mod import;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::{Config, Overrides, redact_url};
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
    /// Run the production server.
    Serve {
        /// Listen address (overrides SESAME_BIND).
        #[arg(long)]
        bind: Option<SocketAddr>,
        /// Do not apply pending migrations at start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Run the embedded demo: ./sesame-demo.db, demo people, mail written to ./mail.
    Demo {
        /// Listen address (overrides SESAME_BIND).
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Upsert people from the HR / student-records CSV export.
    Import {
        /// The CSV file (UTF-8, comma-separated, header row).
        file: PathBuf,
        /// Check the file and print what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Disable the people absent from the file (accounts are never deleted).
        #[arg(long)]
        disable_missing: bool,
    },
    /// Help-desk actions on one person: show, unlock, disable, reset.
    Account {
        #[command(subcommand)]
        action: helpdesk::AccountAction,
    },
    /// People and activations per category, and activations over the last 7 days.
    Stats,
    /// The audit trail, newest first (the latest 100 events unless --limit says otherwise).
    Audit(helpdesk::AuditArgs),
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
        Command::Demo { .. } => {
            Overrides { cookie_secure_default: Some(false), database_url_default: Some(demo::DATABASE_URL.into()) }
        }
        _ => Overrides::default(),
    };
    let mut config = match Config::load(cli.config.as_deref(), &overrides) {
        Ok(c) => c,
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
        Command::Serve { bind, no_migrate } => {
            if let Some(bind) = bind {
                config.bind = bind;
            }
            let Some(store) = open(&config, !no_migrate).await else { return ExitCode::FAILURE };
            serve(config, store).await
        }
        Command::Demo { bind } => {
            if let Some(bind) = bind {
                config.bind = bind;
            }
            let Some(store) = open(&config, true).await else { return ExitCode::FAILURE };
            if let Err(e) = demo::seed(store.as_ref(), &config).await {
                eprintln!("error: cannot seed the demo people: {e}");
                return ExitCode::FAILURE;
            }
            serve(config, store).await
        }
        Command::Migrate => match open(&config, true).await {
            Some(_) => {
                println!("migrations applied to {}", redact_url(&config.database_url));
                ExitCode::SUCCESS
            }
            None => ExitCode::FAILURE,
        },
        Command::Import { file, dry_run, disable_missing } => {
            let Some(store) = open(&config, true).await else { return ExitCode::from(2) };
            import::command(store.as_ref(), &config, &file, import::Options { dry_run, disable_missing }).await
        }
        // The help desk's commands leave the schema to `migrate` and `serve`.
        Command::Account { action } => match open(&config, false).await {
            Some(store) => helpdesk::account(store.as_ref(), action).await,
            None => ExitCode::FAILURE,
        },
        Command::Stats => match open(&config, false).await {
            Some(store) => helpdesk::stats(store.as_ref()).await,
            None => ExitCode::FAILURE,
        },
        Command::Audit(args) => match open(&config, false).await {
            Some(store) => helpdesk::audit(store.as_ref(), args).await,
            None => ExitCode::FAILURE,
        },
    }
}

/// Connects (and migrates when asked); on failure prints one line and returns None.
async fn open(config: &Config, migrate: bool) -> Option<Arc<dyn Store>> {
    let shown = redact_url(&config.database_url);
    let store = match store::connect(&config.database_url).await {
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
