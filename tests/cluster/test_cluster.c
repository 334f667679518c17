/* test_cluster.c - phcoord + phworker + phclient as real processes.
 *
 * One coordinator (random loopback port) and two phworker commands: one on
 * this machine's first node, one with --all-nodes on a synthetic 2-node
 * topology (so two node processes).  Tests submit through phclient and
 * check files, exit codes and the JSON the client prints.  Keys are
 * generated here; nothing from ../shared is needed. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "ph_proto.h"
#include "ph_solver.h"
#include "ph_time.h"
#include "ph_wire.h"

extern char **environ;

#define NFILES 500

static char tmp_root[256];
static char endpoint[256];
static pid_t coord_pid, worker_a_pid, worker_b_pid;

/* ---- small helpers ------------------------------------------------------- */

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void path_of(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(out, len, "%s/", tmp_root);
    va_start(ap, fmt);
    vsnprintf(out + n, len - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Start argv with stdout/stderr to files (NULL = /dev/null). */
static pid_t spawn(char *const argv[], const char *out, const char *errf)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, errf ? errf : "/dev/null",
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

static int wait_exit(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Run to completion; returns the exit code.  out receives stdout. */
static int run(char *const argv[], const char *out)
{
    char errf[512];
    path_of(errf, sizeof errf, "client.stderr");
    pid_t pid = spawn(argv, out, errf);
    assert_true(pid > 0);
    return wait_exit(pid);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static uint64_t rng_state = 0x1234567887654321ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* n unique keys: an odd multiplier and an xor are bijections on uint32. */
static void write_keys(const char *path, uint32_t n, uint32_t salt, bool dup)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = ((i + salt * 7919u) * 2654435761u) ^ salt;
        if (dup && i == n - 1)
            k = ((0 + salt * 7919u) * 2654435761u) ^ salt; /* repeats key 0 */
        fwrite(&k, 4, 1, f);
    }
    fclose(f);
}

static void make_dir(const char *sub)
{
    char p[512];
    path_of(p, sizeof p, "%s", sub);
    assert_int_equal(mkdir(p, 0755), 0);
}

/* Sum of "key":N over the objects after "nodes":[ in a JOB JSON line. */
static uint64_t sum_nodes(const char *json, const char *key)
{
    const char *p = strstr(json, "\"nodes\":[");
    uint64_t sum = 0;
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    while (p && (p = strstr(p, pat)) != NULL) {
        p += strlen(pat);
        sum += strtoull(p, NULL, 10);
    }
    return sum;
}

static uint64_t field(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? strtoull(p + strlen(pat), NULL, 10) : UINT64_MAX;
}

static int count_substr(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, sub)) != NULL; p += strlen(sub))
        n++;
    return n;
}

#define CLIENT(...) ((char *const[]){PHCLIENT_BIN, __VA_ARGS__, "--coordinator", endpoint, NULL})

/* ---- fixture: coordinator + workers ------------------------------------ */

static int workers_registered(void)
{
    char out[512];
    path_of(out, sizeof out, "status.json");
    if (run(CLIENT("status", "--json"), out) != 0)
        return -1;
    char *s = slurp(out);
    int n = s ? count_substr(s, "\"pid\":") : -1;
    free(s);
    return n;
}

/* Start phcoord on bind and learn its endpoint (port * = a free port). */
/* extra: more phcoord arguments, NULL-terminated (or NULL). */
static int start_coord(const char *bind, char *const extra[])
{
    char epf[512], log[512];
    path_of(epf, sizeof epf, "endpoint");
    path_of(log, sizeof log, "coord.log");
    unlink(epf);
    char *argv[32] = {PHCOORD_BIN, "--bind", (char *)bind, "--endpoint-file", epf,
                      "--heartbeat-ms", "100", "--liveness-ms", "1500", "--allow-root",
                      tmp_root, "--log-level", "warn"};
    size_t n = 13;
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    coord_pid = spawn(argv, NULL, log);
    for (int i = 0; i < 200 && !exists(epf); i++)
        sleep_ms(50);
    char *ep = slurp(epf);
    if (coord_pid <= 0 || !ep) {
        free(ep);
        return -1;
    }
    ep[strcspn(ep, "\n")] = '\0';
    snprintf(endpoint, sizeof endpoint, "%s", ep);
    free(ep);
    return 0;
}

static int setup_cluster(void **state)
{
    (void)state;
    snprintf(tmp_root, sizeof tmp_root, "/tmp/phcluster-test-XXXXXX");
    if (!mkdtemp(tmp_root))
        return -1;
    if (start_coord("tcp://127.0.0.1:*", NULL) != 0)
        return -1;
    char log[512];
    path_of(log, sizeof log, "worker-a.log");
    worker_a_pid = spawn((char *const[]){PHWORKER_BIN, "--coordinator", endpoint, "--threads",
                                         "1", "--heartbeat-ms", "100", "--liveness-ms", "1500",
                                         "--log-level", "warn", NULL},
                         NULL, log);
    path_of(log, sizeof log, "worker-b.log");
    worker_b_pid = spawn((char *const[]){PHWORKER_BIN, "--coordinator", endpoint, "--all-nodes",
                                         "--topology", "pack:2 numa:1 core:1 pu:1",
                                         "--heartbeat-ms", "100", "--liveness-ms", "1500",
                                         "--log-level", "warn", NULL},
                         NULL, log);
    /* Worker A + the two node processes of worker B. */
    for (int i = 0; i < 200; i++) {
        if (workers_registered() >= 3)
            return 0;
        sleep_ms(50);
    }
    return -1;
}

/* Wait for pid with a deadline; SIGKILL past it.  Returns the exit code. */
static int reap(pid_t pid, int deadline_ms)
{
    int status;
    for (int t = 0; t < deadline_ms / 20; t++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0)
            return -1;
        sleep_ms(20);
    }
    kill(pid, SIGKILL);
    return wait_exit(pid) + 1000;
}

static int teardown_cluster(void **state)
{
    (void)state;
    int bad = 0;
    /* The coordinator leaves on SHUTDOWN; workers (which would wait for a
     * coordinator to come back) leave on SIGTERM.  All must exit 0: under
     * ASan a leak or error shows up as a non-zero exit here. */
    if (coord_pid > 0) {
        run(CLIENT("shutdown"), NULL);
        int rc = reap(coord_pid, 10000);
        if (rc != 0) {
            fprintf(stderr, "phcoord exited with %d (see its log in %s)\n", rc, tmp_root);
            bad = 1;
        }
    }
    pid_t pids[] = {worker_a_pid, worker_b_pid};
    for (size_t i = 0; i < 2; i++) {
        if (pids[i] <= 0)
            continue;
        kill(pids[i], SIGTERM);
        int rc = reap(pids[i], 10000);
        if (rc != 0) {
            fprintf(stderr, "phworker %ld exited with %d (see its log in %s)\n", (long)pids[i],
                    rc, tmp_root);
            bad = 1;
        }
    }
    if (bad)
        return -1; /* keep tmp_root for the logs */
    char cmd[600];
    snprintf(cmd, sizeof cmd, getenv("PH_KEEP") ? "true %s" : "rm -rf '%s'", tmp_root);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- tests ------------------------------------------------------------- */

/* Make sub/ with nfiles keys files named PREFIX<i, zero-padded to width>SUFFIX,
 * file i holding `keys` keys (plus rng() % spread when spread > 0), salt + i. */
static void make_keys_dir(const char *sub, const char *prefix, int width, const char *suffix,
                          int nfiles, uint32_t keys, uint32_t spread, uint32_t salt)
{
    make_dir(sub);
    for (int i = 0; i < nfiles; i++) {
        char p[512];
        path_of(p, sizeof p, "%s/%s%0*d%s", sub, prefix, width, i, suffix);
        uint32_t n = keys + (spread ? (uint32_t)(rng() % spread) : 0);
        write_keys(p, n, salt + (uint32_t)i, false);
    }
}

static void make_bulk_dir(const char *sub, int nfiles)
{
    make_dir(sub);
    for (int i = 0; i < nfiles; i++) {
        char p[512];
        path_of(p, sizeof p, "%s/t%04d-x.keys", sub, i);
        uint32_t n = 1 + (uint32_t)(rng() % 5000);
        if (i % 100 == 7)
            n = 40000 + (uint32_t)(rng() % 30000); /* a few larger tables */
        write_keys(p, n, (uint32_t)i + 1, false);
    }
}

/* Compile OUT/NAME/NAME.c + NAME_test.c with the system C compiler and run
 * the test; returns its exit code (0 = every key maps to its position). */
static int build_and_run_table(const char *out, const char *name)
{
    char src[600], test[600], exe[600];
    path_of(src, sizeof src, "%s/%s/%s.c", out, name, name);
    path_of(test, sizeof test, "%s/%s/%s_test.c", out, name, name);
    path_of(exe, sizeof exe, "%s/%s/%s_test", out, name, name);
    int rc = run((char *const[]){"/usr/bin/cc", "-O1", "-o", exe, src, test, NULL}, NULL);
    if (rc != 0)
        return 100 + rc;
    return run((char *const[]){exe, NULL}, NULL);
}

/* 500 files, two clients waiting on one token, per-node counts, files. */
static void test_bulk_500(void **state)
{
    (void)state;
    make_bulk_dir("bulk", NFILES);
    char dir[512], out[512], tokf[512], w1[512], w2[512];
    path_of(dir, sizeof dir, "bulk");
    path_of(out, sizeof out, "bulk-out");
    path_of(tokf, sizeof tokf, "token.json");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out, "--no-wait", "--json"), tokf), 0);
    char *tj = slurp(tokf);
    assert_non_null(tj);
    char *t = strstr(tj, "\"token\":\"");
    assert_non_null(t);
    char token[17];
    memcpy(token, t + 9, 16);
    token[16] = '\0';
    free(tj);

    /* Two independent clients wait on the same token. */
    path_of(w1, sizeof w1, "wait1.json");
    path_of(w2, sizeof w2, "wait2.json");
    pid_t p1 = spawn(CLIENT("wait", token, "--json"), w1, NULL);
    pid_t p2 = spawn(CLIENT("wait", token, "--json"), w2, NULL);
    assert_int_equal(wait_exit(p1), 0);
    assert_int_equal(wait_exit(p2), 0);
    char *j1 = slurp(w1), *j2 = slurp(w2);
    assert_non_null(j1);
    assert_non_null(j2);
    assert_non_null(strstr(j1, "\"state\":\"all_succeeded\""));
    assert_non_null(strstr(j2, "\"state\":\"all_succeeded\""));
    assert_int_equal(field(j1, "total"), NFILES);
    assert_int_equal(field(j1, "succeeded"), NFILES);
    assert_int_equal(field(j1, "failed"), 0);
    assert_int_equal(field(j2, "succeeded"), field(j1, "succeeded"));
    assert_int_equal(field(j2, "failed"), field(j1, "failed"));
    /* Per-node counts add up to the total, and the second synthetic node
     * did part of the work. */
    assert_int_equal(sum_nodes(j1, "succeeded") + sum_nodes(j1, "failed"), NFILES);
    assert_non_null(strstr(j1, "/numa1\""));
    free(j1);
    free(j2);

    /* results.csv: header + one ok row per file; every table's C file. */
    char csv[600];
    path_of(csv, sizeof csv, "bulk-out/results.csv");
    char *rows = slurp(csv);
    assert_non_null(rows);
    int lines = count_substr(rows, "\n");
    assert_int_equal(lines, NFILES + 1);
    assert_int_equal(count_substr(rows, ",ok"), NFILES);
    free(rows);
    for (int i = 0; i < NFILES; i++) {
        char c[600];
        path_of(c, sizeof c, "bulk-out/t%04d-x/t%04d-x.c", i, i);
        assert_true(exists(c));
    }
    /* The tables survived the trip worker -> coordinator -> disk intact:
     * build two of them (a small one and a large one) with their own
     * generated test, which checks every key's index. */
    assert_int_equal(build_and_run_table("bulk-out", "t0000-x"), 0);
    assert_int_equal(build_and_run_table("bulk-out", "t0007-x"), 0);
}

static void test_status_json(void **state)
{
    (void)state;
    char out[512];
    path_of(out, sizeof out, "status2.json");
    assert_int_equal(run(CLIENT("status", "--json"), out), 0);
    char *s = slurp(out);
    assert_non_null(s);
    assert_true(count_substr(s, "\"pid\":") >= 3);
    char apid[64];
    snprintf(apid, sizeof apid, "\"pid\":%ld,", (long)worker_a_pid);
    assert_non_null(strstr(s, apid));           /* worker A */
    assert_non_null(strstr(s, "\"numa_node\":1,")); /* worker B's second node */
    free(s);
}

/* The scrape format: one sample per worker and per job, after the bulk job. */
static void test_status_metrics(void **state)
{
    (void)state;
    char out[512];
    path_of(out, sizeof out, "status.prom");
    assert_int_equal(run(CLIENT("status", "--metrics"), out), 0);
    char *s = slurp(out);
    assert_non_null(s);
    assert_non_null(strstr(s, "phcluster_up 1\n"));
    assert_non_null(strstr(s, "# TYPE phcluster_worker_done_total counter\n"));
    assert_true(count_substr(s, "phcluster_worker_threads{host=") >= 3);
    char apid[64];
    snprintf(apid, sizeof apid, ",pid=\"%ld\"}", (long)worker_a_pid);
    assert_non_null(strstr(s, apid));
    assert_non_null(strstr(s, ",state=\"all_succeeded\"} 500\n")); /* the 500-file job */
    free(s);
}

/* Same keys + seed: coordinator and --local give byte-identical tables. */
static void test_create_same_table(void **state)
{
    (void)state;
    char keys[512], o1[512], o2[512], c1[600], c2[600];
    path_of(keys, sizeof keys, "one-777.keys");
    write_keys(keys, 777, 4242, false);
    path_of(o1, sizeof o1, "create-coord");
    path_of(o2, sizeof o2, "create-local");
    assert_int_equal(run(CLIENT("create", keys, "-o", o1, "--seed", "42", "--threads", "1"),
                         NULL), 0);
    assert_int_equal(run((char *const[]){PHCLIENT_BIN, "create", keys, "-o", o2, "--seed", "42",
                                         "--threads", "1", "--local", NULL}, NULL), 0);
    path_of(c1, sizeof c1, "create-coord/one-777/one-777.c");
    path_of(c2, sizeof c2, "create-local/one-777/one-777.c");
    char *a = slurp(c1), *b = slurp(c2);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(strlen(a) > 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* --local: embedded coordinator + workers, same outputs as a cluster. */
static void test_local_bulk(void **state)
{
    (void)state;
    make_keys_dir("lbulk", "l", 2, "-x.keys", 20, 1, 3000, 70000);
    char dir[512], out[512], csv[600], res[512];
    path_of(dir, sizeof dir, "lbulk");
    path_of(out, sizeof out, "lbulk-out");
    path_of(res, sizeof res, "lbulk.json");
    assert_int_equal(run((char *const[]){PHCLIENT_BIN, "bulk-create", dir, "-o", out, "--local",
                                         "--json", NULL}, res), 0);
    char *j = slurp(res);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"state\":\"all_succeeded\""));
    assert_int_equal(field(j, "succeeded"), 20);
    assert_int_equal(sum_nodes(j, "succeeded"), 20);
    free(j);
    path_of(csv, sizeof csv, "lbulk-out/results.csv");
    char *rows = slurp(csv);
    assert_non_null(rows);
    assert_int_equal(count_substr(rows, "\n"), 21);
    assert_int_equal(count_substr(rows, ",ok"), 20);
    free(rows);
    for (int i = 0; i < 20; i++) {
        char c[600];
        path_of(c, sizeof c, "lbulk-out/l%02d-x/l%02d-x.c", i, i);
        assert_true(exists(c));
    }
    /* A bad keys file through --local: one line, non-zero. */
    char bad[512], bout[512];
    path_of(bad, sizeof bad, "empty-0.keys");
    FILE *f = fopen(bad, "wb");
    assert_non_null(f);
    fclose(f);
    path_of(bout, sizeof bout, "lbad-out");
    assert_int_equal(run((char *const[]){PHCLIENT_BIN, "create", bad, "-o", bout, "--local",
                                         NULL}, NULL), 2);
}

static void test_exit_no_keys(void **state)
{
    (void)state;
    make_dir("empty");
    char dir[512], out[512], txt[600];
    path_of(dir, sizeof dir, "empty");
    path_of(txt, sizeof txt, "empty/readme.txt");
    FILE *f = fopen(txt, "w");
    fputs("not keys\n", f);
    fclose(f);
    path_of(out, sizeof out, "empty-out");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out), NULL), 3);
    assert_int_equal(run((char *const[]){PHCLIENT_BIN, "bulk-create", dir, "-o", out, "--local",
                                         NULL}, NULL), 3);
}

static void test_exit_some_failed(void **state)
{
    (void)state;
    make_dir("mixed");
    for (int i = 0; i < 6; i++) {
        char p[512];
        path_of(p, sizeof p, "mixed/m%d-100.keys", i);
        write_keys(p, 100, 9000u + (uint32_t)i, i == 3);
    }
    char odd[512];
    path_of(odd, sizeof odd, "mixed/m6-odd.keys");
    FILE *f = fopen(odd, "wb");
    assert_non_null(f);
    fwrite("abcdefg", 1, 7, f); /* 7 bytes: not a multiple of 4 */
    fclose(f);
    /* A FIFO must be refused (not block the coordinator); a directory
     * named *.keys is not a keys file at all. */
    char fifo[512], sub_dir[512];
    path_of(fifo, sizeof fifo, "mixed/m7-fifo.keys");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    path_of(sub_dir, sizeof sub_dir, "mixed/m8-dir.keys");
    assert_int_equal(mkdir(sub_dir, 0755), 0);
    char dir[512], out[512], csv[600];
    path_of(dir, sizeof dir, "mixed");
    path_of(out, sizeof out, "mixed-out");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out), NULL), 2);
    path_of(csv, sizeof csv, "mixed-out/results.csv");
    char *rows = slurp(csv);
    assert_non_null(rows);
    assert_int_equal(count_substr(rows, "\n"), 9);
    assert_null(strstr(rows, "m8-dir"));
    const char *fifo_row = strstr(rows, "m7-fifo");
    assert_non_null(fifo_row);
    assert_true(strstr(fifo_row, "EINVAL") != NULL &&
                strstr(fifo_row, "EINVAL") < strchr(fifo_row, '\n'));
    const char *bad = strstr(rows, "m3-100");
    assert_non_null(bad);
    const char *eol = strchr(bad, '\n');
    assert_non_null(eol);
    const char *edup = strstr(bad, "EDUP");
    assert_true(edup != NULL && edup < eol);
    const char *odd_row = strstr(rows, "m6-odd");
    assert_non_null(odd_row);
    eol = strchr(odd_row, '\n');
    assert_non_null(eol);
    const char *einval = strstr(odd_row, "EINVAL");
    assert_true(einval != NULL && einval < eol);
    assert_int_equal(count_substr(rows, ",ok"), 5);
    free(rows);
}

static void test_exit_unreachable(void **state)
{
    (void)state;
    /* Port 1 on loopback: nothing listens there for an unprivileged test. */
    char *const argv[] = {PHCLIENT_BIN, "ping", "--coordinator", "tcp://127.0.0.1:1", NULL};
    assert_int_equal(run(argv, NULL), 4);
}

/* A worker that freezes mid-job is dropped after liveness; its tasks are
 * requeued to the others and the job still gets exactly one result per
 * file.  Its late results after SIGCONT are discarded, not double-counted. */
static void test_frozen_worker_requeued(void **state)
{
    (void)state;
    char log[512];
    path_of(log, sizeof log, "worker-c.log");
    /* Each of its tasks sleeps 1 s first: whatever it was given at submit
     * time, it still holds when it is frozen. */
    pid_t c = spawn((char *const[]){PHWORKER_BIN, "--coordinator", endpoint, "--threads", "1",
                                    "--task-delay-ms", "1000", "--heartbeat-ms", "100",
                                    "--liveness-ms", "1500", "--log-level", "warn", NULL},
                    NULL, log);
    assert_true(c > 0);
    for (int i = 0; i < 200 && workers_registered() < 4; i++)
        sleep_ms(50);
    assert_int_equal(workers_registered(), 4);
    make_keys_dir("frozen", "f", 3, "-x.keys", 120, 5000, 15000, 50000);
    char dir[512], out[512], tokf[512], res[512];
    path_of(dir, sizeof dir, "frozen");
    path_of(out, sizeof out, "frozen-out");
    path_of(tokf, sizeof tokf, "frozen-token");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out, "--no-wait"), tokf), 0);
    kill(c, SIGSTOP); /* holds its credits' worth of tasks, all sleeping */
    /* The coordinator drops it after liveness (it stops answering). */
    char cpid[64];
    snprintf(cpid, sizeof cpid, "\"pid\":%ld,", (long)c);
    bool dropped = false;
    for (int i = 0; i < 400 && !dropped; i++) {
        char st[512];
        path_of(st, sizeof st, "frozen-status.json");
        if (run(CLIENT("status", "--json"), st) == 0) {
            char *s = slurp(st);
            dropped = s && !strstr(s, cpid);
            free(s);
        }
        if (!dropped)
            sleep_ms(50);
    }
    assert_true(dropped);
    /* Late results after it wakes up must be discarded, not counted. */
    kill(c, SIGCONT);
    char *tok = slurp(tokf);
    assert_non_null(tok);
    tok[strcspn(tok, "\n")] = '\0';
    path_of(res, sizeof res, "frozen.json");
    assert_int_equal(run(CLIENT("wait", tok, "--json"), res), 0);
    char *j = slurp(res);
    assert_non_null(j);
    assert_int_equal(field(j, "succeeded"), 120);
    assert_int_equal(field(j, "failed"), 0);
    assert_int_equal(sum_nodes(j, "succeeded") + sum_nodes(j, "failed"), 120);
    free(j);
    free(tok);
    /* The coordinator logged the drop with a non-zero requeue count. */
    char clog[512];
    path_of(clog, sizeof clog, "coord.log");
    char *l = slurp(clog);
    assert_non_null(l);
    const char *rq = strstr(l, "requeued=");
    bool requeued = false;
    for (; rq && !requeued; rq = strstr(rq + 1, "requeued="))
        requeued = rq[9] >= '1' && rq[9] <= '9';
    assert_true(requeued);
    free(l);
    kill(c, SIGTERM);
    assert_int_equal(wait_exit(c), 0);
}

/* phcoord goes away and comes back on the same endpoint: the workers
 * notice the silence, reconnect with backoff and serve the new one. */
static void test_coordinator_restart(void **state)
{
    (void)state;
    assert_int_equal(run(CLIENT("shutdown"), NULL), 0);
    assert_int_equal(reap(coord_pid, 10000), 0);
    coord_pid = -1;
    char bind[256];
    snprintf(bind, sizeof bind, "%s", endpoint);
    assert_int_equal(start_coord(bind, NULL), 0);
    int n = 0;
    for (int i = 0; i < 400 && (n = workers_registered()) < 3; i++)
        sleep_ms(50);
    assert_int_equal(n, 3);
    make_dir("again");
    for (int i = 0; i < 10; i++) {
        char p[512];
        path_of(p, sizeof p, "again/a%d-x.keys", i);
        write_keys(p, 100 + (uint32_t)i, 80000u + (uint32_t)i, false);
    }
    char dir[512], out[512];
    path_of(dir, sizeof dir, "again");
    path_of(out, sizeof out, "again-out");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out), NULL), 0);
}

/* ---- a scripted worker: speaks the protocol from the test itself ------- */

typedef struct fake_worker {
    void *ctx, *sock;
} fake_worker;

static void fake_open(fake_worker *f, const char *ep, const char *id)
{
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

static void fake_close(fake_worker *f)
{
    zmq_close(f->sock);
    zmq_ctx_term(f->ctx);
}

static void fake_send(fake_worker *f, const ph_msg *m)
{
    ph_err err = {0};
    assert_int_equal(ph_wire_send_wait(f->sock, m, 5000, &err), 0);
}

static void fake_ready_credits(fake_worker *f, uint32_t threads, uint32_t credits)
{
    ph_msg m = {.type = PH_MSG_READY};
    m.u.ready.host = ph_bytes_str("fakehost");
    m.u.ready.pid = 1;
    m.u.ready.numa_node = 7;
    m.u.ready.threads = threads;
    m.u.ready.credits = credits;
    fake_send(f, &m);
}

static void fake_ready(fake_worker *f) { fake_ready_credits(f, 1, 1); }

/* Keys of the last TASK the scripted workers took (they solve them). */
static uint32_t fake_keys[4096];
static uint32_t fake_nkeys;

/* Wait (deadline 20 s) for a message of `type`, skipping anything else;
 * decoded into *m, whose views point into *fr: free both when done. */
static void fake_recv(fake_worker *f, ph_msg_type type, ph_msg *m, zmq_msg_t *fr)
{
    uint64_t deadline = ph_time_ms() + 20000;
    while (ph_time_ms() < deadline) {
        zmq_pollitem_t it = {f->sock, 0, ZMQ_POLLIN, 0};
        assert_true(zmq_poll(&it, 1, 100) >= 0);
        if (!(it.revents & ZMQ_POLLIN))
            continue;
        zmq_msg_init(fr);
        assert_true(zmq_msg_recv(fr, f->sock, 0) >= 0);
        ph_err err = {0};
        assert_int_equal(ph_msg_decode(zmq_msg_data(fr), zmq_msg_size(fr), m, &err), 0);
        if (m->type == type)
            return;
        ph_msg_free(m);
        zmq_msg_close(fr);
    }
    fail_msg("no message of type %d reached the scripted worker", (int)type);
}

/* Wait for a TASK; copies its ids, table name and keys (to fake_keys). */
static void fake_take_task(fake_worker *f, uint64_t *job, uint64_t *task, char *name, size_t len)
{
    ph_msg m;
    zmq_msg_t fr;
    ph_err err = {0};
    fake_recv(f, PH_MSG_TASK, &m, &fr);
    *job = m.u.task.job_id;
    *task = m.u.task.task_id;
    assert_int_equal(ph_bytes_cstr(m.u.task.name, name, len, &err), 0);
    assert_true(m.u.task.keys.n % 4 == 0 && m.u.task.keys.n <= sizeof fake_keys);
    memcpy(fake_keys, m.u.task.keys.p, m.u.task.keys.n);
    fake_nkeys = m.u.task.keys.n / 4;
    ph_msg_free(&m);
    zmq_msg_close(&fr);
}

/* Ways a scripted worker's table can be wrong. */
enum fake_lie { LIE_NONE, LIE_VALUES, LIE_SHAPE, LIE_HEADER };

/* A successful RESULT for the last TASK taken: its keys solved from start
 * seed `seed`, then falsified as `lie` says.  Returns the table's first
 * seed (it appears in the generated .c file). */
static uint32_t fake_result(fake_worker *f, uint64_t job, uint64_t task, uint64_t seed,
                            enum fake_lie lie)
{
    ph_solve_opts o;
    ph_solve_opts_init(&o);
    o.seed = seed;
    o.hash = PH_HASH_MIX;
    ph_table t = {0};
    ph_err err = {0};
    assert_int_equal(ph_solve(fake_keys, fake_nkeys, &o, &t, &err), 0);
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

static bool worker_listed(const char *id)
{
    char out[512], pat[128];
    path_of(out, sizeof out, "status-fake.json");
    if (run(CLIENT("status", "--json"), out) != 0)
        return false;
    char *s = slurp(out);
    snprintf(pat, sizeof pat, "\"id\":\"%s\"", id);
    bool listed = s && strstr(s, pat);
    free(s);
    return listed;
}

/* Connect a scripted worker as `id`, send READY, wait until status lists it. */
static void fake_join(fake_worker *f, const char *id, uint32_t threads, uint32_t credits)
{
    fake_open(f, endpoint, id);
    fake_ready_credits(f, threads, credits);
    for (int i = 0; i < 200 && !worker_listed(id); i++)
        sleep_ms(50);
    assert_true(worker_listed(id));
}

static char *job_token(const char *json_path)
{
    char *tj = slurp(json_path);
    assert_non_null(tj);
    char *t = strstr(tj, "\"token\":\"");
    assert_non_null(t);
    char *token = strndup(t + 9, 16);
    free(tj);
    return token;
}

/* PING and wait for the PONG (deadline 20 s), skipping anything else. */
static void fake_ping(fake_worker *f)
{
    ph_msg ping = {.type = PH_MSG_PING};
    fake_send(f, &ping);
    ph_msg m;
    zmq_msg_t fr;
    fake_recv(f, PH_MSG_PONG, &m, &fr);
    ph_msg_free(&m);
    zmq_msg_close(&fr);
}

static void fake_heartbeat(fake_worker *f)
{
    ph_msg m = {.type = PH_MSG_HEARTBEAT};
    m.u.heartbeat.running = 1;
    fake_send(f, &m);
}

/* The scripted tests get a coordinator of their own, so the scripted
 * workers get every task; these swap it in and out. */
static pid_t saved_pid;
static char saved_ep[256];

static void own_coord_start_args(char *const extra[])
{
    saved_pid = coord_pid;
    snprintf(saved_ep, sizeof saved_ep, "%s", endpoint);
    assert_int_equal(start_coord("tcp://127.0.0.1:*", extra), 0);
}

static void own_coord_start(void) { own_coord_start_args(NULL); }

static void own_coord_stop(void)
{
    assert_int_equal(run(CLIENT("shutdown"), NULL), 0);
    assert_int_equal(reap(coord_pid, 10000), 0);
    coord_pid = saved_pid;
    snprintf(endpoint, sizeof endpoint, "%s", saved_ep);
}

/* Worker 1 takes a task and goes silent; it is dropped and the task goes
 * to worker 2.  Worker 1 comes back (READY, new serial) and delivers its
 * old result while worker 2 still holds the task: that result must be
 * discarded, and worker 2's is the one written. */
static void test_late_result_discarded(void **state)
{
    (void)state;
    own_coord_start();
    fake_worker f1, f2;
    fake_join(&f1, "fake-one", 1, 1);
    fake_join(&f2, "fake-two", 1, 1);
    make_keys_dir("late", "z", 0, "-x.keys", 2, 50, 0, 90000);
    char dir[512], out[512], tokf[512], res[512];
    path_of(dir, sizeof dir, "late");
    path_of(out, sizeof out, "late-out");
    path_of(tokf, sizeof tokf, "late-token.json");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out, "--no-wait", "--json"), tokf), 0);
    /* One credit each: one task each. */
    uint64_t job1, task1, job2, task2;
    char name1[256], name2[256], p1[600], p2[600];
    fake_take_task(&f1, &job1, &task1, name1, sizeof name1);
    fake_take_task(&f2, &job2, &task2, name2, sizeof name2);
    assert_true(task1 != task2);
    snprintf(p1, sizeof p1, "%s/%s.c", name1, name1);
    snprintf(p2, sizeof p2, "%s/%s.c", name2, name2);
    uint32_t keys1[4096], n1 = 0;
    (void)p2;
    fake_result(&f2, job2, task2, 1, LIE_NONE);
    /* Worker 1 silent past liveness (worker 2 keeps heartbeating). */
    bool dropped = false;
    for (int i = 0; i < 400 && !dropped; i++) {
        fake_heartbeat(&f2);
        dropped = !worker_listed("fake-one");
        if (!dropped)
            sleep_ms(50);
    }
    assert_true(dropped);
    uint64_t job3, task3;
    char name3[256];
    fake_take_task(&f2, &job3, &task3, name3, sizeof name3); /* the requeued one */
    assert_true(job3 == job1 && task3 == task1);
    n1 = fake_nkeys;
    memcpy(keys1, fake_keys, sizeof keys1);
    fake_ready(&f1);
    uint32_t stale = fake_result(&f1, job1, task1, 1000, LIE_NONE);
    fake_ping(&f1); /* one connection is ordered: the RESULT was handled */
    memcpy(fake_keys, keys1, sizeof keys1);
    fake_nkeys = n1;
    uint32_t good = fake_result(&f2, job3, task3, 2000, LIE_NONE);
    assert_true(stale != good);
    char *token = job_token(tokf);
    path_of(res, sizeof res, "late.json");
    assert_int_equal(run(CLIENT("wait", token, "--json"), res), 0);
    char *j = slurp(res);
    assert_non_null(j);
    assert_int_equal(field(j, "succeeded"), 2);
    assert_int_equal(sum_nodes(j, "succeeded"), 2);
    free(j);
    free(token);
    char cfile[700];
    path_of(cfile, sizeof cfile, "late-out/%s", p1);
    char *c = slurp(cfile);
    assert_non_null(c);
    char want[32], unwanted[32];
    snprintf(want, sizeof want, "seeds=0x%08x,", good);
    snprintf(unwanted, sizeof unwanted, "seeds=0x%08x,", stale);
    assert_non_null(strstr(c, want));
    assert_null(strstr(c, unwanted));
    free(c);
    fake_close(&f1);
    fake_close(&f2);
    own_coord_stop();
}

/* A worker is not trusted with what lands on disk: a table that fails
 * verification, has the wrong shape for its key count, or disagrees with
 * the RESULT's own header fails the task, and no file of it is written. */
static void test_bad_table_refused(void **state)
{
    (void)state;
    own_coord_start();
    fake_worker f;
    fake_open(&f, endpoint, "fake-liar");
    fake_ready(&f);
    const struct { enum fake_lie lie; const char *error; } cases[] = {
        {LIE_VALUES, "fails verification"},
        {LIE_SHAPE, "RESULT.table"},
        {LIE_HEADER, "RESULT.keys: does not match RESULT.table"},
    };
    char keys[512], out[512];
    path_of(keys, sizeof keys, "p-3.keys");
    write_keys(keys, 300, 123, false);
    path_of(out, sizeof out, "liar/out");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char res[512], errf[512];
        path_of(res, sizeof res, "liar-%zu.out", i);
        path_of(errf, sizeof errf, "liar-%zu.err", i);
        pid_t cl = spawn(CLIENT("create", keys, "-o", out), res, errf);
        uint64_t job, task;
        char name[256];
        fake_take_task(&f, &job, &task, name, sizeof name);
        fake_result(&f, job, task, 7, cases[i].lie);
        assert_int_equal(wait_exit(cl), 2);
        char *o = slurp(res), *e = slurp(errf);
        bool said = (o && strstr(o, cases[i].error)) || (e && strstr(e, cases[i].error));
        if (!said)
            fail_msg("case %zu: '%s' not reported (out '%s', err '%s')", i, cases[i].error,
                     o ? o : "", e ? e : "");
        free(o);
        free(e);
    }
    char p[600];
    path_of(p, sizeof p, "liar/out/p-3/p-3.c");
    assert_false(exists(p));
    path_of(p, sizeof p, "liar/out/p-3");
    assert_false(exists(p));
    path_of(p, sizeof p, "liar/out/results.csv");
    char *rows = slurp(p);
    assert_non_null(rows);
    assert_non_null(strstr(rows, "EPROTO"));
    free(rows);
    fake_close(&f);
    own_coord_stop();
}

/* TASKs that reach f until none has come for quiet_ms, waiting first_ms
 * for the first; their keys bytes are added up in *bytes.  f heartbeats
 * meanwhile: it answers nothing, and must not be dropped as silent. */
static int fake_count_tasks(fake_worker *f, int first_ms, int quiet_ms, uint64_t *bytes)
{
    int n = 0;
    *bytes = 0;
    uint64_t until = ph_time_ms() + (uint64_t)first_ms;
    for (;;) {
        fake_heartbeat(f);
        if (ph_time_ms() >= until)
            return n;
        zmq_pollitem_t it = {f->sock, 0, ZMQ_POLLIN, 0};
        assert_true(zmq_poll(&it, 1, 100) >= 0);
        if (!(it.revents & ZMQ_POLLIN))
            continue;
        zmq_msg_t fr;
        ph_msg m;
        ph_err err = {0};
        zmq_msg_init(&fr);
        assert_true(zmq_msg_recv(&fr, f->sock, 0) >= 0);
        assert_int_equal(ph_msg_decode(zmq_msg_data(&fr), zmq_msg_size(&fr), &m, &err), 0);
        if (m.type == PH_MSG_TASK) {
            n++;
            *bytes += m.u.task.keys.n;
            until = ph_time_ms() + (uint64_t)quiet_ms;
        }
        ph_msg_free(&m);
        zmq_msg_close(&fr);
    }
}

/* Prefetch (coordinator/coord.c): past its threads, a worker is sent tasks
 * only once its pace is known, for --prefetch-ms of work at that pace, and
 * while the keys it holds total under 1 MiB.  Threads 1, credits 64, and a
 * --prefetch-ms so long that credits and bytes are what bind:
 *   ten 50-key files: one task (pace unknown); once it is answered, the
 *   other nine (credits allow);
 *   then four files of 140,000 keys (560,000 bytes): two go (held: 1,800
 *   bytes, then 561,800, both under 1 MiB), and no more. */
static void test_prefetch(void **state)
{
    (void)state;
    own_coord_start_args((char *const[]){"--prefetch-ms", "1000000", NULL});
    fake_worker f;
    fake_join(&f, "fake-greedy", 1, 64);
    make_keys_dir("pf-big", "b", 0, "-140000.keys", 4, 140000, 0, 300);
    make_keys_dir("pf-small", "s", 0, "-50.keys", 10, 50, 0, 400);
    char dir[512], out[512];
    uint64_t bytes, job, task;
    char name[256];
    path_of(dir, sizeof dir, "pf-small");
    path_of(out, sizeof out, "pf-small-out");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out, "--no-wait"), NULL), 0);
    fake_take_task(&f, &job, &task, name, sizeof name);
    assert_int_equal(fake_count_tasks(&f, 500, 500, &bytes), 0);
    fake_result(&f, job, task, 1, LIE_NONE);
    assert_int_equal(fake_count_tasks(&f, 20000, 500, &bytes), 9);
    assert_int_equal(bytes, 9 * 50 * 4);
    path_of(dir, sizeof dir, "pf-big");
    path_of(out, sizeof out, "pf-big-out");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out, "--no-wait"), NULL), 0);
    assert_int_equal(fake_count_tasks(&f, 20000, 500, &bytes), 2);
    assert_int_equal(bytes, 2 * 140000 * 4);
    fake_close(&f);
    own_coord_stop();
}

/* The coordinator verifies and writes a table against the keys it sent,
 * kept from dispatch: the keys file changing meanwhile does not matter
 * (it is not read again). */
static void test_keys_read_once(void **state)
{
    (void)state;
    own_coord_start();
    fake_worker f;
    fake_join(&f, "fake-once", 1, 1);
    make_dir("once");
    char keys[512], dir[512], out[512], tokf[512], res[512];
    path_of(keys, sizeof keys, "once/k-200.keys");
    write_keys(keys, 200, 555, false);
    path_of(dir, sizeof dir, "once");
    path_of(out, sizeof out, "once-out");
    path_of(tokf, sizeof tokf, "once-token.json");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out, "--no-wait", "--json"), tokf), 0);
    uint64_t job, task;
    char name[256];
    fake_take_task(&f, &job, &task, name, sizeof name);
    assert_int_equal(fake_nkeys, 200);
    write_keys(keys, 300, 556, false); /* other keys, other count */
    uint32_t seed = fake_result(&f, job, task, 5, LIE_NONE);
    char *token = job_token(tokf);
    path_of(res, sizeof res, "once.json");
    assert_int_equal(run(CLIENT("wait", token, "--json"), res), 0);
    char *j = slurp(res);
    assert_non_null(j);
    assert_int_equal(field(j, "succeeded"), 1);
    free(j);
    free(token);
    char cfile[600], want[32];
    path_of(cfile, sizeof cfile, "once-out/k-200/k-200.c");
    char *c = slurp(cfile);
    assert_non_null(c);
    snprintf(want, sizeof want, "seeds=0x%08x,", seed);
    assert_non_null(strstr(c, want));
    free(c);
    fake_close(&f);
    own_coord_stop();
}

static void test_usage_errors(void **state)
{
    (void)state;
    assert_int_equal(run((char *const[]){PHCLIENT_BIN, "frobnicate", NULL}, NULL), 1);
    assert_int_equal(run((char *const[]){PHCLIENT_BIN, "create", "x.keys", NULL}, NULL), 1);
    assert_int_equal(run((char *const[]){PHCLIENT_BIN, "--help", NULL}, NULL), 0);
    assert_int_equal(run((char *const[]){PHCOORD_BIN, "--liveness-ms", "abc", NULL}, NULL), 1);
    assert_int_equal(run((char *const[]){PHWORKER_BIN, "--threads", "2", NULL}, NULL), 1);
}

/* argv[1] (optional): comma-separated test names, so ctest can run each
 * group as its own test (each with its own cluster, well under 60 s). */
static bool selected(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n))
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest all[] = {
        cmocka_unit_test(test_bulk_500),
        cmocka_unit_test(test_status_json),
        cmocka_unit_test(test_status_metrics),
        cmocka_unit_test(test_create_same_table),
        cmocka_unit_test(test_local_bulk),
        cmocka_unit_test(test_exit_no_keys),
        cmocka_unit_test(test_exit_some_failed),
        cmocka_unit_test(test_exit_unreachable),
        cmocka_unit_test(test_frozen_worker_requeued),
        cmocka_unit_test(test_late_result_discarded),
        cmocka_unit_test(test_bad_table_refused),
        cmocka_unit_test(test_prefetch),
        cmocka_unit_test(test_keys_read_once),
        cmocka_unit_test(test_coordinator_restart),
        cmocka_unit_test(test_usage_errors),
    };
    struct CMUnitTest chosen[sizeof all / sizeof all[0]];
    size_t n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (argc < 2 || selected(argv[1], all[i].name))
            chosen[n++] = all[i];
    if (n == 0) {
        fprintf(stderr, "test_cluster: no test matches '%s'\n", argv[1]);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    unsetenv("PHCLUSTER_COORDINATOR"); /* tests name their endpoint explicitly */
    return _cmocka_run_group_tests(argc < 2 ? "cluster" : argv[1], chosen, n, setup_cluster,
                                   teardown_cluster);
}
