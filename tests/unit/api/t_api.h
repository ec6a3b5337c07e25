/*
 * t_api.h — the fixture the api unit tests share: a fresh data directory opened
 * with retention, the future bound and background work off (test data carries
 * fixed 2024 timestamps), loaded by the caller, behind the real HTTP server with
 * the Prometheus and Loki routes on a port the kernel picks (127.0.0.1).
 * Header-only, like tests/unit/ingest/t_ingest.h.
 */
#ifndef CAIRN_T_API_H
#define CAIRN_T_API_H
#include "support.h"
#include "cairn.h"
#include "http.h"
#include "loki_api.h"
#include "prom_api.h"
#include "push_api.h"
#include "routes.h"

typedef struct t_api {
    char *dir;
    cairn_db *db;
    wapi_ctx w;
    papi_ctx q;
    route_table rt;
    http_server *hs;
    uint16_t port;
} t_api;

/* Open, call load(db) (may be NULL), start the server with n_threads 2 and
 * max_upgrades WebSocket slots (0: the server's default). */
static inline void t_api_start(t_api *f, const char *tag, void (*load)(cairn_db *), unsigned max_upgrades)
{
    memset(f, 0, sizeof *f);
    f->dir = t_tmpdir(tag);
    cairn_options o;
    cairn_options_default(&o);
    o.retention_metrics_ms = 0;
    o.retention_logs_ms = 0;
    o.max_future_ms = 0;
    o.background = 0;
    cairn_err e;
    assert_int_equal(cairn_open(f->dir, &o, &f->db, &e), 0);
    if (load) load(f->db);
    assert_int_equal(wapi_init(&f->w, NULL), 0);
    wapi_set_db(&f->w, f->db);
    papi_init(&f->q, &f->w);
    f->q.data_dir = f->dir;
    route_table_init(&f->rt);
    assert_int_equal(papi_routes(&f->q, &f->rt), 0);
    assert_int_equal(lapi_routes(&f->q, &f->rt), 0);
    http_opts ho;
    http_opts_default(&ho);
    ho.port = 0;
    ho.n_threads = 2;
    if (max_upgrades) ho.max_upgrades = max_upgrades;
    ho.routes = &f->rt;
    assert_int_equal(http_start(&ho, &f->hs, &e), 0);
    f->port = http_port(f->hs);
}

static inline void t_api_stop(t_api *f)
{
    http_stop(f->hs, 1000);
    route_table_free(&f->rt);
    papi_free(&f->q);
    wapi_set_db(&f->w, NULL);
    wapi_free(&f->w);
    cairn_close(f->db);
    t_tmpdir_free(f->dir);
    memset(f, 0, sizeof *f);
}
#endif
