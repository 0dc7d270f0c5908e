//! Heartbleed (CVE-2014-0160) as a buffer over-read you can watch:
//! `heartbeat-server [--fixed] PORT` and `heartbeat-client HOST PORT PAYLOAD
//! [CLAIMED_LENGTH]`.
//!
//! The protocol is TLS's heartbeat (RFC 6520) without TLS: a request is one byte of
//! type (1), two bytes of big-endian `payload_length`, then the payload; the
//! response is type 2, the length, and that many bytes copied from the request
//! buffer starting at the payload. `payload_length` is what the client *claims*;
//! nothing forces it to match the payload it sent.
//!
//! The server keeps a small arena, published as its memory
//! ([`crate::sys::Sys::set_memory`]): a 32-byte request buffer, then a session
//! cookie, then a private key, all printable so a leak reads in a terminal. The
//! vulnerable build copies `payload_length` bytes from the payload on, whatever
//! the record held: a short payload with a long claim sends back the cookie and
//! the key that lie beside it. `--fixed` checks `1 + 2 + payload_length <= record
//! length` first and drops a request that lies, without a word to the client, as
//! OpenSSL 1.0.1g does (`ssl/t1_lib.c`, `tls1_process_heartbeat`).
//!
//! Simplifications, each with how to lift it:
//! - A record is what one `read(2)` of at most 32 bytes returns (no TLS record
//!   header). The client sends each request in one write and loopback delivers it
//!   whole; a real server would frame records by their 5-byte header.
//! - The copy stops at the end of the 128-byte arena: real OpenSSL read up to
//!   64 KiB past the payload from its heap. The reply's length field then says how
//!   many bytes were copied, so the client knows when it has them all. A bigger
//!   arena lifts it.
//! - The request buffer starts as dots, not as what an allocator would leave
//!   there, and is not cleared between requests (stale bytes are part of the lesson).
//! - One connection at a time; each may carry several requests.

use std::net::SocketAddrV4;

use crate::kernel::Errno;
use crate::kernel::net::SockOpt;
use crate::kernel::poll::{POLLIN, PollFd};
use crate::kernel::process::Memory;
use crate::programs::userland::{STDOUT, eprint, resolve};
use crate::sys::{Sys, Task};

/// Message types (RFC 6520, section 3).
const HEARTBEAT_REQUEST: u8 = 1;
const HEARTBEAT_RESPONSE: u8 = 2;
/// Type and `payload_length`.
const HEADER_LEN: usize = 3;
/// The request buffer: a record is at most this long.
pub const REQUEST_BUFFER_LEN: usize = 32;
/// The whole arena the server publishes.
pub const ARENA_LEN: usize = 128;
pub const SESSION_COOKIE: &[u8] = b"session=alice:7f3a9c";
/// What lies past the cookie up to the end of the arena.
const KEY_TEXT: &[u8] =
    b"-----BEGIN PRIVATE KEY----- MIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEAu6sVb";
pub const REGION_REQUEST: &str = "request buffer";
pub const REGION_COOKIE: &str = "session cookie";
pub const REGION_KEY: &str = "private key";
/// How long the client waits for a reply.
const REPLY_TIMEOUT_MS: u64 = 1000;

/// The server's arena at start: dots in the request buffer, then the cookie, then
/// the key (cut to fit).
pub fn arena() -> Memory {
    let mut bytes = vec![b'.'; REQUEST_BUFFER_LEN];
    bytes.extend_from_slice(SESSION_COOKIE);
    let key_len = ARENA_LEN - bytes.len();
    bytes.extend_from_slice(&KEY_TEXT[..key_len]);
    let mut m = Memory::new(bytes);
    m.label(0, REQUEST_BUFFER_LEN, REGION_REQUEST);
    m.label(REQUEST_BUFFER_LEN, SESSION_COOKIE.len(), REGION_COOKIE);
    m.label(
        REQUEST_BUFFER_LEN + SESSION_COOKIE.len(),
        key_len,
        REGION_KEY,
    );
    m
}

/// What the server does with one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Send this response; `copied` bytes came from the arena.
    Reply { response: Vec<u8>, copied: usize },
    /// `--fixed` caught a claim longer than the payload.
    Dropped { claimed: usize, payload: usize },
    /// Not a heartbeat request (too short, or another type).
    Ignored,
}

/// `tls1_process_heartbeat`: the record is already in the request buffer.
pub fn process(memory: &mut Memory, record_len: usize, fixed: bool) -> Outcome {
    let record = &memory.bytes[..record_len];
    if record_len < HEADER_LEN || record[0] != HEARTBEAT_REQUEST {
        return Outcome::Ignored;
    }
    let claimed = u16::from_be_bytes([record[1], record[2]]) as usize;
    if fixed && HEADER_LEN + claimed > record_len {
        return Outcome::Dropped {
            claimed,
            payload: record_len - HEADER_LEN,
        };
    }
    // The bug: `memcpy(bp, pl, payload)` with the claimed length. Bounded here by
    // the arena's end (see the module docs).
    let copied = claimed.min(ARENA_LEN - HEADER_LEN);
    let data = memory.read(HEADER_LEN, copied, "heartbeat reply");
    let mut response = vec![HEARTBEAT_RESPONSE];
    response.extend_from_slice(&(copied as u16).to_be_bytes());
    response.extend_from_slice(&data);
    Outcome::Reply { response, copied }
}

/// A heartbeat request claiming `claimed` bytes of payload.
pub fn request(payload: &[u8], claimed: u16) -> Vec<u8> {
    let mut r = vec![HEARTBEAT_REQUEST];
    r.extend_from_slice(&claimed.to_be_bytes());
    r.extend_from_slice(payload);
    r
}

/// Printable ASCII as is, every other byte as `\xNN`.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        if (0x20..0x7f).contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

pub fn server_main(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(server(sys, argv))
}

pub fn client_main(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(client(sys, argv))
}

async fn server(sys: Sys, argv: Vec<String>) -> i32 {
    let fixed = argv.iter().any(|a| a == "--fixed");
    let rest: Vec<&String> = argv[1..].iter().filter(|a| *a != "--fixed").collect();
    let port = match rest.as_slice() {
        [p] => p.parse::<u16>().ok(),
        _ => None,
    };
    let Some(port) = port else {
        eprint(&sys, "usage: heartbeat-server [--fixed] PORT\n").await;
        return 2;
    };
    let mut memory = arena();
    sys.set_memory(Some(memory.clone()));
    let Ok(s) = sys.socket().await else {
        return 1;
    };
    let _ = sys.setsockopt(s, SockOpt::ReuseAddr, true).await;
    if let Err(e) = sys
        .bind(s, SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, port))
        .await
    {
        eprint(&sys, &format!("heartbeat-server: bind: {}\n", e.text())).await;
        return 1;
    }
    if let Err(e) = sys.listen(s, 5).await {
        eprint(&sys, &format!("heartbeat-server: listen: {}\n", e.text())).await;
        return 1;
    }
    loop {
        let conn = match sys.accept(s).await {
            Ok((c, _)) => c,
            Err(Errno::EINTR) => continue,
            Err(_) => return 1,
        };
        loop {
            let record = match sys.read(conn, REQUEST_BUFFER_LEN).await {
                Ok(r) if !r.is_empty() => r,
                _ => break,
            };
            memory.write(0, &record);
            let outcome = process(&mut memory, record.len(), fixed);
            sys.set_memory(Some(memory.clone()));
            let line = match outcome {
                Outcome::Reply { response, copied } => {
                    let payload = record.len().saturating_sub(HEADER_LEN);
                    if sys.write(conn, &response).await.is_err() {
                        break;
                    }
                    format!("heartbeat: {payload}-byte payload, sent back {copied} bytes\n")
                }
                Outcome::Dropped { claimed, payload } => {
                    format!("heartbeat: {payload}-byte payload claims {claimed} bytes: dropped\n")
                }
                Outcome::Ignored => continue,
            };
            let _ = sys.write(STDOUT, line.as_bytes()).await;
        }
        let _ = sys.close(conn).await;
    }
}

async fn client(sys: Sys, argv: Vec<String>) -> i32 {
    let usage = "usage: heartbeat-client HOST PORT PAYLOAD [CLAIMED_LENGTH]\n";
    let (host, port, payload, claimed) = match &argv[1..] {
        [h, p, pl] => (h, p.parse::<u16>().ok(), pl, u16::try_from(pl.len()).ok()),
        [h, p, pl, c] => (h, p.parse::<u16>().ok(), pl, c.parse::<u16>().ok()),
        _ => (&argv[0], None, &argv[0], None),
    };
    let (Some(port), Some(claimed)) = (port, claimed) else {
        eprint(&sys, usage).await;
        return 2;
    };
    let Some(ip) = resolve(host) else {
        eprint(&sys, &format!("heartbeat-client: {host}: unknown host\n")).await;
        return 1;
    };
    let Ok(s) = sys.socket().await else {
        return 1;
    };
    if let Err(e) = sys.connect(s, SocketAddrV4::new(ip, port)).await {
        eprint(&sys, &format!("heartbeat-client: connect: {}\n", e.text())).await;
        return 1;
    }
    if sys
        .write(s, &request(payload.as_bytes(), claimed))
        .await
        .is_err()
    {
        eprint(&sys, "heartbeat-client: write failed\n").await;
        return 1;
    }
    let deadline = sys.now_us() + REPLY_TIMEOUT_MS * 1000;
    let mut got: Vec<u8> = Vec::new();
    let complete = |got: &[u8]| {
        got.len() >= HEADER_LEN
            && got.len() >= HEADER_LEN + u16::from_be_bytes([got[1], got[2]]) as usize
    };
    let mut closed = false;
    while !complete(&got) {
        let left_ms = deadline.saturating_sub(sys.now_us()).div_ceil(1000) as i32;
        let mut fds = [PollFd::new(s, POLLIN)];
        match sys.poll(&mut fds, left_ms).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(_) => break,
        }
        match sys.read(s, 4096).await {
            Ok(d) if !d.is_empty() => got.extend(d),
            _ => {
                closed = true;
                break;
            }
        }
    }
    let _ = sys.close(s).await;
    if got.len() < HEADER_LEN {
        let why = if closed {
            "no reply (the server closed the connection)\n"
        } else {
            "no reply (the server dropped the request)\n"
        };
        let _ = sys.write(STDOUT, why.as_bytes()).await;
        return 1;
    }
    let data = &got[HEADER_LEN..];
    let line = format!("reply: {} bytes: {}\n", data.len(), escape(data));
    let _ = sys.write(STDOUT, line.as_bytes()).await;
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_record(record: &[u8]) -> Memory {
        let mut m = arena();
        m.write(0, record);
        m
    }

    #[test]
    fn the_arena_is_128_printable_bytes_in_three_regions() {
        let m = arena();
        assert_eq!(m.bytes.len(), ARENA_LEN);
        assert!(m.bytes.iter().all(|b| (0x20..0x7f).contains(b)));
        let labels: Vec<&str> = m.regions.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, [REGION_REQUEST, REGION_COOKIE, REGION_KEY]);
        let key = m.find(REGION_KEY).unwrap();
        assert_eq!(key.start + key.len, ARENA_LEN);
    }

    #[test]
    fn an_honest_request_gets_its_payload_back_on_both_builds() {
        for fixed in [false, true] {
            let r = request(b"bird", 4);
            let mut m = with_record(&r);
            assert_eq!(
                process(&mut m, r.len(), fixed),
                Outcome::Reply {
                    response: b"\x02\x00\x04bird".to_vec(),
                    copied: 4
                }
            );
        }
    }

    #[test]
    fn a_lying_request_leaks_past_the_payload_up_to_the_arena_end() {
        let r = request(b"bird", 500);
        let mut m = with_record(&r);
        let Outcome::Reply { response, copied } = process(&mut m, r.len(), false) else {
            panic!("no reply")
        };
        assert_eq!(copied, ARENA_LEN - HEADER_LEN);
        assert_eq!(&response[1..3], &125u16.to_be_bytes());
        let text = String::from_utf8(response[3..].to_vec()).unwrap();
        assert!(text.starts_with("bird"), "{text}");
        assert!(text.contains("session=alice:7f3a9c-----BEGIN PRIVATE KEY-----"));
        assert_eq!(
            m.last_read.as_ref().map(|r| (r.start, r.len)),
            Some((3, 125))
        );
    }

    #[test]
    fn the_fixed_build_drops_a_lying_request() {
        let r = request(b"bird", 64);
        let mut m = with_record(&r);
        assert_eq!(
            process(&mut m, r.len(), true),
            Outcome::Dropped {
                claimed: 64,
                payload: 4
            }
        );
        assert_eq!(m.last_read, None);
    }

    #[test]
    fn escape_shows_unprintable_bytes_as_hex() {
        assert_eq!(escape(b"ok\x00\n\xff"), "ok\\x00\\x0a\\xff");
    }
}
