//! Conformance: the same shell scenarios on the real kernel and in the simulator.
//!
//! - [`case`]: the scenarios, `cases/NAME.case`: a header and one plain shell script
//!   per terminal.
//! - [`real`]: runs a case's terminals on this machine's kernel with the real `nc`
//!   (every flavor), `curl`, `python3 -m http.server`, ... and returns transcripts.
//! - [`normalize`]: rewrites what is legitimately random (ephemeral ports, dates,
//!   elapsed milliseconds), and nothing else.
//! - [`recording`]: `recorded/CASE.FLAVOR.json`, every distinct normalized outcome the
//!   real kernel produced, and [`compare`], which checks a run against them.
//!
//! The simulator's side is a few lines:
//!
//! ```no_run
//! # fn run(_: &pipelab_sim::run::RunConfig) -> Vec<String> { Vec::new() }
//! for case in pipelab_conformance::load_cases().unwrap() {
//!     for flavor in case.run_flavors() {
//!         let transcripts = run(&case.run_config(flavor)); // one String per terminal
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

pub use case::{Case, FlavorKey, Flavors, Terminal};
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
