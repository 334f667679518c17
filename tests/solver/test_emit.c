/* test_emit.c - the C emitter, artifacts on disk, results.csv, ph_create.
 *
 * Most cases use tables built by hand (known seeds and values) so a failure
 * points at the emitter, not the solver; the generated code is compiled and
 * run by test_emit_build. */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gen_keys.h"
#include "ph_create.h"
#include "ph_emit.h"
#include "ph_results_csv.h"
#include "ph_fs.h"
#include "ph_solver.h"
#include "test_util.h"

/* ---- helpers ----------------------------------------------------------- */

static const uint32_t hand_keys[3] = {12345u, 0u, 4000000000u};

/* A pow2 mulshift table: 3 keys, 8 edges, 16 vertices, values 0..15.  Not
 * a solution; only its text is inspected. */
static ph_table hand_table(ph_hash_kind hash, int compact, uint8_t width)
{
    ph_table t = {.hash = hash, .compact = compact, .nkeys = 3, .width = width};
    t.seeds[0] = 0x9e3779b1u;
    t.seeds[1] = 0x85ebca6bu;
    t.seeds[2] = 0xc2b2ae35u;
    t.seeds[3] = 13;
    t.nedges = compact ? 3 : 8;
    t.nverts = compact ? 7 : 16;
    t.shift = compact ? 0 : 29; /* 32 - log2(nverts / 2) */
    t.assigned = calloc(t.nverts, width);
    for (uint32_t i = 0; i < t.nverts; i++) {
        uint32_t v = (i * 7919u) % t.nedges;
        if (width == 2)
            ((uint16_t *)t.assigned)[i] = (uint16_t)v;
        else
            ((uint32_t *)t.assigned)[i] = v;
    }
    t.attempts = 4;
    t.solve_us = 55;
    t.verify_us = 6;
    return t;
}

static const ph_artifact *find_art(const ph_artifacts *a, const char *path)
{
    for (size_t i = 0; i < a->count; i++)
        if (!strcmp(a->items[i].path, path))
            return &a->items[i];
    return NULL;
}

/* Artifact text as a NUL-terminated copy (artifacts are not terminated). */
static char *art_text(const ph_artifacts *a, const char *path)
{
    const ph_artifact *it = find_art(a, path);
    if (!it)
        fail_msg("artifact %s missing", path);
    char *s = malloc(it->len + 1);
    memcpy(s, it->data, it->len);
    s[it->len] = '\0';
    return s;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected to find <%s> in:\n%.2000s", needle, hay);
}

static int count_tmp_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static char *read_text(const char *path)
{
    void *data = NULL;
    size_t len = 0;
    ph_err err = {0};
    assert_int_equal(ph_fs_read_all(path, 1u << 26, &data, &len, &err), 0);
    char *s = realloc(data, len + 1);
    s[len] = '\0';
    return s;
}

/* ---- rendering --------------------------------------------------------- */

static void test_render_files(void **state)
{
    (void)state;
    ph_table t = hand_table(PH_HASH_MULSHIFT, 0, 2);
    ph_artifacts a = {0};
    ph_err err = {0};
    assert_int_equal(ph_emit_render(&t, hand_keys, "foo-3", &a, &err), 0);
    assert_int_equal(a.count, 5);
    const char *paths[] = {"foo-3/foo-3.h", "foo-3/foo-3.c", "foo-3/foo-3_test.c",
                           "foo-3/foo-3_bench.c", "foo-3/CMakeLists.txt"};
    for (size_t i = 0; i < 5; i++)
        assert_non_null(find_art(&a, paths[i]));
    char *h = art_text(&a, "foo-3/foo-3.h");
    assert_contains(h, "#ifndef foo_3_H");
    assert_contains(h, "uint32_t foo_3_index(uint32_t key);");
    assert_contains(h, "#define foo_3_KEYS 3u");
    assert_contains(h, "#define foo_3_VERTICES 16u");
    assert_contains(h, "#define foo_3_TABLE_BYTES 32u");
    assert_contains(h, "#define foo_3_HASH \"mulshift\"");
    assert_contains(h, "#define foo_3_NOT_FOUND UINT32_MAX");
    assert_contains(h, "uint32_t foo_3_find(uint32_t key);");
    char *c = art_text(&a, "foo-3/foo-3.c");
    assert_contains(c, "#include \"foo-3.h\"");
    assert_contains(c, "static const uint16_t foo_3_assigned[16] = {");
    assert_contains(c, "uint32_t h1 = key * 0x9e3779b1u;");
    assert_contains(c, "uint32_t h2 = key * 0x85ebca6bu;");
    assert_contains(c, "uint32_t u = h1 >> 29;");
    assert_contains(c, "uint32_t v = 8u + (h2 >> 29);");
    assert_contains(c, "& 0x7u;");
    /* pow2: Index can point past the keys for a non-member */
    assert_contains(c, "static const uint32_t foo_3_keyset[3] = {");
    assert_contains(c, "return i < 3u && foo_3_keyset[i] == key ? i : foo_3_NOT_FOUND;");
    char *tc = art_text(&a, "foo-3/foo-3_test.c");
    assert_contains(tc, "static const uint32_t foo_3_keys[3] = {");
    assert_contains(tc, "12345u, 0u, 4000000000u,");
    assert_contains(tc, "return 1;");
    char *bc = art_text(&a, "foo-3/foo-3_bench.c");
    assert_contains(bc, "clock_gettime");
    assert_contains(bc, "ns_per_index=");
    assert_contains(bc, "ns_per_find=");
    char *cm = art_text(&a, "foo-3/CMakeLists.txt");
    assert_contains(cm, "add_library(foo_3 STATIC \"foo-3.c\")");
    assert_contains(cm, "OUTPUT_NAME \"foo-3_test\"");
    assert_contains(cm, "add_executable(foo_3-test \"foo-3_test.c\")");
    assert_contains(cm, "add_executable(foo_3-bench \"foo-3_bench.c\")");
    assert_contains(cm, "add_test(NAME foo_3-test COMMAND foo_3-test)");
    assert_contains(cm, "-O2");
    free(h), free(c), free(tc), free(bc), free(cm);
    ph_artifacts_free(&a);
    ph_table_free(&t);
}

/* --index-only: no key set, no find, in any of the files. */
static void test_render_index_only(void **state)
{
    (void)state;
    ph_table t = hand_table(PH_HASH_MULSHIFT, 0, 2);
    ph_artifacts a = {0};
    ph_emit_opts eo;
    ph_emit_opts_init(&eo);
    eo.index_only = true;
    assert_int_equal(ph_emit_render_opts(&t, hand_keys, "foo-3", &eo, &a, NULL), 0);
    const char *paths[] = {"foo-3/foo-3.h", "foo-3/foo-3.c", "foo-3/foo-3_test.c",
                           "foo-3/foo-3_bench.c"};
    for (size_t i = 0; i < 4; i++) {
        char *text = art_text(&a, paths[i]);
        assert_null(strstr(text, "_find"));
        assert_null(strstr(text, "keyset"));
        free(text);
    }
    char *h = art_text(&a, "foo-3/foo-3.h");
    assert_contains(h, "uint32_t foo_3_index(uint32_t key);");
    free(h);
    ph_artifacts_free(&a);
    ph_table_free(&t);
}

/* The table text parses back to exactly t->assigned, 12 values a line. */
static void test_render_table_roundtrip(void **state)
{
    (void)state;
    ph_table t = hand_table(PH_HASH_MULSHIFT, 0, 4);
    ((uint32_t *)t.assigned)[15] = 4294967295u; /* widest literal */
    ph_artifacts a = {0};
    assert_int_equal(ph_emit_render(&t, hand_keys, "w4", &a, NULL), 0);
    char *c = art_text(&a, "w4/w4.c");
    assert_contains(c, "static const uint32_t w4_assigned[16] = {");
    char *p = strchr(strstr(c, "w4_assigned[16]"), '{') + 1;
    char *line2 = strchr(strchr(p, '\n') + 1, '\n'); /* after the first data line */
    for (uint32_t i = 0; i < t.nverts; i++) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        assert_true(end != p);
        assert_int_equal(v, ((uint32_t *)t.assigned)[i]);
        if (i == 11) /* the 13th value starts a new line */
            assert_true(end < line2);
        p = end + 1; /* skip ',' */
    }
    free(c);
    ph_artifacts_free(&a);
    ph_table_free(&t);
}

static void test_render_hash_variants(void **state)
{
    (void)state;
    ph_table t = hand_table(PH_HASH_MULROT, 0, 2);
    ph_artifacts a = {0};
    assert_int_equal(ph_emit_render(&t, hand_keys, "r", &a, NULL), 0);
    char *c = art_text(&a, "r/r.c");
    assert_contains(c, "uint32_t x = key * 0x9e3779b1u;");
    assert_contains(c, "x = (x >> 13) | (x << 19);");
    assert_contains(c, "uint32_t h2 = x * 0xc2b2ae35u;");
    free(c);
    ph_artifacts_free(&a);
    ph_table_free(&t);

    t = hand_table(PH_HASH_MIX, 1, 2);
    assert_int_equal(ph_emit_render(&t, hand_keys, "m", &a, NULL), 0);
    c = art_text(&a, "m/m.c");
    assert_contains(c, "(uint64_t)key ^ 0x9e3779b185ebca6bull;");
    assert_contains(c, "x *= 0xc2b2ae350000000dull;");
    assert_contains(c, "uint32_t u = (uint32_t)(((uint64_t)h1 * 3u) >> 32);");
    assert_contains(c, "uint32_t v = 3u + (uint32_t)(((uint64_t)h2 * 4u) >> 32);");
    assert_contains(c, "return s >= 3u ? s - 3u : s;");
    char *h = art_text(&a, "m/m.h");
    assert_contains(h, "#define m_COMPACT 1");
    free(c), free(h);
    ph_artifacts_free(&a);
    ph_table_free(&t);
}

static void test_render_deterministic(void **state)
{
    (void)state;
    ph_table t = hand_table(PH_HASH_MIX, 0, 2);
    ph_artifacts a = {0}, b = {0};
    assert_int_equal(ph_emit_render(&t, hand_keys, "d", &a, NULL), 0);
    assert_int_equal(ph_emit_render(&t, hand_keys, "d", &b, NULL), 0);
    assert_int_equal(a.count, b.count);
    for (size_t i = 0; i < a.count; i++) {
        assert_string_equal(a.items[i].path, b.items[i].path);
        assert_int_equal(a.items[i].len, b.items[i].len);
        assert_memory_equal(a.items[i].data, b.items[i].data, a.items[i].len);
    }
    ph_artifacts_free(&a);
    ph_artifacts_free(&b);
    ph_table_free(&t);
}

static void test_render_sanitized_names(void **state)
{
    (void)state;
    ph_table t = hand_table(PH_HASH_MULSHIFT, 0, 2);
    static const struct {
        const char *name, *sym;
    } cases[] = {{"Windows.UI.Xaml-37855", "Windows_UI_Xaml_37855"},
                 {"7zip-10", "ph_7zip_10"},
                 {"_x", "ph__x"},
                 {"a b+c", "a_b_c"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ph_artifacts a = {0};
        assert_int_equal(ph_emit_render(&t, hand_keys, cases[i].name, &a, NULL), 0);
        char path[256], want[256];
        snprintf(path, sizeof path, "%s/%s.h", cases[i].name, cases[i].name);
        char *h = art_text(&a, path);
        snprintf(want, sizeof want, "uint32_t %s_index(uint32_t key);", cases[i].sym);
        assert_contains(h, want);
        free(h);
        ph_artifacts_free(&a);
    }
    static const char *const bad[] = {"", ".", "..", "a/b", "a\\b", "a\"b", "a;b", "a$b",
                                      "a\nb"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ph_artifacts a = {0};
        ph_err err = {0};
        assert_int_equal(ph_emit_render(&t, hand_keys, bad[i], &a, &err), PH_EINVAL);
        assert_int_equal(a.count, 0);
        assert_non_null(strstr(err.msg, "table name"));
    }
    ph_table_free(&t);
}

/* Names that sanitize to one symbol are found; the first of each keeps it. */
static void test_symbol_clashes(void **state)
{
    (void)state;
    static const char *const names[] = {"a-b", "a_b", "a b", "A_B", "x",  "7z",
                                        "ph_7z", "_q",  "ph__q", "a.b", "A-B", "y"};
    static const size_t want[] = {0, 0, 0, 3, 4, 5, 5, 7, 7, 0, 3, 11};
    enum { N = sizeof names / sizeof names[0] };
    size_t first[N];
    memset(first, 0xff, sizeof first);
    assert_int_equal(ph_emit_symbol_clashes(names, N, first, NULL), 0);
    for (size_t i = 0; i < N; i++) {
        if (first[i] != want[i])
            fail_msg("%s: first %zu, expected %zu", names[i], first[i], want[i]);
    }
    assert_int_equal(ph_emit_symbol_clashes(names, 0, first, NULL), 0);
    char sym[8];
    ph_emit_symbol("abcdefghij", sym, sizeof sym); /* cut, still terminated */
    assert_string_equal(sym, "abcdefg");
    ph_emit_symbol("9abcdefghij", sym, 3);
    assert_string_equal(sym, "ph");
}

/* Guards follow the case-preserved symbol: "A_B" and "a_b" are two symbols,
 * so two guards; no other generated name ends in _H. */
static void test_render_guards_distinct(void **state)
{
    (void)state;
    ph_table t = hand_table(PH_HASH_MULSHIFT, 0, 2);
    ph_artifacts a = {0}, b = {0};
    assert_int_equal(ph_emit_render(&t, hand_keys, "A_B", &a, NULL), 0);
    assert_int_equal(ph_emit_render(&t, hand_keys, "a_b", &b, NULL), 0);
    char *ha = art_text(&a, "A_B/A_B.h"), *hb = art_text(&b, "a_b/a_b.h");
    assert_contains(ha, "#ifndef A_B_H\n#define A_B_H\n");
    assert_contains(hb, "#ifndef a_b_H\n#define a_b_H\n");
    assert_null(strstr(ha, "a_b_H"));
    assert_null(strstr(hb, "A_B_H"));
    free(ha), free(hb);
    ph_artifacts_free(&a);
    ph_artifacts_free(&b);
    ph_table_free(&t);
}

static void test_render_bad_table(void **state)
{
    (void)state;
    ph_table t = hand_table(PH_HASH_MULSHIFT, 0, 2);
    ph_artifacts a = {0};
    ph_err err = {0};
    t.width = 3;
    assert_int_equal(ph_emit_render(&t, hand_keys, "x", &a, &err), PH_EINVAL);
    t.width = 2;
    t.hash = PH_HASH_AUTO;
    assert_int_equal(ph_emit_render(&t, hand_keys, "x", &a, &err), PH_EINVAL);
    t.hash = PH_HASH_MULSHIFT;
    t.nedges = 6; /* pow2 mode needs a power-of-two modulus */
    assert_int_equal(ph_emit_render(&t, hand_keys, "x", &a, &err), PH_EINVAL);
    assert_int_equal(a.count, 0);
    ph_table_free(&t);
}

/* ---- artifacts on disk ------------------------------------------------- */

static void test_artifacts_write(void **state)
{
    (void)state;
    const char *out = "out/deeper";
    ph_artifacts a = {0};
    ph_err err = {0};
    assert_int_equal(ph_artifacts_add(&a, "t/t.h", "hello\n", 6, &err), 0);
    assert_int_equal(ph_artifacts_add(&a, "t/sub/x.c", "", 0, &err), 0);
    assert_int_equal(ph_artifacts_add(&a, "top.txt", "abc", 3, &err), 0);
    assert_int_equal(ph_artifacts_write(&a, tu_at(out), &err), 0);
    /* Written twice: the second write replaces, never appends. */
    assert_int_equal(ph_artifacts_write(&a, tu_at(out), &err), 0);
    char *s = read_text(tu_atf("%s/t/t.h", out));
    assert_string_equal(s, "hello\n");
    free(s);
    s = read_text(tu_atf("%s/t/sub/x.c", out));
    assert_string_equal(s, "");
    free(s);
    assert_int_equal(count_tmp_files(tu_atf("%s/t", out)), 0);
    assert_int_equal(count_tmp_files(tu_at(out)), 0);
    ph_artifacts_free(&a);
    assert_null(a.items);
}

/* A failure part-way (here a regular file where a directory must go) takes
 * back the files already written: a table is written whole or not at all. */
static void test_artifacts_write_all_or_nothing(void **state)
{
    (void)state;
    tu_mkdir("t");
    tu_write_text(tu_at("t/blocker"), "");
    ph_artifacts a = {0};
    ph_err err = {0};
    assert_int_equal(ph_artifacts_add(&a, "t/t.h", "h", 1, &err), 0);
    assert_int_equal(ph_artifacts_add(&a, "t/t.c", "c", 1, &err), 0);
    assert_int_equal(ph_artifacts_add(&a, "t/blocker/x.c", "x", 1, &err), 0);
    assert_int_not_equal(ph_artifacts_write(&a, tu_dir(), &err), 0);
    assert_non_null(strstr(err.msg, "blocker"));
    struct stat st;
    assert_int_not_equal(stat(tu_at("t/t.h"), &st), 0);
    assert_int_not_equal(stat(tu_at("t/t.c"), &st), 0);
    assert_int_equal(count_tmp_files(tu_at("t")), 0);
    ph_artifacts_free(&a);
}

static void test_artifacts_refuse_escape(void **state)
{
    (void)state;
    static const char *const bad[] = {"../x", "/abs", "a/../b", "a/..", "a//b", "./a",
                                      "a/", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ph_artifacts a = {0};
        ph_err err = {0};
        /* A good artifact first: nothing at all may be written. */
        assert_int_equal(ph_artifacts_add(&a, "good.txt", "g", 1, &err), 0);
        assert_int_equal(ph_artifacts_add(&a, bad[i], "x", 1, &err), 0);
        assert_int_equal(ph_artifacts_write(&a, tu_dir(), &err), PH_EINVAL);
        char want[64];
        snprintf(want, sizeof want, "'%s'", bad[i]);
        assert_non_null(strstr(err.msg, want));
        assert_int_not_equal(access(tu_at("good.txt"), F_OK), 0);
        ph_artifacts_free(&a);
    }
}

/* ---- results.csv ------------------------------------------------------- */

static ph_result_row sample_row(const char *file, const char *status)
{
    ph_result_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.file, sizeof r.file, "%s", file);
    r.keys = 5000;
    snprintf(r.hash, sizeof r.hash, "mulrot");
    r.seeds[0] = 1, r.seeds[1] = 4294967295u, r.seeds[2] = 3, r.seeds[3] = 17;
    r.vertices = 16384;
    r.attempts = 12345678901ull;
    r.solve_us = 77;
    r.verify_us = 8;
    r.table_bytes = 32768;
    snprintf(r.status, sizeof r.status, "%s", status);
    return r;
}

static void test_csv_quoting(void **state)
{
    (void)state;
    ph_result_row rows[3] = {sample_row("plain-1.keys", "ok"), sample_row("a,b.keys", "EDUP"),
                             sample_row("q\"x.keys", "ok")};
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(ph_results_csv_render(rows, 3, &text, &len, NULL), 0);
    assert_int_equal(strlen(text), len);
    const char *want =
        "file,keys,hash,seed0,seed1,seed2,seed3,vertices,attempts,solve_us,verify_us,"
        "table_bytes,status\n"
        "plain-1.keys,5000,mulrot,1,4294967295,3,17,16384,12345678901,77,8,32768,ok\n"
        "\"a,b.keys\",5000,mulrot,1,4294967295,3,17,16384,12345678901,77,8,32768,EDUP\n"
        "\"q\"\"x.keys\",5000,mulrot,1,4294967295,3,17,16384,12345678901,77,8,32768,ok\n";
    assert_string_equal(text, want);
    free(text);
}

/* Minimal RFC 4180 field reader for the round trip: returns the next field
 * of the line at *p (unquoted), advancing past its separator. */
static void csv_next(const char **p, char *out, size_t outlen)
{
    const char *s = *p;
    size_t o = 0;
    if (*s == '"') {
        for (s++; *s && !(*s == '"' && s[1] != '"'); s++) {
            if (*s == '"')
                s++;
            if (o + 1 < outlen)
                out[o++] = *s;
        }
        s++;
    } else {
        while (*s && *s != ',' && *s != '\n')
            if (o + 1 < outlen)
                out[o++] = *s++;
    }
    out[o] = '\0';
    *p = (*s == ',' || *s == '\n') ? s + 1 : s;
}

static void test_csv_roundtrip(void **state)
{
    (void)state;
    const char *out = tu_at("res"); /* created by the write */
    ph_result_row rows[3] = {sample_row("x,\"y\".keys", "ok"), sample_row("b-2.keys", "ESOLVE"),
                             sample_row("c-3.keys", "ok")};
    rows[2].seeds[3] = 0;
    rows[2].attempts = 1;
    ph_err err = {0};
    assert_int_equal(ph_results_csv_write(out, rows, 3, &err), 0);
    assert_int_equal(count_tmp_files(out), 0);
    char *text = read_text(tu_at("res/results.csv"));
    const char *p = strchr(text, '\n') + 1;
    /* Written in file-name order: b-2, c-3, x,"y". */
    static const int order[3] = {1, 2, 0};
    for (int o = 0; o < 3; o++) {
        int i = order[o];
        char f[13][300];
        for (int j = 0; j < 13; j++)
            csv_next(&p, f[j], sizeof f[j]);
        assert_string_equal(f[0], rows[i].file);
        assert_int_equal(strtoul(f[1], NULL, 10), rows[i].keys);
        assert_string_equal(f[2], rows[i].hash);
        for (int s = 0; s < 4; s++)
            assert_int_equal(strtoul(f[3 + s], NULL, 10), rows[i].seeds[s]);
        assert_int_equal(strtoul(f[7], NULL, 10), rows[i].vertices);
        assert_int_equal(strtoull(f[8], NULL, 10), rows[i].attempts);
        assert_int_equal(strtoull(f[9], NULL, 10), rows[i].solve_us);
        assert_int_equal(strtoull(f[10], NULL, 10), rows[i].verify_us);
        assert_int_equal(strtoull(f[11], NULL, 10), rows[i].table_bytes);
        assert_string_equal(f[12], rows[i].status);
    }
    assert_int_equal(*p, '\0');
    free(text);
}

static void test_row_from_table(void **state)
{
    (void)state;
    ph_table t = hand_table(PH_HASH_MIX, 0, 4);
    ph_result_row r;
    memset(&r, 0xab, sizeof r);
    ph_result_row_from_table(&r, "foo-3.keys", &t);
    assert_string_equal(r.file, "foo-3.keys");
    assert_string_equal(r.hash, "mix");
    assert_string_equal(r.status, "ok");
    assert_int_equal(r.keys, 3);
    assert_int_equal(r.vertices, 16);
    assert_int_equal(r.seeds[3], 13);
    assert_int_equal(r.attempts, 4);
    assert_int_equal(r.solve_us, 55);
    assert_int_equal(r.verify_us, 6);
    assert_int_equal(r.table_bytes, 64);
    ph_table_free(&t);
}

/* ---- ph_create --------------------------------------------------------- */

static void test_create_from_keys(void **state)
{
    (void)state;
    uint32_t *k = gen_keys(GEN_CLUSTERED16, 1000, 7);
    assert_non_null(k);
    ph_solve_opts o;
    ph_solve_opts_init(&o);
    o.seed = 42;
    ph_artifacts a = {0};
    ph_result_row r;
    ph_err err = {0};
    assert_int_equal(ph_create_from_keys("c-1000", k, 1000, &o, &a, &r, &err), 0);
    assert_int_equal(a.count, 5);
    assert_non_null(find_art(&a, "c-1000/c-1000_test.c"));
    assert_string_equal(r.file, "c-1000.keys");
    assert_string_equal(r.status, "ok");
    assert_int_equal(r.keys, 1000);
    assert_true(r.attempts >= 1);
    assert_true(r.table_bytes >= 2000);
    ph_artifacts_free(&a);

    /* A duplicate key makes every graph cyclic: with a small attempt budget
     * the solve fails, the row says so and nothing is rendered. */
    k[500] = k[10];
    o.max_attempts = 20;
    memset(&r, 0, sizeof r);
    int rc = ph_create_from_keys("dup-1000", k, 1000, &o, &a, &r, &err);
    assert_int_not_equal(rc, 0);
    assert_int_equal(a.count, 0);
    assert_string_equal(r.status, ph_err_name(rc));
    assert_string_equal(r.file, "dup-1000.keys");
    free(k);
}

static void test_create_file(void **state)
{
    (void)state;
    char kp[PATH_MAX + 64], out[PATH_MAX + 64];
    snprintf(kp, sizeof kp, "%s", tu_at("seq-300.keys"));
    snprintf(out, sizeof out, "%s", tu_at("out"));
    uint32_t *k = gen_keys(GEN_SEQUENTIAL, 300, 2);
    assert_int_equal(gen_keys_write(kp, k, 300), 0);
    ph_result_row r;
    ph_err err = {0};
    assert_int_equal(ph_create_file(kp, out, NULL, &r, &err), 0);
    assert_string_equal(r.file, "seq-300.keys");
    assert_string_equal(r.status, "ok");
    const char *files[] = {"seq-300.h", "seq-300.c", "seq-300_test.c", "seq-300_bench.c",
                           "CMakeLists.txt"};
    for (int i = 0; i < 5; i++)
        assert_int_equal(access(tu_atf("out/seq-300/%s", files[i]), R_OK), 0);
    /* the caller aggregates rows */
    assert_int_not_equal(access(tu_at("out/results.csv"), F_OK), 0);
    assert_int_equal(count_tmp_files(tu_at("out/seq-300")), 0);

    /* Failures still give a row naming the file. */
    snprintf(kp, sizeof kp, "%s", tu_at("missing-1.keys"));
    memset(&r, 0, sizeof r);
    int rc = ph_create_file(kp, out, NULL, &r, &err);
    assert_int_not_equal(rc, 0);
    assert_string_equal(r.file, "missing-1.keys");
    assert_string_equal(r.status, ph_err_name(rc));
    assert_non_null(strstr(err.msg, "missing-1.keys"));

    snprintf(kp, sizeof kp, "%s", tu_at("dup-3.keys"));
    uint32_t dup[3] = {1, 2, 1};
    assert_int_equal(gen_keys_write(kp, dup, 3), 0);
    rc = ph_create_file(kp, out, NULL, &r, &err);
    assert_int_equal(rc, PH_EDUP);
    assert_string_equal(r.status, "EDUP");
    assert_string_equal(r.file, "dup-3.keys");
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_files),
        cmocka_unit_test(test_render_index_only),
        cmocka_unit_test(test_render_table_roundtrip),
        cmocka_unit_test(test_render_hash_variants),
        cmocka_unit_test(test_render_deterministic),
        cmocka_unit_test(test_render_sanitized_names),
        cmocka_unit_test(test_symbol_clashes),
        cmocka_unit_test(test_render_guards_distinct),
        cmocka_unit_test(test_render_bad_table),
        cmocka_unit_test_setup_teardown(test_artifacts_write, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_artifacts_write_all_or_nothing, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_artifacts_refuse_escape, tu_setup, tu_teardown),
        cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test_setup_teardown(test_csv_roundtrip, tu_setup, tu_teardown),
        cmocka_unit_test(test_row_from_table),
        cmocka_unit_test(test_create_from_keys),
        cmocka_unit_test_setup_teardown(test_create_file, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
