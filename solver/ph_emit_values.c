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

/* Every operation on every key, then on non-members (the neighbours of
 * each key and 100,000 random keys): nothing may change for them, and
 * every member must end with its starting value. */
void emit_values_test_body(ph_sb *b, const emit_ctx *c)
{
    const char *s = c->sym, *k = c->ktype, *v = c->vtype;
    char v0[EMIT_NAME_MAX + 32];
    snprintf(v0, sizeof v0, c->values ? "%s_start[i]" : "0", s);
    ph_sb_printf(b,
                 "    for (uint32_t i = 0; i < %s_KEYS; i++) {\n"
                 "        %s key = %s_keys[i];\n"
                 "        %s v0 = %s, v = (%s)(i * 2654435761u + 7u);\n"
                 "        int bad = %s_lookup(key) != v0;\n"
                 "        bad |= (%s_insert(key, v) != v0) << 1;\n"
                 "        bad |= (%s_lookup(key) != v) << 2;\n"
                 "        bad |= (%s_increment(key) != (%s)(v + 1u)) << 3;\n"
                 "        bad |= (%s_lookup(key) != (%s)(v + 1u)) << 4;\n"
                 "        bad |= (%s_delete(key) != (%s)(v + 1u)) << 5;\n"
                 "        bad |= (%s_lookup(key) != 0) << 6;\n"
                 "        bad |= (%s_insert(key, v0) != 0) << 7;\n"
                 "        bad |= (%s_lookup(key) != v0) << 8;\n"
                 "        if (bad) {\n"
                 "            fprintf(stderr, \"%s_test: values of member %s at position %%u: "
                 "failed checks 0x%%x\\n\",\n"
                 "                    %skey, (unsigned)i, (unsigned)bad);\n"
                 "            return 1;\n        }\n    }\n",
                 s, k, s, v, v0, v, s, s, s, s, v, s, v, s, v, s, s, s, s, c->kfmt, c->kcast);
    ph_sb_printf(b,
                 "    %s *vsorted = malloc(sizeof %s_keys);\n"
                 "    if (!vsorted) {\n        fprintf(stderr, \"%s_test: out of memory\\n\");\n"
                 "        return 1;\n    }\n"
                 "    memcpy(vsorted, %s_keys, sizeof %s_keys);\n"
                 "    qsort(vsorted, %s_KEYS, sizeof vsorted[0], %s_cmp);\n"
                 "    unsigned long outside = 0;\n"
                 "    uint64_t y = 0x2545f4914f6cdd1dull;\n"
                 "    for (uint32_t i = 0; i < %s_KEYS + 100000u; i++) {\n"
                 "        %s key = (%s)(y >> %d);\n"
                 "        if (i < %s_KEYS)\n            key = %s_keys[i] + 1u;\n"
                 "        else {\n            y ^= y << 13;\n            y ^= y >> 7;\n"
                 "            y ^= y << 17;\n            key = (%s)(y >> %d);\n        }\n"
                 "        if (bsearch(&key, vsorted, %s_KEYS, sizeof key, %s_cmp))\n"
                 "            continue;\n"
                 "        outside++;\n"
                 "        if (%s_lookup(key) != 0 || %s_insert(key, 5u) != %s_NOT_MEMBER ||\n"
                 "            %s_delete(key) != %s_NOT_MEMBER || %s_increment(key) != %s_NOT_MEMBER) {\n"
                 "            fprintf(stderr, \"%s_test: values: non-member %s not refused\\n\", "
                 "%skey);\n"
                 "            return 1;\n        }\n    }\n"
                 "    free(vsorted);\n",
                 k, s, s, s, s, s, s, s, k, k, c->key64 ? 0 : 32, s, s, k, c->key64 ? 0 : 32, s,
                 s, s, s, s, s, s, s, s, s, c->kfmt, c->kcast);
    ph_sb_printf(b,
                 "    for (uint32_t i = 0; i < %s_KEYS; i++) {\n"
                 "        %s v0 = %s;\n"
                 "        if (%s_lookup(%s_keys[i]) != v0) {\n"
                 "            fprintf(stderr, \"%s_test: values: member at position %%u changed by "
                 "non-members\\n\", (unsigned)i);\n"
                 "            return 1;\n        }\n    }\n"
                 "    printf(\"%s_test: values ok: every operation on %%u keys, %%lu non-members "
                 "refused\\n\", (unsigned)%s_KEYS, outside);\n",
                 s, v, v0, s, s, s, s, s);
}
