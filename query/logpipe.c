/*
 * logpipe.c — LogQL pipeline stages, entry at a time.
 *
 * What. A pipeline is compiled once per query from the AST stages of a log
 * selector: regexes compiled (RE2 through engine/match.h for line filters,
 * label matchers and the `| regexp` named captures), patterns
 * split into literals and captures, templates compiled (query/logtmpl.c),
 * JSON paths split into steps. Then every entry runs through the stages in
 * order, with the semantics pinned from Loki in shared/docs/logql-semantics.md.
 *
 * The label model is Loki's LabelsBuilder, kept flat for speed: the stream's
 * labels (borrowed, sorted) and the entry's structured metadata (borrowed)
 * each with a "deleted" byte per label, a small array of parsed labels, and
 * the two error slots. A lookup tries parsed, then metadata, then stream
 * labels. Parsers never overwrite a parsed label ("first extraction wins")
 * and rename a key that collides with a stream label to `<key>_extracted`;
 * label_format overwrites. The output set is materialised only when the
 * evaluator asks for it (lpipe_labels), sorted and deduplicated by priority.
 *
 * Why no per-entry allocation: a 1 GB scan runs millions of entries through
 * here. Label names and values are views into the line whenever the bytes
 * need no rewriting (a JSON string without escapes, a number, a logfmt bare
 * value); everything else goes into scratch blocks that are reset, not
 * freed, per entry. So after warm-up an entry costs no malloc at all.
 *
 * JSON is scanned, not parsed into a tree: one lenient forward pass over the
 * object that mirrors the Go jsonparser Loki uses (raw number text, strings
 * unescaped, arrays and nulls skipped, nested objects flattened with `_`,
 * garbage after the top-level object ignored, labels found before a syntax
 * error kept). With parser hints (metric queries that need only a few
 * labels) it extracts only those and stops as soon as all were seen.
 *
 * Threads: an lpipe holds per-entry state and is used by one query on one
 * thread. Invariant: every pointer handed out by lpipe_run/lpipe_labels
 * stays valid until the next lpipe_run.
 */
#include "logpipe.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dur.h"
#include "err.h"
#include "logtmpl.h"
#include "match.h"
#include "mem.h"

#define LP_MAX_JSON_DEPTH 64
#define LP_SCRATCH_BLOCK (64 * 1024)

static const char ERR_JSON[] = "JSONParserErr";
static const char ERR_LOGFMT[] = "LogfmtParserErr";
static const char ERR_LABEL_FILTER[] = "LabelFilterErr";
static const char ERR_SAMPLE[] = "SampleExtractionErr";
static const char ERR_TEMPLATE[] = "TemplateFormatErr";

/* ---- compiled stages ------------------------------------------------------------------------ */

typedef struct lp_lf {
    ast_lf_kind kind;
    struct lp_lf *l, *r;
    match m;        /* STRING */
    ast_str name;   /* NUMBER/DURATION/BYTES */
    ast_cmp cmp;
    double value;
} lp_lf;

typedef struct lp_pnode {
    int is_cap, named;
    const char *s; /* literal bytes or capture name */
    size_t n;
} lp_pnode;

typedef struct lp_pattern {
    lp_pnode *v;
    size_t n;
} lp_pattern;

typedef struct lp_jstep {
    int is_idx;
    const char *key;
    size_t klen;
    long idx;
} lp_jstep;

typedef struct lp_jexpr {
    const char *label; /* output label name */
    size_t label_len;
    lp_jstep *steps;
    size_t n;
} lp_jexpr;

typedef struct lp_rname {
    uint32_t group;
    const char *name;
    size_t len;
} lp_rname;

typedef struct lp_stage {
    const ast_stage *a;
    /* line filters: per alternative */
    match_re **res;
    lp_pattern *pats;
    /* regexp */
    match_re *rx;
    ptrdiff_t *roff; /* 2 * (ngroups + 1) offsets, per stage */
    int n_roff;
    lp_rname *rnames;
    size_t n_rnames;
    /* pattern */
    lp_pattern pat;
    /* label filter */
    lp_lf *lf;
    /* line_format; label_format (per kv, NULL for renames) */
    ltmpl *tmpl;
    ltmpl **tmpls;
    /* drop/keep matchers (per kv, has_m) */
    match *ms;
    uint8_t *has_m;
    /* json params */
    lp_jexpr *jx;
    size_t n_jx;
} lp_stage;

typedef struct lp_blk {
    char *p;
    size_t cap, used;
} lp_blk;

struct lpipe {
    arena *ar;
    lp_stage *st;
    size_t n_st, first;
    /* hints */
    int restrict_labels, skip_parsers, preserve;
    const ast_str *want;
    size_t n_want, n_want_real;
    /* unwrap */
    int has_unwrap;
    ast_str unwrap_label;
    double unwrap_v;
    int unwrap_has;
    /* the current entry */
    const cairn_label *base;
    size_t n_base;
    uint8_t *base_del;
    size_t cap_base_del;
    const cairn_label *meta;
    size_t n_meta;
    uint8_t *meta_del;
    size_t cap_meta_del;
    int dirty_del;
    cairn_label *parsed;
    size_t n_parsed, cap_parsed;
    const char *err, *errd;
    size_t err_len, errd_len;
    int err_preserved;
    const char *line;
    size_t line_len;
    int64_t t_ns;
    /* output labels */
    cairn_label *out;
    uint8_t *prio;
    size_t cap_out;
    /* scratch */
    lp_blk *blk;
    size_t n_blk, cur_blk;
    buf tmp, rbuf;
    buf jprefix;
    cairn_err terr; /* template execution errors (kept on the entry, not the query) */
};


/* ---- scratch --------------------------------------------------------------------------------- */

static void sc_reset(lpipe *p)
{
    p->cur_blk = 0;
    if (p->n_blk) p->blk[0].used = 0;
}

static char *sc_alloc(lpipe *p, size_t n)
{
    for (;;) {
        if (p->cur_blk < p->n_blk) {
            lp_blk *b = &p->blk[p->cur_blk];
            if (b->cap - b->used >= n) {
                char *r = b->p + b->used;
                b->used += n;
                return r;
            }
            if (b->used == 0) { /* too small even when empty: replace it */
                size_t cap = n > LP_SCRATCH_BLOCK ? n : LP_SCRATCH_BLOCK;
                char *np = mem_alloc(cap);
                if (!np) return NULL;
                mem_free(b->p, b->cap);
                b->p = np;
                b->cap = cap;
                continue;
            }
            if (p->cur_blk + 1 < p->n_blk) {
                p->cur_blk++;
                p->blk[p->cur_blk].used = 0;
                continue;
            }
        }
        /* a new block */
        if (p->n_blk % 8 == 0) {
            lp_blk *nb = mem_realloc(p->blk, p->n_blk * sizeof *nb, (p->n_blk + 8) * sizeof *nb);
            if (!nb) return NULL;
            p->blk = nb;
        }
        size_t cap = n > LP_SCRATCH_BLOCK ? n : LP_SCRATCH_BLOCK;
        lp_blk *b = &p->blk[p->n_blk];
        b->p = mem_alloc(cap);
        if (!b->p) return NULL;
        b->cap = cap;
        b->used = 0;
        p->cur_blk = p->n_blk++;
    }
}

static char *sc_dup(lpipe *p, const char *s, size_t n)
{
    char *d = sc_alloc(p, n ? n : 1);
    if (d && n) memcpy(d, s, n);
    return d;
}

/* ---- number, duration and byte parsing -------------------------------------------------------- */

int lpipe_parse_float(const char *s, size_t n, double *v)
{
    char b[128];
    if (n == 0 || n >= sizeof b) return CAIRN_EINVAL;
    memcpy(b, s, n);
    b[n] = 0;
    if (isspace((unsigned char)b[0])) return CAIRN_EINVAL;
    /* Go accepts "inf", "+Inf", "infinity", "NaN" in any case; strtod too, plus "nan(...)" which Go rejects. */
    if (strchr(b, '(')) return CAIRN_EINVAL;
    /* Go allows '_' only with a base prefix; strtod never does. Reject it. */
    if (strchr(b, '_')) return CAIRN_EINVAL;
    char *e;
    errno = 0;
    double d = strtod(b, &e);
    if (*e) return CAIRN_EINVAL;
    if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL)) return CAIRN_EINVAL;
    *v = d;
    return CAIRN_OK;
}

/* go-humanize ParseBytes: number (commas allowed), optional space, unit. */
int lpipe_parse_bytes(const char *s, size_t n, double *bytes)
{
    char num[64];
    size_t i = 0, k = 0;
    while (i < n && (isdigit((unsigned char)s[i]) || s[i] == '.' || s[i] == ',')) {
        if (s[i] != ',') {
            if (k + 1 >= sizeof num) return CAIRN_EINVAL;
            num[k++] = s[i];
        }
        i++;
    }
    if (k == 0) return CAIRN_EINVAL;
    num[k] = 0;
    char *e;
    double v = strtod(num, &e);
    if (*e) return CAIRN_EINVAL;
    while (i < n && s[i] == ' ') i++;
    char u[8];
    size_t ul = n - i;
    if (ul >= sizeof u) return CAIRN_EINVAL;
    for (size_t j = 0; j < ul; j++) u[j] = (char)tolower((unsigned char)s[i + j]);
    u[ul] = 0;
    static const struct {
        const char *u;
        double m;
    } units[] = {
        {"", 1},       {"b", 1},       {"kib", 1024.0}, {"ki", 1024.0}, {"kb", 1e3}, {"k", 1e3},
        {"mib", 1048576.0}, {"mi", 1048576.0}, {"mb", 1e6}, {"m", 1e6},
        {"gib", 1073741824.0}, {"gi", 1073741824.0}, {"gb", 1e9}, {"g", 1e9},
        {"tib", 1099511627776.0}, {"ti", 1099511627776.0}, {"tb", 1e12}, {"t", 1e12},
        {"pib", 1125899906842624.0}, {"pi", 1125899906842624.0}, {"pb", 1e15}, {"p", 1e15},
        {"eib", 1152921504606846976.0}, {"ei", 1152921504606846976.0}, {"eb", 1e18}, {"e", 1e18},
    };
    for (size_t j = 0; j < sizeof units / sizeof units[0]; j++)
        if (!strcmp(u, units[j].u)) {
            *bytes = v * units[j].m;
            return CAIRN_OK;
        }
    return CAIRN_EINVAL;
}

/* ---- label names ------------------------------------------------------------------------------ */

static int lp_valid_char(unsigned char c) { return isalnum(c) || c == '_'; }

/* Length of the UTF-8 sequence at s (1 for invalid bytes). */
static size_t lp_rune_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t l = c < 0x80 ? 1 : c >= 0xf0 && c < 0xf8 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 1;
    if (l > n) return 1;
    for (size_t i = 1; i < l; i++)
        if ((s[i] & 0xc0) != 0x80) return 1;
    return l;
}

/* Append the sanitised form of s to dst (at most cap bytes total): trim
 * spaces, one '_' per invalid rune, '_' before a leading digit when `at_start`. */
static size_t lp_sanitize_into(const char *s, size_t n, char *dst, size_t cap, int at_start)
{
    while (n && isspace((unsigned char)s[0])) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    size_t k = 0;
    if (!n) return 0;
    if (at_start && isdigit((unsigned char)s[0]) && k < cap) dst[k++] = '_';
    for (size_t i = 0; i < n && k < cap;) {
        unsigned char c = (unsigned char)s[i];
        if (lp_valid_char(c)) {
            dst[k++] = (char)c;
            i++;
        } else {
            dst[k++] = '_';
            i += lp_rune_len((const unsigned char *)s + i, n - i);
        }
    }
    return k;
}

size_t lpipe_sanitize(const char *s, size_t n, char *dst, size_t cap) { return lp_sanitize_into(s, n, dst, cap, 1); }

/* Is s already a clean label name (no rewriting needed)? */
static int lp_clean_name(const char *s, size_t n)
{
    if (!n || isdigit((unsigned char)s[0])) return 0;
    for (size_t i = 0; i < n; i++)
        if (!lp_valid_char((unsigned char)s[i])) return 0;
    return 1;
}

/* ---- the label builder ------------------------------------------------------------------------- */

static int lp_eq(const char *a, size_t an, const char *b, size_t bn) { return an == bn && memcmp(a, b, an) == 0; }

static int lp_base_has(const lpipe *p, const char *name, size_t n)
{
    for (size_t i = 0; i < p->n_base; i++)
        if (lp_eq(p->base[i].name, p->base[i].name_len, name, n)) return 1;
    return 0;
}

static cairn_label *lp_parsed_find(lpipe *p, const char *name, size_t n)
{
    for (size_t i = 0; i < p->n_parsed; i++)
        if (lp_eq(p->parsed[i].name, p->parsed[i].name_len, name, n)) return &p->parsed[i];
    return NULL;
}

/* Set a parsed label. overwrite = 0: parsers (first extraction wins). */
static int lp_set(lpipe *p, const char *name, size_t n, const char *v, size_t vn, int overwrite)
{
    cairn_label *l = lp_parsed_find(p, name, n);
    if (l) {
        if (overwrite) {
            l->value = v;
            l->value_len = vn;
        }
        return CAIRN_OK;
    }
    if (p->n_parsed == p->cap_parsed) {
        size_t nc = p->cap_parsed ? 2 * p->cap_parsed : 16;
        cairn_label *np = mem_realloc(p->parsed, p->cap_parsed * sizeof *np, nc * sizeof *np);
        if (!np) return CAIRN_ENOMEM;
        p->parsed = np;
        p->cap_parsed = nc;
    }
    cairn_label *x = &p->parsed[p->n_parsed++];
    x->name = name;
    x->name_len = n;
    x->value = v;
    x->value_len = vn;
    return CAIRN_OK;
}

static void lp_set_err(lpipe *p, const char *e, const char *details, size_t dn, int preservable)
{
    if (p->err) return;
    p->err = e;
    p->err_len = strlen(e);
    p->errd = details;
    p->errd_len = dn;
    p->err_preserved = preservable && p->preserve;
}

static void lp_set_err_fmt(lpipe *p, const char *e, const char *fmt, const char *arg, size_t an)
{
    if (p->err) return;
    char tmp[320];
    int k = snprintf(tmp, sizeof tmp, fmt, an > 200 ? 200 : (int)an, arg);
    if (k < 0) k = 0;
    if ((size_t)k >= sizeof tmp) k = sizeof tmp - 1;
    char *d = sc_dup(p, tmp, (size_t)k);
    lp_set_err(p, e, d ? d : "", d ? (size_t)k : 0, 0);
}

const char *lpipe_get(const lpipe *p, const char *name, size_t n, size_t *len)
{
    if (n >= 9 && name[0] == '_' && name[1] == '_') {
        if (lp_eq(name, n, "__error__", 9)) {
            *len = p->err_len;
            return p->err;
        }
        if (lp_eq(name, n, "__error_details__", 17)) {
            *len = p->errd_len;
            return p->errd;
        }
    }
    for (size_t i = 0; i < p->n_parsed; i++)
        if (lp_eq(p->parsed[i].name, p->parsed[i].name_len, name, n)) {
            *len = p->parsed[i].value_len;
            return p->parsed[i].value;
        }
    for (size_t i = 0; i < p->n_meta; i++)
        if (!p->meta_del[i] && lp_eq(p->meta[i].name, p->meta[i].name_len, name, n)) {
            *len = p->meta[i].value_len;
            return p->meta[i].value;
        }
    for (size_t i = 0; i < p->n_base; i++)
        if (!p->base_del[i] && p->base[i].value_len && lp_eq(p->base[i].name, p->base[i].name_len, name, n)) {
            *len = p->base[i].value_len;
            return p->base[i].value;
        }
    return NULL;
}

static const char *lp_get_cb(void *ctx, const char *name, size_t n, size_t *len)
{
    return lpipe_get((const lpipe *)ctx, name, n, len);
}

/* Delete a label wherever it lives (drop, keep, label_format renames). */
static void lp_del(lpipe *p, const char *name, size_t n)
{
    if (lp_eq(name, n, "__error__", 9)) {
        p->err = NULL;
        p->err_len = 0;
        p->err_preserved = 0;
        return;
    }
    if (lp_eq(name, n, "__error_details__", 17)) {
        p->errd = NULL;
        p->errd_len = 0;
        return;
    }
    for (size_t i = 0; i < p->n_parsed; i++)
        if (lp_eq(p->parsed[i].name, p->parsed[i].name_len, name, n)) {
            p->parsed[i] = p->parsed[--p->n_parsed];
            break;
        }
    for (size_t i = 0; i < p->n_meta; i++)
        if (lp_eq(p->meta[i].name, p->meta[i].name_len, name, n)) p->meta_del[i] = 1, p->dirty_del = 1;
    for (size_t i = 0; i < p->n_base; i++)
        if (lp_eq(p->base[i].name, p->base[i].name_len, name, n)) p->base_del[i] = 1, p->dirty_del = 1;
}

/* Is `name` among the hinted labels? Always 1 without hints. */
static int lp_wanted(const lpipe *p, const char *name, size_t n, size_t *idx)
{
    if (!p->restrict_labels) return 1;
    for (size_t i = 0; i < p->n_want; i++)
        if (lp_eq(p->want[i].p, p->want[i].len, name, n)) {
            if (idx) *idx = i;
            return 1;
        }
    return 0;
}

static int lp_grow_out(lpipe *p, size_t need)
{
    if (need <= p->cap_out) return CAIRN_OK;
    size_t nc = p->cap_out ? p->cap_out : 32;
    while (nc < need) nc *= 2;
    cairn_label *no = mem_realloc(p->out, p->cap_out * sizeof *no, nc * sizeof *no);
    if (!no) return CAIRN_ENOMEM;
    p->out = no;
    uint8_t *np = mem_realloc(p->prio, p->cap_out, nc);
    if (!np) return CAIRN_ENOMEM; /* p->out is already grown; cap_out stays, next call retries */
    p->prio = np;
    p->cap_out = nc;
    return CAIRN_OK;
}

static int lp_name_cmp(const cairn_label *a, const cairn_label *b)
{
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->name, b->name, n);
    if (c) return c;
    return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

int lpipe_labels(lpipe *p, const cairn_label **ls, size_t *n)
{
    size_t need = p->n_base + p->n_meta + p->n_parsed + 2;
    RETURN_IF_ERR(lp_grow_out(p, need));
    size_t k = 0;
    for (size_t i = 0; i < p->n_base; i++)
        if (!p->base_del[i] && p->base[i].value_len) p->out[k] = p->base[i], p->prio[k++] = 0;
    for (size_t i = 0; i < p->n_meta; i++)
        if (!p->meta_del[i] && p->meta[i].value_len) p->out[k] = p->meta[i], p->prio[k++] = 1;
    for (size_t i = 0; i < p->n_parsed; i++) p->out[k] = p->parsed[i], p->prio[k++] = 2;
    if (p->err_len) {
        cairn_label e = {"__error__", 9, p->err, p->err_len};
        p->out[k] = e, p->prio[k++] = 3;
    }
    if (p->errd_len) {
        cairn_label e = {"__error_details__", 17, p->errd, p->errd_len};
        p->out[k] = e, p->prio[k++] = 3;
    }
    /* Insertion sort by (name, priority descending): label sets are small and
     * the stream labels come in sorted. A name shadowed by a higher priority
     * entry (a parsed label over a stream label, or an empty parsed value
     * hiding a stream label, as in Loki) then sits right after it. */
    for (size_t i = 1; i < k; i++) {
        cairn_label x = p->out[i];
        uint8_t xp = p->prio[i];
        size_t j = i;
        while (j > 0) {
            int c = lp_name_cmp(&p->out[j - 1], &x);
            if (c < 0 || (c == 0 && p->prio[j - 1] >= xp)) break;
            p->out[j] = p->out[j - 1];
            p->prio[j] = p->prio[j - 1];
            j--;
        }
        p->out[j] = x;
        p->prio[j] = xp;
    }
    size_t w = 0;
    for (size_t i = 0; i < k; i++) {
        if (w > 0 && lp_name_cmp(&p->out[w - 1], &p->out[i]) == 0) continue;
        if (w > 0 && p->out[w - 1].value_len == 0) w--; /* an empty winner hides the name */
        p->prio[w] = p->prio[i];
        p->out[w++] = p->out[i];
    }
    if (w > 0 && p->out[w - 1].value_len == 0) w--;
    *ls = p->out;
    *n = w;
    return CAIRN_OK;
}

/* The priorities kept above are the origins: 0 stream, 1 metadata, 2 parsed, 3 error labels. */
const uint8_t *lpipe_label_origins(const lpipe *p) { return p->prio; }

/* ---- JSON scanning ------------------------------------------------------------------------------ */

static const char JE_OBJ[] = "Value looks like object, but can't find closing '}' symbol";
static const char JE_MAL[] = "Malformed JSON error";
static const char JE_STR[] = "Value is string, but can't find closing '\"' symbol";
static const char JE_ARR[] = "Value is array, but can't find closing ']' symbol";
static const char JE_TYPE[] = "Unknown value type";
static const char JE_DEPTH[] = "JSON nested too deeply";

static const char *j_ws(const char *s, const char *e)
{
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) s++;
    return s;
}

/* s at '"': returns the position after the closing quote, or NULL. */
static const char *j_str_end(const char *s, const char *e, int *esc)
{
    *esc = 0;
    for (s++; s < e; s++) {
        if (*s == '\\') {
            *esc = 1;
            s++;
            continue;
        }
        if (*s == '"') return s + 1;
    }
    return NULL;
}

/* s at '{' or '[': the position after the matching bracket, or NULL. */
static const char *j_block_end(const char *s, const char *e)
{
    int depth = 0, esc;
    while (s < e) {
        char c = *s;
        if (c == '"') {
            s = j_str_end(s, e, &esc);
            if (!s) return NULL;
            continue;
        }
        if (c == '{' || c == '[') depth++;
        else if (c == '}' || c == ']') {
            if (--depth == 0) return s + 1;
        }
        s++;
    }
    return NULL;
}

static const char *j_token_end(const char *s, const char *e)
{
    while (s < e && *s != ',' && *s != '}' && *s != ']' && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') s++;
    return s;
}

static int j_hex(const char *s, uint32_t *v)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        x <<= 4;
        if (c >= '0' && c <= '9') x |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') x |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') x |= (uint32_t)(c - 'A' + 10);
        else return 0;
    }
    *v = x;
    return 1;
}

static size_t j_put_utf8(char *d, uint32_t cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xc0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xe0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        d[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (char)(0xf0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    d[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Unescape s[0..n) into d (room for n bytes: escapes never grow). Returns the
 * length, or (size_t)-1 for an invalid escape. */
static size_t j_unescape(const char *s, size_t n, char *d)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            d[k++] = s[i];
            continue;
        }
        if (++i >= n) return (size_t)-1;
        switch (s[i]) {
        case '"': d[k++] = '"'; break;
        case '\\': d[k++] = '\\'; break;
        case '/': d[k++] = '/'; break;
        case 'b': d[k++] = '\b'; break;
        case 'f': d[k++] = '\f'; break;
        case 'n': d[k++] = '\n'; break;
        case 'r': d[k++] = '\r'; break;
        case 't': d[k++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (i + 4 >= n || !j_hex(s + i + 1, &cp)) return (size_t)-1;
            i += 4;
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (i + 6 < n && s[i + 1] == '\\' && s[i + 2] == 'u' && j_hex(s + i + 3, &lo) && lo >= 0xdc00 &&
                    lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    i += 6;
                } else {
                    cp = 0xfffd;
                }
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                cp = 0xfffd;
            }
            k += j_put_utf8(d + k, cp);
            break;
        }
        default: return (size_t)-1;
        }
    }
    return k;
}

/* Does s contain bytes that the UTF-8 clean-up must touch? */
static int j_needs_utf8_fix(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80) {
            for (size_t j = i; j < n;) {
                size_t l = lp_rune_len((const unsigned char *)s + j, n - j);
                if (l == 1 && (unsigned char)s[j] >= 0x80) return 1;
                if (l == 3 && !memcmp(s + j, "\xef\xbf\xbd", 3)) return 1;
                j += l;
            }
            return 0;
        }
    return 0;
}

/* Loki's unescapeJSONString: unescape; invalid escapes give ""; U+FFFD and
 * invalid UTF-8 bytes become spaces. Returns a view or scratch copy. */
static int j_string_value(lpipe *p, const char *s, size_t n, int esc, const char **out, size_t *on)
{
    const char *v = s;
    size_t vn = n;
    if (esc) {
        char *d = sc_alloc(p, n ? n : 1);
        if (!d) return CAIRN_ENOMEM;
        vn = j_unescape(s, n, d);
        if (vn == (size_t)-1) {
            *out = "";
            *on = 0;
            return CAIRN_OK;
        }
        v = d;
    }
    if (j_needs_utf8_fix(v, vn)) {
        char *d = sc_alloc(p, vn ? vn : 1);
        if (!d) return CAIRN_ENOMEM;
        size_t k = 0;
        for (size_t j = 0; j < vn;) {
            size_t l = lp_rune_len((const unsigned char *)v + j, vn - j);
            if ((l == 1 && (unsigned char)v[j] >= 0x80) || (l == 3 && !memcmp(v + j, "\xef\xbf\xbd", 3))) d[k++] = ' ';
            else memcpy(d + k, v + j, l), k += l;
            j += l;
        }
        v = d;
        vn = k;
    }
    *out = v;
    *on = vn;
    return CAIRN_OK;
}

typedef struct jstate {
    lpipe *p;
    const char *errmsg;
    uint64_t found; /* bit per hinted name */
    int stop;
} jstate;

/* Build the label name for key part (raw bytes, maybe escaped) under the current prefix. */
static int j_name(jstate *js, const char *k, size_t kn, int esc, const char **name, size_t *nn)
{
    lpipe *p = js->p;
    if (esc) {
        char *d = sc_alloc(p, kn ? kn : 1);
        if (!d) return CAIRN_ENOMEM;
        size_t u = j_unescape(k, kn, d);
        if (u == (size_t)-1) u = 0;
        k = d;
        kn = u;
    }
    size_t pl = p->jprefix.len;
    if (pl == 0 && lp_clean_name(k, kn)) {
        *name = k;
        *nn = kn;
        return CAIRN_OK;
    }
    size_t cap = pl + 1 + kn * 3 + 2;
    char *d = sc_alloc(p, cap);
    if (!d) return CAIRN_ENOMEM;
    if (pl) memcpy(d, p->jprefix.p, pl);
    size_t w = pl;
    char tmp_sep = '_';
    size_t sl = lp_sanitize_into(k, kn, d + pl + (pl ? 1 : 0), cap - pl - 1, pl == 0);
    if (sl) {
        if (pl) d[pl] = tmp_sep;
        w = pl + (pl ? 1 : 0) + sl;
    }
    *name = d;
    *nn = w;
    return CAIRN_OK;
}

static int j_emit(jstate *js, const char *name, size_t nn, const char *v, size_t vn)
{
    lpipe *p = js->p;
    if (!nn) return CAIRN_OK;
    if (lp_base_has(p, name, nn)) {
        char *d = sc_alloc(p, nn + 10);
        if (!d) return CAIRN_ENOMEM;
        memcpy(d, name, nn);
        memcpy(d + nn, "_extracted", 10);
        name = d;
        nn += 10;
    }
    size_t wi = 0;
    if (!lp_wanted(p, name, nn, &wi)) return CAIRN_OK;
    RETURN_IF_ERR(lp_set(p, name, nn, v, vn, 0));
    if (p->restrict_labels && p->n_want_real && wi < 64) {
        js->found |= 1ULL << wi;
        uint64_t all = 0;
        for (size_t i = 0; i < p->n_want && i < 64; i++)
            if (!(p->want[i].len >= 9 && !memcmp(p->want[i].p, "__error", 7))) all |= 1ULL << i;
        if ((js->found & all) == all && p->n_want <= 64) js->stop = 1;
    }
    return CAIRN_OK;
}

/* Scan the object at *sp ('{'), flattening members. Returns CAIRN_OK (check
 * js->errmsg / js->stop) or a negative code. */
static int j_object(jstate *js, const char **sp, const char *e, int depth)
{
    lpipe *p = js->p;
    const char *s = *sp + 1;
    if (depth > LP_MAX_JSON_DEPTH) {
        js->errmsg = JE_DEPTH;
        return CAIRN_OK;
    }
    for (;;) {
        s = j_ws(s, e);
        if (s >= e) {
            js->errmsg = JE_OBJ;
            return CAIRN_OK;
        }
        if (*s == '}') {
            *sp = s + 1;
            return CAIRN_OK;
        }
        if (*s != '"') {
            js->errmsg = JE_MAL;
            return CAIRN_OK;
        }
        int kesc;
        const char *kend = j_str_end(s, e, &kesc);
        if (!kend) {
            js->errmsg = JE_MAL;
            return CAIRN_OK;
        }
        const char *key = s + 1;
        size_t kn = (size_t)(kend - 1 - key);
        s = j_ws(kend, e);
        if (s >= e || *s != ':') {
            js->errmsg = JE_MAL;
            return CAIRN_OK;
        }
        s = j_ws(s + 1, e);
        if (s >= e) {
            js->errmsg = JE_MAL;
            return CAIRN_OK;
        }
        const char *vend;
        char c = *s;
        if (c == '"') {
            int vesc;
            vend = j_str_end(s, e, &vesc);
            if (!vend) {
                js->errmsg = JE_STR;
                return CAIRN_OK;
            }
            const char *name, *v;
            size_t nn, vn;
            RETURN_IF_ERR(j_name(js, key, kn, kesc, &name, &nn));
            RETURN_IF_ERR(j_string_value(p, s + 1, (size_t)(vend - 1 - (s + 1)), vesc, &v, &vn));
            RETURN_IF_ERR(j_emit(js, name, nn, v, vn));
        } else if (c == '{') {
            size_t saved = p->jprefix.len;
            const char *name;
            size_t nn;
            RETURN_IF_ERR(j_name(js, key, kn, kesc, &name, &nn));
            /* the prefix becomes the full (sanitised) name so far */
            p->jprefix.len = 0;
            if (nn && buf_put(&p->jprefix, name, nn)) return CAIRN_ENOMEM;
            if (!nn && saved) p->jprefix.len = saved; /* an empty part is skipped */
            const char *q = s;
            int rc = j_object(js, &q, e, depth + 1);
            p->jprefix.len = saved;
            /* restore the prefix bytes (name may have replaced them) */
            if (saved && nn) {
                /* name began with the old prefix: its first `saved` bytes are the prefix */
                memcpy(p->jprefix.p, name, saved);
            }
            if (rc || js->errmsg || js->stop) return rc;
            vend = q;
        } else if (c == '[') {
            vend = j_block_end(s, e);
            if (!vend) {
                js->errmsg = JE_ARR;
                return CAIRN_OK;
            }
        } else if (c == 't' || c == 'f' || c == 'n') {
            vend = j_token_end(s, e);
            size_t tl = (size_t)(vend - s);
            if (tl == 4 && !memcmp(s, "true", 4)) {
                const char *name;
                size_t nn;
                RETURN_IF_ERR(j_name(js, key, kn, kesc, &name, &nn));
                RETURN_IF_ERR(j_emit(js, name, nn, "true", 4));
            } else if (tl == 5 && !memcmp(s, "false", 5)) {
                const char *name;
                size_t nn;
                RETURN_IF_ERR(j_name(js, key, kn, kesc, &name, &nn));
                RETURN_IF_ERR(j_emit(js, name, nn, "false", 5));
            } else if (!(tl == 4 && !memcmp(s, "null", 4))) {
                js->errmsg = JE_TYPE;
                return CAIRN_OK;
            }
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            vend = j_token_end(s, e);
            const char *name;
            size_t nn;
            RETURN_IF_ERR(j_name(js, key, kn, kesc, &name, &nn));
            RETURN_IF_ERR(j_emit(js, name, nn, s, (size_t)(vend - s)));
        } else {
            js->errmsg = JE_TYPE;
            return CAIRN_OK;
        }
        if (js->stop) return CAIRN_OK;
        s = j_ws(vend, e);
        if (s >= e) {
            js->errmsg = JE_OBJ;
            return CAIRN_OK;
        }
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '}') {
            *sp = s + 1;
            return CAIRN_OK;
        }
        js->errmsg = JE_MAL;
        return CAIRN_OK;
    }
}

static int lp_json(lpipe *p)
{
    jstate js;
    memset(&js, 0, sizeof js);
    js.p = p;
    p->jprefix.len = 0;
    const char *s = j_ws(p->line, p->line + p->line_len), *e = p->line + p->line_len;
    if (s >= e || *s != '{') {
        js.errmsg = JE_OBJ;
    } else {
        RETURN_IF_ERR(j_object(&js, &s, e, 0));
    }
    if (js.errmsg) lp_set_err(p, ERR_JSON, js.errmsg, strlen(js.errmsg), 1);
    return CAIRN_OK;
}

/* Skip one value at s (after whitespace); NULL on malformed input. */
static const char *j_skip(const char *s, const char *e)
{
    int esc;
    if (s >= e) return NULL;
    if (*s == '"') return j_str_end(s, e, &esc);
    if (*s == '{' || *s == '[') return j_block_end(s, e);
    const char *t = j_token_end(s, e);
    return t > s ? t : NULL;
}

/* Follow `steps` from the value at s; returns the value's start or NULL. */
static const char *j_path(const char *s, const char *e, const lp_jstep *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s = j_ws(s, e);
        if (s >= e) return NULL;
        if (!st[i].is_idx) {
            if (*s != '{') return NULL;
            s++;
            for (;;) {
                s = j_ws(s, e);
                if (s >= e || *s != '"') return NULL;
                int esc;
                const char *kend = j_str_end(s, e, &esc);
                if (!kend) return NULL;
                const char *k = s + 1;
                size_t kn = (size_t)(kend - 1 - k);
                int hit;
                if (esc) {
                    char tmp[256];
                    size_t u = kn <= sizeof tmp ? j_unescape(k, kn, tmp) : (size_t)-1;
                    hit = u != (size_t)-1 && lp_eq(tmp, u, st[i].key, st[i].klen);
                } else {
                    hit = lp_eq(k, kn, st[i].key, st[i].klen);
                }
                s = j_ws(kend, e);
                if (s >= e || *s != ':') return NULL;
                s = j_ws(s + 1, e);
                if (hit) break;
                s = j_skip(s, e);
                if (!s) return NULL;
                s = j_ws(s, e);
                if (s >= e || *s != ',') return NULL;
                s++;
            }
        } else {
            if (*s != '[') return NULL;
            s++;
            for (long k = 0;; k++) {
                s = j_ws(s, e);
                if (s >= e || *s == ']') return NULL;
                if (k == st[i].idx) break;
                s = j_skip(s, e);
                if (!s) return NULL;
                s = j_ws(s, e);
                if (s >= e || *s != ',') return NULL;
                s++;
            }
        }
    }
    return j_ws(s, e);
}

static int lp_json_expr(lpipe *p, const lp_stage *st)
{
    const char *s = j_ws(p->line, p->line + p->line_len), *e = p->line + p->line_len;
    if (p->line_len == 0) return CAIRN_OK;
    if (s >= e || (*s != '{' && *s != '[' && *s != '"')) {
        lp_set_err(p, ERR_JSON, "Invalid JSON", 12, 1);
        return CAIRN_OK;
    }
    for (size_t i = 0; i < st->n_jx; i++) {
        const lp_jexpr *x = &st->jx[i];
        const char *name = x->label;
        size_t nn = x->label_len;
        if (lp_base_has(p, name, nn)) {
            char *d = sc_alloc(p, nn + 10);
            if (!d) return CAIRN_ENOMEM;
            memcpy(d, name, nn);
            memcpy(d + nn, "_extracted", 10);
            name = d;
            nn += 10;
        }
        const char *v = j_path(s, e, x->steps, x->n), *vv = "";
        size_t vn = 0;
        if (v && v < e) {
            if (*v == '"') {
                int esc;
                const char *ve = j_str_end(v, e, &esc);
                if (ve) RETURN_IF_ERR(j_string_value(p, v + 1, (size_t)(ve - 1 - (v + 1)), esc, &vv, &vn));
            } else {
                const char *ve = j_skip(v, e);
                if (ve && !((size_t)(ve - v) == 4 && !memcmp(v, "null", 4))) {
                    vv = v;
                    vn = (size_t)(ve - v);
                }
            }
        }
        RETURN_IF_ERR(lp_set(p, name, nn, vv, vn, 0));
    }
    return CAIRN_OK;
}

/* `| unpack`: string members become labels, `_entry` replaces the line. */
static int lp_unpack(lpipe *p)
{
    const char *s = j_ws(p->line, p->line + p->line_len), *e = p->line + p->line_len;
    const char *entry = NULL;
    size_t entry_n = 0;
    if (s >= e || *s != '{') {
        lp_set_err(p, ERR_JSON, JE_OBJ, strlen(JE_OBJ), 1);
        return CAIRN_OK;
    }
    s++;
    for (;;) {
        s = j_ws(s, e);
        if (s < e && *s == '}') break;
        if (s >= e || *s != '"') goto bad;
        int kesc, vesc;
        const char *kend = j_str_end(s, e, &kesc);
        if (!kend) goto bad;
        const char *k = s + 1;
        size_t kn = (size_t)(kend - 1 - k);
        s = j_ws(kend, e);
        if (s >= e || *s != ':') goto bad;
        s = j_ws(s + 1, e);
        if (s < e && *s == '"') {
            const char *vend = j_str_end(s, e, &vesc);
            if (!vend) goto bad;
            const char *v;
            size_t vn;
            RETURN_IF_ERR(j_string_value(p, s + 1, (size_t)(vend - 1 - (s + 1)), vesc, &v, &vn));
            if (lp_eq(k, kn, "_entry", 6)) {
                entry = v;
                entry_n = vn;
            } else {
                jstate js;
                memset(&js, 0, sizeof js);
                js.p = p;
                p->jprefix.len = 0;
                const char *name;
                size_t nn;
                RETURN_IF_ERR(j_name(&js, k, kn, kesc, &name, &nn));
                RETURN_IF_ERR(j_emit(&js, name, nn, v, vn));
            }
            s = vend;
        } else {
            s = j_skip(s, e);
            if (!s) goto bad;
        }
        s = j_ws(s, e);
        if (s < e && *s == ',') {
            s++;
            continue;
        }
        if (s < e && *s == '}') break;
        goto bad;
    }
    if (entry) {
        p->line = entry;
        p->line_len = entry_n;
    }
    return CAIRN_OK;
bad:
    lp_set_err(p, ERR_JSON, JE_MAL, strlen(JE_MAL), 1);
    return CAIRN_OK;
}

/* ---- logfmt -------------------------------------------------------------------------------------- */

static int lf_emit(lpipe *p, const lp_stage *st, const char *k, size_t kn, const char *v, size_t vn)
{
    if (vn == 0 && !st->a->keep_empty) return CAIRN_OK;
    const char *name = k;
    size_t nn = kn;
    if (st->a->n_kvs) { /* logfmt a="key", b: only listed keys, maybe renamed */
        size_t i;
        for (i = 0; i < st->a->n_kvs; i++) {
            const ast_kv *kv = &st->a->kvs[i];
            const char *src = kv->has_value ? kv->value.p : kv->name.p;
            size_t sn = kv->has_value ? kv->value.len : kv->name.len;
            if (lp_eq(src, sn, k, kn)) break;
        }
        if (i == st->a->n_kvs) return CAIRN_OK;
        name = st->a->kvs[i].name.p;
        nn = st->a->kvs[i].name.len;
    } else if (!lp_clean_name(k, kn)) {
        char *d = sc_alloc(p, kn * 3 + 2);
        if (!d) return CAIRN_ENOMEM;
        nn = lp_sanitize_into(k, kn, d, kn * 3 + 2, 1);
        name = d;
        if (!nn) return CAIRN_OK;
    }
    jstate js;
    memset(&js, 0, sizeof js);
    js.p = p;
    return j_emit(&js, name, nn, v, vn);
}

static int lp_logfmt(lpipe *p, const lp_stage *st)
{
    const char *s = p->line, *e = p->line + p->line_len;
    const char *errm = NULL;
    size_t err_pos = 0;
    while (s < e) {
        while (s < e && (unsigned char)*s <= ' ') s++;
        if (s >= e) break;
        const char *k = s;
        while (s < e && (unsigned char)*s > ' ' && *s != '=' && *s != '"') s++;
        const char *v = "";
        size_t vn = 0;
        size_t kn = (size_t)(s - k);
        if (s < e && *s == '"') {
            errm = "unexpected '\"'";
            goto malformed;
        }
        if (s < e && *s == '=') {
            if (kn == 0) {
                errm = "unexpected '='";
                goto malformed;
            }
            s++;
            if (s < e && *s == '"') {
                const char *q = s + 1;
                int esc = 0;
                while (q < e && *q != '"') {
                    if (*q == '\\') {
                        esc = 1;
                        q++;
                    }
                    q++;
                }
                if (q >= e) {
                    errm = "unterminated quoted value";
                    goto malformed;
                }
                v = s + 1;
                vn = (size_t)(q - v);
                if (esc) {
                    char *d = sc_alloc(p, vn ? vn : 1);
                    if (!d) return CAIRN_ENOMEM;
                    size_t u = j_unescape(v, vn, d);
                    if (u == (size_t)-1) {
                        errm = "invalid quoted value";
                        goto malformed;
                    }
                    v = d;
                    vn = u;
                }
                s = q + 1;
            } else {
                v = s;
                while (s < e && (unsigned char)*s > ' ') {
                    if (*s == '=' || *s == '"') break;
                    s++;
                }
                if (s < e && (*s == '=' || *s == '"')) {
                    errm = *s == '=' ? "unexpected '='" : "unexpected '\"'";
                    goto malformed;
                }
                vn = (size_t)(s - v);
            }
        }
        RETURN_IF_ERR(lf_emit(p, st, k, kn, v, vn));
        continue;
    malformed:
        err_pos = (size_t)(s - p->line);
        if (st->a->strict) {
            char m[96];
            int n = snprintf(m, sizeof m, "logfmt syntax error at pos %zu : %s", err_pos + 1, errm);
            char *d = sc_dup(p, m, (size_t)n);
            if (!d) return CAIRN_ENOMEM;
            lp_set_err(p, ERR_LOGFMT, d, (size_t)n, 1);
            return CAIRN_OK;
        }
        while (s < e && (unsigned char)*s > ' ') s++; /* resume at the next whitespace */
    }
    return CAIRN_OK;
}

/* ---- pattern ------------------------------------------------------------------------------------ */

static int pat_compile(arena *ar, const char *s, size_t n, int for_filter, lp_pattern *out, cairn_err *err)
{
    size_t cap = 2 * n + 2;
    lp_pnode *v = arena_calloc(ar, cap, sizeof *v);
    if (!v) return err_set(err, CAIRN_ENOMEM, "out of memory compiling a pattern");
    size_t k = 0, i = 0, named = 0, lit_start = 0;
    while (i <= n) {
        int cap_here = 0;
        size_t j = i;
        if (i < n && s[i] == '<') {
            j = i + 1;
            if (j < n && (isalpha((unsigned char)s[j]) || s[j] == '_')) {
                while (j < n && (isalnum((unsigned char)s[j]) || s[j] == '_')) j++;
                if (j < n && s[j] == '>') cap_here = 1;
            }
        }
        if (cap_here || i == n) {
            if (i > lit_start) {
                v[k].is_cap = 0;
                v[k].s = s + lit_start;
                v[k].n = i - lit_start;
                k++;
            }
            if (i == n) break;
            const char *nm = s + i + 1;
            size_t nl = j - i - 1;
            if (k > 0 && v[k - 1].is_cap)
                return err_set(err, CAIRN_EINVAL, "invalid pattern \"%.*s\": captures must be separated by literals",
                               n > 80 ? 80 : (int)n, s);
            int is_named = !(nl == 1 && nm[0] == '_');
            for (size_t x = 0; is_named && x < k; x++)
                if (v[x].is_cap && v[x].named && lp_eq(v[x].s, v[x].n, nm, nl))
                    return err_set(err, CAIRN_EINVAL, "invalid pattern \"%.*s\": duplicate capture %.*s",
                                   n > 80 ? 80 : (int)n, s, (int)nl, nm);
            v[k].is_cap = 1;
            v[k].named = is_named;
            v[k].s = nm;
            v[k].n = nl;
            k++;
            named += (size_t)is_named;
            i = j + 1;
            lit_start = i;
            continue;
        }
        i++;
    }
    if (!for_filter && named == 0)
        return err_set(err, CAIRN_EINVAL, "invalid pattern \"%.*s\": at least one named capture is needed",
                       n > 80 ? 80 : (int)n, s);
    if (k == 0) return err_set(err, CAIRN_EINVAL, "invalid pattern: empty");
    out->v = v;
    out->n = k;
    return CAIRN_OK;
}

static int lp_pattern_extract(lpipe *p, const lp_pattern *pt)
{
    const char *s = p->line, *e = p->line + p->line_len;
    size_t i = 0;
    if (s == e) return CAIRN_OK;
    if (!pt->v[0].is_cap) {
        if ((size_t)(e - s) < pt->v[0].n || memcmp(s, pt->v[0].s, pt->v[0].n)) return CAIRN_OK;
        s += pt->v[0].n;
        i = 1;
    }
    jstate js;
    memset(&js, 0, sizeof js);
    js.p = p;
    while (i < pt->n) {
        const lp_pnode *c = &pt->v[i];
        if (i + 1 == pt->n) {
            if (c->named) RETURN_IF_ERR(j_emit(&js, c->s, c->n, s, (size_t)(e - s)));
            return CAIRN_OK;
        }
        const lp_pnode *lit = &pt->v[i + 1];
        const char *h = memmem(s, (size_t)(e - s), lit->s, lit->n);
        if (!h) {
            if (c->named) RETURN_IF_ERR(j_emit(&js, c->s, c->n, s, (size_t)(e - s)));
            return CAIRN_OK;
        }
        if (c->named) RETURN_IF_ERR(j_emit(&js, c->s, c->n, s, (size_t)(h - s)));
        s = h + lit->n;
        i += 2;
    }
    return CAIRN_OK;
}

/* `|> "pattern"`: literals in order, the first at the start when the pattern
 * starts with one, a capture takes at least one byte, and a pattern ending in
 * a literal must end the line. */
static int lp_pattern_test(const lp_pattern *pt, const char *s, size_t n)
{
    const char *e = s + n;
    if (n == 0) return 0;
    size_t i = 0;
    for (; i < pt->n; i++) {
        if (pt->v[i].is_cap) continue;
        const char *h = memmem(s, (size_t)(e - s), pt->v[i].s, pt->v[i].n);
        if (!h) return 0;
        if (i == 0 && h != s) return 0;
        if (i > 0 && h == s) return 0; /* the capture before it would be empty */
        s = h + pt->v[i].n;
    }
    if (!pt->v[pt->n - 1].is_cap) return s == e;
    return s < e;
}

/* ---- line filters --------------------------------------------------------------------------------- */

static int lp_line_filter(const lp_stage *st, const char *line, size_t n)
{
    const ast_stage *a = st->a;
    int neg = a->lf_op == AST_LF_NOT_CONTAINS || a->lf_op == AST_LF_NOT_MATCH || a->lf_op == AST_LF_NOT_PATTERN;
    int any = 0;
    for (size_t i = 0; i < a->n_strs && !any; i++) {
        int m;
        switch (a->lf_op) {
        case AST_LF_CONTAINS: case AST_LF_NOT_CONTAINS:
            m = a->strs[i].len == 0 || (n >= a->strs[i].len && memmem(line, n, a->strs[i].p, a->strs[i].len));
            break;
        case AST_LF_MATCH: case AST_LF_NOT_MATCH:
            m = match_re_exec(st->res[i], line, n);
            if (m < 0) return m;
            break;
        default: m = lp_pattern_test(&st->pats[i], line, n); break;
        }
        any = m;
    }
    /* `|= a or b`: any; `!= a or b`: none (the or becomes and under the negation) */
    return neg ? !any : any;
}

/* ---- label filters ---------------------------------------------------------------------------------- */

static int lp_cmp(ast_cmp c, double a, double b)
{
    switch (c) {
    case AST_CMP_EQ: case AST_CMP_EQLC: return a == b;
    case AST_CMP_NEQ: return a != b;
    case AST_CMP_GTR: return a > b;
    case AST_CMP_GTE: return a >= b;
    case AST_CMP_LSS: return a < b;
    case AST_CMP_LTE: return a <= b;
    }
    return 0;
}

static int lp_lf_eval(lpipe *p, const lp_lf *f)
{
    switch (f->kind) {
    case AST_LFK_PAREN: return lp_lf_eval(p, f->l);
    case AST_LFK_AND: {
        int a = lp_lf_eval(p, f->l);
        if (a < 0) return a;
        int b = lp_lf_eval(p, f->r); /* evaluated even when a is false, as Loki does */
        if (b < 0) return b;
        return a && b;
    }
    case AST_LFK_OR: {
        int a = lp_lf_eval(p, f->l);
        if (a) return a;
        return lp_lf_eval(p, f->r);
    }
    case AST_LFK_STRING: {
        size_t n = 0;
        const char *v = lpipe_get(p, f->m.name, f->m.name_len, &n);
        return match_value(&f->m, v ? v : "", v ? n : 0);
    }
    default: break;
    }
    size_t n = 0;
    const char *v = lpipe_get(p, f->name.p, f->name.len, &n);
    if (!v) return 0; /* absent: dropped, even for != */
    double x;
    int rc;
    const char *what;
    if (f->kind == AST_LFK_NUMBER) rc = lpipe_parse_float(v, n, &x), what = "strconv.ParseFloat: parsing \"%.*s\": invalid syntax";
    else if (f->kind == AST_LFK_DURATION) rc = dur_parse_go(v, n, &x), what = "time: invalid duration \"%.*s\"";
    else rc = lpipe_parse_bytes(v, n, &x), what = "strconv.ParseFloat: parsing \"%.*s\": invalid syntax";
    if (rc) {
        lp_set_err_fmt(p, ERR_LABEL_FILTER, what, v, n);
        return 1;
    }
    return lp_cmp(f->cmp, x, f->value);
}

static int lp_lf_compile(arena *ar, const ast_lf *a, lp_lf **out, cairn_err *err)
{
    lp_lf *f = arena_calloc(ar, 1, sizeof *f);
    if (!f) return err_set(err, CAIRN_ENOMEM, "out of memory compiling a label filter");
    f->kind = a->kind;
    switch (a->kind) {
    case AST_LFK_AND: case AST_LFK_OR:
        RETURN_IF_ERR(lp_lf_compile(ar, a->lhs, &f->l, err));
        RETURN_IF_ERR(lp_lf_compile(ar, a->rhs, &f->r, err));
        break;
    case AST_LFK_PAREN: RETURN_IF_ERR(lp_lf_compile(ar, a->lhs, &f->l, err)); break;
    case AST_LFK_STRING: {
        cairn_matcher cm;
        static const int ops[] = {CAIRN_MATCH_EQ, CAIRN_MATCH_NE, CAIRN_MATCH_RE, CAIRN_MATCH_NRE};
        cm.op = ops[a->m.op];
        cm.name = a->m.name.p;
        cm.name_len = a->m.name.len;
        cm.value = a->m.value.p;
        cm.value_len = a->m.value.len;
        RETURN_IF_ERR(match_compile(&f->m, &cm, err));
        break;
    }
    default:
        f->name = a->name;
        f->cmp = a->cmp;
        f->value = a->value;
        break;
    }
    *out = f;
    return CAIRN_OK;
}

static void lp_lf_free(lp_lf *f)
{
    if (!f) return;
    if (f->kind == AST_LFK_STRING) match_free(&f->m);
    lp_lf_free(f->l);
    lp_lf_free(f->r);
}

/* ---- templates ---------------------------------------------------------------------------------------- */

static int lp_render(lpipe *p, const ltmpl *t, const char **out, size_t *on)
{
    ltmpl_env env;
    env.lookup = lp_get_cb;
    env.ctx = p;
    env.line = p->line;
    env.line_len = p->line_len;
    env.t_ns = p->t_ns;
    p->tmp.len = 0;
    p->rbuf.len = 0;
    int rc = ltmpl_render(t, &env, &p->tmp, &p->rbuf, &p->terr);
    if (rc == CAIRN_ENOMEM) return rc;
    if (rc) {
        lp_set_err_fmt(p, ERR_TEMPLATE, "%.*s", p->terr.msg, strlen(p->terr.msg));
        return 1;
    }
    char *d = sc_dup(p, (const char *)p->rbuf.p, p->rbuf.len);
    if (!d) return CAIRN_ENOMEM;
    *out = d;
    *on = p->rbuf.len;
    return CAIRN_OK;
}

static int lp_label_format(lpipe *p, const lp_stage *st)
{
    const ast_stage *a = st->a;
    /* render every template against the labels as they were before the stage */
    const char *vals[64];
    size_t lens[64];
    uint8_t ok[64];
    size_t n = a->n_kvs < 64 ? a->n_kvs : 64;
    for (size_t i = 0; i < n; i++) {
        ok[i] = 0;
        if (!st->tmpls[i]) continue;
        int rc = lp_render(p, st->tmpls[i], &vals[i], &lens[i]);
        if (rc < 0) return rc;
        ok[i] = rc == 0;
    }
    for (size_t i = 0; i < n; i++) {
        const ast_kv *kv = &a->kvs[i];
        if (kv->value_is_name) {
            size_t vn = 0;
            const char *v = lpipe_get(p, kv->value.p, kv->value.len, &vn);
            if (!v) continue;
            if (lp_eq(kv->value.p, kv->value.len, kv->name.p, kv->name.len)) continue;
            lp_del(p, kv->value.p, kv->value.len);
            RETURN_IF_ERR(lp_set(p, kv->name.p, kv->name.len, v, vn, 1));
        } else if (ok[i]) {
            RETURN_IF_ERR(lp_set(p, kv->name.p, kv->name.len, vals[i], lens[i], 1));
        }
    }
    return CAIRN_OK;
}

static int lp_drop_keep(lpipe *p, const lp_stage *st, int keep)
{
    const ast_stage *a = st->a;
    if (!keep) {
        for (size_t i = 0; i < a->n_kvs; i++) {
            const ast_kv *kv = &a->kvs[i];
            if (st->has_m[i]) {
                size_t vn = 0;
                const char *v = lpipe_get(p, kv->name.p, kv->name.len, &vn);
                if (!v) continue;
                int m = match_value(&st->ms[i], v, vn);
                if (m < 0) return m;
                if (!m) continue;
            }
            lp_del(p, kv->name.p, kv->name.len);
        }
        return CAIRN_OK;
    }
    /* keep: decide for every visible name; error labels always stay */
    for (int pass = 0; pass < 3; pass++) {
        size_t cnt = pass == 0 ? p->n_base : pass == 1 ? p->n_meta : p->n_parsed;
        for (size_t j = cnt; j-- > 0;) {
            const cairn_label *l = pass == 0 ? &p->base[j] : pass == 1 ? &p->meta[j] : &p->parsed[j];
            if (pass == 0 && p->base_del[j]) continue;
            if (pass == 1 && p->meta_del[j]) continue;
            int kept = 0;
            for (size_t i = 0; i < a->n_kvs && !kept; i++) {
                const ast_kv *kv = &a->kvs[i];
                if (!lp_eq(kv->name.p, kv->name.len, l->name, l->name_len)) continue;
                if (!st->has_m[i]) {
                    kept = 1;
                    break;
                }
                size_t vn = 0;
                const char *v = lpipe_get(p, l->name, l->name_len, &vn);
                int m = match_value(&st->ms[i], v ? v : "", v ? vn : 0);
                if (m < 0) return m;
                kept = m;
            }
            if (kept) continue;
            if (pass == 0) p->base_del[j] = 1, p->dirty_del = 1;
            else if (pass == 1) p->meta_del[j] = 1, p->dirty_del = 1;
            else p->parsed[j] = p->parsed[--p->n_parsed];
        }
    }
    return CAIRN_OK;
}

/* Strip ANSI escape sequences: CSI (ESC [ … final byte), OSC (ESC ] … BEL or ESC \), and two-byte ESC x. */
static int lp_decolorize(lpipe *p)
{
    const char *s = p->line;
    size_t n = p->line_len;
    if (!memchr(s, 0x1b, n)) return CAIRN_OK;
    char *d = sc_alloc(p, n);
    if (!d) return CAIRN_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] != 0x1b) {
            d[k++] = s[i++];
            continue;
        }
        if (i + 1 < n && s[i + 1] == '[') {
            size_t j = i + 2;
            while (j < n && (unsigned char)s[j] >= 0x20 && (unsigned char)s[j] <= 0x3f) j++;
            while (j < n && (unsigned char)s[j] >= 0x20 && (unsigned char)s[j] <= 0x2f) j++;
            if (j < n && (unsigned char)s[j] >= 0x40 && (unsigned char)s[j] <= 0x7e) j++;
            i = j;
        } else if (i + 1 < n && s[i + 1] == ']') {
            size_t j = i + 2;
            while (j < n && s[j] != 0x07 && !(s[j] == 0x1b && j + 1 < n && s[j + 1] == '\\')) j++;
            i = j < n ? (s[j] == 0x07 ? j + 1 : j + 2) : n;
        } else {
            i += i + 1 < n ? 2 : 1;
        }
    }
    p->line = d;
    p->line_len = k;
    return CAIRN_OK;
}

static int lp_regexp(lpipe *p, const lp_stage *st)
{
    int rc = match_re_groups(st->rx, p->line, p->line_len, st->roff, st->n_roff);
    if (rc <= 0) return rc; /* no match: no labels; CAIRN_ENOMEM */
    jstate js;
    memset(&js, 0, sizeof js);
    js.p = p;
    for (size_t i = 0; i < st->n_rnames; i++) {
        uint32_t g = st->rnames[i].group;
        const char *v = "";
        size_t vn = 0;
        if (st->roff[2 * g] >= 0) {
            v = p->line + st->roff[2 * g];
            vn = (size_t)(st->roff[2 * g + 1] - st->roff[2 * g]);
        }
        RETURN_IF_ERR(j_emit(&js, st->rnames[i].name, st->rnames[i].len, v, vn));
    }
    return CAIRN_OK;
}

static int lp_unwrap(lpipe *p, const ast_stage *a)
{
    size_t n = 0;
    const char *v = lpipe_get(p, a->unwrap_label.p, a->unwrap_label.len, &n);
    p->unwrap_has = 0;
    if (!v || !n) return CAIRN_OK;
    double x = 0;
    int rc;
    const char *what;
    if (a->unwrap_conv == AST_UNWRAP_NONE)
        rc = lpipe_parse_float(v, n, &x), what = "strconv.ParseFloat: parsing \"%.*s\": invalid syntax";
    else if (a->unwrap_conv == AST_UNWRAP_BYTES)
        rc = lpipe_parse_bytes(v, n, &x), what = "strconv.ParseFloat: parsing \"%.*s\": invalid syntax";
    else rc = dur_parse_go(v, n, &x), what = "time: invalid duration \"%.*s\"";
    p->unwrap_has = 1;
    if (rc) {
        x = 0;
        lp_set_err_fmt(p, ERR_SAMPLE, what, v, n);
    }
    p->unwrap_v = x;
    return CAIRN_OK;
}

/* ---- the pipe ----------------------------------------------------------------------------------------- */

static int lp_is_parser(ast_stage_kind k)
{
    return k == AST_ST_JSON || k == AST_ST_LOGFMT || k == AST_ST_REGEXP || k == AST_ST_PATTERN || k == AST_ST_UNPACK;
}

/* "key", a.b, a["b"], list[0] */
static int lp_jpath_compile(arena *ar, const char *s, size_t n, lp_jexpr *x, cairn_err *err)
{
    lp_jstep *st = arena_calloc(ar, n + 1, sizeof *st);
    if (!st) return err_set(err, CAIRN_ENOMEM, "out of memory compiling a JSON expression");
    size_t k = 0, i = 0;
    while (i < n) {
        if (s[i] == '.') {
            i++;
            continue;
        }
        if (s[i] == '[') {
            i++;
            if (i < n && s[i] == '"') {
                size_t b = ++i;
                while (i < n && s[i] != '"') i++;
                if (i >= n) goto bad;
                st[k].key = s + b;
                st[k].klen = i - b;
                i++;
            } else {
                size_t b = i;
                long v = 0; /* -1: too large for any array, selects nothing */
                for (; i < n && isdigit((unsigned char)s[i]); i++)
                    if (v >= 0) v = v > (LONG_MAX - 9) / 10 ? -1 : v * 10 + (s[i] - '0');
                if (i == b) goto bad;
                st[k].is_idx = 1;
                st[k].idx = v;
            }
            if (i >= n || s[i] != ']') goto bad;
            i++;
            k++;
            continue;
        }
        size_t b = i;
        while (i < n && s[i] != '.' && s[i] != '[') i++;
        st[k].key = s + b;
        st[k].klen = i - b;
        k++;
    }
    if (k == 0) goto bad;
    x->steps = st;
    x->n = k;
    return CAIRN_OK;
bad:
    return err_set(err, CAIRN_EINVAL, "invalid JSON expression \"%.*s\"", n > 80 ? 80 : (int)n, s);
}

static int lp_compile_stage(lpipe *p, lp_stage *st, cairn_err *err)
{
    const ast_stage *a = st->a;
    arena *ar = p->ar;
    switch (a->kind) {
    case AST_ST_LINE_FILTER:
        if (a->lf_op == AST_LF_MATCH || a->lf_op == AST_LF_NOT_MATCH) {
            st->res = arena_calloc(ar, a->n_strs, sizeof *st->res);
            if (!st->res) return err_set(err, CAIRN_ENOMEM, "out of memory");
            for (size_t i = 0; i < a->n_strs; i++)
                RETURN_IF_ERR(match_re_compile(&st->res[i], a->strs[i].p, a->strs[i].len, 0, err));
        } else if (a->lf_op == AST_LF_PATTERN || a->lf_op == AST_LF_NOT_PATTERN) {
            st->pats = arena_calloc(ar, a->n_strs, sizeof *st->pats);
            if (!st->pats) return err_set(err, CAIRN_ENOMEM, "out of memory");
            for (size_t i = 0; i < a->n_strs; i++)
                RETURN_IF_ERR(pat_compile(ar, a->strs[i].p, a->strs[i].len, 1, &st->pats[i], err));
        }
        return CAIRN_OK;
    case AST_ST_JSON:
        if (a->n_kvs) {
            st->jx = arena_calloc(ar, a->n_kvs, sizeof *st->jx);
            if (!st->jx) return err_set(err, CAIRN_ENOMEM, "out of memory");
            st->n_jx = a->n_kvs;
            for (size_t i = 0; i < a->n_kvs; i++) {
                const ast_kv *kv = &a->kvs[i];
                st->jx[i].label = kv->name.p;
                st->jx[i].label_len = kv->name.len;
                const ast_str *src = kv->has_value ? &kv->value : &kv->name;
                RETURN_IF_ERR(lp_jpath_compile(ar, src->p, src->len, &st->jx[i], err));
            }
        }
        return CAIRN_OK;
    case AST_ST_REGEXP: {
        RETURN_IF_ERR(match_re_compile_as(&st->rx, a->strs[0].p, a->strs[0].len, MATCH_RE_CAPTURE, "regexp stage", err));
        int ng = match_re_ngroups(st->rx);
        size_t cnt = 0;
        for (int g = 1; g <= ng; g++) cnt += match_re_group_name(st->rx, g, NULL) != NULL;
        if (cnt == 0)
            return err_set(err, CAIRN_EINVAL, "invalid regexp stage \"%.*s\": at least one named capture group is needed",
                           a->strs[0].len > 80 ? 80 : (int)a->strs[0].len, a->strs[0].p);
        st->rnames = arena_calloc(ar, cnt, sizeof *st->rnames);
        st->n_roff = ng + 1;
        st->roff = arena_calloc(ar, (size_t)st->n_roff * 2, sizeof *st->roff);
        if (!st->rnames || !st->roff) return err_set(err, CAIRN_ENOMEM, "out of memory");
        /* in group order, as Loki sets them */
        size_t k = 0;
        for (int g = 1; g <= ng; g++) {
            size_t nl = 0;
            const char *nm = match_re_group_name(st->rx, g, &nl);
            if (!nm) continue;
            if (nm[0] >= '0' && nm[0] <= '9') /* RE2 accepts it; a label name cannot start so (Loki) */
                return err_set(err, CAIRN_EINVAL, "invalid regexp stage \"%.*s\": invalid extracted label name '%.*s'",
                               a->strs[0].len > 80 ? 80 : (int)a->strs[0].len, a->strs[0].p, (int)nl, nm);
            for (size_t j = 0; j < k; j++)
                if (st->rnames[j].len == nl && memcmp(st->rnames[j].name, nm, nl) == 0)
                    return err_set(err, CAIRN_EINVAL, "invalid regexp stage \"%.*s\": duplicate extracted label name '%.*s'",
                                   a->strs[0].len > 80 ? 80 : (int)a->strs[0].len, a->strs[0].p, (int)nl, nm);
            st->rnames[k].group = (uint32_t)g;
            st->rnames[k].name = nm;
            st->rnames[k].len = nl;
            k++;
        }
        st->n_rnames = cnt;
        return CAIRN_OK;
    }
    case AST_ST_PATTERN: return pat_compile(ar, a->strs[0].p, a->strs[0].len, 0, &st->pat, err);
    case AST_ST_LABEL_FILTER: return lp_lf_compile(ar, a->filter, &st->lf, err);
    case AST_ST_LINE_FORMAT: return ltmpl_compile(ar, a->strs[0].p, a->strs[0].len, &st->tmpl, err);
    case AST_ST_LABEL_FORMAT:
        if (a->n_kvs > 64) return err_set(err, CAIRN_EINVAL, "label_format: at most 64 labels per stage");
        st->tmpls = arena_calloc(ar, a->n_kvs, sizeof *st->tmpls);
        if (!st->tmpls) return err_set(err, CAIRN_ENOMEM, "out of memory");
        for (size_t i = 0; i < a->n_kvs; i++) {
            const ast_kv *kv = &a->kvs[i];
            if (lp_eq(kv->name.p, kv->name.len, "__error__", 9))
                return err_set(err, CAIRN_EINVAL, "label_format: __error__ cannot be a target");
            for (size_t j = 0; j < i; j++)
                if (lp_eq(a->kvs[j].name.p, a->kvs[j].name.len, kv->name.p, kv->name.len))
                    return err_set(err, CAIRN_EINVAL, "label_format: multiple label name '%.*s' not allowed in a single format operation",
                                   (int)kv->name.len, kv->name.p);
            if (!kv->value_is_name) RETURN_IF_ERR(ltmpl_compile(ar, kv->value.p, kv->value.len, &st->tmpls[i], err));
        }
        return CAIRN_OK;
    case AST_ST_DROP: case AST_ST_KEEP:
        st->ms = arena_calloc(ar, a->n_kvs ? a->n_kvs : 1, sizeof *st->ms);
        st->has_m = arena_calloc(ar, a->n_kvs ? a->n_kvs : 1, 1);
        if (!st->ms || !st->has_m) return err_set(err, CAIRN_ENOMEM, "out of memory");
        for (size_t i = 0; i < a->n_kvs; i++) {
            const ast_kv *kv = &a->kvs[i];
            if (!kv->has_value) continue;
            static const int ops[] = {CAIRN_MATCH_EQ, CAIRN_MATCH_NE, CAIRN_MATCH_RE, CAIRN_MATCH_NRE};
            cairn_matcher cm = {ops[kv->op], kv->name.p, kv->name.len, kv->value.p, kv->value.len};
            RETURN_IF_ERR(match_compile(&st->ms[i], &cm, err));
            st->has_m[i] = 1;
        }
        return CAIRN_OK;
    case AST_ST_UNWRAP:
        p->has_unwrap = 1;
        p->unwrap_label = a->unwrap_label;
        return CAIRN_OK;
    default: return CAIRN_OK;
    }
}

int lpipe_new(arena *ar, const ast_stage *stages, size_t n, const lpipe_hints *hints, lpipe **out, cairn_err *err)
{
    lpipe *p = mem_calloc(1, sizeof *p);
    if (!p) return err_set(err, CAIRN_ENOMEM, "out of memory");
    p->ar = ar;
    buf_init(&p->tmp);
    buf_init(&p->rbuf);
    buf_init(&p->jprefix);
    int rc = CAIRN_OK;
    p->st = mem_calloc(n ? n : 1, sizeof *p->st);
    if (!p->st) {
        rc = err_set(err, CAIRN_ENOMEM, "out of memory");
        goto fail;
    }
    p->n_st = n;
    for (size_t i = 0; i < n; i++) {
        p->st[i].a = &stages[i];
        rc = lp_compile_stage(p, &p->st[i], err);
        if (rc) goto fail;
    }
    if (hints && hints->restrict_labels) {
        p->restrict_labels = 1;
        p->want = hints->names;
        p->n_want = hints->n_names;
        for (size_t i = 0; i < p->n_want; i++) {
            if (lp_eq(p->want[i].p, p->want[i].len, "__error__", 9) ||
                lp_eq(p->want[i].p, p->want[i].len, "__error_details__", 17))
                p->preserve = 1;
            else p->n_want_real++;
        }
        p->skip_parsers = p->n_want == 0;
    }
    *out = p;
    return CAIRN_OK;
fail:
    lpipe_free(p);
    return rc;
}

void lpipe_free(lpipe *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n_st; i++) {
        lp_stage *st = &p->st[i];
        if (st->res)
            for (size_t j = 0; j < st->a->n_strs; j++) match_re_free(st->res[j]);
        match_re_free(st->rx);
        lp_lf_free(st->lf);
        if (st->ms)
            for (size_t j = 0; j < st->a->n_kvs; j++)
                if (st->has_m[j]) match_free(&st->ms[j]);
    }
    mem_free(p->st, (p->n_st ? p->n_st : 1) * sizeof *p->st);
    for (size_t i = 0; i < p->n_blk; i++) mem_free(p->blk[i].p, p->blk[i].cap);
    mem_free(p->blk, ((p->n_blk + 7) / 8 * 8) * sizeof *p->blk);
    mem_free(p->base_del, p->cap_base_del);
    mem_free(p->meta_del, p->cap_meta_del);
    mem_free(p->parsed, p->cap_parsed * sizeof *p->parsed);
    mem_free(p->out, p->cap_out * sizeof *p->out);
    mem_free(p->prio, p->cap_out);
    buf_free(&p->tmp);
    buf_free(&p->rbuf);
    buf_free(&p->jprefix);
    mem_free(p, sizeof *p);
}

size_t lpipe_pushdown(lpipe *p, cairn_line_filter *f, size_t cap)
{
    size_t k = 0;
    while (p->first < p->n_st && k < cap) {
        const ast_stage *a = p->st[p->first].a;
        if (a->kind != AST_ST_LINE_FILTER || a->n_strs != 1) break;
        int op;
        switch (a->lf_op) {
        case AST_LF_CONTAINS: op = CAIRN_FILTER_CONTAINS; break;
        case AST_LF_NOT_CONTAINS: op = CAIRN_FILTER_NOT_CONTAINS; break;
        case AST_LF_MATCH: op = CAIRN_FILTER_REGEX; break;
        case AST_LF_NOT_MATCH: op = CAIRN_FILTER_NOT_REGEX; break;
        default: op = -1; break;
        }
        if (op < 0) break;
        f[k].op = op;
        f[k].pattern = a->strs[0].p;
        f[k].pattern_len = a->strs[0].len;
        k++;
        p->first++;
    }
    return k;
}

static int lp_grow_del(uint8_t **d, size_t *cap, size_t n)
{
    if (n <= *cap) return CAIRN_OK;
    size_t nc = *cap ? *cap : 16;
    while (nc < n) nc *= 2;
    uint8_t *x = mem_realloc(*d, *cap, nc);
    if (!x) return CAIRN_ENOMEM;
    memset(x + *cap, 0, nc - *cap);
    *d = x;
    *cap = nc;
    return CAIRN_OK;
}

int lpipe_stream(lpipe *p, const cairn_label *ls, size_t n)
{
    RETURN_IF_ERR(lp_grow_del(&p->base_del, &p->cap_base_del, n));
    memset(p->base_del, 0, p->cap_base_del);
    p->base = ls;
    p->n_base = n;
    return CAIRN_OK;
}

int lpipe_run(lpipe *p, int64_t t_ns, const char *line, size_t len, const cairn_label *meta, size_t n_meta)
{
    sc_reset(p);
    if (p->dirty_del) {
        memset(p->base_del, 0, p->n_base);
        if (p->meta_del) memset(p->meta_del, 0, p->cap_meta_del);
        p->dirty_del = 0;
    }
    RETURN_IF_ERR(lp_grow_del(&p->meta_del, &p->cap_meta_del, n_meta));
    p->meta = meta;
    p->n_meta = n_meta;
    p->n_parsed = 0;
    p->err = p->errd = NULL;
    p->err_len = p->errd_len = 0;
    p->err_preserved = 0;
    p->line = len ? line : "";
    p->line_len = len;
    p->t_ns = t_ns;
    p->unwrap_has = 0;
    p->unwrap_v = 0;
    for (size_t i = p->first; i < p->n_st; i++) {
        lp_stage *st = &p->st[i];
        const ast_stage *a = st->a;
        if (p->skip_parsers && lp_is_parser(a->kind)) continue;
        int rc = CAIRN_OK;
        switch (a->kind) {
        case AST_ST_LINE_FILTER:
            rc = lp_line_filter(st, p->line, p->line_len);
            if (rc <= 0) return rc;
            rc = CAIRN_OK;
            break;
        case AST_ST_JSON: rc = st->n_jx ? lp_json_expr(p, st) : lp_json(p); break;
        case AST_ST_LOGFMT: rc = lp_logfmt(p, st); break;
        case AST_ST_REGEXP: rc = lp_regexp(p, st); break;
        case AST_ST_PATTERN: rc = lp_pattern_extract(p, &st->pat); break;
        case AST_ST_UNPACK: rc = lp_unpack(p); break;
        case AST_ST_LABEL_FILTER:
            rc = lp_lf_eval(p, st->lf);
            if (rc <= 0) return rc;
            rc = CAIRN_OK;
            break;
        case AST_ST_LINE_FORMAT: {
            const char *nl;
            size_t nn;
            rc = lp_render(p, st->tmpl, &nl, &nn);
            if (rc == 0) {
                p->line = nl;
                p->line_len = nn;
            }
            if (rc > 0) rc = CAIRN_OK;
            break;
        }
        case AST_ST_LABEL_FORMAT: rc = lp_label_format(p, st); break;
        case AST_ST_DROP: rc = lp_drop_keep(p, st, 0); break;
        case AST_ST_KEEP: rc = lp_drop_keep(p, st, 1); break;
        case AST_ST_UNWRAP: rc = lp_unwrap(p, a); break;
        case AST_ST_DECOLORIZE: rc = lp_decolorize(p); break;
        default: break;
        }
        if (rc < 0) return rc;
    }
    return 1;
}

const char *lpipe_line(const lpipe *p, size_t *len)
{
    *len = p->line_len;
    return p->line;
}

int lpipe_unwraps(const lpipe *p, ast_str *label)
{
    if (p->has_unwrap && label) *label = p->unwrap_label;
    return p->has_unwrap;
}

double lpipe_unwrap_value(const lpipe *p, int *has_v)
{
    *has_v = p->unwrap_has;
    return p->unwrap_v;
}

const char *lpipe_error(const lpipe *p, size_t *len, int *preserved)
{
    *len = p->err_len;
    *preserved = p->err_preserved;
    return p->err ? p->err : "";
}

/* ---- regex with captures (label_replace), a thin layer over engine/match.h ---------------------- */

struct lpipe_re {
    match_re *m;
};

int lpipe_re_compile(const char *pat, size_t n, lpipe_re **out, cairn_err *err)
{
    *out = NULL;
    lpipe_re *re = mem_calloc(1, sizeof *re);
    if (!re) return err_set(err, CAIRN_ENOMEM, "out of memory");
    int rc = match_re_compile_as(&re->m, pat, n, MATCH_RE_ANCHORED | MATCH_RE_CAPTURE,
                                 "regular expression in label_replace():", err);
    if (rc) {
        mem_free(re, sizeof *re);
        return rc;
    }
    *out = re;
    return CAIRN_OK;
}

void lpipe_re_free(lpipe_re *re)
{
    if (!re) return;
    match_re_free(re->m);
    mem_free(re, sizeof *re);
}

int lpipe_re_expand(const lpipe_re *re, const char *s, size_t n, const char *tmpl, size_t tn, buf *dst)
{
    return match_re_expand(re->m, s, n, tmpl, tn, dst);
}
