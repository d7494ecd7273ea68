#!/usr/bin/python3
"""Reference for bench_gatys: the same Gatys style transfer in PyTorch eager.

Measures what bench/bench_gatys.cpp measures, for one size per invocation:
seconds per L-BFGS iteration (timed from the end of iteration 2 to the end of
the last) and the peak resident memory of this process (ru_maxrss). Same
weights (../shared/models/vgg19-caffe-partial.safetensors, Caffe input
convention), images (tubingen.jpg, starry_night.jpg, longest side = size),
layers (content relu3_2; style relu1_1, relu2_1, relu3_1), losses, weights
and L-BFGS settings as atelier::stylize_gatys.

Needs Debian's python3-torch and python3-pil, hence /usr/bin/python3:
    /usr/bin/python3 bench/gatys_reference.py --size 256 [--iterations 20] [--threads T] [--json]
bench/run_gatys.sh runs it beside bench_gatys and prints the ratios.
"""
import argparse
import json
import math
import os
import resource
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
CONTENT = "images/content/tubingen.jpg"
STYLE = "images/style/starry_night.jpg"
WEIGHTS = "models/vgg19-caffe-partial.safetensors"

CONTENT_LAYERS = ["relu3_2"]
STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1"]
CONTENT_WEIGHT, STYLE_WEIGHT, TV_WEIGHT = 1.0, 1.0e3, 10.0
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def read_safetensors(path):
    """Tensors of a safetensors file as float32 (F16 and F32 only)."""
    data = Path(path).read_bytes()
    (header_length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_length])
    body = data[8 + header_length :]
    dtypes = {"F16": np.float16, "F32": np.float32}
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        array = np.frombuffer(body[begin:end], dtype=dtypes[entry["dtype"]]).reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.astype(np.float32))
    return tensors


# Convolutions per block of VGG19, as far as the partial weights go.
VGG19_BLOCKS = [2, 2, 4]


def vgg19_layers(wanted):
    """[(name, kind, torchvision "features" index)] of VGG19 up to the deepest wanted layer."""
    layers, index = [], 0
    for block, convs in enumerate(VGG19_BLOCKS, start=1):
        for conv in range(1, convs + 1):
            layers += [(f"conv{block}_{conv}", "conv", index), (f"relu{block}_{conv}", "relu", index + 1)]
            index += 2
        layers.append((f"pool{block}", "pool", index))
        index += 1
    deepest = max(i for i, (name, _, _) in enumerate(layers) if name in wanted)
    return layers[: deepest + 1]


class Vgg:
    def __init__(self, weights, wanted):
        self.weights = weights
        self.wanted = set(wanted)
        self.layers = vgg19_layers(self.wanted)
        self.mean = torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)

    def __call__(self, rgb01):
        """Features at the wanted layers of an RGB [0,1] image [1,3,H,W], Caffe convention."""
        x = rgb01.flip(1) * 255.0 - self.mean
        features = {}
        for name, kind, index in self.layers:
            if kind == "conv":
                weight, bias = self.weights[f"features.{index}.weight"], self.weights[f"features.{index}.bias"]
                x = torch.conv2d(x, weight, bias, padding=1)
            elif kind == "relu":
                x = torch.relu(x)
            else:
                x = torch.max_pool2d(x, 2, 2)
            if name in self.wanted:
                features[name] = x
        return features


def gram(features):
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return torch.bmm(flat, flat.transpose(1, 2)) / (c * h * w)


def relative_squared_error(value, target):
    return (value - target).pow(2).mean() / target.pow(2).mean().detach().clamp_min(1e-12)


def total_variation(image):
    dy = image[:, :, 1:, :] - image[:, :, :-1, :]
    dx = image[:, :, :, 1:] - image[:, :, :, :-1]
    return dy.pow(2).mean() + dx.pow(2).mean()


def load_image(path, size):
    """RGB [0,1] tensor [1,3,H,W], longest side `size` (area filter, as atelier)."""
    image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    scale = size / max(image.size)
    width, height = (max(1, math.floor(side * scale + 0.5)) for side in image.size)
    rgb = np.asarray(image, dtype=np.float32) / 255.0
    channels = [Image.fromarray(rgb[:, :, c], mode="F").resize((width, height), Image.BOX) for c in range(3)]
    return torch.from_numpy(np.stack([np.asarray(channel) for channel in channels])).unsqueeze(0).contiguous()


def measure(size, iterations, weights_path, precision, keep_image=False):
    network = Vgg(read_safetensors(weights_path), CONTENT_LAYERS + STYLE_LAYERS)
    content = load_image(SHARED / CONTENT, size)
    style = load_image(SHARED / STYLE, size)
    with torch.no_grad():
        content_features, style_features = network(content), network(style)
        content_targets = {layer: content_features[layer] for layer in CONTENT_LAYERS}
        style_targets = {layer: gram(style_features[layer]) for layer in STYLE_LAYERS}

    image = content.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([image], lr=1, max_iter=iterations, max_eval=iterations, history_size=100,
                                  tolerance_grad=-1, tolerance_change=-1)
    ends, losses = [], []

    def closure():
        optimizer.zero_grad()
        clamped = image.clamp(0, 1)
        # Same autocast region as Atelier's --precision bf16: network and Grams.
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            features = network(clamped)
            grams = {l: gram(features[l]) for l in style_targets}
        content_loss = sum(relative_squared_error(features[l].float(), t) for l, t in content_targets.items())
        style_loss = sum(relative_squared_error(grams[l].float(), t) for l, t in style_targets.items())
        total = (CONTENT_WEIGHT / len(content_targets) * content_loss
                 + STYLE_WEIGHT / len(style_targets) * style_loss
                 + TV_WEIGHT * total_variation(clamped))
        losses.append(total.item())
        total.backward()
        ends.append(time.perf_counter())
        return total

    optimizer.step(closure)
    return {
        "implementation": "pytorch",
        "precision": precision,
        "size": size,
        "width": content.shape[3],
        "height": content.shape[2],
        "iterations": len(ends),
        "threads": torch.get_num_threads(),
        "seconds_per_iteration": (ends[-1] - ends[1]) / (len(ends) - 2),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,  # ru_maxrss is in KiB
        "first_loss": losses[0],
        "final_loss": losses[-1],
        **({"image": image.detach().clamp(0, 1)} if keep_image else {}),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, required=True, help="longest side in pixels")
    parser.add_argument("--iterations", type=int, default=20, help="L-BFGS iterations (at least 3)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all hardware threads)")
    parser.add_argument("--weights", default=str(SHARED / WEIGHTS), help="VGG19 Caffe safetensors")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="bf16: autocast as in Atelier")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.iterations < 3:
        parser.error("--iterations must be at least 3")
    if args.weights != str(SHARED / WEIGHTS) and not Path(args.weights).exists():
        parser.error(f"--weights {args.weights}: not found")

    for path in (Path(args.weights), SHARED / CONTENT, SHARED / STYLE):
        if not path.exists():
            print(f"SKIPPED: {path} absent (the benchmark needs the real data in ../shared)")
            return
    torch.set_num_threads(args.threads if args.threads > 0 else os.cpu_count())
    row = measure(args.size, args.iterations, args.weights, args.precision)
    if args.json:
        print(json.dumps(row))
        return
    print("PyTorch eager Gatys reference, L-BFGS, content relu3_2, style relu1_1,relu2_1,relu3_1")
    print(f"{row['iterations']} iterations (timed from the 3rd), {row['threads']} threads, {args.weights}")
    print(f"{'size':>6}  {'image':>9}  {'s/iter':>8}  {'peak RSS MiB':>12}")
    image = f"{row['width']}x{row['height']}"
    print(f"{row['size']:>6}  {image:>9}  {row['seconds_per_iteration']:>8.3f}  {row['peak_rss_mib']:>12.1f}")


if __name__ == "__main__":
    sys.exit(main())
