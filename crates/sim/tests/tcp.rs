//! Loopback TCP through the syscall layer, against what was measured on this
//! machine (ground truth §8.8 and the re-measured flags in `kernel/poll.rs`).

mod harness;

use std::net::{Ipv4Addr, SocketAddrV4};

use harness::*;
use pipelab_sim::kernel::net::{Shutdown, SockOpt, TcpState};
use pipelab_sim::kernel::poll::{POLLERR, POLLHUP, POLLIN, POLLOUT, PollFd};
use pipelab_sim::kernel::{Disposition, Errno, Signal};
use pipelab_sim::sys::Sys;

fn lo(port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)
}

fn any(port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)
}

async fn listener(sys: &Sys, port: u16, backlog: i32) -> i32 {
    let fd = sys.socket().await.unwrap();
    sys.setsockopt(fd, SockOpt::ReuseAddr, true).await.unwrap();
    sys.bind(fd, any(port)).await.unwrap();
    sys.listen(fd, backlog).await.unwrap();
    fd
}

async fn connect(sys: &Sys, port: u16) -> Result<i32, Errno> {
    let fd = sys.socket().await?;
    sys.connect(fd, lo(port)).await.map(|_| fd)
}

/// A client and its accepted peer on port 5000.
async fn pair(sys: &Sys) -> (i32, i32) {
    let l = listener(sys, 5000, 1).await;
    let c = connect(sys, 5000).await.unwrap();
    let (a, _) = sys.accept(l).await.unwrap();
    (c, a)
}

/// A refused connect takes back the source address it chose and keeps the
/// port (`tcp_disconnect`): measured after socat's refused connect here,
/// `getsockname(5, {sa_family=AF_INET, sin_port=htons(60056),
/// sin_addr=inet_addr("0.0.0.0")}, [112 => 16]) = 0`. An address `bind` gave
/// stays.
#[test]
fn a_refused_connect_leaves_the_wildcard_address_and_the_port() {
    let ran = run_logged(|sys, l| async move {
        let s = sys.socket().await.unwrap();
        l.push(format!("{:?}", sys.connect(s, lo(6000)).await));
        let a = sys.sockname(s, false).await.unwrap();
        l.push(format!("{} ephemeral: {}", a.ip(), a.port() >= 32768));
        let b = sys.socket().await.unwrap();
        sys.bind(b, lo(7000)).await.unwrap();
        l.push(format!("{:?}", sys.connect(b, lo(6000)).await));
        l.push(sys.sockname(b, false).await.unwrap().to_string());
        0
    });
    assert_eq!(
        ran.lines,
        vec![
            "Err(ECONNREFUSED)",
            "0.0.0.0 ephemeral: true",
            "Err(ECONNREFUSED)",
            "127.0.0.1:7000",
        ]
    );
}

/// Once both FINs have passed, the side that sent its FIN first is in TIME-WAIT,
/// which Linux keeps in a minisock: the socket itself is closed, and
/// `shutdown(2)` on it is ENOTCONN. Measured: socat's `shutdown(5, SHUT_RDWR) =
/// -1 ENOTCONN` after its `shutdown(5, SHUT_WR)` and the backend's close.
#[test]
fn shutdown_in_time_wait_is_enotconn() {
    let mut w = world();
    let log = Log::default();
    let l = log.clone();
    spawn(&mut w, move |sys| async move {
        let (c, a) = pair(&sys).await;
        sys.shutdown(c, Shutdown::Write).await.unwrap();
        sys.close(a).await.unwrap();
        l.push(format!("{:?}", sys.shutdown(c, Shutdown::Both).await));
        sys.sleep_us(1_000_000).await.unwrap();
        0
    });
    w.run_until(500_000, |_| false);
    assert_eq!(log.lines(), vec!["Err(ENOTCONN)"]);
    let snap = pipelab_sim::snapshot::Snapshot::of(&w.kernel());
    let states: Vec<&str> = snap.sockets.iter().map(|s| s.state).collect();
    assert!(states.contains(&"TIME-WAIT"), "{states:?}");
}

/// `recv(MSG_DONTWAIT)` never blocks, even on a blocking socket; socat's log
/// socketpair, on which nothing is sent, always answers EAGAIN. Both as strace
/// showed them here.
#[test]
fn recv_with_msg_dontwait_answers_eagain_instead_of_blocking() {
    let ran = run_logged(|sys, l| async move {
        let (p, _) = sys.socketpair().await.unwrap();
        l.push(format!("{:?}", sys.recv_dontwait(p, 519).await));
        let (c, a) = pair(&sys).await;
        l.push(format!("{:?}", sys.recv_dontwait(a, 519).await));
        sys.write(c, b"hi").await.unwrap();
        l.push(format!("{:?}", sys.recv_dontwait(a, 519).await));
        0
    });
    assert_eq!(
        ran.lines,
        vec!["Err(EAGAIN)", "Err(EAGAIN)", "Ok([104, 105])"]
    );
    assert_eq!(
        recvfrom_lines(&ran.strace()),
        vec![
            "recvfrom(3, 0x7ffd46f75be0, 519, MSG_DONTWAIT, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)",
            "recvfrom(7, 0x7ffd46f75be0, 519, MSG_DONTWAIT, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)",
            "recvfrom(7, \"hi\", 519, MSG_DONTWAIT, NULL, NULL) = 2",
        ]
    );
}

/// The `recvfrom` lines of a trace, without the pid column.
fn recvfrom_lines(strace: &str) -> Vec<&str> {
    strace
        .lines()
        .filter(|l| l.contains("recvfrom("))
        .map(|l| &l[6..])
        .collect()
}

/// A failed `recv` shows the buffer's address where a successful one shows the
/// bytes, as strace does for every failed read (measured with CPython here:
/// `recvfrom(5, 0x5570bf8b8f90, 4096, 0, NULL, NULL) = -1 ECONNRESET (Connection
/// reset by peer)`; the simulator shows one fixed address for every buffer).
#[test]
fn a_failed_recv_shows_the_buffer_address() {
    let ran = run_logged(|sys, l| async move {
        let (c, a) = pair(&sys).await;
        sys.write(c, b"hi").await.unwrap();
        l.push(format!("{:?}", sys.recv(a, 4096).await));
        // Closing with unread bytes resets the peer.
        sys.write(a, b"unread").await.unwrap();
        sys.close(c).await.unwrap();
        l.push(format!("{:?}", sys.recv(a, 4096).await));
        0
    });
    assert_eq!(ran.lines, vec!["Ok([104, 105])", "Err(ECONNRESET)"]);
    assert_eq!(
        recvfrom_lines(&ran.strace()),
        vec![
            "recvfrom(5, \"hi\", 4096, 0, NULL, NULL) = 2",
            "recvfrom(5, 0x7ffd46f75be0, 4096, 0, NULL, NULL) = -1 ECONNRESET (Connection reset by peer)",
        ]
    );
}

/// The error queue (`MSG_ERRQUEUE`) is filled only for `IP_RECVERR` or
/// timestamps, which nothing here asks for: after a refused connect socat's
/// read of it is `recvmsg(5, {msg_namelen=112}, MSG_TRUNC|MSG_ERRQUEUE) = -1
/// EAGAIN (Resource temporarily unavailable)`, measured.
#[test]
fn the_error_queue_of_a_refused_socket_is_empty() {
    let ran = run_logged(|sys, l| async move {
        let s = sys.socket().await.unwrap();
        sys.connect(s, lo(6000)).await.unwrap_err();
        l.push(format!("{:?}", sys.recvmsg_errqueue(s, 112).await));
        let (r, _) = sys.pipe().await.unwrap();
        l.push(format!("{:?}", sys.recvmsg_errqueue(r, 112).await));
        0
    });
    assert_eq!(ran.lines, vec!["Err(EAGAIN)", "Err(ENOTSOCK)"]);
    assert_contains_all(
        &ran.strace(),
        &[
            "recvmsg(3, {msg_namelen=112}, MSG_TRUNC|MSG_ERRQUEUE) = -1 EAGAIN (Resource temporarily unavailable)\n",
        ],
    );
}

#[test]
fn connect_to_a_port_with_no_listener_is_refused_at_once() {
    let ran = run_logged(|sys, l| async move {
        let t0 = sys.now_us();
        l.push(format!("{:?}", connect(&sys, 6000).await));
        l.push(format!(
            "within a millisecond: {}",
            sys.now_us() - t0 < 1000
        ));
        0
    });
    assert_eq!(
        ran.lines,
        vec!["Err(ECONNREFUSED)", "within a millisecond: true"]
    );
}

#[test]
fn nonblocking_connect_is_einprogress_then_so_error_tells_the_outcome() {
    let ran = run_logged(|sys, l| async move {
        for port in [5999, 5000] {
            if port == 5000 {
                listener(&sys, 5000, 1).await;
            }
            let fd = sys.socket().await.unwrap();
            sys.set_nonblock(fd, true).await.unwrap();
            let r = sys.connect(fd, lo(port)).await;
            let mut p = [PollFd::new(fd, POLLIN | POLLOUT)];
            sys.poll(&mut p, 100).await.unwrap();
            let err = sys.so_error(fd).await.unwrap();
            l.push(format!(
                "{port}: {r:?} revents={} so_error={err:?}",
                p[0].revents
            ));
        }
        0
    });
    // Measured here: refused = POLLIN|POLLOUT|POLLERR|POLLHUP (29), open = POLLOUT (4).
    assert_eq!(
        ran.lines,
        vec![
            "5999: Err(EINPROGRESS) revents=29 so_error=Some(ECONNREFUSED)",
            "5000: Err(EINPROGRESS) revents=4 so_error=None",
        ]
    );
}

#[test]
fn listen_backlog_1_completes_2_connections_then_drops_syns() {
    let ran = run_logged(|sys, l| async move {
        listener(&sys, 5000, 1).await;
        for i in 0..4 {
            let fd = sys.socket().await.unwrap();
            sys.set_nonblock(fd, true).await.unwrap();
            sys.connect(fd, lo(5000)).await.ok();
            let mut p = [PollFd::new(fd, POLLOUT)];
            let ready = sys.poll(&mut p, 500).await.unwrap();
            l.push(format!("{i}: {}", if ready > 0 { "ok" } else { "timeout" }));
        }
        0
    });
    assert_eq!(
        ran.lines,
        vec!["0: ok", "1: ok", "2: timeout", "3: timeout"]
    );
}

#[test]
fn a_dropped_syn_gets_in_after_a_retransmit_once_accept_makes_room() {
    let mut w = world();
    let log = Log::default();
    let (l1, l2) = (log.clone(), log.clone());
    spawn(&mut w, move |sys| async move {
        let lfd = listener(&sys, 5000, 0).await;
        sys.sleep_us(100_000).await.unwrap();
        let _ = sys.accept(lfd).await.unwrap();
        let _ = sys.accept(lfd).await.unwrap();
        l1.push(format!(
            "accepted both by {}s",
            sys.now_us().div_ceil(1_000_000)
        ));
        0
    });
    spawn(&mut w, move |sys| async move {
        sys.sleep_us(1000).await.unwrap();
        connect(&sys, 5000).await.unwrap();
        // Backlog 0 holds one: this one's SYN is dropped and resent after 1 s.
        connect(&sys, 5000).await.unwrap();
        l2.push(format!("second connected at {}s", sys.now_us() / 1_000_000));
        sys.sleep_us(5_000_000).await.unwrap();
        0
    });
    run(&mut w);
    assert_eq!(
        log.lines(),
        vec!["second connected at 1s", "accepted both by 2s"]
    );
}

#[test]
fn after_the_peer_closes_recv_is_eof_and_the_first_send_succeeds() {
    let ran = run_logged(|sys, l| async move {
        sys.sigaction(Signal::SIGPIPE, Disposition::Ignore)
            .await
            .unwrap();
        let (c, a) = pair(&sys).await;
        sys.close(a).await.unwrap();
        l.push(format!("recv {:?}", sys.read(c, 10).await));
        for _ in 0..3 {
            l.push(format!("send {:?}", sys.write(c, b"hello").await));
        }
        0
    });
    assert_eq!(
        ran.lines,
        vec![
            "recv Ok([])",
            "send Ok(5)",
            "send Err(EPIPE)",
            "send Err(EPIPE)"
        ]
    );
}

#[test]
fn second_send_after_peer_close_raises_sigpipe() {
    let ran = run_logged(|sys, l| async move {
        let (c, a) = pair(&sys).await;
        sys.close(a).await.unwrap();
        l.push(format!("first {:?}", sys.write(c, b"hello").await));
        l.push(format!("second {:?}", sys.write(c, b"hello").await));
        0
    });
    assert_eq!(ran.lines, vec!["first Ok(5)"]);
    assert_eq!(ran.status(), Some(141));
}

#[test]
fn msg_nosignal_gives_epipe_without_sigpipe() {
    let ran = run_logged(|sys, l| async move {
        let (c, a) = pair(&sys).await;
        sys.close(a).await.unwrap();
        sys.send_nosignal(c, b"x").await.unwrap();
        l.push(format!("{:?}", sys.send_nosignal(c, b"x").await));
        0
    });
    assert_eq!(ran.lines, vec!["Err(EPIPE)"]);
}

#[test]
fn close_with_unread_data_resets_the_peer() {
    let ran = run_logged(|sys, l| async move {
        let (c, a) = pair(&sys).await;
        sys.write(c, b"unread").await.unwrap();
        sys.close(a).await.unwrap();
        l.push(format!("{:?}", sys.read(c, 10).await));
        l.push(format!("{:?}", sys.read(c, 10).await));
        0
    });
    assert_eq!(ran.lines, vec!["Err(ECONNRESET)", "Ok([])"]);
}

#[test]
fn closing_a_listener_resets_the_connections_in_its_queue() {
    let ran = run_logged(|sys, l| async move {
        let lfd = listener(&sys, 5000, 1).await;
        let c = connect(&sys, 5000).await.unwrap();
        sys.close(lfd).await.unwrap();
        l.push(format!("{:?}", sys.read(c, 10).await));
        0
    });
    assert_eq!(ran.lines, vec!["Err(ECONNRESET)"]);
}

#[test]
fn shutdown_wr_gives_the_peer_eof_while_the_other_direction_flows() {
    let ran = run_logged(|sys, l| async move {
        let (c, a) = pair(&sys).await;
        sys.shutdown(c, Shutdown::Write).await.unwrap();
        l.push(format!("peer reads {:?}", sys.read(a, 10).await));
        sys.write(a, b"back").await.unwrap();
        l.push(format!(
            "client reads {:?}",
            String::from_utf8(sys.read(c, 10).await.unwrap())
        ));
        0
    });
    assert_eq!(
        ran.lines,
        vec!["peer reads Ok([])", "client reads Ok(\"back\")"]
    );
}

#[test]
fn tcp_states_follow_the_close_sequence() {
    let ran = run_logged(|sys, l| async move {
        let (c, a) = pair(&sys).await;
        sys.close(c).await.unwrap();
        sys.read(a, 10).await.unwrap();
        sys.close(a).await.unwrap();
        l.push("done");
        0
    });
    let k = ran.world.kernel();
    let transitions: Vec<(TcpState, TcpState)> = k
        .trace
        .iter()
        .filter_map(|e| match e.kind {
            pipelab_sim::trace::EventKind::TcpState { from, to, .. } => Some((from, to)),
            _ => None,
        })
        .collect();
    use TcpState::*;
    for t in [
        (Established, FinWait1),
        (FinWait1, FinWait2),
        (Established, CloseWait),
        (CloseWait, LastAck),
        (FinWait2, TimeWait),
    ] {
        assert!(transitions.contains(&t), "missing {t:?} in {transitions:?}");
    }
}

#[test]
fn poll_flags_after_peer_fin_reset_and_own_shutdown_match_linux() {
    let ran = run_logged(|sys, l| async move {
        sys.sigaction(Signal::SIGPIPE, Disposition::Ignore)
            .await
            .unwrap();
        let ask = POLLIN | POLLOUT;
        let (c, a) = pair(&sys).await;
        sys.close(a).await.unwrap();
        let mut p = [PollFd::new(c, ask)];
        sys.poll(&mut p, 0).await.unwrap();
        l.push(format!("after peer FIN {}", p[0].revents));
        sys.write(c, b"x").await.unwrap();
        sys.poll(&mut p, 0).await.unwrap();
        l.push(format!("after send into closed peer {}", p[0].revents));
        let (c2, _a2) = {
            let lfd = listener(&sys, 5001, 1).await;
            let c = connect(&sys, 5001).await.unwrap();
            (c, sys.accept(lfd).await.unwrap().0)
        };
        sys.shutdown(c2, Shutdown::Read).await.unwrap();
        let mut p = [PollFd::new(c2, ask)];
        sys.poll(&mut p, 0).await.unwrap();
        l.push(format!("after own SHUT_RD {}", p[0].revents));
        sys.shutdown(c2, Shutdown::Write).await.unwrap();
        sys.poll(&mut p, 0).await.unwrap();
        l.push(format!("after own SHUT_RDWR {}", p[0].revents));
        0
    });
    assert_eq!(
        ran.lines,
        vec![
            format!("after peer FIN {}", POLLIN | POLLOUT),
            format!(
                "after send into closed peer {}",
                POLLIN | POLLOUT | POLLERR | POLLHUP
            ),
            format!("after own SHUT_RD {}", POLLIN | POLLOUT),
            format!("after own SHUT_RDWR {}", POLLIN | POLLOUT | POLLHUP),
        ]
    );
}

#[test]
fn binding_a_port_in_use_is_eaddrinuse_unless_both_set_reuseport() {
    let ran = run_logged(|sys, l| async move {
        let a = sys.socket().await.unwrap();
        sys.bind(a, any(6000)).await.unwrap();
        sys.listen(a, 1).await.unwrap();
        let b = sys.socket().await.unwrap();
        l.push(format!("{:?}", sys.bind(b, any(6000)).await));
        let c = sys.socket().await.unwrap();
        let d = sys.socket().await.unwrap();
        for fd in [c, d] {
            sys.setsockopt(fd, SockOpt::ReusePort, true).await.unwrap();
        }
        sys.bind(c, any(6001)).await.unwrap();
        sys.listen(c, 1).await.unwrap();
        l.push(format!("{:?}", sys.bind(d, any(6001)).await));
        0
    });
    assert_eq!(ran.lines, vec!["Err(EADDRINUSE)", "Ok(())"]);
}

#[test]
fn connecting_sockets_get_ephemeral_ports_in_the_linux_range() {
    let ran = run_logged(|sys, l| async move {
        listener(&sys, 5000, 8).await;
        for _ in 0..3 {
            let c = connect(&sys, 5000).await.unwrap();
            let port = sys.sockname(c, false).await.unwrap().port();
            l.push(format!("{}", (32768..=60999).contains(&port)));
        }
        0
    });
    assert_eq!(ran.lines, vec!["true"; 3]);
}

#[test]
fn a_sender_with_no_reader_blocks_when_the_window_is_full() {
    let ran = run_logged(|sys, l| async move {
        let (c, _a) = pair(&sys).await;
        sys.set_nonblock(c, true).await.unwrap();
        let mut total = 0;
        loop {
            match sys.write(c, &[0u8; 65536]).await {
                Ok(n) => total += n,
                Err(e) => {
                    l.push(format!("{e:?} after {total}"));
                    break;
                }
            }
        }
        0
    });
    assert_eq!(
        ran.lines,
        vec![format!(
            "EAGAIN after {}",
            pipelab_sim::kernel::net::TCP_WINDOW
        )]
    );
}

#[test]
fn data_round_trips_through_a_connection_byte_exact() {
    let ran = run_logged(|sys, l| async move {
        let (c, a) = pair(&sys).await;
        let payload: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let p2 = payload.clone();
        sys.fork(move |ch| async move {
            ch.write_all(c, &p2).await.unwrap();
            ch.shutdown(c, Shutdown::Write).await.unwrap();
            0
        })
        .await
        .unwrap();
        let got = read_to_end(&sys, a, 1000).await;
        l.push(format!("{}", got == payload));
        0
    });
    assert_eq!(ran.lines, vec!["true"]);
}

#[test]
fn after_the_peers_fin_a_later_reset_still_reads_as_eof() {
    let ran = run_logged(|sys, l| async move {
        sys.sigaction(Signal::SIGPIPE, Disposition::Ignore)
            .await
            .unwrap();
        let (c, a) = pair(&sys).await;
        sys.close(a).await.unwrap();
        // The first send succeeds and draws the peer's RST.
        sys.write(c, b"x").await.unwrap();
        l.push(format!("{:?}", sys.read(c, 10).await));
        0
    });
    assert_eq!(ran.lines, vec!["Ok([])"]);
}

/// Linux keeps the side that closed first in TIME-WAIT for `TCP_TIMEWAIT_LEN`
/// (60 s): meanwhile its port binds only with SO_REUSEADDR (measured with
/// python3 here: `[Errno 98] Address already in use` without it), afterwards
/// the socket is gone and the port is free.
#[test]
fn time_wait_lasts_60_s_then_the_socket_is_gone_and_its_port_free() {
    let mut w = world();
    let log = Log::default();
    let l = log.clone();
    spawn(&mut w, move |sys| async move {
        let lfd = listener(&sys, 5000, 1).await;
        let c = connect(&sys, 5000).await.unwrap();
        let (a, _) = sys.accept(lfd).await.unwrap();
        // The server closes first: its side of the connection waits.
        sys.close(a).await.unwrap();
        sys.read(c, 10).await.unwrap();
        sys.close(c).await.unwrap();
        sys.close(lfd).await.unwrap();
        let b = sys.socket().await.unwrap();
        l.push(format!("{:?}", sys.bind(b, any(5000)).await));
        sys.sleep_us(60_000_000).await.unwrap();
        l.push(format!("{:?}", sys.bind(b, any(5000)).await));
        0
    });
    let states = |w: &pipelab_sim::world::World| -> Vec<&'static str> {
        let snap = pipelab_sim::snapshot::Snapshot::of(&w.kernel());
        snap.sockets.iter().map(|s| s.state).collect()
    };
    w.run_until(59_000_000, |_| false);
    assert_eq!(states(&w), vec!["TIME-WAIT", "CLOSE"]);
    run(&mut w);
    assert_eq!(log.lines(), vec!["Err(EADDRINUSE)", "Ok(())"]);
    assert_eq!(states(&w), Vec::<&str>::new());
    assert_eq!(w.kernel().sockets.len(), 0, "{:?}", w.kernel().sockets);
}

/// Each real program's accept, as strace showed it here: nc.openbsd
/// `accept4(.., [128 => 16], SOCK_NONBLOCK)`, python3 `accept4(.., [16],
/// SOCK_CLOEXEC)`, nc.traditional and socat `accept(.., [16])`, busybox
/// `accept(3, NULL, NULL)`; and SOCK_NONBLOCK takes effect.
#[test]
fn accept_prints_and_applies_what_each_program_passes() {
    use pipelab_sim::sys::Accept;
    let ran = run_logged(|sys, l| async move {
        let lfd = listener(&sys, 5000, 8).await;
        let hows = [
            Accept {
                nonblock: true,
                addrlen: Some(128),
                ..Accept::ACCEPT4
            },
            Accept {
                cloexec: true,
                ..Accept::ACCEPT4
            },
            Accept::ACCEPT,
            Accept {
                addrlen: None,
                ..Accept::ACCEPT
            },
        ];
        for how in hows {
            connect(&sys, 5000).await.unwrap();
            let (a, _) = sys.accept_as(lfd, how).await.unwrap();
            if how.nonblock {
                l.push(format!("{:?}", sys.read(a, 1).await));
            }
        }
        0
    });
    assert_eq!(ran.lines, vec!["Err(EAGAIN)"]);
    assert_contains_all(
        &ran.strace(),
        &[
            "accept4(3, {sa_family=AF_INET, sin_port=htons(",
            "}, [128 => 16], SOCK_NONBLOCK) = 5",
            "}, [16], SOCK_CLOEXEC) = 7",
            "accept(3, {sa_family=AF_INET, sin_port=htons(",
            "}, [16]) = 9",
            "accept(3, NULL, NULL) = 11",
        ],
    );
}

/// socket(2) as the real programs call it (strace here): nc.openbsd's client
/// `SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP`, python3 `SOCK_STREAM|SOCK_CLOEXEC,
/// IPPROTO_IP`; SOCK_NONBLOCK makes the connect EINPROGRESS.
#[test]
fn socket_prints_and_applies_its_type_flags() {
    use pipelab_sim::sys::SockType;
    let ran = run_logged(|sys, l| async move {
        listener(&sys, 5000, 8).await;
        let nb = SockType {
            nonblock: true,
            ..SockType::TCP
        };
        let fd = sys.socket_as(nb).await.unwrap();
        l.push(format!("{:?}", sys.connect(fd, lo(5000)).await));
        let py = SockType {
            cloexec: true,
            proto_zero: true,
            ..SockType::TCP
        };
        sys.socket_as(py).await.unwrap();
        0
    });
    assert_eq!(ran.lines, vec!["Err(EINPROGRESS)"]);
    assert_contains_all(
        &ran.strace(),
        &[
            "socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) = 4",
            "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 5",
        ],
    );
}
