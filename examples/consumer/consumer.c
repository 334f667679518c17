/* consumer - libphcluster from an installed copy, end to end.
 *
 *   consumer DIR [N]
 *
 * Writes DIR/keys64.keys (N unique 64-bit keys, little-endian, default
 * 500000), reads it back, builds a table, saves DIR/keys64.phc, frees the
 * table, loads the file, and checks that find gives every key its
 * position and rejects 1,000,000 keys that are not in the set.  The table
 * keeps a counter per key (8-byte values from 0): each member's is
 * incremented, the table saved and loaded again, and every counter must
 * read 1.  Exit 0 on success, 1 with a message otherwise. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <phcluster.h>

#define NON_MEMBERS 1000000u

/* A bijection of 64-bit values: distinct inputs give distinct keys, so
 * keys i < n are unique and keys i >= n are never members. */
static uint64_t key_of(uint64_t i)
{
    uint64_t x = i + 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static int die(const char *what, const char *detail)
{
    fprintf(stderr, "consumer: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

static int write_keys(const char *path, uint32_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t k = key_of(i);
        unsigned char b[8];
        for (int j = 0; j < 8; j++)
            b[j] = (unsigned char)(k >> (8 * j));
        if (fwrite(b, 1, 8, f) != 8) {
            fclose(f);
            return -1;
        }
    }
    return fclose(f);
}

static uint64_t *read_keys(const char *path, uint32_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint64_t *v = NULL;
    size_t cap = 0, len = 0;
    unsigned char b[8];
    while (fread(b, 1, 8, f) == 8) {
        if (len == cap) {
            cap = cap ? 2 * cap : 65536;
            uint64_t *nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                free(v);
                fclose(f);
                return NULL;
            }
            v = nv;
        }
        uint64_t k = 0;
        for (int j = 0; j < 8; j++)
            k |= (uint64_t)b[j] << (8 * j);
        v[len++] = k;
    }
    fclose(f);
    *n = (uint32_t)len;
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        return die("usage: consumer DIR [N]", NULL);
    uint32_t n = argc == 3 ? (uint32_t)strtoul(argv[2], NULL, 10) : 500000u;
    char keys_path[4096], phc_path[4096];
    snprintf(keys_path, sizeof keys_path, "%s/keys64.keys", argv[1]);
    snprintf(phc_path, sizeof phc_path, "%s/keys64.phc", argv[1]);
    if (mkdir(argv[1], 0755) != 0 && errno != EEXIST)
        return die(argv[1], strerror(errno));
    if (n == 0 || write_keys(keys_path, n) != 0)
        return die("cannot write the keys file", keys_path);

    uint32_t got_n = 0;
    uint64_t *keys = read_keys(keys_path, &got_n);
    if (!keys || got_n != n)
        return die("cannot read the keys file back", keys_path);

    phc_options o;
    phc_options_init(&o);
    o.seed = 1;
    o.value_size = 8; /* a counter per key, from 0 */
    phc_table *t;
    phc_error e;
    if (phc_table_build64(keys, n, &o, &t, &e) != PHC_OK)
        return die("build", e.msg);
    if (phc_table_save(t, phc_path, &e) != PHC_OK)
        return die("save", e.msg);
    phc_table_free(t);

    if (phc_table_load(phc_path, 0, &t, &e) != PHC_OK)
        return die("load", e.msg);
    if (phc_table_count(t) != n || phc_table_key_size(t) != 8)
        return die("loaded table has the wrong count or key size", phc_path);
    for (uint32_t i = 0; i < n; i++)
        if (phc_table_find(t, keys[i]) != i) {
            fprintf(stderr, "consumer: key %u (0x%016llx) not found at its position\n", i,
                    (unsigned long long)keys[i]);
            return 1;
        }
    for (uint32_t i = 0; i < NON_MEMBERS; i++)
        if (phc_table_find(t, key_of((uint64_t)n + i)) != PHC_NOT_FOUND) {
            fprintf(stderr, "consumer: non-member %u found\n", i);
            return 1;
        }
    /* Counters: the loaded table takes writes (its values are a private
     * copy), saving writes them, a non-member has none. */
    for (uint32_t i = 0; i < n; i++)
        if (phc_table_increment(t, keys[i]) != 1)
            return die("increment of a member did not give 1", phc_path);
    if (phc_table_increment(t, key_of(n)) != PHC_NOT_MEMBER)
        return die("a non-member was incremented", phc_path);
    if (phc_table_save(t, phc_path, &e) != PHC_OK)
        return die("save", e.msg);
    phc_table_free(t);
    if (phc_table_load(phc_path, 0, &t, &e) != PHC_OK)
        return die("load", e.msg);
    for (uint32_t i = 0; i < n; i++)
        if (phc_table_lookup(t, keys[i]) != 1)
            return die("a counter did not survive save and load", phc_path);
    phc_table_free(t);
    free(keys);
    printf("consumer: %u members found, %u non-members rejected, %u counters saved and "
           "loaded (%s)\n", n, NON_MEMBERS, n, phc_path);
    return 0;
}
