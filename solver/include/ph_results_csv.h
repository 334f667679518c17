/* ph_results_csv.h - results.csv: one row per table of an output directory.
 *
 * Several jobs may write tables into one directory, one after another or at
 * once (several coordinators, phclient --local runs): each merges its rows
 * into the directory's results.csv under an exclusive lock, replacing the
 * rows of the files it built and keeping every other row, so the file
 * lists every table of the directory, in file-name order.  An existing
 * file that does not parse is never overwritten. */
#ifndef PH_RESULTS_CSV_H
#define PH_RESULTS_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "ph_err.h"
#include "ph_solver.h"

/* One row of results.csv. */
typedef struct ph_result_row {
    char file[256];       /* keys file base name */
    uint32_t keys;
    char hash[16];
    uint32_t seeds[4];
    uint32_t vertices;
    uint64_t attempts;
    uint64_t solve_us;
    uint64_t verify_us;
    uint64_t table_bytes;
    char status[64];      /* "ok" or an error code name, e.g. "EDUP" */
} ph_result_row;

/* The first line of every results.csv. */
#define PH_RESULTS_CSV_HEADER                                                            \
    "file,keys,hash,seed0,seed1,seed2,seed3,vertices,attempts,solve_us,verify_us,"        \
    "table_bytes,status\n"
/* Largest results.csv read back for a merge (about 2M rows). */
#define PH_RESULTS_CSV_MAX_BYTES (256u << 20)
/* The lock file beside it, and how long a writer waits for the lock. */
#define PH_RESULTS_CSV_LOCK ".results.csv.lock"
#define PH_RESULTS_CSV_LOCK_MS 10000u

/* Header + rows as CSV text (malloc'd, caller frees). */
int ph_results_csv_render(const ph_result_row *rows, size_t n, char **text, size_t *len,
                          ph_err *err);

/* Called for each row of a parsed results.csv: the row, the line it starts
 * on, and its text as it stands in the file (without the final newline).
 * Non-zero stops the parse and is returned (set err yourself). */
typedef int (*ph_results_csv_row_fn)(void *ctx, const ph_result_row *row, size_t line_no,
                                     const char *line, size_t line_len);

/* Parse results.csv text strictly (ph_results_csv_parse.c): our header,
 * then rows of exactly 13 fields as the writer renders them, each ended by
 * LF; fn (may be NULL) gets each row.  A fault: PH_EINVAL with one line
 * naming shown, the line and the field. */
int ph_results_csv_parse(const char *text, size_t len, const char *shown,
                         ph_results_csv_row_fn fn, void *ctx, ph_err *err);

/* old (len old_len, may be empty: no file) with rows merged in: a row of
 * rows replaces the row of the same file name (the last of rows wins among
 * equal names), every other row of old is kept as it was written, all in
 * file-name (strcmp) order.  old that does not parse, or lists one file
 * twice, is refused (PH_EINVAL, err names shown).  *text is malloc'd. */
int ph_results_csv_merge(const char *old, size_t old_len, const char *shown,
                         const ph_result_row *rows, size_t n, char **text, size_t *len,
                         ph_err *err);

/* Merge rows into outdir/results.csv (creating outdir and the file): under
 * an flock of outdir/.results.csv.lock, read the file, merge, write a
 * temporary and rename it over the file; no link followed anywhere below
 * outdir.  A malformed file is left untouched and refused. */
int ph_results_csv_write(const char *outdir, const ph_result_row *rows, size_t n, ph_err *err);

/* Fill a row from a solved table (status "ok"). */
void ph_result_row_from_table(ph_result_row *row, const char *file, const ph_table *t);

#endif
