#include "ph_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Create buf and, when its parent is missing, the parent first.  The common
 * case (parent exists) costs one mkdir: a bulk job creates a directory per
 * table, and walking every component each time showed up in profiles. */
static int mkdirs_in(char *buf, size_t n, ph_err *err)
{
    if (mkdir(buf, 0755) == 0 || errno == EEXIST)
        return PH_OK;
    if (errno != ENOENT)
        return ph_err_set(err, PH_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
    size_t cut = n;
    while (cut > 0 && buf[cut - 1] != '/')
        cut--;
    while (cut > 1 && buf[cut - 1] == '/')
        cut--;
    if (cut == 0 || (cut == 1 && buf[0] == '/'))
        return ph_err_set(err, PH_EIO, "%s: cannot create directory: %s", buf,
                          strerror(ENOENT));
    buf[cut] = '\0';
    int rc = mkdirs_in(buf, cut, err);
    buf[cut] = '/';
    if (rc)
        return rc;
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return ph_err_set(err, PH_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
    return PH_OK;
}

int ph_fs_mkdirs(const char *dir, ph_err *err)
{
    char buf[4096];
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 0 || n >= sizeof buf)
        return ph_err_set(err, PH_EINVAL, "%s: bad directory path", dir);
    memcpy(buf, dir, n);
    buf[n] = '\0';
    int rc = mkdirs_in(buf, n, err);
    if (rc)
        return rc;
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return ph_err_set(err, PH_EIO, "%s: not a directory", dir);
    return PH_OK;
}

/* write(2) (off < 0) or pwrite(2) at off until all len bytes are out. */
static int put_full(int fd, const void *data, size_t len, int64_t off)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return -1;
        }
        p += w;
        len -= (size_t)w;
        if (off >= 0)
            off += w;
    }
    return 0;
}

int ph_fs_write_full(int fd, const void *data, size_t len)
{
    return put_full(fd, data, len, -1);
}

int ph_fs_pwrite_full(int fd, const void *data, size_t len, uint64_t off)
{
    return put_full(fd, data, len, (int64_t)off);
}

int ph_fs_tmp_name(char *out, size_t outlen, const char *path, ph_err *err)
{
    static atomic_uint counter;
    int n = snprintf(out, outlen, "%s.tmp.%ld.%u", path, (long)getpid(),
                     atomic_fetch_add(&counter, 1));
    if (n < 0 || (size_t)n >= outlen)
        return ph_err_set(err, PH_EINVAL, "%s: path too long", path);
    return PH_OK;
}

/* An existing symbolic link at name is refused: rename would replace it,
 * but a link where a table or results.csv belongs is someone's trap, and
 * saying so beats silently undoing it. */
static int refuse_link_at(int dirfd, const char *name, const char *shown, ph_err *err)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        return ph_err_set(err, PH_EPERM, "%s: is a symbolic link; refusing to write through "
                          "it", shown);
    return PH_OK;
}

/* The temporary tmp in dirfd filled by fill(ctx, fd), then renamed to
 * name; on any failure it is removed.  fill's own error (rc != 0 with err
 * set) is returned as it is. */
static int fill_tmp_then_rename(int dirfd, const char *name, const char *tmp,
                                const char *shown, ph_fs_fill_fn fill, void *ctx,
                                int fsync_file, ph_err *err)
{
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        struct stat st;
        if (e == EEXIST && fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode))
            return ph_err_set(err, PH_EPERM, "%s: temporary %s is a symbolic link; refused",
                              shown, tmp);
        return ph_err_set(err, PH_EIO, "%s: cannot create temporary %s: %s", shown, tmp,
                          strerror(e));
    }
    int saved = 0;
    int rc = fill(ctx, fd, err);
    if (!rc && fsync_file && fsync(fd) != 0)
        saved = errno;
    if (close(fd) != 0 && !saved)
        saved = errno;
    if (!rc && !saved && renameat(dirfd, tmp, dirfd, name) != 0)
        saved = errno;
    if (rc || saved) {
        unlinkat(dirfd, tmp, 0);
        return rc ? rc : ph_err_set(err, PH_EIO, "%s: cannot write: %s", shown,
                                    strerror(saved));
    }
    return PH_OK;
}

typedef struct mem_fill {
    const void *data;
    size_t len;
    const char *shown;
} mem_fill;

static int fill_from_memory(void *ctx, int fd, ph_err *err)
{
    const mem_fill *m = ctx;
    if (ph_fs_write_fresh(fd, m->data, m->len) != 0)
        return ph_err_set(err, PH_EIO, "%s: cannot write: %s", m->shown, strerror(errno));
    return PH_OK;
}

static int write_tmp_then_rename(int dirfd, const char *name, const char *tmp,
                                 const char *shown, const void *data, size_t len,
                                 int fsync_file, ph_err *err)
{
    mem_fill m = {data, len, shown};
    return fill_tmp_then_rename(dirfd, name, tmp, shown, fill_from_memory, &m, fsync_file, err);
}

int ph_fs_write_atomic(const char *path, const void *data, size_t len, int fsync_file,
                       ph_err *err)
{
    char tmp[4200];
    if (ph_fs_tmp_name(tmp, sizeof tmp, path, err))
        return PH_EINVAL;
    int rc = refuse_link_at(AT_FDCWD, path, path, err);
    if (!rc)
        rc = write_tmp_then_rename(AT_FDCWD, path, tmp, path, data, len, fsync_file, err);
    return rc;
}

/* Before an atomic write of the plain name below dirfd: its temporary
 * name in tmp (512 bytes), and no link at name. */
static int atomic_at_prepare(int dirfd, const char *name, const char *shown, char *tmp,
                             ph_err *err)
{
    if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return ph_err_set(err, PH_EINVAL, "%s: not a plain file name", shown);
    if (ph_fs_tmp_name(tmp, 512, name, err))
        return PH_EINVAL;
    return refuse_link_at(dirfd, name, shown, err);
}

int ph_fs_write_atomic_at(int dirfd, const char *name, const char *shown, const void *data,
                          size_t len, int fsync_file, ph_err *err)
{
    char tmp[512];
    int rc = atomic_at_prepare(dirfd, name, shown, tmp, err);
    if (!rc)
        rc = write_tmp_then_rename(dirfd, name, tmp, shown, data, len, fsync_file, err);
    return rc;
}

int ph_fs_write_atomic_at_fill(int dirfd, const char *name, const char *shown,
                               ph_fs_fill_fn fill, void *ctx, int fsync_file, ph_err *err)
{
    char tmp[512];
    int rc = atomic_at_prepare(dirfd, name, shown, tmp, err);
    if (!rc)
        rc = fill_tmp_then_rename(dirfd, name, tmp, shown, fill, ctx, fsync_file, err);
    return rc;
}

/* Open one component below dirfd as a directory, no link followed. */
static int open_component(int dirfd, const char *name, int create, const char *shown, int *out,
                          ph_err *err)
{
    int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(dirfd, name, flags);
    if (fd < 0 && errno == ENOENT && create) {
        if (mkdirat(dirfd, name, 0755) != 0 && errno != EEXIST)
            return ph_err_set(err, PH_EIO, "%s: cannot create directory: %s", shown,
                              strerror(errno));
        fd = openat(dirfd, name, flags);
    }
    if (fd >= 0) {
        *out = fd;
        return PH_OK;
    }
    int e = errno;
    struct stat st;
    if ((e == ELOOP || e == ENOTDIR) && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode))
        return ph_err_set(err, PH_EPERM, "%s: '%s' is a symbolic link; links are not followed "
                          "below a checked directory", shown, name);
    return ph_err_set(err, PH_EIO, "%s: cannot open directory '%s': %s", shown, name,
                      strerror(e));
}

int ph_fs_open_dir_at(int base, const char *rel, int create, const char *shown, int *fd,
                      ph_err *err)
{
    *fd = -1;
    int cur = fcntl(base, F_DUPFD_CLOEXEC, 0);
    if (cur < 0)
        return ph_err_set(err, PH_EIO, "%s: %s", shown, strerror(errno));
    for (const char *p = rel; *p;) {
        size_t n = strcspn(p, "/");
        char name[256];
        if (n >= sizeof name) {
            close(cur);
            return ph_err_set(err, PH_EINVAL, "%s: component too long", shown);
        }
        memcpy(name, p, n);
        name[n] = '\0';
        p += n;
        while (*p == '/')
            p++;
        if (n == 0 || !strcmp(name, "."))
            continue;
        if (!strcmp(name, "..")) {
            close(cur);
            return ph_err_set(err, PH_EINVAL, "%s: '..' component", shown);
        }
        int next = -1;
        int rc = open_component(cur, name, create, shown, &next, err);
        close(cur);
        if (rc)
            return rc;
        cur = next;
    }
    *fd = cur;
    return PH_OK;
}

int ph_fs_open_dir(const char *abs_dir, int create, int *fd, ph_err *err)
{
    *fd = -1;
    if (!abs_dir[0])
        return ph_err_set(err, PH_EINVAL, "empty directory path");
    const char *start = abs_dir[0] == '/' ? "/" : ".";
    int root = open(start, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return ph_err_set(err, PH_EIO, "%s: %s", start, strerror(errno));
    int rc = ph_fs_open_dir_at(root, abs_dir, create, abs_dir, fd, err);
    close(root);
    return rc;
}

int ph_fs_mkdirs_nofollow(const char *dir, ph_err *err)
{
    int fd;
    int rc = ph_fs_open_dir(dir, 1, &fd, err);
    if (!rc)
        close(fd);
    return rc;
}

/* Read the regular file open at fd (at most max_len bytes) into a malloc'd
 * buffer; closes fd.  shown names the file in errors. */
static int read_open_file(int fd, const char *shown, size_t max_len, void **data, size_t *len,
                          ph_err *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ph_err_set(err, PH_EINVAL, "%s: not a regular file", shown);
    }
    if ((unsigned long long)st.st_size > max_len) {
        close(fd);
        return ph_err_set(err, PH_EINVAL, "%s: file too large (%lld bytes, limit %zu)", shown,
                          (long long)st.st_size, max_len);
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory", shown);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0) {
            const char *why = r < 0 ? strerror(errno) : "file shrank";
            free(buf);
            close(fd);
            return ph_err_set(err, PH_EIO, "%s: read failed: %s", shown, why);
        }
        got += (size_t)r;
    }
    close(fd);
    *data = buf;
    *len = size;
    return PH_OK;
}

int ph_fs_read_file(const char *path, size_t max_len, int flags, void **data, size_t *len,
                    ph_err *err)
{
    *data = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO (or one swapped in for a file) returns at
     * once instead of hanging the caller; it is then refused as not regular. */
    int oflags = O_RDONLY | O_NONBLOCK | O_CLOEXEC;
    if (flags & PH_FS_NOFOLLOW)
        oflags |= O_NOFOLLOW;
    int fd = open(path, oflags);
    if (fd < 0 && errno == ELOOP && (flags & PH_FS_NOFOLLOW))
        return ph_err_set(err, PH_EPERM, "%s: is a symlink; only regular files are read",
                          path);
    if (fd < 0)
        return ph_err_set(err, PH_EIO, "%s: cannot open: %s", path, strerror(errno));
    return read_open_file(fd, path, max_len, data, len, err);
}

int ph_fs_read_file_at(int dirfd, const char *name, const char *shown, size_t max_len,
                       int flags, void **data, size_t *len, ph_err *err)
{
    *data = NULL;
    *len = 0;
    if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return ph_err_set(err, PH_EINVAL, "%s: not a plain file name", shown);
    int fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && (flags & PH_FS_MISSING_OK))
        return PH_OK;
    if (fd < 0 && errno == ELOOP)
        return ph_err_set(err, PH_EPERM, "%s: is a symbolic link; refusing to read through it",
                          shown);
    if (fd < 0)
        return ph_err_set(err, PH_EIO, "%s: cannot open: %s", shown, strerror(errno));
    return read_open_file(fd, shown, max_len, data, len, err);
}

int ph_fs_lock_at(int dirfd, const char *name, const char *shown, unsigned wait_ms, int *fd,
                  ph_err *err)
{
    *fd = -1;
    if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return ph_err_set(err, PH_EINVAL, "%s: not a plain file name", shown);
    /* O_NONBLOCK: a FIFO planted at the name does not hang the open. */
    int lfd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (lfd < 0 && errno == ELOOP)
        return ph_err_set(err, PH_EPERM, "%s: is a symbolic link; refusing to lock through it",
                          shown);
    if (lfd < 0)
        return ph_err_set(err, PH_EIO, "%s: cannot open: %s", shown, strerror(errno));
    struct stat st;
    if (fstat(lfd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(lfd);
        return ph_err_set(err, PH_EINVAL, "%s: not a regular file", shown);
    }
    /* Polled rather than blocking: a holder that never lets go costs the
     * caller wait_ms, not its life. */
    for (unsigned waited = 0;; waited += 5) {
        if (flock(lfd, LOCK_EX | LOCK_NB) == 0)
            break;
        int e = errno;
        if (e == EINTR)
            continue;
        if (e != EWOULDBLOCK || waited >= wait_ms) {
            close(lfd);
            if (e == EWOULDBLOCK)
                return ph_err_set(err, PH_EBUSY, "%s: still locked by another process after "
                                  "%u ms", shown, wait_ms);
            return ph_err_set(err, PH_EIO, "%s: cannot lock: %s", shown, strerror(e));
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    *fd = lfd;
    return PH_OK;
}

int ph_fs_read_all(const char *path, size_t max_len, void **data, size_t *len, ph_err *err)
{
    return ph_fs_read_file(path, max_len, 0, data, len, err);
}

int ph_fs_join(char *out, size_t outlen, const char *dir, const char *name, ph_err *err)
{
    size_t dl = strlen(dir);
    int n = snprintf(out, outlen, "%s%s%s", dir, (dl && dir[dl - 1] == '/') ? "" : "/", name);
    if (n < 0 || (size_t)n >= outlen)
        return ph_err_set(err, PH_EINVAL, "%s/%s: path too long", dir, name);
    return PH_OK;
}

/* "X.tmp.PID.N" -> PID, or 0 if the name is not one of our temp files. */
static long tmp_owner_pid(const char *name)
{
    const char *t = strstr(name, ".tmp.");
    if (!t)
        return 0;
    char *end;
    long pid = strtol(t + 5, &end, 10);
    if (pid <= 0 || *end != '.')
        return 0;
    const char *seq = end + 1;
    if (!*seq)
        return 0;
    strtoul(seq, &end, 10);
    return *end ? 0 : pid;
}

static int pid_alive(long pid)
{
    return pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

/* One directory open at dfd (a descriptor this call owns): remove its stale
 * temporaries, descend depth more levels.  Entries are looked at with
 * fstatat(AT_SYMLINK_NOFOLLOW), subdirectories opened with openat(O_NOFOLLOW)
 * and files removed with unlinkat, all relative to dfd: a link planted
 * anywhere below leads the sweep nowhere, and is itself left alone. */
static int sweep_fd(int dfd, const char *shown, int depth, unsigned long *removed, ph_err *err)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        int e = errno;
        close(dfd);
        return ph_err_set(err, PH_EIO, "%s: cannot list: %s", shown, strerror(e));
    }
    int rc = PH_OK;
    struct dirent *e;
    while (rc == PH_OK && (e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (name[0] == '.' && (!name[1] || !strcmp(name, "..")))
            continue;
        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth > 0) {
            int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0)
                continue; /* replaced by a link or gone since the fstatat */
            char path[4096];
            if (ph_fs_join(path, sizeof path, shown, name, NULL))
                snprintf(path, sizeof path, "%s", shown);
            rc = sweep_fd(sub, path, depth - 1, removed, err);
        } else if (S_ISREG(st.st_mode)) {
            long pid = tmp_owner_pid(name);
            if (pid && !pid_alive(pid) && unlinkat(dfd, name, 0) == 0 && removed)
                (*removed)++;
        }
    }
    closedir(d); /* closes dfd */
    return rc;
}

int ph_fs_sweep_stale_tmp_at(int dirfd, const char *shown, int depth, unsigned long *removed,
                             ph_err *err)
{
    int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return ph_err_set(err, PH_EIO, "%s: %s", shown, strerror(errno));
    return sweep_fd(fd, shown, depth, removed, err);
}

int ph_fs_sweep_stale_tmp(const char *dir, int depth, unsigned long *removed, ph_err *err)
{
    struct stat st;
    if (lstat(dir, &st) != 0 && errno == ENOENT)
        return PH_OK; /* nothing was ever written there */
    int fd;
    int rc = ph_fs_open_dir(dir, 0, &fd, err);
    if (rc)
        return rc;
    rc = ph_fs_sweep_stale_tmp_at(fd, dir, depth, removed, err);
    close(fd);
    return rc;
}
