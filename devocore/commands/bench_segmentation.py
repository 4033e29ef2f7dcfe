"""Frames per second of segmentation on a video: DevoLearn-style path versus Devoscope's, same frames, one run.

(a) DevoLearn-style: each frame resized with PIL, batch of one, fp32, autograd on
    (as in DevoLearn's predict). (b) Devoscope: decoding on a separate thread,
    batches of 8 run side by side, one per torch thread (each thread a whole batch, instead of
    every operation split across threads), torch.inference_mode, channels-last, and the fastest precision
    whose masks agree with the fp32 reference at IoU >= 0.98 on the first batch: the model's 8-bit copy
    where its card holds a calibration (devocore.nets.quantized), else bfloat16 where the CPU runs it
    natively, else fp32 (``precision`` names it). Both use the same model and input size.
The two passes are repeated ``--repeats`` times (default 3), alternating which goes first, and the
figures are medians: ``speedup`` is the median of the rounds' ratios, which are listed in ``speedups``
(on a shared CPU one pass can run 10-15% slower than the next for no reason in the code).
agreement_iou compares (b)'s masks with (a)'s over all frames of the first round (after both are timed;
each path packs its masks to 1 bit per pixel as it goes); peak_rss_mb is the process's peak resident
memory after all passes.

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
    parser.add_argument("--batch", type=int, default=8,
                        help="frames per network call in Devoscope's path (default 8; on the CPU each torch thread runs its own batch)")
    parser.add_argument("--threshold", type=float, default=0.5, help="mask threshold (default 0.5)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads for both paths (default 2)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds of both passes, alternating which goes first; figures are medians (default 3)")
    parser.add_argument("--precision", choices=["auto", "int8", "bf16", "fp32"], default="auto",
                        help="Devoscope's precision: auto (default) takes the fastest whose first-batch masks agree "
                             "with fp32 (int8 where the model's card holds a calibration, else bf16 where the CPU "
                             "runs it natively); the others force one, for comparisons")
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

    from devocore import io, segmentation

    side = int(model.card.get("input_size", 256))
    keep_aspect = bool(model.card.get("keep_aspect", False))  # the model's own input shape, as in Devoscope's path
    model.to(memory_format=torch.contiguous_format).float()
    _, frames = _frames(path, limit)
    for frame in frames:
        grey = io.normalize(io.to_gray(frame))
        height, width = segmentation.input_shape(grey.shape, side, keep_aspect)
        small = np.array(Image.fromarray(grey).resize((width, height), Image.BILINEAR), np.float32)  # a writable copy
        x = torch.from_numpy(small)[None, None]
        prob = torch.sigmoid(model(x)).detach().numpy()[0, 0]
        yield cv2.resize(prob, (frame.shape[1], frame.shape[0])) > threshold


def _ours(model, path: str, limit: int, threshold: float, batch: int, precision: dict):
    from devocore import segmentation

    predictor = segmentation.Predictor(model, **precision)
    _, frames = _frames(path, limit)
    for _, prob in segmentation.batched_probabilities(frames, predictor, batch):
        yield prob > threshold


def _first_batch_agreement(model, path: str, batch: int, threshold: float, precision: dict) -> float:
    """IoU between the masks of a Predictor with ``precision`` and float32 masks on the first batch of frames."""
    import numpy as np

    from devocore import segmentation

    _, frames = _frames(path, batch)
    frames = list(frames)
    a = segmentation.Predictor(model, **precision).probabilities(frames)
    b = segmentation.Predictor(model, bf16=False, int8=False).probabilities(frames)
    inter = sum(float(np.logical_and(p > threshold, q > threshold).sum()) for p, q in zip(a, b))
    union = sum(float(np.logical_or(p > threshold, q > threshold).sum()) for p, q in zip(a, b))
    return inter / union if union else 1.0


def run(args) -> dict:
    import numpy as np
    import torch

    from devocore import segmentation
    from devocore.device import cpu_has_bf16
    from devocore.errors import DevocoreError

    torch.set_num_threads(max(1, args.threads))
    model = segmentation.load(args.model, "cpu")
    # --precision auto: the fastest precision whose masks agree with float32 on the first batch: the 8-bit copy where
    # the card holds a calibration, else bfloat16 where the CPU runs it natively, else float32
    options = {"int8": {"bf16": False, "int8": True}, "bf16": {"bf16": True, "int8": False},
               "fp32": {"bf16": False, "int8": False}}
    has_int8 = segmentation.Predictor(model).int8_model is not None
    if args.precision == "int8" and not has_int8:
        raise DevocoreError(f"The model '{args.model}' has no 8-bit copy here (no calibration in its card, or this "
                            "CPU has no 8-bit kernels).")
    if args.precision == "auto":
        candidates = ["int8"] * has_int8 + ["bf16"] * cpu_has_bf16()
    else:
        candidates = [args.precision]
    chosen, first_check = "fp32", None
    for candidate in candidates:
        first_check = _first_batch_agreement(model, args.video, args.batch, args.threshold, options[candidate])
        if first_check >= 0.98 or args.precision != "auto":
            chosen = candidate
            break
    precision = options[chosen]
    # both paths keep their masks at 1 bit per pixel (small, flat memory); they are compared after the timing
    def devolearn_pass():
        return [np.packbits(mask) for mask in _devolearn_masks(model, args.video, args.frames, args.threshold)]

    def our_pass():
        masks = _ours(model, args.video, args.frames, args.threshold, args.batch, precision)
        return [np.packbits(mask) for mask in masks]

    passes = [("ours", our_pass)] if args.skip_devolearn else [("devolearn", devolearn_pass), ("ours", our_pass)]
    rounds, first = [], {}  # per round: pass -> (frames, seconds); the first round's masks are kept
    for r in range(max(1, args.repeats)):
        timed = {}
        for name, run_pass in (passes if r % 2 == 0 else passes[::-1]):
            t0 = time.perf_counter()
            masks = run_pass()
            timed[name] = (len(masks), time.perf_counter() - t0)
            if r == 0:
                first[name] = masks
        rounds.append(timed)
    reference, ours = first.get("devolearn"), first["ours"]
    n = len(ours)
    inter = union = 0
    for a, b in zip(ours, reference or []):
        inter += int(np.unpackbits(a & b).sum())
        union += int(np.unpackbits(a | b).sum())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    def rates(name):  # frames per second of one pass in every round
        return [frames / seconds for frames, seconds in (t[name] for t in rounds)]

    fps_each = rates("ours")
    fps = float(np.median(fps_each))
    fps_devolearn = speedups = None
    if reference:
        fps_devolearn_each = rates("devolearn")
        fps_devolearn = float(np.median(fps_devolearn_each))
        speedups = [round(a / b, 2) for a, b in zip(fps_each, fps_devolearn_each)]
    result = {"video": args.video, "frames": n, "model": args.model, "threads": torch.get_num_threads(),
              "fps_devolearn": round(fps_devolearn, 3) if fps_devolearn else None, "fps": round(fps, 3),
              "speedup": round(float(np.median(speedups)), 2) if speedups else None, "speedups": speedups,
              "repeats": len(rounds),
              "agreement_iou": round(inter / union, 4) if union else (1.0 if reference is not None else None),
              "precision": chosen, "first_batch_iou": round(first_check, 4) if first_check else None,
              "batch": args.batch, "peak_rss_mb": round(peak, 1)}
    print(f"{n} frames: DevoLearn-style {result['fps_devolearn']} fps, Devoscope {result['fps']} fps "
          f"(x{result['speedup']}, median of {result['speedups']}), agreement IoU {result['agreement_iou']}, "
          f"{chosen}, peak RSS {result['peak_rss_mb']} MB")
    return result
