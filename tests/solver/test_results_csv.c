/* test_results_csv.c - results.csv read back strictly and merged.
 *
 * Unit level: the parser's refusals (one line naming the file, the line and
 * the field), merge by file name, and ph_results_csv_write on a real
 * directory: rows of earlier writes kept, a malformed file left untouched,
 * links at results.csv and at its lock file refused.  Several processes
 * writing at once: tests/hardening/test_results.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ph_results_csv.h"
#include "test_util.h"

#define HDR PH_RESULTS_CSV_HEADER

static ph_result_row row(const char *file, uint32_t keys, const char *status)
{
    ph_result_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.file, sizeof r.file, "%s", file);
    r.keys = keys;
    snprintf(r.hash, sizeof r.hash, "mulshift");
    r.seeds[0] = 7;
    r.vertices = 2 * keys;
    r.attempts = 1;
    r.table_bytes = 4ull * keys;
    snprintf(r.status, sizeof r.status, "%s", status);
    return r;
}

typedef struct seen {
    ph_result_row rows[16];
    size_t n;
} seen;

static int collect(void *ctx, const ph_result_row *r, size_t line_no, const char *line,
                   size_t len)
{
    (void)line_no;
    seen *s = ctx;
    assert_true(s->n < 16);
    assert_true(len > 0 && line[len] == '\n');
    s->rows[s->n++] = *r;
    return 0;
}

static int parse(const char *text, seen *s, ph_err *err)
{
    memset(s, 0, sizeof *s);
    return ph_results_csv_parse(text, strlen(text), "OUT/results.csv", collect, s, err);
}

static void test_parse_good(void **state)
{
    (void)state;
    ph_result_row in[3] = {row("a.keys", 10, "ok"), row("q\"x,\ny.keys", 20, "EDUP"),
                           row("z.keys", 4294967295u, "ok")};
    in[2].attempts = UINT64_MAX;
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(ph_results_csv_render(in, 3, &text, &len, NULL), 0);
    seen s;
    ph_err err = {0};
    assert_int_equal(parse(text, &s, &err), 0);
    assert_int_equal(s.n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_memory_equal(&s.rows[i], &in[i], sizeof in[i]);
    free(text);
    /* header alone: no rows */
    assert_int_equal(parse(HDR, &s, &err), 0);
    assert_int_equal(s.n, 0);
}

/* text must be refused with a message naming the file, line and the words. */
static void refused(const char *text, size_t line, const char *words)
{
    seen s;
    ph_err err = {0};
    int rc = parse(text, &s, &err);
    if (rc != PH_EINVAL)
        fail_msg("accepted (rc %d): %s", rc, text);
    char want[64];
    snprintf(want, sizeof want, "OUT/results.csv: line %zu: ", line);
    if (strncmp(err.msg, want, strlen(want)) != 0 || !strstr(err.msg, words) ||
        strchr(err.msg, '\n'))
        fail_msg("message '%s', expected '%s...%s'", err.msg, want, words);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    const char *good = "a.keys,10,mulshift,7,0,0,0,20,1,0,0,40,ok\n";
    refused("", 1, "header");
    refused("file,keys\n", 1, "header");
    refused("file,keys,hash,seed0,seed1,seed2,seed3,vertices,attempts,solve_us,verify_us,"
            "table_bytes,Status\n", 1, "header");
    char buf[1024];
    snprintf(buf, sizeof buf, HDR "%s%s", good, "b.keys,10,mulshift,7,0,0,0,20,1,0,0,40,ok");
    refused(buf, 3, "newline");
    refused(HDR "a.keys,10,mulshift,7,0,0,0,20,1,0,0,40\n", 2, "too few fields");
    refused(HDR "a.keys,10,mulshift,7,0,0,0,20,1,0,0,40,ok,x\n", 2, "too many fields");
    refused(HDR "a.keys,4294967296,mulshift,7,0,0,0,20,1,0,0,40,ok\n", 2, "keys: number out");
    refused(HDR "a.keys,-1,mulshift,7,0,0,0,20,1,0,0,40,ok\n", 2, "keys: not a decimal");
    refused(HDR "a.keys,1x,mulshift,7,0,0,0,20,1,0,0,40,ok\n", 2, "keys: not a decimal");
    refused(HDR "a.keys,,mulshift,7,0,0,0,20,1,0,0,40,ok\n", 2, "keys: not a decimal");
    refused(HDR "a.keys,1,mulshift,7,0,0,0,20,18446744073709551616,0,0,40,ok\n", 2,
            "attempts: number out");
    refused(HDR "a.keys,1,mulshift_is_too_long,7,0,0,0,20,1,0,0,40,ok\n", 2, "hash: too long");
    refused(HDR "\"a.keys,1,mulshift,7,0,0,0,20,1,0,0,40,ok\n", 2, "file: quoted field");
    refused(HDR "a\"b.keys,1,mulshift,7,0,0,0,20,1,0,0,40,ok\n", 2, "file: quote");
    refused(HDR "\"a\"b,1,mulshift,7,0,0,0,20,1,0,0,40,ok\n", 2, "file: too few fields");
    refused(HDR "a.keys,1,mulshift,7,0,0,0,20,1,0,0,40,ok\r\n", 2, "status: quote, CR");
    refused(HDR "d/a.keys,1,mulshift,7,0,0,0,20,1,0,0,40,ok\n", 2, "file: empty or not");
    refused(HDR ",1,mulshift,7,0,0,0,20,1,0,0,40,ok\n", 2, "file: empty or not");
    refused(HDR "a.keys,1,mulshift,7,0,0,0,20,1,0,0,40,\n", 2, "status: empty");
    refused(HDR "\n", 2, "file: empty");
    /* a quoted newline: the next row's line number counts it */
    refused(HDR "\"a\nb\",1,h,7,0,0,0,20,1,0,0,40,ok\nc,1\n", 4, "too few fields");
    char big[400];
    memset(big, 'x', 300);
    big[300] = '\0';
    snprintf(buf, sizeof buf, HDR "%s,1,h,7,0,0,0,20,1,0,0,40,ok\n", big);
    refused(buf, 2, "file: too long");
    char nul[] = HDR "a\0b,1,h,7,0,0,0,20,1,0,0,40,ok\n";
    seen s;
    ph_err err = {0};
    assert_int_equal(ph_results_csv_parse(nul, sizeof nul - 1, "OUT/results.csv", collect, &s,
                                          &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "line 2: file: quote, CR or NUL"));
}

static char *merged(const char *old, const ph_result_row *rows, size_t n, int *rc)
{
    char *text = NULL;
    size_t len = 0;
    ph_err err = {0};
    *rc = ph_results_csv_merge(old, old ? strlen(old) : 0, "OUT/results.csv", rows, n, &text,
                               &len, &err);
    if (*rc)
        fprintf(stderr, "merge: %s\n", err.msg);
    return text;
}

static void test_merge(void **state)
{
    (void)state;
    int rc;
    ph_result_row first[2] = {row("m.keys", 5, "ok"), row("c.keys", 6, "ESOLVE")};
    char *a = merged(NULL, first, 2, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(a, HDR "c.keys,6,mulshift,7,0,0,0,12,1,0,0,24,ESOLVE\n"
                               "m.keys,5,mulshift,7,0,0,0,10,1,0,0,20,ok\n");
    /* A hand-kept row with odd but valid text is kept byte for byte. */
    char *old = NULL;
    assert_true(asprintf(&old, "%s\"z\"\"q.keys\",007,h,0,0,0,0,0,0,0,0,0,x\n", a) > 0);
    ph_result_row second[3] = {row("c.keys", 60, "ok"), row("a.keys", 1, "ok"),
                               row("a.keys", 2, "ok")};
    char *b = merged(old, second, 3, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(b, HDR "a.keys,2,mulshift,7,0,0,0,4,1,0,0,8,ok\n"
                               "c.keys,60,mulshift,7,0,0,0,120,1,0,0,240,ok\n"
                               "m.keys,5,mulshift,7,0,0,0,10,1,0,0,20,ok\n"
                               "\"z\"\"q.keys\",007,h,0,0,0,0,0,0,0,0,0,x\n");
    /* Nothing to add: the old rows, sorted. */
    char *c = merged(HDR "b,1,h,0,0,0,0,0,0,0,0,0,ok\na,1,h,0,0,0,0,0,0,0,0,0,ok\n", NULL, 0,
                     &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(c, HDR "a,1,h,0,0,0,0,0,0,0,0,0,ok\nb,1,h,0,0,0,0,0,0,0,0,0,ok\n");
    /* One file twice in the old text is refused. */
    char *text = NULL;
    size_t len = 0;
    ph_err err = {0};
    const char *dup = HDR "a,1,h,0,0,0,0,0,0,0,0,0,ok\nb,1,h,0,0,0,0,0,0,0,0,0,ok\n"
                          "a,2,h,0,0,0,0,0,0,0,0,0,ok\n";
    assert_int_equal(ph_results_csv_merge(dup, strlen(dup), "OUT/results.csv", first, 2, &text,
                                          &len, &err), PH_EINVAL);
    assert_null(text);
    assert_string_equal(err.msg, "OUT/results.csv: lines 2 and 4 list the same file");
    free(a);
    free(b);
    free(c);
    free(old);
}

/* ---- on disk ------------------------------------------------------------ */

/* NAME in the scratch directory, whole (NULL if it cannot be opened). */
static char *slurp(const char *name) { return tu_slurp(tu_at(name), NULL); }

static void test_write_merges(void **state)
{
    (void)state;
    ph_err err = {0};
    for (uint32_t i = 0; i < 10; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%u.keys", 9 - i);
        ph_result_row r = row(name, 100 + i, "ok");
        assert_int_equal(ph_results_csv_write(tu_dir(), &r, 1, &err), 0);
    }
    char *text = slurp("results.csv");
    assert_non_null(text);
    seen s;
    assert_int_equal(parse(text, &s, &err), 0);
    assert_int_equal(s.n, 10);
    for (size_t i = 0; i < 10; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%zu.keys", i);
        assert_string_equal(s.rows[i].file, name);
        assert_int_equal(s.rows[i].keys, 109 - i);
    }
    free(text);
    /* the lock file stays, nothing else */
    char *lock = slurp(PH_RESULTS_CSV_LOCK);
    assert_non_null(lock);
    free(lock);
}

static void test_write_keeps_malformed(void **state)
{
    (void)state;
    const char *bad = HDR "a.keys,1,h,0,0,0,0,0,0,0,0,0,ok\nthis is not a row\n";
    tu_write_text(tu_at("results.csv"), bad);
    ph_result_row r = row("b.keys", 5, "ok");
    ph_err err = {0};
    assert_int_equal(ph_results_csv_write(tu_dir(), &r, 1, &err), PH_EINVAL);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s: line 3: ", tu_at("results.csv"));
    assert_memory_equal(err.msg, want, strlen(want));
    assert_non_null(strstr(err.msg, "left as it is, no rows merged"));
    assert_null(strchr(err.msg, '\n'));
    char *text = slurp("results.csv");
    assert_string_equal(text, bad);
    free(text);
}

static void test_write_refuses_links(void **state)
{
    (void)state;
    tu_write_text(tu_at("elsewhere.csv"), HDR);
    assert_int_equal(symlink(tu_at("elsewhere.csv"), tu_at("results.csv")), 0);
    ph_result_row r = row("b.keys", 5, "ok");
    ph_err err = {0};
    assert_int_equal(ph_results_csv_write(tu_dir(), &r, 1, &err), PH_EPERM);
    assert_non_null(strstr(err.msg, "results.csv: is a symbolic link"));
    char *text = slurp("elsewhere.csv");
    assert_string_equal(text, HDR);
    free(text);
    unlink(tu_at("results.csv"));
    /* a link at the lock file: refused before anything is read or written */
    assert_int_equal(unlink(tu_at(PH_RESULTS_CSV_LOCK)), 0); /* made by the write above */
    assert_int_equal(symlink(tu_at("lock-target"), tu_at(PH_RESULTS_CSV_LOCK)), 0);
    assert_int_equal(ph_results_csv_write(tu_dir(), &r, 1, &err), PH_EPERM);
    assert_non_null(strstr(err.msg, PH_RESULTS_CSV_LOCK ": is a symbolic link"));
    struct stat st;
    assert_int_equal(lstat(tu_at("lock-target"), &st), -1);
    assert_int_equal(lstat(tu_at("results.csv"), &st), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_merge),
        cmocka_unit_test_setup_teardown(test_write_merges, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_write_keeps_malformed, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_write_refuses_links, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
