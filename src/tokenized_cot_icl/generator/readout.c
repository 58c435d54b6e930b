/* The chain-token readout argmax_v <h, E[v]> in one pass per row (see scoring.py).
 *
 * The table is stored in blocks of LANES tokens, in norm-descending order, d-major within a
 * block, so that one row's scores for a block are LANES independent float32 dot products the
 * compiler turns into SIMD multiply-adds. Each lane keeps its best score, its runner-up and the
 * block of its best, so no score is ever written to memory. After the first group of blocks, then
 * every CHECK_GROUPS groups, the row's limit is set to where the Cauchy-Schwarz bound |h| |E[v]|
 * of every token left falls below its best score less the float32 tolerance: none can win.
 *
 * A row is flagged "near" when its runner-up is within the tolerance of its best (near-ties,
 * exact ties, h = 0) or when it is not finite; the caller re-scores flagged rows the reference's
 * way in float64. Elsewhere the float32 winner is the float64 winner (scoring.py's docstring).
 */
#include <math.h>
#include <stdint.h>

/* A block is one SIMD register of floats on the machine it is compiled for (-march=native):
 * the caller lays the table out to match readout_lanes(). */
#if defined(__AVX512F__)
#define LANES 16
#elif defined(__AVX__)
#define LANES 8
#else
#define LANES 4
#endif

#define GROUP 4 /* blocks scored together: independent multiply-add chains, one merge */
_Static_assert(GROUP == 4, "row_merge folds four blocks");
#define CHECK_GROUPS 4 /* groups between two bound checks, after the first group's */

/* GCC's and clang's vector extensions: lanes never mix, so lane l holds tokens l, l + LANES, ... */
typedef float vf __attribute__((vector_size(LANES * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(LANES * sizeof(int32_t))));
typedef vf vfu __attribute__((aligned(4))); /* loads from numpy buffers, aligned to their elements only */

#if defined(__AVX512F__)
#include <immintrin.h>
static inline vf vmax(vf a, vf b) { return (vf)_mm512_max_ps((__m512)a, (__m512)b); }
static inline vf vmin(vf a, vf b) { return (vf)_mm512_min_ps((__m512)a, (__m512)b); }
/* the lanes where a > b take x, the others y */
static inline vi pick_if_greater(vf a, vf b, vi x, vi y) {
    return (vi)_mm512_mask_blend_epi32(_mm512_cmp_ps_mask((__m512)a, (__m512)b, _CMP_GT_OQ), (__m512i)y, (__m512i)x);
}
#elif defined(__AVX__)
#include <immintrin.h>
static inline vf vmax(vf a, vf b) { return (vf)_mm256_max_ps((__m256)a, (__m256)b); }
static inline vf vmin(vf a, vf b) { return (vf)_mm256_min_ps((__m256)a, (__m256)b); }
static inline vi pick_if_greater(vf a, vf b, vi x, vi y) {
    return (vi)_mm256_blendv_ps((__m256)y, (__m256)x, _mm256_cmp_ps((__m256)a, (__m256)b, _CMP_GT_OQ));
}
#else
static inline vi pick_if_greater(vf a, vf b, vi x, vi y) { vi m = a > b; return (m & x) | (~m & y); }
static inline vf vmax(vf a, vf b) { return (vf)pick_if_greater(a, b, (vi)a, (vi)b); }
static inline vf vmin(vf a, vf b) { return (vf)pick_if_greater(a, b, (vi)b, (vi)a); }
#endif

/* The largest lane. */
static inline float lane_max(vf x) {
#if defined(__AVX512F__)
    return _mm512_reduce_max_ps((__m512)x);
#else
    float m[LANES]; /* a halving tree: log2(LANES) dependent steps instead of LANES - 1 */
    for (int l = 0; l < LANES; l++) m[l] = x[l];
    for (int width = LANES / 2; width > 0; width /= 2)
        for (int l = 0; l < width; l++) m[l] = m[l] > m[l + width] ? m[l] : m[l + width];
    return m[0];
#endif
}

int64_t readout_lanes(void) { return LANES; }
int64_t readout_group_tokens(void) { return GROUP * LANES; }

/* The table, built once by the caller (scoring.py's NativeReadout); one pointer per call keeps
 * the foreign call cheap. */
typedef struct {
    const float *blocks;       /* (n_blocks, dims, LANES) float32, tokens in norm-descending order */
    const float *bias;         /* (n_blocks + 1, LANES): 0 for tokens, -inf for padding and the start */
    const double *block_norm;  /* (n_blocks,) the largest norm in each block: its first token's */
    const int64_t *order;      /* (n_blocks * LANES,) the token id at each sorted position */
    int64_t dims, n_blocks;
    double tol_factor;         /* |h| times this bounds a float32 score's error */
} readout_table;

/* One row's running state: per lane its best score, its runner-up and the block of its best. */
typedef struct {
    vf best1, best2;
    vi at;
    double norm, tol;
} row_state;

static inline void row_start(row_state *s, const double *row, int64_t d, float *hf, double tol_factor, vf start) {
    double norm2 = 0.0;
    for (int64_t k = 0; k < d; k++) {
        norm2 += row[k] * row[k];
        hf[k] = (float)row[k];
    }
    s->norm = sqrt(norm2);
    s->tol = tol_factor * s->norm;
    s->best1 = s->best2 = start;
    s->at = (vi){0};
}

/* The first group from which no token can win the row: where |h| |E[v]| of the group's largest
 * norm is below the best score so far less the tolerance (the 1e-12 covers this product's own
 * rounding). Norms fall along the table, so the test is monotone: a binary search over groups,
 * branchless (a mispredicted jump per step cost more than the search itself). */
static inline int64_t row_limit(const row_state *s, const double *block_norm, int64_t from, int64_t limit) {
    const double floor = (double)lane_max(s->best1) - s->tol, scale = s->norm * (1.0 + 1e-12);
    /* a branchless lower bound (the compare picks, no jumps to mispredict): the answer stays in
     * [base, base + len] groups */
    int64_t base = from / GROUP, len = limit / GROUP - base;
    while (len > 1) {
        const int64_t half = len / 2;
        base = scale * block_norm[(base + half - 1) * GROUP] < floor ? base : base + half;
        len -= half;
    }
    if (len == 1 && !(scale * block_norm[base * GROUP] < floor)) base++;
    return base * GROUP;
}

/* Folds a group's scores into the row, block by block: the runner-up takes the lesser of the
 * best and the new score, the best the greater; the block of the best moves only on a strictly
 * greater score, so on equal scores the earlier block keeps the place. */
static inline void row_merge(row_state *s, const vf *acc, int32_t g) {
    for (int j = 0; j < GROUP; j++) {
        s->at = pick_if_greater(acc[j], s->best1, (vi){0} + (g + j), s->at);
        s->best2 = vmax(s->best2, vmin(s->best1, acc[j]));
        s->best1 = vmax(s->best1, acc[j]);
    }
}

/* The row's token (the first lane holding its best) and whether it is near: a runner-up within
 * the tolerance of the best, or a row that is not finite. */
static inline int row_finish(const row_state *s, const int64_t *order, int64_t *out, uint8_t *near) {
    const float best = lane_max(s->best1);
    int lane = 0; /* the first lane holding the best (none where scores are NaN: then lane LANES - 1) */
    while (lane < LANES - 1 && !(s->best1[lane] == best)) lane++;
    vf others = s->best1;
    others[lane] = -INFINITY;
    const float runner = lane_max(vmax(others, s->best2));
    *out = order[(int64_t)s->at[lane] * LANES + lane];
    /* (float)norm is infinite where a coordinate of h overflowed float32 */
    *near = !((double)runner < (double)best - s->tol) || !isfinite(best) || !isfinite((float)s->norm);
    return *near;
}

/* Writes each row's token to out and its near flag to near; returns how many rows are near.
 * Rows go in pairs: each table vector loaded feeds both rows' multiply-adds, and the two rows'
 * eight accumulator chains keep the FMA units busy. A pair scans until both rows are settled;
 * the tokens one row scans past its own bound are below its best less the tolerance, so they
 * change neither its token nor its flag. */
int64_t readout_argmax(const readout_table *t, const double *h, int64_t n, int64_t *out, uint8_t *near) {
    const int64_t d = t->dims, n_blocks = t->n_blocks;
    const vfu *table = (const vfu *)t->blocks, *lane_bias = (const vfu *)t->bias;
    const vf start = lane_bias[n_blocks]; /* all -inf: the bias's extra block */
    float hf0[d], hf1[d];
    row_state s0, s1;
    int64_t n_near = 0;
    for (int64_t i = 0; i < n; i += 2) {
        const int pair = i + 1 < n;
        row_start(&s0, h + i * d, d, hf0, t->tol_factor, start);
        row_start(&s1, h + (i + pair) * d, d, hf1, t->tol_factor, start); /* a lone last row goes twice */
        /* Bounds after the first group, then every CHECK_GROUPS groups: each check costs a
         * horizontal max and a binary search, several groups' worth of multiply-adds. */
        int64_t limit0 = n_blocks, limit1 = n_blocks;
        for (int64_t g = 0; g < (limit0 > limit1 ? limit0 : limit1); g += GROUP) {
            if (g == GROUP || (g > 0 && g % (CHECK_GROUPS * GROUP) == 0)) {
                if (g < limit0) limit0 = row_limit(&s0, t->block_norm, g, limit0);
                if (g < limit1) limit1 = row_limit(&s1, t->block_norm, g, limit1);
                if (g >= limit0 && g >= limit1) break;
            }
            const vfu *block = table + g * d;
            vf acc0[GROUP], acc1[GROUP];
            for (int j = 0; j < GROUP; j++) acc0[j] = acc1[j] = lane_bias[g + j];
            for (int64_t k = 0; k < d; k++) {
                const float x0 = hf0[k], x1 = hf1[k];
                for (int j = 0; j < GROUP; j++) {
                    const vf e = block[j * d + k];
                    acc0[j] += x0 * e;
                    acc1[j] += x1 * e;
                }
            }
            row_merge(&s0, acc0, (int32_t)g);
            row_merge(&s1, acc1, (int32_t)g);
        }
        n_near += row_finish(&s0, t->order, out + i, near + i);
        if (pair) n_near += row_finish(&s1, t->order, out + i + 1, near + i + 1);
    }
    return n_near;
}
