/* fuzz_keys_load - libFuzzer target for keys_from_bytes and
 * keys_check_unique (solver/keys.h).
 *
 * Oracle: for small inputs a quadratic duplicate search decides what the
 * answer must be; loaded keys must equal the input read as LE uint32. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
           | (uint32_t)p[3] << 24;
}

static int has_dup(const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (le32(data + 4 * i) == le32(data + 4 * j))
                return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    keys k = { 0 };
    ph_err err = { 0 };
    int rc = keys_from_bytes(data, size, "fuzz", &k, &err);
    size_t n = size / 4;
    int shape_ok = size > 0 && size % 4 == 0;
    if (!shape_ok) {
        if (rc == 0)
            abort();   /* empty or ragged input must be refused */
        return 0;
    }
    /* quadratic oracle only where it is cheap */
    if (n <= 512 && (rc == 0) == has_dup(data, n))
        abort();
    if (rc != 0) {
        if (err.msg[0] == '\0')
            abort();
        return 0;
    }
    if (k.n != n)
        abort();
    for (size_t i = 0; i < n; i++)
        if (k.v[i] != le32(data + 4 * i))
            abort();
    if (keys_check_unique(k.v, k.n, "fuzz", &err) != 0)
        abort();
    keys_free(&k);
    return 0;
}
