# The cffi extension built from gochan/_core (see gochan/_build.py).
from typing import Any

ffi: Any
lib: Any
