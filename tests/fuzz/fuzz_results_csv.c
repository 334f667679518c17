/* fuzz_results_csv - libFuzzer target for the results.csv parser and merge
 * (solver/include/ph_results_csv.h).
 *
 * Oracle: a refusal is PH_EINVAL with one line naming the input and a line
 * number; every row handed out lies inside the input and ends at a
 * newline.  Accepted input round-trips: its rows rendered and parsed again
 * give the same rows, and rendering those gives the same text.  Merging one
 * new row into accepted input succeeds unless a name repeats (then it is
 * refused saying so), and the result parses, is in strict name order, holds
 * the new row once and every old name. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ph_results_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const ph_err *err)
{
    fprintf(stderr, "fuzz_results_csv: %s (%s)\n", what, err ? err->msg : "");
    abort();
}

typedef struct rows {
    ph_result_row *v;
    size_t n, cap;
    const char *base;
    size_t size;
} rows;

static int take(void *ctx, const ph_result_row *r, size_t line_no, const char *line,
                size_t len)
{
    rows *s = ctx;
    if (line_no < 2 || line < s->base || line + len >= s->base + s->size || line[len] != '\n')
        die("row span outside the input or not ended by a newline", NULL);
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            die("out of memory in the oracle", NULL);
    }
    s->v[s->n++] = *r;
    return PH_OK;
}

static int parse(const char *text, size_t len, rows *s, ph_err *err)
{
    memset(s, 0, sizeof *s);
    s->base = text;
    s->size = len;
    return ph_results_csv_parse(text, len, "fuzz", take, s, err);
}

static void check_refusal(int rc, const ph_err *err)
{
    if (rc != PH_EINVAL)
        die("refusal with a code other than PH_EINVAL", err);
    if (strncmp(err->msg, "fuzz: line", 10) != 0 || strchr(err->msg, '\n'))
        die("refusal not one line naming the input and its line", err);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const ph_result_row *)a)->file, ((const ph_result_row *)b)->file);
}

static bool has_dup_name(const rows *s)
{
    ph_result_row *v = malloc((s->n ? s->n : 1) * sizeof *v);
    if (!v)
        die("out of memory in the oracle", NULL);
    if (s->n)
        memcpy(v, s->v, s->n * sizeof *v);
    if (s->n > 1)
        qsort(v, s->n, sizeof *v, cmp_name);
    bool dup = false;
    for (size_t i = 1; i < s->n && !dup; i++)
        dup = !strcmp(v[i].file, v[i - 1].file);
    free(v);
    return dup;
}

static void check_roundtrip(const rows *s)
{
    char *text = NULL;
    size_t len = 0;
    ph_err err = {0};
    if (ph_results_csv_render(s->v, s->n, &text, &len, &err) != 0)
        die("render failed", &err);
    rows again;
    if (parse(text, len, &again, &err) != 0)
        die("rendered rows do not parse", &err);
    if (again.n != s->n || (s->n && memcmp(again.v, s->v, s->n * sizeof *s->v) != 0))
        die("rows changed through render and parse", NULL);
    char *text2 = NULL;
    size_t len2 = 0;
    if (ph_results_csv_render(again.v, again.n, &text2, &len2, &err) != 0)
        die("render failed", &err);
    if (len2 != len || memcmp(text, text2, len) != 0)
        die("render of parsed rows differs", NULL);
    free(text);
    free(text2);
    free(again.v);
}

static void check_merge(const char *data, size_t size, const rows *old)
{
    ph_result_row add;
    memset(&add, 0, sizeof add);
    snprintf(add.file, sizeof add.file, "m,\"x\n.keys");
    snprintf(add.hash, sizeof add.hash, "mix");
    add.keys = 3;
    snprintf(add.status, sizeof add.status, "ok");
    char *text = NULL;
    size_t len = 0;
    ph_err err = {0};
    int rc = ph_results_csv_merge(data, size, "fuzz", &add, 1, &text, &len, &err);
    bool dup = has_dup_name(old);
    if (dup) {
        if (rc != PH_EINVAL || !strstr(err.msg, "list the same file") || text)
            die("a repeated name not refused", &err);
        return;
    }
    if (rc != 0)
        die("merge of parsed input failed", &err);
    rows m;
    if (parse(text, len, &m, &err) != 0)
        die("merged text does not parse", &err);
    size_t found = 0, replaced = 0;
    for (size_t i = 0; i < m.n; i++) {
        if (i > 0 && strcmp(m.v[i - 1].file, m.v[i].file) >= 0)
            die("merged rows not in strict name order", NULL);
        if (!memcmp(&m.v[i], &add, sizeof add))
            found++;
    }
    for (size_t i = 0; i < old->n; i++) {
        ph_result_row *hit = m.n ? bsearch(&old->v[i], m.v, m.n, sizeof *m.v, cmp_name) : NULL;
        if (!hit)
            die("an old row lost in the merge", NULL);
        replaced += !strcmp(old->v[i].file, add.file);
    }
    if (found != 1 || m.n != old->n + 1 - replaced)
        die("merged row count wrong", NULL);
    free(m.v);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    rows s;
    ph_err err = {0};
    int rc = parse(text, size, &s, &err);
    if (rc) {
        check_refusal(rc, &err);
        free(s.v);
        return 0;
    }
    check_roundtrip(&s);
    check_merge(text, size, &s);
    free(s.v);
    return 0;
}
