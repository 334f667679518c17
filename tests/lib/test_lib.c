/* test_lib - libphcluster (phcluster.h): build, find, save and load of
 * every table kind; every class of damaged file refused with its code and
 * a message naming the file, never a crash (run under ASan in CI). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gen_keys.h"
#include "lib_exported.h"
#include "lib_test_util.h"
#include "ph_fs.h"
#include "phcluster.h"

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Every member at its position; members' neighbours and a random stream
 * of non-members rejected. */
static void check_table(const phc_table *t, const uint32_t *keys, uint32_t n)
{
    assert_int_equal(phc_table_count(t), n);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(phc_table_index(t, keys[i]), i);
        assert_int_equal(phc_table_find(t, keys[i]), i);
    }
    /* The exported functions answer as the header's inline calls. */
    for (uint32_t i = 0; i < n && i < 1000; i++) {
        assert_int_equal(exported_index(t, keys[i]), i);
        assert_int_equal(exported_find(t, keys[i]), i);
        assert_int_equal(exported_find(t, keys[i] + 1), phc_table_find(t, keys[i] + 1));
    }
    uint32_t *sorted = malloc(n * sizeof *sorted);
    assert_non_null(sorted);
    memcpy(sorted, keys, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_u32);
    uint64_t state = 42, rejected = 0;
    for (uint32_t i = 0; i < 200000; i++) {
        uint32_t k = i & 1 ? keys[(i / 2) % n] + 1 : (uint32_t)gen_next(&state);
        if (bsearch(&k, sorted, n, sizeof k, cmp_u32))
            continue;
        assert_int_equal(phc_table_find(t, k), PHC_NOT_FOUND);
        rejected++;
    }
    assert_true(rejected > 100000);
    assert_int_equal(phc_table_find(t, (uint64_t)keys[0] | (1ull << 32)), PHC_NOT_FOUND);
    assert_int_equal(phc_table_index(t, (uint64_t)keys[0] | (1ull << 32)), 0);
    /* The batch answers as find, for members and for their neighbours. */
    uint32_t *probe = malloc(2 * (size_t)n * sizeof *probe), *out = malloc(2 * (size_t)n * 4);
    assert_non_null(probe);
    assert_non_null(out);
    for (uint32_t i = 0; i < n; i++) {
        probe[2 * i] = keys[i];
        probe[2 * i + 1] = keys[i] ^ 0x10000u;
    }
    phc_table_find_batch(t, probe, 2 * (size_t)n, out);
    for (uint32_t i = 0; i < 2 * n; i++)
        assert_int_equal(out[i], phc_table_find(t, probe[i]));
    free(probe);
    free(out);
    free(sorted);
}

static void round_trip(const uint32_t *keys, uint32_t n, const phc_options *o)
{
    phc_table *t = lt_build32(keys, n, o), *l;
    phc_error e;
    check_table(t, keys, n);
    assert_int_equal(phc_table_save(t, tu_at("rt.phc"), &e), PHC_OK);
    phc_table_free(t);
    assert_int_equal(phc_table_load(tu_at("rt.phc"), PHC_LOAD_VERIFY, &l, &e), PHC_OK);
    check_table(l, keys, n);
    assert_int_equal(phc_table_key_size(l), 4);
    phc_table_free(l);
}

static void test_round_trip_kinds(void **state)
{
    (void)state;
    struct { uint32_t n; uint32_t partition; int compact; phc_hash hash; } cases[] = {
        {1, PHC_PARTITION_OFF, 0, PHC_HASH_AUTO},
        {1000, PHC_PARTITION_OFF, 0, PHC_HASH_AUTO},           /* 16-bit values */
        {1000, PHC_PARTITION_OFF, 1, PHC_HASH_MIX},            /* compact */
        {5000, PHC_PARTITION_OFF, 0, PHC_HASH_MULROT},
        {100000, PHC_PARTITION_OFF, 0, PHC_HASH_AUTO},         /* 32-bit values */
        {100000, PHC_PARTITION_OFF, 1, PHC_HASH_AUTO},
        {50000, 1000, 0, PHC_HASH_AUTO},                       /* partitioned */
        {3, 1, 0, PHC_HASH_AUTO},                              /* buckets of one key */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint32_t *keys = gen_keys(GEN_SHUFFLED, cases[c].n, 7 + c);
        assert_non_null(keys);
        phc_options o;
        phc_options_init(&o);
        o.partition = cases[c].partition;
        o.compact = cases[c].compact;
        o.hash = cases[c].hash;
        o.threads = 2;
        round_trip(keys, cases[c].n, &o);
        free(keys);
    }
}

/* Each lookup function of the library: every hash family in both vertex
 * layouts with 2- and 4-byte vertex values (more than 2^16 keys), and 64-bit
 * keys likewise. */
static void test_every_shape(void **state)
{
    (void)state;
    const phc_hash hashes[] = {PHC_HASH_MULSHIFT, PHC_HASH_MULROT, PHC_HASH_MIX};
    const uint32_t sizes[] = {3000, 70000};
    for (size_t h = 0; h < 3; h++)
        for (int compact = 0; compact < 2; compact++)
            for (size_t z = 0; z < 2; z++) {
                uint32_t *keys = gen_keys(GEN_SHUFFLED, sizes[z], 11 + h);
                assert_non_null(keys);
                phc_options o;
                phc_options_init(&o);
                o.partition = PHC_PARTITION_OFF;
                o.compact = compact;
                o.hash = hashes[h];
                o.threads = 2;
                round_trip(keys, sizes[z], &o);
                free(keys);
            }
}

static void test_auto_partition(void **state)
{
    (void)state;
    uint32_t n = 1u << 20;
    uint32_t *keys = gen_keys(GEN_CLUSTERED16, n, 3);
    assert_non_null(keys);
    phc_options o;
    phc_options_init(&o);
    o.threads = 2;
    round_trip(keys, n, &o);
    free(keys);
}

static void test_index_only(void **state)
{
    (void)state;
    uint32_t *keys = gen_keys(GEN_RANDOM, 2000, 5);
    phc_options o;
    phc_options_init(&o);
    o.index_only = 1;
    phc_table *t;
    phc_error e;
    assert_int_equal(phc_table_build32(keys, 2000, &o, &t, &e), PHC_OK);
    assert_false(phc_table_has_keys(t));
    assert_int_equal(phc_table_find(t, keys[3]), PHC_NOT_FOUND);
    uint32_t out[2] = {0, 0};
    phc_table_find_batch(t, keys, 2, out);
    assert_int_equal(out[0], PHC_NOT_FOUND);
    assert_int_equal(out[1], PHC_NOT_FOUND);
    assert_int_equal(phc_table_save(t, tu_at("io.phc"), &e), PHC_OK);
    phc_table_free(t);
    assert_int_equal(phc_table_load(tu_at("io.phc"), 0, &t, &e), PHC_OK);
    for (uint32_t i = 0; i < 2000; i++)
        assert_int_equal(phc_table_index(t, keys[i]), i);
    phc_table_free(t);
    assert_int_equal(phc_table_load(tu_at("io.phc"), PHC_LOAD_VERIFY, &t, &e), PHC_EINVAL);
    free(keys);
}

static void test_build_errors(void **state)
{
    (void)state;
    uint32_t keys[] = {5, 9, 5};
    phc_table *t = (phc_table *)&t;
    phc_error e;
    assert_int_equal(phc_table_build32(keys, 3, NULL, &t, &e), PHC_EDUP);
    assert_null(t);
    assert_non_null(strstr(e.msg, "duplicate"));
    assert_int_equal(phc_table_build32(keys, 0, NULL, &t, &e), PHC_EINVAL);
    uint64_t k64[] = {1, 1ull << 32, 1};
    assert_int_equal(phc_table_build64(k64, 3, NULL, &t, &e), PHC_EDUP);
    phc_options o;
    phc_options_init(&o);
    o.partition = PHC_PARTITION_OFF;
    o.hash = PHC_HASH_MULSHIFT; /* a 32-bit family */
    assert_int_equal(phc_table_build64(k64, 2, &o, &t, &e), PHC_EINVAL);
    phc_options_init(&o);
    o.hash = (phc_hash)9;
    assert_int_equal(phc_table_build32(keys, 2, &o, &t, &e), PHC_EINVAL);
    /* Unpartitioned duplicates far apart, and partitioned ones. */
    uint32_t *many = gen_keys(GEN_SHUFFLED, 30000, 1);
    many[29999] = many[10];
    phc_options_init(&o);
    o.partition = PHC_PARTITION_OFF;
    assert_int_equal(phc_table_build32(many, 30000, &o, &t, &e), PHC_EDUP);
    o.partition = 512;
    assert_int_equal(phc_table_build32(many, 30000, &o, &t, &e), PHC_EDUP);
    free(many);
}

/* 64-bit keys: members whose low halves collide (they differ only in the
 * high 32 bits: lt_keys64); non-members that differ from a member in one
 * high bit, and random 64-bit keys. */
static void check_table64(const phc_table *t, const uint64_t *keys, uint32_t n)
{
    assert_int_equal(phc_table_key_size(t), 8);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(phc_table_find(t, keys[i]), i);
    uint32_t *out = malloc((size_t)n * sizeof *out);
    assert_non_null(out);
    phc_table_find_batch(t, keys, n, out);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(out[i], i);
    free(out);
    /* The batch answers as find for members interleaved with misses (high
     * bit flipped, low half only, random), over groups and a partial one. */
    size_t np = 4 * (size_t)n + 3;
    uint64_t *probe = malloc(np * sizeof *probe), pstate = 17;
    uint32_t *pout = malloc(np * sizeof *pout);
    assert_non_null(probe);
    assert_non_null(pout);
    for (size_t i = 0; i < np; i++) {
        uint64_t k = keys[(i / 4) % n];
        probe[i] = i % 4 == 0 ? k : i % 4 == 1 ? k ^ (1ull << 61)
                 : i % 4 == 2 ? (uint32_t)k : gen_next(&pstate);
    }
    phc_table_find_batch(t, probe, np, pout);
    for (size_t i = 0; i < np; i++)
        assert_int_equal(pout[i], phc_table_find(t, probe[i]));
    free(probe);
    free(pout);
    uint64_t state = 9;
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(phc_table_find(t, keys[i] ^ (1ull << 61)), PHC_NOT_FOUND);
        assert_int_equal(phc_table_find(t, (uint32_t)keys[i]), PHC_NOT_FOUND);
        assert_int_equal(phc_table_find(t, gen_next(&state) | (1ull << 63)), PHC_NOT_FOUND);
    }
}

static void test_round_trip_64(void **state)
{
    (void)state;
    struct { uint32_t n; uint32_t partition; int compact; int index_only; } cases[] = {
        {1, PHC_PARTITION_OFF, 0, 0},
        {2000, PHC_PARTITION_OFF, 0, 0},
        {30000, PHC_PARTITION_OFF, 1, 0},
        {70000, PHC_PARTITION_OFF, 0, 0},                      /* 4-byte values */
        {70000, PHC_PARTITION_OFF, 1, 0},
        {30000, 1000, 0, 0},
        {5000, 700, 0, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint32_t n = cases[c].n;
        uint64_t *keys = lt_keys64(n, c, 0x9e370000u + (uint32_t)c);
        phc_options o;
        phc_options_init(&o);
        o.partition = cases[c].partition;
        o.compact = cases[c].compact;
        o.index_only = cases[c].index_only;
        o.threads = 2;
        phc_table *t = lt_build64(keys, n, &o);
        phc_error e;
        if (!o.index_only)
            check_table64(t, keys, n);
        assert_int_equal(phc_table_save(t, tu_at("k64.phc"), &e), PHC_OK);
        phc_table_free(t);
        assert_int_equal(phc_table_load(tu_at("k64.phc"), o.index_only ? 0 : PHC_LOAD_VERIFY, &t,
                                        &e), PHC_OK);
        if (o.index_only) {
            assert_false(phc_table_has_keys(t));
            for (uint32_t i = 0; i < n; i++)
                assert_int_equal(phc_table_index(t, keys[i]), i);
        } else {
            check_table64(t, keys, n);
        }
        phc_table_free(t);
        free(keys);
    }
}

/* ---- damaged files ------------------------------------------------------ */

typedef struct image {
    uint8_t *p;
    size_t len;
} image;

static image g_chm, g_part;

static image make_image(uint32_t n, uint32_t partition)
{
    uint32_t *keys = gen_keys(GEN_SHUFFLED, n, 11);
    phc_options o;
    phc_options_init(&o);
    o.partition = partition;
    phc_table *t = lt_build32(keys, n, &o);
    image im = {0};
    im.p = lt_save_image(t, "img.phc", &im.len);
    phc_table_free(t);
    free(keys);
    return im;
}

/* Load a modified copy (from a file: the real path), expect code. */
static void expect_refused(const image *src, size_t len, lt_edit edit, int code, int fix_checksum)
{
    lt_expect_refused(src->p, src->len, len, edit, fix_checksum, code);
}

static void test_truncated_everywhere(void **state)
{
    (void)state;
    const image *ims[] = {&g_chm, &g_part};
    for (int k = 0; k < 2; k++) {
        const image *im = ims[k];
        /* Inside the magic: not recognised; then every section boundary,
         * one byte either side, and the last byte. */
        expect_refused(im, 4, NULL, PHC_EFOREIGN, 0);
        expect_refused(im, 12, NULL, PHC_ETRUNC, 0);
        expect_refused(im, 100, NULL, PHC_ETRUNC, 0);
        expect_refused(im, 191, NULL, PHC_ETRUNC, 0);
        for (int s = 0; s < 4; s++) {
            uint64_t off = lt_get64(im->p, 104 + 16 * (size_t)s);
            uint64_t len = lt_get64(im->p, 112 + 16 * (size_t)s);
            if (!len)
                continue;
            size_t cuts[] = {off, off + 1, off + len - 1, off + len};
            for (int c = 0; c < 4; c++)
                if (cuts[c] < im->len)
                    expect_refused(im, cuts[c], NULL, PHC_ETRUNC, 0);
        }
        expect_refused(im, im->len - 1, NULL, PHC_ETRUNC, 0);
    }
}

static void flip_last(uint8_t *p, size_t len) { p[len - 1] ^= 0x40; }
static void flip_checksum(uint8_t *p, size_t len) { (void)len; p[49] ^= 1; }
static void flip_value(uint8_t *p, size_t len) { (void)len; p[lt_get64(p, 104) + 3] ^= 0x10; }
static void bad_magic(uint8_t *p, size_t len) { (void)len; p[0] = 'X'; }
static void newer(uint8_t *p, size_t len) { (void)len; lt_put32(p, 8, 2); }
static void swapped(uint8_t *p, size_t len) { (void)len; lt_put32(p, 12, 0x04030201u); }
static void keys_out(uint8_t *p, size_t len) { lt_put64(p, 136, len); }
static void keys_wrap(uint8_t *p, size_t len) { (void)len; lt_put64(p, 136, UINT64_MAX - 63); }
static void keys_short(uint8_t *p, size_t len) { (void)len; lt_put64(p, 144, lt_get64(p, 144) - 4); }
static void verts_misaligned(uint8_t *p, size_t len) { (void)len; lt_put64(p, 104, lt_get64(p, 104) + 8); }
static void keys_over_verts(uint8_t *p, size_t len) { (void)len; lt_put64(p, 136, lt_get64(p, 104)); }
static void count_up(uint8_t *p, size_t len) { (void)len; lt_put64(p, 32, lt_get64(p, 32) + 1); }
static void count_huge(uint8_t *p, size_t len) { (void)len; lt_put64(p, 32, 1ull << 40); }
static void bad_kind(uint8_t *p, size_t len) { (void)len; lt_put32(p, 24, 7); }
static void key8(uint8_t *p, size_t len) { (void)len; p[28] = 8; }
static void bad_flags(uint8_t *p, size_t len) { (void)len; lt_put32(p, 20, 0x80); }
static void reserved(uint8_t *p, size_t len) { (void)len; p[180] = 1; }
static void file_size(uint8_t *p, size_t len) { lt_put64(p, 40, len + 1); }
static void width(uint8_t *p, size_t len) { (void)len; p[31] = 3; }
/* Bucket entries: the second bucket's base past the values (its seed
 * kept), the end entry one vertex short of the table's count. */
static void bucket_base(uint8_t *p, size_t len)
{
    (void)len;
    size_t at = lt_get64(p, 120) + 8;
    lt_put64(p, at, (lt_get64(p, at) & ~((1ull << 36) - 1)) | ((1ull << 36) - 1));
}
static void bucket_verts(uint8_t *p, size_t len)
{
    (void)len;
    uint32_t nbuckets;
    memcpy(&nbuckets, p + 96, 4);
    size_t at = lt_get64(p, 120) + 8 * (size_t)nbuckets;
    lt_put64(p, at, lt_get64(p, at) - 1);
}
static void nbuckets_up(uint8_t *p, size_t len) { (void)len; lt_put32(p, 96, 1u + *(uint32_t *)(p + 96)); }

static void test_damaged(void **state)
{
    (void)state;
    const image *ims[] = {&g_chm, &g_part};
    for (int k = 0; k < 2; k++) {
        const image *im = ims[k];
        size_t n = im->len;
        expect_refused(im, n, flip_last, PHC_ECHECKSUM, 0);
        expect_refused(im, n, flip_checksum, PHC_ECHECKSUM, 0);
        expect_refused(im, n, flip_value, PHC_ECHECKSUM, 0);
        expect_refused(im, n, bad_magic, PHC_EFOREIGN, 0);
        expect_refused(im, n, swapped, PHC_EFOREIGN, 0);
        expect_refused(im, n, newer, PHC_EVERSION, 0);
        expect_refused(im, n, file_size, PHC_ETRUNC, 0);
        /* Checksum made right: the structure checks must catch these. */
        expect_refused(im, n, keys_out, PHC_EFORMAT, 1);
        expect_refused(im, n, keys_wrap, PHC_EFORMAT, 1);
        expect_refused(im, n, keys_short, PHC_EFORMAT, 1);
        expect_refused(im, n, verts_misaligned, PHC_EFORMAT, 1);
        expect_refused(im, n, keys_over_verts, PHC_EFORMAT, 1);
        expect_refused(im, n, count_up, PHC_EFORMAT, 1);
        expect_refused(im, n, count_huge, PHC_EFORMAT, 1);
        expect_refused(im, n, bad_kind, PHC_EFORMAT, 1);
        expect_refused(im, n, bad_flags, PHC_EFORMAT, 1);
        expect_refused(im, n, reserved, PHC_EFORMAT, 1);
        expect_refused(im, n, width, PHC_EFORMAT, 1);
        expect_refused(im, n, key8, PHC_EFORMAT, 1); /* sections sized for 4 */
    }
    expect_refused(&g_part, g_part.len, bucket_base, PHC_EFORMAT, 1);
    expect_refused(&g_part, g_part.len, bucket_verts, PHC_EFORMAT, 1);
    expect_refused(&g_part, g_part.len, nbuckets_up, PHC_EFORMAT, 1);
    /* Trailing bytes, a directory, a missing file, an empty file. */
    uint8_t *longer = calloc(1, g_chm.len + 8);
    memcpy(longer, g_chm.p, g_chm.len);
    image im = {longer, g_chm.len + 8};
    expect_refused(&im, im.len, NULL, PHC_EFORMAT, 0);
    free(longer);
    phc_table *t;
    phc_error e;
    assert_int_equal(phc_table_load(tu_at("."), 0, &t, &e), PHC_EIO);
    assert_int_equal(phc_table_load(tu_at("none.phc"), 0, &t, &e), PHC_EIO);
    ph_err pe;
    assert_int_equal(ph_fs_write_atomic(tu_at("empty.phc"), "", 0, 0, &pe), 0);
    assert_int_equal(phc_table_load(tu_at("empty.phc"), 0, &t, &e), PHC_ETRUNC);
}

static void test_load_mem(void **state)
{
    (void)state;
    phc_table *t;
    phc_error e;
    assert_int_equal(phc_table_load_mem(g_part.p, g_part.len, PHC_LOAD_VERIFY, &t, &e), PHC_OK);
    phc_table_free(t);
    assert_int_equal(phc_table_load_mem(g_part.p + 1, g_part.len - 1, 0, &t, &e), PHC_EINVAL);
    assert_int_equal(phc_table_load_mem(g_part.p, g_part.len, 0x10, &t, &e), PHC_EINVAL);
}

static void test_save_refuses_link(void **state)
{
    (void)state;
    uint32_t keys[] = {1, 2, 3};
    phc_table *t;
    phc_error e;
    assert_int_equal(phc_table_build32(keys, 3, NULL, &t, &e), PHC_OK);
    char target[512];
    snprintf(target, sizeof target, "%s", tu_at("elsewhere"));
    assert_int_equal(symlink(target, tu_at("link.phc")), 0);
    assert_int_equal(phc_table_save(t, tu_at("link.phc"), &e), PHC_EPERM);
    assert_int_equal(access(target, F_OK), -1);
    assert_int_equal(phc_table_save(t, tu_at("nodir/x.phc"), &e), PHC_EIO);
    phc_table_free(t);
}

static int setup(void **state)
{
    if (tu_setup(state))
        return -1;
    g_chm = make_image(3000, PHC_PARTITION_OFF);
    g_part = make_image(20000, 700);
    return 0;
}

static int teardown(void **state)
{
    free(g_chm.p);
    free(g_part.p);
    return tu_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_kinds),
        cmocka_unit_test(test_every_shape),
        cmocka_unit_test(test_auto_partition),
        cmocka_unit_test(test_index_only),
        cmocka_unit_test(test_round_trip_64),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_load_mem),
        cmocka_unit_test(test_save_refuses_link),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
