/* Loss of an MLP at many parameter vectors, one fused pass per vector: the plane evaluator's fast path.
 *
 * Built by lossfilm/native.py with the system C compiler; when there is none, the torch path runs
 * instead. Why it exists: for narrow MLPs the grid's cost is not the matrix products but the
 * elementwise work between them (torch's CPU sigmoid alone costs 3x the grid's whole matmul time), and
 * torch offers no fused CPU kernel for it (torch.compile was slower than eager here). This kernel keeps a
 * tile of TILE rows in registers through every layer, the activation and the loss, so each hidden value
 * is made, squashed and consumed without touching memory.
 *
 * Layout: thetas (K, P) row-major, each row a flat parameter vector in the model's named_parameters()
 * order; each Linear weight (out, in) row-major at w_off[l], its bias at b_off[l] (-1: none).
 * x_t (in, R) and, for mse, y_t (out, R): transposed so a tile of rows is contiguous; R is a multiple of
 * TILE and `weight` is 1 for real rows, 0 for padding. For cross-entropy, `cls` holds class indices.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#define TILE 16 /* rows per tile: one vector */

enum { ACT_NONE = 0, ACT_TANH = 1, ACT_RELU = 2, ACT_SIGMOID = 3 };
enum { LOSS_MSE = 0, LOSS_CROSS_ENTROPY = 1 };

/* GCC/Clang vector extensions: the tile is one vector whatever the machine's width (the compiler splits
 * it into what the CPU has), so nothing depends on the auto-vectoriser. */
typedef float vf __attribute__((vector_size(TILE * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(TILE * sizeof(float))));

static inline vf splat(float a) { return (vf){0} + a; }
static inline vf load(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
static inline void store(float *p, vf v) { memcpy(p, &v, sizeof v); }
static inline vf pick(vi mask, vf a, vf b) { return (vf)(((vi)a & mask) | ((vi)b & ~mask)); }
#if defined(__AVX512F__)
/* One instruction each where the CPU has them: max and min (the generic forms are three bitwise ops),
 * and division as a 14-bit reciprocal estimate refined by one Newton step (full float precision). */
#include <immintrin.h>
static inline vf vmax(vf a, vf b) { return (vf)_mm512_max_ps((__m512)a, (__m512)b); }
static inline vf vmin(vf a, vf b) { return (vf)_mm512_min_ps((__m512)a, (__m512)b); }
static inline vf divide(vf a, vf b) {
    vf r = (vf)_mm512_rcp14_ps((__m512)b);
    r = r * (2.0f - b * r);
    return a * r;
}
#else
static inline vf vmax(vf a, vf b) { return pick(a > b, a, b); }
static inline vf vmin(vf a, vf b) { return pick(a < b, a, b); }
static inline vf divide(vf a, vf b) { return a / b; }
#endif

/* tanh as a rational function of x (Eigen's float tanh, accurate to a few ulp). */
static inline vf tanh_v(vf x) {
    const float c = 7.90531110763549805f;
    x = vmin(vmax(x, splat(-c)), splat(c));
    vf x2 = x * x;
    vf p = splat(-2.76076847742355e-16f);
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * x;
    vf q = splat(1.19825839466702e-06f);
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return divide(p, q);
}

/* exp for x <= 0 (Cephes expf: range reduction by ln 2, degree-6 polynomial, exponent by bits). */
static inline vf exp_neg(vf x) {
    x = vmax(x, splat(-87.0f));
    vi ni = __builtin_convertvector(x * 1.44269504088896341f - 0.5f, vi); /* nearest, for x <= 0 */
    vf n = __builtin_convertvector(ni, vf);
    vf r = x - n * 0.693359375f + n * 2.12194440e-4f;
    vf z = r * r;
    vf p = splat(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * z + r + 1.0f;
    return p * (vf)((ni + 127) << 23);
}

/* log for normal x > 0 (Cephes logf). */
static inline vf log_pos(vf x) {
    vi bits = (vi)x;
    vi e = ((bits >> 23) & 0xff) - 127;
    vf m = (vf)((bits & 0x007fffff) | 0x3f800000); /* mantissa in [1, 2) */
    vi big = m > 1.41421356237f;                   /* -1 where true */
    m = pick(big, m * 0.5f, m);
    vf fe = __builtin_convertvector(e - big, vf);
    vf f = m - 1.0f;
    vf z = f * f;
    vf y = splat(7.0376836292e-2f);
    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = y * f * z;
    y += fe * -2.12194440e-4f;
    y += z * -0.5f;
    return f + y + fe * 0.693359375f;
}

static inline __attribute__((always_inline)) vf activate(vf h, int act) {
    switch (act) {
    case ACT_TANH:
        return tanh_v(h);
    case ACT_RELU:
        return vmax(h, splat(0.0f));
    case ACT_SIGMOID: /* sigmoid(x) = (1 + tanh(x / 2)) / 2 */
        return 0.5f + 0.5f * tanh_v(0.5f * h);
    default:
        return h;
    }
}

/* n outputs (n <= 4) of one layer for one tile: dst (n, TILE) = act(W (n, in) @ src (in, TILE) + b).
 * Eight independent sums (n outputs x even and odd inputs): a multiply-add waits four cycles for the one
 * before it on the same sum, so fewer chains leave the FMA units idle (one chain ran 3x slower). */
static inline __attribute__((always_inline)) void outputs(const float *restrict w, const float *restrict b, int in, const float *restrict src,
                           long stride, float *restrict dst, int act, const int n) {
    vf even[4], odd[4];
    for (int j = 0; j < n; j++) {
        even[j] = splat(b ? b[j] : 0.0f);
        odd[j] = splat(0.0f);
    }
    int i = 0;
    for (; i + 2 <= in; i += 2) {
        vf s0 = load(src + i * stride), s1 = load(src + (i + 1) * stride);
        for (int j = 0; j < n; j++) {
            even[j] += w[(long)j * in + i] * s0;
            odd[j] += w[(long)j * in + i + 1] * s1;
        }
    }
    if (i < in) {
        vf s0 = load(src + i * stride);
        for (int j = 0; j < n; j++) even[j] += w[(long)j * in + i] * s0;
    }
    for (int j = 0; j < n; j++) store(dst + (long)j * TILE, activate(even[j] + odd[j], act));
}

/* One layer for one tile: dst (out, TILE) = act(W (out, in) @ src (in, TILE) + b). */
static inline __attribute__((always_inline)) void layer_body(const float *restrict w, const float *restrict b,
                                                            int in, int out, const float *restrict src,
                                                            long stride, float *restrict dst, const int act) {
    int o = 0;
    for (; o + 4 <= out; o += 4)
        outputs(w + (long)o * in, b ? b + o : NULL, in, src, stride, dst + (long)o * TILE, act, 4);
    const float *wo = w + (long)o * in, *bo = b ? b + o : NULL;
    switch (out - o) { /* constant n: each case compiles to straight-line code */
    case 3:
        outputs(wo, bo, in, src, stride, dst + (long)o * TILE, act, 3);
        break;
    case 2:
        outputs(wo, bo, in, src, stride, dst + (long)o * TILE, act, 2);
        break;
    case 1:
        outputs(wo, bo, in, src, stride, dst + (long)o * TILE, act, 1);
        break;
    default:
        break;
    }
}

static void layer(const float *w, const float *b, int in, int out, const float *src, long stride, float *dst,
                  int act) {
    switch (act) { /* a constant activation in each case: no branch inside the loops */
    case ACT_TANH:
        layer_body(w, b, in, out, src, stride, dst, ACT_TANH);
        break;
    case ACT_RELU:
        layer_body(w, b, in, out, src, stride, dst, ACT_RELU);
        break;
    case ACT_SIGMOID:
        layer_body(w, b, in, out, src, stride, dst, ACT_SIGMOID);
        break;
    default:
        layer_body(w, b, in, out, src, stride, dst, ACT_NONE);
        break;
    }
}

/* Two layers for one tile where the second is narrow (n2 <= 4 outputs, as a classifier's or a
 * regressor's last layer): each block of four hidden values is made, squashed and consumed by the n2
 * output sums while still in registers. Storing the hidden layer and reading it back cost more than
 * the arithmetic for a 2-50-3 MLP. */
static inline __attribute__((always_inline)) void narrow_pair(
    const float *restrict w, const float *restrict b, int in, int hidden, const float *restrict src, long stride,
    int act, const float *restrict w2, const float *restrict b2, int act2, float *restrict dst, const int n2) {
    vf acc2[4];
    for (int c = 0; c < n2; c++) acc2[c] = splat(b2 ? b2[c] : 0.0f);
    int o = 0;
    for (; o + 4 <= hidden; o += 4) {
        vf h[4];
        const float *wo = w + (long)o * in;
        for (int j = 0; j < 4; j++) h[j] = splat(b ? b[o + j] : 0.0f);
        for (int i = 0; i < in; i++) {
            vf s = load(src + i * stride);
            for (int j = 0; j < 4; j++) h[j] += wo[(long)j * in + i] * s;
        }
        for (int j = 0; j < 4; j++) {
            h[j] = activate(h[j], act);
            for (int c = 0; c < n2; c++) acc2[c] += w2[(long)c * hidden + o + j] * h[j];
        }
    }
    for (; o < hidden; o++) {
        vf h = splat(b ? b[o] : 0.0f);
        for (int i = 0; i < in; i++) h += w[(long)o * in + i] * load(src + i * stride);
        h = activate(h, act);
        for (int c = 0; c < n2; c++) acc2[c] += w2[(long)c * hidden + o] * h;
    }
    for (int c = 0; c < n2; c++) store(dst + (long)c * TILE, activate(acc2[c], act2));
}

static void layer_pair(const float *w, const float *b, int in, int hidden, const float *src, long stride, int act,
                       const float *w2, const float *b2, int n2, int act2, float *dst) {
    /* Constant n2 and activation in each case: straight-line code with no branch in the loop. */
#define PAIR(N2, ACT) narrow_pair(w, b, in, hidden, src, stride, ACT, w2, b2, act2, dst, N2)
#define PAIRS(N2)                   \
    switch (act) {                  \
    case ACT_TANH:                  \
        PAIR(N2, ACT_TANH);         \
        break;                      \
    case ACT_RELU:                  \
        PAIR(N2, ACT_RELU);         \
        break;                      \
    case ACT_SIGMOID:               \
        PAIR(N2, ACT_SIGMOID);      \
        break;                      \
    default:                        \
        PAIR(N2, ACT_NONE);         \
        break;                      \
    }
    switch (n2) {
    case 1:
        PAIRS(1);
        break;
    case 2:
        PAIRS(2);
        break;
    case 3:
        PAIRS(3);
        break;
    default:
        PAIRS(4);
        break;
    }
#undef PAIRS
#undef PAIR
}

/* The weighted count of the tile's rows whose first largest output is their class (torch's argmax). */
static double tile_hits(const float *restrict h, int out, const int32_t *restrict cls,
                        const float *restrict weight, long r0) {
    vi c, idx = (vi){0};
    memcpy(&c, cls + r0, sizeof c);
    vf best = load(h);
    for (int o = 1; o < out; o++) {
        vf v = load(h + o * TILE);
        vi gt = (vi)(v > best);
        best = pick(gt, v, best);
        idx = (idx & ~gt) | (((vi){0} + o) & gt);
    }
    vf hit = pick((vi)(idx == c), splat(1.0f), splat(0.0f)) * load(weight + r0);
    double total = 0.0;
    for (int t = 0; t < TILE; t++) total += (double)hit[t];
    return total;
}

/* Sum over the tile's rows of the per-row loss, each row weighted. */
static double tile_loss(const float *restrict h, int out, int loss, const float *restrict y_t,
                        const int32_t *restrict cls, const float *restrict weight, long rows, long r0) {
    vf l;
    if (loss == LOSS_MSE) {
        l = splat(0.0f);
        for (int o = 0; o < out; o++) {
            vf d = load(h + o * TILE) - load(y_t + o * rows + r0);
            l += d * d;
        }
    } else {
        vi c;
        memcpy(&c, cls + r0, sizeof c);
        vf top = load(h), sum = splat(0.0f), picked = splat(0.0f);
        for (int o = 1; o < out; o++) top = vmax(top, load(h + o * TILE));
        for (int o = 0; o < out; o++) {
            vf v = load(h + o * TILE);
            sum += exp_neg(v - top);
            picked += pick(c == o, v, splat(0.0f));
        }
        l = top + log_pos(sum) - picked;
    }
    l *= load(weight + r0);
    double total = 0.0;
    for (int t = 0; t < TILE; t++) total += (double)l[t];
    return total;
}

/* Sum of per-row losses for each of K parameter vectors, and (when `hits` is not NULL, for class targets)
 * the count of rows classified right, in the same pass; returns 0, or -1 if scratch memory ran out. */
int mlp_loss(long k, long p, const float *thetas, int layers, const int32_t *dims, const int64_t *w_off,
             const int64_t *b_off, const int32_t *act, long rows, const float *x_t, int loss, const float *y_t,
             const int32_t *cls, const float *weight, double *out, double *hits) {
#if defined(__SSE__)
    /* Denormals flushed to zero while the kernel runs (tiny polynomial terms of tanh for tiny inputs are
     * not worth a microcode assist each); the caller's setting is restored. */
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040);
#endif
    int widest = 0;
    for (int l = 0; l <= layers; l++) widest = dims[l] > widest ? dims[l] : widest;
    float *buf = malloc(2 * sizeof(float) * (size_t)widest * TILE);
    if (!buf) {
#if defined(__SSE__)
        _mm_setcsr(csr);
#endif
        return -1;
    }
    float *a = buf, *b = buf + (size_t)widest * TILE;
    for (long i = 0; i < k; i++) {
        const float *theta = thetas + i * p;
        double total = 0.0, right = 0.0;
        for (long r0 = 0; r0 < rows; r0 += TILE) {
            const float *src = x_t + r0;
            long stride = rows;
            for (int l = 0; l < layers; l++) {
                const float *w = theta + w_off[l], *bias = b_off[l] >= 0 ? theta + b_off[l] : NULL;
                if (l + 1 < layers && dims[l + 2] <= 4) {
                    layer_pair(w, bias, dims[l], dims[l + 1], src, stride, act[l], theta + w_off[l + 1],
                               b_off[l + 1] >= 0 ? theta + b_off[l + 1] : NULL, dims[l + 2], act[l + 1], a);
                    l++;
                } else {
                    layer(w, bias, dims[l], dims[l + 1], src, stride, a, act[l]);
                }
                src = a;
                stride = TILE;
                float *swap = a;
                a = b;
                b = swap;
            }
            total += tile_loss(src, dims[layers], loss, y_t, cls, weight, rows, r0);
            if (hits) right += tile_hits(src, dims[layers], cls, weight, r0);
        }
        out[i] = total;
        if (hits) hits[i] = right;
    }
    free(buf);
#if defined(__SSE__)
    _mm_setcsr(csr);
#endif
    return 0;
}
