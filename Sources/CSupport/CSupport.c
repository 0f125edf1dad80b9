#define _GNU_SOURCE
#include "CSupport.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <xmmintrin.h>
#include <sched.h>
#include <unistd.h>

void sp_set_flush_denormals(void) { _mm_setcsr(_mm_getcsr() | 0x8040); }

int sp_flush_denormals_enabled(void) { return (_mm_getcsr() & 0x8040) == 0x8040; }

// libgomp's entry point for `#pragma omp parallel`; used directly so this file needs no -fopenmp.
extern void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
extern void omp_set_num_threads(int);

static void flush_denormals_task(void *unused) { (void)unused; sp_set_flush_denormals(); }

void sp_flush_denormals_in_openmp_pool(int threads) {
    sp_set_flush_denormals();
    GOMP_parallel(flush_denormals_task, NULL, (unsigned)(threads > 0 ? threads : 0), 0);
}

void sp_openmp_set_threads(int threads) { if (threads > 0) omp_set_num_threads(threads); }

extern int omp_get_thread_num(void);
extern int omp_get_num_threads(void);
extern int omp_in_parallel(void);

struct parallel_task { void (*body)(void *, long); void *context; long chunks; };

static void run_chunks(void *argument) {
    struct parallel_task *task = argument;
    sp_set_flush_denormals();
    long threads = omp_get_num_threads();
    for (long chunk = omp_get_thread_num(); chunk < task->chunks; chunk += threads) task->body(task->context, chunk);
}

void sp_parallel_for(long chunks, int threads, void (*body)(void *context, long chunk), void *context) {
    struct parallel_task task = {body, context, chunks};
    if (chunks <= 1 || threads <= 1 || omp_in_parallel()) {
        for (long chunk = 0; chunk < chunks; chunk++) body(context, chunk);
        return;
    }
    GOMP_parallel(run_chunks, &task, (unsigned)(threads < chunks ? threads : chunks), 0);
}

int sp_available_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int count = CPU_COUNT(&set);
        if (count > 0) return count;
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}

struct feature { const char *name; int present; };

void sp_cpu_features(char *buffer, size_t capacity) {
    __builtin_cpu_init();
    struct feature features[] = {
        {"sse4.2", __builtin_cpu_supports("sse4.2")},
        {"avx", __builtin_cpu_supports("avx")},
        {"avx2", __builtin_cpu_supports("avx2")},
        {"fma", __builtin_cpu_supports("fma")},
        {"f16c", __builtin_cpu_supports("f16c")},
        {"avx512f", __builtin_cpu_supports("avx512f")},
        {"avx512bw", __builtin_cpu_supports("avx512bw")},
        {"avx512vl", __builtin_cpu_supports("avx512vl")},
        {"avx512vnni", __builtin_cpu_supports("avx512vnni")},
        {"avx512bf16", __builtin_cpu_supports("avx512bf16")},
        {"amx_tile", __builtin_cpu_supports("amx-tile")},
        {"amx_bf16", __builtin_cpu_supports("amx-bf16")},
    };
    size_t used = 0;
    if (capacity == 0) return;
    buffer[0] = 0;
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        if (!features[i].present) continue;
        int written = snprintf(buffer + used, capacity - used, "%s%s", used ? " " : "", features[i].name);
        if (written < 0 || (size_t)written >= capacity - used) break;
        used += (size_t)written;
    }
}

int sp_cpu_has(const char *feature) {
    char list[512];
    sp_cpu_features(list, sizeof(list));
    size_t length = strlen(feature);
    for (char *at = list; (at = strstr(at, feature)) != NULL; at += length) {
        int startsWord = at == list || at[-1] == ' ';
        int endsWord = at[length] == 0 || at[length] == ' ';
        if (startsWord && endsWord) return 1;
    }
    return 0;
}

typedef void (*cblas_sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                               const float *, int, float, float *, int);
static cblas_sgemm_fn openblas_sgemm = NULL;
static char *(*openblas_corename)(void) = NULL;
static void (*openblas_threads)(int) = NULL;
static const char *openblas_path = NULL;

// Debian's OpenMP build first (libopenblas0-openmp): it shares the OpenMP pool with oneDNN and our kernels,
// where the pthread build's own spinning threads would fight that pool for the cores.
static const char *openmp_builds[] = {"/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
                                      "/usr/lib/aarch64-linux-gnu/openblas-openmp/libopenblas.so.0"};

int sp_openblas_openmp_installed(void) {
    for (size_t i = 0; i < sizeof(openmp_builds) / sizeof(openmp_builds[0]); i++)
        if (access(openmp_builds[i], R_OK) == 0) return 1;
    return 0;
}

int sp_openblas_load(const char *coretype) {
    if (openblas_sgemm) return 0;
    if (coretype && coretype[0]) setenv("OPENBLAS_CORETYPE", coretype, 1);
    const char *names[] = {openmp_builds[0], openmp_builds[1], "libopenblas.so.0", "libopenblas.so", "libblas.so.3"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        void *handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!handle) continue;
        openblas_sgemm = (cblas_sgemm_fn)dlsym(handle, "cblas_sgemm");
        openblas_corename = (char *(*)(void))dlsym(handle, "openblas_get_corename");
        openblas_threads = (void (*)(int))dlsym(handle, "openblas_set_num_threads");
        if (openblas_sgemm) { openblas_path = names[i]; return 0; }
    }
    return -1;
}

const char *sp_openblas_library(void) { return openblas_path; }

const char *sp_openblas_corename(void) { return openblas_corename ? openblas_corename() : NULL; }

void sp_openblas_set_threads(int threads) { if (openblas_threads) openblas_threads(threads); }

enum { CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112 };

void sp_openblas_sgemm(int transA, int transB, int m, int n, int k, float alpha,
                       const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    openblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                   m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
