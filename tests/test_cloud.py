"""The Community Cloud deploy: its requirements resolve to CPU torch, its profile, its entrypoint."""
from __future__ import annotations

import platform
import re
import tempfile
from pathlib import Path

import pytest

from devocore import config
from tests import pipstubs

ROOT = Path(__file__).resolve().parents[1]
ROOT_REQUIREMENTS = ROOT / "requirements.txt"
CLOUD_REQUIREMENTS = ROOT / "cloud" / "requirements.txt"
CPU_INDEX_LINE = "--extra-index-url https://download.pytorch.org/whl/cpu"
CUDA = re.compile(r"^(nvidia-|cuda-|triton$)")


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


# ----------------------------------------------------------------------------- 1. the requirements files
def test_cloud_requirements_differ_from_the_root_file_only_in_cpu_torch():
    root, cloud = _lines(ROOT_REQUIREMENTS), _lines(CLOUD_REQUIREMENTS)
    assert sorted(set(cloud) - set(root)) == sorted([CPU_INDEX_LINE, "torch==2.14.1+cpu", "torchvision==0.29.1+cpu"])
    assert sorted(set(root) - set(cloud)) == ["torch==2.14.1", "torchvision==0.29.1"]
    assert len(cloud) == len(set(cloud)) and len(cloud) == len(root) + 1  # nothing else doubled or dropped
    pinned = dict(pipstubs.pins(CLOUD_REQUIREMENTS))
    assert "opencv-python" not in pinned and "opencv-python-headless" in pinned
    assert all(line.startswith("--extra-index-url") or re.match(r"^[A-Za-z0-9._-]+==\S+$", line) for line in cloud)


# ----------------------------------------------------------------------------- 2. offline resolution
@pytest.fixture(scope="module")
def stub_indexes(tmp_path_factory):
    root = tmp_path_factory.mktemp("indexes")
    pypi, cpu = pipstubs.make_indexes(root, [ROOT_REQUIREMENTS, CLOUD_REQUIREMENTS])
    return root, pypi, cpu


def _cloud_file_against(root: Path, cpu_url: str | None) -> Path:
    text = CLOUD_REQUIREMENTS.read_text()
    assert text.count(CPU_INDEX_LINE) == 1
    out = root / f"cloud-{'with' if cpu_url else 'without'}-index.txt"
    out.write_text(text.replace(CPU_INDEX_LINE, f"--extra-index-url {cpu_url}" if cpu_url else ""))
    return out


@pytest.mark.skipif(platform.system() != "Linux", reason="the CUDA build of torch is what Linux gets")
def test_cloud_requirements_resolve_to_cpu_torch_and_root_file_to_the_cuda_set(stub_indexes, tmp_path):
    root, pypi, cpu = stub_indexes
    result = pipstubs.dry_run(_cloud_file_against(root, cpu), pypi, tmp_path / "cloud.json")
    assert result.returncode == 0, result.stderr[-3000:]
    cloud = pipstubs.resolved(tmp_path / "cloud.json")
    assert cloud["torch"] == "2.14.1+cpu" and cloud["torchvision"] == "0.29.1+cpu"
    assert not [name for name in cloud if CUDA.match(name)]
    assert "opencv-python" not in cloud and cloud["opencv-python-headless"] == "5.0.0.93"
    assert cloud["sympy"] and cloud["mpmath"]  # dependencies resolved too, not just the listed pins
    for name, version in pipstubs.pins(ROOT_REQUIREMENTS):
        if name not in ("torch", "torchvision"):
            assert cloud[pipstubs.canonical(name)] == version

    # control: the root file, from the default index alone, gets the CUDA build and its 19 packages
    result = pipstubs.dry_run(ROOT_REQUIREMENTS, pypi, tmp_path / "root.json")
    assert result.returncode == 0, result.stderr[-3000:]
    local = pipstubs.resolved(tmp_path / "root.json")
    assert local["torch"] == "2.14.1" and local["torchvision"] == "0.29.1"
    cuda = sorted(name for name in local if CUDA.match(name))
    assert len(cuda) == 19 and {"triton", "cuda-toolkit", "nvidia-cudnn-cu13", "nvidia-cublas"} <= set(cuda)
    assert "opencv-python" not in local


def test_cloud_requirements_fail_loudly_without_the_cpu_index(stub_indexes, tmp_path):
    root, pypi, _cpu = stub_indexes
    result = pipstubs.dry_run(_cloud_file_against(root, None), pypi, tmp_path / "none.json")
    assert result.returncode != 0
    assert "torch==2.14.1+cpu" in result.stderr and not (tmp_path / "none.json").exists()


# ----------------------------------------------------------------------------- 3. the deploy profile
@pytest.fixture
def cloud(monkeypatch):
    monkeypatch.setenv("DEVOSCOPE_PROFILE", "cloud")
    for name in ("DEVOCORE_MODEL_DIR", "DEVOCORE_DATA_DIR", "DEVOCORE_DEVICE", "DEVOCORE_MAX_UPLOAD_MB"):
        monkeypatch.delenv(name, raising=False)


def test_cloud_profile_defaults(cloud, monkeypatch):
    temp = Path(tempfile.gettempdir())
    assert config.profile() == "cloud"
    assert config.Limits.from_env().upload_mb == 200
    assert config.streamlit_options() == {"server.maxUploadSize": 200}
    assert config.data_root() == config.EXAMPLES_DIR.resolve()
    assert config.user_model_dir().parent == temp and Path.home() not in config.user_model_dir().parents
    monkeypatch.setenv("DEVOCORE_STATE_DIR", "")
    assert config.state_dir().parent == temp
    from devocore.device import choose_device

    assert choose_device().name == "cpu" and "cloud" in choose_device().reason
    monkeypatch.setenv("DEVOCORE_MAX_UPLOAD_MB", "50")  # the deployer's own choice still wins
    assert config.Limits.from_env().upload_mb == 50


def test_local_profile_is_unchanged(monkeypatch):
    monkeypatch.delenv("DEVOSCOPE_PROFILE", raising=False)
    monkeypatch.delenv("DEVOCORE_DATA_DIR", raising=False)
    monkeypatch.delenv("DEVOCORE_MAX_UPLOAD_MB", raising=False)
    assert config.profile() == "local" and config.streamlit_options() == {}
    assert config.Limits.from_env().upload_mb == 1024
    assert config.data_root() == Path.home().resolve()


@pytest.mark.parametrize("cpu_max, v1, affinity, expected", [
    ("max 100000", None, 8, 8),            # no quota: the affinity mask
    ("200000 100000", None, 8, 2),         # 2 cores of quota on an 8-core host
    ("150000 100000", None, 8, 2),         # 1.5 cores round up
    ("50000 100000", None, 8, 1),          # half a core is still one worker
    ("400000 100000", None, 3, 3),         # quota above the mask: the mask
    (None, ("100000", "100000"), 8, 1),    # cgroup v1
    (None, ("-1", "100000"), 4, 4),        # cgroup v1 without a quota
])
def test_container_cpus_reads_the_cgroup_quota(tmp_path, monkeypatch, cpu_max, v1, affinity, expected):
    monkeypatch.setattr(config.os, "sched_getaffinity", lambda pid: set(range(affinity)), raising=False)
    if cpu_max:
        (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    if v1:
        (tmp_path / "cpu").mkdir()
        (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text(v1[0])
        (tmp_path / "cpu" / "cpu.cfs_period_us").write_text(v1[1])
    assert config.container_cpus(tmp_path) == expected


def test_batch_workers_capped_at_two_and_the_cores_under_cloud(cloud, monkeypatch):
    from devocore import batch

    started = []

    class FakeCluster:
        def __init__(self, n_workers, processes, **kwargs):
            started.append((n_workers, processes))

    monkeypatch.setattr("distributed.LocalCluster", FakeCluster)
    monkeypatch.setattr("distributed.Client", lambda cluster: object())
    monkeypatch.setattr(config, "container_cpus", lambda: 16)
    assert config.max_workers() == 2
    batch._client(None, 8)  # asked for 8: gets 2
    batch._client(None, None)
    monkeypatch.setattr(config, "container_cpus", lambda: 1)
    batch._client(None, 2)
    monkeypatch.delenv("DEVOSCOPE_PROFILE")
    batch._client(None, 8)  # locally the caller's choice stands
    assert started == [(2, False), (2, False), (1, False), (8, True)]  # cloud: threads of the server


# ----------------------------------------------------------------------------- 3. the entrypoint itself
@pytest.fixture
def cloud_app(cloud, monkeypatch):
    """AppTest of cloud/streamlit_app.py with every real model load recorded (name per load)."""
    from streamlit import config as st_config
    from streamlit.testing.v1 import AppTest

    from devocore import registry, ui_cache

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(Path(tempfile.mkdtemp(prefix="devoscope-cloud-test-"))))
    loads: list[str] = []
    real = registry.load_model
    monkeypatch.setattr(registry, "load_model", lambda name, device="cpu": (loads.append(name), real(name, device))[1])
    ui_cache.model.clear()
    upload_mb = st_config.get_option("server.maxUploadSize")

    def make():
        return AppTest.from_file(str(ROOT / "cloud" / "streamlit_app.py"), default_timeout=120)

    yield make, loads
    st_config.set_option("server.maxUploadSize", upload_mb)  # the wrapper set it for this process
    ui_cache.model.clear()


def test_cloud_entrypoint_home_loads_no_model_and_pages_load_each_once(cloud_app):
    from streamlit import config as st_config

    make, loads = cloud_app
    first = make().run()
    assert not first.exception and first.title[0].value == "Devoscope"
    assert loads == []  # the home page (and the sidebar) never load a model
    assert st_config.get_option("server.maxUploadSize") == 200
    assert len([b for b in first.get("page_link")]) >= 8  # every view's card links to it
    first.switch_page(str(ROOT / "pages" / "segmentation.py")).run()
    assert not first.exception and loads, "the segmentation page should load its model"
    second = make().run()  # another browser session
    second.switch_page(str(ROOT / "pages" / "segmentation.py")).run()
    assert not second.exception
    assert sorted(loads) == sorted(set(loads))  # each model loaded once, shared by both sessions


def test_cloud_batch_page_offers_only_the_examples_and_two_workers(cloud_app):
    make, _loads = cloud_app
    at = make().run()
    at.switch_page(str(ROOT / "pages" / "batch.py")).run()
    assert not at.exception
    if at.slider:
        assert at.slider(key="batch_workers").max <= 2
    at.radio(key="batch_source").set_value("A folder on this server").run()
    assert str(config.EXAMPLES_DIR.resolve()) in at.text_input(key="batch_dir").label
    at.text_input(key="batch_dir").set_value("segmentation").run()
    assert not at.error and "file(s) to process" in " ".join(m.value for m in at.markdown)
    at.text_input(key="batch_dir").set_value(str(Path.home())).run()
    assert at.error and "outside" in at.error[0].value


def test_batch_runs_on_thread_workers_under_cloud(cloud, tmp_path):
    """The cloud profile's Batch (workers are threads of the server) processes the examples."""
    import psutil

    from devocore import batch

    before = len(psutil.Process().children(recursive=True))
    during = []  # child processes counted as each file finishes, while the cluster is up
    result = batch.run_batch(config.EXAMPLES_DIR / "segmentation", "inventory", tmp_path / "out", workers=2,
                             on_row=lambda *_: during.append(len(psutil.Process().children(recursive=True))))
    assert sorted(result.summary["status"]) == ["ok"] * 5
    assert len(during) == 5 and max(during) == before  # no worker process was started


def test_cloud_batch_runs_on_the_servers_shared_model(cloud, tmp_path):
    """In the server's own thread the Batch run takes the page's cached model: no second copy is loaded."""
    import shutil

    from devocore import batch, registry

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(config.EXAMPLES_DIR / "segmentation" / "nuclei.png", folder / "a.png")
    shared = registry.load_model("nucleus")
    asked: list[str] = []
    loads = batch.MODEL_LOADS["count"]
    result = batch.run_batch(folder, "nucleus", tmp_path / "out", models=lambda name: (asked.append(name), shared)[1])
    assert list(result.summary["status"]) == ["ok"] and asked == ["nucleus"]
    assert batch.MODEL_LOADS["count"] == loads  # nothing loaded beside the shared model


def test_cloud_keeps_shared_models_in_float16_and_runs_them_as_float32(cloud):
    """Under the cloud profile a shipped model is held in float16 (as on disk: half the memory) and every run
    computes exactly what the float32 model computes; locally it stays float32."""
    import numpy as np
    import torch

    from devocore import io, lineage, registry, segmentation, ui_cache

    def nbytes(module):
        return sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()])

    ui_cache.model.clear()
    try:
        for name in ("nucleus", "lineage"):
            kept, full = ui_cache.model(name), registry.load_model(name)
            assert {p.dtype for p in kept.parameters()} == {torch.float16}
            assert nbytes(kept) < 0.51 * nbytes(full)
            if name == "nucleus":
                image = io.read_image(config.EXAMPLES_DIR / "segmentation" / "nuclei.png").data
                got, want = (segmentation.Predictor(m).probabilities([image])[0] for m in (kept, full))
            else:
                frames = [np.random.default_rng(k).integers(0, 255, (96, 96), dtype=np.uint8) for k in range(3)]
                got, want = (lineage.inference.run_network(m, frames)[0] for m in (kept, full))
            np.testing.assert_array_equal(got, want)
            assert {p.dtype for p in kept.parameters()} == {torch.float16}  # the run did not change the shared one
    finally:
        ui_cache.model.clear()


def test_local_profile_keeps_shared_models_in_float32(monkeypatch):
    import torch

    from devocore import ui_cache

    monkeypatch.delenv("DEVOSCOPE_PROFILE", raising=False)
    monkeypatch.delenv("DEVOCORE_DEVICE", raising=False)
    ui_cache.model.clear()
    try:
        assert {p.dtype for p in ui_cache.model("membrane").parameters()} == {torch.float32}
    finally:
        ui_cache.model.clear()
