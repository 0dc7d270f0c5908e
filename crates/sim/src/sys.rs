//! The syscall layer: what simulated programs call, and the only place that blocks.
//!
//! A program is an `async fn` holding a [`Sys`]. Each syscall is a future that, when
//! polled with the step's budget, makes one attempt at the kernel call. Done: the
//! call is traced and returns. Would block: the process is parked on the call's wait
//! keys and the future returns `Pending` until a wake makes the scheduler poll it
//! again. One completed or newly blocked syscall uses up the step, so the next
//! syscall of the same program waits for a later step: that is how "one syscall is
//! one step" holds without the programs knowing about steps.
//!
//! Why async fns rather than state machines: nc, bash and curl read like the C
//! programs they imitate (a poll loop is a loop), and a run is still a pure function
//! of its inputs because the executor ([`crate::world`]) is single-threaded and
//! polls in a fixed order.

use crate::vecmap::VecMap;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddrV4;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::kernel::fs::{Inode, OpenFlags};
use crate::kernel::net::{Shutdown, SockOpt};
use crate::kernel::poll::{PollFd, poll_flags};
use crate::kernel::process::{Delivering, ExitStatus};
use crate::kernel::{
    Attempt, Disposition, Errno, Fd, Kernel, Micros, Pid, SigHow, Signal, SysResult, Wait,
    strace_bytes,
};
use crate::trace::{EventKind, StraceText};

/// A running program: its future yields its exit code.
pub type Task = Pin<Box<dyn Future<Output = i32>>>;

/// A program's entry point: `main(argv)`.
pub type Main = fn(Sys, Vec<String>) -> Task;

/// An installed program: its entry point, and the resident memory the real
/// program holds (`crate::programs::rss`), shown from its `execve` on.
#[derive(Clone, Copy, Debug)]
pub struct Program {
    pub main: Main,
    pub rss_kb: Option<u32>,
}

/// The installed programs, by name (`/bin/NAME` runs `programs[NAME]`).
pub type Programs = VecMap<String, Program>;

/// The body of a signal handler a program installed with
/// [`Sys::sigaction_handler`]: the calls its C handler makes (socat's SIGCHLD
/// handler reaps with `wait4(-1, ..., WNOHANG)`), run by [`Sys`] where the
/// signal is delivered.
pub type HandlerBody = Rc<dyn Fn(Sys) -> Pin<Box<dyn Future<Output = ()>>>>;

/// State shared by the executor and every process's [`Sys`].
pub struct Shared {
    pub kernel: RefCell<Kernel>,
    pub programs: Programs,
    /// Handler bodies by (pid, signal number). `execve(2)` drops a process's
    /// (its handlers are gone); a forked child does not inherit them (its
    /// program state is a copy the body could not reach: the programs here
    /// reset or re-install their handlers in a child).
    handlers: RefCell<VecMap<(Pid, i32), HandlerBody>>,
    /// Whether the process being polled may still make its syscall this step.
    budget: Cell<bool>,
    /// Tasks created during the current poll: forked children and exec'd programs.
    pub(crate) new_tasks: RefCell<Vec<(Pid, Task)>>,
    /// The syscall that used this step's budget, for its time cost.
    pub(crate) last_call: Cell<&'static str>,
    /// User-space CPU time the running program spent around its syscall.
    pub(crate) cpu_us: Cell<Micros>,
    /// Signal handlers running after a call returned (or before it), each under the id the
    /// call holds ([`CallState::handling`]). Here rather than in the call's
    /// future so that a syscall's future owns no boxed future: every program's
    /// future holds syscall futures, and would carry the code to drop it.
    running: RefCell<Vec<Running>>,
    next_running: Cell<u32>,
}

/// Signal handlers running after a call of `pid` returned (or before it)
/// ([`Sys::run_handlers`]).
struct Running {
    id: u32,
    pid: Pid,
    handlers: Pin<Box<dyn Future<Output = Handled>>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    pub fn new(kernel: Kernel, programs: Programs) -> Rc<Shared> {
        Rc::new(Shared {
            kernel: RefCell::new(kernel),
            programs,
            handlers: RefCell::new(VecMap::new()),
            budget: Cell::new(false),
            new_tasks: RefCell::new(Vec::new()),
            last_call: Cell::new(""),
            cpu_us: Cell::new(0),
            running: RefCell::new(Vec::new()),
            next_running: Cell::new(0),
        })
    }

    /// Drops the running handlers of the processes that died (their calls
    /// went with their tasks), or with `all`, every one: a handler holds a
    /// [`Sys`], and so this `Shared`, which must not outlive its world.
    pub(crate) fn drop_running(&self, all: bool) {
        // Dropping a handler borrows neither the kernel nor this list: it
        // holds calls, its body's state and a `Sys`.
        let k = self.kernel.borrow();
        self.running
            .borrow_mut()
            .retain(|r| !all && k.procs.get(&r.pid).is_some_and(|p| p.is_alive()));
    }

    pub(crate) fn grant_budget(&self) {
        self.budget.set(true);
    }

    pub(crate) fn budget_used(&self) -> bool {
        !self.budget.get()
    }
}

/// A process's handle on the kernel.
#[derive(Clone)]
pub struct Sys {
    shared: Rc<Shared>,
    pid: Pid,
}

impl std::fmt::Debug for Sys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sys").field("pid", &self.pid).finish()
    }
}

/// What `trace` prints for a result: `= 3`, or `= -1 EPIPE (Broken pipe)`.
fn ret_text<T>(r: &SysResult<T>, ok: impl Fn(&T) -> String) -> String {
    match r {
        Ok(v) => format!("= {}", ok(v)),
        Err(e) => format!("= -1 {e}"),
    }
}

/// The number a syscall returns on success, for the trace.
pub trait RetValue {
    fn ret(&self) -> i64;
}

macro_rules! ret_zero {
    ($($t:ty),*) => { $(impl RetValue for $t { fn ret(&self) -> i64 { 0 } })* };
}
ret_zero!(
    (),
    u64,
    (Fd, Fd),
    Inode,
    SocketAddrV4,
    Disposition,
    Option<Errno>
);

impl RetValue for i64 {
    fn ret(&self) -> i64 {
        *self
    }
}
impl RetValue for usize {
    fn ret(&self) -> i64 {
        *self as i64
    }
}
impl RetValue for Fd {
    fn ret(&self) -> i64 {
        *self as i64
    }
}
impl RetValue for Pid {
    fn ret(&self) -> i64 {
        *self as i64
    }
}
impl RetValue for Vec<u8> {
    fn ret(&self) -> i64 {
        self.len() as i64
    }
}
impl RetValue for Vec<String> {
    fn ret(&self) -> i64 {
        self.len() as i64
    }
}
impl RetValue for (Fd, SocketAddrV4) {
    fn ret(&self) -> i64 {
        self.0 as i64
    }
}
impl RetValue for Option<(Pid, ExitStatus)> {
    fn ret(&self) -> i64 {
        self.map_or(0, |(p, _)| p as i64)
    }
}

/// How a syscall is shown: name, the strace text before and after the result.
struct Shown {
    name: &'static str,
    fd: Option<Fd>,
    /// What the call returns when a signal interrupts it while blocked
    /// (measured here under strace): `pselect6` ERESTARTNOHAND, `poll` and
    /// `clock_nanosleep` ERESTART_RESTARTBLOCK, the others ERESTARTSYS.
    restart: Errno,
    /// The call goes on after an ignored signal interrupted it with
    /// ERESTART_RESTARTBLOCK: the kernel resumes it as `restart_syscall`, and
    /// strace shows `restart_syscall(<... resuming interrupted poll ...>`.
    resuming: bool,
}

impl Shown {
    /// The name strace shows for the call.
    fn traced_name(&self) -> &'static str {
        if self.resuming {
            "restart_syscall"
        } else {
            self.name
        }
    }
}

/// One syscall in flight: its typed part, and the rest ([`CallState`]).
///
/// This is instantiated some forty times, and the wasm is on a size budget:
/// what depends on the call's types ([`Typed`]) is reached through `dyn`, and
/// everything else (the step's budget, blocking, the trace event, signal
/// handlers, restarts) is one copy in `CallState`.
struct Call<'a, T, A, F, B> {
    state: CallState<'a>,
    typed: Typed<T, A, F, B>,
}

/// What a call does that depends on its types. `attempt` is tried each time
/// the process is polled with budget; `finish` turns the result into the
/// trace event.
///
/// Text is built only when it is needed: `finish` runs only while the kernel
/// records the trace, and `blocked_text` only if the call blocks. Formatting every
/// call's strace line up front was a quarter of a step.
struct Typed<T, A, F, B> {
    attempt: A,
    finish: F,
    /// The text strace shows while the call is blocked: what it prints at the
    /// call's entry, the name and the arguments the kernel reads (`read(4, `,
    /// `write(1, "hi", 2`), not those it fills in. The finished text starts
    /// with it, and the `<... resumed>` line prints the rest.
    blocked_text: B,
    /// What the call returns, kept while the handlers run (an interrupted
    /// try's restart code is not kept: no result means EINTR).
    result: Option<SysResult<T>>,
}

/// A call's typed part, as [`CallState::drive`] sees it.
trait TypedCall {
    /// One try: given the restart code when a signal interrupted the blocked
    /// call, it would block (`Err`, with the text strace shows for it while
    /// blocked), or returns what the trace needs, keeping its result unless
    /// it was interrupted.
    fn try_once(
        &mut self,
        k: &mut Kernel,
        pid: Pid,
        interrupted: Option<Errno>,
    ) -> Result<Done, (Wait, String)>;
}

impl<T, A, F, B, S> TypedCall for Typed<T, A, F, B>
where
    A: FnMut(&mut Kernel, Pid) -> Attempt<T>,
    F: Fn(&Kernel, &SysResult<T>) -> (S, Option<Rc<str>>, Option<u64>),
    B: BlockedText,
    S: Into<StraceText>,
    T: RetValue,
{
    fn try_once(
        &mut self,
        k: &mut Kernel,
        pid: Pid,
        interrupted: Option<Errno>,
    ) -> Result<Done, (Wait, String)> {
        // A call a signal interrupted still completes if it can (a wait4
        // woken by the child whose death raised the SIGCHLD returns the
        // child, then the signal is delivered); if it would block again, it
        // ends with its restart code, which the program never gets (the call
        // is made again, or ends with EINTR): it is not kept.
        let (r, returns) = match ((self.attempt)(k, pid), interrupted) {
            // A restart code is never the program's (a terminal read from the
            // background ends with ERESTARTSYS and SIGTTIN).
            (Attempt::Done(r), _) => {
                let keep = !matches!(&r, Err(e) if e.is_restart());
                (r, keep)
            }
            (Attempt::Block(_), Some(restart)) => (Err(restart), false),
            (Attempt::Block(wait), None) => return Err((wait, self.blocked_text.text())),
        };
        let (ret, errno) = match &r {
            Ok(v) => (v.ret(), None),
            Err(e) => (-1, Some(*e)),
        };
        let shown = k.tracing.then(|| {
            let (text, object, bytes) = (self.finish)(k, &r);
            (text.into(), object, bytes)
        });
        if returns {
            self.result = Some(r);
        }
        Ok(Done {
            ret,
            errno,
            resumed: false,
            entered: 0,
            shown,
        })
    }
}

/// The part of a call in flight that does not depend on its types.
struct CallState<'a> {
    sys: &'a Sys,
    shown: Shown,
    blocked: bool,
    /// The length of the blocked text, which the finished text starts with.
    entered: usize,
    /// Whether the handlers of caught signals run as the call returns: every
    /// call but `rt_sigreturn`, which ends a handler.
    delivers: bool,
    /// The id of the handlers running after the call returned, or before
    /// its first try ([`Shared::running`]).
    handling: Option<u32>,
    /// The running handlers are those of signals that came between calls:
    /// the call is tried once they are done.
    before: bool,
}

/// The text strace shows for a blocked call (`read(0,`): a `String`, or a
/// closure that makes it, so that a call that does not block never formats it.
pub(crate) trait BlockedText {
    fn text(&self) -> String;
}

impl BlockedText for String {
    fn text(&self) -> String {
        self.clone()
    }
}

impl<C: Fn() -> String> BlockedText for C {
    fn text(&self) -> String {
        self()
    }
}

impl<T, A, F, B, S> Future for Call<'_, T, A, F, B>
where
    A: FnMut(&mut Kernel, Pid) -> Attempt<T> + Unpin,
    F: Fn(&Kernel, &SysResult<T>) -> (S, Option<Rc<str>>, Option<u64>) + Unpin,
    B: BlockedText + Unpin,
    S: Into<StraceText>,
    T: Unpin + RetValue,
{
    type Output = SysResult<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SysResult<T>> {
        let this = self.get_mut();
        match this.state.drive(cx, &mut this.typed) {
            // No result: a handler ended the interrupted call.
            Poll::Ready(()) => Poll::Ready(this.typed.result.take().unwrap_or(Err(Errno::EINTR))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<'a> CallState<'a> {
    /// Out of line: a program's future makes one at each syscall it awaits.
    #[inline(never)]
    fn new(sys: &'a Sys, name: &'static str, fd: Option<Fd>, restart: Errno) -> CallState<'a> {
        CallState {
            sys,
            shown: Shown {
                name,
                fd,
                restart,
                resuming: false,
            },
            blocked: false,
            entered: 0,
            delivers: true,
            handling: None,
            before: false,
        }
    }

    /// Tries the call (`typed`) if the process has the step's budget,
    /// traces it, and runs the handlers of the signals that came with it.
    /// Handlers of caught signals that came while the program ran between
    /// calls run first, before the call's first try: Linux runs them on the
    /// way back to user space, before the program gets to its next call.
    /// Ready when the call returns what `typed` kept, or, when it kept
    /// nothing, EINTR: a handler ended the interrupted call.
    fn drive(&mut self, cx: &mut Context<'_>, typed: &mut dyn TypedCall) -> Poll<()> {
        let shared = &self.sys.shared;
        let pid = self.sys.pid;
        loop {
            if let Some(id) = self.handling {
                // Out of the list while it runs: its calls may start handlers
                // of their own.
                let mut running = {
                    let mut all = shared.running.borrow_mut();
                    let i = all
                        .iter()
                        .position(|r| r.id == id)
                        .expect("a call's running handlers live while it does");
                    all.swap_remove(i)
                };
                let Poll::Ready(handled) = running.handlers.as_mut().poll(cx) else {
                    shared.running.borrow_mut().push(running);
                    return Poll::Pending;
                };
                self.handling = None;
                if std::mem::take(&mut self.before) {
                    continue;
                }
                match handled {
                    Handled::Nothing | Handled::Eintr => return Poll::Ready(()),
                    Handled::Restart => self.again(),
                }
            }
            let mut k = shared.kernel.borrow_mut();
            let Some(start) = begin(shared, &mut k, pid, self.blocked) else {
                return Poll::Pending;
            };
            if let Some(last) = start.handle_first.filter(|_| self.delivers) {
                // The handlers of the process's last call ran as it
                // returned; these signals came after it. rt_sigreturn gives
                // back the value the handlers interrupted, that call's.
                let p = k.proc_mut(pid);
                let (signals, handling) = (
                    std::mem::take(&mut p.delivering),
                    std::mem::take(&mut p.handling),
                );
                delivered(&mut k, pid, signals);
                drop(k);
                self.start_handlers(last, handling);
                self.before = true;
                continue;
            }
            let interrupted = start.interrupted.then_some(self.shown.restart);
            let done = match typed.try_once(&mut k, pid, interrupted) {
                Ok(done) => done,
                Err((wait, text)) => {
                    let call = if self.shown.resuming {
                        format!(
                            "restart_syscall(<... resuming interrupted {} ...>",
                            self.shown.name
                        )
                    } else {
                        text
                    };
                    self.entered = call.len();
                    blocked(shared, &mut k, pid, &self.shown, self.blocked, call, wait);
                    self.blocked = true;
                    return Poll::Pending;
                }
            };
            let outcome = match done.errno {
                None => Ok(done.ret),
                Some(e) => Err(e),
            };
            let done = Done {
                resumed: self.blocked,
                entered: self.entered,
                ..done
            };
            if !finished(shared, &mut k, pid, &self.shown, start, done) {
                return Poll::Pending;
            }
            drop(k);
            if !self.delivers {
                return Poll::Ready(());
            }
            match deliver(self.sys, &mut self.shown, outcome) {
                Ok(Handled::Nothing) => return Poll::Ready(()),
                Ok(_) => self.again(),
                Err(handling) => self.start_handlers(outcome, handling),
            }
        }
    }

    /// Starts the handlers of `handling`, after a call that returned
    /// `outcome`; the call polls them until they are done.
    fn start_handlers(&mut self, outcome: Result<i64, Errno>, handling: Vec<Signal>) {
        let shared = &self.sys.shared;
        let pid = self.sys.pid;
        let handlers = Box::pin(
            self.sys
                .clone()
                .run_handlers(self.shown.name, outcome, handling),
        );
        let id = shared.next_running.get();
        shared.next_running.set(id.wrapping_add(1));
        shared
            .running
            .borrow_mut()
            .push(Running { id, pid, handlers });
        self.handling = Some(id);
    }

    /// The call is made again after a signal interrupted it: a new call in
    /// the trace.
    fn again(&mut self) {
        self.blocked = false;
        self.entered = 0;
    }
}

/// What becomes of a call after the handlers of the signals that came with it.
enum Handled {
    /// No handler ran: the call's result stands.
    Nothing,
    /// It was interrupted and SA_RESTART makes it again.
    Restart,
    /// It was interrupted: the program gets EINTR.
    Eintr,
}

/// x86-64 syscall numbers (`arch/x86/entry/syscalls/syscall_64.tbl`) of the
/// calls that can be restarted: `rt_sigreturn` returns one to restart it.
fn syscall_number(name: &str) -> i64 {
    const NUMBERS: [(&str, i64); 9] = [
        ("read", 0),
        ("write", 1),
        ("connect", 42),
        ("accept", 43),
        ("sendto", 44),
        ("recvfrom", 45),
        ("wait4", 61),
        ("openat", 257),
        ("accept4", 288),
    ];
    match NUMBERS.iter().find(|(n, _)| *n == name) {
        Some((_, number)) => *number,
        None => panic!("no syscall number for {name}"),
    }
}

/// How a call's try starts: the trace length before it, whether a signal
/// interrupted it while it was blocked, and, when caught signals came before
/// its first try, what the process's last call returned.
#[derive(Clone, Copy)]
struct Start {
    caused_from: usize,
    interrupted: bool,
    handle_first: Option<Result<i64, Errno>>,
}

/// A finished call, for its trace event; `shown` only while tracing.
struct Done {
    ret: i64,
    errno: Option<Errno>,
    resumed: bool,
    entered: usize,
    shown: Option<(StraceText, Option<Rc<str>>, Option<u64>)>,
}

/// Whether `pid` may try its call now (it has the step's budget and is alive),
/// whether a signal (caught or fatal) interrupted it while it was blocked,
/// and whether caught signals came before its first try.
fn begin(shared: &Shared, k: &mut Kernel, pid: Pid, was_blocked: bool) -> Option<Start> {
    if !shared.budget.get() {
        return None;
    }
    // Events the call causes (a SIGPIPE, a TCP state change) are traced after
    // the call itself, as strace shows `write(...) = -1 EPIPE` before
    // `--- SIGPIPE ---`.
    let caused_from = k.trace.len();
    // One look at the process: this runs before every try.
    let p = k.proc_mut(pid);
    if !p.is_alive() {
        return None;
    }
    let interrupted = std::mem::take(&mut p.interrupted) && was_blocked;
    let handle_first = (!was_blocked && !p.handling.is_empty()).then_some(p.last_ret);
    Some(Start {
        caused_from,
        interrupted,
        handle_first,
    })
}

/// A call returned: it used the step; trace it (before what it caused) and let
/// a fatal signal it raised end the process. Returns whether `pid` lives on.
fn finished(
    shared: &Shared,
    k: &mut Kernel,
    pid: Pid,
    call: &Shown,
    start: Start,
    done: Done,
) -> bool {
    shared.budget.set(false);
    shared.last_call.set(call.name);
    let killed = k.proc(pid).fatal == Some(Signal::SIGKILL);
    match done.shown {
        Some((text, object, bytes)) => {
            let text = match done.errno {
                _ if call.resuming => {
                    let ret = match done.errno {
                        None => done.ret.to_string(),
                        Some(e) if e.is_restart() => format!("? {e}"),
                        Some(e) => format!("-1 {e}"),
                    };
                    StraceText::from(format!(
                        "restart_syscall(<... resuming interrupted {} ...>) = {ret}",
                        call.name
                    ))
                }
                // strace prints a restart code with `?` for the value:
                // `accept4(3, 0x7fff460d3ed0, [128], SOCK_NONBLOCK) = ?
                // ERESTARTSYS (To be restarted if SA_RESTART is set)`; a call
                // SIGKILL ended never returns at all: `<... read resumed>
                // <unfinished ...>) = ?`.
                Some(e) if e.is_restart() && killed => {
                    let head = text.get(..done.entered).unwrap_or("");
                    StraceText::from(format!("{head} <unfinished ...>) = ?"))
                }
                // (A search by hand: `rsplit_once` brings a 600-byte searcher.)
                Some(e) if e.is_restart() => {
                    match text.as_bytes().windows(5).rposition(|w| w == b"= -1 ") {
                        Some(i) => {
                            StraceText::from(format!("{}= ? {}", &text[..i], &text[i + 5..]))
                        }
                        None => text,
                    }
                }
                _ => text,
            };
            let caused = k.trace.split_off(start.caused_from);
            k.emit(
                Some(pid),
                EventKind::Syscall {
                    name: call.traced_name(),
                    text,
                    ret: done.ret,
                    errno: done.errno,
                    fd: call.fd,
                    object,
                    bytes,
                    resumed: done.resumed,
                    entered: done.entered,
                },
            );
            k.trace.extend(caused);
        }
        None => k.skip_event(),
    }
    let p = k.proc_mut(pid);
    match done.errno {
        None => p.last_ret = Ok(done.ret),
        Some(e) if !e.is_restart() => p.last_ret = Err(e),
        Some(_) => {}
    }
    // Signals that interrupted the call, or came while it was woken and not
    // yet run, are delivered now, after it: strace shows `--- SIGCHLD {...}
    // ---` after the `= ? ERESTART...` line. (Mostly none: one look.)
    if !p.delivering.is_empty() {
        let signals = std::mem::take(&mut p.delivering);
        delivered(k, pid, signals);
    }
    k.syscall_exit(pid)
}

/// Traces `signals`, delivered to `pid` now (SIGKILL is never shown: the
/// process just dies).
fn delivered(k: &mut Kernel, pid: Pid, signals: Vec<Delivering>) {
    for (signal, from, disposition, change) in signals {
        if signal != Signal::SIGKILL {
            let event = k.signal_event(signal, from, disposition, change);
            k.emit(Some(pid), event);
        }
    }
}

/// A call would block: park `pid` on `wait`.
fn blocked(
    shared: &Shared,
    k: &mut Kernel,
    pid: Pid,
    shown: &Shown,
    again: bool,
    call: String,
    wait: Wait,
) {
    if !again {
        // A new block is a step of its own; a retry that blocks again
        // is not (the wake was for someone else).
        shared.budget.set(false);
        shared.last_call.set(shown.name);
        if k.tracing {
            k.emit(
                Some(pid),
                EventKind::Blocked {
                    name: shown.traced_name(),
                    text: call.clone(),
                    on: wait.keys.clone(),
                },
            );
        } else {
            k.skip_event();
        }
    }
    k.block(pid, call, wait);
}

/// A call of `sys` returned `outcome`: what becomes of it now, or the
/// caught signals whose handlers run first ([`Sys::run_handlers`]). Sets
/// `shown` for the call made again after ERESTART_RESTARTBLOCK.
fn deliver(
    sys: &Sys,
    shown: &mut Shown,
    outcome: Result<i64, Errno>,
) -> Result<Handled, Vec<Signal>> {
    let handling = std::mem::take(&mut sys.shared.kernel.borrow_mut().proc_mut(sys.pid).handling);
    shown.resuming = outcome == Err(Errno::ERESTART_RESTARTBLOCK);
    if !handling.is_empty() {
        return Err(handling);
    }
    // Without a handler to run, the signal that interrupted the call was
    // ignored (a killed process is never polled again): the call goes on, as
    // strace shows it for a traced process (measured: `read(...) = ?
    // ERESTARTSYS`, `--- SIGCHLD ---`, `read(3, `).
    Ok(if matches!(outcome, Err(e) if e.is_restart()) {
        Handled::Restart
    } else {
        Handled::Nothing
    })
}

impl Sys {
    pub(crate) fn new(shared: Rc<Shared>, pid: Pid) -> Sys {
        Sys { shared, pid }
    }

    /// `getpid(2)` (free: no step, as glibc caches it).
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// `getppid(2)`, free like `getpid`.
    pub fn ppid(&self) -> Pid {
        self.shared.kernel.borrow().proc(self.pid).ppid
    }

    /// The virtual clock (`clock_gettime` goes through the vDSO: no step).
    pub fn now_us(&self) -> Micros {
        self.shared.kernel.borrow().now
    }

    /// Spends `us` of user-space CPU time: no syscall, but the program's next one
    /// comes that much later. For work a real program does between syscalls that
    /// takes long enough to matter (CPython handling a request: about a
    /// millisecond).
    pub fn compute(&self, us: Micros) {
        self.shared.cpu_us.set(self.shared.cpu_us.get() + us);
    }

    /// Publishes (or with `None` withdraws) the part of this program's memory the
    /// page may show. Not a syscall: no step, no trace line. It models plain
    /// user-space work between syscalls (a `memcpy` into a buffer), which the kernel
    /// never sees; only the snapshot does.
    pub fn set_memory(&self, memory: Option<crate::kernel::process::Memory>) {
        self.shared.kernel.borrow_mut().proc_mut(self.pid).memory = memory;
    }

    /// Sets this process's resident set size estimate (`crate::programs::rss`).
    /// Not a syscall either: the kernel's own bookkeeping, shown in snapshots.
    pub fn set_rss_kb(&self, kb: Option<u32>) {
        self.shared.kernel.borrow_mut().proc_mut(self.pid).rss_kb = kb;
    }

    /// Signals caught by a handler since the last look, oldest first.
    pub fn take_caught_signals(&self) -> Vec<Signal> {
        std::mem::take(
            &mut self
                .shared
                .kernel
                .borrow_mut()
                .proc_mut(self.pid)
                .signals
                .caught,
        )
    }

    /// A look at the kernel without a syscall, for what a real program would know
    /// anyway (its own argv, cwd).
    pub fn cwd(&self) -> String {
        self.shared.kernel.borrow().proc(self.pid).cwd.clone()
    }

    /// A call that may block, and so may be interrupted by a signal (its
    /// restart code is ERESTARTSYS).
    ///
    /// The syscalls below return this future itself where they can, rather
    /// than `.await` it in an `async fn` of their own: each such layer is one
    /// more state machine, with drop code in every program's future that
    /// awaits it, and they cost the page 3 KB of its gzipped size budget.
    fn call<'a, T, A, F, B, S>(
        &'a self,
        name: &'static str,
        fd: Option<Fd>,
        blocked_text: B,
        attempt: A,
        finish: F,
    ) -> Call<'a, T, A, F, B>
    where
        A: FnMut(&mut Kernel, Pid) -> Attempt<T>,
        F: Fn(&Kernel, &SysResult<T>) -> (S, Option<Rc<str>>, Option<u64>),
        B: BlockedText,
        S: Into<StraceText>,
    {
        self.call_as(Errno::ERESTARTSYS, name, fd, blocked_text, attempt, finish)
    }

    /// [`Sys::call`] with the restart code the call returns when a signal
    /// interrupts it.
    ///
    /// Signal delivery lives here, in the syscall layer, so that programs stay
    /// the C they imitate. A blocked call a caught signal interrupts ends with
    /// `= ? ERESTART...`; then, as the real kernel does on the way back to user
    /// space, the handler runs: `--- SIG ---`, the calls of the handler's body
    /// the program registered ([`Sys::sigaction_handler`], none if it gave
    /// none), and `rt_sigreturn`. With SA_RESTART an ERESTARTSYS call is made
    /// again, a new call in the trace (`rt_sigreturn({mask=[]}) = 288` for
    /// accept4: the kernel has put the syscall number back); otherwise, and
    /// always for select, poll and nanosleep, the program gets EINTR
    /// (`rt_sigreturn({mask=[]}) = -1 EINTR`). A handler's body is a closure
    /// of the program's own rather than a branch at each call site because a
    /// handler runs wherever the program happens to block, and reads the same
    /// everywhere; what the program must know afterwards (a child's status)
    /// the body leaves in state the program shares with it.
    fn call_as<'a, T, A, F, B, S>(
        &'a self,
        restart: Errno,
        name: &'static str,
        fd: Option<Fd>,
        blocked_text: B,
        attempt: A,
        finish: F,
    ) -> Call<'a, T, A, F, B>
    where
        A: FnMut(&mut Kernel, Pid) -> Attempt<T>,
        F: Fn(&Kernel, &SysResult<T>) -> (S, Option<Rc<str>>, Option<u64>),
        B: BlockedText,
        S: Into<StraceText>,
    {
        Call {
            state: CallState::new(self, name, fd, restart),
            typed: Typed {
                attempt,
                finish,
                blocked_text,
                result: None,
            },
        }
    }

    /// Runs the handlers of `handling`, the caught signals the last call was
    /// interrupted by, or woken with, or that came after it while the program
    /// ran (then `outcome` is that call's result, and they run before the
    /// next call `name`), each followed by its `rt_sigreturn`, and says what
    /// becomes of the call `name`, which returned `outcome`.
    async fn run_handlers(
        self,
        name: &'static str,
        outcome: Result<i64, Errno>,
        handling: Vec<Signal>,
    ) -> Handled {
        let mut restart = outcome == Err(Errno::ERESTARTSYS);
        for sig in handling {
            let body = self
                .shared
                .handlers
                .borrow()
                .get(&(self.pid, sig.number()))
                .cloned();
            {
                let mut k = self.shared.kernel.borrow_mut();
                let p = k.proc_mut(self.pid);
                restart &= matches!(
                    p.signals.disposition(sig),
                    Disposition::Handler { restart: true }
                );
                if body.is_some()
                    && let Some(i) = p.signals.caught.iter().position(|s| *s == sig)
                {
                    // The body is the handler: the program has nothing left to do.
                    p.signals.caught.remove(i);
                }
            }
            if let Some(body) = body {
                body(self.clone()).await;
            }
            // rt_sigreturn returns what the interrupted context's rax holds:
            // the call's own result, EINTR, or (to restart) its number. The
            // mask it shows is the one it restores, the mask at delivery.
            let ret = match outcome {
                Err(e) if e.is_restart() && restart => Ok(syscall_number(name)),
                Err(e) if e.is_restart() => Err(Errno::EINTR),
                other => other,
            };
            let mask = self
                .shared
                .kernel
                .borrow()
                .proc(self.pid)
                .signals
                .blocked_text();
            let text = match ret {
                Ok(v) => format!("rt_sigreturn({{mask={mask}}}) = {v}"),
                Err(e) => format!("rt_sigreturn({{mask={mask}}}) = -1 {e}"),
            };
            let mut sigreturn = self.call(
                "rt_sigreturn",
                None,
                String::new(),
                move |_, _| Attempt::Done(ret),
                move |_, _: &SysResult<i64>| (text.clone(), None, None),
            );
            sigreturn.state.delivers = false;
            let _ = sigreturn.await;
        }
        match (matches!(outcome, Err(e) if e.is_restart()), restart) {
            (false, _) => Handled::Nothing,
            (true, true) => Handled::Restart,
            (true, false) => Handled::Eintr,
        }
    }

    /// `rt_sigaction(sig, {handler, SA_RESTART if restart})` with the
    /// handler's body: what it does when the signal interrupts a blocked call
    /// (see [`Sys::call_as`]). Not a syscall of its own.
    pub fn sigaction_handler(
        &self,
        sig: Signal,
        restart: bool,
        body: HandlerBody,
    ) -> impl Future<Output = SysResult<Disposition>> {
        self.set_handler(sig, restart, body, false)
    }

    /// [`Sys::signal`] with a handler, whose body runs as
    /// [`Sys::sigaction_handler`]'s does.
    pub fn signal_handler(
        &self,
        sig: Signal,
        body: HandlerBody,
    ) -> impl Future<Output = SysResult<Disposition>> {
        self.set_handler(sig, true, body, true)
    }

    fn set_handler(
        &self,
        sig: Signal,
        restart: bool,
        body: HandlerBody,
        bsd: bool,
    ) -> impl Future<Output = SysResult<Disposition>> {
        self.shared
            .handlers
            .borrow_mut()
            .insert((self.pid, sig.number()), body);
        self.set_action(sig, Disposition::Handler { restart }, bsd)
    }

    /// A call that never blocks. A signal it raised or unblocked (or one that
    /// came while the program ran) is delivered as it returns.
    fn simple<T: Unpin + RetValue>(
        &self,
        name: &'static str,
        fd: Option<Fd>,
        mut f: impl FnMut(&mut Kernel, Pid) -> SysResult<T> + Unpin,
        text: impl Fn(&SysResult<T>) -> String + Unpin,
    ) -> impl Future<Output = SysResult<T>> {
        self.call(
            name,
            fd,
            String::new(),
            move |k, pid| Attempt::Done(f(k, pid)),
            move |_, r| (text(r), None, None),
        )
    }

    fn object_of(k: &Kernel, pid: Pid, fd: Fd) -> Option<Rc<str>> {
        let file = k.file_of(pid, fd).ok()?;
        Some(describe_object(k, file))
    }

    /// `read(2)`: up to `count` bytes; empty is EOF.
    pub fn read(&self, fd: Fd, count: usize) -> impl Future<Output = SysResult<Vec<u8>>> {
        let pid = self.pid;
        self.call(
            "read",
            Some(fd),
            move || format!("read({fd}, "),
            move |k, pid| k.sys_read(pid, fd, count),
            // The fd still names the object it named when the call began: only
            // this process's own calls change its fd table.
            move |k, r: &SysResult<Vec<u8>>| {
                let text = StraceText::read(fd, count, r.as_deref().map_err(|e| *e));
                (
                    text,
                    Self::object_of(k, pid, fd),
                    r.as_ref().ok().map(|d| d.len() as u64),
                )
            },
        )
    }

    /// `write(2)`: blocks until every byte is in (or returns a short count when a
    /// signal or EPIPE cuts it short, as Linux does).
    pub fn write(&self, fd: Fd, data: &[u8]) -> impl Future<Output = SysResult<usize>> {
        self.write_flags(fd, data, false, "write")
    }

    /// `send(2)` with `MSG_NOSIGNAL`: EPIPE without SIGPIPE.
    pub fn send_nosignal(&self, fd: Fd, data: &[u8]) -> impl Future<Output = SysResult<usize>> {
        self.write_flags(fd, data, true, "sendto")
    }

    fn write_flags(
        &self,
        fd: Fd,
        data: &[u8],
        nosignal: bool,
        name: &'static str,
    ) -> impl Future<Output = SysResult<usize>> {
        let pid = self.pid;
        let len = data.len();
        let mut progress = 0usize;
        let flags = if nosignal {
            ", MSG_NOSIGNAL, NULL, 0"
        } else {
            ""
        };
        self.call(
            name,
            Some(fd),
            move || format!("{name}({fd}, {}, {len}{flags}", strace_bytes(data)),
            move |k, pid| k.sys_write(pid, fd, data, &mut progress, nosignal),
            move |k, r: &SysResult<usize>| {
                let text = StraceText::write(name, fd, data, flags, *r);
                (
                    text,
                    Self::object_of(k, pid, fd),
                    r.as_ref().ok().map(|n| *n as u64),
                )
            },
        )
    }

    /// `recv(2)` with flags 0, which strace shows as `recvfrom(fd, buf, count, 0,
    /// NULL, NULL)`: a `read(2)` that only a socket accepts (ENOTSOCK otherwise).
    /// Up to `count` bytes; empty is EOF (the peer sent FIN and all was read).
    pub fn recv(&self, fd: Fd, count: usize) -> impl Future<Output = SysResult<Vec<u8>>> {
        let pid = self.pid;
        let object = Self::object_of(&self.shared.kernel.borrow(), pid, fd);
        self.call(
            "recvfrom",
            Some(fd),
            format!("recvfrom({fd}, "),
            move |k, pid| match require_socket(k, pid, fd) {
                Ok(()) => k.sys_read(pid, fd, count),
                Err(e) => Attempt::Done(Err(e)),
            },
            move |_, r: &SysResult<Vec<u8>>| {
                let text = match r {
                    Ok(d) => format!(
                        "recvfrom({fd}, {}, {count}, 0, NULL, NULL) = {}",
                        strace_bytes(d),
                        d.len()
                    ),
                    // Nothing read: strace shows the buffer's address.
                    Err(e) => {
                        format!("recvfrom({fd}, {STACK_ADDRESS}, {count}, 0, NULL, NULL) = -1 {e}")
                    }
                };
                (
                    text,
                    object.clone(),
                    r.as_ref().ok().map(|d| d.len() as u64),
                )
            },
        )
    }

    /// `send(2)` with flags 0, which strace shows as `sendto(fd, buf, len, 0,
    /// NULL, 0)`: a `write(2)` that only a socket accepts (ENOTSOCK otherwise).
    /// Blocks until every byte is in the send buffer; on a connection the peer
    /// has reset it fails with EPIPE and raises SIGPIPE, as `write` does (no
    /// MSG_NOSIGNAL: compare [`Sys::send_nosignal`]).
    pub fn send(&self, fd: Fd, data: &[u8]) -> impl Future<Output = SysResult<usize>> {
        let pid = self.pid;
        let object = Self::object_of(&self.shared.kernel.borrow(), pid, fd);
        let shown = strace_bytes(data);
        let len = data.len();
        let mut progress = 0usize;
        self.call(
            "sendto",
            Some(fd),
            format!("sendto({fd}, {shown}, {len}, 0, NULL, 0"),
            move |k, pid| match require_socket(k, pid, fd) {
                Ok(()) => k.sys_write(pid, fd, data, &mut progress, false),
                Err(e) => Attempt::Done(Err(e)),
            },
            move |_, r: &SysResult<usize>| {
                let text = format!(
                    "sendto({fd}, {shown}, {len}, 0, NULL, 0) {}",
                    ret_text(r, |n| n.to_string())
                );
                (text, object.clone(), r.as_ref().ok().map(|n| *n as u64))
            },
        )
    }

    /// `recv(fd, buf, count, MSG_DONTWAIT)`, which strace shows as `recvfrom(fd,
    /// buf, count, MSG_DONTWAIT, NULL, NULL)`: never blocks, whatever the file's
    /// flags. socat drains its log socketpair this way before and after nearly
    /// every call (measured: `recvfrom(3, 0x7ffdddb8b0d0, 519, MSG_DONTWAIT, NULL,
    /// NULL) = -1 EAGAIN (Resource temporarily unavailable)`).
    pub fn recv_dontwait(&self, fd: Fd, count: usize) -> impl Future<Output = SysResult<Vec<u8>>> {
        self.simple(
            "recvfrom",
            Some(fd),
            move |k, pid| k.sys_recv_dontwait(pid, fd, count),
            move |r| {
                // Nothing read: strace shows the buffer's address.
                let (buf, ret) = match r {
                    Ok(d) => (strace_bytes(d), d.len().to_string()),
                    Err(e) => (STACK_ADDRESS.to_string(), format!("-1 {e}")),
                };
                format!("recvfrom({fd}, {buf}, {count}, MSG_DONTWAIT, NULL, NULL) = {ret}")
            },
        )
    }

    /// `recvmsg(fd, {msg_namelen=namelen}, MSG_TRUNC|MSG_ERRQUEUE)`: reads the
    /// socket's error queue, which is always empty here (EAGAIN; see
    /// [`Kernel::sys_recvmsg_errqueue`]). socat asks it after a failed connect.
    pub fn recvmsg_errqueue(&self, fd: Fd, namelen: u32) -> impl Future<Output = SysResult<()>> {
        self.simple(
            "recvmsg",
            Some(fd),
            move |k, pid| k.sys_recvmsg_errqueue(pid, fd),
            move |r| {
                format!(
                    "recvmsg({fd}, {{msg_namelen={namelen}}}, MSG_TRUNC|MSG_ERRQUEUE) {}",
                    ret_text(r, |_| "0".into())
                )
            },
        )
    }

    /// Writes all of `data`, looping over short writes like a careful C program.
    pub async fn write_all(&self, fd: Fd, mut data: &[u8]) -> SysResult<()> {
        while !data.is_empty() {
            let n = self.write(fd, data).await?;
            data = &data[n..];
        }
        Ok(())
    }

    /// `openat(AT_FDCWD, path, flags)`.
    pub async fn open(&self, path: &str, flags: OpenFlags) -> SysResult<Fd> {
        let waiting = Cell::new(None);
        let p = path.to_string();
        let shown = format!(
            "openat(AT_FDCWD, \"{path}\", {}{}",
            flags.strace(),
            if flags.create { ", 0666" } else { "" }
        );
        let shown2 = shown.clone();
        let r = self
            .call(
                "openat",
                None,
                shown,
                |k, pid| {
                    let mut w = waiting.get();
                    let r = k.sys_open(pid, &p, flags, &mut w);
                    waiting.set(w);
                    r
                },
                move |_, r: &SysResult<Fd>| {
                    (
                        format!("{shown2}) {}", ret_text(r, |fd| fd.to_string())),
                        Some(path.into()),
                        None,
                    )
                },
            )
            .await;
        if r == Err(Errno::EINTR)
            && let Some(file) = waiting.get()
        {
            self.shared.kernel.borrow_mut().abandon_fifo_open(file);
        }
        r
    }

    /// `close(2)`.
    pub fn close(&self, fd: Fd) -> impl Future<Output = SysResult<()>> {
        self.simple(
            "close",
            Some(fd),
            move |k, pid| k.sys_close(pid, fd),
            move |r| format!("close({fd}) {}", ret_text(r, |_| "0".into())),
        )
    }

    /// `dup2(2)`.
    pub fn dup2(&self, old: Fd, new: Fd) -> impl Future<Output = SysResult<Fd>> {
        self.simple(
            "dup2",
            Some(old),
            move |k, pid| k.sys_dup2(pid, old, new),
            move |r| format!("dup2({old}, {new}) {}", ret_text(r, |f| f.to_string())),
        )
    }

    /// `fcntl(old, F_DUPFD, min)`; `min` 0 is `dup(2)`.
    pub fn dup_min(&self, old: Fd, min: Fd) -> impl Future<Output = SysResult<Fd>> {
        self.simple(
            if min == 0 { "dup" } else { "fcntl" },
            Some(old),
            move |k, pid| k.sys_dup(pid, old, min),
            move |r| {
                let ret = ret_text(r, |f| f.to_string());
                if min == 0 {
                    format!("dup({old}) {ret}")
                } else {
                    format!("fcntl({old}, F_DUPFD, {min}) {ret}")
                }
            },
        )
    }

    /// `fcntl(fd, F_SETFD, FD_CLOEXEC)`.
    pub fn set_cloexec(&self, fd: Fd, on: bool) -> impl Future<Output = SysResult<()>> {
        self.simple(
            "fcntl",
            Some(fd),
            move |k, pid| k.set_cloexec(pid, fd, on),
            move |r| {
                format!(
                    "fcntl({fd}, F_SETFD, {}) {}",
                    if on { "FD_CLOEXEC" } else { "0" },
                    ret_text(r, |_| "0".into())
                )
            },
        )
    }

    /// `fcntl(fd, F_SETFL, O_NONBLOCK)`.
    pub fn set_nonblock(&self, fd: Fd, on: bool) -> impl Future<Output = SysResult<()>> {
        self.simple(
            "fcntl",
            Some(fd),
            move |k, pid| k.set_nonblock(pid, fd, on),
            move |r| {
                format!(
                    "fcntl({fd}, F_SETFL, {}) {}",
                    if on { "O_RDWR|O_NONBLOCK" } else { "O_RDWR" },
                    ret_text(r, |_| "0".into())
                )
            },
        )
    }

    /// `pipe2(2)`: (read end, write end).
    pub fn pipe(&self) -> impl Future<Output = SysResult<(Fd, Fd)>> {
        self.simple(
            "pipe2",
            None,
            move |k, pid| k.sys_pipe(pid, OpenFlags::default()),
            move |r| match r {
                Ok((a, b)) => format!("pipe2([{a}, {b}], 0) = 0"),
                Err(e) => format!("pipe2(0) = -1 {e}"),
            },
        )
    }

    /// `socketpair(AF_UNIX, SOCK_DGRAM, 0, sv)` (see [`crate::kernel::net::Socket::unix`]).
    pub fn socketpair(&self) -> impl Future<Output = SysResult<(Fd, Fd)>> {
        self.simple(
            "socketpair",
            None,
            move |k, pid| k.sys_socketpair(pid),
            move |r| match r {
                Ok((a, b)) => format!("socketpair(AF_UNIX, SOCK_DGRAM, 0, [{a}, {b}]) = 0"),
                Err(e) => format!("socketpair(AF_UNIX, SOCK_DGRAM, 0, {STACK_ADDRESS}) = -1 {e}"),
            },
        )
    }

    /// `mknod(path, S_IFIFO|0666)`, as `mkfifo(3)` does it.
    pub fn mkfifo(&self, path: &str) -> impl Future<Output = SysResult<()>> {
        let p = path.to_string();
        let q = path.to_string();
        self.simple(
            "mknodat",
            None,
            move |k, pid| k.sys_mkfifo(pid, &p),
            move |r| {
                format!(
                    "mknodat(AT_FDCWD, \"{q}\", S_IFIFO|0666) {}",
                    ret_text(r, |_| "0".into())
                )
            },
        )
    }

    /// `unlink(2)`.
    pub fn unlink(&self, path: &str) -> impl Future<Output = SysResult<()>> {
        let p = path.to_string();
        let q = path.to_string();
        self.simple(
            "unlinkat",
            None,
            move |k, pid| k.sys_unlink(pid, &p),
            move |r| {
                format!(
                    "unlinkat(AT_FDCWD, \"{q}\", 0) {}",
                    ret_text(r, |_| "0".into())
                )
            },
        )
    }

    /// `chdir(2)`.
    pub fn chdir(&self, path: &str) -> impl Future<Output = SysResult<()>> {
        let p = path.to_string();
        let q = path.to_string();
        self.simple(
            "chdir",
            None,
            move |k, pid| k.sys_chdir(pid, &p),
            move |r| format!("chdir(\"{q}\") {}", ret_text(r, |_| "0".into())),
        )
    }

    /// `newfstatat(2)`, reduced to the kind of thing at `path`.
    pub fn stat(&self, path: &str) -> impl Future<Output = SysResult<Inode>> {
        let p = path.to_string();
        let q = path.to_string();
        self.simple(
            "newfstatat",
            None,
            move |k, pid| k.sys_stat(pid, &p),
            move |r| {
                format!(
                    "newfstatat(AT_FDCWD, \"{q}\", {{...}}, 0) {}",
                    ret_text(r, |_| "0".into())
                )
            },
        )
    }

    /// `getdents64(2)` on a directory, all at once: the names in it.
    pub fn list_dir(&self, path: &str) -> impl Future<Output = SysResult<Vec<String>>> {
        let p = path.to_string();
        let q = path.to_string();
        self.simple(
            "getdents64",
            None,
            move |k, pid| {
                let full = crate::kernel::fs::normalize(&k.proc(pid).cwd, &p);
                match k.vfs.inode(&full) {
                    Some(Inode::Dir) => Ok(k.vfs.list(&full)),
                    Some(_) => Err(Errno::ENOTDIR),
                    None => Err(Errno::ENOENT),
                }
            },
            move |r| {
                format!(
                    "getdents64(\"{q}\") {}",
                    ret_text(r, |v| v.len().to_string())
                )
            },
        )
    }

    /// `fork(2)` (strace: `clone`). The child runs `child` with its own `Sys`;
    /// the parent gets the child's pid. A closure stands in for "returns twice".
    pub async fn fork<F, Fut>(&self, child: F) -> SysResult<Pid>
    where
        F: FnOnce(Sys) -> Fut,
        Fut: Future<Output = i32> + 'static,
    {
        let pid = self
            .simple(
                "clone",
                None,
                |k, pid| match k.sys_fork(pid) {
                    Attempt::Done(r) => r,
                    Attempt::Block(_) => unreachable!("fork never blocks"),
                },
                |r| format!("clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD) {}", ret_text(r, |p| p.to_string())),
            )
            .await?;
        let sys = Sys::new(self.shared.clone(), pid);
        // A child that returns (a subshell that ends without exec) calls
        // `exit_group` like any process, as strace shows for bash's subshells.
        let child = child(sys.clone());
        let task: Task = Box::pin(async move {
            let code = child.await;
            sys.exit(code).await
        });
        self.shared.new_tasks.borrow_mut().push((pid, task));
        Ok(pid)
    }

    /// `execve(2)`: runs program `argv[0]` (a path, or a name looked up in PATH by
    /// the caller) in place of this one. Returns only on failure.
    pub async fn execve(&self, path: &str, argv: Vec<String>) -> Errno {
        let p = path.to_string();
        let argv_shown = format!(
            "[{}]",
            argv.iter()
                .map(|a| format!("\"{a}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let shared = self.shared.clone();
        let argv2 = argv.clone();
        let r = self
            .simple(
                "execve",
                None,
                move |k, pid| {
                    let full = crate::kernel::fs::normalize(&k.proc(pid).cwd, &p);
                    let program = match k.vfs.inode(&full) {
                        Some(Inode::Program { name }) => {
                            shared.programs.get(name).copied().ok_or(Errno::ENOEXEC)?
                        }
                        Some(Inode::Dir) => return Err(Errno::EACCES),
                        Some(_) => return Err(Errno::ENOEXEC),
                        None => return Err(Errno::ENOENT),
                    };
                    k.exec_replace(pid, argv2.clone());
                    shared.handlers.borrow_mut().retain(|(p, _), _| *p != pid);
                    k.proc_mut(pid).rss_kb = program.rss_kb;
                    // Returning from main is `exit_group`, as glibc's exit makes it.
                    let task = crate::world::start(
                        program.main,
                        Sys::new(shared.clone(), pid),
                        argv2.clone(),
                    );
                    shared.new_tasks.borrow_mut().push((pid, task));
                    Ok(())
                },
                move |r| {
                    format!(
                        "execve(\"{path}\", {argv_shown}, 0x7ffc /* env */) {}",
                        ret_text(r, |_| "0".into())
                    )
                },
            )
            .await;
        match r {
            // The executor swaps in the new program; this future is never polled again.
            Ok(()) => std::future::pending().await,
            Err(e) => e,
        }
    }

    /// `exit_group(2)`.
    pub async fn exit(&self, code: i32) -> ! {
        let code = code & 0xff;
        let _ = self
            .simple(
                "exit_group",
                None,
                // The process ends as the call returns, after strace's
                // `exit_group(0) = ?` line and before `+++ exited with 0 +++`.
                move |k, pid| {
                    k.proc_mut(pid).exiting = Some(code);
                    Ok(())
                },
                move |_| format!("exit_group({code}) = ?"),
            )
            .await;
        std::future::pending::<()>().await;
        unreachable!("a dead process is never polled")
    }

    /// `wait4(2)` for `target` (-1: any child).
    pub fn waitpid(
        &self,
        target: i32,
        nohang: bool,
    ) -> impl Future<Output = SysResult<Option<(Pid, ExitStatus)>>> {
        let opts = if nohang { "WNOHANG" } else { "0" };
        self.waitpid_shown(target, nohang, opts)
    }

    /// [`Sys::waitpid`] with the options strace shows (`opts`): bash asks
    /// `WSTOPPED|WCONTINUED`, and then gets stopped and continued children
    /// too (both or neither: no caller here asks for one alone).
    pub fn waitpid_shown(
        &self,
        target: i32,
        nohang: bool,
        opts: &'static str,
    ) -> impl Future<Output = SysResult<Option<(Pid, ExitStatus)>>> {
        self.call(
            "wait4",
            None,
            move || format!("wait4({target}, "),
            move |k, pid| k.sys_wait4(pid, target, nohang, opts.contains("WSTOPPED")),
            move |_, r: &SysResult<Option<(Pid, ExitStatus)>>| {
                let text = match r {
                    Ok(Some((p, ExitStatus::Stopped(s)))) => format!("wait4({target}, [{{WIFSTOPPED(s) && WSTOPSIG(s) == {s}}}], {opts}, NULL) = {p}"),
                    Ok(Some((p, ExitStatus::Continued))) => format!("wait4({target}, [{{WIFCONTINUED(s)}}], {opts}, NULL) = {p}"),
                    Ok(Some((p, ExitStatus::Code(c)))) => format!("wait4({target}, [{{WIFEXITED(s) && WEXITSTATUS(s) == {c}}}], {opts}, NULL) = {p}"),
                    Ok(Some((p, ExitStatus::Signaled(s)))) => format!("wait4({target}, [{{WIFSIGNALED(s) && WTERMSIG(s) == {s}}}], {opts}, NULL) = {p}"),
                    // No status was stored: strace shows the pointer.
                    Ok(None) => format!("wait4({target}, {STACK_ADDRESS}, {opts}, NULL) = 0"),
                    Err(e) => format!("wait4({target}, {STACK_ADDRESS}, {opts}, NULL) = -1 {e}"),
                };
                (text, None, None)
            },
        )
    }

    /// `kill(2)`; `sig` None is signal 0 (a check that the target exists).
    pub fn kill(&self, target: i32, sig: Option<Signal>) -> impl Future<Output = SysResult<()>> {
        let name = sig.map_or("0".to_string(), |s| s.name().to_string());
        self.simple(
            "kill",
            None,
            move |k, pid| k.sys_kill(pid, target, sig),
            move |r| format!("kill({target}, {name}) {}", ret_text(r, |_| "0".into())),
        )
    }

    /// `rt_sigaction(2)`: returns the old disposition.
    pub fn sigaction(
        &self,
        sig: Signal,
        d: Disposition,
    ) -> impl Future<Output = SysResult<Disposition>> {
        self.set_action(sig, d, false)
    }

    /// glibc's `signal(3)`: `rt_sigaction(2)` with BSD semantics (the signal
    /// blocked in its own handler, SA_RESTART), traced whole, as strace prints
    /// it. A handler is `Disposition::Handler { restart: true }`.
    pub fn signal(
        &self,
        sig: Signal,
        d: Disposition,
    ) -> impl Future<Output = SysResult<Disposition>> {
        self.set_action(sig, d, true)
    }

    fn set_action(
        &self,
        sig: Signal,
        d: Disposition,
        bsd: bool,
    ) -> impl Future<Output = SysResult<Disposition>> {
        if !matches!(d, Disposition::Handler { .. }) {
            self.shared
                .handlers
                .borrow_mut()
                .remove(&(self.pid, sig.number()));
        }
        // signal(3)'s action is traced with addresses measured once (they move
        // from run to run); one that exec left shows as `{sa_handler=SIG_DFL,
        // sa_mask=[], sa_flags=0}` (measured; SIG_IGN alike).
        let name = move |d: Disposition| match d {
            Disposition::Default => "SIG_DFL",
            Disposition::Ignore => "SIG_IGN",
            Disposition::Handler { .. } if bsd => "0x562ce7381280",
            Disposition::Handler { restart: true } => "handler, SA_RESTART",
            Disposition::Handler { restart: false } => "handler",
        };
        self.simple(
            "rt_sigaction",
            None,
            move |k, pid| k.sys_sigaction(pid, sig, d),
            move |r| {
                let ret = ret_text(r, |_| "0".into());
                if !bsd {
                    return format!("rt_sigaction({sig}, {{sa_handler={}}}, ...) {ret}", name(d));
                }
                let set = |d| {
                    format!(
                        "{{sa_handler={}, sa_mask=[{}], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7ff6377f2050}}",
                        name(d),
                        &sig.name()[3..]
                    )
                };
                let old = match r {
                    Ok(o @ Disposition::Handler { .. }) => set(*o),
                    Ok(o) => format!("{{sa_handler={}, sa_mask=[], sa_flags=0}}", name(*o)),
                    Err(_) => STACK_ADDRESS.to_string(),
                };
                format!("rt_sigaction({sig}, {}, {old}, 8) {ret}", set(d))
            },
        )
    }

    /// `rt_sigprocmask(how, set, NULL, 8)`: blocks or unblocks the signals of
    /// `set`. A blocked signal waits, untraced, and is delivered when unblocked.
    pub fn sigprocmask(&self, how: SigHow, set: &[Signal]) -> impl Future<Output = SysResult<u64>> {
        self.sigprocmask_as(how, Some(crate::kernel::signal::mask_of(set)), false)
    }

    /// `rt_sigprocmask(how, set, &old, 8)` with `set` a mask (bit `signo -
    /// 1`), or NULL for `None` (the mask is only read); returns the mask as
    /// it was. strace shows the old mask when `old` asks for it, as bash's
    /// `sigprocmask(SIG_BLOCK, &set, &oset)` (`rt_sigprocmask(SIG_BLOCK,
    /// [CHLD], [], 8)`), else NULL, as its `sigprocmask(SIG_SETMASK, &oset,
    /// NULL)` (`rt_sigprocmask(SIG_SETMASK, [], NULL, 8)`).
    pub fn sigprocmask_as(
        &self,
        how: SigHow,
        set: Option<u64>,
        old: bool,
    ) -> impl Future<Output = SysResult<u64>> {
        use crate::kernel::signal::set_text;
        let head = format!(
            "rt_sigprocmask({}, {}, ",
            how.name(),
            set.map_or("NULL".to_string(), set_text)
        );
        self.simple(
            "rt_sigprocmask",
            None,
            move |k, pid| k.sys_sigprocmask(pid, how, set),
            // It cannot fail: the set is a mask, the how one of three.
            move |r| match r {
                Ok(m) if old => format!("{head}{}, 8) = 0", set_text(*m)),
                _ => format!("{head}NULL, 8) = 0"),
            },
        )
    }

    /// `setpgid(2)`.
    pub fn setpgid(&self, target: Pid, pgid: Pid) -> impl Future<Output = SysResult<()>> {
        self.simple(
            "setpgid",
            None,
            move |k, pid| k.sys_setpgid(pid, target, pgid),
            move |r| format!("setpgid({target}, {pgid}) {}", ret_text(r, |_| "0".into())),
        )
    }

    /// `clock_nanosleep(2)`.
    pub async fn sleep_us(&self, duration: Micros) -> SysResult<()> {
        let deadline: Cell<Option<Micros>> = Cell::new(None);
        let (secs, nsecs) = (duration / 1_000_000, duration % 1_000_000 * 1000);
        let entry = move || {
            format!("clock_nanosleep(CLOCK_REALTIME, 0, {{tv_sec={secs}, tv_nsec={nsecs}}}, ")
        };
        self.call_as(
            Errno::ERESTART_RESTARTBLOCK,
            "clock_nanosleep",
            None,
            entry,
            |k, _| {
                let until = deadline.get().unwrap_or(k.now + duration);
                deadline.set(Some(until));
                if k.now >= until {
                    Attempt::Done(Ok(()))
                } else {
                    Attempt::Block(Wait {
                        keys: Vec::new(),
                        until: Some(until),
                    })
                }
            },
            |k, r: &SysResult<()>| {
                // The last argument is where the time left goes (`sleep`
                // passes one): strace shows its address, or the time left
                // when a signal cut the sleep short (measured:
                // `{tv_sec=0, tv_nsec=800189039}) = ? ERESTART_RESTARTBLOCK`).
                let rest = match (r, deadline.get()) {
                    (Err(e), Some(until)) if e.is_restart() => {
                        let left = until.saturating_sub(k.now);
                        format!(
                            "{{tv_sec={}, tv_nsec={}}}) = -1 {e}",
                            left / 1_000_000,
                            left % 1_000_000 * 1000
                        )
                    }
                    _ => format!("{STACK_ADDRESS}) {}", ret_text(r, |_| "0".into())),
                };
                (entry() + &rest, None, None)
            },
        )
        .await
    }

    /// `poll(2)`; a negative timeout waits forever. Returns how many fds are ready
    /// (0 on timeout) and fills their `revents`.
    pub fn poll(
        &self,
        fds: &mut [PollFd],
        timeout_ms: i32,
    ) -> impl Future<Output = SysResult<usize>> {
        self.poll_named("poll", fds, timeout_ms)
    }

    /// `select(2)` over read and write sets. glibc makes it `pselect6`, and strace
    /// shows fd sets (measured here: nc.traditional `pselect6(4, [0 3], NULL,
    /// NULL, NULL, NULL) = 1 (in [0])`, nc.openbsd's connect wait `pselect6(4,
    /// NULL, [3], NULL, NULL, NULL) = 1 (out [3])`). An empty set is passed as
    /// NULL, the except set always. A timed call's `left {...}` is not shown
    /// here: [`Sys::select_all_sets`] shows it, and showing it here too would
    /// change nc's traces, which nobody has measured with a timeout yet.
    pub fn select(
        &self,
        read: &[Fd],
        write: &[Fd],
        timeout_ms: i32,
    ) -> impl Future<Output = SysResult<(Vec<Fd>, Vec<Fd>)>> {
        self.select_shown(read, write, timeout_ms, false)
    }

    /// [`Sys::select`] as a program calls it that passes all three sets, empty
    /// ones too (socat's `xiopoll`): strace shows an empty set as `[]`, the except
    /// set included, and a timed call that returns before its timeout shows the
    /// time left, which the kernel writes back. Measured: `pselect6(7, [5 6], [],
    /// [], NULL, NULL) = 1 (in [5])`, `pselect6(6, [5], [1], [], {tv_sec=0,
    /// tv_nsec=500000000}, NULL) = 2 (in [5], out [1], left {tv_sec=0,
    /// tv_nsec=499998417})`.
    pub fn select_all_sets(
        &self,
        read: &[Fd],
        write: &[Fd],
        timeout_ms: i32,
    ) -> impl Future<Output = SysResult<(Vec<Fd>, Vec<Fd>)>> {
        self.select_shown(read, write, timeout_ms, true)
    }

    async fn select_shown(
        &self,
        read: &[Fd],
        write: &[Fd],
        timeout_ms: i32,
        all_sets: bool,
    ) -> SysResult<(Vec<Fd>, Vec<Fd>)> {
        use crate::kernel::poll::{POLLERR, POLLHUP, POLLIN, POLLOUT};
        let fds: Vec<PollFd> = read
            .iter()
            .map(|&fd| PollFd::new(fd, POLLIN))
            .chain(write.iter().map(|&fd| PollFd::new(fd, POLLOUT)))
            .collect();
        let set = |fds: &[Fd]| -> String {
            if fds.is_empty() && !all_sets {
                return "NULL".to_string();
            }
            let shown: Vec<String> = fds.iter().map(|f| f.to_string()).collect();
            format!("[{}]", shown.join(" "))
        };
        let timespec = |us: u64| {
            format!(
                "{{tv_sec={}, tv_nsec={}}}",
                us / 1_000_000,
                us % 1_000_000 * 1000
            )
        };
        let nfds = fds.iter().map(|p| p.fd + 1).max().unwrap_or(0);
        let timeout = if timeout_ms < 0 {
            "NULL".to_string()
        } else {
            timespec(timeout_ms as u64 * 1000)
        };
        let entry = format!(
            "pselect6({nfds}, {}, {}, {}, {timeout}, NULL",
            set(read),
            set(write),
            set(&[]),
        );
        let deadline: Cell<Option<Micros>> = Cell::new(None);
        let ready: RefCell<(Vec<Fd>, Vec<Fd>)> = RefCell::default();
        let n_read = read.len();
        let r = self
            .call_as(
                Errno::ERESTARTNOHAND,
                "pselect6",
                None,
                entry.clone(),
                |k, pid| {
                    let until = if timeout_ms < 0 {
                        None
                    } else {
                        let until = deadline.get().unwrap_or(k.now + timeout_ms as u64 * 1000);
                        deadline.set(Some(until));
                        Some(until)
                    };
                    let mut scan = fds.clone();
                    let (n, keys) = k.poll_scan(pid, &mut scan);
                    let (r, w) = scan.split_at(n_read);
                    let rd: Vec<Fd> = r
                        .iter()
                        .filter(|p| p.revents & (POLLIN | POLLHUP | POLLERR) != 0)
                        .map(|p| p.fd)
                        .collect();
                    let wr: Vec<Fd> = w
                        .iter()
                        .filter(|p| p.revents & (POLLOUT | POLLERR) != 0)
                        .map(|p| p.fd)
                        .collect();
                    let count = rd.len() + wr.len();
                    *ready.borrow_mut() = (rd, wr);
                    if n > 0 || until.is_some_and(|u| k.now >= u) {
                        Attempt::Done(Ok(count))
                    } else {
                        Attempt::Block(Wait { keys, until })
                    }
                },
                |k, r: &SysResult<usize>| {
                    let (rd, wr) = &*ready.borrow();
                    let mut got = Vec::new();
                    if !rd.is_empty() {
                        got.push(format!("in {}", set(rd)));
                    }
                    if !wr.is_empty() {
                        got.push(format!("out {}", set(wr)));
                    }
                    if all_sets && let Some(until) = deadline.get() {
                        got.push(format!("left {}", timespec(until.saturating_sub(k.now))));
                    }
                    let text = match r {
                        Ok(0) => format!("{entry}) = 0 (Timeout)"),
                        Ok(c) => format!("{entry}) = {c} ({})", got.join(", ")),
                        Err(e) => format!("{entry}) = -1 {e}"),
                    };
                    (text, None, None)
                },
            )
            .await;
        r.map(|_| ready.into_inner())
    }

    async fn poll_named(
        &self,
        name: &'static str,
        fds: &mut [PollFd],
        timeout_ms: i32,
    ) -> SysResult<usize> {
        let asked: Vec<String> = fds
            .iter()
            .map(|p| format!("{{fd={}, events={}}}", p.fd, poll_flags(p.events)))
            .collect();
        let asked = asked.join(", ");
        let n = fds.len();
        let mut deadline = None;
        let result = RefCell::new(Vec::new());
        let r = self
            .call_as(
                Errno::ERESTART_RESTARTBLOCK,
                name,
                None,
                format!("{name}([{asked}], {n}, {timeout_ms}"),
                |k, pid| {
                    let until = if timeout_ms < 0 {
                        None
                    } else {
                        Some(*deadline.get_or_insert(k.now + timeout_ms as u64 * 1000))
                    };
                    let mut scan = fds.to_vec();
                    let (ready, keys) = k.poll_scan(pid, &mut scan);
                    *result.borrow_mut() = scan;
                    if ready > 0 || until.is_some_and(|u| k.now >= u) {
                        Attempt::Done(Ok(ready))
                    } else {
                        Attempt::Block(Wait { keys, until })
                    }
                },
                |_, r: &SysResult<usize>| {
                    let got: Vec<String> = result
                        .borrow()
                        .iter()
                        .filter(|p| p.revents != 0)
                        .map(|p| format!("{{fd={}, revents={}}}", p.fd, poll_flags(p.revents)))
                        .collect();
                    let text = match r {
                        Ok(0) => format!("{name}([{asked}], {n}, {timeout_ms}) = 0 (Timeout)"),
                        Ok(c) => format!(
                            "{name}([{asked}], {n}, {timeout_ms}) = {c} ([{}])",
                            got.join(", ")
                        ),
                        Err(e) => format!("{name}([{asked}], {n}, {timeout_ms}) = -1 {e}"),
                    };
                    (text, None, None)
                },
            )
            .await;
        let scanned = result.into_inner();
        for (p, s) in fds.iter_mut().zip(scanned) {
            p.revents = s.revents;
        }
        r
    }

    /// `socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)`.
    pub fn socket(&self) -> impl Future<Output = SysResult<Fd>> {
        self.socket_as(SockType::TCP)
    }

    /// `socket(AF_INET, SOCK_STREAM|flags, protocol)`, called as `how` says.
    pub fn socket_as(&self, how: SockType) -> impl Future<Output = SysResult<Fd>> {
        let flags = OpenFlags {
            nonblock: how.nonblock,
            cloexec: how.cloexec,
            ..OpenFlags::default()
        };
        self.simple(
            "socket",
            None,
            move |k, pid| k.sys_socket(pid, flags, how.v6),
            move |r| {
                let ty = match sock_flags(how.nonblock, how.cloexec, "") {
                    f if f.is_empty() => "SOCK_STREAM".to_string(),
                    f => format!("SOCK_STREAM|{f}"),
                };
                let proto = if how.proto_zero {
                    "IPPROTO_IP"
                } else {
                    "IPPROTO_TCP"
                };
                let family = if how.v6 { "AF_INET6" } else { "AF_INET" };
                format!(
                    "socket({family}, {ty}, {proto}) {}",
                    ret_text(r, |f| f.to_string())
                )
            },
        )
    }

    /// `setsockopt(fd, SOL_SOCKET, opt, [1])`.
    pub fn setsockopt(
        &self,
        fd: Fd,
        opt: SockOpt,
        on: bool,
    ) -> impl Future<Output = SysResult<()>> {
        let name = match opt {
            SockOpt::ReuseAddr => "SO_REUSEADDR",
            SockOpt::ReusePort => "SO_REUSEPORT",
            SockOpt::KeepAlive => "SO_KEEPALIVE",
        };
        let v = on as i32;
        self.simple(
            "setsockopt",
            Some(fd),
            move |k, pid| k.sys_setsockopt(pid, fd, opt, on),
            move |r| {
                format!(
                    "setsockopt({fd}, SOL_SOCKET, {name}, [{v}], 4) {}",
                    ret_text(r, |_| "0".into())
                )
            },
        )
    }

    /// `bind(2)`.
    pub fn bind(&self, fd: Fd, addr: SocketAddrV4) -> impl Future<Output = SysResult<()>> {
        let v6 = self.is_v6(fd);
        self.simple(
            "bind",
            Some(fd),
            move |k, pid| k.sys_bind(pid, fd, addr),
            move |r| {
                format!(
                    "bind({fd}, {}, {}) {}",
                    sockaddr_as(addr, v6),
                    sockaddr_len(v6),
                    ret_text(r, |_| "0".into())
                )
            },
        )
    }

    /// Whether `fd` is an AF_INET6 socket, whose addresses print in the v6 form.
    fn is_v6(&self, fd: Fd) -> bool {
        let k = self.shared.kernel.borrow();
        k.sock_of(self.pid, fd).is_ok_and(|id| k.sock(id).v6)
    }

    /// `listen(2)`.
    pub fn listen(&self, fd: Fd, backlog: i32) -> impl Future<Output = SysResult<()>> {
        self.simple(
            "listen",
            Some(fd),
            move |k, pid| k.sys_listen(pid, fd, backlog),
            move |r| format!("listen({fd}, {backlog}) {}", ret_text(r, |_| "0".into())),
        )
    }

    /// `accept4(fd, &addr, &len, 0)`: the new fd and the peer's address.
    pub fn accept(&self, fd: Fd) -> impl Future<Output = SysResult<(Fd, SocketAddrV4)>> {
        self.accept_as(fd, Accept::ACCEPT4)
    }

    /// `accept(2)` or `accept4(2)`, called as `how` says: the new fd and the
    /// peer's address.
    pub fn accept_as(
        &self,
        fd: Fd,
        how: Accept,
    ) -> impl Future<Output = SysResult<(Fd, SocketAddrV4)>> {
        let pid = self.pid;
        let name = if how.accept4 { "accept4" } else { "accept" };
        let flags = OpenFlags {
            nonblock: how.nonblock,
            cloexec: how.cloexec,
            ..OpenFlags::default()
        };
        let v6 = self.is_v6(fd);
        let full = sockaddr_len(v6);
        self.call(
            name,
            Some(fd),
            move || format!("{name}({fd}, "),
            move |k, pid| k.sys_accept(pid, fd, flags),
            move |k, r: &SysResult<(Fd, SocketAddrV4)>| {
                let (addr, len) = match (r, how.addrlen) {
                    (_, None) => ("NULL".to_string(), "NULL".to_string()),
                    (Ok((_, a)), Some(n)) if n == full => (sockaddr_as(*a, v6), format!("[{n}]")),
                    (Ok((_, a)), Some(n)) => (sockaddr_as(*a, v6), format!("[{n} => {full}]")),
                    (Err(_), Some(n)) => (STACK_ADDRESS.to_string(), format!("[{n}]")),
                };
                let tail = if how.accept4 {
                    format!(", {}", sock_flags(how.nonblock, how.cloexec, "0"))
                } else {
                    String::new()
                };
                let ret = ret_text(r, |(nfd, _)| nfd.to_string());
                let text = format!("{name}({fd}, {addr}, {len}{tail}) {ret}");
                (text, Self::object_of(k, pid, fd), None)
            },
        )
    }

    /// `connect(2)`.
    pub fn connect(&self, fd: Fd, addr: SocketAddrV4) -> impl Future<Output = SysResult<()>> {
        self.call(
            "connect",
            Some(fd),
            move || format!("connect({fd}, {}, 16", sockaddr(addr)),
            move |k, pid| k.sys_connect(pid, fd, addr),
            move |_, r: &SysResult<()>| {
                (
                    format!(
                        "connect({fd}, {}, 16) {}",
                        sockaddr(addr),
                        ret_text(r, |_| "0".into())
                    ),
                    None,
                    None,
                )
            },
        )
    }

    /// `getsockopt(fd, SOL_SOCKET, SO_ERROR)`: the pending error, if any.
    pub fn so_error(&self, fd: Fd) -> impl Future<Output = SysResult<Option<Errno>>> {
        self.simple(
            "getsockopt",
            Some(fd),
            move |k, pid| k.sys_so_error(pid, fd),
            move |r| match r {
                Ok(e) => format!(
                    "getsockopt({fd}, SOL_SOCKET, SO_ERROR, [{}], [4]) = 0",
                    e.map_or("0".to_string(), |e| e.name().to_string())
                ),
                Err(e) => format!("getsockopt({fd}, SOL_SOCKET, SO_ERROR) = -1 {e}"),
            },
        )
    }

    /// `getsockname(2)` (`peer` false) or `getpeername(2)`.
    pub fn sockname(&self, fd: Fd, peer: bool) -> impl Future<Output = SysResult<SocketAddrV4>> {
        self.sockname_buf(fd, peer, None)
    }

    /// [`Sys::sockname`] into a buffer of `buflen` bytes, as programs that keep a
    /// generic address buffer call it (CPython 128, socat 112): strace shows
    /// `[128 => 16]`, the size given and the size used.
    pub fn sockname_buf(
        &self,
        fd: Fd,
        peer: bool,
        buflen: Option<u32>,
    ) -> impl Future<Output = SysResult<SocketAddrV4>> {
        let name = if peer { "getpeername" } else { "getsockname" };
        let v6 = self.is_v6(fd);
        let used = sockaddr_len(v6);
        let len = match buflen {
            Some(n) if n != used => format!("{n} => {used}"),
            _ => used.to_string(),
        };
        self.simple(
            name,
            Some(fd),
            move |k, pid| k.sys_sockname(pid, fd, peer),
            move |r| {
                format!(
                    "{name}({fd}, {}, [{len}]) {}",
                    r.map(|a| sockaddr_as(a, v6)).unwrap_or_default(),
                    ret_text(r, |_| "0".into())
                )
            },
        )
    }

    /// `shutdown(2)`.
    pub fn shutdown(&self, fd: Fd, how: Shutdown) -> impl Future<Output = SysResult<()>> {
        self.simple(
            "shutdown",
            Some(fd),
            move |k, pid| k.sys_shutdown(pid, fd, how),
            move |r| {
                format!(
                    "shutdown({fd}, {}) {}",
                    how.name(),
                    ret_text(r, |_| "0".into())
                )
            },
        )
    }

    /// `isatty(3)`, which is `ioctl(fd, TCGETS)`: whether `fd` is a terminal.
    /// ENOTTY for anything else, EBADF for a closed fd. Python decides how to buffer
    /// stdout by it, curl whether to draw its progress meter.
    pub fn isatty(&self, fd: Fd) -> impl Future<Output = SysResult<()>> {
        self.simple(
            "ioctl",
            Some(fd),
            move |k, pid| k.terminal_of(pid, fd).map(|_| ()),
            move |r| {
                format!(
                    "ioctl({fd}, TCGETS, {{...}}) {}",
                    ret_text(r, |_| "0".into())
                )
            },
        )
    }

    /// `tcsetpgrp(3)`, which is `ioctl(fd, TIOCSPGRP)`: makes `pgid` the
    /// foreground process group of the terminal on `fd`.
    pub fn tcsetpgrp(&self, fd: Fd, pgid: Pid) -> impl Future<Output = SysResult<()>> {
        self.simple(
            "ioctl",
            Some(fd),
            move |k, pid| k.sys_tcsetpgrp(pid, fd, pgid),
            move |r| {
                format!(
                    "ioctl({fd}, TIOCSPGRP, [{pgid}]) {}",
                    ret_text(r, |_| "0".into())
                )
            },
        )
    }

    /// Is `fd` open? (`fcntl(F_GETFD)`, free: programs only use it for sanity.)
    pub fn fd_is_open(&self, fd: Fd) -> bool {
        self.shared
            .kernel
            .borrow()
            .proc(self.pid)
            .fds
            .contains_key(&fd)
    }
}

/// How a program calls `accept`, as strace showed each real one here:
/// nc.openbsd `accept4(3, {..}, [128 => 16], SOCK_NONBLOCK)`, python3
/// `accept4(3, {..}, [16], SOCK_CLOEXEC)`, nc.traditional and socat
/// `accept(3, {..}, [16])`, busybox nc `accept(3, NULL, NULL)`.
#[derive(Clone, Copy, Debug)]
pub struct Accept {
    /// `accept4(2)` rather than `accept(2)`.
    pub accept4: bool,
    /// SOCK_NONBLOCK (accept4 only).
    pub nonblock: bool,
    /// SOCK_CLOEXEC (accept4 only).
    pub cloexec: bool,
    /// The address buffer's size (`[128 => 16]` for a `sockaddr_storage`), or
    /// None for `NULL, NULL`.
    pub addrlen: Option<u32>,
}

impl Accept {
    /// `accept4(fd, &sin, &len, 0)`.
    pub const ACCEPT4: Accept = Accept {
        accept4: true,
        nonblock: false,
        cloexec: false,
        addrlen: Some(16),
    };
    /// `accept(fd, &sin, &len)`.
    pub const ACCEPT: Accept = Accept {
        accept4: false,
        ..Accept::ACCEPT4
    };
}

/// How a program calls `socket(2)` for TCP, as strace showed each real one
/// here: nc.openbsd's client `SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP`, python3
/// `SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP`, busybox nc's client `SOCK_STREAM,
/// IPPROTO_IP`, curl, socat, nc.traditional and nc.openbsd's listener
/// `SOCK_STREAM, IPPROTO_TCP`.
#[derive(Clone, Copy, Debug)]
pub struct SockType {
    /// SOCK_NONBLOCK.
    pub nonblock: bool,
    /// SOCK_CLOEXEC.
    pub cloexec: bool,
    /// Protocol 0 (`IPPROTO_IP`, "the default for the type") rather than
    /// `IPPROTO_TCP`: the same socket either way.
    pub proto_zero: bool,
    /// AF_INET6 (dual-stack: see [`crate::kernel::net::Socket::v6`]).
    pub v6: bool,
}

impl SockType {
    /// `socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)`.
    pub const TCP: SockType = SockType {
        nonblock: false,
        cloexec: false,
        proto_zero: false,
        v6: false,
    };
}

/// SOCK_CLOEXEC and SOCK_NONBLOCK as strace joins them, or `none`.
fn sock_flags(nonblock: bool, cloexec: bool, none: &str) -> String {
    match (cloexec, nonblock) {
        (false, false) => none.to_string(),
        (true, false) => "SOCK_CLOEXEC".to_string(),
        (false, true) => "SOCK_NONBLOCK".to_string(),
        (true, true) => "SOCK_CLOEXEC|SOCK_NONBLOCK".to_string(),
    }
}

pub(crate) use crate::trace::STACK_ADDRESS;

/// `{sa_family=AF_INET, sin_port=htons(5000), sin_addr=inet_addr("127.0.0.1")}`.
/// An address as strace prints it for a socket of the given family: an IPv4 peer
/// of a dual-stack AF_INET6 socket is `::ffff:a.b.c.d`, its wildcard `::`.
fn sockaddr_as(a: SocketAddrV4, v6: bool) -> String {
    if !v6 {
        return sockaddr(a);
    }
    format!(
        "{{sa_family=AF_INET6, sin6_port=htons({}), sin6_flowinfo=htonl(0), \
         inet_pton(AF_INET6, \"{}\", &sin6_addr), sin6_scope_id=0}}",
        a.port(),
        v6_text(*a.ip())
    )
}

/// `sizeof(struct sockaddr_in6)` or `sizeof(struct sockaddr_in)`.
fn sockaddr_len(v6: bool) -> u32 {
    if v6 { 28 } else { 16 }
}

/// An IPv4 address as a dual-stack socket sees it: `::` for the wildcard, else
/// v4-mapped.
pub fn v6_text(ip: std::net::Ipv4Addr) -> String {
    if ip.is_unspecified() {
        "::".to_string()
    } else {
        format!("::ffff:{ip}")
    }
}

pub fn sockaddr(a: SocketAddrV4) -> String {
    format!(
        "{{sa_family=AF_INET, sin_port=htons({}), sin_addr=inet_addr(\"{}\")}}",
        a.port(),
        a.ip()
    )
}

/// `recv`/`send` on something other than a socket: EBADF for a closed fd,
/// ENOTSOCK for a pipe, file or terminal.
fn require_socket(k: &Kernel, pid: Pid, fd: Fd) -> SysResult<()> {
    let file = k.file_of(pid, fd)?;
    match k.file(file).object {
        crate::kernel::fs::Object::Socket { .. } => Ok(()),
        _ => Err(Errno::ENOTSOCK),
    }
}

/// A short name for the object behind an open file: `pipe:[3]`, `/tmp/f`,
/// `socket:[2]`, `/dev/pts/0`.
pub fn describe_object(k: &Kernel, file: crate::kernel::FileId) -> Rc<str> {
    k.file(file).name.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{Step, World};

    #[test]
    fn sockaddr_prints_like_strace() {
        let a = SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 5000);
        assert_eq!(
            sockaddr(a),
            "{sa_family=AF_INET, sin_port=htons(5000), sin_addr=inet_addr(\"127.0.0.1\")}"
        );
    }

    // ---- running handlers ----

    /// A world whose first process is in a signal handler's body (a SIGUSR1
    /// from its child interrupted its read; the body sleeps 10 s), and a
    /// `Sys` of that process.
    fn world_in_a_handler() -> (World, Sys) {
        let mut k = Kernel::default();
        k.add_terminal();
        let mut w = World::new(k, Programs::new(), 0);
        let pid = w.kernel_mut().spawn_session(vec!["t".into()], "/", 0);
        let sys = w.sys(pid);
        let me = sys.clone();
        w.attach(
            pid,
            Box::pin(async move {
                me.sigaction_handler(
                    Signal::SIGUSR1,
                    false,
                    Rc::new(|s: Sys| {
                        Box::pin(async move {
                            let _ = s.sleep_us(10_000_000).await;
                        })
                    }),
                )
                .await
                .unwrap();
                let (r, _w) = me.pipe().await.unwrap();
                let parent = me.pid() as i32;
                me.fork(move |c| async move {
                    c.sleep_us(1000).await.unwrap();
                    c.kill(parent, Some(Signal::SIGUSR1)).await.unwrap();
                    0
                })
                .await
                .unwrap();
                let _ = me.read(r, 1).await;
                0
            }),
        );
        while sys.shared.running.borrow().is_empty() {
            assert!(matches!(w.step(1_000_000), Step::Ran(_)));
        }
        (w, sys)
    }

    #[test]
    fn a_process_killed_in_a_handler_leaves_no_running_handler_behind() {
        let (mut w, sys) = world_in_a_handler();
        w.kernel_mut().raise(sys.pid(), Signal::SIGKILL, None);
        while let Step::Ran(_) = w.step(20_000_000) {}
        assert!(!w.kernel().proc(sys.pid()).is_alive());
        assert!(sys.shared.running.borrow().is_empty());
    }

    #[test]
    fn a_world_dropped_while_a_handler_runs_frees_its_kernel() {
        // The handler holds a `Sys`, and so the `Shared` that holds it.
        let (w, sys) = world_in_a_handler();
        let shared = Rc::downgrade(&sys.shared);
        drop(sys);
        drop(w);
        assert!(shared.upgrade().is_none());
    }
}
