//! Installing what the build and the tests need, only when it is missing.
//!
//! Each `ensure_*` checks first and says what it does. Something this machine cannot
//! install by itself (not root, not Debian, no npm) is an [`Unavailable`] error that
//! says how to get it, so the caller can fail, or skip a suite the user did not
//! insist on.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::lockfile::locked_version;
use crate::process::{Workspace, output, program_name, run, say, wait_for_others};

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Something the machine lacks and xtask cannot install here; the text says how.
#[derive(Debug)]
pub struct Unavailable(pub String);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unavailable {}

// ---- system packages (Debian) ----

/// A Debian package, and a binary whose presence shows it is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SystemPackage {
    pub name: &'static str,
    pub binary: &'static str,
}

const fn package(name: &'static str, binary: &'static str) -> SystemPackage {
    SystemPackage { name, binary }
}

/// The real programs the conformance suite compares the simulator with, and the
/// peers the proxy is tested against; gcc for crates that build C.
pub const REAL_PEERS: &[SystemPackage] = &[
    package("netcat-openbsd", "nc.openbsd"),
    package("netcat-traditional", "nc.traditional"),
    package("busybox", "busybox"),
    package("curl", "curl"),
    package("socat", "socat"),
    package("strace", "strace"),
    package("python3", "python3"),
    package("gcc", "gcc"),
];

/// Chromium for the browser tests; chromedriver for wasm-bindgen-test in the browser,
/// which crates/web will need once it touches the DOM.
pub const BROWSER: &[SystemPackage] = &[
    package("chromium", "chromium"),
    package("chromium-driver", "chromedriver"),
];

/// Checked by path, not `PATH`: a `python3` from pyenv is not the one Debian's
/// packages and the tests rely on.
const SYSTEM_BIN_DIRS: &[&str] = &["/usr/bin", "/bin", "/usr/sbin", "/sbin"];

pub fn is_installed(package: &SystemPackage) -> bool {
    SYSTEM_BIN_DIRS
        .iter()
        .any(|dir| Path::new(dir).join(package.binary).exists())
}

/// Installs the missing ones with apt-get as root on Debian; elsewhere an
/// [`Unavailable`] error lists them.
pub fn ensure_system_packages(ws: &Workspace, wanted: &[SystemPackage]) -> Result<()> {
    let mut missing: Vec<&str> = wanted
        .iter()
        .filter(|package| !is_installed(package))
        .map(|package| package.name)
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if missing.is_empty() {
        say!("system packages: all {} present", wanted.len());
        return Ok(());
    }
    let list = missing.join(" ");
    let is_debian =
        Path::new("/usr/bin/apt-get").exists() && Path::new("/etc/debian_version").exists();
    let is_root = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| uid_from_status(&status))
        == Some(0);
    if !is_debian {
        return Err(Unavailable(format!(
            "missing system packages: {list}. This is not Debian, so xtask cannot install \
             them: install the same programs with your system's package manager"
        ))
        .into());
    }
    if !is_root {
        return Err(Unavailable(format!(
            "missing system packages: {list}. Install them as root: \
             sudo apt-get install --no-install-recommends {list}"
        ))
        .into());
    }
    // Another apt (an unattended upgrade, an earlier install) holds the dpkg lock.
    wait_for_others("apt/dpkg", Duration::from_secs(30 * 60), is_package_manager);
    say!("installing system packages: {list} (apt-get; about a minute, once)");
    let lock_wait = "DPkg::Lock::Timeout=600";
    run(ws
        .command("apt-get")
        .args(["-o", lock_wait, "update", "-q"]))?;
    run(ws
        .command("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args([
            "-o",
            lock_wait,
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
        ])
        .args(&missing))?;
    let still_missing: Vec<&str> = wanted
        .iter()
        .filter(|package| !is_installed(package))
        .map(|package| package.binary)
        .collect();
    if !still_missing.is_empty() {
        bail!(
            "apt-get succeeded but these are still missing: {}",
            still_missing.join(" ")
        );
    }
    Ok(())
}

/// apt or dpkg at work: it holds the dpkg lock that our apt-get needs.
fn is_package_manager(args: &[String]) -> bool {
    matches!(program_name(args), "apt-get" | "apt" | "dpkg" | "aptitude")
}

/// The real user id from the text of `/proc/self/status` (`Uid:\treal\teffective...`).
fn uid_from_status(status: &str) -> Option<u32> {
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ---- the Rust toolchain ----

/// `rustfmt` or `clippy`, through rustup when the toolchain lacks it.
pub fn ensure_rust_component(
    ws: &Workspace,
    component: &str,
    cargo_subcommand: &str,
) -> Result<()> {
    if output(&mut ws.cargo(&[cargo_subcommand, "--version"])).is_some() {
        return Ok(());
    }
    let Some(rustup) = ws.find_tool("rustup") else {
        return Err(Unavailable(format!(
            "`cargo {cargo_subcommand}` is missing and there is no rustup to add it: install \
             the {component} component of your Rust toolchain"
        ))
        .into());
    };
    say!("installing the Rust component {component} (rustup component add {component})");
    run(ws.command(rustup).args(["component", "add", component]))
}

pub fn ensure_wasm_target(ws: &Workspace) -> Result<()> {
    let Some(rustup) = ws.find_tool("rustup") else {
        // A toolchain without rustup (a distribution's rustc) may still have it.
        let libdir =
            output(
                ws.command("rustc")
                    .args(["--print", "target-libdir", "--target", WASM_TARGET]),
            );
        if libdir.is_some_and(|dir| Path::new(dir.trim()).is_dir()) {
            return Ok(());
        }
        return Err(Unavailable(format!(
            "the Rust target {WASM_TARGET} is missing and there is no rustup to add it: \
             install it for your Rust toolchain"
        ))
        .into());
    };
    let installed =
        output(ws.command(&rustup).args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        say!("Rust target {WASM_TARGET}: installed");
        return Ok(());
    }
    say!("installing the Rust target {WASM_TARGET} (rustup target add; seconds, once)");
    run(ws.command(rustup).args(["target", "add", WASM_TARGET]))
}

/// The wasm-bindgen-cli binaries, at the version of the `wasm-bindgen` crate.
#[derive(Debug, Clone)]
pub struct WasmBindgen {
    pub version: String,
    pub bindgen: PathBuf,
    pub test_runner: PathBuf,
}

pub fn ensure_wasm_bindgen(ws: &Workspace) -> Result<WasmBindgen> {
    let lockfile =
        fs::read_to_string(ws.root.join("Cargo.lock")).context("cannot read Cargo.lock")?;
    let version = locked_version(&lockfile, "wasm-bindgen")?;
    if let Some(tools) = installed_wasm_bindgen(ws, &version) {
        say!("wasm-bindgen-cli {version}: installed");
        return Ok(tools);
    }
    wait_for_others(
        "another install of wasm-bindgen-cli",
        Duration::from_secs(30 * 60),
        is_wasm_bindgen_install,
    );
    if let Some(tools) = installed_wasm_bindgen(ws, &version) {
        say!("wasm-bindgen-cli {version}: installed by the other process");
        return Ok(tools);
    }
    say!("installing wasm-bindgen-cli {version} to match Cargo.lock (about 4 minutes, once)");
    let install = |locked: bool| {
        let mut command = ws.cargo(&["install", "wasm-bindgen-cli", "--version", &version]);
        if locked {
            command.arg("--locked");
        }
        run(&mut command)
    };
    if install(true).is_err() {
        // Its lockfile can name a dependency version the reachable registry lacks;
        // resolving afresh works (see shared/TOOLCHAIN.md).
        say!("`cargo install --locked` failed; trying again without --locked");
        install(false)?;
    }
    installed_wasm_bindgen(ws, &version).with_context(|| {
        format!(
            "wasm-bindgen-cli {version} was installed but `wasm-bindgen --version` does not say \
             {version}, neither in PATH nor in {}",
            ws.cargo_bin.display()
        )
    })
}

/// `cargo install ... wasm-bindgen-cli ...`, by us or by hand, but not the rustc
/// processes it starts (their arguments never are these two words alone).
fn is_wasm_bindgen_install(args: &[String]) -> bool {
    args.iter().any(|arg| arg == "install") && args.iter().any(|arg| arg == "wasm-bindgen-cli")
}

/// The first wasm-bindgen at `version`: the one in `PATH`, else the one `cargo
/// install` puts in `~/.cargo/bin` (another version may come first in `PATH`).
fn installed_wasm_bindgen(ws: &Workspace, version: &str) -> Option<WasmBindgen> {
    let candidates = ws
        .find_tool("wasm-bindgen")
        .into_iter()
        .chain([ws.cargo_bin.join("wasm-bindgen")]);
    candidates.into_iter().find_map(|bindgen| {
        let printed = output(ws.command(&bindgen).arg("--version"))?;
        // `wasm-bindgen 0.2.130`
        if printed.split_whitespace().nth(1) != Some(version) {
            return None;
        }
        // Installed together, so they sit side by side.
        let test_runner = bindgen.with_file_name("wasm-bindgen-test-runner");
        test_runner.exists().then(|| WasmBindgen {
            version: version.to_string(),
            bindgen,
            test_runner,
        })
    })
}

// ---- Node ----

pub fn ensure_node(ws: &Workspace) -> Result<PathBuf> {
    ws.find_tool("node").ok_or_else(|| {
        Unavailable("node is missing: install Node.js 20 or newer (with npm)".to_string()).into()
    })
}

/// The npm project of the browser tests, which also brings `wasm-opt` (binaryen)
/// and `esbuild`.
pub fn npm_project(ws: &Workspace) -> PathBuf {
    ws.root.join("tests/browser")
}

/// `npm ci` in tests/browser, when node_modules is missing or older than the lockfile.
pub fn ensure_npm_packages(ws: &Workspace) -> Result<()> {
    let project = npm_project(ws);
    let lockfile = project.join("package-lock.json");
    // npm writes this copy of the lockfile last on every install.
    let installed = project.join("node_modules/.package-lock.json");
    if is_newer_or_same(&installed, &lockfile) {
        say!("npm packages in tests/browser: installed");
        return Ok(());
    }
    let Some(npm) = ws.find_tool("npm") else {
        return Err(Unavailable(
            "npm is missing: install Node.js 20 or newer with npm".to_string(),
        )
        .into());
    };
    say!(
        "installing npm packages in tests/browser (npm ci: playwright-core, binaryen, esbuild; about 10 s)"
    );
    run(ws
        .command(npm)
        .current_dir(&project)
        .args(["ci", "--no-audit", "--no-fund"]))
}

fn is_newer_or_same(file: &Path, than: &Path) -> bool {
    let modified = |path: &Path| fs::metadata(path).and_then(|meta| meta.modified()).ok();
    match (modified(file), modified(than)) {
        (Some(file), Some(than)) => file >= than,
        (Some(_), None) => true,
        _ => false,
    }
}

/// `esbuild` from the npm package, once `ensure_npm_packages` ran: it minifies the
/// page's JS and CSS.
pub fn npm_esbuild(ws: &Workspace) -> Option<PathBuf> {
    let path = npm_project(ws).join("node_modules/.bin/esbuild");
    path.exists().then_some(path)
}

/// `wasm-opt` from the npm package binaryen, once `ensure_npm_packages` ran.
/// Never Debian's binaryen: its v108 breaks the module in Chromium.
pub fn npm_wasm_opt(ws: &Workspace) -> Option<PathBuf> {
    let path = npm_project(ws).join("node_modules/.bin/wasm-opt");
    path.exists().then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_uid_is_the_first_number_of_the_uid_line() {
        let status = "Name:\txtask\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(uid_from_status(status), Some(1000));
        assert_eq!(uid_from_status("Name:\txtask\n"), None);
    }

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn an_install_of_wasm_bindgen_cli_is_recognized_but_not_its_compiler_runs() {
        let cargo = "/root/.cargo/bin/cargo install wasm-bindgen-cli --version 0.2.130";
        assert!(is_wasm_bindgen_install(&args(cargo)));
        let rustc =
            "rustc --crate-name wasm_bindgen_cli --out-dir /tmp/cargo-installX/release/deps";
        assert!(!is_wasm_bindgen_install(&args(rustc)));
        assert!(!is_wasm_bindgen_install(&args(
            "cargo install wasm-bindgen-cli-support"
        )));
    }

    #[test]
    fn apt_and_dpkg_are_package_managers_wherever_they_live() {
        assert!(is_package_manager(&args(
            "/usr/bin/apt-get install -y curl"
        )));
        assert!(is_package_manager(&args(
            "/usr/bin/dpkg --status-fd 23 --configure"
        )));
        assert!(!is_package_manager(&args("cat /var/log/apt/history.log")));
    }

    #[test]
    fn every_package_the_brief_names_is_checked_by_a_binary() {
        let names: Vec<&str> = REAL_PEERS
            .iter()
            .chain(BROWSER)
            .map(|package| package.name)
            .collect();
        for name in [
            "chromium",
            "chromium-driver",
            "netcat-openbsd",
            "netcat-traditional",
            "busybox",
            "curl",
            "socat",
            "strace",
            "python3",
            "gcc",
        ] {
            assert!(names.contains(&name), "{name}");
        }
    }
}
