#!/usr/bin/python3
"""Independent PyTorch reference for training an AdaIN decoder at relu3_1.

Written from naoto0804/pytorch-AdaIN (net.py's Net.forward and losses,
function.py's calc_mean_std and adaptive_instance_normalization, train.py's
Adam) with torch.nn.functional only, so that tests can compare it with
src/train/adain_trainer.cpp. Run it with Debian's /usr/bin/python3
(python3-torch).

Usage:
  train_arbitrary_reference.py --encoder E.safetensors --decoder D.safetensors \
      --photos X.f32 --paintings S.f32 --shape N,3,H,W [--content-weight 1] \
      [--style-weight 10] [--lr 1e-4] [--steps 1]
The encoder is a torchvision-keyed VGG ("features.N.*") up to conv3_1,
torchvision input convention; the decoder naoto0804's decoder tail from its
first 256->128 conv (keys 1, 5, 8, 12, 15). X and S are raw little-endian
float32 RGB [0,1], photo i paired with painting i. Prints --steps + 1 lines,
"content style total": the losses of the decoder before each Adam step
(torch.optim.Adam defaults) on the same batch, then after the last.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from adain_reference import adain, mean_std  # noqa: E402  (naoto0804's function.py, written once)
from adain_reference import decoder as decode  # noqa: E402  (the relu3_1 tail, keys 1, 5, 8, 12, 15)
from fast_style_reference import read_safetensors  # noqa: E402  (the same minimal reader)

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
# relu1_1, relu2_1, relu3_1 of VGG19's features: (conv index, pool before it)
ENCODER = [(0, False), (2, False), (5, True), (7, False), (10, True)]
STYLE_AFTER = {0: "relu1_1", 5: "relu2_1", 10: "relu3_1"}


def encode(state, rgb):
    """The relu1_1, relu2_1, relu3_1 features of RGB [0,1] pictures."""
    h = (rgb - MEAN) / STD
    features = []
    for index, pool in ENCODER:
        if pool:
            h = F.max_pool2d(h, 2, 2)
        h = F.relu(F.conv2d(h, state[f"features.{index}.weight"], state[f"features.{index}.bias"], padding=1))
        if index in STYLE_AFTER:
            features.append(h)
    return features


def losses(encoder, weights, photos, paintings, content_weight, style_weight):
    with torch.no_grad():
        painting_features = encode(encoder, paintings)
        t = adain(encode(encoder, photos)[-1], painting_features[-1])
    output_features = encode(encoder, decode(weights, t))
    content = F.mse_loss(output_features[-1], t)
    style = 0
    for out, target in zip(output_features, painting_features):
        out_mean, out_std = mean_std(out)
        target_mean, target_std = mean_std(target)
        style = style + F.mse_loss(out_mean, target_mean) + F.mse_loss(out_std, target_std)
    return content, style, content_weight * content + style_weight * style


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", required=True)
    parser.add_argument("--decoder", required=True)
    parser.add_argument("--photos", required=True)
    parser.add_argument("--paintings", required=True)
    parser.add_argument("--shape", required=True)
    parser.add_argument("--content-weight", type=float, default=1.0)
    parser.add_argument("--style-weight", type=float, default=10.0)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--steps", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    shape = [int(v) for v in args.shape.split(",")]
    read = lambda path: torch.from_numpy(np.fromfile(path, dtype="<f4").copy()).reshape(shape)
    photos, paintings = read(args.photos), read(args.paintings)
    encoder = read_safetensors(args.encoder)
    weights = {key: value.clone().requires_grad_(True) for key, value in read_safetensors(args.decoder).items()}
    optimiser = torch.optim.Adam(list(weights.values()), lr=args.lr)

    for _ in range(args.steps):
        content, style, total = losses(encoder, weights, photos, paintings, args.content_weight, args.style_weight)
        print(f"{content.item():.9g} {style.item():.9g} {total.item():.9g}")
        optimiser.zero_grad()
        total.backward()
        optimiser.step()
    with torch.no_grad():
        content, style, total = losses(encoder, weights, photos, paintings, args.content_weight, args.style_weight)
    print(f"{content.item():.9g} {style.item():.9g} {total.item():.9g}")


if __name__ == "__main__":
    main()
