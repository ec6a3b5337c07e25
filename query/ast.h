/*
 * ast — one abstract syntax tree for PromQL and LogQL.
 *
 * Every node lives in the query's arena (never freed one by one) and carries
 * the 1-based line:col where it starts. A node has a kind, the value type it
 * produces (AST_T_*, filled in by the parser's type checks), and a union of
 * per-kind fields. LogQL pipelines are arrays of stages hanging off a
 * AST_LOG_SELECTOR; label-filter expressions inside a pipeline are a small
 * tree of ast_lf nodes.
 *
 * Strings are (ptr, len) pairs into the arena, NUL-terminated for
 * convenience; they hold decoded bytes (escapes already applied).
 * Durations are int64 milliseconds; offsets may be negative.
 *
 * This module owns the node vocabulary and structural equality (ast_equal,
 * used by the round-trip tests and the parser fuzz target). It never
 * allocates, evaluates or prints.
 */
#ifndef CAIRN_AST_H
#define CAIRN_AST_H
#include <stddef.h>
#include <stdint.h>

#include "token.h"

typedef enum ast_kind {
    AST_NUMBER,      /* num */
    AST_STRING,      /* str */
    AST_VECTOR_SEL,  /* sel: name{matchers} offset @ */
    AST_MATRIX_SEL,  /* range: a vector selector and a range */
    AST_SUBQUERY,    /* sub: expr[range:step] offset @ */
    AST_CALL,        /* call: fn(args) */
    AST_AGGREGATE,   /* agg: op by/without (labels) (param, expr) */
    AST_BINARY,      /* bin: lhs op bool on/ignoring group_x rhs */
    AST_UNARY,       /* un: - or + expr */
    AST_PAREN,       /* paren: ( expr ) */
    AST_LOG_SELECTOR, /* log: {matchers} | stages … */
    AST_LOG_RANGE,   /* lrange: log selector with pipeline over [range] offset */
    AST_LOG_AGG,     /* lagg: count_over_time(…) etc.; optional param and grouping */
    AST__KIND_COUNT
} ast_kind;

/* Value types, as Prometheus names them, plus LogQL's two. */
typedef enum ast_type {
    AST_T_NONE = 0,
    AST_T_SCALAR,
    AST_T_VECTOR,   /* instant vector */
    AST_T_MATRIX,   /* range vector */
    AST_T_STRING,
    AST_T_STREAMS,  /* LogQL log query result */
    AST_T_LOGRANGE, /* LogQL log range (only valid as a range aggregation's argument) */
} ast_type;

typedef struct ast_pos {
    int line, col;
} ast_pos;

typedef struct ast_str {
    const char *p; /* NUL-terminated, in the arena */
    size_t len;
} ast_str;

/* Label matcher ops, shared with LogQL drop/keep matchers. */
typedef enum ast_match_op { AST_MATCH_EQ, AST_MATCH_NEQ, AST_MATCH_RE, AST_MATCH_NRE } ast_match_op;

typedef struct ast_matcher {
    ast_str name, value;
    ast_match_op op;
    ast_pos pos;
} ast_matcher;

/* The @ modifier. */
typedef enum ast_at { AST_AT_NONE, AST_AT_TIME, AST_AT_START, AST_AT_END } ast_at;

/* Binary operators (token kinds are mapped onto these). */
typedef enum ast_binop {
    AST_OP_ADD, AST_OP_SUB, AST_OP_MUL, AST_OP_DIV, AST_OP_MOD, AST_OP_POW, AST_OP_ATAN2,
    AST_OP_EQLC, AST_OP_NEQ, AST_OP_GTR, AST_OP_LSS, AST_OP_GTE, AST_OP_LTE,
    AST_OP_AND, AST_OP_OR, AST_OP_UNLESS,
    AST__OP_COUNT
} ast_binop;

typedef enum ast_card { AST_CARD_ONE_TO_ONE, AST_CARD_MANY_TO_ONE, AST_CARD_ONE_TO_MANY } ast_card;

typedef struct ast_labels {
    ast_str *v;
    size_t n;
} ast_labels;

/* ---- LogQL pipeline stages ---------------------------------------------------- */

typedef enum ast_stage_kind {
    AST_ST_LINE_FILTER,  /* |= != |~ !~ |> !> "s" (or "t" …) */
    AST_ST_JSON,         /* | json [a="path", b] */
    AST_ST_LOGFMT,       /* | logfmt [--strict] [--keep-empty] [a="key", b] */
    AST_ST_REGEXP,       /* | regexp "re" */
    AST_ST_PATTERN,      /* | pattern "<a> <b>" */
    AST_ST_UNPACK,       /* | unpack */
    AST_ST_LABEL_FILTER, /* | a="b" and x > 10 … */
    AST_ST_LINE_FORMAT,  /* | line_format "tmpl" */
    AST_ST_LABEL_FORMAT, /* | label_format a=b, c="tmpl" */
    AST_ST_DROP,         /* | drop a, b="v" */
    AST_ST_KEEP,         /* | keep a, b="v" */
    AST_ST_UNWRAP,       /* | unwrap x | unwrap duration(x) | unwrap bytes(x) */
    AST_ST_DECOLORIZE,   /* | decolorize */
    AST__ST_COUNT
} ast_stage_kind;

typedef enum ast_lf_op { AST_LF_CONTAINS, AST_LF_NOT_CONTAINS, AST_LF_MATCH, AST_LF_NOT_MATCH,
                         AST_LF_PATTERN, AST_LF_NOT_PATTERN } ast_lf_op;

/* Label filter expression tree. */
typedef enum ast_lf_kind { AST_LFK_AND, AST_LFK_OR, AST_LFK_PAREN, AST_LFK_STRING, AST_LFK_NUMBER,
                           AST_LFK_DURATION, AST_LFK_BYTES } ast_lf_kind;
/* Comparison ops for numeric/duration/bytes label filters. */
typedef enum ast_cmp { AST_CMP_EQ, AST_CMP_EQLC, AST_CMP_NEQ, AST_CMP_GTR, AST_CMP_GTE, AST_CMP_LSS,
                       AST_CMP_LTE } ast_cmp;

typedef struct ast_lf {
    ast_lf_kind kind;
    ast_pos pos;
    int height;               /* 1 + tallest child; not compared */
    struct ast_lf *lhs, *rhs; /* AND, OR; PAREN uses lhs */
    ast_matcher m;            /* STRING: name, op, value */
    ast_str name;             /* NUMBER/DURATION/BYTES: label name */
    ast_cmp cmp;
    double value;             /* number; duration in seconds; bytes */
    ast_str text;             /* DURATION/BYTES: the literal as written (printed back verbatim) */
} ast_lf;

/* `name` or `name="value"` items of json/logfmt params, label_format, drop and keep. */
typedef struct ast_kv {
    ast_str name, value;
    int has_value;     /* json/logfmt: a="expr"; drop/keep: matcher; label_format: template */
    ast_match_op op;   /* drop/keep matchers */
    int value_is_name; /* label_format a=b (rename) */
} ast_kv;

typedef enum ast_unwrap_conv { AST_UNWRAP_NONE, AST_UNWRAP_DURATION, AST_UNWRAP_DURATION_SECONDS,
                               AST_UNWRAP_BYTES } ast_unwrap_conv;

typedef struct ast_stage {
    ast_stage_kind kind;
    ast_pos pos;
    /* LINE_FILTER: op and one or more alternatives joined by `or` */
    ast_lf_op lf_op;
    ast_str *strs;
    size_t n_strs;
    /* REGEXP, PATTERN, LINE_FORMAT: strs[0] */
    /* JSON, LOGFMT, LABEL_FORMAT, DROP, KEEP */
    ast_kv *kvs;
    size_t n_kvs;
    int strict, keep_empty; /* LOGFMT flags */
    ast_lf *filter;          /* LABEL_FILTER */
    ast_str unwrap_label;    /* UNWRAP */
    ast_unwrap_conv unwrap_conv;
} ast_stage;

/* ---- nodes ----------------------------------------------------------------------- */

typedef struct ast_node ast_node;

/* The function table (query/parse.c) entry of a call. */
typedef struct ast_fn {
    const char *name;
    uint8_t ret;          /* ast_type */
    uint8_t n_args;       /* listed argument types */
    uint8_t min_args;     /* optional trailing args below n_args */
    uint8_t variadic;     /* the last type repeats without bound */
    uint8_t args[5];      /* ast_type of each */
    uint8_t lang_mask;    /* 1 << QLANG_* where the function exists */
} ast_fn;

struct ast_node {
    ast_kind kind;
    ast_type type;
    ast_pos pos;
    int height; /* 1 + tallest child (bounded by PARSE_MAX_HEIGHT); not compared */
    union {
        double num;
        ast_str str;
        struct {
            ast_str name;           /* empty if none */
            ast_matcher *m;         /* other matchers (a sole __name__= is lifted into name) */
            size_t n_m;
            int64_t offset_ms;
            int has_offset;
            ast_at at;
            int64_t at_ms;
        } sel;
        struct {
            ast_node *sel; /* AST_VECTOR_SEL holding offset/@ */
            int64_t range_ms;
        } range;
        struct {
            ast_node *expr;
            int64_t range_ms, step_ms; /* step 0: default step (`[30m:]`) */
            int64_t offset_ms;
            int has_offset;
            ast_at at;
            int64_t at_ms;
        } sub;
        struct {
            const ast_fn *fn;
            ast_node **args;
            size_t n_args;
        } call;
        struct {
            ast_str op;          /* lower-case aggregator name */
            ast_node *param;     /* topk's k etc., or NULL */
            ast_node *expr;
            ast_labels grouping;
            int without;         /* 1: without (…) */
            int has_grouping;    /* 1: by/without present (possibly empty list) */
        } agg;
        struct {
            ast_binop op;
            ast_node *lhs, *rhs;
            int return_bool;
            int has_matching;    /* on/ignoring present */
            int on;              /* 1: on (…), 0: ignoring (…) */
            ast_labels matching;
            ast_card card;
            ast_labels include;  /* group_left/right (labels) */
        } bin;
        struct {
            int neg; /* 1: -, 0: + */
            ast_node *expr;
        } un;
        struct {
            ast_node *expr;
        } paren;
        struct {
            ast_matcher *m;
            size_t n_m;
            ast_stage *stages;
            size_t n_stages;
        } log;
        struct {
            ast_node *log;   /* AST_LOG_SELECTOR */
            int64_t range_ms;
            int64_t offset_ms;
            int has_offset;
        } lrange;
        struct {
            ast_str op;      /* count_over_time, rate, … */
            ast_node *param; /* quantile_over_time's q, else NULL */
            ast_node *range; /* AST_LOG_RANGE */
            ast_labels grouping;
            int without;
            int has_grouping;
        } lagg;
    } u;
};

/* Structural equality: same kinds, values (numbers bit-for-bit, NaN equal to
 * NaN), names, strings, modifiers and children. Positions are ignored.
 * Both may be NULL. */
int ast_equal(const ast_node *a, const ast_node *b);
/* "number", "vector selector", … for messages. */
const char *ast_kind_name(ast_kind k);
/* "scalar", "instant vector", "range vector", "string", … for messages. */
const char *ast_type_name(ast_type t);
/* "+", "==", "and", "atan2", … */
const char *ast_binop_name(ast_binop op);
/* 1 for == != > < >= <=. */
int ast_binop_is_comparison(ast_binop op);
/* 1 for and, or, unless. */
int ast_binop_is_set(ast_binop op);
/* Precedence 1 (or) … 6 (^). */
int ast_binop_prec(ast_binop op);
/* "=", "!=", "=~", "!~" */
const char *ast_match_op_name(ast_match_op op);
#endif
