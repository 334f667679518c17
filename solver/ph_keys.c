/* ph_keys.c - load and validate a set of 32- or 64-bit keys (see ph_keys.h). */
#include "ph_keys.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ph_fs.h"

/* Keys files are little-endian whatever the host is. */
static uint32_t load_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t load_le64(const unsigned char *p)
{
    return (uint64_t)load_le32(p) | (uint64_t)load_le32(p + 4) << 32;
}

/* Real key sets are strictly ascending: that proves uniqueness with no
 * memory at all, so it is tried first. */
static int keys_ascending(const void *v, unsigned ksize, uint32_t n)
{
    if (ksize == PH_KEY_SIZE_64) {
        const uint64_t *k = v;
        for (uint32_t i = 1; i < n; i++)
            if (k[i] <= k[i - 1])
                return 0;
        return 1;
    }
    const uint32_t *k = v;
    for (uint32_t i = 1; i < n; i++)
        if (k[i] <= k[i - 1])
            return 0;
    return 1;
}

static uint64_t key_at(const void *v, unsigned ksize, uint32_t i)
{
    return ksize == PH_KEY_SIZE_64 ? ((const uint64_t *)v)[i] : ((const uint32_t *)v)[i];
}

static uint32_t slot_of(uint64_t key, uint32_t mask)
{
    key ^= key >> 32;
    return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

/* Open addressing on positions (pos + 1, 0 = empty): keys are never moved,
 * so the first duplicate found names both positions. */
static int keys_hash_check(const void *v, unsigned ksize, uint32_t n, const char *name,
                           ph_err *err)
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
        uint64_t k = key_at(v, ksize, i);
        uint32_t s = slot_of(k, mask);
        while (slots[s] && key_at(v, ksize, slots[s] - 1) != k)
            s = (s + 1) & mask;
        if (!slots[s])
            slots[s] = i + 1;
        else if (ksize == PH_KEY_SIZE_64)
            rc = ph_err_set(err, PH_EDUP, "%s: duplicate key 0x%016llx at positions %u and %u",
                            name, (unsigned long long)k, slots[s] - 1, i);
        else
            rc = ph_err_set(err, PH_EDUP, "%s: duplicate key 0x%08x at positions %u and %u",
                            name, (uint32_t)k, slots[s] - 1, i);
    }
    free(slots);
    return rc;
}

int ph_keys_check_unique(const uint32_t *v, uint32_t n, const char *name, ph_err *err)
{
    if (keys_ascending(v, PH_KEY_SIZE_32, n))
        return PH_OK;
    return keys_hash_check(v, PH_KEY_SIZE_32, n, name, err);
}

int ph_keys_check_unique64(const uint64_t *v, uint32_t n, const char *name, ph_err *err)
{
    if (keys_ascending(v, PH_KEY_SIZE_64, n))
        return PH_OK;
    return keys_hash_check(v, PH_KEY_SIZE_64, n, name, err);
}

/* Only a letter before the "64" marks 64-bit keys: key sets are commonly
 * named NAME-COUNT.keys (mfc42-6164.keys, wsock-64.keys), and a count that
 * ends in 64 must not turn a file of 32-bit keys into half as many 64-bit
 * ones. */
unsigned ph_keys_size_of_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (len < 8 || strcmp(base + len - 7, "64.keys"))
        return PH_KEY_SIZE_32;
    char c = base[len - 8];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    return letter ? PH_KEY_SIZE_64 : PH_KEY_SIZE_32;
}

unsigned ph_keys_size_resolve(unsigned key_size, const char *path)
{
    return key_size == PH_KEY_SIZE_AUTO ? ph_keys_size_of_name(path) : key_size;
}

static int bytes_checks(size_t len, unsigned ks, const char *name, ph_err *err)
{
    if (ks != PH_KEY_SIZE_32 && ks != PH_KEY_SIZE_64)
        return ph_err_set(err, PH_EINVAL, "%s: key size %u: expected 4 or 8", name, ks);
    if (len == 0)
        return ph_err_set(err, PH_EINVAL, "%s: empty keys file", name);
    if (len % ks)
        return ph_err_set(err, PH_EINVAL, "%s: size %zu bytes is not a multiple of %u "
                          "(key size %u: raw little-endian uint%u keys)", name, len, ks, ks,
                          ks * 8);
    if (len / ks > PH_KEYS_MAX_COUNT)
        return ph_err_set(err, PH_EINVAL, "%s: %zu keys, more than the limit of 2^31", name,
                          len / ks);
    return PH_OK;
}

static int keys_copy(const unsigned char *p, uint32_t n, unsigned ks, ph_keys *out)
{
    if (ks == PH_KEY_SIZE_64) {
        uint64_t *v = malloc((size_t)n * sizeof *v);
        if (!v)
            return PH_ENOMEM;
        for (uint32_t i = 0; i < n; i++)
            v[i] = load_le64(p + (size_t)i * 8);
        out->v64 = v;
    } else {
        uint32_t *v = malloc((size_t)n * sizeof *v);
        if (!v)
            return PH_ENOMEM;
        for (uint32_t i = 0; i < n; i++)
            v[i] = load_le32(p + (size_t)i * 4);
        out->v = v;
    }
    out->n = n;
    out->key_size = ks;
    return PH_OK;
}

int ph_keys_from_bytes_sized(const void *buf, size_t len, unsigned key_size, const char *name,
                             ph_keys *out, ph_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = bytes_checks(len, key_size, name, err);
    if (rc)
        return rc;
    uint32_t n = (uint32_t)(len / key_size);
    if (keys_copy(buf, n, key_size, out))
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory for %u keys", name, n);
    rc = key_size == PH_KEY_SIZE_64 ? ph_keys_check_unique64(out->v64, n, name, err)
                                    : ph_keys_check_unique(out->v, n, name, err);
    if (rc)
        ph_keys_free(out);
    return rc;
}

int ph_keys_from_bytes(const void *buf, size_t len, const char *name, ph_keys *out, ph_err *err)
{
    return ph_keys_from_bytes_sized(buf, len, PH_KEY_SIZE_32, name, out, err);
}

int ph_keys_load_sized(const char *path, unsigned key_size, ph_keys *out, ph_err *err)
{
    void *data = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    unsigned ks = ph_keys_size_resolve(key_size, path);
    /* One key over the limit so an oversized file is reported as such. */
    int rc = ph_fs_read_all(path, (size_t)PH_KEYS_MAX_COUNT * ks + ks, &data, &len, err);
    if (rc)
        return rc;
    rc = ph_keys_from_bytes_sized(data, len, ks, path, out, err);
    free(data);
    return rc;
}

int ph_keys_load(const char *path, ph_keys *out, ph_err *err)
{
    return ph_keys_load_sized(path, PH_KEY_SIZE_32, out, err);
}

void ph_keys_free(ph_keys *k)
{
    if (!k)
        return;
    free(k->v);
    free(k->v64);
    k->v = NULL;
    k->v64 = NULL;
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
