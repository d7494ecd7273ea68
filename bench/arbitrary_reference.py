#!/usr/bin/env python3
"""PyTorch eager reference for bench_arbitrary: the same computation, image size and threads.

Paints amber.jpg scaled to --size in the manner of starry_night.jpg with
Magenta's transfer network (tests/reference/magenta_reference.py) or, with
--adain DIR, with AdaIN (tests/reference/adain_reference.py, naoto0804's
layout at relu4_1, DIR/adain/{vgg_normalised,decoder}.safetensors): the
independent implementations in torch.nn.functional, fp32, under
torch.no_grad(), as a PyTorch port would run them. As in Atelier, the style
(Magenta's vector, AdaIN's feature statistics) is computed once before the
clock starts, and each timed run pads the photo by reflection to the
network's multiple, paints it and crops back. Prints one JSON object:
milliseconds per image (median of --runs after one warm-up) and the peak
resident memory of this process.

    /usr/bin/python3 bench/arbitrary_reference.py --size 512 [--runs 5] [--threads T] [--adain DIR]
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
import adain_reference  # noqa: E402
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


def padded_run(photo, multiple, network):
    height, width = photo.shape[2], photo.shape[3]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    padded = F.pad(photo, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2], mode="reflect")
    return network(padded)[:, :, pad_h // 2:pad_h // 2 + height, pad_w // 2:pad_w // 2 + width]


def magenta_painter():
    predictor, transfer = reference.read_safetensors(str(PREDICTOR)), reference.read_safetensors(str(TRANSFER))
    style = reference.predict(predictor, load_style())
    return lambda photo: padded_run(photo, 4, lambda x: reference.transfer(transfer, x, style))


def adain_painter(folder):
    """Style statistics once (the style's shorter side at 512, as Atelier); then encode, AdaIN, decode."""
    encoder = adain_reference.read_safetensors(str(Path(folder) / "adain/vgg_normalised.safetensors"))
    decoder = adain_reference.read_safetensors(str(Path(folder) / "adain/decoder.safetensors"))
    level = (3, 0)  # relu4_1
    image = Image.open(STYLE).convert("RGB")
    scale = 512 / min(image.size)
    if scale < 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.BILINEAR)
    s_mean, s_std = adain_reference.mean_std(adain_reference.normalised_vgg(encoder, to_tensor(image), level))

    def network(x):
        c = adain_reference.normalised_vgg(encoder, x, level)
        c_mean, c_std = adain_reference.mean_std(c)
        return adain_reference.decoder(decoder, (c - c_mean) / c_std * s_std + s_mean)
    return lambda photo: padded_run(photo, 8, network)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, required=True, help="longest side in pixels")
    parser.add_argument("--runs", type=int, default=5, help="timed runs after one warm-up")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all hardware threads)")
    parser.add_argument("--adain", help="AdaIN instead of Magenta: a folder with adain/*.safetensors")
    args = parser.parse_args()
    for path in (PREDICTOR, TRANSFER, IMAGE, STYLE):
        if not path.exists():
            print(f"SKIPPED: {path} absent (the benchmark needs the real data in ../shared)")
            return
    torch.set_num_threads(args.threads if args.threads > 0 else os.cpu_count())
    photo = load_photo(args.size)
    with torch.no_grad():
        paint = adain_painter(args.adain) if args.adain else magenta_painter()
        paint(photo)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            paint(photo)
            times.append((time.perf_counter() - start) * 1000)
    method = "adain" if args.adain else "magenta"
    print(json.dumps({"implementation": "pytorch", "method": method, "size": args.size, "width": photo.shape[3],
                      "height": photo.shape[2], "threads": torch.get_num_threads(),
                      "ms_per_image": statistics.median(times),
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


if __name__ == "__main__":
    main()
