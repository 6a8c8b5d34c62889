/* sigrelay.c: the async-signal-safe half of gochan.signal (Go's os/signal).
 *
 * What does not work, and why this does
 * -------------------------------------
 * A Python-level handler (signal.signal) cannot deliver a signal to a
 * channel in time.  CPython's C handler only records the signal; the Python
 * handler runs later, in the main thread, at the next bytecode boundary.  A
 * main thread blocked in recv() on the very channel the signal is meant for
 * is inside C and runs no bytecode, so the handler would wait for the wait
 * it is supposed to end.  signal.signal() also works only in the main
 * thread, while notify() must work from any thread.
 *
 * So the work is split, as in Go's runtime (sigsend / signal_recv):
 *
 *  - relay_handler, installed with sigaction() for exactly the signals some
 *    channel is notified for, does only async-signal-safe work: it sets
 *    sr_pending[sig] (an atomic store) and writes one byte to a non-blocking
 *    self-pipe.  It takes no lock, allocates nothing, touches no Python
 *    object, and preserves errno.
 *  - One relay thread (gochan/signal.py) blocks in sigrelay_wait() (cffi
 *    releases the GIL around it), which reads the pipe and returns the
 *    signals whose pending flag it cleared.  The relay then sends each one,
 *    non-blockingly, to every channel notified for it.
 *
 * The pending flags are the truth; the pipe is only the wake-up.  A full
 * pipe therefore loses nothing: its unread bytes will wake the relay, which
 * then sees the flag.  Several arrivals of one signal before the relay runs
 * coalesce into one delivery, exactly as the kernel coalesces a standard
 * signal that is already pending.
 *
 * Invariants
 * ----------
 *  - A flag is set before its byte is written, and sigrelay_wait() clears
 *    the flags after every read and before every blocking read.  Hence a
 *    flag set at any time is seen by the relay no later than the next time
 *    sigrelay_wait() returns after that byte (or an earlier unread one) has
 *    been read: a signal caught by relay_handler is never lost.
 *  - relay_handler is the disposition of `sig` only between
 *    sigrelay_install(sig) and sigrelay_uninstall(sig) / sigrelay_ignore /
 *    sigrelay_reset (or until foreign code replaces it).  Python calls these
 *    with its registry lock held, so the registry ("which channels want
 *    sig") and the installed state change together.  A signal caught while
 *    installed but dispatched after uninstall is re-raised by the relay to
 *    the restored disposition (signal.py), so it is never lost either.
 *  - sr_prev[sig] is the exact struct sigaction that relay_handler replaced
 *    (CPython's own C handler, SIG_DFL, SIG_IGN, a foreign handler), written
 *    before relay_handler is installed; uninstall puts it back only if the
 *    disposition is still ours, so a handler installed by someone else since
 *    (signal.signal, asyncio's add_signal_handler) is not overwritten.
 *  - sr_first[sig] is the disposition when gochan first touched sig
 *    (install, ignore or reset); reset() restores it, so a signal that was
 *    ignored when the process started stays ignored.
 *
 * Synchronous faults.  A SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP or SIGSYS
 * raised by the kernel for a faulting instruction (si_code > 0) cannot be
 * relayed: returning from the handler re-executes the instruction, which
 * faults again, forever.  For those relay_handler puts sr_prev back and
 * returns; the instruction faults once more and the previous disposition
 * (faulthandler, or the default core dump) handles it as if gochan were not
 * there.  The same signals sent by kill() (si_code <= 0) are relayed.
 *
 * fork().  pthread_atfork handlers: prepare blocks every signal in the
 * forking thread (saving its mask); parent restores the mask; child clears
 * the pending flags, gives the child a new pipe, points relay_handler at it,
 * closes the inherited ends, and only then restores the mask.  No handler can
 * run in the child while it still holds the parent's pipe (its only thread
 * has every signal blocked, and signals sent to the child meanwhile stay
 * pending in the kernel until the mask is restored), so a signal sent to one
 * process never reaches the other's channels.  Dispositions are inherited,
 * so notifications made before fork stay in effect in the child; signal.py
 * restarts the relay thread there.
 *
 * CPython's table.  signal.getsignal() reads CPython's own table of Python
 * handlers, not the kernel.  signal.py keeps that table truthful from the
 * main thread by bracketing signal.signal() with sigrelay_snapshot() and
 * sigrelay_unsnapshot(), so that only the table changes; a signal that
 * reaches CPython's handler meanwhile is handed to the relay with
 * sigrelay_post() (the same flag and byte as relay_handler).
 *
 * Every function here that changes state, except relay_handler and the fork
 * handlers, runs with the Python registry lock held (sigrelay_wait runs only
 * in the relay thread), so the plain C state needs no lock of its own; the
 * query functions only read the kernel's disposition.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define SR_NSIG NSIG   /* signal numbers are 1 .. SR_NSIG-1 */

static int sr_pending[SR_NSIG];            /* set by the handler, cleared by the relay */
static struct sigaction sr_prev[SR_NSIG];  /* what relay_handler replaced */
static struct sigaction sr_first[SR_NSIG]; /* disposition at gochan's first touch */
static unsigned char sr_touched[SR_NSIG];  /* sr_first[sig] is valid */
static int sr_wfd = -1;                    /* pipe end written by the handler (atomic) */
static int sr_rfd = -1;                    /* pipe end read by the relay */
static int sr_atfork_done;                 /* pthread_atfork registered */
static int sr_child_errno;                 /* a child could not get its own pipe */
static __thread sigset_t sr_fork_mask;     /* forking thread's mask across fork() */

static int is_fault_signal(int sig) {
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
           sig == SIGTRAP || sig == SIGSYS;
}

static void relay_handler(int sig, siginfo_t *info, void *uctx) {
    (void)uctx;
    int saved_errno = errno;
    if (is_fault_signal(sig) && info != NULL && info->si_code > 0) {
        /* A real fault: hand it back (see "Synchronous faults"). */
        sigaction(sig, &sr_prev[sig], NULL);
        errno = saved_errno;
        return;
    }
    __atomic_store_n(&sr_pending[sig], 1, __ATOMIC_SEQ_CST);
    int fd = __atomic_load_n(&sr_wfd, __ATOMIC_SEQ_CST);
    if (fd >= 0) {
        unsigned char b = (unsigned char)sig;
        ssize_t r = write(fd, &b, 1);   /* EAGAIN: pipe full, the relay wakes anyway */
        (void)r;
    }
    errno = saved_errno;
}

static int is_ours(const struct sigaction *sa) {
    return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == relay_handler;
}

static int valid(int sig) {
    if (sig <= 0 || sig >= SR_NSIG) {
        errno = EINVAL;
        return 0;
    }
    return 1;
}

static void at_prepare(void) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &sr_fork_mask);
}

static void at_parent(void) {
    pthread_sigmask(SIG_SETMASK, &sr_fork_mask, NULL);
}

static void at_child(void) {
    /* Only async-signal-safe calls: the child of a threaded process. */
    for (int i = 0; i < SR_NSIG; i++)
        __atomic_store_n(&sr_pending[i], 0, __ATOMIC_RELAXED);
    int old_r = sr_rfd, old_w = __atomic_load_n(&sr_wfd, __ATOMIC_RELAXED);
    if (old_r >= 0) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) == 0) {
            fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
            sr_rfd = fds[0];
            __atomic_store_n(&sr_wfd, fds[1], __ATOMIC_SEQ_CST);
            sr_child_errno = 0;
        } else {
            sr_child_errno = errno;
            sr_rfd = -1;
            __atomic_store_n(&sr_wfd, -1, __ATOMIC_SEQ_CST);
        }
        close(old_r);
        close(old_w);
    }
    pthread_sigmask(SIG_SETMASK, &sr_fork_mask, NULL);
}

/* Creates the self-pipe and registers the fork handlers, once.
   Returns 0, or -1 with errno set. */
int sigrelay_init(void) {
    if (!sr_atfork_done) {
        int e = pthread_atfork(at_prepare, at_parent, at_child);
        if (e != 0) {
            errno = e;
            return -1;
        }
        sr_atfork_done = 1;
    }
    if (sr_rfd >= 0)
        return 0;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    if (fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK) != 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        errno = e;
        return -1;
    }
    sr_rfd = fds[0];
    __atomic_store_n(&sr_wfd, fds[1], __ATOMIC_SEQ_CST);
    return 0;
}

/* In a forked child: 0 if the child has its own pipe, else the errno of the
   failed pipe2() (the relay cannot run there). */
int sigrelay_child_errno(void) {
    return sr_child_errno;
}

/* Records sig's disposition at gochan's first touch.  Returns 0 or -1. */
static int touch(int sig) {
    if (sr_touched[sig])
        return 0;
    if (sigaction(sig, NULL, &sr_first[sig]) != 0)
        return -1;
    sr_touched[sig] = 1;
    return 0;
}

/* Makes relay_handler sig's disposition, remembering what it replaces.
   Returns 1 if installed now, 0 if it already was, -1 with errno. */
int sigrelay_install(int sig) {
    if (!valid(sig) || touch(sig) != 0)
        return -1;
    struct sigaction cur, old, sa;
    if (sigaction(sig, NULL, &cur) != 0)
        return -1;
    if (is_ours(&cur))
        return 0;
    sr_prev[sig] = cur;          /* before the handler can need it */
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = relay_handler;
    /* SA_RESTART: a thread interrupted by the relay handler resumes its
       system call instead of seeing EINTR.  SA_ONSTACK: use an alternate
       stack where a thread has one (as CPython's own handler does). */
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, &old) != 0)
        return -1;
    if (!is_ours(&old))
        sr_prev[sig] = old;      /* a racer changed it between our two calls */
    return 1;
}

/* Puts back what sigrelay_install replaced, if the disposition is still
   relay_handler.  Returns 1 if restored, 0 if it was not ours (left alone),
   -1 with errno. */
int sigrelay_uninstall(int sig) {
    if (!valid(sig))
        return -1;
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) != 0)
        return -1;
    if (!is_ours(&cur))
        return 0;
    return sigaction(sig, &sr_prev[sig], NULL) == 0 ? 1 : -1;
}

/* Sets sig to SIG_IGN.  Returns 0 or -1 with errno. */
int sigrelay_ignore(int sig) {
    if (!valid(sig) || touch(sig) != 0)
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

/* Restores the disposition sig had when gochan first touched it (nothing
   to do if it never did).  Returns 1 if restored, 0 if untouched, -1. */
int sigrelay_reset(int sig) {
    if (!valid(sig))
        return -1;
    if (!sr_touched[sig])
        return 0;
    return sigaction(sig, &sr_first[sig], NULL) == 0 ? 1 : -1;
}

/* 1 if sig's disposition is SIG_IGN, 0 if not, -1 with errno. */
int sigrelay_ignored(int sig) {
    if (!valid(sig))
        return -1;
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) != 0)
        return -1;
    return !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_IGN;
}

/* 1 if relay_handler is sig's disposition now, 0 if not, -1 with errno. */
int sigrelay_installed(int sig) {
    if (!valid(sig))
        return -1;
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) != 0)
        return -1;
    return is_ours(&cur);
}

/* 1 if sig's disposition is SIG_DFL, 0 if not, -1 with errno. */
int sigrelay_is_default(int sig) {
    if (!valid(sig))
        return -1;
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) != 0)
        return -1;
    return !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_DFL;
}

static int take_pending(int *out) {
    int n = 0;
    for (int sig = 1; sig < SR_NSIG; sig++)
        if (__atomic_load_n(&sr_pending[sig], __ATOMIC_RELAXED) &&
            __atomic_exchange_n(&sr_pending[sig], 0, __ATOMIC_SEQ_CST))
            out[n++] = sig;
    return n;
}

/* Relay thread only.  Blocks until at least one caught signal is pending,
   clears the flags it reports and writes their numbers to out (room for
   sigrelay_nsig() entries).  Returns how many, or -1 with errno. */
int sigrelay_wait(int *out) {
    unsigned char buf[256];
    for (;;) {
        int n = take_pending(out);
        if (n > 0)
            return n;
        int fd = sr_rfd;
        if (fd < 0) {
            errno = EBADF;
            return -1;
        }
        ssize_t r = read(fd, buf, sizeof buf);
        if (r == 0) {
            errno = EPIPE;
            return -1;
        }
        if (r < 0 && errno != EINTR && errno != EAGAIN)
            return -1;
    }
}

/* Marks sig pending and wakes the relay, as relay_handler does.  Used when a
   signal reached CPython's handler instead of ours (signal.py's marker).
   Returns 0, or -1 with errno. */
int sigrelay_post(int sig) {
    if (!valid(sig))
        return -1;
    __atomic_store_n(&sr_pending[sig], 1, __ATOMIC_SEQ_CST);
    int fd = __atomic_load_n(&sr_wfd, __ATOMIC_SEQ_CST);
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    unsigned char b = (unsigned char)sig;
    if (write(fd, &b, 1) < 0 && errno != EAGAIN)
        return -1;
    return 0;
}

/* sigrelay_snapshot(sig) saves sig's disposition; sigrelay_unsnapshot(sig)
   puts it back.  signal.py brackets signal.signal() with them to change the
   handler CPython reports (signal.getsignal) without changing what the
   kernel does on delivery.  Main thread, registry lock held.  0 or -1. */
static struct sigaction sr_snap[SR_NSIG];

int sigrelay_snapshot(int sig) {
    if (!valid(sig))
        return -1;
    return sigaction(sig, NULL, &sr_snap[sig]);
}

int sigrelay_unsnapshot(int sig) {
    if (!valid(sig))
        return -1;
    return sigaction(sig, &sr_snap[sig], NULL);
}

/* One more than the largest signal number (NSIG). */
int sigrelay_nsig(void) {
    return SR_NSIG;
}
