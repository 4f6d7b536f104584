"""Zipped size: ZIP_DEFLATED, independent of the folder the file sits in."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from pipeline.measure.size import zipped_size


def test_zipped_size_is_the_archive_size_and_compresses(tmp_path: Path) -> None:
    path = tmp_path / "model.tflite"
    path.write_bytes(bytes(50_000))  # all zeros: deflate shrinks it to almost nothing
    size = zipped_size(path)
    archive = tmp_path / "model.tflite.zip"
    assert size == archive.stat().st_size
    assert size < 1_000
    with zipfile.ZipFile(archive) as zf:
        (info,) = zf.infolist()
        assert info.filename == "model.tflite"
        assert info.compress_type == zipfile.ZIP_DEFLATED


def test_zipped_size_does_not_depend_on_the_folder(tmp_path: Path) -> None:
    payload = np.random.default_rng(0).integers(0, 4, 20_000, dtype=np.uint8).tobytes()
    short = tmp_path / "a" / "m.h5"
    deep = tmp_path / ("very_long_folder_name_" * 5) / "m.h5"
    for path in (short, deep):
        path.parent.mkdir(parents=True)
        path.write_bytes(payload)
    assert zipped_size(short) == zipped_size(deep)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"cannot measure zipped size: .*gone\.h5"):
        zipped_size(tmp_path / "gone.h5")
