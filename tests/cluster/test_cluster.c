/* test_cluster.c - phcoord + phworker + phclient as real processes.
 *
 * One coordinator (random loopback port) and two phworker commands: one on
 * this machine's first node, one with --all-nodes on a synthetic 2-node
 * topology (so two node processes).  Tests submit through phclient and
 * check files, exit codes and the JSON the client prints.  Keys are
 * generated here; nothing from ../shared is needed. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_worker.h"
#include "harness.h"

#define NFILES 500

static pid_t worker_a_pid;

/* ---- helpers ----------------------------------------------------------- */

static uint64_t rng_state = 0x1234567887654321ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void make_dir(const char *sub) { hx_mkdir(hx_path("%s", sub)); }

/* The token of the job JSON in the file at json_path (the caller frees). */
static char *job_token(const char *json_path)
{
    char *tj = hx_slurp(json_path);
    assert_non_null(tj);
    char *t = strstr(tj, "\"token\":\"");
    assert_non_null(t);
    char *token = strndup(t + 9, 16);
    free(tj);
    return token;
}

/* The file at path holds text. */
static void file_has(const char *path, const char *text)
{
    char *s = hx_slurp(path);
    assert_non_null(s);
    if (!strstr(s, text))
        fail_msg("%s: no \"%s\" in:\n%s", path, text, s);
    free(s);
}

/* The file at path (a phclient's stderr) is one line holding text. */
static void one_line_has(const char *path, const char *text)
{
    file_has(path, text);
    char *s = hx_slurp(path);
    assert_int_equal(hx_count(s, "\n"), 1);
    free(s);
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

#define CLIENT(...) ((char *const[]){(char *)hx_client_bin, __VA_ARGS__, "--coordinator", \
                                     (char *)hx_endpoint(), NULL})

/* Run argv to completion (a hang fails it); stdout to out (NULL: none). */
static int run(char *const argv[], const char *out)
{
    char err[1024];
    hx_path_buf(err, sizeof err, "client.stderr");
    return hx_wait(hx_spawn_argv(argv, out, err), HX_HANG_MS);
}

/* Wait for client pid (a `wait`) while its job makes progress: tables keep
 * appearing under out.  Under load a big job can take far longer than any
 * fixed deadline; only a job that stops making progress for HX_HANG_MS (or
 * the test's budget) is a hang: then the client is killed (HX_TIMEOUT). */
static int wait_while_progress(pid_t pid, const char *out)
{
    int seen = -1;
    uint64_t moved = hx_now_ms(), budget = hx_deadline(10 * HX_HANG_MS);
    while (hx_alive(pid) && hx_now_ms() < budget) {
        int n = hx_count_names(out, ".c");
        if (n != seen) {
            seen = n;
            moved = hx_now_ms();
        } else if (hx_now_ms() - moved > HX_HANG_MS) {
            fprintf(stderr, "no table for %d ms (%d files so far)\n", HX_HANG_MS, n);
            break;
        }
        hx_sleep_ms(250);
    }
    return hx_wait(pid, 0); /* exited: its status; still running: killed */
}

/* ---- fixture: coordinator + workers ------------------------------------ */

/* Start phcoord on bind (port * = a free port) with the test's temp dir as
 * its root, plus extra arguments (NULL-terminated, or NULL). */
static int start_coord(const char *bind, char *const extra[])
{
    hx_args a = {0};
    hx_args_add(&a, "--allow-root", hx_root(), NULL);
    for (size_t i = 0; extra && extra[i]; i++)
        hx_args_add(&a, extra[i], NULL);
    return hx_coord_start(bind, &a, NULL, "coord.log");
}

/* One coordinator and two phworker commands: one with a thread on this
 * machine's first node, one with --all-nodes on a synthetic 2-node
 * topology (two node processes).  The coordinator is on a port of its own
 * (hx_coord_start_port): test_coordinator_restart brings it back there
 * while the workers reconnect, and a port the kernel picked could be
 * handed to one of their connections (or another test's) meanwhile. */
static int setup_cluster(void **state)
{
    static char bind[64];
    if (hx_setup(state) != 0)
        return -1;
    hx_args c = {0};
    hx_args_add(&c, "--allow-root", hx_root(), NULL);
    if (hx_coord_start_port(bind, sizeof bind, &c, NULL, "coord.log") != 0)
        return -1;
    hx_args a = {0}, b = {0};
    hx_args_add(&a, "--threads", "1", NULL);
    worker_a_pid = hx_worker_start(&a, "worker-a.log");
    hx_args_add(&b, "--all-nodes", "--topology", "pack:2 numa:1 core:1 pu:1", NULL);
    hx_worker_start(&b, "worker-b.log");
    return hx_wait_workers(3, HX_HANG_MS) ? 0 : -1;
}

static int teardown_cluster(void **state) { return hx_teardown(state); }

/* ---- tests ------------------------------------------------------------- */

/* Make sub/ with nfiles keys files named PREFIX<i, zero-padded to width>SUFFIX,
 * file i holding `keys` keys (plus rng() % spread when spread > 0), salt + i. */
static void make_keys_dir(const char *sub, const char *prefix, int width, const char *suffix,
                          int nfiles, uint32_t keys, uint32_t spread, uint32_t salt)
{
    make_dir(sub);
    for (int i = 0; i < nfiles; i++) {
        char p[512];
        hx_path_buf(p, sizeof p, "%s/%s%0*d%s", sub, prefix, width, i, suffix);
        uint32_t n = keys + (spread ? (uint32_t)(rng() % spread) : 0);
        hx_write_keys(p, n, salt + (uint32_t)i, false);
    }
}

static void make_bulk_dir(const char *sub, int nfiles)
{
    make_dir(sub);
    for (int i = 0; i < nfiles; i++) {
        char p[512];
        hx_path_buf(p, sizeof p, "%s/t%04d-x.keys", sub, i);
        uint32_t n = 1 + (uint32_t)(rng() % 5000);
        if (i % 100 == 7)
            n = 40000 + (uint32_t)(rng() % 30000); /* a few larger tables */
        hx_write_keys(p, n, (uint32_t)i + 1, false);
    }
}

/* Compile OUT/NAME/NAME.c + NAME_test.c with the system C compiler and run
 * the test; returns its exit code (0 = every key maps to its position). */
static int build_and_run_table(const char *out, const char *name)
{
    char src[600], test[600], exe[600];
    hx_path_buf(src, sizeof src, "%s/%s/%s.c", out, name, name);
    hx_path_buf(test, sizeof test, "%s/%s/%s_test.c", out, name, name);
    hx_path_buf(exe, sizeof exe, "%s/%s/%s_test", out, name, name);
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
    hx_path_buf(dir, sizeof dir, "bulk");
    hx_path_buf(out, sizeof out, "bulk-out");
    hx_path_buf(tokf, sizeof tokf, "token.json");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out, "--no-wait", "--json"), tokf), 0);
    char *token = job_token(tokf);

    /* Two independent clients wait on the same token. */
    hx_path_buf(w1, sizeof w1, "wait1.json");
    hx_path_buf(w2, sizeof w2, "wait2.json");
    pid_t p1 = hx_spawn_argv(CLIENT("wait", token, "--json"), w1, NULL);
    pid_t p2 = hx_spawn_argv(CLIENT("wait", token, "--json"), w2, NULL);
    assert_int_equal(wait_while_progress(p1, out), 0);
    assert_int_equal(hx_wait(p2, HX_HANG_MS), 0);
    char *j1 = hx_slurp(w1), *j2 = hx_slurp(w2);
    assert_non_null(j1);
    assert_non_null(j2);
    assert_non_null(strstr(j1, "\"state\":\"all_succeeded\""));
    assert_non_null(strstr(j2, "\"state\":\"all_succeeded\""));
    assert_int_equal(hx_field(j1, "total"), NFILES);
    assert_int_equal(hx_field(j1, "succeeded"), NFILES);
    assert_int_equal(hx_field(j1, "failed"), 0);
    assert_int_equal(hx_field(j2, "succeeded"), hx_field(j1, "succeeded"));
    assert_int_equal(hx_field(j2, "failed"), hx_field(j1, "failed"));
    /* Per-node counts add up to the total, and the second synthetic node
     * did part of the work. */
    assert_int_equal(sum_nodes(j1, "succeeded") + sum_nodes(j1, "failed"), NFILES);
    assert_non_null(strstr(j1, "/numa1\""));
    free(j1);
    free(j2);
    free(token);

    /* results.csv: header + one ok row per file; every table's C file. */
    char csv[600];
    hx_path_buf(csv, sizeof csv, "bulk-out/results.csv");
    char *rows = hx_slurp(csv);
    assert_non_null(rows);
    int lines = hx_count(rows, "\n");
    assert_int_equal(lines, NFILES + 1);
    assert_int_equal(hx_count(rows, ",ok"), NFILES);
    free(rows);
    for (int i = 0; i < NFILES; i++) {
        char c[600];
        hx_path_buf(c, sizeof c, "bulk-out/t%04d-x/t%04d-x.c", i, i);
        assert_true(hx_exists(c));
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
    hx_path_buf(out, sizeof out, "status2.json");
    assert_int_equal(run(CLIENT("status", "--json"), out), 0);
    char *s = hx_slurp(out);
    assert_non_null(s);
    assert_true(hx_count(s, "\"pid\":") >= 3);
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
    hx_path_buf(out, sizeof out, "status.prom");
    assert_int_equal(run(CLIENT("status", "--metrics"), out), 0);
    char *s = hx_slurp(out);
    assert_non_null(s);
    assert_non_null(strstr(s, "phcluster_up 1\n"));
    assert_non_null(strstr(s, "# TYPE phcluster_worker_done_total counter\n"));
    assert_true(hx_count(s, "phcluster_worker_threads{host=") >= 3);
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
    hx_path_buf(keys, sizeof keys, "one-777.keys");
    hx_write_keys(keys, 777, 4242, false);
    hx_path_buf(o1, sizeof o1, "create-coord");
    hx_path_buf(o2, sizeof o2, "create-local");
    assert_int_equal(run(CLIENT("create", keys, "-o", o1, "--seed", "42", "--threads", "1"),
                         NULL), 0);
    assert_int_equal(run((char *const[]){(char *)hx_client_bin, "create", keys, "-o", o2, "--seed", "42",
                                         "--threads", "1", "--local", NULL}, NULL), 0);
    hx_path_buf(c1, sizeof c1, "create-coord/one-777/one-777.c");
    hx_path_buf(c2, sizeof c2, "create-local/one-777/one-777.c");
    char *a = hx_slurp(c1), *b = hx_slurp(c2);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(strlen(a) > 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* n 64-bit keys, little-endian: odd positions differ from each other only
 * in the high 32 bits, even ones are spread over all 64; dup: the last key
 * repeats the first. */
static void write_keys64(const char *path, uint32_t n, bool dup)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t first = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t k = i % 2 ? (uint64_t)(i / 2 + 1) << 32 | 77u : rng() | 1ull << 63;
        if (i == 0)
            first = k;
        if (dup && i + 1 == n)
            k = first;
        for (int b = 0; b < 8; b++)
            assert_int_equal(fputc((int)(k >> (8 * b) & 0xff), f), (int)(k >> (8 * b) & 0xff));
    }
    assert_int_equal(fclose(f), 0);
}

/* 64-bit keys through the coordinator: create of a *64.keys file, a bulk
 * job mixing 32- and 64-bit files (key size by name), --key-size on a
 * file whose name says nothing, and the bad inputs (length, duplicates). */
static void test_create_key64(void **state)
{
    (void)state;
    char keys[512], out[512], h[600];
    hx_path_buf(keys, sizeof keys, "wide64.keys");
    write_keys64(keys, 3001, false);
    hx_path_buf(out, sizeof out, "k64-out");
    assert_int_equal(run(CLIENT("create", keys, "-o", out), NULL), 0);
    hx_path_buf(h, sizeof h, "k64-out/wide64/wide64.h");
    file_has(h, "uint32_t wide64_index(uint64_t key);");
    file_has(h, "uint32_t wide64_find(uint64_t key);");
    assert_int_equal(build_and_run_table("k64-out", "wide64"), 0);
    /* the same bytes under another name: --key-size 8 says what they are */
    char plain[512];
    hx_path_buf(plain, sizeof plain, "plain.keys");
    assert_int_equal(rename(keys, plain), 0);
    assert_int_equal(run(CLIENT("create", plain, "-o", out, "--key-size", "8"), NULL), 0);
    assert_int_equal(build_and_run_table("k64-out", "plain"), 0);
    /* bulk: 32-bit and 64-bit files side by side, and two bad 64-bit ones */
    make_dir("mix64");
    char p[512], dir[512], csv[600];
    hx_path_buf(p, sizeof p, "mix64/a-32.keys");
    hx_write_keys(p, 500, 3, false);
    hx_path_buf(p, sizeof p, "mix64/b64.keys");
    write_keys64(p, 700, false);
    hx_path_buf(p, sizeof p, "mix64/c-dup64.keys");
    write_keys64(p, 300, true);
    hx_path_buf(p, sizeof p, "mix64/d-odd64.keys");
    hx_write_keys(p, 5, 9, false); /* 20 bytes: not a multiple of 8 */
    hx_path_buf(dir, sizeof dir, "mix64");
    hx_path_buf(out, sizeof out, "mix64-out");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out), NULL), 2);
    hx_path_buf(csv, sizeof csv, "mix64-out/results.csv");
    char *rows = hx_slurp(csv);
    assert_non_null(rows);
    assert_non_null(strstr(rows, "a-32.keys,500,"));
    assert_non_null(strstr(rows, "b64.keys,700,mix,"));
    const char *dup = strstr(rows, "c-dup64.keys");
    assert_non_null(dup);
    assert_true(strstr(dup, "EDUP") && strstr(dup, "EDUP") < strchr(dup, '\n'));
    const char *odd = strstr(rows, "d-odd64.keys");
    assert_non_null(odd);
    assert_true(strstr(odd, "EINVAL") && strstr(odd, "EINVAL") < strchr(odd, '\n'));
    free(rows);
    assert_int_equal(build_and_run_table("mix64-out", "a-32"), 0);
    assert_int_equal(build_and_run_table("mix64-out", "b64"), 0);
    /* bulk --key-size 4: a name ending in 64.keys holds 32-bit keys here */
    make_dir("narrow");
    hx_path_buf(p, sizeof p, "narrow/n64.keys");
    hx_write_keys(p, 400, 11, false);
    hx_path_buf(dir, sizeof dir, "narrow");
    hx_path_buf(out, sizeof out, "narrow-out");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out, "--key-size", "4"), NULL), 0);
    hx_path_buf(h, sizeof h, "narrow-out/n64/n64.h");
    file_has(h, "uint32_t n64_index(uint32_t key);");
    assert_int_equal(build_and_run_table("narrow-out", "n64"), 0);
    /* and without it the same file is read as 200 64-bit keys */
    hx_path_buf(out, sizeof out, "narrow-out2");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out), NULL), 0);
    hx_path_buf(csv, sizeof csv, "narrow-out2/results.csv");
    file_has(csv, "n64.keys,200,mix,");
    hx_path_buf(p, sizeof p, "mix64/d-odd64.keys");
    /* create: a length that is not a multiple of 8 is one line naming the
     * file and the key size, before anything is sent */
    char errf[512];
    hx_path_buf(errf, sizeof errf, "k64.stderr");
    assert_int_equal(hx_wait(hx_spawn_argv(CLIENT("create", p, "-o", out), NULL, errf),
                             HX_HANG_MS), 1);
    one_line_has(errf, "d-odd64.keys: size 20 bytes is not a multiple of 8 (key size 8");
}

/* --values through the coordinator: a create of 64-bit keys with 64-bit
 * values starting from a values file, a bulk job with 32-bit values from 0;
 * the generated tests (every operation on every key and on non-members)
 * pass; a values file of the wrong length is one line naming it. */
static void test_create_values(void **state)
{
    (void)state;
    char keys[512], vals[512], out[512], h[600], errf[512];
    const uint32_t n = 2001;
    hx_path_buf(keys, sizeof keys, "counted64.keys");
    write_keys64(keys, n, false);
    hx_path_buf(vals, sizeof vals, "counted.vals");
    FILE *f = fopen(vals, "wb");
    assert_non_null(f);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t v = 1000000007ull * i + 3;
        assert_int_equal(fwrite(&v, 8, 1, f), 1); /* little-endian host */
    }
    assert_int_equal(fclose(f), 0);
    hx_path_buf(out, sizeof out, "values-out");
    assert_int_equal(run(CLIENT("create", keys, "-o", out, "--values", "8", "--values-file",
                                vals), NULL), 0);
    hx_path_buf(h, sizeof h, "values-out/counted64/counted64.h");
    file_has(h, "uint64_t counted64_increment(uint64_t key);");
    assert_int_equal(build_and_run_table("values-out", "counted64"), 0);
    make_dir("vbulk");
    char p[512], dir[512];
    hx_path_buf(p, sizeof p, "vbulk/v-300.keys");
    hx_write_keys(p, 300, 5, false);
    hx_path_buf(dir, sizeof dir, "vbulk");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out, "--values", "4"), NULL), 0);
    assert_int_equal(build_and_run_table("values-out", "v-300"), 0);
    /* one value short: refused before anything is sent, naming the file */
    assert_int_equal(truncate(vals, (off_t)(n - 1) * 8), 0);
    hx_path_buf(errf, sizeof errf, "values.stderr");
    assert_int_equal(hx_wait(hx_spawn_argv(CLIENT("create", keys, "-o", out, "--values", "8",
                                                  "--values-file", vals), NULL, errf),
                             HX_HANG_MS), 1);
    one_line_has(errf, "counted.vals: 2000 values, but ");
}

/* --local: embedded coordinator + workers, same outputs as a cluster. */
static void test_local_bulk(void **state)
{
    (void)state;
    make_keys_dir("lbulk", "l", 2, "-x.keys", 20, 1, 3000, 70000);
    char dir[512], out[512], csv[600], res[512];
    hx_path_buf(dir, sizeof dir, "lbulk");
    hx_path_buf(out, sizeof out, "lbulk-out");
    hx_path_buf(res, sizeof res, "lbulk.json");
    assert_int_equal(run((char *const[]){(char *)hx_client_bin, "bulk-create", dir, "-o", out, "--local",
                                         "--json", NULL}, res), 0);
    char *j = hx_slurp(res);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"state\":\"all_succeeded\""));
    assert_int_equal(hx_field(j, "succeeded"), 20);
    assert_int_equal(sum_nodes(j, "succeeded"), 20);
    free(j);
    hx_path_buf(csv, sizeof csv, "lbulk-out/results.csv");
    char *rows = hx_slurp(csv);
    assert_non_null(rows);
    assert_int_equal(hx_count(rows, "\n"), 21);
    assert_int_equal(hx_count(rows, ",ok"), 20);
    free(rows);
    for (int i = 0; i < 20; i++) {
        char c[600];
        hx_path_buf(c, sizeof c, "lbulk-out/l%02d-x/l%02d-x.c", i, i);
        assert_true(hx_exists(c));
    }
    /* Tables keep their keys (NAME_find) unless --index-only. */
    char c0[600], one[512], iout[512];
    hx_path_buf(c0, sizeof c0, "lbulk-out/l00-x/l00-x.c");
    file_has(c0, "uint32_t l00_x_find(uint32_t key)");
    hx_path_buf(one, sizeof one, "lbulk/l00-x.keys");
    hx_path_buf(iout, sizeof iout, "lbulk-idx");
    assert_int_equal(run((char *const[]){(char *)hx_client_bin, "create", one, "-o", iout, "--local",
                                         "--index-only", NULL}, NULL), 0);
    hx_path_buf(c0, sizeof c0, "lbulk-idx/l00-x/l00-x.c");
    char *src = hx_slurp(c0);
    assert_non_null(src);
    assert_non_null(strstr(src, "uint32_t l00_x_index(uint32_t key)"));
    assert_null(strstr(src, "_find"));
    free(src);
    /* A bad keys file through --local: one line, non-zero. */
    char bad[512], bout[512];
    hx_path_buf(bad, sizeof bad, "empty-0.keys");
    FILE *f = fopen(bad, "wb");
    assert_non_null(f);
    fclose(f);
    hx_path_buf(bout, sizeof bout, "lbad-out");
    assert_int_equal(run((char *const[]){(char *)hx_client_bin, "create", bad, "-o", bout, "--local",
                                         NULL}, NULL), 2);
}

static void test_exit_no_keys(void **state)
{
    (void)state;
    make_dir("empty");
    char dir[512], out[512], txt[600];
    hx_path_buf(dir, sizeof dir, "empty");
    hx_path_buf(txt, sizeof txt, "empty/readme.txt");
    FILE *f = fopen(txt, "w");
    fputs("not keys\n", f);
    fclose(f);
    hx_path_buf(out, sizeof out, "empty-out");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out), NULL), 3);
    assert_int_equal(run((char *const[]){(char *)hx_client_bin, "bulk-create", dir, "-o", out, "--local",
                                         NULL}, NULL), 3);
}

static void test_exit_some_failed(void **state)
{
    (void)state;
    make_dir("mixed");
    for (int i = 0; i < 6; i++) {
        char p[512];
        hx_path_buf(p, sizeof p, "mixed/m%d-100.keys", i);
        hx_write_keys(p, 100, 9000u + (uint32_t)i, i == 3);
    }
    char odd[512];
    hx_path_buf(odd, sizeof odd, "mixed/m6-odd.keys");
    FILE *f = fopen(odd, "wb");
    assert_non_null(f);
    fwrite("abcdefg", 1, 7, f); /* 7 bytes: not a multiple of 4 */
    fclose(f);
    /* A FIFO must be refused (not block the coordinator); a directory
     * named *.keys is not a keys file at all. */
    char fifo[512], sub_dir[512];
    hx_path_buf(fifo, sizeof fifo, "mixed/m7-fifo.keys");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    hx_path_buf(sub_dir, sizeof sub_dir, "mixed/m8-dir.keys");
    assert_int_equal(mkdir(sub_dir, 0755), 0);
    char dir[512], out[512], csv[600];
    hx_path_buf(dir, sizeof dir, "mixed");
    hx_path_buf(out, sizeof out, "mixed-out");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out), NULL), 2);
    hx_path_buf(csv, sizeof csv, "mixed-out/results.csv");
    char *rows = hx_slurp(csv);
    assert_non_null(rows);
    assert_int_equal(hx_count(rows, "\n"), 9);
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
    assert_int_equal(hx_count(rows, ",ok"), 5);
    free(rows);
}

static void test_exit_unreachable(void **state)
{
    (void)state;
    /* Port 1 on loopback: nothing listens there for an unprivileged test. */
    char *const argv[] = {(char *)hx_client_bin, "ping", "--coordinator", "tcp://127.0.0.1:1", NULL};
    hx_reach_ms(2000);
    int rc = run(argv, NULL);
    hx_reach_ms(0);
    assert_int_equal(rc, 4);
}

/* A worker that freezes mid-job is dropped after liveness; its tasks are
 * requeued to the others and the job still gets exactly one result per
 * file.  Its late results after SIGCONT are discarded, not double-counted. */
static void test_frozen_worker_requeued(void **state)
{
    (void)state;
    /* Each of its tasks sleeps 1 s first: whatever it was given at submit
     * time, it still holds when it is frozen. */
    hx_args wc = {0};
    hx_args_add(&wc, "--threads", "1", "--task-delay-ms", "1000", NULL);
    pid_t c = hx_worker_start(&wc, "worker-c.log");
    assert_true(hx_wait_workers(4, HX_HANG_MS));
    make_keys_dir("frozen", "f", 3, "-x.keys", 120, 5000, 15000, 50000);
    char dir[512], out[512], tokf[512], res[512];
    hx_path_buf(dir, sizeof dir, "frozen");
    hx_path_buf(out, sizeof out, "frozen-out");
    hx_path_buf(tokf, sizeof tokf, "frozen-token");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out, "--no-wait"), tokf), 0);
    kill(c, SIGSTOP); /* holds its credits' worth of tasks, all sleeping */
    /* The coordinator drops it after liveness (it stops answering). */
    char cpid[64];
    snprintf(cpid, sizeof cpid, "\"pid\":%ld,", (long)c);
    bool dropped = false;
    for (uint64_t end = hx_deadline(HX_HANG_MS); !dropped && hx_now_ms() < end;) {
        char st[512];
        hx_path_buf(st, sizeof st, "frozen-status.json");
        if (run(CLIENT("status", "--json"), st) == 0) {
            char *s = hx_slurp(st);
            dropped = s && !strstr(s, cpid);
            free(s);
        }
        if (!dropped)
            hx_sleep_ms(50);
    }
    assert_true(dropped);
    /* Late results after it wakes up must be discarded, not counted. */
    kill(c, SIGCONT);
    char *tok = hx_slurp(tokf);
    assert_non_null(tok);
    tok[strcspn(tok, "\n")] = '\0';
    hx_path_buf(res, sizeof res, "frozen.json");
    char errf[512];
    hx_path_buf(errf, sizeof errf, "client.stderr");
    assert_int_equal(wait_while_progress(hx_spawn_argv(CLIENT("wait", tok, "--json"), res, errf),
                                         out),
                     0);
    char *j = hx_slurp(res);
    assert_non_null(j);
    assert_int_equal(hx_field(j, "succeeded"), 120);
    assert_int_equal(hx_field(j, "failed"), 0);
    assert_int_equal(sum_nodes(j, "succeeded") + sum_nodes(j, "failed"), 120);
    free(j);
    free(tok);
    /* The coordinator logged the drop with a non-zero requeue count. */
    char clog[512];
    hx_path_buf(clog, sizeof clog, "coord.log");
    char *l = hx_slurp(clog);
    assert_non_null(l);
    const char *rq = strstr(l, "requeued=");
    bool requeued = false;
    for (; rq && !requeued; rq = strstr(rq + 1, "requeued="))
        requeued = rq[9] >= '1' && rq[9] <= '9';
    assert_true(requeued);
    free(l);
    kill(c, SIGTERM);
    assert_int_equal(hx_wait(c, HX_HANG_MS), 0);
}

/* phcoord goes away and comes back on the same endpoint: the workers
 * notice the silence, reconnect with backoff and serve the new one. */
static void test_coordinator_restart(void **state)
{
    (void)state;
    char bind[256];
    snprintf(bind, sizeof bind, "%s", hx_endpoint());
    assert_int_equal(hx_coord_stop(), 0);
    assert_int_equal(start_coord(bind, NULL), 0);
    assert_true(hx_wait_workers(3, HX_HANG_MS));
    make_dir("again");
    for (int i = 0; i < 10; i++) {
        char p[512];
        hx_path_buf(p, sizeof p, "again/a%d-x.keys", i);
        hx_write_keys(p, 100 + (uint32_t)i, 80000u + (uint32_t)i, false);
    }
    char dir[512], out[512];
    hx_path_buf(dir, sizeof dir, "again");
    hx_path_buf(out, sizeof out, "again-out");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out), NULL), 0);
}

/* The scripted tests get a coordinator of their own, so the scripted
 * workers get every task; these swap it in and out. */
static pid_t saved_pid;
static char saved_ep[256];

static void own_coord_start_args(char *const extra[])
{
    saved_pid = hx_coord_pid();
    snprintf(saved_ep, sizeof saved_ep, "%s", hx_endpoint());
    assert_int_equal(start_coord(NULL, extra), 0);
}

static void own_coord_start(void) { own_coord_start_args(NULL); }

static void own_coord_stop(void)
{
    assert_int_equal(hx_coord_stop(), 0);
    hx_coord_set(saved_pid, saved_ep);
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
    hx_path_buf(dir, sizeof dir, "late");
    hx_path_buf(out, sizeof out, "late-out");
    hx_path_buf(tokf, sizeof tokf, "late-token.json");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out, "--no-wait", "--json"), tokf), 0);
    /* One credit each: one task each. */
    uint64_t job1, task1, job2, task2;
    char name1[256], name2[256], p1[600], p2[600];
    fake_take_task(&f1, &job1, &task1, name1, sizeof name1);
    fake_take_task(&f2, &job2, &task2, name2, sizeof name2);
    assert_true(task1 != task2);
    snprintf(p1, sizeof p1, "%s/%s.c", name1, name1);
    snprintf(p2, sizeof p2, "%s/%s.c", name2, name2);
    (void)p2;
    fake_result(&f2, job2, task2, 1, LIE_NONE);
    /* Worker 1 silent past liveness (worker 2 keeps heartbeating). */
    fake_silence(&f1, true);
    bool dropped = false;
    for (uint64_t end = hx_deadline(HX_HANG_MS); !dropped && hx_now_ms() < end;) {
        dropped = !fake_listed("fake-one");
        if (!dropped)
            hx_sleep_ms(50);
    }
    assert_true(dropped);
    uint64_t job3, task3;
    char name3[256];
    fake_take_task(&f2, &job3, &task3, name3, sizeof name3); /* the requeued one */
    assert_true(job3 == job1 && task3 == task1);
    fake_ready(&f1);
    fake_silence(&f1, false);
    uint32_t stale = fake_result(&f1, job1, task1, 1000, LIE_NONE);
    fake_ping(&f1); /* one connection is ordered: the RESULT was handled */
    uint32_t good = fake_result(&f2, job3, task3, 2000, LIE_NONE);
    assert_true(stale != good);
    char *token = job_token(tokf);
    hx_path_buf(res, sizeof res, "late.json");
    assert_int_equal(run(CLIENT("wait", token, "--json"), res), 0);
    char *j = hx_slurp(res);
    assert_non_null(j);
    assert_int_equal(hx_field(j, "succeeded"), 2);
    assert_int_equal(sum_nodes(j, "succeeded"), 2);
    free(j);
    free(token);
    char cfile[700];
    hx_path_buf(cfile, sizeof cfile, "late-out/%s", p1);
    char *c = hx_slurp(cfile);
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
    fake_open(&f, hx_endpoint(), "fake-liar");
    fake_ready(&f);
    const struct { enum fake_lie lie; const char *error; } cases[] = {
        {LIE_VALUES, "fails verification"},
        {LIE_SHAPE, "RESULT.table"},
        {LIE_HEADER, "RESULT.keys: does not match RESULT.table"},
    };
    char keys[512], out[512];
    hx_path_buf(keys, sizeof keys, "p-3.keys");
    hx_write_keys(keys, 300, 123, false);
    hx_path_buf(out, sizeof out, "liar/out");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char res[512], errf[512];
        hx_path_buf(res, sizeof res, "liar-%zu.out", i);
        hx_path_buf(errf, sizeof errf, "liar-%zu.err", i);
        pid_t cl = hx_spawn_argv(CLIENT("create", keys, "-o", out), res, errf);
        uint64_t job, task;
        char name[256];
        fake_take_task(&f, &job, &task, name, sizeof name);
        fake_result(&f, job, task, 7, cases[i].lie);
        assert_int_equal(hx_wait(cl, HX_HANG_MS), 2);
        char *o = hx_slurp(res), *e = hx_slurp(errf);
        bool said = (o && strstr(o, cases[i].error)) || (e && strstr(e, cases[i].error));
        if (!said)
            fail_msg("case %zu: '%s' not reported (out '%s', err '%s')", i, cases[i].error,
                     o ? o : "", e ? e : "");
        free(o);
        free(e);
    }
    char p[600];
    hx_path_buf(p, sizeof p, "liar/out/p-3/p-3.c");
    assert_false(hx_exists(p));
    hx_path_buf(p, sizeof p, "liar/out/p-3");
    assert_false(hx_exists(p));
    hx_path_buf(p, sizeof p, "liar/out/results.csv");
    file_has(p, "EPROTO");
    fake_close(&f);
    own_coord_stop();
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
    hx_path_buf(dir, sizeof dir, "pf-small");
    hx_path_buf(out, sizeof out, "pf-small-out");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out, "--no-wait"), NULL), 0);
    fake_take_task(&f, &job, &task, name, sizeof name);
    assert_int_equal(fake_count_tasks(&f, 0, 500, &bytes), 0);
    fake_result(&f, job, task, 1, LIE_NONE);
    assert_int_equal(fake_count_tasks(&f, 9, 500, &bytes), 9);
    assert_int_equal(bytes, 9 * 50 * 4);
    hx_path_buf(dir, sizeof dir, "pf-big");
    hx_path_buf(out, sizeof out, "pf-big-out");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out, "--no-wait"), NULL), 0);
    assert_int_equal(fake_count_tasks(&f, 2, 500, &bytes), 2);
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
    hx_path_buf(keys, sizeof keys, "once/k-200.keys");
    hx_write_keys(keys, 200, 555, false);
    hx_path_buf(dir, sizeof dir, "once");
    hx_path_buf(out, sizeof out, "once-out");
    hx_path_buf(tokf, sizeof tokf, "once-token.json");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", out, "--no-wait", "--json"), tokf), 0);
    uint64_t job, task;
    char name[256];
    fake_take_task(&f, &job, &task, name, sizeof name);
    assert_int_equal(f.nkeys, 200);
    hx_write_keys(keys, 300, 556, false); /* other keys, other count */
    uint32_t seed = fake_result(&f, job, task, 5, LIE_NONE);
    char *token = job_token(tokf);
    hx_path_buf(res, sizeof res, "once.json");
    assert_int_equal(run(CLIENT("wait", token, "--json"), res), 0);
    char *j = hx_slurp(res);
    assert_non_null(j);
    assert_int_equal(hx_field(j, "succeeded"), 1);
    free(j);
    free(token);
    char cfile[600], want[32];
    hx_path_buf(cfile, sizeof cfile, "once-out/k-200/k-200.c");
    snprintf(want, sizeof want, "seeds=0x%08x,", seed);
    file_has(cfile, want);
    fake_close(&f);
    own_coord_stop();
}

static void test_usage_errors(void **state)
{
    (void)state;
    assert_int_equal(run((char *const[]){(char *)hx_client_bin, "frobnicate", NULL}, NULL), 1);
    assert_int_equal(run((char *const[]){(char *)hx_client_bin, "create", "x.keys", NULL}, NULL), 1);
    assert_int_equal(run((char *const[]){(char *)hx_client_bin, "--help", NULL}, NULL), 0);
    assert_int_equal(run((char *const[]){(char *)hx_coord_bin, "--liveness-ms", "abc", NULL}, NULL), 1);
    /* (Without --coordinator phworker serves the user's local coordinator:
     * not a usage error any more.) */
    assert_int_equal(run((char *const[]){(char *)hx_worker_bin, "--threads", "abc", NULL}, NULL), 1);
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
        cmocka_unit_test(test_create_key64),
        cmocka_unit_test(test_create_values),
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
