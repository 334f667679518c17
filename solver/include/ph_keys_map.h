/* ph_keys_map.h - a keys file mapped read-only instead of copied.
 *
 * Big keys files (up to 2^32 - 1 keys) are used in place: on a
 * little-endian host the mapping IS the key array; elsewhere the keys are
 * copied once in host order.  Uniqueness is not checked here (the
 * partitioned solver finds duplicates in the bucket that holds them). */
#ifndef PH_KEYS_MAP_H
#define PH_KEYS_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "ph_err.h"

#define PH_KEYS_MAP_MAX_COUNT UINT32_MAX

typedef struct ph_keys_map {
    const uint32_t *v;   /* key size 4: n keys, host order; else NULL */
    const uint64_t *v64; /* key size 8: n keys, host order; else NULL */
    uint32_t n;
    unsigned key_size;   /* 4 or 8 */
    void *map;           /* owned mapping, or NULL */
    size_t map_len;
    void *copy;          /* owned copy (big-endian hosts), or NULL */
    uint64_t dev, ino, size;
    int64_t mtime_ns;    /* the file as it was opened */
} ph_keys_map;

/* Errors (one line naming the file): cannot open, not a regular file,
 * empty, size not a multiple of 4, more than 2^32 - 1 keys, cannot map. */
int ph_keys_map_open(const char *path, ph_keys_map *out, ph_err *err);
/* The same with key_size 4 or 8 (ph_keys.h; PH_KEY_SIZE_AUTO: from the
 * name): a size that is not a multiple of it names the file and the size. */
int ph_keys_map_open_sized(const char *path, unsigned key_size, ph_keys_map *out, ph_err *err);

/* Key count of a keys file from its size alone (same checks but mapping). */
int ph_keys_map_count(const char *path, uint64_t *n, ph_err *err);
int ph_keys_map_count_sized(const char *path, unsigned key_size, uint64_t *n, ph_err *err);

/* Flags of the two calls below: a symbolic link at path is refused (the
 * coordinator reads only regular files of a job's directory). */
#define PH_KEYS_MAP_NOFOLLOW 1
int ph_keys_map_count_flags(const char *path, int flags, uint64_t *n, ph_err *err);

/* Read the file into memory (m->copy) instead of mapping it: a file
 * truncated while in use cannot fault the reader, as a mapping would with
 * SIGBUS (the coordinator serves other jobs).  Same checks and errors as
 * ph_keys_map_open, and a file that shrinks while read is refused. */
int ph_keys_map_read(const char *path, int flags, ph_keys_map *out, ph_err *err);

/* PH_EINVAL naming the file if path is no longer the file that was opened
 * as it was (replaced, resized or modified): a table built from keys that
 * changed under it must not be written. */
int ph_keys_map_unchanged(const ph_keys_map *m, const char *path, ph_err *err);

void ph_keys_map_close(ph_keys_map *m);

#endif
