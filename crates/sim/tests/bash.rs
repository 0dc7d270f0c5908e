//! The simulated bash, run through the run contract: what a terminal shows and
//! the exit statuses, against what bash 5.2 prints (checked on this machine).

use pipelab_sim::run::{ExitReport, RunConfig, RunReport, StoppedBy, run};

fn sh(script: &str) -> RunReport {
    run(&RunConfig {
        terminals: vec![script.to_string()],
        until_ms: 60_000,
        ..RunConfig::default()
    })
}

fn out(script: &str) -> String {
    sh(script).terminals[0].output.clone()
}

fn shell_exit(r: &RunReport) -> Option<ExitReport> {
    r.processes[0].exit.clone()
}

#[test]
fn echo_writes_its_arguments_and_a_newline() {
    assert_eq!(out("echo hello   world"), "hello world\n");
    assert_eq!(out("echo -n a; echo b"), "ab\n");
}

#[test]
fn variables_and_quoting_expand_as_in_bash() {
    assert_eq!(
        out(r#"x='a  b'; echo $x "$x" '$x' "\$x""#),
        "a b a  b $x $x\n"
    );
    assert_eq!(out("x=1 y=2; echo \"$x$y\"${x}"), "121\n");
}

#[test]
fn a_failing_command_sets_status_and_exit_ends_the_script() {
    let r = sh("false; echo $?; exit 3; echo never");
    assert_eq!(r.terminals[0].output, "1\n");
    assert_eq!(shell_exit(&r), Some(ExitReport::Code(3)));
    assert_eq!(r.stopped_by, StoppedBy::Finished);
}

#[test]
fn exit_status_is_taken_modulo_256() {
    assert_eq!(shell_exit(&sh("exit 300")), Some(ExitReport::Code(44)));
}

#[test]
fn an_unknown_command_is_127_with_bash_s_message() {
    let r = sh("foo; echo \"rc=$?\"");
    assert_eq!(
        r.terminals[0].output,
        "bash: line 1: foo: command not found\nrc=127\n"
    );
}

#[test]
fn a_syntax_error_is_reported_like_bash_with_status_2() {
    let r = sh("done");
    assert_eq!(
        r.terminals[0].output,
        "bash: -c: line 1: syntax error near unexpected token `done'\nbash: -c: line 1: `done'\n"
    );
    assert_eq!(shell_exit(&r), Some(ExitReport::Code(2)));
}

#[test]
fn pipestatus_holds_every_status_of_the_last_pipeline() {
    assert_eq!(
        out("true | false | true; echo \"${PIPESTATUS[*]} ${PIPESTATUS[1]}\""),
        "0 1 0 1\n"
    );
}

#[test]
fn pipefail_makes_a_pipeline_fail_if_any_part_fails() {
    assert_eq!(
        out("false | true; echo $?; set -o pipefail; false | true; echo $?"),
        "0\n1\n"
    );
}

#[test]
fn loops_conditions_and_arithmetic_run() {
    assert_eq!(
        out(
            "i=0; while [ $i -lt 3 ]; do echo $i; i=$((i+1)); done; for w in a b; do echo $w; done"
        ),
        "0\n1\n2\na\nb\n"
    );
    assert_eq!(
        out("if false; then echo no; elif true; then echo yes; else echo no; fi"),
        "yes\n"
    );
    assert_eq!(
        out("true && echo and; false || echo or; false && echo never; echo $?"),
        "and\nor\n1\n"
    );
}

#[test]
fn a_subshell_and_a_background_job_report_their_status() {
    assert_eq!(
        out("(exit 5); echo $?; (exit 3) & wait $!; echo $?"),
        "5\n3\n"
    );
}

#[test]
fn redirections_write_and_read_files() {
    assert_eq!(
        out("echo one > /tmp/f; echo two >> /tmp/f; { read a; read b; } < /tmp/f; echo \"$b $a\""),
        "two one\n"
    );
    assert_eq!(out("echo err >&2 2>/dev/null; echo out 2>&1"), "err\nout\n");
}

#[test]
fn a_redirection_from_a_missing_file_fails_the_command_only() {
    assert_eq!(
        out("read x < /nope; echo \"rc=$?\""),
        "bash: line 1: /nope: No such file or directory\nrc=1\n"
    );
}

#[test]
fn a_builtin_s_redirection_is_undone_after_it() {
    assert_eq!(out("echo hidden > /dev/null; echo shown"), "shown\n");
}

#[test]
fn command_substitution_captures_output_without_trailing_newlines() {
    assert_eq!(
        out("x=$(echo hi; echo there); echo \"[$x]\"; for i in $(echo 1 2); do echo $i; done"),
        "[hi\nthere]\n1\n2\n"
    );
}

#[test]
fn set_e_stops_at_the_first_failure_outside_conditions() {
    let r = sh("set -e; false || echo guarded; false; echo never");
    assert_eq!(r.terminals[0].output, "guarded\n");
    assert_eq!(shell_exit(&r), Some(ExitReport::Code(1)));
}

#[test]
fn trap_on_exit_runs_at_the_end() {
    assert_eq!(out("trap 'echo bye' EXIT; echo hi"), "hi\nbye\n");
}

#[test]
fn past_funcnest_bash_drops_the_rest_of_the_line_with_status_1_and_still_runs_exit_traps() {
    // bash 5.2 -c here: the message, no `echo no`, the EXIT trap, exit status 1.
    let r = sh("trap 'echo bye' EXIT; FUNCNEST=2; f() { f; }; f; echo no");
    assert_eq!(
        r.terminals[0].output,
        "bash: line 1: f: maximum function nesting level exceeded (2)\nbye\n"
    );
    assert_eq!(shell_exit(&r), Some(ExitReport::Code(1)));
}

/// Runs `f` on a thread with room for 100-deep recursion in a debug
/// build (about 60 KiB of host stack per level unoptimized; a test thread has 2 MiB).
fn with_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn endless_recursion_stops_at_the_simulators_nesting_limit_instead_of_overflowing_its_stack() {
    let r = with_big_stack(|| sh("f() { g; }; g() { f; }; f; echo no"));
    assert_eq!(
        r.terminals[0].output,
        "bash: line 1: f: maximum function nesting level exceeded \
         (pipelab stops at 100; real bash goes on until its stack runs out)\n"
    );
    assert_eq!(shell_exit(&r), Some(ExitReport::Code(1)));
    // Below the limit, recursion works.
    let r = with_big_stack(|| sh("i=0; f() { i=$((i+1)); [ $i -lt 99 ] && f; }; f; echo $i"));
    assert_eq!(r.terminals[0].output, "99\n");
}

#[test]
fn a_trap_that_signals_itself_stops_at_the_nesting_limit() {
    let r = with_big_stack(|| sh("trap 'kill -USR1 $$' USR1; kill -USR1 $$; echo no"));
    assert_eq!(
        r.terminals[0].output,
        "bash: line 1: trap handler: maximum trap handler level exceeded \
         (pipelab stops at 100; real bash goes on until its stack runs out)\n"
    );
}

#[test]
fn a_script_waiting_on_its_terminal_stops_at_the_time_limit() {
    let r = run(&RunConfig {
        terminals: vec!["read x; echo never".into()],
        until_ms: 2000,
        ..RunConfig::default()
    });
    assert_eq!(r.stopped_by, StoppedBy::TimeLimit);
    assert_eq!(r.virtual_time_ms, 2000);
    assert_eq!(r.terminals[0].output, "");
}

#[test]
fn terminals_run_side_by_side_and_each_shows_its_own_output() {
    let r = run(&RunConfig {
        terminals: vec!["echo one".into(), "echo two".into()],
        ..RunConfig::default()
    });
    assert_eq!(r.terminals[0].output, "one\n");
    assert_eq!(r.terminals[1].output, "two\n");
}

// ---- jobs: `%N` job specs, `jobs`, `wait %N` (each output as bash 5.2 -c printed it here) ----

#[test]
fn kill_and_wait_take_job_specs() {
    assert_eq!(
        out(
            "kill %1; echo $?; sleep 5 & sleep 6 & kill %2; echo k=$?; kill %+; echo $?; \
             wait %1; echo w=$?; kill %%; echo $?; wait %2; echo w2=$?; kill %x; echo $?; \
             sleep 7 & kill %sleep; echo ks=$?; wait"
        ),
        "bash: line 1: kill: %1: no such job\n1\nk=0\n0\nw=0\n\
         bash: line 1: kill: %%: no such job\n1\n\
         bash: line 1: wait: %2: no such job\nw2=127\n\
         bash: line 1: kill: %x: no such job\n1\nks=0\n"
    );
}

#[test]
fn a_job_spec_by_name_must_name_one_job() {
    assert_eq!(
        out(
            "sleep 3 & sleep 4 & kill %sleep; echo $?; kill %?eep; echo $?; kill %-; echo m=$?; \
             kill %5 %1; echo $?; wait %1; echo w=$?"
        ),
        "bash: line 1: kill: sleep: ambiguous job spec\n1\n\
         bash: line 1: kill: eep: ambiguous job spec\n1\nm=0\n\
         bash: line 1: kill: %5: no such job\n0\nw=143\n"
    );
}

#[test]
fn kill_succeeds_if_any_signal_was_sent() {
    // `kill -0` leaves `$!` alive for the last kill. (Whether a process just
    // killed is still a zombie when the next kill reaches it is a race on
    // Linux, lost or won as bash's SIGCHLD handler reaps it first or not.)
    assert_eq!(
        out(
            "sleep 3 & kill %5 999999; echo c=$?; kill -0 abc $!; echo e=$?; kill 999999 $!; echo d=$?"
        ),
        "bash: line 1: kill: %5: no such job\n\
         bash: line 1: kill: (999999) - No such process\nc=1\n\
         bash: line 1: kill: abc: arguments must be process or job IDs\ne=0\n\
         bash: line 1: kill: (999999) - No such process\nd=0\n"
    );
}

#[test]
fn jobs_lists_the_table_and_a_job_that_ended_is_gone_after_the_next_foreground_command() {
    // Measured (6 runs of 6): the sleep `kill %1` ends has not died yet when
    // the next `jobs` lists it (in the simulation, bash's SIGCHLD handler has
    // reaped it, but bash takes that in only at its next wait).
    assert_eq!(
        out("sleep 3 & sleep 1 & jobs; sleep 1.2; jobs; kill %1; jobs; wait %1; echo $?"),
        "[1]-  Running                 sleep 3 &\n[2]+  Running                 sleep 1 &\n\
         [1]+  Running                 sleep 3 &\n\
         [1]+  Running                 sleep 3 &\n143\n"
    );
}

#[test]
fn a_background_simple_command_is_execd_in_the_forked_child() {
    // `kill $!` must reach sleep itself, not a shell between.
    let r = sh("sleep 100 & kill $!; wait $!; echo $?");
    assert_eq!(r.terminals[0].output, "143\n");
    // Two processes in all (bash, and the child that became sleep), and sleep
    // is the one the signal ended.
    assert_eq!(r.processes.len(), 2, "{:?}", r.processes);
    assert_eq!(r.processes[1].argv, ["sleep", "100"]);
    assert_eq!(
        r.processes[1].exit,
        Some(ExitReport::Signal("SIGTERM".into()))
    );
}

#[test]
fn a_background_pipeline_is_forked_part_by_part_from_the_shell() {
    // Measured with strace: `a | b &` is two clones from the shell itself, no
    // subshell between; `$!` is b, and `kill %1` signals a, then b.
    let r = sh("sleep 100 | sleep 200 & echo $!; kill %1; wait; echo $?");
    // Three processes in all: bash and the two parts.
    assert_eq!(r.processes.len(), 3, "{:?}", r.processes);
    let last = r.processes[2].pid;
    assert_eq!(r.terminals[0].output, format!("{last}\n0\n"));
    for (p, argv) in r.processes[1..]
        .iter()
        .zip([["sleep", "100"], ["sleep", "200"]])
    {
        assert_eq!(p.argv, argv);
        assert_eq!(p.exit, Some(ExitReport::Signal("SIGTERM".into())));
    }
}

#[test]
fn a_background_pipeline_ends_with_its_last_process_and_is_told_process_by_process() {
    // As bash 5.2 -c printed it here (pids aside): a job killed by SIGKILL gets a
    // line per process, a status only where it differs from the first's;
    // `wait %1` and `wait $!` wait for the whole job and give its last's status.
    assert_eq!(
        out(
            "sleep 5 | sleep 6 & kill -9 %1; wait; echo $?; sleep 0.3 | sleep 6 & p=$!; \
             kill -9 $p; wait %1; echo $?; sleep 0.1 | false & wait $!; echo $?; jobs; \
             true | sleep 0.1 & jobs; kill %1; wait; echo end"
        ),
        "bash: line 1:     3 Killed                  sleep 5\n\
         \x20        4                       | sleep 6\n0\n\
         bash: line 1:     5 Done                    sleep 0.3\n\
         \x20        6 Killed                  | sleep 6\n137\n1\n\
         [1]+  Running                 true | sleep 0.1 &\nend\n"
    );
}

#[test]
fn out_of_processes_bash_retries_the_fork_four_times_then_gives_up() {
    // As bash 5.2 did here under `ulimit -u`: a retry message and a sleep of 1, 2,
    // 4 and 8 s, then the error, and a script's bash exits with 254 (`after` never
    // runs).
    let r = sh("while true; do sleep 1000 & done; echo after");
    assert_eq!(
        r.terminals[0].output,
        "bash: fork: retry: Resource temporarily unavailable\n".repeat(4)
            + "bash: fork: Resource temporarily unavailable\n"
    );
    assert_eq!(shell_exit(&r), Some(ExitReport::Code(254)));
    use pipelab_sim::session::{Session, TerminalMode};
    let config = RunConfig {
        terminals: vec!["while true; do sleep 1000 & done".into()],
        until_ms: 60_000,
        ..RunConfig::default()
    };
    let mut s = Session::new(config, TerminalMode::Script);
    s.run(1_000_000);
    let trace = pipelab_sim::trace::strace(&s.world().kernel().trace);
    for secs in [1, 2, 4, 8] {
        assert!(
            trace.contains(&format!(
                "clock_nanosleep(CLOCK_REALTIME, 0, {{tv_sec={secs}, tv_nsec=0}}"
            )),
            "{secs} s"
        );
    }
}

/// The strace text of a script run in one terminal, each line without its pid.
fn script_trace(script: &str) -> Vec<String> {
    use pipelab_sim::session::{Session, TerminalMode};
    let config = RunConfig {
        terminals: vec![script.into()],
        until_ms: 60_000,
        ..RunConfig::default()
    };
    let mut s = Session::new(config, TerminalMode::Script);
    s.run(1_000_000);
    pipelab_sim::trace::strace(&s.world().kernel().trace)
        .lines()
        .map(|l| l.to_string())
        .collect()
}

#[test]
fn a_trapped_signal_that_comes_between_the_shells_calls_is_handled_before_its_next_call() {
    // The background child's kill lands while bash is still busy with its
    // clone: the handler runs (rt_sigreturn) before bash's next call, the mask
    // put back after the fork, and the trap once the `&` command is done,
    // before `sleep` is forked (measured: `trapped`, then `after` a second
    // later).
    let script = "trap 'echo trapped' USR1; kill -USR1 $$ & sleep 1; echo after";
    assert_eq!(out(script), "trapped\nafter\n");
    let bash: Vec<String> = script_trace(script)
        .into_iter()
        .filter_map(|l| l.strip_prefix("2     ").map(str::to_string))
        .collect();
    let at = bash
        .iter()
        .position(|l| l.starts_with("--- SIGUSR1"))
        .expect("bash got SIGUSR1");
    assert!(bash[at - 1].starts_with("clone("), "{}", bash[at - 1]);
    assert_eq!(
        bash[at + 1..at + 3],
        [
            // The mask at delivery, and what the clone returned.
            "rt_sigreturn({mask=[INT TERM CHLD]}) = 3",
            "rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0",
        ]
    );
    let trapped = bash
        .iter()
        .position(|l| l.contains("\"trapped\\n\""))
        .unwrap();
    let sleep = bash.iter().rposition(|l| l.starts_with("clone(")).unwrap();
    assert!(trapped < sleep);
}
