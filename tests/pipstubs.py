"""Offline stand-ins for PyPI and the PyTorch CPU wheel index: metadata-only stub wheels.

Each stub wheel holds only a ``METADATA`` (name, version, the Requires-Dist lines of the real
package, copied from torch 2.14.1's CUDA build and its CUDA 13 dependencies) and is served from a
PEP 503 "simple" folder that pip reads through a ``file://`` URL. ``pip install --dry-run --report``
then resolves a requirements file exactly as it would online, dependencies included, with no network.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

LINUX = 'platform_system == "Linux"'
TORCH_COMMON = ["filelock", "typing-extensions>=4.10.0", "setuptools>=77.0.3", "sympy>=1.13.3",
                "networkx>=2.5.1", "jinja2", "fsspec>=0.8.5"]
# torch 2.14.1 from PyPI on Linux: the CUDA 13 build (19 CUDA packages with their own dependencies)
TORCH_CUDA = [
    "cuda-toolkit[cublas,cudart,cufft,cufile,cupti,curand,cusolver,cusparse,nvjitlink,nvrtc,nvtx]==13.0.3; "
    + LINUX,
    f"cuda-bindings<14,>=13.0.3; {LINUX}",
    f"nvidia-cudnn-cu13==9.24.0.43; {LINUX}",
    f"nvidia-cusparselt-cu13==0.8.1; {LINUX}",
    f"nvidia-nccl-cu13==2.30.7; {LINUX}",
    f"nvidia-nvshmem-cu13==3.4.5; {LINUX}",
    f"triton~=3.8.0; {LINUX}",
]
CUDA_TOOLKIT_EXTRAS = {  # cuda-toolkit 13.0.3: extra -> the nvidia packages it pulls in
    "cublas": ["nvidia-cublas==13.1.1.3", "nvidia-cuda-nvrtc==13.0.88"],
    "cudart": ["nvidia-cuda-runtime==13.0.96"],
    "cufft": ["nvidia-cufft==12.0.0.61", "nvidia-nvjitlink<14,>=13.0.88"],
    "cufile": ["nvidia-cufile==1.15.1.6"],
    "cupti": ["nvidia-cuda-cupti==13.0.85"],
    "curand": ["nvidia-curand==10.4.0.35"],
    "cusolver": ["nvidia-cusolver==12.0.4.66", "nvidia-cublas==13.1.1.3", "nvidia-cusparse==12.6.3.3"],
    "cusparse": ["nvidia-cusparse==12.6.3.3", "nvidia-nvjitlink<14,>=13.0.88"],
    "nvjitlink": ["nvidia-nvjitlink<14,>=13.0.88"],
    "nvrtc": ["nvidia-cuda-nvrtc==13.0.88"],
    "nvtx": ["nvidia-nvtx==13.0.85"],
}
# (name, version, requires) published on the PyPI stand-in besides the pinned packages
PYPI_EXTRA = [
    ("torch", "2.14.1", TORCH_COMMON + TORCH_CUDA),
    ("torchvision", "0.29.1", ["numpy", "torch>=2.14.0", "pillow!=8.3.*,>=5.3.0"]),
    ("cuda-toolkit", "13.0.3", [f"{req}; extra == \"{extra}\"" for extra, reqs in CUDA_TOOLKIT_EXTRAS.items()
                                for req in reqs]),
    ("cuda-bindings", "13.5.0", ["cuda-pathfinder>=1.4.2"]),
    ("cuda-pathfinder", "1.9.1", []),
    ("nvidia-cudnn-cu13", "9.24.0.43", ["nvidia-cublas"]),
    ("nvidia-cusparselt-cu13", "0.8.1", []),
    ("nvidia-nccl-cu13", "2.30.7", []),
    ("nvidia-nvshmem-cu13", "3.4.5", []),
    ("triton", "3.8.0", []),
    ("nvidia-cublas", "13.1.1.3", []),
    ("nvidia-cuda-nvrtc", "13.0.88", []),
    ("nvidia-cuda-runtime", "13.0.96", []),
    ("nvidia-cufft", "12.0.0.61", []),
    ("nvidia-nvjitlink", "13.5.37", []),
    ("nvidia-cufile", "1.15.1.6", []),
    ("nvidia-cuda-cupti", "13.0.85", []),
    ("nvidia-curand", "10.4.0.35", []),
    ("nvidia-cusolver", "12.0.4.66", []),
    ("nvidia-cusparse", "12.6.3.3", []),
    ("nvidia-nvtx", "13.0.85", []),
    ("opencv-python", "5.0.0.93", ["numpy"]),  # on PyPI, so choosing it would show in the report
    ("filelock", "3.20.0", []), ("typing-extensions", "4.15.0", []), ("setuptools", "80.9.0", []),
    ("sympy", "1.14.0", ["mpmath>=1.1.0"]), ("mpmath", "1.3.0", []), ("networkx", "3.5", []),
    ("jinja2", "3.1.6", ["markupsafe>=2.0"]), ("markupsafe", "3.0.3", []), ("fsspec", "2025.10.0", []),
]
# the PyTorch CPU index: CPU builds (no CUDA dependency) and its mirror of torch's own dependencies
CPU_INDEX = [
    ("torch", "2.14.1+cpu", TORCH_COMMON),
    ("torchvision", "0.29.1+cpu", ["numpy", "torch>=2.14.0", "pillow!=8.3.*,>=5.3.0"]),
] + [p for p in PYPI_EXTRA if p[0] in ("filelock", "typing-extensions", "setuptools", "sympy", "mpmath",
                                       "networkx", "jinja2", "markupsafe", "fsspec")]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: Path) -> list[tuple[str, str]]:
    """(name, version) of every ``name==version`` line of a requirements file."""
    return [(m.group(1), m.group(2)) for line in requirements.read_text().splitlines()
            if (m := PIN.match(line.strip()))]


def write_wheel(folder: Path, name: str, version: str, requires: list[str]) -> Path:
    """A metadata-only wheel ``name-version-py3-none-any.whl`` in ``folder``."""
    dist = f"{re.sub(r'[-_.]+', '_', name)}-{version}"
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    extras = sorted({m.group(1) for r in requires if (m := re.search(r'extra == "([^"]+)"', r))})
    lines += [f"Provides-Extra: {extra}" for extra in extras] + [f"Requires-Dist: {r}" for r in requires]
    files = {f"{dist}.dist-info/METADATA": "\n".join(lines) + "\n",
             f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: devoscope-tests\nRoot-Is-Purelib: true\n"
                                        "Tag: py3-none-any\n"}
    files[f"{dist}.dist-info/RECORD"] = "".join(f"{path},,\n" for path in files) + f"{dist}.dist-info/RECORD,,\n"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


def write_index(root: Path, packages: list[tuple[str, str, list[str]]]) -> str:
    """A PEP 503 index of stub wheels under ``root``; returns its ``file://`` URL."""
    wheels = root / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    pages: dict[str, list[str]] = {}
    for name, version, requires in packages:
        pages.setdefault(canonical(name), []).append(write_wheel(wheels, name, version, requires).name)
    for project, files in pages.items():
        page = root / "simple" / project
        page.mkdir(parents=True, exist_ok=True)
        links = "".join(f'<a href="../../wheels/{f}">{f}</a><br>\n' for f in files)
        (page / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    return (root / "simple").as_uri() + "/"


def make_indexes(root: Path, requirement_files: list[Path]) -> tuple[str, str]:
    """The PyPI stand-in (every pin of the given files plus the packages above, torch as the CUDA
    build) and the PyTorch CPU index stand-in; returns their URLs (pypi, cpu)."""
    published = {canonical(n): (n, v, r) for n, v, r in PYPI_EXTRA}
    for requirements in requirement_files:
        for name, version in pins(requirements):
            if "+" not in version and canonical(name) not in published:  # PyPI has no local versions
                published[canonical(name)] = (name, version, [])
    return write_index(root / "pypi", list(published.values())), write_index(root / "cpu", CPU_INDEX)


def dry_run(requirements: Path, index_url: str, report: Path) -> subprocess.CompletedProcess:
    """``pip install --dry-run --report`` of a requirements file against ``index_url`` only (no user
    pip configuration, nothing installed counts, wheels only)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--isolated", "--dry-run", "--ignore-installed", "--quiet",
         "--no-cache-dir", "--disable-pip-version-check", "--only-binary=:all:", "--index-url", index_url,
         "--report", str(report), "-r", str(requirements)],
        capture_output=True, text=True, env=env, timeout=120)


def resolved(report: Path) -> dict[str, str]:
    """{canonical name: version} of what a pip ``--report`` would install."""
    data = json.loads(report.read_text())
    return {canonical(item["metadata"]["name"]): item["metadata"]["version"] for item in data["install"]}
