//! A small world for kernel tests: one terminal, and processes that run async
//! closures instead of installed programs ([`run_logged`] runs one and hands back
//! what it logged); and, for the programs' tests, a world with every program
//! installed plus [`pipeline`], which forks, wires and execs commands the way
//! bash does (pipe ends first, then redirections, then execve). The last
//! sections hold the steps, look-ups and assertions that several test files
//! share.

#![allow(dead_code)]

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use pipelab_sim::kernel::{Kernel, Limits, Pid};
use pipelab_sim::sys::{Programs, Sys};
use pipelab_sim::world::{Step, World};

/// Generous virtual time for a test run: 10 minutes.
pub const TEST_UNTIL_US: u64 = 600_000_000;

pub fn world() -> World {
    world_with(Programs::new(), 0)
}

pub fn world_with(programs: Programs, seed: u64) -> World {
    let mut k = Kernel::default();
    k.add_terminal();
    World::new(k, programs, seed)
}

/// [`world`] with a kernel whose limits are `limits`.
pub fn world_with_limits(limits: Limits) -> World {
    let mut k = Kernel::new(limits);
    k.add_terminal();
    World::new(k, Programs::new(), 0)
}

/// Starts a process (a child of init, on terminal 0) running `body`; its return
/// value is its exit code.
pub fn spawn<F, Fut>(w: &mut World, body: F) -> Pid
where
    F: FnOnce(Sys) -> Fut,
    Fut: Future<Output = i32> + 'static,
{
    let pid = w.kernel_mut().spawn_session(vec!["test".into()], "/tmp", 0);
    let sys = w.sys(pid);
    let fut = body(sys.clone());
    w.attach(
        pid,
        Box::pin(async move {
            let code = fut.await;
            sys.exit(code).await
        }),
    );
    pid
}

/// Runs until nothing can move.
pub fn run(w: &mut World) -> Step {
    w.run_until(TEST_UNTIL_US, |_| false)
}

/// A shared log that test processes append to.
#[derive(Clone, Debug, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    pub fn push(&self, s: impl Into<String>) {
        self.0.borrow_mut().push(s.into());
    }
    pub fn lines(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}

/// A finished run of one test process: the world afterwards, the process, and
/// the lines it logged.
pub struct Ran {
    pub world: World,
    pub pid: Pid,
    pub lines: Vec<String>,
}

impl Ran {
    /// The exit status the shell would show for the process.
    pub fn status(&self) -> Option<i32> {
        status(&self.world, self.pid)
    }
    /// The strace-like text of the whole run.
    pub fn strace(&self) -> String {
        strace(&self.world)
    }
    /// Everything written to terminal 0.
    pub fn terminal(&self) -> String {
        terminal(&self.world)
    }
}

/// Runs `body` as the only test process of a fresh [`world`] until nothing can
/// move; `body` gets the log whose lines [`Ran`] hands back.
pub fn run_logged<F, Fut>(body: F) -> Ran
where
    F: FnOnce(Sys, Log) -> Fut,
    Fut: Future<Output = i32> + 'static,
{
    run_logged_in(world(), body)
}

/// [`run_logged`] in a world made for the test (other programs, other limits).
pub fn run_logged_in<F, Fut>(mut w: World, body: F) -> Ran
where
    F: FnOnce(Sys, Log) -> Fut,
    Fut: Future<Output = i32> + 'static,
{
    let log = Log::default();
    let l = log.clone();
    let pid = spawn(&mut w, move |sys| body(sys, l));
    run(&mut w);
    Ran {
        world: w,
        pid,
        lines: log.lines(),
    }
}

/// The exit status the shell would show for `pid`, if it has ended.
pub fn status(w: &World, pid: Pid) -> Option<i32> {
    w.kernel().proc(pid).exit.map(|e| e.shell_status())
}

/// Everything written to terminal 0.
pub fn terminal(w: &World) -> String {
    String::from_utf8_lossy(&w.kernel().terminals[0].output).into_owned()
}

// ------------------------------------------------------------------ programs

use pipelab_sim::kernel::Fd;
use pipelab_sim::kernel::fs::OpenFlags;
use pipelab_sim::run::NcFlavor;

/// A world with one terminal and every program installed, `nc` being `flavor`.
/// The test processes start in `/tmp`; `/srv/www/index.html` holds the backend's
/// 25-byte page (ground truth's `hello from backend :5000\n`).
pub fn world_programs(flavor: NcFlavor) -> World {
    world_programs_seeded(flavor, 0)
}

/// [`world_programs`] with a seeded scheduler (another legal interleaving).
pub fn world_programs_seeded(flavor: NcFlavor, seed: u64) -> World {
    let mut k = Kernel::default();
    k.add_terminal();
    pipelab_sim::programs::install(&mut k.vfs);
    k.vfs.insert("/srv", pipelab_sim::kernel::fs::Inode::Dir);
    k.vfs
        .insert("/srv/www", pipelab_sim::kernel::fs::Inode::Dir);
    k.write_file("/srv/www/index.html", b"hello from backend :5000\n");
    World::new(k, pipelab_sim::programs::table(flavor), seed)
}

/// A redirection, applied in the child after the pipe's dup2, as bash does.
#[derive(Clone, Debug)]
pub enum Redir {
    /// `N< path` / `N> path` / `N>> path`.
    Open(Fd, String, OpenFlags),
    /// `N>&M`.
    Dup(Fd, Fd),
}

/// `< path`.
pub fn from(path: &str) -> Redir {
    Redir::Open(0, path.into(), OpenFlags::read_only())
}

/// `N> path`.
pub fn to(fd: Fd, path: &str) -> Redir {
    Redir::Open(fd, path.into(), OpenFlags::create_truncate())
}

/// One command of a pipeline: argv (argv[0] is looked up in /usr/bin then /bin)
/// and its redirections.
#[derive(Clone, Debug)]
pub struct Cmd {
    pub argv: Vec<String>,
    pub redirs: Vec<Redir>,
    /// Start this many microseconds after the pipeline (a `sleep N;` in front).
    pub delay_us: u64,
}

pub fn cmd(line: &str) -> Cmd {
    Cmd {
        argv: line.split_whitespace().map(String::from).collect(),
        redirs: Vec::new(),
        delay_us: 0,
    }
}

impl Cmd {
    pub fn argv(argv: &[&str]) -> Cmd {
        Cmd {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            redirs: Vec::new(),
            delay_us: 0,
        }
    }
    pub fn redir(mut self, r: Redir) -> Cmd {
        self.redirs.push(r);
        self
    }
    pub fn after_us(mut self, us: u64) -> Cmd {
        self.delay_us = us;
        self
    }
    /// `< path`.
    pub fn stdin(self, path: &str) -> Cmd {
        self.redir(from(path))
    }
    /// `> path`.
    pub fn stdout(self, path: &str) -> Cmd {
        self.redir(to(1, path))
    }
    /// `2> path`.
    pub fn stderr(self, path: &str) -> Cmd {
        self.redir(to(2, path))
    }
    /// `> /dev/null 2> /dev/null`.
    pub fn quiet(self) -> Cmd {
        self.stdout("/dev/null").stderr("/dev/null")
    }
}

/// The ground truth's backend, serving [`world_programs`]' page on port 5000;
/// its output goes where the caller redirects it.
pub fn backend() -> Cmd {
    cmd("python3 -m http.server 5000 --bind 127.0.0.1 --directory /srv/www")
}

/// The page [`backend`] serves.
pub const PAGE: &str = "hello from backend :5000\n";

/// What bash's forked child does before `execve`: pipe ends onto 0/1, then the
/// redirections in order, then exec. Exit 127/126 like bash when exec fails.
async fn child(c: Sys, cmd: Cmd, stdin: Option<Fd>, stdout: Option<Fd>, close: Vec<Fd>) -> i32 {
    if cmd.delay_us > 0 {
        let _ = c.sleep_us(cmd.delay_us).await;
    }
    if let Some(fd) = stdin {
        c.dup2(fd, 0).await.unwrap();
    }
    if let Some(fd) = stdout {
        c.dup2(fd, 1).await.unwrap();
    }
    for fd in close {
        let _ = c.close(fd).await;
    }
    for r in &cmd.redirs {
        match r {
            Redir::Open(fd, path, flags) => match c.open(path, *flags).await {
                Ok(got) => {
                    if got != *fd {
                        c.dup2(got, *fd).await.unwrap();
                        c.close(got).await.unwrap();
                    }
                }
                Err(_) => return 1,
            },
            Redir::Dup(fd, to) => {
                c.dup2(*to, *fd).await.unwrap();
            }
        }
    }
    let name = &cmd.argv[0];
    let path = if name.contains('/') {
        name.clone()
    } else if c.stat(&format!("/usr/bin/{name}")).await.is_ok() {
        format!("/usr/bin/{name}")
    } else {
        format!("/bin/{name}")
    };
    let e = c.execve(&path, cmd.argv.clone()).await;
    if e == pipelab_sim::kernel::Errno::ENOENT {
        127
    } else {
        126
    }
}

/// Runs `cmds` as one pipeline from the test process (the way bash forks and
/// wires `a | b | c`) and returns the exit statuses in order: `PIPESTATUS`.
pub async fn pipeline(sys: &Sys, cmds: Vec<Cmd>) -> Vec<i32> {
    let n = cmds.len();
    let mut pipes = Vec::new();
    for _ in 1..n {
        pipes.push(sys.pipe().await.unwrap());
    }
    let all: Vec<Fd> = pipes.iter().flat_map(|(r, w)| [*r, *w]).collect();
    let mut pids = Vec::new();
    for (i, cmd) in cmds.into_iter().enumerate() {
        let stdin = if i > 0 { Some(pipes[i - 1].0) } else { None };
        let stdout = if i + 1 < n { Some(pipes[i].1) } else { None };
        let close = all.clone();
        let pid = sys
            .fork(move |c| child(c, cmd, stdin, stdout, close))
            .await
            .unwrap();
        pids.push(pid);
    }
    for fd in all {
        sys.close(fd).await.unwrap();
    }
    let mut statuses = Vec::new();
    for pid in pids {
        let (_, st) = sys.waitpid(pid as i32, false).await.unwrap().unwrap();
        statuses.push(st.shell_status());
    }
    statuses
}

/// Starts a pipeline in its own test process; its PIPESTATUS lands in `log` as
/// `"NAME PIPESTATUS=a b"`.
pub fn spawn_pipeline(w: &mut World, log: &Log, name: &str, cmds: Vec<Cmd>) -> Pid {
    let log = log.clone();
    let name = name.to_string();
    spawn(w, move |sys| async move {
        let st = pipeline(&sys, cmds).await;
        let shown: Vec<String> = st.iter().map(|s| s.to_string()).collect();
        log.push(format!("{name} PIPESTATUS={}", shown.join(" ")));
        0
    })
}

/// Starts a pipeline in a fresh [`world_programs`] (its PIPESTATUS logged as
/// `"NAME PIPESTATUS=..."`) and runs the world until `until_us`.
pub fn run_pipeline(flavor: NcFlavor, name: &str, cmds: Vec<Cmd>, until_us: u64) -> (World, Log) {
    let mut w = world_programs(flavor);
    let log = Log::default();
    spawn_pipeline(&mut w, &log, name, cmds);
    w.run_until(until_us, |_| false);
    (w, log)
}

/// [`spawn_pipeline`] of one command.
pub fn spawn_cmd(w: &mut World, log: &Log, name: &str, cmd: Cmd) -> Pid {
    spawn_pipeline(w, log, name, vec![cmd])
}

/// A [`world_programs`] of `flavor` and its log, with `server` started at t=0
/// and its PIPESTATUS logged as `name`.
pub fn world_running(flavor: NcFlavor, name: &str, server: Cmd) -> (World, Log) {
    let mut w = world_programs(flavor);
    let log = Log::default();
    spawn_cmd(&mut w, &log, name, server);
    (w, log)
}

/// [`world_running`] the `backend` (the [`backend`] command, redirected as the
/// test needs), logged as `backend`.
pub fn world_with_backend(flavor: NcFlavor, backend: Cmd) -> (World, Log) {
    world_running(flavor, "backend", backend)
}

/// The seed's FIFO proxy, `LISTENER < /tmp/f | CONNECTOR > /tmp/f`; the caller
/// makes the FIFO.
pub fn fifo_proxy(listener: Cmd, connector: Cmd) -> Vec<Cmd> {
    vec![listener.stdin("/tmp/f"), connector.stdout("/tmp/f")]
}

/// The contents of a regular file in the VFS, as text.
pub fn file(w: &World, path: &str) -> String {
    match w.kernel().vfs.inode(path) {
        Some(pipelab_sim::kernel::fs::Inode::File { data }) => {
            String::from_utf8_lossy(data).into_owned()
        }
        other => panic!("{path} is not a file: {other:?}"),
    }
}

/// The strace-like text of the whole run.
pub fn strace(w: &World) -> String {
    pipelab_sim::trace::strace(&w.kernel().trace)
}

// ------------------------------------------------------------ syscall steps

/// `socket(2)` and `connect(2)` to `addr` (`"127.0.0.1:PORT"`), as a client
/// that expects the server to be there.
pub async fn connect_to(sys: &Sys, addr: &str) -> Fd {
    let s = sys.socket().await.unwrap();
    sys.connect(s, addr.parse().unwrap()).await.unwrap();
    s
}

/// Reads `fd` in reads of at most `count` bytes until EOF.
pub async fn read_to_end(sys: &Sys, fd: Fd, count: usize) -> Vec<u8> {
    let mut all = Vec::new();
    loop {
        let d = sys.read(fd, count).await.unwrap();
        if d.is_empty() {
            return all;
        }
        all.extend(d);
    }
}

// ------------------------------------------------------- a finished run

/// The first process that ran `argv0`.
pub fn pid_of(w: &World, argv0: &str) -> Pid {
    w.kernel()
        .procs
        .values()
        .find(|p| p.argv.first().map(String::as_str) == Some(argv0))
        .map(|p| p.pid)
        .unwrap_or_else(|| panic!("no process ran {argv0}"))
}

/// The completed syscalls of `pid`, as (name, strace text).
pub fn syscalls_of(w: &World, pid: Pid) -> Vec<(&'static str, String)> {
    w.kernel()
        .trace
        .iter()
        .filter(|e| e.pid == Some(pid))
        .filter_map(|e| match &e.kind {
            pipelab_sim::trace::EventKind::Syscall { name, text, .. } => {
                Some((*name, text.to_string()))
            }
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------- assertions

/// Asserts that `text` (a trace, a log file) contains each of `wants`.
pub fn assert_contains_all(text: &str, wants: &[&str]) {
    for want in wants {
        assert!(text.contains(want), "no `{want}` in\n{text}");
    }
}

/// Asserts that the first occurrence of each of `wants` in `text` comes after
/// the first occurrence of the one before it.
pub fn assert_in_order(text: &str, wants: &[&str]) {
    let at = |want: &str| {
        text.find(want)
            .unwrap_or_else(|| panic!("no `{want}` in\n{text}"))
    };
    for pair in wants.windows(2) {
        assert!(
            at(pair[0]) < at(pair[1]),
            "`{}` is not before `{}` in\n{text}",
            pair[0],
            pair[1]
        );
    }
}

/// Asserts that the log has each of `wants` among its lines.
pub fn assert_logged(lines: &[String], wants: &[&str]) {
    for want in wants {
        assert!(lines.iter().any(|l| l == want), "no {want:?} in {lines:?}");
    }
}

/// [`assert_logged`] for one case of a table (a flavor, a seed), which a
/// failure names.
pub fn assert_logged_for(case: impl std::fmt::Debug, lines: &[String], wants: &[&str]) {
    for want in wants {
        assert!(
            lines.iter().any(|l| l == want),
            "{case:?}: no {want:?} in {lines:?}"
        );
    }
}
