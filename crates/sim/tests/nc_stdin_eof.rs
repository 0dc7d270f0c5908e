//! What each netcat does when its stdin ends while the network peer stays
//! (ground truth §7.9), and BusyBox's client-side SIGPIPE (ground truth §2).

mod harness;

use harness::*;
use pipelab_sim::kernel::fs::OpenFlags;
use pipelab_sim::kernel::poll::{POLLIN, PollFd};
use pipelab_sim::run::NcFlavor;

/// What the peer and nc saw.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    /// When the peer read EOF (nc shut down writing), in ms, if within 1 s.
    peer_eof_ms: Option<u64>,
    /// The line the peer sent at 2.5 s reached nc's stdout.
    late_data_delivered: bool,
    /// When nc exited, in ms.
    exit_ms: u64,
    status: i32,
}

/// nc with stdin = /dev/null against a peer that sends `late\n` at 2.5 s and
/// closes at 3 s. `listen`: nc listens on 7000 and the peer connects at 0.2 s.
fn stdin_eof(flavor: NcFlavor, args: &str, listen: bool) -> Seen {
    let mut w = world_programs(flavor);
    let log = Log::default();
    let line = if listen {
        format!("nc {args} -l -p 7000")
    } else {
        format!("nc {args} 127.0.0.1 7000")
    };
    let l = log.clone();
    spawn(&mut w, move |sys| async move {
        let st = pipeline(
            &sys,
            vec![
                cmd(&line)
                    .after_us(100_000)
                    .stdin("/dev/null")
                    .stdout("/tmp/out"),
            ],
        )
        .await;
        l.push(format!("exit {} {}", sys.now_us() / 1000, st[0]));
        0
    });
    let l = log.clone();
    spawn(&mut w, move |sys| async move {
        let c = if listen {
            sys.sleep_us(200_000).await.unwrap();
            let s = sys.socket().await.unwrap();
            sys.connect(s, "127.0.0.1:7000".parse().unwrap())
                .await
                .unwrap();
            s
        } else {
            let s = sys.socket().await.unwrap();
            sys.bind(s, "127.0.0.1:7000".parse().unwrap())
                .await
                .unwrap();
            sys.listen(s, 1).await.unwrap();
            sys.accept(s).await.unwrap().0
        };
        let start = sys.now_us();
        let mut p = [PollFd::new(c, POLLIN)];
        if sys.poll(&mut p, 1000).await.unwrap() == 1
            && sys
                .read(c, 100)
                .await
                .map(|d| d.is_empty())
                .unwrap_or(false)
        {
            l.push(format!("peer eof {}", (sys.now_us() - start) / 1000));
        }
        let now = sys.now_us();
        sys.sleep_us(2_500_000u64.saturating_sub(now))
            .await
            .unwrap();
        let _ = sys.write(c, b"late\n").await;
        sys.sleep_us(500_000).await.unwrap();
        sys.close(c).await.unwrap();
        0
    });
    w.run_until(10_000_000, |_| false);
    let lines = log.lines();
    let peer_eof_ms = lines
        .iter()
        .find_map(|l| l.strip_prefix("peer eof "))
        .map(|v| v.parse().unwrap());
    let exit: Vec<u64> = lines
        .iter()
        .find_map(|l| l.strip_prefix("exit "))
        .unwrap_or_else(|| panic!("nc did not exit: {lines:?}"))
        .split(' ')
        .map(|v| v.parse().unwrap())
        .collect();
    let out = match w.kernel().vfs.inode("/tmp/out") {
        Some(pipelab_sim::kernel::fs::Inode::File { data }) => data.clone(),
        _ => Vec::new(),
    };
    Seen {
        peer_eof_ms,
        late_data_delivered: out == b"late\n",
        exit_ms: exit[0],
        status: exit[1] as i32,
    }
}

#[test]
fn openbsd_without_options_neither_shuts_down_nor_exits_at_stdin_eof() {
    for listen in [false, true] {
        let s = stdin_eof(NcFlavor::Openbsd, "", listen);
        assert_eq!(s.peer_eof_ms, None, "listen={listen}");
        assert!(s.late_data_delivered, "listen={listen}");
        assert!(s.exit_ms >= 3000, "{s:?}");
        assert_eq!(s.status, 0);
    }
}

#[test]
fn openbsd_n_shuts_down_writing_at_stdin_eof_and_exits_when_the_peer_closes() {
    let s = stdin_eof(NcFlavor::Openbsd, "-N", false);
    assert!(s.peer_eof_ms.is_some(), "{s:?}");
    assert!(s.late_data_delivered);
    assert!(s.exit_ms >= 3000, "{s:?}");
}

#[test]
fn openbsd_q0_connect_shuts_down_writing_and_exits_at_network_eof() {
    let s = stdin_eof(NcFlavor::Openbsd, "-q 0", false);
    assert!(s.peer_eof_ms.is_some(), "{s:?}");
    assert!(s.late_data_delivered);
    assert!((3000..3100).contains(&s.exit_ms), "{s:?}");
}

#[test]
fn openbsd_q0_listen_closes_at_once_and_drops_late_data() {
    let s = stdin_eof(NcFlavor::Openbsd, "-q 0", true);
    assert!(s.peer_eof_ms.is_some(), "{s:?}");
    assert!(!s.late_data_delivered);
    assert!(s.exit_ms < 1000, "{s:?}");
}

#[test]
fn traditional_without_options_closes_stdin_and_waits_for_network_eof() {
    let s = stdin_eof(NcFlavor::Traditional, "", false);
    assert_eq!(s.peer_eof_ms, None, "{s:?}");
    assert!(s.late_data_delivered);
    assert!(s.exit_ms >= 3000, "{s:?}");
}

#[test]
fn traditional_q0_shuts_down_and_exits_right_away() {
    let s = stdin_eof(NcFlavor::Traditional, "-q 0", false);
    assert!(s.peer_eof_ms.is_some(), "{s:?}");
    assert!(!s.late_data_delivered);
    assert!(s.exit_ms < 1000, "{s:?}");
}

#[test]
fn traditional_q1_exits_one_second_after_stdin_eof() {
    let s = stdin_eof(NcFlavor::Traditional, "-q 1", false);
    assert!(s.peer_eof_ms.is_some(), "{s:?}");
    assert!(!s.late_data_delivered);
    assert!((1000..1300).contains(&s.exit_ms), "{s:?}");
}

#[test]
fn busybox_client_pipeline_writer_dies_of_sigpipe_when_the_connection_is_gone() {
    // `{ printf 'GET ...'; sleep 1; printf 'GET ...'; } | nc 127.0.0.1 6000`
    // against the BusyBox FIFO proxy: the second printf finds no reader.
    let (mut w, log) = world_with_backend(NcFlavor::Busybox, backend().quiet());
    spawn(&mut w, move |sys| async move {
        sys.mkfifo("/tmp/f").await.unwrap();
        let proxy = fifo_proxy(
            cmd("nc -l -p 6000").after_us(200_000),
            cmd("nc 127.0.0.1 5000").after_us(200_000),
        );
        pipeline(&sys, proxy).await;
        0
    });
    let l = log.clone();
    spawn(&mut w, move |sys| async move {
        sys.sleep_us(1_000_000).await.unwrap();
        let (r, wr) = sys.pipe().await.unwrap();
        let writer = sys
            .fork(move |c| async move {
                c.close(r).await.unwrap();
                let req = b"GET / HTTP/1.0\r\n\r\n";
                c.write(wr, req).await.unwrap();
                c.sleep_us(1_000_000).await.unwrap();
                let _ = c.write(wr, req).await;
                0
            })
            .await
            .unwrap();
        let nc = sys
            .fork(move |c| async move {
                c.dup2(r, 0).await.unwrap();
                c.close(r).await.unwrap();
                c.close(wr).await.unwrap();
                let fd = c
                    .open("/tmp/client.out", OpenFlags::create_truncate())
                    .await
                    .unwrap();
                c.dup2(fd, 1).await.unwrap();
                c.close(fd).await.unwrap();
                c.execve(
                    "/usr/bin/nc",
                    vec!["nc".into(), "127.0.0.1".into(), "6000".into()],
                )
                .await;
                127
            })
            .await
            .unwrap();
        sys.close(r).await.unwrap();
        sys.close(wr).await.unwrap();
        let a = sys.waitpid(writer as i32, false).await.unwrap().unwrap().1;
        let b = sys.waitpid(nc as i32, false).await.unwrap().unwrap().1;
        l.push(format!(
            "PIPESTATUS={} {}",
            a.shell_status(),
            b.shell_status()
        ));
        0
    });
    w.run_until(6_000_000, |_| false);
    let lines = log.lines();
    let st = lines
        .iter()
        .find(|l| l.starts_with("PIPESTATUS="))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(
        st == "PIPESTATUS=141 0" || st == "PIPESTATUS=141 141",
        "{lines:?}"
    );
    assert!(file(&w, "/tmp/client.out").starts_with("HTTP/1.0 200 OK\r\n"));
}
