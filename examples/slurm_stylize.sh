#!/bin/bash
# Atelier over a Slurm job array: each task paints its share (--shard I/N) of a
# folder of photos or of a video's frames, with no coordination between tasks;
# the folders given must be on storage every node sees. A rerun of the array
# (or of one failed task) paints only the outputs still missing.
#
#   photos:  sbatch --array=0-7 examples/slurm_stylize.sh photos photos/ painted/
#   video:   jid=$(sbatch --parsable --array=0-7 examples/slurm_stylize.sh video holiday.mp4 holiday_candy.mp4)
#            sbatch --dependency=afterok:$jid examples/slurm_stylize.sh assemble holiday.mp4 holiday_candy.mp4
#
# The array must start at 0 (shard I is $SLURM_ARRAY_TASK_ID, N the task count).
# For a video the final job blends the frames along the motion and writes the
# file with its sound: the same file one process would have written.
#SBATCH --job-name=atelier
#SBATCH --cpus-per-task=8
#SBATCH --time=04:00:00
#SBATCH --output=atelier-%A_%a.log
# On GPU nodes: #SBATCH --gres=gpu:1, and DEVICE=cuda below.
set -euo pipefail

MODEL=${MODEL:-candy}   # a style network: a name in the model search path or a .safetensors file
DEVICE=${DEVICE:-cpu}
mode=$1 input=$2 output=$3
shard="${SLURM_ARRAY_TASK_ID:-0}/${SLURM_ARRAY_TASK_COUNT:-1}"
run=(--threads "${SLURM_CPUS_PER_TASK:-0}" --device "$DEVICE")

case "$mode" in
  photos)
    # Every task lists the same photos: the share depends on the output names only.
    # (Beyond what one command line holds, ~100k paths, split the list in fixed
    # chunks and run each chunk with the same --shard.)
    mkdir -p "$output"
    atelier stylize --model "$MODEL" "$input"/*.jpg --out-dir "$output" --shard "$shard" "${run[@]}"
    ;;
  video)
    # Paints frames I, I+N, I+2N ... into $output.frames/; no video yet.
    atelier stylize-video "$input" -o "$output" --model "$MODEL" --shard "$shard" "${run[@]}"
    ;;
  assemble)
    # Once every task succeeded: names any frame still missing, else writes $output.
    atelier stylize-video "$input" -o "$output" --assemble --threads "${SLURM_CPUS_PER_TASK:-0}"
    ;;
  *)
    echo "usage: $0 photos|video|assemble INPUT OUTPUT" >&2
    exit 2
    ;;
esac
