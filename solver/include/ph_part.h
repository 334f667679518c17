/* ph_part.h - partitioned order-preserving tables for big key sets.
 *
 * One CHM graph over millions of keys no longer fits in cache: every edge
 * of an attempt is a cache miss.  Above a threshold the keys are split by a
 * seeded hash into buckets of a few thousand keys; each bucket is its own
 * small CHM graph whose edges carry the keys' GLOBAL positions (CHM solves
 * a[u] + a[v] == target mod n for any target), so
 *     ph_part_index(t, keys[i]) == i      for every key i.
 * Each bucket draws its own seeds and a bucket that comes out cyclic retries
 * alone; buckets are solved in parallel.  Lookup: one hash picks the bucket,
 * its 8-byte entry (and the next one's base) gives the vertex base, count
 * and seed, then the two vertex values are read.  ph_part_index_batch
 * looks up many keys with the reads of later keys prefetched. */
#ifndef PH_PART_H
#define PH_PART_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ph_err.h"

/* --partition auto: partition from this many keys on (measured on 2 cores:
 * below it one graph still fits the caches well enough). */
#define PH_PART_AUTO_MIN_KEYS (1u << 20)
/* Keys per bucket when partitioning automatically: a bucket's graph
 * (~2.09 vertices per key, 8 bytes each, plus 16 bytes per edge) stays in
 * L2. */
#define PH_PART_DEFAULT_BUCKET 4096u
#define PH_PART_OFF 0u
#define PH_PART_AUTO UINT32_MAX

typedef struct ph_part_opts {
    uint32_t keys_per_bucket;   /* average; 0 = PH_PART_DEFAULT_BUCKET */
    unsigned threads;           /* 0 = 1 */
    uint64_t seed;              /* same seed + keys => same table */
    uint32_t max_attempts;      /* per bucket; 0 = 1,000 */
    const atomic_int *cancel;   /* optional: non-zero stops (PH_ETIMEOUT) */
    /* Optional: called once keys[] has been split (the solve reads only its
     * own grouped copy from then on), before the vertex values are
     * allocated, so a caller done with the keys frees them first. */
    void (*split_done)(void *ctx);
    void *split_ctx;
} ph_part_opts;

void ph_part_opts_init(ph_part_opts *o);

/* A bucket's entry: bits 0..35 the first of its vertices in assigned[]
 * (its base), bits 36..63 its 28-bit seed.  Entry nbuckets holds the total
 * vertex count, so bucket b owns [base(b), base(b + 1)): u in the lower
 * half, v in the upper; an empty bucket has base(b) == base(b + 1). */
#define PH_PART_BASE_BITS 36
#define PH_PART_BASE_MASK ((1ull << PH_PART_BASE_BITS) - 1)
#define PH_PART_SEED_MASK 0x0fffffffu

typedef struct ph_part_table {
    uint64_t seed;              /* bucket selection */
    uint32_t nkeys;             /* index modulus */
    uint32_t nbuckets;
    uint64_t *buckets;          /* owned: nbuckets + 1 entries (see above) */
    uint64_t nverts;
    uint32_t *assigned;         /* owned: nverts values < nkeys */
    uint64_t attempts;          /* graphs tried, all buckets */
    uint32_t max_bucket_attempts;
    uint32_t max_bucket_keys;
    unsigned key_size;          /* 4 or 8 (ph_part_solve64) */
    uint64_t solve_us;          /* split + buckets, verification included */
    uint64_t verify_us;         /* lookups of every key, summed over threads */
    uint64_t split_us;          /* of solve_us: the split (wall) */
    uint64_t layout_us;         /* of solve_us: bucket entries, values allocated */
} ph_part_table;

/* "auto", "off" or KEYS_PER_BUCKET (>= 1) -> PH_PART_AUTO, PH_PART_OFF or
 * the number.  -1 if malformed. */
int ph_part_parse(const char *s, uint32_t *out);

/* Keys per bucket to use for n keys under a --partition value, or
 * PH_PART_OFF for one unpartitioned table. */
uint32_t ph_part_choose(uint32_t mode, uint64_t n);

/* Solve keys[0..n) (n >= 1).  On success *out owns its memory and has been
 * verified against every key (each bucket's keys through ph_part_index
 * right after the bucket is solved, while it is in cache).  Duplicate keys: PH_EDUP naming both
 * positions; a bucket out of attempts: PH_ESOLVE naming it. */
int ph_part_solve(const uint32_t *keys, uint32_t n, const ph_part_opts *o, ph_part_table *out,
                  ph_err *err);
/* The same for 64-bit keys (key_size 8): all 64 bits go through the same
 * mix, so keys that differ only in their high half are told apart. */
int ph_part_solve64(const uint64_t *keys, uint32_t n, const ph_part_opts *o,
                    ph_part_table *out, ph_err *err);

/* Hashing of a partitioned table, shared with the emitted Index. */
static inline uint64_t ph_part_mix(uint64_t x)
{
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return x;
}

static inline uint32_t ph_part_bucket_of(uint64_t h, uint32_t nbuckets)
{
    return (uint32_t)(((h >> 32) * nbuckets) >> 32);
}

/* The two vertices, relative to the bucket's base, of a key hashed to h. */
static inline void ph_part_vertices(uint64_t h, uint32_t bseed, uint32_t nverts, uint32_t *u,
                                    uint32_t *v)
{
    uint64_t g = ph_part_mix(h + (uint64_t)bseed * 0x9e3779b97f4a7c15ull);
    uint32_t half = nverts / 2;
    *u = (uint32_t)(((g >> 32) * half) >> 32);
    *v = half + (uint32_t)(((g & 0xffffffffu) * (nverts - half)) >> 32);
}

static inline uint64_t ph_part_entry(uint64_t base, uint32_t bseed)
{
    return base | (uint64_t)(bseed & PH_PART_SEED_MASK) << PH_PART_BASE_BITS;
}

static inline uint64_t ph_part_base(const ph_part_table *t, uint32_t b)
{
    return t->buckets[b] & PH_PART_BASE_MASK;
}

static inline uint32_t ph_part_nverts(const ph_part_table *t, uint32_t b)
{
    return (uint32_t)(ph_part_base(t, b + 1) - ph_part_base(t, b));
}

static inline uint32_t ph_part_seed_of(const ph_part_table *t, uint32_t b)
{
    return (uint32_t)(t->buckets[b] >> PH_PART_BASE_BITS);
}

/* The two value slots (indexes into assigned[]) of a key hashed to h, in
 * the bucket of entry `entry` whose vertices end at `end`. */
static inline void ph_part_slots(uint64_t h, uint64_t entry, uint64_t end, uint64_t *su,
                                 uint64_t *sv)
{
    uint64_t base = entry & PH_PART_BASE_MASK;
    uint32_t u, v;
    ph_part_vertices(h, (uint32_t)(entry >> PH_PART_BASE_BITS), (uint32_t)(end - base), &u, &v);
    *su = base + u;
    *sv = base + v;
}

static inline uint32_t ph_part_sum(const ph_part_table *t, uint64_t su, uint64_t sv)
{
    uint64_t s = (uint64_t)t->assigned[su] + t->assigned[sv];
    return (uint32_t)(s >= t->nkeys ? s - t->nkeys : s);
}

/* Index of key (meaningful only for keys in the set).  A 32-bit key is the
 * 64-bit key zero-extended: both key sizes share one lookup. */
static inline uint32_t ph_part_index64(const ph_part_table *t, uint64_t key)
{
    uint64_t h = ph_part_mix(key ^ t->seed);
    uint32_t b = ph_part_bucket_of(h, t->nbuckets);
    uint64_t su, sv;
    ph_part_slots(h, t->buckets[b], t->buckets[b + 1] & PH_PART_BASE_MASK, &su, &sv);
    return ph_part_sum(t, su, sv);
}

static inline uint32_t ph_part_index(const ph_part_table *t, uint32_t key)
{
    return ph_part_index64(t, key);
}

/* out[i] = ph_part_index(t, keys[i]) for i < n, in groups whose bucket
 * entries and vertex values are prefetched before they are read (the
 * reads of a group overlap instead of waiting one after another). */
void ph_part_index_batch(const ph_part_table *t, const uint32_t *keys, size_t n,
                         uint32_t *out);

/* Check Index(keys[i]) == i for all i on `threads` threads; PH_EVERIFY
 * names the first bad key found. */
int ph_part_verify(const ph_part_table *t, const uint32_t *keys, uint32_t n, unsigned threads,
                   ph_err *err);
int ph_part_verify64(const ph_part_table *t, const uint64_t *keys, uint32_t n, unsigned threads,
                     ph_err *err);

/* ---- pieces for a table solved group by group (the cluster) ----------
 * The coordinator splits, workers solve groups of consecutive buckets, the
 * coordinator checks each group and places it; the result is the table
 * ph_part_solve gives for the same keys and options. */

/* The bucket-selection seed of a table built with opts seed `seed`. */
uint64_t ph_part_table_seed(uint64_t seed);
/* Buckets for n keys at keys_per_bucket (0 = default). */
uint32_t ph_part_nbuckets(uint64_t n, uint32_t keys_per_bucket);
/* Vertices of a bucket of k keys (0 for an empty one). */
uint32_t ph_part_bucket_nverts(uint32_t k);

/* Positions of keys[0..n) grouped by bucket: bucket b's keys are
 * keys[pos[i]] for i in [start[b], start[b+1]), positions ascending; with
 * gkeys (optional) also those keys themselves, gkeys[i] = keys[pos[i]], so
 * a group's keys are one slice.  Arrays malloc'd, owned by the caller.
 * PH_ENOMEM. */
int ph_part_split_positions(const uint32_t *keys, uint32_t n, uint64_t table_seed,
                            uint32_t nbuckets, unsigned threads, uint64_t **start,
                            uint32_t **gkeys, uint32_t **pos, ph_err *err);
/* The same for keys of key_size bytes (4 or 8): *gkeys then holds keys of
 * that size. */
int ph_part_split_positions_sized(const void *keys, unsigned key_size, uint32_t n,
                                  uint64_t table_seed, uint32_t nbuckets, unsigned threads,
                                  uint64_t **start, void **gkeys, uint32_t **pos, ph_err *err);
/* The same from the keys file fd (n keys of key_size bytes, little-endian,
 * from offset 0; path names it in errors) read in place of a copy of it:
 * each thread reads its slice a buffer at a time, once to count and once
 * to scatter.  A file that ends early, or whose keys moved between the two
 * reads, is PH_EINVAL "PATH: changed while being read ..." (never a slot
 * written twice or outside the arrays); a failed read PH_EIO.  The caller
 * checks the file's size and mtime afterwards (ph_keys_map_read_done). */
int ph_part_split_fd(int fd, const char *path, unsigned key_size, uint32_t n,
                     uint64_t table_seed, uint32_t nbuckets, unsigned threads, uint64_t **start,
                     void **gkeys, uint32_t **pos, ph_err *err);

/* A group of consecutive buckets [bucket_lo, bucket_lo + ngroup) of a
 * table of nkeys keys and nbuckets buckets. */
typedef struct ph_part_group {
    uint64_t table_seed;
    uint32_t nkeys, nbuckets, bucket_lo, ngroup;
    const uint32_t *counts;     /* ngroup */
    const void *keys;           /* sum(counts) keys of key_size bytes, grouped by
                                   bucket (host order) */
    unsigned key_size;          /* 4 or 8; 0 is taken as 4 */
    const uint32_t *pos;        /* their global positions (< nkeys) */
    uint32_t max_attempts;      /* per bucket; 0 = 1,000 */
    const atomic_int *cancel;   /* optional */
    _Atomic uint64_t *progress; /* optional: advanced (relaxed) per attempt */
} ph_part_group;

/* Vertex values the group's buckets take (sum of ph_part_bucket_nverts). */
uint64_t ph_part_group_nverts(const ph_part_group *g);

/* Solve every bucket of g: seeds[ngroup] and values[ph_part_group_nverts]
 * (caller's arrays) are filled, each bucket verified key by key; the
 * values and seeds are those ph_part_solve gives the same buckets.
 * *attempts / *max_attempts count graphs tried.  PH_EINVAL if a key is not
 * in the bucket it was given for or a position is >= nkeys; PH_EDUP,
 * PH_ESOLVE, PH_ETIMEOUT as ph_part_solve. */
int ph_part_solve_group(const ph_part_group *g, uint32_t *seeds, uint32_t *values,
                        uint64_t *attempts, uint32_t *max_attempts, ph_err *err);

/* Check a group solved elsewhere: every key of g looked up through seeds
 * (ngroup) and values (ph_part_group_nverts of them), both little-endian
 * uint32 arrays at any alignment (a received frame's bytes), must give its
 * position, and lie in its bucket, and every seed fit a bucket entry (28
 * bits).  PH_EVERIFY naming the first bad key or seed. */
int ph_part_check_group(const ph_part_group *g, const void *seeds, const void *values,
                        ph_err *err);

/* Bytes of the table data (bucket entries + vertex values). */
uint64_t ph_part_bytes(const ph_part_table *t);

void ph_part_free(ph_part_table *t);

#endif
