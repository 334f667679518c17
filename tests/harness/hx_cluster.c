/* hx_cluster.c - see hx_cluster.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "hx_cluster.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hx_file.h"
#include "test_util.h"

const char *const hx_coord_bin = PHCOORD_BIN;
const char *const hx_worker_bin = PHWORKER_BIN;
const char *const hx_client_bin = PHCLIENT_BIN;

static char endpoint[256];
static hx_args client_pre; /* e.g. CURVE options for every phclient */
static pid_t coord;

/* A path under the test's directory; a path that does not fit fails the
 * test rather than being cut short into some other file's name. */
static void path_vfmt(char *out, size_t len, const char *fmt, va_list ap)
{
    int n = snprintf(out, len, "%s/", tu_dir());
    assert_true(n > 0 && (size_t)n < len);
    int m = vsnprintf(out + n, len - (size_t)n, fmt, ap);
    assert_true(m >= 0 && (size_t)m < len - (size_t)n);
}

const char *hx_path(const char *fmt, ...)
{
    static char ring[32][1024];
    static int next;
    char *out = ring[next++ % 32];
    va_list ap;
    va_start(ap, fmt);
    path_vfmt(out, sizeof ring[0], fmt, ap);
    va_end(ap);
    return out;
}

void hx_path_buf(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    path_vfmt(out, len, fmt, ap);
    va_end(ap);
}

const char *hx_root(void) { return tu_dir(); }
const char *hx_endpoint(void) { return endpoint; }
pid_t hx_coord_pid(void) { return coord; }

void hx_coord_set(pid_t pid, const char *ep)
{
    coord = pid;
    snprintf(endpoint, sizeof endpoint, "%s", ep);
}

/* bind NULL: no --bind (phcoord's own default). */
static int coord_start(const char *bind, const hx_args *extra, const char *cwd, const char *log)
{
    char epf[1024], logp[1024];
    hx_path_buf(epf, sizeof epf, "endpoint");
    hx_path_buf(logp, sizeof logp, "%s", log);
    unlink(epf);
    hx_args a = {0};
    hx_args_add(&a, hx_coord_bin, "--endpoint-file", epf, "--heartbeat-ms", HX_HEARTBEAT_MS,
                "--liveness-ms", HX_LIVENESS_MS, "--log-level", "info", NULL);
    if (bind)
        hx_args_add(&a, "--bind", bind, NULL);
    hx_args_cat(&a, extra);
    pid_t pid = hx_spawn_kind(&a, cwd, NULL, logp, 'c');
    for (uint64_t end = hx_deadline(HX_HANG_MS); hx_now_ms() < end;) {
        char *ep = hx_slurp(epf);
        if (ep && strchr(ep, '\n')) {
            ep[strcspn(ep, "\n")] = '\0';
            hx_coord_set(pid, ep);
            free(ep);
            return 0;
        }
        free(ep);
        if (!hx_alive(pid)) {
            int rc = hx_wait(pid, 10000);
            fprintf(stderr, "phcoord exited with %d before listening\n", rc);
            hx_dump("phcoord log", logp);
            return rc > 0 ? rc : 1;
        }
        hx_sleep_ms(10);
    }
    hx_dump("phcoord log", logp);
    return -1;
}

int hx_coord_start(const char *bind, const hx_args *extra, const char *cwd, const char *log)
{
    return coord_start(bind ? bind : "tcp://127.0.0.1:*", extra, cwd, log);
}

int hx_coord_start_default(const hx_args *extra, const char *cwd, const char *log)
{
    return coord_start(NULL, extra, cwd, log);
}

void hx_coord_up(const char *bind, const hx_args *extra, const char *log)
{
    int rc = hx_coord_start(bind, extra, hx_root(), log);
    if (rc != 0)
        fail_msg("phcoord did not start (exit/status %d): see its log above", rc);
}

/* phcoord's own error when the port was taken: "--bind EP: Address already
 * in use" in its log. */
static bool bind_lost(const char *bind, const char *log)
{
    char want[128];
    snprintf(want, sizeof want, "--bind %s: Address already in use", bind);
    char *l = hx_slurp(hx_path("%s", log));
    bool lost = l && strstr(l, want);
    free(l);
    return lost;
}

int hx_coord_start_port(char *bind, size_t len, const hx_args *extra, const char *cwd,
                        const char *log)
{
    for (int tries = 1;; tries++) {
        snprintf(bind, len, "tcp://127.0.0.1:%d", hx_free_port());
        int rc = hx_coord_start(bind, extra, cwd, log);
        if (rc == 0 || rc < 0 || tries == 5 || !bind_lost(bind, log))
            return rc;
        fprintf(stderr, "harness: %s was taken before phcoord bound it; another port\n", bind);
    }
}

void hx_coord_up_port(char *bind, size_t len, const hx_args *extra, const char *log)
{
    int rc = hx_coord_start_port(bind, len, extra, hx_root(), log);
    if (rc != 0)
        fail_msg("phcoord did not start (exit/status %d): see its log above", rc);
}

void hx_coord_up_at(char *bind, size_t len, const hx_args *extra, const char *log)
{
    if (bind[0])
        hx_coord_up(bind, extra, log);
    else
        hx_coord_up_port(bind, len, extra, log);
}

static char state_bind[64];
static hx_args state_args;

void hx_coord_up_state(const hx_args *extra, const char *log)
{
    static char dir[1024];
    hx_path_buf(dir, sizeof dir, "state");
    hx_mkdir(dir);
    state_args = (hx_args){0};
    hx_args_add(&state_args, "--state-dir", dir, NULL);
    if (extra)
        hx_args_cat(&state_args, extra);
    hx_coord_up_port(state_bind, sizeof state_bind, &state_args, log);
}

void hx_coord_restart(const char *log)
{
    assert_true(state_bind[0] != '\0'); /* hx_coord_up_state came first */
    hx_coord_up(state_bind, &state_args, log);
}

int hx_coord_stop(void)
{
    if (coord <= 0)
        return -1;
    pid_t c = coord;
    hx_args a = {0};
    hx_args_add(&a, hx_client_bin, NULL);
    hx_args_cat(&a, &client_pre);
    hx_args_add(&a, "shutdown", "--coordinator", endpoint, NULL);
    hx_run(&a, NULL, NULL, NULL, HX_HANG_MS);
    int rc = hx_wait(c, HX_HANG_MS);
    coord = 0;
    return rc;
}

void hx_coord_kill9(void)
{
    if (coord > 0) {
        kill(coord, SIGKILL);
        hx_wait(coord, HX_HANG_MS);
    }
    coord = 0;
}

pid_t hx_worker_start(const hx_args *extra, const char *log)
{
    hx_args a = {0};
    hx_args_add(&a, hx_worker_bin, "--coordinator", endpoint, "--heartbeat-ms", HX_HEARTBEAT_MS,
                "--liveness-ms", HX_LIVENESS_MS, "--log-level", "info", NULL);
    hx_args_cat(&a, extra);
    return hx_spawn_kind(&a, NULL, NULL, hx_path("%s", log), 'w');
}

static int client_va(const hx_args *pre, int deadline_ms, va_list ap)
{
    hx_args a = {0};
    hx_args_add(&a, hx_client_bin, NULL);
    hx_args_cat(&a, pre ? pre : &client_pre);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        hx_args_add(&a, s, NULL);
    hx_args_add(&a, "--coordinator", endpoint, NULL);
    char out[1024], err[1024];
    hx_path_buf(out, sizeof out, "client.out");
    hx_path_buf(err, sizeof err, "client.err");
    unlink(err);
    return hx_run(&a, NULL, out, err, deadline_ms);
}

int hx_client(int deadline_ms, ...)
{
    va_list ap;
    va_start(ap, deadline_ms);
    int rc = client_va(NULL, deadline_ms, ap);
    va_end(ap);
    return rc;
}

int hx_client_pre(const hx_args *pre, int deadline_ms, ...)
{
    va_list ap;
    va_start(ap, deadline_ms);
    int rc = client_va(pre, deadline_ms, ap);
    va_end(ap);
    return rc;
}

/* The strings are copied: teardown's SHUTDOWN uses them after the test
 * function (whose buffers they may be) has returned. */
void hx_client_defaults(const hx_args *pre)
{
    static char store[HX_MAX_ARGS][1024];
    memset(&client_pre, 0, sizeof client_pre);
    for (int i = 0; pre && i < pre->n && i < HX_MAX_ARGS; i++) {
        snprintf(store[i], sizeof store[i], "%s", pre->v[i]);
        hx_args_add(&client_pre, store[i], NULL);
    }
}

char *hx_client_out(void) { return hx_slurp(hx_path("client.out")); }
char *hx_client_err(void) { return hx_slurp(hx_path("client.err")); }

char *hx_status_json(void)
{
    if (hx_client(HX_HANG_MS, "status", "--json", NULL) != 0)
        return NULL;
    return hx_client_out();
}

int hx_workers_registered(void)
{
    char *s = hx_status_json();
    int n = s ? hx_count(s, "\"pid\":") : -1;
    free(s);
    return n;
}

bool hx_wait_workers(int n, int deadline_ms)
{
    uint64_t end = hx_deadline(deadline_ms);
    while (hx_now_ms() < end) {
        if (hx_workers_registered() >= n)
            return true;
        hx_sleep_ms(20);
    }
    return false;
}

bool hx_submit_bulk(const char *dir, const char *out, char token[17])
{
    int rc = hx_client(HX_HANG_MS, "bulk-create", dir, "-o", out, "--no-wait", "--json", NULL);
    char *j = hx_client_out();
    const char *t = j ? strstr(j, "\"token\":\"") : NULL;
    bool ok = rc == 0 && t && strlen(t) >= 25;
    if (ok) {
        memcpy(token, t + 9, 16);
        token[16] = '\0';
    } else {
        fprintf(stderr, "bulk-create --no-wait exited %d: %s\n", rc, j ? j : "(no output)");
        hx_dump("client stderr", hx_path("client.err"));
    }
    free(j);
    return ok;
}

/* ---- fixture ------------------------------------------------------------- */

/* The TMPDIR this program started with, put back before each test: a test
 * may point TMPDIR into its own directory (the default endpoint's tests),
 * which its teardown removes, and the next test's directory (tu_setup,
 * under $TMPDIR) must not follow it there. */
static void tmpdir_as_started(void)
{
    static bool known;
    static char *start; /* NULL: TMPDIR was not set */
    if (!known) {
        const char *t = getenv("TMPDIR");
        start = t ? strdup(t) : NULL;
        known = true;
    }
    if (start)
        setenv("TMPDIR", start, 1);
    else
        unsetenv("TMPDIR");
}

int hx_setup(void **state)
{
    memset(&client_pre, 0, sizeof client_pre);
    coord = 0;
    endpoint[0] = '\0';
    tmpdir_as_started();
    if (tu_setup(state) != 0)
        return -1;
    hx_proc_begin(tu_dir());
    return 0;
}

int hx_teardown(void **state)
{
    int bad = 0;
    if (coord > 0 && hx_alive(coord)) {
        int rc = hx_coord_stop();
        if (rc != 0) {
            fprintf(stderr, "phcoord exited with %d after SHUTDOWN\n", rc);
            hx_dump("phcoord log", hx_path("coord.log"));
            bad = 1;
        }
    } else if (coord > 0) {
        int rc = hx_wait(coord, 10000);
        fprintf(stderr, "phcoord died during the test (exit %d)\n", rc);
        hx_dump("phcoord log", hx_path("coord.log"));
        bad = 1;
    }
    coord = 0;
    /* Coordinators a test swapped out, then workers; they exit 0 on
     * SIGTERM (under ASan a leak or error shows up as non-zero here). */
    if (hx_stop_kind('c', HX_HANG_MS) + hx_stop_kind('w', HX_HANG_MS) != 0)
        bad = 1;
    /* Whatever is left in their groups (a node process whose supervisor
     * died, a client): gone, whatever the outcome. */
    hx_proc_release();
    const char *keep = getenv("HX_KEEP"); /* set but empty counts as unset */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", tu_dir());
    if ((keep && keep[0]) || bad)
        fprintf(stderr, "harness: kept %s\n", dir);
    else if (tu_teardown(state) != 0) /* a leftover entry does not fail the test */
        fprintf(stderr, "harness: could not remove all of %s\n", dir);
    return bad ? -1 : 0;
}

pid_t hx_worker_slow(const char *delay_ms, const char *log)
{
    hx_args a = {0};
    hx_args_add(&a, "--threads", "1", "--task-delay-ms", delay_ms, NULL);
    return hx_worker_start(&a, log);
}

pid_t hx_worker_up(const char *log)
{
    hx_args a = {0};
    hx_args_add(&a, "--threads", "1", NULL);
    pid_t pid = hx_worker_start(&a, log);
    assert_true(hx_wait_workers(1, HX_HANG_MS));
    return pid;
}

int hx_run_tests(const char *prog, const char *group, const struct CMUnitTest *all, size_t n,
                 int argc, char **argv)
{
    struct CMUnitTest *chosen = calloc(n ? n : 1, sizeof *chosen);
    if (!chosen) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (argc < 2 || !strcmp(argv[1], all[i].name))
            chosen[k++] = all[i];
    if (k == 0) {
        fprintf(stderr, "%s: no test named '%s'\n", prog, argc < 2 ? "" : argv[1]);
        free(chosen);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    unsetenv("PHCLUSTER_COORDINATOR");
    int rc = _cmocka_run_group_tests(argc < 2 ? group : argv[1], chosen, k, NULL, NULL);
    free(chosen);
    return rc;
}
