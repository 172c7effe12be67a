//! An import's progress on a terminal: lines read and how much of the file, once it has run a while.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::plural;

/// A quicker import prints nothing extra.
const QUIET_FOR: Duration = Duration::from_secs(2);
const EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Reading = 0,
    Planning = 1,
    Writing = 2,
}

/// How far the import is, updated by the work and read by the display.
#[derive(Debug, Default)]
pub struct Counters {
    line: AtomicU64,
    byte: AtomicU64,
    stage: AtomicU8,
}

impl Counters {
    /// The reader is at this line, this many bytes into the file.
    pub fn read(&self, line: u64, byte: usize) {
        self.line.store(line, Ordering::Relaxed);
        self.byte.store(byte as u64, Ordering::Relaxed);
    }

    pub fn stage(&self, stage: Stage) {
        self.stage.store(stage as u8, Ordering::Relaxed);
    }

    /// One status line: lines read and the share of a file of `total` bytes.
    fn text(&self, total: u64) -> String {
        // The header is line 1: data lines read so far.
        let lines = plural(self.line.load(Ordering::Relaxed).saturating_sub(1) as usize, "line", "lines");
        let stage = self.stage.load(Ordering::Relaxed);
        if stage == Stage::Reading as u8 {
            let percent = self.byte.load(Ordering::Relaxed) * 100 / total.max(1);
            format!("{lines} read ({percent} %)")
        } else if stage == Stage::Planning as u8 {
            format!("{lines} read (100 %); checking them against the database")
        } else {
            format!("{lines} read (100 %); writing to the database")
        }
    }
}

/// The display: a line on standard error rewritten in place, only on a terminal and only
/// after `QUIET_FOR`; `finish` clears it.
pub struct Progress {
    counters: Arc<Counters>,
    display: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Progress {
    pub fn on_terminal(total: u64) -> Self {
        let stderr = std::io::stderr();
        let out = stderr.is_terminal().then(|| Box::new(stderr) as Box<dyn Write + Send>);
        Self::start(total, out, QUIET_FOR)
    }

    fn start(total: u64, out: Option<Box<dyn Write + Send>>, quiet_for: Duration) -> Self {
        let counters = Arc::new(Counters::default());
        let display = out.map(|mut out| {
            let (stop, mut stopped) = oneshot::channel();
            let shown = counters.clone();
            let task = tokio::spawn(async move {
                tokio::select! {
                    _ = &mut stopped => return,
                    () = tokio::time::sleep(quiet_for) => {}
                }
                let mut last = String::new();
                loop {
                    let text = shown.text(total);
                    if text != last {
                        // A terminal that went away is no reason to stop an import.
                        let _ = write!(out, "\r\x1b[K{text}").and_then(|()| out.flush());
                        last = text;
                    }
                    tokio::select! {
                        _ = &mut stopped => break,
                        () = tokio::time::sleep(EVERY) => {}
                    }
                }
                let _ = write!(out, "\r\x1b[K").and_then(|()| out.flush());
            });
            (stop, task)
        });
        Self { counters, display }
    }

    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// Stops the display and clears its line, before the summary is printed.
    pub async fn finish(self) {
        if let Some((stop, task)) = self.display {
            let _ = stop.send(());
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A terminal stand-in that keeps what was written.
    #[derive(Clone, Default)]
    struct Screen(Arc<Mutex<Vec<u8>>>);

    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Screen {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn the_status_says_lines_read_and_how_much_of_the_file() {
        let c = Counters::default();
        c.read(2, 250);
        assert_eq!(c.text(1000), "1 line read (25 %)");
        c.read(40_001, 1000);
        c.stage(Stage::Writing);
        assert_eq!(c.text(1000), "40000 lines read (100 %); writing to the database");
    }

    /// Real time, scaled down: the quiet spell of these tests.
    const QUIET: Duration = Duration::from_millis(300);

    #[tokio::test]
    async fn a_long_import_shows_progress_then_clears_it() {
        let screen = Screen::default();
        let progress = Progress::start(100, Some(Box::new(screen.clone())), QUIET);
        progress.counters().read(51, 50);
        tokio::time::sleep(QUIET / 3).await;
        assert_eq!(screen.text(), "", "nothing in the quiet spell");
        tokio::time::sleep(QUIET * 2).await;
        assert!(screen.text().ends_with("50 lines read (50 %)"), "{:?}", screen.text());
        progress.finish().await;
        assert!(screen.text().ends_with("\r\x1b[K"), "the line is cleared for the summary");
    }

    #[tokio::test]
    async fn a_quick_import_prints_nothing() {
        let screen = Screen::default();
        let progress = Progress::start(100, Some(Box::new(screen.clone())), QUIET);
        tokio::time::sleep(QUIET / 3).await;
        progress.finish().await;
        tokio::time::sleep(QUIET).await;
        assert_eq!(screen.text(), "");
    }
}
