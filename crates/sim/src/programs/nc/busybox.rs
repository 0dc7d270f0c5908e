//! BusyBox 1.35.0's small `nc` applet (`networking/nc.c`, Debian 12's
//! `busybox nc`), as strace shows it on this machine.
//!
//! No signal set-up: SIGPIPE stays at its default, so a write into a dead pipe or
//! a reset socket kills it (status 141; ground truth §2). Listen: `socket`,
//! SO_REUSEADDR, `bind`, `listen(fd, 1)`, FD_CLOEXEC, `accept`, `close(listener)`.
//! Connect: `socket`, SO_REUSEADDR, a blocking `connect`; a refusal prints `nc:
//! can't connect to remote host (127.0.0.1): Connection refused`, exit 1.
//!
//! The loop polls stdin and the socket, reads 1024 bytes, and writes all of it on.
//! Network EOF: exit 0 at once. Stdin EOF: `shutdown(SHUT_WR)` and keep reading
//! the network.
//!
//! The listener is an AF_INET6 socket bound to `::`, dual-stack, as measured: its
//! IPv4 clients show as `::ffff:127.0.0.1`. Simplifications: `-ll` (keep
//! listening, with `-e`) and `-f FILE` are not simulated; `-i` is ignored.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::kernel::net::{Shutdown, SockOpt};
use crate::kernel::poll::{POLLIN, PollFd};
use crate::kernel::{Errno, Fd};
use crate::programs::nc::parse_port;
use crate::programs::userland::{
    Getopt, Opt, STDIN, STDOUT, basename, eprint, resolve, strerror, which,
};
use crate::sys::Sys;

/// The read size strace shows (`COMMON_BUFSIZE` here).
const BUFSIZE: usize = 1024;

const USAGE: &str = "BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.\n\n\
Usage: nc [-iN] [-wN] [-l] [-p PORT] [-f FILE|IPADDR PORT] [-e PROG]\n\n\
Open a pipe to IP:PORT or FILE\n\n\
\t-l\tListen mode, for inbound connects\n\
\t\t(use -ll with -e for persistent server)\n\
\t-p PORT\tLocal port\n\
\t-w SEC\tConnect timeout\n\
\t-i SEC\tDelay interval for lines sent\n\
\t-f FILE\tUse file (ala /dev/ttyS0) instead of network\n\
\t-e PROG\tRun PROG after connect\n";

async fn die(sys: &Sys, msg: &str) -> i32 {
    eprint(sys, &format!("nc: {msg}\n")).await;
    1
}

pub async fn main(sys: Sys, argv: Vec<String>) -> i32 {
    let mut g = Getopt::new(&argv, "+lp:w:i:e:f:");
    let mut listen = false;
    let mut port = None;
    let mut exec = None;
    while let Some(opt) = g.next_opt() {
        match opt {
            Opt::Flag('l', _) => listen = true,
            Opt::Flag('p', Some(v)) => match parse_port(&v) {
                Some(p) => port = Some(p),
                None => return die(&sys, &format!("bad port '{v}'")).await,
            },
            Opt::Flag('e', Some(p)) => exec = Some(p),
            Opt::Flag(..) => {}
            bad => {
                eprint(&sys, &Getopt::error_text("nc", &bad)).await;
                eprint(&sys, USAGE).await;
                return 1;
            }
        }
    }
    let operands = g.rest();
    let net = if listen {
        if !operands.is_empty() {
            eprint(&sys, USAGE).await;
            return 1;
        }
        // BusyBox listens on `::`, dual-stack (measured: socket(AF_INET6, ...)).
        let s = match sys
            .socket_as(crate::sys::SockType {
                v6: true,
                proto_zero: true,
                ..crate::sys::SockType::TCP
            })
            .await
        {
            Ok(s) => s,
            Err(e) => return die(&sys, &format!("socket: {}", strerror(e))).await,
        };
        let _ = sys.setsockopt(s, SockOpt::ReuseAddr, true).await;
        let bind = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port.unwrap_or(0));
        if let Err(e) = sys.bind(s, bind).await {
            return die(&sys, &format!("bind: {}", strerror(e))).await;
        }
        let _ = sys.listen(s, 1).await;
        let _ = sys.set_cloexec(s, true).await;
        if port.is_none()
            && let Ok(a) = sys.sockname(s, false).await
        {
            eprint(&sys, &format!("{}\n", a.port())).await;
        }
        let conn = match sys
            .accept_as(
                s,
                crate::sys::Accept {
                    addrlen: None,
                    ..crate::sys::Accept::ACCEPT
                },
            )
            .await
        {
            Ok((c, _)) => c,
            Err(e) => return die(&sys, &format!("accept: {}", strerror(e))).await,
        };
        let _ = sys.close(s).await;
        conn
    } else {
        let (host, p) = match operands.as_slice() {
            [h, p] => (h.clone(), p.clone()),
            _ => {
                eprint(&sys, USAGE).await;
                return 1;
            }
        };
        let Some(ip) = resolve(&host) else {
            return die(&sys, &format!("bad address '{host}'")).await;
        };
        let Some(p) = parse_port(&p) else {
            return die(&sys, &format!("bad port '{p}'")).await;
        };
        let s = match sys
            .socket_as(crate::sys::SockType {
                proto_zero: true,
                ..crate::sys::SockType::TCP
            })
            .await
        {
            Ok(s) => s,
            Err(e) => return die(&sys, &format!("socket: {}", strerror(e))).await,
        };
        let _ = sys.setsockopt(s, SockOpt::ReuseAddr, true).await;
        if let Some(lp) = port {
            let _ = sys
                .bind(s, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, lp))
                .await;
        }
        if let Err(e) = sys.connect(s, SocketAddrV4::new(ip, p)).await {
            return die(
                &sys,
                &format!("can't connect to remote host ({ip}): {}", strerror(e)),
            )
            .await;
        }
        s
    };
    if let Some(prog) = exec {
        // xmove_fd(cfd, 0); xdup2(0, 1); then exec.
        let _ = sys.dup2(net, STDIN).await;
        let _ = sys.close(net).await;
        let _ = sys.dup2(STDIN, STDOUT).await;
        let path = which(&sys, &prog).await.unwrap_or_else(|| prog.clone());
        let e = sys.execve(&path, vec![basename(&prog).to_string()]).await;
        return die(&sys, &format!("can't execute '{prog}': {}", strerror(e))).await;
    }
    pump(&sys, net).await
}

/// The poll loop of `nc.c`.
async fn pump(sys: &Sys, net: Fd) -> i32 {
    let mut pfds = [PollFd::new(STDIN, POLLIN), PollFd::new(net, POLLIN)];
    loop {
        match sys.poll(&mut pfds, -1).await {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(e) => return die(sys, &format!("poll: {}", strerror(e))).await,
        }
        for idx in 0..2 {
            if pfds[idx].fd < 0 || pfds[idx].revents == 0 {
                continue;
            }
            let fd = pfds[idx].fd;
            let data = sys.read(fd, BUFSIZE).await.unwrap_or_default();
            let out = if idx == 1 {
                if data.is_empty() {
                    return 0;
                }
                STDOUT
            } else {
                if data.is_empty() {
                    // Close the outgoing half so the peer gets EOF; keep reading.
                    let _ = sys.shutdown(net, Shutdown::Write).await;
                    pfds[0].fd = -1;
                    continue;
                }
                net
            };
            if let Err(e) = sys.write_all(out, &data).await {
                return die(sys, &format!("write error: {}", strerror(e))).await;
            }
        }
    }
}
