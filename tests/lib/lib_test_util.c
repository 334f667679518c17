/* lib_test_util.c - the shared helpers of the library's tests (see
 * lib_test_util.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gen_keys.h"
#include "lib_test_util.h"
#include "ph_fs.h"
#include "ph_image.h"

uint64_t *lt_keys64(uint32_t n, uint64_t seed, uint32_t high)
{
    uint32_t *low = gen_keys(GEN_SHUFFLED, n / 2 + 1, seed);
    uint64_t *k = malloc(n * sizeof *k);
    assert_non_null(low);
    assert_non_null(k);
    for (uint32_t i = 0; i < n; i++)
        k[i] = (uint64_t)low[i / 2] | (uint64_t)(high + (i & 1)) << 32;
    free(low);
    return k;
}

static phc_table *built(int rc, phc_table *t, const phc_error *e)
{
    if (rc)
        print_error("build: %s\n", e->msg);
    assert_int_equal(rc, PHC_OK);
    return t;
}

phc_table *lt_build32(const uint32_t *keys, uint32_t n, const phc_options *o)
{
    phc_table *t = NULL;
    phc_error e = {0};
    int rc = phc_table_build32(keys, n, o, &t, &e);
    return built(rc, t, &e);
}

phc_table *lt_build64(const uint64_t *keys, uint32_t n, const phc_options *o)
{
    phc_table *t = NULL;
    phc_error e = {0};
    int rc = phc_table_build64(keys, n, o, &t, &e);
    return built(rc, t, &e);
}

void *lt_read_file(const char *path, size_t *len)
{
    void *p = NULL;
    ph_err pe;
    assert_int_equal(ph_fs_read_all(path, 1u << 30, &p, len, &pe), 0);
    return p;
}

uint8_t *lt_save_image(const phc_table *t, const char *name, size_t *len)
{
    phc_error e = {0};
    assert_int_equal(phc_table_save(t, tu_at(name), &e), PHC_OK);
    return lt_read_file(tu_at(name), len);
}

uint64_t lt_get64(const uint8_t *p, size_t off)
{
    uint64_t v;
    memcpy(&v, p + off, 8);
    return v;
}

void lt_put64(uint8_t *p, size_t off, uint64_t v) { memcpy(p + off, &v, 8); }
void lt_put32(uint8_t *p, size_t off, uint32_t v) { memcpy(p + off, &v, 4); }

void lt_expect_refused(const uint8_t *img, size_t img_len, size_t len, lt_edit edit, int fix,
                       int code)
{
    uint8_t *copy = malloc(img_len ? img_len : 1);
    assert_non_null(copy);
    memcpy(copy, img, img_len);
    if (edit)
        edit(copy, len);
    if (fix) {
        uint32_t c = ph_image_checksum(copy, len);
        memcpy(copy + 48, &c, 4);
    }
    ph_err pe;
    assert_int_equal(ph_fs_write_atomic(tu_at("bad.phc"), copy, len, 0, &pe), 0);
    phc_table *t = (phc_table *)&t;
    phc_error e = {0};
    int rc = phc_table_load(tu_at("bad.phc"), 0, &t, &e);
    if (rc != code)
        print_error("expected %s, got %s: %s\n", phc_strerror(code), phc_strerror(rc), e.msg);
    assert_int_equal(rc, code);
    assert_null(t);
    assert_int_equal(e.code, code);
    assert_non_null(strstr(e.msg, "bad.phc"));
    assert_null(strchr(e.msg, '\n'));
    free(copy);
}
