"""Whether a session shared the machine with another benchmark while it measured.

Latency is wall-clock time, and on a 2-core machine a second benchmark running meanwhile (a
line of `tox p`, another `pytest bench` in another checkout) takes a core and the memory bus:
the A/A spread behind the latency rule (docs/latency.md) no longer holds. Such a run records
it (`machine_shared`, `machine_shared_by`), and the gate never compares its latency; accuracy
and sizes do not depend on load and stay comparable.

Two things are detected:

* **tox parallel**: an ancestor process is `tox p`, `tox run-parallel` or `tox -p N` (N not
  0). Its lines run at once, whatever each is doing at a given moment (installing, training,
  timing), so a run made under it shared the machine even if no other bench session
  overlapped its own timing.
* **other bench sessions**: every session registers in one folder per machine
  (`SessionRegistry`): a file per session, held under an exclusive `flock` for the session's
  lifetime, so a crashed session's file is recognised as stale (nobody holds its lock). A
  session that finds another one registered when it starts marks itself at once and leaves a
  note for the other, which reads its notes when it finishes. Any overlap is thus seen by both
  sides, whichever started first.
"""
from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: Environment variable naming the registry folder (tests give each case its own); default: a
#: folder in the system's temporary directory, shared by every checkout on the machine.
REGISTRY_ENV = "BENCH_SESSION_REGISTRY"
_LOCK_SUFFIX = ".session"
_NOTE_SEPARATOR = ".seen-by."


def default_registry(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get(REGISTRY_ENV)
                or Path(tempfile.gettempdir()) / "tf-compression-bench-sessions")


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the
    # last ")".
    return int(stat.rpartition(")")[2].split()[1])


def is_tox_parallel(argv: list[str]) -> bool:
    """Whether a command line is tox running environments in parallel: `tox p`, `tox
    run-parallel`, `tox -p N` / `--parallel N` (legacy form; 0 means off), however tox was
    started (`tox ...`, `python -m tox ...`, a venv's bin/tox). Only tox's own options count:
    what follows `--` is the command's (`tox -e tf221 -- -p no:cacheprovider` runs one env)."""
    names = [Path(arg).name for arg in argv]
    if "tox" not in names:
        return False
    args = argv[names.index("tox") + 1:]
    if "--" in args:
        args = args[:args.index("--")]
    if args[:1] and args[0] in ("p", "run-parallel"):
        return True
    for i, arg in enumerate(args):
        if arg in ("-p", "--parallel"):
            value = args[i + 1] if i + 1 < len(args) else "auto"
            return value != "0"
        if arg.startswith("--parallel="):
            return arg.partition("=")[2] != "0"
    return False


def tox_parallel_ancestor(pid: int | None = None,
                          cmdline: Callable[[int], list[str]] = _cmdline,
                          parent: Callable[[int], int] = _parent) -> str:
    """'tox p -e tf220,tf221 (pid 123)' when an ancestor of `pid` (default: this process) runs
    tox in parallel; "" otherwise, and where /proc cannot tell."""
    current = os.getpid() if pid is None else pid
    seen: set[int] = set()
    while current > 1 and current not in seen:
        seen.add(current)
        argv = cmdline(current)
        if is_tox_parallel(argv):
            names = [Path(arg).name for arg in argv]
            shown = ["tox", *argv[names.index("tox") + 1:]]
            return f"{' '.join(shown)} (pid {current})"
        current = parent(current)
    return ""


@dataclass(frozen=True)
class Sharing:
    """What a session found: whether it shared the machine, and with what (for the CSV)."""

    shared: bool
    by: str


class SessionRegistry:
    """One session's entry in the machine's registry of running bench sessions.

    `start()` registers it and notes every session already running (both ways: this one is
    shared, and so is each of them); `seen()` adds the sessions that registered later (their
    notes) or run now; `finish()` does the same and removes the entry. All are cheap: a folder
    listing and one non-blocking `flock` per other entry.
    """

    def __init__(self, folder: Path, session_id: str) -> None:
        self.folder = Path(folder)
        self.session_id = session_id
        self._lock: IO[bytes] | None = None
        self._others: list[str] = []

    @property
    def _path(self) -> Path:
        return self.folder / f"{self.session_id}{_LOCK_SUFFIX}"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # Locked before it gets its name, so no other session can ever see it unlocked and
        # remove it as stale.
        fd, tmp = tempfile.mkstemp(prefix=f".{self.session_id}.", dir=self.folder)
        handle = os.fdopen(fd, "wb")
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(tmp, self._path)
        self._lock = handle
        for other in self._running():
            self._remember(other)
            # Tell the other session it was shared, in case it finishes before noticing.
            (self.folder / f"{other}{_NOTE_SEPARATOR}{self.session_id}").touch()

    def seen(self) -> Sharing:
        """What this session has shared the machine with so far (the others running now, and
        every one that ran at some point since it started)."""
        for other in self._running():
            self._remember(other)
        for note in sorted(self.folder.glob(f"{self.session_id}{_NOTE_SEPARATOR}*")):
            self._remember(note.name.partition(_NOTE_SEPARATOR)[2])
        by = ", ".join(self._others)
        return Sharing(bool(self._others), f"bench session {by}" if by else "")

    def finish(self) -> Sharing:
        """What this session shared the machine with over its whole life; unregisters it."""
        sharing = self.seen()
        for note in self.folder.glob(f"{self.session_id}{_NOTE_SEPARATOR}*"):
            note.unlink(missing_ok=True)
        self._path.unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        return sharing

    def _remember(self, other: str) -> None:
        if other not in self._others:
            self._others.append(other)

    @property
    def started(self) -> bool:
        return self._lock is not None

    def _running(self) -> list[str]:
        """The other registered sessions whose owner still holds their lock; a stale entry
        (a session killed before it could unregister) is removed with its notes."""
        running: list[str] = []
        if not self.folder.is_dir():
            return running
        for path in sorted(self.folder.glob(f"*{_LOCK_SUFFIX}")):
            other = path.name[:-len(_LOCK_SUFFIX)]
            if other == self.session_id:
                continue
            try:
                with path.open("rb") as handle:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    except BlockingIOError:
                        running.append(other)
                        continue
            except FileNotFoundError:  # it unregistered meanwhile
                continue
            path.unlink(missing_ok=True)
            for note in self.folder.glob(f"{other}{_NOTE_SEPARATOR}*"):
                note.unlink(missing_ok=True)
        return running


def combine(tox_parallel: str, sessions: Sharing) -> Sharing:
    """The run's columns from both detectors."""
    parts = ([f"tox parallel: {tox_parallel}"] if tox_parallel else []) + (
        [sessions.by] if sessions.shared else [])
    return Sharing(bool(parts), "; ".join(parts))
