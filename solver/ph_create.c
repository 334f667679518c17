/* ph_create.c - solve + verify + render (+ write), see ph_create.h. */
#include "ph_create.h"

#include <stdio.h>
#include <string.h>

#include "ph_keys.h"

/* A row for a table that was never built: what we know plus the status. */
static void row_failed(ph_result_row *row, const char *file, uint32_t n,
                       const ph_solve_opts *o, int code)
{
    memset(row, 0, sizeof *row);
    snprintf(row->file, sizeof row->file, "%s", file);
    row->keys = n;
    snprintf(row->hash, sizeof row->hash, "%s", ph_hash_name(o ? o->hash : PH_HASH_AUTO));
    snprintf(row->status, sizeof row->status, "%s", ph_err_name(code));
}

int ph_create_table(const char *name, const uint32_t *v, uint32_t n, const ph_solve_opts *o,
                    ph_table *t, ph_result_row *row, ph_err *err)
{
    return ph_create_table_sized(name, v, 4, n, o, t, row, err);
}

int ph_create_table_sized(const char *name, const void *v, unsigned key_size, uint32_t n,
                          const ph_solve_opts *o, ph_table *t, ph_result_row *row, ph_err *err)
{
    char file[sizeof row->file];
    snprintf(file, sizeof file, "%s.keys", name ? name : "");
    ph_solve_opts defaults;
    if (!o) {
        ph_solve_opts_init(&defaults);
        o = &defaults;
    }
    memset(t, 0, sizeof *t);
    /* ph_solve verifies already; verifying again here would double the
     * cost for nothing, its verify_us is in the row. */
    int rc = key_size == 8 ? ph_solve64(v, n, o, t, err) : ph_solve(v, n, o, t, err);
    if (rc)
        row_failed(row, file, n, o, rc);
    else
        ph_result_row_from_table(row, file, t);
    return rc;
}

int ph_create_from_keys(const char *name, const uint32_t *v, uint32_t n,
                        const ph_solve_opts *o, ph_artifacts *arts, ph_result_row *row,
                        ph_err *err)
{
    return ph_create_from_keys_sized(name, v, 4, n, o, arts, row, err);
}

int ph_create_from_keys_sized(const char *name, const void *v, unsigned key_size, uint32_t n,
                              const ph_solve_opts *o, ph_artifacts *arts, ph_result_row *row,
                              ph_err *err)
{
    ph_table t = {0};
    int rc = ph_create_table_sized(name, v, key_size, n, o, &t, row, err);
    if (!rc && (rc = ph_emit_render(&t, v, name, arts, err)) != 0) {
        char file[sizeof row->file];
        snprintf(file, sizeof file, "%s", row->file);
        row_failed(row, file, n, o, rc);
    }
    ph_table_free(&t);
    return rc;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int ph_create_file(const char *keys_path, const char *out_dir, const ph_solve_opts *o,
                   ph_result_row *row, ph_err *err)
{
    const char *file = base_name(keys_path);
    char name[256];
    ph_keys k = {0};
    int rc = ph_keys_table_name(keys_path, name, sizeof name, err);
    if (!rc)
        rc = ph_keys_load_sized(keys_path, PH_KEY_SIZE_AUTO, &k, err);
    if (rc) {
        row_failed(row, file, 0, o, rc);
        return rc;
    }
    ph_artifacts arts = {0};
    rc = ph_create_from_keys_sized(name, k.key_size == 8 ? (const void *)k.v64 : k.v,
                                   k.key_size, k.n, o, &arts, row, err);
    if (!rc)
        rc = ph_artifacts_write(&arts, out_dir, err);
    if (rc)
        snprintf(row->status, sizeof row->status, "%s", ph_err_name(rc));
    snprintf(row->file, sizeof row->file, "%s", file);
    ph_artifacts_free(&arts);
    ph_keys_free(&k);
    return rc;
}
