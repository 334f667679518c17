/* ph_keys_map.h - a big keys file read into memory, checked as it is read.
 *
 * Keys files up to 2^32 - 1 keys are read once with pread into one buffer
 * in host order.  They are not mapped: a mapped file that is truncated
 * while in use faults its reader with SIGBUS, which would kill phclient
 * half-way or the coordinator with every job it serves.  Read, a file that
 * shrinks during the read is a short read, and one that changed during it
 * shows in its size or mtime afterwards: both are one-line errors naming
 * the file ("changed while being read").  The copy costs the same resident
 * memory a mapping whose every page is touched does.  Uniqueness is not
 * checked here (the partitioned solver finds duplicates in the bucket that
 * holds them). */
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
    void *copy;          /* owned: the keys (v or v64 point here), or NULL */
    uint64_t dev, ino, size;
    int64_t mtime_ns;    /* the file as it was opened */
} ph_keys_map;

/* The keys of path (ph_keys_map_read_sized without flags).  Errors (one
 * line naming the file): cannot open, not a regular file, empty, size not a
 * multiple of 4, more than 2^32 - 1 keys, out of memory for the copy,
 * changed while being read. */
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
/* The same for key_size 4 or 8 (or PH_KEY_SIZE_AUTO: from the name). */
int ph_keys_map_count_sized_flags(const char *path, unsigned key_size, int flags, uint64_t *n,
                                  ph_err *err);

/* Read the file (key_size 4 or 8, or PH_KEY_SIZE_AUTO; flags: see above)
 * into m->copy.  Besides the size checks: PH_ENOMEM "out of memory for a
 * copy of its N keys (B bytes)"; PH_EINVAL "changed while being read" when
 * the file shrank under the read or its size or mtime moved by its end;
 * PH_EIO for a failed read.  Test aid: PH_TEST_KEYS_READ_PAUSE=FIFO makes
 * the reader wait, after sizing the file, until the FIFO's writer closes
 * it (tests change the file meanwhile); never set it otherwise. */
int ph_keys_map_read_sized(const char *path, unsigned key_size, int flags, ph_keys_map *out,
                           ph_err *err);
/* Key size 4. */
int ph_keys_map_read(const char *path, int flags, ph_keys_map *out, ph_err *err);

/* The file sized and opened, not read (same flags and checks): m's
 * identity and key count, m->copy NULL, *fd the open file for the caller
 * to read (little-endian keys) and close.  The caller reading it must
 * treat a short read as a file that shrank ("changed while being read"),
 * then call ph_keys_map_read_done.  Same test aid as above. */
int ph_keys_map_open_fd(const char *path, unsigned key_size, int flags, ph_keys_map *out,
                        int *fd, ph_err *err);
/* After reading fd: PH_EINVAL "changed while being read" when its size or
 * mtime moved since ph_keys_map_open_fd. */
int ph_keys_map_read_done(const ph_keys_map *m, int fd, const char *path, ph_err *err);

/* PH_EINVAL naming the file if path is no longer the file that was opened
 * as it was (replaced, resized or modified): a table built from keys that
 * changed under it must not be written. */
int ph_keys_map_unchanged(const ph_keys_map *m, const char *path, ph_err *err);

void ph_keys_map_close(ph_keys_map *m);

#endif
