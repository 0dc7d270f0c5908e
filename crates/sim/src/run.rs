//! The run contract: what `pipelab-sim run`, the page and the conformance suite share.
//!
//! A run is a set of terminals, each a bash running one script, all started at virtual
//! time 0 in one working directory that holds `index.html` (`hello from backend\n`).
//! The terminal is the script's stdin (nobody types: reads block), stdout and stderr.

use serde::{Deserialize, Serialize};

use crate::kernel::process::ExitStatus;
use crate::kernel::{INIT_PID, Kernel, Limits};
use crate::world::{Step, World};

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

/// Where every terminal starts, and where `index.html` lives.
pub const WORKDIR: &str = "/root";

/// What `index.html` holds in every run (the conformance suite's real runs too).
pub const INDEX_HTML: &[u8] = b"hello from backend\n";

/// Builds the world a run starts from: the file system, one terminal and one
/// `bash -c SCRIPT` per script, nothing run yet.
pub fn build_world(config: &RunConfig) -> World {
    let mut kernel = Kernel::new(Limits::default());
    crate::programs::install(&mut kernel.vfs);
    kernel.write_file(&format!("{WORKDIR}/index.html"), INDEX_HTML);
    // The seed moves where ephemeral ports start, as each boot does for real.
    kernel.seed_ephemeral_ports((config.seed % 28_232) as u16);
    let mut world = World::new(kernel, crate::programs::table(config.nc), config.seed);
    for script in &config.terminals {
        let term = world.kernel_mut().add_terminal();
        // For its programs a script's terminal is the pipe the conformance runner
        // gives them: stdio is block-buffered, as there.
        world.kernel_mut().terminals[term as usize].tty = false;
        let argv = vec!["bash".to_string(), "-c".to_string(), script.clone()];
        let pid = world
            .kernel_mut()
            .spawn_session(argv.clone(), WORKDIR, term);
        world.attach_program(pid, "bash", argv);
    }
    world
}

/// The pids of the terminals' shells, in terminal order.
pub fn session_pids(world: &World) -> Vec<u32> {
    world
        .kernel()
        .procs
        .values()
        .filter(|p| p.ppid == INIT_PID && p.argv.first().map(String::as_str) == Some("bash"))
        .map(|p| p.pid)
        .collect()
}

/// Runs to the end: every terminal's script has finished, or the time limit, or the
/// step limit.
pub fn run(config: &RunConfig) -> RunReport {
    let mut world = build_world(config);
    let stopped_by = run_world(&mut world, config.until_ms);
    report(config, &world, stopped_by)
}

/// Steps `world` until every terminal is at end of file (no process holds one
/// any more: the scripts and everything they started in the background are done),
/// or a limit is hit.
pub fn run_world(world: &mut World, until_ms: u64) -> StoppedBy {
    let until = until_ms.saturating_mul(1000);
    loop {
        let done = {
            let k = world.kernel();
            (0..k.terminals.len() as u32).all(|n| !k.terminal_in_use(n))
        };
        if done {
            return StoppedBy::Finished;
        }
        match world.step(until) {
            Step::Ran(_) if world.kernel().now >= until => return StoppedBy::TimeLimit,
            Step::Ran(_) => {}
            Step::Idle => {
                // Nothing moves before the limit: the real runner waits it out.
                let mut k = world.kernel_mut();
                let t = until.max(k.now);
                k.advance_to(t);
                return StoppedBy::TimeLimit;
            }
            Step::StepLimit => return StoppedBy::StepLimit,
        }
    }
}

/// The report of a world as it stands.
pub fn report(config: &RunConfig, world: &World, stopped_by: StoppedBy) -> RunReport {
    let k = world.kernel();
    RunReport {
        terminals: config
            .terminals
            .iter()
            .zip(&k.terminals)
            .map(|(script, t)| TerminalReport {
                script: script.clone(),
                output: String::from_utf8_lossy(&t.output).into_owned(),
            })
            .collect(),
        processes: k
            .procs
            .values()
            .filter(|p| p.pid != INIT_PID)
            .map(|p| ProcessReport {
                pid: p.pid,
                argv: p.argv.clone(),
                exit: p.exit.map(|e| match e {
                    ExitStatus::Signaled(s) => ExitReport::Signal(s.name().to_string()),
                    other => ExitReport::Code(other.shell_status()),
                }),
            })
            .collect(),
        steps: k.step,
        virtual_time_ms: k.now / 1000,
        stopped_by,
    }
}
