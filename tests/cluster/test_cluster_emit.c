/* test_cluster_emit - `phclient create/bulk-create --emit`: the binary
 * table file NAME/NAME.phc written beside (c,bin) or instead of (bin) the
 * C sources, by a real coordinator with a real worker, through --local,
 * and for a partitioned table made in the client; each file is loaded with
 * libphcluster and answers find for every key of its keys file (and, made
 * with --values, gives each key its starting value). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "phcluster.h"

static int run(char *const argv[])
{
    char err[1024];
    hx_path_buf(err, sizeof err, "client.stderr");
    int rc = hx_wait(hx_spawn_argv(argv, NULL, err), HX_HANG_MS);
    if (rc != 0)
        hx_dump("client.stderr", err);
    return rc;
}

#define CLIENT(...) ((char *const[]){(char *)hx_client_bin, __VA_ARGS__, "--coordinator", \
                                     (char *)hx_endpoint(), NULL})
#define LOCAL(...) ((char *const[]){(char *)hx_client_bin, __VA_ARGS__, "--local", NULL})

/* The .phc at OUT/NAME/NAME.phc answers find for every key of keys_path
 * (or, index_only, index), and rejects a key next to each one. */
static void check_phc(const char *out, const char *name, const char *keys_path, int index_only)
{
    char phc[700];
    snprintf(phc, sizeof phc, "%s/%s/%s.phc", out, name, name);
    FILE *f = fopen(keys_path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    uint32_t *keys = malloc((size_t)len);
    assert_non_null(keys);
    assert_int_equal(fread(keys, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    uint32_t n = (uint32_t)(len / 4);
    phc_table *t;
    phc_error e;
    int rc = phc_table_load(phc, index_only ? 0 : PHC_LOAD_VERIFY, &t, &e);
    if (rc)
        fail_msg("%s", e.msg);
    assert_int_equal(phc_table_count(t), n);
    assert_int_equal(phc_table_has_keys(t), !index_only);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(phc_table_index(t, keys[i]), i);
        if (!index_only)
            assert_int_equal(phc_table_find(t, keys[i]), i);
    }
    phc_table_free(t);
    free(keys);
}

static void check_files(const char *out, const char *name, int want_c)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%s/%s.phc", out, name, name);
    assert_true(hx_exists(p));
    snprintf(p, sizeof p, "%s/%s/%s.c", out, name, name);
    assert_int_equal(hx_exists(p), want_c);
    snprintf(p, sizeof p, "%s/%s/CMakeLists.txt", out, name);
    assert_int_equal(hx_exists(p), want_c);
}

/* Through the coordinator and a worker (processes): create and bulk. */
static void test_emit_cluster(void **state)
{
    (void)state;
    char keys[512], out[512], dir[512], bout[512], iout[512];
    hx_path_buf(keys, sizeof keys, "one-3000.keys");
    hx_write_keys(keys, 3000, 77, false);
    hx_path_buf(out, sizeof out, "c-out");
    assert_int_equal(run(CLIENT("create", keys, "-o", out, "--emit", "c,bin")), 0);
    check_files(out, "one-3000", 1);
    check_phc(out, "one-3000", keys, 0);

    hx_mkdir(hx_path("bulk"));
    for (int i = 0; i < 6; i++) {
        char p[512];
        hx_path_buf(p, sizeof p, "bulk/b%d.keys", i);
        hx_write_keys(p, 100 + 900 * (uint32_t)i, 1000 + (uint32_t)i, false);
    }
    hx_path_buf(dir, sizeof dir, "bulk");
    hx_path_buf(bout, sizeof bout, "b-out");
    assert_int_equal(run(CLIENT("bulk-create", dir, "-o", bout, "--emit", "bin")), 0);
    for (int i = 0; i < 6; i++) {
        char name[32], p[512];
        snprintf(name, sizeof name, "b%d", i);
        hx_path_buf(p, sizeof p, "bulk/b%d.keys", i);
        check_files(bout, name, 0);
        check_phc(bout, name, p, 0);
    }
    assert_true(hx_exists(hx_path("b-out/results.csv")));

    hx_path_buf(iout, sizeof iout, "i-out");
    assert_int_equal(run(CLIENT("create", keys, "-o", iout, "--emit", "bin", "--index-only")), 0);
    check_phc(iout, "one-3000", keys, 1);
}

/* --local: the embedded cluster, and a partitioned table made in the
 * client (--partition N). */
static void test_emit_local(void **state)
{
    (void)state;
    char keys[512], out[512], pout[512];
    hx_path_buf(keys, sizeof keys, "loc-5000.keys");
    hx_write_keys(keys, 5000, 99, false);
    hx_path_buf(out, sizeof out, "l-out");
    assert_int_equal(run(LOCAL("create", keys, "-o", out, "--emit", "bin")), 0);
    check_files(out, "loc-5000", 0);
    check_phc(out, "loc-5000", keys, 0);

    hx_path_buf(pout, sizeof pout, "p-out");
    assert_int_equal(run(LOCAL("create", keys, "-o", pout, "--emit", "c,bin", "--partition", "500")), 0);
    check_files(pout, "loc-5000", 1);
    check_phc(pout, "loc-5000", keys, 0);
    /* A bad --emit list: refused before anything runs. */
    assert_int_equal(run(LOCAL("create", keys, "-o", out, "--emit", "c,pdf")), 1);
    assert_int_equal(run(LOCAL("create", keys, "-o", out, "--emit", "")), 1);
}

/* Two files of the same bytes (both readable). */
static bool same_bytes(const char *a, const char *b)
{
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    bool same = f && g;
    for (int x = 0, y = 0; same && (x != EOF || y != EOF);) {
        x = fgetc(f);
        y = fgetc(g);
        same = x == y;
    }
    if (f)
        fclose(f);
    if (g)
        fclose(g);
    return same;
}

/* A/NAME/NAME+file and B/NAME/NAME+file hold the same bytes for each of
 * files (one starting with '/' names A/NAME+file, as "/CMakeLists.txt");
 * what says which run's files differ. */
static void same_files(const char *a, const char *b, const char *name,
                       const char *const *files, size_t nfiles, const char *what)
{
    for (size_t i = 0; i < nfiles; i++) {
        char pa[700], pb[700];
        const char *sep = files[i][0] == '/' ? "" : "/", *stem = files[i][0] == '/' ? "" : name;
        snprintf(pa, sizeof pa, "%s/%s%s%s%s", a, name, sep, stem, files[i]);
        snprintf(pb, sizeof pb, "%s/%s%s%s%s", b, name, sep, stem, files[i]);
        if (!same_bytes(pa, pb))
            fail_msg("%s%s %sdiffers between --local and the cluster", name, files[i], what);
    }
}

/* The .phc's values: value size vs, member i holding start[i] (NULL: 0);
 * a non-member has none. */
static void check_phc_values(const char *out, const char *name, const char *keys_path,
                             unsigned vs, const uint64_t *start)
{
    char phc[700];
    snprintf(phc, sizeof phc, "%s/%s/%s.phc", out, name, name);
    check_phc(out, name, keys_path, 0);
    FILE *f = fopen(keys_path, "rb");
    assert_non_null(f);
    uint32_t k;
    phc_table *t;
    phc_error e;
    if (phc_table_load(phc, 0, &t, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(phc_table_value_size(t), vs);
    for (uint32_t i = 0; fread(&k, 4, 1, f) == 1; i++) {
        assert_int_equal(phc_table_lookup(t, k), start ? start[i] : 0);
        if (phc_table_find(t, k + 1) == PHC_NOT_FOUND)
            assert_int_equal(phc_table_increment(t, k + 1), PHC_NOT_MEMBER);
    }
    fclose(f);
    phc_table_free(t);
}

/* --values with --emit: NAME.phc carries the starting values (the values
 * file's, else zeros), through the coordinator and --local. */
static void test_emit_values(void **state)
{
    (void)state;
    char keys[512], vals[512], out[512], lout[512];
    uint32_t n = 2500;
    hx_path_buf(keys, sizeof keys, "val-2500.keys");
    hx_write_keys(keys, n, 31, false);
    uint64_t *start = malloc(n * sizeof *start);
    uint32_t *start32 = malloc(n * sizeof *start32);
    assert_non_null(start);
    assert_non_null(start32);
    for (uint32_t i = 0; i < n; i++)
        start[i] = start32[i] = i * 7u + 1u;
    hx_path_buf(vals, sizeof vals, "val-2500.values");
    FILE *f = fopen(vals, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(start32, 4, n, f), n);
    fclose(f);
    hx_path_buf(out, sizeof out, "v-out");
    assert_int_equal(run(CLIENT("create", keys, "-o", out, "--emit", "c,bin", "--values", "4",
                                "--values-file", vals)), 0);
    check_files(out, "val-2500", 1);
    check_phc_values(out, "val-2500", keys, 4, start);
    hx_path_buf(lout, sizeof lout, "vl-out");
    assert_int_equal(run(LOCAL("create", keys, "-o", lout, "--emit", "bin", "--values", "8")), 0);
    check_files(lout, "val-2500", 0);
    check_phc_values(lout, "val-2500", keys, 8, NULL);

    /* Partitioned (--partition 500): made in the client with --local, the
     * values in NAME.phc and NAME.start, the keys in NAME.keys; through the
     * coordinator (values from 0) the same files as --local's. */
    char pout[512], p[700], cout[512];
    hx_path_buf(pout, sizeof pout, "vp-out");
    assert_int_equal(run(LOCAL("create", keys, "-o", pout, "--emit", "c,bin", "--values", "4",
                               "--values-file", vals, "--partition", "500")), 0);
    check_files(pout, "val-2500", 1);
    check_phc_values(pout, "val-2500", keys, 4, start);
    snprintf(p, sizeof p, "%s/val-2500/val-2500.start", pout);
    assert_true(hx_exists(p));
    snprintf(p, sizeof p, "%s/val-2500/val-2500.keys", pout);
    assert_true(hx_exists(p));
    char zout[512];
    hx_path_buf(zout, sizeof zout, "vz-out");
    hx_path_buf(cout, sizeof cout, "vc-out");
    assert_int_equal(run(LOCAL("create", keys, "-o", zout, "--emit", "c,bin", "--values", "8",
                               "--partition", "500")), 0);
    assert_int_equal(run(CLIENT("create", keys, "-o", cout, "--emit", "c,bin", "--values", "8",
                                "--partition", "500")), 0);
    check_phc_values(cout, "val-2500", keys, 8, NULL);
    static const char *const files[] = {".h", ".c", ".keys", ".phc", ".values", ".buckets",
                                        "_test.c", "_data.S"};
    same_files(zout, cout, "val-2500", files, sizeof files / sizeof files[0], "");
    /* A values file one value short, --local partitioned: one line naming
     * it, exit 1, nothing written. */
    char sv[512], sout[512], msg_path[512];
    hx_path_buf(sv, sizeof sv, "short.values");
    hx_write_bytes(sv, start32, (n - 1) * 4u);
    hx_path_buf(sout, sizeof sout, "vs-out");
    assert_int_equal(run(LOCAL("create", keys, "-o", sout, "--values", "4", "--values-file", sv,
                               "--partition", "500")), 1);
    hx_path_buf(msg_path, sizeof msg_path, "client.stderr");
    char *msg = hx_slurp(msg_path);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "short.values: 2499 values, but "));
    assert_int_equal(hx_count(msg, "\n"), 1);
    free(msg);
    assert_false(hx_exists(sout));
    /* Through the coordinator with the values file (which it reads, like
     * the keys file): --local's files, NAME.start included; a short one is
     * refused with one line and exit 1, nothing written. */
    char rout[512];
    hx_path_buf(rout, sizeof rout, "vr-out");
    assert_int_equal(run(CLIENT("create", keys, "-o", rout, "--emit", "c,bin", "--values", "4",
                                "--values-file", vals, "--partition", "500")), 0);
    check_phc_values(rout, "val-2500", keys, 4, start);
    static const char *const sfiles[] = {".h", ".c", ".keys", ".start", ".phc", ".values",
                                         ".buckets", "_test.c", "_data.S", "/CMakeLists.txt"};
    same_files(pout, rout, "val-2500", sfiles, sizeof sfiles / sizeof sfiles[0],
               "(values file) ");
    char qout[512];
    hx_path_buf(qout, sizeof qout, "vq-out");
    assert_int_equal(run(CLIENT("create", keys, "-o", qout, "--values", "4", "--values-file",
                                sv, "--partition", "500")), 1);
    msg = hx_slurp(msg_path);
    assert_non_null(strstr(msg, "short.values: 2499 values, but "));
    free(msg);
    assert_false(hx_exists(qout));
    free(start);
    free(start32);
}

static int setup(void **state)
{
    if (hx_setup(state) != 0)
        return -1;
    hx_args a = {0}, w = {0};
    hx_args_add(&a, "--allow-root", hx_root(), NULL);
    if (hx_coord_start(NULL, &a, NULL, "coord.log") != 0)
        return -1;
    hx_args_add(&w, "--threads", "1", NULL);
    hx_worker_start(&w, "worker.log");
    return hx_wait_workers(1, HX_HANG_MS) ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_emit_cluster, setup, hx_teardown),
        cmocka_unit_test_setup_teardown(test_emit_local, setup, hx_teardown),
        cmocka_unit_test_setup_teardown(test_emit_values, setup, hx_teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    unsetenv("PHCLUSTER_COORDINATOR");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
