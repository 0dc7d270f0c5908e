//! `echo-server`: `while ((n = recv(c, buf, sizeof buf, 0)) > 0) send(c, buf, n,
//! 0);`, one client at a time, with the socket calls in the trace as strace
//! shows them.

mod harness;

use harness::*;
use pipelab_sim::run::NcFlavor;
use pipelab_sim::world::World;

/// The completed syscalls of the echo server, as (name, strace text).
fn server_calls(w: &World) -> Vec<(&'static str, String)> {
    syscalls_of(w, pid_of(w, "echo-server"))
}

/// `echo-server 7000` in the background, and `printf MSG | nc -N 127.0.0.1
/// 7000 > OUT` for each client, one after the other.
fn echo_run(clients: &[(&str, &str)]) -> (World, Log) {
    let (mut w, log) = world_running(NcFlavor::Openbsd, "server", cmd("echo-server 7000"));
    let clients: Vec<(String, String)> = clients
        .iter()
        .map(|(m, o)| (m.to_string(), o.to_string()))
        .collect();
    let l = log.clone();
    spawn(&mut w, move |sys| async move {
        sys.sleep_us(100_000).await.unwrap();
        for (msg, out) in clients {
            let st = pipeline(
                &sys,
                vec![
                    Cmd::argv(&["printf", &msg]),
                    cmd("nc -N 127.0.0.1 7000").stdout(&out),
                ],
            )
            .await;
            l.push(format!("client {st:?}"));
        }
        0
    });
    run(&mut w);
    (w, log)
}

#[test]
fn echo_server_sends_back_what_nc_sends() {
    let (w, log) = echo_run(&[("hello, echo\\n", "/tmp/out1")]);
    assert_eq!(log.lines(), vec!["client [0, 0]"]);
    assert_eq!(file(&w, "/tmp/out1"), "hello, echo\n");
}

#[test]
fn the_trace_shows_socket_bind_listen_accept_recvfrom_sendto_in_order() {
    let (w, _log) = echo_run(&[("ping\\n", "/tmp/out1")]);
    let calls = server_calls(&w);
    let names: Vec<&str> = calls
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| {
            [
                "socket",
                "setsockopt",
                "bind",
                "listen",
                "accept4",
                "recvfrom",
                "sendto",
                "close",
            ]
            .contains(n)
        })
        .collect();
    assert_eq!(
        names,
        [
            "socket",
            "setsockopt",
            "bind",
            "listen",
            "accept4",
            "recvfrom",
            "sendto",
            "recvfrom",
            "close"
        ],
        "{calls:#?}"
    );
    let texts: Vec<&str> = calls.iter().map(|(_, t)| t.as_str()).collect();
    assert!(texts.contains(&"socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3"));
    assert!(texts.contains(&"setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0"));
    assert!(texts.contains(
        &"bind(3, {sa_family=AF_INET, sin_port=htons(7000), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = 0"
    ));
    assert!(texts.contains(&"listen(3, 5) = 0"));
    assert!(texts.contains(&"recvfrom(4, \"ping\\n\", 4096, 0, NULL, NULL) = 5"));
    assert!(texts.contains(&"sendto(4, \"ping\\n\", 5, 0, NULL, 0) = 5"));
    assert!(texts.contains(&"recvfrom(4, \"\", 4096, 0, NULL, NULL) = 0"));
    assert!(texts.contains(&"close(4) = 0"));
}

#[test]
fn two_clients_one_after_the_other_are_both_served() {
    let (w, log) = echo_run(&[("first\\n", "/tmp/out1"), ("second\\n", "/tmp/out2")]);
    assert_eq!(log.lines(), vec!["client [0, 0]", "client [0, 0]"]);
    assert_eq!(file(&w, "/tmp/out1"), "first\n");
    assert_eq!(file(&w, "/tmp/out2"), "second\n");
    let accepts = server_calls(&w)
        .iter()
        .filter(|(n, _)| *n == "accept4")
        .count();
    assert_eq!(accepts, 2);
}

#[test]
fn a_message_longer_than_the_buffer_comes_back_whole_in_4096_byte_recvs() {
    let (mut w, log) = world_running(NcFlavor::Openbsd, "server", cmd("echo-server 7000"));
    spawn_pipeline(
        &mut w,
        &log,
        "client",
        vec![
            cmd("yes").after_us(100_000),
            cmd("head -c 10000"),
            cmd("nc -N 127.0.0.1 7000").stdout("/tmp/out"),
        ],
    );
    run(&mut w);
    assert_eq!(file(&w, "/tmp/out"), "y\n".repeat(5000));
    let calls = server_calls(&w);
    assert!(
        calls
            .iter()
            .filter(|(n, _)| *n == "recvfrom")
            .all(|(_, t)| t.contains(", 4096, 0, NULL, NULL) = ")),
        "{calls:#?}"
    );
}

#[test]
fn a_taken_port_is_reported_like_perror_with_status_1() {
    let (mut w, log) = world_running(NcFlavor::Openbsd, "first", cmd("echo-server 7000"));
    spawn_cmd(
        &mut w,
        &log,
        "second",
        cmd("echo-server 7000").after_us(100_000),
    );
    run(&mut w);
    assert_eq!(log.lines(), vec!["second PIPESTATUS=1"]);
    assert_eq!(terminal(&w), "echo-server: bind: Address already in use\n");
}

#[test]
fn a_missing_or_bad_port_is_a_usage_error_with_status_2() {
    for line in [
        "echo-server",
        "echo-server 0",
        "echo-server http",
        "echo-server 1 2",
    ] {
        let (w, log) = run_pipeline(NcFlavor::Openbsd, "p", vec![cmd(line)], TEST_UNTIL_US);
        assert_eq!(log.lines(), vec!["p PIPESTATUS=2"], "{line}");
        assert_eq!(terminal(&w), "usage: echo-server PORT\n", "{line}");
    }
}
