/* test_faults.c - the cluster survives faults (worker and coordinator deaths, poison tasks, backpressure).
 *
 * Real phcoord/phworker/phclient processes on loopback.  argv[1] names the
 * one scenario to run, so each is its own ctest with its own cluster:
 *   fault_kill_worker    kill -9 a worker mid bulk job
 *   fault_kill_node_child kill -9 one node process of an --all-nodes worker
 *   fault_stop_worker    SIGSTOP a worker, later SIGCONT it
 *   fault_coord_restart  kill -9 phcoord, restart it on the same --state-dir
 *   fault_restart_elapsed a job's elapsed time counts from its start across a restart
 *   fault_restart_values a create with 64-bit keys and a values file, replayed
 *                        from the journal after kill -9 of phcoord
 *   fault_poison         a task that always times out fails after --max-tries
 *   fault_backpressure   many files + one slow worker: coordinator RSS bounded
 *   fault_stall_requeue  a worker that heartbeats while its solve is stuck:
 *                        the task is taken back and done by another worker
 *   fault_stall_honest   a long task that progresses outlives --stall-ms
 *   fault_stall_big      a real big solve under the default stall limit
 *   fault_stall_status   --stall-ms 0: a stuck task shows as stalled in status
 *   fault_stall_group    the same as fault_stall_requeue for the groups of a
 *                        partitioned table
 *   fault_stall_recover  a stuck thread that comes back is counted free again
 * Every wait is a poll with a deadline well under the ctest timeout.
 * phcoord runs in the test's temp dir: its default --allow-root (its
 * working directory) then covers every input and output. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* ---- helpers ----------------------------------------------------------- */

/* "running" of the worker with this pid in a status text; -1 if absent. */
static long worker_running(const char *st, pid_t pid)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"pid\":%ld,", (long)pid);
    const char *w = st ? strstr(st, pat) : NULL;
    if (!w)
        return -1;
    uint64_t v = hx_field(w, "running");
    return v == UINT64_MAX ? -1 : (long)v;
}

/* "succeeded" of the first job in a status text (0 if none yet). */
static uint64_t job_succeeded(const char *st)
{
    const char *j = st ? strstr(st, "\"jobs\":") : NULL;
    uint64_t v = j ? hx_field(j, "succeeded") : UINT64_MAX;
    return v == UINT64_MAX ? 0 : v;
}

/* nfiles keys files f0000.keys... with 200..1199 keys each. */
static void make_bulk(const char *dir, int nfiles, uint32_t salt)
{
    hx_mkdir(dir);
    for (int i = 0; i < nfiles; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/f%04d.keys", dir, i);
        hx_write_keys(p, 200u + (uint32_t)((i * 7919) % 1000), salt + (uint32_t)i, false);
    }
}

/* make_bulk(keys/, nfiles, salt) submitted without waiting (hx_submit_bulk)
 * to out/, whose path is copied to out; the job's token to token. */
static void bulk_submitted(char *out, size_t len, int nfiles, uint32_t salt, char token[17])
{
    char dir[1024];
    hx_path_buf(dir, sizeof dir, "keys");
    hx_path_buf(out, len, "out");
    make_bulk(dir, nfiles, salt);
    assert_true(hx_submit_bulk(dir, out, token));
}

/* The output of a finished job: header + exactly one ok row per file, no
 * temporary file left behind. */
static void check_results(const char *out, int nfiles)
{
    char csvp[1200];
    snprintf(csvp, sizeof csvp, "%s/results.csv", out);
    char *csv = hx_slurp(csvp);
    assert_non_null(csv);
    int bad = 0;
    for (int i = 0; i < nfiles; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%04d.keys", i);
        int rows = hx_csv_rows_for(csv, name);
        if (rows != 1 && bad++ < 5)
            fprintf(stderr, "results.csv: %s has %d rows\n", name, rows);
    }
    assert_int_equal(bad, 0);
    assert_int_equal(hx_count(csv, "\n"), nfiles + 1);
    assert_int_equal(hx_count(csv, ",ok\n"), nfiles);
    free(csv);
    assert_int_equal(hx_count_names(out, ".tmp."), 0);
    /* One table dir per file and nothing else beside results.csv. */
    int entries = 0;
    DIR *d = opendir(out);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        entries += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, nfiles + 1);
    for (int i = 0; i < nfiles; i++) {
        struct stat st;
        assert_int_equal(stat(hx_path("out/f%04d/f%04d.c", i, i), &st), 0);
        assert_true(st.st_size > 0);
    }
}

/* `wait TOKEN --json`: exit code 0, all_succeeded, succeeded == n. */
static void wait_all_ok(const char *token, int n)
{
    int rc = hx_client(HX_HANG_MS, "wait", token, "--json", NULL);
    char *j = hx_client_out();
    if (rc != 0) {
        fprintf(stderr, "phclient wait exited %d: %s\n", rc, j ? j : "");
        hx_dump("client stderr", hx_path("client.err"));
    }
    assert_int_equal(rc, 0);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"state\":\"all_succeeded\""));
    assert_int_equal(hx_field(j, "succeeded"), (uint64_t)n);
    assert_int_equal(hx_field(j, "failed"), 0);
    free(j);
}

static void start_coord(const hx_args *extra) { hx_coord_up(NULL, extra, "coord.log"); }

/* A coordinator with --stall-ms STALL_MS and one registered worker whose
 * tasks stick after its first STALL_AFTER (it keeps heartbeating). */
static pid_t start_stuck_cluster(const char *stall_ms, const char *stall_after)
{
    hx_args extra = {0};
    hx_args_add(&extra, "--stall-ms", stall_ms, NULL);
    start_coord(&extra);
    hx_args sa = {0};
    hx_args_add(&sa, "--threads", "1", "--test-stall-after", stall_after, NULL);
    pid_t stuck = hx_worker_start(&sa, "stuck.log");
    assert_true(hx_wait_workers(1, HX_HANG_MS));
    return stuck;
}

/* Poll status until pid holds at least one task and the job made some
 * progress: the moment to hurt that worker. */
static void wait_victim_busy(pid_t victim, uint64_t min_done)
{
    uint64_t end = hx_deadline(HX_HANG_MS);
    long running = -1;
    uint64_t done = 0;
    while (hx_now_ms() < end) {
        char *st = hx_status_json();
        running = worker_running(st, victim);
        done = job_succeeded(st);
        free(st);
        if (running >= 1 && done >= min_done)
            return;
        hx_sleep_ms(20);
    }
    fail_msg("victim never busy: running=%ld job succeeded=%llu", running,
             (unsigned long long)done);
}

static void print_log_lines(const char *path, const char *needle)
{
    char *l = hx_slurp(path);
    for (char *p = l; p && *p;) {
        char *e = strchr(p, '\n');
        if (e)
            *e = '\0';
        if (strstr(p, needle))
            fprintf(stderr, "  %s\n", p);
        p = e ? e + 1 : NULL;
    }
    free(l);
}

/* ---- (a) kill -9 a worker mid job ---------------------------------------- */

static void fault_kill_worker(void **state)
{
    (void)state;
    enum { N = 400 };
    start_coord(NULL);
    hx_worker_slow("10", "healthy.log");
    pid_t victim = hx_worker_slow("300", "victim.log");
    assert_true(hx_wait_workers(2, HX_HANG_MS));
    char out[1024], token[17];
    bulk_submitted(out, sizeof out, N, 1000, token);
    wait_victim_busy(victim, 20);
    kill(victim, SIGKILL);
    assert_int_equal(hx_wait(victim, HX_HANG_MS), 128 + SIGKILL);
    wait_all_ok(token, N);
    check_results(out, N);
    fprintf(stderr, "coordinator log on the drop:\n");
    print_log_lines(hx_path("coord.log"), "requeue");
}

/* ---- (a2) kill -9 one node process of a supervised --all-nodes worker ---- */

/* The pids listed in a status text, in order (at most max). */
static int status_pids(const char *st, long *pids, int max)
{
    int n = 0;
    for (const char *p = st; p && n < max && (p = strstr(p, "\"pid\":")) != NULL; p += 6)
        pids[n++] = strtol(p + 6, NULL, 10);
    return n;
}

static void fault_kill_node_child(void **state)
{
    (void)state;
    enum { N = 150 };
    start_coord(NULL);
    hx_args a = {0};
    hx_args_add(&a, "--all-nodes", "--topology", "pack:2 numa:1 core:1 pu:1", "--threads", "1",
                "--task-delay-ms", "40", NULL);
    pid_t sup = hx_worker_start(&a, "supervisor.log");
    assert_true(hx_wait_workers(2, HX_HANG_MS));
    char *st = hx_status_json();
    long pids[4];
    assert_int_equal(status_pids(st, pids, 4), 2);
    free(st);
    pid_t victim = (pid_t)pids[0];
    assert_true(victim != sup);
    char out[1024], token[17];
    bulk_submitted(out, sizeof out, N, 4000, token);
    wait_victim_busy(victim, 10);
    assert_int_equal(kill(victim, SIGKILL), 0);
    wait_all_ok(token, N);
    check_results(out, N);
    /* The supervisor replaced the dead node process. */
    bool replaced = false;
    for (uint64_t end = hx_deadline(HX_HANG_MS); !replaced && hx_now_ms() < end;) {
        st = hx_status_json();
        int n = status_pids(st, pids, 4);
        free(st);
        replaced = n == 2 && pids[0] != victim && pids[1] != victim;
        if (!replaced)
            hx_sleep_ms(50);
    }
    assert_true(replaced);
    assert_true(hx_alive(sup));
}

/* ---- (b) SIGSTOP a worker, SIGCONT later ---------------------------------- */

static void fault_stop_worker(void **state)
{
    (void)state;
    enum { N = 200 };
    start_coord(NULL);
    hx_worker_slow("10", "healthy.log");
    pid_t victim = hx_worker_slow("1000", "victim.log");
    assert_true(hx_wait_workers(2, HX_HANG_MS));
    char out[1024], token[17];
    bulk_submitted(out, sizeof out, N, 2000, token);
    wait_victim_busy(victim, 5);
    kill(victim, SIGSTOP);
    uint64_t t0 = hx_now_ms(), drop_end = hx_deadline(HX_HANG_MS);
    /* Application heartbeats (the harness's liveness) must drop it. */
    bool dropped = false;
    while (!dropped && hx_now_ms() < drop_end) {
        char *st = hx_status_json();
        dropped = st && worker_running(st, victim) < 0;
        free(st);
        if (!dropped)
            hx_sleep_ms(20);
    }
    if (!dropped)
        fail_msg("stopped worker still listed at the hang deadline after SIGSTOP");
    fprintf(stderr, "stopped worker dropped after %llu ms\n",
            (unsigned long long)(hx_now_ms() - t0));
    kill(victim, SIGCONT);
    wait_all_ok(token, N);
    /* Let the woken worker deliver its late results: it is done when it is
     * registered again and holds nothing (or, if it never comes back, the
     * late results went to a coordinator that no longer knows it). */
    uint64_t end = hx_deadline(HX_HANG_MS);
    bool settled = false;
    while (!settled && hx_now_ms() < end) {
        char *st = hx_status_json();
        settled = st && worker_running(st, victim) == 0;
        free(st);
        if (!settled)
            hx_sleep_ms(50);
    }
    fprintf(stderr, "woken worker %s\n", settled ? "re-registered and idle"
                                                 : "did not re-register by the hang deadline");
    wait_all_ok(token, N); /* counts unchanged by late results */
    check_results(out, N);
    print_log_lines(hx_path("coord.log"), "requeue");
}

/* ---- (c) coordinator kill -9 + restart on the same state dir ------------- */

static void fault_coord_restart(void **state)
{
    (void)state;
    enum { N = 200 };
    hx_coord_up_state(NULL, "coord.log");
    hx_worker_slow("25", "worker.log");
    assert_true(hx_wait_workers(1, HX_HANG_MS));
    char out[1024], token[17];
    bulk_submitted(out, sizeof out, N, 3000, token);
    /* A client already waiting must survive the restart too. */
    hx_args wa = {0};
    hx_args_add(&wa, hx_client_bin, "wait", token, "--json", "--coordinator", hx_endpoint(),
                NULL);
    char waiter_out[1024];
    hx_path_buf(waiter_out, sizeof waiter_out, "waiter.json");
    pid_t waiter = hx_spawn(&wa, NULL, waiter_out, hx_path("waiter.err"));

    uint64_t end = hx_deadline(HX_HANG_MS), done = 0;
    while (done < 40 && hx_now_ms() < end) {
        char *st = hx_status_json();
        done = job_succeeded(st);
        free(st);
        if (done < 40)
            hx_sleep_ms(20);
    }
    assert_true(done >= 40 && done < N);
    hx_coord_kill9();
    /* Which tables exist now, and their inodes: a redone file is written
     * again through an atomic rename, i.e. gets a new inode. */
    static ino_t before[N];
    int nbefore = 0;
    for (int i = 0; i < N; i++) {
        struct stat st;
        before[i] = stat(hx_path("out/f%04d/f%04d.c", i, i), &st) == 0 ? st.st_ino : 0;
        nbefore += before[i] != 0;
    }
    fprintf(stderr, "killed phcoord at job succeeded>=%llu, %d tables on disk\n",
            (unsigned long long)done, nbefore);

    hx_coord_restart("coord2.log");
    assert_true(hx_wait_workers(1, HX_HANG_MS)); /* the worker reconnects by itself */
    wait_all_ok(token, N);                  /* the old token is still valid */
    check_results(out, N);
    int redone = 0;
    for (int i = 0; i < N; i++) {
        struct stat st;
        if (before[i] && stat(hx_path("out/f%04d/f%04d.c", i, i), &st) == 0 &&
            st.st_ino != before[i])
            redone++;
    }
    fprintf(stderr, "tables on disk before the crash redone after it: %d of %d\n", redone,
            nbefore);
    fprintf(stderr, "restarted coordinator's log (job lines):\n");
    print_log_lines(hx_path("coord2.log"), "job");
    /* At most what was in flight at the kill (worker credits = 3) plus the
     * results not yet journaled may be redone. */
    assert_true(redone <= 4);
    int wrc = hx_wait(waiter, HX_HANG_MS);
    if (wrc != 0)
        hx_dump("waiting client stderr", hx_path("waiter.err"));
    assert_int_equal(wrc, 0);
    char *wj = hx_slurp(waiter_out);
    assert_non_null(wj);
    assert_non_null(strstr(wj, "\"state\":\"all_succeeded\""));
    free(wj);
}

/* A create of 64-bit keys with a values file, submitted while no worker is
 * there, survives kill -9 of phcoord: the restarted coordinator replays
 * the job from its journal (keys, key size, values and their bytes), a
 * worker then solves it, the waiting client gets its result, and the
 * written table's own test finds every starting value. */
static void fault_restart_values(void **state)
{
    (void)state;
    enum { N = 700 };
    hx_coord_up_state(NULL, "coord.log");
    char keys[1024], vals[1024], out[1024];
    hx_path_buf(keys, sizeof keys, "kv64.keys");
    hx_path_buf(vals, sizeof vals, "kv.vals");
    hx_path_buf(out, sizeof out, "vout");
    FILE *kf = fopen(keys, "wb"), *vf = fopen(vals, "wb");
    assert_true(kf && vf);
    for (uint64_t i = 0; i < N; i++) {
        uint64_t k = (i + 1) << 33 | (i % 3), v = i * 0x9e3779b97f4a7c15ull; /* LE host */
        assert_int_equal(fwrite(&k, 8, 1, kf), 1);
        assert_int_equal(fwrite(&v, 8, 1, vf), 1);
    }
    assert_int_equal(fclose(kf), 0);
    assert_int_equal(fclose(vf), 0);
    hx_args ca = {0};
    hx_args_add(&ca, hx_client_bin, "create", keys, "-o", out, "--values", "8",
                "--values-file", vals, "--coordinator", hx_endpoint(), NULL);
    pid_t client = hx_spawn(&ca, NULL, hx_path("create.out"), hx_path("create.err"));
    /* No worker yet: wait until the job is known (so journaled), then kill. */
    uint64_t end = hx_deadline(HX_HANG_MS);
    bool seen = false;
    while (!seen && hx_now_ms() < end) {
        char *st = hx_status_json();
        seen = st && strstr(st, "\"total\":1");
        free(st);
        if (!seen)
            hx_sleep_ms(20);
    }
    assert_true(seen);
    hx_coord_kill9();
    hx_coord_restart("coord2.log");
    hx_worker_slow("0", "worker.log");
    assert_true(hx_wait_workers(1, HX_HANG_MS));
    int crc = hx_wait(client, HX_HANG_MS);
    if (crc != 0)
        hx_dump("create stderr", hx_path("create.err"));
    assert_int_equal(crc, 0);
    char exe[1100], src[1100], test[1100];
    hx_path_buf(src, sizeof src, "vout/kv64/kv64.c");
    /* The starting values came through the journal: value 1 is the file's. */
    char *c_text = hx_slurp(src);
    assert_non_null(c_text);
    assert_non_null(strstr(c_text, "static uint64_t kv64_values[700] = {"));
    assert_non_null(strstr(c_text, " 11400714819323198485ull,"));
    free(c_text);
    hx_path_buf(test, sizeof test, "vout/kv64/kv64_test.c");
    hx_path_buf(exe, sizeof exe, "kv64_test");
    hx_args cc = {0};
    hx_args_add(&cc, "/usr/bin/cc", "-O1", "-o", exe, src, test, NULL);
    assert_int_equal(hx_wait(hx_spawn(&cc, NULL, NULL, hx_path("cc.err")), HX_HANG_MS), 0);
    hx_args tr = {0};
    hx_args_add(&tr, exe, NULL);
    int trc = hx_wait(hx_spawn(&tr, NULL, hx_path("kv64.out"), hx_path("kv64.err")),
                      HX_HANG_MS);
    if (trc != 0)
        hx_dump("kv64_test stderr", hx_path("kv64.err"));
    assert_int_equal(trc, 0);
    char *o = hx_slurp(hx_path("kv64.out"));
    assert_non_null(o);
    assert_non_null(strstr(o, "values ok: every operation on 700 keys"));
    free(o);
}

/* ---- (d) poison task ------------------------------------------------------ */

static void fault_poison(void **state)
{
    (void)state;
    hx_args extra = {0};
    hx_args_add(&extra, "--task-timeout-ms", "500", "--max-tries", "2", NULL);
    start_coord(&extra);
    hx_worker_slow("100000", "stuck.log"); /* every task outlives the timeout */
    assert_true(hx_wait_workers(1, HX_HANG_MS));
    char dir[1024], out[1024];
    hx_path_buf(dir, sizeof dir, "keys");
    hx_path_buf(out, sizeof out, "out");
    hx_mkdir(dir);
    hx_write_keys(hx_path("keys/poison.keys"), 100, 77, false);
    int rc = hx_client(HX_HANG_MS, "bulk-create", dir, "-o", out, "--json", NULL);
    char *j = hx_client_out();
    fprintf(stderr, "bulk-create exited %d: %s", rc, j ? j : "");
    assert_int_not_equal(rc, HX_TIMEOUT); /* looped instead of giving up */
    assert_int_equal(rc, 2);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"state\":\"some_failed\""));
    assert_int_equal(hx_field(j, "failed"), 1);
    free(j);
    char *csv = hx_slurp(hx_path("out/results.csv"));
    assert_non_null(csv);
    assert_int_equal(hx_csv_rows_for(csv, "poison.keys"), 1);
    assert_int_equal(hx_count(csv, ",ok\n"), 0);
    free(csv);
    assert_false(hx_exists(hx_path("out/poison")));
    print_log_lines(hx_path("coord.log"), "poison");
}

/* ---- (e) backpressure ------------------------------------------------------ */

/* Coordinator peak RSS bound.  Per task the coordinator needs a name and a
 * few counters (< 1 KiB even generously); 100,000 tasks is then < 100 MB
 * on top of a ~10 MB process.  200 MB leaves room for allocator slack and
 * still catches reading every file up front into per-task buffers or
 * queueing every TASK message at once.  ASan's quarantine and shadow
 * memory inflate RSS, so there the bound only catches gross growth. */
#if defined(__SANITIZE_ADDRESS__)
#define BP_BOUND_MB 1024
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BP_BOUND_MB 1024
#endif
#endif
#ifndef BP_BOUND_MB
#define BP_BOUND_MB 200
#endif

static void fault_backpressure(void **state)
{
    (void)state;
    const char *env = getenv("HX_BP_FILES");
    int nfiles = env ? atoi(env) : 20000;
    assert_true(nfiles > 0);
    char dir[1024], out[1024];
    hx_path_buf(dir, sizeof dir, "keys");
    hx_path_buf(out, sizeof out, "out");
    hx_mkdir(dir);
    uint64_t t0 = hx_now_ms();
    for (int i = 0; i < nfiles; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/k%06d.keys", dir, i);
        int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
        assert_true(fd >= 0);
        uint32_t k = (uint32_t)i * 2654435761u;
        assert_int_equal(write(fd, &k, 4), 4);
        close(fd);
    }
    fprintf(stderr, "generated %d one-key files in %llu ms\n", nfiles,
            (unsigned long long)(hx_now_ms() - t0));
    start_coord(NULL);
    hx_args wa = {0};
    hx_args_add(&wa, "--threads", "1", "--prefetch", "2", "--task-delay-ms", "20", NULL);
    pid_t w = hx_worker_start(&wa, "slow.log");
    assert_true(hx_wait_workers(1, HX_HANG_MS));
    long base_kb = hx_hwm_kb(hx_coord_pid());
    char token[17];
    t0 = hx_now_ms();
    assert_true(hx_submit_bulk(dir, out, token));
    fprintf(stderr, "submit of %d files accepted in %llu ms\n", nfiles,
            (unsigned long long)(hx_now_ms() - t0));
    /* Steady state: tasks flow to the slow worker, which never holds more
     * than its credits (1 thread + --prefetch 2). */
    uint64_t end = hx_deadline(HX_HANG_MS), done = 0;
    long max_running = 0;
    while (done < 20 && hx_now_ms() < end) {
        char *st = hx_status_json();
        done = job_succeeded(st);
        long r = worker_running(st, w);
        max_running = r > max_running ? r : max_running;
        free(st);
        hx_sleep_ms(20);
    }
    assert_true(done >= 20);
    long hwm_kb = hx_hwm_kb(hx_coord_pid());
    long whwm_kb = hx_hwm_kb(w);
    fprintf(stderr,
            "coordinator VmHWM: %ld KiB before submit, %ld KiB with %d queued tasks "
            "(%.0f bytes/task); slow worker VmHWM %ld KiB; max running at the worker %ld; "
            "bound %d MB\n",
            base_kb, hwm_kb, nfiles, (double)(hwm_kb - base_kb) * 1024.0 / nfiles, whwm_kb,
            max_running, BP_BOUND_MB);
    assert_true(hwm_kb > 0);
    assert_true(hwm_kb < BP_BOUND_MB * 1024L);
    assert_true(max_running <= 3);
}

/* ---- (f) stalled tasks ------------------------------------------------------ */

/* The first job's object in a status or wait text (NULL if none). */
static const char *first_job(const char *st)
{
    const char *j = st ? strstr(st, "\"jobs\":[{") : NULL;
    return j ? j : (st && strstr(st, "\"token\":") ? st : NULL);
}

/* The status text of the worker with this pid, from its "pid" on (NULL if absent). */
static const char *worker_entry(const char *st, pid_t pid)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"pid\":%ld,", (long)pid);
    return st ? strstr(st, pat) : NULL;
}

static bool log_has(const char *log, const char *needle)
{
    char *l = hx_slurp(hx_path("%s", log));
    bool found = l && strstr(l, needle);
    free(l);
    return found;
}

/* A worker whose every task sticks (it keeps heartbeating), beside a healthy
 * one that joins later: the stuck task is taken back after --stall-ms and
 * done by the healthy worker; the stuck one is kept (it is alive), shows a
 * stuck thread and gets no more work. */
static void fault_stall_requeue(void **state)
{
    (void)state;
    enum { N = 30 };
    pid_t stuck = start_stuck_cluster("2000", "0");
    char out[1024], token[17];
    bulk_submitted(out, sizeof out, N, 5000, token);
    wait_victim_busy(stuck, 0);
    hx_worker_slow("0", "healthy.log");
    wait_all_ok(token, N);
    check_results(out, N);
    assert_true(log_has("coord.log", "msg=\"task stalled; taken back\""));
    /* Alive and registered, one stuck thread, nothing done, nothing held. */
    uint64_t end = hx_deadline(HX_HANG_MS), stuck_n = 0;
    char *st = NULL;
    while (hx_now_ms() < end) {
        free(st);
        st = hx_status_json();
        const char *w = worker_entry(st, stuck);
        stuck_n = w ? hx_field(w, "stuck") : 0;
        if (stuck_n == 1)
            break;
        hx_sleep_ms(50);
    }
    fprintf(stderr, "status after the job: %s", st ? st : "(none)\n");
    const char *w = worker_entry(st, stuck);
    assert_non_null(w);
    assert_int_equal(hx_field(w, "stuck"), 1);
    assert_int_equal(hx_field(w, "done"), 0);
    assert_int_equal(hx_field(w, "running"), 0);
    const char *j = first_job(st);
    assert_non_null(j);
    assert_true(hx_field(j, "stalls") >= 1);
    free(st);
    assert_true(hx_alive(stuck));
    print_log_lines(hx_path("coord.log"), "stalled");
}

/* Tasks that take 2x --stall-ms but progress all along (each slice of
 * --task-delay-ms is a step) are never taken back.  The worker reports
 * progress every second, so a limit of 5 s leaves 4 s for a report to come
 * late on a loaded machine (live peers were seen silent for 3 s) before an
 * honest task would look stalled. */
static void fault_stall_honest(void **state)
{
    (void)state;
    enum { N = 2 };
    hx_args extra = {0};
    hx_args_add(&extra, "--stall-ms", "5000", NULL);
    start_coord(&extra);
    hx_worker_slow("10000", "slow.log");
    assert_true(hx_wait_workers(1, HX_HANG_MS));
    char out[1024], token[17];
    bulk_submitted(out, sizeof out, N, 6000, token);
    int rc = hx_client(HX_HANG_MS, "wait", token, "--json", NULL);
    char *j = hx_client_out();
    fprintf(stderr, "wait exited %d: %s", rc, j ? j : "");
    assert_int_equal(rc, 0);
    assert_non_null(j);
    assert_int_equal(hx_field(j, "stalls"), 0);
    free(j);
    check_results(out, N);
    assert_false(log_has("coord.log", "stalled"));
}

/* A real solve big enough to take seconds (2^20 keys: its default limit is
 * the 30 s floor, not its size) under the default limits: done once, never
 * taken back. */
static void fault_stall_big(void **state)
{
    (void)state;
    start_coord(NULL);
    hx_worker_up("worker.log");
    char dir[1024], out[1024];
    hx_path_buf(dir, sizeof dir, "keys");
    hx_path_buf(out, sizeof out, "out");
    hx_mkdir(dir);
    hx_write_keys(hx_path("keys/big.keys"), 1u << 20, 99, false);
    /* One graph, one TASK (--partition auto would split it into groups). */
    int rc = hx_client(HX_HANG_MS, "bulk-create", dir, "-o", out, "--index-only",
                       "--partition", "off", "--json", NULL);
    char *j = hx_client_out();
    fprintf(stderr, "bulk-create exited %d: %s", rc, j ? j : "");
    assert_int_equal(rc, 0);
    assert_non_null(j);
    assert_int_equal(hx_field(j, "succeeded"), 1);
    assert_int_equal(hx_field(j, "stalls"), 0);
    free(j);
    char *csv = hx_slurp(hx_path("out/results.csv"));
    assert_non_null(csv);
    assert_int_equal(hx_csv_rows_for(csv, "big.keys"), 1);
    assert_int_equal(hx_count(csv, ",ok\n"), 1);
    free(csv);
    assert_true(hx_exists(hx_path("out/big/big.c")));
    assert_false(log_has("coord.log", "stalled"));
    print_log_lines(hx_path("coord.log"), "job complete");
}

/* --stall-ms 0: a stuck task is never taken back, but status says it is
 * stalled (after 5 s without progress) instead of a few seconds' ETA. */
static void fault_stall_status(void **state)
{
    (void)state;
    pid_t stuck = start_stuck_cluster("0", "1");
    char out[1024], token[17];
    bulk_submitted(out, sizeof out, 2, 7000, token);
    /* The first table is done, the second sticks: poll until it shows. */
    uint64_t end = hx_deadline(HX_HANG_MS), stalled = 0;
    char *st = NULL;
    while (hx_now_ms() < end) {
        free(st);
        st = hx_status_json();
        const char *j = first_job(st);
        stalled = j ? hx_field(j, "stalled") : 0;
        if (stalled == 1)
            break;
        hx_sleep_ms(100);
    }
    fprintf(stderr, "status: %s", st ? st : "(none)\n");
    assert_int_equal(stalled, 1);
    const char *j = first_job(st);
    assert_non_null(strstr(j, "\"state\":\"running\""));
    assert_int_equal(hx_field(j, "succeeded"), 1);
    assert_int_equal(hx_field(j, "running"), 1);
    assert_int_equal(hx_field(j, "stalls"), 0);
    assert_int_equal(hx_field(worker_entry(st, stuck), "stuck"), 0);
    free(st);
    /* The text form says so where the ETA goes. */
    assert_int_equal(hx_client(HX_HANG_MS, "status", NULL), 0);
    char *text = hx_client_out();
    fprintf(stderr, "%s", text ? text : "");
    assert_non_null(text);
    assert_non_null(strstr(text, "eta=stalled(1)"));
    free(text);
    assert_false(log_has("coord.log", "taken back"));
}

/* A big file solved as a partitioned table, group by group: the groups a
 * stuck worker took are taken back and solved by a healthy worker. */
static void fault_stall_group(void **state)
{
    (void)state;
    pid_t stuck = start_stuck_cluster("2000", "0");
    char dir[1024], out[1024], token[17];
    hx_path_buf(dir, sizeof dir, "keys");
    hx_path_buf(out, sizeof out, "out");
    hx_mkdir(dir);
    hx_write_keys(hx_path("keys/big.keys"), 1u << 20, 31, false); /* --partition auto */
    assert_true(hx_submit_bulk(dir, out, token));
    wait_victim_busy(stuck, 0);
    hx_worker_slow("0", "healthy.log");
    int rc = hx_client(HX_HANG_MS, "wait", token, "--json", NULL);
    char *j = hx_client_out();
    fprintf(stderr, "wait exited %d: %s", rc, j ? j : "");
    assert_int_equal(rc, 0);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"state\":\"all_succeeded\""));
    assert_true(hx_field(j, "stalls") >= 1);
    free(j);
    char *csv = hx_slurp(hx_path("out/results.csv"));
    assert_non_null(csv);
    assert_int_equal(hx_csv_rows_for(csv, "big.keys"), 1);
    assert_int_equal(hx_count(csv, ",ok\n"), 1);
    free(csv);
    assert_true(hx_exists(hx_path("out/big/big.values")));
    assert_int_equal(hx_count_names(out, ".tmp."), 0);
    assert_true(log_has("coord.log", "msg=\"partitioned table opened\""));
    assert_true(log_has("coord.log", "msg=\"group stalled; taken back\""));
    uint64_t end = hx_deadline(HX_HANG_MS), stuck_n = 0;
    while (stuck_n != 1 && hx_now_ms() < end) {
        char *st = hx_status_json();
        const char *w = worker_entry(st, stuck);
        stuck_n = w ? hx_field(w, "stuck") : 0;
        free(st);
        if (stuck_n != 1)
            hx_sleep_ms(50);
    }
    assert_int_equal(stuck_n, 1);
    assert_true(hx_alive(stuck));
    print_log_lines(hx_path("coord.log"), "stalled");
}

/* --max-tries 1: the stalled task fails at its first take-back (the job
 * ends), its solve holds the worker's only thread (stuck 1) until the
 * stall ends 10 s in; then the worker reports nothing started and its
 * thread counts as free again (stuck 0), so it is not starved for ever. */
static void fault_stall_recover(void **state)
{
    (void)state;
    hx_args extra = {0};
    hx_args_add(&extra, "--stall-ms", "2000", "--max-tries", "1", NULL);
    start_coord(&extra);
    hx_args sa = {0};
    hx_args_add(&sa, "--threads", "1", "--test-stall-after", "0", "--test-stall-ms", "10000",
                NULL);
    pid_t stuck = hx_worker_start(&sa, "stuck.log");
    assert_true(hx_wait_workers(1, HX_HANG_MS));
    char dir[1024], out[1024];
    hx_path_buf(dir, sizeof dir, "keys");
    hx_path_buf(out, sizeof out, "out");
    make_bulk(dir, 1, 8000);
    int rc = hx_client(HX_HANG_MS, "bulk-create", dir, "-o", out, "--json", NULL);
    char *j = hx_client_out();
    fprintf(stderr, "bulk-create exited %d: %s", rc, j ? j : "");
    assert_int_equal(rc, 2);
    assert_non_null(j);
    assert_non_null(strstr(j, "stalled (no progress for"));
    assert_int_equal(hx_field(j, "stalls"), 1);
    free(j);
    /* The late result comes and is discarded; the thread is free again. */
    uint64_t end = hx_deadline(HX_HANG_MS);
    bool late = false;
    while (!late && hx_now_ms() < end) {
        late = log_has("coord.log", "stale result discarded");
        if (!late)
            hx_sleep_ms(100);
    }
    assert_true(late);
    uint64_t stuck_n = 1;
    while (stuck_n != 0 && hx_now_ms() < end) {
        char *st = hx_status_json();
        const char *w = worker_entry(st, stuck);
        stuck_n = w ? hx_field(w, "stuck") : 1;
        free(st);
        if (stuck_n != 0)
            hx_sleep_ms(100);
    }
    assert_int_equal(stuck_n, 0);
}

/* ---- main ------------------------------------------------------------------ */

/* ---- (d2) the elapsed time of a job survives a restart ------------------- */

/* A job runs on a slow worker for a few seconds, phcoord is killed and
 * restarted (on the same --state-dir) with a fast worker.  The job started
 * before its token came back and ended after the restart began, so the
 * elapsed time it reports at the end is at least the time between the two,
 * whatever the load; reported from the restart, it would be about the
 * fast part alone. */
static void fault_restart_elapsed(void **state)
{
    (void)state;
    enum { N = 30 };
    hx_coord_up_state(NULL, "coord.log");
    pid_t slow = hx_worker_slow("400", "slow.log");
    assert_true(hx_wait_workers(1, HX_HANG_MS));
    char out[1024], token[17];
    bulk_submitted(out, sizeof out, N, 5000, token);
    uint64_t submitted = hx_now_ms();
    /* Some tables done and 3 s gone, the job not finished. */
    uint64_t end = hx_deadline(HX_HANG_MS), done = 0;
    while (hx_now_ms() < end && (done < 2 || hx_now_ms() - submitted < 3000)) {
        char *st = hx_status_json();
        done = job_succeeded(st);
        free(st);
        hx_sleep_ms(50);
    }
    assert_true(done >= 2 && done < N);
    hx_coord_kill9();
    kill(slow, SIGKILL);
    assert_int_equal(hx_wait(slow, HX_HANG_MS), 128 + SIGKILL);
    uint64_t restart = hx_now_ms();
    hx_coord_restart("coord2.log");
    hx_worker_slow("0", "fast.log");
    assert_true(hx_wait_workers(1, HX_HANG_MS));
    int rc = hx_client(HX_HANG_MS, "wait", token, "--json", NULL);
    char *j = hx_client_out();
    assert_int_equal(rc, 0);
    assert_non_null(j);
    uint64_t elapsed_us = hx_field(j, "elapsed_us");
    uint64_t before_us = (restart - submitted) * 1000;
    fprintf(stderr, "job elapsed %.3f s; submit to restart %.3f s, restart to end %.3f s\n",
            (double)elapsed_us / 1e6, (double)before_us / 1e6,
            (double)(hx_now_ms() - restart) / 1e3);
    free(j);
    assert_true(elapsed_us != UINT64_MAX);
    /* 2 ms for the test clock's millisecond truncation */
    assert_true(elapsed_us + 2000 >= before_us);
    check_results(out, N);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest all[] = {
        cmocka_unit_test_setup_teardown(fault_kill_worker, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(fault_kill_node_child, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(fault_stop_worker, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(fault_coord_restart, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(fault_restart_elapsed, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(fault_restart_values, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(fault_poison, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(fault_backpressure, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(fault_stall_requeue, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(fault_stall_honest, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(fault_stall_big, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(fault_stall_status, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(fault_stall_group, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(fault_stall_recover, hx_setup, hx_teardown),
    };
    return hx_run_tests("test_faults", "faults", all, sizeof all / sizeof all[0], argc, argv);
}
