//! A session: a run you can step through, back and forth, and type into. This is
//! what the page drives.
//!
//! The world cannot be rewound, so going back is going forward again: a session
//! keeps its configuration and every input the user gave (with the step it was given
//! at), and [`Session::seek`] rebuilds the world and replays up to the wanted step.
//! Runs are deterministic, so the replay lands on exactly the same state.

use serde::Serialize;

use crate::kernel::Micros;
use crate::run::{RunConfig, StoppedBy, WORKDIR, build_world, session_pids};
use crate::snapshot::Snapshot;
use crate::trace::Event;
use crate::world::{Step, World};

/// How each terminal's script runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TerminalMode {
    /// `bash -c SCRIPT`, nobody types: the CLI's and the conformance suite's runs.
    Script,
    /// An interactive `bash` with each script typed into it at step 0: the page.
    /// The learner can type more later.
    Interactive,
}

/// Something the user did to a terminal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum InputKind {
    /// Typed text (a line ends with `\n`).
    Text { text: String },
    /// Ctrl-C.
    Interrupt,
    /// Ctrl-Z.
    Suspend,
    /// Ctrl-D.
    Eof,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    /// Given after this many steps had run.
    pub step: u64,
    /// The virtual time it was given at (time passes while nobody does anything).
    pub time_us: Micros,
    pub terminal: u32,
    #[serde(flatten)]
    pub kind: InputKind,
    /// Typed by the user (not part of a lesson's scripts): the run may go on
    /// [`RUN_AFTER_INPUT_US`] past it, beyond its time limit.
    #[serde(skip)]
    pub by_user: bool,
}

/// Why a session's input was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("there is no terminal {0}")]
    NoSuchTerminal(u32),
    #[error("an input may hold at most {max} bytes, not {len}")]
    TooLong { len: usize, max: usize },
    #[error("a session takes at most {0} inputs")]
    TooMany(usize),
}

/// How long a person takes to move to the next terminal and type its script.
pub const TYPING_GAP_US: Micros = 1_000_000;

/// ... or how many steps, whichever comes first: a terminal busy in a loop that
/// barely moves the clock (`while true; do echo x; done` takes about 500,000
/// steps to a virtual second) does not hold the next terminal's script back.
pub const TYPING_GAP_STEPS: u64 = 20_000;

/// How long a run may go on after the last input, past its time limit.
pub const RUN_AFTER_INPUT_US: Micros = 30_000_000;

/// The most bytes one input may carry, and the most inputs a session keeps.
pub const MAX_INPUT_BYTES: usize = 64 * 1024;
pub const MAX_INPUTS: usize = 10_000;

/// A steppable, rewindable run.
pub struct Session {
    config: RunConfig,
    mode: TerminalMode,
    inputs: Vec<Input>,
    world: World,
    stopped: Option<StoppedBy>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("config", &self.config)
            .field("step", &self.step())
            .finish_non_exhaustive()
    }
}

impl Session {
    pub fn new(config: RunConfig, mode: TerminalMode) -> Session {
        let world = Self::fresh_world(&config, mode);
        let mut s = Session {
            config,
            mode,
            inputs: Vec::new(),
            world,
            stopped: None,
        };
        if mode == TerminalMode::Interactive {
            // The scripts are typed as a person would: once the shells show their
            // prompts, one terminal after another, a second apart (so the backend
            // listens before the proxy connects to it). Replays type them at the
            // same steps and times.
            s.run_until_shells_wait();
            let mut typed_at = s.step();
            for (term, script) in s.config.terminals.clone().iter().enumerate() {
                if script.is_empty() {
                    continue;
                }
                s.wait_until_or_step(term as Micros * TYPING_GAP_US, typed_at + TYPING_GAP_STEPS);
                typed_at = s.step();
                let mut text = script.clone();
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                // Within the limits by construction of the terminals list; an
                // oversized script is simply not typed.
                let _ = s.give(term as u32, InputKind::Text { text }, false);
            }
        }
        s
    }

    /// Lets the run go on until virtual time `t`, then types `kind` into
    /// `terminal`, as a person would at that moment: how a lesson's later typing
    /// (a line into a running `nc`, a Ctrl-D) is given. Replays give it at the
    /// same step.
    pub fn input_at(
        &mut self,
        t: Micros,
        terminal: u32,
        kind: InputKind,
    ) -> Result<(), InputError> {
        self.wait_until(t);
        self.give(terminal, kind, false)
    }

    /// Runs the steps due before `t`, then lets the clock reach `t`.
    fn wait_until(&mut self, t: Micros) {
        self.wait_until_or_step(t, u64::MAX);
    }

    /// As [`Session::wait_until`], but stops at step `last` if `t` is not reached
    /// by then.
    fn wait_until_or_step(&mut self, t: Micros, last: u64) {
        while self.stopped.is_none() && self.time_us() < t && self.step() < last {
            match self.world.step(t) {
                Step::Ran(_) => {
                    let s = self.step();
                    self.apply_inputs_at(s);
                }
                Step::StepLimit => self.stopped = Some(StoppedBy::StepLimit),
                Step::Idle => self.world.kernel_mut().advance_to(t),
            }
        }
    }

    /// Steps until every terminal's shell waits for input (a bounded number).
    fn run_until_shells_wait(&mut self) {
        for _ in 0..1000 {
            let ready = {
                let k = self.world.kernel();
                session_pids(&self.world).iter().all(|p| {
                    matches!(&k.proc(*p).state, crate::kernel::process::State::Blocked { wait, .. }
                        if wait.keys.iter().any(|w| matches!(w, crate::kernel::WaitKey::Terminal(_))))
                })
            };
            if ready || !self.step_forward() {
                break;
            }
        }
    }

    fn fresh_world(config: &RunConfig, mode: TerminalMode) -> World {
        match mode {
            TerminalMode::Script => build_world(config),
            TerminalMode::Interactive => {
                let empty = RunConfig {
                    terminals: Vec::new(),
                    ..config.clone()
                };
                let mut world = build_world(&empty);
                for _ in &config.terminals {
                    let term = world.kernel_mut().add_terminal();
                    let argv = vec!["bash".to_string(), "-i".to_string()];
                    let pid = world
                        .kernel_mut()
                        .spawn_session(argv.clone(), WORKDIR, term);
                    world.attach_program(pid, "bash", argv);
                }
                world
            }
        }
    }

    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    pub fn mode(&self) -> TerminalMode {
        self.mode
    }

    pub fn inputs(&self) -> &[Input] {
        &self.inputs
    }

    /// Steps run so far.
    pub fn step(&self) -> u64 {
        self.world.kernel().step
    }

    pub fn time_us(&self) -> Micros {
        self.world.kernel().now
    }

    /// Why the run cannot go on, once it cannot.
    pub fn stopped(&self) -> Option<StoppedBy> {
        self.stopped
    }

    /// The time limit: the configured one, or later if something was typed near
    /// it, so that a command typed at a lesson's end still gets to run.
    fn until_us(&self) -> Micros {
        let after_typing = self
            .inputs
            .iter()
            .rev()
            .find(|i| i.by_user)
            .map_or(0, |i| i.time_us.saturating_add(RUN_AFTER_INPUT_US));
        self.config.until_ms.saturating_mul(1000).max(after_typing)
    }

    fn apply_inputs_at(&mut self, step: u64) {
        let due: Vec<Input> = self
            .inputs
            .iter()
            .filter(|i| i.step == step)
            .cloned()
            .collect();
        for input in due {
            self.apply(&input);
        }
    }

    fn apply(&mut self, input: &Input) {
        let mut k = self.world.kernel_mut();
        k.advance_to(input.time_us);
        match &input.kind {
            InputKind::Text { text } => k.terminal_input(input.terminal, text.as_bytes()),
            InputKind::Interrupt => k.terminal_input(input.terminal, &[0x03]),
            InputKind::Suspend => k.terminal_input(input.terminal, &[0x1a]),
            InputKind::Eof => k.terminal_input(input.terminal, &[0x04]),
        }
    }

    /// Runs one step. Returns false when nothing more can happen.
    pub fn step_forward(&mut self) -> bool {
        if self.stopped.is_some() {
            return false;
        }
        if self.mode == TerminalMode::Script {
            let k = self.world.kernel();
            if (0..k.terminals.len() as u32).all(|n| !k.terminal_in_use(n)) {
                drop(k);
                self.stopped = Some(StoppedBy::Finished);
                return false;
            }
        }
        let until = self.until_us();
        match self.world.step(until) {
            Step::Ran(_) => {
                let s = self.step();
                self.apply_inputs_at(s);
                if self.world.kernel().now >= until {
                    self.stopped = Some(StoppedBy::TimeLimit);
                }
                true
            }
            Step::Idle => {
                // An interactive session may get more input: idle is not the end.
                if self.mode == TerminalMode::Script {
                    self.stopped = Some(StoppedBy::TimeLimit);
                }
                false
            }
            Step::StepLimit => {
                self.stopped = Some(StoppedBy::StepLimit);
                false
            }
        }
    }

    /// Goes to step `n` exactly (or as far as the run goes, if it ends sooner).
    ///
    /// Going back replays from the start without recording the trace: a replay
    /// makes exactly the events the pass before it made (runs are deterministic,
    /// and that pass saw the same inputs up to where it went), so the trace is
    /// that pass's, cut to as many events as the replay made.
    pub fn seek(&mut self, n: u64) {
        if n < self.step() {
            let mut trace = std::mem::take(&mut self.world.kernel_mut().trace);
            self.world = Self::fresh_world(&self.config, self.mode);
            self.stopped = None;
            let recorded = {
                let mut k = self.world.kernel_mut();
                k.tracing = false;
                k.untraced = 0;
                k.trace.len()
            };
            self.apply_inputs_at(0);
            while self.step() < n {
                if !self.step_forward() {
                    break;
                }
            }
            let mut k = self.world.kernel_mut();
            let made = recorded + k.untraced as usize;
            assert!(
                made <= trace.len(),
                "a replay made events the run it replays did not"
            );
            debug_assert!(trace[..recorded] == k.trace[..]);
            trace.truncate(made);
            k.trace = trace;
            k.tracing = true;
            k.untraced = 0;
            return;
        }
        while self.step() < n {
            if !self.step_forward() {
                break;
            }
        }
    }

    /// One step back.
    pub fn step_back(&mut self) {
        let s = self.step();
        self.seek(s.saturating_sub(1));
    }

    /// Runs until nothing more can happen, or `max_steps` more steps.
    pub fn run(&mut self, max_steps: u64) {
        for _ in 0..max_steps {
            if !self.step_forward() {
                break;
            }
        }
    }

    /// Types into `terminal` now. Inputs given later than now on an earlier pass
    /// are forgotten: typing after stepping back starts a new future.
    pub fn input(&mut self, terminal: u32, kind: InputKind) -> Result<(), InputError> {
        self.give(terminal, kind, true)
    }

    fn give(&mut self, terminal: u32, kind: InputKind, by_user: bool) -> Result<(), InputError> {
        if terminal as usize >= self.world.kernel().terminals.len() {
            return Err(InputError::NoSuchTerminal(terminal));
        }
        if let InputKind::Text { text } = &kind
            && text.len() > MAX_INPUT_BYTES
        {
            return Err(InputError::TooLong {
                len: text.len(),
                max: MAX_INPUT_BYTES,
            });
        }
        let step = self.step();
        self.inputs.retain(|i| i.step <= step);
        if self.inputs.len() >= MAX_INPUTS {
            return Err(InputError::TooMany(MAX_INPUTS));
        }
        let input = Input {
            step,
            time_us: self.time_us(),
            terminal,
            kind,
            by_user,
        };
        self.apply(&input);
        self.inputs.push(input);
        // New input may wake a world that had gone idle.
        if self.stopped == Some(StoppedBy::TimeLimit) && self.world.kernel().now < self.until_us() {
            self.stopped = None;
        }
        Ok(())
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot::of(&self.world.kernel())
    }

    /// Whether a line typed into `terminal` now is a command for its shell: the
    /// shell waits at its prompt, or nothing reads the terminal yet (the shell
    /// will). Not when a program reads it (`cat`, `nc`: the line is data), nor
    /// when the shell reads it for `read` or at its `> ` prompt for more of an
    /// unfinished command.
    pub fn takes_command(&self, terminal: u32) -> bool {
        let k = self.world.kernel();
        let shells = session_pids(&self.world);
        let reader = k.procs.values().find(|p| {
            matches!(&p.state, crate::kernel::process::State::Blocked { wait, .. }
                if wait.keys.contains(&crate::kernel::WaitKey::Terminal(terminal)))
        });
        match reader {
            None => true,
            Some(p) if shells.contains(&p.pid) => {
                k.terminals.get(terminal as usize).is_some_and(|t| {
                    t.output
                        .ends_with(crate::programs::bash::interp::PROMPT.as_bytes())
                })
            }
            Some(_) => false,
        }
    }

    /// Events of steps `from..to` (step numbers as in [`Event::step`]).
    pub fn events(&self, from: u64, to: u64) -> Vec<Event> {
        self.world
            .kernel()
            .trace
            .iter()
            .filter(|e| e.step >= from && e.step < to)
            .cloned()
            .collect()
    }

    /// All events so far.
    pub fn trace(&self) -> Vec<Event> {
        self.world.kernel().trace.clone()
    }

    pub fn world(&self) -> &World {
        &self.world
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(terms: &[&str]) -> RunConfig {
        RunConfig {
            terminals: terms.iter().map(|s| s.to_string()).collect(),
            ..RunConfig::default()
        }
    }

    #[test]
    fn seeking_back_lands_on_the_same_state_as_stepping_forward() {
        let mut s = Session::new(
            script(&["echo a; echo b | read x; echo c"]),
            TerminalMode::Script,
        );
        let mut snaps = Vec::new();
        while s.step_forward() {
            snaps.push((s.step(), s.snapshot(), s.trace()));
        }
        assert!(snaps.len() > 10);
        for (step, snap, trace) in snaps.iter().rev() {
            s.seek(*step);
            assert_eq!(&s.snapshot(), snap, "snapshot at step {step}");
            assert_eq!(&s.trace(), trace, "trace at step {step}");
        }
    }

    #[test]
    fn step_back_undoes_one_step() {
        let mut s = Session::new(script(&["echo a | read x; echo b"]), TerminalMode::Script);
        s.seek(5);
        let at5 = s.snapshot();
        s.step_forward();
        s.step_back();
        assert_eq!(s.step(), 5);
        assert_eq!(s.snapshot(), at5);
    }

    #[test]
    fn an_interactive_terminal_runs_what_is_typed_and_echoes_it() {
        let mut s = Session::new(script(&["echo one"]), TerminalMode::Interactive);
        s.run(10_000);
        s.input(
            0,
            InputKind::Text {
                text: "echo two\n".into(),
            },
        )
        .unwrap();
        s.run(10_000);
        assert_eq!(
            s.snapshot().terminals[0].output,
            "$ echo one\none\n$ echo two\ntwo\n$ "
        );
    }

    /// Measured with bash 5.2 on a terminal: `[1] PID` when a job starts, and
    /// `[1]+  Done ...` after the next command the user runs once it has ended.
    #[test]
    fn an_interactive_shell_numbers_a_background_job_and_tells_when_it_is_done() {
        let mut s = Session::new(script(&["sleep 0.2 &"]), TerminalMode::Interactive);
        s.run(10_000);
        // Listeners run until killed, however far the run goes.
        for line in [
            "echo hi\n",
            "nc -l -p 7001 & nc -l -p 7002 &\n",
            "jobs\n",
            "kill %1\n",
            "echo k\n",
            "jobs\n",
            "kill %9 %2; wait %2; echo w=$?\n",
        ] {
            s.input(0, InputKind::Text { text: line.into() }).unwrap();
            s.run(10_000);
        }
        let out = s.snapshot().terminals[0].output.clone();
        let expected = "$ sleep 0.2 &\n[1] 3\n$ echo hi\nhi\n[1]+  Done                    sleep 0.2\n\
             $ nc -l -p 7001 & nc -l -p 7002 &\n[1] 4\n[2] 5\n\
             $ jobs\n[1]-  Running                 nc -l -p 7001 &\n[2]+  Running                 nc -l -p 7002 &\n\
             $ kill %1\n$ echo k\nk\n[1]-  Terminated              nc -l -p 7001\n\
             $ jobs\n[2]+  Running                 nc -l -p 7002 &\n\
             $ kill %9 %2; wait %2; echo w=$?\nbash: kill: %9: no such job\n[2]+  Terminated              nc -l -p 7002\nw=143\n$ ";
        assert_eq!(out, expected);
    }

    /// Measured with bash 5.2 on a terminal: a background pipeline is one job,
    /// `[1] PID` names its last process, and its notice joins the parts with
    /// ` | ` and gives the last one's status.
    #[test]
    fn an_interactive_shell_tells_a_background_pipeline_as_one_job() {
        let mut s = Session::new(
            script(&["sleep 0.1 | sleep 100 &"]),
            TerminalMode::Interactive,
        );
        s.run(10_000);
        for line in ["kill $!\n", "echo y\n", "false | true &\n", "sleep 0.2\n"] {
            s.input(0, InputKind::Text { text: line.into() }).unwrap();
            s.run(10_000);
        }
        let out = s.snapshot().terminals[0].output.clone();
        let expected = "$ sleep 0.1 | sleep 100 &\n[1] 4\n$ kill $!\n$ echo y\ny\n\
             [1]+  Terminated              sleep 0.1 | sleep 100\n\
             $ false | true &\n[1] 6\n$ sleep 0.2\n[1]+  Done                    false | true\n$ ";
        assert_eq!(out, expected);
    }

    /// A first terminal in a busy loop takes about 500,000 steps to move the
    /// clock a second: the second terminal's script is typed at the latest
    /// `TYPING_GAP_STEPS` steps after the first's, not after the loop's second.
    #[test]
    fn a_busy_terminal_does_not_hold_the_next_script_back() {
        let mut s = Session::new(
            script(&["while true; do echo x; done", "echo second"]),
            TerminalMode::Interactive,
        );
        // Typing the scripts has not run the loop for its virtual second.
        assert!(s.step() < 2 * TYPING_GAP_STEPS, "{}", s.step());
        s.seek(3 * TYPING_GAP_STEPS);
        assert_eq!(s.step(), 3 * TYPING_GAP_STEPS);
        let out = &s.snapshot().terminals[1].output;
        assert!(out.starts_with("$ echo second\nsecond\n$ "), "{out:?}");
    }

    /// A trapped signal that comes while the shell waits for a line (its trap
    /// handlers have SA_RESTART, so the read goes on) is not lost with the
    /// SIGCHLDs that come with it: the trap runs once the line is read.
    #[test]
    fn a_trap_caught_at_the_prompt_runs_beside_the_job_notices() {
        let mut s = Session::new(
            script(&["trap 'echo got USR1' USR1; (sleep 0.1; kill -USR1 $$) &"]),
            TerminalMode::Interactive,
        );
        s.run(10_000);
        s.input(
            0,
            InputKind::Text {
                text: "echo next\n".into(),
            },
        )
        .unwrap();
        s.run(10_000);
        let out = s.snapshot().terminals[0].output.clone();
        assert!(out.ends_with("$ echo next\ngot USR1\nnext\n[1]+  Done                    ( sleep 0.1; kill -USR1 $$ )\n$ "), "{out}");
    }

    #[test]
    fn the_interactive_shells_sigchld_handler_reaps_where_its_terminal_read_is_interrupted() {
        let mut s = Session::new(script(&["sleep 0.2 &"]), TerminalMode::Interactive);
        s.run(10_000);
        let lines: Vec<String> = s
            .trace()
            .iter()
            .filter(|e| e.pid == Some(2))
            .filter_map(|e| e.strace_line())
            .map(|l| l[6..].to_string())
            .collect();
        let from = lines
            .iter()
            .position(|l| l.contains("ERESTARTSYS"))
            .unwrap_or_else(|| panic!("no interrupted read in\n{}", lines.join("\n")));
        // bash's handler (SA_RESTART): wait4 until none is left, then the read
        // is made again.
        assert_eq!(
            lines[from..from + 6],
            [
                "<... read resumed>0x7ffd46f75be0, 4096) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)",
                "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=3} ---",
                "wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], WNOHANG|WSTOPPED|WCONTINUED, NULL) = 3",
                "wait4(-1, 0x7ffd46f75be0, WNOHANG|WSTOPPED|WCONTINUED, NULL) = -1 ECHILD (No child processes)",
                "rt_sigreturn({mask=[]}) = 0",
                "read(0,  <unfinished ...>",
            ]
        );
    }

    #[test]
    fn ctrl_c_at_the_prompt_interrupts_the_terminal_read_and_the_shell_prompts_again() {
        let mut s = Session::new(script(&[""]), TerminalMode::Interactive);
        s.run(1000);
        s.input(0, InputKind::Interrupt).unwrap();
        s.run(1000);
        let lines: Vec<String> = s
            .trace()
            .iter()
            .filter(|e| e.pid == Some(2))
            .filter_map(|e| e.strace_line())
            .map(|l| l[6..].to_string())
            .collect();
        let from = lines
            .iter()
            .position(|l| l.contains("ERESTARTSYS"))
            .unwrap_or_else(|| panic!("no interrupted read in\n{}", lines.join("\n")));
        // SIGINT's handler has no SA_RESTART: the read returns EINTR. The
        // terminal sent the signal: SI_KERNEL, no sender (measured).
        assert_eq!(
            lines[from + 1],
            "--- SIGINT {si_signo=SIGINT, si_code=SI_KERNEL} ---"
        );
        // Then bash ends the `^C` line the terminal echoed and prompts (measured).
        assert_eq!(
            [
                &lines[from],
                &lines[from + 2],
                &lines[from + 3],
                &lines[from + 4]
            ],
            [
                "<... read resumed>0x7ffd46f75be0, 4096) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)",
                "rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)",
                "write(2, \"\\n\", 1) = 1",
                "write(2, \"$ \", 2) = 2",
            ]
        );
    }

    /// The same with a Ctrl-C at the prompt after the signal came: the line is
    /// cleared, the trap still runs.
    #[test]
    fn a_trap_caught_at_the_prompt_survives_a_ctrl_c() {
        let mut s = Session::new(
            script(&["trap 'echo got USR1' USR1; (sleep 0.1; kill -USR1 $$) &"]),
            TerminalMode::Interactive,
        );
        s.run(10_000);
        s.input(0, InputKind::Interrupt).unwrap();
        s.run(1000);
        s.input(
            0,
            InputKind::Text {
                text: "echo next\n".into(),
            },
        )
        .unwrap();
        s.run(1000);
        let out = s.snapshot().terminals[0].output.clone();
        assert!(out.contains("^C\n$ echo next\ngot USR1\nnext\n"), "{out}");
    }

    #[test]
    fn inputs_are_replayed_when_seeking_back_past_them() {
        let mut s = Session::new(script(&[""]), TerminalMode::Interactive);
        s.run(1000);
        s.input(
            0,
            InputKind::Text {
                text: "echo typed\n".into(),
            },
        )
        .unwrap();
        s.run(1000);
        let end = (s.step(), s.snapshot());
        s.seek(0);
        s.seek(end.0);
        assert_eq!(s.snapshot(), end.1);
    }

    #[test]
    fn typing_after_stepping_back_forgets_the_old_future() {
        let mut s = Session::new(script(&[""]), TerminalMode::Interactive);
        s.run(1000);
        let at = s.step();
        s.input(
            0,
            InputKind::Text {
                text: "echo first\n".into(),
            },
        )
        .unwrap();
        s.run(1000);
        // Back to before "first" was typed (it was typed after step `at`).
        s.seek(at - 1);
        s.input(
            0,
            InputKind::Text {
                text: "echo second\n".into(),
            },
        )
        .unwrap();
        s.run(1000);
        let out = s.snapshot().terminals[0].output.clone();
        assert!(out.contains("second") && !out.contains("first"), "{out}");
    }

    #[test]
    fn ctrl_c_interrupts_the_foreground_command_but_not_the_shell() {
        let mut s = Session::new(script(&["read x; echo after"]), TerminalMode::Interactive);
        s.run(1000);
        s.input(0, InputKind::Interrupt).unwrap();
        s.run(1000);
        s.input(
            0,
            InputKind::Text {
                text: "echo alive\n".into(),
            },
        )
        .unwrap();
        s.run(1000);
        let out = s.snapshot().terminals[0].output.clone();
        assert!(out.ends_with("^C\n$ echo alive\nalive\n$ "), "{out:?}");
    }

    /// The strace lines of `pid`, without the pid column.
    fn lines_of(s: &Session, pid: u32) -> Vec<String> {
        s.trace()
            .iter()
            .filter(|e| e.pid == Some(pid))
            .filter_map(|e| e.strace_line())
            .map(|l| l[6..].to_string())
            .collect()
    }

    /// Measured with bash 5.2 on a pty: `( sleep 2 ) &`, then `sleep 50` and
    /// Ctrl-C: `^C`, `jobs` still shows the background job running, and it
    /// ends on its own. Each job is a process group of its own, and Ctrl-C
    /// signals the terminal's foreground group, the foreground job's. (The
    /// subshell's `sleep` has SIGINT at its default: in the shell's group, it
    /// would die of the Ctrl-C.)
    #[test]
    fn ctrl_c_kills_the_foreground_job_but_not_a_background_one() {
        let mut s = Session::new(script(&["( sleep 5 ) &"]), TerminalMode::Interactive);
        let text = |t: &str| InputKind::Text { text: t.into() };
        s.input_at(500_000, 0, text("sleep 50\n")).unwrap();
        s.input_at(1_000_000, 0, InputKind::Interrupt).unwrap();
        s.input_at(1_500_000, 0, text("jobs\n")).unwrap();
        s.input_at(6_000_000, 0, text("echo after\n")).unwrap();
        s.run(100_000);
        let out = s.snapshot().terminals[0].output.clone();
        assert_eq!(
            out,
            "$ ( sleep 5 ) &\n[1] 3\n$ sleep 50\n^C\n$ jobs\n\
             [1]+  Running                 ( sleep 5 ) &\n$ echo after\nafter\n\
             [1]+  Done                    ( sleep 5 )\n$ "
        );
        let trace = crate::trace::strace(&s.world().kernel().trace);
        let end_of = |argv: &str| {
            let pid = trace
                .lines()
                .find(|l| l.contains(&format!("execve(\"/usr/bin/sleep\", {argv}")))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("no {argv} in\n{trace}"));
            lines_of(&s, pid).last().cloned().unwrap_or_default()
        };
        assert_eq!(end_of("[\"sleep\", \"50\"]"), "+++ killed by SIGINT +++");
        assert_eq!(end_of("[\"sleep\", \"5\"]"), "+++ exited with 0 +++");
    }

    /// Measured with bash 5.2 on a pty: `true | sleep 50`, Ctrl-C: `^C`, a
    /// prompt. The pgrp pipe holds `true`, the group's leader, until `sleep`
    /// is forked and in its group, so the group the terminal is given to is
    /// never gone before the job is whole.
    #[test]
    fn ctrl_c_reaches_a_pipeline_whose_first_part_ended_at_once() {
        let mut s = Session::new(script(&["true | sleep 50"]), TerminalMode::Interactive);
        s.run(10_000);
        s.input(0, InputKind::Interrupt).unwrap();
        s.run(10_000);
        s.input(
            0,
            InputKind::Text {
                text: "echo x\n".into(),
            },
        )
        .unwrap();
        s.run(10_000);
        let out = s.snapshot().terminals[0].output.clone();
        assert_eq!(out, "$ true | sleep 50\n^C\n$ echo x\nx\n$ ");
        assert_eq!(
            lines_of(&s, 4).last().map(String::as_str),
            Some("+++ killed by SIGINT +++")
        );
    }

    /// Measured (`strace -f` of bash 5.2 on a pty): `kill %1` on a background
    /// pipeline is one `kill(-PGID, SIGTERM)`, PGID its first process.
    #[test]
    fn kill_of_a_background_pipeline_job_signals_its_group_at_once() {
        let mut s = Session::new(
            script(&["sleep 100 | sleep 200 &"]),
            TerminalMode::Interactive,
        );
        s.run(10_000);
        for line in ["kill %1\n", "echo x\n"] {
            s.input(0, InputKind::Text { text: line.into() }).unwrap();
            s.run(10_000);
        }
        let shell = lines_of(&s, 2);
        let kills: Vec<&String> = shell.iter().filter(|l| l.starts_with("kill(")).collect();
        assert_eq!(kills, ["kill(-3, SIGTERM) = 0"]);
        for pid in [3, 4] {
            assert_eq!(
                lines_of(&s, pid).last().map(String::as_str),
                Some("+++ killed by SIGTERM +++")
            );
        }
        let out = s.snapshot().terminals[0].output.clone();
        assert!(
            out.ends_with("$ echo x\nx\n[1]+  Terminated              sleep 100 | sleep 200\n$ "),
            "{out:?}"
        );
    }

    /// The calls of job control, as strace showed them for bash 5.2 on a pty
    /// (`sleep 1`): the terminal fd 255, then per job the signal mask around
    /// the fork, a pgrp pipe, the terminal's stop signals back to the default
    /// in the child, `setpgid` in the child and the parent, the terminal to
    /// the job by both, and back to the shell once it is waited for, each
    /// `TIOCSPGRP` with SIGCHLD and the stop signals blocked.
    #[test]
    fn an_interactive_shell_makes_each_job_a_process_group_as_bash_does() {
        let mut s = Session::new(script(&["sleep 1"]), TerminalMode::Interactive);
        s.run(10_000);
        let shell = lines_of(&s, 2);
        let from = |lines: &[String], first: &str| -> Vec<String> {
            let i = lines
                .iter()
                .position(|l| l.starts_with(first))
                .unwrap_or_else(|| panic!("no {first} in\n{}", lines.join("\n")));
            lines[i..].to_vec()
        };
        assert_eq!(
            from(&shell, "dup(")[..4],
            [
                "dup(2) = 3",
                "dup2(3, 255) = 255",
                "close(3) = 0",
                "fcntl(255, F_SETFD, FD_CLOEXEC) = 0"
            ]
        );
        let parent = from(&shell, "rt_sigprocmask(SIG_BLOCK, [INT TERM CHLD]");
        assert_eq!(
            parent[..12],
            [
                "rt_sigprocmask(SIG_BLOCK, [INT TERM CHLD], [], 8) = 0",
                "pipe2([3, 4], 0) = 0",
                "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD) = 3",
                "setpgid(3, 3) = 0",
                "rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0",
                "close(3) = 0",
                "close(4) = 0",
                "rt_sigprocmask(SIG_BLOCK, [CHLD TSTP TTIN TTOU], [], 8) = 0",
                "ioctl(255, TIOCSPGRP, [3]) = 0",
                "rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0",
                "rt_sigprocmask(SIG_BLOCK, [CHLD], [], 8) = 0",
                "wait4(-1,  <unfinished ...>",
            ]
        );
        assert_eq!(
            from(&parent, "<... wait4 resumed>")[..5],
            [
                "<... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], WSTOPPED|WCONTINUED, NULL) = 3",
                "rt_sigprocmask(SIG_BLOCK, [CHLD TSTP TTIN TTOU], [CHLD], 8) = 0",
                "ioctl(255, TIOCSPGRP, [2]) = 0",
                "rt_sigprocmask(SIG_SETMASK, [CHLD], NULL, 8) = 0",
                "rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0",
            ]
        );
        let child = lines_of(&s, 3);
        assert_eq!(
            child[..12],
            [
                "rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0",
                "rt_sigaction(SIGTSTP, {sa_handler=SIG_DFL}, ...) = 0",
                "rt_sigaction(SIGTTIN, {sa_handler=SIG_DFL}, ...) = 0",
                "rt_sigaction(SIGTTOU, {sa_handler=SIG_DFL}, ...) = 0",
                "setpgid(3, 3) = 0",
                "rt_sigprocmask(SIG_BLOCK, [CHLD TSTP TTIN TTOU], [], 8) = 0",
                "ioctl(255, TIOCSPGRP, [3]) = 0",
                "rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0",
                "close(4) = 0",
                "read(3,  <unfinished ...>",
                "<... read resumed>\"\", 1) = 0",
                "close(3) = 0",
            ]
        );
    }

    /// Measured: `bash -c` has no job control: no fd 255, no `setpgid`, no
    /// `TIOCSPGRP`; its jobs stay in its group and `kill %1` signals each
    /// process.
    #[test]
    fn a_script_makes_no_process_groups() {
        let mut s = Session::new(
            script(&["sleep 9 | sleep 9 & kill %1; sleep 0.1 | cat; wait"]),
            TerminalMode::Script,
        );
        s.run(10_000);
        let trace = crate::trace::strace(&s.world().kernel().trace);
        for call in ["setpgid(", "TIOCSPGRP", "255", "kill(-"] {
            assert!(!trace.contains(call), "{call} in\n{trace}");
        }
        assert_eq!(trace.matches("kill(").count(), 2, "{trace}");
    }

    #[test]
    fn ctrl_c_kills_a_subshell_of_an_interactive_shell_as_bash_does() {
        // The loop runs in a forked bash (a pipeline element); bash resets SIGINT
        // there, so Ctrl-C kills it and cat rather than ending the loop politely.
        let mut s = Session::new(
            script(&["while true; do sleep 1; done | cat; echo \"status $?\""]),
            TerminalMode::Interactive,
        );
        s.run(1000);
        s.input(0, InputKind::Interrupt).unwrap();
        s.run(1000);
        let trace = crate::trace::strace(&s.world().kernel().trace);
        assert!(
            trace.contains("rt_sigaction(SIGINT, {sa_handler=SIG_DFL}"),
            "the child resets SIGINT:\n{trace}"
        );
        let killed = trace.matches("+++ killed by SIGINT +++").count();
        assert!(
            killed >= 2,
            "the loop's bash and cat die of SIGINT:\n{trace}"
        );
        // The interactive shell drops the rest of the line: no `echo` runs.
        let out = s.snapshot().terminals[0].output.clone();
        assert!(out.ends_with("^C\n$ "), "{out:?}");
    }

    #[test]
    fn ctrl_c_ends_a_loop_in_the_interactive_shell_itself() {
        let mut s = Session::new(
            script(&["while true; do sleep 1; done; echo after"]),
            TerminalMode::Interactive,
        );
        s.run(1000);
        // The Ctrl-C comes while `sleep` sleeps, where the loop spends its
        // time, not in the few calls between its fork and its exec.
        while !s
            .trace()
            .last()
            .and_then(|e| e.strace_line())
            .is_some_and(|l| l.contains("clock_nanosleep("))
        {
            s.step_forward();
        }
        s.input(0, InputKind::Interrupt).unwrap();
        s.run(5000);
        s.input(
            0,
            InputKind::Text {
                text: "echo alive\n".into(),
            },
        )
        .unwrap();
        s.run(1000);
        let out = s.snapshot().terminals[0].output.clone();
        assert!(out.ends_with("^C\n$ echo alive\nalive\n$ "), "{out:?}");
        // Nor does the rest of an `||` list run (bash 5.2 on a terminal: `^C`, a prompt).
        for line in ["cat || echo rescued; echo more\n", "echo $?\n"] {
            s.input(0, InputKind::Text { text: line.into() }).unwrap();
            s.run(1000);
            s.input(0, InputKind::Interrupt).unwrap();
            s.run(1000);
        }
        let out = s.snapshot().terminals[0].output.clone();
        assert!(
            out.ends_with("$ cat || echo rescued; echo more\n^C\n$ echo $?\n130\n$ ^C\n$ "),
            "{out:?}"
        );
    }

    /// Measured with bash 5.2 on a terminal under `ulimit -u`: four retries,
    /// the error, and the shell drops the line (`after` does not run) and
    /// prompts again with `$?` 254.
    #[test]
    fn out_of_processes_the_interactive_shell_gives_up_the_line() {
        let mut s = Session::new(
            RunConfig {
                until_ms: 60_000,
                ..script(&["while true; do sleep 1000 >/dev/null 2>&1 & done; echo after"])
            },
            TerminalMode::Interactive,
        );
        s.run(1_000_000);
        s.input(
            0,
            InputKind::Text {
                text: "echo $?\n".into(),
            },
        )
        .unwrap();
        s.run(1000);
        let out = s.snapshot().terminals[0].output.clone();
        let tail = "bash: fork: retry: Resource temporarily unavailable\n".repeat(4)
            + "bash: fork: Resource temporarily unavailable\n$ echo $?\n254\n$ ";
        assert!(out.ends_with(&tail), "{out:?}");
        assert!(!out.contains("\nafter\n"), "{out:?}");
    }

    #[test]
    fn a_command_typed_at_the_time_limit_still_runs() {
        let mut s = Session::new(
            RunConfig {
                until_ms: 2000,
                ..script(&["sleep 1.5"])
            },
            TerminalMode::Interactive,
        );
        s.run(10_000);
        assert!(s.time_us() >= 1_500_000);
        s.input(
            0,
            InputKind::Text {
                text: "sleep 5; echo late\n".into(),
            },
        )
        .unwrap();
        s.run(10_000);
        assert!(s.snapshot().terminals[0].output.ends_with("late\n$ "));
        // ... and replays the same way.
        let end = (s.step(), s.snapshot());
        s.seek(0);
        s.seek(end.0);
        assert_eq!(s.snapshot(), end.1);
    }

    #[test]
    fn input_to_a_missing_terminal_is_an_error_not_a_panic() {
        let mut s = Session::new(script(&[""]), TerminalMode::Interactive);
        assert_eq!(
            s.input(7, InputKind::Eof),
            Err(InputError::NoSuchTerminal(7))
        );
    }
}
