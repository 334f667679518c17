/* bench_line: an experimental order-preserving table, measured and not
 * adopted (docs/BENCHMARKS.md, "Lookup: one cache line per key"), where a
 * key needs ONE cache line of values, against ph_part (two random value
 * reads per key) on the same keys in the same process.
 *
 * Layout:
 *   level 1  hash h -> bucket of ~KEYS_PER_BUCKET keys; an 8-byte entry per
 *            bucket (first block in bits 0..31, the bucket's odd multiplier
 *            in 32..63), the next entry ending the bucket.  At 1024 keys a
 *            bucket the entries take 8 bytes per 1024 keys and stay in
 *            L2/L3.
 *   level 2  a bucket of k keys owns ceil(k / LAMBDA) blocks of 64 bytes
 *            (64-byte aligned): word 0 the block's seed word, words 1..15
 *            the values of 15 vertices.  h times the bucket's multiplier
 *            picks a key's block (the multiplier is retried until no block
 *            has more than 14 keys: 15 vertices hold at most a 14-edge
 *            forest); h times a multiplier made of the seed word picks two
 *            distinct vertices of the block (the seed word is retried until
 *            the block's edges form a forest), and values are assigned
 *            along the trees so that val[u] + val[v] == the key's position
 *            (mod 2^32).
 * Index = a cached entry read, then one line: its seed word, then two
 * values in the same line.
 *
 *   bench_line N|FILE.keys [LAMBDA [KEYS_PER_BUCKET [THREADS]]]
 *        defaults 7, 1024, 2
 *
 * Builds the table on THREADS threads, verifies Index(keys[i]) == i for
 * every key (exit 1 naming the first wrong key), builds ph_part on the
 * same keys, then times lookups of min(N, 20M) keys in random order: per
 * round a loop of single calls and a batch, for each table in turn (A/B
 * interleaved), best of 5 rounds, wall and thread CPU ns a key; every
 * batch result is checked.  One line per table: format=line and
 * format=part. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "bench_keys_int.h"
#include "ph_part.h"
#include "ph_time.h"

#define LINE_WORDS 16u          /* one 64-byte line of uint32 */
#define LINE_VERTS 15u          /* words 1..15 */
#define LINE_MAX_KEYS 14u       /* a forest on 15 vertices has <= 14 edges */
#define LINE_MAX_SEEDS (1u << 24)
#define LINE_BATCH 256u         /* keys a group, as ph_part_index_batch */
#define LINE_MAX_THREADS 16u
#define GOLDEN 0x9e3779b97f4a7c15ull

typedef struct line_table {
    uint64_t seed;              /* bucket selection, as ph_part */
    uint32_t nbuckets;
    uint64_t *entries;          /* nbuckets + 1: first block | bucket seed << 32 */
    uint32_t *blocks;           /* nblocks lines of LINE_WORDS words */
    uint64_t nblocks;
} line_table;

/* ---- lookup --------------------------------------------------------------- */

/* The seeds are multipliers (multiply-shift hashing of the key's hash h,
 * already mixed), not inputs to another full mix: a lookup that needs one
 * line is bound by its instructions as much as by the memory, and a full
 * mix per level costs about as much as the read it saves. */
static inline uint32_t reduce32(uint32_t x, uint32_t n) { return (uint32_t)(((uint64_t)x * n) >> 32); }

/* Block number within a bucket of nb blocks: the low half of h (the high
 * half chose the bucket) times the bucket's odd multiplier a. */
static inline uint32_t block_of(uint64_t h, uint32_t a, uint32_t nb)
{
    return reduce32((uint32_t)h * a, nb);
}

/* Two distinct vertices 0..14 of a key in a block with seed word w: x the
 * top half of h times an odd 64-bit multiplier made of w, then u from the
 * top of x * 15 and v from the fraction left. */
static inline void vertex_pair(uint64_t h, uint32_t w, unsigned *u, unsigned *v)
{
    uint32_t x = (uint32_t)((h * ((uint64_t)w << 32 | w | 1)) >> 32);
    uint64_t t = (uint64_t)x * LINE_VERTS;
    *u = (unsigned)(t >> 32);
    *v = reduce32((uint32_t)t, LINE_VERTS - 1);
    *v += *v >= *u;
}

/* The multiplier or seed word of attempt s (build only). */
static uint32_t seed_word(uint32_t s, uint64_t salt)
{
    uint64_t x = (s ^ salt) * GOLDEN;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(x ^ x >> 29) | 1;
}

static inline const uint32_t *line_of(const line_table *t, uint64_t h)
{
    const uint64_t *e = &t->entries[ph_part_bucket_of(h, t->nbuckets)];
    uint32_t first = (uint32_t)e[0], nb = (uint32_t)e[1] - first;
    return t->blocks + ((uint64_t)first + block_of(h, (uint32_t)(e[0] >> 32), nb)) * LINE_WORDS;
}

static inline uint32_t line_value(const uint32_t *line, uint64_t h)
{
    unsigned u, v;
    vertex_pair(h, line[0], &u, &v);
    return line[1 + u] + line[1 + v];
}

static inline uint32_t line_index(const line_table *t, uint32_t key)
{
    uint64_t h = ph_part_mix(key ^ t->seed);
    return line_value(line_of(t, h), h);
}

/* Groups: hashes and entries prefetched, then lines, then read. */
static void line_index_batch(const line_table *t, const uint32_t *keys, size_t n, uint32_t *out)
{
    uint64_t h[LINE_BATCH];
    const uint32_t *l[LINE_BATCH];
    for (size_t i = 0; i < n; i += LINE_BATCH) {
        uint32_t m = n - i < LINE_BATCH ? (uint32_t)(n - i) : LINE_BATCH;
        for (uint32_t j = 0; j < m; j++) {
            h[j] = ph_part_mix(keys[i + j] ^ t->seed);
            __builtin_prefetch(&t->entries[ph_part_bucket_of(h[j], t->nbuckets)]);
        }
        for (uint32_t j = 0; j < m; j++) {
            l[j] = line_of(t, h[j]);
            __builtin_prefetch(l[j]);
        }
        for (uint32_t j = 0; j < m; j++)
            out[i + j] = line_value(l[j], h[j]);
    }
}

/* ---- one block: seed, forest check, values -------------------------------- */

static unsigned uf_find(uint8_t *parent, unsigned x)
{
    while (parent[x] != x)
        x = parent[x] = parent[parent[x]];
    return x;
}

/* 1 if seed s puts the block's m keys on a forest; their edges in eu/ev. */
static int block_try(const uint64_t *h, unsigned m, uint32_t w, uint8_t *eu, uint8_t *ev)
{
    uint8_t parent[LINE_VERTS];
    for (unsigned i = 0; i < LINE_VERTS; i++)
        parent[i] = (uint8_t)i;
    for (unsigned i = 0; i < m; i++) {
        unsigned u, v;
        vertex_pair(h[i], w, &u, &v);
        unsigned ru = uf_find(parent, u), rv = uf_find(parent, v);
        if (ru == rv)
            return 0;
        parent[ru] = (uint8_t)rv;
        eu[i] = (uint8_t)u;
        ev[i] = (uint8_t)v;
    }
    return 1;
}

/* Values along the trees of a forest: an edge with one end set sets the
 * other; when none has, a vertex of an untouched tree becomes a root (0).
 * In a forest no open edge has both ends set, so every edge is met once. */
static void block_assign(uint32_t *val, const uint8_t *eu, const uint8_t *ev, const uint32_t *pos,
                         unsigned m)
{
    uint8_t set[LINE_VERTS] = {0}, done[LINE_MAX_KEYS] = {0};
    for (unsigned left = m; left;) {
        unsigned before = left;
        for (unsigned i = 0; i < m; i++) {
            if (done[i] || set[eu[i]] == set[ev[i]])
                continue;
            unsigned from = set[eu[i]] ? eu[i] : ev[i], to = set[eu[i]] ? ev[i] : eu[i];
            val[to] = pos[i] - val[from];
            set[to] = 1;
            done[i] = 1;
            left--;
        }
        for (unsigned i = 0; left == before && i < m; i++)
            if (!done[i]) {
                val[eu[i]] = 0;
                set[eu[i]] = 1;
                break;
            }
    }
}

/* Solve one block's m keys into line; the number of seeds tried, 0 if
 * none of LINE_MAX_SEEDS worked (duplicate keys never do). */
static uint32_t block_solve(uint32_t *line, const uint64_t *h, const uint32_t *pos, unsigned m)
{
    uint8_t eu[LINE_MAX_KEYS], ev[LINE_MAX_KEYS];
    for (uint32_t s = 0; s < LINE_MAX_SEEDS; s++)
        if (block_try(h, m, seed_word(s, 0x626c6f636bull), eu, ev)) {
            memset(line, 0, LINE_WORDS * sizeof *line);
            line[0] = seed_word(s, 0x626c6f636bull);
            block_assign(line + 1, eu, ev, pos, m);
            return s + 1;
        }
    return 0;
}

/* ---- one bucket ------------------------------------------------------------ */

typedef struct bucket_scratch {
    uint64_t *h, *bh;           /* the bucket's key hashes; grouped by block */
    uint32_t *blk, *bpos;       /* each key's block; positions grouped */
    uint32_t *count;            /* per block, then its start */
    uint32_t cap, cap_blocks;
} bucket_scratch;

/* The first bucket multiplier *a whose blocks take at most LINE_MAX_KEYS
 * keys each: the attempts, or 0 if none of LINE_MAX_SEEDS did. */
static uint32_t bucket_spread(bucket_scratch *sc, uint32_t k, uint32_t nb, uint32_t *a)
{
    for (uint32_t s = 0; s < LINE_MAX_SEEDS; s++) {
        memset(sc->count, 0, nb * sizeof *sc->count);
        *a = seed_word(s, 0x6275636b6574ull);
        uint32_t i = 0;
        for (; i < k; i++) {
            sc->blk[i] = block_of(sc->h[i], *a, nb);
            if (++sc->count[sc->blk[i]] > LINE_MAX_KEYS)
                break;
        }
        if (i == k)
            return s + 1;
    }
    return 0;
}

/* Keys grouped by block (counting sort), count[] becoming block starts. */
static void bucket_group(bucket_scratch *sc, const uint32_t *pos, uint32_t k, uint32_t nb)
{
    uint32_t at = 0;
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t c = sc->count[b];
        sc->count[b] = at;
        at += c;
    }
    for (uint32_t i = 0; i < k; i++) {
        uint32_t to = sc->count[sc->blk[i]]++;
        sc->bh[to] = sc->h[i];
        sc->bpos[to] = pos[i];
    }
}

typedef struct line_stats {
    uint64_t bucket_attempts, block_attempts;
    uint32_t max_bucket_attempts, max_block_attempts;
} line_stats;

static void stats_note(uint64_t *sum, uint32_t *max, uint32_t a)
{
    *sum += a;
    if (a > *max)
        *max = a;
}

/* Bucket b's keys gk/pos[0..k): its seed into its entry, its blocks.
 * -1 if a seed search ran out. */
static int bucket_solve(line_table *t, uint32_t b, const uint32_t *gk, const uint32_t *pos,
                        uint32_t k, bucket_scratch *sc, line_stats *st)
{
    uint32_t first = (uint32_t)t->entries[b], nb = (uint32_t)t->entries[b + 1] - first;
    if (k == 0)
        return 0;
    for (uint32_t i = 0; i < k; i++)
        sc->h[i] = ph_part_mix(gk[i] ^ t->seed);
    uint32_t mul, a = bucket_spread(sc, k, nb, &mul);
    if (!a)
        return -1;
    stats_note(&st->bucket_attempts, &st->max_bucket_attempts, a);
    t->entries[b] |= (uint64_t)mul << 32;
    bucket_group(sc, pos, k, nb);
    for (uint32_t j = 0, lo = 0; j < nb; j++) {
        uint32_t hi = sc->count[j];   /* the end of block j after grouping */
        uint32_t s = block_solve(t->blocks + ((uint64_t)first + j) * LINE_WORDS, sc->bh + lo,
                                 sc->bpos + lo, hi - lo);
        if (!s)
            return -1;
        stats_note(&st->block_attempts, &st->max_block_attempts, s);
        lo = hi;
    }
    return 0;
}

/* ---- the build ------------------------------------------------------------- */

typedef struct build_job {
    line_table *t;
    const uint64_t *start;      /* split: bucket b's keys at [start[b], start[b+1]) */
    const uint32_t *gkeys, *pos;
    uint32_t max_keys;
    _Atomic uint32_t next;      /* next chunk of buckets to take */
    atomic_int failed;
    uint32_t failed_bucket;
} build_job;

typedef struct build_thread {
    build_job *j;
    line_stats st;
} build_thread;

static int scratch_alloc(bucket_scratch *sc, uint32_t max_keys)
{
    sc->h = malloc(max_keys * sizeof *sc->h);
    sc->bh = malloc(max_keys * sizeof *sc->bh);
    sc->blk = malloc(max_keys * sizeof *sc->blk);
    sc->bpos = malloc(max_keys * sizeof *sc->bpos);
    sc->count = malloc(max_keys * sizeof *sc->count); /* blocks <= keys */
    return sc->h && sc->bh && sc->blk && sc->bpos && sc->count ? 0 : -1;
}

static void scratch_free(bucket_scratch *sc)
{
    free(sc->h);
    free(sc->bh);
    free(sc->blk);
    free(sc->bpos);
    free(sc->count);
}

#define BUILD_CHUNK 64u

static void *build_run(void *arg)
{
    build_thread *bt = arg;
    build_job *j = bt->j;
    bucket_scratch sc;
    if (scratch_alloc(&sc, j->max_keys ? j->max_keys : 1)) {
        atomic_store(&j->failed, 1);
        scratch_free(&sc);
        return NULL;
    }
    for (;;) {
        uint32_t lo = atomic_fetch_add(&j->next, BUILD_CHUNK);
        if (lo >= j->t->nbuckets || atomic_load(&j->failed))
            break;
        uint32_t hi = j->t->nbuckets - lo < BUILD_CHUNK ? j->t->nbuckets : lo + BUILD_CHUNK;
        for (uint32_t b = lo; b < hi; b++) {
            uint64_t s = j->start[b];
            if (bucket_solve(j->t, b, j->gkeys + s, j->pos + s, (uint32_t)(j->start[b + 1] - s),
                             &sc, &bt->st)) {
                j->failed_bucket = b;
                atomic_store(&j->failed, 2);
                break;
            }
        }
    }
    scratch_free(&sc);
    return NULL;
}

static void run_threads(unsigned nt, void *(*fn)(void *), void *args, size_t size)
{
    pthread_t th[LINE_MAX_THREADS];
    unsigned started = 0;
    for (unsigned i = 1; i < nt; i++)
        if (pthread_create(&th[started], NULL, fn, (char *)args + i * size) == 0)
            started++;
        else
            fn((char *)args + i * size); /* no thread: run it here */
    fn(args);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
}

/* 64-byte aligned lines on transparent huge pages (as ph_part's values). */
static uint32_t *blocks_alloc(uint64_t nblocks)
{
    size_t huge = (size_t)2 << 20, bytes = nblocks * LINE_WORDS * sizeof(uint32_t);
    bytes = (bytes + huge - 1) & ~(huge - 1);
    uint32_t *p = aligned_alloc(huge, bytes ? bytes : huge);
#ifdef MADV_HUGEPAGE
    if (p)
        (void)madvise(p, bytes, MADV_HUGEPAGE); /* advice: fine if refused */
#endif
    return p;
}

/* Entries: each bucket's first block (seeds come with the solve). */
static int line_layout(line_table *t, const uint64_t *start, unsigned lambda, uint32_t *max_keys)
{
    t->entries = malloc(((size_t)t->nbuckets + 1) * sizeof *t->entries);
    if (!t->entries)
        return -1;
    uint64_t at = 0;
    *max_keys = 0;
    for (uint32_t b = 0; b < t->nbuckets; b++) {
        uint32_t k = (uint32_t)(start[b + 1] - start[b]);
        t->entries[b] = at;
        at += (k + lambda - 1) / lambda;
        *max_keys = k > *max_keys ? k : *max_keys;
    }
    t->entries[t->nbuckets] = at;
    t->nblocks = at;
    if (at >> 32)
        return -1;
    t->blocks = blocks_alloc(at);
    return t->blocks ? 0 : -1;
}

static int line_solve(line_table *t, const uint64_t *start, const uint32_t *gkeys,
                      const uint32_t *pos, unsigned lambda, unsigned nt, line_stats *st)
{
    build_job j = {.t = t, .start = start, .gkeys = gkeys, .pos = pos};
    if (line_layout(t, start, lambda, &j.max_keys)) {
        fprintf(stderr, "bench_line: out of memory for %llu blocks\n",
                (unsigned long long)t->nblocks);
        return -1;
    }
    build_thread bt[LINE_MAX_THREADS];
    for (unsigned i = 0; i < nt; i++)
        bt[i] = (build_thread){.j = &j};
    run_threads(nt, build_run, bt, sizeof bt[0]);
    if (atomic_load(&j.failed)) {
        fprintf(stderr, "bench_line: %s (bucket %u)\n",
                atomic_load(&j.failed) == 1 ? "out of memory" : "a seed search ran out",
                j.failed_bucket);
        return -1;
    }
    for (unsigned i = 0; i < nt; i++) {
        const line_stats *s = &bt[i].st;
        st->bucket_attempts += s->bucket_attempts;
        st->block_attempts += s->block_attempts;
        if (s->max_bucket_attempts > st->max_bucket_attempts)
            st->max_bucket_attempts = s->max_bucket_attempts;
        if (s->max_block_attempts > st->max_block_attempts)
            st->max_block_attempts = s->max_block_attempts;
    }
    return 0;
}

/* ---- verification ------------------------------------------------------------ */

typedef struct verify_slice {
    const line_table *t;
    const uint32_t *keys;
    uint32_t lo, hi, bad;       /* bad: first wrong position, or hi */
} verify_slice;

static void *verify_run(void *arg)
{
    verify_slice *s = arg;
    s->bad = s->hi;
    for (uint32_t i = s->lo; i < s->hi; i++)
        if (line_index(s->t, s->keys[i]) != i) {
            s->bad = i;
            break;
        }
    return NULL;
}

/* Index(keys[i]) == i for every key, on nt threads; -1 naming the first
 * wrong key otherwise. */
static int line_verify(const line_table *t, const uint32_t *keys, uint32_t n, unsigned nt)
{
    verify_slice sl[LINE_MAX_THREADS];
    for (unsigned i = 0; i < nt; i++)
        sl[i] = (verify_slice){.t = t, .keys = keys, .lo = (uint32_t)((uint64_t)n * i / nt),
                               .hi = (uint32_t)((uint64_t)n * (i + 1) / nt)};
    run_threads(nt, verify_run, sl, sizeof sl[0]);
    for (unsigned i = 0; i < nt; i++)
        if (sl[i].bad != sl[i].hi) {
            uint32_t p = sl[i].bad;
            fprintf(stderr, "bench_line: key %u at position %u looks up %u\n", keys[p], p,
                    line_index(t, keys[p]));
            return -1;
        }
    return 0;
}

/* ---- measurement --------------------------------------------------------------- */

static double cpu_ns(clockid_t which)
{
    struct timespec ts;
    clock_gettime(which, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct span {
    uint64_t wall0;
    double cpu0;
} span;

static span span_start(clockid_t which) { return (span){ph_time_ns(), cpu_ns(which)}; }

typedef struct lookup_times {
    double wall_ns, cpu_ns, batch_wall_ns, batch_cpu_ns; /* per key, best round */
} lookup_times;

static void keep_best(double *best, double v, int first)
{
    if (first || v < *best)
        *best = v;
}

/* Per key since sp: the best round's wall and thread CPU. */
static void span_keep(span sp, uint32_t probes, double *wall, double *cpu, int first)
{
    keep_best(cpu, (cpu_ns(CLOCK_THREAD_CPUTIME_ID) - sp.cpu0) / probes, first);
    keep_best(wall, (double)(ph_time_ns() - sp.wall0) / probes, first);
}

typedef struct probe_set {
    const uint32_t *order, *want;
    uint32_t *out;
    uint32_t n;
} probe_set;

static int check_out(const probe_set *p, const char *what)
{
    for (uint32_t i = 0; i < p->n; i++)
        if (p->out[i] != p->want[i]) {
            fprintf(stderr, "bench_line: %s batch: key %u gave %u, not %u\n", what, p->order[i],
                    p->out[i], p->want[i]);
            return -1;
        }
    return 0;
}

/* One round for both tables in turn: single calls, then batches. */
static int lookup_round(const line_table *lt, const ph_part_table *pt, const probe_set *p,
                        lookup_times *tl, lookup_times *tp, int first)
{
    static volatile uint32_t sink;
    uint32_t acc = 0;
    span sp = span_start(CLOCK_THREAD_CPUTIME_ID);
    for (uint32_t i = 0; i < p->n; i++)
        acc += line_index(lt, p->order[i]);
    span_keep(sp, p->n, &tl->wall_ns, &tl->cpu_ns, first);
    sp = span_start(CLOCK_THREAD_CPUTIME_ID);
    for (uint32_t i = 0; i < p->n; i++)
        acc += ph_part_index(pt, p->order[i]);
    span_keep(sp, p->n, &tp->wall_ns, &tp->cpu_ns, first);
    sink += acc;
    sp = span_start(CLOCK_THREAD_CPUTIME_ID);
    line_index_batch(lt, p->order, p->n, p->out);
    span_keep(sp, p->n, &tl->batch_wall_ns, &tl->batch_cpu_ns, first);
    if (check_out(p, "line"))
        return -1;
    sp = span_start(CLOCK_THREAD_CPUTIME_ID);
    ph_part_index_batch(pt, p->order, p->n, p->out);
    span_keep(sp, p->n, &tp->batch_wall_ns, &tp->batch_cpu_ns, first);
    return check_out(p, "part");
}

/* ---- main ------------------------------------------------------------------------ */

typedef struct run_cfg {
    uint32_t n, kpb;
    unsigned lambda, threads;
} run_cfg;

typedef struct line_result {
    double solve_s, solve_cpu_s, verify_s, verify_cpu_s;
    line_stats st;
} line_result;

/* Split, solve and verify the line table; the split's arrays freed. */
static int line_build(const uint32_t *keys, const run_cfg *c, line_table *t, line_result *r)
{
    uint64_t *start = NULL;
    uint32_t *gkeys = NULL, *pos = NULL;
    ph_err err;
    t->seed = ph_part_table_seed(1);
    t->nbuckets = ph_part_nbuckets(c->n, c->kpb);
    span sp = span_start(CLOCK_PROCESS_CPUTIME_ID);
    int rc = ph_part_split_positions(keys, c->n, t->seed, t->nbuckets, c->threads, &start,
                                     &gkeys, &pos, &err);
    if (rc)
        fprintf(stderr, "bench_line: %s\n", err.msg);
    else
        rc = line_solve(t, start, gkeys, pos, c->lambda, c->threads, &r->st);
    r->solve_s = (double)(ph_time_ns() - sp.wall0) / 1e9;
    r->solve_cpu_s = (cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - sp.cpu0) / 1e9;
    free(start);
    free(gkeys);
    free(pos);
    if (rc)
        return -1;
    sp = span_start(CLOCK_PROCESS_CPUTIME_ID);
    rc = line_verify(t, keys, c->n, c->threads);
    r->verify_s = (double)(ph_time_ns() - sp.wall0) / 1e9;
    r->verify_cpu_s = (cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - sp.cpu0) / 1e9;
    return rc;
}

/* ph_part on the same keys (its solve verifies every key). */
static int part_build(const uint32_t *keys, const run_cfg *c, ph_part_table *t, double *cpu_s)
{
    ph_part_opts o;
    ph_err err;
    ph_part_opts_init(&o);
    o.threads = c->threads;
    o.seed = 1;
    double c0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
    if (ph_part_solve(keys, c->n, &o, t, &err)) {
        fprintf(stderr, "bench_line: ph_part: %s\n", err.msg);
        return -1;
    }
    *cpu_s = (cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) / 1e9;
    return 0;
}

/* Keys in random order (positions drawn by a second scramble). */
static int probes_make(const uint32_t *keys, uint32_t n, probe_set *p)
{
    uint32_t m = n < 20000000u ? n : 20000000u;
    uint32_t *order = malloc((size_t)m * sizeof *order), *want = malloc((size_t)m * sizeof *want);
    p->out = malloc((size_t)m * sizeof *p->out);
    p->order = order;
    p->want = want;
    p->n = m;
    if (!order || !want || !p->out) {
        fprintf(stderr, "bench_line: out of memory for %u probes\n", m);
        return -1;
    }
    for (uint32_t i = 0; i < m; i++) {
        want[i] = bench_scramble(i, 0xabcd) % n;
        order[i] = keys[want[i]];
    }
    return 0;
}

static void print_line(const run_cfg *c, const line_table *t, const line_result *r,
                       const lookup_times *lt)
{
    printf("format=line keys=%u lambda=%u threads=%u keys_per_bucket=%u buckets=%u "
           "blocks=%llu solve_s=%.3f solve_cpu_s=%.3f verify_s=%.3f verify_cpu_s=%.3f "
           "bucket_attempts=%llu max_bucket_attempts=%u block_attempts=%llu "
           "max_block_attempts=%u bytes_per_key=%.2f lookup_ns=%.2f batch_ns=%.2f "
           "lookup_cpu_ns=%.2f batch_cpu_ns=%.2f\n",
           c->n, c->lambda, c->threads, c->kpb, t->nbuckets, (unsigned long long)t->nblocks,
           r->solve_s, r->solve_cpu_s, r->verify_s, r->verify_cpu_s,
           (unsigned long long)r->st.bucket_attempts, r->st.max_bucket_attempts,
           (unsigned long long)r->st.block_attempts, r->st.max_block_attempts,
           (double)(t->nblocks * 64 + ((uint64_t)t->nbuckets + 1) * 8) / c->n, lt->wall_ns,
           lt->batch_wall_ns, lt->cpu_ns, lt->batch_cpu_ns);
}

static void print_part(const run_cfg *c, const ph_part_table *t, double cpu_s,
                       const lookup_times *lt)
{
    printf("format=part keys=%u threads=%u keys_per_bucket=%u buckets=%u solve_s=%.3f "
           "solve_cpu_s=%.3f attempts=%llu bytes_per_key=%.2f lookup_ns=%.2f batch_ns=%.2f "
           "lookup_cpu_ns=%.2f batch_cpu_ns=%.2f\n",
           c->n, c->threads, PH_PART_DEFAULT_BUCKET, t->nbuckets, t->solve_us / 1e6, cpu_s,
           (unsigned long long)t->attempts, (double)ph_part_bytes(t) / c->n, lt->wall_ns,
           lt->batch_wall_ns, lt->cpu_ns, lt->batch_cpu_ns);
}

static int parse_args(int argc, char **argv, run_cfg *c)
{
    c->lambda = argc > 2 ? (unsigned)atoi(argv[2]) : 7;
    c->kpb = argc > 3 ? (uint32_t)atoi(argv[3]) : 1024;
    c->threads = argc > 4 ? (unsigned)atoi(argv[4]) : 2;
    if (argc < 2 || c->lambda < 1 || c->lambda > LINE_MAX_KEYS || c->kpb < 1 || c->threads < 1 ||
        c->threads > LINE_MAX_THREADS) {
        fprintf(stderr, "usage: bench_line N|FILE.keys [LAMBDA 1..14 [KEYS_PER_BUCKET "
                        "[THREADS 1..16]]]\n");
        return -1;
    }
    return 0;
}

static int measure(const uint32_t *keys, const run_cfg *c, line_table *lt, ph_part_table *pt)
{
    line_result lr = {0};
    double part_cpu = 0;
    probe_set p = {0};
    lookup_times tl = {0}, tp = {0};
    int rc = line_build(keys, c, lt, &lr);
    if (!rc)
        rc = part_build(keys, c, pt, &part_cpu);
    if (!rc)
        rc = probes_make(keys, c->n, &p);
    for (int r = 0; !rc && r < 5; r++)
        rc = lookup_round(lt, pt, &p, &tl, &tp, r == 0);
    if (!rc) {
        print_line(c, lt, &lr, &tl);
        print_part(c, pt, part_cpu, &tp);
    }
    free((void *)p.order);
    free((void *)p.want);
    free(p.out);
    return rc;
}

int main(int argc, char **argv)
{
    run_cfg c;
    if (parse_args(argc, argv, &c))
        return 1;
    uint32_t *keys = bench_make_keys("bench_line", argv[1], &c.n, 0x5eed);
    if (!keys)
        return 1;
    line_table lt = {0};
    ph_part_table pt = {0};
    int rc = measure(keys, &c, &lt, &pt);
    free(lt.entries);
    free(lt.blocks);
    ph_part_free(&pt);
    free(keys);
    return rc ? 1 : 0;
}
