#!/usr/bin/env bash
# Paper-scale runs on a SLURM cluster: every entry of the paper-scale cards is one task of a job
# array (`cot-icl cluster submit`, submitit), each task one node training one card key with torchrun
# on GPUS GPUs. The script waits for the arrays, then regenerates docs/EXPERIMENTS.md as
# scripts/paper_scale.sh (one node) does. Run it from a login node (in tmux: it waits) in a checkout on a
# filesystem the nodes share. Finished runs are skipped, so after a failure it can be run again once
# the arrays have ended. Environment:
#   PARTITION    SLURM partition (default: the cluster's default)
#   GPUS         GPUs per task (default 8)
#   CPUS         CPUs per task (default 32)
#   MEM_GB       memory per task in GB (default: the partition's default)
#   TIMEOUT_MIN  time limit per task; a task that reaches it is requeued and resumes (default 2880)
#   CARDS        cards to train (default: both paper-scale cards)
#   EXECUTOR     slurm, or local to run the same arrays as local processes (default slurm)
set -euo pipefail
cd "$(dirname "$0")/.."
CARDS="${CARDS:-paper_scale_cot_speed paper_scale_cot_recipe}"
ARGS=(--executor "${EXECUTOR:-slurm}" --gpus-per-node "${GPUS:-8}" --cpus-per-task "${CPUS:-32}"
      --timeout-min "${TIMEOUT_MIN:-2880}" --wait)
if [[ -n "${PARTITION:-}" ]]; then ARGS+=(--partition "$PARTITION"); fi
if [[ -n "${MEM_GB:-}" ]]; then ARGS+=(--mem-gb "$MEM_GB"); fi
pids=()
for card in $CARDS; do
  python -m tokenized_cot_icl.cli cluster submit --task-card "$card" "${ARGS[@]}" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
python scripts/reproduce.py --skip-training --cards study1_cot_speed study2_cot_recipe study1_init $CARDS
