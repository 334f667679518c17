/* ph_fs.h - files written whole or not at all.
 *
 * Every output of phcluster goes through ph_fs_write_atomic: the bytes land
 * in a temporary file beside the target, are flushed, and renamed over the
 * target, so a reader (or a crash) never sees half a file. */
#ifndef PH_FS_H
#define PH_FS_H

#include <stddef.h>
#include <stdint.h>

#include "ph_err.h"

/* Create dir and its parents (mode 0755); ok if it exists. */
int ph_fs_mkdirs(const char *dir, ph_err *err);

/* Write len bytes to path via "path.tmp.PID.N" + rename.  fsync: also
 * fsync the file (and not the directory) before renaming.  For paths an
 * operator names (the directory part may hold links); the last component
 * must not be a link, and the temporary is never opened through one. */
int ph_fs_write_atomic(const char *path, const void *data, size_t len, int fsync_file,
                       ph_err *err);

/* write(2) until all len bytes are out (EINTR retried): 0, or -1 with
 * errno set (a zero-byte write counts as an error: the disk is full). */
int ph_fs_write_full(int fd, const void *data, size_t len);

/* pwrite(2) until all len bytes are out at off (EINTR retried): 0, or -1
 * with errno set (a zero-byte write counts as an error). */
int ph_fs_pwrite_full(int fd, const void *data, size_t len, uint64_t off);

/* ---- direct I/O (ph_fs_direct.c) ---------------------------------------
 * Big files written once and not read back go to the disk from a reused
 * buffer with O_DIRECT instead of through fresh page-cache pages, which on
 * the VM of docs/BENCHMARKS.md cost several times more to fill. */

/* The bounce buffer: direct writes go out in pieces of at most this. */
#define PH_FS_DIRECT_CHUNK (1u << 20)
/* The alignment of the buffers direct writes are made from, and the
 * largest block or memory alignment used: whatever a file system asks up
 * to this, such a buffer meets it. */
#define PH_FS_DIRECT_ALIGN 4096u

/* The direct I/O block of fd's file system (the offset and length every
 * direct write must be a multiple of), or 0 when it reports none this
 * writer can use (none, or a block or memory alignment that does not
 * divide PH_FS_DIRECT_ALIGN). */
uint32_t ph_fs_direct_align(int fd);

/* The page every page of a file is written one way only at (direct, or
 * through the page cache: a page written both ways at once could lose
 * data): the system's page size, at least PH_FS_DIRECT_ALIGN. */
uint64_t ph_fs_direct_page(void);

/* len bytes of data to dfd (opened or set O_DIRECT) at off, both multiples
 * of its block, copied through a page-aligned bounce buffer of at most
 * PH_FS_DIRECT_CHUNK: 0, or -1 with errno set. */
int ph_fs_direct_pwrite(int dfd, const void *data, uint64_t len, uint64_t off);

/* len bytes of data into the empty regular file fd (opened for writing):
 * a file of PH_FS_DIRECT_CHUNK bytes or more has its whole pages
 * (ph_fs_direct_page) written with direct I/O and the rest through the
 * page cache; a smaller one, or one on a file system without direct I/O
 * (tmpfs), all through the page cache.  0, or -1 with errno set.  Every
 * temp-then-rename write from memory (ph_fs_write_atomic*) uses it. */
int ph_fs_write_fresh(int fd, const void *data, size_t len);

/* The temporary name for path: "path.tmp.PID.N", N counting up in this
 * process.  Every temp-then-rename writer uses it, so that
 * ph_fs_sweep_stale_tmp can recognise what a killed process left. */
int ph_fs_tmp_name(char *out, size_t outlen, const char *path, ph_err *err);

/* Remove temporary files ph_fs_write_atomic left behind when its process was
 * killed mid-write: regular files named "X.tmp.PID.N" in the directory
 * dirfd and its subdirectories (depth levels below it) whose PID is not a
 * live process.  Everything is reached relative to dirfd (fstatat,
 * openat, unlinkat) and no symbolic link is followed: a link is neither
 * removed nor descended into.  shown names the directory in errors;
 * *removed (optional) counts the files removed.  Used by a restarted
 * coordinator on the dirs of resumed jobs. */
int ph_fs_sweep_stale_tmp_at(int dirfd, const char *shown, int depth, unsigned long *removed,
                             ph_err *err);

/* The same for dir, opened from "/" one component at a time without
 * following a link (ph_fs_open_dir); a missing dir is nothing to sweep. */
int ph_fs_sweep_stale_tmp(const char *dir, int depth, unsigned long *removed, ph_err *err);

/* ---- writing below a directory without following links ----------------
 * Paths named by remote users are checked against --allow-root once, at
 * submission, in resolved form.  Every later write reaches its target from
 * "/" (or from a directory fd) one component at a time with O_NOFOLLOW, so
 * a symbolic link planted afterwards inside an output directory (OUT/NAME,
 * OUT/results.csv, a temporary name) is refused instead of leading the
 * write elsewhere. */

/* Open the directory rel (a relative path of plain names) below the
 * directory fd base, one component at a time, never following a link;
 * create: make missing components (0755).  shown: the path to name in
 * errors.  *fd gets an O_DIRECTORY fd the caller closes. */
int ph_fs_open_dir_at(int base, const char *rel, int create, const char *shown, int *fd,
                      ph_err *err);

/* Same for a path walked from "/" (absolute) or the working directory. */
int ph_fs_open_dir(const char *abs_dir, int create, int *fd, ph_err *err);

/* ph_fs_mkdirs for a checked output directory: ph_fs_open_dir(create). */
int ph_fs_mkdirs_nofollow(const char *dir, ph_err *err);

/* ph_fs_write_atomic relative to dirfd: name must be a plain name and not
 * a link (an existing one is refused); the temporary is created with
 * O_EXCL|O_NOFOLLOW and renamed within dirfd.  shown names the target in
 * errors. */
int ph_fs_write_atomic_at(int dirfd, const char *name, const char *shown, const void *data,
                          size_t len, int fsync_file, ph_err *err);

/* The same with the contents written by fill(ctx, fd, err) into the
 * temporary (empty, opened for writing) instead of from memory: a big file
 * streamed from elsewhere.  fill returns PH_OK or an error code with err
 * set, which is returned as it is; the temporary is then removed. */
typedef int (*ph_fs_fill_fn)(void *ctx, int fd, ph_err *err);
int ph_fs_write_atomic_at_fill(int dirfd, const char *name, const char *shown,
                               ph_fs_fill_fn fill, void *ctx, int fsync_file, ph_err *err);

/* Read a whole regular file (at most max_len bytes) into a malloc'd buffer
 * owned by the caller.  Refuses non-regular files without blocking on them
 * (a FIFO is opened O_NONBLOCK); flags PH_FS_NOFOLLOW also refuses a path
 * whose last component is a symlink. */
#define PH_FS_NOFOLLOW 1
int ph_fs_read_file(const char *path, size_t max_len, int flags, void **data, size_t *len,
                    ph_err *err);

/* ph_fs_read_file of the plain name below dirfd, never through a link (a
 * link at name is refused).  flags PH_FS_MISSING_OK: a missing file is
 * PH_OK with *data NULL and *len 0.  shown names the file in errors. */
#define PH_FS_MISSING_OK 2
int ph_fs_read_file_at(int dirfd, const char *name, const char *shown, size_t max_len,
                       int flags, void **data, size_t *len, ph_err *err);

/* Open (creating it, 0644) the plain file name below dirfd as a lock file,
 * never through a link, and take an exclusive flock on it, polling for up
 * to wait_ms (PH_EBUSY past that).  *fd holds the lock until the caller
 * closes it.  The file stays: removing a lock file races with its next
 * user. */
int ph_fs_lock_at(int dirfd, const char *name, const char *shown, unsigned wait_ms, int *fd,
                  ph_err *err);

/* ph_fs_read_file without flags. */
int ph_fs_read_all(const char *path, size_t max_len, void **data, size_t *len, ph_err *err);

/* Join dir and name into out (size outlen); error if it does not fit. */
int ph_fs_join(char *out, size_t outlen, const char *dir, const char *name, ph_err *err);

#endif
