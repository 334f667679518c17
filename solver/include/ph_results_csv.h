/* ph_results_csv.h - results.csv: one row per table of a job. */
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

/* Header + rows as CSV text (malloc'd, caller frees). */
int ph_results_csv_render(const ph_result_row *rows, size_t n, char **text, size_t *len,
                          ph_err *err);

/* Render and write outdir/results.csv atomically. */
int ph_results_csv_write(const char *outdir, const ph_result_row *rows, size_t n, ph_err *err);

/* Fill a row from a solved table (status "ok"). */
void ph_result_row_from_table(ph_result_row *row, const char *file, const ph_table *t);

#endif
