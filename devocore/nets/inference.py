"""Inference copies of trained networks: the same function, less work per frame.

A trained network in eval mode computes ``bn(conv(x))`` with frozen batch-norm
statistics, which is itself one convolution with rescaled weights and a bias;
segmentation-models-pytorch's FPN adds its four pyramid levels by stacking
them into a new tensor and summing it; and max_pool2d on the CPU also writes an
index tensor nobody reads. :func:`for_inference` returns a copy with the batch
norms folded into their convolutions, the pyramid levels added in place and the
ResNet stem's max pool taken as two strided maxima. The original model is left
untouched (it may still be trained), and the copy is checked against it in
float32 before it is used.
"""
from __future__ import annotations

import copy
import itertools
import logging
import weakref

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


def _along(x, dim: int, start: int | None = None, stop: int | None = None, step: int | None = None):
    """An index taking ``start:stop:step`` along ``dim`` of ``x`` and everything along the other axes."""
    index = [slice(None)] * x.ndim
    index[dim] = slice(start, stop, step)
    return tuple(index)


def _max3_stride2(x, dim: int):
    """Max over windows of 3 with stride 2 and padding 1 along ``dim``, as max_pool2d takes it.

    Output j is the max of inputs 2j - 1, 2j and 2j + 1 (those that exist). The second maximum is
    taken in place (``clamp_`` with a tensor bound), which saves a temporary and a copy.
    """
    even, odd = x[_along(x, dim, 0, None, 2)], x[_along(x, dim, 1, None, 2)]
    n_even, n_odd = even.shape[dim], odd.shape[dim]
    if n_even == n_odd:
        out = torch.maximum(even, odd)
    else:  # odd length: the last window has no right neighbour
        out = even.clone()
        out[_along(out, dim, 0, n_odd)].clamp_(min=odd)
    out[_along(out, dim, 1)].clamp_(min=odd[_along(odd, dim, 0, n_even - 1)])
    return out


class StridedMaxPool(nn.Module):
    """``nn.MaxPool2d(3, stride=2, padding=1)`` as two strided maxima, without max_pool2d's index tensor."""

    @staticmethod
    def applies_to(pool) -> bool:
        def pair(v):
            return tuple(v) if isinstance(v, (tuple, list)) else (v, v)

        return (type(pool) is nn.MaxPool2d and pair(pool.kernel_size) == (3, 3) and pair(pool.stride) == (2, 2)
                and pair(pool.padding) == (1, 1) and pair(pool.dilation) == (1, 1) and not pool.ceil_mode
                and not pool.return_indices)

    def forward(self, x):
        # rows first: in channels-last memory a row slice is one contiguous run, so the full-size pass
        # is the cheap one and the column pass works on half as many values
        return _max3_stride2(_max3_stride2(x, -2), -1)


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
    # names first, not a list of the modules: an unfused convolution is then let go as soon as its fused one
    # replaces it, so folding a model holds one convolution's weights twice at a time, not the whole model's
    pairs = [(parent, names) for parent in model.modules() for names in _fold_pairs(parent)]
    for parent, (conv_name, bn_name) in pairs:
        fused = fuse_conv_bn_eval(getattr(parent, conv_name).eval(), getattr(parent, bn_name).eval())
        setattr(parent, conv_name, fused)
        setattr(parent, bn_name, nn.Identity())
    return len(pairs)


def _swap_layers(model) -> int:
    """Replace FPN add-merges and 3 x 3 stride-2 max pools by the modules above, in place."""
    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child).__name__ == "MergeBlock" and getattr(child, "policy", None) == "add":
                new = AddMerge()
            elif StridedMaxPool.applies_to(child):
                new = StridedMaxPool()
            else:
                continue
            setattr(parent, name, new)
            replaced += 1
    return replaced


def for_inference(model, probe_shape: tuple[int, ...] | None = None, float32: bool = False):
    """An eval-mode copy of ``model`` with batch norms folded, FPN merges in place and lighter max pools.

    Args:
        model: a trained module (not changed).
        probe_shape: input shape (N x C x H x W) on which the copy is checked against the model as given (its
            output before the rewrite); None skips the check.
        float32: widen the copy's weights to float32 first (a model :func:`keep_half` holds in float16).

    Returns:
        the rewritten copy, or an unchanged eval-mode copy when the rewrite did not reproduce the
        original within :data:`TOLERANCE` (logged). One copy is made, so the memory it takes beside the
        model is the copy's alone.

    Example:
        >>> import torch
        >>> from devocore import nets
        >>> net = nets.build("fpn").eval()
        >>> fast = for_inference(net, (1, 1, 64, 64))
        >>> x = torch.rand(1, 1, 64, 64)
        >>> bool((fast(x) - net(x)).abs().max() < 1e-3)
        True
    """
    def plain_copy():
        fresh = copy.deepcopy(model).eval()  # attributes such as the model card come along
        return fresh.float() if float32 else fresh

    fast = plain_copy()
    x = before = None
    if probe_shape is not None:
        param = next(fast.parameters())
        generator = torch.Generator().manual_seed(0)
        x = torch.rand(probe_shape, generator=generator).to(device=param.device, dtype=param.dtype)
        with torch.inference_mode():
            before = fast(x)
    folded = fold_batchnorm(fast)
    swapped = _swap_layers(fast)
    if x is None or not (folded or swapped):
        return fast
    with torch.inference_mode():
        gap = float((fast(x) - before).abs().max())
    if gap > TOLERANCE:
        log.warning("The inference rewrite changed the output by %.3g; using the model as trained", gap)
        del fast
        return plain_copy()
    return fast


#: model -> {(device, channels_last): (weights stamp, inference copy)}; entries go with their model.
_COPIES: "weakref.WeakKeyDictionary[nn.Module, dict]" = weakref.WeakKeyDictionary()


#: Models held in float16 by :func:`keep_half`; a deep copy is not in it.
_KEPT_HALF: "weakref.WeakSet[nn.Module]" = weakref.WeakSet()


def keep_half(model):
    """Hold ``model``'s floating-point weights and buffers in float16, in place, and return it.

    For a model a server keeps for its whole life: half the memory. Only for weights that are float16 on disk
    (the shipped models are), so nothing is lost. Code that runs the model widens its own copy first:
    :func:`runnable`, or :func:`inference_copy` (which ``segmentation.Predictor`` uses).

    Example:
        >>> net, plain = keep_half(nn.Linear(2, 2)), nn.Linear(2, 2)
        >>> net.weight.dtype, runnable(net).weight.dtype, runnable(plain) is plain
        (torch.float16, torch.float32, True)
    """
    model.half()
    _KEPT_HALF.add(model)
    return model


def runnable(model):
    """``model`` itself, or a float32 copy of it where :func:`keep_half` holds it in float16 (float16 values are
    exact in float32, so the copy computes what the model loaded in float32 would)."""
    if model not in _KEPT_HALF:
        return model
    return copy.deepcopy(model).float()


def weights_stamp(model) -> tuple:
    """Changes whenever a weight or buffer of ``model`` is changed in place (an optimiser step,
    ``load_state_dict``, running batch-norm statistics) or moved to new memory (``.to()``)."""
    return tuple((t.data_ptr(), t._version) for t in itertools.chain(model.parameters(), model.buffers()))


def hold_convolutions(module, dtype: torch.dtype, exact: bool = False) -> bool:
    """Hold the weights and biases of ``module``'s 2-D convolutions in ``dtype``, in place; True if any is.

    For a module run only under bfloat16 autocast, which casts a convolution's weights and bias to bfloat16 on
    every call: held in bfloat16 they take half the memory and give the same output to the bit; so do float16
    weights whose values float16 holds exactly (both checked in the tests). ``exact``: only the convolutions
    whose values ``dtype`` holds exactly (a frozen encoder loaded from a float16 file).

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, bias=False), nn.Conv2d(2, 2, 1, bias=False), nn.GroupNorm(1, 2))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.fill_(0.5), net[1].weight.fill_(0.1)  # 0.1 is not a float16 value
        >>> hold_convolutions(net, torch.float16, exact=True), net[0].weight.dtype, net[1].weight.dtype
        (True, torch.float16, torch.float32)
        >>> hold_convolutions(net, torch.bfloat16), net[1].weight.dtype, net[2].weight.dtype
        (True, torch.bfloat16, torch.float32)
    """
    held = False
    for conv in module.modules():
        if isinstance(conv, nn.Conv2d) and (not exact or all(
                torch.equal(p.detach().to(dtype).to(p.dtype), p.detach()) for p in conv.parameters(recurse=False))):
            conv.to(dtype)
            held = True
    return held


def inference_copy(model, device, channels_last: bool = True, probe_shape: tuple[int, ...] | None = None,
                   bf16: bool = False):
    """:func:`for_inference` of ``model``, moved to ``device`` (channels-last if asked), in eval mode, in
    float32 where :func:`keep_half` holds the model in float16. ``bf16``: for a caller that runs it only under
    bfloat16 autocast; its convolutions are held in bfloat16 (:func:`hold_convolutions`: half the memory, the same
    output).

    Made once per model and device and reused (making it takes a few tenths of a second) until the
    model's weights change. Under the cloud profile, or for a model held in float16, it is made afresh for
    each caller and goes with it: a kept copy would double every shared model's memory for the life of the
    server.
    """
    from devocore import config

    if config.is_cloud() or model in _KEPT_HALF:
        return _fresh_copy(model, device, channels_last, probe_shape, bf16)
    copies = _COPIES.setdefault(model, {})
    key = (str(device), channels_last, bf16)
    stamp = weights_stamp(model)
    if key in copies and copies[key][0] == stamp:
        return copies[key][1]
    fast = _fresh_copy(model, device, channels_last, probe_shape, bf16)
    copies[key] = (stamp, fast)
    return fast


def _fresh_copy(model, device, channels_last: bool, probe_shape, bf16: bool):
    fast = for_inference(model, probe_shape, float32=model in _KEPT_HALF)
    if channels_last:
        fast.to(memory_format=torch.channels_last)
    fast = fast.to(device).eval()
    if bf16:
        hold_convolutions(fast, torch.bfloat16)
    return fast
