"""What the ``steamopt`` command modules share (:mod:`scenarios.cli` holds the parser and ``main``)."""

from __future__ import annotations

import argparse
import sys


def show_progress(args: argparse.Namespace) -> bool:
    """Progress bars only for a person at a terminal: a log or a pipe gets none (they would
    flood it with carriage-return updates)."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()
