//! Conformance: run a shell scenario on the real kernel and in the simulator, compare.
