#!/usr/bin/python3
"""Independent PyTorch reference for AdaIN (Huang & Belongie 2017).

Written from the layout of naoto0804/pytorch-AdaIN (net.py, function.py,
test.py) and the spatial control of the original AdaIN test code, with
torch.nn.functional only, so that tests can compare it with the C++ code in
src/models/adain.cpp and src/pipeline/adain_style.cpp. Run it with Debian's
/usr/bin/python3 (python3-torch).

Usage:
  adain_reference.py --encoder E.safetensors --decoder D.safetensors \
      --content X.f32 --content-shape 1,3,H,W --styles S.f32 --style-shape K,3,h,w \
      [--weights 0.7,0.3] [--alpha 0.8] [--mask M.f32 --mask-shape H,W] \
      [--multiple 8] --output Y.f32
The encoder is naoto0804's vgg_normalised layout ("0.weight", "2.weight", ...)
or a torchvision-keyed VGG ("features.N.*", Caffe input convention, zero
padding) that AdaIN uses up to relu3_1. X, S, M and Y are raw little-endian
float32; images RGB [0,1]. --multiple pads the content by reflection to a
multiple of that (the extra split evenly, the odd pixel after) and crops the
output back. Prints the output shape as its last line.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fast_style_reference import read_safetensors  # noqa: E402  (the same minimal reader)

EPS = 1e-5
VGG19_BLOCKS = [(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)]


def normalised_vgg(state, x, level):
    """vgg_normalised: 1x1 conv, then (reflect pad, 3x3 conv, relu)s and ceil-mode pools."""
    h = F.conv2d(x, state["0.weight"], state["0.bias"])
    index = 1
    for block, (convs, _) in enumerate(VGG19_BLOCKS):
        for conv in range(convs):
            h = F.relu(F.conv2d(F.pad(h, (1, 1, 1, 1), mode="reflect"),
                                state[f"{index + 1}.weight"], state[f"{index + 1}.bias"]))
            if (block, conv) == level:
                return h
            index += 3
        h = F.max_pool2d(h, 2, 2, ceil_mode=True)
        index += 1
    raise ValueError("level beyond the network")


def caffe_vgg(state, x, level):
    """torchvision-keyed VGG19 on Caffe input (BGR 0..255 minus the mean), zero padding."""
    mean = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    h = x.flip(1) * 255.0 - mean
    index = 0
    for block, (convs, _) in enumerate(VGG19_BLOCKS):
        for conv in range(convs):
            h = F.relu(F.conv2d(h, state[f"features.{index}.weight"], state[f"features.{index}.bias"], padding=1))
            if (block, conv) == level:
                return h
            index += 2
        h = F.max_pool2d(h, 2, 2)
        index += 1
    raise ValueError("level beyond the network")


# (index in naoto0804's decoder Sequential, upsample before it?) of its convs.
DECODER_CONVS = [(1, False), (5, True), (8, False), (11, False), (14, False), (18, True), (21, False),
                 (25, True), (28, False)]


def decoder(state, t):
    """From relu4_1 the whole decoder; from relu3_1 its tail from the 256->128 conv (keys renumbered)."""
    full = state["1.weight"].shape[1] == 512
    convs = DECODER_CONVS if full else [(i - 13, up) for i, up in DECODER_CONVS if i >= 14]
    h = t
    for n, (index, upsample) in enumerate(convs):
        if upsample:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = F.conv2d(F.pad(h, (1, 1, 1, 1), mode="reflect"), state[f"{index}.weight"], state[f"{index}.bias"])
        if n + 1 < len(convs):
            h = F.relu(h)
    return h


def mean_std(feat):
    """Per channel over H,W: mean and sqrt(unbiased var + eps), [N,C,1,1]."""
    n, c = feat.shape[:2]
    flat = feat.reshape(n, c, -1)
    return flat.mean(2).view(n, c, 1, 1), (flat.var(2, unbiased=True) + EPS).sqrt().view(n, c, 1, 1)


def adain(content, style):
    c_mean, c_std = mean_std(content)
    s_mean, s_std = mean_std(style)
    return (content - c_mean) / c_std * s_std + s_mean


def masked_adain(content, style_fg, style_bg, mask):
    """Each region of the mask normalised by its own statistics, given its style's."""
    c = content.shape[1]
    flat = content.reshape(c, -1)
    where = F.interpolate(mask[None, None], size=content.shape[2:], mode="nearest").reshape(-1) >= 0.5
    out = torch.zeros_like(flat)
    for region, style in ((where, style_fg), (~where, style_bg)):
        if region.sum() == 0:
            continue
        part = flat[:, region]
        mean = part.mean(1, keepdim=True)
        var = ((part - mean) ** 2).sum(1, keepdim=True) / max(part.shape[1] - 1, 1)
        s_mean, s_std = mean_std(style)
        out[:, region] = (part - mean) / (var + EPS).sqrt() * s_std.view(c, 1) + s_mean.view(c, 1)
    return out.view_as(content)


def read_f32(path, shape):
    values = np.fromfile(path, dtype="<f4")
    return torch.from_numpy(values.copy()).reshape(shape)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("--encoder", "--decoder", "--content", "--content-shape", "--styles", "--style-shape", "--output"):
        parser.add_argument(name, required=True)
    parser.add_argument("--weights", default="")
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--mask")
    parser.add_argument("--mask-shape")
    parser.add_argument("--multiple", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    enc_state, dec_state = read_safetensors(args.encoder), read_safetensors(args.decoder)
    relu4_1 = dec_state["1.weight"].shape[1] == 512
    level = (3, 0) if relu4_1 else (2, 0)
    encode = normalised_vgg if "0.weight" in enc_state else caffe_vgg
    content = read_f32(args.content, [int(v) for v in args.content_shape.split(",")])
    styles = read_f32(args.styles, [int(v) for v in args.style_shape.split(",")])
    height, width = content.shape[2:]
    m = args.multiple
    pad_h, pad_w = (-height) % m, (-width) % m
    top, left = pad_h // 2, pad_w // 2
    padded = F.pad(content, (left, pad_w - left, top, pad_h - top), mode="reflect") if pad_h or pad_w else content
    with torch.no_grad():
        c = encode(enc_state, padded, level)
        s = [encode(enc_state, styles[i:i + 1], level) for i in range(styles.shape[0])]
        if args.mask:
            mask = read_f32(args.mask, [int(v) for v in args.mask_shape.split(",")])
            mask = F.pad(mask[None, None], (left, pad_w - left, top, pad_h - top), mode="reflect")[0, 0] \
                if pad_h or pad_w else mask
            t = masked_adain(c, s[0], s[1], mask)
        else:
            weights = [float(v) for v in args.weights.split(",")] if args.weights else [1.0] * len(s)
            total = sum(weights)
            t = sum(w / total * adain(c, f) for w, f in zip(weights, s))
        t = args.alpha * t + (1 - args.alpha) * c
        y = decoder(dec_state, t)[:, :, top:top + height, left:left + width]
    y.contiguous().numpy().astype("<f4").tofile(args.output)
    print(",".join(str(v) for v in y.shape))


if __name__ == "__main__":
    main(sys.argv[1:])
