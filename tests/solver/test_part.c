/* test_part.c - partitioned tables (ph_part.h) as a black box.
 *
 * Every table is checked independently of ph_part_verify: the bucket and
 * vertices of each key are recomputed from the hashing in ph_part.h, the
 * vertices must lie inside the key's bucket, and the sum of the two values
 * must give the key's global position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen_keys.h"
#include "ph_keys_map.h"
#include "ph_image.h"
#include "ph_part.h"
#include "test_util.h"

/* Independent check of the whole table; returns the number of bad keys. */
static uint32_t check_table(const ph_part_table *t, const uint32_t *keys, uint32_t n)
{
    uint32_t bad = 0;
    uint64_t base = 0;
    for (uint32_t b = 0; b < t->nbuckets; b++) {
        assert_int_equal(ph_part_base(t, b), base); /* buckets tile the array */
        base += ph_part_nverts(t, b);
    }
    assert_int_equal(base, t->nverts);
    assert_int_equal(t->buckets[t->nbuckets], t->nverts); /* the end entry, no seed */
    for (uint64_t x = 0; x < t->nverts; x++)
        assert_true(t->assigned[x] < n);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t h = ph_part_mix(keys[i] ^ t->seed);
        uint32_t b = ph_part_bucket_of(h, t->nbuckets);
        assert_true(b < t->nbuckets);
        uint32_t nverts = ph_part_nverts(t, b);
        assert_true(nverts >= 3);
        uint32_t u, v;
        ph_part_vertices(h, ph_part_seed_of(t, b), nverts, &u, &v);
        assert_true(u < nverts / 2);
        assert_true(v >= nverts / 2 && v < nverts);
        uint64_t s = (uint64_t)t->assigned[ph_part_base(t, b) + u] +
                     t->assigned[ph_part_base(t, b) + v];
        if (s % n != i)
            bad++;
        if (ph_part_index(t, keys[i]) != i)
            bad++;
    }
    /* The batch lookup gives the same indexes, also for a count that is not
     * a multiple of its group size. */
    uint32_t *out = malloc((size_t)n * sizeof *out);
    assert_non_null(out);
    memset(out, 0xff, (size_t)n * sizeof *out);
    ph_part_index_batch(t, keys, n, out);
    for (uint32_t i = 0; i < n; i++)
        bad += out[i] != i;
    if (n > 5) {
        memset(out, 0xff, (size_t)n * sizeof *out);
        ph_part_index_batch(t, keys + 3, n - 5, out);
        for (uint32_t i = 0; i < n - 5; i++)
            bad += out[i] != i + 3;
        assert_int_equal(out[n - 5], UINT32_MAX); /* nothing written past n */
    }
    free(out);
    return bad;
}

static void solve_ok(const uint32_t *keys, uint32_t n, uint32_t kpb, unsigned threads,
                     ph_part_table *t)
{
    ph_part_opts o;
    ph_part_opts_init(&o);
    o.keys_per_bucket = kpb;
    o.threads = threads;
    o.seed = 42;
    ph_err err = {0};
    int rc = ph_part_solve(keys, n, &o, t, &err);
    if (rc)
        fail_msg("ph_part_solve(%u keys, %u per bucket): %s", n, kpb, err.msg);
    assert_int_equal(t->nkeys, n);
    assert_int_equal(t->nbuckets, (n + (uint64_t)kpb - 1) / kpb);
    assert_int_equal(check_table(t, keys, n), 0);
}

static void test_parse(void **state)
{
    (void)state;
    uint32_t v = 7;
    assert_int_equal(ph_part_parse("auto", &v), 0);
    assert_int_equal(v, PH_PART_AUTO);
    assert_int_equal(ph_part_parse("off", &v), 0);
    assert_int_equal(v, PH_PART_OFF);
    assert_int_equal(ph_part_parse("65536", &v), 0);
    assert_int_equal(v, 65536);
    const char *bad[] = {"", "0", "-5", "12x", "on", "4294967295", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ph_part_parse(bad[i], &v), -1);
    assert_int_equal(ph_part_choose(PH_PART_AUTO, PH_PART_AUTO_MIN_KEYS - 1), PH_PART_OFF);
    assert_int_equal(ph_part_choose(PH_PART_AUTO, PH_PART_AUTO_MIN_KEYS), PH_PART_DEFAULT_BUCKET);
    assert_int_equal(ph_part_choose(PH_PART_OFF, 1u << 30), PH_PART_OFF);
    assert_int_equal(ph_part_choose(100, 5), 100);
}

/* Shuffled keys: positions are not correlated with key order, so a table
 * that kept local instead of global positions would fail. */
static void test_global_positions(void **state)
{
    (void)state;
    uint32_t n = 200000;
    uint32_t *keys = gen_keys(GEN_SHUFFLED, n, 11);
    assert_non_null(keys);
    ph_part_table t;
    solve_ok(keys, n, 1024, 2, &t);
    assert_true(t.nbuckets > 100);
    ph_err err = {0};
    assert_int_equal(ph_part_verify(&t, keys, n, 2, &err), PH_OK);
    uint32_t k = keys[7]; /* two keys swapped: the table no longer matches */
    keys[7] = keys[n - 3];
    keys[n - 3] = k;
    assert_int_equal(ph_part_verify(&t, keys, n, 2, &err), PH_EVERIFY);
    assert_non_null(strstr(err.msg, "position 7 "));
    ph_part_free(&t);
    free(keys);
}

/* Key counts at and around a multiple of the bucket size; structured keys. */
static void test_bucket_boundaries(void **state)
{
    (void)state;
    const uint32_t kpb = 512;
    const uint32_t sizes[] = {kpb - 1, kpb, kpb + 1, 7 * kpb, 7 * kpb + 1};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int kind = 0; kind < GEN_KIND_COUNT; kind++) {
            uint32_t *keys = gen_keys((gen_kind)kind, sizes[s], 3 + s);
            assert_non_null(keys);
            ph_part_table t;
            solve_ok(keys, sizes[s], kpb, 1, &t);
            ph_part_free(&t);
            free(keys);
        }
}

/* One key per bucket on average: about a third of the buckets are empty,
 * many hold a single key; and sets of one and two keys. */
static void test_empty_and_tiny_buckets(void **state)
{
    (void)state;
    uint32_t n = 5000;
    uint32_t *keys = gen_keys(GEN_RANDOM, n, 5);
    ph_part_table t;
    solve_ok(keys, n, 1, 2, &t);
    uint32_t empty = 0, single = 0;
    for (uint32_t b = 0; b < t.nbuckets; b++) {
        empty += ph_part_nverts(&t, b) == 0;
        single += ph_part_nverts(&t, b) == 3;
    }
    assert_true(empty > n / 5);
    assert_true(single > n / 5);
    ph_part_free(&t);
    for (uint32_t m = 1; m <= 3; m++) {
        solve_ok(keys, m, 4096, 1, &t);
        assert_int_equal(t.nbuckets, 1);
        ph_part_free(&t);
    }
    free(keys);
}

/* Buckets of a few keys are often cyclic: some bucket needs many attempts
 * and retries alone; with one attempt allowed the solve fails naming it. */
static void test_bucket_many_attempts(void **state)
{
    (void)state;
    uint32_t n = 60000;
    uint32_t *keys = gen_keys(GEN_CLUSTERED16, n, 9);
    ph_part_table t;
    solve_ok(keys, n, 6, 2, &t);
    assert_true(t.max_bucket_attempts >= 5);
    assert_true(t.attempts > t.nbuckets / 2);
    ph_part_free(&t);

    ph_part_opts o;
    ph_part_opts_init(&o);
    o.keys_per_bucket = 6;
    o.max_attempts = 1;
    ph_err err = {0};
    assert_int_equal(ph_part_solve(keys, n, &o, &t, &err), PH_ESOLVE);
    assert_non_null(strstr(err.msg, "bucket"));
    assert_null(t.assigned);
    free(keys);
}

static void test_duplicate(void **state)
{
    (void)state;
    uint32_t n = 30000;
    uint32_t *keys = gen_keys(GEN_SHUFFLED, n, 21);
    keys[25000] = keys[123];
    ph_part_opts o;
    ph_part_opts_init(&o);
    o.keys_per_bucket = 256;
    o.threads = 2;
    ph_part_table t;
    ph_err err = {0};
    assert_int_equal(ph_part_solve(keys, n, &o, &t, &err), PH_EDUP);
    assert_non_null(strstr(err.msg, "positions 123 and 25000"));
    free(keys);
}

/* The table depends on (keys, seed) only, never on the thread count. */
static void test_threads_same_table(void **state)
{
    (void)state;
    uint32_t n = 100000;
    uint32_t *keys = gen_keys(GEN_SHUFFLED, n, 77);
    ph_part_table a, b;
    solve_ok(keys, n, 2048, 1, &a);
    solve_ok(keys, n, 2048, 4, &b);
    assert_int_equal(a.nverts, b.nverts);
    assert_memory_equal(a.buckets, b.buckets, (a.nbuckets + 1) * sizeof *a.buckets);
    assert_memory_equal(a.assigned, b.assigned, a.nverts * sizeof *a.assigned);
    ph_part_free(&a);
    ph_part_free(&b);
    free(keys);
}

/* Group by group (the cluster's way): split into positions, solve groups
 * of 7 buckets, check each group: the same seeds and values as the whole
 * solve; a tampered value and a key in the wrong bucket are caught. */
static void test_groups_same_table(void **state)
{
    (void)state;
    const uint32_t n = 60000, kpb = 500, per = 7;
    uint32_t *keys = gen_keys(GEN_SHUFFLED, n, 31);
    ph_part_opts o;
    ph_part_opts_init(&o);
    o.keys_per_bucket = kpb;
    o.seed = 5;
    ph_part_table t;
    ph_err err = {0};
    assert_int_equal(ph_part_solve(keys, n, &o, &t, &err), 0);
    uint64_t tseed = ph_part_table_seed(5), *start = NULL;
    uint32_t nb = ph_part_nbuckets(n, kpb), *pos = NULL;
    assert_int_equal(nb, t.nbuckets);
    assert_int_equal(tseed, t.seed);
    uint32_t *gk = NULL;
    assert_int_equal(ph_part_split_positions(keys, n, tseed, nb, 2, &start, &gk, &pos, &err), 0);
    uint32_t *counts = malloc((size_t)nb * 4);
    uint32_t *seeds = malloc((size_t)nb * 4), *vals = malloc((size_t)t.nverts * 4 + 4);
    for (uint64_t i = 0; i < n; i++)
        assert_int_equal(gk[i], keys[pos[i]]);
    for (uint32_t b = 0; b < nb; b++)
        counts[b] = (uint32_t)(start[b + 1] - start[b]);
    for (uint32_t lo = 0; lo < nb; lo += per) {
        ph_part_group g = {.table_seed = tseed, .nkeys = n, .nbuckets = nb, .bucket_lo = lo,
                           .ngroup = lo + per <= nb ? per : nb - lo, .counts = counts + lo,
                           .keys = gk + start[lo], .pos = pos + start[lo]};
        uint64_t att;
        uint32_t maxa;
        uint64_t base = ph_part_base(&t, lo);
        assert_int_equal(ph_part_solve_group(&g, seeds + lo, vals + base, &att, &maxa, &err),
                         0);
        assert_true(att >= 1);
        assert_int_equal(ph_part_check_group(&g, seeds + lo, vals + base, &err), 0);
        if (lo == 0) { /* one wrong value is caught */
            vals[base] ^= 1;
            int bad = ph_part_check_group(&g, seeds, vals + base, &err);
            vals[base] ^= 1;
            /* vertex 0 may belong to no key of the bucket; then a seed */
            if (!bad) {
                seeds[0] ^= 1;
                bad = ph_part_check_group(&g, seeds, vals + base, &err);
                seeds[0] ^= 1;
            }
            assert_int_equal(bad, PH_EVERIFY);
            /* A wrong position at any key of the first bucket (every lane
             * of a vector check and the bucket's tail) is caught and named. */
            for (uint32_t e = 0; e < counts[0]; e++) {
                char want[64];
                pos[e] ^= 1;
                snprintf(want, sizeof want, "at position %u maps to", pos[e]);
                assert_int_equal(ph_part_check_group(&g, seeds, vals + base, &err), PH_EVERIFY);
                assert_non_null(strstr(err.msg, want));
                pos[e] ^= 1;
            }
            seeds[0] |= 1u << 28; /* more than a bucket entry keeps */
            assert_int_equal(ph_part_check_group(&g, seeds, vals + base, &err), PH_EVERIFY);
            assert_non_null(strstr(err.msg, "28 bits"));
            seeds[0] &= ~(1u << 28);
        }
    }
    for (uint32_t b = 0; b < nb; b++)
        assert_int_equal(seeds[b], ph_part_seed_of(&t, b));
    assert_memory_equal(vals, t.assigned, (size_t)t.nverts * 4);
    /* a key handed in as part of the wrong bucket */
    ph_part_group g = {.table_seed = tseed, .nkeys = n, .nbuckets = nb, .bucket_lo = 1,
                       .ngroup = 1, .counts = counts, .keys = gk, .pos = pos};
    uint64_t att;
    uint32_t maxa;
    assert_int_equal(ph_part_solve_group(&g, seeds, vals, &att, &maxa, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "does not belong to bucket 1"));
    free(gk);
    free(counts);
    free(seeds);
    free(vals);
    free(start);
    free(pos);
    free(keys);
    ph_part_free(&t);
}

/* The split by bucket, one step (few buckets) and two (many, also mostly
 * empty ones), 4- and 8-byte keys, 1 and 3 threads: every position once,
 * each key in its bucket beside its position, positions ascending within
 * a bucket, the same arrays whatever the thread count. */
static void split_check(const void *keys, unsigned ks, uint32_t n, uint32_t nb, unsigned threads,
                        uint64_t **start_out, uint32_t **pos_out)
{
    uint64_t tseed = ph_part_table_seed(3), *start = NULL;
    uint32_t *pos = NULL;
    void *gk = NULL;
    ph_err err = {0};
    assert_int_equal(ph_part_split_positions_sized(keys, ks, n, tseed, nb, threads, &start, &gk,
                                                   &pos, &err), 0);
    assert_int_equal(start[0], 0);
    assert_int_equal(start[nb], n);
    uint8_t *seen = calloc(n, 1);
    assert_non_null(seen);
    for (uint32_t b = 0; b < nb; b++) {
        assert_true(start[b] <= start[b + 1]);
        for (uint64_t i = start[b]; i < start[b + 1]; i++) {
            assert_true(pos[i] < n);
            assert_false(seen[pos[i]]);
            seen[pos[i]] = 1;
            if (i > start[b])
                assert_true(pos[i - 1] < pos[i]);
            uint64_t k = ks == 8 ? ((const uint64_t *)keys)[pos[i]]
                                 : ((const uint32_t *)keys)[pos[i]];
            uint64_t g = ks == 8 ? ((const uint64_t *)gk)[i] : ((const uint32_t *)gk)[i];
            assert_true(g == k);
            assert_int_equal(ph_part_bucket_of(ph_part_mix(k ^ tseed), nb), b);
        }
    }
    free(seen);
    free(gk);
    *start_out = start;
    *pos_out = pos;
}

/* gen_keys_wide of keys, asserted allocated; the caller frees. */
static uint64_t *wide_keys(const uint32_t *keys, uint32_t n)
{
    uint64_t *w = gen_keys_wide(keys, n);
    assert_non_null(w);
    return w;
}

static void test_split_one_and_two_steps(void **state)
{
    (void)state;
    const uint32_t n = 200000;
    uint32_t *keys = gen_keys(GEN_SHUFFLED, n, 77);
    uint64_t *keys64 = wide_keys(keys, n);
    const uint32_t nbs[] = {1000, 20000, 150000}; /* one step, two, mostly tiny buckets */
    for (unsigned c = 0; c < 3; c++) {
        for (unsigned ks = 4; ks <= 8; ks += 4) {
            const void *kv = ks == 8 ? (const void *)keys64 : (const void *)keys;
            uint64_t *s1, *s3;
            uint32_t *p1, *p3;
            split_check(kv, ks, n, nbs[c], 1, &s1, &p1);
            split_check(kv, ks, n, nbs[c], 3, &s3, &p3);
            assert_memory_equal(s1, s3, ((size_t)nbs[c] + 1) * sizeof *s1);
            assert_memory_equal(p1, p3, (size_t)n * sizeof *p1);
            free(s1);
            free(s3);
            free(p1);
            free(p3);
        }
    }
    free(keys64);
    free(keys);
}

/* The split read from a keys file (ph_part_split_fd, 1 and 3 threads,
 * several reads a slice) gives the in-memory split's arrays, one step and
 * two; a file shorter than the keys asked for is "changed while being
 * read (shrank to ...)", an unreadable one a failed read. */
static void split_fd_same(const void *kv, unsigned ks, uint32_t n, uint32_t nb, int fd,
                          unsigned threads)
{
    uint64_t tseed = ph_part_table_seed(3), *s1 = NULL, *s2 = NULL;
    uint32_t *p1 = NULL, *p2 = NULL;
    void *g1 = NULL, *g2 = NULL;
    ph_err err = {0};
    assert_int_equal(ph_part_split_positions_sized(kv, ks, n, tseed, nb, threads, &s1, &g1, &p1,
                                                   &err), 0);
    assert_int_equal(ph_part_split_fd(fd, "k", ks, n, tseed, nb, threads, &s2, &g2, &p2, &err),
                     0);
    assert_memory_equal(s1, s2, ((size_t)nb + 1) * sizeof *s1);
    assert_memory_equal(p1, p2, (size_t)n * sizeof *p1);
    assert_memory_equal(g1, g2, (size_t)n * ks);
    free(s1);
    free(s2);
    free(p1);
    free(p2);
    free(g1);
    free(g2);
}

static void test_split_from_file(void **state)
{
    (void)state;
    const uint32_t n = 200000;
    uint32_t *keys = gen_keys(GEN_SHUFFLED, n, 78);
    uint64_t *keys64 = wide_keys(keys, n);
    char path[4200];
    tu_path(path, sizeof path, "split.keys");
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    const uint32_t nbs[] = {1000, 20000}; /* one step, two */
    for (unsigned ks = 4; ks <= 8; ks += 4) {
        const void *kv = ks == 8 ? (const void *)keys64 : (const void *)keys;
        assert_int_equal(ftruncate(fd, 0), 0);
        assert_int_equal(pwrite(fd, kv, (size_t)n * ks, 0), (ssize_t)((size_t)n * ks));
        for (unsigned c = 0; c < 2; c++) {
            split_fd_same(kv, ks, n, nbs[c], fd, 1);
            split_fd_same(kv, ks, n, nbs[c], fd, 3);
        }
    }
    uint64_t *start = NULL;
    uint32_t *pos = NULL;
    void *gk = NULL;
    ph_err err = {0};
    assert_int_equal(ph_part_split_fd(fd, path, 8, n + 5000, 1, 1000, 2, &start, &gk, &pos, &err),
                     PH_EINVAL);
    assert_non_null(strstr(err.msg, "changed while being read (shrank to 1600000 of its"));
    assert_null(start);
    assert_null(pos);
    assert_null(gk);
    close(fd);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ph_part_split_fd(fd, path, 4, n, 1, 1000, 2, &start, &gk, &pos, &err),
                     PH_EIO);
    assert_non_null(strstr(err.msg, "read failed"));
    close(fd);
    unlink(path);
    free(keys64);
    free(keys);
}

/* A keys file whose keys differ between the count and the scatter (here
 * /dev/urandom, which gives other keys at every read): every thread count,
 * one step and two, 4- and 8-byte keys, the split fails as a changed file
 * and nothing is returned; no slot is written out of bounds (ASan) or by
 * two threads (TSan). */
static void test_split_keys_move(void **state)
{
    (void)state;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        skip();
    const uint32_t n = 100000, nbs[] = {1000, 20000};
    for (unsigned ks = 4; ks <= 8; ks += 4)
        for (unsigned c = 0; c < 2; c++)
            for (unsigned threads = 1; threads <= 3; threads += 2) {
                uint64_t *start = NULL;
                uint32_t *pos = NULL;
                void *gk = NULL;
                ph_err err = {0};
                assert_int_equal(ph_part_split_fd(fd, "/dev/urandom", ks, n, 1, nbs[c], threads,
                                                  &start, &gk, &pos, &err),
                                 PH_EINVAL);
                assert_non_null(strstr(err.msg, "/dev/urandom: changed while being read"));
                assert_null(start);
                assert_null(pos);
                assert_null(gk);
            }
    close(fd);
}

/* The same group by group with 64-bit keys that differ only in their
 * high half: the groups give ph_part_solve64's table, and a tampered key
 * (one high bit) is caught by the check. */
static void test_groups_same_table64(void **state)
{
    (void)state;
    const uint32_t n = 40000, kpb = 400, per = 5;
    uint32_t *lo32 = gen_keys(GEN_SHUFFLED, n, 41);
    uint64_t *keys = malloc((size_t)n * 8);
    assert_non_null(keys);
    for (uint32_t i = 0; i < n; i++) /* pairs share the low half */
        keys[i] = (uint64_t)(i & 1) << 63 | (uint64_t)(lo32[i / 2 * 2] & 0xffffff) << 8 |
                  (uint64_t)(i / 2) << 32;
    ph_part_opts o;
    ph_part_opts_init(&o);
    o.keys_per_bucket = kpb;
    o.seed = 9;
    ph_part_table t;
    ph_err err = {0};
    assert_int_equal(ph_part_solve64(keys, n, &o, &t, &err), 0);
    uint64_t tseed = ph_part_table_seed(9), *start = NULL;
    uint32_t nb = ph_part_nbuckets(n, kpb), *pos = NULL;
    void *gkv = NULL;
    assert_int_equal(ph_part_split_positions_sized(keys, 8, n, tseed, nb, 2, &start, &gkv,
                                                   &pos, &err), 0);
    uint64_t *gk = gkv;
    uint32_t *counts = malloc((size_t)nb * 4);
    uint32_t *seeds = malloc((size_t)nb * 4), *vals = malloc((size_t)t.nverts * 4 + 4);
    for (uint64_t i = 0; i < n; i++)
        assert_true(gk[i] == keys[pos[i]]);
    for (uint32_t b = 0; b < nb; b++)
        counts[b] = (uint32_t)(start[b + 1] - start[b]);
    for (uint32_t lo = 0; lo < nb; lo += per) {
        ph_part_group g = {.table_seed = tseed, .nkeys = n, .nbuckets = nb, .bucket_lo = lo,
                           .ngroup = lo + per <= nb ? per : nb - lo, .counts = counts + lo,
                           .keys = gk + start[lo], .key_size = 8, .pos = pos + start[lo]};
        uint64_t att, base = ph_part_base(&t, lo);
        uint32_t maxa;
        assert_int_equal(ph_part_solve_group(&g, seeds + lo, vals + base, &att, &maxa, &err),
                         0);
        assert_int_equal(ph_part_check_group(&g, seeds + lo, vals + base, &err), 0);
        if (lo == 0) { /* the first key with its top bit flipped no longer checks */
            gk[0] ^= 1ull << 63;
            assert_int_equal(ph_part_check_group(&g, seeds, vals + base, &err), PH_EVERIFY);
            assert_non_null(strstr(err.msg, "0x"));
            gk[0] ^= 1ull << 63;
        }
    }
    for (uint32_t b = 0; b < nb; b++)
        assert_int_equal(seeds[b], ph_part_seed_of(&t, b));
    assert_memory_equal(vals, t.assigned, (size_t)t.nverts * 4);
    free(gk);
    free(counts);
    free(seeds);
    free(vals);
    free(start);
    free(pos);
    free(keys);
    free(lo32);
    ph_part_free(&t);
}

/* ph_image_write_fd with the vertex values and keys through read
 * functions (as the coordinator writes a table assembled in files) gives
 * the bytes ph_image_render gives from memory, with and without keys, for
 * 32- and 64-bit keys; a failing read is passed on. */
typedef struct img_src_mem {
    const uint32_t *verts;
    const void *keys;
    unsigned ks;
    int fail_at;     /* fail the read at this offset (-1: never) */
    unsigned reads;
} img_src_mem;

static int read_verts_mem(void *ctx, uint64_t off, void *buf, size_t len, ph_err *err)
{
    (void)err;
    img_src_mem *m = ctx;
    m->reads++;
    memcpy(buf, (const char *)m->verts + off, len);
    return PH_OK;
}

static int read_keys_mem(void *ctx, uint64_t off, void *buf, size_t len, ph_err *err)
{
    img_src_mem *m = ctx;
    m->reads++;
    if (m->fail_at >= 0 && off >= (uint64_t)m->fail_at)
        return ph_err_set(err, PH_EINVAL, "keys.bin: changed while being read");
    memcpy(buf, (const char *)m->keys + off, len);
    return PH_OK;
}

static void image_stream_case(const void *keys, unsigned ks, uint32_t n, int with_keys)
{
    ph_part_opts o;
    ph_part_opts_init(&o);
    o.keys_per_bucket = 300;
    ph_part_table t;
    ph_err err = {0};
    assert_int_equal(ks == 8 ? ph_part_solve64(keys, n, &o, &t, &err)
                             : ph_part_solve(keys, n, &o, &t, &err), 0);
    ph_image_src src = {.kind = PH_IMAGE_PART, .part = &t, .key_size = (uint8_t)ks,
                        .keys = with_keys ? keys : NULL};
    void *want;
    size_t want_len;
    assert_int_equal(ph_image_render(&src, &want, &want_len, &err), 0);
    ph_part_table bare = t;
    bare.assigned = NULL; /* the values only through the reader */
    img_src_mem m = {.verts = t.assigned, .keys = keys, .ks = ks, .fail_at = -1};
    ph_image_src s2 = {.kind = PH_IMAGE_PART, .part = &bare, .key_size = (uint8_t)ks,
                       .read_verts = read_verts_mem,
                       .read_keys = with_keys ? read_keys_mem : NULL, .read_ctx = &m};
    assert_int_equal(ph_image_size(&s2), want_len);
    void *no_buf;
    size_t no_len;
    assert_int_equal(ph_image_render(&s2, &no_buf, &no_len, &err), PH_EINVAL);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(ph_image_write_fd(&s2, fileno(f), "t.phc", &err), 0);
    assert_true(m.reads >= 1);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    assert_int_equal((size_t)ftell(f), want_len);
    rewind(f);
    char *got = malloc(want_len);
    assert_int_equal(fread(got, 1, want_len, f), want_len);
    assert_memory_equal(got, want, want_len);
    ph_image_view v;
    assert_int_equal(ph_image_parse(got, want_len, "t.phc", &v, &err), 0);
    assert_int_equal(v.nkeys, n);
    fclose(f);
    if (with_keys) { /* a reader's error comes back as it was */
        f = tmpfile();
        m.fail_at = 0;
        assert_int_equal(ph_image_write_fd(&s2, fileno(f), "t.phc", &err), PH_EINVAL);
        assert_non_null(strstr(err.msg, "changed while being read"));
        fclose(f);
    }
    free(got);
    free(want);
    ph_part_free(&t);
}

static void test_image_stream(void **state)
{
    (void)state;
    const uint32_t n = 30000;
    uint32_t *k32 = gen_keys(GEN_SHUFFLED, n, 77);
    uint64_t *k64 = malloc((size_t)n * 8);
    assert_non_null(k64);
    for (uint32_t i = 0; i < n; i++)
        k64[i] = (uint64_t)(i * 2654435761u) << 32 | k32[i]; /* distinct: k32's are */
    image_stream_case(k32, 4, n, 1);
    image_stream_case(k32, 4, n, 0);
    image_stream_case(k64, 8, n, 1);
    free(k64);
    free(k32);
}

static void test_cancel(void **state)
{
    (void)state;
    uint32_t n = 50000;
    uint32_t *keys = gen_keys(GEN_RANDOM, n, 1);
    atomic_int cancel;
    atomic_init(&cancel, 1);
    ph_part_opts o;
    ph_part_opts_init(&o);
    o.cancel = &cancel;
    ph_part_table t;
    ph_err err = {0};
    assert_int_equal(ph_part_solve(keys, n, &o, &t, &err), PH_ETIMEOUT);
    assert_null(t.buckets);
    free(keys);
}

/* split_done: called once, after which the caller's keys are not read
 * again: overwritten there, the table is still right for the originals. */
typedef struct split_seen {
    uint32_t *keys, n;
    int calls;
} split_seen;

static void scribble(void *ctx)
{
    split_seen *s = ctx;
    s->calls++;
    memset(s->keys, 0xa5, (size_t)s->n * sizeof *s->keys);
}

static void test_split_done(void **state)
{
    (void)state;
    uint32_t n = 200000;
    uint32_t *keys = gen_keys(GEN_RANDOM, n, 5);
    uint32_t *copy = malloc((size_t)n * sizeof *copy);
    assert_non_null(copy);
    memcpy(copy, keys, (size_t)n * sizeof *copy);
    split_seen seen = {.keys = keys, .n = n};
    ph_part_opts o;
    ph_part_opts_init(&o);
    o.keys_per_bucket = 1000;
    o.threads = 2;
    o.split_done = scribble;
    o.split_ctx = &seen;
    ph_part_table t;
    ph_err err = {0};
    assert_int_equal(ph_part_solve(keys, n, &o, &t, &err), 0);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(keys[0], 0xa5a5a5a5u);
    assert_int_equal(check_table(&t, copy, n), 0);
    ph_part_free(&t);
    free(copy);
    free(keys);
}

/* A keys file read, then appended to or rewritten in place: the change is
 * found before anything would be written; bad sizes are refused by name. */
static void test_keys_map_changed(void **state)
{
    (void)state;
    char path[4200];
    tu_path(path, sizeof path, "changed.keys");
    uint32_t *keys = gen_keys(GEN_RANDOM, 1000, 3);
    assert_int_equal(gen_keys_write(path, keys, 1000), 0);
    ph_keys_map m;
    ph_err err = {0};
    assert_int_equal(ph_keys_map_open(path, &m, &err), 0);
    assert_int_equal(m.n, 1000);
    assert_memory_equal(m.v, keys, 1000 * sizeof *keys);
    assert_int_equal(ph_keys_map_unchanged(&m, path, &err), 0);
    /* Same size, other contents, another modification time. */
    keys[5] ^= 1;
    assert_int_equal(gen_keys_write(path, keys, 1000), 0);
    struct timespec ts[2] = {{0, UTIME_OMIT}, {12345, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    assert_int_equal(ph_keys_map_unchanged(&m, path, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, path));
    ph_keys_map_close(&m);
    /* Shrunk to a size that is not a multiple of 4. */
    assert_int_equal(truncate(path, 4001), 0);
    assert_int_equal(ph_keys_map_open(path, &m, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "multiple of 4"));
    assert_int_equal(truncate(path, 0), 0);
    assert_int_equal(ph_keys_map_open(path, &m, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "empty"));
    unlink(path);
    free(keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_global_positions),
        cmocka_unit_test(test_bucket_boundaries),
        cmocka_unit_test(test_empty_and_tiny_buckets),
        cmocka_unit_test(test_bucket_many_attempts),
        cmocka_unit_test(test_duplicate),
        cmocka_unit_test(test_threads_same_table),
        cmocka_unit_test(test_groups_same_table),
        cmocka_unit_test(test_groups_same_table64),
        cmocka_unit_test(test_split_one_and_two_steps),
        cmocka_unit_test(test_split_from_file),
        cmocka_unit_test(test_split_keys_move),
        cmocka_unit_test(test_image_stream),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_keys_map_changed),
        cmocka_unit_test(test_split_done),
    };
    return cmocka_run_group_tests(tests, tu_setup, tu_teardown);
}
