"""A dataset: loaded, checked, and identified by a content hash (where MNIST comes from is
mnist.py).

Every source goes through the same validator, so a bad file fails here with a message that says
what is wrong, which path, and what to do, instead of as a numpy/zipfile traceback (or a silently
wrong accuracy) deep inside training. The content sha256 identifies exactly which data a result was
measured on, independently of how the file was compressed.
"""
from __future__ import annotations

import hashlib
import os
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: The arrays of a Keras-layout MNIST set, in the order the content sha256 hashes them.
KEYS = ("x_train", "y_train", "x_test", "y_test")

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # what np.load takes for npz (the 2nd: empty zip)
_NPY_MAGIC = b"\x93NUMPY"

#: What np.load, zipfile, gzip and zlib raise for a missing, truncated or corrupt file.
READ_ERRORS = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error)

NPZ_FIX = ("Pass a Keras-layout MNIST .npz (arrays x_train, y_train, x_test, y_test: uint8 "
            "images of shape (N, 28, 28) and labels 0-9 of shape (N,)), or a folder holding the "
            "four MNIST IDX files.")


class DataError(Exception):
    """Base of every error this module raises, so callers can catch the data problems alone."""


class DataFormatError(DataError, ValueError):
    """A named source exists (or was named) but cannot be used as MNIST."""


class DataUnavailableError(DataError, RuntimeError):
    """No source could provide MNIST: none was named, none cached, and the download failed."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated image classification set: MNIST, or a workload's own (pipeline.workloads).

    The arrays are read-only so that `sha256` keeps describing them; `eq=False` because comparing
    arrays element-wise is not a truth value (compare `sha256` instead).
    """

    x_train: np.ndarray = field(repr=False)  # (N, H, W[, C]): MNIST's (N, 28, 28) uint8
    y_train: np.ndarray = field(repr=False)  # (N,) integer labels: MNIST's uint8 0-9
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    sha256: str
    source: str


def scale_pixels(images: np.ndarray) -> np.ndarray:
    """uint8 pixels as the recipe's `images / 255.0`, in the float32 the model computes in.

    The recipe's accuracy is the baseline every threshold is measured against, so the model
    must see exactly the reference's floats. The reference divides in float64; tf_keras' data
    adapter then casts floating arrays to float32 (`backend.floatx()`) before the first layer,
    and its interpreter loop casts with `astype(np.float32)`. Dividing in float32 gives those
    same values: float32 division is correctly rounded, and rounding the float64 quotient to
    float32 gives the same result because 53 >= 2 * 24 + 2 bits (double rounding is then
    innocuous for division). tests/test_data.py checks all 256 pixel values.

    Why not float64: the float64 copies (376 MB for x_train) and their conversion to float32
    inside every fit and evaluate cost ~3 s of a default session (py-spy, 2026-11-28).
    """
    return images.astype(np.float32) / np.float32(255)


def content_sha256(x_train: np.ndarray, y_train: np.ndarray,
                   x_test: np.ndarray, y_test: np.ndarray) -> str:
    """sha256 over the raw C-contiguous bytes of the four arrays, in that order.

    It hashes the arrays rather than the file, so the same data re-compressed or stored as IDX
    files has the same hash (see ../shared/data/README.md).
    """
    digest = hashlib.sha256()
    for array in (x_train, y_train, x_test, y_test):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def absolute(path: Path | str) -> Path:
    """Absolute, normalised, `~`-expanded: error messages must name the file unambiguously."""
    return Path(os.path.abspath(Path(path).expanduser()))


def format_error(source: str, problem: str, fix: str,
                  spec: ArraySpec | None = None) -> DataFormatError:
    return DataFormatError(f"Cannot use {source} as {(spec or MNIST).name}: {problem}. {fix}")


def shown(names: list[str], limit: int = 10) -> str:
    """A listing short enough for one error line, even if the user pointed at a huge folder."""
    if not names:
        return "nothing"
    more = f", ... and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


@dataclass(frozen=True)
class ArraySpec:
    """What a source's arrays must be beyond any dataset's checks: MNIST's 28x28 uint8 pixels
    and labels 0-9 for the MNIST loaders; nothing more (None) for a workload's own data."""

    name: str
    image_shape: tuple[int, ...] | None = None
    pixels_uint8: bool = False
    classes: int | None = None


#: The Keras-layout MNIST every built-in workload trains on.
MNIST = ArraySpec("MNIST", image_shape=(28, 28), pixels_uint8=True, classes=10)
#: Any image classification set: (N, H, W) or (N, H, W, C) images, integer labels >= 0.
ANY_IMAGES = ArraySpec("a dataset")


def _labels(y: np.ndarray) -> np.ndarray:
    """Labels in the narrowest dtype that holds them (uint8 for MNIST's 0-9), so the content
    hash and the training inputs do not depend on how a source happened to store them."""
    return y.astype(np.uint8 if int(y.max(initial=0)) <= 255 else np.int64)


def validate(arrays: Mapping[str, np.ndarray], source: str, fix: str,
              names: Mapping[str, str] | None = None, spec: ArraySpec = MNIST) -> Dataset:
    """Check the four arrays every source must provide and build the read-only Dataset.

    `names` says what to call each array in a message (an IDX file name rather than a key);
    `spec` what this source must hold beyond any dataset's checks (MNIST's shape and labels).
    """
    names = names or {key: key for key in KEYS}
    checked: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        x_key, y_key = f"x_{split}", f"y_{split}"
        x, y = np.asarray(arrays[x_key]), np.asarray(arrays[y_key])
        x_name, y_name = names[x_key], names[y_key]
        if spec.image_shape is not None and (x.ndim != 1 + len(spec.image_shape)
                                             or x.shape[1:] != spec.image_shape):
            expected = ", ".join(str(d) for d in ("N", *spec.image_shape))
            raise format_error(source, f"{x_name} has shape {x.shape}; expected ({expected}) "
                                        f"images", fix, spec)
        if x.ndim not in (3, 4):
            raise format_error(source, f"{x_name} has shape {x.shape}; expected (N, H, W) or "
                                        f"(N, H, W, C) images", fix, spec)
        if spec.pixels_uint8 and x.dtype != np.uint8:
            raise format_error(source, f"{x_name} has dtype {x.dtype}; expected uint8 pixels "
                                        f"0-255 (unscaled)", fix, spec)
        if not (x.dtype == np.uint8 or np.issubdtype(x.dtype, np.floating)):
            raise format_error(source, f"{x_name} has dtype {x.dtype}; expected uint8 or "
                                        f"floating-point pixels", fix, spec)
        if split == "test" and x.shape[1:] != checked["x_train"].shape[1:]:
            raise format_error(source, f"{x_name} holds images of shape {x.shape[1:]} but "
                                        f"{names['x_train']} of shape "
                                        f"{checked['x_train'].shape[1:]}; expected one image "
                                        f"shape", fix, spec)
        if y.ndim != 1:
            raise format_error(source, f"{y_name} has shape {y.shape}; expected (N,) labels",
                                fix, spec)
        labels = "0-9" if spec.classes == 10 else ">= 0"
        if not np.issubdtype(y.dtype, np.integer):
            raise format_error(source, f"{y_name} has dtype {y.dtype}; expected integer labels "
                                        f"{labels}", fix, spec)
        if len(x) == 0:
            raise format_error(source, f"{x_name} holds no images; expected at least 1", fix,
                                spec)
        if len(x) != len(y):
            raise format_error(source, f"{x_name} holds {len(x)} images but {y_name} holds "
                                        f"{len(y)} labels; expected one label per image", fix,
                                spec)
        bad = (y < 0) if spec.classes is None else (y < 0) | (y >= spec.classes)
        if bad.any():
            values = ", ".join(str(v) for v in np.unique(y[bad])[:10])
            outside = "below 0" if spec.classes is None else f"outside 0-{spec.classes - 1}"
            raise format_error(source, f"{y_name} holds {int(bad.sum())} labels {outside} "
                                        f"(bad values: {values})", fix, spec)
        checked[x_key], checked[y_key] = x, _labels(y)
    for array in checked.values():
        array.flags.writeable = False
    return Dataset(**checked, sha256=content_sha256(*(checked[key] for key in KEYS)),
                   source=source)


_ARRAYS_FIX = ("Return the four arrays x_train, y_train, x_test, y_test: images of shape "
               "(N, H, W) or (N, H, W, C), uint8 or floating point, the same image shape in "
               "both splits, and integer labels >= 0 of shape (N,).")


def dataset_from_arrays(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                        y_test: np.ndarray, *, source: str) -> Dataset:
    """A workload's own data, checked like MNIST's but for any image size, channel count and
    number of classes; `source` names where it came from in every error and in the runs."""
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return validate(arrays, source, _ARRAYS_FIX, spec=ANY_IMAGES)


def load_npz_as(path: Path | str, fix: str) -> Dataset:
    """load_npz, with the advice in its errors chosen by the caller (the Keras cache differs)."""
    path = absolute(path)
    source = f"npz file {path}"
    if not path.exists():
        raise format_error(source, "no such file", fix)
    if path.is_dir():
        raise format_error(source, "it is a folder, not a file", fix)
    # np.load treats anything that is neither zip nor .npy as a pickle, and would answer a CSV or
    # an HTML error page with advice to unpickle it: recognise the file by its first bytes first.
    try:
        with path.open("rb") as stream:
            head = stream.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise format_error(source, f"it cannot be read ({type(exc).__name__}: {exc})",
                            fix) from exc
    if not head.startswith(_ZIP_MAGICS):
        what = ("it is empty (0 bytes)" if not head
                else "it is an .npy file (a single array)" if head == _NPY_MAGIC
                else f"it starts with {head!r}")
        raise format_error(source, f"{what}, not an npz (zip) archive of "
                                    f"{', '.join(KEYS)}", fix)
    try:
        loaded = np.load(path, allow_pickle=False)
    except READ_ERRORS as exc:
        raise format_error(source, f"it is a damaged npz archive "
                                    f"({type(exc).__name__}: {exc})", fix) from exc
    with loaded:
        missing = [key for key in KEYS if key not in loaded.files]
        if missing:
            raise format_error(source, f"it lacks the array(s) {', '.join(missing)} (arrays "
                                        f"found: {shown(sorted(loaded.files))})", fix)
        arrays = {}
        for key in KEYS:
            try:
                arrays[key] = loaded[key]
            except READ_ERRORS as exc:
                raise format_error(source, f"its array {key} cannot be read "
                                            f"({type(exc).__name__}: {exc})", fix) from exc
    return validate(arrays, source, fix)


def load_npz(path: Path | str) -> Dataset:
    """Load a Keras-layout MNIST .npz (the layout of Keras' cache and ../shared/data/mnist.npz)."""
    return load_npz_as(path, NPZ_FIX)
