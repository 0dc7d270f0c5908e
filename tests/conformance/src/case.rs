//! Case files: `cases/NAME.case`, a header of `# key: value` lines, then one plain
//! shell script per terminal after a `# --- terminal NAME` separator.
//!
//! ```text
//! # about: The seed's first attempt: the response lands on the proxy's terminal.
//! # flavors: openbsd traditional busybox textbook
//! # until: 5
//! # ground-truth: §2
//! # --- terminal backend
//! python3 -m http.server 5000 --bind 127.0.0.1
//! # --- terminal proxy
//! nc -l -p 6000 | nc 127.0.0.1 5000
//! ```
//!
//! Header keys: `about` (required; repeated lines are joined), `flavors` (required: a
//! list of nc flavors, or `any` when the case does not run `nc`), `until` (required:
//! seconds, at most [`MAX_UNTIL_MS`]), `racy` (optional, repeatable: why the real outcome
//! is not certain; the recording then holds several accepted outcomes), `ground-truth`
//! (optional: the section of `shared/ground-truth/` it reproduces), `mode` (optional:
//! `interactive` for an interactive bash on a terminal, see [`Mode`]). Other `#` lines
//! in the header are notes for the reader.
//!
//! In an interactive case a terminal's section is what a person types: its first
//! lines once the shell prompts (terminal N a second after terminal N-1, as the
//! playground types a lesson), then `@SECONDS TEXT` types TEXT and the lines after it
//! at that time from the start; a line `^C` is Ctrl-C, `^D` is Ctrl-D, `^Z` is
//! Ctrl-Z:
//!
//! ```text
//! # mode: interactive
//! # --- terminal shell
//! sleep 100 &
//! @0.5 sleep 5
//! @1 ^C
//! @1.5 jobs
//! ```

use std::fmt;
use std::path::Path;

use pipelab_sim::run::{NcFlavor, RunConfig};
use thiserror::Error;

/// No case may run longer than this: the live suite must stay within minutes.
pub const MAX_UNTIL_MS: u64 = 10_000;

/// The four flavors, in the order recordings list them.
pub const ALL_FLAVORS: [NcFlavor; 4] = [
    NcFlavor::Openbsd,
    NcFlavor::Traditional,
    NcFlavor::Busybox,
    NcFlavor::Textbook,
];

/// The name a flavor has in case headers and recording file names.
pub fn flavor_name(flavor: NcFlavor) -> &'static str {
    match flavor {
        NcFlavor::Openbsd => "openbsd",
        NcFlavor::Traditional => "traditional",
        NcFlavor::Busybox => "busybox",
        NcFlavor::Textbook => "textbook",
    }
}

/// The inverse of [`flavor_name`].
pub fn parse_flavor(name: &str) -> Option<NcFlavor> {
    ALL_FLAVORS.into_iter().find(|f| flavor_name(*f) == name)
}

/// Which flavors a case runs under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flavors {
    /// The case never runs `nc`: it is recorded once (under openbsd) and that
    /// recording holds for every flavor.
    Any,
    /// Recorded and compared separately for each of these.
    Only(Vec<NcFlavor>),
}

/// How a case's terminals run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// `bash -c SCRIPT`, stdin a pipe nobody writes, output a pipe.
    #[default]
    Script,
    /// `bash -i` on a terminal (a pty for real, the simulator's terminal in a
    /// session), its section typed into it: what the playground's terminals are.
    Interactive,
}

/// Keys typed into an interactive terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Keys {
    /// Lines, each ending with `\n`.
    Text(String),
    /// Ctrl-C.
    Interrupt,
    /// Ctrl-D.
    Eof,
    /// Ctrl-Z.
    Suspend,
}

/// Keys typed at a time after the start (`@SECONDS` in the case file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Typed {
    pub at_ms: u64,
    pub keys: Keys,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terminal {
    pub name: String,
    /// The section as written: what a recording was made from.
    pub script: String,
    /// What runs first: the script, or in an interactive case the lines typed once
    /// the shell prompts.
    pub start: String,
    /// Interactive cases: what is typed later, in time order.
    pub later: Vec<Typed>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// The file stem: `cases/NAME.case`.
    pub name: String,
    pub about: String,
    pub flavors: Flavors,
    pub until_ms: u64,
    pub racy: Option<String>,
    pub ground_truth: Option<String>,
    pub mode: Mode,
    pub terminals: Vec<Terminal>,
}

/// Where a recording is kept and what a comparison is made against: a flavor, or
/// `any` for cases that do not run `nc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlavorKey {
    Any,
    Flavor(NcFlavor),
}

impl fmt::Display for FlavorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlavorKey::Any => f.write_str("any"),
            FlavorKey::Flavor(flavor) => f.write_str(flavor_name(*flavor)),
        }
    }
}

impl Case {
    /// The flavors to run the case under: one (openbsd, arbitrarily) for `any`.
    pub fn run_flavors(&self) -> Vec<NcFlavor> {
        match &self.flavors {
            Flavors::Any => vec![NcFlavor::Openbsd],
            Flavors::Only(list) => list.clone(),
        }
    }

    /// The recording that a run under `flavor` is compared with, if the case applies.
    pub fn key(&self, flavor: NcFlavor) -> Option<FlavorKey> {
        match &self.flavors {
            Flavors::Any => Some(FlavorKey::Any),
            Flavors::Only(list) => list.contains(&flavor).then_some(FlavorKey::Flavor(flavor)),
        }
    }

    /// Every recording this case has.
    pub fn keys(&self) -> Vec<FlavorKey> {
        match &self.flavors {
            Flavors::Any => vec![FlavorKey::Any],
            Flavors::Only(list) => list.iter().map(|f| FlavorKey::Flavor(*f)).collect(),
        }
    }

    pub fn scripts(&self) -> Vec<String> {
        self.terminals.iter().map(|t| t.script.clone()).collect()
    }

    /// Every terminal's later keys with its index, in time order (terminals in
    /// order at the same time).
    pub fn typed_later(&self) -> Vec<(usize, &Typed)> {
        let mut all: Vec<(usize, &Typed)> = self
            .terminals
            .iter()
            .enumerate()
            .flat_map(|(n, t)| t.later.iter().map(move |typed| (n, typed)))
            .collect();
        all.sort_by_key(|(n, typed)| (typed.at_ms, *n));
        all
    }

    /// The simulator's input for this case: same scripts (or first typed lines),
    /// flavor and time limit.
    pub fn run_config(&self, flavor: NcFlavor) -> RunConfig {
        RunConfig {
            terminals: self.terminals.iter().map(|t| t.start.clone()).collect(),
            nc: flavor,
            seed: 0,
            until_ms: self.until_ms,
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("missing header `# {0}:`")]
    Missing(&'static str),
    #[error("no `# --- terminal NAME` section")]
    NoTerminals,
}

const SEPARATOR: &str = "# --- terminal";

/// Parses the text of `cases/NAME.case`.
pub fn parse_case(name: &str, text: &str) -> Result<Case, ParseError> {
    let mut about: Vec<String> = Vec::new();
    let mut flavors = None;
    let mut until_ms = None;
    let mut racy: Vec<String> = Vec::new();
    let mut ground_truth = None;
    let mut mode = Mode::Script;
    let mut terminals: Vec<(String, Vec<(usize, &str)>)> = Vec::new();

    for (index, line) in text.lines().enumerate() {
        let err = |message: String| ParseError::Line {
            line: index + 1,
            message,
        };
        if let Some(rest) = line.strip_prefix(SEPARATOR) {
            let term_name = rest.trim();
            if term_name.is_empty() {
                return Err(err("a terminal needs a name".into()));
            }
            if terminals.iter().any(|(n, _)| n == term_name) {
                return Err(err(format!("terminal `{term_name}` appears twice")));
            }
            terminals.push((term_name.to_string(), Vec::new()));
            continue;
        }
        if let Some((_, body)) = terminals.last_mut() {
            body.push((index + 1, line));
            continue;
        }
        // Header.
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let Some(comment) = trimmed.strip_prefix('#') else {
            return Err(err(
                "the header holds only `# key: value` lines and notes".into()
            ));
        };
        let Some((key, value)) = comment.trim().split_once(':') else {
            continue; // a note
        };
        let value = value.trim();
        match key.trim() {
            "about" => about.push(value.to_string()),
            "flavors" => flavors = Some(parse_flavors(value).map_err(err)?),
            "until" => until_ms = Some(parse_until(value).map_err(err)?),
            "racy" => racy.push(value.to_string()),
            "ground-truth" => ground_truth = Some(value.to_string()),
            "mode" => {
                mode = match value {
                    "script" => Mode::Script,
                    "interactive" => Mode::Interactive,
                    _ => {
                        return Err(err(format!(
                            "unknown mode `{value}` (script or interactive)"
                        )));
                    }
                }
            }
            _ => {} // a note that happens to hold a colon
        }
    }

    if about.is_empty() {
        return Err(ParseError::Missing("about"));
    }
    let flavors = flavors.ok_or(ParseError::Missing("flavors"))?;
    let until_ms = until_ms.ok_or(ParseError::Missing("until"))?;
    if terminals.is_empty() {
        return Err(ParseError::NoTerminals);
    }
    let terminals = terminals
        .into_iter()
        .map(|(name, mut body)| {
            while body.last().is_some_and(|(_, l)| l.trim().is_empty()) {
                body.pop();
            }
            let script = body.iter().map(|(_, l)| *l).collect::<Vec<_>>().join("\n");
            let (start, later) = match mode {
                Mode::Script => (script.clone(), Vec::new()),
                Mode::Interactive => parse_typing(&body, until_ms)?,
            };
            Ok(Terminal {
                name,
                script,
                start,
                later,
            })
        })
        .collect::<Result<_, ParseError>>()?;
    Ok(Case {
        name: name.to_string(),
        about: about.join(" "),
        flavors,
        until_ms,
        racy: (!racy.is_empty()).then(|| racy.join(" ")),
        ground_truth,
        mode,
        terminals,
    })
}

/// An interactive terminal's section: the lines typed at the first prompt, then
/// what `@SECONDS` lines type later.
fn parse_typing(body: &[(usize, &str)], until_ms: u64) -> Result<(String, Vec<Typed>), ParseError> {
    let mut start = String::new();
    let mut later: Vec<Typed> = Vec::new();
    let mut at_ms = None;
    for &(line, text) in body {
        let mut text = text;
        if let Some(rest) = text.strip_prefix('@') {
            let (when, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            let ms = parse_seconds(when)
                .filter(|ms| *ms <= until_ms)
                .ok_or_else(|| ParseError::Line {
                    line,
                    message: format!("`@{when}` is not a time from 0 to the case's `until`"),
                })?;
            if at_ms.is_some_and(|before| ms < before) {
                return Err(ParseError::Line {
                    line,
                    message: format!("`@{when}` is earlier than the time before it"),
                });
            }
            at_ms = Some(ms);
            later.push(Typed {
                at_ms: ms,
                keys: Keys::Text(String::new()),
            });
            text = rest;
        }
        let keys = match text {
            "^C" => Some(Keys::Interrupt),
            "^D" => Some(Keys::Eof),
            "^Z" => Some(Keys::Suspend),
            _ => None,
        };
        match (later.last_mut(), keys) {
            (None, None) => {
                start.push_str(text);
                start.push('\n');
            }
            (None, Some(_)) => {
                return Err(ParseError::Line {
                    line,
                    message: "Ctrl-C, Ctrl-D or Ctrl-Z needs a time: `@SECONDS ^C`".into(),
                });
            }
            (Some(last), keys) => {
                let at_ms = last.at_ms;
                match (&mut last.keys, keys) {
                    (Keys::Text(typed), None) => {
                        typed.push_str(text);
                        typed.push('\n');
                    }
                    (Keys::Text(typed), Some(keys)) if typed.is_empty() => last.keys = keys,
                    (_, keys) => later.push(Typed {
                        at_ms,
                        keys: keys.unwrap_or_else(|| Keys::Text(format!("{text}\n"))),
                    }),
                }
            }
        }
    }
    Ok((start, later))
}

fn parse_seconds(value: &str) -> Option<u64> {
    let seconds: f64 = value.parse().ok()?;
    let ms = (seconds * 1000.0).round();
    (ms >= 0.0 && ms.is_finite()).then_some(ms as u64)
}

fn parse_flavors(value: &str) -> Result<Flavors, String> {
    if value == "any" {
        return Ok(Flavors::Any);
    }
    let mut list = Vec::new();
    for word in value.split_whitespace() {
        let flavor = parse_flavor(word).ok_or_else(|| {
            format!("unknown flavor `{word}` (openbsd traditional busybox textbook, or any)")
        })?;
        if !list.contains(&flavor) {
            list.push(flavor);
        }
    }
    if list.is_empty() {
        return Err("`flavors:` lists no flavor".into());
    }
    Ok(Flavors::Only(list))
}

fn parse_until(value: &str) -> Result<u64, String> {
    let seconds: f64 = value
        .parse()
        .map_err(|_| format!("`until: {value}` is not a number of seconds"))?;
    let ms = (seconds * 1000.0).round();
    if !(ms >= 1.0 && ms <= MAX_UNTIL_MS as f64) {
        return Err(format!(
            "`until: {value}` must be above 0 and at most {} s",
            MAX_UNTIL_MS / 1000
        ));
    }
    Ok(ms as u64)
}

/// Reads every `*.case` file of `dir`, sorted by name.
pub fn load_cases_from(dir: &Path) -> anyhow::Result<Vec<Case>> {
    use anyhow::Context as _;
    let mut cases = Vec::new();
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading the cases in {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("case") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .context("a case file name is not UTF-8")?
            .to_string();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let case = parse_case(&name, &text).with_context(|| format!("in {}", path.display()))?;
        cases.push(case);
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

// ---------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# about: The seed's first attempt.
# about: A pipe is one-way.
# flavors: openbsd traditional
# until: 4.5
# ground-truth: §2
# a note: with a colon
# --- terminal backend
python3 -m http.server 5000 --bind 127.0.0.1

# --- terminal proxy
nc -l -p 6000 | nc 127.0.0.1 5000
# a comment inside the script stays in the script
echo \"PIPESTATUS=${PIPESTATUS[*]}\"


";

    #[test]
    fn a_case_file_parses_into_header_and_terminals() {
        let case = parse_case("naive", SAMPLE).unwrap();
        assert_eq!(case.name, "naive");
        assert_eq!(case.about, "The seed's first attempt. A pipe is one-way.");
        assert_eq!(
            case.flavors,
            Flavors::Only(vec![NcFlavor::Openbsd, NcFlavor::Traditional])
        );
        assert_eq!(case.until_ms, 4500);
        assert_eq!(case.racy, None);
        assert_eq!(case.ground_truth.as_deref(), Some("§2"));
        assert_eq!(case.terminals.len(), 2);
        assert_eq!(case.terminals[0].name, "backend");
        assert_eq!(
            case.terminals[0].script,
            "python3 -m http.server 5000 --bind 127.0.0.1"
        );
        assert_eq!(
            case.terminals[1].script,
            "nc -l -p 6000 | nc 127.0.0.1 5000\n\
             # a comment inside the script stays in the script\n\
             echo \"PIPESTATUS=${PIPESTATUS[*]}\""
        );
    }

    #[test]
    fn run_config_carries_scripts_flavor_and_time_limit() {
        let case = parse_case("naive", SAMPLE).unwrap();
        let config = case.run_config(NcFlavor::Traditional);
        assert_eq!(config.terminals, case.scripts());
        assert_eq!(config.nc, NcFlavor::Traditional);
        assert_eq!(config.until_ms, 4500);
        assert_eq!(config.seed, 0);
    }

    #[test]
    fn flavors_any_runs_once_and_compares_for_every_flavor() {
        let text = "# about: x\n# flavors: any\n# until: 1\n# --- terminal t\ntrue\n";
        let case = parse_case("x", text).unwrap();
        assert_eq!(case.run_flavors(), vec![NcFlavor::Openbsd]);
        assert_eq!(case.key(NcFlavor::Busybox), Some(FlavorKey::Any));
        assert_eq!(case.keys(), vec![FlavorKey::Any]);
    }

    #[test]
    fn a_flavor_outside_the_list_has_no_recording() {
        let case = parse_case("naive", SAMPLE).unwrap();
        assert_eq!(case.key(NcFlavor::Busybox), None);
        assert_eq!(
            case.key(NcFlavor::Openbsd),
            Some(FlavorKey::Flavor(NcFlavor::Openbsd))
        );
    }

    #[test]
    fn racy_header_is_kept() {
        let text =
            "# about: x\n# flavors: any\n# until: 1\n# racy: two orders\n# --- terminal t\ntrue\n";
        assert_eq!(
            parse_case("x", text).unwrap().racy.as_deref(),
            Some("two orders")
        );
    }

    #[test]
    fn missing_headers_are_errors() {
        let no_about = "# flavors: any\n# until: 1\n# --- terminal t\ntrue\n";
        assert_eq!(parse_case("x", no_about), Err(ParseError::Missing("about")));
        let no_until = "# about: x\n# flavors: any\n# --- terminal t\ntrue\n";
        assert_eq!(parse_case("x", no_until), Err(ParseError::Missing("until")));
        let no_terms = "# about: x\n# flavors: any\n# until: 1\n";
        assert_eq!(parse_case("x", no_terms), Err(ParseError::NoTerminals));
    }

    #[test]
    fn bad_values_name_their_line() {
        let bad_flavor = "# about: x\n# flavors: openbsd gnu\n# until: 1\n# --- terminal t\ntrue\n";
        assert!(matches!(
            parse_case("x", bad_flavor),
            Err(ParseError::Line { line: 2, .. })
        ));
        let too_long = "# about: x\n# flavors: any\n# until: 11\n# --- terminal t\ntrue\n";
        assert!(matches!(
            parse_case("x", too_long),
            Err(ParseError::Line { line: 3, .. })
        ));
        let code_in_header = "# about: x\necho hi\n# --- terminal t\ntrue\n";
        assert!(matches!(
            parse_case("x", code_in_header),
            Err(ParseError::Line { line: 2, .. })
        ));
        let twice = "# about: x\n# flavors: any\n# until: 1\n# --- terminal t\n# --- terminal t\n";
        assert!(matches!(
            parse_case("x", twice),
            Err(ParseError::Line { line: 5, .. })
        ));
    }

    #[test]
    fn an_interactive_section_is_typed_first_then_at_its_times() {
        let text = "# about: x\n# flavors: any\n# until: 3\n# mode: interactive\n\
                    # --- terminal a\nsleep 9 &\necho hi\n@0.5 sleep 5\n@1 ^C\n@1.5 jobs\nkill %1\n^D\n\
                    # --- terminal b\n@0.5 ^C\n";
        let case = parse_case("x", text).unwrap();
        assert_eq!(case.mode, Mode::Interactive);
        let a = &case.terminals[0];
        assert_eq!(a.start, "sleep 9 &\necho hi\n");
        let typed = |at_ms, keys| Typed { at_ms, keys };
        let text = |t: &str| Keys::Text(t.to_string());
        assert_eq!(
            a.later,
            vec![
                typed(500, text("sleep 5\n")),
                typed(1000, Keys::Interrupt),
                typed(1500, text("jobs\nkill %1\n")),
                typed(1500, Keys::Eof),
            ]
        );
        assert_eq!(case.terminals[1].start, "");
        // Both terminals' keys in time order, terminal order at the same time.
        let order: Vec<(usize, u64)> = case
            .typed_later()
            .iter()
            .map(|(n, t)| (*n, t.at_ms))
            .collect();
        assert_eq!(
            order,
            vec![(0, 500), (1, 500), (0, 1000), (0, 1500), (0, 1500)]
        );
        assert_eq!(case.run_config(NcFlavor::Openbsd).terminals[0], a.start);
    }

    #[test]
    fn typing_times_must_be_in_order_within_the_run_and_keys_need_one() {
        let case = |body: &str| {
            parse_case(
                "x",
                &format!(
                    "# about: x\n# flavors: any\n# until: 2\n# mode: interactive\n# --- terminal t\n{body}"
                ),
            )
        };
        assert!(matches!(
            case("@1 a\n@0.5 b\n"),
            Err(ParseError::Line { line: 7, .. })
        ));
        assert!(matches!(
            case("@3 a\n"),
            Err(ParseError::Line { line: 6, .. })
        ));
        assert!(matches!(
            case("@soon a\n"),
            Err(ParseError::Line { line: 6, .. })
        ));
        assert!(matches!(
            case("^C\n"),
            Err(ParseError::Line { line: 6, .. })
        ));
        assert!(case("@2 ^C\n").is_ok());
    }

    #[test]
    fn flavor_names_round_trip() {
        for flavor in ALL_FLAVORS {
            assert_eq!(parse_flavor(flavor_name(flavor)), Some(flavor));
        }
        assert_eq!(parse_flavor("gnu"), None);
    }
}
