//! pipelab-sim: a deterministic simulation of the Linux kernel objects that a shell
//! pipeline runs on.

#![forbid(unsafe_code)]
