//! The lessons: the seed's story told with the real kernel's behavior. Each lesson
//! is data: terminals with their scripts, a few presets, and goals whose checks
//! read a snapshot. Where the flavors of nc behave differently, a goal names the
//! flavors it is about, and the text says what really happens on Debian (see
//! `shared/ground-truth`): Debian's netcats ignore SIGPIPE, so only the `textbook`
//! flavor dies of it the way the seed's article tells.

use serde::Serialize;

use crate::kernel::{Micros, Signal};
use crate::run::{NcFlavor, RunConfig};
use crate::session::{InputKind, Session, TerminalMode};
use crate::snapshot::Snapshot;
use crate::trace::{Event, EventKind};

/// One terminal of a lesson.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminalSpec {
    /// What the terminal is for: `backend`, `proxy`, `client`.
    pub label: &'static str,
    /// Typed into it when the lesson starts.
    pub script: String,
}

/// A command offered as a one-click preset for a terminal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preset {
    pub terminal: usize,
    pub command: String,
}

/// Something the learner types later in the lesson, into a program that is
/// already running (a line for `nc`, a Ctrl-D).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Typed {
    pub terminal: usize,
    /// Virtual time it is typed at, after the scripts (typed a second apart).
    pub at_ms: u64,
    #[serde(flatten)]
    pub input: InputKind,
}

/// What a goal checks, read off a snapshot and the trace so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Check {
    /// Terminal `terminal`'s output contains `text`.
    TerminalContains { terminal: usize, text: String },
    /// ... and does not.
    TerminalLacks { terminal: usize, text: String },
    /// A process whose `argv[0]` is `program` was killed by `signal`.
    Killed { program: String, signal: Signal },
    /// No process was killed by `signal`.
    NobodyKilledBy { signal: Signal },
    /// A process whose `argv[0]` is `program` exited with `code`.
    Exited { program: String, code: i32 },
    /// Processes whose `argv[0]` is `program` made these syscalls, in this order
    /// (others may come between).
    Syscalls { program: String, calls: Vec<String> },
    /// A process whose `argv[0]` is `program` blocked in `call`.
    BlockedIn { program: String, call: String },
    /// Between `min` and `max` processes ran `program` over the run.
    ProcessCount {
        program: String,
        min: usize,
        max: usize,
    },
    /// At least one process ran `program`, and every one of them has ended.
    AllEnded { program: String },
}

impl Check {
    /// Whether the check holds at snapshot `s`, given `trace`, the events up to it.
    pub fn holds(&self, s: &Snapshot, trace: &[Event]) -> bool {
        let output = |t: &usize| s.terminals.get(*t).map(|t| t.output.as_str()).unwrap_or("");
        fn named<'a>(
            s: &'a Snapshot,
            program: &'a str,
        ) -> impl Iterator<Item = &'a crate::snapshot::ProcessView> {
            s.processes
                .iter()
                .filter(move |p| p.argv.first().map(String::as_str) == Some(program))
        }
        match self {
            Check::TerminalContains { terminal, text } => output(terminal).contains(text.as_str()),
            Check::TerminalLacks { terminal, text } => !output(terminal).contains(text.as_str()),
            Check::Killed { program, signal } => {
                named(s, program).any(|p| p.killed_by == Some(*signal))
            }
            Check::NobodyKilledBy { signal } => {
                s.processes.iter().all(|p| p.killed_by != Some(*signal))
            }
            Check::Exited { program, code } => {
                named(s, program).any(|p| p.exit_code == Some(*code))
            }
            Check::Syscalls { program, calls } => {
                let pids: Vec<_> = named(s, program).map(|p| p.pid).collect();
                let mut wanted = calls.iter().peekable();
                for e in trace {
                    if let (Some(pid), EventKind::Syscall { name, .. }) = (e.pid, &e.kind)
                        && pids.contains(&pid)
                        && wanted.peek().is_some_and(|c| c.as_str() == *name)
                    {
                        wanted.next();
                    }
                }
                wanted.peek().is_none()
            }
            Check::BlockedIn { program, call } => {
                let pids: Vec<_> = named(s, program).map(|p| p.pid).collect();
                trace.iter().any(|e| {
                    matches!(&e.kind, EventKind::Blocked { name, .. } if *name == call.as_str())
                        && e.pid.is_some_and(|p| pids.contains(&p))
                })
            }
            Check::ProcessCount { program, min, max } => {
                (*min..=*max).contains(&named(s, program).count())
            }
            Check::AllEnded { program } => {
                named(s, program).next().is_some()
                    && named(s, program).all(|p| matches!(p.state, "exited" | "killed"))
            }
        }
    }
}

/// A goal: a sentence, and the check that says it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Goal {
    pub text: String,
    pub check: Check,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lesson {
    /// The id used in links (`?lesson=fifo-once`).
    pub name: &'static str,
    pub title: &'static str,
    /// What the lesson shows, in a few plain sentences.
    pub intro: String,
    pub terminals: Vec<TerminalSpec>,
    pub presets: Vec<Preset>,
    /// Virtual time the lesson's run needs.
    pub until_ms: u64,
    /// What is typed later, in time order.
    pub typed: Vec<Typed>,
    /// The page shows what the live processes cost (processes, fds, memory).
    pub show_costs: bool,
    pub goals: Vec<Goal>,
}

/// A goal and whether it is met.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GoalStatus {
    pub text: String,
    pub met: bool,
}

impl Lesson {
    /// The goals at snapshot `s`, with `trace` the events up to it.
    pub fn check(&self, s: &Snapshot, trace: &[Event]) -> Vec<GoalStatus> {
        self.goals
            .iter()
            .map(|g| GoalStatus {
                text: g.text.clone(),
                met: g.check.holds(s, trace),
            })
            .collect()
    }

    /// The lesson's run as the page and the CLI start it: interactive terminals,
    /// the scripts typed a second apart, then the later typing at its times.
    pub fn session(&self, nc: NcFlavor, seed: u64) -> Session {
        let config = RunConfig {
            terminals: self.scripts(),
            nc,
            seed,
            until_ms: self.until_ms,
        };
        let mut session = Session::new(config, TerminalMode::Interactive);
        for t in &self.typed {
            let at: Micros = t.at_ms * 1000;
            // The lessons' terminals exist and their inputs are small: no error.
            let _ = session.input_at(at, t.terminal as u32, t.input.clone());
        }
        session
    }

    /// The terminals' scripts, as a run configuration takes them.
    pub fn scripts(&self) -> Vec<String> {
        self.terminals.iter().map(|t| t.script.clone()).collect()
    }
}

/// The lesson names, in teaching order.
pub const NAMES: &[&str] = &[
    "naive-pipe",
    "fifo-once",
    "second-request",
    "sigpipe-ignored",
    "while-loop",
    "concurrency",
    "netcat-bridge",
    "echo-server",
    "chunks",
    "heartbleed",
    "httpd",
    "sandbox",
];

const BACKEND: &str = "python3 -m http.server 5000 --bind 127.0.0.1";

fn term(label: &'static str, script: &str) -> TerminalSpec {
    TerminalSpec {
        label,
        script: script.to_string(),
    }
}

fn typed(terminal: usize, at_ms: u64, text: &str) -> Typed {
    Typed {
        terminal,
        at_ms,
        input: InputKind::Text {
            text: text.to_string(),
        },
    }
}

fn goal(text: &str, check: Check) -> Goal {
    Goal {
        text: text.to_string(),
        check,
    }
}

fn contains(terminal: usize, text: &str) -> Check {
    Check::TerminalContains {
        terminal,
        text: text.to_string(),
    }
}

/// Every lesson, as it reads for `nc`.
pub fn all(nc: NcFlavor) -> Vec<Lesson> {
    NAMES.iter().filter_map(|n| lesson(n, nc)).collect()
}

/// One lesson by name, as it reads for `nc`.
pub fn lesson(name: &str, nc: NcFlavor) -> Option<Lesson> {
    let textbook = nc == NcFlavor::Textbook;
    let lesson = match name {
        "naive-pipe" => Lesson {
            name: "naive-pipe",
            title: "1. The naive pipe",
            intro: "`nc -l -p 6000 | nc 127.0.0.1 5000` carries the request from the client to the \
                    backend. But a pipe goes one way: the backend's answer comes out of the second nc's \
                    stdout, which is the proxy's terminal, and the client waits in vain."
                .into(),
            terminals: vec![
                term("backend", BACKEND),
                term("proxy", "nc -l -p 6000 | nc 127.0.0.1 5000"),
                term("client", "sleep 1; curl -s --max-time 3 http://127.0.0.1:6000/; echo \"curl exit $?\""),
            ],
            presets: vec![],
            until_ms: 9000,
            show_costs: false,
            typed: vec![],
            goals: vec![
                goal("The response lands in the proxy's terminal", contains(1, "hello from backend")),
                goal(
                    "The client gets nothing and gives up (curl exit 28)",
                    contains(2, "curl exit 28"),
                ),
            ],
        },
        "fifo-once" => Lesson {
            name: "fifo-once",
            title: "2. A FIFO closes the loop, once",
            intro: "A named pipe carries the response back: the second nc writes into /tmp/f and the \
                    first nc reads it and sends it to the client. The first request works. Then the \
                    backend closes, the pipeline ends, and nothing listens on 6000 any more."
                .into(),
            terminals: vec![
                term("backend", BACKEND),
                term(
                    "proxy",
                    "mkfifo /tmp/f; nc -l -p 6000 < /tmp/f | nc 127.0.0.1 5000 > /tmp/f; echo \"PIPESTATUS=${PIPESTATUS[*]}\"",
                ),
                term(
                    "client",
                    "sleep 1; curl -s http://127.0.0.1:6000/; echo \"rc=$?\"; sleep 1; curl -s http://127.0.0.1:6000/; echo \"rc=$?\"",
                ),
            ],
            presets: vec![],
            until_ms: 9000,
            show_costs: false,
            typed: vec![],
            goals: vec![
                goal("The first request gets the page", contains(2, "hello from backend\nrc=0")),
                goal("The second request is refused (curl exit 7)", contains(2, "rc=7")),
                goal("Both nc exit normally: PIPESTATUS=0 0", contains(1, "PIPESTATUS=0 0")),
            ],
        },
        "second-request" => {
            let (client_goal, proxy_goal) = match nc {
                NcFlavor::Textbook => (
                    goal(
                        "The listening nc writes into a pipe nobody reads and is killed by SIGPIPE",
                        Check::Killed {
                            program: "nc".into(),
                            signal: Signal::SIGPIPE,
                        },
                    ),
                    goal("The shell shows it: PIPESTATUS=141 0", contains(1, "PIPESTATUS=141 0")),
                ),
                NcFlavor::Traditional => (
                    goal(
                        "No nc dies of SIGPIPE: netcat-traditional ignores it",
                        Check::NobodyKilledBy { signal: Signal::SIGPIPE },
                    ),
                    goal(
                        "Its writes fail with EPIPE until it gives up: `too many output retries`, exit 1",
                        contains(1, "too many output retries : Broken pipe\nPIPESTATUS=1 0"),
                    ),
                ),
                NcFlavor::Openbsd => (
                    goal(
                        "No nc dies of SIGPIPE: netcat-openbsd ignores it",
                        Check::NobodyKilledBy { signal: Signal::SIGPIPE },
                    ),
                    goal(
                        "With -k the listening nc never exits: it goes back to accept(), and a new \
                         client gets an empty reply (try the curl preset)",
                        Check::TerminalLacks {
                            terminal: 1,
                            text: "\nPIPESTATUS=".into(),
                        },
                    ),
                ),
                NcFlavor::Busybox => (
                    goal(
                        "SIGPIPE strikes the client side instead: its printf writes into a dead pipe",
                        Check::Killed {
                            program: "bash".into(),
                            signal: Signal::SIGPIPE,
                        },
                    ),
                    goal("The client's pipeline shows it: PIPESTATUS=141 ...", contains(2, "PIPESTATUS=141")),
                ),
            };
            // -k keeps openbsd listening; -v makes traditional say why it gives up
            // (its `holler()` is silent without -v).
            let k = if matches!(nc, NcFlavor::Openbsd) { "-k " } else { "" };
            let v = if matches!(nc, NcFlavor::Traditional | NcFlavor::Textbook) { "-v " } else { "" };
            Lesson {
                name: "second-request",
                title: "3. Why the second request fails",
                intro: format!(
                    "The article says: after the first response the second nc exits, the pipe loses its \
                     reader, and the next write kills the first nc with SIGPIPE (status 141). That is \
                     the `textbook` flavor. Debian's netcats ignore SIGPIPE, so on a real machine the \
                     write fails with EPIPE instead, or never happens. {}",
                    if textbook {
                        "Switch the flavor to see what Debian really does."
                    } else {
                        "Switch to `textbook` to see the article's version."
                    }
                ),
                terminals: vec![
                    term("backend", BACKEND),
                    term(
                        "proxy",
                        &format!(
                            "mkfifo /tmp/f; nc {k}{v}-l -p 6000 < /tmp/f | nc 127.0.0.1 5000 > /tmp/f; echo \"PIPESTATUS=${{PIPESTATUS[*]}}\""
                        ),
                    ),
                    term(
                        "client",
                        "sleep 1; { printf 'GET / HTTP/1.0\\r\\n\\r\\n'; sleep 1; printf 'GET / HTTP/1.0\\r\\n\\r\\n'; sleep 1; } | nc 127.0.0.1 6000; echo \"PIPESTATUS=${PIPESTATUS[*]}\"",
                    ),
                ],
                presets: vec![Preset {
                    terminal: 2,
                    command: "curl -s http://127.0.0.1:6000/; echo \"rc=$?\"".into(),
                }],
                until_ms: 11_000,
                show_costs: false,
            typed: vec![],
            goals: vec![
                    goal("The first request gets the page", contains(2, "hello from backend")),
                    client_goal,
                    proxy_goal,
                ],
            }
        }
        "sigpipe-ignored" => Lesson {
            name: "sigpipe-ignored",
            title: "4. SIGPIPE ignored gives EPIPE",
            intro: "`yes` writes forever; `head -n1` reads one line and exits. The next write into the \
                    pipe raises SIGPIPE, whose default action kills `yes` (status 141). With \
                    `trap '' PIPE` the signal is ignored, and the same write fails with EPIPE: `yes` \
                    prints an error and exits 1."
                .into(),
            terminals: vec![
                term("shell", "yes | head -n1; echo \"PIPESTATUS=${PIPESTATUS[*]}\""),
                term("shell with trap", "trap '' PIPE; yes | head -n1; echo \"PIPESTATUS=${PIPESTATUS[*]}\""),
            ],
            presets: vec![Preset {
                terminal: 0,
                command: "set -o pipefail; yes | head -n1; echo \"status $?\"".into(),
            }],
            until_ms: 4000,
            show_costs: false,
            typed: vec![],
            goals: vec![
                goal("By default yes is killed by SIGPIPE: PIPESTATUS=141 0", contains(0, "PIPESTATUS=141 0")),
                goal(
                    "Ignored, the write fails with EPIPE: PIPESTATUS=1 0",
                    contains(1, "yes: standard output: Broken pipe\nPIPESTATUS=1 0"),
                ),
            ],
        },
        "while-loop" => Lesson {
            name: "while-loop",
            title: "5. The while-true fix, and its restart window",
            intro: "Restarting the pipeline after each transaction serves client after client, one at \
                    a time. Between two pipelines nothing listens on 6000 for a few milliseconds: a \
                    client arriving then is refused."
                .into(),
            terminals: vec![
                term("backend", BACKEND),
                term(
                    "proxy",
                    "mkfifo /tmp/f; while true; do nc -l -p 6000 < /tmp/f | nc 127.0.0.1 5000 > /tmp/f; done",
                ),
                term(
                    "client",
                    "for i in $(seq 1 3); do sleep 1; curl -s http://127.0.0.1:6000/; done; curl -s -o /dev/null -w 'rc=%{exitcode} ' http://127.0.0.1:6000/ -o /dev/null http://127.0.0.1:6000/ -o /dev/null http://127.0.0.1:6000/; echo",
                ),
            ],
            presets: vec![],
            until_ms: 11_000,
            show_costs: false,
            typed: vec![],
            goals: vec![
                goal(
                    "Human-paced requests all get the page",
                    contains(2, "hello from backend\nhello from backend\nhello from backend\n"),
                ),
                goal(
                    "A request fired right after another hits the restart window: refused (7)",
                    contains(2, "rc=7"),
                ),
            ],
        },
        "concurrency" => Lesson {
            name: "concurrency",
            title: "6. One client at a time, or many",
            intro: "Three clients arrive at once. The nc loop serves one at a time: a client that \
                    arrives during a transaction is refused, or reset when the pipeline ends (on the \
                    real kernel a client that starts late may find the next listener up and get the \
                    page too: tests/conformance's concurrent-clients case). `socat ... fork` \
                    forks a process per client. pipelab-proxy serves them all from one process that \
                    polls many sockets. Compare what each costs in processes, fds and memory."
                .into(),
            terminals: vec![
                term("backend", BACKEND),
                term(
                    "nc loop",
                    "mkfifo /tmp/f; while true; do nc -l -p 6000 < /tmp/f | nc 127.0.0.1 5000 > /tmp/f; done",
                ),
                term("socat", "socat TCP-LISTEN:6001,fork,reuseaddr TCP:127.0.0.1:5000"),
                term("pipelab-proxy", "pipelab-proxy 6002 127.0.0.1:5000"),
                term(
                    "clients",
                    "for p in 6000 6001 6002; do for i in 1 2 3; do curl -s -o /dev/null -w \"$p:%{http_code} \" http://127.0.0.1:$p/ & done; wait; echo; done",
                ),
            ],
            presets: vec![
                Preset {
                    terminal: 4,
                    command: "for i in 1 2 3; do curl -s -o /dev/null -w '%{http_code}/%{exitcode} ' http://127.0.0.1:6000/ & done; wait; echo".into(),
                },
                Preset {
                    terminal: 4,
                    command: "curl -s http://127.0.0.1:6002/".into(),
                },
            ],
            until_ms: 12_000,
            show_costs: true,
            typed: vec![],
            goals: vec![
                goal(
                    "Through the nc loop, the first client gets the page",
                    contains(4, "6000:200"),
                ),
                goal(
                    "... and clients that arrive while it is busy are refused or reset (000)",
                    contains(4, "6000:000"),
                ),
                goal(
                    "Through socat, all three do: a process per client",
                    contains(4, "6001:200 6001:200 6001:200"),
                ),
                goal(
                    "Through pipelab-proxy, all three do, from one process",
                    contains(4, "6002:200 6002:200 6002:200"),
                ),
                goal(
                    "socat ran four processes: the listener and one per client",
                    Check::ProcessCount {
                        program: "socat".into(),
                        min: 4,
                        max: 4,
                    },
                ),
                goal(
                    "pipelab-proxy ran one",
                    Check::ProcessCount {
                        program: "pipelab-proxy".into(),
                        min: 1,
                        max: 1,
                    },
                ),
            ],
        },
        "netcat-bridge" => Lesson {
            name: "netcat-bridge",
            title: "7. netcat as a bridge",
            intro: "One nc listens, the other connects, and what you type in one terminal comes out \
                    of the other. Typing writes to the stdin of the terminal's foreground program: \
                    nc reads it and sends it over the socket. Ctrl-D is end of input, Ctrl-C is SIGINT."
                .into(),
            terminals: vec![term("listener", "nc -l -p 7000"), term("connector", "nc 127.0.0.1 7000")],
            presets: vec![
                Preset {
                    terminal: 0,
                    command: "nc -l -p 7000".into(),
                },
                Preset {
                    terminal: 1,
                    command: "nc 127.0.0.1 7000".into(),
                },
            ],
            until_ms: 9000,
            show_costs: false,
            typed: vec![
                typed(1, 3000, "hello from the connector\n"),
                typed(0, 4000, "hi from the listener\n"),
                Typed {
                    terminal: 1,
                    at_ms: 5000,
                    input: InputKind::Eof,
                },
                Typed {
                    terminal: 0,
                    at_ms: 6000,
                    input: InputKind::Interrupt,
                },
            ],
            goals: vec![
                goal(
                    "What is typed into the connector comes out in the listener's terminal",
                    contains(0, "hello from the connector"),
                ),
                goal("... and the other way round", contains(1, "hi from the listener")),
                goal(
                    "Ctrl-D and Ctrl-C end the conversation: no nc is left running",
                    Check::AllEnded { program: "nc".into() },
                ),
            ],
        },
        "echo-server" => Lesson {
            name: "echo-server",
            title: "8. An echo server, by hand",
            intro: "`nc -l -p 7001 < /tmp/f | cat > /tmp/f` echoes what it receives: nc hands the bytes \
                    to cat, cat writes them into the FIFO, and nc reads them back and sends them. \
                    `echo-server 7000` is the same thing one level down, every socket call in plain \
                    sight: socket, bind, listen, accept, then recv and send in a loop until the client \
                    closes."
                .into(),
            terminals: vec![
                term("echo-server", "echo-server 7000"),
                term("nc echo", "mkfifo /tmp/f; nc -l -p 7001 < /tmp/f | cat > /tmp/f"),
                term("client", "nc 127.0.0.1 7000"),
                term("client 2", "nc 127.0.0.1 7001"),
            ],
            presets: vec![Preset {
                terminal: 2,
                command: "printf 'one\\ntwo\\n' | nc.openbsd -N 127.0.0.1 7000".into(),
            }],
            until_ms: 8000,
            show_costs: false,
            typed: vec![typed(2, 5000, "ping\n"), typed(3, 6000, "pong\n")],
            goals: vec![
                goal(
                    "The server's calls, in order: socket, bind, listen, accept, recv, send",
                    Check::Syscalls {
                        program: "echo-server".into(),
                        calls: ["socket", "bind", "listen", "accept4", "recvfrom", "sendto"]
                            .map(String::from)
                            .to_vec(),
                    },
                ),
                goal("What the client types comes back", contains(2, "ping\nping\n")),
                goal("The FIFO pipeline echoes too", contains(3, "pong\npong\n")),
            ],
        },
        "chunks" => Lesson {
            name: "chunks",
            title: "9. Chunks and backpressure",
            intro: "A million bytes go through a pipe of 65536. `yes` and `head` write faster than the \
                    reader reads, so the pipe fills and the kernel blocks `head` in write(2) until the \
                    reader makes room: that is backpressure. The reader takes CHUNK_SIZE bytes a read and \
                    holds nothing more, so its memory is one buffer whatever the input's size."
                .into(),
            terminals: vec![
                term("4 KiB chunks", "yes | head -c 1000000 | chunk-reader --slow 1 4096"),
                term("64 KiB chunks", "yes | head -c 1000000 | chunk-reader 65536"),
            ],
            presets: vec![
                Preset {
                    terminal: 0,
                    command: "nc -l -p 7000 | chunk-reader 4096".into(),
                },
                Preset {
                    terminal: 1,
                    command: "yes | head -c 1000000 | nc.openbsd -N 127.0.0.1 7000".into(),
                },
            ],
            until_ms: 8000,
            show_costs: false,
            typed: vec![],
            goals: vec![
                goal(
                    "The pipe fills and the kernel makes head wait in write(2)",
                    Check::BlockedIn {
                        program: "head".into(),
                        call: "write".into(),
                    },
                ),
                goal(
                    "4 KiB at a time: every byte arrives, in 245 reads",
                    contains(0, "read 1000000 bytes in 245 chunks of at most 4096 bytes"),
                ),
                goal(
                    "64 KiB at a time: the same bytes in fewer reads",
                    contains(1, "read 1000000 bytes in"),
                ),
            ],
        },
        "heartbleed" => Lesson {
            name: "heartbleed",
            title: "10. Heartbleed, a buffer over-read",
            intro: "A heartbeat request carries a payload and says how long it is; the server sends \
                    that many bytes back. The vulnerable server believes the length: asked for 100 \
                    bytes with a 4-byte payload, it copies what lies beside the payload in its memory, \
                    a session cookie and a private key, and sends them. The fixed server checks the \
                    claimed length against what arrived and drops the lying request. Watch the \
                    servers' memory beside the narration."
                .into(),
            terminals: vec![
                term("server", "heartbeat-server 4433"),
                term("fixed server", "heartbeat-server --fixed 4434"),
                term(
                    "client",
                    "heartbeat-client 127.0.0.1 4433 bird 4; heartbeat-client 127.0.0.1 4433 bird 100",
                ),
                term(
                    "client of the fixed one",
                    "heartbeat-client 127.0.0.1 4434 bird 4; heartbeat-client 127.0.0.1 4434 bird 100",
                ),
            ],
            presets: vec![Preset {
                terminal: 2,
                command: "heartbeat-client 127.0.0.1 4433 hat 500".into(),
            }],
            until_ms: 8000,
            show_costs: false,
            typed: vec![],
            goals: vec![
                goal(
                    "An honest heartbeat gets its payload back",
                    contains(2, "reply: 4 bytes: bird"),
                ),
                goal(
                    "The lying one makes the vulnerable server leak its private key",
                    contains(2, "BEGIN PRIVATE KEY"),
                ),
                goal(
                    "The fixed server drops the lying request: nothing leaks",
                    contains(3, "no reply (the server dropped the request)"),
                ),
                goal(
                    "... and the key never reaches its client",
                    Check::TerminalLacks {
                        terminal: 3,
                        text: "PRIVATE KEY".into(),
                    },
                ),
            ],
        },
        "httpd" => Lesson {
            name: "httpd",
            title: "11. A tiny web server",
            intro: "`httpd` reads a request in chunks until the blank line, parses the request line, \
                    and answers with a file, its Content-Length and Content-Type, or an error: 404 for \
                    a missing file, 400 for garbage. Then it closes. Behind pipelab-proxy it serves \
                    the same."
                .into(),
            terminals: vec![
                term(
                    "server",
                    "printf '<h1>hello from httpd</h1>\\n' > index.html; httpd 8080",
                ),
                term("proxy", "pipelab-proxy 6000 127.0.0.1:8080"),
                term(
                    "client",
                    "curl -s -i http://127.0.0.1:8080/; curl -s -o /dev/null -w 'missing: %{http_code}\\n' http://127.0.0.1:8080/nope.html; printf 'garbage\\r\\n\\r\\n' | nc 127.0.0.1 8080; echo 'via pipelab-proxy:'; curl -s http://127.0.0.1:6000/",
                ),
            ],
            presets: vec![Preset {
                terminal: 2,
                command: "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 8080".into(),
            }],
            until_ms: 8000,
            show_costs: false,
            typed: vec![],
            goals: vec![
                goal(
                    "A file comes with its length and type",
                    contains(2, "Content-Type: text/html"),
                ),
                goal("A missing file is 404", contains(2, "missing: 404")),
                goal("Garbage is 400", contains(2, "400 Bad Request")),
                goal(
                    "Through pipelab-proxy the page arrives the same",
                    contains(2, "via pipelab-proxy:\n<h1>hello from httpd</h1>"),
                ),
            ],
        },
        "sandbox" => Lesson {
            name: "sandbox",
            title: "Sandbox",
            intro: "Three terminals and the whole machine to yourself.".into(),
            terminals: vec![term("backend", BACKEND), term("proxy", ""), term("client", "")],
            presets: vec![
                Preset {
                    terminal: 1,
                    command: "mkfifo /tmp/f; nc -l -p 6000 < /tmp/f | nc 127.0.0.1 5000 > /tmp/f".into(),
                },
                Preset {
                    terminal: 2,
                    command: "curl -s http://127.0.0.1:6000/".into(),
                },
            ],
            until_ms: 60_000,
            show_costs: false,
            typed: vec![],
            goals: vec![],
        },
        _ => return None,
    };
    Some(lesson)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::kernel::Pid;
    use crate::run::StoppedBy;

    const FLAVORS: [NcFlavor; 4] = [
        NcFlavor::Openbsd,
        NcFlavor::Traditional,
        NcFlavor::Busybox,
        NcFlavor::Textbook,
    ];

    fn run(l: &Lesson, nc: NcFlavor) -> (Snapshot, Vec<Event>) {
        let mut s = l.session(nc, 0);
        s.run(500_000);
        assert_ne!(
            s.stopped(),
            Some(StoppedBy::StepLimit),
            "{} ran away",
            l.name
        );
        (s.snapshot(), s.trace())
    }

    #[test]
    fn every_lesson_meets_its_goals_in_every_flavor() {
        for nc in FLAVORS {
            for l in all(nc) {
                let (snap, trace) = run(&l, nc);
                for g in l.check(&snap, &trace) {
                    assert!(
                        g.met,
                        "{nc:?} {}: goal not met: {}\n{:#?}",
                        l.name, g.text, snap.terminals
                    );
                }
            }
        }
    }

    /// strace prints a blocked call's entry arguments before `<unfinished ...>`
    /// and only the rest in `<... NAME resumed>`: the two halves must join into
    /// the call's whole line, for every call that blocks in any lesson.
    #[test]
    fn a_resumed_line_continues_its_unfinished_line() {
        for nc in [NcFlavor::Openbsd, NcFlavor::Traditional] {
            for l in all(nc) {
                let (_, trace) = run(&l, nc);
                let mut entered: BTreeMap<Pid, String> = BTreeMap::new();
                for e in &trace {
                    match &e.kind {
                        EventKind::Blocked { text, .. } => {
                            entered.insert(e.pid.unwrap(), text.clone());
                        }
                        EventKind::Syscall {
                            text,
                            resumed: true,
                            entered: n,
                            ..
                        } => {
                            let head = entered.remove(&e.pid.unwrap()).unwrap();
                            assert_eq!(head.len(), *n);
                            assert!(
                                text.starts_with(&head),
                                "{nc:?} {}: `{head}` then `{}`",
                                l.name,
                                &**text
                            );
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    #[test]
    fn the_textbook_flavor_alone_kills_the_listener_with_sigpipe() {
        for nc in FLAVORS {
            let l = lesson("second-request", nc).unwrap();
            let (snap, trace) = run(&l, nc);
            let listener_killed = Check::Killed {
                program: "nc".into(),
                signal: Signal::SIGPIPE,
            }
            .holds(&snap, &trace);
            assert_eq!(listener_killed, nc == NcFlavor::Textbook, "{nc:?}");
        }
    }

    #[test]
    fn the_narration_tells_the_over_read_once_and_only_for_the_vulnerable_server() {
        let l = lesson("heartbleed", NcFlavor::Openbsd).unwrap();
        let mut s = l.session(NcFlavor::Openbsd, 0);
        s.seek(0);
        let mut told = Vec::new();
        while s.step_forward() {
            let n = s.step();
            let snap = s.snapshot();
            let text = crate::narrate::narrate(n - 1, &s.events(n - 1, n), Some(&snap)).text;
            if text.contains("over-read") {
                told.push(text);
            }
        }
        assert_eq!(told.len(), 1, "{told:#?}");
        assert!(
            told[0].contains(
                "100 bytes from offset 3, starting in its request buffer and running on into its \
                 session cookie and its private key"
            ),
            "{}",
            told[0]
        );
        assert!(
            told[0].starts_with("write(2): heartbeat-server"),
            "{}",
            told[0]
        );
    }

    #[test]
    fn lesson_names_are_unique_and_all_resolve() {
        let mut names = NAMES.to_vec();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), NAMES.len());
        assert_eq!(all(NcFlavor::Openbsd).len(), NAMES.len());
        assert!(lesson("nope", NcFlavor::Openbsd).is_none());
    }
}
