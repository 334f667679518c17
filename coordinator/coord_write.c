/* coord_write.c - checking, rendering and writing tables off the event loop.
 *
 * A successful RESULT carries the solved table (about 6 bytes a key), not
 * its files (about 46): the coordinator renders them itself, from the table
 * and the keys it sent.  A worker is not trusted with what lands on disk:
 * the table is rebuilt field by field, its shape checked against the key
 * count (ph_table_check_shape), and every key verified before anything is
 * rendered; a table that fails fails the task.
 *
 * With the job's PH_TABLE_BIN the binary table file NAME/NAME.phc
 * (ph_image.h) is written too, and with PH_TABLE_NO_C instead of the C
 * sources; every file takes the same no-follow, temp + rename path.
 *
 * Verifying, rendering and writing (a directory, then temp + rename per
 * file) cost far more than the rest of handling the message, so the loop
 * hands the whole received frame to a small pool of writer threads through
 * a completion port and goes back to dispatching.
 * Finished writes come back on a second port whose fd sits in the loop's
 * zmq_poll; only the loop thread ever touches jobs, workers or the socket.
 *
 * A write job owns the frame (zmq_msg_t), the decoded RESULT whose table
 * view points into it, and (bulk) the keys bytes the task was sent with:
 * the coordinator keeps them from dispatch on, so no keys file is read twice. */
#include "coord_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ph_emit.h"
#include "ph_fs.h"
#include "ph_image.h"
#include "ph_log.h"
#include "ph_port.h"
#include "ph_solver.h"

/* A received assigned[] and the keys buffers are used as they lie: both are
 * little-endian on the wire and on disk. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "tables and keys are read in place on a little-endian host");

#define COORD_WRITE_QUEUE 1024  /* writes outstanding before the loop writes itself */

struct coord_writer {
    ph_port *todo;              /* loop -> threads */
    ph_port *done;              /* threads -> loop */
    pthread_t *threads;
    unsigned nthreads;
    size_t outstanding;         /* posted to todo, not yet taken back from done */
};

/* The RESULT's header repeats the table's parameters for results.csv: they
 * must agree with the table that is written. */
static int header_matches(const ph_msg_result *r, const ph_table *t, ph_err *err)
{
    const char *field = NULL;
    if (r->keys != t->nkeys)
        field = "keys";
    else if (r->vertices != t->nverts)
        field = "vertices";
    else if (memcmp(r->seeds, t->seeds, sizeof r->seeds) != 0)
        field = "seeds";
    else if (r->table_bytes != ph_table_bytes(t))
        field = "table_bytes";
    else if (!ph_bytes_eq(r->hash, ph_hash_name(t->hash)))
        field = "hash";
    if (field)
        return ph_err_set(err, PH_EPROTO, "RESULT.%s: does not match RESULT.table", field);
    return PH_OK;
}

/* Rebuild a ph_table from the RESULT (its own copy of assigned[]: the view
 * into the frame need not be aligned) and check its shape. */
static int table_from_result(const ph_msg_result *r, unsigned key_size, ph_table *t,
                             ph_err *err)
{
    memset(t, 0, sizeof *t);
    t->key_size = (uint8_t)key_size; /* the job's, not the worker's word */
    if (!r->has_table)
        return ph_err_set(err, PH_EPROTO, "RESULT: success without a table");
    const ph_table_view *v = &r->table;
    t->hash = (ph_hash_kind)v->hash;
    t->compact = v->compact;
    memcpy(t->seeds, v->seeds, sizeof t->seeds);
    t->nkeys = v->nkeys;
    t->nedges = v->nedges;
    t->nverts = v->nverts;
    t->shift = v->shift;
    t->width = (uint8_t)(v->width == 2 || v->width == 4 ? v->width : 0);
    t->attempts = r->attempts;
    t->solve_us = r->solve_us;
    t->verify_us = r->verify_us;
    ph_err why = {0};
    if (ph_table_check_shape(t, &why) != 0 || (uint64_t)v->assigned.n != ph_table_bytes(t))
        return ph_err_set(err, PH_EPROTO, "RESULT.%s", why.msg[0] ? why.msg
                          : "table.assigned: length is not nverts * width");
    int rc = header_matches(r, t, err);
    if (rc)
        return rc;
    if (!(t->assigned = malloc(v->assigned.n)))
        return ph_err_set(err, PH_ENOMEM, "RESULT.table: out of memory for %u bytes",
                          v->assigned.n);
    memcpy(t->assigned, v->assigned.p, v->assigned.n);
    return PH_OK;
}

/* The keys the worker was sent, as uint32s or uint64s: exactly the bytes
 * its table was solved for, so a keys file changed since dispatch cannot
 * mismatch. */
static int write_keys(const coord_wjob *wj, uint32_t nkeys, const void **v, ph_err *err)
{
    unsigned ks = wj->key_size == 8 ? 8 : 4;
    if (wj->keys_len % ks != 0 || wj->keys_len / ks != nkeys)
        return ph_err_set(err, PH_EVERIFY, "%s.keys: %zu bytes were sent, but the table is "
                          "for %u keys of %u bytes", wj->name, wj->keys_len, nkeys, ks);
    *v = wj->keys; /* malloc'd, so aligned */
    return PH_OK;
}

/* NAME.phc: the table, its keys unless index-only, and its starting values
 * (the job's, checked at submission to be one per key; else zeros). */
static int write_image(const coord_wjob *wj, const ph_table *t, const void *keyv,
                       const ph_emit_opts *eo, ph_artifacts *arts, ph_err *err)
{
    ph_image_src img = {.kind = PH_IMAGE_CHM, .chm = t, .keys = eo->index_only ? NULL : keyv,
                        .key_size = wj->key_size == 8 ? 8 : 4,
                        .values = eo->initial_values, .value_size = (uint8_t)eo->values};
    void *zeros = NULL;
    if (eo->values && !img.values && !(img.values = zeros = calloc(t->nkeys, eo->values)))
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory for %u values", wj->name,
                          t->nkeys);
    int rc = ph_image_artifact(&img, wj->name, arts, err);
    free(zeros);
    return rc;
}

int coord_write_table(const coord_wjob *wj, ph_err *err)
{
    const ph_msg_result *r = &wj->msg.u.result;
    ph_table t;
    ph_artifacts arts = {0};
    ph_emit_opts eo;
    ph_emit_opts_init(&eo);
    eo.index_only = (wj->table_flags & PH_TABLE_INDEX_ONLY) != 0;
    eo.values = (wj->table_flags & PH_TABLE_VALUES64)   ? 8
                : (wj->table_flags & PH_TABLE_VALUES32) ? 4
                                                        : 0;
    eo.initial_values = wj->values; /* little-endian on the wire, read in place */
    const void *keyv = NULL;
    int rc = table_from_result(r, wj->key_size == 8 ? 8 : 4, &t, err);
    if (!rc)
        rc = write_keys(wj, t.nkeys, &keyv, err);
    if (!rc) {
        ph_err why = {0};
        if ((t.key_size == 8 ? ph_table_verify64(&t, keyv, t.nkeys, &why)
                             : ph_table_verify(&t, keyv, t.nkeys, &why)) != 0)
            rc = ph_err_set(err, PH_EVERIFY, "%s.keys: the worker's table fails "
                            "verification: %s", wj->name, why.msg);
    }
    if (!rc && !(wj->table_flags & PH_TABLE_NO_C))
        rc = ph_emit_render_opts(&t, keyv, wj->name, &eo, &arts, err);
    if (!rc && (wj->table_flags & PH_TABLE_BIN))
        rc = write_image(wj, &t, keyv, &eo, &arts, err);
    if (!rc)
        rc = ph_artifacts_write(&arts, wj->out_dir, err);
    ph_artifacts_free(&arts);
    ph_table_free(&t);
    return rc;
}

/* ---- the pool ---------------------------------------------------------- */

static void *writer_main(void *arg)
{
    coord_writer *wr = arg;
    pthread_setname_np(pthread_self(), "ph-write");
    ph_packet p;
    while (ph_port_get(wr->todo, &p, -1) == 0) {
        coord_wjob *wj = p.data;
        wj->status = wj->run ? wj->run(wj) : coord_write_table(wj, &wj->err);
        /* done holds more than todo ever has outstanding: never blocks long. */
        if (ph_port_post(wr->done, &p, -1) != 0)
            coord_wjob_free(wj);
    }
    return NULL;
}

int coord_writer_start(unsigned nthreads, coord_writer **out, ph_err *err)
{
    *out = NULL;
    coord_writer *wr = calloc(1, sizeof *wr);
    if (!wr)
        return ph_err_set(err, PH_ENOMEM, "writer pool: out of memory");
    int rc = ph_port_create(COORD_WRITE_QUEUE, &wr->todo, err);
    if (!rc)
        rc = ph_port_create(2 * COORD_WRITE_QUEUE + nthreads, &wr->done, err);
    if (!rc && nthreads && !(wr->threads = calloc(nthreads, sizeof *wr->threads)))
        rc = ph_err_set(err, PH_ENOMEM, "writer pool: out of memory");
    for (unsigned i = 0; !rc && i < nthreads; i++) {
        if (pthread_create(&wr->threads[i], NULL, writer_main, wr) != 0)
            rc = ph_err_set(err, PH_EIO, "writer pool: cannot start thread %u", i);
        else
            wr->nthreads++;
    }
    if (rc) {
        coord_writer_stop(wr);
        return rc;
    }
    *out = wr;
    return PH_OK;
}

int coord_writer_fd(const coord_writer *wr) { return ph_port_fd(wr->done); }

bool coord_writer_submit(coord_writer *wr, coord_wjob *wj)
{
    if (!wr || wr->nthreads == 0 || wr->outstanding >= COORD_WRITE_QUEUE)
        return false;
    ph_packet p = {.key = wj->task_id, .data = wj};
    if (ph_port_post(wr->todo, &p, 0) != 0)
        return false;
    wr->outstanding++;
    return true;
}

coord_wjob *coord_writer_take(coord_writer *wr)
{
    ph_packet p;
    if (!wr || ph_port_get(wr->done, &p, 0) != 0)
        return NULL;
    wr->outstanding--;
    return p.data;
}

void coord_writer_stop(coord_writer *wr)
{
    if (!wr)
        return;
    if (wr->todo)
        ph_port_close(wr->todo);
    for (unsigned i = 0; i < wr->nthreads; i++)
        pthread_join(wr->threads[i], NULL);
    /* Writes still queued or finished but not taken: the jobs they belong
     * to are abandoned with the coordinator. */
    ph_packet p;
    while (wr->todo && ph_port_get(wr->todo, &p, 0) == 0)
        coord_wjob_free(p.data);
    while (wr->done && ph_port_get(wr->done, &p, 0) == 0)
        coord_wjob_free(p.data);
    if (wr->todo)
        ph_port_destroy(wr->todo);
    if (wr->done)
        ph_port_destroy(wr->done);
    free(wr->threads);
    free(wr);
}

void coord_wjob_free(coord_wjob *wj)
{
    if (!wj)
        return;
    ph_msg_free(&wj->msg);
    zmq_msg_close(&wj->frame);
    free(wj->keys_owned);
    free(wj);
}
