/* test_results.c - every job writing into one output directory adds its
 * rows to the directory's results.csv; none replaces another's.
 *
 * Real phcoord/phworker/phclient processes on loopback; argv[1] names the
 * one scenario to run:
 *   results_ten_creates     ten `create` calls into one directory: ten rows
 *   results_bulk_then_create  a bulk job, then creates (cluster and a
 *                           partitioned create --local): merged, a rebuilt
 *                           name's row replaced
 *   results_concurrent      jobs of several processes finishing together
 *                           into one directory: every row
 *   results_malformed       a results.csv that does not parse is refused
 *                           with one line naming it, and left untouched
 * phcoord runs in the test's temp dir: its default --allow-root (its working
 * directory) covers every input and output. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
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
#include "ph_results_csv.h"

static void start_cluster(void)
{
    hx_coord_up(NULL, NULL, "coord.log");
    hx_worker_up("worker.log");
}

/* ---- reading results.csv back with the project's strict parser ---------- */

typedef struct csv_rows {
    ph_result_row v[128];
    size_t n;
} csv_rows;

static int take_row(void *ctx, const ph_result_row *r, size_t line_no, const char *line,
                    size_t len)
{
    (void)line_no, (void)line, (void)len;
    csv_rows *s = ctx;
    if (s->n == sizeof s->v / sizeof s->v[0])
        return PH_EINVAL;
    s->v[s->n++] = *r;
    return PH_OK;
}

/* Parse OUT/results.csv (it must parse) into s. */
static void read_csv(const char *out, csv_rows *s)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/results.csv", out);
    char *text = hx_slurp(path);
    if (!text)
        fail_msg("%s: missing", path);
    memset(s, 0, sizeof *s);
    ph_err err = {0};
    if (ph_results_csv_parse(text, strlen(text), path, take_row, s, &err) != 0)
        fail_msg("%s does not parse: %s\n%s", path, err.msg, text);
    free(text);
}

static const ph_result_row *find_row(const csv_rows *s, const char *file)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].file, file))
            return &s->v[i];
    return NULL;
}

/* The row of file must be there once, "ok", with keys keys. */
static void assert_row(const csv_rows *s, const char *file, uint32_t keys)
{
    const ph_result_row *r = find_row(s, file);
    if (!r)
        fail_msg("results.csv has no row for %s (%zu rows)", file, s->n);
    if (strcmp(r->status, "ok") != 0 || r->keys != keys)
        fail_msg("row of %s: status %s keys %u, expected ok and %u", file, r->status, r->keys,
                 keys);
}

/* Rows in strictly increasing file-name order: none repeats. */
static void assert_sorted(const csv_rows *s)
{
    for (size_t i = 1; i < s->n; i++)
        if (strcmp(s->v[i - 1].file, s->v[i].file) >= 0)
            fail_msg("results.csv rows %zu and %zu out of order: %s, %s", i, i + 1,
                     s->v[i - 1].file, s->v[i].file);
}

/* ---- scenarios ------------------------------------------------------------ */

static void results_ten_creates(void **state)
{
    (void)state;
    start_cluster();
    char out[1024];
    hx_path_buf(out, sizeof out, "out");
    for (uint32_t i = 0; i < 10; i++) {
        char keys[1024];
        hx_path_buf(keys, sizeof keys, "t%02u.keys", i);
        hx_write_keys(keys, 100 + i, 10 + i, false);
        int rc = hx_client(HX_HANG_MS, "create", keys, "-o", out, NULL);
        if (rc != 0)
            hx_dump("client stderr", hx_path("client.err"));
        assert_int_equal(rc, 0);
    }
    csv_rows s;
    read_csv(out, &s);
    assert_int_equal(s.n, 10);
    assert_sorted(&s);
    for (uint32_t i = 0; i < 10; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%02u.keys", i);
        assert_row(&s, name, 100 + i);
        snprintf(name, sizeof name, "t%02u", i);
        assert_true(hx_exists(hx_path("out/%s/%s.h", name, name)));
    }
}

static void results_bulk_then_create(void **state)
{
    (void)state;
    start_cluster();
    char dir[1024], out[1024], one[1024], big[1024];
    hx_path_buf(dir, sizeof dir, "keys");
    hx_path_buf(out, sizeof out, "out");
    hx_mkdir(dir);
    for (uint32_t i = 0; i < 5; i++)
        hx_write_keys(hx_path("keys/b%u.keys", i), 200 + i, 30 + i, false);
    assert_int_equal(hx_client(HX_HANG_MS, "bulk-create", dir, "-o", out, NULL), 0);
    /* a new name, and b2 rebuilt from a file of another size */
    hx_path_buf(one, sizeof one, "a.keys");
    hx_write_keys(one, 50, 3, false);
    assert_int_equal(hx_client(HX_HANG_MS, "create", one, "-o", out, NULL), 0);
    hx_path_buf(one, sizeof one, "b2.keys");
    hx_write_keys(one, 77, 4, false);
    assert_int_equal(hx_client(HX_HANG_MS, "create", one, "-o", out, NULL), 0);
    /* a partitioned table written by phclient itself (client/cl_big.c) */
    hx_path_buf(big, sizeof big, "p.keys");
    hx_write_keys(big, 5000, 5, false);
    hx_args a = {0};
    hx_args_add(&a, hx_client_bin, "create", big, "-o", out, "--local", "--partition", "256",
                "--threads", "1", NULL);
    int rc = hx_run(&a, hx_root(), hx_path("local.out"), hx_path("local.err"), HX_HANG_MS);
    if (rc != 0)
        hx_dump("create --local", hx_path("local.err"));
    assert_int_equal(rc, 0);
    assert_true(hx_exists(hx_path("out/p/p.buckets")));
    csv_rows s;
    read_csv(out, &s);
    assert_int_equal(s.n, 7);
    assert_sorted(&s);
    assert_row(&s, "a.keys", 50);
    assert_row(&s, "b0.keys", 200);
    assert_row(&s, "b1.keys", 201);
    assert_row(&s, "b2.keys", 77);
    assert_row(&s, "b3.keys", 203);
    assert_row(&s, "b4.keys", 204);
    assert_row(&s, "p.keys", 5000);
    assert_string_equal(find_row(&s, "p.keys")->hash, "part");
    /* the bulk job again: its rows replaced, the others kept */
    assert_int_equal(hx_client(HX_HANG_MS, "bulk-create", dir, "-o", out, NULL), 0);
    read_csv(out, &s);
    assert_int_equal(s.n, 7);
    assert_row(&s, "b2.keys", 202);
    assert_row(&s, "a.keys", 50);
    assert_row(&s, "p.keys", 5000);
}

/* Eight create --local processes, two bulk-create --local processes and a
 * bulk job of the cluster, all started at once into one directory: each
 * process has its own coordinator, so only the lock on results.csv keeps
 * one job's rows from being lost under another's rename. */
static void results_concurrent(void **state)
{
    (void)state;
    start_cluster();
    char out[1024];
    hx_path_buf(out, sizeof out, "out");
    static char keys[3][1024], single[8][1024];
    for (int d = 0; d < 3; d++) {
        hx_path_buf(keys[d], sizeof keys[d], "keys%d", d);
        hx_mkdir(keys[d]);
        for (uint32_t i = 0; i < 12; i++)
            hx_write_keys(hx_path("keys%d/d%d-%02u.keys", d, d, i), 100 + i, 50u * d + i,
                          false);
    }
    for (int i = 0; i < 8; i++) {
        hx_path_buf(single[i], sizeof single[i], "s%d.keys", i);
        hx_write_keys(single[i], 60 + (uint32_t)i, 900u + (uint32_t)i, false);
    }
    char token[17];
    assert_true(hx_submit_bulk(keys[2], out, token));
    pid_t pids[10];
    char logs[10][64];
    for (int i = 0; i < 10; i++) {
        hx_args a = {0};
        if (i < 8)
            hx_args_add(&a, hx_client_bin, "create", single[i], "-o", out, "--local",
                        "--threads", "1", NULL);
        else
            hx_args_add(&a, hx_client_bin, "bulk-create", keys[i - 8], "-o", out, "--local",
                        "--threads", "1", NULL);
        snprintf(logs[i], sizeof logs[i], "local%d.err", i);
        pids[i] = hx_spawn(&a, hx_root(), NULL, hx_path("%s", logs[i]));
        assert_true(pids[i] > 0);
    }
    for (int i = 0; i < 10; i++) {
        int rc = hx_wait(pids[i], HX_HANG_MS);
        if (rc != 0)
            hx_dump(logs[i], hx_path("%s", logs[i]));
        assert_int_equal(rc, 0);
    }
    assert_int_equal(hx_client(HX_HANG_MS, "wait", token, NULL), 0);
    csv_rows s;
    read_csv(out, &s);
    assert_sorted(&s);
    for (int d = 0; d < 3; d++)
        for (uint32_t i = 0; i < 12; i++) {
            char name[32];
            snprintf(name, sizeof name, "d%d-%02u.keys", d, i);
            assert_row(&s, name, 100 + i);
        }
    for (uint32_t i = 0; i < 8; i++) {
        char name[32];
        snprintf(name, sizeof name, "s%u.keys", i);
        assert_row(&s, name, 60 + i);
    }
    assert_int_equal(s.n, 3 * 12 + 8);
    assert_int_equal(hx_count_names(out, ".tmp."), 0);
}

/* A results.csv that does not parse: the job's tables are written, the
 * job reports one line naming the file and exits 2, and the file is left
 * byte for byte; once it is moved aside the next job writes a new one. */
static void results_malformed(void **state)
{
    (void)state;
    start_cluster();
    char out[1024], keys[1024];
    hx_path_buf(out, sizeof out, "out");
    hx_mkdir(out);
    const char *bad = "file,keys,hash\nsomething else entirely\n";
    hx_write_bytes(hx_path("out/results.csv"), bad, strlen(bad));
    hx_path_buf(keys, sizeof keys, "n.keys");
    hx_write_keys(keys, 300, 8, false);
    int rc = hx_client(HX_HANG_MS, "create", keys, "-o", out, NULL);
    char *err = hx_client_err();
    fprintf(stderr, "create: exit %d: %s", rc, err ? err : "\n");
    assert_int_equal(rc, 2);
    assert_non_null(err);
    char want[1200];
    snprintf(want, sizeof want, "%s/results.csv: line 1: not the results.csv header; left as "
             "it is, no rows merged", out);
    assert_non_null(strstr(err, want));
    free(err);
    char *now = hx_slurp(hx_path("out/results.csv"));
    assert_non_null(now);
    assert_string_equal(now, bad);
    free(now);
    assert_true(hx_exists(hx_path("out/n/n.h")));
    /* the same through create --local of a partitioned table */
    hx_args a = {0};
    hx_args_add(&a, hx_client_bin, "create", keys, "-o", out, "--local", "--partition", "64",
                "--threads", "1", NULL);
    rc = hx_run(&a, hx_root(), NULL, hx_path("local.err"), HX_HANG_MS);
    err = hx_slurp(hx_path("local.err"));
    fprintf(stderr, "create --local: exit %d: %s", rc, err ? err : "\n");
    assert_int_equal(rc, 2);
    assert_non_null(err);
    assert_non_null(strstr(err, want));
    assert_int_equal(hx_count(err, "\n"), 1);
    free(err);
    now = hx_slurp(hx_path("out/results.csv"));
    assert_string_equal(now, bad);
    free(now);
    /* moved aside: the next job starts a new file */
    assert_int_equal(rename(hx_path("out/results.csv"), hx_path("out/results.csv.old")), 0);
    assert_int_equal(hx_client(HX_HANG_MS, "create", keys, "-o", out, NULL), 0);
    csv_rows s;
    read_csv(out, &s);
    assert_int_equal(s.n, 1);
    assert_row(&s, "n.keys", 300);
    assert_true(hx_alive(hx_coord_pid()));
}

/* ---- main ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, hx_setup, hx_teardown)
    const struct CMUnitTest all[] = {
        T(results_ten_creates),
        T(results_bulk_then_create),
        T(results_concurrent),
        T(results_malformed),
    };
#undef T
    return hx_run_tests("test_results", "results", all, sizeof all / sizeof all[0], argc, argv);
}
