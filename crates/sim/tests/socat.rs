//! socat's syscalls, call for call, against what strace showed the real socat
//! 1.7.4.4 make on this machine (`tests/fixtures/socat/*.strace`, each with the
//! command that recorded it): the polls of its log socketpair around nearly every
//! call, SIGCHLD blocked around fork, `getsockname` after connect, the transfer
//! loop's write sets and its 0.5 s wait after the first EOF, and the failed
//! connect's `getsockname` and error-queue read.

mod harness;

use harness::*;
use pipelab_sim::kernel::net::EPHEMERAL_PORTS;
use pipelab_sim::run::NcFlavor;
use pipelab_sim::world::World;

// ------------------------------------------------------------ comparing

/// What legitimately differs between two runs of the same program, real or
/// simulated, and what the simulator abbreviates, taken out of a strace line:
/// pointers (`0x…`), ephemeral ports, a clone's `child_tidptr` and pid, the
/// time a select had left, an `rt_sigaction`'s mask, flags and old action
/// (the simulator prints the handler only), `ioctl(TCGETS)`'s argument (the
/// simulator prints `{...}` even when the call fails), and socat's log line,
/// whose date and pid change its length (its text is checked where it is
/// written, in nc_flavors.rs).
fn elide(line: &str) -> String {
    if let Some(rest) = line.strip_prefix("rt_sigaction(") {
        let sig = rest.split(", ").next().unwrap_or("");
        let handler = rest
            .split("sa_handler=")
            .nth(1)
            .and_then(|h| h.split([',', '}']).next())
            .unwrap_or("");
        // A handler's address is a pointer like the others.
        let handler = if handler.starts_with("0x") {
            "handler"
        } else {
            handler
        };
        let ret = line.rsplit_once(") = ").map_or("", |(_, r)| r);
        return format!("rt_sigaction({sig}, {{sa_handler={handler}…}}) = {ret}");
    }
    if line.starts_with("write(2, ") {
        return "write(2, …)".to_string();
    }
    let mut line = line.to_string();
    if line.starts_with("clone(") {
        let head = line.split(", child_tidptr=").next().unwrap_or("");
        let head = head.rsplit_once(") = ").map_or(head, |(h, _)| h);
        line = format!("{}) = …", head.trim_end_matches(')'));
    }
    if line.starts_with("ioctl(") {
        line = line.replace("{...}", "0x0");
    }
    if let Some((head, tail)) = line.split_once("left {")
        && let Some((_, after)) = tail.split_once('}')
    {
        line = format!("{head}left {{…}}{after}");
    }
    let mut out = String::new();
    let mut rest = line.as_str();
    loop {
        let hex = rest.find("0x");
        let port = rest.find("htons(");
        match (hex, port) {
            (Some(h), p) if p.is_none_or(|p| h < p) => {
                out.push_str(&rest[..h]);
                out.push_str("0x…");
                let digits = rest[h + 2..]
                    .find(|c: char| !c.is_ascii_hexdigit())
                    .unwrap_or(rest.len() - h - 2);
                rest = &rest[h + 2 + digits..];
            }
            (_, Some(p)) => {
                out.push_str(&rest[..p + 6]);
                rest = &rest[p + 6..];
                let end = rest.find(')').unwrap_or(0);
                match rest[..end].parse::<u16>() {
                    Ok(n) if EPHEMERAL_PORTS.contains(&n) => out.push('…'),
                    _ => out.push_str(&rest[..end]),
                }
                rest = &rest[end..];
            }
            _ => break,
        }
    }
    out.push_str(rest);
    out
}

/// The lines of a fixture the simulator must print, in order: without
/// comments, without the real calls it leaves out (`- `), with the calls only it
/// makes (`+ `).
fn fixture(name: &str) -> Vec<String> {
    let path = format!(
        "{}/tests/fixtures/socat/{name}.strace",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("- "))
        .map(|l| l.strip_prefix("+ ").unwrap_or(l).to_string())
        .collect()
}

/// Asserts that `calls` start with the fixture's lines, line for line once
/// elided; a fixture that ends in `exit_group` is the whole process.
fn assert_matches_fixture(name: &str, calls: &[String]) {
    let want: Vec<String> = fixture(name).iter().map(|l| elide(l)).collect();
    let got: Vec<String> = calls.iter().map(|l| elide(l)).collect();
    let n = want.len().min(got.len());
    let first_diff = (0..n).find(|&i| want[i] != got[i]);
    let whole = want.last().is_some_and(|l| l.starts_with("exit_group("));
    let short = got.len() < want.len() || (whole && got.len() != want.len());
    if first_diff.is_some() || short {
        let at = first_diff.unwrap_or(n);
        let show = |v: &[String]| {
            v.iter()
                .enumerate()
                .map(|(i, l)| format!("{}{i:3} {l}", if i == at { ">" } else { " " }))
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "socat differs from the real one ({name}.strace) at line {at}\n--- real\n{}\n--- simulated\n{}",
            show(&want),
            show(&got)
        );
    }
}

/// The syscalls `pid` made as the program it ran last: after its `execve`, if
/// it made one (the harness's fork and redirections come before).
fn calls_of(w: &World, pid: u32) -> Vec<String> {
    let all: Vec<String> = syscalls_of(w, pid).into_iter().map(|(_, t)| t).collect();
    match all.iter().rposition(|l| l.starts_with("execve(")) {
        Some(i) => all[i + 1..].to_vec(),
        None => all,
    }
}

/// The pid a `clone(...) = PID` line of `calls` returned.
fn cloned(calls: &[String]) -> u32 {
    let clone = calls
        .iter()
        .find(|l| l.starts_with("clone("))
        .expect("a fork");
    clone.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn elide_keeps_what_a_run_decides_and_drops_what_varies() {
    assert_eq!(
        elide(
            "recvfrom(3, 0x7ffca86e6a60, 519, MSG_DONTWAIT, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)"
        ),
        "recvfrom(3, 0x…, 519, MSG_DONTWAIT, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)"
    );
    assert_eq!(
        elide(
            "getsockname(5, {sa_family=AF_INET, sin_port=htons(47122), sin_addr=inet_addr(\"127.0.0.1\")}, [112 => 16]) = 0"
        ),
        "getsockname(5, {sa_family=AF_INET, sin_port=htons(…), sin_addr=inet_addr(\"127.0.0.1\")}, [112 => 16]) = 0"
    );
    assert_eq!(
        elide(
            "bind(5, {sa_family=AF_INET, sin_port=htons(6001), sin_addr=inet_addr(\"0.0.0.0\")}, 16) = 0"
        ),
        "bind(5, {sa_family=AF_INET, sin_port=htons(6001), sin_addr=inet_addr(\"0.0.0.0\")}, 16) = 0"
    );
    assert_eq!(
        elide(
            "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f7b174e8310) = 26469"
        ),
        elide("clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD) = 7")
    );
    assert_eq!(
        elide(
            "rt_sigaction(SIGPIPE, {sa_handler=SIG_IGN, sa_mask=[PIPE], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7f7b1765a050}, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0"
        ),
        elide("rt_sigaction(SIGPIPE, {sa_handler=SIG_IGN}, ...) = 0")
    );
    assert_eq!(
        elide(
            "pselect6(6, [5], [1], [], {tv_sec=0, tv_nsec=500000000}, NULL) = 2 (in [5], out [1], left {tv_sec=0, tv_nsec=499998647})"
        ),
        "pselect6(6, [5], [1], [], {tv_sec=0, tv_nsec=500000000}, NULL) = 2 (in [5], out [1], left {…})"
    );
    assert_eq!(
        elide("ioctl(0, TCGETS, 0x7ffca8c2bd70) = -1 ENOTTY (Inappropriate ioctl for device)"),
        elide("ioctl(0, TCGETS, {...}) = -1 ENOTTY (Inappropriate ioctl for device)")
    );
}

// ------------------------------------------------------------ scenarios

/// The fixtures' backend page: `hello from backend\n`, 19 bytes, so that the
/// response is the real one's 204 bytes.
const PAGE19: &[u8] = b"hello from backend\n";

/// The 204 bytes `python3 -m http.server` sent for [`PAGE19`]: a 185-byte
/// header block, then the body.
const RESPONSE: &[u8] = include_bytes!("fixtures/socat/response");

/// `fixtures/socat/paced_backend.py` on port 5000: for each connection, after
/// the request, [`RESPONSE`]'s header block 10 ms later, its body 10 ms after
/// that, and the close 10 ms after that.
fn paced_backend(w: &mut World) {
    use pipelab_sim::kernel::net::SockOpt;
    spawn(w, |sys| async move {
        let fd = sys.socket().await.unwrap();
        sys.setsockopt(fd, SockOpt::ReuseAddr, true).await.unwrap();
        sys.bind(fd, "127.0.0.1:5000".parse().unwrap())
            .await
            .unwrap();
        sys.listen(fd, 5).await.unwrap();
        loop {
            let (c, _) = sys.accept(fd).await.unwrap();
            let mut request = Vec::new();
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                request.extend(sys.recv(c, 4096).await.unwrap());
            }
            let (head, body) = RESPONSE.split_at(185);
            for part in [head, body] {
                sys.sleep_us(10_000).await.unwrap();
                sys.send(c, part).await.unwrap();
            }
            sys.sleep_us(10_000).await.unwrap();
            sys.close(c).await.unwrap();
        }
    });
}

/// `fixtures/socat/client.py` at 0.5 s: a request to port 6001, then reads
/// until the server closes, then closes.
fn client(w: &mut World) {
    spawn(w, |sys| async move {
        sys.sleep_us(500_000).await.unwrap();
        let fd = connect_to(&sys, "127.0.0.1:6001").await;
        sys.send(fd, b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
        read_to_end(&sys, fd, 4096).await;
        sys.close(fd).await.unwrap();
        0
    });
}

/// The fork proxy on 6001 (from 0.1 s) in front of 5000, its stderr in
/// `/tmp/socat.err`.
fn spawn_fork_proxy(w: &mut World, log: &Log) {
    spawn_cmd(
        w,
        log,
        "socat",
        cmd("socat TCP-LISTEN:6001,fork,reuseaddr TCP:127.0.0.1:5000")
            .stderr("/tmp/socat.err")
            .after_us(100_000),
    );
}

/// A world with the fork proxy in front of `python3 -m http.server` on 5000
/// serving [`PAGE19`] (or nothing on 5000), and `clients` curls, one each half
/// second from 0.5 s.
fn fork_proxy(clients: u64, backend_up: bool) -> (World, Log) {
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    if backend_up {
        spawn_cmd(&mut w, &log, "backend", backend().quiet());
    }
    w.kernel_mut().write_file("/srv/www/index.html", PAGE19);
    spawn_fork_proxy(&mut w, &log);
    for n in 1..=clients {
        spawn_cmd(
            &mut w,
            &log,
            &format!("curl{n}"),
            cmd("curl -s http://127.0.0.1:6001/")
                .stdout(&format!("/tmp/out{n}"))
                .after_us(n * 500_000),
        );
    }
    w.run_until(clients * 500_000 + 1_500_000, |_| false);
    (w, log)
}

#[test]
fn the_listener_blocks_sigchld_around_fork_and_polls_its_log_pair_around_calls() {
    let (w, log) = fork_proxy(1, true);
    assert_logged(&log.lines(), &["curl1 PIPESTATUS=0"]);
    assert_matches_fixture("fork-parent", &calls_of(&w, pid_of(&w, "socat")));
}

#[test]
fn a_fork_child_moves_the_request_and_response_with_the_real_write_sets() {
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    paced_backend(&mut w);
    spawn_fork_proxy(&mut w, &log);
    client(&mut w);
    w.run_until(2_000_000, |_| false);
    let parent = calls_of(&w, pid_of(&w, "socat"));
    assert_matches_fixture("fork-child", &calls_of(&w, cloned(&parent)));
}

#[test]
fn a_refused_backend_is_followed_by_getsockname_and_an_error_queue_read() {
    let (w, log) = fork_proxy(1, false);
    assert_logged(&log.lines(), &["curl1 PIPESTATUS=52"]);
    let parent = calls_of(&w, pid_of(&w, "socat"));
    assert_matches_fixture("fork-child-backend-down", &calls_of(&w, cloned(&parent)));
}

#[test]
fn only_the_first_accepted_connection_shows_socats_112_byte_address_buffer() {
    let (w, log) = fork_proxy(2, true);
    assert_logged(&log.lines(), &["curl1 PIPESTATUS=0", "curl2 PIPESTATUS=0"]);
    let names: Vec<String> = calls_of(&w, pid_of(&w, "socat"))
        .into_iter()
        .filter(|l| l.starts_with("getpeername(") || l.starts_with("getsockname(6"))
        .map(|l| elide(&l))
        .collect();
    // Measured: the length variable keeps the 16 the kernel wrote back.
    let peer = |len: &str| {
        format!(
            "getpeername(6, {{sa_family=AF_INET, sin_port=htons(…), sin_addr=inet_addr(\"127.0.0.1\")}}, [{len}]) = 0"
        )
    };
    let local = |len: &str| {
        format!(
            "getsockname(6, {{sa_family=AF_INET, sin_port=htons(6001), sin_addr=inet_addr(\"127.0.0.1\")}}, [{len}]) = 0"
        )
    };
    assert_eq!(
        names,
        vec![
            peer("112 => 16"),
            local("112 => 16"),
            peer("16"),
            local("16")
        ]
    );
}

/// Runs `socat - TCP:127.0.0.1:PORT` at 0.5 s with stdin from `/tmp/in`
/// (holding `input`), stdout into `/tmp/out`, with or without the
/// [`paced_backend`]; the socat's calls.
fn stdio_socat(port: u16, input: &[u8], backend_up: bool) -> (World, Log, Vec<String>) {
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    w.kernel_mut().write_file("/tmp/in", input);
    if backend_up {
        paced_backend(&mut w);
    }
    spawn_cmd(
        &mut w,
        &log,
        "socat",
        cmd(&format!("socat - TCP:127.0.0.1:{port}"))
            .stdin("/tmp/in")
            .stdout("/tmp/out")
            .stderr("/tmp/err")
            .after_us(500_000),
    );
    w.run_until(3_000_000, |_| false);
    let calls = calls_of(&w, pid_of(&w, "socat"));
    (w, log, calls)
}

#[test]
fn after_stdins_end_the_response_comes_within_the_half_second_wait() {
    let (w, log, calls) = stdio_socat(5000, b"GET / HTTP/1.0\r\n\r\n", true);
    assert_logged(&log.lines(), &["socat PIPESTATUS=0"]);
    assert_eq!(file(&w, "/tmp/out").as_bytes(), RESPONSE);
    assert_matches_fixture("stdio-request", &calls);
}

#[test]
fn a_refused_connect_from_stdio_shuts_down_only_the_socket() {
    let (_, log, calls) = stdio_socat(5000, b"GET / HTTP/1.0\r\n\r\n", false);
    assert_logged(&log.lines(), &["socat PIPESTATUS=1"]);
    assert_matches_fixture("stdio-backend-down", &calls);
}

/// A server on `port` that accepts one connection, writes `reply` (if any),
/// then closes it after `hold_us`.
fn one_shot_server(w: &mut World, port: u16, reply: &'static [u8], hold_us: u64) {
    use pipelab_sim::kernel::net::SockOpt;
    spawn(w, move |sys| async move {
        let fd = sys.socket().await.unwrap();
        sys.setsockopt(fd, SockOpt::ReuseAddr, true).await.unwrap();
        sys.bind(fd, format!("127.0.0.1:{port}").parse().unwrap())
            .await
            .unwrap();
        sys.listen(fd, 1).await.unwrap();
        let (c, _) = sys.accept(fd).await.unwrap();
        if !reply.is_empty() {
            sys.write(c, reply).await.unwrap();
        }
        sys.sleep_us(hold_us).await.unwrap();
        sys.close(c).await.unwrap();
        0
    });
}

#[test]
fn a_quiet_server_gets_half_a_second_after_stdins_end_then_socat_exits_0() {
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    one_shot_server(&mut w, 7001, b"", 2_000_000);
    w.kernel_mut().write_file("/tmp/hi", b"hi\n");
    spawn_cmd(
        &mut w,
        &log,
        "socat",
        cmd("socat - TCP:127.0.0.1:7001")
            .stdin("/tmp/hi")
            .stdout("/tmp/out")
            .after_us(500_000),
    );
    w.run_until(3_000_000, |_| false);
    assert_logged(&log.lines(), &["socat PIPESTATUS=0"]);
    assert_matches_fixture("stdio-quiet-server", &calls_of(&w, pid_of(&w, "socat")));
}

#[test]
fn when_the_server_closes_first_stdout_is_left_alone_and_stdin_waited_for() {
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    one_shot_server(&mut w, 7002, b"bye\n", 0);
    spawn_pipeline(
        &mut w,
        &log,
        "p",
        vec![
            cmd("sleep 2").after_us(500_000),
            cmd("socat - TCP:127.0.0.1:7002")
                .stdout("/tmp/out")
                .after_us(500_000),
        ],
    );
    w.run_until(4_000_000, |_| false);
    assert_logged(&log.lines(), &["p PIPESTATUS=0 0"]);
    assert_eq!(file(&w, "/tmp/out"), "bye\n");
    assert_matches_fixture(
        "stdio-server-closes-first",
        &calls_of(&w, pid_of(&w, "socat")),
    );
}

/// socat ignores SIGPIPE (`rt_sigaction(SIGPIPE, {sa_handler=SIG_IGN, ...})` at
/// start-up): a write to a client that has reset the connection fails with
/// EPIPE, the signal comes and goes, and socat logs the error, shuts down both
/// sockets and exits 1. Measured with a client that closed with SO_LINGER 0:
/// `read(6, ...) = -1 ECONNRESET`, then after the backend's reply `write(6,
/// "HTTP/1.0 200 OK\r\nServer: SimpleH"..., 204) = -1 EPIPE (Broken pipe)`,
/// `--- SIGPIPE {si_signo=SIGPIPE, si_code=SI_USER, si_pid=10179, ...} ---`,
/// `write(2, ... E write(6, 0x557a7ec3f000, 204): Broken pipe\n ...)`,
/// `shutdown(6, SHUT_RDWR) = -1 ENOTCONN`, `shutdown(5, SHUT_RDWR) = -1
/// ENOTCONN`, `exit_group(1)`. Here the client resets by closing with unread
/// data, and the backend's second write is the one that finds it gone.
#[test]
fn a_write_to_a_reset_client_is_epipe_logged_and_socat_exits_1_not_killed() {
    use pipelab_sim::kernel::net::SockOpt;
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    // The backend: the first part of a reply at once, the rest 0.3 s later.
    spawn(&mut w, |sys| async move {
        let fd = sys.socket().await.unwrap();
        sys.setsockopt(fd, SockOpt::ReuseAddr, true).await.unwrap();
        sys.bind(fd, "127.0.0.1:5000".parse().unwrap())
            .await
            .unwrap();
        sys.listen(fd, 1).await.unwrap();
        let (c, _) = sys.accept(fd).await.unwrap();
        sys.read(c, 100).await.unwrap();
        sys.write(c, b"first").await.unwrap();
        sys.sleep_us(300_000).await.unwrap();
        let _ = sys.write(c, b"second").await;
        sys.sleep_us(1_000_000).await.unwrap();
        0
    });
    spawn_cmd(
        &mut w,
        &log,
        "socat",
        cmd("socat TCP-LISTEN:6001,fork,reuseaddr TCP:127.0.0.1:5000")
            .stderr("/tmp/socat.err")
            .after_us(100_000),
    );
    // The client: a request, then away without reading the reply: RST.
    spawn(&mut w, |sys| async move {
        sys.sleep_us(500_000).await.unwrap();
        let fd = connect_to(&sys, "127.0.0.1:6001").await;
        sys.write(fd, b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
        sys.sleep_us(100_000).await.unwrap();
        sys.close(fd).await.unwrap();
        0
    });
    w.run_until(2_500_000, |_| false);
    let parent = calls_of(&w, pid_of(&w, "socat"));
    let child = cloned(&parent);
    assert_eq!(status(&w, child), Some(1), "exits 1, not 141");
    let err = file(&w, "/tmp/socat.err");
    assert!(
        err.ends_with(&format!("socat[{child}] E write(6, ..., 6): Broken pipe\n")),
        "{err}"
    );
    let lines: Vec<String> = strace(&w)
        .lines()
        .filter(|l| l.starts_with(&format!("{child:<5} ")))
        .map(|l| l[6..].to_string())
        .skip_while(|l| !l.contains("ECONNRESET"))
        .collect();
    let tail: Vec<&str> = lines.iter().map(String::as_str).collect();
    assert_eq!(
        tail[0],
        "read(6, 0x7ffd46f75be0, 8192) = -1 ECONNRESET (Connection reset by peer)"
    );
    let epipe = tail
        .iter()
        .position(|l| l.starts_with("write(6, "))
        .expect("the write that finds the client gone");
    assert_eq!(
        tail[epipe..],
        [
            "write(6, \"second\", 6) = -1 EPIPE (Broken pipe)",
            &format!("--- SIGPIPE {{si_signo=SIGPIPE, si_code=SI_USER, si_pid={child}}} ---"),
            tail[epipe + 2],
            "shutdown(6, SHUT_RDWR) = -1 ENOTCONN (Transport endpoint is not connected)",
            // The backend has not closed: FIN-WAIT-2, still a connection.
            "shutdown(5, SHUT_RDWR) = 0",
            "exit_group(1) = ?",
            "+++ exited with 1 +++",
        ]
    );
    assert!(tail[epipe + 2].starts_with("write(2, \"2026/11/26 00:00:0"));
}

#[test]
fn the_sigchld_handler_reaps_the_child_where_the_select_is_interrupted_then_socat_selects_again() {
    let (w, log) = fork_proxy(1, true);
    assert_logged(&log.lines(), &["curl1 PIPESTATUS=0"]);
    let socat = pid_of(&w, "socat");
    let child = cloned(&calls_of(&w, socat));
    let mine: Vec<String> = strace(&w)
        .lines()
        .filter(|l| l.starts_with(&format!("{socat} ")))
        .map(|l| elide(&l[6..]))
        .collect();
    let from = mine
        .iter()
        .position(|l| l.starts_with("<... pselect6 resumed>) = ?"))
        .unwrap_or_else(|| panic!("no interrupted select in\n{}", mine.join("\n")));
    // Measured (socat 1.7.4.4; there the child exited 1):
    assert_eq!(
        mine[from..from + 9],
        [
            "<... pselect6 resumed>) = ? ERESTARTNOHAND (To be restarted if no handler)".to_string(),
            format!("--- SIGCHLD {{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid={child}}} ---"),
            format!("wait4(-1, [{{WIFEXITED(s) && WEXITSTATUS(s) == 0}}], WNOHANG, NULL) = {child}"),
            "wait4(-1, 0x…, WNOHANG, NULL) = -1 ECHILD (No child processes)".to_string(),
            "rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)".to_string(),
            "recvfrom(3, 0x…, 519, MSG_DONTWAIT, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)".to_string(),
            "recvfrom(3, 0x…, 519, MSG_DONTWAIT, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)".to_string(),
            "recvfrom(3, 0x…, 519, MSG_DONTWAIT, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)".to_string(),
            "pselect6(6, [3 5], NULL, NULL, NULL, NULL <unfinished ...>".to_string(),
        ]
    );
}
