//! The real kernel still does what the recordings say.
//!
//! Runs every (case, flavor) once on this machine, with the real programs, and checks
//! that each normalized transcript is one of the recorded outcomes. Only with
//! `PIPELAB_CONFORMANCE_LIVE=1` (`cargo xtask test` sets it after installing
//! netcat-openbsd, netcat-traditional, busybox, curl, socat and gcc): it needs root
//! for network namespaces, those packages, and about a minute of wall time.

use pipelab_conformance::case::flavor_name;
use pipelab_conformance::real::{Runner, default_jobs, parallel_map};
use pipelab_conformance::{Case, compare, load_cases, load_recording};
use pipelab_sim::run::NcFlavor;

const ENV: &str = "PIPELAB_CONFORMANCE_LIVE";

/// A racy case whose run matches no recorded outcome gets this many more tries.
const RACY_RETRIES: u32 = 2;
/// Any other case gets one more try: its orderings are forced with sleeps, which a
/// machine busy with other work can still overrun (python slow to listen). A match on
/// the retry passes but is reported, so a case that keeps needing it gets looked at.
const RETRIES: u32 = 1;

#[test]
fn every_case_has_a_recording_for_each_of_its_flavors() {
    for case in load_cases().unwrap() {
        for key in case.keys() {
            let recording = load_recording(&case, key).unwrap_or_else(|e| panic!("{e:#}"));
            assert_eq!(
                recording.scripts,
                case.scripts(),
                "recorded/{}.{key}.json is stale: re-record it",
                case.name
            );
            assert!(
                !recording.outcomes.is_empty(),
                "recorded/{}.{key}.json holds no outcome",
                case.name
            );
            assert!(
                recording.outcomes.len() == 1 || case.racy.is_some(),
                "case {} [{key}] has {} recorded outcomes but is not marked `# racy:`",
                case.name,
                recording.outcomes.len()
            );
        }
    }
}

#[test]
fn real_kernel_matches_recordings() {
    if std::env::var(ENV).ok().as_deref() != Some("1") {
        eprintln!(
            "skipped: set {ENV}=1 to run every conformance case on the real kernel \
             (needs root, netcat-openbsd, netcat-traditional, busybox, curl, socat, gcc; \
             `cargo xtask test` does this)"
        );
        return;
    }
    let cases = load_cases().expect("cases load");
    let jobs: Vec<(&Case, NcFlavor)> = cases
        .iter()
        .flat_map(|case| case.run_flavors().into_iter().map(move |f| (case, f)))
        .collect();
    let runner = Runner::new().expect("the real runner prepares its nc flavors");
    let parallel = std::env::var("PIPELAB_CONFORMANCE_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| default_jobs(&runner));
    eprintln!(
        "live conformance: {} runs, {parallel} at a time{}",
        jobs.len(),
        if runner.isolated() {
            ""
        } else {
            " (no network namespaces: one at a time on the host's loopback)"
        }
    );

    let failures: Vec<String> = parallel_map(&jobs, parallel, |(case, flavor)| {
        let tries = 1 + if case.racy.is_some() {
            RACY_RETRIES
        } else {
            RETRIES
        };
        let mut last = String::new();
        for attempt in 1..=tries {
            let report = match runner.run(case, *flavor) {
                Ok(report) => report,
                Err(e) => return Some(format!("{} [{}]: {e:#}", case.name, flavor_name(*flavor))),
            };
            match compare(case, *flavor, &report.transcripts()) {
                Ok(()) => {
                    if attempt > 1 {
                        eprintln!(
                            "note: case {} [{}] matched only on try {attempt}; the first try \
                             gave an unrecorded outcome (machine too busy, or a rare outcome \
                             to record with more --runs):\n{last}",
                            case.name,
                            flavor_name(*flavor)
                        );
                    }
                    return None;
                }
                Err(diff) => last = diff.to_string(),
            }
        }
        Some(last)
    })
    .into_iter()
    .flatten()
    .collect();

    assert!(
        failures.is_empty(),
        "{} of {} real runs differ from their recordings \
         (cargo run -p pipelab-conformance --bin record -- CASE re-records one):\n\n{}",
        failures.len(),
        jobs.len(),
        failures.join("\n")
    );
}
