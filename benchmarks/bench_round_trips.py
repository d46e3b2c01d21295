"""Round trips per call, counted on the wire: each store runs once more through a counting TCP proxy.

The proxy (``tests/tcp_proxy.py``) counts each time a client sends after having last heard from the
server: one request/response exchange for the synchronous drivers measured here. Counted after a
warm-up (pools filled, psycopg's statements prepared), as the median of a few calls per operation.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Final

from sqlalchemy.engine import URL

from bench_data import Row
from bench_targets import GET_TOKENS, OPERATIONS, SAVE_INSERT, Target
from tcp_proxy import TcpProxy  # tests/ is on sys.path via bench_data

WARM_UP: Final = 8
COUNTED: Final = 5

#: (backend, store, operation) -> median round trips per call.
RoundTrips = dict[tuple[str, str, str], float]


def count_round_trips(
    backend: str, url: URL, rows: Sequence[Row], make: Callable[[str, URL, Sequence[Row]], Target]
) -> RoundTrips:
    """Round trips of every SDK operation of the target ``make`` builds on a proxied ``url``."""
    counted: RoundTrips = {}
    with TcpProxy(str(url.host or "127.0.0.1"), int(url.port or 0)) as proxy:
        target = make(backend, url.set(host="127.0.0.1", port=proxy.port), rows)
        try:
            for name in OPERATIONS:
                if name == GET_TOKENS or name not in target.operations:
                    continue
                operation = target.operations[name]
                arguments = operation.prepare(WARM_UP + COUNTED)
                for argument in arguments[:WARM_UP]:
                    operation.call(argument)
                counts = []
                for argument in arguments[WARM_UP:]:
                    before = proxy.round_trips
                    operation.call(argument)
                    counts.append(proxy.round_trips - before)
                counted[(backend, target.store, name)] = statistics.median(counts)
                if name == SAVE_INSERT:
                    target.remove_inserted()
        finally:
            target.close()
    return counted
