/* ph_emit_values.c - values for generated tables (--values 4|8).
 *
 * One value per key beside the key set, in position order: NAME_lookup,
 * NAME_insert, NAME_delete and NAME_increment find the key's position with
 * NAME_find and work on its value with atomic builtins (GCC and Clang), so
 * concurrent callers need no lock.  A key outside the set changes nothing:
 * lookup returns 0, insert, delete and increment return NAME_NOT_MEMBER
 * (all ones; a member can hold that value too, and NAME_find tells members
 * from the rest for certain).  Values start at 0, or at the values given
 * (a values file), written as the initializer of the array. */
#include <stdio.h>

#include "ph_emit_int.h"

static void emit_value_list(ph_sb *b, const emit_ctx *c)
{
    uint32_t n = c->t->nkeys;
    for (uint32_t i = 0; i < n; i++) {
        unsigned long long v = c->vbytes == 8 ? ((const uint64_t *)c->values)[i]
                                              : ((const uint32_t *)c->values)[i];
        ph_sb_puts(b, i % 6 == 0 ? "    " : " ");
        ph_sb_printf(b, c->vbytes == 8 ? "%lluull," : "%lluu,", v);
        if (i % 6 == 5 || i + 1 == n)
            ph_sb_puts(b, "\n");
    }
    ph_sb_puts(b, "};\n\n");
}

void emit_values_decl(ph_sb *b, const emit_ctx *c)
{
    const char *s = c->sym, *k = c->ktype, *v = c->vtype;
    ph_sb_printf(b,
                 "/* Values: one %s per key, in key order, starting at %s.  Atomic:\n"
                 " * callers on several threads need no lock.  A key not in the set\n"
                 " * changes nothing: lookup returns 0; insert, delete and increment\n"
                 " * return %s_NOT_MEMBER (a member may hold that value too:\n"
                 " * %s_find tells members from the rest for certain). */\n"
                 "#define %s_VALUE_BITS %u\n#define %s_NOT_MEMBER %s\n\n",
                 v, c->values ? "the values file's" : "0", s, s, s, c->vbytes * 8, s,
                 c->vbytes == 8 ? "UINT64_MAX" : "UINT32_MAX");
    ph_sb_printf(b,
                 "/* The key's value; 0 for a key not in the set. */\n"
                 "%s %s_lookup(%s key);\n"
                 "/* Sets the key's value; returns the one it had. */\n"
                 "%s %s_insert(%s key, %s value);\n"
                 "/* Sets the key's value to 0; returns the one it had. */\n"
                 "%s %s_delete(%s key);\n"
                 "/* Adds 1 to the key's value (wrapping); returns the new value. */\n"
                 "%s %s_increment(%s key);\n\n",
                 v, s, k, v, s, k, v, v, s, k, v, s, k);
}

void emit_values_source(ph_sb *b, const emit_ctx *c)
{
    const char *s = c->sym, *v = c->vtype;
    emit_values_guard(b, c);
    ph_sb_puts(b, "/* The values, in key order. */\n");
    if (c->values) {
        ph_sb_printf(b, "static %s %s_values[%u] = {\n", v, s, c->t->nkeys);
        emit_value_list(b, c);
    } else {
        ph_sb_printf(b, "static %s %s_values[%u];\n\n", v, s, c->t->nkeys);
    }
    char arr[EMIT_NAME_MAX + 16];
    snprintf(arr, sizeof arr, "%s_values", s);
    emit_values_ops(b, c, arr);
}

void emit_values_guard(ph_sb *b, const emit_ctx *c)
{
    ph_sb_printf(b,
                 "\n#if !defined(__GNUC__) && !defined(__clang__)\n"
                 "#error \"%s: the values use GCC/Clang atomic builtins\"\n#endif\n\n",
                 c->sym);
}

void emit_values_ops(ph_sb *b, const emit_ctx *c, const char *a)
{
    const char *s = c->sym, *k = c->ktype, *v = c->vtype;
    ph_sb_printf(b,
                 "%s %s_lookup(%s key)\n{\n    uint32_t i = %s_find(key);\n"
                 "    return i == %s_NOT_FOUND ? 0 : __atomic_load_n(&%s[i], "
                 "__ATOMIC_ACQUIRE);\n}\n\n",
                 v, s, k, s, s, a);
    ph_sb_printf(b,
                 "%s %s_insert(%s key, %s value)\n{\n    uint32_t i = %s_find(key);\n"
                 "    return i == %s_NOT_FOUND ? %s_NOT_MEMBER\n"
                 "                             : __atomic_exchange_n(&%s[i], value, "
                 "__ATOMIC_ACQ_REL);\n}\n\n",
                 v, s, k, v, s, s, s, a);
    ph_sb_printf(b,
                 "%s %s_delete(%s key)\n{\n    uint32_t i = %s_find(key);\n"
                 "    return i == %s_NOT_FOUND ? %s_NOT_MEMBER\n"
                 "                             : __atomic_exchange_n(&%s[i], 0, "
                 "__ATOMIC_ACQ_REL);\n}\n\n",
                 v, s, k, s, s, s, a);
    ph_sb_printf(b,
                 "%s %s_increment(%s key)\n{\n    uint32_t i = %s_find(key);\n"
                 "    return i == %s_NOT_FOUND ? %s_NOT_MEMBER\n"
                 "                             : __atomic_add_fetch(&%s[i], 1, "
                 "__ATOMIC_ACQ_REL);\n}\n",
                 v, s, k, s, s, s, a);
}

/* The test's copy of the starting values (none when they start at 0). */
void emit_values_test_helpers(ph_sb *b, const emit_ctx *c)
{
    if (!c->values)
        return;
    ph_sb_printf(b, "static const %s %s_start[%u] = {\n", c->vtype, c->sym, c->t->nkeys);
    emit_value_list(b, c);
}

/* Every operation on every member, in position order: NAME_find finds it
 * at its position, and lookup, insert, increment and delete see and leave
 * the values they must; the member ends with its starting value. */
static void emit_member_checks(ph_sb *b, const emit_ctx *c, const emit_values_src *src)
{
    const char *s = c->sym, *k = c->ktype, *v = c->vtype;
    char v0[EMIT_NAME_MAX + 32];
    snprintf(v0, sizeof v0, src->start ? "%s[i]" : "0", src->start);
    ph_sb_printf(b,
                 "    /* Bit n of bad: check n below failed. */\n"
                 "    for (uint32_t i = 0; i < %s; i++) {\n"
                 "        %s key = %s[i];\n"
                 "        %s v0 = %s, v = (%s)(i * 2654435761u + 7u);\n"
                 "        int bad = %s_find(key) != i;\n"
                 "        bad |= (%s_lookup(key) != v0) << 1;\n"
                 "        bad |= (%s_insert(key, v) != v0) << 2;\n"
                 "        bad |= (%s_lookup(key) != v) << 3;\n"
                 "        bad |= (%s_increment(key) != (%s)(v + 1u)) << 4;\n"
                 "        bad |= (%s_lookup(key) != (%s)(v + 1u)) << 5;\n"
                 "        bad |= (%s_delete(key) != (%s)(v + 1u)) << 6;\n"
                 "        bad |= (%s_lookup(key) != 0) << 7;\n"
                 "        bad |= (%s_insert(key, v0) != 0) << 8;\n"
                 "        bad |= (%s_lookup(key) != v0) << 9;\n"
                 "        if (bad) {\n"
                 "            fprintf(stderr, \"%s_test: values of member %s at position %%u: "
                 "failed checks 0x%%x\\n\",\n"
                 "                    %skey, (unsigned)i, (unsigned)bad);\n"
                 "            return 1;\n        }\n    }\n",
                 src->count, k, src->keys, v, v0, v, s, s, s, s, s, v, s, v, s, v, s, s, s, s,
                 c->kfmt, c->kcast);
}

/* Non-members: each member's neighbour (key + 1) and 100,000 random keys,
 * members among them skipped by binary search over a sorted copy of the
 * keys (freed on the way out, failed or not); every operation must refuse
 * them.  The loop counts in 64 bits: a table of more than 2^32 - 100,000
 * keys would wrap a 32-bit bound and try next to none. */
static void emit_nonmember_checks(ph_sb *b, const emit_ctx *c, const emit_values_src *src)
{
    const char *s = c->sym, *k = c->ktype, *n = src->count, *keys = src->keys;
    int shift = c->key64 ? 0 : 32;
    ph_sb_printf(b,
                 "    %s *vsorted = malloc(((size_t)%s + 1) * sizeof *vsorted);\n"
                 "    if (!vsorted) {\n        fprintf(stderr, \"%s_test: out of memory\\n\");\n"
                 "        return 1;\n    }\n"
                 "    memcpy(vsorted, %s, (size_t)%s * sizeof *vsorted);\n"
                 "    qsort(vsorted, %s, sizeof *vsorted, %s_cmp);\n"
                 "    unsigned long outside = 0;\n"
                 "    int vaccepted = 0;\n"
                 "    uint64_t y = 0x2545f4914f6cdd1dull;\n"
                 "    for (uint64_t i = 0; !vaccepted && i < (uint64_t)%s + 100000u; i++) {\n"
                 "        %s key;\n"
                 "        if (i < %s)\n            key = %s[i] + 1u;\n"
                 "        else {\n            y ^= y << 13;\n            y ^= y >> 7;\n"
                 "            y ^= y << 17;\n            key = (%s)(y >> %d);\n        }\n"
                 "        if (bsearch(&key, vsorted, %s, sizeof key, %s_cmp))\n"
                 "            continue;\n"
                 "        outside++;\n"
                 "        if (%s_find(key) != %s_NOT_FOUND || %s_lookup(key) != 0 ||\n"
                 "            %s_insert(key, 5u) != %s_NOT_MEMBER || %s_delete(key) != %s_NOT_MEMBER ||\n"
                 "            %s_increment(key) != %s_NOT_MEMBER) {\n"
                 "            fprintf(stderr, \"%s_test: values: non-member %s not refused\\n\", "
                 "%skey);\n"
                 "            vaccepted = 1;\n        }\n    }\n"
                 "    free(vsorted);\n"
                 "    if (vaccepted)\n        return 1;\n",
                 k, n, s, keys, n, n, s, n, k, n, keys, k, shift, n, s, s, s, s, s, s, s, s, s,
                 s, s, c->kfmt, c->kcast);
}

void emit_values_checks(ph_sb *b, const emit_ctx *c, const emit_values_src *src)
{
    const char *s = c->sym;
    emit_member_checks(b, c, src);
    emit_nonmember_checks(b, c, src);
    ph_sb_printf(b,
                 "    for (uint32_t i = 0; i < %s; i++)\n"
                 "        if (%s_lookup(%s[i]) != %s%s) {\n"
                 "            fprintf(stderr, \"%s_test: values: member at position %%u changed by "
                 "non-members\\n\", (unsigned)i);\n"
                 "            return 1;\n        }\n"
                 "    printf(\"%s_test: values ok: every operation on %%u keys, %%lu non-members "
                 "refused\\n\", (unsigned)%s, outside);\n",
                 src->count, s, src->keys, src->start ? src->start : "0",
                 src->start ? "[i]" : "", s, s, src->count);
}

/* The one-graph test: keys and starting values are arrays of the test. */
void emit_values_test_body(ph_sb *b, const emit_ctx *c)
{
    char keys[EMIT_NAME_MAX + 16], count[EMIT_NAME_MAX + 16], start[EMIT_NAME_MAX + 16];
    snprintf(keys, sizeof keys, "%s_keys", c->sym);
    snprintf(count, sizeof count, "%s_KEYS", c->sym);
    snprintf(start, sizeof start, "%s_start", c->sym);
    emit_values_src src = {.keys = keys, .count = count, .start = c->values ? start : NULL};
    emit_values_checks(b, c, &src);
}
