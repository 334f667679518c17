/* ph_image.h - a solved table as one binary file (NAME.phc), and the
 * checked parse of such a file for use in place.
 *
 * Layout (version 1; every field little-endian, sections 64-byte aligned):
 *   0    magic "PHCTABLE"
 *   8    u32 format version (1)        12  u32 byte-order mark 0x01020304
 *   16   u32 header size (192)         20  u32 flags (bit 0: keys section)
 *   24   u32 kind (1 one graph, 2 partitioned)
 *   28   u8 key size (4|8)  29 u8 value size (0|4|8)  30 u8 hash family
 *   31   u8 width of a vertex value (2|4)
 *   32   u64 key count                 40  u64 file size
 *   48   u32 CRC32C of the whole file, this field taken as zero
 *   52   u32 compact (one graph)       56  u32 seeds[4] (one graph)
 *   72   u64 bucket seed (partitioned) 80  u64 vertex count
 *   88   u32 nedges                    92  u32 shift
 *   96   u32 bucket count              100 u32 zero
 *   104  4 sections (u64 offset, u64 length): vertex values, bucket
 *        entries (bucket count + 1 u64, as in ph_part.h: bits 0..35 the
 *        bucket's first vertex, 36..63 its seed; the last one the vertex
 *        count), keys in position order, values (value size bytes per key,
 *        in key order; only with the keys); an absent section is (0, 0)
 *   168  zero up to the header size
 * A reader refuses what it does not know (a newer version, unknown flags,
 * a non-zero reserved byte) rather than guess. */
#ifndef PH_IMAGE_H
#define PH_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "ph_artifacts.h"
#include "ph_err.h"
#include "ph_part.h"
#include "ph_solver.h"

#define PH_IMAGE_VERSION 1u
#define PH_IMAGE_HEADER 192u
#define PH_IMAGE_ALIGN 64u
#define PH_IMAGE_FLAG_KEYS 1u

enum { PH_IMAGE_CHM = 1, PH_IMAGE_PART = 2 };

/* Bytes [off, off + len) of a section that is not in memory (a file):
 * PH_OK, or an error code with err set. */
typedef int (*ph_image_read_fn)(void *ctx, uint64_t off, void *buf, size_t len, ph_err *err);

/* A table and what goes with it.  Exactly one of chm / part is set (by
 * kind).  keys: NULL leaves the key set out (index only).  values: NULL
 * with value_size 0.  For ph_image_write_fd only, a partitioned table's
 * vertex values (part->assigned NULL) and its keys may come through read
 * functions instead: read_verts gives the nverts values (the spare zero
 * after them is the image's), read_keys the nkeys keys in position
 * order, read_values (values NULL, value_size set) the nkeys values. */
typedef struct ph_image_src {
    int kind;
    const ph_table *chm;
    const ph_part_table *part;
    const void *keys;
    uint8_t key_size;     /* 4 or 8 */
    const void *values;
    uint8_t value_size;   /* 0, 4 or 8 */
    ph_image_read_fn read_verts;
    ph_image_read_fn read_keys;
    ph_image_read_fn read_values; /* values NULL: the nkeys values in key order */
    void *read_ctx;       /* the read functions' */
} ph_image_src;

/* A parsed image: the tables' arrays point into the caller's buffer. */
typedef struct ph_image_view {
    int kind;
    ph_table chm;
    ph_part_table part;
    uint64_t nkeys;
    const void *keys;     /* NULL: index only */
    uint8_t key_size;
    const void *values;
    uint8_t value_size;
} ph_image_view;

/* Bytes of the image of src (0 if src is malformed). */
uint64_t ph_image_size(const ph_image_src *src);

/* The image of src in a malloc'd buffer the caller frees. */
int ph_image_render(const ph_image_src *src, void **buf, size_t *len, ph_err *err);

/* The image of src written to path via a temporary + rename (never half a
 * file); the last component must not be a symbolic link. */
int ph_image_save(const ph_image_src *src, const char *path, ph_err *err);

/* The image of src written to fd (an empty file, written from its start)
 * in one pass: sections from memory or through src's read functions in
 * chunks, the checksum computed as the bytes go and written into the
 * header last, so a table whose data lies in files is written without
 * being held.  The bytes are those ph_image_render gives for the same
 * table.  PH_EIO names `shown`; a read function's error is passed on. */
int ph_image_write_fd(const ph_image_src *src, int fd, const char *shown, ph_err *err);

/* The image of src as the artifact NAME/NAME.phc of table `name`, moved
 * into *out without a copy. */
int ph_image_artifact(const ph_image_src *src, const char *name, ph_artifacts *out,
                      ph_err *err);

/* Check every byte of buf[0..len) that a lookup could use before anything
 * is used: magic, byte order, version, sizes, checksum, fields, section
 * bounds and lengths, bucket entries.  buf must be 8-byte aligned.  Codes:
 * PH_EFOREIGN (not a table file), PH_EVERSION (newer format), PH_ETRUNC,
 * PH_ECHECKSUM, PH_EFORMAT (inconsistent); name is put in front of the
 * message.  A one-graph table of 64-bit keys must use the MIX family. */
int ph_image_parse(const void *buf, size_t len, const char *name, ph_image_view *out,
                   ph_err *err);

/* The checksum an image's header should carry (for tools and the fuzzer):
 * CRC32C over buf with the checksum field as zero.  len >= 52. */
uint32_t ph_image_checksum(const void *buf, size_t len);

#endif
