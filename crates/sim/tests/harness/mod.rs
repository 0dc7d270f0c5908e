//! A small world for kernel tests: one terminal, and processes that run async
//! closures instead of installed programs.

#![allow(dead_code)]

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use pipelab_sim::kernel::{Kernel, Pid};
use pipelab_sim::sys::{Programs, Sys};
use pipelab_sim::world::{Step, World};

/// Generous virtual time for a test run: 10 minutes.
pub const TEST_UNTIL_US: u64 = 600_000_000;

pub fn world() -> World {
    world_with(Programs::new(), 0)
}

pub fn world_with(programs: Programs, seed: u64) -> World {
    let mut k = Kernel::default();
    k.add_terminal();
    World::new(k, programs, seed)
}

/// Starts a process (a child of init, on terminal 0) running `body`; its return
/// value is its exit code.
pub fn spawn<F, Fut>(w: &mut World, body: F) -> Pid
where
    F: FnOnce(Sys) -> Fut,
    Fut: Future<Output = i32> + 'static,
{
    let pid = w.kernel_mut().spawn_session(vec!["test".into()], "/tmp", 0);
    let sys = w.sys(pid);
    let fut = body(sys.clone());
    w.attach(
        pid,
        Box::pin(async move {
            let code = fut.await;
            sys.exit(code).await
        }),
    );
    pid
}

/// Runs until nothing can move.
pub fn run(w: &mut World) -> Step {
    w.run_until(TEST_UNTIL_US, |_| false)
}

/// A shared log that test processes append to.
#[derive(Clone, Debug, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    pub fn push(&self, s: impl Into<String>) {
        self.0.borrow_mut().push(s.into());
    }
    pub fn lines(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}

/// The exit status the shell would show for `pid`, if it has ended.
pub fn status(w: &World, pid: Pid) -> Option<i32> {
    w.kernel().proc(pid).exit.map(|e| e.shell_status())
}

/// Everything written to terminal 0.
pub fn terminal(w: &World) -> String {
    String::from_utf8_lossy(&w.kernel().terminals[0].output).into_owned()
}
