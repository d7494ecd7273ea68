#!/usr/bin/env python3
"""PyTorch eager reference for bench_arbitrary: the same computation, image size and threads.

Paints amber.jpg scaled to --size with Magenta's transfer network in the
manner of starry_night.jpg, with the independent implementation in
tests/reference/magenta_reference.py (torch.nn.functional, fp32, under
torch.no_grad(), as a PyTorch port would run it). As in Atelier, the style
vector is predicted once before the clock starts, and each timed run pads the
photo by reflection to a multiple of 4, paints it and crops back. Prints one
JSON object: milliseconds per image (median of --runs after one warm-up) and
the peak resident memory of this process.

    /usr/bin/python3 bench/arbitrary_reference.py --size 512 [--runs 5] [--threads T]
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
PREDICTOR = SHARED / "models/magenta-arbitrary/style_predict.safetensors"
TRANSFER = SHARED / "models/magenta-arbitrary/style_transfer.safetensors"
IMAGE = SHARED / "images/content/amber.jpg"
STYLE = SHARED / "images/style/starry_night.jpg"
sys.path.insert(0, str(REPO / "tests/reference"))
import magenta_reference as reference  # noqa: E402


def to_tensor(image):
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0).contiguous()


def load_photo(size):
    image = Image.open(IMAGE).convert("RGB")
    scale = size / max(image.size)
    return to_tensor(image.resize((round(image.width * scale), round(image.height * scale)), Image.BOX))


def load_style():
    image = Image.open(STYLE).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return to_tensor(image.crop((left, top, left + side, top + side)).resize((256, 256), Image.BOX))


def paint(state, photo, style):
    height, width = photo.shape[2], photo.shape[3]
    pad_h, pad_w = (-height) % 4, (-width) % 4
    padded = F.pad(photo, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2], mode="reflect")
    out = reference.transfer(state, padded, style)
    return out[:, :, pad_h // 2:pad_h // 2 + height, pad_w // 2:pad_w // 2 + width]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, required=True, help="longest side in pixels")
    parser.add_argument("--runs", type=int, default=5, help="timed runs after one warm-up")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all hardware threads)")
    args = parser.parse_args()
    for path in (PREDICTOR, TRANSFER, IMAGE, STYLE):
        if not path.exists():
            print(f"SKIPPED: {path} absent (the benchmark needs the real data in ../shared)")
            return
    torch.set_num_threads(args.threads if args.threads > 0 else os.cpu_count())
    predictor, transfer = reference.read_safetensors(str(PREDICTOR)), reference.read_safetensors(str(TRANSFER))
    photo = load_photo(args.size)
    with torch.no_grad():
        style = reference.predict(predictor, load_style())
        paint(transfer, photo, style)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            paint(transfer, photo, style)
            times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"implementation": "pytorch", "method": "magenta", "size": args.size, "width": photo.shape[3],
                      "height": photo.shape[2], "threads": torch.get_num_threads(),
                      "ms_per_image": statistics.median(times),
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


if __name__ == "__main__":
    main()
