/* ph_part_emit.h - a partitioned table as files, and keys file to table in
 * one call for big sets.
 *
 * Files for table NAME (each relative to the output directory):
 *   NAME/NAME.h, NAME/NAME.c        uint32_t NAME_index(KEY key) and
 *                                   NAME_index_batch(keys, n, out)
 *   NAME/NAME_data.S                embeds the two data files with .incbin
 *   NAME/NAME.buckets, NAME.values  the table data, binary, little-endian
 *   NAME/NAME_test.c, NAME_bench.c  read the keys file named on their
 *                                   command line (CMake passes keys_path)
 *   NAME/CMakeLists.txt */
#ifndef PH_PART_EMIT_H
#define PH_PART_EMIT_H

#include <stddef.h>

#include "ph_artifacts.h"
#include "ph_err.h"
#include "ph_part.h"
#include "ph_results_csv.h"

/* Render t's files for table `name` into *out (appended).  The table's
 * data moves into the artifacts without a copy: on return t->buckets and
 * t->assigned are NULL whatever the outcome (ph_part_free stays safe). */
int ph_part_emit_render(ph_part_table *t, const char *name, const char *keys_path,
                        ph_artifacts *out, ph_err *err);

/* Values (--values 4|8), as one-graph tables have them: with values > 0
 * the files also hold
 *   NAME/NAME.keys    the keys in position order (NAME_find), embedded
 *   NAME/NAME.start   the starting values in key order (if start), embedded
 *                     writable; without it the values start at 0
 * and NAME.h declares NAME_find, NAME_lookup, NAME_insert, NAME_delete and
 * NAME_increment; NAME_test also runs every operation on every key (its
 * second argument is NAME.start).  keys (keys_len = nkeys x key size
 * bytes) and start (start_len = nkeys x values bytes, or NULL) are
 * malloc'd and taken by ph_part_emit_render_opts whatever the outcome (set
 * to NULL); ph_part_emit_render_text_opts only tests start for NULL. */
typedef struct ph_part_emit_opts {
    unsigned values; /* 0 (none), 4 or 8 */
    void *keys;
    size_t keys_len;
    void *start;
    size_t start_len;
} ph_part_emit_opts;

/* ph_part_emit_render with options (NULL: none). */
int ph_part_emit_render_opts(ph_part_table *t, const char *name, const char *keys_path,
                             ph_part_emit_opts *o, ph_artifacts *out, ph_err *err);

/* The text files alone (.h, .c, _data.S, _test.c, _bench.c,
 * CMakeLists.txt): they need only t's nkeys, nbuckets, nverts and seed, so
 * a table whose data is written elsewhere (the cluster's assembly) renders
 * them without holding that data. */
int ph_part_emit_render_text(const ph_part_table *t, const char *name, const char *keys_path,
                             ph_artifacts *out, ph_err *err);
int ph_part_emit_render_text_opts(const ph_part_table *t, const char *name,
                                  const char *keys_path, const ph_part_emit_opts *o,
                                  ph_artifacts *out, ph_err *err);

/* Map keys_path, solve it partitioned with o, write out_dir/NAME/... (each
 * file atomically; on failure none of them stays).  keys_path should be
 * absolute: the generated CMakeLists refers to it.  row is always filled
 * (hash "part", seeds = table seed low/high and bucket count). */
int ph_part_create_file(const char *keys_path, const char *out_dir, const ph_part_opts *o,
                        ph_result_row *row, ph_err *err);
/* The same for keys of key_size bytes (4, 8, or PH_KEY_SIZE_AUTO: from the
 * file name, ph_keys.h); the generated NAME_index then takes that type. */
int ph_part_create_file_sized(const char *keys_path, unsigned key_size, const char *out_dir,
                              const ph_part_opts *o, ph_result_row *row, ph_err *err);

/* What ph_part_create_file_emit writes: the C sources and data files,
 * the binary table file NAME/NAME.phc (ph_image.h; rendered in memory
 * while the keys are still held), and whether that file keeps the keys
 * (membership for the library's phc_table_find). */
#define PH_PART_EMIT_C 1u
#define PH_PART_EMIT_BIN 2u
#define PH_PART_EMIT_KEYS 4u
int ph_part_create_file_emit(const char *keys_path, unsigned key_size, const char *out_dir,
                             const ph_part_opts *o, unsigned emit, ph_result_row *row,
                             ph_err *err);
/* The same with values of `values` bytes (0: none; 4 or 8: needs
 * PH_PART_EMIT_KEYS): the C files get NAME.keys, NAME.start and the value
 * operations (ph_part_emit_render_opts), NAME.phc a values section.  They
 * start at 0, or at values_path's values: one little-endian value per key
 * in key order, exactly as many as keys (else one line naming it). */
/* A values file for nkeys keys of keys_path: a regular file of one value
 * of vs bytes per key; else PH_EINVAL (PH_EIO if it cannot be read) with
 * one line naming it (the size that is not a multiple of vs, or the count
 * against the keys). */
int ph_part_values_check(const char *path, unsigned vs, uint64_t nkeys, const char *keys_path,
                         ph_err *err);

int ph_part_create_file_values(const char *keys_path, unsigned key_size, const char *out_dir,
                               const ph_part_opts *o, unsigned emit, unsigned values,
                               const char *values_path, ph_result_row *row, ph_err *err);

#endif
