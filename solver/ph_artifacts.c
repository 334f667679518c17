/* ph_artifacts.c - rendered files in memory, written atomically under an
 * output directory (see ph_artifacts.h). */
#include "ph_artifacts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Write one artifact under outdir.  last_dir caches the parent created last:
 * the files of one table share a directory, so that costs one mkdir. */
static int artifact_write(const ph_artifact *it, const char *outdir, char *last_dir,
                          size_t last_len, ph_err *err)
{
    char full[4096];
    int rc = ph_fs_join(full, sizeof full, outdir, it->path, err);
    if (rc)
        return rc;
    char *slash = strrchr(full, '/');
    *slash = '\0'; /* join always puts one '/' after outdir */
    if (strcmp(full, last_dir) != 0) {
        rc = ph_fs_mkdirs(full, err);
        if (!rc)
            snprintf(last_dir, last_len, "%s", full);
    }
    *slash = '/';
    if (!rc)
        rc = ph_fs_write_atomic(full, it->data, it->len, 0, err);
    return rc;
}

/* Remove the first n artifacts again (a later one failed): a table is
 * written whole or not at all.  Best effort; the failure is what is
 * reported. */
static void artifacts_unwrite(const ph_artifacts *a, size_t n, const char *outdir)
{
    for (size_t i = 0; i < n; i++) {
        char full[4096];
        if (ph_fs_join(full, sizeof full, outdir, a->items[i].path, NULL) == PH_OK)
            (void)unlink(full);
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
    char last_dir[4096] = "";
    for (size_t i = 0; i < a->count; i++) {
        int rc = artifact_write(&a->items[i], outdir, last_dir, sizeof last_dir, err);
        if (rc) {
            artifacts_unwrite(a, i, outdir);
            return rc;
        }
    }
    return PH_OK;
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
