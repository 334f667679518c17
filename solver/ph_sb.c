/* ph_sb.c - growable text for the emitters (see ph_sb_int.h). */
#include "ph_sb_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ph_sb_reserve(ph_sb *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void ph_sb_putn(ph_sb *b, const char *s, size_t n)
{
    if (ph_sb_reserve(b, n) != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void ph_sb_puts(ph_sb *b, const char *s)
{
    ph_sb_putn(b, s, strlen(s));
}

void ph_sb_printf(ph_sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || ph_sb_reserve(b, (size_t)n) != 0) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Decimal without printf: tables run to millions of values. */
void ph_sb_u32(ph_sb *b, uint32_t v)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (ph_sb_reserve(b, n) != 0)
        return;
    while (n)
        b->p[b->len++] = tmp[--n];
    b->p[b->len] = '\0';
}
