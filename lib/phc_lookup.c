/* phc_lookup.c - index, find and the batch, one function per table shape.
 *
 * The hash family, the vertex layout, the value width and the key size are
 * constants inside each function (generated code has them as literals
 * too); the rest comes from the phc_lookup, precomputed by
 * phc_lookup_init.  The arithmetic is ph_hash.h's and ph_part.h's, so a
 * table gives the same indexes here as in the solver and in generated
 * code (tests/lib checks every shape against its keys).
 *
 * A 32-bit table sees the key's low 32 bits for index; its find compares
 * the stored key zero-extended with the whole 64-bit key, so a key above
 * UINT32_MAX is never found.  A partitioned table hashes a 32-bit key
 * zero-extended, as its solver did. */
#include "phc_lookup_int.h"

#include "ph_hash.h"

#define INLINE static inline __attribute__((always_inline))

static const phc_lookup *lk_of(const phc_table *t)
{
    return (const phc_lookup *)(const void *)t;
}

/* The mix of ph_hash_key64 from its second step: x is the key already
 * xor-ed with the seed and folded (x ^= x >> 32). */
INLINE uint64_t mix_rest(const phc_lookup *lk, uint64_t x)
{
    x *= lk->mult64;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    return x ^ (x >> 32);
}

/* The key's two vertices.  HASH is the family (64-bit keys: MIX with
 * KS 8). */
INLINE void chm_verts(const phc_lookup *lk, uint64_t key, unsigned ks, ph_hash_kind hash,
                      int compact, uint32_t *pu, uint32_t *pv)
{
    uint32_t u, v;
    if (hash == PH_HASH_MIX) {
        /* For a 32-bit key, (k ^ s) ^ ((k ^ s) >> 32) == k ^ (s ^ s >> 32):
         * seed64 holds the folded seed and the fold is skipped. */
        uint64_t x = ks == 8 ? (key ^ lk->seed64) ^ ((key ^ lk->seed64) >> 32)
                             : (uint32_t)key ^ lk->seed64;
        x = mix_rest(lk, x);
        if (compact) {
            u = (uint32_t)(((x >> 32) * lk->half) >> 32);
            v = lk->half + (uint32_t)(((x & 0xffffffffu) * lk->vrange) >> 32);
        } else {
            u = (uint32_t)(x >> lk->shift_hi);
            v = lk->half + ((uint32_t)x >> lk->shift);
        }
    } else {
        uint32_t h1, h2, k = (uint32_t)key;
        if (hash == PH_HASH_MULROT) {
            uint32_t x = ph_rotr32(k * lk->seed32[0], lk->rot);
            h1 = x * lk->seed32[1];
            h2 = x * lk->seed32[2];
        } else {
            h1 = k * lk->seed32[0];
            h2 = k * lk->seed32[1];
        }
        if (compact) {
            u = (uint32_t)(((uint64_t)h1 * lk->half) >> 32);
            v = lk->half + (uint32_t)(((uint64_t)h2 * lk->vrange) >> 32);
        } else {
            u = h1 >> lk->shift;
            v = lk->half + (h2 >> lk->shift);
        }
    }
    *pu = u;
    *pv = v;
}

/* The index from the vertex values at u and v. */
INLINE uint32_t chm_reduce(const phc_lookup *lk, uint32_t u, uint32_t v, int compact,
                           unsigned width)
{
    uint32_t s;
    if (width == 2)
        s = (uint32_t)((const uint16_t *)lk->assigned)[u] + ((const uint16_t *)lk->assigned)[v];
    else
        s = ((const uint32_t *)lk->assigned)[u] + ((const uint32_t *)lk->assigned)[v];
    if (compact)
        return s >= lk->modulus ? s - lk->modulus : s;
    return s & lk->modulus;
}

INLINE uint32_t chm_index(const phc_lookup *lk, uint64_t key, unsigned ks, ph_hash_kind hash,
                          int compact, unsigned width)
{
    uint32_t u, v;
    chm_verts(lk, key, ks, hash, compact, &u, &v);
    return chm_reduce(lk, u, v, compact, width);
}

/* ph_part_index64 over the precomputed fields. */
INLINE uint32_t part_index(const phc_lookup *lk, uint64_t key)
{
    uint64_t h = ph_part_mix(key ^ lk->seed64);
    uint32_t b = ph_part_bucket_of(h, lk->nbuckets);
    uint64_t su, sv;
    ph_part_slots(h, lk->buckets[b], lk->buckets[b + 1] & PH_PART_BASE_MASK, &su, &sv);
    const uint32_t *a = lk->assigned;
    uint64_t s = (uint64_t)a[su] + a[sv];
    return (uint32_t)(s >= lk->modulus ? s - lk->modulus : s);
}

/* A loaded table's values are only known to keep lookups inside its
 * arrays, so the index is bounded before it picks a key. */
INLINE uint32_t member(const phc_lookup *lk, uint64_t key, uint32_t i, unsigned ks)
{
    if (i >= lk->nkeys)
        return PHC_NOT_FOUND;
    uint64_t stored = ks == 8 ? ((const uint64_t *)lk->keys)[i] : ((const uint32_t *)lk->keys)[i];
    return stored == key ? i : PHC_NOT_FOUND;
}

/* Per shape: index, find (both through phc_table_lookups) and the batch,
 * the find inlined in a loop over keys of the table's key size. */
#define SHAPE_FNS(SUFFIX, KS, INDEX_EXPR)                                                    \
    INLINE uint32_t index_in_##SUFFIX(const phc_lookup *lk, uint64_t key)                   \
    {                                                                                        \
        return INDEX_EXPR;                                                                   \
    }                                                                                        \
    INLINE uint32_t find_in_##SUFFIX(const phc_lookup *lk, uint64_t key)                    \
    {                                                                                        \
        return member(lk, key, index_in_##SUFFIX(lk, key), KS);                              \
    }                                                                                        \
    static uint32_t index_##SUFFIX(const phc_table *t, uint64_t key)                        \
    {                                                                                        \
        return index_in_##SUFFIX(lk_of(t), key);                                             \
    }                                                                                        \
    static uint32_t find_##SUFFIX(const phc_table *t, uint64_t key)                         \
    {                                                                                        \
        return find_in_##SUFFIX(lk_of(t), key);                                              \
    }                                                                                        \

/* The batch of a shape: find inlined in a loop. */
#define PLAIN_BATCH(SUFFIX, KS)                                                              \
    static void batch_##SUFFIX(const phc_lookup *lk, const void *keys, size_t n, uint32_t *out) \
    {                                                                                        \
        for (size_t i = 0; i < n; i++)                                                       \
            out[i] = find_in_##SUFFIX(lk, KS == 8 ? ((const uint64_t *)keys)[i]              \
                                                  : ((const uint32_t *)keys)[i]);            \
    }

/* Keys per group of a grouped batch, as ph_part_index_batch: each key
 * costs several cache misses (the vertex values, a partitioned table's
 * bucket entry first, the stored key last), so a group's reads are issued
 * a pass ahead of their use. */
#define GROUP 256u

/* Prefetch the stored key at index x (no member if x >= nkeys). */
INLINE void prefetch_key(const phc_lookup *lk, uint32_t x, unsigned ks)
{
    if (x < lk->nkeys)
        __builtin_prefetch(ks == 8 ? (const void *)((const uint64_t *)lk->keys + x)
                                   : (const void *)((const uint32_t *)lk->keys + x));
}

INLINE uint64_t key_at(const void *keys, size_t i, unsigned ks)
{
    return ks == 8 ? ((const uint64_t *)keys)[i] : ((const uint32_t *)keys)[i];
}

/* One graph's batch in groups: the vertices of every key, their values
 * prefetched; the indexes, the stored keys prefetched; the compares. */
INLINE void chm_batch(const phc_lookup *lk, const void *keys, size_t n, uint32_t *out,
                      unsigned ks, ph_hash_kind hash, int compact, unsigned width)
{
    uint32_t u[GROUP], v[GROUP];
    const char *a = lk->assigned;
    for (size_t i = 0; i < n; i += GROUP) {
        uint32_t m = n - i < GROUP ? (uint32_t)(n - i) : GROUP;
        for (uint32_t j = 0; j < m; j++) {
            chm_verts(lk, key_at(keys, i + j, ks), ks, hash, compact, &u[j], &v[j]);
            __builtin_prefetch(a + (size_t)u[j] * width);
            __builtin_prefetch(a + (size_t)v[j] * width);
        }
        for (uint32_t j = 0; j < m; j++) {
            out[i + j] = chm_reduce(lk, u[j], v[j], compact, width);
            prefetch_key(lk, out[i + j], ks);
        }
        for (uint32_t j = 0; j < m; j++)
            out[i + j] = member(lk, key_at(keys, i + j, ks), out[i + j], ks);
    }
}

#define CHM_SHAPE(SUFFIX, KS, HASH, COMPACT, WIDTH)                                          \
    SHAPE_FNS(SUFFIX, KS, chm_index(lk, key, KS, HASH, COMPACT, WIDTH))                     \
    PLAIN_BATCH(SUFFIX, KS)                                                                  \
    static void gbatch_##SUFFIX(const phc_lookup *lk, const void *keys, size_t n,           \
                                uint32_t *out)                                               \
    {                                                                                        \
        chm_batch(lk, keys, n, out, KS, HASH, COMPACT, WIDTH);                               \
    }

#define CHM_FAMILY(NAME, KS, HASH)                                                           \
    CHM_SHAPE(NAME##_p2, KS, HASH, 0, 2)                                                     \
    CHM_SHAPE(NAME##_p4, KS, HASH, 0, 4)                                                     \
    CHM_SHAPE(NAME##_c2, KS, HASH, 1, 2)                                                     \
    CHM_SHAPE(NAME##_c4, KS, HASH, 1, 4)

CHM_FAMILY(mulshift, 4, PH_HASH_MULSHIFT)
CHM_FAMILY(mulrot, 4, PH_HASH_MULROT)
CHM_FAMILY(mix, 4, PH_HASH_MIX)
CHM_FAMILY(key64, 8, PH_HASH_MIX)
SHAPE_FNS(part32, 4, part_index(lk, (uint32_t)key))
SHAPE_FNS(part64, 8, part_index(lk, key))

/* The partitioned batch in groups: hash every key and prefetch its bucket
 * entry; read the entries and prefetch the two vertex values; sum them
 * into the index and prefetch the stored key; compare.  The answers are
 * find's, key for key. */
INLINE void part_batch(const phc_lookup *lk, const void *keys, size_t n, uint32_t *out,
                       unsigned ks)
{
    uint64_t h[GROUP], su[GROUP], sv[GROUP];
    const uint32_t *a = lk->assigned;
    const uint64_t *bk = lk->buckets;
    for (size_t i = 0; i < n; i += GROUP) {
        uint32_t m = n - i < GROUP ? (uint32_t)(n - i) : GROUP;
        for (uint32_t j = 0; j < m; j++) {
            h[j] = ph_part_mix(key_at(keys, i + j, ks) ^ lk->seed64);
            __builtin_prefetch(&bk[ph_part_bucket_of(h[j], lk->nbuckets)]);
        }
        for (uint32_t j = 0; j < m; j++) {
            const uint64_t *e = &bk[ph_part_bucket_of(h[j], lk->nbuckets)];
            ph_part_slots(h[j], e[0], e[1] & PH_PART_BASE_MASK, &su[j], &sv[j]);
            __builtin_prefetch(&a[su[j]]);
            __builtin_prefetch(&a[sv[j]]);
        }
        for (uint32_t j = 0; j < m; j++) {
            uint64_t s = (uint64_t)a[su[j]] + a[sv[j]];
            uint32_t x = (uint32_t)(s >= lk->modulus ? s - lk->modulus : s);
            out[i + j] = x;
            prefetch_key(lk, x, ks);
        }
        for (uint32_t j = 0; j < m; j++)
            out[i + j] = member(lk, key_at(keys, i + j, ks), out[i + j], ks);
    }
}

static void gbatch_part32(const phc_lookup *lk, const void *keys, size_t n, uint32_t *out)
{
    part_batch(lk, keys, n, out, 4);
}

static void gbatch_part64(const phc_lookup *lk, const void *keys, size_t n, uint32_t *out)
{
    part_batch(lk, keys, n, out, 8);
}

static uint32_t find_none(const phc_table *t, uint64_t key)
{
    (void)t;
    (void)key;
    return PHC_NOT_FOUND;
}

static void batch_none(const phc_lookup *lk, const void *keys, size_t n, uint32_t *out)
{
    (void)lk;
    (void)keys;
    for (size_t i = 0; i < n; i++)
        out[i] = PHC_NOT_FOUND;
}

typedef struct shape {
    uint32_t (*index)(const phc_table *t, uint64_t key);
    uint32_t (*find)(const phc_table *t, uint64_t key);
    void (*batch)(const phc_lookup *lk, const void *keys, size_t n, uint32_t *out);
    void (*grouped)(const phc_lookup *lk, const void *keys, size_t n, uint32_t *out);
} shape;

#define SHAPE(S) {index_##S, find_##S, batch_##S, gbatch_##S}
#define FAMILY(NAME) SHAPE(NAME##_p2), SHAPE(NAME##_p4), SHAPE(NAME##_c2), SHAPE(NAME##_c4)

/* One graph: 4 * family + 2 * compact + (width == 4); then partitioned. */
static const shape shapes[] = {
    FAMILY(mulshift), FAMILY(mulrot), FAMILY(mix), FAMILY(key64),
    {index_part32, find_part32, gbatch_part32, gbatch_part32},
    {index_part64, find_part64, gbatch_part64, gbatch_part64},
};
enum { SHAPE_PART32 = 16, SHAPE_PART64 = 17 };

static unsigned shape_of(const phc_lookup_src *src)
{
    if (src->partitioned)
        return src->key_size == 8 ? SHAPE_PART64 : SHAPE_PART32;
    const ph_table *c = src->chm;
    unsigned family = src->key_size == 8 ? 3u : (unsigned)c->hash;
    return 4 * family + (c->compact ? 2u : 0u) + (c->width == 4 ? 1u : 0u);
}

/* Below this many bytes of vertex values and keys a one-graph table's
 * batch is the plain loop: in cache the grouped passes only add work
 * (docs/BENCHMARKS.md, "Library lookups"). */
#ifndef PHC_GROUPED_MIN_BYTES
#define PHC_GROUPED_MIN_BYTES (4u << 20)
#endif

static int grouped_pays(const phc_lookup_src *src)
{
    if (src->partitioned)
        return 1;
    const ph_table *c = src->chm;
    uint64_t bytes = (uint64_t)c->nverts * c->width + (uint64_t)src->nkeys * src->key_size;
    return bytes >= PHC_GROUPED_MIN_BYTES;
}

static void chm_params(phc_lookup *lk, const ph_table *c, unsigned key_size)
{
    const uint32_t *s = c->seeds;
    lk->assigned = c->assigned;
    lk->seed64 = (uint64_t)s[0] << 32 | s[1];
    if (key_size != 8)
        lk->seed64 ^= lk->seed64 >> 32;
    lk->mult64 = (uint64_t)s[2] << 32 | s[3];
    lk->seed32[0] = s[0];
    lk->seed32[1] = s[1];
    lk->seed32[2] = s[2];
    lk->rot = s[3];
    lk->shift = c->shift;
    lk->shift_hi = c->shift + 32;
    lk->half = c->nverts / 2;
    lk->vrange = c->nverts - lk->half;
    lk->modulus = c->compact ? c->nedges : c->nedges - 1;
}

void phc_lookup_init(phc_lookup *lk, const phc_lookup_src *src)
{
    void *values = lk->fns.values; /* phc_values_init's, kept */
    uint32_t value_size = lk->fns.value_size;
    *lk = (phc_lookup){0};
    lk->fns.values = values;
    lk->fns.value_size = value_size;
    if (src->partitioned) {
        const ph_part_table *p = src->part;
        lk->assigned = p->assigned;
        lk->seed64 = p->seed;
        lk->modulus = p->nkeys;
        lk->nbuckets = p->nbuckets;
        lk->buckets = p->buckets;
    } else {
        chm_params(lk, src->chm, src->key_size);
    }
    lk->keys = src->keys;
    lk->nkeys = src->nkeys;
    const shape *sh = &shapes[shape_of(src)];
    lk->fns.index = sh->index;
    lk->fns.find = src->keys ? sh->find : find_none;
    lk->batch = !src->keys ? batch_none : grouped_pays(src) ? sh->grouped : sh->batch;
}
