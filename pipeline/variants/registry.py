"""The variant registry: every model the suite can build, declared as data.

A variant is a name, the variant it starts from, and the stage that makes it: a Keras step
(train, prune, cluster, quantization-aware fine-tune), a TFLite conversion with declared
converter settings, or the file a .tflite-only workload ships (`shipped_tflite`, no parent).
`BenchRun` builds any variant from its parent, each once per session; fixtures, parametrized
tests, threshold sections, the spread, the history and the comparison all take their model
lists from here. Adding a variant is one entry below, its
`[variants.NAME]` table in bench/thresholds.toml, and at most one new step function
(docs/variants-and-workloads.md, "Adding a variant").

The four `default` variants are the reference recipe (`pytest bench`); the others run with
`pytest bench --variants all` or `--variants NAME,...`. Which apply follows from how the
workload starts (pipeline.workload): every variant but `shipped_tflite` needs a Keras model,
and `shipped_tflite` is all a .tflite-only workload has.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.variants.clustering import cluster
from pipeline.variants.conversion import DYNAMIC_RANGE, FLOAT, ConverterSettings
from pipeline.variants.pruning import prune, prune_m_by_n
from pipeline.variants.quantization_aware import quantize_aware
from pipeline.variants.training import train_baseline
from pipeline.workload import FROM_TFLITE, FROM_TRAINED, Workload

#: A Keras step: (parent model or None, x_train, y_train, seed, workload, **options,
#: callbacks=...) -> model. The callbacks only watch (epoch lines); they never change weights.
KerasStep = Callable[..., Any]

#: Extra measurements a variant can declare (beyond accuracy, zipped and raw bytes, latency).
MEASURES: tuple[str, ...] = ("sparsity", "distinct_weights")

#: Full-integer conversion: int8 kernels and activations, int8 input and output, calibrated
#: on training images (the converter needs them for a model without QAT ranges, and for int8
#: input/output even with them).
FULL_INTEGER = ConverterSettings(optimizations=("DEFAULT",), representative_images=200,
                                 integer_io=True)


@dataclass(frozen=True)
class Variant:
    """One model the suite can build. Exactly one of `step` (Keras), `converter` (TFLite) or
    `shipped` (the workload's own .tflite file, copied as it is)."""

    name: str
    parent: str | None
    #: The stage_seconds label of the step that makes it (train, prune, cluster, qat, convert).
    stage: str
    description: str
    step: KerasStep | None = None
    #: Keyword arguments of `step`, part of the variant's definition (and of recipe_sha256).
    options: Mapping[str, Any] = field(default_factory=dict)
    converter: ConverterSettings | None = None
    #: The .tflite file a workload of FROM_TFLITE declares, measured as shipped.
    shipped: bool = False
    #: In plain `pytest bench` (the reference recipe; a .tflite workload's own file).
    default: bool = False
    #: Which of MEASURES apply: sparsity of pruned kernels, distinct values of clustered ones.
    measures: tuple[str, ...] = ()
    #: A variant whose file this one's raw size is held against (`raw_ratio_min`).
    raw_size_against: str | None = None
    #: Part of recipe_sha256 in place of the step's code (pipeline.identity): bump it when a
    #: change to what the step or converter does should keep runs before and after apart.
    version: int = 1

    @property
    def kind(self) -> str:
        """'keras' (an .h5 file) or 'tflite' (a .tflite file)."""
        return "tflite" if self.converter is not None or self.shipped else "keras"

    @property
    def suffix(self) -> str:
        return ".tflite" if self.kind == "tflite" else ".h5"


def _root(parent: Any, x_train: np.ndarray, y_train: np.ndarray, seed: int,
          workload: Workload, callbacks: Sequence[Any] = ()) -> Any:
    """The baseline has no parent: the workload's model trained from scratch, or its trained
    file loaded."""
    return train_baseline(x_train, y_train, seed, workload, callbacks)


_VARIANTS: tuple[Variant, ...] = (
    # The reference recipe.
    Variant("baseline", None, "train", "the workload's model, trained 4 epochs", step=_root,
            default=True),
    Variant("pruned", "baseline", "prune", "PolynomialDecay 0.50 -> 0.80, 2 epochs, stripped",
            step=prune, default=True, measures=("sparsity",)),
    Variant("pruned_tflite", "pruned", "convert", "float TFLite", converter=FLOAT,
            default=True),
    Variant("pruned_quantized_tflite", "pruned", "convert",
            "dynamic-range quantized TFLite (Optimize.DEFAULT)", converter=DYNAMIC_RANGE,
            default=True),
    # Post-training quantization of the baseline.
    Variant("int8_tflite", "baseline", "convert",
            "full-integer int8 TFLite, int8 input and output, 200 calibration images",
            converter=FULL_INTEGER),
    Variant("fp16_tflite", "baseline", "convert", "float16 TFLite (weights in float16)",
            converter=ConverterSettings(optimizations=("DEFAULT",),
                                        supported_types=("float16",))),
    # Quantization-aware training.
    Variant("qat", "baseline", "qat", "quantize_model, fine-tuned 1 epoch",
            step=quantize_aware),
    Variant("qat_int8_tflite", "qat", "convert", "full-integer TFLite of the QAT model",
            converter=FULL_INTEGER),
    # Clustering, then cluster-preserving QAT.
    Variant("clustered", "baseline", "cluster", "16 clusters per layer, fine-tuned, stripped",
            step=cluster, measures=("distinct_weights",)),
    Variant("clustered_cqat", "clustered", "qat", "cluster-preserving QAT, 1 epoch",
            step=quantize_aware, options={"preserve": "clusters"}),
    Variant("clustered_cqat_int8_tflite", "clustered_cqat", "convert",
            "full-integer TFLite of the CQAT model", converter=FULL_INTEGER,
            measures=("distinct_weights",)),
    # Pruning-preserving QAT.
    Variant("pruned_pqat", "pruned", "qat", "pruning-preserving QAT, 1 epoch",
            step=quantize_aware, options={"preserve": "sparsity"}),
    Variant("pruned_pqat_int8_tflite", "pruned_pqat", "convert",
            "full-integer TFLite of the PQAT model", converter=FULL_INTEGER,
            measures=("sparsity",)),
    # Structured and encoded sparsity.
    Variant("pruned_2by4", "baseline", "prune", "2:4 structured sparsity on Dense, 2 epochs",
            step=prune_m_by_n, options={"m_by_n": (2, 4), "layer_types": ("Dense",)},
            measures=("sparsity",)),
    Variant("pruned_sparse_tflite", "pruned", "convert",
            "float TFLite with EXPERIMENTAL_SPARSITY (pruned weights stored sparse)",
            converter=ConverterSettings(optimizations=("EXPERIMENTAL_SPARSITY",)),
            raw_size_against="pruned_tflite"),
    # The seed's schedule at other final sparsities.
    Variant("pruned_sparsity50", "baseline", "prune", "the seed's schedule, final sparsity 0.50",
            step=prune, options={"final_sparsity": 0.50}, measures=("sparsity",)),
    Variant("pruned_sparsity90", "baseline", "prune", "the seed's schedule, final sparsity 0.90",
            step=prune, options={"final_sparsity": 0.90}, measures=("sparsity",)),
    # A .tflite-only workload's file.
    Variant("shipped_tflite", None, "load", "the workload's own .tflite file, as shipped",
            shipped=True, default=True),
)

#: Every variant by name, in declaration order (parents before children).
VARIANTS: dict[str, Variant] = {v.name: v for v in _VARIANTS}
#: Names in declaration order: the order of reports, tables and pictures.
VARIANT_NAMES: tuple[str, ...] = tuple(VARIANTS)
#: The model every size ratio is taken against and every accuracy chain starts from.
ROOT = "baseline"
#: The variant a .tflite-only workload is.
SHIPPED = "shipped_tflite"




def registry_rank(name: str) -> tuple[int, str]:
    """Sort key putting models in registry order; names the registry does not know (an older
    run's) after all known ones, alphabetically."""
    return (VARIANT_NAMES.index(name), "") if name in VARIANT_NAMES else (len(VARIANT_NAMES),
                                                                         name)


class UnknownVariant(ValueError):
    """A variant name that is not in the registry; the message lists the known ones."""


class InapplicableVariant(UnknownVariant):
    """A selected variant whose technique the workload declares it cannot take, and why."""


def _check_registry(variants: Iterable[Variant]) -> None:
    """Parents declared first, one root, exactly one of step/converter: checked at import, so a
    bad entry fails every command at once rather than one stage deep into a session."""
    seen: set[str] = set()
    for variant in variants:
        if variant.name in seen:
            raise ValueError(f"variant {variant.name!r} is declared twice")
        if [variant.step is not None, variant.converter is not None,
                variant.shipped].count(True) != 1:
            raise ValueError(f"variant {variant.name!r} needs exactly one of step, converter "
                             f"or shipped")
        if (variant.parent is None) != (variant.name == ROOT or variant.shipped):
            raise ValueError(f"variant {variant.name!r}: only {ROOT!r} and a shipped file are "
                             f"roots, and they have no parent")
        if variant.parent is not None and variant.parent not in seen:
            raise ValueError(f"variant {variant.name!r}: parent {variant.parent!r} must be "
                             f"declared before it")
        if variant.parent is not None and VARIANTS[variant.parent].kind == "tflite":
            raise ValueError(f"variant {variant.name!r}: parent {variant.parent!r} is a TFLite "
                             f"file; only Keras models are fine-tuned or converted")
        if type(variant.version) is not int or variant.version < 1:
            raise ValueError(f"variant {variant.name!r}: version {variant.version!r} is not a "
                             f"whole number from 1 up")
        if variant.raw_size_against is not None and variant.raw_size_against not in VARIANTS:
            raise ValueError(f"variant {variant.name!r}: raw_size_against "
                             f"{variant.raw_size_against!r} is not a variant")
        unknown = sorted(set(variant.measures) - set(MEASURES))
        if unknown:
            raise ValueError(f"variant {variant.name!r}: unknown measures {unknown}; known: "
                             f"{', '.join(MEASURES)}")
        seen.add(variant.name)


_check_registry(_VARIANTS)


def lineage(name: str) -> list[str]:
    """`name` and every variant it is built from, root first."""
    chain = []
    current: str | None = name
    while current is not None:
        chain.append(current)
        current = VARIANTS[current].parent
    return chain[::-1]


def requires(name: str) -> list[str]:
    """Every variant that building `name` builds: its lineage and its raw-size reference."""
    needed = lineage(name)
    against = VARIANTS[name].raw_size_against
    if against is not None:
        needed += [n for n in lineage(against) if n not in needed]
    return needed


def applies(name: str, workload: Workload | None) -> bool:
    """Whether variant `name` can be built for a workload that starts as `workload` does
    (None: one that builds a Keras model): the shipped file for a .tflite-only workload,
    everything else for the others."""
    tflite_only = workload is not None and workload.start == FROM_TFLITE
    return VARIANTS[lineage(name)[0]].shipped == tflite_only


def stage_of(variant: Variant, workload: Workload) -> str:
    """The stage_seconds label of building `variant` for `workload`: its declared stage, but
    `load` for the baseline of a workload that starts from a trained file (nothing is fitted)."""
    if variant.name == ROOT and workload.start == FROM_TRAINED:
        return "load"
    return variant.stage


def default_variants(workload: Workload | None = None) -> tuple[str, ...]:
    """The variants plain `pytest bench` selects for `workload`: the reference recipe's four,
    or a .tflite-only workload's file."""
    return tuple(v.name for v in _VARIANTS if v.default and applies(v.name, workload))


#: The reference recipe: what `pytest bench` selects for a workload with a Keras model.
DEFAULT_VARIANTS: tuple[str, ...] = default_variants()


def _foreign(name: str, workload: Workload | None) -> str:
    """Why variant `name` cannot be built for how `workload` starts (registry.applies)."""
    if workload is None or workload.tflite is None:
        shown = "mnist_cnn" if workload is None else workload.name
        return (f"variant {name!r} does not apply to workload {shown!r}: it is the .tflite "
                f"file a workload declaring tflite= ships")
    return (f"variant {name!r} does not apply to workload {workload.name!r}: it is made from a "
            f"Keras model, and the workload is a .tflite file only ({workload.tflite}); its one "
            f"variant is {SHIPPED!r}")


def select(spec: str | None, workload: Workload | None = None) -> tuple[str, ...]:
    """The variants a `--variants` value selects, with everything they need, in registry order.

    None or "default": the workload's defaults (default_variants). "all": every variant that
    applies to `workload` (those its `inapplicable` names are left out). Otherwise a
    comma-separated list of names, added to the defaults (the reference recipe is always
    measured, so every run can be gated against history); naming one that does not apply is
    an error saying why.
    """
    inapplicable = {} if workload is None else dict(workload.inapplicable)
    defaults = default_variants(workload)
    if spec is None or spec.strip() in ("", "default"):
        names: list[str] = list(defaults)
    elif spec.strip() == "all":
        names = [n for n in VARIANT_NAMES if applies(n, workload)
                 and not set(requires(n)) & inapplicable.keys()]
    else:
        asked = [n.strip() for n in spec.split(",") if n.strip()]
        unknown = [n for n in asked if n not in VARIANTS]
        if unknown:
            raise UnknownVariant(
                f"unknown variant(s) {', '.join(repr(n) for n in unknown)}; known: "
                f"{', '.join(VARIANT_NAMES)} (or 'all', 'default')")
        foreign = [n for n in asked if not applies(n, workload)]
        if foreign:
            raise InapplicableVariant("; ".join(_foreign(name, workload) for name in foreign))
        names = list(defaults) + asked
    needed = {n for name in names for n in requires(name)}
    refused = sorted(needed & inapplicable.keys(), key=VARIANT_NAMES.index)
    if refused:
        assert workload is not None
        raise InapplicableVariant("; ".join(
            f"variant {name!r} does not apply to workload {workload.name!r}: "
            f"{inapplicable[name]}" for name in refused))
    return tuple(n for n in VARIANT_NAMES if n in needed)


def source_of(name: str) -> str | None:
    """The model a variant is judged against for accuracy: its parent (None for the root)."""
    return VARIANTS[name].parent

