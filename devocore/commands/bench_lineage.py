"""Speed and memory of lineage inference against a DevoLearn-style predict_from_video path, in one run.

DevoLearn path (re-implemented, same network family): every frame of the video
is read into memory first (grey -> 3 channels), then each frame alone is
resized to 256 x 256, normalised and run through a 3-channel ResNet-18 in fp32
with autograd on, as ``lineage_population_model.predict_from_video`` does.
Ours: frames streamed by a decoding thread, preprocessed to the model's input
size, batched, ``torch.inference_mode``, channels-last.
Peak memory is sampled while each path runs; ours is also measured on the
first quarter of the video to show it does not grow with the video's length.
"""
from __future__ import annotations

import itertools
import threading
import time


class _PeakRSS:
    """Samples this process's resident memory every 5 ms; ``peak_mb`` after ``stop``."""

    def __init__(self):
        import psutil

        self._process = psutil.Process()
        self._stop = threading.Event()
        self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(0.005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        return self.peak / 2 ** 20


def add_arguments(parser) -> None:
    parser.add_argument("--video", required=True, help="time-lapse to run")
    parser.add_argument("--model", default="lineage")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)


def devolearn_style(path: str, threads: int = 2) -> int:
    """DevoLearn's predict_from_video pattern; returns frames processed."""
    import cv2
    import numpy as np
    import torch
    from PIL import Image
    from torchvision import transforms
    from torchvision.models import resnet18

    torch.set_num_threads(threads)
    model = resnet18(weights=None)
    model.fc = torch.nn.Linear(512, 7)
    model.eval()
    prep = transforms.Compose([transforms.ToPILImage(),
                               transforms.Resize((256, 256), interpolation=Image.NEAREST),
                               transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    capture = cv2.VideoCapture(str(path))
    images = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        image = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
        images.append(image)
    capture.release()
    preds = []
    for image in images:
        pred = model(prep(image).unsqueeze(0)).detach().cpu().numpy().reshape(1, -1)
        preds.append(pred.flatten())
    np.stack(preds)
    return len(images)


def run(args) -> dict:
    import torch

    from devocore import registry
    from devocore.io import open_frames
    from devocore.lineage import LineageConfig, predict_frames

    torch.set_num_threads(args.threads)
    net = registry.load_model(args.model, "cpu")
    cfg = LineageConfig(model=args.model, batch_size=args.batch_size)
    with open_frames(args.video) as stream:  # warm-up on a few frames (allocations, kernels)
        predict_frames(itertools.islice(stream, 8), net, LineageConfig(model=args.model, method="net"))
    with open_frames(args.video) as stream:
        quarter = max(8, stream.frame_count // 4)
        with _PeakRSS() as rss_quarter:
            predict_frames(itertools.islice(stream, quarter), net, cfg)
    with open_frames(args.video) as stream:
        with _PeakRSS() as rss_ours:
            start = time.perf_counter()
            n_ours = len(predict_frames(stream, net, cfg).table)
            t_ours = time.perf_counter() - start
    with _PeakRSS() as rss_devolearn:
        start = time.perf_counter()
        n_devolearn = devolearn_style(args.video, args.threads)
        t_devolearn = time.perf_counter() - start
    figures = {
        "frames": n_ours,
        "fps_devolearn": n_devolearn / t_devolearn,
        "fps": n_ours / t_ours,
        "speedup": (n_ours / t_ours) / (n_devolearn / t_devolearn),
        "peak_rss_mb": rss_ours.peak_mb,
        "peak_rss_mb_quarter_video": rss_quarter.peak_mb,
        "peak_rss_mb_devolearn": rss_devolearn.peak_mb,
        "threads": args.threads,
        "batch_size": args.batch_size,
        "input_size": int(net.card.get("input_size", 128)),
    }
    print(f"DevoLearn-style: {figures['fps_devolearn']:.1f} frames/s, peak {figures['peak_rss_mb_devolearn']:.0f} MB")
    print(f"Devoscope:       {figures['fps']:.1f} frames/s, peak {figures['peak_rss_mb']:.0f} MB "
          f"(first quarter of the video: {figures['peak_rss_mb_quarter_video']:.0f} MB)")
    print(f"speed-up {figures['speedup']:.1f}x on {n_ours} frames, {args.threads} threads")
    return figures
