/* ph_emit_find.c - membership for generated tables.
 *
 * Index maps every key of the set to its position, and any other key to
 * some position too.  Keeping the keys themselves in position order makes
 * membership one compare after Index: key k is in the set iff
 * keys[Index(k)] == k.  In power-of-two mode Index can return a slot in
 * [nkeys, nedges) for a non-member, so the bound is checked first; in
 * compact mode Index is always below nkeys and the check is left out. */
#include "ph_emit_int.h"

void emit_find_decl(ph_sb *b, const emit_ctx *c)
{
    ph_sb_printf(b,
                 "/* What %s_find returns for a key not in the set. */\n"
                 "#define %s_NOT_FOUND UINT32_MAX\n\n",
                 c->sym, c->sym);
    ph_sb_printf(b,
                 "/* Index of key if it is in the set, %s_NOT_FOUND otherwise. */\n"
                 "uint32_t %s_find(%s key);\n\n",
                 c->sym, c->sym, c->ktype);
}

void emit_find_source(ph_sb *b, const emit_ctx *c)
{
    const ph_table *t = c->t;
    ph_sb_printf(b, "\n/* The keys in position order: keys[Index(k)] == k iff k is a member. */\n"
                    "static const %s %s_keyset[%u] = {\n",
                 c->ktype, c->sym, t->nkeys);
    emit_key_list(b, c);
    ph_sb_printf(b, "uint32_t %s_find(%s key)\n{\n    uint32_t i = %s_index(key);\n",
                 c->sym, c->ktype, c->sym);
    if (t->compact)
        ph_sb_printf(b, "    return %s_keyset[i] == key ? i : %s_NOT_FOUND;\n}\n", c->sym,
                     c->sym);
    else
        ph_sb_printf(b, "    return i < %uu && %s_keyset[i] == key ? i : %s_NOT_FOUND;\n}\n",
                     t->nkeys, c->sym, c->sym);
}

void emit_key_cmp(ph_sb *b, const emit_ctx *c)
{
    ph_sb_printf(b,
                 "static int %s_cmp(const void *a, const void *b)\n{\n"
                 "    %s x = *(const %s *)a, y = *(const %s *)b;\n"
                 "    return (x > y) - (x < y);\n}\n\n",
                 c->sym, c->ktype, c->ktype, c->ktype);
}

/* The test draws non-members from two sources: each member's neighbours
 * (keys that differ in the low bits are the likeliest to share vertices)
 * and a fixed pseudo-random stream; members are skipped by binary search
 * over a sorted copy of the keys.  The checks return at the first accepted
 * non-member instead of exiting, so that the test's one exit path frees
 * that copy. */
void emit_find_test_helpers(ph_sb *b, const emit_ctx *c)
{
    const char *s = c->sym;
    emit_key_cmp(b, c);
    ph_sb_printf(b,
                 "/* 0 if key is a member; 1 if it is a non-member correctly rejected;\n"
                 " * -1 (reported) if it is a non-member that is accepted. */\n"
                 "static int %s_reject(const %s *sorted, %s key)\n{\n"
                 "    if (bsearch(&key, sorted, %s_KEYS, sizeof key, %s_cmp))\n"
                 "        return 0;\n"
                 "    uint32_t got = %s_find(key);\n"
                 "    if (got != %s_NOT_FOUND) {\n"
                 "        fprintf(stderr, \"%s_test: non-member %s found at %%u\\n\",\n"
                 "                %skey, (unsigned)got);\n"
                 "        return -1;\n    }\n    return 1;\n}\n\n",
                 s, c->ktype, c->ktype, s, s, s, s, s, c->kfmt, c->kcast);
    /* Non-members next to members: +-1, the top bit flipped, and for 64-bit
     * keys one that differs from a member only in its high 32 bits. */
    const char *flip = c->key64 ? "0x8000000000000000ull" : "0x80000000u";
    ph_sb_printf(b,
                 "/* Every non-member tried rejected (counted in *rejected): 0; 1 at the\n"
                 " * first one accepted. */\n"
                 "static int %s_nonmembers(const %s *sorted, unsigned long *rejected)\n{\n"
                 "    for (uint32_t i = 0; i < %s_KEYS; i++) {\n"
                 "        const %s near[] = {%s_keys[i] + 1u, %s_keys[i] - 1u,\n"
                 "            %s_keys[i] ^ %s",
                 s, c->ktype, s, c->ktype, s, s, s, flip);
    if (c->key64)
        ph_sb_printf(b, ", %s_keys[i] ^ 0x100000000ull", s);
    ph_sb_printf(b,
                 "};\n"
                 "        for (size_t j = 0; j < sizeof near / sizeof near[0]; j++) {\n"
                 "            int r = %s_reject(sorted, near[j]);\n"
                 "            if (r < 0)\n                return 1;\n"
                 "            *rejected += (unsigned long)r;\n        }\n    }\n"
                 "    uint64_t x = 0x9e3779b97f4a7c15ull;\n"
                 "    for (uint32_t n = 0; n < 1000000u; n++) {\n"
                 "        x ^= x << 13;\n        x ^= x >> 7;\n        x ^= x << 17;\n"
                 "        int r = %s_reject(sorted, (%s)(x >> %d));\n"
                 "        if (r < 0)\n            return 1;\n"
                 "        *rejected += (unsigned long)r;\n    }\n"
                 "    return 0;\n}\n\n",
                 s, s, c->ktype, c->key64 ? 0 : 32);
}

void emit_position_check(ph_sb *b, const emit_ctx *c, const char *fn, const char *what)
{
    const char *s = c->sym;
    ph_sb_printf(b,
                 "    for (uint32_t i = 0; i < %s_KEYS; i++) {\n"
                 "        uint32_t got = %s_%s(%s_keys[i]);\n"
                 "        if (got != i) {\n"
                 "            fprintf(stderr, \"%s_test: %s %s at position %%u: %s %%u\\n\",\n"
                 "                    %s%s_keys[i], (unsigned)i, (unsigned)got);\n"
                 "            return 1;\n        }\n    }\n",
                 s, s, fn, s, s, what, c->kfmt, fn, c->kcast, s);
}

void emit_find_test_body(ph_sb *b, const emit_ctx *c)
{
    const char *s = c->sym;
    emit_position_check(b, c, "find", "member");
    ph_sb_printf(b,
                 "    %s *sorted = malloc(sizeof %s_keys);\n"
                 "    if (!sorted) {\n        fprintf(stderr, \"%s_test: out of memory\\n\");\n"
                 "        return 1;\n    }\n"
                 "    memcpy(sorted, %s_keys, sizeof %s_keys);\n"
                 "    qsort(sorted, %s_KEYS, sizeof sorted[0], %s_cmp);\n"
                 "    unsigned long rejected = 0;\n"
                 "    int accepted = %s_nonmembers(sorted, &rejected);\n"
                 "    free(sorted);\n"
                 "    if (accepted)\n        return 1;\n"
                 "    printf(\"%s_test: %%lu non-members rejected\\n\", rejected);\n",
                 c->ktype, s, s, s, s, s, s, s, s);
}

void emit_find_bench_body(ph_sb *b, const emit_ctx *c)
{
    const char *s = c->sym;
    /* Misses: members + 1 that are not members, as many as there are keys
     * (or fewer, for dense sets); then both loops time like the Index one. */
    ph_sb_printf(b,
                 "    %s *miss = malloc(sizeof %s_keys);\n"
                 "    uint32_t nmiss = 0;\n"
                 "    for (uint32_t i = 0; miss && i < %s_KEYS; i++)\n"
                 "        if (%s_find(%s_keys[i] + 1u) == %s_NOT_FOUND)\n"
                 "            miss[nmiss++] = %s_keys[i] + 1u;\n"
                 "    double hit = 0, mis = 0;\n"
                 "    for (int r = 0; r < (rounds > 0 ? rounds : 1); r++) {\n"
                 "        uint32_t acc = 0;\n        double t0 = now_ns();\n"
                 "        for (uint32_t p = 0; p < passes; p++)\n"
                 "            for (uint32_t i = 0; i < %s_KEYS; i++)\n"
                 "                acc += %s_find(%s_keys[i]);\n"
                 "        double dt = (now_ns() - t0) / ((double)passes * %s_KEYS);\n"
                 "        double t1 = now_ns();\n"
                 "        for (uint32_t p = 0; p < passes; p++)\n"
                 "            for (uint32_t i = 0; i < nmiss; i++)\n"
                 "                acc += %s_find(miss[i]);\n"
                 "        double dm = nmiss ? (now_ns() - t1) / ((double)passes * nmiss) : 0;\n"
                 "        sink += acc;\n"
                 "        if (r == 0 || dt < hit)\n            hit = dt;\n"
                 "        if (r == 0 || dm < mis)\n            mis = dm;\n"
                 "    }\n"
                 "    free(miss);\n"
                 "    printf(\"%s keys=%%u ns_per_find=%%.2f ns_per_find_miss=%%.2f misses=%%u\\n\",\n"
                 "           (unsigned)%s_KEYS, hit, mis, (unsigned)nmiss);\n",
                 c->ktype, s, s, s, s, s, s, s, s, s, s, s, s, s);
}
