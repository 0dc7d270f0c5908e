//! Stopped jobs, as bash 5.2 on a pty and Linux do them (measured with
//! `strace -f` on this machine): Ctrl-Z, SIGTSTP, SIGSTOP, SIGCONT, SIGTTIN,
//! `fg`, `bg`, `jobs`, and leaving a shell with stopped jobs. The kernel's
//! side is tested in `kernel/process.rs`.

use pipelab_sim::kernel::process::ExitStatus;
use pipelab_sim::kernel::{Pid, Signal};
use pipelab_sim::run::RunConfig;
use pipelab_sim::session::{InputKind, Session, TerminalMode};

/// An interactive terminal that types `first`, then each `(ms, keys)`:
/// `^Z`, `^C`, `^D`, or a line.
fn typed(first: &str, later: &[(u64, &str)]) -> Session {
    let config = RunConfig {
        terminals: vec![first.into()],
        ..RunConfig::default()
    };
    let mut s = Session::new(config, TerminalMode::Interactive);
    for (ms, keys) in later {
        let kind = match *keys {
            "^Z" => InputKind::Suspend,
            "^C" => InputKind::Interrupt,
            "^D" => InputKind::Eof,
            line => InputKind::Text {
                text: format!("{line}\n"),
            },
        };
        s.input_at(ms * 1000, 0, kind).unwrap();
    }
    s.run(100_000);
    s
}

fn output(s: &Session) -> String {
    s.snapshot().terminals[0].output.clone()
}

/// The lines `pid` printed in the trace, without the pid.
fn lines_of(s: &Session, pid: Pid) -> Vec<String> {
    let trace = pipelab_sim::trace::strace(&s.world().kernel().trace);
    trace
        .lines()
        .filter(|l| l.starts_with(&format!("{pid} ")))
        .map(|l| l[6..].to_string())
        .collect()
}

// ------------------------------------------------------------ bash

#[test]
fn ctrl_z_stops_the_foreground_job_and_fg_brings_it_back() {
    let s = typed(
        "sleep 30",
        &[(500, "^Z"), (800, "echo $?"), (1100, "fg"), (1500, "^C")],
    );
    assert_eq!(
        output(&s),
        "$ sleep 30\n^Z\n[1]+  Stopped                 sleep 30\n$ echo $?\n148\n\
         $ fg\nsleep 30\n^C\n$ "
    );
    // As strace showed it: the sleep interrupted, stopped, continued by fg's
    // SIGCONT, and its sleep resumed.
    let sleep = lines_of(&s, 3);
    let from = sleep
        .iter()
        .position(|l| l.contains("ERESTART_RESTARTBLOCK"))
        .unwrap();
    assert_eq!(
        sleep[from + 1..from + 5],
        [
            "--- SIGTSTP {si_signo=SIGTSTP, si_code=SI_KERNEL} ---",
            "--- stopped by SIGTSTP ---",
            "--- SIGCONT {si_signo=SIGCONT, si_code=SI_USER, si_pid=2} ---",
            "restart_syscall(<... resuming interrupted clock_nanosleep ...> <unfinished ...>",
        ]
    );
    let shell = lines_of(&s, 2);
    for line in [
        "<... wait4 resumed>[{WIFSTOPPED(s) && WSTOPSIG(s) == SIGTSTP}], WSTOPPED|WCONTINUED, NULL) = 3",
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_STOPPED, si_pid=3, si_status=SIGTSTP} ---",
        "write(1, \"sleep 30\\n\", 9) = 9",
        "ioctl(255, TIOCSPGRP, [3]) = 0",
        "kill(-3, SIGCONT) = 0",
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_CONTINUED, si_pid=3, si_status=SIGCONT} ---",
    ] {
        assert!(
            shell.contains(&line.to_string()),
            "no {line} in\n{}",
            shell.join("\n")
        );
    }
}

#[test]
fn a_stopped_pipeline_is_one_job() {
    let s = typed(
        "sleep 30 | cat",
        &[(500, "^Z"), (800, "jobs"), (1100, "fg %1"), (1500, "^C")],
    );
    assert_eq!(
        output(&s),
        "$ sleep 30 | cat\n^Z\n[1]+  Stopped                 sleep 30 | cat\n\
         $ jobs\n[1]+  Stopped                 sleep 30 | cat\n\
         $ fg %1\nsleep 30 | cat\n^C\n$ "
    );
}

#[test]
fn bg_continues_a_stopped_job_in_the_background() {
    let s = typed(
        "sleep 30",
        &[
            (500, "^Z"),
            (800, "bg"),
            (1100, "jobs"),
            (1400, "bg %1"),
            (1700, "kill %1; sleep 0.2"),
            (2200, "fg"),
        ],
    );
    assert_eq!(
        output(&s),
        "$ sleep 30\n^Z\n[1]+  Stopped                 sleep 30\n$ bg\n[1]+ sleep 30 &\n\
         $ jobs\n[1]+  Running                 sleep 30 &\n\
         $ bg %1\nbash: bg: job 1 already in background\n\
         $ kill %1; sleep 0.2\n[1]+  Terminated              sleep 30\n\
         $ fg\nbash: fg: current: no such job\n$ "
    );
}

/// Measured: `kill %1` of a stopped job is `kill(-PGID, SIGTERM)` then
/// `kill(-PGID, SIGCONT)`; SIGKILL needs no SIGCONT; the death is told
/// before the next prompt (measured for `kill -9 %1`).
#[test]
fn kill_of_a_stopped_job_continues_it_so_that_it_dies() {
    let s = typed("sleep 30", &[(500, "^Z"), (800, "kill %1")]);
    assert!(
        output(&s).ends_with("$ kill %1\n[1]+  Terminated              sleep 30\n$ "),
        "{:?}",
        output(&s)
    );
    let shell = lines_of(&s, 2);
    let i = shell
        .iter()
        .position(|l| l == "kill(-3, SIGTERM) = 0")
        .unwrap();
    assert_eq!(shell[i + 1], "kill(-3, SIGCONT) = 0");
    let s = typed("sleep 30", &[(500, "^Z"), (800, "kill -9 %1")]);
    assert!(
        output(&s).ends_with("$ kill -9 %1\n[1]+  Killed                  sleep 30\n$ "),
        "{:?}",
        output(&s)
    );
    assert!(!lines_of(&s, 2).iter().any(|l| l.contains("SIGCONT")));
}

#[test]
fn a_background_read_of_the_terminal_stops_the_job_with_sigttin() {
    let s = typed("cat &", &[(500, ""), (800, "jobs")]);
    assert_eq!(
        output(&s),
        "$ cat &\n[1] 3\n$ \n\n[1]+  Stopped                 cat\n\
         $ jobs\n[1]+  Stopped                 cat\n$ "
    );
    let cat = lines_of(&s, 3);
    let i = cat.iter().position(|l| l.starts_with("read(0, ")).unwrap();
    assert_eq!(
        cat[i..i + 3],
        [
            "read(0, 0x7ffd46f75be0, 131072) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)",
            "--- SIGTTIN {si_signo=SIGTTIN, si_code=SI_KERNEL} ---",
            "--- stopped by SIGTTIN ---",
        ]
    );
}

#[test]
fn exit_with_stopped_jobs_warns_once_then_terminates_them() {
    let s = typed("sleep 30", &[(500, "^Z"), (800, "exit"), (1100, "exit")]);
    assert_eq!(
        output(&s),
        "$ sleep 30\n^Z\n[1]+  Stopped                 sleep 30\n\
         $ exit\nexit\nThere are stopped jobs.\n$ exit\nexit\n"
    );
    assert_eq!(
        s.world().kernel().proc(3).exit,
        Some(ExitStatus::Signaled(Signal::SIGTERM))
    );
    // Ctrl-D too; after `jobs`, the first one leaves.
    let s = typed("sleep 30", &[(500, "^Z"), (800, "^D"), (1100, "^D")]);
    assert!(
        output(&s).ends_with("$ exit\nThere are stopped jobs.\n$ exit\n"),
        "{:?}",
        output(&s)
    );
    let s = typed("sleep 30", &[(500, "^Z"), (800, "jobs"), (1100, "exit")]);
    assert!(output(&s).ends_with("$ exit\nexit\n"), "{:?}", output(&s));
}

#[test]
fn kill_stop_and_kill_cont_change_what_jobs_shows() {
    let s = typed(
        "sleep 30 &",
        &[
            (500, "kill -STOP %1"),
            (800, ""),
            (1100, "kill -CONT %1"),
            (1400, "jobs"),
        ],
    );
    assert_eq!(
        output(&s),
        "$ sleep 30 &\n[1] 3\n$ kill -STOP %1\n$ \n\n[1]+  Stopped                 sleep 30\n\
         $ kill -CONT %1\n$ jobs\n[1]+  Running                 sleep 30 &\n$ "
    );
}
