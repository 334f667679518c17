#include "ph_curve.h"
#include "ph_fs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

bool ph_curve_available(void) { return zmq_has("curve") != 0; }

int ph_curve_parse_z85(const char *text, unsigned char key32[32])
{
    unsigned char scratch[32];
    /* strnlen: the caller's text may be a line of arbitrary length. */
    if (!text || strnlen(text, PH_CURVE_Z85_LEN + 1) != PH_CURVE_Z85_LEN)
        return PH_EINVAL;
    /* zmq_z85_decode rejects characters outside the Z85 alphabet and
     * groups whose value overflows 32 bits. */
    if (!zmq_z85_decode(key32 ? key32 : scratch, text))
        return PH_EINVAL;
    return PH_OK;
}

/* ---- key file text ------------------------------------------------------ */

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Find the single key in a key file's bytes.  A line is a key when, trimmed,
 * it is exactly 40 Z85 characters; otherwise it must be empty or a comment
 * starting with '#'.  ('#' is itself a Z85 character, so the key test comes
 * first; comments written by keygen contain spaces and never qualify.) */
static int parse_key_file(const char *buf, size_t len, const char *path,
                          char out[PH_CURVE_Z85_LEN + 1], ph_err *err)
{
    int found = 0;
    unsigned line_no = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && buf[end] != '\n')
            end++;
        line_no++;
        size_t a = pos, b = end;
        pos = end + 1;
        while (a < b && is_space(buf[a]))
            a++;
        while (b > a && is_space(buf[b - 1]))
            b--;
        if (a == b)
            continue;
        char key[PH_CURVE_Z85_LEN + 1];
        if (b - a == PH_CURVE_Z85_LEN) {
            memcpy(key, buf + a, PH_CURVE_Z85_LEN);
            key[PH_CURVE_Z85_LEN] = '\0';
            if (ph_curve_parse_z85(key, NULL) == PH_OK) {
                if (found++) {
                    explicit_bzero(key, sizeof key);
                    return ph_err_set(err, PH_EINVAL, "%s:%u: more than one key in file",
                                      path, line_no);
                }
                memcpy(out, key, sizeof key);
                explicit_bzero(key, sizeof key);
                continue;
            }
        }
        if (buf[a] == '#' && memchr(buf + a, '\0', b - a) == NULL)
            continue;
        return ph_err_set(err, PH_EINVAL, "%s:%u: not a 40-character Z85 key or # comment",
                          path, line_no);
    }
    if (!found)
        return ph_err_set(err, PH_EINVAL, "%s: no key found", path);
    return PH_OK;
}

/* Read a small key file from an open fd into buf (cap PH_CURVE_FILE_MAX). */
static int read_key_fd(int fd, const char *path, char *buf, size_t *len, ph_err *err)
{
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, PH_CURVE_FILE_MAX + 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return ph_err_set(err, PH_EIO, "%s: read failed: %s", path, strerror(errno));
        if (r == 0)
            break;
        got += (size_t)r;
        if (got > PH_CURVE_FILE_MAX)
            return ph_err_set(err, PH_EINVAL, "%s: too large for a key file (limit %d bytes)",
                              path, PH_CURVE_FILE_MAX);
    }
    *len = got;
    return PH_OK;
}

/* Open path and check it is a regular file; secret: also refuse any
 * group/other permission bits.  The mode is checked on the opened fd, so a
 * rename between check and read cannot swap the file. */
static int open_key_file(const char *path, bool secret, int *fd_out, ph_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return ph_err_set(err, PH_EIO, "%s: cannot open key file: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ph_err_set(err, PH_EINVAL, "%s: not a regular file", path);
    }
    if (secret && (st.st_mode & 077) != 0) {
        close(fd);
        return ph_err_set(err, PH_EPERM,
                          "%s: secret key file is accessible by group/other (mode %04o); "
                          "run: chmod 600 %s",
                          path, (unsigned)(st.st_mode & 07777), path);
    }
    *fd_out = fd;
    return PH_OK;
}

static int load_key_file(const char *path, bool secret, char out[PH_CURVE_Z85_LEN + 1],
                         ph_err *err)
{
    if (!path || !*path)
        return ph_err_set(err, PH_EINVAL, "key file: empty path");
    int fd = -1;
    int rc = open_key_file(path, secret, &fd, err);
    if (rc)
        return rc;
    char buf[PH_CURVE_FILE_MAX + 1];
    size_t len = 0;
    rc = read_key_fd(fd, path, buf, &len, err);
    close(fd);
    if (rc == PH_OK)
        rc = parse_key_file(buf, len, path, out, err);
    explicit_bzero(buf, sizeof buf); /* secret bytes must not linger on the stack */
    return rc;
}

int ph_curve_load_public(const char *path, char public_z85[PH_CURVE_Z85_LEN + 1],
                         ph_err *err)
{
    return load_key_file(path, false, public_z85, err);
}

int ph_curve_load_secret(const char *path, char secret_z85[PH_CURVE_Z85_LEN + 1],
                         char public_z85[PH_CURVE_Z85_LEN + 1], ph_err *err)
{
    if (!ph_curve_available())
        return ph_err_set(err, PH_EINVAL, "%s: libzmq was built without CURVE support", path);
    int rc = load_key_file(path, true, secret_z85, err);
    if (rc)
        return rc;
    char pub[PH_CURVE_Z85_LEN + 1];
    if (zmq_curve_public(pub, secret_z85) != 0) {
        explicit_bzero(secret_z85, PH_CURVE_Z85_LEN + 1);
        return ph_err_set(err, PH_EINVAL, "%s: cannot derive public key: %s", path,
                          zmq_strerror(zmq_errno()));
    }
    if (public_z85)
        memcpy(public_z85, pub, sizeof pub);
    return PH_OK;
}

/* ---- keygen ------------------------------------------------------------- */

/* Publish tmp as path unless path exists.  renameat2(NOREPLACE) is atomic;
 * filesystems without it fall back to link(), which also never replaces. */
static int publish_noreplace(const char *tmp, const char *path)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return -1;
    if (link(tmp, path) != 0)
        return -1;
    unlink(tmp);
    return 0;
}

/* Write data to path with exactly `mode`: the temporary is created with
 * O_EXCL and that mode from the start (fchmod undoes the umask, which could
 * only make the public file less readable), fsync'd, then published. */
static int write_key_file(const char *path, const char *data, size_t len, mode_t mode,
                          ph_err *err)
{
    char tmp[4200];
    if (ph_fs_tmp_name(tmp, sizeof tmp, path, err))
        return PH_EINVAL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return ph_err_set(err, PH_EIO, "%s: cannot create: %s", path, strerror(errno));
    int saved = 0;
    if (fchmod(fd, mode) != 0 || ph_fs_write_full(fd, data, len) != 0 || fsync(fd) != 0)
        saved = errno;
    if (close(fd) != 0 && !saved)
        saved = errno;
    if (!saved && publish_noreplace(tmp, path) != 0)
        saved = errno;
    if (saved) {
        unlink(tmp);
        if (saved == EEXIST)
            return ph_err_set(err, PH_EINVAL, "%s: already exists; refusing to overwrite a key",
                              path);
        return ph_err_set(err, PH_EIO, "%s: cannot write: %s", path, strerror(saved));
    }
    return PH_OK;
}

int ph_curve_keygen(const char *path_prefix, ph_err *err)
{
    if (!path_prefix || !*path_prefix)
        return ph_err_set(err, PH_EINVAL, "keygen: empty path prefix");
    if (!ph_curve_available())
        return ph_err_set(err, PH_EINVAL, "%s: libzmq was built without CURVE support",
                          path_prefix);
    char key_path[4096], pub_path[4096];
    int a = snprintf(key_path, sizeof key_path, "%s.key", path_prefix);
    int b = snprintf(pub_path, sizeof pub_path, "%s.pub", path_prefix);
    if (a < 0 || b < 0 || (size_t)a >= sizeof key_path || (size_t)b >= sizeof pub_path)
        return ph_err_set(err, PH_EINVAL, "%s: path prefix too long", path_prefix);

    char pub[PH_CURVE_Z85_LEN + 1], sec[PH_CURVE_Z85_LEN + 1];
    if (zmq_curve_keypair(pub, sec) != 0)
        return ph_err_set(err, PH_EIO, "%s: zmq_curve_keypair failed: %s", path_prefix,
                          zmq_strerror(zmq_errno()));
    char text[256];
    int tl = snprintf(text, sizeof text,
                      "# phcluster CURVE secret key (Z85). Keep private: mode 0600.\n%s\n", sec);
    int rc = write_key_file(key_path, text, (size_t)tl, 0600, err);
    explicit_bzero(text, sizeof text);
    explicit_bzero(sec, sizeof sec);
    if (rc)
        return rc;
    tl = snprintf(text, sizeof text, "# phcluster CURVE public key (Z85)\n%s\n", pub);
    rc = write_key_file(pub_path, text, (size_t)tl, 0644, err);
    if (rc)
        unlink(key_path); /* no half pair: we created it just above */
    return rc;
}

/* ---- socket setup ------------------------------------------------------- */

static int set_opt(void *sock, int opt, const char *name, const void *val, size_t len,
                   ph_err *err)
{
    if (zmq_setsockopt(sock, opt, val, len) != 0)
        return ph_err_set(err, PH_EINVAL, "zmq_setsockopt(%s): %s", name,
                          zmq_strerror(zmq_errno()));
    return PH_OK;
}

int ph_curve_server(void *sock, const char *secret_z85, ph_err *err)
{
    if (!ph_curve_available())
        return ph_err_set(err, PH_EINVAL, "libzmq was built without CURVE support");
    if (ph_curve_parse_z85(secret_z85, NULL) != PH_OK)
        return ph_err_set(err, PH_EINVAL, "CURVE secret key: not a 40-character Z85 key");
    int one = 1;
    int rc = set_opt(sock, ZMQ_CURVE_SERVER, "ZMQ_CURVE_SERVER", &one, sizeof one, err);
    if (!rc)
        rc = set_opt(sock, ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY", secret_z85,
                     PH_CURVE_Z85_LEN, err);
    if (!rc)
        rc = set_opt(sock, ZMQ_ZAP_DOMAIN, "ZMQ_ZAP_DOMAIN", PH_CURVE_ZAP_DOMAIN,
                     strlen(PH_CURVE_ZAP_DOMAIN), err);
    return rc;
}

int ph_curve_server_file(void *sock, const char *secret_path, ph_err *err)
{
    char sec[PH_CURVE_Z85_LEN + 1];
    int rc = ph_curve_load_secret(secret_path, sec, NULL, err);
    if (!rc)
        rc = ph_curve_server(sock, sec, err);
    explicit_bzero(sec, sizeof sec);
    return rc;
}

int ph_curve_client(void *sock, const char *client_secret_path,
                    const char *server_public_path, ph_err *err)
{
    char sec[PH_CURVE_Z85_LEN + 1], pub[PH_CURVE_Z85_LEN + 1], srv[PH_CURVE_Z85_LEN + 1];
    int rc = ph_curve_load_secret(client_secret_path, sec, pub, err);
    if (!rc)
        rc = ph_curve_load_public(server_public_path, srv, err);
    if (!rc)
        rc = set_opt(sock, ZMQ_CURVE_SERVERKEY, "ZMQ_CURVE_SERVERKEY", srv, PH_CURVE_Z85_LEN,
                     err);
    if (!rc)
        rc = set_opt(sock, ZMQ_CURVE_PUBLICKEY, "ZMQ_CURVE_PUBLICKEY", pub, PH_CURVE_Z85_LEN,
                     err);
    if (!rc)
        rc = set_opt(sock, ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY", sec, PH_CURVE_Z85_LEN,
                     err);
    explicit_bzero(sec, sizeof sec);
    return rc;
}

/* ---- endpoint classification ------------------------------------------- */

/* ":PORT" with PORT a decimal 0..65535 or "*". */
static bool valid_port_suffix(const char *p)
{
    if (*p++ != ':')
        return false;
    if (p[0] == '*' && p[1] == '\0')
        return true;
    unsigned long v = 0;
    size_t n = 0;
    for (; p[n]; n++) {
        if (p[n] < '0' || p[n] > '9' || n >= 5)
            return false;
        v = v * 10 + (unsigned long)(p[n] - '0');
    }
    return n > 0 && v <= 65535;
}

static bool host_is_loopback(const char *host, bool bracketed)
{
    if (!bracketed && strcasecmp(host, "localhost") == 0)
        return true;
    if (!bracketed) {
        unsigned char a4[4];
        return inet_pton(AF_INET, host, a4) == 1 && a4[0] == 127;
    }
    struct in6_addr a6;
    if (inet_pton(AF_INET6, host, &a6) != 1)
        return false;
    if (IN6_IS_ADDR_LOOPBACK(&a6))
        return true;
    return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

bool ph_endpoint_is_loopback(const char *endpoint)
{
    if (!endpoint)
        return false;
    if (strncmp(endpoint, "inproc://", 9) == 0)
        return endpoint[9] != '\0';
    if (strncmp(endpoint, "ipc://", 6) == 0)
        return endpoint[6] != '\0';
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return false;
    const char *hp = endpoint + 6;
    /* "src;dst" and interface names could reach anywhere: not loopback. */
    if (strchr(hp, ';'))
        return false;
    char host[64];
    const char *port;
    bool bracketed = hp[0] == '[';
    if (bracketed) {
        const char *close = strchr(hp, ']');
        if (!close || (size_t)(close - hp - 1) >= sizeof host)
            return false;
        memcpy(host, hp + 1, (size_t)(close - hp - 1));
        host[close - hp - 1] = '\0';
        port = close + 1;
    } else {
        const char *colon = strrchr(hp, ':');
        if (!colon || (size_t)(colon - hp) >= sizeof host)
            return false;
        memcpy(host, hp, (size_t)(colon - hp));
        host[colon - hp] = '\0';
        port = colon;
    }
    return host[0] != '\0' && valid_port_suffix(port) && host_is_loopback(host, bracketed);
}
