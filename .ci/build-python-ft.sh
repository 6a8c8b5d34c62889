#!/usr/bin/env bash
# Builds free-threaded CPython 3.13 ("3.13t") from Debian trixie's source
# package, once, into a cache outside the checkout (default
# /var/cache/gochan-ci/python3.13t), and prints the interpreter's path.
# No 3.13t/3.14t binary can be had on these machines (see issue #12): the
# source comes from Debian's archive, through a private apt configuration
# so the system's own lists are untouched.  About 6 minutes on 2 cores.
#
# With --tsan it builds the same interpreter instrumented by ThreadSanitizer
# (gcc's: Debian 12's clang 14 runtime crashes here) into python3.13t-tsan,
# so that tests/test_tsan.py sees CPython's own synchronisation too.  TSan's
# fixed memory layout needs ASLR off here (setarch -R), for the build as
# well, since the build runs the new interpreter.
set -euo pipefail
CACHE=${GOCHAN_FT_CACHE:-/var/cache/gochan-ci}
TSAN=0
[ "${1:-}" = --tsan ] && TSAN=1
if [ $TSAN = 1 ]; then
    PREFIX=$CACHE/python3.13t-tsan
    CONFIG_EXTRA=(--with-thread-sanitizer CC=gcc)
    RUN=(setarch "$(uname -m)" -R)
    CHECK='import sysconfig, sys; sys.exit(0 if sysconfig.get_config_var("Py_GIL_DISABLED") and "thread-sanitizer" in sysconfig.get_config_var("CONFIG_ARGS") else 1)'
else
    PREFIX=$CACHE/python3.13t
    CONFIG_EXTRA=()
    RUN=()
    CHECK='import sysconfig, sys; sys.exit(0 if sysconfig.get_config_var("Py_GIL_DISABLED") else 1)'
fi
PY=$PREFIX/bin/python3.13t
if [ -x "$PY" ] && "${RUN[@]}" "$PY" -c "$CHECK"; then
    echo "$PY"; exit 0
fi
mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# The archive the machine's own sources name (deb.debian.org here).
URI=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
URI=${URI:-http://deb.debian.org/debian}
mkdir -p "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial"
echo "deb-src [trusted=yes] $URI trixie main" > "$WORK/apt/sources.list"
APTOPT=(-o Dir::Etc::sourcelist="$WORK/apt/sources.list" -o Dir::Etc::sourceparts=-
        -o Dir::State::Lists="$WORK/apt/lists" -o Dir::Cache="$WORK/apt/cache"
        -o APT::Get::List-Cleanup=0)
apt-get "${APTOPT[@]}" update >&2
cd "$WORK"
apt-get "${APTOPT[@]}" source --download-only python3.13 >&2
tar xf "$(ls python3.13_*.orig.tar.* | grep -v "\.asc$" | head -1)" >&2
SRC=$(find . -maxdepth 1 -type d -name 'Python-3.13*' | head -1)
cd "$SRC"
"${RUN[@]}" ./configure --prefix="$PREFIX" --disable-gil --disable-test-modules "${CONFIG_EXTRA[@]}" >&2
"${RUN[@]}" make -j"$(nproc)" >&2
"${RUN[@]}" make install >&2
"${RUN[@]}" "$PY" -c "$CHECK"
echo "$PY"
