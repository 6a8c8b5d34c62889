/* select.c: Go's select over any number of send and receive cases.
 *
 * Passes, as in runtime/select.go:
 *   0. classify the cases (type and identity checks only: a bound recv or
 *      recv_ok of a Chan, a (ch.send, value) tuple, or `default`), and
 *      reject a malformed one before anything happens;
 *   1. lock every channel (in address order, each once) and poll the cases
 *      in a random order: the first ready one is performed;
 *   2. otherwise, unless there is a default or the timeout is zero, queue a
 *      waiter on every case, in that same random order (so that a partner
 *      arriving on a channel that several cases share picks one at random),
 *      unlock and park;
 *   3. once woken, take the waiters of the cases that lost off their
 *      queues: gc_park does it, without the GIL, before it retakes it
 *      (see "Exit" in gochan.h).
 * A select never pairs its own send with its own receive: its waiters are
 * only queued after polling, and only other threads complete them.
 */
#include "gochan.h"

#include <time.h>

enum { CASE_RECV, CASE_RECV_OK, CASE_SEND, CASE_DEFAULT, CASE_NIL };

typedef struct {
    gc_chan *c;
    PyObject *elem;     /* send: value (borrowed from the argument tuple) */
    int kind;           /* CASE_* */
    int recv_ok;        /* for CASE_NIL: the shape of the result if it ever fired */
} gc_case;

static __thread uint64_t rng_state;

uint64_t gc_rand(void) {
    uint64_t x = rng_state;
    if (__builtin_expect(x == 0, 0)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)&rng_state;
        if (x == 0)
            x = 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static int is_method(PyObject *o, PyCFunction meth) {
    return PyCFunction_Check(o) &&
           ((PyCFunctionObject *)o)->m_ml->ml_meth == meth &&
           GcChan_Check(((PyCFunctionObject *)o)->m_self);
}
#define RECV_M ((PyCFunction)(void (*)(void))gc_chan_recv_m)
#define RECV_OK_M ((PyCFunction)(void (*)(void))gc_chan_recv_ok_m)
#define SEND_M ((PyCFunction)(void (*)(void))gc_chan_send_m)

static int case_error(PyObject *exc, Py_ssize_t i, PyObject *o, const char *why) {
    PyErr_Format(exc, "select: case %zd (%R): %s", i, o, why);
    return -1;
}

static int classify(PyObject *const *args, Py_ssize_t n, gc_case *cases, Py_ssize_t *dflt) {
    *dflt = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = args[i];
        gc_case *cs = &cases[i];
        cs->elem = NULL;
        if (o == gc_default) {
            if (*dflt >= 0) {
                PyErr_Format(PyExc_ValueError,
                             "select: case %zd (%R): a second default (the first is case %zd)",
                             i, o, *dflt);
                return -1;
            }
            *dflt = i;
            cs->kind = CASE_DEFAULT;
            cs->c = NULL;
            continue;
        }
        if (is_method(o, RECV_M) || is_method(o, RECV_OK_M)) {
            cs->c = (gc_chan *)((PyCFunctionObject *)o)->m_self;
            cs->kind = is_method(o, RECV_M) ? CASE_RECV : CASE_RECV_OK;
        } else if (PyTuple_Check(o) && PyTuple_GET_SIZE(o) == 2 &&
                   is_method(PyTuple_GET_ITEM(o, 0), SEND_M)) {
            cs->c = (gc_chan *)((PyCFunctionObject *)PyTuple_GET_ITEM(o, 0))->m_self;
            cs->kind = CASE_SEND;
            cs->elem = PyTuple_GET_ITEM(o, 1);
            if (cs->c->kind == GC_KIND_TIMER)
                return case_error(PyExc_TypeError, i, o, "send on a receive-only timer channel");
        } else if (is_method(o, SEND_M)) {
            return case_error(PyExc_TypeError, i, o,
                              "a send case is a pair (ch.send, value)");
        } else if (PyTuple_Check(o) && PyTuple_GET_SIZE(o) > 0 &&
                   is_method(PyTuple_GET_ITEM(o, 0), SEND_M)) {
            PyErr_Format(PyExc_ValueError,
                         "select: case %zd (%R): a send case is a pair (ch.send, value), "
                         "not %zd items", i, o, PyTuple_GET_SIZE(o));
            return -1;
        } else {
            return case_error(PyExc_TypeError, i, o,
                              "not a channel operation (expected ch.recv, ch.recv_ok, "
                              "(ch.send, value) or default)");
        }
        if (__builtin_expect(cs->c->bubble != NULL, 0) && gc_bubble_check(cs->c, "select") < 0)
            return -1;
        if (cs->c->kind == GC_KIND_NIL) {
            cs->recv_ok = cs->kind == CASE_RECV_OK;
            cs->kind = CASE_NIL;     /* never ready */
        }
    }
    return 0;
}

/* The distinct channels of the live cases, in address order (lock order). */
static int lock_order(gc_case *cases, const int *live, int nlive, gc_chan **order) {
    for (int k = 0; k < nlive; k++)
        order[k] = cases[live[k]].c;
    return gc_lock_order(order, nlive);
}

/* The tuple (i, v); steals v (also on error). */
static PyObject *pair(Py_ssize_t i, PyObject *v) {
    PyObject *idx = PyLong_FromSsize_t(i);
    PyObject *t = idx ? PyTuple_New(2) : NULL;
    if (!t) {
        Py_XDECREF(idx);
        Py_DECREF(v);
        return NULL;
    }
    PyTuple_SET_ITEM(t, 0, idx);
    PyTuple_SET_ITEM(t, 1, v);
    return t;
}

/* (i, value) for a completed case. */
static PyObject *case_result(gc_case *cs, Py_ssize_t i, gc_parker *res) {
    PyObject *v;
    if (cs->kind == CASE_SEND) {
        if (res->result == GC_RES_CLOSED)
            return gc_closed_error("send on closed channel");
        v = Py_NewRef(Py_None);
    } else {
        v = gc_take_result(cs->c, res);
        if (v && cs->kind == CASE_RECV_OK) {
            PyObject *t = PyTuple_New(2);
            if (!t) {
                Py_DECREF(v);
                return NULL;
            }
            PyTuple_SET_ITEM(t, 0, v);
            PyTuple_SET_ITEM(t, 1, Py_NewRef(res->result == GC_RES_OK ? Py_True : Py_False));
            v = t;
        }
        if (!v)
            return NULL;
    }
    return pair(i, v);
}

#define STACK_CASES 16

/* TimeoutError naming the select's channels (default has none here). */
static void select_timeout_error(gc_case *cases, int n, PyObject *timeout) {
    gc_chan *stack[STACK_CASES] = {0}, **chans = n <= STACK_CASES ? stack : PyMem_Malloc(n * sizeof(gc_chan *));
    if (!chans) {
        PyErr_NoMemory();
        return;
    }
    int m = 0;
    for (int i = 0; i < n; i++)
        if (cases[i].kind != CASE_DEFAULT)
            chans[m++] = cases[i].c;
    gc_timeout_error(GC_OP_SELECT, chans, m, timeout);
    if (chans != stack)
        PyMem_Free(chans);
}

PyObject *gc_select(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    PyObject *timeout = NULL;
    if (kwnames) {
        Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t k = 0; k < nkw; k++) {
            PyObject *name = PyTuple_GET_ITEM(kwnames, k);
            if (!gc_is_str(name, "timeout")) {
                PyErr_Format(PyExc_TypeError, "select() got an unexpected keyword argument %R", name);
                return NULL;
            }
            timeout = args[nargs + k];
        }
    }
    if (nargs > 0x7fffffff) {
        PyErr_SetString(PyExc_ValueError, "select: too many cases");
        return NULL;
    }
    int n = (int)nargs;
    double deadline;
    int nonblock;
    if (gc_parse_timeout(timeout, &deadline, &nonblock) < 0)
        return NULL;

    gc_case cases_s[STACK_CASES];
    int live_s[STACK_CASES];
    gc_chan *order_s[STACK_CASES];
    gc_sudog sg_s[STACK_CASES];
    gc_case *cases = cases_s;
    int *live = live_s;
    gc_chan **order = order_s;
    gc_sudog *sg = sg_s;
    void *heap = NULL;
    if (n > STACK_CASES) {
        heap = PyMem_Malloc(n * (sizeof(gc_case) + sizeof(int) + sizeof(gc_chan *) + sizeof(gc_sudog)));
        if (!heap)
            return PyErr_NoMemory();
        sg = (gc_sudog *)heap;
        cases = (gc_case *)(sg + n);
        order = (gc_chan **)(cases + n);
        live = (int *)(order + n);
    }
    PyObject *ret = NULL;
    Py_ssize_t dflt;
    if (classify(args, n, cases, &dflt) < 0)
        goto out;

    for (;;) {
        /* pass 1: poll the live cases in a random order (an inside-out
           shuffle; one draw of gc_rand seeds an inline LCG whose high bits
           pick each position, so a select pays for one TLS access) */
        int nlive = 0;
        uint64_t rs = gc_rand();
        for (int i = 0; i < n; i++) {
            if (cases[i].kind == CASE_DEFAULT || cases[i].kind == CASE_NIL)
                continue;
            rs = rs * 6364136223846793005ull + 1442695040888963407ull;
            int j = (int)(((rs >> 32) * (uint64_t)(nlive + 1)) >> 32);   /* in [0, nlive] */
            live[nlive] = live[j];
            live[j] = i;
            nlive++;
        }
        int m = lock_order(cases, live, nlive, order);
        gc_lock_all(order, m);
        gc_parker p;
        gc_parker_init(&p);
        gc_parker *wake = NULL;
        int chosen = -1;
        for (int k = 0; k < nlive && chosen < 0; k++) {
            int i = live[k];
            gc_case *cs = &cases[i];
            if (cs->kind == CASE_SEND) {
                if (cs->c->closed) {
                    p.result = GC_RES_CLOSED;
                    chosen = i;
                    break;
                }
                Py_INCREF(cs->elem);
                int r = gc_chan_trysend_locked(cs->c, cs->elem, &wake);
                if (r == 1) {
                    chosen = i;
                } else {
                    Py_DECREF(cs->elem);   /* the argument tuple keeps it alive */
                    if (r == -2) {
                        gc_unlock_all(order, m);
                        PyErr_NoMemory();
                        goto out;
                    }
                }
            } else if (gc_chan_tryrecv_locked(cs->c, &p, &wake)) {
                chosen = i;
            }
        }
        if (chosen >= 0) {
            gc_unlock_all(order, m);
            if (wake)
                gc_wake(wake);
            ret = case_result(&cases[chosen], chosen, &p);
            goto out;
        }
        if (dflt >= 0 || nonblock) {
            gc_unlock_all(order, m);
            if (dflt >= 0)
                ret = pair(dflt, Py_NewRef(Py_None));
            else
                select_timeout_error(cases, n, timeout);
            goto out;
        }

        /* pass 2: wait on every live case */
        for (int k = 0; k < nlive; k++) {
            int i = live[k];
            sg[k].p = &p;
            sg[k].c = cases[i].c;
            sg[k].elem = cases[i].kind == CASE_SEND ? cases[i].elem : NULL;
            sg[k].caseidx = i;
            gc_waitq_push(sg[k].elem ? &cases[i].c->sendq : &cases[i].c->recvq, &sg[k]);
        }
        gc_unlock_all(order, m);
        p.op = GC_OP_SELECT;
        int r = gc_park(&p, sg, nlive, deadline);
        if (r == GC_PARK_WOKEN) {
            /* pass 3 is done: gc_park took the losers' waiters off */
            ret = case_result(&cases[p.fired], p.fired, &p);
            goto out;
        }
        if (r == GC_PARK_TIMEOUT) {
            select_timeout_error(cases, n, timeout);
            goto out;
        }
        if (r == GC_PARK_ERROR)
            goto out;
        /* GC_PARK_RETRY: poll again */
    }
out:
    PyMem_Free(heap);
    return ret;
}
