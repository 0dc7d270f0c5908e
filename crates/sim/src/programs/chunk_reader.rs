//! `chunk-reader [--slow MS] CHUNK_SIZE`: reads its stdin to the end in reads of
//! at most CHUNK_SIZE bytes and prints one line on stdout:
//!
//! ```text
//! read 1000000 bytes in 245 chunks of at most 4096 bytes
//! ```
//!
//! Its memory is its one buffer of CHUNK_SIZE bytes, whatever the size of the
//! input: each chunk is counted and dropped before the next read. That is the
//! point of the "chunks and backpressure" lesson: a reader that keeps up holds
//! little; a reader that falls behind does not grow either, because the pipe
//! (65536 bytes) fills and the kernel blocks the writer in `write(2)` until the
//! reader makes room.
//!
//! In `yes | head -c 1000000 | chunk-reader 4096` the pipe already fills to
//! 65536 bytes with `head` blocked in `write` (tests/chunks.rs checks it): yes
//! and head together are ahead of a reader taking 4096 bytes a step. `--slow MS`
//! makes the reader fall further behind, so the pipe stays full: it spends MS
//! milliseconds of CPU time on each chunk (as [`Sys::compute`]), standing for
//! real work on the data. It is compute time rather than a `nanosleep` on
//! purpose: the trace stays one `read` per chunk, and the reader is never itself
//! shown blocked, so the only process the diagram shows waiting is `head`, in
//! `write`, with the pipe at 65536 bytes; and every read then gets a full chunk
//! (1000000 bytes in 245 reads of 4096).
//!
//! Usage errors (a missing or extra operand, a CHUNK_SIZE outside 1..=1048576,
//! an MS outside 0..=60000) print the reason and `usage: chunk-reader [--slow MS]
//! CHUNK_SIZE` on stderr and exit 2; a read error prints `chunk-reader: read:
//! ...` and exits 1.

use crate::kernel::Micros;
use crate::programs::userland::{STDIN, STDOUT, eprint, parse_u64, strerror};
use crate::sys::{Sys, Task};

/// The largest chunk: 1 MiB, the most one simulated read moves.
pub const MAX_CHUNK_BYTES: u64 = 1 << 20;
/// The longest `--slow` delay per chunk: one minute.
const MAX_SLOW_MS: u64 = 60_000;
const USAGE: &str = "usage: chunk-reader [--slow MS] CHUNK_SIZE\n";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Args {
    chunk_bytes: usize,
    slow_ms: u64,
}

/// `[--slow MS] CHUNK_SIZE`, or the reason they are wrong.
fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut slow_ms = 0;
    let mut operands = Vec::new();
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "--slow" {
            let v = it.next().ok_or("--slow needs a number of milliseconds")?;
            slow_ms = parse_u64(v)
                .filter(|ms| *ms <= MAX_SLOW_MS)
                .ok_or_else(|| format!("invalid delay: '{v}' (0..={MAX_SLOW_MS} ms)"))?;
        } else if let Some(v) = a.strip_prefix("--slow=") {
            slow_ms = parse_u64(v)
                .filter(|ms| *ms <= MAX_SLOW_MS)
                .ok_or_else(|| format!("invalid delay: '{v}' (0..={MAX_SLOW_MS} ms)"))?;
        } else {
            operands.push(a);
        }
    }
    let [size] = operands.as_slice() else {
        return Err(if operands.is_empty() {
            "missing CHUNK_SIZE".to_string()
        } else {
            "too many operands".to_string()
        });
    };
    let chunk_bytes = parse_u64(size)
        .filter(|n| (1..=MAX_CHUNK_BYTES).contains(n))
        .ok_or_else(|| format!("invalid chunk size: '{size}' (1..={MAX_CHUNK_BYTES} bytes)"))?;
    Ok(Args {
        chunk_bytes: chunk_bytes as usize,
        slow_ms,
    })
}

pub fn main(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(run(sys, argv))
}

async fn run(sys: Sys, argv: Vec<String>) -> i32 {
    let args = match parse_args(&argv) {
        Ok(a) => a,
        Err(why) => {
            eprint(&sys, &format!("chunk-reader: {why}\n{USAGE}")).await;
            return 2;
        }
    };
    let mut total: u64 = 0;
    let mut chunks: u64 = 0;
    loop {
        match sys.read(STDIN, args.chunk_bytes).await {
            Ok(chunk) if chunk.is_empty() => break,
            Ok(chunk) => {
                total += chunk.len() as u64;
                chunks += 1;
                sys.compute(args.slow_ms as Micros * 1000);
            }
            Err(crate::kernel::Errno::EINTR) => continue,
            Err(e) => {
                eprint(&sys, &format!("chunk-reader: read: {}\n", strerror(e))).await;
                return 1;
            }
        }
    }
    let line = format!(
        "read {total} bytes in {chunks} chunks of at most {} bytes\n",
        args.chunk_bytes
    );
    match sys.write_all(STDOUT, line.as_bytes()).await {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        let argv: Vec<String> = std::iter::once("chunk-reader")
            .chain(s.split_whitespace())
            .map(String::from)
            .collect();
        parse_args(&argv)
    }

    #[test]
    fn chunk_size_is_1_to_1_mib() {
        assert_eq!(args("1").map(|a| a.chunk_bytes), Ok(1));
        assert_eq!(args("1048576").map(|a| a.chunk_bytes), Ok(1 << 20));
        assert!(args("0").is_err());
        assert!(args("1048577").is_err());
        assert!(args("4k").is_err());
        assert!(args("").is_err());
        assert!(args("1 2").is_err());
    }

    #[test]
    fn slow_takes_milliseconds_before_or_after_the_size() {
        let want = Ok(Args {
            chunk_bytes: 4096,
            slow_ms: 5,
        });
        assert_eq!(args("--slow 5 4096"), want);
        assert_eq!(args("4096 --slow 5"), want);
        assert_eq!(args("--slow=5 4096"), want);
        assert!(args("--slow 4096").is_err());
        assert!(args("--slow 60001 4096").is_err());
    }
}
