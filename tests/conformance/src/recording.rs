//! Recordings: `recorded/CASE.FLAVOR.json`, the normalized transcripts the real
//! kernel produced for one case under one flavor, every distinct outcome once, with
//! how often it was seen; and [`compare`](crate::compare), which checks a run against them.
//!
//! A transcript is stored as a list of lines, each with its own `\n` (the last one
//! without, if the transcript did not end in a newline), so that a recording is
//! exact and yet diffs line by line under git.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use pipelab_sim::run::NcFlavor;
use serde::{Deserialize, Serialize};

use crate::case::{Case, FlavorKey};
use crate::normalize::normalize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    pub case: String,
    /// A flavor name, or `any`.
    pub flavor: String,
    /// The terminals' scripts when this was recorded: a recording whose scripts differ
    /// from the case file is stale.
    pub scripts: Vec<String>,
    /// How many real runs this recording summarizes.
    pub runs: u32,
    pub outcomes: Vec<Outcome>,
}

/// One distinct result of a run: the normalized transcript of every terminal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// In how many of the runs this outcome appeared.
    pub seen: u32,
    pub terminals: Vec<RecordedTerminal>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedTerminal {
    pub name: String,
    pub output: Vec<String>,
}

impl Outcome {
    pub fn transcripts(&self) -> Vec<String> {
        self.terminals.iter().map(|t| t.output.concat()).collect()
    }
}

/// Splits a transcript into lines that keep their `\n`.
pub fn split_lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

impl Recording {
    /// A recording of `case` from already normalized transcripts, one per run.
    pub fn from_runs(case: &Case, key: FlavorKey, runs: &[Vec<String>]) -> Recording {
        let mut recording = Recording {
            case: case.name.clone(),
            flavor: key.to_string(),
            scripts: case.scripts(),
            runs: 0,
            outcomes: Vec::new(),
        };
        for transcripts in runs {
            recording.add_run(case, transcripts);
        }
        recording
    }

    /// Counts one more run, adding its outcome if it is new.
    pub fn add_run(&mut self, case: &Case, transcripts: &[String]) {
        self.runs += 1;
        if let Some(outcome) = self
            .outcomes
            .iter_mut()
            .find(|o| o.transcripts() == transcripts)
        {
            outcome.seen += 1;
            return;
        }
        self.outcomes.push(Outcome {
            seen: 1,
            terminals: case
                .terminals
                .iter()
                .zip(transcripts)
                .map(|(t, text)| RecordedTerminal {
                    name: t.name.clone(),
                    output: split_lines(text),
                })
                .collect(),
        });
    }

    /// Most frequent outcome first, so that the usual result reads first.
    pub fn sort_outcomes(&mut self) {
        self.outcomes.sort_by_key(|o| std::cmp::Reverse(o.seen));
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a recording serializes");
        text.push('\n');
        text
    }
}

pub fn recording_path(dir: &Path, case: &str, key: FlavorKey) -> PathBuf {
    dir.join(format!("{case}.{key}.json"))
}

pub fn load_recording_from(dir: &Path, case: &str, key: FlavorKey) -> anyhow::Result<Recording> {
    let path = recording_path(dir, case, key);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no recording {} (record it: cargo run -p pipelab-conformance --bin record -- {case})",
            path.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Why a run does not match its recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diff {
    /// The case does not run under this flavor.
    NotApplicable { case: String, flavor: NcFlavor },
    /// The recording is missing, unreadable or was made from other scripts.
    Recording { case: String, message: String },
    /// The run has another number of terminals than the case.
    TerminalCount {
        case: String,
        expected: usize,
        got: usize,
    },
    /// No recorded outcome matches; `text` shows the difference to the closest one.
    Mismatch {
        case: String,
        key: String,
        outcomes: usize,
        text: String,
    },
}

impl fmt::Display for Diff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diff::NotApplicable { case, flavor } => write!(
                f,
                "case {case} does not run under nc flavor {}",
                crate::case::flavor_name(*flavor)
            ),
            Diff::Recording { case, message } => write!(f, "case {case}: {message}"),
            Diff::TerminalCount {
                case,
                expected,
                got,
            } => write!(f, "case {case}: {got} terminals, the case has {expected}"),
            Diff::Mismatch {
                case,
                key,
                outcomes,
                text,
            } => write!(
                f,
                "case {case} [{key}]: the transcript matches none of the {outcomes} recorded \
                 outcome(s); against the closest (- recorded, + this run):\n{text}"
            ),
        }
    }
}

impl std::error::Error for Diff {}

/// Checks `transcripts` (one per terminal, raw or normalized) against `recording`.
pub fn compare_with(
    case: &Case,
    recording: &Recording,
    transcripts: &[String],
) -> Result<(), Diff> {
    if recording.scripts != case.scripts() {
        return Err(Diff::Recording {
            case: case.name.clone(),
            message: format!(
                "recorded/{}.{}.json was made from other scripts than cases/{}.case: re-record it",
                case.name, recording.flavor, case.name
            ),
        });
    }
    if transcripts.len() != case.terminals.len() {
        return Err(Diff::TerminalCount {
            case: case.name.clone(),
            expected: case.terminals.len(),
            got: transcripts.len(),
        });
    }
    let normalized: Vec<String> = transcripts.iter().map(|t| normalize(t)).collect();
    if recording
        .outcomes
        .iter()
        .any(|o| o.transcripts() == normalized)
    {
        return Ok(());
    }
    let closest = recording
        .outcomes
        .iter()
        .min_by_key(|o| distance(&o.transcripts(), &normalized));
    let text = match closest {
        None => "(the recording holds no outcome)\n".to_string(),
        Some(outcome) => render_diff(case, &outcome.transcripts(), &normalized),
    };
    Err(Diff::Mismatch {
        case: case.name.clone(),
        key: recording.flavor.clone(),
        outcomes: recording.outcomes.len(),
        text,
    })
}

/// Lines that differ between two sets of transcripts.
fn distance(a: &[String], b: &[String]) -> usize {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            line_diff(&split_lines(x), &split_lines(y))
                .iter()
                .filter(|(op, _)| *op != ' ')
                .count()
        })
        .sum()
}

fn render_diff(case: &Case, recorded: &[String], got: &[String]) -> String {
    let mut out = String::new();
    for ((terminal, want), have) in case.terminals.iter().zip(recorded).zip(got) {
        if want == have {
            out.push_str(&format!("  terminal {}: same\n", terminal.name));
            continue;
        }
        out.push_str(&format!("  terminal {}:\n", terminal.name));
        for (op, line) in line_diff(&split_lines(want), &split_lines(have)) {
            out.push_str(&format!("    {op} {}\n", show_line(&line)));
        }
    }
    out
}

/// A line as a reader should see it: `\r` and other control bytes escaped, a missing
/// final newline marked.
fn show_line(line: &str) -> String {
    let (body, newline) = match line.strip_suffix('\n') {
        Some(body) => (body, true),
        None => (line, false),
    };
    let mut shown = body.escape_debug().to_string();
    if !newline {
        shown.push_str(" [no newline]");
    }
    shown
}

/// A longest-common-subsequence line diff: `' '` same, `'-'` only in `a`, `'+'` only
/// in `b`. Transcripts are small (bounded by the case's time limit), so O(n*m) is fine.
pub fn line_diff(a: &[String], b: &[String]) -> Vec<(char, String)> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push((' ', a[i].clone()));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(('+', b[j].clone()));
            j += 1;
        } else {
            out.push(('-', a[i].clone()));
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::parse_case;

    fn case() -> Case {
        parse_case(
            "demo",
            "# about: x\n# flavors: openbsd\n# until: 1\n\
             # --- terminal a\necho a\n# --- terminal b\necho b\n",
        )
        .unwrap()
    }

    fn key() -> FlavorKey {
        FlavorKey::Flavor(NcFlavor::Openbsd)
    }

    #[test]
    fn lines_keep_their_newlines_and_concatenate_back() {
        let text = "a\r\nb\n\nc";
        let lines = split_lines(text);
        assert_eq!(lines, vec!["a\r\n", "b\n", "\n", "c"]);
        assert_eq!(lines.concat(), text);
        assert!(split_lines("").is_empty());
    }

    #[test]
    fn identical_runs_count_as_one_outcome() {
        let run = vec!["a\n".to_string(), "b\n".to_string()];
        let other = vec!["a\n".to_string(), "c\n".to_string()];
        let mut rec = Recording::from_runs(&case(), key(), &[run.clone(), other, run]);
        rec.sort_outcomes();
        assert_eq!(rec.runs, 3);
        assert_eq!(rec.outcomes.len(), 2);
        assert_eq!(rec.outcomes[0].seen, 2);
        assert_eq!(rec.outcomes[0].terminals[1].name, "b");
    }

    #[test]
    fn a_recording_survives_json() {
        let rec = Recording::from_runs(&case(), key(), &[vec!["a\r\n".into(), "".into()]]);
        let back: Recording = serde_json::from_str(&rec.to_json()).unwrap();
        assert_eq!(back, rec);
        assert_eq!(back.flavor, "openbsd");
    }

    #[test]
    fn compare_accepts_any_recorded_outcome_after_normalizing() {
        let rec = Recording::from_runs(
            &case(),
            key(),
            &[
                vec![
                    "Connection received on localhost PORT\n".into(),
                    "b\n".into(),
                ],
                vec!["x\n".into(), "b\n".into()],
            ],
        );
        let raw = vec![
            "Connection received on localhost 41234\n".to_string(),
            "b\n".to_string(),
        ];
        assert_eq!(compare_with(&case(), &rec, &raw), Ok(()));
        assert_eq!(
            compare_with(&case(), &rec, &["x\n".into(), "b\n".into()]),
            Ok(())
        );
    }

    #[test]
    fn compare_shows_a_line_diff_against_the_closest_outcome() {
        let rec = Recording::from_runs(
            &case(),
            key(),
            &[vec!["200 0\n000 7\n".into(), "PIPESTATUS=0 0\n".into()]],
        );
        let err = compare_with(
            &case(),
            &rec,
            &["200 0\n000 52\n".into(), "PIPESTATUS=0 0\n".into()],
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("    - 000 7"), "{text}");
        assert!(text.contains("    + 000 52"), "{text}");
        assert!(text.contains("terminal b: same"), "{text}");
    }

    #[test]
    fn compare_refuses_a_stale_recording_and_a_wrong_terminal_count() {
        let mut rec = Recording::from_runs(&case(), key(), &[vec!["a\n".into(), "b\n".into()]]);
        assert!(matches!(
            compare_with(&case(), &rec, &["a\n".into()]),
            Err(Diff::TerminalCount {
                expected: 2,
                got: 1,
                ..
            })
        ));
        rec.scripts[0] = "echo changed".into();
        assert!(matches!(
            compare_with(&case(), &rec, &["a\n".into(), "b\n".into()]),
            Err(Diff::Recording { .. })
        ));
    }

    #[test]
    fn line_diff_marks_insertions_and_deletions() {
        let a = split_lines("1\n2\n3\n");
        let b = split_lines("1\n3\n4\n");
        let expected: Vec<(char, String)> =
            [(' ', "1\n"), ('-', "2\n"), (' ', "3\n"), ('+', "4\n")]
                .into_iter()
                .map(|(op, line)| (op, line.to_string()))
                .collect();
        assert_eq!(line_diff(&a, &b), expected);
    }

    #[test]
    fn a_missing_final_newline_is_shown() {
        assert_eq!(show_line("abc"), "abc [no newline]");
        assert_eq!(show_line("a\r\n"), "a\\r");
    }
}
