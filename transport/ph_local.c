/* ph_local.c - the local endpoint's directory: made, checked, and the
 * socket's mode (see ph_local.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ph_local.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LOCAL_SUN_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

int ph_local_default_dir(char *out, size_t len, ph_err *err)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;
    if (xdg && xdg[0] == '/') {
        n = snprintf(out, len, "%s/phcluster", xdg);
    } else {
        const char *tmp = getenv("TMPDIR");
        if (!tmp || tmp[0] != '/')
            tmp = "/tmp";
        n = snprintf(out, len, "%s/phcluster-%lu", tmp, (unsigned long)geteuid());
    }
    if (n < 0 || (size_t)n >= len)
        return ph_err_set(err, PH_EINVAL, "the default endpoint's directory is too long "
                          "(XDG_RUNTIME_DIR or TMPDIR); give --bind/--coordinator");
    return PH_OK;
}

int ph_local_default_endpoint(char *out, size_t len, ph_err *err)
{
    char dir[PH_LOCAL_ENDPOINT_MAX];
    int rc = ph_local_default_dir(dir, sizeof dir, err);
    if (rc)
        return rc;
    int n = snprintf(out, len, "ipc://%s/%s", dir, PH_LOCAL_NAME);
    if (n < 0 || (size_t)n >= len || strlen(dir) + 1 + strlen(PH_LOCAL_NAME) > LOCAL_SUN_MAX)
        return ph_err_set(err, PH_EINVAL, "the default endpoint ipc://%s/%s is too long for "
                          "a Unix socket; give --bind/--coordinator", dir, PH_LOCAL_NAME);
    return PH_OK;
}

int ph_local_ipc_split(const char *endpoint, char *dir, size_t dlen, char *name, size_t nlen,
                       ph_err *err)
{
    if (strncmp(endpoint, "ipc://", 6) != 0)
        return ph_err_set(err, PH_EINVAL, "%s: not an ipc:// endpoint", endpoint);
    const char *path = endpoint + 6;
    if (!strcmp(path, "*"))
        return ph_err_set(err, PH_EINVAL, "%s: a made-up name in a shared directory is not "
                          "private; name a path in a directory of your own", endpoint);
    if (path[0] == '@')
        return ph_err_set(err, PH_EPERM, "%s: an abstract socket has no permissions (every "
                          "local user could connect); name a path in a directory of your own",
                          endpoint);
    if (!path[0] || strlen(path) > LOCAL_SUN_MAX)
        return ph_err_set(err, PH_EINVAL, "%s: a Unix socket path has 1..%zu bytes", endpoint,
                          (size_t)LOCAL_SUN_MAX);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dl = slash ? (size_t)(slash - path) : 1;
    if (!base[0] || !strcmp(base, ".") || !strcmp(base, ".."))
        return ph_err_set(err, PH_EINVAL, "%s: no socket name after the directory", endpoint);
    if (dl + 1 > dlen || strlen(base) + 1 > nlen)
        return ph_err_set(err, PH_EINVAL, "%s: path too long", endpoint);
    if (!slash)
        memcpy(dir, ".", 2);
    else if (dl == 0)
        memcpy(dir, "/", 2);
    else {
        memcpy(dir, path, dl);
        dir[dl] = '\0';
    }
    memcpy(name, base, strlen(base) + 1);
    return PH_OK;
}

int ph_local_group(const char *name, gid_t *gid, ph_err *err)
{
    struct group gr, *res = NULL;
    char buf[4096];
    if (getgrnam_r(name, &gr, buf, sizeof buf, &res) == 0 && res) {
        *gid = res->gr_gid;
        return PH_OK;
    }
    char *end;
    errno = 0;
    unsigned long v = strtoul(name, &end, 10);
    if (name[0] >= '0' && name[0] <= '9' && !*end && errno == 0 && v < (gid_t)-1) {
        *gid = (gid_t)v;
        return PH_OK;
    }
    return ph_err_set(err, PH_EINVAL, "--group %s: no such group", name);
}

/* DIR's parent and last component; the parent may go through links (it is
 * configuration: $XDG_RUNTIME_DIR, $TMPDIR, a unit's RuntimeDirectory). */
static int open_parent(const char *dir, char *base, size_t blen, ph_err *err)
{
    char parent[PH_LOCAL_ENDPOINT_MAX];
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n >= sizeof parent)
        return ph_err_set(err, PH_EINVAL, "%s: path too long", dir);
    memcpy(parent, dir, n);
    parent[n] = '\0';
    char *slash = strrchr(parent, '/');
    const char *b = slash ? slash + 1 : parent;
    if (!b[0] || !strcmp(b, ".") || !strcmp(b, "..") || strlen(b) + 1 > blen)
        return ph_err_set(err, PH_EINVAL, "%s: name the socket's own directory (not /, . "
                          "or ..)", dir);
    memcpy(base, b, strlen(b) + 1);
    if (!slash)
        memcpy(parent, ".", 2);
    else if (slash == parent)
        parent[1] = '\0';
    else
        *slash = '\0';
    int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ph_err_set(err, PH_EIO, "%s: %s", parent,
                          strerror(errno));
    return fd;
}

/* The mode DIR may have: 0700, or with a group 0750 (and setgid). */
static int check_dir(const char *dir, const struct stat *st, bool has_group, gid_t gid,
                     ph_err *err)
{
    if (!S_ISDIR(st->st_mode))
        return ph_err_set(err, PH_EPERM, "%s: not a directory; refused", dir);
    if (st->st_uid != geteuid())
        return ph_err_set(err, PH_EPERM, "%s is owned by uid %lu, not by this user (uid %lu); "
                          "refused (another user could replace the socket)", dir,
                          (unsigned long)st->st_uid, (unsigned long)geteuid());
    unsigned mode = st->st_mode & 07777;
    bool narrow = (mode & 07077) == 0;
    bool group_ok = has_group && st->st_gid == gid && (mode & ~(unsigned)02750) == 0;
    if (!narrow && !group_ok)
        return ph_err_set(err, PH_EPERM, "%s has mode %04o%s, wider than %s; refused (chmod "
                          "it or remove it)", dir, mode,
                          has_group && st->st_gid != gid ? " and another group" : "",
                          has_group ? "0750 with --group" : "0700");
    return PH_OK;
}

/* Does a process listen on DIR/name already? */
static bool listening(const char *dir, const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof sa.sun_path)
        return false;
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return false;
    bool up = connect(s, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(s);
    return up;
}

int ph_local_listen_dir(const char *dir, const char *name, bool has_group, gid_t gid,
                        int *dirfd, ph_err *err)
{
    *dirfd = -1;
    char base[256];
    int pfd = open_parent(dir, base, sizeof base, err);
    if (pfd < 0)
        return pfd;
    int rc = PH_OK;
    if (mkdirat(pfd, base, 0700) != 0 && errno != EEXIST)
        rc = ph_err_set(err, PH_EIO, "%s: cannot create: %s", dir, strerror(errno));
    int fd = rc ? -1 : openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (!rc && fd < 0)
        rc = errno == ELOOP || errno == ENOTDIR
                 ? ph_err_set(err, PH_EPERM, "%s is a symbolic link or not a directory; "
                              "refused", dir)
                 : ph_err_set(err, PH_EIO, "%s: %s", dir, strerror(errno));
    close(pfd);
    struct stat st;
    if (!rc && fstat(fd, &st) != 0)
        rc = ph_err_set(err, PH_EIO, "%s: %s", dir, strerror(errno));
    if (!rc)
        rc = check_dir(dir, &st, has_group, gid, err);
    /* Asked for a group: a private directory is opened up to it. */
    if (!rc && has_group && (st.st_gid != gid || (st.st_mode & 0750) != 0750) &&
        (fchown(fd, (uid_t)-1, gid) != 0 || fchmod(fd, (st.st_mode & 02000) | 0750) != 0))
        rc = ph_err_set(err, PH_EPERM, "%s: cannot give it to group %lu: %s", dir,
                        (unsigned long)gid, strerror(errno));
    if (!rc && listening(dir, name))
        rc = ph_err_set(err, PH_EBUSY, "%s/%s: a coordinator already listens there", dir,
                        name);
    if (rc) {
        if (fd >= 0)
            close(fd);
        return rc;
    }
    *dirfd = fd;
    return PH_OK;
}

int ph_local_listen_socket(int dirfd, const char *dir, const char *name, bool has_group,
                           gid_t gid, ph_err *err)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISSOCK(st.st_mode))
        return ph_err_set(err, PH_EIO, "%s/%s: the socket is not there after binding", dir,
                          name);
    if (has_group && fchownat(dirfd, name, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) != 0)
        return ph_err_set(err, PH_EPERM, "%s/%s: cannot give it to group %lu: %s", dir, name,
                          (unsigned long)gid, strerror(errno));
    if (fchmodat(dirfd, name, has_group ? 0660 : 0600, 0) != 0)
        return ph_err_set(err, PH_EIO, "%s/%s: chmod: %s", dir, name, strerror(errno));
    return PH_OK;
}

int ph_local_connect_check(const char *endpoint, bool own, ph_err *err)
{
    if (strncmp(endpoint, "ipc://", 6) != 0)
        return PH_OK;
    char dir[PH_LOCAL_ENDPOINT_MAX], name[PH_LOCAL_ENDPOINT_MAX];
    int rc = ph_local_ipc_split(endpoint, dir, sizeof dir, name, sizeof name, err);
    if (rc)
        return rc;
    struct stat st;
    if ((own ? lstat(dir, &st) : stat(dir, &st)) != 0)
        return errno == ENOENT ? PH_OK
                               : ph_err_set(err, PH_EIO, "%s: %s", dir, strerror(errno));
    if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode))
        return ph_err_set(err, PH_EPERM, "%s: not a directory (or a symbolic link); refused "
                          "to connect", dir);
    if (st.st_mode & 022)
        return ph_err_set(err, PH_EPERM, "%s has mode %04o: others can write there and "
                          "could have put the socket; refused to connect", dir,
                          (unsigned)(st.st_mode & 07777));
    if (own && st.st_uid != geteuid())
        return ph_err_set(err, PH_EPERM, "%s is owned by uid %lu, not by this user (uid %lu); "
                          "refused to connect", dir, (unsigned long)st.st_uid,
                          (unsigned long)geteuid());
    return PH_OK;
}
