//! `cargo xtask`: the project's two commands.
//!
//! - `cargo xtask serve`: build the playground and serve it on 127.0.0.1.
//! - `cargo xtask test [SUITE...]`: every test suite, or the ones named.
//!
//! Both install what is missing first and say so, one line per step.
//!
//! - `bench`: `bench-web`, the playground's performance figures
//! - `install`: the wasm target, wasm-bindgen-cli, system and npm packages
//! - `page`: build the wasm and bind it into `www/pkg`
//! - `static_server`: the std-only HTTP server behind `serve`
//! - `suites`: the test suites and their summary
//! - `lockfile`: versions pinned in `Cargo.lock`
//! - `process`: running commands and finding tools

mod bench;
mod install;
mod lockfile;
mod page;
mod process;
mod static_server;
mod suites;

use std::fs;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::install::Unavailable;
use crate::process::{Workspace, say};
use crate::static_server::StaticServer;
use crate::suites::Suite;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Build, serve and test pipelab"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the playground and serve it on http://127.0.0.1:PORT (Ctrl-C stops it).
    ///
    /// What is served is target/site: www/ with the built wasm, its JS and CSS minified.
    Serve {
        /// The port on 127.0.0.1; 0 picks a free one.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Serve the site as it was last built, without installing or building anything.
        #[arg(long)]
        no_build: bool,
    },
    /// Run every test suite, or only the SUITEs named.
    ///
    /// With no SUITE, all of them in the order below; a summary with the time each
    /// took ends the run, which fails if any suite failed. Example: `cargo xtask test
    /// browser`.
    Test {
        #[arg(value_enum, value_name = "SUITE")]
        suites: Vec<Suite>,
    },
    /// Print the playground's performance figures: sizes, first render, seek,
    /// simulated steps per second (wasm and native). A benchmark, not a test.
    BenchWeb,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = Workspace::locate().and_then(|ws| match cli.command {
        Cmd::Serve { port, no_build } => serve(&ws, port, no_build),
        Cmd::Test { suites } => suites::test(&ws, &suites),
        Cmd::BenchWeb => bench::bench_web(&ws),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The cause chain on one line; no backtrace even with RUST_BACKTRACE set,
            // since the message, not xtask's stack, says what to do.
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(ws: &Workspace, port: u16, no_build: bool) -> Result<()> {
    let site = page::site(ws);
    if no_build {
        if !site.join("pkg/pipelab_web.js").exists() {
            say!(
                "the site is not built: the page will show its load error (build with `cargo xtask serve`)"
            );
        }
    } else {
        install::ensure_wasm_target(ws)?;
        let wasm_bindgen = install::ensure_wasm_bindgen(ws)?;
        // wasm-opt only makes the download smaller: without npm, serve what we have.
        let wasm_opt = match install::ensure_npm_packages(ws) {
            Ok(()) => install::npm_wasm_opt(ws),
            Err(error) if error.is::<Unavailable>() => {
                say!("{error}; serving the wasm without wasm-opt");
                None
            }
            Err(error) => return Err(error),
        };
        page::build(ws, &wasm_bindgen, wasm_opt.as_deref())?;
    }
    fs::create_dir_all(&site)?;
    let server = StaticServer::bind(&site, port)?;
    // On stdout, for the browser tests that start this server and read its port.
    println!(
        "xtask: serving {} on {} (Ctrl-C stops it; after editing www/, run this again)",
        site.display(),
        server.url()?
    );
    server.serve()
}
