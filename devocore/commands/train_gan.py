"""Train the GAN generator on simulated embryo frames (default) or a folder of your images.

Examples:
    python -m devocore train gan --minutes 30 --out assets/models/gan
    python -m devocore train gan --data my_images/ --name my-gan --steps 2000

The generator with the best validation FID (checked every --eval-every steps, on
frames never used for training) is saved with its card; a checkpoint allows
resuming (--checkpoint).
"""
from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

DEFAULT_CACHE = "/tmp/devoscope-gan-cache"
VALIDATION_FIRST_SEED = 500_000  # embryo seeds for model selection; training starts at 0, eval at 1e6


def add_arguments(parser) -> None:
    parser.add_argument("--data", help="folder of images to train on (default: simulated embryo frames)")
    parser.add_argument("--name", default="gan-user", help="model name when saved to the user model folder")
    parser.add_argument("--out", help="model folder to write (default: <user model dir>/<name>)")
    parser.add_argument("--images", type=int, default=3000, help="simulated training frames")
    parser.add_argument("--size", type=int, default=128, help="image side (power of two)")
    parser.add_argument("--base", type=int, default=8, help="generator channels at full resolution")
    parser.add_argument("--d-base", type=int, default=32, help="discriminator channels after its first layer")
    parser.add_argument("--z-dim", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--steps", type=int, default=100_000, help="most steps (the time limit usually wins)")
    parser.add_argument("--minutes", type=float, default=30.0, help="time limit")
    parser.add_argument("--eval-every", type=int, default=250, help="steps between validation FIDs")
    parser.add_argument("--eval-n", type=int, default=256, help="images per validation FID")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--cache", default=DEFAULT_CACHE, help="folder caching rendered frames")
    parser.add_argument("--checkpoint", help="safetensors checkpoint to resume from and update")
    parser.add_argument("--seed", type=int, default=0)


def run(args) -> int:
    import numpy as np
    import torch

    from devocore import config, gan, registry
    from devocore.progress import terminal
    from devocore.simulate.embryo_frames import render_embryo_frames, simulator_version
    from devocore.train.gan import GanConfig, GanTrainer, load_image_folder

    torch.set_num_threads(args.threads)
    if args.data:
        images = load_image_folder(args.data, args.size, progress=terminal("reading"))
        order = np.random.default_rng(args.seed).permutation(len(images))
        n_val = max(2, min(args.eval_n, len(images) // 10))
        validation, images = images[order[:n_val]], images[order[n_val:]]
        data_text = f"{len(images)} images from {Path(args.data).name} ({n_val} more held out for validation)"
        data_terms = f"trained on the images in {Path(args.data).name}: the terms of those images apply."
    else:
        images = render_embryo_frames(args.images, args.size, 0, cache_dir=args.cache,
                                      progress=terminal("rendering training frames"))
        validation = render_embryo_frames(args.eval_n, args.size, VALIDATION_FIRST_SEED, cache_dir=args.cache,
                                          progress=terminal("rendering validation frames"))
        data_text = (f"{len(images)} simulated histone-GFP time-lapse frames (devocore.simulate.embryo, "
                     f"embryo seeds from 0, green channel, {args.size}x{args.size}; simulator source hash "
                     f"{simulator_version()})")
        data_terms = registry.SIMULATED_DATA_TERMS
    cfg = GanConfig(size=args.size, z_dim=args.z_dim, base=args.base, d_base=args.d_base,
                    batch=args.batch, lr_g=args.lr, lr_d=args.lr, seed=args.seed)
    trainer = GanTrainer(images, cfg)
    if args.checkpoint and Path(args.checkpoint).exists():
        trainer.load_checkpoint(args.checkpoint)
        print(f"resumed from {args.checkpoint} at step {trainer.step_count}")
    encoder = gan.default_encoder()
    val_features = encoder(validation)
    best = {"fid": float("inf"), "step": 0, "state": None}

    def check(t: GanTrainer) -> None:
        fake = encoder(gan.sample(t.ema, len(validation), seed=123))
        value = gan.fid(fake, val_features)
        last = t.history[-1]
        print(f"step {t.step_count}: loss_d {last['loss_d']:.3f} loss_g {last['loss_g']:.3f} "
              f"val_fid {value:.3f}", flush=True)
        if value < best["fid"]:
            best.update(fid=value, step=t.step_count,
                        state={k: v.detach().clone() for k, v in t.ema.state_dict().items()})
        if args.checkpoint:
            t.save_checkpoint(args.checkpoint)

    start = time.monotonic()
    trainer.run(args.steps, max_seconds=args.minutes * 60, every=args.eval_every, on_every=check)
    check(trainer)
    trainer.ema.load_state_dict(best["state"])
    folder = Path(args.out) if args.out else config.user_model_dir() / args.name
    card = {
        "training_data": data_text,
        "data_terms": data_terms,
        "training_command": "python -m devocore " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "metrics": {"validation_fid": round(best["fid"], 4), "best_step": best["step"],
                    "steps": trainer.step_count, "minutes": round((time.monotonic() - start) / 60, 1),
                    "fid_encoder": encoder.description, "validation_images": len(validation)},
    }
    info = trainer.save(folder, card)
    print(json.dumps({"folder": str(folder), **card["metrics"]}))
    return 0
