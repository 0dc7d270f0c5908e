//! `cargo xtask test`: install what is missing, run each suite, summarize.
//!
//! A failing suite does not stop the others: the summary at the end says which
//! failed, and the exit status is non-zero if any did.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::ValueEnum;

use crate::install::{self, SystemPackage, Unavailable, WasmBindgen};
use crate::page;
use crate::process::{Workspace, run, say};

/// A test suite, in the order a full run takes them (cheapest feedback first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Suite {
    /// cargo fmt --all --check
    Fmt,
    /// cargo clippy --workspace --all-targets --all-features -- -D warnings
    Clippy,
    /// cargo doc --workspace --no-deps --document-private-items, with RUSTDOCFLAGS=-D warnings
    Doc,
    /// cargo test --workspace --all-features: unit, simulation, proxy, and conformance against the real kernel
    Cargo,
    /// build the page's wasm + bindings, then crates/web's wasm-bindgen tests under Node
    Wasm,
    /// the page in headless Chromium (node --test in tests/browser)
    Browser,
}

impl Suite {
    fn name(self) -> &'static str {
        match self {
            Suite::Fmt => "fmt",
            Suite::Clippy => "clippy",
            Suite::Doc => "doc",
            Suite::Cargo => "cargo",
            Suite::Wasm => "wasm",
            Suite::Browser => "browser",
        }
    }

    fn system_packages(self) -> &'static [SystemPackage] {
        match self {
            Suite::Cargo => install::REAL_PEERS,
            Suite::Browser => install::BROWSER,
            Suite::Fmt | Suite::Clippy | Suite::Doc | Suite::Wasm => &[],
        }
    }

    fn needs_wasm_tools(self) -> bool {
        matches!(self, Suite::Wasm | Suite::Browser)
    }
}

enum Outcome {
    Passed,
    Failed(String),
    Skipped(String),
}

/// What the install step found or installed, for the suites to use.
struct Prepared {
    wasm_bindgen: Option<WasmBindgen>,
    /// Suites whose prerequisites this machine cannot install, with the reason.
    unavailable: BTreeMap<Suite, String>,
}

pub fn test(ws: &Workspace, requested: &[Suite]) -> Result<()> {
    let is_subset = !requested.is_empty();
    let mut suites: Vec<Suite> = if is_subset {
        requested.to_vec()
    } else {
        Suite::value_variants().to_vec()
    };
    suites.sort_unstable();
    suites.dedup();
    let names: Vec<&str> = suites.iter().map(|suite| suite.name()).collect();
    say!("suites: {}", names.join(", "));

    say!("── installing what is missing");
    let install_started = Instant::now();
    let prepared = prepare(ws, &suites)?;
    if !prepared.unavailable.is_empty() {
        let reasons: Vec<String> = prepared
            .unavailable
            .iter()
            .map(|(suite, reason)| format!("  {}: {reason}", suite.name()))
            .collect();
        if !is_subset {
            bail!(
                "this machine lacks what some suites need, and xtask cannot install it:\n{}\n\
                 Install it, or run the other suites by name (cargo xtask test --help).",
                reasons.join("\n")
            );
        }
        for reason in &reasons {
            say!("!!! SKIPPING{reason}");
        }
    }
    say!(
        "tools ready ({:.1} s)",
        install_started.elapsed().as_secs_f64()
    );

    let mut page_built: Option<Result<(), String>> = None;
    let mut results: Vec<(Suite, Outcome, Duration)> = Vec::new();
    for &suite in &suites {
        if let Some(reason) = prepared.unavailable.get(&suite) {
            results.push((suite, Outcome::Skipped(reason.clone()), Duration::ZERO));
            continue;
        }
        say!("── suite {}: {}", suite.name(), description(suite));
        let started = Instant::now();
        let result = run_suite(ws, suite, &prepared, &mut page_built);
        let outcome = match result {
            Ok(()) => Outcome::Passed,
            Err(error) => {
                say!("suite {} FAILED: {error:#}", suite.name());
                Outcome::Failed(format!("{error:#}"))
            }
        };
        results.push((suite, outcome, started.elapsed()));
    }
    summarize(&results)
}

fn description(suite: Suite) -> String {
    suite
        .to_possible_value()
        .and_then(|value| value.get_help().map(ToString::to_string))
        .unwrap_or_default()
}

fn prepare(ws: &Workspace, suites: &[Suite]) -> Result<Prepared> {
    let mut unavailable = BTreeMap::new();

    let mut wanted: Vec<SystemPackage> = suites
        .iter()
        .flat_map(|suite| suite.system_packages())
        .copied()
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    if !wanted.is_empty() {
        let result = install::ensure_system_packages(ws, &wanted);
        // Only the suites whose own packages are missing are affected.
        let affected: Vec<Suite> = suites
            .iter()
            .copied()
            .filter(|suite| {
                suite
                    .system_packages()
                    .iter()
                    .any(|package| !install::is_installed(package))
            })
            .collect();
        tolerate(result, &affected, &mut unavailable)?;
    }
    if suites.contains(&Suite::Fmt) {
        tolerate(
            install::ensure_rust_component(ws, "rustfmt", "fmt"),
            &[Suite::Fmt],
            &mut unavailable,
        )?;
    }
    if suites.contains(&Suite::Clippy) {
        tolerate(
            install::ensure_rust_component(ws, "clippy", "clippy"),
            &[Suite::Clippy],
            &mut unavailable,
        )?;
    }

    let mut wasm_bindgen = None;
    let wasm_suites: Vec<Suite> = suites
        .iter()
        .copied()
        .filter(|suite| suite.needs_wasm_tools())
        .collect();
    if !wasm_suites.is_empty() {
        tolerate(
            install::ensure_wasm_target(ws),
            &wasm_suites,
            &mut unavailable,
        )?;
        wasm_bindgen = Some(install::ensure_wasm_bindgen(ws)?);
        tolerate(
            install::ensure_node(ws).map(drop),
            &wasm_suites,
            &mut unavailable,
        )?;
        // The wasm suite only loses wasm-opt without them; the browser suite needs them.
        let npm = install::ensure_npm_packages(ws);
        let needs_npm: Vec<Suite> = wasm_suites
            .iter()
            .copied()
            .filter(|&suite| suite == Suite::Browser)
            .collect();
        if needs_npm.is_empty() {
            if let Err(error) = npm {
                say!("{error:#}; building the page without wasm-opt");
            }
        } else {
            tolerate(npm, &needs_npm, &mut unavailable)?;
        }
    }
    Ok(Prepared {
        wasm_bindgen,
        unavailable,
    })
}

/// An [`Unavailable`] prerequisite marks `affected` suites; any other error is fatal.
fn tolerate(
    result: Result<()>,
    affected: &[Suite],
    unavailable: &mut BTreeMap<Suite, String>,
) -> Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(error) if error.is::<Unavailable>() => {
            for &suite in affected {
                unavailable
                    .entry(suite)
                    .or_insert_with(|| error.to_string());
            }
            Ok(())
        }
        Err(error) => Err(error),
    }
}

fn run_suite(
    ws: &Workspace,
    suite: Suite,
    prepared: &Prepared,
    page_built: &mut Option<Result<(), String>>,
) -> Result<()> {
    match suite {
        Suite::Fmt => run(&mut ws.cargo(&["fmt", "--all", "--check"])),
        Suite::Clippy => run(&mut ws.cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            // The `cli` feature of pipelab-sim builds its command and its tests.
            "--all-features",
            "--",
            "-D",
            "warnings",
        ])),
        // Private items too: the docs are for people working on the code.
        Suite::Doc => run(ws
            .cargo(&[
                "doc",
                "--workspace",
                "--no-deps",
                "--document-private-items",
            ])
            .env("RUSTDOCFLAGS", "-D warnings")),
        Suite::Cargo => {
            say!(
                "cargo test --workspace (PIPELAB_CONFORMANCE_LIVE=1: conformance runs the real programs too)"
            );
            run(ws
                .cargo(&["test", "--workspace", "--all-features"])
                .env("PIPELAB_CONFORMANCE_LIVE", "1"))
        }
        Suite::Wasm => {
            let wasm_bindgen = built_page(ws, prepared, page_built)?;
            say!(
                "cargo test -p pipelab-web --target {} (wasm-bindgen-test-runner, in Node)",
                install::WASM_TARGET
            );
            run(ws
                .cargo(&[
                    "test",
                    "-p",
                    "pipelab-web",
                    "--target",
                    install::WASM_TARGET,
                ])
                .env(
                    "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                    &wasm_bindgen.test_runner,
                ))
        }
        Suite::Browser => {
            built_page(ws, prepared, page_built)?;
            let node = install::ensure_node(ws)?;
            say!(
                "node --test in tests/browser (headless Chromium; screenshots in target/browser-artifacts)"
            );
            run(ws
                .command(node)
                .current_dir(install::npm_project(ws))
                .args(["--test", "--test-reporter=spec"])
                // The tests serve the site with this very binary (`serve --no-build`).
                .env("PIPELAB_XTASK", std::env::current_exe()?)
                .env("PIPELAB_SITE", page::site(ws))
                .env("PIPELAB_ARTIFACTS", ws.target_dir.join("browser-artifacts")))
        }
    }
}

/// Builds the page once per run, for whichever suite needs it first.
fn built_page<'a>(
    ws: &Workspace,
    prepared: &'a Prepared,
    page_built: &mut Option<Result<(), String>>,
) -> Result<&'a WasmBindgen> {
    let Some(wasm_bindgen) = prepared.wasm_bindgen.as_ref() else {
        bail!("wasm-bindgen-cli was not prepared");
    };
    let built = page_built.get_or_insert_with(|| {
        page::build(ws, wasm_bindgen, install::npm_wasm_opt(ws).as_deref())
            .map_err(|error| format!("{error:#}"))
    });
    match built {
        Ok(()) => Ok(wasm_bindgen),
        Err(error) => bail!("the page did not build: {error}"),
    }
}

fn summarize(results: &[(Suite, Outcome, Duration)]) -> Result<()> {
    say!("── summary");
    let (mut passed, mut failed, mut skipped) = (0, Vec::new(), 0);
    for (suite, outcome, took) in results {
        let seconds = took.as_secs_f64();
        match outcome {
            Outcome::Passed => {
                passed += 1;
                say!("  {:<8} passed   {seconds:>6.1} s", suite.name());
            }
            Outcome::Failed(error) => {
                failed.push(suite.name());
                let first_line = error.lines().next().unwrap_or_default();
                say!(
                    "  {:<8} FAILED   {seconds:>6.1} s  {first_line}",
                    suite.name()
                );
            }
            Outcome::Skipped(reason) => {
                skipped += 1;
                say!("  {:<8} SKIPPED           {reason}", suite.name());
            }
        }
    }
    // A plain closing line that CI reads as the run's count.
    let skipped_note = if skipped > 0 {
        format!(", {skipped} skipped")
    } else {
        String::new()
    };
    println!(
        "xtask: {passed} passed, {} failed{skipped_note}",
        failed.len()
    );
    if !failed.is_empty() {
        bail!("these suites failed: {}", failed.join(", "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_prerequisite_marks_only_the_affected_suites() {
        let mut unavailable = BTreeMap::new();
        let missing = Err(Unavailable("no chromium".to_string()).into());
        tolerate(missing, &[Suite::Browser], &mut unavailable).unwrap();
        assert_eq!(
            unavailable.keys().copied().collect::<Vec<_>>(),
            [Suite::Browser]
        );
        assert_eq!(unavailable[&Suite::Browser], "no chromium");
    }

    #[test]
    fn any_other_failure_to_prepare_stops_the_run() {
        let mut unavailable = BTreeMap::new();
        let failed = Err(anyhow::anyhow!("cargo install failed"));
        assert!(tolerate(failed, &[Suite::Wasm], &mut unavailable).is_err());
        assert!(unavailable.is_empty());
    }

    #[test]
    fn a_full_run_takes_the_suites_in_the_documented_order() {
        let names: Vec<&str> = Suite::value_variants()
            .iter()
            .map(|suite| suite.name())
            .collect();
        assert_eq!(names, ["fmt", "clippy", "doc", "cargo", "wasm", "browser"]);
    }
}
