//! One client connection: pick a backend, copy both ways, end it cleanly, log it.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::error::Elapsed;
use tokio::time::{sleep_until, timeout_at};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::addr::Backend;
use crate::config::Config;
use crate::copy::{Activity, pump};

/// What every worker and connection task shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    /// `--max-connections`: one permit per open connection.
    pub(crate) limit: Option<Arc<Semaphore>>,
    /// Connections open now, on every worker.
    pub(crate) open: AtomicUsize,
    /// Connections open now, per worker thread.
    load: Box<[AtomicUsize]>,
    /// Round-robin position over `config.backends`.
    next_backend: AtomicUsize,
    /// Numbers the connections for the logs.
    next_id: AtomicU64,
}

impl Shared {
    pub(crate) fn new(config: Config, workers: usize) -> Shared {
        Shared {
            limit: config.max_connections.map(|n| Arc::new(Semaphore::new(n))),
            config,
            open: AtomicUsize::new(0),
            load: (0..workers.max(1)).map(|_| AtomicUsize::new(0)).collect(),
            next_backend: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
        }
    }
}

impl Shared {
    /// Open connections on `worker`.
    pub(crate) fn load(&self, worker: usize) -> usize {
        self.load[worker].load(Ordering::Relaxed)
    }

    /// The worker with the fewest open connections, and that number.
    pub(crate) fn least_loaded(&self) -> (usize, usize) {
        let mut best = (0, usize::MAX);
        for (worker, load) in self.load.iter().enumerate() {
            let load = load.load(Ordering::Relaxed);
            if load < best.1 {
                best = (worker, load);
            }
        }
        best
    }
}

/// A connection counted as open (on `worker`, and in all) from the moment a worker
/// is chosen for it to the end of its task.
#[derive(Debug)]
pub(crate) struct Ticket {
    shared: Arc<Shared>,
    worker: usize,
}

impl Ticket {
    pub(crate) fn new(shared: &Arc<Shared>, worker: usize) -> Ticket {
        shared.open.fetch_add(1, Ordering::Relaxed);
        shared.load[worker].fetch_add(1, Ordering::Relaxed);
        Ticket {
            shared: shared.clone(),
            worker,
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.shared.load[self.worker].fetch_sub(1, Ordering::Relaxed);
        self.shared.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How a connection ended.
#[derive(Debug)]
enum Ending {
    /// Both directions reached EOF and were passed on.
    Done,
    /// A socket failed: a reset, EPIPE, or something rarer. The other side is reset.
    Failed(io::Error),
    /// No byte moved for `--idle-timeout`.
    Idle,
    /// Half-closed, and no byte moved for `--half-close-timeout`.
    HalfClosed,
    /// `--shutdown-timeout` ran out during a drain.
    Shutdown,
}

/// Serves one accepted client until both directions end, and logs it.
pub(crate) async fn serve(
    client: TcpStream,
    peer: SocketAddr,
    ticket: Ticket,
    force_close: CancellationToken,
    permit: Option<OwnedSemaphorePermit>,
) {
    let _permit = permit; // released when this connection ends
    let shared = &*ticket.shared;
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    if tracing::enabled!(tracing::Level::INFO) {
        // netcat's words, so the log reads like `nc -v` did (`getsockname(2)` only
        // when the line is shown).
        let local = client.local_addr().unwrap_or(shared.config.listen);
        info!(
            conn = id,
            "connect to [{}] from [{}] {}",
            local.ip(),
            peer.ip(),
            peer.port()
        );
    }
    let config = &shared.config;

    let connected = tokio::select! {
        c = connect(shared) => c,
        _ = force_close.cancelled() => return,
    };
    let (backend, name) = match connected {
        Ok(found) => found,
        Err(e) => {
            // Not fatal: this client is closed at once, the next one tries again.
            warn!(
                conn = id,
                "no backend for [{}] {}: {e}; closing the client",
                peer.ip(),
                peer.port()
            );
            return;
        }
    };
    debug!(conn = id, "forwarding to {name}");
    // On Linux the client socket has TCP_NODELAY from the listener already.
    #[cfg(not(target_os = "linux"))]
    let _ = client.set_nodelay(true);
    let _ = backend.set_nodelay(true);

    let rcvd = AtomicU64::new(0); // client → backend
    let sent = AtomicU64::new(0); // backend → client
    let activity = Activity::new();
    let both = async {
        tokio::try_join!(
            pump(
                &client,
                &backend,
                config.buffer_size,
                config.copy_mode,
                &rcvd,
                &activity
            ),
            pump(
                &backend,
                &client,
                config.buffer_size,
                config.copy_mode,
                &sent,
                &activity
            ),
        )
    };
    // The timeouts and the drain wake this task a few times in its life, the
    // sockets once per message: `OnWake` polls the former only when their own waker
    // fired, not on every byte's wakeup (which cost ~4% of the proxy's CPU on 1 KiB
    // keep-alive requests, mostly the cancellation token's lock).
    let rare = std::pin::pin!(async {
        tokio::select! {
            e = watchdog(&activity, config.idle_timeout, config.half_close_timeout) => e,
            _ = force_close.cancelled() => Ending::Shutdown,
        }
    });
    let ending = tokio::select! {
        biased;
        r = both => match r {
            Ok(_) => Ending::Done,
            Err(e) => Ending::Failed(e),
        },
        e = OnWake::new(rare) => e,
    };

    let (sent, rcvd) = (sent.load(Ordering::Relaxed), rcvd.load(Ordering::Relaxed));
    let seconds = started.elapsed().as_secs_f64();
    match &ending {
        Ending::Done => debug!(conn = id, "both directions ended"),
        Ending::Failed(e) if is_normal_ending(e) => {
            // A reset on one side resets the other: SO_LINGER 0, then close.
            reset(&client);
            reset(&backend);
            debug!(conn = id, "ended by the peer: {e}; reset the other side");
        }
        Ending::Failed(e) => {
            reset(&client);
            reset(&backend);
            warn!(conn = id, "connection failed: {e}");
        }
        Ending::Idle => info!(conn = id, "idle timeout: closing"),
        Ending::HalfClosed => info!(conn = id, "half-close timeout: closing"),
        Ending::Shutdown => info!(conn = id, "shutdown timeout: closing"),
    }
    info!(
        conn = id,
        sent,
        rcvd,
        seconds,
        " sent {sent}, rcvd {rcvd} ({seconds:.3}s, [{}] {})",
        peer.ip(),
        peer.port()
    );
    // Dropping both streams closes them, only now that both directions are over.
}

/// A future that is polled only when its own waker has fired since its last poll
/// (and on the first poll), however often the task that holds it is woken by
/// something else.
///
/// `inner` gets a waker of its own that sets a flag and then wakes the task. The
/// task's waker is compared on every poll (a pointer comparison) and stored again
/// only if it changed; the lock is taken only then and when `inner` wakes.
struct OnWake<F> {
    inner: F,
    /// The task waker last handed to `flag`.
    task: Option<Waker>,
    flag: Arc<WakeFlag>,
}

#[derive(Debug)]
struct WakeFlag {
    woken: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(task) = task.as_ref() {
            task.wake_by_ref();
        }
    }
}

impl<F: Future + Unpin> OnWake<F> {
    fn new(inner: F) -> OnWake<F> {
        OnWake {
            inner,
            task: None,
            flag: Arc::new(WakeFlag {
                woken: AtomicBool::new(true), // the first poll registers `inner`
                task: Mutex::new(None),
            }),
        }
    }
}

impl<F: Future + Unpin> Future for OnWake<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        if !this.task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
            this.task = Some(cx.waker().clone());
            *this.flag.task.lock().unwrap_or_else(|e| e.into_inner()) = this.task.clone();
        }
        if !this.flag.woken.swap(false, Ordering::Acquire) {
            return Poll::Pending;
        }
        let waker = Waker::from(this.flag.clone());
        Pin::new(&mut this.inner).poll(&mut Context::from_waker(&waker))
    }
}

/// EPIPE and ECONNRESET are how TCP connections end every day, not bugs. Rust's
/// runtime sets SIGPIPE to "ignore" before `main`, so a write to a socket whose peer
/// is gone returns EPIPE here instead of killing the process as it killed `nc`.
fn is_normal_ending(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::NotConnected
    )
}

/// Makes the coming close send RST instead of FIN (`SO_LINGER` with 0 seconds).
fn reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

/// Round-robin: start at the next backend, and on a refused or timed-out connect
/// try the following ones (every address of each) before giving up on the client.
async fn connect(shared: &Shared) -> io::Result<(TcpStream, &Backend)> {
    let backends = &shared.config.backends;
    let first = shared.next_backend.fetch_add(1, Ordering::Relaxed);
    let mut last_error = None;
    for i in 0..backends.len() {
        let backend = &backends[(first + i) % backends.len()];
        for &addr in &backend.addrs {
            match connect_within(addr, shared.config.connect_timeout).await {
                Ok(Ok(stream)) => return Ok((stream, backend)),
                Ok(Err(e)) => {
                    debug!("connect to {addr} ({backend}): {e}");
                    last_error = Some(e);
                }
                Err(_) => {
                    debug!("connect to {addr} ({backend}): timed out");
                    last_error = Some(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("connect to {backend} timed out"),
                    ));
                }
            }
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no backend address")))
}

/// [`connect_one`], given up on after `limit`.
///
/// The timer is armed only if the connect is still under way after one turn of the
/// reactor. A connect on loopback (or to a nearby host) is done by then, and a timer
/// armed for it would be the reactor's earliest one, whose arming writes to its
/// eventfd to wake it (tokio does so for every new earliest deadline): 0.35
/// `write(2)` per connection under `wrk -H 'Connection: close'`, measured.
async fn connect_within(
    addr: SocketAddr,
    limit: Duration,
) -> Result<io::Result<TcpStream>, Elapsed> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut connecting = std::pin::pin!(connect_one(addr));
    tokio::select! {
        biased;
        done = &mut connecting => return Ok(done),
        // Wakes this task only after the reactor has polled the sockets once.
        () = tokio::task::yield_now() => {}
    }
    timeout_at(deadline, connecting).await
}

/// `connect(2)` to one address. Out of fds (EMFILE, ENFILE) is no fault of the
/// backend, so it is retried a few times over about 35 ms in case other connections
/// free some; not longer: if every fd is held by accepted clients that wait for a
/// backend socket, none would ever come, so the client is closed, which frees its fd.
async fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
    let mut pause = Duration::from_millis(5);
    for _ in 0..3 {
        match TcpStream::connect(addr).await {
            Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                debug!("connect to {addr}: {e}; retrying in {pause:?}");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            other => return other,
        }
    }
    TcpStream::connect(addr).await
}

/// Ends the connection when it has been quiet too long: `--idle-timeout` while both
/// directions are open, the shorter of it and `--half-close-timeout` once one has
/// ended. Never returns for an open connection without an idle timeout.
async fn watchdog(activity: &Activity, idle: Option<Duration>, half_close: Duration) -> Ending {
    loop {
        let half_closed = activity.is_half_closed();
        let limit = if half_closed {
            Some(idle.map_or(half_close, |idle| idle.min(half_close)))
        } else {
            idle
        };
        let Some(limit) = limit else {
            activity.changed.notified().await;
            continue;
        };
        let deadline = activity.last() + limit;
        if tokio::time::Instant::now() >= deadline {
            return if half_closed {
                Ending::HalfClosed
            } else {
                Ending::Idle
            };
        }
        tokio::select! {
            _ = sleep_until(deadline) => {}
            _ = activity.changed.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::timeout;

    // ---- watchdog (virtual time: tokio's clock is paused and auto-advanced) ----

    #[tokio::test(start_paused = true)]
    async fn an_open_connection_without_idle_timeout_is_never_closed() {
        let activity = Activity::new();
        let waited = timeout(
            Duration::from_secs(24 * 3600),
            watchdog(&activity, None, Duration::from_secs(60)),
        )
        .await;
        assert!(waited.is_err(), "the watchdog fired: {waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_connection_is_closed_after_the_idle_timeout() {
        let activity = Activity::new();
        let start = tokio::time::Instant::now();
        let ending = watchdog(
            &activity,
            Some(Duration::from_secs(5)),
            Duration::from_secs(60),
        )
        .await;
        assert!(matches!(ending, Ending::Idle), "{ending:?}");
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(5) && waited < Duration::from_millis(5010));
    }

    #[tokio::test(start_paused = true)]
    async fn once_half_closed_the_shorter_half_close_timeout_applies() {
        let activity = Activity::new();
        let start = tokio::time::Instant::now();
        let (ending, ()) = tokio::join!(
            watchdog(
                &activity,
                Some(Duration::from_secs(300)),
                Duration::from_secs(2)
            ),
            async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                activity.set_half_closed();
            }
        );
        assert!(matches!(ending, Ending::HalfClosed), "{ending:?}");
        // Measured from the last byte (none moved: the start), not from the FIN.
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(2) && waited < Duration::from_millis(2010));
    }

    // ---- connect timeout (real sockets, real time) ----

    #[tokio::test]
    async fn a_connect_that_hangs_is_given_up_on_after_the_limit() {
        // A listener with a full accept queue drops further SYNs: the connect hangs.
        let listener =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        listener
            .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        listener.listen(0).unwrap();
        let addr = listener.local_addr().unwrap().as_socket().unwrap();
        let _queued = [std::net::TcpStream::connect(addr).unwrap()];
        let started = Instant::now();
        let got = connect_within(addr, Duration::from_millis(300)).await;
        let waited = started.elapsed();
        assert!(got.is_err(), "{got:?}");
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
    }

    #[tokio::test]
    async fn a_connect_that_succeeds_at_once_is_not_held_up() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let got = connect_within(addr, Duration::from_secs(5)).await;
        assert!(matches!(got, Ok(Ok(_))), "{got:?}");
    }

    #[test]
    fn resets_and_broken_pipes_are_normal_endings() {
        for kind in [
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::ConnectionAborted,
        ] {
            assert!(is_normal_ending(&io::Error::from(kind)));
        }
        assert!(!is_normal_ending(&io::Error::from(io::ErrorKind::TimedOut)));
    }
}
