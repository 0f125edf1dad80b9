#ifndef SWIFT_PRETRAIN_CSUPPORT_H
#define SWIFT_PRETRAIN_CSUPPORT_H
#include <stddef.h>

/// Sets flush-to-zero and denormals-are-zero (MXCSR bits 15 and 6) on the calling thread.
void sp_set_flush_denormals(void);
/// 1 when the calling thread flushes denormals.
int sp_flush_denormals_enabled(void);
/// Runs sp_set_flush_denormals on every thread of the OpenMP pool oneDNN uses.
void sp_flush_denormals_in_openmp_pool(int threads);
/// Sets the OpenMP pool size (oneDNN's threads).
void sp_openmp_set_threads(int threads);

/// Runs body(context, chunk) for chunk in [0, chunks) on the OpenMP pool that oneDNN also uses, so kernels
/// and GEMMs share one set of threads instead of two pools fighting over the cores. Each thread takes chunks
/// tid, tid + T, ... and flushes denormals first. Inside another parallel region it runs serially.
void sp_parallel_for(long chunks, int threads, void (*body)(void *context, long chunk), void *context);

/// Cores in this process's affinity mask (what taskset or a container allows).
int sp_available_cpus(void);

/// Writes a space-separated list of the SIMD features this CPU has (avx2, fma, avx512f, amx_bf16, ...).
void sp_cpu_features(char *buffer, size_t capacity);
/// 1 if the CPU has the named feature from sp_cpu_features.
int sp_cpu_has(const char *feature);

/// Loads OpenBLAS at run time with OPENBLAS_CORETYPE set first (it is read when the library loads).
/// Returns 0 on success, -1 if no OpenBLAS library could be opened.
int sp_openblas_load(const char *coretype);
/// 1 when Debian's OpenMP build of OpenBLAS is installed (checked without loading anything).
int sp_openblas_openmp_installed(void);
/// The library that was loaded (the OpenMP build's path when that one was found); NULL if none.
const char *sp_openblas_library(void);
/// The kernel OpenBLAS chose ("Haswell", "SkylakeX", "Prescott", ...); NULL if not loaded.
const char *sp_openblas_corename(void);
void sp_openblas_set_threads(int threads);
/// Row-major cblas_sgemm through the loaded OpenBLAS.
void sp_openblas_sgemm(int transA, int transB, int m, int n, int k, float alpha,
                       const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

#endif
