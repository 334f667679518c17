/* test_misuse.c - what a careless user or a noisy peer does is refused
 * early and clearly, and does not hurt the coordinator.
 *
 * Real phcoord/phworker/phclient processes on loopback; argv[1] names the
 * one scenario to run:
 *   misuse_name_clash      a bulk job whose file names give one C symbol
 *   misuse_empty_paths     empty option values are refused by all three programs
 *   misuse_too_big         with --partition off, a table too big for one RESULT is
 *                          refused before solving (partitioned, it is built)
 * phcoord runs in the test's temp dir: its default --allow-root (its working
 * directory) then covers every input and output. */
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

static pid_t worker;

static void start_cluster(const hx_args *extra)
{
    hx_coord_up(NULL, extra, "coord.log");
    worker = hx_worker_up("worker.log");
}

static void assert_cluster_alive(void)
{
    assert_true(hx_alive(hx_coord_pid()));
    assert_int_equal(hx_client(HX_HANG_MS, "ping", NULL), 0);
}

/* The results.csv line of file (starting "file,"), or NULL; malloc'd. */
static char *csv_line(const char *csv, const char *file)
{
    size_t len = strlen(file);
    for (const char *l = csv; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (!strncmp(l, file, len) && l[len] == ',') {
            const char *e = strchr(l, '\n');
            return strndup(l, e ? (size_t)(e - l) : strlen(l));
        }
    return NULL;
}

/* ---- names ---------------------------------------------------------------- */

/* "A_B", "a b", "a-b", "a_b": four files, three symbols (A_B, a_b, a_b, a_b).
 * In file-name order "a b.keys" comes first of the a_b ones and keeps the
 * symbol; "a-b.keys" and "a_b.keys" fail with ENAME and write nothing. */
static void misuse_name_clash(void **state)
{
    (void)state;
    start_cluster(NULL);
    static const char *const files[] = {"A_B.keys", "a b.keys", "a-b.keys", "a_b.keys",
                                        "c.keys"};
    static const char *const status[] = {"ok", "ok", "ENAME", "ENAME", "ok"};
    static const char *const dirs[] = {"A_B", "a b", "a-b", "a_b", "c"};
    hx_mkdir(hx_path("keys"));
    for (int i = 0; i < 5; i++)
        hx_write_keys(hx_path("keys/%s", files[i]), 300u + (uint32_t)i, 40u + (uint32_t)i,
                      false);
    char keys[1024], out[1024];
    hx_path_buf(keys, sizeof keys, "keys");
    hx_path_buf(out, sizeof out, "out");
    int rc = hx_client(HX_HANG_MS, "bulk-create", keys, "-o", out, NULL);
    char *err = hx_client_err();
    fprintf(stderr, "bulk-create exit %d, stderr: %s\n", rc, err ? err : "");
    assert_int_equal(rc, 2); /* some tables failed */
    /* The first failure names both files and the symbol. */
    assert_non_null(err);
    assert_non_null(strstr(err, "a-b.keys: its table's C symbols (a_b_index) are those of "
                                "a b.keys"));
    free(err);
    char *csv = hx_slurp(hx_path("out/results.csv"));
    assert_non_null(csv);
    for (int i = 0; i < 5; i++) {
        char *line = csv_line(csv, files[i]);
        if (!line)
            fail_msg("results.csv has no row for %s:\n%s", files[i], csv);
        size_t n = strlen(line), s = strlen(status[i]);
        if (n < s || strcmp(line + n - s, status[i]) != 0 || line[n - s - 1] != ',')
            fail_msg("row of %s: '%s', expected status %s", files[i], line, status[i]);
        free(line);
        bool want = strcmp(status[i], "ok") == 0;
        assert_int_equal(hx_exists(hx_path("out/%s/%s.h", dirs[i], dirs[i])), want);
    }
    free(csv);
    assert_cluster_alive();
}

/* ---- empty option values ---------------------------------------------------- */

/* argv (after the program) must exit 1 at once with one stderr line naming
 * option, and leave nothing in the test's directory (it runs there). */
static void refuse_empty(const char *bin, const char *option, const char *const *argv)
{
    hx_args a = {0};
    hx_args_add(&a, bin, NULL);
    for (int i = 0; argv[i]; i++)
        hx_args_add(&a, argv[i], NULL);
    char err[1024];
    hx_path_buf(err, sizeof err, "refusal.err");
    unlink(err);
    int rc = hx_run(&a, hx_path("cwd"), NULL, err, HX_HANG_MS);
    char *text = hx_slurp(err);
    fprintf(stderr, "%s %s...: exit %d: %s", bin, argv[0], rc, text ? text : "\n");
    assert_int_equal(rc, 1);
    assert_non_null(text);
    assert_non_null(strstr(text, option));
    assert_non_null(strstr(text, "empty"));
    assert_int_equal(hx_count(text, "\n"), 1);
    free(text);
    /* nothing written here: the walk finds the directory alone */
    assert_int_equal(hx_count_names(hx_path("cwd"), ""), 1);
}

static void misuse_empty_paths(void **state)
{
    (void)state;
    hx_mkdir(hx_path("cwd"));
    hx_write_keys(hx_path("x.keys"), 100, 1, false);
    char keys[1024];
    hx_path_buf(keys, sizeof keys, "x.keys");
    const char *c1[] = {"create", keys, "-o", "", "--local", NULL};
    refuse_empty(hx_client_bin, "-o", c1);
    const char *c2[] = {"create", keys, "--out=", "--local", NULL};
    refuse_empty(hx_client_bin, "--out", c2);
    const char *c3[] = {"create", "", "-o", "out", "--local", NULL};
    refuse_empty(hx_client_bin, "FILE", c3);
    const char *c4[] = {"--coordinator", "", "ping", NULL};
    refuse_empty(hx_client_bin, "--coordinator", c4);
    const char *c5[] = {"status", "--curve-secret", "", "--curve-server", "s.pub", NULL};
    refuse_empty(hx_client_bin, "--curve-secret", c5);
    const char *d1[] = {"--state-dir", "", NULL};
    refuse_empty(hx_coord_bin, "--state-dir", d1);
    const char *d2[] = {"--allow-root=", NULL};
    refuse_empty(hx_coord_bin, "--allow-root", d2);
    const char *d3[] = {"--endpoint-file", "", NULL};
    refuse_empty(hx_coord_bin, "--endpoint-file", d3);
    const char *w1[] = {"--coordinator", "", NULL};
    refuse_empty(hx_worker_bin, "--coordinator", w1);
    const char *w2[] = {"--topology=", NULL};
    refuse_empty(hx_worker_bin, "--topology", w2);
}

/* ---- limits ------------------------------------------------------------------- */

/* 4.2M keys: a power-of-two table of 2^24 vertices x 4 bytes = 64 MiB, more
 * than one RESULT frame carries.  create is refused by the client and the
 * same file in a bulk job by the coordinator, both at once, naming the
 * limit; the small file of the job is built. */
static void misuse_too_big(void **state)
{
    (void)state;
    start_cluster(NULL);
    hx_mkdir(hx_path("keys"));
    hx_write_keys(hx_path("keys/big.keys"), 4200000, 7, false);
    hx_write_keys(hx_path("keys/small.keys"), 500, 8, false);
    char big[1024], keys[1024], out[1024];
    hx_path_buf(big, sizeof big, "keys/big.keys");
    hx_path_buf(keys, sizeof keys, "keys");
    hx_path_buf(out, sizeof out, "out");
    uint64_t t0 = hx_now_ms();
    int rc = hx_client(HX_HANG_MS, "create", big, "-o", out, "--partition", "off", NULL);
    char *err = hx_client_err();
    fprintf(stderr, "create: exit %d after %llu ms: %s", rc,
            (unsigned long long)(hx_now_ms() - t0), err ? err : "\n");
    assert_int_equal(rc, 1);
    assert_non_null(err);
    assert_non_null(strstr(err, "big.keys: 4200000 keys make a table of 67108864 bytes"));
    assert_non_null(strstr(err, "67043328"));
    free(err);
    assert_false(hx_exists(hx_path("out/big")));
    rc = hx_client(HX_HANG_MS, "bulk-create", keys, "-o", out, "--partition", "off", NULL);
    err = hx_client_err();
    fprintf(stderr, "bulk-create: exit %d: %s", rc, err ? err : "\n");
    assert_int_equal(rc, 2);
    assert_non_null(err);
    assert_non_null(strstr(err, "big.keys: 4200000 keys make a table of 67108864 bytes"));
    free(err);
    char *csv = hx_slurp(hx_path("out/results.csv"));
    assert_non_null(csv);
    char *row = csv_line(csv, "big.keys");
    assert_non_null(row);
    assert_non_null(strstr(row, ",EINVAL"));
    free(row);
    row = csv_line(csv, "small.keys");
    assert_non_null(row);
    assert_non_null(strstr(row, ",ok"));
    free(row);
    free(csv);
    assert_false(hx_exists(hx_path("out/big")));
    assert_cluster_alive();
}

/* ---- main ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, hx_setup, hx_teardown)
    const struct CMUnitTest all[] = {
        T(misuse_name_clash),
        T(misuse_empty_paths),
        T(misuse_too_big),
    };
#undef T
    return hx_run_tests("test_misuse", "misuse", all, sizeof all / sizeof all[0], argc, argv);
}
