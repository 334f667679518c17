/* ph_proto_scan.c - a bounds-checked walk over raw msgpack bytes.
 *
 * msgpack-c trusts the counts in container headers: an array32 header that
 * claims 2^32-1 elements makes msgpack_unpack_next reserve memory for all
 * of them before it finds the data missing.  This walk runs first and
 * refuses any frame whose headers promise more than the bytes can hold. */
#include "ph_proto_int.h"

#include <stdint.h>

typedef struct scan {
    const unsigned char *p;
    size_t len;
    size_t off;
    uint64_t objects;
    /* elements still expected by each open container */
    uint64_t left[PH_PROTO_MAX_DEPTH + 1];
    int depth;
    ph_err *err;
} scan;

static int scan_fail(scan *s, const char *what)
{
    return ph_err_set(s->err, PH_EPROTO, "message: %s at byte %zu", what, s->off);
}

/* Big-endian unsigned of n bytes at the cursor, which must be in bounds. */
static int scan_be(scan *s, unsigned n, uint64_t *v)
{
    if (s->len - s->off < n)
        return scan_fail(s, "truncated header");
    uint64_t x = 0;
    for (unsigned i = 0; i < n; i++)
        x = (x << 8) | s->p[s->off + i];
    s->off += n;
    *v = x;
    return 0;
}

static int scan_skip(scan *s, uint64_t n)
{
    if (s->len - s->off < n)
        return scan_fail(s, "truncated data");
    s->off += (size_t)n;
    return 0;
}

/* Open a container of n elements (maps pass 2 * entries). */
static int scan_open(scan *s, uint64_t n)
{
    if (n > s->len - s->off)
        return scan_fail(s, "container count exceeds the bytes left");
    if (n == 0)
        return 0;
    if (s->depth >= PH_PROTO_MAX_DEPTH)
        return scan_fail(s, "nesting too deep");
    s->left[++s->depth] = n;
    return 0;
}

/* A str/bin (kind 0: skip its payload), array (1) or map (2) whose
 * count sits in the next hdr bytes. */
static int scan_sized(scan *s, unsigned hdr, int kind)
{
    uint64_t n = 0;
    int rc = scan_be(s, hdr, &n);
    if (rc < 0)
        return rc;
    if (kind == 0)
        return scan_skip(s, n);
    return scan_open(s, kind == 2 ? 2 * n : n);
}

/* Consume one object header (and the payload of scalars). */
static int scan_one(scan *s)
{
    unsigned char b = s->p[s->off++];
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0;                                   /* fixint, nil, bool */
    if (b >= 0x80 && b <= 0x8f)
        return scan_open(s, 2u * (b & 0x0fu));      /* fixmap */
    if (b >= 0x90 && b <= 0x9f)
        return scan_open(s, b & 0x0fu);             /* fixarray */
    if (b >= 0xa0 && b <= 0xbf)
        return scan_skip(s, b & 0x1fu);             /* fixstr */
    switch (b) {
    case 0xc4: return scan_sized(s, 1, 0);       /* bin8/16/32 */
    case 0xc5: return scan_sized(s, 2, 0);
    case 0xc6: return scan_sized(s, 4, 0);
    case 0xca: return scan_skip(s, 4);              /* float32/64 */
    case 0xcb: return scan_skip(s, 8);
    case 0xcc: case 0xd0: return scan_skip(s, 1);   /* (u)int8..64 */
    case 0xcd: case 0xd1: return scan_skip(s, 2);
    case 0xce: case 0xd2: return scan_skip(s, 4);
    case 0xcf: case 0xd3: return scan_skip(s, 8);
    case 0xd9: return scan_sized(s, 1, 0);       /* str8/16/32 */
    case 0xda: return scan_sized(s, 2, 0);
    case 0xdb: return scan_sized(s, 4, 0);
    case 0xdc: return scan_sized(s, 2, 1);       /* array16/32 */
    case 0xdd: return scan_sized(s, 4, 1);
    case 0xde: return scan_sized(s, 2, 2);       /* map16/32 */
    case 0xdf: return scan_sized(s, 4, 2);
    case 0xc1: s->off--; return scan_fail(s, "reserved byte 0xc1");
    default:   s->off--; return scan_fail(s, "ext type refused");
    }
}

int ph_proto_scan(const unsigned char *p, size_t len, ph_err *err)
{
    scan s = { .p = p, .len = len, .err = err };
    s.left[0] = 1;  /* the one top-level object */
    while (s.depth > 0 || s.left[0] > 0) {
        if (s.left[s.depth] == 0) {     /* container complete */
            s.depth--;
            continue;
        }
        if (s.off >= s.len)
            return scan_fail(&s, "truncated");
        if (++s.objects > PH_PROTO_MAX_OBJECTS)
            return scan_fail(&s, "too many objects");
        s.left[s.depth]--;
        int rc = scan_one(&s);
        if (rc < 0)
            return rc;
    }
    if (s.off != s.len)
        return scan_fail(&s, "trailing bytes");
    return 0;
}
