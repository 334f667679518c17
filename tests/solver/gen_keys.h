/* gen_keys.h - deterministic key sets for solver tests.
 *
 * Every generator is driven by a seed (splitmix64), so a failing test can be
 * reproduced exactly.  Arrays are malloc'd; the caller frees them with free().
 * Generators return NULL on n == 0, on allocation failure, or when the
 * requested shape cannot fit in 32 bits. */
#ifndef GEN_KEYS_H
#define GEN_KEYS_H

#include <stdbool.h>
#include <stdint.h>

typedef enum gen_kind {
    GEN_RANDOM = 0,      /* unique random 32-bit values, ascending */
    GEN_SEQUENTIAL,      /* start, start+1, ... (start derived from seed, may be 0) */
    GEN_CLUSTERED16,     /* runs of consecutive multiples of 16 with big gaps (RVA-like) */
    GEN_CLUSTERED4K,     /* same with multiples of 4096 (page RVAs) */
    GEN_SHUFFLED,        /* unique random values in random (unsorted) order */
    GEN_KIND_COUNT
} gen_kind;

/* One splitmix64 step: advances *state and returns 64 random bits. */
uint64_t gen_next(uint64_t *state);

/* n distinct random values (a seeded bijection of 0..n-1, so unique by
 * construction); ascending if sorted, else in generation order. */
uint32_t *gen_keys_random(uint32_t n, uint64_t seed, bool sorted);

/* start, start+step, ...; NULL if it would pass UINT32_MAX. */
uint32_t *gen_keys_sequential(uint32_t n, uint32_t start, uint32_t step);

/* Ascending runs (1..64 keys) of consecutive multiples of align, separated by
 * random gaps.  align must be a power of two; it is halved when n keys of
 * that alignment cannot fit with gaps in 32 bits. */
uint32_t *gen_keys_clustered(uint32_t n, uint64_t seed, uint32_t align);

/* key i = i * stride + random offset in [0, max_offset) (max_offset <=
 * stride): ascending, unique, low bits nearly constant.  E.g. stride 65536,
 * max_offset 16 is hard for plain multiply-shift hashing. */
uint32_t *gen_keys_strided(uint32_t n, uint64_t seed, uint32_t stride, uint32_t max_offset);

/* Fisher-Yates shuffle in place. */
void gen_keys_shuffle(uint32_t *v, uint32_t n, uint64_t seed);

/* Dispatch on kind. */
uint32_t *gen_keys(gen_kind kind, uint32_t n, uint64_t seed);
const char *gen_kind_name(gen_kind kind);

/* 64-bit keys made of keys[i] in both halves (the low one scrambled), so
 * they are unique wherever keys[] is; NULL on allocation failure. */
uint64_t *gen_keys_wide(const uint32_t *keys, uint32_t n);

/* Write v as a raw little-endian keys file.  0 on success, -1 on error. */
int gen_keys_write(const char *path, const uint32_t *v, uint32_t n);

#endif
