//! The trace: every step as a typed event, and a printer that reads like
//! `strace -f`.

use serde::Serialize;

use crate::kernel::net::TcpState;
use crate::kernel::process::ExitStatus;
use crate::kernel::{Disposition, Errno, Fd, Micros, Pid, Signal, SockId, WaitKey};

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
        text: String,
        /// The return value: -1 on error.
        ret: i64,
        errno: Option<Errno>,
        fd: Option<Fd>,
        /// The kernel object it acted on (`pipe3`, `sock2`, `/tmp/f`), if any.
        object: Option<String>,
        /// Bytes moved by a read or write.
        bytes: Option<u64>,
        /// It had blocked first (strace's `<... resumed>`).
        resumed: bool,
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
    },
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
                ..
            } => {
                if *resumed {
                    let rest = text
                        .strip_prefix(name)
                        .and_then(|t| t.strip_prefix('('))
                        .unwrap_or(text);
                    format!("<... {name} resumed>{rest}")
                } else {
                    text.clone()
                }
            }
            EventKind::Blocked { text, .. } => format!("{text} <unfinished ...>"),
            EventKind::Signal { signal, from, .. } => {
                // A child's death is reported by the kernel (CLD_EXITED); the
                // rest here come from kill(2) or the process's own write (SI_USER).
                let code = if *signal == Signal::SIGCHLD {
                    "CLD_EXITED"
                } else {
                    "SI_USER"
                };
                let sender = from.unwrap_or(pid);
                format!("--- {signal} {{si_signo={signal}, si_code={code}, si_pid={sender}}} ---")
            }
            EventKind::Exit { status } => match status {
                ExitStatus::Code(c) => format!("+++ exited with {c} +++"),
                ExitStatus::Signaled(s) => format!("+++ killed by {s} +++"),
            },
            _ => return None,
        };
        Some(format!("{pid:<5} {body}"))
    }
}

/// The whole trace as `strace -f -tt` text: pid, virtual wall-clock time, call.
pub fn strace_timed(events: &[Event]) -> String {
    let mut out = String::new();
    for e in events {
        if let Some(line) = e.strace_line() {
            let (pid, rest) = line.split_at(6.min(line.len()));
            let t = e.time_us;
            let (h, m, s, us) = (
                t / 3_600_000_000,
                t / 60_000_000 % 60,
                t / 1_000_000 % 60,
                t % 1_000_000,
            );
            out.push_str(&format!("{pid}{h:02}:{m:02}:{s:02}.{us:06} {rest}\n"));
        }
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
    fn a_resumed_call_prints_like_strace() {
        let e = ev(EventKind::Syscall {
            name: "read",
            text: "read(0, \"hi\", 16384) = 2".into(),
            ret: 2,
            errno: None,
            fd: Some(0),
            object: None,
            bytes: Some(2),
            resumed: true,
        });
        assert_eq!(
            e.strace_line().unwrap(),
            "12    <... read resumed>0, \"hi\", 16384) = 2"
        );
    }
}
