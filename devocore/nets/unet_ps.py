"""U-Net with a ResNet-34 encoder whose decoder upsamples by pixel shuffle, initialised with ICNR.

Upsampling by a learnt convolution followed by :class:`torch.nn.PixelShuffle` gives checkerboard artefacts
when the convolution starts from random weights: the r x r sub-pixels of each output block come from
unrelated filters. ICNR (Aitken et al. 2017, "Checkerboard artifact free sub-pixel convolution") starts every
group of r x r filters as copies of one filter, so at initialisation the layer equals nearest-neighbour
upsampling after a convolution, and training moves away from it smoothly. The encoder comes from
segmentation-models-pytorch without downloaded weights (``weights=None``): Devoscope works offline.

Registered as ``unet34-ps`` (``--arch unet34-ps``).
"""
from __future__ import annotations

import torch
from torch import nn

from devocore import nets


def icnr_(weight: torch.Tensor, scale: int = 2) -> torch.Tensor:
    """Fill a conv weight (out * scale^2, in, k, k) in place so PixelShuffle(scale) after it starts as
    nearest-neighbour upsampling of a Kaiming-initialised convolution.

    Example:
        >>> w = torch.empty(8, 3, 3, 3); _ = icnr_(w, 2)
        >>> bool(torch.equal(w[0], w[1]) and torch.equal(w[0], w[3]) and not torch.equal(w[0], w[4]))
        True
    """
    out, *rest = weight.shape
    base = torch.empty(out // scale ** 2, *rest)
    nn.init.kaiming_normal_(base, nonlinearity="relu")
    with torch.no_grad():
        weight.copy_(base.repeat_interleave(scale ** 2, dim=0))
    return weight


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class PixelShuffleUp(nn.Module):
    """x2 upsampling: 1x1 conv to 4 x ``cout`` channels (ICNR), pixel shuffle, ReLU, then a 2x2 average
    (stride 1, replicate padding) that also removes what is left of block artefacts."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout * 4, 1)
        icnr_(self.conv.weight, 2)
        nn.init.zeros_(self.conv.bias)
        self.shuffle = nn.PixelShuffle(2)
        self.relu = nn.ReLU(inplace=True)
        self.blur = nn.Sequential(nn.ReplicationPad2d((1, 0, 1, 0)), nn.AvgPool2d(2, stride=1))

    def forward(self, x):
        return self.blur(self.relu(self.shuffle(self.conv(x))))


class DecoderBlock(nn.Module):
    def __init__(self, cin: int, skip: int, cout: int):
        super().__init__()
        self.up = PixelShuffleUp(cin, cin // 2 if cin > 32 else cin)
        mid = (cin // 2 if cin > 32 else cin) + skip
        self.convs = nn.Sequential(_conv(mid, cout), _conv(cout, cout))

    def forward(self, x, skip=None):
        x = self.up(x)
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.convs(x)


class UNetPS(nn.Module):
    """U-Net: smp ResNet encoder (5 levels), pixel-shuffle decoder, logits N x classes x H x W
    (H, W multiples of 32)."""

    def __init__(self, encoder: str = "resnet34", in_channels: int = 1, classes: int = 1,
                 decoder_channels: tuple[int, ...] = (256, 128, 64, 32, 16)):
        super().__init__()
        from segmentation_models_pytorch.encoders import get_encoder

        self.encoder = get_encoder(encoder, in_channels=in_channels, depth=5, weights=None)
        skips = list(self.encoder.out_channels)  # (in, 64, 64, 128, 256, 512) for resnet34
        cin = skips[-1]
        blocks = []
        for k, cout in enumerate(decoder_channels):
            skip = skips[-2 - k] if k < 4 else 0  # the last block reaches full size without a skip
            blocks.append(DecoderBlock(cin, skip, cout))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Conv2d(cin, classes, 3, padding=1)

    def forward(self, x):
        features = self.encoder(x)
        y = features[-1]
        for k, block in enumerate(self.blocks):
            y = block(y, features[-2 - k] if k < 4 else None)
        return self.head(y)


@nets.architecture("unet34-ps")
def unet34_ps(encoder: str = "resnet34", in_channels: int = 1, classes: int = 1, **kwargs) -> UNetPS:
    """A :class:`UNetPS` (ResNet-34 encoder by default).

    Example:
        >>> net = unet34_ps(in_channels=2).eval()
        >>> net(torch.zeros(1, 2, 64, 64)).shape
        torch.Size([1, 1, 64, 64])
    """
    return UNetPS(encoder, in_channels, classes, **kwargs)
