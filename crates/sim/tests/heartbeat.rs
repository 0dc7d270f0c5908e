//! heartbeat-server and heartbeat-client: Heartbleed as a buffer over-read, and
//! the bounds check that fixed it.

mod harness;

use harness::*;
use pipelab_sim::programs::heartbeat::{REGION_KEY, SESSION_COOKIE};
use pipelab_sim::run::NcFlavor;
use pipelab_sim::snapshot::{ProcessView, Snapshot};
use pipelab_sim::world::World;

/// A server (`--fixed` or not) on 7000, and one client run 0.1 s later with
/// `client_args`; returns the world after 3 s, the client's PIPESTATUS line.
fn exchange(server: &str, client_args: &str) -> (World, Vec<String>) {
    let (mut w, log) = world_running(
        NcFlavor::Openbsd,
        "server",
        cmd(server).stdout("/tmp/server.out"),
    );
    spawn_cmd(
        &mut w,
        &log,
        "client",
        cmd(&format!("heartbeat-client 127.0.0.1 7000 {client_args}")).after_us(100_000),
    );
    w.run_until(3_000_000, |_| false);
    (w, log.lines())
}

fn server_view(w: &World) -> ProcessView {
    Snapshot::of(&w.kernel())
        .processes
        .into_iter()
        .find(|p| p.argv[0] == "heartbeat-server")
        .expect("the server runs")
}

const KEY_START: &str = "-----BEGIN PRIVATE KEY-----";

#[test]
fn the_vulnerable_server_leaks_the_cookie_and_the_key_to_a_lying_client() {
    let (w, log) = exchange("heartbeat-server 7000", "bird 100");
    assert_eq!(log, vec!["client PIPESTATUS=0"]);
    let out = terminal(&w);
    assert!(out.starts_with("reply: 100 bytes: bird"), "{out}");
    assert!(out.contains("session=alice:7f3a9c"), "{out}");
    assert!(out.contains(KEY_START), "{out}");
    assert_eq!(
        file(&w, "/tmp/server.out"),
        "heartbeat: 4-byte payload, sent back 100 bytes\n"
    );
    // The snapshot shows what was copied: from the payload over the key.
    let memory = server_view(&w)
        .memory
        .expect("the server publishes its memory");
    let read = memory.last_read.expect("a reply was copied out");
    let key = memory
        .regions
        .iter()
        .find(|r| r.label == REGION_KEY)
        .unwrap();
    assert_eq!((read.start, read.len), (3, 100));
    assert!(read.start + read.len > key.start, "{read:?} {key:?}");
    let copied = &memory.bytes[read.start..read.start + read.len];
    assert!(
        copied
            .windows(SESSION_COOKIE.len())
            .any(|w| w == SESSION_COOKIE)
    );
}

#[test]
fn the_fixed_server_drops_a_lying_request_and_leaks_nothing() {
    let (w, log) = exchange("heartbeat-server --fixed 7000", "bird 100");
    assert_eq!(log, vec!["client PIPESTATUS=1"]);
    let out = terminal(&w);
    assert_eq!(out, "no reply (the server dropped the request)\n");
    assert!(!out.contains(KEY_START));
    assert_eq!(
        file(&w, "/tmp/server.out"),
        "heartbeat: 4-byte payload claims 100 bytes: dropped\n"
    );
    let memory = server_view(&w).memory.expect("published");
    assert_eq!(memory.last_read, None);
}

#[test]
fn an_honest_heartbeat_gets_its_payload_back_on_both_builds() {
    for server in ["heartbeat-server 7000", "heartbeat-server --fixed 7000"] {
        let (w, log) = exchange(server, "bird");
        assert_eq!(log, vec!["client PIPESTATUS=0"], "{server}");
        assert_eq!(terminal(&w), "reply: 4 bytes: bird\n", "{server}");
        let read = server_view(&w).memory.unwrap().last_read.unwrap();
        assert_eq!((read.start, read.len), (3, 4), "{server}");
    }
}

#[test]
fn one_connection_may_carry_several_heartbeats() {
    let (mut w, log) = world_running(
        NcFlavor::Openbsd,
        "server",
        cmd("heartbeat-server 7000").stdout("/dev/null"),
    );
    let l = log.clone();
    spawn(&mut w, move |sys| async move {
        sys.sleep_us(100_000).await.unwrap();
        let s = connect_to(&sys, "127.0.0.1:7000").await;
        for (payload, claimed) in [(&b"one"[..], 3), (&b"two"[..], 8)] {
            let req = pipelab_sim::programs::heartbeat::request(payload, claimed);
            sys.write(s, &req).await.unwrap();
            let reply = sys.read(s, 4096).await.unwrap();
            l.push(pipelab_sim::programs::heartbeat::escape(&reply));
        }
        0
    });
    w.run_until(3_000_000, |_| false);
    // The second reply shows stale bytes of the first request after its payload.
    assert_eq!(
        log.lines(),
        vec!["\\x02\\x00\\x03one", "\\x02\\x00\\x08two....."]
    );
}

#[test]
fn the_trace_shows_the_socket_calls_of_a_heartbeat() {
    let (w, _) = exchange("heartbeat-server 7000", "bird");
    let trace = strace(&w);
    for call in [
        "socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3",
        "bind(3, ",
        "listen(3, 5) = 0",
        "accept4(3, ",
        "read(4, \"\\1\\0\\4bird\", 32) = 7",
        "write(4, \"\\2\\0\\4bird\", 7) = 7",
    ] {
        assert!(trace.contains(call), "{call} missing from\n{trace}");
    }
}

#[test]
fn a_client_with_no_server_reports_connection_refused() {
    let client = cmd("heartbeat-client 127.0.0.1 7000 bird");
    let (w, log) = run_pipeline(NcFlavor::Openbsd, "client", vec![client], TEST_UNTIL_US);
    assert_eq!(log.lines(), vec!["client PIPESTATUS=1"]);
    assert_eq!(
        terminal(&w),
        "heartbeat-client: connect: Connection refused\n"
    );
}
