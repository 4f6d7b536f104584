"""What every command-line tool shares: its exit codes, how it reports an error, and how it
prints a report."""
from __future__ import annotations

import os
import sys

#: The exit codes of every command: the gate's verdicts (pipeline.judge.compare), the duel's
#: and bench-upgrade's, and ERROR for an input that cannot be used or a run that cannot be made.
EXIT_CODES: dict[str, int] = {"PASS": 0, "FAIL": 1, "ERROR": 2, "INCONCLUSIVE": 3}
EXIT_PASS, EXIT_FAIL, EXIT_ERROR, EXIT_INCONCLUSIVE = (
    EXIT_CODES["PASS"], EXIT_CODES["FAIL"], EXIT_CODES["ERROR"], EXIT_CODES["INCONCLUSIVE"])


def fail(prog: str, message: str) -> int:
    """Report what went wrong on stderr, one line, `<prog>: error: <message>` (argparse's own
    form), and return EXIT_ERROR for the command to exit with."""
    print(f"{prog}: error: {' '.join(message.splitlines())}", file=sys.stderr)
    return EXIT_ERROR


def print_report(text: str) -> None:
    """Print, tolerating a reader that stops early (`... | head -1`): the exit code still
    reports the verdict, and no BrokenPipeError traceback is printed."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
