"""Measure lineage populations against an annotation (nMAE per lineage) beside the frame-index baseline.

Sources: a real video with its annotation CSV (--video, --labels), an EPIC cell
table rendered as a time-lapse (--epic; a held-out simulated movie with known
populations), or an embryo from the simulator (--simulate SEED).
"""
from __future__ import annotations

from pathlib import Path

DEFAULT_CURVES = "../shared/data/train/epic_population_curves.csv"


BASELINE = "image-blind: the median real curve at the frame index"


def add_arguments(parser) -> None:
    from devocore.lineage import METHODS

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--video", help="time-lapse to measure (needs --labels)")
    source.add_argument("--epic", help="EPIC cell table rendered as a held-out simulated time-lapse")
    source.add_argument("--simulate", type=int, metavar="SEED", help="a simulated embryo (devocore.simulate.embryo)")
    parser.add_argument("--labels", help="annotation CSV: frame, A, E, M, P, C, D, Z (frame 1 = first frame)")
    parser.add_argument("--curves", default=DEFAULT_CURVES,
                        help="real training curves for the baseline (embryo, frame, A..Z)")
    parser.add_argument("--model", default="lineage")
    parser.add_argument("--method", choices=METHODS, default=None,
                        help="default: 'tracing' for --video (annotations made from an EPIC lineage tracing spread "
                             "over the movie), 'timeline' for --epic/--simulate (truth = what each frame shows)")
    parser.add_argument("--monotone", action="store_true")
    parser.add_argument("--smooth", type=int, default=1)
    parser.add_argument("--render-seed", type=int, default=7, help="appearance seed for --epic/--simulate movies")
    parser.add_argument("--n-frames", type=int, default=240, help="frames of the --simulate movie (75 s apart)")
    parser.add_argument("--plot", default=None,
                        help="PNG of predicted against annotated curves (default docs/img/lineage_<source>.png)")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--update-card", action="store_true",
                        help="record the figures in the model's card.json (metrics.eval_<source>)")


def _movie(args):
    """(frames, truth table, name) for --epic / --simulate."""
    from devocore.io import read_epic
    from devocore.train import lineage as tl

    if args.epic:
        shots = tl.epic_snapshots(read_epic(args.epic))
        return tl.render_movie(shots, seed=args.render_seed), tl.movie_truth(shots), Path(args.epic).stem
    try:
        frames, truth = tl.simulated_movie(args.simulate, n_frames=args.n_frames, render_seed=args.render_seed)
    except ImportError as exc:
        from devocore.errors import DevocoreError
        raise DevocoreError("The embryo simulator (devocore.simulate.embryo) is not installed.") from exc
    return frames, truth, f"simulated_{args.simulate}"


def run(args) -> dict:
    import torch

    from devocore import registry
    from devocore.errors import DevocoreError
    from devocore.lineage import (LINEAGES, LineageConfig, baseline_curve, evaluate, length_baseline_curve, predict,
                                  read_populations)
    from devocore.progress import terminal
    from devocore.train.lineage import read_population_curves

    torch.set_num_threads(2)
    method = args.method or ("tracing" if args.video else "timeline")
    cfg = LineageConfig(model=args.model, method=method, monotone=args.monotone, smooth=args.smooth)
    net = registry.load_model(cfg.model, "cpu")
    if args.video:
        if not args.labels:
            raise DevocoreError("--video needs --labels (the annotation CSV).")
        truth = read_populations(args.labels, Path(args.labels).name)
        result = predict(args.video, net, cfg, terminal("lineage"))
        name = Path(args.video).stem
    else:
        import numpy as np

        frames, truth, name = _movie(args)
        result = predict(np.stack(frames), net, cfg, terminal("lineage"))
    pred = result.table
    scores = evaluate(pred, truth)
    curves = read_population_curves(args.curves)
    base = evaluate(baseline_curve(curves, truth["frame"].tolist()), truth)
    by_length = evaluate(length_baseline_curve(curves, truth["frame"].tolist(), len(pred)), truth)
    print(f"{name}: {scores['frames']} frames compared, method {cfg.method}")
    print(f"{'lineage':<8}{'max':>6}{'MAE':>9}{'nMAE':>8}{'base MAE':>10}{'base nMAE':>11}")
    below = {}
    for k in LINEAGES:
        print(f"{k:<8}{scores['max_count'][k]:>6.0f}{scores['mae'][k]:>9.2f}{scores['nmae_per'][k]:>8.3f}"
              f"{base['mae'][k]:>10.2f}{base['nmae_per'][k]:>11.3f}")
        if scores["max_count"][k] > 2:
            below[k] = scores["nmae_per"][k] < base["nmae_per"][k]
    print(f"{'mean':<8}{'':>6}{'':>9}{scores['nmae']:>8.3f}{'':>10}{base['nmae']:>11.3f}")
    print(f"image-blind, median curve at the same fraction of the movie: nMAE {by_length['nmae']:.3f}")
    figures = {"source": name, "frames": scores["frames"], "method": cfg.method, "nmae": scores["nmae"],
               "baseline_nmae": base["nmae"], "mae": scores["mae"], "nmae_per": scores["nmae_per"],
               "baseline_mae": base["mae"], "baseline_nmae_per": base["nmae_per"],
               "length_baseline_nmae": by_length["nmae"], "length_baseline_nmae_per": by_length["nmae_per"],
               "below_baseline": below, "all_below_baseline": all(below.values()),
               "timeline": result.timeline}
    if not args.no_plot:
        path = Path(args.plot or f"docs/img/lineage_{name}.png")
        from devocore.lineage import plot_png

        plot_png(pred, truth, path, title=f"{name}: nMAE {scores['nmae']:.3f} (baseline {base['nmae']:.3f})")
        print(f"plot: {path}")
        figures["plot"] = str(path)
    if args.update_card:
        _record(args.model, name, figures)
    return figures


def _record(model: str, source: str, figures: dict) -> None:
    """Write the headline figures into the model's card (the weights and their checksum are untouched)."""
    import json
    import sys

    from devocore import registry

    info = registry.find_model(model)
    card = dict(info.card)
    keep = ("frames", "method", "nmae", "baseline_nmae", "nmae_per", "baseline_nmae_per", "all_below_baseline")
    card.setdefault("metrics", {})[f"eval_{source}"] = {
        "data": f"{source} ({figures['frames']} frames)", "baseline": BASELINE,
        **{k: figures[k] for k in keep}, "command": "python -m devocore " + " ".join(sys.argv[1:])}
    (info.folder / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"recorded in {info.folder / 'card.json'}")
