"""The library behind `pytest bench`: data -> workloads -> variants (training, pruning,
conversion) -> measurement -> runs -> results -> judgement, each layer importing only those
before it (tests/test_layers.py). See docs/layout.md for one line per module.

Nothing but pathlib is imported here: TensorFlow must not be imported before `pipeline.tfenv`
has put TF_USE_LEGACY_KERAS=1 in force, and most modules (data, results, compare) never need it.
"""
from pathlib import Path

#: The checkout: bench/, requirements/, runs/ and tests/data/ are found from here. Not
#: resolved: the instruction counter imports the package through a link of fixed length
#: (pipeline.measure.instructions.FixedLayout), and a resolved path would bring the checkout's
#: own length back into the counted process.
REPO_ROOT = Path(__file__).absolute().parent.parent
#: Where runs go unless told otherwise: one folder of artifacts per run, its CSV beside it, and
#: the upgrade and spread outputs; git-ignored.
RUNS_DIR = REPO_ROOT / "runs"
#: The threshold config (pipeline.config), which also holds the default workload's bounds.
THRESHOLDS_PATH = REPO_ROOT / "bench" / "thresholds.toml"
