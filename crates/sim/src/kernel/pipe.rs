//! Pipes and the buffers behind FIFOs: `fs/pipe.c`.
//!
//! The buffer is a ring of page slots, as in Linux: 16 slots (`PIPE_DEF_BUFFERS`) of
//! one page each. A write first tops up the last slot, but only with the part of the
//! write that is not a whole number of pages and only if all of that part fits
//! there; the rest takes fresh slots. So the capacity depends on the write size:
//! 65536 bytes with 1-, 512- or 4096-byte writes, 64000 with 100-byte writes and
//! 48000 with 3000-byte writes (measured, `shared/ground-truth` §8.2). A slot is
//! freed only when the reader has emptied it.
//!
//! The object never blocks: it answers `EAGAIN` and the syscall layer decides
//! whether to park the caller.

use std::collections::VecDeque;

use super::errno::{Errno, SysResult};

/// `PAGE_SIZE` on x86-64.
pub const PAGE_SIZE: usize = 4096;
/// `PIPE_DEF_BUFFERS` (`include/linux/pipe_fs_i.h`): slots in a new pipe.
pub const PIPE_DEF_BUFFERS: usize = 16;
/// `PIPE_BUF` (`include/uapi/linux/limits.h`): writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;
/// Bytes a pipe holds when every slot is full.
pub const PIPE_CAPACITY: usize = PAGE_SIZE * PIPE_DEF_BUFFERS;

/// One page slot: bytes not yet read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Slot {
    data: Vec<u8>,
    /// Bytes of this page already consumed by the reader (`pipe_buffer.offset`).
    consumed: usize,
}

impl Slot {
    fn unread(&self) -> &[u8] {
        &self.data[self.consumed..]
    }
}

/// A pipe's buffer and its reader and writer counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pipe {
    slots: VecDeque<Slot>,
    /// Open file descriptions on the read side (`pipe->readers`).
    pub readers: u32,
    /// Open file descriptions on the write side (`pipe->writers`).
    pub writers: u32,
    /// How many times a writer has opened it (`pipe->w_counter`): a FIFO reader sees
    /// POLLHUP only once a writer has come since it opened.
    pub w_counter: u64,
    /// Likewise for readers (`pipe->r_counter`), for FIFO open rendezvous.
    pub r_counter: u64,
}

/// The outcome of a write the pipe accepted at least partly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// All `n` bytes went in.
    All(usize),
    /// Only `n` bytes fit before the pipe filled up.
    Partial(usize),
}

impl Pipe {
    /// A pipe made by `pipe(2)`: one reader, one writer.
    pub fn anonymous() -> Pipe {
        Pipe {
            readers: 1,
            writers: 1,
            w_counter: 1,
            r_counter: 1,
            ..Pipe::default()
        }
    }

    /// Unread bytes.
    pub fn len(&self) -> usize {
        self.slots.iter().map(|s| s.unread().len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Slots in use (`head - tail`).
    pub fn slots_used(&self) -> usize {
        self.slots.len()
    }

    pub fn is_full(&self) -> bool {
        self.slots.len() >= PIPE_DEF_BUFFERS
    }

    /// `pipe_write()`, minus the blocking. Errors: `EPIPE` with no readers (the
    /// caller raises SIGPIPE), `EAGAIN` when nothing fits.
    pub fn write(&mut self, data: &[u8]) -> SysResult<WriteOutcome> {
        if self.readers == 0 {
            return Err(Errno::EPIPE);
        }
        if data.is_empty() {
            return Ok(WriteOutcome::All(0));
        }
        let mut written = 0;
        // The part that is not a whole number of pages may top up the last slot.
        let chars = data.len() % PAGE_SIZE;
        if chars > 0
            && let Some(last) = self.slots.back_mut()
            && last.data.len() + chars <= PAGE_SIZE
        {
            last.data.extend_from_slice(&data[..chars]);
            written = chars;
        }
        while written < data.len() && !self.is_full() {
            let n = (data.len() - written).min(PAGE_SIZE);
            self.slots.push_back(Slot {
                data: data[written..written + n].to_vec(),
                consumed: 0,
            });
            written += n;
        }
        match written {
            0 => Err(Errno::EAGAIN),
            n if n == data.len() => Ok(WriteOutcome::All(n)),
            n => Ok(WriteOutcome::Partial(n)),
        }
    }

    /// `pipe_read()`, minus the blocking: up to `count` bytes; `Ok(empty)` is EOF
    /// (no writers), `EAGAIN` means "writers exist but nothing is here yet".
    pub fn read(&mut self, count: usize) -> SysResult<Vec<u8>> {
        if self.slots.is_empty() {
            return if self.writers == 0 {
                Ok(Vec::new())
            } else {
                Err(Errno::EAGAIN)
            };
        }
        let mut out = Vec::with_capacity(count.min(self.len()));
        while out.len() < count {
            let Some(slot) = self.slots.front_mut() else {
                break;
            };
            let take = (count - out.len()).min(slot.unread().len());
            out.extend_from_slice(&slot.unread()[..take]);
            slot.consumed += take;
            if slot.consumed == slot.data.len() {
                self.slots.pop_front();
            }
        }
        Ok(out)
    }

    /// Drops the buffered bytes: a FIFO whose last reader and writer have closed
    /// frees its buffer (`free_pipe_info`). Returns how many bytes were dropped.
    pub fn discard(&mut self) -> usize {
        let n = self.len();
        self.slots.clear();
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `chunk`-byte writes until the pipe refuses; returns (bytes, calls),
    /// counting a final partial write as a call, like `facts.py` did.
    fn fill_with(chunk: usize) -> (usize, usize) {
        let mut p = Pipe::anonymous();
        let data = vec![b'x'; chunk];
        let (mut total, mut calls) = (0, 0);
        loop {
            match p.write(&data) {
                Ok(WriteOutcome::All(n)) => {
                    total += n;
                    calls += 1;
                }
                Ok(WriteOutcome::Partial(n)) => {
                    total += n;
                    calls += 1;
                    break;
                }
                Err(Errno::EAGAIN) => break,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        (total, calls)
    }

    // ----- capacity (ground truth §8.2) -----

    #[test]
    fn pipe_holds_65536_bytes_when_written_1_at_a_time() {
        assert_eq!(fill_with(1), (65536, 65536));
    }

    #[test]
    fn pipe_holds_64000_bytes_when_written_100_at_a_time() {
        assert_eq!(fill_with(100), (64000, 640));
    }

    #[test]
    fn pipe_holds_65536_bytes_when_written_512_at_a_time() {
        assert_eq!(fill_with(512), (65536, 128));
    }

    #[test]
    fn pipe_holds_48000_bytes_when_written_3000_at_a_time() {
        assert_eq!(fill_with(3000), (48000, 16));
    }

    #[test]
    fn pipe_holds_65536_bytes_when_written_4096_at_a_time() {
        assert_eq!(fill_with(4096), (65536, 16));
    }

    #[test]
    fn pipe_holds_45066_bytes_when_written_4097_at_a_time() {
        assert_eq!(fill_with(4097), (45066, 11));
    }

    #[test]
    fn pipe_holds_54096_bytes_when_written_5000_at_a_time() {
        assert_eq!(fill_with(5000), (54096, 11));
    }

    #[test]
    fn one_100000_byte_write_into_an_empty_pipe_writes_65536() {
        let mut p = Pipe::anonymous();
        assert_eq!(p.write(&vec![0; 100_000]), Ok(WriteOutcome::Partial(65536)));
    }

    // ----- atomicity (ground truth §8.3, re-measured on this machine) -----

    fn pipe_with_100_bytes_free_in_last_page() -> Pipe {
        let mut p = Pipe::anonymous();
        for _ in 0..15 {
            p.write(&[0; 4096]).unwrap();
        }
        p.write(&[0; 3996]).unwrap();
        assert_eq!(p.len(), 65436);
        p
    }

    #[test]
    fn write_of_100_fits_the_last_100_free_bytes() {
        let mut p = pipe_with_100_bytes_free_in_last_page();
        assert_eq!(p.write(&[1; 100]), Ok(WriteOutcome::All(100)));
    }

    #[test]
    fn writes_larger_than_the_free_tail_write_nothing() {
        for n in [101, 200, 4096, 5000] {
            let mut p = pipe_with_100_bytes_free_in_last_page();
            assert_eq!(p.write(&vec![1; n]), Err(Errno::EAGAIN), "write({n})");
            assert_eq!(p.len(), 65436);
        }
    }

    fn pipe_with_one_free_slot() -> Pipe {
        let mut p = Pipe::anonymous();
        for _ in 0..15 {
            p.write(&[0; 4096]).unwrap();
        }
        p
    }

    #[test]
    fn with_one_free_slot_a_4096_byte_write_fits_whole() {
        let mut p = pipe_with_one_free_slot();
        assert_eq!(p.write(&[1; 4096]), Ok(WriteOutcome::All(4096)));
    }

    #[test]
    fn with_one_free_slot_larger_writes_are_partial_4096() {
        // Measured here (kernel 6.18): write(4097) and write(8192) both return 4096.
        for n in [4097, 8192] {
            let mut p = pipe_with_one_free_slot();
            assert_eq!(p.write(&vec![1; n]), Ok(WriteOutcome::Partial(4096)));
        }
    }

    #[test]
    fn reading_part_of_a_slot_does_not_free_room_for_a_write() {
        let mut p = Pipe::anonymous();
        for _ in 0..16 {
            p.write(&[0; 4096]).unwrap();
        }
        p.read(100).unwrap();
        assert_eq!(p.write(&[1; 100]), Err(Errno::EAGAIN));
        p.read(3996).unwrap();
        assert_eq!(p.write(&[1; 4096]), Ok(WriteOutcome::All(4096)));
    }

    // ----- read and EOF -----

    #[test]
    fn read_of_an_empty_pipe_with_a_writer_would_block() {
        let mut p = Pipe::anonymous();
        assert_eq!(p.read(10), Err(Errno::EAGAIN));
    }

    #[test]
    fn read_of_an_empty_pipe_without_writers_is_eof() {
        let mut p = Pipe::anonymous();
        p.writers = 0;
        assert_eq!(p.read(10), Ok(vec![]));
    }

    #[test]
    fn data_written_before_the_writer_closed_is_read_before_eof() {
        let mut p = Pipe::anonymous();
        p.write(b"abc").unwrap();
        p.writers = 0;
        assert_eq!(p.read(10).unwrap(), b"abc");
        assert_eq!(p.read(10), Ok(vec![]));
    }

    #[test]
    fn reads_cross_slot_boundaries_in_order() {
        let mut p = Pipe::anonymous();
        p.write(&[1; 4096]).unwrap();
        p.write(&[2; 10]).unwrap();
        let got = p.read(5000).unwrap();
        assert_eq!(got.len(), 4106);
        assert_eq!(got[4095], 1);
        assert_eq!(got[4096], 2);
    }

    #[test]
    fn write_without_readers_is_epipe() {
        let mut p = Pipe::anonymous();
        p.readers = 0;
        assert_eq!(p.write(b"x"), Err(Errno::EPIPE));
    }
}
