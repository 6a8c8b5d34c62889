# cffi cannot be declared in pyproject.toml: cffi_modules builds gochan/_core
# (see gochan/_build.py) into the extension gochan._gochan_cffi.
from setuptools import setup

setup(cffi_modules=["gochan/_build.py:ffibuilder"])
