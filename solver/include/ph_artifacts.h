/* ph_artifacts.h - rendered files held in memory, then laid out under an
 * output directory, each atomically. */
#ifndef PH_ARTIFACTS_H
#define PH_ARTIFACTS_H

#include <stddef.h>

#include "ph_err.h"

typedef struct ph_artifact {
    char *path;   /* owned; relative, e.g. "NAME/NAME.h" */
    char *data;   /* owned */
    size_t len;
} ph_artifact;

typedef struct ph_artifacts {
    ph_artifact *items; /* owned */
    size_t count;
} ph_artifacts;

/* Append one artifact (takes copies). */
int ph_artifacts_add(ph_artifacts *a, const char *path, const void *data, size_t len,
                     ph_err *err);

/* Append one artifact that takes ownership of data (malloc'd; freed here
 * on error) without copying it; path is copied. */
int ph_artifacts_take(ph_artifacts *a, const char *path, void *data, size_t len, ph_err *err);

/* Write every artifact under outdir (an absolute, resolved path; created
 * if missing), each atomically.  Refuses artifact paths that are absolute
 * or contain "..".  No symbolic link is followed anywhere on the way, from
 * "/" down to each file (ph_fs_open_dir): a link planted in outdir is
 * refused with an error naming it. */
int ph_artifacts_write(const ph_artifacts *a, const char *outdir, ph_err *err);

void ph_artifacts_free(ph_artifacts *a);

#endif
