/* test_cancel.c - `phclient cancel TOKEN` with real processes:
 *   cancel_running_bulk     a bulk job on a slowed worker is cancelled after
 *                           some tables are written: it ends `cancelled`,
 *                           results.csv lists exactly the tables on disk,
 *                           the worker is free again and the next job runs
 *   cancel_stops_task       a task the worker would hold for 10 minutes is
 *                           stopped on the worker: the cancel ends
 *   cancel_after_restart    with --state-dir: a job resumed by a restarted
 *                           coordinator is cancelled; after another restart
 *                           it is still cancelled and nothing of it runs
 *   cancel_then_crash       the coordinator is killed while a cancelled job
 *                           waits for a (stopped) worker: restarted, it
 *                           finishes the cancel from its journal
 *   cancel_compacted        the same after the journal was compacted while
 *                           the job was being cancelled (the snapshot keeps
 *                           the cancel)
 *   cancel_partitioned      a big file solved as a partitioned table by
 *                           the workers is abandoned: groups stopped on the
 *                           worker, no temporary file left, no row
 *   cancel_bad_input        unknown and malformed tokens, a finished job, a
 *                           second cancel, usage errors
 * Each test has its own coordinator and worker; nothing waits for a fixed
 * time: every wait polls for a state with a deadline that only catches a
 * hang. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* A task delay long past any test's budget: only a cancel ends it. */
#define FOREVER_MS "600000"

static char bind_ep[64];

static const char *coord_extra; /* one more option for phcoord, or NULL */

/* The first start picks the port (bind_ep empty); a restart keeps it. */
static void start_coord(const char *log, const char *state_dir)
{
    hx_args extra = {0};
    if (coord_extra)
        hx_args_add(&extra, coord_extra, NULL);
    if (state_dir)
        hx_args_add(&extra, "--state-dir", state_dir, NULL);
    /* A stopped worker is never dropped: its tasks stay in flight. */
    hx_args_add(&extra, "--liveness-ms", "600000", NULL);
    hx_coord_up_at(bind_ep, sizeof bind_ep, &extra, log);
}

/* Coordinator on a fixed loopback port (a restarted one gets it again) and
 * one worker with one thread whose tasks first sleep delay_ms. */
static pid_t start_worker(const char *delay_ms, const char *log)
{
    pid_t pid = hx_worker_slow(delay_ms, log);
    assert_true(hx_wait_workers(1, HX_HANG_MS));
    return pid;
}

static pid_t start_cluster(const char *state_dir, const char *delay_ms)
{
    bind_ep[0] = '\0';
    start_coord("coord.log", state_dir);
    return start_worker(delay_ms, "worker.log");
}

/* dir/t<i>.keys for i < n, small distinct sets. */
static void make_keys(const char *dir, int n, uint32_t salt)
{
    hx_mkdir(hx_path("%s", dir));
    for (int i = 0; i < n; i++)
        hx_write_keys(hx_path("%s/t%04d.keys", dir, i), 50 + (uint32_t)i, salt + (uint32_t)i,
                      false);
}

static void submit(const char *dir, const char *out, char token[17])
{
    char d[1024], o[1024];
    hx_path_buf(d, sizeof d, "%s", dir);
    hx_path_buf(o, sizeof o, "%s", out);
    assert_true(hx_submit_bulk(d, o, token));
}

/* Poll status until its JSON contains `want` (with at least `min` for the
 * first "key":N after it when key is set); false at the hang deadline. */
static bool status_until(const char *want, const char *key, uint64_t min)
{
    for (uint64_t end = hx_deadline(HX_HANG_MS); hx_now_ms() < end; hx_sleep_ms(50)) {
        char *s = hx_status_json();
        const char *p = s ? strstr(s, want) : NULL;
        bool ok = p && (!key || (hx_field(p, key) != UINT64_MAX && hx_field(p, key) >= min));
        free(s);
        if (ok)
            return true;
    }
    return false;
}

/* Poll status until the (only) worker has no task; false at the deadline. */
static bool worker_idle(void)
{
    for (uint64_t end = hx_deadline(HX_HANG_MS); hx_now_ms() < end; hx_sleep_ms(50)) {
        char *s = hx_status_json();
        const char *w = s ? strstr(s, "\"workers\":[{") : NULL;
        bool idle = w && hx_field(w, "running") == 0;
        free(s);
        if (idle)
            return true;
    }
    return false;
}

/* `wait TOKEN --json`: exit code, the JSON in *json (caller frees). */
static int wait_json(const char *token, char **json)
{
    int rc = hx_client(HX_HANG_MS, "wait", token, "--json", NULL);
    *json = hx_client_out();
    return rc;
}

/* `wait TOKEN`: the job ends cancelled (exit 5), no task of it succeeded
 * or failed. */
static void wait_cancelled_empty(const char *token)
{
    char *j;
    assert_int_equal(wait_json(token, &j), 5);
    assert_non_null(strstr(j, "\"state\":\"cancelled\""));
    assert_int_equal(hx_field(j, "succeeded"), 0);
    assert_int_equal(hx_field(j, "failed"), 0);
    free(j);
}

/* How many times sub stands in the file at path (0 if it cannot be read). */
static int count_in_file(const char *path, const char *sub)
{
    char *t = hx_slurp(path);
    int n = t ? hx_count(t, sub) : 0;
    free(t);
    return n;
}

/* results.csv of out: data rows, and each of the n files has a row exactly
 * when its table directory exists.  Returns the number of rows. */
static int check_rows_match_tables(const char *out, int n)
{
    char *csv = hx_slurp(hx_path("%s/results.csv", out));
    assert_non_null(csv);
    int rows = 0;
    for (int i = 0; i < n; i++) {
        char file[32], name[32];
        snprintf(file, sizeof file, "t%04d.keys", i);
        snprintf(name, sizeof name, "t%04d", i);
        int r = hx_csv_rows_for(csv, file);
        bool dir = hx_exists(hx_path("%s/%s/%s.c", out, name, name));
        if (r != (dir ? 1 : 0))
            fail_msg("%s: %d row(s) in results.csv, table %s", file, r,
                     dir ? "written" : "absent");
        rows += r;
    }
    assert_int_equal(hx_count(csv, ",ok\n") + hx_count(csv, ",ok\r\n"), rows);
    free(csv);
    return rows;
}

/* ---- tests ------------------------------------------------------------- */

/* cancel exits `code` and its stderr holds `text`. */
static void expect_cancel(const char *token, int code, const char *text)
{
    int rc = hx_client(HX_HANG_MS, "cancel", token, NULL);
    char *err = hx_client_err();
    if (rc != code || !err || !strstr(err, text))
        fail_msg("cancel %s: exit %d (want %d), stderr: %s (want '%s')", token, rc, code,
                 err ? err : "", text);
    free(err);
}


static void cancel_running_bulk(void **state)
{
    (void)state;
    enum { N = 60 };
    /* 1.5 s a table on one thread: the job alone takes 90 s, so it is
     * cancelled long before its end. */
    start_cluster(NULL, "1500");
    make_keys("keys", N, 100);
    char token[17];
    submit("keys", "out", token);
    assert_true(status_until("\"state\":\"running\"", "succeeded", 2));

    assert_int_equal(hx_client(HX_HANG_MS, "cancel", token, NULL), 0);
    char *out = hx_client_out(), *err = hx_client_err();
    assert_non_null(strstr(out, "cancelled: "));
    assert_non_null(strstr(err, "cancelled; waiting"));
    free(out);
    free(err);

    char *j;
    assert_int_equal(wait_json(token, &j), 5);
    assert_non_null(strstr(j, "\"state\":\"cancelled\""));
    uint64_t ok = hx_field(j, "succeeded");
    assert_true(ok >= 2 && ok < N);
    assert_int_equal(hx_field(j, "failed"), 0);
    assert_int_equal(hx_field(j, "queued"), 0);
    assert_int_equal(hx_field(j, "running"), 0);
    free(j);
    assert_int_equal(check_rows_match_tables("out", N), (int)ok);
    /* Status shows it too. */
    assert_true(status_until("\"state\":\"cancelled\"", NULL, 0));

    /* The worker is free again: nothing running, and a new job completes. */
    assert_true(worker_idle());
    make_keys("keys2", 2, 9000);
    char token2[17];
    submit("keys2", "out2", token2);
    assert_int_equal(wait_json(token2, &j), 0);
    assert_int_equal(hx_field(j, "succeeded"), 2);
    free(j);
    assert_int_equal(check_rows_match_tables("out2", 2), 2);
    expect_cancel(token2, 1, "has already finished (all succeeded): nothing to cancel");
}

static void cancel_stops_task(void **state)
{
    (void)state;
    start_cluster(NULL, FOREVER_MS);
    make_keys("keys", 4, 200);
    char token[17];
    submit("keys", "out", token);
    /* The worker holds a task it would sleep on for 10 minutes. */
    assert_true(status_until("\"workers\":[{", "running", 1));
    /* Only a cancel on the worker lets this return before the deadline. */
    assert_int_equal(hx_client(HX_HANG_MS, "cancel", token, NULL), 0);
    wait_cancelled_empty(token);
    assert_int_equal(check_rows_match_tables("out", 4), 0);
    /* A cancelled task is not a failure of the worker. */
    char *s = hx_status_json();
    assert_non_null(s);
    assert_int_equal(hx_field(s, "running"), 0);
    assert_int_equal(hx_field(s, "failed"), 0);
    free(s);
}

static void cancel_after_restart(void **state)
{
    (void)state;
    char sd[1024];
    hx_path_buf(sd, sizeof sd, "state");
    pid_t w = start_cluster(sd, FOREVER_MS);
    make_keys("keys", 5, 300);
    char token[17];
    submit("keys", "out", token);
    assert_true(status_until("\"workers\":[{", "running", 1));

    /* Restart (and a fresh worker: the old one's thread sleeps on a task
     * of the old coordinator): the job resumes under its token and is
     * dispatched again. */
    assert_int_equal(hx_coord_stop(), 0);
    kill(w, SIGTERM);
    assert_int_equal(hx_wait(w, HX_HANG_MS), 0);
    start_coord("coord2.log", sd);
    start_worker(FOREVER_MS, "worker2.log");
    assert_true(status_until("\"state\":\"running\"", "running", 1));
    assert_int_equal(hx_client(HX_HANG_MS, "cancel", token, NULL), 0);

    /* Another restart: still cancelled, nothing of it queued again. */
    assert_int_equal(hx_coord_stop(), 0);
    start_coord("coord3.log", sd);
    wait_cancelled_empty(token);
    assert_true(count_in_file(hx_path("coord3.log"), "running=0 msg=\"state restored\"") > 0);
    assert_int_equal(check_rows_match_tables("out", 5), 0);
    assert_int_equal(hx_client(HX_HANG_MS, "cancel", token, NULL), 0);
    char *err = hx_client_err();
    assert_non_null(strstr(err, "already cancelled"));
    free(err);
}

/* Job of n files in keys/, stuck cancelling: its worker (pid w) holds a
 * task and is stopped, so the job waits for it. */
static void cancel_stuck(pid_t w, int n, char token[17])
{
    make_keys("keys", n, 500);
    submit("keys", "out", token);
    assert_true(status_until("\"workers\":[{", "running", 1));
    kill(w, SIGSTOP);
    hx_args a = {0};
    hx_args_add(&a, hx_client_bin, "cancel", token, "--coordinator", hx_endpoint(), NULL);
    pid_t cl = hx_spawn(&a, NULL, NULL, NULL);
    assert_true(status_until("\"state\":\"cancelling\"", NULL, 0));
    kill(cl, SIGKILL); /* it would wait for the end of the cancel */
    hx_wait(cl, HX_HANG_MS);
}

/* After kill -9 and a restart on sd: the job is cancelled, with no table. */
static void restart_cancelled(const char *sd, const char *token, int n, const char *restored)
{
    hx_coord_kill9();
    start_coord("coord2.log", sd);
    wait_cancelled_empty(token);
    assert_true(count_in_file(hx_path("coord2.log"), restored) > 0);
    assert_int_equal(check_rows_match_tables("out", n), 0);
}

static void cancel_then_crash(void **state)
{
    (void)state;
    char sd[1024], token[17];
    hx_path_buf(sd, sizeof sd, "state");
    pid_t w = start_cluster(sd, FOREVER_MS);
    cancel_stuck(w, 3, token);
    restart_cancelled(sd, token, 3, "jobs=1 running=0 msg=\"state restored\"");
    kill(w, SIGCONT);
}

static void cancel_compacted(void **state)
{
    (void)state;
    enum { N = 300 };
    char sd[1024], token[17], other[17];
    hx_path_buf(sd, sizeof sd, "state");
    coord_extra = "--journal-compact-bytes=4096";
    pid_t w = start_cluster(sd, FOREVER_MS);
    cancel_stuck(w, N, token);
    /* Another job's record (more files) outgrows the last snapshot: the
     * next compaction writes the cancelling job into the new snapshot. */
    char clog[1024];
    hx_path_buf(clog, sizeof clog, "coord.log");
    int before = count_in_file(clog, "journal compacted");
    make_keys("more", N + 100, 7000);
    submit("more", "out-more", other);
    bool compacted = false;
    for (uint64_t end = hx_deadline(HX_HANG_MS); !compacted && hx_now_ms() < end;
         hx_sleep_ms(50))
        compacted = count_in_file(clog, "journal compacted") > before;
    assert_true(compacted);
    restart_cancelled(sd, token, N, "jobs=2 running=1 msg=\"state restored\"");
    /* The other job was resumed, not cancelled. */
    char want[64];
    snprintf(want, sizeof want, "\"token\":\"%s\",\"state\":\"running\"", other);
    char *st = hx_status_json();
    assert_non_null(st);
    assert_non_null(strstr(st, want));
    free(st);
    kill(w, SIGCONT);
}

static void cancel_partitioned(void **state)
{
    (void)state;
    start_cluster(NULL, FOREVER_MS);
    /* First in name order: opened as a partitioned table (2^20 keys). */
    hx_mkdir(hx_path("keys"));
    hx_write_keys(hx_path("keys/a-big.keys"), 1u << 20, 77, false);
    for (int i = 0; i < 3; i++)
        hx_write_keys(hx_path("keys/t%04d.keys", i), 60, 600 + (uint32_t)i, false);
    char token[17];
    submit("keys", "out", token);
    /* Its bucket groups are out, held by the worker. */
    assert_true(status_until("\"parts_total\":", NULL, 0));
    assert_true(status_until("\"workers\":[{", "running", 1));
    assert_int_equal(hx_client(HX_HANG_MS, "cancel", token, NULL), 0);
    wait_cancelled_empty(token);
    assert_int_equal(check_rows_match_tables("out", 3), 0);
    char out[1024];
    hx_path_buf(out, sizeof out, "out");
    assert_int_equal(hx_count_names(out, ".tmp."), 0);
    assert_false(hx_exists(hx_path("out/a-big")));
    char *csv = hx_slurp(hx_path("out/results.csv"));
    assert_non_null(csv);
    assert_int_equal(hx_csv_rows_for(csv, "a-big.keys"), 0);
    free(csv);
    /* The worker stopped the groups it held: it is free again. */
    assert_true(worker_idle());
}

static void cancel_bad_input(void **state)
{
    (void)state;
    start_cluster(NULL, FOREVER_MS);
    expect_cancel("0123456789abcdef", 1, "unknown or expired job token '0123456789abcdef'");
    expect_cancel("not-a-token", 1, "unknown or expired job token 'not-a-token'");
    /* A finished job (no keys files: it ends at once). */
    hx_mkdir(hx_path("empty"));
    char token[17];
    submit("empty", "out-empty", token);
    expect_cancel(token, 1, "has already finished (no keys files): nothing to cancel");
    /* A second cancel of a job says so, and succeeds. */
    make_keys("keys", 3, 400);
    submit("keys", "out", token);
    expect_cancel(token, 0, "cancelled; waiting");
    expect_cancel(token, 0, "was already cancelled");
    /* Usage. */
    assert_int_equal(hx_client(HX_HANG_MS, "cancel", NULL), 1);
    assert_int_equal(hx_client(HX_HANG_MS, "cancel", token, "extra", NULL), 1);
    assert_int_equal(hx_client(HX_HANG_MS, "cancel", token, "--no-wait", NULL), 1);
}

static int setup(void **state)
{
    coord_extra = NULL;
    return hx_setup(state);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest all[] = {
        cmocka_unit_test_setup_teardown(cancel_running_bulk, setup, hx_teardown),
        cmocka_unit_test_setup_teardown(cancel_stops_task, setup, hx_teardown),
        cmocka_unit_test_setup_teardown(cancel_after_restart, setup, hx_teardown),
        cmocka_unit_test_setup_teardown(cancel_then_crash, setup, hx_teardown),
        cmocka_unit_test_setup_teardown(cancel_compacted, setup, hx_teardown),
        cmocka_unit_test_setup_teardown(cancel_partitioned, setup, hx_teardown),
        cmocka_unit_test_setup_teardown(cancel_bad_input, setup, hx_teardown),
    };
    return hx_run_tests("test_cancel", "cancel", all, sizeof all / sizeof all[0], argc, argv);
}
