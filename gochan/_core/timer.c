/* timer.c: Go 1.23 timers on one C thread and a binary heap.
 *
 * A timer is a Chan of kind GC_KIND_TIMER that owns a gc_timer.  The timer
 * thread never holds the GIL and never creates a Python object: it hands the
 * fire time (a double) to a parked receiver, or leaves it in the timer's
 * one-value slot, where a receiver turns it into a float.  Go 1.23 timer
 * channels are synchronous: a value nobody received has not been delivered,
 * so stop() and reset() clear the slot under the channel lock and count it as
 * "still pending"; len() and cap() of a timer channel are 0.
 *
 * after_func timers (GC_TIMER_FUNC) own a (fn, args, chan) tuple while armed.
 * On firing, the timer thread sends that reference, which it owns, on the
 * after-func queue (an unbounded Chan); a Python thread receives it and
 * starts fn in its own thread.  The owned tuple keeps the timer alive while
 * it is armed, as Go's runtime keeps an AfterFunc.  Other timers are kept
 * alive only by their users: when the Chan is freed it leaves the heap.
 *
 * Locks: heap_mu (a pthread mutex) protects the heap, thread_state and the
 * gc_timer fields marked "heap lock"; it is taken before any channel lock.
 * The timer thread holds heap_mu while it fires a timer, so once a caller
 * holds heap_mu no timer is being fired.  It never holds heap_mu across
 * more than one firing: Python threads wait for heap_mu holding the GIL
 * (arming, stopping, freeing a timer), so a long hold would stall them all.
 * fork() happens with heap_mu held (pthread_atfork), so the child never
 * inherits a half-fired timer.
 *
 * Tiny periods.  A ticker is re-armed at when + period, or now + period if
 * it fell behind (the missed ticks are skipped, as in Go).  For a period
 * below GC_TICK_FLOOR that deadline has passed again by the time the
 * thread looks, so the thread would fire the ticker in a loop.  Instead it
 * re-fires such a ticker at most every GC_TICK_FLOOR, backing off to
 * GC_TICK_IDLE_MAX while nobody takes the ticks, and a receiver takes a due
 * tick itself (gc_timer_take_locked): "fast" tickers deliver as fast as
 * their receivers ask, and one nobody receives from costs ~1000 firings a
 * second.  Tickers with longer periods keep Go's exact schedule.
 */
#include "gochan.h"

#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t heap_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t heap_cv;
static gc_timer **heap;        /* min-heap on when (heap lock) */
static Py_ssize_t heap_len, heap_cap;
static int thread_running;     /* the timer thread exists (heap lock) */
static gc_chan *afq;           /* the after-func queue */

#define NEVER 1e12            /* seconds from now beyond which a timer never fires */

/* ---- heap (heap lock held) ---------------------------------------------- */

static void heap_set(Py_ssize_t i, gc_timer *t) {
    heap[i] = t;
    t->heapidx = i;
}

static void sift_up(Py_ssize_t i) {
    gc_timer *t = heap[i];
    while (i > 0) {
        Py_ssize_t parent = (i - 1) / 2;
        if (heap[parent]->when <= t->when)
            break;
        heap_set(i, heap[parent]);
        i = parent;
    }
    heap_set(i, t);
}

static void sift_down(Py_ssize_t i) {
    gc_timer *t = heap[i];
    for (;;) {
        Py_ssize_t l = 2 * i + 1, m = i;
        double mw = t->when;
        if (l < heap_len && heap[l]->when < mw)
            m = l, mw = heap[l]->when;
        if (l + 1 < heap_len && heap[l + 1]->when < mw)
            m = l + 1;
        if (m == i)
            break;
        heap_set(i, heap[m]);
        i = m;
    }
    heap_set(i, t);
}

static int heap_push(gc_timer *t) {
    if (heap_len == heap_cap) {
        Py_ssize_t ncap = heap_cap ? heap_cap * 2 : 64;
        gc_timer **n = realloc(heap, ncap * sizeof(*heap));
        if (!n)
            return -1;
        heap = n;
        heap_cap = ncap;
    }
    heap_set(heap_len++, t);
    sift_up(t->heapidx);
    return 0;
}

static void heap_remove(gc_timer *t) {
    Py_ssize_t i = t->heapidx;
    t->heapidx = -1;
    heap_len--;
    if (i == heap_len)
        return;
    heap_set(i, heap[heap_len]);
    sift_down(i);
    sift_up(heap[i]->heapidx);
}

/* ---- firing (heap lock held; no GIL needed) ----------------------------- */

/* Fires t at time now: hands the time to a parked receiver or leaves it in
   the slot (a ticker whose slot is full drops this tick); an after-func
   timer sends its token on the after-func queue.  Returns -1 if memory ran
   out (the after-func queue could not grow), 1 if the tick was dropped
   (nobody took the previous one), 2 if it is not due yet (a receiver of a
   fast ticker took a tick itself since; *due: when the next one is), 0
   otherwise. */
static int fire(gc_timer *t, double now, double *due) {
    int dropped = 0;
    gc_parker *wake = NULL;
    if (t->kind == GC_TIMER_FUNC) {
        if (!t->token)
            return 0;
        gc_lock_acquire(&afq->lock);
        int r = gc_chan_trysend_locked(afq, t->token, &wake);
        gc_lock_release(&afq->lock);
        if (r != 1)
            return -1;
        t->token = NULL;     /* the reference now belongs to the queue */
    } else {
        gc_chan *c = t->c;
        gc_lock_acquire(&c->lock);
        if (t->fast && now < t->last + t->fperiod) {
            *due = t->last + t->fperiod;
            gc_lock_release(&c->lock);
            return 2;
        }
        gc_sudog *s = gc_waitq_take(&c->recvq);
        if (s) {
            s->p->tval = now;
            s->p->has_tval = 1;
            s->p->result = GC_RES_OK;
            s->p->fired = s->caseidx;
            wake = s->p;
        } else if (!t->slot_full) {
            t->slot_full = 1;
            t->slot = now;
        } else {
            dropped = 1;
        }
        if (!dropped)
            t->last = now;
        gc_lock_release(&c->lock);
    }
    if (wake)
        gc_wake_nogil(wake);
    return dropped;
}

int gc_timer_take_locked(gc_timer *t, double *tval, int take) {
    if (t->slot_full) {
        if (take) {
            t->slot_full = 0;
            *tval = t->slot;
        }
        return 1;
    }
    if (!t->fast)
        return 0;
    double now = gc_now();
    if (now < t->last + t->fperiod)
        return 0;
    if (take) {
        t->last = now;
        *tval = now;
    }
    return 1;
}

/* The next deadline of ticker t, fired at `now` (dropped: nobody took the
   previous tick).  Heap lock held. */
static double ticker_next(gc_timer *t, double now, int dropped) {
    double next = t->when + t->period;
    if (next <= now)                   /* fell behind: skip the missed ticks */
        next = now + t->period;
    if (t->period < GC_TICK_IDLE_MAX) {
        /* never re-fire in a loop; back off while nobody takes the ticks */
        double gap = GC_TICK_FLOOR;
        if (dropped) {
            t->idle = t->idle > 0 ? t->idle * 2 : GC_TICK_FLOOR;
            if (t->idle > GC_TICK_IDLE_MAX)
                t->idle = GC_TICK_IDLE_MAX;
            gap = t->idle;
        } else {
            t->idle = 0;
        }
        if (next < now + gap)
            next = now + gap;
    }
    return next;
}

/* Threads (other than the timer thread) waiting for heap_mu now. */
static int heap_waiting;

/* heap_mu for a thread that is not the timer thread. */
static void heap_lock(void) {
    __atomic_add_fetch(&heap_waiting, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&heap_mu);
    __atomic_sub_fetch(&heap_waiting, 1, __ATOMIC_RELAXED);
}

int gc_timer_fire(gc_timer *t, double now) {
    double unused;          /* a bubble's tickers are never "fast" */
    return fire(t, now, &unused);
}

static void *timer_thread(void *arg) {
    pthread_mutex_lock(&heap_mu);
    for (;;) {
        if (heap_len == 0) {
            pthread_cond_wait(&heap_cv, &heap_mu);
            continue;
        }
        gc_timer *t = heap[0];
        double now = gc_now();
        if (t->when > now) {
            struct timespec ts;
            ts.tv_sec = (time_t)t->when;
            ts.tv_nsec = (long)((t->when - (double)ts.tv_sec) * 1e9);
            if (ts.tv_nsec >= 1000000000L)
                ts.tv_sec++, ts.tv_nsec -= 1000000000L;
            pthread_cond_timedwait(&heap_cv, &heap_mu, &ts);
            continue;
        }
        heap_remove(t);
        double due = 0;
        int r = fire(t, now, &due);
        if (r < 0) {
            t->when = now + 0.01;          /* out of memory: try again soon */
            heap_push(t);
        } else if (r == 2) {
            t->when = due > now + GC_TICK_FLOOR ? due : now + GC_TICK_FLOOR;
            heap_push(t);
        } else if (t->kind == GC_TIMER_TICKER) {
            t->when = ticker_next(t, now, r);
            heap_push(t);
        }
        /* one firing per hold: let a thread that waits for heap_mu in */
        pthread_mutex_unlock(&heap_mu);
        if (__atomic_load_n(&heap_waiting, __ATOMIC_RELAXED))
            sched_yield();
        pthread_mutex_lock(&heap_mu);
    }
    return NULL;
}

/* heap lock held.  Returns -1 if the thread cannot be started. */
static int ensure_thread(void) {
    if (thread_running)
        return 0;
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int r = pthread_create(&th, &attr, timer_thread, NULL);
    pthread_attr_destroy(&attr);
    if (r != 0)
        return -1;
    thread_running = 1;
    return 0;
}

/* ---- arming, stopping (GIL held) ----------------------------------------- */

/* Parses a duration: any int or float but NaN; *forever for one too large.
   Returns -1 with an exception set. */
static int parse_duration(PyObject *o, double *s, int *forever) {
    *forever = 0;
    if (PyBool_Check(o) || !(PyFloat_Check(o) || PyLong_Check(o))) {
        PyErr_Format(PyExc_TypeError, "duration must be seconds as an int or float, not %.100s",
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    double d = PyFloat_AsDouble(o);
    if (d == -1.0 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return -1;
        PyErr_Clear();
        d = gc_long_sign(o) > 0 ? Py_HUGE_VAL : -Py_HUGE_VAL;
    }
    if (isnan(d)) {
        PyErr_SetString(PyExc_ValueError, "duration must not be NaN");
        return -1;
    }
    if (d > NEVER)
        *forever = 1;
    *s = d;
    return 0;
}

/* Takes t out of every pending state.  Heap lock held; takes the channel
   lock.  Returns whether it was pending; *token gets the after-func token
   to release once the heap lock is dropped. */
static int disarm(gc_timer *t, PyObject **token) {
    int pending = t->heapidx >= 0 || t->forever;
    if (t->heapidx >= 0)
        heap_remove(t);
    /* a bubble's timer: its bubble fields and token are the bubble lock's
       (idle() may fire it from another goroutine at the same time) */
    int bubble = t->c->bubble != NULL;
    if (bubble)
        gc_bubble_lock();
    if (t->bidx >= 0) {
        gc_bubble_disarm(t);
        pending = 1;
    }
    t->forever = 0;
    gc_chan *c = t->c;
    gc_lock_acquire(&c->lock);
    if (t->slot_full)
        pending = 1;
    t->slot_full = 0;
    t->fast = 0;
    gc_lock_release(&c->lock);
    *token = t->token;
    t->token = NULL;
    if (bubble)
        gc_bubble_unlock();
    if (*token)
        pending = 1;
    return pending;
}

/* Arms t to fire after s seconds.  Heap lock held; allocates no Python
   object (the GC could run and free a timer, which takes the heap lock).
   Returns 0, or -1 (no memory) / -2 (no thread): the caller sets the
   exception once the heap lock is dropped. */
static int arm(gc_timer *t, double s, int forever) {
    if (forever) {
        t->forever = 1;
        return 0;
    }
    if (t->c->bubble)
        return gc_bubble_arm(t, s);      /* on the bubble's clock */
    double now = gc_now();
    if (t->kind == GC_TIMER_TICKER) {
        t->period = s;
        t->when = now + s;
        t->idle = 0;
        gc_lock_acquire(&t->c->lock);
        t->fast = s < GC_TICK_FLOOR;
        t->fperiod = s;
        t->last = now;
        gc_lock_release(&t->c->lock);
    } else if (s <= 0) {
        /* fires at once, here: nothing is gained by waking the thread */
        double unused;
        return fire(t, now, &unused) < 0 ? -1 : 0;
    } else {
        t->when = now + s;
    }
    if (ensure_thread() < 0)
        return -2;
    if (heap_push(t) < 0)
        return -1;
    if (t->heapidx == 0)
        pthread_cond_signal(&heap_cv);   /* a new earliest deadline */
    return 0;
}

static void arm_error(int r) {
    if (r == -2)
        PyErr_SetString(PyExc_RuntimeError, "gochan: cannot start the timer thread");
    else
        PyErr_NoMemory();
}

static gc_chan *as_timer(PyObject *ch) {
    if (!GcChan_Check(ch) || ((gc_chan *)ch)->kind != GC_KIND_TIMER) {
        PyErr_Format(PyExc_TypeError, "expected a timer channel, got %R", ch);
        return NULL;
    }
    gc_chan *c = (gc_chan *)ch;
    if (c->bubble && gc_bubble_check(c, "stop or reset of a timer") < 0)
        return NULL;          /* a bubble's timer, from outside it */
    return c;
}

/* The after-func token (fn, args, chan); GIL held. */
static int make_token(gc_timer *t) {
    t->token = PyTuple_Pack(3, t->fn, t->fargs, (PyObject *)t->c);
    return t->token ? 0 : -1;
}

/* timer_new(kind, seconds[, fn, args]) -> the timer's channel */
PyObject *gc_timer_new(PyObject *mod, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 && nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "timer_new(kind, seconds[, fn, args])");
        return NULL;
    }
    int kind = PyLong_AsLong(args[0]);
    if (kind < 0 || kind > GC_TIMER_FUNC || (kind == GC_TIMER_FUNC) != (nargs == 4)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "timer_new: bad kind");
        return NULL;
    }
    double s;
    int forever;
    if (parse_duration(args[1], &s, &forever) < 0)
        return NULL;
    if (kind == GC_TIMER_TICKER && s <= 0) {
        PyErr_SetString(PyExc_ValueError, "non-positive interval for a ticker");
        return NULL;
    }
    gc_chan *c = (gc_chan *)PyObject_CallNoArgs((PyObject *)&GcChan_Type);
    if (!c)
        return NULL;
    gc_timer *t = calloc(1, sizeof(gc_timer));
    if (!t) {
        Py_DECREF(c);
        return PyErr_NoMemory();
    }
    t->c = c;
    t->kind = kind;
    t->heapidx = -1;
    t->bidx = -1;
    c->kind = GC_KIND_TIMER;
    c->timer = t;
    if (kind == GC_TIMER_FUNC) {
        t->fn = Py_NewRef(args[2]);
        t->fargs = Py_NewRef(args[3]);
        if (make_token(t) < 0) {
            Py_DECREF(c);
            return NULL;
        }
    }
    heap_lock();
    int r = arm(t, s, forever);
    pthread_mutex_unlock(&heap_mu);
    if (r < 0) {
        arm_error(r);
        Py_DECREF(c);
        return NULL;
    }
    return (PyObject *)c;
}

/* timer_stop(ch) -> bool: whether the timer was pending (Go 1.23). */
PyObject *gc_timer_stop(PyObject *mod, PyObject *ch) {
    gc_chan *c = as_timer(ch);
    if (!c)
        return NULL;
    PyObject *token;
    heap_lock();
    int pending = disarm(c->timer, &token);
    pthread_mutex_unlock(&heap_mu);
    Py_XDECREF(token);      /* may free the timer's last owner: after unlocking */
    return PyBool_FromLong(pending);
}

/* timer_reset(ch, seconds) -> bool: whether the timer was pending. */
PyObject *gc_timer_reset(PyObject *mod, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "timer_reset(ch, seconds)");
        return NULL;
    }
    gc_chan *c = as_timer(args[0]);
    if (!c)
        return NULL;
    gc_timer *t = c->timer;
    double s;
    int forever;
    if (parse_duration(args[1], &s, &forever) < 0)
        return NULL;
    if (t->kind == GC_TIMER_TICKER && s <= 0) {
        PyErr_SetString(PyExc_ValueError, "non-positive interval for Ticker.reset");
        return NULL;
    }
    PyObject *token, *fresh = NULL;
    /* Allocate before taking heap_mu: an allocation can run the GC, which
       can free a timer, which takes heap_mu. */
    if (t->kind == GC_TIMER_FUNC) {
        fresh = PyTuple_Pack(3, t->fn, t->fargs, (PyObject *)c);
        if (!fresh)
            return NULL;
    }
    Py_INCREF(c);   /* dropping the old token must not free c under us */
    heap_lock();
    int pending = disarm(t, &token);
    t->token = fresh;
    int r = arm(t, s, forever);
    pthread_mutex_unlock(&heap_mu);
    Py_XDECREF(token);
    Py_DECREF(c);
    if (r < 0) {
        arm_error(r);
        return NULL;
    }
    return PyBool_FromLong(pending);
}

void gc_timer_dealloc(gc_chan *c) {
    gc_timer *t = c->timer;
    heap_lock();
    if (t->heapidx >= 0)
        heap_remove(t);
    if (c->bubble)
        gc_bubble_disarm(t);      /* if armed; takes the bubble lock */
    pthread_mutex_unlock(&heap_mu);
    /* t->token is NULL here: an armed token owns a reference to c */
    c->timer = NULL;
    Py_XDECREF(t->fn);
    Py_XDECREF(t->fargs);
    free(t);
}

int gc_timers_armed(void) {
    heap_lock();
    int n = heap_len > 0;
    pthread_mutex_unlock(&heap_mu);
    return n || __atomic_load_n(&afq->count, __ATOMIC_RELAXED) > 0;
}

/* Test hook: number of timers in the heap. */
PyObject *gc_timer_pending(PyObject *mod, PyObject *unused) {
    heap_lock();
    Py_ssize_t n = heap_len;
    pthread_mutex_unlock(&heap_mu);
    return PyLong_FromSsize_t(n);
}

/* ---- fork ----------------------------------------------------------------- */

static void init_cv(void) {
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&heap_cv, &ca);
    pthread_condattr_destroy(&ca);
}

static void atfork_prepare(void) { heap_lock(); }
static void atfork_parent(void) { pthread_mutex_unlock(&heap_mu); }
static void atfork_child(void) {
    /* only the forking thread exists: its waiters are the only live ones */
    pthread_mutex_init(&heap_mu, NULL);
    init_cv();
    thread_running = 0;
    gc_park_after_fork_child();
}

/* Restarts the timer thread in a forked child (from os.register_at_fork,
   once the interpreter is ready for threads). */
PyObject *gc_timer_after_fork_child(PyObject *mod, PyObject *unused) {
    heap_lock();
    int r = heap_len ? ensure_thread() : 0;
    pthread_mutex_unlock(&heap_mu);
    if (r < 0) {
        PyErr_SetString(PyExc_RuntimeError, "gochan: cannot restart the timer thread");
        return NULL;
    }
    Py_RETURN_NONE;
}

int gc_timer_init(PyObject *module) {
    init_cv();
    if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "gochan: pthread_atfork failed");
        return -1;
    }
    afq = (gc_chan *)PyObject_CallFunction((PyObject *)&GcChan_Type, "n", PY_SSIZE_T_MAX);
    if (!afq)
        return -1;
    return PyModule_AddObject(module, "afterfunc_queue", Py_NewRef((PyObject *)afq));
}
