/*
 * Pillow's bicubic affine transform of an RGB image, for a rectangle of the output only.
 *
 * umt_mm._affine_bicubic.transform(src, out, (a, b, c, d, e, f), x0, y0, (r, g, b))
 * writes into ``out`` (h x w x 3 uint8, C-contiguous) the pixels (x0 + j, y0 + i) of
 * ``Image.transform(size, AFFINE, (a, ..., f), BICUBIC, fillcolor)`` of ``src`` (H x W x 3
 * uint8, C-contiguous): the same double arithmetic as Pillow 13's ImagingGenericTransform
 * with affine_transform and bicubic_filter32RGB (libImaging/Geometry.c), at absolute
 * output positions, so any rectangle of the whole output is computed without the rest.
 *
 * Where one fraction is exactly 0 (dy for shears along x and translations, dx for shears
 * along y), Pillow's 4 x 4 evaluation reduces exactly to one row (or column) of taps:
 * p1 + 0 * (...) == p1 for the finite values here, so that value is computed alone.
 *
 * Compiled with -ffp-contract=off: no fused multiply-add, as in Pillow's x86-64 wheels.
 * umt_mm checks the results against Pillow once per process before using them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>

#define FLOOR(v) ((v) < 0.0 ? ((int)floor(v)) : ((int)(v)))
#define CLIP(v, n) (((v) < 0) ? 0 : ((v) < (n)) ? (v) : (n) - 1)

/* Pillow's BICUBIC macro on uint8 taps (p2..p4 in int arithmetic, as there) */
static inline double cubic_u8(int v1, int v2, int v3, int v4, double d) {
    double p1 = v2;
    double p2 = -v1 + v3;
    double p3 = 2 * (v1 - v2) + v3 - v4;
    double p4 = -v1 + v2 - v3 + v4;
    return p1 + (d) * (p2 + (d) * (p3 + (d) * p4));
}

/* the same macro on the doubles of the second pass */
static inline double cubic_f(double v1, double v2, double v3, double v4, double d) {
    double p1 = v2;
    double p2 = -v1 + v3;
    double p3 = 2 * (v1 - v2) + v3 - v4;
    double p4 = -v1 + v2 - v3 + v4;
    return p1 + (d) * (p2 + (d) * (p3 + (d) * p4));
}

static inline unsigned char to_u8(double v) {
    if (v <= 0.0) {
        return 0;
    }
    if (v >= 255.0) {
        return 255;
    }
    return (unsigned char)v;
}

static void transform_rect(const unsigned char *src, int W, int H, unsigned char *out, int w,
                           int h, const double *a, int x0, int y0, const unsigned char *fill) {
    const Py_ssize_t stride = (Py_ssize_t)W * 3;
    for (int i = 0; i < h; i++) {
        double yin = (y0 + i) + 0.5;
        unsigned char *o = out + (Py_ssize_t)i * w * 3;
        for (int j = 0; j < w; j++, o += 3) {
            double xin = (x0 + j) + 0.5;
            double xx = a[0] * xin + a[1] * yin + a[2];
            double yy = a[3] * xin + a[4] * yin + a[5];
            if (xx < 0.0 || xx >= W || yy < 0.0 || yy >= H) {
                o[0] = fill[0];
                o[1] = fill[1];
                o[2] = fill[2];
                continue;
            }
            xx -= 0.5;
            yy -= 0.5;
            int x = FLOOR(xx);
            int y = FLOOR(yy);
            double dx = xx - x;
            double dy = yy - y;
            x--;
            y--;
            int c0 = CLIP(x + 0, W) * 3, c1 = CLIP(x + 1, W) * 3;
            int c2 = CLIP(x + 2, W) * 3, c3 = CLIP(x + 3, W) * 3;
            if (dy == 0.0) {
                /* the second pass returns its second value: row y + 1, in range here */
                const unsigned char *r = src + (Py_ssize_t)(y + 1) * stride;
                for (int b = 0; b < 3; b++) {
                    o[b] = to_u8(cubic_u8(r[c0 + b], r[c1 + b], r[c2 + b], r[c3 + b], dx));
                }
                continue;
            }
            const unsigned char *r0 = src + (Py_ssize_t)CLIP(y, H) * stride;
            const unsigned char *r1 = (y + 1 >= 0 && y + 1 < H) ? src + (Py_ssize_t)(y + 1) * stride : NULL;
            const unsigned char *r2 = (y + 2 >= 0 && y + 2 < H) ? src + (Py_ssize_t)(y + 2) * stride : NULL;
            const unsigned char *r3 = (y + 3 >= 0 && y + 3 < H) ? src + (Py_ssize_t)(y + 3) * stride : NULL;
            for (int b = 0; b < 3; b++) {
                double v1, v2, v3, v4;
                if (dx == 0.0) {
                    /* every first-pass value is its second tap: column x + 1, in range */
                    v1 = r0[c1 + b];
                    v2 = r1 ? r1[c1 + b] : v1;
                    v3 = r2 ? r2[c1 + b] : v2;
                    v4 = r3 ? r3[c1 + b] : v3;
                } else {
                    v1 = cubic_u8(r0[c0 + b], r0[c1 + b], r0[c2 + b], r0[c3 + b], dx);
                    v2 = r1 ? cubic_u8(r1[c0 + b], r1[c1 + b], r1[c2 + b], r1[c3 + b], dx) : v1;
                    v3 = r2 ? cubic_u8(r2[c0 + b], r2[c1 + b], r2[c2 + b], r2[c3 + b], dx) : v2;
                    v4 = r3 ? cubic_u8(r3[c0 + b], r3[c1 + b], r3[c2 + b], r3[c3 + b], dx) : v3;
                }
                o[b] = to_u8(cubic_f(v1, v2, v3, v4, dy));
            }
        }
    }
}

static int get_rgb(PyObject *obj, Py_buffer *view, int writable, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        return -1;
    }
    if (view->ndim != 3 || view->shape[2] != 3 || view->itemsize != 1 ||
        (view->format && strcmp(view->format, "B") != 0)) {
        PyErr_Format(PyExc_ValueError, "%s must be a C-contiguous H x W x 3 uint8 array", name);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *py_transform(PyObject *self, PyObject *args) {
    PyObject *src_obj, *out_obj;
    double a[6];
    int x0, y0, fr, fg, fb;
    if (!PyArg_ParseTuple(args, "OO(dddddd)ii(iii)", &src_obj, &out_obj, &a[0], &a[1], &a[2],
                          &a[3], &a[4], &a[5], &x0, &y0, &fr, &fg, &fb)) {
        return NULL;
    }
    Py_buffer src, out;
    if (get_rgb(src_obj, &src, 0, "src") < 0) {
        return NULL;
    }
    if (get_rgb(out_obj, &out, 1, "out") < 0) {
        PyBuffer_Release(&src);
        return NULL;
    }
    int H = (int)src.shape[0], W = (int)src.shape[1];
    int h = (int)out.shape[0], w = (int)out.shape[1];
    if (H < 1 || W < 1 || x0 < 0 || y0 < 0) {
        PyBuffer_Release(&src);
        PyBuffer_Release(&out);
        PyErr_SetString(PyExc_ValueError, "empty source or negative origin");
        return NULL;
    }
    unsigned char fill[3] = {(unsigned char)fr, (unsigned char)fg, (unsigned char)fb};
    Py_BEGIN_ALLOW_THREADS
    transform_rect((const unsigned char *)src.buf, W, H, (unsigned char *)out.buf, w, h, a, x0,
                   y0, fill);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&src);
    PyBuffer_Release(&out);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"transform", py_transform, METH_VARARGS,
     "transform(src, out, (a, b, c, d, e, f), x0, y0, (r, g, b)): Pillow's bicubic affine "
     "transform of src at output pixels (x0 + j, y0 + i), written into out."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_affine_bicubic",
                                    "Pillow's bicubic affine transform on a rectangle.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__affine_bicubic(void) { return PyModule_Create(&module); }
