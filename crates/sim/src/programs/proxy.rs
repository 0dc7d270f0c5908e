//! `pipelab-proxy [-v] LISTEN BACKEND`: the native proxy of `crates/proxy`, as the
//! kernel sees it. One process, one poll loop over non-blocking sockets: it accepts
//! every client at once, connects a backend socket per client, copies both
//! directions through one bounded buffer each, passes an EOF on as
//! `shutdown(SHUT_WR)`, and closes a connection's two sockets only when both
//! directions are done.
//!
//! Wording and exit codes are the real binary's (`crates/proxy/src/main.rs`,
//! `relay.rs`, `server.rs`): with `-v`, `listening on [127.0.0.1] 6000 ...`,
//! `connect to [127.0.0.1] from [127.0.0.1] 40000` and ` sent 210, rcvd 78
//! (0.003s, [127.0.0.1] 40000)`; a refused backend is a warning
//! (`pipelab-proxy: warning: no backend for [..] PORT: Connection refused (os
//! error 111); closing the client`) and the client is closed at once; 2 for bad
//! arguments, 3 for a bad address, 4 when it cannot listen.
//!
//! SIGPIPE: strace of the real one shows both guards, and so does this one: Rust's
//! runtime sets `rt_sigaction(SIGPIPE, SIG_IGN)` before `main`, and every send is
//! `sendto(..., MSG_NOSIGNAL)` (mio). A peer that went away is an EPIPE, never a
//! death.
//!
//! Simplifications (real → here, and how to lift):
//! - tokio runs a worker thread per CPU over `epoll_wait` with edge-triggered
//!   interest; here one thread `poll`s, level-triggered. Threads are not modelled.
//! - `accept4(SOCK_NONBLOCK)` shows here as `accept4` then `fcntl(O_NONBLOCK)`.
//! - A failed connection (reset, EPIPE) resets the other side with `SO_LINGER` 0;
//!   here it is closed (a close with unread data still resets).
//! - Only the default options: one backend, 64 KiB buffers, no timeouts, no
//!   connection limit, no drain on SIGTERM/SIGINT (the default action ends it).

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::kernel::net::{Shutdown, SockOpt};
use crate::kernel::poll::{POLLERR, POLLHUP, POLLIN, POLLOUT, PollFd};
use crate::kernel::{Disposition, Errno, Fd, Micros, Signal};
use crate::programs::rss;
use crate::programs::userland::{eprint, resolve};
use crate::sys::{Sys, Task};

/// `--buffer-size` default: bytes moved at once per direction.
const BUFFER_SIZE: usize = 64 * 1024;
/// `--backlog` default (Linux caps it at `net.core.somaxconn`, 4096).
const BACKLOG: i32 = 4096;
const EXIT_USAGE: i32 = 2;
const EXIT_ADDRESS: i32 = 3;
const EXIT_LISTEN: i32 = 4;

pub fn main(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(run(sys, argv))
}

/// `PORT` (loopback only) or `HOST:PORT`.
fn parse_listen(s: &str) -> Option<SocketAddrV4> {
    if let Ok(port) = s.parse::<u16>() {
        return Some(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
    }
    parse_host_port(s)
}

fn parse_host_port(s: &str) -> Option<SocketAddrV4> {
    let (host, port) = s.rsplit_once(':')?;
    Some(SocketAddrV4::new(resolve(host)?, port.parse().ok()?))
}

/// io::Error's text: `Connection refused (os error 111)`.
fn os_error(e: Errno) -> String {
    format!("{} (os error {})", e.text(), e.number())
}

/// One way through a connection.
#[derive(Debug, Default)]
struct Direction {
    /// Read, not yet sent (at most [`BUFFER_SIZE`]).
    pending: Vec<u8>,
    /// EOF was read.
    eof: bool,
    /// The EOF was passed on.
    shut: bool,
    bytes: u64,
}

impl Direction {
    fn wants_read(&self) -> bool {
        !self.eof && self.pending.is_empty()
    }
}

#[derive(Debug)]
struct Conn {
    client: Fd,
    backend: Fd,
    peer: SocketAddrV4,
    started_us: Micros,
    /// The non-blocking connect to the backend has not finished.
    connecting: bool,
    /// client → backend (`rcvd`).
    up: Direction,
    /// backend → client (`sent`).
    down: Direction,
}

/// Whether a connection goes on after a step.
enum Next {
    Open,
    Done,
    Failed,
}

async fn run(sys: Sys, argv: Vec<String>) -> i32 {
    let _ = sys.sigaction(Signal::SIGPIPE, Disposition::Ignore).await;
    let verbose = argv[1..].iter().any(|a| a == "-v" || a == "--verbose");
    let args: Vec<&String> = argv[1..].iter().filter(|a| !a.starts_with('-')).collect();
    let (listen, backend) = match args.as_slice() {
        [l, b] => (l.as_str(), b.as_str()),
        [_] => {
            eprint(&sys, "pipelab-proxy: the following required arguments were not provided: <BACKEND>... (see --help)\n").await;
            return EXIT_USAGE;
        }
        _ => {
            eprint(&sys, "pipelab-proxy: the following required arguments were not provided: <LISTEN> <BACKEND>... (see --help)\n").await;
            return EXIT_USAGE;
        }
    };
    let Some(listen_addr) = parse_listen(listen) else {
        eprint(
            &sys,
            &format!("pipelab-proxy: bad address \"{listen}\": expected HOST:PORT\n"),
        )
        .await;
        return EXIT_ADDRESS;
    };
    let Some(backend_addr) = parse_host_port(backend) else {
        eprint(
            &sys,
            &format!("pipelab-proxy: bad address \"{backend}\": expected HOST:PORT\n"),
        )
        .await;
        return EXIT_ADDRESS;
    };
    let listener = match listen_on(&sys, listen_addr).await {
        Ok(fd) => fd,
        Err(e) => {
            eprint(
                &sys,
                &format!(
                    "pipelab-proxy: cannot listen on {listen_addr}: {}\n",
                    os_error(e)
                ),
            )
            .await;
            return EXIT_LISTEN;
        }
    };
    if verbose {
        let a = sys.sockname(listener, false).await.unwrap_or(listen_addr);
        eprint(
            &sys,
            &format!("listening on [{}] {} ...\n", a.ip(), a.port()),
        )
        .await;
    }
    let mut conns: Vec<Conn> = Vec::new();
    loop {
        let mut fds = vec![PollFd::new(listener, POLLIN)];
        for c in &conns {
            if c.connecting {
                fds.push(PollFd::new(c.backend, POLLOUT));
                continue;
            }
            let mut client = 0;
            let mut backend = 0;
            if c.up.wants_read() {
                client |= POLLIN;
            }
            if !c.up.pending.is_empty() {
                backend |= POLLOUT;
            }
            if c.down.wants_read() {
                backend |= POLLIN;
            }
            if !c.down.pending.is_empty() {
                client |= POLLOUT;
            }
            if client != 0 {
                fds.push(PollFd::new(c.client, client));
            }
            if backend != 0 {
                fds.push(PollFd::new(c.backend, backend));
            }
        }
        match sys.poll(&mut fds, -1).await {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return 1,
        }
        let revents = |fd: Fd| fds.iter().find(|p| p.fd == fd).map_or(0, |p| p.revents);
        let mut i = 0;
        while i < conns.len() {
            let c = &mut conns[i];
            let (cr, br) = (revents(c.client), revents(c.backend));
            let next = if c.connecting {
                if br == 0 {
                    Next::Open
                } else {
                    finish_connect(&sys, c).await
                }
            } else {
                step(&sys, c, cr, br).await
            };
            match next {
                Next::Open => i += 1,
                Next::Done | Next::Failed => {
                    let c = conns.remove(i);
                    close_conn(&sys, &c, verbose).await;
                    sys.set_rss_kb(Some(rss::proxy(conns.len())));
                }
            }
        }
        if revents(listener) & POLLIN != 0 {
            accept_all(&sys, listener, backend_addr, verbose, &mut conns).await;
            sys.set_rss_kb(Some(rss::proxy(conns.len())));
        }
    }
}

/// `socket`, `SO_REUSEADDR`, `bind`, `listen`, non-blocking.
async fn listen_on(sys: &Sys, addr: SocketAddrV4) -> Result<Fd, Errno> {
    let s = sys.socket().await?;
    let _ = sys.setsockopt(s, SockOpt::ReuseAddr, true).await;
    sys.bind(s, addr).await?;
    sys.listen(s, BACKLOG).await?;
    sys.set_nonblock(s, true).await?;
    Ok(s)
}

/// Accepts until EAGAIN; for each client, starts a connect to the backend.
async fn accept_all(
    sys: &Sys,
    listener: Fd,
    backend: SocketAddrV4,
    verbose: bool,
    conns: &mut Vec<Conn>,
) {
    loop {
        let (client, peer) = match sys.accept(listener).await {
            Ok(c) => c,
            // EAGAIN: no one else is waiting. Other errors (EMFILE) are logged by
            // the real one and retried later; here, too, the loop goes on.
            Err(_) => return,
        };
        let _ = sys.set_nonblock(client, true).await;
        if verbose {
            let local = sys
                .sockname(client, false)
                .await
                .map_or(Ipv4Addr::LOCALHOST, |a| *a.ip());
            eprint(
                sys,
                &format!(
                    "connect to [{local}] from [{}] {}\n",
                    peer.ip(),
                    peer.port()
                ),
            )
            .await;
        }
        let started_us = sys.now_us();
        let b = match sys.socket().await {
            Ok(b) => b,
            Err(e) => {
                refuse(sys, client, peer, e).await;
                continue;
            }
        };
        let _ = sys.set_nonblock(b, true).await;
        let connecting = match sys.connect(b, backend).await {
            Ok(()) => false,
            Err(Errno::EINPROGRESS) => true,
            Err(e) => {
                let _ = sys.close(b).await;
                refuse(sys, client, peer, e).await;
                continue;
            }
        };
        conns.push(Conn {
            client,
            backend: b,
            peer,
            started_us,
            connecting,
            up: Direction::default(),
            down: Direction::default(),
        });
    }
}

/// No backend: say so and close the client now (the next client tries again).
async fn refuse(sys: &Sys, client: Fd, peer: SocketAddrV4, e: Errno) {
    eprint(
        sys,
        &format!(
            "pipelab-proxy: warning: no backend for [{}] {}: {}; closing the client\n",
            peer.ip(),
            peer.port(),
            os_error(e)
        ),
    )
    .await;
    let _ = sys.close(client).await;
}

/// The backend socket became writable (or failed): `SO_ERROR` says which.
async fn finish_connect(sys: &Sys, c: &mut Conn) -> Next {
    match sys.so_error(c.backend).await {
        Ok(None) => {
            c.connecting = false;
            Next::Open
        }
        Ok(Some(e)) | Err(e) => {
            let _ = sys.close(c.backend).await;
            refuse(sys, c.client, c.peer, e).await;
            // Both fds are closed; mark them so close_conn leaves them alone.
            c.client = -1;
            c.backend = -1;
            Next::Failed
        }
    }
}

/// Moves what can move on an open connection, given each socket's `revents`.
async fn step(sys: &Sys, c: &mut Conn, client_ev: u16, backend_ev: u16) -> Next {
    let readable = POLLIN | POLLHUP | POLLERR;
    let writable = POLLOUT | POLLHUP | POLLERR;
    for (dir, from, from_ev, to, to_ev) in [
        (&mut c.up, c.client, client_ev, c.backend, backend_ev),
        (&mut c.down, c.backend, backend_ev, c.client, client_ev),
    ] {
        let mut just_read = false;
        if dir.wants_read() && from_ev & readable != 0 {
            match sys.recv(from, BUFFER_SIZE).await {
                Ok(d) if d.is_empty() => dir.eof = true,
                Ok(d) => {
                    dir.pending = d;
                    just_read = true;
                }
                Err(Errno::EAGAIN) => {}
                Err(_) => return Next::Failed,
            }
        }
        // Send at once after a read, as tokio's copy does; else when writable.
        if !dir.pending.is_empty() && (just_read || to_ev & writable != 0) {
            match sys.send_nosignal(to, &dir.pending).await {
                Ok(n) => {
                    dir.pending.drain(..n);
                    dir.bytes += n as u64;
                }
                Err(Errno::EAGAIN) => {}
                Err(_) => return Next::Failed,
            }
        }
        if dir.eof && dir.pending.is_empty() && !dir.shut {
            // The half-close goes on: the other side reads EOF, and may still answer.
            let _ = sys.shutdown(to, Shutdown::Write).await;
            dir.shut = true;
        }
    }
    if c.up.shut && c.down.shut {
        Next::Done
    } else {
        Next::Open
    }
}

/// Closes both sockets (only now that both directions are over) and logs the
/// totals.
async fn close_conn(sys: &Sys, c: &Conn, verbose: bool) {
    if c.client < 0 {
        return;
    }
    if verbose {
        // Rounded to milliseconds in integers: no float formatting in the wasm.
        let ms = (sys.now_us() - c.started_us + 500) / 1000;
        eprint(
            sys,
            &format!(
                " sent {}, rcvd {} ({}.{:03}s, [{}] {})\n",
                c.down.bytes,
                c.up.bytes,
                ms / 1000,
                ms % 1000,
                c.peer.ip(),
                c.peer.port()
            ),
        )
        .await;
    }
    let _ = sys.close(c.backend).await;
    let _ = sys.close(c.client).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_port_listens_on_loopback_only() {
        assert_eq!(
            parse_listen("6000"),
            Some("127.0.0.1:6000".parse().unwrap())
        );
        assert_eq!(
            parse_listen("0.0.0.0:6000"),
            Some("0.0.0.0:6000".parse().unwrap())
        );
        assert_eq!(parse_listen("60x0"), None);
        assert_eq!(parse_host_port("6000"), None);
    }

    #[test]
    fn errors_read_like_rust_io_errors() {
        assert_eq!(
            os_error(Errno::ECONNREFUSED),
            "Connection refused (os error 111)"
        );
    }
}
