"""Valgrind client requests from Python: tell callgrind, from inside the counted process, when
to start instrumenting and when to write a count.

Why: under callgrind with instrumentation on from the start, a counting process spends ~9 s
instrumenting Python's start-up and imports it never counts; with `--instr-atstart=no` and a
START_INSTRUMENTATION request just before the measured calls it takes ~3 s (measured, tf.lite's
wrapper, pruned_tflite). Valgrind's C macros (valgrind.h, callgrind.h) are the documented way to
make such requests; they compile to a "special instruction sequence" that does nothing on a
real CPU and that valgrind's JIT recognises. The project is pure Python, so the same sequence is
assembled here into one executable page and called through ctypes: 34 bytes of x86-64, the
sequence of valgrind.h's VALGRIND_DO_CLIENT_REQUEST_EXPR for amd64-linux.

Outside valgrind every request returns its default (0): `running_on_valgrind()` is the check.
"""
from __future__ import annotations

import ctypes
import mmap
import platform
from functools import cache

#: valgrind.h: VG_USERREQ__RUNNING_ON_VALGRIND; callgrind.h: VG_USERREQ_TOOL_BASE('C','T') + n.
RUNNING_ON_VALGRIND = 0x1001
_CALLGRIND_BASE = (ord("C") << 24) | (ord("T") << 16)
DUMP_STATS_AT = _CALLGRIND_BASE + 3
ZERO_STATS = _CALLGRIND_BASE + 1
START_INSTRUMENTATION = _CALLGRIND_BASE + 4
STOP_INSTRUMENTATION = _CALLGRIND_BASE + 5

#: uint64_t request(uint64_t args[6] /* rdi */, uint64_t default /* rsi */):
#: valgrind.h (amd64-linux) takes the argument block's address in rax and the default in rdx,
#: recognises `rol rdi,3; rol rdi,13; rol rdi,61; rol rdi,51` (128 bits of rotation: rdi
#: unchanged on a real CPU) followed by `xchg rbx,rbx`, and leaves the result in rdx.
_AMD64_STUB = bytes.fromhex(
    "4889f8"      # mov rax, rdi
    "4889f2"      # mov rdx, rsi
    "48c1c703"    # rol rdi, 3
    "48c1c70d"    # rol rdi, 13
    "48c1c73d"    # rol rdi, 61
    "48c1c733"    # rol rdi, 51
    "4887db"      # xchg rbx, rbx
    "4889d0"      # mov rax, rdx
    "c3")         # ret
#: The machines the stub is written for (platform.machine()).
SUPPORTED_MACHINES = ("x86_64", "AMD64")


class ClientRequestsUnavailable(RuntimeError):
    """This machine's architecture has no stub here; the message says which it is."""


@cache
def _stub() -> ctypes._CFuncPtr:  # type: ignore[name-defined]
    if platform.machine() not in SUPPORTED_MACHINES:
        raise ClientRequestsUnavailable(
            f"valgrind client requests are implemented for x86-64 only, this machine is "
            f"{platform.machine()}; instruction counts cannot be taken here")
    # Kept for the life of the process: the function below points into it.
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(_AMD64_STUB)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    function = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64),
                                ctypes.c_uint64)(address)
    function.page = page  # type: ignore[attr-defined]
    return function


def request(code: int, *args: int, default: int = 0) -> int:
    """Make client request `code` with up to five integer arguments; `default` outside
    valgrind."""
    if len(args) > 5:
        raise ValueError(f"a client request takes at most 5 arguments, got {len(args)}")
    block = (ctypes.c_uint64 * 6)(code, *args)
    return int(_stub()(block, default))


def running_on_valgrind() -> int:
    """How many valgrinds this process runs under: 0 natively, 1 under valgrind."""
    return request(RUNNING_ON_VALGRIND)


def start_instrumentation() -> None:
    """callgrind: instrument from now on (the process started with --instr-atstart=no)."""
    request(START_INSTRUMENTATION)


def zero_stats() -> None:
    """callgrind: reset the counts collected so far."""
    request(ZERO_STATS)


def dump_stats_at(label: bytes) -> None:
    """callgrind: write the counts collected since the last dump to a new file, with `label`
    as its trigger (the `desc: Trigger:` line), and reset them."""
    text = ctypes.create_string_buffer(label)
    request(DUMP_STATS_AT, ctypes.addressof(text))
