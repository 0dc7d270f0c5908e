//! Building the page: the wasm, its JS bindings in `www/pkg`, a smaller wasm, and
//! the site that is served (`target/site`: www/ with its JS and CSS minified).
//! `serve` and `test` share this code, so the tests check what is served.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};

use crate::install::{WASM_TARGET, WasmBindgen};
use crate::process::{Workspace, run, say};

const PROFILE: &str = "wasm-release";
const CRATE: &str = "pipelab-web";

/// Builds `www/pkg` from crates/web (`wasm_opt` shrinks the module when given),
/// then the served site from www/.
pub fn build(ws: &Workspace, wasm_bindgen: &WasmBindgen, wasm_opt: Option<&Path>) -> Result<()> {
    build_pkg(ws, wasm_bindgen, wasm_opt)?;
    build_site(ws, crate::install::npm_esbuild(ws).as_deref())
}

fn build_pkg(ws: &Workspace, wasm_bindgen: &WasmBindgen, wasm_opt: Option<&Path>) -> Result<()> {
    say!("building the wasm (cargo build --profile {PROFILE} --target {WASM_TARGET} -p {CRATE})");
    run(&mut ws.cargo(&[
        "build",
        "--profile",
        PROFILE,
        "--target",
        WASM_TARGET,
        "-p",
        CRATE,
    ]))?;

    let wasm = ws
        .target_dir
        .join(WASM_TARGET)
        .join(PROFILE)
        .join(format!("{}.wasm", CRATE.replace('-', "_")));
    let pkg = ws.root.join("www/pkg");
    let stamp_path = pkg.join(".xtask-stamp");
    // Binding and wasm-opt take seconds; skip them when nothing they read changed.
    let stamp = stamp(&wasm, wasm_bindgen, wasm_opt.is_some())?;
    let outputs_exist = ["pipelab_web.js", "pipelab_web_bg.wasm"]
        .iter()
        .all(|file| pkg.join(file).exists());
    if outputs_exist && fs::read_to_string(&stamp_path).is_ok_and(|old| old == stamp) {
        say!("www/pkg is up to date");
        return Ok(());
    }

    say!("binding for the page (wasm-bindgen --target web --out-dir www/pkg)");
    run(ws
        .command(&wasm_bindgen.bindgen)
        .args(["--target", "web", "--out-dir"])
        .arg(&pkg)
        .arg(&wasm))?;

    let bound = pkg.join("pipelab_web_bg.wasm");
    match wasm_opt {
        Some(wasm_opt) => {
            let before = file_size(&bound);
            say!(
                "shrinking the wasm (wasm-opt {}, from npm's binaryen)",
                WASM_OPT_ARGS.join(" ")
            );
            run(ws
                .command(wasm_opt)
                .args(WASM_OPT_ARGS)
                .arg(&bound)
                .arg("-o")
                .arg(&bound))?;
            say!(
                "www/pkg/pipelab_web_bg.wasm: {before} → {} bytes",
                file_size(&bound)
            );
        }
        None => say!("no wasm-opt (npm packages not installed): the wasm stays unshrunk"),
    }
    fs::write(&stamp_path, stamp).with_context(|| format!("cannot write {}", stamp_path.display()))
}

/// How the page's wasm is shrunk. `--low-memory-unused` lets wasm-opt fold
/// `ptr + constant` into a load's offset: Rust puts the stack in the first MiB and
/// no real address computation wraps around to the lowest KiB (1.5 KB of the
/// gzipped page). The producers and target-features sections are metadata.
/// `--converge` repeats the passes while they shrink it: 570 bytes for about 17 s
/// more per build.
const WASM_OPT_ARGS: [&str; 5] = [
    "-Oz",
    "--converge",
    "--low-memory-unused",
    "--strip-producers",
    "--strip-target-features",
];

/// What the bound output depends on: the built wasm, the binder's version, wasm-opt.
fn stamp(wasm: &Path, wasm_bindgen: &WasmBindgen, optimized: bool) -> Result<String> {
    let meta =
        fs::metadata(wasm).with_context(|| format!("the build left no {}", wasm.display()))?;
    let modified_ns = meta
        .modified()?
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    Ok(format!(
        "{} bytes, modified {modified_ns} ns; wasm-bindgen {}; wasm-opt {}\n",
        meta.len(),
        wasm_bindgen.version,
        if optimized {
            WASM_OPT_ARGS.join(" ")
        } else {
            "none".into()
        }
    ))
}

fn file_size(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |meta| meta.len())
}

/// The directory the page is served from: www/ as a browser gets it.
pub fn site(ws: &Workspace) -> PathBuf {
    ws.target_dir.join("site")
}

/// Copies www/ to the site, its JS and CSS minified by esbuild when given (module
/// by module, no bundling: the same files and imports, about 9 KB less gzip). The
/// type declarations and the build stamp are not served.
fn build_site(ws: &Workspace, esbuild: Option<&Path>) -> Result<()> {
    let www = ws.root.join("www");
    let site = site(ws);
    if site.exists() {
        fs::remove_dir_all(&site).with_context(|| format!("cannot clear {}", site.display()))?;
    }
    let mut minify = Vec::new();
    for file in files(&www)? {
        let name = file.to_string_lossy();
        if name.ends_with(".d.ts") || name.ends_with(".xtask-stamp") {
            continue;
        }
        let to = site.join(file.strip_prefix(&www)?);
        fs::create_dir_all(to.parent().unwrap_or(&site))?;
        if esbuild.is_some() && (name.ends_with(".js") || name.ends_with(".css")) {
            minify.push(file);
        } else {
            fs::copy(&file, &to).with_context(|| format!("cannot copy {}", file.display()))?;
        }
    }
    match esbuild {
        Some(esbuild) => {
            say!(
                "the site: www/ with its JS and CSS minified (esbuild) in {}",
                site.display()
            );
            run(ws
                .command(esbuild)
                .args(["--minify", "--log-level=warning", "--outbase=www"])
                .arg(format!("--outdir={}", site.display()))
                .args(&minify)
                .current_dir(&ws.root))
        }
        None => {
            say!("no esbuild (npm packages not installed): the site's JS and CSS stay as written");
            Ok(())
        }
    }
}

/// Every file under `dir`, in a stable order.
fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            out.extend(files(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}
