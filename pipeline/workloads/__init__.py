"""The built-in workloads, and finding the one `--workload` names.

`--workload NAME` picks one of WORKLOADS; `--workload package.module:attribute` imports a
`pipeline.workload.Workload` from the user's own code (the current directory first on the
import path, as `python -m` has it).
"""
from __future__ import annotations

import importlib
import os
import sys

from pipeline.workload import Workload, WorkloadError
from pipeline.workloads.ds_cnn import DS_CNN
from pipeline.workloads.mnist_cnn import MNIST_CNN
from pipeline.workloads.mobilenet_v3 import MOBILENET_V3_SMALL

#: Every built-in workload by name; the first is the default.
WORKLOADS: dict[str, Workload] = {w.name: w for w in (MNIST_CNN, DS_CNN, MOBILENET_V3_SMALL)}
DEFAULT_WORKLOAD = MNIST_CNN.name


def resolve_workload(spec: str) -> Workload:
    """The workload `spec` names: a built-in name, or `package.module:attribute`."""
    if ":" not in spec:
        if spec not in WORKLOADS:
            raise WorkloadError(f"unknown workload {spec!r}; built-in workloads: "
                                f"{', '.join(WORKLOADS)} (or package.module:attribute for one "
                                f"of your own)")
        return WORKLOADS[spec]
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise WorkloadError(f"--workload {spec!r}: expected package.module:attribute, e.g. "
                            f"my_models.workloads:MY_MODEL")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise WorkloadError(f"--workload {spec!r}: cannot import module {module_name!r} "
                            f"({type(exc).__name__}: {exc}); run from the folder that holds it "
                            f"or put that folder on PYTHONPATH") from exc
    try:
        workload = getattr(module, attribute)
    except AttributeError:
        raise WorkloadError(f"--workload {spec!r}: module {module_name!r} ({module.__file__}) "
                            f"has no attribute {attribute!r}") from None
    if not isinstance(workload, Workload):
        raise WorkloadError(f"--workload {spec!r}: {module_name}.{attribute} is a "
                            f"{type(workload).__name__}, not a pipeline.workload.Workload")
    if workload.name in WORKLOADS and workload is not WORKLOADS[workload.name]:
        raise WorkloadError(f"--workload {spec!r}: its name {workload.name!r} is the name of a "
                            f"built-in workload, whose history it would join; give it a name "
                            f"of its own")
    return workload
