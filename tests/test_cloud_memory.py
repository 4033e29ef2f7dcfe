"""The cloud profile's memory bounds (#29 point 4): one heavy job at a time, a small page cache, Batch without
Dask and without frame ranges, bounded training. The figure itself comes from tools/bench_cloud_memory.py."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from devocore import batch, config, deploy

ROOT = Path(__file__).resolve().parents[1]
HOLD_S = 0.4


@pytest.fixture
def cloud(monkeypatch):
    monkeypatch.setenv("DEVOSCOPE_PROFILE", "cloud")


@pytest.fixture
def local(monkeypatch):
    monkeypatch.delenv("DEVOSCOPE_PROFILE", raising=False)


def _two_jobs() -> tuple[list[tuple[float, float]], list[float], list[bool]]:
    """Two threads each run a job of HOLD_S seconds through deploy.heavy_job; their (start, end) times,
    the waits reported to the second, and whether each job waited."""
    spans, waits, waited = [], [], []
    first_in = threading.Event()

    def job(index: int) -> None:
        if index == 1:
            first_in.wait(5)
        with deploy.heavy_job(waits.append) as had_to_wait:
            start = time.monotonic()
            first_in.set()
            time.sleep(HOLD_S)
            spans.append((start, time.monotonic()))
            waited.append(had_to_wait)

    threads = [threading.Thread(target=job, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return sorted(spans), waits, waited


def test_heavy_jobs_run_one_at_a_time_under_cloud(cloud):
    spans, waits, waited = _two_jobs()
    (a_start, a_end), (b_start, b_end) = spans
    assert b_start >= a_end - 0.01  # the second started only when the first ended
    assert waited == [False, True]
    assert waits and waits[0] < HOLD_S / 2  # the waiting job was told at once (the page shows WAIT_LINE)


def test_heavy_jobs_overlap_locally(local):
    spans, waits, waited = _two_jobs()
    (a_start, a_end), (b_start, b_end) = spans
    assert b_start < a_end - HOLD_S * 0.5  # both ran at once: local behaviour is unchanged
    assert waits == [] and waited == [False, False]


def test_a_job_inside_a_job_does_not_wait_for_itself(cloud):
    with deploy.heavy_job() as outer:
        with deploy.heavy_job(lambda s: pytest.fail("waited for its own gate")) as inner:
            pass
    assert (outer, inner) == (False, False)


def test_a_jobs_garbage_is_freed_before_the_next_job_may_start(cloud):
    """What a job leaves in reference cycles is collected while the job still holds the gate: the next visitor's
    job never starts beside it."""
    import gc

    held_when_freed = []

    class Cycle:
        def __init__(self):
            self.me = self

        def __del__(self):
            held_when_freed.append(deploy._JOB_GATE._is_owned())

    gc.disable()  # only the job's own collection may free it
    try:
        with deploy.heavy_job():
            Cycle()
    finally:
        gc.enable()
    assert held_when_freed == [True]


def test_a_heavy_cached_function_runs_once_for_two_sessions_under_cloud(cloud):
    from devocore import ui_cache

    calls = []

    @ui_cache.data(heavy=True, cache=ui_cache.ByteBudgetCache(2**20))
    def slow(x: int) -> int:
        calls.append(x)
        time.sleep(HOLD_S)
        return x * 2

    results = []
    threads = [threading.Thread(target=lambda: results.append(slow(21))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == [42, 42] and calls == [21]  # the second waited for the gate, then found the result


CACHE_MB = "import sys; sys.path.insert(0, {root!r}); from devocore import ui_cache; print(ui_cache.CACHE_MB)"


@pytest.mark.parametrize("env, expected", [({"DEVOSCOPE_PROFILE": "cloud"}, 32),
                                           ({}, 512),
                                           ({"DEVOSCOPE_PROFILE": "cloud", "DEVOCORE_CACHE_MB": "100"}, 100)])
def test_page_cache_budget_is_small_under_cloud(env, expected):
    clean = {k: v for k, v in os.environ.items() if k not in ("DEVOSCOPE_PROFILE", "DEVOCORE_CACHE_MB")}
    out = subprocess.run([sys.executable, "-c", CACHE_MB.format(root=str(ROOT))], env={**clean, **env},
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert int(out.split()[-1]) == expected


def _video(path: Path, frames: int) -> Path:
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 10 + 20 * i, np.uint8))
    writer.release()
    return path


def test_cloud_batch_runs_without_dask_and_streams_videos_whole(cloud, tmp_path, monkeypatch):
    import shutil

    def no_cluster(*args, **kwargs):
        raise AssertionError("the cloud profile's Batch must not start a Dask cluster")

    monkeypatch.setattr(batch, "_client", no_cluster)
    joined = []
    monkeypatch.setattr(batch, "join_ranges", lambda *a, **k: joined.append(a) or pytest.fail("split a video"))
    folder = tmp_path / "in"
    folder.mkdir()
    _video(folder / "clip.mp4", 7)
    shutil.copy(config.EXAMPLES_DIR / "segmentation" / "nuclei.png", folder)
    seen, steps = [], []
    result = batch.run_batch(folder, "inventory", tmp_path / "out", chunk_frames=2,
                             on_row=lambda row, done, failed, left: seen.append((Path(row["file"]).name, left)),
                             progress=lambda fraction, message: steps.append(fraction))
    summary = result.summary.set_index("file")
    assert list(summary["status"]) == ["ok", "ok"] and summary.loc["clip.mp4", "frames"] == 7
    assert sorted(name for name, _ in seen) == ["clip.mp4", "nuclei.png"] and [left for _, left in seen] == [1, 0]
    assert steps[-1] == 1.0 and steps == sorted(steps) and not joined


def test_batch_still_uses_dask_locally(local, tmp_path, monkeypatch):
    started = []

    def fake_client(scheduler, workers):
        started.append(workers)
        raise RuntimeError("cluster asked for")

    monkeypatch.setattr(batch, "_client", fake_client)
    with pytest.raises(RuntimeError, match="cluster asked for"):
        batch.run_batch(config.EXAMPLES_DIR / "segmentation", "inventory", tmp_path / "out", workers=3)
    assert started == [3]


def test_training_is_bounded_under_cloud_only(cloud, monkeypatch):
    assert config.train_bounds() == {"epochs": 5, "steps": 10, "batch": 4, "trials": 3, "trial_epochs": 2}
    monkeypatch.delenv("DEVOSCOPE_PROFILE")
    assert config.train_bounds() is None


TRITON = """
import os, sys
os.environ["DEVOSCOPE_PROFILE"] = sys.argv[1]
sys.path.insert(0, {root!r})
from devocore import deploy
done = deploy.setup_process()
import torchvision
from torch.utils._triton import has_triton
print(done.get("without_triton"), "triton" in sys.modules and sys.modules["triton"] is None, has_triton())
"""


def test_the_cloud_profile_keeps_triton_out_and_torch_works_without_it():
    clean = {k: v for k, v in os.environ.items() if k != "DEVOSCOPE_PROFILE"}
    out = subprocess.run([sys.executable, "-c", TRITON.format(root=str(ROOT)), "cloud"], env=clean,
                         capture_output=True, text=True, timeout=120, check=True).stdout.split()
    assert out == ["True", "True", "False"]  # blocked before torch came in; torch sees no triton, as on the CPU build


def test_inference_copies_are_made_per_caller_under_cloud_and_kept_locally(monkeypatch):
    import weakref

    from devocore import registry
    from devocore.nets import inference

    model = registry.load_model("nucleus", "cpu")
    monkeypatch.setenv("DEVOSCOPE_PROFILE", "cloud")
    first = inference.inference_copy(model, "cpu")
    gone = weakref.ref(first)
    assert inference.inference_copy(model, "cpu") is not first and model not in inference._COPIES
    del first
    assert gone() is None  # nothing in the server keeps it once its caller is done
    monkeypatch.delenv("DEVOSCOPE_PROFILE")
    kept = inference.inference_copy(model, "cpu")
    assert inference.inference_copy(model, "cpu") is kept  # locally: made once, reused


def test_an_inference_copy_of_a_float16_held_model_is_one_float32_copy(monkeypatch):
    """A model held in float16 (the cloud profile's shared models) gets a float32 inference copy made from one
    deep copy (checked against itself before the rewrite): beside the shared model, memory for one copy, not
    two, while it is made; and it computes what the float32 model's copy computes."""
    import copy

    import torch

    from devocore import registry
    from devocore.nets import inference

    full = registry.load_model("nucleus", "cpu")
    half = inference.keep_half(registry.load_model("nucleus", "cpu"))
    copies = []
    real = copy.deepcopy
    monkeypatch.setattr(inference.copy, "deepcopy", lambda obj, *a: (copies.append(type(obj)), real(obj, *a))[1])
    fast = inference.for_inference(half, (1, 1, 64, 64), float32=True)
    assert copies.count(type(half)) == 1 and {p.dtype for p in fast.parameters()} == {torch.float32}
    assert {p.dtype for p in half.parameters()} == {torch.float16}  # the shared model is left as it was
    x = torch.rand(2, 1, 96, 96, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        assert torch.equal(fast(x), inference.for_inference(full)(x))


def test_a_finished_training_job_lets_go_of_what_it_held():
    import weakref

    from devocore.train.job import Job

    class Held:  # stands for the model and data a training run's closure holds
        pass

    held = Held()
    gone = weakref.ref(held)

    def run(stop, record, held=held):
        record({"epoch": 1})
        return {"epochs": 1}

    job = Job(run).start().wait(5)
    del held, run
    assert job.result == {"epochs": 1} and job.history == [{"epoch": 1}]
    assert gone() is None


def test_forecast_is_bounded_under_cloud_only(cloud, monkeypatch):
    assert config.forecast_bounds() == {"epochs": 30, "n_models": 2}
    monkeypatch.delenv("DEVOSCOPE_PROFILE")
    assert config.forecast_bounds() is None


def test_cloud_train_page_bounds_the_run_and_keeps_the_model_on_disk_only(cloud, monkeypatch):
    from streamlit.testing.v1 import AppTest

    for name in ("DEVOCORE_DATA_DIR", "DEVOCORE_MODEL_DIR"):
        monkeypatch.delenv(name, raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    assert at.number_input(key="train_epochs").max == 5 and at.number_input(key="train_steps").max == 10
    assert at.selectbox(key="train_batch").options == ["2", "4"]
    assert any("public demo" in c.value for c in at.caption)
    at.selectbox(key="train_start").set_value("(from scratch)").run()
    assert at.selectbox(key="train_size").options == ["64", "128", "256"]
    at.selectbox(key="train_size").set_value(64).run()
    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_steps").set_value(2)
    at.selectbox(key="train_batch").set_value(2).run()
    at.button(key="train_start_button").click().run()
    job = at.session_state["train_job"]
    job.wait(120)
    at.run()
    assert job.error is None and job.result["epochs"] == 1 and job.result["model"] is None
    at.button(key="train_compare").click().run()  # the comparison reads the trained model from its checkpoint
    assert not at.exception, at.exception
    assert "trained here" in set(at.dataframe[-1].value["model"])


@pytest.mark.skipif(deploy._libc() is None, reason="needs glibc")
def test_trim_starts_no_child_process(monkeypatch):
    """A fork of the server after every run would, for a moment, double the memory the container sees."""
    def no_fork(*args, **kwargs):
        raise AssertionError("trim() started a child process")

    monkeypatch.setattr(subprocess, "Popen", no_fork)
    monkeypatch.setattr(os, "fork", no_fork)
    assert deploy.trim() and deploy.trim()


def test_lookups_that_fork_are_made_once_at_start(monkeypatch):
    """Library lookups (trio's pthread, imported with timm) and joblib's physical-core count (scikit-learn's
    first fit) run a child process; settled at start, they start none later in the grown server."""
    import ctypes.util

    pytest.importorskip("joblib")
    from joblib.externals.loky import cpu_count

    monkeypatch.setattr(ctypes.util, "find_library", ctypes.util.find_library)  # restored after the test
    deploy.settle_child_processes()
    deploy.settle_child_processes()  # a second call wraps nothing twice
    found = ctypes.util.find_library("pthread")

    def no_fork(*args, **kwargs):
        raise AssertionError("a child process was started")

    monkeypatch.setattr(subprocess, "Popen", no_fork)
    monkeypatch.setattr(os, "fork", no_fork)
    assert ctypes.util.find_library("pthread") == found and ctypes.util.find_library("c")
    assert cpu_count(only_physical_cores=True) >= 1
    with pytest.raises(AssertionError):  # the guard itself works: an unknown name still needs ldconfig
        ctypes.util.find_library("devoscope-no-such-library")


# ----------------------------------------------------------------------------- fine-tuning only the decoder
def _tiny_run(freeze: bool, seen: dict | None = None):
    """One epoch of two batches of a ResNet-18 FPN on 64 px simulated nuclei; with ``seen``, what the model and
    optimizer looked like during the first step."""
    import copy

    import torch

    from devocore.train import segmentation as seg

    cfg = seg.TrainConfig(epochs=1, steps=2, batch=2, crop=64, size=64, val_images=2, patience=1,
                          freeze_encoder=freeze)
    torch.manual_seed(0)
    model, _ = seg.build(cfg)
    before = copy.deepcopy(model.state_dict())
    if seen is not None:
        real_step = torch.optim.AdamW.step

        def step(optimizer, *args, **kwargs):
            if not seen:
                trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
                seen.update(encoder_in_optimizer=any(id(p) in trained for p in model.encoder.parameters()),
                            encoder_grads=[p.grad is not None for p in model.encoder.parameters()],
                            encoder_requires_grad=[p.requires_grad for p in model.encoder.parameters()],
                            encoder_training=model.encoder.training, decoder_training=model.decoder.training,
                            decoder_grads=any(p.grad is not None for p in model.decoder.parameters()))
            return real_step(optimizer, *args, **kwargs)

        torch.optim.AdamW.step = step
    try:
        result = seg.train(cfg, model=model)
    finally:
        if seen is not None:
            torch.optim.AdamW.step = real_step
    return before, result["model"].state_dict()


def test_a_frozen_encoder_gets_no_gradients_and_keeps_its_weights():
    import torch

    seen: dict = {}
    before, after = _tiny_run(True, seen)
    assert seen["encoder_requires_grad"] and not any(seen["encoder_requires_grad"])
    assert not any(seen["encoder_grads"]) and not seen["encoder_in_optimizer"]  # no gradients, no Adam moments
    assert not seen["encoder_training"] and seen["decoder_training"] and seen["decoder_grads"]
    encoder = [k for k in before if k.startswith("encoder.")]
    assert len(encoder) > 100  # ResNet-18's weights and batch-norm statistics
    assert all(torch.equal(before[k], after[k]) for k in encoder)  # weights and statistics unchanged
    decoder = [k for k in before if k.startswith("decoder.") and before[k].is_floating_point()]
    assert any(not torch.equal(before[k], after[k]) for k in decoder)  # what follows the encoder did train


def test_without_freezing_the_encoder_trains_too():
    import torch

    before, after = _tiny_run(False)
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("encoder.")
               and before[k].is_floating_point())


def test_the_cloud_train_page_fine_tunes_only_the_decoder(cloud, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from devocore.train import segmentation as seg

    for name in ("DEVOCORE_DATA_DIR", "DEVOCORE_MODEL_DIR"):
        monkeypatch.delenv(name, raising=False)
    configs = []
    monkeypatch.setattr(seg, "train", lambda cfg, **kwargs: configs.append(cfg) or {"epochs": 0, "model": None})
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="train_start").value != "(from scratch)"
    assert any("trains only the decoder" in c.value for c in at.caption)
    at.button(key="train_start_button").click().run()
    at.session_state["train_job"].wait(60)
    at.selectbox(key="train_start").set_value("(from scratch)").run()  # nothing to keep from a random encoder
    assert not any("trains only the decoder" in c.value for c in at.caption)
    at.button(key="train_start_button").click().run()
    at.session_state["train_job"].wait(60)
    assert [cfg.freeze_encoder for cfg in configs] == [True, False]


def test_the_local_train_page_trains_the_whole_network(local, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from devocore.train import segmentation as seg

    configs = []
    monkeypatch.setattr(seg, "train", lambda cfg, **kwargs: configs.append(cfg) or {"epochs": 0, "model": None})
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    assert not any("trains only the decoder" in c.value for c in at.caption)
    at.button(key="train_start_button").click().run()
    at.session_state["train_job"].wait(60)
    assert [cfg.freeze_encoder for cfg in configs] == [False]


# ----------------------------------------------------------------------------- smaller inference batches
class _CountingPredictor:
    """Stands for a Predictor: records how many planes each network call gets; probability = plane / 255."""

    def __init__(self):
        self.calls: list[int] = []

    def probabilities(self, planes):
        self.calls.append(len(planes))
        return [plane / 255.0 for plane in planes]


@pytest.mark.parametrize("profile, expected", [("cloud", [2, 2, 2, 2, 1]), ("local", [8, 1])])
def test_inference_batches_are_small_under_cloud_and_the_results_the_same(monkeypatch, profile, expected):
    import numpy as np

    from devocore.segmentation import batched_probabilities

    if profile == "cloud":
        monkeypatch.setenv("DEVOSCOPE_PROFILE", "cloud")
    else:
        monkeypatch.delenv("DEVOSCOPE_PROFILE", raising=False)
    planes = [np.full((4, 5), i, np.uint8) for i in range(9)]
    predictor = _CountingPredictor()
    out = list(batched_probabilities(iter(planes), predictor, batch=8, workers=1))
    assert predictor.calls == expected
    assert [float(prob[0, 0]) for _, prob in out] == [i / 255.0 for i in range(9)]  # every plane, in order


def test_folding_batch_norms_lets_go_of_each_unfused_convolution_as_it_goes(monkeypatch):
    """Folding holds one convolution's weights twice at a time, not the whole model's: when a convolution is
    fused, every convolution fused before it is already gone (a list of the model's modules kept them all
    alive, about 50 MB above the copy for the nucleus model), and the folded model computes what it did."""
    import gc
    import weakref

    import torch

    from devocore import nets
    from devocore.nets import inference

    net = nets.build("fpn").eval()
    x = torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        before = net(x)
    fused, alive_at_fuse = [], []
    real = inference.fuse_conv_bn_eval

    def fuse(conv, bn):
        gc.collect()
        alive_at_fuse.append(sum(ref() is not None for ref in fused))
        fused.append(weakref.ref(conv))
        return real(conv, bn)

    monkeypatch.setattr(inference, "fuse_conv_bn_eval", fuse)
    folded = inference.fold_batchnorm(net)
    assert folded == len(fused) >= 20  # ResNet-18: the stem, 16 block convolutions and 3 downsamples
    assert alive_at_fuse == [0] * folded
    with torch.inference_mode():
        assert float((net(x) - before).abs().max()) < 1e-3


@pytest.mark.parametrize("profile, expected", [("cloud", {1}), ("local", {2})])
def test_training_validates_one_image_at_a_time_under_cloud(monkeypatch, profile, expected):
    """Full-size validation images were the top of a Train job's memory: under the cloud profile the network
    sees them one at a time; locally up to four at once (here the split's two)."""
    import torch

    from devocore.train import segmentation as seg

    if profile == "cloud":
        monkeypatch.setenv("DEVOSCOPE_PROFILE", "cloud")
    else:
        monkeypatch.delenv("DEVOSCOPE_PROFILE", raising=False)
    cfg = seg.TrainConfig(epochs=1, steps=1, batch=2, crop=64, size=64, val_images=2, patience=1,
                          decoder_channels=64)
    torch.manual_seed(0)
    model, _ = seg.build(cfg)
    seen = set()
    model.register_forward_pre_hook(lambda module, args: None if module.training else seen.add(len(args[0])))
    seg.train(cfg, model=model)
    assert seen == expected


@pytest.mark.skipif(not __import__("devocore.device", fromlist=["cpu_has_bf16"]).cpu_has_bf16(),
                    reason="bfloat16 autocast needs a CPU with native bfloat16")
def test_a_frozen_encoder_under_bfloat16_is_held_in_float16_and_trains_the_same(monkeypatch):
    """Fine-tuning the decoder under bfloat16 autocast (the cloud Train page) holds the frozen encoder's
    convolutions in float16, and trains exactly as with them in float32: the same decoder weights to the bit,
    the same encoder, returned in float32."""
    import torch

    from devocore.nets import inference
    from devocore.train import segmentation as seg

    cfg = seg.TrainConfig(epochs=1, steps=2, batch=2, crop=64, size=64, val_images=2, patience=1,
                          decoder_channels=64, freeze_encoder=True, bf16=True)
    torch.manual_seed(0)
    start, _ = seg.build(cfg)
    start.half().float()  # weights that came from a float16 file, as every shipped model's

    def run(hold: bool):
        import copy

        dtypes = set()
        real_step = torch.optim.AdamW.step

        def step(optimizer, *args, **kwargs):
            dtypes.update(m.weight.dtype for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d))
            return real_step(optimizer, *args, **kwargs)

        model = copy.deepcopy(start)
        with monkeypatch.context() as patch:
            patch.setattr(torch.optim.AdamW, "step", step)
            if not hold:
                patch.setattr(inference, "hold_convolutions", lambda *args, **kwargs: False)
            torch.manual_seed(1)
            return seg.train(cfg, model=model)["model"].state_dict(), dtypes

    held, held_dtypes = run(True)
    plain, plain_dtypes = run(False)
    assert held_dtypes == {torch.float16} and plain_dtypes == {torch.float32}
    assert all(torch.equal(held[k], plain[k]) for k in plain)
    assert {v.dtype for v in held.values() if v.is_floating_point()} == {torch.float32}
    assert all(torch.equal(held[k], v) for k, v in start.state_dict().items() if k.startswith("encoder."))


@pytest.mark.parametrize("name, image", [("nucleus", "nuclei.png"), ("membrane", "membrane.png")])
def test_a_bfloat16_predictor_holds_its_convolutions_in_bfloat16_with_the_same_output(monkeypatch, name, image):
    """A Predictor that runs under bfloat16 autocast holds its copy's convolutions in bfloat16 (half the memory:
    autocast cast them on every call anyway): the probability maps are the same to the bit as with them in
    float32, and a float32 Predictor of the same model keeps float32."""
    import numpy as np
    import torch

    from devocore import io, registry
    from devocore.nets import inference
    from devocore.segmentation import Predictor

    monkeypatch.setenv("DEVOSCOPE_PROFILE", "cloud")  # a fresh copy per Predictor, float for the membrane model too
    model = inference.keep_half(registry.load_model(name, "cpu"))
    plane = io.read_image(Path(config.EXAMPLES_DIR) / "segmentation" / image).data
    planes = [plane, np.ascontiguousarray(plane[::-1])]

    def conv_dtypes(predictor):
        return {m.weight.dtype for m in predictor.model.modules() if isinstance(m, torch.nn.Conv2d)}

    held = Predictor(model, bf16=True)
    with monkeypatch.context() as patch:
        patch.setattr(inference, "hold_convolutions", lambda *args, **kwargs: False)
        plain = Predictor(model, bf16=True)
    assert conv_dtypes(held) == {torch.bfloat16} and conv_dtypes(plain) == {torch.float32}
    assert all(np.array_equal(a, b) for a, b in zip(held.probabilities(planes), plain.probabilities(planes)))
    assert conv_dtypes(Predictor(model, bf16=False)) == {torch.float32}
