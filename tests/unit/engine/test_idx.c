/*
 * test_idx.c — the label index: add/find with forced hash collisions, select
 * with every matcher kind and Prometheus' empty-value semantics (checked
 * against a brute-force oracle), kinds never mixing, time bounds through
 * keep(), label names/values, persistence across reopen, OOM in select.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "idx.h"
#include "kv.h"
#include "labels.h"
#include "match.h"
#include "mem.h"
#include "support.h"

#define M CAIRN_KIND_METRIC
#define G CAIRN_KIND_LOG

/* The dataset: id = index. "" values are dropped by labels_canon. */
static const struct {
    int kind;
    const char *l[5][2];
} data[] = {
    {M, {{"__name__", "up"}, {"job", "api"}, {"instance", "h1"}}},
    {M, {{"__name__", "up"}, {"job", "api"}, {"instance", "h2"}}},
    {M, {{"__name__", "up"}, {"job", "db"}, {"instance", "h1"}, {"env", "prod"}}},
    {M, {{"__name__", "up"}, {"job", "db"}, {"instance", "h3"}, {"env", ""}}},
    {M, {{"__name__", "req"}, {"job", "api"}, {"instance", "h1"}, {"path", "/a"}}},
    {M, {{"__name__", "req"}, {"job", "api"}, {"instance", "h2"}, {"path", "/b"}}},
    {M, {{"__name__", "req"}, {"job", "db"}, {"env", "dev"}}},
    {M, {{"__name__", "mem"}, {"instance", "h3"}}},
    {M, {{"__name__", "mem"}, {"instance", "h10"}, {"env", "prod"}}},
    {M, {{"__name__", "mem"}, {"job", "x"}}},
    {G, {{"app", "api"}, {"level", "info"}}},
    {G, {{"app", "api"}, {"level", "error"}, {"job", "api"}}},
    {G, {{"job", "db"}}},
    {M, {{"job", "db"}}}, /* same canonical bytes as 12, other kind */
};
#define N_DATA (sizeof data / sizeof data[0])

typedef struct fx {
    char *dir;
    kv *k;
    kv_txn *t;
    buf canon[N_DATA];
} fx;

static void canon_of(size_t i, buf *b)
{
    cairn_label ls[5];
    size_t n = 0;
    for (; n < 5 && data[i].l[n][0]; n++)
        ls[n] = (cairn_label){data[i].l[n][0], strlen(data[i].l[n][0]), data[i].l[n][1], strlen(data[i].l[n][1])};
    buf_init(b);
    assert_int_equal(labels_canon(ls, n, NULL, b, NULL), CAIRN_OK);
}

static void load(fx *f)
{
    cairn_err e;
    assert_int_equal(kv_begin(f->k, 1, &f->t, &e), CAIRN_OK);
    for (size_t i = 0; i < N_DATA; i++) {
        canon_of(i, &f->canon[i]);
        uint64_t h = labels_hash(f->canon[i].p, f->canon[i].len);
        if (idx_add_series(f->t, (uint32_t)i, data[i].kind, f->canon[i].p, f->canon[i].len, h, &e))
            fail_msg("add %zu: %s", i, e.msg);
        /* series i has data in [100 i, 100 i + 50] */
        assert_int_equal(idx_set_range(f->t, (uint32_t)i, 100 * (int64_t)i, 100 * (int64_t)i + 50, &e), CAIRN_OK);
    }
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = t_tmpdir("idx");
    if (kv_open(f->dir, 64ULL << 20, &f->k, NULL)) return -1;
    load(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    kv_abort(f->t);
    kv_close(f->k);
    for (size_t i = 0; i < N_DATA; i++) buf_free(&f->canon[i]);
    t_tmpdir_free(f->dir);
    free(f);
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------------- */

typedef struct spec {
    int op;
    const char *name, *value;
} spec;

static void compile(const spec *s, size_t n, match *m)
{
    for (size_t i = 0; i < n; i++) {
        cairn_matcher src = {s[i].op, s[i].name, strlen(s[i].name), s[i].value, strlen(s[i].value)};
        cairn_err e;
        if (match_compile(&m[i], &src, &e)) fail_msg("%s", e.msg);
    }
}

/* Brute force: every series of kind whose label values (or "" when absent) satisfy all. */
static size_t oracle(fx *f, int kind, const match *m, size_t n, uint32_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < N_DATA; i++) {
        if (data[i].kind != kind) continue;
        int ok = 1;
        for (size_t j = 0; j < n && ok; j++) {
            const char *v = "";
            size_t vn = 0;
            labels_get(f->canon[i].p, f->canon[i].len, m[j].name, m[j].name_len, &v, &vn);
            ok = match_value(&m[j], v, vn) == 1;
        }
        if (ok) out[k++] = (uint32_t)i;
    }
    return k;
}

static void check_select(fx *f, int kind, const spec *s, size_t n, const uint32_t *want, size_t nwant)
{
    match m[8];
    compile(s, n, m);
    idx_ids ids;
    cairn_err e;
    assert_int_equal(idx_select(f->t, kind, m, n, NULL, NULL, &ids, &e), CAIRN_OK);
    uint32_t o[N_DATA];
    size_t no = oracle(f, kind, m, n, o);
    int bad = ids.n != nwant || (nwant && memcmp(ids.v, want, nwant * 4)) || no != nwant ||
              (nwant && memcmp(o, want, nwant * 4));
    if (bad) {
        char got[256] = "", orc[256] = "";
        for (size_t i = 0; i < ids.n; i++) snprintf(got + strlen(got), sizeof got - strlen(got), "%u ", ids.v[i]);
        for (size_t i = 0; i < no; i++) snprintf(orc + strlen(orc), sizeof orc - strlen(orc), "%u ", o[i]);
        fail_msg("select %s%s: got [%s] oracle [%s], want %zu ids", s[0].name, s[0].value, got, orc, nwant);
    }
    idx_ids_free(&ids);
    for (size_t i = 0; i < n; i++) match_free(&m[i]);
}

#define SEL(kind, specs, ...)                                                                                 \
    do {                                                                                                      \
        static const spec s_[] = specs;                                                                       \
        static const uint32_t w_[] = {__VA_ARGS__};                                                           \
        check_select(f, kind, s_, sizeof s_ / sizeof s_[0], w_, sizeof w_ / sizeof w_[0]);                    \
    } while (0)
#define SEL0(kind, specs)                                                                                     \
    do {                                                                                                      \
        static const spec s_[] = specs;                                                                       \
        check_select(f, kind, s_, sizeof s_ / sizeof s_[0], NULL, 0);                                         \
    } while (0)
#define S(...) {__VA_ARGS__}
#define EQ CAIRN_MATCH_EQ
#define NE CAIRN_MATCH_NE
#define RE CAIRN_MATCH_RE
#define NRE CAIRN_MATCH_NRE

/* ---- tests -------------------------------------------------------------------------------- */

static void test_idx_find(void **state)
{
    fx *f = *state;
    for (size_t i = 0; i < N_DATA; i++) {
        uint32_t id = 999;
        uint64_t h = labels_hash(f->canon[i].p, f->canon[i].len);
        assert_int_equal(idx_find(f->t, h, data[i].kind, f->canon[i].p, f->canon[i].len, &id), CAIRN_OK);
        assert_int_equal(id, i);
        int kind;
        int64_t mint, maxt;
        const uint8_t *c;
        size_t cl;
        assert_int_equal(idx_get_series(f->t, (uint32_t)i, &kind, &mint, &maxt, &c, &cl), CAIRN_OK);
        assert_int_equal(kind, data[i].kind);
        assert_int_equal(mint, 100 * (int64_t)i);
        assert_int_equal(maxt, 100 * (int64_t)i + 50);
        assert_int_equal(cl, f->canon[i].len);
        assert_memory_equal(c, f->canon[i].p, cl);
    }
    /* same bytes, other kind: 12 is a log stream, 13 a metric */
    uint32_t id;
    uint64_t h = labels_hash(f->canon[12].p, f->canon[12].len);
    assert_int_equal(idx_find(f->t, h, G, f->canon[12].p, f->canon[12].len, &id), CAIRN_OK);
    assert_int_equal(id, 12);
    assert_int_equal(idx_find(f->t, h, M, f->canon[12].p, f->canon[12].len, &id), CAIRN_OK);
    assert_int_equal(id, 13);
    /* an unknown set, and a known set under the wrong hash */
    cairn_label ls[] = {CAIRN_LABEL("__name__", "nope")};
    buf b;
    buf_init(&b);
    assert_int_equal(labels_canon(ls, 1, NULL, &b, NULL), CAIRN_OK);
    assert_int_equal(idx_find(f->t, labels_hash(b.p, b.len), M, b.p, b.len, &id), CAIRN_NOTFOUND);
    assert_int_equal(idx_find(f->t, 12345, M, f->canon[0].p, f->canon[0].len, &id), CAIRN_NOTFOUND);
    buf_free(&b);
    assert_int_equal(idx_get_series(f->t, 777, NULL, NULL, NULL, NULL, NULL), CAIRN_NOTFOUND);
}

static void test_idx_forced_collision(void **state)
{
    fx *f = *state;
    cairn_err e;
    cairn_label a[] = {CAIRN_LABEL("__name__", "col_a")}, b[] = {CAIRN_LABEL("__name__", "col_b")},
                c[] = {CAIRN_LABEL("__name__", "col_c")};
    buf ba, bb, bc;
    buf_init(&ba), buf_init(&bb), buf_init(&bc);
    assert_int_equal(labels_canon(a, 1, NULL, &ba, NULL), CAIRN_OK);
    assert_int_equal(labels_canon(b, 1, NULL, &bb, NULL), CAIRN_OK);
    assert_int_equal(labels_canon(c, 1, NULL, &bc, NULL), CAIRN_OK);
    const uint64_t h = 0xC011151011ULL; /* one hash for different label sets */
    assert_int_equal(idx_add_series(f->t, 100, M, ba.p, ba.len, h, &e), CAIRN_OK);
    assert_int_equal(idx_add_series(f->t, 101, M, bb.p, bb.len, h, &e), CAIRN_OK);
    uint32_t id;
    assert_int_equal(idx_find(f->t, h, M, ba.p, ba.len, &id), CAIRN_OK);
    assert_int_equal(id, 100);
    assert_int_equal(idx_find(f->t, h, M, bb.p, bb.len, &id), CAIRN_OK);
    assert_int_equal(id, 101);
    assert_int_equal(idx_find(f->t, h, M, bc.p, bc.len, &id), CAIRN_NOTFOUND);
    assert_int_equal(idx_find(f->t, h, G, ba.p, ba.len, &id), CAIRN_NOTFOUND);
    /* both are selectable on their own */
    spec s[] = {{EQ, "__name__", "col_b"}};
    match m;
    compile(s, 1, &m);
    idx_ids ids;
    assert_int_equal(idx_select(f->t, M, &m, 1, NULL, NULL, &ids, &e), CAIRN_OK);
    assert_int_equal(ids.n, 1);
    assert_int_equal(ids.v[0], 101);
    idx_ids_free(&ids);
    match_free(&m);
    buf_free(&ba), buf_free(&bb), buf_free(&bc);
}

static void test_idx_select_kinds(void **state)
{
    fx *f = *state;
    /* equality */
    SEL(M, S({EQ, "__name__", "up"}), 0, 1, 2, 3);
    SEL(M, S({EQ, "__name__", "up"}, {EQ, "job", "db"}), 2, 3);
    SEL(M, S({EQ, "job", "api"}), 0, 1, 4, 5);
    SEL0(M, S({EQ, "__name__", "nope"}));
    SEL0(M, S({EQ, "__name__", "up"}, {EQ, "job", "x"}));
    /* != with a value: also series without the label */
    SEL(M, S({NE, "job", "api"}), 2, 3, 6, 7, 8, 9, 13);
    SEL(M, S({EQ, "__name__", "mem"}, {NE, "job", "x"}), 7, 8);
    /* empty value: absence */
    SEL(M, S({EQ, "env", ""}), 0, 1, 3, 4, 5, 7, 9, 13);
    SEL(M, S({NE, "env", ""}), 2, 6, 8);
    SEL(M, S({EQ, "__name__", "up"}, {EQ, "env", ""}), 0, 1, 3);
    SEL0(M, S({EQ, "nolabel", "x"}));
    /* regexes */
    SEL(M, S({RE, "instance", "h1.*"}), 0, 2, 4, 8);
    SEL(M, S({RE, "instance", "h1"}), 0, 2, 4);
    SEL(M, S({RE, "instance", "h(1|3)"}), 0, 2, 3, 4, 7);
    SEL(M, S({RE, "job", "api|db"}), 0, 1, 2, 3, 4, 5, 6, 13);
    SEL(M, S({RE, "job", ".+"}), 0, 1, 2, 3, 4, 5, 6, 9, 13);
    SEL(M, S({RE, "job", ".*"}), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13);
    SEL(M, S({RE, "env", "|dev"}), 0, 1, 3, 4, 5, 6, 7, 9, 13);
    SEL(M, S({RE, "path", "/.*"}), 4, 5);
    SEL(M, S({RE, "__name__", ".*e.*"}), 4, 5, 6, 7, 8, 9);
    SEL(M, S({RE, "__name__", "(?i)UP"}), 0, 1, 2, 3);
    /* negative regexes */
    SEL(M, S({NRE, "instance", "h1.*"}), 1, 3, 5, 6, 7, 9, 13);
    SEL(M, S({NRE, "job", "api|db"}), 7, 8, 9);
    SEL(M, S({NRE, "job", ".*"}));
    SEL(M, S({NRE, "env", ""}), 2, 6, 8);
    SEL(M, S({EQ, "__name__", "up"}, {NRE, "instance", "h[12]"}), 3);
    /* several kinds of matcher at once */
    SEL(M, S({RE, "__name__", "up|req"}, {NE, "instance", "h1"}, {EQ, "env", ""}), 1, 3, 5);
    /* logs: job=api exists on metrics too, but only the stream is returned */
    SEL(G, S({EQ, "job", "api"}), 11);
    SEL(G, S({EQ, "job", "db"}), 12);
    SEL(G, S({EQ, "job", ""}), 10);
    SEL(G, S({RE, "level", "info|error"}, {EQ, "app", "api"}), 10, 11);
    SEL0(G, S({EQ, "__name__", "up"}));
}

static void test_idx_select_all_of_kind(void **state)
{
    fx *f = *state;
    idx_ids ids;
    cairn_err e;
    assert_int_equal(idx_select(f->t, M, NULL, 0, NULL, NULL, &ids, &e), CAIRN_OK);
    static const uint32_t wm[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13};
    assert_int_equal(ids.n, 11);
    assert_memory_equal(ids.v, wm, sizeof wm);
    idx_ids_free(&ids);
    assert_int_equal(idx_select(f->t, G, NULL, 0, NULL, NULL, &ids, &e), CAIRN_OK);
    static const uint32_t wg[] = {10, 11, 12};
    assert_int_equal(ids.n, 3);
    assert_memory_equal(ids.v, wg, sizeof wg);
    idx_ids_free(&ids);
    assert_int_equal(idx_select(f->t, 7, NULL, 0, NULL, NULL, &ids, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "unknown kind 7"));
    idx_ids_free(&ids);
}

/* Random combinations of matchers against the brute-force oracle. */
static void test_idx_select_random_vs_oracle(void **state)
{
    fx *f = *state;
    static const char *names[] = {"__name__", "job", "instance", "env", "path", "app", "level", "nolabel"};
    static const char *vals[] = {"", "up", "api", "db", "h1", "h1.*", "h(1|3)", ".*", ".+", "|prod", "prod|dev",
                                 "x", "/.*", ".*e.*", "mem|req|up", "h10"};
    t_rng_reset();
    for (int iter = 0; iter < 600; iter++) {
        spec s[3];
        size_t n = t_randn(4);
        for (size_t i = 0; i < n; i++)
            s[i] = (spec){(int)t_randn(4), names[t_randn(8)], vals[t_randn(sizeof vals / sizeof vals[0])]};
        match m[3];
        compile(s, n, m);
        int kind = t_randn(4) ? M : G;
        uint32_t o[N_DATA];
        size_t no = oracle(f, kind, m, n, o);
        idx_ids ids;
        assert_int_equal(idx_select(f->t, kind, m, n, NULL, NULL, &ids, NULL), CAIRN_OK);
        if (ids.n != no || (no && memcmp(ids.v, o, no * 4)))
            fail_msg("iter %d: %zu matchers, first %s %d %s: got %zu ids, oracle %zu", iter, n, n ? s[0].name : "",
                     n ? s[0].op : -1, n ? s[0].value : "", ids.n, no);
        idx_ids_free(&ids);
        for (size_t i = 0; i < n; i++) match_free(&m[i]);
    }
}

typedef struct range_q {
    kv_txn *t;
    int64_t mint, maxt;
} range_q;

static int keep_in_range(void *ctx, uint32_t id)
{
    range_q *q = ctx;
    int64_t mint, maxt;
    if (idx_get_series(q->t, id, NULL, &mint, &maxt, NULL, NULL)) return 0;
    return mint <= q->maxt && maxt >= q->mint;
}

static void test_idx_time_bounds(void **state)
{
    fx *f = *state;
    cairn_err e;
    /* ranges only widen */
    assert_int_equal(idx_set_range(f->t, 4, 420, 440, &e), CAIRN_OK);
    int64_t mint, maxt;
    assert_int_equal(idx_get_series(f->t, 4, NULL, &mint, &maxt, NULL, NULL), CAIRN_OK);
    assert_int_equal(mint, 400);
    assert_int_equal(maxt, 450);
    assert_int_equal(idx_set_range(f->t, 4, 390, 460, &e), CAIRN_OK);
    assert_int_equal(idx_get_series(f->t, 4, NULL, &mint, &maxt, NULL, NULL), CAIRN_OK);
    assert_int_equal(mint, 390);
    assert_int_equal(maxt, 460);
    assert_int_equal(idx_set_range(f->t, 555, 1, 2, &e), CAIRN_NOTFOUND);
    assert_non_null(strstr(e.msg, "series 555 not in the index"));

    /* [120, 360] overlaps series 1 [100,150], 2 [200,250], 3 [300,350] */
    spec s[] = {{EQ, "__name__", "up"}};
    match m;
    compile(s, 1, &m);
    range_q q = {f->t, 120, 360};
    idx_ids ids;
    assert_int_equal(idx_select(f->t, M, &m, 1, keep_in_range, &q, &ids, &e), CAIRN_OK);
    static const uint32_t w[] = {1, 2, 3};
    assert_int_equal(ids.n, 3);
    assert_memory_equal(ids.v, w, sizeof w);
    idx_ids_free(&ids);
    q.mint = 10000, q.maxt = 20000;
    assert_int_equal(idx_select(f->t, M, &m, 1, keep_in_range, &q, &ids, &e), CAIRN_OK);
    assert_int_equal(ids.n, 0);
    idx_ids_free(&ids);
    match_free(&m);
}

typedef struct strs {
    char s[32][16];
    int n;
} strs;

static int collect(void *ctx, const char *s, size_t n)
{
    strs *c = ctx;
    if (c->n >= 32 || n >= 16) return -99;
    memcpy(c->s[c->n], s, n);
    c->s[c->n++][n] = 0;
    return 0;
}

static void expect_strs(const strs *c, const char *const *want, int n)
{
    if (c->n != n) {
        char got[512] = "";
        for (int i = 0; i < c->n; i++) snprintf(got + strlen(got), sizeof got - strlen(got), "%s,", c->s[i]);
        fail_msg("got %d strings [%s], want %d (%s...)", c->n, got, n, n ? want[0] : "");
    }
    for (int i = 0; i < n; i++) assert_string_equal(c->s[i], want[i]);
}

static void test_idx_label_names_values(void **state)
{
    fx *f = *state;
    cairn_err e;
    strs c = {0};
    assert_int_equal(idx_label_names(f->t, M, NULL, NULL, NULL, collect, &c, &e), CAIRN_OK);
    static const char *const mn[] = {"__name__", "env", "instance", "job", "path"};
    expect_strs(&c, mn, 5);
    c.n = 0;
    assert_int_equal(idx_label_names(f->t, G, NULL, NULL, NULL, collect, &c, &e), CAIRN_OK);
    static const char *const gn[] = {"app", "job", "level"};
    expect_strs(&c, gn, 3);

    c.n = 0;
    assert_int_equal(idx_label_values(f->t, M, "job", 3, NULL, NULL, NULL, collect, &c, &e), CAIRN_OK);
    static const char *const jv[] = {"api", "db", "x"};
    expect_strs(&c, jv, 3);
    c.n = 0;
    assert_int_equal(idx_label_values(f->t, G, "job", 3, NULL, NULL, NULL, collect, &c, &e), CAIRN_OK);
    static const char *const gjv[] = {"api", "db"};
    expect_strs(&c, gjv, 2);
    c.n = 0;
    assert_int_equal(idx_label_values(f->t, M, "nolabel", 7, NULL, NULL, NULL, collect, &c, &e), CAIRN_OK);
    assert_int_equal(c.n, 0);

    /* bounded by time through keep: [0, 250] covers series 0, 1, 2 */
    range_q q = {f->t, 0, 250};
    c.n = 0;
    assert_int_equal(idx_label_names(f->t, M, NULL, keep_in_range, &q, collect, &c, &e), CAIRN_OK);
    static const char *const tn[] = {"__name__", "env", "instance", "job"};
    expect_strs(&c, tn, 4);
    c.n = 0;
    assert_int_equal(idx_label_values(f->t, M, "instance", 8, NULL, keep_in_range, &q, collect, &c, &e), CAIRN_OK);
    static const char *const tv[] = {"h1", "h2"};
    expect_strs(&c, tv, 2);

    /* over given ids (a select's result): sorted and unique */
    idx_ids ids = {0};
    uint32_t some[] = {4, 5, 6, 8};
    ids.v = some, ids.n = 4;
    c.n = 0;
    assert_int_equal(idx_label_names(f->t, M, &ids, NULL, NULL, collect, &c, &e), CAIRN_OK);
    static const char *const in[] = {"__name__", "env", "instance", "job", "path"};
    expect_strs(&c, in, 5);
    c.n = 0;
    assert_int_equal(idx_label_values(f->t, M, "__name__", 8, &ids, NULL, NULL, collect, &c, &e), CAIRN_OK);
    static const char *const iv[] = {"mem", "req"};
    expect_strs(&c, iv, 2);
    c.n = 0;
    assert_int_equal(idx_label_values(f->t, M, "env", 3, &ids, keep_in_range, &(range_q){f->t, 0, 700}, collect, &c,
                                      &e),
                     CAIRN_OK);
    static const char *const ev[] = {"dev"};
    expect_strs(&c, ev, 1);
    /* a series of the other kind in ids is skipped */
    uint32_t mixed[] = {11};
    ids.v = mixed, ids.n = 1;
    c.n = 0;
    assert_int_equal(idx_label_names(f->t, M, &ids, NULL, NULL, collect, &c, &e), CAIRN_OK);
    assert_int_equal(c.n, 0);
    /* emit can stop the walk; its result comes back */
    strs full = {0};
    full.n = 32;
    assert_int_equal(idx_label_names(f->t, M, NULL, NULL, NULL, collect, &full, &e), -99);
}

typedef struct scan_ctx {
    uint32_t ids[64];
    int n;
} scan_ctx;

static int scan_fn(void *ctx, uint32_t id, int kind, int64_t mint, int64_t maxt, const uint8_t *canon, size_t len)
{
    scan_ctx *s = ctx;
    (void)mint, (void)maxt;
    if (labels_count(canon, len) <= 0 || kind != data[id].kind) return -50;
    s->ids[s->n++] = id;
    return s->n == 64 ? 1 : 0;
}

static void test_idx_persist_and_scan(void **state)
{
    fx *f = *state;
    cairn_err e;
    assert_int_equal(kv_commit(f->t, &e), CAIRN_OK);
    f->t = NULL;
    kv_close(f->k);
    assert_int_equal(kv_open(f->dir, 64ULL << 20, &f->k, &e), CAIRN_OK);
    assert_int_equal(kv_begin(f->k, 0, &f->t, &e), CAIRN_OK);
    scan_ctx s = {0};
    assert_int_equal(idx_scan_series(f->t, scan_fn, &s), CAIRN_OK);
    assert_int_equal(s.n, N_DATA);
    for (int i = 0; i < s.n; i++) assert_int_equal(s.ids[i], i);
    for (size_t i = 0; i < N_DATA; i++) {
        uint32_t id;
        assert_int_equal(idx_find(f->t, labels_hash(f->canon[i].p, f->canon[i].len), data[i].kind, f->canon[i].p,
                                  f->canon[i].len, &id),
                         CAIRN_OK);
        assert_int_equal(id, i);
    }
    SEL(M, S({EQ, "__name__", "up"}, {NE, "env", ""}), 2);
}

static void test_idx_bad_input(void **state)
{
    fx *f = *state;
    cairn_err e;
    static const uint8_t bad[] = {0x02, 0x01, 'a'};
    assert_int_equal(idx_add_series(f->t, 50, M, bad, sizeof bad, 1, &e), CAIRN_ECORRUPT);
    assert_non_null(strstr(e.msg, "series 50: malformed canonical label set"));
    assert_int_equal(idx_add_series(f->t, 50, 9, f->canon[0].p, f->canon[0].len, 1, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "unknown kind 9"));
    /* a damaged record reads as corrupt */
    uint8_t k[4];
    be32_put(k, 60);
    assert_int_equal(kv_put(f->t, KV_SERIES, k, 4, "xx", 2, 0, &e), CAIRN_OK);
    assert_int_equal(idx_get_series(f->t, 60, NULL, NULL, NULL, NULL, NULL), CAIRN_ECORRUPT);
    assert_int_equal(idx_set_range(f->t, 60, 0, 1, &e), CAIRN_ECORRUPT);
    assert_non_null(strstr(e.msg, "series 60: malformed record"));
}

static void test_idx_select_oom(void **state)
{
    fx *f = *state;
    /* a mix that allocates on every path: a set, a scan with a merge, a subtraction */
    spec s[] = {{RE, "job", "api|db"}, {RE, "instance", "h.*"}, {NE, "env", "prod"}};
    match m[3];
    compile(s, 3, m);
    for (int64_t n = 0;; n++) {
        idx_ids ids;
        cairn_err e;
        mem_fail_after(n);
        int rc = idx_select(f->t, M, m, 3, NULL, NULL, &ids, &e);
        mem_fail_after(-1);
        if (rc == CAIRN_OK) {
            static const uint32_t w[] = {0, 1, 3, 4, 5};
            assert_int_equal(ids.n, 5);
            assert_memory_equal(ids.v, w, sizeof w);
            idx_ids_free(&ids);
            assert_true(n >= 3);
            break;
        }
        assert_int_equal(rc, CAIRN_ENOMEM);
        assert_non_null(strstr(e.msg, "out of memory"));
        assert_null(ids.v);
        assert_true(n < 200);
    }
    for (int i = 0; i < 3; i++) match_free(&m[i]);
}

/* The examples of docs/format/lmdb.md, byte for byte. */
static void test_idx_golden_layout(void **state)
{
    (void)state;
    char *dir = t_tmpdir("idxgold");
    kv *k;
    kv_txn *t;
    cairn_err e;
    assert_int_equal(kv_open(dir, 1 << 20, &k, &e), CAIRN_OK);
    assert_int_equal(kv_begin(k, 1, &t, &e), CAIRN_OK);
    cairn_label up[] = {CAIRN_LABEL("__name__", "up")}, job[] = {CAIRN_LABEL("job", "api")};
    buf a, b;
    buf_init(&a), buf_init(&b);
    assert_int_equal(labels_canon(up, 1, NULL, &a, NULL), CAIRN_OK);
    assert_int_equal(labels_canon(job, 1, NULL, &b, NULL), CAIRN_OK);
    assert_int_equal(idx_add_series(t, 7, M, a.p, a.len, labels_hash(a.p, a.len), &e), CAIRN_OK);
    assert_int_equal(idx_set_range(t, 7, 1000, 2000, &e), CAIRN_OK);
    assert_int_equal(idx_add_series(t, 5, M, b.p, b.len, labels_hash(b.p, b.len), &e), CAIRN_OK);
    static const uint8_t rec[] = {0x01, 0xe8, 0x03, 0, 0, 0, 0, 0, 0, 0xd0, 0x07, 0, 0, 0, 0, 0, 0,
                                  0x01, 0x08, '_', '_', 'n', 'a', 'm', 'e', '_', '_', 0x02, 'u', 'p'};
    const void *v;
    size_t vn;
    assert_int_equal(kv_get(t, KV_SERIES, "\0\0\0\7", 4, &v, &vn), CAIRN_OK);
    assert_int_equal(vn, sizeof rec);
    assert_memory_equal(v, rec, sizeof rec);
    static const uint8_t pk[] = {0x01, 'j', 'o', 'b', 0x00, 'a', 'p', 'i'};
    assert_int_equal(kv_get(t, KV_POSTINGS, pk, sizeof pk, &v, &vn), CAIRN_OK);
    assert_int_equal(vn, 4);
    assert_memory_equal(v, "\0\0\0\5", 4);
    kv_cur *c;
    assert_int_equal(kv_cur_open(t, KV_POSTINGS, &c), CAIRN_OK);
    assert_int_equal(kv_cur_seek_exact(c, "\x01\x00", 2, &v, &vn), CAIRN_OK); /* all-series posting */
    assert_memory_equal(v, "\0\0\0\5", 4);
    assert_int_equal(kv_cur_next_dup(c, &v, &vn), CAIRN_OK);
    assert_memory_equal(v, "\0\0\0\7", 4);
    kv_cur_close(c);
    uint8_t hk[8];
    be64_put(hk, labels_hash(a.p, a.len));
    assert_int_equal(kv_get(t, KV_HASH, hk, 8, &v, &vn), CAIRN_OK);
    assert_memory_equal(v, "\0\0\0\7", 4);
    kv_abort(t);
    kv_close(k);
    buf_free(&a), buf_free(&b);
    t_tmpdir_free(dir);
}

/* ---- long labels (issue 10, item 3) ------------------------------------------------------------ */

/* A value (or name) too long for a plain LMDB key: hashed key, full value kept in the series record. */
static char *rep_str(char c, size_t n, char last)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    if (last) s[n - 1] = last;
    s[n] = 0;
    return s;
}

static void add_set(kv_txn *t, uint32_t id, int kind, const cairn_label *ls, size_t n)
{
    buf b;
    buf_init(&b);
    cairn_err e;
    assert_int_equal(labels_canon(ls, n, NULL, &b, &e), CAIRN_OK);
    if (idx_add_series(t, id, kind, b.p, b.len, labels_hash(b.p, b.len), &e)) fail_msg("add %u: %s", id, e.msg);
    buf_free(&b);
}

static size_t sel_ids(kv_txn *t, int op, const char *name, const char *value, uint32_t *out)
{
    cairn_matcher src = {op, name, strlen(name), value, strlen(value)};
    match m;
    cairn_err e;
    if (match_compile(&m, &src, &e)) fail_msg("%s", e.msg);
    idx_ids ids;
    assert_int_equal(idx_select(t, M, &m, 1, NULL, NULL, &ids, &e), CAIRN_OK);
    size_t n = ids.n;
    if (out) memcpy(out, ids.v, n * sizeof *out);
    idx_ids_free(&ids);
    match_free(&m);
    return n;
}

/* The hashed key of (kind, name, value) with seq. */
static void long_key(uint8_t k[21], int kind, const char *name, const char *val, uint32_t seq)
{
    k[0] = (uint8_t)(kind | 0x80);
    be64_put(k + 1, labels_hash((const uint8_t *)name, strlen(name)));
    be64_put(k + 9, labels_hash((const uint8_t *)val, strlen(val)));
    be32_put(k + 17, seq);
}

/* Strings of any length, owned. */
typedef struct lstrs {
    char **v;
    size_t n, cap;
} lstrs;

static int lcollect(void *ctx, const char *s, size_t n)
{
    lstrs *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        assert_non_null(c->v);
    }
    c->v[c->n] = malloc(n + 1);
    assert_non_null(c->v[c->n]);
    memcpy(c->v[c->n], s, n);
    c->v[c->n++][n] = 0;
    return 0;
}

static void lclear(lstrs *c)
{
    for (size_t i = 0; i < c->n; i++) free(c->v[i]);
    c->n = 0;
}

static void expect_lstrs(lstrs *c, const char *const *want, size_t n)
{
    if (c->n != n) fail_msg("got %zu strings, want %zu", c->n, n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(c->v[i], want[i])) fail_msg("string %zu: got %.40s... (%zu bytes), want %.40s... (%zu bytes)", i, c->v[i], strlen(c->v[i]), want[i], strlen(want[i]));
    }
    lclear(c);
}

static void test_idx_long_labels(void **state)
{
    (void)state;
    char *dir = t_tmpdir("idxlong");
    kv *k;
    kv_txn *t;
    cairn_err e;
    assert_int_equal(kv_open(dir, 64ULL << 20, &k, &e), CAIRN_OK);
    assert_int_equal(kv_begin(k, 1, &t, &e), CAIRN_OK);
    char *va = rep_str('a', 600, 0), *vc = rep_str('a', 600, 'b'), *vf = rep_str('c', 4096, 0);
    char *nm = rep_str('n', 600, 0), *edge = rep_str('e', 511 - 5, 0), *edge1 = rep_str('e', 511 - 4, 0);
    /* plain keys up to 511 bytes: 1 + "cmd" + 1 + 506 = 511 is plain, 507 is hashed */
    cairn_label l0[] = {{"__name__", 8, "p", 1}, {"cmd", 3, va, 600}};
    cairn_label l1[] = {{"__name__", 8, "p", 1}, {"cmd", 3, va, 600}, {"x", 1, "1", 1}};
    cairn_label l2[] = {{"__name__", 8, "q", 1}, {"cmd", 3, vc, 600}};
    cairn_label l3[] = {{"__name__", 8, "q", 1}, {"cmd", 3, "short", 5}};
    cairn_label l4[] = {{"__name__", 8, "r", 1}, {nm, 600, "v", 1}};
    cairn_label l5[] = {{"__name__", 8, "r", 1}, {"cmd", 3, vf, 4096}};
    cairn_label l6[] = {{"cmd", 3, edge, strlen(edge)}};
    cairn_label l7[] = {{"cmd", 3, edge1, strlen(edge1)}};
    add_set(t, 0, M, l0, 2);
    add_set(t, 1, M, l1, 3);
    add_set(t, 2, M, l2, 2);
    add_set(t, 3, M, l3, 2);
    add_set(t, 4, M, l4, 2);
    add_set(t, 5, M, l5, 2);
    add_set(t, 6, M, l6, 1);
    add_set(t, 7, M, l7, 1);
    add_set(t, 8, G, l0, 2); /* same labels, other kind: never mixes */

    uint32_t ids[16];
    assert_int_equal(sel_ids(t, EQ, "cmd", va, ids), 2);
    assert_int_equal(ids[0], 0), assert_int_equal(ids[1], 1);
    assert_int_equal(sel_ids(t, EQ, "cmd", vc, ids), 1), assert_int_equal(ids[0], 2);
    assert_int_equal(sel_ids(t, EQ, "cmd", vf, ids), 1), assert_int_equal(ids[0], 5);
    assert_int_equal(sel_ids(t, EQ, "cmd", edge, ids), 1), assert_int_equal(ids[0], 6);
    assert_int_equal(sel_ids(t, EQ, "cmd", edge1, ids), 1), assert_int_equal(ids[0], 7);
    assert_int_equal(sel_ids(t, EQ, nm, "v", ids), 1), assert_int_equal(ids[0], 4);
    /* regexes see the full value */
    assert_int_equal(sel_ids(t, RE, "cmd", "a+", ids), 2);
    assert_int_equal(sel_ids(t, RE, "cmd", "a+b", ids), 1), assert_int_equal(ids[0], 2);
    assert_int_equal(sel_ids(t, RE, "cmd", "aaaa.*", ids), 3);
    assert_int_equal(sel_ids(t, RE, "cmd", "c+", ids), 1), assert_int_equal(ids[0], 5);
    assert_int_equal(sel_ids(t, RE, "cmd", "e+", ids), 2);
    assert_int_equal(sel_ids(t, RE, nm, "v|w", ids), 1), assert_int_equal(ids[0], 4);
    /* a literal set mixing a long and a short value */
    char *alt = malloc(700);
    snprintf(alt, 700, "short|%s", va);
    assert_int_equal(sel_ids(t, RE, "cmd", alt, ids), 3);
    free(alt);
    /* negative matchers subtract the long postings */
    assert_int_equal(sel_ids(t, NE, "cmd", va, ids), 6);
    assert_int_equal(sel_ids(t, NRE, "cmd", "a+", ids), 6);
    assert_int_equal(sel_ids(t, NE, nm, "v", ids), 7);

    /* label values: full values, sorted, merged with the plain ones */
    lstrs c = {0};
    assert_int_equal(idx_label_values(t, M, "cmd", 3, NULL, NULL, NULL, lcollect, &c, &e), CAIRN_OK);
    const char *cv[] = {va, vc, vf, edge, edge1, "short"};
    expect_lstrs(&c, cv, 6);
    assert_int_equal(idx_label_values(t, M, nm, 600, NULL, NULL, NULL, lcollect, &c, &e), CAIRN_OK);
    const char *nv[] = {"v"};
    expect_lstrs(&c, nv, 1);
    assert_int_equal(idx_label_values(t, G, "cmd", 3, NULL, NULL, NULL, lcollect, &c, &e), CAIRN_OK);
    const char *gv[] = {va};
    expect_lstrs(&c, gv, 1);
    /* label names: the long name is there once, sorted among the others */
    assert_int_equal(idx_label_names(t, M, NULL, NULL, NULL, lcollect, &c, &e), CAIRN_OK);
    const char *mn[] = {"__name__", "cmd", nm, "x"};
    expect_lstrs(&c, mn, 4);
    /* through ids (the record path) too */
    idx_ids some = {ids, 2, 2};
    ids[0] = 0, ids[1] = 4;
    assert_int_equal(idx_label_names(t, M, &some, NULL, NULL, lcollect, &c, &e), CAIRN_OK);
    const char *sn[] = {"__name__", "cmd", nm};
    expect_lstrs(&c, sn, 3);

    /* golden (docs/format/lmdb.md): the hashed key of cmd="a" x 600 holds ids 0 and 1; short pairs
     * keep the plain layout */
    static const uint8_t gold[21] = {0x81, 0xb5, 0x92, 0x4e, 0x4d, 0xdd, 0x86, 0xf8, 0x2f, 0x04, 0xb0,
                                     0xf5, 0xe2, 0x33, 0xed, 0xfe, 0x19, 0x00, 0x00, 0x00, 0x00};
    uint8_t lk[21];
    long_key(lk, M, "cmd", va, 0);
    assert_memory_equal(lk, gold, sizeof gold);
    kv_cur *cu;
    const void *v;
    size_t vn;
    assert_int_equal(kv_cur_open(t, KV_POSTINGS, &cu), CAIRN_OK);
    assert_int_equal(kv_cur_seek_exact(cu, lk, sizeof lk, &v, &vn), CAIRN_OK);
    assert_memory_equal(v, "\0\0\0\0", 4);
    assert_int_equal(kv_cur_next_dup(cu, &v, &vn), CAIRN_OK);
    assert_memory_equal(v, "\0\0\0\1", 4);
    assert_int_equal(kv_cur_next_dup(cu, &v, &vn), CAIRN_NOTFOUND);
    kv_cur_close(cu);
    uint8_t pk[512];
    pk[0] = M;
    memcpy(pk + 1, "cmd", 3);
    pk[4] = 0;
    memcpy(pk + 5, edge, strlen(edge));
    assert_int_equal(kv_get(t, KV_POSTINGS, pk, 5 + strlen(edge), &v, &vn), CAIRN_OK);
    assert_memory_equal(v, "\0\0\0\6", 4);

    /* a collision of both hashes: a key holding another value must not be merged into */
    char *vz = rep_str('z', 700, 0), *vy = rep_str('y', 700, 0);
    cairn_label ly[] = {{"cmd", 3, vy, 700}};
    add_set(t, 9, M, ly, 1); /* cmd=vy, under its own key */
    long_key(lk, M, "cmd", vz, 0);
    assert_int_equal(kv_put(t, KV_POSTINGS, lk, sizeof lk, "\0\0\0\x09", 4, 0, &e), CAIRN_OK); /* vz's slot taken by vy */
    cairn_label lz[] = {{"cmd", 3, vz, 700}};
    add_set(t, 10, M, lz, 1);
    assert_int_equal(sel_ids(t, EQ, "cmd", vz, ids), 1), assert_int_equal(ids[0], 10);
    long_key(lk, M, "cmd", vz, 1);
    assert_int_equal(kv_get(t, KV_POSTINGS, lk, sizeof lk, &v, &vn), CAIRN_OK); /* seq 1 */
    assert_memory_equal(v, "\0\0\0\x0a", 4);
    assert_int_equal(sel_ids(t, EQ, "cmd", vy, ids), 1), assert_int_equal(ids[0], 9);
    assert_int_equal(idx_label_values(t, M, "cmd", 3, NULL, NULL, NULL, lcollect, &c, &e), CAIRN_OK);
    assert_int_equal(c.n, 8); /* vy once although two keys lead to series 9 */
    lclear(&c);
    free(c.v);
    kv_abort(t);
    kv_close(k);
    free(va), free(vc), free(vf), free(nm), free(edge), free(edge1), free(vz), free(vy);
    t_tmpdir_free(dir);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_idx_find),
        T(test_idx_forced_collision),
        T(test_idx_select_kinds),
        T(test_idx_select_all_of_kind),
        T(test_idx_select_random_vs_oracle),
        T(test_idx_time_bounds),
        T(test_idx_label_names_values),
        T(test_idx_persist_and_scan),
        T(test_idx_bad_input),
        T(test_idx_select_oom),
        cmocka_unit_test(test_idx_golden_layout),
        cmocka_unit_test(test_idx_long_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
