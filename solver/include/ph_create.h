/* ph_create.h - keys in, verified table and its C files out, in one call.
 *
 * The one in-process path shared by `phclient create --local`, the worker
 * and the benchmarks, so all of them produce identical tables and rows. */
#ifndef PH_CREATE_H
#define PH_CREATE_H

#include <stdint.h>

#include "ph_emit.h"
#include "ph_results_csv.h"
#include "ph_err.h"
#include "ph_solver.h"

/* Solve v[0..n) (unique keys; see keys_check_unique), verified by
 * ph_solve, and render the table's files for table name `name` into *arts
 * (appended; caller frees with ph_artifacts_free).  row is always filled,
 * file = "NAME.keys"; on failure only file, keys and the requested hash, with
 * status = ph_err_name(code).  o may be NULL for defaults. */
int ph_create_from_keys(const char *name, const uint32_t *v, uint32_t n,
                        const ph_solve_opts *o, ph_artifacts *arts, ph_result_row *row,
                        ph_err *err);

/* The same for keys of key_size bytes (4: uint32_t v[], 8: uint64_t v[]). */
int ph_create_from_keys_sized(const char *name, const void *v, unsigned key_size, uint32_t n,
                              const ph_solve_opts *o, ph_artifacts *arts, ph_result_row *row,
                              ph_err *err);

/* Solve only (what a worker ships): *t owns the verified table on success
 * (caller frees with ph_table_free); row as for ph_create_from_keys. */
int ph_create_table(const char *name, const uint32_t *v, uint32_t n, const ph_solve_opts *o,
                    ph_table *t, ph_result_row *row, ph_err *err);
int ph_create_table_sized(const char *name, const void *v, unsigned key_size, uint32_t n,
                          const ph_solve_opts *o, ph_table *t, ph_result_row *row, ph_err *err);

/* Load keys_path (key size from its name: ph_keys_size_of_name), derive the
 * table name (keys_table_name), create, and write
 * out_dir/NAME/... atomically.  Does NOT write results.csv: callers that
 * create several tables aggregate rows and call ph_results_csv_write.  row
 * is always filled (file = base name of keys_path). */
int ph_create_file(const char *keys_path, const char *out_dir, const ph_solve_opts *o,
                   ph_result_row *row, ph_err *err);

#endif
