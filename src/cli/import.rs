//! `sesame import`: reads the HR / student-records CSV export and upserts people.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use time::OffsetDateTime;

use crate::config::Config;
use crate::domain::import_plan::{ImportLine, ImportPlan, plan};
use crate::domain::person::{RecordFields, parse_record};
use crate::store::{Store, StoreError};

const REQUIRED: [&str; 5] = ["uid", "category", "given_name", "family_name", "birth_date"];
const OPTIONAL: [&str; 5] = ["staff_number", "student_number", "ine", "email", "login"];

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
    #[error("the header lacks the required column(s): {0}")]
    MissingColumns(String),
    #[error("the header names the column {0} twice")]
    DuplicateColumn(String),
    #[error("the file cannot be read as CSV: {0}")]
    Csv(String),
}

/// Reads a whole export into lines ready for planning. Unknown columns are reported, not fatal.
pub fn parse_csv(bytes: &[u8], today: time::Date) -> Result<(Vec<ImportLine>, Vec<String>), Unusable> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
        return Err(Unusable::NotUtf8 { line });
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(bytes);
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
        return Err(Unusable::MissingColumns(missing.join(", ")));
    }

    // Each column's position, looked up once rather than for every cell.
    let at = |name: &str| index.get(name).copied();
    let [uid, category, given_name, family_name, birth_date] = REQUIRED.map(at);
    let [staff_number, student_number, ine, email, login] = OPTIONAL.map(at);
    let mut lines = Vec::new();
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(|e| Unusable::Csv(e.to_string()))? {
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let cell = |column: Option<usize>| column.and_then(|i| record.get(i)).map(str::trim).filter(|v| !v.is_empty());
        let parsed = if record.len() != headers.len() {
            Err(format!("expected {} fields, found {}", headers.len(), record.len()))
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
            };
            parse_record(&fields, today).map_err(|e| e.to_string())
        };
        lines.push(ImportLine { line, uid: cell(uid).map(str::to_string), record: parsed });
    }
    Ok((lines, unknown))
}

/// Plans an import against the store and, unless `dry_run`, writes it.
pub async fn import_lines(
    store: &dyn Store,
    lines: Vec<ImportLine>,
    email_domain: &str,
    options: Options,
) -> Result<(ImportPlan, usize), StoreError> {
    let existing = store.existing_people().await?;
    let plan = plan(&existing, lines, email_domain, options.disable_missing);
    let disabled = if options.dry_run {
        plan.disable.len()
    } else {
        store.apply_import(&plan, OffsetDateTime::now_utc()).await?.disabled
    };
    Ok((plan, disabled))
}

/// The `sesame import` command: prints every rejected line and a summary; exit 0, 1 or 2.
pub async fn command(store: &dyn Store, config: &Config, file: &Path, options: Options) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let today = OffsetDateTime::now_utc().date();
    let (lines, unknown) = match parse_csv(&bytes, today) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("error: {}: {e}; nothing was imported", file.display());
            return ExitCode::from(2);
        }
    };
    for column in &unknown {
        println!("note: column {column} is not used");
    }
    let read = lines.len();
    let (plan, disabled) = match import_lines(store, lines, &config.email_domain, options).await {
        Ok(done) => done,
        Err(e) => {
            tracing::error!(error = %e, "import failed");
            eprintln!("error: the import could not be written ({e}); nothing was imported");
            return ExitCode::from(2);
        }
    };
    let mut rejected = plan.rejected.clone();
    rejected.sort_by_key(|r| r.line);
    for r in &rejected {
        println!("line {}: rejected: {}", r.line, r.reason);
    }
    let accepted = read - rejected.len();
    println!(
        "{read} lines read: {accepted} accepted ({} created, {} updated, {} unchanged), {} rejected; {disabled} disabled{}",
        plan.created,
        plan.updated,
        plan.unchanged,
        rejected.len(),
        if options.dry_run { " (dry run: nothing was written)" } else { "" }
    );
    if rejected.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
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
            matches!(parse_csv(b"uid,category\nu1,staff\n", TODAY), Err(Unusable::MissingColumns(c)) if c == "given_name, family_name, birth_date")
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
}
