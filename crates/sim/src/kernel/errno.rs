//! Error numbers, as `include/uapi/asm-generic/errno-base.h` and `errno.h` define them.

use serde::{Deserialize, Serialize};

macro_rules! errnos {
    ($($name:ident = $num:expr, $text:expr;)*) => {
        /// An error a simulated program can observe, named and numbered as on Linux.
        #[allow(clippy::upper_case_acronyms, non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum Errno { $($name),* }

        impl Errno {
            /// The number Linux uses on x86-64.
            pub fn number(self) -> i32 {
                match self { $(Errno::$name => $num),* }
            }
            /// The symbolic name, as strace prints it.
            pub fn name(self) -> &'static str {
                match self { $(Errno::$name => stringify!($name)),* }
            }
            /// `strerror(3)`, as glibc words it.
            pub fn text(self) -> &'static str {
                match self { $(Errno::$name => $text),* }
            }
        }
    };
}

errnos! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "Input/output error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file descriptor";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Resource temporarily unavailable";
    ENOMEM = 12, "Cannot allocate memory";
    EACCES = 13, "Permission denied";
    EEXIST = 17, "File exists";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "Too many open files in system";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Inappropriate ioctl for device";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EPIPE = 32, "Broken pipe";
    ENAMETOOLONG = 36, "File name too long";
    ENOTEMPTY = 39, "Directory not empty";
    ENOTSOCK = 88, "Socket operation on non-socket";
    EOPNOTSUPP = 95, "Operation not supported";
    EAFNOSUPPORT = 97, "Address family not supported by protocol";
    EADDRINUSE = 98, "Address already in use";
    EADDRNOTAVAIL = 99, "Cannot assign requested address";
    ENETUNREACH = 101, "Network is unreachable";
    ECONNABORTED = 103, "Software caused connection abort";
    ECONNRESET = 104, "Connection reset by peer";
    EISCONN = 106, "Transport endpoint is already connected";
    ENOTCONN = 107, "Transport endpoint is not connected";
    ETIMEDOUT = 110, "Connection timed out";
    ECONNREFUSED = 111, "Connection refused";
    EALREADY = 114, "Operation already in progress";
    EINPROGRESS = 115, "Operation now in progress";
    // The kernel's own restart codes (`include/linux/errno.h`): a program never
    // sees them, but strace shows one as the result of a blocked call a signal
    // interrupted (`= ? ERESTARTSYS (To be restarted if SA_RESTART is set)`),
    // before the signal is delivered.
    ERESTARTSYS = 512, "To be restarted if SA_RESTART is set";
    ERESTARTNOHAND = 514, "To be restarted if no handler";
    ERESTART_RESTARTBLOCK = 516, "Interrupted by signal";
}

impl Errno {
    /// One of the kernel's restart codes: the call was interrupted by a signal.
    pub fn is_restart(self) -> bool {
        self.number() >= 512
    }
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), self.text())
    }
}

impl std::error::Error for Errno {}

/// What a syscall returns: a value, or the errno a C program would see in `errno`.
pub type SysResult<T> = Result<T, Errno>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_numbers_match_linux() {
        assert_eq!(Errno::EPIPE.number(), 32);
        assert_eq!(Errno::ECONNREFUSED.number(), 111);
        assert_eq!(Errno::EAGAIN.number(), 11);
        assert_eq!(Errno::ENXIO.number(), 6);
    }

    #[test]
    fn errno_prints_like_strace() {
        assert_eq!(Errno::EPIPE.to_string(), "EPIPE (Broken pipe)");
    }
}
