"""Calibrate a segmentation model's 8-bit copy on training images and record it in the model card.

Draws two disjoint sets of images from a training folder (seeded): the activation ranges are measured on
the first (``--calibrate``), and the 8-bit masks are compared with the float32 masks on the second
(``--check``). With ``--write`` the ranges, the agreement and this command go into the model's card (its
weights are not touched). The last line is one JSON object.

Example:
    python tools/calibrate_int8.py --model membrane --images ../shared/data/train/cshaper_membrane/images --write
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: The lowest mask agreement (IoU with float32 on the check images) at which a calibration is written.
MIN_AGREEMENT = 0.99


def main(argv: list[str] | None = None) -> dict:
    import numpy as np
    import torch

    from devocore import io, registry, segmentation
    from devocore.nets import quantized

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="segmentation model name")
    parser.add_argument("--images", required=True, help="folder of training images")
    parser.add_argument("--calibrate", type=int, default=32, help="images that set the ranges (default 32)")
    parser.add_argument("--check", type=int, default=64, help="other images for the agreement (default 64)")
    parser.add_argument("--batch", type=int, default=8, help="images per network call (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draw (default 0)")
    parser.add_argument("--write", action="store_true", help="record the calibration in the model's card")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args(argv)

    torch.set_num_threads(2)
    files = sorted(p for p in Path(args.images).iterdir() if p.suffix.lower() in io.IMAGE_SUFFIXES)
    if len(files) < args.calibrate + args.check:
        parser.error(f"{args.images} holds {len(files)} images; --calibrate + --check need "
                     f"{args.calibrate + args.check}")
    drawn = np.random.default_rng(args.seed).permutation(len(files))
    info = registry.find_model(args.model)
    model = segmentation.load(args.model, "cpu")
    predictor = segmentation.Predictor(model, bf16=False, int8=False)  # for its input batches

    def batches(indices):
        planes = [io.read_image(files[i]).data for i in indices]
        by_shape: dict = {}
        for plane in planes:  # one batch per input shape
            by_shape.setdefault(predictor.input_shape(plane), []).append(plane)
        return [predictor.inputs(group[k:k + args.batch]) for group in by_shape.values()
                for k in range(0, len(group), args.batch)]

    calibration_batches = batches(drawn[:args.calibrate])
    calibration = quantized.calibrate(model, calibration_batches)
    int8_model = quantized.from_calibration(model, calibration, calibration_batches[0])
    agreement = quantized.mask_agreement(model, int8_model,
                                         batches(drawn[args.calibrate:args.calibrate + args.check]))
    command = "python " + shlex.join([str(Path(__file__).relative_to(ROOT))] + (sys.argv[1:] if argv is None else argv))
    calibration.update({"images": args.images, "calibration_images": args.calibrate,
                        "check_images": args.check, "seed": args.seed,
                        "mask_iou_with_float32": round(agreement, 4), "command": command})
    written = args.write and agreement >= MIN_AGREEMENT
    if written:
        card_path = info.folder / registry.CARD
        card = json.loads(card_path.read_text())
        card[quantized.CARD_KEY] = calibration
        card_path.write_text(json.dumps(card, indent=2) + "\n")
    result = {"model": args.model, "mask_iou_with_float32": round(agreement, 4), "written": bool(written),
              "min_agreement": MIN_AGREEMENT}
    if not args.json:
        print(f"{args.model}: 8-bit masks agree with float32 at IoU {agreement:.4f} on {args.check} training "
              f"images not used to calibrate; " + ("written to the card." if written else "card unchanged."))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
