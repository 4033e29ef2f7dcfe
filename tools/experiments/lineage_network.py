"""Compare lineage networks on TRAINING data only, each with the shipped timeline fit and its own bias.

Both networks are run on the same movies: the real training movie (train/epic_movie, exact populations for
frames 1-135) and every train/epic table that NONE of the networks was trained on, rendered (frame n = time
point n). For each network the bias of the timeline fit is measured leave-one-movie-out on these movies (as in
lineage_clips.py) and the clips of lineage_late.py (whole, early, middle, late-only, every-2nd) are scored with
the shipped fit (devocore.lineage.timeline's defaults). Score: mean of (real whole, real clips, rendered whole,
rendered clips).

Decision rule (issue 25, written before the new network's run): a new network replaces the shipped one only if
its score is lower AND on no clip kind is its mean nMAE worse than the shipped network's by more than 0.03.

The eval movie is never read. Usage:
    PYTHONPATH=. python tools/experiments/lineage_network.py --nets lineage FOLDER [--json]
(a model name or a model folder each; the first is the reference). Several minutes per network on one core.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devocore import lineage, registry  # noqa: E402
from devocore.lineage import LINEAGES, StageCurves, evaluate, to_counts  # noqa: E402
from devocore.lineage import timeline as tl  # noqa: E402

import lineage_choose as lc  # noqa: E402
import lineage_clips as lcl  # noqa: E402
import lineage_late as ll  # noqa: E402


def score(net, skip: set) -> tuple[dict, pd.DataFrame]:
    """(summary figures, per-clip table) of one network with the shipped fit and a leave-one-out bias."""
    plain = lcl.unbiased(net)
    movies = lc.movies(net, skip)
    res = {name: lcl.oracle_residuals(plain, raw, truth) for name, raw, _, truth, _ in movies}
    shipped = (True, tl.PRIOR_STRENGTH, tl.CENSOR_WEIGHT, tl.CENSOR_CAP, tl.START_MARGIN, tl.ABOVE_WEIGHT)
    rows = []
    for name, raw, contrast, truth, _ in movies:
        b = lcl.measure_bias([v for k, v in res.items() if k != name])
        held = StageCurves(plain.curves, plain.prior, (np.array(b["tau"]), np.array(b["log_bias"]), b["censor_from"]))
        for clip, kind in ll.clips_with_kinds(name, len(raw), truth):
            idx = lineage.parse_clip(clip, len(raw))
            scored = truth[truth["frame"].isin(idx + 1)]
            if len(scored) < 5:
                continue
            pred = pd.DataFrame(to_counts(ll.fit(held, raw[idx], lineage.signal_weights(contrast[idx]), shipped)),
                                columns=list(LINEAGES))
            pred.insert(0, "frame", idx + 1)
            rows.append({"movie": name, "clip": clip, "kind": kind, "nmae": evaluate(pred, scored)["nmae"]})
    table = pd.DataFrame(rows)
    real, rendered = table[table.movie == "real"], table[table.movie != "real"]
    figures = {"real whole": real[real.kind == "whole"].nmae.mean(),
               "real clips": real[real.kind != "whole"].nmae.mean(),
               "rendered whole": rendered[rendered.kind == "whole"].nmae.mean(),
               "rendered clips": rendered[rendered.kind != "whole"].nmae.mean()}
    figures["score"] = float(np.mean(list(figures.values())))
    figures.update({f"kind {k}": v for k, v in table.groupby("kind").nmae.mean().items()})
    total = np.expm1(lineage.log_total_count(movies[0][1]))
    figures["real late estimates (frames 136-254: median, last 20)"] = [float(np.median(total[135:])),
                                                                         float(np.median(total[-20:]))]
    return figures, table


def main() -> None:
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--nets", nargs="+", default=["lineage"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    nets = {name: registry.load_name_or_folder(name) for name in args.nets}
    skip = set().union(*(lc.trained_on(n) for n in nets.values()))
    results, tables = {}, {}
    for name, net in nets.items():
        results[name], tables[name] = score(net, skip)
    summary = pd.DataFrame(results).T
    ref = summary.iloc[0]
    kinds = [c for c in summary.columns if c.startswith("kind ")]
    summary["passes"] = [bool(summary.loc[k, "score"] < ref["score"] and
                              ((summary.loc[k, kinds] - ref[kinds]).astype(float) <= 0.03).all())
                         for k in summary.index]
    summary.iloc[0, summary.columns.get_loc("passes")] = False
    pd.set_option("display.width", 300)
    pd.set_option("display.max_columns", 30)
    print(pd.concat({k: t[t.movie == "real"].set_index("clip")["nmae"] for k, t in tables.items()}, axis=1).round(3))
    print(summary.to_string())
    print("held-out tables:", len(tables[args.nets[0]].movie.unique()) - 1, "rendered + the real movie")
    if args.json:
        print(json.dumps({"summary": summary.reset_index().rename(columns={"index": "net"}).to_dict("records"),
                          "held_out": sorted(set(tables[args.nets[0]].movie) - {"real"})}, default=float))


if __name__ == "__main__":
    main()
