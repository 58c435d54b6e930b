/* A batch of prompts' draws, each from its own PCG64 stream, exactly as numpy draws them.
 *
 * Prompt i of a split draws from np.random.default_rng([stream, seed, i]) (chains.py). Here the
 * SeedSequence hash and the PCG64 seeding are restated (numpy's documented algorithms, as in
 * seeding.py), PCG64 is restated as a numpy bitgen_t, and the draws themselves call numpy's own
 * distribution functions from its static library libnpyrandom (shipped with numpy for exactly
 * this), so every number is the one numpy's Generator would return for the same stream:
 * uniform keys, normal processors and bounded integers alike. tests/generator/test_draws.py
 * checks it against numpy on many configurations.
 *
 * A prompt's state travels between calls as six uint64 (state and increment, high then low
 * half, and the buffered half-word of next_uint32), so Python can group prompts by shape
 * between the shape draws and the rest, and hand a stream to numpy for draws made there.
 */
#include <stdint.h>
#include <string.h>

#include "numpy/random/bitgen.h"

/* numpy/random/distributions.h needs Python's headers; these are its declarations. */
extern void random_standard_uniform_fill(bitgen_t *, intptr_t, double *);
extern void random_standard_normal_fill(bitgen_t *, intptr_t, double *);
extern void random_bounded_uint64_fill(bitgen_t *, uint64_t off, uint64_t rng, intptr_t cnt, _Bool use_masked,
                                       uint64_t *out);

typedef unsigned __int128 u128;

#define STATE_WORDS 6 /* a stream between calls: state and inc (high, low), has_uint32, uinteger */

typedef struct {
    u128 state, inc;
    int has_uint32;
    uint32_t uinteger;
} pcg64;

#define PCG_MULT (((u128)2549297995355413924ULL << 64) | 4865540595714422341ULL)

/* pcg_setseq_128_xsl_rr_64: step, then the output of the new state. */
static uint64_t pcg64_next64(void *st) {
    pcg64 *s = st;
    s->state = s->state * PCG_MULT + s->inc;
    const uint64_t value = (uint64_t)(s->state >> 64) ^ (uint64_t)s->state;
    const unsigned rot = (unsigned)(s->state >> 122);
    return (value >> rot) | (value << ((-rot) & 63));
}

/* numpy's PCG64 hands out a 64-bit draw as two 32-bit ones, low half first. */
static uint32_t pcg64_next32(void *st) {
    pcg64 *s = st;
    if (s->has_uint32) {
        s->has_uint32 = 0;
        return s->uinteger;
    }
    const uint64_t next = pcg64_next64(st);
    s->has_uint32 = 1;
    s->uinteger = (uint32_t)(next >> 32);
    return (uint32_t)next;
}

static double pcg64_next_double(void *st) { return (double)(pcg64_next64(st) >> 11) * (1.0 / 9007199254740992.0); }

static void load_state(pcg64 *s, const uint64_t *w) {
    s->state = ((u128)w[0] << 64) | w[1];
    s->inc = ((u128)w[2] << 64) | w[3];
    s->has_uint32 = (int)w[4];
    s->uinteger = (uint32_t)w[5];
}

static void store_state(const pcg64 *s, uint64_t *w) {
    w[0] = (uint64_t)(s->state >> 64);
    w[1] = (uint64_t)s->state;
    w[2] = (uint64_t)(s->inc >> 64);
    w[3] = (uint64_t)s->inc;
    w[4] = (uint64_t)s->has_uint32;
    w[5] = s->uinteger;
}

static bitgen_t bitgen_of(pcg64 *s) {
    return (bitgen_t){s, pcg64_next64, pcg64_next32, pcg64_next_double, pcg64_next64};
}

/* ---- SeedSequence(entropy words).generate_state(4, uint64), then PCG64's seeding ---------- */
#define POOL 4
#define XSHIFT 16

static uint32_t hashmix(uint32_t value, uint32_t *hash_const, uint32_t mult) {
    value ^= *hash_const;
    *hash_const *= mult;
    value *= *hash_const;
    return value ^ (value >> XSHIFT);
}

static uint32_t mix(uint32_t x, uint32_t y) {
    uint32_t result = 0xCA01F9DDu * x - 0x4973F715u * y;
    return result ^ (result >> XSHIFT);
}

static void seed_state(const uint32_t *words, int64_t n_words, uint64_t *out) {
    uint32_t pool[POOL], hash_const = 0x43B0D7E5u;
    for (int i = 0; i < POOL; i++) pool[i] = hashmix(i < n_words ? words[i] : 0u, &hash_const, 0x931E8875u);
    for (int src = 0; src < POOL; src++)
        for (int dst = 0; dst < POOL; dst++)
            if (src != dst) pool[dst] = mix(pool[dst], hashmix(pool[src], &hash_const, 0x931E8875u));
    for (int64_t src = POOL; src < n_words; src++)
        for (int dst = 0; dst < POOL; dst++) pool[dst] = mix(pool[dst], hashmix(words[src], &hash_const, 0x931E8875u));
    uint32_t state_words[8], out_const = 0x8B51F9DDu;
    for (int i = 0; i < 8; i++) state_words[i] = hashmix(pool[i % POOL], &out_const, 0x58F38DEDu);
    uint64_t seed[4];
    for (int i = 0; i < 4; i++) seed[i] = (uint64_t)state_words[2 * i] | ((uint64_t)state_words[2 * i + 1] << 32);
    /* pcg_setseq_128_srandom_r: inc = 2 initseq + 1; a step, initstate added, a step */
    pcg64 s = {0, (((u128)seed[2] << 64) | seed[3]) << 1 | 1, 0, 0};
    s.state = (s.inc + (((u128)seed[0] << 64) | seed[1])) * PCG_MULT + s.inc;
    store_state(&s, out);
}

/* The state of default_rng([*prefix, index]) for each index: prefix is the shared entropy's
 * uint32 words; an index adds one word, or two from 2^32 on. */
void draws_seed(const uint32_t *prefix, int64_t n_prefix, const uint64_t *indices, int64_t n, uint64_t *states) {
    uint32_t words[n_prefix + 2];
    memcpy(words, prefix, (size_t)n_prefix * sizeof(uint32_t));
    for (int64_t i = 0; i < n; i++) {
        words[n_prefix] = (uint32_t)indices[i];
        words[n_prefix + 1] = (uint32_t)(indices[i] >> 32);
        seed_state(words, n_prefix + (indices[i] >> 32 ? 2 : 1), states + STATE_WORDS * i);
    }
}

/* Each prompt's shape fields, in order (N, M, C, K): fields with one choice draw nothing, the
 * others rng.integers(count). counts (4,), choices (4, max_count), shapes (n, 4). */
void draws_shapes(uint64_t *states, int64_t n, const int64_t *counts, const int64_t *choices, int64_t max_count,
                  int64_t *shapes) {
    pcg64 s;
    bitgen_t bitgen = bitgen_of(&s);
    for (int64_t i = 0; i < n; i++) {
        load_state(&s, states + STATE_WORDS * i);
        for (int field = 0; field < 4; field++) {
            uint64_t pick = 0;
            if (counts[field] > 1) random_bounded_uint64_fill(&bitgen, 0, (uint64_t)(counts[field] - 1), 1, 0, &pick);
            shapes[4 * i + field] = choices[field * max_count + (int64_t)pick];
        }
        store_state(&s, states + STATE_WORDS * i);
    }
}

/* The rest of the draws of n prompts of one shape, in the documented order: DAG sort keys
 * (rng.random((C, W)) of key_count numbers, if any), processors (rng.standard_normal of
 * weight_count numbers, or with pool_size > 0 rng.integers(0, pool_size, size=C) picks), then
 * the inputs (rng.integers(0, n_ordinary, size=(K, N))). rows: the prompts' rows of states
 * (NULL: rows 0 to n - 1). Each output holds the n prompts one after the other. */
void draws_group(uint64_t *states, const int64_t *rows, int64_t n, int64_t key_count, int64_t weight_count,
                 int64_t pool_size, int64_t pick_count, int64_t input_count, int64_t n_ordinary, double *keys,
                 double *weights, int64_t *picks, int64_t *inputs) {
    pcg64 s;
    bitgen_t bitgen = bitgen_of(&s);
    for (int64_t i = 0; i < n; i++) {
        uint64_t *state = states + STATE_WORDS * (rows ? rows[i] : i);
        load_state(&s, state);
        if (key_count) random_standard_uniform_fill(&bitgen, key_count, keys + i * key_count);
        if (weight_count) random_standard_normal_fill(&bitgen, weight_count, weights + i * weight_count);
        if (pool_size)
            random_bounded_uint64_fill(&bitgen, 0, (uint64_t)(pool_size - 1), pick_count, 0,
                                       (uint64_t *)(picks + i * pick_count));
        random_bounded_uint64_fill(&bitgen, 0, (uint64_t)(n_ordinary - 1), input_count, 0,
                                   (uint64_t *)(inputs + i * input_count));
        store_state(&s, state);
    }
}
