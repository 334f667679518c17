/* ph_solve.c - CHM: find an acyclic 2-graph, assign vertex values, verify.
 *
 * One attempt hashes every key to an edge (u, v), builds per-vertex degree
 * and XOR-of-incident-edge-ids, and peels degree-1 vertices.  The graph is
 * acyclic exactly when every edge peels.  Values are then assigned in reverse
 * peel order so that each key's two values sum to its position.
 *
 * Attempts are numbered; attempt a's seeds and hash family depend only on
 * (start seed, a).  Threads take attempt numbers from a shared counter and
 * the table kept is the lowest-numbered acyclic attempt, so the result is
 * the same whatever the thread count or scheduling. */
#include "ph_solver.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ph_keys.h"
#include "ph_hash.h"
#include "ph_solve_int.h"
#include "ph_time.h"

#define SOLVE_MAX_KEYS (1u << 30)       /* and pow2 vertices <= 2^31: see size_fits */
#define SOLVE_PARALLEL_MIN 16384u       /* below this one thread is faster */
/* Default attempt budgets.  Strong mixing needs ~1.5 attempts on average, so
 * 10,000 failures mean something is wrong with the input.  A forced cheap
 * family can fail forever on structured keys (arithmetic runs make lattice
 * cycles), so it gives up sooner with a hint. */
#define SOLVE_DEFAULT_ATTEMPTS 10000u
#define SOLVE_DEFAULT_ATTEMPTS_CHEAP 1000u
/* Duplicate keys make every graph cyclic.  Callers promise unique keys, but
 * after this many failed attempts (rare for unique keys) they are checked
 * once, so a broken promise ends in PH_EDUP instead of a million attempts. */
#define SOLVE_DUP_CHECK_AT 32u
/* AUTO escalation by attempt number: cheap hashes get a fair chance, then
 * structured key sets move on to strong mixing (an acyclic graph within ~1.5
 * attempts on average).  A failed attempt costs time in proportion to n, and
 * cheap hashes rarely win on large real sets: on sys32 a first mulshift
 * attempt solved 92 of 588 files of 2k-4k keys, 20 of 389 of 4k-16k and
 * none of 54 above 16k (RVA-like keys form lattice cycles).  Above 16k keys
 * the table is also too big for L1/L2, so a lookup is dominated by its two
 * memory reads and the cheaper hash buys little: start with mix there. */
#define AUTO_SMALL_KEYS 2048u
#define AUTO_LARGE_KEYS 16384u
#define AUTO_CHEAP_TRIES_SMALL 2u  /* per cheap family */
#define AUTO_CHEAP_TRIES_MEDIUM 1u

void ph_solve_opts_init(ph_solve_opts *o)
{
    memset(o, 0, sizeof *o);
    o->hash = PH_HASH_AUTO;
    o->threads = 1;
}

/* ---- sizing ---------------------------------------------------------- */

static uint64_t next_pow2(uint64_t x)
{
    uint64_t p = 1;
    while (p < x)
        p <<= 1;
    return p;
}

static uint32_t log2_u64(uint64_t p)
{
    uint32_t k = 0;
    while ((1ull << k) < p)
        k++;
    return k;
}

/* Vertices per key: CMPH's c = 2.09 keeps P(acyclic) near 0.2 at worst. */
static uint64_t min_vertices(uint32_t n)
{
    return ((uint64_t)n * 209 + 99) / 100;
}

/* Whether n keys fit one table: at most 2^30, and in power-of-two mode the
 * vertex count (the next power of two above 2.09 n) must stay <= 2^31, i.e.
 * n <= ~1.03e9; above that it would wrap to 0. */
static bool size_fits(uint32_t n, bool compact)
{
    return n <= SOLVE_MAX_KEYS && (compact || min_vertices(n) <= (1ull << 31));
}

static void size_table(ph_table *t, uint32_t n, bool compact)
{
    t->nkeys = n;
    t->compact = compact;
    if (compact) {
        uint64_t v = min_vertices(n);
        t->nverts = (uint32_t)(v < 4 ? 4 : v);
        t->nedges = n;
        t->shift = 0;
        t->width = n <= 65536 ? 2 : 4;
    } else {
        uint64_t v = next_pow2(min_vertices(n) < 16 ? 16 : min_vertices(n));
        t->nverts = (uint32_t)v;
        t->nedges = (uint32_t)next_pow2(n < 8 ? 8 : n);
        t->shift = 32 - log2_u64(v / 2);
        t->width = t->nedges <= 65536 ? 2 : 4;
    }
}

/* ---- seeds ----------------------------------------------------------- */

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

ph_hash_kind ph_solve_kind_for_attempt(ph_hash_kind requested, uint32_t n, uint64_t attempt)
{
    if (requested != PH_HASH_AUTO)
        return requested;
    uint64_t tries = n <= AUTO_SMALL_KEYS   ? AUTO_CHEAP_TRIES_SMALL
                     : n <= AUTO_LARGE_KEYS ? AUTO_CHEAP_TRIES_MEDIUM
                                            : 0;
    if (attempt < tries)
        return PH_HASH_MULSHIFT;
    if (attempt < 2 * tries)
        return PH_HASH_MULROT;
    return PH_HASH_MIX;
}

/* Counter-based: seeds of attempt a are a pure function of (seed, a). */
void ph_solve_seeds_for_attempt(ph_hash_kind kind, uint64_t seed, uint64_t attempt,
                                uint32_t s[4])
{
    uint64_t a = splitmix64(seed ^ splitmix64(attempt * 2));
    uint64_t b = splitmix64(seed ^ splitmix64(attempt * 2 + 1));
    s[0] = (uint32_t)a | 1;
    s[1] = (uint32_t)(a >> 32) | 1;
    s[2] = (uint32_t)b | 1;
    s[3] = (uint32_t)(b >> 32);
    if (kind == PH_HASH_MULROT)
        s[3] = 1 + s[3] % 31;
    else if (kind == PH_HASH_MIX)
        s[3] |= 1; /* low half of the odd 64-bit multiplier */
    else if (kind == PH_HASH_MULSHIFT)
        s[2] = s[3] = 0;
}

/* ---- one attempt ----------------------------------------------------- */

typedef struct vertex {
    uint32_t deg;
    uint32_t xr;   /* XOR of the ids of incident, not yet peeled edges */
} vertex;

typedef struct graph {
    void *block;              /* owns everything below */
    uint32_t *eu, *ev;        /* n: the two vertices of each edge (after
                                 graph_peel, ev[e] holds eu[e] ^ ev[e]) */
    vertex *vx;               /* nverts */
    uint32_t *peel_e, *peel_v;/* n: edge and its free vertex, in peel order */
} graph;

/* One block per graph.  Large blocks ask for transparent huge pages: first
 * touch of 4 KiB pages (zeroing + a fault each) otherwise costs more than the
 * search itself for a million vertices. */
#define HUGE_PAGE (2u << 20)

static void *big_alloc(size_t bytes)
{
    if (bytes < HUGE_PAGE)
        return malloc(bytes);
    size_t rounded = (bytes + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
    void *p = aligned_alloc(HUGE_PAGE, rounded);
#ifdef MADV_HUGEPAGE
    if (p)
        (void)madvise(p, rounded, MADV_HUGEPAGE); /* advice only: fine if refused */
#endif
    return p;
}

static void graph_free(graph *g)
{
    free(g->block);
    memset(g, 0, sizeof *g);
}

static int graph_alloc(graph *g, const ph_table *t)
{
    size_t n = t->nkeys;
    memset(g, 0, sizeof *g);
    g->block = big_alloc((size_t)t->nverts * sizeof *g->vx + n * 4 * sizeof(uint32_t));
    if (!g->block)
        return PH_ENOMEM;
    g->vx = g->block;
    g->eu = (uint32_t *)(g->vx + t->nverts);
    g->ev = g->eu + n;
    g->peel_e = g->ev + n;
    g->peel_v = g->peel_e + n;
    return PH_OK;
}

/* Hash all keys to edges (never self-loops: the graph is bipartite). */
static bool graph_hash(const ph_table *t, const void *keys, graph *g)
{
    uint32_t n = t->nkeys;
    if (t->key_size == 8) {
        const uint64_t *k64 = keys;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t h1, h2;
            ph_hash_key64(t->seeds, k64[i], &h1, &h2);
            g->eu[i] = ph_vertex_u(h1, t->compact, t->shift, t->nverts);
            g->ev[i] = ph_vertex_v(h2, t->compact, t->shift, t->nverts);
        }
        return true;
    }
    const uint32_t *keyv = keys;
    if (!t->compact && t->hash == PH_HASH_MULSHIFT && ph_simd_avx2())
        return ph_hash_mulshift_avx2(keyv, n, t->seeds, t->shift, t->nverts / 2, g->eu, g->ev);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t h1, h2;
        ph_hash_pair(t->hash, t->seeds, keyv[i], &h1, &h2);
        g->eu[i] = ph_vertex_u(h1, t->compact, t->shift, t->nverts);
        g->ev[i] = ph_vertex_v(h2, t->compact, t->shift, t->nverts);
    }
    return true;
}

/* Peel without a queue: scan vertices in order; when peeling frees a vertex
 * already scanned, follow the chain at once, otherwise the scan reaches it. */
static uint32_t graph_peel(const ph_table *t, graph *g)
{
    /* restrict locals: the stores into vx[] would otherwise make the
     * compiler reload every array pointer on each step. */
    const uint32_t n = t->nkeys, nv = t->nverts;
    vertex *restrict vx = g->vx;
    const uint32_t *restrict eu = g->eu;
    uint32_t *restrict ev = g->ev;
    uint32_t *restrict pe = g->peel_e, *restrict pv = g->peel_v;
    uint32_t done = 0;
    memset(vx, 0, (size_t)nv * sizeof *vx);
    /* Vertices are random: prefetching a few edges ahead keeps several cache
     * misses in flight on graphs larger than L2.  From here on ev[e] holds
     * eu[e] ^ ev[e]: one load then gives the other end of an edge. */
    for (uint32_t e = 0; e < n; e++) {
        if (e + 16 < n) {
            __builtin_prefetch(&vx[eu[e + 16]], 1);
            __builtin_prefetch(&vx[ev[e + 16]], 1);
        }
        uint32_t a = eu[e], b = ev[e];
        vx[a].deg++;
        vx[a].xr ^= e;
        vx[b].deg++;
        vx[b].xr ^= e;
        ev[e] = a ^ b;
    }
    for (uint32_t v = 0; v < nv; v++) {
        uint32_t u = v;
        while (vx[u].deg == 1) {
            uint32_t e = vx[u].xr;
            uint32_t w = ev[e] ^ u;
            pe[done] = e;
            pv[done] = u;
            done++;
            vx[u].deg = 0;
            vx[w].deg--;
            vx[w].xr ^= e;
            if (w > v)
                break;
            u = w;
        }
    }
    return done;
}

/* Reverse peel order: when edge e is assigned from its free vertex v, every
 * other edge of v comes later (v was their fixed end), and the value of the
 * other end w is already final. */
static void graph_assign(const ph_table *t, const graph *g, uint32_t *a)
{
    uint32_t n = t->nkeys, m = t->nedges;
    memset(a, 0, (size_t)t->nverts * sizeof *a);
    for (uint32_t k = n; k-- > 0;) {
        uint32_t e = g->peel_e[k], v = g->peel_v[k];
        uint32_t w = g->ev[e] ^ v; /* ev holds eu ^ ev after graph_peel */
        if (t->compact)
            a[v] = a[w] <= e ? e - a[w] : e + m - a[w];
        else
            a[v] = (e - a[w]) & (m - 1);
    }
}

static bool attempt_acyclic(ph_table *t, const void *keys, graph *g)
{
    return graph_hash(t, keys, g) && graph_peel(t, g) == t->nkeys;
}

/* Duplicates of either key size, checked without reordering. */
static int keys_unique(const void *keys, unsigned ksize, uint32_t n, ph_err *err)
{
    return ksize == 8 ? ph_keys_check_unique64(keys, n, "keys", err)
                      : ph_keys_check_unique(keys, n, "keys", err);
}

/* ---- the search, on one or more threads ------------------------------ */

typedef struct search {
    const void *keys;          /* nkeys keys of shape->key_size bytes */
    const ph_table *shape;     /* sizing only */
    ph_hash_kind requested;
    uint64_t seed, max_attempts;
    const atomic_int *cancel;
    _Atomic uint64_t *progress; /* the caller's watchdog counter, or NULL */
    _Atomic uint64_t next;     /* next attempt number to try */
    _Atomic uint64_t best;     /* lowest acyclic attempt so far */
    _Atomic uint64_t tried;
    _Atomic int duplicate;     /* set by the duplicate check */
} search;

typedef struct searcher {
    search *s;
    graph g;
    ph_table t;                /* shape + the seeds of its success */
    uint64_t found;            /* attempt number, UINT64_MAX if none */
    int rc;
} searcher;

static void progress_step(_Atomic uint64_t *p)
{
    if (p)
        atomic_fetch_add_explicit(p, 1, memory_order_relaxed);
}

static void best_lower(search *s, uint64_t a)
{
    uint64_t cur = atomic_load(&s->best);
    while (a < cur && !atomic_compare_exchange_weak(&s->best, &cur, a))
        ;
}

static void *searcher_run(void *arg)
{
    searcher *w = arg;
    search *s = w->s;
    w->found = UINT64_MAX;
    for (;;) {
        if (s->cancel && atomic_load_explicit(s->cancel, memory_order_relaxed))
            break;
        uint64_t a = atomic_fetch_add(&s->next, 1);
        if (a >= s->max_attempts || a > atomic_load(&s->best) || atomic_load(&s->duplicate))
            break;
        if (a == SOLVE_DUP_CHECK_AT &&
            keys_unique(s->keys, w->t.key_size, w->t.nkeys, NULL) == PH_EDUP) {
            atomic_store(&s->duplicate, 1);
            break;
        }
        w->t.hash = ph_solve_kind_for_attempt(s->requested, w->t.nkeys, a);
        ph_solve_seeds_for_attempt(w->t.hash, s->seed, a, w->t.seeds);
        atomic_fetch_add(&s->tried, 1);
        progress_step(s->progress);
        if (attempt_acyclic(&w->t, s->keys, &w->g)) {
            w->found = a;
            best_lower(s, a);
            break;
        }
    }
    return NULL;
}

static unsigned solve_threads(const ph_solve_opts *o, uint32_t n)
{
    unsigned t = o->threads ? o->threads : 1;
    if (n < SOLVE_PARALLEL_MIN)
        return 1;
    return t > 64 ? 64 : t;
}

static int searchers_init(searcher *w, unsigned nt, search *s, const ph_table *shape)
{
    for (unsigned i = 0; i < nt; i++) {
        w[i].s = s;
        w[i].t = *shape;
        w[i].found = UINT64_MAX;
        if (graph_alloc(&w[i].g, shape))
            return PH_ENOMEM;
    }
    return PH_OK;
}

/* Helpers through an outside executor (a worker's node queue).  The caller
 * may itself be one of the executor's threads, and all of them may be busy
 * with solves of their own: a caller that waited for helpers that never get
 * a thread would deadlock.  So a helper must claim its slot before it runs;
 * once the caller's own search is over it takes back every slot not yet
 * claimed (those helpers would only have seen the search end) and waits just
 * for the ones that are running.  The group is reference counted because a
 * taken-back helper still runs later and must find live memory. */
enum { SLOT_POSTED = 0, SLOT_RUNNING, SLOT_TAKEN_BACK, SLOT_DONE };

typedef struct exec_group {
    _Atomic unsigned refs;          /* the caller + one per posted ticket */
    _Atomic int slot[64];
    searcher *w;                    /* valid while a slot can be RUNNING */
    pthread_mutex_t lock;
    pthread_cond_t cond;
} exec_group;

typedef struct exec_ticket {
    exec_group *g;
    unsigned idx;
} exec_ticket;

static void group_unref(exec_group *g)
{
    if (atomic_fetch_sub(&g->refs, 1) != 1)
        return;
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

static void searcher_helper(void *arg)
{
    exec_ticket *t = arg;
    exec_group *g = t->g;
    int expect = SLOT_POSTED;
    if (atomic_compare_exchange_strong(&g->slot[t->idx], &expect, SLOT_RUNNING)) {
        searcher_run(&g->w[t->idx]);
        pthread_mutex_lock(&g->lock);
        atomic_store(&g->slot[t->idx], SLOT_DONE);
        pthread_cond_signal(&g->cond);
        pthread_mutex_unlock(&g->lock);
    }
    free(t);
    group_unref(g);
}

static bool group_busy(exec_group *g, unsigned nt)
{
    for (unsigned i = 1; i < nt; i++)
        if (atomic_load(&g->slot[i]) == SLOT_RUNNING)
            return true;
    return false;
}

static int search_run_exec(searcher *w, unsigned nt, const ph_solve_opts *o)
{
    exec_group *g = calloc(1, sizeof *g);
    if (!g)
        return PH_ENOMEM;
    atomic_init(&g->refs, 1);
    g->w = w;
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    for (unsigned i = 1; i < nt; i++) {
        exec_ticket *t = malloc(sizeof *t);
        atomic_init(&g->slot[i], t ? SLOT_POSTED : SLOT_TAKEN_BACK);
        if (!t)
            continue; /* fewer helpers is still correct */
        *t = (exec_ticket){g, i};
        atomic_fetch_add(&g->refs, 1);
        o->exec_post(o->exec_ctx, searcher_helper, t);
    }
    searcher_run(&w[0]);
    for (unsigned i = 1; i < nt; i++) {
        int expect = SLOT_POSTED;
        atomic_compare_exchange_strong(&g->slot[i], &expect, SLOT_TAKEN_BACK);
    }
    pthread_mutex_lock(&g->lock);
    while (group_busy(g, nt))
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
    group_unref(g);
    return PH_OK;
}

static void search_run_threads(searcher *w, unsigned nt)
{
    pthread_t tid[64];
    unsigned started = 1;
    for (unsigned i = 1; i < nt; i++, started++)
        if (pthread_create(&tid[i], NULL, searcher_run, &w[i]))
            break;  /* fewer threads is still correct */
    searcher_run(&w[0]);
    for (unsigned i = 1; i < started; i++)
        pthread_join(tid[i], NULL);
}

/* Run the search; returns the index of the winning searcher or -1. */
static int search_run(searcher *w, unsigned nt, const ph_solve_opts *o)
{
    if (nt == 1 || !o->exec_post || search_run_exec(w, nt, o) != PH_OK)
        search_run_threads(w, nt);
    int win = -1;
    for (unsigned i = 0; i < nt; i++)
        if (w[i].found != UINT64_MAX && (win < 0 || w[i].found < w[win].found))
            win = (int)i;
    return win;
}

static int table_finish(ph_table *out, const searcher *win, ph_err *err)
{
    ph_table *t = out;
    *t = win->t;
    uint32_t *a = big_alloc((size_t)t->nverts * sizeof *a);
    if (!a)
        return ph_err_set(err, PH_ENOMEM, "out of memory for %u vertex values", t->nverts);
    graph_assign(t, &win->g, a);
    if (t->width == 4) {
        t->assigned = a;
        return PH_OK;
    }
    uint16_t *a16 = malloc((size_t)t->nverts * sizeof *a16);
    if (a16)
        for (uint32_t i = 0; i < t->nverts; i++)
            a16[i] = (uint16_t)a[i];
    free(a);
    t->assigned = a16;
    return a16 ? PH_OK : ph_err_set(err, PH_ENOMEM, "out of memory for %u vertex values",
                                    t->nverts);
}

static int solve_checks(const void *keyv, uint32_t n, const ph_solve_opts *o, ph_err *err)
{
    if (!keyv || n == 0)
        return ph_err_set(err, PH_EINVAL, "no keys to solve");
    if (!size_fits(n, o->compact))
        return ph_err_set(err, PH_EINVAL, "%u keys: too many for one %s table (vertex count "
                          "beyond 32 bits)", n, o->compact ? "compact" : "power-of-two");
    if ((unsigned)o->hash > PH_HASH_AUTO)
        return ph_err_set(err, PH_EINVAL, "unknown hash kind %d", (int)o->hash);
    return PH_OK;
}

static uint64_t default_attempts(ph_hash_kind hash)
{
    return hash == PH_HASH_MULSHIFT || hash == PH_HASH_MULROT ? SOLVE_DEFAULT_ATTEMPTS_CHEAP
                                                              : SOLVE_DEFAULT_ATTEMPTS;
}

static int search_outcome(search *s, ph_err *err)
{
    if (atomic_load(&s->duplicate)) {
        ph_err dup;
        keys_unique(s->keys, s->shape->key_size, s->shape->nkeys, &dup);
        return ph_err_set(err, PH_EDUP, "%s", dup.msg);
    }
    if (s->cancel && atomic_load_explicit(s->cancel, memory_order_relaxed))
        return ph_err_set(err, PH_ETIMEOUT, "solve cancelled after %llu attempts",
                          (unsigned long long)atomic_load(&s->tried));
    if (s->requested == PH_HASH_MULSHIFT || s->requested == PH_HASH_MULROT)
        return ph_err_set(err, PH_ESOLVE,
                          "no acyclic graph in %llu attempts with hash %s "
                          "(structured keys: try --hash auto or mix)",
                          (unsigned long long)atomic_load(&s->tried),
                          ph_hash_name(s->requested));
    return ph_err_set(err, PH_ESOLVE, "no acyclic graph in %llu attempts",
                      (unsigned long long)atomic_load(&s->tried));
}

static int table_verify_any(const ph_table *t, const void *keyv, uint32_t n, ph_err *err)
{
    return t->key_size == 8 ? ph_table_verify64(t, keyv, n, err)
                            : ph_table_verify(t, keyv, n, err);
}

/* The solve of either key size: keyv holds n keys of ksize bytes. */
static int solve_any(const void *keyv, unsigned ksize, uint32_t n, const ph_solve_opts *opts,
                     ph_table *out, ph_err *err)
{
    ph_solve_opts defaults;
    if (!opts) {
        ph_solve_opts_init(&defaults);
        opts = &defaults;
    }
    memset(out, 0, sizeof *out);
    int rc = solve_checks(keyv, n, opts, err);
    if (rc)
        return rc;
    ph_hash_kind requested = opts->hash;
    if (ksize == 8) {
        if (requested != PH_HASH_AUTO && requested != PH_HASH_MIX)
            return ph_err_set(err, PH_EINVAL, "hash %s works on 32-bit keys; 64-bit keys "
                              "use mix (or auto)", ph_hash_name(requested));
        requested = PH_HASH_MIX;
    }
    uint64_t t0 = ph_time_us();
    ph_table shape = {0};
    size_table(&shape, n, opts->compact);
    shape.key_size = (uint8_t)ksize;
    search s = {.keys = keyv, .shape = &shape, .requested = requested, .seed = opts->seed,
                .max_attempts = opts->max_attempts ? opts->max_attempts
                                                   : default_attempts(requested),
                .cancel = opts->cancel, .progress = opts->progress};
    atomic_init(&s.next, 0);
    atomic_init(&s.best, UINT64_MAX);
    atomic_init(&s.tried, 0);
    atomic_init(&s.duplicate, 0);

    unsigned nt = solve_threads(opts, n);
    searcher *w = calloc(nt, sizeof *w);
    if (!w || searchers_init(w, nt, &s, &shape)) {
        rc = ph_err_set(err, PH_ENOMEM, "out of memory for a graph of %u keys", n);
    } else {
        int win = search_run(w, nt, opts);
        rc = win < 0 ? search_outcome(&s, err) : table_finish(out, &w[win], err);
    }
    for (unsigned i = 0; w && i < nt; i++)
        graph_free(&w[i].g);
    free(w);
    if (rc)
        return rc;
    out->attempts = atomic_load(&s.tried);
    out->solve_us = ph_time_us() - t0;
    progress_step(opts->progress);
    uint64_t t1 = ph_time_us();
    rc = table_verify_any(out, keyv, n, err);
    out->verify_us = ph_time_us() - t1;
    progress_step(opts->progress);
    if (rc)
        ph_table_free(out);
    return rc;
}

int ph_solve(const uint32_t *keyv, uint32_t n, const ph_solve_opts *opts, ph_table *out,
             ph_err *err)
{
    return solve_any(keyv, 4, n, opts, out, err);
}

int ph_solve64(const uint64_t *keyv, uint32_t n, const ph_solve_opts *opts, ph_table *out,
               ph_err *err)
{
    return solve_any(keyv, 8, n, opts, out, err);
}

/* ---- lookups --------------------------------------------------------- */

void ph_table_vertices64(const ph_table *t, uint64_t key, uint32_t *u, uint32_t *v)
{
    uint32_t h1, h2;
    ph_hash_pair_sized(t->hash, t->key_size, t->seeds, key, &h1, &h2);
    *u = ph_vertex_u(h1, t->compact, t->shift, t->nverts);
    *v = ph_vertex_v(h2, t->compact, t->shift, t->nverts);
}

void ph_table_vertices(const ph_table *t, uint32_t key, uint32_t *u, uint32_t *v)
{
    ph_table_vertices64(t, key, u, v);
}

static uint32_t table_value(const ph_table *t, uint32_t vtx)
{
    return t->width == 2 ? ((const uint16_t *)t->assigned)[vtx]
                         : ((const uint32_t *)t->assigned)[vtx];
}

uint32_t ph_table_index(const ph_table *t, uint32_t key)
{
    return ph_table_index64(t, key);
}

uint32_t ph_table_index64(const ph_table *t, uint64_t key)
{
    uint32_t u, v;
    ph_table_vertices64(t, key, &u, &v);
    uint32_t s = table_value(t, u) + table_value(t, v);
    if (t->compact)
        return s >= t->nedges ? s - t->nedges : s;
    return s & (t->nedges - 1);
}

int ph_table_verify(const ph_table *t, const uint32_t *keyv, uint32_t n, ph_err *err)
{
    if (!t->assigned || t->nkeys != n)
        return ph_err_set(err, PH_EVERIFY, "table is for %u keys, not %u", t->nkeys, n);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t got = ph_table_index(t, keyv[i]);
        if (got != i)
            return ph_err_set(err, PH_EVERIFY, "key 0x%08x at position %u maps to index %u",
                              keyv[i], i, got);
    }
    return PH_OK;
}

int ph_table_verify64(const ph_table *t, const uint64_t *keyv, uint32_t n, ph_err *err)
{
    if (!t->assigned || t->nkeys != n)
        return ph_err_set(err, PH_EVERIFY, "table is for %u keys, not %u", t->nkeys, n);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t got = ph_table_index64(t, keyv[i]);
        if (got != i)
            return ph_err_set(err, PH_EVERIFY, "key 0x%016llx at position %u maps to index %u",
                              (unsigned long long)keyv[i], i, got);
    }
    return PH_OK;
}

int ph_table_check_shape(const ph_table *t, ph_err *err)
{
    if ((unsigned)t->hash >= (unsigned)PH_HASH_AUTO)
        return ph_err_set(err, PH_EINVAL, "table.hash: unknown family %u", (unsigned)t->hash);
    if (t->key_size != 0 && t->key_size != 4 && t->key_size != 8)
        return ph_err_set(err, PH_EINVAL, "table.key_size: %u, not 4 or 8", t->key_size);
    if (t->key_size == 8 && t->hash != PH_HASH_MIX)
        return ph_err_set(err, PH_EINVAL, "table.hash: %s, but 64-bit keys use mix",
                          ph_hash_name(t->hash));
    if (t->nkeys == 0)
        return ph_err_set(err, PH_EINVAL, "table.nkeys: 0");
    if (!size_fits(t->nkeys, t->compact))
        return ph_err_set(err, PH_EINVAL, "table.nkeys: %u, too many for one table", t->nkeys);
    ph_table want = {0};
    size_table(&want, t->nkeys, t->compact);
    const struct { const char *name; uint32_t got, want; } f[] = {
        {"nedges", t->nedges, want.nedges},
        {"nverts", t->nverts, want.nverts},
        {"shift", t->shift, want.shift},
        {"width", t->width, want.width},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].got != f[i].want)
            return ph_err_set(err, PH_EINVAL, "table.%s: %u, but %u keys in %s mode need %u",
                              f[i].name, f[i].got, t->nkeys,
                              t->compact ? "compact" : "power-of-two", f[i].want);
    return PH_OK;
}

uint64_t ph_table_bytes(const ph_table *t)
{
    return (uint64_t)t->nverts * t->width;
}

uint64_t ph_table_bytes_for(uint32_t n, bool compact)
{
    if (n == 0 || !size_fits(n, compact))
        return 0;
    ph_table shape = {0};
    size_table(&shape, n, compact);
    return ph_table_bytes(&shape);
}

void ph_table_free(ph_table *t)
{
    if (!t)
        return;
    free(t->assigned);
    t->assigned = NULL;
}
