/* ph_part_create.c - keys file to written partitioned table (see
 * ph_part_emit.h): keys read once, one solve, files moved out of the table. */
#include "ph_part_emit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ph_fs.h"
#include "ph_image.h"
#include "ph_keys.h"
#include "ph_keys_map.h"

static void row_init(ph_result_row *row, const char *keys_path)
{
    const char *base = strrchr(keys_path, '/');
    memset(row, 0, sizeof *row);
    snprintf(row->file, sizeof row->file, "%s", base ? base + 1 : keys_path);
    snprintf(row->hash, sizeof row->hash, "part");
}

static void row_fill(ph_result_row *row, const ph_part_table *t)
{
    row->keys = t->nkeys;
    row->seeds[0] = (uint32_t)t->seed;
    row->seeds[1] = (uint32_t)(t->seed >> 32);
    row->seeds[2] = t->nbuckets;
    row->vertices = t->nverts > UINT32_MAX ? UINT32_MAX : (uint32_t)t->nverts;
    row->attempts = t->attempts;
    row->solve_us = t->solve_us;
    row->verify_us = t->verify_us;
    row->table_bytes = ph_part_bytes(t);
}

int ph_part_create_file(const char *keys_path, const char *out_dir, const ph_part_opts *o,
                        ph_result_row *row, ph_err *err)
{
    return ph_part_create_file_emit(keys_path, PH_KEY_SIZE_32, out_dir, o, PH_PART_EMIT_C, row,
                                    err);
}

int ph_part_create_file_sized(const char *keys_path, unsigned key_size, const char *out_dir,
                              const ph_part_opts *o, ph_result_row *row, ph_err *err)
{
    return ph_part_create_file_emit(keys_path, key_size, out_dir, o, PH_PART_EMIT_C, row, err);
}

/* The solver and renderers speak of keys, buckets and images: name the
 * keys file in front of their message. */
static int on_file(int rc, const char *keys_path, const ph_err *sub, ph_err *err)
{
    return rc ? ph_err_set(err, rc, "%s: %s", keys_path, sub->msg) : PH_OK;
}

/* The keys copy goes once split: the C files do not need it and the
 * values then take its place in memory (its identity, for the check that
 * the file did not change, stays). */
static void drop_keys(void *ctx)
{
    ph_keys_map *km = ctx;
    free(km->copy);
    km->copy = NULL;
    km->v = NULL;
    km->v64 = NULL;
}

int ph_part_create_file_emit(const char *keys_path, unsigned key_size, const char *out_dir,
                             const ph_part_opts *o, unsigned emit, ph_result_row *row,
                             ph_err *err)
{
    return ph_part_create_file_values(keys_path, key_size, out_dir, o, emit, 0, NULL, row, err);
}

/* The starting values, checked (ph_part_values_check) and read. */
int ph_part_values_check(const char *path, unsigned vs, uint64_t nkeys, const char *keys_path,
                         ph_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return ph_err_set(err, PH_EIO, "%s: cannot read: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return ph_err_set(err, PH_EINVAL, "%s: not a regular file", path);
    if ((uint64_t)st.st_size % vs)
        return ph_err_set(err, PH_EINVAL, "%s: size %llu bytes is not a multiple of %u (values "
                          "of %u bytes)", path, (unsigned long long)st.st_size, vs, vs);
    if ((uint64_t)st.st_size != nkeys * vs)
        return ph_err_set(err, PH_EINVAL, "%s: %llu values, but %s has %llu keys (one value "
                          "per key, in key order)", path, (unsigned long long)st.st_size / vs,
                          keys_path, (unsigned long long)nkeys);
    return PH_OK;
}

static int read_start(const char *path, unsigned vs, uint32_t nkeys, const char *keys_path,
                      void **buf, size_t *len, ph_err *err)
{
    uint64_t want = (uint64_t)nkeys * vs;
    *buf = NULL;
    int rc = ph_part_values_check(path, vs, nkeys, keys_path, err);
    if (rc)
        return rc;
    rc = ph_fs_read_all(path, (size_t)want, buf, len, err);
    if (!rc && *len != want) { /* changed since the stat */
        free(*buf);
        *buf = NULL;
        rc = ph_err_set(err, PH_EINVAL, "%s: changed while being read", path);
    }
    return rc;
}

/* NAME.phc: the table, its keys if kept, its values (start or zeros). */
static int image_artifact(const ph_part_table *t, const ph_keys_map *km, unsigned emit,
                          unsigned values, const void *start, const char *name,
                          ph_artifacts *arts, ph_err *err)
{
    const void *keys = km->key_size == 8 ? (const void *)km->v64 : (const void *)km->v;
    ph_image_src img = {.kind = PH_IMAGE_PART, .part = t, .key_size = (uint8_t)km->key_size,
                        .keys = emit & PH_PART_EMIT_KEYS ? keys : NULL,
                        .values = start, .value_size = (uint8_t)values};
    void *zeros = NULL;
    if (values && !start && !(img.values = zeros = calloc(t->nkeys, values)))
        return ph_err_set(err, PH_ENOMEM, "out of memory for %u values", t->nkeys);
    int rc = ph_image_artifact(&img, name, arts, err);
    free(zeros);
    return rc;
}

int ph_part_create_file_values(const char *keys_path, unsigned key_size, const char *out_dir,
                               const ph_part_opts *o, unsigned emit, unsigned values,
                               const char *values_path, ph_result_row *row, ph_err *err)
{
    char name[256];
    ph_keys_map km;
    ph_part_table t = {0};
    ph_artifacts arts = {0};
    ph_err sub = {0};
    row_init(row, keys_path);
    int rc = ph_keys_table_name(keys_path, name, sizeof name, err);
    if (!rc)
        rc = ph_keys_map_open_sized(keys_path, key_size, &km, err);
    if (rc) {
        snprintf(row->status, sizeof row->status, "%s", ph_err_name(rc));
        return rc;
    }
    row->keys = km.n;
    ph_part_opts po;
    if (o)
        po = *o;
    else
        ph_part_opts_init(&po);
    /* Values need the keys: in NAME.phc, and as NAME.keys beside the C. */
    if (values && !(emit & PH_PART_EMIT_KEYS))
        rc = ph_err_set(err, PH_EINVAL, "%s: values need the key set (not index-only)",
                        keys_path);
    else if (values != 0 && values != 4 && values != 8)
        rc = ph_err_set(err, PH_EINVAL, "%s: values of %u bytes: expected 4 or 8", keys_path,
                        values);
    /* A bad values file is refused before the solve. */
    ph_part_emit_opts eo = {.values = values};
    if (!rc && values && values_path)
        rc = read_start(values_path, values, km.n, keys_path, &eo.start, &eo.start_len, err);
    if (rc) {
        ph_keys_map_close(&km);
        snprintf(row->status, sizeof row->status, "%s", ph_err_name(rc));
        return rc;
    }
    bool keep_keys = ((emit & PH_PART_EMIT_BIN) && (emit & PH_PART_EMIT_KEYS)) || values;
    if (!keep_keys) {
        po.split_done = drop_keys;
        po.split_ctx = &km;
    }
    rc = km.key_size == 8 ? ph_part_solve64(km.v64, km.n, &po, &t, &sub)
                          : ph_part_solve(km.v, km.n, &po, &t, &sub);
    rc = on_file(rc, keys_path, &sub, err);
    if (!rc)
        rc = ph_keys_map_unchanged(&km, keys_path, err);
    if (!rc)
        row_fill(row, &t);
    if (!rc && (emit & PH_PART_EMIT_BIN))
        rc = on_file(image_artifact(&t, &km, emit, values, eo.start, name, &arts, &sub),
                     keys_path, &sub, err);
    if (values) { /* NAME.keys takes the keys read (no copy) */
        eo.keys = km.copy;
        eo.keys_len = (size_t)km.n * km.key_size;
        km.copy = NULL;
    }
    ph_keys_map_close(&km);
    if (!rc && (emit & PH_PART_EMIT_C))
        rc = on_file(ph_part_emit_render_opts(&t, name, keys_path, &eo, &arts, &sub), keys_path,
                     &sub, err);
    free(eo.keys); /* not taken by the renderer */
    free(eo.start);
    ph_part_free(&t);
    if (!rc)
        rc = ph_artifacts_write(&arts, out_dir, err);
    ph_artifacts_free(&arts);
    snprintf(row->status, sizeof row->status, "%s", rc ? ph_err_name(rc) : "ok");
    return rc;
}
