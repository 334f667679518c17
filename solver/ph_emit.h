/* ph_emit.h - a solved table as a small C library, and results.csv.
 *
 * Rendering produces artifacts in memory (so a worker can ship them over the
 * network); writing lays them out under an output dir atomically. */
#ifndef PH_EMIT_H
#define PH_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "ph_err.h"
#include "ph_solver.h"

typedef struct ph_artifact {
    char *path;   /* owned; relative, e.g. "NAME/NAME.h" */
    char *data;   /* owned */
    size_t len;
} ph_artifact;

typedef struct ph_artifacts {
    ph_artifact *items; /* owned */
    size_t count;
} ph_artifacts;

/* Render NAME/NAME.h, NAME/NAME.c, NAME/NAME_test.c, NAME/NAME_bench.c and
 * NAME/CMakeLists.txt for table t built from keys (the test embeds the keys).
 * name is the table name (keys_table_name); C symbols use a sanitized form. */
int ph_emit_render(const ph_table *t, const uint32_t *keys, const char *name,
                   ph_artifacts *out, ph_err *err);

/* Append one artifact (takes copies). */
int ph_artifacts_add(ph_artifacts *a, const char *path, const void *data, size_t len,
                     ph_err *err);

/* Write every artifact under outdir (creating subdirs), each atomically.
 * Refuses artifact paths that are absolute or contain "..". */
int ph_artifacts_write(const ph_artifacts *a, const char *outdir, ph_err *err);

void ph_artifacts_free(ph_artifacts *a);

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
