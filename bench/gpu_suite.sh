#!/usr/bin/env bash
# The GPU benchmark suite in one command (needs one CUDA GPU; exits 2 without one):
#
#   bench/gpu_suite.sh            # or: PY=.venv/bin/python STEPS=60 OUT=bench-gpu bench/gpu_suite.sh
#
# 1. training at the seed-default card (4 layers, hidden 2048, K=40) under torchrun with nccl on
#    1 GPU: fp32, bf16, bf16 + Liger kernels, bf16 + torch.compile -> tokens/s and MFU;
# 2. data-wait share of the step time: CPU DataLoader workers vs the GPU generator (data_device);
# 3. the vLLM evaluator on the bf16 checkpoint: prompts/s with CUDA graphs (the GPU default)
#    and with enforce_eager=True (skipped, and said so, where vLLM is not installed);
# 4. the torch generator on CUDA vs the CPU batch path (bench/data_generation.py --gpu).
# Records land in $OUT/*.json; the last step prints them as Markdown tables for the README.
# PY defaults to .venv/bin/python, else python3; src/ is put on PYTHONPATH for an uninstalled tree.
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
fi
cd "$(dirname "$0")/.."
if [[ -x .venv/bin/python ]]; then PY=${PY:-.venv/bin/python}; else PY=${PY:-python3}; fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
STEPS=${STEPS:-60}
OUT=${OUT:-bench-gpu-$(date +%Y%m%d-%H%M%S)}

if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "bench/gpu_suite.sh: no CUDA device is visible to torch; this suite needs a GPU" >&2
    exit 2
fi
mkdir -p "$OUT"
run_torchrun() {
    "$PY" -m torch.distributed.run --standalone --nproc-per-node=1 bench/training.py "$@"
}

has_vllm=$("$PY" -c "import importlib.util as u; print(int(u.find_spec('vllm') is not None))")
train() {  # variant data [extra flags]: a failed run leaves a record saying so
    local variant=$1 data=$2
    shift 2
    run_torchrun --gpu "$variant" --data "$data" --steps "$STEPS" --json "$OUT/train-$variant-$data.json" "$@" \
        || echo "{\"variant\": \"$variant\", \"data\": \"$data\", \"error\": \"failed\"}" > "$OUT/train-$variant-$data.json"
}
for variant in fp32 bf16 bf16_liger bf16_compile; do
    train "$variant" workers
done
if [[ "$has_vllm" == 1 ]]; then
    train bf16 device --keep "$OUT/runs"
    "$PY" bench/inference.py --model_base_dir "$OUT/runs/bench-bf16-device" --skip_transformers --compare_eager \
        --json "$OUT/vllm.json"
else
    train bf16 device
    echo '{"skipped": "vLLM is not installed for this python"}' > "$OUT/vllm.json"
fi
"$PY" bench/data_generation.py --gpu | tee "$OUT/data-gpu.md"

"$PY" - "$OUT" <<'EOF'
import json, pathlib, sys, datetime
out = pathlib.Path(sys.argv[1])
records = [json.loads(p.read_text()) for p in sorted(out.glob("train-*.json"))]
device = next((r["device"] for r in records if "device" in r), "?")
print(f"\n{datetime.date.today()} on {device}\n")
print("| variant | data | tokens/s | MFU | data wait share |")
print("|---|---|---|---|---|")
for r in records:
    if "error" in r:
        print(f"| {r['variant']} | {r['data']} | failed | | |")
        continue
    print(f"| {r['variant']} | {r['data']} | {r['tokens_per_s']:,.0f} | {100 * r['mfu']:.1f}% | {100 * r['data_wait_share']:.1f}% |")
vllm = json.loads((out / "vllm.json").read_text())
if "skipped" in vllm:
    print(f"\nvLLM evaluator: not measured ({vllm['skipped']})")
else:
    print("\n| vLLM evaluator | prompts/s |\n|---|---|")
    print(f"| CUDA graphs (default on GPU) | {vllm['vllm_batched']:.1f} |")
    print(f"| enforce_eager=True | {vllm['vllm_batched_enforce_eager']:.1f} |")
EOF
