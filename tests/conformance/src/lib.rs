//! Conformance: the same shell scenarios on the real kernel and in the simulator.
//!
//! - [`case`]: the scenarios, `cases/NAME.case`: a header and one plain shell script
//!   per terminal.
//! - [`real`]: runs a case's terminals on this machine's kernel with the real `nc`
//!   (every flavor), `curl`, `python3 -m http.server`, ... and returns transcripts.
//! - [`normalize`](mod@normalize): rewrites what is legitimately random (ephemeral ports, dates,
//!   elapsed milliseconds), and nothing else.
//! - [`recording`]: `recorded/CASE.FLAVOR.json`, every distinct normalized outcome the
//!   real kernel produced, and [`compare`], which checks a run against them.
//!
//! The simulator's side is a few lines:
//!
//! ```no_run
//! for case in pipelab_conformance::load_cases().unwrap() {
//!     for flavor in case.run_flavors() {
//!         // One transcript per terminal; an interactive case runs in a session.
//!         let transcripts = pipelab_conformance::simulate(&case, flavor, 0).unwrap();
//!         if let Err(diff) = pipelab_conformance::compare(&case, flavor, &transcripts) {
//!             panic!("{diff}");
//!         }
//!     }
//! }
//! ```

pub mod case;
pub mod normalize;
pub mod real;
pub mod recording;

use std::path::PathBuf;

use pipelab_sim::run::NcFlavor;

pub use case::{Case, FlavorKey, Flavors, Keys, Mode, Terminal, Typed};
pub use normalize::normalize;
pub use recording::{Diff, Recording};

/// `tests/conformance/cases`.
pub fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cases")
}

/// `tests/conformance/recorded`.
pub fn recorded_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("recorded")
}

/// Every case, sorted by name.
pub fn load_cases() -> anyhow::Result<Vec<Case>> {
    case::load_cases_from(&cases_dir())
}

/// The recorded outcomes of `case` for the recording `key` (a flavor or `any`).
pub fn load_recording(case: &Case, key: FlavorKey) -> anyhow::Result<Recording> {
    recording::load_recording_from(&recorded_dir(), &case.name, key)
}

/// Runs `case` in the simulator under `flavor` and `seed`: one transcript per
/// terminal. An interactive case runs in a session, as the playground does: the
/// first lines typed once the shells prompt, the later ones at their times.
pub fn simulate(case: &Case, flavor: NcFlavor, seed: u64) -> anyhow::Result<Vec<String>> {
    use pipelab_sim::session::{InputKind, Session, TerminalMode};
    let mut config = case.run_config(flavor);
    config.seed = seed;
    if case.mode == Mode::Script {
        let report = pipelab_sim::run::run(&config);
        return Ok(report.terminals.into_iter().map(|t| t.output).collect());
    }
    let mut session = Session::new(config, TerminalMode::Interactive);
    for (terminal, typed) in case.typed_later() {
        let kind = match &typed.keys {
            Keys::Text(text) => InputKind::Text { text: text.clone() },
            Keys::Interrupt => InputKind::Interrupt,
            Keys::Eof => InputKind::Eof,
            Keys::Suspend => InputKind::Suspend,
        };
        let terminal = u32::try_from(terminal)?;
        session.input_at(typed.at_ms * 1000, terminal, kind)?;
    }
    session.run(u64::MAX);
    Ok(session
        .snapshot()
        .terminals
        .into_iter()
        .map(|t| t.output)
        .collect())
}

/// Checks one run's transcripts (one per terminal, in the case's order, raw or
/// already normalized) against what the real kernel did for `case` under `flavor`.
pub fn compare(case: &Case, flavor: NcFlavor, transcripts: &[String]) -> Result<(), Diff> {
    let Some(key) = case.key(flavor) else {
        return Err(Diff::NotApplicable {
            case: case.name.clone(),
            flavor,
        });
    };
    let recording = load_recording(case, key).map_err(|e| Diff::Recording {
        case: case.name.clone(),
        message: format!("{e:#}"),
    })?;
    recording::compare_with(case, &recording, transcripts)
}
