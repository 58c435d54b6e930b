"""Verifiers behind one interface and the methods that take any verifier, on the transformers backend."""

import argparse
import dataclasses

import pytest

from tests.inference.conftest import make_run_dir, tiny_args
from tokenized_cot_icl.foundation.command_line import CommandParser, add_verifier_argument
from tokenized_cot_icl.foundation.vocab import Vocab
from tokenized_cot_icl.inference.backends import BackendConfig, create_backend
from tokenized_cot_icl.inference.scaling import WITH_VERIFIER, run_scaling
from tokenized_cot_icl.inference.search import beam_search, particle_filter
from tokenized_cot_icl.inference.target import load_target
from tokenized_cot_icl.inference.verifier_flag import VERIFIER_FORMS, VerifierSpec, parse_verifier
from tokenized_cot_icl.inference.verifiers import NoisyVerifier, Verifier, aggregate
from tokenized_cot_icl.inference.verify_run import scaling_context

KEYS = ("method", "n", "accuracy", "generated_tokens_per_prompt", "engine_calls", "requests_per_prompt")


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    """An untrained model on cot prompts (every step shown; C=3, so later steps read earlier ones)."""
    args = tiny_args(prompt_strategy="cot", enable_special_tokens=False, chain_length=3, n_parents=2, n_inputs=3)
    run = make_run_dir(tmp_path_factory.mktemp("runs") / "cot", args)
    target = load_target(run, "final")
    backend = create_backend("transformers", BackendConfig(target.checkpoint_dir, batch_size=256))
    return scaling_context(backend, target, 10, temperature=1.0, seed=3, verifier_spec=VerifierSpec("exact"))


def _with(ctx, text: str):
    spec = parse_verifier(text)
    return dataclasses.replace(
        ctx, verifier=spec.build(ctx.args, ctx.generator, seed=ctx.seed), verifier_label=spec.label
    )


class Constant:
    """An external verifier: any object with ``score(prompts, outputs)``."""

    def score(self, prompts, outputs):
        return [[[0.5] for _ in row] for row in outputs]


def test_the_flag_parser_reads_each_form_and_names_them_on_errors(tmp_path):
    assert parse_verifier("exact") == VerifierSpec("exact") and parse_verifier("logprob").kind == "logprob"
    assert parse_verifier("noisy:fp=0.1,fn=0.25") == VerifierSpec("noisy", 0.1, 0.25)
    assert parse_verifier("noisy:fn=0,fp=1").label == "noisy:fp=1,fn=0"
    for bad in ("noisy", "noisy:fp=0.1", "noisy:fp=2,fn=0", "noisy:fp=a,fn=0", "noisy:fp=0,fn=0,fp=0", "noisy:x=1"):
        with pytest.raises(ValueError, match=r"noisy:fp=F,fn=G with both rates in \[0, 1\]"):
            parse_verifier(bad)
    with pytest.raises(ValueError, match="expected one of exact \\| noisy:fp=F,fn=G"):
        parse_verifier("oracle")
    with pytest.raises(ValueError, match="not a verifier directory"):
        parse_verifier(str(tmp_path))
    parser = CommandParser(prog="scale")
    add_verifier_argument(parser, parse_verifier, VERIFIER_FORMS)
    assert parser.parse_args([]).verifier == VerifierSpec("exact")
    assert parser.parse_args(["--verifier", "noisy:fp=0,fn=0.5"]).verifier.fn == 0.5
    with pytest.raises(SystemExit):
        parser.parse_args(["--verifier", "best"])


def test_aggregates_and_the_protocol():
    assert [aggregate([1.0, 0.5, 0.8], how) for how in ("min", "prod", "last")] == [0.5, 0.4, 0.8]
    assert aggregate([], "min") == 1.0
    with pytest.raises(ValueError, match="min"):
        aggregate([1.0], "mean")
    assert isinstance(Constant(), Verifier)


def test_exact_beam_reproduces_beam_process(ctx):
    records = run_scaling(ctx, ["beam_process", "beam"], [1, 3])
    old, new = records[:2], records[2:]
    for a, b in zip(old, new):
        assert [a[k] for k in KEYS[1:]] == [b[k] for k in KEYS[1:]]
        assert a["process_ok_rate"] == b["process_ok_rate"] and a["verifier"] == b["verifier"] == "exact"
        assert b["verifier_scored_tokens_per_prompt"] > 0
    for width in (2, 4):
        want = beam_search(ctx.backend, ctx.prompts, ctx.truths, ctx.args, width, rank="process")
        got = beam_search(ctx.backend, ctx.prompts, ctx.truths, ctx.args, width, verifier=ctx.verifier, cases=ctx.cases)
        assert (got.outputs, got.logprobs) == (want.outputs, want.logprobs)


def test_exact_beam_reproduces_beam_process_with_forced_markers(tiny_run):
    """Special-token prompts: partial candidates end before the answer markers the template forces."""
    target = load_target(tiny_run, "final")
    backend = create_backend("transformers", BackendConfig(target.checkpoint_dir, batch_size=256))
    special = scaling_context(backend, target, 6, verifier_spec=VerifierSpec("exact"))
    for width in (1, 3):
        want = beam_search(backend, special.prompts, special.truths, special.args, width, rank="process")
        got = beam_search(
            backend, special.prompts, special.truths, special.args, width, verifier=special.verifier,
            cases=special.cases,
        )  # fmt: skip
        assert (got.outputs, got.logprobs, got.requests) == (want.outputs, want.logprobs, want.requests)
    width = Vocab.for_args(special.args).num_ordinary  # every candidate: the verifier alone decides
    full = beam_search(
        backend, special.prompts, special.truths, special.args, width, verifier=special.verifier, cases=special.cases
    )
    verdicts = special.verifier.verdicts(special.cases, [[o] for o in full.outputs])[0]
    assert all(v[0].process_ok for v in verdicts)  # the verifier steers a model that knows nothing


def test_noisy_without_errors_is_exact_on_every_method(ctx):
    methods = list(WITH_VERIFIER)
    exact = run_scaling(ctx, methods, [1, 2])
    noisy = run_scaling(_with(ctx, "noisy:fp=0,fn=0"), methods, [1, 2])
    assert [[r[k] for k in KEYS] for r in exact] == [[r[k] for k in KEYS] for r in noisy]
    assert {r["verifier"] for r in noisy} == {"noisy:fp=0,fn=0"}


def test_noisy_at_full_false_positive_rate_passes_every_step_and_is_seeded(ctx):
    samples = ctx.backend.generate(ctx.prompts, max_tokens=3, n=4, temperature=1.0, seed=1)
    exact = ctx.verifier.score(ctx.cases, samples)
    assert any(0.0 in c for row in exact for c in row)  # the untrained model makes mistakes
    passing = NoisyVerifier(ctx.verifier, fp=1.0, fn=0.0).score(ctx.cases, samples)
    assert all(s == 1.0 for row in passing for c in row for s in c)
    noisy = NoisyVerifier(ctx.verifier, fp=0.5, fn=0.5, seed=7)
    assert noisy.score(ctx.cases, samples) == noisy.score(ctx.cases, samples)
    # A partial candidate and the complete one agree on the steps they share.
    partial = [[s[:2] for s in row] for row in samples]
    for full_row, part_row in zip(noisy.score(ctx.cases, samples), noisy.score(ctx.cases, partial)):
        assert [f[:2] for f in full_row] == part_row
    # Outcome verdicts pass through the same dial: all pass at fp=1, fn=0; none at fp=0, fn=1.
    assert {x for row in NoisyVerifier(ctx.verifier, fp=1.0, fn=0.0).outcomes(ctx.cases, samples) for x in row} == {1.0}
    assert {x for row in NoisyVerifier(ctx.verifier, fp=0.0, fn=1.0).outcomes(ctx.cases, samples) for x in row} == {0.0}


def test_one_particle_is_step_by_step_sampling(ctx):
    args = (ctx.backend, ctx.prompts, ctx.truths, ctx.args, 1, ctx.verifier, ctx.cases)
    greedy = beam_search(ctx.backend, ctx.prompts, ctx.truths, ctx.args, 1)
    assert particle_filter(*args, temperature=0.0).outputs == greedy.outputs
    sampled = particle_filter(*args, temperature=1.0, seed=5)
    chains = [[] for _ in ctx.prompts]
    for s in range(3):  # the same seeds, one engine call per step
        out = ctx.backend.generate(
            [p + c for p, c in zip(ctx.prompts, chains)], max_tokens=1, temperature=1.0, seed=5 + s
        )
        chains = [c + o[0] for c, o in zip(chains, out)]
    assert sampled.outputs == chains and sampled.engine_calls == 3
    assert particle_filter(*args, temperature=1.0, seed=5).outputs == sampled.outputs
    many = particle_filter(*args[:4], 4, ctx.verifier, ctx.cases, temperature=1.0, seed=5)
    assert many.requests == 4 * sampled.requests and many.engine_calls == 3


def test_weighted_majority_with_a_constant_verifier_is_majority(ctx):
    const = dataclasses.replace(ctx, verifier=Constant(), verifier_label="constant")
    records = run_scaling(const, ["majority", "weighted_majority", "best_of_n"], [1, 2, 4])
    by = {(r["method"], r["n"]): r for r in records}
    for n in (1, 2, 4):
        assert by["weighted_majority", n]["accuracy"] == by["majority", n]["accuracy"]
        assert by["weighted_majority", n]["verifier"] == "constant"


def test_logprob_verifier_ranks_like_best_of_n_logprob(ctx):
    records = run_scaling(_with(ctx, "logprob"), ["best_of_n_logprob", "best_of_n"], [4])
    assert records[0]["accuracy"] == records[1]["accuracy"]
    assert records[1]["verifier"] == "logprob"
    with pytest.raises(ValueError, match="logprobs"):
        _with(ctx, "logprob").verifier.score(ctx.cases, [[[1, 2, 3]] for _ in ctx.cases])


def test_the_flag_error_names_the_forms(capsys):
    parser = CommandParser(prog="scale")
    add_verifier_argument(parser, parse_verifier, VERIFIER_FORMS)
    with pytest.raises(SystemExit):
        parser.parse_args(["--verifier", "noisy:fp=3,fn=0"])
    assert "noisy:fp=F,fn=G" in capsys.readouterr().err
    assert isinstance(parser, argparse.ArgumentParser)


def test_scale_names_the_verifier_in_every_record(tiny_run, tmp_path, capsys):
    import json

    from tokenized_cot_icl.cli import main

    out = tmp_path / "scale"
    argv = ["scale", str(tiny_run), "--methods", "beam,particle_filter,beam_process", "--n", "2", "--max-prompts", "4"]
    assert main([*argv, "--verifier", "noisy:fp=0.1,fn=0", "--out", str(out)]) == 0
    records = json.loads((out / "scaling.json").read_text())
    assert [(r["method"], r["verifier"]) for r in records] == [
        ("beam", "noisy:fp=0.1,fn=0"), ("particle_filter", "noisy:fp=0.1,fn=0"), ("beam_process", "exact"),
    ]  # fmt: skip
    assert all(r["verifier_scored_tokens_per_prompt"] > 0 for r in records[:2])
    assert "noisy:fp=0.1,fn=0" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([*argv, "--verifier", "prm", "--out", str(tmp_path / "x")])
    assert "--verifier: 'prm': expected one of exact | noisy:fp=F,fn=G" in capsys.readouterr().err
