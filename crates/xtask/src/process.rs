//! Running commands, finding tools, and saying what is happening.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// One line of progress, on stderr beside cargo's own.
macro_rules! say {
    ($($arg:tt)*) => { eprintln!("xtask: {}", format_args!($($arg)*)) };
}
pub(crate) use say;

/// Where the project is, and where cargo puts installed binaries.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub target_dir: PathBuf,
    /// `~/.cargo/bin`: searched after `PATH` and put in front of it for every child,
    /// so tools that xtask installed are found even where `PATH` lacks it (CI).
    pub cargo_bin: PathBuf,
}

impl Workspace {
    pub fn locate() -> Result<Self> {
        // crates/xtask → the workspace root.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .nth(2)
            .context("xtask is not inside a workspace")?
            .to_path_buf();
        let target_dir = env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let cargo_home = env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
            .context("neither CARGO_HOME nor HOME is set")?;
        Ok(Self {
            root,
            target_dir,
            cargo_bin: cargo_home.join("bin"),
        })
    }

    /// A command for `program`, run from the workspace root with no stdin (nothing
    /// it starts may wait on a prompt: CI has no terminal).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(&self.root)
            .env("PATH", self.path_with_cargo_bin())
            .stdin(Stdio::null());
        command
    }

    /// `cargo ARGS`, with the cargo that runs xtask.
    pub fn cargo(&self, args: &[&str]) -> Command {
        let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = self.command(cargo);
        command.args(args);
        command
    }

    fn path_with_cargo_bin(&self) -> OsString {
        let path = env::var_os("PATH").unwrap_or_default();
        let mut dirs: Vec<PathBuf> = env::split_paths(&path).collect();
        if !dirs.contains(&self.cargo_bin) {
            dirs.push(self.cargo_bin.clone());
        }
        env::join_paths(dirs).unwrap_or(path)
    }

    /// The full path of `program`, from `PATH` or `~/.cargo/bin`.
    pub fn find_tool(&self, program: &str) -> Option<PathBuf> {
        env::split_paths(&self.path_with_cargo_bin())
            .map(|dir| dir.join(program))
            .find(|candidate| is_executable(candidate))
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Runs `command` to completion; a non-zero exit is an error that names the command.
pub fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot start `{}`", describe(command)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(command));
    }
    Ok(())
}

/// Runs `command` and returns its stdout, or `None` if it cannot run or fails.
pub fn output(command: &mut Command) -> Option<String> {
    let output = command.stderr(Stdio::null()).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

pub fn describe(command: &Command) -> String {
    let program = Path::new(command.get_program())
        .file_name()
        .unwrap_or(command.get_program())
        .to_string_lossy()
        .into_owned();
    let args = command
        .get_args()
        .map(|arg| arg.to_string_lossy().into_owned());
    std::iter::once(program)
        .chain(args)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Other processes whose command line `matches`, as (pid, command line).
pub fn other_processes(matches: impl Fn(&[String]) -> bool) -> Vec<(u32, String)> {
    let own = std::process::id();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new(); // Not Linux: nothing to wait for that we can see.
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != own)
        .filter_map(|pid| {
            let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args: Vec<String> = raw
                .split(|&byte| byte == 0)
                .filter(|arg| !arg.is_empty())
                .map(|arg| String::from_utf8_lossy(arg).into_owned())
                .collect();
            matches(&args).then(|| (pid, args.join(" ")))
        })
        .collect()
}

/// Waits, at most `limit`, while another process matching `matches` runs: two
/// installs of the same thing at once waste minutes or fight over a lock.
pub fn wait_for_others(what: &str, limit: Duration, matches: impl Fn(&[String]) -> bool) {
    let started = Instant::now();
    let mut announced = false;
    loop {
        let others = other_processes(&matches);
        let Some((pid, line)) = others.first() else {
            return;
        };
        if started.elapsed() > limit {
            say!(
                "still running after {} s: pid {pid} ({line}); going on",
                limit.as_secs()
            );
            return;
        }
        if !announced {
            say!("waiting for {what} already running as pid {pid} ({line})");
            announced = true;
        }
        thread::sleep(Duration::from_secs(3));
    }
}

/// The file name of a command line's program: `/usr/bin/apt-get` → `apt-get`.
pub fn program_name(args: &[String]) -> &str {
    args.first()
        .map(|program| program.rsplit('/').next().unwrap_or(program))
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn describe_names_the_program_without_its_directory() {
        let mut command = Command::new("/usr/bin/apt-get");
        command.args(["install", "-y", "curl"]);
        assert_eq!(describe(&command), "apt-get install -y curl");
    }

    #[test]
    fn program_name_drops_the_directory() {
        assert_eq!(program_name(&args("/usr/bin/dpkg --configure -a")), "dpkg");
        assert_eq!(program_name(&args("apt-get update")), "apt-get");
        assert_eq!(program_name(&[]), "");
    }
}
