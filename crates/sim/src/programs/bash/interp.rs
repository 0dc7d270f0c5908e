//! The interpreter: walks the syntax tree the way bash 5.2 runs a `-c` script,
//! making the syscalls bash makes.
//!
//! What it does as bash does, because the lessons show it:
//! - every part of a pipeline is a forked child; the children open their own
//!   redirections before `execve`, so a FIFO open blocks in the child (ground truth
//!   §7.2); the parent closes its pipe ends and waits for all of them, in order, and
//!   keeps their statuses in `PIPESTATUS`;
//! - builtins run in the shell itself; their redirections are undone afterwards by
//!   saving the fds above 10 (`fcntl(F_DUPFD, 10)`), as bash does;
//! - a command run with `&` by a script gets `/dev/null` as stdin and ignores
//!   SIGINT and SIGQUIT, since a non-interactive shell has no job control: it
//!   stays in the shell's process group; a simple command
//!   is exec'd in the forked child itself, so `kill $!` reaches the program; a
//!   pipeline run with `&` is forked part by part from the shell, like one in the
//!   foreground, and is one job: `$!` is its last process, `wait` and `kill %N`
//!   take the whole job, and it ends with its last process's status;
//! - background jobs are numbered: `kill` and `wait` take job specs (`%1`, `%%`,
//!   `%-`, `%name`, `%?text`), `jobs` lists them, and an interactive shell says
//!   `[1] 4242` when one starts and `[1]+  Done    cmd` once it has ended (after
//!   the next command it waits for, at the end of `wait`, or before its prompt),
//!   `cmd` printed back from the syntax tree as bash prints it (`syntax::print`);
//! - a script that is one simple command runs it with `exec`, without a fork;
//! - out of processes, a fork is retried four times, 1 to 8 s apart, each retry
//!   announced (`bash: fork: retry: ...`); then bash gives up the line (an
//!   interactive shell prompts again, a script exits 254);
//! - a foreground command killed by a signal other than SIGINT and SIGPIPE is
//!   reported (`Terminated`, or `bash: line 1:  PID Killed   CMD`, a line per
//!   process for a pipeline job);
//! - an interactive shell has job control (measured with `strace -f` on a
//!   pty): its terminal fd is 255 (`dup(2)`, `dup2(3, 255)`, close-on-exec);
//!   each job it forks is a process group of its own ([`Pgrp`]), so a Ctrl-C
//!   reaches the foreground job only: the terminal is given to the job
//!   (`ioctl(255, TIOCSPGRP, [PGID])`, by the shell and by each of the
//!   job's processes) and taken back once it is waited for, with SIGCHLD
//!   and the stop signals blocked around each (`give_terminal`);
//!   `kill %N` is one `kill(-PGID, SIG)`; the children of its subshells stay in
//!   their group;
//! - every shell that runs commands itself has a SIGCHLD handler, interactive
//!   or not, subshells too (`catch_sigchld`), and blocks SIGCHLD
//!   where it must not run, with bash's `rt_sigprocmask` calls (measured with
//!   strace): `make_child` blocks SIGINT, SIGTERM and SIGCHLD across the
//!   fork and puts the mask back in the parent, while the child starts
//!   with the shell's first mask; a pipeline is made and waited for
//!   with SIGCHLD blocked (`execute_pipeline`), and so is every wait
//!   (`wait_for`). The SIGCHLD that came meanwhile is delivered when the mask
//!   is put back, and the handler finds the child reaped already: `wait4(-1,
//!   ..., WNOHANG, NULL) = -1 ECHILD`.
//! - stopped jobs (measured on a pty): the shell ignores SIGTSTP, SIGTTIN and
//!   SIGTTOU, its jobs' children put them back to the default; a foreground
//!   job Ctrl-Z stops is told (`[1]+  Stopped  sleep 30`) and joins the
//!   table; `fg` and `bg` continue a job with `kill(-PGID, SIGCONT)`; a
//!   background job keeps the terminal as stdin and is stopped by SIGTTIN if
//!   it reads it; `exit` with stopped jobs warns once, then sends them
//!   SIGTERM and SIGCONT.
//!
//! Of bash's mask calls, those left out change nothing a learner sees (the
//! mask around fork and wait decides when the handler runs), and their number
//! follows bash's job table internals: the pairs (`rt_sigprocmask(SIG_BLOCK,
//! [CHLD], [], 8)` and back) around entering a job in its table
//! (`stop_pipeline`, once per job, after its forks; before the fork for a
//! command substitution), left out for the page's size budget (they cost 200
//! of its gzipped bytes), and those its bookkeeping nests inside them, a few
//! per background or ended job, and those around `kill`, `jobs`, `wait` and
//! exit; the reads of the mask (`rt_sigprocmask(SIG_BLOCK, NULL, [], 8)`)
//! it makes before each fork, which the next call's old mask repeats, and
//! those its `sigsetjmp` makes elsewhere, for the page's size; SIGINT
//! blocked around reading a command substitution's output; and readline's
//! `[HUP INT QUIT ALRM TERM TSTP TTIN TTOU]` around the prompt. (Without
//! the pair around entering a job, the shell's `give_terminal` shows the
//! mask it finds there as `[]` where bash's shows `[CHLD]`, outside a
//! pipeline.) Nor does it show the handlers bash swaps around its calls:
//! SIGINT's around a non-interactive wait, SIGTERM's around an interactive
//! fork.
//!
//! Simplifications: no globbing, no `~` or brace expansion (they stay literal, as the
//! parser documents); no environment beyond the shell's variables (programs get
//! argv only); `read` reads one byte per call, as bash does on pipes. Of job
//! control: bash's `TIOCGPGRP` looks (at start, and before giving the
//! terminal away) and its `TIOCSPGRP` before each prompt are left out, as
//! they change nothing here; a stopped `( subshell )` is not made a job (a
//! simple command and a pipeline are); the current job (`+`) is the last in
//! the table, not the one that stopped last.

use crate::vecmap::VecMap;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use super::syntax::*;
use crate::kernel::fs::{Inode, OpenFlags};
use crate::kernel::process::ExitStatus;
use crate::kernel::signal::mask_of;
use crate::kernel::{Disposition, Errno, Fd, Pid, SigHow, Signal, SysResult};
use crate::sys::Sys;

/// PATH of a root shell on Debian.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What an interactive shell prints before reading a command (to stderr, as bash).
pub const PROMPT: &str = "$ ";

/// What it prints while a command is unfinished (bash's PS2).
const PS2: &str = "> ";

/// Fds at or above this are the shell's own (saved fds during a builtin's redirections).
const SAVED_FD_MIN: Fd = 10;

/// SIGCHLD, as a mask: bash blocks it while it makes a pipeline and while
/// it waits for a job.
const CHLD: u64 = mask_of(&[Signal::SIGCHLD]);

/// SIGTERM, which a fork retry keeps blocked.
const TERM: u64 = mask_of(&[Signal::SIGTERM]);

/// What bash's `make_child` blocks from before the fork until the child
/// exists: SIGINT, SIGTERM and SIGCHLD.
const FORK_BLOCKED: u64 = mask_of(&[Signal::SIGINT, Signal::SIGTERM, Signal::SIGCHLD]);

/// What bash blocks while it hands its terminal over (`give_terminal_to`):
/// SIGCHLD and job control's stop signals.
const TTY_BLOCKED: u64 = mask_of(&[
    Signal::SIGCHLD,
    Signal::SIGTSTP,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
]);

/// An interactive bash's own fd on its terminal, for job control (a copy of
/// stderr, close-on-exec).
const TTY_FD: Fd = 255;

/// How many loop iterations a script may run: a `while true` with nothing that
/// blocks would otherwise spin until the step limit with no output.
const MAX_LOOP_ITERATIONS: u64 = 1_000_000;

/// How deep function calls and trap actions may nest. Real bash nests until its
/// 8 MiB stack runs out (about 8,000 calls here, then SIGSEGV); each level here is
/// a chain of boxed futures polled on the host's stack, and the browser's stack
/// holds about 1,000 of them, so the simulator stops well before that.
const MAX_NESTING: u32 = 100;

/// What a command asks of the commands around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Normal,
    Exit(i32),
    Break(u32),
    Continue(u32),
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// One bash process's state. Cloned into forked children (subshells, pipeline
/// parts), as `fork` copies the shell's memory.
#[derive(Clone, Debug)]
pub struct Shell {
    sys: Sys,
    source: String,
    vars: VecMap<String, String>,
    positional: Vec<String>,
    /// `$0`.
    name: String,
    status: i32,
    pipestatus: Vec<i32>,
    last_bg: Option<Pid>,
    /// `$$`: the top shell's pid, also in subshells.
    top_pid: Pid,
    pipefail: bool,
    errexit: bool,
    /// Inside an `if`/`while` condition or before `&&`/`||`: `set -e` does not fire.
    in_condition: u32,
    traps: VecMap<Signal, String>,
    exit_trap: Option<String>,
    functions: VecMap<String, Command>,
    /// Where commands were found (`hash`).
    hash: VecMap<String, String>,
    /// Children reaped while waiting for another one, with their statuses.
    reaped: VecMap<Pid, ExitStatus>,
    /// Background children not yet waited for: bash's job table.
    jobs: Vec<Job>,
    /// The process group of the job being forked, with job control.
    pgrp: Option<Pgrp>,
    /// The last process of the foreground job the terminal was given to: once
    /// it is waited for, the shell takes the terminal back.
    given: Option<Pid>,
    /// This process is a forked child of the shell (a subshell or pipeline part).
    subshell: bool,
    /// A Ctrl-C with no trap arrived: an interactive shell drops the rest of the line.
    interrupted: bool,
    /// Function calls and trap actions now running, one inside the other.
    nesting: u32,
    /// The last command was `exit` or `jobs`: `exit` leaves even with stopped
    /// jobs ([`Shell::leave`]).
    exit_ok: bool,
    /// Reading commands from a terminal (`bash -i`) rather than running `-c SCRIPT`.
    interactive: bool,
    /// Trapped signals caught at the prompt along with a Ctrl-C: their traps run
    /// with the next ones ([`Shell::run_traps`]).
    deferred: Vec<Signal>,
    /// What the interactive shell's SIGCHLD handler reaped, for the shell to
    /// take into its job table at its next safe point ([`Shell::take_reaped`]).
    sigchld_reaped: Rc<RefCell<Vec<(Pid, ExitStatus)>>>,
    /// The script line of the command being run, for error messages.
    line: usize,
    /// Where each line of `source` ends: a command's line is a binary search,
    /// not a count of the newlines before it.
    newlines: Vec<usize>,
    /// echo's output line, kept from one echo to the next so that a loop of
    /// them does not allocate one each.
    line_buf: String,
}

/// A background job in bash's table: `[number]`, its processes (one, or each
/// part of a pipeline), its command text, and how it ended once every process
/// was reaped. An ended job stays in the table until bash next tells about jobs
/// ([`Shell::notify_jobs`]): `jobs` still lists it and `wait %N` still finds it
/// until then.
#[derive(Clone, Debug)]
struct Job {
    number: u32,
    /// What bash shows for the job: its parts joined by ` | `.
    text: String,
    /// First to last; never empty.
    procs: Vec<JobProc>,
    /// A process of it stopped (and none went on since); `told`: bash said so.
    stopped: bool,
    told: bool,
}

/// One process of a job: its pid, its part of the command, its status once reaped.
#[derive(Clone, Debug)]
struct JobProc {
    pid: Pid,
    text: String,
    status: Option<ExitStatus>,
}

/// With job control (an interactive shell's own forks), each job is a process
/// group led by its first process, as bash's `make_child` makes it (measured:
/// both the parent and the child call `setpgid(CHILD, PGID)`, and a foreground
/// job's children and then the parent `ioctl(255, TIOCSPGRP, [PGID])`;
/// `$(...)` stays in the shell's group). bash's pgrp pipe (`pipe2` just
/// before the job's first fork)
/// holds the group's leader until every process of the job is forked: the
/// leader reads it to EOF, which comes once the parent closes it.
#[derive(Clone, Copy, Debug)]
struct Pgrp {
    /// The group: the job's first process (0 until it is forked), or the shell's.
    pgid: Pid,
    /// The pgrp pipe (read end, write end).
    sync: Option<(Fd, Fd)>,
    /// The job gets the terminal: not run with `&`, nor a `$(...)`.
    foreground: bool,
}

/// What a forked child of the shell is for.
#[derive(Clone, Debug)]
enum Child {
    /// `cmd &`: a background job of one command or an and-or list.
    Background(AndOr),
    /// One command of a pipeline, between pipes.
    PipelinePart {
        cmd: Command,
        /// The pipe to the next part: (read end, write end).
        pipe: Option<(Fd, Fd)>,
        /// The read end of the pipe from the part before.
        stdin: Option<Fd>,
        background: bool,
    },
    /// `( list )`.
    Subshell {
        list: List,
        redirects: Vec<Redirect>,
    },
    /// A program run in the foreground.
    External {
        name: String,
        path: Option<String>,
        argv: Vec<String>,
        redirects: Vec<Redirect>,
    },
    /// `$(script)`, its stdout into the pipe (read end, write end).
    Substitution { script: Script, pipe: (Fd, Fd) },
}

impl Job {
    /// The last process: `$!`, and the pid in `[1] PID`.
    fn pid(&self) -> Pid {
        self.procs.last().expect("a job has a process").pid
    }

    /// The last process's status, once every process has ended.
    fn ended(&self) -> Option<ExitStatus> {
        if self.running().next().is_some() {
            return None;
        }
        self.procs.last().and_then(|p| p.status)
    }

    fn has(&self, pid: Pid) -> bool {
        self.procs.iter().any(|p| p.pid == pid)
    }

    /// The processes not reaped yet.
    fn running(&self) -> impl Iterator<Item = Pid> + '_ {
        self.procs
            .iter()
            .filter(|p| p.status.is_none())
            .map(|p| p.pid)
    }
}

impl Shell {
    pub fn new(sys: Sys, source: String, name: String, positional: Vec<String>) -> Shell {
        let top_pid = sys.pid();
        let mut vars = VecMap::new();
        vars.insert("PATH".to_string(), PATH.to_string());
        vars.insert("IFS".to_string(), " \t\n".to_string());
        let newlines = newline_offsets(&source);
        Shell {
            sys,
            source,
            newlines,
            vars,
            positional,
            name,
            status: 0,
            pipestatus: vec![0],
            last_bg: None,
            top_pid,
            pipefail: false,
            errexit: false,
            in_condition: 0,
            traps: VecMap::new(),
            exit_trap: None,
            functions: VecMap::new(),
            hash: VecMap::new(),
            reaped: VecMap::new(),
            jobs: Vec::new(),
            pgrp: None,
            given: None,
            subshell: false,
            interrupted: false,
            nesting: 0,
            exit_ok: false,
            interactive: false,
            deferred: Vec::new(),
            sigchld_reaped: Rc::default(),
            line: 1,
            line_buf: String::new(),
        }
    }

    /// Makes `text` the source that spans point into.
    fn set_source(&mut self, text: String) -> String {
        self.newlines = newline_offsets(&text);
        std::mem::replace(&mut self.source, text)
    }

    fn line_of(&self, span: Span) -> usize {
        1 + self.newlines.partition_point(|&i| i < span.start)
    }

    /// An error message as bash words it: a `-c` script's names the line
    /// (`bash: line 3: foo: command not found`), an interactive shell's does not.
    async fn err(&self, msg: &str) {
        let text = if self.interactive {
            format!("bash: {msg}\n")
        } else {
            format!("bash: line {}: {msg}\n", self.line)
        };
        let _ = self.sys.write(2, text.as_bytes()).await;
    }

    /// Runs the whole script and returns the shell's exit status.
    pub async fn run_script(mut self, script: Script) -> i32 {
        let _ = self.catch_sigchld().await;
        // A script that is exactly one simple command is exec'd without a fork.
        if let [item] = script.body.items.as_slice()
            && !item.background
            && item.and_or.rest.is_empty()
            && !item.and_or.first.negated
            && let [Command::Simple(cmd)] = item.and_or.first.commands.as_slice()
            && self.exit_trap.is_none()
        {
            let cmd = cmd.clone();
            return match self.exec_simple(&cmd, true).await {
                Flow::Exit(c) => c,
                _ => self.status,
            };
        }
        let flow = self.exec_list(&script.body).await;
        let code = match flow {
            Flow::Exit(c) => c,
            _ => self.status,
        };
        self.finish(code).await
    }

    /// An interactive shell: prompt, read a line from the terminal, run it, again,
    /// until end of file. Ctrl-C interrupts the foreground command, not the shell.
    pub async fn run_interactive(mut self) -> i32 {
        self.interactive = true;
        let _ = self
            .sys
            .sigaction(Signal::SIGINT, Disposition::Handler { restart: false })
            .await;
        let _ = self
            .sys
            .sigaction(Signal::SIGQUIT, Disposition::Ignore)
            .await;
        // The shell itself is never stopped by the terminal (measured, in
        // this order); its jobs' children put these back to the default.
        for sig in [Signal::SIGTSTP, Signal::SIGTTOU, Signal::SIGTTIN] {
            let _ = self.sys.sigaction(sig, Disposition::Ignore).await;
        }
        // Job control: a terminal fd of its own (measured with a shell that
        // leads its group on its terminal, as here: no `setpgid`, no
        // `TIOCSPGRP`).
        if let Ok(fd) = self.sys.dup_min(2, 0).await {
            let _ = self.sys.dup2(fd, TTY_FD).await;
            let _ = self.sys.close(fd).await;
        }
        let _ = self.sys.set_cloexec(TTY_FD, true).await;
        let _ = self.catch_sigchld().await;
        let mut pending = Vec::new();
        loop {
            // What the SIGCHLD handler reaped meanwhile is told before the
            // prompt (measured: `kill -9 %1` of a stopped job, `Killed`).
            self.take_reaped().await;
            self.notify_jobs().await;
            let _ = self.sys.write(2, PROMPT.as_bytes()).await;
            // Lines until they parse: an unfinished command (an open quote, a
            // `while` with no `done` yet) gets bash's continuation prompt.
            let mut text = String::new();
            let parsed = loop {
                if let Some(i) = pending.iter().position(|&b| b == b'\n') {
                    let rest = pending.split_off(i + 1);
                    let line = std::mem::replace(&mut pending, rest);
                    text.push_str(&String::from_utf8_lossy(&line));
                    match parse(&text) {
                        Err(e) if e.is_unfinished() => {
                            let _ = self.sys.write(2, PS2.as_bytes()).await;
                            continue;
                        }
                        parsed => break Some(parsed),
                    }
                }
                match self.sys.read(0, 4096).await {
                    Ok(d) if d.is_empty() => break None,
                    Ok(d) => pending.extend(d),
                    Err(Errno::EINTR) => {
                        // Ctrl-C clears the line; a trapped signal caught with it
                        // still runs its trap once a line is read.
                        let mut ctrl_c = false;
                        for sig in self.sys.take_caught_signals() {
                            match sig {
                                Signal::SIGINT => ctrl_c = true,
                                other => self.deferred.push(other),
                            }
                        }
                        pending.clear();
                        text.clear();
                        // The terminal echoed `^C`; bash ends that line.
                        if ctrl_c {
                            let _ = self.sys.write(2, b"\n").await;
                        }
                        let _ = self.sys.write(2, PROMPT.as_bytes()).await;
                    }
                    Err(_) => break None,
                }
            };
            let Some(parsed) = parsed else {
                if !text.is_empty() {
                    let _ = self
                        .sys
                        .write(2, b"bash: syntax error: unexpected end of file\n")
                        .await;
                }
                let _ = self.sys.write(2, b"exit\n").await;
                let code = self.status;
                if !self.leave().await {
                    continue;
                }
                return self.finish(code).await;
            };
            // A SIGCHLD that came while the line was typed was handled then.
            self.reap_jobs().await;
            match parsed {
                Ok(script) => {
                    self.set_source(text);
                    if let Flow::Exit(code) = self.exec_list(&script.body).await {
                        let _ = self.sys.write(2, b"exit\n").await;
                        if self.leave().await {
                            return self.finish(code).await;
                        }
                    }
                    self.run_traps().await;
                    self.interrupted = false;
                }
                Err(e) => {
                    let _ = self
                        .sys
                        .write(2, super::syntax_error_text(&e, &text, true).as_bytes())
                        .await;
                    self.status = 2;
                }
            }
        }
    }

    /// bash's SIGCHLD handler, which every shell that runs commands itself
    /// installs, interactive or not, and a subshell again after it reset the
    /// signals (measured): `wait4(-1, ..., WNOHANG, NULL)`
    /// (`WNOHANG|WSTOPPED|WCONTINUED` with job control) until no child is
    /// left to reap, with SA_RESTART, so a read from the terminal goes on.
    /// The handler only collects; the shell takes the statuses in at its next
    /// safe point ([`Shell::take_reaped`]), so job notices keep their measured
    /// place.
    fn catch_sigchld(&mut self) -> impl Future<Output = SysResult<Disposition>> + '_ {
        let reaped: Rc<RefCell<Vec<_>>> = Rc::default();
        self.sigchld_reaped = reaped.clone();
        let opts = self.reap_opts();
        self.sys.sigaction_handler(
            Signal::SIGCHLD,
            true,
            Rc::new(move |sys| {
                let reaped = reaped.clone();
                Box::pin(async move {
                    while let Ok(Some(got)) = sys.waitpid_shown(-1, true, opts).await {
                        reaped.borrow_mut().push(got);
                    }
                })
            }),
        )
    }

    /// The options of bash's `wait4(-1, ..., WNOHANG)` that reaps what has
    /// ended: with job control it asks for stopped and continued children too.
    fn reap_opts(&self) -> &'static str {
        if self.job_control() {
            "WNOHANG|WSTOPPED|WCONTINUED"
        } else {
            "WNOHANG"
        }
    }

    /// `rt_sigprocmask(SIG_BLOCK, set, &old, 8)`: blocks `set` (a mask) and
    /// returns the mask as it was, for [`Shell::set_mask`] to put back. (The
    /// call's own future, not an `async fn` around it: one state machine
    /// less in every caller, for the page's size.)
    fn block(&self, set: u64) -> impl Future<Output = SysResult<u64>> + '_ {
        self.sys.sigprocmask_as(SigHow::Block, Some(set), true)
    }

    /// `rt_sigprocmask(SIG_SETMASK, mask, NULL, 8)`: a signal it unblocks that
    /// came meanwhile is handled as the call returns.
    fn set_mask(&self, mask: u64) -> impl Future<Output = SysResult<u64>> + '_ {
        self.sys.sigprocmask_as(SigHow::SetMask, Some(mask), false)
    }

    async fn finish(&mut self, code: i32) -> i32 {
        if let Some(action) = self.exit_trap.take() {
            // The EXIT trap runs even after a throw to top level.
            self.interrupted = false;
            self.status = code;
            self.run_string(&action).await;
        }
        code
    }

    /// Runs `text` as commands (a trap action).
    async fn run_string(&mut self, text: &str) {
        match parse(text) {
            Ok(script) => {
                let saved = self.set_source(text.to_string());
                let status = self.status;
                self.exec_list(&script.body).await;
                self.set_source(saved);
                self.status = status;
            }
            Err(e) => self.err(&e.message.replace("bash: ", "")).await,
        }
    }

    /// First thing in a child an interactive shell forks, after the mask and
    /// once in its job's group: bash puts back the signals it handles itself
    /// (SIGINT and SIGCHLD caught, SIGQUIT ignored) to their defaults, so a
    /// Ctrl-C kills the child, subshell or not (measured: the child's
    /// `rt_sigaction` calls come before anything else it does but the
    /// group's). With `catch`, a child that runs
    /// commands itself (a subshell, a compound command in a pipeline), of any
    /// shell, then puts back bash's SIGCHLD handler (measured: before the
    /// pipe's `dup2`s).
    async fn restore_signals_in_child(&mut self, catch: bool) {
        if self.interactive {
            for sig in [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGCHLD] {
                let _ = self.sys.sigaction(sig, Disposition::Default).await;
            }
        }
        if catch {
            let _ = self.catch_sigchld().await;
        }
    }

    /// Runs the actions of traps whose signals arrived.
    async fn run_traps(&mut self) {
        let mut caught = std::mem::take(&mut self.deferred);
        caught.extend(self.sys.take_caught_signals());
        for sig in caught {
            if let Some(action) = self.traps.get(&sig).cloned() {
                // bash's own words when a trap handler nests too deep.
                if !self
                    .nest("trap handler: maximum trap handler level exceeded")
                    .await
                {
                    continue;
                }
                Box::pin(self.run_string(&action)).await;
                self.nesting -= 1;
            } else if sig == Signal::SIGINT {
                // A Ctrl-C the shell itself got (in `read`, say): bash ends the
                // terminal's `^C` line before it prompts again.
                if self.job_control() && !self.interrupted {
                    let _ = self.sys.write(2, b"\n").await;
                }
                self.interrupted = true;
            }
        }
    }

    /// One level deeper into a function or trap action, or, at [`MAX_NESTING`],
    /// an error that drops the rest of the command line as bash's FUNCNEST does.
    async fn nest(&mut self, what: &str) -> bool {
        if self.nesting < MAX_NESTING {
            self.nesting += 1;
            return true;
        }
        self.err(&format!(
            "{what} (pipelab stops at {MAX_NESTING}; real bash goes on until its stack runs out)"
        ))
        .await;
        self.status = 1;
        self.interrupted = true;
        false
    }

    async fn exec_list(&mut self, list: &List) -> Flow {
        for item in &list.items {
            // A Ctrl-C in an interactive shell drops the rest of the line, from
            // inside any loop or list (bash's throw to top level).
            if self.interrupted {
                break;
            }
            let flow = if item.background {
                Box::pin(self.exec_background(&item.and_or)).await;
                Flow::Normal
            } else {
                self.exec_and_or(&item.and_or).await
            };
            self.run_traps().await;
            if flow != Flow::Normal {
                return flow;
            }
            if self.interrupted {
                break;
            }
        }
        Flow::Normal
    }

    async fn exec_and_or(&mut self, and_or: &AndOr) -> Flow {
        let guarded = !and_or.rest.is_empty();
        if guarded {
            self.in_condition += 1;
        }
        let mut flow = self.exec_pipeline(&and_or.first).await;
        for (i, (op, pipeline)) in and_or.rest.iter().enumerate() {
            if flow != Flow::Normal || self.interrupted {
                break;
            }
            let run = match op {
                AndOrOp::And => self.status == 0,
                AndOrOp::Or => self.status != 0,
            };
            if run {
                // The last pipeline of the list is not guarded by `set -e`'s exception.
                if i + 1 == and_or.rest.len() && guarded {
                    self.in_condition -= 1;
                    flow = self.exec_pipeline(pipeline).await;
                    self.in_condition += 1;
                } else {
                    flow = self.exec_pipeline(pipeline).await;
                }
            }
        }
        if guarded {
            self.in_condition -= 1;
        }
        flow
    }

    async fn exec_background(&mut self, and_or: &AndOr) {
        // A pipeline alone: the shell forks each part itself, as for a pipeline
        // in the foreground, and waits for none (measured: `a | b &` is two
        // clones from the shell, no subshell; `$!` is b).
        if and_or.rest.is_empty() && !and_or.first.negated && and_or.first.commands.len() > 1 {
            let pipeline = &and_or.first;
            let (pids, old) = self.spawn_pipeline(pipeline, true).await;
            let _ = self.set_mask(old).await;
            if let Some(&last) = pids.last() {
                let texts = pipeline
                    .commands
                    .iter()
                    .map(|c| print::command_text(&self.source, c));
                let procs = pids
                    .iter()
                    .zip(texts)
                    .map(|(&pid, text)| JobProc {
                        pid,
                        text,
                        status: None,
                    })
                    .collect();
                self.add_job(last, procs).await;
            } else {
                self.status = 254;
            }
            return;
        }
        let r = self.make_child(Child::Background(and_or.clone())).await;
        match r {
            Ok(pid) => {
                let text = print::job_text(&self.source, and_or);
                let procs = vec![JobProc {
                    pid,
                    text,
                    status: None,
                }];
                self.add_job(pid, procs).await;
            }
            Err(e) => self.fork_gave_up(e).await,
        }
    }

    /// Forks a copy of this shell to run `child`: every child the shell makes
    /// goes through here, as through bash's `make_child` (and one `fork` call
    /// site keeps the wasm small). As bash's, it blocks SIGINT, SIGTERM and
    /// SIGCHLD across the fork (`rt_sigprocmask(SIG_BLOCK, [INT TERM CHLD],
    /// [], 8)`) and puts the mask back in the parent; the child starts with
    /// the shell's first mask ([`Shell::run_child`]). A fork that fails for
    /// want of processes is tried again
    /// ([`Shell::fork_retry`]); one that fails for good leaves the mask to
    /// [`Shell::fork_gave_up`].
    async fn make_child(&mut self, child: Child) -> Result<Pid, Errno> {
        let old = self.block(FORK_BLOCKED).await.unwrap_or(0);
        // A job's first fork opens its pgrp pipe (measured: once the mask
        // is set, just before the fork).
        if self.job_control() && self.pgrp.is_none() {
            let comsub = matches!(child, Child::Substitution { .. });
            self.pgrp = Some(Pgrp {
                pgid: if comsub { self.top_pid } else { 0 },
                sync: self.sys.pipe().await.ok(),
                foreground: !comsub
                    && !matches!(
                        child,
                        Child::Background(_)
                            | Child::PipelinePart {
                                background: true,
                                ..
                            }
                    ),
            });
        }
        let mut retries = 0;
        loop {
            let mut shell = self.clone();
            shell.subshell = true;
            // Its own: the child's memory is a copy, not this.
            shell.sigchld_reaped = Rc::default();
            let job = child.clone();
            let r = self
                .sys
                .fork(move |sys| {
                    shell.sys = sys;
                    shell.run_child(job)
                })
                .await;
            let r = match r {
                Err(e) => match self.fork_retry(e, &mut retries, old).await {
                    Ok(()) => continue,
                    Err(e) => Err(e),
                },
                Ok(pid) => {
                    if let Some(g) = self.pgrp.as_mut() {
                        if g.pgid == 0 {
                            g.pgid = pid;
                        }
                        if g.foreground {
                            self.given = Some(pid);
                        }
                        let pgid = g.pgid;
                        let _ = self.sys.setpgid(pid, pgid).await;
                    }
                    let _ = self.set_mask(old).await;
                    Ok(pid)
                }
            };
            // A pipeline's parts are one job: it ends after the last.
            if !matches!(child, Child::PipelinePart { .. }) {
                self.job_forked().await;
            }
            return r;
        }
    }

    /// bash's `stop_pipeline`: every process of the job is forked, and the
    /// parent closes the pgrp pipe, which lets the job's leader go on, and
    /// gives a foreground job the terminal too (measured: as its children
    /// do, whichever comes first).
    async fn job_forked(&mut self) {
        let Some(g) = self.pgrp.take() else {
            return;
        };
        if let Some((r, w)) = g.sync {
            let _ = self.sys.close(r).await;
            let _ = self.sys.close(w).await;
        }
        if g.foreground && g.pgid != 0 {
            self.give_terminal(g.pgid).await;
        }
    }

    /// bash's `give_terminal_to`: `ioctl(255, TIOCSPGRP, [PGID])` with
    /// SIGCHLD and the stop signals blocked (measured:
    /// `rt_sigprocmask(SIG_BLOCK, [CHLD TSTP TTIN TTOU], [], 8)` before, the
    /// mask put back after).
    async fn give_terminal(&self, pgid: Pid) {
        let old = self.block(TTY_BLOCKED).await.unwrap_or(0);
        let _ = self.sys.tcsetpgrp(TTY_FD, pgid).await;
        let _ = self.set_mask(old).await;
    }

    /// First thing in a process of a job: it joins the job's group, a
    /// foreground job's takes the terminal, and the group's leader waits on
    /// the pgrp pipe until the parent has forked the whole job. Whether the
    /// shell that forked it has job control.
    async fn join_pgrp(&mut self) -> bool {
        let Some(g) = self.pgrp.take() else {
            return false;
        };
        let me = self.sys.pid();
        let pgid = if g.pgid == 0 { me } else { g.pgid };
        // A job's processes may be stopped from the terminal; a `$(...)` in
        // the shell's group may not (measured: SIG_DFL, or SIG_IGN again).
        let d = if pgid == self.top_pid {
            Disposition::Ignore
        } else {
            Disposition::Default
        };
        for sig in [Signal::SIGTSTP, Signal::SIGTTIN, Signal::SIGTTOU] {
            let _ = self.sys.sigaction(sig, d).await;
        }
        let _ = self.sys.setpgid(me, pgid).await;
        if g.foreground {
            self.give_terminal(pgid).await;
        }
        if let Some((r, w)) = g.sync {
            let leader = pgid == me;
            let _ = self.sys.close(if leader { w } else { r }).await;
            if leader {
                let _ = self.sys.read(r, 1).await;
            }
            let _ = self.sys.close(if leader { r } else { w }).await;
        }
        true
    }

    /// What a forked child does first, then the command it was forked for; its
    /// exit status.
    async fn run_child(mut self, child: Child) -> i32 {
        // The mask the shell started with (bash's `restore_sigmask`), which
        // unblocks what `make_child` blocked.
        let _ = self.set_mask(0).await;
        let job_control = self.join_pgrp().await;
        let flow = match child {
            Child::Background(and_or) => {
                if job_control {
                    // Out of the terminal's way in a group of its own: its
                    // signals are reset as a foreground job's are.
                    self.restore_signals_in_child(false).await;
                } else {
                    if self.interactive {
                        let _ = self
                            .sys
                            .sigaction(Signal::SIGCHLD, Disposition::Default)
                            .await;
                    }
                    // No job control: background commands ignore SIGINT and SIGQUIT.
                    for sig in [Signal::SIGINT, Signal::SIGQUIT] {
                        let _ = self.sys.sigaction(sig, Disposition::Ignore).await;
                    }
                }
                // Without job control they read from /dev/null unless
                // redirected; with it, the terminal, which stops them
                // (SIGTTIN) when they read it from the background.
                if !job_control
                    && let Ok(fd) = self.sys.open("/dev/null", OpenFlags::read_only()).await
                    && fd != 0
                {
                    let _ = self.sys.dup2(fd, 0).await;
                    let _ = self.sys.close(fd).await;
                }
                // One simple command is exec'd in this child, not forked again
                // (measured: `kill $!` after `sleep 5 &` kills sleep itself).
                if and_or.rest.is_empty()
                    && !and_or.first.negated
                    && let [Command::Simple(cmd)] = and_or.first.commands.as_slice()
                {
                    self.exec_simple(cmd, true).await
                } else {
                    let _ = self.catch_sigchld().await;
                    self.exec_and_or(&and_or).await
                }
            }
            Child::PipelinePart {
                cmd,
                pipe,
                stdin,
                background,
            } => {
                let compound = matches!(cmd, Command::Compound { .. });
                self.restore_signals_in_child(compound).await;
                if let Some((r, w)) = pipe {
                    let _ = self.sys.close(r).await;
                    let _ = self.sys.dup2(w, 1).await;
                    let _ = self.sys.close(w).await;
                }
                if let Some(r) = stdin {
                    let _ = self.sys.dup2(r, 0).await;
                    let _ = self.sys.close(r).await;
                }
                if background && !job_control {
                    for sig in [Signal::SIGINT, Signal::SIGQUIT] {
                        let _ = self.sys.sigaction(sig, Disposition::Ignore).await;
                    }
                }
                self.exec_command(&cmd, true).await
            }
            Child::Subshell { list, redirects } => {
                self.restore_signals_in_child(true).await;
                if self.apply_redirects(&redirects, false).await.is_err() {
                    return 1;
                }
                self.exec_list(&list).await
            }
            Child::External {
                name,
                path,
                argv,
                redirects,
            } => {
                self.restore_signals_in_child(false).await;
                if self.apply_redirects(&redirects, false).await.is_err() {
                    return 1;
                }
                return self.exec_external(&name, path, argv).await;
            }
            Child::Substitution {
                script,
                pipe: (r, w),
            } => {
                self.restore_signals_in_child(false).await;
                let _ = self.sys.close(r).await;
                let _ = self.sys.dup2(w, 1).await;
                let _ = self.sys.close(w).await;
                return self.run_script(script).await;
            }
        };
        match flow {
            Flow::Exit(c) => c,
            _ => self.status,
        }
    }

    /// A fork that failed with EAGAIN (out of processes) is tried again, as
    /// bash's `make_child` does: with the mask it had before the fork and
    /// SIGTERM blocked (`old`), it reaps what has ended, says so, and sleeps
    /// 1, 2, 4, then 8 seconds before each retry, which it makes with SIGINT,
    /// SIGTERM and SIGCHLD blocked again (measured with `ulimit -u`). A signal
    /// that cuts the sleep short ends the retries (bash: `if (sleep
    /// (forksleep) != 0) break`). Ok to try again, or the error to give up
    /// with.
    async fn fork_retry(&mut self, e: Errno, retries: &mut u32, old: u64) -> Result<(), Errno> {
        if e != Errno::EAGAIN || *retries >= 4 {
            return Err(e);
        }
        let _ = self.set_mask(old | TERM).await;
        while let Ok(Some((pid, st))) = self.sys.waitpid_shown(-1, true, self.reap_opts()).await {
            self.reaped.insert(pid, st);
            self.job_ended(pid, st).await;
        }
        let msg = format!("bash: fork: retry: {}\n", e.text());
        let _ = self.sys.write(2, msg.as_bytes()).await;
        self.sys.sleep_us(1_000_000 << *retries).await?;
        *retries += 1;
        let _ = self.set_mask(FORK_BLOCKED).await;
        Ok(())
    }

    /// The fork failed for good: bash says so and gives up the command line it
    /// was running (`$?` 254, back to the prompt); a script's bash exits with 254
    /// (measured).
    async fn fork_gave_up(&mut self, e: Errno) {
        let msg = format!("bash: fork: {}\n", e.text());
        let _ = self.sys.write(2, msg.as_bytes()).await;
        // bash's `throw_to_top_level` puts back the shell's first mask.
        let _ = self.set_mask(0).await;
        self.status = 254;
        if self.job_control() {
            self.interrupted = true;
        } else {
            let code = self.finish(254).await;
            self.sys.exit(code).await
        }
    }

    /// A background job started: into the table, numbered one past the highest
    /// number in use, as bash does; an interactive shell says `[N] PID`.
    async fn add_job(&mut self, last: Pid, procs: Vec<JobProc>) {
        self.last_bg = Some(last);
        let number = self.jobs.iter().map(|j| j.number).max().unwrap_or(0) + 1;
        let text = procs
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join(" | ");
        self.jobs.push(Job {
            number,
            text,
            procs,
            stopped: false,
            told: false,
        });
        if self.job_control() {
            let notice = format!("[{number}] {last}\n");
            let _ = self.sys.write(2, notice.as_bytes()).await;
        }
        self.status = 0;
    }

    async fn exec_pipeline(&mut self, pipeline: &Pipeline) -> Flow {
        if pipeline.negated {
            self.in_condition += 1;
        }
        let flow = if pipeline.commands.len() == 1 {
            let flow = self.exec_command(&pipeline.commands[0], false).await;
            self.pipestatus.clear();
            self.pipestatus.push(self.status);
            flow
        } else {
            Box::pin(self.exec_multi(pipeline)).await
        };
        if pipeline.negated {
            self.in_condition -= 1;
            self.status = (self.status == 0) as i32;
        }
        if self.errexit && self.in_condition == 0 && self.status != 0 && flow == Flow::Normal {
            return Flow::Exit(self.status);
        }
        flow
    }

    /// `a | b | c`: a child per command, pipes between them, made and waited
    /// for with SIGCHLD blocked (bash's `execute_pipeline`).
    async fn exec_multi(&mut self, pipeline: &Pipeline) -> Flow {
        let (children, old) = self.spawn_pipeline(pipeline, false).await;
        let last = self.wait_for(&children, true).await;
        let _ = self.set_mask(old).await;
        if let Some(ExitStatus::Stopped(_)) = last {
            let statuses = self.pipestatus.clone();
            let procs = self.stopped_procs(pipeline, &children, &statuses);
            self.job_stopped(None, procs).await;
        }
        if let (Some(ExitStatus::Signaled(sig)), Some(cmd)) = (last, pipeline.commands.last()) {
            let text = print::command_text(&self.source, cmd);
            let pid = *children.last().expect("had children");
            self.report_signal(sig, pid, cmd.span(), text).await;
        }
        // PIPESTATUS has every status already.
        let statuses = &self.pipestatus;
        self.status = if self.pipefail {
            statuses
                .iter()
                .rev()
                .copied()
                .find(|s| *s != 0)
                .unwrap_or(0)
        } else {
            statuses.last().copied().unwrap_or(1)
        };
        Flow::Normal
    }

    /// Forks a child per command of a pipeline, pipes between them, with
    /// SIGCHLD blocked (bash's `execute_pipeline`); returns their pids (fewer
    /// if a pipe or fork failed) and the mask to put back once the job has
    /// been waited for, or at once if it runs in the background. A background
    /// pipeline's children then ignore SIGINT and SIGQUIT, as bash's do
    /// without job control (measured: after the pipe's `dup2`s, before the
    /// exec).
    async fn spawn_pipeline(&mut self, pipeline: &Pipeline, background: bool) -> (Vec<Pid>, u64) {
        let old = self.block(CHLD).await.unwrap_or(0);
        let n = pipeline.commands.len();
        let mut children = Vec::with_capacity(n);
        let mut prev_read: Option<Fd> = None;
        for (i, cmd) in pipeline.commands.iter().enumerate() {
            let pipe = if i + 1 < n {
                match self.sys.pipe().await {
                    Ok(p) => Some(p),
                    Err(e) => {
                        self.err(&format!("pipe error: {}", e.text())).await;
                        break;
                    }
                }
            } else {
                None
            };
            let part = Child::PipelinePart {
                cmd: cmd.clone(),
                pipe,
                stdin: prev_read,
                background,
            };
            let r = self.make_child(part).await;
            if let Some(r) = prev_read.take() {
                let _ = self.sys.close(r).await;
            }
            if let Some((r, w)) = pipe {
                let _ = self.sys.close(w).await;
                prev_read = Some(r);
            }
            match r {
                Ok(pid) => children.push(pid),
                Err(e) => {
                    self.fork_gave_up(e).await;
                    break;
                }
            }
        }
        if let Some(r) = prev_read {
            let _ = self.sys.close(r).await;
        }
        self.job_forked().await;
        (children, old)
    }

    /// bash's `wait_for`: waits until each of `pids` (a job) has ended,
    /// keeping the statuses of others reaped meanwhile, with SIGCHLD blocked
    /// (`rt_sigprocmask(SIG_BLOCK, [CHLD], [], 8)`) so that its handler cannot
    /// take them from under the `wait4`; the mask put back after runs the
    /// handler for the SIGCHLD held meanwhile (measured: `= PID`,
    /// `rt_sigprocmask(SIG_SETMASK, [], NULL, 8)`, `--- SIGCHLD ---`, the
    /// handler's `wait4(...) = -1 ECHILD`, `rt_sigreturn`). Their statuses go
    /// to `PIPESTATUS` (127 for one that is not a child); returns the last
    /// one's. For a `foreground` job, an interactive shell then tells which
    /// jobs ended (bash does so after each command it waited for, before the
    /// next one runs); the `wait` builtin tells once it is done.
    async fn wait_for(&mut self, pids: &[Pid], foreground: bool) -> Option<ExitStatus> {
        let old = self.block(CHLD).await.unwrap_or(0);
        self.pipestatus.clear();
        let (mut last, mut stopped) = (None, None);
        for &pid in pids {
            last = self.reap_until(pid).await;
            if let Some(ExitStatus::Stopped(_)) = last {
                stopped = last;
            }
            self.pipestatus.push(last.map_or(127, |s| s.shell_status()));
        }
        // A part Ctrl-Z stopped makes the job a stopped one.
        let last = stopped.or(last);
        // The foreground job is over: the shell takes its terminal back.
        if let Some(&pid) = pids.last()
            && self.given.take_if(|g| *g == pid).is_some()
        {
            self.give_terminal(self.top_pid).await;
        }
        // A foreground job that a Ctrl-C killed ends the whole line, loop or
        // `||` included, as the interactive bash does when it sees its last
        // process died of SIGINT.
        if foreground && self.job_control() && last == Some(ExitStatus::Signaled(Signal::SIGINT)) {
            // Once per job: bash ends the terminal's `^C` line, on stdout.
            if !self.interrupted {
                let _ = self.sys.write(1, b"\n").await;
            }
            self.interrupted = true;
        }
        let _ = self.set_mask(old).await;
        if foreground {
            self.notify_jobs().await;
        }
        last
    }

    async fn reap_until(&mut self, pid: Pid) -> Option<ExitStatus> {
        // With job control bash asks for stopped and continued children too.
        let opts = if self.job_control() {
            "WSTOPPED|WCONTINUED"
        } else {
            "0"
        };
        loop {
            self.take_reaped().await;
            if let Some(st) = self.reaped.remove(&pid) {
                return Some(st);
            }
            match self.sys.waitpid_shown(-1, false, opts).await {
                Ok(Some((p, st))) => {
                    self.reaped.insert(p, st);
                    self.job_ended(p, st).await;
                }
                Ok(None) => {}
                Err(Errno::EINTR) => self.run_traps().await,
                Err(_) => {
                    // The SIGCHLD handler may have taken it.
                    self.take_reaped().await;
                    return self.reaped.remove(&pid);
                }
            }
        }
    }

    /// Takes in what this shell's SIGCHLD handler reaped.
    async fn take_reaped(&mut self) {
        let got = std::mem::take(&mut *self.sigchld_reaped.borrow_mut());
        for (pid, st) in got {
            self.reaped.insert(pid, st);
            self.job_ended(pid, st).await;
        }
    }

    /// The shell itself, interactive: it numbers jobs aloud (`[1] 4242`) and tells
    /// when they end. Its subshells, and a `-c` script, have no job control.
    fn job_control(&self) -> bool {
        self.interactive && !self.subshell
    }

    /// A background child was reaped with status `st`: its job is marked ended. A
    /// script's bash says something at once only for a death by an unusual signal.
    async fn job_ended(&mut self, pid: Pid, st: ExitStatus) {
        if self.job_changed(pid, st) {
            return;
        }
        let Some(i) = self.jobs.iter().position(|j| j.has(pid)) else {
            return;
        };
        let job = &mut self.jobs[i];
        for p in job.procs.iter_mut().filter(|p| p.pid == pid) {
            p.status = Some(st);
        }
        if job.ended().is_some() && !self.job_control() {
            let job = self.jobs[i].clone();
            self.report_background(&job).await;
        }
    }

    /// Takes in the children the SIGCHLD handler reaped (it runs where the
    /// signal is delivered, see [`Shell::catch_sigchld`]), and runs the traps
    /// of the other signals caught meanwhile. Called once the next line has
    /// been read, so a job that `kill` ends is told after the next command, as
    /// on Linux, where bash prints its prompt before the killed child is gone.
    async fn reap_jobs(&mut self) {
        self.take_reaped().await;
        self.run_traps().await;
    }

    /// Ended jobs leave the table, after each command the shell waited for, at the
    /// end of `wait`, and before an interactive shell's prompt. An interactive
    /// shell tells about each as bash words it: `[1]+  Done                    sleep 1`.
    async fn notify_jobs(&mut self) {
        self.notify_stopped().await;
        if !self.jobs.iter().any(|j| j.ended().is_some()) {
            return;
        }
        if !self.job_control() {
            self.jobs.retain(|j| j.ended().is_none());
            return;
        }
        let mut text = String::new();
        for i in 0..self.jobs.len() {
            if self.jobs[i].ended().is_some() {
                text.push_str(&self.job_line(i));
            }
        }
        self.jobs.retain(|j| j.ended().is_none());
        let _ = self.sys.write(2, text.as_bytes()).await;
    }

    /// One line of `jobs`: `[N]+  Running                 cmd &`; `+` marks the
    /// current job (the newest), `-` the one before it.
    fn job_line(&self, i: usize) -> String {
        let job = &self.jobs[i];
        let n = self.jobs.len();
        let mark = if i + 1 == n {
            '+'
        } else if i + 2 == n {
            '-'
        } else {
            ' '
        };
        let (state, tail) = match job.ended() {
            None if job.stopped => ("Stopped".to_string(), ""),
            None => ("Running".to_string(), " &"),
            Some(st) => (job_status_text(st), ""),
        };
        format!("[{}]{mark}  {state:<24}{}{tail}\n", job.number, job.text)
    }

    /// `jobs`: the job table, after taking in what the SIGCHLD handler
    /// reaped. An interactive shell has then told about the ended ones; a
    /// script keeps them until it next tidies up.
    async fn builtin_jobs(&mut self) -> i32 {
        self.reap_jobs().await;
        let text: String = (0..self.jobs.len()).map(|i| self.job_line(i)).collect();
        if self.job_control() {
            self.jobs.retain(|j| j.ended().is_none());
        }
        self.out(&text).await
    }

    // ----- stopped jobs -----

    /// A child stopped or went on (`wait4` with `WSTOPPED|WCONTINUED`):
    /// whether `st` says so. A job's state changes; the stop of a foreground
    /// command stays in `reaped`, for [`Shell::reap_until`] to return.
    fn job_changed(&mut self, pid: Pid, st: ExitStatus) -> bool {
        let stopped = match st {
            ExitStatus::Stopped(_) => true,
            ExitStatus::Continued => false,
            _ => return false,
        };
        let job = self.jobs.iter_mut().find(|j| j.has(pid));
        if job.is_some() || !stopped {
            self.reaped.remove(&pid);
        }
        if let Some(j) = job {
            j.told &= stopped && j.stopped;
            j.stopped = stopped;
        }
        true
    }

    /// Tells once, on a line of its own, each job that stopped in the
    /// background (measured: `\n[1]+  Stopped                 cat` before
    /// the next prompt).
    async fn notify_stopped(&mut self) {
        for i in 0..self.jobs.len() {
            let j = &mut self.jobs[i];
            if j.stopped && !std::mem::replace(&mut j.told, true) && j.ended().is_none() {
                self.tell_stopped(i).await;
            }
        }
    }

    /// bash's notice of a stopped job: it ends the line the terminal's `^Z`
    /// (or Enter) left, then tells the job (measured: two writes).
    async fn tell_stopped(&self, i: usize) {
        let _ = self.sys.write(2, b"\n").await;
        let _ = self.sys.write(2, self.job_line(i).as_bytes()).await;
    }

    /// A foreground job stopped (Ctrl-Z's SIGTSTP): it joins the job table
    /// (as job `number`, the one it had if `fg` ran it), and bash ends the
    /// `^Z` line and says so: `\n[1]+  Stopped                 sleep 30`. The
    /// shell took the terminal back in [`Shell::wait_for`]; `$?` is 128 + the
    /// signal.
    async fn job_stopped(&mut self, number: Option<u32>, procs: Vec<JobProc>) {
        let number =
            number.unwrap_or_else(|| self.jobs.iter().map(|j| j.number).max().unwrap_or(0) + 1);
        let text = procs
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join(" | ");
        let i = self.jobs.partition_point(|j| j.number < number);
        self.jobs.insert(
            i,
            Job {
                number,
                text,
                procs,
                stopped: true,
                told: true,
            },
        );
        self.tell_stopped(i).await;
    }

    /// The processes of a foreground pipeline that stopped, as a job's: a
    /// part that exited before the stop keeps its status. (One a signal
    /// killed is taken for stopped: bash would tell it as killed.)
    fn stopped_procs(&self, pipeline: &Pipeline, pids: &[Pid], statuses: &[i32]) -> Vec<JobProc> {
        pids.iter()
            .zip(&pipeline.commands)
            .zip(statuses)
            .map(|((&pid, cmd), &code)| JobProc {
                pid,
                text: print::command_text(&self.source, cmd),
                status: (code < 128).then_some(ExitStatus::Code(code)),
            })
            .collect()
    }

    /// `fg [%N]` and `bg [%N]`, the current job by default. `fg` prints the
    /// job's command, gives it the terminal, sends its group SIGCONT if it was
    /// stopped and waits for it as for a command typed (measured:
    /// `write(1, "sleep 30\n")`, `ioctl(255, TIOCSPGRP, [PGID])`,
    /// `kill(-PGID, SIGCONT)`, `wait4(-1, ..., WSTOPPED|WCONTINUED)`); `bg`
    /// prints `[1]+ sleep 30 &` and sends SIGCONT.
    async fn builtin_fg(&mut self, args: &[String], fg: bool) -> i32 {
        let name = if fg { "fg" } else { "bg" };
        let found = match args.first() {
            None if self.jobs.is_empty() => Err("current: no such job".to_string()),
            None => self.job_of("%"),
            Some(a) => self.job_of(a),
        };
        let i = match found {
            Ok(pid) => self.jobs.iter().position(|j| j.pid() == pid).unwrap_or(0),
            Err(e) => {
                self.err(&format!("{name}: {e}")).await;
                return 1;
            }
        };
        let (n, pgid, stopped) = {
            let j = &self.jobs[i];
            (j.number, j.procs[0].pid as i32, j.stopped)
        };
        if !fg && !stopped {
            self.err(&format!("bg: job {n} already in background"))
                .await;
            return 0;
        }
        let text = if fg {
            format!("{}\n", self.jobs[i].text)
        } else {
            let mark = if i + 1 == self.jobs.len() { '+' } else { '-' };
            format!("[{n}]{mark} {} &\n", self.jobs[i].text)
        };
        self.out(&text).await;
        // In the foreground it leaves the table, and comes back if it stops.
        let job = if fg { Some(self.jobs.remove(i)) } else { None };
        if let Some(j) = &job {
            self.given = Some(j.pid());
            self.give_terminal(pgid as Pid).await;
        } else {
            self.jobs[i].stopped = false;
        }
        if stopped {
            let _ = self.sys.kill(-pgid, Some(Signal::SIGCONT)).await;
        }
        let Some(mut job) = job else {
            return 0;
        };
        let mut last = None;
        for p in job.procs.iter_mut().filter(|p| p.status.is_none()) {
            last = self.wait_for(&[p.pid], true).await;
            if !matches!(last, Some(ExitStatus::Stopped(_))) {
                p.status = last;
            }
        }
        if matches!(last, Some(ExitStatus::Stopped(_))) {
            self.job_stopped(Some(n), job.procs).await;
        }
        last.map_or(127, |s| s.shell_status())
    }

    /// bash leaving with stopped jobs: the first `exit` (or Ctrl-D) only
    /// says `There are stopped jobs.`, unless the command before was `exit`
    /// or `jobs`; then each stopped job gets SIGTERM and SIGCONT (measured:
    /// `kill(-PGID, SIGTERM)`, `kill(-PGID, SIGCONT)`). Whether it leaves.
    async fn leave(&mut self) -> bool {
        let stopped: Vec<i32> = self
            .jobs
            .iter()
            .filter(|j| j.stopped && j.ended().is_none())
            .map(|j| -(j.procs[0].pid as i32))
            .collect();
        if !stopped.is_empty() && !std::mem::replace(&mut self.exit_ok, true) {
            let _ = self.sys.write(2, b"There are stopped jobs.\n").await;
            return false;
        }
        for g in stopped {
            for sig in [Signal::SIGTERM, Signal::SIGCONT] {
                let _ = self.sys.kill(g, Some(sig)).await;
            }
        }
        true
    }

    /// bash's notice for a background job found killed by a signal (its first
    /// process a signal killed, else none): silent for SIGTERM, SIGINT and
    /// SIGPIPE (measured), else `bash: line N:  PID Killed  CMD` with the line
    /// bash was running when it noticed; a pipeline gets a line per process, a
    /// status shown only where it differs from the first's (measured:
    /// `  688 Killed  sleep 5` then `       689  | sleep 6`).
    async fn report_background(&self, job: &Job) {
        let Some(ExitStatus::Signaled(sig)) = job
            .procs
            .iter()
            .filter_map(|p| p.status)
            .find(|s| matches!(s, ExitStatus::Signaled(_)))
        else {
            return;
        };
        if matches!(sig, Signal::SIGTERM | Signal::SIGINT | Signal::SIGPIPE) {
            return;
        }
        let mut msg = format!("bash: line {}: ", self.line);
        let first = job.procs[0].status;
        for (i, p) in job.procs.iter().enumerate() {
            let status = match p.status {
                Some(st) if i > 0 && Some(st) == first => String::new(),
                Some(st) => job_status_text(st),
                None => "Running".to_string(),
            };
            let (lead, bar) = if i == 0 { ("", "") } else { ("     ", "| ") };
            // bash pads a status to 24 columns, an empty one as if it were 2 long.
            let width = if status.is_empty() { 22 } else { 24 };
            msg.push_str(&format!(
                "{lead}{:>5} {status:<width$}{bar}{}\n",
                p.pid, p.text
            ));
        }
        let _ = self.sys.write(2, msg.as_bytes()).await;
    }

    /// bash's notice for a foreground job killed by a signal.
    async fn report_signal(&self, sig: Signal, pid: Pid, span: Span, text: String) {
        match sig {
            Signal::SIGINT | Signal::SIGPIPE => {}
            Signal::SIGTERM => {
                let _ = self.sys.write(2, b"Terminated\n").await;
            }
            _ => {
                let line = self.line_of(span);
                let msg = format!("bash: line {line}: {pid:>5} {:<24}{text}\n", sig.text());
                let _ = self.sys.write(2, msg.as_bytes()).await;
            }
        }
    }

    /// One command. `forked` is true in a pipeline child or a subshell that may end
    /// by exec'ing the command.
    async fn exec_command(&mut self, cmd: &Command, forked: bool) -> Flow {
        match cmd {
            Command::Simple(c) => self.exec_simple(c, forked).await,
            Command::FunctionDef { name, body, .. } => {
                self.functions.insert(name.clone(), (**body).clone());
                self.status = 0;
                Flow::Normal
            }
            Command::Compound {
                body, redirects, ..
            } => {
                if let Compound::Subshell(list) = body {
                    return Box::pin(self.exec_subshell(list, redirects)).await;
                }
                let saved = match self.redirect(redirects).await {
                    Ok(s) => s,
                    Err(()) => {
                        self.status = 1;
                        return Flow::Normal;
                    }
                };
                let flow = Box::pin(self.exec_compound(body)).await;
                self.restore(saved).await;
                flow
            }
        }
    }

    async fn exec_subshell(&mut self, list: &List, redirects: &[Redirect]) -> Flow {
        let r = self
            .make_child(Child::Subshell {
                list: list.clone(),
                redirects: redirects.to_vec(),
            })
            .await;
        match r {
            Ok(pid) => {
                let st = self.wait_for(&[pid], true).await;
                self.status = st.map_or(127, |s| s.shell_status());
            }
            Err(e) => self.fork_gave_up(e).await,
        }
        Flow::Normal
    }

    async fn exec_compound(&mut self, body: &Compound) -> Flow {
        match body {
            Compound::BraceGroup(list) => self.exec_list(list).await,
            Compound::Subshell(list) => self.exec_subshell(list, &[]).await,
            Compound::While { cond, body } => self.exec_loop(cond, body, false).await,
            Compound::Until { cond, body } => self.exec_loop(cond, body, true).await,
            Compound::For { var, words, body } => {
                let items = match words {
                    Some(words) => {
                        let mut items = Vec::new();
                        for w in words {
                            items.extend(self.expand_word(w).await);
                        }
                        items
                    }
                    None => self.positional.clone(),
                };
                self.status = 0;
                for item in items {
                    match self.vars.get_mut(var) {
                        Some(value) => *value = item,
                        None => {
                            self.vars.insert(var.clone(), item);
                        }
                    }
                    match self.exec_list(body).await {
                        Flow::Break(n) if n > 1 => return Flow::Break(n - 1),
                        Flow::Break(_) => break,
                        Flow::Continue(n) if n > 1 => return Flow::Continue(n - 1),
                        Flow::Continue(_) | Flow::Normal => {}
                        exit => return exit,
                    }
                    if self.interrupted {
                        break;
                    }
                }
                Flow::Normal
            }
            Compound::If {
                branches,
                else_body,
            } => {
                for (cond, then) in branches {
                    self.in_condition += 1;
                    let flow = self.exec_list(cond).await;
                    self.in_condition -= 1;
                    if flow != Flow::Normal {
                        return flow;
                    }
                    if self.status == 0 {
                        return self.exec_list(then).await;
                    }
                }
                match else_body {
                    Some(list) => self.exec_list(list).await,
                    None => {
                        self.status = 0;
                        Flow::Normal
                    }
                }
            }
        }
    }

    async fn exec_loop(&mut self, cond: &List, body: &List, until: bool) -> Flow {
        let mut last_body_status = 0;
        for _ in 0..MAX_LOOP_ITERATIONS {
            self.in_condition += 1;
            let flow = self.exec_list(cond).await;
            self.in_condition -= 1;
            if flow != Flow::Normal {
                return flow;
            }
            if self.interrupted {
                return Flow::Normal;
            }
            if (self.status == 0) == until {
                self.status = last_body_status;
                return Flow::Normal;
            }
            match self.exec_list(body).await {
                Flow::Break(n) if n > 1 => return Flow::Break(n - 1),
                Flow::Break(_) => {
                    self.status = 0;
                    return Flow::Normal;
                }
                Flow::Continue(n) if n > 1 => return Flow::Continue(n - 1),
                Flow::Continue(_) | Flow::Normal => {}
                exit => return exit,
            }
            if self.interrupted {
                return Flow::Normal;
            }
            last_body_status = self.status;
        }
        self.err("pipelab: loop stopped after 1000000 iterations")
            .await;
        Flow::Exit(1)
    }

    // ----- simple commands -----

    async fn exec_simple(&mut self, cmd: &SimpleCommand, forked: bool) -> Flow {
        self.line = self.line_of(cmd.span);
        let mut argv = Vec::new();
        for w in &cmd.words {
            if !self.expand_plain_word(w, &mut argv) {
                argv.extend(self.expand_word(w).await);
            }
        }
        let mut assigned = Vec::with_capacity(cmd.assignments.len());
        for a in &cmd.assignments {
            let v = self.expand_word_joined(&a.value).await;
            assigned.push((a.name.clone(), v));
        }
        if argv.is_empty() {
            // Only assignments and redirections: the redirections are made and undone.
            let saved = self.redirect(&cmd.redirects).await;
            for (k, v) in assigned {
                self.vars.insert(k, v);
            }
            match saved {
                Ok(saved) => {
                    self.restore(saved).await;
                    // `x=$(cmd)` keeps cmd's status; a bare assignment is 0.
                    if cmd.assignments.iter().all(|a| !has_command_subst(&a.value)) {
                        self.status = 0;
                    }
                }
                Err(()) => self.status = 1,
            }
            return Flow::Normal;
        }
        // Assignments before a builtin last for it only in POSIX terms; bash keeps
        // them for special builtins. We keep them for the shell either way (simple).
        for (k, v) in &assigned {
            self.vars.insert(k.clone(), v.clone());
        }
        let name = argv[0].as_str();
        if name == "exec" {
            return Box::pin(self.builtin_exec(cmd, argv[1..].to_vec())).await;
        }
        if let Some(body) = self.functions.get(name).cloned() {
            let saved = match self.redirect(&cmd.redirects).await {
                Ok(s) => s,
                Err(()) => {
                    self.status = 1;
                    return Flow::Normal;
                }
            };
            let funcnest = self.vars.get("FUNCNEST").and_then(|n| n.parse().ok());
            if let Some(limit) = funcnest.filter(|&n: &u32| n > 0 && self.nesting >= n) {
                // Past the user's FUNCNEST, bash drops the rest of the command line.
                self.err(&format!(
                    "{name}: maximum function nesting level exceeded ({limit})"
                ))
                .await;
                self.status = 1;
                self.interrupted = true;
                self.restore(saved).await;
                return Flow::Normal;
            }
            if !self
                .nest(&format!("{name}: maximum function nesting level exceeded"))
                .await
            {
                self.restore(saved).await;
                return Flow::Normal;
            }
            let old = std::mem::replace(&mut self.positional, argv[1..].to_vec());
            let flow = Box::pin(self.exec_command(&body, false)).await;
            self.nesting -= 1;
            self.positional = old;
            self.restore(saved).await;
            return flow;
        }
        if is_builtin(name) {
            let saved = match self.redirect(&cmd.redirects).await {
                Ok(s) => s,
                Err(()) => {
                    self.status = 1;
                    return Flow::Normal;
                }
            };
            let flow = self.builtin(&argv).await;
            self.restore(saved).await;
            return flow;
        }
        let name = name.to_string();
        Box::pin(self.exec_external_command(cmd, forked, name, argv)).await
    }

    /// A simple command that runs a program: forked and waited for, or exec'd
    /// at once in a child that is already forked. Its own future, boxed, so
    /// that the builtins' path (most steps of a loop) does not carry its state.
    async fn exec_external_command(
        &mut self,
        cmd: &SimpleCommand,
        forked: bool,
        name: String,
        argv: Vec<String>,
    ) -> Flow {
        let path = self.find_command(&name).await;
        if forked {
            // Already in a child: redirect and exec here.
            if self.apply_redirects(&cmd.redirects, false).await.is_err() {
                return Flow::Exit(1);
            }
            return Flow::Exit(self.exec_external(&name, path, argv).await);
        }
        let r = self
            .make_child(Child::External {
                name,
                path,
                argv,
                redirects: cmd.redirects.clone(),
            })
            .await;
        match r {
            Ok(pid) => {
                let st = self.wait_for(&[pid], true).await;
                self.exit_ok = false;
                if let Some(ExitStatus::Signaled(sig)) = st {
                    let text = print::simple_text(&self.source, cmd);
                    self.report_signal(sig, pid, cmd.span, text).await;
                }
                if let Some(ExitStatus::Stopped(_)) = st {
                    let text = print::simple_text(&self.source, cmd);
                    let procs = vec![JobProc {
                        pid,
                        text,
                        status: None,
                    }];
                    self.job_stopped(None, procs).await;
                }
                self.status = st.map_or(127, |s| s.shell_status());
            }
            Err(e) => self.fork_gave_up(e).await,
        }
        Flow::Normal
    }

    /// Looks `name` up in PATH (remembered, like bash's hash table).
    async fn find_command(&mut self, name: &str) -> Option<String> {
        if name.contains('/') {
            return Some(name.to_string());
        }
        if let Some(p) = self.hash.get(name) {
            return Some(p.clone());
        }
        let path = self.vars.get("PATH").cloned().unwrap_or_default();
        for dir in path.split(':').filter(|d| !d.is_empty()) {
            let candidate = format!("{dir}/{name}");
            if let Ok(Inode::Program { .. } | Inode::File { .. }) = self.sys.stat(&candidate).await
            {
                self.hash.insert(name.to_string(), candidate.clone());
                return Some(candidate);
            }
        }
        None
    }

    /// In a forked child: `execve`, or the error bash prints and its status.
    async fn exec_external(&mut self, name: &str, path: Option<String>, argv: Vec<String>) -> i32 {
        let Some(path) = path else {
            self.err(&format!("{name}: command not found")).await;
            return 127;
        };
        match self.sys.execve(&path, argv).await {
            Errno::ENOENT => {
                self.err(&format!("{path}: No such file or directory"))
                    .await;
                127
            }
            e => {
                self.err(&format!("{path}: {}", e.text())).await;
                126
            }
        }
    }

    // ----- redirections -----

    /// Applies redirections in order. With `save`, the fds they replace are first
    /// copied above 10 so [`Shell::restore`] can put them back.
    async fn apply_redirects(
        &mut self,
        redirects: &[Redirect],
        save: bool,
    ) -> Result<Vec<(Fd, Option<Fd>)>, ()> {
        let mut saved: Vec<(Fd, Option<Fd>)> = Vec::new();
        for r in redirects {
            let target = self.expand_word_joined(&r.target).await;
            let fd = r.fd() as Fd;
            let dup_target = matches!(r.op, RedirOp::DupRead | RedirOp::DupWrite);
            // `>&file` without a number means `&>file`.
            let both = matches!(r.op, RedirOp::WriteBoth | RedirOp::AppendBoth)
                || (r.op == RedirOp::DupWrite
                    && r.fd.is_none()
                    && target != "-"
                    && target.parse::<Fd>().is_err());
            let touched: Vec<Fd> = if both { vec![1, 2] } else { vec![fd] };
            if save {
                for &t in &touched {
                    if !saved.iter().any(|(f, _)| *f == t) {
                        let copy = if self.sys.fd_is_open(t) {
                            let c = self.sys.dup_min(t, SAVED_FD_MIN).await.ok();
                            if let Some(c) = c {
                                let _ = self.sys.set_cloexec(c, true).await;
                            }
                            c
                        } else {
                            None
                        };
                        saved.push((t, copy));
                    }
                }
            }
            let result = if dup_target && !both {
                if target == "-" {
                    let _ = self.sys.close(fd).await;
                    Ok(())
                } else {
                    match target.parse::<Fd>() {
                        Ok(src) if self.sys.fd_is_open(src) => {
                            self.sys.dup2(src, fd).await.map(|_| ())
                        }
                        Ok(src) => {
                            self.err(&format!("{src}: Bad file descriptor")).await;
                            Err(Errno::EBADF)
                        }
                        Err(_) => {
                            self.err(&format!("{target}: ambiguous redirect")).await;
                            Err(Errno::EINVAL)
                        }
                    }
                }
            } else {
                let flags = match r.op {
                    RedirOp::Read => OpenFlags::read_only(),
                    RedirOp::Write | RedirOp::Clobber | RedirOp::WriteBoth | RedirOp::DupWrite => {
                        OpenFlags::create_truncate()
                    }
                    RedirOp::Append | RedirOp::AppendBoth => OpenFlags::create_append(),
                    RedirOp::ReadWrite => OpenFlags {
                        create: true,
                        ..OpenFlags::read_write()
                    },
                    RedirOp::DupRead => OpenFlags::read_only(),
                };
                match self.sys.open(&target, flags).await {
                    Ok(new) => {
                        for &t in &touched {
                            if new != t {
                                let _ = self.sys.dup2(new, t).await;
                            }
                        }
                        if !touched.contains(&new) {
                            let _ = self.sys.close(new).await;
                        }
                        Ok(())
                    }
                    Err(e) => {
                        self.err(&format!("{target}: {}", e.text())).await;
                        Err(e)
                    }
                }
            };
            if result.is_err() {
                if save {
                    self.restore(saved).await;
                }
                return Err(());
            }
        }
        Ok(saved)
    }

    /// [`Shell::apply_redirects`] with `save`, for a command in the shell itself.
    /// Most have no redirections: then it is nothing, and the large future of
    /// applying them is boxed away from the common path.
    async fn redirect(&mut self, redirects: &[Redirect]) -> Result<Vec<(Fd, Option<Fd>)>, ()> {
        if redirects.is_empty() {
            return Ok(Vec::new());
        }
        Box::pin(self.apply_redirects(redirects, true)).await
    }

    async fn restore(&mut self, saved: Vec<(Fd, Option<Fd>)>) {
        for (fd, copy) in saved.into_iter().rev() {
            match copy {
                Some(c) => {
                    let _ = self.sys.dup2(c, fd).await;
                    let _ = self.sys.close(c).await;
                }
                None => {
                    if self.sys.fd_is_open(fd) {
                        let _ = self.sys.close(fd).await;
                    }
                }
            }
        }
    }

    // ----- expansion -----

    fn param_value(&self, p: &Param) -> Vec<String> {
        match p {
            Param::Named(n) => vec![self.vars.get(n).cloned().unwrap_or_default()],
            Param::Positional(0) => vec![self.name.clone()],
            Param::Positional(i) => vec![
                self.positional
                    .get(*i as usize - 1)
                    .cloned()
                    .unwrap_or_default(),
            ],
            Param::Special(c) => vec![match c {
                '?' => self.status.to_string(),
                '!' => self.last_bg.map(|p| p.to_string()).unwrap_or_default(),
                '$' => self.top_pid.to_string(),
                '#' => self.positional.len().to_string(),
                '-' => "hc".to_string(),
                '@' | '*' => return self.positional.clone(),
                _ => String::new(),
            }],
            Param::Indexed { name, index } => {
                let arr: Vec<String> = if name == "PIPESTATUS" {
                    self.pipestatus.iter().map(|s| s.to_string()).collect()
                } else {
                    self.vars.get(name).cloned().into_iter().collect()
                };
                match index {
                    Index::Star | Index::At => arr,
                    Index::Expr(e) => {
                        let i = self.arith(e);
                        let i = if i < 0 { arr.len() as i64 + i } else { i };
                        vec![
                            usize::try_from(i)
                                .ok()
                                .and_then(|i| arr.get(i).cloned())
                                .unwrap_or_default(),
                        ]
                    }
                }
            }
        }
    }

    fn arith(&self, a: &Arith) -> i64 {
        self.arith_expr(&a.expr)
    }

    fn arith_expr(&self, e: &ArithExpr) -> i64 {
        let num = |s: &str| s.trim().parse::<i64>().unwrap_or(0);
        match e {
            ArithExpr::Number(n) => *n,
            ArithExpr::Var(v) => num(self.vars.get(v).map(String::as_str).unwrap_or("0")),
            ArithExpr::Param(p) => num(&self.param_value(&p.param).join(" ")),
            ArithExpr::Unary { op, operand } => {
                let v = self.arith(operand);
                match op {
                    UnaryOp::Neg => v.wrapping_neg(),
                    UnaryOp::Plus => v,
                    UnaryOp::Not => (v == 0) as i64,
                    UnaryOp::BitNot => !v,
                }
            }
            ArithExpr::Binary { op, lhs, rhs } => {
                let a = self.arith(lhs);
                // && and || short-circuit.
                match op {
                    BinaryOp::LogAnd => return (a != 0 && self.arith(rhs) != 0) as i64,
                    BinaryOp::LogOr => return (a != 0 || self.arith(rhs) != 0) as i64,
                    _ => {}
                }
                let b = self.arith(rhs);
                match op {
                    BinaryOp::BitOr => a | b,
                    BinaryOp::BitXor => a ^ b,
                    BinaryOp::BitAnd => a & b,
                    BinaryOp::Eq => (a == b) as i64,
                    BinaryOp::Ne => (a != b) as i64,
                    BinaryOp::Lt => (a < b) as i64,
                    BinaryOp::Le => (a <= b) as i64,
                    BinaryOp::Gt => (a > b) as i64,
                    BinaryOp::Ge => (a >= b) as i64,
                    BinaryOp::Shl => a.wrapping_shl(b as u32),
                    BinaryOp::Shr => a.wrapping_shr(b as u32),
                    BinaryOp::Add => a.wrapping_add(b),
                    BinaryOp::Sub => a.wrapping_sub(b),
                    BinaryOp::Mul => a.wrapping_mul(b),
                    // bash reports division by zero as an error; 0 keeps us going.
                    BinaryOp::Div => a.checked_div(b).unwrap_or(0),
                    BinaryOp::Rem => a.checked_rem(b).unwrap_or(0),
                    BinaryOp::Pow => a.wrapping_pow(b.clamp(0, 63) as u32),
                    BinaryOp::LogAnd | BinaryOp::LogOr => unreachable!("handled above"),
                }
            }
        }
    }

    /// `$(script)`: runs it in a forked child with stdout into a pipe; the output
    /// minus trailing newlines. Sets `$?`.
    async fn command_subst(&mut self, script: &Script) -> String {
        let Ok((r, w)) = self.sys.pipe().await else {
            return String::new();
        };
        let forked = self
            .make_child(Child::Substitution {
                script: script.clone(),
                pipe: (r, w),
            })
            .await;
        let _ = self.sys.close(w).await;
        let mut out = Vec::new();
        loop {
            match self.sys.read(r, 4096).await {
                Ok(d) if d.is_empty() => break,
                Ok(d) => out.extend(d),
                Err(Errno::EINTR) => continue,
                Err(_) => break,
            }
        }
        let _ = self.sys.close(r).await;
        match forked {
            Ok(pid) => {
                let st = self.wait_for(&[pid], true).await;
                self.status = st.map_or(127, |s| s.shell_status());
            }
            Err(e) => self.fork_gave_up(e).await,
        }
        let mut s = String::from_utf8_lossy(&out).into_owned();
        while s.ends_with('\n') {
            s.pop();
        }
        s
    }

    /// Expands a word into fields: quoted text stays whole, unquoted expansion
    /// results are split on IFS whitespace, and a word that expands to nothing
    /// unquoted gives no field.
    fn expand_word<'a>(&'a mut self, word: &'a Word) -> Boxed<'a, Vec<String>> {
        Box::pin(async move {
            let mut fields: Vec<String> = Vec::new();
            let mut cur = String::new();
            let mut cur_live = false;
            for part in &word.parts {
                match part {
                    WordPart::Literal(s) | WordPart::Escaped(s) | WordPart::SingleQuoted(s) => {
                        cur.push_str(s);
                        cur_live = true;
                    }
                    WordPart::DoubleQuoted(inner) => {
                        cur_live = true;
                        for p in inner {
                            match p {
                                WordPart::Param(pe)
                                    if matches!(
                                        pe.param,
                                        Param::Special('@')
                                            | Param::Indexed {
                                                index: Index::At,
                                                ..
                                            }
                                    ) =>
                                {
                                    let vals = self.param_value(&pe.param);
                                    for (i, v) in vals.iter().enumerate() {
                                        if i > 0 {
                                            fields.push(std::mem::take(&mut cur));
                                        }
                                        cur.push_str(v);
                                    }
                                }
                                _ => {
                                    let text = self.expand_part_text(p).await;
                                    cur.push_str(&text);
                                }
                            }
                        }
                    }
                    other => {
                        let text = self.expand_part_text(other).await;
                        // Field splitting on IFS whitespace: the first piece joins
                        // the text before it, each later piece starts a new field.
                        let is_ifs = |c: char| c == ' ' || c == '\t' || c == '\n';
                        if text.starts_with(is_ifs) && cur_live {
                            fields.push(std::mem::take(&mut cur));
                            cur_live = false;
                        }
                        let pieces = text.split([' ', '\t', '\n']).filter(|p| !p.is_empty());
                        for (i, piece) in pieces.enumerate() {
                            if i > 0 {
                                // A new field: one exact allocation, not a growing one.
                                fields.push(std::mem::replace(&mut cur, piece.to_owned()));
                            } else {
                                cur.push_str(piece);
                            }
                            cur_live = true;
                        }
                        if text.ends_with(is_ifs) && cur_live {
                            fields.push(std::mem::take(&mut cur));
                            cur_live = false;
                        }
                    }
                }
            }
            if cur_live || !cur.is_empty() {
                fields.push(cur);
            }
            fields
        })
    }

    /// The common words, expanded without [`Shell::expand_word`]'s boxed future
    /// and buffers: a plain word (`echo`, `-n`) is itself; an unquoted `$name`
    /// whose value has no IFS whitespace is its value. Pushes their field onto
    /// `out` and returns true, or returns false for any other word.
    fn expand_plain_word(&self, word: &Word, out: &mut Vec<String>) -> bool {
        match word.parts.as_slice() {
            [WordPart::Literal(s) | WordPart::Escaped(s) | WordPart::SingleQuoted(s)] => {
                out.push(s.clone());
                true
            }
            [
                WordPart::Param(ParamExp {
                    param: Param::Named(name),
                    ..
                }),
            ] => {
                // One field when there is nothing to split; else the general way.
                match self.vars.get(name) {
                    Some(v)
                        if !v.is_empty()
                            && !v.bytes().any(|b| matches!(b, b' ' | b'\t' | b'\n')) =>
                    {
                        out.push(v.clone());
                        true
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// A word as one string (assignment values, redirection targets).
    async fn expand_word_joined(&mut self, word: &Word) -> String {
        let mut out = String::new();
        for part in &word.parts {
            match part {
                WordPart::Literal(s) | WordPart::Escaped(s) | WordPart::SingleQuoted(s) => {
                    out.push_str(s)
                }
                WordPart::DoubleQuoted(inner) => {
                    for p in inner {
                        let t = self.expand_part_text(p).await;
                        out.push_str(&t);
                    }
                }
                other => {
                    let t = self.expand_part_text(other).await;
                    out.push_str(&t);
                }
            }
        }
        out
    }

    fn expand_part_text<'a>(&'a mut self, part: &'a WordPart) -> Boxed<'a, String> {
        Box::pin(async move {
            match part {
                WordPart::Literal(s) | WordPart::Escaped(s) | WordPart::SingleQuoted(s) => {
                    s.clone()
                }
                WordPart::DoubleQuoted(inner) => {
                    let mut out = String::new();
                    for p in inner {
                        out.push_str(&self.expand_part_text(p).await);
                    }
                    out
                }
                WordPart::Param(pe) => {
                    let mut vals = self.param_value(&pe.param);
                    if vals.len() == 1 {
                        vals.pop().unwrap_or_default()
                    } else {
                        vals.join(" ")
                    }
                }
                WordPart::CommandSubst(script) => Box::pin(self.command_subst(script)).await,
                WordPart::Arith(a) => self.arith(a).to_string(),
            }
        })
    }

    // ----- builtins -----

    /// A builtin's output. bash's stdout is line-buffered: one `write(2)` per line
    /// (measured: `printf 'GET / HTTP/1.0\r\n\r\n'` is a write of 16 bytes, then 2).
    async fn out(&self, text: &str) -> i32 {
        for line in text.as_bytes().split_inclusive(|&b| b == b'\n') {
            if let Err(e) = self.sys.write(1, line).await {
                Box::pin(self.err(&format!("echo: write error: {}", e.text()))).await;
                return 1;
            }
        }
        0
    }

    async fn builtin(&mut self, argv: &[String]) -> Flow {
        let args = &argv[1..];
        let name = argv[0].as_str();
        let exit_ok = std::mem::replace(&mut self.exit_ok, name == "jobs");
        let status = match name {
            ":" | "true" => 0,
            "false" => 1,
            "echo" => {
                let (mut newline, mut escapes, mut i) = (true, false, 0);
                while let Some(a) = args.get(i) {
                    if a.len() > 1
                        && a.starts_with('-')
                        && a[1..].chars().all(|c| "neE".contains(c))
                    {
                        for c in a[1..].chars() {
                            match c {
                                'n' => newline = false,
                                'e' => escapes = true,
                                _ => escapes = false,
                            }
                        }
                        i += 1;
                    } else {
                        break;
                    }
                }
                let mut text = std::mem::take(&mut self.line_buf);
                text.clear();
                for (n, a) in args[i..].iter().enumerate() {
                    if n > 0 {
                        text.push(' ');
                    }
                    text.push_str(a);
                }
                if escapes {
                    text = unescape(&text);
                }
                if newline {
                    text.push('\n');
                }
                let status = self.out(&text).await;
                self.line_buf = text;
                status
            }
            "printf" => match args.split_first() {
                None => {
                    self.err("printf: usage: printf [-v var] format [arguments]")
                        .await;
                    2
                }
                Some((fmt, rest)) => {
                    let text = printf(fmt, rest);
                    self.out(&text).await
                }
            },
            "cd" => {
                let dir = args.first().cloned().unwrap_or_else(|| "/root".to_string());
                match self.sys.chdir(&dir).await {
                    Ok(()) => 0,
                    Err(e) => {
                        self.err(&format!("cd: {dir}: {}", e.text())).await;
                        1
                    }
                }
            }
            "exit" => {
                let code = match args.first() {
                    None => self.status,
                    Some(a) => match a.parse::<i64>() {
                        Ok(n) => (n & 0xff) as i32,
                        Err(_) => {
                            self.err(&format!("exit: {a}: numeric argument required"))
                                .await;
                            2
                        }
                    },
                };
                self.exit_ok = exit_ok;
                return Flow::Exit(code);
            }
            "break" | "continue" => {
                let n = args
                    .first()
                    .and_then(|a| a.parse::<u32>().ok())
                    .unwrap_or(1)
                    .max(1);
                return if name == "break" {
                    Flow::Break(n)
                } else {
                    Flow::Continue(n)
                };
            }
            "wait" => Box::pin(self.builtin_wait(args)).await,
            "trap" => Box::pin(self.builtin_trap(args)).await,
            "set" => Box::pin(self.builtin_set(args)).await,
            "kill" => Box::pin(self.builtin_kill(args)).await,
            "jobs" => Box::pin(self.builtin_jobs()).await,
            "fg" | "bg" => Box::pin(self.builtin_fg(args, name == "fg")).await,
            "read" => Box::pin(self.builtin_read(args)).await,
            "shift" => {
                let n = args
                    .first()
                    .and_then(|a| a.parse::<usize>().ok())
                    .unwrap_or(1);
                if n > self.positional.len() {
                    1
                } else {
                    self.positional.drain(..n);
                    0
                }
            }
            "unset" => {
                for a in args {
                    self.vars.remove(a);
                    self.functions.remove(a);
                }
                0
            }
            "export" | "local" | "readonly" => {
                for a in args {
                    if let Some((k, v)) = a.split_once('=') {
                        self.vars.insert(k.to_string(), v.to_string());
                    }
                }
                0
            }
            "test" | "[" => {
                let mut args = args.to_vec();
                if name == "[" {
                    if args.last().map(String::as_str) != Some("]") {
                        self.err("[: missing `]'").await;
                        self.status = 2;
                        return Flow::Normal;
                    }
                    args.pop();
                }
                match self.test(&args).await {
                    Ok(true) => 0,
                    Ok(false) => 1,
                    Err(msg) => {
                        self.err(&format!("{name}: {msg}")).await;
                        2
                    }
                }
            }
            _ => unreachable!("is_builtin said {name} is a builtin"),
        };
        self.status = status;
        Flow::Normal
    }

    async fn builtin_exec(&mut self, cmd: &SimpleCommand, args: Vec<String>) -> Flow {
        if args.is_empty() {
            // `exec 3< f`: redirections that last.
            self.status = if self.apply_redirects(&cmd.redirects, false).await.is_ok() {
                0
            } else {
                1
            };
            return Flow::Normal;
        }
        if self.apply_redirects(&cmd.redirects, false).await.is_err() {
            return Flow::Exit(1);
        }
        let name = args[0].clone();
        let path = self.find_command(&name).await;
        Flow::Exit(self.exec_external(&name, path, args).await)
    }

    /// `wait [pid | jobspec ...]`. An interactive shell tells which jobs ended
    /// once the waiting is over, not after each one (measured: `for ...; do
    /// sleep 0.1 & done; wait` prints both `Done` lines after the wait).
    async fn builtin_wait(&mut self, args: &[String]) -> i32 {
        let status = self.wait_all_of(args).await;
        self.notify_jobs().await;
        status
    }

    async fn wait_all_of(&mut self, args: &[String]) -> i32 {
        if args.is_empty() {
            while let Some(pid) = self.jobs.iter().find_map(|j| j.running().next()) {
                self.wait_for(&[pid], false).await;
            }
            return 0;
        }
        let mut status = 0;
        for a in args {
            let pid = if a.starts_with('%') {
                match self.job_of(a) {
                    Ok(pid) => pid,
                    Err(e) => {
                        self.err(&format!("wait: {e}")).await;
                        status = 127;
                        continue;
                    }
                }
            } else if let Ok(pid) = a.parse::<Pid>() {
                pid
            } else {
                self.err(&format!("wait: `{a}': not a pid or valid job spec"))
                    .await;
                status = 2;
                continue;
            };
            status = match self.wait_job_of(pid).await {
                Some(st) => st.shell_status(),
                None => {
                    self.err(&format!("wait: pid {pid} is not a child of this shell"))
                        .await;
                    127
                }
            };
        }
        status
    }

    /// `wait PID`: a job's process waits for the whole job and gives its status,
    /// the last process's (bash's `wait_for`); any other child, for itself.
    async fn wait_job_of(&mut self, pid: Pid) -> Option<ExitStatus> {
        let pids: Vec<Pid> = match self.jobs.iter().find(|j| j.has(pid)) {
            Some(job) => job.procs.iter().map(|p| p.pid).collect(),
            None => vec![pid],
        };
        self.wait_for(&pids, false).await
    }

    async fn builtin_trap(&mut self, args: &[String]) -> i32 {
        let Some((action, sigs)) = args.split_first() else {
            return 0;
        };
        let mut status = 0;
        for s in sigs {
            if s == "EXIT" || s == "0" {
                self.exit_trap = if action == "-" {
                    None
                } else {
                    Some(action.clone())
                };
                continue;
            }
            let Some(sig) = Signal::parse(s) else {
                self.err(&format!("trap: {s}: invalid signal specification"))
                    .await;
                status = 1;
                continue;
            };
            let d = match action.as_str() {
                "" => Disposition::Ignore,
                "-" => Disposition::Default,
                _ => Disposition::Handler { restart: true },
            };
            if self.sys.sigaction(sig, d).await.is_err() {
                status = 1;
                continue;
            }
            if matches!(d, Disposition::Handler { .. }) {
                self.traps.insert(sig, action.clone());
            } else {
                self.traps.remove(&sig);
            }
        }
        status
    }

    async fn builtin_set(&mut self, args: &[String]) -> i32 {
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            let on = a.starts_with('-');
            match a.as_str() {
                "-o" | "+o" => {
                    match args.get(i + 1).map(String::as_str) {
                        Some("pipefail") => self.pipefail = on,
                        Some("errexit") => self.errexit = on,
                        Some(o) => {
                            self.err(&format!("set: {o}: invalid option name")).await;
                            return 1;
                        }
                        None => return 0,
                    }
                    i += 2;
                    continue;
                }
                "-e" | "+e" => self.errexit = on,
                "--" => {
                    self.positional = args[i + 1..].to_vec();
                    return 0;
                }
                _ => {
                    self.err(&format!("set: {a}: invalid option")).await;
                    return 2;
                }
            }
            i += 1;
        }
        0
    }

    async fn builtin_kill(&mut self, args: &[String]) -> i32 {
        let mut sig = Some(Signal::SIGTERM);
        let mut rest = args;
        match args.first().map(String::as_str) {
            Some("-l") => {
                let names: Vec<String> = Signal::ALL
                    .iter()
                    .map(|s| format!("{}) {}", s.number(), s.name()))
                    .collect();
                return self.out(&format!("{}\n", names.join("\t"))).await;
            }
            Some("-s") => {
                sig = args.get(1).and_then(|s| Signal::parse(s));
                rest = args.get(2..).unwrap_or(&[]);
            }
            Some(a) if a.starts_with('-') && a.len() > 1 => {
                sig = if &a[1..] == "0" {
                    None
                } else {
                    Signal::parse(&a[1..])
                };
                if sig.is_none() && &a[1..] != "0" {
                    self.err(&format!("kill: {}: invalid signal specification", &a[1..]))
                        .await;
                    return 1;
                }
                rest = &args[1..];
            }
            _ => {}
        }
        if rest.is_empty() {
            self.err("kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ... or kill -l [sigspec]").await;
            return 2;
        }
        // bash 5.2 succeeds if any signal was sent, or a job named (measured:
        // `kill 999999 $!` is 0, `kill %5` alone is 1, `kill %1` on a job its
        // SIGCHLD handler found dead is 0 with no kill(2)).
        self.take_reaped().await;
        let mut sent = false;
        for t in rest {
            let mut cont = false;
            let targets: Vec<i32> = if t.starts_with('%') {
                match self.job_of(t) {
                    Ok(pid) => {
                        sent = true;
                        cont = matches!(sig, Some(Signal::SIGTERM | Signal::SIGHUP))
                            && self.jobs.iter().any(|j| j.pid() == pid && j.stopped);
                        self.job_targets(pid)
                    }
                    Err(e) => {
                        self.err(&format!("kill: {e}")).await;
                        continue;
                    }
                }
            } else if let Ok(pid) = t.parse::<i32>() {
                vec![pid]
            } else {
                self.err(&format!("kill: {t}: arguments must be process or job IDs"))
                    .await;
                continue;
            };
            for target in targets {
                match self.sys.kill(target, sig).await {
                    Ok(()) => sent = true,
                    Err(e) => self.err(&format!("kill: ({target}) - {}", e.text())).await,
                }
                // A stopped job would only die once it runs again: bash
                // sends SIGCONT after SIGTERM or SIGHUP (measured).
                if cont {
                    let _ = self.sys.kill(target, Some(Signal::SIGCONT)).await;
                }
            }
        }
        if sent { 0 } else { 1 }
    }

    /// Whom `kill %N` signals: with job control, the job's process group, in
    /// one `kill(-PGID)` (measured); without, each process of the job still
    /// running, first to last (measured: `kill %1` on `sleep 5 | sleep 6 &` is
    /// two kill(2) calls; none for a job that has ended).
    fn job_targets(&self, pid: Pid) -> Vec<i32> {
        let job = self.jobs.iter().find(|j| j.pid() == pid);
        if let Some(j) = job.filter(|_| self.job_control()) {
            return vec![-(j.procs[0].pid as i32)];
        }
        job.map(|j| j.running().map(|p| p as i32).collect())
            .unwrap_or_default()
    }

    /// The pid of the job a jobspec names, as bash resolves it: `%N` (job number
    /// N), `%%`, `%+` or `%` (the current job: the newest), `%-` (the one
    /// before it), `%name` (the job whose command starts with name), `%?text`
    /// (whose command contains text). The error is bash's words after `kill: `.
    fn job_of(&self, spec: &str) -> Result<Pid, String> {
        let body = &spec[1..];
        let jobs: Vec<&Job> = self.jobs.iter().collect();
        let no_such = || format!("{spec}: no such job");
        let found = match body {
            "" | "%" | "+" => jobs.last(),
            "-" => jobs.iter().rev().nth(1).or(jobs.last()),
            _ => {
                if let Ok(n) = body.parse::<u32>() {
                    jobs.iter().find(|j| j.number == n)
                } else {
                    let (text, matches): (&str, fn(&str, &str) -> bool) =
                        match body.strip_prefix('?') {
                            Some(t) => (t, |cmd, t| cmd.contains(t)),
                            None => (body, |cmd, t| cmd.starts_with(t)),
                        };
                    let mut hits = jobs.iter().filter(|j| matches(&j.text, text));
                    let first = hits.next();
                    if hits.next().is_some() {
                        return Err(format!("{text}: ambiguous job spec"));
                    }
                    first
                }
            }
        };
        found.map(|j| j.pid()).ok_or_else(no_such)
    }

    /// `read [-r] [name...]`: one line from stdin, a byte per `read(2)` as bash does
    /// on a pipe (it must not read past the newline).
    async fn builtin_read(&mut self, args: &[String]) -> i32 {
        let raw = args.first().map(String::as_str) == Some("-r");
        let names: Vec<String> = args
            .iter()
            .filter(|a| !a.starts_with('-'))
            .cloned()
            .collect();
        let mut line = Vec::new();
        let mut eof = false;
        loop {
            match self.sys.read(0, 1).await {
                Ok(d) if d.is_empty() => {
                    eof = true;
                    break;
                }
                Ok(d) if d[0] == b'\n' => break,
                Ok(d) => line.extend(d),
                Err(Errno::EINTR) => {
                    self.run_traps().await;
                    if self.interrupted {
                        return 130;
                    }
                }
                Err(e) => {
                    self.err(&format!("read: read error: 0: {}", e.text()))
                        .await;
                    return 1;
                }
            }
        }
        let mut text = String::from_utf8_lossy(&line).into_owned();
        if !raw {
            text = text.replace("\\", "");
        }
        let names = if names.is_empty() {
            vec!["REPLY".to_string()]
        } else {
            names
        };
        let mut words: Vec<&str> = text.split_whitespace().collect();
        for (i, n) in names.iter().enumerate() {
            let v = if i + 1 == names.len() {
                std::mem::take(&mut words).join(" ")
            } else if words.is_empty() {
                String::new()
            } else {
                words.remove(0).to_string()
            };
            self.vars.insert(n.clone(), v);
        }
        if eof && line.is_empty() {
            1
        } else {
            i32::from(eof)
        }
    }

    async fn test(&mut self, args: &[String]) -> Result<bool, String> {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        match a.as_slice() {
            [] => Ok(false),
            ["!", rest @ ..] => {
                let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
                Box::pin(self.test(&rest)).await.map(|b| !b)
            }
            [s] => Ok(!s.is_empty()),
            ["-n", s] => Ok(!s.is_empty()),
            ["-z", s] => Ok(s.is_empty()),
            [op @ ("-e" | "-f" | "-d" | "-p"), path] => {
                let st = self.sys.stat(path).await;
                Ok(matches!(
                    (*op, st),
                    ("-e", Ok(_))
                        | ("-f", Ok(Inode::File { .. } | Inode::Program { .. }))
                        | ("-d", Ok(Inode::Dir))
                        | ("-p", Ok(Inode::Fifo { .. }))
                ))
            }
            [l, "=" | "==", r] => Ok(l == r),
            [l, "!=", r] => Ok(l != r),
            [l, op @ ("-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge"), r] => {
                let num = |s: &str| {
                    s.trim()
                        .parse::<i64>()
                        .map_err(|_| format!("{s}: integer expression expected"))
                };
                let (l, r) = (num(l)?, num(r)?);
                Ok(match *op {
                    "-eq" => l == r,
                    "-ne" => l != r,
                    "-lt" => l < r,
                    "-le" => l <= r,
                    "-gt" => l > r,
                    _ => l >= r,
                })
            }
            _ => Err("too many arguments".to_string()),
        }
    }
}

/// Builtins bash runs itself (with `exec` handled on its own).
/// The byte offsets of `text`'s newlines, in order.
/// How bash words a finished process or job: `Done`, `Exit N`, or the signal's
/// description (`Killed`, `Terminated`).
fn job_status_text(st: ExitStatus) -> String {
    match st {
        ExitStatus::Code(0) => "Done".to_string(),
        ExitStatus::Code(c) => format!("Exit {c}"),
        ExitStatus::Signaled(sig) => sig.text().to_string(),
        // Whatever stopped it (measured: SIGTTIN and SIGSTOP too).
        ExitStatus::Stopped(_) => "Stopped".to_string(),
        ExitStatus::Continued => "Running".to_string(),
    }
}

fn newline_offsets(text: &str) -> Vec<usize> {
    text.bytes()
        .enumerate()
        .filter_map(|(i, b)| (b == b'\n').then_some(i))
        .collect()
}

pub fn is_builtin(name: &str) -> bool {
    matches!(
        name,
        ":" | "true"
            | "false"
            | "echo"
            | "printf"
            | "cd"
            | "exit"
            | "break"
            | "continue"
            | "wait"
            | "trap"
            | "set"
            | "kill"
            | "jobs"
            | "fg"
            | "bg"
            | "read"
            | "shift"
            | "unset"
            | "export"
            | "local"
            | "readonly"
            | "test"
            | "["
    )
}

fn has_command_subst(w: &Word) -> bool {
    w.parts.iter().any(|p| match p {
        WordPart::CommandSubst(_) => true,
        WordPart::DoubleQuoted(inner) => {
            inner.iter().any(|p| matches!(p, WordPart::CommandSubst(_)))
        }
        _ => false,
    })
}

/// `echo -e` and `printf` escapes.
pub fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('a') => out.push('\x07'),
            Some('0') => out.push('\0'),
            Some('e') => out.push('\x1b'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// bash's `printf`: the format is reused until the arguments run out.
pub fn printf(fmt: &str, args: &[String]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut first = true;
    loop {
        let mut consumed = false;
        let mut chars = fmt.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    let mut esc = String::from("\\");
                    if let Some(n) = chars.next() {
                        esc.push(n);
                    }
                    out.push_str(&unescape(&esc));
                }
                '%' => {
                    let mut spec = String::new();
                    while let Some(&n) = chars.peek() {
                        if n.is_ascii_digit() || n == '-' || n == '.' {
                            spec.push(n);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    let conv = chars.next().unwrap_or('%');
                    if conv == '%' {
                        out.push('%');
                        continue;
                    }
                    consumed = true;
                    let arg = args.next().cloned().unwrap_or_default();
                    let text = match conv {
                        'd' | 'i' => arg.trim().parse::<i64>().unwrap_or(0).to_string(),
                        'b' => unescape(&arg),
                        _ => arg,
                    };
                    let width: usize = spec
                        .trim_start_matches('-')
                        .split('.')
                        .next()
                        .and_then(|w| w.parse().ok())
                        .unwrap_or(0);
                    if spec.starts_with('-') {
                        out.push_str(&format!("{text:<width$}"));
                    } else {
                        out.push_str(&format!("{text:>width$}"));
                    }
                }
                c => out.push(c),
            }
        }
        if !consumed || args.len() == 0 {
            break;
        }
        if first {
            first = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printf_reuses_the_format_for_extra_arguments() {
        assert_eq!(printf("%s-", &["a".into(), "b".into()]), "a-b-");
        assert_eq!(
            printf("GET / HTTP/1.0\\r\\n\\r\\n", &[]),
            "GET / HTTP/1.0\r\n\r\n"
        );
        assert_eq!(
            printf("%5d|%-3s|", &["42".into(), "x".into()]),
            "   42|x  |"
        );
    }

    #[test]
    fn echo_e_escapes_decode() {
        assert_eq!(unescape("a\\tb\\n"), "a\tb\n");
    }
}
