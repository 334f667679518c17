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
 *   journal_without_start a journal as a coordinator without START records
 *                         wrote it (built here, byte by byte): a running job
 *                         resumes without redoing its finished table, its
 *                         elapsed time counting from the restart; a finished
 *                         one keeps its journaled elapsed time
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
#include "ph_journal.h"

#define FILES_PER_JOB 2

static char bind_ep[64], state_dir[1024];

/* The first start picks the port (bind_ep empty); a restart keeps it. */
static void start_coord(const char *log, const char *const *opts)
{
    hx_args extra = {0};
    hx_args_add(&extra, "--state-dir", state_dir, NULL);
    for (int i = 0; opts && opts[i]; i++)
        hx_args_add(&extra, opts[i], NULL);
    hx_coord_up_at(bind_ep, sizeof bind_ep, &extra, log);
}

static void start_cluster(const char *const *opts)
{
    bind_ep[0] = '\0';
    hx_path_buf(state_dir, sizeof state_dir, "state");
    start_coord("coord.log", opts);
    hx_worker_up("worker.log");
}

/* Job i: FILES_PER_JOB small keys files in keys<i>, tables into out<i>.
 * Returns whether a token was handed out. */
static bool submit(int i, char token[17])
{
    char dir[1024], out[1024];
    hx_path_buf(dir, sizeof dir, "keys%d", i);
    hx_path_buf(out, sizeof out, "out%d", i);
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
    int rc = hx_client(HX_HANG_MS, "wait", token, "--json", NULL);
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
        assert_true(forgotten_by(tokens[i], HX_HANG_MS));
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
    assert_true(forgotten_by(token[0], HX_HANG_MS));
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
        assert_true(forgotten_by(tokens[i], HX_HANG_MS));
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
    uint64_t end = hx_deadline(HX_HANG_MS);
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
    assert_int_equal(hx_client(HX_HANG_MS, "shutdown", NULL), 0);
    uint64_t end = hx_deadline(HX_HANG_MS);
    while (hx_alive(hx_coord_pid()) && hx_now_ms() < end)
        hx_sleep_ms(20);
    assert_false(hx_alive(hx_coord_pid()));
    hx_coord_kill9(); /* reap it */

    char snap[1024];
    hx_path_buf(snap, sizeof snap, "state/snapshot");
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
    hx_path_buf(err, sizeof err, "opt.err");
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
    hx_path_buf(trace, sizeof trace, "durability.trace");
    setenv("PH_TEST_DURABILITY_TRACE", trace, 1);
    start_cluster(NULL);
    unsetenv("PH_TEST_DURABILITY_TRACE");
    char dir[1024], out[1024], token[17];
    hx_path_buf(dir, sizeof dir, "keys");
    hx_path_buf(out, sizeof out, "out");
    hx_mkdir(dir);
    for (int f = 0; f < N; f++)
        hx_write_keys(hx_path("keys/t%03d.keys", f), 30 + (uint32_t)f, (uint32_t)f, false);
    assert_true(hx_submit_bulk(dir, out, token));
    assert_int_equal(hx_client(HX_HANG_MS, "wait", token, NULL), 0);

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

/* ---- a journal of an older coordinator ------------------------------------ */

/* Record payloads in the journal's little-endian layout
 * (coordinator/coord_journal.c), built here by hand: the test must not
 * share the coordinator's encoder, or a change to both would go unseen. */
typedef struct rec {
    unsigned char b[1024];
    size_t n;
} rec;

static void put_le(rec *r, uint64_t v, int bytes)
{
    assert_true(r->n + (size_t)bytes <= sizeof r->b);
    for (int i = 0; i < bytes; i++)
        r->b[r->n++] = (unsigned char)(v >> (8 * i));
}

static void put_str(rec *r, const char *s)
{
    size_t len = strlen(s);
    put_le(r, len, 4);
    assert_true(r->n + len <= sizeof r->b);
    memcpy(r->b + r->n, s, len);
    r->n += len;
}

enum { REC_JOB = 1, REC_TASK = 2, REC_DONE = 3 };

/* A bulk job over dir: flags 0, threads 0, seed 0, hash "auto", no keys,
 * no partition (what an older coordinator wrote for `bulk-create`). */
static void old_job(ph_journal *j, uint64_t id, const char *token, const char *dir,
                    const char *out, int nfiles)
{
    rec r = {0};
    put_le(&r, id, 8);
    assert_int_equal(strlen(token), 16);
    memcpy(r.b + r.n, token, 16);
    r.n += 16;
    put_le(&r, 0, 1); /* is_create */
    put_le(&r, 0, 1); /* flags */
    put_le(&r, 0, 4); /* threads */
    put_le(&r, 0, 8); /* seed */
    put_str(&r, "auto");
    put_str(&r, dir);
    put_str(&r, out);
    put_le(&r, (uint64_t)nfiles, 8);
    for (int f = 0; f < nfiles; f++) {
        char name[32];
        snprintf(name, sizeof name, "t%d.keys", f);
        put_str(&r, name);
    }
    put_str(&r, ""); /* keys: none for a bulk job */
    ph_err err = {0};
    assert_int_equal(ph_journal_append(j, REC_JOB, r.b, (uint32_t)r.n, true, &err), 0);
}

/* Task `task` of job `id` succeeded on node "old/numa0" with these seeds. */
static void old_task(ph_journal *j, uint64_t id, uint64_t task, uint32_t keys, uint32_t seed0)
{
    rec r = {0};
    put_le(&r, id, 8);
    put_le(&r, task, 8);
    put_le(&r, 0, 4); /* status: ok */
    put_str(&r, "old/numa0");
    put_le(&r, keys, 4);
    put_str(&r, "mulshift");
    for (uint32_t i = 0; i < 4; i++)
        put_le(&r, seed0 + i, 4);
    put_le(&r, 2 * keys + 1, 4); /* vertices */
    put_le(&r, 1, 8);            /* attempts */
    put_le(&r, 11, 8);           /* solve_us */
    put_le(&r, 3, 8);            /* verify_us */
    put_le(&r, 4 * (2 * keys + 1), 8); /* table_bytes */
    put_str(&r, "");             /* error */
    ph_err err = {0};
    assert_int_equal(ph_journal_append(j, REC_TASK, r.b, (uint32_t)r.n, false, &err), 0);
}

static void old_done(ph_journal *j, uint64_t id, uint64_t elapsed_us)
{
    rec r = {0};
    put_le(&r, id, 8);
    put_le(&r, elapsed_us, 8);
    ph_err err = {0};
    assert_int_equal(ph_journal_append(j, REC_DONE, r.b, (uint32_t)r.n, true, &err), 0);
}

/* `wait TOKEN --json` of a job that must have succeeded with total tables;
 * its elapsed_us. */
static uint64_t waited_ok(const char *token, uint64_t total)
{
    int rc = hx_client(HX_HANG_MS, "wait", token, "--json", NULL);
    char *out = hx_client_out();
    if (rc != 0 || !out || !strstr(out, "\"state\":\"all_succeeded\""))
        fail_msg("wait %s: exit %d, out: %s", token, rc, out ? out : "");
    assert_int_equal(hx_field(out, "total"), total);
    assert_int_equal(hx_field(out, "succeeded"), total);
    uint64_t elapsed = hx_field(out, "elapsed_us");
    free(out);
    assert_true(elapsed != UINT64_MAX);
    return elapsed;
}

/* Job 1 (3 tables, table 0 journaled done) was running when the old
 * coordinator stopped; job 2 (1 table) had finished in 4.321 s. */
static void journal_without_start(void **state)
{
    (void)state;
    static const char tok1[] = "0123456789abcdef", tok2[] = "fedcba9876543210";
    char dir1[1024], out1[1024], dir2[1024], out2[1024], log[1024];
    hx_path_buf(dir1, sizeof dir1, "keys1");
    hx_path_buf(out1, sizeof out1, "out1");
    hx_path_buf(dir2, sizeof dir2, "keys2");
    hx_path_buf(out2, sizeof out2, "out2");
    hx_path_buf(state_dir, sizeof state_dir, "state");
    hx_mkdir(dir1);
    hx_mkdir(out1);
    hx_mkdir(dir2);
    hx_mkdir(out2);
    hx_mkdir(state_dir);
    for (int f = 0; f < 3; f++)
        hx_write_keys(hx_path("keys1/t%d.keys", f), 50 + (uint32_t)f, 300u + (uint32_t)f, false);
    hx_write_keys(hx_path("keys2/t0.keys"), 20, 400, false);

    ph_journal *j;
    ph_err err = {0};
    assert_int_equal(ph_journal_open(hx_path("state/journal"), &j, &err), 0);
    old_job(j, 1, tok1, dir1, out1, 3);
    old_job(j, 2, tok2, dir2, out2, 1);
    old_task(j, 2, 0, 20, 0x2000);
    old_done(j, 2, 4321000);
    old_task(j, 1, 0, 50, 0x1000); /* then the old coordinator stopped */
    ph_journal_close(j);

    /* The old coordinator ran days ago: a job without a START must not
     * count its elapsed time from some other clock's zero. */
    uint64_t before = hx_now_ms();
    start_cluster(NULL);
    uint64_t elapsed1 = waited_ok(tok1, 3);
    uint64_t bound_us = (hx_now_ms() - before + 1000) * 1000;
    fprintf(stderr, "resumed job: elapsed %llu us (bound %llu us)\n",
            (unsigned long long)elapsed1, (unsigned long long)bound_us);
    assert_true(elapsed1 <= bound_us);
    assert_int_equal(waited_ok(tok2, 1), 4321000);

    /* Table 0 was not redone: its row is the journal's, no file of it was
     * written; tables 1 and 2 were made by the worker. */
    char *csv = hx_slurp(hx_path("out1/results.csv"));
    assert_non_null(csv);
    assert_int_equal(hx_count(csv, "\n"), 4);
    assert_int_equal(hx_count(csv, ",ok"), 3);
    char row0[128];
    snprintf(row0, sizeof row0, "t0.keys,50,mulshift,%u,%u,%u,%u,101,", 0x1000, 0x1001, 0x1002,
             0x1003);
    if (!strstr(csv, row0))
        fail_msg("results.csv lacks the journaled row '%s':\n%s", row0, csv);
    free(csv);
    assert_false(hx_exists(hx_path("out1/t0")));
    assert_true(hx_exists(hx_path("out1/t1/t1.c")));
    assert_true(hx_exists(hx_path("out1/t2/t2.c")));
    hx_path_buf(log, sizeof log, "coord.log");
    char *text = hx_slurp(log);
    assert_non_null(text);
    assert_null(strstr(text, "not understood"));
    free(text);

    /* New jobs take ids after the replayed ones: both old tokens still
     * answer, and the new job is a third one. */
    char token[17];
    assert_true(submit(3, token));
    assert_int_equal(job_state(token), 0);
    assert_string_not_equal(token, tok1);
    assert_string_not_equal(token, tok2);
    waited_ok(tok1, 3);
    waited_ok(tok2, 1);
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
        cmocka_unit_test_setup_teardown(journal_without_start, hx_setup, hx_teardown),
    };
    return hx_run_tests("test_retention", "retention", all, sizeof all / sizeof all[0], argc, argv);
}
