/*
 * loki_detect.c — the Loki endpoints that describe logs rather than return
 * them: detected_fields, detected_field/<name>/values and patterns
 * (api-contract B.5.5, B.5.6), which Grafana's query builder, Explore and
 * the Logs Drilldown app call.
 *
 * All three work on a sample: the newest entries of `query` (a log query:
 * a selector, optionally with a pipeline) in [start, end), evaluated by the
 * LogQL evaluator with label origins (leval_opts.categorize), so each
 * label of each entry is known to be indexed, structured metadata or
 * parsed. The sample is bounded (line_limit, default 1000, at most 5000 for
 * fields; 5000 lines for patterns) so an answer costs one small query, not
 * a scan: these endpoints feed suggestions, and Loki's own answers are
 * sketches too (HyperLogLog cardinalities, a pattern ingester's recent
 * window).
 *
 * Fields. Structured metadata of a sampled entry is a field with parsers
 * null. Labels the query's own parsers added are fields whose parsers are
 * the query's parser stages. When the query has no parser, each line is
 * parsed here: as JSON when it starts with '{', else as logfmt (with the
 * pipeline module, so names are sanitised and `_extracted` applied exactly
 * as `| json` / `| logfmt` would). __error__ labels are never fields. A
 * field's type is that of its first value by Loki's order of tests (int,
 * float, boolean, duration, bytes, else string, with Go's parsers), widened
 * when later values disagree: int and float give float, anything else
 * gives string (Loki keeps the first type; widening is the conservative
 * choice for a builder that offers numeric comparisons). Cardinality is
 * the exact number of distinct values in the sample (64-bit hashes).
 * Fields are sorted by name and cut at `limit`.
 *
 * Patterns: a small Drain-like token clustering (He et al., "Drain: An
 * Online Log Parsing Approach with Fixed Depth Tree", ICWS 2017), the
 * algorithm behind Loki's pattern ingester, reduced to what a bounded
 * sample needs. Each line is split on blanks; a token with a digit becomes
 * <_>, and a key=value token whose value has a digit becomes key=<_>.
 * Lines are grouped by (token count, first token); within a group a line
 * joins the most similar template when at least half of the positions
 * agree (a template position that is <_> agrees with anything), and the
 * positions that differ become <_>; otherwise it starts a template (at
 * most 64 per group and 1000 in all; beyond that it joins the best one
 * regardless). A pattern is its template joined with single spaces, runs
 * of <_> merged into one, so it is a valid `| pattern` expression. Its
 * samples are line counts per step (`step`, default max((end - start) /
 * 250, 10 s)) at step-aligned Unix seconds, as JSON numbers. Patterns are
 * sorted by total count, most frequent first. docs/logql.md shows
 * examples.
 *
 * Threads: handler code on the pool, one arena per request; through the
 * concurrency gate like a query.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "dur.h"
#include "err.h"
#include "logeval.h"
#include "logpipe.h"
#include "loki_int.h"
#include "mem.h"
#include "parse.h"

#define LDET_MAX_LINES 5000u
#define LDET_PATTERN_LINES 5000u
#define LDET_MAX_TEMPLATES 1000
#define LDET_GROUP_TEMPLATES 64
#define LDET_MAX_TOKENS 128

/* ==== the sample ==================================================================== */

enum { P_JSON = 1, P_LOGFMT = 2, P_REGEXP = 4, P_PATTERN = 8, P_UNPACK = 16, P_LABEL_FORMAT = 32 };

static unsigned query_parsers(const ast_node *root)
{
    while (root && root->kind == AST_PAREN) root = root->u.paren.expr;
    unsigned m = 0;
    for (size_t i = 0; root && i < root->u.log.n_stages; i++) switch (root->u.log.stages[i].kind) {
        case AST_ST_JSON: m |= P_JSON; break;
        case AST_ST_LOGFMT: m |= P_LOGFMT; break;
        case AST_ST_REGEXP: m |= P_REGEXP; break;
        case AST_ST_PATTERN: m |= P_PATTERN; break;
        case AST_ST_UNPACK: m |= P_UNPACK; break;
        case AST_ST_LABEL_FORMAT: m |= P_LABEL_FORMAT; break;
        default: break;
        }
    return m;
}

/*
 * Parse `query` and evaluate it over [start, end), newest `lines` entries,
 * with label origins. -1 after answering (400, 503, 500…), else 0.
 */
static int take_sample(papi_ctx *c, papi_req *q, uint32_t lines, const ast_node **root_out, leval_result *res,
                       int64_t *start, int64_t *end)
{
    http_req *r = q->http;
    const char *text = papi_arg(q, "query");
    if (!text) return http_respond_text(r, 400, "query parameter is required"), -1;
    if (lapi_read_range(q, start, end)) return -1;
    if (*end < *start) return http_respond_text(r, 400, "end timestamp must not be before start time"), -1;
    ast_node *root;
    cairn_err e;
    if (parse_query(q->ar, QLANG_LOGQL, text, strlen(text), &root, &e)) return lapi_err_code(r, CAIRN_EPARSE, e.msg), -1;
    if (!leval_is_log_query(root))
        return http_respond_text(r, 400, "only log queries are supported here, not metric queries"), -1;
    leval_params prm;
    memset(&prm, 0, sizeof prm);
    prm.start_ns = *start;
    prm.end_ns = *end;
    prm.step_ns = 1;
    prm.limit = lines;
    prm.direction = CAIRN_BACKWARD;
    leval_opts o;
    leval_opts_default(&o);
    o.max_limit = 0;
    o.categorize = 1;
    o.timeout_ms = c->timeout_ms;
    if (c->max_samples) o.max_entries = c->max_samples;
    cairn_db *db = papi_db(c, r, 1);
    if (!db || !papi_gate_enter(c, r, 1)) return -1;
    int rc = arena_set_budget(q->ar, (size_t)c->max_bytes, c->budget ? &c->budget->b : NULL)
                 ? err_set(&e, CAIRN_ELIMIT, "the queries running now use the whole query memory budget "
                                             "(--query-max-bytes-total); retry later")
                 : leval_eval(q->ar, db, root, &prm, &o, res, &e);
    papi_gate_leave(c);
    rc = val_budget_error(q->ar, rc, &e);
    arena_set_budget(q->ar, 0, NULL);
    if (rc) return lapi_err_code(r, rc, e.msg), -1;
    *root_out = root;
    return 0;
}

/* A uint32 parameter with a default and a cap. -1 after answering 400. */
static int arg_u32(papi_req *q, const char *name, uint32_t dflt, uint32_t max, uint32_t *v)
{
    const char *s = papi_arg(q, name);
    uint64_t x = dflt;
    if (s && (papi_parse_uint(s, &x) || !x))
        return http_respond_text(q->http, 400, "invalid %s: must be a positive integer, got \"%.100s\"", name, s), -1;
    *v = x > max ? max : (uint32_t)x;
    return 0;
}

/* ==== fields ========================================================================== */

enum { FT_NONE = 0, FT_INT, FT_FLOAT, FT_BOOL, FT_DURATION, FT_BYTES, FT_STRING };
static const char *const FT_NAME[] = {"string", "int", "float", "boolean", "duration", "bytes", "string"};

static int go_parse_int(const char *s, size_t n)
{
    size_t i = 0;
    if (n && (s[0] == '+' || s[0] == '-')) i++;
    if (i == n || n - i > 19) return 0;
    for (size_t k = i; k < n; k++)
        if (s[k] < '0' || s[k] > '9') return 0;
    if (n - i == 19) { /* within int64? */
        const char *lim = s[0] == '-' ? "9223372036854775808" : "9223372036854775807";
        if (memcmp(s + i, lim, 19) > 0) return 0;
    }
    return 1;
}

static int go_parse_bool(const char *s, size_t n)
{
    static const char *const ok[] = {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strlen(ok[i]) == n && !memcmp(ok[i], s, n)) return 1;
    return 0;
}

/* Loki's determineType order. */
static int value_type(const char *s, size_t n)
{
    double d;
    if (go_parse_int(s, n)) return FT_INT;
    if (!lpipe_parse_float(s, n, &d)) return FT_FLOAT;
    if (go_parse_bool(s, n)) return FT_BOOL;
    if (!dur_parse_go(s, n, &d)) return FT_DURATION;
    if (!lpipe_parse_bytes(s, n, &d)) return FT_BYTES;
    return FT_STRING;
}

static int widen(int a, int b)
{
    if (!a || a == b) return b;
    if ((a == FT_INT && b == FT_FLOAT) || (a == FT_FLOAT && b == FT_INT)) return FT_FLOAT;
    return FT_STRING;
}

typedef struct field {
    char *name;
    size_t name_len;
    int type;
    unsigned parsers; /* P_* of the parsed occurrences */
    int parsed;       /* seen as a parsed label at least once */
    uint64_t *h;      /* distinct value hashes, open addressing, 0 = empty */
    size_t nh, cap;
} field;

typedef struct fields {
    arena *ar;
    field *v;
    size_t n, cap;
    /* the values endpoint: distinct values of one field */
    const char *want;
    size_t want_len;
    const char **vals;
    size_t *vlens;
    size_t nv, vcap;
} fields;

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
    h ^= h >> 31;
    return h ? h : 1;
}

/* 1 if new, 0 if present, CAIRN_ENOMEM. */
static int hset_add(arena *ar, uint64_t **v, size_t *n, size_t *cap, uint64_t h)
{
    if ((*n + 1) * 2 > *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        uint64_t *nv = arena_calloc(ar, nc, sizeof *nv);
        if (!nv) return CAIRN_ENOMEM;
        for (size_t i = 0; i < *cap; i++) {
            if (!(*v)[i]) continue;
            size_t j = (*v)[i] & (nc - 1);
            while (nv[j]) j = (j + 1) & (nc - 1);
            nv[j] = (*v)[i];
        }
        *v = nv;
        *cap = nc;
    }
    size_t j = h & (*cap - 1);
    while ((*v)[j]) {
        if ((*v)[j] == h) return 0;
        j = (j + 1) & (*cap - 1);
    }
    (*v)[j] = h;
    (*n)++;
    return 1;
}

static int is_error_label(const cairn_label *l)
{
    return (l->name_len == 9 && !memcmp(l->name, "__error__", 9)) ||
           (l->name_len == 17 && !memcmp(l->name, "__error_details__", 17));
}

static int field_add(fields *fs, const cairn_label *l, int parsed, unsigned parsers)
{
    if (is_error_label(l)) return CAIRN_OK;
    field *f = NULL;
    for (size_t i = 0; i < fs->n; i++)
        if (fs->v[i].name_len == l->name_len && !memcmp(fs->v[i].name, l->name, l->name_len)) {
            f = &fs->v[i];
            break;
        }
    if (!f) {
        if (fs->n == fs->cap) {
            size_t nc = fs->cap ? fs->cap * 2 : 32;
            field *nv = arena_alloc(fs->ar, nc * sizeof *nv);
            if (!nv) return CAIRN_ENOMEM;
            if (fs->n) memcpy(nv, fs->v, fs->n * sizeof *nv);
            fs->v = nv;
            fs->cap = nc;
        }
        f = &fs->v[fs->n++];
        memset(f, 0, sizeof *f);
        f->name = arena_strdup(fs->ar, l->name, l->name_len);
        if (!f->name) return CAIRN_ENOMEM;
        f->name_len = l->name_len;
    }
    if (parsed) f->parsed = 1, f->parsers |= parsers;
    int fresh = hset_add(fs->ar, &f->h, &f->nh, &f->cap, hash_bytes(l->value, l->value_len));
    if (fresh < 0) return fresh;
    if (!fresh) return CAIRN_OK;
    f->type = widen(f->type, value_type(l->value, l->value_len));
    if (fs->want && fs->want_len == l->name_len && !memcmp(fs->want, l->name, l->name_len)) {
        if (fs->nv == fs->vcap) {
            size_t nc = fs->vcap ? fs->vcap * 2 : 64;
            const char **nv = arena_alloc(fs->ar, nc * sizeof *nv);
            size_t *nl = arena_alloc(fs->ar, nc * sizeof *nl);
            if (!nv || !nl) return CAIRN_ENOMEM;
            if (fs->nv) memcpy(nv, fs->vals, fs->nv * sizeof *nv), memcpy(nl, fs->vlens, fs->nv * sizeof *nl);
            fs->vals = nv;
            fs->vlens = nl;
            fs->vcap = nc;
        }
        fs->vals[fs->nv] = arena_strdup(fs->ar, l->value, l->value_len);
        if (!fs->vals[fs->nv]) return CAIRN_ENOMEM;
        fs->vlens[fs->nv++] = l->value_len;
    }
    return CAIRN_OK;
}

/* The stages of `{x="y"} | <parser>` (parsed once per request). */
static int parser_pipe(arena *ar, const char *q, lpipe **out, cairn_err *e)
{
    ast_node *root;
    RETURN_IF_ERR(parse_query(ar, QLANG_LOGQL, q, strlen(q), &root, e));
    return lpipe_new(ar, root->u.log.stages, root->u.log.n_stages, NULL, out, e);
}

/* Collect fields (and, when fs->want is set, values) from the sample. */
static int collect_fields(fields *fs, const ast_node *root, const leval_result *res, cairn_err *e)
{
    unsigned qp = query_parsers(root);
    lpipe *pj = NULL, *pl = NULL;
    int rc = CAIRN_OK;
    if (!qp && ((rc = parser_pipe(fs->ar, "{x=\"y\"} | json", &pj, e)) ||
                (rc = parser_pipe(fs->ar, "{x=\"y\"} | logfmt", &pl, e))))
        goto out;
    cairn_label *base = NULL;
    size_t base_cap = 0;
    for (size_t i = 0; i < res->n_streams && !rc; i++) {
        const leval_stream *s = &res->streams[i];
        size_t nb = 0;
        for (size_t k = 0; k < s->ls.n && !rc; k++) {
            int o = s->origin ? s->origin[k] : LEVAL_ORIGIN_STREAM;
            if (o == LEVAL_ORIGIN_META) rc = field_add(fs, &s->ls.v[k], 0, 0);
            else if (o == LEVAL_ORIGIN_PARSED) rc = field_add(fs, &s->ls.v[k], 1, qp);
            else if (o == LEVAL_ORIGIN_STREAM) nb++;
        }
        if (rc || qp) continue;
        /* no parser in the query: parse each line as the builder would suggest */
        if (nb > base_cap) {
            base_cap = nb * 2;
            base = arena_alloc(fs->ar, base_cap * sizeof *base);
            if (!base) {
                rc = CAIRN_ENOMEM;
                break;
            }
        }
        nb = 0;
        for (size_t k = 0; k < s->ls.n; k++)
            if (!s->origin || s->origin[k] == LEVAL_ORIGIN_STREAM) base[nb++] = s->ls.v[k];
        for (size_t k = 0; k < s->n && !rc; k++) {
            const char *ln = s->e[k].line;
            size_t len = s->e[k].len, p = 0;
            while (p < len && (ln[p] == ' ' || ln[p] == '\t')) p++;
            int json = p < len && ln[p] == '{';
            lpipe *pp = json ? pj : pl;
            if ((rc = lpipe_stream(pp, base, nb))) break;
            int kept = lpipe_run(pp, s->e[k].t_ns, ln, len, NULL, 0);
            if (kept < 0) {
                rc = kept;
                break;
            }
            if (!kept) continue;
            const cairn_label *ls;
            size_t nl;
            if ((rc = lpipe_labels(pp, &ls, &nl))) break;
            const uint8_t *org = lpipe_label_origins(pp);
            for (size_t x = 0; x < nl && !rc; x++)
                if (org[x] == LPIPE_ORIGIN_PARSED) rc = field_add(fs, &ls[x], 1, json ? P_JSON : P_LOGFMT);
        }
    }
out:
    lpipe_free(pj);
    lpipe_free(pl);
    if (rc == CAIRN_ENOMEM) err_set(e, rc, "out of memory");
    else if (rc && !e->msg[0]) err_set(e, rc, "parsing the sample failed");
    return rc;
}

static int field_cmp(const void *a, const void *b)
{
    const field *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static void write_parsers(jw *w, const field *f)
{
    static const struct {
        unsigned bit;
        const char *name;
    } P[] = {{P_JSON, "json"}, {P_LOGFMT, "logfmt"}, {P_REGEXP, "regexp"}, {P_PATTERN, "pattern"},
             {P_UNPACK, "unpack"}, {P_LABEL_FORMAT, "label_format"}};
    if (!f->parsed) {
        jw_null(w);
        return;
    }
    jw_arr(w);
    for (size_t i = 0; i < sizeof P / sizeof P[0]; i++)
        if (f->parsers & P[i].bit) jw_str_z(w, P[i].name);
    jw_arr_end(w);
}

static void fields_answer(papi_ctx *c, http_req *r, const char *want)
{
    papi_req q;
    if (papi_req_init(&q, r)) {
        http_respond_text(r, 500, "out of memory");
        goto out;
    }
    uint32_t lines, limit;
    if (arg_u32(&q, "line_limit", 1000, LDET_MAX_LINES, &lines) || arg_u32(&q, "limit", 1000, UINT32_MAX, &limit))
        goto out;
    const ast_node *root;
    leval_result res;
    int64_t start, end;
    if (take_sample(c, &q, lines, &root, &res, &start, &end)) goto out;
    fields fs;
    memset(&fs, 0, sizeof fs);
    fs.ar = q.ar;
    fs.want = want;
    fs.want_len = want ? strlen(want) : 0;
    cairn_err e;
    memset(&e, 0, sizeof e);
    int rc = collect_fields(&fs, root, &res, &e);
    if (rc) {
        lapi_err_code(r, rc, e.msg);
        goto out;
    }
    jw w;
    jw_init(&w, 256 + fs.n * 96 + fs.nv * 32);
    jw_obj(&w);
    if (want) {
        /* sorted values, at most `limit` */
        size_t *ix = arena_alloc(q.ar, (fs.nv + 1) * sizeof *ix);
        for (size_t i = 0; ix && i < fs.nv; i++) ix[i] = i;
        /* insertion sort by bytes: the sample bounds nv to a few thousand */
        for (size_t i = 1; ix && i < fs.nv; i++) {
            size_t x = ix[i], j = i;
            while (j > 0) {
                size_t y = ix[j - 1], n = fs.vlens[x] < fs.vlens[y] ? fs.vlens[x] : fs.vlens[y];
                int cmp = memcmp(fs.vals[y], fs.vals[x], n);
                if (cmp < 0 || (cmp == 0 && fs.vlens[y] <= fs.vlens[x])) break;
                ix[j] = y;
                j--;
            }
            ix[j] = x;
        }
        jw_key(&w, "values");
        jw_arr(&w);
        for (size_t i = 0; ix && i < fs.nv && i < limit; i++) jw_str(&w, fs.vals[ix[i]], fs.vlens[ix[i]]);
        jw_arr_end(&w);
    } else {
        if (fs.n > 1) qsort(fs.v, fs.n, sizeof *fs.v, field_cmp);
        jw_key(&w, "fields");
        jw_arr(&w);
        for (size_t i = 0; i < fs.n && i < limit; i++) {
            const field *f = &fs.v[i];
            jw_obj(&w);
            jw_key(&w, "label");
            jw_str(&w, f->name, f->name_len);
            jw_key(&w, "type");
            jw_str_z(&w, FT_NAME[f->type]);
            jw_key(&w, "cardinality");
            jw_uint(&w, f->nh);
            jw_key(&w, "parsers");
            write_parsers(&w, f);
            jw_obj_end(&w);
        }
        jw_arr_end(&w);
    }
    jw_key(&w, "limit");
    jw_uint(&w, limit);
    jw_obj_end(&w);
    papi_send(r, &w, 200);
out:
    papi_req_free(&q);
}

void ldet_fields(papi_ctx *c, http_req *r) { fields_answer(c, r, NULL); }

void ldet_field_values(papi_ctx *c, http_req *r)
{
    const char *p = http_path(r), *pre = "/loki/api/v1/detected_field/";
    size_t pl = strlen(pre), n = strlen(p);
    if (n <= pl + 7 || strcmp(p + n - 7, "/values")) {
        http_respond_text(r, 404, "404 page not found");
        return;
    }
    char name[1024];
    size_t nl = n - pl - 7;
    if (nl >= sizeof name) {
        http_respond_text(r, 400, "invalid field name: too long");
        return;
    }
    memcpy(name, p + pl, nl);
    name[nl] = 0;
    fields_answer(c, r, name);
}

/* ==== patterns ========================================================================= */

typedef struct tmpl {
    const char **tok; /* NULL entry = <_> */
    size_t *tlen;
    size_t n;
    uint64_t count;
    int64_t *bucket; /* bucket index of every line, sorted at the end */
    size_t nb, bcap;
    size_t group_next; /* next template of the same group, or SIZE_MAX */
} tmpl;

typedef struct group {
    size_t n_tok;
    const char *first; /* NULL = <_> */
    size_t first_len;
    size_t head, count;
} group;

typedef struct pstate {
    arena *ar;
    tmpl *t;
    size_t nt, tcap;
    group *g;
    size_t ng, gcap;
} pstate;

static int has_digit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= '0' && s[i] <= '9') return 1;
    return 0;
}

/*
 * Split on blanks and mask variable tokens. Masked key=value tokens become
 * "key=" + <_> (two tokens). A line with more tokens than fit ends in one
 * <_> standing for the rest.
 */
static size_t tokenize(const char *ln, size_t len, const char **tok, size_t *tl, size_t cap)
{
    size_t n = 0, i = 0;
    while (i < len) {
        while (i < len && (ln[i] == ' ' || ln[i] == '\t')) i++;
        if (i == len) break;
        if (n + 3 > cap) {
            tok[n] = NULL, tl[n++] = 0;
            break;
        }
        size_t s = i;
        while (i < len && ln[i] != ' ' && ln[i] != '\t') i++;
        const char *w = ln + s;
        size_t wl = i - s;
        const char *eq = memchr(w, '=', wl);
        if (eq && eq > w && has_digit(eq + 1, wl - (size_t)(eq + 1 - w)) && !has_digit(w, (size_t)(eq - w))) {
            tok[n] = w, tl[n++] = (size_t)(eq + 1 - w);
            tok[n] = NULL, tl[n++] = 0;
        } else if (has_digit(w, wl)) {
            tok[n] = NULL, tl[n++] = 0;
        } else {
            tok[n] = w, tl[n++] = wl;
        }
    }
    return n;
}

static int tok_eq(const char *a, size_t al, const char *b, size_t bl)
{
    if (!a || !b) return !a && !b;
    return al == bl && !memcmp(a, b, al);
}

static int pat_add_line(pstate *ps, const char *ln, size_t len, int64_t bucket)
{
    const char *tok[LDET_MAX_TOKENS];
    size_t tl[LDET_MAX_TOKENS];
    size_t n = tokenize(ln, len, tok, tl, LDET_MAX_TOKENS);
    if (!n) return CAIRN_OK; /* blank lines have no pattern */
    /* the group */
    size_t gi = SIZE_MAX;
    for (size_t i = 0; i < ps->ng; i++)
        if (ps->g[i].n_tok == n && tok_eq(ps->g[i].first, ps->g[i].first_len, n ? tok[0] : NULL, n ? tl[0] : 0)) {
            gi = i;
            break;
        }
    if (gi == SIZE_MAX) {
        if (ps->ng == ps->gcap) {
            size_t nc = ps->gcap ? ps->gcap * 2 : 32;
            group *ng = arena_alloc(ps->ar, nc * sizeof *ng);
            if (!ng) return CAIRN_ENOMEM;
            if (ps->ng) memcpy(ng, ps->g, ps->ng * sizeof *ng);
            ps->g = ng;
            ps->gcap = nc;
        }
        gi = ps->ng++;
        ps->g[gi] = (group){n, n ? tok[0] : NULL, n ? tl[0] : 0, SIZE_MAX, 0};
    }
    group *g = &ps->g[gi];
    /* the most similar template of the group */
    size_t best = SIZE_MAX, best_same = 0;
    for (size_t ti = g->head; ti != SIZE_MAX; ti = ps->t[ti].group_next) {
        size_t same = 0;
        for (size_t k = 0; k < n; k++) same += !ps->t[ti].tok[k] || tok_eq(ps->t[ti].tok[k], ps->t[ti].tlen[k], tok[k], tl[k]);
        if (best == SIZE_MAX || same > best_same) best = ti, best_same = same;
    }
    int room = g->count < LDET_GROUP_TEMPLATES && ps->nt < LDET_MAX_TEMPLATES;
    tmpl *t;
    if (best != SIZE_MAX && (2 * best_same >= n || !room)) {
        t = &ps->t[best];
        for (size_t k = 0; k < n; k++)
            if (t->tok[k] && !tok_eq(t->tok[k], t->tlen[k], tok[k], tl[k])) t->tok[k] = NULL;
    } else {
        if (ps->nt == ps->tcap) {
            size_t nc = ps->tcap ? ps->tcap * 2 : 64;
            tmpl *nt = arena_alloc(ps->ar, nc * sizeof *nt);
            if (!nt) return CAIRN_ENOMEM;
            if (ps->nt) memcpy(nt, ps->t, ps->nt * sizeof *nt);
            ps->t = nt;
            ps->tcap = nc;
        }
        t = &ps->t[ps->nt];
        memset(t, 0, sizeof *t);
        t->n = n;
        t->tok = arena_alloc(ps->ar, (n + 1) * sizeof *t->tok);
        t->tlen = arena_alloc(ps->ar, (n + 1) * sizeof *t->tlen);
        if (!t->tok || !t->tlen) return CAIRN_ENOMEM;
        for (size_t k = 0; k < n; k++) {
            t->tok[k] = tok[k] ? arena_strdup(ps->ar, tok[k], tl[k]) : NULL;
            if (tok[k] && !t->tok[k]) return CAIRN_ENOMEM;
            t->tlen[k] = tl[k];
        }
        t->group_next = g->head;
        g->head = ps->nt++;
        g->count++;
    }
    if (t->nb == t->bcap) {
        size_t nc = t->bcap ? t->bcap * 2 : 8;
        int64_t *nb = arena_alloc(ps->ar, nc * sizeof *nb);
        if (!nb) return CAIRN_ENOMEM;
        if (t->nb) memcpy(nb, t->bucket, t->nb * sizeof *nb);
        t->bucket = nb;
        t->bcap = nc;
    }
    t->bucket[t->nb++] = bucket;
    t->count++;
    return CAIRN_OK;
}

/* The template as a pattern: single spaces, runs of <_> merged, "key=" glued to its masked value. */
static void write_pattern(jw *w, buf *b, const tmpl *t)
{
    b->len = 0;
    int prev_var = 0, glue = 0;
    for (size_t k = 0; k < t->n; k++) {
        if (!t->tok[k]) {
            if (prev_var) continue;
            if (b->len && !glue) buf_put(b, " ", 1);
            buf_put(b, "<_>", 3);
            prev_var = 1;
            glue = 0;
        } else {
            if (b->len) buf_put(b, " ", 1);
            buf_put(b, t->tok[k], t->tlen[k]);
            prev_var = 0;
            glue = t->tlen[k] && t->tok[k][t->tlen[k] - 1] == '=';
        }
    }
    jw_str(w, (const char *)b->p, b->len);
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int tmpl_count_desc(const void *a, const void *b)
{
    const tmpl *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return 0;
}

void ldet_patterns(papi_ctx *c, http_req *r)
{
    papi_req q;
    buf b;
    buf_init(&b);
    if (papi_req_init(&q, r)) {
        http_respond_text(r, 500, "out of memory");
        goto out;
    }
    int64_t step_ms = 0;
    const char *s = papi_arg(&q, "step");
    if (s && (papi_parse_duration(s, &step_ms) || step_ms <= 0)) {
        http_respond_text(r, 400, "invalid step: cannot parse \"%.100s\"", s);
        goto out;
    }
    const ast_node *root;
    leval_result res;
    int64_t start, end;
    if (take_sample(c, &q, LDET_PATTERN_LINES, &root, &res, &start, &end)) goto out;
    if (!step_ms) {
        step_ms = (end - start) / 250 / 1000000;
        if (step_ms < 10000) step_ms = 10000;
    }
    if ((end - start) / 1000000 / step_ms > 11000) step_ms = (end - start) / 1000000 / 11000 + 1;
    int64_t step_ns = step_ms * 1000000;
    pstate ps;
    memset(&ps, 0, sizeof ps);
    ps.ar = q.ar;
    int rc = CAIRN_OK;
    for (size_t i = 0; i < res.n_streams && !rc; i++)
        for (size_t k = 0; k < res.streams[i].n && !rc; k++) {
            const leval_entry *en = &res.streams[i].e[k];
            int64_t t = en->t_ns, bk = t / step_ns - (t % step_ns < 0);
            rc = pat_add_line(&ps, en->line, en->len, bk);
        }
    if (rc) {
        http_respond_text(r, 500, "out of memory");
        goto out;
    }
    if (ps.nt > 1) qsort(ps.t, ps.nt, sizeof *ps.t, tmpl_count_desc);
    jw w;
    jw_init(&w, 256 + ps.nt * 128);
    papi_begin(&w);
    jw_arr(&w);
    for (size_t i = 0; i < ps.nt; i++) {
        tmpl *t = &ps.t[i];
        jw_obj(&w);
        jw_key(&w, "pattern");
        write_pattern(&w, &b, t);
        jw_key(&w, "samples");
        jw_arr(&w);
        qsort(t->bucket, t->nb, sizeof *t->bucket, i64_cmp);
        for (size_t k = 0; k < t->nb;) {
            size_t j = k;
            while (j < t->nb && t->bucket[j] == t->bucket[k]) j++;
            jw_arr(&w);
            jw_int(&w, t->bucket[k] * step_ms / 1000);
            jw_uint(&w, j - k);
            jw_arr_end(&w);
            k = j;
        }
        jw_arr_end(&w);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    papi_end(r, &w, NULL);
out:
    buf_free(&b);
    papi_req_free(&q);
}
