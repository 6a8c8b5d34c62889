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
    py_limited_api=False,
)

if __name__ == "__main__":
    os.chdir(os.path.dirname(_here))
    ffibuilder.compile(verbose=True)
