/* ph_part.c - partitioned CHM: split by a seeded hash, solve buckets in
 * parallel, verify every key (see ph_part.h).
 *
 * The keys are split with a counting sort (count, prefix sums, scatter of
 * (key, position) pairs; in two steps past a few thousand buckets, see
 * SPLIT_SPAN), so a bucket's keys sit together and a solving
 * thread touches only its bucket's slice and its own small graph.  A
 * bucket's seeds depend only on (table seed, bucket, attempt): the table is
 * the same whatever the thread count. */
#include "ph_part.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ph_solve_int.h"
#include "ph_time.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define PART_CHECK_AVX512 1
#define PART_NT_STORES 1 /* SSE2: every x86-64 */
#endif

/* AVX-512 (64-bit multiplies, masked loads, gathers) for the split's
 * bucket numbers and the group check, where ph_simd_avx512 says the CPU
 * has it (PH_NO_SIMD turns it off). */
#ifdef PART_CHECK_AVX512
#define PART_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl")))

PART_AVX512 static inline __m512i mix8(__m512i x, __m512i c)
{
    x = _mm512_xor_si512(x, _mm512_srli_epi64(x, 32));
    x = _mm512_mullo_epi64(x, c);
    x = _mm512_xor_si512(x, _mm512_srli_epi64(x, 32));
    x = _mm512_mullo_epi64(x, c);
    return _mm512_xor_si512(x, _mm512_srli_epi64(x, 32));
}
#endif

#define PART_DEFAULT_ATTEMPTS 1000u
#define PART_MAX_THREADS 64u
/* Duplicates always land in one bucket and make it cyclic for every seed:
 * after this many failures the bucket is checked once. */
#define PART_DUP_CHECK_AT 16u

void ph_part_opts_init(ph_part_opts *o)
{
    memset(o, 0, sizeof *o);
    o->keys_per_bucket = PH_PART_DEFAULT_BUCKET;
    o->threads = 1;
}

int ph_part_parse(const char *s, uint32_t *out)
{
    if (!s || !*s)
        return -1;
    if (!strcmp(s, "auto")) {
        *out = PH_PART_AUTO;
        return 0;
    }
    if (!strcmp(s, "off")) {
        *out = PH_PART_OFF;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || s[0] == '-' || v == 0 || v >= PH_PART_AUTO)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

uint32_t ph_part_choose(uint32_t mode, uint64_t n)
{
    if (mode == PH_PART_AUTO)
        return n >= PH_PART_AUTO_MIN_KEYS ? PH_PART_DEFAULT_BUCKET : PH_PART_OFF;
    return mode;
}

/* Key i of an array of 4- or 8-byte keys (the branch is the same for a
 * whole array, so it predicts perfectly). */
static inline uint64_t key_at(const void *keys, unsigned ksize, uint64_t i)
{
    return ksize == 8 ? ((const uint64_t *)keys)[i] : ((const uint32_t *)keys)[i];
}

static inline void key_put(void *keys, unsigned ksize, uint64_t i, uint64_t k)
{
    if (ksize == 8)
        ((uint64_t *)keys)[i] = k;
    else
        ((uint32_t *)keys)[i] = (uint32_t)k;
}

/* "0x%08x" or "0x%016llx" of a key, by key size. */
static const char *key_str(uint64_t k, unsigned ksize, char buf[24])
{
    if (ksize == 8)
        snprintf(buf, 24, "0x%016llx", (unsigned long long)k);
    else
        snprintf(buf, 24, "0x%08x", (uint32_t)k);
    return buf;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint32_t bucket_seed(uint64_t seed, uint32_t bucket, uint32_t attempt)
{
    return (uint32_t)splitmix64(seed ^ splitmix64(((uint64_t)bucket << 32) | attempt)) &
           PH_PART_SEED_MASK;
}

/* Vertices for a bucket of k keys: CHM's 2.09 per key, at least 3 so both
 * halves are non-empty. */
static uint32_t bucket_nverts(uint32_t k)
{
    if (k == 0)
        return 0;
    uint64_t v = ((uint64_t)k * 209 + 99) / 100;
    return (uint32_t)(v < 3 ? 3 : v);
}

/* ---- the split --------------------------------------------------------- */

typedef struct part_split {
    uint64_t *start;     /* nbuckets + 1: bucket b's keys at [start[b], start[b+1]) */
    void *keys;          /* n keys of ksize bytes, grouped by bucket */
    unsigned ksize;
    uint32_t *pos;       /* n, their global positions */
} part_split;

static void split_free(part_split *s)
{
    free(s->start);
    free(s->keys);
    free(s->pos);
    memset(s, 0, sizeof *s);
}

/* The split runs on several threads: each counts, then scatters, its own
 * slice of the keys into offsets reserved for it (so a bucket's keys keep
 * ascending positions, as with one thread).  The per-thread counters cost
 * 8 bytes per bucket and thread: capped so they stay small. */
#define SPLIT_COUNTERS_MAX (8u << 20)
#define SPLIT_MAX_THREADS 16u

typedef struct split_slice {
    const void *keys;    /* the keys in memory, or NULL: read from fd */
    int fd;              /* keys file, little-endian keys from offset 0 */
    void *buf;           /* fd: SPLIT_READ_KEYS keys read at a time */
    uint32_t *bid;       /* SPLIT_READ_KEYS: the bucket of each key of a chunk */
    int failed;          /* fd: 0, or errno of a failed read, or -1 the file
                            ended early, or -2 its keys moved between passes */
    unsigned ksize;
    uint32_t lo, hi;
    uint64_t seed;
    uint32_t nbuckets;
    uint64_t *at;        /* nbuckets: counts, then next free slot per bucket */
    uint64_t *sat;       /* two steps: next free slot per span of buckets */
    const uint64_t *next_first; /* fd scatter: the next thread's first slot
                                   per unit (saved before), NULL for the last */
    struct split_wc *wc; /* two steps: a line of keys and positions per span */
    part_split *s;
    int scatter;         /* 0 count, 1 scatter to buckets, 2 to spans */
} split_slice;

/* Keys a thread takes at a time: read from a keys file into its buffer,
 * their buckets computed into bid (both stay in cache), then counted or
 * scattered. */
#define SPLIT_READ_KEYS 32768u

/* With many buckets the scatter goes in two steps.  Writing each key
 * straight to its bucket keeps two lines per bucket in use at once (the
 * key's and the position's): past a few thousand buckets they no longer
 * fit the caches and nearly every write misses (100M keys, 24,414 buckets:
 * the coordinator's read and split took 4.5 s of CPU).  So the keys first
 * go to spans of SPLIT_SPAN consecutive buckets (a span's keys take the
 * place its buckets will), then each span, a few MB at most, is copied
 * aside and scattered to its buckets while in cache.  Both steps keep the
 * order of the keys, so a bucket's keys keep ascending positions: the
 * result is the one-step split's. */
#define SPLIT_DIRECT_MAX 4096u
#define SPLIT_SPAN 64u

/* Both steps write each span's (then each bucket's) keys and positions
 * through a buffer of SPLIT_WC_SLOTS slots (one 64-byte line of positions)
 * that goes out whole, bypassing the caches (non-temporal stores), once
 * its slots are in: a line written piecemeal is first read from memory,
 * and the lines are evicted long before they are full, so the scatter paid
 * for every line twice.  A thread's first and last lines of a span or
 * bucket (shared with its neighbours) go out with ordinary stores. */
#define SPLIT_WC_SLOTS 16u

typedef struct split_wc {
    _Alignas(64) uint64_t k[SPLIT_WC_SLOTS]; /* keys, as uint32 when 4 bytes */
    uint32_t pos[SPLIT_WC_SLOTS];
    uint32_t lo;         /* the first slot buffered in this line */
} split_wc;

/* Slots [from, to) of the line of w, the slots from slot `line` on. */
static void wc_flush(part_split *s, const split_wc *w, uint64_t line, unsigned from, unsigned to)
{
    const unsigned ks = s->ksize;
    char *kd = (char *)s->keys + line * ks;
    uint32_t *pd = s->pos + line;
#ifdef PART_NT_STORES
    if (from == 0 && to == SPLIT_WC_SLOTS) { /* the arrays are 64-byte aligned (big_alloc) */
        const __m128i *ks_src = (const __m128i *)(const void *)w->k;
        const __m128i *ps_src = (const __m128i *)(const void *)w->pos;
        for (unsigned q = 0; q < SPLIT_WC_SLOTS * ks / 16; q++)
            _mm_stream_si128((__m128i *)(void *)kd + q, _mm_load_si128(ks_src + q));
        for (unsigned q = 0; q < SPLIT_WC_SLOTS * 4 / 16; q++)
            _mm_stream_si128((__m128i *)(void *)pd + q, _mm_load_si128(ps_src + q));
        return;
    }
#endif
    memcpy(kd + (size_t)from * ks, (const char *)w->k + (size_t)from * ks,
           (size_t)(to - from) * ks);
    memcpy(pd + from, w->pos + from, (size_t)(to - from) * 4);
}

/* Slot `at` (of w's line) gets key and position; a line whose slots are
 * all in goes out. */
static inline void wc_put(part_split *s, split_wc *w, uint64_t at, uint64_t key, uint32_t pos)
{
    unsigned i = (unsigned)(at % SPLIT_WC_SLOTS);
    if (s->ksize == 8)
        w->k[i] = key;
    else
        ((uint32_t *)(void *)w->k)[i] = (uint32_t)key;
    w->pos[i] = pos;
    if (i == SPLIT_WC_SLOTS - 1) {
        wc_flush(s, w, at + 1 - SPLIT_WC_SLOTS, w->lo, SPLIT_WC_SLOTS);
        w->lo = 0;
    }
}

/* The last, partial line of w, whose next free slot is next. */
static void wc_rest(part_split *s, const split_wc *w, uint64_t next)
{
    unsigned hi = (unsigned)(next % SPLIT_WC_SLOTS);
    if (hi > w->lo)
        wc_flush(s, w, next - hi, w->lo, hi);
}

static uint64_t slot_end(const split_slice *sl, uint32_t u);

/* Keys [first, first + cnt) of sl to their spans through the buffers
 * (their buckets in sl->bid).  Read from a file, a slot outside this
 * thread's own (the keys moved since the count) fails the split, as in
 * split_chunk, before anything is buffered for it. */
static void split_spans_wc(split_slice *sl, const void *keys, uint32_t first, uint32_t cnt)
{
    const unsigned ks = sl->ksize;
    for (uint32_t j = 0; j < cnt; j++) {
        uint32_t sp = sl->bid[j] / SPLIT_SPAN;
        uint64_t at = sl->sat[sp]++;
        if (sl->fd >= 0 && at >= slot_end(sl, sp)) {
            sl->failed = -2;
            return;
        }
        wc_put(sl->s, &sl->wc[sp], at, key_at(keys, ks, j), first + j);
    }
}

/* The end of a thread's scatter to spans: each span's last, partial line
 * out, and the non-temporal stores ordered before the threads are joined. */
static void split_spans_wc_done(split_slice *sl, uint32_t nspans)
{
    for (uint32_t sp = 0; !sl->failed && sp < nspans; sp++)
        wc_rest(sl->s, &sl->wc[sp], sl->sat[sp]);
#ifdef PART_NT_STORES
    _mm_sfence();
#endif
}

#ifdef PART_CHECK_AVX512
/* bid[j] = the bucket of keys[j], j < cnt, 8 keys at a time. */
PART_AVX512 static void buckets_avx512(const void *keys, unsigned ks, uint32_t cnt,
                                       uint64_t seed, uint32_t nbuckets, uint32_t *bid)
{
    const __m512i c = _mm512_set1_epi64((long long)0xd6e8feb86659fd93ull);
    const __m512i ts = _mm512_set1_epi64((long long)seed), nb = _mm512_set1_epi64(nbuckets);
    uint32_t j = 0;
    for (; j + 8 <= cnt; j += 8) {
        __m512i key = ks == 8 ? _mm512_loadu_si512((const uint64_t *)keys + j)
                              : _mm512_cvtepu32_epi64(
                                    _mm256_loadu_si256((const __m256i *)((const uint32_t *)keys + j)));
        __m512i h = mix8(_mm512_xor_si512(key, ts), c);
        __m512i b = _mm512_srli_epi64(_mm512_mul_epu32(_mm512_srli_epi64(h, 32), nb), 32);
        _mm256_storeu_si256((__m256i *)(bid + j), _mm512_cvtepi64_epi32(b));
    }
    for (; j < cnt; j++)
        bid[j] = ph_part_bucket_of(ph_part_mix(key_at(keys, ks, j) ^ seed), nbuckets);
}
#endif

/* bid[j] = the bucket of keys[j] (ks bytes each), j < cnt. */
static void bucket_ids(const void *keys, unsigned ks, uint32_t cnt, uint64_t seed,
                       uint32_t nbuckets, uint32_t *bid)
{
#ifdef PART_CHECK_AVX512
    if (ph_simd_avx512()) {
        buckets_avx512(keys, ks, cnt, seed, nbuckets, bid);
        return;
    }
#endif
    for (uint32_t j = 0; j < cnt; j++)
        bid[j] = ph_part_bucket_of(ph_part_mix(key_at(keys, ks, j) ^ seed), nbuckets);
}

/* sl->bid[j] = the bucket of keys[j], j < cnt (at most SPLIT_READ_KEYS). */
static void split_buckets(const split_slice *sl, const void *keys, uint32_t cnt)
{
    bucket_ids(keys, sl->ksize, cnt, sl->seed, sl->nbuckets, sl->bid);
}

/* A scatter from a keys file: the end of sl's slots in unit u (a bucket,
 * or with scatter 2 a span of SPLIT_SPAN buckets), the next thread's first
 * slot there, or for the last thread the unit's end. */
static uint64_t slot_end(const split_slice *sl, uint32_t u)
{
    if (sl->next_first)
        return sl->next_first[u];
    uint64_t b = sl->scatter == 2 ? ((uint64_t)u + 1) * SPLIT_SPAN : (uint64_t)u + 1;
    return sl->s->start[b < sl->nbuckets ? b : sl->nbuckets];
}

/* Keys [first, first + cnt) of sl, at keys (keys[0] is key first), cnt at
 * most SPLIT_READ_KEYS: their buckets first, then the count or scatter. */
static void split_chunk(split_slice *sl, const void *keys, uint32_t first, uint32_t cnt)
{
    const unsigned ks = sl->ksize;
    split_buckets(sl, keys, cnt);
    if (sl->scatter == 2 && sl->wc) {
        split_spans_wc(sl, keys, first, cnt);
        return;
    }
    if (!sl->scatter) {
        for (uint32_t j = 0; j < cnt; j++)
            sl->at[sl->bid[j]]++;
        return;
    }
    for (uint32_t j = 0; j < cnt; j++) {
        uint64_t k = key_at(keys, ks, j);
        uint32_t u = sl->scatter == 2 ? sl->bid[j] / SPLIT_SPAN : sl->bid[j];
        uint64_t at = sl->scatter == 2 ? sl->sat[u]++ : sl->at[u]++;
        /* Read twice from a file, the keys may have moved between the
         * count and now: never a slot outside this thread's own, so no
         * slot is written twice or by two threads (split_filled then
         * fails the split). */
        if (sl->fd >= 0 && at >= slot_end(sl, u)) {
            sl->failed = -2;
            continue;
        }
        if (sl->s->keys)
            key_put(sl->s->keys, ks, at, k);
        sl->s->pos[at] = first + j;
    }
}

#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
static void keys_to_host(void *buf, uint32_t cnt, unsigned ks)
{
    unsigned char *p = buf;
    for (uint32_t i = 0; i < cnt; i++, p += ks) {
        uint64_t k = 0;
        for (unsigned b = ks; b-- > 0;)
            k = k << 8 | p[b];
        key_put(buf, ks, i, k);
    }
}
#endif

/* cnt keys from key first of sl's file into its buffer. */
static int split_read(split_slice *sl, uint32_t first, uint32_t cnt)
{
    size_t len = (size_t)cnt * sl->ksize, got = 0;
    uint64_t off = (uint64_t)first * sl->ksize;
    while (got < len) {
        ssize_t r = pread(sl->fd, (char *)sl->buf + got, len - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            sl->failed = r < 0 ? errno : -1;
            return -1;
        }
        got += (size_t)r;
    }
#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
    keys_to_host(sl->buf, cnt, sl->ksize);
#endif
    return 0;
}

static void *split_run(void *arg)
{
    split_slice *sl = arg;
    uint32_t cnt;
    for (uint64_t i = sl->lo; !sl->failed && (cnt = ph_part_chunk_len(i, sl->hi, SPLIT_READ_KEYS));
         i += cnt) {
        if (sl->fd < 0)
            split_chunk(sl, (const char *)sl->keys + (size_t)i * sl->ksize, (uint32_t)i, cnt);
        else if (split_read(sl, (uint32_t)i, cnt) == 0)
            split_chunk(sl, sl->buf, (uint32_t)i, cnt);
    }
    if (sl->scatter == 2 && sl->wc)
        split_spans_wc_done(sl, (sl->nbuckets + SPLIT_SPAN - 1) / SPLIT_SPAN);
    return NULL;
}

/* The second step: spans first, first + step, ... to their buckets. */
typedef struct split_regroup {
    part_split *s;
    uint64_t seed;
    uint32_t nbuckets, first, step;
    void *tk;            /* a span's keys and positions, copied aside */
    uint32_t *tp;
    split_wc *wc;        /* SPLIT_SPAN: a line per bucket of the span, or NULL */
    int moved;           /* a bucket's keys did not fill its slots exactly
                            (a keys file changed between the passes) */
} split_regroup;

/* Keys of the regroup whose buckets are computed at a time. */
#define REGROUP_CHUNK 2048u

/* Span [b0, b1) of r, its cnt keys and positions copied aside, to its
 * buckets (through the line buffers when r has them, as the scatter to
 * spans: the span, 2 MB at the default sizes, is out of L2 by then). */
static void regroup_span(split_regroup *r, uint32_t b0, uint32_t b1, uint64_t cnt)
{
    part_split *s = r->s;
    const unsigned ks = s->ksize;
    uint64_t next[SPLIT_SPAN];
    uint32_t bid[REGROUP_CHUNK];
    for (uint32_t b = b0; b < b1; b++) {
        next[b - b0] = s->start[b];
        if (r->wc)
            r->wc[b - b0].lo = (uint32_t)(s->start[b] % SPLIT_WC_SLOTS);
    }
    for (uint64_t c0 = 0; c0 < cnt; c0 += REGROUP_CHUNK) {
        uint32_t m = cnt - c0 < REGROUP_CHUNK ? (uint32_t)(cnt - c0) : REGROUP_CHUNK;
        const void *kc = (const char *)r->tk + c0 * ks;
        bucket_ids(kc, ks, m, r->seed, r->nbuckets, bid);
        for (uint32_t j = 0; j < m; j++) {
            uint32_t b = bid[j];
            uint64_t at = next[b - b0]++;
            if (at >= s->start[b + 1]) { /* only if the keys moved: see split_run */
                r->moved = 1;
                continue;
            }
            if (r->wc) {
                wc_put(s, &r->wc[b - b0], at, key_at(kc, ks, j), r->tp[c0 + j]);
            } else {
                key_put(s->keys, ks, at, key_at(kc, ks, j));
                s->pos[at] = r->tp[c0 + j];
            }
        }
    }
    for (uint32_t b = b0; b < b1; b++) {
        if (r->wc)
            wc_rest(s, &r->wc[b - b0], next[b - b0]);
        r->moved |= next[b - b0] != s->start[b + 1];
    }
}

static void *regroup_run(void *arg)
{
    split_regroup *r = arg;
    part_split *s = r->s;
    const unsigned ks = s->ksize;
    for (uint32_t b0 = r->first * SPLIT_SPAN; b0 < r->nbuckets; b0 += r->step * SPLIT_SPAN) {
        uint32_t b1 = r->nbuckets - b0 < SPLIT_SPAN ? r->nbuckets : b0 + SPLIT_SPAN;
        uint64_t lo = s->start[b0], cnt = s->start[b1] - lo;
        memcpy(r->tk, (char *)s->keys + lo * ks, (size_t)cnt * ks);
        memcpy(r->tp, s->pos + lo, (size_t)cnt * 4);
        regroup_span(r, b0, b1, cnt);
    }
#ifdef PART_NT_STORES
    _mm_sfence();
#endif
    return NULL;
}

static void run_threads(unsigned nt, void *(*fn)(void *), void *const *args);
static void *big_alloc(size_t bytes, int zero);

static unsigned split_threads(unsigned threads, uint32_t n, uint32_t nbuckets)
{
    unsigned nt = threads == 0 ? 1 : threads > SPLIT_MAX_THREADS ? SPLIT_MAX_THREADS : threads;
    while (nt > 1 && ((uint64_t)nt * nbuckets > SPLIT_COUNTERS_MAX || n / nt < 16384))
        nt--;
    return nt;
}

/* After a scatter from a keys file (slots: each thread's first slot per
 * unit, saved before, nunits units of `width` buckets): PH_EIO (errno in
 * sl->failed) for a failed read, PH_EINVAL when the file ended early or a
 * thread's keys did not fill its slots of some unit exactly (they moved
 * between the passes: the file changed). */
static int split_filled(const split_slice *sl, unsigned nt, const uint64_t *slots,
                        uint32_t nunits, const part_split *s, uint32_t nbuckets, uint32_t width)
{
    for (unsigned t = 0; t < nt; t++)
        if (sl[t].failed)
            return sl[t].failed > 0 ? PH_EIO : PH_EINVAL;
    for (unsigned t = 0; t < nt; t++) {
        const uint64_t *now = width == 1 ? sl[t].at : sl[t].sat;
        for (uint32_t u = 0; u < nunits; u++) {
            uint64_t unit_end = (uint64_t)(u + 1) * width;
            uint32_t next_b = unit_end < nbuckets ? (uint32_t)unit_end : nbuckets;
            uint64_t end = t + 1 < nt ? slots[(size_t)(t + 1) * nunits + u] : s->start[next_b];
            if (now[u] != end)
                return PH_EINVAL;
        }
    }
    return PH_OK;
}

/* After the count: bucket starts, and each thread's first slot in each
 * span into sat (span g: thread 0's keys first, then thread 1's, ...);
 * the most keys a span holds. */
static uint64_t spans_lay_out(const split_slice *sl, unsigned nt, part_split *s,
                              uint32_t nbuckets, uint32_t nspans, uint64_t *sat)
{
    uint64_t next = 0, widest = 0;
    for (uint32_t b = 0; b < nbuckets; b++) {
        s->start[b] = next;
        for (unsigned t = 0; t < nt; t++)
            next += sl[t].at[b];
    }
    s->start[nbuckets] = next;
    for (uint32_t g = 0; g < nspans; g++) {
        uint32_t b0 = g * SPLIT_SPAN, b1 = nbuckets - b0 < SPLIT_SPAN ? nbuckets : b0 + SPLIT_SPAN;
        uint64_t at = s->start[b0];
        for (unsigned t = 0; t < nt; t++) {
            sat[(size_t)t * nspans + g] = at;
            for (uint32_t b = b0; b < b1; b++)
                at += sl[t].at[b];
        }
        if (s->start[b1] - s->start[b0] > widest)
            widest = s->start[b1] - s->start[b0];
    }
    return widest;
}

/* The second step on nt threads: each span, at most widest keys, to its
 * buckets.  PH_EINVAL when a bucket's keys did not fill its slots (a keys
 * file changed between the passes). */
static int spans_regroup(const split_slice *sl, unsigned nt, part_split *s, uint32_t nbuckets,
                         uint64_t widest)
{
    split_regroup rg[SPLIT_MAX_THREADS];
    void *args[SPLIT_MAX_THREADS];
    int rc = PH_OK;
    for (unsigned t = 0; t < nt; t++) {
        rg[t] = (split_regroup){.s = s, .seed = sl[t].seed, .nbuckets = nbuckets, .first = t,
                                .step = nt, .tk = malloc((size_t)widest * s->ksize + 8),
                                .tp = malloc((size_t)widest * 4 + 4),
                                .wc = aligned_alloc(64, SPLIT_SPAN * sizeof(split_wc))};
        args[t] = &rg[t];
        if (!rg[t].tk || !rg[t].tp)
            rc = PH_ENOMEM;
    }
    if (!rc)
        run_threads(nt, regroup_run, args);
    for (unsigned t = 0; t < nt; t++) {
        free(rg[t].tk);
        free(rg[t].tp);
        free(rg[t].wc);
        if (!rc && rg[t].moved)
            rc = PH_EINVAL;
    }
    return rc;
}

/* After the count: the slots of each span (spans_lay_out), the scatter to
 * spans, then spans to buckets (spans_regroup; see SPLIT_SPAN).  Read from
 * a keys file, each thread's first slots are kept to bound and check its
 * scatter. */
static int split_two_steps(split_slice *sl, unsigned nt, part_split *s, uint32_t nbuckets)
{
    uint32_t nspans = (nbuckets + SPLIT_SPAN - 1) / SPLIT_SPAN;
    size_t bytes = (size_t)nt * nspans * sizeof(uint64_t);
    uint64_t *sat = malloc(bytes), *sat0 = sl[0].fd >= 0 ? malloc(bytes) : NULL;
    if (!sat || (sl[0].fd >= 0 && !sat0)) {
        free(sat);
        free(sat0);
        return PH_ENOMEM;
    }
    uint64_t widest = spans_lay_out(sl, nt, s, nbuckets, nspans, sat);
    if (sat0)
        memcpy(sat0, sat, bytes);
    /* The buffers are advice: without them each key goes straight to its
     * slot. */
    split_wc *wc = aligned_alloc(64, (size_t)nt * nspans * sizeof *wc);
    void *args[SPLIT_MAX_THREADS];
    for (unsigned t = 0; t < nt; t++) {
        sl[t].sat = sat + (size_t)t * nspans;
        sl[t].next_first = sat0 && t + 1 < nt ? sat0 + (size_t)(t + 1) * nspans : NULL;
        sl[t].wc = wc ? wc + (size_t)t * nspans : NULL;
        for (uint32_t g = 0; wc && g < nspans; g++)
            sl[t].wc[g].lo = (uint32_t)(sl[t].sat[g] % SPLIT_WC_SLOTS);
        sl[t].scatter = 2;
        args[t] = &sl[t];
    }
    run_threads(nt, split_run, args);
    int rc = sat0 ? split_filled(sl, nt, sat0, nspans, s, nbuckets, SPLIT_SPAN) : PH_OK;
    for (unsigned t = 0; t < nt; t++)
        sl[t].wc = NULL;
    free(wc);
    free(sat0);
    free(sat);
    return rc ? rc : spans_regroup(sl, nt, s, nbuckets, widest);
}

/* The count, then the scatter (in two steps with many buckets) of the
 * slices sl; at0 (nt * nbuckets, reading from a file only): the slots
 * saved before the scatter. */
static int split_passes(split_slice *sl, unsigned nt, part_split *s, uint32_t nbuckets,
                        int with_keys, uint64_t *at0)
{
    void *args[SPLIT_MAX_THREADS];
    for (unsigned t = 0; t < nt; t++)
        args[t] = &sl[t];
    run_threads(nt, split_run, args);
    for (unsigned t = 0; t < nt; t++)
        if (sl[t].failed)
            return sl[t].failed > 0 ? PH_EIO : PH_EINVAL;
    if (with_keys && nbuckets > SPLIT_DIRECT_MAX)
        return split_two_steps(sl, nt, s, nbuckets);
    /* Bucket b: thread 0's keys first, then thread 1's, ... */
    uint64_t next = 0;
    for (uint32_t b = 0; b < nbuckets; b++) {
        s->start[b] = next;
        for (unsigned t = 0; t < nt; t++) {
            uint64_t c = sl[t].at[b];
            sl[t].at[b] = next;
            next += c;
        }
    }
    s->start[nbuckets] = next;
    if (sl[0].fd >= 0 && next != (uint64_t)sl[nt - 1].hi)
        return PH_EINVAL; /* cannot happen: every key was counted */
    if (sl[0].fd >= 0)
        memcpy(at0, sl[0].at, (size_t)nt * nbuckets * sizeof *at0);
    for (unsigned t = 0; sl[0].fd >= 0 && t + 1 < nt; t++)
        sl[t].next_first = at0 + (size_t)(t + 1) * nbuckets;
    for (unsigned t = 0; t < nt; t++)
        sl[t].scatter = 1;
    run_threads(nt, split_run, args);
    return sl[0].fd >= 0 ? split_filled(sl, nt, at0, nbuckets, s, nbuckets, 1) : PH_OK;
}

/* with_keys: also the keys themselves grouped (else s->keys stays NULL).
 * keys NULL: read from fd (each thread its slice, twice); a failure there
 * is PH_EIO (errno in *read_errno) or PH_EINVAL (the file ended early or
 * changed between the passes). */
static int split_keys(const void *keys, int fd, unsigned ksize, uint32_t n, uint64_t seed,
                      uint32_t nbuckets, unsigned threads, int with_keys, part_split *s,
                      int *read_errno)
{
    memset(s, 0, sizeof *s);
    unsigned nt = split_threads(threads, n, nbuckets);
    s->ksize = ksize;
    s->start = calloc((size_t)nbuckets + 1, sizeof *s->start);
    if (with_keys)
        s->keys = big_alloc((size_t)n * ksize, 0);
    s->pos = big_alloc((size_t)n * sizeof *s->pos, 0);
    uint64_t *at = calloc((size_t)nt * nbuckets * (fd >= 0 ? 2 : 1), sizeof *at);
    split_slice sl[SPLIT_MAX_THREADS];
    int rc = !s->start || (with_keys && !s->keys) || !s->pos || !at ? PH_ENOMEM : PH_OK;
    for (unsigned t = 0; t < nt; t++) {
        sl[t] = (split_slice){.keys = keys, .fd = keys ? -1 : fd, .ksize = ksize, .seed = seed,
                              .nbuckets = nbuckets, .s = s,
                              .lo = (uint32_t)((uint64_t)n * t / nt),
                              .hi = (uint32_t)((uint64_t)n * (t + 1) / nt),
                              .at = at ? at + (size_t)t * nbuckets : NULL};
        if (!keys)
            sl[t].buf = malloc((size_t)SPLIT_READ_KEYS * ksize);
        sl[t].bid = malloc((size_t)SPLIT_READ_KEYS * sizeof *sl[t].bid);
        if ((!keys && !sl[t].buf) || !sl[t].bid)
            rc = PH_ENOMEM;
    }
    if (!rc)
        rc = split_passes(sl, nt, s, nbuckets, with_keys, at + (size_t)nt * nbuckets);
    *read_errno = 0;
    for (unsigned t = 0; t < nt; t++) {
        if (sl[t].failed > 0)
            *read_errno = sl[t].failed;
        free(sl[t].buf);
        free(sl[t].bid);
    }
    free(at);
    if (rc)
        split_free(s);
    return rc;
}

/* ---- one bucket ---------------------------------------------------------- */

/* A vertex is one 64-bit word: its degree in the low half, the XOR of its
 * incident edges in the high half, so the graph build and the peel touch
 * one cache line per vertex instead of two.  The bucket's key hashes are
 * computed once per bucket (hk), not once per attempt. */
typedef struct part_graph {
    uint32_t cap_keys, cap_verts;
    uint32_t *ex;          /* per edge: u ^ v */
    uint32_t *pe, *pv;     /* peel order: edge and its free vertex */
    uint64_t *hk;          /* per edge: the key's table hash */
    uint64_t *sorted;      /* duplicate check */
    uint64_t *dx;          /* per vertex: degree | edge XOR << 32 */
    uint32_t *q;           /* per vertex: the peel's queue */
} part_graph;

#define DX_EDGE(e) ((uint64_t)(e) << 32)

static void graph_free(part_graph *g)
{
    free(g->hk);
    free(g->dx);
    free(g->q);
    memset(g, 0, sizeof *g);
}

static int graph_alloc(part_graph *g, uint32_t max_keys)
{
    memset(g, 0, sizeof *g);
    g->cap_keys = max_keys ? max_keys : 1;
    g->cap_verts = bucket_nverts(g->cap_keys);
    /* hk, sorted: 2 x 8 bytes per key; ex, pe, pv: 3 x 4 bytes. */
    g->hk = malloc((size_t)g->cap_keys * 28);
    g->dx = malloc((size_t)g->cap_verts * sizeof *g->dx);
    g->q = malloc((size_t)g->cap_verts * sizeof *g->q);
    if (!g->hk || !g->dx || !g->q) {
        graph_free(g);
        return PH_ENOMEM;
    }
    g->sorted = g->hk + g->cap_keys;
    g->ex = (uint32_t *)(void *)(g->sorted + g->cap_keys);
    g->pe = g->ex + g->cap_keys;
    g->pv = g->pe + g->cap_keys;
    return PH_OK;
}

/* The table hash of each of the bucket's keys, once for all its attempts. */
static void graph_hash(part_graph *g, const void *keys, unsigned ksize, uint32_t k,
                       uint64_t seed)
{
    for (uint32_t e = 0; e < k; e++)
        g->hk[e] = ph_part_mix(key_at(keys, ksize, e) ^ seed);
}

/* Edges of the hashed keys under bseed, then the peel; true when acyclic. */
static int graph_try(part_graph *g, uint32_t k, uint32_t bseed, uint32_t nv)
{
    uint64_t *restrict dx = g->dx;
    uint32_t *restrict ex = g->ex;
    memset(dx, 0, (size_t)nv * sizeof *dx);
    for (uint32_t e = 0; e < k; e++) {
        uint32_t u, v;
        ph_part_vertices(g->hk[e], bseed, nv, &u, &v);
        ex[e] = u ^ v;
        dx[u] = (dx[u] + 1) ^ DX_EDGE(e);
        dx[v] = (dx[v] + 1) ^ DX_EDGE(e);
    }
    /* The peel as a queue: every vertex of degree one, then each vertex
     * whose degree falls to one.  The pushes are branch-free, and
     * consecutive peels do not wait for each other as a chain would. */
    uint32_t *restrict pe = g->pe, *restrict pv = g->pv, *restrict q = g->q;
    uint32_t qn = 0, done = 0;
    for (uint32_t x = 0; x < nv; x++) {
        q[qn] = x;
        qn += (uint32_t)dx[x] == 1;
    }
    for (uint32_t i = 0; i < qn; i++) {
        uint32_t u = q[i];
        uint64_t d = dx[u];
        if ((uint32_t)d == 0) /* its last edge went with its other end */
            continue;
        uint32_t e = (uint32_t)(d >> 32);
        uint32_t w = ex[e] ^ u;
        pe[done] = e;
        pv[done] = u;
        done++;
        dx[u] = 0;
        uint64_t dw = (dx[w] - 1) ^ DX_EDGE(e);
        dx[w] = dw;
        q[qn] = w;
        qn += (uint32_t)dw == 1;
    }
    return done == k;
}

/* Reverse peel order: a[v] + a[w] == global position (mod n). */
static void graph_assign(const part_graph *g, const uint32_t *pos, uint32_t k, uint32_t n,
                         uint32_t *a)
{
    for (uint32_t i = k; i-- > 0;) {
        uint32_t e = g->pe[i], v = g->pv[i];
        uint32_t w = g->ex[e] ^ v;
        uint32_t target = pos[e];
        a[v] = a[w] <= target ? target - a[w] : (uint32_t)((uint64_t)target + n - a[w]);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* After repeated failures: a duplicate key?  Returns its value's two
 * global positions in *p1 < *p2. */
static int bucket_duplicate(part_graph *g, const void *keys, unsigned ksize,
                            const uint32_t *pos, uint32_t k, uint64_t *dup, uint32_t *p1,
                            uint32_t *p2)
{
    for (uint32_t i = 0; i < k; i++)
        g->sorted[i] = key_at(keys, ksize, i);
    qsort(g->sorted, k, sizeof *g->sorted, cmp_u64);
    for (uint32_t i = 1; i < k; i++) {
        if (g->sorted[i] != g->sorted[i - 1])
            continue;
        *dup = g->sorted[i];
        uint32_t found = 0;
        for (uint32_t j = 0; j < k && found < 2; j++)
            if (key_at(keys, ksize, j) == *dup)
                *(found++ ? p2 : p1) = pos[j];
        if (*p1 > *p2) {
            uint32_t t = *p1;
            *p1 = *p2;
            *p2 = t;
        }
        return 1;
    }
    return 0;
}

/* ---- the parallel solve ------------------------------------------------ */

typedef struct part_job {
    const part_split *split;
    ph_part_table *t;
    uint32_t max_attempts;
    const atomic_int *cancel;
    _Atomic uint32_t next;       /* next bucket to take */
    _Atomic int failed;          /* set by the first failure: others stop */
    _Atomic uint64_t attempts;
    _Atomic uint32_t max_bucket_attempts;
    _Atomic uint64_t verify_ns;  /* summed over threads */
    pthread_mutex_t lock;        /* guards rc and err */
    int rc;
    ph_err err;
} part_job;

static void job_fail(part_job *j, int rc, const ph_err *e)
{
    pthread_mutex_lock(&j->lock);
    if (!j->rc) {
        j->rc = rc;
        j->err = *e;
    }
    pthread_mutex_unlock(&j->lock);
    atomic_store(&j->failed, 1);
}

static void note_attempts(part_job *j, uint32_t a)
{
    atomic_fetch_add(&j->attempts, a);
    uint32_t cur = atomic_load(&j->max_bucket_attempts);
    while (a > cur && !atomic_compare_exchange_weak(&j->max_bucket_attempts, &cur, a))
        ;
}

/* Every key of the bucket through the lookup's arithmetic (ph_part_slots
 * on the bucket's entry), while the bucket's values are still in cache: the
 * split holds each position exactly once, so this checks Index(keys[i]) ==
 * i for every key of the set.  The bucket's end comes from its own vertex
 * count: the next entry may be written by another thread meanwhile. */
static int verify_bucket(part_job *j, uint32_t b, uint32_t nverts, const void *keys,
                         unsigned ksize, const uint32_t *pos, uint32_t k)
{
    const ph_part_table *t = j->t;
    uint64_t t0 = ph_time_ns();
    uint64_t entry = t->buckets[b], end = (entry & PH_PART_BASE_MASK) + nverts;
    for (uint32_t e = 0; e < k; e++) {
        uint64_t key = key_at(keys, ksize, e);
        uint64_t h = ph_part_mix(key ^ t->seed), su, sv;
        ph_part_slots(h, entry, end, &su, &sv);
        uint32_t got = ph_part_sum(t, su, sv);
        if (got != pos[e] || ph_part_bucket_of(h, t->nbuckets) != b) {
            ph_err err;
            char ks[24];
            ph_err_set(&err, PH_EVERIFY, "key %s at position %u maps to index %u",
                       key_str(key, ksize, ks), pos[e], got);
            job_fail(j, PH_EVERIFY, &err);
            return PH_EVERIFY;
        }
    }
    atomic_fetch_add(&j->verify_ns, ph_time_ns() - t0);
    return PH_OK;
}

static int solve_bucket(part_job *j, part_graph *g, uint32_t b)
{
    ph_part_table *t = j->t;
    uint64_t lo = j->split->start[b];
    uint32_t k = (uint32_t)(j->split->start[b + 1] - lo);
    const unsigned ks = j->split->ksize;
    const void *keys = (const char *)j->split->keys + lo * ks;
    const uint32_t *pos = j->split->pos + lo;
    uint64_t base = t->buckets[b] & PH_PART_BASE_MASK;
    uint32_t nverts = bucket_nverts(k);
    ph_err e;
    if (k == 0)
        return PH_OK;
    graph_hash(g, keys, ks, k, t->seed);
    for (uint32_t a = 0; a < j->max_attempts; a++) {
        uint32_t bseed = bucket_seed(t->seed, b, a);
        if (graph_try(g, k, bseed, nverts)) {
            t->buckets[b] = ph_part_entry(base, bseed);
            graph_assign(g, pos, k, t->nkeys, t->assigned + base);
            note_attempts(j, a + 1);
            return verify_bucket(j, b, nverts, keys, ks, pos, k);
        }
        uint64_t dup;
        uint32_t p1 = 0, p2 = 0;
        if (a + 1 == PART_DUP_CHECK_AT &&
            bucket_duplicate(g, keys, ks, pos, k, &dup, &p1, &p2)) {
            char kb[24];
            ph_err_set(&e, PH_EDUP, "duplicate key %s at positions %u and %u",
                       key_str(dup, ks, kb), p1, p2);
            job_fail(j, PH_EDUP, &e);
            return PH_EDUP;
        }
        if (atomic_load_explicit(&j->failed, memory_order_relaxed))
            return PH_OK;
    }
    ph_err_set(&e, PH_ESOLVE, "bucket %u of %u (%u keys): no acyclic graph in %u attempts", b,
               t->nbuckets, k, j->max_attempts);
    job_fail(j, PH_ESOLVE, &e);
    return PH_ESOLVE;
}

static void *part_worker(void *arg)
{
    part_job *j = arg;
    part_graph g;
    if (graph_alloc(&g, j->t->max_bucket_keys)) {
        ph_err e;
        ph_err_set(&e, PH_ENOMEM, "out of memory for a bucket graph of %u keys",
                   j->t->max_bucket_keys);
        job_fail(j, PH_ENOMEM, &e);
        return NULL;
    }
    for (;;) {
        if (atomic_load_explicit(&j->failed, memory_order_relaxed))
            break;
        if (j->cancel && atomic_load_explicit(j->cancel, memory_order_relaxed)) {
            ph_err e;
            ph_err_set(&e, PH_ETIMEOUT, "partitioned solve cancelled");
            job_fail(j, PH_ETIMEOUT, &e);
            break;
        }
        uint32_t b = atomic_fetch_add(&j->next, 1);
        if (b >= j->t->nbuckets || solve_bucket(j, &g, b))
            break;
    }
    graph_free(&g);
    return NULL;
}

static unsigned clamp_threads(unsigned t)
{
    return t == 0 ? 1 : t > PART_MAX_THREADS ? PART_MAX_THREADS : t;
}

/* Run fn(arg) on nt threads (the caller is one of them); fewer if threads
 * cannot be started, which is still correct. */
static void run_threads(unsigned nt, void *(*fn)(void *), void *const *args)
{
    pthread_t tid[PART_MAX_THREADS];
    unsigned started = 1;
    for (unsigned i = 1; i < nt; i++, started++)
        if (pthread_create(&tid[i], NULL, fn, args[i]))
            break;
    for (unsigned i = started; i < nt; i++)
        fn(args[i]);
    fn(args[0]);
    for (unsigned i = 1; i < started; i++)
        pthread_join(tid[i], NULL);
}

/* Big arrays ask for transparent huge pages: the split's scatter writes to
 * thousands of places at once and a lookup reads two random values, which
 * with 4 KiB pages also miss the TLB.  The advice goes on the 2 MiB pages
 * inside the block before anything touches them (a fresh block's pages are
 * faulted in on first write); calloc leaves a fresh mapping unwritten, the
 * kernel's zero pages being zero already. */
#define HUGE_PAGE ((size_t)2 << 20)

static void *big_alloc(size_t bytes, int zero)
{
    /* 64-byte aligned: the split writes whole lines of it (split_wc). */
    void *p = NULL;
    if (zero)
        p = calloc(1, bytes ? bytes : 1);
    else if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0)
        p = NULL;
#ifdef MADV_HUGEPAGE
    if (p && bytes >= 2 * HUGE_PAGE) {
        uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
        uintptr_t hi = ((uintptr_t)p + bytes) & ~(uintptr_t)(HUGE_PAGE - 1);
        if (hi > lo)
            (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE); /* advice: fine if refused */
    }
#endif
    return p;
}

static uint32_t *values_alloc(uint64_t count)
{
    return big_alloc((size_t)count * sizeof(uint32_t), 1);
}

/* Entries from the bucket sizes: bases are prefix sums of vertex counts
 * (seeds are added as buckets are solved); the last entry ends the last
 * bucket.  Even 2^32 keys in buckets of one need fewer than 2^36 vertices. */
static int table_layout(ph_part_table *t, const part_split *s)
{
    uint64_t base = 0;
    for (uint32_t b = 0; b < t->nbuckets; b++) {
        uint32_t k = (uint32_t)(s->start[b + 1] - s->start[b]);
        t->buckets[b] = base;
        base += bucket_nverts(k);
        if (k > t->max_bucket_keys)
            t->max_bucket_keys = k;
    }
    t->buckets[t->nbuckets] = base;
    t->nverts = base;
    if (base > PH_PART_BASE_MASK)
        return PH_ENOMEM;
    /* One spare zero value: a key outside the set that lands in an empty
     * bucket at the very end still reads inside the array. */
    t->assigned = values_alloc(base + 1);
    return t->assigned ? PH_OK : PH_ENOMEM;
}

static int part_solve_buckets(ph_part_table *t, const part_split *s, const ph_part_opts *o,
                              ph_err *err)
{
    part_job j = {.split = s, .t = t, .cancel = o->cancel,
                  .max_attempts = o->max_attempts ? o->max_attempts : PART_DEFAULT_ATTEMPTS};
    atomic_init(&j.next, 0);
    atomic_init(&j.failed, 0);
    atomic_init(&j.attempts, 0);
    atomic_init(&j.max_bucket_attempts, 0);
    atomic_init(&j.verify_ns, 0);
    pthread_mutex_init(&j.lock, NULL);
    unsigned nt = clamp_threads(o->threads);
    if (nt > t->nbuckets)
        nt = t->nbuckets;
    void *args[PART_MAX_THREADS];
    for (unsigned i = 0; i < nt; i++)
        args[i] = &j;
    run_threads(nt, part_worker, args);
    pthread_mutex_destroy(&j.lock);
    t->attempts = atomic_load(&j.attempts);
    t->max_bucket_attempts = atomic_load(&j.max_bucket_attempts);
    t->verify_us = atomic_load(&j.verify_ns) / 1000;
    if (j.rc)
        *err = j.err;
    return j.rc;
}

static int part_solve_any(const void *keys, unsigned ksize, uint32_t n, const ph_part_opts *o,
                          ph_part_table *out, ph_err *err)
{
    ph_part_opts defaults;
    if (!o) {
        ph_part_opts_init(&defaults);
        o = &defaults;
    }
    memset(out, 0, sizeof *out);
    if (!keys || n == 0)
        return ph_err_set(err, PH_EINVAL, "no keys to solve");
    uint64_t t0 = ph_time_us();
    uint32_t kpb = o->keys_per_bucket ? o->keys_per_bucket : PH_PART_DEFAULT_BUCKET;
    out->nkeys = n;
    out->key_size = ksize;
    out->nbuckets = ph_part_nbuckets(n, kpb);
    out->seed = ph_part_table_seed(o->seed);
    part_split s;
    int read_errno;
    out->buckets = calloc((size_t)out->nbuckets + 1, sizeof *out->buckets);
    if (!out->buckets ||
        split_keys(keys, -1, ksize, n, out->seed, out->nbuckets, o->threads, 1, &s,
                   &read_errno)) {
        ph_part_free(out);
        return ph_err_set(err, PH_ENOMEM, "out of memory splitting %u keys into %u buckets", n,
                          out->nbuckets);
    }
    out->split_us = ph_time_us() - t0;
    if (o->split_done) /* the caller may free keys[] now, before the values exist */
        o->split_done(o->split_ctx);
    uint64_t t1 = ph_time_us();
    int rc = table_layout(out, &s);
    out->layout_us = ph_time_us() - t1;
    if (rc)
        rc = ph_err_set(err, PH_ENOMEM, "out of memory for %llu vertex values",
                        (unsigned long long)out->nverts);
    else
        rc = part_solve_buckets(out, &s, o, err);
    split_free(&s);
    out->solve_us = ph_time_us() - t0;
    if (rc)
        ph_part_free(out);
    return rc;
}

int ph_part_solve(const uint32_t *keys, uint32_t n, const ph_part_opts *o, ph_part_table *out,
                  ph_err *err)
{
    return part_solve_any(keys, 4, n, o, out, err);
}

int ph_part_solve64(const uint64_t *keys, uint32_t n, const ph_part_opts *o,
                    ph_part_table *out, ph_err *err)
{
    return part_solve_any(keys, 8, n, o, out, err);
}

/* ---- group by group ------------------------------------------------------ */

uint64_t ph_part_table_seed(uint64_t seed)
{
    return splitmix64(seed ^ 0x7061727469746e73ull);
}

uint32_t ph_part_nbuckets(uint64_t n, uint32_t keys_per_bucket)
{
    uint32_t kpb = keys_per_bucket ? keys_per_bucket : PH_PART_DEFAULT_BUCKET;
    uint64_t b = (n + kpb - 1) / kpb;
    return b == 0 ? 1 : (uint32_t)b;
}

uint32_t ph_part_bucket_nverts(uint32_t k) { return bucket_nverts(k); }

/* The keys file fd (len bytes when opened) changed while it was split. */
static int split_changed(int fd, const char *path, uint64_t len, ph_err *err)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < len)
        return ph_err_set(err, PH_EINVAL, "%s: changed while being read (shrank to %lld of its "
                          "%llu bytes); nothing written", path, (long long)st.st_size,
                          (unsigned long long)len);
    return ph_err_set(err, PH_EINVAL, "%s: changed while being read (its keys differ between "
                      "two reads); nothing written", path);
}

/* The split of keys, or (keys NULL) of the keys file fd (path in errors). */
static int split_positions(const void *keys, int fd, const char *path, unsigned key_size,
                           uint32_t n, uint64_t table_seed, uint32_t nbuckets, unsigned threads,
                           uint64_t **start, void **gkeys, uint32_t **pos, ph_err *err)
{
    part_split s;
    unsigned ks = key_size == 8 ? 8 : 4;
    int read_errno;
    *start = NULL;
    *pos = NULL;
    if (gkeys)
        *gkeys = NULL;
    int rc = split_keys(keys, fd, ks, n, table_seed, nbuckets, threads, gkeys != NULL, &s,
                        &read_errno);
    if (rc == PH_EIO)
        return ph_err_set(err, PH_EIO, "%s: read failed: %s", path, strerror(read_errno));
    if (rc == PH_EINVAL)
        return split_changed(fd, path, (uint64_t)n * ks, err);
    if (rc)
        return ph_err_set(err, PH_ENOMEM, "out of memory splitting %u keys into %u buckets", n,
                          nbuckets);
    *start = s.start;
    *pos = s.pos;
    if (gkeys)
        *gkeys = s.keys;
    return PH_OK;
}

int ph_part_split_positions_sized(const void *keys, unsigned key_size, uint32_t n,
                                  uint64_t table_seed, uint32_t nbuckets, unsigned threads,
                                  uint64_t **start, void **gkeys, uint32_t **pos, ph_err *err)
{
    return split_positions(keys, -1, "", key_size, n, table_seed, nbuckets, threads, start,
                           gkeys, pos, err);
}

int ph_part_split_fd(int fd, const char *path, unsigned key_size, uint32_t n,
                     uint64_t table_seed, uint32_t nbuckets, unsigned threads, uint64_t **start,
                     void **gkeys, uint32_t **pos, ph_err *err)
{
    return split_positions(NULL, fd, path, key_size, n, table_seed, nbuckets, threads, start,
                           gkeys, pos, err);
}

int ph_part_split_positions(const uint32_t *keys, uint32_t n, uint64_t table_seed,
                            uint32_t nbuckets, unsigned threads, uint64_t **start,
                            uint32_t **gkeys, uint32_t **pos, ph_err *err)
{
    void *gk = NULL;
    int rc = ph_part_split_positions_sized(keys, 4, n, table_seed, nbuckets, threads, start,
                                           gkeys ? &gk : NULL, pos, err);
    if (gkeys)
        *gkeys = gk;
    return rc;
}

uint64_t ph_part_group_nverts(const ph_part_group *g)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < g->ngroup; i++)
        v += bucket_nverts(g->counts[i]);
    return v;
}

static unsigned group_ksize(const ph_part_group *g)
{
    return g->key_size == 8 ? 8 : 4;
}

/* Index of key through one bucket's seed and values (vals: its own). */
static uint32_t group_index(const ph_part_group *g, uint64_t h, uint32_t seed, uint32_t nv,
                            const uint32_t *vals)
{
    uint32_t u, v;
    ph_part_vertices(h, seed, nv, &u, &v);
    uint64_t s = (uint64_t)vals[u] + vals[v];
    return (uint32_t)(s >= g->nkeys ? s - g->nkeys : s);
}

/* Every key of bucket lo+i lies in it, and its position is in range. */
static int group_bucket_check(const ph_part_group *g, uint32_t i, const void *keys,
                              const uint32_t *pos, uint32_t k, ph_err *err)
{
    uint32_t b = g->bucket_lo + i;
    const unsigned ks = group_ksize(g);
    char kb[24];
    for (uint32_t e = 0; e < k; e++) {
        uint64_t key = key_at(keys, ks, e);
        if (pos[e] >= g->nkeys)
            return ph_err_set(err, PH_EINVAL, "bucket %u: position %u of key %s is not "
                              "below the table's %u keys", b, pos[e], key_str(key, ks, kb),
                              g->nkeys);
        if (ph_part_bucket_of(ph_part_mix(key ^ g->table_seed), g->nbuckets) != b)
            return ph_err_set(err, PH_EINVAL, "key %s at position %u does not belong to "
                              "bucket %u", key_str(key, ks, kb), pos[e], b);
    }
    return PH_OK;
}

static int group_one(const ph_part_group *g, part_graph *gr, uint32_t i, const void *keys,
                     const uint32_t *pos, uint32_t *seed, uint32_t *vals, uint32_t *tries,
                     ph_err *err)
{
    uint32_t k = g->counts[i], b = g->bucket_lo + i, nv = bucket_nverts(k);
    uint32_t max = g->max_attempts ? g->max_attempts : PART_DEFAULT_ATTEMPTS;
    const unsigned ks = group_ksize(g);
    char kb[24];
    *seed = 0;
    *tries = 0;
    if (k == 0)
        return PH_OK;
    int rc = group_bucket_check(g, i, keys, pos, k, err);
    if (!rc)
        graph_hash(gr, keys, ks, k, g->table_seed);
    for (uint32_t a = 0; !rc && a < max; a++) {
        if (g->cancel && atomic_load_explicit(g->cancel, memory_order_relaxed))
            return ph_err_set(err, PH_ETIMEOUT, "partitioned solve cancelled");
        if (g->progress)
            atomic_fetch_add_explicit(g->progress, 1, memory_order_relaxed);
        uint32_t bseed = bucket_seed(g->table_seed, b, a);
        if (graph_try(gr, k, bseed, nv)) {
            *seed = bseed;
            *tries = a + 1;
            memset(vals, 0, (size_t)nv * sizeof *vals); /* roots and lone vertices: 0 */
            graph_assign(gr, pos, k, g->nkeys, vals);
            for (uint32_t e = 0; e < k; e++) {
                uint64_t key = key_at(keys, ks, e);
                uint32_t got = group_index(g, ph_part_mix(key ^ g->table_seed), bseed, nv,
                                           vals);
                if (got != pos[e])
                    return ph_err_set(err, PH_EVERIFY, "key %s at position %u maps to "
                                      "index %u", key_str(key, ks, kb), pos[e], got);
            }
            return PH_OK;
        }
        uint64_t dup;
        uint32_t p1 = 0, p2 = 0;
        if (a + 1 == PART_DUP_CHECK_AT &&
            bucket_duplicate(gr, keys, ks, pos, k, &dup, &p1, &p2))
            return ph_err_set(err, PH_EDUP, "duplicate key %s at positions %u and %u",
                              key_str(dup, ks, kb), p1, p2);
    }
    if (rc)
        return rc;
    return ph_err_set(err, PH_ESOLVE, "bucket %u of %u (%u keys): no acyclic graph in %u "
                      "attempts", b, g->nbuckets, k, max);
}

int ph_part_solve_group(const ph_part_group *g, uint32_t *seeds, uint32_t *values,
                        uint64_t *attempts, uint32_t *max_attempts, ph_err *err)
{
    uint32_t kmax = 0;
    const unsigned ks = group_ksize(g);
    for (uint32_t i = 0; i < g->ngroup; i++)
        kmax = g->counts[i] > kmax ? g->counts[i] : kmax;
    part_graph gr;
    if (graph_alloc(&gr, kmax))
        return ph_err_set(err, PH_ENOMEM, "out of memory for a bucket graph of %u keys", kmax);
    uint64_t at = 0, vbase = 0;
    int rc = PH_OK;
    *attempts = 0;
    *max_attempts = 0;
    for (uint32_t i = 0; i < g->ngroup && !rc; i++) {
        uint32_t tries = 0;
        rc = group_one(g, &gr, i, (const char *)g->keys + at * ks, g->pos + at, &seeds[i],
                       values + vbase, &tries, err);
        *attempts += tries;
        if (tries > *max_attempts)
            *max_attempts = tries;
        at += g->counts[i];
        vbase += bucket_nverts(g->counts[i]);
    }
    graph_free(&gr);
    return rc;
}

/* A little-endian uint32 at any address (values straight from a frame). */
static uint32_t le32_any(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The check 8 keys at a time (AVX-512: see the helpers at the top); the
 * scalar loop stays the reference: a bucket the vector path does not pass
 * is checked again by it, which names the first bad key. */
#ifdef PART_CHECK_AVX512
/* One bucket's k keys (keys of ks bytes, their positions pos) through its
 * seed and nv values at vals: true when each lies in bucket b and maps to
 * its position (ph_part_mix, ph_part_bucket_of, ph_part_vertices). */
PART_AVX512 static bool bucket_ok_avx512(const ph_part_group *g, const void *keys,
                                         const uint32_t *pos, uint32_t k, uint32_t b,
                                         uint32_t seed, uint32_t nv, const void *vals)
{
    const unsigned ks = g->key_size == 8 ? 8 : 4;
    const __m512i c = _mm512_set1_epi64((long long)0xd6e8feb86659fd93ull);
    const __m512i tseed = _mm512_set1_epi64((long long)g->table_seed);
    const __m512i sadd = _mm512_set1_epi64((long long)((uint64_t)seed * 0x9e3779b97f4a7c15ull));
    const __m512i nb = _mm512_set1_epi64(g->nbuckets), bv = _mm512_set1_epi64(b);
    const __m512i half = _mm512_set1_epi64(nv / 2), rest = _mm512_set1_epi64(nv - nv / 2);
    const __m512i nkeys = _mm512_set1_epi64(g->nkeys);
    for (uint32_t i = 0; i < k; i += 8) {
        __mmask8 m = k - i >= 8 ? 0xff : (__mmask8)((1u << (k - i)) - 1);
        __m512i key = ks == 8 ? _mm512_maskz_loadu_epi64(m, (const uint64_t *)keys + i)
                              : _mm512_cvtepu32_epi64(
                                    _mm256_maskz_loadu_epi32(m, (const uint32_t *)keys + i));
        __m512i h = mix8(_mm512_xor_si512(key, tseed), c);
        __m512i bk = _mm512_srli_epi64(_mm512_mul_epu32(_mm512_srli_epi64(h, 32), nb), 32);
        if (_mm512_mask_cmpneq_epi64_mask(m, bk, bv))
            return false;
        __m512i gh = mix8(_mm512_add_epi64(h, sadd), c);
        __m512i u = _mm512_srli_epi64(_mm512_mul_epu32(_mm512_srli_epi64(gh, 32), half), 32);
        __m512i v = _mm512_add_epi64(half, _mm512_srli_epi64(_mm512_mul_epu32(gh, rest), 32));
        __m256i zero = _mm256_setzero_si256();
        __m256i a = _mm512_mask_i64gather_epi32(zero, m, u, vals, 4);
        __m256i d = _mm512_mask_i64gather_epi32(zero, m, v, vals, 4);
        __m512i sum = _mm512_add_epi64(_mm512_cvtepu32_epi64(a), _mm512_cvtepu32_epi64(d));
        sum = _mm512_mask_sub_epi64(sum, _mm512_cmpge_epu64_mask(sum, nkeys), sum, nkeys);
        __m256i got = _mm512_cvtepi64_epi32(sum); /* the low halves, as the scalar check */
        if (_mm256_mask_cmpneq_epi32_mask(m, got, _mm256_maskz_loadu_epi32(m, pos + i)))
            return false;
    }
    return true;
}
#endif

int ph_part_check_group(const ph_part_group *g, const void *seeds, const void *values,
                        ph_err *err)
{
#ifdef PART_CHECK_AVX512
    const bool vec = ph_simd_avx512();
#endif
    const unsigned char *sb = seeds, *vb = values;
    const unsigned ks = group_ksize(g);
    uint64_t at = 0, vbase = 0;
    char kb[24];
    for (uint32_t i = 0; i < g->ngroup; i++) {
        uint32_t k = g->counts[i], b = g->bucket_lo + i, nv = bucket_nverts(k);
        uint32_t seed = le32_any(sb + 4 * (size_t)i);
        /* The next bucket's values are read in random order: asked for
         * now, line by line, they are in cache by then (10M keys: 8 -> 6
         * ns a key, bench_part_coord). */
        if (i + 1 < g->ngroup)
            for (uint64_t o = 0, e = 4 * (uint64_t)bucket_nverts(g->counts[i + 1]); o < e;
                 o += 64)
                __builtin_prefetch(vb + 4 * (vbase + nv) + o);
        if (seed > PH_PART_SEED_MASK) /* a bucket entry keeps 28 bits of it */
            return ph_err_set(err, PH_EVERIFY, "bucket %u: seed 0x%08x has more than 28 bits",
                              b, seed);
#ifdef PART_CHECK_AVX512
        if (vec && bucket_ok_avx512(g, (const char *)g->keys + at * ks, g->pos + at, k, b, seed,
                                    nv, vb + 4 * vbase)) {
            at += k;
            vbase += nv;
            continue;
        }
#endif
        for (uint32_t e = 0; e < k; e++) {
            uint64_t key = key_at(g->keys, ks, at + e);
            uint32_t p = g->pos[at + e], got = UINT32_MAX;
            uint64_t h = ph_part_mix(key ^ g->table_seed);
            if (ph_part_bucket_of(h, g->nbuckets) == b) {
                uint32_t u, v;
                ph_part_vertices(h, seed, nv, &u, &v);
                uint64_t sum = (uint64_t)le32_any(vb + 4 * (vbase + u)) +
                               le32_any(vb + 4 * (vbase + v));
                got = (uint32_t)(sum >= g->nkeys ? sum - g->nkeys : sum);
            }
            if (got != p)
                return ph_err_set(err, PH_EVERIFY, "key %s at position %u maps to index "
                                  "%u", key_str(key, ks, kb), p, got);
        }
        at += k;
        vbase += nv;
    }
    return PH_OK;
}

/* ---- lookup -------------------------------------------------------------- */

/* Keys per group of ph_part_index_batch: enough reads in flight to cover a
 * memory access (two value reads per key) with few groups' ends, where the
 * reads in flight run out; of the 512 prefetched lines (32 KB) most are
 * still in L1 when read, the rest in L2.  100M keys: 39-40 ns a key against 45-46 with groups of 32
 * (medians, docs/BENCHMARKS.md). */
#define PART_BATCH 256u

void ph_part_index_batch(const ph_part_table *t, const uint32_t *keys, size_t n, uint32_t *out)
{
    uint64_t h[PART_BATCH], su[PART_BATCH], sv[PART_BATCH];
    for (size_t i = 0; i < n; i += PART_BATCH) {
        uint32_t m = n - i < PART_BATCH ? (uint32_t)(n - i) : PART_BATCH;
        for (uint32_t j = 0; j < m; j++) {
            h[j] = ph_part_mix(keys[i + j] ^ t->seed);
            __builtin_prefetch(&t->buckets[ph_part_bucket_of(h[j], t->nbuckets)]);
        }
        for (uint32_t j = 0; j < m; j++) {
            const uint64_t *e = &t->buckets[ph_part_bucket_of(h[j], t->nbuckets)];
            ph_part_slots(h[j], e[0], e[1] & PH_PART_BASE_MASK, &su[j], &sv[j]);
            __builtin_prefetch(&t->assigned[su[j]]);
            __builtin_prefetch(&t->assigned[sv[j]]);
        }
        for (uint32_t j = 0; j < m; j++)
            out[i + j] = ph_part_sum(t, su[j], sv[j]);
    }
}

/* ---- verify ------------------------------------------------------------- */

typedef struct verify_slice {
    const ph_part_table *t;
    const void *keys;
    unsigned ksize;
    uint32_t lo, hi;
    uint32_t bad;                /* first bad position, or hi */
} verify_slice;

static void *verify_run(void *arg)
{
    verify_slice *s = arg;
    s->bad = s->hi;
    for (uint32_t i = s->lo; i < s->hi; i++)
        if (ph_part_index64(s->t, key_at(s->keys, s->ksize, i)) != i) {
            s->bad = i;
            break;
        }
    return NULL;
}

static int part_verify_any(const ph_part_table *t, const void *keys, unsigned ksize, uint32_t n,
                           unsigned threads, ph_err *err)
{
    if (!t->assigned || !t->buckets || t->nkeys != n)
        return ph_err_set(err, PH_EVERIFY, "table is for %u keys, not %u", t->nkeys, n);
    unsigned nt = clamp_threads(threads);
    verify_slice sl[PART_MAX_THREADS];
    void *args[PART_MAX_THREADS];
    for (unsigned i = 0; i < nt; i++) {
        sl[i] = (verify_slice){.t = t, .keys = keys, .ksize = ksize,
                               .lo = (uint32_t)((uint64_t)n * i / nt),
                               .hi = (uint32_t)((uint64_t)n * (i + 1) / nt)};
        args[i] = &sl[i];
    }
    run_threads(nt, verify_run, args);
    for (unsigned i = 0; i < nt; i++)
        if (sl[i].bad != sl[i].hi) {
            uint64_t k = key_at(keys, ksize, sl[i].bad);
            char kb[24];
            return ph_err_set(err, PH_EVERIFY, "key %s at position %u maps to index %u",
                              key_str(k, ksize, kb), sl[i].bad, ph_part_index64(t, k));
        }
    return PH_OK;
}

int ph_part_verify(const ph_part_table *t, const uint32_t *keys, uint32_t n, unsigned threads,
                   ph_err *err)
{
    return part_verify_any(t, keys, 4, n, threads, err);
}

int ph_part_verify64(const ph_part_table *t, const uint64_t *keys, uint32_t n, unsigned threads,
                     ph_err *err)
{
    return part_verify_any(t, keys, 8, n, threads, err);
}

uint64_t ph_part_bytes(const ph_part_table *t)
{
    return ((uint64_t)t->nbuckets + 1) * sizeof *t->buckets + t->nverts * sizeof *t->assigned;
}

void ph_part_free(ph_part_table *t)
{
    if (!t)
        return;
    free(t->buckets);
    free(t->assigned);
    t->buckets = NULL;
    t->assigned = NULL;
}
