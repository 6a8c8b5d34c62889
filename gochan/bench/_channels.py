"""Channel scenarios: buffered and unbuffered traffic, close, memory, the prime sieve.

Queue emulations (said in each scenario's note): a queue has no close, so
"close" is one sentinel per receiver; it has no unbuffered mode, so a
rendezvous is a round trip over two queues.
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Any, Callable

from ._libs import GO_LIBS, QUEUE, QUEUES, SIMPLE_QUEUE, GoLib, QueueLib, wait_receivers_parked
from ._registry import Budget, scenario
from ._util import BenchError, Spinner, rss_bytes, seconds_per_op

#: End-of-stream marker for the queue emulations of close.
STOP = object()

# ---------------------------------------------------------------- buffered

BUFFERED = scenario(
    "buffered_same_thread",
    "cap 128; one thread does 100 sends then 100 recvs, repeated",
    unit="ns/pair",
)


def _hundred_pairs(send: Callable[[Any], None], recv: Callable[[], Any]) -> Callable[[], None]:
    """A step of 100 sends then 100 receives."""
    hundred = range(100)

    def step() -> None:
        for i in hundred:
            send(i)
        for _ in hundred:
            recv()

    return step


def _send_recv(lib: GoLib | QueueLib, capacity: int) -> tuple[Callable[[Any], None], Callable[[], Any]]:
    """A buffered channel (or queue) of ``capacity``, as its bound send and receive."""
    if isinstance(lib, GoLib):
        ch = lib.chan(capacity)
        return ch.send, ch.recv
    q = lib.new(capacity)
    return q.put, q.get


_UNBOUNDED = "SimpleQueue is unbounded (no capacity)"


@BUFFERED.implement((SIMPLE_QUEUE,), note=_UNBOUNDED)
@BUFFERED.implement(GO_LIBS + (QUEUE,))
def _buffered(lib: GoLib | QueueLib, b: Budget) -> float:
    return seconds_per_op(_hundred_pairs(*_send_recv(lib, 128)), 100, b) * 1e9


# ---------------------------------------------------------------- ping-pong

PINGPONG = scenario(
    "unbuffered_pingpong",
    "two threads, two unbuffered channels, 20k round trips",
    unit="us/round trip",
)


def _pingpong(send: Callable[[Any], None], recv: Callable[[], Any], start_echo: Callable[[], None], b: Budget) -> float:
    """Time round trips: send a value, wait for the echo thread to send it back."""
    n = b.pick(20_000, 5_000, 200)
    start_echo()
    t0 = time.perf_counter()
    for i in range(n):
        send(i)
        if recv() != i:
            raise BenchError("ping-pong: echo returned the wrong value")
    elapsed = time.perf_counter() - t0
    send(None)  # stops the echo thread
    return elapsed / n * 1e6


@PINGPONG.implement(GO_LIBS)
def _pingpong_go(lib: GoLib, b: Budget) -> float:
    ping, pong = lib.chan(0), lib.chan(0)

    def echo() -> None:
        recv, send = ping.recv, pong.send
        while (v := recv()) is not None:
            send(v)

    return _pingpong(ping.send, pong.recv, lambda: lib.go(echo), b)


@PINGPONG.implement(QUEUES, note="no unbuffered queue: two unbounded queues, each side waits for the reply")
def _pingpong_queue(lib: QueueLib, b: Budget) -> float:
    ping, pong = lib.new(0), lib.new(0)

    def echo() -> None:
        get, put = ping.get, pong.put
        while (v := get()) is not None:
            put(v)

    return _pingpong(ping.put, pong.get, threading.Thread(target=echo, daemon=True).start, b)


# ---------------------------------------------------------------- producers/consumers

PRODCONS = scenario(
    "prodcons_4x4",
    "cap 64, 4 producers, 4 consumers, 200k items; checks none lost or duplicated",
    unit="ns/item",
)


def _check_all_received(received: list[list[int]], n: int) -> None:
    """Every item 0..n-1 arrived exactly once."""
    got = sorted(v for part in received for v in part)
    if got != list(range(n)):
        raise BenchError(f"prodcons: {n} items sent, {len(got)} received, {len(set(got))} distinct")


def prodcons_go(lib: GoLib, n: int, pairs: int) -> float:
    """ns per item: ``pairs`` producers send n items (in all) on one cap-64 channel, ``pairs`` consumers
    receive until it is closed; checks every item arrived once."""
    per = n // pairs
    n = per * pairs
    ch, start = lib.chan(64), lib.chan(0)
    produced, consumed = lib.chan(pairs), lib.chan(pairs)

    def producer(k: int) -> None:
        start.recv()
        send = ch.send
        for i in range(k * per, (k + 1) * per):
            send(i)
        produced.send(None)

    def consumer() -> None:
        start.recv()
        got: list[int] = []
        append, recv_ok = got.append, lib.recv_ok(ch)
        while True:
            v, ok = recv_ok()
            if not ok:
                break
            append(v)
        consumed.send(got)

    for k in range(pairs):
        lib.go(consumer)
        lib.go(producer, k)
    t0 = time.perf_counter()
    start.close()
    for _ in range(pairs):
        produced.recv()
    ch.close()
    received = [consumed.recv() for _ in range(pairs)]
    elapsed = time.perf_counter() - t0
    _check_all_received(received, n)
    return elapsed / n * 1e9


def prodcons_queue(lib: QueueLib, n: int, pairs: int) -> float:
    """:func:`prodcons_go` on a queue (maxsize 64; SimpleQueue: unbounded); end of stream = one sentinel per consumer."""
    per = n // pairs
    n = per * pairs
    q = lib.new(64)
    start = threading.Event()
    received: list[list[int]] = []

    def producer(k: int) -> None:
        start.wait()
        put = q.put
        for i in range(k * per, (k + 1) * per):
            put(i)

    def consumer() -> None:
        start.wait()
        got: list[int] = []
        append, get = got.append, q.get
        while (v := get()) is not STOP:
            append(v)
        received.append(got)

    consumers = [threading.Thread(target=consumer, daemon=True) for _ in range(pairs)]
    producers = [threading.Thread(target=producer, args=(k,), daemon=True) for k in range(pairs)]
    for t in consumers + producers:
        t.start()
    t0 = time.perf_counter()
    start.set()
    for t in producers:
        t.join()
    for _ in consumers:
        q.put(STOP)
    for t in consumers:
        t.join()
    elapsed = time.perf_counter() - t0
    _check_all_received(received, n)
    return elapsed / n * 1e9


#: How the queue columns of the producer/consumer scenarios work.
PRODCONS_QUEUE_NOTE = "end of stream = one sentinel per consumer; SimpleQueue is unbounded"


@PRODCONS.implement(GO_LIBS)
def _prodcons_go(lib: GoLib, b: Budget) -> float:
    return prodcons_go(lib, b.pick(200_000, 40_000, 2_000), 4)


@PRODCONS.implement(QUEUES, note=PRODCONS_QUEUE_NOTE)
def _prodcons_queue(lib: QueueLib, b: Budget) -> float:
    return prodcons_queue(lib, b.pick(200_000, 40_000, 2_000), 4)


# ---------------------------------------------------------------- close broadcast

CLOSE_BROADCAST = scenario(
    "close_broadcast_100",
    "100 threads blocked in recv; from close() until all have returned",
    unit="ms",
)
RECEIVERS = 100


def _broadcast(lib: GoLib | QueueLib, ch: Any, recv: Callable[[], Any], wake_all: Callable[[], None]) -> float:
    """Start RECEIVERS threads blocked in recv(), wake them with wake_all(); ms until the last returned."""
    returned = [0.0] * RECEIVERS
    ready = threading.Semaphore(0)

    def receiver(k: int) -> None:
        ready.release()
        recv()
        returned[k] = time.perf_counter()

    threads = [threading.Thread(target=receiver, args=(k,), daemon=True) for k in range(RECEIVERS)]
    for t in threads:
        t.start()
    for _ in threads:
        ready.acquire()
    wait_receivers_parked(lib, ch, RECEIVERS)
    t0 = time.perf_counter()
    wake_all()
    for t in threads:
        t.join()
    return (max(returned) - t0) * 1e3


@CLOSE_BROADCAST.implement(GO_LIBS)
def _close_broadcast_go(lib: GoLib, b: Budget) -> float:
    ch = lib.chan(0)
    return _broadcast(lib, ch, ch.recv, ch.close)


@CLOSE_BROADCAST.implement(QUEUES, note="no close: 100 sentinels put in a row")
def _close_broadcast_queue(lib: QueueLib, b: Budget) -> float:
    q = lib.new(0)

    def put_sentinels() -> None:
        for _ in range(RECEIVERS):
            q.put(STOP)

    return _broadcast(lib, q, q.get, put_sentinels)


# ---------------------------------------------------------------- memory

CHAN_MEMORY = scenario(
    "chan_memory",
    "RSS growth per idle unbuffered channel, over 100k channels",
    unit="bytes/chan",
    fresh_process_per_repeat=True,
    warmup=False,
)


def _rss_per_object(make: Callable[[], Any], n: int) -> float:
    """Bytes of RSS that n live objects from make() add, per object (the list holding them excluded)."""
    held: list[Any] = [None] * n
    gc.collect()
    before = rss_bytes()
    for i in range(n):
        held[i] = make()
    after = rss_bytes()
    return (after - before) / n


@CHAN_MEMORY.implement(GO_LIBS)
def _chan_memory_go(lib: GoLib, b: Budget) -> float:
    return _rss_per_object(lambda: lib.chan(0), b.pick(100_000, 100_000, 2_000))


@CHAN_MEMORY.implement(QUEUES, note="an empty queue (no unbuffered queue exists)")
def _chan_memory_queue(lib: QueueLib, b: Budget) -> float:
    return _rss_per_object(lambda: lib.new(0), b.pick(100_000, 100_000, 2_000))


# ---------------------------------------------------------------- sieve

SIEVE = scenario(
    "sieve",
    "Go's concurrent prime sieve: first 100 primes (the generator stops at 541), one thread per filter",
    unit="ms",
)
PRIMES = 100
LAST_PRIME = 541  # the 100th prime: the generator stops there so that every thread ends


def _first_primes(n: int) -> list[int]:
    """The first n primes, by trial division (the reference the sieve is checked against)."""
    primes: list[int] = []
    k = 2
    while len(primes) < n:
        if all(k % p for p in primes):
            primes.append(k)
        k += 1
    return primes


def _check_primes(primes: list[int]) -> None:
    if primes != _first_primes(PRIMES):
        raise BenchError(f"sieve: wrong primes {primes[:10]}...")


@SIEVE.implement(GO_LIBS)
def _sieve_go(lib: GoLib, b: Budget) -> float:
    def generate(out: Any) -> None:
        for i in range(2, LAST_PRIME + 1):
            out.send(i)
        out.close()

    def filter_(inp: Any, out: Any, prime: int) -> None:
        recv_ok, send = lib.recv_ok(inp), out.send
        while True:
            v, ok = recv_ok()
            if not ok:
                break
            if v % prime:
                send(v)
        out.close()

    t0 = time.perf_counter()
    ch = lib.chan(0)
    lib.go(generate, ch)
    primes = []
    for _ in range(PRIMES):
        prime = ch.recv()
        primes.append(prime)
        ch1 = lib.chan(0)
        lib.go(filter_, ch, ch1, prime)
        ch = ch1
    elapsed = time.perf_counter() - t0
    if lib.recv_ok(ch)()[1]:  # waits for the close to ripple through every filter
        raise BenchError("sieve: a number passed every filter")
    _check_primes(primes)
    return elapsed * 1e3


@SIEVE.implement(
    QUEUES,
    note="queue.Queue(maxsize=1) per stage (SimpleQueue: unbounded, stages run ahead); close = sentinel passed down",
)
def _sieve_queue(lib: QueueLib, b: Budget) -> float:
    def generate(out: Any) -> None:
        for i in range(2, LAST_PRIME + 1):
            out.put(i)
        out.put(STOP)

    def filter_(inp: Any, out: Any, prime: int) -> None:
        get, put = inp.get, out.put
        while (v := get()) is not STOP:
            if v % prime:
                put(v)
        out.put(STOP)

    def spawn(fn: Callable[..., None], *args: Any) -> None:
        threading.Thread(target=fn, args=args, daemon=True).start()

    t0 = time.perf_counter()
    q = lib.new(1)
    spawn(generate, q)
    primes = []
    for _ in range(PRIMES):
        prime = q.get()
        primes.append(prime)
        q1 = lib.new(1)
        spawn(filter_, q, q1, prime)
        q = q1
    elapsed = time.perf_counter() - t0
    if q.get() is not STOP:
        raise BenchError("sieve: a number passed every filter")
    _check_primes(primes)
    return elapsed * 1e3


# ---------------------------------------------------------------- CPU-bound bystander

BYSTANDER = scenario(
    "buffered_cpu_bystander",
    "buffered_same_thread while another Python thread spins on the CPU",
    unit="ns/pair",
)


@BYSTANDER.implement((SIMPLE_QUEUE,), note=_UNBOUNDED)
@BYSTANDER.implement(GO_LIBS + (QUEUE,))
def _bystander(lib: GoLib | QueueLib, b: Budget) -> float:
    step = _hundred_pairs(*_send_recv(lib, 128))
    with Spinner():
        return seconds_per_op(step, 100, b) * 1e9
