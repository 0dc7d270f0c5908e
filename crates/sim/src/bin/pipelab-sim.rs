//! `pipelab-sim`: run terminals of shell scripts on the simulated kernel.
//!
//! ```text
//! pipelab-sim run [--nc openbsd|traditional|busybox|textbook] [--seed N]
//!                 [--until SECONDS] [--trace] [--json] --term 'SCRIPT' [--term ...]
//! pipelab-sim lessons
//! pipelab-sim lesson NAME [--nc FLAVOR] [--json]
//! ```

use std::io::Write;

use anyhow::{Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

use pipelab_sim::lessons;
use pipelab_sim::run::{NcFlavor, RunConfig, StoppedBy, build_world, report, run_world};

#[derive(Parser)]
#[command(
    name = "pipelab-sim",
    version,
    about = "Run shell scripts on a simulated Linux kernel and see what happens underneath",
    after_help = "Example: the seed's FIFO proxy, one request through it:\n  \
        pipelab-sim run --nc openbsd \\\n    \
        --term 'python3 -m http.server 5000 --bind 127.0.0.1' \\\n    \
        --term 'mkfifo /tmp/f; nc -l -p 6000 < /tmp/f | nc 127.0.0.1 5000 > /tmp/f' \\\n    \
        --term 'sleep 1; curl -s http://127.0.0.1:6000/'"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum Flavor {
    /// netcat-openbsd, the default nc on Debian and Ubuntu.
    Openbsd,
    /// netcat-traditional 1.10.
    Traditional,
    /// BusyBox nc.
    Busybox,
    /// netcat-traditional without its SIGPIPE guard: the seed article's story.
    Textbook,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run terminals, each a bash running one script, from virtual time 0.
    Run {
        /// Which netcat `nc` is.
        #[arg(long, value_enum, default_value = "openbsd")]
        nc: Flavor,
        /// Picks one of the legal interleavings; 0 is the fixed default order.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Virtual time limit in seconds.
        #[arg(long, default_value_t = 30.0)]
        until: f64,
        /// Print every step like `strace -f -tt` to stderr (virtual time).
        #[arg(long)]
        trace: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// A terminal's script (repeat for more terminals).
        #[arg(long = "term", value_name = "SCRIPT", required = true)]
        terms: Vec<String>,
    },
    /// List the lessons: name and title, one per line.
    Lessons,
    /// Run a lesson's scripts and tell whether each goal is met (exit 0 when all are).
    Lesson {
        /// The lesson's name, as `pipelab-sim lessons` lists it.
        name: String,
        #[arg(long, value_enum, default_value = "openbsd")]
        nc: Flavor,
        /// Print the transcripts and goals as JSON.
        #[arg(long)]
        json: bool,
    },
}

impl Flavor {
    fn nc(self) -> NcFlavor {
        match self {
            Flavor::Openbsd => NcFlavor::Openbsd,
            Flavor::Traditional => NcFlavor::Traditional,
            Flavor::Busybox => NcFlavor::Busybox,
            Flavor::Textbook => NcFlavor::Textbook,
        }
    }
}

/// Exit status: 0 done (or every goal met), 1 a lesson goal not met, 2 bad input.
fn main() -> ExitCode {
    match dispatch(Cli::parse().command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pipelab-sim: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(command: Cmd) -> Result<ExitCode> {
    match command {
        Cmd::Run {
            nc,
            seed,
            until,
            trace,
            json,
            terms,
        } => run(nc, seed, until, trace, json, terms).map(|()| ExitCode::SUCCESS),
        Cmd::Lessons => {
            for l in lessons::all(NcFlavor::Openbsd) {
                println!("{:<16} {}", l.name, l.title);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Lesson { name, nc, json } => lesson(&name, nc.nc(), json),
    }
}

/// Runs a lesson the way the page does (interactive terminals with the scripts
/// typed in) and checks its goals.
fn lesson(name: &str, nc: NcFlavor, json: bool) -> Result<ExitCode> {
    let Some(l) = lessons::lesson(name, nc) else {
        bail!(
            "no lesson named {name:?}; the lessons are: {}",
            lessons::NAMES.join(", ")
        );
    };
    let mut session = l.session(nc, 0);
    session.run(pipelab_sim::kernel::Limits::default().max_steps);
    let snapshot = session.snapshot();
    let goals = l.check(&snapshot, &session.world().kernel().trace);
    let all_met = goals.iter().all(|g| g.met);
    let mut out = std::io::stdout().lock();
    if json {
        let terminals: Vec<_> = snapshot.terminals.iter().map(|t| &t.output).collect();
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({ "lesson": l.name, "nc": nc, "terminals": terminals, "goals": goals }),
        )?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", l.title)?;
        for (spec, t) in l.terminals.iter().zip(&snapshot.terminals) {
            writeln!(out, "== {} ==", spec.label)?;
            write!(out, "{}", t.output)?;
            if !t.output.ends_with('\n') {
                writeln!(out)?;
            }
        }
        writeln!(out, "== goals ==")?;
        for g in &goals {
            writeln!(out, "[{}] {}", if g.met { "x" } else { " " }, g.text)?;
        }
    }
    Ok(if all_met {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn run(
    nc: Flavor,
    seed: u64,
    until: f64,
    trace: bool,
    json: bool,
    terms: Vec<String>,
) -> Result<()> {
    if !(until.is_finite() && until > 0.0 && until <= 86_400.0) {
        bail!("--until must be between 0 and 86400 seconds, not {until}");
    }
    let config = RunConfig {
        terminals: terms,
        nc: nc.nc(),
        seed,
        until_ms: (until * 1000.0) as u64,
    };
    let mut world = build_world(&config);
    let stopped_by = run_world(&mut world, config.until_ms);
    if trace {
        let mut err = std::io::stderr().lock();
        err.write_all(pipelab_sim::trace::strace_timed(&world.kernel().trace).as_bytes())?;
    }
    let report = report(&config, &world, stopped_by);
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        for (i, t) in report.terminals.iter().enumerate() {
            writeln!(out, "== terminal {} ==", i + 1)?;
            write!(out, "{}", t.output)?;
            if !t.output.is_empty() && !t.output.ends_with('\n') {
                writeln!(out)?;
            }
        }
        if report.stopped_by == StoppedBy::StepLimit {
            eprintln!(
                "pipelab-sim: stopped at the step limit ({} steps)",
                report.steps
            );
        }
    }
    Ok(())
}
