#!/usr/bin/env bash
# The Docker part of CI: a private Docker engine and a locally made base image
# for tests/test_docker.py (the examples as PID 1 of real containers).
#
#   . .ci/docker.sh              from .ci/run: start the engine and export
#                                DOCKER_HOST, GOCHAN_DOCKER, GOCHAN_DOCKER_BASE
#                                for the test command; the engine is stopped
#                                when the sourcing shell exits
#   .ci/docker.sh [PYTEST ARGS]  by hand (venv active): start the engine, run
#                                python -m pytest -q -m docker tests/test_docker.py,
#                                stop the engine
#
# Debian's docker.io (and debootstrap) are installed when missing.  dockerd
# runs on its own socket, data root, exec root and pidfile in a fresh
# /var/tmp/gochan-docker.XXXXXX, with its own (empty) config and no networking
# (the tests need none: no registry is reachable anyway), so it never touches
# a system engine and several runs can share a machine.  The base image is a
# Debian bookworm with python3 (3.11, as in python:3.11-slim), made with
# debootstrap from the machine's Debian mirror once and cached as a tarball in
# $GOCHAN_CI_CACHE (default /var/cache/gochan-ci): a warm machine only
# `docker import`s it.

gochan_docker_mirror() {
    # The machine's own Debian mirror (deb822 or one-line apt sources).
    local m
    m=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -m1 '/debian/\?$' || true)
    [ -n "$m" ] || m=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
                       | awk '$2 ~ /\/debian\/?$/ {print $2; exit}' || true)
    echo "${m:-http://deb.debian.org/debian}"
}

gochan_docker_umount_under() {
    # Unmount whatever is still mounted below $1 (deepest first).
    awk -v d="$1/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
        umount -l "$m" || true
    done
}

gochan_docker_install() {
    local missing=()
    command -v dockerd >/dev/null && [ -x /usr/bin/docker ] || missing+=(docker.io)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "docker.sh: installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

gochan_docker_reap_stale() {
    # Directories of earlier runs whose dockerd is gone (a run that was killed).
    # (Older than 5 minutes: a run that is starting has no pidfile yet.)
    local d pid
    for d in $(find /var/tmp -maxdepth 1 -name 'gochan-docker.*' -type d -mmin +5); do
        pid=$(cat "$d/dockerd.pid" 2>/dev/null || true)
        if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
            gochan_docker_umount_under "$d"
            rm -rf "$d"
        fi
    done
}

gochan_docker_start() {
    gochan_docker_reap_stale
    GOCHAN_DOCKER_DIR=$(mktemp -d /var/tmp/gochan-docker.XXXXXX)
    echo '{}' >"$GOCHAN_DOCKER_DIR/daemon.json"
    dockerd --config-file "$GOCHAN_DOCKER_DIR/daemon.json" \
        --host "unix://$GOCHAN_DOCKER_DIR/docker.sock" \
        --data-root "$GOCHAN_DOCKER_DIR/data" --exec-root "$GOCHAN_DOCKER_DIR/exec" \
        --pidfile "$GOCHAN_DOCKER_DIR/dockerd.pid" \
        --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
        >"$GOCHAN_DOCKER_DIR/dockerd.log" 2>&1 &
    GOCHAN_DOCKERD_PID=$!
    export DOCKER_HOST="unix://$GOCHAN_DOCKER_DIR/docker.sock"
    # docker.io's own client, which speaks the engine's API version.
    GOCHAN_DOCKER=/usr/bin/docker
    [ -x "$GOCHAN_DOCKER" ] || GOCHAN_DOCKER=$(command -v docker)
    export GOCHAN_DOCKER
    local i
    for i in $(seq 1 120); do
        if "$GOCHAN_DOCKER" version >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$GOCHAN_DOCKERD_PID" 2>/dev/null; then
            break
        fi
        sleep 0.5
    done
    echo "docker.sh: dockerd did not come up; its log:" >&2
    tail -n 30 "$GOCHAN_DOCKER_DIR/dockerd.log" >&2
    return 1
}

gochan_docker_stop() {
    [ -n "${GOCHAN_DOCKER_DIR:-}" ] || return 0
    if [ -n "${GOCHAN_DOCKERD_PID:-}" ] && kill -0 "$GOCHAN_DOCKERD_PID" 2>/dev/null; then
        kill -TERM "$GOCHAN_DOCKERD_PID"
        local i
        for i in $(seq 1 60); do
            kill -0 "$GOCHAN_DOCKERD_PID" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$GOCHAN_DOCKERD_PID" 2>/dev/null; then
            echo "docker.sh: dockerd ignored SIGTERM for 30 s, SIGKILL" >&2
            kill -KILL "$GOCHAN_DOCKERD_PID" || true
        fi
        wait "$GOCHAN_DOCKERD_PID" 2>/dev/null || true
    fi
    gochan_docker_umount_under "$GOCHAN_DOCKER_DIR"
    rm -rf "$GOCHAN_DOCKER_DIR"
    GOCHAN_DOCKER_DIR=
}

gochan_docker_base() {
    # The base image: built into the cache once, imported into this run's engine.
    local cache=${GOCHAN_CI_CACHE:-/var/cache/gochan-ci}
    local tar=$cache/base-bookworm-python3-v1.tar
    export GOCHAN_DOCKER_BASE=gochan-ci/python:3.11-bookworm
    mkdir -p "$cache"
    (
        flock 9
        if [ ! -s "$tar" ]; then
            local rootfs mirror
            mirror=$(gochan_docker_mirror)
            rootfs=$(mktemp -d /var/tmp/gochan-rootfs.XXXXXX)
            echo "docker.sh: making the base image with debootstrap from $mirror"
            # python-is-python3: `python`, as in python:3.11-slim.
            if ! debootstrap --variant=minbase --include=python3,python3-pip,python-is-python3 \
                    bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1; then
                tail -n 30 "$rootfs.log" >&2
                gochan_docker_umount_under "$rootfs"
                rm -rf "$rootfs" "$rootfs.log"
                exit 1
            fi
            gochan_docker_umount_under "$rootfs"
            # pip installs into the system Python, as in python:3.11-slim
            # (which has no EXTERNALLY-MANAGED marker); drop what no test reads.
            rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
            rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* \
                "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
            tar -C "$rootfs" --numeric-owner -cf "$tar.tmp.$$" .
            mv "$tar.tmp.$$" "$tar"
            rm -rf "$rootfs" "$rootfs.log"
        fi
    ) 9>"$cache/base.lock"
    "$GOCHAN_DOCKER" import --change 'CMD ["python3"]' "$tar" "$GOCHAN_DOCKER_BASE" >/dev/null
}

gochan_docker_setup() {
    local t0=$SECONDS
    gochan_docker_install
    gochan_docker_start
    gochan_docker_base
    echo "docker.sh: engine $("$GOCHAN_DOCKER" version --format '{{.Server.Version}}') at $DOCKER_HOST," \
         "base image $GOCHAN_DOCKER_BASE, ready in $((SECONDS - t0)) s"
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    # Sourced (by .ci/run): the engine lives as long as the sourcing shell.
    trap gochan_docker_stop EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    gochan_docker_setup
else
    set -euo pipefail
    cd "$(dirname "$0")/.."
    trap gochan_docker_stop EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    gochan_docker_setup
    t0=$SECONDS
    CI=true python -m pytest -q -m docker tests/test_docker.py "$@"
    echo "docker.sh: the Docker tests took $((SECONDS - t0)) s"
fi
