/* ph_simd.c - vector paths, chosen at run time.
 *
 * The functions are compiled for AVX2 with a target attribute, so the rest of
 * the library stays baseline x86-64 (or any other architecture) and a CPU
 * without AVX2 never executes them. */
#include <stdlib.h>

#include "ph_solve_int.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* probe's answer, asked once (racing first calls compute the same one),
 * and false whenever PH_NO_SIMD is set. */
static bool simd_cached(int *state, int (*probe)(void))
{
    int s = __atomic_load_n(state, __ATOMIC_RELAXED);
    if (s < 0) {
        __builtin_cpu_init();
        s = probe() && !getenv("PH_NO_SIMD");
        __atomic_store_n(state, s, __ATOMIC_RELAXED);
    }
    return s;
}

static int probe_avx2(void) { return __builtin_cpu_supports("avx2"); }

static int probe_avx512(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
}

bool ph_simd_avx2(void)
{
    static int state = -1;
    return simd_cached(&state, probe_avx2);
}

bool ph_simd_avx512(void)
{
    static int state = -1;
    return simd_cached(&state, probe_avx512);
}

__attribute__((target("avx2"))) bool ph_hash_mulshift_avx2(const uint32_t *keys, uint32_t n,
                                                           const uint32_t s[4], uint32_t shift,
                                                           uint32_t half, uint32_t *eu,
                                                           uint32_t *ev)
{
    const __m256i m1 = _mm256_set1_epi32((int)s[0]);
    const __m256i m2 = _mm256_set1_epi32((int)s[1]);
    const __m128i sh = _mm_cvtsi32_si128((int)shift);
    const __m256i hv = _mm256_set1_epi32((int)half);
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i k = _mm256_loadu_si256((const __m256i *)(keys + i));
        __m256i u = _mm256_srl_epi32(_mm256_mullo_epi32(k, m1), sh);
        __m256i v = _mm256_add_epi32(_mm256_srl_epi32(_mm256_mullo_epi32(k, m2), sh), hv);
        _mm256_storeu_si256((__m256i *)(eu + i), u);
        _mm256_storeu_si256((__m256i *)(ev + i), v);
    }
    for (; i < n; i++) {
        eu[i] = (keys[i] * s[0]) >> shift;
        ev[i] = half + ((keys[i] * s[1]) >> shift);
    }
    return true;
}

#else

bool ph_simd_avx2(void)
{
    return false;
}

bool ph_simd_avx512(void)
{
    return false;
}

bool ph_hash_mulshift_avx2(const uint32_t *keys, uint32_t n, const uint32_t s[4],
                           uint32_t shift, uint32_t half, uint32_t *eu, uint32_t *ev)
{
    (void)keys; (void)n; (void)s; (void)shift; (void)half; (void)eu; (void)ev;
    return false;
}

#endif
