//! A snapshot of the whole world at one step: what the page's diagram draws and
//! what `pipelab-sim` prints. Plain data, JSON-friendly, in a stable order.

use serde::Serialize;

use crate::kernel::fs::Object;
use crate::kernel::net::TcpState;
use crate::kernel::pipe::PIPE_CAPACITY;
use crate::kernel::process::{ExitStatus, Memory, Region, State};
use crate::kernel::{Fd, Kernel, Micros, Pid, Signal};
use crate::sys::describe_object;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub step: u64,
    pub time_us: Micros,
    pub processes: Vec<ProcessView>,
    pub pipes: Vec<PipeView>,
    pub sockets: Vec<SocketView>,
    pub terminals: Vec<TerminalView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessView {
    pub pid: Pid,
    pub ppid: Pid,
    pub pgid: Pid,
    pub argv: Vec<String>,
    /// `running`, `blocked`, `exited` or `killed`.
    pub state: &'static str,
    /// The call it is blocked in, as strace would show it.
    /// The call it is blocked in, or the signal that stopped it.
    pub blocked_in: Option<String>,
    pub exit_code: Option<i32>,
    pub killed_by: Option<Signal>,
    pub fds: Vec<FdView>,
    /// Signals it ignores (`SigIgn`), by name.
    pub ignores: Vec<Signal>,
    /// The memory the program chose to show, if any.
    pub memory: Option<MemoryView>,
    /// Resident set size in KiB, measured on the real program; `None` if unknown.
    pub rss_kb: Option<u32>,
}

/// A program's published memory: `{"bytes":[104,...],"regions":[{"start":0,
/// "len":32,"label":"request buffer"}],"lastRead":{"start":3,"len":64,
/// "label":"heartbeat reply"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryView {
    pub bytes: Vec<u8>,
    pub regions: Vec<RegionView>,
    pub last_read: Option<RegionView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionView {
    pub start: usize,
    pub len: usize,
    pub label: String,
}

impl From<&Region> for RegionView {
    fn from(r: &Region) -> RegionView {
        RegionView {
            start: r.start,
            len: r.len,
            label: r.label.clone(),
        }
    }
}

impl From<&Memory> for MemoryView {
    fn from(m: &Memory) -> MemoryView {
        MemoryView {
            bytes: m.bytes.clone(),
            regions: m.regions.iter().map(RegionView::from).collect(),
            last_read: m.last_read.as_ref().map(RegionView::from),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FdView {
    pub fd: Fd,
    /// `pipe:[3]`, `socket:[2]`, `/tmp/f`, `/dev/pts/0`.
    pub object: String,
    pub read: bool,
    pub write: bool,
    pub cloexec: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipeView {
    pub id: u32,
    /// `pipe:[3]`, or the FIFO's path.
    pub name: String,
    pub buffered: usize,
    pub capacity: usize,
    pub readers: u32,
    pub writers: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SocketView {
    pub id: u32,
    pub state: &'static str,
    pub local: Option<String>,
    pub remote: Option<String>,
    pub peer: Option<u32>,
    /// Bytes received, not yet read.
    pub queued: usize,
    /// Connections waiting for `accept` (listeners).
    pub accept_queue: usize,
    pub backlog: u32,
    /// No fd refers to it any more.
    pub orphan: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminalView {
    pub output: String,
    pub dropped_bytes: u64,
}

impl Snapshot {
    pub fn of(k: &Kernel) -> Snapshot {
        let processes = k
            .procs
            .values()
            .filter(|p| p.pid != crate::kernel::INIT_PID)
            .map(|p| {
                let (state, blocked_in) = match &p.state {
                    State::Runnable => ("running", None),
                    State::Stopped { signal } => ("stopped", Some(signal.to_string())),
                    State::Blocked { call, .. } => ("blocked", Some(format!("{call} ...)"))),
                    State::Zombie | State::Reaped => match p.exit {
                        Some(ExitStatus::Signaled(_)) => ("killed", None),
                        _ => ("exited", None),
                    },
                };
                ProcessView {
                    pid: p.pid,
                    ppid: p.ppid,
                    pgid: p.pgid,
                    argv: p.argv.clone(),
                    state,
                    blocked_in,
                    exit_code: match p.exit {
                        Some(ExitStatus::Code(c)) => Some(c),
                        _ => None,
                    },
                    killed_by: match p.exit {
                        Some(ExitStatus::Signaled(s)) => Some(s),
                        _ => None,
                    },
                    fds: p
                        .fds
                        .iter()
                        .map(|(fd, e)| {
                            let f = k.file(e.file);
                            FdView {
                                fd: *fd,
                                object: describe_object(k, e.file).to_string(),
                                read: f.flags.read,
                                write: f.flags.write,
                                cloexec: e.cloexec,
                            }
                        })
                        .collect(),
                    ignores: Signal::ALL
                        .iter()
                        .copied()
                        .filter(|s| p.signals.disposition(*s) == crate::kernel::Disposition::Ignore)
                        .collect(),
                    memory: p.memory.as_ref().map(MemoryView::from),
                    rss_kb: p.rss_kb,
                }
            })
            .collect();
        let pipes = k
            .pipes
            .iter()
            .map(|(id, p)| {
                let fifo = k.files.values().find_map(|f| match f.object {
                    Object::Pipe {
                        pipe,
                        fifo: Some(_),
                        ..
                    } if pipe == *id => f.path.clone(),
                    _ => None,
                });
                PipeView {
                    id: id.0,
                    name: fifo.unwrap_or_else(|| format!("pipe:[{}]", id.0)),
                    buffered: p.len(),
                    capacity: PIPE_CAPACITY,
                    readers: p.readers,
                    writers: p.writers,
                }
            })
            .collect();
        let sockets = k
            .sockets
            .iter()
            // Neither socat's private pair nor a closed socket nobody holds.
            .filter(|(_, s)| !(s.unix || s.orphan && s.state == TcpState::Close))
            .map(|(id, s)| SocketView {
                id: id.0,
                state: s.state.name(),
                local: s.local.map(|a| address(a, s.v6)),
                remote: s.remote.map(|a| address(a, s.v6)),
                peer: s.peer.map(|p| p.0),
                queued: s.rx.len(),
                accept_queue: s.accept_queue.len(),
                backlog: s.backlog,
                orphan: s.orphan,
            })
            .collect();
        let terminals = k
            .terminals
            .iter()
            .map(|t| TerminalView {
                output: String::from_utf8_lossy(&t.output).into_owned(),
                dropped_bytes: t.dropped,
            })
            .collect();
        Snapshot {
            step: k.step,
            time_us: k.now,
            processes,
            pipes,
            sockets,
            terminals,
        }
    }
}

/// An address as `ss` shows it: `127.0.0.1:6000`, or on a dual-stack AF_INET6
/// socket `[::]:6000` and `[::ffff:127.0.0.1]:6000`.
fn address(a: std::net::SocketAddrV4, v6: bool) -> String {
    if v6 {
        format!("[{}]:{}", crate::sys::v6_text(*a.ip()), a.port())
    } else {
        a.to_string()
    }
}
