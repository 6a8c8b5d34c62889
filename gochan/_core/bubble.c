/* bubble.c: gochan.testing's bubbles (Go's testing/synctest, for threads),
 * and the process-wide deadlock detector (Go's checkdead).
 *
 * A bubble is a set of goroutines on a virtual clock
 * ---------------------------------------------------
 * Go's runtime knows, for every goroutine, whether it runs or why it waits;
 * gochan knows it only for the threads parked in gochan (park.c).  That is
 * enough, because the only waits that can be *durable* — that nothing but
 * another goroutine of the same bubble can end — are gochan's own: a parked
 * channel operation, select, nilchan, sleep() and testing.wait(), on nothing
 * but the bubble's channels and timers.  A thread in time.sleep, in I/O, on
 * a lock, or on a channel made outside the bubble counts as running: it may
 * be woken by something the bubble does not see, so the bubble must not
 * jump its clock under it.
 *
 * So a bubble is two counters and a clock (the invariants are in gochan.h):
 * total goroutines, running ones (not durably blocked), and `now`.  Every
 * change of a goroutine's state goes through transition(): a goroutine
 * starts (+1 +1), parks durably (0 -1), is woken (0 +1, by its waker, before
 * the wake, so the count never lags), exits (-1 -1).  When running falls to
 * zero the bubble is idle, and the thread that made it so, holding the bubble lock,
 * acts at once (idle()): wakes the goroutine in testing.wait(), or jumps the
 * clock to the bubble's next timer or timeout and fires what is due, or —
 * nothing left to fire, or the goroutine run() started has returned — it is
 * a deadlock: every durably blocked parker is ended with GC_FIRED_DEADLOCK
 * and its call raises Deadlock.  No thread polls; a one-hour timeout costs
 * one jump of the clock.
 *
 * A bubble's timers live in its own list on its clock (t->bidx), never on
 * the timer thread's heap; their channels belong to the bubble, so only its
 * goroutines (under the bubble lock) fire, stop or receive them, and the timer thread
 * never wakes a durably blocked parker.  An after_func timer of a bubble,
 * when it fires, counts its goroutine as started and hands (fn, args, chan)
 * to the thread in run(), which starts it in the bubble.
 *
 * The process-wide detector
 * -------------------------
 * Go's checkdead: when no goroutine can run and no timer is pending, the
 * program can never continue.  Here: the main thread, parked in gochan with
 * no timeout, already wakes every GC_MAIN_SLICE to run signal handlers
 * (park.c); at each such wake it counts the interpreter's thread states and
 * the parked operations that have no timeout and are not completed.  If
 * they are equal (every thread with a Python state is asleep in gochan for
 * ever), no timer is armed (the timer thread's heap, the after-func queue,
 * any bubble) and no signal notification is active, its call raises
 * Deadlock.  A thread that runs, sleeps, does I/O or waits on a lock has a
 * thread state but no parked operation, so it keeps the detector quiet, as
 * it must; the C timer thread has no thread state and is covered by "no
 * timer armed"; the after_func dispatcher is an ordinary parked thread; the
 * signal relay thread waits on its pipe, so while it exists it is "running".
 */
#include "gochan.h"

#include <stdlib.h>

__thread gc_bubble *gc_bubble_cur;
PyObject *gc_Deadlock;
static long bubble_timers;    /* timers armed in every bubble (bubble lock; read atomically) */
static int notifying;         /* gochan.signal notifications active (atomic) */
static unsigned long relay_ident;  /* gochan.signal's relay thread, or 0 (atomic) */

#ifdef Py_GIL_DISABLED
/* The bubble lock (gochan.h, "Free-threaded CPython"): a PyMutex, so a
   thread waiting for it is detached and never holds up a stop-the-world;
   recursive in its owner, because a state change may end parkers whose
   wake (gc_bubble_ready) comes back here on the same thread. */
static PyMutex bubble_mu;
static unsigned long bubble_owner;   /* thread ident of the holder, or 0 (atomic) */
static int bubble_depth;             /* the holder's nesting (the holder only) */

void gc_bubble_lock(void) {
    unsigned long me = PyThread_get_thread_ident();
    if (__atomic_load_n(&bubble_owner, __ATOMIC_RELAXED) == me) {
        bubble_depth++;
        return;
    }
    PyMutex_Lock(&bubble_mu);
    __atomic_store_n(&bubble_owner, me, __ATOMIC_RELAXED);
    bubble_depth = 1;
}

void gc_bubble_unlock(void) {
    if (--bubble_depth == 0) {
        __atomic_store_n(&bubble_owner, 0, __ATOMIC_RELAXED);
        PyMutex_Unlock(&bubble_mu);
    }
}
#endif

double gc_clock(void) {
    gc_bubble *b = gc_bubble_cur;
    if (!b)
        return gc_now();
    double now;
    __atomic_load(&b->now, &now, __ATOMIC_RELAXED);   /* idle() moves it, bubble lock held */
    return now;
}

int gc_bubble_check(gc_chan *c, const char *what) {
    if (c->bubble == gc_bubble_cur)
        return 0;
    PyErr_Format(PyExc_RuntimeError, "%s on %R, a channel of a gochan.testing bubble, from %s",
                 what, (PyObject *)c, gc_bubble_cur ? "another bubble" : "outside the bubble");
    return -1;
}

/* ---- what a parked operation waits for ---------------------------------- */

/* The wait reasons, and which of them are durable (on the bubble's own
   channels): every gochan wait is. */
static const struct { const char *name; int durable; } reasons[] = {
    [GC_OP_RECV] = {"recv", 1},
    [GC_OP_SEND] = {"send", 1},
    [GC_OP_SELECT] = {"select", 1},
    [GC_OP_SLEEP] = {"sleep", 1},
    [GC_OP_WAIT] = {"testing.wait", 1},
};

PyObject *gc_op_text(int op, gc_chan *const *chans, int n) {
    const char *name = reasons[op].name;
    if (op == GC_OP_SLEEP || op == GC_OP_WAIT)
        return PyUnicode_FromString(name);
    if (n == 0)
        return op == GC_OP_SELECT ? PyUnicode_FromString("select (no cases)")
                                  : PyUnicode_FromFormat("%s on %R", name, (PyObject *)gc_nilchan);
    PyObject *parts = PyList_New(0), *sep = NULL, *joined = NULL, *r = NULL;
    if (!parts)
        return NULL;
    for (int i = 0; i < n; i++) {
        PyObject *s = PyObject_Repr((PyObject *)chans[i]);
        if (!s || PyList_Append(parts, s) < 0) {
            Py_XDECREF(s);
            goto out;
        }
        Py_DECREF(s);
    }
    if ((sep = PyUnicode_FromString(", ")) && (joined = PyUnicode_Join(sep, parts)))
        r = PyUnicode_FromFormat("%s on %U", name, joined);
out:
    Py_DECREF(parts);
    Py_XDECREF(sep);
    Py_XDECREF(joined);
    return r;
}

/* What parked operation p waits for; GIL held. */
static PyObject *parker_text(gc_parker *p) {
    gc_chan *stack[16] = {0}, **chans = p->nsg <= 16 ? stack : PyMem_Malloc(p->nsg * sizeof(gc_chan *));
    if (!chans)
        return PyErr_NoMemory();
    for (int i = 0; i < p->nsg; i++)
        chans[i] = p->sg[i].c;
    PyObject *r = gc_op_text(p->op, chans, p->nsg);
    if (chans != stack)
        PyMem_Free(chans);
    return r;
}

/* ---- the bubble's parked goroutines ------------------------------------------ */

/* b's durably blocked parkers, into a new array (free() it); bubble lock
   held.  They stay valid until someone holding that lock wakes them (their
   own thread, woken another way, unblocks under it before it returns). */
static gc_parker **blocked_of(gc_bubble *b, Py_ssize_t *n) {
    Py_ssize_t cap = __atomic_load_n(&gc_parked_threads, __ATOMIC_RELAXED);
    gc_parker **out = malloc((cap > 0 ? cap : 1) * sizeof(gc_parker *));
    *n = 0;
    if (!out)
        return NULL;
    gc_parked_lock();
    for (gc_parker *p = gc_parked_head(); p && *n < cap; p = p->pnext)
        if (__atomic_load_n(&p->bubble, __ATOMIC_ACQUIRE) == b && p->durable)
            out[(*n)++] = p;
    gc_parked_unlock();
    return out;
}

/* ---- the state machine (bubble lock held throughout) ---------------------- */

static void idle(gc_bubble *b);

/* Every change of a goroutine's state: dtotal goroutines started (+1) or
   exited (-1), drunning became runnable (+1) or durably blocked (-1). */
static void transition(gc_bubble *b, long dtotal, long drunning) {
    b->total += dtotal;
    b->running += drunning;
    if (b->total == 0 && dtotal < 0) {
        /* the last goroutine is gone: tell run() (never fails: unbounded) */
        gc_parker *wake = NULL;
        gc_lock_acquire(&b->events->lock);
        if (gc_chan_trysend_locked(b->events, Py_NewRef(Py_None), &wake) != 1)
            Py_DECREF(Py_None);
        gc_lock_release(&b->events->lock);
        if (wake)
            gc_wake(wake);
    } else if (b->running == 0 && b->total > 0) {
        idle(b);
    }
}

void gc_bubble_block(gc_parker *p, gc_sudog *sg, int n) {
    gc_bubble *b = gc_bubble_cur;
    int durable = reasons[p->op].durable;
    for (int i = 0; i < n && durable; i++)
        durable = sg[i].c->bubble == b;
    gc_bubble_lock();
    __atomic_store_n(&p->durable, durable, __ATOMIC_RELAXED);
    /* after durable (wake() reads bubble, then durable); sequentially
       consistent against a partner's claim: either it sees the bubble and
       marks p running through gc_bubble_ready, or idle() sees p claimed */
    __atomic_store_n(&p->bubble, b, __ATOMIC_SEQ_CST);
    if (durable)
        transition(b, 0, -1);
    gc_bubble_unlock();
}

void gc_bubble_ready(gc_parker *p) {
    /* Only a durably blocked parker counts, and only the bubble's own
       goroutines wake one; the timer thread may get here for a parker that
       is not durable (a bubble goroutine waiting on an outside timer), and
       returns at once. */
    if (!__atomic_load_n(&p->durable, __ATOMIC_RELAXED))
        return;
    gc_bubble_lock();
    if (p->durable) {
        __atomic_store_n(&p->durable, 0, __ATOMIC_RELAXED);
        transition(p->bubble, 0, +1);
    }
    gc_bubble_unlock();
}

void gc_bubble_unblock(gc_parker *p) {
    gc_bubble_lock();
    if (p->durable) {
        /* woken without gc_bubble_ready: a partner claimed p before
           gc_bubble_block published p->bubble (free-threaded only) */
        __atomic_store_n(&p->durable, 0, __ATOMIC_RELAXED);
        transition(p->bubble, 0, +1);
    }
    __atomic_store_n(&p->bubble, NULL, __ATOMIC_RELAXED);
    gc_bubble_unlock();
}

/* Ends parker p (not completed by a partner) with reason `fired`. */
static void end_parker(gc_parker *p, int fired) {
    if (gc_claim(p)) {
        p->fired = fired;
        gc_wake(p);
    }
}

/* ---- the bubble's timers --------------------------------------------------- */

static void timers_remove(gc_bubble *b, gc_timer *t) {
    Py_ssize_t i = t->bidx;
    b->timers[i] = b->timers[--b->ntimers];
    b->timers[i]->bidx = i;
    t->bidx = -1;
    __atomic_sub_fetch(&bubble_timers, 1, __ATOMIC_RELAXED);
}

static int timers_add(gc_bubble *b, gc_timer *t) {
    if (b->ntimers == b->tcap) {
        Py_ssize_t ncap = b->tcap ? b->tcap * 2 : 16;
        gc_timer **n = realloc(b->timers, ncap * sizeof(gc_timer *));
        if (!n)
            return -1;
        b->timers = n;
        b->tcap = ncap;
    }
    t->bidx = b->ntimers;
    b->timers[b->ntimers++] = t;
    __atomic_add_fetch(&bubble_timers, 1, __ATOMIC_RELAXED);
    return 0;
}

/* An after_func timer fires: its goroutine counts as started now, and the
   thread in run() starts it (the token (fn, args, chan) goes to it). */
static void func_fire(gc_bubble *b, gc_timer *t) {
    if (!t->token)
        return;
    gc_parker *wake = NULL;
    gc_lock_acquire(&b->events->lock);
    int r = gc_chan_trysend_locked(b->events, t->token, &wake);
    gc_lock_release(&b->events->lock);
    if (r != 1)
        return;              /* no memory: the timer stays pending, unfired */
    t->token = NULL;
    if (wake)
        gc_wake(wake);
    transition(b, +1, +1);
}

int gc_bubble_arm(gc_timer *t, double s) {
    gc_bubble *b = t->c->bubble;
    int r = 0;
    gc_bubble_lock();
    if (t->kind == GC_TIMER_TICKER) {
        t->period = s;
        t->when = b->now + s;
        r = timers_add(b, t);
    } else if (s <= 0) {
        if (t->kind == GC_TIMER_FUNC)
            func_fire(b, t);
        else
            gc_timer_fire(t, b->now);
    } else {
        t->when = b->now + s;
        r = timers_add(b, t);
    }
    gc_bubble_unlock();
    return r;
}

void gc_bubble_disarm(gc_timer *t) {
    gc_bubble_lock();
    if (t->bidx >= 0)
        timers_remove(t->c->bubble, t);
    gc_bubble_unlock();
}

/* Would firing t change anything?  A ticker whose tick nobody took yet
   drops the next one. */
static int timer_live(gc_timer *t) {
    return !(t->kind == GC_TIMER_TICKER && t->slot_full);
}

/* The earliest time at which something of the bubble is due: a live timer
   or a parked goroutine's timeout.  Returns 0 if there is none.  A ticker
   passed by while its tick waited unreceived (the clock jumped over its
   ticks, which were all dropped) resumes its schedule after now. */
static int next_event(gc_bubble *b, double *when) {
    int found = 0;
    for (Py_ssize_t i = 0; i < b->ntimers; i++) {
        gc_timer *t = b->timers[i];
        if (!timer_live(t))
            continue;
        if (t->kind == GC_TIMER_TICKER && t->when <= b->now)
            t->when += (double)((long long)((b->now - t->when) / t->period) + 1) * t->period;
        if (!found || t->when < *when) {
            *when = t->when;
            found = 1;
        }
    }
    gc_parked_lock();
    for (gc_parker *p = gc_parked_head(); p; p = p->pnext)
        if (__atomic_load_n(&p->bubble, __ATOMIC_ACQUIRE) == b && p->durable && p->deadline >= 0 &&
            (!found || p->deadline < *when)) {
            *when = p->deadline;
            found = 1;
        }
    gc_parked_unlock();
    return found;
}

/* Fires every timer and expires every timeout due at b->now. */
static void fire_due(gc_bubble *b) {
    for (Py_ssize_t i = 0; i < b->ntimers;) {
        gc_timer *t = b->timers[i];
        if (t->when > b->now) {
            i++;
            continue;
        }
        if (t->kind == GC_TIMER_TICKER) {
            /* a tick (dropped if the last one waits unreceived), and the
               next on its schedule: the clock jumped over any in between,
               which would all have been dropped */
            gc_timer_fire(t, b->now);
            t->when += (double)((long long)((b->now - t->when) / t->period) + 1) * t->period;
            i++;
        } else {
            timers_remove(b, t);      /* b->timers[i] is another timer now */
            if (t->kind == GC_TIMER_FUNC)
                func_fire(b, t);
            else
                gc_timer_fire(t, b->now);
        }
    }
    Py_ssize_t n;
    gc_parker **blocked = blocked_of(b, &n);
    for (Py_ssize_t i = 0; i < n; i++)
        if (blocked[i]->deadline >= 0 && blocked[i]->deadline <= b->now)
            end_parker(blocked[i], GC_FIRED_TIMEOUT);
    free(blocked);
}

/* Every goroutine is durably blocked and nothing can wake one: record who
   waits for what, and end every such wait with Deadlock. */
static void deadlock(gc_bubble *b) {
    if (!b->deadlocked)
        b->deadlocked = b->main_done ? 2 : 1;
    Py_ssize_t n;
    gc_parker **blocked = blocked_of(b, &n);
    if (!b->report) {
        /* no collection (and so no finalizer) while this thread is half
           parked; a report that cannot be built is left empty */
        int gc_was = PyGC_Disable();
        PyObject *report = PyList_New(0);
        for (Py_ssize_t i = 0; i < n && report; i++) {
            gc_parker *p = blocked[i];
            PyObject *text = parker_text(p);
            PyObject *item = text ? Py_BuildValue("(kO)", p->ident, text) : NULL;
            if (!item || PyList_Append(report, item) < 0)
                Py_CLEAR(report);
            Py_XDECREF(item);
            Py_XDECREF(text);
        }
        if (!report)
            PyErr_Clear();
        b->report = report;
        if (gc_was)
            PyGC_Enable();
    }
    for (Py_ssize_t i = 0; i < n; i++)
        end_parker(blocked[i], GC_FIRED_DEADLOCK);
    free(blocked);
}

/* Is every goroutine counted in b a listed, unclaimed, durably blocked
   parker?  Not when a partner has claimed one whose wake has not marked it
   running yet (free-threaded: see gc_bubble_block); that wake, or its own
   gc_bubble_unblock, will, and the bubble is not idle meanwhile. */
static int all_asleep(gc_bubble *b) {
    long n = 0;
    gc_parked_lock();
    for (gc_parker *p = gc_parked_head(); p; p = p->pnext)
        if (__atomic_load_n(&p->bubble, __ATOMIC_ACQUIRE) == b && p->durable &&
            __atomic_load_n(&p->done, __ATOMIC_SEQ_CST) == GC_FREE)
            n++;
    gc_parked_unlock();
    return n == b->total;
}

static void idle(gc_bubble *b) {
    while (b->running == 0 && b->total > 0) {
        if (!all_asleep(b))
            return;
        if (b->waiter) {
            gc_parker *w = b->waiter;
            b->waiter = NULL;
            end_parker(w, 0);
            continue;
        }
        double next = 0;
        if (!b->main_done && next_event(b, &next)) {
            if (next > b->now)
                __atomic_store(&b->now, &next, __ATOMIC_RELAXED);   /* gc_clock reads it */
            fire_due(b);
            continue;
        }
        deadlock(b);
        return;
    }
}

/* ---- the process-wide detector ------------------------------------------- */

/* The parked operations with no timeout that nobody has completed; *seq
   gets gc_park_seq as of the same walk. */
static long asleep_forever(unsigned long *seq) {
    long asleep = 0;
    gc_parked_lock();
    for (gc_parker *q = gc_parked_head(); q; q = q->pnext)
        if (q->deadline < 0 && __atomic_load_n(&q->done, __ATOMIC_ACQUIRE) == GC_FREE)
            asleep++;
    *seq = gc_park_seq;
    gc_parked_unlock();
    return asleep;
}

#ifdef Py_GIL_DISABLED
/* Calls sys.NAME or _thread.NAME with no arguments; NULL on any error
   (cleared: the detector then stays quiet), keeping a raised exception. */
static PyObject *call_quietly(const char *module, const char *name) {
    PyObject *exc = PyErr_GetRaisedException();
    PyObject *mod = PyImport_ImportModule(module);
    PyObject *r = mod ? PyObject_CallMethod(mod, name, NULL) : NULL;
    Py_XDECREF(mod);
    PyErr_Clear();
    PyErr_SetRaisedException(exc);
    return r;
}
#endif

/* The threads with a Python thread state, but gochan.signal's relay thread
   (idle on its pipe: nothing to relay); -1 if they cannot be counted. */
static long python_threads(void) {
    unsigned long relay = __atomic_load_n(&relay_ident, __ATOMIC_RELAXED);
    long threads = 0;
#ifdef Py_GIL_DISABLED
    /* Thread states come and go at any moment here: count them through
       sys._current_frames(), which takes CPython's own locks. */
    PyObject *frames = call_quietly("sys", "_current_frames");
    if (!frames || !PyDict_Check(frames)) {
        Py_XDECREF(frames);
        return -1;
    }
    threads = (long)PyDict_GET_SIZE(frames);
    for (Py_ssize_t pos = 0, k = 0; k < threads; k++) {
        PyObject *key, *value;
        if (!PyDict_Next(frames, &pos, &key, &value))
            break;
        if (relay && PyLong_AsUnsignedLong(key) == relay)
            threads--;
    }
    PyErr_Clear();
    Py_DECREF(frames);
#else
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(PyInterpreterState_Get()); ts;
         ts = PyThreadState_Next(ts))
        if (ts->thread_id != relay)
            threads++;
#endif
    return threads;
}

int gc_deadlock_main(gc_parker *p) {
    if (__atomic_load_n(&notifying, __ATOMIC_RELAXED) || __atomic_load_n(&bubble_timers, __ATOMIC_RELAXED) > 0)
        return 0;
    unsigned long seq, seq2;
    long asleep = asleep_forever(&seq);
#ifdef Py_GIL_DISABLED
    /* a cheap bound first: the threads _thread started (threading's too)
       and the main thread all have thread states, so while fewer are
       asleep for ever, one is awake -- the usual answer, found without
       sys._current_frames() */
    PyObject *count = call_quietly("_thread", "_count");
    long started = count && PyLong_Check(count) ? PyLong_AsLong(count) : -1;
    Py_XDECREF(count);
    PyErr_Clear();
    if (started >= 0 && __atomic_load_n(&relay_ident, __ATOMIC_RELAXED))
        started--;          /* gochan.signal's relay thread, a threading.Thread */
    if (started < 0 || asleep < started + 1)
        return 0;
#endif
    long threads = python_threads();
    if (threads < 0 || asleep < threads)
        return 0;
    /* Every thread counted was asleep: but without the GIL, one may have
       been woken, and its waker may have ended, between the two counts.
       The walk again: nobody completed (the count of unclaimed ones would
       drop) and nobody joined (gc_park_seq) since the first walk, so the
       same operations were asleep all along, the thread count included. */
    if (asleep_forever(&seq2) != asleep || seq2 != seq)
        return 0;
    /* the timer heap's lock last: the usual answer (someone is awake) needs none */
    if (gc_timers_armed() || !gc_claim(p))
        return 0;
    PyErr_SetString(gc_Deadlock, "all goroutines are asleep - deadlock!");
    return 1;
}

/* ---- the Bubble type and the native functions ------------------------------ */

static PyObject *bubble_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    if (PyTuple_GET_SIZE(args) || (kwds && PyDict_GET_SIZE(kwds))) {
        PyErr_SetString(PyExc_TypeError, "Bubble() takes no arguments");
        return NULL;
    }
    gc_bubble *b = (gc_bubble *)type->tp_alloc(type, 0);
    if (!b)
        return NULL;
    b->events = (gc_chan *)PyObject_CallFunction((PyObject *)&GcChan_Type, "n", PY_SSIZE_T_MAX);
    if (!b->events) {
        Py_DECREF(b);
        return NULL;
    }
    Py_CLEAR(b->events->bubble);     /* run()'s own channel, outside any bubble */
    return (PyObject *)b;
}

/* Disarms every timer of b (run() is over). */
static void bubble_disarm_all(gc_bubble *b) {
    for (;;) {
        gc_bubble_lock();
        if (b->ntimers == 0) {
            gc_bubble_unlock();
            return;
        }
        gc_timer *t = b->timers[b->ntimers - 1];
        PyObject *token = t->token;
        t->token = NULL;
        timers_remove(b, t);
        gc_bubble_unlock();
        Py_XDECREF(token);   /* may free t (it left the list first), never under the lock */
    }
}

static void bubble_dealloc(gc_bubble *b) {
    bubble_disarm_all(b);   /* none left: each timer's channel owns b */
    free(b->timers);
    Py_XDECREF(b->report);
    Py_XDECREF((PyObject *)b->events);
    Py_XDECREF(b->data);
    Py_TYPE(b)->tp_free((PyObject *)b);
}

static PyObject *bubble_get_now(gc_bubble *b, void *unused) { return PyFloat_FromDouble(b->now); }
static PyObject *bubble_get_events(gc_bubble *b, void *unused) { return Py_NewRef((PyObject *)b->events); }
static PyObject *bubble_get_report(gc_bubble *b, void *unused) {
    return b->report ? PyList_GetSlice(b->report, 0, PY_SSIZE_T_MAX) : PyList_New(0);
}
static PyObject *bubble_get_data(gc_bubble *b, void *unused) {
    return Py_NewRef(b->data ? b->data : Py_None);
}
static int bubble_set_data(gc_bubble *b, PyObject *v, void *unused) {
    Py_XINCREF(v);
    Py_XSETREF(b->data, v);
    return 0;
}
#define INT_GETTER(field)                                                        \
    static PyObject *bubble_get_##field(gc_bubble *b, void *unused) {           \
        return PyLong_FromLong((long)b->field);                                 \
    }
INT_GETTER(total)
INT_GETTER(running)
INT_GETTER(deadlocked)
INT_GETTER(main_done)

static PyGetSetDef bubble_getset[] = {
    {"now", (getter)bubble_get_now, NULL, "the virtual clock", NULL},
    {"total", (getter)bubble_get_total, NULL, "goroutines in the bubble", NULL},
    {"running", (getter)bubble_get_running, NULL, "of those, not durably blocked", NULL},
    {"deadlocked", (getter)bubble_get_deadlocked, NULL, "a deadlock was declared", NULL},
    {"main_done", (getter)bubble_get_main_done, NULL, "run()'s goroutine has returned", NULL},
    {"report", (getter)bubble_get_report, NULL, "[(thread ident, what it waited for)] of the deadlock", NULL},
    {"events", (getter)bubble_get_events, NULL, "run()'s channel: after_func tokens, then None", NULL},
    {"data", (getter)bubble_get_data, (setter)bubble_set_data, "the Python side's state", NULL},
    {NULL}};

static PyTypeObject GcBubble_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "gochan.testing.Bubble",
    .tp_basicsize = sizeof(gc_bubble),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The state of one gochan.testing bubble (see bubble.c).",
    .tp_new = bubble_new,
    .tp_dealloc = (destructor)bubble_dealloc,
    .tp_getset = bubble_getset,
};

static gc_bubble *as_bubble(PyObject *o) {
    if (Py_TYPE(o) != &GcBubble_Type) {
        PyErr_Format(PyExc_TypeError, "expected a Bubble, got %R", o);
        return NULL;
    }
    return (gc_bubble *)o;
}

static PyObject *f_current(PyObject *mod, PyObject *unused) {
    return Py_NewRef(gc_bubble_cur ? (PyObject *)gc_bubble_cur : Py_None);
}

/* bubble_spawn(b, n): a goroutine of b is about to start (n=+1), or could
   not be started after all (n=-1). */
static PyObject *f_spawn(PyObject *mod, PyObject *const *args, Py_ssize_t nargs) {
    gc_bubble *b;
    if (nargs != 2 || !(b = as_bubble(args[0]))) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "bubble_spawn(b, n)");
        return NULL;
    }
    long n = PyLong_AsLong(args[1]);
    if (n != 1 && n != -1) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "bubble_spawn: n is 1 or -1");
        return NULL;
    }
    gc_bubble_lock();
    transition(b, n, n);
    gc_bubble_unlock();
    Py_RETURN_NONE;
}

/* bubble_attach(b): the calling thread is a goroutine of b (counted). */
static PyObject *f_attach(PyObject *mod, PyObject *arg) {
    gc_bubble *b = as_bubble(arg);
    if (!b)
        return NULL;
    if (gc_bubble_cur) {
        PyErr_SetString(PyExc_RuntimeError, "this thread is already in a bubble");
        return NULL;
    }
    gc_bubble_cur = (gc_bubble *)Py_NewRef((PyObject *)b);
    Py_RETURN_NONE;
}

/* bubble_detach(is_main): the calling goroutine leaves its bubble for good. */
static PyObject *f_detach(PyObject *mod, PyObject *is_main) {
    gc_bubble *b = gc_bubble_cur;
    if (!b) {
        PyErr_SetString(PyExc_RuntimeError, "this thread is not in a bubble");
        return NULL;
    }
    gc_bubble_cur = NULL;
    int main_done = PyObject_IsTrue(is_main);
    gc_bubble_lock();
    if (main_done > 0)
        b->main_done = 1;
    transition(b, -1, -1);
    gc_bubble_unlock();
    Py_DECREF(b);
    Py_RETURN_NONE;
}

static PyObject *f_close(PyObject *mod, PyObject *arg) {
    gc_bubble *b = as_bubble(arg);
    if (!b)
        return NULL;
    bubble_disarm_all(b);
    Py_RETURN_NONE;
}

static PyObject *f_now(PyObject *mod, PyObject *unused) { return PyFloat_FromDouble(gc_clock()); }

/* chan_for(b or None) -> an unbuffered Chan of bubble b (or of none), made
   from any thread: gochan.context's done channels belong to their
   context's bubble, whoever asks for them first. */
static PyObject *f_chan_for(PyObject *mod, PyObject *arg) {
    if (arg != Py_None && !as_bubble(arg))
        return NULL;
    gc_chan *c = (gc_chan *)PyObject_CallNoArgs((PyObject *)&GcChan_Type);
    if (!c)
        return NULL;
    Py_XSETREF(c->bubble, arg == Py_None ? NULL : (gc_bubble *)Py_NewRef(arg));
    return (PyObject *)c;
}

/* Parks the calling thread on nothing; returns the gc_park result. */
static int park_alone(int op, double deadline) {
    for (;;) {
        gc_parker p;
        gc_parker_init(&p);
        p.op = op;
        if (op == GC_OP_WAIT) {
            gc_bubble_lock();
            gc_bubble_cur->waiter = &p;
            gc_bubble_unlock();
        }
        int r = gc_park(&p, NULL, 0, deadline);
        if (op == GC_OP_WAIT) {
            gc_bubble_lock();
            if (gc_bubble_cur->waiter == &p)
                gc_bubble_cur->waiter = NULL;
            gc_bubble_unlock();
        }
        if (r != GC_PARK_RETRY)
            return r;
    }
}

static PyObject *f_sleep(PyObject *mod, PyObject *seconds) {
    double deadline;
    int nonblock;
    if (seconds == Py_None) {
        PyErr_SetString(PyExc_TypeError, "sleep: seconds must be a number, not None");
        return NULL;
    }
    if (gc_parse_timeout(seconds, &deadline, &nonblock) < 0)
        return NULL;
    if (nonblock)
        Py_RETURN_NONE;
    int r = park_alone(GC_OP_SLEEP, deadline);   /* deadline < 0: too far, never */
    if (r == GC_PARK_ERROR)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *f_wait(PyObject *mod, PyObject *unused) {
    gc_bubble *b = gc_bubble_cur;
    if (!b) {
        PyErr_SetString(PyExc_RuntimeError, "testing.wait() called outside a bubble");
        return NULL;
    }
    gc_bubble_lock();
    int busy = b->waiter != NULL;
    gc_bubble_unlock();
    if (busy) {
        PyErr_SetString(PyExc_RuntimeError, "testing.wait() called from two goroutines at once");
        return NULL;
    }
    if (park_alone(GC_OP_WAIT, -1) == GC_PARK_ERROR)
        return NULL;
    Py_RETURN_NONE;
}

/* One parked operation, copied while listed (its channels and bubble are
   new references). */
typedef struct {
    unsigned long ident;
    int op, durable, nsg;
    double since, deadline;
    gc_bubble *bubble;
    gc_chan **chans;
} op_copy;

/* parked_ops() -> [(ident, what, since, deadline or None, bubble or None, durable)] */
static PyObject *f_parked_ops(PyObject *mod, PyObject *unused) {
    Py_ssize_t cap = __atomic_load_n(&gc_parked_threads, __ATOMIC_RELAXED), n = 0;
    op_copy *ops = calloc(cap > 0 ? cap : 1, sizeof(op_copy));
    if (!ops)
        return PyErr_NoMemory();
    /* copy under the list's lock (an operation may retire at any moment,
       and only a listed one is sure to exist); Python objects are built
       after it */
    gc_parked_lock();
    for (gc_parker *p = gc_parked_head(); p && n < cap; p = p->pnext) {
        op_copy *o = &ops[n];
        o->chans = p->nsg ? malloc(p->nsg * sizeof(gc_chan *)) : NULL;
        if (p->nsg && !o->chans)
            continue;
        o->ident = p->ident;
        o->op = p->op;
        o->durable = p->durable;
        o->since = p->since;
        o->deadline = p->deadline;
        o->bubble = p->bubble;
        Py_XINCREF(o->bubble);
        o->nsg = p->nsg;
        for (int i = 0; i < p->nsg; i++) {
            o->chans[i] = p->sg[i].c;
            Py_INCREF(o->chans[i]);
        }
        n++;
    }
    gc_parked_unlock();
    PyObject *list = PyList_New(0);
    for (Py_ssize_t k = 0; k < n; k++) {
        op_copy *o = &ops[k];
        if (list) {
            PyObject *text = gc_op_text(o->op, o->chans, o->nsg);
            PyObject *dl = o->deadline >= 0 ? PyFloat_FromDouble(o->deadline) : Py_NewRef(Py_None);
            PyObject *item = text && dl ? Py_BuildValue("(kOdOOi)", o->ident, text, o->since, dl,
                                                        o->bubble ? (PyObject *)o->bubble : Py_None,
                                                        o->durable) : NULL;
            if (!item || PyList_Append(list, item) < 0)
                Py_CLEAR(list);
            Py_XDECREF(item);
            Py_XDECREF(text);
            Py_XDECREF(dl);
        }
        for (int i = 0; i < o->nsg; i++)
            Py_DECREF(o->chans[i]);
        Py_XDECREF(o->bubble);
        free(o->chans);
    }
    free(ops);
    return list;
}

/* set_notifying(active, relay ident or None) */
static PyObject *f_set_notifying(PyObject *mod, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "set_notifying(active, relay)");
        return NULL;
    }
    int v = PyObject_IsTrue(args[0]);
    unsigned long ident = args[1] == Py_None ? 0 : PyLong_AsUnsignedLong(args[1]);
    if (v < 0 || PyErr_Occurred())
        return NULL;
    __atomic_store_n(&notifying, v, __ATOMIC_RELAXED);
    __atomic_store_n(&relay_ident, ident, __ATOMIC_RELAXED);
    Py_RETURN_NONE;
}

static PyMethodDef bubble_functions[] = {
    {"bubble_current", f_current, METH_NOARGS, "The calling thread's Bubble, or None."},
    {"bubble_spawn", (PyCFunction)(void (*)(void))f_spawn, METH_FASTCALL,
     "bubble_spawn(b, n): count a goroutine about to start (1), or one that did not (-1)."},
    {"bubble_attach", f_attach, METH_O, "bubble_attach(b): the calling thread joins b (counted)."},
    {"bubble_detach", f_detach, METH_O, "bubble_detach(is_main): the calling goroutine exits."},
    {"bubble_close", f_close, METH_O, "bubble_close(b): disarm b's timers (run() is over)."},
    {"now", f_now, METH_NOARGS, "time.monotonic(), or the bubble's clock inside one."},
    {"chan_for", f_chan_for, METH_O, "chan_for(b or None): an unbuffered Chan of bubble b (or of none)."},
    {"sleep", f_sleep, METH_O, "sleep(seconds): park, on the bubble's clock inside one."},
    {"bubble_wait", f_wait, METH_NOARGS, "Wait until every other goroutine of the bubble is durably blocked."},
    {"parked_ops", f_parked_ops, METH_NOARGS,
     "[(ident, what, since, deadline, bubble, durable)] of every parked operation."},
    {"set_notifying", (PyCFunction)(void (*)(void))f_set_notifying, METH_FASTCALL,
     "set_notifying(active, relay): gochan.signal's notifications and relay thread."},
    {NULL}};

int gc_bubble_init(PyObject *m) {
    if (PyType_Ready(&GcBubble_Type) < 0)
        return -1;
    gc_Deadlock = PyErr_NewExceptionWithDoc(
        "gochan.Deadlock",
        "Go's \"all goroutines are asleep - deadlock!\": every goroutine (of the process, "
        "or of a gochan.testing bubble) is blocked and nothing can wake one.",
        PyExc_Exception, NULL);
    if (!gc_Deadlock)
        return -1;
    if (PyModule_AddObject(m, "Deadlock", Py_NewRef(gc_Deadlock)) < 0 ||
        PyModule_AddObject(m, "Bubble", Py_NewRef((PyObject *)&GcBubble_Type)) < 0)
        return -1;
    return PyModule_AddFunctions(m, bubble_functions);
}
