#!/usr/bin/python3
"""Independent PyTorch reference for Atelier's feed-forward style networks.

Run it with Debian's /usr/bin/python3 (python3-torch). It rebuilds both
architectures from their originals' structure with torch.nn modules, so that
tests can compare them with the C++ functional code in src/models/fast_style.cpp:

  - pytorch/examples fast_neural_style `transformer_net.py` (TransformerNet with
    its exact attribute names, loaded with load_state_dict(strict=True));
  - lengstrom/fast-style-transfer `src/transform.py` (TensorFlow). Its stride-2
    SAME transposed convolutions are computed the way TensorFlow defines
    conv2d_transpose: as the gradient (vector-Jacobian product) of a SAME
    stride-2 conv2d with the same filter, here with torch.autograd.

Usage:
  fast_style_reference.py --weights FILE(.safetensors|.pth) --input X.f32 \
      --shape N,3,H,W --output Y.f32
X.f32 and Y.f32 are raw little-endian float32 RGB values in 0..255, [N,3,H,W].
Prints the output shape as "N,3,H,W" on stdout.
"""
import argparse
import json
import math
import re
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F


# --------------------------------------------------------------- weights I/O

def read_safetensors(path):
    """A minimal safetensors reader: u64 header length, JSON header, raw data."""
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    data = blob[8 + header_len:]
    dtypes = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2")}
    state = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[begin:end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            values = bits.view(np.float32)
        elif info["dtype"] in dtypes:
            values = np.frombuffer(raw, dtype=dtypes[info["dtype"]]).astype(np.float32)
        else:
            raise ValueError(f"{path}: unsupported dtype {info['dtype']} for {name}")
        state[name] = torch.from_numpy(values.copy()).reshape(info["shape"])
    return state


def read_weights(path):
    if path.endswith(".pth") or path.endswith(".pt"):
        state = torch.load(path, map_location="cpu")
        return {k: v.float() for k, v in state.items()}
    return read_safetensors(path)


# ------------------------------------------- pytorch/examples TransformerNet

class ConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super().__init__()
        self.reflection_pad = torch.nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        return self.conv2d(self.reflection_pad(x))


class ResidualBlock(torch.nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.relu = torch.nn.ReLU()

    def forward(self, x):
        residual = x
        out = self.relu(self.in1(self.conv1(x)))
        out = self.in2(self.conv2(out))
        return out + residual


class UpsampleConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
        super().__init__()
        self.upsample = upsample
        self.reflection_pad = torch.nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        if self.upsample:
            x = torch.nn.functional.interpolate(x, mode="nearest", scale_factor=self.upsample)
        return self.conv2d(self.reflection_pad(x))


class TransformerNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = ConvLayer(3, 32, kernel_size=9, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(32, affine=True)
        self.conv2 = ConvLayer(32, 64, kernel_size=3, stride=2)
        self.in2 = torch.nn.InstanceNorm2d(64, affine=True)
        self.conv3 = ConvLayer(64, 128, kernel_size=3, stride=2)
        self.in3 = torch.nn.InstanceNorm2d(128, affine=True)
        self.res1 = ResidualBlock(128)
        self.res2 = ResidualBlock(128)
        self.res3 = ResidualBlock(128)
        self.res4 = ResidualBlock(128)
        self.res5 = ResidualBlock(128)
        self.deconv1 = UpsampleConvLayer(128, 64, kernel_size=3, stride=1, upsample=2)
        self.in4 = torch.nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = UpsampleConvLayer(64, 32, kernel_size=3, stride=1, upsample=2)
        self.in5 = torch.nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = ConvLayer(32, 3, kernel_size=9, stride=1)
        self.relu = torch.nn.ReLU()

    def forward(self, X):
        y = self.relu(self.in1(self.conv1(X)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        y = self.res1(y)
        y = self.res2(y)
        y = self.res3(y)
        y = self.res4(y)
        y = self.res5(y)
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)


def load_transformer_net(state):
    # As pytorch/examples' neural_style.py: old checkpoints carry running stats.
    state = {k: v for k, v in state.items() if not re.search(r"in\d+\.running_(mean|var)$", k)}
    net = TransformerNet()
    net.load_state_dict(state, strict=True)
    return net.eval()


# ------------------------------------- lengstrom/fast-style-transfer (TF)

def tf_same_padding(n, kernel, stride):
    """TF SAME: total max((ceil(n/s)-1)*s + k - n, 0), the smaller half first."""
    total = max((math.ceil(n / stride) - 1) * stride + kernel - n, 0)
    return total // 2, total - total // 2


def tf_conv2d_same(x, weight, stride):
    """tf.nn.conv2d(padding='SAME') with an [out,in,kh,kw] filter, no bias."""
    kh, kw = weight.shape[2], weight.shape[3]
    top, bottom = tf_same_padding(x.shape[2], kh, stride)
    left, right = tf_same_padding(x.shape[3], kw, stride)
    x = torch.nn.ZeroPad2d((left, right, top, bottom))(x)
    return F.conv2d(x, weight, stride=stride)


def tf_conv2d_transpose_same(x, weight, stride):
    """tf.nn.conv2d_transpose(output_shape=[N, H*s, W*s, out], padding='SAME').

    TensorFlow defines it as the gradient of conv2d with respect to its input:
    a SAME conv2d of stride s taking [N,out,H*s,W*s] to [N,in,H,W] with the
    same filter (PyTorch layout [in,out,kh,kw] is conv2d's [O,I,kh,kw] for
    that convolution). Computed with autograd as a vector-Jacobian product.
    """
    n, _, h, w = x.shape
    z = torch.zeros(n, weight.shape[1], h * stride, w * stride, dtype=x.dtype, requires_grad=True)
    with torch.enable_grad():
        y = tf_conv2d_same(z, weight.detach(), stride)
        assert y.shape == x.shape, (y.shape, x.shape)
        (grad,) = torch.autograd.grad(y, z, grad_outputs=x.detach())
    return grad


class EngstromNorm(torch.nn.Module):
    """_instance_norm: tf.nn.moments over H,W (biased variance), eps 1e-3."""

    def __init__(self, channels):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(channels))
        self.shift = torch.nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return F.instance_norm(x, weight=self.scale, bias=self.shift, eps=1e-3)


class EngstromConv(torch.nn.Module):
    """_conv_layer: SAME conv (no bias), instance norm, optional ReLU."""

    def __init__(self, in_channels, out_channels, kernel, stride, relu=True):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(out_channels, in_channels, kernel, kernel))
        self.norm = EngstromNorm(out_channels)
        self.stride = stride
        self.relu = relu

    def forward(self, x):
        y = self.norm(tf_conv2d_same(x, self.weight, self.stride))
        return F.relu(y) if self.relu else y


class EngstromConvTranspose(torch.nn.Module):
    """_conv_tranpose_layer: SAME stride-2 transposed conv, norm, ReLU."""

    def __init__(self, in_channels, out_channels, kernel, stride):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(in_channels, out_channels, kernel, kernel))
        self.norm = EngstromNorm(out_channels)
        self.stride = stride

    def forward(self, x):
        return F.relu(self.norm(tf_conv2d_transpose_same(x, self.weight, self.stride)))


class EngstromResidual(torch.nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = EngstromConv(channels, channels, 3, 1)
        self.conv2 = EngstromConv(channels, channels, 3, 1, relu=False)

    def forward(self, x):
        return x + self.conv2(self.conv1(x))


class EngstromNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = EngstromConv(3, 32, 9, 1)
        self.conv2 = EngstromConv(32, 64, 3, 2)
        self.conv3 = EngstromConv(64, 128, 3, 2)
        for i in range(1, 6):
            setattr(self, f"res{i}", EngstromResidual(128))
        self.deconv1 = EngstromConvTranspose(128, 64, 3, 2)
        self.deconv2 = EngstromConvTranspose(64, 32, 3, 2)
        self.conv_out = EngstromConv(32, 3, 9, 1, relu=False)

    def forward(self, image):
        y = self.conv3(self.conv2(self.conv1(image)))
        for i in range(1, 6):
            y = getattr(self, f"res{i}")(y)
        y = self.deconv2(self.deconv1(y))
        return torch.tanh(self.conv_out(y)) * 150 + 255.0 / 2


def load_engstrom_net(state):
    net = EngstromNet()
    net.load_state_dict(state, strict=True)
    return net.eval()


# ---------------------------------------------------------------------- main

def build_network(state):
    if "conv1.conv2d.weight" in state:
        return "pytorch-examples", load_transformer_net(state)
    if "conv1.norm.scale" in state:
        return "engstrom", load_engstrom_net(state)
    raise ValueError("neither a pytorch/examples nor an Engstrom state dict")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--shape", required=True, help="N,3,H,W")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)

    shape = [int(v) for v in args.shape.split(",")]
    if len(shape) != 4 or shape[1] != 3:
        parser.error("--shape must be N,3,H,W")
    values = np.fromfile(args.input, dtype="<f4")
    if values.size != int(np.prod(shape)):
        parser.error(f"{args.input} holds {values.size} floats, {args.shape} needs {int(np.prod(shape))}")
    x = torch.from_numpy(values.copy()).reshape(shape)

    _, net = build_network(read_weights(args.weights))
    with torch.no_grad():
        y = net(x).clamp(0, 255)
    y.contiguous().numpy().astype("<f4").tofile(args.output)
    print(",".join(str(s) for s in y.shape))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
