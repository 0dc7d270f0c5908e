//! netcat-traditional 1.10-47 (Debian's `nc.traditional`), after `netcat.c`'s
//! `main`, `dolisten`, `doconnect` and `readwrite`; and `textbook`, the same
//! program without the `signal(SIGPIPE, SIG_IGN)` Debian added.
//!
//! Start-up, before the options are read, with glibc's `signal(3)`: SIGINT, SIGQUIT
//! and SIGTERM are caught by `catch()`, which writes a bare `\n` (with `-v -v`,
//! ` sent N, rcvd M` and `\n`) and exits 1 at once (measured); so a Ctrl-C ends
//! nc.traditional with status 1, not by the signal, and a `while true` loop around
//! it goes on. Then SIGURG and SIGPIPE are ignored (SIGPIPE not in `textbook`).
//! Left out: `arm()` around `connect` and `accept` (SIGALRM to SIG_IGN, or to a
//! handler with `-w`, `alarm(0)`, `rt_sigprocmask(SIG_BLOCK, NULL, [], 8)`, and
//! the same after; nothing here sends SIGALRM). Sockets: `socket`,
//! SO_REUSEADDR, SO_REUSEPORT, (`bind`), SO_KEEPALIVE with `-k`, then `listen(fd,
//! 1)` + `accept` + `close(listener)`, or a blocking `connect`.
//!
//! The loop selects on the network and stdin (`pselect6`), reads 8192 bytes, the
//! network first; stdin EOF closes fd 0 and the loop goes on until the *network*
//! ends (`while (FD_ISSET(netfd, ding1))`): traditional exits on network EOF in
//! both modes. A write that fails is retried up to 8200 times, then `too many
//! output retries : Broken pipe`, exit 1 (ground truth §5 4b).
//!
//! Messages: `-v` makes `holler()` lines (`listening on [any] 6000 ...`, `connect to
//! [127.0.0.1] from localhost [127.0.0.1] PORT`, `localhost [127.0.0.1] 5000 (?)
//! open`), each written as the text then `\n`; `-v -v` adds ` sent N, rcvd M` at
//! exit. A name is looked up only with `-v` and without `-n`, else `(UNKNOWN)`.
//!
//! Simplifications:
//! - `-l PORT` without `-p` listens on an ephemeral port (as the real one does)
//!   and treats PORT as the only remote port allowed; a connection from another
//!   port is refused with `invalid connection to ...` and exit 1, without the real
//!   one's retry of `accept`.
//! - `-w SECS` is the select timeout: a quiet network with stdin closed ends the
//!   run. The real one also bounds `connect` by it; loopback answers at once.
//! - `-q SECS` follows the ground truth's table (§7.9): stdin EOF shuts down
//!   writing, then quits at once (`-q 0`) or at network EOF / SECS later.
//! - Without arguments the real one prompts `Cmd line:` and reads its arguments
//!   from stdin; here it answers as the real one does to an empty line
//!   (`Cmd line: wrong`).
//! - `-e PROG` runs PROG with the socket on fds 0, 1 and 2; the other 1.10 options
//!   (`-g`, `-G`, `-s`, `-u`, `-r`, `-o`, `-i`, `-t`) are accepted and ignored.

use std::cell::Cell;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;

use crate::kernel::net::{Shutdown, SockOpt};
use crate::kernel::{Disposition, Errno, Fd, Signal};
use crate::programs::nc::parse_port;
use crate::programs::userland::{
    Getopt, Opt, STDERR, STDIN, STDOUT, basename, eprint, resolve, reverse_lookup, service_name,
    strerror, which,
};
use crate::sys::Sys;

/// `BIGSIZ` in netcat.c.
const BIGSIZ: usize = 8192;
/// `wretry`: "more than we'll ever hafta write".
const WRITE_RETRIES: u32 = 8200;
/// Attempts at a `bind` that finds the port in use.
const BIND_TRIES: u32 = 4;

#[derive(Clone, Debug, Default)]
struct Opts {
    listen: bool,
    keepalive: bool,
    verbose: u32,
    numeric: bool,
    zero_io: bool,
    local_port: Option<u16>,
    quit_after_s: Option<u64>,
    wait_s: Option<u64>,
    exec: Option<String>,
    catch: Rc<Catch>,
}

/// What `catch()` prints, kept up to date for it.
#[derive(Debug, Default)]
struct Catch {
    verbose: Cell<u32>,
    counts: Cell<Counts>,
}

/// Debian's `catch()`, the handler of SIGINT, SIGQUIT and SIGTERM.
async fn caught(sys: &Sys, catch: &Catch) {
    if catch.verbose.get() > 1 {
        let c = catch.counts.get();
        eprint(sys, &format!(" sent {}, rcvd {}", c.wrote_net, c.wrote_out)).await;
    }
    eprint(sys, "\n").await;
    sys.exit(1).await
}

/// `holler()`: the text, then `\n` — or ` : strerror\n` when an errno is set.
async fn holler(sys: &Sys, msg: &str, err: Option<Errno>) {
    eprint(sys, msg).await;
    match err {
        Some(e) => eprint(sys, &format!(" : {}\n", strerror(e))).await,
        None => eprint(sys, "\n").await,
    }
}

/// How netcat names a host: `localhost` when `-v` asked for a lookup and
/// `/etc/hosts` knows the address, `(UNKNOWN)` otherwise.
fn host_name(o: &Opts, ip: Ipv4Addr) -> String {
    if o.verbose > 0 && !o.numeric {
        reverse_lookup(ip).unwrap_or("(UNKNOWN)").to_string()
    } else {
        "(UNKNOWN)".to_string()
    }
}

/// Counts for `-v -v`'s ` sent N, rcvd M`.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    wrote_net: u64,
    wrote_out: u64,
    /// C's `errno` when readwrite gave up: the ` sent N, rcvd M` line that
    /// follows still carries it (` : Broken pipe`, measured).
    errno: Option<Errno>,
}

pub async fn main(sys: Sys, argv: Vec<String>, ignore_sigpipe: bool) -> i32 {
    let prog = argv[0].clone();
    let mut o = Opts::default();
    let catch = o.catch.clone();
    let handler: crate::sys::HandlerBody = Rc::new(move |sys| {
        let catch = catch.clone();
        Box::pin(async move { caught(&sys, &catch).await })
    });
    for sig in [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGTERM] {
        let _ = sys.signal_handler(sig, handler.clone()).await;
    }
    let _ = sys.signal(Signal::SIGURG, Disposition::Ignore).await;
    if ignore_sigpipe {
        let _ = sys.signal(Signal::SIGPIPE, Disposition::Ignore).await;
    }
    let mut g = Getopt::new(&argv, "abcde:g:G:hi:klno:p:q:rs:tuvw:z");
    while let Some(opt) = g.next_opt() {
        match opt {
            Opt::Flag('l', _) => o.listen = true,
            Opt::Flag('k', _) => o.keepalive = true,
            Opt::Flag('v', _) => o.verbose += 1,
            Opt::Flag('n', _) => o.numeric = true,
            Opt::Flag('z', _) => o.zero_io = true,
            Opt::Flag('e', Some(p)) => o.exec = Some(p),
            Opt::Flag('p', Some(v)) => match parse_port(&v) {
                Some(p) => o.local_port = Some(p),
                None => {
                    holler(&sys, &format!("invalid local port {v}"), None).await;
                    return 1;
                }
            },
            Opt::Flag('q', Some(v)) => {
                o.quit_after_s = v.parse::<i64>().ok().filter(|n| *n >= 0).map(|n| n as u64)
            }
            Opt::Flag('w', Some(v)) => {
                o.wait_s = v.parse::<u64>().ok().filter(|n| *n > 0);
            }
            Opt::Flag('h', _) => {
                eprint(&sys, "[v1.10-47]\n").await;
                return 0;
            }
            Opt::Flag(..) => {}
            bad => {
                eprint(&sys, &Getopt::error_text(&prog, &bad)).await;
                eprint(&sys, "nc -h for help\n").await;
                return 1;
            }
        }
    }
    let operands = g.rest();
    o.catch.verbose.set(o.verbose);
    if o.listen {
        // `-l [host] [port]`: the operands only restrict who may connect.
        // The first operand is a host (netcat-traditional's `-l 6000` takes 6000 as
        // a host: inet_aton reads it as 0.0.23.112, whose name nobody knows).
        if let Some(h) = operands.first()
            && o.verbose > 0
            && !o.numeric
            && let Some(ip) = inet_aton(h)
            && reverse_lookup(ip).is_none()
        {
            eprint(
                &sys,
                &format!("{h}: inverse host lookup failed: Unknown host\n"),
            )
            .await;
        }
        let remote_port = match operands.as_slice() {
            [] | [_] => None,
            [_, p] => match parse_port(p) {
                Some(p) => Some(p),
                None => {
                    holler(&sys, &format!("invalid port {p}"), None).await;
                    return 1;
                }
            },
            _ => None,
        };
        listen_mode(&sys, &o, remote_port).await
    } else {
        let (host, port) = match operands.as_slice() {
            [h, p, ..] => (h.clone(), p.clone()),
            [_] | [] => {
                if operands.is_empty() {
                    eprint(&sys, "Cmd line: wrong\n").await;
                    return 1;
                }
                holler(&sys, "no port[s] to connect to", None).await;
                return 1;
            }
        };
        let Some(ip) = resolve(&host) else {
            holler(&sys, &format!("{host}: forward host lookup failed: "), None).await;
            return 1;
        };
        let Some(port) = parse_port(&port) else {
            holler(&sys, &format!("invalid port {port}"), None).await;
            return 1;
        };
        connect_mode(&sys, &o, SocketAddrV4::new(ip, port)).await
    }
}

async fn socket_with_options(sys: &Sys) -> Result<Fd, Errno> {
    let fd = sys.socket().await?;
    sys.setsockopt(fd, SockOpt::ReuseAddr, true).await?;
    sys.setsockopt(fd, SockOpt::ReusePort, true).await?;
    Ok(fd)
}

async fn sent_rcvd(sys: &Sys, o: &Opts, c: Counts) {
    if o.verbose > 1 {
        holler(
            sys,
            &format!(" sent {}, rcvd {}", c.wrote_net, c.wrote_out),
            c.errno,
        )
        .await;
    }
}

/// `bind` as 1.10 does it: on EADDRINUSE, `retrying local 0.0.0.0:PORT` (under
/// `-v`) and two seconds' sleep, four times; then `Can't grab 0.0.0.0:PORT with
/// bind` (printed with or without `-v`) and exit 1. Measured: messages at 0, 2, 4
/// and 6 s, the last one at 8 s.
async fn bind_with_retries(sys: &Sys, o: &Opts, s: Fd, port: u16) -> bool {
    let addr = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
    for _ in 0..BIND_TRIES {
        match sys.bind(s, addr).await {
            Ok(()) => return true,
            Err(Errno::EADDRINUSE) => {
                if o.verbose > 0 {
                    holler(
                        sys,
                        &format!("retrying local 0.0.0.0:{port}"),
                        Some(Errno::EADDRINUSE),
                    )
                    .await;
                }
                let _ = sys.sleep_us(2_000_000).await;
            }
            Err(_) => break,
        }
    }
    holler(sys, &format!("Can't grab 0.0.0.0:{port} with bind"), None).await;
    false
}

async fn listen_mode(sys: &Sys, o: &Opts, remote_port: Option<u16>) -> i32 {
    let Ok(s) = socket_with_options(sys).await else {
        holler(sys, "Can't grab 0.0.0.0 with bind", None).await;
        return 1;
    };
    let port = o.local_port.unwrap_or(0);
    if !bind_with_retries(sys, o, s, port).await {
        return 1;
    }
    if o.keepalive {
        let _ = sys.setsockopt(s, SockOpt::KeepAlive, true).await;
    }
    let _ = sys.listen(s, 1).await;
    if o.verbose > 0 {
        let shown = if port == 0 {
            sys.sockname(s, false).await.map(|a| a.port()).unwrap_or(0)
        } else {
            port
        };
        holler(sys, &format!("listening on [any] {shown} ..."), None).await;
    }
    let (net, peer) = match sys.accept_as(s, crate::sys::Accept::ACCEPT).await {
        Ok(c) => c,
        Err(e) => {
            holler(sys, "no connection", Some(e)).await;
            return 1;
        }
    };
    let _ = sys.close(s).await;
    let local = sys
        .sockname(net, false)
        .await
        .map(|a| *a.ip())
        .unwrap_or(Ipv4Addr::LOCALHOST);
    if let Some(rp) = remote_port
        && rp != peer.port()
    {
        holler(
            sys,
            &format!(
                "invalid connection to [{local}] from {} [{}] {}",
                host_name(o, *peer.ip()),
                peer.ip(),
                peer.port()
            ),
            None,
        )
        .await;
        let _ = sys.close(net).await;
        return 1;
    }
    if o.verbose > 0 {
        holler(
            sys,
            &format!(
                "connect to [{local}] from {} [{}] {}",
                host_name(o, *peer.ip()),
                peer.ip(),
                peer.port()
            ),
            None,
        )
        .await;
    }
    if let Some(prog) = &o.exec {
        return exec_program(sys, net, prog).await;
    }
    let counts = if o.zero_io {
        Counts::default()
    } else {
        match readwrite(sys, o, net).await {
            Ok(c) => c,
            Err(counts) => {
                sent_rcvd(sys, o, counts).await;
                return 1;
            }
        }
    };
    sent_rcvd(sys, o, counts).await;
    0
}

async fn connect_mode(sys: &Sys, o: &Opts, to: SocketAddrV4) -> i32 {
    let Ok(s) = socket_with_options(sys).await else {
        return 1;
    };
    if let Some(p) = o.local_port
        && !bind_with_retries(sys, o, s, p).await
    {
        return 1;
    }
    if o.keepalive {
        let _ = sys.setsockopt(s, SockOpt::KeepAlive, true).await;
    }
    let service = service_name(to.port()).unwrap_or("?");
    let name = format!(
        "{} [{}] {} ({service})",
        host_name(o, *to.ip()),
        to.ip(),
        to.port()
    );
    if let Err(e) = sys.connect(s, to).await {
        let _ = sys.close(s).await;
        // holler() prints only with -v, but netcat turns -v on for a refusal of
        // its single port (`if (Single && errno == ECONNREFUSED) o_verbose = 1`);
        // -z scans are not "single" (measured: `nc -z` to a closed port is silent).
        if o.verbose > 0 || (e == Errno::ECONNREFUSED && !o.zero_io) {
            holler(sys, &name, Some(e)).await;
        }
        // main's `close(netfd)` of the -1 it got back.
        let _ = sys.close(-1).await;
        sent_rcvd(sys, o, Counts::default()).await;
        return 1;
    }
    if o.verbose > 0 {
        holler(sys, &format!("{name} open"), None).await;
    }
    if let Some(prog) = &o.exec {
        return exec_program(sys, s, prog).await;
    }
    let counts = if o.zero_io {
        let _ = sys.close(s).await;
        Counts::default()
    } else {
        match readwrite(sys, o, s).await {
            Ok(c) => c,
            Err(counts) => {
                sent_rcvd(sys, o, counts).await;
                return 1;
            }
        }
    };
    // main closes netfd again after readwrite did.
    let _ = sys.close(s).await;
    sent_rcvd(sys, o, counts).await;
    0
}

/// `doexec`: the socket becomes stdin, stdout and stderr of PROG.
async fn exec_program(sys: &Sys, net: Fd, prog: &str) -> i32 {
    let _ = sys.dup2(net, STDIN).await;
    let _ = sys.close(net).await;
    let _ = sys.dup2(STDIN, STDOUT).await;
    let _ = sys.dup2(STDIN, STDERR).await;
    let path = which(sys, prog).await.unwrap_or_else(|| prog.to_string());
    let e = sys.execve(&path, vec![basename(prog).to_string()]).await;
    holler(sys, &format!("exec {prog} failed"), Some(e)).await;
    1
}

/// `readwrite()`: returns the counts, or the exit code of a `bail()`.
/// `readwrite()`: `Err` carries the counts (and errno) when it gives up.
async fn readwrite(sys: &Sys, o: &Opts, net: Fd) -> Result<Counts, Counts> {
    let mut c = Counts::default();
    let mut stdin_open = true;
    let mut net_open = true;
    // Bytes from the net waiting for stdout, and from stdin waiting for the net.
    let mut rn: Vec<u8> = Vec::new();
    let mut rz: Vec<u8> = Vec::new();
    let mut deadline: Option<u64> = None;
    while net_open {
        let mut read_set = Vec::new();
        if stdin_open {
            read_set.push(STDIN);
        }
        read_set.push(net);
        read_set.sort_unstable();
        let timeout_ms = match (deadline, o.wait_s) {
            (Some(d), _) => (d.saturating_sub(sys.now_us()) / 1000) as i32,
            (None, Some(w)) if !stdin_open => (w * 1000) as i32,
            _ => -1,
        };
        let ready = match sys.select(&read_set, &[], timeout_ms).await {
            Ok((r, _)) => r,
            Err(Errno::EINTR) => continue,
            Err(e) => {
                if o.verbose > 0 {
                    holler(sys, "select fuxored", Some(e)).await;
                }
                let _ = sys.close(net).await;
                c.errno = Some(e);
                return Err(c);
            }
        };
        if ready.is_empty() {
            // Timed out: -q's linger or -w's idle limit is over.
            break;
        }
        if ready.contains(&net) {
            match sys.read(net, BIGSIZ).await {
                Ok(d) if !d.is_empty() => rn = d,
                _ => {
                    net_open = false;
                    rz.clear();
                }
            }
        }
        if rz.is_empty() && stdin_open && ready.contains(&STDIN) {
            match sys.read(STDIN, BIGSIZ).await {
                Ok(d) if !d.is_empty() => rz = d,
                _ => {
                    stdin_open = false;
                    let _ = sys.close(STDIN).await;
                    if let Some(q) = o.quit_after_s {
                        let _ = sys.shutdown(net, Shutdown::Write).await;
                        if q == 0 {
                            break;
                        }
                        deadline = Some(sys.now_us() + q * 1_000_000);
                    }
                }
            }
        }
        // shovel:
        let mut retries = WRITE_RETRIES;
        let mut last_err = Errno::EPIPE;
        while !rn.is_empty() || !rz.is_empty() {
            if !rn.is_empty() {
                match sys.write(STDOUT, &rn).await {
                    Ok(n) => {
                        rn.drain(..n);
                        c.wrote_out += n as u64;
                        o.catch.counts.set(c);
                    }
                    Err(e) => last_err = e,
                }
            }
            if !rz.is_empty() {
                match sys.write(net, &rz).await {
                    Ok(n) => {
                        rz.drain(..n);
                        c.wrote_net += n as u64;
                        o.catch.counts.set(c);
                    }
                    Err(e) => last_err = e,
                }
            }
            if rn.is_empty() && rz.is_empty() {
                break;
            }
            retries -= 1;
            if retries == 0 {
                // holler(): printed only with -v.
                if o.verbose > 0 {
                    holler(sys, "too many output retries", Some(last_err)).await;
                }
                c.errno = Some(last_err);
                return Err(c);
            }
        }
    }
    let _ = sys.close(net).await;
    Ok(c)
}

/// `inet_aton(3)`: `a.b.c.d`, `a.b.c`, `a.b` or a single number, each part
/// decimal, octal (`0`) or hex (`0x`).
fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<u64> = s
        .split('.')
        .map(|p| {
            if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
                u64::from_str_radix(h, 16).ok()
            } else if p.len() > 1 && p.starts_with('0') {
                u64::from_str_radix(&p[1..], 8).ok()
            } else {
                p.parse().ok()
            }
        })
        .collect::<Option<_>>()?;
    let v: u64 = match parts.as_slice() {
        [a] => *a,
        [a, b] if *a < 256 && *b < 1 << 24 => a << 24 | b,
        [a, b, c] if *a < 256 && *b < 256 && *c < 1 << 16 => a << 24 | b << 16 | c,
        [a, b, c, d] if [a, b, c, d].iter().all(|x| **x < 256) => a << 24 | b << 16 | c << 8 | d,
        _ => return None,
    };
    u32::try_from(v).ok().map(Ipv4Addr::from)
}

#[cfg(test)]
mod inet_tests {
    use super::*;

    #[test]
    fn inet_aton_reads_a_lone_number_as_an_address() {
        assert_eq!(inet_aton("6000"), Some(Ipv4Addr::new(0, 0, 23, 112)));
        assert_eq!(inet_aton("127.0.0.1"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(inet_aton("localhost"), None);
    }
}
