//! `sesame import`: reads the HR / student-records CSV export and upserts people.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;

use time::OffsetDateTime;

use super::plural;
use super::progress::{Counters, Progress, Stage};
use crate::config::{Config, redact_url};
use crate::domain::import_plan::{
    DisableLimit, DisableRefusal, ImportLine, ImportOrigin, ImportPlan, check_disable, people, plan,
};
use crate::domain::person::{RecordFields, parse_record};
use crate::store::{Store, StoreError};

pub const REQUIRED: [&str; 5] = ["uid", "category", "given_name", "family_name", "birth_date"];
pub const OPTIONAL: [&str; 6] = ["staff_number", "student_number", "ine", "email", "login", "personal_email"];

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub dry_run: bool,
    pub disable_missing: bool,
}

/// Why nothing at all could be imported (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Unusable {
    #[error("the file is not UTF-8 (first invalid byte on line {line})")]
    NotUtf8 { line: usize },
    #[error("the file is empty: a header row is required")]
    NoHeader,
    /// The header as read is shown, so that a wrong separator or encoding is plain to see.
    #[error("the header lacks the required {missing}; it was read, separated by '{separator}', as {header:?}")]
    MissingColumns { missing: String, separator: char, header: Vec<String> },
    #[error("the header names the column {0} twice")]
    DuplicateColumn(String),
    #[error("the file cannot be read as CSV: {0}")]
    Csv(String),
}

/// `;` when the header line holds more semicolons than commas (French spreadsheets), else `,`.
fn separator(bytes: &[u8]) -> u8 {
    let header = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |c: u8| header.iter().filter(|b| **b == c).count();
    if count(b';') > count(b',') { b';' } else { b',' }
}

/// Line numbers (the header is line 1) of record starts, counted once over the file however its
/// lines end: the reader places a record after a CRLF at the LF, which counting alone would
/// put on the line before.
struct LineCounter<'a> {
    bytes: &'a [u8],
    counted_to: usize,
    line: u64,
}

impl LineCounter<'_> {
    fn line_at(&mut self, byte: usize) -> u64 {
        let mut start = byte.min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > self.counted_to {
            self.line += self.bytes[self.counted_to..start].iter().filter(|b| **b == b'\n').count() as u64;
            self.counted_to = start;
        }
        self.line
    }
}

/// Reads a whole export into lines ready for planning. Unknown columns are reported, not fatal.
pub fn parse_csv(bytes: &[u8], today: time::Date) -> Result<(Vec<ImportLine>, Vec<String>), Unusable> {
    read_csv(bytes, today, &Counters::default())
}

/// `parse_csv`, telling `counters` how far it has read.
fn read_csv(bytes: &[u8], today: time::Date, counters: &Counters) -> Result<(Vec<ImportLine>, Vec<String>), Unusable> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
        return Err(Unusable::NotUtf8 { line });
    }
    let separator = separator(bytes);
    let mut reader = csv::ReaderBuilder::new().delimiter(separator).flexible(true).has_headers(true).from_reader(bytes);
    let headers = reader.headers().map_err(|e| Unusable::Csv(e.to_string()))?.clone();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(Unusable::NoHeader);
    }
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut unknown = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let name = h.trim().to_ascii_lowercase();
        if !REQUIRED.contains(&name.as_str()) && !OPTIONAL.contains(&name.as_str()) {
            unknown.push(h.trim().to_string());
            continue;
        }
        if index.insert(name.clone(), i).is_some() {
            return Err(Unusable::DuplicateColumn(name));
        }
    }
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|c| !index.contains_key(*c)).collect();
    if !missing.is_empty() {
        return Err(Unusable::MissingColumns {
            missing: format!("{} {}", if missing.len() == 1 { "column" } else { "columns" }, missing.join(", ")),
            separator: char::from(separator),
            header: headers.iter().map(str::to_string).collect(),
        });
    }

    // Each column's position, looked up once rather than for every cell.
    let at = |name: &str| index.get(name).copied();
    let [uid, category, given_name, family_name, birth_date] = REQUIRED.map(at);
    let [staff_number, student_number, ine, email, login, personal_email] = OPTIONAL.map(at);
    let mut lines = Vec::new();
    let mut numbers = LineCounter { bytes, counted_to: 0, line: 1 };
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(|e| Unusable::Csv(e.to_string()))? {
        let start = record.position().map_or(0, |p| p.byte() as usize);
        let line = numbers.line_at(start);
        counters.read(line, start);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let cell = |column: Option<usize>| column.and_then(|i| record.get(i)).map(str::trim).filter(|v| !v.is_empty());
        let parsed = if record.len() != headers.len() {
            Err(format!("expected {}, found {}", plural(headers.len(), "field", "fields"), record.len()))
        } else {
            let fields = RecordFields {
                uid: cell(uid),
                category: cell(category),
                given_name: cell(given_name),
                family_name: cell(family_name),
                birth_date: cell(birth_date),
                staff_number: cell(staff_number),
                student_number: cell(student_number),
                ine: cell(ine),
                email: cell(email),
                login: cell(login),
                personal_email: cell(personal_email),
            };
            parse_record(&fields, today).map_err(|e| e.to_string())
        };
        lines.push(ImportLine { line, uid: cell(uid).map(str::to_string), record: parsed });
    }
    Ok((lines, unknown))
}

/// Plans an import against the store and, unless `dry_run`, writes it (no guard, no lock: the
/// demo's seeding and the tests'; the command adds both).
pub async fn import_lines(
    store: &dyn Store,
    lines: Vec<ImportLine>,
    email_domain: &str,
    options: Options,
) -> Result<(ImportPlan, usize), StoreError> {
    let plan = plan(&store.existing_people().await?, lines, email_domain, options.disable_missing);
    let disabled = write(store, &plan, options).await?;
    Ok((plan, disabled))
}

/// Writes the plan unless `dry_run`; how many people were (or would be) disabled.
async fn write(store: &dyn Store, plan: &ImportPlan, options: Options) -> Result<usize, StoreError> {
    if options.dry_run {
        return Ok(plan.disable.len());
    }
    Ok(store.apply_import(plan, OffsetDateTime::now_utc()).await?.disabled)
}

/// The file of an SQLite database that does not exist yet: a dry run then plans against
/// nobody rather than create it, and `config check` says `serve` will.
pub(super) fn missing_sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok().filter(|_| url.starts_with("sqlite:"))?;
    let file = options.get_filename();
    (file != Path::new(":memory:") && !file.exists()).then(|| file.to_path_buf())
}

/// What the command was asked.
pub struct Request<'a> {
    pub file: &'a Path,
    pub options: Options,
    pub max_disable: DisableLimit,
}

/// The `sesame import` command: prints every rejected line and a summary; exit 0, 1 or 2.
pub async fn command(config: &Config, request: Request<'_>) -> ExitCode {
    let Request { file, options, max_disable } = request;
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let progress = Progress::on_terminal(bytes.len() as u64);
    let outcome = run(config, file, bytes, options, max_disable, progress.counters()).await;
    // The progress line is cleared before anything else is printed.
    progress.finish().await;
    match outcome {
        Ok(report) => report.print(file, options),
        Err(Stopped::Said(message)) => {
            eprintln!("error: {}", super::printable(&message));
            ExitCode::from(2)
        }
        Err(Stopped::Printed) => ExitCode::from(2),
    }
}

/// Why an import stopped before its summary (exit 2, nothing written).
enum Stopped {
    Said(String),
    /// The database could not be opened, and `open` said why.
    Printed,
}

impl From<String> for Stopped {
    fn from(message: String) -> Self {
        Self::Said(message)
    }
}

/// What an import did, or would do, for its summary.
struct Report {
    notes: Vec<String>,
    plan: ImportPlan,
    read: usize,
    disabled: usize,
    refused: Option<DisableRefusal>,
}

impl Report {
    fn print(self, file: &Path, options: Options) -> ExitCode {
        let Self { notes, plan, read, disabled, refused } = self;
        for note in notes {
            println!("note: {}", super::printable(&note));
        }
        let mut rejected = plan.rejected;
        rejected.sort_by_key(|r| r.line);
        for r in &rejected {
            println!("line {}: rejected: {}", r.line, super::printable(&r.reason));
        }
        let written = match (&refused, options.dry_run) {
            (Some(_), _) => format!("{} would be disabled (refused: nothing was written)", people(disabled)),
            (None, true) => format!("{} would be disabled (dry run: nothing was written)", people(disabled)),
            (None, false) => format!("{} disabled", people(disabled)),
        };
        println!(
            "{} read: {} accepted ({} created, {} updated, {} unchanged), {} rejected; {written}",
            plural(read, "line", "lines"),
            read - rejected.len(),
            plan.created,
            plan.updated,
            plan.unchanged,
            rejected.len(),
        );
        match refused {
            Some(refusal) => {
                eprintln!("error: {}: {refusal}", file.display());
                ExitCode::from(2)
            }
            None if rejected.is_empty() => ExitCode::SUCCESS,
            None => ExitCode::from(1),
        }
    }
}

/// The import up to its summary.
async fn run(
    config: &Config,
    file: &Path,
    bytes: Vec<u8>,
    options: Options,
    max_disable: DisableLimit,
    counters: Arc<Counters>,
) -> Result<Report, Stopped> {
    let today = OffsetDateTime::now_utc().date();
    let reading = counters.clone();
    let parsed = tokio::task::spawn_blocking(move || read_csv(&bytes, today, &reading))
        .await
        .map_err(|e| format!("reading the file failed: {e}"))?;
    let (lines, unknown) = parsed.map_err(|e| format!("{}: {e}; nothing was imported", file.display()))?;
    let mut notes: Vec<String> = unknown.iter().map(|column| format!("column {column} is not used")).collect();
    let read = lines.len();
    counters.stage(Stage::Planning);

    let shown = redact_url(&config.database_url);
    let store = if options.dry_run && missing_sqlite_file(&config.database_url).is_some() {
        notes.push(format!("{shown} does not exist yet: the file is checked as if the database were empty"));
        None
    } else {
        // A dry run writes nothing, not even a migration.
        Some(super::open(config, !options.dry_run).await.ok_or(Stopped::Printed)?)
    };
    let _lock = match &store {
        Some(store) if !options.dry_run => Some(
            store
                .import_lock()
                .await
                .map_err(|e| format!("cannot lock {shown} for the import: {}", super::one_line(&e)))?
                .ok_or(format!(
                    "another import is running on {shown}; nothing was imported (run it again once that one is done)"
                ))?,
        ),
        _ => None,
    };
    let existing = match &store {
        Some(store) => store
            .existing_people()
            .await
            .map_err(|e| format!("cannot read the people of {shown}: {}", super::one_line(&e)))?,
        None => Vec::new(),
    };
    let mut plan = plan(&existing, lines, &config.email_domain, options.disable_missing);
    plan.origin = ImportOrigin { file: file.display().to_string(), operator: whoami::username() };
    let refused = if options.disable_missing { check_disable(&plan, read, max_disable).err() } else { None };
    let disabled = match (&store, &refused) {
        (Some(store), None) => {
            counters.stage(Stage::Writing);
            write(store.as_ref(), &plan, options).await.map_err(|e| {
                tracing::error!(error = %e, "import failed");
                format!("the import could not be written ({e}); nothing was imported")
            })?
        }
        _ => plan.disable.len(),
    };
    Ok(Report { notes, plan, read, disabled, refused })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: time::Date = date!(2026 - 11 - 28);

    #[test]
    fn columns_may_come_in_any_order_and_empty_cells_are_absent() {
        let csv = "family_name,uid,birth_date,category,given_name,ine\nMartin,u1,07/03/1985,staff,Zoé,\n";
        let (lines, unknown) = parse_csv(csv.as_bytes(), TODAY).unwrap();
        assert!(unknown.is_empty());
        let p = lines[0].record.as_ref().unwrap();
        assert_eq!(p.uid.as_str(), "u1");
        assert!(p.ine.is_none());
        assert_eq!(lines[0].line, 2);
    }

    #[test]
    fn line_numbers_count_the_header_as_line_one() {
        let csv = "uid,category,given_name,family_name,birth_date\nu1,staff,A,B,1980-01-01\nu2,boss,A,B,1980-01-01\n";
        let (lines, _) = parse_csv(csv.as_bytes(), TODAY).unwrap();
        assert_eq!(lines[1].line, 3);
        assert!(lines[1].record.as_ref().unwrap_err().starts_with("category"));
        assert_eq!(lines[1].uid.as_deref(), Some("u2"));
    }

    #[test]
    fn a_short_row_is_rejected_not_fatal() {
        let csv = "uid,category,given_name,family_name,birth_date\nu1,staff,A\n";
        let (lines, _) = parse_csv(csv.as_bytes(), TODAY).unwrap();
        assert_eq!(lines[0].record.as_ref().unwrap_err(), "expected 5 fields, found 3");
    }

    #[test]
    fn unusable_files_are_refused_whole() {
        assert!(matches!(parse_csv(b"", TODAY), Err(Unusable::NoHeader)));
        assert!(
            matches!(parse_csv(b"uid,category\nu1,staff\n", TODAY), Err(Unusable::MissingColumns { missing, .. }) if missing == "columns given_name, family_name, birth_date")
        );
        assert!(matches!(
            parse_csv(b"uid,category,given_name,family_name,birth_date\nu1,staff,\xE9,B,1980-01-01\n", TODAY),
            Err(Unusable::NotUtf8 { line: 2 })
        ));
        assert!(matches!(
            parse_csv(b"uid,uid,category,given_name,family_name,birth_date\n", TODAY),
            Err(Unusable::DuplicateColumn(_))
        ));
    }

    #[test]
    fn a_bom_and_unknown_columns_are_tolerated() {
        let csv = "\u{feff}uid,category,given_name,family_name,birth_date,office\nu1,staff,A,B,1980-01-01,B12\n";
        let (lines, unknown) = parse_csv(csv.as_bytes(), TODAY).unwrap();
        assert_eq!(unknown, vec!["office".to_string()]);
        assert!(lines[0].record.is_ok());
    }

    const HEADER: &str = "uid,category,given_name,family_name,birth_date";

    #[test]
    fn crlf_lines_are_numbered_as_lf_lines() {
        let lf = format!(
            "{HEADER}\nu1,staff,A,B,1980-01-01\n\nu2,boss,A,B,1980-01-01\nu3,staff,\"A\nA\",B,1980-01-01\nu4,boss,A,B,x\n"
        );
        let crlf = lf.replace('\n', "\r\n");
        for csv in [&lf, &crlf] {
            let (lines, _) = parse_csv(csv.as_bytes(), TODAY).unwrap();
            let numbers: Vec<u64> = lines.iter().map(|l| l.line).collect();
            assert_eq!(numbers, [2, 4, 5, 7], "{csv:?}");
        }
    }

    #[test]
    fn semicolons_are_detected_from_the_header() {
        let csv = "\u{feff}uid;category;given_name;family_name;birth_date\nu1;staff;Jean, Marie;B;1980-01-01\n";
        let (lines, _) = parse_csv(csv.as_bytes(), TODAY).unwrap();
        assert_eq!(lines[0].record.as_ref().unwrap().given_name.as_str(), "Jean, Marie");
        let csv = format!("{HEADER}\nu1,staff,A;B,C,1980-01-01\n");
        assert!(parse_csv(csv.as_bytes(), TODAY).unwrap().0[0].record.is_ok(), "commas win a comma header");
    }

    #[test]
    fn a_missing_column_shows_the_header_as_read() {
        let err = parse_csv("uid\tcategory\tgiven_name\n".as_bytes(), TODAY).unwrap_err().to_string();
        assert!(err.contains("uid, category, given_name, family_name, birth_date"), "{err}");
        assert!(err.contains(r#"separated by ',', as ["uid\tcategory\tgiven_name"]"#), "{err}");
        let latin1_bom = "ï»¿uid;category;given_name;family_name;birth_date\n";
        let err = parse_csv(latin1_bom.as_bytes(), TODAY).unwrap_err().to_string();
        assert!(err.contains(r#"required column uid;"#) && err.contains("\"ï»¿uid\""), "{err}");
    }
}
