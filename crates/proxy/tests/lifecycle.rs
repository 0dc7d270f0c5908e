//! The proxy as a process: limits, timeouts, fd exhaustion, signals, exit codes,
//! log lines.

mod support;

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use support::*;

/// One echo round trip; `None` if nothing came back within `limit`.
fn echo_round_trip(stream: &mut TcpStream, message: &[u8], limit: Duration) -> Option<Vec<u8>> {
    stream.set_read_timeout(Some(limit)).unwrap();
    stream.write_all(message).ok()?;
    let mut got = vec![0; message.len()];
    stream.read_exact(&mut got).ok()?;
    Some(got)
}

#[test]
fn past_max_connections_further_clients_wait_in_the_backlog() {
    let proxy = Proxy::start(&[backend(echo)], &["--max-connections", "2"]);
    let mut first = proxy.connect();
    let mut second = proxy.connect();
    let t = Duration::from_secs(5);
    assert!(echo_round_trip(&mut first, b"1", t).is_some());
    assert!(echo_round_trip(&mut second, b"2", t).is_some());
    // The third client's handshake completes in the kernel, but it is not served...
    let mut third = proxy.connect();
    assert!(echo_round_trip(&mut third, b"3", Duration::from_millis(300)).is_none());
    // ...until a slot frees up.
    drop(first);
    let mut got = [0u8; 1];
    third.set_read_timeout(Some(t)).unwrap();
    third.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"3");
}

#[test]
fn fd_exhaustion_is_survived_without_spinning_and_service_resumes() {
    let mut proxy = Proxy::start_with_fd_limit(64, &[backend(echo)], &[]);
    // Each proxied connection costs 2 fds: 100 clients cannot all be served.
    let mut clients: Vec<TcpStream> = (0..100).map(|_| proxy.connect()).collect();
    for c in &mut clients {
        c.write_all(b"ping").unwrap();
    }
    assert!(
        proxy
            .wait_for_log("out of file descriptors", Duration::from_secs(10))
            .is_some(),
        "{:?}",
        proxy.log()
    );
    // While exhausted, the accept loop backs off instead of spinning.
    let ticks_before = proxy.cpu_ticks();
    thread::sleep(Duration::from_secs(1));
    let ticks = proxy.cpu_ticks() - ticks_before;
    assert!(ticks < 30, "{ticks} CPU ticks in 1 s while out of fds");
    assert!(proxy.is_running());

    drop(clients);
    // Once fds are free again, new clients are served (the back-off is at most 1 s).
    assert!(
        eventually(Duration::from_secs(15), || {
            let mut fresh = proxy.connect();
            echo_round_trip(&mut fresh, b"again", Duration::from_secs(5)).is_some()
        }),
        "{:?}",
        proxy.log()
    );
    for _ in 0..5 {
        let mut fresh = proxy.connect();
        assert!(echo_round_trip(&mut fresh, b"again", Duration::from_secs(5)).is_some());
    }
    assert!(proxy.is_running());
}

#[test]
fn sigterm_stops_accepting_lets_open_connections_finish_and_exits_0() {
    let mut proxy = Proxy::start(
        &[backend(|mut stream| {
            let mut request = [0u8; 4];
            stream.read_exact(&mut request).unwrap();
            thread::sleep(Duration::from_millis(800));
            stream.write_all(b"response").unwrap();
        })],
        &["--shutdown-timeout", "20s"],
    );
    let mut client = proxy.connect();
    client.write_all(b"req\n").unwrap();
    thread::sleep(Duration::from_millis(200));
    proxy.signal("TERM");
    // The listener goes away at once: new clients are refused...
    assert!(eventually(Duration::from_secs(5), || TcpStream::connect(
        proxy.addr
    )
    .is_err()));
    // ...while the open connection gets its whole response.
    let (got, end) = read_to_end(&mut client);
    end.unwrap();
    assert_eq!(got, b"response");
    drop(client); // as an HTTP client does once it has its response
    let status = proxy.wait_exit(Duration::from_secs(10)).expect("no exit");
    assert_eq!(status.code(), Some(0), "{:?}", proxy.log());
}

#[test]
fn after_the_shutdown_timeout_what_is_left_is_closed_and_the_exit_is_0() {
    let mut proxy = Proxy::start(&[backend(echo)], &["--shutdown-timeout", "500ms"]);
    let mut client = proxy.connect();
    assert!(echo_round_trip(&mut client, b"hi", Duration::from_secs(5)).is_some());
    let started = Instant::now();
    proxy.signal("TERM");
    let status = proxy.wait_exit(Duration::from_secs(10)).expect("no exit");
    assert_eq!(status.code(), Some(0));
    assert!(started.elapsed() >= Duration::from_millis(450));
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (_, end) = read_to_end(&mut client);
    let _ = end; // EOF or a reset: either way, closed
}

#[test]
fn a_second_signal_exits_at_once() {
    let mut proxy = Proxy::start(&[backend(echo)], &["--shutdown-timeout", "60s"]);
    let mut client = proxy.connect();
    assert!(echo_round_trip(&mut client, b"hi", Duration::from_secs(5)).is_some());
    proxy.signal("TERM");
    proxy
        .wait_for_log("shutting down", Duration::from_secs(5))
        .unwrap();
    let started = Instant::now();
    proxy.signal("INT");
    let status = proxy.wait_exit(Duration::from_secs(5)).expect("no exit");
    assert_eq!(status.code(), Some(130));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_half_closed_connection_is_closed_after_the_half_close_timeout() {
    // The backend reads the request to its end and then never answers nor closes:
    // without the timeout this connection would sit in CLOSE-WAIT/FIN-WAIT-2 forever.
    let proxy = Proxy::start(
        &[backend(|mut stream| {
            let _ = read_to_end(&mut stream);
            thread::sleep(PATIENCE);
        })],
        &["--half-close-timeout", "300ms"],
    );
    let mut client = proxy.connect();
    client.write_all(b"request").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let started = Instant::now();
    let (got, _) = read_to_end(&mut client);
    assert!(got.is_empty());
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(5), "closed after {waited:?}");
    assert!(proxy.wait_for_log("half-close timeout", PATIENCE).is_some());
}

#[test]
fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let proxy = Proxy::start(&[backend(echo)], &["--idle-timeout", "300ms"]);
    let mut client = proxy.connect();
    assert!(echo_round_trip(&mut client, b"hi", Duration::from_secs(5)).is_some());
    let started = Instant::now();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (got, _) = read_to_end(&mut client);
    assert!(got.is_empty());
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(proxy.wait_for_log("idle timeout", PATIENCE).is_some());
}

#[test]
fn logs_use_netcats_words_and_json_lines_carry_the_counts() {
    let proxy = Proxy::start(&[backend(echo)], &[]);
    let mut client = proxy.connect();
    assert!(echo_round_trip(&mut client, b"hello", Duration::from_secs(5)).is_some());
    let port = client.local_addr().unwrap().port();
    client.shutdown(Shutdown::Write).unwrap();
    let _ = read_to_end(&mut client);
    let connect = format!("connect to [127.0.0.1] from [127.0.0.1] {port}");
    assert!(
        proxy.wait_for_log(&connect, PATIENCE).is_some(),
        "{:?}",
        proxy.log()
    );
    let close = proxy.wait_for_log(" sent 5, rcvd 5 (", PATIENCE).unwrap();
    assert!(close.starts_with(" sent 5, rcvd 5 ("), "{close}");

    let json = Proxy::start(&[backend(echo)], &["--log-format", "json"]);
    let mut client = json.connect();
    assert!(echo_round_trip(&mut client, b"abc", Duration::from_secs(5)).is_some());
    client.shutdown(Shutdown::Write).unwrap();
    let _ = read_to_end(&mut client);
    let line = json.wait_for_log("\"sent\"", PATIENCE).unwrap();
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(value["sent"], 3);
    assert_eq!(value["rcvd"], 3);
    assert!(value["seconds"].is_number());
    for line in json.log() {
        serde_json::from_str::<serde_json::Value>(&line).expect("every line is JSON");
    }
}

/// Runs the binary to completion with `args`: (exit code, stderr).
fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_arguments_addresses_and_busy_ports_each_get_one_line_and_their_own_code() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let cases: [(&[&str], i32); 7] = [
        (&["6000"], 2),                           // no BACKEND
        (&["--bogus", "6000", "127.0.0.1:1"], 2), // unknown option
        (&["--idle-timeout", "soon", "0", "127.0.0.1:1"], 2),
        (&["99999", "127.0.0.1:1"], 3),    // port out of range
        (&["0", "127.0.0.1"], 3),          // BACKEND without a port
        (&["0", "::1:80"], 3),             // IPv6 without brackets
        (&[&busy_port, "127.0.0.1:1"], 4), // port in use
    ];
    for (args, code) in cases {
        let (got, stderr) = run(args);
        assert_eq!(got, Some(code), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("pipelab-proxy: "), "{stderr}");
    }
    let (code, _) = run(&["--help"]);
    assert_eq!(code, Some(0));
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("python3 -m http.server 5000"), "{help}");
    let _ = io::stdout().flush();
}
