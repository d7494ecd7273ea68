#!/usr/bin/env python3
"""Style and content measures of painted pictures, independent of the network that painted them.

For each (photo, painting, output) it computes, with the shared partial Caffe
VGG-19 in PyTorch (torch.nn.functional only):
  - at relu1_1, relu2_1 and relu3_1, the distance of the output's Gram matrix
    to the painting's, and the photo's to the painting's (Frobenius norm of
    the difference; Gram = F F^T / positions, so sizes need not match);
    the style is taken when every output distance is the smaller;
  - the Pearson correlation of the output's relu3_2 features with the
    photo's (the content is kept when it is >= 0.3).
Pictures are read at their own size (the caller paints at 512 px).

    /usr/bin/python3 bench/style_quality.py --manifest pairs.json [--vgg PATH] > metrics.json
pairs.json: [{"photo": ..., "painting": ..., "output": ..., "method": ...}, ...]
Prints one JSON object: the rows and, per method, the pairs that pass.
"""
import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests/reference"))
from fast_style_reference import read_safetensors  # noqa: E402

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1")
CONTENT_LAYER = "relu3_2"
# features.N index of each conv, and the layer names up to relu3_2 (VGG-19).
CONVS = [("conv1_1", 0), ("conv1_2", 2), "pool", ("conv2_1", 5), ("conv2_2", 7), "pool", ("conv3_1", 10),
         ("conv3_2", 12)]
CAFFE_MEAN_BGR = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)


def load(path):
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    return torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).contiguous()  # 0..255


def features(state, rgb255):
    x = rgb255.flip(1) - CAFFE_MEAN_BGR  # Caffe: BGR, 0..255, minus the mean
    out = {}
    for layer in CONVS:
        if layer == "pool":
            x = F.max_pool2d(x, 2)
            continue
        name, index = layer
        x = F.relu(F.conv2d(x, state[f"features.{index}.weight"], state[f"features.{index}.bias"], padding=1))
        out["relu" + name[4:]] = x
    return out


def gram(x):
    flat = x.flatten(2)[0]
    return flat @ flat.T / flat.shape[1]


def correlation(a, b):
    a, b = a.flatten() - a.mean(), b.flatten() - b.mean()
    return float((a @ b) / (a.norm() * b.norm() + 1e-12))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--vgg", default=str(REPO.parent / "shared/models/vgg19-caffe-partial.safetensors"))
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    state = read_safetensors(args.vgg)
    cache = {}

    def features_of(path):
        if path not in cache:
            cache[path] = features(state, load(path))
        return cache[path]

    rows, passed, total = [], {}, {}
    with torch.no_grad():
        for pair in json.load(open(args.manifest)):
            photo, painting = features_of(pair["photo"]), features_of(pair["painting"])
            output = features(state, load(pair["output"]))
            row = dict(pair)
            style_ok = True
            for layer in STYLE_LAYERS:
                target = gram(painting[layer])
                row[f"{layer}_output"] = float((gram(output[layer]) - target).norm())
                row[f"{layer}_photo"] = float((gram(photo[layer]) - target).norm())
                style_ok &= row[f"{layer}_output"] < row[f"{layer}_photo"]
            if output[CONTENT_LAYER].shape != photo[CONTENT_LAYER].shape:
                raise SystemExit(f"{pair['output']}: not the photo's size")
            row["content_correlation"] = correlation(output[CONTENT_LAYER], photo[CONTENT_LAYER])
            row["style_closer"] = style_ok
            row["passes"] = style_ok and row["content_correlation"] >= 0.3
            method = pair.get("method", "")
            total[method] = total.get(method, 0) + 1
            passed[method] = passed.get(method, 0) + int(row["passes"])
            rows.append(row)
    print(json.dumps({"rows": rows, "passed": passed, "total": total}, indent=1))


if __name__ == "__main__":
    main()
