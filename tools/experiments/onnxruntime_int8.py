"""Would ONNX Runtime run a segmentation network faster than torch on this CPU? Timing only, one thread.

Times one batch per frame for: torch float32, torch's 8-bit copy (the card's calibration; what Devoscope runs),
ONNX Runtime float32 and ONNX Runtime 8-bit (static QDQ, per-channel weights). The ONNX Runtime 8-bit copy is
calibrated on random input, so it is fit for timing, not for its masks. ONNX Runtime is not a Devoscope
dependency: install it (and onnx) beside this script, e.g. `pip install --target /tmp/ort onnxruntime onnx` and
run with `PYTHONPATH=.:/tmp/ort`.

Usage: PYTHONPATH=.:/tmp/ort python tools/experiments/onnxruntime_int8.py [--model membrane] [--batch 8]
       [--height 256] [--width 352] [--rounds 3] [--json]
"""
import argparse
import contextlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def ms_per_frame(run, batch: int, rounds: int) -> float:
    run()
    run()
    started = time.perf_counter()
    for _ in range(rounds):
        run()
    return round((time.perf_counter() - started) / rounds / batch * 1000, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="membrane")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--width", type=int, default=352, help="352: the membrane model's input with the aspect kept")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from devocore import segmentation
    from devocore.nets.quantized import int8_copy

    torch.set_num_threads(1)
    model = segmentation.load(args.model, "cpu").eval()
    x = torch.rand(args.batch, 1, args.height, args.width)
    figures = {"model": args.model, "batch": args.batch, "input": [args.height, args.width]}
    with torch.inference_mode():
        quantized = int8_copy(model, x)
        channels_last = x.contiguous(memory_format=torch.channels_last)
        figures["torch_fp32"] = ms_per_frame(lambda: model(channels_last), args.batch, args.rounds)
        if quantized is not None:
            figures["torch_int8"] = ms_per_frame(lambda: quantized(channels_last), args.batch, args.rounds)

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    inputs = {"x": x.numpy()}
    # ONNX Runtime's quantization writes scratch files into the working folder: keep them in the temporary one
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        plain, prepared, eight = (str(Path(tmp) / n) for n in ("plain.onnx", "prepared.onnx", "int8.onnx"))
        torch.onnx.export(model, x, plain, dynamo=False, opset_version=17, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
        session = ort.InferenceSession(plain, options, providers=["CPUExecutionProvider"])
        figures["onnxruntime_fp32"] = ms_per_frame(lambda: session.run(None, inputs), args.batch, args.rounds)
        quant_pre_process(plain, prepared, skip_symbolic_shape=True)

        class Random(CalibrationDataReader):
            def __init__(self):
                rng = np.random.default_rng(0)
                self.batches = iter([{"x": rng.random((1, 1, args.height, args.width), np.float32)}
                                     for _ in range(8)])

            def get_next(self):
                return next(self.batches, None)
        quantize_static(prepared, eight, Random(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, per_channel=True)
        session = ort.InferenceSession(eight, options, providers=["CPUExecutionProvider"])
        figures["onnxruntime_int8"] = ms_per_frame(lambda: session.run(None, inputs), args.batch, args.rounds)
    for key, value in figures.items():
        print(f"{key}: {value}")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
