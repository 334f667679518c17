/* ph_hash.h - the hash families, exactly as generated tables compute them.
 *
 * Every family maps a key to a pair of 32-bit values (h1, h2).  The graph is
 * bipartite: h1 picks a vertex in the lower half [0, half) and h2 one in the
 * upper half [half, nverts), so an edge can never be a self-loop (with one
 * shared range a self-loop would spoil ~1 attempt in 3 at c = 2.09).
 *   power-of-two mode:  half = nverts / 2,  shift = 32 - log2(half)
 *                       u = h1 >> shift          v = half + (h2 >> shift)
 *   compact mode:       half = nverts / 2 (rounded down), range reduction
 *                       u = (uint64_t)h1 * half >> 32
 *                       v = half + ((uint64_t)h2 * (nverts - half) >> 32)
 * 64-bit keys (ph_table.key_size 8) always use ph_hash_key64, whose h1, h2
 * go through the same vertex formulas.
 * The emitter writes these same expressions with the seeds as literals, so
 * any change here must be mirrored in ph_emit.c (the integration test that
 * builds a generated table catches a mismatch). */
#ifndef PH_HASH_H
#define PH_HASH_H

#include <stdint.h>

#include "ph_solver.h"

static inline uint32_t ph_rotr32(uint32_t x, uint32_t r)
{
    r &= 31;
    return r ? (x >> r) | (x << (32 - r)) : x;
}

/* MULSHIFT: two independent odd multipliers; the cheapest Index.
 * seeds[0], seeds[1] odd. */
static inline void ph_hash_mulshift(const uint32_t s[4], uint32_t k, uint32_t *h1, uint32_t *h2)
{
    *h1 = k * s[0];
    *h2 = k * s[1];
}

/* MULROT: multiply, rotate (moves well-mixed high bits down so structured
 * low bits reach the top), then one multiply per vertex.
 * seeds[0..2] odd, seeds[3] rotation in 1..31. */
static inline void ph_hash_mulrot(const uint32_t s[4], uint32_t k, uint32_t *h1, uint32_t *h2)
{
    uint32_t x = ph_rotr32(k * s[0], s[3]);
    *h1 = x * s[1];
    *h2 = x * s[2];
}

/* 64-bit keys: the one hash of a 64-bit key, shared by the solver, the
 * emitted code and the runtime library.  A seeded multiply-xorshift mix
 * over all 64 key bits (xor key, fold the high half into the low, two
 * multiply-xorshift rounds); every step is a bijection of 64 bits, so two
 * distinct keys never give the same (h1, h2), keys that differ only in
 * their high 32 bits included.
 * seeds[0..1] form a 64-bit xor key, seeds[2..3] a 64-bit odd multiplier. */
static inline void ph_hash_key64(const uint32_t s[4], uint64_t k, uint32_t *h1, uint32_t *h2)
{
    uint64_t x = k ^ ((uint64_t)s[0] << 32 | s[1]);
    uint64_t m = (uint64_t)s[2] << 32 | s[3];
    x ^= x >> 32;
    x *= m;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    *h1 = (uint32_t)(x >> 32);
    *h2 = (uint32_t)x;
}

/* MIX: the 64-bit mix of the key zero-extended (a table of 32-bit keys
 * under MIX and one of the same keys as 64-bit keys hash alike). */
static inline void ph_hash_mix(const uint32_t s[4], uint32_t k, uint32_t *h1, uint32_t *h2)
{
    ph_hash_key64(s, (uint64_t)k, h1, h2);
}

static inline void ph_hash_pair(ph_hash_kind kind, const uint32_t s[4], uint32_t k,
                                uint32_t *h1, uint32_t *h2)
{
    switch (kind) {
    case PH_HASH_MULROT: ph_hash_mulrot(s, k, h1, h2); return;
    case PH_HASH_MIX: ph_hash_mix(s, k, h1, h2); return;
    default: ph_hash_mulshift(s, k, h1, h2); return;
    }
}

/* The two vertices of a hashed pair under a table's shape. */
static inline uint32_t ph_vertex_u(uint32_t h1, int compact, uint32_t shift, uint32_t nverts)
{
    return compact ? (uint32_t)(((uint64_t)h1 * (nverts / 2)) >> 32) : h1 >> shift;
}

static inline uint32_t ph_vertex_v(uint32_t h2, int compact, uint32_t shift, uint32_t nverts)
{
    uint32_t half = nverts / 2;
    return half + (compact ? (uint32_t)(((uint64_t)h2 * (nverts - half)) >> 32) : h2 >> shift);
}

/* The pair of a key under a table's key size: 64-bit tables (key_size 8)
 * always use ph_hash_key64, 32-bit tables their family on the low 32 bits. */
static inline void ph_hash_pair_sized(ph_hash_kind kind, unsigned key_size, const uint32_t s[4],
                                      uint64_t k, uint32_t *h1, uint32_t *h2)
{
    if (key_size == 8)
        ph_hash_key64(s, k, h1, h2);
    else
        ph_hash_pair(kind, s, (uint32_t)k, h1, h2);
}

#endif
