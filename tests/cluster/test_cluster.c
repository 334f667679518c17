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
static int start_coord(const char *bind)
{
    char epf[512], log[512];
    path_of(epf, sizeof epf, "endpoint");
    path_of(log, sizeof log, "coord.log");
    unlink(epf);
    coord_pid = spawn((char *const[]){PHCOORD_BIN, "--bind", (char *)bind, "--endpoint-file",
                                      epf, "--heartbeat-ms", "100", "--liveness-ms", "1500",
                                      "--log-level", "warn", NULL},
                      NULL, log);
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
    if (start_coord("tcp://127.0.0.1:*") != 0)
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
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- tests ------------------------------------------------------------- */

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
    make_dir("lbulk");
    for (int i = 0; i < 20; i++) {
        char p[512];
        path_of(p, sizeof p, "lbulk/l%02d-x.keys", i);
        write_keys(p, 1 + (uint32_t)(rng() % 3000), 70000u + (uint32_t)i, false);
    }
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
    char dir[512], out[512], csv[600];
    path_of(dir, sizeof dir, "mixed");
    path_of(out, sizeof out, "mixed-out");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out), NULL), 2);
    path_of(csv, sizeof csv, "mixed-out/results.csv");
    char *rows = slurp(csv);
    assert_non_null(rows);
    assert_int_equal(count_substr(rows, "\n"), 8);
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
    make_dir("frozen");
    for (int i = 0; i < 120; i++) {
        char p[512];
        path_of(p, sizeof p, "frozen/f%03d-x.keys", i);
        write_keys(p, 5000 + (uint32_t)(rng() % 15000), 50000u + (uint32_t)i, false);
    }
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
    assert_int_equal(start_coord(bind), 0);
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
        cmocka_unit_test(test_create_same_table),
        cmocka_unit_test(test_local_bulk),
        cmocka_unit_test(test_exit_no_keys),
        cmocka_unit_test(test_exit_some_failed),
        cmocka_unit_test(test_exit_unreachable),
        cmocka_unit_test(test_frozen_worker_requeued),
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
