//! pipelab-proxy: a TCP proxy over OS sockets, the real version of
//! `mkfifo f; while true; do nc -l -p 6000 < f | nc 127.0.0.1 5000 > f; done`.
//!
//! It accepts concurrently, copies both directions, passes half-closes on, never
//! dies of SIGPIPE and never leaves a window in which nothing listens.
//!
//! Module map:
//! - [`addr`]: parsing `LISTEN` and `BACKEND` from the command line.
//! - [`config`]: [`Config`], the parsed options, and duration parsing.
//! - [`server`]: the listener: bind, the accept loop (with a connection limit and
//!   back-off on accept errors), graceful drain.
//! - `relay`: one connection: round-robin connect with failover, both directions at
//!   once, timeouts, resets passed on, the `sent N, rcvd M` line.
//! - `copy`: moving bytes one way with bounded memory: pooled buffers held only
//!   while data is in flight, and `splice(2)` through a pooled pipe on Linux once
//!   bulk data flows ([`CopyMode`]).
//! - [`logging`]: text (netcat's words) or JSON log lines.
//!
//! The binary (`src/main.rs`) turns arguments into a [`Config`], handles signals and
//! maps errors to exit codes.

pub mod addr;
pub mod config;
mod copy;
pub mod logging;
mod relay;
pub mod server;

use std::net::SocketAddr;

pub use config::{Config, CopyMode};

/// What can stop the proxy before it serves.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `LISTEN` or `BACKEND` is not an address we can use.
    #[error("bad address {text:?}: {why}")]
    Address {
        /// As written on the command line.
        text: String,
        /// What is wrong with it.
        why: String,
    },
    /// A duration option is not a duration.
    #[error("bad duration {0:?}: expected e.g. 500ms, 5s, 2m or a number of seconds")]
    Duration(String),
    /// `bind(2)` or `listen(2)` failed: the port is in use, or not ours to take.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address we tried.
        addr: SocketAddr,
        /// What the kernel said.
        source: std::io::Error,
    },
}
