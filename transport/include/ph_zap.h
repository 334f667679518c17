/* ph_zap.h - ZAP (ZeroMQ RFC 27) handler: which CURVE keys may connect.
 *
 * A CURVE server socket (ph_curve_server) asks the context's ZAP handler
 * about every handshake.  ph_zap runs that handler on its own thread with a
 * REP socket bound to inproc://zeromq.zap.01 in the given context, and
 * answers from an allow-list of client public keys:
 *   - CURVE, domain "phcluster", key listed  -> 200, User-Id = the Z85 key
 *     (readable on each received message with zmq_msg_gets(msg, "User-Id"))
 *   - CURVE with an unlisted key, another domain, NULL or PLAIN -> 400,
 *     logged with ph_log_warn (component "zap")
 *   - a malformed request (frame count, sizes, version) -> 500
 *
 * Start it BEFORE binding any CURVE server socket in that context: without
 * a handler libzmq lets every CURVE client in.  Stop it before zmq_ctx_term.
 *
 * Allow-list: a directory (every *.pub file in it, each one key as written
 * by ph_curve_keygen) or a file with one Z85 key per line; blank lines and
 * lines starting with '#' are ignored.  An empty list is an error. */
#ifndef PH_ZAP_H
#define PH_ZAP_H

#include <stddef.h>

#include "ph_err.h"

#define PH_ZAP_ENDPOINT "inproc://zeromq.zap.01"
/* Bounds on what we accept: allow-list size and file size. */
#define PH_ZAP_MAX_KEYS 65536
#define PH_ZAP_LIST_FILE_MAX (4u << 20)

typedef struct ph_zap ph_zap;

/* Load the allow-list, bind the handler in zmq_ctx and start its thread.
 * Fails (nothing started) on a bad allow-list or if another ZAP handler is
 * already bound in the context. */
int ph_zap_start(void *zmq_ctx, const char *allow_dir_or_file, ph_zap **out, ph_err *err);

/* Re-read the allow-list given to ph_zap_start (e.g. on SIGHUP).  On error
 * the old list stays in force.  Safe to call from any one thread at a time. */
int ph_zap_reload(ph_zap *zap, ph_err *err);

/* Number of keys currently allowed. */
size_t ph_zap_allowed_count(ph_zap *zap);

/* Stop the thread, close the socket, free everything.  NULL is a no-op. */
void ph_zap_stop(ph_zap *zap);

/* Load an allow-list into a sorted malloc'd array of 32-byte binary keys
 * (owned by the caller, free()).  Exposed for tests and for --check tools. */
int ph_zap_load_allow(const char *allow_dir_or_file, unsigned char (**keys)[32],
                      size_t *count, ph_err *err);

#endif
