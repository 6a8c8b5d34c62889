"""The cffi ffibuilder for gochan's C core (API mode).

Runnable on its own (``python gochan/_build.py``) or through setup.py's
``cffi_modules``.  Every ``gochan/_core/*.c`` file is compiled into one
extension, ``gochan._gochan_cffi``; every ``_core/*.cdef`` file contributes
the declarations that Python reaches through ``lib``.  The hot paths do not go
through ``lib`` at all: ``gochan_native_init()`` registers native CPython
types and functions (module ``gochan._native``) compiled into the same
extension, because a cffi call releases and retakes the GIL on every call.
"""
import glob
import os
import sysconfig

from cffi import FFI  # type: ignore[import-untyped]

_here = os.path.dirname(os.path.abspath(__file__))
_core = os.path.join(_here, "_core")


def _rel(path: str) -> str:
    # setuptools wants source paths relative to the directory of setup.py.
    return os.path.relpath(path, os.getcwd())


_sources = sorted(glob.glob(os.path.join(_core, "*.c")))
_headers = sorted(glob.glob(os.path.join(_core, "*.h")))
_cdefs = sorted(glob.glob(os.path.join(_core, "*.cdef")))

# The .cdef files are plain C prototypes: they are both cffi's declarations
# and the prototypes the generated wrapper needs.
_cdef = "\n".join(open(p).read() for p in _cdefs)

# Free-threaded CPython: cffi's generated module must not use the limited
# API, which does not exist there (cffi < 2 defines Py_LIMITED_API unless
# told not to).
_macros = [("_CFFI_NO_LIMITED_API", None)] if sysconfig.get_config_var("Py_GIL_DISABLED") else []

ffibuilder = FFI()
ffibuilder.cdef(_cdef)
ffibuilder.set_source(
    "gochan._gochan_cffi",
    '#include "gochan.h"\n' + _cdef,
    sources=[_rel(p) for p in _sources],
    include_dirs=[_rel(_core)],
    depends=[_rel(p) for p in _sources + _headers + _cdefs],
    extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wno-unused-function"],
    libraries=["pthread"],
    define_macros=_macros,
    py_limited_api=False,
)

if __name__ == "__main__":
    os.chdir(os.path.dirname(_here))
    ffibuilder.compile(verbose=True)
