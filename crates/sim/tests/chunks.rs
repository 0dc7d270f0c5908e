//! `chunk-reader`: reading in bounded chunks, and what a full pipe does to its
//! writer (backpressure), through pipes and through TCP.

mod harness;

use harness::*;
use pipelab_sim::run::NcFlavor;
use pipelab_sim::snapshot::Snapshot;
use pipelab_sim::world::{Step, World};

const TOTAL_BYTES: u64 = 1_000_000;

/// `yes | head -c 1000000 | chunk-reader ARGS > /tmp/out`.
fn yes_head_chunk_reader(args: &str) -> (World, Log) {
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    spawn_pipeline(
        &mut w,
        &log,
        "p",
        vec![
            cmd("yes"),
            cmd(&format!("head -c {TOTAL_BYTES}")),
            cmd(&format!("chunk-reader {args}")).stdout("/tmp/out"),
        ],
    );
    (w, log)
}

/// Steps the world to the end; the steps after which the pipe into
/// chunk-reader held 65536 bytes while `head` was blocked in `write` on it.
fn steps_with_full_pipe_and_head_blocked(w: &mut World) -> Vec<u64> {
    let mut seen = Vec::new();
    while let Step::Ran(_) = w.step(TEST_UNTIL_US) {
        let snap = Snapshot::of(&w.kernel());
        let Some(head) = snap
            .processes
            .iter()
            .find(|p| p.argv.first().map(String::as_str) == Some("head"))
        else {
            continue;
        };
        let Some(out) = head.fds.iter().find(|f| f.fd == 1) else {
            continue;
        };
        let full = snap
            .pipes
            .iter()
            .any(|p| p.name == out.object && p.buffered == 65_536 && p.capacity == 65_536);
        let blocked_in_write = head.state == "blocked"
            && head
                .blocked_in
                .as_deref()
                .is_some_and(|c| c.starts_with("write(1,"));
        if full && blocked_in_write {
            seen.push(snap.step);
        }
    }
    seen
}

#[test]
fn a_slow_reader_fills_the_pipe_to_65536_bytes_and_blocks_head_in_write() {
    let (mut w, log) = yes_head_chunk_reader("--slow 1 4096");
    let steps = steps_with_full_pipe_and_head_blocked(&mut w);
    assert!(
        !steps.is_empty(),
        "the pipe never reached 65536 bytes with head blocked in write"
    );
    // yes dies of SIGPIPE once head has exited; head and the reader succeed.
    assert_eq!(log.lines(), vec!["p PIPESTATUS=141 0 0"]);
    assert_eq!(
        file(&w, "/tmp/out"),
        "read 1000000 bytes in 245 chunks of at most 4096 bytes\n"
    );
}

#[test]
fn a_reader_as_fast_as_the_writer_still_fills_the_pipe() {
    // Without --slow: head moves 8192 bytes per read+write pair, the reader 4096
    // per read, so the pipe still fills and head waits.
    let (mut w, _log) = yes_head_chunk_reader("4096");
    let steps = steps_with_full_pipe_and_head_blocked(&mut w);
    assert!(!steps.is_empty(), "the pipe never filled");
    let out = file(&w, "/tmp/out");
    assert!(
        out.starts_with("read 1000000 bytes in "),
        "every byte is counted: {out}"
    );
}

#[test]
fn chunk_count_is_the_ceiling_of_total_over_chunk_size_when_the_writer_is_ahead() {
    for (size, chunks) in [(4096u64, 245u64), (65_536, 16), (1000, 1000)] {
        let (mut w, _log) = yes_head_chunk_reader(&format!("--slow 1 {size}"));
        run(&mut w);
        assert_eq!(chunks, TOTAL_BYTES.div_ceil(size));
        assert_eq!(
            file(&w, "/tmp/out"),
            format!("read 1000000 bytes in {chunks} chunks of at most {size} bytes\n"),
            "chunk size {size}"
        );
    }
}

#[test]
fn each_read_asks_for_chunk_size_bytes() {
    let (mut w, _log) = yes_head_chunk_reader("--slow 1 4096");
    run(&mut w);
    let reader = pid_of(&w, "chunk-reader");
    let trace = strace(&w);
    let reads: Vec<&str> = trace
        .lines()
        .filter_map(|l| l.split_once(char::is_whitespace))
        .filter(|(pid, call)| {
            *pid == reader.to_string() && call.trim_start().starts_with("read(0,")
        })
        .map(|(_, call)| call.trim_start())
        .collect();
    assert!(!reads.is_empty(), "{trace}");
    assert!(reads.iter().all(|l| l.contains(", 4096) = ")), "{reads:?}");
}

#[test]
fn bad_chunk_sizes_are_usage_errors_with_status_2() {
    for args in ["0", "1048577", "abc", "", "--slow 4096"] {
        let line = cmd(&format!("chunk-reader {args}"));
        let (w, log) = run_pipeline(NcFlavor::Openbsd, "p", vec![line], TEST_UNTIL_US);
        assert_eq!(log.lines(), vec!["p PIPESTATUS=2"], "args {args:?}");
        assert!(
            terminal(&w).ends_with("usage: chunk-reader [--slow MS] CHUNK_SIZE\n"),
            "{}",
            terminal(&w)
        );
    }
}

#[test]
fn a_megabyte_through_nc_and_tcp_reaches_the_reader_whole() {
    let mut w = world_programs(NcFlavor::Openbsd);
    let log = Log::default();
    spawn_pipeline(
        &mut w,
        &log,
        "server",
        vec![
            cmd("nc -l -p 7000"),
            cmd("chunk-reader 65536").stdout("/tmp/out"),
        ],
    );
    spawn_pipeline(
        &mut w,
        &log,
        "client",
        vec![
            cmd("yes").after_us(100_000),
            cmd(&format!("head -c {TOTAL_BYTES}")).after_us(100_000),
            cmd("nc -N 127.0.0.1 7000").after_us(100_000),
        ],
    );
    run(&mut w);
    let out = file(&w, "/tmp/out");
    assert!(
        out.starts_with("read 1000000 bytes in "),
        "{out} {:?}",
        log.lines()
    );
    let mut lines = log.lines();
    lines.sort();
    assert_eq!(
        lines,
        vec!["client PIPESTATUS=141 0 0", "server PIPESTATUS=0 0"]
    );
}
