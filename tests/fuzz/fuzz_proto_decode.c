/* fuzz_proto_decode - libFuzzer target for ph_msg_decode.
 *
 * Any input must decode or fail cleanly.  On failure: PH_EPROTO (or
 * PH_ENOMEM), a one-line message that starts with "message" or a type
 * name, and an output left zeroed (nothing to free).  On success:
 *   - every str/bin view lies inside the input;
 *   - the message encodes (whatever decodes must encode), to no more bytes
 *     than the input (the encoder picks the smallest encodings);
 *   - that encoding decodes to the same field values (compared as C structs
 *     by proto_msg_diff, not as bytes) and re-encodes to the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ph_proto.h"
#include "proto_samples.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const ph_err *err)
{
    fprintf(stderr, "fuzz_proto_decode: %s (%s)\n", what, err ? err->msg : "");
    abort();
}

/* The error names a message or field: "message..." or "TYPE...". */
static bool err_well_formed(const ph_err *err, int rc)
{
    if (err->code != rc || err->msg[0] == '\0' || strchr(err->msg, '\n'))
        return false;
    size_t n = strspn(err->msg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz");
    if (n == 7 && strncmp(err->msg, "message", 7) == 0)
        return true;
    for (int t = 1; t < 256; t++) {   /* every type number the wire can carry */
        const char *name = ph_msg_type_name((ph_msg_type)t);
        if (strcmp(name, "UNKNOWN") != 0 && strlen(name) == n
            && strncmp(err->msg, name, n) == 0)
            return true;
    }
    return false;
}

static void check_failure(const ph_msg *m, int rc, const ph_err *err)
{
    static const ph_msg zero;
    if (rc != PH_EPROTO && rc != PH_ENOMEM)
        die("unexpected error code", err);
    if (!err_well_formed(err, rc))
        die("malformed error message", err);
    if (memcmp(m, &zero, sizeof zero) != 0)
        die("output not cleared after a failure", err);
}

static void check_success(const ph_msg *m, const uint8_t *data, size_t size)
{
    ph_err err = { 0 };
    char *a, *b;
    size_t alen, blen;
    ph_msg again;
    if (!proto_msg_views_in(m, data, size))
        die("a view points outside the input", NULL);
    if (ph_msg_encode(m, &a, &alen, &err) != 0)
        die("decoded message does not encode", &err);
    if (alen > size)
        die("re-encoding is larger than the input", NULL);
    if (ph_msg_decode(a, alen, &again, &err) != 0)
        die("re-encoded message does not decode", &err);
    const char *why = proto_msg_diff(m, &again);
    if (why)
        die("decode(encode(m)) differs from m", NULL);
    if (ph_msg_encode(&again, &b, &blen, &err) != 0)
        die("second encoding failed", &err);
    if (alen != blen || memcmp(a, b, alen) != 0)
        die("encoding is not stable", NULL);
    ph_msg_free(&again);
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ph_msg m;
    ph_err err = { 0 };
    int rc = ph_msg_decode(data, size, &m, &err);
    if (rc == 0) {
        check_success(&m, data, size);
        ph_msg_free(&m);
    } else {
        check_failure(&m, rc, &err);
    }
    return 0;
}
