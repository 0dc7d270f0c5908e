//! pipelab-web: the wasm-bindgen glue between the page (`www/`) and `pipelab-sim`.
//! No simulation logic lives here: it converts between JS values and the
//! simulator's types, checks what JS passes in, and returns errors instead of
//! panicking.
//!
//! - [`Playground`]: the one handle type the page holds (a [`Core`] for JS).
//! - [`Core`]: the same handle in plain Rust, so that native tests run it too.
//! - [`lessons()`], [`flavors()`]: the lesson list and the nc flavors, as data.
//!
//! Positions: a run at position `p` has run `p` steps; the events "of" position
//! `p` are those of the step that led to it (`Event::step == p - 1`).

#![forbid(unsafe_code)]

use pipelab_sim::kernel::{Pid, WaitKey};
use pipelab_sim::lessons::{self, Lesson};
use pipelab_sim::narrate;
use pipelab_sim::programs::bash::syntax;
use pipelab_sim::run::{NcFlavor, RunConfig};
use pipelab_sim::session::{InputKind, Session, TerminalMode};
use pipelab_sim::snapshot::Snapshot;
use pipelab_sim::trace::{Event, EventKind};
use pipelab_sim::vecmap::{VecMap, VecSet};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// Bumped whenever the shape of what crosses to JS changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The most steps a run is explored to (a runaway `while true` stops here).
pub const MAX_RUN_STEPS: u64 = 200_000;
/// The most terminals a sandbox opens.
pub const MAX_TERMINALS: usize = 8;
/// The longest script a link or a terminal may carry.
pub const MAX_SCRIPT_BYTES: usize = 4096;
/// The sandbox's virtual time limit.
pub const SANDBOX_UNTIL_MS: u64 = 60_000;
/// The most trace lines [`Core::lines_of`] hands over on each side of a position.
pub const MAX_LINES_AROUND: usize = 5000;

/// The flavors of nc, with one line each for the page's switch.
pub const FLAVORS: [(&str, NcFlavor, &str); 4] = [
    (
        "openbsd",
        NcFlavor::Openbsd,
        "netcat-openbsd, Debian's default nc: ignores SIGPIPE, -k keeps listening",
    ),
    (
        "traditional",
        NcFlavor::Traditional,
        "netcat-traditional 1.10: ignores SIGPIPE, retries EPIPE then gives up",
    ),
    (
        "busybox",
        NcFlavor::Busybox,
        "BusyBox nc: SIGPIPE left at its default, quits when its input ends",
    ),
    (
        "textbook",
        NcFlavor::Textbook,
        "traditional without its SIGPIPE guard: the article's story, killed by SIGPIPE",
    ),
];

pub fn parse_flavor(name: &str) -> Result<NcFlavor, String> {
    FLAVORS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, f, _)| *f)
        .ok_or_else(|| {
            format!("unknown nc flavor {name:?}: use openbsd, traditional, busybox or textbook")
        })
}

fn flavor_name(nc: NcFlavor) -> &'static str {
    FLAVORS
        .iter()
        .find(|(_, f, _)| *f == nc)
        .map_or("openbsd", |(n, _, _)| n)
}

/// Where a command typed into a terminal cannot be parsed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandError {
    pub message: String,
    pub line: usize,
    pub column: usize,
    /// The message, the source line and a caret under the offending token.
    pub rendered: String,
}

/// Checks a command line as bash would parse it, before it is typed.
pub fn check_command(text: &str) -> Result<(), CommandError> {
    if text.len() > MAX_SCRIPT_BYTES {
        return Err(CommandError {
            message: format!(
                "the command is too long ({} bytes; the limit is {MAX_SCRIPT_BYTES})",
                text.len()
            ),
            line: 1,
            column: 1,
            rendered: String::new(),
        });
    }
    syntax::parse(text).map(drop).map_err(|e| CommandError {
        rendered: e.render(text),
        message: e.message.clone(),
        line: e.line,
        column: e.column,
    })
}

/// A run the page steps through, with what is known of its whole future.
#[derive(Debug)]
pub struct Core {
    session: Session,
    lesson: Option<Lesson>,
    /// The last position the run reaches (without more typing).
    end: u64,
    /// Every event of the run up to `end`.
    trace: Vec<Event>,
    /// Where "Next key event" stops, ascending: the positions whose step holds
    /// a key moment, but a loop's repeated turns only once (`narrate::key_stops`).
    key_positions: Vec<u64>,
    /// For each process, the indexes in `trace` of its events that print a line,
    /// ascending: the trace panel's filter finds a process's lines anywhere in
    /// the run without walking the whole trace.
    lines_by_pid: VecMap<Pid, Vec<usize>>,
}

/// A snapshot as the page receives it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotOut<'a> {
    schema_version: u32,
    /// The position: steps run so far.
    position: u64,
    end: u64,
    #[serde(flatten)]
    snapshot: &'a Snapshot,
}

/// A trace event as the page receives it: the simulator's event (tagged by
/// `type`), the `strace -f` line if it has one, and whether it is a key moment.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventOut<'a> {
    #[serde(flatten)]
    event: &'a Event,
    line: Option<String>,
    key: bool,
}

impl<'a> EventOut<'a> {
    fn new(event: &'a Event) -> EventOut<'a> {
        EventOut {
            event,
            line: event.strace_line(),
            key: narrate::is_key(event),
        }
    }
}

/// A process's trace lines around a position ([`Core::lines_of`]).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinesOfOut<'a> {
    events: Vec<EventOut<'a>>,
    /// The position of the process's nearest line before these, if there is one.
    earlier: Option<u64>,
    /// The position of its nearest line after these, if there is one.
    later: Option<u64>,
}

/// Whether `strace -f` prints a line for an event (as [`Event::strace_line`]
/// does, without formatting it).
fn prints_a_line(e: &Event) -> bool {
    matches!(
        e.kind,
        EventKind::Syscall { .. }
            | EventKind::Blocked { .. }
            | EventKind::Signal { .. }
            | EventKind::Exit { .. }
    )
}

/// The pipes, FIFOs and sockets an event touches, named as the trace names them
/// (the page's layout keys: `pipe:[3]`, `socket:[2]`, a FIFO's path in /tmp;
/// `layoutRun` in www/model.js picks the same ones: change both together).
fn object_keys(e: &Event) -> Vec<String> {
    match &e.kind {
        EventKind::Syscall {
            object: Some(o), ..
        } if o.starts_with("pipe:[") || o.starts_with("socket:[") || o.starts_with("/tmp/") => {
            vec![o.to_string()]
        }
        EventKind::Blocked { on, .. } => on
            .iter()
            .filter_map(|k| match k {
                WaitKey::Pipe(p) => Some(format!("pipe:[{}]", p.0)),
                WaitKey::Socket(s) => Some(format!("socket:[{}]", s.0)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// What the page needs to know about a run as a whole.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InfoOut<'a> {
    schema_version: u32,
    lesson: Option<&'a str>,
    nc: &'static str,
    seed: u64,
    terminals: Vec<TerminalOut>,
    end: u64,
    key_positions: &'a [u64],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminalOut {
    label: String,
    script: String,
}

impl Core {
    pub fn from_lesson(name: &str, nc: &str) -> Result<Core, String> {
        let nc = parse_flavor(nc)?;
        let lesson = lessons::lesson(name, nc).ok_or_else(|| {
            format!(
                "there is no lesson {name:?}; the lessons are {}",
                lessons::NAMES.join(", ")
            )
        })?;
        let session = lesson.session(nc, 0);
        Ok(Core::start(session, Some(lesson)))
    }

    /// A sandbox: one script per terminal (empty for a bare prompt).
    pub fn from_scripts(scripts: Vec<String>, nc: &str, seed: u64) -> Result<Core, String> {
        let nc = parse_flavor(nc)?;
        if scripts.is_empty() || scripts.len() > MAX_TERMINALS {
            return Err(format!(
                "a sandbox has 1 to {MAX_TERMINALS} terminals, not {}",
                scripts.len()
            ));
        }
        for (i, s) in scripts.iter().enumerate() {
            check_command(s).map_err(|e| {
                format!(
                    "terminal {}'s script does not parse: {}",
                    i + 1,
                    if e.rendered.is_empty() {
                        e.message
                    } else {
                        e.rendered
                    }
                )
            })?;
        }
        let config = RunConfig {
            terminals: scripts,
            nc,
            seed,
            until_ms: SANDBOX_UNTIL_MS,
        };
        Ok(Core::start(
            Session::new(config, TerminalMode::Interactive),
            None,
        ))
    }

    fn start(session: Session, lesson: Option<Lesson>) -> Core {
        let mut core = Core {
            session,
            lesson,
            end: 0,
            trace: Vec::new(),
            key_positions: Vec::new(),
            lines_by_pid: VecMap::new(),
        };
        core.explore();
        core
    }

    /// Runs ahead to learn the run's end and whole trace, then comes back.
    fn explore(&mut self) {
        let at = self.session.step();
        self.session.run(MAX_RUN_STEPS);
        self.end = self.session.step();
        self.trace = self.session.trace();
        self.key_positions = narrate::key_stops(&self.trace);
        self.lines_by_pid = VecMap::new();
        for (i, e) in self.trace.iter().enumerate() {
            if let Some(pid) = e.pid
                && prints_a_line(e)
            {
                self.lines_by_pid.get_or_insert_with(pid, Vec::new).push(i);
            }
        }
        self.session.seek(at);
    }

    pub fn position(&self) -> u64 {
        self.session.step()
    }

    pub fn end(&self) -> u64 {
        self.end
    }

    pub fn seek(&mut self, n: u64) {
        self.session.seek(n.min(self.end));
    }

    pub fn forward(&mut self) {
        if self.position() < self.end {
            self.session.step_forward();
        }
    }

    pub fn back(&mut self) {
        self.session.step_back();
    }

    /// The next position after this one with a key moment, or the end.
    pub fn next_key(&self) -> u64 {
        let p = self.position();
        self.key_positions
            .iter()
            .copied()
            .find(|k| *k > p)
            .unwrap_or(self.end)
    }

    /// The last position before this one with a key moment, or 0.
    pub fn prev_key(&self) -> u64 {
        let p = self.position();
        self.key_positions
            .iter()
            .copied()
            .rev()
            .find(|k| *k < p)
            .unwrap_or(0)
    }

    pub fn snapshot(&self) -> Snapshot {
        self.session.snapshot()
    }

    /// Events of positions `from..=to` of the whole known run.
    pub fn events(&self, from: u64, to: u64) -> Vec<EventOut<'_>> {
        // The trace is in step order: the position `p` is made by step `p - 1`.
        let start = self.trace.partition_point(|e| e.step + 1 < from);
        let end = self.trace.partition_point(|e| e.step < to);
        self.trace[start..end.max(start)]
            .iter()
            .map(EventOut::new)
            .collect()
    }

    /// The trace lines of process `pid` nearest position `at`, from anywhere in
    /// the run: at most `before` of positions up to `at` and `after` past it
    /// (each at most [`MAX_LINES_AROUND`]), with where its nearest lines left
    /// out are. A process with no lines gets none.
    pub fn lines_of(&self, pid: Pid, at: u64, before: usize, after: usize) -> LinesOfOut<'_> {
        let lines = self.lines_by_pid.get(&pid).map_or(&[][..], Vec::as_slice);
        let event = |i: usize| &self.trace[i];
        // Position `p` is made by step `p - 1`: lines up to `at` are of steps below it.
        let split = lines.partition_point(|&i| event(i).step < at);
        let first = split.saturating_sub(before.min(MAX_LINES_AROUND));
        let last = lines.len().min(split + after.min(MAX_LINES_AROUND));
        LinesOfOut {
            events: lines[first..last]
                .iter()
                .map(|&i| EventOut::new(event(i)))
                .collect(),
            earlier: first.checked_sub(1).map(|k| event(lines[k]).step + 1),
            later: lines.get(last).map(|&i| event(i).step + 1),
        }
    }

    /// What the page's layout needs of the whole run, without the trace lines:
    /// every spawn, exit and TCP state change, and of the events that touch a
    /// pipe, FIFO or socket only the first and the last for each (the layout
    /// gives an object a cell for that span). A 200,000-step loop is a handful.
    pub fn outline(&self) -> Vec<EventOut<'_>> {
        let mut last = VecMap::new();
        for (i, e) in self.trace.iter().enumerate() {
            for key in object_keys(e) {
                last.insert(key, i);
            }
        }
        let mut seen = VecSet::new();
        let mut out = Vec::new();
        for (i, e) in self.trace.iter().enumerate() {
            let keep = match e.kind {
                EventKind::Spawn { .. } | EventKind::Exit { .. } | EventKind::TcpState { .. } => {
                    true
                }
                _ => {
                    let mut keep = false;
                    for key in object_keys(e) {
                        keep |= last.get(&key) == Some(&i);
                        keep |= seen.insert(key);
                    }
                    keep
                }
            };
            if keep {
                out.push(EventOut {
                    event: e,
                    line: None,
                    key: narrate::is_key(e),
                });
            }
        }
        out
    }

    /// The current position told in words.
    pub fn narration(&self) -> narrate::Narration {
        let p = self.position();
        if p == 0 {
            return narrate::Narration {
                step: 0,
                text: "The start: every terminal has a shell, nothing has run yet.".into(),
                man: None,
                key: false,
            };
        }
        let events: Vec<Event> = self.session.events(p - 1, p);
        let snap = self.session.snapshot();
        narrate::narrate(p, &events, Some(&snap))
    }

    pub fn goals(&self) -> Vec<lessons::GoalStatus> {
        match &self.lesson {
            Some(l) => l.check(
                &self.session.snapshot(),
                &self.session.world().kernel().trace,
            ),
            None => Vec::new(),
        }
    }

    pub fn info(&self) -> InfoOut<'_> {
        let config = self.session.config();
        let labels: Vec<String> = match &self.lesson {
            Some(l) => l.terminals.iter().map(|t| t.label.to_string()).collect(),
            None => (1..=config.terminals.len())
                .map(|i| format!("terminal {i}"))
                .collect(),
        };
        InfoOut {
            schema_version: SCHEMA_VERSION,
            lesson: self.lesson.as_ref().map(|l| l.name),
            nc: flavor_name(config.nc),
            seed: config.seed,
            terminals: labels
                .into_iter()
                .zip(&config.terminals)
                .map(|(label, script)| TerminalOut {
                    label,
                    script: script.clone(),
                })
                .collect(),
            end: self.end,
            key_positions: &self.key_positions,
        }
    }

    /// Types a line into `terminal` at the current position; the run's future is
    /// explored again. A command line for the shell must parse (a line for a
    /// program, such as `nc`, is data and goes as it is).
    pub fn type_line(&mut self, terminal: u32, text: &str) -> Result<(), String> {
        if self.session.takes_command(terminal) {
            check_command(text).map_err(|e| {
                if e.rendered.is_empty() {
                    e.message
                } else {
                    e.rendered
                }
            })?;
        }
        let mut line = text.to_string();
        line.push('\n');
        self.input(terminal, InputKind::Text { text: line })
    }

    pub fn input(&mut self, terminal: u32, kind: InputKind) -> Result<(), String> {
        self.session
            .input(terminal, kind)
            .map_err(|e| e.to_string())?;
        self.explore();
        Ok(())
    }

    pub fn key_positions(&self) -> &[u64] {
        &self.key_positions
    }

    pub fn session(&self) -> &Session {
        &self.session
    }
}

/// Serializes as plain JSON-compatible JS values (maps as objects).
fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&format!("cannot convert for JS: {e}")))
}

fn err(message: String) -> JsError {
    JsError::new(&message)
}

/// The page's handle on one run.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Playground {
    core: Core,
}

#[wasm_bindgen]
impl Playground {
    /// A lesson (`naive-pipe`, ...) with the nc flavor named.
    #[wasm_bindgen(js_name = fromLesson)]
    pub fn from_lesson(name: &str, nc: &str) -> Result<Playground, JsError> {
        Core::from_lesson(name, nc)
            .map(|core| Playground { core })
            .map_err(err)
    }

    /// A sandbox: one script per terminal; `seed` is a whole number below 2^53.
    #[wasm_bindgen(js_name = fromScripts)]
    pub fn from_scripts(scripts: Vec<String>, nc: &str, seed: f64) -> Result<Playground, JsError> {
        if !(seed.is_finite() && seed >= 0.0 && seed.fract() == 0.0 && seed < 9.0e15) {
            // Not echoed: printing a float would bring float formatting into the wasm.
            return Err(err(
                "the seed must be a whole number from 0 to 2^53".to_string()
            ));
        }
        Core::from_scripts(scripts, nc, seed as u64)
            .map(|core| Playground { core })
            .map_err(err)
    }

    /// Steps run so far.
    pub fn position(&self) -> f64 {
        self.core.position() as f64
    }

    /// The last position of the run as known.
    pub fn end(&self) -> f64 {
        self.core.end() as f64
    }

    /// Goes to position `n` (clamped to `0..=end`).
    pub fn seek(&mut self, n: f64) -> Result<(), JsError> {
        let n = position_arg(n)?;
        self.core.seek(n);
        Ok(())
    }

    pub fn forward(&mut self) {
        self.core.forward();
    }

    pub fn back(&mut self) {
        self.core.back();
    }

    /// The next key position (or the end): where "Next key event" goes.
    #[wasm_bindgen(js_name = nextKey)]
    pub fn next_key(&self) -> f64 {
        self.core.next_key() as f64
    }

    #[wasm_bindgen(js_name = prevKey)]
    pub fn prev_key(&self) -> f64 {
        self.core.prev_key() as f64
    }

    /// The world now: `{schemaVersion, position, end, step, timeUs, processes,
    /// pipes, sockets, terminals}`.
    pub fn snapshot(&self) -> Result<JsValue, JsError> {
        let snapshot = self.core.snapshot();
        to_js(&SnapshotOut {
            schema_version: SCHEMA_VERSION,
            position: self.core.position(),
            end: self.core.end(),
            snapshot: &snapshot,
        })
    }

    /// Events of positions `from..=to`, each `{step, timeUs, pid, type, ..., line, key}`.
    pub fn events(&self, from: f64, to: f64) -> Result<JsValue, JsError> {
        let (from, to) = (position_arg(from)?, position_arg(to)?);
        to_js(&self.core.events(from, to))
    }

    /// `{events, earlier, later}`: process `pid`'s trace lines nearest position
    /// `at`, from the whole run (at most `before` up to it and `after` past it),
    /// and the positions of its nearest lines left out (or `null`).
    #[wasm_bindgen(js_name = linesOf)]
    pub fn lines_of(&self, pid: u32, at: f64, before: u32, after: u32) -> Result<JsValue, JsError> {
        let at = position_arg(at)?;
        to_js(&self.core.lines_of(pid, at, before as usize, after as usize))
    }

    /// The events the page's layout needs from the whole run (every spawn, exit
    /// and TCP state change; the first and last touch of each pipe, FIFO and
    /// socket), without trace lines: cheap even for the longest run.
    pub fn outline(&self) -> Result<JsValue, JsError> {
        to_js(&self.core.outline())
    }

    /// `{step, text, man, key}` for the current position.
    pub fn narration(&self) -> Result<JsValue, JsError> {
        to_js(&self.core.narration())
    }

    /// `[{text, met}]`: the lesson's goals against the current snapshot.
    pub fn goals(&self) -> Result<JsValue, JsError> {
        to_js(&self.core.goals())
    }

    /// `{schemaVersion, lesson, nc, seed, terminals: [{label, script}], end, keyPositions}`.
    pub fn info(&self) -> Result<JsValue, JsError> {
        to_js(&self.core.info())
    }

    /// Types `text` and Enter into terminal `terminal` now, if it parses.
    #[wasm_bindgen(js_name = typeLine)]
    pub fn type_line(&mut self, terminal: u32, text: &str) -> Result<(), JsError> {
        self.core.type_line(terminal, text).map_err(err)
    }

    /// Ctrl-C in terminal `terminal`.
    pub fn interrupt(&mut self, terminal: u32) -> Result<(), JsError> {
        self.core.input(terminal, InputKind::Interrupt).map_err(err)
    }

    /// Ctrl-D in terminal `terminal`.
    pub fn eof(&mut self, terminal: u32) -> Result<(), JsError> {
        self.core.input(terminal, InputKind::Eof).map_err(err)
    }

    /// Ctrl-Z in terminal `terminal`.
    pub fn suspend(&mut self, terminal: u32) -> Result<(), JsError> {
        self.core.input(terminal, InputKind::Suspend).map_err(err)
    }
}

fn position_arg(n: f64) -> Result<u64, JsError> {
    if n.is_finite() && n >= 0.0 {
        Ok(n.min(u64::MAX as f64 / 2.0) as u64)
    } else {
        // Said in words: printing the float would bring float formatting into the wasm.
        let what = if n.is_nan() {
            "NaN"
        } else if n.is_infinite() {
            "infinite"
        } else {
            "negative"
        };
        Err(err(format!("a position is a number ≥ 0, not {what}")))
    }
}

/// `null`, or `{message, line, column, rendered}` when `text` does not parse.
#[wasm_bindgen(js_name = checkCommand)]
pub fn check_command_js(text: &str) -> Result<JsValue, JsError> {
    match check_command(text) {
        Ok(()) => Ok(JsValue::NULL),
        Err(e) => to_js(&e),
    }
}

/// Every lesson as it reads for `nc`: `[{name, title, intro, terminals, presets,
/// untilMs, goals}]`.
#[wasm_bindgen]
pub fn lessons(nc: &str) -> Result<JsValue, JsError> {
    let nc = parse_flavor(nc).map_err(err)?;
    to_js(&lessons::all(nc))
}

/// `[{name, line}]`: the nc flavors and what each is, in one line.
#[wasm_bindgen]
pub fn flavors() -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    struct Flavor {
        name: &'static str,
        line: &'static str,
    }
    let list: Vec<Flavor> = FLAVORS
        .iter()
        .map(|(name, _, line)| Flavor { name, line })
        .collect();
    to_js(&list)
}

#[wasm_bindgen(js_name = schemaVersion)]
pub fn schema_version() -> u32 {
    SCHEMA_VERSION
}

/// The version of the simulator the page runs, for its footer and bug reports.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Runs `steps` steps of a fresh lesson run and returns how many ran: what the
/// benchmark times in wasm.
#[wasm_bindgen(js_name = benchSteps)]
pub fn bench_steps(scripts: Vec<String>, nc: &str, steps: f64) -> Result<f64, JsError> {
    let nc = parse_flavor(nc).map_err(err)?;
    let mut s = Session::new(
        RunConfig {
            terminals: scripts,
            nc,
            seed: 0,
            until_ms: 3_600_000,
        },
        TerminalMode::Interactive,
    );
    let start = s.step();
    s.run(position_arg(steps)?);
    Ok((s.step() - start) as f64)
}

#[cfg(test)]
mod golden;

// Under wasm these run in Node through `wasm-bindgen-test-runner`
// (`cargo xtask test wasm`); natively they are ordinary tests.
#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test;

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn version_is_the_crate_version() {
        let version = super::version();
        assert_eq!(version, env!("CARGO_PKG_VERSION"));
        let parts: Vec<&str> = version.split('.').collect();
        assert_eq!(parts.len(), 3, "not MAJOR.MINOR.PATCH: {version}");
        assert!(
            parts.iter().all(|part| part.parse::<u32>().is_ok()),
            "{version}"
        );
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn every_lesson_gives_the_trace_recorded_natively() {
        let now = golden::compute();
        assert_eq!(
            now.len(),
            lessons::NAMES.len() * 4,
            "every lesson in 4 flavors"
        );
        #[cfg(not(target_arch = "wasm32"))]
        if std::env::var_os("PIPELAB_BLESS").is_some() {
            golden::bless(&now);
            return;
        }
        let golden = golden::parse(golden::GOLDEN);
        for (key, hash) in &now {
            let want = golden
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, h)| h.as_str());
            assert_eq!(
                want,
                Some(hash.as_str()),
                "trace of {key} differs from crates/web/src/golden.txt \
                 (regenerate natively: PIPELAB_BLESS=1 cargo test -p pipelab-web)"
            );
        }
    }

    /// What the layout reads of a list of events: spawns and exits, TCP state
    /// changes, and the first and last position of each object.
    fn layout_facts(events: &[EventOut<'_>]) -> (Vec<String>, Vec<(String, u64, u64)>) {
        let mut lives = Vec::new();
        let mut spans: Vec<(String, u64, u64)> = Vec::new();
        for e in events {
            match e.event.kind {
                EventKind::Spawn { .. } | EventKind::Exit { .. } | EventKind::TcpState { .. } => {
                    lives.push(format!("{} {:?}", e.event.step, e.event.kind))
                }
                _ => {}
            }
            for key in object_keys(e.event) {
                match spans.iter_mut().find(|(k, ..)| *k == key) {
                    Some(span) => span.2 = e.event.step,
                    None => spans.push((key, e.event.step, e.event.step)),
                }
            }
        }
        (lives, spans)
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn the_outline_tells_the_layout_what_the_whole_trace_does() {
        for name in ["fifo-once", "concurrency", "chunks"] {
            let c = Core::from_lesson(name, "openbsd").unwrap();
            let (all, outline) = (c.events(0, c.end()), c.outline());
            assert_eq!(layout_facts(&outline), layout_facts(&all), "{name}");
            assert!(outline.len() < all.len(), "{name}: the outline is shorter");
        }
        // An endless loop: the longest run a page can get, outlined in a few events.
        let c =
            Core::from_scripts(vec!["while true; do echo x; done".into()], "openbsd", 0).unwrap();
        assert!(
            c.end() >= MAX_RUN_STEPS,
            "the run goes on to the step bound"
        );
        assert!(c.outline().len() < 20, "{} events", c.outline().len());
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn events_of_a_window_are_those_of_its_positions() {
        let c = Core::from_lesson("fifo-once", "openbsd").unwrap();
        let window = c.events(40, 60);
        assert!(!window.is_empty());
        assert!(window.iter().all(|e| (39..60).contains(&e.event.step)));
        let all = c.events(0, c.end());
        let inside = all
            .iter()
            .filter(|e| (39..60).contains(&e.event.step))
            .count();
        assert_eq!(window.len(), inside);
        assert!(c.events(c.end() + 1, c.end() + 5).is_empty());
    }

    /// A process's lines as the whole trace has them: `(position, line)`.
    fn lines_in_trace(c: &Core, pid: Pid) -> Vec<(u64, String)> {
        c.events(0, c.end())
            .into_iter()
            .filter(|e| e.event.pid == Some(pid))
            .filter_map(|e| Some((e.event.step + 1, e.line?)))
            .collect()
    }

    fn shown(out: &LinesOfOut<'_>) -> Vec<(u64, String)> {
        out.events
            .iter()
            .map(|e| (e.event.step + 1, e.line.clone().unwrap_or_default()))
            .collect()
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_process_s_lines_are_its_nearest_to_the_position_and_say_what_is_left_out() {
        let c = Core::from_lesson("fifo-once", "openbsd").unwrap();
        let pids: Vec<Pid> = c
            .outline()
            .iter()
            .filter(|e| matches!(e.event.kind, EventKind::Spawn { .. }))
            .filter_map(|e| e.event.pid)
            .collect();
        assert!(pids.len() >= 3, "{pids:?}");
        for pid in pids {
            let all = lines_in_trace(&c, pid);
            assert!(!all.is_empty(), "pid {pid} has lines");
            // Both ends, the middle, and past the end.
            for at in [0, 1, c.end() / 3, c.end() / 2, c.end(), c.end() + 10] {
                let out = c.lines_of(pid, at, 3, 4);
                let up_to = all.iter().filter(|(p, _)| *p <= at).count();
                let (first, last) = (up_to.saturating_sub(3), all.len().min(up_to + 4));
                assert_eq!(shown(&out), all[first..last], "pid {pid} at {at}");
                let earlier = first.checked_sub(1).map(|k| all[k].0);
                assert_eq!(out.earlier, earlier, "pid {pid} at {at}");
                assert_eq!(out.later, all.get(last).map(|l| l.0), "pid {pid} at {at}");
            }
            // At the start nothing is earlier; at the end nothing is later.
            assert_eq!(c.lines_of(pid, 0, 3, 4).earlier, None);
            assert_eq!(c.lines_of(pid, c.end(), 3, 4).later, None);
        }
        // A pid with no events: no lines, nothing left out.
        let none = c.lines_of(9999, c.end() / 2, 10, 10);
        assert!(none.events.is_empty());
        assert_eq!((none.earlier, none.later), (None, None));
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_quiet_process_s_lines_are_found_however_far_from_the_position() {
        let c = Core::from_scripts(
            vec!["while true; do echo x; done".into(), "echo quiet".into()],
            "openbsd",
            0,
        )
        .unwrap();
        assert!(c.end() >= MAX_RUN_STEPS);
        let pid_of = |text: &str| {
            c.events(0, c.end())
                .into_iter()
                .find(|e| e.line.as_deref().is_some_and(|l| l.contains(text)))
                .and_then(|e| e.event.pid)
                .unwrap()
        };
        let (busy, quiet) = (pid_of("\"x\\n\""), pid_of("\"quiet\\n\""));
        assert_ne!(busy, quiet);
        // At the end of the run, the quiet shell's lines are all far from it.
        let out = c.lines_of(quiet, c.end(), 1500, 1500);
        assert!(shown(&out).iter().any(|(_, l)| l.contains("quiet")));
        assert!(out.events.iter().all(|e| e.event.step + 1 < c.end() - 3000));
        assert_eq!((out.earlier, out.later), (None, None));
        // The busy loop's lines are bounded, and what is left out is said.
        let middle = c.end() / 2;
        let out = c.lines_of(busy, middle, 1500, 1500);
        assert_eq!(out.events.len(), 3000);
        let positions: Vec<u64> = shown(&out).iter().map(|l| l.0).collect();
        assert!(positions.first() < Some(&middle) && positions.last() > Some(&middle));
        assert!(out.earlier.is_some_and(|p| p <= positions[0]));
        assert!(out.later.is_some_and(|p| p >= positions[2999]));
        let most = c.lines_of(busy, middle, usize::MAX, usize::MAX);
        assert_eq!(most.events.len(), 2 * MAX_LINES_AROUND);
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn every_lesson_stops_at_every_key_moment_but_traditional_nc_s_retries() {
        // The loop rule (narrate::key_stops) leaves the lessons as they were,
        // "Next key event" stopping at each position with a key moment, with one
        // exception: netcat-traditional retries its write into the broken pipe
        // about 8,200 times before "too many output retries", and that is one stop.
        for name in lessons::NAMES {
            for (flavor, _, _) in FLAVORS {
                let Ok(c) = Core::from_lesson(name, flavor) else {
                    continue;
                };
                let mut every: Vec<u64> = Vec::new();
                for e in c.events(0, c.end()).iter().filter(|e| e.key) {
                    if every.last() != Some(&(e.event.step + 1)) {
                        every.push(e.event.step + 1);
                    }
                }
                let stops = c.key_positions();
                if (*name, flavor) != ("second-request", "traditional") {
                    assert_eq!(stops, every, "{name} {flavor}");
                    continue;
                }
                let lines_at = |p: u64| -> Vec<String> {
                    c.events(p, p).into_iter().filter_map(|e| e.line).collect()
                };
                let dropped: Vec<u64> = every
                    .iter()
                    .copied()
                    .filter(|p| !stops.contains(p))
                    .collect();
                assert!(dropped.len() > 8000, "{} dropped", dropped.len());
                for p in &dropped {
                    let lines = lines_at(*p);
                    assert!(
                        lines
                            .iter()
                            .all(|l| l.contains("EPIPE") || l.contains("--- SIGPIPE")),
                        "{p}: {lines:?}"
                    );
                }
                assert!(stops.iter().all(|p| every.contains(p)));
                // The first EPIPE stays a stop, and the next stop is the give-up.
                let first = dropped[0] - 1;
                assert!(lines_at(first).iter().any(|l| l.contains("EPIPE")));
                let after = stops.iter().copied().find(|p| *p > first).unwrap();
                assert!(
                    lines_at(after)
                        .iter()
                        .any(|l| l.contains("too many output retries")),
                    "{after}: {:?}",
                    lines_at(after)
                );
            }
        }
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn next_key_in_an_endless_loop_jumps_past_its_repeated_turns() {
        let mut c =
            Core::from_scripts(vec!["while true; do echo x; done".into()], "openbsd", 0).unwrap();
        let outputs = c
            .events(0, 1000)
            .iter()
            .filter(|e| e.key && e.line.as_deref().is_some_and(|l| l.contains("\"x\\n\"")))
            .count();
        assert!(
            outputs > 20,
            "{outputs} key outputs in the first 1000 steps"
        );
        // The first x is a stop; the button then goes past the whole run.
        let first = c.next_key();
        c.seek(first);
        assert!(
            c.narration()
                .text
                .contains("writes 2 bytes into the terminal")
        );
        let next = c.next_key();
        assert!(next > first + 1000, "from {first} to {next}");
        assert!(c.key_positions().len() < 10, "{:?}", c.key_positions());
        c.seek(c.end());
        assert!(c.prev_key() <= first + 1000);
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(Core::from_lesson("nope", "openbsd").is_err());
        assert!(Core::from_lesson("fifo-once", "gnu").is_err());
        assert!(Core::from_scripts(vec![], "openbsd", 0).is_err());
        assert!(Core::from_scripts(vec!["echo 'unclosed".into()], "openbsd", 0).is_err());
        let mut c = Core::from_scripts(vec![String::new()], "openbsd", 0).unwrap();
        assert!(c.type_line(5, "echo hi").is_err());
        let e = c.type_line(0, "echo a |").unwrap_err();
        assert!(e.contains('^'), "the error shows where: {e}");
        c.seek(u64::MAX);
        assert_eq!(c.position(), c.end());
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_typed_command_runs_and_extends_the_run() {
        let mut c = Core::from_scripts(vec![String::new()], "openbsd", 0).unwrap();
        c.seek(c.end());
        let before = c.end();
        c.type_line(0, "echo typed").unwrap();
        assert!(c.end() > before);
        c.seek(c.end());
        assert!(c.snapshot().terminals[0].output.contains("typed\n"));
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_line_typed_to_a_program_is_data_even_where_bash_could_not_parse_it() {
        let mut c = Core::from_scripts(vec!["cat".into()], "openbsd", 0).unwrap();
        c.seek(c.end());
        // At cat, not at the shell's prompt: an open quote is just text.
        c.type_line(0, "don't (").unwrap();
        c.seek(c.end());
        assert!(
            c.snapshot().terminals[0]
                .output
                .ends_with("don't (\ndon't (\n")
        );
        c.input(0, InputKind::Interrupt).unwrap();
        c.seek(c.end());
        // Back at the prompt, the same line is a command and does not parse.
        assert!(c.type_line(0, "don't (").is_err());
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn the_textbook_key_moment_is_the_listener_killed_by_sigpipe() {
        let mut c = Core::from_lesson("second-request", "textbook").unwrap();
        let mut seen = false;
        while c.position() < c.end() {
            let k = c.next_key();
            c.seek(k);
            let n = c.narration();
            if n.text.contains("is killed by SIGPIPE") {
                assert!(n.key);
                seen = true;
                break;
            }
        }
        assert!(seen, "no narration of the death by SIGPIPE");
        let goals = c.goals();
        assert!(goals.iter().any(|g| g.met), "{goals:?}");
    }
}
