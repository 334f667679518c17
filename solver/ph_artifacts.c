/* ph_artifacts.c - rendered files in memory, written atomically under an
 * output directory (see ph_artifacts.h). */
#include "ph_artifacts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ph_fs.h"

int ph_artifacts_add(ph_artifacts *a, const char *path, const void *data, size_t len,
                     ph_err *err)
{
    char *p = strdup(path);
    char *d = malloc(len ? len : 1);
    ph_artifact *items = realloc(a->items, (a->count + 1) * sizeof *items);
    if (items)
        a->items = items;
    if (!p || !d || !items) {
        free(p);
        free(d);
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory", path);
    }
    if (len)
        memcpy(d, data, len);
    a->items[a->count++] = (ph_artifact){.path = p, .data = d, .len = len};
    return PH_OK;
}

int ph_artifacts_take(ph_artifacts *a, const char *path, void *data, size_t len, ph_err *err)
{
    char *p = strdup(path);
    ph_artifact *items = realloc(a->items, (a->count + 1) * sizeof *items);
    if (items)
        a->items = items;
    if (!p || !items || !data) {
        free(p);
        free(data);
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory", path);
    }
    a->items[a->count++] = (ph_artifact){.path = p, .data = data, .len = len};
    return PH_OK;
}

/* Artifact paths come from the network (a worker's RESULT), so they must
 * stay inside outdir: relative, no "..", no empty components. */
static int artifact_path_ok(const char *path, ph_err *err)
{
    if (!path[0] || path[0] == '/')
        return ph_err_set(err, PH_EINVAL, "artifact path '%s': must be relative", path);
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.'))
            return ph_err_set(err, PH_EINVAL,
                              "artifact path '%s': empty, '.' or '..' component", path);
        p += n;
        if (*p == '/' && !*++p)
            return ph_err_set(err, PH_EINVAL, "artifact path '%s': ends in '/'", path);
    }
    return PH_OK;
}

/* The directory an artifact goes into, below outdir_fd, opened without
 * following links.  The files of one table share a directory, so the fd of
 * the last one is kept (cache) and reused. */
#define MADE_MAX 4

typedef struct sub_dir {
    char rel[4096];
    int fd;
    /* Directories this write created (relative to outdir, first missing
     * component and the full directory), removed again if it fails. */
    char made_top[MADE_MAX][256], made_dir[MADE_MAX][1024];
    int nmade;
} sub_dir;

/* The first component prefix of rel (below base) that does not exist yet
 * into top; "" if all do. */
static void first_missing(int base, const char *rel, char *top, size_t len)
{
    top[0] = '\0';
    for (size_t at = 0; rel[at];) {
        size_t n = strcspn(rel + at, "/");
        if (n == 0) { /* a leading or doubled '/' */
            at++;
            continue;
        }
        if (at + n >= len)
            return;
        memcpy(top, rel, at + n);
        top[at + n] = '\0';
        struct stat st;
        if (fstatat(base, top, &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT)
            return;
        at += n;
        while (rel[at] == '/')
            at++;
    }
    top[0] = '\0';
}

/* rmdir dir, then its parents up to top (each only if empty). */
static void remove_made(int base, const char *dir, const char *top)
{
    char cut[4096];
    size_t tl = strlen(top);
    if (!tl || strlen(dir) >= sizeof cut)
        return;
    snprintf(cut, sizeof cut, "%s", dir);
    for (;;) {
        if (unlinkat(base, cut, AT_REMOVEDIR) != 0 || strlen(cut) <= tl)
            return;
        char *slash = strrchr(cut, '/');
        if (!slash || slash == cut)
            return;
        *slash = '\0';
    }
}

static int artifact_write(const ph_artifact *it, int outdir_fd, const char *outdir,
                          sub_dir *cache, ph_err *err)
{
    char full[4096];
    int rc = ph_fs_join(full, sizeof full, outdir, it->path, err);
    if (rc)
        return rc;
    const char *slash = strrchr(it->path, '/');
    size_t dlen = slash ? (size_t)(slash - it->path) : 0;
    if (cache->fd < 0 || strlen(cache->rel) != dlen || strncmp(cache->rel, it->path, dlen)) {
        if (cache->fd >= 0 && cache->fd != outdir_fd)
            close(cache->fd);
        cache->fd = -1;
        memcpy(cache->rel, it->path, dlen);
        cache->rel[dlen] = '\0';
        if (dlen == 0) {
            cache->fd = outdir_fd;
        } else {
            char top[256];
            first_missing(outdir_fd, cache->rel, top, sizeof top);
            if (top[0] && cache->nmade < MADE_MAX && dlen < sizeof cache->made_dir[0]) {
                snprintf(cache->made_top[cache->nmade], sizeof cache->made_top[0], "%s", top);
                memcpy(cache->made_dir[cache->nmade], cache->rel, dlen + 1);
                cache->nmade++;
            }
            rc = ph_fs_open_dir_at(outdir_fd, cache->rel, 1, full, &cache->fd, err);
            if (rc)
                return rc;
        }
    }
    return ph_fs_write_atomic_at(cache->fd, slash ? slash + 1 : it->path, full, it->data,
                                 it->len, 0, err);
}

/* Remove the first n artifacts again (a later one failed): a table is
 * written whole or not at all.  Best effort, without following links; the
 * failure is what is reported. */
static void artifacts_unwrite(const ph_artifacts *a, size_t n, int outdir_fd)
{
    for (size_t i = 0; i < n; i++) {
        const char *path = a->items[i].path, *slash = strrchr(path, '/');
        char rel[4096];
        size_t dlen = slash ? (size_t)(slash - path) : 0;
        if (dlen >= sizeof rel)
            continue;
        memcpy(rel, path, dlen);
        rel[dlen] = '\0';
        int fd;
        if (ph_fs_open_dir_at(outdir_fd, rel, 0, path, &fd, NULL) != PH_OK)
            continue;
        (void)unlinkat(fd, slash ? slash + 1 : path, 0);
        close(fd);
    }
}

int ph_artifacts_write(const ph_artifacts *a, const char *outdir, ph_err *err)
{
    /* Check every path first so a bad set writes nothing at all. */
    for (size_t i = 0; i < a->count; i++) {
        int rc = artifact_path_ok(a->items[i].path, err);
        if (rc)
            return rc;
    }
    /* A failed write (a full disk, a file-size limit) leaves outdir as it
     * was: the files written so far and the directories made go again. */
    char out_top[4096];
    first_missing(AT_FDCWD, outdir, out_top, sizeof out_top);
    int outdir_fd;
    int rc = ph_fs_open_dir(outdir, 1, &outdir_fd, err);
    if (rc) {
        remove_made(AT_FDCWD, outdir, out_top);
        return rc;
    }
    sub_dir cache = {.fd = -1};
    for (size_t i = 0; !rc && i < a->count; i++) {
        rc = artifact_write(&a->items[i], outdir_fd, outdir, &cache, err);
        if (rc)
            artifacts_unwrite(a, i, outdir_fd);
    }
    if (cache.fd >= 0 && cache.fd != outdir_fd)
        close(cache.fd);
    for (int i = rc ? cache.nmade : 0; i-- > 0;)
        remove_made(outdir_fd, cache.made_dir[i], cache.made_top[i]);
    close(outdir_fd);
    if (rc)
        remove_made(AT_FDCWD, outdir, out_top);
    return rc;
}

void ph_artifacts_free(ph_artifacts *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->count; i++) {
        free(a->items[i].path);
        free(a->items[i].data);
    }
    free(a->items);
    a->items = NULL;
    a->count = 0;
}
