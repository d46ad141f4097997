"""Logging set-up of the server processes (the command line and each uvicorn worker)."""

from __future__ import annotations

import logging


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Connexion logs request validation failures with the offending values at INFO: those can be
    # passwords or codes. Keep only its warnings and errors.
    logging.getLogger("connexion").setLevel(logging.WARNING)
