//! The small tools, mirroring GNU coreutils 9.1 (Debian 12) and procps 4.0.2's
//! `kill`: `cat`, `head`, `yes`, `wc`, `seq`, `sleep`, `mkfifo`, `rm`, `ls`,
//! `true`, `false`, `kill`, `echo`, `printf`.
//!
//! Read and write sizes are the ones strace shows on this machine: `cat` reads
//! 131072 bytes at a time, `head` 8192 (`-c N` asks for no more than it needs), `yes`
//! writes 8192-byte blocks of whole lines. Messages are GNU's in the C.UTF-8 locale
//! this machine runs in (hence the ‘curly’ quotes in some of them).
//!
//! Simplifications (what the real one does / what we do / how to lift it):
//! - `seq` handles integers and one-decimal steps through `f64` formatting with the
//!   precision of its arguments; GNU uses long double and `%g`. Lift: port
//!   `seq.c`'s format logic.
//! - `ls` prints one name per line when stdout is not a terminal and two-space
//!   separated names on one line when it is (GNU fits columns to the width);
//!   `ls -l` shows fixed owner `root`, mode and date (the VFS keeps no metadata).
//!   Lift: add inode metadata to the VFS.
//! - `printf` knows `%s %d %i %u %x %c %%` with flags and width, and the escapes
//!   `\n \r \t \\ \a \0NNN`; GNU knows all of C's conversions.

use crate::kernel::fs::{Inode, OpenFlags};
use crate::kernel::{Errno, Fd, Signal};
use crate::programs::float::parse_f64;
use crate::programs::userland::{
    Getopt, Opt, STDERR, STDIN, STDOUT, Stdio, eprint, strerror, warnx,
};
use crate::sys::{Sys, Task};

/// `close_stdout` (gnulib): GNU tools close stdout and stderr on the way out.
async fn close_std(sys: &Sys) {
    let _ = sys.close(STDOUT).await;
    let _ = sys.close(STDERR).await;
}

/// Reads `fd` to EOF in `size` chunks, passing each chunk on to stdout.
/// Returns the write error, if one ended it.
async fn copy_fd(sys: &Sys, fd: Fd, size: usize) -> Result<(), (bool, Errno)> {
    loop {
        let data = sys.read(fd, size).await.map_err(|e| (false, e))?;
        if data.is_empty() {
            return Ok(());
        }
        sys.write_all(STDOUT, &data).await.map_err(|e| (true, e))?;
    }
}

// ------------------------------------------------------------------ cat

/// `cat [FILE]...`.
pub fn cat(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(async move {
        let mut files: Vec<String> = argv.iter().skip(1).cloned().collect();
        if files.is_empty() {
            files.push("-".into());
        }
        let mut status = 0;
        for f in files {
            let fd = if f == "-" {
                STDIN
            } else {
                match sys.open(&f, OpenFlags::read_only()).await {
                    Ok(fd) => fd,
                    Err(e) => {
                        warnx(&sys, "cat", &format!("{f}: {}", strerror(e))).await;
                        status = 1;
                        continue;
                    }
                }
            };
            match copy_fd(&sys, fd, 131_072).await {
                Ok(()) => {}
                Err((true, e)) => {
                    warnx(&sys, "cat", &format!("write error: {}", strerror(e))).await;
                    return 1;
                }
                Err((false, e)) => {
                    warnx(&sys, "cat", &format!("{f}: {}", strerror(e))).await;
                    status = 1;
                }
            }
            if fd != STDIN {
                let _ = sys.close(fd).await;
            }
        }
        close_std(&sys).await;
        status
    })
}

// ------------------------------------------------------------------ head

/// `head [-n N] [-c N] [-N] [FILE]...`: the first 10 lines, N lines or N bytes.
pub fn head(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(async move {
        // `head -1` is the obsolete spelling of `head -n 1`.
        let mut args = argv.clone();
        if let Some(a) = args.get(1)
            && a.len() > 1
            && a[1..].bytes().all(|b| b.is_ascii_digit())
        {
            args[1] = format!("-n{}", &a[1..]);
        }
        let mut g = Getopt::new(&args, "n:c:qv");
        let mut lines = Some(10u64);
        let mut bytes = None;
        while let Some(o) = g.next_opt() {
            match o {
                Opt::Flag('n', Some(v)) => match v.parse::<u64>() {
                    Ok(n) => lines = Some(n),
                    Err(_) => {
                        warnx(&sys, "head", &format!("invalid number of lines: ‘{v}’")).await;
                        return 1;
                    }
                },
                Opt::Flag('c', Some(v)) => match v.parse::<u64>() {
                    Ok(n) => {
                        bytes = Some(n);
                        lines = None;
                    }
                    Err(_) => {
                        warnx(&sys, "head", &format!("invalid number of bytes: ‘{v}’")).await;
                        return 1;
                    }
                },
                Opt::Flag(..) => {}
                bad => {
                    eprint(&sys, &Getopt::error_text("head", &bad)).await;
                    eprint(&sys, "Try 'head --help' for more information.\n").await;
                    return 1;
                }
            }
        }
        let mut files = g.rest();
        if files.is_empty() {
            files.push("-".into());
        }
        let mut status = 0;
        for f in files {
            let fd = if f == "-" {
                STDIN
            } else {
                match sys.open(&f, OpenFlags::read_only()).await {
                    Ok(fd) => fd,
                    Err(e) => {
                        warnx(
                            &sys,
                            "head",
                            &format!("cannot open '{f}' for reading: {}", strerror(e)),
                        )
                        .await;
                        status = 1;
                        continue;
                    }
                }
            };
            let r = match (lines, bytes) {
                (_, Some(n)) => head_bytes(&sys, fd, n).await,
                (Some(n), _) => head_lines(&sys, fd, n).await,
                _ => Ok(()),
            };
            if let Err(e) = r {
                warnx(
                    &sys,
                    "head",
                    &format!("error writing 'standard output': {}", strerror(e)),
                )
                .await;
                return 1;
            }
            if fd != STDIN {
                let _ = sys.close(fd).await;
            }
        }
        close_std(&sys).await;
        status
    })
}

async fn head_bytes(sys: &Sys, fd: Fd, mut left: u64) -> Result<(), Errno> {
    while left > 0 {
        let Ok(data) = sys.read(fd, left.min(8192) as usize).await else {
            return Ok(());
        };
        if data.is_empty() {
            break;
        }
        left -= data.len() as u64;
        sys.write_all(STDOUT, &data).await?;
    }
    Ok(())
}

async fn head_lines(sys: &Sys, fd: Fd, mut left: u64) -> Result<(), Errno> {
    while left > 0 {
        let Ok(data) = sys.read(fd, 8192).await else {
            return Ok(());
        };
        if data.is_empty() {
            break;
        }
        let mut end = data.len();
        for (i, &b) in data.iter().enumerate() {
            if b == b'\n' {
                left -= 1;
                if left == 0 {
                    end = i + 1;
                    break;
                }
            }
        }
        sys.write_all(STDOUT, &data[..end]).await?;
    }
    Ok(())
}

// ------------------------------------------------------------------ yes

/// `yes [STRING]...`: the line, forever, in 8192-byte blocks of whole lines.
pub fn yes(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(async move {
        let line = if argv.len() > 1 {
            format!("{}\n", argv[1..].join(" "))
        } else {
            "y\n".to_string()
        };
        let copies = (8192 / line.len()).max(1);
        let block = line.repeat(copies).into_bytes();
        loop {
            if let Err(e) = sys.write_all(STDOUT, &block).await {
                warnx(&sys, "yes", &format!("standard output: {}", strerror(e))).await;
                return 1;
            }
        }
    })
}

// ------------------------------------------------------------------ wc

/// `wc [-clw] [FILE]...`, with GNU's column widths: the digits of the total size
/// of the regular files, at least 7 when a pipe or terminal is counted, and 1 when
/// only one number is printed.
pub fn wc(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(async move {
        let mut g = Getopt::new(&argv, "clwm");
        let (mut want_l, mut want_w, mut want_c) = (false, false, false);
        while let Some(o) = g.next_opt() {
            match o {
                Opt::Flag('l', _) => want_l = true,
                Opt::Flag('w', _) => want_w = true,
                Opt::Flag('c' | 'm', _) => want_c = true,
                Opt::Flag(..) => {}
                bad => {
                    eprint(&sys, &Getopt::error_text("wc", &bad)).await;
                    eprint(&sys, "Try 'wc --help' for more information.\n").await;
                    return 1;
                }
            }
        }
        if !(want_l || want_w || want_c) {
            (want_l, want_w, want_c) = (true, true, true);
        }
        let files = g.rest();
        let names: Vec<Option<String>> = if files.is_empty() {
            vec![None]
        } else {
            files.into_iter().map(Some).collect()
        };
        let mut rows: Vec<([u64; 3], Option<String>)> = Vec::new();
        let mut status = 0;
        let mut regular_total = 0u64;
        let mut stream = false;
        for name in &names {
            let fd = match name.as_deref() {
                None | Some("-") => {
                    stream = true;
                    STDIN
                }
                Some(f) => match sys.open(f, OpenFlags::read_only()).await {
                    Ok(fd) => fd,
                    Err(e) => {
                        warnx(&sys, "wc", &format!("{f}: {}", strerror(e))).await;
                        status = 1;
                        continue;
                    }
                },
            };
            let (mut l, mut w, mut c) = (0u64, 0u64, 0u64);
            let mut in_word = false;
            loop {
                let Ok(data) = sys.read(fd, 16_384).await else {
                    break;
                };
                if data.is_empty() {
                    break;
                }
                c += data.len() as u64;
                for &b in &data {
                    if b == b'\n' {
                        l += 1;
                    }
                    if b.is_ascii_whitespace() {
                        in_word = false;
                    } else if !in_word {
                        in_word = true;
                        w += 1;
                    }
                }
            }
            if fd != STDIN {
                regular_total += c;
                let _ = sys.close(fd).await;
            }
            rows.push(([l, w, c], name.clone()));
        }
        if rows.len() > 1 {
            let mut t = [0u64; 3];
            for (r, _) in &rows {
                for i in 0..3 {
                    t[i] += r[i];
                }
            }
            rows.push((t, Some("total".into())));
        }
        let shown = [want_l, want_w, want_c];
        let count = shown.iter().filter(|s| **s).count();
        let mut width = regular_total.to_string().len();
        if stream {
            width = width.max(7);
        }
        if count == 1 && names.len() == 1 {
            width = 1;
        }
        let mut out = String::new();
        for (r, name) in rows {
            let cols: Vec<String> = (0..3)
                .filter(|&i| shown[i])
                .map(|i| format!("{:>width$}", r[i]))
                .collect();
            out.push_str(&cols.join(" "));
            if let Some(n) = name.filter(|n| n != "-") {
                out.push(' ');
                out.push_str(&n);
            }
            out.push('\n');
        }
        if sys.write_all(STDOUT, out.as_bytes()).await.is_err() {
            return 1;
        }
        close_std(&sys).await;
        status
    })
}

// ------------------------------------------------------------------ seq

/// `seq [FIRST [INCREMENT]] LAST`.
/// `n` in decimal, without `fmt`'s machinery: a `seq 1 100000` for a shell loop
/// spent most of its time formatting.
fn push_decimal(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    // ASCII digits only.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// `v` with `decimals` digits after the point (`{v:.decimals$}`), in integer
/// arithmetic: float formatting would bring ~15 KB of code into the page's wasm
/// for this one use. Up to 20 decimals and magnitudes up to 1e15, as `seq` meets
/// them here.
fn push_fixed(out: &mut String, v: f64, decimals: usize) {
    let decimals = decimals.min(20);
    let unit = 10i128.pow(decimals as u32);
    let scaled = (v.clamp(-1e15, 1e15) * unit as f64).round() as i128;
    if scaled < 0 {
        out.push('-');
    }
    let (whole, frac) = (
        scaled.unsigned_abs() / unit as u128,
        scaled.unsigned_abs() % unit as u128,
    );
    // Digits by hand rather than u128's `to_string`, 1.3 KB of the page's wasm.
    // `whole` is at most 1e15 and a rounding's unit: an i64.
    push_decimal(out, whole as i64);
    if decimals > 0 {
        out.push('.');
        // `frac` has `decimals` digits at most, written zero-padded to that width.
        let mut digits = [b'0'; 20];
        let mut rest = frac;
        for d in digits[..decimals].iter_mut().rev() {
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        // ASCII digits only.
        out.push_str(std::str::from_utf8(&digits[..decimals]).unwrap_or_default());
    }
}

pub fn seq(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(async move {
        let args: Vec<&String> = argv.iter().skip(1).collect();
        if args.is_empty() {
            eprint(
                &sys,
                "seq: missing operand\nTry 'seq --help' for more information.\n",
            )
            .await;
            return 1;
        }
        let mut nums = Vec::new();
        for a in &args {
            match parse_f64(a) {
                Some(v) if a.len() <= 20 => nums.push(v),
                _ => {
                    eprint(
                        &sys,
                        &format!(
                            "seq: invalid floating point argument: ‘{a}’\nTry 'seq --help' for more information.\n"
                        ),
                    )
                    .await;
                    return 1;
                }
            }
        }
        let decimals = args
            .iter()
            .map(|a| a.split_once('.').map_or(0, |(_, f)| f.len()))
            .max()
            .unwrap_or(0);
        let (first, step, last) = match nums.as_slice() {
            [l] => (1.0, 1.0, *l),
            [f, l] => (*f, 1.0, *l),
            [f, s, l] => (*f, *s, *l),
            _ => {
                eprint(
                    &sys,
                    &format!(
                        "seq: extra operand ‘{}’\nTry 'seq --help' for more information.\n",
                        args[3]
                    ),
                )
                .await;
                return 1;
            }
        };
        let mut out = Stdio::open(&sys, STDOUT, 4096).await;
        // One line buffer for the whole run: a `format!` per line was most of
        // seq's time.
        let mut line = String::new();
        // Bounded like everything here: a million lines at most.
        for i in 0..1_000_000u64 {
            let v = first + step * i as f64;
            if (step > 0.0 && v > last + 1e-9) || (step < 0.0 && v < last - 1e-9) || step == 0.0 {
                break;
            }
            // Whole numbers (the usual `seq 1 N`) skip float formatting.
            line.clear();
            // Writing into a String cannot fail.
            if decimals == 0 && v.fract() == 0.0 && v.abs() < 1e15 {
                push_decimal(&mut line, v as i64);
            } else {
                push_fixed(&mut line, v, decimals);
            }
            line.push('\n');
            out.put(&sys, line.as_bytes()).await;
            if out.error.is_some() {
                break;
            }
        }
        match out.flush(&sys).await {
            Ok(()) => {
                close_std(&sys).await;
                0
            }
            Err(e) => {
                warnx(&sys, "seq", &format!("write error: {}", strerror(e))).await;
                1
            }
        }
    })
}

// ------------------------------------------------------------------ sleep

/// Parses `1`, `0.5`, `2m`, `1.5h`: seconds as microseconds.
fn parse_interval(s: &str) -> Option<u64> {
    let (num, mult) = match s.chars().last()? {
        's' => (&s[..s.len() - 1], 1.0),
        'm' => (&s[..s.len() - 1], 60.0),
        'h' => (&s[..s.len() - 1], 3600.0),
        'd' => (&s[..s.len() - 1], 86400.0),
        _ => (s, 1.0),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let v = parse_f64(num)?;
    Some((v * mult * 1e6).round() as u64)
}

/// `sleep NUMBER[SUFFIX]...`: the sum of the intervals, fractions allowed.
pub fn sleep(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(async move {
        if argv.len() < 2 {
            eprint(
                &sys,
                "sleep: missing operand\nTry 'sleep --help' for more information.\n",
            )
            .await;
            return 1;
        }
        let mut total = 0u64;
        for a in &argv[1..] {
            match parse_interval(a) {
                Some(us) => total += us,
                None => {
                    eprint(
                        &sys,
                        &format!(
                            "sleep: invalid time interval ‘{a}’\nTry 'sleep --help' for more information.\n"
                        ),
                    )
                    .await;
                    return 1;
                }
            }
        }
        let _ = sys.sleep_us(total).await;
        0
    })
}

// ------------------------------------------------------------------ mkfifo, rm

/// `mkfifo NAME...`.
pub fn mkfifo(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(async move {
        let names: Vec<&String> = argv
            .iter()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .collect();
        if names.is_empty() {
            eprint(
                &sys,
                "mkfifo: missing operand\nTry 'mkfifo --help' for more information.\n",
            )
            .await;
            return 1;
        }
        let mut status = 0;
        for n in names {
            if let Err(e) = sys.mkfifo(n).await {
                warnx(
                    &sys,
                    "mkfifo",
                    &format!("cannot create fifo '{n}': {}", strerror(e)),
                )
                .await;
                status = 1;
            }
        }
        status
    })
}

/// `rm [-f] [-r] FILE...` (files and FIFOs; no directories).
pub fn rm(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(async move {
        let mut g = Getopt::new(&argv, "frRiv");
        let mut force = false;
        while let Some(o) = g.next_opt() {
            match o {
                Opt::Flag('f', _) => force = true,
                Opt::Flag(..) => {}
                bad => {
                    eprint(&sys, &Getopt::error_text("rm", &bad)).await;
                    eprint(&sys, "Try 'rm --help' for more information.\n").await;
                    return 1;
                }
            }
        }
        let names = g.rest();
        if names.is_empty() && !force {
            eprint(
                &sys,
                "rm: missing operand\nTry 'rm --help' for more information.\n",
            )
            .await;
            return 1;
        }
        let mut status = 0;
        for n in names {
            match sys.unlink(&n).await {
                Ok(()) => {}
                Err(Errno::ENOENT) if force => {}
                Err(e) => {
                    warnx(&sys, "rm", &format!("cannot remove '{n}': {}", strerror(e))).await;
                    status = 1;
                }
            }
        }
        status
    })
}

// ------------------------------------------------------------------ ls

fn ls_long(inode: &Inode, name: &str) -> String {
    let (mode, size) = match inode {
        Inode::Dir => ("drwxr-xr-x", 4096),
        Inode::File { data } => ("-rw-r--r--", data.len()),
        Inode::Fifo { .. } => ("prw-r--r--", 0),
        Inode::Program { .. } => ("-rwxr-xr-x", 0),
        Inode::Null | Inode::Zero | Inode::Terminal { .. } => ("crw-rw-rw-", 0),
    };
    let date = crate::programs::userland::WallTime::at(0).ls_date();
    format!("{mode} 1 root root {size} {date} {name}\n")
}

/// `ls [-l] [-a] [PATH]...`.
pub fn ls(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(async move {
        let mut g = Getopt::new(&argv, "la1AF");
        let mut long = false;
        while let Some(o) = g.next_opt() {
            match o {
                Opt::Flag('l', _) => long = true,
                Opt::Flag(..) => {}
                bad => {
                    eprint(&sys, &Getopt::error_text("ls", &bad)).await;
                    eprint(&sys, "Try 'ls --help' for more information.\n").await;
                    return 2;
                }
            }
        }
        let mut paths = g.rest();
        if paths.is_empty() {
            paths.push(".".into());
        }
        let tty = sys.isatty(STDOUT).await.is_ok();
        let mut status = 0;
        let mut out = String::new();
        let many = paths.len() > 1;
        for p in &paths {
            match sys.stat(p).await {
                Err(e) => {
                    warnx(&sys, "ls", &format!("cannot access '{p}': {}", strerror(e))).await;
                    status = 2;
                }
                Ok(Inode::Dir) => {
                    let names = sys.list_dir(p).await.unwrap_or_default();
                    if many {
                        out.push_str(&format!("{p}:\n"));
                    }
                    if long {
                        out.push_str(&format!("total {}\n", names.len() * 4));
                        for n in &names {
                            let full = format!("{}/{n}", p.trim_end_matches('/'));
                            if let Ok(i) = sys.stat(&full).await {
                                out.push_str(&ls_long(&i, n));
                            }
                        }
                    } else if tty && !names.is_empty() {
                        out.push_str(&names.join("  "));
                        out.push('\n');
                    } else {
                        for n in &names {
                            out.push_str(n);
                            out.push('\n');
                        }
                    }
                }
                Ok(inode) => {
                    if long {
                        out.push_str(&ls_long(&inode, p));
                    } else {
                        out.push_str(p);
                        out.push('\n');
                    }
                }
            }
        }
        if !out.is_empty() && sys.write_all(STDOUT, out.as_bytes()).await.is_err() {
            return 2;
        }
        close_std(&sys).await;
        status
    })
}

// ------------------------------------------------------------------ true, false

/// `true`.
pub fn true_(_sys: Sys, _argv: Vec<String>) -> Task {
    Box::pin(async { 0 })
}

/// `false`.
pub fn false_(_sys: Sys, _argv: Vec<String>) -> Task {
    Box::pin(async { 1 })
}

// ------------------------------------------------------------------ kill

const KILL_LIST: &str = "HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT\nCHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH POLL PWR SYS\n";

/// `kill [-s SIG | -SIG] PID...` and `kill -l [N]` (procps-ng).
pub fn kill(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(async move {
        let prog = argv[0].clone();
        let mut sig = Some(Signal::SIGTERM);
        // After `-SIG` or `-s SIG`, a `-N` is a process group, not a signal.
        let mut sig_given = false;
        let mut pids = Vec::new();
        let mut i = 1;
        while i < argv.len() {
            let a = &argv[i];
            if a == "-l" || a == "-L" {
                let out = match argv.get(i + 1) {
                    Some(n) => match Signal::parse(n) {
                        Some(s) if n.bytes().all(|b| b.is_ascii_digit()) => {
                            format!("{}\n", &s.name()[3..])
                        }
                        Some(s) => format!("{}\n", s.number()),
                        None => {
                            warnx(&sys, &prog, &format!("unknown signal name {n}")).await;
                            return 1;
                        }
                    },
                    None => KILL_LIST.to_string(),
                };
                let _ = sys.write_all(STDOUT, out.as_bytes()).await;
                return 0;
            } else if a == "-s" {
                i += 1;
                sig = argv.get(i).and_then(|s| Signal::parse(s));
                sig_given = true;
                if sig.is_none() {
                    warnx(&sys, &prog, "unknown signal").await;
                    return 1;
                }
            } else if a == "--" {
                pids.extend(argv[i + 1..].iter().cloned());
                break;
            } else if let Some(name) = a.strip_prefix('-')
                && pids.is_empty()
                && !sig_given
                && !name.is_empty()
            {
                sig_given = true;
                if name == "0" {
                    sig = None;
                } else {
                    sig = Signal::parse(name);
                    if sig.is_none() {
                        warnx(&sys, &prog, &format!("unknown signal name {name}")).await;
                        return 1;
                    }
                }
            } else {
                pids.push(a.clone());
            }
            i += 1;
        }
        if pids.is_empty() {
            eprint(
                &sys,
                "\nUsage:\n kill [options] <pid> [...]\n\nOptions:\n <pid> [...]            send signal to every <pid> listed\n -<signal>, -s, --signal <signal>\n                        specify the <signal> to be sent\n -q, --queue <value>    integer value to be sent with the signal\n -l, --list=[<signal>]  list all signal names, or convert one to a name\n -L, --table            list all signal names in a nice table\n\n -h, --help     display this help and exit\n -V, --version  output version information and exit\n\nFor more details see kill(1).\n",
            )
            .await;
            return 1;
        }
        let mut status = 0;
        for p in pids {
            let Ok(target) = p.parse::<i32>() else {
                warnx(&sys, &prog, &format!("failed to parse argument: '{p}'")).await;
                status = 1;
                continue;
            };
            if let Err(e) = sys.kill(target, sig).await {
                warnx(&sys, &prog, &format!("({target}): {}", strerror(e))).await;
                status = 1;
            }
        }
        status
    })
}

// ------------------------------------------------------------------ echo, printf

/// Backslash escapes as `echo -e` and `printf` read them. Returns the bytes and
/// whether `\c` asked to stop all output.
fn unescape(s: &str, octal_needs_zero: bool) -> (Vec<u8>, bool) {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        let c = b[i];
        i += 1;
        match c {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'e' => out.push(27),
            b'\\' => out.push(b'\\'),
            b'c' => return (out, true),
            b'0'..=b'7' if c == b'0' || !octal_needs_zero => {
                let mut v: u32 = if c == b'0' && octal_needs_zero {
                    0
                } else {
                    (c - b'0') as u32
                };
                let mut n = 0;
                while n < 3 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                    v = v * 8 + (b[i] - b'0') as u32;
                    i += 1;
                    n += 1;
                }
                out.push(v as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    (out, false)
}

/// `/bin/echo [-neE] [STRING]...` (bash's builtin `echo` is bash's own).
pub fn echo(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(async move {
        let mut newline = true;
        let mut escapes = false;
        let mut i = 1;
        while let Some(a) = argv.get(i) {
            if a.len() > 1 && a.starts_with('-') && a[1..].chars().all(|c| "neE".contains(c)) {
                for c in a[1..].chars() {
                    match c {
                        'n' => newline = false,
                        'e' => escapes = true,
                        _ => escapes = false,
                    }
                }
                i += 1;
            } else {
                break;
            }
        }
        let text = argv[i.min(argv.len())..].join(" ");
        let (mut out, stop) = if escapes {
            unescape(&text, true)
        } else {
            (text.into_bytes(), false)
        };
        if newline && !stop {
            out.push(b'\n');
        }
        match sys.write_all(STDOUT, &out).await {
            Ok(()) => {
                close_std(&sys).await;
                0
            }
            Err(e) => {
                warnx(&sys, "echo", &format!("write error: {}", strerror(e))).await;
                1
            }
        }
    })
}

/// One `%...` conversion applied to `arg`.
fn convert(spec: &str, conv: char, arg: Option<&str>, bad: &mut Option<String>) -> String {
    let flags: String = spec.chars().take_while(|c| "-0 +#".contains(*c)).collect();
    let width: usize = spec[flags.len()..].parse().unwrap_or(0);
    let left = flags.contains('-');
    let zero = flags.contains('0') && !left;
    let body = match conv {
        's' => arg.unwrap_or("").to_string(),
        'c' => arg
            .and_then(|a| a.chars().next())
            .map_or(String::new(), String::from),
        'd' | 'i' | 'u' | 'x' | 'X' => {
            let a = arg.unwrap_or("0");
            let n = if let Some(c) = a.strip_prefix('\'').or_else(|| a.strip_prefix('"')) {
                c.chars().next().map_or(0, |c| c as i64)
            } else {
                match a.trim().parse::<i64>() {
                    Ok(n) => n,
                    Err(_) => {
                        bad.get_or_insert_with(|| a.to_string());
                        0
                    }
                }
            };
            match conv {
                'x' => format!("{n:x}"),
                'X' => format!("{n:X}"),
                _ => n.to_string(),
            }
        }
        _ => String::new(),
    };
    if body.len() >= width {
        body
    } else if left {
        format!("{body:<width$}")
    } else if zero {
        format!("{body:0>width$}")
    } else {
        format!("{body:>width$}")
    }
}

/// `/usr/bin/printf FORMAT [ARGUMENT]...`: the format is reused while arguments
/// remain, as POSIX says.
pub fn printf(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(async move {
        let Some(format) = argv.get(1) else {
            eprint(
                &sys,
                "printf: missing operand\nTry 'printf --help' for more information.\n",
            )
            .await;
            return 1;
        };
        let args: Vec<&str> = argv[2..].iter().map(String::as_str).collect();
        let mut out: Vec<u8> = Vec::new();
        let mut next = 0usize;
        let mut bad: Option<String> = None;
        let chars: Vec<char> = format.chars().collect();
        'outer: loop {
            let mut used_any = false;
            let mut i = 0;
            let mut lit = String::new();
            while i < chars.len() {
                let c = chars[i];
                if c == '%' && i + 1 < chars.len() {
                    let (bytes, stop) = unescape(&lit, false);
                    out.extend(bytes);
                    lit.clear();
                    if stop {
                        break 'outer;
                    }
                    let mut j = i + 1;
                    while j < chars.len() && "-0 +#0123456789.".contains(chars[j]) {
                        j += 1;
                    }
                    let spec: String = chars[i + 1..j].iter().collect();
                    let conv = chars.get(j).copied().unwrap_or('%');
                    if conv == '%' {
                        out.push(b'%');
                    } else {
                        let arg = args.get(next).copied();
                        if arg.is_some() {
                            next += 1;
                            used_any = true;
                        }
                        out.extend(convert(&spec, conv, arg, &mut bad).into_bytes());
                    }
                    i = j + 1;
                } else {
                    lit.push(c);
                    i += 1;
                }
            }
            let (bytes, stop) = unescape(&lit, false);
            out.extend(bytes);
            if stop || !used_any || next >= args.len() {
                break;
            }
        }
        let mut status = 0;
        if let Some(b) = &bad {
            warnx(&sys, "printf", &format!("‘{b}’: expected a numeric value")).await;
            status = 1;
        }
        if !out.is_empty()
            && let Err(e) = sys.write_all(STDOUT, &out).await
        {
            warnx(&sys, "printf", &format!("write error: {}", strerror(e))).await;
            return 1;
        }
        status
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_prints_as_display_does() {
        for (v, d) in [
            (0.5, 1),
            (-0.5, 1),
            (1.25, 2),
            (3.0, 1),
            (-2.75, 2),
            (10.0, 0),
            (0.1 * 3.0, 3),
        ] {
            let mut s = String::new();
            push_fixed(&mut s, v, d);
            assert_eq!(s, format!("{v:.d$}"), "{v} with {d}");
        }
    }

    proptest::proptest! {
        /// push_fixed writes its digits by hand: they are those of u128's
        /// Display, zero-padded, for any value and any count of decimals.
        #[test]
        fn fixed_point_digits_are_those_of_u128_display(
            v in proptest::num::f64::ANY,
            decimals in 0usize..24,
        ) {
            let mut s = String::new();
            push_fixed(&mut s, v, decimals);
            let d = decimals.min(20);
            let unit = 10i128.pow(d as u32);
            let scaled = (v.clamp(-1e15, 1e15) * unit as f64).round() as i128;
            let (whole, frac) = (
                scaled.unsigned_abs() / unit as u128,
                scaled.unsigned_abs() % unit as u128,
            );
            let sign = if scaled < 0 { "-" } else { "" };
            let want = if d == 0 {
                format!("{sign}{whole}")
            } else {
                format!("{sign}{whole}.{frac:0d$}")
            };
            proptest::prop_assert_eq!(s, want);
        }
    }

    #[test]
    fn decimals_print_as_display_does() {
        for n in [0, 7, -7, 10, 99_999, 100_000, i64::MAX, i64::MIN] {
            let mut s = String::new();
            push_decimal(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }

    #[test]
    fn intervals_take_fractions_and_suffixes() {
        assert_eq!(parse_interval("0.5"), Some(500_000));
        assert_eq!(parse_interval("2m"), Some(120_000_000));
        assert_eq!(parse_interval("abc"), None);
    }

    #[test]
    fn escapes_follow_echo_e_and_printf() {
        assert_eq!(unescape("a\\tb\\n", false).0, b"a\tb\n");
        assert_eq!(unescape("\\0101", true).0, b"A");
        assert_eq!(unescape("\\101", false).0, b"A");
        assert!(unescape("x\\cy", true).1);
    }

    #[test]
    fn printf_conversions_pad_like_c() {
        let mut bad = None;
        assert_eq!(convert("5", 'd', Some("42"), &mut bad), "   42");
        assert_eq!(convert("-4", 's', Some("ab"), &mut bad), "ab  ");
        assert_eq!(convert("03", 'd', Some("7"), &mut bad), "007");
        assert_eq!(bad, None);
        convert("", 'd', Some("x"), &mut bad);
        assert_eq!(bad.as_deref(), Some("x"));
    }
}
