/* ph_emit.h - a solved table rendered as a small C library (in memory). */
#ifndef PH_EMIT_H
#define PH_EMIT_H

#include <stdint.h>

#include "ph_artifacts.h"
#include "ph_err.h"
#include "ph_solver.h"

/* Render NAME/NAME.h, NAME/NAME.c, NAME/NAME_test.c, NAME/NAME_bench.c and
 * NAME/CMakeLists.txt for table t built from keys (the test embeds the keys).
 * name is the table name (ph_keys_table_name); C symbols use a sanitized form. */
int ph_emit_render(const ph_table *t, const uint32_t *keys, const char *name,
                   ph_artifacts *out, ph_err *err);

#endif
