//! The seed's scenario through the proxy: `python3 -m http.server` behind it and
//! back-to-back curl clients. Through the nc FIFO loop some of these fail
//! ("connection refused" in the restart window); through the proxy none may.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use support::*;

struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn need(tool: &str) {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "this test needs `{tool}` (on Debian: apt-get install {tool}); `cargo xtask test` installs it"
    );
}

/// `python3 -u -m http.server 0 --bind 127.0.0.1 --directory DIR`, port read from
/// its first line ("Serving HTTP on 127.0.0.1 port 41234 ...").
fn http_server(dir: &std::path::Path) -> (Reaped, SocketAddr) {
    let mut child = Command::new("python3")
        .args([
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start python3 -m http.server");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("http.server did not start");
    let port: u16 = line
        .split_whitespace()
        .skip_while(|w| *w != "port")
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected http.server line: {line}"));
    (Reaped(child), SocketAddr::from(([127, 0, 0, 1], port)))
}

#[test]
fn back_to_back_curls_through_the_proxy_to_http_server_all_succeed() {
    need("python3");
    need("curl");
    let dir = std::env::temp_dir().join(format!("pipelab-proxy-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let body = "hello from behind the proxy\n".repeat(100);
    std::fs::write(dir.join("index.txt"), &body).unwrap();
    let (_server, backend_addr) = http_server(&dir);
    let proxy = Proxy::start(&[backend_addr], &[]);
    let url = format!("http://{}/index.txt", proxy.addr);

    for i in 0..30 {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "10", &url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "request {i} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), body, "request {i}");
    }
    // And several at once, which one nc pipeline can never do.
    let parallel: Vec<_> = (0..8)
        .map(|_| {
            Command::new("curl")
                .args([
                    "-sS",
                    "--max-time",
                    "10",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    &url,
                ])
                .output()
                .unwrap()
        })
        .collect();
    for out in parallel {
        assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
