//! The run contract: what `pipelab-sim run`, the page and the conformance suite share.
//!
//! A run is a set of terminals, each a bash running one script, all started at virtual
//! time 0 in one working directory that holds `index.html` (`hello from backend\n`).
//! The terminal is the script's stdin (nobody types: reads block), stdout and stderr.

use serde::{Deserialize, Serialize};

/// Which netcat `nc` runs as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NcFlavor {
    /// netcat-openbsd, the default `nc` on Debian and Ubuntu.
    #[default]
    Openbsd,
    /// netcat-traditional 1.10.
    Traditional,
    /// BusyBox `nc`.
    Busybox,
    /// netcat-traditional without its SIGPIPE guard: the seed article's story.
    Textbook,
}

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunConfig {
    /// One script per terminal.
    pub terminals: Vec<String>,
    pub nc: NcFlavor,
    /// Picks among the legal interleavings; 0 is the fixed default order.
    pub seed: u64,
    /// Virtual time limit.
    pub until_ms: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            terminals: Vec::new(),
            nc: NcFlavor::Openbsd,
            seed: 0,
            until_ms: 30_000,
        }
    }
}

/// What came out: the shape of `pipelab-sim run --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    pub terminals: Vec<TerminalReport>,
    pub processes: Vec<ProcessReport>,
    pub steps: u64,
    pub virtual_time_ms: u64,
    pub stopped_by: StoppedBy,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalReport {
    pub script: String,
    /// Everything written to the terminal, stdout and stderr interleaved.
    pub output: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessReport {
    pub pid: u32,
    pub argv: Vec<String>,
    /// `None` while the process is still alive when the run stops.
    pub exit: Option<ExitReport>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExitReport {
    Code(i32),
    /// The signal's name, e.g. `SIGPIPE`.
    Signal(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoppedBy {
    Finished,
    TimeLimit,
    StepLimit,
}
