"""Lineage on a movie whose embryo lies at another angle: as it came, and turned back (the default).

The network learnt from frames whose embryo lies left to right (within a spread of 12 degrees). Another microscope
or mounting may show it upright or diagonal. This lays each frame of a movie on a larger field of its own background
and turns it by each of ``--angles`` degrees (nothing of the embryo is cut), then scores the lineage model by nMAE
against the movie's exact populations twice: with the frames counted as they are (``--turn 0``) and with the turn
found from the movie (:func:`devocore.lineage.movie_angle`), and prints the turn that was found. Development used the
training movie only; the evaluation movie was measured once afterwards.

Usage: PYTHONPATH=. python tools/experiments/lineage_orientation.py --video MOVIE --labels POPULATIONS.csv
           [--angles 0,20,45,90,135] [--json]
"""
import json

import numpy as np

from devocore import lineage
from devocore.lineage import LineageConfig
from tools.experiments.lineage_movie import movie_parser, movie_with_truth, nmae


def tilted(frame: np.ndarray, angle: float) -> np.ndarray:
    """``frame`` (Y x X x 3 uint8) turned by ``angle`` degrees on a field of its background large enough to hold it."""
    if not angle:
        return frame
    return np.stack([np.clip(lineage.turn(frame[..., c], angle), 0, 255).astype(np.uint8)
                     for c in range(frame.shape[-1])], axis=-1)


def score(frames: np.ndarray, truth, net, turn: float | None) -> tuple[float, float]:
    """(nMAE, the turn applied) of the lineage model on ``frames``; ``turn`` None: found from the movie."""
    config = lineage.with_placement(list(frames), LineageConfig(angle=turn, embryos="all"))[0]
    return nmae(lineage.predict(frames, net, config), truth), float(config.angle)


def main() -> None:
    parser = movie_parser(__doc__)
    parser.add_argument("--angles", default="0,10,20,30,45,60,90,135",
                        help="degrees the embryo is turned by (anticlockwise as shown), comma-separated")
    args = parser.parse_args()
    frames, truth, net = movie_with_truth(args.video, args.labels)
    rows = []
    for angle in (float(a) for a in args.angles.split(",")):
        moved = np.stack([tilted(f, angle) for f in frames])
        as_is, _ = score(moved, truth, net, 0.0)
        turned, turn = score(moved, truth, net, None)
        rows.append({"angle": angle, "nmae_as_is": round(as_is, 4), "nmae_turned": round(turned, 4),
                     "turn_found": round(turn, 1)})
        print(f"embryo turned by {angle:5.0f} deg: nMAE {as_is:.4f} as it is, {turned:.4f} turned back by "
              f"{turn:.0f} deg", flush=True)
    if args.json:
        print(json.dumps({"video": args.video, "frames": len(frames), "rows": rows}))


if __name__ == "__main__":
    main()
