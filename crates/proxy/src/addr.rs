//! The two kinds of address on the command line: where to listen, where to forward.
//!
//! `LISTEN` is `PORT` (loopback only: exposing the proxy must be written out as an
//! address), `HOST:PORT` or `[V6]:PORT`. `BACKEND` is `HOST:PORT` or `[V6]:PORT`;
//! a host name is resolved once, at start.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use crate::Error;

/// `LISTEN`: a bare port means `127.0.0.1:PORT`.
pub fn parse_listen(text: &str) -> Result<SocketAddr, Error> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Address {
            text: text.to_owned(),
            why: "the port must be a number from 0 to 65535".to_owned(),
        });
    }
    let (host, port) = split_host_port(text)?;
    let ip = host.parse::<IpAddr>().map_err(|_| Error::Address {
        text: text.to_owned(),
        why: "LISTEN must be PORT, IP:PORT or [IPV6]:PORT".to_owned(),
    })?;
    Ok(SocketAddr::new(ip, port))
}

/// A backend as written on the command line and the addresses its host resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// As written: `HOST:PORT`.
    pub name: String,
    /// Every address the host resolved to, tried in order (like `nc` does).
    pub addrs: Vec<SocketAddr>,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// `BACKEND`: `HOST:PORT` or `[V6]:PORT`. A host name is resolved here, once.
pub fn parse_backend(text: &str) -> Result<Backend, Error> {
    let (host, port) = split_host_port(text)?;
    let addrs = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => (host, port)
            .to_socket_addrs()
            .map_err(|e| Error::Address {
                text: text.to_owned(),
                why: format!("cannot resolve {host}: {e}"),
            })?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(Error::Address {
            text: text.to_owned(),
            why: format!("{host} has no address"),
        });
    }
    Ok(Backend {
        name: text.to_owned(),
        addrs,
    })
}

/// Splits `HOST:PORT` or `[V6]:PORT`; the port must be a number 0-65535.
fn split_host_port(text: &str) -> Result<(&str, u16), Error> {
    let bad = |why: &str| Error::Address {
        text: text.to_owned(),
        why: why.to_owned(),
    };
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("missing ']' after an IPv6 address"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| bad("expected [IPV6]:PORT"))?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad("not an IPv6 address between [ ]"));
        }
        (host, port)
    } else {
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| bad("expected HOST:PORT"))?;
        if host.contains(':') {
            return Err(bad("an IPv6 address must be written [V6]:PORT"));
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    let port = port
        .parse::<u16>()
        .map_err(|_| bad("the port must be a number from 0 to 65535"))?;
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- LISTEN ----

    #[test]
    fn a_bare_port_listens_on_loopback_only() {
        assert_eq!(
            parse_listen("6000").unwrap(),
            "127.0.0.1:6000".parse().unwrap()
        );
    }

    #[test]
    fn an_explicit_address_is_kept() {
        assert_eq!(
            parse_listen("0.0.0.0:6000").unwrap(),
            "0.0.0.0:6000".parse().unwrap()
        );
        assert_eq!(
            parse_listen("[::1]:6000").unwrap(),
            "[::1]:6000".parse().unwrap()
        );
    }

    #[test]
    fn listen_rejects_what_it_cannot_bind() {
        for bad in [
            "",
            "x",
            "70000",
            "localhost:6000",
            "::1:6000",
            "[::1]",
            "1.2.3.4:x",
        ] {
            assert!(parse_listen(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    // ---- BACKEND ----

    #[test]
    fn backends_take_ip_literals_and_names() {
        let b = parse_backend("127.0.0.1:5000").unwrap();
        assert_eq!(b.addrs, vec!["127.0.0.1:5000".parse().unwrap()]);
        let b = parse_backend("[::1]:5000").unwrap();
        assert_eq!(b.addrs, vec!["[::1]:5000".parse().unwrap()]);
        let b = parse_backend("localhost:5000").unwrap();
        assert!(
            b.addrs
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 5000)
        );
    }

    #[test]
    fn backend_needs_a_port() {
        for bad in [
            "5000",
            "127.0.0.1",
            "127.0.0.1:",
            ":5000",
            "[::1]5000",
            "[zz]:1",
        ] {
            assert!(parse_backend(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
