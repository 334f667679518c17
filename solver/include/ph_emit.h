/* ph_emit.h - a solved table rendered as a small C library (in memory). */
#ifndef PH_EMIT_H
#define PH_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ph_artifacts.h"
#include "ph_err.h"
#include "ph_solver.h"

typedef struct ph_emit_opts {
    /* false (default): the keys are kept in the table, in position order,
     * and NAME_find(key) returns the index or NAME_NOT_FOUND for any key not
     * in the set.  true: NAME_index only, about half the table's size. */
    bool index_only;
    /* 4 or 8: one uint32_t / uint64_t value per key and NAME_lookup,
     * NAME_insert, NAME_delete, NAME_increment over them (needs the key
     * set: refused with index_only); 0 (default): none. */
    unsigned values;
    /* The values to start from: nkeys of `values` bytes in key order, host
     * order; NULL (default): all 0. */
    const void *initial_values;
} ph_emit_opts;

void ph_emit_opts_init(ph_emit_opts *o);

/* Render NAME/NAME.h, NAME/NAME.c, NAME/NAME_test.c, NAME/NAME_bench.c and
 * NAME/CMakeLists.txt for table t built from keys (the test embeds the keys).
 * keys are uint32_t, or uint64_t for a table of 64-bit keys (t->key_size
 * 8, whose NAME_index and NAME_find take a uint64_t key).
 * name is the table name (ph_keys_table_name); C symbols use a sanitized form. */
int ph_emit_render(const ph_table *t, const void *keys, const char *name,
                   ph_artifacts *out, ph_err *err);
/* The same with options (NULL: defaults). */
int ph_emit_render_opts(const ph_table *t, const void *keys, const char *name,
                        const ph_emit_opts *opts, ph_artifacts *out, ph_err *err);

/* The C identifier a table name gets (NAME_index, NAME_KEYS, guard NAME_H):
 * bytes outside [A-Za-z0-9_] become '_', and "ph_" goes in front of a name
 * that starts with a digit or '_'.  out gets at most outlen - 1 bytes. */
void ph_emit_symbol(const char *name, char *out, size_t outlen);

/* For names[0..n): first[i] = the lowest index whose name gives the same C
 * symbol as names[i] (i itself when no earlier name does).  Two tables with
 * one symbol cannot be linked into one program; a job keeps the first. */
int ph_emit_symbol_clashes(const char *const *names, size_t n, size_t *first, ph_err *err);

#endif
