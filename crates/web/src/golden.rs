//! Trace hashes of every lesson in every flavor, recorded natively in `golden.txt`,
//! so that the wasm build can prove it runs the same simulation.

use pipelab_sim::lessons;

use crate::{FLAVORS, MAX_RUN_STEPS};

pub const GOLDEN: &str = include_str!("golden.txt");

/// FNV-1a, 64 bits: small, and the same on every target.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `lesson/flavor` and the hash of its whole trace (every field of every event).
pub fn compute() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in lessons::NAMES {
        for (flavor, nc, _) in FLAVORS {
            let Some(l) = lessons::lesson(name, nc) else {
                continue;
            };
            let mut s = l.session(nc, 0);
            s.run(MAX_RUN_STEPS);
            let text = format!("{:?}", s.trace());
            out.push((
                format!("{name}/{flavor}"),
                format!("{:016x} {} steps", fnv1a(text.as_bytes()), s.step()),
            ));
        }
    }
    out
}

pub fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(not(target_arch = "wasm32"))]
pub fn bless(now: &[(String, String)]) {
    let mut text = String::from(
        "# lesson/flavor  fnv1a-64 of the whole trace, steps. Written by\n\
         # PIPELAB_BLESS=1 cargo test -p pipelab-web (natively); read by the wasm test.\n",
    );
    for (k, v) in now {
        text.push_str(&format!("{k} {v}\n"));
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/golden.txt");
    std::fs::write(path, text).expect("write golden.txt");
}
