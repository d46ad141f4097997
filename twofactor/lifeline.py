"""Child processes that end with their parent, even when the parent is killed with SIGKILL.

The server has two kinds of children: the embedded database of local mode and the uvicorn worker
processes. A clean stop ends both (see ``twofactor.serving``), but SIGKILL (or an OOM kill) gives
the parent no chance to clean up: the children would keep running with parent 1, the database
holding its storage directory (a restart on the same ``DATA_DIR`` then fails) and the workers
holding the listening socket.

Linux offers a kernel-level guarantee: ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` makes the kernel send
SIGTERM to the child the moment its parent dies, however it died. We chose it over a watchdog pipe
(a wrapper around the database that exits when a pipe from the parent closes) because it needs no
extra process and no cooperation from the child. Two details matter:

- The signal follows the *thread* that created the child, not the process: a child spawned from a
  short-lived thread would be killed when that thread ends. ``die_with_parent`` is therefore only
  armed from the main thread's children (the caller checks ``threading.main_thread()``).
- The parent may die between the fork and the ``prctl`` call: the child then checks that its
  parent is still the one it expected and ends itself otherwise.

Elsewhere (macOS, Windows) there is no such call: ``die_with_parent`` returns False and only the
clean stop on SIGTERM/SIGINT protects against orphans.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None  # pragma: no cover - the tests run on Linux
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    prctl: Callable[..., int] = libc.prctl
    return prctl


# Resolved once in the parent: a ``preexec_fn`` runs between fork and exec, where loading a
# library is best avoided.
_PRCTL = _load_prctl()


def die_with_parent(expected_parent: int) -> bool:
    """Ask the kernel to send this process SIGTERM when its parent dies (Linux; False elsewhere).

    ``expected_parent`` is the parent's pid as the parent saw it: if the parent is already gone,
    the process terminates itself at once.
    """
    if _PRCTL is None:
        return False  # pragma: no cover - the tests run on Linux
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != expected_parent:
        os.kill(os.getpid(), signal.SIGTERM)  # pragma: no cover - a race of microseconds
    return True
