//! Programs that run on the simulated kernel, and where they are installed.
//!
//! - [`table`]: program name → entry point, with `nc` bound to one flavor.
//! - [`install`]: the executables at their Debian 12 paths. Debian 12 has a merged
//!   `/usr` (`/bin` is `/usr/bin`), so every tool is reachable under both.
//! - [`userland`]: the bits of libc the programs share (getopt, strerror, stdio
//!   buffering, dates, `/etc/hosts` and `/etc/services` lookups).
//! - [`float`]: `str::parse::<f64>` without std's 10 KB table, for a small wasm.
//! - [`coreutils`]: `cat`, `head`, `yes`, `wc`, `seq`, `sleep`, `mkfifo`, `rm`, `ls`,
//!   `true`, `false`, `kill`, `echo`, `printf`.
//! - [`nc`]: netcat in four flavors (openbsd, traditional, busybox, textbook).
//! - [`curl`]: curl 7.88.1 for `http://` URLs.
//! - [`http_server`]: `python3 -m http.server`.
//! - [`socat`]: the fork-per-connection proxy.
//! - [`echo_server`]: `echo-server PORT`, the `while (recv) send` echo server.
//! - [`chunk_reader`]: `chunk-reader [--slow MS] CHUNK_SIZE`, bounded-memory reads
//!   of stdin (the backpressure lesson).
//! - [`httpd`]: `httpd PORT [DIR]`, a tiny HTTP/1.0 file server.
//! - [`proxy`]: `pipelab-proxy`, the event-loop proxy of `crates/proxy`.
//! - [`heartbeat`]: `heartbeat-server` and `heartbeat-client`, Heartbleed as a
//!   buffer over-read.
//! - [`rss`]: each real program's resident memory, as measured.
//! - [`bash`]: bash 5.2, `-c SCRIPT` and interactive.

pub mod bash;
pub mod chunk_reader;
pub mod coreutils;
pub mod curl;
pub mod echo_server;
pub mod float;
pub mod heartbeat;
pub mod http_server;
pub mod httpd;
pub mod nc;
pub mod proxy;
pub mod rss;
pub mod socat;
pub mod userland;

use crate::kernel::fs::{Inode, Vfs};
use crate::run::NcFlavor;
use crate::sys::{Main, Program, Programs};

/// Every installed program name and the entry point it runs, with `nc` (and
/// `/bin/nc`, `/usr/bin/nc`) bound to `nc`.
pub fn table(nc: NcFlavor) -> Programs {
    let mut t = Programs::new();
    let nc_main: Main = match nc {
        NcFlavor::Openbsd => nc::openbsd_main,
        NcFlavor::Traditional => nc::traditional_main,
        NcFlavor::Busybox => nc::busybox_main,
        NcFlavor::Textbook => nc::textbook_main,
    };
    let nc_rss = match nc {
        NcFlavor::Openbsd => rss::NC_OPENBSD,
        NcFlavor::Traditional => rss::NC_TRADITIONAL,
        NcFlavor::Busybox => rss::BUSYBOX_NC,
        // No real binary: the traditional one's figure.
        NcFlavor::Textbook => rss::NC_TRADITIONAL,
    };
    // Name, entry point, and the real program's resident memory where measured.
    let entries: &[(&str, Main, Option<u32>)] = &[
        ("bash", bash::main, Some(rss::BASH)),
        ("nc", nc_main, Some(nc_rss)),
        ("nc.openbsd", nc::openbsd_main, Some(rss::NC_OPENBSD)),
        (
            "nc.traditional",
            nc::traditional_main,
            Some(rss::NC_TRADITIONAL),
        ),
        ("busybox", nc::busybox_multicall, Some(rss::BUSYBOX_NC)),
        ("python3", http_server::main, Some(rss::PYTHON3_HTTP_SERVER)),
        ("curl", curl::main, Some(rss::CURL)),
        ("socat", socat::main, Some(rss::SOCAT_PARENT)),
        ("echo-server", echo_server::main, None),
        ("chunk-reader", chunk_reader::main, None),
        ("httpd", httpd::main, None),
        ("pipelab-proxy", proxy::main, Some(rss::proxy(0))),
        ("heartbeat-server", heartbeat::server_main, None),
        ("heartbeat-client", heartbeat::client_main, None),
        ("cat", coreutils::cat, None),
        ("head", coreutils::head, None),
        ("yes", coreutils::yes, None),
        ("wc", coreutils::wc, None),
        ("seq", coreutils::seq, None),
        ("sleep", coreutils::sleep, None),
        ("mkfifo", coreutils::mkfifo, None),
        ("rm", coreutils::rm, None),
        ("ls", coreutils::ls, None),
        ("true", coreutils::true_, None),
        ("false", coreutils::false_, None),
        ("kill", coreutils::kill, None),
        ("echo", coreutils::echo, None),
        ("printf", coreutils::printf, None),
    ];
    for (name, main, rss_kb) in entries {
        t.insert(
            (*name).to_string(),
            Program {
                main: *main,
                rss_kb: *rss_kb,
            },
        );
    }
    t
}

/// Executable name → the program it runs. Each is installed in `/bin` and
/// `/usr/bin` (merged `/usr`).
pub const EXECUTABLES: &[(&str, &str)] = &[
    ("bash", "bash"),
    ("sh", "bash"),
    ("nc", "nc"),
    ("nc.openbsd", "nc.openbsd"),
    ("nc.traditional", "nc.traditional"),
    ("busybox", "busybox"),
    ("curl", "curl"),
    ("python3", "python3"),
    ("python3.11", "python3"),
    ("socat", "socat"),
    ("echo-server", "echo-server"),
    ("chunk-reader", "chunk-reader"),
    ("httpd", "httpd"),
    ("pipelab-proxy", "pipelab-proxy"),
    ("heartbeat-server", "heartbeat-server"),
    ("heartbeat-client", "heartbeat-client"),
    ("cat", "cat"),
    ("head", "head"),
    ("yes", "yes"),
    ("wc", "wc"),
    ("seq", "seq"),
    ("sleep", "sleep"),
    ("mkfifo", "mkfifo"),
    ("rm", "rm"),
    ("ls", "ls"),
    ("true", "true"),
    ("false", "false"),
    ("kill", "kill"),
    ("echo", "echo"),
    ("printf", "printf"),
];

/// Creates the executables: `/bin/NAME` and `/usr/bin/NAME` for each of
/// [`EXECUTABLES`].
pub fn install(vfs: &mut Vfs) {
    for (file, name) in EXECUTABLES {
        for dir in ["/bin", "/usr/bin"] {
            vfs.insert(
                &format!("{dir}/{file}"),
                Inode::Program {
                    name: (*name).to_string(),
                },
            );
        }
    }
}
