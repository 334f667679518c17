/* test_retention.c - a coordinator that runs for months, with real processes:
 *   retention_keep_jobs   --keep-jobs N: older finished jobs are forgotten,
 *                         their tokens answer "unknown or expired", also
 *                         after kill -9 and a restart
 *   retention_ttl         --job-ttl: a finished job is forgotten after it
 *   compact_restart       the journal is compacted (snapshot + fresh log);
 *                         kill -9, restart: every remembered job intact
 *   compact_crash_1..4    phcoord ends right after each step of a compaction
 *                         (PH_TEST_JSTORE_EXIT_AFTER); the restarted one
 *                         knows every job it acknowledged, each exactly once
 *   corrupt_snapshot      a damaged snapshot: phcoord refuses to start with
 *                         one line naming it, no file is removed; repaired,
 *                         it starts with every job
 *   bad_retention_options out-of-range values: one line naming the option
 *   durable_order         with --state-dir, no task's journal record before
 *                         a sync that followed its files' write, and no
 *                         job's DONE before a sync (PH_TEST_DURABILITY_TRACE)
 * phcoord runs in the test's temp dir, which its default --allow-root covers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define FILES_PER_JOB 2

static char bind_ep[64], state_dir[1024];

static void start_coord(const char *log, const char *const *opts)
{
    hx_args extra = {0};
    hx_args_add(&extra, "--state-dir", state_dir, NULL);
    for (int i = 0; opts && opts[i]; i++)
        hx_args_add(&extra, opts[i], NULL);
    hx_coord_up(bind_ep, &extra, log);
}

static void start_cluster(const char *const *opts)
{
    snprintf(bind_ep, sizeof bind_ep, "tcp://127.0.0.1:%d", hx_free_port());
    snprintf(state_dir, sizeof state_dir, "%s", hx_path("state"));
    start_coord("coord.log", opts);
    hx_args w = {0};
    hx_args_add(&w, "--threads", "1", NULL);
    hx_worker_start(&w, "worker.log");
    assert_true(hx_wait_workers(1, 20000));
}

/* Job i: FILES_PER_JOB small keys files in keys<i>, tables into out<i>.
 * Returns whether a token was handed out. */
static bool submit(int i, char token[17])
{
    char dir[1024], out[1024];
    snprintf(dir, sizeof dir, "%s", hx_path("keys%d", i));
    snprintf(out, sizeof out, "%s", hx_path("out%d", i));
    hx_mkdir(dir);
    for (int f = 0; f < FILES_PER_JOB; f++)
        hx_write_keys(hx_path("keys%d/t%d.keys", i, f), 40 + (uint32_t)f, (uint32_t)(i * 7 + f),
                      false);
    return hx_submit_bulk(dir, out, token);
}

/* 0: the job is known and all its tables succeeded; 1: unknown or expired;
 * -1: anything else. */
static int job_state(const char *token)
{
    int rc = hx_client(30000, "wait", token, "--json", NULL);
    char *out = hx_client_out(), *err = hx_client_err();
    int st = -1;
    if (rc == 0 && out && strstr(out, "\"state\":\"all_succeeded\"") &&
        hx_field(out, "succeeded") == FILES_PER_JOB && hx_field(out, "total") == FILES_PER_JOB)
        st = 0;
    else if (rc != 0 && err && strstr(err, "unknown or expired"))
        st = 1;
    if (st < 0)
        fprintf(stderr, "wait %s: exit %d, out: %s, err: %s\n", token, rc, out ? out : "",
                err ? err : "");
    free(out);
    free(err);
    return st;
}

/* Poll until the job is forgotten (retention passes run at least every
 * second); false at the deadline. */
static bool forgotten_by(const char *token, int ms)
{
    uint64_t end = hx_deadline(ms);
    while (hx_now_ms() < end) {
        if (job_state(token) == 1)
            return true;
        hx_sleep_ms(100);
    }
    return false;
}

static void run_jobs(int n, char tokens[][17])
{
    for (int i = 0; i < n; i++) {
        assert_true(submit(i, tokens[i]));
        assert_int_equal(job_state(tokens[i]), 0);
    }
}

static void retention_keep_jobs(void **state)
{
    (void)state;
    enum { N = 6, KEEP = 3 };
    static const char *const opts[] = {"--keep-jobs", "3", NULL};
    start_cluster(opts);
    char tokens[N][17];
    run_jobs(N, tokens);
    for (int i = 0; i < N - KEEP; i++)
        assert_true(forgotten_by(tokens[i], 10000));
    for (int i = N - KEEP; i < N; i++)
        assert_int_equal(job_state(tokens[i]), 0);
    /* The forgetting is journaled: a restarted coordinator agrees. */
    hx_coord_kill9();
    start_coord("coord2.log", opts);
    for (int i = 0; i < N; i++)
        assert_int_equal(job_state(tokens[i]), i < N - KEEP ? 1 : 0);
}

static void retention_ttl(void **state)
{
    (void)state;
    static const char *const opts[] = {"--job-ttl", "1", NULL};
    start_cluster(opts);
    char token[1][17];
    run_jobs(1, token);
    assert_true(forgotten_by(token[0], 20000));
}

/* Bytes of the journal files in the state dir. */
static long journal_bytes(void)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "du -cb '%s' | tail -1", state_dir);
    FILE *p = popen(cmd, "r");
    long v = -1;
    if (p && fscanf(p, "%ld", &v) != 1)
        v = -1;
    if (p)
        pclose(p);
    return v;
}

static void compact_restart(void **state)
{
    (void)state;
    enum { N = 16, KEEP = 4 };
    static const char *const opts[] = {"--keep-jobs", "4", "--journal-compact-bytes", "4096",
                                       NULL};
    start_cluster(opts);
    char tokens[N][17];
    run_jobs(N, tokens);
    for (int i = 0; i < N - KEEP; i++)
        assert_true(forgotten_by(tokens[i], 10000));
    assert_true(hx_exists(hx_path("state/snapshot")));
    assert_false(hx_exists(hx_path("state/journal")));
    long bytes = journal_bytes();
    fprintf(stderr, "state dir after %d jobs, %d kept: %ld bytes\n", N, KEEP, bytes);
    assert_true(bytes > 0 && bytes < 64 * 1024);
    hx_coord_kill9();
    start_coord("coord2.log", opts);
    for (int i = 0; i < N; i++)
        assert_int_equal(job_state(tokens[i]), i < N - KEEP ? 1 : 0);
    /* New jobs go on after the restored ones. */
    char more[1][17];
    assert_true(submit(N, more[0]));
    assert_int_equal(job_state(more[0]), 0);
    for (int i = 0; i < N; i++)
        assert_string_not_equal(more[0], tokens[i]);
}

/* phcoord exits (70) right after step of its first compaction; jobs
 * submitted until then must all be known after a restart, complete. */
static void compact_crash(int step)
{
    enum { MAX = 40 };
    static const char *const opts[] = {"--keep-jobs", "1000", "--journal-compact-bytes", "4096",
                                       NULL};
    char env[8];
    snprintf(env, sizeof env, "%d", step);
    setenv("PH_TEST_JSTORE_EXIT_AFTER", env, 1);
    start_cluster(opts);
    unsetenv("PH_TEST_JSTORE_EXIT_AFTER");
    static char tokens[MAX][17];
    int n = 0;
    while (n < MAX && hx_alive(hx_coord_pid())) {
        if (!submit(n, tokens[n]))
            break;
        n++;
        /* Waiting may fail once the coordinator is gone; the job was
         * journaled before its token was handed out. */
        hx_client(8000, "wait", tokens[n - 1], NULL);
    }
    uint64_t end = hx_deadline(10000);
    while (hx_alive(hx_coord_pid()) && hx_now_ms() < end)
        hx_sleep_ms(20);
    assert_false(hx_alive(hx_coord_pid()));
    hx_coord_kill9(); /* reap it */
    fprintf(stderr, "phcoord ended after compaction step %d, %d jobs submitted\n", step, n);
    assert_true(n >= 2);
    start_coord("coord2.log", opts);
    for (int i = 0; i < n; i++)
        assert_int_equal(job_state(tokens[i]), 0);
}

static void compact_crash_1(void **state) { (void)state; compact_crash(1); }
static void compact_crash_2(void **state) { (void)state; compact_crash(2); }
static void compact_crash_3(void **state) { (void)state; compact_crash(3); }
static void compact_crash_4(void **state) { (void)state; compact_crash(4); }

static void corrupt_snapshot(void **state)
{
    (void)state;
    enum { N = 12 };
    static const char *const opts[] = {"--journal-compact-bytes", "4096", NULL};
    start_cluster(opts);
    char tokens[N][17];
    run_jobs(N, tokens);
    assert_true(hx_exists(hx_path("state/snapshot")));
    assert_int_equal(hx_client(20000, "shutdown", NULL), 0);
    uint64_t end = hx_deadline(20000);
    while (hx_alive(hx_coord_pid()) && hx_now_ms() < end)
        hx_sleep_ms(20);
    assert_false(hx_alive(hx_coord_pid()));
    hx_coord_kill9(); /* reap it */

    char snap[1024];
    snprintf(snap, sizeof snap, "%s", hx_path("state/snapshot"));
    int fd = open(snap, O_RDWR);
    assert_true(fd >= 0);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, 40), 1);
    unsigned char bad = b ^ 0x10;
    assert_int_equal(pwrite(fd, &bad, 1, 40), 1);

    hx_args extra = {0};
    hx_args_add(&extra, "--state-dir", state_dir, NULL);
    int rc = hx_coord_start(bind_ep, &extra, hx_root(), "coord-bad.log");
    assert_int_equal(rc, 1);
    char *log = hx_slurp(hx_path("coord-bad.log"));
    assert_non_null(log);
    assert_non_null(strstr(log, "state/snapshot"));
    assert_non_null(strstr(log, "corrupt"));
    free(log);
    assert_true(hx_exists(snap));

    assert_int_equal(pwrite(fd, &b, 1, 40), 1);
    close(fd);
    start_coord("coord2.log", opts);
    for (int i = 0; i < N; i++)
        assert_int_equal(job_state(tokens[i]), 0);
}

static void expect_refused(const char *opt, const char *value)
{
    hx_args a = {0};
    hx_args_add(&a, hx_coord_bin, opt, value, NULL);
    char err[1024];
    snprintf(err, sizeof err, "%s", hx_path("opt.err"));
    unlink(err);
    assert_int_equal(hx_run(&a, hx_root(), NULL, err, 10000), 1);
    char *text = hx_slurp(err);
    assert_non_null(text);
    assert_non_null(strstr(text, opt));
    assert_int_equal(hx_count(text, "\n"), 1);
    free(text);
}

static void bad_retention_options(void **state)
{
    (void)state;
    expect_refused("--keep-jobs", "0");
    expect_refused("--keep-jobs", "10000001");
    expect_refused("--keep-jobs", "-1");
    expect_refused("--keep-jobs", "many");
    expect_refused("--job-ttl", "315360001");
    expect_refused("--job-ttl", "1h");
    expect_refused("--journal-compact-bytes", "100");
    expect_refused("--journal-compact-bytes", "99999999999999999999999");
}

/* Trace lines: "written J T", "sync", "record J T", "done J". */
static void durable_order(void **state)
{
    (void)state;
    enum { N = 60 };
    char trace[1024];
    snprintf(trace, sizeof trace, "%s", hx_path("durability.trace"));
    setenv("PH_TEST_DURABILITY_TRACE", trace, 1);
    start_cluster(NULL);
    unsetenv("PH_TEST_DURABILITY_TRACE");
    char dir[1024], out[1024], token[17];
    snprintf(dir, sizeof dir, "%s", hx_path("keys"));
    snprintf(out, sizeof out, "%s", hx_path("out"));
    hx_mkdir(dir);
    for (int f = 0; f < N; f++)
        hx_write_keys(hx_path("keys/t%03d.keys", f), 30 + (uint32_t)f, (uint32_t)f, false);
    assert_true(hx_submit_bulk(dir, out, token));
    assert_int_equal(hx_client(60000, "wait", token, NULL), 0);

    char *text = hx_slurp(trace);
    assert_non_null(text);
    /* Per task: the line number of its write; the last sync's line. */
    static long written_at[N];
    for (int i = 0; i < N; i++)
        written_at[i] = -1;
    long line = 0, last_sync = -1;
    int records = 0, syncs = 0, dones = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save), line++) {
        unsigned long long job, task;
        if (!strcmp(l, "sync")) {
            last_sync = line;
            syncs++;
        } else if (sscanf(l, "written %llu %llu", &job, &task) == 2) {
            assert_true(task < N);
            written_at[task] = line;
        } else if (sscanf(l, "record %llu %llu", &job, &task) == 2) {
            assert_true(task < N);
            /* Written, then a sync, then its record. */
            assert_true(written_at[task] >= 0);
            assert_true(last_sync > written_at[task]);
            records++;
        } else if (sscanf(l, "done %llu", &job) == 1) {
            assert_true(last_sync >= 0 && last_sync == line - 1);
            dones++;
        } else {
            fail_msg("unexpected trace line '%s'", l);
        }
    }
    free(text);
    fprintf(stderr, "%d tables, %d records, %d syncs (one is results.csv's)\n", N, records,
            syncs);
    assert_int_equal(records, N);
    assert_int_equal(dones, 1);
    assert_true(syncs >= 2);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest all[] = {
        cmocka_unit_test_setup_teardown(retention_keep_jobs, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(retention_ttl, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(compact_restart, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(compact_crash_1, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(compact_crash_2, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(compact_crash_3, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(compact_crash_4, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(corrupt_snapshot, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(bad_retention_options, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(durable_order, hx_setup, hx_teardown),
    };
    return hx_run_tests("test_retention", "retention", all, sizeof all / sizeof all[0], argc, argv);
}
