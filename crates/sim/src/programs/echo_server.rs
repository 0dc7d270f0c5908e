//! `echo-server PORT`: the textbook TCP echo server, one client at a time.
//!
//! What it does, in the C it stands for:
//!
//! ```c
//! s = socket(AF_INET, SOCK_STREAM, 0);
//! setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
//! bind(s, {127.0.0.1:PORT}); listen(s, 5);
//! for (;;) {
//!     c = accept(s, ...);
//!     while ((n = recv(c, buf, sizeof buf, 0)) > 0)
//!         send(c, buf, n, 0);
//!     close(c);
//! }
//! ```
//!
//! so the trace shows `socket`, `setsockopt`, `bind`, `listen`, then per client
//! `accept4`, `recvfrom(c, ..., 4096, 0, NULL, NULL)` / `sendto(c, ..., n, 0,
//! NULL, 0)` pairs, the `recvfrom` that returns 0 (the client's FIN), and `close`.
//! It never exits on its own.
//!
//! Usage errors print `usage: echo-server PORT` on stderr and exit 2; a failed
//! `bind` prints `echo-server: bind: Address already in use` (the `perror(3)`
//! text) and exits 1.
//!
//! Like the C loop, it leaves SIGPIPE at its default: a client that resets the
//! connection while its echo is being sent kills the server (status 141), which
//! is one of the things the lesson shows. A second client waits in the listen
//! backlog until the first one closes.

use std::net::Ipv4Addr;

use crate::kernel::Errno;
use crate::kernel::net::SockOpt;
use crate::programs::userland::{addr, eprint, strerror};
use crate::sys::{Sys, Task};

/// `char buf[4096]`: the most one `recv` asks for.
const BUF_BYTES: usize = 4096;
/// `listen(s, 5)`: the traditional backlog.
const BACKLOG: i32 = 5;
const USAGE: &str = "usage: echo-server PORT\n";

pub fn main(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(run(sys, argv))
}

/// A port operand: 1..=65535, digits only.
pub(crate) fn parse_port(s: &str) -> Option<u16> {
    crate::programs::userland::parse_u64(s)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
}

/// `perror(3)`: `echo-server: CALL: strerror`.
async fn perror(sys: &Sys, call: &str, e: Errno) {
    eprint(sys, &format!("echo-server: {call}: {}\n", strerror(e))).await;
}

async fn run(sys: Sys, argv: Vec<String>) -> i32 {
    let Some(port) = (match argv.as_slice() {
        [_, p] => parse_port(p),
        _ => None,
    }) else {
        eprint(&sys, USAGE).await;
        return 2;
    };
    let s = match sys.socket().await {
        Ok(s) => s,
        Err(e) => {
            perror(&sys, "socket", e).await;
            return 1;
        }
    };
    if let Err(e) = sys.setsockopt(s, SockOpt::ReuseAddr, true).await {
        perror(&sys, "setsockopt", e).await;
        return 1;
    }
    if let Err(e) = sys.bind(s, addr(Ipv4Addr::LOCALHOST, port)).await {
        perror(&sys, "bind", e).await;
        return 1;
    }
    if let Err(e) = sys.listen(s, BACKLOG).await {
        perror(&sys, "listen", e).await;
        return 1;
    }
    loop {
        let c = match sys.accept(s).await {
            Ok((c, _peer)) => c,
            Err(Errno::EINTR) => continue,
            Err(e) => {
                perror(&sys, "accept", e).await;
                return 1;
            }
        };
        // while ((n = recv(c, buf, sizeof buf, 0)) > 0) send(c, buf, n, 0);
        // An error (ECONNRESET) ends the loop as EOF does.
        while let Ok(buf) = sys.recv(c, BUF_BYTES).await {
            if buf.is_empty() || sys.send(c, &buf).await.is_err() {
                break;
            }
        }
        let _ = sys.close(c).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_is_1_to_65535_in_digits() {
        assert_eq!(parse_port("7000"), Some(7000));
        assert_eq!(parse_port("65535"), Some(65535));
        assert_eq!(parse_port("0"), None);
        assert_eq!(parse_port("65536"), None);
        assert_eq!(parse_port("-1"), None);
        assert_eq!(parse_port("http"), None);
    }
}
