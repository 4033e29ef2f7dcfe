"""DCGAN generator and discriminator for square microscopy images.

Both halve (or double) the resolution at each stage, DCGAN style, with channel
widths that shrink as the resolution grows, so a 128 x 128 generator stays
small enough to train on a laptop CPU. The discriminator uses spectral
normalisation; batch norm (the original DCGAN) is an option, but with the
hinge loss on our frames it won outright within 300 steps and the generator
collapsed to a noise texture.

Example:
    >>> import torch
    >>> g = build_generator(z_dim=16, base=4, size=32)
    >>> tuple(g(torch.zeros(2, 16)).shape)
    (2, 1, 32, 32)
    >>> tuple(build_discriminator(base=4, size=32)(torch.zeros(2, 1, 32, 32)).shape)
    (2,)
"""
from __future__ import annotations

import math

import torch
from torch import nn

from devocore import nets
from devocore.errors import ModelError


def _stages(size: int) -> int:
    """Number of x2 stages between 4 x 4 and ``size`` x ``size``."""
    stages = int(round(math.log2(size))) - 2
    if size < 8 or 2 ** (stages + 2) != size:
        raise ModelError(f"GAN image size must be a power of two >= 8, not {size}.")
    return stages


def _width(base: int, stages_left: int, max_width: int) -> int:
    return min(base * 2 ** stages_left, max_width)


class DCGANGenerator(nn.Module):
    """Latent vector (N x z_dim) -> images (N x channels x size x size) in -1..1.

    Args:
        z_dim: length of the latent vector.
        base: channels at full resolution; each halving of resolution doubles it.
        size: output side, a power of two.
        channels: 1 for grey, 3 for RGB.
        max_width: cap on channels at low resolution.
    """

    def __init__(self, z_dim: int = 64, base: int = 8, size: int = 128, channels: int = 1,
                 max_width: int = 256):
        super().__init__()
        self.z_dim, self.size, self.channels = z_dim, size, channels
        stages = _stages(size)
        width = _width(base, stages, max_width)
        self.project = nn.Sequential(nn.Linear(z_dim, width * 16, bias=False), nn.BatchNorm1d(width * 16),
                                     nn.ReLU(inplace=True))
        self.start_width = width
        layers = []
        for left in range(stages - 1, -1, -1):
            out = _width(base, left, max_width)
            layers += [nn.ConvTranspose2d(width, out, 4, 2, 1, bias=False), nn.BatchNorm2d(out),
                       nn.ReLU(inplace=True)]
            width = out
        layers += [nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], self.start_width, 4, 4)
        return self.body(x)


class DCGANDiscriminator(nn.Module):
    """Images (N x channels x size x size, -1..1) -> one realness score each (N,).

    Args:
        base: channels after the first stride-2 convolution.
        size: input side, a power of two.
        channels: 1 for grey, 3 for RGB.
        max_width: cap on channels.
        spectral: spectral normalisation on every layer; otherwise batch norm after every
            convolution but the first (the original DCGAN).
    """

    def __init__(self, base: int = 8, size: int = 128, channels: int = 1, max_width: int = 256,
                 spectral: bool = True):
        super().__init__()
        norm = nn.utils.spectral_norm if spectral else (lambda layer: layer)
        layers, width = [], channels
        for stage in range(_stages(size)):
            out = _width(base, stage, max_width)
            layers.append(norm(nn.Conv2d(width, out, 4, 2, 1, bias=spectral or stage == 0)))
            if not spectral and stage > 0:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            width = out
        self.body = nn.Sequential(*layers)
        self.head = norm(nn.Linear(width * 16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).flatten(1)).squeeze(1)


@nets.architecture("dcgan-generator")
def build_generator(z_dim: int = 64, base: int = 8, size: int = 128, channels: int = 1,
                    max_width: int = 256) -> DCGANGenerator:
    """The DCGAN generator (see :class:`DCGANGenerator`)."""
    return DCGANGenerator(z_dim=z_dim, base=base, size=size, channels=channels, max_width=max_width)


@nets.architecture("dcgan-discriminator")
def build_discriminator(base: int = 8, size: int = 128, channels: int = 1, max_width: int = 256,
                        spectral: bool = True) -> DCGANDiscriminator:
    """The DCGAN discriminator (see :class:`DCGANDiscriminator`)."""
    return DCGANDiscriminator(base=base, size=size, channels=channels, max_width=max_width, spectral=spectral)
