"""The hop to the thread pool: a plain handler runs in a worker thread with the request's context
variables, and Connexion still finds its parameters."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from connexion.decorators.parameter import unwrap_decorators
from connexion.utils import inspect_function_arguments

from handlers._http.threads import on_threads, run_blocking

REQUEST = contextvars.ContextVar[str]("request")


def plain_handler(
    token_info: dict[str, str], body: dict[str, str], locale: str | None = None
) -> str:
    """A handler as the spec names them: its keyword arguments are what Connexion passes."""
    return f"{token_info['sub']} {body['code']} {locale} {REQUEST.get()}"


def test_connexion_reads_a_wrapped_handlers_own_parameters() -> None:
    # Connexion follows ``__wrapped__`` to the end and reads that function's signature.
    wrapped = on_threads(plain_handler)
    assert inspect_function_arguments(unwrap_decorators(wrapped)) == (
        ["token_info", "body", "locale"],
        False,
    )
    assert wrapped.__name__ == "plain_handler"
    assert wrapped.__doc__ == plain_handler.__doc__


def test_a_wrapped_handler_runs_in_a_pool_thread_with_the_requests_context() -> None:
    wrapped = on_threads(plain_handler)

    async def request() -> str:
        REQUEST.set("request-1")
        answer: str = await wrapped(token_info={"sub": "ada"}, body={"code": "123456"})
        return answer

    assert asyncio.run(request()) == "ada 123456 None request-1"


def test_a_blocking_call_runs_outside_the_event_loops_thread() -> None:
    async def call() -> tuple[int, int]:
        return threading.get_ident(), await run_blocking(threading.get_ident)

    loop_thread, worker_thread = asyncio.run(call())
    assert worker_thread != loop_thread


def test_a_coroutine_function_is_left_as_it_is() -> None:
    async def handler() -> None:
        return None

    assert on_threads(handler) is handler
