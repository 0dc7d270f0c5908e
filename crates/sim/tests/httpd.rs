//! `httpd`: the tiny HTTP/1.0 server's answers to curl, nc and raw clients, its
//! log lines, and the same server behind socat.

mod harness;

use harness::*;
use pipelab_sim::run::NcFlavor;
use pipelab_sim::sys::Sys;
use pipelab_sim::trace::EventKind;
use pipelab_sim::world::World;

/// `httpd 8080 /srv/www 2> /tmp/httpd.err` with a few files to serve.
fn with_httpd() -> (World, Log) {
    let mut w = world_programs(NcFlavor::Openbsd);
    {
        let mut k = w.kernel_mut();
        k.write_file("/srv/www/a.txt", b"plain text\n");
        k.write_file("/srv/www/style.css", b"body { color: red }\n");
        k.write_file("/srv/www/data.json", b"{\"ok\": true}\n");
        k.write_file("/srv/secret.txt", b"not for you\n");
    }
    let log = Log::default();
    spawn_cmd(
        &mut w,
        &log,
        "httpd",
        cmd("httpd 8080 /srv/www").stderr("/tmp/httpd.err"),
    );
    (w, log)
}

/// Runs `line` 0.1 s after the server started, its stdout to `/tmp/out`.
fn client(line: &str) -> (World, Log) {
    let (mut w, log) = with_httpd();
    spawn_cmd(
        &mut w,
        &log,
        "client",
        cmd(line).after_us(100_000).stdout("/tmp/out"),
    );
    run(&mut w);
    (w, log)
}

/// Connects to port 8080, sends `parts` one write each with 10 ms between, and
/// reads the answer to EOF.
async fn raw_request(sys: &Sys, parts: &[&[u8]]) -> String {
    sys.sleep_us(100_000).await.unwrap();
    let s = connect_to(sys, "127.0.0.1:8080").await;
    for p in parts {
        sys.write_all(s, p).await.unwrap();
        sys.sleep_us(10_000).await.unwrap();
    }
    let all = read_to_end(sys, s, 65536).await;
    sys.close(s).await.unwrap();
    String::from_utf8(all).unwrap()
}

fn raw(parts: &'static [&'static [u8]]) -> (World, String) {
    let (mut w, _log) = with_httpd();
    let got = Log::default();
    let g = got.clone();
    spawn(&mut w, move |sys| async move {
        g.push(raw_request(&sys, parts).await);
        0
    });
    run(&mut w);
    let reply = got.lines().pop().expect("the client finished");
    (w, reply)
}

fn ok_head(content_type: &str, length: usize) -> String {
    format!(
        "HTTP/1.0 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
}

fn error_reply(code: &str, extra: &str) -> String {
    let body = format!("{code}\n");
    format!(
        "HTTP/1.0 {code}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn get_slash_serves_index_html_with_length_type_and_body() {
    let (w, log) = client("curl -s -i http://127.0.0.1:8080/");
    assert_eq!(log.lines(), vec!["client PIPESTATUS=0"]);
    assert_eq!(
        file(&w, "/tmp/out"),
        format!("{}hello from backend :5000\n", ok_head("text/html", 25))
    );
    assert_eq!(
        file(&w, "/tmp/httpd.err"),
        "127.0.0.1 \"GET / HTTP/1.1\" 200 25\n"
    );
}

#[test]
fn content_type_follows_the_extension() {
    for (path, ctype, body) in [
        ("/a.txt", "text/plain", "plain text\n"),
        ("/style.css", "text/css", "body { color: red }\n"),
        ("/data.json", "application/json", "{\"ok\": true}\n"),
    ] {
        let (w, _) = client(&format!("curl -s -i http://127.0.0.1:8080{path}"));
        assert_eq!(
            file(&w, "/tmp/out"),
            format!("{}{body}", ok_head(ctype, body.len())),
            "{path}"
        );
    }
}

#[test]
fn the_file_is_opened_read_and_closed_in_the_trace() {
    let (w, _) = client("curl -s http://127.0.0.1:8080/a.txt");
    assert_eq!(file(&w, "/tmp/out"), "plain text\n");
    let trace = strace(&w);
    assert!(
        trace.contains("newfstatat(AT_FDCWD, \"/srv/www/a.txt\", {...}, 0) = 0"),
        "{trace}"
    );
    assert!(
        trace.contains("openat(AT_FDCWD, \"/srv/www/a.txt\", O_RDONLY) = 5"),
        "{trace}"
    );
    assert!(trace.contains("read(5, \"plain text\\n\", 4096) = 11"));
    assert!(trace.contains("read(5, \"\", 4096) = 0"));
    assert!(trace.contains("close(5) = 0"));
}

#[test]
fn a_missing_file_is_404() {
    let (w, log) = client("curl -s -i http://127.0.0.1:8080/nope.html");
    assert_eq!(log.lines(), vec!["client PIPESTATUS=0"]);
    assert_eq!(file(&w, "/tmp/out"), error_reply("404 Not Found", ""));
    assert_eq!(
        file(&w, "/tmp/httpd.err"),
        "127.0.0.1 \"GET /nope.html HTTP/1.1\" 404 14\n"
    );
}

#[test]
fn garbage_through_nc_is_400() {
    let (mut w, log) = with_httpd();
    spawn_pipeline(
        &mut w,
        &log,
        "client",
        vec![
            Cmd::argv(&["printf", "garbage\\r\\n\\r\\n"]).after_us(100_000),
            cmd("nc 127.0.0.1 8080").stdout("/tmp/out"),
        ],
    );
    run(&mut w);
    assert_eq!(file(&w, "/tmp/out"), error_reply("400 Bad Request", ""));
    assert_eq!(file(&w, "/tmp/httpd.err"), "127.0.0.1 \"garbage\" 400 16\n");
}

#[test]
fn another_method_is_405_with_allow() {
    let (w, _) = client("curl -s -i -X DELETE http://127.0.0.1:8080/a.txt");
    assert_eq!(
        file(&w, "/tmp/out"),
        error_reply("405 Method Not Allowed", "Allow: GET, HEAD\r\n")
    );
}

#[test]
fn a_request_split_across_several_writes_is_still_served() {
    let (w, reply) = raw(&[b"GET /a.t", b"xt HTTP/1.0\r\nHost: x\r", b"\n\r", b"\n"]);
    assert_eq!(reply, format!("{}plain text\n", ok_head("text/plain", 11)));
    // One read per arriving piece: the server waited for the blank line.
    let trace = strace(&w);
    let request_reads = trace.lines().filter(|l| l.contains(", 1024) = ")).count();
    assert_eq!(request_reads, 4, "{trace}");
}

#[test]
fn head_gets_the_headers_and_no_body() {
    let (w, reply) = raw(&[b"HEAD /a.txt HTTP/1.0\r\n\r\n"]);
    assert_eq!(reply, ok_head("text/plain", 11));
    assert_eq!(
        file(&w, "/tmp/httpd.err"),
        "127.0.0.1 \"HEAD /a.txt HTTP/1.0\" 200 0\n"
    );
}

#[test]
fn dot_dot_in_the_path_is_403_and_nothing_outside_is_opened() {
    let (w, reply) = raw(&[b"GET /../secret.txt HTTP/1.0\r\n\r\n"]);
    assert_eq!(reply, error_reply("403 Forbidden", ""));
    assert!(!strace(&w).contains("secret.txt\", O_RDONLY"));
}

#[test]
fn a_request_head_over_8_kib_is_431() {
    static BIG: [u8; 9000] = [b'a'; 9000];
    static PARTS: [&[u8]; 2] = [b"GET / HTTP/1.0\r\nX: ", &BIG];
    let (w, reply) = raw(&PARTS);
    assert_eq!(
        reply,
        error_reply("431 Request Header Fields Too Large", "")
    );
    // It read no more than its 8 KiB bound before answering.
    let k = w.kernel();
    let read_total: u64 = k
        .trace
        .iter()
        .take_while(|e| {
            !matches!(
                e.kind,
                EventKind::Syscall {
                    name: "shutdown",
                    ..
                }
            )
        })
        .filter_map(|e| match &e.kind {
            EventKind::Syscall {
                name: "read",
                fd: Some(4),
                bytes: Some(n),
                ..
            } => Some(*n),
            _ => None,
        })
        .sum();
    assert_eq!(read_total, 8192);
}

#[test]
fn httpd_behind_socat_fork_serves_through_the_proxy() {
    let (mut w, log) = with_httpd();
    spawn_cmd(
        &mut w,
        &log,
        "socat",
        cmd("socat TCP-LISTEN:6000,fork,reuseaddr TCP:127.0.0.1:8080"),
    );
    spawn(&mut w, move |sys| async move {
        sys.sleep_us(100_000).await.unwrap();
        for (i, path) in ["/", "/a.txt"].iter().enumerate() {
            pipeline(
                &sys,
                vec![
                    cmd(&format!("curl -s -i http://127.0.0.1:6000{path}"))
                        .stdout(&format!("/tmp/out{i}")),
                ],
            )
            .await;
        }
        0
    });
    run(&mut w);
    assert_eq!(
        file(&w, "/tmp/out0"),
        format!("{}hello from backend :5000\n", ok_head("text/html", 25))
    );
    assert_eq!(
        file(&w, "/tmp/out1"),
        format!("{}plain text\n", ok_head("text/plain", 11))
    );
    assert_eq!(
        file(&w, "/tmp/httpd.err"),
        "127.0.0.1 \"GET / HTTP/1.1\" 200 25\n127.0.0.1 \"GET /a.txt HTTP/1.1\" 200 11\n"
    );
}

#[test]
fn a_taken_port_is_reported_like_perror_and_usage_errors_exit_2() {
    let (mut w, log) = with_httpd();
    spawn_cmd(&mut w, &log, "second", cmd("httpd 8080").after_us(100_000));
    spawn_cmd(&mut w, &log, "usage", cmd("httpd").after_us(200_000));
    run(&mut w);
    assert_eq!(
        log.lines(),
        vec!["second PIPESTATUS=1", "usage PIPESTATUS=2"]
    );
    assert_eq!(
        terminal(&w),
        "httpd: bind: Address already in use\nusage: httpd PORT [DIR]\n"
    );
}
