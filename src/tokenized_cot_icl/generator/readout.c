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

static inline vf select(vi mask, vf a, vf b) { return (vf)((mask & (vi)a) | (~mask & (vi)b)); }

/* A halving tree: log2(LANES) dependent steps instead of LANES - 1. */
static inline float lane_max(vf x) {
    float m[LANES];
    for (int l = 0; l < LANES; l++) m[l] = x[l];
    for (int width = LANES / 2; width > 0; width /= 2)
        for (int l = 0; l < width; l++) m[l] = m[l] > m[l + width] ? m[l] : m[l + width];
    return m[0];
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
 * rounding). Norms fall along the table, so the test is monotone: a binary search over groups. */
static inline int64_t row_limit(const row_state *s, const double *block_norm, int64_t from, int64_t n_blocks) {
    const double floor = (double)lane_max(s->best1) - s->tol, scale = s->norm * (1.0 + 1e-12);
    int64_t lo = from / GROUP, hi = n_blocks / GROUP; /* groups; the answer is in [lo, hi] */
    while (lo < hi) {
        const int64_t mid = (lo + hi) / 2;
        if (scale * block_norm[mid * GROUP] < floor) hi = mid;
        else lo = mid + 1;
    }
    return lo * GROUP;
}

/* Folds a group's scores into the row: the group's own top two first (a tree, independent of the
 * running pair), then one merge, so the running pair's dependency chain is short. On equal
 * scores the earlier block keeps the place (strict comparisons). */
static inline void row_merge(row_state *s, const vf *acc, int32_t g) {
    const vi up01 = acc[1] > acc[0], up23 = acc[3] > acc[2];
    const vf hi01 = select(up01, acc[1], acc[0]), lo01 = select(up01, acc[0], acc[1]);
    const vf hi23 = select(up23, acc[3], acc[2]), lo23 = select(up23, acc[2], acc[3]);
    const vi base = (vi){0} + g, at01 = base + (up01 & 1), at23 = base + 2 + (up23 & 1);
    const vi up = hi23 > hi01;
    const vf top = select(up, hi23, hi01), low = select(up, hi01, hi23);
    const vf lows = select(lo23 > lo01, lo23, lo01);
    const vf second = select(lows > low, lows, low);
    const vi top_at = (up & at23) | (~up & at01);
    const vi win = top > s->best1;
    const vf kept2 = select(top > s->best2, top, s->best2), lost2 = select(second > s->best1, second, s->best1);
    s->best2 = select(win, lost2, kept2);
    s->best1 = select(win, top, s->best1);
    s->at = (win & top_at) | (~win & s->at);
}

/* The row's token (the first lane holding its best) and whether it is near: a runner-up within
 * the tolerance of the best, or a row that is not finite. */
static inline int row_finish(const row_state *s, const int64_t *order, int64_t *out, uint8_t *near) {
    int lane = 0;
    for (int l = 1; l < LANES; l++)
        if (s->best1[l] > s->best1[lane]) lane = l;
    float runner = -INFINITY;
    for (int l = 0; l < LANES; l++) {
        if (s->best2[l] > runner) runner = s->best2[l];
        if (l != lane && s->best1[l] > runner) runner = s->best1[l];
    }
    *out = order[(int64_t)s->at[lane] * LANES + lane];
    *near = !((double)runner < (double)s->best1[lane] - s->tol) || !isfinite(s->norm);
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
