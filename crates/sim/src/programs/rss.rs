//! What each real program holds in memory, for the page to compare an `nc` loop,
//! socat's fork per connection and pipelab-proxy's one process side by side.
//!
//! Measured on 2026-11-26 on Debian 12.11 (kernel 6.18.44-fc-v782, x86_64) with
//! `ps -o rss= -p PID` half a second after each real program started and sat idle:
//! `nc.openbsd -l -p 7000`, `nc.traditional -l -p 7000`, `busybox nc -l -p 7000`,
//! `python3 -m http.server 5000` (CPython 3.11.2), `bash -c 'sleep 3; :'`,
//! `socat TCP-LISTEN:7000,fork,reuseaddr TCP:127.0.0.1:5000` (the parent, and its
//! forked child while one connection through it stayed open), `curl` waiting for a
//! server that never answered, and `pipelab-proxy 7000 127.0.0.1:5000` built with
//! `cargo build --release` (idle, and with three connections open). A second run
//! gave figures within 10% of these.
//!
//! RSS counts pages shared with other processes (libc, the binary) in each one, so
//! a sum over processes overstates what they cost together; a forked child shares
//! most of its parent's pages and only counts those it has touched, which is why
//! socat's child is smaller than its parent.
//!
//! Simplification: one constant per program (a real RSS moves with what the program
//! does); pipelab-proxy's grows by [`PROXY_PER_CONNECTION`] per open connection, a
//! straight line through the two measurements. Lift it by measuring more points.

pub const NC_OPENBSD: u32 = 1668;
pub const NC_TRADITIONAL: u32 = 1944;
pub const BUSYBOX_NC: u32 = 1944;
pub const BASH: u32 = 3160;
pub const CURL: u32 = 10632;
pub const PYTHON3_HTTP_SERVER: u32 = 18644;
pub const SOCAT_PARENT: u32 = 4516;
pub const SOCAT_CHILD: u32 = 2612;
/// Idle: 3388 KiB (three threads: main and a worker per CPU).
pub const PROXY_IDLE: u32 = 3388;
/// With three connections open: 3412 KiB, so 8 KiB each (the 64 KiB buffers are
/// held only while bytes are in flight).
pub const PROXY_PER_CONNECTION: u32 = 8;

/// pipelab-proxy's estimate with `open` connections.
pub fn proxy(open: usize) -> u32 {
    PROXY_IDLE + PROXY_PER_CONNECTION * open as u32
}
