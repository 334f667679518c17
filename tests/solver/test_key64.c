/* test_key64.c - 64-bit keys through the solver: loading (size, name,
 * duplicates), the one-graph CHM solve and the partitioned solve.  Every
 * table is checked independently of the solver's own verification: the
 * index of each key is recomputed from ph_hash_key64 / ph_part_mix and the
 * table's values, and must equal the key's position.  The key sets include
 * keys that differ only in their high 32 bits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen_keys.h"
#include "ph_hash.h"
#include "ph_keys.h"
#include "ph_keys_map.h"
#include "ph_part.h"
#include "ph_solver.h"
#include "test_util.h"

/* Key sets.  HIGH_ONLY: n keys with one low half, differing only in the
 * high 32 bits; PAIRS: k and k | (i << 32) side by side (pairs that agree
 * in the low 32 bits); RANDOM: unique random 64-bit keys (a seeded
 * bijection of i, so unique by construction); STRIDED: i << 40 plus a
 * small offset (structured high bits). */
enum { HIGH_ONLY, PAIRS, RANDOM, STRIDED, NKINDS };

static uint64_t mix64(uint64_t x) /* a bijection (splitmix64's finalizer) */
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t *keys64(int kind, uint32_t n, uint64_t seed)
{
    uint64_t *v = malloc((size_t)n * sizeof *v);
    assert_non_null(v);
    for (uint32_t i = 0; i < n; i++) {
        switch (kind) {
        case HIGH_ONLY: v[i] = (uint64_t)(i + 1) << 32 | 0x1234u; break;
        case PAIRS: v[i] = (uint64_t)(i / 2) * 7 + ((uint64_t)(i % 2) << 32); break;
        case RANDOM: v[i] = mix64(i ^ seed * 0x9e3779b97f4a7c15ull); break;
        default: v[i] = (uint64_t)i << 40 | (seed + i) % 16; break;
        }
    }
    return v;
}

/* Index of key from the table's values, recomputed from ph_hash.h. */
static uint32_t my_index(const ph_table *t, uint64_t key)
{
    uint32_t h1, h2;
    ph_hash_key64(t->seeds, key, &h1, &h2);
    uint32_t u = ph_vertex_u(h1, t->compact, t->shift, t->nverts);
    uint32_t v = ph_vertex_v(h2, t->compact, t->shift, t->nverts);
    assert_true(u < t->nverts / 2 && v >= t->nverts / 2 && v < t->nverts);
    uint32_t a = t->width == 2 ? ((const uint16_t *)t->assigned)[u]
                               : ((const uint32_t *)t->assigned)[u];
    uint32_t b = t->width == 2 ? ((const uint16_t *)t->assigned)[v]
                               : ((const uint32_t *)t->assigned)[v];
    return (uint32_t)(((uint64_t)a + b) % t->nedges);
}

static void solve_check(const uint64_t *k, uint32_t n, bool compact)
{
    ph_solve_opts o;
    ph_solve_opts_init(&o);
    o.compact = compact;
    o.seed = 7;
    ph_table t;
    ph_err err = {0};
    if (ph_solve64(k, n, &o, &t, &err))
        fail_msg("ph_solve64(%u keys, compact %d): %s", n, compact, err.msg);
    assert_int_equal(t.key_size, 8);
    assert_int_equal(t.hash, PH_HASH_MIX);
    assert_int_equal(ph_table_check_shape(&t, NULL), 0);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(my_index(&t, k[i]), i);
        assert_int_equal(ph_table_index64(&t, k[i]), i);
    }
    assert_int_equal(ph_table_verify64(&t, k, n, NULL), 0);
    ph_table_free(&t);
}

static void test_solve64(void **state)
{
    (void)state;
    static const uint32_t sizes[] = {1, 2, 3, 17, 1000, 20000, 70000};
    for (int kind = 0; kind < NKINDS; kind++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            uint64_t *k = keys64(kind, sizes[s], 11 + s);
            solve_check(k, sizes[s], false);
            solve_check(k, sizes[s], true);
            free(k);
        }
}

/* A 32-bit table under MIX and a 64-bit table of the same keys hash alike:
 * ph_hash_mix is ph_hash_key64 of the zero-extended key. */
static void test_mix_is_key64(void **state)
{
    (void)state;
    uint32_t s[4] = {0x12345679u, 0x9abcdef1u, 0x0fedcba9u, 0x87654321u};
    for (uint64_t k = 0; k < 100000; k += 37) {
        uint32_t a1, a2, b1, b2;
        ph_hash_mix(s, (uint32_t)(k * 2654435761u), &a1, &a2);
        ph_hash_key64(s, (uint32_t)(k * 2654435761u), &b1, &b2);
        assert_int_equal(a1, b1);
        assert_int_equal(a2, b2);
    }
    /* keys equal in the low half hash apart */
    uint32_t a1, a2, b1, b2;
    ph_hash_key64(s, 0x00000001deadbeefull, &a1, &a2);
    ph_hash_key64(s, 0x00000002deadbeefull, &b1, &b2);
    assert_true(a1 != b1 || a2 != b2);
}

static void test_solve64_refuses_cheap_hash(void **state)
{
    (void)state;
    uint64_t k[3] = {1, 2, 3};
    ph_solve_opts o;
    ph_solve_opts_init(&o);
    o.hash = PH_HASH_MULSHIFT;
    ph_table t;
    ph_err err = {0};
    assert_int_equal(ph_solve64(k, 3, &o, &t, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "64-bit keys use mix"));
}

static void test_solve64_duplicates(void **state)
{
    (void)state;
    uint64_t *k = keys64(RANDOM, 5000, 3);
    k[4000] = k[17];
    ph_table t;
    ph_err err = {0};
    assert_int_equal(ph_solve64(k, 5000, NULL, &t, &err), PH_EDUP);
    char want[64];
    snprintf(want, sizeof want, "0x%016llx", (unsigned long long)k[17]);
    assert_non_null(strstr(err.msg, want));
    free(k);
}

static void test_keys_load(void **state)
{
    (void)state;
    const char *path;
    uint64_t k[4] = {5, 0x100000005ull, 0xffffffffffffffffull, 0};
    unsigned char raw[32];
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 8; b++)
            raw[i * 8 + b] = (unsigned char)(k[i] >> (8 * b));
    /* the name implies the key size */
    path = tu_at("set64.keys");
    tu_write(path, raw, sizeof raw, 0644);
    assert_int_equal(ph_keys_size_of_name(path), 8);
    assert_int_equal(ph_keys_size_of_name("a/set.keys"), 4);
    assert_int_equal(ph_keys_size_of_name("a64/set.keys"), 4);
    assert_int_equal(ph_keys_size_of_name("a/ids-u64.keys"), 8);
    assert_int_equal(ph_keys_size_of_name("sys64.keys"), 8);
    /* digits before "64.keys" are a key count (NAME-COUNT.keys): 32-bit */
    assert_int_equal(ph_keys_size_of_name("a/mfc42-6164.keys"), 4);
    assert_int_equal(ph_keys_size_of_name("a/wsock-64.keys"), 4);
    assert_int_equal(ph_keys_size_of_name("a/x_64.keys"), 4);
    assert_int_equal(ph_keys_size_of_name("64.keys"), 4);
    ph_keys ks;
    ph_err err = {0};
    assert_int_equal(ph_keys_load_sized(path, PH_KEY_SIZE_AUTO, &ks, &err), 0);
    assert_int_equal(ks.key_size, 8);
    assert_int_equal(ks.n, 4);
    assert_null(ks.v);
    assert_memory_equal(ks.v64, k, sizeof k);
    ph_keys_free(&ks);
    /* the same bytes as 32-bit keys: 8 keys, a duplicate (0x00000000 twice) */
    assert_int_equal(ph_keys_load_sized(path, 4, &ks, &err), PH_EDUP);
    /* a length that is not a multiple of 8: one line naming file and size */
    path = tu_at("odd64.keys");
    tu_write(path, raw, 28, 0644);
    assert_int_equal(ph_keys_load_sized(path, PH_KEY_SIZE_AUTO, &ks, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "key size 8"));
    assert_null(strchr(err.msg, '\n'));
    ph_keys_map m;
    assert_int_equal(ph_keys_map_open_sized(path, PH_KEY_SIZE_AUTO, &m, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "key size 8"));
    /* 28 bytes are fine as 32-bit keys */
    assert_int_equal(ph_keys_map_open_sized(path, 4, &m, &err), 0);
    assert_int_equal(m.n, 7);
    ph_keys_map_close(&m);
    /* duplicate 64-bit keys name the file */
    uint64_t d[3] = {0x1111222233334444ull, 7, 0x1111222233334444ull};
    path = tu_at("dup64.keys");
    tu_write(path, d, sizeof d, 0644); /* little-endian host */
    assert_int_equal(ph_keys_load_sized(path, PH_KEY_SIZE_AUTO, &ks, &err), PH_EDUP);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "0x1111222233334444"));
    assert_non_null(strstr(err.msg, "positions 0 and 2"));
    /* keys equal in the low half are not duplicates */
    uint64_t e[2] = {0x0000000100000009ull, 0x0000000200000009ull};
    assert_int_equal(ph_keys_from_bytes_sized(e, sizeof e, 8, "e", &ks, &err), 0);
    ph_keys_free(&ks);
    /* mapped: the keys in place */
    path = tu_at("set64.keys");
    assert_int_equal(ph_keys_map_open_sized(path, PH_KEY_SIZE_AUTO, &m, &err), 0);
    assert_int_equal(m.key_size, 8);
    assert_int_equal(m.n, 4);
    assert_memory_equal(m.v64, k, sizeof k);
    ph_keys_map_close(&m);
}

static void part_check(const uint64_t *k, uint32_t n, uint32_t kpb, unsigned threads)
{
    ph_part_opts o;
    ph_part_opts_init(&o);
    o.keys_per_bucket = kpb;
    o.threads = threads;
    o.seed = 5;
    ph_part_table t;
    ph_err err = {0};
    if (ph_part_solve64(k, n, &o, &t, &err))
        fail_msg("ph_part_solve64(%u keys): %s", n, err.msg);
    assert_int_equal(t.key_size, 8);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t h = ph_part_mix(k[i] ^ t.seed);
        uint32_t b = ph_part_bucket_of(h, t.nbuckets), u, v;
        ph_part_vertices(h, ph_part_seed_of(&t, b), ph_part_nverts(&t, b), &u, &v);
        uint64_t s = (uint64_t)t.assigned[ph_part_base(&t, b) + u] +
                     t.assigned[ph_part_base(&t, b) + v];
        assert_int_equal(s % n, i);
        assert_int_equal(ph_part_index64(&t, k[i]), i);
    }
    assert_int_equal(ph_part_verify64(&t, k, n, 2, NULL), 0);
    ph_part_free(&t);
}

static void test_part64(void **state)
{
    (void)state;
    for (int kind = 0; kind < NKINDS; kind++) {
        uint64_t *k = keys64(kind, 200000, 21);
        part_check(k, 200000, 4096, 2);
        part_check(k, 200000, 300, 1);
        free(k);
    }
}

static void test_part64_duplicates(void **state)
{
    (void)state;
    uint64_t *k = keys64(HIGH_ONLY, 100000, 1);
    k[99999] = k[123];
    ph_part_opts o;
    ph_part_opts_init(&o);
    o.threads = 2;
    ph_part_table t;
    ph_err err = {0};
    assert_int_equal(ph_part_solve64(k, 100000, &o, &t, &err), PH_EDUP);
    assert_non_null(strstr(err.msg, "0x0000007c00001234"));
    assert_non_null(strstr(err.msg, "positions 123 and 99999"));
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mix_is_key64),
        cmocka_unit_test(test_solve64),
        cmocka_unit_test(test_solve64_refuses_cheap_hash),
        cmocka_unit_test(test_solve64_duplicates),
        cmocka_unit_test(test_keys_load),
        cmocka_unit_test(test_part64),
        cmocka_unit_test(test_part64_duplicates),
    };
    return cmocka_run_group_tests(tests, tu_setup, tu_teardown);
}
