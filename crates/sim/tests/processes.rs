//! Processes, fd tables, signals, time and limits through the syscall layer.

mod harness;

use harness::*;
use pipelab_sim::kernel::fs::{Inode, OpenFlags};
use pipelab_sim::kernel::process::State;
use pipelab_sim::kernel::signal::mask_of;
use pipelab_sim::kernel::{Disposition, Errno, INIT_PID, Limits, SigHow, Signal};
use pipelab_sim::run::NcFlavor;
use pipelab_sim::sys::{Program, Programs, Sys, Task};
use pipelab_sim::world::{Step, World};

/// A program that reports on fd 1 which of fds 3..6 it holds and what its SIGPIPE
/// and SIGINT dispositions are.
fn probe(sys: Sys, _argv: Vec<String>) -> Task {
    Box::pin(async move {
        let fds: Vec<String> = (3..6)
            .filter(|fd| sys.fd_is_open(*fd))
            .map(|fd| fd.to_string())
            .collect();
        let pipe = sys
            .sigaction(Signal::SIGPIPE, Disposition::Default)
            .await
            .unwrap();
        let int = sys
            .sigaction(Signal::SIGINT, Disposition::Default)
            .await
            .unwrap();
        let line = format!("fds=[{}] SIGPIPE={pipe:?} SIGINT={int:?}\n", fds.join(","));
        sys.write(1, line.as_bytes()).await.unwrap();
        0
    })
}

fn world_with_probe() -> World {
    let mut programs = Programs::new();
    programs.insert(
        "probe".into(),
        Program {
            main: probe,
            rss_kb: None,
        },
    );
    let w = world_with(programs, 0);
    w.kernel_mut().vfs.insert(
        "/bin/probe",
        Inode::Program {
            name: "probe".into(),
        },
    );
    w
}

#[test]
fn fork_shares_open_file_descriptions_so_offsets_are_shared() {
    let ran = run_logged(|sys, _| async move {
        let fd = sys
            .open("/tmp/out", OpenFlags::create_truncate())
            .await
            .unwrap();
        let child = sys
            .fork(move |c| async move {
                c.write(fd, b"child ").await.unwrap();
                0
            })
            .await
            .unwrap();
        sys.waitpid(child as i32, false).await.unwrap();
        sys.write(fd, b"parent").await.unwrap();
        0
    });
    assert_eq!(
        ran.world.kernel().vfs.inode("/tmp/out"),
        Some(&Inode::File {
            data: b"child parent".to_vec()
        })
    );
}

#[test]
fn exec_keeps_fds_but_closes_cloexec_ones() {
    let ran = run_logged_in(world_with_probe(), |sys, _| async move {
        let (a, b) = sys.pipe().await.unwrap();
        sys.set_cloexec(b, true).await.unwrap();
        let _ = (a, b);
        sys.execve("/bin/probe", vec!["probe".into()]).await;
        1
    });
    assert_eq!(ran.terminal(), "fds=[3] SIGPIPE=Default SIGINT=Default\n");
}

#[test]
fn exec_keeps_ignored_signals_and_resets_handled_ones() {
    let ran = run_logged_in(world_with_probe(), |sys, _| async move {
        sys.sigaction(Signal::SIGPIPE, Disposition::Ignore)
            .await
            .unwrap();
        sys.sigaction(Signal::SIGINT, Disposition::Handler { restart: true })
            .await
            .unwrap();
        sys.execve("/bin/probe", vec!["probe".into()]).await;
        1
    });
    assert_eq!(ran.terminal(), "fds=[] SIGPIPE=Ignore SIGINT=Default\n");
}

#[test]
fn fork_inherits_signal_dispositions() {
    let ran = run_logged_in(world_with_probe(), |sys, _| async move {
        sys.sigaction(Signal::SIGPIPE, Disposition::Ignore)
            .await
            .unwrap();
        let child = sys
            .fork(|c| async move {
                c.execve("/bin/probe", vec!["probe".into()]).await;
                127
            })
            .await
            .unwrap();
        sys.waitpid(child as i32, false).await.unwrap();
        0
    });
    assert_eq!(ran.terminal(), "fds=[] SIGPIPE=Ignore SIGINT=Default\n");
}

#[test]
fn execve_of_a_missing_file_is_enoent_and_the_caller_goes_on() {
    let ran = run_logged(|sys, l| async move {
        let e = sys.execve("/bin/nope", vec!["nope".into()]).await;
        l.push(format!("{e:?}"));
        127
    });
    assert_eq!(ran.lines, vec!["ENOENT"]);
}

#[test]
fn wait_reports_the_exit_code_or_128_plus_the_signal() {
    let ran = run_logged(|sys, l| async move {
        let a = sys.fork(|_| async move { 3 }).await.unwrap();
        let b = sys
            .fork(|c| async move {
                c.sleep_us(10_000_000).await.unwrap();
                0
            })
            .await
            .unwrap();
        sys.kill(b as i32, Some(Signal::SIGTERM)).await.unwrap();
        for child in [a, b] {
            let (_, st) = sys.waitpid(child as i32, false).await.unwrap().unwrap();
            l.push(format!("{}", st.shell_status()));
        }
        0
    });
    assert_eq!(ran.lines, vec!["3", "143"]);
}

#[test]
fn a_dead_child_stays_a_zombie_until_its_parent_waits() {
    let mut w = world();
    let log = Log::default();
    let l = log.clone();
    spawn(&mut w, move |sys| async move {
        let child = sys.fork(|_| async move { 0 }).await.unwrap();
        sys.sleep_us(1000).await.unwrap();
        l.push(format!("{child}"));
        sys.sleep_us(1000).await.unwrap();
        sys.waitpid(child as i32, false).await.unwrap();
        sys.sleep_us(1000).await.unwrap();
        0
    });
    let mut states = Vec::new();
    while let Step::Ran(_) = w.step(TEST_UNTIL_US) {
        if let Some(child) = log.lines().first().and_then(|c| c.parse::<u32>().ok()) {
            let s = w.kernel().proc(child).state.clone();
            if states.last() != Some(&s) {
                states.push(s);
            }
        }
    }
    assert_eq!(states, vec![State::Zombie, State::Reaped]);
}

#[test]
fn orphans_are_adopted_by_init() {
    let ran = run_logged(|sys, l| async move {
        let l2 = l.clone();
        sys.fork(move |c| async move {
            c.sleep_us(1_000_000).await.unwrap();
            l2.push(format!("ppid {}", c.ppid()));
            0
        })
        .await
        .unwrap();
        0
    });
    assert_eq!(ran.lines, vec![format!("ppid {INIT_PID}")]);
}

#[test]
fn sigchld_is_ignored_by_default_so_a_childs_death_does_not_kill_the_parent() {
    let ran = run_logged(|sys, _| async move {
        sys.fork(|_| async move { 0 }).await.unwrap();
        sys.sleep_us(1000).await.unwrap();
        7
    });
    assert_eq!(ran.status(), Some(7));
}

#[test]
fn a_caught_signal_interrupts_a_blocked_read_with_eintr() {
    let ran = run_logged(|sys, l| async move {
        sys.sigaction(Signal::SIGUSR1, Disposition::Handler { restart: false })
            .await
            .unwrap();
        let me = sys.pid();
        let (r, _wr) = sys.pipe().await.unwrap();
        sys.fork(move |c| async move {
            c.sleep_us(1000).await.unwrap();
            c.kill(me as i32, Some(Signal::SIGUSR1)).await.unwrap();
            0
        })
        .await
        .unwrap();
        l.push(format!("{:?}", sys.read(r, 10).await));
        l.push(format!("{:?}", sys.take_caught_signals()));
        0
    });
    assert_eq!(ran.lines, vec!["Err(EINTR)", "[SIGUSR1]"]);
}

/// `rt_sigprocmask(2)`: a signal sent while blocked interrupts nothing and is
/// delivered (and traced) as the unblocking call returns, as socat's
/// `rt_sigprocmask(SIG_BLOCK, [CHLD], NULL, 8)` around fork relies on.
#[test]
fn a_blocked_signal_waits_and_arrives_when_unblocked() {
    let ran = run_logged(|sys, l| async move {
        sys.sigaction(Signal::SIGUSR1, Disposition::Handler { restart: false })
            .await
            .unwrap();
        sys.sigprocmask(SigHow::Block, &[Signal::SIGUSR1])
            .await
            .unwrap();
        let me = sys.pid();
        sys.fork(move |c| async move {
            c.kill(me as i32, Some(Signal::SIGUSR1)).await.unwrap();
            0
        })
        .await
        .unwrap();
        l.push(format!("{:?}", sys.sleep_us(10_000).await));
        l.push(format!("{:?}", sys.take_caught_signals()));
        sys.sigprocmask(SigHow::Unblock, &[Signal::SIGUSR1])
            .await
            .unwrap();
        l.push(format!("{:?}", sys.take_caught_signals()));
        0
    });
    assert_eq!(ran.lines, vec!["Ok(())", "[]", "[SIGUSR1]"]);
    let me = ran.pid;
    let child = me + 1;
    let mine: Vec<String> = ran
        .strace()
        .lines()
        .filter(|l| l.starts_with(&format!("{me} ")))
        .map(|l| l[6..].to_string())
        .filter(|l| !l.starts_with("rt_sigaction") && !l.starts_with("clone"))
        .collect();
    // The child's SIGCHLD, not blocked, arrives at once; its SIGUSR1 waits.
    assert_eq!(
        mine,
        vec![
            "rt_sigprocmask(SIG_BLOCK, [USR1], NULL, 8) = 0".to_string(),
            format!("--- SIGCHLD {{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid={child}}} ---"),
            "clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=10000000},  <unfinished ...>"
                .to_string(),
            "<... clock_nanosleep resumed>0x7ffd46f75be0) = 0".to_string(),
            "rt_sigprocmask(SIG_UNBLOCK, [USR1], NULL, 8) = 0".to_string(),
            format!("--- SIGUSR1 {{si_signo=SIGUSR1, si_code=SI_USER, si_pid={child}}} ---"),
            // The handler runs as the unblocking call returns.
            "rt_sigreturn({mask=[]}) = 0".to_string(),
            "exit_group(0) = ?".to_string(),
            "+++ exited with 0 +++".to_string(),
        ]
    );
}

/// `kill(2)` on a child that has died but is not reaped yet succeeds and does
/// nothing (measured); once reaped, it is ESRCH.
#[test]
fn kill_reaches_a_zombie_but_not_a_reaped_child() {
    let ran = run_logged(|sys, l| async move {
        let child = sys.fork(|_| async { 0 }).await.unwrap();
        sys.sleep_us(1000).await.unwrap();
        l.push(format!(
            "{:?}",
            sys.kill(child as i32, Some(Signal::SIGTERM)).await
        ));
        sys.waitpid(child as i32, false).await.unwrap();
        l.push(format!(
            "{:?}",
            sys.kill(child as i32, Some(Signal::SIGTERM)).await
        ));
        0
    });
    assert_eq!(ran.lines, ["Ok(())", "Err(ESRCH)"]);
}

/// `rt_sigprocmask(2)` as bash calls it: the old mask shown where the caller
/// asks for it (`[]`, `[CHLD]`), NULL where it does not; a NULL set only
/// reads the mask; SIG_SETMASK puts back a mask the caller kept.
#[test]
fn sigprocmask_shows_the_old_mask_when_asked_and_setmask_puts_one_back() {
    let ran = run_logged(|sys, l| async move {
        let chld = mask_of(&[Signal::SIGCHLD]);
        let int_term_chld = mask_of(&[Signal::SIGINT, Signal::SIGTERM, Signal::SIGCHLD]);
        let old = sys.sigprocmask_as(SigHow::Block, Some(chld), true).await;
        l.push(format!("{old:?}"));
        let q = sys.sigprocmask_as(SigHow::Block, None, true).await;
        l.push(format!("{q:?}"));
        let old2 = sys
            .sigprocmask_as(SigHow::Block, Some(int_term_chld), true)
            .await
            .unwrap();
        sys.sigprocmask_as(SigHow::SetMask, Some(old2), false)
            .await
            .unwrap();
        sys.sigprocmask_as(SigHow::SetMask, Some(0), false)
            .await
            .unwrap();
        0
    });
    // The old masks it returned: none blocked, then SIGCHLD (bit 17 - 1).
    assert_eq!(ran.lines, ["Ok(0)", "Ok(65536)"]);
    let me = ran.pid;
    let mine: Vec<String> = ran
        .strace()
        .lines()
        .filter(|l| l.starts_with(&format!("{me} ")))
        .map(|l| l[6..].to_string())
        .collect();
    // Measured (bash 5.2): `rt_sigprocmask(SIG_BLOCK, [CHLD], [], 8)`,
    // `rt_sigprocmask(SIG_BLOCK, NULL, [CHLD], 8)`, `rt_sigprocmask(SIG_BLOCK,
    // [INT TERM CHLD], [CHLD], 8)`, `rt_sigprocmask(SIG_SETMASK, [CHLD], NULL, 8)`.
    assert_eq!(
        mine[..5],
        [
            "rt_sigprocmask(SIG_BLOCK, [CHLD], [], 8) = 0",
            "rt_sigprocmask(SIG_BLOCK, NULL, [CHLD], 8) = 0",
            "rt_sigprocmask(SIG_BLOCK, [INT TERM CHLD], [CHLD], 8) = 0",
            "rt_sigprocmask(SIG_SETMASK, [CHLD], NULL, 8) = 0",
            "rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0",
        ]
    );
}

#[test]
fn sa_restart_restarts_the_blocked_read() {
    let ran = run_logged(|sys, l| async move {
        sys.sigaction(Signal::SIGUSR1, Disposition::Handler { restart: true })
            .await
            .unwrap();
        let me = sys.pid();
        let (r, wr) = sys.pipe().await.unwrap();
        sys.fork(move |c| async move {
            c.kill(me as i32, Some(Signal::SIGUSR1)).await.unwrap();
            c.sleep_us(1000).await.unwrap();
            c.write(wr, b"later").await.unwrap();
            0
        })
        .await
        .unwrap();
        l.push(format!("{:?}", sys.read(r, 10).await.map(|d| d.len())));
        0
    });
    assert_eq!(ran.lines, vec!["Ok(5)"]);
}

#[test]
fn sigkill_can_be_neither_caught_nor_ignored() {
    let mut w = world();
    let log = Log::default();
    let l = log.clone();
    let victim = spawn(&mut w, move |sys| async move {
        l.push(format!(
            "{:?}",
            sys.sigaction(Signal::SIGKILL, Disposition::Ignore).await
        ));
        sys.sleep_us(10_000_000).await.unwrap();
        0
    });
    spawn(&mut w, move |sys| async move {
        sys.sleep_us(1000).await.unwrap();
        sys.kill(victim as i32, Some(Signal::SIGKILL))
            .await
            .unwrap();
        0
    });
    run(&mut w);
    assert_eq!(
        log.lines(),
        vec![format!("{:?}", Err::<Disposition, _>(Errno::EINVAL))]
    );
    assert_eq!(status(&w, victim), Some(137));
}

#[test]
fn an_ignored_sigterm_does_nothing() {
    let mut w = world();
    let victim = spawn(&mut w, move |sys| async move {
        sys.sigaction(Signal::SIGTERM, Disposition::Ignore)
            .await
            .unwrap();
        sys.sleep_us(2000).await.unwrap();
        5
    });
    spawn(&mut w, move |sys| async move {
        sys.sleep_us(1000).await.unwrap();
        sys.kill(victim as i32, Some(Signal::SIGTERM))
            .await
            .unwrap();
        0
    });
    run(&mut w);
    assert_eq!(status(&w, victim), Some(5));
}

#[test]
fn kill_of_a_process_group_reaches_every_member() {
    let ran = run_logged(|sys, l| async move {
        let pg = sys.pid();
        let mut kids = Vec::new();
        for _ in 0..2 {
            kids.push(
                sys.fork(|c| async move {
                    c.sleep_us(10_000_000).await.unwrap();
                    0
                })
                .await
                .unwrap(),
            );
        }
        sys.sigaction(Signal::SIGTERM, Disposition::Ignore)
            .await
            .unwrap();
        sys.kill(-(pg as i32), Some(Signal::SIGTERM)).await.unwrap();
        for k in kids {
            let (_, st) = sys.waitpid(k as i32, false).await.unwrap().unwrap();
            l.push(format!("{}", st.shell_status()));
        }
        0
    });
    assert_eq!(ran.lines, vec!["143", "143"]);
}

#[test]
fn waitpid_with_no_children_is_echild() {
    let ran = run_logged(|sys, l| async move {
        l.push(format!("{:?}", sys.waitpid(-1, false).await));
        0
    });
    assert_eq!(ran.lines, vec!["Err(ECHILD)"]);
}

#[test]
fn dup2_onto_an_open_fd_closes_what_it_held() {
    let ran = run_logged(|sys, _| async move {
        let (r, wr) = sys.pipe().await.unwrap();
        sys.dup2(wr, r).await.unwrap();
        // The read end had no other fd, so the pipe lost its only reader: writing
        // through the new fd 3 raises SIGPIPE.
        let _ = sys.write(r, b"x").await;
        0
    });
    assert_eq!(ran.status(), Some(141));
}

#[test]
fn open_takes_the_lowest_free_fd() {
    let ran = run_logged(|sys, l| async move {
        let a = sys.open("/dev/null", OpenFlags::read_only()).await.unwrap();
        let b = sys.open("/dev/null", OpenFlags::read_only()).await.unwrap();
        sys.close(a).await.unwrap();
        let c = sys.open("/dev/null", OpenFlags::read_only()).await.unwrap();
        l.push(format!("{a} {b} {c}"));
        0
    });
    assert_eq!(ran.lines, vec!["3 4 3"]);
}

#[test]
fn a_full_fd_table_is_emfile() {
    let limits = Limits {
        max_fds: 5,
        ..Limits::default()
    };
    let ran = run_logged_in(world_with_limits(limits), |sys, l| async move {
        for _ in 0..3 {
            l.push(format!(
                "{:?}",
                sys.open("/dev/null", OpenFlags::read_only()).await
            ));
        }
        0
    });
    assert_eq!(ran.lines, vec!["Ok(3)", "Ok(4)", "Err(EMFILE)"]);
}

#[test]
fn a_runaway_run_stops_at_the_step_limit() {
    let mut w = world_with_limits(Limits {
        max_steps: 1000,
        ..Limits::default()
    });
    spawn(&mut w, move |sys| async move {
        loop {
            sys.write(1, b"y\n").await.unwrap();
        }
    });
    assert_eq!(run(&mut w), Step::StepLimit);
    assert_eq!(w.kernel().step, 1000);
}

#[test]
fn sleeping_advances_virtual_time_and_an_idle_world_jumps_to_the_next_timer() {
    let mut w = world();
    let log = Log::default();
    let l = log.clone();
    spawn(&mut w, move |sys| async move {
        sys.sleep_us(3_600_000_000).await.unwrap();
        l.push(format!("{}", sys.now_us() / 1_000_000));
        0
    });
    w.run_until(u64::MAX, |_| false);
    assert_eq!(log.lines(), vec!["3600"]);
    assert!(
        w.kernel().step < 10,
        "an hour of sleep is a handful of steps"
    );
}

#[test]
fn poll_with_a_timeout_returns_zero_when_nothing_is_ready() {
    let ran = run_logged(|sys, l| async move {
        let (r, _wr) = sys.pipe().await.unwrap();
        let t0 = sys.now_us();
        let mut p = [pipelab_sim::kernel::poll::PollFd::new(
            r,
            pipelab_sim::kernel::poll::POLLIN,
        )];
        l.push(format!(
            "{:?} after {}ms",
            sys.poll(&mut p, 250).await,
            (sys.now_us() - t0) / 1000
        ));
        0
    });
    assert_eq!(ran.lines, vec!["Ok(0) after 250ms"]);
}

#[test]
fn a_world_where_everyone_waits_forever_is_idle() {
    let mut w = world();
    spawn(&mut w, move |sys| async move {
        let (r, _wr) = sys.pipe().await.unwrap();
        sys.read(r, 1).await.unwrap();
        0
    });
    assert_eq!(run(&mut w), Step::Idle);
    assert!(matches!(w.kernel().proc(2).state, State::Blocked { .. }));
}

#[test]
fn fork_past_the_process_limit_is_eagain() {
    let limits = Limits {
        max_processes: 4,
        ..Limits::default()
    };
    let ran = run_logged_in(world_with_limits(limits), |sys, l| async move {
        // init and this process make two; two children fit, the third does not.
        for _ in 0..3 {
            let r = sys
                .fork(|c| async move {
                    c.sleep_us(1_000_000).await.unwrap();
                    0
                })
                .await;
            l.push(format!("{:?}", r.map(|_| ())));
        }
        0
    });
    assert_eq!(ran.lines, vec!["Ok(())", "Ok(())", "Err(EAGAIN)"]);
}

#[test]
fn exit_group_is_traced_before_the_process_is_gone() {
    let ran = run_logged(|_, _| async move { 3 });
    assert_in_order(
        &ran.strace(),
        &["exit_group(3) = ?", "+++ exited with 3 +++"],
    );
}

#[test]
fn a_child_that_returns_and_an_execed_program_both_end_with_exit_group() {
    // As strace shows for bash: `(exit 3)` (a subshell that returns) and `false`
    // (a program that returns from main) each call exit_group before they are gone.
    let ran = run_logged_in(world_programs(NcFlavor::Openbsd), |sys, _| async move {
        let sub = sys.fork(|_| async move { 3 }).await.unwrap();
        sys.waitpid(sub as i32, false).await.unwrap();
        let prog = sys
            .fork(|c| async move { c.execve("/usr/bin/false", vec!["false".into()]).await as i32 })
            .await
            .unwrap();
        sys.waitpid(prog as i32, false).await.unwrap();
        0
    });
    let strace = ran.strace();
    for (pid, code) in [(ran.pid + 1, 3), (ran.pid + 2, 1)] {
        let lines: Vec<&str> = strace
            .lines()
            .filter(|l| l.split_whitespace().next() == Some(&pid.to_string()))
            .collect();
        let n = lines.len();
        assert!(n >= 2, "{strace}");
        assert!(
            lines[n - 2].ends_with(&format!("exit_group({code}) = ?")),
            "{strace}"
        );
        assert!(
            lines[n - 1].ends_with(&format!("+++ exited with {code} +++")),
            "{strace}"
        );
    }
}
