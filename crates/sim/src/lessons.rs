//! The lessons: the seed's story told with the real kernel's behavior. Each lesson
//! is data: terminals with their scripts, a few presets, and goals whose checks
//! read a snapshot. Where the flavors of nc behave differently, a goal names the
//! flavors it is about, and the text says what really happens on Debian (see
//! `shared/ground-truth`): Debian's netcats ignore SIGPIPE, so only the `textbook`
//! flavor dies of it the way the seed's article tells.

use serde::Serialize;

use crate::kernel::Signal;
use crate::run::NcFlavor;
use crate::snapshot::Snapshot;

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

/// What a goal checks, read off a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Check {
    /// Terminal `terminal`'s output contains `text`.
    TerminalContains { terminal: usize, text: String },
    /// ... and does not.
    TerminalLacks { terminal: usize, text: String },
    /// A process whose argv[0] is `program` was killed by `signal`.
    Killed { program: String, signal: Signal },
    /// No process was killed by `signal`.
    NobodyKilledBy { signal: Signal },
    /// A process whose argv[0] is `program` exited with `code`.
    Exited { program: String, code: i32 },
}

impl Check {
    pub fn holds(&self, s: &Snapshot) -> bool {
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
    pub fn check(&self, s: &Snapshot) -> Vec<GoalStatus> {
        self.goals
            .iter()
            .map(|g| GoalStatus {
                text: g.text.clone(),
                met: g.check.holds(s),
            })
            .collect()
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
    "sandbox",
];

const BACKEND: &str = "python3 -m http.server 5000 --bind 127.0.0.1";

fn term(label: &'static str, script: &str) -> TerminalSpec {
    TerminalSpec {
        label,
        script: script.to_string(),
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
            goals: vec![],
        },
        _ => return None,
    };
    Some(lesson)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{RunConfig, StoppedBy};
    use crate::session::{Session, TerminalMode};

    const FLAVORS: [NcFlavor; 4] = [
        NcFlavor::Openbsd,
        NcFlavor::Traditional,
        NcFlavor::Busybox,
        NcFlavor::Textbook,
    ];

    fn run(l: &Lesson, nc: NcFlavor) -> Snapshot {
        let mut s = Session::new(
            RunConfig {
                terminals: l.scripts(),
                nc,
                seed: 0,
                until_ms: l.until_ms,
            },
            TerminalMode::Interactive,
        );
        s.run(500_000);
        assert_ne!(
            s.stopped(),
            Some(StoppedBy::StepLimit),
            "{} ran away",
            l.name
        );
        s.snapshot()
    }

    #[test]
    fn every_lesson_meets_its_goals_in_every_flavor() {
        for nc in FLAVORS {
            for l in all(nc) {
                let snap = run(&l, nc);
                for g in l.check(&snap) {
                    assert!(
                        g.met,
                        "{nc:?} {}: goal not met: {}\n{:#?}",
                        l.name, g.text, snap.terminals
                    );
                }
            }
        }
    }

    #[test]
    fn the_textbook_flavor_alone_kills_the_listener_with_sigpipe() {
        for nc in FLAVORS {
            let l = lesson("second-request", nc).unwrap();
            let snap = run(&l, nc);
            let listener_killed = Check::Killed {
                program: "nc".into(),
                signal: Signal::SIGPIPE,
            }
            .holds(&snap);
            assert_eq!(listener_killed, nc == NcFlavor::Textbook, "{nc:?}");
        }
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
