//! socat 1.7.4.4 (Debian 12), reduced to what the lessons use: the
//! fork-per-connection proxy `socat TCP-LISTEN:6000,fork,reuseaddr
//! TCP:127.0.0.1:5000`, and `socat - TCP:HOST:PORT` / `STDIO`.
//!
//! Addresses: `TCP-LISTEN:PORT` (also `TCP-L`, `TCP4-LISTEN`) with the options
//! `fork`, `reuseaddr`, `reuseport`, `bind=ADDR`, `backlog=N`; `TCP:HOST:PORT`
//! (also `TCP4`, `TCP-CONNECT`); `-` / `STDIO` (stdin and stdout). The listening
//! side is opened first, as socat opens its first address first; the second
//! address is opened after each accept (in the child, with `fork`).
//!
//! The calls are the real one's, in its order, as strace showed them here
//! (`tests/fixtures/socat/*.strace`, compared line for line by `tests/socat.rs`):
//!
//! - Start-up: `socketpair(AF_UNIX, SOCK_DGRAM, 0, [3, 4])` for its log
//!   messages, then SIGPIPE ignored, so that a write to a peer that has gone is
//!   EPIPE, logged, exit 1. The pair holds fds 3 and 4: the listener is fd 5, an
//!   accepted client fd 6 and a child's backend socket fd 5 (`E connect(5, ...`).
//! - The pair is polled around nearly every call: each of socat's log calls
//!   first drains it (`recvfrom(3, ..., 519, MSG_DONTWAIT, NULL, NULL) = -1
//!   EAGAIN`), printed or not, and its syscall wrappers log before and after
//!   most calls. A transfer makes three times the calls it needs.
//! - Listening: `socket`, `fcntl(FD_CLOEXEC)`, `setsockopt`, `bind`,
//!   `getsockname`, `listen`; then `pselect6(6, [3 5], NULL, NULL, NULL, NULL)` on
//!   the pair and the listener, `accept`, `fcntl`, and both addresses into a
//!   112-byte buffer: `[112 => 16]` the first time, `[16]` after (the length
//!   variable keeps what the kernel wrote back). With `fork`, SIGCHLD is blocked
//!   (`rt_sigprocmask(SIG_BLOCK, [CHLD], NULL, 8)`) from before the clone until the
//!   parent has closed the connection; the child closes its parent's pair, makes
//!   its own, unblocks SIGCHLD and closes the listener. Without `fork` the
//!   listener is closed and the connection served in place.
//! - With `fork`, a SIGCHLD handler (installed after SIGPIPE is ignored) reaps
//!   the children where the signal interrupts the select: `pselect6(...) = ?
//!   ERESTARTNOHAND`, `--- SIGCHLD ---`, `wait4(-1, ..., WNOHANG)` until ECHILD
//!   (or 0), `rt_sigreturn({mask=[]}) = -1 EINTR`, three drains of the pair and
//!   the select again ([`reap`], run by [`Sys`] where the signal is delivered).
//! - Connecting: `socket`, `fcntl`, `connect`, `getsockname` (`[112 => 16]`). A
//!   refused connect shows the address the kernel took back (`0.0.0.0`, the port
//!   kept), reads the socket's error queue (`recvmsg(5, {msg_namelen=112},
//!   MSG_TRUNC|MSG_ERRQUEUE) = -1 EAGAIN`) and logs `E connect(5, AF=2
//!   127.0.0.1:5000, 16): Connection refused`. On an error exit socat shuts down
//!   (SHUT_RDWR) each socket it holds: that FIN is why a client of a failed child
//!   reads an empty reply.
//! - `-` / `STDIO`: `ioctl(TCGETS)` on 0 and 1; stdout is never shut down.
//! - The transfer loop (`transfer`) selects on all three sets (`pselect6(7, [5
//!   6], [5 6], [], NULL, NULL)`, then only the fds not known writable since their
//!   last write: `[5 6], [5]`, `[6]` or `[]`) and moves up to 8192 bytes a read
//!   (`-b`'s default). When one side reaches EOF socat shuts
//!   down writing on the other side's socket and waits up to 0.5 s (`-t`'s
//!   default) for the other direction to finish; then it shuts down (SHUT_RDWR)
//!   each socket and exits 0, leaving the closing to exit. With `fork` the parent
//!   goes straight back to `accept`.
//!
//! Errors are socat's log lines, `YYYY/MM/DD HH:MM:SS socat[PID] E ...`, with the
//! simulated wall clock.
//!
//! Left out (measured, for whoever adds them): start-up's `getpid`, `uname` and
//! the handlers it installs for SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGABRT,
//! SIGBUS, SIGFPE, SIGSEGV and SIGTERM (on SIGTERM the real one writes a message
//! into its pair from the handler, reads it back, shuts down its sockets and
//! exits 143; here SIGTERM kills); the child's two `getpid()`
//! (glibc no longer caches it, but [`Sys::pid`] is free); glibc's reading of
//! `/etc/localtime` before the first log line; the buffer address in a failed
//! write's log line (`...` here); other address types and options.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::kernel::net::{Shutdown, SockOpt};
use crate::kernel::{Disposition, Errno, Fd, SigHow, Signal};
use crate::programs::rss;
use crate::programs::userland::{STDIN, STDOUT, WallTime, eprint, resolve};
use crate::sys::{Sys, Task};
use std::rc::Rc;

/// socat's SIGCHLD handler: reaps every child that has ended, until none is
/// left or the rest still run (measured: `wait4(-1, [{WIFEXITED(s) &&
/// WEXITSTATUS(s) == 1}], WNOHANG, NULL) = 11405`, `wait4(-1, 0x7fff46af8bf4,
/// WNOHANG, NULL) = -1 ECHILD (No child processes)`).
async fn reap(sys: Sys) {
    while let Ok(Some(_)) = sys.waitpid(-1, true).await {}
}

/// `-b` default.
const BUFSIZE: usize = 8192;
/// `-t` default: how long to wait for the other direction after one EOF.
const CLOSE_TIMEOUT_MS: i32 = 500;
/// What socat drains its log pair with: `recvfrom(3, buf, 519, ...)`.
const DIAG_BUFSIZE: usize = 519;
/// socat's socket address buffer (`union sockaddr_union` and more): strace shows
/// `[112 => 16]` the first time it is filled.
const SOCKADDR_BUFLEN: u32 = 112;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Address {
    Listen {
        port: u16,
        fork: bool,
        reuseaddr: bool,
        reuseport: bool,
        bind: Ipv4Addr,
        backlog: i32,
    },
    Connect(String, u16),
    Stdio,
}

fn parse_address(s: &str) -> Result<Address, String> {
    if s == "-" || s.eq_ignore_ascii_case("stdio") {
        return Ok(Address::Stdio);
    }
    let mut parts = s.split(',');
    let head = parts.next().unwrap_or("");
    let opts: Vec<&str> = parts.collect();
    let fields: Vec<&str> = head.split(':').collect();
    let kind = fields[0].to_ascii_uppercase();
    match kind.as_str() {
        "TCP-LISTEN" | "TCP-L" | "TCP4-LISTEN" | "TCP4-L" => {
            let port = fields
                .get(1)
                .and_then(|p| p.parse::<u16>().ok())
                .ok_or_else(|| format!("{head}: wrong number of parameters (0 instead of 1)"))?;
            let mut a = Address::Listen {
                port,
                fork: false,
                reuseaddr: false,
                reuseport: false,
                bind: Ipv4Addr::UNSPECIFIED,
                backlog: 5,
            };
            if let Address::Listen {
                fork,
                reuseaddr,
                reuseport,
                bind,
                backlog,
                ..
            } = &mut a
            {
                for o in opts {
                    let (k, v) = o.split_once('=').unwrap_or((o, ""));
                    match k {
                        "fork" => *fork = true,
                        "reuseaddr" => *reuseaddr = true,
                        "reuseport" => *reuseport = true,
                        "bind" => *bind = resolve(v).unwrap_or(Ipv4Addr::UNSPECIFIED),
                        "backlog" => *backlog = v.parse().unwrap_or(5),
                        other => return Err(format!("unknown option \"{other}\"")),
                    }
                }
            }
            Ok(a)
        }
        "TCP" | "TCP4" | "TCP-CONNECT" | "TCP4-CONNECT" => match fields.as_slice() {
            [_, host, port] => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("getaddrinfo(\"{host}\", \"{port}\", ...): Servname not supported for ai_socktype"))?;
                Ok(Address::Connect(host.to_string(), port))
            }
            _ => Err(format!(
                "{head}: wrong number of parameters ({} instead of 2)",
                fields.len() - 1
            )),
        },
        _ => Err(format!("unknown device/address \"{}\"", fields[0])),
    }
}

pub fn main(sys: Sys, argv: Vec<String>) -> Task {
    // Returning is `exit_group(N)`, as for every program (see `world::start`).
    Box::pin(run(sys, argv))
}

/// `2026/11/26 00:00:01 socat[PID] E MSG`.
async fn log_error(sys: &Sys, msg: &str) {
    let when = WallTime::at(sys.now_us()).slash_date();
    eprint(sys, &format!("{when} socat[{}] E {msg}\n", sys.pid())).await;
}

/// A socat process: its syscalls, and the receiving end of its log pair.
struct Socat<'a> {
    sys: &'a Sys,
    log: Fd,
}

impl Socat<'_> {
    /// `diag_flush()`: a look at the log pair for messages a signal handler
    /// left there, made by each of socat's log calls, printed or not. Its
    /// syscall wrappers log before and after most calls, hence the bracketing
    /// `recvfrom(3, ..., 519, MSG_DONTWAIT, NULL, NULL) = -1 EAGAIN`.
    async fn flush(&self) {
        let _ = self.sys.recv_dontwait(self.log, DIAG_BUFSIZE).await;
    }
}

async fn run(sys: Sys, argv: Vec<String>) -> i32 {
    let addrs: Vec<&String> = argv
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with("-") || a.as_str() == "-")
        .collect();
    if addrs.len() != 2 {
        log_error(
            &sys,
            &format!(
                "exactly 2 addresses required (there are {}); use option \"-h\" for help",
                addrs.len()
            ),
        )
        .await;
        return 1;
    }
    let mut parsed = Vec::new();
    for a in &addrs {
        match parse_address(a) {
            Ok(x) => parsed.push(x),
            Err(m) => {
                log_error(&sys, &m).await;
                return 1;
            }
        }
    }
    let first = parsed.remove(0);
    let second = parsed.remove(0);
    // socat's first act: a socket pair for its log messages (fds 3 and 4).
    let Ok(pair) = sys.socketpair().await else {
        log_error(&sys, "socketpair(1, 2, 0, ...): Too many open files").await;
        return 1;
    };
    // A write to a peer that has gone is EPIPE, logged, not death by SIGPIPE.
    let _ = sys.sigaction(Signal::SIGPIPE, Disposition::Ignore).await;
    if matches!(first, Address::Listen { fork: true, .. }) {
        // Children are reaped by the SIGCHLD handler (no SA_RESTART: the
        // select it interrupts returns EINTR, and socat selects again).
        let _ = sys
            .sigaction_handler(Signal::SIGCHLD, false, Rc::new(|sys| Box::pin(reap(sys))))
            .await;
    }
    let sx = Socat {
        sys: &sys,
        log: pair.0,
    };
    match first {
        Address::Listen {
            port,
            fork,
            reuseaddr,
            reuseport,
            bind,
            backlog,
        } => {
            let s = match sys.socket().await {
                Ok(s) => s,
                Err(e) => {
                    log_error(&sys, &format!("socket(2, 1, 6): {}", e.text())).await;
                    return 1;
                }
            };
            sx.flush().await;
            let _ = sys.set_cloexec(s, true).await;
            sx.flush().await;
            if reuseaddr {
                let _ = sys.setsockopt(s, SockOpt::ReuseAddr, true).await;
            }
            if reuseport {
                let _ = sys.setsockopt(s, SockOpt::ReusePort, true).await;
            }
            if let Err(e) = sys.bind(s, SocketAddrV4::new(bind, port)).await {
                log_error(
                    &sys,
                    &format!("bind({s}, {{AF=2 {bind}:{port}}}, 16): {}", e.text()),
                )
                .await;
                return 1;
            }
            let _ = sys.sockname(s, false).await;
            if let Err(e) = sys.listen(s, backlog).await {
                log_error(&sys, &format!("listen({s}, {backlog}): {}", e.text())).await;
                return 1;
            }
            // socat's address buffer is 112 bytes the first time; after that
            // its length variable still holds the 16 the kernel wrote back.
            let mut addrlen = SOCKADDR_BUFLEN;
            loop {
                sx.flush().await;
                sx.flush().await;
                // socat waits in select (on its pair too), then accepts.
                match sys.select(&[pair.0, s], &[], -1).await {
                    Ok(_) => {}
                    Err(Errno::EINTR) => {
                        // The SIGCHLD handler has reaped a child: select again
                        // (measured: one more drain of the pair first).
                        sx.flush().await;
                        continue;
                    }
                    Err(_) => return 1,
                }
                sx.flush().await;
                let (conn, _) = match sys.accept_as(s, crate::sys::Accept::ACCEPT).await {
                    Ok(c) => c,
                    Err(Errno::EINTR) => continue,
                    Err(e) => {
                        log_error(&sys, &format!("accept({s}, ...): {}", e.text())).await;
                        return 1;
                    }
                };
                sx.flush().await;
                sx.flush().await;
                let _ = sys.set_cloexec(conn, true).await;
                sx.flush().await;
                // Both ends' addresses, into socat's address buffer.
                let _ = sys.sockname_buf(conn, true, Some(addrlen)).await;
                let _ = sys.sockname_buf(conn, false, Some(addrlen)).await;
                addrlen = 16;
                if !fork {
                    let _ = sys.close(s).await;
                    return serve(&sx, conn, &second).await;
                }
                // SIGCHLD waits while the child is made and the parent lets go
                // of the connection.
                let _ = sys.sigprocmask(SigHow::Block, &[Signal::SIGCHLD]).await;
                let second = second.clone();
                let child = sys
                    .fork(move |c| async move {
                        c.set_rss_kb(Some(rss::SOCAT_CHILD));
                        // A new pair of its own, then the listener goes.
                        let _ = c.close(pair.1).await;
                        let _ = c.close(pair.0).await;
                        let log = c.socketpair().await.map_or(pair.0, |p| p.0);
                        let _ = c.sigprocmask(SigHow::Unblock, &[Signal::SIGCHLD]).await;
                        let _ = c.close(s).await;
                        let sx = Socat { sys: &c, log };
                        serve(&sx, conn, &second).await
                    })
                    .await;
                if let Err(e) = child {
                    log_error(&sys, &format!("fork(): {}", e.text())).await;
                }
                let _ = sys.close(conn).await;
                let _ = sys.sigprocmask(SigHow::Unblock, &[Signal::SIGCHLD]).await;
            }
        }
        other => {
            // Open the first address, then the second, then transfer.
            let a = match open_side(&sx, &other).await {
                Ok(a) => a,
                Err(failed) => {
                    shutdown_all(&sys, &failed.into_iter().collect::<Vec<_>>()).await;
                    return 1;
                }
            };
            match open_side(&sx, &second).await {
                Ok(b) => transfer(&sx, a, b).await,
                Err(failed) => {
                    let mut fds: Vec<Fd> = a.socket.into_iter().collect();
                    fds.extend(failed);
                    shutdown_all(&sys, &fds).await;
                    1
                }
            }
        }
    }
}

/// An opened address: the fd read from, the fd written to (the same socket,
/// or stdin and stdout), and the socket socat shuts down, if it is one.
#[derive(Clone, Copy, Debug)]
struct Side {
    rd: Fd,
    wr: Fd,
    socket: Option<Fd>,
}

impl Side {
    fn socket(fd: Fd) -> Side {
        Side {
            rd: fd,
            wr: fd,
            socket: Some(fd),
        }
    }
}

/// Opens an address. On failure, the socket it made (if any): socat's exit
/// handler shuts down every socket it holds.
async fn open_side(sx: &Socat<'_>, a: &Address) -> Result<Side, Option<Fd>> {
    let sys = sx.sys;
    match a {
        Address::Stdio => {
            // Is it a terminal? (Then socat would set it up; it never is here.)
            let _ = sys.isatty(STDIN).await;
            let _ = sys.isatty(STDOUT).await;
            Ok(Side {
                rd: STDIN,
                wr: STDOUT,
                socket: None,
            })
        }
        Address::Connect(host, port) => {
            let Some(ip) = resolve(host) else {
                log_error(
                    sys,
                    &format!("getaddrinfo(\"{host}\", \"NULL\", {{1,2,1,6}}, {{}}): Name or service not known"),
                )
                .await;
                return Err(None);
            };
            let s = sys.socket().await.map_err(|_| None)?;
            sx.flush().await;
            let _ = sys.set_cloexec(s, true).await;
            sx.flush().await;
            sx.flush().await;
            let connected = sys.connect(s, SocketAddrV4::new(ip, *port)).await;
            sx.flush().await;
            let _ = sys.sockname_buf(s, false, Some(SOCKADDR_BUFLEN)).await;
            if let Err(e) = connected {
                // What went wrong, in more detail, if the kernel kept any.
                sx.flush().await;
                let _ = sys.recvmsg_errqueue(s, SOCKADDR_BUFLEN).await;
                sx.flush().await;
                log_error(
                    sys,
                    &format!("connect({s}, AF=2 {ip}:{port}, 16): {}", e.text()),
                )
                .await;
                return Err(Some(s));
            }
            Ok(Side::socket(s))
        }
        Address::Listen { .. } => {
            log_error(sys, "a listening address must come first here").await;
            Err(None)
        }
    }
}

/// socat's exit path: `shutdown(SHUT_RDWR)` on each socket it holds (errors
/// ignored), then exit. A shutdown sends FIN before close can send RST, so a
/// client that already sent its request reads EOF: curl's "Empty reply".
async fn shutdown_all(sys: &Sys, fds: &[Fd]) {
    for &fd in fds {
        let _ = sys.shutdown(fd, Shutdown::Both).await;
    }
}

/// The accepted connection against the second address.
async fn serve(sx: &Socat<'_>, conn: Fd, second: &Address) -> i32 {
    match open_side(sx, second).await {
        Ok(b) => transfer(sx, Side::socket(conn), b).await,
        Err(failed) => {
            let mut fds = vec![conn];
            fds.extend(failed);
            shutdown_all(sx.sys, &fds).await;
            1
        }
    }
}

/// What one `xiotransfer` did.
enum Moved {
    /// Read some bytes and wrote them all.
    Bytes,
    /// Read EOF, or an error (ECONNRESET), which socat takes as the end too.
    End,
    /// The write failed: socat logs it and exits 1.
    WriteFailed(Errno, Fd, usize),
}

/// `xiotransfer()`: one read of up to [`BUFSIZE`] bytes, written on whole.
async fn move_once(sx: &Socat<'_>, from: Fd, to: Fd) -> Moved {
    sx.flush().await;
    let read = sx.sys.read(from, BUFSIZE).await;
    sx.flush().await;
    let data = match read {
        Ok(d) if !d.is_empty() => d,
        _ => return Moved::End,
    };
    sx.flush().await;
    if let Err(e) = sx.sys.write_all(to, &data).await {
        return Moved::WriteFailed(e, to, data.len());
    }
    sx.flush().await;
    Moved::Bytes
}

/// `_socat()`: both directions until both have ended, or one has and the other
/// stays quiet for 0.5 s.
///
/// As the real loop does, it remembers per direction whether its source is
/// known readable (`mayrd`) and its destination known writable (`maywr`), and
/// selects only for what it does not know: at first both sides for reading and
/// writing (`pselect6(7, [5 6], [5 6], [], NULL, NULL)`), then, after a write, the
/// written fd again (`[5 6], [5]`) before it reads that direction's source once
/// more. A direction moves when its source is readable and its destination
/// writable. Both moves come before the ends are handled: the end of one
/// direction shuts down writing on the other side's socket (never stdout) and
/// starts the 0.5 s wait.
async fn transfer(sx: &Socat<'_>, a: Side, b: Side) -> i32 {
    let sys = sx.sys;
    // Direction 1: a → b; direction 2: b → a.
    let (mut mayrd1, mut mayrd2, mut maywr1, mut maywr2) = (false, false, false, false);
    let (mut end1, mut end2) = (false, false);
    let mut closing = false;
    while !(end1 && end2) {
        let mut rd = Vec::new();
        let mut wr = Vec::new();
        if !end1 {
            if !mayrd1 {
                rd.push(a.rd);
            }
            if !maywr2 {
                wr.push(b.wr);
            }
        }
        if !end2 {
            if !mayrd2 {
                rd.push(b.rd);
            }
            if !maywr1 {
                wr.push(a.wr);
            }
        }
        for set in [&mut rd, &mut wr] {
            set.sort_unstable();
            set.dedup();
        }
        let timeout_ms = if closing { CLOSE_TIMEOUT_MS } else { -1 };
        sx.flush().await;
        let ready = sys.select_all_sets(&rd, &wr, timeout_ms).await;
        sx.flush().await;
        let (can_read, can_write) = match ready {
            // The wait after the first end ran out.
            Ok((r, w)) if r.is_empty() && w.is_empty() => break,
            Ok(ready) => ready,
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        };
        mayrd1 |= !end1 && can_read.contains(&a.rd);
        mayrd2 |= !end2 && can_read.contains(&b.rd);
        maywr1 |= can_write.contains(&a.wr);
        maywr2 |= can_write.contains(&b.wr);
        let mut ended = [false, false];
        for (dir, from, to) in [(0, a.rd, b.wr), (1, b.rd, a.wr)] {
            let (mayrd, maywr) = if dir == 0 {
                (&mut mayrd1, &mut maywr2)
            } else {
                (&mut mayrd2, &mut maywr1)
            };
            if !(*mayrd && *maywr) {
                continue;
            }
            *mayrd = false;
            match move_once(sx, from, to).await {
                Moved::Bytes => *maywr = false,
                Moved::End => ended[dir] = true,
                Moved::WriteFailed(e, fd, len) => {
                    log_error(sys, &format!("write({fd}, ..., {len}): {}", e.text())).await;
                    let fds: Vec<Fd> = [a.socket, b.socket].into_iter().flatten().collect();
                    shutdown_all(sys, &fds).await;
                    return 1;
                }
            }
        }
        for (dir, to) in [(0, b), (1, a)] {
            if ended[dir] {
                closing = true;
                if let Some(fd) = to.socket {
                    let _ = sys.shutdown(fd, Shutdown::Write).await;
                }
            }
        }
        end1 |= ended[0];
        end2 |= ended[1];
    }
    for fd in [a.socket, b.socket].into_iter().flatten() {
        let _ = sys.shutdown(fd, Shutdown::Both).await;
    }
    sx.flush().await;
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_with_options() {
        assert_eq!(
            parse_address("TCP-LISTEN:6000,fork,reuseaddr"),
            Ok(Address::Listen {
                port: 6000,
                fork: true,
                reuseaddr: true,
                reuseport: false,
                bind: Ipv4Addr::UNSPECIFIED,
                backlog: 5
            })
        );
        assert_eq!(
            parse_address("TCP:127.0.0.1:5000"),
            Ok(Address::Connect("127.0.0.1".into(), 5000))
        );
        assert_eq!(parse_address("-"), Ok(Address::Stdio));
        assert!(parse_address("UDP:x:1").is_err());
    }
}
