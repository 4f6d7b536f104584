"""Results CSVs: the schema (schema.py), the atomic writer (writer.py), the strict reader of one
file (reader.py) and of a history folder (history_folder.py). Everything a caller needs is
importable from `pipeline.results`."""
from pipeline.results.history_folder import read_history
from pipeline.results.reader import (
    SUPPORTED_SCHEMA_VERSIONS,
    ResultsFileError,
    measurements_of,
    read_results,
)
from pipeline.results.schema import (
    COLUMNS,
    COLUMNS_V1,
    COLUMNS_V2,
    COLUMNS_V3,
    COLUMNS_V4,
    COLUMNS_V5,
    KEY_COLUMNS,
    LATENCY_SETTING_COLUMNS,
    MEASUREMENT_COLUMNS,
    METRICS,
    RUN_COLUMNS,
    RUN_COLUMNS_ADDED_V2,
    RUN_COLUMNS_ADDED_V3,
    RUN_COLUMNS_ADDED_V4,
    RUN_COLUMNS_ADDED_V5,
    SAMPLES_SEPARATOR,
    SCHEMA_VERSION,
    STAGES,
    Measurement,
    MeasurementKey,
    RunInfo,
    completeness,
    is_missing,
    key_of,
    machine_sharing,
    parse_samples,
    run_times,
    selected_variants,
    tf_version_key,
)
from pipeline.results.writer import to_frame, write_atomic

__all__ = [
    "COLUMNS", "COLUMNS_V1", "COLUMNS_V2", "COLUMNS_V3", "COLUMNS_V4", "COLUMNS_V5", "KEY_COLUMNS",
    "LATENCY_SETTING_COLUMNS", "MEASUREMENT_COLUMNS", "METRICS", "RUN_COLUMNS",
    "RUN_COLUMNS_ADDED_V2", "RUN_COLUMNS_ADDED_V3", "RUN_COLUMNS_ADDED_V4",
    "RUN_COLUMNS_ADDED_V5", "SAMPLES_SEPARATOR", "SCHEMA_VERSION", "STAGES",
    "SUPPORTED_SCHEMA_VERSIONS", "Measurement", "MeasurementKey", "ResultsFileError", "RunInfo",
    "completeness", "is_missing", "key_of", "machine_sharing", "measurements_of",
    "parse_samples", "read_history", "read_results", "run_times", "selected_variants",
    "tf_version_key", "to_frame", "write_atomic",
]
