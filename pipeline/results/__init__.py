"""Results CSVs: the schema and its migrations (schema.py), the atomic writer (writer.py), the
strict reader of one file (reader.py) and of a history folder (history_folder.py). Everything a
caller needs is importable from `pipeline.results`."""
from pipeline.measure.measurement import Measurement, MeasurementKey
from pipeline.results.history_folder import History, read_history
from pipeline.results.reader import ResultsFileError, measurements_of, read_results
from pipeline.results.schema import (
    COLUMNS,
    KEY_COLUMNS,
    LATENCY_SETTING_COLUMNS,
    MEASUREMENT_COLUMNS,
    METRICS,
    MIGRATIONS,
    RUN_COLUMNS,
    SAMPLES_SEPARATOR,
    SCHEMA_VERSION,
    STAGES,
    SUPPORTED_SCHEMA_VERSIONS,
    Migration,
    Run,
    RunInfo,
    added_after,
    columns_of,
    completeness,
    is_missing,
    key_of,
    parse_samples,
    run_times,
    selected_variants,
    tf_version_key,
    without_runtime,
)
from pipeline.results.writer import run_of, to_frame, write_atomic

__all__ = [
    "COLUMNS", "KEY_COLUMNS", "LATENCY_SETTING_COLUMNS", "MEASUREMENT_COLUMNS", "METRICS",
    "MIGRATIONS", "RUN_COLUMNS", "SAMPLES_SEPARATOR", "SCHEMA_VERSION", "STAGES",
    "SUPPORTED_SCHEMA_VERSIONS", "History", "Measurement", "MeasurementKey", "Migration",
    "ResultsFileError", "Run", "RunInfo", "added_after", "columns_of", "completeness",
    "is_missing", "key_of", "measurements_of", "parse_samples",
    "read_history", "read_results", "run_of", "run_times", "selected_variants", "tf_version_key",
    "to_frame", "without_runtime", "write_atomic",
]
