//! The store's behaviour, the same test bodies on SQLite and on PostgreSQL.

mod common;

use common::TestStore;
use sesame::cli::import::{Options, import_lines, parse_csv};
use sesame::domain::identifiers::{IdentificationMethod, Identifier};
use time::macros::date;

const TODAY: time::Date = date!(2026 - 11 - 28);

const PEOPLE: &str = "uid,category,given_name,family_name,birth_date,staff_number,student_number,ine,email,login
u1,staff,Élodie,Le Bœuf,14/07/1985,12345,,,,
u2,student,Jean,Dupont,2004-03-02,,22001234,1234567890A,,
u3,external,Agnès,Dubois,21/12/1978,,,,agnes@partner.org,adubois
u4,student,Élodie,Le Boeuf,11/11/2003,,22009999,,,
";

async fn import(t: &TestStore, csv: &str, options: Options) -> sesame::domain::import_plan::ImportPlan {
    let (lines, _) = parse_csv(csv.as_bytes(), TODAY).expect("usable csv");
    import_lines(t.store.as_ref(), lines, "univ.example", options).await.expect("import").0
}

async fn find(t: &TestStore, method: IdentificationMethod, value: &str) -> Option<sesame::store::PersonRecord> {
    let id = Identifier::parse(method, value).expect("identifier");
    t.store.find_person(&id).await.expect("find")
}

async fn migrations_run_twice_without_harm(t: TestStore) {
    t.store.migrate().await.expect("second migrate");
    t.store.ping().await.expect("ping");
    assert_eq!(t.store.count_people().await.unwrap(), 0);
}

async fn import_creates_people_findable_by_each_identifier(t: TestStore) {
    let plan = import(&t, PEOPLE, Options::default()).await;
    assert!(plan.rejected.is_empty(), "{:?}", plan.rejected);
    assert_eq!(plan.created, 4);
    assert_eq!(t.store.count_people().await.unwrap(), 4);

    let elodie = find(&t, IdentificationMethod::StaffNumber, "12345").await.expect("by staff number");
    assert_eq!(elodie.login, "elodie.leboeuf");
    assert_eq!(elodie.email, "elodie.leboeuf@univ.example");
    assert_eq!(elodie.birth_date, date!(1985 - 07 - 14));
    assert!(elodie.is_active());
    let namesake = find(&t, IdentificationMethod::StudentNumber, "22009999").await.expect("by student number");
    assert_eq!(namesake.login, "elodie.leboeuf2");
    let jean = find(&t, IdentificationMethod::Ine, "1234567890a").await.expect("by INE, any case");
    assert_eq!(jean.uid, "u2");
    let agnes = find(&t, IdentificationMethod::Uid, "u3").await.expect("by uid");
    assert_eq!((agnes.login.as_str(), agnes.email.as_str()), ("adubois", "agnes@partner.org"));
    assert!(find(&t, IdentificationMethod::Uid, "nobody").await.is_none());
}

async fn reimport_updates_but_never_changes_a_login(t: TestStore) {
    import(&t, PEOPLE, Options::default()).await;
    let changed = PEOPLE.replace(
        "u1,staff,Élodie,Le Bœuf,14/07/1985,12345,,,,",
        "u1,staff,Élodie,Martin,14/07/1985,12345,,,,elodie.martin",
    );
    let plan = import(&t, &changed, Options::default()).await;
    assert_eq!((plan.created, plan.updated, plan.unchanged), (0, 1, 3));
    let elodie = find(&t, IdentificationMethod::Uid, "u1").await.unwrap();
    assert_eq!(elodie.family_name, "Martin");
    assert_eq!(elodie.login, "elodie.leboeuf");
}

async fn disable_missing_disables_and_a_later_import_reenables(t: TestStore) {
    import(&t, PEOPLE, Options::default()).await;
    let only_two: String = PEOPLE.lines().take(3).map(|l| format!("{l}\n")).collect();
    let plan = import(&t, &only_two, Options { disable_missing: true, dry_run: false }).await;
    assert_eq!(plan.disable.len(), 2);
    assert!(!find(&t, IdentificationMethod::Uid, "u3").await.unwrap().is_active());
    assert_eq!(t.store.count_people().await.unwrap(), 4, "nobody is deleted");

    let plan = import(&t, PEOPLE, Options::default()).await;
    assert_eq!(plan.reenabled, 2);
    assert!(find(&t, IdentificationMethod::Uid, "u3").await.unwrap().is_active());
}

async fn dry_run_writes_nothing(t: TestStore) {
    let plan = import(&t, PEOPLE, Options { dry_run: true, disable_missing: true }).await;
    assert_eq!(plan.created, 4);
    assert_eq!(t.store.count_people().await.unwrap(), 0);
}

async fn bad_lines_are_rejected_and_good_ones_kept(t: TestStore) {
    let csv = format!("{PEOPLE}u5,staff,Bad,Date,31/02/1990,,,,,\nu6,staff,Dup,Staff,01/01/1990,12345,,,,\n");
    let plan = import(&t, &csv, Options::default()).await;
    let lines: Vec<u64> = plan.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![6, 7]);
    assert!(plan.rejected[1].reason.contains("12345 already belongs to uid u1"));
    assert_eq!(t.store.count_people().await.unwrap(), 4);
}

async fn a_large_import_round_trips(t: TestStore) {
    let mut csv = String::from("uid,category,given_name,family_name,birth_date,student_number\n");
    for i in 0..7_000 {
        csv.push_str(&format!("s{i},student,Prénom,Nom,01/01/2000,{}\n", 30_000_000 + i));
    }
    let plan = import(&t, &csv, Options::default()).await;
    assert_eq!(plan.created, 7_000);
    assert_eq!(t.store.count_people().await.unwrap(), 7_000);
    let last = find(&t, IdentificationMethod::StudentNumber, "30006999").await.unwrap();
    assert_eq!(last.login, "prenom.nom7000");
}

/// The database itself keeps every identifier unique, whatever the import's plan does; people
/// without one of them do not collide.
async fn the_database_refuses_a_second_holder_of_an_identifier(t: TestStore) {
    import(&t, PEOPLE, Options::default()).await;
    let mut csv = String::from("uid,category,given_name,family_name,birth_date,staff_number,student_number,ine\n");
    for i in 0..3 {
        csv.push_str(&format!("n{i},external,Sans,Numéro,01/01/1990,,,\n"));
    }
    assert_eq!(import(&t, &csv, Options::default()).await.created, 3, "no numbers at all: no collision");
    let plan = |staff: &str, student: &str, ine: &str, email: &str| {
        let csv = format!(
            "uid,category,given_name,family_name,birth_date,staff_number,student_number,ine,email\nzz,staff,A,B,01/01/1990,{staff},{student},{ine},{email}\n"
        );
        let (lines, _) = parse_csv(csv.as_bytes(), TODAY).unwrap();
        sesame::domain::import_plan::plan(&[], lines, "univ.example", false)
    };
    // u3's address in other letters is u3's mailbox still.
    let taken = [
        plan("12345", "", "", ""),
        plan("", "22001234", "", ""),
        plan("", "", "1234567890A", ""),
        plan("", "", "", "Agnes@Partner.org"),
    ];
    for taken in taken {
        assert_eq!(taken.created, 1);
        let written = t.store.apply_import(&taken, time::OffsetDateTime::now_utc()).await;
        assert!(written.is_err(), "a plan blind to the people already there is stopped by the database");
    }
    assert_eq!(t.store.count_people().await.unwrap(), 7);
}

/// Session rows write no WAL on PostgreSQL (migration 0003): in a fresh database, and in one
/// whose table an earlier version created as an ordinary one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_session_rows_unlogged() {
    let persistence = async |url: &str| -> String {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        sqlx::query_scalar("SELECT relpersistence::text FROM pg_class WHERE oid = 'tower_sessions'::regclass")
            .fetch_one(&pool)
            .await
            .expect("the session table")
    };
    assert_eq!(persistence(&common::postgres().await.url).await, "u");

    let url = common::empty_postgres_schema().await;
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    sqlx::query("CREATE TABLE tower_sessions (id TEXT PRIMARY KEY NOT NULL, data BYTEA NOT NULL, expiry_date TIMESTAMPTZ NOT NULL)")
        .execute(&pool)
        .await
        .expect("the table as tower-sessions-sqlx-store creates it");
    sqlx::query("INSERT INTO tower_sessions VALUES ('kept', '\\x00', now() + interval '1 hour')")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(persistence(&url).await, "p");
    sesame::store::connect(&url).await.expect("open").migrate().await.expect("migrate");
    assert_eq!(persistence(&url).await, "u");
    let kept: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM tower_sessions WHERE id = 'kept'").fetch_one(&pool).await.unwrap();
    assert_eq!(kept, 1, "sessions open during the upgrade survive it");
}

/// The store's PostgreSQL connections plan each statement once (docs/performance.md), and keep
/// the options the URL gave them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_plan_each_statement_once() {
    let url = common::empty_postgres_schema().await;
    let store = sesame::store::PgStore::connect(&url, std::time::Duration::from_secs(5), None).await.expect("connect");
    let setting = |show: &'static str| sqlx::query_scalar::<_, String>(show).fetch_one(store.pool());
    assert_eq!(setting("SHOW plan_cache_mode").await.unwrap(), "force_generic_plan");
    assert!(setting("SHOW search_path").await.unwrap().starts_with("t_"), "the URL's own options still apply");
}

/// `n` staff named `{prefix}{i}`, each with that staff number but the first, which gets `staff_of_first`.
fn many(prefix: &str, n: usize, staff_of_first: &str) -> String {
    let mut csv = String::from("uid,category,given_name,family_name,birth_date,staff_number\n");
    for i in 0..n {
        let staff = if i == 0 { staff_of_first.to_string() } else { format!("{prefix}{i}") };
        csv.push_str(&format!("{prefix}{i},staff,Prénom,Nom,01/01/1990,{staff}\n"));
    }
    csv
}

/// `people`'s indexes on PostgreSQL: name, definition and object id, which a rebuild changes.
async fn people_indexes(pool: &sqlx::PgPool) -> Vec<(String, String, i64)> {
    sqlx::query_as(
        "SELECT indexname::text, indexdef, (quote_ident(indexname))::regclass::oid::bigint FROM pg_indexes \
         WHERE tablename = 'people' AND schemaname = current_schema() ORDER BY indexname",
    )
    .fetch_all(pool)
    .await
    .expect("people's indexes")
}

/// A first load of many people on PostgreSQL rebuilds `people`'s secondary indexes instead of
/// updating them row by row: they come back exactly as the migrations made them, and a clash the
/// import's plan did not see undoes the whole import, indexes included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rebuilds_indexes_for_a_first_load() {
    let t = common::postgres().await;
    let pool = sqlx::PgPool::connect(&t.url).await.expect("connect");
    let migrated = people_indexes(&pool).await;
    assert_eq!(migrated.len(), 7, "{migrated:#?}");

    import(&t, PEOPLE, Options::default()).await;
    assert_eq!(people_indexes(&pool).await, migrated, "a small import updates the indexes in place");

    // u1 changes name in the same file: the one update goes through the upsert.
    let first_load = many("a", 5_000, "a0") + "u1,staff,Élodie,Martin,14/07/1985,12345\n";
    let plan = import(&t, &first_load, Options::default()).await;
    assert_eq!((plan.created, plan.updated), (5_000, 1));
    assert_eq!(find(&t, IdentificationMethod::StaffNumber, "12345").await.unwrap().family_name, "Martin");
    let rebuilt = people_indexes(&pool).await;
    for ((name, def, oid), (_, def_before, oid_before)) in rebuilt.iter().zip(&migrated) {
        assert_eq!(def, def_before, "{name} is defined as before");
        let kept = name == "people_pkey";
        assert_eq!(oid == oid_before, kept, "{name} rebuilt: {}", !kept);
    }
    assert_eq!(find(&t, IdentificationMethod::StaffNumber, "a4999").await.unwrap().login, "prenom.nom5000");

    // 6,000 more would double the table again, but the first of them holds u1's staff number.
    let (lines, _) = parse_csv(many("b", 6_000, "12345").as_bytes(), TODAY).unwrap();
    let blind = sesame::domain::import_plan::plan(&[], lines, "univ.example", false);
    assert!(t.store.apply_import(&blind, time::OffsetDateTime::now_utc()).await.is_err());
    assert_eq!(t.store.count_people().await.unwrap(), 5_004);
    assert_eq!(people_indexes(&pool).await, rebuilt, "the failed import left the indexes untouched");
}

/// A first load copies its new people in (`COPY … FORMAT binary`) where a small import inserts
/// them: the same people, every column, NULLs and accents and the instant to the microsecond,
/// must come out of both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_copies_a_first_load_as_it_inserts_a_small_one() {
    let at = time::macros::datetime!(2026-11-28 09:30:15.123456 UTC);
    // Each import's rows, and whether it rebuilt the indexes: only a first load copies.
    let written = async |csv: &str| -> (Vec<String>, bool) {
        let t = common::postgres().await;
        let pool = sqlx::PgPool::connect(&t.url).await.expect("connect");
        let before = people_indexes(&pool).await;
        let (lines, _) = parse_csv(csv.as_bytes(), TODAY).unwrap();
        let plan = sesame::domain::import_plan::plan(&[], lines, "univ.example", false);
        t.store.apply_import(&plan, at).await.expect("import");
        let rebuilt = people_indexes(&pool).await != before;
        let stamped: i64 = sqlx::query_scalar("SELECT count(*) FROM people WHERE created_at = $1 AND updated_at = $1")
            .bind(at)
            .fetch_one(&pool)
            .await
            .expect("count");
        assert_eq!(stamped as usize, plan.created, "everyone written at {at}");
        let rows =
            sqlx::query_scalar("SELECT (to_jsonb(p) - 'id')::text FROM people p WHERE uid LIKE 'u%' ORDER BY uid")
                .fetch_all(&pool)
                .await
                .expect("people");
        (rows, rebuilt)
    };
    let (small, rebuilt) = written(PEOPLE).await;
    assert!(!rebuilt);
    let mut first_load = PEOPLE.to_string();
    for i in 0..5_000 {
        first_load.push_str(&format!("a{i},student,Zoé,N'Diaye,29/02/2004,,{},,,\n", 40_000_000 + i));
    }
    let (copied, rebuilt) = written(&first_load).await;
    assert!(rebuilt, "a first load of 5,004 people goes the bulk way");
    assert_eq!(copied, small);
    assert_eq!(small.len(), 4);
}

/// Two first loads at the same moment both land on PostgreSQL, one after the other: neither
/// may count the people and then wait for the other's lock while holding its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_runs_simultaneous_first_loads_one_after_the_other() {
    let plan = |prefix: &str| {
        let (lines, _) = parse_csv(many(prefix, 5_000, &format!("{prefix}0")).as_bytes(), TODAY).unwrap();
        let mut plan = sesame::domain::import_plan::plan(&[], lines, "univ.example", false);
        // Blind to each other, the two plans would generate the same logins: only the locking
        // may stand between them here.
        for p in &mut plan.upserts {
            p.login = format!("{prefix}.{}", p.uid);
            p.email = format!("{}@univ.example", p.login);
        }
        plan
    };
    let (a, b) = (plan("a"), plan("b"));
    // Counting before locking, 3 pairs in 10 deadlocked here: 20 pairs all landing is no luck.
    for _ in 0..20 {
        let t = common::postgres().await;
        let at = time::OffsetDateTime::now_utc();
        let (first, second) = tokio::join!(t.store.apply_import(&a, at), t.store.apply_import(&b, at));
        assert!(first.is_ok() && second.is_ok(), "{first:?} {second:?}");
        assert_eq!(t.store.count_people().await.unwrap(), 10_000);
    }
}

/// Sign-in finds a person by login, or by e-mail address in any case: on PostgreSQL too, where
/// these columns compare as bytes (migration 0005) and `lower` folds only ASCII letters.
async fn sign_in_finds_login_and_email_in_any_case(t: TestStore) {
    let csv = "uid,category,given_name,family_name,birth_date,email,login\n\
               u5,external,Zoé,Roy,01/01/1980,Zoe.Roy@Partner.ORG,zroy\n";
    import(&t, csv, Options::default()).await;
    for typed in ["zroy", " ZRoy ", "zoe.roy@partner.org", "ZOE.ROY@partner.org", "Zoe.Roy@Partner.ORG"] {
        let found = t.store.find_by_login(typed).await.unwrap();
        assert_eq!(found.map(|p| p.uid), Some("u5".to_string()), "{typed}");
    }
    assert!(t.store.find_by_login("zoe.roy@partner.or").await.unwrap().is_none());
}

/// People's identifiers and every index on them compare bytes, whatever the database's
/// collation (migration 0005: under fr_FR.UTF-8, rebuilding them took 3 × as long).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_compares_identifiers_as_bytes() {
    let t = common::postgres().await;
    let pool = sqlx::PgPool::connect(&t.url).await.expect("connect");
    let columns: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT column_name::text, collation_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = 'people' AND data_type = 'text' \
           AND column_name IN ('uid', 'login', 'email', 'staff_number', 'student_number', 'ine')",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(columns.len(), 6);
    assert!(columns.iter().all(|(_, c)| c.as_deref() == Some("C")), "{columns:?}");
    let collations: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT c.collname::text FROM pg_index i, unnest(i.indcollation::oid[]) AS k(oid) \
         JOIN pg_collation c ON c.oid = k.oid WHERE i.indrelid = 'people'::regclass",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(collations, ["C"], "every index on text compares bytes");
}

/// Sign-in's lookup by login or by e-mail in any case (the `find_by_login` condition) reads
/// indexes, never the whole people table.
async fn sign_in_lookup_uses_indexes(t: TestStore) {
    let condition = "login = 'x' OR lower(email) = 'x'";
    let plan: Vec<String> = if t.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&t.url).await.unwrap();
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(&format!("EXPLAIN QUERY PLAN SELECT * FROM people WHERE {condition}"))
                .fetch_all(&pool)
                .await
                .unwrap();
        rows.into_iter().map(|r| r.3).collect()
    } else {
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&t.url).await.unwrap();
        // A small table is cheaper to read whole: forbid that, so only a missing index shows.
        sqlx::query("SET enable_seqscan = off").execute(&pool).await.unwrap();
        sqlx::query_scalar(&format!("EXPLAIN SELECT * FROM people WHERE {condition}")).fetch_all(&pool).await.unwrap()
    };
    assert!(!plan.iter().any(|l| l.contains("Seq Scan") || l.starts_with("SCAN")), "{plan:#?}");
}

on_both_stores!(
    sign_in_lookup_uses_indexes,
    sign_in_finds_login_and_email_in_any_case,
    the_database_refuses_a_second_holder_of_an_identifier,
    migrations_run_twice_without_harm,
    import_creates_people_findable_by_each_identifier,
    reimport_updates_but_never_changes_a_login,
    disable_missing_disables_and_a_later_import_reenables,
    dry_run_writes_nothing,
    bad_lines_are_rejected_and_good_ones_kept,
    a_large_import_round_trips,
);
