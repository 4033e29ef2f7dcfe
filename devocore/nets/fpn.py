"""FPN segmentation network (segmentation-models-pytorch), built from scratch.

The encoder is never initialised from downloaded weights (``encoder_weights=None``):
Devoscope works offline and trains its own models.
"""
from __future__ import annotations

from devocore import nets


@nets.architecture("fpn")
def fpn(encoder: str = "resnet18", in_channels: int = 1, classes: int = 1, **kwargs):
    """An ``smp.FPN`` returning logits (N x classes x H x W; H, W multiples of 32).

    Example:
        >>> import torch
        >>> net = fpn().eval()
        >>> net(torch.zeros(1, 1, 64, 64)).shape
        torch.Size([1, 1, 64, 64])
    """
    import segmentation_models_pytorch as smp

    return smp.FPN(encoder_name=encoder, encoder_weights=None, in_channels=in_channels, classes=classes,
                   **kwargs)
