/* test_port.c - the completion port: order, counts, high-water mark,
 * timeouts, close, the readiness fd and whole-file reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ph_port.h"
#include "test_util.h"

static ph_port *make_port(size_t cap)
{
    ph_port *p = NULL;
    ph_err err = {0};
    assert_int_equal(ph_port_create(cap, &p, &err), 0);
    return p;
}

static ph_packet pk(uint64_t key) { return (ph_packet){.key = key, .value = key * 3}; }

static void test_fifo_single_producer(void **state)
{
    (void)state;
    ph_port *p = make_port(1000);
    for (uint64_t i = 0; i < 1000; i++)
        assert_int_equal(ph_port_post(p, &(ph_packet){.key = i, .value = i * 3}, 0), 0);
    assert_int_equal(ph_port_depth(p), 1000);
    for (uint64_t i = 0; i < 1000; i++) {
        ph_packet out;
        assert_int_equal(ph_port_get(p, &out, 0), 0);
        assert_int_equal(out.key, i);
        assert_int_equal(out.value, i * 3);
    }
    assert_int_equal(ph_port_depth(p), 0);
    ph_port_destroy(p);
}

/* ---- one producer thread, small ring: order survives wrap and blocking */

static void *produce_seq(void *arg)
{
    ph_port *p = arg;
    for (uint64_t i = 0; i < 20000; i++) {
        ph_packet x = pk(i);
        if (ph_port_post(p, &x, -1) != 0)
            return (void *)1;
    }
    return NULL;
}

static void test_fifo_threaded(void **state)
{
    (void)state;
    ph_port *p = make_port(7);
    pthread_t t;
    pthread_create(&t, NULL, produce_seq, p);
    for (uint64_t i = 0; i < 20000; i++) {
        ph_packet out;
        assert_int_equal(ph_port_get(p, &out, -1), 0);
        assert_int_equal(out.key, i);
    }
    void *ret;
    pthread_join(t, &ret);
    assert_null(ret);
    ph_port_destroy(p);
}

/* ---- many producers, many consumers: every packet exactly once ------- */

#define MP_PRODUCERS 4
#define MP_CONSUMERS 4
#define MP_EACH 5000

typedef struct mp_ctx {
    ph_port *port;
    atomic_int seen[MP_PRODUCERS * MP_EACH];
    atomic_int got;
    unsigned next_producer;
    pthread_mutex_t mu;
} mp_ctx;

static void *mp_produce(void *arg)
{
    mp_ctx *c = arg;
    pthread_mutex_lock(&c->mu);
    unsigned id = c->next_producer++;
    pthread_mutex_unlock(&c->mu);
    for (uint64_t i = 0; i < MP_EACH; i++) {
        ph_packet x = pk(id * MP_EACH + i);
        /* Mix blocking and retry-on-busy posts. */
        int rc;
        while ((rc = ph_port_post(c->port, &x, (int)(i % 3) - 1)) == PH_EBUSY)
            sched_yield();
        if (rc)
            return (void *)1;
    }
    return NULL;
}

static void *mp_consume(void *arg)
{
    mp_ctx *c = arg;
    ph_packet x;
    int rc;
    while ((rc = ph_port_get(c->port, &x, 50)) != PH_ECLOSED) {
        if (rc == PH_ETIMEOUT)
            continue;
        atomic_fetch_add(&c->seen[x.key], 1);
        atomic_fetch_add(&c->got, 1);
    }
    return NULL;
}

static void test_many_producers_consumers(void **state)
{
    (void)state;
    mp_ctx *c = calloc(1, sizeof *c);
    assert_non_null(c);
    pthread_mutex_init(&c->mu, NULL);
    c->port = make_port(16);
    pthread_t prod[MP_PRODUCERS], cons[MP_CONSUMERS];
    for (int i = 0; i < MP_CONSUMERS; i++)
        pthread_create(&cons[i], NULL, mp_consume, c);
    for (int i = 0; i < MP_PRODUCERS; i++)
        pthread_create(&prod[i], NULL, mp_produce, c);
    for (int i = 0; i < MP_PRODUCERS; i++) {
        void *ret;
        pthread_join(prod[i], &ret);
        assert_null(ret);
    }
    ph_port_close(c->port);
    for (int i = 0; i < MP_CONSUMERS; i++)
        pthread_join(cons[i], NULL);
    assert_int_equal(atomic_load(&c->got), MP_PRODUCERS * MP_EACH);
    for (int i = 0; i < MP_PRODUCERS * MP_EACH; i++)
        assert_int_equal(atomic_load(&c->seen[i]), 1);
    ph_port_destroy(c->port);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- high-water mark -------------------------------------------------- */

typedef struct post_job {
    ph_port *port;
    uint64_t key;
    int rc;
} post_job;

static void *post_blocking(void *arg)
{
    post_job *j = arg;
    ph_packet x = pk(j->key);
    j->rc = ph_port_post(j->port, &x, -1);
    return NULL;
}

static void test_high_water_mark(void **state)
{
    (void)state;
    ph_port *p = make_port(4);
    for (uint64_t i = 0; i < 4; i++)
        assert_int_equal(ph_port_post(p, &(ph_packet){.key = i}, 0), 0);
    assert_int_equal(ph_port_post(p, &(ph_packet){.key = 99}, 0), PH_EBUSY);
    assert_int_equal(ph_port_post(p, &(ph_packet){.key = 99}, 10), PH_EBUSY);
    assert_int_equal(ph_port_depth(p), 4);

    post_job j = {.port = p, .key = 4, .rc = 12345};
    pthread_t t;
    pthread_create(&t, NULL, post_blocking, &j);
    /* Drain one: the blocked post must then go through. */
    ph_packet out;
    assert_int_equal(ph_port_get(p, &out, -1), 0);
    assert_int_equal(out.key, 0);
    pthread_join(t, NULL);
    assert_int_equal(j.rc, 0);
    assert_int_equal(ph_port_depth(p), 4);
    for (uint64_t i = 1; i <= 4; i++) {
        assert_int_equal(ph_port_get(p, &out, 0), 0);
        assert_int_equal(out.key, i);
    }
    ph_port_destroy(p);
}

static void test_urgent_goes_first(void **state)
{
    (void)state;
    ph_port *p = make_port(2);
    assert_int_equal(ph_port_post(p, &(ph_packet){.key = 1}, 0), 0);
    assert_int_equal(ph_port_post(p, &(ph_packet){.key = 2}, 0), 0);
    assert_int_equal(ph_port_post(p, &(ph_packet){.key = 3}, 0), PH_EBUSY);
    /* Urgent posts use the reserve beyond the high-water mark. */
    assert_int_equal(ph_port_post_urgent(p, &(ph_packet){.key = 9}), 0);
    int extra = 0;
    while (ph_port_post_urgent(p, &(ph_packet){.key = 100}) == 0)
        extra++;
    assert_int_equal(extra, 15); /* reserve is 16 for small ports */
    ph_packet out;
    assert_int_equal(ph_port_get(p, &out, 0), 0);
    assert_int_equal(out.key, 100);
    for (int i = 1; i < 15; i++)
        assert_int_equal(ph_port_get(p, &out, 0), 0);
    assert_int_equal(ph_port_get(p, &out, 0), 0);
    assert_int_equal(out.key, 9);
    assert_int_equal(ph_port_get(p, &out, 0), 0);
    assert_int_equal(out.key, 1);
    assert_int_equal(ph_port_get(p, &out, 0), 0);
    assert_int_equal(out.key, 2);
    ph_port_close(p);
    assert_int_equal(ph_port_post_urgent(p, &(ph_packet){.key = 1}), PH_ECLOSED);
    ph_port_destroy(p);
}

static void test_get_timeout(void **state)
{
    (void)state;
    ph_port *p = make_port(4);
    ph_packet out;
    assert_int_equal(ph_port_get(p, &out, 0), PH_ETIMEOUT);
    assert_int_equal(ph_port_get(p, &out, 20), PH_ETIMEOUT);
    ph_port_destroy(p);
}

/* A bounded get/post that is satisfied before its deadline returns 0,
 * whether the other thread acts before or while we wait (usually while:
 * the post below is made on a full port).  Deadlines are far away, so no
 * timing is asserted. */
static void *post_when_waited(void *arg)
{
    ph_port *p = arg;
    ph_packet x = pk(42);
    while (ph_port_post(p, &x, 0) != 0)
        sched_yield();
    return NULL;
}

static void *get_after_full(void *arg)
{
    ph_port *p = arg;
    ph_packet x;
    while (ph_port_depth(p) < 2)
        sched_yield();
    (void)ph_port_get(p, &x, -1);
    return NULL;
}

static void test_timeouts_satisfied(void **state)
{
    (void)state;
    ph_port *p = make_port(2);
    pthread_t t;
    pthread_create(&t, NULL, post_when_waited, p);
    ph_packet out;
    assert_int_equal(ph_port_get(p, &out, 60000), 0);
    assert_int_equal(out.key, 42);
    pthread_join(t, NULL);

    assert_int_equal(ph_port_post(p, &(ph_packet){.key = 1}, 0), 0);
    pthread_create(&t, NULL, get_after_full, p);
    assert_int_equal(ph_port_post(p, &(ph_packet){.key = 2}, 0), 0);
    assert_int_equal(ph_port_post(p, &(ph_packet){.key = 3}, 60000), 0);
    pthread_join(t, NULL);
    assert_int_equal(ph_port_get(p, &out, 0), 0);
    assert_int_equal(out.key, 2);
    assert_int_equal(ph_port_get(p, &out, 0), 0);
    assert_int_equal(out.key, 3);
    ph_port_destroy(p);
}

static void test_bad_capacity(void **state)
{
    (void)state;
    ph_port *p = NULL;
    ph_err err = {0};
    assert_int_equal(ph_port_create(0, &p, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "capacity"));
    assert_null(p);
}

/* ---- close ------------------------------------------------------------- */

typedef struct get_job {
    ph_port *port;
    int rc;
} get_job;

static void *get_blocking(void *arg)
{
    get_job *j = arg;
    ph_packet x;
    j->rc = ph_port_get(j->port, &x, -1);
    return NULL;
}

static void test_close_wakes_waiters(void **state)
{
    (void)state;
    ph_port *empty = make_port(2);
    ph_port *full = make_port(1);
    assert_int_equal(ph_port_post(full, &(ph_packet){.key = 1}, 0), 0);
    get_job g[3];
    post_job pj[2];
    pthread_t tg[3], tp[2];
    for (int i = 0; i < 3; i++) {
        g[i] = (get_job){.port = empty, .rc = 1};
        pthread_create(&tg[i], NULL, get_blocking, &g[i]);
    }
    for (int i = 0; i < 2; i++) {
        pj[i] = (post_job){.port = full, .key = 2, .rc = 1};
        pthread_create(&tp[i], NULL, post_blocking, &pj[i]);
    }
    ph_port_close(empty);
    ph_port_close(full);
    for (int i = 0; i < 3; i++) {
        pthread_join(tg[i], NULL);
        assert_int_equal(g[i].rc, PH_ECLOSED);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(tp[i], NULL);
        assert_int_equal(pj[i].rc, PH_ECLOSED);
    }
    /* The packet queued before close is still delivered, then ECLOSED. */
    ph_packet out;
    assert_int_equal(ph_port_get(full, &out, -1), 0);
    assert_int_equal(out.key, 1);
    assert_int_equal(ph_port_get(full, &out, -1), PH_ECLOSED);
    ph_port_destroy(empty);
    ph_port_destroy(full);
}

static void test_close_still_drains(void **state)
{
    (void)state;
    ph_port *p = make_port(8);
    for (uint64_t i = 0; i < 3; i++)
        assert_int_equal(ph_port_post(p, &(ph_packet){.key = i}, 0), 0);
    ph_port_close(p);
    assert_int_equal(ph_port_post(p, &(ph_packet){.key = 7}, 0), PH_ECLOSED);
    assert_int_equal(ph_port_post(p, &(ph_packet){.key = 7}, -1), PH_ECLOSED);
    ph_packet out;
    for (uint64_t i = 0; i < 3; i++) {
        assert_int_equal(ph_port_get(p, &out, 0), 0);
        assert_int_equal(out.key, i);
    }
    assert_int_equal(ph_port_get(p, &out, 0), PH_ECLOSED);
    ph_port_destroy(p);
}

/* ---- readiness fd ------------------------------------------------------ */

static int readable(int fd)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int n = poll(&pf, 1, 0);
    assert_true(n >= 0);
    return n == 1 && (pf.revents & POLLIN);
}

static void test_fd_level(void **state)
{
    (void)state;
    ph_port *p = make_port(8);
    /* Packets queued before anyone asked for the fd still count. */
    assert_int_equal(ph_port_post(p, &(ph_packet){.key = 1}, 0), 0);
    int fd = ph_port_fd(p);
    assert_true(fd >= 0);
    assert_int_equal(ph_port_fd(p), fd);
    assert_true(readable(fd));
    ph_packet out;
    assert_int_equal(ph_port_get(p, &out, 0), 0);
    assert_false(readable(fd));
    assert_int_equal(ph_port_post(p, &(ph_packet){.key = 2}, 0), 0);
    assert_int_equal(ph_port_post(p, &(ph_packet){.key = 3}, 0), 0);
    assert_true(readable(fd));
    assert_int_equal(ph_port_get(p, &out, 0), 0);
    assert_true(readable(fd)); /* level: still one queued */
    assert_true(readable(fd)); /* polling does not consume it */
    assert_int_equal(ph_port_get(p, &out, 0), 0);
    assert_false(readable(fd));
    assert_int_equal(ph_port_post_urgent(p, &(ph_packet){.key = 4}), 0);
    assert_true(readable(fd));
    ph_port_close(p);
    assert_true(readable(fd)); /* closed but not drained */
    assert_int_equal(ph_port_get(p, &out, 0), 0);
    assert_false(readable(fd));
    ph_port_destroy(p);
}

/* ---- whole-file reads -------------------------------------------------- */

/* A new file of len bytes in the test's scratch directory; its path
 * (caller frees). */
static char *write_temp(const void *data, size_t len)
{
    static unsigned count;
    char *path = strdup(tu_atf("file%u", count++));
    assert_non_null(path);
    tu_write(path, data, len, 0644);
    return path;
}

static void read_files(bool force_plain)
{
    if (force_plain)
        setenv("PH_PORT_URING", "0", 1);
    else
        unsetenv("PH_PORT_URING");
    enum { NFILES = 100 };
    ph_port *p = make_port(256);
    char *paths[NFILES];
    for (int i = 0; i < NFILES; i++) {
        uint32_t buf[64];
        size_t n = (size_t)(i % 64); /* includes an empty file */
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint32_t)(i * 1000 + (int)k);
        paths[i] = write_temp(buf, n * 4);
        ph_err err = {0};
        assert_int_equal(ph_port_read_file(p, paths[i], (uint64_t)i, 0, &err), 0);
    }
    bool want_uring = !force_plain && ph_port_uring_usable();
    int seen[NFILES] = {0};
    int via_uring = 0;
    for (int got = 0; got < NFILES; got++) {
        ph_packet out;
        assert_int_equal(ph_port_get(p, &out, 10000), 0);
        ph_port_file *f = out.data;
        assert_non_null(f);
        assert_int_equal(f->status, 0);
        int i = (int)out.key;
        assert_true(i >= 0 && i < NFILES);
        assert_int_equal(f->key, out.key);
        seen[i]++;
        size_t n = (size_t)(i % 64);
        assert_int_equal(f->len, n * 4);
        assert_int_equal(out.value, n * 4);
        assert_string_equal(f->path, paths[i]);
        for (size_t k = 0; k < n; k++) {
            uint32_t v;
            memcpy(&v, f->bytes + 4 * k, 4);
            assert_int_equal(v, (uint32_t)(i * 1000 + (int)k));
        }
        if (n == 0)
            assert_false(f->via_uring);
        via_uring += f->via_uring;
        ph_port_file_free(f);
    }
    /* With io_uring the first reads go through it (later ones may be read
     * plainly when 64 are in flight); without it, none. */
    if (want_uring)
        assert_true(via_uring >= 1);
    else
        assert_int_equal(via_uring, 0);
    for (int i = 0; i < NFILES; i++) {
        assert_int_equal(seen[i], 1);
        free(paths[i]);
    }
    ph_port_destroy(p);
    unsetenv("PH_PORT_URING");
}

static void test_read_file_default(void **state)
{
    (void)state;
    read_files(false);
}

static void test_read_file_plain(void **state)
{
    (void)state;
    read_files(true);
}

static void test_read_file_errors(void **state)
{
    (void)state;
    ph_port *p = make_port(4);
    ph_err err = {0};
    assert_int_equal(ph_port_read_file(p, "/nonexistent/x.keys", 1, 0, &err), PH_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.keys"));
    assert_int_equal(ph_port_read_file(p, "/tmp", 1, 0, &err), PH_EIO);
    assert_non_null(strstr(err.msg, "not a regular file"));
    char *path = write_temp("12345678", 8);
    assert_int_equal(ph_port_read_file(p, path, 1, 4, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(ph_port_depth(p), 0);
    free(path);
    ph_port_destroy(p);
}

/* Completions that arrive after close are freed by the port, not leaked
 * (ASan's leak check is the real assertion here). */
static void test_read_file_close_in_flight(void **state)
{
    (void)state;
    ph_port *p = make_port(1);
    char *path = write_temp("abcdefgh", 8);
    ph_err err = {0};
    assert_int_equal(ph_port_read_file(p, path, 1, 0, &err), 0);
    ph_packet out;
    if (!ph_port_uring_usable()) {
        /* Plain reads post synchronously: take it so a second fits. */
        assert_int_equal(ph_port_get(p, &out, 0), 0);
        ph_port_file_free(out.data);
    }
    assert_int_equal(ph_port_read_file(p, path, 2, 0, &err), 0);
    ph_port_close(p);
    int delivered = 0;
    while (ph_port_get(p, &out, -1) == 0) {
        ph_port_file_free(out.data);
        delivered++;
    }
    assert_true(delivered <= 2);
    ph_port_destroy(p);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_single_producer),
        cmocka_unit_test(test_fifo_threaded),
        cmocka_unit_test(test_many_producers_consumers),
        cmocka_unit_test(test_high_water_mark),
        cmocka_unit_test(test_urgent_goes_first),
        cmocka_unit_test(test_get_timeout),
        cmocka_unit_test(test_timeouts_satisfied),
        cmocka_unit_test(test_bad_capacity),
        cmocka_unit_test(test_close_wakes_waiters),
        cmocka_unit_test(test_close_still_drains),
        cmocka_unit_test(test_fd_level),
        cmocka_unit_test_setup_teardown(test_read_file_default, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_read_file_plain, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_read_file_errors, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_read_file_close_in_flight, tu_setup, tu_teardown),
    };
    printf("# port backend: %s, io_uring usable: %d\n", ph_port_backend_name(),
           (int)ph_port_uring_usable());
    return cmocka_run_group_tests(tests, NULL, NULL);
}
