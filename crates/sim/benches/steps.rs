//! Simulated syscalls per second, natively. Target (issue 4): at least 1,000,000.
//!
//! `cargo bench -p pipelab-sim --bench steps`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pipelab_sim::kernel::Kernel;
use pipelab_sim::run::{RunConfig, build_world, run_world};
use pipelab_sim::sys::Programs;
use pipelab_sim::world::{Step, World};

const ROUNDS: u64 = 20_000;

/// Two processes bounce one byte through two pipes: nothing but syscalls.
fn ping_pong() -> u64 {
    let mut k = Kernel::default();
    k.add_terminal();
    let mut w = World::new(k, Programs::new(), 0);
    let pid = w.kernel_mut().spawn_session(vec!["bench".into()], "/", 0);
    let sys = w.sys(pid);
    w.attach(
        pid,
        Box::pin(async move {
            let (r1, w1) = sys.pipe().await.unwrap();
            let (r2, w2) = sys.pipe().await.unwrap();
            sys.fork(move |c| async move {
                for _ in 0..ROUNDS {
                    let b = c.read(r1, 1).await.unwrap();
                    c.write(w2, &b).await.unwrap();
                }
                0
            })
            .await
            .unwrap();
            for _ in 0..ROUNDS {
                sys.write(w1, b"x").await.unwrap();
                sys.read(r2, 1).await.unwrap();
            }
            sys.exit(0).await
        }),
    );
    while let Step::Ran(_) = w.step(u64::MAX) {}
    w.kernel().step
}

/// A bash loop: the interpreter's cost per syscall included.
fn bash_loop() -> u64 {
    let config = RunConfig {
        terminals: vec![
            "i=0; while [ $i -lt 5000 ]; do i=$((i+1)); echo $i > /dev/null; done".into(),
        ],
        until_ms: 1_000_000,
        ..RunConfig::default()
    };
    let mut w = build_world(&config);
    run_world(&mut w, config.until_ms);
    w.kernel().step
}

fn steps(c: &mut Criterion) {
    let mut g = c.benchmark_group("syscalls");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ping_pong()));
    g.bench_function("pipe ping-pong", |b| b.iter(ping_pong));
    g.throughput(Throughput::Elements(bash_loop()));
    g.bench_function("bash loop", |b| b.iter(bash_loop));
    g.finish();
}

criterion_group!(benches, steps);
criterion_main!(benches);
