//! The simulator against the real kernel's recordings: every (case, flavor) run
//! through `pipelab_sim::run` must give one of the transcripts the real machine gave.

use pipelab_conformance::{compare, load_cases};
use pipelab_sim::run::run;

#[test]
fn simulator_matches_the_real_kernel_recordings() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in load_cases().expect("cases load") {
        for flavor in case.run_flavors() {
            let report = run(&case.run_config(flavor));
            let transcripts: Vec<String> = report.terminals.into_iter().map(|t| t.output).collect();
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
