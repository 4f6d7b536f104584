"""What a run records about its machine and recipe: the fields that decide whether two runs'
latency may be compared (cpu, cpu_count, platform) and whether they may be compared at all
(recipe_sha256).

Each is checked on fixed inputs (sample /proc/cpuinfo texts, platform labels) so the result
does not depend on the machine the tests run on, plus once on this machine.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.identity import config_sha256, recipe_sha256
from pipeline.judge.platforms import architecture, comparable_platform
from pipeline.measure.environment import (
    cpu_count,
    cpu_model,
    installed,
    package_version,
    platform_label,
    provider,
)
from pipeline.results import Measurement, read_results, to_frame, write_atomic
from pipeline.run.info import collect_run_info
from pipeline.workloads import MNIST_CNN
from tests.helpers import TF_FILES, fake_distribution

#: The start of /proc/cpuinfo of this project's 2-core VM: a model name as coarse as "AMD EPYC",
#: which only family/model/stepping tell apart from another EPYC generation.
AMD_CPUINFO = """\
processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
stepping\t: 1
microcode\t: 0x1000065
cpu MHz\t\t: 2596.128
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep
power management:

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
stepping\t: 1
"""

INTEL_CPUINFO = """\
processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 106
model name\t: Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz
stepping\t: 6
microcode\t: 0xffffffff
"""

#: A 32-bit ARM board: a model name, but no family, model or stepping lines.
ARM_CPUINFO = """\
processor\t: 0
model name\t: ARMv7 Processor rev 4 (v7l)
BogoMIPS\t: 38.40
Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm
CPU implementer\t: 0x41
CPU architecture: 7
CPU variant\t: 0x0
CPU part\t: 0xd03
CPU revision\t: 4
"""


@pytest.mark.parametrize(("cpuinfo", "expected"), [
    (AMD_CPUINFO, "AMD EPYC (AuthenticAMD family 25 model 17 stepping 1)"),
    (INTEL_CPUINFO,
     "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz (GenuineIntel family 6 model 106 stepping 6)"),
    (ARM_CPUINFO, "ARMv7 Processor rev 4 (v7l)"),
], ids=["amd", "intel", "arm-without-family"])
def test_cpu_model_adds_vendor_family_model_stepping(cpuinfo: str, expected: str) -> None:
    assert cpu_model(cpuinfo) == expected


def test_cpu_model_without_cpuinfo_falls_back_to_the_platform_module() -> None:
    """No /proc/cpuinfo (macOS, Windows): what Python knows, never an empty string."""
    expected = platform.processor() or platform.machine()
    assert cpu_model("") == expected and expected


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="no /proc/cpuinfo here")
def test_cpu_model_reads_proc_cpuinfo_by_default() -> None:
    assert cpu_model() == cpu_model(Path("/proc/cpuinfo").read_text())


def test_cpu_count_is_what_this_process_may_use() -> None:
    assert 1 <= cpu_count() <= (os.cpu_count() or 1)


@pytest.mark.parametrize(("label", "expected"), [
    ("Linux-6.18.44-fc-v669-x86_64", "Linux 6.18 x86_64"),
    ("Linux-6.18.45-fc-v700-x86_64", "Linux 6.18 x86_64"),  # patch release: same
    ("Linux-6.19.1-fc-v669-x86_64", "Linux 6.19 x86_64"),   # minor release: another
    ("Linux-6.18.44-fc-v669-aarch64", "Linux 6.18 aarch64"),
    ("Darwin-23.1.0-arm64", "Darwin 23.1 arm64"),
])
def test_comparable_platform_keeps_os_kernel_minor_and_architecture(label: str,
                                                                    expected: str) -> None:
    assert comparable_platform(label) == expected


def test_kernel_patch_release_keeps_history_comparable_and_minor_release_does_not() -> None:
    label = "Linux-6.18.44-fc-v669-x86_64"
    assert comparable_platform(label) == comparable_platform("Linux-6.18.45-fc-v669-x86_64")
    assert comparable_platform(label) != comparable_platform("Linux-6.19.44-fc-v669-x86_64")
    assert comparable_platform(label) != comparable_platform("Linux-7.18.44-fc-v669-x86_64")


@pytest.mark.parametrize("label", [
    "",
    "some machine",
    "Windows-10-AMD64",  # no minor version to keep
    # platform.platform(): not what this module writes; read as written, it would lose the
    # architecture ("Linux 6.8 glibc2.39"), so it must only match itself.
    "Linux-6.8.0-1021-azure-x86_64-with-glibc2.39",
])
def test_label_it_did_not_write_is_returned_whole(label: str) -> None:
    assert comparable_platform(label) == label


def test_platform_label_of_this_machine_is_one_it_can_read() -> None:
    label = platform_label()
    assert label == f"{platform.system()}-{platform.release()}-{platform.machine()}"
    if platform.system() == "Linux":
        major, minor = platform.release().split(".")[:2]
        assert comparable_platform(label) == f"Linux {major}.{minor} {platform.machine()}"


def test_collect_run_info_records_config_recipe_and_completeness(tmp_path: Path) -> None:
    """The run columns of a real session, here: they pass the strict reader as written."""
    config = load_config()
    info = collect_run_info("r1", dataset_sha256="d" * 64, seed=3,
                            recipe_sha256=recipe_sha256(MNIST_CNN), config=config,
                            variants=("baseline", "int8_tflite"), complete=False,
                            incomplete_reason="-k 'baseline'")
    assert (info.config_sha256, info.recipe_sha256) == (config_sha256(config),
                                                         recipe_sha256(MNIST_CNN))
    assert info.variants == ("baseline", "int8_tflite")
    assert (info.latency_repetitions, info.latency_warmup_invokes, info.latency_timed_invokes,
            info.latency_order_seed) == (
        config.latency.repetitions, config.latency.warmup_invokes,
        config.latency.timed_invokes, config.latency.order_seed)
    assert (info.cpu, info.cpu_count, info.platform) == (cpu_model(), cpu_count(),
                                                          platform_label())
    assert (info.complete, info.incomplete_reason, info.seed) == (False, "-k 'baseline'", 3)
    path = write_atomic(to_frame(info, [Measurement(model="baseline", metric="accuracy",
                                                    value=0.98, unit="fraction")]),
                        tmp_path / "r1.csv")
    read = read_results(path).info
    assert (read.complete, read.incomplete_reason) == (False, "-k 'baseline'")


def test_the_distribution_providing_a_package_is_recorded_whatever_its_name(
        tmp_path: Path) -> None:
    """A nightly records its own version and name (issue 18: `tensorflow` was empty for
    tf-nightly and tf-keras-nightly)."""
    fake_distribution(tmp_path, "tf-nightly", "2.23.0.dev20261026", TF_FILES, "tensorflow\n")
    fake_distribution(tmp_path, "tf-keras-nightly", "2.23.0.dev20261026",
                      ["tf_keras/__init__.py"], "tf_keras\n")
    assert provider("tensorflow", [str(tmp_path)]) == ("tf-nightly", "2.23.0.dev20261026")
    assert provider("tf_keras", [str(tmp_path)]) == ("tf-keras-nightly", "2.23.0.dev20261026")
    assert provider("tensorflow", [str(tmp_path / "empty")]) == ("", "")


def test_this_environment_records_its_tensorflow_distribution(tmp_path: Path) -> None:
    assert provider("tensorflow") == ("tensorflow", package_version("tensorflow"))
    assert installed("tensorflow") == ("tensorflow", package_version("tensorflow"))
    # No distribution found by its files: the version by distribution name, no name.
    assert installed("tf_keras", [str(tmp_path)]) == ("", package_version("tf_keras"))


@pytest.mark.parametrize(("label", "expected"), [
    ("Linux-6.18.44-fc-v669-x86_64", "x86_64"),
    ("Linux-6.8.0-1021-azure-aarch64", "aarch64"),
    ("some machine", "some machine"),
    ("x86_64", "x86_64"),
])
def test_architecture_of_a_platform_label(label: str, expected: str) -> None:
    assert architecture(label) == expected
