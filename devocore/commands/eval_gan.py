"""Measure the GAN: FID and KID against held-out simulated frames, beside two references.

References: a trivial generator (the mean image plus noise) and two halves of the real
held-out frames (the floor a perfect generator would reach). Distances are computed in the
feature space of our lineage model's encoder (penultimate layer), never Inception weights.

Example:
    python -m devocore eval gan --json
"""
from __future__ import annotations

from pathlib import Path

from devocore.commands.train_gan import DEFAULT_CACHE


def add_arguments(parser) -> None:
    parser.add_argument("--model", default="gan", help="generator model name")
    parser.add_argument("--n", type=int, default=512, help="held-out real frames (half of them per comparison)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated samples and the split")
    parser.add_argument("--truncation", type=float, default=1.0)
    parser.add_argument("--cache", default=DEFAULT_CACHE, help="folder caching rendered frames")
    parser.add_argument("--grid", help="also write a PNG grid of 16 samples here")
    parser.add_argument("--gif", help="also write an interpolation (seed 0 to seed 1) GIF here")
    parser.add_argument("--real-grid", help="also write a PNG grid of 16 held-out real frames here")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")


def run(args) -> dict:
    import torch

    from devocore import gan, registry
    from devocore.progress import terminal
    from devocore.simulate.embryo_frames import render_embryo_frames
    from devocore.train.gan import HELD_OUT_FIRST_SEED

    torch.set_num_threads(args.threads)
    generator = registry.load_model(args.model)
    size = generator.card.get("input_size", generator.size)
    real = render_embryo_frames(args.n, size, HELD_OUT_FIRST_SEED, cache_dir=args.cache,
                                progress=terminal("rendering held-out frames"))
    encoder = gan.default_encoder()
    encoder_text = encoder.description
    result = gan.evaluate(generator, real, encoder, seed=args.seed,
                          truncation=args.truncation, progress=terminal("features"))
    figures = dict(result.as_dict(), model=args.model, encoder=encoder_text,
                   held_out=f"{len(real)} simulated frames, embryo seeds from {HELD_OUT_FIRST_SEED}")
    figures["fid_ratio_to_trivial"] = round(result.fid / result.trivial_fid, 4) if result.trivial_fid else None
    if args.grid:
        picture = gan.grid(gan.tint(gan.sample(generator, 16, seed=args.seed, truncation=args.truncation),
                                    generator.card.get("tint", "green")), columns=8)
        Path(args.grid).parent.mkdir(parents=True, exist_ok=True)
        Path(args.grid).write_bytes(gan.png_bytes(picture))
    if args.gif:
        frames = gan.interpolate(generator, 0, 1, steps=16, truncation=args.truncation)
        Path(args.gif).parent.mkdir(parents=True, exist_ok=True)
        Path(args.gif).write_bytes(gan.gif_bytes(gan.tint(frames, generator.card.get("tint", "green"))))
    if args.real_grid:
        picture = gan.grid(gan.tint(real[:16], generator.card.get("tint", "green")), columns=8)
        Path(args.real_grid).parent.mkdir(parents=True, exist_ok=True)
        Path(args.real_grid).write_bytes(gan.png_bytes(picture))
    if not getattr(args, "json", False):
        print(f"model {args.model}; features: {encoder_text}; {result.n} images per set")
        print(f"{'':<28}{'FID':>10}{'KID':>10}")
        for label, f, k in (("generator", result.fid, result.kid),
                            ("trivial (mean + noise)", result.trivial_fid, result.trivial_kid),
                            ("real half vs real half", result.real_fid, result.real_kid)):
            print(f"{label:<28}{f:>10.4f}{k:>10.5f}")
    return figures
