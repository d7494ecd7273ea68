#!/usr/bin/python3
"""Time to a finished painting: Atelier's Gatys against PyTorch eager (not a test).

What a user waits for is the wall time until the picture is as good as the
reference's, not the time per iteration. This benchmark:

1. runs the reference (bench/gatys_reference.py: neural-style's recipe,
   L-BFGS at SIZE px, fp32, the same losses and layers) for 500 iterations in
   its own process, saving its picture (8 bits, as Atelier saves) and the wall
   time from the process's start;
2. runs `atelier stylize --method gatys` with its own defaults (plus any
   ATELIER_ARGS) at SIZE px, saving a snapshot every few iterations, and notes
   each snapshot's wall time from the process's start;
3. scores every picture with one independent loss computed here, outside both
   programs (the reference's formula in fp32 on the 8-bit pictures at SIZE px),
   and reports when Atelier's first reached the reference's final score.

    /usr/bin/python3 bench/gatys_time_to_quality.py [--build build] [--size 512] [--threads N]
    ATELIER_ARGS="--scales 256,362,512 -n 150" /usr/bin/python3 bench/gatys_time_to_quality.py
    ... --precision bf16          # Atelier in bf16 (where the CPU has it natively); the reference stays fp32
    ... --keep-reference DIR   # reuse the reference's run from DIR when it was made here at this size

The reference takes about 10 minutes at 512 px on 2 cores; --keep-reference
lets several Atelier settings be compared against one run of it (its
timing is only reused on the same machine, threads and size).

Prints "SKIPPED: ..." and exits 0 when ../shared is absent.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gatys_reference as reference  # noqa: E402  (the same data, layers and losses)

REFERENCE_ITERATIONS = 500


def independent_loss(network, content_targets, style_targets, picture_path, size, content_shape):
    """The reference's total loss of an 8-bit picture, resized to the content's size if it differs."""
    image = Image.open(picture_path).convert("RGB")
    height, width = content_shape
    if image.size != (width, height):
        image = image.resize((width, height), Image.BICUBIC)
    rgb = torch.from_numpy(np.asarray(image, np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0).contiguous()
    with torch.no_grad():
        features = network(rgb)
        grams = {l: reference.gram(features[l]) for l in style_targets}
        content = sum(reference.relative_squared_error(features[l], t) for l, t in content_targets.items())
        style = sum(reference.relative_squared_error(grams[l], t) for l, t in style_targets.items())
        total = (reference.CONTENT_WEIGHT / len(content_targets) * content
                 + reference.STYLE_WEIGHT / len(style_targets) * style
                 + reference.TV_WEIGHT * reference.total_variation(rgb))
    return float(total)


def machine_name():
    return next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")


def kept_reference(size, threads, keep):
    """The reference run kept in `keep` for this machine, threads and size, or None."""
    row_path, picture = keep / f"reference_{size}.json", keep / f"reference_{size}.png"
    if not (row_path.exists() and picture.exists()):
        return None
    row = json.loads(row_path.read_text())
    same = (row.get("machine"), row.get("threads"), row.get("cores")) == (machine_name(), threads, os.cpu_count())
    return (row, picture) if same else None


def run_reference(size, threads, work):
    """The reference's 500 iterations in a fresh process: (seconds from its start, picture path)."""
    picture = work / f"reference_{size}.png"
    code = f"""
import sys, time, torch, numpy as np
from PIL import Image
start = time.perf_counter()
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
import gatys_reference as r
torch.set_num_threads({threads})
row = r.measure({size}, {REFERENCE_ITERATIONS}, str(r.SHARED / r.WEIGHTS), "fp32", keep_image=True)
image = (row.pop("image").clamp(0, 1)[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
Image.fromarray(image).save({str(picture)!r})
row["seconds_from_start"] = time.perf_counter() - start
print(__import__("json").dumps(row))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    row = json.loads(out.strip().splitlines()[-1])
    row.update(machine=machine_name(), threads=threads, cores=os.cpu_count())
    (work / f"reference_{size}.json").write_text(json.dumps(row))
    return row, picture


def run_atelier(build, size, threads, every, work, extra, precision):
    """Atelier with its defaults: [(seconds from its start, snapshot path)] and its final picture."""
    output = work / "atelier.png"
    command = [str(build / "atelier"), "stylize", "--method", "gatys",
               "-c", str(reference.SHARED / reference.CONTENT), "-s", str(reference.SHARED / reference.STYLE),
               "--size", str(size), "--threads", str(threads), "--save-every", str(every), "--checkpoint-every", "0",
               "--models-dir", str(reference.SHARED / "models"), "--precision", precision, "--json", "-o", str(output)]
    command += extra.split()
    start = time.perf_counter()
    snapshots = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        for line in process.stdout:
            now = time.perf_counter() - start
            event = json.loads(line) if line.startswith("{") else {}
            if event.get("event") == "snapshot":
                snapshots.append((now, event["path"]))
    if process.returncode != 0:
        raise SystemExit(f"atelier exited {process.returncode}")
    snapshots.append((time.perf_counter() - start, str(output)))
    return snapshots


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", help="the build folder holding atelier")
    parser.add_argument("--size", type=int, default=512, help="longest side (512)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both")
    parser.add_argument("--every", type=int, default=10, help="Atelier's snapshot interval in iterations (10)")
    parser.add_argument("--keep-reference", type=Path, help="folder to keep the reference's run in and reuse it from")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                        help="Atelier's (fp32; the reference is always neural-style's fp32)")
    args = parser.parse_args()
    for path in (reference.SHARED / reference.WEIGHTS, reference.SHARED / reference.CONTENT,
                 reference.SHARED / reference.STYLE):
        if not path.exists():
            print(f"SKIPPED: {path} absent (the benchmark needs the real data in ../shared)")
            return 0
    extra = os.environ.get("ATELIER_ARGS", "")
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        kept = kept_reference(args.size, args.threads, args.keep_reference) if args.keep_reference else None
        if kept:
            ref_row, ref_picture = kept
        else:
            if args.keep_reference:
                args.keep_reference.mkdir(parents=True, exist_ok=True)
            ref_row, ref_picture = run_reference(args.size, args.threads, args.keep_reference or work)
        snapshots = run_atelier(Path(args.build), args.size, args.threads, args.every, work, extra, args.precision)

        network = reference.Vgg(reference.read_safetensors(reference.SHARED / reference.WEIGHTS),
                                reference.CONTENT_LAYERS + reference.STYLE_LAYERS)
        content = reference.load_image(reference.SHARED / reference.CONTENT, args.size)
        style = reference.load_image(reference.SHARED / reference.STYLE, args.size)
        with torch.no_grad():
            content_targets = {l: network(content)[l] for l in reference.CONTENT_LAYERS}
            style_targets = {l: reference.gram(network(style)[l]) for l in reference.STYLE_LAYERS}
        score = lambda path: independent_loss(network, content_targets, style_targets, path, args.size,  # noqa: E731
                                              tuple(content.shape[2:]))
        target = score(ref_picture)
        reached = None
        scored = []
        for seconds, path in snapshots:
            loss = score(path)
            scored.append((seconds, loss))
            if reached is None and loss <= target:
                reached = seconds
    flags = sorted(set(open("/proc/cpuinfo").read().split()) & {"amx_bf16", "avx512_bf16"})
    model = machine_name()
    print(f"Gatys, time to a finished painting: tubingen x starry_night, shared partial VGG19, Atelier in {args.precision}"
          ", the reference in fp32")
    print(f"machine: {model}, {os.cpu_count()} cores, {args.threads} threads; bf16: {' '.join(flags) or 'none'}")
    print(f"date:    {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load before {os.getloadavg()[0]:.2f}")
    print(f"reference (PyTorch eager, {REFERENCE_ITERATIONS} L-BFGS iterations at {args.size} px): "
          f"{ref_row['seconds_from_start']:.1f} s, independent loss {target:.3f}"
          f"{' (kept from an earlier run)' if kept else ''}")
    print(f"atelier (defaults{', ' + extra if extra else ''}): final independent loss {scored[-1][1]:.3f} after "
          f"{scored[-1][0]:.1f} s")
    if reached is None:
        print("atelier never reached the reference's loss; its best: "
              f"{min(loss for _, loss in scored):.3f}")
    else:
        print(f"atelier reached it after {reached:.1f} s: {ref_row['seconds_from_start'] / reached:.2f}x sooner")
    print("atelier's curve (s, independent loss): " +
          ", ".join(f"{s:.0f}:{l:.2f}" for s, l in scored[:: max(1, len(scored) // 12)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
