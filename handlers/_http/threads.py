"""Where blocking work runs: one thread pool, reached by one cheap hop from the event loop.

The service is synchronous below the handlers (pymongo, argon2, SMTP), so every operation and the
allowlist read of the access-token check run in a worker thread, never on the event loop.
Connexion would run a plain ``def`` handler through Starlette's ``run_in_threadpool`` (anyio's
worker threads), which costs about four times the CPU of ``loop.run_in_executor`` per hop under
concurrent load (measured: bench/README.md, "Where the time goes"). So ``on_threads`` wraps every
plain handler of the spec into a coroutine that makes that hop itself (``app.py`` applies it to
each ``operationId`` as it is resolved), and ``run_blocking`` is the hop for the security functions.

The context variables of the request (Connexion's ``request``) are copied into the thread, as
anyio does. ``WORKERS`` is anyio's default limit: how many blocking calls run at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

WORKERS = 40

_pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="twofactor-blocking")


async def run_blocking(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``function(*args, **kwargs)`` in a worker thread, with the caller's context variables."""
    call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_pool, call)


def on_threads(function: Callable[..., Any]) -> Callable[..., Any]:
    """A coroutine function running the plain ``function`` in the pool, with its name and
    signature; a coroutine function is returned as it is.

    Connexion (3.3) builds an operation's parameter decorator anew for every request, and each
    time reads the signature of the function it finds at the end of the ``__wrapped__`` chain.
    Computing a function's signature takes about 8 us; reading one stored in ``__signature__``
    about 2 us. So the wrapper stores the original's signature and does not point Connexion past
    itself: Connexion passes the same keyword arguments, read from that stored signature.
    """
    if inspect.iscoroutinefunction(function):
        return function

    @functools.wraps(function)
    async def handler(*args: Any, **kwargs: Any) -> Any:
        return await run_blocking(function, *args, **kwargs)

    handler.__signature__ = inspect.signature(function)  # type: ignore[attr-defined]
    del handler.__wrapped__
    return handler
