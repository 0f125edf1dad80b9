#include "CDNNLMatmul.h"
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sp_matmul {
    dnnl_primitive_t primitive;
    dnnl_primitive_desc_t descriptor;
    dnnl_memory_t a, b, c, bias;
    const char *implementation;
};

static dnnl_engine_t engine = NULL;
static dnnl_stream_t stream = NULL;

static int ensure_engine(void) {
    if (engine) return 0;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) return -1;
    if (dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) return -1;
    return 0;
}

/// Describes a (batch, rows, cols) operand stored row-major with leading dimension ld, or its transpose.
static dnnl_status_t describe(dnnl_memory_desc_t *md, int64_t batch, int64_t rows, int64_t cols, int transposed,
                              int64_t ld, int64_t stride, dnnl_data_type_t type) {
    dnnl_dims_t dims = {batch, rows, cols};
    // Logical (rows, cols); a transposed operand is stored (cols, rows), so its row step is 1.
    dnnl_dims_t strides = {stride, transposed ? 1 : ld, transposed ? ld : 1};
    if (batch == 1 || stride == 0) strides[0] = stride == 0 && batch > 1 ? 0 : rows * cols;
    return dnnl_memory_desc_init_by_strides(md, 3, dims, type, strides);
}

sp_matmul *sp_matmul_create(int64_t batch, int64_t m, int64_t n, int64_t k, int trans_a, int trans_b,
                            int64_t lda, int64_t ldb, int64_t ldc, int64_t stride_a, int64_t stride_b,
                            int64_t stride_c, float alpha, float beta, int dtype, int with_bias, char *error,
                            int error_capacity) {
    dnnl_status_t status = dnnl_success;
    const char *step = "engine";
    sp_matmul *result = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post_ops = NULL;
    if (ensure_engine() != 0) goto fail;
    dnnl_data_type_t type = dtype == SP_BF16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t a_md, b_md, c_md, bias_md;
    step = "memory descriptors";
    if ((status = describe(&a_md, batch, m, k, trans_a, lda, stride_a, type)) != dnnl_success) goto fail;
    if ((status = describe(&b_md, stride_b == 0 ? 1 : batch, k, n, trans_b, ldb, stride_b, type)) != dnnl_success) goto fail;
    if ((status = describe(&c_md, batch, m, n, 0, ldc, stride_c, dnnl_f32)) != dnnl_success) goto fail;
    // The bias, one f32 per output column, added to every row of every batch entry.
    if (with_bias && (status = describe(&bias_md, 1, 1, n, 0, n, n, dnnl_f32)) != dnnl_success) goto fail;
    dnnl_matmul_desc_t desc;
    step = "matmul descriptor";
    if ((status = dnnl_matmul_desc_init(&desc, &a_md, &b_md, with_bias ? &bias_md : NULL, &c_md)) != dnnl_success) goto fail;
    step = "attributes";
    if ((status = dnnl_primitive_attr_create(&attr)) != dnnl_success) goto fail;
    if (alpha != 1.0f && (status = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha)) != dnnl_success) goto fail;
    if (beta != 0.0f) {
        if ((status = dnnl_post_ops_create(&post_ops)) != dnnl_success) goto fail;
        if ((status = dnnl_post_ops_append_sum(post_ops, beta)) != dnnl_success) goto fail;
        if ((status = dnnl_primitive_attr_set_post_ops(attr, post_ops)) != dnnl_success) goto fail;
    }
    result = calloc(1, sizeof(sp_matmul));
    step = "primitive descriptor";
    if ((status = dnnl_primitive_desc_create(&result->descriptor, &desc, attr, engine, NULL)) != dnnl_success) goto fail;
    step = "primitive";
    if ((status = dnnl_primitive_create(&result->primitive, result->descriptor)) != dnnl_success) goto fail;
    step = "memory objects";
    if ((status = dnnl_memory_create(&result->a, &a_md, engine, DNNL_MEMORY_NONE)) != dnnl_success) goto fail;
    if ((status = dnnl_memory_create(&result->b, &b_md, engine, DNNL_MEMORY_NONE)) != dnnl_success) goto fail;
    if ((status = dnnl_memory_create(&result->c, &c_md, engine, DNNL_MEMORY_NONE)) != dnnl_success) goto fail;
    if (with_bias && (status = dnnl_memory_create(&result->bias, &bias_md, engine, DNNL_MEMORY_NONE)) != dnnl_success) goto fail;
    const char *name = NULL;
    dnnl_primitive_desc_query(result->descriptor, dnnl_query_impl_info_str, 0, &name);
    result->implementation = name ? name : "unknown";
    if (post_ops) dnnl_post_ops_destroy(post_ops);
    dnnl_primitive_attr_destroy(attr);
    return result;
fail:
    if (error && error_capacity > 0) {
        const char *reason = status == dnnl_unimplemented ? "no kernel for this CPU and data type"
                           : status == dnnl_out_of_memory ? "out of memory"
                           : status == dnnl_invalid_arguments ? "invalid arguments" : "error";
        snprintf(error, (size_t)error_capacity, "oneDNN %s matmul %s failed: %s (status %d)",
                 dtype == SP_BF16 ? "bf16" : "f32", step, reason, (int)status);
    }
    if (post_ops) dnnl_post_ops_destroy(post_ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    sp_matmul_destroy(result);
    return NULL;
}

int sp_matmul_execute(sp_matmul *matmul, const void *a, const void *b, const float *bias, float *c) {
    if ((bias != NULL) != (matmul->bias != NULL)) return -1;
    dnnl_memory_set_data_handle(matmul->a, (void *)a);
    dnnl_memory_set_data_handle(matmul->b, (void *)b);
    dnnl_memory_set_data_handle(matmul->c, c);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, matmul->a}, {DNNL_ARG_WEIGHTS, matmul->b}, {DNNL_ARG_DST, matmul->c},
                               {DNNL_ARG_BIAS, matmul->bias}};
    if (bias) dnnl_memory_set_data_handle(matmul->bias, (void *)bias);
    if (dnnl_primitive_execute(matmul->primitive, stream, bias ? 4 : 3, args) != dnnl_success) return -1;
    return dnnl_stream_wait(stream) == dnnl_success ? 0 : -1;
}

const char *sp_matmul_implementation(const sp_matmul *matmul) { return matmul->implementation; }

void sp_matmul_destroy(sp_matmul *matmul) {
    if (!matmul) return;
    if (matmul->a) dnnl_memory_destroy(matmul->a);
    if (matmul->b) dnnl_memory_destroy(matmul->b);
    if (matmul->c) dnnl_memory_destroy(matmul->c);
    if (matmul->bias) dnnl_memory_destroy(matmul->bias);
    if (matmul->primitive) dnnl_primitive_destroy(matmul->primitive);
    if (matmul->descriptor) dnnl_primitive_desc_destroy(matmul->descriptor);
    free(matmul);
}

/// One value, round to nearest even; a NaN stays a quiet NaN with its sign and top payload bits.
static inline uint16_t f32_to_bf16_one(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    if ((bits & 0x7fffffff) > 0x7f800000) return (uint16_t)((bits >> 16) | 0x40);
    bits += 0x7fff + ((bits >> 16) & 1);
    return (uint16_t)(bits >> 16);
}

static void f32_to_bf16_portable(const float *source, uint16_t *destination, int64_t count) {
    for (int64_t i = 0; i < count; i++) destination[i] = f32_to_bf16_one(source[i]);
}

#if defined(__x86_64__)
#include <immintrin.h>
/// AVX512-BF16: 32 values per instruction. The instruction rounds to nearest even, quiets NaNs as the portable
/// loop does, and treats denormal inputs as zero (they become ±0; the portable loop keeps their top bits).
__attribute__((target("avx512f,avx512bw,avx512bf16")))
static void f32_to_bf16_avx512bf16(const float *source, uint16_t *destination, int64_t count) {
    int64_t i = 0;
    for (; i + 32 <= count; i += 32) {
        __m512bh pair = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(source + i + 16), _mm512_loadu_ps(source + i));
        _mm512_storeu_si512((void *)(destination + i), (__m512i)pair);
    }
    f32_to_bf16_portable(source + i, destination + i, count - i);
}

/// AVX-512 without BF16: the portable rounding on 16 lanes (identical results, denormals included).
__attribute__((target("avx512f,avx512bw")))
static void f32_to_bf16_avx512(const float *source, uint16_t *destination, int64_t count) {
    const __m512i magnitude = _mm512_set1_epi32(0x7fffffff), infinity = _mm512_set1_epi32(0x7f800000);
    const __m512i half = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1), quiet = _mm512_set1_epi32(0x400000);
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512i bits = _mm512_loadu_si512((const void *)(source + i));
        __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(bits, magnitude), infinity);
        __m512i rounded = _mm512_add_epi32(bits, _mm512_add_epi32(half, _mm512_and_si512(_mm512_srli_epi32(bits, 16), one)));
        rounded = _mm512_mask_or_epi32(rounded, nan, bits, quiet);
        _mm256_storeu_si256((__m256i *)(destination + i), _mm512_cvtepi32_epi16(_mm512_srli_epi32(rounded, 16)));
    }
    f32_to_bf16_portable(source + i, destination + i, count - i);
}
#endif

typedef void (*converter)(const float *, uint16_t *, int64_t);

static converter choose_converter(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512bf16")) return f32_to_bf16_avx512bf16;
    if (__builtin_cpu_supports("avx512bw")) return f32_to_bf16_avx512;
#endif
    return f32_to_bf16_portable;
}

void sp_f32_to_bf16(const float *source, uint16_t *destination, int64_t count) {
    static converter chosen = NULL;   // a benign race: every thread would choose the same function
    if (!chosen) chosen = choose_converter();
    chosen(source, destination, count);
}

void sp_f32_to_bf16_portable(const float *source, uint16_t *destination, int64_t count) {
    f32_to_bf16_portable(source, destination, count);
}

void sp_bf16_to_f32(const uint16_t *source, float *destination, int64_t count) {
    for (int64_t i = 0; i < count; i++) {
        uint32_t bits = (uint32_t)source[i] << 16;
        memcpy(&destination[i], &bits, 4);
    }
}

#if defined(__x86_64__)
/// `rows` (1–4, a constant after inlining) rows of x against four rows of W: 4·rows dot products of length k, 32
/// bf16 pairs per instruction, the tail through masked loads; each sum plus its bias goes to y.
__attribute__((target("avx512f,avx512bw,avx512bf16"), always_inline))
static inline void gemv_bf16_block(int rows, int columns, int64_t k, const uint16_t *x, int64_t ldx,
                                   const uint16_t *w, int64_t ldw, const float *bias, float *y, int64_t ldy) {
    __m512 sums[4][4];
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < columns; c++) sums[r][c] = _mm512_setzero_ps();
    for (int64_t at = 0; at < k; at += 32) {
        __mmask32 lanes = k - at >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << (k - at)) - 1);
        __m512i weights[4], inputs[4];
        for (int c = 0; c < columns; c++) weights[c] = _mm512_maskz_loadu_epi16(lanes, w + c * ldw + at);
        for (int r = 0; r < rows; r++) inputs[r] = _mm512_maskz_loadu_epi16(lanes, x + r * ldx + at);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                sums[r][c] = _mm512_dpbf16_ps(sums[r][c], (__m512bh)inputs[r], (__m512bh)weights[c]);
    }
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < columns; c++)
            y[r * ldy + c] = _mm512_reduce_add_ps(sums[r][c]) + (bias ? bias[c] : 0.0f);
}

__attribute__((target("avx512f,avx512bw,avx512bf16")))
static void gemv_bf16(int64_t m, int64_t n0, int64_t n1, int64_t k, const uint16_t *x, int64_t ldx,
                      const uint16_t *w, int64_t ldw, const float *bias, float *y, int64_t ldy) {
    for (int64_t r = 0; r < m; r += 4) {
        int rows = m - r < 4 ? (int)(m - r) : 4;
        for (int64_t n = n0; n < n1; n += 4) {
            int columns = n1 - n < 4 ? (int)(n1 - n) : 4;
            const uint16_t *xr = x + r * ldx, *wn = w + n * ldw;
            const float *bn = bias ? bias + n : NULL;
            float *yr = y + r * ldy + n;
            // constant row and column counts, so that each case is unrolled into registers
            if (columns == 4) {
                switch (rows) {
                case 1: gemv_bf16_block(1, 4, k, xr, ldx, wn, ldw, bn, yr, ldy); break;
                case 2: gemv_bf16_block(2, 4, k, xr, ldx, wn, ldw, bn, yr, ldy); break;
                case 3: gemv_bf16_block(3, 4, k, xr, ldx, wn, ldw, bn, yr, ldy); break;
                default: gemv_bf16_block(4, 4, k, xr, ldx, wn, ldw, bn, yr, ldy); break;
                }
            } else {
                for (int c = 0; c < columns; c++)
                    for (int i = 0; i < rows; i++)
                        gemv_bf16_block(1, 1, k, xr + i * ldx, ldx, wn + c * ldw, ldw, bn ? bn + c : NULL,
                                        yr + i * ldy + c, ldy);
            }
        }
    }
}
#endif

int sp_gemv_bf16_available(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") ? 1 : 0;
#else
    return 0;
#endif
}

void sp_gemv_bf16(int64_t m, int64_t n0, int64_t n1, int64_t k, const uint16_t *x, int64_t ldx, const uint16_t *w,
                  int64_t ldw, const float *bias, float *y, int64_t ldy) {
#if defined(__x86_64__)
    gemv_bf16(m, n0, n1, k, x, ldx, w, ldw, bias, y, ldy);
#endif
}
