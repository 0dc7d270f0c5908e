//! curl 7.88.1 (Debian 12) for `http://` URLs, as it behaves on this machine
//! against `python3 -m http.server`.
//!
//! Per URL: a non-blocking `connect` (EINPROGRESS), `poll` for POLLOUT,
//! `getsockopt(SO_ERROR)`, one `sendto(MSG_NOSIGNAL)` of the request (78 bytes for
//! `http://127.0.0.1:6000/`: the ground truth's `rcvd 78`), then `poll` + 102400-
//! byte reads. The body is written out as it comes; with a `Content-Length`, curl
//! stops and closes as soon as it has that many bytes (which is why request 1 of
//! the FIFO pipeline succeeds although the proxy never closes); without one it
//! reads to EOF.
//!
//! Exit codes and messages (`curl: (N) ...` unless `-s` without `-S`; `* ...`
//! lines with `-v`): 7 `Failed to connect to H port P after N ms: Couldn't connect
//! to server`, 28 `Operation timed out after N milliseconds with M bytes received`,
//! 52 `Empty reply from server`, 56 `Recv failure: Connection reset by peer`. With
//! several URLs the exit code is the last transfer's.
//!
//! Options: `-s`, `-S`, `-v`, `-i`, `-o FILE` (one per URL, in order), `-w FORMAT`
//! (`%{http_code}`, `%{exitcode}`, `%{size_download}`, `%{time_total}`, `\n`),
//! `-m`/`--max-time SECS`, `-H 'Name: value'`, `-X METHOD`, and their long forms.
//!
//! Simplifications:
//! - The progress meter (shown when the body does not go to a terminal and `-s`
//!   is not given) is drawn at the start and at the end, as a short transfer
//!   shows it; the real one also redraws every second. Its speeds use virtual
//!   time, so its figures differ from a real run's.
//! - curl's internal socketpair, TCP_NODELAY/keep-alive options and its many
//!   `rt_sigaction` calls are not shown; SIGPIPE is ignored once at start.
//! - No DNS: `localhost` and dotted quads only (`Could not resolve host` else).

use std::net::SocketAddrV4;

use crate::kernel::fs::OpenFlags;
use crate::kernel::poll::{POLLIN, POLLOUT, PollFd};
use crate::kernel::{Disposition, Errno, Fd, Signal};
use crate::programs::float::parse_f64;
use crate::programs::userland::{STDOUT, Stdio, eprint, resolve};
use crate::sys::{Sys, Task};

const USER_AGENT: &str = "curl/7.88.1";
/// `CURL_MAX_READ_SIZE` default buffer: what each `recvfrom` asks for.
const READ_SIZE: usize = 102_400;

#[derive(Clone, Debug, Default)]
struct Opts {
    silent: bool,
    show_error: bool,
    verbose: bool,
    include: bool,
    write_out: Option<String>,
    max_time_ms: Option<u64>,
    headers: Vec<String>,
    method: Option<String>,
}

/// One URL and where its body goes.
#[derive(Clone, Debug)]
struct Job {
    url: String,
    output: Option<String>,
    /// An earlier URL of this run named the same host (`-v` then says it was
    /// found in the DNS cache).
    host_seen_before: bool,
}

/// What one transfer ended with.
#[derive(Clone, Debug, Default)]
struct Outcome {
    code: i32,
    message: String,
    http_code: u16,
    size_download: u64,
}

pub fn main(sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(run(sys, argv))
}

async fn usage_error(sys: &Sys, msg: Option<String>) -> i32 {
    if let Some(m) = msg {
        eprint(sys, &format!("curl: {m}\n")).await;
    }
    eprint(
        sys,
        "curl: try 'curl --help' or 'curl --manual' for more information\n",
    )
    .await;
    2
}

async fn run(sys: Sys, argv: Vec<String>) -> i32 {
    let mut o = Opts::default();
    let mut outputs: Vec<String> = Vec::new();
    let mut urls: Vec<String> = Vec::new();
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].clone();
        let value = |i: usize| argv.get(i + 1).cloned();
        // Short options may cluster: `-sv`, `-sSo file`.
        if a.starts_with('-') && !a.starts_with("--") && a.len() > 2 {
            let letters: Vec<char> = a[1..].chars().collect();
            let mut consumed_next = false;
            for (k, c) in letters.iter().enumerate() {
                match c {
                    's' => o.silent = true,
                    'S' => o.show_error = true,
                    'v' => o.verbose = true,
                    'i' => o.include = true,
                    'o' | 'w' | 'm' | 'H' | 'X' => {
                        let rest: String = letters[k + 1..].iter().collect();
                        let v = if rest.is_empty() {
                            consumed_next = true;
                            value(i)
                        } else {
                            Some(rest)
                        };
                        let Some(v) = v else {
                            return usage_error(
                                &sys,
                                Some(format!("option -{c}: requires parameter")),
                            )
                            .await;
                        };
                        if let Err(m) = set_valued(&mut o, &mut outputs, *c, v) {
                            return usage_error(&sys, Some(m)).await;
                        }
                        break;
                    }
                    _ => {
                        return usage_error(&sys, Some(format!("option {a}: is unknown"))).await;
                    }
                }
            }
            i += if consumed_next { 2 } else { 1 };
            continue;
        }
        let short = match a.as_str() {
            "-s" | "--silent" => Some('s'),
            "-S" | "--show-error" => Some('S'),
            "-v" | "--verbose" => Some('v'),
            "-i" | "--include" => Some('i'),
            "-o" | "--output" => Some('o'),
            "-w" | "--write-out" => Some('w'),
            "-m" | "--max-time" => Some('m'),
            "-H" | "--header" => Some('H'),
            "-X" | "--request" => Some('X'),
            _ => None,
        };
        match short {
            Some('s') => o.silent = true,
            Some('S') => o.show_error = true,
            Some('v') => o.verbose = true,
            Some('i') => o.include = true,
            Some(c) => {
                let Some(v) = value(i) else {
                    return usage_error(&sys, Some(format!("option {a}: requires parameter")))
                        .await;
                };
                if let Err(m) = set_valued(&mut o, &mut outputs, c, v) {
                    return usage_error(&sys, Some(m)).await;
                }
                i += 1;
            }
            None if a.starts_with('-') && a.len() > 1 => {
                return usage_error(&sys, Some(format!("option {a}: is unknown"))).await;
            }
            None => urls.push(a),
        }
        i += 1;
    }
    if urls.is_empty() {
        return usage_error(&sys, None).await;
    }
    let host_of = |url: &str| parse_url(url).ok().map(|(h, _, _)| h);
    let jobs: Vec<Job> = urls
        .iter()
        .enumerate()
        .map(|(n, url)| Job {
            url: url.clone(),
            output: outputs.get(n).cloned(),
            host_seen_before: host_of(url)
                .is_some_and(|h| urls[..n].iter().any(|u| host_of(u).as_deref() == Some(&h))),
        })
        .collect();
    let _ = sys.sigaction(Signal::SIGPIPE, Disposition::Ignore).await;
    // stdout is a stdio stream: on a pipe the body and -w's text wait in its
    // buffer while the -v lines go straight to stderr (measured: the body shows up
    // after `* Closing connection 0`).
    let mut stdout = Stdio::open(&sys, STDOUT, 4096).await;
    let stdout_tty = stdout.is_tty();
    let mut last = 0;
    for (n, job) in jobs.iter().enumerate() {
        let out = transfer(&sys, &o, job, n, stdout_tty, &mut stdout).await;
        if out.code != 0 && (!o.silent || o.show_error) {
            eprint(&sys, &format!("curl: ({}) {}\n", out.code, out.message)).await;
        }
        if let Some(fmt) = &o.write_out {
            let text = write_out(fmt, &out);
            stdout.put(&sys, text.as_bytes()).await;
        }
        last = out.code;
    }
    let _ = stdout.flush(&sys).await;
    last
}

fn set_valued(o: &mut Opts, outputs: &mut Vec<String>, c: char, v: String) -> Result<(), String> {
    match c {
        'o' => outputs.push(v),
        'w' => o.write_out = Some(v),
        'H' => o.headers.push(v),
        'X' => o.method = Some(v),
        'm' => match parse_f64(&v) {
            Some(s) if s >= 0.0 => o.max_time_ms = Some((s * 1000.0) as u64),
            _ => return Err("option --max-time: expected a proper numerical parameter".into()),
        },
        _ => {}
    }
    Ok(())
}

/// `-w`'s variables and escapes.
fn write_out(fmt: &str, out: &Outcome) -> String {
    fmt.replace("%{http_code}", &format!("{:03}", out.http_code))
        .replace("%{response_code}", &format!("{:03}", out.http_code))
        .replace("%{exitcode}", &out.code.to_string())
        .replace("%{size_download}", &out.size_download.to_string())
        .replace("\\n", "\n")
        .replace("\\r", "\r")
        .replace("\\t", "\t")
}

/// `http://HOST[:PORT][/PATH]` → (host, port, path).
fn parse_url(url: &str) -> Result<(String, u16, String), Outcome> {
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, _)) => {
            return Err(Outcome {
                code: 1,
                message: format!("Protocol \"{scheme}\" not supported or disabled in libcurl"),
                ..Outcome::default()
            });
        }
        None => url,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => match p.parse::<u16>() {
            Ok(p) => (h.to_string(), p),
            Err(_) => {
                return Err(Outcome {
                    code: 3,
                    message: "URL using bad/illegal format or missing URL".to_string(),
                    ..Outcome::default()
                });
            }
        },
        None => (authority.to_string(), 80),
    };
    Ok((host, port, path))
}

/// `max5data` (lib/progress.c): a byte count in five columns.
fn max5(n: u64) -> String {
    const K: u64 = 1024;
    const M: u64 = K * K;
    if n < 100_000 {
        format!("{n:>5}")
    } else if n < 10_000 * K {
        format!("{:>4}k", n / K)
    } else if n < 100 * M {
        format!("{:>2}.{}M", n / M, (n % M) / (M / 10))
    } else {
        format!("{:>4}M", n / M)
    }
}

/// `time2str`: `--:--:--` under a second, else ` H:MM:SS`.
fn time8(us: u64) -> String {
    let s = us / 1_000_000;
    if s == 0 {
        "--:--:--".to_string()
    } else {
        format!("{:>2}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

/// The meter's two header lines.
const METER_HEADER: &str = "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n                                 Dload  Upload   Total   Spent    Left  Speed\n";

/// One meter line (`\r` first, no newline): `progress_meter` in lib/progress.c.
fn meter_line(received: u64, expected: Option<u64>, elapsed_us: u64) -> String {
    let total = expected.unwrap_or(0);
    let pct = (received * 100).checked_div(total).unwrap_or(0);
    let speed = (received * 1_000_000).checked_div(elapsed_us).unwrap_or(0);
    format!(
        "\r{:>3} {}  {:>3} {}  {:>3} {}  {}  {} {} {} {} {}",
        pct,
        max5(total),
        pct,
        max5(received),
        0,
        max5(0),
        max5(speed),
        max5(0),
        "--:--:--",
        time8(elapsed_us),
        "--:--:--",
        max5(speed)
    )
}

async fn transfer(
    sys: &Sys,
    o: &Opts,
    job: &Job,
    n: usize,
    stdout_tty: bool,
    stdout: &mut Stdio,
) -> Outcome {
    let start = sys.now_us();
    let deadline = o.max_time_ms.map(|ms| start + ms * 1000);
    let body_to_tty = job.output.is_none() && stdout_tty;
    let show_meter = !o.silent && !body_to_tty;
    let v = |s: String| async move {
        if o.verbose {
            eprint(sys, &s).await;
        }
    };
    if show_meter {
        eprint(sys, &format!("{METER_HEADER}{}", meter_line(0, None, 0))).await;
    }
    let (host, port, path) = match parse_url(&job.url) {
        Ok(u) => u,
        Err(out) => return out,
    };
    let Some(ip) = resolve(&host) else {
        v(format!("* Could not resolve host: {host}\n")).await;
        v(format!("* Closing connection {n}\n")).await;
        return Outcome {
            code: 6,
            message: format!("Could not resolve host: {host}"),
            ..Outcome::default()
        };
    };
    if job.host_seen_before {
        v(format!("* Hostname {host} was found in DNS cache\n")).await;
    }
    v(format!("*   Trying {ip}:{port}...\n")).await;
    let mut out = Outcome::default();
    let s = match sys.socket().await {
        Ok(s) => s,
        Err(e) => {
            out.code = 7;
            out.message = format!("socket: {}", e.text());
            return out;
        }
    };
    let _ = sys.set_nonblock(s, true).await;
    let remaining_ms = |now: u64| -> i32 {
        match deadline {
            Some(d) => (d.saturating_sub(now) / 1000) as i32,
            None => -1,
        }
    };
    // A timeout is reported at no less than --max-time, as curl measures it.
    let elapsed_ms = |now: u64| {
        ((now - start) / 1000).max(if deadline.is_some_and(|d| now + 999 >= d) {
            o.max_time_ms.unwrap_or(0)
        } else {
            0
        })
    };
    // Around every wait curl saves and restores SIGPIPE's disposition
    // (`sigpipe_ignore`/`sigpipe_restore`); those calls are steps like any other,
    // and they are why the request leaves a moment after the connect completes.
    let sigpipe = || async { sys.sigaction(Signal::SIGPIPE, Disposition::Ignore).await };
    let connected = match sys.connect(s, SocketAddrV4::new(ip, port)).await {
        Ok(()) => Ok(()),
        Err(Errno::EINPROGRESS) => {
            let _ = sigpipe().await;
            let mut p = [PollFd::new(s, POLLOUT)];
            match sys.poll(&mut p, remaining_ms(sys.now_us())).await {
                Ok(0) => Err(None),
                _ => {
                    let _ = sigpipe().await;
                    let _ = sigpipe().await;
                    let mut p = [PollFd::new(s, POLLOUT)];
                    let _ = sys.poll(&mut p, 0).await;
                    match sys.so_error(s).await {
                        Ok(None) => Ok(()),
                        Ok(Some(e)) | Err(e) => Err(Some(e)),
                    }
                }
            }
        }
        Err(e) => Err(Some(e)),
    };
    match connected {
        Ok(()) => {}
        Err(None) => {
            let ms = elapsed_ms(sys.now_us());
            let _ = sys.close(s).await;
            out.code = 28;
            out.message = format!("Connection timed out after {ms} milliseconds");
            v(format!("* {}\n", out.message)).await;
            finish_meter(sys, show_meter, &out, None, sys.now_us() - start).await;
            v(format!("* Closing connection {n}\n")).await;
            return out;
        }
        Err(Some(e)) => {
            let ms = elapsed_ms(sys.now_us());
            let _ = sys.close(s).await;
            v(format!(
                "* connect to {ip} port {port} failed: {}\n",
                e.text()
            ))
            .await;
            out.code = 7;
            out.message = format!(
                "Failed to connect to {host} port {port} after {ms} ms: Couldn't connect to server"
            );
            v(format!("* {}\n", out.message)).await;
            finish_meter(sys, show_meter, &out, None, sys.now_us() - start).await;
            v(format!("* Closing connection {n}\n")).await;
            return out;
        }
    }
    v(format!("* Connected to {host} ({ip}) port {port} (#{n})\n")).await;
    let host_header = if port == 80 {
        host.clone()
    } else {
        format!("{host}:{port}")
    };
    let method = o.method.clone().unwrap_or_else(|| "GET".into());
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\n"
    );
    for h in &o.headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    if o.verbose {
        let shown: String = req
            .split_inclusive("\r\n")
            .map(|l| format!("> {l}"))
            .collect();
        eprint(sys, &shown).await;
    }
    if let Err(e) = sys.send_nosignal(s, req.as_bytes()).await {
        let _ = sys.close(s).await;
        out.code = 55;
        out.message = format!("Failed sending data to the peer: {}", e.text());
        return out;
    }
    // Receive.
    let mut head: Vec<u8> = Vec::new();
    let mut headers_done = false;
    let mut content_length: Option<u64> = None;
    let mut output_fd: Option<Fd> = None;
    let mut received_any = false;
    loop {
        if let Some(cl) = content_length
            && headers_done
            && out.size_download >= cl
        {
            break;
        }
        let mut p = [PollFd::new(s, POLLIN)];
        let now = sys.now_us();
        if deadline.is_some_and(|d| now >= d) {
            out.code = 28;
        } else {
            match sys.poll(&mut p, remaining_ms(now)).await {
                Ok(0) => out.code = 28,
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(_) => out.code = 56,
            }
        }
        if out.code == 28 {
            let ms = elapsed_ms(sys.now_us());
            let got = out.size_download;
            out.message = match content_length {
                Some(cl) if headers_done => format!(
                    "Operation timed out after {ms} milliseconds with {got} out of {cl} bytes received"
                ),
                _ => {
                    format!("Operation timed out after {ms} milliseconds with {got} bytes received")
                }
            };
            v(format!("* {}\n", out.message)).await;
            break;
        }
        let data = match sys.read(s, READ_SIZE).await {
            Ok(d) => d,
            Err(Errno::EAGAIN) => continue,
            // Linux's tcp_recvmsg reports EOF before a pending error once the
            // peer's FIN has come (SOCK_DONE): a reset that follows a FIN (our
            // request answered by RST in CLOSE-WAIT) still reads as EOF. The
            // simulated kernel reports the EPIPE first; read it as the EOF Linux
            // gives.
            Err(Errno::EPIPE) => Vec::new(),
            Err(e) => {
                out.code = 56;
                out.message = format!("Recv failure: {}", e.text());
                v(format!("* {}\n", out.message)).await;
                break;
            }
        };
        if data.is_empty() {
            if !received_any {
                out.code = 52;
                out.message = "Empty reply from server".into();
                v(format!("* {}\n", out.message)).await;
            } else if !headers_done {
                out.code = 8;
                out.message = "Weird server reply".into();
            }
            break;
        }
        received_any = true;
        let mut body: Vec<u8> = Vec::new();
        if headers_done {
            body = data;
        } else {
            head.extend_from_slice(&data);
            let end = head
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|i| i + 4)
                .or_else(|| head.windows(2).position(|w| w == b"\n\n").map(|i| i + 2));
            if let Some(end) = end {
                headers_done = true;
                body = head.split_off(end);
                let text = String::from_utf8_lossy(&head).into_owned();
                let status = text.lines().next().unwrap_or("");
                out.http_code = status
                    .split_whitespace()
                    .nth(1)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                for line in text.lines().skip(1) {
                    if let Some((k, val)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        content_length = val.trim().parse().ok();
                    }
                }
                if o.verbose {
                    let mut shown = String::new();
                    if status.starts_with("HTTP/1.0") {
                        shown.push_str("* HTTP 1.0, assume close after body\n");
                    }
                    for l in text.split_inclusive('\n') {
                        shown.push_str("< ");
                        shown.push_str(l);
                    }
                    eprint(sys, &shown).await;
                }
                if o.include {
                    deliver(sys, job, &mut output_fd, &head, stdout).await;
                }
            }
        }
        if !body.is_empty() {
            if let Some(cl) = content_length {
                let room = cl.saturating_sub(out.size_download) as usize;
                body.truncate(room);
            }
            out.size_download += body.len() as u64;
            if o.verbose && !body_to_tty {
                eprint(sys, &format!("{{ [{} bytes data]\n", body.len())).await;
            }
            deliver(sys, job, &mut output_fd, &body, stdout).await;
        }
    }
    let _ = sys.close(s).await;
    if let Some(fd) = output_fd
        && fd != STDOUT
    {
        let _ = sys.close(fd).await;
    }
    finish_meter(sys, show_meter, &out, content_length, sys.now_us() - start).await;
    v(format!("* Closing connection {n}\n")).await;
    out
}

async fn finish_meter(
    sys: &Sys,
    show: bool,
    out: &Outcome,
    expected: Option<u64>,
    elapsed_us: u64,
) {
    if show {
        let line = meter_line(out.size_download, expected, elapsed_us);
        eprint(sys, &format!("{line}\n")).await;
    }
}

/// Writes body bytes to stdout or the `-o` file (opened at the first bytes, as
/// curl does).
async fn deliver(sys: &Sys, job: &Job, fd: &mut Option<Fd>, data: &[u8], stdout: &mut Stdio) {
    let target = match (*fd, &job.output) {
        (Some(STDOUT), _) | (None, None) => {
            *fd = Some(STDOUT);
            stdout.put(sys, data).await;
            return;
        }
        (None, Some(path)) if path == "-" => {
            *fd = Some(STDOUT);
            stdout.put(sys, data).await;
            return;
        }
        (Some(f), _) => f,
        (None, Some(path)) => match sys.open(path, OpenFlags::create_truncate()).await {
            Ok(f) => f,
            Err(_) => return,
        },
    };
    *fd = Some(target);
    let _ = sys.write_all(target, data).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_path() {
        let (h, p, path) = parse_url("http://127.0.0.1:6000/").ok().unwrap();
        assert_eq!((h.as_str(), p, path.as_str()), ("127.0.0.1", 6000, "/"));
        let (h, p, path) = parse_url("localhost").ok().unwrap();
        assert_eq!((h.as_str(), p, path.as_str()), ("localhost", 80, "/"));
        assert_eq!(parse_url("https://x/").err().unwrap().code, 1);
    }

    #[test]
    fn meter_lines_have_curls_columns() {
        assert_eq!(
            meter_line(0, None, 0),
            "\r  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0"
        );
        assert_eq!(
            meter_line(25, Some(25), 34_153),
            "\r100    25  100    25    0     0    732      0 --:--:-- --:--:-- --:--:--   732"
        );
        assert_eq!(max5(123_456), " 120k");
    }

    #[test]
    fn write_out_fills_variables() {
        let out = Outcome {
            code: 7,
            http_code: 0,
            size_download: 0,
            ..Outcome::default()
        };
        assert_eq!(
            write_out("%{http_code} %{exitcode} %{size_download}\\n", &out),
            "000 7 0\n"
        );
    }
}
