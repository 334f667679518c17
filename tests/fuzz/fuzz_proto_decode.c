/* fuzz_proto_decode - libFuzzer target for ph_msg_decode.
 *
 * Any input must decode or fail cleanly.  A decoded message must encode,
 * and that encoding must decode to the same type and re-encode to the very
 * same bytes (the encoder's output is canonical). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ph_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reencode_check(const ph_msg *m)
{
    ph_err err = { 0 };
    char *a, *b;
    size_t alen, blen;
    ph_msg again;
    if (ph_msg_encode(m, &a, &alen, &err) != 0)
        abort();   /* whatever decodes must encode */
    if (ph_msg_decode(a, alen, &again, &err) != 0 || again.type != m->type)
        abort();
    if (ph_msg_encode(&again, &b, &blen, &err) != 0)
        abort();
    if (alen != blen || memcmp(a, b, alen) != 0)
        abort();
    ph_msg_free(&again);
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ph_msg m;
    ph_err err = { 0 };
    if (ph_msg_decode(data, size, &m, &err) == 0) {
        reencode_check(&m);
        ph_msg_free(&m);
    } else if (err.msg[0] == '\0') {
        abort();   /* every failure must say why */
    }
    return 0;
}
