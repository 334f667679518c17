/* coord_part_resume.c - a partitioned table's assembly survives a restart.
 *
 * With --state-dir, the values of a partitioned table (coord_part.c) are
 * assembled in OUT/NAME/NAME.values.partial, a name that stays the same from
 * one coordinator process to the next (the restore's sweep of "X.tmp.PID.N"
 * files leaves it alone), and beside it NAME.values.resume, the progress
 * record, says which groups are in it.  A restarted coordinator that opens
 * the same table again finds both, checks them, and sends only the groups
 * the record does not name.
 *
 * Why a file beside the values and not journal records: the record
 * describes bytes of one file and is checked against them, so it lives and
 * dies with that file (removed with it when the table fails, is cancelled or
 * is renamed into place), and the journal and its compaction carry nothing
 * of it.  It is small (24 bytes a group, 4 a bucket: about 100 KB for 100M
 * keys) and rewritten whole, atomically (ph_fs_write_atomic_at, fsync'd).
 *
 * Durability: the values file is synced (fdatasync) before a record naming
 * its groups is written, the same rule as a table's files before its
 * journal record.  A crash at any point leaves the previous record, which
 * names only groups synced before it.  Records are written on a writer
 * thread, one at a time per table: the groups that come in meanwhile go
 * into the next one, so the syncs batch themselves under load.
 *
 * A record belongs to one assembly: the job's token, the keys file (device,
 * inode, size, mtime, key count) and the layout (table seed, keys per
 * bucket, bucket count, keys per group, group count, vertex count) must all
 * match; any difference, a record that fails its CRC32C or its size, a
 * values file of the wrong size, a seed too wide for a bucket entry, or a
 * group whose values no longer have the CRC32C they were written with, and
 * the table is solved again from the start (one log line says why).  The
 * groups' values were checked key by key before they were written; their
 * checksums guard them on disk, so a resumed table is the table a fresh
 * solve gives, byte for byte (the seeds are deterministic).
 *
 * Two assemblies of the same OUT/NAME at once (two jobs, or two
 * coordinators, on one output directory) never share the file: the first
 * holds an flock on NAME.values.partial, the second gets none and assembles
 * under a one-off temporary name, without a record (coord_part.c). */
#include "coord_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ph_crc.h"
#include "ph_fs.h"
#include "ph_keys_map.h"
#include "ph_part.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "the progress record is read by the host that wrote it, as it lies in memory");

#define PSAVE_MAGIC "PHPSAVE1"
#define PSAVE_VERSION 1u

/* The record: head, ngroups group entries, nbuckets seeds, CRC32C of all
 * that.  No padding anywhere: the head is compared with memcmp. */
typedef struct psave_head {
    char magic[8];
    uint32_t version, reserved;
    char token[16];
    uint64_t dev, ino, size;
    int64_t mtime_ns;
    uint64_t table_seed, per_group, nverts;
    uint32_t nkeys, kpb, nbuckets, ngroups;
} psave_head;
_Static_assert(sizeof(psave_head) == 104, "no padding in the record's head");

typedef struct psave_group {
    uint32_t done, crc;        /* crc: CRC32C of the group's values */
    uint64_t attempts;         /* graphs tried for it (results.csv) */
    uint32_t max_attempts, reserved;
} psave_group;
_Static_assert(sizeof(psave_group) == 24, "no padding in a group entry");

struct coord_psave {
    char vname[300];           /* NAME.values.partial */
    char rname[300];           /* NAME.values.resume */
    char shown[4400];          /* OUT/NAME/NAME.values.resume, for errors */
    char vshown[4400];         /* OUT/NAME/NAME.values.partial, for errors */
    psave_head head;
    psave_group *groups;       /* entry g written by the thread placing group g */
    unsigned char *img;        /* the record being written (busy) */
    size_t img_len;
    uint32_t saved;            /* groups the record on disk names */
    uint32_t writing;          /* groups of the record being written */
    bool busy;
};

static size_t psave_len(const psave_head *h)
{
    return sizeof *h + (size_t)h->ngroups * sizeof(psave_group) + (size_t)h->nbuckets * 4u + 4u;
}

static void fill_head(psave_head *h, const coord_psave_id *id)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, PSAVE_MAGIC, 8);
    h->version = PSAVE_VERSION;
    memcpy(h->token, id->token, strnlen(id->token, sizeof h->token));
    h->dev = id->km->dev;
    h->ino = id->km->ino;
    h->size = id->km->size;
    h->mtime_ns = id->km->mtime_ns;
    h->nkeys = id->km->n;
    h->table_seed = id->table_seed;
    h->per_group = id->per_group;
    h->nverts = id->nverts;
    h->kpb = id->kpb;
    h->nbuckets = id->nbuckets;
    h->ngroups = id->ngroups;
}

static uint64_t base_of(const uint64_t *buckets, uint32_t b)
{
    return buckets[b] & PH_PART_BASE_MASK;
}

/* CRC32C of bytes [off, off + len) of fd; -1 on a short or failed read. */
static int file_crc(int fd, uint64_t off, uint64_t len, uint32_t *crc)
{
    enum { CHUNK = 1u << 20 };
    unsigned char *buf = malloc(len < CHUNK ? (size_t)len + 1 : CHUNK);
    if (!buf)
        return -1;
    uint32_t c = 0;
    while (len > 0) {
        size_t want = len < CHUNK ? (size_t)len : CHUNK;
        ssize_t got = pread(fd, buf, want, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        c = ph_crc32c(c, buf, (size_t)got);
        off += (uint64_t)got;
        len -= (uint64_t)got;
    }
    free(buf);
    *crc = c;
    return len == 0 ? 0 : -1;
}

/* The record's groups and seeds, checked against the values file; on
 * success they are applied to groups[] and buckets[] (nothing is touched
 * before). */
static bool load_groups(coord_psave *s, int vfd, const unsigned char *data,
                        coord_pgroup *groups, uint64_t *buckets, coord_psave_resumed *res)
{
    const psave_head *h = &s->head;
    const unsigned char *ge = data + sizeof *h;
    const unsigned char *se = ge + (size_t)h->ngroups * sizeof(psave_group);
    for (uint32_t g = 0; g < h->ngroups; g++) {
        psave_group e;
        memcpy(&e, ge + (size_t)g * sizeof e, sizeof e);
        if (e.done > 1) {
            snprintf(res->note, sizeof res->note, "progress record damaged (group %u)", g);
            return false;
        }
        if (!e.done)
            continue;
        const coord_pgroup *pg = &groups[g];
        uint64_t lo = base_of(buckets, pg->b_lo), hi = base_of(buckets, pg->b_lo + pg->ngroup);
        uint32_t crc = 0;
        if (file_crc(vfd, lo * 4u, (hi - lo) * 4u, &crc) != 0 || crc != e.crc) {
            snprintf(res->note, sizeof res->note, "values of group %u damaged (checksum)", g);
            return false;
        }
        for (uint32_t b = pg->b_lo; b < pg->b_lo + pg->ngroup; b++) {
            uint32_t seed;
            memcpy(&seed, se + (size_t)b * 4u, 4);
            if (seed > PH_PART_SEED_MASK) {
                snprintf(res->note, sizeof res->note, "progress record damaged (seed of "
                         "bucket %u)", b);
                return false;
            }
        }
    }
    for (uint32_t g = 0; g < h->ngroups; g++) {
        memcpy(&s->groups[g], ge + (size_t)g * sizeof *s->groups, sizeof *s->groups);
        if (!s->groups[g].done)
            continue;
        coord_pgroup *pg = &groups[g];
        pg->state = TASK_DONE;
        for (uint32_t b = pg->b_lo; b < pg->b_lo + pg->ngroup; b++) {
            uint32_t seed;
            memcpy(&seed, se + (size_t)b * 4u, 4);
            buckets[b] = ph_part_entry(base_of(buckets, b), seed);
        }
        res->groups++;
        res->attempts += s->groups[g].attempts;
        if (s->groups[g].max_attempts > res->max_attempts)
            res->max_attempts = s->groups[g].max_attempts;
    }
    s->saved = res->groups;
    return true;
}

/* Take up what the record at dirfd says, if it is this assembly's and
 * intact; false with res->note saying why not (empty: nothing was there). */
static bool load(coord_psave *s, int dirfd, int vfd, uint64_t vsize, coord_pgroup *groups,
                 uint64_t *buckets, coord_psave_resumed *res)
{
    size_t want = psave_len(&s->head), len = 0;
    void *data = NULL;
    ph_err e = {0};
    if (ph_fs_read_file_at(dirfd, s->rname, s->shown, want + 1, PH_FS_MISSING_OK, &data, &len,
                           &e) != PH_OK) {
        snprintf(res->note, sizeof res->note, "progress record unreadable: %.150s", e.msg);
        return false;
    }
    if (!data) {
        if (vsize != 0)
            snprintf(res->note, sizeof res->note, "no progress record");
        return false;
    }
    bool ok = false;
    uint32_t crc = 0;
    if (len >= 4)
        memcpy(&crc, (const char *)data + len - 4, 4);
    if (len != want || crc != ph_crc32c(0, data, len - 4))
        snprintf(res->note, sizeof res->note, "progress record damaged (size or checksum)");
    else if (memcmp(data, &s->head, sizeof s->head) != 0)
        snprintf(res->note, sizeof res->note, "progress record of another job, keys file or "
                 "layout");
    else if (vsize != s->head.nverts * 4u)
        snprintf(res->note, sizeof res->note, "values file of %" PRIu64 " bytes, not %" PRIu64,
                 vsize, s->head.nverts * 4u);
    else
        ok = load_groups(s, vfd, data, groups, buckets, res);
    free(data);
    return ok;
}

void coord_psave_free(coord_psave *s)
{
    if (!s)
        return;
    free(s->groups);
    free(s->img);
    free(s);
}

/* A fresh start: the values file emptied and sized, any record removed. */
static int start_fresh(coord_psave *s, int dirfd, int vfd, ph_err *err)
{
    uint64_t bytes = s->head.nverts * 4u;
    if (unlinkat(dirfd, s->rname, 0) != 0 && errno != ENOENT)
        return ph_err_set(err, PH_EIO, "%s: cannot remove: %s", s->shown, strerror(errno));
    if (ftruncate(vfd, 0) != 0 || ftruncate(vfd, (off_t)bytes) != 0)
        return ph_err_set(err, PH_EIO, "%s: cannot size to %" PRIu64 " bytes: %s", s->vshown,
                          bytes, strerror(errno));
    return PH_OK;
}

int coord_psave_open(const coord_psave_id *id, int dirfd, const char *shown,
                     coord_pgroup *groups, uint64_t *buckets, coord_psave **out, int *vfd,
                     coord_psave_resumed *res, ph_err *err)
{
    *out = NULL;
    *vfd = -1;
    memset(res, 0, sizeof *res);
    coord_psave *s = calloc(1, sizeof *s);
    if (!s || !(s->groups = calloc(id->ngroups ? id->ngroups : 1, sizeof *s->groups))) {
        coord_psave_free(s);
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory", shown);
    }
    snprintf(s->vname, sizeof s->vname, "%s.values.partial", id->name);
    snprintf(s->rname, sizeof s->rname, "%s.values.resume", id->name);
    snprintf(s->shown, sizeof s->shown, "%s/%s", shown, s->rname);
    snprintf(s->vshown, sizeof s->vshown, "%s/%s", shown, s->vname);
    fill_head(&s->head, id);
    int fd = openat(dirfd, s->vname,
                    O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = fd < 0 ? errno : EINVAL;
        if (fd >= 0)
            close(fd);
        int rc = ph_err_set(err, PH_EIO, "%s: cannot open: %s", s->vshown, strerror(e));
        coord_psave_free(s);
        return rc;
    }
    /* Written in place, unlike every other output: a file with another
     * name too (a hard link planted in OUT/NAME) is not this table's to
     * truncate; and one unlinked by the assembly that held it until now
     * (its name gone or reused) is no longer the values file. */
    struct stat now;
    if (st.st_nlink != 1)
        snprintf(res->note, sizeof res->note, "%.150s has %ju links", s->vname,
                 (uintmax_t)st.st_nlink);
    if (res->note[0] || flock(fd, LOCK_EX | LOCK_NB) != 0 || /* another assembly has it */
        fstatat(dirfd, s->vname, &now, AT_SYMLINK_NOFOLLOW) != 0 || now.st_dev != st.st_dev ||
        now.st_ino != st.st_ino) {
        close(fd);
        coord_psave_free(s);
        return PH_OK;
    }
    if (!load(s, dirfd, fd, (uint64_t)st.st_size, groups, buckets, res)) {
        int rc = start_fresh(s, dirfd, fd, err);
        if (rc) { /* nothing of it is worth keeping: removed while locked */
            (void)unlinkat(dirfd, s->vname, 0);
            close(fd);
            coord_psave_free(s);
            return rc;
        }
    }
    *out = s;
    *vfd = fd;
    return PH_OK;
}

const char *coord_psave_values_name(const coord_psave *s)
{
    return s->vname;
}

void coord_psave_group(coord_psave *s, uint32_t g, const void *values, size_t len,
                       uint64_t attempts, uint32_t max_attempts)
{
    if (!s || g >= s->head.ngroups)
        return;
    s->groups[g] = (psave_group){.crc = ph_crc32c(0, values, len), .attempts = attempts,
                                 .max_attempts = max_attempts};
}

bool coord_psave_due(const coord_psave *s, uint32_t ndone)
{
    return s && !s->busy && ndone > s->saved;
}

bool coord_psave_busy(const coord_psave *s)
{
    return s && s->busy;
}

uint32_t coord_psave_saved(const coord_psave *s)
{
    return s ? s->saved : 0;
}

int coord_psave_snapshot(coord_psave *s, const coord_pgroup *groups, const uint64_t *buckets,
                         ph_err *err)
{
    const psave_head *h = &s->head;
    size_t len = psave_len(h);
    unsigned char *img = calloc(1, len);
    if (!img)
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory", s->shown);
    memcpy(img, h, sizeof *h);
    unsigned char *ge = img + sizeof *h;
    unsigned char *se = ge + (size_t)h->ngroups * sizeof(psave_group);
    uint32_t n = 0;
    for (uint32_t g = 0; g < h->ngroups; g++) {
        if (groups[g].state != TASK_DONE)
            continue;
        psave_group e = s->groups[g];
        e.done = 1;
        memcpy(ge + (size_t)g * sizeof e, &e, sizeof e);
        for (uint32_t b = groups[g].b_lo; b < groups[g].b_lo + groups[g].ngroup; b++) {
            uint32_t seed = (uint32_t)(buckets[b] >> PH_PART_BASE_BITS);
            memcpy(se + (size_t)b * 4u, &seed, 4);
        }
        n++;
    }
    uint32_t crc = ph_crc32c(0, img, len - 4);
    memcpy(img + len - 4, &crc, 4);
    free(s->img);
    s->img = img;
    s->img_len = len;
    s->writing = n;
    s->busy = true;
    return PH_OK;
}

int coord_psave_write(coord_psave *s, int vfd, int dirfd, ph_err *err)
{
    if (fdatasync(vfd) != 0)
        return ph_err_set(err, PH_EIO, "%s: cannot sync: %s", s->vshown, strerror(errno));
    return ph_fs_write_atomic_at(dirfd, s->rname, s->shown, s->img, s->img_len, 1, err);
}

void coord_psave_written(coord_psave *s, bool ok)
{
    if (ok)
        s->saved = s->writing;
    free(s->img);
    s->img = NULL;
    s->img_len = 0;
    s->busy = false;
}

void coord_psave_remove(const coord_psave *s, int dirfd)
{
    if (s)
        (void)unlinkat(dirfd, s->rname, 0);
}

/* Does the record at rname below dirfd name this job (magic, version,
 * token)?  Read through no link, a regular file only. */
static bool record_of(int dirfd, const char *rname, const char *token)
{
    int fd = openat(dirfd, rname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    psave_head h;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h;
    close(fd);
    char want[sizeof h.token] = {0};
    memcpy(want, token, strnlen(token, sizeof want));
    return ok && memcmp(h.magic, PSAVE_MAGIC, 8) == 0 && h.version == PSAVE_VERSION &&
           memcmp(h.token, want, sizeof want) == 0;
}

bool coord_psave_discard(int dirfd, const char *name, const char *token)
{
    char vname[300], rname[300];
    if (snprintf(vname, sizeof vname, "%s.values.partial", name) >= (int)sizeof vname ||
        snprintf(rname, sizeof rname, "%s.values.resume", name) >= (int)sizeof rname)
        return false;
    int vfd = openat(dirfd, vname, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (vfd < 0)
        return false;
    struct stat st;
    bool gone = false;
    /* Locked first: an assembly that holds the file keeps it and its record. */
    if (fstat(vfd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
        flock(vfd, LOCK_EX | LOCK_NB) == 0 &&
        record_of(dirfd, rname, token))
        gone = unlinkat(dirfd, rname, 0) == 0 && unlinkat(dirfd, vname, 0) == 0;
    close(vfd);
    return gone;
}

uint32_t coord_psave_test_hold(void)
{
    const char *v = getenv("PH_TEST_PART_HOLD");
    if (!v || !*v)
        return 0;
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    return *end == '\0' && n <= UINT32_MAX ? (uint32_t)n : 0;
}
