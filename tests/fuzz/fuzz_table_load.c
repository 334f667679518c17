/* fuzz_table_load - libFuzzer target for loading a saved table
 * (phc_table_load_mem, the checked parse phc_table_load also uses).
 *
 * Input: one mode byte, then the file's bytes.  Mode bit 0 writes the
 * right checksum into the header first (the fuzzer cannot forge CRC32C, and
 * the checks behind it must be reached); bit 1 loads with PHC_LOAD_VERIFY.
 * Whatever the bytes, the load either fails with a known code and a
 * one-line message, or gives a table on which index and find of the kept
 * keys and of keys drawn from the input stay inside its arrays (ASan) and
 * find answers only with a position whose key is the one asked for; on a
 * table with values, lookup, insert and increment of those keys stay
 * inside the values (written to the table's private copy). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ph_image.h"
#include "phcluster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const phc_error *e)
{
    fprintf(stderr, "fuzz_table_load: %s (%s)\n", what, e ? e->msg : "");
    abort();
}

static void check_refusal(int rc, const phc_error *e)
{
    static const int known[] = {PHC_EINVAL, PHC_EFORMAT, PHC_EFOREIGN, PHC_EVERSION,
                                PHC_ETRUNC, PHC_ECHECKSUM, PHC_EUNSUPPORTED, PHC_EVERIFY};
    int ok = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        ok |= rc == known[i];
    if (!ok)
        die("unexpected error code", e);
    if (e->code != rc || !e->msg[0] || strchr(e->msg, '\n'))
        die("refusal without its code and a one-line message", e);
}

/* Values: members give theirs and take writes; non-members change nothing. */
static void exercise_values(phc_table *t, uint64_t k, uint32_t f)
{
    if (!phc_table_value_size(t))
        return;
    uint64_t v = phc_table_lookup(t, k);
    if (f == PHC_NOT_FOUND) {
        if (v != 0 || phc_table_increment(t, k) != PHC_NOT_MEMBER)
            die("a non-member has a value", NULL);
        return;
    }
    (void)phc_table_insert(t, k, v + 1);
    (void)phc_table_increment(t, k);
}

static void exercise(phc_table *t, const uint8_t *data, size_t size)
{
    uint64_t n = phc_table_count(t);
    if (n == 0 || n > UINT32_MAX)
        die("loaded table with a bad count", NULL);
    /* Keys from the input: every aligned word (4 or 8 bytes, as the
     * table's keys), at most 1024. */
    size_t ks = phc_table_key_size(t);
    if (ks != 4 && ks != 8)
        die("loaded table with a bad key size", NULL);
    for (size_t i = 0; i + ks <= size && i < ks * 1024; i += ks) {
        uint64_t k = 0;
        memcpy(&k, data + i, ks);
        (void)phc_table_index(t, k);
        uint32_t f = phc_table_find(t, k);
        if (f != PHC_NOT_FOUND && (f >= n || phc_table_index(t, k) != f))
            die("find answered a position that is not the key's", NULL);
        exercise_values(t, k, f);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    size_t len = size - 1;
    uint64_t *buf = malloc(len / 8 * 8 + 8); /* 8-byte aligned, as a mapping is */
    if (!buf)
        return 0;
    memcpy(buf, data + 1, len);
    if ((mode & 1) && len >= PH_IMAGE_HEADER) {
        uint32_t c = ph_image_checksum(buf, len);
        memcpy((uint8_t *)buf + 48, &c, 4);
    }
    phc_table *t = NULL;
    phc_error e = {0};
    int rc = phc_table_load_mem(buf, len, mode & 2 ? PHC_LOAD_VERIFY : 0, &t, &e);
    if (rc) {
        if (t)
            die("a table returned with an error", &e);
        check_refusal(rc, &e);
    } else {
        exercise(t, (const uint8_t *)buf, len);
        phc_table_free(t);
    }
    free(buf);
    return 0;
}
