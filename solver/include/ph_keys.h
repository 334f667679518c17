/* ph_keys.h - load and validate a set of 32-bit keys.
 *
 * A keys file is raw little-endian uint32 with no header.  The position of a
 * key in the file is its index in the table, so keys are never reordered:
 * unsorted unique keys are fine, duplicates are refused. */
#ifndef PH_KEYS_H
#define PH_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "ph_err.h"

#define PH_KEYS_MAX_COUNT (1u << 31)

typedef struct ph_keys {
    uint32_t *v;      /* owned; n entries, host byte order */
    uint32_t n;
} ph_keys;

/* Load path.  Errors (one line naming the file): cannot open, not a regular
 * file, empty, size not a multiple of 4, more than 2^31 keys, duplicate key
 * (naming the value and both positions). */
int ph_keys_load(const char *path, ph_keys *out, ph_err *err);

/* Same checks on bytes already in memory (e.g. a TASK message); name is
 * used in error messages.  Copies the bytes. */
int ph_keys_from_bytes(const void *buf, size_t len, const char *name, ph_keys *out, ph_err *err);

/* Check n keys for duplicates without reordering them.  O(n) expected. */
int ph_keys_check_unique(const uint32_t *v, uint32_t n, const char *name, ph_err *err);

void ph_keys_free(ph_keys *k);

/* "dir/foo-123.keys" -> "foo-123" in out (the table name).  Returns
 * PH_EINVAL if the base name is empty or does not end in ".keys". */
int ph_keys_table_name(const char *path, char *out, size_t outlen, ph_err *err);

#endif
