//! The executor: a kernel, the programs' tasks, and a deterministic scheduler.
//!
//! [`World::step`] runs exactly one step: it picks the runnable process that is due
//! first on its own timeline (ties: round robin by pid, or a seeded choice), polls
//! its task until the task has completed one syscall or blocked in one, and moves
//! that process's timeline on by the syscall's cost. Processes thus run side by side
//! as on a machine with enough cores: a slow `execve` in one does not hold back a
//! quick loop of `connect`s in another (which is why a client finds the `while`
//! loop's restart window shut for several attempts in a row, as measured). With a
//! seed, each cost is jittered too, as real timings are. When no process can run,
//! time jumps to the next timer. A run is a pure function of the kernel it starts
//! from, the seed and the inputs; stepping back is replaying.

use crate::vecmap::VecMap;
use std::cell::{Ref, RefMut};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::kernel::process::State;
use crate::kernel::{Kernel, Micros, Pid, syscall_cost_us};
use crate::sys::{Main, Programs, Shared, Sys, Task};

/// What one call to [`World::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// A process made a syscall.
    Ran(Pid),
    /// Nothing can run before `until`: every process is blocked with no timer due.
    Idle,
    /// The step limit is reached.
    StepLimit,
}

/// Picks which runnable process goes next.
#[derive(Clone, Debug)]
struct Scheduler {
    seed: u64,
    state: u64,
    last: Pid,
}

impl Scheduler {
    fn new(seed: u64) -> Scheduler {
        Scheduler {
            seed,
            state: seed,
            last: 0,
        }
    }

    /// splitmix64: tiny, portable, and the same on wasm and native.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Among processes due at the same moment. Seed 0: round robin in pid
    /// order. Otherwise: a seeded choice.
    fn pick(&mut self, runnable: &[Pid]) -> Pid {
        let pid = if self.seed == 0 {
            runnable
                .iter()
                .copied()
                .find(|&p| p > self.last)
                .unwrap_or(runnable[0])
        } else {
            runnable[(self.next_u64() % runnable.len() as u64) as usize]
        };
        self.last = pid;
        pid
    }

    /// A syscall's cost on this run: as is for seed 0, else between half and one
    /// and a half times it.
    fn cost(&mut self, base: Micros) -> Micros {
        if self.seed == 0 {
            base
        } else {
            (base / 2 + self.next_u64() % (base + 1)).max(1)
        }
    }
}

/// A kernel with programs running on it.
pub struct World {
    shared: Rc<Shared>,
    tasks: VecMap<Pid, Task>,
    scheduler: Scheduler,
    /// The runnable processes, kept between steps so a step does not allocate.
    runnable: Vec<Pid>,
    /// `Kernel::deaths` when the dead's tasks were last dropped.
    deaths_seen: u64,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("tasks", &self.tasks.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Drop for World {
    /// Running signal handlers hold a `Sys`, and so the kernel: they go
    /// with the world.
    fn drop(&mut self) {
        self.shared.drop_running(true);
    }
}

/// Wraps a program so that returning from main is `exit_group(code)`, a step of
/// its own like every syscall.
pub fn start(main: Main, sys: Sys, argv: Vec<String>) -> Task {
    Box::pin(async move {
        let code = main(sys.clone(), argv).await;
        sys.exit(code).await
    })
}

impl World {
    pub fn new(mut kernel: Kernel, programs: Programs, seed: u64) -> World {
        let mut scheduler = Scheduler::new(seed);
        if seed != 0 {
            // A seeded run gets its own machine weather: the wake-up latency
            // of a CPU that is free (5 to 14 microseconds), or of one that
            // frees up only when the running process blocks (70 to 149). Not
            // anything in between, as a uniform 5-80 had it: that put the old
            // nc listener's close between curl's connect and its send in 3%
            // of seeds of while-loop-back-to-back (curl exit 55), which 150
            // runs on this machine never showed (7, 56 or 200), and gave
            // backend-down's empty reply (52) in 6% of seeds where the
            // machine gives it in about half its runs (here 0%, 17%).
            let r = scheduler.next_u64();
            kernel.wakeup_latency_us = if r % 2 == 0 {
                5 + r / 2 % 10
            } else {
                70 + r / 2 % 80
            };
        }
        World {
            shared: Shared::new(kernel, programs),
            tasks: VecMap::new(),
            scheduler,
            runnable: Vec::new(),
            deaths_seen: 0,
        }
    }

    pub fn kernel(&self) -> Ref<'_, Kernel> {
        self.shared.kernel.borrow()
    }

    pub fn kernel_mut(&self) -> RefMut<'_, Kernel> {
        self.shared.kernel.borrow_mut()
    }

    /// A `Sys` for `pid`, to start a program on it.
    pub fn sys(&self, pid: Pid) -> Sys {
        Sys::new(self.shared.clone(), pid)
    }

    /// Runs `task` as process `pid` (made with `Kernel::spawn_session`).
    pub fn attach(&mut self, pid: Pid, task: Task) {
        self.tasks.insert(pid, task);
    }

    /// Starts the installed program `name` as process `pid`.
    pub fn attach_program(&mut self, pid: Pid, name: &str, argv: Vec<String>) {
        let program = *self
            .shared
            .programs
            .get(name)
            .unwrap_or_else(|| panic!("no program {name}"));
        self.shared.kernel.borrow_mut().proc_mut(pid).rss_kb = program.rss_kb;
        let task = start(program.main, self.sys(pid), argv);
        self.attach(pid, task);
    }

    /// One step; `until` bounds how far an idle world may move the clock.
    pub fn step(&mut self, until: Micros) -> Step {
        // A poll that only re-blocks (a wake meant for someone else) is not a step;
        // bound how many of those one step may see.
        for _ in 0..10_000 {
            {
                let k = self.shared.kernel.borrow();
                if k.step >= k.limits.max_steps {
                    return Step::StepLimit;
                }
            }
            let runnable = &mut self.runnable;
            let due = {
                let k = self.shared.kernel.borrow();
                runnable.clear();
                let mut due: Option<Micros> = None;
                for &pid in self.tasks.keys() {
                    let p = k.proc(pid);
                    if matches!(p.state, State::Runnable) {
                        runnable.push(pid);
                        let at = p.ready_at.max(k.now);
                        due = Some(due.map_or(at, |d| d.min(at)));
                    }
                }
                due
            };
            {
                // A timer that falls before the next process is due fires first.
                let mut k = self.shared.kernel.borrow_mut();
                match (k.next_deadline(), due) {
                    (Some(t), d) if d.is_none_or(|d| t < d) => {
                        if t > until {
                            return Step::Idle;
                        }
                        k.advance_to(t);
                        continue;
                    }
                    (_, None) => return Step::Idle,
                    (_, Some(d)) if d > until => return Step::Idle,
                    (_, Some(d)) => k.advance_to(d),
                }
            }
            {
                // The candidates: those due now.
                let k = self.shared.kernel.borrow();
                runnable.retain(|p| k.proc(*p).ready_at <= k.now);
            }
            if runnable.is_empty() {
                // The timer that fired made someone else due: look again.
                continue;
            }
            let pid = self.scheduler.pick(runnable);
            self.poll_once(pid);
            if self.shared.budget_used() {
                let cost = self
                    .scheduler
                    .cost(syscall_cost_us(self.shared.last_call.get()))
                    + self.shared.cpu_us.take();
                let mut k = self.shared.kernel.borrow_mut();
                k.step += 1;
                let ready = k.now + cost;
                if let Some(p) = k.procs.get_mut(&pid) {
                    p.ready_at = ready;
                }
                return Step::Ran(pid);
            }
        }
        panic!("a step found nothing but spurious wakeups 10000 times");
    }

    fn poll_once(&mut self, pid: Pid) {
        self.shared.grant_budget();
        self.shared.kernel.borrow_mut().current = Some(pid);
        let task = self
            .tasks
            .get_mut(&pid)
            .expect("runnable process has a task");
        let mut cx = Context::from_waker(Waker::noop());
        let done = task.as_mut().poll(&mut cx);
        self.shared.kernel.borrow_mut().current = None;
        if let Poll::Ready(code) = done {
            // `start` ends every program with exit_group; a bare task that returns
            // still dies properly.
            let mut k = self.shared.kernel.borrow_mut();
            k.terminate(pid, crate::kernel::process::ExitStatus::Code(code));
        }
        // Forked children and exec'd programs; an exec replaces the old task.
        let new = std::mem::take(&mut *self.shared.new_tasks.borrow_mut());
        for (p, t) in new {
            self.shared.kernel.borrow_mut().proc_mut(p).exec_pending = false;
            self.tasks.insert(p, t);
        }
        // Drop the tasks of processes that died, when some did.
        let k = self.shared.kernel.borrow();
        if k.deaths != self.deaths_seen {
            self.deaths_seen = k.deaths;
            self.tasks.retain(|p, _| k.proc(*p).is_alive());
            drop(k);
            self.shared.drop_running(false);
        }
    }

    /// Runs until `pred` holds, the world is idle up to `until`, or the step limit.
    pub fn run_until(&mut self, until: Micros, mut done: impl FnMut(&Kernel) -> bool) -> Step {
        loop {
            if done(&self.shared.kernel.borrow()) {
                return Step::Idle;
            }
            match self.step(until) {
                Step::Ran(_) => {}
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_zero_is_round_robin_in_pid_order() {
        let mut s = Scheduler::new(0);
        assert_eq!(s.pick(&[2, 3, 5]), 2);
        assert_eq!(s.pick(&[2, 3, 5]), 3);
        assert_eq!(s.pick(&[2, 3, 5]), 5);
        assert_eq!(s.pick(&[2, 3, 5]), 2);
    }

    #[test]
    fn a_seed_gives_the_same_choices_every_time() {
        let picks = |seed| {
            let mut s = Scheduler::new(seed);
            (0..20).map(|_| s.pick(&[2, 3, 5, 7])).collect::<Vec<_>>()
        };
        assert_eq!(picks(42), picks(42));
        assert_ne!(picks(42), picks(43));
    }
}
