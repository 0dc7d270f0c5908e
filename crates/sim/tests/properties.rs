//! Properties over random syscall sequences from random processes: the simulator
//! never panics, never loses or invents a byte, keeps its reference counts
//! consistent, and a run is a pure function of its inputs.

mod harness;

use std::net::{Ipv4Addr, SocketAddrV4};

use harness::*;
use pipelab_sim::kernel::fs::OpenFlags;
use pipelab_sim::kernel::net::{Shutdown, SockOpt};
use pipelab_sim::kernel::poll::{POLLIN, POLLOUT, PollFd};
use pipelab_sim::kernel::{Disposition, Signal};
use pipelab_sim::sys::Sys;
use pipelab_sim::world::{Step, World};
use proptest::prelude::*;

/// One thing a random process does. Fd arguments index into the fds it holds.
#[derive(Clone, Debug)]
enum Op {
    Read(usize, usize),
    Write(usize, usize),
    Close(usize),
    Dup(usize),
    Dup2(usize, usize),
    Pipe,
    OpenFifo(u8),
    Listen(u16),
    Connect(u16),
    Accept(usize),
    Shutdown(usize, u8),
    Nonblock(usize),
    Poll(usize),
    Sleep(u16),
    IgnorePipe,
    Fork,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..8usize, 1..70_000usize).prop_map(|(f, n)| Op::Read(f, n)),
        4 => (0..8usize, 1..70_000usize).prop_map(|(f, n)| Op::Write(f, n)),
        2 => (0..8usize).prop_map(Op::Close),
        1 => (0..8usize).prop_map(Op::Dup),
        2 => (0..8usize, 0..8usize).prop_map(|(a, b)| Op::Dup2(a, b)),
        2 => Just(Op::Pipe),
        2 => (0..4u8).prop_map(Op::OpenFifo),
        1 => (0..2u16).prop_map(Op::Listen),
        2 => (0..2u16).prop_map(Op::Connect),
        2 => (0..8usize).prop_map(Op::Accept),
        1 => (0..8usize, 0..3u8).prop_map(|(f, h)| Op::Shutdown(f, h)),
        2 => (0..8usize).prop_map(Op::Nonblock),
        1 => (0..8usize).prop_map(Op::Poll),
        1 => (1..2000u16).prop_map(Op::Sleep),
        1 => Just(Op::IgnorePipe),
        1 => Just(Op::Fork),
    ]
}

fn pick(fds: &[i32], i: usize) -> i32 {
    if fds.is_empty() {
        0
    } else {
        fds[i % fds.len()]
    }
}

/// Runs `ops` in order; a forked child runs the rest of the list.
async fn interpret(sys: Sys, ops: Vec<Op>, mut fds: Vec<i32>) -> i32 {
    let mut i = 0;
    while i < ops.len() {
        let op = ops[i].clone();
        i += 1;
        match op {
            Op::Read(f, n) => {
                let _ = sys.read(pick(&fds, f), n).await;
            }
            Op::Write(f, n) => {
                let _ = sys.write(pick(&fds, f), &vec![b'x'; n]).await;
            }
            Op::Close(f) => {
                let fd = pick(&fds, f);
                if sys.close(fd).await.is_ok() {
                    fds.retain(|x| *x != fd);
                }
            }
            Op::Dup(f) => {
                if let Ok(fd) = sys.dup_min(pick(&fds, f), 0).await {
                    fds.push(fd);
                }
            }
            Op::Dup2(a, b) => {
                let (a, b) = (pick(&fds, a), pick(&fds, b));
                if sys.dup2(a, b).await.is_ok() && !fds.contains(&b) {
                    fds.push(b);
                }
            }
            Op::Pipe => {
                if let Ok((r, w)) = sys.pipe().await {
                    fds.extend([r, w]);
                }
            }
            Op::OpenFifo(mode) => {
                let mut flags = [
                    OpenFlags::read_only(),
                    OpenFlags::write_only(),
                    OpenFlags::read_write(),
                    OpenFlags::read_only(),
                ][mode as usize];
                flags.nonblock = mode == 3;
                if let Ok(fd) = sys.open("/tmp/fifo", flags).await {
                    fds.push(fd);
                }
            }
            Op::Listen(p) => {
                if let Ok(fd) = sys.socket().await {
                    fds.push(fd);
                    let _ = sys.setsockopt(fd, SockOpt::ReusePort, true).await;
                    let _ = sys
                        .bind(fd, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5000 + p))
                        .await;
                    let _ = sys.listen(fd, 1).await;
                }
            }
            Op::Connect(p) => {
                if let Ok(fd) = sys.socket().await {
                    fds.push(fd);
                    let _ = sys.set_nonblock(fd, true).await;
                    let _ = sys
                        .connect(fd, SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5000 + p))
                        .await;
                }
            }
            Op::Accept(f) => {
                let fd = pick(&fds, f);
                let _ = sys.set_nonblock(fd, true).await;
                if let Ok((a, _)) = sys.accept(fd).await {
                    fds.push(a);
                }
            }
            Op::Shutdown(f, h) => {
                let how = [Shutdown::Read, Shutdown::Write, Shutdown::Both][h as usize];
                let _ = sys.shutdown(pick(&fds, f), how).await;
            }
            Op::Nonblock(f) => {
                let _ = sys.set_nonblock(pick(&fds, f), true).await;
            }
            Op::Poll(f) => {
                let mut p = [PollFd::new(pick(&fds, f), POLLIN | POLLOUT)];
                let _ = sys.poll(&mut p, 10).await;
            }
            Op::Sleep(ms) => {
                let _ = sys.sleep_us(ms as u64 * 1000).await;
            }
            Op::IgnorePipe => {
                let _ = sys.sigaction(Signal::SIGPIPE, Disposition::Ignore).await;
            }
            Op::Fork => {
                let rest = ops[i..].to_vec();
                let inherited = fds.clone();
                let _ = sys.fork(move |c| interpret(c, rest, inherited)).await;
            }
        }
    }
    0
}

/// A parent that opens a pipe, a connected TCP pair, a listener and a FIFO, then
/// forks one child per op list: every child starts holding all of them, so random
/// ops land on live objects.
fn build(programs: &[Vec<Op>], seed: u64) -> World {
    let mut w = world_with(Default::default(), seed);
    w.kernel_mut().vfs.insert(
        "/tmp/fifo",
        pipelab_sim::kernel::fs::Inode::Fifo { pipe: None },
    );
    let programs = programs.to_vec();
    spawn(&mut w, move |sys| async move {
        let (r, wr) = sys.pipe().await.unwrap();
        let l = sys.socket().await.unwrap();
        sys.bind(l, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5000))
            .await
            .unwrap();
        sys.listen(l, 1).await.unwrap();
        let c = sys.socket().await.unwrap();
        sys.connect(c, SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5000))
            .await
            .unwrap();
        let (a, _) = sys.accept(l).await.unwrap();
        let f = sys
            .open("/tmp/fifo", OpenFlags::read_write())
            .await
            .unwrap();
        let fds = vec![r, wr, c, a, f, l];
        for ops in programs {
            let inherited = fds.clone();
            let _ = sys
                .fork(move |child| interpret(child, ops, inherited))
                .await;
        }
        for fd in fds {
            sys.close(fd).await.unwrap();
        }
        0
    });
    w
}

fn run_checked(w: &mut World) -> Result<(), TestCaseError> {
    for _ in 0..20_000 {
        let step = w.step(60_000_000);
        let k = w.kernel();
        if let Err(e) = k.check_invariants() {
            return Err(TestCaseError::fail(format!("after step {}: {e}", k.step)));
        }
        if !matches!(step, Step::Ran(_)) {
            return Ok(());
        }
    }
    Ok(())
}

proptest! {
    // A fixed seed keeps CI repeatable; PROPTEST_RNG_SEED or a new seed here
    // explores further.
    #![proptest_config(ProptestConfig {
        cases: 200,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x9e3779b9),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_syscalls_never_panic_and_keep_every_invariant(
        programs in prop::collection::vec(prop::collection::vec(op(), 0..25), 1..4),
        seed in 0u64..10_000,
    ) {
        let mut w = build(&programs, seed);
        run_checked(&mut w)?;
    }

    #[test]
    fn the_same_inputs_give_byte_identical_traces(
        programs in prop::collection::vec(prop::collection::vec(op(), 0..20), 1..4),
        seed in 0u64..1000,
    ) {
        let trace = |programs: &[Vec<Op>]| {
            let mut w = build(programs, seed);
            w.run_until(60_000_000, |_| false);
            serde_json_like(&w)
        };
        prop_assert_eq!(trace(&programs), trace(&programs));
    }
}

/// The trace as text: strace lines plus every event's debug form.
fn serde_json_like(w: &World) -> String {
    w.kernel()
        .trace
        .iter()
        .map(|e| format!("{e:?}\n"))
        .collect()
}
