/*
 * jsonr.c — tokenising JSON (RFC 8259) into a flat array, with bounds.
 *
 * Why tokens and not a DOM or a SAX callback: the decoders need random access
 * within an object (Loki's "stream" may come after "values"; OTLP keys come in
 * any order) but no tree of allocations. A flat array of 20-byte tokens,
 * where each container records the index just past its subtree, gives
 * O(1) "skip this value" and in-order iteration with no pointers. The
 * document bytes are borrowed; strings are decoded only when asked for.
 *
 * The tokenizer validates everything a strict parser does (grammar, string
 * escapes, control characters, UTF-8, number syntax), so a decoder that walks
 * the tokens afterwards can trust their shape. Recursion depth is bounded by
 * max_depth (clamped to 512), so hostile nesting is an error, not a stack
 * overflow. Offsets are 32-bit: a document of 4 GiB or more is rejected with
 * CAIRN_ELIMIT (ingest bodies are capped far below that).
 *
 * Position reporting: errors carry 1-based line and column (in bytes),
 * computed only when an error is reported.
 */
#include "jsonr.h"

#include <string.h>

#include "err.h"
#include "ingest.h"
#include "mem.h"

void jr_init(jr_doc *d) { memset(d, 0, sizeof *d); }

void jr_free(jr_doc *d)
{
    if (!d) return;
    mem_free(d->t, d->cap * sizeof *d->t);
    jr_init(d);
}

void jr_pos(const jr_doc *d, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off && i < d->len; i++) {
        if (d->s[i] == '\n') l++, c = 1;
        else c++;
    }
    *line = l;
    *col = c;
}

typedef struct jp {
    jr_doc *d;
    size_t i;
    uint32_t max_depth;
    cairn_err *err;
} jp;

static int jp_fail(jp *p, const char *what)
{
    int line, col;
    jr_pos(p->d, p->i, &line, &col);
    if (p->i >= p->d->len) return err_parse(p->err, line, col, "%s at end of input", what);
    unsigned char c = (unsigned char)p->d->s[p->i];
    if (c >= 0x20 && c < 0x7f) return err_parse(p->err, line, col, "%s at '%c'", what, c);
    return err_parse(p->err, line, col, "%s at byte 0x%02x", what, c);
}

static void ws(jp *p)
{
    const char *s = p->d->s;
    while (p->i < p->d->len && (s[p->i] == ' ' || s[p->i] == '\t' || s[p->i] == '\n' || s[p->i] == '\r')) p->i++;
}

static long push(jp *p, int type, size_t off)
{
    jr_doc *d = p->d;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        jr_tok *t = mem_realloc(d->t, d->cap * sizeof *t, cap * sizeof *t);
        if (!t) return err_set(p->err, CAIRN_ENOMEM, "out of memory reading JSON");
        d->t = t;
        d->cap = cap;
    }
    jr_tok *t = &d->t[d->n];
    memset(t, 0, sizeof *t);
    t->type = (uint8_t)type;
    t->off = (uint32_t)off;
    return (long)d->n++;
}

static int hexv(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* p->i at the opening quote. */
static int parse_string(jp *p)
{
    const char *s = p->d->s;
    size_t n = p->d->len, start = ++p->i;
    long k = push(p, JR_STR, start);
    if (k < 0) return (int)k;
    int esc = 0;
    while (p->i < n) {
        unsigned char c = (unsigned char)s[p->i];
        if (c == '"') {
            jr_tok *t = &p->d->t[k];
            t->len = (uint32_t)(p->i - start);
            t->esc = (uint8_t)esc;
            t->end = (uint32_t)p->d->n;
            p->i++;
            return CAIRN_OK;
        }
        if (c == '\\') {
            esc = 1;
            if (++p->i >= n) break;
            char e = s[p->i];
            if (e == 'u') {
                for (int j = 1; j <= 4; j++)
                    if (p->i + j >= n || hexv((unsigned char)s[p->i + j]) < 0) {
                        p->i += (size_t)j;
                        return jp_fail(p, "bad \\u escape");
                    }
                p->i += 5;
            } else if (strchr("\"\\/bfnrt", e) && e) {
                p->i++;
            } else {
                return jp_fail(p, "bad escape");
            }
            continue;
        }
        if (c < 0x20) return jp_fail(p, "control character in string");
        if (c < 0x80) {
            p->i++;
            continue;
        }
        size_t k2 = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!k2 || p->i + k2 > n || !ingest_utf8_valid(s + p->i, k2)) return jp_fail(p, "invalid UTF-8 in string");
        p->i += k2;
    }
    return jp_fail(p, "unterminated string");
}

static int parse_number(jp *p)
{
    const char *s = p->d->s;
    size_t n = p->d->len, start = p->i;
    if (s[p->i] == '-') p->i++;
    if (p->i < n && s[p->i] == '0') p->i++;
    else if (p->i < n && s[p->i] >= '1' && s[p->i] <= '9')
        while (p->i < n && s[p->i] >= '0' && s[p->i] <= '9') p->i++;
    else return jp_fail(p, "bad number");
    if (p->i < n && s[p->i] == '.') {
        p->i++;
        if (p->i >= n || s[p->i] < '0' || s[p->i] > '9') return jp_fail(p, "bad number");
        while (p->i < n && s[p->i] >= '0' && s[p->i] <= '9') p->i++;
    }
    if (p->i < n && (s[p->i] == 'e' || s[p->i] == 'E')) {
        p->i++;
        if (p->i < n && (s[p->i] == '+' || s[p->i] == '-')) p->i++;
        if (p->i >= n || s[p->i] < '0' || s[p->i] > '9') return jp_fail(p, "bad number");
        while (p->i < n && s[p->i] >= '0' && s[p->i] <= '9') p->i++;
    }
    long k = push(p, JR_NUM, start);
    if (k < 0) return (int)k;
    p->d->t[k].len = (uint32_t)(p->i - start);
    p->d->t[k].end = (uint32_t)p->d->n;
    return CAIRN_OK;
}

static int parse_value(jp *p, uint32_t depth)
{
    ws(p);
    if (p->i >= p->d->len) return jp_fail(p, "expected a value");
    const char *s = p->d->s;
    char c = s[p->i];
    if (c == '{' || c == '[') {
        if (depth >= p->max_depth) return jp_fail(p, "nesting too deep");
        int obj = c == '{';
        long k = push(p, obj ? JR_OBJ : JR_ARR, p->i);
        if (k < 0) return (int)k;
        p->i++;
        ws(p);
        uint32_t cnt = 0;
        if (p->i < p->d->len && s[p->i] == (obj ? '}' : ']')) {
            p->i++;
        } else {
            for (;;) {
                if (obj) {
                    ws(p);
                    if (p->i >= p->d->len || s[p->i] != '"') return jp_fail(p, "expected a string key");
                    RETURN_IF_ERR(parse_string(p));
                    ws(p);
                    if (p->i >= p->d->len || s[p->i] != ':') return jp_fail(p, "expected ':'");
                    p->i++;
                }
                RETURN_IF_ERR(parse_value(p, depth + 1));
                cnt++;
                ws(p);
                if (p->i < p->d->len && s[p->i] == ',') {
                    p->i++;
                    continue;
                }
                if (p->i < p->d->len && s[p->i] == (obj ? '}' : ']')) {
                    p->i++;
                    break;
                }
                return jp_fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
            }
        }
        jr_tok *t = &p->d->t[k];
        t->n = cnt;
        t->len = (uint32_t)(p->i - t->off);
        t->end = (uint32_t)p->d->n;
        return CAIRN_OK;
    }
    if (c == '"') return parse_string(p);
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p);
    static const struct { const char *w; int type; } lits[] = {{"true", JR_TRUE}, {"false", JR_FALSE}, {"null", JR_NULL}};
    for (size_t j = 0; j < 3; j++) {
        size_t wl = strlen(lits[j].w);
        if (p->d->len - p->i >= wl && memcmp(s + p->i, lits[j].w, wl) == 0) {
            long k = push(p, lits[j].type, p->i);
            if (k < 0) return (int)k;
            p->d->t[k].len = (uint32_t)wl;
            p->d->t[k].end = (uint32_t)p->d->n;
            p->i += wl;
            return CAIRN_OK;
        }
    }
    return jp_fail(p, "expected a value");
}

int jr_parse(jr_doc *d, const char *s, size_t len, uint32_t max_depth, cairn_err *err)
{
    d->s = s;
    d->len = len;
    d->n = 0;
    if (len >= UINT32_MAX) return err_set(err, CAIRN_ELIMIT, "JSON document of %zu bytes is too large", len);
    jp p = {d, 0, max_depth > 512 ? 512 : max_depth, err};
    RETURN_IF_ERR(parse_value(&p, 0));
    ws(&p);
    if (p.i != len) return jp_fail(&p, "unexpected data after the JSON value");
    return CAIRN_OK;
}

int jr_eq(const jr_doc *d, uint32_t i, const char *key, size_t key_len)
{
    const jr_tok *t = &d->t[i];
    if (t->type != JR_STR) return 0;
    if (!t->esc) return t->len == key_len && memcmp(d->s + t->off, key, key_len) == 0;
    /* escaped keys are rare: decode into a temporary buffer */
    buf out;
    buf_init(&out);
    int eq = jr_str(d, i, &out) == CAIRN_OK && out.len == key_len && memcmp(out.p, key, key_len) == 0;
    buf_free(&out);
    return eq;
}

long jr_get(const jr_doc *d, uint32_t obj, const char *key)
{
    if (d->t[obj].type != JR_OBJ) return -1;
    size_t kl = strlen(key);
    uint32_t i = obj + 1;
    for (uint32_t m = 0; m < d->t[obj].n; m++) {
        uint32_t v = i + 1;
        if (jr_eq(d, i, key, kl)) return (long)v;
        i = d->t[v].end;
    }
    return -1;
}

static int put_utf8(buf *b, uint32_t cp)
{
    uint8_t u[4];
    size_t n;
    if (cp < 0x80) u[0] = (uint8_t)cp, n = 1;
    else if (cp < 0x800) u[0] = (uint8_t)(0xc0 | cp >> 6), u[1] = (uint8_t)(0x80 | (cp & 0x3f)), n = 2;
    else if (cp < 0x10000)
        u[0] = (uint8_t)(0xe0 | cp >> 12), u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)),
        u[2] = (uint8_t)(0x80 | (cp & 0x3f)), n = 3;
    else
        u[0] = (uint8_t)(0xf0 | cp >> 18), u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f)),
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (uint8_t)(0x80 | (cp & 0x3f)), n = 4;
    return buf_put(b, u, n);
}

static uint32_t hex4(const char *s)
{
    return (uint32_t)(hexv((unsigned char)s[0]) << 12 | hexv((unsigned char)s[1]) << 8 |
                      hexv((unsigned char)s[2]) << 4 | hexv((unsigned char)s[3]));
}

int jr_str(const jr_doc *d, uint32_t i, buf *out)
{
    const jr_tok *t = &d->t[i];
    const char *s = d->s + t->off;
    size_t n = t->len;
    if (!t->esc) return buf_put(out, s, n);
    if (buf_reserve(out, n)) return CAIRN_ENOMEM;
    size_t a = 0;
    while (a < n) {
        size_t b = a;
        while (b < n && s[b] != '\\') b++;
        if (buf_put(out, s + a, b - a)) return CAIRN_ENOMEM;
        if (b >= n) break;
        char e = s[b + 1]; /* the tokenizer guaranteed a complete escape */
        a = b + 2;
        char c;
        switch (e) {
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': {
            uint32_t cp = hex4(s + b + 2);
            a = b + 6;
            if (cp >= 0xd800 && cp <= 0xdbff && a + 6 <= n && s[a] == '\\' && s[a + 1] == 'u') {
                uint32_t lo = hex4(s + a + 2);
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    a += 6;
                }
            }
            if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; /* lone surrogate */
            if (put_utf8(out, cp)) return CAIRN_ENOMEM;
            continue;
        }
        default: c = e; break; /* " \ / */
        }
        if (buf_put_u8(out, (uint8_t)c)) return CAIRN_ENOMEM;
    }
    return CAIRN_OK;
}
