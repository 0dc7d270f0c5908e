//! A sliver of libc for the simulated programs: stderr messages, `getopt(3)` with
//! glibc's error texts, `strerror(3)`, stdio-style buffering, wall-clock dates, and
//! the name lookups (`/etc/hosts`, `/etc/services`) the programs print.
//!
//! Every helper that touches the kernel does it through [`Sys`] syscalls, so what
//! it costs shows in the trace as it would under strace.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::kernel::fs::Inode;
use crate::kernel::{Errno, Fd, Micros};
use crate::sys::Sys;

pub const STDIN: Fd = 0;
pub const STDOUT: Fd = 1;
pub const STDERR: Fd = 2;

/// The wall-clock time at virtual time 0: 2026-11-26 00:00:00 UTC, as seconds since
/// the Unix epoch. Dates the programs print (http.server's log and `Date:`
/// header, socat's log prefix) count from it, so runs are repeatable.
pub const WALL_CLOCK_AT_ZERO_S: u64 = 1_795_651_200;

/// `strerror(3)`.
pub fn strerror(e: Errno) -> &'static str {
    e.text()
}

/// Writes `msg` to stderr, as unbuffered stdio does: one `write(2)`; errors are
/// ignored like `fprintf(stderr, ...)` ignores them.
pub async fn eprint(sys: &Sys, msg: &str) {
    let _ = sys.write_all(STDERR, msg.as_bytes()).await;
}

/// `PROG: MSG\n` on stderr.
pub async fn warnx(sys: &Sys, prog: &str, msg: &str) {
    eprint(sys, &format!("{prog}: {msg}\n")).await;
}

/// The last component of a path: how `basename(3)` names a program.
pub fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// One result of [`Getopt::next_opt`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opt {
    /// An option letter and its argument, if it takes one.
    Flag(char, Option<String>),
    /// An unknown letter: glibc has printed `invalid option -- 'x'`.
    Invalid(char),
    /// A letter whose argument is missing: `option requires an argument -- 'x'`.
    MissingArg(char),
}

/// `getopt(3)` as glibc does it: options may follow operands (glibc permutes
/// argv unless the optstring starts with `+`), `--` ends options, clustered
/// letters (`-vv`, `-lp6000`) work. Errors are reported through [`Opt`], and the
/// message glibc prints is [`Getopt::error_text`].
#[derive(Clone, Debug)]
pub struct Getopt {
    args: Vec<String>,
    optstring: String,
    /// Index of the next argument to look at.
    index: usize,
    /// Position inside a cluster like `-vn`.
    cluster: usize,
    /// Operands met so far (glibc moves them to the end).
    pub operands: Vec<String>,
    /// Stop at the first operand (optstring starting with `+`, or POSIX mode).
    posix: bool,
}

impl Getopt {
    /// `argv` without `argv[0]`.
    pub fn new(argv: &[String], optstring: &str) -> Getopt {
        let posix = optstring.starts_with('+');
        Getopt {
            args: argv.iter().skip(1).cloned().collect(),
            optstring: optstring.trim_start_matches('+').to_string(),
            index: 0,
            cluster: 0,
            operands: Vec::new(),
            posix,
        }
    }

    fn takes_arg(&self, c: char) -> Option<bool> {
        let i = self.optstring.find(c)?;
        Some(self.optstring[i + c.len_utf8()..].starts_with(':'))
    }

    /// The next option, or None when only operands remain (then see
    /// [`Getopt::operands`]).
    pub fn next_opt(&mut self) -> Option<Opt> {
        loop {
            let arg = self.args.get(self.index)?.clone();
            if self.cluster == 0 {
                if arg == "--" {
                    self.index += 1;
                    self.operands.extend(self.args.drain(self.index..));
                    return None;
                }
                if !arg.starts_with('-') || arg == "-" {
                    if self.posix {
                        self.operands.extend(self.args.drain(self.index..));
                        return None;
                    }
                    self.operands.push(arg);
                    self.index += 1;
                    continue;
                }
                self.cluster = 1;
            }
            let chars: Vec<char> = arg.chars().collect();
            let c = chars[self.cluster];
            self.cluster += 1;
            let at_end = self.cluster >= chars.len();
            let known = if c == ':' { None } else { self.takes_arg(c) };
            match known {
                None => {
                    self.finish_cluster(at_end);
                    return Some(Opt::Invalid(c));
                }
                Some(false) => {
                    self.finish_cluster(at_end);
                    return Some(Opt::Flag(c, None));
                }
                Some(true) => {
                    let value: String = if !at_end {
                        chars[self.cluster..].iter().collect()
                    } else if let Some(v) = self.args.get(self.index + 1) {
                        let v = v.clone();
                        self.index += 1;
                        v
                    } else {
                        self.index += 1;
                        self.cluster = 0;
                        return Some(Opt::MissingArg(c));
                    };
                    self.index += 1;
                    self.cluster = 0;
                    return Some(Opt::Flag(c, Some(value)));
                }
            }
        }
    }

    fn finish_cluster(&mut self, at_end: bool) {
        if at_end {
            self.index += 1;
            self.cluster = 0;
        }
    }

    /// Every operand, once [`Getopt::next_opt`] has returned None.
    pub fn rest(mut self) -> Vec<String> {
        let tail: Vec<String> = self.args.drain(self.index.min(self.args.len())..).collect();
        self.operands.extend(tail);
        self.operands
    }

    /// What glibc's getopt prints for an error, with `prog` = `argv[0]`.
    pub fn error_text(prog: &str, opt: &Opt) -> String {
        match opt {
            Opt::Invalid(c) => format!("{prog}: invalid option -- '{c}'\n"),
            Opt::MissingArg(c) => format!("{prog}: option requires an argument -- '{c}'\n"),
            Opt::Flag(..) => String::new(),
        }
    }
}

/// How stdio buffers a stream: a terminal is line buffered, anything else is
/// fully buffered with a block of `block` bytes (glibc: `st_blksize`, 4096 for a
/// pipe; CPython's `io` module: 8192).
#[derive(Clone, Debug)]
pub struct Stdio {
    fd: Fd,
    line: bool,
    block: usize,
    buf: Vec<u8>,
    /// A write failed: stdio's error flag.
    pub error: Option<Errno>,
}

impl Stdio {
    /// Decides the buffering the way glibc does on the first output: `isatty`.
    pub async fn open(sys: &Sys, fd: Fd, block: usize) -> Stdio {
        let line = sys.isatty(fd).await.is_ok();
        Stdio {
            fd,
            line,
            block,
            buf: Vec::new(),
            error: None,
        }
    }

    /// A fully buffered stream on a file `fopen` opened (no terminal check: glibc
    /// asks only character devices whether they are terminals).
    pub fn full(fd: Fd, block: usize) -> Stdio {
        Stdio {
            fd,
            line: false,
            block,
            buf: Vec::new(),
            error: None,
        }
    }

    pub fn fd(&self) -> Fd {
        self.fd
    }

    pub fn is_tty(&self) -> bool {
        self.line
    }

    /// `fwrite`: buffers, writing out full blocks or (on a terminal) full lines.
    pub async fn put(&mut self, sys: &Sys, data: &[u8]) {
        if self.error.is_some() {
            return;
        }
        self.buf.extend_from_slice(data);
        if self.line {
            if let Some(i) = self.buf.iter().rposition(|&b| b == b'\n') {
                let out: Vec<u8> = self.buf.drain(..=i).collect();
                self.write_out(sys, &out).await;
            }
        } else {
            while self.buf.len() >= self.block {
                let out: Vec<u8> = self.buf.drain(..self.block).collect();
                self.write_out(sys, &out).await;
            }
        }
    }

    /// `fflush`.
    pub async fn flush(&mut self, sys: &Sys) -> Result<(), Errno> {
        if !self.buf.is_empty() && self.error.is_none() {
            let out = std::mem::take(&mut self.buf);
            self.write_out(sys, &out).await;
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn write_out(&mut self, sys: &Sys, data: &[u8]) {
        if let Err(e) = sys.write_all(self.fd, data).await {
            self.error = Some(e);
            self.buf.clear();
        }
    }
}

/// A civil date from days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// The broken-down UTC time at virtual time `now_us`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WallTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Thursday (1970-01-01 was one).
    weekday: usize,
}

impl WallTime {
    pub fn at(now_us: Micros) -> WallTime {
        let secs = WALL_CLOCK_AT_ZERO_S as i64 + (now_us / 1_000_000) as i64;
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        WallTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem / 60 % 60) as u32,
            second: (rem % 60) as u32,
            weekday: days.rem_euclid(7) as usize,
        }
    }

    fn mon(&self) -> &'static str {
        MONTHS[(self.month - 1) as usize]
    }

    /// RFC 7231 `Thu, 26 Nov 2026 00:45:45 GMT` (`email.utils.formatdate(usegmt=True)`).
    pub fn http_date(&self) -> String {
        format!(
            "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
            WEEKDAYS[self.weekday],
            self.day,
            self.mon(),
            self.year,
            self.hour,
            self.minute,
            self.second
        )
    }

    /// `26/Nov/2026 00:45:45`, http.server's `log_date_time_string`.
    pub fn log_date(&self) -> String {
        format!(
            "{:02}/{}/{} {:02}:{:02}:{:02}",
            self.day,
            self.mon(),
            self.year,
            self.hour,
            self.minute,
            self.second
        )
    }

    /// `2026/11/26 00:48:04`, socat's log prefix.
    pub fn slash_date(&self) -> String {
        format!(
            "{}/{:02}/{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// `Nov 26 00:00`, `ls -l`'s recent-file date.
    pub fn ls_date(&self) -> String {
        format!(
            "{} {:>2} {:02}:{:02}",
            self.mon(),
            self.day,
            self.hour,
            self.minute
        )
    }
}

/// What reverse lookup of an address gives through `/etc/hosts` (there is no DNS
/// in the simulation): `localhost` for 127.0.0.1, nothing for others.
pub fn reverse_lookup(ip: Ipv4Addr) -> Option<&'static str> {
    (ip == Ipv4Addr::LOCALHOST).then_some("localhost")
}

/// Forward lookup through `/etc/hosts`: `localhost` and dotted quads.
pub fn resolve(host: &str) -> Option<Ipv4Addr> {
    if host == "localhost" {
        return Some(Ipv4Addr::LOCALHOST);
    }
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() != 4 || parts.iter().any(|p| p.is_empty() || p.len() > 3) {
        return None;
    }
    let mut o = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        o[i] = p.parse().ok()?;
    }
    Some(Ipv4Addr::from(o))
}

/// The `/etc/services` name of a TCP port, for the few that Debian lists and the
/// lessons meet (port 6000 is X11's, which is why `nc -v` prints `[tcp/x11]`).
pub fn service_name(port: u16) -> Option<&'static str> {
    Some(match port {
        7 => "echo",
        9 => "discard",
        21 => "ftp",
        22 => "ssh",
        25 => "smtp",
        53 => "domain",
        80 => "http",
        443 => "https",
        6000 => "x11",
        6001 => "x11-1",
        8080 => "http-alt",
        _ => return None,
    })
}

/// `127.0.0.1:5000`.
pub fn addr(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

/// Finds `name` the way `execvp(3)` does: a name with a slash is a path; otherwise
/// each directory of the default PATH in turn.
pub async fn which(sys: &Sys, name: &str) -> Option<String> {
    if name.contains('/') {
        return Some(name.to_string());
    }
    for dir in ["/usr/local/bin", "/usr/bin", "/bin"] {
        let path = format!("{dir}/{name}");
        if let Ok(Inode::Program { .. }) = sys.stat(&path).await {
            return Some(path);
        }
    }
    None
}

/// Parses an unsigned decimal the way `strtonum`/`atoi` callers here need it.
pub fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        std::iter::once("nc")
            .chain(s.split_whitespace())
            .map(String::from)
            .collect()
    }

    #[test]
    fn getopt_permutes_operands_and_clusters_letters() {
        let mut g = Getopt::new(&args("127.0.0.1 -vn 5000 -p6000 -w 3"), "vnp:w:");
        let mut got = Vec::new();
        while let Some(o) = g.next_opt() {
            got.push(o);
        }
        assert_eq!(
            got,
            vec![
                Opt::Flag('v', None),
                Opt::Flag('n', None),
                Opt::Flag('p', Some("6000".into())),
                Opt::Flag('w', Some("3".into())),
            ]
        );
        assert_eq!(g.rest(), vec!["127.0.0.1", "5000"]);
    }

    #[test]
    fn getopt_reports_invalid_and_missing_like_glibc() {
        let mut g = Getopt::new(&args("-N"), "lp:");
        let o = g.next_opt().unwrap();
        assert_eq!(Getopt::error_text("nc", &o), "nc: invalid option -- 'N'\n");
        let mut g = Getopt::new(&args("-q"), "q:");
        let o = g.next_opt().unwrap();
        assert_eq!(
            Getopt::error_text("nc", &o),
            "nc: option requires an argument -- 'q'\n"
        );
    }

    #[test]
    fn virtual_time_zero_is_thursday_26_november_2026() {
        let t = WallTime::at(0);
        assert_eq!(t.http_date(), "Thu, 26 Nov 2026 00:00:00 GMT");
        assert_eq!(t.log_date(), "26/Nov/2026 00:00:00");
        let t = WallTime::at(86_400_000_000 + 3_723_000_000);
        assert_eq!(t.http_date(), "Fri, 27 Nov 2026 01:02:03 GMT");
    }

    #[test]
    fn resolve_knows_localhost_and_dotted_quads() {
        assert_eq!(resolve("localhost"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(resolve("127.0.0.1"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(resolve("1.2.3"), None);
        assert_eq!(resolve("example"), None);
    }
}
