//! Programs that run on the simulated kernel, written against [`crate::sys`] only.

pub mod bash;

use crate::kernel::fs::{Inode, Vfs};
use crate::run::NcFlavor;
use crate::sys::Programs;

/// The installed programs for a run whose `nc` is `nc`.
pub fn table(_nc: NcFlavor) -> Programs {
    let mut t = Programs::new();
    t.insert("bash".into(), bash::main);
    t
}

/// Puts each program's executable at its Debian path.
pub fn install(vfs: &mut Vfs) {
    for path in ["/bin/bash", "/usr/bin/bash"] {
        vfs.insert(
            path,
            Inode::Program {
                name: "bash".into(),
            },
        );
    }
}
