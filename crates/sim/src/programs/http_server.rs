//! `python3 -m http.server [PORT] [--bind ADDR] [--directory DIR]`: CPython
//! 3.11.2's `http.server` (`SimpleHTTPRequestHandler` on a `ThreadingHTTPServer`),
//! as strace shows it on this machine.
//!
//! Start-up: `signal(SIGPIPE, SIG_IGN)` and a SIGINT handler (KeyboardInterrupt),
//! then `socket`, SO_REUSEADDR, `bind`, `getsockname`, `listen(fd, 5)`, and
//! `Serving HTTP on ADDR port PORT (http://ADDR:PORT/) ...` on stdout through
//! Python's stdio: line buffered on a terminal, held in an 8192-byte buffer
//! otherwise — so with stdout on a pipe or file the line only appears at a clean
//! exit (Ctrl-C), and never when SIGTERM kills the server. (This machine sets
//! PYTHONUNBUFFERED=1, which hides that; a stock Debian shell does not.)
//!
//! Each request: read it (8192-byte reads), log `127.0.0.1 - - [DD/Mon/YYYY
//! HH:MM:SS] "GET / HTTP/1.1" 200 -` on stderr, send the HTTP/1.0 header block in
//! one write (185 bytes for a 25-byte `index.html`: the ground truth's 210 bytes in
//! all), then the body in another, then `shutdown(SHUT_WR)` and `close`: one
//! response per connection. 404 and the other errors send CPython's error page
//! (`Connection: close`, 335 bytes for a 404) after a `code 404, message File not
//! found` log line.
//!
//! Simplifications:
//! - CPython serves each connection on a thread of its own; a simulated process
//!   has one thread, so this server multiplexes: one `poll` over the listening
//!   socket (with serve_forever's 500 ms timeout) and every connection still
//!   sending its request. Replies are written in one go. Lift: threads in the
//!   kernel.
//! - The VFS keeps no mtimes: `Last-Modified` is the wall clock at virtual time 0
//!   (2026-11-26 00:00:00 GMT, see [`crate::programs::userland::WALL_CLOCK_AT_ZERO_S`]).
//! - `fstat` calls, the `mimetypes` database reads and the thread start-up are
//!   not shown; MIME types come from a short table.
//! - Tracebacks are the real text for the bind failure; an error while sending a
//!   reply prints socketserver's banner with only the exception's last line.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::kernel::fs::{Inode, OpenFlags};
use crate::kernel::net::{Shutdown, SockOpt};
use crate::kernel::poll::{POLLIN, PollFd};
use crate::kernel::{Disposition, Errno, Fd, Signal};
use crate::programs::userland::{STDOUT, Stdio, WallTime, eprint, resolve};
use crate::sys::{Sys, Task};

const SERVER: &str = "SimpleHTTP/0.6 Python/3.11.2";
/// `serve_forever(poll_interval=0.5)`.
const POLL_INTERVAL_MS: i32 = 500;
/// A request line plus headers longer than this is refused (CPython: 65536 per
/// line, 100 headers); it bounds what one connection may hold.
const MAX_REQUEST_BYTES: usize = 65_536;

const USAGE: &str =
    "usage: server.py [-h] [--cgi] [-b ADDRESS] [-d DIRECTORY] [-p VERSION] [port]\n";

const BIND_TRACEBACK: &str = "Traceback (most recent call last):\n  File \"<frozen runpy>\", line 198, in _run_module_as_main\n  File \"<frozen runpy>\", line 88, in _run_code\n  File \"/usr/lib/python3.11/http/server.py\", line 1309, in <module>\n    test(\n  File \"/usr/lib/python3.11/http/server.py\", line 1256, in test\n    with ServerClass(addr, HandlerClass) as httpd:\n         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n  File \"/usr/lib/python3.11/socketserver.py\", line 456, in __init__\n    self.server_bind()\n  File \"/usr/lib/python3.11/http/server.py\", line 1303, in server_bind\n    return super().server_bind()\n           ^^^^^^^^^^^^^^^^^^^^^\n  File \"/usr/lib/python3.11/http/server.py\", line 136, in server_bind\n    socketserver.TCPServer.server_bind(self)\n  File \"/usr/lib/python3.11/socketserver.py\", line 472, in server_bind\n    self.socket.bind(self.server_address)\n";

/// `python3 ARGS...`: only `-m http.server` is simulated.
pub fn main(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(async move {
        match argv.get(1).map(String::as_str) {
            Some("-m") => match argv.get(2).map(String::as_str) {
                Some("http.server") => serve(sys, argv[3..].to_vec()).await,
                Some(m) => {
                    eprint(&sys, &format!("/usr/bin/python3: No module named {m}\n")).await;
                    1
                }
                None => {
                    eprint(&sys, "Argument expected for the -m option\n").await;
                    2
                }
            },
            _ => {
                eprint(
                    &sys,
                    "python3: only `python3 -m http.server` is simulated here\n",
                )
                .await;
                2
            }
        }
    })
}

/// `argparse`'s error exit: usage, the message, status 2.
async fn arg_error(sys: &Sys, msg: &str) -> i32 {
    eprint(sys, USAGE).await;
    eprint(sys, &format!("server.py: error: {msg}\n")).await;
    2
}

/// CPU time CPython spends between sending the headers and the body.
const COPYFILE_US: u64 = 100;

/// CPU time CPython spends on one request between its syscalls.
const HANDLE_REQUEST_US: u64 = 1_000;

/// CPython's start-up and `import http.server` before the first syscall of the
/// server (measured in tens of milliseconds).
const STARTUP_US: u64 = 30_000;

async fn serve(sys: Sys, args: Vec<String>) -> i32 {
    sys.compute(STARTUP_US);
    let mut port: u16 = 8000;
    let mut bind: Option<String> = None;
    let mut directory: Option<String> = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "-b" | "--bind" | "-d" | "--directory" | "-p" | "--protocol" => {
                let Some(v) = args.get(i + 1) else {
                    return arg_error(&sys, &format!("argument {a}: expected one argument")).await;
                };
                match a {
                    "-b" | "--bind" => bind = Some(v.clone()),
                    "-d" | "--directory" => directory = Some(v.clone()),
                    _ => {}
                }
                i += 2;
                continue;
            }
            "--cgi" => {}
            "-h" | "--help" => {
                let _ = sys.write_all(STDOUT, USAGE.as_bytes()).await;
                return 0;
            }
            _ if a.starts_with('-') && a.len() > 1 => {
                return arg_error(&sys, &format!("unrecognized arguments: {a}")).await;
            }
            _ => match a.parse::<u16>() {
                Ok(p) => port = p,
                Err(_) => {
                    return arg_error(&sys, &format!("argument port: invalid int value: '{a}'"))
                        .await;
                }
            },
        }
        i += 1;
    }
    let root = match directory {
        Some(d) => crate::kernel::fs::normalize(&sys.cwd(), &d),
        None => sys.cwd(),
    };
    let _ = sys.sigaction(Signal::SIGPIPE, Disposition::Ignore).await;
    let _ = sys
        .sigaction(Signal::SIGINT, Disposition::Handler { restart: false })
        .await;
    let ip = match bind.as_deref() {
        None | Some("") => Ipv4Addr::UNSPECIFIED,
        Some(b) => match resolve(b) {
            Some(ip) => ip,
            None => {
                eprint(
                    &sys,
                    "socket.gaierror: [Errno -2] Name or service not known\n",
                )
                .await;
                return 1;
            }
        },
    };
    let s = match sys
        .socket_as(crate::sys::SockType {
            cloexec: true,
            proto_zero: true,
            ..crate::sys::SockType::TCP
        })
        .await
    {
        Ok(s) => s,
        Err(e) => return os_error(&sys, e).await,
    };
    let _ = sys.setsockopt(s, SockOpt::ReuseAddr, true).await;
    if let Err(e) = sys.bind(s, SocketAddrV4::new(ip, port)).await {
        eprint(&sys, BIND_TRACEBACK).await;
        return os_error(&sys, e).await;
    }
    let bound = sys
        .sockname(s, false)
        .await
        .unwrap_or(SocketAddrV4::new(ip, port));
    if let Err(e) = sys.listen(s, 5).await {
        return os_error(&sys, e).await;
    }
    let _ = sys.sockname(s, false).await;
    let mut stdout = Stdio::open(&sys, STDOUT, 8192).await;
    let host = bound.ip().to_string();
    stdout
        .put(
            &sys,
            format!(
                "Serving HTTP on {host} port {} (http://{host}:{}/) ...\n",
                bound.port(),
                bound.port()
            )
            .as_bytes(),
        )
        .await;
    let mut server = Server {
        root,
        conns: Vec::new(),
    };
    loop {
        let mut pfds: Vec<PollFd> = std::iter::once(PollFd::new(s, POLLIN))
            .chain(server.conns.iter().map(|c| PollFd::new(c.fd, POLLIN)))
            .collect();
        let r = sys.poll(&mut pfds, POLL_INTERVAL_MS).await;
        if r == Err(Errno::EINTR) || sys.take_caught_signals().contains(&Signal::SIGINT) {
            stdout
                .put(&sys, b"\nKeyboard interrupt received, exiting.\n")
                .await;
            let _ = stdout.flush(&sys).await;
            return 0;
        }
        for p in pfds.iter().skip(1) {
            if p.revents != 0 {
                server.on_readable(&sys, p.fd).await;
            }
        }
        if pfds[0].revents & POLLIN != 0
            && let Ok((fd, peer)) = sys
                .accept_as(
                    s,
                    crate::sys::Accept {
                        cloexec: true,
                        ..crate::sys::Accept::ACCEPT4
                    },
                )
                .await
        {
            // CPython's socket module passes its 128-byte address buffer.
            let _ = sys.sockname_buf(fd, false, Some(128)).await;
            server.conns.push(Conn {
                fd,
                peer,
                buf: Vec::new(),
            });
        }
    }
}

async fn os_error(sys: &Sys, e: Errno) -> i32 {
    eprint(
        sys,
        &format!("OSError: [Errno {}] {}\n", e.number(), e.text()),
    )
    .await;
    1
}

/// A connection whose request is still coming in.
#[derive(Debug)]
struct Conn {
    fd: Fd,
    peer: SocketAddrV4,
    buf: Vec<u8>,
}

struct Server {
    root: String,
    conns: Vec<Conn>,
}

/// What a reply depends on in the request.
#[derive(Clone, Copy)]
struct Req<'a> {
    /// The request line, for the log.
    line: &'a str,
    /// HEAD: headers only.
    head_only: bool,
    /// HTTP/0.9: body only.
    http09: bool,
}

/// A reply: status line words, headers, body.
struct Reply {
    code: u16,
    /// The status line's text: CPython sends `send_error`'s message there.
    reason: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn explain(code: u16) -> &'static str {
    match code {
        400 => "Bad request syntax or unsupported method",
        404 => "Nothing matches the given URI",
        501 => "Server does not support this operation",
        _ => "",
    }
}

/// `html.escape(s, quote=False)`.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `send_error`'s page (`DEFAULT_ERROR_MESSAGE`).
pub fn error_page(code: u16, message: &str) -> String {
    format!(
        "<!DOCTYPE HTML>\n<html lang=\"en\">\n    <head>\n        <meta charset=\"utf-8\">\n        <title>Error response</title>\n    </head>\n    <body>\n        <h1>Error response</h1>\n        <p>Error code: {code}</p>\n        <p>Message: {}.</p>\n        <p>Error code explanation: {code} - {}.</p>\n    </body>\n</html>\n",
        escape(message),
        explain(code)
    )
}

/// The MIME type `mimetypes.guess_type` gives for a name.
fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html",
        "txt" | "py" | "sh" | "c" | "h" => "text/plain",
        "css" => "text/css",
        "js" => "text/javascript",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// `urllib.parse.unquote` of the path part.
fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Server {
    fn conn_index(&self, fd: Fd) -> Option<usize> {
        self.conns.iter().position(|c| c.fd == fd)
    }

    async fn on_readable(&mut self, sys: &Sys, fd: Fd) {
        let Some(i) = self.conn_index(fd) else {
            return;
        };
        let data = sys.read(fd, 8192).await;
        let conn = &mut self.conns[i];
        match data {
            Ok(d) if !d.is_empty() => {
                conn.buf.extend_from_slice(&d);
                let done =
                    find_header_end(&conn.buf).is_some() || conn.buf.len() >= MAX_REQUEST_BYTES;
                if !done {
                    return;
                }
            }
            // EOF: a request cut short is handled with what came; nothing came
            // at all is a silent close.
            Ok(_) if conn.buf.is_empty() => {
                let conn = self.conns.remove(i);
                finish(sys, conn.fd).await;
                return;
            }
            Ok(_) => {}
            Err(_) => {
                let conn = self.conns.remove(i);
                finish(sys, conn.fd).await;
                return;
            }
        }
        let conn = self.conns.remove(i);
        self.handle(sys, conn).await;
    }

    async fn handle(&self, sys: &Sys, conn: Conn) {
        // CPython parses the request and builds the reply in about a millisecond:
        // long enough that a second client arrives while the first is served.
        sys.compute(HANDLE_REQUEST_US);
        let text = String::from_utf8_lossy(&conn.buf).into_owned();
        let line = text
            .split('\n')
            .next()
            .unwrap_or("")
            .trim_end_matches(['\r', '\n'])
            .to_string();
        let words: Vec<&str> = line.split_whitespace().collect();
        let client = conn.peer.ip().to_string();
        let log = |msg: String| {
            let when = WallTime::at(sys.now_us()).log_date();
            format!("{client} - - [{when}] {msg}\n")
        };
        // parse_request: a request without an `HTTP/x.y` version is HTTP/0.9, and
        // an HTTP/0.9 reply is the body alone, without status line or headers.
        let parsed = match words.as_slice() {
            [m, p, v] if v.starts_with("HTTP/") => Ok((m.to_string(), p.to_string(), false)),
            [_, _, v] => Err(format!("Bad request version ('{v}')")),
            [m, p] if *m == "GET" => Ok((m.to_string(), p.to_string(), true)),
            [m, _] => Err(format!("Bad HTTP/0.9 request type ('{m}')")),
            _ => Err(format!("Bad request syntax ('{line}')")),
        };
        let (method, path, http09) = match parsed {
            Ok(p) => p,
            Err(msg) => {
                let page = error_page(400, &msg);
                eprint(sys, &log(format!("code 400, message {msg}"))).await;
                eprint(sys, &log(format!("\"{line}\" 400 -"))).await;
                let reply = error_reply(400, msg, page);
                send_reply(sys, &conn, reply, false, true).await;
                return;
            }
        };
        let head_only = method == "HEAD";
        if method != "GET" && !head_only {
            let msg = format!("Unsupported method ('{method}')");
            eprint(sys, &log(format!("code 501, message {msg}"))).await;
            eprint(sys, &log(format!("\"{line}\" 501 -"))).await;
            let page = error_page(501, &msg);
            let reply = error_reply(501, msg, page);
            send_reply(sys, &conn, reply, false, http09).await;
            return;
        }
        let req = Req {
            line: &line,
            head_only,
            http09,
        };
        let url_path = path.split(['?', '#']).next().unwrap_or("/").to_string();
        // translate_path: `.` and `..` components are dropped, so a request
        // never leaves the served directory.
        let rel: Vec<String> = unquote(&url_path)
            .split('/')
            .filter(|w| !w.is_empty() && *w != "." && *w != "..")
            .map(String::from)
            .collect();
        let fs_path = crate::kernel::fs::normalize(&self.root, &rel.join("/"));
        let reply = match sys.stat(&fs_path).await {
            Ok(Inode::Dir) if !url_path.ends_with('/') => {
                eprint(sys, &log(format!("\"{line}\" 301 -"))).await;
                let mut r = Reply {
                    code: 301,
                    reason: "Moved Permanently".into(),
                    headers: vec![
                        ("Location".into(), format!("{url_path}/")),
                        ("Content-Length".into(), "0".into()),
                    ],
                    body: Vec::new(),
                };
                r.headers.insert(0, ("Server".into(), SERVER.into()));
                r.headers
                    .insert(1, ("Date".into(), WallTime::at(sys.now_us()).http_date()));
                send_reply(sys, &conn, r, head_only, http09).await;
                return;
            }
            Ok(Inode::Dir) => {
                let index = format!("{}/index.html", fs_path.trim_end_matches('/'));
                let index_htm = format!("{}/index.htm", fs_path.trim_end_matches('/'));
                if sys.stat(&index).await.is_ok() {
                    self.file_reply(sys, &conn, &index, &log, req).await;
                    return;
                } else if sys.stat(&index_htm).await.is_ok() {
                    self.file_reply(sys, &conn, &index_htm, &log, req).await;
                    return;
                }
                let names = sys.list_dir(&fs_path).await.unwrap_or_default();
                let body = listing(&unquote(&url_path), &names, sys, &fs_path).await;
                eprint(sys, &log(format!("\"{line}\" 200 -"))).await;
                Reply {
                    code: 200,
                    reason: "OK".into(),
                    headers: vec![
                        ("Server".into(), SERVER.into()),
                        ("Date".into(), WallTime::at(sys.now_us()).http_date()),
                        ("Content-type".into(), "text/html; charset=utf-8".into()),
                        ("Content-Length".into(), body.len().to_string()),
                    ],
                    body: body.into_bytes(),
                }
            }
            Ok(_) => {
                self.file_reply(sys, &conn, &fs_path, &log, req).await;
                return;
            }
            Err(_) => not_found(sys, &log, &line).await,
        };
        send_reply(sys, &conn, reply, head_only, http09).await;
    }

    async fn file_reply(
        &self,
        sys: &Sys,
        conn: &Conn,
        path: &str,
        log: &impl Fn(String) -> String,
        req: Req<'_>,
    ) {
        let Req {
            line,
            head_only,
            http09,
        } = req;
        let fd = match sys.open(path, OpenFlags::read_only()).await {
            Ok(fd) => fd,
            Err(_) => {
                let r = not_found(sys, log, line).await;
                send_reply(sys, conn, r, head_only, http09).await;
                return;
            }
        };
        let size = match sys.stat(path).await {
            Ok(Inode::File { data }) => data.len(),
            _ => 0,
        };
        eprint(sys, &log(format!("\"{line}\" 200 -"))).await;
        let header = header_block(
            200,
            "OK",
            &[
                ("Server".into(), SERVER.into()),
                ("Date".into(), WallTime::at(sys.now_us()).http_date()),
                ("Content-type".into(), content_type(path).into()),
                ("Content-Length".into(), size.to_string()),
                ("Last-Modified".into(), WallTime::at(0).http_date()),
            ],
        );
        let mut ok = if http09 {
            Ok(())
        } else {
            sys.write_all(conn.fd, header.as_bytes()).await
        };
        if ok.is_ok() && !head_only {
            // CPython's way from the headers to the body takes a while: the reader
            // sees two chunks (185 + 25 bytes, ground truth §7.4).
            sys.compute(COPYFILE_US);
            // shutil.copyfileobj: 64 KiB reads through a BufferedReader, which
            // tries to fill the rest of its buffer (rounded to 4 KiB) before the
            // chunk is sent.
            loop {
                let Ok(mut d) = sys.read(fd, 65_536).await else {
                    break;
                };
                if d.is_empty() {
                    break;
                }
                if d.len() < 65_536 {
                    let used = d.len().div_ceil(4096) * 4096;
                    if let Ok(more) = sys.read(fd, 65_536 - used.min(65_536)).await {
                        d.extend_from_slice(&more);
                    }
                }
                if let Err(e) = sys.write_all(conn.fd, &d).await {
                    ok = Err(e);
                    break;
                }
            }
        }
        let _ = sys.close(fd).await;
        if let Err(e) = ok {
            exception(sys, conn, e).await;
        }
        finish(sys, conn.fd).await;
    }
}

async fn not_found(sys: &Sys, log: &impl Fn(String) -> String, line: &str) -> Reply {
    eprint(sys, &log("code 404, message File not found".into())).await;
    eprint(sys, &log(format!("\"{line}\" 404 -"))).await;
    let mut r = error_reply(
        404,
        "File not found".into(),
        error_page(404, "File not found"),
    );
    r.headers
        .insert(1, ("Date".into(), WallTime::at(sys.now_us()).http_date()));
    r
}

/// A `send_error` reply (the Date header is added by the caller where CPython adds
/// it: right after `Server`).
fn error_reply(code: u16, reason: String, page: String) -> Reply {
    Reply {
        code,
        reason,
        headers: vec![
            ("Server".into(), SERVER.into()),
            ("Connection".into(), "close".into()),
            ("Content-Type".into(), "text/html;charset=utf-8".into()),
            ("Content-Length".into(), page.len().to_string()),
        ],
        body: page.into_bytes(),
    }
}

fn header_block(code: u16, reason: &str, headers: &[(String, String)]) -> String {
    let mut h = format!("HTTP/1.0 {code} {reason}\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h
}

/// Sends a reply: the header block (not for HTTP/0.9), then the body (not for
/// HEAD), then closes.
async fn send_reply(sys: &Sys, conn: &Conn, mut reply: Reply, head_only: bool, http09: bool) {
    if !reply.headers.iter().any(|(k, _)| k == "Date") {
        reply
            .headers
            .insert(1, ("Date".into(), WallTime::at(sys.now_us()).http_date()));
    }
    let header = header_block(reply.code, &reply.reason, &reply.headers);
    let mut r = if http09 {
        Ok(())
    } else {
        sys.write_all(conn.fd, header.as_bytes()).await
    };
    if r.is_ok() && !head_only && !reply.body.is_empty() {
        // shutil.copyfileobj between the two sends: the reader sees two chunks.
        sys.compute(COPYFILE_US);
        r = sys.write_all(conn.fd, &reply.body).await;
    }
    if let Err(e) = r {
        exception(sys, conn, e).await;
    }
    finish(sys, conn.fd).await;
}

/// socketserver's `handle_error`: the banner and the exception.
async fn exception(sys: &Sys, conn: &Conn, e: Errno) {
    let kind = match e {
        Errno::EPIPE => "BrokenPipeError",
        Errno::ECONNRESET => "ConnectionResetError",
        _ => "OSError",
    };
    eprint(
        sys,
        &format!(
            "----------------------------------------\nException occurred during processing of request from ('{}', {})\nTraceback (most recent call last):\n{kind}: [Errno {}] {}\n----------------------------------------\n",
            conn.peer.ip(),
            conn.peer.port(),
            e.number(),
            e.text()
        ),
    )
    .await;
}

/// `shutdown_request`: `shutdown(SHUT_WR)` (errors ignored), then `close`.
async fn finish(sys: &Sys, fd: Fd) {
    let _ = sys.shutdown(fd, Shutdown::Write).await;
    let _ = sys.close(fd).await;
}

fn find_header_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `list_directory`'s page.
async fn listing(url: &str, names: &[String], sys: &Sys, dir: &str) -> String {
    let title = format!("Directory listing for {}", escape(url));
    let mut s = format!(
        "<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n<hr>\n<ul>\n"
    );
    for n in names {
        let is_dir = matches!(
            sys.stat(&format!("{}/{n}", dir.trim_end_matches('/')))
                .await,
            Ok(Inode::Dir)
        );
        let shown = if is_dir { format!("{n}/") } else { n.clone() };
        s.push_str(&format!(
            "<li><a href=\"{shown}\">{}</a></li>\n",
            escape(&shown)
        ));
    }
    s.push_str("</ul>\n<hr>\n</body>\n</html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_pages_have_cpythons_sizes() {
        assert_eq!(error_page(404, "File not found").len(), 335);
        // Measured: `curl -X POST` gets Content-Length: 357.
        assert_eq!(error_page(501, "Unsupported method ('POST')").len(), 357);
    }

    #[test]
    fn a_200_header_block_for_a_25_byte_file_is_185_bytes() {
        let h = header_block(
            200,
            "OK",
            &[
                ("Server".into(), SERVER.into()),
                ("Date".into(), WallTime::at(0).http_date()),
                ("Content-type".into(), "text/html".into()),
                ("Content-Length".into(), "25".into()),
                ("Last-Modified".into(), WallTime::at(0).http_date()),
            ],
        );
        assert_eq!(h.len(), 185);
    }

    #[test]
    fn unquote_decodes_percent_escapes() {
        assert_eq!(unquote("/a%20b"), "/a b");
        assert_eq!(unquote("/%zz"), "/%zz");
    }
}
