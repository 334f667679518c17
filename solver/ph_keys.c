/* ph_keys.c - load and validate a set of 32-bit keys (see ph_keys.h). */
#include "ph_keys.h"

#include <stdlib.h>
#include <string.h>

#include "ph_fs.h"

/* Keys files are little-endian whatever the host is. */
static uint32_t load_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Real key sets are strictly ascending: that proves uniqueness with no
 * memory at all, so it is tried first. */
static int keys_ascending(const uint32_t *v, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++)
        if (v[i] <= v[i - 1])
            return 0;
    return 1;
}

static uint32_t slot_of(uint32_t key, uint32_t mask)
{
    return (uint32_t)(((uint64_t)key * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

/* Open addressing on positions (pos + 1, 0 = empty): keys are never moved,
 * so the first duplicate found names both positions. */
static int keys_hash_check(const uint32_t *v, uint32_t n, const char *name, ph_err *err)
{
    uint64_t cap = 16;
    while (cap < (uint64_t)n * 2)
        cap <<= 1;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory checking %u keys for duplicates",
                          name, n);
    uint32_t mask = (uint32_t)(cap - 1);
    int rc = PH_OK;
    for (uint32_t i = 0; i < n && rc == PH_OK; i++) {
        uint32_t s = slot_of(v[i], mask);
        while (slots[s] && v[slots[s] - 1] != v[i])
            s = (s + 1) & mask;
        if (slots[s])
            rc = ph_err_set(err, PH_EDUP, "%s: duplicate key 0x%08x at positions %u and %u",
                            name, v[i], slots[s] - 1, i);
        else
            slots[s] = i + 1;
    }
    free(slots);
    return rc;
}

int ph_keys_check_unique(const uint32_t *v, uint32_t n, const char *name, ph_err *err)
{
    if (keys_ascending(v, n))
        return PH_OK;
    return keys_hash_check(v, n, name, err);
}

int ph_keys_from_bytes(const void *buf, size_t len, const char *name, ph_keys *out, ph_err *err)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return ph_err_set(err, PH_EINVAL, "%s: empty keys file", name);
    if (len % 4)
        return ph_err_set(err, PH_EINVAL,
                          "%s: size %zu bytes is not a multiple of 4 (raw uint32 keys)", name,
                          len);
    if (len / 4 > PH_KEYS_MAX_COUNT)
        return ph_err_set(err, PH_EINVAL, "%s: %zu keys, more than the limit of 2^31", name,
                          len / 4);
    uint32_t n = (uint32_t)(len / 4);
    uint32_t *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory for %u keys", name, n);
    const unsigned char *p = buf;
    for (uint32_t i = 0; i < n; i++)
        v[i] = load_le32(p + (size_t)i * 4);
    int rc = ph_keys_check_unique(v, n, name, err);
    if (rc) {
        free(v);
        return rc;
    }
    out->v = v;
    out->n = n;
    return PH_OK;
}

int ph_keys_load(const char *path, ph_keys *out, ph_err *err)
{
    void *data = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    /* One byte over the limit so an oversized file is reported as such. */
    int rc = ph_fs_read_all(path, (size_t)PH_KEYS_MAX_COUNT * 4 + 4, &data, &len, err);
    if (rc)
        return rc;
    rc = ph_keys_from_bytes(data, len, path, out, err);
    free(data);
    return rc;
}

void ph_keys_free(ph_keys *k)
{
    if (!k)
        return;
    free(k->v);
    k->v = NULL;
    k->n = 0;
}

int ph_keys_table_name(const char *path, char *out, size_t outlen, ph_err *err)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (len <= 5 || strcmp(base + len - 5, ".keys"))
        return ph_err_set(err, PH_EINVAL, "%s: keys file name must be NAME.keys", path);
    if (len - 5 >= outlen)
        return ph_err_set(err, PH_EINVAL, "%s: table name too long", path);
    memcpy(out, base, len - 5);
    out[len - 5] = '\0';
    return PH_OK;
}
