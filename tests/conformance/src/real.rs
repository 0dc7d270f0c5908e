//! The real side: run a case's terminals on this machine's kernel with the real
//! programs, exactly as the run contract (`pipelab_sim::run`) describes a run.
//!
//! - Each terminal is `bash -c SCRIPT`, all spawned together at time 0, each the
//!   leader of its own process group.
//! - stdin is a pipe that nobody writes (the runner holds the write end open until the
//!   end, so reads block rather than seeing EOF); stdout and stderr are one pipe, the
//!   terminal's transcript, read in order.
//! - All terminals share a fresh working directory holding `index.html`
//!   (`hello from backend\n`); `PATH` starts with a directory whose `nc` is the
//!   chosen flavor; the environment is otherwise fixed (`LC_ALL=C`, `HOME` = the
//!   working directory) so that nothing of the caller leaks in.
//! - The run ends when every transcript has reached EOF (every process that held the
//!   terminal is gone), or at the time limit; then every process group gets SIGKILL
//!   and the transcript ends with what was written before.
//! - An interactive case's terminals are `bash --norc --noprofile --noediting -i`,
//!   each the leader of its own session with a pty as its controlling terminal
//!   (so bash has job control, as on the playground), `PS1='$ '` as the simulator's
//!   prompt, and no line editing (the simulator's bash has none; the pty's line
//!   discipline echoes). The first lines are typed once the shell has prompted,
//!   terminal N a second after terminal N-1, the later ones at their times; the
//!   transcript is what the pty shows, with `\r\n` read as `\n`. The run ends at the
//!   time limit, or when every terminal's processes are gone; then every process of
//!   each terminal's session is stopped and killed.
//! - Each run gets its own network namespace (`unshare(CLONE_NEWNET)` on a thread of
//!   its own, then `ip link set lo up`), so runs that use the same ports go in
//!   parallel and a stray listener cannot outlive its run (ground truth §6: with
//!   SO_REUSEPORT a leftover `nc -l -p 6000` silently takes connections). Without
//!   the privilege for that, runs share the host's loopback and go one at a time.
//! - Inside that namespace the nameservers of `/etc/resolv.conf` are answered by a
//!   stub on `lo` that says NXDOMAIN to every query. Without it, `nc.openbsd -v -l`
//!   (which looks up the name of 0.0.0.0 unless given `-n`) prints
//!   `nc: getnameinfo: Temporary failure in name resolution` instead of
//!   `Listening on 0.0.0.0 6000`; with it, the run sees what a machine with a working
//!   resolver sees (ground truth §1 and §9), and no query ever leaves the namespace.

use std::ffi::OsString;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use pipelab_sim::run::{NcFlavor, StoppedBy, TerminalReport};

use crate::case::{ALL_FLAVORS, Case, Keys, Mode, flavor_name};

/// The contents of `index.html` in every run's working directory.
pub const INDEX_HTML: &str = "hello from backend\n";

/// A real run's result, in the shape of `pipelab_sim::run::RunReport`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealReport {
    pub terminals: Vec<TerminalReport>,
    pub stopped_by: StoppedBy,
    pub wall_ms: u64,
}

impl RealReport {
    pub fn transcripts(&self) -> Vec<String> {
        self.terminals.iter().map(|t| t.output.clone()).collect()
    }
}

/// Between SIGSTOP and SIGKILL at the end of a run.
const STOP_SETTLE_MS: u64 = 20;
/// After SIGKILL, how long to wait for the transcripts' last bytes and EOF.
const DRAIN_MS: u64 = 1_000;
/// A transcript larger than this is cut: no case legitimately prints that much.
const MAX_TRANSCRIPT_BYTES: usize = 1 << 20;

/// Builds the per-flavor `nc` directories once and runs cases.
#[derive(Debug)]
pub struct Runner {
    root: PathBuf,
    netns: bool,
    serial: Mutex<()>,
    next_run: AtomicU64,
}

impl Runner {
    /// Prepares `ROOT/bin-FLAVOR/nc` for each flavor (building the textbook shim with
    /// gcc) in a fresh temporary directory, and finds out whether runs can get their
    /// own network namespace.
    pub fn new() -> anyhow::Result<Runner> {
        let root = std::env::temp_dir().join(format!(
            "pipelab-conformance-{}-{}",
            std::process::id(),
            unique_suffix()
        ));
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        let mut runner = Runner {
            root,
            netns: false,
            serial: Mutex::new(()),
            next_run: AtomicU64::new(0),
        };
        runner.install_flavors()?;
        runner.netns = netns_available();
        Ok(runner)
    }

    /// Whether each run gets its own network namespace (and runs may go in parallel).
    pub fn isolated(&self) -> bool {
        self.netns
    }

    fn bin_dir(&self, flavor: NcFlavor) -> PathBuf {
        self.root.join(format!("bin-{}", flavor_name(flavor)))
    }

    fn install_flavors(&self) -> anyhow::Result<()> {
        let shim_src = Path::new(env!("CARGO_MANIFEST_DIR")).join("shim/keepsigpipe.c");
        let shim = self.root.join("keepsigpipe.so");
        let status = Command::new("gcc")
            .args(["-shared", "-fPIC", "-O2", "-Wall", "-o"])
            .arg(&shim)
            .arg(&shim_src)
            .arg("-ldl")
            .status()
            .context("running gcc to build shim/keepsigpipe.c (install gcc)")?;
        if !status.success() {
            bail!("gcc could not build {}", shim_src.display());
        }
        for flavor in ALL_FLAVORS {
            let dir = self.bin_dir(flavor);
            std::fs::create_dir_all(&dir)?;
            let nc = dir.join("nc");
            match flavor {
                // Symlinks keep argv[0] = "nc", as in messages like `nc: connect to ...`.
                NcFlavor::Openbsd => symlink_checked(Path::new("/bin/nc.openbsd"), &nc)?,
                NcFlavor::Traditional => {
                    symlink_checked(Path::new("/bin/nc.traditional"), &nc)?;
                }
                NcFlavor::Busybox => {
                    require(Path::new("/bin/busybox"))?;
                    write_script(&nc, "#!/bin/sh\nexec busybox nc \"$@\"\n")?;
                }
                NcFlavor::Textbook => {
                    require(Path::new("/bin/nc.traditional"))?;
                    write_script(
                        &nc,
                        &format!(
                            "#!/bin/bash\nLD_PRELOAD={} exec -a nc /bin/nc.traditional \"$@\"\n",
                            shim.display()
                        ),
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Runs `case`'s terminals for real and returns their raw transcripts.
    pub fn run(&self, case: &Case, flavor: NcFlavor) -> anyhow::Result<RealReport> {
        let run_id = self.next_run.fetch_add(1, Ordering::Relaxed);
        let work = self.root.join(format!("run-{run_id}"));
        std::fs::create_dir_all(&work)?;
        std::fs::write(work.join("index.html"), INDEX_HTML)?;
        let bin = self.bin_dir(flavor);
        let run = |case: &Case| match case.mode {
            Mode::Script => run_terminals(&case.scripts(), &bin, &work, case.until_ms),
            Mode::Interactive => run_interactive(case, &bin, &work),
        };
        let result = if self.netns {
            std::thread::scope(|scope| {
                scope
                    .spawn(|| {
                        enter_fresh_netns()?;
                        let dns = NxdomainStub::start()?;
                        let report = run(case);
                        dns.stop();
                        report
                    })
                    .join()
                    .map_err(|_| anyhow::anyhow!("the run thread panicked"))?
            })
        } else {
            let _one_at_a_time = self.serial.lock().unwrap_or_else(|e| e.into_inner());
            run(case)
        };
        let _ = std::fs::remove_dir_all(&work);
        result
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn unique_suffix() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

fn require(path: &Path) -> anyhow::Result<()> {
    if !path.exists() {
        bail!(
            "{} is missing (install netcat-openbsd netcat-traditional busybox curl socat gcc)",
            path.display()
        );
    }
    Ok(())
}

fn symlink_checked(target: &Path, link: &Path) -> anyhow::Result<()> {
    require(target)?;
    std::os::unix::fs::symlink(target, link)
        .with_context(|| format!("linking {} to {}", link.display(), target.display()))
}

fn write_script(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Whether this process may create network namespaces (probed on a throwaway thread).
fn netns_available() -> bool {
    std::thread::spawn(|| enter_fresh_netns().is_ok())
        .join()
        .unwrap_or(false)
}

/// Moves the calling thread into a new network namespace with `lo` up. Children that
/// this thread spawns inherit it; the namespace ends with the last of them.
fn enter_fresh_netns() -> anyhow::Result<()> {
    // SAFETY: unshare(2) takes no pointers; CLONE_NEWNET affects only this thread.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("unshare(CLONE_NEWNET)");
    }
    let status = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .stdin(Stdio::null())
        .status()
        .context("running `ip link set lo up` (install iproute2)")?;
    if !status.success() {
        bail!("`ip link set lo up` failed in the new network namespace");
    }
    Ok(())
}

/// Answers NXDOMAIN to every DNS query sent to the nameservers of `/etc/resolv.conf`,
/// from inside a run's network namespace (see the module docs for why).
struct NxdomainStub {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl NxdomainStub {
    /// Must be called on the thread that entered the namespace: sockets and the
    /// threads spawned here live in it.
    fn start() -> anyhow::Result<NxdomainStub> {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut threads = Vec::new();
        for server in nameservers() {
            if !server.is_loopback() {
                let status = Command::new("ip")
                    .args(["addr", "add", &format!("{server}/32"), "dev", "lo"])
                    .stdin(Stdio::null())
                    .status()?;
                if !status.success() {
                    bail!("`ip addr add {server}/32 dev lo` failed");
                }
            }
            let socket = std::net::UdpSocket::bind((server, 53))
                .with_context(|| format!("binding the DNS stub to {server}:53"))?;
            socket.set_read_timeout(Some(Duration::from_millis(50)))?;
            let stop = stop.clone();
            threads.push(std::thread::spawn(move || {
                let mut buf = [0u8; 512];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok((n, from)) = socket.recv_from(&mut buf) {
                        if let Some(reply) = nxdomain_reply(&buf[..n]) {
                            let _ = socket.send_to(&reply, from);
                        }
                    }
                }
            }));
        }
        Ok(NxdomainStub { stop, threads })
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// The IPv4 `nameserver` lines of `/etc/resolv.conf`.
fn nameservers() -> Vec<std::net::Ipv4Addr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut servers: Vec<std::net::Ipv4Addr> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|rest| rest.trim().parse().ok())
        .collect();
    servers.dedup();
    servers
}

/// The reply to a DNS query (RFC 1035 §4.1): same id and question, QR=1, RA=1,
/// RCODE=3 (NXDOMAIN), no answers. `None` for anything that is not one question.
fn nxdomain_reply(query: &[u8]) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 || query[4..6] != [0, 1] {
        return None;
    }
    let mut end = 12;
    loop {
        let len = usize::from(*query.get(end)?);
        end += 1;
        if len == 0 {
            break;
        }
        if len & 0xc0 != 0 {
            return None;
        }
        end += len;
    }
    end += 4; // QTYPE, QCLASS
    if end > query.len() {
        return None;
    }
    let mut reply = query[..end].to_vec();
    reply[2] = 0x80 | (query[2] & 0x79); // QR, opcode, RD
    reply[3] = 0x80 | 3; // RA, NXDOMAIN
    reply[6..12].fill(0); // ANCOUNT, NSCOUNT, ARCOUNT
    Some(reply)
}

/// `pipe2(O_CLOEXEC)`: close-on-exec, so that runs spawned at the same time by other
/// threads never inherit this run's terminal.
fn pipe() -> anyhow::Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two c_ints.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("pipe2");
    }
    // SAFETY: pipe2 just returned these two fds and nothing else owns them.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((File::from(r), File::from(w)))
}

fn set_nonblocking(file: &File) -> anyhow::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on an fd we own.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error()).context("fcntl(O_NONBLOCK)");
    }
    Ok(())
}

fn environment(bin: &Path, work: &Path) -> Vec<(OsString, OsString)> {
    let mut path = OsString::from(bin);
    path.push(":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    vec![
        ("PATH".into(), path),
        ("HOME".into(), work.into()),
        ("LC_ALL".into(), "C".into()),
        ("LANG".into(), "C".into()),
    ]
}

struct Terminal {
    child: Child,
    /// The terminal's process group, or for an interactive terminal its session
    /// (bash's jobs have process groups of their own there).
    pgid: i32,
    own_session: bool,
    transcript: File,
    output: Vec<u8>,
    eof: bool,
}

fn run_terminals(
    scripts: &[String],
    bin: &Path,
    work: &Path,
    until_ms: u64,
) -> anyhow::Result<RealReport> {
    let env = environment(bin, work);
    let mut stdin_writers = Vec::new(); // held open until the end: reads block
    let mut terminals: Vec<Terminal> = Vec::new();
    let start = Instant::now();
    let deadline = start + Duration::from_millis(until_ms);
    for script in scripts {
        let (stdin_r, stdin_w) = pipe()?;
        let (out_r, out_w) = pipe()?;
        let err_w = out_w.try_clone()?;
        let spawned = Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(work)
            .env_clear()
            .envs(env.iter().cloned())
            .stdin(Stdio::from(stdin_r))
            .stdout(Stdio::from(out_w))
            .stderr(Stdio::from(err_w))
            .process_group(0)
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) => {
                kill_all(&mut terminals);
                return Err(e).context("spawning bash");
            }
        };
        set_nonblocking(&out_r)?;
        stdin_writers.push(stdin_w);
        let pgid = i32::try_from(child.id()).context("pid out of range")?;
        terminals.push(Terminal {
            child,
            pgid,
            own_session: false,
            transcript: out_r,
            output: Vec::new(),
            eof: false,
        });
    }

    let stopped_by = read_until(&mut terminals, deadline, |_, _| Ok(Duration::MAX))?;
    end_run(&mut terminals);
    drop(stdin_writers);
    let wall_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(RealReport {
        terminals: scripts
            .iter()
            .zip(&terminals)
            .map(|(script, t)| TerminalReport {
                script: script.clone(),
                output: String::from_utf8_lossy(&t.output).into_owned(),
            })
            .collect(),
        stopped_by,
        wall_ms,
    })
}

/// Reads the terminals until every transcript is at EOF or `deadline` passes.
/// Each turn first calls `turn` with the time (to type what is due), which
/// says how long the turn may wait for output at most.
fn read_until(
    terminals: &mut [Terminal],
    deadline: Instant,
    mut turn: impl FnMut(&mut [Terminal], Instant) -> anyhow::Result<Duration>,
) -> anyhow::Result<StoppedBy> {
    loop {
        if terminals.iter().all(|t| t.eof) {
            return Ok(StoppedBy::Finished);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(StoppedBy::TimeLimit);
        }
        let most = turn(terminals, now)?;
        read_for(terminals, (deadline - now).min(most));
    }
}

/// Waits up to `timeout` for output, then reads what every terminal has.
fn read_for(terminals: &mut [Terminal], timeout: Duration) {
    wait_readable(terminals, timeout);
    for t in terminals {
        read_available(t);
    }
}

/// Kills every process of the run, then reads what was written before, up to EOF.
fn end_run(terminals: &mut [Terminal]) {
    kill_all(terminals);
    let drain_deadline = Instant::now() + Duration::from_millis(DRAIN_MS);
    while terminals.iter().any(|t| !t.eof) && Instant::now() < drain_deadline {
        read_for(terminals, drain_deadline - Instant::now());
    }
}

fn wait_readable(terminals: &[Terminal], timeout: Duration) {
    let mut fds: Vec<libc::pollfd> = terminals
        .iter()
        .filter(|t| !t.eof)
        .map(|t| libc::pollfd {
            fd: t.transcript.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    if fds.is_empty() {
        return;
    }
    let timeout_ms = i32::try_from(timeout.as_millis().max(1)).unwrap_or(i32::MAX);
    // SAFETY: fds is a valid, initialized slice of pollfd for the duration of the call.
    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
}

fn read_available(t: &mut Terminal) {
    let mut buf = [0u8; 8192];
    while !t.eof {
        match t.transcript.read(&mut buf) {
            Ok(0) => t.eof = true,
            Ok(n) => {
                if t.output.len() < MAX_TRANSCRIPT_BYTES {
                    t.output.extend_from_slice(&buf[..n]);
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // A pty's master reads EIO once no process holds its terminal.
            Err(e) if e.raw_os_error() == Some(libc::EIO) => t.eof = true,
            Err(_) => break, // EAGAIN: nothing more for now
        }
    }
}

/// Ends the run at once for every terminal: SIGSTOP to every process group first, so
/// that no process can react to another one's death (a killed listener closes its
/// socket; a client still running would see EOF and print its exit status), then
/// SIGKILL to every group, then reap the bash processes.
fn kill_all(terminals: &mut [Terminal]) {
    // kill(2) targets: a negative pid is the process group we created; an
    // interactive terminal's session is every process in it.
    let targets: Vec<i32> = terminals
        .iter()
        .flat_map(|t| {
            if t.own_session {
                session_members(t.pgid)
            } else {
                vec![-t.pgid]
            }
        })
        .collect();
    for &target in &targets {
        // SAFETY: kill(2) takes no pointers; ESRCH (already gone) is fine.
        unsafe { libc::kill(target, libc::SIGSTOP) };
    }
    // A process running on another CPU stops at its next return to user mode.
    std::thread::sleep(Duration::from_millis(STOP_SETTLE_MS));
    for &target in &targets {
        // SAFETY: as above.
        unsafe { libc::kill(target, libc::SIGKILL) };
    }
    for t in terminals.iter_mut() {
        let _ = t.child.wait();
    }
}

/// The processes whose session id is `sid` (field 6 of `/proc/PID/stat`).
fn session_members(sid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![sid];
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // After the command name in parentheses: state, ppid, pgrp, session.
            let fields = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            fields.split_whitespace().nth(3) == Some(&sid.to_string())
        })
        .collect()
}

/// A pty pair: the master (close-on-exec, so that runs spawned by other threads at
/// the same time never hold it) and its terminal, opened close-on-exec too: the
/// child gets it as fds 0, 1 and 2, which `dup2` leaves open across exec.
fn pty() -> anyhow::Result<(File, File)> {
    // SAFETY: posix_openpt, grantpt, unlockpt and ptsname_r on the fd just opened,
    // with a buffer of the length given.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if master < 0 {
            return Err(std::io::Error::last_os_error()).context("posix_openpt");
        }
        let master = File::from(OwnedFd::from_raw_fd(master));
        let fd = master.as_raw_fd();
        let mut name = [0 as libc::c_char; 64];
        if libc::grantpt(fd) != 0
            || libc::unlockpt(fd) != 0
            || libc::ptsname_r(fd, name.as_mut_ptr(), name.len()) != 0
        {
            return Err(std::io::Error::last_os_error()).context("setting up the pty");
        }
        let slave = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if slave < 0 {
            return Err(std::io::Error::last_os_error()).context("opening the pty's terminal");
        }
        Ok((master, File::from(OwnedFd::from_raw_fd(slave))))
    }
}

/// What the simulator's interactive bash prints before reading a line.
const PROMPT: &[u8] = b"$ ";

/// Runs an interactive case's terminals: see the module docs.
fn run_interactive(case: &Case, bin: &Path, work: &Path) -> anyhow::Result<RealReport> {
    let mut env = environment(bin, work);
    env.push(("PS1".into(), "$ ".into()));
    env.push(("TERM".into(), "dumb".into()));
    let start = Instant::now();
    let deadline = start + Duration::from_millis(case.until_ms);
    let mut terminals: Vec<Terminal> = Vec::new();
    for _ in &case.terminals {
        let (master, slave) = pty()?;
        let mut command = Command::new("bash");
        command
            .args(["--norc", "--noprofile", "--noediting", "-i"])
            .current_dir(work)
            .env_clear()
            .envs(env.iter().cloned())
            .stdin(Stdio::from(slave.try_clone()?))
            .stdout(Stdio::from(slave.try_clone()?))
            .stderr(Stdio::from(slave));
        // SAFETY: setsid(2) and ioctl(2) are async-signal-safe; fd 0 is the pty's
        // terminal by now, which becomes the new session's controlling terminal.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                kill_all(&mut terminals);
                return Err(e).context("spawning bash -i");
            }
        };
        set_nonblocking(&master)?;
        let pgid = i32::try_from(child.id()).context("pid out of range")?;
        terminals.push(Terminal {
            child,
            pgid,
            own_session: true,
            transcript: master,
            output: Vec::new(),
            eof: false,
        });
    }

    let mut starts: Vec<Option<&str>> = case.terminals.iter().map(|t| Some(&*t.start)).collect();
    let mut later = case.typed_later().into_iter().peekable();
    let stopped_by = read_until(&mut terminals, deadline, |terminals, now| {
        for (n, t) in terminals.iter_mut().enumerate() {
            let due = start + Duration::from_secs(n as u64);
            if now >= due && t.output.windows(PROMPT.len()).any(|w| w == PROMPT) {
                if let Some(text) = starts[n].take() {
                    type_keys(t, text.as_bytes())?;
                }
            }
        }
        while let Some((n, typed)) =
            later.next_if(|(_, typed)| start + Duration::from_millis(typed.at_ms) <= now)
        {
            let keys: &[u8] = match &typed.keys {
                Keys::Text(text) => text.as_bytes(),
                Keys::Interrupt => b"\x03",
                Keys::Eof => b"\x04",
                Keys::Suspend => b"\x1a",
            };
            type_keys(&mut terminals[n], keys)?;
        }
        // Short waits: typing is due on the clock, not on output.
        Ok(Duration::from_millis(5))
    })?;
    end_run(&mut terminals);
    let wall_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(RealReport {
        terminals: case
            .terminals
            .iter()
            .zip(&terminals)
            .map(|(terminal, t)| TerminalReport {
                script: terminal.script.clone(),
                output: String::from_utf8_lossy(&t.output).replace("\r\n", "\n"),
            })
            .collect(),
        stopped_by,
        wall_ms,
    })
}

/// Writes keys to a pty's master, as if typed (the line discipline echoes them).
fn type_keys(t: &mut Terminal, keys: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut rest = keys;
    while !rest.is_empty() {
        match t.transcript.write(rest) {
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(e).context("typing into the pty"),
        }
    }
    Ok(())
}

/// How many runs to have in flight: several when each has its own network namespace
/// (runs mostly sleep; the CPU is not the limit), one when they share the loopback.
pub fn default_jobs(runner: &Runner) -> usize {
    if runner.isolated() { 4 } else { 1 }
}

/// Applies `f` to every item on `jobs` threads; results keep the items' order.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let result = f(item);
                    results.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every item was processed"))
        .collect()
}

// ---------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    /// A PTR query for 0.0.0.0.in-addr.arpa, id 0x1234, RD set.
    fn ptr_query() -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in ["0", "0", "0", "0", "in-addr", "arpa"] {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 12, 0, 1]);
        q
    }

    #[test]
    fn the_dns_stub_answers_nxdomain_with_the_same_id_and_question() {
        let query = ptr_query();
        let reply = nxdomain_reply(&query).unwrap();
        assert_eq!(&reply[..2], &[0x12, 0x34]);
        assert_eq!(reply[2], 0x81, "QR and RD");
        assert_eq!(reply[3] & 0x0f, 3, "NXDOMAIN");
        assert_eq!(&reply[4..6], &[0, 1], "one question");
        assert_eq!(&reply[6..12], &[0; 6], "no answers");
        assert_eq!(&reply[12..], &query[12..]);
    }

    #[test]
    fn the_dns_stub_ignores_replies_and_garbage() {
        let mut reply = ptr_query();
        reply[2] |= 0x80;
        assert_eq!(nxdomain_reply(&reply), None);
        assert_eq!(nxdomain_reply(&[1, 2, 3]), None);
        let mut truncated = ptr_query();
        truncated.truncate(20);
        assert_eq!(nxdomain_reply(&truncated), None);
    }

    #[test]
    fn parallel_map_keeps_order() {
        let items: Vec<u32> = (0..20).collect();
        assert_eq!(
            parallel_map(&items, 4, |x| x * 2),
            (0..20).map(|x| x * 2).collect::<Vec<_>>()
        );
    }
}
