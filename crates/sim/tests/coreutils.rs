//! The small tools, run through fork + execve as bash would run them.

mod harness;

use harness::*;
use pipelab_sim::kernel::{Disposition, Signal};
use pipelab_sim::run::NcFlavor;

fn run_one(cmds: Vec<Cmd>) -> (Vec<String>, String, pipelab_sim::world::World) {
    let (w, log) = run_pipeline(NcFlavor::Openbsd, "p", cmds, TEST_UNTIL_US);
    (log.lines(), terminal(&w), w)
}

#[test]
fn yes_piped_into_head_n1_dies_of_sigpipe() {
    let (log, out, w) = run_one(vec![cmd("yes"), cmd("head -n1")]);
    assert_eq!(log, vec!["p PIPESTATUS=141 0"]);
    assert_eq!(out, "y\n");
    assert_contains_all(
        &strace(&w),
        &["+++ killed by SIGPIPE +++", "read(0, \"y\\ny\\n"],
    );
}

/// The parent hears of a child killed by a signal as strace shows it on this
/// machine (`ulimit -c` 0, so no CLD_DUMPED): `si_code=CLD_KILLED` with the
/// signal as `si_status`, and wait4's status says WIFSIGNALED.
#[test]
fn a_child_killed_by_sigpipe_is_cld_killed_in_its_parent_s_sigchld() {
    let (_, _, w) = run_one(vec![cmd("yes"), cmd("head -n1")]);
    let trace = strace(&w);
    let yes = trace
        .lines()
        .find(|l| l.ends_with("+++ killed by SIGPIPE +++"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap();
    assert_contains_all(
        &trace,
        &[
            &format!(
                "--- SIGCHLD {{si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid={yes}, si_status=SIGPIPE}} ---"
            ),
            &format!("[{{WIFSIGNALED(s) && WTERMSIG(s) == SIGPIPE}}], 0, NULL) = {yes}"),
        ],
    );
    // The one that exited is still CLD_EXITED.
    assert!(trace.contains("si_code=CLD_EXITED"), "{trace}");
}

#[test]
fn yes_with_sigpipe_ignored_reports_broken_pipe_and_exits_1() {
    let ran = run_logged_in(world_programs(NcFlavor::Openbsd), |sys, l| async move {
        // `trap '' PIPE`: ignored dispositions survive fork and exec.
        sys.sigaction(Signal::SIGPIPE, Disposition::Ignore)
            .await
            .unwrap();
        let st = pipeline(&sys, vec![cmd("yes"), cmd("head -n1")]).await;
        l.push(format!("{st:?}"));
        0
    });
    assert_eq!(ran.lines, vec!["[1, 0]"]);
    assert_eq!(ran.terminal(), "y\nyes: standard output: Broken pipe\n");
}

#[test]
fn yes_writes_8192_byte_blocks() {
    let (_, _, w) = run_one(vec![cmd("yes"), cmd("head -c 3")]);
    let trace = strace(&w);
    assert!(trace.contains(", 8192) = 8192"), "{trace}");
}

#[test]
fn cat_reads_131072_byte_chunks_and_copies_files() {
    let mut w = world_programs(NcFlavor::Openbsd);
    w.kernel_mut().write_file("/tmp/a", b"one\ntwo\n");
    let log = Log::default();
    spawn_cmd(&mut w, &log, "p", cmd("cat /tmp/a /tmp/missing"));
    run(&mut w);
    assert_eq!(log.lines(), vec!["p PIPESTATUS=1"]);
    assert_eq!(
        terminal(&w),
        "one\ntwo\ncat: /tmp/missing: No such file or directory\n"
    );
    assert!(strace(&w).contains("131072) = 8"));
}

#[test]
fn head_c_reads_no_more_than_it_needs() {
    let (log, out, w) = run_one(vec![cmd("seq 1 3"), cmd("head -c 2")]);
    assert_eq!(log, vec!["p PIPESTATUS=0 0"]);
    assert_eq!(out, "1\n");
    assert!(strace(&w).contains("read(0, \"1\\n\", 2) = 2"));
}

#[test]
fn wc_counts_in_gnu_columns() {
    let mut w = world_programs(NcFlavor::Openbsd);
    w.kernel_mut().write_file("/tmp/two", b"a\nb\n");
    spawn(&mut w, move |sys| async move {
        pipeline(&sys, vec![cmd("wc /tmp/two")]).await;
        pipeline(&sys, vec![cmd("wc -l /tmp/two /tmp/two")]).await;
        pipeline(&sys, vec![cmd("seq 3"), cmd("wc -l")]).await;
        pipeline(&sys, vec![cmd("printf ab"), cmd("wc -l -c")]).await;
        0
    });
    run(&mut w);
    assert_eq!(
        terminal(&w),
        "2 2 4 /tmp/two\n2 /tmp/two\n2 /tmp/two\n4 total\n3\n      0       2\n"
    );
}

#[test]
fn seq_sleep_echo_printf_print_like_gnu() {
    let (log, out, w) = run_one(vec![cmd("seq 1 2 7")]);
    assert_eq!(log, vec!["p PIPESTATUS=0"]);
    assert_eq!(out, "1\n3\n5\n7\n");
    drop(w);
    let ran = run_logged_in(world_programs(NcFlavor::Openbsd), |sys, l| async move {
        pipeline(&sys, vec![cmd("sleep 1.5")]).await;
        l.push(format!("{}", sys.now_us() / 100_000));
        pipeline(&sys, vec![Cmd::argv(&["echo", "-n", "hi"])]).await;
        pipeline(
            &sys,
            vec![Cmd::argv(&["printf", "%s-%d\\n", "a", "1", "b", "2"])],
        )
        .await;
        pipeline(&sys, vec![cmd("sleep abc")]).await;
        0
    });
    assert_eq!(ran.lines, vec!["15"]);
    assert_eq!(
        ran.terminal(),
        "hia-1\nb-2\nsleep: invalid time interval ‘abc’\nTry 'sleep --help' for more information.\n"
    );
}

#[test]
fn mkfifo_rm_ls_manage_names() {
    let ran = run_logged_in(world_programs(NcFlavor::Openbsd), |sys, l| async move {
        for line in [
            "mkfifo /tmp/f",
            "mkfifo /tmp/f",
            "ls /tmp",
            "ls -l /tmp/f",
            "rm /tmp/f",
            "rm /tmp/f",
            "rm -f /tmp/f",
            "ls /tmp/f",
        ] {
            let st = pipeline(&sys, vec![cmd(line)]).await;
            l.push(format!("{line}: {}", st[0]));
        }
        0
    });
    assert_eq!(
        ran.lines,
        vec![
            "mkfifo /tmp/f: 0",
            "mkfifo /tmp/f: 1",
            "ls /tmp: 0",
            "ls -l /tmp/f: 0",
            "rm /tmp/f: 0",
            "rm /tmp/f: 1",
            "rm -f /tmp/f: 0",
            "ls /tmp/f: 2",
        ]
    );
    assert_eq!(
        ran.terminal(),
        "mkfifo: cannot create fifo '/tmp/f': File exists\n\
         f\n\
         prw-r--r-- 1 root root 0 Nov 26 00:00 /tmp/f\n\
         rm: cannot remove '/tmp/f': No such file or directory\n\
         ls: cannot access '/tmp/f': No such file or directory\n"
    );
}

#[test]
fn kill_sends_signals_and_lists_names() {
    let ran = run_logged_in(world_programs(NcFlavor::Openbsd), |sys, l| async move {
        let victim = sys
            .fork(|c| async move {
                c.execve("/bin/sleep", vec!["sleep".into(), "100".into()])
                    .await;
                1
            })
            .await
            .unwrap();
        sys.sleep_us(10_000).await.unwrap();
        let st = pipeline(
            &sys,
            vec![Cmd::argv(&["kill", "-PIPE", &victim.to_string()])],
        )
        .await;
        l.push(format!("kill: {}", st[0]));
        let (_, status) = sys.waitpid(victim as i32, false).await.unwrap().unwrap();
        l.push(format!("victim: {}", status.shell_status()));
        let st = pipeline(&sys, vec![cmd("kill -l 13")]).await;
        l.push(format!("kill -l: {}", st[0]));
        let st = pipeline(&sys, vec![cmd("kill 99999")]).await;
        l.push(format!("kill 99999: {}", st[0]));
        0
    });
    assert_eq!(
        ran.lines,
        vec!["kill: 0", "victim: 141", "kill -l: 0", "kill 99999: 1"]
    );
    assert_eq!(ran.terminal(), "PIPE\nkill: (99999): No such process\n");
}

#[test]
fn true_and_false_exit_0_and_1() {
    let (log, _, _) = run_one(vec![cmd("true"), cmd("false")]);
    assert_eq!(log, vec!["p PIPESTATUS=0 1"]);
}
