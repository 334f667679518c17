/* ph_path.c - confine paths to allowed roots (see ph_path.h). */
#include "ph_path.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The tail left after the deepest existing ancestor must be plain names:
 * "..", "." or empty components could climb back out once created. */
static int tail_is_plain(const char *tail)
{
    while (*tail) {
        const char *slash = strchr(tail, '/');
        size_t len = slash ? (size_t)(slash - tail) : strlen(tail);
        if ((len == 1 && tail[0] == '.') || (len == 2 && !strncmp(tail, "..", 2)))
            return 0;
        tail += len;
        while (*tail == '/')
            tail++;
    }
    return 1;
}

static int resolve_missing(const char *path, char *out, size_t outlen, ph_err *err)
{
    char head[PATH_MAX];
    if (strlen(path) >= sizeof head)
        return ph_err_set(err, PH_EINVAL, "%s: path too long", path);
    strcpy(head, path);
    /* Walk up until an ancestor exists; what was cut off is the tail. */
    for (;;) {
        char *slash = strrchr(head, '/');
        if (!slash)
            return ph_err_set(err, PH_EINVAL, "%s: no existing parent directory", path);
        *slash = '\0';
        const char *parent = head[0] ? head : "/";
        char real[PATH_MAX];
        if (!realpath(parent, real))
            continue;
        const char *tail = path + (slash - head) + 1;
        while (*tail == '/')
            tail++;
        if (!tail_is_plain(tail))
            return ph_err_set(err, PH_EINVAL, "%s: '.' or '..' below a directory that does "
                              "not exist yet", path);
        int n = snprintf(out, outlen, "%s%s%s", real, strcmp(real, "/") ? "/" : "", tail);
        if (n < 0 || (size_t)n >= outlen)
            return ph_err_set(err, PH_EINVAL, "%s: path too long", path);
        return PH_OK;
    }
}

int ph_path_resolve(const char *path, char *out, size_t outlen, ph_err *err)
{
    if (!path || !path[0])
        return ph_err_set(err, PH_EINVAL, "empty path");
    char real[PATH_MAX];
    if (realpath(path, real)) {
        if (strlen(real) >= outlen)
            return ph_err_set(err, PH_EINVAL, "%s: path too long", path);
        strcpy(out, real);
        return PH_OK;
    }
    if (errno != ENOENT)
        return ph_err_set(err, PH_EINVAL, "%s: %s", path, strerror(errno));
    char abs[PATH_MAX];
    if (path[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return ph_err_set(err, PH_EIO, "%s: cannot read the current directory", path);
        int n = snprintf(abs, sizeof abs, "%s/%s", cwd, path);
        if (n < 0 || (size_t)n >= sizeof abs)
            return ph_err_set(err, PH_EINVAL, "%s: path too long", path);
        path = abs;
    }
    return resolve_missing(path, out, outlen, err);
}

static int is_under(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return 1;
    return !strncmp(path, root, n) && (path[n] == '\0' || path[n] == '/');
}

int ph_path_check_roots(const char *path, const char *const *roots, size_t nroots,
                        char *resolved, size_t resolved_len, ph_err *err)
{
    char real[PATH_MAX];
    int rc = ph_path_resolve(path, real, sizeof real, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < nroots; i++) {
        char root[PATH_MAX];
        if (ph_path_resolve(roots[i], root, sizeof root, NULL))
            continue; /* a root that cannot be resolved allows nothing */
        if (!is_under(real, root))
            continue;
        if (resolved) {
            if (strlen(real) >= resolved_len)
                return ph_err_set(err, PH_EINVAL, "%s: path too long", path);
            strcpy(resolved, real);
        }
        return PH_OK;
    }
    return ph_err_set(err, PH_EPERM, "%s: outside the allowed roots (--allow-root)", path);
}
