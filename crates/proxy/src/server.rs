//! The listener: bind, accept concurrently on every worker thread, drain on shutdown.
//!
//! One thread per core, each with its own single-threaded tokio runtime, all
//! accepting on the same listening socket (each through its own `dup(2)` of it, as
//! nginx workers do). A connection lives its whole life on one thread: no task ever
//! moves between threads and no wakeup crosses one, which measured about 20% less
//! CPU per request than tokio's work-stealing runtime here.
//!
//! Whichever worker wakes first may accept a whole burst of connections, so a
//! worker that finds itself ahead of the least loaded one hands the new connection
//! over through a channel. A connection is registered with a reactor (`epoll_ctl`)
//! only once it is known which worker serves it, so a hand-off costs no syscall of
//! its own. Balanced, without a cost per byte or per wakeup.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::{sleep, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::Error;
use crate::config::Config;
use crate::relay::{self, Shared, Ticket};

/// A connection accepted by one worker and handed to another.
type Handoff = (
    std::net::TcpStream,
    std::net::SocketAddr,
    Ticket,
    Option<OwnedSemaphorePermit>,
);

/// What a worker needs besides its listener: the shared state, every worker's
/// inbox, and the two tokens.
#[derive(Clone)]
struct Ctx {
    shared: Arc<Shared>,
    inboxes: Arc<[UnboundedSender<Handoff>]>,
    stop: CancellationToken,
    force_close: CancellationToken,
}

/// The first pause after a failed `accept(2)`; it doubles up to `BACKOFF_MAX`.
const BACKOFF_MIN: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// `socket(2)`, `bind(2)`, `listen(2)` with the configured backlog. `SO_REUSEADDR`
/// lets a restarted proxy bind while old connections sit in TIME-WAIT.
/// `TCP_NODELAY` is set on the listener because Linux copies it to every socket
/// accepted from it: one `setsockopt(2)` in all instead of one per client.
pub fn bind(config: &Config) -> Result<std::net::TcpListener, Error> {
    use socket2::{Domain, Socket, Type};
    let listen_error = |source| Error::Listen {
        addr: config.listen,
        source,
    };
    let socket = Socket::new(Domain::for_address(config.listen), Type::STREAM, None)
        .map_err(listen_error)?;
    socket.set_reuse_address(true).map_err(listen_error)?;
    socket.set_tcp_nodelay(true).map_err(listen_error)?;
    socket.bind(&config.listen.into()).map_err(listen_error)?;
    let backlog = i32::try_from(config.backlog).unwrap_or(i32::MAX);
    socket.listen(backlog).map_err(listen_error)?;
    socket.set_nonblocking(true).map_err(listen_error)?;
    Ok(socket.into())
}

/// Serves on `threads` worker threads (the calling thread is one of them) until
/// `stop` is cancelled; then every worker stops accepting (the listening socket is
/// closed, so new clients are refused), lets its open connections finish for up to
/// `shutdown_timeout`, closes what is left, and this returns.
///
/// Past `max_connections`, no worker calls `accept(2)`: further clients wait in the
/// kernel's listen backlog until a connection ends. Accept errors (EMFILE, ENFILE,
/// ECONNABORTED, ...) are logged and retried after a short, growing pause.
pub fn serve(
    listener: std::net::TcpListener,
    config: Config,
    threads: usize,
    stop: CancellationToken,
) -> io::Result<()> {
    let workers = threads.max(1);
    let shared = Arc::new(Shared::new(config, workers));
    if let Ok(addr) = listener.local_addr() {
        info!("listening on [{}] {} ...", addr.ip(), addr.port());
    }
    let (senders, mut receivers): (Vec<_>, Vec<_>) =
        (0..workers).map(|_| unbounded_channel()).unzip();
    let ctx = Ctx {
        shared,
        inboxes: senders.into(),
        stop,
        force_close: CancellationToken::new(),
    };
    let mut threads = Vec::new();
    for index in (1..workers).rev() {
        let listener = listener.try_clone()?;
        let (ctx, inbox) = (ctx.clone(), receivers.pop().expect("one inbox per worker"));
        threads.push(
            thread::Builder::new()
                .name(format!("pipelab-proxy-{index}"))
                .spawn(move || worker(index, listener, inbox, ctx))?,
        );
    }
    let inbox = receivers.pop().expect("one inbox per worker");
    let mut result = worker(0, listener, inbox, ctx);
    for t in threads {
        let joined = t.join().expect("a worker thread panicked");
        result = result.and(joined);
    }
    info!("all connections closed; exiting");
    result
}

/// One worker thread: its own runtime, its own accept loop, its own connections.
fn worker(
    index: usize,
    listener: std::net::TcpListener,
    inbox: UnboundedReceiver<Handoff>,
    ctx: Ctx,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // SAFETY: a `std::net::TcpListener` owns its fd and always returns that one.
        let listener =
            unsafe { AsyncFd::register_with_interest(listener, tokio::io::Interest::READABLE) }
                .map_err(|e| e.into_parts().1)?;
        let tracker = TaskTracker::new();
        tokio::join!(
            accept_loop(index, &listener, &tracker, &ctx),
            take_handoffs(inbox, &tracker, &ctx),
        );
        drop(listener);
        drain(index, &ctx.shared, &tracker, &ctx.force_close).await;
        Ok(())
    })
}

/// Serves the connections other workers hand over, until the stop.
async fn take_handoffs(mut inbox: UnboundedReceiver<Handoff>, tracker: &TaskTracker, ctx: &Ctx) {
    loop {
        let handoff = tokio::select! {
            handoff = inbox.recv() => handoff,
            _ = ctx.stop.cancelled() => return,
        };
        let Some((stream, peer, ticket, permit)) = handoff else {
            return;
        };
        match TcpStream::from_std(stream) {
            Ok(stream) => {
                tracker.spawn(relay::serve(
                    stream,
                    peer,
                    ticket,
                    ctx.force_close.child_token(),
                    permit,
                ));
            }
            Err(e) => warn!(
                "cannot take over a connection from [{}] {}: {e}",
                peer.ip(),
                peer.port()
            ),
        }
    }
}

async fn accept_loop(
    index: usize,
    listener: &AsyncFd<std::net::TcpListener>,
    tracker: &TaskTracker,
    ctx: &Ctx,
) {
    let shared = &ctx.shared;
    let stop = &ctx.stop;
    let mut backoff = BACKOFF_MIN;
    let mut failures: u64 = 0;
    loop {
        let permit = match &shared.limit {
            Some(limit) => tokio::select! {
                permit = limit.clone().acquire_owned() => {
                    Some(permit.expect("the connection semaphore is never closed"))
                }
                _ = stop.cancelled() => return,
            },
            None => None,
        };
        let accepted = tokio::select! {
            accepted = accept(listener) => accepted,
            _ = stop.cancelled() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                if failures > 0 {
                    info!("accepting again after {failures} failed accept(2) calls");
                }
                failures = 0;
                backoff = BACKOFF_MIN;
                let (other, other_load) = shared.least_loaded();
                if other != index && other_load < shared.load(index) {
                    let ticket = Ticket::new(shared, other);
                    // Fails only when that worker has stopped: the connection is
                    // then closed, as at any shutdown.
                    let _ = ctx.inboxes[other].send((stream, peer, ticket, permit));
                    continue;
                }
                let stream = match TcpStream::from_std(stream) {
                    Ok(stream) => stream,
                    Err(e) => {
                        warn!("cannot serve [{}] {}: {e}", peer.ip(), peer.port());
                        continue;
                    }
                };
                tracker.spawn(relay::serve(
                    stream,
                    peer,
                    Ticket::new(shared, index),
                    // A child token per connection: its `cancelled()` future is
                    // polled on every wakeup, and a child's waiters live in its own
                    // node, not in one lock shared by every connection and thread.
                    ctx.force_close.child_token(),
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
                    _ = stop.cancelled() => return,
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// `accept(2)` (as `accept4(2)` with `SOCK_NONBLOCK | SOCK_CLOEXEC` where there is
/// one) once the listener is readable. Unlike tokio's `TcpListener::accept`, the new
/// socket is not registered with this worker's reactor yet: it may be handed to
/// another worker, and registering it here would cost an `epoll_ctl` ADD, then a
/// DEL before the hand-off.
async fn accept(
    listener: &AsyncFd<std::net::TcpListener>,
) -> io::Result<(std::net::TcpStream, std::net::SocketAddr)> {
    loop {
        let mut ready = listener.readable().await?;
        // `WouldBlock` clears the readiness: another worker took the connection.
        if let Ok(accepted) = ready.try_io(|listener| accept_nonblocking(listener.get_ref())) {
            return accepted;
        }
    }
}

fn accept_nonblocking(
    listener: &std::net::TcpListener,
) -> io::Result<(std::net::TcpStream, std::net::SocketAddr)> {
    let listener = socket2::SockRef::from(listener);
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let (socket, peer) = listener.accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)?;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let (socket, peer) = {
        let (socket, peer) = listener.accept()?;
        socket.set_nonblocking(true)?;
        (socket, peer)
    };
    let peer = peer
        .as_socket()
        .ok_or_else(|| io::Error::other("accept(2) gave a peer that is not an IP address"))?;
    Ok((socket.into(), peer))
}

/// Waits for this worker's connections, up to `--shutdown-timeout`, then closes
/// what is left (for every worker: they all reach the deadline together).
async fn drain(
    index: usize,
    shared: &Shared,
    tracker: &TaskTracker,
    force_close: &CancellationToken,
) {
    let limit = shared.config.shutdown_timeout;
    tracker.close();
    let open = shared.open.load(Ordering::Relaxed);
    if index == 0 && open > 0 {
        info!("stopped accepting; waiting up to {limit:?} for {open} open connection(s)");
    }
    if timeout(limit, tracker.wait()).await.is_err() {
        if !force_close.is_cancelled() {
            let open = shared.open.load(Ordering::Relaxed);
            warn!("shutdown timeout: closing {open} open connection(s)");
        }
        force_close.cancel();
        tracker.wait().await;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    #[test]
    #[cfg(target_os = "linux")]
    fn a_client_accepted_from_the_listener_has_tcp_nodelay_already() {
        // relay.rs relies on this to skip a setsockopt(2) per client on Linux.
        let config = Config::new(
            "127.0.0.1:0".parse().unwrap(),
            vec![crate::addr::parse_backend("127.0.0.1:1").unwrap()],
        );
        let listener = bind(&config).unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        listener.set_nonblocking(false).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert!(accepted.nodelay().unwrap());
    }
}
