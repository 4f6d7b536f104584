"""Measure: what a built model costs and how it behaves in the two TFLite runtimes.

runtimes.py (each runtime one declared entry), interpreters.py (their interpreters,
interpreter accuracy), size.py (zipped bytes), latency.py
(interleaved repetitions of invoke()), instructions.py with instruction_worker.py and
client_requests.py, callgrind.py and counting_layout.py (instructions counted under valgrind),
footprint.py (a fresh process's init, heap and peak memory), duel_worker.py (the duel's timing
process), environment.py (versions, machine, revision: the run columns), machine_sharing.py
(whether another benchmark ran meanwhile). What judges the measurements is pipeline.judge.
"""
