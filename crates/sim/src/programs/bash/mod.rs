//! A real subset of bash.

pub mod syntax;
