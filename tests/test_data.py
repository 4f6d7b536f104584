"""pipeline.data: every source gives the same checked arrays, and every bad input a clear error.

Fast and offline: it uses the committed real-MNIST sample and never imports TensorFlow (the
Keras download is replaced by a fake callable).
"""
from __future__ import annotations

import gzip
import io
import struct
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline import tfenv
from pipeline.data import (
    DataFormatError,
    Dataset,
    DataUnavailableError,
    content_sha256,
    load_npz,
    scale_pixels,
)
from pipeline.mnist import keras_cache_path, load_from_path, load_idx_folder, resolve_mnist

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = REPO_ROOT / "tests" / "data" / "mnist_sample.npz"
#: Printed by scripts/make_test_sample.py when it made tests/data/mnist_sample.npz from the full
#: MNIST set (first 1000 training and first 200 test images).
SAMPLE_SHA256 = "723a40260b84717f85a37cd7cfade4ec081d0871c83bb00f73db884f95d45323"

IMAGE_MAGIC, LABEL_MAGIC = 0x00000803, 0x00000801
IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

Arrays = dict[str, np.ndarray]


@pytest.fixture(scope="module")
def sample() -> Arrays:
    """The committed sample's raw arrays, read without the code under test."""
    with np.load(SAMPLE) as archive:
        return {key: archive[key] for key in IDX_NAMES}


def write_idx(path: Path, array: np.ndarray, magic: int | None = None) -> Path:
    """Write `array` as an IDX file of unsigned bytes (gzipped if the name ends in .gz)."""
    magic = magic if magic is not None else (IMAGE_MAGIC if array.ndim == 3 else LABEL_MAGIC)
    header = struct.pack(f">I{array.ndim}I", magic, *array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def write_idx_folder(folder: Path, arrays: Arrays, gz: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in IDX_NAMES.items():
        write_idx(folder / (name + (".gz" if gz else "")), arrays[key])
    return folder


def write_npz(path: Path, **arrays: object) -> Path:
    np.savez(path, **arrays)
    return path


def fake_download(arrays: Arrays, calls: list[str]) -> Callable[[], tuple]:
    def download() -> tuple:
        calls.append("download")
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
    return download


# --- loading good data --------------------------------------------------------------------------

def test_sample_loads_with_the_sha256_its_script_printed(sample: Arrays) -> None:
    mnist = load_npz(SAMPLE)
    assert mnist.sha256 == SAMPLE_SHA256
    assert mnist.source == f"npz file {SAMPLE}"
    assert mnist.x_train.shape == (1000, 28, 28) and mnist.x_test.shape == (200, 28, 28)
    for key in IDX_NAMES:
        assert getattr(mnist, key).dtype == np.uint8
        np.testing.assert_array_equal(getattr(mnist, key), sample[key])


def test_arrays_are_read_only_so_the_sha256_stays_true() -> None:
    mnist = load_npz(SAMPLE)
    with pytest.raises(ValueError, match="read-only"):
        mnist.x_train[0, 0, 0] = 1


def test_content_sha256_does_not_depend_on_memory_layout(sample: Arrays) -> None:
    fortran = {key: np.asfortranarray(array) for key, array in sample.items()}
    assert content_sha256(**fortran) == content_sha256(**sample) == SAMPLE_SHA256


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzipped"])
def test_idx_folder_gives_the_same_arrays_and_sha256_as_npz(tmp_path: Path, sample: Arrays,
                                                           gz: bool) -> None:
    folder = write_idx_folder(tmp_path / "idx", sample, gz=gz)
    from_idx, from_npz = load_idx_folder(folder), load_npz(SAMPLE)
    assert from_idx.sha256 == from_npz.sha256 == SAMPLE_SHA256
    assert from_idx.source == f"IDX folder {folder}"
    for key in IDX_NAMES:
        np.testing.assert_array_equal(getattr(from_idx, key), getattr(from_npz, key))


def test_idx_folder_prefers_the_uncompressed_file_when_both_exist(tmp_path: Path,
                                                                  sample: Arrays) -> None:
    folder = write_idx_folder(tmp_path / "idx", sample)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    assert load_idx_folder(folder).sha256 == SAMPLE_SHA256


def test_load_from_path_reads_a_folder_as_idx_and_a_file_as_npz(tmp_path: Path,
                                                                sample: Arrays) -> None:
    folder = write_idx_folder(tmp_path / "idx", sample, gz=True)
    assert load_from_path(folder).source == f"IDX folder {folder}"
    assert load_from_path(str(SAMPLE)).source == f"npz file {SAMPLE}"


def test_integer_labels_of_any_dtype_become_uint8(tmp_path: Path, sample: Arrays) -> None:
    wide = dict(sample, y_train=sample["y_train"].astype(np.int64))
    mnist = load_npz(write_npz(tmp_path / "wide.npz", **wide))
    assert mnist.y_train.dtype == np.uint8
    assert mnist.sha256 == SAMPLE_SHA256


def test_scaled_gives_the_float32_values_keras_feeds_the_reference_model() -> None:
    mnist = load_npz(SAMPLE)
    x_train, x_test = scale_pixels(mnist.x_train), scale_pixels(mnist.x_test)
    assert x_train.dtype == x_test.dtype == np.float32
    np.testing.assert_array_equal(x_train, (mnist.x_train / 255.0).astype(np.float32))
    np.testing.assert_array_equal(x_test, (mnist.x_test / 255.0).astype(np.float32))
    assert x_train.max() == 1.0 and x_train.min() == 0.0


def test_every_pixel_value_scales_to_the_reference_float_rounded_to_float32() -> None:
    """All 256 values, bit for bit: the reference's float64 quotient, cast to float32 as
    tf_keras' data adapter and the reference's interpreter loop cast it."""
    pixels = np.arange(256, dtype=np.uint8)
    reference = (pixels / 255.0).astype(np.float32)
    np.testing.assert_array_equal(scale_pixels(pixels).view(np.uint32), reference.view(np.uint32))


def test_repr_names_the_source_not_the_arrays() -> None:
    assert repr(load_npz(SAMPLE)) == (f"Dataset(sha256='{SAMPLE_SHA256}', "
                                        f"source='npz file {SAMPLE}')")


# --- resolve_mnist: which source wins ---------------------------------------------------------

@pytest.fixture
def sources(tmp_path: Path, sample: Arrays) -> dict[str, Any]:
    """Four distinguishable valid sources: an explicit npz, an MNIST_PATH IDX folder, a Keras
    cache under KERAS_HOME, and a fake download (each a different slice, hence sha256)."""
    def sliced(n: int) -> Arrays:
        return {key: array[:n] for key, array in sample.items()}
    keras_home = tmp_path / "keras_home"
    (keras_home / "datasets").mkdir(parents=True)
    return {
        "explicit": write_npz(tmp_path / "explicit.npz", **sliced(100)),
        "env": write_idx_folder(tmp_path / "env_idx", sliced(90)),
        "cache": write_npz(keras_home / "datasets" / "mnist.npz", **sliced(80)),
        "keras_home": keras_home,
        "download": sliced(70),
    }


@pytest.mark.parametrize("given, expected", [
    ({"explicit", "env", "cache"}, "explicit"),
    ({"env", "cache"}, "env"),
    ({"cache"}, "cache"),
    (set(), "download"),
], ids=["explicit-wins", "env-beats-cache", "cache-beats-download", "download-last"])
def test_resolve_mnist_order(sources: dict[str, Any], given: set[str], expected: str) -> None:
    if "cache" not in given:
        sources["cache"].unlink()
    environ = {"KERAS_HOME": str(sources["keras_home"])}
    if "env" in given:
        environ["MNIST_PATH"] = str(sources["env"])
    calls: list[str] = []
    mnist = resolve_mnist(sources["explicit"] if "explicit" in given else None, environ=environ,
                          download=fake_download(sources["download"], calls))
    assert mnist.source == {
        "explicit": f"npz file {sources['explicit']}",
        "env": f"IDX folder {sources['env']}",
        "cache": f"npz file {sources['cache']}",
        "download": "Keras download",
    }[expected]
    assert len(mnist.y_train) == {"explicit": 100, "env": 90, "cache": 80, "download": 70}[expected]
    assert calls == (["download"] if expected == "download" else [])


def test_resolve_mnist_treats_empty_strings_as_not_given(sources: dict[str, Any]) -> None:
    environ = {"KERAS_HOME": str(sources["keras_home"]), "MNIST_PATH": ""}
    assert resolve_mnist("", environ=environ).source == f"npz file {sources['cache']}"


@pytest.mark.parametrize("origin", ["--data", "MNIST_PATH"])
def test_a_bad_named_path_is_an_error_not_a_fallback(sources: dict[str, Any], tmp_path: Path,
                                                     origin: str) -> None:
    bad = tmp_path / "typo.npz"
    environ = {"KERAS_HOME": str(sources["keras_home"]), "MNIST_PATH": str(sources["env"])}
    explicit = None
    if origin == "--data":
        explicit = bad
    else:
        environ["MNIST_PATH"] = str(bad)
    calls: list[str] = []
    with pytest.raises(DataFormatError) as caught:
        resolve_mnist(explicit, environ=environ, download=fake_download(sources["download"], calls))
    message = str(caught.value)
    assert message.startswith(f"Cannot use {bad} as MNIST: nothing exists at this path. Pass a ")
    assert message.endswith(f"The path was given by the {origin} "
                            f"{'option' if origin == '--data' else 'variable'}, "
                            f"so no other source was tried.")
    assert calls == []


def test_a_corrupt_keras_cache_says_to_delete_it(sources: dict[str, Any]) -> None:
    cache: Path = sources["cache"]
    cache.write_bytes(cache.read_bytes()[:1000])
    with pytest.raises(DataFormatError) as caught:
        resolve_mnist(environ={"KERAS_HOME": str(sources["keras_home"])},
                      download=fake_download(sources["download"], []))
    message = str(caught.value)
    assert message.startswith(f"Cannot use npz file {cache} as MNIST: it is a damaged npz "
                              f"archive (BadZipFile: ")
    assert (f"This is Keras' MNIST cache (perhaps a partial download): delete {cache} so Keras "
            f"downloads it again, or pass --data PATH or set MNIST_PATH") in message


def test_a_failed_download_names_all_three_ways_to_provide_the_data(tmp_path: Path) -> None:
    def offline() -> tuple:
        raise OSError("Temporary failure in name resolution")
    environ = {"KERAS_HOME": str(tmp_path / "keras_home")}
    cache = tmp_path / "keras_home" / "datasets" / "mnist.npz"
    with pytest.raises(DataUnavailableError) as caught:
        resolve_mnist(environ=environ, download=offline)
    assert str(caught.value) == (
        f"MNIST could not be loaded: no --data option or MNIST_PATH variable was given, no Keras "
        f"cache at {cache}, and Keras' download failed (OSError: Temporary failure in name "
        f"resolution). Provide the data one of three ways: pass --data PATH (a Keras-layout .npz "
        f"or a folder of the four MNIST IDX files), set MNIST_PATH=PATH, or run once with "
        f"internet so Keras caches it at {cache}.")
    assert isinstance(caught.value.__cause__, OSError)


def test_a_bad_download_is_validated_like_any_source(tmp_path: Path, sample: Arrays) -> None:
    environ = {"KERAS_HOME": str(tmp_path / "keras_home")}
    scaled = dict(sample, x_train=sample["x_train"] / 255.0)
    with pytest.raises(DataFormatError, match=r"^Cannot use Keras download as MNIST: x_train has "
                                              r"dtype float64; expected uint8"):
        resolve_mnist(environ=environ, download=fake_download(scaled, []))


def test_keras_cache_path(tmp_path: Path) -> None:
    default = Path.home() / ".keras" / "datasets" / "mnist.npz"
    assert keras_cache_path({}) == default
    assert keras_cache_path({"KERAS_HOME": ""}) == default
    assert keras_cache_path({"KERAS_HOME": str(tmp_path)}) == tmp_path / "datasets" / "mnist.npz"


def test_the_default_download_uses_tfenv_keras_and_caches_under_keras_home(
        tmp_path: Path, sample: Arrays, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake `tfenv.keras()` stands in for TensorFlow, which is never imported here."""
    calls: list[object] = []

    def load_data(cache_dir: str) -> tuple:
        calls.append(cache_dir)
        return (sample["x_train"], sample["y_train"]), (sample["x_test"], sample["y_test"])
    fake_keras = types.SimpleNamespace(datasets=types.SimpleNamespace(
        mnist=types.SimpleNamespace(load_data=load_data)))
    monkeypatch.setattr(tfenv, "keras", lambda: fake_keras)
    mnist = resolve_mnist(environ={"KERAS_HOME": str(tmp_path / "keras_home")})
    assert (mnist.source, mnist.sha256) == ("Keras download", SAMPLE_SHA256)
    assert calls == [str(tmp_path / "keras_home")]


def test_importing_and_loading_does_not_import_tensorflow() -> None:
    """Checked in a fresh interpreter: other test modules in this session may import TensorFlow."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from pipeline.mnist import load_from_path; load_from_path(sys.argv[2]); "
            "print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('tensorflow', 'tf_keras', 'keras')))")
    done = subprocess.run([sys.executable, "-c", code, str(REPO_ROOT), str(SAMPLE)],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- bad inputs: DataFormatError naming the path, the problem and the remedy ---------------------

def _npz(**changes: object) -> Callable[[Path, Arrays], Path]:
    """A builder for the sample as .npz with some arrays replaced (None: left out)."""
    def build(tmp_path: Path, sample: Arrays) -> Path:
        arrays = {key: value for key, value in {**sample, **changes}.items() if value is not None}
        return write_npz(tmp_path / "bad.npz", **arrays)
    return build


def _bytes(name: str, content: Callable[[Arrays], bytes]) -> Callable[[Path, Arrays], Path]:
    def build(tmp_path: Path, sample: Arrays) -> Path:
        path = tmp_path / name
        path.write_bytes(content(sample))
        return path
    return build


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _corrupt_member(tmp_path: Path, sample: Arrays) -> Path:
    """An uncompressed npz with one byte of x_train's data flipped: the zip CRC check fails."""
    path = write_npz(tmp_path / "bad.npz", **sample)
    raw = bytearray(path.read_bytes())
    raw[5000] ^= 0xFF
    path.write_bytes(bytes(raw))
    return path


def _idx(gz: bool = False, **changes: object) -> Callable[[Path, Arrays], Path]:
    """A builder for the sample as an IDX folder; a change maps a key to an array (written
    normally), to raw file bytes, or to None (file left out)."""
    def build(tmp_path: Path, sample: Arrays) -> Path:
        folder = tmp_path / "idx"
        folder.mkdir()
        for key, name in IDX_NAMES.items():
            value = changes.get(key, sample[key])
            path = folder / (name + (".gz" if gz else ""))
            if isinstance(value, bytes):
                path.write_bytes(value)
            elif value is not None:
                write_idx(path, value)
        return folder
    return build


def _idx_bytes(array: np.ndarray, magic: int | None = None, cut: int = 0) -> bytes:
    magic = magic if magic is not None else (IMAGE_MAGIC if array.ndim == 3 else LABEL_MAGIC)
    data = struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()
    return data[:len(data) - cut]


def _empty_folder(tmp_path: Path, sample: Arrays) -> Path:
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


def _unrelated_folder(tmp_path: Path, sample: Arrays) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "README.txt").write_text("no data here")
    return folder


def _missing(tmp_path: Path, sample: Arrays) -> Path:
    return tmp_path / "no-such-mnist.npz"


def _sample_copy(tmp_path: Path, sample: Arrays) -> Path:
    return write_npz(tmp_path / "mnist.npz", **sample)


X, Y = np.zeros((10, 28, 28), np.uint8), np.zeros(10, np.uint8)
LABELS_OUT_OF_RANGE = np.array([0, 10, 3, 12, 10] + [1] * 995, dtype=np.int16)

# Each case: the loader, a builder of the bad input, and a substring of the exact message
# ({path} is the path passed to the loader).
BAD_INPUTS = [
    pytest.param(load_from_path, _missing,
                 "Cannot use {path} as MNIST: nothing exists at this path. Pass a Keras-layout "
                 "MNIST .npz", id="missing-path"),
    pytest.param(load_npz, _missing,
                 "Cannot use npz file {path} as MNIST: no such file.", id="npz-missing"),
    pytest.param(load_npz, _empty_folder,
                 "Cannot use npz file {path} as MNIST: it is a folder, not a file.",
                 id="npz-is-a-folder"),
    pytest.param(load_idx_folder, _missing,
                 "Cannot use IDX folder {path} as MNIST: no such folder.", id="idx-folder-missing"),
    pytest.param(load_idx_folder, _sample_copy,
                 "Cannot use IDX folder {path} as MNIST: it is a file, not a folder. Pass a folder "
                 "holding the four MNIST IDX files", id="idx-folder-is-a-file"),
    pytest.param(load_from_path, _bytes("mnist.npz", lambda s: b""),
                 "npz file {path} as MNIST: it is empty (0 bytes), not an npz (zip) archive of "
                 "x_train, y_train, x_test, y_test.", id="empty-file"),
    pytest.param(load_from_path,
                 _bytes("mnist.npz", lambda s: SAMPLE.read_bytes()[:SAMPLE.stat().st_size // 2]),
                 "npz file {path} as MNIST: it is a damaged npz archive (BadZipFile: ",
                 id="truncated-npz"),
    pytest.param(load_from_path, _bytes("mnist.npz", lambda s: b"x_train,y_train\n1,2\n"),
                 "npz file {path} as MNIST: it starts with b'x_trai', not an npz (zip) archive of "
                 "x_train, y_train, x_test, y_test.", id="text-file"),
    pytest.param(load_from_path, _corrupt_member,
                 "npz file {path} as MNIST: its array x_train cannot be read (BadZipFile: Bad "
                 "CRC-32", id="corrupt-member"),
    pytest.param(load_from_path, _bytes("mnist.npz", lambda s: _npy_bytes(s["y_test"])),
                 "npz file {path} as MNIST: it is an .npy file (a single array), not an npz (zip) "
                 "archive of x_train, y_train, x_test, y_test.", id="npy-not-npz"),
    pytest.param(load_from_path, _npz(x_test=None, y_test=None, images=X),
                 "npz file {path} as MNIST: it lacks the array(s) x_test, y_test (arrays found: "
                 "images, x_train, y_train). Pass a Keras-layout MNIST .npz (arrays x_train, "
                 "y_train, x_test, y_test", id="wrong-keys"),
    pytest.param(load_from_path, _npz(y_train=np.array([1, "2"], dtype=object)),
                 "npz file {path} as MNIST: its array y_train cannot be read (ValueError: Object "
                 "arrays cannot be loaded when allow_pickle=False)", id="object-array"),
    pytest.param(load_from_path, _npz(x_train=np.zeros((1000, 784), np.uint8)),
                 "npz file {path} as MNIST: x_train has shape (1000, 784); expected (N, 28, 28) "
                 "images.", id="flat-images"),
    pytest.param(load_from_path, _npz(x_test=np.zeros((200, 28, 28), np.float32)),
                 "npz file {path} as MNIST: x_test has dtype float32; expected uint8 pixels 0-255 "
                 "(unscaled).", id="float-images"),
    pytest.param(load_from_path, _npz(y_test=np.zeros((200, 1), np.uint8)),
                 "npz file {path} as MNIST: y_test has shape (200, 1); expected (N,) labels.",
                 id="2d-labels"),
    pytest.param(load_from_path, _npz(y_train=np.zeros(1000, np.float32)),
                 "npz file {path} as MNIST: y_train has dtype float32; expected integer labels "
                 "0-9.", id="float-labels"),
    pytest.param(load_from_path,
                 _npz(x_train=np.zeros((0, 28, 28), np.uint8), y_train=np.zeros(0, np.uint8)),
                 "npz file {path} as MNIST: x_train holds no images; expected at least 1.",
                 id="no-training-images"),
    pytest.param(load_from_path, _npz(y_test=np.zeros(199, np.uint8)),
                 "npz file {path} as MNIST: x_test holds 200 images but y_test holds 199 labels; "
                 "expected one label per image.", id="npz-count-mismatch"),
    pytest.param(load_from_path, _npz(y_train=LABELS_OUT_OF_RANGE),
                 "npz file {path} as MNIST: y_train holds 3 labels outside 0-9 (bad values: 10, "
                 "12).", id="labels-out-of-range"),
    pytest.param(load_from_path, _npz(y_test=np.full(200, -1, np.int8)),
                 "npz file {path} as MNIST: y_test holds 200 labels outside 0-9 (bad values: -1).",
                 id="negative-labels"),
    pytest.param(load_from_path, _empty_folder,
                 "Cannot use IDX folder {path} as MNIST: it is empty. Pass a folder holding the "
                 "four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                 "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each may end in .gz)",
                 id="empty-folder"),
    pytest.param(load_from_path, _unrelated_folder,
                 "IDX folder {path} as MNIST: it holds none of the four MNIST IDX files (found: "
                 "README.txt).", id="no-idx-files"),
    pytest.param(load_from_path, _idx(gz=True, y_test=None),
                 "IDX folder {path} as MNIST: it lacks t10k-labels-idx1-ubyte[.gz] (found: "
                 "t10k-images-idx3-ubyte.gz, train-images-idx3-ubyte.gz, "
                 "train-labels-idx1-ubyte.gz).", id="idx-file-missing"),
    pytest.param(load_from_path, _idx(x_test=_idx_bytes(X, magic=LABEL_MAGIC)),
                 "IDX file {path}/t10k-images-idx3-ubyte as MNIST: its magic number is "
                 "0x00000801, expected 0x00000803 for an IDX images file.", id="idx-bad-magic"),
    pytest.param(load_from_path, _idx(y_train=gzip.compress(_idx_bytes(Y), mtime=0)),
                 "IDX file {path}/train-labels-idx1-ubyte as MNIST: its magic number is "
                 "0x1F8B0800, expected 0x00000801 for an IDX labels file (its content is "
                 "gzip-compressed: give the file a .gz suffix).", id="idx-gzipped-without-gz"),
    pytest.param(load_from_path, _idx(y_test=b"\x00\x00\x08"),
                 "IDX file {path}/t10k-labels-idx1-ubyte as MNIST: it is 3 bytes long, shorter "
                 "than the 8-byte header of an IDX labels file.", id="idx-shorter-than-header"),
    pytest.param(load_from_path, _idx(x_train=_idx_bytes(X, cut=100)),
                 "IDX file {path}/train-images-idx3-ubyte as MNIST: its header declares images of "
                 "shape 10x28x28 (7840 bytes of data) but the file holds 7740 bytes after the "
                 "header.", id="idx-truncated-data"),
    pytest.param(load_from_path, _idx(gz=True, x_train=gzip.compress(_idx_bytes(X))[:-20]),
                 "IDX file {path}/train-images-idx3-ubyte.gz as MNIST: it cannot be read "
                 "(EOFError: ", id="idx-truncated-gzip"),
    pytest.param(load_from_path, _idx(gz=True, y_train=b"plain bytes, not gzip"),
                 "IDX file {path}/train-labels-idx1-ubyte.gz as MNIST: it cannot be read "
                 "(BadGzipFile: ", id="idx-not-gzip"),
    pytest.param(load_from_path, _idx(y_train=np.zeros(999, np.uint8)),
                 "IDX folder {path} as MNIST: train-images-idx3-ubyte holds 1000 images but "
                 "train-labels-idx1-ubyte holds 999 labels; expected one label per image.",
                 id="idx-count-mismatch"),
    pytest.param(load_from_path, _idx(x_test=np.zeros((200, 32, 32), np.uint8)),
                 "IDX folder {path} as MNIST: t10k-images-idx3-ubyte has shape (200, 32, 32); "
                 "expected (N, 28, 28) images.", id="idx-wrong-image-size"),
    pytest.param(load_from_path, _idx(gz=True, y_test=np.full(200, 11, np.uint8)),
                 "IDX folder {path} as MNIST: t10k-labels-idx1-ubyte.gz holds 200 labels outside "
                 "0-9 (bad values: 11).", id="idx-labels-out-of-range"),
]


@pytest.mark.parametrize("loader, build, expected", BAD_INPUTS)
def test_bad_input_gives_a_clear_data_format_error(tmp_path: Path, sample: Arrays,
                                                   loader: Callable[[Path], Dataset],
                                                   build: Callable[[Path, Arrays], Path],
                                                   expected: str) -> None:
    path = build(tmp_path, sample)
    with pytest.raises(DataFormatError) as caught:
        loader(path)
    message = str(caught.value)
    assert expected.format(path=path) in message
    assert "Pass a " in message  # every error also says what to do
