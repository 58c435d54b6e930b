/* The step rule's hidden state, h = act(mean_p H(E[t_p])), of many rows (chains.py's step_hidden).
 *
 * numpy computes it as one batched matrix product per layer, then sums the parents in order,
 * divides by M and applies the activation. This file does the same arithmetic row by row with
 * no temporaries: each product z @ W accumulates over k in order with fused multiply-adds from
 * zero, which is how OpenBLAS's dgemm kernels round a product with more than one row (so h is
 * numpy's bit for bit where numpy hands the product to such a kernel; tests/generator/test_step.py
 * checks it). Elsewhere (another BLAS, other kernels) h may differ from numpy's in the last bits,
 * as any two products in float64 may; the readout's float64 re-check makes the tokens the
 * reference's except where two tokens' scores agree to ~1e-15.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* readout.c, built into the same library: the chain tokens' readout */
int64_t readout_argmax(const void *table, const double *h, int64_t n, int64_t *out, uint8_t *near);

#define MAX_DIMS 64 /* rows live on the stack; larger d goes to numpy */
#define WIDE 16     /* d up to this runs on padded vectors, several rows at once */
#define ROWS 4      /* rows interleaved: independent multiply-add chains hide their latency */

enum { IDENTITY = 0, RELU = 1, LEAKY_RELU = 2 };

int64_t step_max_dims(void) { return MAX_DIMS; }

/* np.maximum(x, floor): x where x >= floor or x is NaN */
static inline double keep_max(double x, double floor) { return (x >= floor || x != x) ? x : floor; }

static inline double activate(double x, int activation, double slope) {
    switch (activation) {
    case RELU: return keep_max(x, 0.0);
    case LEAKY_RELU: return keep_max(x, slope * x);
    default: return x;
    }
}

/* ---- d <= WIDE: a row is WIDE / 8 vectors of 8 doubles, zero-padded ------------------------ */

typedef double vd __attribute__((vector_size(8 * sizeof(double))));
typedef int64_t vl __attribute__((vector_size(8 * sizeof(int64_t))));
#define PARTS (WIDE / 8)

#if defined(__AVX512F__)
#include <immintrin.h>
static inline vd vfma(vd a, vd b, vd c) { return (vd)_mm512_fmadd_pd((__m512d)a, (__m512d)b, (__m512d)c); }
#elif defined(__FMA__)
#include <immintrin.h>
static inline vd vfma(vd a, vd b, vd c) {
    vd r;
    __m256d *out = (__m256d *)&r;
    const __m256d *x = (const __m256d *)&a, *y = (const __m256d *)&b, *z = (const __m256d *)&c;
    out[0] = _mm256_fmadd_pd(x[0], y[0], z[0]);
    out[1] = _mm256_fmadd_pd(x[1], y[1], z[1]);
    return r;
}
#else
static inline vd vfma(vd a, vd b, vd c) { /* fma() rounds once, as the hardware instruction does */
    vd r;
    for (int l = 0; l < 8; l++) r[l] = fma(a[l], b[l], c[l]);
    return r;
}
#endif

static inline vd vkeep_max(vd x, vd floor) {
    const vl keep = (x >= floor) | (x != x);
    return (vd)(((vl)x & keep) | ((vl)floor & ~keep));
}

static inline void vactivate(vd *x, int activation, double slope) {
    for (int q = 0; q < PARTS; q++) {
        if (activation == RELU) x[q] = vkeep_max(x[q], (vd){0});
        else if (activation == LEAKY_RELU) x[q] = vkeep_max(x[q], slope * x[q]);
    }
}

/* y[i] = x[i] @ w for ROWS rows: w is (d, WIDE), padded with zero columns; each output
 * accumulates over k in order with fused multiply-adds from zero. */
static inline void rows_product(const double *const *x, const vd *w, int64_t d, vd y[ROWS][PARTS]) {
    for (int i = 0; i < ROWS; i++)
        for (int q = 0; q < PARTS; q++) y[i][q] = (vd){0};
    for (int64_t k = 0; k < d; k++) {
        const vd *wk = w + k * PARTS;
        for (int i = 0; i < ROWS; i++) {
            const vd xk = (vd){0} + x[i][k];
            for (int q = 0; q < PARTS; q++) y[i][q] = vfma(xk, wk[q], y[i][q]);
        }
    }
}

static void hidden_wide(const double *embedding, int64_t d, const int64_t *tokens, int64_t R, int64_t M,
                        const double *weights, int64_t L, int activation, double slope, double *out) {
    vd w[L * d * PARTS]; /* this entry's layers, padded to WIDE columns */
    memset(w, 0, sizeof(w));
    for (int64_t layer = 0; layer < L; layer++)
        for (int64_t k = 0; k < d; k++)
            memcpy((double *)&w[(layer * d + k) * PARTS], weights + (layer * d + k) * d, d * sizeof(double));
    const vd parents = (vd){0} + (double)M;
    for (int64_t r0 = 0; r0 < R; r0 += ROWS) {
        const int64_t rows = R - r0 < ROWS ? R - r0 : ROWS; /* a short last group repeats its last row */
        vd total[ROWS][PARTS], y[ROWS][PARTS];
        double z[ROWS][WIDE];
        for (int64_t p = 0; p < M; p++) {
            const double *x[ROWS];
            for (int i = 0; i < ROWS; i++) x[i] = embedding + tokens[(r0 + (i < rows ? i : rows - 1)) * M + p] * d;
            for (int64_t layer = 0; layer < L; layer++) {
                rows_product(x, w + layer * d * PARTS, d, y);
                if (layer < L - 1) {
                    for (int i = 0; i < ROWS; i++) {
                        vactivate(y[i], activation, slope);
                        memcpy(z[i], y[i], sizeof(y[i]));
                        x[i] = z[i];
                    }
                }
            }
            /* parents added one by one in order, as numpy's sum over them */
            for (int i = 0; i < ROWS; i++)
                for (int q = 0; q < PARTS; q++) total[i][q] = p == 0 ? y[i][q] : total[i][q] + y[i][q];
        }
        for (int64_t i = 0; i < rows; i++) {
            for (int q = 0; q < PARTS; q++) total[i][q] = total[i][q] / parents;
            vactivate(total[i], activation, slope);
            memcpy(out + (r0 + i) * d, total[i], d * sizeof(double));
        }
    }
}

/* ---- any d up to MAX_DIMS: one row at a time ------------------------------------------------ */

/* y = z @ w for one row: w is (d, d) row-major, accumulated over k in order. */
static inline void row_product(const double *z, const double *w, int64_t d, double *y) {
    for (int64_t j = 0; j < d; j++) y[j] = 0.0;
    for (int64_t k = 0; k < d; k++) {
        const double zk = z[k];
        const double *wk = w + k * d;
        for (int64_t j = 0; j < d; j++) y[j] = fma(zk, wk[j], y[j]);
    }
}

static void hidden_rows(const double *embedding, int64_t d, const int64_t *tokens, int64_t R, int64_t M,
                        const double *w, int64_t L, int activation, double slope, double *out) {
    double z[MAX_DIMS], y[MAX_DIMS], total[MAX_DIMS];
    for (int64_t r = 0; r < R; r++) {
        for (int64_t p = 0; p < M; p++) {
            const double *x = embedding + tokens[r * M + p] * d;
            for (int64_t layer = 0; layer < L; layer++) {
                row_product(x, w + layer * d * d, d, y);
                for (int64_t j = 0; j < d; j++) z[j] = layer < L - 1 ? activate(y[j], activation, slope) : y[j];
                x = z;
            }
            if (p == 0) memcpy(total, x, d * sizeof(double));
            else for (int64_t j = 0; j < d; j++) total[j] += x[j];
        }
        for (int64_t j = 0; j < d; j++) out[r * d + j] = activate(total[j] / (double)M, activation, slope);
    }
}

/* One batch entry's R rows: padded vectors where d allows, one row at a time beyond. */
static inline void entry_hidden(const double *embedding, int64_t d, const int64_t *tokens, int64_t R, int64_t M,
                                const double *w, int64_t L, int activation, double slope, double *out) {
    if (d <= WIDE) hidden_wide(embedding, d, tokens, R, M, w, L, activation, slope, out);
    else hidden_rows(embedding, d, tokens, R, M, w, L, activation, slope, out);
}

static inline int handled(int64_t d, int64_t M, int64_t L) { return d >= 1 && d <= MAX_DIMS && M >= 1 && L >= 1; }

/* tokens (B, R, M) int64; weights: B entries of (L, d, d) float64, weight_stride elements apart;
 * out (B, R, d). Returns 0, or 1 (out not written) where a token is outside [0, vocab) or d is
 * outside [1, MAX_DIMS]: the caller then takes numpy's path, which raises or wraps as numpy
 * indexing does. */
int64_t step_hidden(const double *embedding, int64_t vocab, int64_t d, const int64_t *tokens, int64_t B, int64_t R,
                    int64_t M, const double *weights, int64_t weight_stride, int64_t L, int64_t activation,
                    double slope, double *out) {
    if (!handled(d, M, L)) return 1;
    for (int64_t i = 0; i < B * R * M; i++)
        if (tokens[i] < 0 || tokens[i] >= vocab) return 1;
    for (int64_t b = 0; b < B; b++)
        entry_hidden(embedding, d, tokens + b * R * M, R, M, weights + b * weight_stride, L, (int)activation, slope,
                     out + b * R * d);
    return 0;
}

/* One chain position of B prompts of K examples each, hidden states and readout together.
 * nodes (B, K, width) int64: each example's inputs and the chain tokens so far; the position's
 * parents are columns parents[b * parent_stride + p] (p < M) of prompt b's rows, and its tokens go
 * to column `column`. weights: prompt b's (L, d, d) processor at weights + b * weight_stride.
 * h (B * K, d) receives every row's hidden state and near (B * K) the readout's near flags: the
 * caller settles those rows the reference's way. Returns how many rows are near, or -1 (nodes not
 * written) where a parent column or a gathered token is out of range, or d is not handled. */
int64_t chain_position(const double *embedding, int64_t vocab, int64_t d, int64_t *nodes, int64_t B, int64_t K,
                       int64_t width, int64_t column, const int64_t *parents, int64_t parent_stride, int64_t M,
                       const double *weights, int64_t weight_stride, int64_t L, int64_t activation, double slope,
                       const void *table, double *h, uint8_t *near) {
    if (!handled(d, M, L) || column >= width) return -1;
    for (int64_t b = 0; b < B; b++)
        for (int64_t p = 0; p < M; p++)
            if (parents[b * parent_stride + p] < 0 || parents[b * parent_stride + p] >= column) return -1;
    int64_t *tokens = malloc((size_t)(K * M + B * K) * sizeof(int64_t));
    if (tokens == NULL) return -1;
    int64_t *chosen = tokens + K * M;
    for (int64_t b = 0; b < B; b++) {
        const int64_t *row = nodes + b * K * width, *at = parents + b * parent_stride;
        for (int64_t k = 0; k < K; k++)
            for (int64_t p = 0; p < M; p++) {
                const int64_t token = row[k * width + at[p]]; /* checked where read: only these are used */
                if (token < 0 || token >= vocab) {
                    free(tokens);
                    return -1;
                }
                tokens[k * M + p] = token;
            }
        entry_hidden(embedding, d, tokens, K, M, weights + b * weight_stride, L, (int)activation, slope, h + b * K * d);
    }
    const int64_t n_near = readout_argmax(table, h, B * K, chosen, near);
    for (int64_t i = 0; i < B * K; i++) nodes[i * width + column] = chosen[i];
    free(tokens);
    return n_near;
}
