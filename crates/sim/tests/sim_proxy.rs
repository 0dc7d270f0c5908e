//! The simulated pipelab-proxy: one process serves every client at once, passes
//! half-closes on, and closes a client promptly when the backend is down. And the
//! resident-memory figures the concurrency lesson compares.

mod harness;

use harness::*;
use pipelab_sim::kernel::Kernel;
use pipelab_sim::programs::rss;
use pipelab_sim::run::NcFlavor;
use pipelab_sim::snapshot::Snapshot;

fn backend() -> Cmd {
    cmd("python3 -m http.server 5000 --bind 127.0.0.1 --directory /srv/www")
        .stdout("/dev/null")
        .stderr("/tmp/backend.err")
}

fn proxy(backend_port: u16) -> Cmd {
    cmd(&format!("pipelab-proxy -v 6000 127.0.0.1:{backend_port}"))
        .stderr("/tmp/proxy.err")
        .after_us(50_000)
}

fn proxies(k: &Kernel) -> Vec<pipelab_sim::snapshot::ProcessView> {
    Snapshot::of(k)
        .processes
        .into_iter()
        .filter(|p| p.argv[0] == "pipelab-proxy" && p.state != "exited")
        .collect()
}

#[test]
fn three_concurrent_curls_through_one_proxy_process_all_get_the_page() {
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    spawn_cmd(&mut w, &log, "backend", backend());
    spawn_cmd(&mut w, &log, "proxy", proxy(5000));
    for i in 0..3 {
        spawn_cmd(
            &mut w,
            &log,
            &format!("curl{i}"),
            cmd("curl -s http://127.0.0.1:6000/")
                .stdout(&format!("/tmp/page{i}"))
                .after_us(200_000),
        );
    }
    let mut most_proxies = 0;
    let mut most_fds = 0;
    let mut most_rss = 0;
    w.run_until(5_000_000, |k| {
        let p = proxies(k);
        most_proxies = most_proxies.max(p.len());
        if let Some(p) = p.first() {
            most_fds = most_fds.max(p.fds.len());
            most_rss = most_rss.max(p.rss_kb.unwrap_or(0));
        }
        false
    });
    let mut done = log.lines();
    done.sort();
    assert_eq!(
        done,
        vec![
            "curl0 PIPESTATUS=0",
            "curl1 PIPESTATUS=0",
            "curl2 PIPESTATUS=0"
        ]
    );
    for i in 0..3 {
        assert_eq!(
            file(&w, &format!("/tmp/page{i}")),
            "hello from backend :5000\n"
        );
    }
    assert_eq!(most_proxies, 1, "one process, not one per client");
    // stdin/stdout/stderr, the listener, and a client and a backend socket for each
    // of the three at once.
    assert_eq!(most_fds, 4 + 3 * 2);
    assert_eq!(most_rss, rss::proxy(3));
    let err = file(&w, "/tmp/proxy.err");
    assert!(
        err.starts_with("listening on [127.0.0.1] 6000 ...\n"),
        "{err}"
    );
    assert_eq!(
        err.matches("connect to [127.0.0.1] from [127.0.0.1] ")
            .count(),
        3
    );
    assert_eq!(err.matches(" sent 210, rcvd 78 (").count(), 3, "{err}");
    // After the connections end the proxy is back to its idle figure.
    assert_eq!(proxies(&w.kernel())[0].rss_kb, Some(rss::proxy(0)));
}

#[test]
fn the_proxy_passes_a_half_close_on_to_the_backend() {
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    // A backend that answers only after EOF: it proves the client's SHUT_WR arrived.
    spawn(&mut w, |sys| async move {
        let s = sys.socket().await.unwrap();
        sys.bind(s, "127.0.0.1:5000".parse().unwrap())
            .await
            .unwrap();
        sys.listen(s, 5).await.unwrap();
        let (c, _) = sys.accept(s).await.unwrap();
        let mut n = 0;
        loop {
            let d = sys.read(c, 4096).await.unwrap();
            if d.is_empty() {
                break;
            }
            n += d.len();
        }
        sys.write(c, format!("got {n} bytes, then EOF\n").as_bytes())
            .await
            .unwrap();
        sys.close(c).await.unwrap();
        0
    });
    spawn_cmd(&mut w, &log, "proxy", proxy(5000));
    spawn_pipeline(
        &mut w,
        &log,
        "client",
        vec![
            Cmd::argv(&["printf", "hello\\n"]).after_us(200_000),
            cmd("nc -N 127.0.0.1 6000").after_us(200_000),
        ],
    );
    w.run_until(5_000_000, |_| false);
    assert_eq!(log.lines(), vec!["client PIPESTATUS=0 0"]);
    assert_eq!(terminal(&w), "got 6 bytes, then EOF\n");
    let err = file(&w, "/tmp/proxy.err");
    assert!(err.contains(" sent 22, rcvd 6 ("), "{err}");
    assert!(strace(&w).contains("shutdown(5, SHUT_WR) = 0"));
}

#[test]
fn a_refused_backend_closes_the_client_at_once_with_a_warning() {
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    spawn_cmd(&mut w, &log, "proxy", proxy(5999));
    let l = log.clone();
    spawn(&mut w, move |sys| async move {
        sys.sleep_us(200_000).await.unwrap();
        let start = sys.now_us();
        let st = pipeline(
            &sys,
            vec![cmd("curl -sS --max-time 5 http://127.0.0.1:6000/")],
        )
        .await;
        l.push(format!(
            "curl {st:?} after {} ms",
            (sys.now_us() - start) / 1000
        ));
        0
    });
    w.run_until(10_000_000, |_| false);
    let lines = log.lines();
    let (status, ms) = lines[0]
        .strip_prefix("curl [")
        .and_then(|s| s.split_once("] after "))
        .unwrap();
    // The proxy closed the client with its request unread: a reset, not a timeout.
    assert_eq!(status, "56", "{lines:?}");
    assert_eq!(
        terminal(&w),
        "curl: (56) Recv failure: Connection reset by peer\n"
    );
    assert!(
        ms.trim_end_matches(" ms").parse::<u64>().unwrap() < 100,
        "{lines:?}"
    );
    let err = file(&w, "/tmp/proxy.err");
    assert!(
        err.contains("pipelab-proxy: warning: no backend for [127.0.0.1] ")
            && err.contains(": Connection refused (os error 111); closing the client\n"),
        "{err}"
    );
    // The proxy lives on for the next client.
    assert_eq!(proxies(&w.kernel()).len(), 1);
}

#[test]
fn the_proxy_ignores_sigpipe_and_sends_with_msg_nosignal() {
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    spawn_cmd(&mut w, &log, "backend", backend());
    spawn_cmd(&mut w, &log, "proxy", proxy(5000));
    spawn_cmd(
        &mut w,
        &log,
        "curl",
        cmd("curl -s -o /dev/null http://127.0.0.1:6000/").after_us(200_000),
    );
    w.run_until(3_000_000, |_| false);
    let p = &proxies(&w.kernel())[0];
    assert!(p.ignores.contains(&pipelab_sim::kernel::Signal::SIGPIPE));
    assert!(strace(&w).contains(", MSG_NOSIGNAL, NULL, 0) = 185"));
}

#[test]
fn a_second_proxy_on_the_same_port_exits_4() {
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    spawn_cmd(&mut w, &log, "first", proxy(5000));
    spawn_cmd(
        &mut w,
        &log,
        "second",
        cmd("pipelab-proxy 6000 127.0.0.1:5000").after_us(100_000),
    );
    w.run_until(1_000_000, |_| false);
    assert_eq!(log.lines(), vec!["second PIPESTATUS=4"]);
    assert_eq!(
        terminal(&w),
        "pipelab-proxy: cannot listen on 127.0.0.1:6000: Address already in use (os error 98)\n"
    );
}

/// Every measured program, idle, and a socat child with a connection open.
#[test]
fn rss_is_shown_for_every_measured_program() {
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    spawn_cmd(&mut w, &log, "backend", backend());
    for (name, line) in [
        (
            "socat",
            "socat TCP-LISTEN:7000,fork,reuseaddr TCP:127.0.0.1:5000",
        ),
        ("openbsd", "nc.openbsd -l -p 7001"),
        ("traditional", "nc.traditional -l -p 7002"),
        ("busybox", "busybox nc -l -p 7003"),
        ("proxy", "pipelab-proxy 6000 127.0.0.1:5000"),
    ] {
        spawn_cmd(&mut w, &log, name, cmd(line).stdout("/dev/null"));
    }
    spawn_pipeline(
        &mut w,
        &log,
        "hold",
        vec![
            cmd("sleep 5").after_us(100_000),
            cmd("nc 127.0.0.1 7000").after_us(100_000),
        ],
    );
    // curl waiting on a server that accepts and never answers.
    spawn_cmd(
        &mut w,
        &log,
        "curl",
        cmd("curl -s http://127.0.0.1:7001/").after_us(100_000),
    );
    w.run_until(1_000_000, |_| false);
    let snap = Snapshot::of(&w.kernel());
    let rss_of = |argv0: &str, nth: usize| {
        snap.processes
            .iter()
            .filter(|p| p.argv[0] == argv0 && p.state != "exited")
            .nth(nth)
            .unwrap_or_else(|| panic!("no {argv0} #{nth}"))
            .rss_kb
    };
    assert_eq!(rss_of("python3", 0), Some(rss::PYTHON3_HTTP_SERVER));
    assert_eq!(rss_of("socat", 0), Some(rss::SOCAT_PARENT));
    assert_eq!(rss_of("socat", 1), Some(rss::SOCAT_CHILD));
    assert_eq!(rss_of("nc.openbsd", 0), Some(rss::NC_OPENBSD));
    assert_eq!(rss_of("nc.traditional", 0), Some(rss::NC_TRADITIONAL));
    assert_eq!(rss_of("busybox", 0), Some(rss::BUSYBOX_NC));
    assert_eq!(rss_of("nc", 0), Some(rss::NC_OPENBSD));
    assert_eq!(rss_of("pipelab-proxy", 0), Some(rss::proxy(0)));
    assert_eq!(rss_of("curl", 0), Some(rss::CURL));
    // Unmeasured programs show none; the snapshot is plain JSON.
    assert_eq!(rss_of("sleep", 0), None);
    let json = serde_json::to_string(&snap.processes[0]).unwrap();
    assert!(json.contains("\"rssKb\":"), "{json}");
    assert!(json.contains("\"memory\":null"), "{json}");
}

#[test]
fn bash_and_forked_shells_show_bash_rss() {
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    spawn_cmd(
        &mut w,
        &log,
        "sh",
        Cmd::argv(&["bash", "-c", "sleep 1; true"]),
    );
    w.run_until(500_000, |_| false);
    let snap = Snapshot::of(&w.kernel());
    let bash = snap.processes.iter().find(|p| p.argv[0] == "bash").unwrap();
    assert_eq!(bash.rss_kb, Some(rss::BASH));
}
