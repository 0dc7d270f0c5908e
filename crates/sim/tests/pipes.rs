//! Pipes through the syscall layer: blocking, EOF, SIGPIPE, backpressure.

mod harness;

use harness::*;
use pipelab_sim::kernel::{Disposition, Errno, Signal};

#[test]
fn a_write_to_a_pipe_with_no_readers_raises_sigpipe_and_kills_by_default() {
    let ran = run_logged(|sys, l| async move {
        let (r, wr) = sys.pipe().await.unwrap();
        sys.close(r).await.unwrap();
        let res = sys.write(wr, b"x").await;
        l.push(format!("survived {res:?}"));
        0
    });
    assert_eq!(ran.status(), Some(141));
    assert!(
        ran.lines.is_empty(),
        "the process never saw the write return"
    );
    assert_contains_all(
        &ran.strace(),
        &[
            "write(4, \"x\", 1) = -1 EPIPE (Broken pipe)",
            "+++ killed by SIGPIPE +++",
        ],
    );
}

#[test]
fn with_sigpipe_ignored_the_write_fails_with_epipe() {
    let ran = run_logged(|sys, l| async move {
        sys.sigaction(Signal::SIGPIPE, Disposition::Ignore)
            .await
            .unwrap();
        let (r, wr) = sys.pipe().await.unwrap();
        sys.close(r).await.unwrap();
        l.push(format!("{:?}", sys.write(wr, b"x").await));
        1
    });
    assert_eq!(ran.lines, vec!["Err(EPIPE)"]);
    assert_eq!(ran.status(), Some(1));
}

#[test]
fn a_reader_that_dies_breaks_the_writer_but_a_writer_that_dies_gives_eof() {
    // Writer dies: the reader sees its bytes, then EOF.
    let ran = run_logged(|sys, l| async move {
        let (r, wr) = sys.pipe().await.unwrap();
        let child = sys
            .fork(move |c| async move {
                c.close(r).await.unwrap();
                c.write(wr, b"bye").await.unwrap();
                0
            })
            .await
            .unwrap();
        sys.close(wr).await.unwrap();
        l.push(format!(
            "{:?}",
            String::from_utf8(sys.read(r, 100).await.unwrap())
        ));
        l.push(format!("{:?}", sys.read(r, 100).await.unwrap().len()));
        sys.waitpid(child as i32, false).await.unwrap();
        0
    });
    assert_eq!(ran.lines, vec!["Ok(\"bye\")", "0"]);
}

#[test]
fn read_of_an_empty_pipe_blocks_until_a_writer_writes() {
    let ran = run_logged(|sys, l| async move {
        let (r, wr) = sys.pipe().await.unwrap();
        let l2 = l.clone();
        sys.fork(move |c| async move {
            c.sleep_us(2_000_000).await.unwrap();
            l2.push(format!("writing at {}", c.now_us() / 1_000_000));
            c.write(wr, b"late").await.unwrap();
            0
        })
        .await
        .unwrap();
        let got = sys.read(r, 10).await.unwrap();
        l.push(format!(
            "read {} at {}",
            String::from_utf8(got).unwrap(),
            sys.now_us() / 1_000_000
        ));
        0
    });
    assert_eq!(ran.lines, vec!["writing at 2", "read late at 2"]);
    assert_contains_all(
        &ran.strace(),
        &[
            "read(3,  <unfinished ...>",
            "<... read resumed>\"late\", 10) = 4",
        ],
    );
}

#[test]
fn read_of_an_empty_nonblocking_pipe_is_eagain() {
    let ran = run_logged(|sys, l| async move {
        let (r, _wr) = sys.pipe().await.unwrap();
        sys.set_nonblock(r, true).await.unwrap();
        l.push(format!("{:?}", sys.read(r, 10).await));
        0
    });
    assert_eq!(ran.lines, vec!["Err(EAGAIN)"]);
}

#[test]
fn a_full_pipe_blocks_its_writer_until_the_reader_drains_it() {
    let ran = run_logged(|sys, l| async move {
        let (r, wr) = sys.pipe().await.unwrap();
        let l2 = l.clone();
        sys.fork(move |c| async move {
            c.close(r).await.unwrap();
            // 100000 bytes: more than the pipe holds, so this write waits.
            let n = c.write(wr, &[7u8; 100_000]).await.unwrap();
            l2.push(format!("wrote {n} at {}s", c.now_us() / 1_000_000));
            0
        })
        .await
        .unwrap();
        sys.close(wr).await.unwrap();
        sys.sleep_us(5_000_000).await.unwrap();
        let total = read_to_end(&sys, r, 4096).await.len();
        l.push(format!("read {total}"));
        0
    });
    assert_eq!(ran.lines, vec!["wrote 100000 at 5s", "read 100000"]);
    let blocked = ran.world.kernel().trace.iter().any(|e| {
        matches!(
            &e.kind,
            pipelab_sim::trace::EventKind::Blocked { name: "write", .. }
        )
    });
    assert!(blocked, "the writer blocked on the full pipe");
}

#[test]
fn a_reader_that_exits_mid_write_gives_the_writer_a_short_count_and_sigpipe() {
    let ran = run_logged(|sys, _| async move {
        let (r, wr) = sys.pipe().await.unwrap();
        sys.fork(move |c| async move {
            c.close(wr).await.unwrap();
            c.read(r, 10).await.unwrap();
            0
        })
        .await
        .unwrap();
        sys.close(r).await.unwrap();
        sys.write(wr, &[1u8; 200_000]).await.unwrap();
        0
    });
    assert_eq!(ran.status(), Some(141));
}

#[test]
fn eof_is_ok_zero_not_an_error() {
    let ran = run_logged(|sys, l| async move {
        let (r, wr) = sys.pipe().await.unwrap();
        sys.close(wr).await.unwrap();
        l.push(format!("{:?}", sys.read(r, 10).await));
        0
    });
    assert_eq!(ran.lines, vec!["Ok([])"]);
}

#[test]
fn closing_an_fd_twice_is_ebadf() {
    let ran = run_logged(|sys, l| async move {
        let (r, _) = sys.pipe().await.unwrap();
        sys.close(r).await.unwrap();
        l.push(format!("{:?}", sys.close(r).await));
        0
    });
    assert_eq!(ran.lines, vec![format!("{:?}", Err::<(), _>(Errno::EBADF))]);
}

#[test]
fn the_failed_write_is_traced_before_the_sigpipe_it_raises() {
    let ran = run_logged(|sys, _| async move {
        let (r, wr) = sys.pipe().await.unwrap();
        sys.close(r).await.unwrap();
        let _ = sys.write(wr, b"x").await;
        0
    });
    assert_in_order(&ran.strace(), &["= -1 EPIPE", "--- SIGPIPE"]);
}
