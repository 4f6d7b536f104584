"""Each runtime a .tflite model is measured on, as one declared entry.

Everything that differs between runtimes is a field of its entry: its name (as runs record
it), the package that provides it and the run column its version is recorded in, how to tell
it is missing, its Interpreter class (load a .tflite, invoke it), its kernel modes, and what
callgrind counts in it (its native wrapper and functions). Adding a runtime is one entry here
plus its tests; the names already in the history stay: `tf.lite`, `ai_edge_litert`, and each
with `:no_xnnpack`.

Finding whether a runtime is missing must not load it: a session that forks footprint
processes must not have started a runtime it has not used yet (a forked child of a process
holding ai_edge_litert's library beside TensorFlow 2.15's hung on a lock).
"""
from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from pipeline import tfenv

#: The suffix of a runtime run with TFLite's builtin kernels only, no default delegate
#: (experimental_op_resolver_type=BUILTIN_WITHOUT_DEFAULT_DELEGATES: what TFLite's
#: benchmark_model measures with --use_xnnpack=false).
NO_XNNPACK = ":no_xnnpack"
#: A TFLite interpreter's kernel modes, by runtime suffix, with the op resolver id its native
#: wrapper takes (tensorflow/lite/python/interpreter.py): builtin kernels with the default
#: delegate (XNNPACK on x86), and without it.
TFLITE_KERNEL_MODES: Mapping[str, int] = {"": 1, NO_XNNPACK: 3}
#: What callgrind counts in a TFLite interpreter (`--toggle-collect`): allocate_tensors(),
#: where the default delegate is applied and packs its weights, and each invoke.
TFLITE_COUNTED: tuple[str, str] = ("tflite::impl::Interpreter::AllocateTensors()",
                                   "tflite::Subgraph::InvokeImpl()")


@dataclass(frozen=True)
class Runtime:
    """One runtime: what it is called, where it comes from, how it runs and is counted."""

    name: str
    #: The package that provides it (its import name), and the run column its version is
    #: recorded in (pipeline.measure.environment.installed).
    package: str
    version_column: str
    #: Why it is missing here (None: it is there), found without loading its native library.
    missing: Callable[[], str | None]
    #: Its Interpreter class: `(model_path=..., num_threads=..., **options)`, then
    #: allocate_tensors() and invoke().
    interpreter: Callable[[], Callable[..., Any]]
    #: The op resolver type of its builtin-kernels-only mode, from its own module.
    builtin_kernels_only: Callable[[], Any]
    #: Its native interpreter wrapper inside `package`, first match wins: the extension its
    #: Interpreter class imports, which the counting process loads by file.
    wrapper_patterns: tuple[str, ...]
    kernel_modes: Mapping[str, int] = field(default_factory=lambda: TFLITE_KERNEL_MODES)
    #: The native functions callgrind counts inside: allocate, invoke.
    counted_functions: tuple[str, str] = TFLITE_COUNTED


def _tf_lite_missing() -> str | None:
    tf = tfenv.tensorflow()
    if getattr(getattr(tf, "lite", None), "Interpreter", None) is None:
        return (f"tensorflow {tf.__version__} has no tf.lite.Interpreter (deprecated in favour "
                f"of ai_edge_litert, and removed)")
    return None


def _tf_lite_interpreter() -> Callable[..., Any]:
    return cast(Callable[..., Any], tfenv.tensorflow().lite.Interpreter)


def _tf_lite_builtin_kernels_only() -> Any:
    return tfenv.tensorflow().lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES


def _litert_missing() -> str | None:
    if importlib.util.find_spec("ai_edge_litert") is None:
        return "ai_edge_litert is not installed (pip install ai-edge-litert)"
    return None


def _litert_interpreter() -> Callable[..., Any]:
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter


def _litert_builtin_kernels_only() -> Any:
    from ai_edge_litert.interpreter import OpResolverType

    return OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES


#: Every runtime, in the order runs list them.
RUNTIME_ENTRIES: Mapping[str, Runtime] = {entry.name: entry for entry in (
    # TensorFlow's own interpreter (deprecated). TF 2.15-2.20 import its wrapper from
    # lite/python/interpreter_wrapper/; in 2.21 that folder holds a Python shim importing the
    # one in lite/python/.
    Runtime("tf.lite", "tensorflow", "tensorflow", _tf_lite_missing, _tf_lite_interpreter,
            _tf_lite_builtin_kernels_only,
            ("lite/python/interpreter_wrapper/_pywrap_tensorflow_interpreter_wrapper*.so",
             "lite/python/_pywrap_tensorflow_interpreter_wrapper*.so")),
    # Its successor. LiteRT 2.1 on names its wrapper _pywrap_litert_*; 1.x and 2.0 kept
    # TFLite's name.
    Runtime("ai_edge_litert", "ai_edge_litert", "litert", _litert_missing, _litert_interpreter,
            _litert_builtin_kernels_only,
            ("_pywrap_litert_interpreter_wrapper*.so",
             "_pywrap_tensorflow_interpreter_wrapper*.so")),
)}
