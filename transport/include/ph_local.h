/* ph_local.h - the local endpoint: a Unix socket in a private directory.
 *
 * By default phcoord listens, and phworker and phclient connect, on
 *   ipc://DIR/coord
 * where DIR is $XDG_RUNTIME_DIR/phcluster when XDG_RUNTIME_DIR is set to an
 * absolute path, else ${TMPDIR:-/tmp}/phcluster-UID.  Who may connect is
 * decided by DIR's permissions (docs/SECURITY.md): the coordinator creates
 * DIR with mode 0700 (0750 and a group with --group), never through a
 * symbolic link, and refuses a DIR that is a link, is owned by another
 * user, or has wider permissions than asked; the socket itself gets 0600
 * (0660 with the group).  A process that cannot search DIR cannot connect,
 * whatever libzmq does.
 *
 * The same checks apply to any ipc:// endpoint the coordinator is told to
 * bind.  A connecting side checks, before it connects, that the socket's
 * directory (when it exists) is writable by its owner only, so nobody else
 * can have put a socket there; for the default endpoint the owner must be
 * the user itself. */
#ifndef PH_LOCAL_H
#define PH_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ph_err.h"

#define PH_LOCAL_NAME "coord"          /* the socket's name in DIR */
#define PH_LOCAL_ENDPOINT_MAX 128      /* ipc:// + a sun_path (108) */

/* DIR of the default endpoint (see above), without creating anything. */
int ph_local_default_dir(char *out, size_t len, ph_err *err);
/* "ipc://DIR/coord". */
int ph_local_default_endpoint(char *out, size_t len, ph_err *err);

/* An ipc:// endpoint's directory and socket name.  Refuses "ipc://" + "*" (a
 * name libzmq makes up in a shared directory), abstract names (ipc://@...,
 * reachable by every local user) and paths too long for a Unix socket. */
int ph_local_ipc_split(const char *endpoint, char *dir, size_t dlen, char *name, size_t nlen,
                       ph_err *err);

/* A group name or number -> gid (PH_EINVAL naming it if unknown). */
int ph_local_group(const char *name, gid_t *gid, ph_err *err);

/* Listening side, before zmq_bind: create DIR's last component if missing
 * (mkdirat, mode 0700) and open it without following a link; check it is a
 * directory owned by this user with no access for others and, without a
 * group (has_group false), none for its group either.  With a group, a DIR
 * of mode 0700 is given the group and 0750.  Refuses, naming DIR, anything
 * else.  Also refuses when a coordinator already listens on DIR/name (a
 * second bind would silently take the socket over).  *dirfd: open O_PATH
 * descriptor of DIR for ph_local_listen_socket (caller closes). */
int ph_local_listen_dir(const char *dir, const char *name, bool has_group, gid_t gid,
                        int *dirfd, ph_err *err);

/* Listening side, after zmq_bind: the socket DIR/name gets mode 0600, or
 * 0660 and the group. */
int ph_local_listen_socket(int dirfd, const char *dir, const char *name, bool has_group,
                           gid_t gid, ph_err *err);

/* Connecting side, before zmq_connect: for an ipc:// endpoint whose
 * directory exists, refuse (naming it) a directory that is a link target
 * writable by group or other, or (own) not owned by this user.  A missing
 * directory is fine (the coordinator is not up yet).  Other transports: 0. */
int ph_local_connect_check(const char *endpoint, bool own, ph_err *err);

#endif
