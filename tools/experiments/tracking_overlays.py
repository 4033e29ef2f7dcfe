"""A worm video with a black time stamp and scale bar burned into every frame, as microscope software exports it.

Writes a copy of VIDEO (MJPG AVI) with the elapsed time ("t = 1.23 s", top left) and a scale bar (bottom right)
drawn in black, to see what `track` makes of them:

    PYTHONPATH=. python tools/experiments/tracking_overlays.py --video assets/examples/tracking/worms.mp4 \\
        --out out/worms_stamped.avi
    python -m devocore track out/worms_stamped.avi --out out/worms_stamped.csv
    python -m devocore eval tracking --video out/worms_stamped.avi --truth assets/examples/tracking/truth.csv --json
"""
import argparse

import cv2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", required=True)
    parser.add_argument("--out", required=True, help="the stamped copy (.avi)")
    args = parser.parse_args()
    capture = cv2.VideoCapture(args.video)
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    writer, count = None, 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        height, width = frame.shape[:2]
        cv2.putText(frame, f"t = {count / fps:5.2f} s", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0), 2)
        cv2.rectangle(frame, (width - 120, height - 25), (width - 20, height - 19), (0, 0, 0), -1)
        if writer is None:
            writer = cv2.VideoWriter(args.out, cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
        writer.write(frame)
        count += 1
    capture.release()
    if writer is not None:
        writer.release()
    print(f"{count} frames -> {args.out}")


if __name__ == "__main__":
    main()
