"""8-bit copies of trained networks for CPU inference, calibrated once on training images.

A convolution in 8-bit integers runs faster than in bfloat16 on x86 CPUs, at the cost of rounding: weights are
rounded per output channel from the trained weights, and each activation to 256 levels between a minimum and
a maximum. Those activation ranges are measured once, on training images, by :func:`calibrate` and stored in
the model card (``int8_calibration``, with the digest of the weights they were measured for), so an 8-bit
copy never depends on what a user happens to segment first, and every machine uses the same ranges.
:func:`int8_copy` rebuilds the copy from the card; a model without a calibration, or with one for other
weights, has none. ``tools/calibrate_int8.py`` writes a calibration only when the copy's masks agree with
float32 at IoU >= 0.99 on training images it was not calibrated on.
:class:`devocore.segmentation.Predictor` runs the copy wherever it exists on the CPU (not under the cloud
profile, and not where models are compared with each other).

Uses torch's FX graph-mode quantization (``torch.ao.quantization.quantize_fx``) with the x86 backend.
"""
from __future__ import annotations

import copy
import logging
import warnings
import weakref

import numpy as np
import torch

log = logging.getLogger(__name__)

#: The model card key holding the activation ranges.
CARD_KEY = "int8_calibration"
#: The quantized engine the ranges are for (fbgemm/onednn kernels on x86 CPUs).
ENGINE = "x86"


def available() -> bool:
    """Whether this torch build runs 8-bit convolutions on this CPU."""
    return ENGINE in torch.backends.quantized.supported_engines


def _qconfig_mapping(model):
    """Per-tensor activation ranges, per-channel symmetric weights; FPN's merge of its four pyramid levels
    stays in floating point (a stack of 8-bit tensors with different ranges would be requantized)."""
    from torch.ao.quantization import (MinMaxObserver, PerChannelMinMaxObserver, QConfig,
                                       get_default_qconfig_mapping)

    qconfig = QConfig(activation=MinMaxObserver.with_args(dtype=torch.quint8, reduce_range=True),
                      weight=PerChannelMinMaxObserver.with_args(dtype=torch.qint8,
                                                                qscheme=torch.per_channel_symmetric))
    mapping = get_default_qconfig_mapping(ENGINE).set_global(qconfig)
    for name, module in model.named_modules():
        if type(module).__name__ == "MergeBlock":
            mapping.set_module_name(name, None)
    return mapping


def _observed(model, example):
    """A float copy of ``model`` traced with activation observers (smp's input-size check is left out:
    it branches on the input's shape, which a trace cannot)."""
    from torch.ao.quantization.quantize_fx import prepare_fx

    float_copy = copy.deepcopy(model).float().eval().to(memory_format=torch.channels_last)
    if hasattr(float_copy, "check_input_shape"):
        float_copy.check_input_shape = lambda x: None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prepare_fx(float_copy, _qconfig_mapping(float_copy), (example,))


def _observers(observed) -> dict:
    from torch.ao.quantization import MinMaxObserver

    return {name: module for name, module in observed.named_modules() if isinstance(module, MinMaxObserver)}


def _convert(observed):
    from torch.ao.quantization.quantize_fx import convert_fx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return convert_fx(observed).eval()


def weights_digest(model) -> str:
    """sha256 of ``model``'s weights and buffers in float32, in order: ranges are for these weights only."""
    import hashlib

    digest = hashlib.sha256()
    for name, tensor in list(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()


def calibrate(model, batches) -> dict:
    """Activation ranges of ``model`` over ``batches`` (float tensors N x C x H x W, as the model sees them).

    Returns:
        the card entry: ``{"engine": ..., "weights": weights_digest(model), "ranges": {observer: [min, max]}}``.
    """
    batches = list(batches)
    observed = _observed(model, batches[0])
    with torch.inference_mode():
        for x in batches:
            observed(x.float().contiguous(memory_format=torch.channels_last))
    ranges = {name: [float(obs.min_val), float(obs.max_val)] for name, obs in _observers(observed).items()}
    return {"engine": ENGINE, "weights": weights_digest(model), "ranges": ranges}


def from_calibration(model, calibration: dict, example):
    """The 8-bit copy of ``model`` with the activation ranges of ``calibration`` (:func:`calibrate`).

    Raises:
        ValueError: the ranges are for another engine, another network or other weights.
    """
    observed = _observed(model, example)
    observers = _observers(observed)
    ranges = calibration.get("ranges", {})
    if (calibration.get("engine") != ENGINE or calibration.get("weights") != weights_digest(model)
            or set(ranges) != set(observers)):
        raise ValueError("the card's 8-bit calibration does not fit this network or its weights")
    for name, obs in observers.items():
        low, high = ranges[name]
        obs.min_val = torch.tensor(float(low))
        obs.max_val = torch.tensor(float(high))
    return _convert(observed)


#: model -> ((calibration, weights stamp), 8-bit copy or None); entries go with their model.
_COPIES: "weakref.WeakKeyDictionary[torch.nn.Module, tuple]" = weakref.WeakKeyDictionary()


def int8_copy(model, example):
    """The 8-bit copy of ``model`` from its card's calibration, or None where there is none (or this CPU
    has no 8-bit kernels, or it does not fit: logged).

    Made once per model (about a second) and reused until its weights change. ``example`` is an input
    batch, for the trace.
    """
    calibration = (getattr(model, "card", None) or {}).get(CARD_KEY)
    if not calibration or not available():
        return None
    from devocore.nets.inference import weights_stamp

    key = (id(calibration), weights_stamp(model))
    cached = _COPIES.get(model)
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        torch.backends.quantized.engine = ENGINE
        quantized = from_calibration(model, calibration, example.float())
    except Exception as exc:  # an 8-bit copy is only ever a faster route: say why, and go on without it
        log.warning("No 8-bit copy of the model (%s); using floating point", exc)
        quantized = None
    _COPIES[model] = (key, quantized)
    return quantized


def mask_agreement(model, quantized, batches, threshold: float = 0.5) -> float:
    """IoU of the masks (probability > ``threshold``) of ``quantized`` and of ``model`` (float32, in eval mode),
    pooled over ``batches``."""
    inter = union = 0
    with torch.inference_mode():
        for x in batches:
            x = x.float().contiguous(memory_format=torch.channels_last)
            a = (torch.sigmoid(model(x)) > threshold).numpy()
            b = (torch.sigmoid(quantized(x)) > threshold).numpy()
            inter += int(np.logical_and(a, b).sum())
            union += int(np.logical_or(a, b).sum())
    return inter / union if union else 1.0
