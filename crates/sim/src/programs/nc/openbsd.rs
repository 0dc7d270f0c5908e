//! netcat-openbsd 1.219-1 (Debian 12's default `nc`), after `netcat.c`'s `main`
//! and `readwrite()`.
//!
//! Start-up: `signal(SIGPIPE, SIG_IGN)`. Listen mode: `socket`, SO_REUSEADDR,
//! SO_REUSEPORT, `bind(0.0.0.0:PORT)`, `listen(fd, 1)`, `accept4`; the listening
//! socket stays open until exit (`-k`: back to `accept4` after each connection).
//! Connect mode: a non-blocking `connect` (EINPROGRESS), a wait for writability,
//! `getsockopt(SO_ERROR)`.
//!
//! The loop is `readwrite()`: four poll slots (stdin, net out, net in, stdout),
//! two 16384-byte buffers, and the exit rules the ground truth quotes (§7.5):
//! both inputs gone with empty buffers, or both outputs gone, or — in listen mode —
//! net in gone with empty buffers. So a listener exits on network EOF, and a
//! connector only once its stdin ends too (POLLHUP) or its outputs are dead.
//!
//! Simplifications:
//! - No DNS: `-v` without `-n` names 127.0.0.1 `localhost` through `/etc/hosts`
//!   (the real one also sends one DNS query at start-up; ground truth §9).
//! - `-q SECS` follows the ground truth's measured table (§7.9) rather than the
//!   code: connect mode shuts down writing at stdin EOF and exits SECS after the
//!   network ends; listen mode shuts down both ways SECS after stdin EOF.
//! - `-w` is the poll timeout of the loop (and of the connect wait); `-z` connects
//!   and closes. Other options of the real `nc` (proxies, UDP, TLS, unix sockets)
//!   are rejected with the usage text.

use std::net::SocketAddrV4;

use crate::kernel::net::{Shutdown, SockOpt};
use crate::kernel::poll::{POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, PollFd};
use crate::kernel::{Disposition, Errno, Fd, Signal};
use crate::programs::nc::{listen_socket, parse_port};
use crate::programs::userland::{
    Getopt, Opt, STDIN, STDOUT, basename, eprint, resolve, reverse_lookup, service_name, strerror,
};
use crate::sys::Sys;

/// `BUFSIZE` in netcat.c.
const BUFSIZE: usize = 16384;

const USAGE: &str = "usage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval] [-M ttl]\n\
\t  [-m minttl] [-O length] [-P proxy_username] [-p source_port]\n\
\t  [-q seconds] [-s sourceaddr] [-T keyword] [-V rtable] [-W recvlimit]\n\
\t  [-w timeout] [-X proxy_protocol] [-x proxy_address[:port]]\n\
\t  [destination] [port]\n";

/// The options that matter here.
#[derive(Clone, Debug, Default)]
struct Opts {
    listen: bool,
    keep: bool,
    shutdown_on_eof: bool,
    /// `-q`: None is "never quit on stdin EOF" (Debian's default, -1).
    quit_after_s: Option<u64>,
    verbose: bool,
    numeric: bool,
    zero_io: bool,
    no_stdin: bool,
    timeout_ms: i32,
    source_port: Option<u16>,
}

async fn errx(sys: &Sys, prog: &str, msg: &str) -> i32 {
    eprint(sys, &format!("{prog}: {msg}\n")).await;
    1
}

pub async fn main(sys: Sys, argv: Vec<String>) -> i32 {
    let prog = basename(&argv[0]).to_string();
    let mut o = Opts {
        timeout_ms: -1,
        ..Opts::default()
    };
    let mut g = Getopt::new(&argv, "46CDdFhI:i:klM:m:NnO:P:p:q:rSs:T:tUuV:vW:w:X:x:Zz");
    while let Some(opt) = g.next_opt() {
        match opt {
            Opt::Flag('l', _) => o.listen = true,
            Opt::Flag('k', _) => o.keep = true,
            Opt::Flag('N', _) => o.shutdown_on_eof = true,
            Opt::Flag('v', _) => o.verbose = true,
            Opt::Flag('n', _) => o.numeric = true,
            Opt::Flag('z', _) => o.zero_io = true,
            Opt::Flag('d', _) => o.no_stdin = true,
            Opt::Flag('4' | 'D' | 'r' | 'S' | 't' | 'C' | 'F' | 'Z', _) => {}
            Opt::Flag('q', Some(v)) => match v.parse::<i64>() {
                Ok(n) => o.quit_after_s = (n >= 0).then_some(n as u64),
                Err(_) => {
                    return errx(&sys, &prog, &format!("quit timer {v}: invalid")).await;
                }
            },
            Opt::Flag('w', Some(v)) => match v.parse::<i64>() {
                Ok(n) if n >= 0 => o.timeout_ms = (n * 1000).min(i32::MAX as i64) as i32,
                _ => return errx(&sys, &prog, &format!("timeout {v}: invalid")).await,
            },
            Opt::Flag('p', Some(v)) => match parse_port(&v) {
                Some(p) => o.source_port = Some(p),
                None => return errx(&sys, &prog, &format!("port number invalid: {v}")).await,
            },
            Opt::Flag(..) => {
                eprint(&sys, USAGE).await;
                return 1;
            }
            bad => {
                eprint(&sys, &Getopt::error_text(&prog, &bad)).await;
                eprint(&sys, USAGE).await;
                return 1;
            }
        }
    }
    let operands = g.rest();
    // Argument checks, as netcat.c makes them.
    let (host, port_arg) = match (o.listen, operands.as_slice()) {
        (true, []) => match o.source_port {
            Some(p) => (None, p.to_string()),
            None => return errx(&sys, &prog, "missing port number").await,
        },
        (true, [p]) if o.source_port.is_none() => (None, p.clone()),
        (true, [h, p]) if o.source_port.is_none() => (Some(h.clone()), p.clone()),
        (false, [h, p]) => (Some(h.clone()), p.clone()),
        (false, [_]) => return errx(&sys, &prog, "missing port number").await,
        _ => {
            eprint(&sys, USAGE).await;
            return 1;
        }
    };
    if o.keep && !o.listen {
        return errx(&sys, &prog, "must use -l with -k").await;
    }
    let Some(port) = parse_port(&port_arg) else {
        return errx(&sys, &prog, &format!("port number invalid: {port_arg}")).await;
    };
    let _ = sys.signal(Signal::SIGPIPE, Disposition::Ignore).await;
    if o.listen {
        let bind = match host.as_deref().map(resolve) {
            None => std::net::Ipv4Addr::UNSPECIFIED,
            Some(Some(ip)) => ip,
            Some(None) => {
                let h = host.unwrap_or_default();
                return errx(
                    &sys,
                    &prog,
                    &format!("getaddrinfo: Name or service not known: {h}"),
                )
                .await;
            }
        };
        listen_mode(&sys, &prog, &o, SocketAddrV4::new(bind, port)).await
    } else {
        let host = host.expect("connect mode has a host");
        let Some(ip) = resolve(&host) else {
            return errx(
                &sys,
                &prog,
                &format!("getaddrinfo for host \"{host}\" port {port}: Name or service not known"),
            )
            .await;
        };
        connect_mode(&sys, &prog, &o, SocketAddrV4::new(ip, port), &host).await
    }
}

async fn listen_mode(sys: &Sys, prog: &str, o: &Opts, at: SocketAddrV4) -> i32 {
    let s = match listen_socket(sys, at, &[SockOpt::ReuseAddr, SockOpt::ReusePort], &[]).await {
        Ok(fd) => fd,
        Err(("bind", e)) => return errx(sys, prog, strerror(e)).await,
        Err((what, e)) => return errx(sys, prog, &format!("{what}: {}", strerror(e))).await,
    };
    if o.verbose {
        eprint(sys, &format!("Listening on {} {}\n", at.ip(), at.port())).await;
    }
    loop {
        let (conn, peer) = match sys
            .accept_as(
                s,
                crate::sys::Accept {
                    nonblock: true,
                    addrlen: Some(128),
                    ..crate::sys::Accept::ACCEPT4
                },
            )
            .await
        {
            Ok(c) => c,
            Err(e) => return errx(sys, prog, &format!("accept: {}", strerror(e))).await,
        };
        if o.verbose {
            let who = if o.numeric {
                peer.ip().to_string()
            } else {
                reverse_lookup(*peer.ip())
                    .map(String::from)
                    .unwrap_or_else(|| peer.ip().to_string())
            };
            eprint(
                sys,
                &format!("Connection received on {who} {}\n", peer.port()),
            )
            .await;
        }
        if !o.zero_io {
            readwrite(sys, o, conn).await;
        }
        let _ = sys.close(conn).await;
        if !o.keep {
            let _ = sys.close(s).await;
            break;
        }
    }
    // The final `if (s != -1) close(s)`: the socket is already closed (EBADF).
    let _ = sys.close(s).await;
    0
}

async fn connect_mode(sys: &Sys, prog: &str, o: &Opts, to: SocketAddrV4, host: &str) -> i32 {
    let nonblock = crate::sys::SockType {
        nonblock: true,
        ..crate::sys::SockType::TCP
    };
    let s = match sys.socket_as(nonblock).await {
        Ok(fd) => fd,
        Err(e) => return errx(sys, prog, &format!("socket: {}", strerror(e))).await,
    };
    // `socket` made it non-blocking already; the real nc sets it again.
    let _ = sys.set_nonblock(s, true).await;
    if let Some(p) = o.source_port {
        let bind = SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, p);
        let _ = sys.setsockopt(s, SockOpt::ReuseAddr, true).await;
        let _ = sys.setsockopt(s, SockOpt::ReusePort, true).await;
        if let Err(e) = sys.bind(s, bind).await {
            let _ = sys.close(s).await;
            return errx(sys, prog, &format!("bind failed: {}", strerror(e))).await;
        }
    }
    let outcome = match sys.connect(s, to).await {
        Ok(()) => Ok(()),
        Err(Errno::EINPROGRESS) => match sys.select(&[], &[s], o.timeout_ms).await {
            Ok((_, w)) if w.is_empty() => Err(Errno::ETIMEDOUT),
            Ok(_) => match sys.so_error(s).await {
                Ok(None) => Ok(()),
                Ok(Some(e)) | Err(e) => Err(e),
            },
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let _ = sys.set_nonblock(s, true).await;
    if let Err(e) = outcome {
        if o.verbose {
            eprint(sys, &format!("{prog}: ")).await;
            eprint(
                sys,
                &format!("connect to {host} port {} (tcp) failed", to.port()),
            )
            .await;
            eprint(sys, &format!(": {}\n", strerror(e))).await;
        }
        let _ = sys.close(s).await;
        return 1;
    }
    if o.verbose {
        eprint(sys, &format!("Connection to {host}")).await;
        let service = service_name(to.port()).unwrap_or("*");
        eprint(
            sys,
            &format!(" {} port [tcp/{service}] succeeded!\n", to.port()),
        )
        .await;
    }
    if !o.zero_io {
        readwrite(sys, o, s).await;
    }
    let _ = sys.close(s).await;
    0
}

const POLL_STDIN: usize = 0;
const POLL_NETOUT: usize = 1;
const POLL_NETIN: usize = 2;
const POLL_STDOUT: usize = 3;

/// `fillbuf`: one read into the free part of `buf`. Returns what `read` gave:
/// `Some(n)` bytes (0 is EOF), or None for EAGAIN/EINTR (try again), or Err.
async fn fillbuf(sys: &Sys, fd: Fd, buf: &mut Vec<u8>) -> Result<Option<usize>, Errno> {
    match sys.read(fd, BUFSIZE - buf.len()).await {
        Ok(d) => {
            buf.extend_from_slice(&d);
            Ok(Some(d.len()))
        }
        Err(Errno::EAGAIN | Errno::EINTR) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `drainbuf`: one write of the whole buffer; drops what went out.
async fn drainbuf(sys: &Sys, fd: Fd, buf: &mut Vec<u8>) -> Result<(), Errno> {
    match sys.write(fd, buf).await {
        Ok(n) => {
            buf.drain(..n);
            Ok(())
        }
        Err(Errno::EAGAIN | Errno::EINTR) => Ok(()),
        Err(e) => Err(e),
    }
}

/// `readwrite()`: shovels stdin → net and net → stdout until an exit rule holds.
async fn readwrite(sys: &Sys, o: &Opts, net: Fd) {
    let mut pfd = [
        PollFd::new(if o.no_stdin { -1 } else { STDIN }, POLLIN),
        PollFd::new(net, 0),
        PollFd::new(net, POLLIN),
        PollFd::new(STDOUT, 0),
    ];
    let mut stdinbuf: Vec<u8> = Vec::new();
    let mut netinbuf: Vec<u8> = Vec::new();
    // -q in listen mode: stdin ended at this time; quit `-q` seconds later.
    let quit = o.quit_after_s;
    loop {
        // Both inputs are gone, buffers are empty: done.
        if pfd[POLL_STDIN].fd == -1
            && pfd[POLL_NETIN].fd == -1
            && stdinbuf.is_empty()
            && netinbuf.is_empty()
        {
            return delay_exit(sys, o).await;
        }
        // Both outputs are gone: we can't continue.
        if pfd[POLL_NETOUT].fd == -1 && pfd[POLL_STDOUT].fd == -1 {
            return delay_exit(sys, o).await;
        }
        // Listen and net in gone, queues empty: done.
        if o.listen && pfd[POLL_NETIN].fd == -1 && stdinbuf.is_empty() && netinbuf.is_empty() {
            return delay_exit(sys, o).await;
        }
        let n = match sys.poll(&mut pfd, o.timeout_ms).await {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => {
                eprint(sys, &format!("nc: polling error: {}\n", strerror(e))).await;
                sys.exit(1).await;
            }
        };
        if n == 0 {
            // Timeout (-w).
            return;
        }
        // Socket error conditions.
        for p in pfd.iter_mut() {
            if p.revents & (POLLERR | POLLNVAL) != 0 {
                p.fd = -1;
            }
        }
        // Reading is possible after HUP.
        let hup_only = |p: &PollFd| {
            p.events & POLLIN != 0 && p.revents & POLLHUP != 0 && p.revents & POLLIN == 0
        };
        if hup_only(&pfd[POLL_STDIN]) {
            pfd[POLL_STDIN].fd = -1;
        }
        if hup_only(&pfd[POLL_NETIN]) {
            pfd[POLL_NETIN].fd = -1;
        }
        if pfd[POLL_NETOUT].revents & POLLHUP != 0 {
            if o.shutdown_on_eof && pfd[POLL_NETOUT].fd != -1 {
                let _ = sys.shutdown(pfd[POLL_NETOUT].fd, Shutdown::Write).await;
            }
            pfd[POLL_NETOUT].fd = -1;
        }
        // If HUP, stop watching stdout.
        if pfd[POLL_STDOUT].revents & POLLHUP != 0 {
            pfd[POLL_STDOUT].fd = -1;
        }
        // If no net out, stop watching stdin.
        if pfd[POLL_NETOUT].fd == -1 {
            pfd[POLL_STDIN].fd = -1;
        }
        // If no stdout, stop watching net in.
        if pfd[POLL_STDOUT].fd == -1 {
            if pfd[POLL_NETIN].fd != -1 {
                let _ = sys.shutdown(pfd[POLL_NETIN].fd, Shutdown::Read).await;
            }
            pfd[POLL_NETIN].fd = -1;
        }
        let mut stdin_eof = false;
        // Try to read from stdin.
        if pfd[POLL_STDIN].fd != -1
            && pfd[POLL_STDIN].revents & POLLIN != 0
            && stdinbuf.len() < BUFSIZE
        {
            match fillbuf(sys, pfd[POLL_STDIN].fd, &mut stdinbuf).await {
                Ok(Some(0)) | Err(_) => {
                    pfd[POLL_STDIN].fd = -1;
                    stdin_eof = true;
                }
                _ => {}
            }
            if !stdinbuf.is_empty() {
                pfd[POLL_NETOUT].events = POLLOUT;
            }
            if stdinbuf.len() == BUFSIZE {
                pfd[POLL_STDIN].events = 0;
            }
        }
        // Try to write to the network.
        if pfd[POLL_NETOUT].fd != -1
            && pfd[POLL_NETOUT].revents & POLLOUT != 0
            && !stdinbuf.is_empty()
        {
            if drainbuf(sys, pfd[POLL_NETOUT].fd, &mut stdinbuf)
                .await
                .is_err()
            {
                pfd[POLL_NETOUT].fd = -1;
            }
            if stdinbuf.is_empty() {
                pfd[POLL_NETOUT].events = 0;
            }
            if stdinbuf.len() < BUFSIZE {
                pfd[POLL_STDIN].events = POLLIN;
            }
        }
        // Try to read from the network.
        if pfd[POLL_NETIN].fd != -1
            && pfd[POLL_NETIN].revents & POLLIN != 0
            && netinbuf.len() < BUFSIZE
        {
            match fillbuf(sys, pfd[POLL_NETIN].fd, &mut netinbuf).await {
                Ok(Some(0)) => {
                    let _ = sys.shutdown(pfd[POLL_NETIN].fd, Shutdown::Read).await;
                    pfd[POLL_NETIN].fd = -1;
                }
                Err(_) => pfd[POLL_NETIN].fd = -1,
                _ => {}
            }
            if !netinbuf.is_empty() {
                pfd[POLL_STDOUT].events = POLLOUT;
            }
            if netinbuf.len() == BUFSIZE {
                pfd[POLL_NETIN].events = 0;
            }
        }
        // Try to write to stdout.
        if pfd[POLL_STDOUT].fd != -1
            && pfd[POLL_STDOUT].revents & POLLOUT != 0
            && !netinbuf.is_empty()
        {
            if drainbuf(sys, pfd[POLL_STDOUT].fd, &mut netinbuf)
                .await
                .is_err()
            {
                pfd[POLL_STDOUT].fd = -1;
            }
            if netinbuf.is_empty() {
                pfd[POLL_STDOUT].events = 0;
            }
            if netinbuf.len() < BUFSIZE {
                pfd[POLL_NETIN].events = POLLIN;
            }
        }
        // Stdin gone and queue empty?
        if pfd[POLL_STDIN].fd == -1 && stdinbuf.is_empty() {
            if pfd[POLL_NETOUT].fd != -1 && (o.shutdown_on_eof || quit.is_some()) {
                let _ = sys.shutdown(pfd[POLL_NETOUT].fd, Shutdown::Write).await;
            }
            pfd[POLL_NETOUT].fd = -1;
            // Listen mode with -q: after the delay, close both ways and go.
            if stdin_eof
                && o.listen
                && let Some(secs) = quit
            {
                if secs > 0 {
                    let _ = sys.sleep_us(secs * 1_000_000).await;
                }
                let _ = sys.shutdown(net, Shutdown::Read).await;
                return;
            }
        }
        // Net in gone and queue empty?
        if pfd[POLL_NETIN].fd == -1 && netinbuf.is_empty() {
            pfd[POLL_STDOUT].fd = -1;
        }
    }
}

/// `delay_exit`: with `-q SECS`, linger SECS seconds before returning.
async fn delay_exit(sys: &Sys, o: &Opts) {
    if let Some(secs) = o.quit_after_s
        && secs > 0
        && !o.listen
    {
        let _ = sys.sleep_us(secs * 1_000_000).await;
    }
}
