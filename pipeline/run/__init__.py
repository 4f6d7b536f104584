"""Run: one benchmark run, building and measuring on first use and recording what it found.

info.py (RunInfo: what a run is beside its measurements, and collect_run_info), bench_run.py
(BenchRun: any variant built lazily from its parent, its measurements recorded), source.py (an
earlier run whose files a run re-measures, --reuse-run).
"""
