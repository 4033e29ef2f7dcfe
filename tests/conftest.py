"""Shared fixtures: everything is made by the tests themselves, nothing from ../shared."""
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Under pytest-xdist (`-n`, set in pytest.ini) the workers share the machine's cores: each worker and every process
# it starts (CLI runs, Streamlit servers) gets its share of threads, so torch's thread pools never outnumber the
# cores (an oversubscribed pool spins and runs slower than one thread).
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    from devocore.config import container_cpus

    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, container_cpus() // _WORKERS)))
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

# Tests must never pick up a developer's own models or GPU.
os.environ.setdefault("DEVOCORE_DEVICE", "cpu")
# Tests never read the developers' datasets (../shared): the default path into them leads nowhere during a run,
# so a test that leans on them fails on every machine, not only on a user's, which has none.
os.environ["DEVOCORE_DATASETS"] = str(Path(tempfile.gettempdir()) / "devocore-tests-have-no-datasets")
# The record of files devocore wrote (devocore.outputs): one per test run, never the developer's own.
os.environ["DEVOCORE_STATE_DIR"] = tempfile.mkdtemp(prefix="devocore-test-state-")
atexit.register(shutil.rmtree, os.environ["DEVOCORE_STATE_DIR"], True)


@pytest.fixture(autouse=True)
def _isolated_user_models(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DEVOCORE_MODEL_DIR", str(tmp_path_factory.mktemp("user_models")))


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: one worker per core this process may use (its CPU quota), at most 4: each browser module runs its
    own Streamlit server and Chromium, so more workers would mostly add memory."""
    from devocore.config import container_cpus

    return min(4, container_cpus())


def pytest_collection_modifyitems(config, items):
    import torch

    skip_slow = pytest.mark.skip(reason="slow; set DEVOCORE_SLOW=1 to run")
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "slow" in item.keywords and not os.environ.get("DEVOCORE_SLOW"):
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)


# Browser tests (tests/test_browser*.py): one Streamlit server with the tiny test models and one Chromium per
# test module; a module that needs other settings defines its own ``server``.
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests import browser_models
    from tests.browser import ARTIFACTS, streamlit_server

    ARTIFACTS.mkdir(exist_ok=True)
    models = browser_models.save_tiny_models(tmp_path_factory.mktemp("browser-models"))
    with streamlit_server(env={"DEVOCORE_MODEL_DIR": str(models)}) as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    from tests.browser import chromium

    with chromium() as b:
        yield b
