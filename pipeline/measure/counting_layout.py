"""Where the counting process runs from: a layout of fixed paths, the same from any checkout
and venv, since the length of every path a process holds moves the heap that
allocate_tensors() allocates on (FixedLayout says what was measured)."""
from __future__ import annotations

import compileall
import os
import platform
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from pipeline import REPO_ROOT

#: Longest wait for a process the layout starts.
TIMEOUT_S = 600
#: The counting process's whole environment: the same in every session and checkout (another
#: shell's variables would be other strings on its stack and heap), hash seed fixed.
WORKER_ENVIRONMENT: dict[str, str] = {"PYTHONHASHSEED": "0", "LC_ALL": "C"}

#: This package's folder, as it lies on disk: what compile_package compiles and the counting
#: process imports (through its link in FixedLayout).
PACKAGE = Path(__file__).resolve().parent.parent


def compile_package() -> None:
    """Byte-compile this package where it lies, so the counting process always imports its
    modules from __pycache__, each recorded under the same file name wherever the checkout is.

    Whether a module comes from source or from its cache changes the heap the imports leave
    behind, and allocate_tensors() allocates on that heap: pruned_tflite on ai_edge_litert
    counted 182,239 with the package's modules compiled from source (the first count in a fresh
    clone) and 179,918 from their caches, first invoke 473,613 against 473,642 (measured
    2026-12-03, Intel Xeon). A cache holds the source's path as it was compiled (the import
    puts the real one in place after reading it), so its length is on the heap too: compiled
    as `pipeline/...` (`ddir`), the caches read the same from any checkout; a copy of the
    package at a longer path counted 179,009 against 179,676 otherwise. Rewritten each time
    (`force`), since caches the session's own imports wrote hold their real path. A package
    that cannot be written keeps compiling from source, the same way every time. Used by
    FixedLayout.warm for a session outside a venv; in a venv the counting process reads byte
    code its layout caches itself."""
    compileall.compile_dir(PACKAGE, quiet=2, force=True, ddir=PACKAGE.name)


@dataclass(frozen=True)
class FixedLayout:
    """Where the counting process runs from: paths of one length wherever the checkout, the
    venv and the caller's interpreter are.

    The strings a process holds (its executable, sys.path, every module's file name) are on
    its heap when allocate_tensors() allocates, and their lengths moved its count: 179,157
    under `pytest` (which runs the venv's bin/python3) against 179,676 under `python -m pytest`
    (bin/python), 180,419 and 179,918 in two clones whose paths differ by one character
    (measured 2026-12-03). So the process starts from a folder of its own: a venv there whose
    bin/python and site-packages link to the real ones, the package linked into src/ (it is
    imported from there), cwd that folder, and byte code cached there too (pip's caches hold
    the venv's own path). A session that does not run in a venv counts from its own
    interpreter and paths, as given."""

    python: Path
    cwd: Path
    env: dict[str, str]
    #: The real site-packages, and its link in the layout (None: no venv, paths as they are).
    site_packages: Path | None = None
    linked_site_packages: Path | None = None
    #: Interpreter options before `-m`.
    options: tuple[str, ...] = ()

    def path_of(self, real: Path) -> Path:
        """`real` (a file of the installed packages) as the counting process sees it."""
        if self.site_packages is None or self.linked_site_packages is None:
            return real
        try:
            return self.linked_site_packages / real.relative_to(self.site_packages)
        except ValueError:
            return real

    @classmethod
    def in_folder(cls, folder: Path) -> FixedLayout:
        purelib, platlib = (Path(sysconfig.get_paths()[k]) for k in ("purelib", "platlib"))
        if sys.prefix == sys.base_prefix or purelib != platlib:
            return cls(Path(sys.executable), REPO_ROOT, dict(WORKER_ENVIRONMENT))
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        venv, base = folder / "venv", Path(os.path.realpath(sys.executable))
        (venv / "bin").mkdir(parents=True)
        (venv / "lib" / version).mkdir(parents=True)
        (venv / "bin" / "python").symlink_to(base)
        linked = venv / "lib" / version / "site-packages"
        linked.symlink_to(purelib)
        (venv / "pyvenv.cfg").write_text(
            f"home = {base.parent}\ninclude-system-site-packages = false\n"
            f"version = {platform.python_version()}\n")
        # The package alone, not the checkout: the import system keeps a listing of every
        # folder on sys.path, and the checkout's (runs/, build/, ...) is no one's but its own.
        (folder / "src").mkdir()
        (folder / "src" / PACKAGE.name).symlink_to(PACKAGE)
        # Without site (-S): site-packages is on PYTHONPATH, so no .pth file runs (an
        # editable install's names the checkout).
        path = os.pathsep.join([str(folder / "src"), str(linked)])
        # Byte code cached in the layout (pycache/), not in the venv: the caches pip wrote
        # hold each module's path in that venv, whose length moved allocate counts between two
        # venvs of the same pins (179,077 against 179,972; the checkout's path no longer did).
        # Compiled here, every module's cache holds its path in the layout. warm() fills it.
        env = {**WORKER_ENVIRONMENT, "PYTHONPATH": path,
               "PYTHONPYCACHEPREFIX": str(folder / "pycache")}
        return cls(venv / "bin" / "python", folder, env, purelib, linked, ("-S",))

    def warm(self, module: str) -> None:
        """Have the byte code the counting process of `module` reads ready before it starts.

        In the layout's venv: import `module` once, natively, as that process will, which
        caches its byte code and its imports' in pycache/ (callgrind would compile them 50x
        slower, and a failure here only costs that time: the worker then reports its own
        error). Without a venv the process imports the package where it lies, from the
        caches compile_package writes."""
        if "PYTHONPYCACHEPREFIX" not in self.env:
            compile_package()
            return
        subprocess.run([str(self.python), *self.options, "-c", f"import {module}"],
                       env=self.env, cwd=self.cwd, check=False, capture_output=True,
                       timeout=TIMEOUT_S)
