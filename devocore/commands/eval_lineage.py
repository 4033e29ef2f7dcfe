"""Measure lineage populations against an annotation (nMAE per lineage) beside the frame-index baseline.

Sources: a real video with its annotation CSV (--video, --labels), an EPIC cell
table rendered as a time-lapse (--epic; a held-out simulated movie with known
populations), or an embryo from the simulator (--simulate SEED).

``--frames A:B[:S]`` measures a clip (frames A..B, 1-based inclusive, every
S-th) as if it were the whole movie: the method sees only those frames; the
predictions keep the movie's frame numbers so they meet the annotation, and
frames without an annotation are not scored. The baseline is the median exact
curve read at the clip's own frame index (1, 2, ...), which is all an image-blind
method knows of a clip.
"""
from __future__ import annotations

from pathlib import Path

from devocore import config

BASELINE = "image-blind: the median real curve at the frame index"


def add_arguments(parser) -> None:
    from devocore.lineage import METHODS, LineageConfig

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--video", help="time-lapse to measure (needs --labels)")
    source.add_argument("--epic", help="EPIC cell table rendered as a held-out simulated time-lapse")
    source.add_argument("--simulate", type=int, metavar="SEED", help="a simulated embryo (devocore.simulate.embryo)")
    parser.add_argument("--labels", help="annotation CSV: frame, A, E, M, P, C, D, Z (frame 1 = first frame; a "
                                         "folder of frames numbered by its file names uses those numbers)")
    parser.add_argument("--curves", default=None,
                        help="real training curves for the baseline (embryo, frame, A..Z); default: the developers' "
                             "train/epic_population_curves.csv when it is there, else the baseline is left out")
    parser.add_argument("--model", default="lineage")
    parser.add_argument("--method", choices=METHODS, default=LineageConfig().method,
                        help=f"default: {LineageConfig().method} (the method chosen on training data)")
    parser.add_argument("--frames", default=None, metavar="A:B[:S]",
                        help="measure only frames A..B (1-based positions, inclusive; in a numbered folder of "
                             "frames, the A-th to the B-th file), every S-th, as if they were the movie")
    parser.add_argument("--monotone", action="store_true")
    parser.add_argument("--smooth", type=int, default=1)
    parser.add_argument("--render-seed", type=int, default=7, help="appearance seed for --epic/--simulate movies")
    parser.add_argument("--n-frames", type=int, default=240, help="frames of the --simulate movie (75 s apart)")
    parser.add_argument("--plot", default=None,
                        help="also write a PNG of predicted against annotated curves to this path (default: none; "
                             "an eval writes files only where it is told)")
    parser.add_argument("--no-plot", action="store_true", help="no plot (the default; kept for old scripts)")
    parser.add_argument("--update-card", action="store_true",
                        help="record the figures in the model's card.json (metrics.eval_<source>)")


NO_CURVES = "--curves FILE with columns embryo, frame, A, E, M, P, C, D, Z"


def _baseline_curves(path: str | None):
    """The curves the baseline is read from: ``path``, or the developers' training curves when they are there;
    None when no path is given and those are not (the figures are then given without the baseline)."""
    from devocore.train.lineage import read_population_curves

    if path is None:
        default = config.datasets_dir() / "train" / "epic_population_curves.csv"
        if not default.is_file():
            return None
        path = str(default)
    return read_population_curves(path)


def _figure(value: float, width: int, digits: int) -> str:
    """A table cell: the value, or a dash where there is none (the baseline without its curves)."""
    import math

    return f"{value:>{width}.{digits}f}" if math.isfinite(value) else f"{'-':>{width}}"


def _movie(args):
    """(frames, truth table, name) for --epic / --simulate."""
    from devocore.io import read_epic
    from devocore.simulate import epic_movie as em

    if args.epic:
        shots = em.epic_snapshots(read_epic(args.epic))
        return em.render_movie(shots, seed=args.render_seed), em.movie_truth(shots), Path(args.epic).stem
    try:
        frames, truth = em.simulated_movie(args.simulate, n_frames=args.n_frames, render_seed=args.render_seed)
    except ImportError as exc:
        from devocore.errors import DevocoreError
        raise DevocoreError("The embryo simulator (devocore.simulate.embryo) is not installed.") from exc
    return frames, truth, f"simulated_{args.simulate}"


def run(args) -> dict:
    import sys

    import numpy as np
    import torch

    from devocore import registry
    from devocore.errors import DevocoreError
    from devocore.lineage import (LINEAGES, LineageConfig, baseline_curve, evaluate, frame_steps, judged, numbered,
                                  parse_clip, predict_frames, projection_note, read_populations, select_frames)
    from devocore.progress import terminal

    torch.set_num_threads(2)
    cfg = LineageConfig(model=args.model, method=args.method, monotone=args.monotone, smooth=args.smooth)
    net = registry.load_model(cfg.model, "cpu")
    curves = _baseline_curves(args.curves)  # read before the model runs: a missing file fails at once
    if curves is None and args.update_card:
        raise DevocoreError("--update-card records the figures beside the baseline's, which needs real population "
                            f"curves: give {NO_CURVES}.")
    if args.video:
        from devocore.io import open_frames

        if not args.labels:
            raise DevocoreError("--video needs --labels (the annotation CSV).")
        truth = read_populations(args.labels, Path(args.labels).name)
        with open_frames(args.video, time_lapse=True, project=True) as stream:
            cfg, notes = judged(stream, cfg)  # the nuclei's channel; the largest of several embryos, laid along x
            for said in (projection_note(stream), *notes):
                if said:
                    print(f"note: {said}", file=sys.stderr)
            n_movie = stream.frame_count
            index = parse_clip(args.frames, n_movie) if args.frames else np.arange(n_movie)
            named = numbered(stream)  # a folder whose file names number its frames keeps those numbers
            numbers = None if named is None else [named[i] for i in index if i < len(named)]
            result = predict_frames(select_frames(stream, index), net, cfg, len(index), terminal("lineage"),
                                    numbers)
        name = Path(args.video).stem
    else:
        frames, truth, name = _movie(args)
        index = parse_clip(args.frames, len(frames)) if args.frames else np.arange(len(frames))
        numbers = None
        cfg = judged(frames, cfg)[0]
        result = predict_frames([frames[i] for i in index], net, cfg, len(index), terminal("lineage"))
    index = index[:len(result.table)]  # a video may announce more frames than it holds
    pred = result.table.copy()
    truth_all = truth
    if numbers is None:
        pred["frame"] = index + 1  # the movie's frame numbers, so they meet the annotation
    truth = truth[truth["frame"].isin(pred["frame"])]
    if truth.empty:
        span = f"numbered {pred['frame'].iloc[0]}-{pred['frame'].iloc[-1]}"
        raise DevocoreError(f"No annotated frame among the frames measured ({span}; the annotation has frames "
                            f"{int(truth_all['frame'].min())}-{int(truth_all['frame'].max())}).")
    scores = evaluate(pred, truth)
    # the image-blind baseline knows only each frame's place in what it is shown: 1, 2, ... (numbered files:
    # their numbers from 1, gaps kept)
    if curves is None:
        nan = float("nan")
        base = {"nmae": nan, "mae": dict.fromkeys(LINEAGES, nan), "nmae_per": dict.fromkeys(LINEAGES, nan)}
    else:
        base_pred = baseline_curve(curves, frame_steps(len(pred), numbers).astype(int).tolist())
        base_pred["frame"] = pred["frame"].to_numpy()
        base = evaluate(base_pred, truth)
    clip = f" (frames {args.frames})" if args.frames else ""
    print(f"{name}{clip}: {scores['frames']} frames compared, method {cfg.method}")
    print(f"{'lineage':<8}{'max':>6}{'MAE':>9}{'nMAE':>8}{'base MAE':>10}{'base nMAE':>11}")
    below = {}
    for k in LINEAGES:
        print(f"{k:<8}{scores['max_count'][k]:>6.0f}{scores['mae'][k]:>9.2f}{_figure(scores['nmae_per'][k], 8, 3)}"
              f"{_figure(base['mae'][k], 10, 2)}{_figure(base['nmae_per'][k], 11, 3)}")
        if np.isfinite(scores["nmae_per"][k]) and curves is not None:
            below[k] = bool(scores["nmae_per"][k] < base["nmae_per"][k])
    print(f"{'mean':<8}{'':>6}{'':>9}{scores['nmae']:>8.3f}{'':>10}{_figure(base['nmae'], 11, 3)}")
    if curves is None:
        print(f"baseline not measured: it needs real population curves ({NO_CURVES})")
    scored = pred[pred["frame"].isin(truth["frame"])]
    figures = {"source": name, "clip": args.frames, "frames": scores["frames"], "frames_seen": int(len(pred)),
               "method": cfg.method, "nmae": scores["nmae"], "baseline": BASELINE, "baseline_nmae": base["nmae"],
               "mae": scores["mae"], "nmae_per": scores["nmae_per"], "baseline_mae": base["mae"],
               "baseline_nmae_per": base["nmae_per"], "below_baseline": below,
               "all_below_baseline": all(below.values()) if curves is not None else None,
               "timeline": result.timeline,
               "stage_tp_band_median_width": float((scored["stage_tp_hi"] - scored["stage_tp_lo"]).median())}
    if args.plot and not args.no_plot:
        path = Path(args.plot)
        from devocore.lineage import plot_png

        baseline = f" (baseline {base['nmae']:.3f})" if curves is not None else ""
        plot_png(pred, truth, path, title=f"{name}{clip}: nMAE {scores['nmae']:.3f}{baseline}")
        print(f"plot: {path}")
        figures["plot"] = str(path)
    if args.update_card:
        _record(args.model, name + (f"_frames_{args.frames}" if args.frames else ""), figures)
    return figures


def _record(model: str, source: str, figures: dict) -> None:
    """Write the headline figures into the model's card (the weights and their checksum are untouched)."""
    import json
    import sys

    from devocore import registry

    info = registry.find_model(model)
    card = dict(info.card)
    keep = ("frames", "method", "nmae", "baseline_nmae", "nmae_per", "baseline_nmae_per", "all_below_baseline", "clip")
    card.setdefault("metrics", {})[f"eval_{source}"] = {
        "data": f"{figures['source']}{', frames ' + figures['clip'] if figures.get('clip') else ''} "
                f"({figures['frames']} annotated frames scored)", "baseline": BASELINE,
        **{k: figures[k] for k in keep}, "command": "python -m devocore " + " ".join(sys.argv[1:])}
    (info.folder / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"recorded in {info.folder / 'card.json'}")
