"""Workloads: found by name or module:attribute, checked against their data, identified by a
hash, built as declared (ds_cnn runs the kernels the seed's CNN does not), and kept apart by
the gate, which refuses to compare runs of two workloads and chooses references among a
candidate's own workload only."""
from __future__ import annotations

import dataclasses
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pipeline import REPO_ROOT, tfenv
from pipeline.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from pipeline.data import DataFormatError, dataset_from_arrays, load_npz
from pipeline.identity import config_sha256
from pipeline.measure.interpreters import load_interpreter
from pipeline.results import read_history
from pipeline.suite.reuse import ReuseError, load_source_run
from pipeline.variants.conversion import to_tflite
from pipeline.variants.models import compile_model
from pipeline.variants.registry import (
    DEFAULT_VARIANTS,
    VARIANT_NAMES,
    VARIANTS,
    InapplicableVariant,
    default_variants,
    select,
    stage_of,
)
from pipeline.workload import Compile, Workload, WorkloadError, model_file_sha256
from pipeline.workloads import DS_CNN, MNIST_CNN, MOBILENET_V3_SMALL, WORKLOADS, resolve_workload
from pipeline.workloads.mobilenet_v3 import mnist_as_rgb32
from tests.helpers import COUNTED, ERROR, SAMPLE, as_schema6, run_cli

# --- finding a workload ----------------------------------------------------------------------

def test_built_in_workloads_by_name() -> None:
    assert list(WORKLOADS) == ["mnist_cnn", "ds_cnn", "mobilenet_v3_small"]
    assert resolve_workload("ds_cnn") is DS_CNN


def test_an_unknown_name_lists_the_built_in_ones() -> None:
    with pytest.raises(WorkloadError) as excinfo:
        resolve_workload("resnet8")
    assert str(excinfo.value) == ("unknown workload 'resnet8'; built-in workloads: mnist_cnn, "
                                  "ds_cnn, mobilenet_v3_small (or package.module:attribute for "
                                  "one of your own)")


@pytest.fixture
def own_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module outside the repository, in the current folder, defining two attributes."""
    (tmp_path / "my_models.py").write_text(textwrap.dedent("""
        from pipeline.workloads.mnist_cnn import MNIST_CNN
        import dataclasses
        MINE = dataclasses.replace(MNIST_CNN, name="mine")
        NOT_A_WORKLOAD = 3
    """))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    yield "my_models"
    sys.modules.pop("my_models", None)


def test_a_module_attribute_from_the_current_folder(own_module: str) -> None:
    assert resolve_workload(f"{own_module}:MINE").name == "mine"


@pytest.mark.parametrize(("spec", "message"), [
    ("my_models:", "--workload 'my_models:': expected package.module:attribute, e.g. "
                   "my_models.workloads:MY_MODEL"),
    ("no_such_module:X", "--workload 'no_such_module:X': cannot import module 'no_such_module' "
                         "(ModuleNotFoundError: No module named 'no_such_module'); run from the "
                         "folder that holds it or put that folder on PYTHONPATH"),
    ("my_models:MISSING", "--workload 'my_models:MISSING': module 'my_models' ({file}) has no "
                          "attribute 'MISSING'"),
    ("my_models:NOT_A_WORKLOAD", "--workload 'my_models:NOT_A_WORKLOAD': "
                                 "my_models.NOT_A_WORKLOAD is a int, not a "
                                 "pipeline.workload.Workload"),
], ids=["no-attribute", "no-module", "missing-attribute", "wrong-type"])
def test_a_bad_module_attribute_says_what_is_wrong(own_module: str, tmp_path: Path, spec: str,
                                                   message: str) -> None:
    with pytest.raises(WorkloadError) as excinfo:
        resolve_workload(spec)
    assert str(excinfo.value) == message.format(file=tmp_path / "my_models.py")


def test_a_built_in_name_cannot_be_taken_by_another_workload(own_module: str,
                                                             tmp_path: Path) -> None:
    (tmp_path / "impostor.py").write_text(
        "import dataclasses\nfrom pipeline.workloads import DS_CNN\n"
        "FAKE = dataclasses.replace(DS_CNN, model_parameters={'channels': 8, 'blocks': 1, "
        "'classes': 10})\n")
    with pytest.raises(WorkloadError, match="is the name of a built-in workload"):
        resolve_workload("impostor:FAKE")
    sys.modules.pop("impostor", None)


# --- data and shape -----------------------------------------------------------------------------

def test_data_of_another_shape_is_refused_with_both_shapes() -> None:
    rgb = np.zeros((4, 32, 32, 3), np.uint8)
    wrong = dataclasses.replace(MNIST_CNN, data=lambda path: dataset_from_arrays(
        rgb, np.zeros(4, np.int64), rgb, np.zeros(4, np.int64), source="cifar.npz"))
    with pytest.raises(WorkloadError) as excinfo:
        wrong.load(None)
    assert str(excinfo.value) == (
        "workload 'mnist_cnn' takes images of shape (28, 28), but its data (cifar.npz) holds "
        "images of shape (32, 32, 3); pass data of that shape (--data PATH) or pick another "
        "workload (--workload)")


def test_any_image_size_channels_and_classes_are_a_dataset() -> None:
    x = np.random.default_rng(0).random((6, 32, 32, 3), dtype=np.float32)
    data = dataset_from_arrays(x, np.arange(6) * 100, x[:2], np.array([0, 500]), source="mine")
    assert data.x_train.shape == (6, 32, 32, 3) and data.y_train.dtype == np.int64
    assert not data.x_train.flags.writeable and len(data.sha256) == 64


@pytest.mark.parametrize(("change", "problem"), [
    ({"x_train": np.zeros((4, 784), np.uint8)},
     "x_train has shape (4, 784); expected (N, H, W) or (N, H, W, C) images"),
    ({"x_test": np.zeros((2, 32, 32), np.uint8)},
     "x_test holds images of shape (32, 32) but x_train of shape (28, 28); expected one image "
     "shape"),
    ({"x_train": np.zeros((4, 28, 28), np.int32)},
     "x_train has dtype int32; expected uint8 or floating-point pixels"),
    ({"y_test": np.array([0, -1])}, "y_test holds 1 labels below 0 (bad values: -1)"),
    ({"y_train": np.zeros(4, np.float32)}, "y_train has dtype float32; expected integer labels "
                                           ">= 0"),
], ids=["flat", "two-shapes", "int-pixels", "negative-label", "float-labels"])
def test_a_bad_array_is_named_with_its_source(change: dict[str, np.ndarray],
                                              problem: str) -> None:
    arrays = {"x_train": np.zeros((4, 28, 28), np.uint8), "y_train": np.zeros(4, np.uint8),
              "x_test": np.zeros((2, 28, 28), np.uint8), "y_test": np.zeros(2, np.uint8)}
    with pytest.raises(DataFormatError) as excinfo:
        dataset_from_arrays(**{**arrays, **change}, source="npz file /data/mine.npz")
    assert str(excinfo.value).startswith(
        f"Cannot use npz file /data/mine.npz as a dataset: {problem}. Return the four arrays")


# --- ds_cnn is what it says ------------------------------------------------------------------

def test_ds_cnn_runs_depthwise_conv_folded_batch_norm_and_average_pooling(tmp_path: Path) -> None:
    """MLPerf Tiny's DS-CNN shape: the float TFLite file runs DEPTHWISE_CONV_2D and
    AVERAGE_POOL_2D, and batch normalization leaves no op of its own (folded into the
    convolutions); the seed's CNN runs none of them."""
    model = DS_CNN.build_model()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("DepthwiseConv2D") == 3 and kinds.count("BatchNormalization") == 7
    assert model.count_params() == 5450
    ops = {}
    for workload in (DS_CNN, MNIST_CNN):
        path = to_tflite(workload.build_model(), tmp_path / f"{workload.name}.tflite")
        interpreter = load_interpreter(path, "tf.lite:no_xnnpack")  # no DELEGATE op
        ops[workload.name] = {op["op_name"] for op in interpreter._get_ops_details()}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED"} <= ops["ds_cnn"]
    assert not ops["ds_cnn"] & {"MUL", "ADD", "SUB", "RSQRT"}  # batch normalization, folded
    assert not ops["mnist_cnn"] & {"DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D"}


# --- variants that do not apply ----------------------------------------------------------------

def test_a_variant_that_does_not_apply_says_why() -> None:
    no_clusters = dataclasses.replace(MNIST_CNN, inapplicable={
        "clustered": "its Dense layer is a tfmot custom layer"})
    assert set(select("all", no_clusters)) == set(VARIANT_NAMES) - {
        "clustered", "clustered_cqat", "clustered_cqat_int8_tflite", "shipped_tflite"}
    with pytest.raises(InapplicableVariant) as excinfo:
        select("clustered_cqat_int8_tflite", no_clusters)
    assert str(excinfo.value) == ("variant 'clustered' does not apply to workload 'mnist_cnn': "
                                  "its Dense layer is a tfmot custom layer")


# --- bounds -----------------------------------------------------------------------------------

def _bounds(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bounds.toml"
    path.write_text(textwrap.dedent(text))
    return path


DEFAULT_BOUNDS = """
    [variants.baseline]
    accuracy_min = 0.5
    [variants.pruned]
    accuracy_drop_max = 0.1
    sparsity_target = 0.8
    sparsity_tolerance = 0.01
    [variants.pruned_tflite]
    accuracy_drop_max = 0.01
    [variants.pruned_quantized_tflite]
    accuracy_drop_max = 0.01
"""


def test_a_workload_bounds_file_bounds_its_variants(tmp_path: Path) -> None:
    config = load_config(DEFAULT_CONFIG_PATH, bounds=_bounds(tmp_path, DEFAULT_BOUNDS))
    assert sorted(config.variants) == sorted(DEFAULT_VARIANTS)
    assert config.bounds("baseline").accuracy_min == 0.5
    assert config_sha256(config) != config_sha256(load_config())
    assert config.compare == load_config().compare
    with pytest.raises(ConfigError) as excinfo:
        config.bounds("int8_tflite")
    assert str(excinfo.value) == (
        f"{tmp_path / 'bounds.toml'}: no table [variants.int8_tflite], so int8_tflite cannot "
        f"be checked; measure its figures with `bench spread --workload ... "
        f"--variants int8_tflite` and add its bounds (docs/variants-and-workloads.md, 'Gate your "
        f"own model'), or leave it unselected.")


def test_a_workload_s_latency_table_replaces_only_the_keys_it_gives(tmp_path: Path) -> None:
    text = DEFAULT_BOUNDS + "[latency]\ntimed_invokes = 300\n"
    config = load_config(DEFAULT_CONFIG_PATH, bounds=_bounds(tmp_path, text))
    assert config.latency == dataclasses.replace(load_config().latency, timed_invokes=300)
    assert load_config(DEFAULT_CONFIG_PATH,
                       bounds=_bounds(tmp_path, DEFAULT_BOUNDS)).latency == load_config().latency


@pytest.mark.parametrize(("text", "message"), [
    (DEFAULT_BOUNDS.replace("[variants.pruned_tflite]\n    accuracy_drop_max = 0.01\n", ""),
     "missing table [variants.pruned_tflite]; it needs accuracy_drop_max."),
    (DEFAULT_BOUNDS + "[compare]\nsize_growth_max = 0.5\n",
     "a workload's bounds file holds [variants.NAME] tables and a [latency] table only; "
     f"[compare] belongs in {DEFAULT_CONFIG_PATH}."),
    (DEFAULT_BOUNDS + "[latency]\ntimed_invokes = 0\n",
     "latency.timed_invokes = 0 is outside [1, 1000000]."),
    (DEFAULT_BOUNDS + "[latency]\nrounds = 3\n",
     "unknown key(s) latency.rounds; known keys of [latency]: repetitions, warmup_invokes, "
     "timed_invokes, order_seed."),
], ids=["default-variant-unbounded", "global-section", "latency-out-of-range",
        "latency-unknown-key"])
def test_a_bad_bounds_file_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = _bounds(tmp_path, text)
    with pytest.raises(ConfigError) as excinfo:
        load_config(DEFAULT_CONFIG_PATH, bounds=path)
    assert str(excinfo.value) == f"{path}: {message}"


def test_the_built_in_bounds_files_bound_every_variant_that_applies() -> None:
    for workload in WORKLOADS.values():
        config = load_config(DEFAULT_CONFIG_PATH, bounds=workload.bounds)
        assert sorted(config.variants) == sorted(select("all", workload)), workload.name


# --- the gate keeps workloads apart -------------------------------------------------------------

def test_runs_of_two_workloads_are_refused(tmp_path: Path) -> None:
    reference = as_schema6(COUNTED, tmp_path / "ref.csv", "mnist_cnn", "a" * 64)
    candidate = as_schema6(COUNTED, tmp_path / "cand.csv", "tiny_cnn", "b" * 64,
                           run_id="tiny_run")
    code, out, err = run_cli(reference, candidate)
    assert (code, out) == (2, "")
    assert err.startswith(f"{ERROR}cannot compare: runs differ in workload: reference run "
                          f"20261201T102232Z_tf2.21.0_f13610 has 'mnist_cnn', candidate run "
                          f"tiny_run has 'tiny_cnn'; compare runs of the same workload")


def test_a_changed_workload_definition_is_refused_where_both_record_it(tmp_path: Path) -> None:
    reference = as_schema6(COUNTED, tmp_path / "ref.csv", "mnist_cnn", "a" * 64)
    changed = as_schema6(COUNTED, tmp_path / "cand.csv", "mnist_cnn", "b" * 64, run_id="cand")
    code, _, err = run_cli(reference, changed)
    assert code == 2 and "runs differ in workload_sha256" in err
    unknown = as_schema6(COUNTED, tmp_path / "same.csv", "mnist_cnn", "b" * 64, run_id="same")
    code, out, _ = run_cli(COUNTED, unknown)  # schema 5: of mnist_cnn, its sha256 unknown
    assert code == 0 and out.splitlines()[-1].startswith("PASS")


def test_a_history_gives_each_workload_a_reference_of_its_own(tmp_path: Path) -> None:
    folder = tmp_path / "history"
    folder.mkdir()
    as_schema6(COUNTED, folder / "mnist.csv", "mnist_cnn", run_id="mnist_run",
               timestamp="2026-12-01T10:00:00+00:00")
    as_schema6(COUNTED, folder / "ds.csv", "ds_cnn", run_id="ds_run",
               timestamp="2026-12-01T09:00:00+00:00")
    candidate = as_schema6(COUNTED, tmp_path / "cand.csv", "ds_cnn", run_id="ds_candidate")
    code, out, _ = run_cli(folder, candidate, "--tf", "2.21.0")
    assert code == 0 and out.startswith("reference run ds_run ")
    stranger = as_schema6(COUNTED, tmp_path / "tiny.csv", "tiny_cnn", run_id="tiny_candidate")
    code, out, err = run_cli(folder, stranger, "--tf", "2.21.0")
    assert (code, out) == (2, "")
    assert err == (f"{ERROR}{folder}: no run of workload 'tiny_cnn'; the history holds runs of "
                   f"ds_cnn (1 run), mnist_cnn (1 run) (record one with pytest bench "
                   f"--workload tiny_cnn)\n")


def test_reuse_refuses_a_run_of_another_workload(tmp_path: Path) -> None:
    folder = tmp_path / "runs" / "ds_run"
    folder.mkdir(parents=True)
    as_schema6(COUNTED, tmp_path / "runs" / "ds_run.csv", "ds_cnn", run_id="ds_run")
    with pytest.raises(ReuseError) as excinfo:
        load_source_run(folder, tmp_path, recipe_sha256="x", workload="mnist_cnn")
    assert str(excinfo.value) == ("run ds_run built workload 'ds_cnn', this session builds "
                                  "'mnist_cnn': reuse a run of the same workload, or pass "
                                  "--workload ds_cnn")


def test_thresholds_of_your_own_still_bound_the_reference_workload(tmp_path: Path) -> None:
    """mnist_cnn keeps its bounds in the default config: `--thresholds OTHER.toml` bounds it
    with OTHER's tables, as before workloads."""
    other = tmp_path / "other.toml"
    other.write_text(DEFAULT_CONFIG_PATH.read_text().replace("accuracy_min = 0.975",
                                                             "accuracy_min = 0.9"))
    config = load_config(other, bounds=MNIST_CNN.bounds)
    assert (config.bounds_file, config.bounds("baseline").accuracy_min) == (other, 0.9)


# --- how a workload starts: from scratch, from a trained file, from a .tflite file ---------

def _shipped(tmp_path: Path) -> Workload:
    return Workload(name="shipped", description="a .tflite file", data=load_npz,
                    tflite=tmp_path / "model.tflite", bounds=tmp_path / "bounds.toml")


def test_a_workload_declares_exactly_one_start(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError) as excinfo:
        dataclasses.replace(MNIST_CNN, trained=tmp_path / "model.h5")
    assert str(excinfo.value) == (
        "workload 'mnist_cnn' declares model and trained of model, trained and tflite; declare "
        "exactly one: model= (a builder trained from scratch), trained= (a tf_keras .h5 or "
        "SavedModel) or tflite= (a .tflite file)")
    with pytest.raises(WorkloadError, match="declares none of model, trained and tflite"):
        Workload(name="empty", description="", data=load_npz, bounds=tmp_path / "b.toml")


def test_a_missing_model_file_says_which_and_how_to_declare_it(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError) as excinfo:
        _shipped(tmp_path).load(str(SAMPLE))
    assert str(excinfo.value) == (
        f"workload 'shipped': its model file {tmp_path / 'model.tflite'} does not exist; declare "
        f"the path of the file (an absolute path, or one relative to the workload's module: "
        f"Path(__file__).parent / NAME)")


def test_a_tflite_workload_is_its_shipped_file_only(tmp_path: Path) -> None:
    shipped = _shipped(tmp_path)
    assert select(None, shipped) == select("all", shipped) == ("shipped_tflite",)
    assert default_variants(shipped) == ("shipped_tflite",)
    assert stage_of(VARIANTS["baseline"], MNIST_CNN) == "train"
    with pytest.raises(InapplicableVariant) as excinfo:
        select("pruned_tflite", shipped)
    assert str(excinfo.value) == (
        f"variant 'pruned_tflite' does not apply to workload 'shipped': it is made from a Keras "
        f"model, and the workload is a .tflite file only ({tmp_path / 'model.tflite'}); its one "
        f"variant is 'shipped_tflite'")
    with pytest.raises(InapplicableVariant) as excinfo:
        select("shipped_tflite", MNIST_CNN)
    assert str(excinfo.value) == (
        "variant 'shipped_tflite' does not apply to workload 'mnist_cnn': it is the .tflite "
        "file a workload declaring tflite= ships")


def test_a_trained_workload_loads_its_baseline(tmp_path: Path) -> None:
    trained = dataclasses.replace(MNIST_CNN, model=None, model_parameters={},
                                  trained=tmp_path / "model.h5")
    assert stage_of(VARIANTS["baseline"], trained) == "load"
    assert stage_of(VARIANTS["pruned"], trained) == "prune"


def test_a_tflite_workload_bounds_its_own_file(tmp_path: Path) -> None:
    bounds = tmp_path / "bounds.toml"
    bounds.write_text("[variants.shipped_tflite]\naccuracy_min = 0.8\n")
    shipped = _shipped(tmp_path)
    config = load_config(DEFAULT_CONFIG_PATH, bounds=bounds,
                         required=default_variants(shipped))
    assert config.bounds("shipped_tflite").accuracy_min == 0.8
    bounds.write_text("[variants.shipped_tflite]\naccuracy_min = 0.8\naccuracy_drop_max = 0.1\n")
    with pytest.raises(ConfigError, match="variants.shipped_tflite.accuracy_drop_max does not "
                                          "apply to shipped_tflite; its bounds: accuracy_min"):
        load_config(DEFAULT_CONFIG_PATH, bounds=bounds, required=default_variants(shipped))


def test_a_workload_compiles_as_it_declares() -> None:
    keras = tfenv.keras()
    model = keras.Sequential([keras.layers.InputLayer(input_shape=(4,)), keras.layers.Dense(2)])
    compile_model(model, Compile(optimizer="SGD", learning_rate=0.01, from_logits=False))
    assert type(model.optimizer).__name__ == "SGD"
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.01)
    assert type(model.loss).__name__ == "SparseCategoricalCrossentropy"
    assert model.loss.get_config()["from_logits"] is False
    compile_model(model)  # the reference's
    assert (type(model.optimizer).__name__, model.loss.get_config()["from_logits"]) == (
        "Adam", True)
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.001)


def test_a_fine_tune_subset_is_a_whole_number_or_none() -> None:
    with pytest.raises(ValueError) as excinfo:
        dataclasses.replace(MNIST_CNN.recipe, finetune_images=0)
    assert str(excinfo.value) == ("finetune_images 0 is not a whole number from 1 up; declare "
                                  "how many training images the fine-tunes take, or None for "
                                  "all")


# --- mobilenet_v3_small: a trained file -----------------------------------------------------

def test_mobilenet_takes_mnist_padded_to_32_over_three_channels() -> None:
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    rgb = mnist_as_rgb32(images)
    assert (rgb.shape, rgb.dtype) == ((2, 32, 32, 3), np.float32)
    assert np.array_equal(rgb[:, 2:30, 2:30, 1], images) and not rgb[:, :2].any()
    assert np.array_equal(rgb[..., 0], rgb[..., 2])
    assert mnist_as_rgb32(images[0]).shape == (32, 32, 3)  # the latency image, unbatched


def test_mobilenet_starts_from_its_committed_file_and_wraps_per_layer() -> None:
    assert MOBILENET_V3_SMALL.start == "trained" and MOBILENET_V3_SMALL.trained.is_file()
    assert MOBILENET_V3_SMALL.wrapping.layer_types == ("Conv2D", "Dense")
    # The collaborative QAT schemes fail on its Rescaling layer: left out of --variants all.
    assert "clustered_cqat" not in select("all", MOBILENET_V3_SMALL)
    assert len(select("all", MOBILENET_V3_SMALL)) == 13


def test_the_committed_history_holds_mobilenet_on_every_line_from_its_committed_file() -> None:
    """results/ holds one complete run of mobilenet_v3_small per TensorFlow line 2.15-2.21,
    each made from the trained file committed today (its sha256): a new file would need a new
    history, and the gate would refuse the old one."""
    runs = [run for run in read_history(REPO_ROOT / "results")
            if run.info.workload == "mobilenet_v3_small"]
    assert sorted(run.info.tensorflow[:4] for run in runs) == [
        "2.15", "2.16", "2.17", "2.18", "2.19", "2.20", "2.21"]
    assert {run.info.model_file_sha256 for run in runs} == {
        model_file_sha256(MOBILENET_V3_SMALL)}
    assert all(run.info.complete for run in runs)
