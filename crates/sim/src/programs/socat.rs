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
//! The transfer loop selects on both sides (`pselect6`) and moves up to 8192 bytes a read (`-b`'s
//! default). When one side reaches EOF socat shuts down writing on the other and
//! waits up to 0.5 s (`-t`'s default) for the other direction to finish, then
//! closes both and exits 0. With `fork` the parent goes straight back to `accept`.
//!
//! Errors are socat's log lines, `YYYY/MM/DD HH:MM:SS socat[PID] E ...`, with the
//! simulated wall clock. Simplifications: no other address types or options;
//! SIGCHLD reaping of forked children is a `wait4(WNOHANG)` sweep before each
//! `accept`. As measured with strace here, socat first makes
//! `socketpair(AF_UNIX, SOCK_DGRAM, 0, [3, 4])` for its log messages and selects
//! on it beside the listener (`[3 5]`); each forked child closes its parent's pair
//! and makes its own. So the listener is fd 5, an accepted client fd 6 and a
//! child's backend socket fd 5 (`E connect(5, ...`), as on the real machine. Each
//! socket gets `fcntl(FD_CLOEXEC)`; the listener's address is read back after
//! bind, an accepted client's two addresses after accept. Left out (measured,
//! for whoever adds them): the `recvfrom(3, ..., 519, MSG_DONTWAIT, NULL, NULL)`
//! polls of the pair (EAGAIN), one before and one after nearly every call, so
//! that a real transfer makes three times the syscalls shown here;
//! `rt_sigprocmask` around fork; `getsockname` after connect; the transfer
//! loop's write sets (`pselect6(7, [5 6], [5 6], [], ...)` until both sides
//! are writable, then `[5 6], [5]` or `[6]` while a write is pending); and the
//! error path's `getsockname` and `recvmsg(MSG_ERRQUEUE)`.
//! On an error exit socat shuts down (SHUT_RDWR) each socket it holds, as strace
//! shows; that FIN is why a client of a failed child reads an empty reply.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::kernel::net::{Shutdown, SockOpt};
use crate::kernel::{Errno, Fd};
use crate::programs::rss;
use crate::programs::userland::{STDIN, STDOUT, WallTime, eprint, resolve};
use crate::sys::{Sys, Task};

/// `-b` default.
const BUFSIZE: usize = 8192;
/// `-t` default: how long to wait for the other direction after one EOF.
const CLOSE_TIMEOUT_MS: i32 = 500;

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
    Box::pin(run(sys, argv))
}

/// `2026/11/26 00:00:01 socat[PID] E MSG`.
async fn log_error(sys: &Sys, msg: &str) {
    let when = WallTime::at(sys.now_us()).slash_date();
    eprint(sys, &format!("{when} socat[{}] E {msg}\n", sys.pid())).await;
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
            let _ = sys.set_cloexec(s, true).await;
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
            loop {
                // Reap children that have finished (socat's SIGCHLD handler).
                while let Ok(Some(_)) = sys.waitpid(-1, true).await {}
                // socat waits in select (on its pair too), then accepts.
                match sys.select(&[pair.0, s], &[], -1).await {
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(_) => return 1,
                }
                let (conn, _) = match sys.accept_as(s, crate::sys::Accept::ACCEPT).await {
                    Ok(c) => c,
                    Err(Errno::EINTR) => continue,
                    Err(e) => {
                        log_error(&sys, &format!("accept({s}, ...): {}", e.text())).await;
                        return 1;
                    }
                };
                let _ = sys.set_cloexec(conn, true).await;
                // Both ends' addresses, into socat's 112-byte address buffer.
                let _ = sys.sockname_buf(conn, true, Some(112)).await;
                let _ = sys.sockname_buf(conn, false, Some(112)).await;
                if !fork {
                    let _ = sys.close(s).await;
                    return serve(&sys, conn, &second).await;
                }
                let second = second.clone();
                let child = sys
                    .fork(move |c| async move {
                        c.set_rss_kb(Some(rss::SOCAT_CHILD));
                        // A new pair of its own, then the listener goes.
                        let _ = c.close(pair.1).await;
                        let _ = c.close(pair.0).await;
                        let _ = c.socketpair().await;
                        let _ = c.close(s).await;
                        let code = serve(&c, conn, &second).await;
                        c.exit(code).await
                    })
                    .await;
                if let Err(e) = child {
                    log_error(&sys, &format!("fork(): {}", e.text())).await;
                }
                let _ = sys.close(conn).await;
            }
        }
        other => {
            // Open the first address, then the second, then transfer.
            let a = match open_side(&sys, &other).await {
                Ok(a) => a,
                Err(failed) => {
                    shutdown_all(&sys, &failed.into_iter().collect::<Vec<_>>()).await;
                    return 1;
                }
            };
            match open_side(&sys, &second).await {
                Ok(b) => transfer(&sys, a, b).await,
                Err(failed) => {
                    let mut fds = vec![a.0];
                    fds.extend(failed);
                    shutdown_all(&sys, &fds).await;
                    1
                }
            }
        }
    }
}

/// Both fds of an opened address: (read from, write to).
type Side = (Fd, Fd);

/// Opens an address. On failure, the socket it made (if any): socat's exit
/// handler shuts down every socket it holds.
async fn open_side(sys: &Sys, a: &Address) -> Result<Side, Option<Fd>> {
    match a {
        Address::Stdio => Ok((STDIN, STDOUT)),
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
            let _ = sys.set_cloexec(s, true).await;
            if let Err(e) = sys.connect(s, SocketAddrV4::new(ip, *port)).await {
                log_error(
                    sys,
                    &format!("connect({s}, AF=2 {ip}:{port}, 16): {}", e.text()),
                )
                .await;
                return Err(Some(s));
            }
            Ok((s, s))
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
        if fd > STDOUT {
            let _ = sys.shutdown(fd, Shutdown::Both).await;
        }
    }
}

/// The accepted connection against the second address.
async fn serve(sys: &Sys, conn: Fd, second: &Address) -> i32 {
    match open_side(sys, second).await {
        Ok(b) => transfer(sys, (conn, conn), b).await,
        Err(failed) => {
            let mut fds = vec![conn];
            fds.extend(failed);
            shutdown_all(sys, &fds).await;
            1
        }
    }
}

/// `_socat()`: both directions until both are done, or one is done and the
/// other stays quiet for 0.5 s.
async fn transfer(sys: &Sys, a: Side, b: Side) -> i32 {
    // Direction 0: a → b; direction 1: b → a.
    let mut open = [true, true];
    let mut timeout_ms = -1;
    loop {
        if !open[0] && !open[1] {
            break;
        }
        let mut wanted: Vec<Fd> = Vec::new();
        if open[0] {
            wanted.push(a.0);
        }
        if open[1] && !wanted.contains(&b.0) {
            wanted.push(b.0);
        }
        wanted.sort_unstable();
        let ready = match sys.select(&wanted, &[], timeout_ms).await {
            Ok((r, _)) if r.is_empty() => break,
            Ok((r, _)) => r,
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        };
        for (is_open, (from, to)) in open.iter_mut().zip([(a.0, b.1), (b.0, a.1)]) {
            if !*is_open || !ready.contains(&from) {
                continue;
            }
            let data = sys.read(from, BUFSIZE).await.unwrap_or_default();
            if data.is_empty() {
                *is_open = false;
                // Pass the half-close on; a non-socket just is not written again.
                let _ = sys.shutdown(to, Shutdown::Write).await;
                timeout_ms = CLOSE_TIMEOUT_MS;
                continue;
            }
            if let Err(e) = sys.write_all(to, &data).await {
                log_error(
                    sys,
                    &format!("write({to}, ..., {}): {}", data.len(), e.text()),
                )
                .await;
                return 1;
            }
        }
    }
    for fd in [a.0, b.0] {
        if fd > STDOUT {
            let _ = sys.close(fd).await;
        }
    }
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
