"""Whether a session shared the machine: tox parallel on frozen command lines, and the session
registry with real processes (a crashed one included)."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.measure.machine_sharing import (
    SessionRegistry,
    Sharing,
    combine,
    default_registry,
    is_tox_parallel,
    tox_parallel_ancestor,
)


@pytest.mark.parametrize(("argv", "parallel"), [
    (["/usr/bin/tox", "p"], True),
    (["/root/.venv/bin/python", "/root/.venv/bin/tox", "p", "-e", "tf220,tf221"], True),
    (["python", "-m", "tox", "run-parallel", "-e", "tf221"], True),
    (["tox", "-p", "auto"], True),
    (["tox", "--parallel=4"], True),
    (["tox", "-p"], True),
    (["tox", "-p", "0"], False),
    (["tox", "-e", "tf221"], False),
    (["tox", "run", "-e", "tf221"], False),
    (["tox", "-e", "tf215", "--", "--variants", "all", "-p", "no:cacheprovider"], False),
    (["tox", "-p", "auto", "-e", "tf220,tf221", "--", "-q"], True),
    (["python", "-m", "pytest", "bench", "-p", "no:cacheprovider"], False),
    ([], False),
], ids=lambda v: " ".join(v) if isinstance(v, list) else str(v))
def test_tox_parallel_is_told_from_its_command_line(argv: list[str], parallel: bool) -> None:
    assert is_tox_parallel(argv) is parallel


def test_a_tox_parallel_ancestor_is_named_with_its_pid() -> None:
    # pytest (30) <- tox env runner, same process (20) <- tox p (10) <- shell (5) <- init (1)
    cmdlines = {30: ["python", "-m", "pytest", "bench"],
                20: ["/venv/bin/python", "/venv/bin/tox", "p", "-e", "tf220,tf221"],
                5: ["bash"]}
    parents = {30: 20, 20: 5, 5: 1}
    assert tox_parallel_ancestor(30, cmdlines.__getitem__, parents.__getitem__) == \
        "tox p -e tf220,tf221 (pid 20)"
    cmdlines[20] = ["/venv/bin/tox", "-e", "tf221"]
    assert tox_parallel_ancestor(30, cmdlines.__getitem__, parents.__getitem__) == ""


def test_this_process_is_not_under_tox_parallel() -> None:
    assert tox_parallel_ancestor() == ""


def test_the_registry_folder_can_be_named_by_the_environment(tmp_path: Path) -> None:
    assert default_registry({"BENCH_SESSION_REGISTRY": str(tmp_path)}) == tmp_path
    assert default_registry({}).name == "tf-compression-bench-sessions"


def test_overlapping_sessions_see_each_other_whichever_started_first(tmp_path: Path) -> None:
    first, second = SessionRegistry(tmp_path, "run_a"), SessionRegistry(tmp_path, "run_b")
    first.start()
    assert first.seen() == Sharing(False, "")
    second.start()
    # The second finishes first: the first must still learn of it, from its note.
    assert second.finish() == Sharing(True, "bench session run_a")
    assert first.finish() == Sharing(True, "bench session run_b")
    later = SessionRegistry(tmp_path, "run_c")
    later.start()
    assert later.finish() == Sharing(False, "")
    assert list(tmp_path.iterdir()) == []


HOLDER = textwrap.dedent("""\
    import sys, time
    from pathlib import Path
    from pipeline.measure.machine_sharing import SessionRegistry
    registry = SessionRegistry(Path(sys.argv[1]), sys.argv[2])
    registry.start()
    print("started", flush=True)
    sys.stdin.readline()
    print(registry.finish().by, flush=True)
""")


def _holder(folder: Path, session_id: str) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), session_id],
                               cwd=Path(__file__).resolve().parent.parent, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == "started\n"
    return process


def test_a_session_in_another_process_is_seen_both_ways(tmp_path: Path) -> None:
    other = _holder(tmp_path, "run_other")
    this = SessionRegistry(tmp_path, "run_this")
    this.start()
    assert this.finish() == Sharing(True, "bench session run_other")
    out, _ = other.communicate("\n", timeout=30)
    assert out == "bench session run_this\n"


def test_a_killed_session_is_stale_and_does_not_count(tmp_path: Path) -> None:
    crashed = _holder(tmp_path, "run_crashed")
    crashed.send_signal(signal.SIGKILL)
    crashed.wait(timeout=30)
    assert (tmp_path / "run_crashed.session").exists()  # it never unregistered
    this = SessionRegistry(tmp_path, "run_this")
    this.start()
    assert this.finish() == Sharing(False, "")
    assert list(tmp_path.iterdir()) == []


def test_both_detectors_combine_into_the_run_columns() -> None:
    sessions = Sharing(True, "bench session run_b")
    assert combine("tox p (pid 7)", sessions) == Sharing(
        True, "tox parallel: tox p (pid 7); bench session run_b")
    assert combine("", Sharing(False, "")) == Sharing(False, "")
