/* ph_results_csv_parse.c - reading results.csv back, strictly.
 *
 * The file may have been edited, truncated or planted by anyone who can
 * write the output directory, so nothing in it is trusted: the header must
 * be ours byte for byte, every row has exactly the 13 fields the writer
 * puts there (RFC 4180 quoting for the text fields, plain decimal digits in
 * range for the numbers), every line ends with LF, and every field fits the
 * row's buffers.  The first fault stops the parse with the line it is on. */
#include "ph_results_csv.h"

#include <stdbool.h>
#include <string.h>

typedef struct csv_cur {
    const char *p, *end;
    size_t line;       /* physical line of p, from 1 */
    size_t row_line;   /* line the current row starts on */
    const char *shown;
    ph_err *err;
} csv_cur;

static int csv_fail(csv_cur *c, const char *field, const char *what)
{
    return ph_err_set(c->err, PH_EINVAL, "%s: line %zu: %s%s%s", c->shown, c->row_line,
                      field ? field : "", field ? ": " : "", what);
}

/* A text field into out (cap bytes, NUL-terminated); stops before its
 * separator. */
static int text_field(csv_cur *c, const char *name, char *out, size_t cap)
{
    size_t n = 0;
    if (c->p < c->end && *c->p == '"') {
        c->p++;
        for (;;) {
            if (c->p == c->end)
                return csv_fail(c, name, "quoted field not closed");
            char ch = *c->p++;
            if (ch == '"') {
                if (c->p == c->end || *c->p != '"')
                    break;
                c->p++; /* "" inside quotes is one quote */
            } else if (ch == '\n') {
                c->line++;
            }
            if (ch == '\0')
                return csv_fail(c, name, "NUL byte");
            if (n + 1 >= cap)
                return csv_fail(c, name, "too long");
            out[n++] = ch;
        }
    } else {
        while (c->p < c->end && *c->p != ',' && *c->p != '\n') {
            char ch = *c->p++;
            if (ch == '"' || ch == '\r' || ch == '\0')
                return csv_fail(c, name, "quote, CR or NUL in an unquoted field");
            if (n + 1 >= cap)
                return csv_fail(c, name, "too long");
            out[n++] = ch;
        }
    }
    out[n] = '\0';
    return PH_OK;
}

/* Unquoted decimal digits, at most max; stops before its separator. */
static int num_field(csv_cur *c, const char *name, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t digits = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        unsigned d = (unsigned)(*c->p++ - '0');
        if (v > (max - d) / 10)
            return csv_fail(c, name, "number out of range");
        v = v * 10 + d;
        digits++;
    }
    if (digits == 0 || (c->p < c->end && *c->p != ',' && *c->p != '\n'))
        return csv_fail(c, name, "not a decimal number");
    *out = v;
    return PH_OK;
}

/* The separator after a field: ',' or, after the last one, '\n'. */
static int separator(csv_cur *c, const char *name, bool last)
{
    char want = last ? '\n' : ',';
    if (c->p == c->end)
        return csv_fail(c, name, last ? "row not ended by a newline" : "too few fields");
    if (*c->p != want)
        return csv_fail(c, name, last ? "too many fields" : "too few fields");
    c->p++;
    if (last)
        c->line++;
    return PH_OK;
}

static int num_u32(csv_cur *c, const char *name, uint32_t *out)
{
    uint64_t v = 0;
    int rc = num_field(c, name, UINT32_MAX, &v);
    *out = (uint32_t)v;
    return rc;
}

static int parse_row(csv_cur *c, ph_result_row *r)
{
    static const char *const seed_names[4] = {"seed0", "seed1", "seed2", "seed3"};
    memset(r, 0, sizeof *r);
    int rc = text_field(c, "file", r->file, sizeof r->file);
    if (!rc && (!r->file[0] || strchr(r->file, '/') || !strcmp(r->file, ".") ||
                !strcmp(r->file, "..")))
        rc = csv_fail(c, "file", "empty or not a plain file name");
    if (!rc)
        rc = separator(c, "file", false);
    if (!rc)
        rc = num_u32(c, "keys", &r->keys);
    if (!rc)
        rc = separator(c, "keys", false);
    if (!rc)
        rc = text_field(c, "hash", r->hash, sizeof r->hash);
    if (!rc)
        rc = separator(c, "hash", false);
    for (int i = 0; i < 4 && !rc; i++) {
        rc = num_u32(c, seed_names[i], &r->seeds[i]);
        if (!rc)
            rc = separator(c, seed_names[i], false);
    }
    if (!rc)
        rc = num_u32(c, "vertices", &r->vertices);
    if (!rc)
        rc = separator(c, "vertices", false);
    struct { const char *name; uint64_t *v; } u64s[] = {
        {"attempts", &r->attempts}, {"solve_us", &r->solve_us},
        {"verify_us", &r->verify_us}, {"table_bytes", &r->table_bytes}};
    for (size_t i = 0; i < 4 && !rc; i++) {
        rc = num_field(c, u64s[i].name, UINT64_MAX, u64s[i].v);
        if (!rc)
            rc = separator(c, u64s[i].name, false);
    }
    if (!rc)
        rc = text_field(c, "status", r->status, sizeof r->status);
    if (!rc && !r->status[0])
        rc = csv_fail(c, "status", "empty");
    if (!rc)
        rc = separator(c, "status", true);
    return rc;
}

int ph_results_csv_parse(const char *text, size_t len, const char *shown,
                         ph_results_csv_row_fn fn, void *ctx, ph_err *err)
{
    csv_cur c = {text, text + len, 1, 1, shown, err};
    size_t hlen = strlen(PH_RESULTS_CSV_HEADER);
    if (len < hlen || memcmp(text, PH_RESULTS_CSV_HEADER, hlen) != 0)
        return csv_fail(&c, NULL, "not the results.csv header");
    c.p += hlen;
    c.line = 2;
    while (c.p < c.end) {
        c.row_line = c.line;
        const char *start = c.p;
        ph_result_row row;
        int rc = parse_row(&c, &row);
        if (!rc && fn)
            rc = fn(ctx, &row, c.row_line, start, (size_t)(c.p - 1 - start));
        if (rc)
            return rc;
    }
    return PH_OK;
}
