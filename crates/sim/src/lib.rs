//! pipelab-sim: a deterministic simulation of the Linux kernel objects that a shell
//! pipeline runs on, and of the programs that run on them.
//!
//! - [`kernel`]: processes, fd tables, pipes, FIFOs, loopback TCP, signals, poll,
//!   virtual time. Synchronous objects; nothing here blocks.
//! - [`programs`]: bash, nc, curl, http.server and the small tools, written against
//!   the syscall layer only.
//! - [`vecmap`]: sorted-`Vec` maps and sets, for a small wasm.
//! - [`run`]: the contract shared by the CLI, the page and the conformance suite:
//!   terminals in, transcripts and exit statuses out.

#![forbid(unsafe_code)]

pub mod kernel;
pub mod lessons;
pub mod narrate;
pub mod programs;
pub mod run;
pub mod session;
pub mod snapshot;
pub mod sys;
pub mod trace;
pub mod vecmap;
pub mod world;
