"""The one-screen summary a `pytest bench` session ends with: per model, the figures a user
came for (accuracy, zipped and raw bytes, size ratio, 1-thread median latency per runtime)."""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from pipeline.measure.interpreters import SINGLE_THREAD
from pipeline.measure.measurement import Measurement
from pipeline.variants.registry import ROOT, registry_rank

#: The latency the summary shows: the gated one.
SUMMARY_THREADS = SINGLE_THREAD


def summary_table(measurements: Sequence[Measurement]) -> pd.DataFrame:
    """One row per measured model, in registry order; latency columns `<runtime> us`."""
    value = {(m.model, m.metric, m.runtime, m.threads): m.value for m in measurements}
    models = sorted({m.model for m in measurements if m.metric == "accuracy"},
                    key=registry_rank)
    runtimes = sorted({m.runtime for m in measurements
                       if m.metric == "latency" and m.runtime is not None})
    root_bytes = value.get((ROOT, "zipped_bytes", None, None))
    rows = []
    for model in models:
        zipped = value.get((model, "zipped_bytes", None, None))
        row: dict[str, object] = {
            "model": model, "accuracy": value.get((model, "accuracy", None, None)),
            "zipped_bytes": zipped, "raw_bytes": value.get((model, "raw_bytes", None, None)),
            "size_ratio": (root_bytes / zipped if root_bytes and zipped and model != ROOT
                           else None)}
        for runtime in runtimes:
            seconds = value.get((model, "latency", runtime, SUMMARY_THREADS))
            row[f"{runtime} us"] = None if seconds is None else seconds * 1e6
        rows.append(row)
    return pd.DataFrame(rows)


def format_summary(table: pd.DataFrame) -> list[str]:
    """Fixed-width lines, each starting with the model name; empty cells where a figure does
    not apply (no latency for a Keras model, no ratio for the baseline)."""
    def cell(column: str, value: object) -> str:
        if column == "model":
            return str(value)
        if value is None or pd.isna(value):  # type: ignore[call-overload]
            return ""
        if column == "accuracy":
            return f"{value:.4f}"
        if column in ("zipped_bytes", "raw_bytes"):
            return f"{int(value):,}"  # type: ignore[call-overload]
        if column == "size_ratio":
            return f"{value:.2f}x"
        return f"{value:.2f}"

    headers = {"model": "model", "accuracy": "accuracy", "zipped_bytes": "zipped B",
               "raw_bytes": "raw B", "size_ratio": "ratio"}
    columns = list(table.columns)
    cells = [[headers.get(c, c) for c in columns]]
    cells += [[cell(c, row[c]) for c in columns] for _, row in table.iterrows()]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    return ["  ".join(text.ljust(w) if i == 0 else text.rjust(w)
                      for i, (text, w) in enumerate(zip(r, widths, strict=True))).rstrip()
            for r in cells]
