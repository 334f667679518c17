/* ph_solver.h - order-preserving minimal perfect hashing (CHM).
 *
 * Each key i becomes an edge (u, v) of a bipartite graph of nverts vertices
 * (u in the lower half, v in the upper; ph_hash.h has the exact formulas).
 * If the graph is acyclic, vertex values A[] can be assigned so that
 *     (A[h1(k)] + A[h2(k)]) mod nedges == i      for every key i.
 * Seeds are drawn until the graph is acyclic; the hash family escalates from
 * cheap to strongly mixed when attempts pile up. */
#ifndef PH_SOLVER_H
#define PH_SOLVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ph_err.h"

typedef enum ph_hash_kind {
    PH_HASH_MULSHIFT = 0, /* h = (k * s) >> shift: two multiplies, cheapest Index */
    PH_HASH_MULROT = 1,   /* h = (rotr(k * s1, r) * s2) >> shift */
    PH_HASH_MIX = 2,      /* seeded multiply-xorshift finalizer, strongly mixed */
    PH_HASH_AUTO = 3,     /* escalate mulshift -> mulrot -> mix, fewer cheap tries
                             for larger sets (solve option only; ph_solve.c) */
} ph_hash_kind;

/* "mulshift", "mulrot", "mix", "auto" <-> kind.  Returns -1 if unknown. */
int ph_hash_parse(const char *name);
const char *ph_hash_name(ph_hash_kind kind);

typedef struct ph_solve_opts {
    ph_hash_kind hash;      /* default PH_HASH_AUTO */
    bool compact;           /* non-power-of-two vertices, smaller table */
    unsigned threads;       /* parallel attempts; 0 = 1; small sets use 1 */
    uint64_t seed;          /* start seed: same seed + keys => same table */
    uint64_t max_attempts;  /* 0 = default: 10,000 (auto, mix); 1,000 for a forced
                               mulshift/mulrot, which can fail forever on
                               structured keys (PH_ESOLVE says so) */
    const atomic_int *cancel; /* optional: non-zero stops the solve (PH_ETIMEOUT);
                                 set from any thread */
    /* Optional: advanced (relaxed) once per attempt tried, on any thread,
     * and once each when the table is assigned and verified, so a watcher
     * can tell a working solve from a stuck one. */
    _Atomic uint64_t *progress;
    /* Optional executor for the extra attempt threads of a parallel solve:
     * exec_post(exec_ctx, fn, arg) must run fn(arg) once on some thread,
     * soon and never dropped (a worker passes its NUMA node's queue, so the
     * attempts run on that node's pinned threads).  NULL: the solver starts
     * its own threads. */
    void (*exec_post)(void *ctx, void (*fn)(void *arg), void *arg);
    void *exec_ctx;
} ph_solve_opts;

void ph_solve_opts_init(ph_solve_opts *o);

typedef struct ph_table {
    ph_hash_kind hash;      /* the family actually used (never AUTO) */
    bool compact;
    uint32_t seeds[4];      /* hash parameters; meaning depends on hash */
    uint32_t nkeys;
    uint32_t nedges;        /* index modulus: pow2 mode 2^k >= nkeys, compact nkeys */
    uint32_t nverts;        /* size of assigned[] */
    uint32_t shift;         /* pow2 mode: 32 - log2(nverts / 2); see ph_hash.h */
    uint8_t width;          /* bytes per assigned element: 2 or 4 */
    uint8_t key_size;       /* 8: 64-bit keys, hashed with ph_hash_key64 (hash is
                               then always MIX); 4 or 0: 32-bit keys */
    void *assigned;         /* owned: nverts elements of width bytes */
    uint64_t attempts;      /* graphs tried, all threads */
    uint64_t solve_us;
    uint64_t verify_us;
} ph_table;

/* Solve keys[0..n) (n >= 1, unique).  On success *out owns its memory and
 * has been verified against every key. */
int ph_solve(const uint32_t *keys, uint32_t n, const ph_solve_opts *opts, ph_table *out,
             ph_err *err);

/* The same for 64-bit keys: the table gets key_size 8 and hash MIX (the
 * 64-bit mix of ph_hash_key64); opts->hash must be AUTO or MIX (the cheap
 * families are 32-bit: PH_EINVAL says so). */
int ph_solve64(const uint64_t *keys, uint32_t n, const ph_solve_opts *opts, ph_table *out,
               ph_err *err);

/* The two vertices of key under t (exposed for tests and the emitter). */
void ph_table_vertices(const ph_table *t, uint32_t key, uint32_t *u, uint32_t *v);
void ph_table_vertices64(const ph_table *t, uint64_t key, uint32_t *u, uint32_t *v);

/* Index of key (meaningful only for keys in the set).  ph_table_index64
 * hashes all 64 bits on a 64-bit table and the low 32 on a 32-bit one. */
uint32_t ph_table_index(const ph_table *t, uint32_t key);
uint32_t ph_table_index64(const ph_table *t, uint64_t key);

/* Check Index(keys[i]) == i for all i; PH_EVERIFY names the first bad key. */
int ph_table_verify(const ph_table *t, const uint32_t *keys, uint32_t n, ph_err *err);
int ph_table_verify64(const ph_table *t, const uint64_t *keys, uint32_t n, ph_err *err);

/* Check that t's shape is one ph_solve produces: a known family (not
 * AUTO), nkeys >= 1, and nedges, nverts, shift and width exactly as sized
 * for nkeys in t's mode.  A table from elsewhere (the network) that passes
 * indexes inside assigned[] for any key; PH_EINVAL names the field. */
int ph_table_check_shape(const ph_table *t, ph_err *err);

/* Bytes of the table data (assigned array). */
uint64_t ph_table_bytes(const ph_table *t);
/* The same for the table ph_solve would build for n keys in that mode,
 * known before any solving (0 when n keys cannot make one table). */
uint64_t ph_table_bytes_for(uint32_t n, bool compact);

void ph_table_free(ph_table *t);

#endif
