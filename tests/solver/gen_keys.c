/* gen_keys.c - deterministic key sets for solver tests (see gen_keys.h). */
#include "gen_keys.h"

#include <stdio.h>
#include <stdlib.h>

uint64_t gen_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound) for bound >= 1 (bias is irrelevant for tests). */
static uint64_t gen_below(uint64_t *state, uint64_t bound)
{
    return gen_next(state) % bound;
}

/* A seeded permutation of the 32-bit values: every step (xor-shift,
 * multiply by an odd constant, xor with a constant) is invertible, so
 * distinct inputs give distinct outputs. */
typedef struct gen_perm {
    uint32_t m1, m2, x1, x2;
} gen_perm;

static gen_perm gen_perm_make(uint64_t *state)
{
    gen_perm p;
    p.m1 = (uint32_t)gen_next(state) | 1u;
    p.m2 = (uint32_t)gen_next(state) | 1u;
    p.x1 = (uint32_t)gen_next(state);
    p.x2 = (uint32_t)gen_next(state);
    return p;
}

static uint32_t gen_perm_apply(const gen_perm *p, uint32_t x)
{
    x ^= p->x1;
    x ^= x >> 16;
    x *= p->m1;
    x ^= x >> 15;
    x *= p->m2;
    x ^= x >> 13;
    return x ^ p->x2;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

uint32_t *gen_keys_random(uint32_t n, uint64_t seed, bool sorted)
{
    if (n == 0)
        return NULL;
    uint32_t *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return NULL;
    uint64_t st = seed;
    gen_perm p = gen_perm_make(&st);
    for (uint32_t i = 0; i < n; i++)
        v[i] = gen_perm_apply(&p, i);
    if (sorted)
        qsort(v, n, sizeof *v, cmp_u32);
    return v;
}

uint32_t *gen_keys_sequential(uint32_t n, uint32_t start, uint32_t step)
{
    if (n == 0 || step == 0 || (uint64_t)start + (uint64_t)(n - 1) * step > UINT32_MAX)
        return NULL;
    uint32_t *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return NULL;
    for (uint32_t i = 0; i < n; i++)
        v[i] = start + i * step;
    return v;
}

uint32_t *gen_keys_clustered(uint32_t n, uint64_t seed, uint32_t align)
{
    if (n == 0 || align == 0 || (align & (align - 1)))
        return NULL;
    /* Work in slots of align bytes; keep at least 2 slots per key so that
     * there is room for gaps. */
    uint64_t slots = (1ull << 32) / align;
    while (align > 1 && slots < 2ull * n) {
        align >>= 1;
        slots = (1ull << 32) / align;
    }
    if (slots < 2ull * n)
        return NULL;
    /* Worst case every run has one key and every gap is max_gap slots:
     * n + n * max_gap <= slots keeps all values below 2^32. */
    uint64_t max_gap = (slots - n) / n;
    if (max_gap > 65536)
        max_gap = 65536;
    uint32_t *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return NULL;
    uint64_t st = seed;
    uint64_t slot = gen_below(&st, max_gap); /* first run need not start at 0 */
    uint32_t i = 0;
    while (i < n) {
        uint64_t run = 1 + gen_below(&st, 64);
        for (uint64_t j = 0; j < run && i < n; j++)
            v[i++] = (uint32_t)(slot++ * align);
        slot += 1 + gen_below(&st, max_gap); /* at least one empty slot between runs */
    }
    return v;
}

uint32_t *gen_keys_strided(uint32_t n, uint64_t seed, uint32_t stride, uint32_t max_offset)
{
    if (n == 0 || stride == 0 || max_offset == 0 || max_offset > stride
        || (uint64_t)(n - 1) * stride + (max_offset - 1) > UINT32_MAX)
        return NULL;
    uint32_t *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return NULL;
    uint64_t st = seed;
    for (uint32_t i = 0; i < n; i++)
        v[i] = i * stride + (uint32_t)gen_below(&st, max_offset);
    return v;
}

void gen_keys_shuffle(uint32_t *v, uint32_t n, uint64_t seed)
{
    uint64_t st = seed;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)gen_below(&st, i);
        uint32_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

uint32_t *gen_keys(gen_kind kind, uint32_t n, uint64_t seed)
{
    switch (kind) {
    case GEN_RANDOM: return gen_keys_random(n, seed, true);
    case GEN_SEQUENTIAL: {
        uint64_t st = seed;
        /* Even seeds start at 0 so the zero key is exercised too. */
        uint32_t start = (seed & 1) ? (uint32_t)gen_below(&st, 1u << 20) : 0;
        return gen_keys_sequential(n, start, 1);
    }
    case GEN_CLUSTERED16: return gen_keys_clustered(n, seed, 16);
    case GEN_CLUSTERED4K: return gen_keys_clustered(n, seed, 4096);
    case GEN_SHUFFLED: return gen_keys_random(n, seed, false);
    default: return NULL;
    }
}

const char *gen_kind_name(gen_kind kind)
{
    static const char *const names[] = {"random", "sequential", "clustered16",
                                        "clustered4k", "shuffled"};
    return (unsigned)kind < GEN_KIND_COUNT ? names[kind] : "unknown";
}

int gen_keys_write(const char *path, const uint32_t *v, uint32_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        unsigned char b[4] = {(unsigned char)v[i], (unsigned char)(v[i] >> 8),
                              (unsigned char)(v[i] >> 16), (unsigned char)(v[i] >> 24)};
        if (fwrite(b, 1, 4, f) != 4)
            rc = -1;
    }
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

uint64_t *gen_keys_wide(const uint32_t *keys, uint32_t n)
{
    uint64_t *w = malloc((size_t)n * 8);
    for (uint32_t i = 0; w && i < n; i++)
        w[i] = (uint64_t)keys[i] << 32 | (keys[i] ^ 0x5a5a5a5au);
    return w;
}
