/* test_keys.c - ph_keys_load / ph_keys_from_bytes / ph_keys_check_unique /
 * ph_keys_table_name: every refusal the loader promises, with its message,
 * and exact little-endian decoding without reordering.
 *
 * Not tested: the "more than 2^31 keys" refusal.  It needs an 8 GiB input,
 * which does not fit in memory (or a test's time budget) here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen_keys.h"
#include "ph_keys.h"
#include "test_util.h"

/* Does msg contain the decimal number x as a whole token (no digit, letter
 * or 'x' glued to either side)? */
static int has_dec_token(const char *msg, unsigned long long x)
{
    char num[32];
    snprintf(num, sizeof num, "%llu", x);
    size_t len = strlen(num);
    for (const char *p = strstr(msg, num); p; p = strstr(p + 1, num)) {
        int left_ok = p == msg || !isalnum((unsigned char)p[-1]);
        int right_ok = !isalnum((unsigned char)p[len]);
        if (left_ok && right_ok)
            return 1;
    }
    return 0;
}

/* A key value may be printed in decimal or as hex (0x..., any case, any
 * zero padding). */
static int has_value(const char *msg, uint32_t v)
{
    if (has_dec_token(msg, v))
        return 1;
    char lower[600];
    size_t i;
    for (i = 0; msg[i] && i < sizeof lower - 1; i++)
        lower[i] = (char)tolower((unsigned char)msg[i]);
    lower[i] = '\0';
    char hex[16], hex8[16];
    snprintf(hex, sizeof hex, "0x%x", v);
    snprintf(hex8, sizeof hex8, "0x%08x", v);
    return strstr(lower, hex) || strstr(lower, hex8);
}

static void assert_msg_has(const ph_err *err, const char *needle)
{
    if (!strstr(err->msg, needle))
        fail_msg("error message \"%s\" does not contain \"%s\"", err->msg, needle);
}

/* ---- keys_load refusals --------------------------------------------- */

static void test_load_nonexistent(void **state)
{
    (void)state;
    const char *path = tu_at("no-such-file.keys");
    ph_keys k = {0};
    ph_err err = {0};
    int rc = ph_keys_load(path, &k, &err);
    assert_true(rc == PH_EIO || rc == PH_EINVAL);
    assert_int_equal(err.code, rc);
    assert_msg_has(&err, path);
    assert_null(k.v);
    ph_keys_free(&k);
}

static void test_load_directory(void **state)
{
    (void)state;
    const char *path = tu_at("adir.keys");
    assert_int_equal(mkdir(path, 0700), 0);
    ph_keys k = {0};
    ph_err err = {0};
    int rc = ph_keys_load(path, &k, &err);
    assert_true(rc == PH_EIO || rc == PH_EINVAL);
    assert_msg_has(&err, path);
    assert_null(k.v);
    ph_keys_free(&k);
}

static void test_load_empty(void **state)
{
    (void)state;
    const char *path = tu_at("empty-0.keys");
    tu_write(path, "", 0, 0644);
    ph_keys k = {0};
    ph_err err = {0};
    assert_int_equal(ph_keys_load(path, &k, &err), PH_EINVAL);
    assert_int_equal(err.code, PH_EINVAL);
    assert_msg_has(&err, path);
    assert_null(k.v);
    ph_keys_free(&k);
}

static void test_load_ragged(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 2, 3, 5, 7, 4097};
    unsigned char buf[4097];
    memset(buf, 0x5a, sizeof buf);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const char *path = tu_atf("ragged-%zu.keys", sizes[i]);
        /* distinct keys so only the size can be the reason for refusal */
        for (size_t j = 0; j + 4 <= sizes[i]; j += 4)
            buf[j] = (unsigned char)(j / 4), buf[j + 1] = (unsigned char)(j / 1024);
        tu_write(path, buf, sizes[i], 0644);
        ph_keys k = {0};
        ph_err err = {0};
        assert_int_equal(ph_keys_load(path, &k, &err), PH_EINVAL);
        assert_msg_has(&err, path);
        assert_null(k.v);
        ph_keys_free(&k);
    }
}

static void check_dup_file(uint32_t n, uint32_t first, uint32_t second, uint32_t value)
{
    uint32_t *v = gen_keys_random(n, 1234 + n, true);
    assert_non_null(v);
    /* make sure value does not occur elsewhere, then plant it twice */
    for (uint32_t i = 0; i < n; i++)
        if (v[i] == value)
            v[i] = value ^ 0x80000000u;
    v[first] = value;
    v[second] = value;
    /* the perturbation above could create another duplicate; rule it out */
    for (uint32_t i = 0; i < n; i++)
        if (i != first && i != second && v[i] == value)
            fail_msg("generator produced the planted value twice");
    const char *path = tu_atf("dup-%u-%u-%u.keys", n, first, second);
    assert_int_equal(gen_keys_write(path, v, n), 0);
    free(v);

    ph_keys k = {0};
    ph_err err = {0};
    assert_int_equal(ph_keys_load(path, &k, &err), PH_EDUP);
    assert_int_equal(err.code, PH_EDUP);
    assert_msg_has(&err, path);
    if (!has_value(err.msg, value))
        fail_msg("duplicate message \"%s\" does not name value %u (0x%x)", err.msg, value, value);
    if (!has_dec_token(err.msg, first) || !has_dec_token(err.msg, second))
        fail_msg("duplicate message \"%s\" does not name positions %u and %u", err.msg, first,
                 second);
    assert_null(k.v);
    ph_keys_free(&k);
}

static void test_load_dup_adjacent(void **state)
{
    (void)state;
    check_dup_file(1000, 411, 412, 0xdeadbeefu);
}

static void test_load_dup_far_apart(void **state)
{
    (void)state;
    check_dup_file(100000, 17, 98765, 0xc0ffee11u);
}

static void test_load_dup_zero(void **state)
{
    (void)state;
    uint32_t v[3] = {0, 5, 0};
    const char *path = tu_at("zero-dup.keys");
    assert_int_equal(gen_keys_write(path, v, 3), 0);
    ph_keys k = {0};
    ph_err err = {0};
    assert_int_equal(ph_keys_load(path, &k, &err), PH_EDUP);
    assert_msg_has(&err, path);
    ph_keys_free(&k);
}

/* ---- keys_load successes -------------------------------------------- */

static void load_ok(const char *base, const uint32_t *v, uint32_t n, ph_keys *k)
{
    const char *path = tu_at(base);
    assert_int_equal(gen_keys_write(path, v, n), 0);
    ph_err err = {0};
    int rc = ph_keys_load(path, k, &err);
    if (rc != 0)
        fail_msg("ph_keys_load(%s) = %d: %s", path, rc, err.msg);
    assert_int_equal(k->n, n);
    assert_non_null(k->v);
}

static void test_load_single_and_zero(void **state)
{
    (void)state;
    ph_keys k = {0};
    uint32_t one = 0;
    load_ok("single-1.keys", &one, 1, &k);
    assert_int_equal(k.v[0], 0);
    ph_keys_free(&k);
    assert_null(k.v);

    uint32_t two[2] = {0, 0xffffffffu};
    load_ok("zero-max-2.keys", two, 2, &k);
    assert_int_equal(k.v[0], 0);
    assert_int_equal(k.v[1], 0xffffffffu);
    ph_keys_free(&k);
}

static void test_load_unsorted_order_kept(void **state)
{
    (void)state;
    uint32_t v[] = {5, 1, 0xffffffffu, 3, 0, 0x80000000u, 2, 0x7fffffffu};
    uint32_t n = sizeof v / sizeof v[0];
    ph_keys k = {0};
    load_ok("unsorted-8.keys", v, n, &k);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(k.v[i], v[i]);
    ph_keys_free(&k);

    /* a large shuffled set: order kept, no false duplicate */
    uint32_t big_n = 200000;
    uint32_t *big = gen_keys(GEN_SHUFFLED, big_n, 99);
    assert_non_null(big);
    load_ok("shuffled-200000.keys", big, big_n, &k);
    assert_memory_equal(k.v, big, (size_t)big_n * 4);
    ph_keys_free(&k);
    free(big);
}

static void test_load_little_endian(void **state)
{
    (void)state;
    static const unsigned char bytes[] = {
        0x01, 0x02, 0x03, 0x04, /* 0x04030201 */
        0xff, 0x00, 0x00, 0x80, /* 0x800000ff */
        0x00, 0x00, 0x00, 0x00, /* 0 */
        0x78, 0x56, 0x34, 0x12, /* 0x12345678 */
        0x00, 0xff, 0x00, 0x00, /* 0x0000ff00 */
    };
    static const uint32_t want[] = {0x04030201u, 0x800000ffu, 0, 0x12345678u, 0x0000ff00u};
    const char *path = tu_at("le-5.keys");
    tu_write(path, bytes, sizeof bytes, 0644);
    ph_keys k = {0};
    ph_err err = {0};
    assert_int_equal(ph_keys_load(path, &k, &err), 0);
    assert_int_equal(k.n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(k.v[i], want[i]);
    ph_keys_free(&k);
}

/* ---- keys_from_bytes ------------------------------------------------ */

static void test_bytes_errors(void **state)
{
    (void)state;
    const char *name = "task-42:msg.keys";
    unsigned char buf[64] = {0};
    ph_keys k = {0};
    ph_err err = {0};

    assert_int_equal(ph_keys_from_bytes(buf, 0, name, &k, &err), PH_EINVAL);
    assert_msg_has(&err, name);
    assert_null(k.v);

    memset(&err, 0, sizeof err);
    assert_int_equal(ph_keys_from_bytes(NULL, 0, name, &k, &err), PH_EINVAL);
    assert_msg_has(&err, name);

    for (size_t len = 1; len < 12; len++) {
        if (len % 4 == 0)
            continue;
        memset(&err, 0, sizeof err);
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (unsigned char)(i * 7 + 1);
        assert_int_equal(ph_keys_from_bytes(buf, len, name, &k, &err), PH_EINVAL);
        assert_msg_has(&err, name);
        assert_null(k.v);
    }

    /* duplicate: keys 3 and 9 are both 0x00abcdef */
    uint32_t v[12];
    for (uint32_t i = 0; i < 12; i++)
        v[i] = i * 1000 + 1;
    v[3] = v[9] = 0x00abcdefu;
    memset(&err, 0, sizeof err);
    assert_int_equal(ph_keys_from_bytes(v, sizeof v, name, &k, &err), PH_EDUP);
    assert_int_equal(err.code, PH_EDUP);
    assert_msg_has(&err, name);
    if (!has_value(err.msg, 0x00abcdefu) || !has_dec_token(err.msg, 3)
        || !has_dec_token(err.msg, 9))
        fail_msg("duplicate message \"%s\" lacks value 0xabcdef or positions 3, 9", err.msg);
    assert_null(k.v);
    ph_keys_free(&k);

    /* the NULL err pointer is allowed */
    assert_int_equal(ph_keys_from_bytes(buf, 3, name, &k, NULL), PH_EINVAL);
}

static void test_bytes_ok_copies_and_decodes(void **state)
{
    (void)state;
    /* unaligned source: the loader must not load uint32 through it */
    unsigned char raw[1 + 16];
    unsigned char *p = raw + 1;
    const unsigned char src[16] = {0x10, 0x32, 0x54, 0x76, 0, 0, 0, 0,
                                   0xef, 0xbe, 0xad, 0xde, 0x01, 0, 0, 0};
    memcpy(p, src, 16);
    ph_keys k = {0};
    ph_err err = {0};
    assert_int_equal(ph_keys_from_bytes(p, 16, "mem", &k, &err), 0);
    assert_int_equal(k.n, 4);
    assert_int_equal(k.v[0], 0x76543210u);
    assert_int_equal(k.v[1], 0);
    assert_int_equal(k.v[2], 0xdeadbeefu);
    assert_int_equal(k.v[3], 1);
    /* a copy: changing the source does not change the keys */
    memset(p, 0xee, 16);
    assert_int_equal(k.v[0], 0x76543210u);
    ph_keys_free(&k);

    uint32_t single = 0;
    assert_int_equal(ph_keys_from_bytes(&single, 4, "one", &k, &err), 0);
    assert_int_equal(k.n, 1);
    assert_int_equal(k.v[0], 0);
    ph_keys_free(&k);
}

static void test_check_unique(void **state)
{
    (void)state;
    uint32_t n = 300000;
    uint32_t *v = gen_keys(GEN_CLUSTERED4K, n, 5); /* multiples of 4096 */
    assert_non_null(v);
    ph_err err = {0};
    assert_int_equal(ph_keys_check_unique(v, n, "clu", &err), 0);
    gen_keys_shuffle(v, n, 6);
    /* UINT32_MAX is not a multiple of 4096, so still unique */
    v[n - 1] = 0xffffffffu;
    assert_int_equal(ph_keys_check_unique(v, n, "clu", &err), 0);
    /* exactly one duplicate pair: positions a and b */
    uint32_t a = n / 3, b = n - 2;
    v[b] = v[a];
    memset(&err, 0, sizeof err);
    assert_int_equal(ph_keys_check_unique(v, n, "clu", &err), PH_EDUP);
    assert_msg_has(&err, "clu");
    if (!has_value(err.msg, v[a]) || !has_dec_token(err.msg, a) || !has_dec_token(err.msg, b))
        fail_msg("\"%s\" lacks value %u or positions %u, %u", err.msg, v[a], a, b);
    free(v);

    uint32_t two[2] = {7, 7};
    assert_int_equal(ph_keys_check_unique(two, 2, "two", &err), PH_EDUP);
    assert_true(has_dec_token(err.msg, 0) && has_dec_token(err.msg, 1));
    assert_int_equal(ph_keys_check_unique(two, 1, "two", &err), 0);
}

/* ---- keys_table_name ------------------------------------------------ */

static void test_table_name(void **state)
{
    (void)state;
    char out[64];
    ph_err err = {0};
    assert_int_equal(ph_keys_table_name("dir/foo-123.keys", out, sizeof out, &err), 0);
    assert_string_equal(out, "foo-123");
    assert_int_equal(ph_keys_table_name("foo.keys", out, sizeof out, &err), 0);
    assert_string_equal(out, "foo");
    assert_int_equal(ph_keys_table_name("/a/b.c/d/msedge-283263.keys", out, sizeof out, &err), 0);
    assert_string_equal(out, "msedge-283263");
    assert_int_equal(ph_keys_table_name("x.keys.keys", out, sizeof out, &err), 0);
    assert_string_equal(out, "x.keys");

    static const char *const bad[] = {"x.txt", ".keys", "dir/.keys", "", "dir/", "keys",
                                      "foo.keys/", "foo.KEYS"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        int rc = ph_keys_table_name(bad[i], out, sizeof out, &err);
        if (rc != PH_EINVAL)
            fail_msg("ph_keys_table_name(\"%s\") = %d (\"%s\"), want PH_EINVAL", bad[i], rc,
                     rc == 0 ? out : err.msg);
        assert_true(err.msg[0] != '\0');
    }
}

static void test_table_name_small_buffer(void **state)
{
    (void)state;
    /* "foo-123" needs 8 bytes; with 4 it must refuse or truncate, and
     * never write past the buffer. */
    char buf[16];
    memset(buf, '#', sizeof buf);
    ph_err err = {0};
    int rc = ph_keys_table_name("dir/foo-123.keys", buf, 4, &err);
    if (rc == 0)
        assert_true(memchr(buf, '\0', 4) != NULL);
    for (size_t i = 4; i < sizeof buf; i++)
        assert_int_equal(buf[i], '#');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_nonexistent),
        cmocka_unit_test(test_load_directory),
        cmocka_unit_test(test_load_empty),
        cmocka_unit_test(test_load_ragged),
        cmocka_unit_test(test_load_dup_adjacent),
        cmocka_unit_test(test_load_dup_far_apart),
        cmocka_unit_test(test_load_dup_zero),
        cmocka_unit_test(test_load_single_and_zero),
        cmocka_unit_test(test_load_unsorted_order_kept),
        cmocka_unit_test(test_load_little_endian),
        cmocka_unit_test(test_bytes_errors),
        cmocka_unit_test(test_bytes_ok_copies_and_decodes),
        cmocka_unit_test(test_check_unique),
        cmocka_unit_test(test_table_name),
        cmocka_unit_test(test_table_name_small_buffer),
    };
    return cmocka_run_group_tests(tests, tu_setup, tu_teardown);
}
