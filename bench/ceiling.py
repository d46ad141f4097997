"""The database's own ceiling: raw pymongo ``find_one`` by ``_id``, N threads, no service.

The same SecantusDB, the same principal documents the service reads and as many concurrent
clients as the HTTP scenarios have connections; the service's 304 path reads twice (the access
token's allowlist entry and the principal), so its ceiling is half of this.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from pymongo import MongoClient


def find_one_rate(uri: str, database: str, threads: int, duration: float, warmup: float) -> float:
    client: MongoClient[dict[str, Any]] = MongoClient(uri, maxPoolSize=threads)
    try:
        principals = client[database]["principals"]
        ids = [document["_id"] for document in principals.find({}, {"_id": 1}).limit(1000)]
        assert ids, "the ceiling needs documents to read"
        started = time.perf_counter()
        measure_from, stop_at = started + warmup, started + warmup + duration
        counts = [0] * threads

        def reader(slot: int) -> None:
            index = slot
            while (now := time.perf_counter()) < stop_at:
                principals.find_one({"_id": ids[index % len(ids)]})
                index += threads
                if now >= measure_from:
                    counts[slot] += 1

        workers = [threading.Thread(target=reader, args=(slot,)) for slot in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return sum(counts) / duration
    finally:
        client.close()
