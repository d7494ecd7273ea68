#!/usr/bin/python3
"""Independent PyTorch reference for Magenta's arbitrary style networks.

Written from ../shared/models/magenta-arbitrary/README.md alone, with
torch.nn.functional only, so that tests can compare it with the C++ code in
src/models/magenta.cpp. Run it with Debian's /usr/bin/python3 (python3-torch).

Usage:
  magenta_reference.py predict --weights style_predict.safetensors \
      --input X.f32 --shape N,3,H,W --output S.f32
  magenta_reference.py transfer --weights style_transfer.safetensors \
      --input X.f32 --shape N,3,H,W --style S.f32 --output Y.f32
X.f32, S.f32 and Y.f32 are raw little-endian float32: images RGB in [0,1]
[N,3,H,W], style vectors [N,100] (or [1,100] for the whole batch).
Prints the output shape ("N,100" or "N,3,H,W") as its last line.
"""
import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fast_style_reference import read_safetensors  # noqa: E402  (the same minimal reader)

# (expand ratio applied?, hidden, out, stride, residual) of blocks 0..16, per the README's table.
BLOCKS = [
    (False, 32, 16, 1, False),
    (True, 96, 24, 2, False), (True, 144, 24, 1, True),
    (True, 144, 32, 2, False), (True, 192, 32, 1, True), (True, 192, 32, 1, True),
    (True, 192, 64, 2, False), (True, 384, 64, 1, True), (True, 384, 64, 1, True), (True, 384, 64, 1, True),
    (True, 384, 96, 1, False), (True, 576, 96, 1, True), (True, 576, 96, 1, True),
    (True, 576, 160, 2, False), (True, 960, 160, 1, True), (True, 960, 160, 1, True),
    (True, 960, 320, 1, False),
]
EPS = 1.0013580322265625e-05


def same_conv(x, w, b, stride, groups=1):
    """TensorFlow SAME: out = ceil(n/s), pad_total = max((out-1)*s+k-n, 0), the odd one after."""
    k = w.shape[-1]
    pads = []
    for n in (x.shape[3], x.shape[2]):  # F.pad wants (left, right, top, bottom)
        out = math.ceil(n / stride)
        total = max((out - 1) * stride + k - n, 0)
        pads += [total // 2, total - total // 2]
    return F.conv2d(F.pad(x, pads), w, b, stride=stride, groups=groups)


def predict(state, x):
    p = lambda name: state["predictor." + name]  # noqa: E731
    h = same_conv(x, p("conv0.weight"), p("conv0.bias"), 2).clamp(0, 6)
    for i, (expand, hidden, out, stride, residual) in enumerate(BLOCKS):
        y = h
        if expand:
            y = same_conv(y, p(f"block{i}.expand.weight"), p(f"block{i}.expand.bias"), 1).clamp(0, 6)
        y = same_conv(y, p(f"block{i}.depthwise.weight"), p(f"block{i}.depthwise.bias"), stride,
                      groups=hidden).clamp(0, 6)
        y = same_conv(y, p(f"block{i}.project.weight"), p(f"block{i}.project.bias"), 1)
        assert y.shape[1] == out
        h = y + h if residual else y
    h = same_conv(h, p("conv_last.weight"), p("conv_last.bias"), 1).clamp(0, 6)
    h = h.mean(dim=(2, 3), keepdim=True)
    s = same_conv(h, p("bottleneck.weight"), p("bottleneck.bias"), 1)
    return s.reshape(s.shape[0], 100)


def transfer(state, x, s):
    t = lambda name: state["transfer." + name]  # noqa: E731

    def conv(h, name, stride=1):
        w = t(name + ".weight")
        k = w.shape[-1]
        bias = state.get("transfer." + name + ".bias")
        return F.conv2d(F.pad(h, [k // 2] * 4, mode="reflect"), w, bias, stride=stride)

    def cin(h, name):
        mean = h.mean(dim=(2, 3), keepdim=True)
        var = ((h - mean) ** 2).mean(dim=(2, 3), keepdim=True)
        r = torch.rsqrt(var + EPS)
        gamma = s @ t(name + ".norm.gamma.weight").T + t(name + ".norm.gamma.bias")
        beta = s @ t(name + ".norm.beta.weight").T + t(name + ".norm.beta.bias")
        m = r * gamma[:, :, None, None]
        return h * m + (beta[:, :, None, None] - mean * m)

    h = F.relu(conv(x, "contract.conv1"))
    h = F.relu(conv(h, "contract.conv2", 2))
    h = F.relu(conv(h, "contract.conv3", 2))
    for r in range(1, 6):
        name = f"residual{r}"
        y = F.relu(cin(conv(h, name + ".conv1"), name + ".conv1"))
        y = cin(conv(y, name + ".conv2"), name + ".conv2")
        h = h + y
    for name in ("expand.conv1", "expand.conv2"):
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = F.relu(cin(conv(h, name), name))
    return torch.sigmoid(cin(conv(h, "expand.conv3"), "expand.conv3"))


def read_f32(path, shape):
    values = np.fromfile(path, dtype="<f4")
    return torch.from_numpy(values.copy()).reshape(shape)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["predict", "transfer"])
    parser.add_argument("--weights", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--shape", required=True)
    parser.add_argument("--style")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    state = read_safetensors(args.weights)
    x = read_f32(args.input, [int(v) for v in args.shape.split(",")])
    with torch.no_grad():
        if args.mode == "predict":
            y = predict(state, x)
        else:
            s = read_f32(args.style, [-1, 100])
            y = transfer(state, x, s)
    y.contiguous().numpy().astype("<f4").tofile(args.output)
    print(",".join(str(v) for v in y.shape))


if __name__ == "__main__":
    main(sys.argv[1:])
