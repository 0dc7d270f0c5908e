//! `record`: run cases on the real kernel and write `recorded/CASE.FLAVOR.json`.
//!
//! ```text
//! cargo run -p pipelab-conformance --bin record -- [CASE...] [--flavor F] [--runs N]
//! ```
//!
//! Each selected (case, flavor) runs N times (3 by default; a case marked `racy` runs
//! 3×N times, to catch its rarer outcomes); the normalized transcripts are grouped
//! into distinct outcomes with how often each appeared. `--merge` adds the new runs to
//! an existing recording made from the same scripts instead of replacing it.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use clap::Parser;
use pipelab_conformance::case::{FlavorKey, flavor_name, parse_flavor};
use pipelab_conformance::real::{Runner, default_jobs, parallel_map};
use pipelab_conformance::recording::{Recording, load_recording_from, recording_path};
use pipelab_conformance::{Case, load_cases, normalize, recorded_dir};
use pipelab_sim::run::NcFlavor;

#[derive(Debug, Parser)]
#[command(about = "Run conformance cases on the real kernel and record their transcripts")]
struct Args {
    /// Case names (file stems under cases/); all cases if none.
    cases: Vec<String>,
    /// Only this nc flavor (openbsd, traditional, busybox, textbook).
    #[arg(long)]
    flavor: Option<String>,
    /// Real runs per (case, flavor); racy cases run three times as many.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Runs in flight at once (default: 6 with network namespaces, else 1).
    #[arg(long)]
    jobs: Option<usize>,
    /// Add to the existing recording (same scripts) instead of replacing it.
    #[arg(long)]
    merge: bool,
}

/// The normalized transcripts of every run of one (case, recording key).
type Runs<'a> = (&'a Case, FlavorKey, Vec<Vec<String>>);

struct Job<'a> {
    case: &'a Case,
    flavor: NcFlavor,
    key: FlavorKey,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let only_flavor = match &args.flavor {
        None => None,
        Some(name) => Some(parse_flavor(name).with_context(|| format!("unknown flavor {name}"))?),
    };
    let all = load_cases()?;
    for name in &args.cases {
        if !all.iter().any(|c| &c.name == name) {
            bail!("no case named {name} under cases/");
        }
    }
    let selected: Vec<&Case> = all
        .iter()
        .filter(|c| args.cases.is_empty() || args.cases.contains(&c.name))
        .collect();

    let mut jobs = Vec::new();
    for case in &selected {
        for flavor in case.run_flavors() {
            if only_flavor.is_some_and(|f| f != flavor && case.key(f) != case.key(flavor)) {
                continue;
            }
            let key = case.key(flavor).expect("a run flavor has a key");
            let runs = if case.racy.is_some() {
                args.runs * 3
            } else {
                args.runs
            };
            for _ in 0..runs {
                jobs.push(Job { case, flavor, key });
            }
        }
    }
    if jobs.is_empty() {
        bail!("nothing to record for that selection");
    }

    let runner = Runner::new()?;
    let parallel = args.jobs.unwrap_or_else(|| default_jobs(&runner));
    eprintln!(
        "record: {} real runs, {} at a time ({})",
        jobs.len(),
        parallel,
        if runner.isolated() {
            "one network namespace per run"
        } else {
            "no network namespaces: shared loopback, one at a time"
        }
    );
    let results = parallel_map(&jobs, parallel, |job| {
        let report = runner.run(job.case, job.flavor);
        if let Ok(r) = &report {
            eprintln!(
                "  {} [{}] {} ms {:?}",
                job.case.name,
                flavor_name(job.flavor),
                r.wall_ms,
                r.stopped_by
            );
        }
        report
    });

    let mut by_key: BTreeMap<(String, String), Runs<'_>> = BTreeMap::new();
    for (job, result) in jobs.iter().zip(results) {
        let report = result.with_context(|| format!("running {}", job.case.name))?;
        let normalized = report.transcripts().iter().map(|t| normalize(t)).collect();
        by_key
            .entry((job.case.name.clone(), job.key.to_string()))
            .or_insert_with(|| (job.case, job.key, Vec::new()))
            .2
            .push(normalized);
    }

    let dir = recorded_dir();
    std::fs::create_dir_all(&dir)?;
    for (case, key, runs) in by_key.values() {
        let mut recording = match load_recording_from(&dir, &case.name, *key) {
            Ok(old) if args.merge && old.scripts == case.scripts() => old,
            _ => Recording::from_runs(case, *key, &[]),
        };
        for run in runs {
            recording.add_run(case, run);
        }
        recording.sort_outcomes();
        let path = recording_path(&dir, &case.name, *key);
        std::fs::write(&path, recording.to_json())
            .with_context(|| format!("writing {}", path.display()))?;
        let seen: Vec<String> = recording
            .outcomes
            .iter()
            .map(|o| o.seen.to_string())
            .collect();
        let warning = if recording.outcomes.len() > 1 && case.racy.is_none() {
            "  WARNING: several outcomes but the case is not marked racy"
        } else {
            ""
        };
        println!(
            "{} [{}]: {} outcome(s) over {} runs (seen {}){}",
            case.name,
            key,
            recording.outcomes.len(),
            recording.runs,
            seen.join("/"),
            warning
        );
    }
    Ok(())
}
