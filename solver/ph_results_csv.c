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
    ph_sb_puts(&b, "file,keys,hash,seed0,seed1,seed2,seed3,vertices,attempts,solve_us,verify_us,"
                "table_bytes,status\n");
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

int ph_results_csv_write(const char *outdir, const ph_result_row *rows, size_t n, ph_err *err)
{
    char path[4096];
    int dfd = -1;
    int rc = ph_fs_join(path, sizeof path, outdir, "results.csv", err);
    if (!rc)
        rc = ph_fs_open_dir(outdir, 1, &dfd, err);
    char *text = NULL;
    size_t len = 0;
    if (!rc)
        rc = ph_results_csv_render(rows, n, &text, &len, err);
    if (!rc)
        rc = ph_fs_write_atomic_at(dfd, "results.csv", path, text, len, 0, err);
    free(text);
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
