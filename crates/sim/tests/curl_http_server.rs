//! curl and `python3 -m http.server`: request and response bytes, exit codes and
//! messages as the real ones print them on this machine.

mod harness;

use harness::*;
use pipelab_sim::kernel::Signal;
use pipelab_sim::run::NcFlavor;
use pipelab_sim::world::World;

/// The backend at t=0, its stdout and stderr in /tmp/backend.{out,err}.
fn with_backend() -> (World, Log) {
    let backend = backend()
        .stdout("/tmp/backend.out")
        .stderr("/tmp/backend.err");
    world_with_backend(NcFlavor::Openbsd, backend)
}

#[test]
fn curl_reports_connection_refused_with_exit_7() {
    let line = cmd("curl http://127.0.0.1:6000/");
    let (w, log) = run_pipeline(NcFlavor::Openbsd, "curl", vec![line], TEST_UNTIL_US);
    assert_eq!(log.lines(), vec!["curl PIPESTATUS=7"]);
    assert_eq!(
        terminal(&w),
        "curl: (7) Failed to connect to 127.0.0.1 port 6000 after 0 ms: Couldn't connect to server\n"
    );
}

#[test]
fn curl_s_is_silent_and_s_capital_s_shows_the_error() {
    let mut w = world_programs(NcFlavor::Openbsd);
    spawn(&mut w, move |sys| async move {
        pipeline(&sys, vec![cmd("curl -s http://127.0.0.1:6000/")]).await;
        pipeline(&sys, vec![cmd("curl -sS http://127.0.0.1:6000/")]).await;
        0
    });
    run(&mut w);
    assert_eq!(
        terminal(&w),
        "curl: (7) Failed to connect to 127.0.0.1 port 6000 after 0 ms: Couldn't connect to server\n"
    );
}

#[test]
fn http_server_response_is_210_bytes_for_a_25_byte_file() {
    let (mut w, log) = with_backend();
    let l = log.clone();
    spawn(&mut w, move |sys| async move {
        sys.sleep_us(500_000).await.unwrap();
        let s = connect_to(&sys, "127.0.0.1:5000").await;
        let req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:5000\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
        sys.write(s, req).await.unwrap();
        let mut all = Vec::new();
        loop {
            let d = sys.read(s, 65536).await.unwrap();
            if d.is_empty() {
                break;
            }
            l.push(format!("chunk {}", d.len()));
            all.extend(d);
        }
        l.push(String::from_utf8(all).unwrap());
        0
    });
    w.run_until(5_000_000, |_| false);
    let lines = log.lines();
    // The headers and the body leave in two writes: 185 + 25 = 210 bytes.
    assert_eq!(lines[..2], ["chunk 185", "chunk 25"], "{lines:?}");
    assert_eq!(lines[2].len(), 210);
    assert_eq!(
        lines[2],
        "HTTP/1.0 200 OK\r\n\
         Server: SimpleHTTP/0.6 Python/3.11.2\r\n\
         Date: Thu, 26 Nov 2026 00:00:00 GMT\r\n\
         Content-type: text/html\r\n\
         Content-Length: 25\r\n\
         Last-Modified: Thu, 26 Nov 2026 00:00:00 GMT\r\n\
         \r\n\
         hello from backend :5000\n"
    );
    assert_eq!(
        file(&w, "/tmp/backend.err"),
        "127.0.0.1 - - [26/Nov/2026 00:00:00] \"GET / HTTP/1.1\" 200 -\n"
    );
    let trace = strace(&w);
    // Headers and body go out in two writes, then SHUT_WR and close.
    assert!(trace.contains("\"..., 185) = 185"), "{trace}");
    assert!(trace.contains("write(4, \"hello from backend :5000\\n\", 25) = 25"));
    assert!(trace.contains("shutdown(4, SHUT_WR) = 0"));
    assert!(trace.contains("listen(3, 5) = 0"));
}

#[test]
fn curl_w_prints_code_exitcode_and_size_for_each_url() {
    let (mut w, log) = with_backend();
    spawn_cmd(
        &mut w,
        &log,
        "curl",
        Cmd::argv(&[
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{exitcode} %{size_download}\\n",
            "http://127.0.0.1:5000/",
            "http://127.0.0.1:5999/",
            "http://127.0.0.1:5000/nope",
        ])
        .after_us(500_000),
    );
    w.run_until(5_000_000, |_| false);
    assert!(log.lines().contains(&"curl PIPESTATUS=0".to_string()));
    let page = pipelab_sim::programs::http_server::error_page(404, "File not found");
    assert_eq!(
        terminal(&w),
        format!("200 0 25\n000 7 0\n{page}404 0 335\n")
    );
    assert_eq!(
        file(&w, "/tmp/backend.err"),
        "127.0.0.1 - - [26/Nov/2026 00:00:00] \"GET / HTTP/1.1\" 200 -\n\
         127.0.0.1 - - [26/Nov/2026 00:00:00] code 404, message File not found\n\
         127.0.0.1 - - [26/Nov/2026 00:00:00] \"GET /nope HTTP/1.1\" 404 -\n"
    );
}

#[test]
fn curl_verbose_shows_the_exchange_like_curl_7_88() {
    let (mut w, log) = with_backend();
    spawn_cmd(
        &mut w,
        &log,
        "curl",
        cmd("curl -sv http://127.0.0.1:5000/")
            .after_us(500_000)
            .stdout("/tmp/out")
            .stderr("/tmp/err"),
    );
    w.run_until(5_000_000, |_| false);
    assert_eq!(file(&w, "/tmp/out"), PAGE);
    assert_eq!(
        file(&w, "/tmp/err"),
        "*   Trying 127.0.0.1:5000...\n\
         * Connected to 127.0.0.1 (127.0.0.1) port 5000 (#0)\n\
         > GET / HTTP/1.1\r\n\
         > Host: 127.0.0.1:5000\r\n\
         > User-Agent: curl/7.88.1\r\n\
         > Accept: */*\r\n\
         > \r\n\
         * HTTP 1.0, assume close after body\n\
         < HTTP/1.0 200 OK\r\n\
         < Server: SimpleHTTP/0.6 Python/3.11.2\r\n\
         < Date: Thu, 26 Nov 2026 00:00:00 GMT\r\n\
         < Content-type: text/html\r\n\
         < Content-Length: 25\r\n\
         < Last-Modified: Thu, 26 Nov 2026 00:00:00 GMT\r\n\
         < \r\n\
         { [25 bytes data]\n\
         * Closing connection 0\n"
    );
    let trace = strace(&w);
    assert!(
        trace.contains(
            "sendto(3, \"GET / HTTP/1.1\\r\\nHost: 127.0.0.1:\"..., 78, MSG_NOSIGNAL, NULL, 0) = 78"
        ),
        "{trace}"
    );
    assert!(trace.contains(", 102400) = 185"), "{trace}");
}

/// A test server on 6000 that does `what` with its one connection.
fn raw_server(w: &mut World, what: &'static str) {
    spawn(w, move |sys| async move {
        let s = sys.socket().await.unwrap();
        sys.bind(s, "127.0.0.1:6000".parse().unwrap())
            .await
            .unwrap();
        sys.listen(s, 5).await.unwrap();
        let (c, _) = sys.accept(s).await.unwrap();
        match what {
            "empty" => {
                sys.read(c, 1000).await.unwrap();
                sys.close(c).await.unwrap();
            }
            "reset" => {
                // Close without reading: the unread request makes it a RST.
                sys.sleep_us(1000).await.unwrap();
                sys.close(c).await.unwrap();
            }
            "hang" => {
                sys.sleep_us(5_000_000).await.unwrap();
            }
            "noclen" => {
                sys.read(c, 1000).await.unwrap();
                sys.write(c, b"HTTP/1.0 200 OK\r\n\r\nabc\n").await.unwrap();
                sys.sleep_us(300_000).await.unwrap();
                sys.close(c).await.unwrap();
            }
            _ => unreachable!(),
        }
        0
    });
}

fn curl_against(what: &'static str, args: &str) -> (Vec<String>, String) {
    let mut w = world_programs(NcFlavor::Openbsd);
    raw_server(&mut w, what);
    let log = Log::default();
    spawn_cmd(
        &mut w,
        &log,
        "curl",
        cmd(&format!("curl {args} http://127.0.0.1:6000/")).after_us(100_000),
    );
    w.run_until(10_000_000, |_| false);
    (log.lines(), terminal(&w))
}

#[test]
fn curl_reports_an_empty_reply_with_exit_52() {
    let (log, out) = curl_against("empty", "-sS --max-time 1");
    assert_eq!(log, vec!["curl PIPESTATUS=52"]);
    assert_eq!(out, "curl: (52) Empty reply from server\n");
}

#[test]
fn curl_reports_a_reset_with_exit_56() {
    let (log, out) = curl_against("reset", "-sS --max-time 1");
    assert_eq!(log, vec!["curl PIPESTATUS=56"]);
    assert_eq!(out, "curl: (56) Recv failure: Connection reset by peer\n");
}

#[test]
fn curl_gives_up_at_max_time_with_exit_28() {
    let (log, out) = curl_against("hang", "-sS --max-time 1");
    assert_eq!(log, vec!["curl PIPESTATUS=28"]);
    assert_eq!(
        out,
        "curl: (28) Operation timed out after 1000 milliseconds with 0 bytes received\n"
    );
}

#[test]
fn curl_without_content_length_reads_to_eof() {
    let (log, out) = curl_against("noclen", "-s");
    assert_eq!(log, vec!["curl PIPESTATUS=0"]);
    assert_eq!(out, "abc\n");
}

#[test]
fn http_server_holds_its_banner_in_a_buffer_when_stdout_is_not_a_terminal() {
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    let l = log.clone();
    spawn(&mut w, move |sys| async move {
        let server = sys
            .fork(|c| async move {
                let fd = c
                    .open(
                        "/tmp/out",
                        pipelab_sim::kernel::fs::OpenFlags::create_truncate(),
                    )
                    .await
                    .unwrap();
                c.dup2(fd, 1).await.unwrap();
                c.close(fd).await.unwrap();
                c.execve(
                    "/usr/bin/python3",
                    ["python3", "-m", "http.server", "5000"]
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                )
                .await;
                1
            })
            .await
            .unwrap();
        sys.sleep_us(1_000_000).await.unwrap();
        l.push("tick");
        sys.kill(server as i32, Some(Signal::SIGINT)).await.unwrap();
        let (_, st) = sys.waitpid(server as i32, false).await.unwrap().unwrap();
        l.push(format!("status {}", st.shell_status()));
        0
    });
    // At 1 s nothing has been written to the file yet.
    w.run_until(999_000, |_| false);
    assert_eq!(file(&w, "/tmp/out"), "");
    w.run_until(5_000_000, |_| false);
    assert_eq!(log.lines(), vec!["tick", "status 0"]);
    assert_eq!(
        file(&w, "/tmp/out"),
        "Serving HTTP on 0.0.0.0 port 5000 (http://0.0.0.0:5000/) ...\n\nKeyboard interrupt received, exiting.\n"
    );
}

#[test]
fn http_server_prints_its_banner_at_once_on_a_terminal() {
    let line = cmd("python3 -m http.server 5000 --bind 127.0.0.1");
    let (w, _) = run_pipeline(NcFlavor::Openbsd, "backend", vec![line], 100_000);
    assert_eq!(
        terminal(&w),
        "Serving HTTP on 127.0.0.1 port 5000 (http://127.0.0.1:5000/) ...\n"
    );
}

#[test]
fn a_second_http_server_on_the_same_port_fails_with_address_in_use() {
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    spawn_cmd(
        &mut w,
        &log,
        "first",
        cmd("python3 -m http.server 5000").stdout("/dev/null"),
    );
    spawn_cmd(
        &mut w,
        &log,
        "second",
        cmd("python3 -m http.server 5000")
            .after_us(100_000)
            .stderr("/tmp/err"),
    );
    w.run_until(1_000_000, |_| false);
    assert_eq!(log.lines(), vec!["second PIPESTATUS=1"]);
    let err = file(&w, "/tmp/err");
    assert!(
        err.starts_with("Traceback (most recent call last):\n"),
        "{err}"
    );
    assert!(
        err.ends_with("OSError: [Errno 98] Address already in use\n"),
        "{err}"
    );
}

#[test]
fn curl_draws_its_progress_meter_when_the_body_does_not_go_to_a_terminal() {
    let line = cmd("curl -o /tmp/x http://127.0.0.1:6000/");
    let (w, _) = run_pipeline(NcFlavor::Openbsd, "curl", vec![line], TEST_UNTIL_US);
    let zeros = "  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0";
    assert_eq!(
        terminal(&w),
        format!(
            "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n                                 Dload  Upload   Total   Spent    Left  Speed\n\r{zeros}\r{zeros}\ncurl: (7) Failed to connect to 127.0.0.1 port 6000 after 0 ms: Couldn't connect to server\n"
        )
    );
    // No body came: curl never created the file.
    assert!(w.kernel().vfs.inode("/tmp/x").is_none());
}

#[test]
fn http_server_error_replies_match_cpython() {
    // POST: 501 with the message as the status text and the page (357 bytes);
    // a request line without a version is HTTP/0.9: the page alone, no headers.
    let (mut w, log) = with_backend();
    let l = log.clone();
    spawn(&mut w, move |sys| async move {
        sys.sleep_us(500_000).await.unwrap();
        for req in [&b"POST / HTTP/1.1\r\n\r\n"[..], &b"BAD\r\n\r\n"[..]] {
            let s = connect_to(&sys, "127.0.0.1:5000").await;
            sys.write(s, req).await.unwrap();
            let all = read_to_end(&sys, s, 65536).await;
            let text = String::from_utf8(all).unwrap();
            l.push(text.lines().next().unwrap_or("").to_string());
            l.push(format!("{}", text.len()));
            sys.close(s).await.unwrap();
        }
        0
    });
    w.run_until(5_000_000, |_| false);
    let lines = log.lines();
    assert_eq!(
        lines[0], "HTTP/1.0 501 Unsupported method ('POST')",
        "{lines:?}"
    );
    assert_eq!(lines[2], "<!DOCTYPE HTML>", "{lines:?}");
    assert_eq!(
        file(&w, "/tmp/backend.err"),
        "127.0.0.1 - - [26/Nov/2026 00:00:00] code 501, message Unsupported method ('POST')\n\
         127.0.0.1 - - [26/Nov/2026 00:00:00] \"POST / HTTP/1.1\" 501 -\n\
         127.0.0.1 - - [26/Nov/2026 00:00:00] code 400, message Bad request syntax ('BAD')\n\
         127.0.0.1 - - [26/Nov/2026 00:00:00] \"BAD\" 400 -\n"
    );
    let page501 =
        pipelab_sim::programs::http_server::error_page(501, "Unsupported method ('POST')");
    assert!(lines[1].parse::<usize>().unwrap() > page501.len());
}

#[test]
fn http_server_reads_an_accepted_sockets_address_into_cpythons_128_byte_buffer() {
    let (mut w, _) = with_backend();
    spawn(&mut w, move |sys| async move {
        sys.sleep_us(500_000).await.unwrap();
        let s = connect_to(&sys, "127.0.0.1:5000").await;
        sys.write(s, b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
        read_to_end(&sys, s, 65536).await;
        0
    });
    w.run_until(5_000_000, |_| false);
    // As strace shows CPython 3.11 here: the listener's own check passes 16
    // bytes, the accepted socket's its generic 128-byte buffer.
    let trace = strace(&w);
    assert!(
        trace.contains(
            "getsockname(4, {sa_family=AF_INET, sin_port=htons(5000), \
             sin_addr=inet_addr(\"127.0.0.1\")}, [128 => 16]) = 0"
        ),
        "{trace}"
    );
    assert!(
        trace.contains(
            "getsockname(3, {sa_family=AF_INET, sin_port=htons(5000), \
             sin_addr=inet_addr(\"127.0.0.1\")}, [16]) = 0"
        ),
        "{trace}"
    );
}
