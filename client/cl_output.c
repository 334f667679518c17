/* cl_output.c - what phclient prints: progress, summaries, JSON.
 *
 * Progress goes to stderr (stdout stays clean for the token and results):
 * a redrawn bar on a terminal, at most one plain line per second otherwise
 * (logs, CI). */
#include "cl_int.h"

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "ph_time.h"

#define CL_PLAIN_EVERY_MS 1000
#define CL_TTY_EVERY_MS 100

const char *cl_job_state_name(uint32_t state)
{
    switch (state) {
    case PH_JOB_RUNNING: return "running";
    case PH_JOB_ALL_SUCCEEDED: return "all_succeeded";
    case PH_JOB_SOME_FAILED: return "some_failed";
    case PH_JOB_NO_KEYS: return "no_keys";
    case PH_JOB_CANCELLED: return "cancelled";
    case PH_JOB_CANCELLING: return "cancelling";
    default: return "unknown";
    }
}

void cl_progress_init(cl_progress *p)
{
    memset(p, 0, sizeof *p);
    p->tty = isatty(STDERR_FILENO);
}

/* Throughput so far (tables a second over the job's whole run) and the
 * time the rest would take at it; -1 when unknown.  A stalled task makes
 * any estimate a guess: the caller says "stalled" instead. */
static void rate_eta(const ph_msg_job *j, double *rate, double *eta)
{
    uint64_t done = j->succeeded + j->failed;
    double secs = (double)j->elapsed_us / 1e6;
    *rate = secs > 0 ? (double)done / secs : 0;
    *eta = *rate > 0 ? (double)(j->total - done) / *rate : -1;
}

static void eta_text(const ph_msg_job *j, double eta, char *out, size_t len)
{
    if (j->stalled)
        snprintf(out, len, "stalled(%" PRIu64 ")", j->stalled);
    else if (eta < 0)
        snprintf(out, len, "--");
    else
        snprintf(out, len, "%.0fs", eta);
}

static void nodes_text(const ph_msg_job *j, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < j->nnodes && n < len; i++) {
        const ph_node_count *c = &j->nodes[i];
        int w = snprintf(out + n, len - n, "%s%.*s=%" PRIu64 "%s", i ? " " : "", (int)c->node.n,
                         c->node.p, c->succeeded + c->failed,
                         c->failed ? "(some failed)" : "");
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

void cl_progress_update(cl_progress *p, const ph_msg_job *j)
{
    uint64_t now = ph_time_ms();
    if (p->drawn && now - p->last_ms < (p->tty ? CL_TTY_EVERY_MS : CL_PLAIN_EVERY_MS))
        return;
    p->last_ms = now;
    p->drawn = true;
    uint64_t done = j->succeeded + j->failed;
    double rate, eta;
    rate_eta(j, &rate, &eta);
    char nodes[512], groups[64] = "", eta_s[40];
    nodes_text(j, nodes, sizeof nodes);
    eta_text(j, eta, eta_s, sizeof eta_s);
    if (j->parts_total)
        snprintf(groups, sizeof groups, " bucket groups %" PRIu64 "/%" PRIu64, j->parts_done,
                 j->parts_total);
    if (!p->tty) {
        fprintf(stderr, "progress: %" PRIu64 "/%" PRIu64 " ok=%" PRIu64 " failed=%" PRIu64
                " running=%" PRIu64 " rate=%.0f/s eta=%s%s nodes: %s\n", done, j->total,
                j->succeeded, j->failed, j->running, rate, eta_s, groups, nodes);
        return;
    }
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    unsigned fill = j->total ? (unsigned)(done * WIDTH / j->total) : 0;
    for (unsigned i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r\033[K[%s] %" PRIu64 "/%" PRIu64 " %3.0f%% %.0f files/s ETA %s%s%s%s | %s",
            bar, done, j->total, j->total ? 100.0 * (double)done / (double)j->total : 100.0,
            rate, eta_s, j->failed ? " FAILED " : "", j->failed ? "(some)" : "", groups, nodes);
    fflush(stderr);
}

void cl_progress_end(cl_progress *p)
{
    if (p->tty && p->drawn)
        fputc('\n', stderr);
    p->drawn = false;
}

/* ---- JSON -------------------------------------------------------------- */

static void json_str(FILE *f, ph_bytes b)
{
    fputc('"', f);
    for (uint32_t i = 0; i < b.n; i++) {
        unsigned char ch = (unsigned char)b.p[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", f);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void json_job_body(FILE *f, const ph_msg_job *j)
{
    fputs("{\"token\":", f);
    json_str(f, j->token);
    fprintf(f, ",\"state\":\"%s\",\"total\":%" PRIu64 ",\"queued\":%" PRIu64
            ",\"running\":%" PRIu64 ",\"succeeded\":%" PRIu64 ",\"failed\":%" PRIu64
            ",\"stalled\":%" PRIu64 ",\"stalls\":%" PRIu64
            ",\"elapsed_us\":%" PRIu64 ",\"first_error\":",
            cl_job_state_name(j->state), j->total, j->queued, j->running, j->succeeded,
            j->failed, j->stalled, j->stalls, j->elapsed_us);
    json_str(f, j->first_error);
    if (j->parts_total)
        fprintf(f, ",\"parts_total\":%" PRIu64 ",\"parts_done\":%" PRIu64, j->parts_total,
                j->parts_done);
    fputs(",\"out_dir\":", f);
    json_str(f, j->out_dir);
    fputs(",\"nodes\":[", f);
    for (uint32_t i = 0; i < j->nnodes; i++) {
        const ph_node_count *c = &j->nodes[i];
        fputs(i ? ",{\"node\":" : "{\"node\":", f);
        json_str(f, c->node);
        fprintf(f, ",\"queued\":%" PRIu64 ",\"running\":%" PRIu64 ",\"succeeded\":%" PRIu64
                ",\"failed\":%" PRIu64 "}", c->queued, c->running, c->succeeded, c->failed);
    }
    fputs("]}", f);
}

void cl_json_job(FILE *f, const ph_msg_job *j)
{
    json_job_body(f, j);
    fputc('\n', f);
}

void cl_json_status(FILE *f, const ph_msg_status_reply *s)
{
    fprintf(f, "{\"uptime_ms\":%" PRIu64 ",\"workers\":[", s->uptime_ms);
    for (uint32_t i = 0; i < s->nworkers; i++) {
        const ph_worker_info *w = &s->workers[i];
        fputs(i ? ",{\"id\":" : "{\"id\":", f);
        json_str(f, w->id);
        fputs(",\"host\":", f);
        json_str(f, w->host);
        fprintf(f, ",\"pid\":%u,\"numa_node\":%u,\"threads\":%u,\"running\":%u,\"done\":%" PRIu64
                ",\"failed\":%" PRIu64 ",\"last_heartbeat_ms\":%" PRIu64 ",\"stuck\":%u}",
                w->pid, w->numa_node, w->threads, w->running, w->done, w->failed,
                w->last_heartbeat_ms, w->stuck);
    }
    fputs("],\"jobs\":[", f);
    for (uint32_t i = 0; i < s->njobs; i++) {
        if (i)
            fputc(',', f);
        json_job_body(f, &s->jobs[i]);
    }
    fputs("]}\n", f);
}

/* Label values are escaped as the exposition format asks (\\, \", \n). */
static void prom_label(FILE *f, const char *name, ph_bytes v)
{
    fprintf(f, "%s=\"", name);
    for (uint32_t i = 0; i < v.n; i++) {
        char ch = v.p[i];
        if (ch == '\\' || ch == '"')
            fprintf(f, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", f);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void prom_worker(FILE *f, const char *metric, const ph_worker_info *w, uint64_t v)
{
    fprintf(f, "%s{", metric);
    prom_label(f, "host", w->host);
    fprintf(f, ",numa_node=\"%u\",pid=\"%u\"} %" PRIu64 "\n", w->numa_node, w->pid, v);
}

static void prom_job(FILE *f, const char *metric, const ph_msg_job *j, uint64_t v)
{
    fprintf(f, "%s{", metric);
    prom_label(f, "token", j->token);
    fprintf(f, ",state=\"%s\"} %" PRIu64 "\n", cl_job_state_name(j->state), v);
}

void cl_metrics_status(FILE *f, const ph_msg_status_reply *s)
{
    fprintf(f, "# TYPE phcluster_up gauge\nphcluster_up 1\n");
    fprintf(f, "# TYPE phcluster_uptime_seconds gauge\nphcluster_uptime_seconds %.3f\n",
            (double)s->uptime_ms / 1000.0);
    fprintf(f, "# TYPE phcluster_workers gauge\nphcluster_workers %u\n", s->nworkers);
    static const char *wm[] = {"phcluster_worker_threads", "phcluster_worker_running",
                               "phcluster_worker_done_total", "phcluster_worker_failed_total",
                               "phcluster_worker_heartbeat_age_ms", "phcluster_worker_stuck"};
    static const char *wt[] = {"gauge", "gauge", "counter", "counter", "gauge", "gauge"};
    for (int m = 0; m < 6; m++) {
        fprintf(f, "# TYPE %s %s\n", wm[m], wt[m]);
        for (uint32_t i = 0; i < s->nworkers; i++) {
            const ph_worker_info *w = &s->workers[i];
            uint64_t v[] = {w->threads, w->running, w->done, w->failed, w->last_heartbeat_ms,
                            w->stuck};
            prom_worker(f, wm[m], w, v[m]);
        }
    }
    static const char *jm[] = {"phcluster_job_tasks", "phcluster_job_queued",
                               "phcluster_job_running", "phcluster_job_succeeded",
                               "phcluster_job_failed", "phcluster_job_stalled",
                               "phcluster_job_stalls"};
    for (int m = 0; m < 7; m++) {
        fprintf(f, "# TYPE %s gauge\n", jm[m]);
        for (uint32_t i = 0; i < s->njobs; i++) {
            const ph_msg_job *j = &s->jobs[i];
            uint64_t v[] = {j->total, j->queued, j->running, j->succeeded, j->failed,
                            j->stalled, j->stalls};
            prom_job(f, jm[m], j, v[m]);
        }
    }
}

void cl_print_status(FILE *f, const ph_msg_status_reply *s)
{
    fprintf(f, "coordinator up %.1f s, %u worker(s), %u job(s)\n",
            (double)s->uptime_ms / 1000.0, s->nworkers, s->njobs);
    if (s->nworkers)
        fprintf(f, "%-28s %-20s %8s %5s %7s %7s %9s %7s %10s %5s\n", "WORKER", "HOST", "PID",
                "NODE", "THREADS", "RUNNING", "DONE", "FAILED", "HEARTBEAT", "STUCK");
    for (uint32_t i = 0; i < s->nworkers; i++) {
        const ph_worker_info *w = &s->workers[i];
        fprintf(f, "%-28.*s %-20.*s %8u %5u %7u %7u %9" PRIu64 " %7" PRIu64 " %7" PRIu64
                " ms %5u\n", (int)w->id.n, w->id.p, (int)w->host.n, w->host.p, w->pid,
                w->numa_node, w->threads, w->running, w->done, w->failed, w->last_heartbeat_ms,
                w->stuck);
    }
    for (uint32_t i = 0; i < s->njobs; i++) {
        const ph_msg_job *j = &s->jobs[i];
        double rate, eta;
        char eta_s[40];
        rate_eta(j, &rate, &eta);
        eta_text(j, eta, eta_s, sizeof eta_s);
        fprintf(f, "job %.*s %-13s %" PRIu64 "/%" PRIu64 " ok=%" PRIu64 " failed=%" PRIu64
                " running=%" PRIu64 " stalled=%" PRIu64 " stalls=%" PRIu64 " %.1fs eta=%s"
                " out=%.*s\n", (int)j->token.n, j->token.p, cl_job_state_name(j->state),
                j->succeeded + j->failed, j->total, j->succeeded, j->failed, j->running,
                j->stalled, j->stalls, (double)j->elapsed_us / 1e6,
                j->state == PH_JOB_RUNNING ? eta_s : "0s", (int)j->out_dir.n, j->out_dir.p);
        if (j->parts_total)
            fprintf(f, "    bucket groups of partitioned tables: %" PRIu64 "/%" PRIu64 "\n",
                    j->parts_done, j->parts_total);
        for (uint32_t k = 0; k < j->nnodes; k++) {
            const ph_node_count *c = &j->nodes[k];
            fprintf(f, "    %-30.*s queued=%" PRIu64 " running=%" PRIu64 " ok=%" PRIu64
                    " failed=%" PRIu64 "\n", (int)c->node.n, c->node.p, c->queued, c->running,
                    c->succeeded, c->failed);
        }
    }
}
