/* park.c: parking a thread until its operation completes, and waking it.
 *
 * Why a raw futex, and why slices for the main thread
 * ----------------------------------------------------
 * A blocked operation must release the GIL, cost no CPU while it waits, and
 * still turn Ctrl+C into KeyboardInterrupt within 100 ms in the main thread.
 *
 *  - pthread_cond_wait is restarted by the C library after a signal handler
 *    runs, so a main thread waiting in it never sees SIGINT.  A futex wait
 *    returns EINTR as soon as a handler (CPython's C-level handler, which
 *    only records the signal) has run on this thread, so the main thread can
 *    retake the GIL and run the Python handlers at once.
 *  - The kernel may deliver SIGINT to another thread.  CPython's handler then
 *    records it, but nothing wakes the main thread.  So the main thread (and
 *    only it: other threads never run Python signal handlers) waits in
 *    slices of GC_MAIN_SLICE and checks for pending handlers between them.
 *
 * Running the handlers must never lose or duplicate a value, and should not
 * cost the thread its place in the FIFO queues.  So the thread first
 * *pauses* its parker (done: FREE -> PAUSED).  If that fails, a partner has
 * completed the operation: it returns normally, and the recorded signal is
 * handled by the interpreter at its next check, right after.  While paused,
 * the waiters stay queued but partners pass them by, so nothing can complete
 * the operation while a handler runs.  If a handler raises, the thread claims
 * its parker, takes its waiters off the queues and propagates the exception:
 * the operation did not happen.  Otherwise it resumes (see resume()): with
 * its channels locked it checks that no partner came by meanwhile, and
 * becomes claimable again in the same place in the queues.
 */
/*
 * Spinning
 * --------
 * On this kind of machine (a 2-CPU VM) a futex sleep and wake-up costs tens
 * of microseconds, far more than a channel operation.  Two bounded spins,
 * both without the GIL and both limited to CPUs-1 threads at a time (the
 * GIL holder keeps a CPU), avoid most of them: a parking thread first
 * spins (spin_wait) while that pays off for it, since a partner on the
 * other CPU often answers within microseconds; and a woken thread waits
 * for its waker to release the GIL (wait_gil_hint) instead of sleeping in
 * take_gil.  Measured: ping-pong 48 -> 1.5 us per round trip, 4x4
 * producers/consumers 1000 -> 200 ns per item.
 *
 * Spinning pays only while a CPU is free for the partner.  Next to one
 * CPU-bound process on two CPUs, a spinner takes the one free CPU, and the
 * partner it waits for has to share the other with that process (time
 * slices of milliseconds): ping-pong became 2x slower than queue.Queue.
 * So the engine watches how much CPU *other* processes use (the system's
 * busy time in /proc/stat minus this process's own, from getrusage),
 * sampled every GC_LOAD_WINDOW by whichever thread parks, and spins only
 * while at least 1.5 CPUs are left for this process (cpu_free_for_spin).
 * When every CPU is taken by others anyway, a spinner competes with them
 * like any thread and still saves the sleep/wake cost, so it spins again
 * once others leave less than half a CPU.  In between, a parking thread yields
 * the CPU in turns instead (yield_while): a turn is free when nobody else
 * wants the CPU and hands it over when someone does, often the partner.
 *
 * Without the GIL (free-threaded builds) this process's own threads want
 * CPUs too: four workers of pure-Python work on two CPUs leave none for a
 * spinner, and a feeder or collector spinning for them took ~12 % of the
 * workers' throughput (parallel_pipeline, gochan / queue.Queue time per
 * item: 0.95-0.99 before this rule, 0.84-0.87 with it).  So there the
 * sampler also counts this process's CPU minus what its spinners and
 * yielders used (own: the time spin_while spins and the thread CPU time
 * yield_while burns are added up in spent_ns), and a thread spins only
 * while that leaves half a CPU idle (or, when others take every CPU, while
 * its own threads use less than one).  With the GIL, the other threads of
 * this process wait for the GIL, not for a CPU, and the rule stays as
 * above.
 */
#include "gochan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define GC_MAIN_SLICE 0.05   /* seconds between signal checks in the main thread */

long gc_parked_threads;      /* threads inside gc_park (written under
                                list_lock, read anywhere: atomic) */
unsigned long gc_park_seq;   /* joins of the list (list_lock) */
static gc_parker *parked;    /* the list of parked operations (list_lock) */
static gc_lock list_lock;    /* protects `parked`: joined with the GIL held,
                                left without it (see retire()) */
/* Held for reading by a thread that retires its operation without the GIL
   (retire()), for writing across fork(): so the child never inherits a
   half-unlinked queue or list. */
static pthread_rwlock_t fork_rw;
static unsigned long main_ident;

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts);

#ifdef Py_GIL_DISABLED
void gc_lock_slow(gc_lock *l) {
    for (int spins = 0; spins < 100; spins++) {
        uint32_t free_ = 0;
        if (__atomic_load_n(&l->v, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&l->v, &free_, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
        gc_cpu_relax();
    }
    /* 2: a releaser must wake someone; we may be the one it wakes */
    while (__atomic_exchange_n(&l->v, 2, __ATOMIC_ACQUIRE) != 0)
        futex(&l->v, FUTEX_WAIT_PRIVATE, 2, NULL);
}

void gc_unlock_slow(gc_lock *l) {
    futex(&l->v, FUTEX_WAKE_PRIVATE, 1, NULL);
}
#else
void gc_lock_slow(gc_lock *l) {
    for (int spins = 0;; spins++) {
        if (__atomic_load_n(&l->v, __ATOMIC_RELAXED) == 0 &&
            !__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE))
            return;
        if (spins < 100)
            gc_cpu_relax();
        else
            sched_yield();   /* the holder was preempted */
    }
}
#endif

double gc_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int gc_parse_timeout(PyObject *o, double *deadline, int *nonblock) {
    *nonblock = 0;
    if (o == NULL || o == Py_None) {
        *deadline = -1;
        return 0;
    }
    if (PyBool_Check(o) || !(PyFloat_Check(o) || PyLong_Check(o))) {
        PyErr_Format(PyExc_TypeError,
                     "timeout must be a number of seconds or None, not %.100s",
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    double s = PyFloat_AsDouble(o);   /* huge ints become inf */
    if (s == -1.0 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return -1;
        PyErr_Clear();
        s = gc_long_sign(o) > 0 ? Py_HUGE_VAL : -Py_HUGE_VAL;
    }
    if (s != s) {
        PyErr_SetString(PyExc_ValueError, "timeout must not be NaN");
        return -1;
    }
    if (s <= 0) {
        *nonblock = 1;
        *deadline = 0;
    } else if (s > 1e12) {
        *deadline = -1;                   /* ~31700 years: never */
    } else {
        *deadline = gc_clock() + s;       /* a bubble's clock inside one */
    }
    return 0;
}

/* Bumped (GIL held) each time a gochan thread releases the GIL to park. */
static uint32_t gc_gil_hint;

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts) {
    return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static void wake(gc_parker *p) {
    /* Called without any channel lock.  After the exchange the waiter may
       return and its stack frame vanish: p is not touched again. */
    uint32_t *addr = &p->futex;
    if (__builtin_expect(__atomic_load_n(&p->bubble, __ATOMIC_ACQUIRE) != NULL, 0))
        gc_bubble_ready(p);      /* counted running before it can run */
    if (__atomic_exchange_n(addr, 1, __ATOMIC_RELEASE) == 2)
        futex(addr, FUTEX_WAKE_PRIVATE, 1, NULL);
}

void gc_wake(gc_parker *p) {
    p->gil_hint = __atomic_load_n(&gc_gil_hint, __ATOMIC_RELAXED);
    p->hint_valid = 1;
    wake(p);
}

void gc_wake_nogil(gc_parker *p) {
    p->hint_valid = 0;
    wake(p);
}

#define GC_SPIN 30e-6         /* seconds a parking thread may spin first */
#define GC_HINT_SPIN 30e-6    /* seconds a woken thread may wait for the GIL hint */
#define GC_SPIN_MAX_PARKED 16 /* beyond this many parked threads, neither spin */
static int max_spinners;      /* CPUs - 1: a spinner must not take the GIL holder's CPU */
static long ncpu;

/* ---- how much CPU do other processes leave us? ---------------------------- */
#define GC_LOAD_WINDOW 0.1    /* seconds between samples */
static int spin_ok = 1;       /* the last decision (atomic) */
static int sampling;          /* a thread is sampling now (atomic flag) */
static int64_t sample_ns;     /* when the last sample was taken (atomic) */
static double sample_busy;    /* the system's busy CPU seconds then */
static double sample_self;    /* this process's CPU seconds then */
static double clk_tck;
static int64_t others_milli;  /* CPU use of other processes in the last sample,
                                 in thousandths of a CPU (atomic; diagnostics) */
static int64_t own_milli;     /* this process's CPU use minus spinning, same */
#ifdef Py_GIL_DISABLED
static int64_t spent_ns;      /* CPU nanoseconds spent spinning and yielding (atomic) */
static int64_t sample_spent;  /* spent_ns at the last sample */
#endif

/* The system's busy CPU seconds (all processes), or -1. */
static double system_busy(void) {
    char buf[256];
    int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    unsigned long long v[8] = {0};   /* user nice system idle iowait irq softirq steal */
    if (sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
               &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 4)
        return -1;
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / clk_tck;
}

static double self_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* May a thread of this process spin now?  Cheap: a load of the last
   decision, re-taken every GC_LOAD_WINDOW by one thread (no GIL needed). */
static int cpu_free_for_spin(double now) {
    int64_t now_ns = (int64_t)(now * 1e9);
    if (now_ns - __atomic_load_n(&sample_ns, __ATOMIC_RELAXED) < (int64_t)(GC_LOAD_WINDOW * 1e9) ||
        __atomic_exchange_n(&sampling, 1, __ATOMIC_ACQUIRE))
        return __atomic_load_n(&spin_ok, __ATOMIC_RELAXED);
    double busy = system_busy(), self = self_cpu();
    double dt = (now_ns - sample_ns) * 1e-9;
    if (busy >= 0 && sample_busy > 0 && dt > 0 && dt < 10 * GC_LOAD_WINDOW) {
        double others = ((busy - sample_busy) - (self - sample_self)) / dt;
        double left = (double)ncpu - others;   /* CPUs other processes leave us */
        int ok = left >= 1.5 || left < 0.5;
#ifdef Py_GIL_DISABLED
        int64_t spent = __atomic_load_n(&spent_ns, __ATOMIC_RELAXED);
        double own = ((self - sample_self) - (spent - sample_spent) * 1e-9) / dt;
        ok = left < 0.5 ? own < 1.0 : left - own >= 0.5;
        sample_spent = spent;
#else
        double own = (self - sample_self) / dt;
#endif
        __atomic_store_n(&others_milli, (int64_t)(others * 1000), __ATOMIC_RELAXED);
        __atomic_store_n(&own_milli, (int64_t)(own * 1000), __ATOMIC_RELAXED);
        __atomic_store_n(&spin_ok, ok, __ATOMIC_RELAXED);
    }
#ifdef Py_GIL_DISABLED
    else
        sample_spent = __atomic_load_n(&spent_ns, __ATOMIC_RELAXED);
#endif
    sample_busy = busy;
    sample_self = self;
    __atomic_store_n(&sample_ns, now_ns, __ATOMIC_RELAXED);
    __atomic_store_n(&sampling, 0, __ATOMIC_RELEASE);
    return __atomic_load_n(&spin_ok, __ATOMIC_RELAXED);
}
static int spinners;          /* threads in spin_wait now (atomic) */
static int hint_spinners;     /* threads in wait_gil_hint now (atomic) */

/* Test hook: (may spin now, CPUs other processes used in the last
   sample, CPUs this process used then other than for spinning), sampling
   first if the last sample is old. */
PyObject *gc_spin_state(PyObject *mod, PyObject *unused) {
    int ok = cpu_free_for_spin(gc_now());
    return Py_BuildValue("(Odd)", ok ? Py_True : Py_False,
                         __atomic_load_n(&others_milli, __ATOMIC_RELAXED) / 1000.0,
                         __atomic_load_n(&own_milli, __ATOMIC_RELAXED) / 1000.0);
}

#ifdef Py_GIL_DISABLED
static int64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
#endif

/* Spins without the GIL while *word == value, until `end`, if one of the
   max_spinners places counted in *slots is free.  Returns 1 if *word
   changed. */
static int spin_while(const uint32_t *word, uint32_t value, double end, int *slots) {
    if (__atomic_load_n(&gc_parked_threads, __ATOMIC_RELAXED) > GC_SPIN_MAX_PARKED)
        return 0;   /* a long pipeline: the partner is unlikely to answer soon */
    if (!cpu_free_for_spin(gc_now()))
        return 0;   /* no CPU for the partner while this one spins */
    if (__atomic_add_fetch(slots, 1, __ATOMIC_RELAXED) > max_spinners) {
        __atomic_sub_fetch(slots, 1, __ATOMIC_RELAXED);
        return 0;
    }
    int changed = 0;
#ifdef Py_GIL_DISABLED
    double start = gc_now();   /* wall time: a spinner rarely loses its CPU */
#endif
    for (unsigned i = 1;; i++) {
        if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != value) {
            changed = 1;
            break;
        }
        gc_cpu_relax();
        if ((i & 31) == 0 && gc_now() > end)
            break;
    }
    __atomic_sub_fetch(slots, 1, __ATOMIC_RELAXED);
#ifdef Py_GIL_DISABLED
    __atomic_add_fetch(&spent_ns, (int64_t)((gc_now() - start) * 1e9), __ATOMIC_RELAXED);
#endif
    return changed;
}

static __thread int spin_credit = 4;   /* recent spins that paid off (0..16) */
static __thread unsigned spin_skips;

/* Before sleeping, wait a few microseconds with the CPU: a partner on
   another CPU often answers within that time, and then neither side pays
   for a futex sleep and wake-up.  Only while spinning pays off for this
   thread (a ping-pong partner); otherwise it probes again once in 32
   parks.  Returns 1 if woken. */
/* Waits like spin_while, but gives the CPU away at every turn: with no
   CPU to spare, a turn costs nothing if nobody else wants this CPU, and
   hands it to whoever does -- possibly the partner this thread waits for.
   Returns 1 if *word changed. */
static int yield_while(const uint32_t *word, uint32_t value, double end) {
#ifdef Py_GIL_DISABLED
    /* CPU time, not wall time: while others run, this thread uses none */
    int64_t start = thread_cpu_ns();
#endif
    int changed;
    for (;;) {
        if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != value) {
            changed = 1;
            break;
        }
        if (gc_now() > end) {
            changed = 0;
            break;
        }
        sched_yield();
    }
#ifdef Py_GIL_DISABLED
    __atomic_add_fetch(&spent_ns, thread_cpu_ns() - start, __ATOMIC_RELAXED);
#endif
    return changed;
}

static int spin_wait(gc_parker *p, double until) {
    if (spin_credit == 0 && (++spin_skips & 31) != 0)
        return 0;
    double now = gc_now(), end = now + GC_SPIN;
    if (until >= 0 && until < end)
        end = until;
    int woken;
    if (__atomic_load_n(&gc_parked_threads, __ATOMIC_RELAXED) <= GC_SPIN_MAX_PARKED &&
        !cpu_free_for_spin(now))
        woken = yield_while(&p->futex, 0, end);
    else
        woken = spin_while(&p->futex, 0, end, &spinners);
    if (woken)
        spin_credit = spin_credit < 16 ? spin_credit + 1 : 16;
    else
        spin_credit /= 2;
    return woken;
}

/* After a wake-up by a thread that holds the GIL (p->gil_hint is the hint
   it saw), wait a few microseconds for that thread, or another gochan
   thread, to park and so release the GIL, before asking for the GIL: asking
   while it is held puts this thread to sleep in CPython's take_gil, and
   the second sleep and wake-up cost as much as the first.  Not after
   close() or a timer woke the thread. */
static void wait_gil_hint(gc_parker *p) {
#ifdef Py_GIL_DISABLED
    (void)p;   /* no GIL: the woken thread runs at once */
    return;
#endif
    if (p->hint_valid)
        spin_while(&gc_gil_hint, p->gil_hint, gc_now() + GC_HINT_SPIN, &hint_spinners);
}

/* Waits until p->futex is 1 or `until` passes (< 0: no limit), without the
   GIL, spinning first if `spin`.  Returns 1 if woken, 0 on timeout, -1 if a
   signal handler ran. */
static int futex_sleep(gc_parker *p, double until, int spin) {
    if (spin && spin_wait(p, until))
        return 1;
    for (;;) {
        uint32_t v = __atomic_load_n(&p->futex, __ATOMIC_ACQUIRE);
        if (v == 1)
            return 1;
        if (v == 0) {
            uint32_t expected = 0;
            if (!__atomic_compare_exchange_n(&p->futex, &expected, 2, 0,
                                             __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                continue;   /* woken meanwhile */
        }
        struct timespec ts, *tsp = NULL;
        if (until >= 0) {
            double left = until - gc_now();
            if (left <= 0)
                return 0;
            ts.tv_sec = (time_t)left;
            ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
            tsp = &ts;
        }
        if (futex(&p->futex, FUTEX_WAIT_PRIVATE, 2, tsp) == -1 && errno == EINTR)
            if (__atomic_load_n(&p->futex, __ATOMIC_ACQUIRE) != 1)
                return -1;
    }
}

/* Takes the waiters that are still queued off their queues; with or
   without the GIL.  sudog.queued only ever goes from 1 to 0 while the
   operation is parked (under the channel lock), so a 0 read without the
   lock is final; it is read with acquire, pairing with gc_waitq_unlink's
   release, so the unlinking thread's stores to the sudog happen before
   this thread reuses its memory. */
static void unqueue_all(gc_sudog *sg, int n) {
    for (int i = 0; i < n; i++) {
        gc_chan *c = sg[i].c;
        if (!__atomic_load_n(&sg[i].queued, __ATOMIC_ACQUIRE))
            continue;
        gc_lock_acquire(&c->lock);
        if (sg[i].queued)
            gc_waitq_unlink(sg[i].elem ? &c->sendq : &c->recvq, &sg[i]);
        gc_lock_release(&c->lock);
    }
}

/* The owner of a parker that is not this thread wakes it soon; wait for
   that (no GIL needed: the owner never needs the GIL to finish). */
static void wait_for_owner_nogil(gc_parker *p) {
    while (__atomic_load_n(&p->futex, __ATOMIC_ACQUIRE) != 1)
        futex_sleep(p, -1, 0);
}

/* Joins the list of parked operations; GIL held. */
static void list_parked(gc_parker *p, gc_sudog *sg, int n, double deadline, unsigned long ident) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    p->since = (double)ts.tv_sec + ts.tv_nsec * 1e-9;
    p->deadline = deadline;
    p->ident = ident;
    p->sg = sg;
    p->nsg = n;
    p->pprev = NULL;
    gc_lock_acquire(&list_lock);
    p->pnext = parked;
    if (parked)
        parked->pprev = p;
    parked = p;
    gc_park_seq++;
    __atomic_add_fetch(&gc_parked_threads, 1, __ATOMIC_RELAXED);
    gc_lock_release(&list_lock);
}

/* Leaves it; with or without the GIL. */
static void unlist_parked(gc_parker *p) {
    gc_lock_acquire(&list_lock);
    if (p->pprev)
        p->pprev->pnext = p->pnext;
    else
        parked = p->pnext;
    if (p->pnext)
        p->pnext->pprev = p->pprev;
    __atomic_sub_fetch(&gc_parked_threads, 1, __ATOMIC_RELAXED);
    gc_lock_release(&list_lock);
}

/* Takes every trace of p off the shared structures: the waiters still
   queued (the losing cases of a select, or all of them after a timeout)
   and p's entry in the list of parked operations.  Called WITHOUT the GIL,
   before the thread asks for the GIL again: at interpreter exit, asking for
   the GIL ends a daemon thread inside take_gil, its stack is freed, and
   anything still linked to it would be read by the next walker of that
   queue (see "Exit" in gochan.h). */
static void retire(gc_parker *p, gc_sudog *sg, int n) {
    pthread_rwlock_rdlock(&fork_rw);
    unqueue_all(sg, n);
    unlist_parked(p);
    pthread_rwlock_unlock(&fork_rw);
}

static int park(gc_parker *p, gc_sudog *sg, int n, double deadline, int is_main);

gc_parker *gc_parked_head(void) { return parked; }
void gc_parked_lock(void) { gc_lock_acquire(&list_lock); }
void gc_parked_unlock(void) { gc_lock_release(&list_lock); }

int gc_park(gc_parker *p, gc_sudog *sg, int n, double deadline) {
    unsigned long ident = PyThread_get_thread_ident();
    list_parked(p, sg, n, deadline, ident);
    /* park() retires p (off every queue and the list) on every way out */
    int r;
    if (__builtin_expect(gc_bubble_cur != NULL, 0)) {
        /* a bubble's goroutine (never the main thread): its deadline is on
           the bubble's clock, which bubble.c expires */
        gc_bubble_block(p, sg, n);
        r = park(p, sg, n, -1, 0);
        gc_bubble_unblock(p);
    } else {
        r = park(p, sg, n, deadline, ident == main_ident);
    }
    if (__builtin_expect(p->fired < GC_FIRED_NONE, 0) && r == GC_PARK_WOKEN) {
        /* ended by a bubble (timeout) or a deadlock detector, not a partner */
        if (p->fired == GC_FIRED_TIMEOUT) {
            r = GC_PARK_TIMEOUT;
        } else {
            PyErr_SetString(gc_Deadlock, "deadlock: every goroutine of the bubble is durably blocked");
            r = GC_PARK_ERROR;
        }
    }
    return r;
}

/* Is there a waiter in q that is not p's and that a partner could claim? */
static int has_live(gc_waitq *q, gc_parker *p) {
    for (gc_sudog *s = q->first; s; s = s->next)
        if (s->p != p && __atomic_load_n(&s->p->done, __ATOMIC_ACQUIRE) == GC_FREE)
            return 1;
    return 0;
}

/* Could the case waiting in s proceed now?  s->c locked. */
static int case_ready(gc_sudog *s) {
    gc_chan *c = s->c;
    if (c->closed)
        return 1;
    if (s->elem == NULL) {
        if (c->kind == GC_KIND_TIMER)
            return gc_timer_take_locked(c->timer, NULL, 0);
        return c->count > 0 || has_live(&c->sendq, s->p);
    }
    return c->count < c->cap || has_live(&c->recvq, s->p);
}

/* Ends a pause (p->done == GC_PAUSED, owned by this thread).  While p was
   paused, partners passed it by, so one may have parked or buffered a
   value that p should have taken: with every channel of p locked, either
   nothing is ready and p becomes claimable again, keeping its place in the
   queues (returns 1), or p is claimed by this thread (returns 0: the
   caller takes its waiters off the queues and starts over). */
static int resume(gc_parker *p, gc_sudog *sg, int n) {
    gc_chan *stack[16], **order = n <= 16 ? stack : malloc(n * sizeof(gc_chan *));
    int ready = 0;
    if (!order) {        /* no memory to sort: give up the place instead */
        __atomic_store_n(&p->done, GC_CLAIMED, __ATOMIC_RELEASE);
        return 0;
    }
    for (int i = 0; i < n; i++)
        order[i] = sg[i].c;
    int m = gc_lock_order(order, n);
    gc_lock_all(order, m);
    for (int i = 0; i < n && !ready; i++)
        ready = case_ready(&sg[i]);
    __atomic_store_n(&p->done, ready ? GC_CLAIMED : GC_FREE, __ATOMIC_RELEASE);
    gc_unlock_all(order, m);
    if (order != stack)
        free(order);
    return !ready;
}


static int park(gc_parker *p, gc_sudog *sg, int n, double deadline, int is_main) {
    enum { SIGNALED = -1, SLICE = 0, WOKEN = 1, TIMED_OUT = 2 };
    for (int first = 1;; first = 0) {
        double until = deadline;
        if (is_main) {
            double slice = gc_now() + GC_MAIN_SLICE;
            if (until < 0 || slice < until)
                until = slice;
        }
        int r;
        __atomic_add_fetch(&gc_gil_hint, 1, __ATOMIC_RELAXED);
        Py_BEGIN_ALLOW_THREADS
        r = futex_sleep(p, until, first);
        if (r == WOKEN) {
            wait_gil_hint(p);
        } else if (deadline >= 0 && gc_now() >= deadline) {
            if (gc_claim(p)) {
                r = TIMED_OUT;
            } else {
                wait_for_owner_nogil(p);   /* completed as the deadline passed */
                r = WOKEN;
            }
        }
        if (r == WOKEN || r == TIMED_OUT)
            retire(p, sg, n);              /* before asking for the GIL */
        Py_END_ALLOW_THREADS
        if (r == WOKEN)
            return GC_PARK_WOKEN;
        if (r == TIMED_OUT)
            return GC_PARK_TIMEOUT;
        if (!is_main)
            continue;              /* a signal on a thread that runs no handler */
        /* A signal may be pending: pause, run the handlers, resume.  Only the
           main thread gets here, and the interpreter never ends the main
           thread in take_gil, so it may hold on to its waiters across the
           GIL (they keep their place in the queues). */
        int free_ = GC_FREE;
        if (!__atomic_compare_exchange_n(&p->done, &free_, GC_PAUSED, 0,
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            Py_BEGIN_ALLOW_THREADS
            wait_for_owner_nogil(p);
            retire(p, sg, n);
            Py_END_ALLOW_THREADS
            return GC_PARK_WOKEN;
        }
        if (PyErr_CheckSignals() < 0) {
            __atomic_store_n(&p->done, GC_CLAIMED, __ATOMIC_RELEASE);
            retire(p, sg, n);
            return GC_PARK_ERROR;
        }
        if (!resume(p, sg, n)) {
            retire(p, sg, n);
            return GC_PARK_RETRY;
        }
        if (deadline < 0 && gc_deadlock_main(p)) {   /* every thread asleep */
            retire(p, sg, n);
            return GC_PARK_ERROR;
        }
    }
}

/* In a forked child (from pthread_atfork: only C memory is touched), take
   the waiters of every thread that did not survive the fork off their
   queues.  Their stacks stay mapped until the purge is done. */
void gc_park_after_fork_child(void) {
    gc_parker *keep = NULL, *next;
    long nkeep = 0;
    for (gc_parker *p = parked; p; p = next) {
        next = p->pnext;
        if (p->done == GC_PAUSED) {
            /* the forking thread's own, paused in a signal handler: it
               lives on in the child and stays listed */
            p->pprev = NULL;
            p->pnext = keep;
            if (keep)
                keep->pprev = p;
            keep = p;
            nkeep++;
            continue;
        }
        for (int i = 0; i < p->nsg; i++) {
            gc_chan *c = p->sg[i].c;
            gc_lock_init(&c->lock);       /* nobody holds it: see gochan.h */
            if (p->sg[i].queued)
                gc_waitq_unlink(p->sg[i].elem ? &c->sendq : &c->recvq, &p->sg[i]);
        }
    }
    parked = keep;
    gc_parked_threads = nkeep;
    gc_lock_init(&list_lock);
    main_ident = PyThread_get_thread_ident();
}

/* fork() with fork_rw held for writing: no thread is half-way through
   retiring an operation (see retire()). */
static void atfork_prepare(void) { pthread_rwlock_wrlock(&fork_rw); }
static void atfork_parent(void) { pthread_rwlock_unlock(&fork_rw); }
static void init_fork_rw(void) {
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    /* a steady stream of retiring threads must not starve fork() */
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&fork_rw, &a);
    pthread_rwlockattr_destroy(&a);
}
static void atfork_child(void) { init_fork_rw(); }

/* Called once at module init, from the thread that imports gochan; the main
   thread is looked up through the threading module. */
int gc_park_init(void) {
    init_fork_rw();
    gc_lock_init(&list_lock);
    if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "gochan: pthread_atfork failed");
        return -1;
    }
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    clk_tck = (double)sysconf(_SC_CLK_TCK);
    if (clk_tck <= 0)
        clk_tck = 100;
    max_spinners = ncpu > 1 ? (int)(ncpu - 1) : 0;
    PyObject *threading = PyImport_ImportModule("threading");
    if (!threading)
        return -1;
    PyObject *mt = PyObject_CallMethod(threading, "main_thread", NULL);
    Py_DECREF(threading);
    if (!mt)
        return -1;
    PyObject *ident = PyObject_GetAttrString(mt, "ident");
    Py_DECREF(mt);
    if (!ident)
        return -1;
    main_ident = PyLong_AsUnsignedLong(ident);
    Py_DECREF(ident);
    return PyErr_Occurred() ? -1 : 0;
}
