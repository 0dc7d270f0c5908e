//! The simulator against the real kernel's recordings: every (case, flavor) run
//! through `pipelab_conformance::simulate` must give one of the transcripts the real machine gave.

use pipelab_conformance::{compare, load_cases, simulate};

#[test]
fn simulator_matches_the_real_kernel_recordings() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in load_cases().expect("cases load") {
        for flavor in case.run_flavors() {
            let transcripts = simulate(&case, flavor, 0).expect("the case runs");
            checked += 1;
            if let Err(diff) = compare(&case, flavor, &transcripts) {
                failures.push(format!("== {} [{flavor:?}]\n{diff}", case.name));
            }
        }
    }
    assert!(checked >= 25, "only {checked} (case, flavor) pairs");
    assert!(
        failures.is_empty(),
        "{} of {checked} (case, flavor) pairs differ from the real kernel:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Where the real outcome is a race, the simulator must land on one of the
/// recorded outcomes whatever its seed, and its seeds must reach more than one.
#[test]
fn racy_cases_reach_several_recorded_outcomes_across_seeds() {
    for case in load_cases().expect("cases load") {
        if case.racy.is_none() {
            continue;
        }
        let mut most = 0;
        for flavor in case.run_flavors() {
            let recorded =
                pipelab_conformance::load_recording(&case, case.key(flavor).expect("flavor key"))
                    .expect("recording");
            let mut seen = std::collections::BTreeSet::new();
            for seed in 0..16 {
                let transcripts = simulate(&case, flavor, seed).expect("the case runs");
                if let Err(diff) = compare(&case, flavor, &transcripts) {
                    panic!("{} [{flavor:?}] seed={seed}:\n{diff}", case.name);
                }
                seen.insert(
                    transcripts
                        .iter()
                        .map(|t| pipelab_conformance::normalize(t))
                        .collect::<Vec<_>>(),
                );
            }
            eprintln!(
                "{} [{flavor:?}]: {} outcome(s) over 16 seeds, {} recorded",
                case.name,
                seen.len(),
                recorded.outcomes.len()
            );
            most = most.max(seen.len());
        }
        assert!(
            most >= 2,
            "{}: every seed gives the same outcome, but the real race has several",
            case.name
        );
    }
}
