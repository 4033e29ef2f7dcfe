"""Cut training tiles from a large multi-channel image: one centred on each cell, plus cell-free negatives.

Reads a PNG or TIFF (C x Y x X or Y x X x C; ImageJ/OME axes honoured), finds the cells from --masks (instance
labels, or a black-and-white mask split into connected regions) or, without --masks, with a segmentation
model (--model, default nucleus, on --model-channel). Writes into --out: images/ (one C x size x size ImageJ
TIFF per tile, all channels), masks/ (the tile's cells, uint16, numbered from 1), and index.csv (file,
source, y, x of the tile's top-left corner, centre_y, centre_x, cell_id, negative). Negative tiles hold no
cell pixel; --negatives is their number as a share of the cell tiles (0.3: 3 per 10 cells).

Examples:
    python -m devocore subimages micrograph.tif --masks cells.tif --size 128 --negatives 0.3 --out tiles/
    python -m devocore subimages micrograph.tif --size 96 --model nucleus --model-channel 0 --out tiles/
"""
from __future__ import annotations

from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("image", help="the large image (PNG or TIFF, any number of channels)")
    parser.add_argument("--masks", default=None, help="its cell mask (instance labels or black and white)")
    parser.add_argument("--size", type=int, default=128, help="tile side in pixels (default 128)")
    parser.add_argument("--negatives", type=float, default=0.3,
                        help="cell-free tiles as a share of the cell tiles (default 0.3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the negative tiles' positions (default 0)")
    parser.add_argument("--model", default="nucleus", help="without --masks: the model that finds the cells")
    parser.add_argument("--model-channel", type=int, default=0,
                        help="without --masks: the channel (from 0) the model sees (default 0)")
    parser.add_argument("--out", required=True, help="folder for images/, masks/ and index.csv")
    parser.add_argument("--json", action="store_true", help="print a summary as one JSON object on the last line")


def run(args) -> dict:
    from devocore import subimages

    image = subimages.read_channels(args.image)
    if args.masks:
        labels = subimages.read_labels(args.masks)
        found = f"mask '{Path(args.masks).name}'"
    else:
        labels = subimages.cells_from_model(image, args.model, args.model_channel)
        found = f"model '{args.model}' on channel {args.model_channel}"
    tiles = subimages.cut(image, labels, args.size, args.negatives, args.seed)
    index = subimages.write(tiles, args.out, Path(args.image).name)
    cells = int((~index["negative"]).sum())
    negatives = int(index["negative"].sum())
    print(f"'{Path(args.image).name}' ({image.shape[0]} channel(s), {image.shape[2]} x {image.shape[1]} px): "
          f"{cells} cell tiles from the {found} and {negatives} cell-free tiles of {args.size} px "
          f"written to {args.out}")
    return {"channels": int(image.shape[0]), "cells": cells, "negatives": negatives, "size": args.size,
            "out": str(args.out)}
