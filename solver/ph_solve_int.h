/* ph_solve_int.h - solver internals shared between its own files. */
#ifndef PH_SOLVE_INT_H
#define PH_SOLVE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "ph_solver.h"

/* The family AUTO uses for attempt a on n keys, and the seeds of attempt a. */
ph_hash_kind ph_solve_kind_for_attempt(ph_hash_kind requested, uint32_t n, uint64_t attempt);
void ph_solve_seeds_for_attempt(ph_hash_kind kind, uint64_t seed, uint64_t attempt,
                                uint32_t s[4]);

/* True when the CPU runs AVX2 (checked once) and PH_NO_SIMD is unset. */
bool ph_simd_avx2(void);
/* The same for AVX-512 F, DQ and VL (ph_part.c's split and group check). */
bool ph_simd_avx512(void);

/* MULSHIFT in power-of-two mode, 8 keys at a time; the same vertices as
 * ph_vertex_u/v.  Returns true (kept boolean for other vector paths). */
bool ph_hash_mulshift_avx2(const uint32_t *keys, uint32_t n, const uint32_t s[4],
                           uint32_t shift, uint32_t half, uint32_t *eu, uint32_t *ev);

/* Keys in the chunk that starts at key i of a slice ending at hi: at most
 * max, 0 once i reaches hi.  i is 64-bit because the chunk after the last
 * one of a slice that ends near 2^32 - 1 starts past 2^32: a 32-bit i
 * would wrap there and walk the slice again, without end. */
static inline uint32_t ph_part_chunk_len(uint64_t i, uint32_t hi, uint32_t max)
{
    return i >= hi ? 0 : hi - i < max ? (uint32_t)(hi - i) : max;
}

#endif
