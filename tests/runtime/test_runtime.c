/* test_runtime.c - the NUMA runtime on fake (synthetic/XML) topologies and
 * on this machine: nodes, threads, placement, round-robin, shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <hwloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ph_log.h"
#include "ph_runtime.h"
#include "ph_topology.h"
#include "test_util.h"

#define TOPO2 "pack:2 numa:1 core:2 pu:1"  /* 2 nodes x 2 PUs */
#define TOPO4 "pack:4 numa:1 core:3 pu:1"  /* 4 nodes x 3 PUs */

static ph_runtime *make_rt(const char *topo, unsigned tpn, unsigned maxc, size_t cap)
{
    ph_runtime_opts o;
    ph_runtime_opts_init(&o);
    o.topology = topo;
    o.threads_per_node = tpn;
    o.max_concurrency = maxc;
    o.queue_capacity = cap;
    ph_runtime *rt = NULL;
    ph_err err = {0};
    int rc = ph_runtime_create(&o, &rt, &err);
    if (rc)
        fprintf(stderr, "create: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_non_null(rt);
    return rt;
}

/* ---- placement: which thread ran which item --------------------------- */

#define MAXN 4
#define MAXT 8

typedef struct place_rec {
    pthread_mutex_t mu;
    pthread_t seen[MAXN][MAXT]; /* distinct threads per node */
    unsigned nseen[MAXN];
    atomic_uint ran[MAXN];
    atomic_int bad;             /* node or thread index out of place */
} place_rec;

typedef struct place_item {
    place_rec *rec;
    unsigned want_node;         /* node it was submitted to, or ~0u */
    unsigned nodes;
    unsigned threads;
} place_item;

static void place_fn(void *arg, unsigned node, unsigned thread)
{
    place_item *it = arg;
    place_rec *r = it->rec;
    if (node >= it->nodes || thread >= it->threads ||
        (it->want_node != ~0u && node != it->want_node)) {
        atomic_fetch_add(&r->bad, 1);
        return;
    }
    atomic_fetch_add(&r->ran[node], 1);
    pthread_mutex_lock(&r->mu);
    pthread_t self = pthread_self();
    bool known = false;
    for (unsigned i = 0; i < r->nseen[node]; i++)
        known |= pthread_equal(r->seen[node][i], self) != 0;
    if (!known && r->nseen[node] < MAXT)
        r->seen[node][r->nseen[node]++] = self;
    pthread_mutex_unlock(&r->mu);
    usleep(100); /* let several threads take part */
}

static void check_topology(const char *topo, unsigned nodes, unsigned pus)
{
    ph_runtime *rt = make_rt(topo, 0, 0, 0);
    assert_int_equal(ph_runtime_node_count(rt), nodes);
    for (unsigned i = 0; i < nodes; i++) {
        ph_node_info info;
        assert_int_equal(ph_runtime_node_info(rt, i, &info), 0);
        assert_int_equal(info.os_index, i);
        assert_int_equal(info.threads, pus);
        assert_int_equal(ph_runtime_node_threads(rt, i), pus);
        assert_false(info.bound);
        assert_true(strlen(info.cpuset) > 0);
    }
    ph_node_info info;
    assert_int_equal(ph_runtime_node_info(rt, nodes, &info), PH_EINVAL);
    assert_int_equal(ph_runtime_node_threads(rt, nodes), 0);

    place_rec *r = calloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    enum { PER_NODE = 40 };
    place_item items[MAXN * PER_NODE];
    for (unsigned n = 0; n < nodes; n++)
        for (unsigned k = 0; k < PER_NODE; k++) {
            place_item *it = &items[n * PER_NODE + k];
            *it = (place_item){.rec = r, .want_node = n, .nodes = nodes, .threads = pus};
            assert_int_equal(ph_runtime_submit(rt, n, place_fn, it, -1), 0);
        }
    assert_int_equal(ph_runtime_submit(rt, nodes, place_fn, items, 0), PH_EINVAL);
    ph_runtime_destroy(rt, true, NULL);

    assert_int_equal(atomic_load(&r->bad), 0);
    for (unsigned n = 0; n < nodes; n++) {
        assert_int_equal(atomic_load(&r->ran[n]), PER_NODE);
        assert_true(r->nseen[n] >= 1 && r->nseen[n] <= pus);
        /* No thread serves two nodes. */
        for (unsigned m = 0; m < n; m++)
            for (unsigned i = 0; i < r->nseen[n]; i++)
                for (unsigned j = 0; j < r->nseen[m]; j++)
                    assert_false(pthread_equal(r->seen[n][i], r->seen[m][j]));
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* Binding on a fake topology is off, and that is logged exactly once per
 * process however many fake runtimes are made.  Must run first. */
static void test_fake_logged_once(void **state)
{
    (void)state;
    const char *path = tu_at("stderr.log");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    ph_log_set_level(PH_LOG_WARN); /* whatever PH_LOG_LEVEL says */
    for (int i = 0; i < 3; i++)
        ph_runtime_destroy(make_rt(i == 1 ? TOPO4 : TOPO2, 1, 0, 0), true, NULL);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024];
    int hits = 0;
    while (fgets(line, sizeof line, f))
        hits += strstr(line, "topology=fake") != NULL;
    fclose(f);
    assert_int_equal(hits, 1);
}

static void test_synthetic_2_nodes(void **state)
{
    (void)state;
    check_topology(TOPO2, 2, 2);
}

static void test_synthetic_4_nodes(void **state)
{
    (void)state;
    check_topology(TOPO4, 4, 3);
}

static void test_threads_per_node_and_cap(void **state)
{
    (void)state;
    ph_runtime *rt = make_rt(TOPO4, 5, 0, 0);
    assert_int_equal(ph_runtime_node_threads(rt, 3), 5);
    ph_runtime_destroy(rt, true, NULL);
    rt = make_rt(TOPO4, 0, 2, 0);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(ph_runtime_node_threads(rt, i), 2);
    ph_runtime_destroy(rt, true, NULL);
    rt = make_rt(TOPO2, 6, 4, 0);
    assert_int_equal(ph_runtime_node_threads(rt, 0), 4);
    ph_runtime_destroy(rt, true, NULL);
}

static void test_node_selection(void **state)
{
    (void)state;
    ph_runtime_opts o;
    ph_runtime_opts_init(&o);
    assert_int_equal(o.numa_node, -1);
    o.topology = TOPO4;
    o.numa_node = 2;
    ph_runtime *rt = NULL;
    ph_err err = {0};
    assert_int_equal(ph_runtime_create(&o, &rt, &err), 0);
    assert_int_equal(ph_runtime_node_count(rt), 1);
    ph_node_info info;
    assert_int_equal(ph_runtime_node_info(rt, 0, &info), 0);
    assert_int_equal(info.os_index, 2);
    ph_runtime_destroy(rt, true, NULL);

    o.numa_node = -1;
    o.node_mask = 0xA; /* nodes 1 and 3 */
    assert_int_equal(ph_runtime_create(&o, &rt, &err), 0);
    assert_int_equal(ph_runtime_node_count(rt), 2);
    assert_int_equal(ph_runtime_node_info(rt, 0, &info), 0);
    assert_int_equal(info.os_index, 1);
    assert_int_equal(ph_runtime_node_info(rt, 1, &info), 0);
    assert_int_equal(info.os_index, 3);
    ph_runtime_destroy(rt, true, NULL);

    o.node_mask = 0;
    o.numa_node = 7;
    rt = NULL;
    assert_int_equal(ph_runtime_create(&o, &rt, &err), PH_EINVAL);
    assert_null(rt);
    assert_non_null(strstr(err.msg, "numa_node=7"));
}

static void test_bad_topology(void **state)
{
    (void)state;
    ph_runtime_opts o;
    ph_runtime_opts_init(&o);
    o.topology = "frobnicate:2 nonsense";
    ph_runtime *rt = NULL;
    ph_err err = {0};
    assert_int_equal(ph_runtime_create(&o, &rt, &err), PH_EINVAL);
    assert_null(rt);
    assert_non_null(strstr(err.msg, "frobnicate"));
}

static void test_xml_topology(void **state)
{
    (void)state;
    hwloc_topology_t t;
    assert_int_equal(hwloc_topology_init(&t), 0);
    assert_int_equal(hwloc_topology_set_synthetic(t, TOPO2), 0);
    assert_int_equal(hwloc_topology_load(t), 0);
    const char *path = tu_at("topo2.xml");
    assert_int_equal(hwloc_topology_export_xml(t, path, 0), 0);
    hwloc_topology_destroy(t);
    ph_runtime *rt = make_rt(path, 0, 0, 0);
    assert_int_equal(ph_runtime_node_count(rt), 2);
    ph_node_info info;
    assert_int_equal(ph_runtime_node_info(rt, 1, &info), 0);
    assert_false(info.bound);
    assert_int_equal(info.threads, 2);
    ph_runtime_destroy(rt, true, NULL);
}

/* ---- the one topology loader (runtime, phworker, phclient --local) ----- */

static void test_topology_nodes(void **state)
{
    (void)state;
    unsigned idx[8], n = 99;
    ph_err err = {0};
    assert_int_equal(ph_topology_nodes(TOPO4, idx, 8, &n, &err), 0);
    assert_int_equal(n, 4);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(idx[i], i);
    /* A short array gets the first nodes only, and says so by the count. */
    assert_int_equal(ph_topology_nodes(TOPO4, idx, 2, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(idx[1], 1);
    /* This machine has at least one node. */
    assert_int_equal(ph_topology_nodes(NULL, idx, 8, &n, &err), 0);
    assert_true(n >= 1);
    n = 99;
    assert_int_equal(ph_topology_nodes("frobnicate:2 nonsense", idx, 8, &n, &err), PH_EINVAL);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err.msg, "--topology \"frobnicate:2 nonsense\""));
    assert_non_null(strstr(err.msg, "synthetic"));
}

/* ---- round robin -------------------------------------------------------- */

static void test_submit_any_round_robin(void **state)
{
    (void)state;
    ph_runtime *rt = make_rt(TOPO4, 1, 0, 0);
    place_rec *r = calloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    enum { N = 100 };
    place_item items[N];
    for (unsigned k = 0; k < N; k++) {
        items[k] = (place_item){.rec = r, .want_node = k % 4, .nodes = 4, .threads = 1};
        assert_int_equal(ph_runtime_submit_any(rt, place_fn, &items[k], -1), 0);
    }
    ph_runtime_destroy(rt, true, NULL);
    assert_int_equal(atomic_load(&r->bad), 0);
    for (unsigned n = 0; n < 4; n++)
        assert_int_equal(atomic_load(&r->ran[n]), N / 4);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* ---- order and counts under many producers ------------------------------ */

typedef struct seq_ctx {
    unsigned order[2000];
    atomic_uint next;
    atomic_int bad;
} seq_ctx;

typedef struct seq_item {
    seq_ctx *c;
    unsigned id;
} seq_item;

static void seq_fn(void *arg, unsigned node, unsigned thread)
{
    seq_item *it = arg;
    if (node != 0 || thread != 0)
        atomic_fetch_add(&it->c->bad, 1);
    unsigned slot = atomic_fetch_add(&it->c->next, 1u);
    if (slot < 2000)
        it->c->order[slot] = it->id;
}

/* One thread per node and one producer: work runs in submission order,
 * including across blocking submits on a tiny queue. */
static void test_fifo_one_thread(void **state)
{
    (void)state;
    seq_ctx *c = calloc(1, sizeof *c);
    seq_item *items = calloc(2000, sizeof *items);
    ph_runtime *rt = make_rt(TOPO2, 1, 0, 3);
    for (unsigned i = 0; i < 2000; i++) {
        items[i] = (seq_item){.c = c, .id = i};
        assert_int_equal(ph_runtime_submit(rt, 0, seq_fn, &items[i], -1), 0);
    }
    ph_runtime_destroy(rt, true, NULL);
    assert_int_equal(atomic_load(&c->bad), 0);
    assert_int_equal(atomic_load(&c->next), 2000);
    for (unsigned i = 0; i < 2000; i++)
        assert_int_equal(c->order[i], i);
    free(items);
    free(c);
}

#define MP_PRODUCERS 4
#define MP_EACH 2500

typedef struct mp_ctx {
    ph_runtime *rt;
    atomic_int seen[MP_PRODUCERS * MP_EACH];
    atomic_uint per_node[4];
    atomic_int bad;
    atomic_uint next_id;
} mp_ctx;

typedef struct mp_item {
    mp_ctx *c;
    unsigned id;
} mp_item;

static mp_item g_mp_items[MP_PRODUCERS * MP_EACH];

static void mp_fn(void *arg, unsigned node, unsigned thread)
{
    mp_item *it = arg;
    if (node >= 4 || thread >= 2)
        atomic_fetch_add(&it->c->bad, 1);
    else
        atomic_fetch_add(&it->c->per_node[node], 1u);
    atomic_fetch_add(&it->c->seen[it->id], 1);
}

static void *mp_producer(void *arg)
{
    mp_ctx *c = arg;
    for (unsigned k = 0; k < MP_EACH; k++) {
        unsigned id = atomic_fetch_add(&c->next_id, 1u);
        g_mp_items[id] = (mp_item){.c = c, .id = id};
        /* Alternate blocking submits and retry-on-busy ones. */
        int rc;
        while ((rc = ph_runtime_submit_any(c->rt, mp_fn, &g_mp_items[id], k % 2 ? 0 : -1)) ==
               PH_EBUSY)
            sched_yield();
        if (rc)
            return (void *)1;
    }
    return NULL;
}

/* Four producers, four nodes of two threads, queues of 8: every item runs
 * exactly once, on a valid node and thread. */
static void test_many_producers(void **state)
{
    (void)state;
    mp_ctx *c = calloc(1, sizeof *c);
    c->rt = make_rt(TOPO4, 2, 0, 8);
    pthread_t t[MP_PRODUCERS];
    for (int i = 0; i < MP_PRODUCERS; i++)
        pthread_create(&t[i], NULL, mp_producer, c);
    for (int i = 0; i < MP_PRODUCERS; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    ph_runtime_destroy(c->rt, true, NULL);
    assert_int_equal(atomic_load(&c->bad), 0);
    for (int i = 0; i < MP_PRODUCERS * MP_EACH; i++)
        assert_int_equal(atomic_load(&c->seen[i]), 1);
    /* A submit_any answered PH_EBUSY still used its round-robin turn, so
     * only the total is exact here (evenness: test_submit_any_round_robin). */
    unsigned total = 0;
    for (int n = 0; n < 4; n++)
        total += atomic_load(&c->per_node[n]);
    assert_int_equal(total, MP_PRODUCERS * MP_EACH);
    free(c);
}

/* ---- node lists ----------------------------------------------------------- */

static void test_parse_nodes(void **state)
{
    (void)state;
    uint64_t m = 0;
    ph_err err = {0};
    assert_int_equal(ph_runtime_parse_nodes("0", &m, &err), 0);
    assert_int_equal(m, 0x1);
    assert_int_equal(ph_runtime_parse_nodes("1,3", &m, &err), 0);
    assert_int_equal(m, 0xA);
    assert_int_equal(ph_runtime_parse_nodes("0-2,5,63", &m, &err), 0);
    assert_int_equal(m, 0x27 | (1ull << 63));
    const char *bad[] = {"", ",", "1,", "a", "3-1", "64", "1-", "-1", "1;2", "0-64", NULL};
    for (int i = 0; bad[i]; i++) {
        m = 77;
        assert_int_equal(ph_runtime_parse_nodes(bad[i], &m, &err), PH_EINVAL);
        assert_int_equal(m, 77);
        assert_non_null(strstr(err.msg, "nodes="));
    }
    assert_int_equal(ph_runtime_parse_nodes(NULL, &m, &err), PH_EINVAL);
    /* The mask selects exactly those nodes of a 4-node topology. */
    assert_int_equal(ph_runtime_parse_nodes("0,2-3", &m, &err), 0);
    ph_runtime_opts o;
    ph_runtime_opts_init(&o);
    o.topology = TOPO4;
    o.node_mask = m;
    ph_runtime *rt = NULL;
    assert_int_equal(ph_runtime_create(&o, &rt, &err), 0);
    assert_int_equal(ph_runtime_node_count(rt), 3);
    unsigned want[] = {0, 2, 3};
    for (unsigned i = 0; i < 3; i++) {
        ph_node_info info;
        assert_int_equal(ph_runtime_node_info(rt, i, &info), 0);
        assert_int_equal(info.os_index, want[i]);
    }
    ph_runtime_destroy(rt, true, NULL);
}

/* ---- shutdown with work queued ------------------------------------------ */

typedef struct shut_ctx {
    ph_runtime *rt;
    atomic_int release;
    atomic_int gates_in;
    atomic_int ran;
    atomic_int cancelled;
} shut_ctx;

/* One per queued item, so "once per item" is checked, not just a total. */
typedef struct shut_item {
    shut_ctx *c;
    atomic_int runs;
    atomic_int cancels;
} shut_item;

static void gate_fn(void *arg, unsigned node, unsigned thread)
{
    (void)node;
    (void)thread;
    shut_ctx *c = arg;
    atomic_fetch_add(&c->gates_in, 1);
    while (!atomic_load(&c->release))
        sched_yield();
}

static void count_fn(void *arg, unsigned node, unsigned thread)
{
    (void)node;
    (void)thread;
    shut_item *it = arg;
    atomic_fetch_add(&it->runs, 1);
    atomic_fetch_add(&it->c->ran, 1);
}

static void count_cancel(void *arg)
{
    shut_item *it = arg;
    atomic_fetch_add(&it->cancels, 1);
    atomic_fetch_add(&it->c->cancelled, 1);
}

static void noop_fn(void *arg, unsigned node, unsigned thread)
{
    (void)arg;
    (void)node;
    (void)thread;
}

/* Releases the gates once destroy has closed the ports: the full queue
 * answers EBUSY until then and ECLOSED after, so no timing is involved. */
static void *releaser(void *arg)
{
    shut_ctx *c = arg;
    while (ph_runtime_submit(c->rt, 0, noop_fn, NULL, 0) != PH_ECLOSED)
        sched_yield();
    atomic_store(&c->release, 1);
    return NULL;
}

static void shutdown_case(bool drain)
{
    enum { QUEUED = 64 };
    shut_ctx *c = calloc(1, sizeof *c);
    shut_item *items = calloc(2 * QUEUED, sizeof *items);
    c->rt = make_rt(TOPO2, 2, 0, QUEUED);
    /* Occupy all 4 threads, then fill both queues to the brim. */
    for (unsigned n = 0; n < 2; n++)
        for (unsigned t = 0; t < 2; t++)
            assert_int_equal(ph_runtime_submit(c->rt, n, gate_fn, c, -1), 0);
    while (atomic_load(&c->gates_in) < 4)
        sched_yield();
    int submitted = 0;
    for (unsigned n = 0; n < 2; n++)
        for (int k = 0; k < QUEUED; k++) {
            shut_item *it = &items[submitted];
            it->c = c;
            assert_int_equal(ph_runtime_submit(c->rt, n, count_fn, it, 0), 0);
            submitted++;
        }
    assert_int_equal(ph_runtime_submit(c->rt, 0, count_fn, &items[0], 0), PH_EBUSY);
    pthread_t t;
    pthread_create(&t, NULL, releaser, c);
    ph_runtime_destroy(c->rt, drain, count_cancel);
    pthread_join(t, NULL);
    assert_int_equal(atomic_load(&c->gates_in), 4);
    for (int i = 0; i < submitted; i++) {
        assert_int_equal(atomic_load(&items[i].runs), drain ? 1 : 0);
        assert_int_equal(atomic_load(&items[i].cancels), drain ? 0 : 1);
    }
    assert_int_equal(atomic_load(drain ? &c->ran : &c->cancelled), submitted);
    free(items);
    free(c);
}

static void test_shutdown_drain(void **state)
{
    (void)state;
    shutdown_case(true);
}

static void test_shutdown_cancel(void **state)
{
    (void)state;
    shutdown_case(false);
}

/* ---- executor hook for the solver --------------------------------------- */

typedef struct exec_ctx {
    ph_runtime *rt;
    atomic_int helpers_ran;
    atomic_int done;
} exec_ctx;

static void helper_fn(void *arg)
{
    exec_ctx *c = arg;
    atomic_fetch_add(&c->helpers_ran, 1);
}

static void fanout_fn(void *arg, unsigned node, unsigned thread)
{
    (void)thread;
    exec_ctx *c = arg;
    void *ctx = ph_runtime_node_exec_ctx(c->rt, node);
    for (int i = 0; i < 8; i++)
        ph_runtime_exec_post(ctx, helper_fn, c);
    /* Two threads per node: the other one runs the helpers. */
    while (atomic_load(&c->helpers_ran) < 8)
        sched_yield();
    atomic_store(&c->done, 1);
}

static void test_exec_post(void **state)
{
    (void)state;
    exec_ctx *c = calloc(1, sizeof *c);
    c->rt = make_rt(TOPO2, 2, 0, 4);
    assert_null(ph_runtime_node_exec_ctx(c->rt, 2));
    assert_non_null(ph_runtime_node_exec_ctx(c->rt, 1));
    assert_int_equal(ph_runtime_submit(c->rt, 1, fanout_fn, c, -1), 0);
    while (!atomic_load(&c->done))
        sched_yield();
    assert_int_equal(atomic_load(&c->helpers_ran), 8);
    /* NULL ctx, or a queue with no room at all: the helper runs inline. */
    ph_runtime_exec_post(NULL, helper_fn, c);
    assert_int_equal(atomic_load(&c->helpers_ran), 9);
    ph_runtime_destroy(c->rt, true, NULL);
    free(c);
}

/* ---- this machine --------------------------------------------------------- */

static void test_real_machine(void **state)
{
    (void)state;
    ph_runtime *rt = make_rt(NULL, 0, 0, 0);
    unsigned n = ph_runtime_node_count(rt);
    assert_true(n >= 1);
    ph_node_info info;
    assert_int_equal(ph_runtime_node_info(rt, 0, &info), 0);
    assert_true(info.threads >= 1);
    place_rec *r = calloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    place_item it = {.rec = r, .want_node = 0, .nodes = n, .threads = info.threads};
    assert_int_equal(ph_runtime_submit(rt, 0, place_fn, &it, -1), 0);
    uint32_t *mem = ph_runtime_node_alloc(rt, 0, 1 << 16);
    assert_non_null(mem);
    for (unsigned i = 0; i < (1u << 14); i++)
        mem[i] = i;
    assert_int_equal(mem[12345], 12345);
    ph_runtime_node_free(rt, 0, mem, 1 << 16);
    assert_null(ph_runtime_node_alloc(rt, n, 64));
    ph_runtime_destroy(rt, true, NULL);
    assert_int_equal(atomic_load(&r->ran[0]), 1);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void test_fake_alloc(void **state)
{
    (void)state;
    ph_runtime *rt = make_rt(TOPO2, 1, 0, 0);
    char *p = ph_runtime_node_alloc(rt, 1, 1000);
    assert_non_null(p);
    memset(p, 7, 1000);
    assert_int_equal(p[999], 7);
    ph_runtime_node_free(rt, 1, p, 1000);
    ph_runtime_destroy(rt, false, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fake_logged_once, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_synthetic_2_nodes, tu_setup, tu_teardown),
        cmocka_unit_test(test_synthetic_4_nodes),
        cmocka_unit_test(test_threads_per_node_and_cap),
        cmocka_unit_test(test_node_selection),
        cmocka_unit_test(test_bad_topology),
        cmocka_unit_test(test_xml_topology),
        cmocka_unit_test(test_topology_nodes),
        cmocka_unit_test(test_submit_any_round_robin),
        cmocka_unit_test(test_fifo_one_thread),
        cmocka_unit_test(test_many_producers),
        cmocka_unit_test(test_parse_nodes),
        cmocka_unit_test(test_shutdown_drain),
        cmocka_unit_test(test_shutdown_cancel),
        cmocka_unit_test(test_exec_post),
        cmocka_unit_test(test_real_machine),
        cmocka_unit_test(test_fake_alloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
