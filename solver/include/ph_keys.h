/* ph_keys.h - load and validate a set of 32-bit or 64-bit keys.
 *
 * A keys file is raw little-endian keys with no header: uint32 (key size 4,
 * the default) or uint64 (key size 8; a file whose name ends in a letter
 * then "64.keys" is read as 8 unless told otherwise).  The position of a key in the file
 * is its index in the table, so keys are never reordered: unsorted unique
 * keys are fine, duplicates are refused. */
#ifndef PH_KEYS_H
#define PH_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "ph_err.h"

#define PH_KEYS_MAX_COUNT (1u << 31)

/* Key sizes in bytes.  PH_KEY_SIZE_AUTO: from the file name (ph_keys_size_of_name). */
#define PH_KEY_SIZE_AUTO 0u
#define PH_KEY_SIZE_32 4u
#define PH_KEY_SIZE_64 8u

typedef struct ph_keys {
    uint32_t *v;      /* key size 4: owned, n entries, host byte order; else NULL */
    uint64_t *v64;    /* key size 8: owned, n entries, host byte order; else NULL */
    uint32_t n;
    unsigned key_size; /* 4 or 8 */
} ph_keys;

/* The key size a keys file's name implies: 8 when its base name ends in a
 * letter then "64.keys" (foo64.keys, ids-u64.keys), else 4 (also for
 * NAME-64.keys and NAME-1264.keys, where the digits are a key count). */
unsigned ph_keys_size_of_name(const char *path);

/* key_size as given (4 or 8), or from path's name when PH_KEY_SIZE_AUTO. */
unsigned ph_keys_size_resolve(unsigned key_size, const char *path);

/* Load path as 32-bit keys.  Errors (one line naming the file): cannot
 * open, not a regular file, empty, size not a multiple of 4, more than 2^31
 * keys, duplicate key (naming the value and both positions). */
int ph_keys_load(const char *path, ph_keys *out, ph_err *err);

/* The same for key_size 4, 8 or PH_KEY_SIZE_AUTO (from the name); a size
 * that is not a multiple of the key size names the file and the key size. */
int ph_keys_load_sized(const char *path, unsigned key_size, ph_keys *out, ph_err *err);

/* Same checks on bytes already in memory (e.g. a TASK message); name is
 * used in error messages.  Copies the bytes.  32-bit keys. */
int ph_keys_from_bytes(const void *buf, size_t len, const char *name, ph_keys *out, ph_err *err);

/* The same with key_size 4 or 8. */
int ph_keys_from_bytes_sized(const void *buf, size_t len, unsigned key_size, const char *name,
                             ph_keys *out, ph_err *err);

/* Check n keys for duplicates without reordering them.  O(n) expected. */
int ph_keys_check_unique(const uint32_t *v, uint32_t n, const char *name, ph_err *err);
int ph_keys_check_unique64(const uint64_t *v, uint32_t n, const char *name, ph_err *err);

void ph_keys_free(ph_keys *k);

/* "dir/foo-123.keys" -> "foo-123" in out (the table name).  Returns
 * PH_EINVAL if the base name is empty or does not end in ".keys". */
int ph_keys_table_name(const char *path, char *out, size_t outlen, ph_err *err);

#endif
