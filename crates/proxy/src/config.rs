//! What one run of the proxy is told to do, already parsed and checked.

use std::net::SocketAddr;
use std::time::Duration;

use crate::Error;
use crate::addr::Backend;
pub use crate::copy::CopyMode;

/// Everything the proxy needs to run; built by the binary from its arguments.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Where to forward, round-robin; never empty.
    pub backends: Vec<Backend>,
    /// At most this many connections at once; the next clients wait in the listen
    /// backlog (their TCP handshake is done by the kernel, nothing is read from them).
    pub max_connections: Option<usize>,
    /// The length of the listen queue asked of the kernel (it caps it at
    /// `net.core.somaxconn`).
    pub backlog: u32,
    /// How long one connect attempt to one backend address may take.
    pub connect_timeout: Duration,
    /// Close a connection after this long without a byte in either direction.
    pub idle_timeout: Option<Duration>,
    /// Close a half-closed connection (one direction ended) after this long without
    /// a byte in the other: the bound on FIN-WAIT-2 / CLOSE-WAIT.
    pub half_close_timeout: Duration,
    /// On SIGTERM/SIGINT, how long open connections may take to finish.
    pub shutdown_timeout: Duration,
    /// Bytes read at once per direction; held only while data is in flight.
    pub buffer_size: usize,
    /// How bytes are moved: a buffer, `splice(2)`, or both (see [`CopyMode`]).
    pub copy_mode: CopyMode,
}

impl Config {
    /// A configuration with the documented defaults.
    pub fn new(listen: SocketAddr, backends: Vec<Backend>) -> Config {
        assert!(!backends.is_empty(), "a proxy needs at least one backend");
        Config {
            listen,
            backends,
            max_connections: None,
            backlog: 1024,
            connect_timeout: Duration::from_secs(5),
            idle_timeout: None,
            half_close_timeout: Duration::from_secs(60),
            shutdown_timeout: Duration::from_secs(10),
            buffer_size: 64 * 1024,
            copy_mode: CopyMode::Auto,
        }
    }
}

/// Parses a duration: `500ms`, `5s`, `2m`, `1h`, or a bare number of seconds
/// (`1.5`). `0` is allowed; callers decide what it means.
pub fn parse_duration(text: &str) -> Result<Duration, Error> {
    let bad = || Error::Duration(text.to_owned());
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| bad())?;
    let seconds_per_unit = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(number * seconds_per_unit).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_bare_seconds() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
    }

    #[test]
    fn durations_reject_nonsense() {
        for bad in ["", "s", "5x", "-1", "1e400", "five"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
