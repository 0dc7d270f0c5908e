//! `cargo xtask bench-web`: the playground's performance figures. A benchmark, not
//! a test: it prints the figures next to their targets and never fails on them.
//!
//! Native figures come from `crates/web/examples/bench.rs`; sizes, first render
//! and the wasm figures from `tests/browser/bench.mjs` in headless Chromium.

use anyhow::{Context, Result};

use crate::install;
use crate::page;
use crate::process::{Workspace, output, run, say};

pub fn bench_web(ws: &Workspace) -> Result<()> {
    install::ensure_wasm_target(ws)?;
    let wasm_bindgen = install::ensure_wasm_bindgen(ws)?;
    install::ensure_npm_packages(ws)?;
    let node = install::ensure_node(ws)?;
    let wasm_opt = install::npm_wasm_opt(ws);
    page::build(ws, &wasm_bindgen, wasm_opt.as_deref())?;

    say!("native figures (cargo run --release -p pipelab-web --example bench)");
    run(&mut ws.cargo(&[
        "build",
        "--release",
        "-p",
        "pipelab-web",
        "--example",
        "bench",
    ]))?;
    let native = output(&mut ws.cargo(&[
        "run",
        "--quiet",
        "--release",
        "-p",
        "pipelab-web",
        "--example",
        "bench",
    ]))
    .context(
        "the native bench failed (run it: cargo run --release -p pipelab-web --example bench)",
    )?;

    say!("page figures (node tests/browser/bench.mjs, headless Chromium)");
    let page = output(
        ws.command(node)
            .current_dir(install::npm_project(ws))
            .arg("bench.mjs")
            .env("PIPELAB_XTASK", std::env::current_exe()?)
            .env("PIPELAB_SITE", page::site(ws)),
    )
    .context("the page bench failed (run it: node tests/browser/bench.mjs)")?;

    say!("── figures (target in brackets)");
    for line in native.lines().chain(page.lines()) {
        let target = match line.split(' ').next().unwrap_or_default() {
            "page_gzip_total" => "[<= 300 KB]",
            "first_render_median" => "[<= 1000 ms]",
            "wasm_seek_median" | "wasm_seek_max" => "[<= 16 ms]",
            "native_steps_per_second" => "[>= 1,000,000]",
            _ => "",
        };
        say!("  {line} {target}");
    }
    Ok(())
}
