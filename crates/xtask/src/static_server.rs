//! A small static file server for `www/`, in std Rust so `cargo xtask serve` needs
//! nothing installed.
//!
//! It listens on 127.0.0.1 only, answers GET and HEAD, serves `index.html` for a
//! directory, never leaves its root (no `..`, no symlink out), sends the MIME types a
//! browser insists on (`application/wasm` for `WebAssembly.instantiateStreaming`,
//! `text/javascript` for modules) and `Cache-Control: no-store` so a rebuilt page is
//! never served stale. One thread per connection, bounded; `Connection: close` keeps
//! each thread's life to a single request.

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};

/// More concurrent connections than a browser opens to one host (6), with room to spare.
const CONNECTIONS_MAX: usize = 64;
/// A request line plus headers larger than this is not from a browser loading a page.
const REQUEST_HEAD_BYTES_MAX: usize = 16 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds 127.0.0.1:`port` (0 picks a free port); `serve` then answers requests.
#[derive(Debug)]
pub struct StaticServer {
    listener: TcpListener,
    root: PathBuf,
}

impl StaticServer {
    pub fn bind(root: &Path, port: u16) -> Result<Self> {
        let root = root
            .canonicalize()
            .with_context(|| format!("cannot serve {}: no such directory", root.display()))?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).map_err(|error| {
            if error.kind() == io::ErrorKind::AddrInUse {
                anyhow::anyhow!("port {port} is already in use; choose another with --port")
            } else {
                anyhow::Error::new(error).context(format!("cannot listen on 127.0.0.1:{port}"))
            }
        })?;
        Ok(Self { listener, root })
    }

    pub fn url(&self) -> Result<String> {
        let port = self.listener.local_addr()?.port();
        Ok(format!("http://127.0.0.1:{port}/"))
    }

    /// Serves until the process ends (Ctrl-C): a per-connection error is answered or
    /// dropped, never fatal.
    pub fn serve(self) -> Result<()> {
        let root = Arc::new(self.root);
        let active = Arc::new(AtomicUsize::new(0));
        for stream in self.listener.incoming() {
            let Ok(stream) = stream else { continue };
            if active.load(Ordering::Acquire) >= CONNECTIONS_MAX {
                continue; // Dropping it closes it; the browser retries.
            }
            active.fetch_add(1, Ordering::AcqRel);
            let (root, active) = (Arc::clone(&root), Arc::clone(&active));
            thread::spawn(move || {
                let _ = handle(stream, &root);
                active.fetch_sub(1, Ordering::AcqRel);
            });
        }
        Ok(())
    }
}

fn handle(mut stream: TcpStream, root: &Path) -> io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let Some((method, target)) = read_request_head(&stream)? else {
        return respond(
            &mut stream,
            400,
            "Bad Request",
            "text/plain; charset=utf-8",
            b"bad request\n",
            true,
        );
    };
    let send_body = method != "HEAD";
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut stream,
            405,
            "Method Not Allowed",
            "text/plain; charset=utf-8",
            b"only GET and HEAD\n",
            true,
        );
    }
    match find_file(root, &target) {
        Some(path) => match fs::read(&path) {
            Ok(body) => respond(&mut stream, 200, "OK", mime_type(&path), &body, send_body),
            Err(_) => not_found(&mut stream, send_body),
        },
        None => not_found(&mut stream, send_body),
    }
}

/// `GET /path HTTP/1.1` → `("GET", "/path")`; the headers are read and ignored.
fn read_request_head(stream: &TcpStream) -> io::Result<Option<(String, String)>> {
    let mut reader = BufReader::new(stream).take(REQUEST_HEAD_BYTES_MAX as u64);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut header = String::new();
    loop {
        header.clear();
        if reader.read_line(&mut header)? == 0 {
            return Ok(None); // Closed or too large before the blank line.
        }
        if header == "\r\n" || header == "\n" {
            break;
        }
    }
    let mut words = request_line.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(method), Some(target), Some(version)) if version.starts_with("HTTP/1.") => {
            Ok(Some((method.to_string(), target.to_string())))
        }
        _ => Ok(None),
    }
}

fn not_found(stream: &mut TcpStream, send_body: bool) -> io::Result<()> {
    respond(
        stream,
        404,
        "Not Found",
        "text/plain; charset=utf-8",
        b"not found\n",
        send_body,
    )
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    reason: &str,
    content_type: &str,
    body: &[u8],
    send_body: bool,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\n\
         Content-Type: {content_type}\r\n\
         Content-Length: {}\r\n\
         Cache-Control: no-store\r\n\
         X-Content-Type-Options: nosniff\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if send_body {
        stream.write_all(body)?;
    }
    stream.flush()
}

/// The file under `root` that a request target names, if there is one and it stays
/// inside `root` (a symlink pointing out of it counts as outside).
fn find_file(root: &Path, target: &str) -> Option<PathBuf> {
    let mut path = root.join(safe_relative_path(target)?);
    if path.is_dir() {
        path.push("index.html");
    }
    let path = path.canonicalize().ok()?;
    (path.starts_with(root) && path.is_file()).then_some(path)
}

/// The relative file path a request target names: the query and fragment dropped,
/// percent-escapes decoded, `.` segments skipped. `None` for anything that could
/// leave the served directory or that no file could be named: a `..` segment, a
/// backslash, a NUL, a target that is not an absolute path, invalid UTF-8.
pub fn safe_relative_path(target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next()?;
    if !path.starts_with('/') {
        return None;
    }
    let decoded = percent_decode(path)?;
    if decoded.contains(['\\', '\0']) {
        return None;
    }
    let mut relative = PathBuf::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            _ => relative.push(segment),
        }
    }
    // `push` of a segment such as `C:` could still make an absolute path elsewhere.
    relative
        .components()
        .all(|component| matches!(component, Component::Normal(_)))
        .then_some(relative)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

/// The `Content-Type` for a file, by its extension.
pub fn mime_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        Some("ts") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- MIME types ----

    #[test]
    fn wasm_is_served_as_application_wasm() {
        // `WebAssembly.instantiateStreaming` rejects any other type.
        assert_eq!(
            mime_type(Path::new("pkg/pipelab_web_bg.wasm")),
            "application/wasm"
        );
    }

    #[test]
    fn page_files_get_the_types_browsers_require() {
        assert_eq!(
            mime_type(Path::new("index.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            mime_type(Path::new("main.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(mime_type(Path::new("STYLE.CSS")), "text/css; charset=utf-8");
        assert_eq!(mime_type(Path::new("icon.svg")), "image/svg+xml");
    }

    #[test]
    fn unknown_extensions_are_opaque_bytes() {
        assert_eq!(mime_type(Path::new("Makefile")), "application/octet-stream");
        assert_eq!(mime_type(Path::new("a.exe")), "application/octet-stream");
    }

    // ---- path safety ----

    #[test]
    fn ordinary_targets_map_to_relative_paths() {
        assert_eq!(safe_relative_path("/"), Some(PathBuf::new()));
        assert_eq!(
            safe_relative_path("/pkg/pipelab_web.js"),
            Some(PathBuf::from("pkg/pipelab_web.js"))
        );
        assert_eq!(
            safe_relative_path("/main.js?v=2#top"),
            Some(PathBuf::from("main.js"))
        );
        assert_eq!(safe_relative_path("/./a//b"), Some(PathBuf::from("a/b")));
        assert_eq!(
            safe_relative_path("/a%20b.txt"),
            Some(PathBuf::from("a b.txt"))
        );
    }

    #[test]
    fn targets_that_could_leave_the_root_are_refused() {
        for target in [
            "/../etc/passwd",
            "/pkg/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2E%2Fetc%2Fpasswd",
            "/..%5c..%5cetc",
            "/a\\..\\b",
            "/a%00.html",
            "etc/passwd",
            "//../x",
            "/%zz",
            "/%ff",
        ] {
            assert_eq!(safe_relative_path(target), None, "{target}");
        }
    }

    #[test]
    fn a_symlink_out_of_the_root_is_not_served() {
        let dir = temp_dir("symlink");
        let root = dir.join("www");
        fs::create_dir_all(&root).unwrap();
        fs::write(dir.join("secret.txt"), "secret").unwrap();
        std::os::unix::fs::symlink(dir.join("secret.txt"), root.join("link.txt")).unwrap();
        let root = root.canonicalize().unwrap();
        assert_eq!(find_file(&root, "/link.txt"), None);
        fs::remove_dir_all(dir).unwrap();
    }

    // ---- over a socket ----

    #[test]
    fn serves_index_html_for_the_root_and_404_for_a_missing_file() {
        let dir = temp_dir("http");
        fs::write(dir.join("index.html"), "<p>hi</p>").unwrap();
        let server = StaticServer::bind(&dir, 0).unwrap();
        let address = server.listener.local_addr().unwrap();
        thread::spawn(move || server.serve());

        let index = get(address, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(index.starts_with("HTTP/1.1 200 OK\r\n"), "{index}");
        assert!(
            index.contains("Content-Type: text/html; charset=utf-8\r\n"),
            "{index}"
        );
        assert!(index.contains("Cache-Control: no-store\r\n"), "{index}");
        assert!(index.ends_with("\r\n\r\n<p>hi</p>"), "{index}");

        let missing = get(address, "GET /nope.js HTTP/1.1\r\n\r\n");
        assert!(
            missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
            "{missing}"
        );

        let escape = get(address, "GET /../../etc/passwd HTTP/1.1\r\n\r\n");
        assert!(escape.starts_with("HTTP/1.1 404 Not Found\r\n"), "{escape}");

        let head = get(address, "HEAD /index.html HTTP/1.1\r\n\r\n");
        assert!(
            head.contains("Content-Length: 9\r\n") && head.ends_with("\r\n\r\n"),
            "{head}"
        );

        let post = get(address, "POST / HTTP/1.1\r\n\r\n");
        assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
        fs::remove_dir_all(dir).unwrap();
    }

    fn get(address: std::net::SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(address).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}
