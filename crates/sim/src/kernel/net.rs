//! Loopback TCP: `socket(2)`, `bind(2)`, `listen(2)`, `accept(2)`, `connect(2)`,
//! `send(2)`/`recv(2)`, `shutdown(2)`, and what a close does to the peer.
//!
//! Simplifications, each with what Linux does and how to lift it:
//! - Segments arrive the instant they are sent: on loopback the handshake, data and
//!   FIN are processed within the sender's syscall, so no in-flight state is kept.
//!   A non-blocking `connect` still answers EINPROGRESS, as Linux does (measured).
//! - Each direction has one buffer, the receiver's, of [`TCP_WINDOW`] bytes. Linux
//!   has a send and a receive buffer per socket and autotunes them; on this machine
//!   a sender with no reader could queue about 3.9 MB before EAGAIN. Lifting it
//!   means a send queue per socket and a window.
//! - TIME_WAIT lasts [`TIME_WAIT_US`] and never blocks a `bind` (both netcats and
//!   http.server set SO_REUSEADDR, which allows it).
//! - Only IPv4, only 127.0.0.0/8 and 0.0.0.0; no UDP.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

use serde::Serialize;

use super::{Attempt, Errno, Fd, Kernel, Micros, Pid, SockId, SysResult, Timer, Wait, WaitKey};
use crate::kernel::fs::{Object, OpenFlags};
use crate::trace::EventKind;

/// Bytes one direction of a connection holds before the sender blocks.
pub const TCP_WINDOW: usize = 4 << 20;
/// `net.core.somaxconn`: the most a `listen` backlog can be.
pub const SOMAXCONN: u32 = 4096;
/// Ephemeral ports, `net.ipv4.ip_local_port_range` = 32768 60999.
pub const EPHEMERAL_PORTS: std::ops::RangeInclusive<u16> = 32768..=60999;
/// `TCP_TIMEOUT_INIT`: the first SYN retransmit comes after 1 s, then doubles.
pub const SYN_RETRANSMIT_US: Micros = 1_000_000;
/// `net.ipv4.tcp_syn_retries` = 6: after that the connect fails with ETIMEDOUT.
pub const TCP_SYN_RETRIES: u32 = 6;
/// `TCP_TIMEWAIT_LEN`.
pub const TIME_WAIT_US: Micros = 60_000_000;

/// TCP states, as `ss` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum TcpState {
    /// A socket that was never connected, or is done.
    Close,
    Listen,
    SynSent,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    LastAck,
    Closing,
    TimeWait,
}

impl TcpState {
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Close => "CLOSE",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN-SENT",
            TcpState::Established => "ESTAB",
            TcpState::FinWait1 => "FIN-WAIT-1",
            TcpState::FinWait2 => "FIN-WAIT-2",
            TcpState::CloseWait => "CLOSE-WAIT",
            TcpState::LastAck => "LAST-ACK",
            TcpState::Closing => "CLOSING",
            TcpState::TimeWait => "TIME-WAIT",
        }
    }
}

/// A TCP socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Socket {
    /// An AF_INET6 socket. The simulated network is IPv4 only; a v6 socket bound
    /// to `::` is dual-stack (as `net.ipv6.bindv6only=0` makes it) and sees its IPv4
    /// peers as `::ffff:a.b.c.d`, so only how its addresses print differs.
    pub v6: bool,
    /// One end of a `socketpair(AF_UNIX, SOCK_DGRAM)`. Only socat makes one, for
    /// its own log messages, and nothing is ever sent on it here: it never becomes
    /// ready, takes no part in TCP, and the diagram leaves it out.
    pub unix: bool,
    pub state: TcpState,
    pub local: Option<SocketAddrV4>,
    pub remote: Option<SocketAddrV4>,
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub keepalive: bool,
    /// `listen` backlog; the queue is full past backlog + 1 (`sk_acceptq_is_full`).
    pub backlog: u32,
    /// Connections completed and waiting for `accept`.
    pub accept_queue: VecDeque<SockId>,
    pub peer: Option<SockId>,
    /// Bytes received and not yet read.
    #[serde(skip)]
    pub rx: VecDeque<u8>,
    /// No more data will come in: FIN received, or our own SHUT_RD.
    pub rcv_shutdown: bool,
    /// We sent our FIN (SHUT_WR, or close).
    pub snd_shutdown: bool,
    /// The peer's FIN arrived (`SOCK_DONE`): reads return EOF from then on, even
    /// if a reset comes later.
    pub fin_received: bool,
    /// `sk_err`: reported once by the next call, then cleared.
    pub error: Option<Errno>,
    /// No fd refers to it any more; it lingers only to finish the connection.
    pub orphan: bool,
    /// SYNs sent while the listener's queue was full.
    pub syn_retries: u32,
    /// A non-blocking connect's outcome, for `getsockopt(SO_ERROR)` via `error`.
    pub connecting: bool,
    /// `bind` gave a specific address (`SOCK_BINDADDR_LOCK`): a failed connect
    /// keeps it. Otherwise the connect chose it and takes it back.
    #[serde(skip)]
    pub bind_addr_locked: bool,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

impl Socket {
    fn new() -> Socket {
        Socket {
            v6: false,
            unix: false,
            state: TcpState::Close,
            local: None,
            remote: None,
            reuseaddr: false,
            reuseport: false,
            keepalive: false,
            backlog: 0,
            accept_queue: VecDeque::new(),
            peer: None,
            rx: VecDeque::new(),
            rcv_shutdown: false,
            snd_shutdown: false,
            fin_received: false,
            error: None,
            orphan: false,
            syn_retries: 0,
            connecting: false,
            bind_addr_locked: false,
            bytes_sent: 0,
            bytes_received: 0,
        }
    }

    fn acceptq_is_full(&self) -> bool {
        self.accept_queue.len() as u32 > self.backlog
    }
}

/// `setsockopt(2)` options the programs here set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SockOpt {
    ReuseAddr,
    ReusePort,
    KeepAlive,
}

/// `shutdown(2)`'s `how`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Shutdown {
    Read,
    Write,
    Both,
}

impl Shutdown {
    pub fn name(self) -> &'static str {
        match self {
            Shutdown::Read => "SHUT_RD",
            Shutdown::Write => "SHUT_WR",
            Shutdown::Both => "SHUT_RDWR",
        }
    }
}

impl Kernel {
    pub fn sock(&self, id: SockId) -> &Socket {
        self.sockets
            .get(&id)
            .unwrap_or_else(|| panic!("no socket {id}"))
    }

    fn sock_mut(&mut self, id: SockId) -> &mut Socket {
        self.sockets
            .get_mut(&id)
            .unwrap_or_else(|| panic!("no socket {id}"))
    }

    fn alloc_sock(&mut self, s: Socket) -> SockId {
        let id = SockId(self.next_sock);
        self.next_sock += 1;
        self.sockets.insert(id, s);
        id
    }

    fn set_state(&mut self, id: SockId, state: TcpState) {
        let s = self.sock_mut(id);
        if s.state != state {
            let from = s.state;
            s.state = state;
            if state == TcpState::TimeWait {
                self.add_timer(self.now + TIME_WAIT_US, Timer::TimeWaitOver(id));
            }
            self.emit(
                None,
                EventKind::TcpState {
                    sock: id,
                    from,
                    to: state,
                },
            );
        }
        self.wake(WaitKey::Socket(id));
    }

    /// The socket behind `fd`.
    pub fn sock_of(&self, pid: Pid, fd: Fd) -> SysResult<SockId> {
        match self.file(self.file_of(pid, fd)?).object {
            Object::Socket { sock } => Ok(sock),
            _ => Err(Errno::ENOTSOCK),
        }
    }

    /// `socket(AF_INET, SOCK_STREAM, 0)`.
    pub fn sys_socket(&mut self, pid: Pid, flags: OpenFlags, v6: bool) -> SysResult<Fd> {
        if self.files.len() >= self.limits.max_files {
            return Err(Errno::ENFILE);
        }
        if self.proc(pid).fds.len() >= self.limits.max_fds {
            return Err(Errno::EMFILE);
        }
        let sock = self.alloc_sock(Socket {
            v6,
            ..Socket::new()
        });
        let file = self.new_file(
            Object::Socket { sock },
            OpenFlags {
                read: true,
                write: true,
                ..flags
            },
            None,
        );
        self.install_fd(pid, file, flags.cloexec)
    }

    /// `socketpair(AF_UNIX, SOCK_DGRAM, 0, sv)`: two connected ends.
    pub fn sys_socketpair(&mut self, pid: Pid) -> SysResult<(Fd, Fd)> {
        if self.files.len() + 2 > self.limits.max_files {
            return Err(Errno::ENFILE);
        }
        if self.proc(pid).fds.len() + 2 > self.limits.max_fds {
            return Err(Errno::EMFILE);
        }
        let end = || Socket {
            unix: true,
            ..Socket::new()
        };
        let (a, b) = (self.alloc_sock(end()), self.alloc_sock(end()));
        self.sock_mut(a).peer = Some(b);
        self.sock_mut(b).peer = Some(a);
        let mut fds = [0; 2];
        for (i, sock) in [a, b].into_iter().enumerate() {
            let file = self.new_file(
                Object::Socket { sock },
                OpenFlags {
                    read: true,
                    write: true,
                    ..OpenFlags::default()
                },
                None,
            );
            fds[i] = self.install_fd(pid, file, false)?;
        }
        Ok((fds[0], fds[1]))
    }

    /// `setsockopt(SOL_SOCKET, ...)` to 1 or 0.
    pub fn sys_setsockopt(&mut self, pid: Pid, fd: Fd, opt: SockOpt, on: bool) -> SysResult<()> {
        let id = self.sock_of(pid, fd)?;
        let s = self.sock_mut(id);
        match opt {
            SockOpt::ReuseAddr => s.reuseaddr = on,
            SockOpt::ReusePort => s.reuseport = on,
            SockOpt::KeepAlive => s.keepalive = on,
        }
        Ok(())
    }

    /// Does binding `addr` clash with a socket already on that port?
    fn bind_conflict(&self, me: SockId, addr: SocketAddrV4) -> bool {
        let mine = self.sock(me);
        self.sockets.iter().any(|(&id, s)| {
            let Some(local) = s.local else { return false };
            if id == me || local.port() != addr.port() || s.orphan && s.state == TcpState::Close {
                return false;
            }
            let overlap = local.ip() == addr.ip()
                || local.ip().is_unspecified()
                || addr.ip().is_unspecified();
            if !overlap {
                return false;
            }
            match s.state {
                // A listener or a bound socket: only SO_REUSEPORT on both shares it.
                TcpState::Listen | TcpState::Close => !(mine.reuseport && s.reuseport),
                // Connections on the port, TIME-WAIT ones included (measured:
                // EADDRINUSE without it): SO_REUSEADDR lets a new bind through.
                _ => !mine.reuseaddr,
            }
        })
    }

    /// `bind(2)`. Port 0 takes an ephemeral port.
    pub fn sys_bind(&mut self, pid: Pid, fd: Fd, addr: SocketAddrV4) -> SysResult<()> {
        let id = self.sock_of(pid, fd)?;
        if self.sock(id).local.is_some() {
            return Err(Errno::EINVAL);
        }
        if !(addr.ip().is_unspecified() || addr.ip().is_loopback()) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let addr = if addr.port() == 0 {
            SocketAddrV4::new(*addr.ip(), self.ephemeral_port(*addr.ip())?)
        } else {
            addr
        };
        if self.bind_conflict(id, addr) {
            return Err(Errno::EADDRINUSE);
        }
        let s = self.sock_mut(id);
        s.local = Some(addr);
        s.bind_addr_locked = !addr.ip().is_unspecified();
        Ok(())
    }

    /// The next free ephemeral port, in a fixed order so runs repeat.
    fn ephemeral_port(&mut self, ip: Ipv4Addr) -> SysResult<u16> {
        let span = (EPHEMERAL_PORTS.end() - EPHEMERAL_PORTS.start()) as u32 + 1;
        for _ in 0..span {
            let port = EPHEMERAL_PORTS.start() + (self.next_ephemeral as u32 % span) as u16;
            self.next_ephemeral = self.next_ephemeral.wrapping_add(1);
            let used = self.sockets.values().any(|s| {
                s.local.is_some_and(|l| {
                    l.port() == port
                        && (l.ip() == &ip || l.ip().is_unspecified() || ip.is_unspecified())
                })
            });
            if !used {
                return Ok(port);
            }
        }
        Err(Errno::EADDRNOTAVAIL)
    }

    /// Sets where ephemeral ports start (a run's seed moves it, as Linux's
    /// per-boot secret does).
    pub fn seed_ephemeral_ports(&mut self, offset: u16) {
        self.next_ephemeral = offset;
    }

    /// `listen(2)`.
    pub fn sys_listen(&mut self, pid: Pid, fd: Fd, backlog: i32) -> SysResult<()> {
        let id = self.sock_of(pid, fd)?;
        let state = self.sock(id).state;
        if !matches!(state, TcpState::Close | TcpState::Listen) || self.sock(id).peer.is_some() {
            return Err(Errno::EINVAL);
        }
        if self.sock(id).local.is_none() {
            let port = self.ephemeral_port(Ipv4Addr::UNSPECIFIED)?;
            self.sock_mut(id).local = Some(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port));
        }
        self.sock_mut(id).backlog = (backlog.max(0) as u32).min(SOMAXCONN);
        self.set_state(id, TcpState::Listen);
        Ok(())
    }

    /// `accept4(2)`: the oldest completed connection.
    pub fn sys_accept(
        &mut self,
        pid: Pid,
        fd: Fd,
        flags: OpenFlags,
    ) -> Attempt<(Fd, SocketAddrV4)> {
        let id = match self.sock_of(pid, fd) {
            Ok(id) => id,
            Err(e) => return Attempt::Done(Err(e)),
        };
        if self.sock(id).state != TcpState::Listen {
            return Attempt::Done(Err(Errno::EINVAL));
        }
        if self.files.len() >= self.limits.max_files {
            return Attempt::Done(Err(Errno::ENFILE));
        }
        if self.proc(pid).fds.len() >= self.limits.max_fds {
            return Attempt::Done(Err(Errno::EMFILE));
        }
        let Some(conn) = self.sock_mut(id).accept_queue.pop_front() else {
            let nonblock = self
                .file(self.file_of(pid, fd).expect("checked"))
                .flags
                .nonblock;
            return if nonblock {
                Attempt::Done(Err(Errno::EAGAIN))
            } else {
                Attempt::Block(Wait::on(WaitKey::Socket(id)))
            };
        };
        // A SYN that was dropped while the queue was full may now get in.
        self.wake(WaitKey::Socket(id));
        let remote = self
            .sock(conn)
            .remote
            .expect("accepted sockets are connected");
        let file = self.new_file(
            Object::Socket { sock: conn },
            OpenFlags {
                read: true,
                write: true,
                ..flags
            },
            None,
        );
        Attempt::Done(
            self.install_fd(pid, file, flags.cloexec)
                .map(|fd| (fd, remote)),
        )
    }

    /// The listener a SYN to `addr` reaches: the oldest matching one (with
    /// SO_REUSEPORT Linux hashes the 4-tuple; oldest-first keeps runs repeatable).
    fn find_listener(&self, addr: SocketAddrV4) -> Option<SockId> {
        self.sockets
            .iter()
            .find(|(_, s)| {
                s.state == TcpState::Listen
                    && s.local.is_some_and(|l| {
                        l.port() == addr.port() && (l.ip().is_unspecified() || l.ip() == addr.ip())
                    })
            })
            .map(|(id, _)| *id)
    }

    /// `connect(2)`. On loopback the outcome is known at once: refused (no
    /// listener), established (room in the accept queue), or a dropped SYN (queue
    /// full) that is resent after 1, 2, 4 ... seconds. A non-blocking connect answers
    /// EINPROGRESS and leaves the outcome to `poll` and `SO_ERROR`.
    pub fn sys_connect(&mut self, pid: Pid, fd: Fd, addr: SocketAddrV4) -> Attempt<()> {
        let id = match self.sock_of(pid, fd) {
            Ok(id) => id,
            Err(e) => return Attempt::Done(Err(e)),
        };
        let nonblock = self
            .file(self.file_of(pid, fd).expect("checked"))
            .flags
            .nonblock;
        let s = self.sock(id);
        match s.state {
            TcpState::Established | TcpState::CloseWait if !s.connecting => {
                return Attempt::Done(Err(Errno::EISCONN));
            }
            TcpState::Established | TcpState::CloseWait => {
                // The blocking connect we started has completed.
                self.sock_mut(id).connecting = false;
                return Attempt::Done(Ok(()));
            }
            TcpState::SynSent if nonblock => return Attempt::Done(Err(Errno::EALREADY)),
            TcpState::SynSent => return Attempt::Block(Wait::on(WaitKey::Socket(id))),
            TcpState::Close if s.connecting => {
                // A connect we were waiting for failed. `tcp_disconnect` takes
                // back the source address the connect chose (not one `bind`
                // set) and keeps the port: getsockname shows 0.0.0.0:PORT, as
                // strace showed after socat's refused connect here.
                let s = self.sock_mut(id);
                let err = s.error.take().unwrap_or(Errno::ECONNREFUSED);
                s.connecting = false;
                if !s.bind_addr_locked
                    && let Some(local) = s.local
                {
                    s.local = Some(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, local.port()));
                }
                return Attempt::Done(Err(err));
            }
            TcpState::Close => {}
            _ => return Attempt::Done(Err(Errno::EISCONN)),
        }
        if !addr.ip().is_loopback() {
            return Attempt::Done(Err(Errno::ENETUNREACH));
        }
        if self.sock(id).local.is_none() {
            match self.ephemeral_port(Ipv4Addr::LOCALHOST) {
                Ok(port) => {
                    self.sock_mut(id).local = Some(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
                }
                Err(e) => return Attempt::Done(Err(e)),
            }
        }
        let local = self.sock(id).local.expect("bound above");
        if local.ip().is_unspecified() {
            self.sock_mut(id).local = Some(SocketAddrV4::new(Ipv4Addr::LOCALHOST, local.port()));
        }
        {
            let s = self.sock_mut(id);
            s.remote = Some(addr);
            s.connecting = true;
        }
        self.set_state(id, TcpState::SynSent);
        self.send_syn(id);
        if nonblock {
            return Attempt::Done(Err(Errno::EINPROGRESS));
        }
        // Re-enter to report what the SYN met.
        self.sys_connect(pid, fd, addr)
    }

    /// A SYN from `id` arrives: refused, queued, or dropped for a retransmit.
    fn send_syn(&mut self, id: SockId) {
        let addr = self
            .sock(id)
            .remote
            .expect("connecting socket has a remote");
        let Some(listener) = self.find_listener(addr) else {
            // RST in reply: ECONNREFUSED.
            let s = self.sock_mut(id);
            s.error = Some(Errno::ECONNREFUSED);
            s.rcv_shutdown = true;
            s.snd_shutdown = true;
            self.set_state(id, TcpState::Close);
            return;
        };
        if self.sock(listener).acceptq_is_full() {
            // The SYN is dropped; the client resends it later.
            let retries = self.sock(id).syn_retries;
            if retries >= TCP_SYN_RETRIES {
                let s = self.sock_mut(id);
                s.error = Some(Errno::ETIMEDOUT);
                self.set_state(id, TcpState::Close);
                return;
            }
            let delay = SYN_RETRANSMIT_US << retries;
            self.sock_mut(id).syn_retries += 1;
            self.add_timer(self.now + delay, Timer::SynRetransmit(id));
            return;
        }
        let server_local = SocketAddrV4::new(*addr.ip(), addr.port());
        let client_local = self.sock(id).local.expect("bound");
        let mut server = Socket::new();
        // An accepted socket has its listener's family.
        server.v6 = self.sock(listener).v6;
        server.local = Some(server_local);
        server.remote = Some(client_local);
        server.peer = Some(id);
        server.state = TcpState::Established;
        let server = self.alloc_sock(server);
        self.emit(
            None,
            EventKind::TcpState {
                sock: server,
                from: TcpState::Listen,
                to: TcpState::Established,
            },
        );
        self.sock_mut(id).peer = Some(server);
        self.sock_mut(listener).accept_queue.push_back(server);
        self.set_state(id, TcpState::Established);
        self.wake(WaitKey::Socket(listener));
    }

    pub(crate) fn syn_retransmit(&mut self, id: SockId) {
        if self
            .sockets
            .get(&id)
            .is_some_and(|s| s.state == TcpState::SynSent)
        {
            self.send_syn(id);
        }
    }

    /// `getsockopt(SO_ERROR)`: the pending error, cleared by reading it.
    pub fn sys_so_error(&mut self, pid: Pid, fd: Fd) -> SysResult<Option<Errno>> {
        let id = self.sock_of(pid, fd)?;
        let s = self.sock_mut(id);
        if s.connecting && s.state != TcpState::SynSent {
            s.connecting = false;
        }
        Ok(s.error.take())
    }

    /// `getsockname(2)` / `getpeername(2)`.
    pub fn sys_sockname(&self, pid: Pid, fd: Fd, peer: bool) -> SysResult<SocketAddrV4> {
        let s = self.sock(self.sock_of(pid, fd)?);
        if peer {
            s.remote.ok_or(Errno::ENOTCONN)
        } else {
            Ok(s.local
                .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)))
        }
    }

    /// `recv(2)` with `MSG_DONTWAIT`: like a read of the socket on an
    /// O_NONBLOCK file, whatever the file's flags. Nothing is ever sent on a
    /// `socketpair` end (see [`Socket::unix`]), so one always answers EAGAIN.
    pub fn sys_recv_dontwait(&mut self, pid: Pid, fd: Fd, count: usize) -> SysResult<Vec<u8>> {
        let id = self.sock_of(pid, fd)?;
        if self.sock(id).unix {
            return Err(Errno::EAGAIN);
        }
        let count = count.min(self.limits.max_io_bytes);
        match self.sock_recv(id, count, true) {
            Attempt::Done(r) => r,
            Attempt::Block(_) => unreachable!("a non-blocking receive never blocks"),
        }
    }

    /// `recvmsg(fd, ..., MSG_ERRQUEUE)`: the socket's error queue, which Linux
    /// fills only for `IP_RECVERR` or timestamping. No simulated program asks
    /// for either, so it is always empty: EAGAIN (`ip_recv_error`).
    pub fn sys_recvmsg_errqueue(&mut self, pid: Pid, fd: Fd) -> SysResult<()> {
        self.sock_of(pid, fd)?;
        Err(Errno::EAGAIN)
    }

    /// `recv(2)` on a socket. EOF (`Ok(empty)`) once the peer's FIN has come and
    /// the queue is drained; a reset reports ECONNRESET once, then EOF.
    pub(crate) fn sock_recv(
        &mut self,
        id: SockId,
        count: usize,
        nonblock: bool,
    ) -> Attempt<Vec<u8>> {
        let s = self.sock_mut(id);
        match s.state {
            TcpState::Listen | TcpState::SynSent => return Attempt::Done(Err(Errno::ENOTCONN)),
            TcpState::Close if s.peer.is_none() && s.error.is_none() && !s.rcv_shutdown => {
                return Attempt::Done(Err(Errno::ENOTCONN));
            }
            _ => {}
        }
        if !s.rx.is_empty() {
            let n = count.min(s.rx.len());
            let data: Vec<u8> = s.rx.drain(..n).collect();
            let peer = s.peer;
            self.ledger.read += n as u64;
            // Room opened up: a blocked sender may go on.
            if let Some(peer) = peer {
                self.wake(WaitKey::Socket(peer));
            }
            return Attempt::Done(Ok(data));
        }
        // tcp_recvmsg: after the peer's FIN, EOF comes before any pending error.
        if s.fin_received {
            return Attempt::Done(Ok(Vec::new()));
        }
        if let Some(e) = s.error.take() {
            return Attempt::Done(Err(e));
        }
        if s.rcv_shutdown {
            return Attempt::Done(Ok(Vec::new()));
        }
        if nonblock {
            Attempt::Done(Err(Errno::EAGAIN))
        } else {
            Attempt::Block(Wait::on(WaitKey::Socket(id)))
        }
    }

    /// `send(2)` on a socket. After the peer has closed, the first send still
    /// succeeds (the peer answers it with RST); the next fails with EPIPE and
    /// raises SIGPIPE unless `nosignal` (`MSG_NOSIGNAL`). Measured, ground truth §8.8.
    pub(crate) fn sock_send(
        &mut self,
        pid: Pid,
        id: SockId,
        data: &[u8],
        progress: &mut usize,
        nonblock: bool,
        nosignal: bool,
    ) -> Attempt<usize> {
        let s = self.sock(id);
        if matches!(s.state, TcpState::Listen | TcpState::SynSent)
            || (s.state == TcpState::Close
                && s.peer.is_none()
                && s.error.is_none()
                && !s.snd_shutdown)
        {
            return Attempt::Done(Err(Errno::ENOTCONN));
        }
        if s.error.is_some() || s.snd_shutdown {
            // sk_stream_error: a pending error is reported (and cleared), else EPIPE.
            let err = self.sock_mut(id).error.take().unwrap_or(Errno::EPIPE);
            let err = if err == Errno::ECONNRESET || err == Errno::EPIPE {
                err
            } else {
                Errno::EPIPE
            };
            if err == Errno::EPIPE && !nosignal {
                self.raise(pid, super::Signal::SIGPIPE, None);
            }
            return Attempt::Done(if *progress > 0 {
                Ok(*progress)
            } else {
                Err(err)
            });
        }
        let peer = s.peer.expect("a connected socket has a peer");
        let p = self.sock(peer);
        if p.orphan && (p.rcv_shutdown || p.state == TcpState::Close) {
            // The peer's owner closed it: the data is answered with RST. The send
            // itself succeeds; the reset is what the next call meets.
            let n = data.len() - *progress;
            self.sock_mut(id).bytes_sent += n as u64;
            self.ledger.written += n as u64;
            self.ledger.dropped += n as u64;
            self.reset_connection(peer, id);
            return Attempt::Done(Ok(*progress + n));
        }
        let room = TCP_WINDOW.saturating_sub(p.rx.len());
        let rest = &data[*progress..];
        if room == 0 {
            return if nonblock {
                Attempt::Done(if *progress > 0 {
                    Ok(*progress)
                } else {
                    Err(Errno::EAGAIN)
                })
            } else {
                Attempt::Block(Wait::on(WaitKey::Socket(id)))
            };
        }
        let n = rest.len().min(room);
        let pm = self.sock_mut(peer);
        pm.rx.extend(&rest[..n]);
        pm.bytes_received += n as u64;
        self.sock_mut(id).bytes_sent += n as u64;
        self.ledger.written += n as u64;
        *progress += n;
        self.wake(WaitKey::Socket(peer));
        if *progress < data.len() && !nonblock {
            return Attempt::Block(Wait::on(WaitKey::Socket(id)));
        }
        Attempt::Done(Ok(*progress))
    }

    /// The RST that `from` sends to `to`, and what it does to `to`: ECONNRESET, or
    /// EPIPE when `to` had already seen the peer's FIN (`tcp_reset` in CLOSE-WAIT).
    fn reset_connection(&mut self, from: SockId, to: SockId) {
        let was = self.sock(to).state;
        let mut dropped = 0;
        {
            let t = self.sock_mut(to);
            t.error = Some(if was == TcpState::CloseWait {
                Errno::EPIPE
            } else {
                Errno::ECONNRESET
            });
            t.rcv_shutdown = true;
            t.snd_shutdown = true;
            t.peer = None;
            if was == TcpState::CloseWait {
                dropped += t.rx.len();
                t.rx.clear();
            }
        }
        self.set_state(to, TcpState::Close);
        self.emit(None, EventKind::Reset { from, to });
        if let Some(f) = self.sockets.get_mut(&from) {
            f.peer = None;
            dropped += f.rx.len();
            f.rx.clear();
        }
        self.ledger.dropped += dropped as u64;
        self.set_state(from, TcpState::Close);
    }

    /// `shutdown(2)`.
    pub fn sys_shutdown(&mut self, pid: Pid, fd: Fd, how: Shutdown) -> SysResult<()> {
        let id = self.sock_of(pid, fd)?;
        let s = self.sock(id);
        // TIME-WAIT is kept by a minisock in Linux; the socket the fd names is
        // closed by then (`tcp_time_wait`, then `tcp_done`): ENOTCONN, as strace
        // showed socat's `shutdown(5, SHUT_RDWR)` after both FINs here.
        if !matches!(
            s.state,
            TcpState::Established
                | TcpState::CloseWait
                | TcpState::FinWait1
                | TcpState::FinWait2
                | TcpState::Closing
                | TcpState::LastAck
        ) {
            return Err(Errno::ENOTCONN);
        }
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.sock_mut(id).rcv_shutdown = true;
            self.wake(WaitKey::Socket(id));
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            self.send_fin(id);
        }
        Ok(())
    }

    /// Our side sends FIN: the state moves on, the peer will read EOF.
    fn send_fin(&mut self, id: SockId) {
        let s = self.sock(id);
        if s.snd_shutdown {
            return;
        }
        let state = s.state;
        let peer = s.peer;
        self.sock_mut(id).snd_shutdown = true;
        match state {
            // The peer's ACK comes back at once on loopback: FIN-WAIT-1 → FIN-WAIT-2.
            TcpState::Established => {
                self.set_state(id, TcpState::FinWait1);
                self.set_state(id, TcpState::FinWait2);
            }
            TcpState::CloseWait => self.set_state(id, TcpState::LastAck),
            _ => {}
        }
        let Some(peer) = peer else { return };
        self.sock_mut(peer).rcv_shutdown = true;
        self.sock_mut(peer).fin_received = true;
        match self.sock(peer).state {
            TcpState::Established => self.set_state(peer, TcpState::CloseWait),
            TcpState::FinWait2 | TcpState::FinWait1 => {
                self.set_state(peer, TcpState::TimeWait);
                // Its ACK of our FIN: we are done.
                self.set_state(id, TcpState::Close);
            }
            _ => self.wake(WaitKey::Socket(peer)),
        }
    }

    /// The last fd of a socket closed (`tcp_close`). Unread data means RST instead
    /// of FIN; a listener resets the connections still in its queue.
    pub(crate) fn socket_closed(&mut self, id: SockId) {
        if self.sock(id).unix {
            // A datagram socket has no connection to take down.
            if let Some(peer) = self.sock(id).peer {
                self.sock_mut(peer).peer = None;
            }
            self.sockets.remove(&id);
            return;
        }
        let s = self.sock(id);
        let state = s.state;
        let unread = !s.rx.is_empty();
        let peer = s.peer;
        self.sock_mut(id).orphan = true;
        match state {
            TcpState::Listen => {
                let queued: Vec<SockId> = self.sock_mut(id).accept_queue.drain(..).collect();
                for conn in queued {
                    if let Some(client) = self.sock(conn).peer {
                        self.reset_connection(conn, client);
                    }
                    if let Some(s) = self.sockets.remove(&conn) {
                        self.ledger.dropped += s.rx.len() as u64;
                    }
                }
                self.set_state(id, TcpState::Close);
            }
            TcpState::SynSent | TcpState::Close => self.set_state(id, TcpState::Close),
            _ if unread && peer.is_some() => {
                self.reset_connection(id, peer.expect("checked"));
            }
            _ => {
                self.sock_mut(id).rcv_shutdown = true;
                self.send_fin(id);
            }
        }
        self.gc_sockets();
    }

    /// TIME-WAIT is over (`tcp_time_wait` timer, `TCP_TIMEWAIT_LEN` = 60 s,
    /// `include/net/tcp.h`): the connection is gone and its port is free.
    ///
    /// Linux hands a TIME-WAIT connection to a separate minisock and closes the
    /// socket at once; we keep the one socket in TIME-WAIT until the timer, so a
    /// socket whose fd is still open shows TIME-WAIT rather than CLOSE meanwhile.
    pub(crate) fn time_wait_over(&mut self, id: SockId) {
        if self
            .sockets
            .get(&id)
            .is_some_and(|s| s.state == TcpState::TimeWait)
        {
            self.set_state(id, TcpState::Close);
            self.gc_sockets();
        }
    }

    /// Forgets sockets nobody can reach any more: orphans whose connection is
    /// over, and whose peer is gone or over too.
    fn gc_sockets(&mut self) {
        let over = |s: &Socket| s.orphan && s.state == TcpState::Close;
        let dead: Vec<SockId> = self
            .sockets
            .iter()
            .filter(|(_, s)| {
                over(s) && s.peer.is_none_or(|p| self.sockets.get(&p).is_none_or(over))
            })
            .map(|(id, _)| *id)
            .collect();
        for id in dead {
            if let Some(s) = self.sockets.remove(&id) {
                self.ledger.dropped += s.rx.len() as u64;
            }
        }
    }
}
