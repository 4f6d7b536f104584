"""Identities from declared values (pipeline.identity): what moves code or edits a comment
changes no identity; what changes a value or a version does; a run of the older, code-hashed
identities is refused with what to do about it."""
from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pipeline import tfenv
from pipeline.config import DEFAULT_CONFIG_PATH, load_config
from pipeline.data import dataset_from_arrays, load_npz
from pipeline.identity import (
    canonical,
    config_sha256,
    recipe_definition,
    recipe_sha256,
    workload_definition,
    workload_sha256,
)
from pipeline.judge.compare import NotComparable, check_comparable
from pipeline.results import Run, read_results
from pipeline.variants.registry import VARIANTS
from pipeline.workload import (
    Compile,
    Workload,
    WorkloadError,
    Wrapping,
    file_sha256,
    model_file_sha256,
)
from pipeline.workloads import DS_CNN, MNIST_CNN

SAMPLE = Path(__file__).parent / "data" / "mnist_sample.npz"
RUNS = Path(__file__).parent / "fixtures" / "runs"

#: A user's workload module, as they might write it; loaded from two files below.
WORKLOAD_SOURCE = '''
from pipeline import tfenv
from pipeline.data import load_npz
from pipeline.workload import Workload


def tiny(filters: int) -> object:
    keras = tfenv.keras()
    return keras.Sequential([
        keras.layers.InputLayer(input_shape=(28, 28), name="input_1"),
        keras.layers.Reshape((28, 28, 1), name="reshape"),
        keras.layers.Conv2D(filters, (3, 3), activation="relu", name="conv2d"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(10, name="dense"),
    ], name="tiny")


def scaled(images):
    return images.astype("float32") / 255.0


WORKLOAD = Workload(name="tiny", description="a user's model", data=lambda path: load_npz(path),
                    model=tiny, model_parameters={"filters": 4}, scale=scaled,
                    bounds=BOUNDS)
'''


def _module(path: Path, name: str, bounds: Path) -> ModuleType:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"BOUNDS = __import__('pathlib').Path({str(bounds)!r})\n{WORKLOAD_SOURCE}")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_the_built_in_identities_are_stable() -> None:
    """The committed history records these; a change makes every earlier run incomparable (the
    gate refuses runs of another workload definition or recipe), so it must only change on
    purpose, with a version bumped and the history re-made."""
    sample = load_npz(SAMPLE)
    assert workload_sha256(MNIST_CNN, sample) == (
        "89175f007ad7a0199b2cabd7d293d80329bdd34193d7ff44735c2e5eaa0f15b4")
    assert recipe_sha256(MNIST_CNN) == (
        "34209261758752736c5dd4eaa95f6fa0b38bbe28df454f14d8ab06a1c0c2d88f")
    assert recipe_sha256(DS_CNN) == (
        "24022b871665112cd2649f95c9b93dd6371be80fe3282e21bafdf9bd2f4df85a")
    assert config_sha256(load_config()) == (
        "234aa1bfb8d58d066880f10199027b900da939b7741b0c350bb8f9cf146bf238")


def test_no_module_path_or_function_name_is_part_of_an_identity() -> None:
    text = canonical([workload_definition(MNIST_CNN, load_npz(SAMPLE)),
                      recipe_definition(MNIST_CNN)])
    for code in ("pipeline.", "mnist_cnn.", "scale_pixels", "train_baseline", "quantize_aware",
                 "prune_m_by_n", "<lambda>"):
        assert code not in text


def test_moving_and_renaming_a_workload_module_changes_no_identity(tmp_path: Path) -> None:
    bounds = tmp_path / "bounds.toml"
    first = _module(tmp_path / "my_models" / "tiny_cnn.py", "tiny_cnn", bounds).WORKLOAD
    moved = _module(tmp_path / "elsewhere" / "gated" / "renamed.py", "gated.renamed",
                    bounds).WORKLOAD
    assert first.model.__module__ != moved.model.__module__
    sample = load_npz(SAMPLE)
    assert workload_sha256(first, sample) == workload_sha256(moved, sample)
    assert recipe_sha256(first) == recipe_sha256(moved)


def test_a_changed_value_or_version_changes_the_workload_identity() -> None:
    sample = load_npz(SAMPLE)
    reference = workload_sha256(MNIST_CNN, sample)
    changed = {
        "a model parameter": dataclasses.replace(
            MNIST_CNN, model_parameters={**MNIST_CNN.model_parameters, "conv_filters": 13}),
        "the fit": dataclasses.replace(MNIST_CNN, recipe=dataclasses.replace(MNIST_CNN.recipe,
                                                                             epochs=3)),
        "the version": dataclasses.replace(MNIST_CNN, version=2),
        "the input scaling": dataclasses.replace(MNIST_CNN,
                                                 scale=lambda x: x.astype("float32") / 127.5),
        "the name": dataclasses.replace(MNIST_CNN, name="mnist_cnn_v2"),
    }
    other_data = dataset_from_arrays(sample.x_train[:-1], sample.y_train[:-1], sample.x_test,
                                     sample.y_test, source="fewer")
    digests = {what: workload_sha256(w, sample) for what, w in changed.items()}
    digests["the data"] = workload_sha256(MNIST_CNN, other_data)
    digests["another model"] = workload_sha256(DS_CNN, sample)
    assert reference not in digests.values()
    assert len(set(digests.values())) == len(digests), digests


@pytest.mark.parametrize("changes", [
    {"epochs": 3}, {"final_sparsity": 0.9}, {"conv_kernel": (5, 5)},
    {"baseline_steps_per_execution": 1}, {"clusters": 8},
], ids=lambda c: next(iter(c)))
def test_any_recipe_parameter_changes_the_recipe_identity(changes: dict[str, object]) -> None:
    model = {k: v for k, v in changes.items() if k in MNIST_CNN.model_parameters}
    recipe = {k: v for k, v in changes.items() if k not in model}
    changed = recipe_sha256(dataclasses.replace(
        MNIST_CNN, recipe=dataclasses.replace(MNIST_CNN.recipe, **recipe),
        model_parameters={**MNIST_CNN.model_parameters, **model}))
    assert changed != recipe_sha256(MNIST_CNN) and len(changed) == 64


def test_a_variant_s_values_and_version_change_the_recipe_identity_its_code_does_not() -> None:
    variants = list(VARIANTS.values())

    def replaced(name: str, **changes: object) -> list:
        return [dataclasses.replace(v, **changes) if v.name == name else v for v in variants]

    def same_step(*args: object, **kwargs: object) -> object:  # another function, same job
        return VARIANTS["pruned"].step(*args, **kwargs)  # type: ignore[misc]

    reference = recipe_sha256(MNIST_CNN, variants)
    assert recipe_sha256(MNIST_CNN, replaced("pruned", step=same_step)) == reference
    changed = [replaced("pruned_sparsity90", options={"final_sparsity": 0.95}),
               replaced("int8_tflite", converter=VARIANTS["pruned_tflite"].converter),
               replaced("pruned", version=2), variants[:-1]]
    digests = {recipe_sha256(MNIST_CNN, v) for v in changed}
    assert reference not in digests and len(digests) == len(changed)


def test_a_comment_or_the_path_of_the_thresholds_changes_no_identity_a_value_does(
        tmp_path: Path) -> None:
    reference = config_sha256(load_config())
    text = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    commented = tmp_path / "commented" / "thresholds.toml"
    commented.parent.mkdir()
    commented.write_text("# re-measured on another day\n" + text.replace(
        "\n[compare]", "\n# a corrected comment\n[compare]", 1), encoding="utf-8")
    assert commented.read_text() != text
    assert config_sha256(load_config(commented)) == reference
    changed = tmp_path / "thresholds.toml"
    changed.write_text(text.replace("latency_slowdown_max = 1.8", "latency_slowdown_max = 1.9",
                                    1), encoding="utf-8")
    assert "latency_slowdown_max = 1.9" in changed.read_text()
    assert config_sha256(load_config(changed)) != reference


def test_the_duel_s_settings_judge_no_run_and_are_not_part_of_the_config_identity(
        tmp_path: Path) -> None:
    duel = tmp_path / "thresholds.toml"
    duel.write_text(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8").replace(
        "\npairs = 64\n", "\npairs = 80\n", 1), encoding="utf-8")
    assert load_config(duel).duel.pairs == 80
    assert config_sha256(load_config(duel)) == config_sha256(load_config())


def test_a_version_must_be_a_whole_number_from_one() -> None:
    with pytest.raises(WorkloadError) as excinfo:
        dataclasses.replace(MNIST_CNN, version=0)
    assert str(excinfo.value) == (
        "workload 'mnist_cnn': version 0 is not a whole number from 1 up; declare version=1 "
        "and bump it when the workload's behaviour changes on purpose")
    assert isinstance(MNIST_CNN, Workload) and MNIST_CNN.version == 1


def test_a_run_of_code_hashed_identities_is_refused_with_what_to_do(tmp_path: Path) -> None:
    """A file written before schema 7 reads with identities 'code'; against a run of declared
    identities the gate refuses, and says to re-make the reference rather than to pick
    another of the same kind."""
    older = read_results(RUNS / "tf2.21.0_counted.csv")
    assert (older.info.schema_version, older.info.identities) == (5, "code")
    made = read_results(RUNS / "tf2.21.0_b.csv")
    newer = Run(dataclasses.replace(made.info, identities="declared", schema_version=7),
                made.rows)
    with pytest.raises(NotComparable) as excinfo:
        check_comparable(older, newer)
    assert str(excinfo.value) == (
        f"runs differ in identities: reference run {older.run_id} has 'code', candidate run "
        f"{newer.run_id} has 'declared'; a run written before schema 7 identifies its recipe "
        f"and workload by where their code lived, which no run of this version matches; "
        f"re-make the reference with this version (pytest bench on the reference's TensorFlow "
        f"line: docs/gate.md, 'Identities')")


def test_a_bumped_workload_version_is_refused_naming_both_versions() -> None:
    made = read_results(RUNS / "tf2.21.0_b.csv")
    declared = dataclasses.replace(made.info, identities="declared", schema_version=7,
                                   workload_sha256="a" * 64, workload_version=1)
    before = Run(declared, made.rows)
    after = Run(dataclasses.replace(declared, run_id="20261203T170000Z_tf2.21.0_000000",
                                    workload_sha256="b" * 64, workload_version=2), made.rows)
    with pytest.raises(NotComparable) as excinfo:
        check_comparable(before, after)
    assert str(excinfo.value).startswith(
        f"runs differ in workload_sha256 (workload version 1 vs 2): reference run "
        f"{before.run_id} has '{'a' * 64}', candidate run 20261203T170000Z_tf2.21.0_000000 has "
        f"'{'b' * 64}'; compare runs of the same workload")


def test_what_a_workload_may_declare_beyond_the_history_joins_its_identity_only_when_set(
        ) -> None:
    """A model file, a compile, a wrapping, calibration data and a fine-tune subset were added
    after the committed history: left at what its workloads had, they are not hashed (the
    stable identities above hold); declared, each changes the identity."""
    sample = load_npz(SAMPLE)
    definition = workload_definition(MNIST_CNN, sample)
    assert set(definition) == {"name", "version", "model", "data", "fit", "input"}
    assert "finetune_images" not in definition["fit"]
    declared = {
        "compile": dataclasses.replace(MNIST_CNN, compile=Compile(learning_rate=1e-4)),
        "wrapping": dataclasses.replace(MNIST_CNN, wrapping=Wrapping(("Dense",))),
        "calibration": dataclasses.replace(MNIST_CNN,
                                           calibration=lambda data: data.x_train[-100:]),
    }
    for key, workload in declared.items():
        assert key in workload_definition(workload, sample)
    subset = dataclasses.replace(MNIST_CNN, recipe=dataclasses.replace(MNIST_CNN.recipe,
                                                                       finetune_images=500))
    assert workload_definition(subset, sample)["fit"]["finetune_images"] == 500
    digests = {workload_sha256(w, sample) for w in (*declared.values(), subset)}
    assert len(digests) == 4 and workload_sha256(MNIST_CNN, sample) not in digests
    assert recipe_sha256(subset) != recipe_sha256(MNIST_CNN)


def test_a_trained_file_s_digest_is_part_of_the_identity(tmp_path: Path) -> None:
    keras = tfenv.keras()
    model = keras.Sequential([keras.layers.InputLayer(input_shape=(28, 28), name="input_1"),
                              keras.layers.Flatten(name="flatten"),
                              keras.layers.Dense(10, name="dense")], name="tiny")
    path = tmp_path / "trained.h5"
    keras.models.save_model(model, str(path), include_optimizer=False)
    trained = Workload(name="trained", description="a file", data=load_npz, trained=path,
                       bounds=tmp_path / "bounds.toml")
    sample = load_npz(SAMPLE)
    definition = workload_definition(trained, sample)
    assert definition["start"] == {"from": "trained", "sha256": file_sha256(path)}
    assert definition["model"]["layers"] == [["Flatten", "flatten", [None, 784], 0],
                                             ["Dense", "dense", [None, 10], 7850]]
    assert model_file_sha256(trained) == file_sha256(path)
    weights = model.get_weights()
    weights[0][0, 0] += 0.5
    model.set_weights(weights)
    keras.models.save_model(model, str(path), include_optimizer=False)
    again = dataclasses.replace(trained)  # a new workload object: its digest is read again
    assert workload_definition(again, sample)["start"]["sha256"] != definition["start"]["sha256"]


def test_a_changed_model_file_is_refused_naming_both_digests() -> None:
    made = read_results(RUNS / "tf2.21.0_b.csv")
    declared = dataclasses.replace(made.info, identities="declared", schema_version=9,
                                   workload_sha256="a" * 64, model_file_sha256="c" * 64)
    before = Run(declared, made.rows)
    after = Run(dataclasses.replace(declared, run_id="20261203T170000Z_tf2.21.0_000000",
                                    workload_sha256="b" * 64, model_file_sha256="d" * 64),
                made.rows)
    with pytest.raises(NotComparable) as excinfo:
        check_comparable(before, after)
    assert str(excinfo.value).startswith(
        f"runs differ in workload_sha256 (model file sha256 {'c' * 64} vs {'d' * 64}): "
        f"reference run {before.run_id} has '{'a' * 64}', candidate run "
        f"20261203T170000Z_tf2.21.0_000000 has '{'b' * 64}'; compare runs of the same workload")
