//! Recovery by a one-time code (SMS or personal mail): the import of the personal address, and
//! the journeys over real HTTP on both stores.

mod common;

use std::process::Command;

use common::TestStore;

/// `personal_email` is read, checked as an address and kept; an invalid one rejects its line.
async fn import_reads_the_personal_address(t: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let csv = "uid,category,given_name,family_name,birth_date,personal_email
u1,staff,Élodie,Le Bœuf,14/07/1985,Elodie.Perso@Example.ORG
u2,staff,Jean,Dupont,01/02/1990,
u3,staff,Léa,Roux,01/01/1990,lea@
";
    std::fs::write(dir.path().join("people.csv"), csv).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(["import", "people.csv"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &t.url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("line 4: rejected: personal_email"), "{stdout}");
    let elodie = t.store.find_by_login("elodie.leboeuf").await.unwrap().unwrap();
    assert_eq!(elodie.personal_email.as_deref(), Some("Elodie.Perso@example.org"));
    let jean = t.store.find_by_login("jean.dupont").await.unwrap().unwrap();
    assert_eq!(jean.personal_email, None);
}

on_both_stores!(import_reads_the_personal_address);
