"""Measure a segmentation model (pixel IoU, Dice, instance F1@0.5) beside a classical baseline.

Without --images it measures on a held-out simulated set the training never saw.
With --images/--masks it measures on your labelled images (files paired by
sorted order, or by the same name): for nucleus, mask > --mask-threshold is
nucleus; for membrane, it is the cells. With --instance-masks each mask holds
one id per cell (0 = outside): predicted cells are matched to labelled cells
(ids of at least --min-cell px) and ``iou`` is that of the embryo foreground.
A 16-bit mask with many ids is read as instance labels even without the flag;
an 8-bit mask with many grey levels needs --mask-threshold or --instance-masks.

Example:
    python -m devocore eval segmentation --task nucleus --images ctc/images --masks ctc/masks --json
    python -m devocore eval segmentation --task membrane --images mem/images --masks mem/labels --instance-masks
"""
from __future__ import annotations

import json
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--task", choices=["nucleus", "membrane"], default="nucleus", help="what to segment")
    parser.add_argument("--model", default=None, help="model name (default: the task's shipped model)")
    parser.add_argument("--images", default=None, help="folder of images (default: held-out simulated set)")
    parser.add_argument("--masks", default=None, help="folder of masks paired with --images")
    parser.add_argument("--mask-threshold", type=float, default=0.0,
                        help="mask pixels above this are foreground (default 0; use 8 for JPEG-damaged masks)")
    parser.add_argument("--instance-masks", action="store_true",
                        help="masks hold one id per cell (0 = outside); cells are matched to cells")
    parser.add_argument("--min-cell", type=int, default=30,
                        help="with instance masks, labelled ids smaller than this many pixels are not cells (30)")
    parser.add_argument("--threshold", type=float, default=0.5, help="model probability threshold (default 0.5)")
    parser.add_argument("--n", type=int, default=40, help="images in the simulated set (default 40)")
    parser.add_argument("--record", action="store_true",
                        help="also write the figures into the model's card.json under metrics")


def _pairs(images: Path, masks: Path):
    from devocore.errors import DevocoreError
    from devocore.io import IMAGE_SUFFIXES, natural_key

    for folder in (images, masks):
        if not folder.is_dir():
            raise DevocoreError(f"'{folder}' is not a folder.")
    image_files = sorted((p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=natural_key)
    mask_files = sorted((p for p in masks.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=natural_key)
    if not image_files:
        raise DevocoreError(f"'{images}' holds no PNG, JPEG or TIFF images.")
    if len(image_files) != len(mask_files):
        raise DevocoreError(f"'{images}' has {len(image_files)} images but '{masks}' has {len(mask_files)} masks; "
                            "they must pair one to one.")
    return list(zip(image_files, mask_files))


def run(args) -> dict:
    import numpy as np

    from devocore import io, segmentation
    from devocore.commands._options import require_at_least, require_between
    from devocore.errors import DevocoreError
    from devocore.segmentation import baseline, evaluate_pairs
    from devocore.train.pairs import not_an_image

    require_between(args, 0, 1, "threshold", closed=False)
    if not np.isfinite(args.mask_threshold):
        raise DevocoreError(f"--mask-threshold must be a number, got {args.mask_threshold}.")
    require_at_least(args, n=1, min_cell=0)
    name = args.model or args.task
    model = segmentation.load(name)
    instance = False
    if args.images:
        if not args.masks:
            raise DevocoreError("--images needs --masks (a folder of masks paired with the images).")
        pairs, instance = [], args.instance_masks
        for image_file, mask_file in _pairs(Path(args.images), Path(args.masks)):
            image, mask = io.read_image(image_file).data, io.to_gray(io.read_image(mask_file).data)
            if problem := not_an_image(image, mask, image_file.name, mask_file.name):
                raise DevocoreError(problem)
            kind = mask_kind(mask, args.mask_threshold, instance)
            if kind == "instance" and not instance:
                print(f"note: {mask_file.name} holds {len(np.unique(mask)) - 1} cell ids in 16 bits: "
                      "reading the masks as instance labels (--instance-masks)")
                instance = True
            truth = cell_labels(mask, args.min_cell) if instance else mask > args.mask_threshold
            pairs.append((image, truth))
        source = f"{args.images} ({len(pairs)} images)"
    else:
        from devocore.train.segmentation import heldout_set, truth_mask

        pairs = [(image, truth_mask(args.task, labels)) for image, labels in heldout_set(args.task, args.n)]
        source = f"held-out simulated {args.task} set ({len(pairs)} images)"
    figures = evaluate_pairs(pairs, segmentation.Predictor(model), args.task, args.threshold)
    base = evaluate_pairs(pairs, None, args.task, args.threshold, method=baseline)
    result = {"task": args.task, "model": name, "data": source, **figures,
              "baseline": "otsu after gaussian blur + watershed" if args.task == "nucleus"
              else "adaptive threshold + enclosed regions",
              "baseline_iou": base["iou"], "baseline_dice": base["dice"], "baseline_f1": base["f1"],
              "baseline_f1_per_image": base["f1_per_image"]}
    print(f"{source}: model IoU {result['iou']:.3f}  Dice {result['dice']:.3f}  F1@0.5 {result['f1']:.3f}  |  "
          f"baseline IoU {result['baseline_iou']:.3f}  Dice {result['baseline_dice']:.3f}  "
          f"F1@0.5 {result['baseline_f1']:.3f}")
    if args.record:
        from devocore import registry

        info = registry.find_model(name)
        card = json.loads((info.folder / registry.CARD).read_text())
        key = "real" if args.images else "simulated"
        record = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()}
        if args.images:  # the folder's own name, not a path from this machine
            folder = Path(args.images).resolve()
            record["data"] = f"{folder.parent.name}/{folder.name} ({len(pairs)} real images)"
        record["command"] = "python -m devocore " + " ".join(
            ["eval", "segmentation", "--task", args.task, "--model", name]
            + (["--images", args.images, "--masks", args.masks] if args.images else [])
            + (["--mask-threshold", f"{args.mask_threshold:g}"] if args.mask_threshold else [])
            + (["--instance-masks"] if args.images and instance else []))
        card.setdefault("metrics", {})[f"eval_{key}"] = record
        (info.folder / registry.CARD).write_text(json.dumps(card, indent=2) + "\n")
    return {k: (round(v, 4) if isinstance(v, (float, np.floating)) else v) for k, v in result.items()}


def mask_kind(mask, threshold: float, instance: bool) -> str:
    """"instance" or "binary"; an 8-bit mask of many grey levels without a threshold is refused.

    Example:
        >>> import numpy as np
        >>> mask_kind(np.array([[0, 300], [301, 302]], np.uint16), 0, False)
        'instance'
        >>> mask_kind(np.array([[0, 255]], np.uint8), 0, False)
        'binary'
    """
    import numpy as np

    from devocore.errors import DevocoreError

    if instance:
        return "instance"
    values = np.unique(mask)
    if len(values) <= 2:
        return "binary"
    if mask.dtype.itemsize > 1:
        return "instance"
    if threshold <= 0:
        raise DevocoreError(f"A mask holds {len(values)} different values, so it is not a plain black/white "
                            "mask. If each value is one cell, add --instance-masks; if it is a damaged binary "
                            "mask (JPEG), give --mask-threshold (e.g. 127).")
    return "binary"


def cell_labels(mask, min_cell: int = 30):
    """Instance labels with ids under ``min_cell`` pixels set to 0 (not cells), as int32.

    Example:
        >>> import numpy as np
        >>> lab = np.zeros((10, 10), np.uint16); lab[:6, :6] = 7; lab[9, 9] = 3
        >>> np.unique(cell_labels(lab)).tolist()
        [0, 7]
    """
    import numpy as np

    from devocore.segmentation import remove_small

    return remove_small(mask.astype(np.int32), min_cell)
