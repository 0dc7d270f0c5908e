//! The trace: every step as a typed event, and a printer that reads like
//! `strace -f`.

use std::cell::OnceCell;
use std::fmt;
use std::rc::Rc;

use serde::{Serialize, Serializer};

use crate::kernel::net::TcpState;
use crate::kernel::process::ExitStatus;
use crate::kernel::{Disposition, Errno, Fd, Micros, Pid, Signal, SockId, WaitKey, strace_bytes};

/// Something that happened, at a step and a virtual time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub step: u64,
    pub time_us: Micros,
    pub pid: Option<Pid>,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum EventKind {
    /// A syscall returned. `text` is the whole strace line after the pid.
    #[serde(rename_all = "camelCase")]
    Syscall {
        name: &'static str,
        text: StraceText,
        /// The return value: -1 on error.
        ret: i64,
        errno: Option<Errno>,
        fd: Option<Fd>,
        /// The kernel object it acted on (`pipe3`, `sock2`, `/tmp/f`), if any.
        object: Option<Rc<str>>,
        /// Bytes moved by a read or write.
        bytes: Option<u64>,
        /// It had blocked first (strace's `<... resumed>`).
        resumed: bool,
        /// How much of `text` strace printed when the call blocked (the
        /// [`EventKind::Blocked`] text, before `<unfinished ...>`): the
        /// `<... resumed>` line prints only the rest. 0 unless `resumed`.
        #[serde(skip)]
        entered: usize,
    },
    /// A syscall found nothing to do and parked its caller.
    #[serde(rename_all = "camelCase")]
    Blocked {
        name: &'static str,
        text: String,
        on: Vec<WaitKey>,
    },
    /// A new process (fork, or a terminal's shell).
    Spawn { parent: Pid },
    /// A signal was generated for `pid`.
    Signal {
        signal: Signal,
        from: Option<Pid>,
        disposition: Disposition,
        /// SIGCHLD: how the child `from` ended, or that it stopped or went on
        /// (the siginfo's `si_code`; the page reads it in the strace line
        /// only).
        #[serde(skip)]
        child: Option<ExitStatus>,
    },
    /// A stop signal stopped the process.
    Stopped { signal: Signal },
    /// The process ended.
    Exit { status: ExitStatus },
    TcpState {
        sock: SockId,
        from: TcpState,
        to: TcpState,
    },
    /// A connection was reset: `from` sent RST to `to`.
    Reset { from: SockId, to: SockId },
    /// Unread bytes were thrown away (a FIFO's last close).
    Dropped { bytes: u64, object: String },
    /// Someone typed into a terminal.
    Input { terminal: u32, bytes: u64 },
}

impl Event {
    /// The line `strace -f` would print for this event, if it prints one.
    pub fn strace_line(&self) -> Option<String> {
        let pid = self.pid.unwrap_or(0);
        let body = match &self.kind {
            EventKind::Syscall {
                name,
                text,
                resumed,
                entered,
                ..
            } => {
                if *resumed {
                    // strace printed the arguments known at entry (`read(4, `)
                    // before `<unfinished ...>`; the rest comes on resumption:
                    // `<... read resumed>"data", 4096) = 4`.
                    let rest = text.get(*entered..).unwrap_or(text);
                    format!("<... {name} resumed>{rest}")
                } else {
                    text.to_string()
                }
            }
            EventKind::Blocked { text, .. } => format!("{text} <unfinished ...>"),
            EventKind::Signal {
                signal,
                from,
                child,
                ..
            } => {
                // A child's end is reported by the kernel: CLD_EXITED, or
                // CLD_KILLED with the signal as si_status (CLD_DUMPED only when
                // a core is written, and `ulimit -c` is 0 here: a SIGSEGV or
                // SIGQUIT death is CLD_KILLED too); so is its stop or going on.
                // A terminal's Ctrl-C comes from the kernel with no sender
                // (SI_KERNEL); the rest from kill(2) or the process's own write
                // (SI_USER).
                let (code, status) = match (child, from) {
                    (Some(ExitStatus::Stopped(s)), _) => ("CLD_STOPPED", Some(*s)),
                    (Some(ExitStatus::Continued), _) => ("CLD_CONTINUED", Some(Signal::SIGCONT)),
                    (Some(ExitStatus::Signaled(s)), _) => ("CLD_KILLED", Some(*s)),
                    (Some(ExitStatus::Code(_)), _) => ("CLD_EXITED", None),
                    (None, Some(_)) => ("SI_USER", None),
                    (None, None) if *signal == Signal::SIGPIPE => ("SI_USER", None),
                    (None, None) => {
                        return Some(format!(
                            "{pid:<5} --- {signal} {{si_signo={signal}, si_code=SI_KERNEL}} ---"
                        ));
                    }
                };
                let sender = from.unwrap_or(pid);
                let status = status
                    .map(|s| format!(", si_status={s}"))
                    .unwrap_or_default();
                format!(
                    "--- {signal} {{si_signo={signal}, si_code={code}, si_pid={sender}{status}}} ---"
                )
            }
            EventKind::Stopped { signal } => format!("--- stopped by {signal} ---"),
            EventKind::Exit { status } => match status {
                ExitStatus::Signaled(s) => format!("+++ killed by {s} +++"),
                _ => format!("+++ exited with {} +++", status.shell_status()),
            },
            _ => return None,
        };
        Some(format!("{pid:<5} {body}"))
    }
}

/// A syscall's strace text (`write(1, "hi\n", 3) = 3`), made the first time it is
/// read. The calls most runs are made of (`read`, `write`) keep the few bytes
/// strace shows instead of a formatted line: a run that nobody reads the trace of
/// never formats it, and formatting was a quarter of a step. It reads as a `str`
/// and serializes, compares and prints as the text.
#[derive(Clone)]
pub struct StraceText {
    text: OnceCell<Box<str>>,
    raw: RawText,
}

/// What a [`StraceText`] is made from.
#[derive(Clone)]
enum RawText {
    /// Formatted when the call finished.
    Formatted,
    /// `read(fd, "data", count) = n`, or `read(fd, 0x7ffd..., count) = -1 E (..)`.
    Read {
        fd: Fd,
        count: usize,
        got: Result<Shown, Errno>,
    },
    /// `write(fd, "data", len) = n` (`name` and `flags` for `sendto`).
    Write {
        name: &'static str,
        fd: Fd,
        data: Shown,
        flags: &'static str,
        ret: Result<usize, Errno>,
    },
}

/// The bytes strace shows of a buffer: the first [`Shown::MAX`], and its length.
#[derive(Clone)]
struct Shown {
    head: [u8; Shown::MAX],
    /// The buffer's whole length (a read or write moves at most a few MiB).
    len: u32,
}

impl Shown {
    /// strace's default `-s 32`.
    const MAX: usize = 32;

    fn of(data: &[u8]) -> Shown {
        let mut head = [0; Shown::MAX];
        let n = data.len().min(Shown::MAX);
        head[..n].copy_from_slice(&data[..n]);
        Shown {
            head,
            len: u32::try_from(data.len()).unwrap_or(u32::MAX),
        }
    }

    /// As [`strace_bytes`] prints the whole buffer.
    fn text(&self) -> String {
        let n = (self.len as usize).min(Shown::MAX);
        let mut s = strace_bytes(&self.head[..n]);
        if self.len as usize > Shown::MAX {
            s.push_str("...");
        }
        s
    }
}

impl StraceText {
    /// `read(2)`'s line: `got` is the data read, or the error.
    pub fn read(fd: Fd, count: usize, got: Result<&[u8], Errno>) -> StraceText {
        StraceText::raw(RawText::Read {
            fd,
            count,
            got: got.map(Shown::of),
        })
    }

    /// `write(2)`'s line, or `sendto`'s with its `flags` text.
    pub fn write(
        name: &'static str,
        fd: Fd,
        data: &[u8],
        flags: &'static str,
        ret: Result<usize, Errno>,
    ) -> StraceText {
        StraceText::raw(RawText::Write {
            name,
            fd,
            data: Shown::of(data),
            flags,
            ret,
        })
    }

    fn raw(raw: RawText) -> StraceText {
        StraceText {
            text: OnceCell::new(),
            raw,
        }
    }

    pub fn as_str(&self) -> &str {
        self.text.get_or_init(|| {
            let text = match &self.raw {
                RawText::Formatted => unreachable!("a formatted text is set when made"),
                RawText::Read { fd, count, got } => match got {
                    Ok(d) => format!("read({fd}, {}, {count}) = {}", d.text(), d.len),
                    // Nothing was read: strace shows the buffer's address.
                    Err(e) => format!("read({fd}, {STACK_ADDRESS}, {count}) = -1 {e}"),
                },
                RawText::Write {
                    name,
                    fd,
                    data,
                    flags,
                    ret,
                } => {
                    let (shown, len) = (data.text(), data.len);
                    match ret {
                        Ok(n) => format!("{name}({fd}, {shown}, {len}{flags}) = {n}"),
                        Err(e) => format!("{name}({fd}, {shown}, {len}{flags}) = -1 {e}"),
                    }
                }
            };
            text.into_boxed_str()
        })
    }
}

/// A pointer into the caller's stack as strace prints one: the simulation has no
/// address space, so every such pointer is this one.
pub(crate) const STACK_ADDRESS: &str = "0x7ffd46f75be0";

impl From<String> for StraceText {
    fn from(text: String) -> StraceText {
        StraceText {
            text: OnceCell::from(text.into_boxed_str()),
            raw: RawText::Formatted,
        }
    }
}

impl From<&str> for StraceText {
    fn from(text: &str) -> StraceText {
        StraceText::from(text.to_string())
    }
}

impl std::ops::Deref for StraceText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for StraceText {
    fn eq(&self, other: &StraceText) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for StraceText {}

impl fmt::Debug for StraceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for StraceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for StraceText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The whole trace as `strace -f -tt` text: pid, virtual wall-clock time, call.
///
/// As strace does, a call that blocked prints as one whole line (at the time it
/// was entered) when no other line came before it resumed; only an interrupted
/// one is split into `<unfinished ...>` and `<... resumed>`. (The page keeps the
/// two halves: there they are two steps, the block and the wake-up.)
pub fn strace_timed(events: &[Event]) -> String {
    let printed: Vec<(&Event, String)> = events
        .iter()
        .filter_map(|e| e.strace_line().map(|line| (e, line)))
        .collect();
    let mut out = String::new();
    let mut i = 0;
    while i < printed.len() {
        let (e, line) = &printed[i];
        let whole = match (&e.kind, printed.get(i + 1)) {
            (EventKind::Blocked { .. }, Some((next, _))) if next.pid == e.pid => match &next.kind {
                EventKind::Syscall {
                    text,
                    resumed: true,
                    ..
                } => Some(format!("{:<5} {}", e.pid.unwrap_or(0), text.as_str())),
                _ => None,
            },
            _ => None,
        };
        let line = match &whole {
            Some(whole) => {
                i += 1;
                whole
            }
            None => line,
        };
        let (pid, rest) = line.split_at(6.min(line.len()));
        let t = e.time_us;
        let (h, m, s, us) = (
            t / 3_600_000_000,
            t / 60_000_000 % 60,
            t / 1_000_000 % 60,
            t % 1_000_000,
        );
        out.push_str(&format!("{pid}{h:02}:{m:02}:{s:02}.{us:06} {rest}\n"));
        i += 1;
    }
    out
}

/// The whole trace as `strace -f` text.
pub fn strace(events: &[Event]) -> String {
    let mut out = String::new();
    for e in events {
        if let Some(line) = e.strace_line() {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: EventKind) -> Event {
        Event {
            step: 1,
            time_us: 0,
            pid: Some(12),
            kind,
        }
    }

    #[test]
    fn a_death_by_sigpipe_prints_like_strace() {
        let e = ev(EventKind::Exit {
            status: ExitStatus::Signaled(Signal::SIGPIPE),
        });
        assert_eq!(e.strace_line().unwrap(), "12    +++ killed by SIGPIPE +++");
    }

    #[test]
    fn a_read_or_write_formatted_late_reads_as_if_formatted_at_once() {
        let data = b"0123456789abcdef0123456789abcdef!\n\"\t";
        let w = StraceText::write(
            "sendto",
            3,
            data,
            ", MSG_NOSIGNAL, NULL, 0",
            Err(Errno::EPIPE),
        );
        let want = format!(
            "sendto(3, {}, {}, MSG_NOSIGNAL, NULL, 0) = -1 {}",
            strace_bytes(data),
            data.len(),
            Errno::EPIPE
        );
        assert_eq!(&*w, want);
        assert_eq!(w, StraceText::from(want));
        let r = StraceText::read(0, 16384, Ok(b"hi\n"));
        assert_eq!(&*r, "read(0, \"hi\\n\", 16384) = 3");
        let e = StraceText::read(7, 10, Err(Errno::EBADF));
        assert_eq!(
            &*e,
            format!("read(7, {STACK_ADDRESS}, 10) = -1 {}", Errno::EBADF)
        );
    }

    /// `read(0, ...)` blocking, then returning "hi".
    fn read_blocked() -> EventKind {
        EventKind::Blocked {
            name: "read",
            text: "read(0, ".into(),
            on: Vec::new(),
        }
    }

    fn read_resumed() -> EventKind {
        EventKind::Syscall {
            name: "read",
            text: "read(0, \"hi\", 16384) = 2".into(),
            ret: 2,
            errno: None,
            fd: Some(0),
            object: None,
            bytes: Some(2),
            resumed: true,
            entered: "read(0, ".len(),
        }
    }

    #[test]
    fn a_resumed_call_prints_like_strace() {
        let e = ev(read_resumed());
        assert_eq!(
            e.strace_line().unwrap(),
            "12    <... read resumed>\"hi\", 16384) = 2"
        );
        let blocked = ev(read_blocked());
        assert_eq!(
            blocked.strace_line().unwrap(),
            "12    read(0,  <unfinished ...>"
        );
    }

    #[test]
    fn the_timed_trace_splits_a_blocked_call_only_when_another_line_comes_between() {
        let at = |t, pid, kind| Event {
            step: 1,
            time_us: t,
            pid: Some(pid),
            kind,
        };
        // Uninterrupted: one line, at the time the call was entered.
        let whole = strace_timed(&[at(5, 12, read_blocked()), at(9, 12, read_resumed())]);
        assert_eq!(whole, "12    00:00:00.000005 read(0, \"hi\", 16384) = 2\n");
        // Another process's line in between: strace's two halves.
        let exit = EventKind::Exit {
            status: ExitStatus::Code(0),
        };
        let split = strace_timed(&[
            at(5, 12, read_blocked()),
            at(7, 13, exit),
            at(9, 12, read_resumed()),
        ]);
        assert_eq!(
            split,
            "12    00:00:00.000005 read(0,  <unfinished ...>\n\
             13    00:00:00.000007 +++ exited with 0 +++\n\
             12    00:00:00.000009 <... read resumed>\"hi\", 16384) = 2\n"
        );
    }
}
