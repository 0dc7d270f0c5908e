//! The VFS and open file descriptions: `open(2)`, `read(2)`, `write(2)`,
//! `mkfifo(3)`, `unlink(2)`, and the objects fds point at; a terminal's line
//! discipline (echo, Ctrl-C, Ctrl-Z, Ctrl-D, SIGTTIN for a background reader).
//!
//! Paths are absolute strings after normalization; there are no permissions (every
//! program runs as root), no links and no mounts.

use std::collections::VecDeque;
use std::rc::Rc;

use crate::vecmap::VecMap;

use serde::Serialize;

use super::pipe::{Pipe, WriteOutcome};
use super::{
    Attempt, Errno, Fd, FileId, InodeId, Kernel, Pid, PipeId, SockId, SysResult, Wait, WaitKey,
};
use crate::trace::EventKind;

/// What an inode is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Inode {
    Dir,
    File {
        data: Vec<u8>,
    },
    /// A named pipe; its buffer exists while someone has it open.
    Fifo {
        pipe: Option<PipeId>,
    },
    Null,
    Zero,
    Terminal {
        n: u32,
    },
    /// An executable: the simulated program of that name.
    Program {
        name: String,
    },
}

/// The file tree.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Vfs {
    paths: VecMap<String, InodeId>,
    pub inodes: VecMap<InodeId, Inode>,
    next_inode: u32,
}

impl Vfs {
    /// `/`, `/bin`, `/usr/bin`, `/tmp`, `/dev/null`, `/dev/zero`, `/root`.
    pub fn new() -> Vfs {
        let mut v = Vfs::default();
        for d in [
            "/", "/bin", "/usr", "/usr/bin", "/tmp", "/dev", "/dev/pts", "/root",
        ] {
            v.insert(d, Inode::Dir);
        }
        v.insert("/dev/null", Inode::Null);
        v.insert("/dev/zero", Inode::Zero);
        v
    }

    /// Creates or replaces the inode at `path` (absolute, normalized).
    pub fn insert(&mut self, path: &str, inode: Inode) -> InodeId {
        let id = InodeId(self.next_inode);
        self.next_inode += 1;
        self.inodes.insert(id, inode);
        self.paths.insert(path.to_string(), id);
        id
    }

    pub fn lookup(&self, path: &str) -> Option<InodeId> {
        self.paths.get(path).copied()
    }

    pub fn inode(&self, path: &str) -> Option<&Inode> {
        self.lookup(path).and_then(|id| self.inodes.get(&id))
    }

    /// Names directly under directory `dir`, sorted (as `ls` prints them).
    pub fn list(&self, dir: &str) -> Vec<String> {
        let prefix = if dir == "/" {
            "/".to_string()
        } else {
            format!("{dir}/")
        };
        self.paths
            .keys()
            .filter_map(|p| p.strip_prefix(&prefix))
            .filter(|rest| !rest.is_empty() && !rest.contains('/'))
            .map(str::to_string)
            .collect()
    }

    fn parent_is_dir(&self, path: &str) -> SysResult<()> {
        let parent = match path.rfind('/') {
            Some(0) => "/",
            Some(i) => &path[..i],
            None => return Err(Errno::ENOENT),
        };
        match self.inode(parent) {
            Some(Inode::Dir) => Ok(()),
            Some(_) => Err(Errno::ENOTDIR),
            None => Err(Errno::ENOENT),
        }
    }

    /// `unlink(2)`: the name goes; open files keep their object.
    pub fn unlink(&mut self, path: &str) -> SysResult<()> {
        match self.inode(path) {
            None => Err(Errno::ENOENT),
            Some(Inode::Dir) => Err(Errno::EISDIR),
            Some(_) => {
                self.paths.remove(path);
                Ok(())
            }
        }
    }
}

/// Joins `path` to `cwd` and resolves `.` and `..`.
pub fn normalize(cwd: &str, path: &str) -> String {
    let full = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{cwd}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in full.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// A terminal: what programs wrote to it, and what the user typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Terminal {
    pub output: Vec<u8>,
    /// Bytes written past `Limits::max_terminal_bytes`, counted and dropped.
    pub dropped: u64,
    pub input: VecDeque<u8>,
    /// Ctrl-D typed at the start of a line: the next read returns 0.
    pub eof_pending: bool,
    /// The terminal's foreground process group: its shell's, or the job an
    /// interactive shell gave the terminal to (`tcsetpgrp`). Ctrl-C signals it.
    pub foreground: Pid,
    /// Whether programs see a terminal (`isatty`). The run contract's terminals
    /// are pipes for their programs, as in the conformance runner; the page's are
    /// real terminals.
    pub tty: bool,
}

/// What an open file description refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Object {
    /// One or both ends of a pipe; `fifo` names the inode of a named pipe.
    Pipe {
        pipe: PipeId,
        read: bool,
        write: bool,
        fifo: Option<InodeId>,
    },
    File {
        inode: InodeId,
    },
    Dir {
        inode: InodeId,
    },
    Null,
    Zero,
    Terminal {
        n: u32,
    },
    Socket {
        sock: SockId,
    },
}

/// `O_*` flags that matter here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenFlags {
    pub read: bool,
    pub write: bool,
    pub nonblock: bool,
    pub append: bool,
    pub create: bool,
    pub truncate: bool,
    pub cloexec: bool,
}

impl OpenFlags {
    pub fn read_only() -> Self {
        OpenFlags {
            read: true,
            ..Self::default()
        }
    }
    pub fn write_only() -> Self {
        OpenFlags {
            write: true,
            ..Self::default()
        }
    }
    pub fn read_write() -> Self {
        OpenFlags {
            read: true,
            write: true,
            ..Self::default()
        }
    }
    /// `O_WRONLY|O_CREAT|O_TRUNC`, what the shell's `>` opens with.
    pub fn create_truncate() -> Self {
        OpenFlags {
            write: true,
            create: true,
            truncate: true,
            ..Self::default()
        }
    }
    /// `O_WRONLY|O_CREAT|O_APPEND`, the shell's `>>`.
    pub fn create_append() -> Self {
        OpenFlags {
            write: true,
            create: true,
            append: true,
            ..Self::default()
        }
    }

    /// As strace prints them: `O_WRONLY|O_CREAT|O_TRUNC`.
    pub fn strace(&self) -> String {
        let mut s = match (self.read, self.write) {
            (true, true) => "O_RDWR",
            (false, true) => "O_WRONLY",
            _ => "O_RDONLY",
        }
        .to_string();
        for (on, name) in [
            (self.nonblock, "O_NONBLOCK"),
            (self.append, "O_APPEND"),
            (self.create, "O_CREAT"),
            (self.truncate, "O_TRUNC"),
            (self.cloexec, "O_CLOEXEC"),
        ] {
            if on {
                s.push('|');
                s.push_str(name);
            }
        }
        s
    }
}

/// An open file description (`struct file`): shared by dup'ed and inherited fds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenFile {
    pub object: Object,
    pub flags: OpenFlags,
    pub offset: u64,
    /// Fds (in all processes) pointing here.
    pub refs: u32,
    /// The path it was opened by, for display.
    pub path: Option<String>,
    /// What the trace calls it (`pipe:[3]`, `/tmp/f`): made once here, so that an
    /// event per syscall shares it instead of formatting its own.
    #[serde(skip)]
    pub name: Rc<str>,
    /// For a FIFO read end: the pipe's `w_counter` when it was opened (POLLHUP is
    /// reported only once a writer has come since).
    pub w_counter_at_open: u64,
    /// For a FIFO write end: the pipe's `r_counter` when it was opened.
    pub r_counter_at_open: u64,
}

impl Kernel {
    /// A new open file description with one reference.
    pub fn new_file(&mut self, object: Object, flags: OpenFlags, path: Option<String>) -> FileId {
        let id = FileId(self.next_file);
        self.next_file += 1;
        let name = match object {
            Object::Pipe {
                pipe, fifo: None, ..
            } => format!("pipe:[{}]", pipe.0),
            Object::Socket { sock } => format!("socket:[{}]", sock.0),
            _ => path.clone().unwrap_or_else(|| id.to_string()),
        };
        self.files.insert(
            id,
            OpenFile {
                object,
                flags,
                offset: 0,
                refs: 1,
                path,
                name: name.into(),
                w_counter_at_open: 0,
                r_counter_at_open: 0,
            },
        );
        id
    }

    pub fn file(&self, id: FileId) -> &OpenFile {
        self.files
            .get(&id)
            .unwrap_or_else(|| panic!("no open file {id}"))
    }

    /// Drops one reference; the last one closes the object's end.
    pub fn release_file(&mut self, id: FileId) {
        let f = self.files.get_mut(&id).expect("released file exists");
        f.refs -= 1;
        if f.refs > 0 {
            return;
        }
        let f = self.files.remove(&id).expect("just looked");
        match f.object {
            Object::Pipe {
                pipe,
                read,
                write,
                fifo,
            } => self.release_pipe_end(pipe, read, write, fifo),
            Object::Socket { sock } => self.socket_closed(sock),
            _ => {}
        }
    }

    fn release_pipe_end(&mut self, id: PipeId, read: bool, write: bool, fifo: Option<InodeId>) {
        let p = self.pipes.get_mut(&id).expect("pipe of an open file");
        if read {
            p.readers -= 1;
        }
        if write {
            p.writers -= 1;
        }
        let gone = p.readers == 0 && p.writers == 0;
        self.wake(WaitKey::Pipe(id));
        if let Some(inode) = fifo {
            self.wake(WaitKey::Fifo(inode));
        }
        if gone {
            // The buffer goes with the last end (free_pipe_info); a FIFO keeps its
            // name but loses its unread bytes.
            let dropped = self.pipes.remove(&id).map(|mut p| p.discard()).unwrap_or(0);
            self.ledger.dropped += dropped as u64;
            if let Some(inode) = fifo
                && let Some(Inode::Fifo { pipe }) = self.vfs.inodes.get_mut(&inode)
            {
                *pipe = None;
            }
            if dropped > 0 {
                self.emit(
                    None,
                    EventKind::Dropped {
                        bytes: dropped as u64,
                        object: id.to_string(),
                    },
                );
            }
        }
    }

    /// `pipe2(2)`: a read end and a write end.
    pub fn sys_pipe(&mut self, pid: Pid, flags: OpenFlags) -> SysResult<(Fd, Fd)> {
        if self.files.len() + 2 > self.limits.max_files {
            return Err(Errno::ENFILE);
        }
        if self.proc(pid).fds.len() + 2 > self.limits.max_fds {
            return Err(Errno::EMFILE);
        }
        let pipe = self.alloc_pipe(Pipe::anonymous());
        let object = |read, write| Object::Pipe {
            pipe,
            read,
            write,
            fifo: None,
        };
        let r = self.new_file(
            object(true, false),
            OpenFlags {
                read: true,
                write: false,
                ..flags
            },
            None,
        );
        let w = self.new_file(
            object(false, true),
            OpenFlags {
                read: false,
                write: true,
                ..flags
            },
            None,
        );
        let rfd = self.install_fd(pid, r, flags.cloexec)?;
        let wfd = self.install_fd(pid, w, flags.cloexec)?;
        Ok((rfd, wfd))
    }

    /// `mknod(2)` for a FIFO, as `mkfifo(3)` calls it.
    pub fn sys_mkfifo(&mut self, pid: Pid, path: &str) -> SysResult<()> {
        let path = normalize(&self.proc(pid).cwd, path);
        if self.vfs.lookup(&path).is_some() {
            return Err(Errno::EEXIST);
        }
        self.vfs.parent_is_dir(&path)?;
        self.vfs.insert(&path, Inode::Fifo { pipe: None });
        Ok(())
    }

    /// `unlink(2)`.
    pub fn sys_unlink(&mut self, pid: Pid, path: &str) -> SysResult<()> {
        let path = normalize(&self.proc(pid).cwd, path);
        self.vfs.unlink(&path)
    }

    /// `chdir(2)`.
    pub fn sys_chdir(&mut self, pid: Pid, path: &str) -> SysResult<()> {
        let path = normalize(&self.proc(pid).cwd, path);
        match self.vfs.inode(&path) {
            Some(Inode::Dir) => {
                self.proc_mut(pid).cwd = path;
                Ok(())
            }
            Some(_) => Err(Errno::ENOTDIR),
            None => Err(Errno::ENOENT),
        }
    }

    /// `stat(2)`, reduced to what the programs here ask: what is at a path.
    pub fn sys_stat(&self, pid: Pid, path: &str) -> SysResult<Inode> {
        let path = normalize(&self.proc(pid).cwd, path);
        self.vfs.inode(&path).cloned().ok_or(Errno::ENOENT)
    }

    /// `openat(2)`. Opening a FIFO follows fifo(7) as measured (ground truth §8.4):
    /// read-only and write-only opens wait for the other side; `O_RDONLY|O_NONBLOCK`
    /// returns at once; `O_WRONLY|O_NONBLOCK` without a reader is ENXIO; `O_RDWR`
    /// never waits.
    pub fn sys_open(
        &mut self,
        pid: Pid,
        path: &str,
        flags: OpenFlags,
        fifo_waiting: &mut Option<FileId>,
    ) -> Attempt<Fd> {
        // A FIFO open that already joined the pipe and waits for its partner.
        if let Some(file) = *fifo_waiting {
            return self.fifo_open_wait(pid, file, fifo_waiting);
        }
        if self.files.len() >= self.limits.max_files {
            return Attempt::Done(Err(Errno::ENFILE));
        }
        if self.proc(pid).fds.len() >= self.limits.max_fds {
            return Attempt::Done(Err(Errno::EMFILE));
        }
        let path = normalize(&self.proc(pid).cwd, path);
        let id = match self.vfs.lookup(&path) {
            Some(id) => id,
            None if flags.create => {
                if let Err(e) = self.vfs.parent_is_dir(&path) {
                    return Attempt::Done(Err(e));
                }
                self.vfs.insert(&path, Inode::File { data: Vec::new() })
            }
            None => return Attempt::Done(Err(Errno::ENOENT)),
        };
        let inode = self.vfs.inodes[&id].clone();
        let object = match inode {
            Inode::Dir if flags.write => return Attempt::Done(Err(Errno::EISDIR)),
            Inode::Dir => Object::Dir { inode: id },
            Inode::File { .. } | Inode::Program { .. } => {
                if flags.truncate
                    && flags.write
                    && let Some(Inode::File { data }) = self.vfs.inodes.get_mut(&id)
                {
                    data.clear();
                }
                Object::File { inode: id }
            }
            Inode::Null => Object::Null,
            Inode::Zero => Object::Zero,
            Inode::Terminal { n } => Object::Terminal { n },
            Inode::Fifo { pipe } => {
                return self.fifo_open(pid, id, pipe, flags, path, fifo_waiting);
            }
        };
        let file = self.new_file(object, flags, Some(path));
        Attempt::Done(self.install_fd(pid, file, flags.cloexec))
    }

    fn fifo_open(
        &mut self,
        pid: Pid,
        inode: InodeId,
        pipe: Option<PipeId>,
        flags: OpenFlags,
        path: String,
        fifo_waiting: &mut Option<FileId>,
    ) -> Attempt<Fd> {
        let pipe = match pipe {
            Some(p) => p,
            None => {
                let mut p = Pipe::default();
                p.readers = 0;
                p.writers = 0;
                let id = self.alloc_pipe(p);
                if let Some(Inode::Fifo { pipe }) = self.vfs.inodes.get_mut(&inode) {
                    *pipe = Some(id);
                }
                id
            }
        };
        let (read, write) = (flags.read, flags.write);
        if write && !read && flags.nonblock && self.pipes[&pipe].readers == 0 {
            self.drop_empty_fifo_pipe(pipe, inode);
            return Attempt::Done(Err(Errno::ENXIO));
        }
        let p = self.pipes.get_mut(&pipe).expect("fifo pipe");
        if read {
            p.readers += 1;
            p.r_counter += 1;
        }
        if write {
            p.writers += 1;
            p.w_counter += 1;
        }
        let (w_counter, r_counter) = (p.w_counter, p.r_counter);
        self.wake(WaitKey::Fifo(inode));
        self.wake(WaitKey::Pipe(pipe));
        let file = self.new_file(
            Object::Pipe {
                pipe,
                read,
                write,
                fifo: Some(inode),
            },
            flags,
            Some(path),
        );
        // A reader that opens alone sees no POLLHUP until a writer comes.
        let f = self.files.get_mut(&file).expect("new");
        f.w_counter_at_open = if write { 0 } else { w_counter };
        f.r_counter_at_open = r_counter;
        if read && write || flags.nonblock {
            return Attempt::Done(self.install_fd(pid, file, flags.cloexec));
        }
        *fifo_waiting = Some(file);
        self.fifo_open_wait(pid, file, fifo_waiting)
    }

    /// A blocking FIFO open returns once the other side has an opener, or has had
    /// one since (`wait_for_partner` waits for the counter to move, so a partner
    /// that opened and closed again still releases it).
    fn fifo_open_wait(
        &mut self,
        pid: Pid,
        file: FileId,
        fifo_waiting: &mut Option<FileId>,
    ) -> Attempt<Fd> {
        let f = self.file(file);
        let Object::Pipe {
            pipe, read, fifo, ..
        } = f.object
        else {
            unreachable!("a fifo open waits on a pipe");
        };
        let p = &self.pipes[&pipe];
        let partner = if read {
            p.writers > 0 || p.w_counter != f.w_counter_at_open
        } else {
            p.readers > 0 || p.r_counter != f.r_counter_at_open
        };
        if !partner {
            let inode = fifo.expect("named pipe");
            return Attempt::Block(Wait::on(WaitKey::Fifo(inode)));
        }
        *fifo_waiting = None;
        let cloexec = f.flags.cloexec;
        // A blocking open has seen its partner: a reader gets POLLHUP once the
        // writers are gone, even if the writer opened first (Linux keeps the
        // reader's `f_version` at 0; only a non-blocking reader that finds no
        // writer holds POLLHUP back).
        self.files.get_mut(&file).expect("open").w_counter_at_open = 0;
        Attempt::Done(self.install_fd(pid, file, cloexec))
    }

    /// A signal interrupted a FIFO open that was waiting: give back its place.
    pub fn abandon_fifo_open(&mut self, file: FileId) {
        self.release_file(file);
    }

    fn drop_empty_fifo_pipe(&mut self, pipe: PipeId, inode: InodeId) {
        if self.pipes[&pipe].readers == 0 && self.pipes[&pipe].writers == 0 {
            self.pipes.remove(&pipe);
            if let Some(Inode::Fifo { pipe }) = self.vfs.inodes.get_mut(&inode) {
                *pipe = None;
            }
        }
    }

    /// `read(2)`: up to `count` bytes; an empty vector is EOF.
    pub fn sys_read(&mut self, pid: Pid, fd: Fd, count: usize) -> Attempt<Vec<u8>> {
        let count = count.min(self.limits.max_io_bytes);
        let file_id = match self.file_of(pid, fd) {
            Ok(f) => f,
            Err(e) => return Attempt::Done(Err(e)),
        };
        let f = self.file(file_id);
        let (object, flags, offset) = (f.object, f.flags, f.offset);
        if !flags.read {
            return Attempt::Done(Err(Errno::EBADF));
        }
        let nonblock = flags.nonblock;
        let would_block = |key| {
            if nonblock {
                Attempt::Done(Err(Errno::EAGAIN))
            } else {
                Attempt::Block(Wait::on(key))
            }
        };
        match object {
            Object::Pipe { pipe, .. } => {
                let p = self.pipes.get_mut(&pipe).expect("pipe of an open file");
                match p.read(count) {
                    Err(Errno::EAGAIN) => would_block(WaitKey::Pipe(pipe)),
                    r => {
                        if let Ok(d) = &r
                            && !d.is_empty()
                        {
                            self.ledger.read += d.len() as u64;
                            self.wake(WaitKey::Pipe(pipe));
                        }
                        Attempt::Done(r)
                    }
                }
            }
            Object::File { inode } => {
                let data = match &self.vfs.inodes[&inode] {
                    Inode::File { data } => data,
                    _ => return Attempt::Done(Ok(Vec::new())),
                };
                let start = (offset as usize).min(data.len());
                let end = (start + count).min(data.len());
                let out = data[start..end].to_vec();
                self.files.get_mut(&file_id).expect("open").offset = end as u64;
                Attempt::Done(Ok(out))
            }
            Object::Dir { .. } => Attempt::Done(Err(Errno::EISDIR)),
            Object::Null => Attempt::Done(Ok(Vec::new())),
            Object::Zero => Attempt::Done(Ok(vec![0; count])),
            Object::Terminal { n } => {
                let pgid = self.proc(pid).pgid;
                let t = &mut self.terminals[n as usize];
                if t.tty && pgid != t.foreground {
                    return Attempt::Done(self.background_read(pid, pgid));
                }
                if !t.input.is_empty() {
                    // Canonical mode: a read returns at most one line.
                    let line_end = t
                        .input
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(t.input.len(), |i| i + 1);
                    let take = line_end.min(count);
                    Attempt::Done(Ok(t.input.drain(..take).collect()))
                } else if t.eof_pending {
                    t.eof_pending = false;
                    Attempt::Done(Ok(Vec::new()))
                } else {
                    would_block(WaitKey::Terminal(n))
                }
            }
            Object::Socket { sock } => self.sock_recv(sock, count, nonblock),
        }
    }

    /// A read of its terminal by a process outside the terminal's foreground
    /// group (n_tty's `job_control`): SIGTTIN to the reader's whole group, and
    /// the call ends with ERESTARTSYS, to be made again once the group goes on;
    /// EIO if the reader ignores or blocks SIGTTIN.
    ///
    /// Simplification: no orphaned groups (EIO on Linux), and one terminal per
    /// process: whichever terminal it reads is its controlling one.
    fn background_read(&mut self, pid: Pid, pgid: Pid) -> SysResult<Vec<u8>> {
        let s = &self.proc(pid).signals;
        let sig = super::Signal::SIGTTIN;
        if s.is_blocked(sig) || s.disposition(sig) == super::Disposition::Ignore {
            return Err(Errno::EIO);
        }
        for p in self.group(pgid) {
            self.raise(p, sig, None);
        }
        Err(Errno::ERESTARTSYS)
    }

    /// `write(2)`. A write to a pipe with no reader fails with EPIPE and raises
    /// SIGPIPE against the writer. `progress` carries the bytes a blocking write
    /// already put in across its wakeups: it returns once all are in.
    pub fn sys_write(
        &mut self,
        pid: Pid,
        fd: Fd,
        data: &[u8],
        progress: &mut usize,
        nosignal: bool,
    ) -> Attempt<usize> {
        let file_id = match self.file_of(pid, fd) {
            Ok(f) => f,
            Err(e) => return Attempt::Done(Err(e)),
        };
        let f = self.file(file_id);
        let (object, flags, offset) = (f.object, f.flags, f.offset);
        if !flags.write {
            return Attempt::Done(Err(Errno::EBADF));
        }
        let data = &data[..data.len().min(self.limits.max_io_bytes)];
        match object {
            Object::Pipe { pipe, .. } => {
                let p = self.pipes.get_mut(&pipe).expect("pipe of an open file");
                let rest = &data[*progress..];
                match p.write(rest) {
                    Err(Errno::EPIPE) => {
                        if !nosignal {
                            self.raise(pid, super::Signal::SIGPIPE, None);
                        }
                        // Bytes already written are reported; the signal still comes.
                        Attempt::Done(if *progress > 0 {
                            Ok(*progress)
                        } else {
                            Err(Errno::EPIPE)
                        })
                    }
                    Err(Errno::EAGAIN) if flags.nonblock => Attempt::Done(if *progress > 0 {
                        Ok(*progress)
                    } else {
                        Err(Errno::EAGAIN)
                    }),
                    Err(Errno::EAGAIN) => Attempt::Block(Wait::on(WaitKey::Pipe(pipe))),
                    Err(e) => Attempt::Done(Err(e)),
                    Ok(WriteOutcome::All(n)) => {
                        self.ledger.written += n as u64;
                        *progress += n;
                        self.wake(WaitKey::Pipe(pipe));
                        Attempt::Done(Ok(*progress))
                    }
                    Ok(WriteOutcome::Partial(n)) => {
                        self.ledger.written += n as u64;
                        *progress += n;
                        self.wake(WaitKey::Pipe(pipe));
                        if flags.nonblock {
                            Attempt::Done(Ok(*progress))
                        } else {
                            Attempt::Block(Wait::on(WaitKey::Pipe(pipe)))
                        }
                    }
                }
            }
            Object::File { inode } => {
                let max = self.limits.max_file_bytes;
                let Some(Inode::File { data: content }) = self.vfs.inodes.get_mut(&inode) else {
                    return Attempt::Done(Err(Errno::EINVAL));
                };
                let start = if flags.append {
                    content.len()
                } else {
                    offset as usize
                };
                if start + data.len() > max {
                    return Attempt::Done(Err(Errno::ENOSPC));
                }
                if content.len() < start + data.len() {
                    content.resize(start + data.len(), 0);
                }
                content[start..start + data.len()].copy_from_slice(data);
                self.files.get_mut(&file_id).expect("open").offset = (start + data.len()) as u64;
                Attempt::Done(Ok(data.len()))
            }
            Object::Dir { .. } => Attempt::Done(Err(Errno::EISDIR)),
            Object::Null | Object::Zero => Attempt::Done(Ok(data.len())),
            Object::Terminal { n } => {
                let max = self.limits.max_terminal_bytes;
                let t = &mut self.terminals[n as usize];
                let room = max.saturating_sub(t.output.len());
                let kept = data.len().min(room);
                t.output.extend_from_slice(&data[..kept]);
                t.dropped += (data.len() - kept) as u64;
                Attempt::Done(Ok(data.len()))
            }
            Object::Socket { sock } => {
                self.sock_send(pid, sock, data, progress, flags.nonblock, nosignal)
            }
        }
    }

    /// `fcntl(F_SETFL, O_NONBLOCK)`.
    pub fn set_nonblock(&mut self, pid: Pid, fd: Fd, on: bool) -> SysResult<()> {
        let file = self.file_of(pid, fd)?;
        self.files.get_mut(&file).expect("open").flags.nonblock = on;
        Ok(())
    }

    /// Adds a terminal with its device node `/dev/pts/N`.
    pub fn add_terminal(&mut self) -> u32 {
        let n = self.terminals.len() as u32;
        self.terminals.push(Terminal {
            tty: true,
            ..Terminal::default()
        });
        self.vfs
            .insert(&format!("/dev/pts/{n}"), Inode::Terminal { n });
        n
    }

    /// The user typed `bytes` into terminal `n`. The line discipline echoes them
    /// (`ECHO`), turns Ctrl-C into SIGINT and Ctrl-Z into SIGTSTP for the
    /// terminal's process group (`ISIG`) and Ctrl-D into end of file (`VEOF`).
    ///
    /// Simplification: input is readable as soon as it is typed; a real terminal in
    /// canonical mode holds a line back until Enter. The page sends whole lines.
    pub fn terminal_input(&mut self, n: u32, bytes: &[u8]) {
        let Some(t) = self.terminals.get(n as usize) else {
            return;
        };
        let pgid = t.foreground;
        for &b in bytes {
            match b {
                0x03 | 0x1a => {
                    // ECHOCTL shows `^C`, no newline (bash writes that); ISIG
                    // flushes what was typed ahead (no NOFLSH).
                    let (shown, sig) = if b == 0x03 {
                        (b"^C", super::Signal::SIGINT)
                    } else {
                        (b"^Z", super::Signal::SIGTSTP)
                    };
                    self.echo(n, shown);
                    self.terminals[n as usize].input.clear();
                    for pid in self.group(pgid) {
                        self.raise(pid, sig, None);
                    }
                }
                0x04 => self.terminals[n as usize].eof_pending = true,
                _ => {
                    self.echo(n, &[b]);
                    self.terminals[n as usize].input.push_back(b);
                }
            }
        }
        self.emit(
            None,
            EventKind::Input {
                terminal: n,
                bytes: bytes.len() as u64,
            },
        );
        self.wake(WaitKey::Terminal(n));
    }

    /// Whether any live process still holds terminal `n` open: once none does, its
    /// transcript is at end of file.
    pub fn terminal_in_use(&self, n: u32) -> bool {
        self.procs.values().filter(|p| p.is_alive()).any(|p| {
            p.fds
                .values()
                .any(|e| matches!(self.file(e.file).object, Object::Terminal { n: m } if m == n))
        })
    }

    fn echo(&mut self, n: u32, bytes: &[u8]) {
        let max = self.limits.max_terminal_bytes;
        let t = &mut self.terminals[n as usize];
        let kept = bytes.len().min(max.saturating_sub(t.output.len()));
        t.output.extend_from_slice(&bytes[..kept]);
        t.dropped += (bytes.len() - kept) as u64;
    }

    /// `ftruncate`-free helper for setting up a scenario: writes a whole file.
    pub fn write_file(&mut self, path: &str, data: &[u8]) {
        self.vfs.insert(
            path,
            Inode::File {
                data: data.to_vec(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dot_and_dotdot() {
        assert_eq!(normalize("/tmp", "f"), "/tmp/f");
        assert_eq!(normalize("/tmp", "../root/./x"), "/root/x");
        assert_eq!(normalize("/", "/a//b/"), "/a/b");
        assert_eq!(normalize("/a", ".."), "/");
    }

    #[test]
    fn list_shows_direct_children_only() {
        let mut v = Vfs::new();
        v.insert("/tmp/a", Inode::File { data: vec![] });
        v.insert("/tmp/b", Inode::Fifo { pipe: None });
        assert_eq!(v.list("/tmp"), vec!["a", "b"]);
        assert!(v.list("/").contains(&"tmp".to_string()));
        assert!(!v.list("/").contains(&"tmp/a".to_string()));
    }

    #[test]
    fn open_flags_print_like_strace() {
        assert_eq!(
            OpenFlags::create_truncate().strace(),
            "O_WRONLY|O_CREAT|O_TRUNC"
        );
        assert_eq!(OpenFlags::read_only().strace(), "O_RDONLY");
    }
}
