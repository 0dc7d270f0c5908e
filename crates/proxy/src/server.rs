//! The listener: bind, accept concurrently, drain on shutdown.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::Semaphore;
use tokio::time::{sleep, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::Error;
use crate::config::Config;
use crate::relay::{self, Shared};

/// The first pause after a failed `accept(2)`; it doubles up to `BACKOFF_MAX`.
const BACKOFF_MIN: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// `socket(2)`, `bind(2)`, `listen(2)` with the configured backlog. `SO_REUSEADDR`
/// lets a restarted proxy bind while old connections sit in TIME-WAIT.
pub fn bind(config: &Config) -> Result<TcpListener, Error> {
    let listen_error = |source| Error::Listen {
        addr: config.listen,
        source,
    };
    let socket = if config.listen.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(listen_error)?;
    socket.set_reuseaddr(true).map_err(listen_error)?;
    socket.bind(config.listen).map_err(listen_error)?;
    socket.listen(config.backlog).map_err(listen_error)
}

/// Accepts until `stop` is cancelled, then stops accepting (the listening socket is
/// closed, so new clients are refused), lets open connections finish for up to
/// `shutdown_timeout`, closes what is left and returns.
///
/// Past `max_connections`, it stops calling `accept(2)`: further clients wait in the
/// kernel's listen backlog until a connection ends. Accept errors (EMFILE, ENFILE,
/// ECONNABORTED, ...) are logged and retried after a short, growing pause.
pub async fn serve(listener: TcpListener, config: Config, stop: CancellationToken) {
    let shared = Arc::new(Shared::new(config));
    let config = &shared.config;
    let tracker = TaskTracker::new();
    let force_close = CancellationToken::new();
    let limit = config.max_connections.map(|n| Arc::new(Semaphore::new(n)));
    let mut backoff = BACKOFF_MIN;
    let mut failures: u64 = 0;

    if let Ok(addr) = listener.local_addr() {
        info!("listening on [{}] {} ...", addr.ip(), addr.port());
    }
    loop {
        let permit = match &limit {
            Some(limit) => tokio::select! {
                permit = limit.clone().acquire_owned() => {
                    Some(permit.expect("the connection semaphore is never closed"))
                }
                _ = stop.cancelled() => break,
            },
            None => None,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.cancelled() => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                if failures > 0 {
                    info!("accepting again after {failures} failed accept(2) calls");
                }
                failures = 0;
                backoff = BACKOFF_MIN;
                tracker.spawn(relay::serve(
                    stream,
                    peer,
                    shared.clone(),
                    force_close.clone(),
                    permit,
                ));
            }
            Err(e) => {
                // Out of fds (EMFILE, ENFILE), or a client gone before we accepted it
                // (ECONNABORTED): the listener stays; pause so the loop never spins.
                failures += 1;
                if failures == 1 {
                    warn!("accept: {e} ({}); retrying", describe(&e));
                } else {
                    debug!("accept: {e}; retrying in {backoff:?}");
                }
                tokio::select! {
                    _ = sleep(backoff) => {}
                    _ = stop.cancelled() => break,
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
    drop(listener);

    tracker.close();
    if !tracker.is_empty() {
        info!(
            "stopped accepting; waiting up to {:?} for {} open connection(s)",
            config.shutdown_timeout,
            tracker.len()
        );
    }
    if timeout(config.shutdown_timeout, tracker.wait())
        .await
        .is_err()
    {
        warn!(
            "shutdown timeout: closing {} open connection(s)",
            tracker.len()
        );
        force_close.cancel();
        tracker.wait().await;
    }
    info!("all connections closed; exiting");
}

fn describe(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::EMFILE) => "this process is out of file descriptors",
        Some(libc::ENFILE) => "the system is out of file descriptors",
        Some(libc::ECONNABORTED) => "a client left before it was accepted",
        Some(libc::ENOBUFS) | Some(libc::ENOMEM) => "out of memory for sockets",
        _ => "unexpected",
    }
}
