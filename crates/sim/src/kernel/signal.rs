//! Signals: numbers from `arch/x86/include/uapi/asm/signal.h`, default actions from
//! signal(7), and the per-process dispositions.

use super::process::ExitStatus;
use serde::{Deserialize, Serialize};

macro_rules! signals {
    ($($name:ident = $num:expr, $action:ident, $text:expr;)*) => {
        /// A signal, numbered as on Linux x86-64.
        #[allow(clippy::upper_case_acronyms)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum Signal { $($name),* }

        impl Signal {
            pub const ALL: &[Signal] = &[$(Signal::$name),*];

            pub const fn number(self) -> i32 {
                match self { $(Signal::$name => $num),* }
            }
            pub fn name(self) -> &'static str {
                match self { $(Signal::$name => stringify!($name)),* }
            }
            /// What happens when the disposition is `SIG_DFL` (signal(7)).
            pub fn default_action(self) -> DefaultAction {
                match self { $(Signal::$name => DefaultAction::$action),* }
            }
            /// `strsignal(3)`, which bash prints for a killed job ("Terminated").
            pub fn text(self) -> &'static str {
                match self { $(Signal::$name => $text),* }
            }
            pub fn from_number(n: i32) -> Option<Signal> {
                Signal::ALL.iter().copied().find(|s| s.number() == n)
            }
        }
    };
}

signals! {
    SIGHUP = 1, Term, "Hangup";
    SIGINT = 2, Term, "Interrupt";
    SIGQUIT = 3, Core, "Quit";
    SIGKILL = 9, Term, "Killed";
    SIGUSR1 = 10, Term, "User defined signal 1";
    SIGUSR2 = 12, Term, "User defined signal 2";
    SIGPIPE = 13, Term, "Broken pipe";
    SIGALRM = 14, Term, "Alarm clock";
    SIGTERM = 15, Term, "Terminated";
    SIGCHLD = 17, Ign, "Child exited";
    SIGCONT = 18, Cont, "Continued";
    SIGSTOP = 19, Stop, "Stopped (signal)";
    SIGTSTP = 20, Stop, "Stopped";
    SIGTTIN = 21, Stop, "Stopped (tty input)";
    SIGTTOU = 22, Stop, "Stopped (tty output)";
    SIGURG = 23, Ign, "Urgent I/O condition";
}

impl Signal {
    /// Parses `PIPE`, `SIGPIPE` or `13`, as `kill -s` and `trap` accept them.
    pub fn parse(s: &str) -> Option<Signal> {
        if let Ok(n) = s.parse::<i32>() {
            return Signal::from_number(n);
        }
        let upper = s.to_ascii_uppercase();
        let name = upper.strip_prefix("SIG").unwrap_or(&upper);
        Signal::ALL
            .iter()
            .copied()
            .find(|sig| &sig.name()[3..] == name)
    }

    /// SIGKILL and SIGSTOP can be neither caught, ignored nor blocked.
    pub fn can_be_caught(self) -> bool {
        !matches!(self, Signal::SIGKILL | Signal::SIGSTOP)
    }

    /// Whether its default action stops the process (SIGSTOP, SIGTSTP,
    /// SIGTTIN, SIGTTOU).
    pub fn stops(self) -> bool {
        self.default_action() == DefaultAction::Stop
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The default action of a signal (signal(7)). Core dumps are not simulated: `Core`
/// terminates like `Term`, and the status is the same 128+signo a shell shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DefaultAction {
    Term,
    Core,
    Ign,
    /// The process stops until a SIGCONT.
    Stop,
    /// A stopped process goes on; one that runs ignores it.
    Cont,
}

/// A pending signal: the signal, its sender, and for a SIGCHLD sent because
/// the child stopped or went on, that change (`ExitStatus::Stopped`,
/// `ExitStatus::Continued`).
pub type Pending = (Signal, Option<super::Pid>, Option<ExitStatus>);

/// `sigaction(2)`'s `sa_handler`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Disposition {
    Default,
    Ignore,
    /// A user handler. `crate::sys` runs it where the signal is delivered:
    /// the calls of the body the program registered (`Sys::sigaction_handler`),
    /// if any, then `rt_sigreturn`; the signal is also recorded in `caught`
    /// (unless a body took it) for the program to act on at its next safe
    /// point, as bash does for `trap`. `restart` is `SA_RESTART`.
    Handler {
        restart: bool,
    },
}

/// `rt_sigprocmask(2)`'s `how`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigHow {
    /// Add the set to the mask.
    Block,
    /// Take the set out of the mask.
    Unblock,
    /// The set is the new mask.
    SetMask,
}

impl SigHow {
    pub fn name(self) -> &'static str {
        match self {
            SigHow::Block => "SIG_BLOCK",
            SigHow::Unblock => "SIG_UNBLOCK",
            SigHow::SetMask => "SIG_SETMASK",
        }
    }
}

/// A process's signal state: dispositions, the blocked mask with the signals it
/// holds back, and caught signals the program has not looked at yet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SignalState {
    /// Indexed by signal number; absent means `SIG_DFL`.
    dispositions: crate::vecmap::VecMap<i32, Disposition>,
    /// Signals delivered to a handler, oldest first, not yet taken by the program.
    pub caught: Vec<Signal>,
    /// The blocked mask (`rt_sigprocmask(2)`), bit `signo - 1` as in
    /// `/proc/PID/status`'s `SigBlk`. Not shown on the page.
    #[serde(skip)]
    blocked: u64,
    /// Signals generated while blocked, in the order they came, each with its
    /// sender. A standard signal is pending at most once (`legacy_queue`):
    /// a second one while the first waits is lost.
    #[serde(skip)]
    pending: Vec<Pending>,
}

impl SignalState {
    pub fn disposition(&self, sig: Signal) -> Disposition {
        self.dispositions
            .get(&sig.number())
            .copied()
            .unwrap_or(Disposition::Default)
    }

    pub fn set(&mut self, sig: Signal, d: Disposition) -> Disposition {
        let old = self.disposition(sig);
        if d == Disposition::Default {
            self.dispositions.remove(&sig.number());
        } else {
            self.dispositions.insert(sig.number(), d);
        }
        old
    }

    /// `execve(2)`: handled signals are reset to the default; ignored ones stay
    /// ignored (that is how `trap '' PIPE` reaches a program the shell runs).
    pub fn on_exec(&mut self) {
        self.dispositions
            .retain(|_, d| matches!(d, Disposition::Ignore));
        self.caught.clear();
    }

    /// `fork(2)`: the child inherits the dispositions and the blocked mask, not
    /// the pending signals. (`execve(2)` keeps both mask and pending signals.)
    pub fn on_fork(&self) -> SignalState {
        SignalState {
            dispositions: self.dispositions.clone(),
            caught: Vec::new(),
            blocked: self.blocked,
            pending: Vec::new(),
        }
    }

    fn bit(sig: Signal) -> u64 {
        1u64 << (sig.number() - 1)
    }

    /// Whether `sig` is held back by the mask (SIGKILL never is).
    pub fn is_blocked(&self, sig: Signal) -> bool {
        self.blocked & Self::bit(sig) != 0
    }

    /// The blocked mask as strace prints a signal set: `[]`, `[INT TERM CHLD]`.
    pub fn blocked_text(&self) -> String {
        set_text(self.blocked)
    }

    /// Holds `sig` (from `from`) until it is unblocked, or until a stopped
    /// process goes on.
    pub fn hold(&mut self, sig: Signal, from: Option<super::Pid>, change: Option<ExitStatus>) {
        if !self.pending.iter().any(|(s, ..)| *s == sig) {
            self.pending.push((sig, from, change));
        }
    }

    /// Drops the pending signals `drop` picks: SIGCONT discards pending stop
    /// signals, a stop signal a pending SIGCONT (signal(7)).
    pub fn discard(&mut self, drop: impl Fn(Signal) -> bool) {
        self.pending.retain(|(s, ..)| !drop(*s));
    }

    /// The pending signals the mask lets through, taken out to deliver (a
    /// stopped process that goes on gets those it held meanwhile).
    pub fn release(&mut self) -> Vec<Pending> {
        let blocked = self.blocked;
        let (still, released) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(s, ..)| blocked & Self::bit(*s) != 0);
        self.pending = still;
        released
    }

    /// The blocked mask, bit `signo - 1`.
    pub fn blocked(&self) -> u64 {
        self.blocked
    }

    /// `rt_sigprocmask(2)` on the mask, with `set` as a mask (bit `signo -
    /// 1`): SIGKILL and SIGSTOP cannot be blocked and are silently left out.
    /// Returns the pending signals it unblocked, to deliver now (Linux delivers
    /// them before the call returns).
    pub fn set_mask(&mut self, how: SigHow, set: u64) -> Vec<Pending> {
        let bits = set & !(Self::bit(Signal::SIGKILL) | Self::bit(Signal::SIGSTOP));
        self.blocked = match how {
            SigHow::Block => self.blocked | bits,
            SigHow::Unblock => self.blocked & !bits,
            SigHow::SetMask => bits,
        };
        self.release()
    }

    /// The signals set to `SIG_IGN`, as a `/proc/PID/status` `SigIgn` mask.
    pub fn ignored_mask(&self) -> u64 {
        self.dispositions
            .iter()
            .filter(|(_, d)| matches!(d, Disposition::Ignore))
            .fold(0, |m, (n, _)| m | 1u64 << (n - 1))
    }
}

/// The signals of `set` as a mask, bit `signo - 1`.
pub const fn mask_of(set: &[Signal]) -> u64 {
    let mut mask = 0;
    let mut i = 0;
    while i < set.len() {
        mask |= 1 << (set[i].number() - 1);
        i += 1;
    }
    mask
}

/// A signal set (bit `signo - 1`) as strace prints it: the names without
/// `SIG`, in signal number order, `[INT TERM CHLD]`; `[]` when empty.
pub fn set_text(mask: u64) -> String {
    let mut text = String::from("[");
    for n in 1..=64 {
        let Some(name) = Signal::from_number(n).map(|s| &s.name()[3..]) else {
            continue;
        };
        if mask >> (n - 1) & 1 != 0 {
            if text.len() > 1 {
                text.push(' ');
            }
            text.push_str(name);
        }
    }
    text.push(']');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_set_prints_as_strace_prints_it_stop_signals_included() {
        assert_eq!(set_text(0), "[]");
        let fork = mask_of(&[Signal::SIGINT, Signal::SIGTERM, Signal::SIGCHLD]);
        assert_eq!(set_text(fork), "[INT TERM CHLD]");
        // bash's mask around tcsetpgrp: SIGCHLD, SIGTSTP, SIGTTIN, SIGTTOU.
        assert_eq!(set_text(0x38_0000 | 1 << 16), "[CHLD TSTP TTIN TTOU]");
    }

    #[test]
    fn sigpipe_is_13_and_terminates_by_default() {
        assert_eq!(Signal::SIGPIPE.number(), 13);
        assert_eq!(Signal::SIGPIPE.default_action(), DefaultAction::Term);
    }

    #[test]
    fn sigchld_is_ignored_by_default() {
        assert_eq!(Signal::SIGCHLD.default_action(), DefaultAction::Ign);
    }

    #[test]
    fn signal_names_parse_with_and_without_sig_prefix() {
        assert_eq!(Signal::parse("PIPE"), Some(Signal::SIGPIPE));
        assert_eq!(Signal::parse("sigterm"), Some(Signal::SIGTERM));
        assert_eq!(Signal::parse("9"), Some(Signal::SIGKILL));
        assert_eq!(Signal::parse("NOPE"), None);
    }

    #[test]
    fn exec_keeps_ignored_signals_and_resets_handled_ones() {
        let mut s = SignalState::default();
        s.set(Signal::SIGPIPE, Disposition::Ignore);
        s.set(Signal::SIGINT, Disposition::Handler { restart: true });
        s.on_exec();
        assert_eq!(s.disposition(Signal::SIGPIPE), Disposition::Ignore);
        assert_eq!(s.disposition(Signal::SIGINT), Disposition::Default);
    }

    #[test]
    fn ignored_mask_matches_proc_status_sigign() {
        // netcat-openbsd's SigIgn is 0x1000 on top of the shell's: SIGPIPE is bit 12.
        let mut s = SignalState::default();
        s.set(Signal::SIGPIPE, Disposition::Ignore);
        assert_eq!(s.ignored_mask(), 0x1000);
    }

    #[test]
    fn a_blocked_signal_pends_once_until_unblocked_and_fork_keeps_the_mask() {
        let mut s = SignalState::default();
        assert!(
            s.set_mask(SigHow::Block, mask_of(&[Signal::SIGCHLD, Signal::SIGKILL]))
                .is_empty()
        );
        assert!(s.is_blocked(Signal::SIGCHLD));
        assert!(!s.is_blocked(Signal::SIGKILL), "SIGKILL cannot be blocked");
        s.hold(Signal::SIGCHLD, Some(7), None);
        s.hold(Signal::SIGCHLD, Some(8), None);
        let child = s.on_fork();
        assert!(child.is_blocked(Signal::SIGCHLD));
        assert!(child.pending.is_empty());
        assert_eq!(
            s.set_mask(SigHow::Unblock, mask_of(&[Signal::SIGCHLD])),
            vec![(Signal::SIGCHLD, Some(7), None)]
        );
        assert!(!s.is_blocked(Signal::SIGCHLD));
    }
}
