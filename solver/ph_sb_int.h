/* ph_sb_int.h - growable text for the emitters (solver-internal).
 *
 * The first allocation failure sticks in oom, so callers check once at the
 * end instead of after every append. */
#ifndef PH_SB_INT_H
#define PH_SB_INT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ph_sb {
    char *p;
    size_t len, cap;
    int oom;
} ph_sb;

void ph_sb_putn(ph_sb *b, const char *s, size_t n);
void ph_sb_puts(ph_sb *b, const char *s);
void ph_sb_printf(ph_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Decimal without printf: tables run to millions of values. */
void ph_sb_u32(ph_sb *b, uint32_t v);

#endif
