/* test_emit_build.c - generated tables really build and pass their tests.
 *
 * usage: test_emit_build CMAKE CTEST SCRATCH_DIR
 * For several key sets and hash families: write a keys file, ph_create_file
 * it, configure and build the generated folder with CMake (warnings as
 * errors), run its ctest, its NAME_test and one round of NAME_bench.  Then
 * a table with one corrupted value must make its NAME_test fail: proof that
 * the generated test can fail at all; failing tests built with ASan must
 * still free what they allocated. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "gen_keys.h"
#include "ph_create.h"
#include "ph_emit.h"
#include "ph_results_csv.h"
#include "ph_fs.h"
#include "ph_keys.h"
#include "ph_part_emit.h"
#include "ph_solver.h"

static const char *g_cmake, *g_ctest, *g_tmp;

/* snprintf for paths that fails the test instead of truncating. */
static void pathf(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void pathf(char *out, size_t outlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, outlen, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < outlen);
}

/* Run argv (argv[0] an absolute path) with stdout+stderr appended to log;
 * returns the exit status, or -1 if it did not exit normally. */
static int run(char *const argv[], const char *log)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        assert_int_equal(errno, EINTR);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* run() with LeakSanitizer on and none of this process's other ASan
 * options (abort_on_error would turn a leak report into a signal): a
 * program built with asan that leaks says LeakSanitizer on stderr. */
static int run_leak_checked(char *const argv[], const char *log)
{
    const char *was = getenv("ASAN_OPTIONS");
    char *saved = was ? strdup(was) : NULL;
    assert_int_equal(setenv("ASAN_OPTIONS", "detect_leaks=1", 1), 0);
    int rc = run(argv, log);
    if (saved)
        setenv("ASAN_OPTIONS", saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(saved);
    return rc;
}

static char *slurp(const char *path)
{
    void *data = NULL;
    size_t len = 0;
    if (ph_fs_read_all(path, 1u << 24, &data, &len, NULL) != 0)
        return strdup("");
    char *s = realloc(data, len + 1);
    s[len] = '\0';
    return s;
}

static void show_log(const char *log)
{
    char *s = slurp(log);
    size_t n = strlen(s);
    print_error("---- %s (last 3000 bytes) ----\n%s\n", log, n > 3000 ? s + n - 3000 : s);
    free(s);
}

/* A growing text (test-only; the solver's ph_sb is private to it). */
typedef struct text_buf {
    char *p;
    size_t n;
} text_buf;

static void text_add(text_buf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(text_buf *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(len >= 0);
    char *q = realloc(t->p, t->n + (size_t)len + 1);
    assert_non_null(q);
    t->p = q;
    va_start(ap, fmt);
    vsnprintf(t->p + t->n, (size_t)len + 1, fmt, ap);
    va_end(ap);
    t->n += (size_t)len;
}

/* Configure and build dir/build; 0 if both steps succeed.  asan: with
 * AddressSanitizer, whose leak check fails a program that exits with
 * memory it did not free (run it with run_leak_checked). */
static int build_table(const char *dir, const char *log, bool asan)
{
    char bdir[1024];
    pathf(bdir, sizeof bdir, "%s/build", dir);
    char *conf[] = {(char *)g_cmake, "-S", (char *)dir, "-B", bdir,
                    asan ? "-DCMAKE_C_FLAGS=-Wall -Wextra -Wshadow -Werror "
                           "-fsanitize=address -fno-omit-frame-pointer"
                         : "-DCMAKE_C_FLAGS=-Wall -Wextra -Wshadow -Werror",
                    NULL};
    char *build[] = {(char *)g_cmake, "--build", bdir, "-j", "2", NULL};
    int rc = run(conf, log);
    if (rc == 0)
        rc = run(build, log);
    return rc;
}

/* Build out/name and check ctest, NAME_test and NAME_bench all succeed. */
static void build_and_pass(const char *out, const char *name)
{
    char dir[1024], log[1200], exe[1200], bdir[1100];
    pathf(dir, sizeof dir, "%s/%s", out, name);
    pathf(log, sizeof log, "%s/%s.log", g_tmp, name);
    pathf(bdir, sizeof bdir, "%s/build", dir);
    int rc = build_table(dir, log, false);
    char *ctest[] = {(char *)g_ctest, "--test-dir", bdir, "--output-on-failure", NULL};
    if (rc == 0)
        rc = run(ctest, log);
    pathf(exe, sizeof exe, "%s/%s_test", bdir, name);
    char *test[] = {exe, NULL};
    if (rc == 0)
        rc = run(test, log);
    pathf(exe, sizeof exe, "%s/%s_bench", bdir, name);
    char *bench[] = {exe, "1", NULL};
    if (rc == 0)
        rc = run(bench, log);
    char *text = slurp(log);
    if (rc != 0 || !strstr(text, "keys ok") || !strstr(text, "ns_per_index=")
        || !strstr(text, "non-members rejected") || !strstr(text, "ns_per_find=")) {
        show_log(log);
        fail_msg("%s: generated table did not build and pass (rc %d)", name, rc);
    }
    free(text);
}

typedef struct table_case {
    const char *name;
    gen_kind kind;
    uint32_t n;
    ph_hash_kind hash;
    bool compact;
} table_case;

static void create_case(const table_case *c)
{
    char kp[1024], out[1024];
    pathf(kp, sizeof kp, "%s/%s.keys", g_tmp, c->name);
    pathf(out, sizeof out, "%s/out", g_tmp);
    uint32_t *k = gen_keys(c->kind, c->n, 20261125);
    assert_non_null(k);
    assert_int_equal(gen_keys_write(kp, k, c->n), 0);
    free(k);
    ph_solve_opts o;
    ph_solve_opts_init(&o);
    o.hash = c->hash;
    o.compact = c->compact;
    o.seed = 7;
    ph_result_row r;
    ph_err err = {0};
    if (ph_create_file(kp, out, &o, &r, &err) != 0)
        fail_msg("%s: %s", c->name, err.msg);
    assert_int_equal(r.keys, c->n);
    if (c->hash != PH_HASH_AUTO)
        assert_string_equal(r.hash, ph_hash_name(c->hash));
    build_and_pass(out, c->name);
}

static void test_random_5000(void **state)
{
    (void)state;
    create_case(&(table_case){"random-5000", GEN_RANDOM, 5000, PH_HASH_AUTO, false});
}

static void test_compact_4100(void **state)
{
    (void)state;
    create_case(&(table_case){"compact-4100", GEN_CLUSTERED16, 4100, PH_HASH_AUTO, true});
}

static void test_mulshift_65537(void **state)
{
    (void)state;
    create_case(&(table_case){"mulshift-65537", GEN_RANDOM, 65537, PH_HASH_MULSHIFT, false});
}

static void test_mulrot_65537(void **state)
{
    (void)state;
    create_case(&(table_case){"mulrot-65537", GEN_CLUSTERED16, 65537, PH_HASH_MULROT, false});
}

static void test_mix_65537(void **state)
{
    (void)state;
    create_case(&(table_case){"mix-65537", GEN_SHUFFLED, 65537, PH_HASH_MIX, false});
}

/* 64-bit keys: half differ from another key only in their high 32 bits,
 * the rest are spread over all 64 bits; written little-endian. */
static void write_keys64(const char *path, uint32_t n, uint64_t seed)
{
    uint64_t *k = malloc((size_t)n * sizeof *k);
    assert_non_null(k);
    uint64_t st = seed;
    for (uint32_t i = 0; i < n; i++)
        k[i] = i % 2 ? (uint64_t)(i / 2 + 1) << 32 | 0xabcdu : gen_next(&st) | 1ull << 63;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (uint32_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++)
            assert_int_equal(fputc((int)(k[i] >> (8 * b) & 0xff), f), (int)(k[i] >> (8 * b) & 0xff));
    assert_int_equal(fclose(f), 0);
    free(k);
}

/* A table of 64-bit keys (the name wide64.keys says so): uint64_t Index
 * and find, and its generated test checks every key, the non-members next
 * to them (one differing only in the high 32 bits among them) and 1M
 * random 64-bit keys. */
static void key64_case(const char *name, uint32_t n, bool compact)
{
    char kp[1024], out[1024], hdr[1200];
    pathf(kp, sizeof kp, "%s/%s.keys", g_tmp, name);
    pathf(out, sizeof out, "%s/out", g_tmp);
    write_keys64(kp, n, 64);
    ph_solve_opts o;
    ph_solve_opts_init(&o);
    o.compact = compact;
    ph_result_row r;
    ph_err err = {0};
    if (ph_create_file(kp, out, &o, &r, &err) != 0)
        fail_msg("%s: %s", name, err.msg);
    assert_int_equal(r.keys, n);
    assert_string_equal(r.hash, "mix");
    pathf(hdr, sizeof hdr, "%s/%s/%s.h", out, name, name);
    char *h = slurp(hdr);
    assert_non_null(strstr(h, "_index(uint64_t key);"));
    assert_non_null(strstr(h, "_find(uint64_t key);"));
    assert_non_null(strstr(h, "_KEY_BITS 64"));
    free(h);
    build_and_pass(out, name);
}

static void test_key64_pow2(void **state)
{
    (void)state;
    key64_case("wide64", 5000, false);
}

static void test_key64_compact(void **state)
{
    (void)state;
    key64_case("wide-compact64", 70001, true);
}

/* A partitioned table of 64-bit keys: NAME_index(uint64_t) over binary
 * data; its test reads the 8-byte keys file and checks every key. */
static void test_key64_partitioned(void **state)
{
    (void)state;
    const uint32_t n = 300000;
    char kp[1024], out[1024], dir[1200], log[1200], exe[1300];
    pathf(kp, sizeof kp, "%s/part64.keys", g_tmp);
    pathf(out, sizeof out, "%s/out", g_tmp);
    write_keys64(kp, n, 65);
    ph_part_opts o;
    ph_part_opts_init(&o);
    o.threads = 2;
    ph_result_row r;
    ph_err err = {0};
    if (ph_part_create_file_sized(kp, PH_KEY_SIZE_AUTO, out, &o, &r, &err) != 0)
        fail_msg("part64: %s", err.msg);
    assert_int_equal(r.keys, n);
    pathf(dir, sizeof dir, "%s/part64", out);
    pathf(log, sizeof log, "%s/part64.log", g_tmp);
    int rc = build_table(dir, log, false);
    pathf(exe, sizeof exe, "%s/build/part64_test", dir);
    char *test[] = {exe, kp, NULL};
    if (rc == 0)
        rc = run(test, log);
    char *text = slurp(log);
    if (rc != 0 || !strstr(text, "part64_test: 300000 keys ok")) {
        show_log(log);
        fail_msg("partitioned 64-bit table did not build and pass (rc %d)", rc);
    }
    free(text);
}

/* Flip the last digit of the vertex-th value of the assigned table in the
 * NUL-terminated source text (±1, so the value stays in range). */
static void corrupt_value(char *src, uint32_t vertex)
{
    char *p = strchr(strstr(src, "_assigned["), '{');
    assert_non_null(p);
    for (uint32_t i = 0;; i++) {
        while (*p < '0' || *p > '9')
            p++;
        char *end = p;
        while (*end >= '0' && *end <= '9')
            end++;
        if (i == vertex) {
            char d = end[-1];
            end[-1] = (char)(((d - '0') ^ 1) + '0');
            return;
        }
        p = end;
    }
}

static void test_corrupt_table_fails(void **state)
{
    (void)state;
    const uint32_t n = 5000;
    uint32_t *k = gen_keys(GEN_RANDOM, n, 99);
    assert_non_null(k);
    ph_solve_opts o;
    ph_solve_opts_init(&o);
    ph_table t = {0};
    ph_err err = {0};
    assert_int_equal(ph_solve(k, n, &o, &t, &err), 0);
    ph_artifacts a = {0};
    assert_int_equal(ph_emit_render(&t, k, "bad-5000", &a, &err), 0);
    ph_artifact *src = NULL;
    for (size_t i = 0; i < a.count; i++)
        if (!strcmp(a.items[i].path, "bad-5000/bad-5000.c"))
            src = &a.items[i];
    assert_non_null(src);
    /* Artifacts are not NUL-terminated: corrupt a terminated copy. */
    char *text = malloc(src->len + 1);
    memcpy(text, src->data, src->len);
    text[src->len] = '\0';
    uint32_t u, v;
    ph_table_vertices(&t, k[0], &u, &v); /* a vertex key 0 really uses */
    corrupt_value(text, u);
    free(src->data);
    src->data = text;
    char out[1024], log[1200], exe[1200];
    pathf(out, sizeof out, "%s/bad", g_tmp);
    assert_int_equal(ph_artifacts_write(&a, out, &err), 0);
    pathf(log, sizeof log, "%s/bad-5000.log", g_tmp);
    pathf(out, sizeof out, "%s/bad/bad-5000", g_tmp);
    if (build_table(out, log, false) != 0) {
        show_log(log);
        fail_msg("corrupted table did not build");
    }
    pathf(exe, sizeof exe, "%s/build/bad-5000_test", out);
    char *test[] = {exe, NULL};
    assert_int_equal(run(test, log), 1);
    char *s = slurp(log);
    assert_non_null(strstr(s, "at position 0:"));
    free(s);
    ph_artifacts_free(&a);
    ph_table_free(&t);
    free(k);
}

/* Render a solved table of n random keys with opts, replace the first
 * `from` in NAME.c by `to` (when from is set), write, build and run
 * NAME_test; returns its exit status, the log text in *text (caller frees). */
static int render_build_run(const char *name, const ph_emit_opts *opts, const char *from,
                            const char *to, bool asan, char **text)
{
    const uint32_t n = 5000;
    uint32_t *k = gen_keys(GEN_RANDOM, n, 4242);
    assert_non_null(k);
    ph_solve_opts o;
    ph_solve_opts_init(&o);
    ph_table t = {0};
    ph_err err = {0};
    assert_int_equal(ph_solve(k, n, &o, &t, &err), 0);
    ph_artifacts a = {0};
    assert_int_equal(ph_emit_render_opts(&t, k, name, opts, &a, &err), 0);
    char src_path[300], out[1024], log[1200], exe[1200];
    pathf(src_path, sizeof src_path, "%s/%s.c", name, name);
    for (size_t i = 0; from && i < a.count; i++) {
        if (strcmp(a.items[i].path, src_path))
            continue;
        ph_artifact *src = &a.items[i];
        char *old = malloc(src->len + 1);
        memcpy(old, src->data, src->len);
        old[src->len] = '\0';
        char *at = strstr(old, from);
        assert_non_null(at);
        size_t nlen = src->len - strlen(from) + strlen(to);
        char *text2 = malloc(nlen + 1);
        snprintf(text2, nlen + 1, "%.*s%s%s", (int)(at - old), old, to, at + strlen(from));
        free(old);
        free(src->data);
        src->data = text2;
        src->len = nlen;
    }
    pathf(out, sizeof out, "%s/%s-out", g_tmp, name);
    assert_int_equal(ph_artifacts_write(&a, out, &err), 0);
    pathf(log, sizeof log, "%s/%s.log", g_tmp, name);
    pathf(out, sizeof out, "%s/%s-out/%s", g_tmp, name, name);
    if (build_table(out, log, asan) != 0) {
        show_log(log);
        fail_msg("%s: generated table did not build", name);
    }
    pathf(exe, sizeof exe, "%s/build/%s_test", out, name);
    char *test[] = {exe, NULL};
    int rc = asan ? run_leak_checked(test, log) : run(test, log);
    *text = slurp(log);
    ph_artifacts_free(&a);
    ph_table_free(&t);
    free(k);
    return rc;
}

/* A find that accepts keys outside the set must make the generated test
 * fail: proof that its non-member checks can fail.  Built with ASan, the
 * test must also free its sorted copy of the keys on the way out. */
static void test_find_accepting_fails(void **state)
{
    (void)state;
    char *text = NULL;
    int rc = render_build_run("loose-5000", NULL, "_keyset[i] == key", "_keyset[i] != key + 1u",
                              true, &text);
    if (rc != 1 || !strstr(text, "non-member 0x") || strstr(text, "LeakSanitizer"))
        fail_msg("a find accepting non-members passed its test (rc %d):\n%s", rc, text);
    free(text);
}

/* --index-only: no key set, no NAME_find, and the test still checks Index. */
static void test_index_only(void **state)
{
    (void)state;
    ph_emit_opts eo;
    ph_emit_opts_init(&eo);
    eo.index_only = true;
    char *text = NULL;
    int rc = render_build_run("bare-5000", &eo, NULL, NULL, false, &text);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(text, "bare_5000_test: 5000 keys ok"));
    assert_null(strstr(text, "non-members"));
    free(text);
}

/* --values 4 starting at 0: every operation on every key and on the
 * non-members passes the generated test. */
static void test_values32(void **state)
{
    (void)state;
    ph_emit_opts eo;
    ph_emit_opts_init(&eo);
    eo.values = 4;
    char *text = NULL;
    int rc = render_build_run("vals-5000", &eo, NULL, NULL, false, &text);
    if (rc != 0 || !strstr(text, "vals_5000_test: values ok: every operation on 5000 keys"))
        fail_msg("values table failed its test (rc %d):\n%s", rc, text);
    free(text);
}

/* A lookup that answers for a non-member must make the generated test
 * fail: proof that its non-member checks of the values can fail; built
 * with ASan, without leaking its sorted copy of the keys. */
static void test_values_loose_fails(void **state)
{
    (void)state;
    ph_emit_opts eo;
    ph_emit_opts_init(&eo);
    eo.values = 4;
    char *text = NULL;
    int rc = render_build_run("vloose-5000", &eo, "_NOT_FOUND ? 0 :", "_NOT_FOUND ? 1 :",
                              true, &text);
    if (rc != 1 || !strstr(text, "values: non-member") || strstr(text, "LeakSanitizer"))
        fail_msg("a lookup answering for non-members passed its test (rc %d):\n%s", rc, text);
    free(text);
}

/* 64-bit keys with 64-bit values starting from given values, and values
 * with --index-only refused. */
static void test_values64_initial(void **state)
{
    (void)state;
    const uint32_t n = 3000;
    const char *name = "vals64-3000";
    uint64_t *k = malloc(n * sizeof *k), *v = malloc(n * sizeof *v);
    assert_true(k && v);
    uint64_t st = 77;
    for (uint32_t i = 0; i < n; i++) {
        k[i] = i % 2 ? (uint64_t)(i + 1) << 32 : gen_next(&st);
        v[i] = gen_next(&st);
    }
    ph_table t = {0};
    ph_err err = {0};
    assert_int_equal(ph_solve64(k, n, NULL, &t, &err), 0);
    ph_emit_opts eo;
    ph_emit_opts_init(&eo);
    eo.values = 8;
    eo.initial_values = v;
    ph_artifacts a = {0};
    assert_int_equal(ph_emit_render_opts(&t, k, name, &eo, &a, &err), 0);
    char out[1024], log[1200], exe[1300];
    pathf(out, sizeof out, "%s/%s-out", g_tmp, name);
    assert_int_equal(ph_artifacts_write(&a, out, &err), 0);
    pathf(out, sizeof out, "%s/%s-out/%s", g_tmp, name, name);
    pathf(log, sizeof log, "%s/%s.log", g_tmp, name);
    int rc = build_table(out, log, false);
    pathf(exe, sizeof exe, "%s/build/%s_test", out, name);
    char *test[] = {exe, NULL};
    if (rc == 0)
        rc = run(test, log);
    char *text = slurp(log);
    if (rc != 0 || !strstr(text, "values ok: every operation on 3000 keys")) {
        show_log(log);
        fail_msg("64-bit values table failed (rc %d)", rc);
    }
    free(text);
    ph_artifacts_free(&a);
    eo.index_only = true;
    assert_int_equal(ph_emit_render_opts(&t, k, name, &eo, &a, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "index-only"));
    ph_artifacts_free(&a);
    ph_table_free(&t);
    free(k);
    free(v);
}

/* A partitioned table's test given other starting values than the
 * table's (vp with one byte changed) fails at the member checks, and
 * frees what it read (its ASan build reports any leak). */
static void part_values_wrong_start(const char *name, const char *kp, const char *vp,
                                    const char *bdir, size_t len)
{
    char wrong[1200], log[1200], exe[1400];
    pathf(wrong, sizeof wrong, "%s.wrong", vp);
    pathf(log, sizeof log, "%s/%s-wrong.log", g_tmp, name);
    pathf(exe, sizeof exe, "%s/%s_test", bdir, name);
    char *v = slurp(vp);
    v[len / 2] ^= 1;
    ph_err e;
    assert_int_equal(ph_fs_write_atomic(wrong, v, len, 0, &e), 0);
    free(v);
    char *test[] = {exe, (char *)kp, wrong, NULL};
    int rc = run_leak_checked(test, log);
    char *text = slurp(log);
    if (rc != 1 || !strstr(text, "values of member") || strstr(text, "LeakSanitizer")) {
        show_log(log);
        fail_msg("%s: wrong starting values: rc %d, want 1 without a leak", name, rc);
    }
    free(text);
}

/* Partitioned tables with values (create --local --partition N --values):
 * NAME.keys and NAME.start beside the table data, and the generated test,
 * run by ctest with the keys file and NAME.start, runs every operation on
 * every key and on non-members.  32-bit keys with 4-byte values from a
 * values file; 64-bit keys with 8-byte values from 0; a values file of the
 * wrong length refused naming it, nothing written. */
static void part_values_case(const char *name, uint32_t n, unsigned values, bool start)
{
    char kp[1024], vp[1024], out[1024], dir[1200], log[1200], bdir[1300];
    bool wide = strstr(name, "64") != NULL;
    pathf(kp, sizeof kp, "%s/%s.keys", g_tmp, name);
    pathf(vp, sizeof vp, "%s/%s.vals", g_tmp, name);
    pathf(out, sizeof out, "%s/pv-out", g_tmp);
    if (wide) {
        write_keys64(kp, n, 91);
    } else {
        uint32_t *k = gen_keys(GEN_SHUFFLED, n, 17);
        assert_non_null(k);
        assert_int_equal(gen_keys_write(kp, k, n), 0);
        free(k);
    }
    if (start) {
        uint8_t *v = malloc((size_t)n * values);
        assert_non_null(v);
        for (size_t i = 0; i < (size_t)n * values; i++)
            v[i] = (uint8_t)(i * 131 + 7);
        ph_err e;
        assert_int_equal(ph_fs_write_atomic(vp, v, (size_t)n * values, 0, &e), 0);
        free(v);
    }
    ph_part_opts o;
    ph_part_opts_init(&o);
    o.threads = 2;
    o.keys_per_bucket = 1000;
    ph_result_row r;
    ph_err err = {0};
    if (ph_part_create_file_values(kp, PH_KEY_SIZE_AUTO, out, &o,
                                   PH_PART_EMIT_C | PH_PART_EMIT_KEYS, values,
                                   start ? vp : NULL, &r, &err) != 0)
        fail_msg("%s: %s", name, err.msg);
    pathf(dir, sizeof dir, "%s/%s", out, name);
    pathf(log, sizeof log, "%s/%s.log", g_tmp, name);
    pathf(bdir, sizeof bdir, "%s/build", dir);
    int rc = build_table(dir, log, true);
    char *ctest[] = {(char *)g_ctest, "--test-dir", bdir, "--output-on-failure", "-V", NULL};
    if (rc == 0)
        rc = run_leak_checked(ctest, log);
    char *text = slurp(log);
    char want[200];
    snprintf(want, sizeof want, "values ok: every operation on %u keys", n);
    if (rc != 0 || !strstr(text, want)) {
        show_log(log);
        fail_msg("%s: partitioned table with values did not build and pass (rc %d)", name, rc);
    }
    free(text);
    if (start)
        part_values_wrong_start(name, kp, vp, bdir, n * values);
}

static void test_values_partitioned(void **state)
{
    (void)state;
    part_values_case("pvals-60000", 60000, 4, true);
    part_values_case("pvals-40000-u64", 40000, 8, false);
    /* One value short: refused before anything is written. */
    char kp[1024], vp[1024], out[1024], p[1200];
    pathf(kp, sizeof kp, "%s/pvals-60000.keys", g_tmp);
    pathf(vp, sizeof vp, "%s/short.vals", g_tmp);
    pathf(out, sizeof out, "%s/pv-bad", g_tmp);
    uint32_t *v = calloc(59999, 4);
    ph_err err = {0};
    assert_int_equal(ph_fs_write_atomic(vp, v, 59999 * 4, 0, &err), 0);
    free(v);
    ph_part_opts o;
    ph_part_opts_init(&o);
    o.keys_per_bucket = 1000;
    ph_result_row r;
    assert_int_equal(ph_part_create_file_values(kp, PH_KEY_SIZE_AUTO, out, &o,
                                                PH_PART_EMIT_C | PH_PART_EMIT_KEYS, 4, vp, &r,
                                                &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "short.vals: 59999 values"));
    pathf(p, sizeof p, "%s/pvals-60000", out);
    assert_int_equal(access(p, F_OK), -1);
    /* Values without the key set: refused. */
    assert_int_equal(ph_part_create_file_values(kp, PH_KEY_SIZE_AUTO, out, &o, PH_PART_EMIT_C,
                                                4, NULL, &r, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "key set"));
}

/* Tables whose names used to collide (guards "A_B_H" for "A_B" and "a_b";
 * targets "pair_test" for the test of "pair" and the library "pair_test")
 * build side by side in one CMake project, and one program uses them all. */
static void test_tables_in_one_program(void **state)
{
    (void)state;
    static const char *const names[] = {"pair", "pair_test", "A_B", "a_b"};
    enum { N = sizeof names / sizeof names[0] };
    char out[1024], kp[1200], path[1200];
    pathf(out, sizeof out, "%s/together", g_tmp);
    uint32_t first_key[N];
    for (int i = 0; i < N; i++) {
        uint32_t n = 100u + (uint32_t)i;
        uint32_t *k = gen_keys(GEN_RANDOM, n, 500u + (uint32_t)i);
        assert_non_null(k);
        first_key[i] = k[0];
        pathf(kp, sizeof kp, "%s/%s.keys", g_tmp, names[i]);
        assert_int_equal(gen_keys_write(kp, k, n), 0);
        free(k);
        ph_solve_opts o;
        ph_solve_opts_init(&o);
        ph_result_row r;
        ph_err err = {0};
        if (ph_create_file(kp, out, &o, &r, &err) != 0)
            fail_msg("%s: %s", names[i], err.msg);
    }
    text_buf cm = {0}, mc = {0};
    text_add(&cm, "cmake_minimum_required(VERSION 3.10)\nproject(together C)\n"
                  "enable_testing()\n");
    text_add(&mc, "#include <stdio.h>\n");
    for (int i = 0; i < N; i++) {
        text_add(&cm, "add_subdirectory(%s)\n", names[i]);
        text_add(&mc, "#include \"%s/%s.h\"\n", names[i], names[i]);
    }
    text_add(&cm, "add_executable(together main.c)\n"
                  "target_link_libraries(together PRIVATE pair pair_test A_B a_b)\n");
    text_add(&mc, "int main(void)\n{\n    int bad = 0;\n");
    for (int i = 0; i < N; i++)
        text_add(&mc, "    bad += %s_index(%uu) != 0 || %s_KEYS != %uu;\n", names[i],
                 (unsigned)first_key[i], names[i], 100u + (unsigned)i);
    text_add(&mc, "    printf(\"together: %%s\\n\", bad ? \"FAILED\" : \"ok\");\n"
                  "    return bad;\n}\n");
    ph_err err = {0};
    pathf(path, sizeof path, "%s/CMakeLists.txt", out);
    assert_int_equal(ph_fs_write_atomic(path, cm.p, cm.n, 0, &err), 0);
    pathf(path, sizeof path, "%s/main.c", out);
    assert_int_equal(ph_fs_write_atomic(path, mc.p, mc.n, 0, &err), 0);
    free(cm.p);
    free(mc.p);
    char log[1200], exe[1200];
    pathf(log, sizeof log, "%s/together.log", g_tmp);
    if (build_table(out, log, false) != 0) {
        show_log(log);
        fail_msg("tables with formerly colliding names did not build together");
    }
    pathf(exe, sizeof exe, "%s/build/together", out);
    char *run_it[] = {exe, NULL};
    int rc = run(run_it, log);
    char *text = slurp(log);
    if (rc != 0 || !strstr(text, "together: ok")) {
        show_log(log);
        fail_msg("program using all four tables failed (rc %d)", rc);
    }
    free(text);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s CMAKE CTEST SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    g_cmake = argv[1];
    g_ctest = argv[2];
    g_tmp = argv[3];
    /* A fresh scratch dir every run: stale builds must not hide failures. */
    char *rm[] = {(char *)g_cmake, "-E", "rm", "-rf", (char *)g_tmp, NULL};
    ph_err err = {0};
    if (run(rm, "/dev/null") != 0 || ph_fs_mkdirs(g_tmp, &err) != 0) {
        fprintf(stderr, "test_emit_build: cannot reset %s: %s\n", g_tmp, err.msg);
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_5000),    cmocka_unit_test(test_compact_4100),
        cmocka_unit_test(test_mulshift_65537), cmocka_unit_test(test_mulrot_65537),
        cmocka_unit_test(test_mix_65537),      cmocka_unit_test(test_corrupt_table_fails),
        cmocka_unit_test(test_find_accepting_fails), cmocka_unit_test(test_index_only),
        cmocka_unit_test(test_tables_in_one_program),
        cmocka_unit_test(test_key64_pow2),     cmocka_unit_test(test_key64_compact),
        cmocka_unit_test(test_key64_partitioned),
        cmocka_unit_test(test_values32),       cmocka_unit_test(test_values_loose_fails),
        cmocka_unit_test(test_values64_initial), cmocka_unit_test(test_values_partitioned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
