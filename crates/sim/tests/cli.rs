//! The `pipelab-sim` command, as a user runs it.

#![cfg(feature = "cli")]

use std::process::Command;

fn sim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pipelab-sim"))
        .args(args)
        .output()
        .expect("pipelab-sim runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn run_prints_each_terminal_under_a_header() {
    let (code, out, _) = sim(&["run", "--term", "echo one", "--term", "echo two >&2"]);
    assert_eq!(code, 0);
    assert_eq!(out, "== terminal 1 ==\none\n== terminal 2 ==\ntwo\n");
}

#[test]
fn run_json_has_the_contract_fields() {
    let (code, out, _) = sim(&[
        "run",
        "--json",
        "--nc",
        "textbook",
        "--term",
        "yes | head -n1",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["terminals"][0]["script"], "yes | head -n1");
    assert_eq!(v["terminals"][0]["output"], "y\n");
    assert_eq!(v["stopped_by"], "finished");
    assert!(v["steps"].as_u64().unwrap() > 0);
    let yes = v["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["argv"][0] == "yes")
        .unwrap();
    assert_eq!(yes["exit"], serde_json::json!({"signal": "SIGPIPE"}));
}

#[test]
fn run_trace_prints_strace_lines_to_stderr() {
    let (_, _, err) = sim(&["run", "--trace", "--term", "echo hi"]);
    assert!(err.contains("write(1, \"hi\\n\", 3) = 3"), "{err}");
}

#[test]
fn a_time_limit_stops_a_script_that_waits_forever() {
    let (_, out, _) = sim(&["run", "--json", "--until", "2", "--term", "read x"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["stopped_by"], "time_limit");
    assert_eq!(v["virtual_time_ms"], 2000);
}

#[test]
fn lessons_lists_every_lesson_and_lesson_checks_its_goals() {
    let (code, out, _) = sim(&["lessons"]);
    assert_eq!(code, 0);
    assert!(
        out.lines().any(|l| l.starts_with("second-request ")),
        "{out}"
    );
    let (code, out, _) = sim(&["lesson", "second-request", "--nc", "textbook"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("[x] The shell shows it: PIPESTATUS=141 0"),
        "{out}"
    );
}

#[test]
fn bad_input_is_one_clear_line_and_exit_2() {
    let (code, _, err) = sim(&["lesson", "nope"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("pipelab-sim: no lesson named \"nope\""),
        "{err}"
    );
    let (code, _, err) = sim(&["run", "--until", "0", "--term", "true"]);
    assert_eq!(code, 2);
    assert!(err.contains("--until"), "{err}");
}
