"""Output of the command-line tools, the same way in each."""
from __future__ import annotations

import os
import sys


def print_report(text: str) -> None:
    """Print, tolerating a reader that stops early (`... | head -1`): the exit code still
    reports the verdict, and no BrokenPipeError traceback is printed."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
