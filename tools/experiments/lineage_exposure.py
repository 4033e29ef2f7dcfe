"""Lineage on a movie recorded another way: over-exposed, bleaching, binned, noisier, with another display curve.

Each case changes every frame of a movie (RGB, 8-bit) and scores the lineage model by nMAE against the movie's exact
populations, with the notes and warning the result carries: brightness x2, x3 and x6 (clipped at 255: an
over-exposed recording), bleaching that dims the last frame to 0.3 and 0.1 (exponential over the movie), 2x2 and 4x4
binning, added Gaussian noise (sd 10 and 25 grey levels), a gamma of 0.5. Development used the training movie only.

Usage: PYTHONPATH=. python tools/experiments/lineage_exposure.py --video MOVIE --labels POPULATIONS.csv [--json]
"""
import json

import cv2
import numpy as np

from devocore import lineage
from tools.experiments.lineage_movie import movie_parser, movie_with_truth, nmae


def cases(frames: list[np.ndarray]) -> dict:
    """Each case's name and a function of (frame, its position) -> the frame recorded that way."""
    last = max(1, len(frames) - 1)
    rng = np.random.default_rng(0)

    def u8(x):
        return np.clip(x, 0, 255).astype(np.uint8)

    named = {"as it is": lambda f, i: f}
    named.update({f"brightness x{g} (clipped)": (lambda g: lambda f, i: u8(f.astype(np.float32) * g))(g)
                  for g in (2, 3, 6)})
    named.update({f"bleached to {end} at the end": (lambda end: lambda f, i: u8(f * end ** (i / last)))(end)
                  for end in (0.3, 0.1)})
    named.update({f"binned {k}x{k}": (lambda k: lambda f, i: cv2.resize(f, None, fx=1 / k, fy=1 / k,
                                                                      interpolation=cv2.INTER_AREA))(k)
                  for k in (2, 4)})
    named.update({f"noise sd {sd}": (lambda sd: lambda f, i: u8(f + rng.normal(0, sd, f.shape)))(sd) for sd in (10, 25)})
    named["gamma 0.5"] = lambda f, i: u8(255 * (f / 255.0) ** 0.5)
    return named


def main() -> None:
    parser = movie_parser(__doc__)
    args = parser.parse_args()
    frames, truth, net = movie_with_truth(args.video, args.labels)
    rows = []
    for name, change in cases(frames).items():
        result = lineage.predict(np.stack([change(f, i) for i, f in enumerate(frames)]), net)
        said = [note[:70] for note in result.notes] + ([f"warning: {result.unfit[:70]}"] if result.unfit else [])
        rows.append({"case": name, "nmae": round(nmae(result, truth), 4), "said": said})
        print(f"{name:30s} nMAE {rows[-1]['nmae']:.4f}  {' | '.join(said)}", flush=True)
    if args.json:
        print(json.dumps({"video": args.video, "frames": len(frames), "rows": rows}))


if __name__ == "__main__":
    main()
