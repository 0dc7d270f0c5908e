//! `httpd PORT [DIR]`: a tiny HTTP/1.0 server, one client at a time, serving
//! the files under DIR (default: its working directory).
//!
//! Start-up: `socket`, `setsockopt(SO_REUSEADDR)`, `bind(127.0.0.1:PORT)`,
//! `listen(fd, 5)`. Then, forever: `accept4`; read the request in `read`s of at
//! most 1024 bytes, appended to one request buffer, until the blank line
//! `\r\n\r\n`; answer; `close`. Nothing of the request after the blank line is
//! read (no request bodies).
//!
//! The request buffer is bounded: a head that reaches 8 KiB without its blank
//! line gets `431 Request Header Fields Too Large` (the status of RFC 6585 for
//! exactly this; 400 would not say why), then a lingering close (see
//! [`lingering_close`]: without it the unread rest turns `close` into a RST
//! that destroys the answer). A client that closes before the blank
//! line gets `400 Bad Request` if it sent anything, and nothing otherwise.
//!
//! The request line must be `METHOD SP PATH SP HTTP/x.y`, PATH starting with
//! `/`, else 400. GET and HEAD are served; any other method gets `405 Method
//! Not Allowed` with `Allow: GET, HEAD`. The query (`?...`) is dropped; there is
//! no percent-decoding. A PATH with a `..` component gets `403 Forbidden`: the
//! refusal is deliberate and the lesson says so (python's http.server drops the
//! `..` instead). A PATH ending in `/` serves its `index.html`; a directory
//! without the slash, or a missing file, gets `404 Not Found`.
//!
//! A file is `newfstatat` (its size is the `Content-Length`), `openat`, then
//! copied in `read`s of 4096 bytes, each written to the client as it comes:
//! memory stays one buffer whatever the file's size. Every response is
//!
//! ```text
//! HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: 23\r\nConnection: close\r\n\r\n
//! ```
//!
//! (head in one `write`, body after it; HEAD gets the head only), error
//! responses carrying a one-line text/plain body such as `404 Not Found\n`.
//! Content-Type goes by extension: .html/.htm text/html, .txt text/plain, .css
//! text/css, .js text/javascript, .json application/json, .png image/png, else
//! application/octet-stream. Then `close`.
//!
//! One line per request on stderr, `127.0.0.1 "GET / HTTP/1.0" 200 23`: the
//! client's address, the request line (at most 100 bytes of it), the status and
//! the body bytes sent (0 for HEAD).
//!
//! Usage errors print `usage: httpd PORT [DIR]` on stderr and exit 2; a failed
//! `bind` prints `httpd: bind: Address already in use` and exits 1. SIGPIPE is
//! ignored (a client gone mid-response is only that client's problem).
//!
//! Simplifications, all on purpose for the lesson: no timeouts (a client that
//! never finishes its request holds the server, and every other client waits in
//! the backlog), no keep-alive, no percent-decoding, no `Date`/`Server` headers,
//! and closing with unread request bytes makes the kernel send RST as Linux does.

use std::net::Ipv4Addr;

use crate::kernel::fs::{Inode, OpenFlags, normalize};
use crate::kernel::net::{Shutdown, SockOpt};
use crate::kernel::{Disposition, Errno, Fd, Signal};
use crate::programs::echo_server::parse_port;
use crate::programs::userland::{addr, eprint, strerror};
use crate::sys::{Sys, Task};

/// The most one `read` of the request asks for.
const READ_BYTES: usize = 1024;
/// The request head's bound: the head must end within this many bytes.
const MAX_REQUEST_BYTES: usize = 8192;
/// The file copy's buffer.
const FILE_CHUNK_BYTES: usize = 4096;
/// The most a lingering close reads and drops.
const LINGER_MAX_BYTES: usize = 65_536;
/// `listen(s, 5)`.
const BACKLOG: i32 = 5;
/// How much of a request line the log shows.
const LOGGED_LINE_BYTES: usize = 100;
const USAGE: &str = "usage: httpd PORT [DIR]\n";

pub fn main(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(run(sys, argv))
}

async fn run(sys: Sys, argv: Vec<String>) -> i32 {
    let (port, dir) = match argv.as_slice() {
        [_, p] => (parse_port(p), sys.cwd()),
        [_, p, d] => (parse_port(p), normalize(&sys.cwd(), d)),
        _ => (None, String::new()),
    };
    let Some(port) = port else {
        eprint(&sys, USAGE).await;
        return 2;
    };
    let _ = sys.sigaction(Signal::SIGPIPE, Disposition::Ignore).await;
    let s = match sys.socket().await {
        Ok(s) => s,
        Err(e) => return perror(&sys, "socket", e).await,
    };
    if let Err(e) = sys.setsockopt(s, SockOpt::ReuseAddr, true).await {
        return perror(&sys, "setsockopt", e).await;
    }
    if let Err(e) = sys.bind(s, addr(Ipv4Addr::LOCALHOST, port)).await {
        return perror(&sys, "bind", e).await;
    }
    if let Err(e) = sys.listen(s, BACKLOG).await {
        return perror(&sys, "listen", e).await;
    }
    loop {
        let (c, peer) = match sys.accept(s).await {
            Ok(x) => x,
            Err(Errno::EINTR) => continue,
            Err(e) => return perror(&sys, "accept", e).await,
        };
        serve(&sys, c, &peer.ip().to_string(), &dir).await;
        let _ = sys.close(c).await;
    }
}

/// `perror(3)`, then exit status 1.
async fn perror(sys: &Sys, call: &str, e: Errno) -> i32 {
    eprint(sys, &format!("httpd: {call}: {}\n", strerror(e))).await;
    1
}

/// What reading a request head gave.
#[derive(Debug, PartialEq, Eq)]
enum Head {
    /// Everything before the blank line.
    Complete(Vec<u8>),
    /// The client closed (or failed) before the blank line, after these bytes.
    Cut(Vec<u8>),
    /// MAX_REQUEST_BYTES without a blank line.
    TooLarge(Vec<u8>),
}

/// Reads until `\r\n\r\n`, 1024 bytes at a time, never holding more than
/// MAX_REQUEST_BYTES.
async fn read_head(sys: &Sys, c: Fd) -> Head {
    let mut buf: Vec<u8> = Vec::with_capacity(MAX_REQUEST_BYTES);
    loop {
        // The blank line may straddle two reads: search the whole buffer.
        if let Some(end) = find_blank_line(&buf) {
            buf.truncate(end);
            return Head::Complete(buf);
        }
        let room = MAX_REQUEST_BYTES - buf.len();
        if room == 0 {
            return Head::TooLarge(buf);
        }
        match sys.read(c, READ_BYTES.min(room)).await {
            Ok(d) if d.is_empty() => return Head::Cut(buf),
            Ok(d) => buf.extend_from_slice(&d),
            Err(Errno::EINTR) => {}
            Err(_) => return Head::Cut(buf),
        }
    }
}

fn find_blank_line(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// A request line that parsed: `METHOD SP PATH SP HTTP/x.y`.
#[derive(Debug, PartialEq, Eq)]
struct RequestLine<'a> {
    method: &'a str,
    path: &'a str,
}

fn parse_request_line(line: &str) -> Option<RequestLine<'_>> {
    let mut parts = line.split(' ');
    let (method, path, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let ok_method = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    let ok_version = version
        .strip_prefix("HTTP/")
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(a, b)| {
            a.len() == 1
                && b.len() == 1
                && a.bytes().all(|x| x.is_ascii_digit())
                && b.bytes().all(|x| x.is_ascii_digit())
        });
    (ok_method && path.starts_with('/') && ok_version).then_some(RequestLine { method, path })
}

/// The Content-Type for a file name, by its extension.
fn content_type(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html",
        "txt" => "text/plain",
        "css" => "text/css",
        "js" => "text/javascript",
        "json" => "application/json",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    }
}

/// The response head: status line, headers, blank line.
fn head_block(code: u16, content_type: &str, length: usize, extra: &str) -> String {
    format!(
        "HTTP/1.0 {code} {}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n{extra}Connection: close\r\n\r\n",
        reason(code)
    )
}

/// Where a request path leads, or the error status for it.
fn resolve_path(dir: &str, path: &str) -> Result<String, u16> {
    let path = path.split('?').next().unwrap_or(path);
    if path.split('/').any(|seg| seg == "..") {
        return Err(403);
    }
    let mut rel = path.trim_start_matches('/').to_string();
    if rel.is_empty() || rel.ends_with('/') {
        rel.push_str("index.html");
    }
    Ok(normalize(dir, &rel))
}

/// One request on connection `c`, from `client`.
async fn serve(sys: &Sys, c: Fd, client: &str, dir: &str) {
    let (code, head_bytes) = match read_head(sys, c).await {
        Head::Complete(h) => (None, h),
        Head::Cut(h) if h.is_empty() => return,
        Head::Cut(h) => (Some(400), h),
        Head::TooLarge(h) => (Some(431), h),
    };
    let text = String::from_utf8_lossy(&head_bytes);
    let line = text.split("\r\n").next().unwrap_or("");
    let log = |code: u16, sent: usize| {
        let shown: String = line.chars().take(LOGGED_LINE_BYTES).collect();
        format!("{client} \"{shown}\" {code} {sent}\n")
    };
    let req = match (code, parse_request_line(line)) {
        (Some(431), _) => {
            error(sys, c, 431, false, "", &log).await;
            return lingering_close(sys, c).await;
        }
        (Some(code), _) => return error(sys, c, code, false, "", &log).await,
        (None, None) => return error(sys, c, 400, false, "", &log).await,
        (None, Some(r)) => r,
    };
    let head_only = match req.method {
        "GET" => false,
        "HEAD" => true,
        _ => return error(sys, c, 405, false, "Allow: GET, HEAD\r\n", &log).await,
    };
    let path = match resolve_path(dir, req.path) {
        Ok(p) => p,
        Err(code) => return error(sys, c, code, head_only, "", &log).await,
    };
    let size = match sys.stat(&path).await {
        Ok(Inode::File { data }) => data.len(),
        _ => return error(sys, c, 404, head_only, "", &log).await,
    };
    let file = match sys.open(&path, OpenFlags::read_only()).await {
        Ok(f) => f,
        Err(Errno::EACCES) => return error(sys, c, 403, head_only, "", &log).await,
        Err(_) => return error(sys, c, 404, head_only, "", &log).await,
    };
    let head = head_block(200, content_type(&path), size, "");
    let mut sent = 0;
    if sys.write_all(c, head.as_bytes()).await.is_ok() && !head_only {
        loop {
            let chunk = match sys.read(file, FILE_CHUNK_BYTES).await {
                Ok(d) if !d.is_empty() => d,
                _ => break,
            };
            if sys.write_all(c, &chunk).await.is_err() {
                break;
            }
            sent += chunk.len();
        }
    }
    let _ = sys.close(file).await;
    eprint(sys, &log(200, sent)).await;
}

/// After answering a request it did not read to the end (431): `shutdown(SHUT_WR)`
/// sends the answer's FIN, then what the client still sends is read and
/// dropped until its EOF, so that `close` finds nothing unread. Closing with
/// unread bytes makes Linux send RST instead of FIN, and a client that has not
/// read the answer yet loses it (Apache's "lingering close" exists for this).
/// Bounded like everything else: at most LINGER_MAX_BYTES are drained.
async fn lingering_close(sys: &Sys, c: Fd) {
    let _ = sys.shutdown(c, Shutdown::Write).await;
    let mut drained = 0;
    while drained < LINGER_MAX_BYTES {
        match sys.read(c, READ_BYTES).await {
            Ok(d) if !d.is_empty() => drained += d.len(),
            _ => break,
        }
    }
}

/// An error response: head and its one-line text/plain body in one `write`
/// (a HEAD request gets the head alone).
async fn error(
    sys: &Sys,
    c: Fd,
    code: u16,
    head_only: bool,
    extra: &str,
    log: &impl Fn(u16, usize) -> String,
) {
    let body = format!("{code} {}\n", reason(code));
    let mut response = head_block(code, "text/plain", body.len(), extra);
    if !head_only {
        response.push_str(&body);
    }
    let sent = match sys.write_all(c, response.as_bytes()).await {
        Ok(()) if !head_only => body.len(),
        _ => 0,
    };
    eprint(sys, &log(code, sent)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_line_is_method_path_and_http_version() {
        assert_eq!(
            parse_request_line("GET /a.txt HTTP/1.0"),
            Some(RequestLine {
                method: "GET",
                path: "/a.txt"
            })
        );
        assert!(parse_request_line("DELETE / HTTP/1.1").is_some());
        assert_eq!(parse_request_line("garbage"), None);
        assert_eq!(parse_request_line("GET / HTTP/1.0 extra"), None);
        assert_eq!(parse_request_line("GET a.txt HTTP/1.0"), None);
        assert_eq!(parse_request_line("get / HTTP/1.0"), None);
        assert_eq!(parse_request_line("GET / HTTP/10"), None);
        assert_eq!(parse_request_line("GET  / HTTP/1.0"), None);
    }

    #[test]
    fn paths_map_under_the_directory_and_dot_dot_is_forbidden() {
        assert_eq!(resolve_path("/srv", "/"), Ok("/srv/index.html".into()));
        assert_eq!(resolve_path("/srv", "/a/"), Ok("/srv/a/index.html".into()));
        assert_eq!(resolve_path("/srv", "/a.txt?x=1"), Ok("/srv/a.txt".into()));
        assert_eq!(resolve_path("/srv", "/../etc/passwd"), Err(403));
        assert_eq!(resolve_path("/srv", "/a/../../x"), Err(403));
    }

    #[test]
    fn content_type_goes_by_extension() {
        assert_eq!(content_type("/srv/index.html"), "text/html");
        assert_eq!(content_type("/srv/a.TXT"), "text/plain");
        assert_eq!(content_type("/srv/s.css"), "text/css");
        assert_eq!(content_type("/srv/app.js"), "text/javascript");
        assert_eq!(content_type("/srv/d.json"), "application/json");
        assert_eq!(content_type("/srv/logo.png"), "image/png");
        assert_eq!(content_type("/srv.d/README"), "application/octet-stream");
    }

    #[test]
    fn the_blank_line_is_found_across_read_boundaries() {
        assert_eq!(find_blank_line(b"GET / HTTP/1.0\r\n\r\n"), Some(14));
        assert_eq!(find_blank_line(b"GET / HTTP/1.0\r\n"), None);
    }
}
