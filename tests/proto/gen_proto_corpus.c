/* gen_proto_corpus - write every sample message as one file per sample
 * into a directory (the fuzz seed corpus tests/fuzz/corpus/proto/).
 * Usage: gen_proto_corpus DIR */
#include <stdio.h>
#include <stdlib.h>

#include "ph_fs.h"
#include "ph_proto.h"
#include "proto_samples.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_proto_corpus DIR\n");
        return 2;
    }
    for (int i = 0; i < proto_sample_count(); i++) {
        ph_msg m;
        ph_err err = { 0 };
        char *buf;
        size_t len;
        char path[4096];
        proto_sample(i, &m);
        if (ph_msg_encode(&m, &buf, &len, &err) != 0) {
            fprintf(stderr, "gen_proto_corpus: %s\n", err.msg);
            return 1;
        }
        if (i == 0 && ph_fs_mkdirs(argv[1], &err) != 0) {
            fprintf(stderr, "gen_proto_corpus: %s\n", err.msg);
            return 1;
        }
        snprintf(path, sizeof path, "%s/%02d-%s.msgpack", argv[1], i, proto_sample_label(i));
        int rc = ph_fs_write_atomic(path, buf, len, 0, &err);
        free(buf);
        if (rc != 0) {
            fprintf(stderr, "gen_proto_corpus: %s\n", err.msg);
            return 1;
        }
    }
    return 0;
}
