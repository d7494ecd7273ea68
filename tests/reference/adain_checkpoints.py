#!/usr/bin/python3
"""Checkpoints in the layout of naoto0804/pytorch-AdaIN, for import tests.

  adain_checkpoints.py write DIR
      writes DIR/vgg_normalised.pth (the vgg Sequential to relu4_1, as
      naoto0804's train.py keeps it, list(vgg.children())[:31]) and
      DIR/decoder.pth with random weights, as torch.save(state_dict) does,
      plus damaged ones: foreign.pth (another network's keys), misshapen.pth (a
      decoder with one kernel of the wrong shape) and truncated.pth (the first
      half of decoder.pth's bytes).
  adain_checkpoints.py compare A.pth A.safetensors [B.pth B.safetensors ...]
      exits 0 when each pair holds the same keys and bit-identical float32
      tensors.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fast_style_reference import read_safetensors  # noqa: E402

VGG19 = [(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)]
DECODER = [(1, 512, 256), (5, 256, 256), (8, 256, 256), (11, 256, 256), (14, 256, 128), (18, 128, 128),
           (21, 128, 64), (25, 64, 64), (28, 64, 3)]


def vgg_state():
    state = {"0.weight": torch.randn(3, 3, 1, 1), "0.bias": torch.randn(3)}
    index, channels = 1, 3
    for block, (convs, width) in enumerate(VGG19):
        for _ in range(convs):
            state[f"{index + 1}.weight"] = torch.randn(width, channels, 3, 3) * 0.05
            state[f"{index + 1}.bias"] = torch.randn(width) * 0.05
            index, channels = index + 3, width
            if index > 29:  # conv4_1 was index 29: relu4_1 is the last layer kept
                return state
        index += 1
    return state


def decoder_state():
    state = {}
    for index, cin, cout in DECODER:
        state[f"{index}.weight"] = torch.randn(cout, cin, 3, 3) * 0.05
        state[f"{index}.bias"] = torch.randn(cout) * 0.05
    return state


def write(folder):
    torch.manual_seed(5)
    torch.save(vgg_state(), os.path.join(folder, "vgg_normalised.pth"))
    decoder = decoder_state()
    torch.save(decoder, os.path.join(folder, "decoder.pth"))
    torch.save({"encoder.weight": torch.randn(4, 4), "encoder.bias": torch.randn(4)},
               os.path.join(folder, "foreign.pth"))
    decoder["5.weight"] = torch.randn(256, 256, 1, 1)
    torch.save(decoder, os.path.join(folder, "misshapen.pth"))
    with open(os.path.join(folder, "decoder.pth"), "rb") as f:
        blob = f.read()
    with open(os.path.join(folder, "truncated.pth"), "wb") as f:
        f.write(blob[:len(blob) // 2])


def compare(pth, safetensors):
    ours, theirs = torch.load(pth, map_location="cpu"), read_safetensors(safetensors)
    if sorted(ours) != sorted(theirs):
        sys.exit(f"keys differ: {sorted(set(ours) ^ set(theirs))}")
    for key, tensor in ours.items():
        if not torch.equal(tensor.float(), theirs[key]):
            sys.exit(f"{key} differs")
    print(f"{len(ours)} tensors equal")


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        for i in range(2, len(sys.argv), 2):
            compare(sys.argv[i], sys.argv[i + 1])
