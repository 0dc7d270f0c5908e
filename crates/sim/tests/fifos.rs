//! FIFOs: open rendezvous and the fifo(7) rules as measured (ground truth §8.4-8.6).

mod harness;

use harness::*;
use pipelab_sim::kernel::Errno;
use pipelab_sim::kernel::fs::OpenFlags;
use pipelab_sim::kernel::poll::{POLLHUP, POLLIN, PollFd};

fn nonblock(mut f: OpenFlags) -> OpenFlags {
    f.nonblock = true;
    f
}

#[test]
fn fifo_read_only_open_blocks_until_a_writer_opens() {
    let ran = run_logged(|sys, l1| async move {
        let l2 = l1.clone();
        sys.mkfifo("/tmp/f").await.unwrap();
        sys.fork(move |c| async move {
            c.sleep_us(300_000).await.unwrap();
            l2.push(format!("writer opens at {}ms", c.now_us() / 1000));
            c.open("/tmp/f", OpenFlags::write_only()).await.unwrap();
            0
        })
        .await
        .unwrap();
        sys.open("/tmp/f", OpenFlags::read_only()).await.unwrap();
        l1.push(format!("reader open returned at {}ms", sys.now_us() / 1000));
        0
    });
    assert_eq!(
        ran.lines,
        vec!["writer opens at 300ms", "reader open returned at 300ms"]
    );
}

#[test]
fn fifo_write_only_open_blocks_until_a_reader_opens() {
    let ran = run_logged(|sys, l1| async move {
        let l2 = l1.clone();
        sys.mkfifo("/tmp/f").await.unwrap();
        sys.fork(move |c| async move {
            c.sleep_us(1_000_000).await.unwrap();
            l2.push("reader opens");
            c.open("/tmp/f", OpenFlags::read_only()).await.unwrap();
            0
        })
        .await
        .unwrap();
        sys.open("/tmp/f", OpenFlags::write_only()).await.unwrap();
        l1.push(format!(
            "writer open returned at {}s",
            sys.now_us() / 1_000_000
        ));
        0
    });
    assert_eq!(
        ran.lines,
        vec!["reader opens", "writer open returned at 1s"]
    );
}

#[test]
fn fifo_write_only_nonblocking_open_without_reader_is_enxio() {
    let ran = run_logged(|sys, l| async move {
        sys.mkfifo("/tmp/f").await.unwrap();
        l.push(format!(
            "{:?}",
            sys.open("/tmp/f", nonblock(OpenFlags::write_only())).await
        ));
        0
    });
    assert_eq!(
        ran.lines,
        vec![format!("{:?}", Err::<i32, _>(Errno::ENXIO))]
    );
}

#[test]
fn fifo_write_only_nonblocking_open_with_a_reader_succeeds() {
    let ran = run_logged(|sys, l| async move {
        sys.mkfifo("/tmp/f").await.unwrap();
        sys.open("/tmp/f", nonblock(OpenFlags::read_only()))
            .await
            .unwrap();
        l.push(format!(
            "{:?}",
            sys.open("/tmp/f", nonblock(OpenFlags::write_only()))
                .await
                .is_ok()
        ));
        0
    });
    assert_eq!(ran.lines, vec!["true"]);
}

#[test]
fn fifo_read_only_nonblocking_open_returns_at_once() {
    let ran = run_logged(|sys, l| async move {
        sys.mkfifo("/tmp/f").await.unwrap();
        let fd = sys
            .open("/tmp/f", nonblock(OpenFlags::read_only()))
            .await
            .unwrap();
        // No writer ever opened: EOF, not EAGAIN.
        l.push(format!("{:?}", sys.read(fd, 10).await));
        sys.set_nonblock(fd, false).await.unwrap();
        l.push(format!("{:?}", sys.read(fd, 10).await));
        0
    });
    assert_eq!(ran.lines, vec!["Ok([])", "Ok([])"]);
}

#[test]
fn fifo_read_write_open_never_blocks() {
    let ran = run_logged(|sys, l| async move {
        sys.mkfifo("/tmp/f").await.unwrap();
        l.push(format!(
            "{:?}",
            sys.open("/tmp/f", OpenFlags::read_write()).await
        ));
        0
    });
    assert_eq!(ran.lines, vec!["Ok(3)"]);
}

#[test]
fn fifo_poll_withholds_pollhup_until_a_writer_has_been_seen() {
    let ran = run_logged(|sys, l| async move {
        sys.mkfifo("/tmp/f").await.unwrap();
        let r = sys
            .open("/tmp/f", nonblock(OpenFlags::read_only()))
            .await
            .unwrap();
        let mut p = [PollFd::new(r, POLLIN)];
        sys.poll(&mut p, 0).await.unwrap();
        l.push(format!("no writer yet: {}", p[0].revents));
        let wr = sys.open("/tmp/f", OpenFlags::write_only()).await.unwrap();
        sys.write(wr, b"x").await.unwrap();
        sys.poll(&mut p, 0).await.unwrap();
        l.push(format!("1 byte queued: {}", p[0].revents == POLLIN));
        sys.close(wr).await.unwrap();
        sys.poll(&mut p, 0).await.unwrap();
        l.push(format!(
            "writer closed, data queued: {}",
            p[0].revents == POLLIN | POLLHUP
        ));
        sys.read(r, 10).await.unwrap();
        sys.poll(&mut p, 0).await.unwrap();
        l.push(format!("drained: {}", p[0].revents == POLLHUP));
        0
    });
    assert_eq!(
        ran.lines,
        vec![
            "no writer yet: 0",
            "1 byte queued: true",
            "writer closed, data queued: true",
            "drained: true"
        ]
    );
}

/// Measured: a writer waits in open, then a reader opens; once the writer
/// closes, the reader's poll says POLLHUP (the writer was seen at the open).
#[test]
fn a_fifo_reader_that_opens_after_the_writer_gets_pollhup_when_it_closes() {
    let ran = run_logged(|sys, l| async move {
        sys.mkfifo("/tmp/f").await.unwrap();
        sys.fork(|c| async move {
            let w = c.open("/tmp/f", OpenFlags::write_only()).await.unwrap();
            c.sleep_us(300_000).await.unwrap();
            c.close(w).await.unwrap();
            0
        })
        .await
        .unwrap();
        sys.sleep_us(200_000).await.unwrap();
        let r = sys.open("/tmp/f", OpenFlags::read_only()).await.unwrap();
        let mut p = [PollFd::new(r, POLLIN)];
        sys.poll(&mut p, 0).await.unwrap();
        l.push(format!("writer open: {}", p[0].revents));
        sys.sleep_us(400_000).await.unwrap();
        sys.poll(&mut p, 0).await.unwrap();
        l.push(format!("writer closed: {}", p[0].revents == POLLHUP));
        0
    });
    assert_eq!(ran.lines, vec!["writer open: 0", "writer closed: true"]);
}

#[test]
fn fifo_data_flows_between_unrelated_processes_and_ends_with_eof() {
    let mut w = world();
    let log = Log::default();
    let l = log.clone();
    spawn(&mut w, move |sys| async move {
        sys.mkfifo("/tmp/f").await.unwrap();
        0
    });
    spawn(&mut w, move |sys| async move {
        sys.sleep_us(10).await.unwrap();
        let fd = sys.open("/tmp/f", OpenFlags::write_only()).await.unwrap();
        sys.write(fd, b"abc").await.unwrap();
        0
    });
    spawn(&mut w, move |sys| async move {
        sys.sleep_us(10).await.unwrap();
        let fd = sys.open("/tmp/f", OpenFlags::read_only()).await.unwrap();
        let got = read_to_end(&sys, fd, 2).await;
        l.push(String::from_utf8(got).unwrap());
        0
    });
    run(&mut w);
    assert_eq!(log.lines(), vec!["abc"]);
}

#[test]
fn unread_fifo_bytes_are_dropped_when_the_last_end_closes() {
    let ran = run_logged(|sys, l| async move {
        sys.mkfifo("/tmp/f").await.unwrap();
        let fd = sys.open("/tmp/f", OpenFlags::read_write()).await.unwrap();
        sys.write(fd, b"lost").await.unwrap();
        sys.close(fd).await.unwrap();
        let fd = sys
            .open("/tmp/f", nonblock(OpenFlags::read_only()))
            .await
            .unwrap();
        l.push(format!("{:?}", sys.read(fd, 10).await));
        0
    });
    assert_eq!(ran.lines, vec!["Ok([])"]);
}

#[test]
fn mkfifo_on_an_existing_path_is_eexist() {
    let ran = run_logged(|sys, l| async move {
        sys.mkfifo("/tmp/f").await.unwrap();
        l.push(format!("{:?}", sys.mkfifo("/tmp/f").await));
        l.push(format!(
            "{:?}",
            sys.open("/nope/x", OpenFlags::read_only()).await
        ));
        0
    });
    assert_eq!(ran.lines, vec!["Err(EEXIST)", "Err(ENOENT)"]);
}
