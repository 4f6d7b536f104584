"""Zipped file size: the recipe's measure of how much pruning and quantization save."""
from __future__ import annotations

import zipfile
from pathlib import Path


def zipped_size(path: Path) -> int:
    """Bytes of `path` zipped alone with ZIP_DEFLATED, written beside it as `<name>.zip`.

    The archive member is named by the file's base name, not its full path as the tutorial's
    helper does: the zip stores the name twice, so a full path would make the size depend on
    where the run folder happens to be.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cannot measure zipped size: {path} is not a file")
    archive = path.with_name(path.name + ".zip")
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(path, arcname=path.name)
    return archive.stat().st_size
