"""State of the in-process run: the app under test as Schemathesis sees it, and what it answered.

Schemathesis binds the app to the schema when the schema is loaded (module import, before any
fixture) and ends the app's lifespan after every test item, while the service's lifespan closes
its database clients for good (as a server process should). So the schema is bound to this slot,
and each test item points the slot at a freshly created app (``contract/conftest.py``).
"""

from __future__ import annotations

from collections import Counter, defaultdict

from connexion import AsyncApp
from schemathesis.python.asgi import Receive, Scope, Send

Outcomes = defaultdict[str, Counter[int]]


class AppSlot:
    """An ASGI app that forwards everything, lifespan included, to the current app."""

    def __init__(self) -> None:
        self.current: AsyncApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.current is None:
            raise RuntimeError("no app under test: the `asgi_app` fixture is not active")
        await self.current(scope, receive, send)


APP = AppSlot()

# Status codes seen per operation ("DELETE /auth/2fa/totp" -> {200: 17, 304: 17, ...}).
OUTCOMES: Outcomes = defaultdict(Counter)
