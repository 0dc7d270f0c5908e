//! pipelab-web: the wasm-bindgen glue between the page (`www/`) and `pipelab-sim`.
//! No logic of its own lives here.

#![forbid(unsafe_code)]

use wasm_bindgen::prelude::*;

/// The version of the simulator the page runs, for its footer and bug reports.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

// Under wasm these run in Node through `wasm-bindgen-test-runner`
// (`cargo xtask test wasm`); natively they are ordinary tests.
#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test;

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn version_is_the_crate_version() {
        let version = super::version();
        assert_eq!(version, env!("CARGO_PKG_VERSION"));
        // The footer shows it as a release number, so it must look like one.
        let parts: Vec<&str> = version.split('.').collect();
        assert_eq!(parts.len(), 3, "not MAJOR.MINOR.PATCH: {version}");
        assert!(
            parts.iter().all(|part| part.parse::<u32>().is_ok()),
            "{version}"
        );
    }
}
