/* gen_table_corpus OUT_DIR - the seed corpus of fuzz_table_load: small
 * saved tables of every kind (one graph: power-of-two, compact, 16- and
 * 32-bit values, each hash family; partitioned; index-only; 32- and
 * 64-bit keys; with 4- and 8-byte values), each behind
 * the target's mode byte, plus a few refused ones.  Deterministic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_keys.h"
#include "ph_fs.h"
#include "phcluster.h"

static int emit(const char *dir, const char *name, unsigned mode, const uint8_t *img,
                size_t len)
{
    char path[4096];
    uint8_t *buf = malloc(len + 1);
    if (!buf)
        return -1;
    buf[0] = (uint8_t)mode;
    memcpy(buf + 1, img, len);
    ph_err err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = ph_fs_write_atomic(path, buf, len + 1, 0, &err);
    if (rc)
        fprintf(stderr, "gen_table_corpus: %s\n", err.msg);
    free(buf);
    return rc;
}

static int build(uint32_t n, int wide, const phc_options *o, phc_table **t, phc_error *e)
{
    uint32_t *keys = gen_keys(GEN_SHUFFLED, n, n);
    uint64_t *k64 = malloc(n * sizeof *k64);
    uint64_t *vals = malloc(n * sizeof *vals); /* starting values i * 3 + 1 */
    phc_options vo = *o;
    int rc = -1;
    if (keys && k64 && vals) {
        for (uint32_t i = 0; i < n; i++) {
            k64[i] = (uint64_t)keys[i / 2 * 2] | (uint64_t)(i & 1) << 40;
            if (o->value_size == 8)
                vals[i] = (uint64_t)i * 3 + 1;
            else
                ((uint32_t *)vals)[i] = i * 3 + 1;
        }
        vo.values = o->value_size ? vals : NULL;
        rc = wide ? phc_table_build64(k64, n, &vo, t, e) : phc_table_build32(keys, n, &vo, t, e);
    }
    free(keys);
    free(k64);
    free(vals);
    return rc;
}

static int table(const char *dir, const char *name, uint32_t n, int wide, const phc_options *o)
{
    char path[4096];
    phc_table *t;
    phc_error e = {0};
    snprintf(path, sizeof path, "%s/.tmp.phc", dir);
    if (build(n, wide, o, &t, &e) || phc_table_save(t, path, &e)) {
        fprintf(stderr, "gen_table_corpus: %s: %s\n", name, e.msg);
        return -1;
    }
    phc_table_free(t);
    void *img;
    size_t len;
    ph_err err;
    int rc = ph_fs_read_all(path, 1 << 20, &img, &len, &err);
    remove(path);
    char seed[256];
    for (unsigned mode = 0; !rc && mode < 4; mode++) {
        snprintf(seed, sizeof seed, "%s-m%u", name, mode);
        rc = emit(dir, seed, mode, img, len);
    }
    /* A truncated and a re-versioned copy, checksum fixed by the mode. */
    if (!rc) {
        snprintf(seed, sizeof seed, "%s-cut", name);
        rc = emit(dir, seed, 1, img, len / 2);
    }
    if (!rc) {
        ((uint8_t *)img)[8] = 2;
        snprintf(seed, sizeof seed, "%s-v2", name);
        rc = emit(dir, seed, 1, img, len);
    }
    free(img);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_table_corpus OUT_DIR\n");
        return 2;
    }
    ph_err err;
    if (ph_fs_mkdirs(argv[1], &err)) {
        fprintf(stderr, "gen_table_corpus: %s\n", err.msg);
        return 1;
    }
    phc_options o;
    int rc = 0;
    const struct { const char *name; uint32_t n; uint32_t part; int compact; phc_hash hash;
                   int index_only; int wide; unsigned vs; } s[] = {
        {"chm-pow2-w2", 120, PHC_PARTITION_OFF, 0, PHC_HASH_AUTO, 0, 0, 0},
        {"chm-compact", 120, PHC_PARTITION_OFF, 1, PHC_HASH_MIX, 0, 0, 0},
        {"chm-mulshift", 60, PHC_PARTITION_OFF, 0, PHC_HASH_MULSHIFT, 0, 0, 0},
        {"chm-mulrot", 60, PHC_PARTITION_OFF, 0, PHC_HASH_MULROT, 0, 0, 0},
        {"chm-index-only", 120, PHC_PARTITION_OFF, 0, PHC_HASH_AUTO, 1, 0, 0},
        {"chm-one", 1, PHC_PARTITION_OFF, 0, PHC_HASH_AUTO, 0, 0, 0},
        {"part", 300, 30, 0, PHC_HASH_AUTO, 0, 0, 0},
        {"part-tiny-buckets", 64, 2, 0, PHC_HASH_AUTO, 0, 0, 0},
        {"part-index-only", 300, 60, 0, PHC_HASH_AUTO, 1, 0, 0},
        {"chm64", 120, PHC_PARTITION_OFF, 0, PHC_HASH_AUTO, 0, 1, 0},
        {"chm64-compact", 120, PHC_PARTITION_OFF, 1, PHC_HASH_AUTO, 0, 1, 0},
        {"part64", 300, 30, 0, PHC_HASH_AUTO, 0, 1, 0},
        {"part64-index-only", 300, 60, 0, PHC_HASH_AUTO, 1, 1, 0},
        {"chm-values4", 120, PHC_PARTITION_OFF, 0, PHC_HASH_AUTO, 0, 0, 4},
        {"chm64-values8", 120, PHC_PARTITION_OFF, 1, PHC_HASH_AUTO, 0, 1, 8},
        {"part-values8", 300, 30, 0, PHC_HASH_AUTO, 0, 0, 8},
        {"part64-values4", 300, 30, 0, PHC_HASH_AUTO, 0, 1, 4},
    };
    for (size_t i = 0; !rc && i < sizeof s / sizeof s[0]; i++) {
        phc_options_init(&o);
        o.partition = s[i].part;
        o.compact = s[i].compact;
        o.hash = s[i].hash;
        o.index_only = s[i].index_only;
        o.threads = 1;
        o.value_size = s[i].vs;
        rc = table(argv[1], s[i].name, s[i].n, s[i].wide, &o);
    }
    return rc ? 1 : 0;
}
