/* module.c: registers the native module gochan._native.
 *
 * cffi compiles this file into gochan._gochan_cffi, but every cffi call
 * releases the GIL and costs ~100 ns, so the channel operations are plain
 * CPython types and functions.  gochan_native_init(), the one cffi entry
 * point, builds the module and puts it in sys.modules; gochan/_chan.py
 * imports it from there.
 */
#include "gochan.h"

#include <stdio.h>

PyObject *gc_default;
gc_chan *gc_nilchan;

static PyObject *native_module;
static char init_error[512];

/* ---- the `default` marker ------------------------------------------------ */

static PyObject *default_repr(PyObject *self) { return PyUnicode_FromString("default"); }

static PyTypeObject GcDefault_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "gochan.DefaultCase",
    .tp_basicsize = sizeof(PyObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The `default` case of select: makes select non-blocking.",
    .tp_repr = default_repr,
};

static PyObject *parked_threads(PyObject *mod, PyObject *unused) {
    return PyLong_FromLong(__atomic_load_n(&gc_parked_threads, __ATOMIC_RELAXED));
}

static PyObject *is_timer(PyObject *mod, PyObject *ch) {
    return PyBool_FromLong(GcChan_Check(ch) && ((gc_chan *)ch)->kind == GC_KIND_TIMER);
}

static PyMethodDef native_functions[] = {
    {"is_timer", is_timer, METH_O, "is_timer(ch) -> bool: a timer's (receive-only) channel?"},
    {"select", (PyCFunction)(void (*)(void))gc_select, METH_FASTCALL | METH_KEYWORDS,
     "select(*cases, timeout=None)\n--\n\n"
     "Perform exactly one ready case (chosen at random among the ready ones),\n"
     "blocking until one is ready unless `default` is a case; return (index, value)."},
    {"parked_threads", parked_threads, METH_NOARGS, "Test hook: threads parked in gochan now."},
    {"spin_state", gc_spin_state, METH_NOARGS, "Test hook: (may spin now, CPUs used by other processes, CPUs this process used other than spinning)."},
    {"timer_new", (PyCFunction)(void (*)(void))gc_timer_new, METH_FASTCALL,
     "timer_new(kind, seconds[, fn, args]) -> timer channel"},
    {"timer_stop", gc_timer_stop, METH_O, "timer_stop(ch) -> bool: whether it was pending"},
    {"timer_reset", (PyCFunction)(void (*)(void))gc_timer_reset, METH_FASTCALL,
     "timer_reset(ch, seconds) -> bool: whether it was pending"},
    {"timers_in_heap", gc_timer_pending, METH_NOARGS, "Test hook: timers waiting in the heap."},
    {"after_fork_child", gc_timer_after_fork_child, METH_NOARGS,
     "Restart the timer thread in a forked child."},
    {NULL}};

static struct PyModuleDef native_def = {
    PyModuleDef_HEAD_INIT, "gochan._native",
    "gochan's C core: Chan, select, timers (registered by gochan_native_init).", -1,
    native_functions};

static int build(void) {
    if (PyType_Ready(&GcChan_Type) < 0 || PyType_Ready(&GcDefault_Type) < 0)
        return -1;
    if (gc_park_init() < 0)
        return -1;
    PyObject *m = PyModule_Create(&native_def);
    if (!m)
        return -1;
#ifdef Py_GIL_DISABLED
    /* the core keeps its own locks (see gochan.h): it needs no GIL */
    if (PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED) < 0) {
        Py_DECREF(m);
        return -1;
    }
#endif
    gc_ClosedChannelError = PyErr_NewExceptionWithDoc(
        "gochan.ClosedChannelError",
        "Go's channel panics: send on closed channel, close of closed channel, "
        "close of nil channel.",
        PyExc_RuntimeError, NULL);
    gc_default = PyObject_New(PyObject, &GcDefault_Type);
    gc_nilchan = (gc_chan *)PyObject_CallNoArgs((PyObject *)&GcChan_Type);
    if (!gc_ClosedChannelError || !gc_default || !gc_nilchan)
        goto fail;
    gc_nilchan->kind = GC_KIND_NIL;
    if (PyModule_AddObject(m, "Chan", Py_NewRef((PyObject *)&GcChan_Type)) < 0 ||
        PyModule_AddObject(m, "ClosedChannelError", Py_NewRef(gc_ClosedChannelError)) < 0 ||
        PyModule_AddObject(m, "default", Py_NewRef(gc_default)) < 0 ||
        PyModule_AddObject(m, "nilchan", Py_NewRef((PyObject *)gc_nilchan)) < 0 ||
        PyModule_AddIntConstant(m, "TIMER_ONESHOT", GC_TIMER_ONESHOT) < 0 ||
        PyModule_AddIntConstant(m, "TIMER_TICKER", GC_TIMER_TICKER) < 0 ||
        PyModule_AddIntConstant(m, "TIMER_FUNC", GC_TIMER_FUNC) < 0 ||
        gc_timer_init(m) < 0 || gc_bubble_init(m) < 0)
        goto fail;
    native_module = m;
    return 0;
fail:
    Py_DECREF(m);
    return -1;
}

static void record_error(void) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *s = value ? PyObject_Str(value) : NULL;
    const char *msg = s ? PyUnicode_AsUTF8(s) : NULL;
    snprintf(init_error, sizeof init_error, "%s", msg ? msg : "unknown error");
    PyErr_Clear();
    Py_XDECREF(s);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

/* Called through cffi (so without the GIL).  Returns 0, or -1 with a
   message for gochan_native_error(). */
int gochan_native_init(void) {
    PyGILState_STATE g = PyGILState_Ensure();
    int r = 0;
    if (!native_module && build() < 0)
        r = -1;
    if (r == 0 && PyDict_SetItemString(PyImport_GetModuleDict(), "gochan._native", native_module) < 0)
        r = -1;
    if (r < 0)
        record_error();
    PyGILState_Release(g);
    return r;
}

const char *gochan_native_error(void) { return init_error; }
