/* test_proto.c - round trips and malformed input for the wire codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "ph_proto.h"
#include "proto_samples.h"

/* ---- comparison ------------------------------------------------------ */

static void eq_msg(const ph_msg *a, const ph_msg *b)
{
    const char *why = proto_msg_diff(a, b);
    if (why)
        fail_msg("%s: messages differ at %s", ph_msg_type_name(a->type), why);
}

/* ---- helpers --------------------------------------------------------- */

static void encode_sample(int i, char **buf, size_t *len)
{
    ph_msg m;
    ph_err err = { 0 };
    proto_sample(i, &m);
    assert_int_equal(ph_msg_encode(&m, buf, len, &err), 0);
}

/* Decode must fail with PH_EPROTO and a message containing want. */
static void expect_fail(const void *buf, size_t len, const char *want)
{
    ph_msg m;
    ph_err err = { 0 };
    int rc = ph_msg_decode(buf, len, &m, &err);
    if (rc == 0)
        ph_msg_free(&m);
    assert_int_equal(rc, PH_EPROTO);
    if (want && !strstr(err.msg, want))
        fail_msg("error '%s' lacks '%s'", err.msg, want);
}

/* A packer into a fresh sbuffer, for hand-made frames. */
typedef struct frame {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} frame;

static void frame_init(frame *f, uint32_t version, uint32_t type, size_t nfields)
{
    msgpack_sbuffer_init(&f->sb);
    msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
    msgpack_pack_array(&f->pk, 2 + nfields);
    msgpack_pack_uint32(&f->pk, version);
    msgpack_pack_uint32(&f->pk, type);
}

static void frame_str(frame *f, const char *s)
{
    msgpack_pack_str_with_body(&f->pk, s, strlen(s));
}

static void frame_expect(frame *f, const char *want)
{
    expect_fail(f->sb.data, f->sb.size, want);
    msgpack_sbuffer_destroy(&f->sb);
}

/* A PART_TASK frame: 2 buckets from bucket_lo of nbuckets, counts {1, 2},
 * keys_n / pos_n bytes of keys and positions. */
static void part_task_frame(frame *f, uint32_t nbuckets, uint32_t bucket_lo, uint32_t key_size,
                            size_t keys_n, size_t pos_n)
{
    static const char counts[8] = {1, 0, 0, 0, 2, 0, 0, 0};
    static const char zeros[64] = {0};
    frame_init(f, PH_PROTO_VERSION, PH_MSG_PART_TASK, 13);
    msgpack_pack_uint32(&f->pk, 1);          /* job_id */
    msgpack_pack_uint32(&f->pk, 2);          /* task_id */
    msgpack_pack_uint32(&f->pk, 0);          /* group */
    frame_str(f, "t");
    msgpack_pack_uint64(&f->pk, 99);         /* table_seed */
    msgpack_pack_uint32(&f->pk, 3);          /* nkeys */
    msgpack_pack_uint32(&f->pk, nbuckets);
    msgpack_pack_uint32(&f->pk, bucket_lo);
    msgpack_pack_uint32(&f->pk, key_size);
    msgpack_pack_uint32(&f->pk, 0);          /* max_attempts */
    msgpack_pack_bin_with_body(&f->pk, counts, sizeof counts);
    msgpack_pack_bin_with_body(&f->pk, zeros, keys_n);
    msgpack_pack_bin_with_body(&f->pk, zeros, pos_n);
}

/* PART_TASK / PART_RESULT: lengths, ranges and key size checked. */
static void test_part_messages(void **state)
{
    (void)state;
    frame f;
    part_task_frame(&f, 4, 2, 4, 12, 12);   /* the good one decodes */
    ph_msg m;
    ph_err err = {0};
    assert_int_equal(ph_msg_decode(f.sb.data, f.sb.size, &m, &err), 0);
    assert_int_equal(m.u.part_task.counts.n, 8);
    ph_msg_free(&m);
    msgpack_sbuffer_destroy(&f.sb);
    part_task_frame(&f, 4, 3, 4, 12, 12);
    frame_expect(&f, "PART_TASK.bucket_lo: the group does not lie inside the table's buckets");
    part_task_frame(&f, 4, 2, 8, 24, 12);   /* 64-bit keys decode too */
    assert_int_equal(ph_msg_decode(f.sb.data, f.sb.size, &m, &err), 0);
    assert_int_equal(m.u.part_task.key_size, 8);
    assert_int_equal(m.u.part_task.keys.n, 24);
    ph_msg_free(&m);
    msgpack_sbuffer_destroy(&f.sb);
    part_task_frame(&f, 4, 2, 6, 18, 12);
    frame_expect(&f, "PART_TASK.key_size: not a supported key size");
    part_task_frame(&f, 4, 2, 16, 48, 12);
    frame_expect(&f, "PART_TASK.key_size: not a supported key size");
    part_task_frame(&f, 4, 2, 8, 12, 12);
    frame_expect(&f, "PART_TASK.keys: length is not key_size * sum(counts)");
    part_task_frame(&f, 4, 2, 4, 8, 12);
    frame_expect(&f, "PART_TASK.keys: length is not key_size * sum(counts)");
    part_task_frame(&f, 4, 2, 4, 12, 16);
    frame_expect(&f, "PART_TASK.positions: length is not 4 * sum(counts)");

    frame_init(&f, PH_PROTO_VERSION, PH_MSG_PART_RESULT, 12);
    msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_uint32(&f.pk, 2);
    msgpack_pack_uint32(&f.pk, 0);
    msgpack_pack_int32(&f.pk, PH_ESOLVE);
    frame_str(&f, "no graph");
    msgpack_pack_uint32(&f.pk, 0);
    msgpack_pack_uint32(&f.pk, 0);
    msgpack_pack_bin_with_body(&f.pk, "ssss", 4);
    msgpack_pack_bin_with_body(&f.pk, "", 0);
    msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_uint32(&f.pk, 1);
    frame_expect(&f, "PART_RESULT.values: must be empty when status is not 0");

    /* JOB: 13 or 15 fields, never 14 (nor the 11 of version 2) */
    frame_init(&f, PH_PROTO_VERSION, PH_MSG_JOB, 14);
    for (int i = 0; i < 14; i++)
        msgpack_pack_nil(&f.pk);
    frame_expect(&f, "JOB: expected 13 fields, got 14");
    frame_init(&f, PH_PROTO_VERSION, PH_MSG_JOB, 11);
    for (int i = 0; i < 11; i++)
        msgpack_pack_nil(&f.pk);
    frame_expect(&f, "JOB: expected 13 fields, got 11");
}

/* ---- round trips ----------------------------------------------------- */

static void test_round_trip_all(void **state)
{
    (void)state;
    bool seen[32] = { false };
    for (int i = 0; i < proto_sample_count(); i++) {
        ph_msg in, out, again;
        ph_err err = { 0 };
        char *buf, *buf2;
        size_t len, len2;
        proto_sample(i, &in);
        assert_int_equal(ph_msg_encode(&in, &buf, &len, &err), 0);
        assert_int_equal(ph_msg_decode(buf, len, &out, &err), 0);
        eq_msg(&in, &out);
        seen[in.type] = true;
        /* re-encoding the decoded message gives the same bytes */
        assert_int_equal(ph_msg_encode(&out, &buf2, &len2, &err), 0);
        assert_int_equal(len, len2);
        assert_memory_equal(buf, buf2, len);
        assert_int_equal(ph_msg_decode(buf2, len2, &again, &err), 0);
        eq_msg(&in, &again);
        ph_msg_free(&again);
        ph_msg_free(&out);
        ph_msg_free(&out);   /* a second free is harmless */
        free(buf);
        free(buf2);
    }
    const ph_msg_type all[] = {
        PH_MSG_READY, PH_MSG_HEARTBEAT, PH_MSG_RESULT, PH_MSG_TASK, PH_MSG_STOP,
        PH_MSG_SUBMIT_CREATE, PH_MSG_SUBMIT_BULK, PH_MSG_WAIT, PH_MSG_STATUS,
        PH_MSG_SHUTDOWN, PH_MSG_PING, PH_MSG_ACCEPTED, PH_MSG_JOB,
        PH_MSG_STATUS_REPLY, PH_MSG_OK, PH_MSG_PONG, PH_MSG_ERROR,
        PH_MSG_PART_TASK, PH_MSG_PART_RESULT,
        PH_MSG_PROGRESS,
        PH_MSG_CANCEL_TASK, PH_MSG_CANCEL, PH_MSG_CANCEL_REPLY,
    };
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        if (!seen[all[k]])
            fail_msg("no sample of %s", ph_msg_type_name(all[k]));
}

/* Decoded views point into the frame itself, not into copies. */
static void test_views_into_frame(void **state)
{
    (void)state;
    for (int i = 0; i < proto_sample_count(); i++) {
        char *buf;
        size_t len;
        ph_msg m;
        ph_err err = { 0 };
        encode_sample(i, &buf, &len);
        assert_int_equal(ph_msg_decode(buf, len, &m, &err), 0);
        if (!proto_msg_views_in(&m, buf, len))
            fail_msg("%s: a view points outside the frame", proto_sample_label(i));
        /* and the check itself can fail: a view one byte too long */
        if (m.type == PH_MSG_RESULT && m.u.result.has_table) {
            ph_bytes *a = &m.u.result.table.assigned;
            assert_true(a->p + a->n == buf + len);
            a->n++;
            assert_false(proto_msg_views_in(&m, buf, len));
        }
        ph_msg_free(&m);
        free(buf);
    }
}

/* The comparison used by the round trips notices any changed field. */
static void test_diff_notices(void **state)
{
    (void)state;
    ph_msg a, b;
    proto_sample(3, &a);               /* result-table */
    proto_sample(3, &b);
    assert_null(proto_msg_diff(&a, &b));
    b.u.result.seeds[2]--;
    assert_non_null(strstr(proto_msg_diff(&a, &b), "seeds"));
    proto_sample(3, &b);
    b.u.result.table.seeds[3]--;
    assert_non_null(strstr(proto_msg_diff(&a, &b), "table.seeds"));
    proto_sample(3, &b);
    b.u.result.table.width = 2;
    assert_non_null(strstr(proto_msg_diff(&a, &b), "table.width"));
    proto_sample(3, &b);
    b.u.result.table.assigned.n--;
    assert_non_null(strstr(proto_msg_diff(&a, &b), "table.assigned"));
    proto_sample(17, &a);              /* status-reply */
    proto_sample(18, &b);
    assert_non_null(proto_msg_diff(&a, &b));
    proto_sample(21, &a);              /* error */
    proto_sample(22, &b);
    assert_non_null(strstr(proto_msg_diff(&a, &b), "code"));
    proto_sample(7, &a);               /* stop vs ok: only the type differs */
    proto_sample(19, &b);
    assert_non_null(strstr(proto_msg_diff(&a, &b), "type"));
}

static void test_signed_fields(void **state)
{
    (void)state;
    /* a positive code is packed as a uint and must still decode */
    ph_msg m = { .type = PH_MSG_ERROR }, out;
    m.u.error.code = 5;
    m.u.error.text = ph_bytes_str("x");
    char *buf;
    size_t len;
    ph_err err = { 0 };
    assert_int_equal(ph_msg_encode(&m, &buf, &len, &err), 0);
    assert_int_equal(ph_msg_decode(buf, len, &out, &err), 0);
    assert_int_equal(out.u.error.code, 5);
    free(buf);

    frame f;
    frame_init(&f, PH_PROTO_VERSION, PH_MSG_ERROR, 2);
    msgpack_pack_int64(&f.pk, (int64_t)INT32_MIN - 1);
    frame_str(&f, "x");
    frame_expect(&f, "ERROR.code: out of range");
    frame_init(&f, PH_PROTO_VERSION, PH_MSG_ERROR, 2);
    msgpack_pack_uint64(&f.pk, (uint64_t)INT32_MAX + 1);
    frame_str(&f, "x");
    frame_expect(&f, "ERROR.code: out of range");
}

/* ---- malformed input ------------------------------------------------- */

static void test_empty_and_garbage(void **state)
{
    (void)state;
    expect_fail("", 0, "empty");
    expect_fail("\x93\x04", 2, "container count exceeds");
    expect_fail("\x92\x04\xcd\x01", 4, "truncated");
    const char garbage[] = "GET / HTTP/1.1\r\n";
    expect_fail(garbage, sizeof garbage - 1, NULL);
    unsigned char noise[64];
    for (unsigned i = 0; i < sizeof noise; i++)
        noise[i] = (unsigned char)(i * 37 + 11);
    expect_fail(noise, sizeof noise, NULL);
}

static void test_not_an_array(void **state)
{
    (void)state;
    expect_fail("\x01", 1, "expected an array");
    expect_fail("\x81\x01\x01", 3, "expected an array");          /* {1: 1} */
    expect_fail("\xa3" "abc", 4, "expected an array");
    expect_fail("\x91\x01", 2, "expected an array");              /* [1] */
    expect_fail("\x92\xa1x\x01", 4, "message.version: expected uint");
    expect_fail("\x92\x04\xc3", 3, "message.type: expected uint");
}

static void test_version_and_type(void **state)
{
    (void)state;
    char *buf;
    size_t len;
    encode_sample(0, &buf, &len);
    assert_int_equal((unsigned char)buf[1], PH_PROTO_VERSION);
    buf[1] = 1;
    expect_fail(buf, len, "unsupported version 1");
    buf[1] = PH_PROTO_VERSION;
    buf[2] = 99;
    expect_fail(buf, len, "unknown message type 99");
    buf[2] = 0;
    expect_fail(buf, len, "unknown message type 0");
    free(buf);
}

/* The version is checked first, whatever follows it. */
static void test_version_first(void **state)
{
    (void)state;
    /* a "version 5" frame with an ext type the v4 scan would refuse */
    expect_fail("\x93\x05\xa1x\xd4\x01\x00", 7, "message.version: unsupported version 5");
    expect_fail("\x92\x00\x0f", 3, "unsupported version 0 (this peer speaks 4)");
    /* a version 1 peer (RESULT with files) gets the clean version error */
    expect_fail("\x92\x01\x0f", 3, "unsupported version 1 (this peer speaks 4)");
    /* so does a version 2 peer (no PROGRESS nor partitioned tasks) */
    expect_fail("\x92\x02\x0f", 3, "unsupported version 2 (this peer speaks 4)");
    /* and a version 3 peer (no CANCEL) */
    expect_fail("\x92\x03\x0f", 3, "unsupported version 3 (this peer speaks 4)");
    expect_fail("\x92\xcf\xff\xff\xff\xff\xff\xff\xff\xff\x0f", 11,
                "unsupported version 18446744073709551615");
    expect_fail("\xdc\x00\x02\xcd\x01\x00\x0f", 7, "unsupported version 256");
    /* a non-canonical width is still read as a number */
    expect_fail("\x92\xd0\x05\x0f", 4, "unsupported version 5");
    expect_fail("\x92\xcb\x3f\xf0\0\0\0\0\0\0\x0f", 11, "message.version: expected uint");
    ph_msg m;
    ph_err err = { 0 };
    assert_int_equal(ph_msg_decode("\x92\xd0\x04\x0f", 4, &m, &err), 0);
    assert_int_equal(m.type, PH_MSG_PING);
    assert_int_equal(ph_msg_decode("\x92\xcf\0\0\0\0\0\0\0\x04\x0f", 11, &m, &err), 0);
    assert_int_equal(m.type, PH_MSG_PING);
}

static void test_field_count(void **state)
{
    (void)state;
    frame f;
    frame_init(&f, PH_PROTO_VERSION, PH_MSG_READY, 4);   /* credits missing */
    frame_str(&f, "h");
    for (int i = 0; i < 3; i++)
        msgpack_pack_uint32(&f.pk, 1);
    frame_expect(&f, "READY: expected 5 fields, got 4");
    frame_init(&f, PH_PROTO_VERSION, PH_MSG_PING, 1);
    msgpack_pack_nil(&f.pk);
    frame_expect(&f, "PING: expected 0 fields, got 1");
    frame_init(&f, PH_PROTO_VERSION, PH_MSG_TASK, 5);
    msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_uint32(&f.pk, 2);
    frame_str(&f, "n");
    msgpack_pack_bin_with_body(&f.pk, "kkkk", 4);
    msgpack_pack_array(&f.pk, 3);
    frame_str(&f, "mix");
    msgpack_pack_true(&f.pk);
    msgpack_pack_uint32(&f.pk, 1);
    frame_expect(&f, "TASK.opts: expected 4 to 6 entries");
}

/* opts.table_flags: optional (4 entries mean 0), unknown bits and NO_C
 * without BIN refused. */
static void test_opts_table_flags(void **state)
{
    (void)state;
    for (uint32_t n = 4; n <= 5; n++) {
        frame f;
        frame_init(&f, PH_PROTO_VERSION, PH_MSG_SUBMIT_BULK, 3);
        frame_str(&f, "d");
        frame_str(&f, "o");
        msgpack_pack_array(&f.pk, n);
        frame_str(&f, "mix");
        msgpack_pack_true(&f.pk);
        msgpack_pack_uint32(&f.pk, 1);
        msgpack_pack_uint32(&f.pk, 2);
        if (n == 5)
            msgpack_pack_uint32(&f.pk, PH_TABLE_INDEX_ONLY);
        ph_msg m;
        ph_err err = {0};
        assert_int_equal(ph_msg_decode(f.sb.data, f.sb.size, &m, &err), 0);
        assert_int_equal(m.u.submit_bulk.opts.table_flags, n == 5 ? PH_TABLE_INDEX_ONLY : 0);
        assert_int_equal(m.u.submit_bulk.opts.seed, 2);
        ph_msg_free(&m);
        msgpack_sbuffer_destroy(&f.sb);
    }
    frame f;
    frame_init(&f, PH_PROTO_VERSION, PH_MSG_SUBMIT_BULK, 3);
    frame_str(&f, "d");
    frame_str(&f, "o");
    msgpack_pack_array(&f.pk, 5);
    frame_str(&f, "mix");
    msgpack_pack_true(&f.pk);
    msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_uint32(&f.pk, 2);
    msgpack_pack_uint32(&f.pk, 0x80u);
    frame_expect(&f, "SUBMIT_BULK.opts.table_flags: unknown bits set");
    /* the key size: KEY64 or KEY32 alone decode, both at once do not */
    static const uint32_t ok[] = {PH_TABLE_KEY64, PH_TABLE_KEY32,
                                  PH_TABLE_KEY64 | PH_TABLE_INDEX_ONLY};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ph_msg in = {.type = PH_MSG_SUBMIT_BULK}, m;
        in.u.submit_bulk.dir = ph_bytes_str("d");
        in.u.submit_bulk.out_dir = ph_bytes_str("o");
        in.u.submit_bulk.opts.hash = ph_bytes_str("auto");
        in.u.submit_bulk.opts.table_flags = ok[i];
        char *buf;
        size_t len;
        ph_err err = {0};
        assert_int_equal(ph_msg_encode(&in, &buf, &len, &err), 0);
        assert_int_equal(ph_msg_decode(buf, len, &m, &err), 0);
        assert_int_equal(m.u.submit_bulk.opts.table_flags, ok[i]);
        ph_msg_free(&m);
        free(buf);
    }
    frame_init(&f, PH_PROTO_VERSION, PH_MSG_SUBMIT_BULK, 3);
    frame_str(&f, "d");
    frame_str(&f, "o");
    msgpack_pack_array(&f.pk, 5);
    frame_str(&f, "mix");
    msgpack_pack_true(&f.pk);
    msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_uint32(&f.pk, 2);
    msgpack_pack_uint32(&f.pk, PH_TABLE_NO_C);
    frame_expect(&f, "SUBMIT_BULK.opts.table_flags: no C sources and no binary file");
    frame_init(&f, PH_PROTO_VERSION, PH_MSG_SUBMIT_BULK, 3);
    frame_str(&f, "d");
    frame_str(&f, "o");
    msgpack_pack_array(&f.pk, 5);
    frame_str(&f, "mix");
    msgpack_pack_true(&f.pk);
    msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_uint32(&f.pk, 2);
    msgpack_pack_uint32(&f.pk, PH_TABLE_KEY64 | PH_TABLE_KEY32);
    frame_expect(&f, "SUBMIT_BULK.opts.table_flags: key size 4 and 8 both set");
}

/* Values: the flags, SUBMIT_CREATE's optional fifth field and
 * SUBMIT_BULK's optional fourth. */
static void test_values_fields(void **state)
{
    (void)state;
    static const char keys[8] = {1, 0, 0, 0, 2, 0, 0, 0};
    static const char vals[8] = {9, 0, 0, 0, 7, 0, 0, 0};
    ph_msg in = {.type = PH_MSG_SUBMIT_CREATE}, m;
    in.u.submit_create.name = ph_bytes_str("v");
    in.u.submit_create.keys = (ph_bytes){keys, 8};
    in.u.submit_create.out_dir = ph_bytes_str("/o");
    in.u.submit_create.opts.hash = ph_bytes_str("auto");
    char *buf;
    size_t len, len4;
    ph_err err = {0};
    /* no values: four fields, as before values existed */
    assert_int_equal(ph_msg_encode(&in, &buf, &len4, &err), 0);
    assert_int_equal(ph_msg_decode(buf, len4, &m, &err), 0);
    assert_int_equal(m.u.submit_create.values.n, 0);
    ph_msg_free(&m);
    free(buf);
    in.u.submit_create.opts.table_flags = PH_TABLE_VALUES32;
    in.u.submit_create.values = (ph_bytes){vals, 8};
    assert_int_equal(ph_msg_encode(&in, &buf, &len, &err), 0);
    assert_true(len > len4);
    assert_int_equal(ph_msg_decode(buf, len, &m, &err), 0);
    assert_int_equal(m.u.submit_create.values.n, 8);
    assert_memory_equal(m.u.submit_create.values.p, vals, 8);
    ph_msg_free(&m);
    free(buf);
    /* values without the flag, values with index-only, both widths: refused */
    struct { uint32_t flags; const char *why; } bad[] = {
        {0, "SUBMIT_CREATE.values: sent without opts.table_flags values"},
        {PH_TABLE_VALUES32 | PH_TABLE_INDEX_ONLY,
         "SUBMIT_CREATE.opts.table_flags: values need the key set (not index-only)"},
        {PH_TABLE_VALUES32 | PH_TABLE_VALUES64,
         "SUBMIT_CREATE.opts.table_flags: values of 4 and 8 bytes both set"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        in.u.submit_create.opts.table_flags = bad[i].flags;
        assert_int_equal(ph_msg_encode(&in, &buf, &len, &err), 0);
        assert_int_equal(ph_msg_decode(buf, len, &m, &err), PH_EPROTO);
        assert_string_equal(err.msg, bad[i].why);
        free(buf);
    }
    /* SUBMIT_BULK's optional fourth field, the values file: kept with the
     * values flag, refused without it. */
    ph_msg b = {.type = PH_MSG_SUBMIT_BULK};
    b.u.submit_bulk.dir = ph_bytes_str("/k/big.keys");
    b.u.submit_bulk.out_dir = ph_bytes_str("/o");
    b.u.submit_bulk.opts.hash = ph_bytes_str("auto");
    b.u.submit_bulk.opts.table_flags = PH_TABLE_VALUES64;
    assert_int_equal(ph_msg_encode(&b, &buf, &len4, &err), 0);
    free(buf);
    b.u.submit_bulk.values_file = ph_bytes_str("/k/big.vals");
    assert_int_equal(ph_msg_encode(&b, &buf, &len, &err), 0);
    assert_true(len > len4);
    assert_int_equal(ph_msg_decode(buf, len, &m, &err), 0);
    assert_int_equal(m.u.submit_bulk.values_file.n, 11);
    assert_memory_equal(m.u.submit_bulk.values_file.p, "/k/big.vals", 11);
    ph_msg_free(&m);
    free(buf);
    b.u.submit_bulk.opts.table_flags = 0;
    assert_int_equal(ph_msg_encode(&b, &buf, &len, &err), 0);
    assert_int_equal(ph_msg_decode(buf, len, &m, &err), PH_EPROTO);
    assert_string_equal(err.msg, "SUBMIT_BULK.values_file: sent without opts.table_flags values");
    free(buf);
}

static void test_field_types(void **state)
{
    (void)state;
    frame f;
    frame_init(&f, PH_PROTO_VERSION, PH_MSG_READY, 5);
    msgpack_pack_bin_with_body(&f.pk, "h", 1);   /* str expected */
    for (int i = 0; i < 4; i++)
        msgpack_pack_uint32(&f.pk, 1);
    frame_expect(&f, "READY.host: expected str");

    frame_init(&f, PH_PROTO_VERSION, PH_MSG_READY, 5);
    frame_str(&f, "h");
    msgpack_pack_uint64(&f.pk, 1ull << 32);      /* does not fit uint32 */
    for (int i = 0; i < 3; i++)
        msgpack_pack_uint32(&f.pk, 1);
    frame_expect(&f, "READY.pid: 4294967296 out of range");

    frame_init(&f, PH_PROTO_VERSION, PH_MSG_HEARTBEAT, 3);
    msgpack_pack_int32(&f.pk, -1);
    msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_uint32(&f.pk, 1);
    frame_expect(&f, "HEARTBEAT.running: expected uint");

    frame_init(&f, PH_PROTO_VERSION, PH_MSG_SUBMIT_BULK, 3);
    frame_str(&f, "d");
    frame_str(&f, "o");
    msgpack_pack_array(&f.pk, 4);
    frame_str(&f, "mix");
    msgpack_pack_uint32(&f.pk, 1);               /* bool expected */
    msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_uint32(&f.pk, 1);
    frame_expect(&f, "SUBMIT_BULK.opts.compact: expected bool");

    /* PROGRESS: a list of exactly-3-field uint entries */
    frame_init(&f, PH_PROTO_VERSION, PH_MSG_PROGRESS, 2);
    msgpack_pack_array(&f.pk, 1);
    msgpack_pack_array(&f.pk, 2);
    msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_uint32(&f.pk, 2);
    msgpack_pack_array(&f.pk, 0);
    frame_expect(&f, "PROGRESS.tasks[0]: expected 3 entries, got 2");

    frame_init(&f, PH_PROTO_VERSION, PH_MSG_PROGRESS, 2);
    msgpack_pack_array(&f.pk, 2);
    msgpack_pack_array(&f.pk, 3);
    for (int i = 0; i < 3; i++)
        msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_array(&f.pk, 3);
    msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_int32(&f.pk, -5);
    msgpack_pack_array(&f.pk, 0);
    frame_expect(&f, "PROGRESS.tasks[1].steps: expected uint");

    frame_init(&f, PH_PROTO_VERSION, PH_MSG_PROGRESS, 2);
    msgpack_pack_array(&f.pk, 0);
    msgpack_pack_array(&f.pk, 1);
    msgpack_pack_array(&f.pk, 4);
    msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_uint64(&f.pk, 1ull << 32);      /* group is uint32 */
    msgpack_pack_uint32(&f.pk, 1);
    frame_expect(&f, "PROGRESS.groups[0].group: 4294967296 out of range");

    frame_init(&f, PH_PROTO_VERSION, PH_MSG_PROGRESS, 2);
    msgpack_pack_array(&f.pk, PH_PROTO_MAX_LIST + 1);
    for (uint32_t i = 0; i < PH_PROTO_MAX_LIST + 1; i++)
        msgpack_pack_nil(&f.pk);
    msgpack_pack_array(&f.pk, 0);
    frame_expect(&f, "PROGRESS.tasks: 100001 entries exceed the limit of 100000");

    frame_init(&f, PH_PROTO_VERSION, PH_MSG_STATUS_REPLY, 3);
    msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_array(&f.pk, 1);
    msgpack_pack_array(&f.pk, 10);
    frame_str(&f, "w");
    frame_str(&f, "h");
    for (int i = 0; i < 7; i++)
        msgpack_pack_uint32(&f.pk, 0);
    msgpack_pack_uint64(&f.pk, 1ull << 32);      /* stuck is uint32 */
    msgpack_pack_array(&f.pk, 0);
    frame_expect(&f, "STATUS_REPLY.workers[0].stuck: 4294967296 out of range");
}

/* A RESULT frame whose table field is built from a spec (hand-made, so
 * that it can be wrong in one field at a time). */
typedef struct table_spec {
    int32_t status;
    bool nil_table;        /* nil instead of an array */
    uint32_t nfields;      /* entries of the table array */
    uint64_t hash, nverts, width;
    uint32_t assigned_len;
    bool assigned_str;     /* str instead of bin */
    bool seed2_str;        /* seeds[2] as a str */
} table_spec;

static table_spec table_ok(void)
{
    return (table_spec){ .nfields = 9, .hash = 1, .nverts = 16, .width = 2,
                         .assigned_len = 32 };
}

static void result_frame(frame *f, const table_spec *t)
{
    static const char zeros[64];
    frame_init(f, PH_PROTO_VERSION, PH_MSG_RESULT, 14);
    msgpack_pack_uint32(&f->pk, 1);
    msgpack_pack_uint32(&f->pk, 2);
    msgpack_pack_int32(&f->pk, t->status);
    frame_str(f, "");
    msgpack_pack_uint32(&f->pk, 0);
    msgpack_pack_uint32(&f->pk, 5);
    frame_str(f, "mulrot");
    msgpack_pack_array(&f->pk, 4);
    for (int i = 0; i < 4; i++)
        msgpack_pack_uint32(&f->pk, (uint32_t)i);
    for (int i = 0; i < 5; i++)
        msgpack_pack_uint32(&f->pk, 9);
    if (t->nil_table) {
        msgpack_pack_nil(&f->pk);
        return;
    }
    msgpack_pack_array(&f->pk, t->nfields);
    uint64_t v[9] = { t->hash, 0, 0, 5, 8, t->nverts, 29, t->width, 0 };
    for (uint32_t i = 0; i < t->nfields && i < 8; i++) {
        if (i == 1) {
            msgpack_pack_false(&f->pk);
        } else if (i == 2) {
            msgpack_pack_array(&f->pk, 4);
            for (int k = 0; k < 4; k++) {
                if (k == 2 && t->seed2_str)
                    frame_str(f, "7");
                else
                    msgpack_pack_uint32(&f->pk, 0x1001u + (uint32_t)k);
            }
        } else {
            msgpack_pack_uint64(&f->pk, v[i]);
        }
    }
    if (t->nfields < 9)
        return;
    if (t->assigned_str)
        msgpack_pack_str_with_body(&f->pk, zeros, t->assigned_len);
    else
        msgpack_pack_bin_with_body(&f->pk, zeros, t->assigned_len);
}

/* The table field: [] or exactly 9 typed fields, a known family, width 2
 * or 4, and exactly nverts * width bytes of assigned (within the frame). */
static void test_result_table(void **state)
{
    (void)state;
    frame f;
    table_spec t = table_ok();
    result_frame(&f, &t);
    ph_msg m;
    ph_err err = { 0 };
    assert_int_equal(ph_msg_decode(f.sb.data, f.sb.size, &m, &err), 0);
    assert_true(m.u.result.has_table);
    assert_int_equal(m.u.result.table.hash, 1);
    assert_int_equal(m.u.result.table.nverts, 16);
    assert_int_equal(m.u.result.table.width, 2);
    assert_int_equal(m.u.result.table.shift, 29);
    assert_int_equal(m.u.result.table.seeds[3], 0x1004u);
    assert_int_equal(m.u.result.table.assigned.n, 32);
    ph_msg_free(&m);
    msgpack_sbuffer_destroy(&f.sb);

    t = table_ok(); t.width = 3; t.assigned_len = 48;
    result_frame(&f, &t);
    frame_expect(&f, "RESULT.table.width: must be 2 or 4");
    t = table_ok(); t.width = 4;            /* 32 bytes, 64 wanted */
    result_frame(&f, &t);
    frame_expect(&f, "RESULT.table.assigned: length is not nverts * width");
    t = table_ok(); t.assigned_len = 33;
    result_frame(&f, &t);
    frame_expect(&f, "RESULT.table.assigned: length is not nverts * width");
    t = table_ok(); t.nverts = UINT32_MAX; t.width = 4;
    result_frame(&f, &t);
    frame_expect(&f, "RESULT.table.assigned: nverts * width exceeds the frame limit");
    t = table_ok(); t.nverts = 1ull << 32;
    result_frame(&f, &t);
    frame_expect(&f, "RESULT.table.nverts: 4294967296 out of range");
    t = table_ok(); t.hash = 3;             /* AUTO is not a table's family */
    result_frame(&f, &t);
    frame_expect(&f, "RESULT.table.hash: unknown family");
    t = table_ok(); t.assigned_str = true;
    result_frame(&f, &t);
    frame_expect(&f, "RESULT.table.assigned: expected bin");
    t = table_ok(); t.nfields = 8;
    result_frame(&f, &t);
    frame_expect(&f, "RESULT.table: expected 9 entries, got 8");
    t = table_ok(); t.nil_table = true;
    result_frame(&f, &t);
    frame_expect(&f, "RESULT.table: expected array");
    t = table_ok(); t.status = PH_ESOLVE;
    result_frame(&f, &t);
    frame_expect(&f, "RESULT.table: must be empty when status is not 0");
    t = table_ok(); t.nfields = 0;          /* no table: fine */
    result_frame(&f, &t);
    assert_int_equal(ph_msg_decode(f.sb.data, f.sb.size, &m, &err), 0);
    assert_false(m.u.result.has_table);
    ph_msg_free(&m);
    msgpack_sbuffer_destroy(&f.sb);

    /* the encoder refuses the same */
    ph_msg e;
    proto_sample(3, &e);
    char *buf;
    size_t len;
    e.u.result.table.assigned.n--;
    assert_int_equal(ph_msg_encode(&e, &buf, &len, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "RESULT.table.assigned"));
    proto_sample(3, &e);
    e.u.result.table.hash = 3;
    assert_int_equal(ph_msg_encode(&e, &buf, &len, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "RESULT.table.hash"));
    proto_sample(3, &e);
    e.u.result.status = PH_ESOLVE;
    assert_int_equal(ph_msg_encode(&e, &buf, &len, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "must be empty"));
}

/* The error names the exact nested field. */
static void test_nested_field_names(void **state)
{
    (void)state;
    frame f;
    table_spec t = table_ok();
    t.seed2_str = true;
    result_frame(&f, &t);
    frame_expect(&f, "RESULT.table.seeds[2]: expected uint");

    frame_init(&f, PH_PROTO_VERSION, PH_MSG_STATUS_REPLY, 3);
    msgpack_pack_uint32(&f.pk, 1);
    msgpack_pack_array(&f.pk, 0);
    msgpack_pack_array(&f.pk, 1);
    msgpack_pack_array(&f.pk, 13);
    frame_str(&f, "tok");
    msgpack_pack_uint32(&f.pk, 9);           /* unknown state */
    for (int i = 0; i < 6; i++)
        msgpack_pack_uint32(&f.pk, 0);
    frame_str(&f, "");
    frame_str(&f, "");
    msgpack_pack_array(&f.pk, 0);
    msgpack_pack_uint32(&f.pk, 0);           /* stalled */
    msgpack_pack_uint32(&f.pk, 0);           /* stalls */
    frame_expect(&f, "STATUS_REPLY.jobs[0].state: unknown job state");
}

/* ---- systematic mutations of every sample ----------------------------
 * Each node of a sample's msgpack tree is, in turn, replaced by nil, or by
 * a value of a neighbouring kind (uint <-> str, str <-> bin, bool -> uint,
 * array -> map), and every array gets one extra nil element.  No field of
 * the protocol accepts any of these, so each mutant must be refused with an
 * error naming the message (or the version/type). */

enum mutation { MUT_NIL, MUT_KIND, MUT_APPEND };

static void pack_kind_swap(msgpack_packer *pk, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        msgpack_pack_bin_with_body(pk, o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN:
        msgpack_pack_str_with_body(pk, o->via.bin.ptr, o->via.bin.size);
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        msgpack_pack_uint8(pk, o->via.boolean);
        break;
    case MSGPACK_OBJECT_ARRAY:
        msgpack_pack_map(pk, 0);
        break;
    default:   /* integers */
        msgpack_pack_str_with_body(pk, "1", 1);
        break;
    }
}

/* Pack o with node number *target (pre-order, root = 0) mutated; *hit is
 * set to that node when it is reached. */
static void pack_mutant(msgpack_packer *pk, const msgpack_object *o, long *target,
                        enum mutation mut, const msgpack_object **hit)
{
    bool here = (*target)-- == 0;
    if (here)
        *hit = o;
    if (here && mut == MUT_NIL) {
        msgpack_pack_nil(pk);
        return;
    }
    if (here && mut == MUT_KIND) {
        pack_kind_swap(pk, o);
        return;
    }
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        msgpack_pack_object(pk, *o);
        return;
    }
    bool append = here && mut == MUT_APPEND;
    msgpack_pack_array(pk, o->via.array.size + (append ? 1 : 0));
    for (uint32_t i = 0; i < o->via.array.size; i++)
        pack_mutant(pk, &o->via.array.ptr[i], target, mut, hit);
    if (append)
        msgpack_pack_nil(pk);
}

static void check_mutant(int sample, long node, enum mutation mut, const msgpack_sbuffer *sb)
{
    ph_msg m;
    ph_err err = { 0 };
    int rc = ph_msg_decode(sb->data, sb->size, &m, &err);
    if (rc == 0) {
        ph_msg_free(&m);
        fail_msg("%s: mutant %d of node %ld decoded", proto_sample_label(sample), mut, node);
    }
    assert_int_equal(rc, PH_EPROTO);
    ph_msg ref;
    proto_sample(sample, &ref);
    const char *name = ph_msg_type_name(ref.type);
    const char *want = node == 1 ? "message.version: expected uint"
                     : node == 2 ? "message.type: expected uint" : name;
    if (node == 0 || (node <= 2 && mut == MUT_APPEND))
        want = NULL;   /* the root: any complaint will do */
    if (want && strncmp(err.msg, want, strlen(want)) != 0)
        fail_msg("%s: mutant %d of node %ld: '%s' does not start with '%s'",
                 proto_sample_label(sample), mut, node, err.msg, want);
    if (node > 2 && !strstr(err.msg, "expected"))
        fail_msg("%s: mutant %d of node %ld: '%s'", proto_sample_label(sample), mut, node,
                 err.msg);
}

static void test_mutants(void **state)
{
    (void)state;
    long total = 0;
    for (int i = 0; i < proto_sample_count(); i++) {
        char *buf;
        size_t len;
        encode_sample(i, &buf, &len);
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        size_t off = 0;
        assert_int_equal(msgpack_unpack_next(&up, buf, len, &off), MSGPACK_UNPACK_SUCCESS);
        for (long node = 0;; node++) {
            const msgpack_object *hit = NULL;
            for (int mut = MUT_NIL; mut <= MUT_APPEND; mut++) {
                msgpack_sbuffer sb;
                msgpack_packer pk;
                msgpack_sbuffer_init(&sb);
                msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
                long target = node;
                hit = NULL;
                pack_mutant(&pk, &up.data, &target, (enum mutation)mut, &hit);
                /* appending applies to arrays only */
                if (hit && (mut != MUT_APPEND || hit->type == MSGPACK_OBJECT_ARRAY)) {
                    check_mutant(i, node, (enum mutation)mut, &sb);
                    total++;
                }
                msgpack_sbuffer_destroy(&sb);
            }
            if (!hit)
                break;
        }
        msgpack_unpacked_destroy(&up);
        free(buf);
    }
    /* the walk really visited the trees (648 mutants in version 2) */
    assert_true(total > 600);
}

/* Every proper prefix of every valid frame is refused, never a crash. */
static void test_truncated_everywhere(void **state)
{
    (void)state;
    for (int i = 0; i < proto_sample_count(); i++) {
        char *buf;
        size_t len;
        encode_sample(i, &buf, &len);
        for (size_t cut = 0; cut < len; cut++) {
            /* an exact-size copy so ASan sees any read past the cut */
            char *part = malloc(cut ? cut : 1);
            assert_non_null(part);
            memcpy(part, buf, cut);
            expect_fail(part, cut, NULL);
            free(part);
        }
        free(buf);
    }
}

static void test_trailing_byte(void **state)
{
    (void)state;
    for (int i = 0; i < proto_sample_count(); i++) {
        char *buf;
        size_t len;
        encode_sample(i, &buf, &len);
        char *more = malloc(len + 1);
        assert_non_null(more);
        memcpy(more, buf, len);
        more[len] = 0x00;
        expect_fail(more, len + 1, "trailing");
        free(more);
        free(buf);
    }
}

/* Headers claiming 2^32-1 elements or bytes in a tiny frame are refused by
 * the pre-scan, before msgpack-c could reserve memory for them. */
static void test_huge_counts(void **state)
{
    (void)state;
    expect_fail("\xdd\xff\xff\xff\xff\x04\x01", 7, "container count exceeds");
    expect_fail("\xdf\xff\xff\xff\xff\x02\x01", 7, "container count exceeds");
    expect_fail("\x93\x04\x03\xdd\xff\xff\xff\xff", 8, "container count exceeds");
    expect_fail("\x93\x04\x03\xc6\xff\xff\xff\xff\x00", 9, "truncated");
    expect_fail("\x93\x04\x03\xdb\xff\xff\xff\xff\x00", 9, "truncated");
    expect_fail("\x93\x04\x03\xdc\xff\xff", 6, "container count exceeds");
    /* a fixarray that promises more than is there */
    expect_fail("\x9f\x04\x01", 3, "container count exceeds");
}

static void test_list_limit(void **state)
{
    (void)state;
    frame f;
    frame_init(&f, PH_PROTO_VERSION, PH_MSG_JOB, 13);
    frame_str(&f, "tok");
    for (int i = 0; i < 7; i++)
        msgpack_pack_uint32(&f.pk, 0);
    frame_str(&f, "");
    frame_str(&f, "");
    msgpack_pack_array(&f.pk, PH_PROTO_MAX_LIST + 1);
    for (uint32_t i = 0; i < PH_PROTO_MAX_LIST + 1; i++)
        msgpack_pack_nil(&f.pk);
    msgpack_pack_uint32(&f.pk, 0);
    msgpack_pack_uint32(&f.pk, 0);
    frame_expect(&f, "JOB.nodes: 100001 entries exceed the limit of 100000");

    /* the encoder refuses it too, before touching the array */
    ph_node_count one;
    ph_msg m = { .type = PH_MSG_JOB };
    m.u.job.nodes = &one;
    m.u.job.nnodes = PH_PROTO_MAX_LIST + 1;
    char *buf;
    size_t len;
    ph_err err = { 0 };
    assert_int_equal(ph_msg_encode(&m, &buf, &len, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "JOB.nodes"));
    assert_null(buf);
}

static void test_frame_limit(void **state)
{
    (void)state;
    size_t big = (size_t)PH_PROTO_MAX_FRAME + 1;
    char *buf = calloc(1, big);   /* never read: refused by its length */
    assert_non_null(buf);
    buf[0] = (char)0x92;
    expect_fail(buf, big, "exceed the frame limit");

    /* encoding a message that would exceed the limit fails cleanly */
    ph_msg m = { .type = PH_MSG_TASK };
    m.u.task.keys.p = buf;
    m.u.task.keys.n = PH_PROTO_MAX_FRAME;
    char *out;
    size_t len;
    ph_err err = { 0 };
    assert_int_equal(ph_msg_encode(&m, &out, &len, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "frame limit"));
    assert_null(out);

    /* a frame of exactly the limit is fine both ways, one byte more is not */
    m.u.task.keys.n = 70000;
    assert_int_equal(ph_msg_encode(&m, &out, &len, &err), 0);
    size_t overhead = len - 70000;
    free(out);
    m.u.task.keys.n = (uint32_t)(PH_PROTO_MAX_FRAME - overhead);
    assert_int_equal(ph_msg_encode(&m, &out, &len, &err), 0);
    assert_int_equal(len, PH_PROTO_MAX_FRAME);
    ph_msg d;
    assert_int_equal(ph_msg_decode(out, len, &d, &err), 0);
    assert_int_equal(d.u.task.keys.n, m.u.task.keys.n);
    ph_msg_free(&d);
    free(out);
    m.u.task.keys.n++;
    assert_int_equal(ph_msg_encode(&m, &out, &len, &err), PH_EINVAL);
    if (strncmp(err.msg, "TASK: ", 6) != 0 || !strstr(err.msg, "frame limit"))
        fail_msg("unexpected error: %s", err.msg);
    free(buf);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    unsigned char deep[200];
    memset(deep, 0x91, sizeof deep);   /* [[[[...]]]] */
    deep[sizeof deep - 1] = 0x01;
    expect_fail(deep, sizeof deep, "nesting too deep");
    /* 8 levels are fine for the scanner (the message is still wrong) */
    memset(deep, 0x91, 8);
    deep[8] = 0x01;
    expect_fail(deep, 9, "expected an array [version, type");
    memset(deep, 0x91, 9);
    deep[9] = 0x01;
    expect_fail(deep, 10, "nesting too deep");
}

static void test_ext_and_reserved(void **state)
{
    (void)state;
    expect_fail("\x93\x04\x03\xd4\x01\x00", 6, "ext type refused");
    expect_fail("\x93\x04\x03\xc7\x01\x01\x00", 7, "ext type refused");
    expect_fail("\x93\x04\x03\xc1", 4, "reserved byte");
}

static void test_encode_rejects(void **state)
{
    (void)state;
    char *buf;
    size_t len;
    ph_err err = { 0 };
    ph_msg m = { .type = (ph_msg_type)77 };
    assert_int_equal(ph_msg_encode(&m, &buf, &len, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "unknown type 77"));
    m.type = PH_MSG_READY;
    m.u.ready.host.p = NULL;
    m.u.ready.host.n = 3;
    assert_int_equal(ph_msg_encode(&m, &buf, &len, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "READY"));
    memset(&m, 0, sizeof m);
    m.type = PH_MSG_RESULT;
    m.u.result.has_table = true;  /* width 0, no assigned bytes */
    assert_int_equal(ph_msg_encode(&m, &buf, &len, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "RESULT.table.width"));
}

/* ---- helpers of the header ------------------------------------------- */

static void test_bytes_helpers(void **state)
{
    (void)state;
    char out[8];
    ph_err err = { 0 };
    ph_bytes b = ph_bytes_str("abc");
    assert_int_equal(b.n, 3);
    assert_true(ph_bytes_eq(b, "abc"));
    assert_false(ph_bytes_eq(b, "abcd"));
    assert_false(ph_bytes_eq(b, "abd"));
    assert_int_equal(ph_bytes_str(NULL).n, 0);
    assert_true(ph_bytes_eq(ph_bytes_str(NULL), ""));
    assert_true(ph_bytes_eq(ph_bytes_str(NULL), NULL));
    assert_int_equal(ph_bytes_cstr(b, out, sizeof out, &err), 0);
    assert_string_equal(out, "abc");
    assert_int_equal(ph_bytes_cstr(ph_bytes_str("1234567"), out, sizeof out, &err), 0);
    assert_int_equal(ph_bytes_cstr(ph_bytes_str("12345678"), out, sizeof out, &err),
                     PH_EINVAL);
    ph_bytes nul = { "a\0b", 3 };
    assert_int_equal(ph_bytes_cstr(nul, out, sizeof out, &err), PH_EINVAL);
    assert_non_null(strstr(err.msg, "NUL"));
    ph_bytes empty = { NULL, 0 };
    assert_int_equal(ph_bytes_cstr(empty, out, sizeof out, &err), 0);
    assert_string_equal(out, "");
    assert_int_equal(ph_bytes_cstr(empty, out, 0, &err), PH_EINVAL);
}

/* opts with only its 4 required entries (flags and partition 0) decodes and
 * re-encodes to the very same bytes: the encoder writes the shortest form. */
static void test_opts_shortest_form(void **state)
{
    (void)state;
    frame f;
    frame_init(&f, PH_PROTO_VERSION, PH_MSG_TASK, 5);
    msgpack_pack_uint32(&f.pk, 0);           /* job_id */
    msgpack_pack_uint32(&f.pk, 0);           /* task_id */
    frame_str(&f, "");
    msgpack_pack_bin_with_body(&f.pk, "", 0);
    msgpack_pack_array(&f.pk, 4);
    frame_str(&f, "");
    msgpack_pack_false(&f.pk);
    msgpack_pack_uint32(&f.pk, 14);
    msgpack_pack_uint32(&f.pk, 64);
    ph_msg m;
    ph_err err = {0};
    assert_int_equal(ph_msg_decode(f.sb.data, f.sb.size, &m, &err), 0);
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(ph_msg_encode(&m, &buf, &len, &err), 0);
    assert_int_equal(len, f.sb.size);
    assert_memory_equal(buf, f.sb.data, len);
    free(buf);
    /* a non-zero partition brings table_flags along, as a 0 */
    m.u.task.opts.partition = 4096;
    assert_int_equal(ph_msg_encode(&m, &buf, &len, &err), 0);
    assert_int_equal(len, f.sb.size + 1 + 3);   /* a 0, then 4096 as uint16 */
    ph_msg again;
    assert_int_equal(ph_msg_decode(buf, len, &again, &err), 0);
    assert_int_equal(again.u.task.opts.partition, 4096);
    assert_int_equal(again.u.task.opts.table_flags, 0);
    ph_msg_free(&again);
    free(buf);
    ph_msg_free(&m);
    msgpack_sbuffer_destroy(&f.sb);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(ph_msg_type_name(PH_MSG_READY), "READY");
    assert_string_equal(ph_msg_type_name(PH_MSG_STATUS_REPLY), "STATUS_REPLY");
    assert_string_equal(ph_msg_type_name(PH_MSG_ERROR), "ERROR");
    assert_string_equal(ph_msg_type_name((ph_msg_type)99), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_all),
        cmocka_unit_test(test_views_into_frame),
        cmocka_unit_test(test_diff_notices),
        cmocka_unit_test(test_signed_fields),
        cmocka_unit_test(test_empty_and_garbage),
        cmocka_unit_test(test_not_an_array),
        cmocka_unit_test(test_version_and_type),
        cmocka_unit_test(test_version_first),
        cmocka_unit_test(test_field_count),
        cmocka_unit_test(test_field_types),
        cmocka_unit_test(test_opts_table_flags),
        cmocka_unit_test(test_values_fields),
        cmocka_unit_test(test_part_messages),
        cmocka_unit_test(test_nested_field_names),
        cmocka_unit_test(test_result_table),
        cmocka_unit_test(test_mutants),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_trailing_byte),
        cmocka_unit_test(test_huge_counts),
        cmocka_unit_test(test_list_limit),
        cmocka_unit_test(test_frame_limit),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_ext_and_reserved),
        cmocka_unit_test(test_encode_rejects),
        cmocka_unit_test(test_bytes_helpers),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_opts_shortest_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
