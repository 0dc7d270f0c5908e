//! Narration: each step of a run told in one plain sentence that names the man page,
//! and which steps are key moments (a death by signal, EPIPE, a refused or reset
//! connection, an exit, a FIFO rendezvous, an accepted connection, output reaching a
//! terminal), and where "Next key event" stops ([`key_stops`]: a loop's repeated
//! key moments once).
//!
//! Pure functions of the trace and of the snapshot taken after the step (for the
//! processes' names). Deterministic: the same events give the same words. The
//! sentences only say what the kernel's rules say (pipe(7), fifo(7), signal(7),
//! tcp(7)); where an event alone cannot tell why, they say what happened, not why.

use serde::Serialize;

use crate::kernel::process::ExitStatus;
use crate::kernel::signal::DefaultAction;
use crate::kernel::{Disposition, Errno, Pid, Signal, WaitKey};
use crate::snapshot::Snapshot;
use crate::trace::{Event, EventKind};

/// A step told in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Narration {
    pub step: u64,
    /// One sentence (two at most, when a signal follows the call that raised it).
    pub text: String,
    /// The man page the sentence is about, as `read(2)`.
    pub man: Option<String>,
    /// A moment worth stopping at.
    pub key: bool,
}

/// What kind of object an event's `object` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ObjectKind {
    Pipe,
    Fifo,
    Socket,
    Terminal,
    File,
    None,
}

fn object_kind(object: Option<&str>) -> ObjectKind {
    match object {
        None => ObjectKind::None,
        Some(o) if o.starts_with("pipe:[") => ObjectKind::Pipe,
        Some(o) if o.starts_with("socket:[") => ObjectKind::Socket,
        Some(o) if o.starts_with("/dev/pts/") || o.starts_with("/dev/tty") => ObjectKind::Terminal,
        // FIFOs in the lessons live under /tmp; the snapshot tells for sure.
        Some(_) => ObjectKind::File,
    }
}

fn object_kind_in(object: Option<&str>, snap: Option<&Snapshot>) -> ObjectKind {
    let kind = object_kind(object);
    if kind == ObjectKind::File
        && let (Some(o), Some(s)) = (object, snap)
        && s.pipes.iter().any(|p| p.name == o)
    {
        return ObjectKind::Fifo;
    }
    kind
}

/// Is this event a moment worth stopping at?
pub fn is_key(event: &Event) -> bool {
    match &event.kind {
        EventKind::Exit { .. } => true,
        // SIGCHLD after every child's exit is routine; other signals are news.
        EventKind::Signal { signal, .. } => *signal != Signal::SIGCHLD,
        EventKind::Reset { .. } => true,
        EventKind::Dropped { .. } => true,
        EventKind::Syscall {
            name,
            errno,
            object,
            bytes,
            resumed,
            ret,
            ..
        } => {
            if matches!(
                errno,
                Some(Errno::EPIPE | Errno::ECONNREFUSED | Errno::ECONNRESET)
            ) {
                return true;
            }
            let obj = object.as_deref();
            match *name {
                "accept4" | "accept" => *ret >= 0,
                // An open that had to wait is a FIFO rendezvous completing.
                "openat" => *resumed && *ret >= 0,
                "connect" => *ret == 0,
                // A non-blocking connect's outcome, as curl and nc learn it.
                "getsockopt" => so_error(event).is_some(),
                "write" | "sendto" => {
                    object_kind(obj) == ObjectKind::Terminal
                        && bytes.unwrap_or(0) > 0
                        && !is_prompt(event)
                }
                // EOF on a pipe or a socket.
                "read" | "recvfrom" => {
                    *ret == 0 && matches!(object_kind(obj), ObjectKind::Pipe | ObjectKind::Socket)
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// What a loop's next turn repeats of a key moment: what happened, to what kind
/// of object, with what outcome; not who (a forking loop has new pids each turn),
/// nor which pipe, nor the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Moment {
    Exit(ExitStatus),
    Signal(Signal),
    Reset,
    Dropped,
    Call {
        name: &'static str,
        errno: Option<Errno>,
        object: ObjectKind,
    },
    Other,
}

fn moment(event: &Event) -> Moment {
    match &event.kind {
        EventKind::Exit { status } => Moment::Exit(*status),
        EventKind::Signal { signal, .. } => Moment::Signal(*signal),
        EventKind::Reset { .. } => Moment::Reset,
        EventKind::Dropped { .. } => Moment::Dropped,
        EventKind::Syscall {
            name,
            errno,
            object,
            ..
        } => Moment::Call {
            name,
            errno: *errno,
            object: object_kind(object.as_deref()),
        },
        _ => Moment::Other,
    }
}

/// The longest loop body recognized, in key moments.
const LOOP_BODY_MAX: usize = 8;
/// How many turns in a row a loop body must make before its later turns stop
/// being stops.
const LOOP_TURNS_MIN: usize = 8;

/// The positions "Next key event" stops at, ascending: each position whose step
/// has a key moment ([`is_key`]), except a loop's repetitions.
///
/// The rule: when the same key moments (see `Moment`: same kind, call, outcome
/// and kind of object) come back in the same order, with nothing else key in
/// between, at least `LOOP_TURNS_MIN` times in a row (a body of 1 to
/// `LOOP_BODY_MAX` moments), only the first turn's moments stop; the button then
/// goes to the first key moment after the run. `while true; do echo x; done` is
/// one stop, not one per `x`; so are the 8,200 writes netcat-traditional retries
/// into a broken pipe before "too many output retries" (second-request). A
/// lesson's few clients or requests come back fewer times than that, so every
/// other lesson keeps every key moment as a stop (crates/web tests both). Each
/// moment stays key: the trace and the narration still mark it.
pub fn key_stops(trace: &[Event]) -> Vec<u64> {
    let keys: Vec<(u64, Moment)> = trace
        .iter()
        .filter(|e| is_key(e))
        .map(|e| (e.step + 1, moment(e)))
        .collect();
    let mut repeated = vec![false; keys.len()];
    for body in 1..=LOOP_BODY_MAX {
        // Stretches `start..i` in which each moment is the one `body` before it:
        // the turn just before them, made again `(i - start) / body` times.
        let mut start = body;
        for i in body..=keys.len() {
            if i < keys.len() && keys[i].1 == keys[i - body].1 {
                continue;
            }
            if start < i && i - start >= body * (LOOP_TURNS_MIN - 1) {
                repeated[start..i].fill(true);
            }
            start = i + 1;
        }
    }
    let mut stops: Vec<u64> = Vec::new();
    for ((position, _), repeated) in keys.iter().zip(repeated) {
        if !repeated && stops.last() != Some(position) {
            stops.push(*position);
        }
    }
    stops
}

/// The error a `getsockopt(SO_ERROR)` returned in its buffer, if any: how a
/// non-blocking `connect(2)` reports failure (connect(2), EINPROGRESS).
fn so_error(event: &Event) -> Option<&str> {
    match &event.kind {
        EventKind::Syscall {
            name: "getsockopt",
            text,
            ..
        } => {
            let rest = text.split_once("SO_ERROR, [")?.1;
            let err = rest.split(']').next()?;
            (err != "0").then_some(err)
        }
        _ => None,
    }
}

/// bash writing its prompt (`$ `) is not news.
fn is_prompt(event: &Event) -> bool {
    match &event.kind {
        EventKind::Syscall { text, .. } => text.contains("\"$ \", 2)"),
        _ => false,
    }
}

/// `nc (pid 12)`, from the snapshot's `argv[0]`, or `pid 12` when it is not there.
fn who(pid: Option<Pid>, snap: Option<&Snapshot>) -> String {
    let Some(pid) = pid else {
        return "the kernel".to_string();
    };
    let name = snap
        .and_then(|s| s.processes.iter().find(|p| p.pid == pid))
        .and_then(|p| p.argv.first())
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string());
    match name {
        Some(n) => format!("{n} (pid {pid})"),
        None => format!("pid {pid}"),
    }
}

fn plural(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

fn describe(object: Option<&str>, kind: ObjectKind) -> String {
    let o = object.unwrap_or("?");
    match kind {
        ObjectKind::Pipe => format!("the pipe {o}"),
        ObjectKind::Fifo => format!("the FIFO {o}"),
        ObjectKind::Socket => format!("its socket {o}"),
        ObjectKind::Terminal => format!("the terminal {o}"),
        ObjectKind::File => o.to_string(),
        ObjectKind::None => "it".to_string(),
    }
}

/// One event in words, with the man page it is about. `None` for events that say
/// nothing on their own (bookkeeping calls).
pub fn narrate_event(event: &Event, snap: Option<&Snapshot>) -> Option<(String, Option<String>)> {
    let me = who(event.pid, snap);
    let man = |m: &str| Some(m.to_string());
    let out = match &event.kind {
        EventKind::Syscall {
            name,
            ret,
            errno,
            object,
            bytes,
            text,
            ..
        } => {
            let obj = object.as_deref();
            let kind = object_kind_in(obj, snap);
            let page = format!("{name}(2)");
            match (*name, errno) {
                ("write" | "sendto", Some(Errno::EPIPE)) => {
                    let why = match kind {
                        ObjectKind::Socket => {
                            "whose peer has closed and reset the connection".to_string()
                        }
                        _ => format!(
                            "{}, which no process has open for reading any more",
                            describe(obj, kind)
                        ),
                    };
                    let rest = if text.contains("MSG_NOSIGNAL") {
                        "the call fails with EPIPE (MSG_NOSIGNAL: no SIGPIPE)"
                    } else {
                        "the call fails with EPIPE and the kernel sends the writer SIGPIPE"
                    };
                    let target = match kind {
                        ObjectKind::Socket => format!("{} {why}", describe(obj, kind)),
                        _ => why,
                    };
                    (
                        format!("{page}: {me} writes into {target}: {rest}."),
                        man(&page),
                    )
                }
                ("recvfrom", Some(Errno::EAGAIN)) if text.contains("MSG_DONTWAIT") => (
                    format!(
                        "recv(2): {me} looks on fd {} for a message without waiting (MSG_DONTWAIT): none has come, so EAGAIN.",
                        fd_of(event)
                    ),
                    man("recv(2)"),
                ),
                ("recvmsg", Some(Errno::EAGAIN)) if text.contains("MSG_ERRQUEUE") => (
                    format!(
                        "recvmsg(2): {me} reads the socket's error queue for details of what went wrong (MSG_ERRQUEUE): it is empty, EAGAIN."
                    ),
                    man("recvmsg(2)"),
                ),
                (_, Some(Errno::ECONNREFUSED)) => (
                    format!(
                        "{page}: {me} is refused (ECONNREFUSED): nothing listens on that port, so the kernel answers the SYN with a RST."
                    ),
                    man("connect(2)"),
                ),
                (_, Some(Errno::ECONNRESET)) => (
                    format!(
                        "{page}: {me} gets ECONNRESET: the peer reset the connection (RST), and unread data is lost."
                    ),
                    man("tcp(7)"),
                ),
                (_, Some(e)) => (
                    format!("{page}: {me} gets {} ({}).", e.name(), e.text()),
                    man(&page),
                ),
                ("read" | "recvfrom", None) if *ret == 0 => {
                    let why = match kind {
                        ObjectKind::Pipe | ObjectKind::Fifo => {
                            "the buffer is empty and no process has it open for writing any more"
                        }
                        ObjectKind::Socket => {
                            "the peer has closed its side (FIN) and every byte has been read"
                        }
                        ObjectKind::Terminal => "Ctrl-D at the start of a line",
                        _ => "nothing is left to read",
                    };
                    (
                        format!(
                            "{page}: {me} reads end-of-file from {}: {why}.",
                            describe(obj, kind)
                        ),
                        man(match kind {
                            ObjectKind::Pipe | ObjectKind::Fifo => "pipe(7)",
                            _ => "read(2)",
                        }),
                    )
                }
                ("recvfrom", None) => (
                    format!(
                        "recv(2): {me} receives {} from {}.",
                        plural(bytes.unwrap_or(*ret as u64), "byte"),
                        describe(obj, kind)
                    ),
                    man("recv(2)"),
                ),
                ("sendto", None) => (
                    format!(
                        "send(2): {me} sends {} on {}; the kernel queues them for the peer.",
                        plural(bytes.unwrap_or(*ret as u64), "byte"),
                        describe(obj, kind)
                    ),
                    man("send(2)"),
                ),
                ("read", None) => (
                    format!(
                        "{page}: {me} reads {} from {}.",
                        plural(bytes.unwrap_or(*ret as u64), "byte"),
                        describe(obj, kind)
                    ),
                    man(&page),
                ),
                ("write", None) => {
                    let n = bytes.unwrap_or(*ret as u64);
                    let into = match kind {
                        ObjectKind::Socket => format!(
                            "{}; the kernel queues them for the peer",
                            describe(obj, kind)
                        ),
                        ObjectKind::Terminal => {
                            format!("{}: they appear on screen", describe(obj, kind))
                        }
                        _ => describe(obj, kind),
                    };
                    (
                        format!("{page}: {me} writes {} into {into}.", plural(n, "byte")),
                        man(&page),
                    )
                }
                ("openat", None) if kind == ObjectKind::Fifo || event_resumed(event) => (
                    format!(
                        "{page}: {me} opens the FIFO {}: a reader and a writer have now both opened it, so the open returns fd {ret} (fifo(7)).",
                        obj.unwrap_or("?")
                    ),
                    man("fifo(7)"),
                ),
                ("openat", None) => (
                    format!(
                        "{page}: {me} opens {} as fd {ret}.",
                        obj.unwrap_or("a file")
                    ),
                    man(&page),
                ),
                ("accept4" | "accept", None) => (
                    format!(
                        "accept(2): {me} takes a connection off the listening socket's queue; it gets a new socket as fd {ret}."
                    ),
                    man("accept(2)"),
                ),
                ("connect", None) => (
                    format!(
                        "connect(2): {me} is connected: the three-way handshake completed (the server's kernel did it, before any accept)."
                    ),
                    man("connect(2)"),
                ),
                ("listen", None) => (
                    format!(
                        "listen(2): {me} marks its socket as listening: the kernel now completes handshakes for it."
                    ),
                    man("listen(2)"),
                ),
                ("bind", None) => (
                    match bound_address(text) {
                        Some(a) => format!(
                            "bind(2): {me} binds its socket to {a}: that address is now its own."
                        ),
                        None => format!("bind(2): {me} binds its socket to an address."),
                    },
                    man("bind(2)"),
                ),
                ("setsockopt", None) if text.contains("SO_REUSEADDR") => (
                    format!(
                        "setsockopt(2): {me} sets SO_REUSEADDR on its socket, so it may bind a port that an old connection still holds in TIME_WAIT."
                    ),
                    man("socket(7)"),
                ),
                ("socket", None) => (
                    format!("socket(2): {me} creates a TCP socket, fd {ret}."),
                    man("socket(2)"),
                ),
                ("pipe2", None) => (
                    format!(
                        "pipe(2): {me} creates a pipe: a one-way buffer of 65536 bytes with a read end and a write end."
                    ),
                    man("pipe(2)"),
                ),
                ("clone", None) => (
                    format!(
                        "fork(2): {me} forks a child, pid {ret}, which inherits a copy of its fd table."
                    ),
                    man("fork(2)"),
                ),
                ("execve", None) => {
                    let prog = text
                        .split_once("[\"")
                        .and_then(|(_, r)| r.split('"').next())
                        .unwrap_or("a program");
                    (
                        format!(
                            "execve(2): pid {} now runs {prog}; open fds stay open (unless close-on-exec).",
                            event.pid.unwrap_or(0)
                        ),
                        man("execve(2)"),
                    )
                }
                ("dup2", None) => (
                    format!(
                        "dup2(2): {me} makes fd {ret} a copy of another fd: {}.",
                        text
                    ),
                    man("dup2(2)"),
                ),
                ("close", None) => (
                    format!(
                        "close(2): {me} closes fd {}{}.",
                        fd_of(event),
                        obj.map(|o| format!(" ({o})")).unwrap_or_default()
                    ),
                    man("close(2)"),
                ),
                ("mknodat", None) => (
                    format!("mkfifo(3): {me} creates a FIFO, a named pipe in the file system."),
                    man("fifo(7)"),
                ),
                ("wait4", None) => (
                    format!("wait(2): {me} collects the exit status of its child pid {ret}."),
                    man("wait(2)"),
                ),
                ("rt_sigaction", None) => (
                    format!("sigaction(2): {me} changes what a signal does to it: {text}."),
                    man("sigaction(2)"),
                ),
                ("rt_sigprocmask", None) => (
                    format!(
                        "sigprocmask(2): {me} {} signals; a blocked signal waits, pending, until it is unblocked: {text}.",
                        if text.contains("SIG_UNBLOCK") {
                            "unblocks"
                        } else if text.contains("SIG_SETMASK") {
                            "sets the blocked"
                        } else if text.contains("SIG_BLOCK, NULL") {
                            "reads the blocked"
                        } else {
                            "blocks"
                        }
                    ),
                    man("sigprocmask(2)"),
                ),
                ("shutdown", None) if text.contains("SHUT_RDWR") => (
                    format!(
                        "shutdown(2): {me} shuts down both halves of its connection: it sends no more (the peer will read EOF) and receives no more."
                    ),
                    man("shutdown(2)"),
                ),
                ("shutdown", None) => (
                    format!(
                        "shutdown(2): {me} closes the sending half of its connection: the peer will read EOF."
                    ),
                    man("shutdown(2)"),
                ),
                ("poll" | "pselect6" | "select" | "ppoll", None) => (
                    if *ret == 0 {
                        format!(
                            "{page}: {me} wakes up: its timeout expired and no fd it watches is ready."
                        )
                    } else {
                        format!(
                            "{page}: {me} wakes up: {} it watches {} ready.",
                            plural(*ret as u64, "fd"),
                            if *ret == 1 { "is" } else { "are" }
                        )
                    },
                    man(&page),
                ),
                ("getsockopt", None) if so_error(event).is_some() => {
                    let err = so_error(event).unwrap_or("an error");
                    let why = match err {
                        "ECONNREFUSED" => {
                            ": nothing listens on that port, so the kernel answered the SYN with a RST"
                        }
                        "ECONNRESET" => ": the peer reset the connection",
                        _ => "",
                    };
                    (
                        format!(
                            "getsockopt(2): {me} asks how its non-blocking connect went: it failed with {err}{why}."
                        ),
                        man("connect(2)"),
                    )
                }
                ("clock_nanosleep", None) => {
                    (format!("nanosleep(2): {me} wakes up."), man("nanosleep(2)"))
                }
                _ => (format!("{page}: {me}: {text}."), man(&page)),
            }
        }
        EventKind::Blocked { name, on, text } => {
            let page = format!("{name}(2)");
            let why = match (*name, on.first()) {
                ("read" | "recvfrom", Some(WaitKey::Pipe(_))) => {
                    "the pipe is empty and a writer still has it open".to_string()
                }
                ("read" | "recvfrom", Some(WaitKey::Socket(_))) => {
                    "nothing has arrived on the socket and the peer has not closed".to_string()
                }
                ("read", Some(WaitKey::Terminal(_))) => "nobody has typed a line yet".to_string(),
                ("write" | "sendto", Some(WaitKey::Pipe(_))) => {
                    "the pipe is full (65536 bytes) and nobody has read from it".to_string()
                }
                ("write" | "sendto", Some(WaitKey::Socket(_))) => {
                    "the socket's send buffer is full".to_string()
                }
                ("openat", Some(WaitKey::Fifo(_))) => {
                    if text.contains("O_RDONLY") {
                        "a FIFO opened for reading blocks until a writer opens it (fifo(7))"
                            .to_string()
                    } else {
                        "a FIFO opened for writing blocks until a reader opens it (fifo(7))"
                            .to_string()
                    }
                }
                ("accept4" | "accept", _) => {
                    "no connection is waiting in the accept queue".to_string()
                }
                ("wait4", _) => "its child has not ended yet".to_string(),
                ("clock_nanosleep", _) => "it sleeps".to_string(),
                ("poll" | "select" | "pselect6", _) => {
                    "none of the fds it watches is ready".to_string()
                }
                ("connect", _) => "the handshake has not completed".to_string(),
                _ => "it must wait".to_string(),
            };
            let man_page = if *name == "openat" {
                "fifo(7)".to_string()
            } else {
                page.clone()
            };
            (format!("{page}: {me} waits: {why}."), Some(man_page))
        }
        EventKind::Spawn { parent } => (
            if *parent == crate::kernel::INIT_PID {
                format!(
                    "A terminal opens: {me} starts, its stdin, stdout and stderr on the terminal."
                )
            } else {
                format!("fork(2): {me} is born, a copy of pid {parent} with the same open fds.")
            },
            man("fork(2)"),
        ),
        EventKind::Signal {
            signal,
            disposition,
            from,
            ..
        } => {
            let cause = match (signal, from) {
                (Signal::SIGPIPE, _) => "it wrote into a pipe or socket with no reader".to_string(),
                (Signal::SIGINT, None) => "Ctrl-C on its terminal".to_string(),
                (Signal::SIGTSTP, None) => "Ctrl-Z on its terminal".to_string(),
                (Signal::SIGTTIN, None) => "it read its terminal from the background".to_string(),
                (Signal::SIGCHLD, Some(p)) => format!("its child pid {p} ended"),
                (_, Some(p)) => format!("pid {p} sent it"),
                (_, None) => "the kernel raised it".to_string(),
            };
            let effect = match disposition {
                Disposition::Ignore => format!("it ignores {signal}, so nothing happens"),
                Disposition::Handler { .. } => "its handler runs".to_string(),
                Disposition::Default => match signal.default_action() {
                    DefaultAction::Ign => "its default action is to ignore it".to_string(),
                    DefaultAction::Stop => "its default action stops the process".to_string(),
                    DefaultAction::Cont => "it goes on if it was stopped".to_string(),
                    _ => "its default action kills the process".to_string(),
                },
            };
            (
                format!("signal(7): {me} gets {signal} ({cause}): {effect}."),
                man("signal(7)"),
            )
        }
        EventKind::Stopped { signal } => (
            format!(
                "signal(7): {me} is stopped by {signal}: it runs again only on SIGCONT (fg, bg)."
            ),
            man("signal(7)"),
        ),
        EventKind::Exit { status } => match status {
            // (An exit is never a stop.)
            ExitStatus::Code(_) | ExitStatus::Stopped(_) | ExitStatus::Continued => (
                format!(
                    "exit(2): {me} exits with status {}; the kernel closes all its fds.",
                    status.shell_status()
                ),
                man("exit(2)"),
            ),
            ExitStatus::Signaled(s) => (
                format!(
                    "signal(7): {s}'s default action kills {me}: it is killed by {s}, its fds are closed, and a shell shows status {} (128 + {}).",
                    128 + s.number(),
                    s.number()
                ),
                man("signal(7)"),
            ),
        },
        EventKind::TcpState { sock, from, to } => (
            format!("tcp(7): {sock} goes from {} to {}.", from.name(), to.name()),
            man("tcp(7)"),
        ),
        EventKind::Reset { from, to } => (
            format!("tcp(7): {from} sends a RST to {to}: the connection is torn down."),
            man("tcp(7)"),
        ),
        EventKind::Dropped { bytes, object } => (
            format!(
                "pipe(7): the last process that had {object} open closed it: the {} still in it are thrown away.",
                plural(*bytes, "unread byte")
            ),
            man("pipe(7)"),
        ),
        EventKind::Input { terminal, bytes } => (
            format!(
                "You type {} into terminal {terminal}.",
                plural(*bytes, "byte")
            ),
            None,
        ),
    };
    Some(out)
}

/// `127.0.0.1:7000` from a traced `bind(fd, {... sin_port=htons(7000),
/// sin_addr=inet_addr("127.0.0.1")}, 16)`.
fn bound_address(text: &str) -> Option<String> {
    let port = text.split_once("htons(")?.1.split(')').next()?;
    let ip = text.split_once("inet_addr(\"")?.1.split('"').next()?;
    Some(format!("{ip}:{port}"))
}

fn event_resumed(e: &Event) -> bool {
    matches!(e.kind, EventKind::Syscall { resumed: true, .. })
}

fn fd_of(e: &Event) -> String {
    match &e.kind {
        EventKind::Syscall { fd: Some(fd), .. } => fd.to_string(),
        _ => "?".to_string(),
    }
}

/// How much an event matters to the story, for choosing what a step says first.
fn weight(e: &Event) -> u8 {
    match &e.kind {
        EventKind::Syscall { .. } | EventKind::Blocked { .. } => 2,
        // A parent's SIGCHLD is routine: told only when nothing else happened.
        EventKind::Signal {
            signal: Signal::SIGCHLD,
            ..
        } => 1,
        EventKind::Signal { .. } => 3,
        EventKind::Exit { .. } | EventKind::Stopped { .. } => 3,
        EventKind::Reset { .. } | EventKind::Dropped { .. } => 2,
        EventKind::Spawn { .. } | EventKind::Input { .. } => 1,
        EventKind::TcpState { .. } => 0,
    }
}

/// The narration of one step: `events` are that step's events, `after` the snapshot
/// taken once it ran. The step's call comes first, then a signal or an exit it
/// caused; TCP state changes are told only when nothing else happened.
pub fn narrate(step: u64, events: &[Event], after: Option<&Snapshot>) -> Narration {
    let key = events.iter().any(is_key);
    let mut told: Vec<(String, Option<String>)> = Vec::new();
    let top = events.iter().map(weight).max().unwrap_or(0);
    // The call first, then the signal it raised, then the death it caused (the
    // trace has them in that order already; other processes' events in the same
    // step, such as a parent's SIGCHLD, come after).
    let mut ordered: Vec<&Event> = events.iter().collect();
    ordered.sort_by_key(|e| match e.kind {
        EventKind::Syscall { .. } | EventKind::Blocked { .. } => 0,
        EventKind::Signal { .. } => 1,
        EventKind::Exit { .. } => 2,
        _ => 3,
    });
    // A death by signal is told once: the exit sentence says the default action
    // killed it, so the signal's own sentence is left out.
    let killed: Vec<Option<Pid>> = events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::Exit {
                    status: ExitStatus::Signaled(_)
                }
            )
        })
        .map(|e| e.pid)
        .collect();
    for e in ordered {
        if matches!(
            e.kind,
            EventKind::Signal {
                disposition: Disposition::Default,
                ..
            }
        ) && killed.contains(&e.pid)
        {
            continue;
        }
        let w = weight(e);
        // Calls, signals and exits always; the rest only when they are the whole story.
        if (w >= 2 || w == top)
            && let Some(t) = narrate_event(e, after)
        {
            told.push(t);
        }
        if told.len() == 3 {
            break;
        }
    }
    if told.is_empty() {
        return Narration {
            step,
            text: "Nothing visible happens in this step.".to_string(),
            man: None,
            key,
        };
    }
    if let Some(t) = over_read(events, after) {
        told.push((t, None));
    }
    let man = told.iter().find_map(|(_, m)| m.clone());
    let text = told
        .into_iter()
        .map(|(t, _)| t)
        .collect::<Vec<_>>()
        .join(" ");
    Narration {
        step,
        text,
        man,
        key,
    }
}

/// When a process sends bytes that its last copy took from across several
/// regions of its memory (the Heartbleed server's reply), the sentence that
/// says so: the page shows that memory, and this is the moment it matters.
fn over_read(events: &[Event], after: Option<&Snapshot>) -> Option<String> {
    let snap = after?;
    events.iter().find_map(|e| {
        let EventKind::Syscall {
            name: "write" | "sendto",
            bytes: Some(n),
            object,
            ..
        } = &e.kind
        else {
            return None;
        };
        if *n == 0 || object_kind_in(object.as_deref(), Some(snap)) != ObjectKind::Socket {
            return None;
        }
        let p = snap.processes.iter().find(|p| Some(p.pid) == e.pid)?;
        let memory = p.memory.as_ref()?;
        let read = memory.last_read.as_ref()?;
        let crossed: Vec<&str> = memory
            .regions
            .iter()
            .filter(|r| r.start < read.start + read.len && read.start < r.start + r.len)
            .map(|r| r.label.as_str())
            .collect();
        let (first, rest) = crossed.split_first()?;
        (!rest.is_empty()).then(|| {
            format!(
                "They were copied from its memory: {} bytes from offset {}, starting in its {first} \
                 and running on into its {}. Nothing checked the length the request claimed: a buffer \
                 over-read, the Heartbleed bug (CVE-2014-0160).",
                read.len,
                read.start,
                rest.join(" and its ")
            )
        })
    })
}

/// Narrates every step of a trace whose events are in step order (the page's
/// whole-run view), with no snapshot: processes are named by pid alone.
pub fn narrate_trace(events: &[Event]) -> Vec<Narration> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let step = events[i].step;
        let j = events[i..]
            .iter()
            .position(|e| e.step != step)
            .map_or(events.len(), |n| i + n);
        out.push(narrate(step, &events[i..j], None));
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::PipeId;

    fn ev(pid: Pid, kind: EventKind) -> Event {
        Event {
            step: 7,
            time_us: 0,
            pid: Some(pid),
            kind,
        }
    }

    fn write(pid: Pid, object: &str, errno: Option<Errno>, text: &str) -> Event {
        ev(
            pid,
            EventKind::Syscall {
                name: "write",
                text: text.into(),
                ret: if errno.is_some() { -1 } else { 53 },
                errno,
                fd: Some(1),
                object: Some(object.into()),
                bytes: if errno.is_some() { None } else { Some(53) },
                resumed: false,
                entered: 0,
            },
        )
    }

    #[test]
    fn a_write_into_a_pipe_without_reader_tells_epipe_then_sigpipe_kills() {
        let events = [
            write(
                12,
                "pipe:[3]",
                Some(Errno::EPIPE),
                "write(1, ...) = -1 EPIPE",
            ),
            ev(
                12,
                EventKind::Signal {
                    signal: Signal::SIGPIPE,
                    from: None,
                    disposition: Disposition::Default,
                    child: None,
                },
            ),
        ];
        let n = narrate(7, &events, None);
        assert!(n.key);
        assert_eq!(n.man.as_deref(), Some("write(2)"));
        assert!(
            n.text.contains("no process has open for reading"),
            "{}",
            n.text
        );
        assert!(n.text.contains("default action kills"), "{}", n.text);
    }

    fn syscall(
        pid: Pid,
        name: &'static str,
        fd: Option<crate::kernel::Fd>,
        errno: Option<Errno>,
        text: &str,
    ) -> Event {
        ev(
            pid,
            EventKind::Syscall {
                name,
                text: text.into(),
                ret: if errno.is_some() { -1 } else { 0 },
                errno,
                fd,
                object: None,
                bytes: None,
                resumed: false,
                entered: 0,
            },
        )
    }

    #[test]
    fn socats_log_pair_poll_mask_and_error_queue_read_are_told_plainly() {
        let told = |e: Event| narrate_event(&e, None).unwrap().0;
        assert_eq!(
            told(syscall(
                9,
                "recvfrom",
                Some(3),
                Some(Errno::EAGAIN),
                "recvfrom(3, 0x7ffd46f75be0, 519, MSG_DONTWAIT, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)"
            )),
            "recv(2): pid 9 looks on fd 3 for a message without waiting (MSG_DONTWAIT): none has come, so EAGAIN."
        );
        assert_eq!(
            told(syscall(
                9,
                "rt_sigprocmask",
                None,
                None,
                "rt_sigprocmask(SIG_BLOCK, [CHLD], NULL, 8) = 0"
            )),
            "sigprocmask(2): pid 9 blocks signals; a blocked signal waits, pending, until it is unblocked: rt_sigprocmask(SIG_BLOCK, [CHLD], NULL, 8) = 0."
        );
        assert_eq!(
            told(syscall(
                9,
                "rt_sigprocmask",
                None,
                None,
                "rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0"
            )),
            "sigprocmask(2): pid 9 sets the blocked signals; a blocked signal waits, pending, until it is unblocked: rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0."
        );
        assert_eq!(
            told(syscall(
                9,
                "rt_sigprocmask",
                None,
                None,
                "rt_sigprocmask(SIG_BLOCK, NULL, [CHLD], 8) = 0"
            )),
            "sigprocmask(2): pid 9 reads the blocked signals; a blocked signal waits, pending, until it is unblocked: rt_sigprocmask(SIG_BLOCK, NULL, [CHLD], 8) = 0."
        );
        assert_eq!(
            told(syscall(
                9,
                "recvmsg",
                Some(5),
                Some(Errno::EAGAIN),
                "recvmsg(5, {msg_namelen=112}, MSG_TRUNC|MSG_ERRQUEUE) = -1 EAGAIN (Resource temporarily unavailable)"
            )),
            "recvmsg(2): pid 9 reads the socket's error queue for details of what went wrong (MSG_ERRQUEUE): it is empty, EAGAIN."
        );
        assert_eq!(
            told(syscall(
                9,
                "shutdown",
                Some(6),
                None,
                "shutdown(6, SHUT_RDWR) = 0"
            )),
            "shutdown(2): pid 9 shuts down both halves of its connection: it sends no more (the peer will read EOF) and receives no more."
        );
    }

    #[test]
    fn an_ignored_sigpipe_is_told_as_ignored() {
        let e = ev(
            12,
            EventKind::Signal {
                signal: Signal::SIGPIPE,
                from: None,
                disposition: Disposition::Ignore,
                child: None,
            },
        );
        let (t, _) = narrate_event(&e, None).unwrap();
        assert!(t.contains("ignores SIGPIPE, so nothing happens"), "{t}");
    }

    #[test]
    fn a_blocked_pipe_read_says_a_writer_still_has_it_open() {
        let e = ev(
            7,
            EventKind::Blocked {
                name: "read",
                text: "read(0,".into(),
                on: vec![WaitKey::Pipe(PipeId(3))],
            },
        );
        let n = narrate(7, &[e], None);
        assert!(!n.key);
        assert_eq!(
            n.text,
            "read(2): pid 7 waits: the pipe is empty and a writer still has it open."
        );
    }

    #[test]
    fn a_death_by_signal_and_an_exit_are_key_a_prompt_is_not() {
        let killed = ev(
            12,
            EventKind::Exit {
                status: ExitStatus::Signaled(Signal::SIGPIPE),
            },
        );
        assert!(is_key(&killed));
        let (t, _) = narrate_event(&killed, None).unwrap();
        assert!(t.contains("killed by SIGPIPE") && t.contains("141"), "{t}");
        let prompt = write(3, "/dev/pts/0", None, "write(2, \"$ \", 2) = 2");
        assert!(!is_key(&prompt));
        let output = write(9, "/dev/pts/1", None, "write(1, \"hello\\n\", 6) = 6");
        assert!(is_key(&output));
    }

    fn at(step: u64, event: Event) -> Event {
        Event { step, ..event }
    }

    fn output(pid: Pid) -> Event {
        write(pid, "/dev/pts/0", None, "write(1, \"x\\n\", 2) = 2")
    }

    fn exited(pid: Pid) -> Event {
        ev(
            pid,
            EventKind::Exit {
                status: ExitStatus::Code(0),
            },
        )
    }

    #[test]
    fn a_loop_that_writes_the_same_output_over_and_over_is_one_stop() {
        let mut trace: Vec<Event> = (0..20).map(|i| at(10 + 3 * i, output(3))).collect();
        // Then something else happens: the button goes there next.
        trace.push(at(
            100,
            write(
                3,
                "pipe:[2]",
                Some(Errno::EPIPE),
                "write(1, \"x\", 1) = -1 EPIPE",
            ),
        ));
        assert!(trace.iter().all(is_key));
        assert_eq!(key_stops(&trace), [11, 101]);
    }

    #[test]
    fn a_forking_loop_s_turns_are_one_stop_each_moment_of_the_first_turn_stays() {
        // Each turn a new child writes and exits: a body of two moments, new pids.
        let mut trace = Vec::new();
        for turn in 0..10 {
            trace.push(at(10 * turn + 1, output(100 + turn as Pid)));
            trace.push(at(10 * turn + 2, exited(100 + turn as Pid)));
        }
        assert_eq!(key_stops(&trace), [2, 3]);
    }

    #[test]
    fn a_few_repetitions_are_each_a_stop() {
        // Three clients served in turn, as the lessons have them: every moment stays.
        let mut trace = Vec::new();
        for turn in 0..(LOOP_TURNS_MIN as u64 - 1) {
            trace.push(at(10 * turn + 1, output(100 + turn as Pid)));
            trace.push(at(10 * turn + 2, exited(100 + turn as Pid)));
        }
        let every: Vec<u64> = trace.iter().map(|e| e.step + 1).collect();
        assert_eq!(key_stops(&trace), every);
        // Events that are not key are never stops.
        let prompt = at(90, write(3, "/dev/pts/0", None, "write(2, \"$ \", 2) = 2"));
        assert_eq!(key_stops(&[prompt]), Vec::<u64>::new());
    }

    fn socket_call(name: &'static str, text: &str, errno: Option<Errno>) -> Event {
        ev(
            4,
            EventKind::Syscall {
                name,
                text: text.into(),
                ret: if errno.is_some() { -1 } else { 5 },
                errno,
                fd: Some(4),
                object: Some("socket:[2]".into()),
                bytes: if errno.is_some() { None } else { Some(5) },
                resumed: false,
                entered: 0,
            },
        )
    }

    #[test]
    fn recv_and_send_are_told_with_their_man_pages() {
        let r = socket_call(
            "recvfrom",
            "recvfrom(4, \"ping\\n\", 4096, 0, NULL, NULL) = 5",
            None,
        );
        let (t, m) = narrate_event(&r, None).unwrap();
        assert_eq!(
            t,
            "recv(2): pid 4 receives 5 bytes from its socket socket:[2]."
        );
        assert_eq!(m.as_deref(), Some("recv(2)"));
        let s = socket_call("sendto", "sendto(4, \"ping\\n\", 5, 0, NULL, 0) = 5", None);
        let (t, m) = narrate_event(&s, None).unwrap();
        assert_eq!(
            t,
            "send(2): pid 4 sends 5 bytes on its socket socket:[2]; the kernel queues them for the peer."
        );
        assert_eq!(m.as_deref(), Some("send(2)"));
    }

    #[test]
    fn a_plain_send_into_a_reset_connection_raises_sigpipe_and_msg_nosignal_does_not() {
        let plain = socket_call(
            "sendto",
            "sendto(4, \"x\", 1, 0, NULL, 0) = -1 EPIPE (Broken pipe)",
            Some(Errno::EPIPE),
        );
        let (t, _) = narrate_event(&plain, None).unwrap();
        assert!(t.contains("the kernel sends the writer SIGPIPE"), "{t}");
        let nosig = socket_call(
            "sendto",
            "sendto(4, \"x\", 1, MSG_NOSIGNAL, NULL, 0) = -1 EPIPE (Broken pipe)",
            Some(Errno::EPIPE),
        );
        let (t, _) = narrate_event(&nosig, None).unwrap();
        assert!(t.contains("MSG_NOSIGNAL: no SIGPIPE"), "{t}");
    }

    #[test]
    fn bind_names_the_address_and_so_reuseaddr_is_explained() {
        let b = socket_call(
            "bind",
            "bind(3, {sa_family=AF_INET, sin_port=htons(7000), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = 0",
            None,
        );
        let (t, _) = narrate_event(&b, None).unwrap();
        assert!(
            t.starts_with("bind(2): pid 4 binds its socket to 127.0.0.1:7000"),
            "{t}"
        );
        let o = socket_call(
            "setsockopt",
            "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0",
            None,
        );
        let (t, m) = narrate_event(&o, None).unwrap();
        assert!(t.contains("TIME_WAIT"), "{t}");
        assert_eq!(m.as_deref(), Some("socket(7)"));
    }

    #[test]
    fn narration_is_deterministic_and_one_per_step() {
        let events = [
            write(3, "/dev/pts/0", None, "write(1, \"a\", 1) = 1"),
            Event {
                step: 8,
                ..write(3, "pipe:[2]", None, "write(1, \"a\", 1) = 1")
            },
        ];
        let a = narrate_trace(&events);
        assert_eq!(a, narrate_trace(&events));
        assert_eq!(a.iter().map(|n| n.step).collect::<Vec<_>>(), [7, 8]);
    }
}
