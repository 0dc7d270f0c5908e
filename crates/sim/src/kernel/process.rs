//! Processes: the table, fd tables, `fork(2)`, `execve(2)`, `_exit(2)`, `wait4(2)`,
//! `kill(2)`, `rt_sigaction(2)`, `rt_sigprocmask(2)` and signal delivery, with
//! stop signals stopping a process and SIGCONT continuing it.

use crate::vecmap::VecMap;

use serde::Serialize;

use super::signal::{DefaultAction, Disposition, SigHow, SignalState};
use super::{
    Attempt, Errno, Fd, FileId, INIT_PID, Kernel, Micros, Pid, Signal, SysResult, Wait, WaitKey,
};
use crate::trace::EventKind;

/// One entry of a process's fd table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FdEntry {
    pub file: FileId,
    /// `FD_CLOEXEC`: closed by `execve`.
    pub cloexec: bool,
}

/// How a process ended, as `wait4(2)` reports it; asked with `WSTOPPED` or
/// `WCONTINUED`, it also reports a child that stopped or went on (never a
/// process's `exit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ExitStatus {
    Code(i32),
    Signaled(Signal),
    Stopped(Signal),
    Continued,
}

impl ExitStatus {
    /// The number a shell shows in `$?`: the code, or 128 + the signal number
    /// (148 for a job Ctrl-Z stopped).
    pub fn shell_status(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signaled(s) | ExitStatus::Stopped(s) => 128 + s.number(),
            ExitStatus::Continued => 0,
        }
    }
}

/// A process's scheduling state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum State {
    Runnable,
    /// Parked in `call` (e.g. `read(0, ...)`) until `wait` is over.
    Blocked {
        call: String,
        wait: Wait,
    },
    /// Stopped by `signal` (signal(7)'s Stop action): it does not run until a
    /// SIGCONT. A call it was blocked in ended with its restart code and is
    /// made again once it goes on.
    Stopped {
        signal: Signal,
    },
    /// Dead, waiting for its parent to collect the status.
    Zombie,
    /// Dead and collected; kept for the record.
    Reaped,
}

/// A signal on its way to the program: the signal, its sender, what it does,
/// and for a SIGCHLD whether the child stopped or went on.
pub type Delivering = (Signal, Option<Pid>, Disposition, Option<ExitStatus>);

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    pub pid: Pid,
    pub ppid: Pid,
    pub pgid: Pid,
    pub argv: Vec<String>,
    pub cwd: String,
    pub state: State,
    pub fds: VecMap<Fd, FdEntry>,
    pub signals: SignalState,
    pub exit: Option<ExitStatus>,
    /// A caught or fatal signal arrived while blocked: the call ends with its
    /// restart code (`= ? ERESTARTSYS`), then the signal is delivered.
    pub interrupted: bool,
    /// Signals that interrupted a blocked call, with their senders, waiting to
    /// be traced (`--- SIGCHLD ---`) right after the call's `= ? ERESTART...`
    /// line, as strace shows them at delivery.
    #[serde(skip)]
    pub delivering: Vec<Delivering>,
    /// A stop signal came while it was blocked or in its own syscall: it stops
    /// as the call returns.
    #[serde(skip)]
    pub stopping: Option<Signal>,
    /// A stop or a continue its parent's `wait4(WSTOPPED|WCONTINUED)` has not
    /// collected yet (each is reported once).
    #[serde(skip)]
    pub report: Option<ExitStatus>,
    /// Caught signals whose handlers run as the current call returns to the
    /// program, or before its next call when they came in between
    /// (`crate::sys`).
    #[serde(skip)]
    pub handling: Vec<Signal>,
    /// What its last syscall returned (a restart code aside: the program
    /// never sees it): the value in rax that `rt_sigreturn` gives back after
    /// a handler that ran between calls.
    #[serde(skip)]
    pub last_ret: Result<i64, Errno>,
    /// A fatal signal raised by the process's own syscall, acted on at its return.
    pub fatal: Option<Signal>,
    /// `exit_group(code)` was called: the process ends once the call is traced.
    pub exiting: Option<i32>,
    /// Set by `execve`: the program the executor must start in place of this one.
    pub exec_pending: bool,
    /// When it can make its next syscall: the time its last one started plus what
    /// that one cost. Each process runs on its own timeline; the scheduler runs
    /// whichever is due first.
    pub ready_at: Micros,
    /// The part of its user-space memory a program chose to show (most show none).
    pub memory: Option<Memory>,
    /// Resident set size in KiB, as `ps -o rss=` showed for the real program
    /// (`crate::programs::rss`); `None` for programs nobody measured.
    pub rss_kb: Option<u32>,
}

/// The most bytes of memory a program may publish.
pub const MEMORY_MAX_BYTES: usize = 4096;

/// A labelled range of [`Memory::bytes`]: `request buffer`, `private key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub start: usize,
    pub len: usize,
    pub label: String,
}

/// A window on a program's user-space memory, for the page to draw: a few bytes
/// (at most [`MEMORY_MAX_BYTES`]), what lies where, and the range the program last
/// copied out (into a reply, say).
///
/// A real process's memory is pages the kernel never looks inside; a program
/// publishes this only to be seen. It is copied by `fork(2)` and dropped by
/// `execve(2)`, as the address space is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    pub bytes: Vec<u8>,
    pub regions: Vec<Region>,
    pub last_read: Option<Region>,
}

impl Memory {
    /// `bytes` with no regions yet. Panics past [`MEMORY_MAX_BYTES`] (a program bug).
    pub fn new(bytes: Vec<u8>) -> Memory {
        assert!(
            bytes.len() <= MEMORY_MAX_BYTES,
            "published memory is {} bytes, the limit is {MEMORY_MAX_BYTES}",
            bytes.len()
        );
        Memory {
            bytes,
            regions: Vec::new(),
            last_read: None,
        }
    }

    /// Names `len` bytes at `start`. Panics if the range is outside the bytes.
    pub fn label(&mut self, start: usize, len: usize, label: &str) {
        self.regions.push(self.region(start, len, label));
    }

    /// Copies `data` in at `start` (a `memcpy` into the program's buffer).
    pub fn write(&mut self, start: usize, data: &[u8]) {
        let r = self.region(start, data.len(), "");
        self.bytes[r.start..r.start + r.len].copy_from_slice(data);
    }

    /// Copies `len` bytes out from `start` and records the range as
    /// [`Memory::last_read`].
    pub fn read(&mut self, start: usize, len: usize, label: &str) -> Vec<u8> {
        let r = self.region(start, len, label);
        let out = self.bytes[r.start..r.start + r.len].to_vec();
        self.last_read = Some(r);
        out
    }

    /// The region named `label`, if any.
    pub fn find(&self, label: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.label == label)
    }

    fn region(&self, start: usize, len: usize, label: &str) -> Region {
        assert!(
            start
                .checked_add(len)
                .is_some_and(|end| end <= self.bytes.len()),
            "range {start}+{len} is outside {} bytes of memory",
            self.bytes.len()
        );
        Region {
            start,
            len,
            label: label.to_string(),
        }
    }
}

impl Process {
    pub fn new(pid: Pid, ppid: Pid, argv: Vec<String>, cwd: String) -> Process {
        Process {
            pid,
            ppid,
            pgid: pid,
            argv,
            cwd,
            state: State::Runnable,
            fds: VecMap::new(),
            signals: SignalState::default(),
            exit: None,
            interrupted: false,
            delivering: Vec::new(),
            stopping: None,
            report: None,
            handling: Vec::new(),
            last_ret: Ok(0),
            fatal: None,
            exiting: None,
            exec_pending: false,
            ready_at: 0,
            memory: None,
            rss_kb: None,
        }
    }

    pub fn is_alive(&self) -> bool {
        self.exit.is_none()
    }

    /// The lowest free fd at or above `min` (POSIX: open and dup use the lowest).
    pub fn lowest_free_fd(&self, min: Fd) -> Fd {
        let mut fd = min;
        while self.fds.contains_key(&fd) {
            fd += 1;
        }
        fd
    }
}

impl Kernel {
    pub fn proc(&self, pid: Pid) -> &Process {
        self.procs
            .get(&pid)
            .unwrap_or_else(|| panic!("no process {pid}"))
    }

    pub fn proc_mut(&mut self, pid: Pid) -> &mut Process {
        self.procs
            .get_mut(&pid)
            .unwrap_or_else(|| panic!("no process {pid}"))
    }

    /// Starts a process from nothing (a terminal's shell): child of init, its own
    /// process group, fds 0-2 on the terminal.
    pub fn spawn_session(&mut self, argv: Vec<String>, cwd: &str, terminal: u32) -> Pid {
        let pid = self.alloc_pid();
        let mut p = Process::new(pid, INIT_PID, argv, cwd.to_string());
        let file = self.new_file(
            super::fs::Object::Terminal { n: terminal },
            super::fs::OpenFlags::read_write(),
            Some(format!("/dev/pts/{terminal}")),
        );
        self.files.get_mut(&file).expect("just made").refs = 3;
        for fd in 0..3 {
            p.fds.insert(
                fd,
                FdEntry {
                    file,
                    cloexec: false,
                },
            );
        }
        self.procs.insert(pid, p);
        self.terminals[terminal as usize].foreground = pid;
        self.emit(Some(pid), EventKind::Spawn { parent: INIT_PID });
        pid
    }

    /// `fork(2)` (strace shows `clone`): a copy of the caller sharing its open file
    /// descriptions, inheriting dispositions but no pending signals.
    pub fn sys_fork(&mut self, pid: Pid) -> Attempt<Pid> {
        if self.live_processes() >= self.limits.max_processes {
            return Attempt::Done(Err(Errno::EAGAIN));
        }
        let child = self.alloc_pid();
        let parent = self.proc(pid).clone();
        for entry in parent.fds.values() {
            self.files
                .get_mut(&entry.file)
                .expect("fd points at a file")
                .refs += 1;
        }
        let p = Process {
            pid: child,
            ppid: pid,
            pgid: parent.pgid,
            argv: parent.argv.clone(),
            cwd: parent.cwd.clone(),
            state: State::Runnable,
            fds: parent.fds.clone(),
            signals: parent.signals.on_fork(),
            exit: None,
            interrupted: false,
            delivering: Vec::new(),
            stopping: None,
            report: None,
            handling: Vec::new(),
            last_ret: Ok(0),
            fatal: None,
            exiting: None,
            exec_pending: false,
            ready_at: self.now,
            memory: parent.memory.clone(),
            rss_kb: parent.rss_kb,
        };
        self.procs.insert(child, p);
        self.emit(Some(child), EventKind::Spawn { parent: pid });
        Attempt::Done(Ok(child))
    }

    /// The kernel half of `execve(2)`: closes `O_CLOEXEC` fds, resets handled
    /// signals (ignored ones stay ignored) and takes the new argv. Finding the
    /// program is the caller's job.
    pub fn exec_replace(&mut self, pid: Pid, argv: Vec<String>) {
        let cloexec: Vec<Fd> = self
            .proc(pid)
            .fds
            .iter()
            .filter(|(_, e)| e.cloexec)
            .map(|(fd, _)| *fd)
            .collect();
        for fd in cloexec {
            self.close_fd(pid, fd);
        }
        let p = self.proc_mut(pid);
        p.signals.on_exec();
        p.handling.clear();
        p.argv = argv;
        // A new address space: the new program publishes its own.
        p.memory = None;
        p.rss_kb = None;
        p.exec_pending = true;
    }

    /// `_exit(2)` or death by a signal: closes every fd, makes the process a zombie,
    /// hands its children to init and tells its parent (SIGCHLD, wakes `wait4`).
    pub fn terminate(&mut self, pid: Pid, status: ExitStatus) {
        if !self.proc(pid).is_alive() {
            return;
        }
        let fds: Vec<Fd> = self.proc(pid).fds.keys().copied().collect();
        for fd in fds {
            self.close_fd(pid, fd);
        }
        self.deaths += 1;
        self.unindex_blocked(pid);
        let ppid = {
            let p = self.proc_mut(pid);
            p.exit = Some(status);
            p.state = State::Zombie;
            p.ppid
        };
        self.emit(Some(pid), EventKind::Exit { status });
        let orphans: Vec<Pid> = self
            .procs
            .values()
            .filter(|p| p.ppid == pid && !matches!(p.state, State::Reaped))
            .map(|p| p.pid)
            .collect();
        for orphan in orphans {
            self.proc_mut(orphan).ppid = INIT_PID;
            if matches!(self.proc(orphan).state, State::Zombie) {
                self.proc_mut(orphan).state = State::Reaped;
            }
        }
        if ppid == INIT_PID {
            // init reaps at once.
            self.proc_mut(pid).state = State::Reaped;
        } else {
            self.raise(ppid, Signal::SIGCHLD, Some(pid));
            self.wake(WaitKey::Child(ppid));
        }
    }

    /// `wait4(2)` for `target` (-1: any child). `nohang` is `WNOHANG`:
    /// `Ok(None)` when no child has ended yet; `changes` is `WSTOPPED|WCONTINUED`:
    /// a child that stopped or went on is reported too, once.
    pub fn sys_wait4(
        &mut self,
        pid: Pid,
        target: i32,
        nohang: bool,
        changes: bool,
    ) -> Attempt<Option<(Pid, ExitStatus)>> {
        let children: Vec<&Process> = self
            .procs
            .values()
            .filter(|p| {
                p.ppid == pid
                    && !matches!(p.state, State::Reaped)
                    && (target == -1 || p.pid as i32 == target)
            })
            .collect();
        if children.is_empty() {
            return Attempt::Done(Err(Errno::ECHILD));
        }
        if let Some(z) = children.iter().find(|p| matches!(p.state, State::Zombie)) {
            let (child, status) = (z.pid, z.exit.expect("a zombie has a status"));
            self.proc_mut(child).state = State::Reaped;
            return Attempt::Done(Ok(Some((child, status))));
        }
        if let Some(c) = children.iter().find(|p| changes && p.report.is_some()) {
            let child = c.pid;
            let report = self.proc_mut(child).report.take();
            return Attempt::Done(Ok(report.map(|r| (child, r))));
        }
        if nohang {
            return Attempt::Done(Ok(None));
        }
        Attempt::Block(Wait::on(WaitKey::Child(pid)))
    }

    /// `rt_sigaction(2)`: sets a disposition, returns the old one.
    pub fn sys_sigaction(
        &mut self,
        pid: Pid,
        sig: Signal,
        d: Disposition,
    ) -> SysResult<Disposition> {
        if !sig.can_be_caught() && d != Disposition::Default {
            return Err(Errno::EINVAL);
        }
        Ok(self.proc_mut(pid).signals.set(sig, d))
    }

    /// `rt_sigprocmask(2)`: changes the blocked mask by `set` (bit `signo -
    /// 1`), or with `None` only reads it, and returns the mask as it was.
    /// Signals that were pending and are unblocked now are delivered before
    /// the call returns.
    pub fn sys_sigprocmask(&mut self, pid: Pid, how: SigHow, set: Option<u64>) -> SysResult<u64> {
        let old = self.proc(pid).signals.blocked();
        let Some(set) = set else {
            return Ok(old);
        };
        let released = self.proc_mut(pid).signals.set_mask(how, set);
        for (sig, from, change) in released {
            self.raise_info(pid, sig, from, change);
        }
        Ok(old)
    }

    /// `kill(2)`: a pid, or a process group with a negative number.
    pub fn sys_kill(&mut self, pid: Pid, target: i32, sig: Option<Signal>) -> SysResult<()> {
        // A zombie is still a process until its parent collects it: a signal to
        // it succeeds and does nothing (measured: kill(2) on a zombie returns 0,
        // ESRCH only once it is reaped).
        let targets: Vec<Pid> = if target > 0 {
            self.procs
                .get(&(target as Pid))
                .filter(|p| !matches!(p.state, State::Reaped))
                .map(|p| vec![p.pid])
                .unwrap_or_default()
        } else if target < -1 {
            self.group((-target) as Pid)
        } else {
            return Err(Errno::EINVAL);
        };
        if targets.is_empty() {
            return Err(Errno::ESRCH);
        }
        // Signal 0 only checks that the target exists.
        if let Some(sig) = sig {
            for t in targets {
                self.raise(t, sig, Some(pid));
            }
        }
        Ok(())
    }

    /// The trace event of `signal` reaching its target: a SIGCHLD says how the
    /// child that sent it ended, or (`change`) that it stopped or went on.
    pub fn signal_event(
        &self,
        signal: Signal,
        from: Option<Pid>,
        disposition: Disposition,
        change: Option<ExitStatus>,
    ) -> EventKind {
        let child = change.or_else(|| {
            from.filter(|_| signal == Signal::SIGCHLD)
                .and_then(|c| self.procs.get(&c)?.exit)
        });
        EventKind::Signal {
            signal,
            from,
            disposition,
            child,
        }
    }

    /// Generates `sig` for `pid` and acts on it as Linux would by the time the
    /// target next runs: ignored signals vanish, fatal ones kill, caught ones are
    /// queued for the program and interrupt a blocked call. A fatal signal a
    /// process raises against itself (SIGPIPE from its own write) takes effect when
    /// its syscall returns ([`Kernel::syscall_exit`]).
    pub fn raise(&mut self, pid: Pid, sig: Signal, from: Option<Pid>) {
        self.raise_info(pid, sig, from, None);
    }

    /// [`Kernel::raise`], with why a SIGCHLD was sent (`change`: the child
    /// stopped or went on).
    ///
    /// Stop signals (signal(7)): their default action stops the process
    /// ([`Kernel::stop`]) where a fatal one would kill it. SIGCONT acts when it
    /// is generated, blocked or not: a stopped process goes on, and pending
    /// stop signals are discarded (a stop signal discards a pending SIGCONT).
    /// A stopped process takes no other signal but SIGKILL: they wait until
    /// it goes on, as under strace (a fatal one ends it then; without ptrace,
    /// Linux kills a stopped process at once).
    pub fn raise_info(
        &mut self,
        pid: Pid,
        sig: Signal,
        from: Option<Pid>,
        change: Option<ExitStatus>,
    ) {
        let Some(p) = self.procs.get(&pid) else {
            return;
        };
        if !p.is_alive() || pid == INIT_PID {
            return;
        }
        if sig == Signal::SIGCONT {
            self.resume(pid);
        } else if sig.stops() {
            self.proc_mut(pid).signals.discard(|s| s == Signal::SIGCONT);
        }
        let p = self.proc(pid);
        if !p.is_alive() {
            // A signal it held while stopped killed it as it went on.
            return;
        }
        let stopped = matches!(p.state, State::Stopped { .. }) && sig != Signal::SIGKILL;
        if p.signals.is_blocked(sig) || stopped {
            // Held back, and traced only when delivered: strace shows
            // `--- SIG... ---` at delivery, after the unblocking call.
            self.proc_mut(pid).signals.hold(sig, from, change);
            return;
        }
        if p.handling.contains(&sig) {
            // A standard signal is pending at most once (`legacy_queue`): one
            // that comes while the same waits for its handler is lost.
            return;
        }
        let disposition = if sig.can_be_caught() {
            p.signals.disposition(sig)
        } else {
            Disposition::Default
        };
        let fatal = disposition == Disposition::Default
            && matches!(
                sig.default_action(),
                DefaultAction::Term | DefaultAction::Core
            );
        let stop = disposition == Disposition::Default && sig.stops();
        if matches!(p.state, State::Blocked { .. }) {
            // The blocked call ends first, with its restart code (`= ?
            // ERESTARTSYS`); the signal is delivered (and traced) after it, as
            // the process goes back to user space: to its handler, or to its
            // death (measured: `accept4(...) = ? ERESTARTSYS`, `--- SIGTERM
            // ---`, `+++ killed by SIGTERM +++`). See `crate::sys`. Under
            // ptrace an ignored signal interrupts too (`sig_ignored()` is false
            // for a traced task): the call ends, `--- SIGCHLD ---`, and it goes
            // on; a call that can complete (a wait4 woken by the same child's
            // death) completes, and the signal comes after it. The trace is
            // strace's view, so the simulation shows that.
            let p = self.proc_mut(pid);
            p.delivering.push((sig, from, disposition, change));
            p.interrupted = true;
            if fatal {
                p.fatal.get_or_insert(sig);
            } else if stop {
                p.stopping = Some(sig);
            } else if matches!(disposition, Disposition::Handler { .. }) {
                p.signals.caught.push(sig);
                p.handling.push(sig);
            }
            self.make_runnable(pid);
            return;
        }
        if matches!(disposition, Disposition::Handler { .. }) && self.current != Some(pid) {
            // Caught while the process runs between calls: it is delivered,
            // and traced, as the process next goes back to user space, its
            // handler before its next call (`crate::sys`).
            let p = self.proc_mut(pid);
            p.delivering.push((sig, from, disposition, change));
            p.signals.caught.push(sig);
            p.handling.push(sig);
            return;
        }
        let event = self.signal_event(sig, from, disposition, change);
        self.emit(Some(pid), event);
        match disposition {
            Disposition::Ignore => {}
            Disposition::Default if stop => {
                if self.current == Some(pid) {
                    self.proc_mut(pid).stopping = Some(sig);
                } else {
                    self.stop(pid, sig);
                }
            }
            Disposition::Default if !fatal => {}
            Disposition::Default => {
                if self.current == Some(pid) {
                    self.proc_mut(pid).fatal = Some(sig);
                } else {
                    self.terminate(pid, ExitStatus::Signaled(sig));
                }
            }
            Disposition::Handler { .. } => {
                // Raised by the process's own call: its handler runs as the
                // call returns (`crate::sys`).
                let p = self.proc_mut(pid);
                p.signals.caught.push(sig);
                p.handling.push(sig);
            }
        }
    }

    /// Called as a syscall returns to the program: a fatal signal the call raised
    /// kills the process now. Returns whether the process is still alive.
    pub fn syscall_exit(&mut self, pid: Pid) -> bool {
        if let Some(sig) = self.proc_mut(pid).fatal.take() {
            self.terminate(pid, ExitStatus::Signaled(sig));
        } else if let Some(code) = self.proc_mut(pid).exiting.take() {
            self.terminate(pid, ExitStatus::Code(code));
        } else if let Some(sig) = self.proc_mut(pid).stopping.take() {
            self.stop(pid, sig);
        }
        self.proc(pid).is_alive()
    }

    /// A stop signal's default action: `pid` stops (strace: `--- stopped by
    /// SIGTSTP ---`), and its parent gets SIGCHLD (`CLD_STOPPED`) and a
    /// report for `wait4(WSTOPPED)`.
    ///
    /// Simplification: no orphaned process groups (Linux drops SIGTSTP,
    /// SIGTTIN and SIGTTOU sent to one), and the whole process stops, as a
    /// single-threaded one does.
    pub fn stop(&mut self, pid: Pid, signal: Signal) {
        self.emit(Some(pid), EventKind::Stopped { signal });
        self.unindex_blocked(pid);
        let p = self.proc_mut(pid);
        p.state = State::Stopped { signal };
        p.report = Some(ExitStatus::Stopped(signal));
        let ppid = p.ppid;
        self.tell_parent(ppid, pid, ExitStatus::Stopped(signal));
    }

    /// SIGCONT's own action, as it is generated: a stopped process goes on
    /// (its parent gets SIGCHLD, `CLD_CONTINUED`, and a report for
    /// `wait4(WCONTINUED)`), and stop signals still pending are dropped.
    fn resume(&mut self, pid: Pid) {
        let p = self.proc_mut(pid);
        p.signals.discard(Signal::stops);
        p.stopping = None;
        p.delivering.retain(|(s, ..)| !s.stops());
        if !matches!(p.state, State::Stopped { .. }) {
            return;
        }
        p.report = Some(ExitStatus::Continued);
        let ppid = p.ppid;
        self.make_runnable(pid);
        self.tell_parent(ppid, pid, ExitStatus::Continued);
        // What came while it was stopped is delivered now.
        for (sig, from, change) in self.proc_mut(pid).signals.release() {
            self.raise_info(pid, sig, from, change);
        }
    }

    fn tell_parent(&mut self, ppid: Pid, pid: Pid, change: ExitStatus) {
        if ppid != INIT_PID {
            self.raise_info(ppid, Signal::SIGCHLD, Some(pid), Some(change));
            self.wake(WaitKey::Child(ppid));
        }
    }

    /// `dup2(2)`.
    pub fn sys_dup2(&mut self, pid: Pid, old: Fd, new: Fd) -> SysResult<Fd> {
        let entry = *self.proc(pid).fds.get(&old).ok_or(Errno::EBADF)?;
        if new < 0 || new as usize >= self.limits.max_fds {
            return Err(Errno::EBADF);
        }
        if old == new {
            return Ok(new);
        }
        self.close_fd(pid, new);
        self.files
            .get_mut(&entry.file)
            .expect("fd points at a file")
            .refs += 1;
        self.proc_mut(pid).fds.insert(
            new,
            FdEntry {
                file: entry.file,
                cloexec: false,
            },
        );
        Ok(new)
    }

    /// `dup(2)` and `fcntl(F_DUPFD)`: the lowest free fd at or above `min`.
    pub fn sys_dup(&mut self, pid: Pid, old: Fd, min: Fd) -> SysResult<Fd> {
        let entry = *self.proc(pid).fds.get(&old).ok_or(Errno::EBADF)?;
        let new = self.proc(pid).lowest_free_fd(min);
        if new as usize >= self.limits.max_fds {
            return Err(Errno::EMFILE);
        }
        self.files
            .get_mut(&entry.file)
            .expect("fd points at a file")
            .refs += 1;
        self.proc_mut(pid).fds.insert(
            new,
            FdEntry {
                file: entry.file,
                cloexec: false,
            },
        );
        Ok(new)
    }

    /// `close(2)`.
    pub fn sys_close(&mut self, pid: Pid, fd: Fd) -> SysResult<()> {
        if !self.proc(pid).fds.contains_key(&fd) {
            return Err(Errno::EBADF);
        }
        self.close_fd(pid, fd);
        Ok(())
    }

    /// Installs `file` at the lowest free fd (the caller already holds a reference).
    pub fn install_fd(&mut self, pid: Pid, file: FileId, cloexec: bool) -> SysResult<Fd> {
        let fd = self.proc(pid).lowest_free_fd(0);
        if fd as usize >= self.limits.max_fds {
            self.release_file(file);
            return Err(Errno::EMFILE);
        }
        self.proc_mut(pid).fds.insert(fd, FdEntry { file, cloexec });
        Ok(fd)
    }

    /// Removes an fd; the last reference to its file releases the object's end.
    pub fn close_fd(&mut self, pid: Pid, fd: Fd) {
        if let Some(entry) = self.proc_mut(pid).fds.remove(&fd) {
            self.release_file(entry.file);
        }
    }

    /// The open file behind `fd`.
    pub fn file_of(&self, pid: Pid, fd: Fd) -> SysResult<FileId> {
        self.proc(pid)
            .fds
            .get(&fd)
            .map(|e| e.file)
            .ok_or(Errno::EBADF)
    }

    /// `fcntl(F_SETFD, FD_CLOEXEC)`.
    pub fn set_cloexec(&mut self, pid: Pid, fd: Fd, on: bool) -> SysResult<()> {
        let e = self.proc_mut(pid).fds.get_mut(&fd).ok_or(Errno::EBADF)?;
        e.cloexec = on;
        Ok(())
    }

    /// The processes of group `pgid` (zombies included: a group lives until its
    /// last member is reaped).
    pub fn group(&self, pgid: Pid) -> Vec<Pid> {
        self.procs
            .values()
            .filter(|p| p.pgid == pgid && !matches!(p.state, State::Reaped))
            .map(|p| p.pid)
            .collect()
    }

    /// `setpgid(2)` for the caller or a child: ESRCH for anyone else, EPERM
    /// to join a group that does not exist.
    ///
    /// Simplification: no sessions, and no EACCES for a child that has
    /// exec'd. Linux refuses that; bash's parent calls it for each child
    /// anyway (its pgrp pipe holds only a job's first process until then) and
    /// ignores the error. Here a child's own call has always come first, so
    /// the parent's changes nothing: it succeeds, as it does on Linux when
    /// the child has not reached `execve` yet.
    pub fn sys_setpgid(&mut self, pid: Pid, target: Pid, pgid: Pid) -> SysResult<()> {
        let target = if target == 0 { pid } else { target };
        let pgid = if pgid == 0 { target } else { pgid };
        match self.procs.get(&target) {
            Some(p) if !matches!(p.state, State::Reaped) && (p.pid == pid || p.ppid == pid) => {}
            _ => return Err(Errno::ESRCH),
        }
        if pgid != target && self.group(pgid).is_empty() {
            return Err(Errno::EPERM);
        }
        self.proc_mut(target).pgid = pgid;
        Ok(())
    }

    /// `tcsetpgrp(3)` (`ioctl(fd, TIOCSPGRP)`): makes `pgid` the foreground
    /// process group of the terminal on `fd`, the one a Ctrl-C typed there
    /// signals. ENOTTY off a terminal, EPERM for a group that does not exist.
    ///
    /// Simplification: no controlling terminals or sessions (nor ESRCH, which
    /// Linux gives for a number no process uses at all), and a caller in a
    /// background group may set it without SIGTTOU (bash blocks SIGTTOU
    /// around the call anyway).
    pub fn sys_tcsetpgrp(&mut self, pid: Pid, fd: Fd, pgid: Pid) -> SysResult<()> {
        let n = self.terminal_of(pid, fd)?;
        if self.group(pgid).is_empty() {
            return Err(Errno::EPERM);
        }
        self.terminals[n].foreground = pgid;
        Ok(())
    }

    /// The terminal `fd` is open on: EBADF for a closed fd, ENOTTY for
    /// anything but a terminal (what `isatty(3)` asks).
    pub fn terminal_of(&self, pid: Pid, fd: Fd) -> SysResult<usize> {
        match self.file(self.file_of(pid, fd)?).object {
            super::fs::Object::Terminal { n } if self.terminals[n as usize].tty => Ok(n as usize),
            _ => Err(Errno::ENOTTY),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::signal::mask_of;

    // ------------------------------------------------------------------ memory

    fn arena() -> Memory {
        let mut m = Memory::new(b"hello, world: secret".to_vec());
        m.label(0, 5, "greeting");
        m.label(14, 6, "secret");
        m
    }

    #[test]
    fn memory_read_copies_the_range_and_remembers_it_as_last_read() {
        let mut m = arena();
        assert_eq!(m.read(7, 13, "reply"), b"world: secret");
        assert_eq!(
            m.last_read,
            Some(Region {
                start: 7,
                len: 13,
                label: "reply".into()
            })
        );
    }

    #[test]
    fn memory_write_changes_bytes_but_not_regions() {
        let mut m = arena();
        m.write(0, b"HELLO");
        assert_eq!(&m.bytes[..7], b"HELLO, ");
        assert_eq!(m.find("greeting").map(|r| (r.start, r.len)), Some((0, 5)));
        assert_eq!(m.last_read, None);
    }

    #[test]
    #[should_panic(expected = "outside")]
    fn memory_read_past_the_end_is_a_program_bug() {
        arena().read(15, 10, "too far");
    }

    #[test]
    #[should_panic(expected = "limit")]
    fn memory_larger_than_the_limit_is_refused() {
        Memory::new(vec![0; MEMORY_MAX_BYTES + 1]);
    }

    #[test]
    fn memory_is_copied_by_fork_and_dropped_by_exec() {
        let mut k = Kernel::default();
        let t = k.add_terminal();
        let pid = k.spawn_session(vec!["sh".into()], "/", t);
        k.proc_mut(pid).memory = Some(arena());
        k.proc_mut(pid).rss_kb = Some(1736);
        let Attempt::Done(Ok(child)) = k.sys_fork(pid) else {
            panic!("fork failed")
        };
        assert_eq!(k.proc(child).memory, Some(arena()));
        assert_eq!(k.proc(child).rss_kb, Some(1736));
        k.exec_replace(child, vec!["cat".into()]);
        assert_eq!(k.proc(child).memory, None);
        assert_eq!(k.proc(child).rss_kb, None);
    }

    // ------------------------------------------------------ process groups

    /// A session's shell on terminal 0 with one forked child.
    fn shell_and_child() -> (Kernel, Pid, Pid) {
        let mut k = Kernel::default();
        let t = k.add_terminal();
        let sh = k.spawn_session(vec!["bash".into()], "/", t);
        let Attempt::Done(Ok(child)) = k.sys_fork(sh) else {
            panic!("fork failed")
        };
        (k, sh, child)
    }

    #[test]
    fn setpgid_moves_a_child_and_refuses_strangers_and_missing_groups() {
        let (mut k, sh, child) = shell_and_child();
        assert_eq!(k.proc(child).pgid, sh);
        assert_eq!(k.sys_setpgid(sh, child, child), Ok(()));
        assert_eq!(k.proc(child).pgid, child);
        // The child may not move its parent, nor join a group nobody leads.
        assert_eq!(k.sys_setpgid(child, sh, child), Err(Errno::ESRCH));
        assert_eq!(k.sys_setpgid(child, 0, 999), Err(Errno::EPERM));
        // Back into the shell's group: it exists.
        assert_eq!(k.sys_setpgid(child, 0, sh), Ok(()));
    }

    #[test]
    fn ctrl_c_signals_the_terminals_foreground_group_only() {
        let (mut k, sh, child) = shell_and_child();
        k.sys_setpgid(sh, child, child).unwrap();
        assert_eq!(k.sys_tcsetpgrp(sh, 0, 999), Err(Errno::EPERM));
        assert_eq!(k.sys_tcsetpgrp(sh, 0, child), Ok(()));
        k.terminal_input(0, &[0x03]);
        assert_eq!(
            k.proc(child).exit,
            Some(ExitStatus::Signaled(Signal::SIGINT))
        );
        assert_eq!(k.proc(sh).exit, None, "the shell is in another group");
    }

    #[test]
    fn tcsetpgrp_off_a_terminal_is_enotty() {
        let (mut k, sh, _) = shell_and_child();
        let (r, _) = k.sys_pipe(sh, Default::default()).unwrap();
        assert_eq!(k.sys_tcsetpgrp(sh, r, sh), Err(Errno::ENOTTY));
        assert_eq!(k.sys_tcsetpgrp(sh, 9, sh), Err(Errno::EBADF));
    }

    // ------------------------------------------------------ stopped processes

    /// A shell and a child in a group of its own, as a job.
    fn shell_and_job() -> (Kernel, Pid, Pid) {
        let (mut k, sh, child) = shell_and_child();
        k.sys_setpgid(sh, child, child).unwrap();
        (k, sh, child)
    }

    fn wait_changes(k: &mut Kernel, sh: Pid) -> Option<(Pid, ExitStatus)> {
        match k.sys_wait4(sh, -1, true, true) {
            Attempt::Done(r) => r.unwrap(),
            Attempt::Block(_) => panic!("WNOHANG blocked"),
        }
    }

    #[test]
    fn a_stop_and_a_continue_are_each_reported_once_to_a_parent_that_asks() {
        let (mut k, sh, child) = shell_and_job();
        k.raise(child, Signal::SIGSTOP, Some(sh));
        assert_eq!(
            k.proc(child).state,
            State::Stopped {
                signal: Signal::SIGSTOP
            }
        );
        // Without WSTOPPED the parent sees nothing.
        assert!(matches!(
            k.sys_wait4(sh, -1, true, false),
            Attempt::Done(Ok(None))
        ));
        assert_eq!(
            wait_changes(&mut k, sh),
            Some((child, ExitStatus::Stopped(Signal::SIGSTOP)))
        );
        assert_eq!(wait_changes(&mut k, sh), None, "once");
        k.raise(child, Signal::SIGCONT, Some(sh));
        assert_eq!(k.proc(child).state, State::Runnable);
        assert_eq!(
            wait_changes(&mut k, sh),
            Some((child, ExitStatus::Continued))
        );
        assert_eq!(wait_changes(&mut k, sh), None, "once");
    }

    #[test]
    fn a_stopped_process_waits_for_sigcont_to_die_of_sigterm_but_not_of_sigkill() {
        let (mut k, sh, child) = shell_and_job();
        k.raise(child, Signal::SIGTSTP, None);
        k.raise(child, Signal::SIGTERM, Some(sh));
        assert!(k.proc(child).is_alive(), "held while stopped");
        k.raise(child, Signal::SIGCONT, Some(sh));
        assert_eq!(
            k.proc(child).exit,
            Some(ExitStatus::Signaled(Signal::SIGTERM))
        );
        let (mut k, sh, child) = shell_and_job();
        k.raise(child, Signal::SIGTSTP, None);
        k.raise(child, Signal::SIGKILL, Some(sh));
        assert_eq!(
            k.proc(child).exit,
            Some(ExitStatus::Signaled(Signal::SIGKILL))
        );
    }

    #[test]
    fn sigcont_discards_a_pending_stop_and_a_stop_a_pending_sigcont() {
        let (mut k, sh, child) = shell_and_job();
        k.sys_sigprocmask(
            child,
            SigHow::Block,
            Some(mask_of(&[Signal::SIGTSTP, Signal::SIGCONT])),
        )
        .unwrap();
        k.raise(child, Signal::SIGTSTP, None);
        k.raise(child, Signal::SIGCONT, Some(sh));
        k.sys_sigprocmask(child, SigHow::Unblock, Some(mask_of(&[Signal::SIGTSTP])))
            .unwrap();
        assert_eq!(k.proc(child).state, State::Runnable, "the stop was dropped");
        k.raise(child, Signal::SIGCONT, Some(sh));
        k.raise(child, Signal::SIGTSTP, None);
        k.sys_sigprocmask(child, SigHow::Unblock, Some(mask_of(&[Signal::SIGCONT])))
            .unwrap();
        assert_eq!(
            k.proc(child).state,
            State::Stopped {
                signal: Signal::SIGTSTP
            },
            "the continue was dropped"
        );
    }

    #[test]
    fn sigstop_can_be_neither_caught_ignored_nor_blocked() {
        let (mut k, _, child) = shell_and_job();
        assert_eq!(
            k.sys_sigaction(child, Signal::SIGSTOP, Disposition::Ignore),
            Err(Errno::EINVAL)
        );
        k.sys_sigprocmask(child, SigHow::Block, Some(mask_of(&[Signal::SIGSTOP])))
            .unwrap();
        k.raise(child, Signal::SIGSTOP, None);
        assert!(matches!(k.proc(child).state, State::Stopped { .. }));
        // SIGTSTP can be ignored.
        let (mut k, _, child) = shell_and_job();
        k.sys_sigaction(child, Signal::SIGTSTP, Disposition::Ignore)
            .unwrap();
        k.raise(child, Signal::SIGTSTP, None);
        assert_eq!(k.proc(child).state, State::Runnable);
    }

    #[test]
    fn ctrl_z_signals_the_terminals_foreground_group_only() {
        let (mut k, sh, child) = shell_and_job();
        k.sys_tcsetpgrp(sh, 0, child).unwrap();
        k.terminal_input(0, &[0x1a]);
        assert_eq!(
            k.proc(child).state,
            State::Stopped {
                signal: Signal::SIGTSTP
            }
        );
        assert!(k.proc(sh).is_alive());
        assert_eq!(k.terminals[0].output, b"^Z");
    }

    #[test]
    fn a_read_of_the_terminal_from_the_background_raises_sigttin_or_fails_with_eio() {
        let (mut k, _, child) = shell_and_job();
        k.current = Some(child);
        assert!(matches!(
            k.sys_read(child, 0, 100),
            Attempt::Done(Err(Errno::ERESTARTSYS))
        ));
        k.current = None;
        assert!(k.syscall_exit(child));
        assert_eq!(
            k.proc(child).state,
            State::Stopped {
                signal: Signal::SIGTTIN
            }
        );
        let (mut k, _, child) = shell_and_job();
        k.sys_sigaction(child, Signal::SIGTTIN, Disposition::Ignore)
            .unwrap();
        assert!(matches!(
            k.sys_read(child, 0, 100),
            Attempt::Done(Err(Errno::EIO))
        ));
    }
}
