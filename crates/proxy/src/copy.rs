//! Moving bytes one way, from `src` to `dst`, never faster than `dst` takes them.
//!
//! Memory stays bounded because each direction holds at most one buffer (or one
//! pipe) and only while bytes are in flight: it waits for `src` to be readable with
//! nothing in hand, takes a buffer from a small pool, reads and writes until `src`
//! would block, and gives the buffer back. An idle connection therefore holds no
//! buffer at all, and a slow reader stalls its writer through the kernel's socket
//! buffers (backpressure) instead of growing anything here.
//!
//! How the bytes move ([`CopyMode`]):
//! - `Buffer`, portable: `recv` into a user-space buffer, `send` from it;
//! - `Splice`, Linux: `splice(2)` socket → pipe → socket, the bytes never reach
//!   user space; the pipe is pooled like a buffer;
//! - `Auto`, the default: each burst starts with a buffer and moves to splice once a
//!   read fills it, so small messages skip the pipe's extra syscalls and bulk data
//!   skips the copy.

use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How many idle buffers (or pipes) a pool keeps for reuse; the rest are freed.
const POOL_MAX: usize = 16;

/// What the two directions of one connection share with its watchdog.
#[derive(Debug)]
pub(crate) struct Activity {
    start: Instant,
    /// Milliseconds from `start` to the last byte moved, either way.
    last_ms: AtomicU64,
    /// One direction has ended (EOF passed on as `shutdown(SHUT_WR)`).
    half_closed: AtomicBool,
    /// Wakes the watchdog when `half_closed` changes.
    pub(crate) changed: Notify,
}

impl Activity {
    pub(crate) fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            half_closed: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// When a byte last moved, either way.
    pub(crate) fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    pub(crate) fn is_half_closed(&self) -> bool {
        self.half_closed.load(Ordering::Acquire)
    }

    pub(crate) fn set_half_closed(&self) {
        self.half_closed.store(true, Ordering::Release);
        self.changed.notify_one();
    }
}

/// How bytes are moved from one socket to the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyMode {
    /// `recv` into a user-space buffer, `send` from it. Portable.
    Buffer,
    /// `splice(2)` through a pipe, always (Linux).
    Splice,
    /// Start each burst with a buffer; once a read fills it (bulk data is flowing),
    /// splice the rest of the burst. Small messages take the cheaper buffer path,
    /// large transfers skip the copy through user space. Linux; elsewhere `Buffer`.
    Auto,
}

/// Copies `src` to `dst` until `src` ends, then passes the EOF on with
/// `shutdown(SHUT_WR)` on `dst`, so `dst`'s peer sees the end while the other
/// direction keeps flowing. `moved` counts the bytes written to `dst`.
///
/// An error (a reset, EPIPE) is returned as is; the caller decides what it means.
pub(crate) async fn pump(
    src: &TcpStream,
    dst: &TcpStream,
    buffer_size: usize,
    mode: CopyMode,
    moved: &AtomicU64,
    activity: &Activity,
) -> io::Result<()> {
    let flow = Flow {
        src,
        dst,
        buffer_size,
        moved,
        activity,
        trust_short_reads: single_threaded_reactor(),
    };
    loop {
        // Wait with empty hands: an idle direction holds no buffer and no pipe.
        let ready = src.ready(Interest::READABLE | Interest::ERROR).await?;
        // The peer's FIN had arrived (EPOLLRDHUP) before this burst's reads, and no
        // error (a reset) with it: a short read then takes the last bytes.
        let fin_seen = ready.is_read_closed() && !ready.is_error();
        let ended = match mode {
            #[cfg(target_os = "linux")]
            CopyMode::Splice => match linux::splice_burst(&flow).await? {
                Some(ended) => ended,
                None => flow.buffered_burst(false, fin_seen).await?, // no pipe to be had
            },
            _ => {
                flow.buffered_burst(mode == CopyMode::Auto, fin_seen)
                    .await?
            }
        };
        if ended {
            break;
        }
    }
    if !activity.is_half_closed() {
        socket2::SockRef::from(dst).shutdown(std::net::Shutdown::Write)?;
        activity.set_half_closed();
    }
    // Else the other direction has ended already: both sockets are closed as soon
    // as this returns, and that close sends the FIN, so `shutdown` would be a
    // wasted syscall.
    Ok(())
}

/// One direction of one connection.
struct Flow<'a> {
    src: &'a TcpStream,
    dst: &'a TcpStream,
    buffer_size: usize,
    moved: &'a AtomicU64,
    activity: &'a Activity,
    trust_short_reads: bool,
}

impl Flow<'_> {
    fn count(&self, n: usize) {
        self.moved.fetch_add(n as u64, Ordering::Relaxed);
        self.activity.touch();
    }

    /// Moves what `src` has until it would block (`Ok(false)`) or ends (`Ok(true)`),
    /// through a pooled buffer; with `then_splice`, switches to `splice(2)` as soon
    /// as a read fills the buffer. `fin_seen`: `src`'s peer had sent its FIN before
    /// the first read here.
    async fn buffered_burst(&self, then_splice: bool, fin_seen: bool) -> io::Result<bool> {
        let mut buf = take_buffer(self.buffer_size);
        let result = async {
            loop {
                buf.clear();
                // `try_read_buf` reads into the spare capacity: no zeroing per read.
                match self.src.try_read_buf(&mut buf) {
                    Ok(0) => return Ok(Some(true)),
                    Ok(n) if n < self.buffer_size && fin_seen => {
                        // A short read emptied the receive queue, and no byte comes
                        // after a FIN: this is the end, without the `recv` that
                        // would return 0 (an HTTP response and its FIN, typically).
                        write_all(self.dst, &buf[..n]).await?;
                        self.count(n);
                        return Ok(Some(true));
                    }
                    Ok(n) => {
                        let drained = n < self.buffer_size && self.trust_short_reads;
                        if drained {
                            // A short read from a TCP socket emptied its receive
                            // queue: skip the `recv` that would only say EAGAIN.
                            // This must happen before the write below, which may
                            // yield: readiness set while it waits is news, not ours
                            // to clear.
                            forget_readable(self.src);
                        }
                        write_all(self.dst, &buf[..n]).await?;
                        self.count(n);
                        if drained {
                            return Ok(Some(false));
                        }
                        if n >= self.buffer_size && then_splice {
                            return Ok(None);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Some(false)),
                    Err(e) => return Err(e),
                }
            }
        }
        .await;
        give_buffer(buf);
        match result? {
            Some(ended) => Ok(ended),
            None => {
                #[cfg(target_os = "linux")]
                if let Some(ended) = linux::splice_burst(self).await? {
                    return Ok(ended);
                }
                // No pipe to be had (out of fds?): carry on with a buffer.
                Box::pin(self.buffered_burst(false, false)).await
            }
        }
    }
}

/// Whether this task runs on a current-thread runtime, whose reactor only runs
/// between task polls. Only then is [`forget_readable`] safe: called right after
/// the `recv`, with no `.await` between them, no readiness event can land in
/// between (and one that arrives after it is delivered by the next `epoll_wait`,
/// since the registration is edge-triggered). On a multi-threaded runtime the reactor may set readiness in
/// that gap, and clearing it would lose a wakeup, so there we keep the extra `recv`.
fn single_threaded_reactor() -> bool {
    matches!(
        tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()),
        Ok(tokio::runtime::RuntimeFlavor::CurrentThread)
    )
}

/// Clears `src`'s read readiness without a syscall (tokio clears it when an I/O
/// closure reports `WouldBlock`).
fn forget_readable(src: &TcpStream) {
    let _ = src.try_io(tokio::io::Interest::READABLE, || {
        Err::<(), _>(io::ErrorKind::WouldBlock.into())
    });
}

/// Writes all of `data`, waiting for room as often as needed: this wait is the
/// backpressure that slows a fast sender down to a slow receiver.
async fn write_all(dst: &TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match dst.try_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => dst.writable().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A small free list, so a busy proxy does not allocate a buffer per burst.
struct Pool<T> {
    free: Mutex<Vec<T>>,
}

impl<T> Pool<T> {
    const fn new() -> Pool<T> {
        Pool {
            free: Mutex::new(Vec::new()),
        }
    }

    fn pop(&self) -> Option<T> {
        self.free.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn give(&self, item: T) {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < POOL_MAX {
            free.push(item);
        }
    }
}

thread_local! {
    /// Each worker thread keeps its own free buffers: no lock on the hot path.
    static BUFFERS: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn take_buffer(size: usize) -> Vec<u8> {
    BUFFERS
        .with(|free| free.borrow_mut().pop())
        .filter(|b| b.capacity() >= size)
        .unwrap_or_else(|| Vec::with_capacity(size))
}

fn give_buffer(buf: Vec<u8>) {
    BUFFERS.with(|free| {
        let mut free = free.borrow_mut();
        if free.len() < POOL_MAX {
            free.push(buf);
        }
    });
}

#[cfg(target_os = "linux")]
mod linux {
    //! `splice(2)`: socket → pipe → socket without copying through user space.

    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use tokio::io::Interest;

    use super::{Flow, Pool};

    /// A pipe used as the in-kernel buffer of one direction.
    #[derive(Debug)]
    pub(super) struct Pipe {
        read: OwnedFd,
        write: OwnedFd,
    }

    impl Pipe {
        /// `pipe2(2)` with `O_NONBLOCK | O_CLOEXEC`, grown to `size` bytes with
        /// `fcntl(F_SETPIPE_SZ)` when allowed (the default is 64 KiB).
        fn new(size: usize) -> io::Result<Pipe> {
            let mut fds = [0; 2];
            // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
            let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
            let pipe = unsafe {
                Pipe {
                    read: OwnedFd::from_raw_fd(fds[0]),
                    write: OwnedFd::from_raw_fd(fds[1]),
                }
            };
            if size > 64 * 1024 {
                // SAFETY: F_SETPIPE_SZ on an fd we own; failure only leaves the size.
                unsafe {
                    libc::fcntl(
                        pipe.write.as_raw_fd(),
                        libc::F_SETPIPE_SZ,
                        size as libc::c_int,
                    )
                };
            }
            Ok(pipe)
        }
    }

    static PIPES: Pool<Pipe> = Pool::new();

    fn take_pipe(size: usize) -> io::Result<Pipe> {
        match PIPES.pop() {
            Some(pipe) => Ok(pipe),
            None => Pipe::new(size),
        }
    }

    fn splice(from: i32, to: i32, len: usize) -> io::Result<usize> {
        let flags = libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK;
        // SAFETY: plain fds and null offsets (both ends are a socket or a pipe).
        let n = unsafe {
            libc::splice(
                from,
                std::ptr::null_mut(),
                to,
                std::ptr::null_mut(),
                len,
                flags,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// Moves what `flow.src` has until it would block (`Some(false)`) or ends
    /// (`Some(true)`), socket → pipe → socket. `None` if no pipe could be made.
    pub(super) async fn splice_burst(flow: &Flow<'_>) -> io::Result<Option<bool>> {
        let (src, dst) = (flow.src, flow.dst);
        let (src_fd, dst_fd) = (src.as_raw_fd(), dst.as_raw_fd());
        let size = flow.buffer_size;
        let Ok(pipe) = take_pipe(size) else {
            return Ok(None);
        };
        let result: io::Result<bool> = async {
            loop {
                // The pipe is empty here, so EAGAIN can only mean "src has nothing".
                let n = match src.try_io(Interest::READABLE, || {
                    splice(src_fd, pipe.write.as_raw_fd(), size)
                }) {
                    Ok(0) => return Ok(true),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                    Err(e) => return Err(e),
                };
                let mut left = n;
                while left > 0 {
                    match dst.try_io(Interest::WRITABLE, || {
                        splice(pipe.read.as_raw_fd(), dst_fd, left)
                    }) {
                        Ok(m) => left -= m,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => dst.writable().await?,
                        Err(e) => return Err(e),
                    }
                }
                flow.count(n);
            }
        }
        .await;
        // A pipe still holding bytes (after an error) is closed, never reused.
        if result.is_ok() {
            PIPES.give(pipe);
        }
        result.map(Some)
    }
}
