/* test_lib_values - libphcluster's values (phc_table_lookup, _insert,
 * _delete, _increment): every call on every member and on non-members, on
 * one-graph and partitioned tables of 32- and 64-bit keys with 4- and
 * 8-byte values; starting values; save and load with the values (a loaded
 * table takes writes, the file keeps what was saved); damaged values
 * sections refused; increments from several threads all counted (run
 * under TSan too).  The header's inline lookup and increment are checked
 * against the exported functions on every call. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gen_keys.h"
#include "lib_exported.h"
#include "lib_test_util.h"
#include "phcluster.h"

/* n keys: 32-bit ones, or 64-bit ones whose low halves pair up (members
 * that differ only in their high 32 bits). */
static uint64_t *make_keys(uint32_t n, int wide, uint64_t seed)
{
    if (wide)
        return lt_keys64(n, seed, 0x51ed0000u);
    uint32_t *low = gen_keys(GEN_SHUFFLED, n, seed);
    uint64_t *k = malloc(n * sizeof *k);
    assert_non_null(low);
    assert_non_null(k);
    for (uint32_t i = 0; i < n; i++)
        k[i] = low[i];
    free(low);
    return k;
}

static phc_table *build(const uint64_t *k, uint32_t n, int wide, const phc_options *o)
{
    if (wide)
        return lt_build64(k, n, o);
    uint32_t *k32 = malloc(n * sizeof *k32);
    assert_non_null(k32);
    for (uint32_t i = 0; i < n; i++)
        k32[i] = (uint32_t)k[i];
    phc_table *t = lt_build32(k32, n, o);
    free(k32);
    return t;
}

static uint64_t mask_of(unsigned vs) { return vs == 8 ? UINT64_MAX : UINT32_MAX; }

/* Starting value of member i (as the tests write them). */
static uint64_t start_of(uint32_t i, unsigned vs)
{
    return ((uint64_t)i * 0x9e3779b97f4a7c15ull + 3) & mask_of(vs);
}

static void *start_values(uint32_t n, unsigned vs)
{
    uint8_t *v = malloc((size_t)n * vs);
    assert_non_null(v);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t x = start_of(i, vs);
        if (vs == 8)
            memcpy(v + 8 * (size_t)i, &x, 8);
        else {
            uint32_t y = (uint32_t)x;
            memcpy(v + 4 * (size_t)i, &y, 4);
        }
    }
    return v;
}

/* A key no member equals: flip bits that members use (tested against the
 * table's find, which is checked exact in test_lib). */
static int is_member(const phc_table *t, uint64_t k) { return phc_table_find(t, k) != PHC_NOT_FOUND; }

/* Every call on member i, leaving its value at v0 again; the inline
 * lookup and increment against the exported ones. */
static void check_member(phc_table *t, uint64_t key, uint64_t v0, unsigned vs, uint32_t i)
{
    uint64_t m = mask_of(vs), v = (i * 2654435761ull + 0x100000007ull) & m;
    assert_int_equal(phc_table_lookup(t, key), v0);
    assert_int_equal(exported_lookup(t, key), v0);
    assert_int_equal(phc_table_insert(t, key, v), v0);
    assert_int_equal(phc_table_lookup(t, key), v);
    assert_int_equal(phc_table_increment(t, key), (v + 1) & m);
    assert_int_equal(exported_increment(t, key), (v + 2) & m);
    assert_int_equal(phc_table_lookup(t, key), (v + 2) & m);
    assert_int_equal(exported_lookup(t, key), (v + 2) & m);
    assert_int_equal(phc_table_delete(t, key), (v + 2) & m);
    assert_int_equal(phc_table_lookup(t, key), 0);
    assert_int_equal(phc_table_delete(t, key), 0);
    assert_int_equal(phc_table_insert(t, key, v0), 0);
}

/* Non-members change nothing: lookup 0, the others PHC_NOT_MEMBER. */
static uint32_t check_outsiders(phc_table *t, const uint64_t *keys, uint32_t n, int wide)
{
    uint64_t s = 99;
    uint32_t outside = 0;
    for (uint32_t i = 0; i < 2 * n + 20000; i++) {
        uint64_t flip = wide ? 1ull << 35 : 1u << 13;
        uint64_t k = i < n ? keys[i] + 1 : i < 2 * n ? keys[i - n] ^ flip : gen_next(&s);
        if (!wide)
            k = i < 2 * n ? (uint32_t)k : k >> (i & 1 ? 32 : 0); /* and some above 2^32 */
        if (is_member(t, k))
            continue;
        outside++;
        assert_int_equal(phc_table_lookup(t, k), 0);
        assert_int_equal(exported_lookup(t, k), 0);
        assert_int_equal(phc_table_insert(t, k, 5), PHC_NOT_MEMBER);
        assert_int_equal(phc_table_delete(t, k), PHC_NOT_MEMBER);
        assert_int_equal(phc_table_increment(t, k), PHC_NOT_MEMBER);
        assert_int_equal(exported_increment(t, k), PHC_NOT_MEMBER);
    }
    return outside;
}

static void check_values(phc_table *t, const uint64_t *keys, uint32_t n, int wide,
                         unsigned vs, int started)
{
    assert_int_equal(phc_table_value_size(t), vs);
    for (uint32_t i = 0; i < n; i++)
        check_member(t, keys[i], started ? start_of(i, vs) : 0, vs, i);
    assert_true(check_outsiders(t, keys, n, wide) > n);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(phc_table_lookup(t, keys[i]), started ? start_of(i, vs) : 0);
}

static void test_calls_every_kind(void **state)
{
    (void)state;
    const struct { uint32_t n; uint32_t partition; int wide; unsigned vs; int started; } c[] = {
        {3000, PHC_PARTITION_OFF, 0, 4, 0},
        {3000, PHC_PARTITION_OFF, 0, 8, 1},
        {3000, PHC_PARTITION_OFF, 1, 4, 1},
        {3000, PHC_PARTITION_OFF, 1, 8, 0},
        {20000, 500, 0, 4, 1},
        {20000, 500, 0, 8, 0},
        {20000, 500, 1, 8, 1},
        {1, PHC_PARTITION_OFF, 0, 4, 1},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint64_t *keys = make_keys(c[i].n, c[i].wide, 11 + i);
        void *start = c[i].started ? start_values(c[i].n, c[i].vs) : NULL;
        phc_options o;
        phc_options_init(&o);
        o.partition = c[i].partition;
        o.threads = 2;
        o.value_size = c[i].vs;
        o.values = start;
        phc_table *t = build(keys, c[i].n, c[i].wide, &o);
        free(start); /* the table copied them */
        check_values(t, keys, c[i].n, c[i].wide, c[i].vs, c[i].started);
        phc_table_free(t);
        free(keys);
    }
}

static void test_widths(void **state)
{
    (void)state;
    uint64_t *keys = make_keys(100, 0, 3);
    phc_options o;
    phc_options_init(&o);
    o.value_size = 4;
    phc_table *t = build(keys, 100, 0, &o);
    /* 4 bytes: the low 32 bits are kept, increments wrap at 2^32, and no
     * value reads as PHC_NOT_MEMBER. */
    assert_int_equal(phc_table_insert(t, keys[7], 0x100000005ull), 0);
    assert_int_equal(phc_table_lookup(t, keys[7]), 5);
    assert_int_equal(phc_table_insert(t, keys[7], UINT32_MAX), 5);
    assert_int_equal(phc_table_increment(t, keys[7]), 0);
    assert_int_equal(phc_table_insert(t, keys[7], UINT32_MAX), 0);
    assert_int_equal(exported_increment(t, keys[7]), 0);
    assert_int_equal(phc_table_delete(t, keys[7]), 0);
    phc_table_free(t);
    o.value_size = 8;
    t = build(keys, 100, 0, &o);
    assert_int_equal(phc_table_insert(t, keys[9], UINT64_MAX), 0);
    assert_int_equal(phc_table_increment(t, keys[9]), 0);
    assert_int_equal(phc_table_insert(t, keys[9], 0x100000005ull), 0);
    assert_int_equal(phc_table_increment(t, keys[9]), 0x100000006ull);
    assert_int_equal(exported_increment(t, keys[9]), 0x100000007ull);
    assert_int_equal(exported_lookup(t, keys[9]), 0x100000007ull);
    phc_table_free(t);
    /* No values: nothing to read or change for any key. */
    phc_options_init(&o);
    t = build(keys, 100, 0, &o);
    assert_int_equal(phc_table_value_size(t), 0);
    assert_int_equal(phc_table_lookup(t, keys[1]), 0);
    assert_int_equal(exported_lookup(t, keys[1]), 0);
    assert_int_equal(phc_table_insert(t, keys[1], 1), PHC_NOT_MEMBER);
    assert_int_equal(phc_table_delete(t, keys[1]), PHC_NOT_MEMBER);
    assert_int_equal(phc_table_increment(t, keys[1]), PHC_NOT_MEMBER);
    assert_int_equal(exported_increment(t, keys[1]), PHC_NOT_MEMBER);
    assert_int_equal(phc_table_find(t, keys[1]), 1);
    phc_table_free(t);
    free(keys);
}

static void test_option_errors(void **state)
{
    (void)state;
    uint32_t keys[] = {4, 8, 15, 16, 23, 42};
    uint32_t vals[] = {1, 2, 3, 4, 5, 6};
    phc_options o;
    phc_table *t = (phc_table *)&t;
    phc_error e = {0};
    phc_options_init(&o);
    o.value_size = 2;
    assert_int_equal(phc_table_build32(keys, 6, &o, &t, &e), PHC_EINVAL);
    assert_null(t);
    assert_non_null(strstr(e.msg, "value_size"));
    phc_options_init(&o);
    o.values = vals;
    assert_int_equal(phc_table_build32(keys, 6, &o, &t, &e), PHC_EINVAL);
    assert_non_null(strstr(e.msg, "options.values"));
    phc_options_init(&o);
    o.value_size = 4;
    o.index_only = 1;
    assert_int_equal(phc_table_build32(keys, 6, &o, &t, &e), PHC_EINVAL);
    assert_non_null(strstr(e.msg, "index_only"));
    phc_options_init(&o);
    o.reserved[1] = 1;
    assert_int_equal(phc_table_build32(keys, 6, &o, &t, &e), PHC_EINVAL);
}

/* Saved after changes, loaded: the changed values; the loaded table takes
 * writes (the mapping is read-only: the values are a private copy) and
 * the file keeps what was saved until saved again. */
static void round_trip(uint32_t n, uint32_t partition, int wide, unsigned vs)
{
    uint64_t *keys = make_keys(n, wide, 5 + vs);
    void *start = start_values(n, vs);
    phc_options o;
    phc_options_init(&o);
    o.partition = partition;
    o.threads = 2;
    o.value_size = vs;
    o.values = start;
    phc_table *t = build(keys, n, wide, &o), *l;
    phc_error e = {0};
    for (uint32_t i = 0; i < n; i += 3)
        phc_table_increment(t, keys[i]);
    assert_int_equal(phc_table_save(t, tu_at("v.phc"), &e), PHC_OK);
    phc_table_free(t);
    assert_int_equal(phc_table_load(tu_at("v.phc"), PHC_LOAD_VERIFY, &l, &e), PHC_OK);
    assert_int_equal(phc_table_value_size(l), vs);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(phc_table_lookup(l, keys[i]),
                         (start_of(i, vs) + (i % 3 == 0)) & mask_of(vs));
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(phc_table_insert(l, keys[i], i), (start_of(i, vs) + (i % 3 == 0)) & mask_of(vs));
    assert_true(check_outsiders(l, keys, n, wide) > n);
    /* The file is unchanged by those writes; saving writes them. */
    phc_table *again;
    assert_int_equal(phc_table_load(tu_at("v.phc"), 0, &again, &e), PHC_OK);
    assert_int_equal(phc_table_lookup(again, keys[1]), start_of(1, vs));
    phc_table_free(again);
    assert_int_equal(phc_table_save(l, tu_at("v2.phc"), &e), PHC_OK);
    phc_table_free(l);
    size_t len;
    void *img = lt_read_file(tu_at("v2.phc"), &len);
    assert_int_equal(phc_table_load_mem(img, len, 0, &l, &e), PHC_OK);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(phc_table_lookup(l, keys[i]), i);
    assert_int_equal(phc_table_increment(l, keys[0]), 1); /* the buffer stays as it was */
    phc_table_free(l);
    free(img);
    free(start);
    free(keys);
}

static void test_save_load(void **state)
{
    (void)state;
    round_trip(2000, PHC_PARTITION_OFF, 0, 4);
    round_trip(2000, PHC_PARTITION_OFF, 1, 8);
    round_trip(30000, 1000, 0, 8);
    round_trip(30000, 1000, 1, 4);
}

/* ---- damaged values sections ------------------------------------------ */

#define SEC_KEYS_AT 136u   /* keys section: offset, length */
#define SEC_VALUES_AT 152u /* values section: offset, length */
#define VALUES_LEN_AT (SEC_VALUES_AT + 8)

static void size8(uint8_t *p, size_t len) { (void)len; p[29] = 8; } /* the section is sized for 4 */
static void size0(uint8_t *p, size_t len) { (void)len; p[29] = 0; } /* no value size */
static void size3(uint8_t *p, size_t len) { (void)len; p[29] = 3; }

static void no_keys(uint8_t *p, size_t len)
{
    (void)len;
    lt_put32(p, 20, 0);
    lt_put64(p, SEC_KEYS_AT, 0);
    lt_put64(p, SEC_KEYS_AT + 8, 0);
}

static void values_short(uint8_t *p, size_t len)
{
    (void)len;
    lt_put64(p, VALUES_LEN_AT, lt_get64(p, VALUES_LEN_AT) - 4);
}

static void values_long(uint8_t *p, size_t len)
{
    (void)len;
    lt_put64(p, VALUES_LEN_AT, lt_get64(p, VALUES_LEN_AT) + 4);
}

static void values_over_keys(uint8_t *p, size_t len)
{
    (void)len;
    lt_put64(p, SEC_VALUES_AT, lt_get64(p, SEC_KEYS_AT));
}

static void values_misaligned(uint8_t *p, size_t len)
{
    (void)len;
    lt_put64(p, SEC_VALUES_AT, lt_get64(p, SEC_VALUES_AT) + 4);
}

static void values_gone(uint8_t *p, size_t len)
{
    (void)len;
    lt_put64(p, SEC_VALUES_AT, 0);
    lt_put64(p, VALUES_LEN_AT, 0);
}

static void values_huge(uint8_t *p, size_t len)
{
    (void)len;
    lt_put64(p, VALUES_LEN_AT, UINT64_MAX - 63);
}

static void flip_a_value(uint8_t *p, size_t len)
{
    (void)len;
    p[lt_get64(p, SEC_VALUES_AT) + 1] ^= 4;
}

static void test_damaged_values(void **state)
{
    (void)state;
    for (unsigned part = 0; part < 2; part++) {
        uint32_t n = part ? 9000 : 1000;
        uint64_t *keys = make_keys(n, 0, 21);
        phc_options o;
        phc_options_init(&o);
        o.partition = part ? 300 : PHC_PARTITION_OFF;
        o.value_size = 4;
        phc_table *t = build(keys, n, 0, &o);
        size_t len;
        uint8_t *img = lt_save_image(t, "good.phc", &len);
        phc_table_free(t);
        assert_int_equal(lt_get64(img, VALUES_LEN_AT), (uint64_t)n * 4);
        lt_expect_refused(img, len, len, flip_a_value, 0, PHC_ECHECKSUM);
        lt_expect_refused(img, len, len, size8, 1, PHC_EFORMAT);
        lt_expect_refused(img, len, len, size0, 1, PHC_EFORMAT);
        lt_expect_refused(img, len, len, size3, 1, PHC_EFORMAT);
        lt_expect_refused(img, len, len, no_keys, 1, PHC_EFORMAT);
        lt_expect_refused(img, len, len, values_short, 1, PHC_EFORMAT);
        lt_expect_refused(img, len, len, values_long, 1, PHC_EFORMAT);
        lt_expect_refused(img, len, len, values_over_keys, 1, PHC_EFORMAT);
        lt_expect_refused(img, len, len, values_misaligned, 1, PHC_EFORMAT);
        lt_expect_refused(img, len, len, values_gone, 1, PHC_EFORMAT);
        lt_expect_refused(img, len, len, values_huge, 1, PHC_EFORMAT);
        /* Cut inside the values: truncated. */
        lt_expect_refused(img, len, len - 2, NULL, 0, PHC_ETRUNC);
        free(img);
        free(keys);
    }
}

/* ---- threads ------------------------------------------------------------ */

#define THREADS 4
#define ROUNDS 50000u

typedef struct worker {
    phc_table *t;
    const uint64_t *keys;
    uint32_t n;
    unsigned id;
} worker;

/* Each thread increments key (r * 7 + id) % n for r < ROUNDS: every key
 * gets a known number of increments from every thread. */
static void *incrementer(void *arg)
{
    worker *w = arg;
    for (uint32_t r = 0; r < ROUNDS; r++) {
        uint64_t k = w->keys[(r * 7u + w->id) % w->n];
        if (phc_table_increment(w->t, k) == PHC_NOT_MEMBER)
            return (void *)1;
        (void)phc_table_lookup(w->t, k);
    }
    return NULL;
}

static void threads_sum(unsigned vs, uint32_t partition)
{
    uint32_t n = 1000;
    uint64_t *keys = make_keys(n, 1, 31);
    phc_options o;
    phc_options_init(&o);
    o.value_size = vs;
    o.partition = partition;
    o.threads = 2;
    phc_table *t = build(keys, n, 1, &o);
    pthread_t th[THREADS];
    worker w[THREADS];
    for (unsigned i = 0; i < THREADS; i++) {
        w[i] = (worker){t, keys, n, i};
        assert_int_equal(pthread_create(&th[i], NULL, incrementer, &w[i]), 0);
    }
    for (unsigned i = 0; i < THREADS; i++) {
        void *r;
        assert_int_equal(pthread_join(th[i], &r), 0);
        assert_null(r);
    }
    uint64_t total = 0;
    uint32_t *want = calloc(n, sizeof *want);
    assert_non_null(want);
    for (unsigned id = 0; id < THREADS; id++)
        for (uint32_t r = 0; r < ROUNDS; r++)
            want[(r * 7u + id) % n]++;
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(phc_table_lookup(t, keys[i]), want[i]);
        total += phc_table_lookup(t, keys[i]);
    }
    assert_int_equal(total, (uint64_t)THREADS * ROUNDS);
    free(want);
    phc_table_free(t);
    free(keys);
}

static void test_threads(void **state)
{
    (void)state;
    threads_sum(4, PHC_PARTITION_OFF);
    threads_sum(8, 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls_every_kind),
        cmocka_unit_test(test_widths),
        cmocka_unit_test(test_option_errors),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_damaged_values),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, tu_setup, tu_teardown);
}
