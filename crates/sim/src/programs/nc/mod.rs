//! `nc` in the flavors people meet, sharing the socket set-up:
//!
//! - [`openbsd`]: netcat-openbsd 1.219-1, Debian's default `nc` (poll loop,
//!   16384-byte buffers, non-blocking connect, keeps the listening socket until
//!   exit, `-k` keeps listening);
//! - [`traditional`]: netcat-traditional 1.10-47 (select loop, 8192-byte reads,
//!   blocking connect, closes the listening socket after `accept`, `-k` is
//!   SO_KEEPALIVE, retries a failing write 8200 times); `textbook` is the same
//!   program without its `signal(SIGPIPE, SIG_IGN)`: the seed article's story;
//! - [`busybox`]: BusyBox 1.35.0's `nc` applet (poll loop, 1024-byte reads,
//!   SIGPIPE left at its default, exits when its connection ends).
//!
//! What each prints and does is the ground truth's record (`shared/ground-truth`)
//! plus the real binaries run on this machine over loopback.

pub mod busybox;
pub mod openbsd;
pub mod traditional;

use std::net::SocketAddrV4;

use crate::kernel::net::SockOpt;
use crate::kernel::{Errno, Fd};
use crate::sys::{Sys, Task};

/// The `nc` entry points, one per flavor.
pub fn openbsd_main(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(openbsd::main(sys, argv))
}

pub fn traditional_main(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(traditional::main(sys, argv, true))
}

pub fn textbook_main(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(traditional::main(sys, argv, false))
}

pub fn busybox_main(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(busybox::main(sys, argv))
}

/// `/bin/busybox APPLET ARGS...`: only the `nc` applet is simulated.
pub fn busybox_multicall(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(async move {
        match argv.get(1).map(String::as_str) {
            Some("nc") => busybox::main(sys, argv[1..].to_vec()).await,
            Some(other) => {
                crate::programs::userland::eprint(&sys, &format!("{other}: applet not found\n"))
                    .await;
                127
            }
            None => {
                crate::programs::userland::eprint(
                    &sys,
                    "BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.\n",
                )
                .await;
                0
            }
        }
    })
}

/// The listening socket every flavor makes: `socket`, the options in order,
/// `bind`, (options after bind), `listen(fd, 1)`.
pub(crate) async fn listen_socket(
    sys: &Sys,
    at: SocketAddrV4,
    before_bind: &[SockOpt],
    after_bind: &[SockOpt],
) -> Result<Fd, (&'static str, Errno)> {
    let fd = sys.socket().await.map_err(|e| ("socket", e))?;
    for opt in before_bind {
        sys.setsockopt(fd, *opt, true)
            .await
            .map_err(|e| ("setsockopt", e))?;
    }
    sys.bind(fd, at).await.map_err(|e| ("bind", e))?;
    for opt in after_bind {
        sys.setsockopt(fd, *opt, true)
            .await
            .map_err(|e| ("setsockopt", e))?;
    }
    sys.listen(fd, 1).await.map_err(|e| ("listen", e))?;
    Ok(fd)
}

/// A port operand: a decimal number in 1..=65535.
pub(crate) fn parse_port(s: &str) -> Option<u16> {
    crate::programs::userland::parse_u64(s)
        .filter(|p| (1..=65535).contains(p))
        .map(|p| p as u16)
}
