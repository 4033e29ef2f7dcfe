"""Which torch device to run on, and why.

CUDA first, then Apple's MPS, then the CPU; ``DEVOCORE_DEVICE`` overrides. The cloud deploy
profile (``DEVOSCOPE_PROFILE=cloud``) means the CPU unless ``DEVOCORE_DEVICE`` says otherwise.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceChoice:
    """The device picked and a sentence saying why."""

    name: str
    reason: str

    def __str__(self) -> str:
        return self.name


def choose_device(preferred: str | None = None) -> DeviceChoice:
    """Pick the torch device.

    Args:
        preferred: "cuda", "mps", "cpu" (or "cuda:1"); None means
            ``DEVOCORE_DEVICE`` if set, else the best one available.

    Example:
        >>> choose_device("cpu").name
        'cpu'
    """
    import torch

    wanted = preferred or os.environ.get("DEVOCORE_DEVICE")
    if wanted:
        wanted = wanted.strip().lower()
        kind = wanted.split(":")[0]
        if kind == "cuda" and not torch.cuda.is_available():
            return DeviceChoice("cpu", f"'{wanted}' was asked for but CUDA is not available; using the CPU")
        if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            return DeviceChoice("cpu", f"'{wanted}' was asked for but MPS is not available; using the CPU")
        if kind not in ("cuda", "mps", "cpu"):
            return DeviceChoice("cpu", f"'{wanted}' is not a device (cuda, mps or cpu); using the CPU")
        source = "the argument" if preferred else "DEVOCORE_DEVICE"
        return DeviceChoice(wanted, f"set by {source}")
    from devocore.config import is_cloud

    if is_cloud():
        return DeviceChoice("cpu", f"the cloud deploy profile runs on the CPU ({torch.get_num_threads()} threads)")
    if torch.cuda.is_available():
        return DeviceChoice("cuda", f"CUDA GPU found: {torch.cuda.get_device_name(0)}")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return DeviceChoice("mps", "Apple GPU (MPS) found")
    return DeviceChoice("cpu", f"no GPU found; using {torch.get_num_threads()} CPU threads")


def training_device() -> DeviceChoice:
    """The device training runs on: :func:`choose_device`'s when it is a CUDA GPU, else the CPU.

    So ``DEVOCORE_DEVICE=cpu`` and the cloud profile keep training on the CPU on a machine with a GPU, as they
    keep inference there. Apple's MPS trains on the CPU: mixed precision there is not supported here.
    """
    choice = choose_device()
    if choice.name.split(":")[0] in ("cuda", "cpu"):
        return choice
    return DeviceChoice("cpu", f"{choice.reason}; training runs on a CUDA GPU or the CPU")


def cpu_has_bf16() -> bool:
    """True when this CPU runs bfloat16 matrix work natively (AVX512-BF16 or AMX)."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
