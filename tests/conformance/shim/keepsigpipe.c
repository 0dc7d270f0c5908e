/* keepsigpipe.so: keep SIGPIPE from being ignored.
 *
 * The `textbook` nc flavor is netcat-traditional run under LD_PRELOAD of this shim.
 * netcat-traditional calls signal(SIGPIPE, SIG_IGN) at start-up (strace:
 * rt_sigaction(SIGPIPE, {sa_handler=SIG_IGN, ...})); this shim makes that call a
 * no-op that reports success, so SIGPIPE keeps the disposition the process inherited
 * (SIG_DFL from the harness, or SIG_IGN if the shell ran `trap '' PIPE`: an ignored
 * signal stays ignored across execve, and the shim does not undo that).
 * The result is the program the seed article describes: a write into a pipe without
 * readers kills it with SIGPIPE (exit status 141 in the shell).
 *
 * Built at run time by the conformance runner:
 *   gcc -shared -fPIC -O2 -o keepsigpipe.so keepsigpipe.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stddef.h>

typedef sighandler_t (*signal_fn)(int, sighandler_t);
typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static int refuses(int signum, sighandler_t handler) {
    return signum == SIGPIPE && handler == SIG_IGN;
}

sighandler_t signal(int signum, sighandler_t handler) {
    static signal_fn real;
    if (refuses(signum, handler)) {
        struct sigaction old;
        if (sigaction(signum, NULL, &old) != 0) return SIG_ERR;
        return old.sa_handler;
    }
    if (!real) real = (signal_fn)dlsym(RTLD_NEXT, "signal");
    return real(signum, handler);
}

sighandler_t bsd_signal(int signum, sighandler_t handler) {
    return signal(signum, handler);
}

sighandler_t sysv_signal(int signum, sighandler_t handler) {
    return signal(signum, handler);
}

int sigaction(int signum, const struct sigaction *act, struct sigaction *oldact) {
    static sigaction_fn real;
    if (!real) real = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    if (act && refuses(signum, act->sa_handler)) return real(signum, NULL, oldact);
    return real(signum, act, oldact);
}
