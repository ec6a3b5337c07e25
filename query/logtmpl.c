/*
 * logtmpl.c — a Go text/template subset for line_format and label_format.
 *
 * Loki renders these stages with Go's text/template over a map of the
 * entry's labels. Embedding a template engine is out of reach in C, and the
 * templates people write in LogQL are small: fields, a few string functions
 * chained with `|`, sometimes an `if`. So this file implements exactly that
 * slice, compiled once per query into a tree of nodes in the query arena:
 *
 *   TEXT   literal bytes between actions ({{- and -}} already trimmed)
 *   ACTION a pipeline: commands separated by `|`; every command but the
 *          first gets the previous result as its last argument, as in Go
 *   IF     a condition pipeline, a then-list and an else-list
 *          (`else if` nests another IF in the else-list)
 *
 * A value is a string with a kind (string, bool, number) so that `if`, `eq`
 * and `not` follow Go's truthiness: empty string, false and 0 are false.
 * Values produced while rendering live in the caller's `tmp` buffer and are
 * referred to by offset, so the buffer may grow (move) in the middle of a
 * pipeline without leaving dangling pointers; label values looked up through
 * the callback are borrowed views.
 *
 * Differences from Go that a user can see are listed in docs/logql.md
 * (notably: no variables, no range/with/define, printf knows %s %v %d %q %%).
 * Nothing here allocates while rendering except through the two bufs.
 */
#include "logtmpl.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"

/* ---- the tree ----------------------------------------------------------------------------- */

typedef enum { TN_TEXT, TN_ACTION, TN_IF } tn_kind;
typedef enum { OP_FIELD, OP_STR, OP_NUM, OP_BOOL, OP_PIPE, OP_FN } op_kind;

/* Built-in functions. Arity -1 is variadic. */
typedef enum {
    F_LINE, F_TS, F_UPPER, F_LOWER, F_TITLE, F_TRIMSPACE, F_TRIM, F_TRIMLEFT, F_TRIMRIGHT, F_TRIMPREFIX,
    F_TRIMSUFFIX, F_TRIMPREFIX_S, F_TRIMSUFFIX_S, F_TRIMALL, F_REPLACE, F_REPLACE_S, F_DEFAULT, F_SUBSTR, F_TRUNC,
    F_CONTAINS, F_HASPREFIX, F_HASSUFFIX, F_EQ, F_NE, F_NOT, F_AND, F_OR, F_LEN, F_PRINTF, F_REPEAT
} fn_id;

typedef struct tfn {
    const char *name;
    fn_id id;
    int min, max; /* argument counts; max -1 = any */
} tfn;

static const tfn tfns[] = {
    {"__line__", F_LINE, 0, 0},          {"__timestamp__", F_TS, 0, 0},      {"ToUpper", F_UPPER, 1, 1},
    {"upper", F_UPPER, 1, 1},            {"ToLower", F_LOWER, 1, 1},         {"lower", F_LOWER, 1, 1},
    {"title", F_TITLE, 1, 1},            {"Title", F_TITLE, 1, 1},           {"TrimSpace", F_TRIMSPACE, 1, 1},
    {"trim", F_TRIMSPACE, 1, 1},         {"Trim", F_TRIM, 2, 2},             {"TrimLeft", F_TRIMLEFT, 2, 2},
    {"TrimRight", F_TRIMRIGHT, 2, 2},    {"TrimPrefix", F_TRIMPREFIX, 2, 2}, {"TrimSuffix", F_TRIMSUFFIX, 2, 2},
    {"trimPrefix", F_TRIMPREFIX_S, 2, 2}, {"trimSuffix", F_TRIMSUFFIX_S, 2, 2}, {"trimAll", F_TRIMALL, 2, 2},
    {"Replace", F_REPLACE, 4, 4},        {"replace", F_REPLACE_S, 3, 3},     {"default", F_DEFAULT, 2, 2},
    {"substr", F_SUBSTR, 3, 3},          {"trunc", F_TRUNC, 2, 2},           {"contains", F_CONTAINS, 2, 2},
    {"hasPrefix", F_HASPREFIX, 2, 2},    {"hasSuffix", F_HASSUFFIX, 2, 2},   {"eq", F_EQ, 2, -1},
    {"ne", F_NE, 2, 2},                  {"not", F_NOT, 1, 1},               {"and", F_AND, 1, -1},
    {"or", F_OR, 1, -1},                 {"len", F_LEN, 1, 1},               {"printf", F_PRINTF, 1, -1},
    {"repeat", F_REPEAT, 2, 2},
};
#define N_TFNS (sizeof tfns / sizeof tfns[0])

typedef struct tpipe tpipe;

typedef struct toperand {
    op_kind kind;
    const char *s; /* FIELD name, STR/NUM text */
    size_t n;
    int b;         /* BOOL */
    tpipe *pipe;   /* PIPE */
} toperand;

typedef struct tcmd {
    const tfn *fn;     /* NULL: the command is the single operand args[0] */
    toperand *args;
    size_t n_args;
} tcmd;

struct tpipe {
    tcmd *cmds;
    size_t n;
};

typedef struct tnode {
    tn_kind kind;
    const char *s; /* TEXT */
    size_t n;
    tpipe *pipe;   /* ACTION, IF condition */
    struct tnode *then, *els;
    struct tnode *next;
} tnode;

struct ltmpl {
    tnode *root;
    const char **fields;
    size_t *field_lens;
    size_t n_fields, cap_fields;
};

/* ---- compiling ---------------------------------------------------------------------------- */

typedef struct tparser {
    arena *ar;
    ltmpl *t;
    const char *src, *p, *end;
    /* the current action's content [a, b) */
    const char *a, *b;
    int trim_next; /* the previous action ended with -}} */
    int depth;
    cairn_err *err;
} tparser;

static int tp_err(tparser *tp, const char *what)
{
    return err_set(tp->err, CAIRN_EINVAL, "template: %.*s: %s", tp->end - tp->src > 60 ? 60 : (int)(tp->end - tp->src),
                   tp->src, what);
}

static int tp_oom(tparser *tp) { return err_set(tp->err, CAIRN_ENOMEM, "out of memory compiling a template"); }

static int is_ident_start(int c) { return isalpha(c) || c == '_'; }
static int is_ident(int c) { return isalnum(c) || c == '_'; }

static void tp_ws(tparser *tp)
{
    while (tp->a < tp->b && isspace((unsigned char)*tp->a)) tp->a++;
}

static int tp_add_field(tparser *tp, const char *s, size_t n)
{
    ltmpl *t = tp->t;
    for (size_t i = 0; i < t->n_fields; i++)
        if (t->field_lens[i] == n && memcmp(t->fields[i], s, n) == 0) return CAIRN_OK;
    if (t->n_fields == t->cap_fields) {
        size_t nc = t->cap_fields ? 2 * t->cap_fields : 8;
        const char **nf = arena_alloc(tp->ar, nc * sizeof *nf);
        size_t *nl = arena_alloc(tp->ar, nc * sizeof *nl);
        if (!nf || !nl) return tp_oom(tp);
        if (t->n_fields) {
            memcpy(nf, t->fields, t->n_fields * sizeof *nf);
            memcpy(nl, t->field_lens, t->n_fields * sizeof *nl);
        }
        t->fields = nf;
        t->field_lens = nl;
        t->cap_fields = nc;
    }
    t->fields[t->n_fields] = s;
    t->field_lens[t->n_fields++] = n;
    return CAIRN_OK;
}

/* Decode a Go double-quoted string literal at tp->a into the arena. */
static int tp_string(tparser *tp, toperand *o)
{
    char q = *tp->a++;
    const char *s = tp->a;
    char *d = arena_alloc(tp->ar, (size_t)(tp->b - tp->a) + 1);
    if (!d) return tp_oom(tp);
    size_t n = 0;
    while (tp->a < tp->b && *tp->a != q) {
        char c = *tp->a++;
        if (q == '"' && c == '\\') {
            if (tp->a >= tp->b) return tp_err(tp, "unterminated quoted string");
            c = *tp->a++;
            switch (c) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '\\': case '"': case '\'': break;
            default: return tp_err(tp, "unsupported escape in string");
            }
        }
        d[n++] = c;
    }
    if (tp->a >= tp->b) return tp_err(tp, "unterminated quoted string");
    tp->a++;
    (void)s;
    d[n] = '\0';
    o->kind = OP_STR;
    o->s = d;
    o->n = n;
    return CAIRN_OK;
}

static int tp_pipe(tparser *tp, tpipe **out, int in_paren);

static int tp_operand(tparser *tp, toperand *o, const tfn **fn)
{
    *fn = NULL;
    memset(o, 0, sizeof *o);
    char c = *tp->a;
    if (c == '.') {
        tp->a++;
        const char *s = tp->a;
        while (tp->a < tp->b && is_ident((unsigned char)*tp->a)) tp->a++;
        if (tp->a == s) return tp_err(tp, "the dot alone is not supported; use .label");
        o->kind = OP_FIELD;
        o->s = s;
        o->n = (size_t)(tp->a - s);
        return tp_add_field(tp, s, o->n);
    }
    if (c == '"' || c == '`') return tp_string(tp, o);
    if (c == '-' || c == '+' || isdigit((unsigned char)c)) {
        const char *s = tp->a++;
        while (tp->a < tp->b && (isalnum((unsigned char)*tp->a) || *tp->a == '.')) tp->a++;
        char tmp[64];
        size_t n = (size_t)(tp->a - s);
        if (n >= sizeof tmp) return tp_err(tp, "number too long");
        memcpy(tmp, s, n);
        tmp[n] = 0;
        char *e;
        (void)strtod(tmp, &e);
        if (*e) return tp_err(tp, "bad number");
        o->kind = OP_NUM;
        o->s = s;
        o->n = n;
        return CAIRN_OK;
    }
    if (c == '(') {
        tp->a++;
        if (++tp->depth > 32) return tp_err(tp, "pipelines nested too deeply");
        o->kind = OP_PIPE;
        int rc = tp_pipe(tp, &o->pipe, 1);
        tp->depth--;
        return rc;
    }
    if (is_ident_start((unsigned char)c)) {
        const char *s = tp->a;
        while (tp->a < tp->b && is_ident((unsigned char)*tp->a)) tp->a++;
        size_t n = (size_t)(tp->a - s);
        if ((n == 4 && !memcmp(s, "true", 4)) || (n == 5 && !memcmp(s, "false", 5))) {
            o->kind = OP_BOOL;
            o->b = n == 4;
            return CAIRN_OK;
        }
        for (size_t i = 0; i < N_TFNS; i++)
            if (strlen(tfns[i].name) == n && !memcmp(tfns[i].name, s, n)) {
                *fn = &tfns[i];
                o->kind = OP_FN;
                return CAIRN_OK;
            }
        char m[120];
        snprintf(m, sizeof m, "function \"%.*s\" not defined", n > 40 ? 40 : (int)n, s);
        return tp_err(tp, m);
    }
    return tp_err(tp, "unexpected character in action");
}

/* command { | command }, up to the end of the action or a `)`. */
static int tp_pipe(tparser *tp, tpipe **out, int in_paren)
{
    tpipe *pp = arena_calloc(tp->ar, 1, sizeof *pp);
    if (!pp) return tp_oom(tp);
    size_t cap_cmds = 0;
    for (;;) {
        tcmd cmd;
        memset(&cmd, 0, sizeof cmd);
        size_t cap_args = 0;
        for (;;) {
            tp_ws(tp);
            if (tp->a >= tp->b || *tp->a == '|' || *tp->a == ')') break;
            toperand o;
            const tfn *fn;
            int rc = tp_operand(tp, &o, &fn);
            if (rc) return rc;
            if (fn && !cmd.fn && !cmd.n_args) {
                cmd.fn = fn;
                continue;
            }
            if (fn) {
                /* Go: a function named in argument position is called without
                 * arguments, so `repeat 2 __line__` reads the line. */
                if (fn->min > 0) {
                    char m[120];
                    snprintf(m, sizeof m, "wrong number of args for %s: want %d got 0", fn->name, fn->min);
                    return tp_err(tp, m);
                }
                tpipe *sub = arena_calloc(tp->ar, 1, sizeof *sub);
                tcmd *sc = arena_calloc(tp->ar, 1, sizeof *sc);
                if (!sub || !sc) return tp_oom(tp);
                sc->fn = fn;
                sub->cmds = sc;
                sub->n = 1;
                o.kind = OP_PIPE;
                o.pipe = sub;
            }
            if (cmd.n_args == cap_args) {
                size_t nc = cap_args ? 2 * cap_args : 4;
                toperand *na = arena_alloc(tp->ar, nc * sizeof *na);
                if (!na) return tp_oom(tp);
                if (cmd.n_args) memcpy(na, cmd.args, cmd.n_args * sizeof *na);
                cmd.args = na;
                cap_args = nc;
            }
            cmd.args[cmd.n_args++] = o;
        }
        if (!cmd.fn && cmd.n_args == 0) return tp_err(tp, "missing value for command");
        if (!cmd.fn && cmd.n_args > 1) return tp_err(tp, "can't give argument to non-function");
        if (!cmd.fn && pp->n > 0) return tp_err(tp, "non-function in a pipeline position");
        if (cmd.fn) {
            size_t have = cmd.n_args + (pp->n > 0);
            if ((int)have < cmd.fn->min || (cmd.fn->max >= 0 && (int)have > cmd.fn->max)) {
                char m[120];
                snprintf(m, sizeof m, "wrong number of args for %s: got %zu", cmd.fn->name, have);
                return tp_err(tp, m);
            }
        }
        if (pp->n == cap_cmds) {
            size_t nc = cap_cmds ? 2 * cap_cmds : 4;
            tcmd *nn = arena_alloc(tp->ar, nc * sizeof *nn);
            if (!nn) return tp_oom(tp);
            if (pp->n) memcpy(nn, pp->cmds, pp->n * sizeof *nn);
            pp->cmds = nn;
            cap_cmds = nc;
        }
        pp->cmds[pp->n++] = cmd;
        if (tp->a < tp->b && *tp->a == '|') {
            tp->a++;
            continue;
        }
        break;
    }
    if (in_paren) {
        if (tp->a >= tp->b || *tp->a != ')') return tp_err(tp, "unclosed left paren");
        tp->a++;
    } else if (tp->a < tp->b) {
        return tp_err(tp, "unexpected \")\" in operand");
    }
    *out = pp;
    return CAIRN_OK;
}

/* Find the next action: sets tp->a/b to its content, returns the text
 * before it (trimmed per the markers). 0 when no more actions. */
static int tp_next_action(tparser *tp, const char **txt, size_t *txt_n, int *found)
{
    const char *open = NULL;
    for (const char *q = tp->p; q + 1 < tp->end; q++)
        if (q[0] == '{' && q[1] == '{') {
            open = q;
            break;
        }
    const char *ts = tp->p, *te = open ? open : tp->end;
    if (tp->trim_next)
        while (ts < te && isspace((unsigned char)*ts)) ts++;
    tp->trim_next = 0;
    *found = 0;
    if (open) {
        const char *a = open + 2;
        if (a + 1 < tp->end && a[0] == '-' && isspace((unsigned char)a[1])) {
            while (te > ts && isspace((unsigned char)te[-1])) te--;
            a += 2;
        }
        const char *close = NULL;
        int in_str = 0;
        for (const char *q = a; q + 1 < tp->end; q++) {
            if (in_str) {
                if (*q == '\\' && in_str == '"') q++;
                else if (*q == in_str) in_str = 0;
                continue;
            }
            if (*q == '"' || *q == '`') in_str = *q;
            else if (q[0] == '}' && q[1] == '}') {
                close = q;
                break;
            }
        }
        if (!close) return tp_err(tp, "unclosed action");
        const char *b = close;
        if (b - a >= 2 && b[-1] == '-' && isspace((unsigned char)b[-2])) {
            b -= 2;
            tp->trim_next = 1;
        }
        tp->a = a;
        tp->b = b;
        tp->p = close + 2;
        *found = 1;
    } else {
        tp->p = tp->end;
    }
    *txt = ts;
    *txt_n = (size_t)(te - ts);
    return CAIRN_OK;
}

/* Keyword at the start of the current action. */
static int tp_kw(tparser *tp, const char *kw)
{
    tp_ws(tp);
    size_t n = strlen(kw);
    if ((size_t)(tp->b - tp->a) >= n && !memcmp(tp->a, kw, n) &&
        ((size_t)(tp->b - tp->a) == n || !is_ident((unsigned char)tp->a[n]))) {
        tp->a += n;
        return 1;
    }
    return 0;
}

/* List of nodes until {{end}} / {{else}} (reported in *stop: 0 eof, 1 end, 2 else, 3 else if). */
static int tp_list(tparser *tp, tnode **out, int *stop)
{
    tnode *head = NULL, **tail = &head;
    *stop = 0;
    for (;;) {
        const char *txt = NULL;
        size_t txt_n = 0;
        int found = 0, rc = tp_next_action(tp, &txt, &txt_n, &found);
        if (rc) return rc;
        if (txt_n) {
            tnode *t = arena_calloc(tp->ar, 1, sizeof *t);
            if (!t) return tp_oom(tp);
            t->kind = TN_TEXT;
            t->s = txt;
            t->n = txt_n;
            *tail = t;
            tail = &t->next;
        }
        if (!found) break;
        tp_ws(tp);
        if (tp->b - tp->a >= 2 && tp->a[0] == '/' && tp->a[1] == '*') continue; /* comment */
        if (tp_kw(tp, "end")) {
            *stop = 1;
            break;
        }
        if (tp_kw(tp, "else")) {
            *stop = tp_kw(tp, "if") ? 3 : 2;
            break;
        }
        int is_if = tp_kw(tp, "if");
        if (tp_kw(tp, "range") || tp_kw(tp, "with") || tp_kw(tp, "define") || tp_kw(tp, "template") ||
            tp_kw(tp, "block"))
            return tp_err(tp, "range, with, define, template and block are not supported");
        tp_ws(tp);
        if (tp->a < tp->b && *tp->a == '$') return tp_err(tp, "variables are not supported");
        tnode *nd = arena_calloc(tp->ar, 1, sizeof *nd);
        if (!nd) return tp_oom(tp);
        nd->kind = is_if ? TN_IF : TN_ACTION;
        rc = tp_pipe(tp, &nd->pipe, 0);
        if (rc) return rc;
        if (is_if) {
            tnode **els = &nd->els;
            tnode *cur = nd;
            int st;
            if (++tp->depth > 32) return tp_err(tp, "if nested too deeply");
            rc = tp_list(tp, &cur->then, &st);
            while (!rc && st == 3) { /* else if: a nested IF as the else branch */
                tnode *ei = arena_calloc(tp->ar, 1, sizeof *ei);
                if (!ei) return tp_oom(tp);
                ei->kind = TN_IF;
                rc = tp_pipe(tp, &ei->pipe, 0);
                if (rc) return rc;
                *els = ei;
                cur = ei;
                els = &ei->els;
                rc = tp_list(tp, &cur->then, &st);
            }
            if (!rc && st == 2) rc = tp_list(tp, els, &st);
            if (rc) return rc;
            if (st != 1) return tp_err(tp, "unexpected EOF: missing {{end}}");
            tp->depth--;
        }
        *tail = nd;
        tail = &nd->next;
    }
    *out = head;
    return CAIRN_OK;
}

int ltmpl_compile(arena *ar, const char *src, size_t n, ltmpl **out, cairn_err *err)
{
    tparser tp;
    memset(&tp, 0, sizeof tp);
    tp.ar = ar;
    tp.err = err;
    char *copy = arena_strdup(ar, src ? src : "", n); /* the tree points into its own copy */
    tp.t = arena_calloc(ar, 1, sizeof *tp.t);
    if (!copy || !tp.t) return err_set(err, CAIRN_ENOMEM, "out of memory compiling a template");
    tp.src = tp.p = copy;
    tp.end = copy + n;
    int stop, rc = tp_list(&tp, &tp.t->root, &stop);
    if (rc) return rc;
    if (stop == 1) return tp_err(&tp, "unexpected {{end}}");
    if (stop >= 2) return tp_err(&tp, "unexpected {{else}}");
    *out = tp.t;
    return CAIRN_OK;
}

int ltmpl_field(const ltmpl *t, size_t i, const char **name, size_t *len)
{
    if (i >= t->n_fields) return 0;
    *name = t->fields[i];
    *len = t->field_lens[i];
    return 1;
}

/* ---- rendering ---------------------------------------------------------------------------- */

typedef enum { V_STR, V_BOOL, V_NUM } v_kind;

typedef struct tval {
    v_kind kind;
    const char *p; /* borrowed view, or NULL when in tmp */
    size_t off, n;
} tval;

typedef struct trender {
    const ltmpl_env *env;
    buf *tmp;
    cairn_err *err;
    size_t dst0; /* dst->len when the rendering began */
} trender;

/* Never `NULL + 0`: an empty tmp buffer has no storage yet (UBSan's "applying
 * zero offset to null pointer"); every value in it is then empty. */
static const char *tv_ptr(const trender *r, const tval *v)
{
    if (v->p) return v->p;
    return r->tmp->p ? (const char *)r->tmp->p + v->off : "";
}

/* Bound what one rendering may hold in tmp, so a template such as
 * `{{ repeat 200 (repeat 200 __line__) }}` fails instead of growing. */
static int tv_room(trender *r, size_t n)
{
    if (n > LTMPL_MAX_TMP_BYTES || r->tmp->len > LTMPL_MAX_TMP_BYTES - n)
        return err_set(r->err, CAIRN_EINVAL, "template: output would exceed %u bytes (line_format/label_format limit)",
                       (unsigned)LTMPL_MAX_LINE_BYTES);
    return CAIRN_OK;
}

static int tv_tmp_begin(trender *r, tval *v, v_kind k)
{
    v->kind = k;
    v->p = NULL;
    v->off = r->tmp->len;
    v->n = 0;
    return CAIRN_OK;
}

static int tv_put(trender *r, tval *v, const void *s, size_t n)
{
    if (n == 0) return CAIRN_OK;
    RETURN_IF_ERR(tv_room(r, n));
    if (buf_put(r->tmp, s, n)) return err_set(r->err, CAIRN_ENOMEM, "out of memory rendering a template");
    v->n += n;
    return CAIRN_OK;
}

static int tv_lit(trender *r, tval *v, v_kind k, const char *s, size_t n)
{
    (void)r;
    v->kind = k;
    v->p = s ? s : "";
    v->off = 0;
    v->n = n;
    return CAIRN_OK;
}

static int tv_truth(const trender *r, const tval *v)
{
    const char *s = tv_ptr(r, v);
    switch (v->kind) {
    case V_BOOL: return v->n == 4;
    case V_NUM: return strtod(s, NULL) != 0;
    default: return v->n > 0;
    }
}

static int tv_int(trender *r, const tval *v, long long *out)
{
    char t[64];
    if (v->n == 0 || v->n >= sizeof t) goto bad;
    memcpy(t, tv_ptr(r, v), v->n);
    t[v->n] = 0;
    char *e;
    double d = strtod(t, &e);
    if (*e || d != floor(d)) goto bad;
    *out = (long long)d;
    return CAIRN_OK;
bad:
    return err_set(r->err, CAIRN_EINVAL, "template: expected an integer, got \"%.*s\"", v->n > 40 ? 40 : (int)v->n,
                   tv_ptr(r, v));
}

static int r_pipe(trender *r, const tpipe *pp, tval *out);

static int r_operand(trender *r, const toperand *o, tval *out)
{
    switch (o->kind) {
    case OP_FIELD: {
        size_t n = 0;
        const char *s = r->env->lookup(r->env->ctx, o->s, o->n, &n);
        return tv_lit(r, out, V_STR, s ? s : "", s ? n : 0);
    }
    case OP_STR: return tv_lit(r, out, V_STR, o->s, o->n);
    case OP_NUM: return tv_lit(r, out, V_NUM, o->s, o->n);
    case OP_BOOL: return tv_lit(r, out, V_BOOL, o->b ? "true" : "false", o->b ? 4 : 5);
    case OP_PIPE: return r_pipe(r, o->pipe, out);
    default: return err_set(r->err, CAIRN_EINTERNAL, "template: bad operand");
    }
}

/* Go's time.Time.String() in UTC: "2006-01-02 15:04:05.999999999 +0000 UTC". */
static int r_time(trender *r, int64_t t_ns, tval *out)
{
    int64_t sec = t_ns / 1000000000, ns = t_ns % 1000000000;
    if (ns < 0) {
        ns += 1000000000;
        sec--;
    }
    time_t tt = (time_t)sec;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char b[96];
    int n = snprintf(b, sizeof b, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (ns) {
        char f[16];
        snprintf(f, sizeof f, "%09lld", (long long)ns);
        int fl = 9;
        while (fl > 0 && f[fl - 1] == '0') fl--;
        n += snprintf(b + n, sizeof b - (size_t)n, ".%.*s", fl, f);
    }
    n += snprintf(b + n, sizeof b - (size_t)n, " +0000 UTC");
    tv_tmp_begin(r, out, V_STR);
    return tv_put(r, out, b, (size_t)n);
}

static int is_in(char c, const char *set, size_t n) { return memchr(set, c, n) != NULL; }

/* Copy s[0..n) to a new tmp value with bytes mapped by `mode` (0 upper, 1 lower, 2 title). */
static int r_case(trender *r, const tval *a, int mode, tval *out)
{
    size_t n = a->n;
    tv_tmp_begin(r, out, V_STR);
    if (n == 0) return CAIRN_OK; /* nothing to map; tmp may still have no storage */
    RETURN_IF_ERR(tv_room(r, n));
    if (buf_reserve(r->tmp, n)) return err_set(r->err, CAIRN_ENOMEM, "out of memory rendering a template");
    const char *s = tv_ptr(r, a); /* after the reserve: the buffer may have moved */
    char *d = (char *)r->tmp->p + r->tmp->len;
    int prev_letter = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (mode == 0) c = (unsigned char)toupper(c);
        else if (mode == 1) c = (unsigned char)tolower(c);
        else {
            if (!prev_letter) c = (unsigned char)toupper(c);
            prev_letter = isalnum(c) || c >= 0x80 || c == '_' || c == '\'';
        }
        d[i] = (char)c;
    }
    r->tmp->len += n;
    out->n = n;
    return CAIRN_OK;
}

/* strings.Replace(s, old, new, n): built in a private buffer because the
 * inputs may live in tmp, which must not move while they are read. */
static int r_replace(trender *r, const tval *s, const tval *o, const tval *nw, long long count, tval *out)
{
    buf b;
    buf_init(&b);
    const char *sp = tv_ptr(r, s), *op = tv_ptr(r, o), *np = tv_ptr(r, nw);
    size_t i = 0;
    long long done = 0;
    int rc = CAIRN_OK;
    while (!rc) {
        if (count >= 0 && done >= count) break;
        if (b.len > LTMPL_MAX_TMP_BYTES) {
            buf_free(&b);
            return err_set(r->err, CAIRN_EINVAL, "template: output would exceed %u bytes (line_format/label_format limit)",
                           (unsigned)LTMPL_MAX_LINE_BYTES);
        }
        if (o->n == 0) { /* empty old: before every rune and at the end */
            rc = buf_put(&b, np, nw->n);
            done++;
            if (i >= s->n) {
                i = s->n + 1;
                break;
            }
            size_t rl = 1;
            unsigned char c = (unsigned char)sp[i];
            if (c >= 0xf0) rl = 4;
            else if (c >= 0xe0) rl = 3;
            else if (c >= 0xc0) rl = 2;
            if (i + rl > s->n) rl = s->n - i;
            if (!rc) rc = buf_put(&b, sp + i, rl);
            i += rl;
            continue;
        }
        const char *hit = i <= s->n ? memmem(sp + i, s->n - i, op, o->n) : NULL;
        if (!hit) break;
        size_t pre = (size_t)(hit - (sp + i));
        rc = buf_put(&b, sp + i, pre);
        if (!rc) rc = buf_put(&b, np, nw->n);
        i += pre + o->n;
        done++;
    }
    if (!rc && i < s->n) rc = buf_put(&b, sp + i, s->n - i);
    if (!rc) {
        tv_tmp_begin(r, out, V_STR);
        rc = tv_put(r, out, b.p, b.len);
    } else {
        rc = err_set(r->err, CAIRN_ENOMEM, "out of memory rendering a template");
    }
    buf_free(&b);
    return rc;
}

/* printf with %s %v %d %q %%. */
static int r_printf(trender *r, const tval *args, size_t n, tval *out)
{
    tv_tmp_begin(r, out, V_STR);
    const tval *f = &args[0];
    size_t ai = 1;
    for (size_t i = 0; i < f->n; i++) {
        const char *fp = tv_ptr(r, f);
        char c = fp[i];
        if (c != '%' || i + 1 >= f->n) {
            RETURN_IF_ERR(tv_put(r, out, &c, 1));
            continue;
        }
        char v = fp[++i];
        if (v == '%') {
            RETURN_IF_ERR(tv_put(r, out, "%", 1));
            continue;
        }
        if (ai >= n) {
            char miss[32];
            int k = snprintf(miss, sizeof miss, "%%!%c(MISSING)", v);
            RETURN_IF_ERR(tv_put(r, out, miss, (size_t)k));
            continue;
        }
        const tval *a = &args[ai++];
        char tmpb[512];
        size_t an = a->n < sizeof tmpb - 2 ? a->n : sizeof tmpb - 2;
        memcpy(tmpb, tv_ptr(r, a), an);
        if (v == 'q') {
            RETURN_IF_ERR(tv_put(r, out, "\"", 1));
            RETURN_IF_ERR(tv_put(r, out, tmpb, an));
            RETURN_IF_ERR(tv_put(r, out, "\"", 1));
        } else if (v == 'd') {
            long long x;
            RETURN_IF_ERR(tv_int(r, a, &x));
            char nb[32];
            int k = snprintf(nb, sizeof nb, "%lld", x);
            RETURN_IF_ERR(tv_put(r, out, nb, (size_t)k));
        } else if (v == 's' || v == 'v') {
            RETURN_IF_ERR(tv_put(r, out, tmpb, an));
        } else {
            return err_set(r->err, CAIRN_EINVAL, "template: printf verb %%%c is not supported", v);
        }
    }
    return CAIRN_OK;
}

static int r_call(trender *r, const tfn *fn, tval *a, size_t n, tval *out)
{
    switch (fn->id) {
    case F_LINE: return tv_lit(r, out, V_STR, r->env->line, r->env->line_len);
    case F_TS: return r_time(r, r->env->t_ns, out);
    case F_UPPER: return r_case(r, &a[0], 0, out);
    case F_LOWER: return r_case(r, &a[0], 1, out);
    case F_TITLE: return r_case(r, &a[0], 2, out);
    case F_TRIMSPACE: case F_TRIM: case F_TRIMLEFT: case F_TRIMRIGHT: case F_TRIMALL: {
        const tval *s = fn->id == F_TRIMALL ? &a[1] : &a[0];
        const tval *cut = fn->id == F_TRIMALL ? &a[0] : &a[1];
        size_t b = 0, e = s->n;
        const char *sp = tv_ptr(r, s);
        const char *cp = (fn->id == F_TRIMSPACE) ? " \t\n\r\v\f" : tv_ptr(r, cut);
        size_t cn = (fn->id == F_TRIMSPACE) ? 6 : cut->n;
        if (fn->id != F_TRIMRIGHT)
            while (b < e && is_in(sp[b], cp, cn)) b++;
        if (fn->id != F_TRIMLEFT)
            while (e > b && is_in(sp[e - 1], cp, cn)) e--;
        *out = *s;
        out->kind = V_STR;
        if (out->p) out->p += b;
        else out->off += b;
        out->n = e - b;
        return CAIRN_OK;
    }
    case F_TRIMPREFIX: case F_TRIMSUFFIX: case F_TRIMPREFIX_S: case F_TRIMSUFFIX_S: {
        int swap = fn->id == F_TRIMPREFIX_S || fn->id == F_TRIMSUFFIX_S;
        const tval *s = swap ? &a[1] : &a[0], *x = swap ? &a[0] : &a[1];
        int pre = fn->id == F_TRIMPREFIX || fn->id == F_TRIMPREFIX_S;
        *out = *s;
        out->kind = V_STR;
        const char *sp = tv_ptr(r, s), *xp = tv_ptr(r, x);
        if (x->n <= s->n) {
            if (pre && !memcmp(sp, xp, x->n)) {
                if (out->p) out->p += x->n;
                else out->off += x->n;
                out->n -= x->n;
            } else if (!pre && !memcmp(sp + s->n - x->n, xp, x->n)) {
                out->n -= x->n;
            }
        }
        return CAIRN_OK;
    }
    case F_REPLACE: {
        long long cnt;
        RETURN_IF_ERR(tv_int(r, &a[3], &cnt));
        return r_replace(r, &a[0], &a[1], &a[2], cnt, out);
    }
    case F_REPLACE_S: return r_replace(r, &a[2], &a[0], &a[1], -1, out);
    case F_DEFAULT:
        *out = tv_truth(r, &a[1]) ? a[1] : a[0];
        return CAIRN_OK;
    case F_SUBSTR: {
        long long st, en;
        RETURN_IF_ERR(tv_int(r, &a[0], &st));
        RETURN_IF_ERR(tv_int(r, &a[1], &en));
        /* sprig: start < 0 → from 0; end < 0 or > len → to len; start > end → "" */
        long long len = (long long)a[2].n;
        if (st < 0) st = 0;
        if (en < 0 || en > len) en = len;
        if (st > en) st = en;
        *out = a[2];
        out->kind = V_STR;
        if (out->p) out->p += st;
        else out->off += (size_t)st;
        out->n = (size_t)(en - st);
        return CAIRN_OK;
    }
    case F_TRUNC: {
        long long c;
        RETURN_IF_ERR(tv_int(r, &a[0], &c));
        *out = a[1];
        out->kind = V_STR;
        long long len = (long long)a[1].n;
        if (c >= 0 && c < len) out->n = (size_t)c;
        else if (c < 0 && -c < len) {
            if (out->p) out->p += len + c;
            else out->off += (size_t)(len + c);
            out->n = (size_t)-c;
        }
        return CAIRN_OK;
    }
    case F_CONTAINS: case F_HASPREFIX: case F_HASSUFFIX: {
        const char *x = tv_ptr(r, &a[0]), *s = tv_ptr(r, &a[1]);
        size_t xn = a[0].n, sn = a[1].n;
        int b;
        if (fn->id == F_CONTAINS) b = xn == 0 || (xn <= sn && memmem(s, sn, x, xn) != NULL);
        else if (fn->id == F_HASPREFIX) b = xn <= sn && !memcmp(s, x, xn);
        else b = xn <= sn && !memcmp(s + sn - xn, x, xn);
        return tv_lit(r, out, V_BOOL, b ? "true" : "false", b ? 4 : 5);
    }
    case F_EQ: case F_NE: {
        int b = 0;
        for (size_t i = 1; i < n && !b; i++)
            b = a[0].n == a[i].n && !memcmp(tv_ptr(r, &a[0]), tv_ptr(r, &a[i]), a[0].n);
        if (fn->id == F_NE) b = !b;
        return tv_lit(r, out, V_BOOL, b ? "true" : "false", b ? 4 : 5);
    }
    case F_NOT: {
        int b = !tv_truth(r, &a[0]);
        return tv_lit(r, out, V_BOOL, b ? "true" : "false", b ? 4 : 5);
    }
    case F_AND: /* Go: the first false argument, else the last */
        for (size_t i = 0; i < n; i++)
            if (!tv_truth(r, &a[i]) || i + 1 == n) {
                *out = a[i];
                return CAIRN_OK;
            }
        return CAIRN_OK;
    case F_OR:
        for (size_t i = 0; i < n; i++)
            if (tv_truth(r, &a[i]) || i + 1 == n) {
                *out = a[i];
                return CAIRN_OK;
            }
        return CAIRN_OK;
    case F_LEN: {
        char nb[32];
        int k = snprintf(nb, sizeof nb, "%zu", a[0].n);
        tv_tmp_begin(r, out, V_NUM);
        return tv_put(r, out, nb, (size_t)k);
    }
    case F_PRINTF: return r_printf(r, a, n, out);
    case F_REPEAT: {
        long long c;
        RETURN_IF_ERR(tv_int(r, &a[0], &c));
        if (c < 0) return err_set(r->err, CAIRN_EINVAL, "template: repeat count must not be negative");
        if (a[1].n && (unsigned long long)c > LTMPL_MAX_LINE_BYTES / a[1].n)
            return err_set(r->err, CAIRN_EINVAL, "template: repeat output would exceed %u bytes (line_format limit)",
                           (unsigned)LTMPL_MAX_LINE_BYTES);
        tv_tmp_begin(r, out, V_STR);
        if (!a[1].n || !c) return CAIRN_OK;
        RETURN_IF_ERR(tv_room(r, (size_t)c * a[1].n));
        if (buf_reserve(r->tmp, (size_t)c * a[1].n))
            return err_set(r->err, CAIRN_ENOMEM, "out of memory rendering a template");
        for (long long i = 0; i < c; i++) {
            /* after the reserve: the source may live in tmp, which no longer moves */
            memmove(r->tmp->p + r->tmp->len, tv_ptr(r, &a[1]), a[1].n);
            r->tmp->len += a[1].n;
            out->n += a[1].n;
        }
        return CAIRN_OK;
    }
    }
    return err_set(r->err, CAIRN_EINTERNAL, "template: unknown function");
}

#define R_MAX_ARGS 16

static int r_pipe(trender *r, const tpipe *pp, tval *out)
{
    tval prev;
    memset(&prev, 0, sizeof prev);
    for (size_t c = 0; c < pp->n; c++) {
        const tcmd *cmd = &pp->cmds[c];
        tval args[R_MAX_ARGS];
        size_t na = 0;
        if (cmd->n_args + 1 > R_MAX_ARGS) return err_set(r->err, CAIRN_EINVAL, "template: too many arguments");
        for (size_t i = 0; i < cmd->n_args; i++) RETURN_IF_ERR(r_operand(r, &cmd->args[i], &args[na++]));
        if (c > 0) args[na++] = prev;
        if (!cmd->fn) prev = args[0];
        else RETURN_IF_ERR(r_call(r, cmd->fn, args, na, &prev));
    }
    *out = prev;
    return CAIRN_OK;
}

/* Append to the rendering's output, keeping it within LTMPL_MAX_LINE_BYTES. */
static int r_out(trender *r, buf *dst, const char *s, size_t n)
{
    if (n > LTMPL_MAX_LINE_BYTES || dst->len - r->dst0 > LTMPL_MAX_LINE_BYTES - n)
        return err_set(r->err, CAIRN_EINVAL, "template: output would exceed %u bytes (line_format/label_format limit)",
                       (unsigned)LTMPL_MAX_LINE_BYTES);
    if (buf_put(dst, s, n)) return err_set(r->err, CAIRN_ENOMEM, "out of memory rendering a template");
    return CAIRN_OK;
}

static int r_list(trender *r, const tnode *nd, buf *dst)
{
    for (; nd; nd = nd->next) {
        if (nd->kind == TN_TEXT) {
            RETURN_IF_ERR(r_out(r, dst, nd->s, nd->n));
            continue;
        }
        tval v;
        RETURN_IF_ERR(r_pipe(r, nd->pipe, &v));
        if (nd->kind == TN_IF) {
            RETURN_IF_ERR(r_list(r, tv_truth(r, &v) ? nd->then : nd->els, dst));
            continue;
        }
        RETURN_IF_ERR(r_out(r, dst, tv_ptr(r, &v), v.n));
    }
    return CAIRN_OK;
}

int ltmpl_render(const ltmpl *t, const ltmpl_env *env, buf *tmp, buf *dst, cairn_err *err)
{
    trender r;
    r.env = env;
    r.tmp = tmp;
    r.err = err;
    r.dst0 = dst->len;
    return r_list(&r, t->root, dst);
}
