//! Readiness, for `poll(2)` and `select(2)`, with the flags measured on this
//! machine (ground truth §8.6, and TCP flags re-measured here):
//!
//! - a FIFO read end reports POLLHUP only once a writer has opened since it did;
//! - a pipe write end with no reader reports POLLOUT|POLLERR;
//! - a socket after the peer's FIN is POLLIN|POLLOUT; after a reset
//!   POLLIN|POLLOUT|POLLERR|POLLHUP; after its own SHUT_RDWR POLLIN|POLLOUT|POLLHUP;
//! - a refused non-blocking connect is POLLIN|POLLOUT|POLLERR|POLLHUP.

use serde::Serialize;

use super::fs::Object;
use super::net::TcpState;
use super::{Fd, FileId, Kernel, Pid, WaitKey};

pub const POLLIN: u16 = 0x001;
pub const POLLPRI: u16 = 0x002;
pub const POLLOUT: u16 = 0x004;
pub const POLLERR: u16 = 0x008;
pub const POLLHUP: u16 = 0x010;
pub const POLLNVAL: u16 = 0x020;

/// One entry of a `poll(2)` array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PollFd {
    /// A negative fd is skipped, as in C.
    pub fd: Fd,
    pub events: u16,
    pub revents: u16,
}

impl PollFd {
    pub fn new(fd: Fd, events: u16) -> PollFd {
        PollFd {
            fd,
            events,
            revents: 0,
        }
    }
}

/// `POLLIN|POLLHUP`, as strace prints a mask.
pub fn poll_flags(mask: u16) -> String {
    let names = [
        (POLLIN, "POLLIN"),
        (POLLPRI, "POLLPRI"),
        (POLLOUT, "POLLOUT"),
        (POLLERR, "POLLERR"),
        (POLLHUP, "POLLHUP"),
        (POLLNVAL, "POLLNVAL"),
    ];
    let parts: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| mask & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join("|")
    }
}

impl Kernel {
    /// The readiness mask of an open file, before filtering by requested events.
    pub fn readiness(&self, file: FileId) -> u16 {
        let f = self.file(file);
        match f.object {
            Object::Pipe {
                pipe, read, write, ..
            } => {
                let p = &self.pipes[&pipe];
                let mut m = 0;
                if read {
                    if !p.is_empty() {
                        m |= POLLIN;
                    }
                    if p.writers == 0 && f.w_counter_at_open != p.w_counter {
                        m |= POLLHUP;
                    }
                }
                if write {
                    if !p.is_full() {
                        m |= POLLOUT;
                    }
                    if p.readers == 0 {
                        m |= POLLERR;
                    }
                }
                m
            }
            Object::File { .. } | Object::Dir { .. } | Object::Null | Object::Zero => {
                POLLIN | POLLOUT
            }
            Object::Terminal { n } => {
                let t = &self.terminals[n as usize];
                let mut m = POLLOUT;
                if !t.input.is_empty() || t.eof_pending {
                    m |= POLLIN;
                }
                m
            }
            Object::Socket { sock } => {
                let s = self.sock(sock);
                if s.unix {
                    // Nothing is ever sent on socat's pair: writable, never readable.
                    return POLLOUT;
                }
                let mut m = 0;
                match s.state {
                    TcpState::Listen => {
                        if !s.accept_queue.is_empty() {
                            m |= POLLIN;
                        }
                        return m;
                    }
                    TcpState::SynSent => return 0,
                    // Never connected.
                    TcpState::Close if s.peer.is_none() && s.error.is_none() && !s.rcv_shutdown => {
                        return POLLOUT | POLLHUP;
                    }
                    _ => {}
                }
                if s.error.is_some() {
                    m |= POLLERR;
                }
                if (s.rcv_shutdown && s.snd_shutdown) || s.state == TcpState::Close {
                    m |= POLLHUP;
                }
                if !s.rx.is_empty() || s.rcv_shutdown {
                    m |= POLLIN;
                }
                let room = s
                    .peer
                    .map(|p| self.sock(p).rx.len() < super::net::TCP_WINDOW)
                    .unwrap_or(true);
                if room || s.snd_shutdown {
                    m |= POLLOUT;
                }
                m
            }
        }
    }

    /// The wait key that fires when `file`'s readiness may change.
    pub fn wait_key_of(&self, file: FileId) -> Option<WaitKey> {
        match self.file(file).object {
            Object::Pipe { pipe, .. } => Some(WaitKey::Pipe(pipe)),
            Object::Socket { sock } => Some(WaitKey::Socket(sock)),
            Object::Terminal { n } => Some(WaitKey::Terminal(n)),
            _ => None,
        }
    }

    /// `poll(2)` without the waiting: fills `revents`, returns how many are ready,
    /// and the keys to wait on if none is. POLLERR, POLLHUP and POLLNVAL are always
    /// reported, asked for or not.
    pub fn poll_scan(&self, pid: Pid, fds: &mut [PollFd]) -> (usize, Vec<WaitKey>) {
        let mut ready = 0;
        let mut keys = Vec::new();
        for pfd in fds.iter_mut() {
            pfd.revents = 0;
            if pfd.fd < 0 {
                continue;
            }
            let Ok(file) = self.file_of(pid, pfd.fd) else {
                pfd.revents = POLLNVAL;
                ready += 1;
                continue;
            };
            let mask = self.readiness(file);
            pfd.revents = mask & (pfd.events | POLLERR | POLLHUP);
            if pfd.revents != 0 {
                ready += 1;
            }
            if let Some(k) = self.wait_key_of(file)
                && !keys.contains(&k)
            {
                keys.push(k);
            }
        }
        // A socket's readiness also changes when its peer's buffer drains.
        let peers: Vec<WaitKey> = keys
            .iter()
            .filter_map(|k| match k {
                WaitKey::Socket(s) => self
                    .sockets
                    .get(s)
                    .and_then(|s| s.peer)
                    .map(WaitKey::Socket),
                _ => None,
            })
            .collect();
        for k in peers {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        (ready, keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_flags_print_like_strace() {
        assert_eq!(poll_flags(POLLIN | POLLHUP), "POLLIN|POLLHUP");
        assert_eq!(poll_flags(POLLOUT | POLLERR), "POLLOUT|POLLERR");
        assert_eq!(poll_flags(0), "0");
    }
}
