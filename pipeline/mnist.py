"""Where MNIST comes from: a path the user names, Keras' cache, or Keras' download.

The machines this suite runs on are often offline, so Keras' own download cannot be the only
source. The data can come from a path the user names (`--data PATH` or `MNIST_PATH`: a
Keras-layout .npz or a folder of the four IDX files), from the file Keras cached on an earlier
online run, or from Keras' download, in that order. A path the user named is never silently
skipped: if it is unusable, they get an error about it rather than results computed on other
data. Every source goes through data.py's validator.
"""
from __future__ import annotations

import gzip
import os
import struct
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

import numpy as np

from pipeline.data import (
    KEYS,
    NPZ_FIX,
    READ_ERRORS,
    DataFormatError,
    Dataset,
    DataUnavailableError,
    absolute,
    format_error,
    load_npz,
    load_npz_as,
    shown,
    validate,
)

#: The IDX file of each array, as published in the MNIST database (each may also end in ".gz").
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

_IMAGE_MAGIC = 0x00000803  # IDX: unsigned bytes, 3 dimensions
_LABEL_MAGIC = 0x00000801  # IDX: unsigned bytes, 1 dimension
_GZIP_MAGIC = b"\x1f\x8b"

_IMAGE_MAGIC = 0x00000803  # IDX: unsigned bytes, 3 dimensions
_LABEL_MAGIC = 0x00000801  # IDX: unsigned bytes, 1 dimension
_GZIP_MAGIC = b"\x1f\x8b"

IDX_FIX = ("Pass a folder holding the four MNIST IDX files (train-images-idx3-ubyte, "
            "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each may "
            "end in .gz) as published in the MNIST database, or a Keras-layout MNIST .npz file.")


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Read one IDX file of unsigned bytes, checking its header against its length.

    A short file would otherwise be a reshape error, and a file with the wrong magic (e.g. the
    image and label files swapped) would train on garbage.
    """
    source = f"IDX file {path}"
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as stream:
            raw = stream.read()
    except READ_ERRORS as exc:
        raise format_error(source, f"it cannot be read ({type(exc).__name__}: {exc})",
                            IDX_FIX) from exc
    kind, ndim = ("images", 3) if magic == _IMAGE_MAGIC else ("labels", 1)
    header_size = 4 * (1 + ndim)
    if len(raw) < header_size:
        raise format_error(source, f"it is {len(raw)} bytes long, shorter than the "
                                    f"{header_size}-byte header of an IDX {kind} file", IDX_FIX)
    found, *shape = struct.unpack(f">{1 + ndim}I", raw[:header_size])
    if found != magic:
        gzipped = (" (its content is gzip-compressed: give the file a .gz suffix)"
                   if raw.startswith(_GZIP_MAGIC) else "")
        raise format_error(source, f"its magic number is 0x{found:08X}, expected "
                                    f"0x{magic:08X} for an IDX {kind} file{gzipped}", IDX_FIX)
    declared = int(np.prod(shape))
    held = len(raw) - header_size
    if held != declared:
        dims = "x".join(str(d) for d in shape)
        raise format_error(source, f"its header declares {kind} of shape {dims} ({declared} "
                                    f"bytes of data) but the file holds {held} bytes after the "
                                    f"header", IDX_FIX)
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def load_idx_folder(path: Path | str) -> Dataset:
    """Load the four MNIST IDX files (as distributed by the MNIST database) from a folder.

    Each file may be gzipped (name ending in .gz); if both forms exist the uncompressed one is
    used, since `gunzip -k` leaves both behind.
    """
    folder = absolute(path)
    source = f"IDX folder {folder}"
    if not folder.exists():
        raise format_error(source, "no such folder", IDX_FIX)
    if not folder.is_dir():
        raise format_error(source, "it is a file, not a folder", IDX_FIX)
    files: dict[str, Path] = {}
    for key, name in IDX_FILES.items():
        candidates = [folder / name, folder / f"{name}.gz"]
        found = [candidate for candidate in candidates if candidate.is_file()]
        if found:
            files[key] = found[0]
    if len(files) < len(IDX_FILES):
        entries = sorted(entry.name for entry in folder.iterdir())
        if not entries:
            problem = "it is empty"
        elif not files:
            problem = f"it holds none of the four MNIST IDX files (found: {shown(entries)})"
        else:
            missing = [f"{IDX_FILES[key]}[.gz]" for key in KEYS if key not in files]
            problem = f"it lacks {', '.join(missing)} (found: {shown(entries)})"
        raise format_error(source, problem, IDX_FIX)
    arrays = {key: _read_idx(file, _IMAGE_MAGIC if key.startswith("x") else _LABEL_MAGIC)
              for key, file in files.items()}
    names = {key: file.name for key, file in files.items()}
    return validate(arrays, source, IDX_FIX, names=names)


def load_from_path(path: Path | str) -> Dataset:
    """Load MNIST from what the user named: a folder is read as IDX files, a file as an .npz."""
    resolved = absolute(path)
    if not resolved.exists():
        raise format_error(str(resolved), "nothing exists at this path", NPZ_FIX)
    if resolved.is_dir():
        return load_idx_folder(resolved)
    return load_npz(resolved)


def keras_cache_path(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the Keras download of MNIST is cached: $KERAS_HOME/datasets/mnist.npz, else
    ~/.keras/datasets/mnist.npz.

    tf_keras' `get_file` itself ignores KERAS_HOME, so the default download in `resolve_mnist`
    passes this folder to `load_data(cache_dir=...)`: the file it writes is the one looked for here.
    """
    keras_home = environ.get("KERAS_HOME")
    base = Path(keras_home) if keras_home else Path.home() / ".keras"
    return absolute(base / "datasets" / "mnist.npz")


def _keras_download(keras_dir: Path) -> tuple:
    """Keras' own MNIST download, caching under `keras_dir`/datasets.

    TensorFlow is imported here and only here, so that a run given its data never pays for it.
    """
    from pipeline import tfenv

    return tfenv.keras().datasets.mnist.load_data(cache_dir=str(keras_dir))


def resolve_mnist(explicit: str | Path | None = None,
                  environ: Mapping[str, str] = os.environ,
                  download: Callable[[], tuple] | None = None) -> Dataset:
    """Find MNIST: `explicit` (--data), else $MNIST_PATH, else the Keras cache, else download.

    A path given by `explicit` or MNIST_PATH must work: if it does not, this raises
    DataFormatError instead of falling back, because the user asked for that data. An empty
    string counts as not given (as in `MNIST_PATH= pytest`). `download` returns
    ((x_train, y_train), (x_test, y_test)); the default is tf_keras' download into the cache.
    """
    for given, origin in ((explicit, "the --data option"),
                          (environ.get("MNIST_PATH"), "the MNIST_PATH variable")):
        if given is not None and str(given) != "":
            try:
                return load_from_path(given)
            except DataFormatError as exc:
                raise DataFormatError(f"{exc} The path was given by {origin}, so no other source "
                                      f"was tried.") from exc.__cause__
    cache = keras_cache_path(environ)
    if cache.exists():
        return load_npz_as(cache, f"This is Keras' MNIST cache (perhaps a partial download): "
                                  f"delete {cache} so Keras downloads it again, or pass --data "
                                  f"PATH or set MNIST_PATH to use other data.")
    fetch = download or partial(_keras_download, cache.parent.parent)
    try:
        downloaded = fetch()
    except Exception as exc:
        raise DataUnavailableError(
            f"MNIST could not be loaded: no --data option or MNIST_PATH variable was given, no "
            f"Keras cache at {cache}, and Keras' download failed ({type(exc).__name__}: {exc}). "
            f"Provide the data one of three ways: pass --data PATH (a Keras-layout .npz or a "
            f"folder of the four MNIST IDX files), set MNIST_PATH=PATH, or run once with internet "
            f"so Keras caches it at {cache}.") from exc
    (x_train, y_train), (x_test, y_test) = downloaded
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return validate(arrays, "Keras download",
                     f"Delete {cache} and retry, or pass --data PATH or set MNIST_PATH.")
