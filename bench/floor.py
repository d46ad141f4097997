"""The Connexion floor: a one-path Connexion 3.3 AsyncApp, served the way the service is.

What any service on this stack cannot beat on this machine: the same framework, the same
uvicorn options as ``twofactor serve`` (no access log, no log config, N worker processes, each
listening on a socket of its own: ``twofactor.listeners``), one ``GET /api/health`` answered by a
plain function, like the service's own health handler.
Run as ``python -m bench.floor --port P --workers N``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import uvicorn
from connexion import AsyncApp
from uvicorn.supervisors import Multiprocess

from twofactor import listeners


def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Any:
    app = AsyncApp(__name__, specification_dir=Path(__file__).parent)
    app.add_api("floor.yaml", base_path="/api")
    return app


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    arguments = parser.parse_args()
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": arguments.port,
        "access_log": False,
        "log_config": None,
    }
    if arguments.workers <= 1:
        uvicorn.run(create_app(), **options)
    else:
        # As ``twofactor serve`` does: without it, the connections the benchmark opens at once
        # may all go to one worker, and the floor at N workers would be the floor at one.
        config = uvicorn.Config(
            "bench.floor:create_app", factory=True, workers=arguments.workers, **options
        )
        with listeners.reserve(config.host, config.port) as reserved:
            Multiprocess(config, sockets=listeners.for_each_worker(reserved)).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
