"""Frames per second of segmentation on a video: DevoLearn-style path versus Devoscope's, same frames, one run.

(a) DevoLearn-style: each frame resized with PIL, batch of one, fp32, autograd on
    (as in DevoLearn's predict). (b) Devoscope: decoding on a separate thread,
    batches, torch.inference_mode, channels-last, and bfloat16 when the CPU runs it
    natively and its masks agree with the fp32 reference at IoU >= 0.98 (checked
    on the first batch; fp32 otherwise). Both use the same model and input size.
agreement_iou compares (b)'s masks with (a)'s over all frames (after both are timed; each path packs its
masks to 1 bit per pixel as it goes); peak_rss_mb is
the process's peak resident memory after both passes.

Example:
    python -m devocore bench segmentation --video seg_sample.mov --json
"""
from __future__ import annotations

import resource
import time


def add_arguments(parser) -> None:
    parser.add_argument("--video", required=True, help="video file (MOV, MP4, AVI) or folder of frames")
    parser.add_argument("--model", default="membrane", help="segmentation model (default membrane)")
    parser.add_argument("--frames", type=int, default=0, help="use only the first N frames (default all)")
    parser.add_argument("--batch", type=int, default=16, help="Devoscope batch size (default 16)")
    parser.add_argument("--threshold", type=float, default=0.5, help="mask threshold (default 0.5)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads for both paths (default 2)")
    parser.add_argument("--skip-devolearn", action="store_true",
                        help="time only Devoscope's path (for memory runs); speedup and agreement are then empty")


def _frames(path: str, limit: int):
    from devocore import io

    source = io.open_frames(path)

    def gen():
        with source:
            for i, frame in enumerate(source):
                if limit and i >= limit:
                    break
                yield frame

    return source, gen()


def _devolearn_masks(model, path: str, limit: int, threshold: float):
    """The DevoLearn way: PIL resize per frame, batch 1, fp32, autograd on. Yields bool masks."""
    import cv2
    import numpy as np
    import torch
    from PIL import Image

    from devocore import io

    side = int(model.card.get("input_size", 256))
    model.to(memory_format=torch.contiguous_format).float()
    _, frames = _frames(path, limit)
    for frame in frames:
        grey = io.normalize(io.to_gray(frame))
        small = np.asarray(Image.fromarray(grey).resize((side, side), Image.BILINEAR), np.float32)
        x = torch.from_numpy(small)[None, None]
        prob = torch.sigmoid(model(x)).detach().numpy()[0, 0]
        yield cv2.resize(prob, (frame.shape[1], frame.shape[0])) > threshold


def _ours(model, path: str, limit: int, threshold: float, batch: int, bf16):
    from devocore import segmentation

    predictor = segmentation.Predictor(model, bf16=bf16)
    _, frames = _frames(path, limit)
    for _, prob in segmentation.batched_probabilities(frames, predictor, batch):
        yield prob > threshold


def _first_batch_agreement(model, path: str, batch: int, threshold: float) -> float:
    """IoU between bf16 and fp32 masks on the first batch of frames."""
    import numpy as np

    from devocore import segmentation

    _, frames = _frames(path, batch)
    frames = list(frames)
    a = segmentation.Predictor(model, bf16=True).probabilities(frames)
    b = segmentation.Predictor(model, bf16=False).probabilities(frames)
    inter = sum(float(np.logical_and(p > threshold, q > threshold).sum()) for p, q in zip(a, b))
    union = sum(float(np.logical_or(p > threshold, q > threshold).sum()) for p, q in zip(a, b))
    return inter / union if union else 1.0


def run(args) -> dict:
    import numpy as np
    import torch

    from devocore import segmentation
    from devocore.device import cpu_has_bf16

    torch.set_num_threads(max(1, args.threads))
    model = segmentation.load(args.model, "cpu")
    bf16 = cpu_has_bf16()
    bf16_check = None
    if bf16:
        bf16_check = _first_batch_agreement(model, args.video, args.batch, args.threshold)
        bf16 = bf16_check >= 0.98
    # both paths keep their masks at 1 bit per pixel (small, flat memory); they are compared after the timing
    t0 = time.perf_counter()
    reference = [] if not args.skip_devolearn else None
    if reference is not None:
        for mask in _devolearn_masks(model, args.video, args.frames, args.threshold):
            reference.append(np.packbits(mask))
    t1 = time.perf_counter()
    ours = [np.packbits(mask) for mask in _ours(model, args.video, args.frames, args.threshold, args.batch, bf16)]
    t2 = time.perf_counter()
    n = len(ours)
    inter = union = 0
    for a, b in zip(ours, reference or []):
        inter += int(np.unpackbits(a & b).sum())
        union += int(np.unpackbits(a | b).sum())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fps_devolearn = len(reference) / (t1 - t0) if reference else None
    fps = n / (t2 - t1)
    result = {"video": args.video, "frames": n, "model": args.model, "threads": torch.get_num_threads(),
              "fps_devolearn": round(fps_devolearn, 3) if fps_devolearn else None, "fps": round(fps, 3),
              "speedup": round(fps / fps_devolearn, 2) if fps_devolearn else None,
              "agreement_iou": round(inter / union, 4) if union else (1.0 if reference is not None else None),
              "bf16": bool(bf16), "bf16_first_batch_iou": round(bf16_check, 4) if bf16_check else None,
              "batch": args.batch, "peak_rss_mb": round(peak, 1)}
    print(f"{n} frames: DevoLearn-style {result['fps_devolearn']} fps, Devoscope {result['fps']} fps "
          f"(x{result['speedup']}), agreement IoU {result['agreement_iou']}, bf16 {result['bf16']}, "
          f"peak RSS {result['peak_rss_mb']} MB")
    return result
