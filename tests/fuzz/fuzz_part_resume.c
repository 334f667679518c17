/* fuzz_part_resume - libFuzzer target for a partitioned table's progress
 * record (coordinator/coord_part_resume.c: coord_psave_open reading
 * NAME.values.resume beside NAME.values.partial).
 *
 * A fixed small assembly (4 buckets in 2 groups, 40 vertices) in a
 * temporary directory.  Input: one mode byte, then the record's bytes.
 * Mode bit 0 writes the right CRC32C at the record's end first (the
 * fuzzer cannot forge it, and the checks behind it must be reached); bit 1
 * makes the values file 4 bytes short; bit 2 flips a byte of group
 * (bit 3)'s values.
 *
 * Oracle, from the format as documented there, not from its code: a group
 * is taken up only if the record is exactly the right length, its CRC32C
 * holds, its head is this assembly's, the values file has the right size,
 * and every group it names has the values' CRC32C it gives (and seeds that
 * fit a bucket entry); then exactly those groups are done and the bucket
 * entries hold the record's seeds.  Otherwise nothing is taken up, the
 * values file is all zeros of the right size and the record is gone. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coord_int.h"
#include "ph_crc.h"
#include "ph_keys_map.h"
#include "ph_part.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NB 4u
#define NG 2u
#define NV 40u
#define HEAD 104u
#define GROUP 24u
#define RECORD (HEAD + NG * GROUP + NB * 4u + 4u)

static const uint64_t bases[NB + 1] = {0, 10, 20, 30, 40};
static int dirfd_ = -1;

static void die(const char *what)
{
    fprintf(stderr, "fuzz_part_resume: %s\n", what);
    abort();
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static const ph_keys_map km = {.n = 100, .dev = 1, .ino = 2, .size = 400, .mtime_ns = 3};
static const coord_psave_id id = {.token = "0123456789abcdef", .name = "t", .km = &km,
                                  .table_seed = 0x1234, .per_group = 50, .nverts = NV,
                                  .kpb = 25, .nbuckets = NB, .ngroups = NG};

/* The head this assembly's record must start with. */
static void expected_head(uint8_t *h)
{
    memset(h, 0, HEAD);
    memcpy(h, "PHPSAVE1", 8);
    put32(h + 8, 1);
    memcpy(h + 16, id.token, 16);
    put64(h + 32, km.dev);
    put64(h + 40, km.ino);
    put64(h + 48, km.size);
    put64(h + 56, (uint64_t)km.mtime_ns);
    put64(h + 64, id.table_seed);
    put64(h + 72, id.per_group);
    put64(h + 80, id.nverts);
    put32(h + 88, km.n);
    put32(h + 92, id.kpb);
    put32(h + 96, id.nbuckets);
    put32(h + 100, id.ngroups);
}

static uint32_t value_at(uint32_t v) { return v * 2654435761u + 7u; }

static void write_file(const char *name, const void *p, size_t n)
{
    int fd = openat(dirfd_, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n) || close(fd) != 0)
        die("cannot write a file of the fixture");
}

static char dir_[] = "/tmp/fuzz_part_resume.XXXXXX";

static void cleanup(void)
{
    (void)unlinkat(dirfd_, "t.values.partial", 0);
    (void)unlinkat(dirfd_, "t.values.resume", 0);
    (void)rmdir(dir_);
}

static void setup(void)
{
    if (dirfd_ >= 0)
        return;
    if (!mkdtemp(dir_) || (dirfd_ = open(dir_, O_RDONLY | O_DIRECTORY)) < 0)
        die("cannot make the temporary directory");
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    setup();
    unsigned mode = data[0];
    uint8_t *rec = malloc(size);
    if (!rec)
        return 0;
    size_t rlen = size - 1;
    memcpy(rec, data + 1, rlen);
    if ((mode & 1) && rlen >= 4)
        put32(rec + rlen - 4, ph_crc32c(0, rec, rlen - 4));
    uint32_t values[NV];
    for (uint32_t v = 0; v < NV; v++)
        values[v] = value_at(v);
    if (mode & 4)
        ((uint8_t *)values)[(mode & 8 ? 20 : 0) * 4 + 3] ^= 0x40;
    write_file("t.values.partial", values, (mode & 2) ? sizeof values - 4 : sizeof values);
    write_file("t.values.resume", rec, rlen);

    coord_pgroup groups[NG] = {{.b_lo = 0, .ngroup = 2}, {.b_lo = 2, .ngroup = 2}};
    uint64_t buckets[NB + 1];
    for (uint32_t b = 0; b <= NB; b++)
        buckets[b] = ph_part_entry(bases[b], 0);
    coord_psave *s = NULL;
    int vfd = -1;
    coord_psave_resumed res;
    ph_err err = {0};
    if (coord_psave_open(&id, dirfd_, "fuzz", groups, buckets, &s, &vfd, &res, &err) != PH_OK ||
        !s || vfd < 0)
        die("the values file of the fixture was not opened");

    /* What the record allows, judged here. */
    uint8_t head[HEAD];
    expected_head(head);
    int usable = rlen == RECORD && get32(rec + rlen - 4) == ph_crc32c(0, rec, rlen - 4) &&
                 memcmp(rec, head, HEAD) == 0 && !(mode & 2);
    uint32_t named = 0;
    for (uint32_t g = 0; usable && g < NG; g++) {
        const uint8_t *e = rec + HEAD + g * GROUP;
        uint32_t done = get32(e);
        if (done > 1)
            usable = 0;
        if (done != 1)
            continue;
        named++;
        uint64_t lo = bases[groups[g].b_lo], hi = bases[groups[g].b_lo + groups[g].ngroup];
        if (ph_crc32c(0, values + lo, (size_t)(hi - lo) * 4) != get32(e + 4))
            usable = 0;
        for (uint32_t b = groups[g].b_lo; b < groups[g].b_lo + groups[g].ngroup; b++)
            if (get32(rec + HEAD + NG * GROUP + b * 4) > PH_PART_SEED_MASK)
                usable = 0;
    }
    if (!usable)
        named = 0;
    if (res.groups != named) /* a usable record may name no group */
        die("groups taken up differ from what the record allows");
    for (uint32_t g = 0; g < NG; g++) {
        const uint8_t *e = rec + HEAD + g * GROUP;
        int done = named && get32(e) == 1;
        if ((groups[g].state == TASK_DONE) != done)
            die("a group's state differs from the record");
        for (uint32_t b = groups[g].b_lo; b < groups[g].b_lo + groups[g].ngroup; b++) {
            uint32_t seed = done ? get32(rec + HEAD + NG * GROUP + b * 4) : 0;
            if (buckets[b] != ph_part_entry(bases[b], seed))
                die("a bucket entry differs from the record");
        }
    }
    if (!usable) {
        struct stat st;
        uint32_t back[NV];
        if (fstat(vfd, &st) != 0 || st.st_size != (off_t)sizeof back ||
            pread(vfd, back, sizeof back, 0) != (ssize_t)sizeof back)
            die("a fresh values file is not of its size");
        for (uint32_t v = 0; v < NV; v++)
            if (back[v] != 0)
                die("a fresh values file is not zero");
        if (faccessat(dirfd_, "t.values.resume", F_OK, 0) == 0)
            die("a record not taken up stayed");
    }
    close(vfd);
    coord_psave_free(s);
    free(rec);
    return 0;
}
