/* fuzz_keys_load - libFuzzer target for keys_from_bytes and
 * ph_keys_check_unique (solver/include/ph_keys.h), for both key sizes:
 * every input is read as 4-byte and as 8-byte keys.
 *
 * Oracle, independent of ph_keys.c: sort a copy and look for equal
 * neighbours.  Empty or ragged input must be refused; input with a
 * duplicate must be refused with PH_EDUP; anything else must load, in the
 * input's order, as little-endian uint32 (uint64), and pass
 * keys_check_unique (keys_check_unique64). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ph_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const ph_err *err)
{
    fprintf(stderr, "fuzz_keys_load: %s (%s)\n", what, err ? err->msg : "");
    abort();
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
           | (uint32_t)p[3] << 24;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static bool has_dup(const uint8_t *data, size_t n)
{
    uint32_t *v = malloc(n * sizeof *v);
    if (!v)
        die("out of memory in the oracle", NULL);
    for (size_t i = 0; i < n; i++)
        v[i] = le32(data + 4 * i);
    qsort(v, n, sizeof *v, cmp_u32);
    bool dup = false;
    for (size_t i = 1; i < n && !dup; i++)
        dup = v[i] == v[i - 1];
    free(v);
    return dup;
}

static bool has_dup64(const uint8_t *data, size_t n)
{
    uint64_t *v = malloc(n * sizeof *v);
    if (!v)
        die("out of memory in the oracle", NULL);
    for (size_t i = 0; i < n; i++)
        v[i] = le64(data + 8 * i);
    qsort(v, n, sizeof *v, cmp_u64);
    bool dup = false;
    for (size_t i = 1; i < n && !dup; i++)
        dup = v[i] == v[i - 1];
    free(v);
    return dup;
}

static void check_refusal(int rc, const ph_err *err, const ph_keys *k)
{
    if (err->msg[0] == '\0' || strchr(err->msg, '\n'))
        die("refusal without a one-line message", err);
    if (!strstr(err->msg, "fuzz"))
        die("error does not name the input", err);
    if (rc != PH_EINVAL && rc != PH_EDUP)
        die("unexpected error code", err);
    if (k->v != NULL || k->v64 != NULL)
        die("output holds memory after a failure", err);
}

static void one_input64(const uint8_t *data, size_t size)
{
    ph_keys k = { 0 };
    ph_err err = { 0 };
    int rc = ph_keys_from_bytes_sized(data, size, 8, "fuzz", &k, &err);
    size_t n = size / 8;
    if (size == 0 || size % 8 != 0) {
        if (rc == 0)
            die("empty or ragged 64-bit input accepted", NULL);
        if (size % 8 && !strstr(err.msg, "key size 8"))
            die("ragged 64-bit input: the error does not name the key size", &err);
        check_refusal(rc, &err, &k);
        return;
    }
    if (has_dup64(data, n)) {
        if (rc != PH_EDUP)
            die("64-bit duplicate not refused with PH_EDUP", &err);
        check_refusal(rc, &err, &k);
        return;
    }
    if (rc != 0)
        die("unique 64-bit keys refused", &err);
    if (k.n != n || k.key_size != 8 || k.v != NULL)
        die("wrong 64-bit key count or size", NULL);
    for (size_t i = 0; i < n; i++)
        if (k.v64[i] != le64(data + 8 * i))
            die("64-bit keys reordered or misread", NULL);
    if (ph_keys_check_unique64(k.v64, k.n, "fuzz", &err) != 0)
        die("keys_check_unique64 refuses loaded keys", &err);
    ph_keys_free(&k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one_input64(data, size);
    ph_keys k = { 0 };
    ph_err err = { 0 };
    int rc = ph_keys_from_bytes(data, size, "fuzz", &k, &err);
    size_t n = size / 4;
    if (size == 0 || size % 4 != 0) {
        if (rc == 0)
            die("empty or ragged input accepted", NULL);
        check_refusal(rc, &err, &k);
        return 0;
    }
    bool dup = has_dup(data, n);
    if (dup) {
        if (rc != PH_EDUP)
            die("duplicate not refused with PH_EDUP", &err);
        check_refusal(rc, &err, &k);
        return 0;
    }
    if (rc != 0)
        die("unique keys refused", &err);
    if (k.n != n)
        die("wrong key count", NULL);
    for (size_t i = 0; i < n; i++)
        if (k.v[i] != le32(data + 4 * i))
            die("keys reordered or misread", NULL);
    if (ph_keys_check_unique(k.v, k.n, "fuzz", &err) != 0)
        die("keys_check_unique refuses loaded keys", &err);
    ph_keys_free(&k);
    return 0;
}
