//! A blocked call a signal interrupts, as `strace -f` shows it on this machine
//! (kernel 6.18, strace 6.1; measured with python3 programs blocked in each call
//! and another process sending the signal): the call ends with `= ?` and its
//! restart code, the signal is shown after it, then the handler runs and
//! `rt_sigreturn` returns EINTR, or with SA_RESTART the syscall number, and the
//! call is made again.

mod harness;

use std::rc::Rc;

use harness::*;
use pipelab_sim::kernel::{Disposition, Errno, Fd, Pid, Signal};
use pipelab_sim::sys::Sys;
use pipelab_sim::trace::EventKind;

/// The lines `pid` printed, without the pid, from its first line that starts
/// with `from` on.
fn lines_of(ran: &Ran, pid: Pid, from: &str) -> Vec<String> {
    let mine: Vec<String> = ran
        .strace()
        .lines()
        .filter(|l| l.starts_with(&format!("{pid} ")))
        .map(|l| l[6..].to_string())
        .collect();
    let start = mine
        .iter()
        .position(|l| l.starts_with(from))
        .unwrap_or_else(|| panic!("no `{from}` in\n{}", mine.join("\n")));
    mine[start..].to_vec()
}

/// Forks a child that sends `sig` to the caller after 1 ms, and exits 100 ms
/// later (so that its SIGCHLD does not come in between, as in the measurements).
async fn signal_me_soon(sys: &Sys, sig: Signal) -> Pid {
    let me = sys.pid();
    sys.fork(move |c| async move {
        c.sleep_us(1000).await.unwrap();
        c.kill(me as i32, Some(sig)).await.unwrap();
        c.sleep_us(100_000).await.unwrap();
        0
    })
    .await
    .unwrap()
}

/// A listener on 127.0.0.1:7000, and a forked client that connects to it 5 ms
/// later and exits `stay_us` after that.
async fn listener_with_a_client_soon(sys: &Sys, stay_us: u64) -> Fd {
    let s = sys.socket().await.unwrap();
    sys.bind(s, "127.0.0.1:7000".parse().unwrap())
        .await
        .unwrap();
    sys.listen(s, 1).await.unwrap();
    sys.fork(move |c| async move {
        c.sleep_us(5000).await.unwrap();
        connect_to(&c, "127.0.0.1:7000").await;
        c.sleep_us(stay_us).await.unwrap();
        0
    })
    .await
    .unwrap();
    s
}

fn usr1(child: Pid) -> String {
    format!("--- SIGUSR1 {{si_signo=SIGUSR1, si_code=SI_USER, si_pid={child}}} ---")
}

#[test]
fn a_handler_without_sa_restart_ends_a_blocked_read_with_erestartsys_then_rt_sigreturn_eintr() {
    let ran = run_logged(|sys, l| async move {
        sys.sigaction(Signal::SIGUSR1, Disposition::Handler { restart: false })
            .await
            .unwrap();
        let (r, _w) = sys.pipe().await.unwrap();
        let child = signal_me_soon(&sys, Signal::SIGUSR1).await;
        l.push(child.to_string());
        l.push(format!("{:?}", sys.read(r, 10).await));
        0
    });
    let child: Pid = ran.lines[0].parse().unwrap();
    assert_eq!(ran.lines[1], "Err(EINTR)");
    assert_eq!(
        lines_of(&ran, ran.pid, "read(")[..4],
        [
            "read(3,  <unfinished ...>".to_string(),
            "<... read resumed>0x7ffd46f75be0, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)".to_string(),
            usr1(child),
            "rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)".to_string(),
        ]
    );
}

#[test]
fn sa_restart_makes_rt_sigreturn_return_the_syscall_number_and_the_call_is_made_again() {
    let ran = run_logged(|sys, l| async move {
        sys.sigaction(Signal::SIGUSR1, Disposition::Handler { restart: true })
            .await
            .unwrap();
        let s = listener_with_a_client_soon(&sys, 0).await;
        let child = signal_me_soon(&sys, Signal::SIGUSR1).await;
        l.push(child.to_string());
        l.push(format!("{:?}", sys.accept(s).await.map(|(fd, _)| fd)));
        0
    });
    let child: Pid = ran.lines[0].parse().unwrap();
    assert_eq!(ran.lines[1], "Ok(4)");
    let got = lines_of(&ran, ran.pid, "accept4(");
    assert_eq!(
        got[..5],
        [
            "accept4(3,  <unfinished ...>".to_string(),
            "<... accept4 resumed>0x7ffd46f75be0, [16], 0) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)".to_string(),
            usr1(child),
            // Measured: accept4 is syscall 288.
            "rt_sigreturn({mask=[]}) = 288".to_string(),
            "accept4(3,  <unfinished ...>".to_string(),
        ]
    );
}

#[test]
fn select_ends_with_erestartnohand_and_returns_eintr_even_with_sa_restart() {
    let ran = run_logged(|sys, l| async move {
        sys.sigaction(Signal::SIGUSR1, Disposition::Handler { restart: true })
            .await
            .unwrap();
        let (r, _w) = sys.pipe().await.unwrap();
        let child = signal_me_soon(&sys, Signal::SIGUSR1).await;
        l.push(child.to_string());
        l.push(format!("{:?}", sys.select(&[r], &[], -1).await));
        0
    });
    let child: Pid = ran.lines[0].parse().unwrap();
    assert_eq!(ran.lines[1], "Err(EINTR)");
    assert_eq!(
        lines_of(&ran, ran.pid, "pselect6(")[..4],
        [
            "pselect6(4, [3], NULL, NULL, NULL, NULL <unfinished ...>".to_string(),
            "<... pselect6 resumed>) = ? ERESTARTNOHAND (To be restarted if no handler)"
                .to_string(),
            usr1(child),
            "rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)".to_string(),
        ]
    );
}

#[test]
fn poll_ends_with_erestart_restartblock_and_returns_eintr_even_with_sa_restart() {
    let ran = run_logged(|sys, l| async move {
        sys.sigaction(Signal::SIGUSR1, Disposition::Handler { restart: true })
            .await
            .unwrap();
        let (r, _w) = sys.pipe().await.unwrap();
        let child = signal_me_soon(&sys, Signal::SIGUSR1).await;
        l.push(child.to_string());
        let mut fds = [pipelab_sim::kernel::poll::PollFd::new(
            r,
            pipelab_sim::kernel::poll::POLLIN,
        )];
        l.push(format!("{:?}", sys.poll(&mut fds, -1).await));
        0
    });
    let child: Pid = ran.lines[0].parse().unwrap();
    assert_eq!(ran.lines[1], "Err(EINTR)");
    assert_eq!(
        lines_of(&ran, ran.pid, "poll(")[..4],
        [
            "poll([{fd=3, events=POLLIN}], 1, -1 <unfinished ...>".to_string(),
            "<... poll resumed>) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)".to_string(),
            usr1(child),
            "rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)".to_string(),
        ]
    );
}

#[test]
fn nanosleep_shows_the_time_left_and_returns_eintr_even_with_sa_restart() {
    let ran = run_logged(|sys, l| async move {
        sys.sigaction(Signal::SIGUSR1, Disposition::Handler { restart: true })
            .await
            .unwrap();
        let child = signal_me_soon(&sys, Signal::SIGUSR1).await;
        l.push(child.to_string());
        l.push(format!("{:?}", sys.sleep_us(1_000_000).await));
        0
    });
    let child: Pid = ran.lines[0].parse().unwrap();
    assert_eq!(ran.lines[1], "Err(EINTR)");
    let got = lines_of(
        &ran,
        ran.pid,
        "clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=1",
    );
    assert_eq!(
        got[0],
        "clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=1, tv_nsec=0},  <unfinished ...>"
    );
    assert!(
        got[1].starts_with("<... clock_nanosleep resumed>{tv_sec=0, tv_nsec=99")
            && got[1].ends_with("}) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)"),
        "{}",
        got[1]
    );
    assert_eq!(
        got[2..4],
        [
            usr1(child),
            "rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)".to_string()
        ]
    );
}

#[test]
fn a_fatal_signal_ends_the_blocked_call_with_its_restart_code_before_the_death() {
    let ran = run_logged(|sys, l| async move {
        let (r, _w) = sys.pipe().await.unwrap();
        let victim = sys
            .fork(move |c| async move {
                let _ = c.read(r, 10).await;
                0
            })
            .await
            .unwrap();
        l.push(victim.to_string());
        sys.sleep_us(1000).await.unwrap();
        sys.kill(victim as i32, Some(Signal::SIGTERM))
            .await
            .unwrap();
        sys.waitpid(-1, false).await.unwrap();
        0
    });
    let victim: Pid = ran.lines[0].parse().unwrap();
    let me = ran.pid;
    assert_eq!(
        lines_of(&ran, victim, "read("),
        [
            "read(3,  <unfinished ...>".to_string(),
            "<... read resumed>0x7ffd46f75be0, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)".to_string(),
            format!("--- SIGTERM {{si_signo=SIGTERM, si_code=SI_USER, si_pid={me}}} ---"),
            "+++ killed by SIGTERM +++".to_string(),
        ]
    );
}

#[test]
fn sigkill_ends_a_blocked_call_that_never_returns_and_is_not_shown_as_a_signal() {
    let ran = run_logged(|sys, l| async move {
        let (r, _w) = sys.pipe().await.unwrap();
        let victim = sys
            .fork(move |c| async move {
                let _ = c.read(r, 10).await;
                0
            })
            .await
            .unwrap();
        l.push(victim.to_string());
        sys.sleep_us(1000).await.unwrap();
        sys.kill(victim as i32, Some(Signal::SIGKILL))
            .await
            .unwrap();
        sys.waitpid(-1, false).await.unwrap();
        0
    });
    let victim: Pid = ran.lines[0].parse().unwrap();
    // Measured: `<... read resumed> <unfinished ...>) = ?`, then the death.
    assert_eq!(
        lines_of(&ran, victim, "read("),
        [
            "read(3,  <unfinished ...>".to_string(),
            "<... read resumed> <unfinished ...>) = ?".to_string(),
            "+++ killed by SIGKILL +++".to_string(),
        ]
    );
}

#[test]
fn a_handlers_body_runs_between_the_signal_and_rt_sigreturn() {
    let ran = run_logged(|sys, l| async move {
        sys.sigaction_handler(
            Signal::SIGUSR1,
            false,
            Rc::new(|s: Sys| {
                Box::pin(async move {
                    let _ = s.write(1, b"handled\n").await;
                })
            }),
        )
        .await
        .unwrap();
        let (r, _w) = sys.pipe().await.unwrap();
        let child = signal_me_soon(&sys, Signal::SIGUSR1).await;
        l.push(child.to_string());
        l.push(format!("{:?}", sys.read(r, 10).await));
        // The body was the handler: nothing is left for the program.
        l.push(format!("{:?}", sys.take_caught_signals()));
        0
    });
    let child: Pid = ran.lines[0].parse().unwrap();
    assert_eq!(ran.lines[1..], ["Err(EINTR)", "[]"]);
    assert_eq!(
        lines_of(&ran, ran.pid, "<... read resumed>")[1..4],
        [
            usr1(child),
            "write(1, \"handled\\n\", 8) = 8".to_string(),
            "rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)".to_string(),
        ]
    );
}

#[test]
fn a_wait4_woken_by_the_child_whose_death_raised_sigchld_returns_it_before_the_signal() {
    let ran = run_logged(|sys, l| async move {
        sys.sigaction(Signal::SIGCHLD, Disposition::Handler { restart: true })
            .await
            .unwrap();
        let child = sys
            .fork(move |c| async move {
                c.sleep_us(1000).await.unwrap();
                0
            })
            .await
            .unwrap();
        l.push(child.to_string());
        l.push(format!(
            "{:?}",
            sys.waitpid(-1, false).await.map(|r| r.map(|(p, _)| p))
        ));
        0
    });
    let child: Pid = ran.lines[0].parse().unwrap();
    assert_eq!(ran.lines[1], format!("Ok(Some({child}))"));
    // Measured (SIG_DFL): `<... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) ==
    // 0}], 0, NULL) = PID`, then `--- SIGCHLD ---`; a handler's rt_sigreturn then
    // returns what wait4 did.
    assert_eq!(
        lines_of(&ran, ran.pid, "<... wait4 resumed>")[..3],
        [
            format!(
                "<... wait4 resumed>[{{WIFEXITED(s) && WEXITSTATUS(s) == 0}}], 0, NULL) = {child}"
            ),
            format!("--- SIGCHLD {{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid={child}}} ---"),
            format!("rt_sigreturn({{mask=[]}}) = {child}"),
        ]
    );
}

#[test]
fn an_ignored_signal_still_interrupts_a_traced_read_which_then_goes_on() {
    let ran = run_logged(|sys, l| async move {
        sys.sigaction(Signal::SIGUSR1, Disposition::Ignore)
            .await
            .unwrap();
        let (r, w) = sys.pipe().await.unwrap();
        let child = signal_me_soon(&sys, Signal::SIGUSR1).await;
        l.push(child.to_string());
        sys.fork(move |c| async move {
            c.sleep_us(5000).await.unwrap();
            c.write(w, b"x").await.unwrap();
            0
        })
        .await
        .unwrap();
        l.push(format!("{:?}", sys.read(r, 10).await));
        0
    });
    let child: Pid = ran.lines[0].parse().unwrap();
    assert_eq!(ran.lines[1], "Ok([120])");
    // Measured (SIGUSR1 ignored, and SIGCHLD at SIG_DFL alike): no handler,
    // no rt_sigreturn; the same read again.
    assert_eq!(
        lines_of(&ran, ran.pid, "read(")[..4],
        [
            "read(3,  <unfinished ...>".to_string(),
            "<... read resumed>0x7ffd46f75be0, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)".to_string(),
            usr1(child),
            "read(3,  <unfinished ...>".to_string(),
        ]
    );
}

#[test]
fn an_ignored_signal_resumes_an_interrupted_sleep_as_restart_syscall() {
    let ran = run_logged(|sys, l| async move {
        sys.sigaction(Signal::SIGUSR1, Disposition::Ignore)
            .await
            .unwrap();
        let child = signal_me_soon(&sys, Signal::SIGUSR1).await;
        l.push(child.to_string());
        l.push(format!("{:?}", sys.sleep_us(50_000).await));
        0
    });
    let child: Pid = ran.lines[0].parse().unwrap();
    assert_eq!(ran.lines[1], "Ok(())");
    let got = lines_of(
        &ran,
        ran.pid,
        "clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=50000000}",
    );
    assert!(
        got[1].ends_with(") = ? ERESTART_RESTARTBLOCK (Interrupted by signal)"),
        "{}",
        got[1]
    );
    assert_eq!(
        got[2..4],
        [
            usr1(child),
            "restart_syscall(<... resuming interrupted clock_nanosleep ...> <unfinished ...>"
                .to_string(),
        ]
    );
    assert!(
        got.contains(&"<... restart_syscall resumed>) = 0".to_string()),
        "{got:?}"
    );
}

#[test]
fn a_wait4_woken_by_its_childs_death_returns_before_the_default_ignored_sigchld_is_shown() {
    let ran = run_logged(|sys, l| async move {
        let child = sys
            .fork(move |c| async move {
                c.sleep_us(1000).await.unwrap();
                0
            })
            .await
            .unwrap();
        l.push(child.to_string());
        sys.waitpid(-1, false).await.unwrap();
        0
    });
    let child: Pid = ran.lines[0].parse().unwrap();
    // Measured: `<... wait4 resumed>... = PID`, then `--- SIGCHLD ---`.
    assert_eq!(
        lines_of(&ran, ran.pid, "<... wait4 resumed>")[..2],
        [
            format!(
                "<... wait4 resumed>[{{WIFEXITED(s) && WEXITSTATUS(s) == 0}}], 0, NULL) = {child}"
            ),
            format!("--- SIGCHLD {{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid={child}}} ---"),
        ]
    );
}

/// The `rt_sigreturn` events of `pid`: (ret, errno, text).
fn sigreturns(ran: &Ran, pid: Pid) -> Vec<(i64, Option<Errno>, String)> {
    ran.world
        .kernel()
        .trace
        .iter()
        .filter(|e| e.pid == Some(pid))
        .filter_map(|e| match &e.kind {
            EventKind::Syscall {
                name: "rt_sigreturn",
                ret,
                errno,
                text,
                ..
            } => Some((*ret, *errno, text.to_string())),
            _ => None,
        })
        .collect()
}

#[test]
fn rt_sigreturns_event_carries_the_value_and_error_its_text_shows() {
    // Without SA_RESTART: -1 EINTR.
    let ran = run_logged(|sys, _| async move {
        sys.sigaction(Signal::SIGUSR1, Disposition::Handler { restart: false })
            .await
            .unwrap();
        let (r, _w) = sys.pipe().await.unwrap();
        signal_me_soon(&sys, Signal::SIGUSR1).await;
        let _ = sys.read(r, 10).await;
        0
    });
    assert_eq!(
        sigreturns(&ran, ran.pid),
        [(
            -1,
            Some(Errno::EINTR),
            "rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)".to_string()
        )]
    );
    // With SA_RESTART: the number of the call made again (accept4 is 288).
    let ran = run_logged(|sys, _| async move {
        sys.sigaction(Signal::SIGUSR1, Disposition::Handler { restart: true })
            .await
            .unwrap();
        let s = listener_with_a_client_soon(&sys, 0).await;
        signal_me_soon(&sys, Signal::SIGUSR1).await;
        let _ = sys.accept(s).await;
        0
    });
    assert_eq!(
        sigreturns(&ran, ran.pid),
        [(288, None, "rt_sigreturn({mask=[]}) = 288".to_string())]
    );
}

// ---- signals that come between calls ----

#[test]
fn a_sigchld_that_comes_between_calls_runs_the_reaper_before_the_next_blocking_accept() {
    // socat's parent, reduced: a SIGCHLD handler that reaps, a listener, a
    // child that exits at once while the parent is busy between calls (1 ms
    // of user time), then the parent's accept, which a client answers 5 ms
    // later. Linux runs the handler on the way back to user space, before
    // the accept; the accept then blocks and returns the client.
    let ran = run_logged(|sys, l| async move {
        sys.sigaction_handler(
            Signal::SIGCHLD,
            true,
            Rc::new(|s: Sys| {
                Box::pin(async move { while let Ok(Some(_)) = s.waitpid(-1, true).await {} })
            }),
        )
        .await
        .unwrap();
        let s = listener_with_a_client_soon(&sys, 1000).await;
        let child = sys.fork(|_| async { 0 }).await.unwrap();
        l.push(child.to_string());
        sys.compute(1000);
        l.push(format!("{:?}", sys.accept(s).await.map(|(fd, _)| fd)));
        0
    });
    let child: Pid = ran.lines[0].parse().unwrap();
    assert_eq!(ran.lines[1], "Ok(4)");
    let got = lines_of(
        &ran,
        ran.pid,
        &format!(
            "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD) = {child}"
        ),
    );
    assert_eq!(
        got[1..6],
        [
            format!("--- SIGCHLD {{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid={child}}} ---"),
            format!(
                "wait4(-1, [{{WIFEXITED(s) && WEXITSTATUS(s) == 0}}], WNOHANG, NULL) = {child}"
            ),
            // The client is still running.
            "wait4(-1, 0x7ffd46f75be0, WNOHANG, NULL) = 0".to_string(),
            // The value the handler interrupted: the last call's, the clone's.
            format!("rt_sigreturn({{mask=[]}}) = {child}"),
            "accept4(3,  <unfinished ...>".to_string(),
        ]
    );
    assert!(
        got[6].starts_with("<... accept4 resumed>") && got[6].ends_with(") = 4"),
        "{}",
        got[6]
    );
}
