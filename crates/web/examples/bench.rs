//! Native figures for `cargo xtask bench-web`: simulated steps (one syscall each)
//! per second, and the time to seek to random steps of a 10,000-step run. Prints
//! `name value unit` lines.

use std::time::Instant;

use pipelab_sim::run::{NcFlavor, RunConfig};
use pipelab_sim::session::{Session, TerminalMode};

/// A run whose steps are mostly `write(2)`s by a shell loop: about one step per
/// iteration.
pub fn loop_script(iterations: u32) -> String {
    format!("for i in $(seq 1 {iterations}); do echo $i; done")
}

fn session(iterations: u32) -> Session {
    Session::new(
        RunConfig {
            terminals: vec![loop_script(iterations)],
            nc: NcFlavor::Openbsd,
            seed: 0,
            until_ms: 3_600_000,
        },
        TerminalMode::Interactive,
    )
}

fn main() {
    // Steps per second over a 100,000-step run: the median of several runs, each
    // from a fresh session, so one page-faulting or preempted run does not decide it.
    const RUNS: usize = 7;
    let mut rates: Vec<f64> = (0..RUNS)
        .map(|_| {
            let mut s = session(100_000);
            let start = s.step();
            let t = Instant::now();
            s.run(100_000);
            (s.step() - start) as f64 / t.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    println!("native_steps_per_second {:.0} steps/s", rates[RUNS / 2]);
    println!(
        "native_steps_per_second_range {:.0}..{:.0} steps/s",
        rates[0],
        rates[RUNS - 1]
    );

    // Seeks to pseudo-random steps of a 10,000-step run (replay from step 0).
    let mut s = session(12_000);
    s.run(10_000);
    let end = s.step();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut worst: f64 = 0.0;
    let mut total = 0.0;
    const SEEKS: u32 = 20;
    for _ in 0..SEEKS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let target = x % end;
        // From the end, so every seek replays from the start.
        s.seek(end);
        let t = Instant::now();
        s.seek(target);
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        worst = worst.max(ms);
        total += ms;
    }
    println!("native_run_steps {end} steps");
    println!("native_seek_mean {:.2} ms", total / f64::from(SEEKS));
    println!("native_seek_max {worst:.2} ms");
}
