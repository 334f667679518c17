/* coord_reply.c - answering one peer on the ROUTER socket, and the log
 * budget of what peers make the coordinator log. */
#include "coord_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ph_log.h"
#include "ph_lograte.h"
#include "ph_time.h"
#include "ph_wire.h"

uint64_t coord_now_ms(void) { return ph_time_ms(); }

bool coord_log_peer(coord *c, const char *event, const void *ident, size_t ident_len,
                    enum ph_log_level level)
{
    if (!c->lograte)
        return ph_log_enabled(level);
    return ph_lograte_allow(c->lograte, event, ident, ident_len, level, coord_now_ms());
}

int coord_reply(coord *c, const void *ident, size_t ident_len, const ph_msg *m)
{
    ph_err err = {0};
    int rc = ph_wire_send(c->sock, ident, ident_len, m, &err);
    if (rc && coord_log_peer(c, "reply-dropped", ident, ident_len, PH_LOG_WARN))
        ph_log_warn("coord", "type=%s msg=\"reply dropped: %s\"", ph_msg_type_name(m->type),
                    err.msg);
    return rc;
}

void coord_reply_error(coord *c, const void *ident, size_t ident_len, int code,
                       const char *text)
{
    ph_msg m = {.type = PH_MSG_ERROR};
    m.u.error.code = code;
    m.u.error.text = ph_bytes_str(text);
    coord_reply(c, ident, ident_len, &m);
}

void coord_reply_job(coord *c, const void *ident, size_t ident_len, const coord_job *j)
{
    ph_msg m = {.type = PH_MSG_JOB};
    if (coord_job_msg(j, &m.u.job) != 0) {
        coord_reply_error(c, ident, ident_len, PH_ENOMEM, "out of memory");
        return;
    }
    coord_reply(c, ident, ident_len, &m);
    free(m.u.job.nodes);
}

void coord_reply_unknown_token(coord *c, const void *ident, size_t ident_len, ph_bytes token)
{
    char text[128];
    snprintf(text, sizeof text, "unknown or expired job token '%.*s'",
             (int)(token.n < 64 ? token.n : 64), token.p);
    coord_reply_error(c, ident, ident_len, PH_EINVAL, text);
}

void coord_ident_text(const unsigned char *id, size_t n, char *out)
{
    bool printable = n > 0;
    for (size_t i = 0; i < n && printable; i++)
        printable = id[i] > 32 && id[i] < 127;
    if (printable) {
        memcpy(out, id, n);
        out[n] = '\0';
        return;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[2 * n] = '\0';
}

void coord_reply_cancel_task(coord *c, const coord_worker *w, uint64_t job_id, uint64_t task_id)
{
    ph_msg m = {.type = PH_MSG_CANCEL_TASK};
    m.u.cancel_task.job_id = job_id;
    m.u.cancel_task.task_id = task_id;
    coord_reply(c, w->ident, w->ident_len, &m);
}
