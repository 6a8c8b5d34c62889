/* chan.c: the Chan type — send, recv, close, the buffer and the wait queues.
 *
 * Every function here runs with the GIL held (see the invariants in
 * gochan.h), except gc_chan_trysend_locked, which the timer thread also
 * calls (with the heap lock held and a reference it already owns).
 */
#include "gochan.h"

#include <stdlib.h>

PyObject *gc_ClosedChannelError;

PyObject *gc_closed_error(const char *msg) {
    PyErr_SetString(gc_ClosedChannelError, msg);
    return NULL;
}

/* A string built in a fixed buffer with no printf (glibc's vfprintf is
   most of the cost of a failed recv(timeout=0) otherwise); truncates. */
typedef struct { char *b; size_t n, size; } gc_sbuf;
static void sb_put(gc_sbuf *s, const char *a) {
    while (*a && s->n + 1 < s->size)
        s->b[s->n++] = *a++;
    s->b[s->n] = 0;
}
static void sb_int(gc_sbuf *s, long long v) {
    char d[24];
    int k = sizeof d - 1;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    d[k] = 0;
    do
        d[--k] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        d[--k] = '-';
    sb_put(s, d + k);
}

/* The repr of c, "<Chan cap=0 len=0 open>" (the Chan type's repr and the
   TimeoutError messages share it). */
static void chan_repr_buf(gc_chan *c, gc_sbuf *s) {
    if (c->kind == GC_KIND_NIL) {
        sb_put(s, "<Chan nil>");
        return;
    }
    int timer = c->kind == GC_KIND_TIMER;
    sb_put(s, timer ? "<Chan timer cap=" : "<Chan cap=");
    sb_int(s, timer ? 0 : c->cap);
    sb_put(s, " len=");
    sb_int(s, timer ? 0 : __atomic_load_n(&c->count, __ATOMIC_RELAXED));
    sb_put(s, c->closed ? " closed>" : " open>");
}

/* Appends str(timeout) for an exact int or float; 0 for another type (a
   subclass's __str__ may be anything: the caller formats it with %S). */
static int timeout_str_buf(PyObject *timeout, gc_sbuf *s) {
    if (PyLong_CheckExact(timeout)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(timeout, &overflow);
        if (overflow || (v == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return 0;
        }
        sb_int(s, v);
        return 1;
    }
    if (PyFloat_CheckExact(timeout)) {
        char *r = PyOS_double_to_string(PyFloat_AS_DOUBLE(timeout), 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
        if (!r) {
            PyErr_Clear();
            return 0;
        }
        sb_put(s, r);
        PyMem_Free(r);
        return 1;
    }
    return 0;
}

PyObject *gc_timeout_error(int op, gc_chan *const *chans, int n, PyObject *timeout) {
    if (op != GC_OP_SELECT && n == 1) {
        /* send/recv: formatted in C with no intermediate Python strings --
           a failed recv(timeout=0) is a polling loop's common case, and
           three nested PyUnicode_FromFormat calls cost 3x the raise */
        char msg[200];
        gc_sbuf s = {msg, 0, sizeof msg};
        sb_put(&s, op == GC_OP_SEND ? "send on " : "recv on ");
        chan_repr_buf(chans[0], &s);
        sb_put(&s, " timed out");
        if (timeout) {
            size_t before = s.n;
            sb_put(&s, " after ");
            if (!timeout_str_buf(timeout, &s)) {
                msg[before] = 0;
                PyErr_Format(PyExc_TimeoutError, "%s after %S s", msg, timeout);
                return NULL;
            }
            sb_put(&s, " s");
        }
        PyErr_SetString(PyExc_TimeoutError, msg);
        return NULL;
    }
    PyObject *what = gc_op_text(op, chans, n);
    if (!what)
        return NULL;
    if (timeout)
        PyErr_Format(PyExc_TimeoutError, "%U timed out after %S s", what, timeout);
    else
        PyErr_Format(PyExc_TimeoutError, "%U timed out", what);
    Py_DECREF(what);
    return NULL;
}

/* ---- wait queues (c locked) -------------------------------------------- */

void gc_waitq_push(gc_waitq *q, gc_sudog *s) {
    s->next = NULL;
    s->prev = q->last;
    if (q->last)
        q->last->next = s;
    else
        q->first = s;
    q->last = s;
    __atomic_store_n(&s->queued, 1, __ATOMIC_RELAXED);   /* read without the lock: unqueue_all */
}

void gc_waitq_unlink(gc_waitq *q, gc_sudog *s) {
    if (s->prev)
        s->prev->next = s->next;
    else
        q->first = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        q->last = s->prev;
    s->next = s->prev = NULL;
    /* Release: the owner may read this 0 without the lock (unqueue_all) and
       then reuse the sudog's memory (its stack), so every store to the
       sudog above must be visible before it -- found by ThreadSanitizer on
       an instrumented interpreter, timer.c's fire() unlinking a stale
       waiter of a select that had completed elsewhere. */
    __atomic_store_n(&s->queued, 0, __ATOMIC_RELEASE);
}

gc_sudog *gc_waitq_take(gc_waitq *q) {
    gc_sudog *s = q->first;
    while (s) {
        gc_sudog *next = s->next;
        int seen = GC_FREE;
        if (__atomic_compare_exchange_n(&s->p->done, &seen, GC_CLAIMED, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            gc_waitq_unlink(q, s);
            return s;
        }
        if (seen != GC_PAUSED)
            gc_waitq_unlink(q, s);   /* stale: its select completed elsewhere,
                                        or it is giving up (timeout, signal) */
        s = next;
    }
    return NULL;
}

/* ---- locking several channels (select, and park.c's resume) ------------ */

static int cmp_chan(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)*(gc_chan *const *)a, y = (uintptr_t)*(gc_chan *const *)b;
    return x < y ? -1 : x > y;
}

int gc_lock_order_slow(gc_chan **chans, int n) {
    if (n <= 16) {      /* the usual select: insertion sort */
        for (int k = 1; k < n; k++) {
            gc_chan *x = chans[k];
            int j = k - 1;
            while (j >= 0 && (uintptr_t)chans[j] > (uintptr_t)x) {
                chans[j + 1] = chans[j];
                j--;
            }
            chans[j + 1] = x;
        }
    } else {
        qsort(chans, n, sizeof(gc_chan *), cmp_chan);
    }
    int m = 0;
    for (int k = 0; k < n; k++)
        if (m == 0 || chans[m - 1] != chans[k])
            chans[m++] = chans[k];
    return m;
}

/* ---- the ring buffer (c locked) ---------------------------------------- */

/* Moves the values to a ring of nsize (a power of two >= count); returns -1
   if memory ran out (the ring is unchanged). */
static int ring_resize(gc_chan *c, Py_ssize_t nsize) {
    PyObject **nring = malloc(nsize * sizeof(PyObject *));
    if (!nring)
        return -1;
    for (Py_ssize_t i = 0; i < c->count; i++)
        nring[i] = c->ring[(c->head + i) & (c->size - 1)];
    free(c->ring);
    c->ring = nring;
    c->size = nsize;
    c->head = 0;
    return 0;
}

/* Appends an owned reference; returns -1 if memory ran out. */
static int ring_push(gc_chan *c, PyObject *v) {
    if (c->count == c->size && ring_resize(c, c->size ? c->size * 2 : 8) < 0)
        return -1;
    c->ring[(c->head + c->count) & (c->size - 1)] = v;
    c->count++;
    return 0;
}

/* Removes the oldest value (count > 0); shrinks a mostly empty ring (or
   keeps the larger one if memory ran out). */
static PyObject *ring_pop(gc_chan *c) {
    PyObject *v = c->ring[c->head];
    c->head = (c->head + 1) & (c->size - 1);
    c->count--;
    if (c->size > 64 && c->count < c->size / 4)
        ring_resize(c, c->size / 2);
    return v;
}

/* ---- the two halves of an operation ------------------------------------ */

/* Send `owned` (a reference the caller gives up on success) without
   blocking.  c locked, not a timer channel.  Returns 1 sent (*wake: a parker
   to wake after unlocking, or NULL), 0 would block, -1 closed, -2 no memory;
   the reference is kept by the caller unless 1 is returned. */
int gc_chan_trysend_locked(gc_chan *c, PyObject *owned, gc_parker **wake) {
    if (c->closed)
        return -1;
    gc_sudog *r = gc_waitq_take(&c->recvq);
    if (r) {   /* direct hand-off: count == 0 whenever a receiver waits */
        r->p->value = owned;
        r->p->result = GC_RES_OK;
        r->p->fired = r->caseidx;
        *wake = r->p;
        return 1;
    }
    if (c->count < c->cap)
        return ring_push(c, owned) < 0 ? -2 : 1;
    return 0;
}

/* Receive without blocking into res.  c locked.  Returns 1 done (res holds
   the value, the time of a timer, or GC_RES_CLOSED; *wake as above), 0 would
   block. */
int gc_chan_tryrecv_locked(gc_chan *c, gc_parker *res, gc_parker **wake) {
    if (c->kind == GC_KIND_TIMER) {
        if (!gc_timer_take_locked(c->timer, &res->tval, 1))
            return 0;
        res->has_tval = 1;
        res->result = GC_RES_OK;
        return 1;
    }
    gc_sudog *s = gc_waitq_take(&c->sendq);
    if (s) {
        Py_INCREF(s->elem);
        if (c->count > 0) {
            /* full buffer: take the oldest, the sender's value goes last */
            Py_ssize_t mask = c->size - 1;
            res->value = c->ring[c->head];
            c->head = (c->head + 1) & mask;
            c->ring[(c->head + c->count - 1) & mask] = s->elem;   /* count unchanged */
        } else {
            res->value = s->elem;
        }
        res->result = GC_RES_OK;
        s->p->result = GC_RES_OK;
        s->p->fired = s->caseidx;
        *wake = s->p;
        return 1;
    }
    if (c->count > 0) {
        res->value = ring_pop(c);
        res->result = GC_RES_OK;
        return 1;
    }
    if (c->closed) {
        res->value = NULL;
        res->result = GC_RES_CLOSED;
        return 1;
    }
    return 0;
}

PyObject *gc_take_result(gc_chan *c, gc_parker *res) {
    if (res->has_tval)
        return PyFloat_FromDouble(res->tval);
    if (res->value)
        return res->value;
    return Py_NewRef(c->zero ? c->zero : Py_None);   /* zero is NULL once cleared by the GC */
}

/* ---- blocking operations ----------------------------------------------- */

/* One send (v != NULL) or receive (v == NULL) on c, blocking as long as
   `timeout` allows.  Returns 0 once it has happened: a receive's result is
   in p; a send refused because c is closed has p->result GC_RES_CLOSED.
   Returns -1 with an exception (TimeoutError, KeyboardInterrupt, ...) if
   nothing happened. */
static int chan_op(gc_chan *c, PyObject *v, PyObject *timeout, gc_parker *p) {
    double deadline;
    int nonblock;
    if (__builtin_expect(c->bubble != NULL, 0) && gc_bubble_check(c, v ? "send" : "recv") < 0)
        return -1;
    if (gc_parse_timeout(timeout, &deadline, &nonblock) < 0)
        return -1;
    for (;;) {
        gc_parker_init(p);
        gc_parker *wake = NULL;
        gc_sudog sg;
        int n = 0;
        if (c->kind != GC_KIND_NIL) {
            int r;
            gc_lock_acquire(&c->lock);
            if (v) {
                Py_INCREF(v);
                r = gc_chan_trysend_locked(c, v, &wake);
                if (r != 1)
                    Py_DECREF(v);   /* never the last reference: the caller has one */
            } else {
                r = gc_chan_tryrecv_locked(c, p, &wake);
            }
            if (r != 0) {
                gc_lock_release(&c->lock);
                if (wake)
                    gc_wake(wake);
                if (r == -2) {
                    PyErr_NoMemory();
                    return -1;
                }
                if (r == -1)
                    p->result = GC_RES_CLOSED;
                return 0;
            }
            if (!nonblock) {
                sg.p = p;
                sg.c = c;
                sg.elem = v;
                sg.caseidx = 0;
                gc_waitq_push(v ? &c->sendq : &c->recvq, &sg);
                n = 1;
            }
            gc_lock_release(&c->lock);
        }
        int op = v ? GC_OP_SEND : GC_OP_RECV;
        if (nonblock) {
            gc_timeout_error(op, &c, 1, timeout);
            return -1;
        }
        p->op = op;
        switch (gc_park(p, &sg, n, deadline)) {
        case GC_PARK_WOKEN:
            return 0;
        case GC_PARK_TIMEOUT:
            gc_timeout_error(op, &c, 1, timeout);
            return -1;
        case GC_PARK_ERROR:
            return -1;
        }   /* GC_PARK_RETRY: start over */
    }
}

/* Receives from c; *ok as in Go's `v, ok := <-c`.  NULL with an exception
   means nothing was received. */
static PyObject *chan_recv(gc_chan *c, PyObject *timeout, int *ok) {
    gc_parker p;
    if (chan_op(c, NULL, timeout, &p) < 0)
        return NULL;
    *ok = p.result == GC_RES_OK;
    return gc_take_result(c, &p);
}

/* Sends v on c.  Returns 0 once delivered or buffered, -1 with an exception
   (ClosedChannelError, TimeoutError, ...) and v not delivered. */
static int chan_send(gc_chan *c, PyObject *v, PyObject *timeout) {
    gc_parker p;
    if (c->kind == GC_KIND_TIMER) {
        PyErr_SetString(PyExc_TypeError, "send on a receive-only timer channel");
        return -1;
    }
    if (chan_op(c, v, timeout, &p) < 0)
        return -1;
    if (p.result == GC_RES_CLOSED) {
        gc_closed_error("send on closed channel");
        return -1;
    }
    return 0;
}

/* close: mark closed, claim every waiter while locked, wake them after. */
static PyObject *chan_close(gc_chan *c, PyObject *unused) {
    if (c->kind == GC_KIND_NIL)
        return gc_closed_error("close of nil channel");
    if (c->kind == GC_KIND_TIMER) {
        PyErr_SetString(PyExc_TypeError, "close of a receive-only timer channel");
        return NULL;
    }
    if (c->bubble && gc_bubble_check(c, "close") < 0)
        return NULL;
    gc_lock_acquire(&c->lock);
    if (c->closed) {
        gc_lock_release(&c->lock);
        return gc_closed_error("close of closed channel");
    }
    c->closed = 1;
    gc_sudog *woken = NULL, *s;
    gc_waitq *queues[2] = {&c->recvq, &c->sendq};
    for (int q = 0; q < 2; q++) {
        while ((s = gc_waitq_take(queues[q])) != NULL) {
            s->p->value = NULL;
            s->p->result = GC_RES_CLOSED;
            s->p->fired = s->caseidx;
            s->next = woken;
            woken = s;
        }
    }
    gc_lock_release(&c->lock);
    while (woken) {
        gc_sudog *next = woken->next;   /* read before the waiter can vanish */
        gc_wake_nogil(woken->p);   /* many wake at once: none waits for the GIL hint */
        woken = next;
    }
    Py_RETURN_NONE;
}

/* ---- argument parsing for send/recv (fast path: no keywords) ----------- */

static int parse_timeout_kw(const char *fname, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames, Py_ssize_t npos, PyObject **timeout) {
    *timeout = NULL;
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs + nkw > npos + 1 || nargs < npos) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd positional argument%s and an optional timeout",
                     fname, npos, npos == 1 ? "" : "s");
        return -1;
    }
    if (nargs == npos + 1)
        *timeout = args[npos];
    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *k = PyTuple_GET_ITEM(kwnames, i);
        if (!PyUnicode_Check(k) || !gc_is_str(k, "timeout") || *timeout) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument %R", fname, k);
            return -1;
        }
        *timeout = args[nargs + i];
    }
    return 0;
}

PyObject *gc_chan_recv_m(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames) {
    PyObject *timeout = NULL;
    int ok;
    if ((nargs || kwnames) && parse_timeout_kw("recv", args, nargs, kwnames, 0, &timeout) < 0)
        return NULL;
    return chan_recv((gc_chan *)self, timeout, &ok);
}

PyObject *gc_chan_recv_ok_m(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames) {
    PyObject *timeout = NULL;
    int ok;
    if ((nargs || kwnames) && parse_timeout_kw("recv_ok", args, nargs, kwnames, 0, &timeout) < 0)
        return NULL;
    PyObject *v = chan_recv((gc_chan *)self, timeout, &ok);
    if (!v)
        return NULL;
    PyObject *t = PyTuple_New(2);
    if (!t) {
        Py_DECREF(v);
        return NULL;
    }
    PyTuple_SET_ITEM(t, 0, v);
    PyTuple_SET_ITEM(t, 1, Py_NewRef(ok ? Py_True : Py_False));
    return t;
}

PyObject *gc_chan_send_m(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames) {
    PyObject *timeout = NULL;
    if ((nargs != 1 || kwnames) && parse_timeout_kw("send", args, nargs, kwnames, 1, &timeout) < 0)
        return NULL;
    if (chan_send((gc_chan *)self, args[0], timeout) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* ---- the type ------------------------------------------------------------ */

static PyObject *chan_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"size", "zero", NULL};
    PyObject *size = NULL, *zero = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O$O:Chan", kwlist, &size, &zero))
        return NULL;
    Py_ssize_t cap = 0;
    if (size) {
        if (!PyLong_Check(size) || PyBool_Check(size)) {
            PyErr_Format(PyExc_TypeError,
                         "Chan size must be an int, not %.100s (%R)", Py_TYPE(size)->tp_name, size);
            return NULL;
        }
        cap = PyLong_AsSsize_t(size);
        if (cap == -1 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError))
                return NULL;
            PyErr_Clear();
            cap = gc_long_sign(size) < 0 ? -1 : PY_SSIZE_T_MAX;
            if (cap > 0) {
                PyErr_Format(PyExc_ValueError, "Chan size %R is out of range", size);
                return NULL;
            }
        }
        if (cap < 0) {
            PyErr_Format(PyExc_ValueError, "Chan size must be >= 0, got %R", size);
            return NULL;
        }
    }
    gc_chan *c = PyObject_GC_New(gc_chan, type);
    if (!c)
        return NULL;
    gc_lock_init(&c->lock);
    c->closed = 0;
    c->kind = GC_KIND_NORMAL;
    c->cap = cap;
    c->count = c->head = c->size = 0;
    c->ring = NULL;
    c->recvq.first = c->recvq.last = NULL;
    c->sendq.first = c->sendq.last = NULL;
    c->zero = Py_NewRef(zero);
    c->weakreflist = NULL;
    c->timer = NULL;
    c->bubble = gc_bubble_cur;
    Py_XINCREF(c->bubble);
    PyObject_GC_Track(c);
    return (PyObject *)c;
}

static int chan_clear(gc_chan *c) {
    /* detach the buffer under the lock, release the values after it */
    gc_lock_acquire(&c->lock);
    PyObject **ring = c->ring;
    Py_ssize_t size = c->size, head = c->head, count = c->count;
    c->ring = NULL;
    c->size = c->count = c->head = 0;
    gc_lock_release(&c->lock);
    for (Py_ssize_t i = 0; i < count; i++)
        Py_DECREF(ring[(head + i) & (size - 1)]);
    free(ring);
    Py_CLEAR(c->zero);
    if (c->timer) {
        Py_CLEAR(c->timer->fn);
        Py_CLEAR(c->timer->fargs);
    }
    return 0;
}

static int chan_traverse(gc_chan *c, visitproc visit, void *arg) {
    Py_VISIT(c->zero);
    if (c->timer) {
        Py_VISIT(c->timer->fn);
        Py_VISIT(c->timer->fargs);
    }
    /* The values are visited under the lock: visit() runs no Python code.
       (The timer thread may append to a buffer concurrently.) */
    int r = 0;
    gc_lock_acquire(&c->lock);
    for (Py_ssize_t i = 0; i < c->count && !r; i++)
        r = visit(c->ring[(c->head + i) & (c->size - 1)], arg);
    gc_lock_release(&c->lock);
    return r;
}

static void chan_dealloc(gc_chan *c) {
    PyObject_GC_UnTrack(c);
    if (c->timer)
        gc_timer_dealloc(c);     /* the timer thread can no longer reach c */
    if (c->weakreflist)
        PyObject_ClearWeakRefs((PyObject *)c);
    chan_clear(c);
    Py_XDECREF(c->bubble);
    PyObject_GC_Del(c);
}

static Py_ssize_t chan_len(gc_chan *c) {
    return c->kind == GC_KIND_TIMER ? 0 : __atomic_load_n(&c->count, __ATOMIC_RELAXED);
}

static PyObject *chan_repr(gc_chan *c) {
    char buf[96];
    gc_sbuf s = {buf, 0, sizeof buf};
    chan_repr_buf(c, &s);
    return PyUnicode_FromString(buf);
}

static PyObject *chan_iternext(gc_chan *c) {
    int ok;
    PyObject *v = chan_recv(c, NULL, &ok);
    if (v && !ok) {
        Py_DECREF(v);
        return NULL;            /* StopIteration: closed and drained */
    }
    return v;
}

static PyObject *chan_get_cap(gc_chan *c, void *unused) {
    return PyLong_FromSsize_t(c->kind == GC_KIND_TIMER ? 0 : c->cap);
}

static PyObject *chan_no_copy(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    PyErr_SetString(PyExc_TypeError,
                    "a Chan cannot be pickled or copied: share the channel itself");
    return NULL;
}

/* Test hook: (parked receivers, parked senders) queued on this channel. */
static PyObject *chan_waiters(gc_chan *c, PyObject *unused) {
    Py_ssize_t n[2] = {0, 0};
    gc_waitq *queues[2] = {&c->recvq, &c->sendq};
    gc_lock_acquire(&c->lock);
    for (int q = 0; q < 2; q++)
        for (gc_sudog *s = queues[q]->first; s; s = s->next)
            if (__atomic_load_n(&s->p->done, __ATOMIC_ACQUIRE) != GC_CLAIMED)
                n[q]++;
    gc_lock_release(&c->lock);
    return Py_BuildValue("(nn)", n[0], n[1]);
}

PyMethodDef gc_chan_methods[] = {
    {"send", (PyCFunction)(void (*)(void))gc_chan_send_m, METH_FASTCALL | METH_KEYWORDS,
     "send(v, timeout=None)\n--\n\nSend v; block until a receiver takes it or the buffer has room."},
    {"recv", (PyCFunction)(void (*)(void))gc_chan_recv_m, METH_FASTCALL | METH_KEYWORDS,
     "recv(timeout=None)\n--\n\nReceive the next value (the zero value once closed and drained)."},
    {"recv_ok", (PyCFunction)(void (*)(void))gc_chan_recv_ok_m, METH_FASTCALL | METH_KEYWORDS,
     "recv_ok(timeout=None)\n--\n\nReceive (value, ok); ok is False once closed and drained."},
    {"close", (PyCFunction)chan_close, METH_NOARGS,
     "close()\n--\n\nClose the channel: wake every receiver and make senders raise."},
    {"_waiters", (PyCFunction)chan_waiters, METH_NOARGS, "Test hook: (receivers, senders) parked."},
    {"__reduce_ex__", (PyCFunction)(void (*)(void))chan_no_copy, METH_FASTCALL, NULL},
    {"__reduce__", (PyCFunction)(void (*)(void))chan_no_copy, METH_FASTCALL, NULL},
    {"__copy__", (PyCFunction)(void (*)(void))chan_no_copy, METH_FASTCALL, NULL},
    {"__deepcopy__", (PyCFunction)(void (*)(void))chan_no_copy, METH_FASTCALL, NULL},
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, "Chan[T] for type checkers."},
    {NULL}};

static PyGetSetDef chan_getset[] = {
    {"cap", (getter)chan_get_cap, NULL, "capacity (0: unbuffered)", NULL},
    {NULL}};

/* A channel is always true, even when empty (as `ch != nil` in Go);
   only nilchan is false. */
static int chan_bool(gc_chan *c) { return c->kind != GC_KIND_NIL; }

static PySequenceMethods chan_as_sequence = {.sq_length = (lenfunc)chan_len};
static PyNumberMethods chan_as_number = {.nb_bool = (inquiry)chan_bool};

PyTypeObject GcChan_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "gochan.Chan",
    .tp_basicsize = sizeof(gc_chan),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Chan(size=0, *, zero=None)\n--\n\n"
              "A Go channel: unbuffered (size 0, a rendezvous) or buffered FIFO.",
    .tp_new = chan_new,
    .tp_dealloc = (destructor)chan_dealloc,
    .tp_traverse = (traverseproc)chan_traverse,
    .tp_clear = (inquiry)chan_clear,
    .tp_repr = (reprfunc)chan_repr,
    .tp_as_sequence = &chan_as_sequence,
    .tp_as_number = &chan_as_number,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)chan_iternext,
    .tp_methods = gc_chan_methods,
    .tp_getset = chan_getset,
    .tp_weaklistoffset = offsetof(gc_chan, weakreflist),
};
