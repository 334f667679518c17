/* ph_path.h - confine paths named by remote users to allowed roots.
 *
 * A SUBMIT names an input dir and an output dir on the coordinator's host.
 * Both are resolved (symlinks followed, "." and ".." removed) before they are
 * compared with the configured roots, so neither "root/../etc" nor a symlink
 * inside a root that points out of it gets through.  An output dir need not
 * exist yet: its deepest existing ancestor is resolved and the rest appended. */
#ifndef PH_PATH_H
#define PH_PATH_H

#include <stddef.h>

#include "ph_err.h"

/* Canonical absolute form of path into out (PATH_MAX is enough). */
int ph_path_resolve(const char *path, char *out, size_t outlen, ph_err *err);

/* Resolve path and check it is one of roots or lies below one (roots are
 * resolved too).  PH_EPERM naming the path if not; resolved gets the
 * canonical form when non-NULL. */
int ph_path_check_roots(const char *path, const char *const *roots, size_t nroots,
                        char *resolved, size_t resolved_len, ph_err *err);

#endif
