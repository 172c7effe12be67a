//! The mail outbox against relays that misbehave: slow, hung, refusing once. A mail leaves once,
//! carries one Message-ID at every try, and never holds a process that is asked to stop.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Mode, Relay, TestStore};
use sesame::cli::import::{Options, import_lines, parse_csv};
use sesame::mail::Transport;
use sesame::mail::worker::Worker;
use sesame::outbox::Pace;
use sesame::store::Store;

/// `n` people activated straight through the store: `n` confirmation mails waiting.
async fn queue_mails(store: &dyn Store, n: usize) {
    let mut csv = String::from("uid,category,given_name,family_name,birth_date\n");
    for i in 0..n {
        csv += &format!("m{i},staff,Marie,Curie{i},07/11/1967\n");
    }
    let today = time::OffsetDateTime::now_utc().date();
    import_lines(store, parse_csv(csv.as_bytes(), today).unwrap().0, "example.edu", Options::default()).await.unwrap();
    for i in 0..n {
        let person = store.find_by_login(&format!("marie.curie{i}")).await.unwrap().unwrap();
        common::activate_in_store(store, &person, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA").await;
    }
}

fn worker(store: Arc<dyn Store>, relay: &Relay, pace: Pace, timeout: Duration) -> Worker {
    let mut config = common::test_config("sqlite://unused.db");
    config.smtp_url = Some(relay.url().parse().unwrap());
    config.smtp_timeout = timeout;
    Worker {
        store,
        transport: Transport::from_config(&config).unwrap(),
        from: config.mail_from.clone(),
        domain: "example.edu".into(),
        pace,
        wake: Arc::default(),
        sealing: sesame::sealing::SealingKey::ephemeral(),
    }
}

async fn unsent(t: &TestStore) -> i64 {
    t.store.mail_backlog().await.unwrap()
}

/// Two instances and a relay that takes a second per mail, with claims held four seconds (leases
/// end on a whole second, so at least three): a batch claimed at once outlived its lease and was
/// sent again by the other instance; mails claimed one by one leave once each. (With two-second
/// leases, one second at worst, a loaded machine once saw a send outlive its lease.)
async fn a_slow_relay_gets_each_mail_once_from_two_instances(t: TestStore) {
    const MAILS: usize = 6;
    queue_mails(t.store.as_ref(), MAILS).await;
    let relay = Relay::start(Mode::Slow(Duration::from_millis(1000))).await;
    let pace = Pace { poll: Duration::from_millis(50), first_backoff_secs: 1, max_backoff_secs: 2, lease_secs: 4 };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    for _ in 0..2 {
        let other = common::same_database(&t).await;
        workers.push(tokio::spawn(worker(other, &relay, pace, Duration::from_secs(10)).run(stopped.clone())));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while unsent(&t).await > 0 {
        assert!(Instant::now() < deadline, "not all sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _ = stop.send(true);
    for w in workers {
        w.await.unwrap();
    }
    let ids = relay.message_ids();
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), distinct.len()), (MAILS, MAILS), "each mail once: {ids:?}");
    for id in &ids {
        let uuid = id.trim_start_matches('<').trim_end_matches("@example.edu>");
        assert!(uuid::Uuid::parse_str(uuid).is_ok(), "a UUID, not a row number: {id}");
    }
}

/// A relay that never answers holds a mail for the SMTP time-out, not lettre's minute; the
/// mail is kept for a later try.
async fn a_hung_relay_is_given_up_after_the_smtp_timeout(t: TestStore) {
    queue_mails(t.store.as_ref(), 1).await;
    let relay = Relay::start(Mode::Hung).await;
    let pace = Pace { poll: Duration::from_secs(60), first_backoff_secs: 60, max_backoff_secs: 60, lease_secs: 120 };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let task = tokio::spawn(worker(t.store.clone(), &relay, pace, Duration::from_secs(1)).run(stopped));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let failed = common::sql_count(&t, "SELECT COUNT(*) FROM mail_outbox WHERE last_error IS NOT NULL").await;
        if failed == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the send never timed out");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started.elapsed() < Duration::from_secs(5), "given up after about a second: {:?}", started.elapsed());
    assert_eq!(unsent(&t).await, 1, "kept for a later try");
    let _ = stop.send(true);
    task.await.unwrap();
}

/// A mail refused once and sent at its next try carries the same Message-ID both times.
async fn a_retried_mail_keeps_its_message_id(t: TestStore) {
    queue_mails(t.store.as_ref(), 1).await;
    let relay = Relay::start(Mode::RefuseFirst).await;
    let pace = Pace { poll: Duration::from_millis(50), first_backoff_secs: 1, max_backoff_secs: 1, lease_secs: 30 };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(worker(t.store.clone(), &relay, pace, Duration::from_secs(5)).run(stopped));
    let deadline = Instant::now() + Duration::from_secs(15);
    while unsent(&t).await > 0 {
        assert!(Instant::now() < deadline, "never sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(true);
    task.await.unwrap();
    let ids = relay.message_ids();
    assert_eq!(ids.len(), 2, "refused, then accepted: {ids:?}");
    assert_eq!(ids[0], ids[1]);
}

/// A sealed body that no longer opens (sealed by a process whose key is gone: no
/// SESAME_SECRET_KEY, then a restart) is dropped at its first claim: nothing reaches the relay,
/// it is never tried again, and the backlog no longer counts it.
async fn a_mail_that_no_longer_opens_is_dropped_not_retried(t: TestStore) {
    queue_mails(t.store.as_ref(), 1).await;
    let garbage = if t.url.starts_with("sqlite:") { "X'00112233'" } else { "'\\x00112233'::bytea" };
    common::sql_execute(&t, &format!("UPDATE mail_outbox SET body_sealed = {garbage}, body_text = ''")).await;
    let relay = Relay::start(Mode::Accept).await;
    let pace = Pace { poll: Duration::from_millis(50), first_backoff_secs: 1, max_backoff_secs: 1, lease_secs: 30 };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(worker(t.store.clone(), &relay, pace, Duration::from_secs(5)).run(stopped));
    let deadline = Instant::now() + Duration::from_secs(5);
    while unsent(&t).await > 0 {
        assert!(Instant::now() < deadline, "still in the backlog");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _ = stop.send(true);
    task.await.unwrap();
    assert!(relay.messages.lock().unwrap().is_empty(), "nothing sent");
    let tried =
        common::sql_count(&t, "SELECT CAST(MAX(attempts) AS BIGINT) FROM mail_outbox WHERE sent_at IS NULL").await;
    assert_eq!(tried, 1, "claimed once, never again");
}

/// kill -9 of the real binary after the relay has the whole mail but before the mail is marked
/// sent (here the relay never answers; after its 250 the window is one statement): the mail is
/// not lost. Once its lease is over, the next start sends it again with the same Message-ID, by
/// which the receiving side can tell the copy, and marks it: two deliveries, never a third.
async fn kill_9_before_the_mark_sends_the_mail_again_with_its_message_id(t: TestStore) {
    queue_mails(t.store.as_ref(), 1).await;
    let hung = Relay::start(Mode::Hung).await;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, _) =
        common::serve_binary(dir.path(), &[("DATABASE_URL", t.url.as_str()), ("SESAME_SMTP_URL", &hung.url())]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while hung.messages.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the relay never got the mail");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(unsent(&t).await, 1, "killed before the mark: the mail still waits");

    // The claim's lease (two minutes) is over.
    common::sql_execute(&t, "UPDATE mail_outbox SET next_attempt_at = 0").await;
    let relay = Relay::start(Mode::Accept).await;
    let (mut again, _) =
        common::serve_binary(dir.path(), &[("DATABASE_URL", t.url.as_str()), ("SESAME_SMTP_URL", &relay.url())]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while unsent(&t).await > 0 {
        assert!(Instant::now() < deadline, "the mail was not sent after the restart");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(common::terminate(&mut again).success());
    assert_eq!(relay.message_ids(), hung.message_ids(), "the same mail, recognisable by its Message-ID");
    assert_eq!(relay.message_ids().len(), 1, "sent once more, then marked");
}

on_both_stores!(
    a_slow_relay_gets_each_mail_once_from_two_instances,
    a_hung_relay_is_given_up_after_the_smtp_timeout,
    a_retried_mail_keeps_its_message_id,
    kill_9_before_the_mark_sends_the_mail_again_with_its_message_id,
    a_mail_that_no_longer_opens_is_dropped_not_retried,
);

/// SIGTERM while the relay holds a mail: the real binary claims nothing more, gives the mail in
/// hand the SMTP time-out, and is gone well within systemd's stop time-out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_hung_relay_stops_within_the_smtp_timeout() {
    let t = common::sqlite().await;
    queue_mails(t.store.as_ref(), 3).await;
    let relay = Relay::start(Mode::Hung).await;
    let dir = tempfile::tempdir().unwrap();
    let vars =
        [("DATABASE_URL", t.url.as_str()), ("SESAME_SMTP_URL", &relay.url()), ("SESAME_SMTP_TIMEOUT_SECONDS", "3")];
    let (mut child, _) = common::serve_binary(dir.path(), &vars);
    let deadline = Instant::now() + Duration::from_secs(10);
    while relay.messages.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the relay never got the first mail");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let signalled = Instant::now();
    let status = common::terminate(&mut child);
    let took = signalled.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(6), "stopped {took:?} after SIGTERM, the SMTP time-out being 3 s");
    let claimed = common::sql_count(&t, "SELECT COUNT(*) FROM mail_outbox WHERE attempts > 0").await;
    assert_eq!(claimed, 1, "nothing claimed after the signal");
    assert_eq!(unsent(&t).await, 3, "the hung mail is kept for the next start");
}
