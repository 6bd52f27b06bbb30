"""Keep HiGHS's start-up banner off the process's standard output.

HiGHS writes "Running HiGHS ..." to file descriptor 1 when the process makes its first solver
instance, before any option can silence it; a CLI that prints JSON on stdout (``steamopt step``,
``steamopt plan --json -``) would then emit invalid JSON. The first instance is made here, once,
with descriptor 1 pointed at the null device; later instances print nothing.
"""

from __future__ import annotations

import os
import sys


def swallow() -> None:
    """Make the process's first HiGHS instance with stdout at the null device (idempotent)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no usable descriptor 1: nothing to protect
        import highspy

        highspy.Highs()
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        import highspy

        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)
