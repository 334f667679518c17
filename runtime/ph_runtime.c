/* ph_runtime.c - one completion port per NUMA node, drained by bound threads.
 *
 * The Linux form of an IOCP thread pool: hwloc (loaded by ph_topology.c)
 * tells us the NUMA nodes and their cpusets, each node gets a ph_port and threads_per_node
 * pthreads bound to its cpuset, and work is a function pointer + argument
 * carried in a packet.  Nothing here allocates per work item. */
#include <hwloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ph_log.h"
#include "ph_port.h"
#include "ph_runtime.h"
#include "ph_topology.h"

/* ph_packet.value says what key/data hold. */
enum { PK_WORK = 1, PK_EXEC = 2 };

typedef struct rt_node rt_node;

typedef struct rt_thread {
    rt_node *node;
    unsigned index;
    pthread_t tid;
} rt_thread;

struct rt_node {
    ph_runtime *rt;
    unsigned index;
    ph_node_info info;
    hwloc_cpuset_t cpuset;    /* owned copy */
    hwloc_nodeset_t nodeset;  /* owned copy */
    ph_port *port;
    rt_thread *threads;       /* info.threads entries */
    unsigned started;         /* threads actually running */
};

struct ph_runtime {
    hwloc_topology_t topo;
    bool thissystem;
    rt_node *nodes;
    unsigned nnodes;
    atomic_uint rr;
    atomic_bool cancelling;
    void (*_Atomic cancel_fn)(void *arg);
};

void ph_runtime_opts_init(ph_runtime_opts *o)
{
    memset(o, 0, sizeof *o);
    o->numa_node = -1;
}

/* ---- the node threads ------------------------------------------------ */

static void run_packet(ph_runtime *rt, rt_node *n, unsigned thread, const ph_packet *p)
{
    if (p->value == PK_EXEC) {
        /* Solver helpers always run, even when cancelling: their solve may
         * be waiting for them, and they stop early on the solve's flag. */
        void (*fn)(void *) = (void (*)(void *))(uintptr_t)p->key;
        fn(p->data);
        return;
    }
    if (atomic_load(&rt->cancelling)) {
        void (*cancel)(void *) = atomic_load(&rt->cancel_fn);
        if (cancel)
            cancel(p->data);
        return;
    }
    ph_work_fn fn = (ph_work_fn)(uintptr_t)p->key;
    fn(p->data, n->index, thread);
}

static void *node_thread_main(void *arg)
{
    rt_thread *t = arg;
    rt_node *n = t->node;
    ph_packet p;
    /* get returns PH_ECLOSED only once the port is closed AND empty, so
     * every packet queued before close is run (or cancelled) by someone. */
    while (ph_port_get(n->port, &p, -1) == 0)
        run_packet(n->rt, n, t->index, &p);
    return NULL;
}

/* ---- topology -------------------------------------------------------- */

static int load_topology(ph_runtime *rt, const char *desc, ph_err *err)
{
    int rc = ph_topology_load(desc, &rt->topo, err);
    if (rc)
        return rc;
    rt->thissystem = hwloc_topology_is_thissystem(rt->topo) != 0;
    if (!rt->thissystem) {
        static atomic_flag logged = ATOMIC_FLAG_INIT;
        if (!atomic_flag_test_and_set(&logged))
            ph_log_warn("runtime", "topology=fake binding=off msg=\"topology is not this "
                                   "machine: threads and memory are not bound\"");
    }
    return 0;
}

static bool node_selected(const ph_runtime_opts *o, unsigned os_index)
{
    if (o->numa_node >= 0 && os_index != (unsigned)o->numa_node)
        return false;
    if (o->node_mask && (os_index >= 64 || !(o->node_mask >> os_index & 1)))
        return false;
    return true;
}

/* Fill n from hwloc's NUMA object; false if it has no CPUs to run on. */
static bool node_describe(ph_runtime *rt, hwloc_obj_t obj, const ph_runtime_opts *o,
                          rt_node *n)
{
    int pus = hwloc_get_nbobjs_inside_cpuset_by_type(rt->topo, obj->cpuset, HWLOC_OBJ_PU);
    if (pus <= 0) {
        ph_log_info("runtime", "numa=%u msg=\"memory-only NUMA node skipped\"", obj->os_index);
        return false;
    }
    unsigned threads = o->threads_per_node ? o->threads_per_node : (unsigned)pus;
    if (o->max_concurrency && threads > o->max_concurrency)
        threads = o->max_concurrency;
    n->info.os_index = obj->os_index;
    n->info.threads = threads;
    n->info.bound = rt->thissystem;
    hwloc_bitmap_list_snprintf(n->info.cpuset, sizeof n->info.cpuset, obj->cpuset);
    n->cpuset = hwloc_bitmap_dup(obj->cpuset);
    n->nodeset = hwloc_bitmap_dup(obj->nodeset);
    return true;
}

static int select_nodes(ph_runtime *rt, const ph_runtime_opts *o, ph_err *err)
{
    int total = hwloc_get_nbobjs_by_type(rt->topo, HWLOC_OBJ_NUMANODE);
    rt->nodes = calloc(total > 0 ? (size_t)total : 1, sizeof *rt->nodes);
    if (!rt->nodes)
        return ph_err_set(err, PH_ENOMEM, "runtime: out of memory");
    char have[128] = "";
    size_t hl = 0;
    for (int i = 0; i < total; i++) {
        hwloc_obj_t obj = hwloc_get_obj_by_type(rt->topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
        if (hl < sizeof have)
            hl += (size_t)snprintf(have + hl, sizeof have - hl, "%s%u", i ? "," : "",
                                   obj->os_index);
        if (!node_selected(o, obj->os_index))
            continue;
        rt_node *n = &rt->nodes[rt->nnodes];
        if (!node_describe(rt, obj, o, n))
            continue;
        n->rt = rt;
        n->index = rt->nnodes++;
        if (!n->cpuset || !n->nodeset)
            return ph_err_set(err, PH_ENOMEM, "runtime: out of memory");
    }
    if (rt->nnodes == 0)
        return ph_err_set(err, PH_EINVAL,
                          "numa_node=%d node_mask=0x%llx: no NUMA node with CPUs selected "
                          "(nodes: %s)",
                          o->numa_node, (unsigned long long)o->node_mask, have);
    return 0;
}

/* One "a" or "a-b" item of a node list; advances *s past it. */
static bool parse_range(const char **s, unsigned *lo, unsigned *hi)
{
    char *end;
    if (**s < '0' || **s > '9')
        return false;
    unsigned long a = strtoul(*s, &end, 10);
    unsigned long b = a;
    if (*end == '-') {
        const char *t = end + 1;
        if (*t < '0' || *t > '9')
            return false;
        b = strtoul(t, &end, 10);
    }
    if (a > b || b >= 64)
        return false;
    *lo = (unsigned)a;
    *hi = (unsigned)b;
    *s = end;
    return true;
}

int ph_runtime_parse_nodes(const char *list, uint64_t *mask, ph_err *err)
{
    uint64_t m = 0;
    const char *s = list ? list : "";
    for (;;) {
        unsigned lo, hi;
        if (!parse_range(&s, &lo, &hi))
            break;
        for (unsigned i = lo; i <= hi; i++)
            m |= (uint64_t)1 << i;
        if (*s == '\0') {
            *mask = m;
            return 0;
        }
        if (*s++ != ',')
            break;
    }
    return ph_err_set(err, PH_EINVAL,
                      "nodes=\"%s\": expected a list like 0,2-3 of NUMA nodes 0..63",
                      list ? list : "");
}

/* ---- threads --------------------------------------------------------- */

static void bind_thread(ph_runtime *rt, rt_node *n, pthread_t tid)
{
    if (!n->info.bound)
        return;
    if (hwloc_set_thread_cpubind(rt->topo, tid, n->cpuset, 0) < 0) {
        static atomic_flag logged = ATOMIC_FLAG_INIT;
        if (!atomic_flag_test_and_set(&logged))
            ph_log_warn("runtime", "numa=%u cpuset=%s msg=\"binding threads failed; "
                                   "running unbound\"", n->info.os_index, n->info.cpuset);
        n->info.bound = false;
    }
}

static int node_start(ph_runtime *rt, rt_node *n, size_t capacity, ph_err *err)
{
    int rc = ph_port_create(capacity, &n->port, err);
    if (rc)
        return rc;
    n->threads = calloc(n->info.threads, sizeof *n->threads);
    if (!n->threads)
        return ph_err_set(err, PH_ENOMEM, "runtime: out of memory for threads");
    for (unsigned i = 0; i < n->info.threads; i++) {
        rt_thread *t = &n->threads[i];
        t->node = n;
        t->index = i;
        if (pthread_create(&t->tid, NULL, node_thread_main, t) != 0)
            return ph_err_set(err, PH_ENOMEM, "numa=%u: cannot create thread %u of %u",
                              n->info.os_index, i, n->info.threads);
        n->started++;
        /* Names show up in top -H, gdb and TSan reports: ph-n<os>-t<i>. */
        char name[16];
        snprintf(name, sizeof name, "ph-n%u-t%u", n->info.os_index % 1000u, i % 10000u);
        pthread_setname_np(t->tid, name);
        bind_thread(rt, n, t->tid);
    }
    ph_log_debug("runtime", "numa=%u threads=%u cpuset=%s bound=%d", n->info.os_index,
                 n->info.threads, n->info.cpuset, (int)n->info.bound);
    return 0;
}

int ph_runtime_create(const ph_runtime_opts *opts, ph_runtime **out, ph_err *err)
{
    ph_runtime_opts defaults;
    if (!opts) {
        ph_runtime_opts_init(&defaults);
        opts = &defaults;
    }
    ph_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return ph_err_set(err, PH_ENOMEM, "runtime: out of memory");
    int rc = load_topology(rt, opts->topology, err);
    if (!rc)
        rc = select_nodes(rt, opts, err);
    size_t cap = opts->queue_capacity ? opts->queue_capacity : 1024;
    for (unsigned i = 0; !rc && i < rt->nnodes; i++)
        rc = node_start(rt, &rt->nodes[i], cap, err);
    if (rc) {
        ph_runtime_destroy(rt, false, NULL);
        return rc;
    }
    *out = rt;
    return 0;
}

/* ---- queries --------------------------------------------------------- */

unsigned ph_runtime_node_count(const ph_runtime *rt) { return rt->nnodes; }

int ph_runtime_node_info(const ph_runtime *rt, unsigned node, ph_node_info *out)
{
    if (node >= rt->nnodes)
        return PH_EINVAL;
    *out = rt->nodes[node].info;
    return 0;
}

unsigned ph_runtime_node_threads(const ph_runtime *rt, unsigned node)
{
    return node < rt->nnodes ? rt->nodes[node].info.threads : 0;
}

/* ---- submitting work ------------------------------------------------- */

int ph_runtime_submit(ph_runtime *rt, unsigned node, ph_work_fn fn, void *arg, int timeout_ms)
{
    if (node >= rt->nnodes || !fn)
        return PH_EINVAL;
    ph_packet p = {.key = (uint64_t)(uintptr_t)fn, .value = PK_WORK, .data = arg};
    return ph_port_post(rt->nodes[node].port, &p, timeout_ms);
}

int ph_runtime_submit_any(ph_runtime *rt, ph_work_fn fn, void *arg, int timeout_ms)
{
    unsigned node = atomic_fetch_add(&rt->rr, 1u) % rt->nnodes;
    return ph_runtime_submit(rt, node, fn, arg, timeout_ms);
}

void *ph_runtime_node_exec_ctx(ph_runtime *rt, unsigned node)
{
    return rt && node < rt->nnodes ? &rt->nodes[node] : NULL;
}

void ph_runtime_exec_post(void *ctx, void (*fn)(void *arg), void *arg)
{
    rt_node *n = ctx;
    ph_packet p = {.key = (uint64_t)(uintptr_t)fn, .value = PK_EXEC, .data = arg};
    /* Never blocks: the caller is usually one of this node's own threads,
     * and waiting for room it is itself supposed to make would deadlock.
     * No room (or shutting down): the helper simply runs here and now. */
    if (!n || ph_port_post_urgent(n->port, &p) != 0)
        fn(arg);
}

/* ---- node-local memory ----------------------------------------------- */

void *ph_runtime_node_alloc(ph_runtime *rt, unsigned node, size_t size)
{
    if (node >= rt->nnodes || size == 0)
        return NULL;
    if (!rt->thissystem)
        return malloc(size);
    /* Without HWLOC_MEMBIND_STRICT hwloc falls back to an unbound
     * allocation of its own, which hwloc_free also releases. */
    return hwloc_alloc_membind(rt->topo, size, rt->nodes[node].nodeset, HWLOC_MEMBIND_BIND,
                               HWLOC_MEMBIND_BYNODESET);
}

void ph_runtime_node_free(ph_runtime *rt, unsigned node, void *p, size_t size)
{
    (void)node;
    if (!p)
        return;
    if (!rt->thissystem)
        free(p);
    else
        hwloc_free(rt->topo, p, size);
}

/* ---- shutdown -------------------------------------------------------- */

void ph_runtime_destroy(ph_runtime *rt, bool drain, void (*cancel_fn)(void *arg))
{
    if (!rt)
        return;
    atomic_store(&rt->cancel_fn, cancel_fn);
    atomic_store(&rt->cancelling, !drain);
    for (unsigned i = 0; i < rt->nnodes; i++)
        if (rt->nodes[i].port)
            ph_port_close(rt->nodes[i].port);
    for (unsigned i = 0; i < rt->nnodes; i++) {
        rt_node *n = &rt->nodes[i];
        for (unsigned t = 0; t < n->started; t++)
            pthread_join(n->threads[t].tid, NULL);
        /* A node whose threads failed to start may still hold packets. */
        ph_packet p;
        while (n->port && ph_port_get(n->port, &p, 0) == 0)
            run_packet(rt, n, 0, &p);
    }
    for (unsigned i = 0; i < rt->nnodes; i++) {
        rt_node *n = &rt->nodes[i];
        ph_port_destroy(n->port);
        free(n->threads);
        hwloc_bitmap_free(n->cpuset);
        hwloc_bitmap_free(n->nodeset);
    }
    free(rt->nodes);
    if (rt->topo)
        hwloc_topology_destroy(rt->topo);
    free(rt);
}
