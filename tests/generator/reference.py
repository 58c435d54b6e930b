"""A deliberately naive reference of the generator and prompt strategies (SPEC sections 2-3).

One example and one token at a time, with plain Python control flow, written from the
specification rather than from the fast path. It consumes the same random numbers in the
same order as ``ChainGenerator`` (documented in its module docstring), so the two must
produce identical tokens.
"""

from __future__ import annotations

import math

import numpy as np

IGNORE = -100


def _act(name: str, x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for i, v in enumerate(x):
        if name == "identity":
            out[i] = v
        elif name == "relu":
            out[i] = v if v > 0 else 0.0
        elif name == "leaky_relu":
            out[i] = v if v > 0 else 0.5 * v
        elif name == "silu":
            out[i] = v / (1.0 + math.exp(-v))
        else:
            raise ValueError(name)
    return out


def _recipe_prob(info, index, n):
    if info is None:
        return None
    if info["type"] == "constant":
        return info["prob"]
    alpha = float(info["alpha"])
    x = index / n
    powered = (0.0 if x < 1 else 1.0) if math.isinf(alpha) else x**alpha
    return min(info.get("scale", 1.0) * powered + info.get("initial_prob", 0.0), info.get("final_prob", 1.0))


def _choose(rng, value):
    if isinstance(value, tuple):
        return value[int(rng.integers(len(value)))]
    return value


def _parents(keys_row, n_nodes, n_parents, strategy, n_inputs):
    candidates = list(range(n_inputs if strategy == "inputs" else n_nodes))
    chosen = []
    if strategy == "markov":
        chosen.append(n_nodes - 1)
        candidates.remove(n_nodes - 1)
        n_parents -= 1
    chosen += sorted(candidates, key=lambda j: keys_row[j])[:n_parents]
    return chosen


def reference_item(args, split: str, index: int) -> dict:
    stream = {"train": 10, "eval": 11}[split]
    V, d = args.vocab_size, args.n_dims
    n_ord = V - 9 if args.enable_special_tokens else V
    E = np.random.default_rng([1, args.seed]).standard_normal((V, d)) * args.data_initializer_range
    rng = np.random.default_rng([stream, args.seed, index])

    N = _choose(rng, args.n_inputs)
    M = _choose(rng, args.n_parents)
    C = _choose(rng, args.chain_length)
    K = _choose(rng, args.n_examples)
    M = min(M, N)

    if args.ablation_fixed_dag:
        keys = np.random.default_rng([3, args.seed, N, M, C]).random((C, N + C - 1))
    else:
        keys = rng.random((C, N + C - 1))
    parents = [_parents(keys[c], N + c, M, args.dag_strategy, N) for c in range(C)]

    L = args.H_num_layers
    if args.ablation_fixed_H:
        size = args.num_unique_H if args.num_unique_H > 0 else max(args.choices("chain_length"))
        pool = np.random.default_rng([2, args.seed]).standard_normal((size, L, d, d))
        picks = rng.integers(0, size, size=C) if args.num_unique_H > 0 else list(range(C))
        weights = [pool[p] for p in picks]
    else:
        weights = list(rng.standard_normal((C, L, d, d)))
    inputs = rng.integers(0, n_ord, size=(K, N))

    chains = []
    for k in range(K):
        nodes = [int(t) for t in inputs[k]]
        for c in range(C):
            vectors = []
            for p in parents[c]:
                v = E[nodes[p]]
                for layer in range(L):
                    v = v @ weights[c][layer]
                    if layer < L - 1:
                        v = _act(args.activation, v)
                vectors.append(v)
            h = _act(args.activation, np.mean(np.stack(vectors), axis=0))
            best, best_score = 0, -math.inf
            scores = E[:n_ord] @ h
            for token in range(n_ord):
                if scores[token] > best_score:
                    best, best_score = token, scores[token]
            nodes.append(best)
        chains.append(nodes[N:])

    strategy = args.prompt_strategy
    prob = _recipe_prob(
        args.cot_example_prob_recipe_info, index, args.n_tasks if split == "train" else args.n_eval_tasks
    )
    flips = rng.random(K) < prob if strategy == "hybrid_special_token" else None
    s = {"pad": V - 1, "bos": V - 2, "eos": V - 3, "in_s": V - 4, "in_e": V - 5, "think_s": V - 6}
    s.update({"think_e": V - 7, "ans_s": V - 8, "ans_e": V - 9})
    tokens, labels = [], []
    if args.enable_special_tokens:
        tokens.append(s["bos"])
        labels.append(s["bos"])
    n_cot = 0
    for k in range(K):
        x, y = [int(t) for t in inputs[k]], chains[k]
        if args.enable_special_tokens:
            part_in = [s["in_s"], *x, s["in_e"]]
            answer = [s["ans_s"], y[-1], s["ans_e"], s["eos"]]
            use_cot = strategy == "cot_special_token" or (flips is not None and flips[k])
            part_out = [s["think_s"], *y[:-1], s["think_e"], *answer] if use_cot else answer
        else:
            use_cot = strategy == "cot"
            part_in = x
            part_out = list(y) if use_cot else [y[-1]]
        n_cot += int(use_cot)
        tokens += part_in + part_out
        labels += [IGNORE] * len(part_in) + part_out
    cut = len(tokens) - len(part_out)
    return {
        "input_ids": tokens,
        "labels": labels,
        "adj_list": parents,
        "chains": chains,
        "cut": cut,
        "num_cot_examples": n_cot,
        "num_standard_examples": K - n_cot,
    }


def reference_tokens(table: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The SPEC readout row by row: float64 scores against every token, the first maximum wins."""
    return np.array([int(np.argmax(table @ row)) for row in h])


def pairs_ulps_apart(rng: np.random.Generator, pairs: int = 500, dims: int = 10) -> np.ndarray:
    """A table of token pairs 0-3 float64 ulps apart (shuffled): scores that differ by rounding alone."""
    base = rng.standard_normal((pairs, dims))
    ulps = rng.integers(-3, 4, (pairs, 1)) * 2.0**-52
    return np.concatenate([base, base * (1 + ulps)])[rng.permutation(2 * pairs)]
