"""A unique-ID service that hides its counter behind a channel.

Go:
    id := make(chan string)
    go func() {
        var counter int64 = 0
        for {
            id <- fmt.Sprintf("%x", counter)
            counter += 1
        }
    }()
    x := <-id  // "0", then "1", ...

Only the service thread touches `counter`, so it needs no lock: each receive
from the channel is one step of the service's loop.
"""

from __future__ import annotations

from gochan import Chan, RecvChan, WaitGroup, go


def id_service() -> RecvChan[str]:
    ids: Chan[str] = Chan()

    def serve() -> None:
        counter = 0
        while True:
            ids.send(f"{counter:x}")
            counter += 1

    go(serve)  # a daemon thread: it does not keep the program alive
    return ids


def main() -> None:
    ids = id_service()
    print("first ids:", ids.recv(), ids.recv(), ids.recv())

    # Eight threads draw 1000 ids each at the same time.
    taken: Chan[list[str]] = Chan(8)
    wg = WaitGroup()

    def client() -> None:
        try:
            taken.send([ids.recv() for _ in range(1000)])
        finally:
            wg.done()

    for _ in range(8):
        wg.add(1)
        go(client)
    wg.wait(timeout=60)
    taken.close()
    all_ids = [x for batch in taken for x in batch]
    print("ids drawn by 8 threads:", len(all_ids))
    expected = {f"{n:x}" for n in range(3, 8003)}
    print("each of 3..1f42 exactly once:", sorted(all_ids) == sorted(expected))
    print("next id:", ids.recv())  # 3 + 8000 ids were drawn before it


if __name__ == "__main__":
    main()
