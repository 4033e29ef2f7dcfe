"""Where the 8-bit copy of a segmentation model spends its time on this CPU: one batch, one thread, torch's profiler.

Prints the milliseconds per frame and the share of the time in each kind of operation (the 8-bit convolutions,
upsampling, the floating-point merge of the pyramid levels, ...).

Usage: PYTHONPATH=. python tools/experiments/int8_profile.py [--model membrane] [--batch 8] [--height 256] [--width 352] [--json]
"""
import argparse
import json
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="membrane")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--width", type=int, default=352, help="352: the membrane model's input with the aspect kept")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from torch.profiler import ProfilerActivity, profile

    from devocore import segmentation
    from devocore.nets.quantized import int8_copy

    torch.set_num_threads(1)
    model = segmentation.load(args.model, "cpu")
    x = torch.rand(args.batch, 1, args.height, args.width)
    quantized = int8_copy(model, x)
    if quantized is None:
        raise SystemExit(f"{args.model} has no 8-bit copy on this CPU")
    x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        for _ in range(2):
            quantized(x)
        started = time.perf_counter()
        quantized(x)
        ms = (time.perf_counter() - started) / args.batch * 1000
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            quantized(x)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    shares = {e.key: round(e.self_cpu_time_total / total, 3) for e in
              sorted(events, key=lambda e: -e.self_cpu_time_total)[:8]}
    print(f"{args.model}, 8 bits, batch {args.batch} at {args.height} x {args.width}, one thread: {ms:.1f} ms a frame")
    for name, share in shares.items():
        print(f"  {share:6.1%}  {name}")
    if args.json:
        print(json.dumps({"model": args.model, "ms_per_frame": round(ms, 2), "shares": shares}))


if __name__ == "__main__":
    main()
