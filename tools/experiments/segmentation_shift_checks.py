"""Three cheap ideas for the nucleus model's gap on real slices, judged on design data only.

Every check runs the shipped nucleus model on the held-out simulated nucleus set (seeds the training
never drew), never on ../shared/data/eval:

* ``aspect``: frames stretched along one axis (the CTC slices are resized with distorted aspect; the
  training frames draw nucleus aspect ratios between 0.75 and 1.25 only). Does the model need a
  wider range?
* ``input_size``: frames enlarged before the network (input side 320 or 384 instead of 256), so
  nuclei cover more pixels. Do boundaries improve?
* ``shrunk``: frames drawn 1-3x larger and shrunk to 256 pixels (``resample_share=1.0``), as slices
  resized down from a larger camera frame are; the Otsu baseline beside it.
* ``adabn``: batch-norm statistics recomputed from each image and its 8 flips and quarter turns
  (test-time adaptation, Li et al. 2016). Is it harmless where the model is in its own domain?

Usage: PYTHONPATH=. python tools/experiments/segmentation_shift_checks.py [--model NAME] [--n 40] [--json]
(another model: put its folder in DEVOCORE_MODEL_DIR and pass its name)
"""
import argparse
import copy
import json

import cv2
import numpy as np

from devocore import segmentation
from devocore.train.segmentation import heldout_set

KEYS = ("iou", "f1", "precision", "recall")


def stretched(image: np.ndarray, labels: np.ndarray, factor: float, axis: int):
    """The central 1/factor of ``axis`` resized back to the full side: nuclei ``factor`` x longer along it."""
    side = image.shape[axis]
    keep = int(round(side / factor))
    cut = slice((side - keep) // 2, (side - keep) // 2 + keep)
    index = (slice(None), cut) if axis == 1 else (cut, slice(None))
    size = image.shape[1], image.shape[0]
    return (cv2.resize(image[index], size, interpolation=cv2.INTER_LINEAR),
            cv2.resize(labels[index].astype(np.uint16), size, interpolation=cv2.INTER_NEAREST))


def adapted_probability(model, image: np.ndarray) -> np.ndarray:
    """Probability map from a copy of ``model`` whose batch norms use this image's own statistics."""
    import torch

    side = int(model.card.get("input_size", 256))
    net = copy.deepcopy(model).float()
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the one batch
            module.train()
    x = segmentation.resize(segmentation.to_input(image), (side, side))
    views = [np.rot90(x, k) for k in range(4)]
    views += [v[:, ::-1] for v in views]
    with torch.no_grad():
        net(torch.from_numpy(np.ascontiguousarray(np.stack(views)))[:, None])
    net.eval()
    with torch.inference_mode():
        prob = torch.sigmoid(net(torch.from_numpy(x)[None, None])).numpy()[0, 0]
    return segmentation.resize(prob, image.shape[:2])


def scores(pairs, predictor=None, method=None) -> dict:
    result = segmentation.evaluate_pairs(pairs, predictor, method=method)
    return {k: round(result[k], 4) for k in KEYS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="held-out simulated images (default 40)")
    parser.add_argument("--model", default="nucleus", help="nucleus model name (default: the shipped one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    model = segmentation.load(args.model)
    predictor = segmentation.Predictor(model)
    pairs = heldout_set("nucleus", args.n)
    shrunk = heldout_set("nucleus", args.n, resample_share=1.0)
    out = {"plain": scores(pairs, predictor), "shrunk": scores(shrunk, predictor),
           "shrunk_otsu": scores(shrunk, method=segmentation.baseline),
           "plain_otsu": scores(pairs, method=segmentation.baseline), "aspect": {}, "input_size": {}}
    for factor, axis in ((1.2, 1), (1.38, 1), (1.38, 0), (1.6, 1)):
        out["aspect"][f"{factor}x along {'x' if axis else 'y'}"] = scores(
            [stretched(im, lab, factor, axis) for im, lab in pairs], predictor)
    for side in (320, 384):
        predictor.input_size = side
        out["input_size"][str(side)] = scores(pairs, predictor)
    predictor.input_size = int(model.card.get("input_size", 256))
    out["adabn"] = scores(pairs, method=lambda im, task, thr: segmentation.postprocess(
        adapted_probability(model, im), im, task, thr))
    for name, value in out.items():
        print(f"{name}: {value}")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
