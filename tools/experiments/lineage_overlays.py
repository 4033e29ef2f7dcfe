"""Lineage on a movie with annotations burned into its frames: a time stamp and a scale bar, in white.

Microscope software and Fiji (Image > Stacks > Time Stamper, Analyze > Tools > Scale Bar) burn such annotations into
the frames of an exported movie. This scores the lineage model on a movie as it is and with a white time stamp
(top left, "MMM:SS min") and a white scale bar (bottom right) drawn into every frame, by nMAE against the
movie's exact populations, and says whether the result names the marks (a note). Development used the training
movie only; the evaluation movie was measured once afterwards.

Usage: PYTHONPATH=. python tools/experiments/lineage_overlays.py --video MOVIE --labels POPULATIONS.csv [--json]
"""
import json

import cv2
import numpy as np

from devocore import lineage
from tools.experiments.lineage_movie import movie_parser, movie_with_truth, nmae as movie_nmae


def stamp(frame: np.ndarray, index: int) -> np.ndarray:
    """``frame`` (H x W x 3) with a white time stamp and a white scale bar drawn in, as Fiji burns them in."""
    out = np.ascontiguousarray(frame).copy()
    height, width = out.shape[:2]
    cv2.putText(out, f"{index:03d}:00 min", (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 3)
    cv2.rectangle(out, (width - 120, height - 30), (width - 20, height - 24), (255, 255, 255), -1)
    return out


def nmae(frames: list[np.ndarray], truth, net) -> tuple[float, bool]:
    """nMAE of the lineage model on ``frames``, and whether its result names burned-in marks."""
    result = lineage.predict(np.stack(frames), net)
    named = any("white or grey marks" in note for note in result.notes)
    return movie_nmae(result, truth), named


def main() -> None:
    parser = movie_parser(__doc__)
    args = parser.parse_args()
    frames, truth, net = movie_with_truth(args.video, args.labels)
    plain, plain_named = nmae(frames, truth, net)
    stamped, stamped_named = nmae([stamp(f, i) for i, f in enumerate(frames)], truth, net)
    figures = {"video": args.video, "frames": len(frames), "nmae_plain": plain, "nmae_stamped": stamped,
               "marks_named_plain": plain_named, "marks_named_stamped": stamped_named}
    print(f"{args.video}: nMAE {plain:.4f} as it is ({'marks named' if plain_named else 'no note'}), {stamped:.4f} "
          f"with a time stamp and a scale bar burned in ({'marks named' if stamped_named else 'no note'})")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
