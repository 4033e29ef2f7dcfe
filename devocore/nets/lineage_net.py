"""ResNet-18 regressing the seven lineage populations of an embryo frame.

The network outputs ``log(1 + count)`` for the lineages A, E, M, P, C, D, Z.
Beside the weights it carries its calibration as buffers (saved in the same
safetensors file): ``stage_curves``, the typical populations along a reference
developmental time axis learned from real EPIC curves, and ``warp_prior``, the
spread of real embryos' timing, used to fit a whole video at once.
"""
from __future__ import annotations

import torch
from torch import nn

from devocore.nets import architecture

N_LINEAGES = 7


class LineageNet(nn.Module):
    """torchvision ResNet-18 (no pretrained weights) with a 7-output head.

    Args:
        in_channels: image channels (1: the nucleus channel).
        curve_len: number of reference time points in ``stage_curves``.

    Example:
        >>> net = LineageNet(in_channels=1, curve_len=10)
        >>> net(torch.zeros(2, 1, 64, 64)).shape
        torch.Size([2, 7])
    """

    def __init__(self, in_channels: int = 1, curve_len: int = 600):
        super().__init__()
        from torchvision.models import resnet18

        self.backbone = resnet18(weights=None, num_classes=N_LINEAGES)
        if in_channels != 3:
            self.backbone.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.in_channels = in_channels
        # total + 7 lineages along the reference time axis (one row per reference frame)
        self.register_buffer("stage_curves", torch.zeros(curve_len, 1 + N_LINEAGES))
        # offset, rate, offset sd, rate sd of real embryos' time axes against the reference
        self.register_buffer("warp_prior", torch.tensor([0.0, 1.0, 30.0, 0.3]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """B x C x H x W float in 0..1 -> B x 7 predicted log(1 + population)."""
        return self.backbone(x)


@architecture("resnet18-lineage")
def build(in_channels: int = 1, curve_len: int = 600) -> LineageNet:
    """Builder registered for model cards."""
    return LineageNet(in_channels=in_channels, curve_len=curve_len)
