/* ph_image.c - the binary table file: writing and the checked parse (see
 * ph_image.h).
 *
 * The image is produced by one function that hands consecutive pieces to a
 * sink (a memory buffer or a file), after a first pass over the same pieces
 * that computes the checksum, so a table of any size is written without a
 * second copy of it in memory. */
#include "ph_image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ph_crc.h"
#include "ph_fs.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "table images are used in place: little-endian hosts only");
_Static_assert(sizeof *((ph_part_table *)0)->buckets == 8, "bucket entries are 8 bytes in the file");

static const char image_magic[8] = {'P', 'H', 'C', 'T', 'A', 'B', 'L', 'E'};

#define BOM 0x01020304u
#define OFF_CHECKSUM 48u
#define OFF_SECTIONS 104u
#define OFF_RESERVED 168u

enum { SEC_VERTS, SEC_BUCKETS, SEC_KEYS, SEC_VALUES, SEC_COUNT };
static const char *const sec_name[SEC_COUNT] = {"vertex values", "bucket entries", "keys",
                                                "values"};

/* ---- little-endian fields ---------------------------------------------- */

static void put32(uint8_t *h, size_t off, uint32_t v) { memcpy(h + off, &v, 4); }
static void put64(uint8_t *h, size_t off, uint64_t v) { memcpy(h + off, &v, 8); }

static uint32_t get32(const uint8_t *h, size_t off)
{
    uint32_t v;
    memcpy(&v, h + off, 4);
    return v;
}

static uint64_t get64(const uint8_t *h, size_t off)
{
    uint64_t v;
    memcpy(&v, h + off, 8);
    return v;
}

uint32_t ph_image_checksum(const void *buf, size_t len)
{
    static const uint8_t zero[4];
    const uint8_t *p = buf;
    uint32_t c = ph_crc32c(0, p, OFF_CHECKSUM);
    c = ph_crc32c(c, zero, 4);
    return ph_crc32c(c, p + OFF_CHECKSUM + 4, len - OFF_CHECKSUM - 4);
}

/* ---- writing ------------------------------------------------------------ */

typedef struct image_plan {
    uint8_t header[PH_IMAGE_HEADER];
    const void *data[SEC_COUNT];
    ph_image_read_fn read[SEC_COUNT]; /* instead of data: the first rlen bytes */
    uint64_t rlen[SEC_COUNT];         /* through read; zeros after them */
    void *read_ctx;
    uint64_t off[SEC_COUNT], len[SEC_COUNT];
    uint64_t size;
} image_plan;

static uint64_t align_up(uint64_t x) { return (x + PH_IMAGE_ALIGN - 1) & ~(uint64_t)(PH_IMAGE_ALIGN - 1); }

static int plan_sections(const ph_image_src *s, image_plan *p, ph_err *err)
{
    uint64_t nkeys;
    if (s->kind == PH_IMAGE_CHM && s->chm && s->chm->assigned) {
        nkeys = s->chm->nkeys;
        p->data[SEC_VERTS] = s->chm->assigned;
        p->len[SEC_VERTS] = (uint64_t)s->chm->nverts * s->chm->width;
    } else if (s->kind == PH_IMAGE_PART && s->part && s->part->buckets &&
               (s->part->assigned || s->read_verts)) {
        nkeys = s->part->nkeys;
        p->data[SEC_VERTS] = s->part->assigned;
        p->len[SEC_VERTS] = (s->part->nverts + 1) * 4; /* with the spare zero */
        if (!s->part->assigned) {
            p->read[SEC_VERTS] = s->read_verts;
            p->rlen[SEC_VERTS] = s->part->nverts * 4;
        }
        p->data[SEC_BUCKETS] = s->part->buckets;
        p->len[SEC_BUCKETS] = ((uint64_t)s->part->nbuckets + 1) * sizeof *s->part->buckets;
    } else {
        return ph_err_set(err, PH_EINVAL, "table image: no table");
    }
    unsigned table_ks = s->kind == PH_IMAGE_CHM ? s->chm->key_size : s->part->key_size;
    if ((s->key_size != 4 && s->key_size != 8) || (table_ks == 8) != (s->key_size == 8))
        return ph_err_set(err, PH_EINVAL, "table image: key size %u for a table of %u-byte keys",
                          s->key_size, table_ks == 8 ? 8 : 4);
    if (s->value_size != 0 && s->value_size != 4 && s->value_size != 8)
        return ph_err_set(err, PH_EINVAL, "table image: value size %u", s->value_size);
    if (s->keys || s->read_keys) {
        p->data[SEC_KEYS] = s->keys;
        p->len[SEC_KEYS] = nkeys * s->key_size;
        if (!s->keys) {
            p->read[SEC_KEYS] = s->read_keys;
            p->rlen[SEC_KEYS] = p->len[SEC_KEYS];
        }
    }
    p->read_ctx = s->read_ctx;
    if (s->value_size) {
        if (!s->keys && !s->read_keys)
            return ph_err_set(err, PH_EINVAL, "table image: values without the keys");
        if (!s->values && !s->read_values)
            return ph_err_set(err, PH_EINVAL, "table image: value size without values");
        p->data[SEC_VALUES] = s->values;
        p->len[SEC_VALUES] = nkeys * s->value_size;
        if (!s->values) {
            p->read[SEC_VALUES] = s->read_values;
            p->rlen[SEC_VALUES] = p->len[SEC_VALUES];
        }
    }
    uint64_t at = PH_IMAGE_HEADER;
    for (int i = 0; i < SEC_COUNT; i++) {
        if (!p->len[i])
            continue;
        p->off[i] = align_up(at);
        at = p->off[i] + p->len[i];
    }
    p->size = at;
    return PH_OK;
}

static void plan_header(const ph_image_src *s, image_plan *p)
{
    uint8_t *h = p->header;
    memset(h, 0, PH_IMAGE_HEADER);
    memcpy(h, image_magic, 8);
    put32(h, 8, PH_IMAGE_VERSION);
    put32(h, 12, BOM);
    put32(h, 16, PH_IMAGE_HEADER);
    put32(h, 20, s->keys || s->read_keys ? PH_IMAGE_FLAG_KEYS : 0);
    put32(h, 24, (uint32_t)s->kind);
    h[28] = s->key_size;
    h[29] = s->value_size;
    put64(h, 40, p->size);
    if (s->kind == PH_IMAGE_CHM) {
        const ph_table *t = s->chm;
        h[30] = (uint8_t)t->hash;
        h[31] = t->width;
        put64(h, 32, t->nkeys);
        put32(h, 52, t->compact ? 1 : 0);
        for (int i = 0; i < 4; i++)
            put32(h, 56 + 4 * (size_t)i, t->seeds[i]);
        put64(h, 80, t->nverts);
        put32(h, 88, t->nedges);
        put32(h, 92, t->shift);
    } else {
        const ph_part_table *t = s->part;
        h[31] = 4;
        put64(h, 32, t->nkeys);
        put64(h, 72, t->seed);
        put64(h, 80, t->nverts);
        put32(h, 96, t->nbuckets);
    }
    for (int i = 0; i < SEC_COUNT; i++) {
        put64(h, OFF_SECTIONS + 16 * (size_t)i, p->off[i]);
        put64(h, OFF_SECTIONS + 16 * (size_t)i + 8, p->len[i]);
    }
}

typedef int (*image_sink)(void *ctx, const void *data, size_t len);

static int crc_sink(void *ctx, const void *data, size_t len)
{
    uint32_t *c = ctx;
    *c = ph_crc32c(*c, data, len);
    return 0;
}

/* Hand the image's bytes, in order, to sink; padding as zeros. */
static int plan_emit(const image_plan *p, image_sink sink, void *ctx)
{
    static const uint8_t zeros[PH_IMAGE_ALIGN];
    uint64_t at = PH_IMAGE_HEADER;
    if (sink(ctx, p->header, PH_IMAGE_HEADER))
        return -1;
    for (int i = 0; i < SEC_COUNT; i++) {
        if (!p->len[i])
            continue;
        if (p->off[i] > at && sink(ctx, zeros, (size_t)(p->off[i] - at)))
            return -1;
        const uint8_t *d = p->data[i];
        for (uint64_t done = 0; done < p->len[i];) {
            size_t n = p->len[i] - done > (1u << 30) ? (1u << 30) : (size_t)(p->len[i] - done);
            if (sink(ctx, d + done, n))
                return -1;
            done += n;
        }
        at = p->off[i] + p->len[i];
    }
    return 0;
}

static int plan_make(const ph_image_src *s, image_plan *p, ph_err *err)
{
    memset(p, 0, sizeof *p);
    int rc = plan_sections(s, p, err);
    if (rc)
        return rc;
    for (int i = 0; i < SEC_COUNT; i++)
        if (p->read[i]) /* plan_emit reads memory only */
            return ph_err_set(err, PH_EINVAL, "table image: the %s are not in memory "
                              "(ph_image_write_fd writes such a table)", sec_name[i]);
    plan_header(s, p);
    /* The checksum field is zero while the checksum is computed. */
    uint32_t crc = 0;
    plan_emit(p, crc_sink, &crc);
    put32(p->header, OFF_CHECKSUM, crc);
    return PH_OK;
}

uint64_t ph_image_size(const ph_image_src *src)
{
    image_plan p;
    memset(&p, 0, sizeof p);
    return plan_sections(src, &p, NULL) ? 0 : p.size;
}

typedef struct mem_sink {
    uint8_t *p;
    size_t at;
} mem_sink;

static int mem_put(void *ctx, const void *data, size_t len)
{
    mem_sink *m = ctx;
    memcpy(m->p + m->at, data, len);
    m->at += len;
    return 0;
}

int ph_image_render(const ph_image_src *src, void **buf, size_t *len, ph_err *err)
{
    image_plan p;
    *buf = NULL;
    *len = 0;
    int rc = plan_make(src, &p, err);
    if (rc)
        return rc;
    if (p.size > SIZE_MAX)
        return ph_err_set(err, PH_ENOMEM, "table image of %llu bytes: too big",
                          (unsigned long long)p.size);
    mem_sink m = {.p = calloc(1, (size_t)p.size)};
    if (!m.p)
        return ph_err_set(err, PH_ENOMEM, "out of memory for a table image of %llu bytes",
                          (unsigned long long)p.size);
    plan_emit(&p, mem_put, &m);
    *buf = m.p;
    *len = (size_t)p.size;
    return PH_OK;
}

/* ---- one pass to a file ------------------------------------------------- */

#define STREAM_CHUNK (4u << 20)

typedef struct fd_stream {
    int fd;
    const char *shown;
    uint32_t crc;
    uint8_t *buf;        /* STREAM_CHUNK bytes */
} fd_stream;

static int stream_put(fd_stream *o, const void *data, size_t len, ph_err *err)
{
    o->crc = ph_crc32c(o->crc, data, len);
    if (ph_fs_write_full(o->fd, data, len) != 0)
        return ph_err_set(err, PH_EIO, "%s: write failed: %s", o->shown, strerror(errno));
    return PH_OK;
}

/* Section i: from memory, or its reader's bytes then zeros, in chunks. */
static int stream_section(const image_plan *p, int i, fd_stream *o, ph_err *err)
{
    const uint8_t *d = p->data[i];
    for (uint64_t done = 0; done < p->len[i];) {
        uint64_t left = p->len[i] - done;
        size_t n = left > STREAM_CHUNK ? STREAM_CHUNK : (size_t)left;
        const void *chunk = d ? (const void *)(d + done) : o->buf;
        if (!d) {
            uint64_t from_reader = done < p->rlen[i] ? p->rlen[i] - done : 0;
            size_t r = from_reader < n ? (size_t)from_reader : n;
            if (r > 0) {
                int rc = p->read[i](p->read_ctx, done, o->buf, r, err);
                if (rc)
                    return rc;
            }
            memset(o->buf + r, 0, n - r);
        }
        int rc = stream_put(o, chunk, n, err);
        if (rc)
            return rc;
        done += n;
    }
    return PH_OK;
}

int ph_image_write_fd(const ph_image_src *src, int fd, const char *shown, ph_err *err)
{
    static const uint8_t zeros[PH_IMAGE_ALIGN];
    image_plan p;
    memset(&p, 0, sizeof p);
    int rc = plan_sections(src, &p, err);
    if (rc)
        return rc;
    plan_header(src, &p); /* checksum field zero until the end */
    fd_stream o = {.fd = fd, .shown = shown, .buf = malloc(STREAM_CHUNK)};
    if (!o.buf)
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory for a write buffer", shown);
    rc = stream_put(&o, p.header, PH_IMAGE_HEADER, err);
    uint64_t at = PH_IMAGE_HEADER;
    for (int i = 0; !rc && i < SEC_COUNT; i++) {
        if (!p.len[i])
            continue;
        if (p.off[i] > at)
            rc = stream_put(&o, zeros, (size_t)(p.off[i] - at), err);
        if (!rc)
            rc = stream_section(&p, i, &o, err);
        at = p.off[i] + p.len[i];
    }
    free(o.buf);
    uint8_t crc[4];
    memcpy(crc, &o.crc, 4); /* little-endian host */
    if (!rc && pwrite(fd, crc, 4, OFF_CHECKSUM) != 4)
        rc = ph_err_set(err, PH_EIO, "%s: write failed: %s", shown, strerror(errno));
    return rc;
}

int ph_image_artifact(const ph_image_src *src, const char *name, ph_artifacts *out,
                      ph_err *err)
{
    char path[600];
    int n = snprintf(path, sizeof path, "%s/%s.phc", name, name);
    if (!name[0] || n < 0 || (size_t)n >= sizeof path || strchr(name, '/'))
        return ph_err_set(err, PH_EINVAL, "table name '%s': not usable as a file name", name);
    void *buf;
    size_t len;
    int rc = ph_image_render(src, &buf, &len, err);
    return rc ? rc : ph_artifacts_take(out, path, buf, len, err);
}

static int fd_put(void *ctx, const void *data, size_t len)
{
    return ph_fs_write_full(*(int *)ctx, data, len);
}

int ph_image_save(const ph_image_src *src, const char *path, ph_err *err)
{
    image_plan p;
    char tmp[4096];
    int rc = plan_make(src, &p, err);
    if (!rc)
        rc = ph_fs_tmp_name(tmp, sizeof tmp, path, err);
    if (rc)
        return rc;
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
        return ph_err_set(err, PH_EPERM, "%s: is a symbolic link, not written", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return ph_err_set(err, PH_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    if (plan_emit(&p, fd_put, &fd) != 0 || fsync(fd) != 0) {
        rc = ph_err_set(err, PH_EIO, "%s: write failed: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        return rc;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        rc = ph_err_set(err, PH_EIO, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        return rc;
    }
    return PH_OK;
}

/* ---- the checked parse ------------------------------------------------ */

typedef struct image_in {
    const uint8_t *h;
    size_t len;
    const char *name;
    uint64_t off[SEC_COUNT], sec_len[SEC_COUNT];
} image_in;

static int bad(ph_err *err, int code, const image_in *in, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bad(ph_err *err, int code, const image_in *in, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ph_err_set(err, code, "%s: %s", in->name, what);
}

/* What identifies the file: magic, byte order, version, sizes, checksum. */
static int check_envelope(const image_in *in, ph_err *err)
{
    const uint8_t *h = in->h;
    if (in->len < 8 || memcmp(h, image_magic, 8) != 0)
        return bad(err, PH_EFOREIGN, in, "not a phcluster table file (bad magic)");
    if (in->len < 20)
        return bad(err, PH_ETRUNC, in, "truncated: %zu bytes, shorter than the header",
                   in->len);
    if (get32(h, 12) == 0x04030201u)
        return bad(err, PH_EFOREIGN, in, "written on a host of the other byte order");
    if (get32(h, 12) != BOM)
        return bad(err, PH_EFORMAT, in, "byte-order mark 0x%08x is not 0x%08x", get32(h, 12),
                   BOM);
    uint32_t version = get32(h, 8);
    if (version > PH_IMAGE_VERSION)
        return bad(err, PH_EVERSION, in,
                   "format version %u is newer than this library reads (%u)", version,
                   PH_IMAGE_VERSION);
    if (version == 0)
        return bad(err, PH_EFORMAT, in, "format version 0");
    if (get32(h, 16) != PH_IMAGE_HEADER)
        return bad(err, PH_EFORMAT, in, "header size %u, version %u has %u", get32(h, 16),
                   version, PH_IMAGE_HEADER);
    if (in->len < PH_IMAGE_HEADER)
        return bad(err, PH_ETRUNC, in, "truncated: %zu bytes, shorter than the %u-byte header",
                   in->len, PH_IMAGE_HEADER);
    uint64_t size = get64(h, 40);
    if (size > in->len)
        return bad(err, PH_ETRUNC, in, "truncated: %zu bytes, the header says %llu", in->len,
                   (unsigned long long)size);
    if (size < in->len)
        return bad(err, PH_EFORMAT, in, "%zu bytes, the header says %llu (trailing bytes)",
                   in->len, (unsigned long long)size);
    uint32_t want = get32(h, OFF_CHECKSUM), got = ph_image_checksum(h, in->len);
    if (want != got)
        return bad(err, PH_ECHECKSUM, in, "checksum 0x%08x, the header says 0x%08x: the "
                   "file is damaged", got, want);
    return PH_OK;
}

/* Sections: aligned, after the header, inside the file, in order. */
static int check_sections(image_in *in, ph_err *err)
{
    uint64_t end = PH_IMAGE_HEADER;
    for (int i = 0; i < SEC_COUNT; i++) {
        uint64_t off = get64(in->h, OFF_SECTIONS + 16 * (size_t)i);
        uint64_t len = get64(in->h, OFF_SECTIONS + 16 * (size_t)i + 8);
        in->off[i] = off;
        in->sec_len[i] = len;
        if (len == 0 && off == 0)
            continue;
        if (len == 0 || off % PH_IMAGE_ALIGN || off < end || off > in->len ||
            len > in->len - off)
            return bad(err, PH_EFORMAT, in, "%s section at %llu, %llu bytes: outside the "
                       "file, misaligned or overlapping", sec_name[i],
                       (unsigned long long)off, (unsigned long long)len);
        end = off + len;
    }
    for (size_t i = OFF_RESERVED; i < PH_IMAGE_HEADER; i++)
        if (in->h[i])
            return bad(err, PH_EFORMAT, in, "reserved header byte %zu is not zero", i);
    if (get32(in->h, 100))
        return bad(err, PH_EFORMAT, in, "reserved header field at 100 is not zero");
    return PH_OK;
}

/* A section must be present with exactly len bytes, or absent when len is 0. */
static int want_section(const image_in *in, int i, uint64_t len, ph_err *err)
{
    if (in->sec_len[i] != len)
        return bad(err, PH_EFORMAT, in, "%s section: %llu bytes, the table needs %llu",
                   sec_name[i], (unsigned long long)in->sec_len[i], (unsigned long long)len);
    return PH_OK;
}

static int parse_chm(const image_in *in, ph_image_view *v, ph_err *err)
{
    const uint8_t *h = in->h;
    ph_table *t = &v->chm;
    uint64_t nverts = get64(h, 80);
    if (v->nkeys > UINT32_MAX || nverts > UINT32_MAX || get32(h, 52) > 1 || h[30] > 2)
        return bad(err, PH_EFORMAT, in, "table fields out of range (keys %llu, vertices "
                   "%llu, compact %u, hash %u)", (unsigned long long)v->nkeys,
                   (unsigned long long)nverts, get32(h, 52), h[30]);
    t->hash = (ph_hash_kind)h[30];
    t->compact = get32(h, 52) == 1;
    for (int i = 0; i < 4; i++)
        t->seeds[i] = get32(h, 56 + 4 * (size_t)i);
    t->nkeys = (uint32_t)v->nkeys;
    t->nverts = (uint32_t)nverts;
    t->nedges = get32(h, 88);
    t->shift = get32(h, 92);
    t->width = h[31];
    t->key_size = v->key_size;
    ph_err why;
    if (ph_table_check_shape(t, &why) != 0)
        return bad(err, PH_EFORMAT, in, "%s", why.msg);
    if (get64(h, 72) || get32(h, 96))
        return bad(err, PH_EFORMAT, in, "partitioned fields set in a one-graph table");
    int rc = want_section(in, SEC_VERTS, (uint64_t)t->nverts * t->width, err);
    if (!rc)
        rc = want_section(in, SEC_BUCKETS, 0, err);
    if (!rc)
        t->assigned = (void *)(uintptr_t)(h + in->off[SEC_VERTS]);
    return rc;
}

/* Bucket entries (ph_part.h): bases start at 0, never decrease, and the
 * end entry (no seed) holds the table's vertex count; a lookup then reads
 * inside the values for any key (an empty bucket reads the spare value at
 * its base). */
static int check_buckets(const image_in *in, const ph_part_table *t, ph_err *err)
{
    uint64_t prev = 0;
    for (uint32_t b = 0; b <= t->nbuckets; b++) {
        uint64_t base = ph_part_base(t, b);
        if ((b == 0 && base != 0) || base < prev || base - prev > UINT32_MAX ||
            base > t->nverts)
            return bad(err, PH_EFORMAT, in, "bucket %u: base %llu after %llu, not within %llu "
                       "vertices", b, (unsigned long long)base, (unsigned long long)prev,
                       (unsigned long long)t->nverts);
        prev = base;
    }
    if (prev != t->nverts || ph_part_seed_of(t, t->nbuckets) != 0)
        return bad(err, PH_EFORMAT, in, "buckets hold %llu vertices, the table %llu",
                   (unsigned long long)prev, (unsigned long long)t->nverts);
    return PH_OK;
}

static int parse_part(const image_in *in, ph_image_view *v, ph_err *err)
{
    const uint8_t *h = in->h;
    ph_part_table *t = &v->part;
    t->seed = get64(h, 72);
    t->nverts = get64(h, 80);
    t->nbuckets = get32(h, 96);
    if (v->nkeys > UINT32_MAX || t->nbuckets == 0 || t->nbuckets > v->nkeys || h[30] ||
        h[31] != 4 || get32(h, 52) || get32(h, 88) || get32(h, 92) || get64(h, 56) ||
        get64(h, 64) || t->nverts > (uint64_t)in->len / 4)
        return bad(err, PH_EFORMAT, in, "partitioned table fields out of range (keys %llu, "
                   "buckets %u, vertices %llu)", (unsigned long long)v->nkeys, t->nbuckets,
                   (unsigned long long)t->nverts);
    t->nkeys = (uint32_t)v->nkeys;
    t->key_size = v->key_size;
    int rc = want_section(in, SEC_VERTS, (t->nverts + 1) * 4, err);
    if (!rc)
        rc = want_section(in, SEC_BUCKETS, ((uint64_t)t->nbuckets + 1) * sizeof *t->buckets,
                          err);
    if (rc)
        return rc;
    t->assigned = (uint32_t *)(uintptr_t)(h + in->off[SEC_VERTS]);
    t->buckets = (uint64_t *)(uintptr_t)(h + in->off[SEC_BUCKETS]);
    return check_buckets(in, t, err);
}

static int parse_extras(const image_in *in, ph_image_view *v, uint32_t flags, ph_err *err)
{
    v->key_size = in->h[28];
    v->value_size = in->h[29];
    if (v->key_size != 4 && v->key_size != 8)
        return bad(err, PH_EFORMAT, in, "key size %u (4 or 8)", v->key_size);
    if (v->value_size != 0 && v->value_size != 4 && v->value_size != 8)
        return bad(err, PH_EFORMAT, in, "value size %u (0, 4 or 8)", v->value_size);
    /* A value is found through its key: values without the key set are
     * values no lookup can reach. */
    if (v->value_size && !(flags & PH_IMAGE_FLAG_KEYS))
        return bad(err, PH_EFORMAT, in, "values section (value size %u) without the keys "
                   "section", v->value_size);
    int rc = want_section(in, SEC_KEYS, flags & PH_IMAGE_FLAG_KEYS ? v->nkeys * v->key_size : 0,
                          err);
    if (!rc)
        rc = want_section(in, SEC_VALUES, v->nkeys * v->value_size, err);
    if (rc)
        return rc;
    if (flags & PH_IMAGE_FLAG_KEYS)
        v->keys = in->h + in->off[SEC_KEYS];
    if (v->value_size)
        v->values = in->h + in->off[SEC_VALUES];
    return PH_OK;
}

int ph_image_parse(const void *buf, size_t len, const char *name, ph_image_view *out,
                   ph_err *err)
{
    image_in in = {.h = buf, .len = len, .name = name ? name : "table"};
    memset(out, 0, sizeof *out);
    if (!buf || ((uintptr_t)buf & 7))
        return bad(err, PH_EINVAL, &in, "buffer missing or not 8-byte aligned");
    int rc = check_envelope(&in, err);
    if (!rc)
        rc = check_sections(&in, err);
    if (rc)
        return rc;
    uint32_t flags = get32(in.h, 20);
    if (flags & ~PH_IMAGE_FLAG_KEYS)
        return bad(err, PH_EFORMAT, &in, "unknown flags 0x%08x", flags);
    out->kind = (int)get32(in.h, 24);
    out->nkeys = get64(in.h, 32);
    if (out->nkeys == 0 || out->nkeys > UINT32_MAX)
        return bad(err, PH_EFORMAT, &in, "key count %llu (1 to 2^32 - 1)",
                   (unsigned long long)out->nkeys);
    /* Fields before sections: a section length is only compared once the
     * count it is a multiple of is known to be small. */
    rc = parse_extras(&in, out, flags, err);
    if (!rc && out->kind == PH_IMAGE_CHM)
        rc = parse_chm(&in, out, err);
    else if (!rc && out->kind == PH_IMAGE_PART)
        rc = parse_part(&in, out, err);
    else if (!rc)
        rc = bad(err, PH_EFORMAT, &in, "table kind %d (1 or 2)", out->kind);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}
