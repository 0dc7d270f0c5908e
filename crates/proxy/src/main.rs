//! `pipelab-proxy [OPTIONS] LISTEN BACKEND...`: arguments, signals, exit codes.
//!
//! Exit codes:
//! - 0: stopped by SIGTERM/SIGINT after the drain (open connections finished, or were
//!   closed at `--shutdown-timeout`).
//! - 1: any other failure (e.g. the runtime could not start).
//! - 2: bad arguments (unknown option, missing BACKEND, bad number or duration).
//! - 3: an address that cannot be parsed or resolved.
//! - 4: cannot listen (the port is in use, permission denied, address not here).
//! - 128+N: a second SIGINT (130) or SIGTERM (143) during the drain: exit at once.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use pipelab_proxy::logging::{self, LogFormat};
use pipelab_proxy::{Config, CopyMode, Error, addr, config, server};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing::{Level, info};

const EXIT_FAILURE: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_ADDRESS: u8 = 3;
const EXIT_LISTEN: u8 = 4;

const EXAMPLES: &str = "\
Examples:
  # The seed's scenario: forward port 6000 to a web server on port 5000, for every
  # client, concurrently, with no restart window (unlike the nc FIFO loop):
  python3 -m http.server 5000 &
  pipelab-proxy -v 6000 127.0.0.1:5000
  curl http://127.0.0.1:6000/

  # Expose the proxy on every interface (a bare port is loopback only):
  pipelab-proxy 0.0.0.0:6000 127.0.0.1:5000

  # Round-robin over two backends; a refused connect tries the next one:
  pipelab-proxy 6000 127.0.0.1:5000 [::1]:5001

  # At most 100 connections at once (the next clients wait in the listen backlog),
  # closed after 5 minutes of silence, JSON logs:
  pipelab-proxy --max-connections 100 --idle-timeout 5m --log-format json -v 6000 127.0.0.1:5000

Exit codes: 0 stopped by SIGTERM/SIGINT after draining; 1 other failure; 2 bad
arguments; 3 bad address; 4 cannot listen (port in use); 130/143 a second signal.";

/// A TCP proxy: what `nc -l -p 6000 < f | nc 127.0.0.1 5000 > f` wanted to be.
///
/// Accepts clients concurrently and copies both directions between each client and a
/// backend; an EOF is passed on as a half-close, a reset as a reset; SIGPIPE never
/// kills it. Logs go to stderr in netcat's words.
#[derive(Debug, Parser)]
#[command(name = "pipelab-proxy", version, after_help = EXAMPLES)]
struct Cli {
    /// Where to listen: PORT (on 127.0.0.1 only), HOST:PORT or [V6]:PORT.
    #[arg(value_name = "LISTEN")]
    listen: String,

    /// Where to forward: HOST:PORT or [V6]:PORT. With several, round-robin.
    #[arg(value_name = "BACKEND", required = true)]
    backends: Vec<String>,

    /// At most N connections at once; further clients wait in the listen backlog.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: Option<u32>,

    /// Give up on one backend address after this long (then try the next).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration)]
    connect_timeout: Duration,

    /// Close a connection after this long with no byte either way (0: never).
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = duration)]
    idle_timeout: Duration,

    /// Close a half-closed connection after this long with no byte moving.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration)]
    half_close_timeout: Duration,

    /// On SIGTERM/SIGINT, let open connections finish for this long.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    shutdown_timeout: Duration,

    /// Length of the listen queue (the kernel caps it at net.core.somaxconn).
    #[arg(long, value_name = "N", default_value_t = 4096)]
    backlog: u32,

    /// Bytes moved at once per direction; held only while data is in flight.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024,
          value_parser = clap::value_parser!(u32).range(1024..=16 * 1024 * 1024))]
    buffer_size: u32,

    /// How to move bytes: buffer (recv/send), splice (splice(2) through a pipe,
    /// Linux), or auto (a buffer for small messages, splice once bulk data flows).
    #[arg(long, value_name = "MODE", default_value = "auto")]
    copy: Copy,

    /// Worker threads (default: one per CPU).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    threads: Option<u32>,

    /// Log each connection (-v); also backends, half-closes and resets (-vv).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,

    /// Log errors only.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,

    /// How log lines look.
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    log_format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Copy {
    Auto,
    Buffer,
    Splice,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn duration(text: &str) -> Result<Duration, String> {
    config::parse_duration(text).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One clear line, not clap's whole usage block.
            let text = e.to_string();
            let first: Vec<&str> = text
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect();
            let first = first.join(" ");
            let first = first.trim_start_matches("error: ");
            eprintln!("pipelab-proxy: {first} (see --help)");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let config = match build_config(&cli) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("pipelab-proxy: {e}");
            return ExitCode::from(EXIT_ADDRESS);
        }
    };
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => Level::ERROR,
        (false, 0) => Level::WARN,
        (false, 1) => Level::INFO,
        (false, 2) => Level::DEBUG,
        (false, _) => Level::TRACE,
    };
    let format = match cli.log_format {
        Format::Text => LogFormat::Text,
        Format::Json => LogFormat::Json,
    };
    logging::init(format, level);

    match run(config, cli.threads) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = match e.downcast_ref::<Error>() {
                Some(Error::Listen { .. }) => EXIT_LISTEN,
                Some(Error::Address { .. }) => EXIT_ADDRESS,
                Some(Error::Duration(_)) => EXIT_USAGE,
                None => EXIT_FAILURE,
            };
            eprintln!("pipelab-proxy: {e:#}");
            ExitCode::from(code)
        }
    }
}

fn build_config(cli: &Cli) -> Result<Config, Error> {
    let listen = addr::parse_listen(&cli.listen)?;
    let backends = cli
        .backends
        .iter()
        .map(|b| addr::parse_backend(b))
        .collect::<Result<Vec<_>, _>>()?;
    let mut config = Config::new(listen, backends);
    config.max_connections = cli.max_connections.map(|n| n as usize);
    config.backlog = cli.backlog;
    config.connect_timeout = cli.connect_timeout;
    config.idle_timeout = Some(cli.idle_timeout).filter(|d| !d.is_zero());
    config.half_close_timeout = cli.half_close_timeout;
    config.shutdown_timeout = cli.shutdown_timeout;
    config.buffer_size = cli.buffer_size as usize;
    config.copy_mode = match cli.copy {
        Copy::Auto => CopyMode::Auto,
        Copy::Buffer => CopyMode::Buffer,
        Copy::Splice => CopyMode::Splice,
    };
    Ok(config)
}

fn run(config: Config, threads: Option<u32>) -> anyhow::Result<()> {
    let listener = server::bind(&config)?;
    let threads = match threads {
        Some(n) => n as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let stop = CancellationToken::new();
    watch_signals(stop.clone())?;
    server::serve(listener, config, threads, stop).context("a worker failed")?;
    Ok(())
}

/// The first SIGTERM or SIGINT starts the drain; a second one exits at once.
///
/// The handlers are installed before this returns, so a signal that arrives as soon
/// as the proxy listens is already ours (and not the default action, which kills).
fn watch_signals(stop: CancellationToken) -> anyhow::Result<()> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("pipelab-proxy-signals".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready_tx.send(Err(anyhow::Error::new(e)));
                    return;
                }
            };
            runtime.block_on(async move {
                let handlers = signal(SignalKind::terminate())
                    .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)));
                let (mut term, mut int) = match handlers {
                    Ok(handlers) => handlers,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow::Error::new(e)));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let first = tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                };
                info!("{first}: shutting down (send it again to exit at once)");
                stop.cancel();
                let code = tokio::select! {
                    _ = term.recv() => 128 + libc::SIGTERM,
                    _ = int.recv() => 128 + libc::SIGINT,
                };
                eprintln!("pipelab-proxy: second signal: exiting at once");
                std::process::exit(code);
            });
        })
        .context("cannot start the signal thread")?;
    ready_rx
        .recv()
        .context("the signal thread died")?
        .context("cannot watch SIGTERM/SIGINT")
}
