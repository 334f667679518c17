#include "ph_zap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "ph_curve.h"
#include "ph_fs.h"
#include "ph_log.h"
#include "ph_lograte.h"
#include "ph_time.h"

/* RFC 27 request: version, request id, domain, address, identity,
 * mechanism, then 0 (NULL), 1 (CURVE) or 2 (PLAIN) credential frames.
 * Anything longer than 8 frames or any frame over 256 bytes is malformed:
 * libzmq's own requests are far smaller. */
#define ZAP_MAX_FRAMES 8
#define ZAP_FRAME_MAX 256

typedef unsigned char zap_key[32];

struct ph_zap {
    void *sock;           /* REP on PH_ZAP_ENDPOINT; used only by the thread */
    int stop_pipe[2];     /* stop_pipe[1] written by ph_zap_stop */
    pthread_t thread;
    pthread_mutex_t lock; /* guards keys/nkeys against ph_zap_reload */
    zap_key *keys;        /* sorted, unique */
    size_t nkeys;
    char *path;
};

/* ---- allow-list --------------------------------------------------------- */

typedef struct key_vec {
    zap_key *v;
    size_t n, cap;
} key_vec;

static int vec_push(key_vec *kv, const unsigned char key[32], const char *path, ph_err *err)
{
    if (kv->n >= PH_ZAP_MAX_KEYS)
        return ph_err_set(err, PH_EINVAL, "%s: allow-list has more than %d keys", path,
                          PH_ZAP_MAX_KEYS);
    if (kv->n == kv->cap) {
        size_t cap = kv->cap ? kv->cap * 2 : 16;
        zap_key *nv = realloc(kv->v, cap * sizeof *nv);
        if (!nv)
            return ph_err_set(err, PH_ENOMEM, "%s: out of memory", path);
        kv->v = nv;
        kv->cap = cap;
    }
    memcpy(kv->v[kv->n++], key, 32);
    return PH_OK;
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* One Z85 key per line; blank lines and '#' comments skipped. */
static int load_list_file(const char *path, key_vec *kv, ph_err *err)
{
    void *data;
    size_t len;
    int rc = ph_fs_read_all(path, PH_ZAP_LIST_FILE_MAX, &data, &len, err);
    if (rc)
        return rc;
    const char *buf = data;
    unsigned line_no = 0;
    for (size_t pos = 0; pos < len && rc == PH_OK;) {
        size_t end = pos;
        while (end < len && buf[end] != '\n')
            end++;
        size_t a = pos, b = end;
        pos = end + 1;
        line_no++;
        while (a < b && is_blank(buf[a]))
            a++;
        while (b > a && is_blank(buf[b - 1]))
            b--;
        if (a == b)
            continue;
        unsigned char key[32];
        char z85[PH_CURVE_Z85_LEN + 1];
        if (b - a == PH_CURVE_Z85_LEN) {
            memcpy(z85, buf + a, PH_CURVE_Z85_LEN);
            z85[PH_CURVE_Z85_LEN] = '\0';
            if (ph_curve_parse_z85(z85, key) == PH_OK) {
                rc = vec_push(kv, key, path, err);
                continue;
            }
        }
        if (buf[a] != '#')
            rc = ph_err_set(err, PH_EINVAL, "%s:%u: not a 40-character Z85 key or # comment",
                            path, line_no);
    }
    free(data);
    return rc;
}

static bool has_pub_suffix(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".pub") == 0;
}

/* Every visible *.pub file in dir, each holding exactly one key. */
static int load_list_dir(const char *dir, key_vec *kv, ph_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return ph_err_set(err, PH_EIO, "%s: cannot open allow-list directory: %s", dir,
                          strerror(errno));
    int rc = PH_OK;
    struct dirent *de;
    while (rc == PH_OK && (de = readdir(d)) != NULL) {
        if (!has_pub_suffix(de->d_name))
            continue;
        char path[4096], z85[PH_CURVE_Z85_LEN + 1];
        unsigned char key[32];
        rc = ph_fs_join(path, sizeof path, dir, de->d_name, err);
        if (!rc)
            rc = ph_curve_load_public(path, z85, err);
        if (!rc && ph_curve_parse_z85(z85, key) != PH_OK)
            rc = ph_err_set(err, PH_EINVAL, "%s: bad key", path);
        if (!rc)
            rc = vec_push(kv, key, dir, err);
    }
    closedir(d);
    return rc;
}

static int cmp_key(const void *a, const void *b) { return memcmp(a, b, 32); }

int ph_zap_load_allow(const char *allow, zap_key **keys, size_t *count, ph_err *err)
{
    *keys = NULL;
    *count = 0;
    if (!allow || !*allow)
        return ph_err_set(err, PH_EINVAL, "allow-list: empty path");
    struct stat st;
    if (stat(allow, &st) != 0)
        return ph_err_set(err, PH_EIO, "%s: cannot read allow-list: %s", allow,
                          strerror(errno));
    key_vec kv = {0};
    int rc;
    if (S_ISDIR(st.st_mode))
        rc = load_list_dir(allow, &kv, err);
    else if (S_ISREG(st.st_mode))
        rc = load_list_file(allow, &kv, err);
    else
        rc = ph_err_set(err, PH_EINVAL, "%s: allow-list is neither a directory nor a file",
                        allow);
    if (rc == PH_OK && kv.n == 0)
        rc = ph_err_set(err, PH_EINVAL, "%s: allow-list has no keys", allow);
    if (rc) {
        free(kv.v);
        return rc;
    }
    qsort(kv.v, kv.n, sizeof *kv.v, cmp_key);
    size_t u = 1; /* drop duplicates so the count means something */
    for (size_t i = 1; i < kv.n; i++)
        if (memcmp(kv.v[i], kv.v[u - 1], 32) != 0)
            memcpy(kv.v[u++], kv.v[i], 32);
    *keys = kv.v;
    *count = u;
    return PH_OK;
}

/* ---- request handling --------------------------------------------------- */

typedef struct zap_frame {
    size_t len;
    bool too_big;
    unsigned char data[ZAP_FRAME_MAX];
} zap_frame;

typedef struct zap_request {
    zap_frame f[ZAP_MAX_FRAMES];
    int nframes; /* frames received in total, may exceed ZAP_MAX_FRAMES */
} zap_request;

static bool frame_is(const zap_frame *f, const char *s)
{
    size_t n = strlen(s);
    return !f->too_big && f->len == n && memcmp(f->data, s, n) == 0;
}

/* Receive one whole multipart request, keeping at most ZAP_MAX_FRAMES
 * frames of at most ZAP_FRAME_MAX bytes; the rest is drained and counted. */
static int recv_request(void *sock, zap_request *req)
{
    req->nframes = 0;
    int more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            int e = zmq_errno();
            zmq_msg_close(&m);
            if (e == EINTR && req->nframes == 0)
                return 1; /* nothing consumed: caller polls again */
            if (e == EINTR)
                continue;
            return -1;
        }
        if (req->nframes < ZAP_MAX_FRAMES) {
            zap_frame *f = &req->f[req->nframes];
            f->len = zmq_msg_size(&m);
            f->too_big = f->len > ZAP_FRAME_MAX;
            if (!f->too_big)
                memcpy(f->data, zmq_msg_data(&m), f->len);
        }
        req->nframes++;
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    return 0;
}

static bool key_allowed(ph_zap *zap, const unsigned char key[32])
{
    pthread_mutex_lock(&zap->lock);
    bool ok = bsearch(key, zap->keys, zap->nkeys, sizeof *zap->keys, cmp_key) != NULL;
    pthread_mutex_unlock(&zap->lock);
    return ok;
}

/* Copy a frame as printable text for logs (peer data is never trusted). */
static void frame_text(const zap_frame *f, char *out, size_t outlen)
{
    size_t n = f->too_big ? 0 : f->len;
    if (n >= outlen)
        n = outlen - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = f->data[i];
        out[i] = (c >= 0x21 && c < 0x7f && c != '"') ? (char)c : '?';
    }
    out[n] = '\0';
}

typedef struct zap_verdict {
    const char *code;
    const char *text;
    char user_id[PH_CURVE_Z85_LEN + 1];
} zap_verdict;

static void decide(ph_zap *zap, const zap_request *req, zap_verdict *v)
{
    v->user_id[0] = '\0';
    v->code = "500";
    if (req->nframes < 6 || req->nframes > ZAP_MAX_FRAMES) {
        v->text = "malformed request: frame count";
        return;
    }
    for (int i = 0; i < req->nframes; i++)
        if (req->f[i].too_big) {
            v->text = "malformed request: frame too large";
            return;
        }
    if (!frame_is(&req->f[0], "1.0")) {
        v->text = "unsupported ZAP version";
        return;
    }
    const zap_frame *mech = &req->f[5];
    v->code = "400";
    if (frame_is(mech, "CURVE")) {
        if (req->nframes != 7 || req->f[6].len != 32) {
            v->code = "500";
            v->text = "malformed CURVE credentials";
        } else if (!frame_is(&req->f[2], PH_CURVE_ZAP_DOMAIN)) {
            v->text = "wrong ZAP domain";
        } else if (!key_allowed(zap, req->f[6].data)) {
            v->text = "key not in allow-list";
        } else {
            v->code = "200";
            v->text = "OK";
            zmq_z85_encode(v->user_id, req->f[6].data, 32);
        }
    } else if (frame_is(mech, "NULL")) {
        v->text = "NULL mechanism refused: allow-list active";
    } else {
        v->text = "mechanism refused";
    }
}

/* Refusals are rate-limited per peer address (lr; NULL = not limited): a
 * peer that retries a refused handshake in a loop gets a few lines and a
 * count, not a line per attempt. */
static void log_verdict(const zap_request *req, const zap_verdict *v, ph_lograte *lr)
{
    char addr[64] = "", mech[16] = "", key[PH_CURVE_Z85_LEN + 1] = "-";
    if (req->nframes >= 6) {
        frame_text(&req->f[3], addr, sizeof addr);
        frame_text(&req->f[5], mech, sizeof mech);
    }
    if (req->nframes == 7 && !req->f[6].too_big && req->f[6].len == 32)
        zmq_z85_encode(key, req->f[6].data, 32);
    if (v->code[0] == '2')
        ph_log_debug("zap", "msg=\"accepted\" mechanism=%s address=%s key=%s", mech, addr, key);
    else if (!lr || ph_lograte_allow(lr, "refused", addr, strlen(addr), PH_LOG_WARN,
                                       ph_time_ms()))
        ph_log_warn("zap", "msg=\"refused\" status=%s reason=\"%s\" mechanism=%s address=%s key=%s",
                    v->code, v->text, mech, addr, key);
}

static int send_frame(void *sock, const void *data, size_t len, bool more)
{
    return zmq_send(sock, data, len, more ? ZMQ_SNDMORE : 0) < 0 ? -1 : 0;
}

static int send_reply(void *sock, const zap_request *req, const zap_verdict *v)
{
    /* Echo the request id when we have it; libzmq matches on it. */
    const zap_frame *id = req->nframes >= 2 ? &req->f[1] : NULL;
    size_t id_len = (id && !id->too_big) ? id->len : 0;
    if (send_frame(sock, "1.0", 3, true) || send_frame(sock, id ? id->data : NULL, id_len, true) ||
        send_frame(sock, v->code, strlen(v->code), true) ||
        send_frame(sock, v->text, strlen(v->text), true) ||
        send_frame(sock, v->user_id, strlen(v->user_id), true) ||
        send_frame(sock, NULL, 0, false))
        return -1;
    return 0;
}

/* ---- thread ------------------------------------------------------------- */

static void *zap_thread(void *arg)
{
    ph_zap *zap = arg;
    zap_request *req = malloc(sizeof *req);
    ph_lograte *lr = NULL; /* this thread's; without it refusals are all logged */
    ph_err lerr = {0};
    if (ph_lograte_new("zap", 0, 0, &lr, &lerr) != 0)
        ph_log_warn("zap", "msg=\"refusals not rate-limited: %s\"", lerr.msg);
    for (;;) {
        zmq_pollitem_t items[2] = {
            {zap->sock, 0, ZMQ_POLLIN, 0},
            {NULL, zap->stop_pipe[0], ZMQ_POLLIN, 0},
        };
        if (lr)
            ph_lograte_tick(lr, ph_time_ms());
        if (zmq_poll(items, 2, lr ? 1000 : -1) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            if (zmq_errno() != ETERM)
                ph_log_error("zap", "msg=\"zmq_poll failed\" error=\"%s\"",
                             zmq_strerror(zmq_errno()));
            break;
        }
        if (items[1].revents)
            break;
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        if (!req) {
            ph_log_error("zap", "msg=\"out of memory\"");
            break;
        }
        int rc = recv_request(zap->sock, req);
        if (rc > 0)
            continue;
        if (rc < 0)
            break;
        zap_verdict v;
        decide(zap, req, &v);
        log_verdict(req, &v, lr);
        if (send_reply(zap->sock, req, &v) != 0)
            break;
    }
    free(req);
    ph_lograte_free(lr); /* logs the counts still pending */
    zmq_close(zap->sock); /* closed by its owning thread */
    zap->sock = NULL;
    return NULL;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void zap_free(ph_zap *zap)
{
    if (zap->stop_pipe[0] >= 0)
        close(zap->stop_pipe[0]);
    if (zap->stop_pipe[1] >= 0)
        close(zap->stop_pipe[1]);
    pthread_mutex_destroy(&zap->lock);
    free(zap->keys);
    free(zap->path);
    free(zap);
}

static int zap_bind(ph_zap *zap, void *ctx, ph_err *err)
{
    zap->sock = zmq_socket(ctx, ZMQ_REP);
    if (!zap->sock)
        return ph_err_set(err, PH_EIO, "ZAP handler: zmq_socket: %s", zmq_strerror(zmq_errno()));
    int zero = 0;
    zmq_setsockopt(zap->sock, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(zap->sock, PH_ZAP_ENDPOINT) != 0) {
        int e = zmq_errno();
        zmq_close(zap->sock);
        zap->sock = NULL;
        return ph_err_set(err, PH_EIO, "ZAP handler: bind %s: %s%s", PH_ZAP_ENDPOINT,
                          zmq_strerror(e),
                          e == EADDRINUSE ? " (another ZAP handler runs in this context)" : "");
    }
    return PH_OK;
}

int ph_zap_start(void *zmq_ctx, const char *allow, ph_zap **out, ph_err *err)
{
    *out = NULL;
    if (!zmq_ctx)
        return ph_err_set(err, PH_EINVAL, "ZAP handler: no zmq context");
    ph_zap *zap = calloc(1, sizeof *zap);
    if (!zap)
        return ph_err_set(err, PH_ENOMEM, "ZAP handler: out of memory");
    zap->stop_pipe[0] = zap->stop_pipe[1] = -1;
    pthread_mutex_init(&zap->lock, NULL);
    int rc = ph_zap_load_allow(allow, &zap->keys, &zap->nkeys, err);
    if (!rc && !(zap->path = strdup(allow)))
        rc = ph_err_set(err, PH_ENOMEM, "ZAP handler: out of memory");
    if (!rc && pipe2(zap->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        rc = ph_err_set(err, PH_EIO, "ZAP handler: pipe: %s", strerror(errno));
    /* Bind here, not in the thread: handshakes that start right after we
     * return must find the handler.  pthread_create's barrier hands the
     * socket over to the thread. */
    if (!rc)
        rc = zap_bind(zap, zmq_ctx, err);
    if (!rc && pthread_create(&zap->thread, NULL, zap_thread, zap) != 0) {
        zmq_close(zap->sock);
        rc = ph_err_set(err, PH_EIO, "ZAP handler: cannot start thread");
    }
    if (rc) {
        zap_free(zap);
        return rc;
    }
    ph_log_info("zap", "msg=\"ZAP handler started\" allow=%s keys=%zu", allow, zap->nkeys);
    *out = zap;
    return PH_OK;
}

int ph_zap_reload(ph_zap *zap, ph_err *err)
{
    zap_key *keys;
    size_t n;
    int rc = ph_zap_load_allow(zap->path, &keys, &n, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&zap->lock);
    zap_key *old = zap->keys;
    zap->keys = keys;
    zap->nkeys = n;
    pthread_mutex_unlock(&zap->lock);
    free(old);
    ph_log_info("zap", "msg=\"allow-list reloaded\" allow=%s keys=%zu", zap->path, n);
    return PH_OK;
}

size_t ph_zap_allowed_count(ph_zap *zap)
{
    pthread_mutex_lock(&zap->lock);
    size_t n = zap->nkeys;
    pthread_mutex_unlock(&zap->lock);
    return n;
}

void ph_zap_stop(ph_zap *zap)
{
    if (!zap)
        return;
    ssize_t w;
    do
        w = write(zap->stop_pipe[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(zap->thread, NULL);
    zap_free(zap);
}
