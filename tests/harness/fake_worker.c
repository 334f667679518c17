/* fake_worker.c - see fake_worker.h. */
#include "fake_worker.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "ph_solver.h"
#include "ph_wire.h"

/* A scripted worker beats at the harness daemons' heartbeat (1 s), far
 * inside their liveness (10 s). */
#define FAKE_BEAT_MS 1000
#define FAKE_MAX 16

/* Workers that sent READY and are not closed: the pump's list. */
static fake_worker *live[FAKE_MAX];

static void pump(void)
{
    uint64_t now = hx_now_ms();
    for (int i = 0; i < FAKE_MAX; i++)
        if (live[i] && !live[i]->silent && now - live[i]->last_beat_ms >= FAKE_BEAT_MS)
            fake_heartbeat(live[i]);
}

static void enlist(fake_worker *f)
{
    hx_proc_set_pump(pump);
    for (int i = 0; i < FAKE_MAX; i++)
        if (live[i] == f)
            return;
    for (int i = 0; i < FAKE_MAX; i++)
        if (!live[i]) {
            live[i] = f;
            return;
        }
    fail_msg("fake_worker: more than %d scripted workers", FAKE_MAX);
}

void fake_open(fake_worker *f, const char *ep, const char *id)
{
    memset(f, 0, sizeof *f);
    f->ctx = zmq_ctx_new();
    assert_non_null(f->ctx);
    ph_wire_opts wo;
    ph_wire_opts_init(&wo);
    wo.heartbeat_ms = 0; /* it must be able to go silent */
    wo.linger_ms = 0;
    wo.routing_id = id;
    ph_err err = {0};
    assert_int_equal(ph_wire_socket(f->ctx, ZMQ_DEALER, &wo, &f->sock, &err), 0);
    assert_int_equal(zmq_connect(f->sock, ep), 0);
}

void fake_close(fake_worker *f)
{
    for (int i = 0; i < FAKE_MAX; i++)
        if (live[i] == f)
            live[i] = NULL;
    zmq_close(f->sock);
    zmq_ctx_term(f->ctx);
    free(f->keys);
    f->keys = NULL;
}

void fake_send(fake_worker *f, const ph_msg *m)
{
    ph_err err = {0};
    assert_int_equal(ph_wire_send_wait(f->sock, m, HX_HANG_MS, &err), 0);
}

/* running = 1 always: a worker that says it holds nothing has its tasks
 * taken back, and a scripted worker holds tasks as long as its test wants. */
void fake_heartbeat(fake_worker *f)
{
    ph_msg m = {.type = PH_MSG_HEARTBEAT};
    m.u.heartbeat.running = 1;
    f->last_beat_ms = hx_now_ms();
    fake_send(f, &m);
}

void fake_silence(fake_worker *f, bool silent) { f->silent = silent; }

void fake_ready_credits(fake_worker *f, uint32_t threads, uint32_t credits)
{
    ph_msg m = {.type = PH_MSG_READY};
    m.u.ready.host = ph_bytes_str("fakehost");
    m.u.ready.pid = 1;
    m.u.ready.numa_node = 7;
    m.u.ready.threads = threads;
    m.u.ready.credits = credits;
    fake_send(f, &m);
    f->last_beat_ms = hx_now_ms();
    enlist(f);
}

void fake_ready(fake_worker *f) { fake_ready_credits(f, 1, 1); }

bool fake_listed(const char *id)
{
    if (hx_client(HX_HANG_MS, "status", "--json", NULL) != 0)
        return false;
    char *s = hx_client_out();
    char pat[160];
    snprintf(pat, sizeof pat, "\"id\":\"%s\"", id);
    bool listed = s && strstr(s, pat);
    free(s);
    return listed;
}

void fake_join(fake_worker *f, const char *id, uint32_t threads, uint32_t credits)
{
    fake_open(f, hx_endpoint(), id);
    fake_ready_credits(f, threads, credits);
    for (uint64_t end = hx_deadline(HX_HANG_MS); !fake_listed(id) && hx_now_ms() < end;)
        hx_sleep_ms(50);
    assert_true(fake_listed(id));
}

/* One frame within poll_ms (heartbeating first); false if none came. */
static bool recv_one(fake_worker *f, int poll_ms, ph_msg *m, zmq_msg_t *fr)
{
    hx_pump();
    zmq_pollitem_t it = {f->sock, 0, ZMQ_POLLIN, 0};
    assert_true(zmq_poll(&it, 1, poll_ms) >= 0);
    if (!(it.revents & ZMQ_POLLIN))
        return false;
    zmq_msg_init(fr);
    assert_true(zmq_msg_recv(fr, f->sock, 0) >= 0);
    ph_err err = {0};
    assert_int_equal(ph_msg_decode(zmq_msg_data(fr), zmq_msg_size(fr), m, &err), 0);
    return true;
}

void fake_recv(fake_worker *f, ph_msg_type type, ph_msg *m, zmq_msg_t *fr)
{
    for (uint64_t end = hx_deadline(HX_HANG_MS); hx_now_ms() < end;) {
        if (!recv_one(f, 50, m, fr))
            continue;
        if (m->type == type)
            return;
        ph_msg_free(m);
        zmq_msg_close(fr);
    }
    fail_msg("no message of type %d reached the scripted worker", (int)type);
}

void fake_take_task(fake_worker *f, uint64_t *job, uint64_t *task, char *name, size_t len)
{
    ph_msg m;
    zmq_msg_t fr;
    ph_err err = {0};
    fake_recv(f, PH_MSG_TASK, &m, &fr);
    *job = m.u.task.job_id;
    *task = m.u.task.task_id;
    assert_int_equal(ph_bytes_cstr(m.u.task.name, name, len, &err), 0);
    assert_true(m.u.task.keys.n % 4 == 0);
    free(f->keys);
    f->keys = malloc(m.u.task.keys.n ? m.u.task.keys.n : 1);
    assert_non_null(f->keys);
    memcpy(f->keys, m.u.task.keys.p, m.u.task.keys.n);
    f->nkeys = m.u.task.keys.n / 4;
    ph_msg_free(&m);
    zmq_msg_close(&fr);
}

void fake_ping(fake_worker *f)
{
    ph_msg ping = {.type = PH_MSG_PING};
    fake_send(f, &ping);
    ph_msg m;
    zmq_msg_t fr;
    fake_recv(f, PH_MSG_PONG, &m, &fr);
    ph_msg_free(&m);
    zmq_msg_close(&fr);
}

int fake_count_tasks(fake_worker *f, int want, int quiet_ms, uint64_t *bytes)
{
    int n = 0;
    *bytes = 0;
    uint64_t hang = hx_deadline(HX_HANG_MS), until = hx_now_ms() + (uint64_t)quiet_ms;
    while (n < want ? hx_now_ms() < hang : hx_now_ms() < until) {
        ph_msg m;
        zmq_msg_t fr;
        if (!recv_one(f, 50, &m, &fr))
            continue;
        if (m.type == PH_MSG_TASK) {
            n++;
            *bytes += m.u.task.keys.n;
            until = hx_now_ms() + (uint64_t)quiet_ms;
        }
        ph_msg_free(&m);
        zmq_msg_close(&fr);
    }
    return n;
}

uint32_t fake_result(fake_worker *f, uint64_t job, uint64_t task, uint64_t seed,
                     enum fake_lie lie)
{
    ph_solve_opts o;
    ph_solve_opts_init(&o);
    o.seed = seed;
    o.hash = PH_HASH_MIX;
    ph_table t = {0};
    ph_err err = {0};
    assert_int_equal(ph_solve(f->keys, f->nkeys, &o, &t, &err), 0);
    ph_msg m = {.type = PH_MSG_RESULT};
    ph_msg_result *r = &m.u.result;
    r->job_id = job;
    r->task_id = task;
    r->hash = ph_bytes_str(ph_hash_name(t.hash));
    r->keys = t.nkeys;
    memcpy(r->seeds, t.seeds, sizeof r->seeds);
    r->vertices = t.nverts;
    r->table_bytes = ph_table_bytes(&t);
    r->has_table = true;
    r->table = (ph_table_view){.hash = (uint32_t)t.hash, .compact = t.compact,
                               .nkeys = t.nkeys, .nedges = t.nedges, .nverts = t.nverts,
                               .shift = t.shift, .width = t.width};
    memcpy(r->table.seeds, t.seeds, sizeof r->table.seeds);
    r->table.assigned = (ph_bytes){t.assigned, (uint32_t)ph_table_bytes(&t)};
    if (lie == LIE_VALUES) /* every index moves by 2 (width 2: small sets) */
        for (uint32_t i = 0; i < t.nverts; i++)
            ((uint16_t *)t.assigned)[i]++;
    if (lie == LIE_SHAPE) { /* half the vertices: keys would index past them */
        r->table.nverts /= 2;
        r->table.assigned.n /= 2;
    }
    if (lie == LIE_HEADER)
        r->keys++;
    fake_send(f, &m);
    uint32_t s0 = t.seeds[0];
    ph_table_free(&t);
    return s0;
}
