/* ph_emit_int.h - what the per-file emitters share (solver-internal).
 *
 * ph_emit.c renders the Index and the files around it; ph_emit_find.c adds
 * membership (the key set kept beside the table, NAME_find).  Both read one
 * context computed once per table. */
#ifndef PH_EMIT_INT_H
#define PH_EMIT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "ph_sb_int.h"
#include "ph_solver.h"

#define EMIT_NAME_MAX 200     /* keeps "NAME/NAME_bench.c" well inside paths */
#define EMIT_PER_LINE 12      /* table values per line */

typedef struct emit_ctx {
    const ph_table *t;
    const void *keys;  /* uint32_t, or uint64_t when key64 */
    const char *name;
    bool key64;        /* t->key_size == 8 */
    const char *ktype; /* "uint32_t" or "uint64_t": the key type */
    const char *kfmt;  /* printf format of a key in generated messages */
    const char *kcast; /* the cast that goes with kfmt */
    char sym[EMIT_NAME_MAX + 8];
    char guard[EMIT_NAME_MAX + 16];
    const char *ctype; /* element type of the table */
    bool find;         /* the key set is kept: NAME_find exists */
    unsigned vbytes;   /* values: 4 or 8 bytes per key, 0 = none (ph_emit_values.c) */
    const char *vtype; /* "uint32_t" or "uint64_t": the value type */
    const void *values; /* starting values (nkeys of vbytes), NULL = all 0 */
} emit_ctx;

/* n uint32 literals, EMIT_PER_LINE a line, as the body of an initializer. */
void emit_u32_list(ph_sb *b, const uint32_t *v, uint32_t n);
/* The table's keys as such a body, in their type (uint32 or uint64 literals). */
void emit_key_list(ph_sb *b, const emit_ctx *c);

/* NAME_test.c, inside main: NAME_FN(NAME_keys[i]) == i for every key, or
 * the key (named WHAT on stderr) and exit 1. */
void emit_position_check(ph_sb *b, const emit_ctx *c, const char *fn, const char *what);

/* CMakeLists.txt: the executables SYM-test and SYM-bench of NAME_test.c and
 * NAME_bench.c, linked to the library SYM (one-graph and partitioned
 * tables alike). */
void emit_cmake_programs(ph_sb *b, const char *sym, const char *name);

/* NAME.h: NAME_NOT_FOUND and the NAME_find declaration. */
void emit_find_decl(ph_sb *b, const emit_ctx *c);
/* NAME.c, after NAME_index: the key set and NAME_find. */
void emit_find_source(ph_sb *b, const emit_ctx *c);
/* NAME_test.c: NAME_cmp, the key order qsort and bsearch use. */
void emit_key_cmp(ph_sb *b, const emit_ctx *c);
/* NAME_test.c, helpers before main: NAME_cmp, and non-members drawn and
 * checked. */
void emit_find_test_helpers(ph_sb *b, const emit_ctx *c);
/* NAME_test.c, inside main after the Index loop: every member found at its
 * position, every non-member rejected. */
void emit_find_test_body(ph_sb *b, const emit_ctx *c);
/* NAME_bench.c, inside main after the Index rounds: ns per find, members
 * and non-members. */
void emit_find_bench_body(ph_sb *b, const emit_ctx *c);

/* Values (ph_emit_values.c): NAME.h declarations, NAME.c array and
 * functions, NAME_test.c starting values and the checks of every operation
 * on every key and on non-members. */
void emit_values_decl(ph_sb *b, const emit_ctx *c);
void emit_values_source(ph_sb *b, const emit_ctx *c);
/* The parts of NAME.c's values that do not depend on the table kind (the
 * partitioned emitter, ph_part_emit.c, uses them too): the #error for
 * compilers without the atomic builtins, and NAME_lookup, NAME_insert,
 * NAME_delete and NAME_increment over the value array named `array`
 * through NAME_find.  They read c's sym, ktype and vtype alone. */
void emit_values_guard(ph_sb *b, const emit_ctx *c);
void emit_values_ops(ph_sb *b, const emit_ctx *c, const char *array);
/* NAME_test.c, before main: the starting values (NAME_start). */
void emit_values_test_helpers(ph_sb *b, const emit_ctx *c);

/* Where NAME_test.c holds what the values checks read, as C expressions:
 * the keys in position order, their count, and the starting values
 * (NULL: the values start at 0). */
typedef struct emit_values_src {
    const char *keys;
    const char *count;
    const char *start;
} emit_values_src;

/* NAME_test.c, inside a function returning int (1 at the first failure,
 * message on stderr): every operation on every member, then on
 * non-members (each member's neighbour and 100,000 random keys), which
 * must change nothing; every member ends with its starting value.  Needs
 * NAME_cmp (emit_key_cmp) and <stdlib.h>, <string.h>, <stdio.h>; reads c's
 * sym, ktype, key64, kfmt, kcast and vtype alone. */
void emit_values_checks(ph_sb *b, const emit_ctx *c, const emit_values_src *src);
/* The same for a one-graph table: over NAME_keys and NAME_start. */
void emit_values_test_body(ph_sb *b, const emit_ctx *c);

#endif
