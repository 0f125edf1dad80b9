#ifndef SWIFT_PRETRAIN_DNNL_MATMUL_H
#define SWIFT_PRETRAIN_DNNL_MATMUL_H
#include <stdint.h>

/// A oneDNN matmul primitive for one shape: C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b], row-major,
/// b < batch, with element strides between batch entries (stride 0 broadcasts). Created once, executed often.
typedef struct sp_matmul sp_matmul;

enum sp_dtype { SP_F32 = 0, SP_BF16 = 1 };

/// Returns NULL (and fills `error`, if given) when oneDNN cannot build the primitive.
/// `dtype` is the type of A and B (C is always f32); bf16 operands are uint16 bit patterns. With `with_bias`, an f32
/// bias of n values is added to every row of C (before the beta · C sum).
sp_matmul *sp_matmul_create(int64_t batch, int64_t m, int64_t n, int64_t k, int trans_a, int trans_b,
                            int64_t lda, int64_t ldb, int64_t ldc, int64_t stride_a, int64_t stride_b,
                            int64_t stride_c, float alpha, float beta, int dtype, int with_bias, char *error,
                            int error_capacity);
/// Runs the primitive on these buffers (bias NULL exactly when created without one); returns 0 on success.
int sp_matmul_execute(sp_matmul *matmul, const void *a, const void *b, const float *bias, float *c);
/// The implementation oneDNN chose ("gemm:jit", "brg:avx512_core_amx", ...).
const char *sp_matmul_implementation(const sp_matmul *matmul);
void sp_matmul_destroy(sp_matmul *matmul);

/// Converts f32 to bf16 (round to nearest even) and back, single-threaded (callers split the range). On x86 the
/// fastest path the CPU has is chosen once: AVX512-BF16's conversion instruction (denormal inputs become ±0), an
/// AVX-512 integer rounding, or a plain loop; `sp_f32_to_bf16_portable` is always the plain loop.
void sp_f32_to_bf16(const float *source, uint16_t *destination, int64_t count);
void sp_f32_to_bf16_portable(const float *source, uint16_t *destination, int64_t count);
void sp_bf16_to_f32(const uint16_t *source, float *destination, int64_t count);

/// y (m, n) = x (m, k) · Wᵀ + bias for bf16 x and W (n, k), k contiguous in both, summed in fp32: products of a few
/// rows (generation), which read W as stored instead of reordering it for a GEMM kernel. Computes the columns
/// [n0, n1) only (callers split n over threads); bias may be NULL. Needs AVX512-BF16: `sp_gemv_bf16_available`.
int sp_gemv_bf16_available(void);
void sp_gemv_bf16(int64_t m, int64_t n0, int64_t n1, int64_t k, const uint16_t *x, int64_t ldx, const uint16_t *w,
                  int64_t ldw, const float *bias, float *y, int64_t ldy);

#endif
