"""Frames per second of the segmentation models at 256 x 256, by precision and batch size (issue #24 point 5).

One short script to run on a lent GPU (it runs on the CPU too, for a check):

    PYTHONPATH=. python tools/gpu_figures.py --json                       # cuda when there is one
    PYTHONPATH=. python tools/gpu_figures.py --device cpu --batches 1 8 --seconds 1 --precisions fp32 bf16

For each model, precision (fp32, bf16, fp16: autocast, channels-last, inference mode) and batch size it times
the network alone on the bundled example slice (assets/examples/segmentation) repeated to fill the batch,
after warm-up, for at least ``--seconds``, and prints frames per second. ``mask_iou`` compares the thresholded
mask of each precision with fp32's on that slice, so a fast precision that changes the masks shows. Decoding
and post-processing are not included: `bench segmentation --video ... --json` times the whole path. fp32 on a GPU
runs its convolutions in TF32 where PyTorch does so by default (cuDNN).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1] / "assets" / "examples" / "segmentation"
EXAMPLE_OF = {"nucleus": "nuclei.png", "membrane": "membrane.png"}
DTYPES = {"fp32": None, "bf16": "bfloat16", "fp16": "float16"}


def example_input(model_name: str, side: int):
    """The bundled example slice of the model's task as a (1, 1, side, side) float32 array, as the Predictor feeds it."""
    from devocore import io
    from devocore.segmentation.cells import resize, to_input

    image = io.read_image(EXAMPLES / EXAMPLE_OF.get(model_name, "nuclei.png")).data
    return resize(to_input(image), (side, side)).astype(np.float32)[None, None]


def throughput(model, x, batch: int, precision: str, seconds: float, device) -> tuple[float, np.ndarray]:
    """(frames per second, probability map of the first frame) of ``model`` on ``x`` repeated ``batch`` times."""
    import torch

    inputs = torch.from_numpy(np.repeat(x, batch, axis=0)).to(device).contiguous(memory_format=torch.channels_last)
    dtype = getattr(torch, DTYPES[precision]) if DTYPES[precision] else None

    def step():
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            return model(inputs)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(3):
        out = step()
    sync()
    runs, start = 0, time.perf_counter()
    while True:
        step()
        runs += 1
        sync()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and runs >= 3:
            break
    return runs * batch / elapsed, torch.sigmoid(out[0, 0].float()).cpu().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["nucleus", "membrane"])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16", "fp16"], choices=list(DTYPES))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 16, 64])
    parser.add_argument("--side", type=int, default=256, help="input side in pixels (default 256)")
    parser.add_argument("--seconds", type=float, default=3.0, help="least timing per figure (default 3 s)")
    parser.add_argument("--device", help="cuda, cpu, ... (default: devocore's choice, cuda first)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    from devocore import registry
    from devocore.device import choose_device
    from devocore.segmentation import pixel_scores

    device = torch.device(choose_device(args.device).name)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    rows = []
    for model_name in args.models:
        model = registry.load_model(model_name, str(device)).eval().to(memory_format=torch.channels_last)
        x = example_input(model_name, args.side)
        reference = throughput(model, x, 1, "fp32", 0.0, device)[1] > 0.5
        for precision in args.precisions:
            for batch in args.batches:
                fps, prob = throughput(model, x, batch, precision, args.seconds, device)
                rows.append({"model": model_name, "precision": precision, "batch": batch, "side": args.side,
                             "fps": round(fps, 1), "mask_iou": round(pixel_scores(prob > 0.5, reference)[0], 4)})
                print(f"{model_name:9s} {precision:5s} batch {batch:3d}: {fps:9.1f} frames/s at {args.side} x "
                      f"{args.side} (mask IoU with fp32 {rows[-1]['mask_iou']:.4f})")
    if args.json:
        print(json.dumps({"device": name, "torch": torch.__version__, "rows": rows}))


if __name__ == "__main__":
    main()
