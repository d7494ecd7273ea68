#!/usr/bin/env python3
"""PyTorch eager reference for bench_fast_style: the same network, image size and threads.

Runs pytorch/examples' TransformerNet (the independent implementation in
tests/reference/fast_style_reference.py) on amber.jpg scaled to --size, the
way pytorch/examples' neural_style.py stylises: fp32, under torch.no_grad().
Prints one JSON object: milliseconds per image (median of --runs after one
warm-up) and the peak resident memory of this process.

    /usr/bin/python3 bench/fast_style_reference.py --size 512 [--runs 5] [--threads T]
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
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
MODEL = SHARED / "models/fast-style/pytorch-examples/udnie.safetensors"
IMAGE = SHARED / "images/content/amber.jpg"
sys.path.insert(0, str(REPO / "tests/reference"))
import fast_style_reference as reference  # noqa: E402


def load_image(size):
    image = Image.open(IMAGE).convert("RGB")
    scale = size / max(image.size)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.BOX)
    return torch.from_numpy(np.asarray(image, dtype=np.float32)).permute(2, 0, 1).unsqueeze(0).contiguous()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, required=True, help="longest side in pixels")
    parser.add_argument("--runs", type=int, default=5, help="timed runs after one warm-up")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all hardware threads)")
    args = parser.parse_args()
    for path in (MODEL, IMAGE):
        if not path.exists():
            print(f"SKIPPED: {path} absent (the benchmark needs the real data in ../shared)")
            return
    torch.set_num_threads(args.threads if args.threads > 0 else os.cpu_count())
    _, network = reference.build_network(reference.read_weights(str(MODEL)))
    network.eval()
    image = load_image(args.size)
    with torch.no_grad():
        network(image)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            network(image).clamp(0, 255)
            times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"implementation": "pytorch", "size": args.size, "width": image.shape[3],
                      "height": image.shape[2], "threads": torch.get_num_threads(),
                      "ms_per_image": statistics.median(times),
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


if __name__ == "__main__":
    main()
