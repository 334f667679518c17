/* test_dispatch.c - the coordinator's dispatch policy without processes.
 *
 * A coord is set up as coord_run would (an inproc ROUTER, no writer pool,
 * no journal); workers are DEALER sockets in this process that send a real
 * READY, which the test hands to coord_on_ready as the loop would.  TASKs
 * the policy sends are then read off each DEALER and counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "coord_int.h"
#include "ph_fs.h"
#include "ph_wire.h"
#include "test_util.h"

#define EP "inproc://coord-dispatch-test"
#define MAXW 4

typedef struct fixture {
    void *ctx;
    coord_opts opts;
    coord c;
    void *dealer[MAXW];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->ctx = zmq_ctx_new();
    assert_non_null(f->ctx);
    coord_opts_init(&f->opts);
    f->c.opts = &f->opts;
    f->c.max_tries = COORD_DEFAULT_MAX_TRIES;
    ph_wire_opts wo;
    ph_wire_opts_init(&wo);
    ph_err err = {0};
    assert_int_equal(ph_wire_socket(f->ctx, ZMQ_ROUTER, &wo, &f->c.sock, &err), 0);
    assert_int_equal(zmq_bind(f->c.sock, EP), 0);
    assert_int_equal(tu_setup(state), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < MAXW; i++)
        if (f->dealer[i])
            zmq_close(f->dealer[i]);
    for (size_t i = 0; i < f->c.nworkers; i++)
        free(f->c.workers[i]);
    free(f->c.workers);
    free(f->c.waiters);
    coord_jobs_free(&f->c.jobs);
    zmq_close(f->c.sock);
    zmq_ctx_term(f->ctx);
    assert_int_equal(tu_teardown(state), 0);
    free(f);
    return 0;
}

/* Worker i connects as "w<i>" and registers with READY. */
static coord_worker *add_worker(fixture *f, int i, const char *host, uint32_t threads,
                                uint32_t credits)
{
    char id[16];
    snprintf(id, sizeof id, "w%d", i);
    ph_wire_opts wo;
    ph_wire_opts_init(&wo);
    wo.routing_id = id;
    ph_err err = {0};
    assert_int_equal(ph_wire_socket(f->ctx, ZMQ_DEALER, &wo, &f->dealer[i], &err), 0);
    assert_int_equal(zmq_connect(f->dealer[i], EP), 0);
    ph_msg m = {.type = PH_MSG_READY};
    m.u.ready.host = ph_bytes_str(host);
    m.u.ready.pid = 100 + (uint32_t)i;
    m.u.ready.threads = threads;
    m.u.ready.credits = credits;
    assert_int_equal(ph_wire_send_wait(f->dealer[i], &m, 5000, &err), 0);
    /* What the loop's recv_one does with it. */
    zmq_msg_t idf, body;
    zmq_msg_init(&idf);
    zmq_msg_init(&body);
    assert_true(zmq_msg_recv(&idf, f->c.sock, 0) > 0);
    assert_true(zmq_msg_recv(&body, f->c.sock, 0) > 0);
    ph_msg got;
    assert_int_equal(ph_msg_decode(zmq_msg_data(&body), zmq_msg_size(&body), &got, &err), 0);
    assert_int_equal(got.type, PH_MSG_READY);
    coord_on_ready(&f->c, zmq_msg_data(&idf), zmq_msg_size(&idf), &got.u.ready);
    ph_msg_free(&got);
    zmq_msg_close(&body);
    zmq_msg_close(&idf);
    coord_worker *w = coord_worker_find(&f->c, id, strlen(id), NULL);
    assert_non_null(w);
    return w;
}

/* A bulk job over n generated keys files in its own input directory. */
static coord_job *add_job(fixture *f, const char *name, unsigned n)
{
    char dir[PATH_MAX + 64], out[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s", tu_atf("%s-in", name));
    snprintf(out, sizeof out, "%s", tu_atf("%s-out", name));
    ph_err err = {0};
    assert_int_equal(ph_fs_mkdirs(dir, &err), 0);
    for (unsigned i = 0; i < n; i++) {
        uint32_t keys[4] = {i, i + 1000, i + 2000, i + 3000};
        const char *path = tu_atf("%s-in/%s%04u.keys", name, name, i);
        assert_int_equal(ph_fs_write_atomic(path, keys, sizeof keys, 0, &err), 0);
    }
    ph_opts o = {0};
    coord_job *j = NULL;
    assert_int_equal(coord_job_bulk(dir, out, &o, &j, &err), 0);
    assert_int_equal(coord_jobs_add(&f->c.jobs, j, &err), 0);
    assert_int_equal(j->total, n);
    return j;
}

/* TASKs waiting at worker i: count them, and record (job, task) pairs. */
static unsigned drain(fixture *f, int i, uint64_t *jobs, uint64_t *tasks, unsigned max)
{
    unsigned n = 0;
    for (;;) {
        zmq_msg_t body;
        zmq_msg_init(&body);
        if (zmq_msg_recv(&body, f->dealer[i], ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&body);
            return n;
        }
        ph_msg m;
        ph_err err = {0};
        assert_int_equal(ph_msg_decode(zmq_msg_data(&body), zmq_msg_size(&body), &m, &err), 0);
        if (m.type == PH_MSG_TASK) {
            if (n < max) {
                if (jobs)
                    jobs[n] = m.u.task.job_id;
                if (tasks)
                    tasks[n] = m.u.task.task_id;
            }
            n++;
        }
        ph_msg_free(&m);
        zmq_msg_close(&body);
    }
}

/* Node counts of j's JOB message for node. */
static ph_node_count node_counts(const coord_job *j, const char *node)
{
    ph_msg_job m;
    assert_int_equal(coord_job_msg(j, &m), 0);
    ph_node_count r = {0};
    for (uint32_t k = 0; k < m.nnodes; k++)
        if (ph_bytes_eq(m.nodes[k].node, node))
            r = m.nodes[k];
    free(m.nodes);
    return r;
}

/* A worker of unknown pace gets one task per thread, no prefetch; once
 * its pace is known it gets up to its credits. */
static void test_credits_and_prefetch(void **state)
{
    fixture *f = *state;
    coord_worker *w = add_worker(f, 0, "a", 2, 6);
    coord_job *j = add_job(f, "k", 20);
    coord_dispatch(&f->c);
    assert_int_equal(drain(f, 0, NULL, NULL, 0), 2);
    assert_int_equal(w->inflight, 2);
    assert_int_equal(j->inflight, 2);
    /* A fast worker (1 ms a task): --prefetch-ms 10 lets it hold more, up
     * to its credits and no further. */
    w->interval_us = 1000;
    coord_dispatch(&f->c);
    assert_int_equal(drain(f, 0, NULL, NULL, 0), 4);
    assert_int_equal(w->inflight, 6);
    coord_dispatch(&f->c);
    assert_int_equal(drain(f, 0, NULL, NULL, 0), 0);
    /* Running = its threads, the rest is queued at the node. */
    ph_node_count nc = node_counts(j, "a/numa0");
    assert_int_equal(nc.running, 2);
    assert_int_equal(nc.queued, 4);
    /* A slow worker (1 s a task) is sent nothing beyond its threads. */
    coord_worker *s = add_worker(f, 1, "b", 1, 8);
    s->interval_us = 1000000;
    coord_dispatch(&f->c);
    assert_int_equal(drain(f, 1, NULL, NULL, 0), 1);
}

/* Workers are served round robin: four one-thread workers, four tasks. */
static void test_workers_round_robin(void **state)
{
    fixture *f = *state;
    const char *hosts[4] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        add_worker(f, i, hosts[i], 1, 1);
    coord_job *j = add_job(f, "k", 4);
    coord_dispatch(&f->c);
    for (int i = 0; i < 4; i++)
        assert_int_equal(drain(f, i, NULL, NULL, 0), 1);
    assert_false(coord_job_pending(j));
    for (int i = 0; i < 4; i++) {
        char node[32];
        snprintf(node, sizeof node, "%s/numa0", hosts[i]);
        assert_int_equal(node_counts(j, node).running, 1);
    }
}

/* A lost worker's tasks are queued again, go first to the next worker, and
 * the node counts still add up. */
static void test_requeue_on_worker_loss(void **state)
{
    fixture *f = *state;
    add_worker(f, 0, "a", 3, 3);
    coord_job *j = add_job(f, "k", 5);
    coord_dispatch(&f->c);
    uint64_t first[8];
    assert_int_equal(drain(f, 0, NULL, first, 8), 3);
    coord_worker_drop(&f->c, 0, "test: lost");
    assert_int_equal(f->c.nworkers, 0);
    assert_int_equal(j->inflight, 0);
    assert_int_equal(j->rq_len, 3);
    assert_int_equal(node_counts(j, "a/numa0").running, 0);
    add_worker(f, 1, "b", 3, 3);
    coord_dispatch(&f->c);
    uint64_t again[8];
    assert_int_equal(drain(f, 1, NULL, again, 8), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(again[i], first[i]); /* the requeued ones, in order */
    assert_int_equal(j->tasks[first[0]].tries, 1);
    assert_int_equal(node_counts(j, "b/numa0").running, 3);
}

/* A task taken back max_tries times fails instead of being sent again, and
 * a job whose every task failed completes with its results.csv. */
static void test_given_up_after_max_tries(void **state)
{
    fixture *f = *state;
    coord_job *j = add_job(f, "k", 1);
    for (unsigned t = 0; t < COORD_DEFAULT_MAX_TRIES; t++) {
        add_worker(f, 0, "a", 1, 1);
        coord_dispatch(&f->c);
        assert_int_equal(drain(f, 0, NULL, NULL, 0), 1);
        coord_worker_drop(&f->c, 0, "test: lost");
        zmq_close(f->dealer[0]);
        f->dealer[0] = NULL;
    }
    assert_int_equal(j->failed, 1);
    assert_int_equal(j->state, PH_JOB_SOME_FAILED);
    assert_non_null(strstr(j->first_error, "given up"));
    assert_int_equal(access(tu_at("k-out/results.csv"), F_OK), 0);
}

/* A late answer from a worker the task was taken from is not counted. */
static void test_stale_result_discarded(void **state)
{
    fixture *f = *state;
    coord_worker *a = add_worker(f, 0, "a", 1, 1);
    coord_job *j = add_job(f, "k", 1);
    coord_dispatch(&f->c);
    assert_int_equal(drain(f, 0, NULL, NULL, 0), 1);
    assert_int_equal(coord_worker_take_back(&f->c, a), 1);
    coord_worker *b = add_worker(f, 1, "b", 1, 1);
    a->blocked = true; /* keep it out of this dispatch */
    coord_dispatch(&f->c);
    assert_int_equal(drain(f, 1, NULL, NULL, 0), 1);
    ph_msg m = {.type = PH_MSG_RESULT};
    m.u.result.job_id = j->id;
    m.u.result.task_id = 0;
    m.u.result.status = PH_EVERIFY;
    m.u.result.error = ph_bytes_str("k0000.keys: late");
    coord_on_result(&f->c, a, NULL, &m);
    assert_int_equal(j->failed, 0);
    assert_int_equal(j->state, PH_JOB_RUNNING);
    coord_on_result(&f->c, b, NULL, &m);
    assert_int_equal(j->failed, 1);
    assert_int_equal(j->state, PH_JOB_SOME_FAILED);
    assert_int_equal(b->failed, 1);
    assert_int_equal(a->failed, 0);
}

/* Running jobs share the workers one task each in turn; a finished job
 * and a job with its writer backlog full are passed over. */
static void test_jobs_round_robin(void **state)
{
    fixture *f = *state;
    coord_job *big = add_job(f, "big", 40);
    coord_job *small = add_job(f, "small", 3);
    add_worker(f, 0, "a", 6, 6);
    coord_dispatch(&f->c);
    uint64_t jobs[8];
    assert_int_equal(drain(f, 0, jobs, NULL, 8), 6);
    unsigned from_small = 0;
    for (int i = 0; i < 6; i++) {
        from_small += jobs[i] == small->id;
        if (i > 0 && i < 6 && from_small < 3)
            assert_int_not_equal(jobs[i], jobs[i - 1]); /* alternating */
    }
    assert_int_equal(from_small, 3);
    assert_false(coord_job_pending(small));
    /* A third job, submitted while the big one runs, is served at once. */
    coord_job *late = add_job(f, "late", 2);
    add_worker(f, 1, "b", 2, 2);
    coord_dispatch(&f->c);
    assert_int_equal(drain(f, 1, jobs, NULL, 8), 2);
    assert_true(jobs[0] == late->id || jobs[1] == late->id);
    assert_true(jobs[0] == big->id || jobs[1] == big->id);
    /* A job whose tables pile up at the writer pool waits for them. */
    coord_job *other = add_job(f, "other", 4);
    big->writing = COORD_JOB_WRITES_MAX;
    add_worker(f, 2, "c", 3, 3);
    coord_dispatch(&f->c);
    assert_int_equal(drain(f, 2, jobs, NULL, 8), 3);
    for (int i = 0; i < 3; i++)
        assert_int_not_equal(jobs[i], big->id);
    assert_int_equal(other->inflight + late->inflight, 4);
    big->writing = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_credits_and_prefetch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers_round_robin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requeue_on_worker_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_given_up_after_max_tries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_result_discarded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_round_robin, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
