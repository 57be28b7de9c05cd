//! Transcript snapshots: every request a test makes and the full response body it gets
//! (status, content type, body text), compared with `transcripts/<module>__<test>.txt`
//! when the test's `TestApp` drops. So every response body of every test is a reviewed
//! snapshot, and any change to one shows up as a failing test with a diff.
//!
//! Volatile parts (timestamps, session cookies, token keys) are redacted; a test adds its
//! own redactions with `TestApp::redact` (e.g. random job ids).
//!
//! Missing transcripts are written on a developer machine and fail under `CI=true`.
//! After an intended change: `TALLY_ACCEPT_TRANSCRIPTS=1 cargo test -p tally-http`, then
//! review the diff in git.

use std::path::PathBuf;
use std::sync::Mutex;

use regex::Regex;

use crate::harness::Resp;

/// Bodies longer than this are cut (the head shows the shape).
const MAX_BODY: usize = 6000;

thread_local! {
    /// Transcripts checked so far on this test's thread.
    static CHECKED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[derive(Default)]
pub struct Transcript {
    entries: Mutex<Vec<String>>,
    /// Requests made while paused (polling loops whose length depends on timing) are not
    /// recorded.
    paused: std::sync::atomic::AtomicBool,
    redactions: Mutex<Vec<(Regex, String)>>,
}

fn default_redactions() -> Vec<(Regex, &'static str)> {
    [
        // ISO timestamps in every form tally writes (with millis, Z or +0000 or none).
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?",
            "[timestamp]",
        ),
        (r"JSESSIONID=[0-9A-Fa-f]+", "JSESSIONID=[session]"),
        (r"d2pat_[A-Za-z0-9]{42}", "d2pat_[key]"),
        (r"DATAVALUE_IMPORT \(\d+\)", "DATAVALUE_IMPORT ([job time])"),
        // Notification ids (random per notification).
        (
            r#"\{"uid":"[A-Za-z][A-Za-z0-9]{10}","id""#,
            r#"{"uid":"[notification]","id""#,
        ),
        // Epoch milliseconds of this century in JSON numbers (token expiry, created).
        (
            r#""(created|expire|lastUpdated)":1\d{12}"#,
            r#""$1":[epoch]"#,
        ),
    ]
    .into_iter()
    .map(|(p, r)| (Regex::new(p).expect("redaction pattern"), r))
    .collect()
}

impl Transcript {
    pub fn redact(&self, pattern: &str, replacement: &str) {
        self.redactions.lock().unwrap().push((
            Regex::new(pattern).expect("redaction pattern"),
            replacement.to_owned(),
        ));
    }

    pub fn pause(&self, paused: bool) {
        self.paused
            .store(paused, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn record(&self, request: &str, resp: &Resp) {
        if self.paused.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let content_type = resp.header("content-type").unwrap_or("-");
        let binary = resp.header("content-encoding").is_some()
            || content_type.contains("zip")
            || content_type.contains("gzip")
            || std::str::from_utf8(&resp.body).is_err();
        let body = if binary {
            "[binary body]".to_owned()
        } else {
            let text = String::from_utf8_lossy(&resp.body);
            if text.len() > MAX_BODY {
                let mut cut = MAX_BODY;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                format!("{}… [{} more bytes]", &text[..cut], text.len() - cut)
            } else {
                text.into_owned()
            }
        };
        let set_cookie = resp
            .header("set-cookie")
            .map(|c| format!("\nset-cookie: {c}"))
            .unwrap_or_default();
        self.entries.lock().unwrap().push(format!(
            "> {request}\n< {} {content_type}{set_cookie}\n{body}",
            resp.status.as_u16()
        ));
    }

    fn text(&self) -> String {
        let mut text = self.entries.lock().unwrap().join("\n\n");
        for (re, replacement) in default_redactions() {
            text = re.replace_all(&text, replacement).into_owned();
        }
        for (re, replacement) in self.redactions.lock().unwrap().iter() {
            text = re.replace_all(&text, replacement.as_str()).into_owned();
        }
        text.push('\n');
        text
    }

    pub fn check(&self) {
        let entries = self.entries.lock().unwrap().len();
        if entries == 0 {
            return;
        }
        let thread = std::thread::current();
        let Some(name) = thread.name().filter(|n| *n != "main") else {
            panic!("transcripts need the test's thread name (run tests on their own threads)");
        };
        // A test with several apps (a restart) gets one transcript per app, in drop order.
        let n = CHECKED.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("-{n}")
        };
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/integration/transcripts")
            .join(format!("{}{suffix}.txt", name.replace("::", "__")));
        let actual = self.text();
        let accept = std::env::var_os("TALLY_ACCEPT_TRANSCRIPTS").is_some();
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        match std::fs::read_to_string(&path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) if !accept => panic!(
                "response transcript changed: {}\n(rerun with TALLY_ACCEPT_TRANSCRIPTS=1 if \
                 intended, then review the git diff)\n{}",
                path.display(),
                diff(&expected, &actual)
            ),
            Err(_) if ci && !accept => panic!(
                "missing transcript {} (run the tests locally and commit it)",
                path.display()
            ),
            _ => {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, actual).unwrap();
            }
        }
    }
}

impl Drop for Transcript {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.check();
        }
    }
}

/// The first differing lines, enough to see what changed.
fn diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<_>, Vec<_>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = String::new();
    let mut shown = 0;
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i), a.get(i));
        if x != y {
            out.push_str(&format!(
                "line {}:\n- {}\n+ {}\n",
                i + 1,
                x.unwrap_or(&"<none>"),
                y.unwrap_or(&"<none>")
            ));
            shown += 1;
            if shown == 5 {
                break;
            }
        }
    }
    out
}
