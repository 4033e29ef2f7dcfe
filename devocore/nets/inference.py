"""Inference copies of trained networks: the same function, less work per frame.

A trained network in eval mode computes ``bn(conv(x))`` with frozen batch-norm
statistics, which is itself one convolution with rescaled weights and a bias;
and segmentation-models-pytorch's FPN adds its four pyramid levels by stacking
them into a new tensor and summing it. :func:`for_inference` returns a copy with
the batch norms folded into their convolutions and the pyramid levels added in
place. The original model is left untouched (it may still be trained), and the
copy is checked against it in float32 before it is used.
"""
from __future__ import annotations

import copy
import logging

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torchvision.models import resnet

log = logging.getLogger(__name__)

#: Largest difference in logits allowed between the copy and the original on a probe input (float32).
TOLERANCE = 1e-3


class AddMerge(nn.Module):
    """Sum a list of same-shaped tensors in place of the first one's copy (FPN's ``add`` merge)."""

    def forward(self, parts):
        out = parts[0].clone()
        for part in parts[1:]:
            out.add_(part)
        return out


def _fold_pairs(parent):
    """(conv name, bn name) pairs of ``parent`` whose forward applies the bn right after the conv."""
    if isinstance(parent, nn.Sequential):
        names = [name for name, _ in parent.named_children()]
        return [(a, b) for a, b in zip(names, names[1:])
                if isinstance(parent[int(a)], nn.Conv2d) and isinstance(parent[int(b)], nn.BatchNorm2d)]
    if isinstance(parent, (resnet.ResNet, resnet.BasicBlock, resnet.Bottleneck)):
        # torchvision's ResNet and its blocks apply bnN directly to convN's output
        return [(f"conv{i}", f"bn{i}") for i in (1, 2, 3)
                if isinstance(getattr(parent, f"conv{i}", None), nn.Conv2d)
                and isinstance(getattr(parent, f"bn{i}", None), nn.BatchNorm2d)]
    return []


def fold_batchnorm(model) -> int:
    """Fold every eval-mode batch norm that directly follows a convolution into it, in place.

    Returns:
        the number of batch norms folded (each replaced by ``nn.Identity``).
    """
    folded = 0
    for parent in list(model.modules()):
        for conv_name, bn_name in _fold_pairs(parent):
            fused = fuse_conv_bn_eval(getattr(parent, conv_name).eval(), getattr(parent, bn_name).eval())
            setattr(parent, conv_name, fused)
            setattr(parent, bn_name, nn.Identity())
            folded += 1
    return folded


def _merge_in_place(model) -> int:
    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child).__name__ == "MergeBlock" and getattr(child, "policy", None) == "add":
                setattr(parent, name, AddMerge())
                replaced += 1
    return replaced


def for_inference(model, probe_shape: tuple[int, ...] | None = None):
    """An eval-mode copy of ``model`` with batch norms folded and FPN merges done in place.

    Args:
        model: a trained module (not changed).
        probe_shape: input shape (N x C x H x W) on which the copy is checked against the original;
            None skips the check.

    Returns:
        the rewritten copy, or an unchanged eval-mode copy when the rewrite did not reproduce the
        original within :data:`TOLERANCE` (logged).

    Example:
        >>> import torch
        >>> from devocore import nets
        >>> net = nets.build("fpn").eval()
        >>> fast = for_inference(net, (1, 1, 64, 64))
        >>> x = torch.rand(1, 1, 64, 64)
        >>> bool((fast(x) - net(x)).abs().max() < 1e-3)
        True
    """
    card = getattr(model, "card", None)
    fast = copy.deepcopy(model).eval()
    folded = fold_batchnorm(fast)
    merged = _merge_in_place(fast)
    if card is not None:
        fast.card = card
    if probe_shape is None or not (folded or merged):
        return fast
    param = next(model.parameters())
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(probe_shape, generator=generator).to(device=param.device, dtype=param.dtype)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        gap = float((fast(x) - model(x)).abs().max())
    model.train(was_training)
    if gap > TOLERANCE:
        log.warning("The inference rewrite changed the output by %.3g; using the model as trained", gap)
        plain = copy.deepcopy(model).eval()
        if card is not None:
            plain.card = card
        return plain
    return fast
