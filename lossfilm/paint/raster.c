/* Gouraud-shaded triangles painted straight into an RGBA8 image: the surface's smooth shading.
 *
 * Built by lossfilm/raster.py with the system C compiler; without one, matplotlib's own
 * draw_gouraud_triangles paints the same picture, about 5x slower (it sets up an anti-aliased
 * scanline pass per triangle: 11 ms of a 30-ms 720p frame).
 *
 * Triangles are painted in the order given (the painter's algorithm: the caller sorts them far to
 * near). Each triangle's colour is interpolated from its corners' (barycentric weights, clamped and
 * renormalised outside it). An edge the caller marks smooth (bit k of smooth[t]: the edge opposite
 * corner k; the surface's outline and its folds) is anti-aliased by coverage: a pixel centre at signed
 * distance d (pixels, positive inside) is covered by min(1, 1 + d), so the edge blends into what lies
 * behind. Every other edge is shared with a neighbour that continues the surface on screen: it is cut
 * hard half a pixel outside, so that the two overlap and no background shows through the seam (Agg
 * dilates its Gouraud triangles for the same reason), and costs nothing extra.
 *
 * Layout: xy (n, 3, 2) in pixels, x to the right, y down, pixel (c, r) centred at (c + 0.5, r + 0.5);
 * rgba (n, 3, 4) in [0, 1]; image rows of `stride` bytes, straight (not premultiplied) alpha, as
 * matplotlib's Agg buffer. Only pixels with x0 <= c < x1 and y0 <= r < y1 are written.
 */
#include <math.h>
#include <stdint.h>

static inline double clampd(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

void gouraud(long stride, uint8_t *image, long n, const double *xy, const float *rgba, const uint8_t *smooth,
             long x0, long y0, long x1, long y1)
{
    for (long t = 0; t < n; t++) {
        const double *p = xy + 6 * t;
        const float *c = rgba + 12 * t;
        int aa[3] = {smooth[t] & 1, (smooth[t] >> 1) & 1, (smooth[t] >> 2) & 1};
        double ax = p[0], ay = p[1], bx = p[2], by = p[3], cx = p[4], cy = p[5];
        double area = (bx - ax) * (cy - ay) - (cx - ax) * (by - ay);
        if (!(fabs(area) > 1e-9)) /* degenerate, or NaN corners */
            continue;
        int ib = 1, ic = 2;
        if (area < 0) { /* counter-clockwise on screen: swap b and c so that inside is positive */
            double tx = bx, ty = by;
            bx = cx; by = cy; cx = tx; cy = ty;
            ib = 2; ic = 1;
            area = -area;
            int swap = aa[1]; /* the edges opposite b and c trade places too */
            aa[1] = aa[2]; aa[2] = swap;
        }
        const float *ca = c, *cb = c + 4 * ib, *cc = c + 4 * ic;
        /* Edge functions e_k(x, y) = A_k x + B_k y + C_k, edge k opposite corner k; e_k / area is
         * corner k's barycentric weight and e_k / |edge k| the signed distance to that edge. */
        double A[3] = {by - cy, cy - ay, ay - by};
        double B[3] = {cx - bx, ax - cx, bx - ax};
        double C[3] = {bx * cy - cx * by, cx * ay - ax * cy, ax * by - bx * ay};
        double inv_len[3], outer[3], inner[3], Bn[3], Cn[3], slope[3], per_slope[3];
        for (int k = 0; k < 3; k++) {
            double len = sqrt(A[k] * A[k] + B[k] * B[k]);
            inv_len[k] = len > 0 ? 1.0 / len : 0.0;
            /* A smoothed edge ramps from distance -1 to 0; a hard one covers to -0.5, no seam. */
            outer[k] = aa[k] ? -1.0 : -0.5;
            inner[k] = aa[k] ? 0.0 : -0.5;
            /* Per row, the distance is slope * x + Bn * y + Cn: the span's ends by one multiply each
             * (triangles are a few pixels tall, so these rows' set-up is most of a triangle's cost). */
            Bn[k] = B[k] * inv_len[k];
            Cn[k] = C[k] * inv_len[k];
            slope[k] = A[k] * inv_len[k];
            per_slope[k] = fabs(slope[k]) > 1e-12 ? 1.0 / slope[k] : 0.0;
        }
        double lo_x = fmin(ax, fmin(bx, cx)) - 1.0, hi_x = fmax(ax, fmax(bx, cx)) + 1.0;
        double lo_y = fmin(ay, fmin(by, cy)) - 1.0, hi_y = fmax(ay, fmax(by, cy)) + 1.0;
        long r0 = (long)floor(lo_y), r1 = (long)ceil(hi_y);
        long c0 = (long)floor(lo_x), c1 = (long)ceil(hi_x);
        if (r0 < y0) r0 = y0;
        if (r1 > y1) r1 = y1;
        if (c0 < x0) c0 = x0;
        if (c1 > x1) c1 = x1;
        if (r0 >= r1 || c0 >= c1)
            continue;
        double inv_area = 1.0 / area;
        /* Inside, the colour is linear in x and y: value + slope per pixel along the row. */
        double gx[4], gy[4], g0[4];
        for (int k = 0; k < 4; k++) {
            gx[k] = (A[0] * ca[k] + A[1] * cb[k] + A[2] * cc[k]) * inv_area;
            gy[k] = (B[0] * ca[k] + B[1] * cb[k] + B[2] * cc[k]) * inv_area;
            g0[k] = (C[0] * ca[k] + C[1] * cb[k] + C[2] * cc[k]) * inv_area;
        }
        int opaque = ca[3] >= 1.0f && cb[3] >= 1.0f && cc[3] >= 1.0f;
        for (long r = r0; r < r1; r++) {
            double py = r + 0.5;
            /* The row's span where every edge's distance exceeds -1 (painted at all) and where it is
             * at least 0 (inside: fully covered): each edge bounds x on one side. */
            double left = c0, right = c1, in_left = c0, in_right = c1;
            int empty = 0;
            for (int k = 0; k < 3; k++) {
                double base = Bn[k] * py + Cn[k]; /* the distance at x = 0 */
                if (slope[k] > 1e-12) {
                    double x = (outer[k] - base) * per_slope[k] - 0.5, xi = (inner[k] - base) * per_slope[k] - 0.5;
                    if (x > left) left = x;
                    if (xi > in_left) in_left = xi;
                } else if (slope[k] < -1e-12) {
                    double x = (outer[k] - base) * per_slope[k] - 0.5, xi = (inner[k] - base) * per_slope[k] - 0.5;
                    if (x < right) right = x;
                    if (xi < in_right) in_right = xi;
                } else if (base <= outer[k]) {
                    empty = 1;
                } else if (base < inner[k]) {
                    in_left = c1; /* the whole row is in this edge's ramp */
                }
            }
            if (empty)
                continue;
            long cs = (long)ceil(left), ce = (long)floor(right) + 1;
            if (cs < c0) cs = c0;
            if (ce > c1) ce = c1;
            /* Interior pixels, strictly inside by a hair (rounding never puts a ramp pixel here). */
            long is = (long)ceil(in_left + 1e-9), ie = (long)floor(in_right - 1e-9) + 1;
            if (is < cs) is = cs;
            if (ie > ce) ie = ce;
            if (ie < is) ie = is;
            uint8_t *row = image + r * stride;
            for (long col = cs; col < ce; col++) {
                uint8_t *q = row + 4 * col;
                double px = col + 0.5;
                if (col >= is && col < ie && opaque) {
                    /* The interior run: one store per channel, the colour stepping along the row. */
                    double v[3];
                    for (int k = 0; k < 3; k++)
                        v[k] = (g0[k] + gx[k] * px + gy[k] * py) * 255.0 + 0.5;
                    double dv[3] = {gx[0] * 255.0, gx[1] * 255.0, gx[2] * 255.0};
                    for (; col < ie; col++, q += 4) {
                        for (int k = 0; k < 3; k++) {
                            double u = v[k] < 0.5 ? 0.5 : (v[k] > 255.5 ? 255.5 : v[k]);
                            q[k] = (uint8_t)u;
                            v[k] += dv[k];
                        }
                        q[3] = 255;
                    }
                    col--; /* the loop's own increment */
                    continue;
                }
                double e0 = A[0] * px + B[0] * py + C[0];
                double e1 = A[1] * px + B[1] * py + C[1];
                double e2 = A[2] * px + B[2] * py + C[2];
                double dk[3] = {e0 * inv_len[0], e1 * inv_len[1], e2 * inv_len[2]};
                double cover = 1.0;
                int out = 0;
                for (int k = 0; k < 3; k++) {
                    if (dk[k] <= outer[k])
                        out = 1;
                    else if (aa[k] && dk[k] < 0 && 1.0 + dk[k] < cover)
                        cover = 1.0 + dk[k];
                }
                if (out)
                    continue;
                double w0 = e0 > 0 ? e0 : 0, w1 = e1 > 0 ? e1 : 0, w2 = e2 > 0 ? e2 : 0;
                double sum = w0 + w1 + w2;
                if (sum <= 0)
                    continue;
                double s = 1.0 / sum; /* inside, sum is the area; outside, the nearest corners weigh */
                w0 *= s; w1 *= s; w2 *= s;
                double alpha = clampd(w0 * ca[3] + w1 * cb[3] + w2 * cc[3], 0, 1) * cover;
                for (int k = 0; k < 3; k++) {
                    double v = clampd(w0 * ca[k] + w1 * cb[k] + w2 * cc[k], 0, 1) * 255.0;
                    q[k] = (uint8_t)(q[k] + (v - q[k]) * alpha + 0.5);
                }
                q[3] = (uint8_t)(q[3] + (255.0 - q[3]) * alpha + 0.5);
            }
        }
    }
}

/* A text sprite composited onto the frame: out = below * keep + ink, truncated, per channel, in float
 * as numpy's float32 arithmetic does it (the build turns off fused multiply-adds, so the two agree to
 * the bit). frame: rows of `stride` bytes, RGBA8; ink (h, w, 3) and keep (h, w) float32, rows of
 * `src_w` pixels, the region's first pixel at ink/keep offset 0. */
void composite(long stride, uint8_t *frame, long h, long w, const float *ink, const float *keep, long src_w)
{
    for (long r = 0; r < h; r++) {
        uint8_t *q = frame + r * stride;
        const float *i = ink + 3 * r * src_w, *k = keep + r * src_w;
        for (long c = 0; c < w; c++, q += 4) {
            float kc = k[c];
            if (kc >= 1.0f && i[3 * c] < 1.0f && i[3 * c + 1] < 1.0f && i[3 * c + 2] < 1.0f)
                continue; /* no ink: below * 1 + 0.5 truncates to below */
            q[0] = (uint8_t)((float)q[0] * kc + i[3 * c]);
            q[1] = (uint8_t)((float)q[1] * kc + i[3 * c + 1]);
            q[2] = (uint8_t)((float)q[2] * kc + i[3 * c + 2]);
        }
    }
}

/* numpy's maximum and minimum: NaN when either is (fmax and fmin would drop it). */
static inline double nmax(double a, double b) { return (a != a || b != b) ? NAN : (a > b ? a : b); }
static inline double nmin(double a, double b) { return (a != a || b != b) ? NAN : (a < b ? a : b); }

/* The first index of xs (n ascending values) that is >= v, as numpy's searchsorted (side left) finds
 * it (n for v above them all or NaN), searched from the index k found last time: a ray's samples lie
 * a cell or so apart. */
static inline long first_at_least_from(const double *xs, long n, double v, long k)
{
    if (!(v <= xs[n - 1]))
        return n;
    k = k < 0 ? 0 : (k > n - 1 ? n - 1 : k);
    while (k > 0 && xs[k - 1] >= v)
        k--;
    while (xs[k] < v)
        k++;
    return k;
}

/* One sample of a ray: whether the point at distance t from b along d lies more than tol under the
 * surface (the operations of paint.HeightField._marched and paint.bilinear, in their order). at: the
 * grid indices the ray's last sample found, where the search for this one starts. */
static inline int under(const double *b, const double *d, double t, const double *aspect, const double *lo,
                        const double *span, long nx, const double *xs, long ny, const double *ys, const double *z,
                        double tol, long *at)
{
    double px = b[0] + t * d[0], py = b[1] + t * d[1], pz = b[2] + t * d[2];
    double x = px / aspect[0] * span[0] + lo[0], y = py / aspect[1] * span[1] + lo[1];
    double zz = pz / aspect[2] * span[2] + lo[2];
    at[0] = first_at_least_from(xs, nx, x, at[0]);
    at[1] = first_at_least_from(ys, ny, y, at[1]);
    long j = at[0] - 1, i = at[1] - 1;
    j = j < 0 ? 0 : (j > nx - 2 ? nx - 2 : j);
    i = i < 0 ? 0 : (i > ny - 2 ? ny - 2 : i);
    double tx = (x - xs[j]) / (xs[j + 1] - xs[j]), ty = (y - ys[i]) / (ys[i + 1] - ys[i]);
    tx = tx < 0 ? 0 : (tx > 1 ? 1 : tx);
    ty = ty < 0 ? 0 : (ty > 1 ? 1 : ty);
    const double *r0 = z + i * nx, *r1 = r0 + nx;
    double h = (1 - ty) * ((1 - tx) * r0[j] + tx * r0[j + 1]) + ty * ((1 - tx) * r1[j] + tx * r1[j + 1]);
    return zz < h - tol;
}

/* The crossings of a ray (from b along d) with the grid lines lines[0 .. n - 1] (increasing positions)
 * at distances from ta on, in increasing distance: crossings_peek gives the next one (INFINITY past
 * tb or after the last), and c->j += c->step moves past it. */
typedef struct { const double *lines; double b, d; long j, step, end; } crossings;

static void crossings_init(crossings *c, const double *lines, long n, double b, double d, double ta)
{
    c->lines = lines, c->b = b, c->d = d;
    c->j = d > 0 ? 0 : n - 1, c->step = d > 0 ? 1 : -1, c->end = d > 0 ? n : -1;
    if (d == 0 || d != d) {  /* parallel to the lines (numpy's t is +-inf or NaN, never in range), or NaN */
        c->j = c->end;
        return;
    }
    /* The first line in the ray's direction at distance >= ta: (lines[j] - b) / d grows along it. */
    long lo = 0, hi = n;  /* steps from the first line */
    while (lo < hi) {
        long mid = (lo + hi) / 2;
        if ((lines[c->j + c->step * mid] - b) / d >= ta)
            hi = mid;
        else
            lo = mid + 1;
    }
    c->j += c->step * lo;
}

static double crossings_peek(const crossings *c, double tb)
{
    if (c->j == c->end)
        return INFINITY;
    double t = (c->lines[c->j] - c->b) / c->d;
    return t <= tb ? t : INFINITY;
}

/* Whether a sample of the ray under the surface lies in [ta, tb]: ta, tb and the crossings of the grid's
 * lines between them. */
static int stretch_under(const double *b, const double *d, double ta, double tb, const double *lines_x,
                         const double *lines_y, const double *aspect, const double *lo, const double *span, long nx,
                         const double *xs, long ny, const double *ys, const double *z, double tol, long *at)
{
    crossings cx, cy;
    crossings_init(&cx, lines_x, nx, b[0], d[0], ta);
    crossings_init(&cy, lines_y, ny, b[1], d[1], ta);
    if (under(b, d, ta, aspect, lo, span, nx, xs, ny, ys, z, tol, at))
        return 1;
    for (;;) {
        double tx = crossings_peek(&cx, tb), ty = crossings_peek(&cy, tb), t;
        if (tx == INFINITY && ty == INFINITY)
            break;
        if (tx <= ty) {
            t = tx;
            cx.j += cx.step;
        } else {
            t = ty;
            cy.j += cy.step;
        }
        if (under(b, d, t, aspect, lo, span, nx, xs, ny, ys, z, tol, at))
            return 1;
    }
    return under(b, d, tb, aspect, lo, span, nx, xs, ny, ys, z, tol, at);
}

/* paint.HeightField.hidden's march (the occlusion of the paths), with the answers of
 * HeightField._marched in numpy: for each of n points (box units, box (n, 3)) along its ray (unit
 * vectors towards (n, 3)), over the stretch from `start` to `end` that lies over the footprint and
 * under the box's top (a rising ray: under roof, the surface's highest point in box units), the
 * surface z (ny, nx, on the grid xs, ys; its lines in box units lines_x, lines_y) is sampled where the
 * ray crosses a grid line and at both ends of the stretch; the point is hidden where a sample lies
 * more than tol under it. aspect, lo, span: the box's size and the data's origin and extent (3 each). */
void hidden(long n, const double *box, const double *towards, double start, double end, double roof,
            const double *aspect, const double *lo, const double *span, long nx, const double *xs, long ny,
            const double *ys, const double *lines_x, const double *lines_y, const double *z, double tol, uint8_t *out)
{
    for (long p = 0; p < n; p++) {
        const double *b = box + 3 * p, *d = towards + 3 * p;
        double t0 = start, t1 = end;
        for (int axis = 0; axis < 2; axis++) {
            double a = (0.0 - b[axis]) / d[axis], c = (aspect[axis] - b[axis]) / d[axis];
            if (d[axis] == 0) {
                if (!(b[axis] >= 0 && b[axis] <= aspect[axis]))
                    t0 = INFINITY;
            } else {
                t0 = nmax(t0, nmin(a, c));
                t1 = nmin(t1, nmax(a, c));
            }
        }
        double up = ((aspect[2] < roof ? aspect[2] : roof) - b[2]) / d[2];
        t1 = d[2] > 0 ? nmin(t1, up) : (b[2] <= aspect[2] ? t1 : -INFINITY);
        long at[2] = {nx / 2, ny / 2};
        out[p] = t0 <= t1 && stretch_under(b, d, t0, t1, lines_x, lines_y, aspect, lo, span, nx, xs, ny, ys, z,
                                           tol, at);
    }
}

/* An RGBA frame (h x w, rows `stride` bytes apart, w and h even) as planar yuv420p in BT.709's
   limited range, the encoder's input: Y per pixel, Cb and Cr from each 2 x 2 block's mean (the mean
   of the colours, which the linear matrix turns into the mean of the chroma). Coefficients are
   BT.709's scaled by 2^16 (Y: 219/255 of the luma weights; C: 224/255 of the colour differences);
   alpha is ignored (frames are opaque). */
void yuv420(long stride, const uint8_t *rgba, long h, long w, uint8_t *out)
{
    uint8_t *yp = out, *up = out + h * w, *vp = up + (h / 2) * (w / 2);
    for (long r = 0; r < h; r += 2) {
        const uint8_t *a = rgba + r * stride, *b = a + stride;
        uint8_t *y0 = yp + r * w, *y1 = y0 + w, *u = up + (r / 2) * (w / 2), *v = vp + (r / 2) * (w / 2);
        for (long c = 0; c < w; c++) {
            const uint8_t *p = a + 4 * c, *q = b + 4 * c;
            y0[c] = (uint8_t)((11966 * p[0] + 40254 * p[1] + 4064 * p[2] + 32768 + (16 << 16)) >> 16);
            y1[c] = (uint8_t)((11966 * q[0] + 40254 * q[1] + 4064 * q[2] + 32768 + (16 << 16)) >> 16);
        }
        for (long c = 0; c < w / 2; c++) {
            const uint8_t *p = a + 8 * c, *q = b + 8 * c;
            int32_t R = p[0] + p[4] + q[0] + q[4], G = p[1] + p[5] + q[1] + q[5], B = p[2] + p[6] + q[2] + q[6];
            u[c] = (uint8_t)((-6596 * R - 22189 * G + 28784 * B + (128 << 18) + (1 << 17)) >> 18);
            v[c] = (uint8_t)((28784 * R - 26145 * G - 2639 * B + (128 << 18) + (1 << 17)) >> 18);
        }
    }
}
