"""Each speed-up idea of the generator measured on and off (``bench/data_generation.py --ideas``).

Per prompt, CPU time, the best of ``repeats``, 256 prompts of the seed defaults (``cot``).
"""

from __future__ import annotations

import time

import numpy as np

from tokenized_cot_icl.data.dataset import TokenizedDataset, make_item, make_items
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.generator.chains import ChainGenerator, split_stream
from tokenized_cot_icl.generator.dags import draw_keys
from tokenized_cot_icl.generator.scoring import TokenScorer
from tokenized_cot_icl.generator.seeding import prompt_generators

N = 256


def _us(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return 1e6 * best / N


class AllTokens(TokenScorer):
    """The readout before this work: float64 scores against every token."""

    def argmax(self, h: np.ndarray) -> np.ndarray:
        return self._direct(h)


def _scores_only_width(table: np.ndarray) -> TokenScorer:
    """The float32 scorer with its stage-1 width from the earlier cost model (128 scores per stage-2 row)."""
    scorer = TokenScorer(table, np.float32, use_native=False)
    scorer.stage1 = scorer._calibrate(row_cost=128)
    return scorer


class SearchEveryRow(TokenScorer):
    """Stage 2's rows found by a binary search of every row's need (before one comparison)."""

    def _stage2_rows(self, lower: np.ndarray, norm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        need = np.searchsorted(self.neg_norms, -lower, side="right")
        more = np.flatnonzero((need > self.stage1) & (norm > 0))
        return more, need[more]


def _readout(vocab_size: int, repeats: int) -> list[tuple[str, float]]:
    """The batch path with each readout, interleaved (A B C A B C ...), the best of each kept."""
    dataset = TokenizedDataset(Args(prompt_strategy="cot", vocab_size=vocab_size, n_tasks=10**6))
    table = dataset.generator.embedding[: dataset.generator.num_ordinary]
    variants = {
        "float64, every token": AllTokens(table, np.float64),
        "float64, norm-pruned": TokenScorer(table, np.float64),
        "float32 + float64 re-check, norm-pruned, stage-1 width for 128 scores per stage-2 row": _scores_only_width(
            table
        ),
        "float32 + float64 re-check, norm-pruned, stage-2 rows by a search of every row": SearchEveryRow(
            table, use_native=False
        ),
        "float32 + float64 re-check, norm-pruned (numpy stages)": TokenScorer(table, np.float32, use_native=False),
    }
    native = TokenScorer(table, np.float32, use_native=True)
    if native.native is not None:
        variants["float32 + float64 re-check, norm-pruned, one C pass per row (readout.c)"] = native
    return list(_interleaved(dataset, variants, lambda: dataset.__getitems__(range(N)), repeats).items())


def _interleaved(dataset: TokenizedDataset, scorers: dict, work, repeats: int) -> dict[str, float]:
    """us per prompt of ``work()`` with each of ``scorers`` in turn (A B C A B C ...), the best of each."""
    best = dict.fromkeys(scorers, float("inf"))
    for _ in range(repeats):
        for name, scorer in scorers.items():
            dataset.generator.scorer = scorer
            best[name] = min(best[name], _us(work, 1))
    return best


def _item_readout(repeats: int) -> list[tuple[str, float, float, bool]]:
    """``dataset[i]`` with float64 scores of every token, float32 + float64 re-check scores (numpy;
    its calls of 40 rows score every token at V=1024) and the C kernel, interleaved."""
    dataset = TokenizedDataset(Args(prompt_strategy="cot", vocab_size=1024, n_tasks=10**6))
    table = dataset.generator.embedding[: dataset.generator.num_ordinary]
    variants = {
        "float64": TokenScorer(table, np.float64),
        "float32": TokenScorer(table, np.float32, use_native=False),
        "C": TokenScorer(table, np.float32, use_native=True),
    }
    if variants["C"].native is None:
        del variants["C"]
    best = _interleaved(dataset, variants, lambda: [dataset[i] for i in range(N)], repeats)
    name = "dataset[i] readout, every token: float64 -> float32 + float64 re-check"
    rows = [(name + " (numpy, the fallback without a compiler)", best["float64"], best["float32"], True)]
    if "C" in best:
        name = "dataset[i] readout: float64 -> one C pass per row, norm-pruned (readout.c)"
        rows.append((name, best["float64"], best["C"], True))
    return rows


def _h(generator: ChainGenerator, group, average_first: bool) -> np.ndarray:
    """h of chain position 0 (parents are inputs) for a 1-layer H."""
    z = generator.embedding[np.take_along_axis(group.inputs, group.parents[:, None, 0, :].repeat(40, 1), axis=2)]
    w = group.weights[:, 0, 0]
    if average_first:  # mean_p(E[p]) @ W: one product per example instead of one per parent
        return generator.activation((z.sum(axis=2) / z.shape[2]) @ w)
    return generator.activation((z.reshape(len(z), -1, z.shape[-1]) @ w).reshape(z.shape).sum(axis=2) / z.shape[2])


def _example_major_h(generator: ChainGenerator, parent_ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``step_hidden`` before this work: rows example-major, parents summed over a middle axis."""
    b, r, m = parent_ids.shape
    z = (np.take(generator.embedding, parent_ids, axis=0).reshape(b, r * m, -1) @ weights[:, 0]).reshape(b, r, m, -1)
    return generator.activation(z.sum(axis=2) / m)


def _hidden_layouts(generator: ChainGenerator, ids: np.ndarray, weights: np.ndarray, repeats: int) -> tuple:
    """us per prompt of both layouts, over N prompts in calls of ``len(ids)``."""
    calls = N // len(ids)
    before = _us(lambda: [_example_major_h(generator, ids, weights) for _ in range(calls)], repeats)
    return before, _us(lambda: [generator.step_hidden(ids, weights) for _ in range(calls)], repeats)


def _native_step_rows(generator: ChainGenerator, numpy_step: ChainGenerator, group, parent_ids, repeats: int) -> list:
    """The C step (step.c) against numpy's: hidden states alone, and whole chain computations
    (numpy step then a readout call per position, against one C call per position)."""
    weights = group.weights[:, 0]
    drawn = (group.inputs, group.parents, group.weights)
    assert np.array_equal(numpy_step.compute_chains(*drawn), generator.compute_chains(*drawn))  # the same tokens
    hidden = "hidden states, batch: numpy -> C in numpy's order of operations (step.c)"
    rows = [
        (hidden, *(_us(lambda g=g: g.step_hidden(parent_ids, weights), repeats) for g in (numpy_step, generator)), True)
    ]
    for size, label in ((N, "batch"), (1, "dataset[i]")):
        calls = [
            (group.inputs[i : i + size], group.parents[i : i + size], group.weights[i : i + size])
            for i in range(0, N, size)
        ]
        times = [
            _us(lambda g=g, calls=calls: [g.compute_chains(*c) for c in calls], repeats)
            for g in (numpy_step, generator)
        ]
        name = f"chain tokens, {label}: numpy step + C readout per position -> one C call per position (step.c)"
        rows.append((name, *times, True))
    return rows


def _other_ideas(repeats: int) -> list[tuple[str, float, float, bool]]:
    args = Args(prompt_strategy="cot", vocab_size=1024, n_tasks=10**6)
    renderer = TokenizedDataset(args).renderer
    generator = renderer.generator
    (group,) = renderer.draw(range(N))
    group.chains = generator.compute_chains(group.inputs, group.parents, group.weights)
    stream = (split_stream("train"), args.seed)
    rows = _item_readout(repeats)
    default_rng = _us(lambda: [np.random.default_rng([*stream, i]) for i in range(N)], repeats)
    vectorised = _us(lambda: list(prompt_generators(stream, range(N))), repeats)
    rows.append(("seeding: default_rng per prompt -> vectorised SeedSequence", default_rng, vectorised, True))
    one_by_one = _us(lambda: [next(prompt_generators(stream, [i])) for i in range(N)], repeats)
    rows.append(
        ("seeding, dataset[i]: default_rng(list) -> SeedSequence of uint32 words", default_rng, one_by_one, True)
    )
    numpy_draws = ChainGenerator(args)
    numpy_draws.native_draws = None  # the numpy draws (the fallback without a C compiler)
    if generator.native_draws is not None:
        for label, calls in (("batch", [range(N)]), ("dataset[i]", [[i] for i in range(N)])):
            before = _us(lambda calls=calls: [numpy_draws.draw_groups("train", c) for c in calls], repeats)
            after = _us(lambda calls=calls: [generator.draw_groups("train", c) for c in calls], repeats)
            rows.append(
                (f"draws, {label}: numpy per prompt -> C with numpy's distributions (draws.c)", before, after, True)
            )
    keys = [draw_keys(np.random.default_rng(i), 4, 2) for i in range(N)]
    from_keys = generator.dag_strategy.from_keys
    per_prompt = _us(lambda: [from_keys(k, 4, 4) for k in keys], repeats)
    rows.append(
        (
            "DAGs: per prompt -> one sort per group",
            per_prompt,
            _us(lambda: from_keys(np.stack(keys), 4, 4), repeats),
            True,
        )
    )
    per_parent, averaged = _h(generator, group, False), _h(generator, group, True)
    readout = generator.scorer.argmax
    same = int((readout(per_parent.reshape(-1, 10)) == readout(averaged.reshape(-1, 10))).sum())
    name = (
        f"1-layer H after averaging the parents (tokens equal on {same}/{N * 40} rows, "
        f"max abs h difference {np.abs(per_parent - averaged).max():.1e})"
    )
    # dropped: it changes h's rounding, so a near-tie could resolve differently from the reference
    rows.append(
        (
            name,
            _us(lambda: _h(generator, group, False), repeats),
            _us(lambda: _h(generator, group, True), repeats),
            False,
        )
    )
    parent_ids = np.take_along_axis(group.inputs, group.parents[:, None, 0, :].repeat(40, 1), axis=2)
    numpy_step = ChainGenerator(args)
    numpy_step.native_step = None  # numpy's step rule (the fallback without a C compiler)
    example_major = _example_major_h(numpy_step, parent_ids, group.weights[:, 0])
    assert np.array_equal(example_major, numpy_step.step_hidden(parent_ids, group.weights[:, 0]))  # bit-identical
    for size, label in ((N, "batch"), (1, "dataset[i]")):
        name = f"hidden states, {label}: example-major -> parent-major rows (contiguous parent sums)"
        rows.append((name, *_hidden_layouts(numpy_step, parent_ids[:size], group.weights[:size, 0], repeats), True))
    if generator.native_step is not None:
        rows += _native_step_rows(generator, numpy_step, group, parent_ids, repeats)
    groups = renderer.many(range(N))
    mask, special = group.extras[0], renderer.special
    render = renderer.strategy.render
    each = _us(lambda: [render(x, y, mask, special) for x, y in zip(group.inputs, group.chains)], repeats)
    template = renderer.template(group, list(range(N)))
    gather = _us(lambda: template.apply(group.inputs, group.chains), repeats)
    rows.append(("rendering: strategy per prompt -> one template gather per group", each, gather, True))
    rendered = [render(x, y, mask, special) for x, y in zip(group.inputs, group.chains)]
    per_item = _us(lambda: [make_item(r, p) for r, p in zip(rendered, group.parents)], repeats)
    views = _us(lambda: make_items(groups, N), repeats)
    rows.append(("items: tensors per item -> views of one buffer per group", per_item, views, True))
    return rows


def measure_ideas(repeats: int) -> None:
    print("| idea | V | before (us/prompt) | after (us/prompt) | kept |")
    print("|---|---|---|---|---|")
    for vocab_size in (1024, 16384):
        (_, base), *variants = _readout(vocab_size, repeats)
        for name, us in variants:
            kept = "kept" if "readout.c" in name else "superseded"
            if name.endswith("(numpy stages)"):
                kept = "kept: the fallback without a C compiler"
            row = f"batch path readout: float64 every token -> {name}"
            print(f"| {row} | {vocab_size} | {base:.1f} | {us:.1f} | {kept} |")
    for name, off, on, kept in _other_ideas(repeats):
        print(f"| {name} | 1024 | {off:.1f} | {on:.1f} | {'kept' if kept else 'dropped'} |")
