"""Loads gochan's C core.  There is no pure-Python fallback: without the
core, ``import gochan`` fails and says how to build it."""
from __future__ import annotations

try:
    from gochan._gochan_cffi import ffi as _ffi, lib as _lib
except ImportError as e:  # pragma: no cover - depends on the installation
    raise ImportError(
        "gochan: its C core (gochan._gochan_cffi) is not built or cannot be "
        f"loaded ({e}). It is compiled when gochan is installed: install a C "
        "compiler and the Python headers (Debian/Ubuntu: apt-get install gcc "
        "python3-dev) and run `pip install .` (or, in a source tree, `python "
        "setup.py build_ext --inplace`)."
    ) from e

if _lib.gochan_native_init() != 0:  # pragma: no cover
    raise ImportError(
        "gochan: the C core failed to initialise: "
        + _ffi.string(_lib.gochan_native_error()).decode(errors="replace")
    )

from gochan import _native  # noqa: E402  (registered by gochan_native_init)

__all__ = ["_native", "_lib", "_ffi"]
