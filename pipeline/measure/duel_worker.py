"""The worker of a duel (`python -m pipeline.measure.duel_worker`) and the driver's handle on it.

A duel (bench duel) times two TensorFlow environments on one machine, so each side runs in a
long-lived process started with its own environment's python: TensorFlow is imported once per
side, and a block is a request away. Both ends of the protocol live in this file, so they
cannot drift apart. One JSON object per line:

    worker -> driver, once, when ready:  {"versions": {"tensorflow": "2.21.0", "litert": "2.3.0"}}
    driver -> worker, one per block:     {"model_path": "/abs/m.tflite", "runtime": "tf.lite",
                                          "threads": 1, "warmup_invokes": 50,
                                          "timed_invokes": 500}
    worker -> driver:                    {"seconds_per_call": 7.1e-06}, or
                                         {"error": "runtime unavailable" | "failed",
                                          "message": "..."}

The worker exits at the end of its input. Its stderr (TensorFlow's log noise, a traceback) goes
to a temporary file the driver reads only to explain a failure, so it can never fill a pipe and
block the worker mid-measurement.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any, TextIO

from pipeline import REPO_ROOT
from pipeline.measure.environment import installed, package_version
from pipeline.measure.interpreters import RuntimeUnavailable
from pipeline.measure.latency import SYNTHETIC_IMAGE, time_block

#: How long a worker waits for its process to end after its input closed, before killing it.
_EXIT_GRACE_S = 5.0


def _send(replies: TextIO, message: dict[str, Any]) -> None:
    replies.write(json.dumps(message) + "\n")
    replies.flush()


def serve(requests: TextIO, replies: TextIO) -> None:
    """Announce the versions, then answer block requests until `requests` ends.

    A fresh interpreter per block (time_block), so whatever one interpreter instance brings
    (memory layout, thread pool placement) is drawn anew for every pair. A failure is answered,
    not raised, so the driver can name the side and the block in one line.
    """
    _send(replies, {"versions": {"tensorflow": installed("tensorflow")[1],
                                 "litert": package_version("litert")}})
    for line in requests:
        request = json.loads(line)
        reply: dict[str, Any]
        try:
            block = time_block(Path(request["model_path"]), request["runtime"],
                               request["threads"], SYNTHETIC_IMAGE,
                               warmup_invokes=request["warmup_invokes"],
                               timed_invokes=request["timed_invokes"])
        except RuntimeUnavailable as exc:
            reply = {"error": "runtime unavailable", "message": str(exc)}
        except Exception as exc:  # a bad model file, a runtime error: the driver reports it
            reply = {"error": "failed", "message": f"{type(exc).__name__}: {exc}"}
        else:
            reply = {"seconds_per_call": block.seconds_per_call}
        _send(replies, reply)


def work() -> None:
    """Serve on stdin/stdout, with stdout kept for the protocol alone: anything else printing
    to it (a library's print, C code writing to fd 1) would corrupt a reply, so fd 1 is pointed
    at stderr and replies go to a private copy of the original stdout."""
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin, replies)


class WorkerError(RuntimeError):
    """A worker could not be started or did not answer; `str()` is one line naming the side,
    its python and what to do."""


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    """Move the worker's stdout lines to a queue (None at the end), so the driver can wait for
    a reply with a timeout. The stream is closed here, by its only reader."""
    with stream:
        for line in stream:
            lines.put(line)
    lines.put(None)


class Worker:
    """The driver's handle on one worker process: start, wait until ready, time blocks, close.

    `side` ("reference" or "candidate") names the worker in messages; `timeout` bounds the wait
    for every reply, so a hung worker stops the duel with a reason instead of hanging it.
    """

    def __init__(self, side: str, python: str, *, timeout: float) -> None:
        self.side, self.timeout = side, timeout
        found = shutil.which(python)
        if found is None:
            raise WorkerError(f"{side} python {python!r} was not found or is not executable; "
                              f"pass --{side}-python the python of the environment that made "
                              f"the {side} run (e.g. .tox/tf221/bin/python)")
        # Absolute, but not resolved: a venv's python is a symlink whose target is not the venv.
        self.python = os.path.abspath(found)
        self._stderr = tempfile.TemporaryFile()
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
        try:
            self._process = subprocess.Popen(
                [self.python, "-m", "pipeline.measure.duel_worker"], cwd=REPO_ROOT, env=env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                text=True, encoding="utf-8")
        except OSError as exc:
            self._stderr.close()
            raise WorkerError(f"{side} python {self.python} cannot be started "
                              f"({exc.strerror}); pass --{side}-python a working python") from None
        self._lines: queue.Queue[str | None] = queue.Queue()
        assert self._process.stdout is not None
        self._reader = threading.Thread(target=_pump, args=(self._process.stdout, self._lines),
                                      daemon=True)
        self._reader.start()
        self._healthy = True

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _last_stderr_line(self) -> str:
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", errors="replace")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines[-1][:300] if lines else "nothing on stderr"

    def _fail(self, what: str) -> WorkerError:
        """A WorkerError for `what` went wrong, with the worker's exit status and last stderr
        line (a traceback's last line names the exception)."""
        self._healthy = False
        try:
            status = self._process.wait(timeout=1.0)
            ended = f"exited with status {status}"
        except subprocess.TimeoutExpired:
            ended = "is still running"
        return WorkerError(f"{self.side} worker ({self.python} -m pipeline.measure.duel_worker) "
                           f"{what} and {ended}: {self._last_stderr_line()}")

    def _reply(self, doing: str) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=self.timeout)
        except queue.Empty:
            raise self._fail(f"sent nothing for {self.timeout:g} s while {doing}") from None
        if line is None:
            raise self._fail(f"closed its output while {doing}")
        try:
            reply = json.loads(line)
        except json.JSONDecodeError:
            raise self._fail(f"sent {line.strip()[:80]!r}, not a JSON reply, while {doing}; "
                             f"is {self.python} a Python 3.11 environment with TensorFlow?"
                             ) from None
        if not isinstance(reply, dict):
            raise self._fail(f"sent {line.strip()[:80]!r}, not a JSON object, while {doing}")
        return reply

    def wait_ready(self) -> dict[str, str]:
        """The worker's versions ({"tensorflow": ..., "litert": ...}, "" when not installed),
        once it has imported the pipeline."""
        reply = self._reply("starting (it must import this repository's pipeline; its "
                            "environment needs the packages of requirements/tf-X.Y.txt)")
        return {name: str(version) for name, version in reply["versions"].items()}

    def time_block(self, path: Path, runtime: str, threads: int, *, warmup_invokes: int,
                   timed_invokes: int) -> float:
        """Seconds per invoke of one block of `path` on `runtime` with `threads` threads."""
        doing = f"timing {path.name} on {runtime} with {threads} thread(s)"
        request = {"model_path": str(path), "runtime": runtime, "threads": threads,
                   "warmup_invokes": warmup_invokes, "timed_invokes": timed_invokes}
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            raise self._fail(f"was gone before {doing}") from None
        reply = self._reply(doing)
        if reply.get("error") == "runtime unavailable":
            raise WorkerError(f"the {self.side} environment ({self.python}) cannot run {runtime}: "
                              f"{reply['message']}; install it there, or pass --{self.side}-python "
                              f"the python of the environment that made the {self.side} run")
        if "error" in reply:
            raise WorkerError(f"the {self.side} worker ({self.python}) failed {doing} ({path}): "
                              f"{reply['message']}")
        return float(reply["seconds_per_call"])

    def close(self) -> None:
        """End the worker: close its input so it exits by itself, and kill it if it does not
        (or at once when it already misbehaved)."""
        process = self._process
        if process.poll() is None:
            if self._healthy:
                try:
                    assert process.stdin is not None
                    process.stdin.close()
                    process.wait(timeout=_EXIT_GRACE_S)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            if process.poll() is None:
                process.kill()
                process.wait()
        if process.stdin is not None:
            try:
                process.stdin.close()
            except OSError:  # unsent input of a dead worker
                pass
        self._reader.join(timeout=_EXIT_GRACE_S)
        self._stderr.close()


if __name__ == "__main__":
    work()
