/* gochan.h: the shared structures and invariants of gochan's C core.
 *
 * The core is Go's channel algorithm (runtime/chan.go, runtime/select.go)
 * for threaded CPython.  It is compiled by cffi (gochan/_build.py) into the
 * extension gochan._gochan_cffi, but the hot paths are native CPython entry
 * points (module gochan._native, registered by gochan_native_init()), because
 * every cffi call releases and retakes the GIL.
 *
 * Files: park.c (waiting and waking a thread), chan.c (the Chan type: send,
 * recv, close), select.c (select), timer.c (the timer heap and its thread),
 * bubble.c (gochan.testing's bubbles on virtual time, and the deadlock
 * detectors), module.c (the _native module), sigrelay.c (OS signal relay).
 *
 * ---------------------------------------------------------------------------
 * Invariants
 *
 *  Channel lock (gc_chan.lock, a spinlock):
 *   - protects every field of gc_chan below it, the timer's value slot, and
 *     the queue links of every gc_sudog queued on the channel;
 *   - is taken by a thread that holds the GIL, by the timer thread while it
 *     holds the timer heap lock (lock order: heap lock, then channel locks;
 *     several channel locks are taken in increasing address order), or by
 *     a parked thread retiring its own waiters without the GIL (one channel
 *     lock at a time, see "Exit");
 *   - is never held while taking the GIL, while calling Python code, or while
 *     decrementing a reference count that could reach zero (a destructor
 *     could run Python code that uses the same channel).  Objects are only
 *     moved under the lock; references that must be dropped are dropped after
 *     unlocking.
 *
 *  Channel state (Go's, with "waiting" meaning claimable waiters):
 *   - at least one of sendq and recvq has no live waiter;
 *   - count > 0 implies recvq has no live waiter;
 *   - count < cap implies sendq has no live waiter;
 *   - a closed channel has no live sender waiting (close wakes them all).
 *   Queues may hold stale entries (a waiter already claimed through another
 *   channel of its select, or a waiter of a thread that did not survive a
 *   fork); whoever meets one while dequeuing drops it.
 *
 *  Waiters (gc_parker, one per blocking operation, and gc_sudog, one per
 *  channel case it waits on) live on the blocked thread's C stack.
 *   - A parker is completed exactly once: whoever moves parker.done from
 *     GC_FREE to GC_CLAIMED (CAS) owns it — a partner that completes the
 *     operation, close(), the timer thread, or the waiting thread itself when
 *     it gives up (timeout, KeyboardInterrupt).  Only the owner writes the
 *     result fields.
 *   - Only the waiting thread, holding the GIL, moves its own parker from
 *     GC_FREE to GC_PAUSED (to run signal handlers, see park.c) and back.  A
 *     paused waiter stays in its queues, in its place; partners and close()
 *     pass it by without dequeuing it.
 *   - A waker that claimed a parker writes the result, drops the channel
 *     lock, and only then wakes the thread (gc_wake).  After gc_wake the
 *     parker and its sudogs may vanish: nothing touches them again.
 *   - A thread whose own claim fails knows a waker owns it and waits for the
 *     wake, which is imminent (wakers never block between claim and wake).
 *   - The value a parked sender offers (sudog.elem) is borrowed: the sender's
 *     own call holds a reference until it returns.  parker.value is always
 *     an owned reference, handed to the woken thread.
 *
 *  GIL: every entry point runs with the GIL held (an attached thread
 *  state, on free-threaded CPython); the GIL is released (the thread
 *  detached) only inside gc_park() and around cffi calls.  The timer
 *  thread never holds it.
 *
 *  Free-threaded CPython (Py_GIL_DISABLED): no invariant above rests on
 *  the GIL's mutual exclusion; each piece of shared state has its own
 *  lock, so the same rules hold with any number of threads on any number
 *  of CPUs.  What the GIL used to serialise, and what protects it now:
 *   - a channel's fields, ring buffer and the objects in it, and its wait
 *     queues: the channel lock, which there parks a thread that cannot get
 *     it soon (a futex mutex, not a spinlock; see gc_lock below);
 *   - the list of parked operations and its count: list_lock (park.c);
 *   - the timer heap and its fields: heap_mu, taken before channel locks,
 *     as with the GIL; a timer's slot and fast-ticker fields: its channel
 *     lock;
 *   - reference counts: CPython's own atomic ones; the rule that nothing
 *     is decremented to zero under a channel lock stays, since a
 *     destructor may run code that takes that lock;
 *   - a parker's claim, pause and wake: atomics, as before;
 *   - the GIL hint that a woken thread waits on (park.c): not used, there
 *     is no GIL to wait for;
 *   - the spin decision (park.c, "Spinning"): this process's own threads
 *     compete for CPUs too, so its CPU use other than spinning (spent_ns,
 *     atomic) counts against the CPU a spinner needs;
 *   - fork: CPython stops the world before fork() (every attached thread
 *     is at a safe point, so outside gochan's critical sections), and
 *     gochan's atfork handlers take heap_mu and fork_rw as with the GIL;
 *   - the GC: stops the world too; chan_traverse reads a buffer under its
 *     channel lock, as with the GIL, because the timer thread and detached
 *     threads keep running;
 *   - the Python faces (gochan.signal's registry, the after_func
 *     dispatcher, WaitGroup, Group, gochan.context) use threading locks;
 *   - gochan.testing's bubbles (counters, clock, timer lists, the waiter
 *     of testing.wait) and their timers' bubble fields (when, period,
 *     bidx, token): one process-wide bubble lock (gc_bubble_lock), a
 *     PyMutex that detaches while it waits (a stop-the-world never waits
 *     for a thread blocked on it) and is recursive in its owner (a state
 *     change can end parkers, whose wake marks them running again).
 *     Order: heap_mu, then the bubble lock, then channel locks.  Two races
 *     the GIL excluded are handled where they happen: a partner can claim
 *     a bubble goroutine's parker before gc_bubble_block counted it
 *     blocked (its wake then sees no bubble and does not count it
 *     running), so idle() acts only once every counted goroutine is a
 *     listed, unclaimed, durably blocked parker, and gc_bubble_unblock
 *     repairs the count; the process-wide detector counts thread states
 *     through sys._current_frames (CPython's own locking) and accepts a
 *     deadlock only if the list of parked operations did not change
 *     across that count (gc_park_seq).
 *  The modules declare Py_MOD_GIL_NOT_USED.
 *
 *  Parked threads: every parker inside gc_park() is on a list of parked
 *  operations, protected by its own spinlock (list_lock, park.c).  A thread
 *  queues its waiters and joins the list with the GIL held, before it
 *  releases the GIL.
 *
 *  Exit (why waiters are retired without the GIL): once the interpreter
 *  is finalizing, a daemon thread that asks for the GIL ends inside
 *  take_gil and its stack (where its parker and sudogs live) is freed.  So
 *  a thread never asks for the GIL while anything of its operation is
 *  reachable: before Py_END_ALLOW_THREADS, gc_park takes every waiter that
 *  is still queued off its queue and leaves the list of parked operations
 *  (retire(), park.c).  From then on only its own thread knows the
 *  parker; if that thread ends in take_gil, nothing points to its stack.
 *  The one exception is the main thread, which pauses to run signal
 *  handlers with its waiters queued: the interpreter never ends the main
 *  thread in take_gil.  A thread that is still asleep in gc_park at exit
 *  keeps its stack until the process ends, so wakers (the timer thread,
 *  a __del__ that closes a channel) may still complete it.
 *
 *  fork(): the forking thread holds the GIL, the timer heap lock and
 *  (pthread_atfork) fork_rw for writing, which every retire() holds for
 *  reading; so no channel lock is held, no waiter is half-queued and the
 *  list is consistent.  In the child, every parker on the list belongs to
 *  a thread that does not exist there: its waiters are taken off their
 *  queues at once (their operations never complete in the child) and the
 *  list is emptied.
 * --------------------------------------------------------------------------- */
#ifndef GOCHAN_H
#define GOCHAN_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#if defined(__x86_64__) || defined(__i386__)
#define gc_cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__) || defined(__arm__)
#define gc_cpu_relax() __asm__ __volatile__("yield")
#else
#define gc_cpu_relax() ((void)0)
#endif

/* ---- the channel lock -----------------------------------------------------
 * With the GIL: a spinlock.  Few threads ever contend for a channel lock
 * (the GIL holder, the timer thread, threads retiring their own waiters),
 * critical sections are a few dozen instructions, and a holder that the OS
 * preempted is waited for with sched_yield (park.c).
 * Free-threaded CPython: any number of threads on several CPUs contend for
 * one channel, so the lock parks under real contention: a futex mutex
 * (0 free, 1 locked, 2 locked and a thread may sleep on it) that spins
 * briefly before it sleeps.  Its release is an atomic exchange instead of
 * a store, which is why the GIL build keeps the spinlock. */
#ifdef Py_GIL_DISABLED
typedef struct { uint32_t v; } gc_lock;
void gc_lock_slow(gc_lock *l);
void gc_unlock_slow(gc_lock *l);
static inline void gc_lock_init(gc_lock *l) { l->v = 0; }
static inline void gc_lock_acquire(gc_lock *l) {
    uint32_t free_ = 0;
    if (__builtin_expect(!__atomic_compare_exchange_n(&l->v, &free_, 1, 0, __ATOMIC_ACQUIRE,
                                                      __ATOMIC_RELAXED), 0))
        gc_lock_slow(l);
}
static inline void gc_lock_release(gc_lock *l) {
    if (__builtin_expect(__atomic_exchange_n(&l->v, 0, __ATOMIC_RELEASE) == 2, 0))
        gc_unlock_slow(l);
}
#else
typedef struct { int v; } gc_lock;
void gc_lock_slow(gc_lock *l);
static inline void gc_lock_init(gc_lock *l) { l->v = 0; }
static inline void gc_lock_acquire(gc_lock *l) {
    if (__builtin_expect(__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE), 0))
        gc_lock_slow(l);
}
static inline void gc_lock_release(gc_lock *l) {
    __atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}
#endif

/* ---- portability (CPython 3.10+, public API only) ------------------------ */
/* 1 if the str s equals the ASCII string a. */
static inline int gc_is_str(PyObject *s, const char *a) {
    return PyUnicode_Check(s) && PyUnicode_CompareWithASCIIString(s, a) == 0;
}
/* The sign of an int too large for a C long (-1, 0 or 1). */
static inline int gc_long_sign(PyObject *o) {
    int overflow;
    long v = PyLong_AsLongAndOverflow(o, &overflow);
    if (overflow)
        return overflow;
    PyErr_Clear();
    return (v > 0) - (v < 0);
}

/* ---- waiters ------------------------------------------------------------ */
enum { GC_RES_OK = 0, GC_RES_CLOSED = 1 };
enum { GC_FREE = 0, GC_CLAIMED = 1, GC_PAUSED = 2 };   /* gc_parker.done */

typedef struct gc_parker {
    uint32_t futex;       /* 0 armed, 1 woken, 2 asleep in futex_wait */
    int done;             /* GC_FREE, GC_CLAIMED or GC_PAUSED (see invariants) */
    int fired;            /* case index that completed (set by the owner) */
    int result;           /* GC_RES_OK, or GC_RES_CLOSED (recv !ok / send raises) */
    PyObject *value;      /* received value, owned; NULL for a timer value or zero */
    double tval;          /* timer fire time, when has_tval */
    int has_tval;
    struct gc_parker *pnext, *pprev;   /* list of parked operations (list_lock) */
    struct gc_sudog *sg;  /* its waiters, for the fork purge */
    uint32_t gil_hint;    /* gc_gil_hint seen by a waker holding the GIL */
    int hint_valid;       /* 0: woken by the timer thread */
    int nsg;
    int op;               /* GC_OP_*: what it waits for (dump, messages) */
    struct gc_bubble *bubble;  /* a bubble goroutine's parker, while parked; else NULL */
    int durable;          /* durably blocked in that bubble (bubble lock; read atomically) */
    double deadline;      /* as given to gc_park (a bubble's clock inside one); < 0: none */
    double since;         /* when it parked (coarse monotonic seconds) */
    unsigned long ident;  /* the parked thread */
} gc_parker;

/* gc_parker.op */
enum { GC_OP_RECV = 0, GC_OP_SEND = 1, GC_OP_SELECT = 2, GC_OP_SLEEP = 3, GC_OP_WAIT = 4 };
/* gc_parker.fired when no case completed: a bubble expired its timeout, or a
   deadlock detector ended it (gc_park then returns TIMEOUT / ERROR). */
enum { GC_FIRED_NONE = -1, GC_FIRED_TIMEOUT = -2, GC_FIRED_DEADLOCK = -3 };

struct gc_chan;
typedef struct gc_sudog {
    struct gc_sudog *next, *prev;  /* queue links, under the channel lock */
    gc_parker *p;                  /* the operation this waiter belongs to */
    struct gc_chan *c;
    PyObject *elem;                /* send: value offered (borrowed); NULL: a receive */
    int caseidx;                   /* index reported in parker.fired */
    int queued;                    /* 1 while linked in a queue; written under
                                      the channel lock, its 0 stored with
                                      release after the unlinker's last store
                                      to the sudog, and read by the owner with
                                      acquire and without the lock (park.c's
                                      unqueue_all), which may then reuse it */
} gc_sudog;

typedef struct { gc_sudog *first, *last; } gc_waitq;

/* ---- channels ----------------------------------------------------------- */
enum { GC_KIND_NORMAL = 0, GC_KIND_NIL = 1, GC_KIND_TIMER = 2 };

struct gc_timer;

typedef struct gc_chan {
    PyObject_HEAD
    gc_lock lock;            /* see invariants */
    uint8_t closed;          /* set once by close() */
    uint8_t kind;            /* GC_KIND_*, fixed at creation */
    Py_ssize_t cap;          /* capacity; 0 = unbuffered */
    Py_ssize_t count;        /* values buffered */
    Py_ssize_t head;         /* ring index of the oldest value */
    Py_ssize_t size;         /* ring allocation (power of two, or 0) */
    PyObject **ring;         /* owned references; grows and shrinks with count */
    gc_waitq recvq;          /* parked receivers */
    gc_waitq sendq;          /* parked senders */
    PyObject *zero;          /* value of a receive on a closed drained channel */
    PyObject *weakreflist;
    struct gc_timer *timer;  /* GC_KIND_TIMER only */
    struct gc_bubble *bubble;  /* owned: the bubble it was made in, or NULL */
} gc_chan;

extern PyTypeObject GcChan_Type;
#define GcChan_Check(o) (Py_TYPE(o) == &GcChan_Type)

extern PyObject *gc_ClosedChannelError;
extern PyObject *gc_default;       /* the `default` select marker */
extern gc_chan *gc_nilchan;

/* ---- park.c -------------------------------------------------------------- */
enum { GC_PARK_WOKEN = 0, GC_PARK_TIMEOUT = 1, GC_PARK_ERROR = 2, GC_PARK_RETRY = 3 };

static inline void gc_parker_init(gc_parker *p) {
    p->futex = 0; p->done = 0; p->fired = -1; p->result = GC_RES_OK;
    p->value = NULL; p->tval = 0; p->has_tval = 0;
    p->op = GC_OP_RECV; p->bubble = NULL;
}
/* Claim p for completion; returns 1 if the caller now owns it. */
static inline int gc_claim(gc_parker *p) {
    int free_ = GC_FREE;
    return __atomic_compare_exchange_n(&p->done, &free_, GC_CLAIMED, 0,
                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
void gc_wake(gc_parker *p);          /* by a thread that holds the GIL */
void gc_wake_nogil(gc_parker *p);    /* by the timer thread */
/* Waits for p to be completed.  GIL held on entry and exit; the caller has
   queued p's n sudogs and holds no channel lock.  deadline: absolute
   monotonic seconds, or < 0 for none.  Unless it returns GC_PARK_WOKEN, the
   waiter has been taken back off every queue: TIMEOUT (deadline passed),
   ERROR (a signal handler raised; exception set), RETRY (a signal handler
   ran and raised nothing: the caller starts its operation again). */
int gc_park(gc_parker *p, gc_sudog *sg, int n, double deadline);
double gc_now(void);              /* CLOCK_MONOTONIC seconds */
/* Parses a timeout argument: None -> -1 (none); else absolute deadline.
   Sets *nonblock for timeout <= 0.  Returns -1 with an exception set. */
int gc_parse_timeout(PyObject *o, double *deadline, int *nonblock);
extern long gc_parked_threads;
/* The list of parked operations: walk it only between gc_parked_lock() and
   gc_parked_unlock() (a spinlock: no Python code, no allocation of Python
   objects, nothing that could park, in between).  With the GIL held, no
   operation joins it (without the GIL any may: gc_park_seq tells); any
   may leave it (retire()), except a bubble's durably blocked ones, which
   wait for a holder of the bubble lock (the GIL, with one) to wake them. */
gc_parker *gc_parked_head(void);
void gc_parked_lock(void);
void gc_parked_unlock(void);
/* Bumped (under list_lock) each time an operation joins the list. */
extern unsigned long gc_park_seq;
PyObject *gc_spin_state(PyObject *mod, PyObject *unused);   /* test hook */
void gc_park_after_fork_child(void);   /* purges the waiters of lost threads */
int gc_park_init(void);

/* ---- queue helpers (chan.c) ---------------------------------------------- */
void gc_waitq_push(gc_waitq *q, gc_sudog *s);
void gc_waitq_unlink(gc_waitq *q, gc_sudog *s);
/* Dequeues and claims the first claimable waiter, dropping stale ones and
   passing paused ones by; c locked. */
gc_sudog *gc_waitq_take(gc_waitq *q);

/* Sorts chans by address and drops duplicates (the order in which several
   channels are locked); returns how many are left. */
int gc_lock_order_slow(gc_chan **chans, int n);   /* n > 2 */
static inline int gc_lock_order(gc_chan **chans, int n) {
    if (n > 2)
        return gc_lock_order_slow(chans, n);
    if (n == 2) {    /* select's most common shape, inline */
        gc_chan *a = chans[0], *b = chans[1];
        if (a == b)
            return 1;
        if ((uintptr_t)a > (uintptr_t)b) {
            chans[0] = b;
            chans[1] = a;
        }
    }
    return n;
}
static inline void gc_lock_all(gc_chan **chans, int m) {     /* in that order */
    for (int k = 0; k < m; k++)
        gc_lock_acquire(&chans[k]->lock);
}
static inline void gc_unlock_all(gc_chan **chans, int m) {
    for (int k = m - 1; k >= 0; k--)
        gc_lock_release(&chans[k]->lock);
}

/* Non-blocking halves of send and recv; c locked (see chan.c). */
int gc_chan_trysend_locked(gc_chan *c, PyObject *owned, gc_parker **wake);
int gc_chan_tryrecv_locked(gc_chan *c, gc_parker *res, gc_parker **wake);
/* The received value recorded in res (a completed parker, or the result
   record of a tryrecv): owned reference, or NULL with an exception set. */
PyObject *gc_take_result(gc_chan *c, gc_parker *res);
PyObject *gc_closed_error(const char *msg);
/* TimeoutError naming the operation and its channels ("recv on <Chan ...>
   timed out after 5 s"); returns NULL. */
PyObject *gc_timeout_error(int op, gc_chan *const *chans, int n, PyObject *timeout);

/* ---- select.c ------------------------------------------------------------ */
PyObject *gc_select(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                    PyObject *kwnames);
extern PyMethodDef gc_chan_methods[];
PyObject *gc_chan_recv_m(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
PyObject *gc_chan_recv_ok_m(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
PyObject *gc_chan_send_m(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
uint64_t gc_rand(void);

/* ---- timer.c ------------------------------------------------------------- */
enum { GC_TIMER_ONESHOT = 0, GC_TIMER_TICKER = 1, GC_TIMER_FUNC = 2 };

typedef struct gc_timer {
    gc_chan *c;            /* the timer's channel (owns this struct) */
    int kind;              /* GC_TIMER_*, fixed */
    double when;           /* absolute deadline; heap key (heap lock) */
    double period;         /* ticker period, > 0 (heap lock) */
    Py_ssize_t heapidx;    /* index in the heap, -1 if not in it (heap lock) */
    int forever;           /* armed with a deadline too far to represent (heap lock) */
    double idle;           /* ticker nobody receives from: current re-fire gap,
                              0 while ticks are taken (heap lock) */
    int slot_full;         /* a fired value waits for a receiver (chan lock) */
    double slot;           /* that value (chan lock) */
    int fast;              /* armed ticker with period < GC_TICK_FLOOR: a receiver
                              takes a due tick itself (chan lock) */
    double fperiod, last;  /* its period; when its last tick was delivered (chan lock) */
    PyObject *token;       /* GC_TIMER_FUNC: owned (fn, args, chan) while armed;
                              not visited by the GC: it pins an armed after_func */
    PyObject *fn, *fargs;  /* GC_TIMER_FUNC: what to run (visited by the GC) */
    Py_ssize_t bidx;       /* a bubble's timer: index in its list, -1 if not armed (bubble lock) */
} gc_timer;

/* The shortest gap between two firings of one ticker by the timer thread,
   and the longest a ticker nobody receives from backs off to.  A ticker
   with a shorter period still delivers a tick whenever a receiver asks and
   one is due (gc_timer_take_locked), so it is as fast as its receivers. */
#define GC_TICK_FLOOR 20e-6
#define GC_TICK_IDLE_MAX 1e-3
/* A timer channel's receive without blocking: a fired value in the slot,
   or a due tick of a fast ticker.  Returns 1 with *tval set, else 0; c
   locked.  With take == 0 it only tells whether one is there. */
int gc_timer_take_locked(gc_timer *t, double *tval, int take);
PyObject *gc_timer_new(PyObject *mod, PyObject *const *args, Py_ssize_t nargs);
PyObject *gc_timer_stop(PyObject *mod, PyObject *ch);
PyObject *gc_timer_reset(PyObject *mod, PyObject *const *args, Py_ssize_t nargs);
void gc_timer_dealloc(gc_chan *c);    /* GIL held; unlinks and frees c->timer */
int gc_timer_init(PyObject *module);
PyObject *gc_timer_after_fork_child(PyObject *mod, PyObject *unused);
PyObject *gc_timer_pending(PyObject *mod, PyObject *unused);
int gc_timer_fire(gc_timer *t, double now);   /* fire(): see timer.c */
int gc_timers_armed(void);                    /* timers in the heap or the after-func queue */

/* ---- bubble.c ------------------------------------------------------------ */
/* Every field below but events and data: the bubble lock (the GIL with one). */
typedef struct gc_bubble {
    PyObject_HEAD
    long total;            /* goroutines started in it and not yet exited */
    long running;          /* of those, not durably blocked */
    double now;            /* the virtual clock: seconds since the bubble began */
    gc_timer **timers;     /* its armed timers, unordered (t->bidx) */
    Py_ssize_t ntimers, tcap;
    gc_parker *waiter;     /* the goroutine in testing.wait(), or NULL */
    int main_done;         /* the goroutine run() started has returned */
    int deadlocked;        /* a deadlock was declared: 1, or 2 once main_done */
    PyObject *report;      /* list of (ident, what it waited for) of that deadlock */
    gc_chan *events;       /* no bubble's: after_func tokens to start, None when total is 0 */
    PyObject *data;        /* the Python side's state (gochan.testing) */
} gc_bubble;

extern __thread gc_bubble *gc_bubble_cur;  /* the calling thread's bubble, or NULL */
extern PyObject *gc_Deadlock;
double gc_clock(void);                  /* the bubble's clock inside one, else gc_now() */
/* Refuses (RuntimeError, -1) an operation on a bubble's channel c (c->bubble
   != NULL) from a thread outside that bubble. */
int gc_bubble_check(gc_chan *c, const char *what);
void gc_bubble_block(gc_parker *p, gc_sudog *sg, int n);  /* gc_park, before waiting */
void gc_bubble_unblock(gc_parker *p);                     /* gc_park, after */
void gc_bubble_ready(gc_parker *p);     /* wake(): p->bubble != NULL */
/* The main thread, parked with no timeout, found every thread asleep: claims
   p, sets Deadlock and returns 1; else 0.  GIL held. */
int gc_deadlock_main(gc_parker *p);
/* The bubble lock (see "Free-threaded CPython"); no-ops with the GIL,
   which serialises bubbles there. */
#ifdef Py_GIL_DISABLED
void gc_bubble_lock(void);
void gc_bubble_unlock(void);
#else
static inline void gc_bubble_lock(void) {}
static inline void gc_bubble_unlock(void) {}
#endif
int gc_bubble_arm(gc_timer *t, double s);   /* arm() for a bubble's timer */
void gc_bubble_disarm(gc_timer *t);         /* t->bidx >= 0 */
/* "recv on <Chan ...>", "select on <Chan ...>, <Chan ...>", "sleep", ... */
PyObject *gc_op_text(int op, gc_chan *const *chans, int n);
int gc_bubble_init(PyObject *module);

#endif
