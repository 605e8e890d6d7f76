"""Servers the tests start die with the process that started them, even when it is killed.

A pytest killed by SIGKILL (a CI timeout, the OOM killer) runs no `finally`: its
PostgreSQL and Redis servers would keep running, holding ports and memory (their temporary
directories stay, like pytest's own). `setpriv --pdeathsig` (util-linux) asks the kernel
to signal the server when its parent ends, then execs it in place (no process in between,
unlike runuser, whose child would outlive it; the user is changed before the signal is
armed, since changing user clears it). The parent is the thread that started the server:
the tests' main thread.
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Sequence

SETPRIV = "setpriv"


def dies_with_parent(command: Sequence[str], sig: signal.Signals = signal.SIGTERM, *,
                     user: str | None = None) -> list[str]:
    """`command` prefixed so that it gets `sig` when its parent dies (run as `user` if given)."""
    if shutil.which(SETPRIV) is None:
        raise RuntimeError("setpriv (util-linux) is missing: it makes test servers die with pytest")
    as_user = ["--reuid", user, "--regid", user, "--init-groups"] if user else []
    return [SETPRIV, "--pdeathsig", sig.name, *as_user, "--", *command]
