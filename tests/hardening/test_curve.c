/* test_curve.c - CURVE key files, ZAP allow-list, loopback classification
 * and a real CURVE handshake over tcp://127.0.0.1. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <zmq.h>

#include "ph_curve.h"
#include "ph_local.h"
#include "ph_zap.h"
#include "test_util.h"

/* How long an answer that must come (a ZAP reply, a handshake's outcome, a
 * message) may take: a deadline that only catches a hang, so a loaded
 * machine (sanitizers, the builds beside) never trips it.  The waits for
 * what must not come are short: such a test can only pass wrongly. */
#define TC_HANG_MS 60000

/* ---- helpers ------------------------------------------------------------ */

static unsigned file_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (unsigned)(st.st_mode & 07777);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* ---- key files ---------------------------------------------------------- */

static void test_keygen_modes(void **state)
{
    (void)state;
    ph_err err = {0};
    /* A permissive umask must not loosen the secret, a strict one must not
     * hide the public key. */
    mode_t old = umask(0);
    assert_int_equal(ph_curve_keygen(tu_at("a"), &err), 0);
    umask(077);
    assert_int_equal(ph_curve_keygen(tu_at("b"), &err), 0);
    umask(old);
    assert_int_equal(file_mode(tu_at("a.key")), 0600);
    assert_int_equal(file_mode(tu_at("a.pub")), 0644);
    assert_int_equal(file_mode(tu_at("b.key")), 0600);
    assert_int_equal(file_mode(tu_at("b.pub")), 0644);
    assert_int_equal(count_entries(tu_dir()), 4); /* no temporaries left */

    char sec[41], derived[41], loaded[41], other[41];
    assert_int_equal(ph_curve_load_secret(tu_at("a.key"), sec, derived, &err), 0);
    assert_int_equal(ph_curve_load_public(tu_at("a.pub"), loaded, &err), 0);
    assert_string_equal(derived, loaded);
    assert_int_equal(strlen(sec), 40);
    assert_int_equal(ph_curve_load_public(tu_at("b.pub"), other, &err), 0);
    assert_string_not_equal(loaded, other);
}

static void test_keygen_no_overwrite(void **state)
{
    (void)state;
    char pfx[512], pub[512];
    ph_err err = {0};
    char before[41], after[41];
    assert_int_equal(ph_curve_keygen(tu_path(pfx, sizeof pfx, "k"), &err), 0);
    assert_int_equal(ph_curve_load_public(tu_path(pub, sizeof pub, "k.pub"), before, &err), 0);
    assert_int_not_equal(ph_curve_keygen(pfx, &err), 0);
    assert_non_null(strstr(err.msg, "k.key"));
    assert_int_equal(ph_curve_load_public(pub, after, &err), 0);
    assert_string_equal(before, after);
    assert_int_equal(count_entries(tu_dir()), 2);

    /* An existing .pub alone also blocks keygen, and no .key is left. */
    char key[512];
    tu_write_text(tu_path(pub, sizeof pub, "p.pub"), "# placeholder\n");
    assert_int_not_equal(ph_curve_keygen(tu_path(pfx, sizeof pfx, "p"), &err), 0);
    assert_non_null(strstr(err.msg, "p.pub"));
    assert_int_not_equal(access(tu_path(key, sizeof key, "p.key"), F_OK), 0);
}

static void test_load_refuses_open_secret(void **state)
{
    (void)state;
    char pfx[512], key[512], pub[512];
    ph_err err = {0};
    char sec[41], p[41];
    assert_int_equal(ph_curve_keygen(tu_path(pfx, sizeof pfx, "s"), &err), 0);
    tu_path(key, sizeof key, "s.key");
    assert_int_equal(chmod(key, 0644), 0);
    assert_int_equal(ph_curve_load_secret(key, sec, p, &err), PH_EPERM);
    assert_non_null(strstr(err.msg, key));
    assert_int_equal(chmod(key, 0640), 0);
    assert_int_equal(ph_curve_load_secret(key, sec, p, &err), PH_EPERM);
    /* The socket helpers go through the same check. */
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    assert_int_equal(ph_curve_client(s, key, tu_path(pub, sizeof pub, "s.pub"), &err), PH_EPERM);
    assert_int_equal(ph_curve_server_file(s, key, &err), PH_EPERM);
    assert_int_equal(chmod(key, 0600), 0);
    assert_int_equal(ph_curve_load_secret(key, sec, p, &err), 0);
    assert_int_equal(ph_curve_client(s, key, pub, &err), 0);
    zmq_close(s);
    zmq_ctx_term(ctx);
}

static void test_load_bad_files(void **state)
{
    (void)state;
    char path[512];
    char k[41];
    ph_err err = {0};
    static const char *bad[] = {
        "",                                                   /* no key */
        "# only a comment\n",                                 /* no key */
        "garbage\n",                                          /* not a key */
        "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\n",          /* 39 chars */
        "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf~\n",         /* '~' not Z85 */
        ("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n"
         "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n"),       /* two keys */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad%zu.pub", i);
        tu_write_text(tu_path(path, sizeof path, name), bad[i]);
        err.msg[0] = '\0';
        assert_int_equal(ph_curve_load_public(path, k, &err), PH_EINVAL);
        assert_non_null(strstr(err.msg, name));
    }
    /* CRLF, blank lines and indentation are fine. */
    tu_write_text(tu_path(path, sizeof path, "ok.pub"),
                  "\r\n# c\r\n   rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7  \r\n\n");
    assert_int_equal(ph_curve_load_public(path, k, &err), 0);
    assert_string_equal(k, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    /* Oversized and non-regular files. */
    char big[PH_CURVE_FILE_MAX + 100];
    memset(big, '#', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tu_write_text(tu_path(path, sizeof path, "big.pub"), big);
    assert_int_equal(ph_curve_load_public(path, k, &err), PH_EINVAL);
    assert_int_not_equal(ph_curve_load_public(tu_dir(), k, &err), 0);
    assert_int_not_equal(ph_curve_load_public(tu_at("missing.pub"), k, &err), 0);
    assert_non_null(strstr(err.msg, "missing.pub"));
}

/* ---- endpoint classification ------------------------------------------- */

static void test_loopback_table(void **state)
{
    (void)state;
    static const struct {
        const char *ep;
        bool loop;
    } t[] = {
        {"inproc://coord", true},
        {"ipc:///run/phcluster/coord.sock", true},
        {"ipc://@abstract", true},
        {"tcp://127.0.0.1:7710", true},
        {"tcp://127.3.4.5:1", true},
        {"tcp://127.0.0.1:*", true},
        {"tcp://localhost:7710", true},
        {"tcp://LOCALHOST:7710", true},
        {"tcp://[::1]:7710", true},
        {"tcp://[::1]:*", true},
        {"tcp://[::ffff:127.0.0.1]:7710", true},
        {"tcp://*:7710", false},
        {"tcp://0.0.0.0:7710", false},
        {"tcp://[::]:7710", false},
        {"tcp://10.0.0.5:7710", false},
        {"tcp://128.0.0.1:7710", false},
        {"tcp://127.0.0.1", false},          /* no port */
        {"tcp://127.0.0.1:", false},
        {"tcp://127.0.0.1:99999", false},
        {"tcp://127.0.0.1:77a", false},
        {"tcp://127.1:7710", false},         /* not dotted quad */
        {"tcp://127.0.0.256:7710", false},
        {"tcp://lo:7710", false},            /* interface names: not trusted */
        {"tcp://eth0:7710", false},
        {"tcp://example.com:7710", false},
        {"tcp://localhost.evil.com:7710", false},
        {"tcp://10.0.0.1;127.0.0.1:7710", false},
        {"tcp://::1:7710", false},           /* unbracketed IPv6 */
        {"tcp://[::1:7710", false},
        {"tcp://[fe80::1]:7710", false},
        {"tcp://:7710", false},
        {"pgm://127.0.0.1;239.192.1.1:5555", false},
        {"ws://127.0.0.1:7710", false},
        {"inproc://", false},
        {"ipc://", false},
        {"", false},
        {"127.0.0.1:7710", false},
        {NULL, false},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        if (ph_endpoint_is_loopback(t[i].ep) != t[i].loop)
            fail_msg("endpoint %s: expected %s", t[i].ep ? t[i].ep : "(null)",
                     t[i].loop ? "loopback" : "not loopback");
    }
}

/* ---- allow-list and raw ZAP frames -------------------------------------- */

static void test_allow_list_load(void **state)
{
    (void)state;
    char path[512], dir[512], pfx[512];
    ph_err err = {0};
    unsigned char (*keys)[32];
    size_t n;
    tu_write_text(tu_path(path, sizeof path, "allow.txt"),
                  "# team keys\n\n"
                  "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n"
                  "  Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID  \n"
                  "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n"); /* duplicate */
    assert_int_equal(ph_zap_load_allow(path, &keys, &n, &err), 0);
    assert_int_equal(n, 2);
    free(keys);

    tu_write_text(tu_path(path, sizeof path, "allow_bad.txt"), "# x\nnot-a-key\n");
    assert_int_equal(ph_zap_load_allow(path, &keys, &n, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "allow_bad.txt:2"));
    assert_null(keys);

    tu_write_text(tu_path(path, sizeof path, "allow_empty.txt"), "# nobody\n");
    assert_int_equal(ph_zap_load_allow(path, &keys, &n, &err), PH_EINVAL);

    /* Directory: only *.pub count; the .key beside it is ignored. */
    assert_int_equal(mkdir(tu_path(dir, sizeof dir, "allow.d"), 0755), 0);
    assert_int_equal(ph_zap_load_allow(dir, &keys, &n, &err), PH_EINVAL); /* empty */
    assert_non_null(strstr(err.msg, "allow.d"));
    assert_int_equal(ph_curve_keygen(tu_path(pfx, sizeof pfx, "allow.d/w1"), &err), 0);
    assert_int_equal(ph_curve_keygen(tu_path(pfx, sizeof pfx, "allow.d/w2"), &err), 0);
    tu_write_text(tu_path(path, sizeof path, "allow.d/README"), "not a key\n");
    assert_int_equal(ph_zap_load_allow(dir, &keys, &n, &err), 0);
    assert_int_equal(n, 2);
    free(keys);
    tu_write_text(tu_path(path, sizeof path, "allow.d/broken.pub"), "oops\n");
    assert_int_equal(ph_zap_load_allow(dir, &keys, &n, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "broken.pub"));
}

typedef struct frame_spec {
    const void *data;
    size_t len;
} frame_spec;

/* Send a raw request to the ZAP handler; return the reply frame count and
 * copy frames 1 (request id), 2 (status) and 4 (user id). */
static int zap_roundtrip(void *req, const frame_spec *f, int n, char *id, char *status,
                         char *user)
{
    for (int i = 0; i < n; i++)
        assert_true(zmq_send(req, f[i].data, f[i].len, i + 1 < n ? ZMQ_SNDMORE : 0) >= 0);
    zmq_pollitem_t it = {req, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, TC_HANG_MS), 1);
    int count = 0, more = 1;
    while (more) {
        char buf[256];
        int r = zmq_recv(req, buf, sizeof buf - 1, 0);
        assert_true(r >= 0 && r < (int)sizeof buf);
        buf[r] = '\0';
        if (count == 0)
            assert_string_equal(buf, "1.0");
        if (count == 1)
            strcpy(id, buf);
        if (count == 2)
            strcpy(status, buf);
        if (count == 4)
            strcpy(user, buf);
        count++;
        size_t sz = sizeof more;
        zmq_getsockopt(req, ZMQ_RCVMORE, &more, &sz);
    }
    return count;
}

static void test_zap_frames(void **state)
{
    (void)state;
    char path[512];
    ph_err err = {0};
    const char *good = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const char *other = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
    unsigned char gk[32], ok_[32];
    assert_int_equal(ph_curve_parse_z85(good, gk), 0);
    assert_int_equal(ph_curve_parse_z85(other, ok_), 0);
    tu_write_text(tu_path(path, sizeof path, "allow.txt"), good);

    void *ctx = zmq_ctx_new();
    ph_zap *zap;
    assert_int_equal(ph_zap_start(ctx, path, &zap, &err), 0);
    assert_int_equal(ph_zap_allowed_count(zap), 1);
    ph_zap *zap2;
    assert_int_not_equal(ph_zap_start(ctx, path, &zap2, &err), 0); /* one per context */
    assert_null(zap2);

    void *req = zmq_socket(ctx, ZMQ_REQ);
    int zero = 0;
    zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(req, PH_ZAP_ENDPOINT), 0);
    char id[256], st[256], user[256];
    static char huge[1000];
#define F(s) {s, sizeof s - 1}
    frame_spec curve_ok[] = {F("1.0"), F("id-1"), F("phcluster"), F("127.0.0.1"), F(""),
                             F("CURVE"), {gk, 32}};
    assert_int_equal(zap_roundtrip(req, curve_ok, 7, id, st, user), 6);
    assert_string_equal(id, "id-1");
    assert_string_equal(st, "200");
    assert_string_equal(user, good);

    frame_spec unlisted[] = {F("1.0"), F("id-2"), F("phcluster"), F("127.0.0.1"), F(""),
                             F("CURVE"), {ok_, 32}};
    zap_roundtrip(req, unlisted, 7, id, st, user);
    assert_string_equal(id, "id-2");
    assert_string_equal(st, "400");
    assert_string_equal(user, "");

    frame_spec domain[] = {F("1.0"), F("3"), F("other"), F("a"), F(""), F("CURVE"), {gk, 32}};
    zap_roundtrip(req, domain, 7, id, st, user);
    assert_string_equal(st, "400");

    frame_spec null_mech[] = {F("1.0"), F("4"), F("phcluster"), F("a"), F(""), F("NULL")};
    zap_roundtrip(req, null_mech, 6, id, st, user);
    assert_string_equal(st, "400");

    frame_spec plain[] = {F("1.0"), F("5"), F("phcluster"), F("a"), F(""), F("PLAIN"),
                          F("admin"), F("secret")};
    zap_roundtrip(req, plain, 8, id, st, user);
    assert_string_equal(st, "400");

    frame_spec version[] = {F("2.0"), F("6"), F("phcluster"), F("a"), F(""), F("CURVE"),
                            {gk, 32}};
    zap_roundtrip(req, version, 7, id, st, user);
    assert_string_equal(st, "500");

    frame_spec short_key[] = {F("1.0"), F("7"), F("phcluster"), F("a"), F(""), F("CURVE"),
                              {gk, 31}};
    zap_roundtrip(req, short_key, 7, id, st, user);
    assert_string_equal(st, "500");

    frame_spec few[] = {F("1.0"), F("8"), F("phcluster")};
    zap_roundtrip(req, few, 3, id, st, user);
    assert_string_equal(id, "8");
    assert_string_equal(st, "500");

    frame_spec many[12];
    for (int i = 0; i < 12; i++)
        many[i] = (frame_spec)F("1.0");
    zap_roundtrip(req, many, 12, id, st, user);
    assert_string_equal(st, "500");

    frame_spec big[] = {F("1.0"), F("10"), {huge, sizeof huge}, F("a"), F(""), F("CURVE"),
                        {gk, 32}};
    zap_roundtrip(req, big, 7, id, st, user);
    assert_string_equal(st, "500");

    frame_spec one[] = {F("")};
    zap_roundtrip(req, one, 1, id, st, user);
    assert_string_equal(st, "500");

    /* Reload swaps the list: the old key is out, the new one in; a bad
     * file keeps the current list. */
    tu_write_text(path, other);
    assert_int_equal(ph_zap_reload(zap, &err), 0);
    zap_roundtrip(req, curve_ok, 7, id, st, user);
    assert_string_equal(st, "400");
    zap_roundtrip(req, unlisted, 7, id, st, user);
    assert_string_equal(st, "200");
    tu_write_text(path, "junk\n");
    assert_int_equal(ph_zap_reload(zap, &err), PH_EINVAL);
    zap_roundtrip(req, unlisted, 7, id, st, user);
    assert_string_equal(st, "200");
#undef F
    zmq_close(req);
    ph_zap_stop(zap);
    ph_zap_stop(NULL);
    assert_int_equal(zmq_ctx_term(ctx), 0);
}

/* ---- real handshake ----------------------------------------------------- */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Wait for a monitor event in `mask`; returns the event id (value in
 * *value) or 0 when none arrived within timeout_ms. */
static int wait_event(void *mon, int mask, int timeout_ms, uint32_t *value)
{
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0)
            return 0;
        zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, left) <= 0)
            continue;
        unsigned char hdr[6];
        char ep[256];
        int r = zmq_recv(mon, hdr, sizeof hdr, 0);
        assert_int_equal(r, 6);
        assert_true(zmq_recv(mon, ep, sizeof ep, 0) >= 0);
        uint16_t ev;
        memcpy(&ev, hdr, 2);
        memcpy(value, hdr + 2, 4);
        if (ev & mask)
            return ev;
    }
}

/* Poll the server for ms; return 1 if a message arrived (copied to buf). */
static int server_recv(void *srv, int ms, char *buf, size_t len, char *user_id)
{
    zmq_pollitem_t it = {srv, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) != 1)
        return 0;
    zmq_msg_t m;
    zmq_msg_init(&m);
    assert_true(zmq_msg_recv(&m, srv, 0) >= 0);
    size_t n = zmq_msg_size(&m) < len - 1 ? zmq_msg_size(&m) : len - 1;
    memcpy(buf, zmq_msg_data(&m), n);
    buf[n] = '\0';
    const char *uid = zmq_msg_gets(&m, "User-Id");
    snprintf(user_id, PH_CURVE_Z85_LEN + 1, "%s", uid ? uid : "");
    zmq_msg_close(&m);
    return 1;
}

static void *push_socket(void *ctx, const char *secret, const char *server_pub,
                         const char *endpoint)
{
    void *s = zmq_socket(ctx, ZMQ_PUSH);
    int zero = 0, slow = 2000;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    /* Refused clients retry; keep the refusal log short. */
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &slow, sizeof slow);
    ph_err err = {0};
    if (secret && ph_curve_client(s, secret, server_pub, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(zmq_connect(s, endpoint), 0);
    return s;
}

static void test_curve_handshake(void **state)
{
    (void)state;
    char p[512], allow[512], srv_key[512], srv_pub[512], ok_key[512], bad_key[512];
    ph_err err = {0};
    assert_true(ph_curve_available());
    assert_int_equal(mkdir(tu_path(allow, sizeof allow, "allow"), 0755), 0);
    assert_int_equal(ph_curve_keygen(tu_path(p, sizeof p, "server"), &err), 0);
    assert_int_equal(ph_curve_keygen(tu_path(p, sizeof p, "allow/good"), &err), 0);
    assert_int_equal(ph_curve_keygen(tu_path(p, sizeof p, "stranger"), &err), 0);
    tu_path(srv_key, sizeof srv_key, "server.key");
    tu_path(srv_pub, sizeof srv_pub, "server.pub");
    tu_path(ok_key, sizeof ok_key, "allow/good.key");
    tu_path(bad_key, sizeof bad_key, "stranger.key");
    char good_pub[41];
    assert_int_equal(ph_curve_load_public(tu_at("allow/good.pub"), good_pub, &err), 0);

    void *sctx = zmq_ctx_new(), *cctx = zmq_ctx_new();
    ph_zap *zap;
    assert_int_equal(ph_zap_start(sctx, allow, &zap, &err), 0);
    void *srv = zmq_socket(sctx, ZMQ_PULL);
    int zero = 0;
    zmq_setsockopt(srv, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(ph_curve_server_file(srv, srv_key, &err), 0);
    int mask = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    assert_int_equal(zmq_socket_monitor(srv, "inproc://test-mon", mask), 0);
    void *mon = zmq_socket(sctx, ZMQ_PAIR);
    zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(mon, "inproc://test-mon"), 0);
    assert_int_equal(zmq_bind(srv, "tcp://127.0.0.1:*"), 0);
    char ep[256];
    size_t eplen = sizeof ep;
    assert_int_equal(zmq_getsockopt(srv, ZMQ_LAST_ENDPOINT, ep, &eplen), 0);
    assert_true(ph_endpoint_is_loopback(ep));

    /* Allowed client: the message arrives, tagged with its public key. */
    char buf[64], uid[41];
    uint32_t val;
    void *good = push_socket(cctx, ok_key, srv_pub, ep);
    assert_int_equal(zmq_send(good, "hello", 5, 0), 5);
    assert_int_equal(server_recv(srv, TC_HANG_MS, buf, sizeof buf, uid), 1);
    assert_string_equal(buf, "hello");
    assert_string_equal(uid, good_pub);
    assert_int_equal(wait_event(mon, mask, TC_HANG_MS, &val), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);

    /* Unlisted key: ZAP says 400, nothing reaches the server. */
    void *bad = push_socket(cctx, bad_key, srv_pub, ep);
    zmq_send(bad, "intruder", 8, ZMQ_DONTWAIT);
    assert_int_equal(wait_event(mon, mask & ~ZMQ_EVENT_HANDSHAKE_SUCCEEDED, TC_HANG_MS, &val),
                     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    assert_int_equal(val, 400);
    assert_int_equal(server_recv(srv, 1000, buf, sizeof buf, uid), 0);

    /* No CURVE at all: the mechanism mismatch fails the handshake. */
    void *plain = push_socket(cctx, NULL, NULL, ep);
    zmq_send(plain, "plain", 5, ZMQ_DONTWAIT);
    assert_int_not_equal(wait_event(mon, mask & ~ZMQ_EVENT_HANDSHAKE_SUCCEEDED, TC_HANG_MS, &val),
                         0);
    assert_int_equal(server_recv(srv, 1000, buf, sizeof buf, uid), 0);

    /* The server is still healthy for the allowed client. */
    assert_int_equal(zmq_send(good, "again", 5, 0), 5);
    assert_int_equal(server_recv(srv, TC_HANG_MS, buf, sizeof buf, uid), 1);
    assert_string_equal(buf, "again");

    zmq_close(good);
    zmq_close(bad);
    zmq_close(plain);
    zmq_socket_monitor(srv, NULL, 0);
    zmq_close(mon);
    zmq_close(srv);
    ph_zap_stop(zap);
    assert_int_equal(zmq_ctx_term(cctx), 0);
    assert_int_equal(zmq_ctx_term(sctx), 0);
}

/* ipc:// endpoints: directory and name; shared or permission-less forms
 * refused (ph_local.h). */
static void test_local_split(void **state)
{
    (void)state;
    char dir[128], name[128];
    ph_err err = {0};
    assert_int_equal(ph_local_ipc_split("ipc:///run/phcluster/coord", dir, sizeof dir, name,
                                        sizeof name, &err), 0);
    assert_string_equal(dir, "/run/phcluster");
    assert_string_equal(name, "coord");
    assert_int_equal(ph_local_ipc_split("ipc:///coord", dir, sizeof dir, name, sizeof name,
                                        &err), 0);
    assert_string_equal(dir, "/");
    assert_int_equal(ph_local_ipc_split("ipc://coord", dir, sizeof dir, name, sizeof name,
                                        &err), 0);
    assert_string_equal(dir, ".");
    const char *bad[] = {"ipc://*", "ipc://@phcluster", "ipc://", "ipc:///run/", "ipc:///run/..",
                         "tcp://127.0.0.1:1", NULL};
    for (int i = 0; bad[i]; i++)
        assert_true(ph_local_ipc_split(bad[i], dir, sizeof dir, name, sizeof name, &err) < 0);
    char longp[200] = "ipc:///";
    memset(longp + 7, 'a', 150);
    longp[157] = '\0';
    assert_true(ph_local_ipc_split(longp, dir, sizeof dir, name, sizeof name, &err) < 0);
    /* The default endpoint follows XDG_RUNTIME_DIR, else TMPDIR. */
    char ep[PH_LOCAL_ENDPOINT_MAX];
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    assert_int_equal(ph_local_default_endpoint(ep, sizeof ep, &err), 0);
    assert_string_equal(ep, "ipc:///run/user/1000/phcluster/coord");
    setenv("XDG_RUNTIME_DIR", "relative", 1);
    setenv("TMPDIR", "/var/tmp", 1);
    assert_int_equal(ph_local_default_endpoint(ep, sizeof ep, &err), 0);
    char want[96];
    snprintf(want, sizeof want, "ipc:///var/tmp/phcluster-%lu/coord", (unsigned long)geteuid());
    assert_string_equal(ep, want);
    unsetenv("XDG_RUNTIME_DIR");
    unsetenv("TMPDIR");
    assert_int_equal(ph_local_default_endpoint(ep, sizeof ep, &err), 0);
    snprintf(want, sizeof want, "ipc:///tmp/phcluster-%lu/coord", (unsigned long)geteuid());
    assert_string_equal(ep, want);
    /* Connecting: a world-writable directory (such as /tmp) is refused,
     * a missing one is fine, other transports are not checked. */
    assert_true(ph_local_connect_check("ipc:///tmp/coord", false, &err) < 0);
    assert_int_equal(ph_local_connect_check("ipc:///nonexistent-ph/coord", true, &err), 0);
    assert_int_equal(ph_local_connect_check("tcp://127.0.0.1:1", true, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keygen_modes, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_keygen_no_overwrite, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_load_refuses_open_secret, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_load_bad_files, tu_setup, tu_teardown),
        cmocka_unit_test(test_loopback_table),
        cmocka_unit_test(test_local_split),
        cmocka_unit_test_setup_teardown(test_allow_list_load, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_zap_frames, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_curve_handshake, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
