"""Compare the embryo simulator with real data: division timing, nucleus sizes, intensities.

Reads ../shared/data-style folders (train/epic, train/epic_population_curves.csv,
eval/embryo_timelapse.mov and its populations, eval/ctc_nuclei) for measuring only;
nothing is fitted. Figures are drawn as PNGs with OpenCV.

Example:
    python -m devocore simulate compare --real ../shared/data --figures docs/img --json
"""
from __future__ import annotations

import json
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--real", type=Path, required=True, help="folder holding train/ and eval/")
    parser.add_argument("--embryos", type=int, default=8, help="simulated embryos (default 8)")
    parser.add_argument("--frames", type=int, default=240, help="frames per simulated embryo (default 240)")
    parser.add_argument("--figures", type=Path, default=None, help="write PNG figures here (e.g. docs/img)")
    parser.add_argument("--gallery", action="store_true", help="also draw simulator_gallery.jpg there")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")


def _row(name: str, values: dict, fmt: str = "{:7.1f}") -> str:
    return f"  {name:<22}" + "".join(fmt.format(v) for v in values.values())


def run(args) -> dict:
    from devocore.cli import print_json
    from devocore.simulate import compare

    result = compare.compare(args.real, n_embryos=args.embryos, n_frames=args.frames, figures=args.figures)
    if args.gallery and args.figures:
        result.setdefault("figures", {})["gallery"] = str(compare.gallery(args.figures / "simulator_gallery.jpg"))
    tm = result["timing"]
    lines = ["AB lineage reaches N cells at frame (75 s frames):",
             "  " + " " * 22 + "".join(f"{n:>7}" for n in compare.MILESTONES),
             _row(f"real EPIC ({tm['n_tables']} tables)", tm["epic_tables"]),
             _row(f"simulated ({tm['n_simulated']})", tm["simulated"]),
             _row("relative error %", {k: 100 * v for k, v in tm["relative_error"].items()}, "{:7.1f}"),
             f"  all within 10%: {tm['within_10_percent']}",
             "Shape (t_N - t_4)/(t_128 - t_4):"]
    lines += [_row(k, v, "{:7.2f}") for k, v in tm["shape"].items()]
    sz = result["sizes"]
    lines.append("Nucleus diameter, EPIC pixels, by total cells " + " ".join(sz["epic_size_px"]["real"]))
    lines += [_row(k, v) for k, v in sz["epic_size_px"].items()]
    if "ctc_slice_diameter_px" in sz:
        c = sz["ctc_slice_diameter_px"]
        lines.append("Nucleus diameter in 256-px slices, by nuclei per slice " + " ".join(c["real"]))
        lines += [_row("real CTC", c["real"]), _row("simulated", c["simulated"])]
    for stage, s in result.get("intensity", {}).get("stages", {}).items():
        lines.append(f"Green intensity at ~{stage} cells: real p50/p90/p99 "
                     f"{'/'.join(f'{v:.0f}' for v in s['real_percentiles'])}, sim "
                     f"{'/'.join(f'{v:.0f}' for v in s['sim_percentiles'])}, histogram intersection "
                     f"{s['histogram_intersection']:.2f}")
    if not args.json:
        print("\n".join(lines))
        for name, path in result.get("figures", {}).items():
            print(f"figure {name}: {path}")
    else:
        slim = json.loads(json.dumps(result, default=str))
        for s in slim.get("intensity", {}).get("stages", {}).values():
            s.pop("real_hist"), s.pop("sim_hist")
        print_json(slim)
    return 0
