//! pipelab-web: the wasm-bindgen glue between the page (`www/`) and `pipelab-sim`.
//! No logic of its own lives here.

#![forbid(unsafe_code)]

use wasm_bindgen::prelude::*;

/// The version of the simulator the page runs, for its footer and bug reports.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
