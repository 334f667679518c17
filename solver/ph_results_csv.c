/* ph_results_csv.c - results.csv: one row per table (see ph_results_csv.h). */
#include "ph_results_csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ph_fs.h"
#include "ph_sb_int.h"

/* RFC 4180: quote a field holding a comma, quote, CR or LF; double quotes. */
static void csv_field(ph_sb *b, const char *s)
{
    if (!s[strcspn(s, ",\"\r\n")]) {
        ph_sb_puts(b, s);
        return;
    }
    ph_sb_puts(b, "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            ph_sb_putn(b, p, 1); /* "" inside quotes is one quote */
        ph_sb_putn(b, p, 1);
    }
    ph_sb_puts(b, "\"");
}

static void csv_row(ph_sb *b, const ph_result_row *r)
{
    csv_field(b, r->file);
    ph_sb_printf(b, ",%u,", r->keys);
    csv_field(b, r->hash);
    ph_sb_printf(b, ",%u,%u,%u,%u,%u,%llu,%llu,%llu,%llu,", r->seeds[0], r->seeds[1], r->seeds[2],
              r->seeds[3], r->vertices, (unsigned long long)r->attempts,
              (unsigned long long)r->solve_us, (unsigned long long)r->verify_us,
              (unsigned long long)r->table_bytes);
    csv_field(b, r->status);
    ph_sb_puts(b, "\n");
}

int ph_results_csv_render(const ph_result_row *rows, size_t n, char **text, size_t *len,
                          ph_err *err)
{
    ph_sb b = {0};
    ph_sb_puts(&b, PH_RESULTS_CSV_HEADER);
    for (size_t i = 0; i < n; i++)
        csv_row(&b, &rows[i]);
    if (b.oom) {
        free(b.p);
        *text = NULL;
        *len = 0;
        return ph_err_set(err, PH_ENOMEM, "results.csv: out of memory");
    }
    *text = b.p;
    *len = b.len;
    return PH_OK;
}

/* ---- merging ------------------------------------------------------------ */

/* A row of the existing file: its name and its text as written. */
typedef struct old_row {
    char *name;
    const char *line;
    size_t len, line_no;
} old_row;

typedef struct old_rows {
    old_row *v;
    size_t n, cap;
    const char *shown;
    ph_err *err;
} old_rows;

static int keep_old(void *ctx, const ph_result_row *row, size_t line_no, const char *line,
                    size_t len)
{
    old_rows *o = ctx;
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 256;
        old_row *p = realloc(o->v, cap * sizeof *p);
        if (!p)
            return ph_err_set(o->err, PH_ENOMEM, "%s: out of memory", o->shown);
        o->v = p;
        o->cap = cap;
    }
    char *name = strdup(row->file);
    if (!name)
        return ph_err_set(o->err, PH_ENOMEM, "%s: out of memory", o->shown);
    o->v[o->n++] = (old_row){name, line, len, line_no};
    return PH_OK;
}

static void old_rows_free(old_rows *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->v[i].name);
    free(o->v);
}

static int cmp_old(const void *a, const void *b)
{
    const old_row *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->line_no > y->line_no) - (x->line_no < y->line_no);
}

/* Pointers into one array of rows: by name and, among equal names, by
 * position. */
static int cmp_new(const void *a, const void *b)
{
    const ph_result_row *x = *(const ph_result_row *const *)a;
    const ph_result_row *y = *(const ph_result_row *const *)b;
    int c = strcmp(x->file, y->file);
    return c ? c : (x > y) - (x < y);
}

/* Read old's rows, sorted by name; one name twice is a fault. */
static int load_old(const char *old, size_t old_len, const char *shown, old_rows *o,
                    ph_err *err)
{
    o->shown = shown;
    o->err = err;
    if (old_len == 0 && !old)
        return PH_OK;
    int rc = ph_results_csv_parse(old, old_len, shown, keep_old, o, err);
    if (rc)
        return rc;
    if (o->n > 1)
        qsort(o->v, o->n, sizeof *o->v, cmp_old);
    for (size_t i = 1; i < o->n; i++)
        if (!strcmp(o->v[i].name, o->v[i - 1].name))
            return ph_err_set(err, PH_EINVAL, "%s: lines %zu and %zu list the same file",
                              shown, o->v[i - 1].line_no, o->v[i].line_no);
    return PH_OK;
}

static void merge_into(ph_sb *b, const old_rows *o, const ph_result_row *const *idx,
                       size_t n)
{
    size_t i = 0, k = 0;
    ph_sb_puts(b, PH_RESULTS_CSV_HEADER);
    while (i < o->n || k < n) {
        /* Among equal names in rows the last one wins. */
        while (k + 1 < n && !strcmp(idx[k]->file, idx[k + 1]->file))
            k++;
        int c = i == o->n ? 1 : k == n ? -1 : strcmp(o->v[i].name, idx[k]->file);
        if (c < 0) {
            ph_sb_putn(b, o->v[i].line, o->v[i].len);
            ph_sb_puts(b, "\n");
            i++;
            continue;
        }
        if (c == 0)
            i++; /* replaced */
        csv_row(b, idx[k++]);
    }
}

int ph_results_csv_merge(const char *old, size_t old_len, const char *shown,
                         const ph_result_row *rows, size_t n, char **text, size_t *len,
                         ph_err *err)
{
    *text = NULL;
    *len = 0;
    old_rows o = {0};
    int rc = load_old(old, old_len, shown, &o, err);
    const ph_result_row **idx = NULL;
    if (!rc && n && !(idx = malloc(n * sizeof *idx)))
        rc = ph_err_set(err, PH_ENOMEM, "%s: out of memory", shown);
    if (!rc) {
        for (size_t i = 0; i < n; i++)
            idx[i] = &rows[i];
        if (n > 1)
            qsort(idx, n, sizeof *idx, cmp_new);
        ph_sb b = {0};
        merge_into(&b, &o, idx, n);
        if (b.oom) {
            free(b.p);
            rc = ph_err_set(err, PH_ENOMEM, "%s: out of memory", shown);
        } else {
            *text = b.p;
            *len = b.len;
        }
    }
    free(idx);
    old_rows_free(&o);
    return rc;
}

/* Under the lock: read, merge, write. */
static int merge_locked(int dfd, const char *path, const ph_result_row *rows, size_t n,
                        ph_err *err)
{
    void *old = NULL;
    size_t old_len = 0;
    int rc = ph_fs_read_file_at(dfd, "results.csv", path, PH_RESULTS_CSV_MAX_BYTES,
                                PH_FS_MISSING_OK, &old, &old_len, err);
    char *text = NULL;
    size_t len = 0;
    if (!rc) {
        rc = ph_results_csv_merge(old, old_len, path, rows, n, &text, &len, err);
        if (rc == PH_EINVAL && strlen(err->msg) + 40 < sizeof err->msg)
            strcat(err->msg, "; left as it is, no rows merged");
    }
    if (!rc)
        rc = ph_fs_write_atomic_at(dfd, "results.csv", path, text, len, 0, err);
    free(text);
    free(old);
    return rc;
}

int ph_results_csv_write(const char *outdir, const ph_result_row *rows, size_t n, ph_err *err)
{
    ph_err local = {0};
    if (!err)
        err = &local;
    char path[4096], lock_path[4096];
    int dfd = -1, lfd = -1;
    int rc = ph_fs_join(path, sizeof path, outdir, "results.csv", err);
    if (!rc)
        rc = ph_fs_join(lock_path, sizeof lock_path, outdir, PH_RESULTS_CSV_LOCK, err);
    if (!rc)
        rc = ph_fs_open_dir(outdir, 1, &dfd, err);
    if (!rc)
        rc = ph_fs_lock_at(dfd, PH_RESULTS_CSV_LOCK, lock_path, PH_RESULTS_CSV_LOCK_MS, &lfd,
                           err);
    if (!rc)
        rc = merge_locked(dfd, path, rows, n, err);
    if (lfd >= 0)
        close(lfd); /* releases the lock, after the rename */
    if (dfd >= 0)
        close(dfd);
    return rc;
}

void ph_result_row_from_table(ph_result_row *row, const char *file, const ph_table *t)
{
    memset(row, 0, sizeof *row);
    snprintf(row->file, sizeof row->file, "%s", file ? file : "");
    row->keys = t->nkeys;
    snprintf(row->hash, sizeof row->hash, "%s", ph_hash_name(t->hash));
    memcpy(row->seeds, t->seeds, sizeof row->seeds);
    row->vertices = t->nverts;
    row->attempts = t->attempts;
    row->solve_us = t->solve_us;
    row->verify_us = t->verify_us;
    /* Same as ph_table_bytes; computed here so the emitter needs no solver. */
    row->table_bytes = (uint64_t)t->nverts * t->width;
    snprintf(row->status, sizeof row->status, "ok");
}
