//! The simulated kernel: every object a shell pipeline touches, and the syscalls on
//! them, with Linux 6.x semantics.
//!
//! Everything here is synchronous. A syscall method never blocks: it returns
//! [`Attempt::Done`] with the result, or [`Attempt::Block`] naming what the caller
//! waits for. The syscall layer ([`crate::sys`]) turns a block into a parked
//! process and tries again when one of the named wait keys is woken.
//!
//! - [`process`]: the process table, fork/exec/exit/wait, signals.
//! - [`fs`]: the VFS (directories, files, FIFOs, `/dev/null`, terminals), open
//!   file descriptions, read/write/close dispatch.
//! - [`pipe`]: pipe buffers (page slots, `PIPE_BUF`).
//! - [`net`]: loopback TCP.
//! - [`poll`]: readiness for `poll(2)` and `select(2)`.

pub mod errno;
pub mod fs;
pub mod net;
pub mod pipe;
pub mod poll;
pub mod process;
pub mod signal;

use crate::vecmap::{VecMap, VecSet};

use serde::Serialize;

pub use errno::{Errno, SysResult};
pub use signal::{Disposition, SigHow, Signal};

use crate::trace::{Event, EventKind};

/// A process id.
pub type Pid = u32;
/// A file descriptor number, as a C program holds it.
pub type Fd = i32;

/// The pid of init, which adopts orphans and reaps them.
pub const INIT_PID: Pid = 1;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident, $prefix:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }
    };
}

id_type!(
    /// An open file description (`struct file`): what fds point at.
    FileId,
    "file"
);
id_type!(
    /// A pipe buffer: an anonymous pipe or an open FIFO.
    PipeId,
    "pipe"
);
id_type!(
    /// A socket.
    SockId,
    "sock"
);
id_type!(
    /// A VFS inode.
    InodeId,
    "inode"
);

/// Virtual time in microseconds since the run started.
pub type Micros = u64;

/// What a blocked process waits for. Any change to the object wakes every process
/// waiting on it; each then tries its call again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "camelCase")]
pub enum WaitKey {
    Pipe(PipeId),
    /// A FIFO's reader or writer count changed (open rendezvous).
    Fifo(InodeId),
    Socket(SockId),
    /// A child of this process changed state.
    Child(Pid),
    /// Input arrived on terminal N.
    Terminal(u32),
}

/// What a blocked call waits for: some wait keys, a deadline, or both.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Wait {
    pub keys: Vec<WaitKey>,
    pub until: Option<Micros>,
}

impl Wait {
    pub fn on(key: WaitKey) -> Wait {
        Wait {
            keys: vec![key],
            until: None,
        }
    }
}

/// The outcome of one try at a syscall.
#[derive(Debug)]
pub enum Attempt<T> {
    Done(SysResult<T>),
    /// It would block: park the caller until the wait is over, then try again.
    Block(Wait),
}

/// Bounds on everything, so a runaway script ends with a reason, not a hang.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub max_steps: u64,
    /// Processes alive at once (`fork` fails with EAGAIN past it, as `RLIMIT_NPROC`).
    pub max_processes: usize,
    /// Fds per process (`RLIMIT_NOFILE`: EMFILE past it).
    pub max_fds: usize,
    /// Open file descriptions in the whole system (`file-max`: ENFILE past it).
    pub max_files: usize,
    /// Bytes a regular file may hold (ENOSPC past it).
    pub max_file_bytes: usize,
    /// Bytes kept of a terminal's output; the rest is counted but dropped.
    pub max_terminal_bytes: usize,
    /// Bytes one read or write moves at most (a C program's buffer).
    pub max_io_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_steps: 2_000_000,
            max_processes: 512,
            max_fds: 1024,
            max_files: 8192,
            max_file_bytes: 16 << 20,
            max_terminal_bytes: 1 << 20,
            max_io_bytes: 1 << 20,
        }
    }
}

/// How long a woken process takes to get a CPU again: tens of microseconds on a
/// busy 2-core machine. It decides races such as a client's next connect against
/// the listener's exit (which curl mostly wins, measured: reset, not refused).
pub const WAKEUP_LATENCY_US: Micros = 30;

/// Virtual time each syscall costs, so that time passes while processes work. The
/// figures are rough orders of magnitude of this machine's, enough that a restart of
/// the nc loop (fork, FIFO opens, two execs, bind, listen) takes a few milliseconds as
/// it does for real (ground truth §6: 5-20 ms).
pub fn syscall_cost_us(name: &str) -> Micros {
    match name {
        "execve" => 1500,
        "clone" => 150,
        "exit_group" | "wait4" => 20,
        "socket" | "bind" | "listen" | "connect" | "accept" | "accept4" => 20,
        _ => 2,
    }
}

/// The whole simulated machine.
#[derive(Clone, Debug)]
pub struct Kernel {
    pub now: Micros,
    pub limits: Limits,
    pub procs: VecMap<Pid, process::Process>,
    pub files: VecMap<FileId, fs::OpenFile>,
    pub pipes: VecMap<PipeId, pipe::Pipe>,
    pub sockets: VecMap<SockId, net::Socket>,
    pub vfs: fs::Vfs,
    pub terminals: Vec<fs::Terminal>,
    /// Kernel timers (SYN retransmits, TIME-WAIT ends), by due time then
    /// creation order.
    pub timers: VecMap<(Micros, u64), Timer>,
    /// The processes in `State::Blocked`, in pid order, so that a wake-up
    /// looks at those only, not at every process the run ever made (reaped
    /// ones included). Sorted `Vec`s: few processes block at once.
    blocked: Vec<Pid>,
    /// The blocked processes' deadlines (`Wait::until`), soonest first.
    deadlines: Vec<(Micros, Pid)>,
    pub trace: Vec<Event>,
    /// Whether events go into `trace`. A replay that only has to reach a state (a
    /// seek back, whose events the earlier pass recorded already) turns it off and
    /// skips building them; `untraced` counts the events it did not record.
    pub tracing: bool,
    pub untraced: u64,
    /// Completed steps.
    pub step: u64,
    /// Processes that have died so far, so that the executor drops their tasks
    /// only after a death, not after every step.
    pub deaths: u64,
    /// The process whose syscall is running, if any.
    pub current: Option<Pid>,
    /// Bytes through pipes and sockets, for the conservation check.
    pub ledger: Ledger,
    /// This run's wake-up latency: [`WAKEUP_LATENCY_US`], or a seeded value.
    pub wakeup_latency_us: Micros,
    next_pid: Pid,
    next_file: u32,
    next_pipe: u32,
    next_sock: u32,
    next_timer: u64,
    next_ephemeral: u16,
}

/// Every byte that entered a pipe or socket, and where it went: read by a
/// program, still buffered, or thrown away (a FIFO's last close, a reset).
/// `written == read + buffered + dropped` always holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ledger {
    pub written: u64,
    pub read: u64,
    pub dropped: u64,
}

impl Kernel {
    /// Bytes sitting in pipe and socket buffers right now.
    pub fn buffered_bytes(&self) -> u64 {
        let pipes: usize = self.pipes.values().map(|p| p.len()).sum();
        let socks: usize = self.sockets.values().map(|s| s.rx.len()).sum();
        (pipes + socks) as u64
    }
}

impl Kernel {
    /// Checks the simulator's own bookkeeping: every fd points at an open file
    /// whose reference count is the number of fds pointing at it; every pipe's
    /// reader and writer counts match its open ends; no byte appears or vanishes.
    /// Tests call it after every step; a failure is a simulator bug.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut refs: VecMap<FileId, u32> = VecMap::new();
        for p in self.procs.values() {
            if !p.fds.is_empty() && !p.is_alive() {
                return Err(format!("dead process {} holds fds", p.pid));
            }
            for e in p.fds.values() {
                if !self.files.contains_key(&e.file) {
                    return Err(format!("pid {} has an fd on missing {}", p.pid, e.file));
                }
                *refs.entry(e.file).or_default() += 1;
            }
        }
        // A FIFO open waiting for its partner holds a reference no fd shows yet.
        let waiting: VecSet<FileId> = self
            .files
            .keys()
            .copied()
            .filter(|f| !refs.contains_key(f))
            .collect();
        for (id, f) in &self.files {
            let n = refs.get(id).copied().unwrap_or(0);
            if n != f.refs && !(waiting.contains(id) && f.refs == 1) {
                return Err(format!("{id} has refs {} but {n} fds", f.refs));
            }
        }
        for (id, p) in &self.pipes {
            let (mut r, mut w) = (0, 0);
            for f in self.files.values() {
                if let fs::Object::Pipe {
                    pipe, read, write, ..
                } = f.object
                    && pipe == *id
                {
                    r += read as u32;
                    w += write as u32;
                }
            }
            if (r, w) != (p.readers, p.writers) {
                return Err(format!(
                    "{id} counts {}r/{}w but has {r}r/{w}w open",
                    p.readers, p.writers
                ));
            }
        }
        let (mut blocked, mut with_deadline) = (0, 0);
        for p in self.procs.values() {
            let deadline = match &p.state {
                process::State::Blocked { wait, .. } => Some(wait.until),
                _ => None,
            };
            if self.blocked.binary_search(&p.pid).is_ok() != deadline.is_some() {
                return Err(format!(
                    "pid {} is {:?} but indexed otherwise",
                    p.pid, p.state
                ));
            }
            blocked += deadline.is_some() as usize;
            if let Some(Some(until)) = deadline {
                with_deadline += 1;
                if self.deadlines.binary_search(&(until, p.pid)).is_err() {
                    return Err(format!("pid {}'s deadline {until} is not indexed", p.pid));
                }
            }
        }
        if self.blocked.len() != blocked || self.deadlines.len() != with_deadline {
            return Err("the blocked indexes name processes that are not blocked".into());
        }
        let l = self.ledger;
        if l.written != l.read + self.buffered_bytes() + l.dropped {
            return Err(format!(
                "bytes: written {} != read {} + buffered {} + dropped {}",
                l.written,
                l.read,
                self.buffered_bytes(),
                l.dropped
            ));
        }
        Ok(())
    }
}

/// A kernel timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Timer {
    /// Resend the SYN of a connecting socket whose listener's queue was full.
    SynRetransmit(SockId),
    /// A socket's TIME-WAIT is over (`TCP_TIMEWAIT_LEN` after it began).
    TimeWaitOver(SockId),
}

impl Default for Kernel {
    fn default() -> Self {
        Kernel::new(Limits::default())
    }
}

impl Kernel {
    /// A machine with init (pid 1), a root filesystem and no terminals.
    pub fn new(limits: Limits) -> Kernel {
        let mut k = Kernel {
            now: 0,
            limits,
            procs: VecMap::new(),
            files: VecMap::new(),
            pipes: VecMap::new(),
            sockets: VecMap::new(),
            vfs: fs::Vfs::new(),
            terminals: Vec::new(),
            timers: VecMap::new(),
            blocked: Vec::new(),
            deadlines: Vec::new(),
            trace: Vec::new(),
            tracing: true,
            untraced: 0,
            step: 0,
            deaths: 0,
            current: None,
            ledger: Ledger::default(),
            wakeup_latency_us: WAKEUP_LATENCY_US,
            next_pid: INIT_PID,
            next_file: 1,
            next_pipe: 1,
            next_sock: 1,
            next_timer: 0,
            next_ephemeral: 0,
        };
        let init = k.alloc_pid();
        k.procs.insert(
            init,
            process::Process::new(init, 0, vec!["init".into()], "/".into()),
        );
        k
    }

    /// Records an event at the current step and time.
    pub fn emit(&mut self, pid: Option<Pid>, kind: EventKind) {
        if !self.tracing {
            self.skip_event();
            return;
        }
        self.trace.push(Event {
            step: self.step,
            time_us: self.now,
            pid,
            kind,
        });
    }

    /// Counts an event that was not built because tracing is off.
    pub fn skip_event(&mut self) {
        self.untraced += 1;
    }

    /// Wakes every process blocked on `key`. A woken process runs again only after
    /// the scheduler's wake-up latency, while the waker goes on at once.
    pub fn wake(&mut self, key: WaitKey) {
        let now = self.now + self.wakeup_latency_us;
        let woken: Vec<Pid> = self
            .blocked
            .iter()
            .copied()
            .filter(|pid| match &self.proc(*pid).state {
                process::State::Blocked { wait, .. } => wait.keys.contains(&key),
                // Not `{:?}` of the state: its Debug would bring 1.5 KB of
                // formatting code into the page's wasm for a broken invariant
                // (`check_invariants`, which the tests call, prints it).
                _ => panic!("pid {pid} is indexed as blocked but is not blocked"),
            })
            .collect();
        for pid in woken {
            self.unindex_blocked(pid);
            let p = self.proc_mut(pid);
            p.state = process::State::Runnable;
            p.ready_at = p.ready_at.max(now);
        }
    }

    /// A blocked process may run again, from now on.
    pub fn make_runnable(&mut self, pid: Pid) {
        let now = self.now;
        self.unindex_blocked(pid);
        if let Some(p) = self.procs.get_mut(&pid) {
            p.state = process::State::Runnable;
            p.ready_at = p.ready_at.max(now);
        }
    }

    /// Marks `pid` blocked in `call` until `wait` is over.
    pub fn block(&mut self, pid: Pid, call: String, wait: Wait) {
        self.unindex_blocked(pid);
        if let Some(p) = self.procs.get_mut(&pid) {
            if let Err(i) = self.blocked.binary_search(&pid) {
                self.blocked.insert(i, pid);
            }
            if let Some(until) = wait.until
                && let Err(i) = self.deadlines.binary_search(&(until, pid))
            {
                self.deadlines.insert(i, (until, pid));
            }
            p.state = process::State::Blocked { call, wait };
        }
    }

    /// Takes `pid` out of the blocked indexes, as it is about to leave
    /// `State::Blocked` (if it is in it).
    fn unindex_blocked(&mut self, pid: Pid) {
        if let Some(p) = self.procs.get(&pid)
            && let process::State::Blocked { wait, .. } = &p.state
        {
            if let Ok(i) = self.blocked.binary_search(&pid) {
                self.blocked.remove(i);
            }
            if let Some(until) = wait.until
                && let Ok(i) = self.deadlines.binary_search(&(until, pid))
            {
                self.deadlines.remove(i);
            }
        }
    }

    /// The earliest moment something is due: a kernel timer or a sleeper's deadline.
    pub fn next_deadline(&self) -> Option<Micros> {
        let timer = self.timers.keys().next().map(|(t, _)| *t);
        let sleeper = self.deadlines.first().map(|(t, _)| *t);
        match (timer, sleeper) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Moves the clock to `t` (never backwards) and fires what is due by then.
    pub fn advance_to(&mut self, t: Micros) {
        self.now = self.now.max(t);
        let now = self.now;
        while let Some(&(until, pid)) = self.deadlines.first()
            && until <= now
        {
            self.deadlines.remove(0);
            if let Ok(i) = self.blocked.binary_search(&pid) {
                self.blocked.remove(i);
            }
            // A sleeper wakes at its deadline, not at whatever moved the clock.
            let p = self.proc_mut(pid);
            p.ready_at = p.ready_at.max(until);
            p.state = process::State::Runnable;
        }
        while let Some((&(at, seq), &timer)) = self.timers.first_key_value() {
            if at > self.now {
                break;
            }
            self.timers.remove(&(at, seq));
            match timer {
                Timer::SynRetransmit(sock) => self.syn_retransmit(sock),
                Timer::TimeWaitOver(sock) => self.time_wait_over(sock),
            }
        }
    }

    pub fn add_timer(&mut self, at: Micros, timer: Timer) {
        self.next_timer += 1;
        self.timers.insert((at, self.next_timer), timer);
    }

    fn alloc_pid(&mut self) -> Pid {
        let pid = self.next_pid;
        self.next_pid += 1;
        pid
    }

    fn alloc_pipe(&mut self, pipe: pipe::Pipe) -> PipeId {
        let id = PipeId(self.next_pipe);
        self.next_pipe += 1;
        self.pipes.insert(id, pipe);
        id
    }

    /// Processes that are not yet reaped.
    pub fn live_processes(&self) -> usize {
        self.procs
            .values()
            .filter(|p| !matches!(p.state, process::State::Reaped))
            .count()
    }
}

/// Formats bytes the way strace does: escaped, the first 32 shown, `...` after.
pub fn strace_bytes(data: &[u8]) -> String {
    const SHOWN: usize = 32;
    let mut s = String::from("\"");
    for &b in data.iter().take(SHOWN) {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\{b:o}")),
        }
    }
    s.push('"');
    if data.len() > SHOWN {
        s.push_str("...");
    }
    s
}
