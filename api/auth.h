/*
 * auth — optional HTTP authentication for `cairn serve` (--auth-file).
 *
 * Contract: the file is read once at start (auth_load). It lists basic-auth
 * users and bearer tokens, each for the read paths (queries, labels, status,
 * /metrics, the status page), the write paths (remote write, push, OTLP,
 * import) or both; the format is documented in docs/api.md. It fails
 * closed: with a file, every path needs a credential of its class, also the
 * paths of a class the file names no credential for (nobody opens those);
 * a file without any credential is refused. auth_wrap_routes() puts a check in front of every
 * route of a finished table (the health and readiness probes stay open), so
 * handlers know nothing about it. Failures are 401 with
 * `WWW-Authenticate: Basic realm="cairn"`.
 *
 * Threads: after loading, the credential set is read-only; checks run on any
 * pool thread. Comparisons take time independent of where strings differ.
 */
#ifndef CAIRN_AUTH_H
#define CAIRN_AUTH_H
#include <stddef.h>

#include "cairn.h"
#include "routes.h"

enum { AUTH_READ = 1, AUTH_WRITE = 2 };

typedef struct auth_cred {
    unsigned classes; /* AUTH_READ | AUTH_WRITE */
    int bearer;       /* 1: token; 0: basic "user:password" */
    char *secret;     /* token, or "user:password" */
    size_t len;
} auth_cred;

typedef struct auth_wrap auth_wrap;

typedef struct auth {
    auth_cred *v;
    size_t n, cap;
    unsigned protected_classes; /* AUTH_READ | AUTH_WRITE once a file is loaded (fail closed); 0 = no auth */
    auth_wrap *wraps;           /* one per wrapped route */
    size_t n_wraps;
} auth;

/*
 * Parse an auth file's text (`n` bytes). @return CAIRN_OK, CAIRN_EPARSE (err
 * names the line), CAIRN_EINVAL (no credential at all: only blank or comment
 * lines), CAIRN_ENOMEM. Free with auth_free() in every case.
 */
int auth_parse(auth *a, const char *text, size_t n, cairn_err *err);
/* Read and parse the file at path_z. @return as auth_parse, or CAIRN_EIO. */
int auth_load(auth *a, const char *path_z, cairn_err *err);
void auth_free(auth *a);
/*
 * Whether an Authorization header value (or NULL) grants `cls`.
 * @return 1 when allowed (cls 0 = a probe, or no file loaded), 0 otherwise:
 *         with a file loaded, only a credential of class `cls` grants it.
 */
int auth_check(const auth *a, unsigned cls, const char *authorization_z);
/* AUTH_WRITE for routes without GET (ingest), AUTH_READ otherwise, 0 for the probes. */
unsigned auth_route_class(const route *r);
/* One line for the start-up log: what is protected, by how many credentials (no secrets). */
void auth_describe(const auth *a, char *dst, size_t cap);
/* Wrap every route of `t` (call after the last route_add). @return CAIRN_OK or CAIRN_ENOMEM. */
int auth_wrap_routes(auth *a, route_table *t);
#endif
