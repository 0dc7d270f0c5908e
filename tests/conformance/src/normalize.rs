//! `normalize()`: replace what is legitimately random in a transcript, nothing else.
//!
//! Each rule names a program, the exact context it rewrites and why the value is
//! random on the real machine. A rule never touches an outcome: status codes, exit
//! statuses, byte counts, messages and their order stay as they were. Numbers are
//! rewritten only in the context where they are a port, a date or a duration, so a
//! byte count such as `48000` (inside the ephemeral port range) is never mistaken for
//! a port.

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// The kernel's default `net.ipv4.ip_local_port_range` (`32768 60999`): where the
/// ports of connecting sockets and of `nc.traditional -l` without `-p` come from.
pub const EPHEMERAL_PORTS: std::ops::RangeInclusive<u32> = 32768..=60999;

/// One rewrite: what it matches, why that is random, what it becomes.
#[derive(Debug)]
pub struct Rule {
    pub name: &'static str,
    pub why: &'static str,
    pattern: &'static LazyLock<Regex>,
    rewrite: fn(&Captures<'_>) -> String,
}

macro_rules! re {
    ($name:ident, $pattern:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| Regex::new($pattern).unwrap());
    };
}

// `Connection received on localhost 58444` (nc.openbsd -v -l).
re!(OPENBSD_PEER, r"(Connection received on \S+ )(\d+)");
// `connect to [127.0.0.1] from localhost [127.0.0.1] 48864` (nc.traditional -v -l).
re!(TRADITIONAL_PEER, r"( from \S+ \[[0-9.]+\] )(\d+)");
// `listening on [any] 35083 ...` (nc.traditional -v -l without -p).
re!(TRADITIONAL_LISTEN, r"(listening on \[[^\]]*\] )(\d+)");
// `127.0.0.1 - - [26/Nov/2026 00:22:10] "GET / HTTP/1.1" 200 -` (http.server log).
re!(LOG_DATE, r"\[\d{2}/[A-Z][a-z]{2}/\d{4} \d{2}:\d{2}:\d{2}\]");
// `Date: Thu, 26 Nov 2026 00:22:10 GMT`, `Last-Modified: ...` (HTTP headers).
re!(
    HTTP_DATE,
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT"
);
// `after 0 ms`, `after 1001 milliseconds` (curl error messages).
re!(CURL_MS, r"after \d+ (ms|milliseconds)\b");

// `bash: line 11:  6012 Killed                  sleep 5` (bash reporting a job that a
// signal other than SIGINT/SIGPIPE killed; the pid is printed `%5d`).
re!(BASH_JOB_PID, r"(bash: line \d+: ) *(\d+)( )");
// `       689                       | sleep 6`: the same notice's line for each later
// process of a pipeline job, its pid printed `%5d` after five spaces.
re!(BASH_JOB_PID_MORE, r"(?m)^( {5}) *(\d+)( .*\| )");
// `[1] 7140`: an interactive shell's notice that a background job started (after
// the prompt when the line was typed ahead).
re!(JOB_START_PID, r"(?m)^((?:\$ )?\[\d+\] )(\d+)$");

fn ephemeral_port(caps: &Captures<'_>) -> String {
    let port: u32 = caps[2].parse().unwrap_or(0);
    if EPHEMERAL_PORTS.contains(&port) {
        format!("{}PORT", &caps[1])
    } else {
        caps[0].to_string()
    }
}

/// Every rule, in the order they are applied.
pub static RULES: [Rule; 9] = [
    Rule {
        name: "openbsd-peer-port",
        why: "the client's port is an ephemeral port the kernel picks at random",
        pattern: &OPENBSD_PEER,
        rewrite: ephemeral_port,
    },
    Rule {
        name: "traditional-peer-port",
        why: "the client's port is an ephemeral port the kernel picks at random",
        pattern: &TRADITIONAL_PEER,
        rewrite: ephemeral_port,
    },
    Rule {
        name: "traditional-listen-port",
        why: "`nc.traditional -l PORT` (no -p) binds port 0: the kernel picks one at random",
        pattern: &TRADITIONAL_LISTEN,
        rewrite: ephemeral_port,
    },
    Rule {
        name: "http-server-log-date",
        why: "http.server logs the wall-clock time of each request",
        pattern: &LOG_DATE,
        rewrite: |_| "[DATE]".to_string(),
    },
    Rule {
        name: "http-date-header",
        why: "Date: is the wall-clock time; Last-Modified: is when the run created index.html",
        pattern: &HTTP_DATE,
        rewrite: |_| "[HTTPDATE]".to_string(),
    },
    Rule {
        name: "curl-elapsed",
        why: "curl reports how long it waited; the scheduler decides the exact milliseconds",
        pattern: &CURL_MS,
        rewrite: |caps| format!("after N {}", &caps[1]),
    },
    Rule {
        name: "bash-job-pid",
        why: "bash names the killed job by its pid (padded to 5 columns), which depends on \
              every fork before it",
        pattern: &BASH_JOB_PID,
        rewrite: |caps| format!("{}PID{}", &caps[1], &caps[3]),
    },
    Rule {
        name: "bash-job-pid-more",
        why: "a pipeline job's notice names each later process by its pid too",
        pattern: &BASH_JOB_PID_MORE,
        rewrite: |caps| format!("{}PID{}", &caps[1], &caps[3]),
    },
    Rule {
        name: "job-start-pid",
        why: "an interactive shell names a background job's last process by its pid",
        pattern: &JOB_START_PID,
        rewrite: |caps| format!("{}PID", &caps[1]),
    },
];

/// Applies every rule of [`RULES`] to a transcript.
pub fn normalize(transcript: &str) -> String {
    let mut text = transcript.to_string();
    for rule in &RULES {
        text = rule
            .pattern
            .replace_all(&text, |caps: &Captures<'_>| (rule.rewrite)(caps))
            .into_owned();
    }
    text
}

// ---------------------------------------------------------------------------------
// Tests: one per rule, with the real line it exists for, and what it must not touch.
// ---------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openbsd_peer_port_becomes_port() {
        assert_eq!(
            normalize("Connection received on localhost 58444\n"),
            "Connection received on localhost PORT\n"
        );
    }

    #[test]
    fn traditional_peer_port_becomes_port() {
        assert_eq!(
            normalize("connect to [127.0.0.1] from localhost [127.0.0.1] 48864\n"),
            "connect to [127.0.0.1] from localhost [127.0.0.1] PORT\n"
        );
    }

    #[test]
    fn traditional_random_listen_port_becomes_port_but_a_chosen_one_stays() {
        assert_eq!(
            normalize("listening on [any] 35083 ...\n"),
            "listening on [any] PORT ...\n"
        );
        assert_eq!(
            normalize("listening on [any] 6000 ...\n"),
            "listening on [any] 6000 ...\n"
        );
    }

    #[test]
    fn a_port_outside_the_ephemeral_range_is_an_outcome_and_stays() {
        assert_eq!(
            normalize("Connection received on localhost 6000\n"),
            "Connection received on localhost 6000\n"
        );
        assert_eq!(
            normalize("Connection received on localhost 61000\n"),
            "Connection received on localhost 61000\n"
        );
    }

    #[test]
    fn numbers_out_of_context_stay_even_in_the_port_range() {
        let text = "wrote 48000 bytes\n sent 210, rcvd 78\n000 7\n";
        assert_eq!(normalize(text), text);
    }

    #[test]
    fn http_server_log_date_becomes_date() {
        assert_eq!(
            normalize("127.0.0.1 - - [26/Nov/2026 00:22:10] \"GET / HTTP/1.1\" 200 -\n"),
            "127.0.0.1 - - [DATE] \"GET / HTTP/1.1\" 200 -\n"
        );
    }

    #[test]
    fn http_date_headers_become_httpdate() {
        assert_eq!(
            normalize(
                "Date: Thu, 26 Nov 2026 00:22:10 GMT\r\n\
                 Last-Modified: Thu, 26 Nov 2026 00:22:09 GMT\r\n"
            ),
            "Date: [HTTPDATE]\r\nLast-Modified: [HTTPDATE]\r\n"
        );
    }

    #[test]
    fn curl_elapsed_times_become_n() {
        assert_eq!(
            normalize(
                "curl: (7) Failed to connect to 127.0.0.1 port 6000 after 0 ms: \
                 Couldn't connect to server\n"
            ),
            "curl: (7) Failed to connect to 127.0.0.1 port 6000 after N ms: \
             Couldn't connect to server\n"
        );
        assert_eq!(
            normalize(
                "curl: (28) Operation timed out after 1001 milliseconds with 0 bytes received\n"
            ),
            "curl: (28) Operation timed out after N milliseconds with 0 bytes received\n"
        );
    }

    #[test]
    fn bash_job_pid_becomes_pid() {
        assert_eq!(
            normalize("bash: line 11: 27896 Killed                  sleep 5\n"),
            "bash: line 11: PID Killed                  sleep 5\n"
        );
        assert_eq!(
            normalize("bash: line 11:  6012 Killed                  sleep 5\n"),
            "bash: line 11: PID Killed                  sleep 5\n"
        );
    }

    #[test]
    fn a_pipeline_jobs_later_pids_become_pid() {
        assert_eq!(
            normalize(
                "bash: line 2: 21756 Killed                  sleep 5\n     \
                 21757                       | sleep 6\n         4 Killed                  | sleep 6\n"
            ),
            "bash: line 2: PID Killed                  sleep 5\n     PID                       \
             | sleep 6\n     PID Killed                  | sleep 6\n"
        );
        // A number at the start of an indented line with no `|` is not a pid.
        assert_eq!(normalize("     48000 bytes\n"), "     48000 bytes\n");
    }

    #[test]
    fn an_interactive_job_start_notice_pid_becomes_pid() {
        assert_eq!(
            normalize("$ sleep 9 &\n[1] 7140\n$ [2] 7141\n$ echo [3] 5\n"),
            "$ sleep 9 &\n[1] PID\n$ [2] PID\n$ echo [3] 5\n"
        );
    }

    #[test]
    fn outcomes_are_untouched() {
        let text = "200 0\n000 7\n000 52\nPIPESTATUS=141 0\n\
                    too many output retries : Broken pipe\n\
                    Connection to 127.0.0.1 5000 port [tcp/*] succeeded!\n";
        assert_eq!(normalize(text), text);
    }

    #[test]
    fn normalize_is_idempotent() {
        let text = "Connection received on localhost 58444\n[26/Nov/2026 00:22:10]\nafter 3 ms\n";
        assert_eq!(normalize(&normalize(text)), normalize(text));
    }

    #[test]
    fn every_rule_says_why() {
        for rule in &RULES {
            assert!(!rule.why.is_empty(), "{}", rule.name);
        }
    }
}
