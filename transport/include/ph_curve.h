/* ph_curve.h - CURVE key files and socket setup for remote access.
 *
 * A node that listens on or talks to a non-loopback address authenticates
 * with CurveZMQ.  Keys live in small text files: PREFIX.key holds the secret
 * key (mode 0600, never readable by group/other) and PREFIX.pub the public
 * key (0644).  Both are Z85 text (40 characters) after one comment line, so
 * they can be copied, diffed and pasted into an allow-list.
 *
 * Server side: ph_curve_server() + a ZAP handler (ph_zap.h) that decides
 * which client public keys may connect.  Client side: ph_curve_client().
 * Both must be called before zmq_bind/zmq_connect. */
#ifndef PH_CURVE_H
#define PH_CURVE_H

#include <stdbool.h>

#include "ph_err.h"

/* Z85 text length of a 32-byte CURVE key; buffers are one byte longer. */
#define PH_CURVE_Z85_LEN 40
/* ZAP domain set on every phcluster CURVE server socket; ph_zap refuses
 * requests for any other domain. */
#define PH_CURVE_ZAP_DOMAIN "phcluster"
/* Key files are tiny; anything larger is not a key file. */
#define PH_CURVE_FILE_MAX 4096

/* True when the linked libzmq supports CURVE (built with libsodium). */
bool ph_curve_available(void);

/* Generate a key pair: PREFIX.key (secret, 0600) and PREFIX.pub (public,
 * 0644).  Each file is written to a temporary created with O_EXCL and its
 * final mode, then published without replacing anything: an existing
 * PREFIX.key or PREFIX.pub is an error and is left untouched. */
int ph_curve_keygen(const char *path_prefix, ph_err *err);

/* Load a secret key file; refuses (PH_EPERM) a file whose mode grants any
 * access to group or other.  Fills secret_z85 and the derived public key
 * (both NUL-terminated, 41 bytes).  public_z85 may be NULL. */
int ph_curve_load_secret(const char *path, char secret_z85[PH_CURVE_Z85_LEN + 1],
                         char public_z85[PH_CURVE_Z85_LEN + 1], ph_err *err);

/* Load a public key file (exactly one Z85 key; comment lines allowed). */
int ph_curve_load_public(const char *path, char public_z85[PH_CURVE_Z85_LEN + 1],
                         ph_err *err);

/* Parse one key line: trimmed text of exactly 40 valid Z85 characters.
 * On success fills key32 (binary key, may be NULL) and returns 0. */
int ph_curve_parse_z85(const char *text, unsigned char key32[32]);

/* Make sock a CURVE server with the given secret key and the phcluster ZAP
 * domain.  Call before zmq_bind. */
int ph_curve_server(void *sock, const char *secret_z85, ph_err *err);

/* Same, loading the secret from a key file (checks its mode). */
int ph_curve_server_file(void *sock, const char *secret_path, ph_err *err);

/* Make sock a CURVE client: its own key pair from client_secret_path and the
 * server's public key from server_public_path.  Call before zmq_connect. */
int ph_curve_client(void *sock, const char *client_secret_path,
                    const char *server_public_path, ph_err *err);

/* True when endpoint only reaches this host: inproc://, ipc://,
 * tcp://127.a.b.c:PORT, tcp://localhost:PORT, tcp://[::1]:PORT (and
 * [::ffff:127.a.b.c]).  Anything else - wildcards, other addresses, interface
 * names, source;dest forms, other transports, malformed text - is false,
 * i.e. "needs CURVE". */
bool ph_endpoint_is_loopback(const char *endpoint);

#endif
