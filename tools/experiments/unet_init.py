"""Write a U-Net (``unet34-ps`` with a ResNet-18 encoder) whose encoder starts from a trained FPN's encoder.

The folder it writes is a start model for ``train nucleus --init FOLDER``: the decoder is new (ICNR
pixel-shuffle upsampling to full resolution), the encoder keeps what the FPN learnt (docs/results/segmentation.md,
"U-Net").

    PYTHONPATH=. python tools/experiments/unet_init.py --model nucleus --out UNET18
"""
from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="nucleus", help="the FPN whose encoder to copy (name or folder)")
    parser.add_argument("--out", required=True, help="model folder to write")
    parser.add_argument("--seed", type=int, default=0, help="seed of the new decoder's first weights")
    args = parser.parse_args()

    import torch

    from devocore import nets, registry
    from devocore.train.finetune import initial_model

    source = initial_model(args.model)
    torch.manual_seed(args.seed)
    config = {"encoder": source.card.get("config", {}).get("encoder", "resnet18"), "in_channels": 1, "classes": 1}
    net = nets.build("unet34-ps", **config)
    net.encoder.load_state_dict(source.encoder.state_dict())
    card = {k: v for k, v in source.card.items() if k in ("task", "target", "input_size", "training_data", "data_terms")}
    card.update(architecture="unet34-ps", config=config,
                note=f"encoder copied from '{args.model}', decoder new (seed {args.seed})")
    registry.save_model(net, args.out, card, half=False)
    print(f"wrote {args.out}: {sum(p.numel() for p in net.parameters()) / 1e6:.1f} M parameters")


if __name__ == "__main__":
    main()
