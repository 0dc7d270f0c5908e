//! Programs that run on the simulated kernel.

pub mod bash;
