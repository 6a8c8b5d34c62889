#!/usr/bin/env bash
# Builds free-threaded CPython 3.13 ("3.13t") from Debian trixie's source
# package, once, into a cache outside the checkout (default
# /var/cache/gochan-ci/python3.13t), and prints the interpreter's path.
# No 3.13t/3.14t binary can be had on these machines (see issue #12): the
# source comes from Debian's archive, through a private apt configuration
# so the system's own lists are untouched.  About 6 minutes on 2 cores.
set -euo pipefail
CACHE=${GOCHAN_FT_CACHE:-/var/cache/gochan-ci}
PREFIX=$CACHE/python3.13t
PY=$PREFIX/bin/python3.13t
if [ -x "$PY" ] && "$PY" -c 'import sysconfig, sys; sys.exit(0 if sysconfig.get_config_var("Py_GIL_DISABLED") else 1)'; then
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
./configure --prefix="$PREFIX" --disable-gil --disable-test-modules >&2
make -j"$(nproc)" >&2
make install >&2
"$PY" -c 'import sysconfig, sys; sys.exit(0 if sysconfig.get_config_var("Py_GIL_DISABLED") else 1)'
echo "$PY"
