/*
 * lexer.re — the one lexer of PromQL and LogQL (re2c; generated at build time
 * into build/query/lexer.c, which is never committed).
 *
 * Why re2c: the token grammar (numbers with hex and exponents, compound
 * durations, three string syntaxes, two-character operators) is a regular
 * language, and re2c compiles it into a direct-coded DFA that reads each byte
 * once, with no tables and no allocation. Hand-written scanners for this
 * grammar (Prometheus' lex.go is a good example) spend most of their code on
 * backtracking corner cases that a DFA gets right by construction.
 *
 * Reading a buffer that is not NUL-terminated: we use re2c's generic API with
 * the EOF rule ($). YYPEEK returns the byte at the cursor, or the sentinel 0
 * when the cursor is at the limit, so the DFA never dereferences memory past
 * `lim`; YYLESSTHAN tells re2c whether a 0 it saw was the real end or a NUL
 * byte inside the query (which then lexes as an unexpected character).
 *
 * What the DFA decides and what C code decides: the DFA only finds token
 * boundaries. Values are computed afterwards by small functions below: string
 * escapes (Go rules: \a \b \f \n \r \t \v \\ \' \" \xHH \ooo \uHHHH
 * \UHHHHHHHH), numbers (strtod on an arena copy; integer literals with a
 * leading 0 are octal as in Prometheus' parseNumber), and "number followed by
 * letters", which is tried as a Prometheus duration (1h30m), then a Go
 * duration (1.5s, 250us; used by LogQL label filters), then a bytes size
 * (20KB, 1.5MiB). Keywords are classified, not tokenised separately: the
 * parser resolves them by context (see token.h).
 *
 * Positions: every token carries the 1-based line and column (in bytes) of
 * its first byte. Newlines are counted in whitespace, comments (# to end of
 * line) and raw strings.
 *
 * Threads: all state lives in the `lex` struct; no globals.
 * The token grammar is documented in docs/query.md ("Lexical rules").
 */
#include "token.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dur.h"
#include "err.h"

/* ---- keywords ------------------------------------------------------------------- */

static const char *const lex_kw_names[KW__COUNT] = {
    [KW_NONE] = "",
    [KW_AND] = "and", [KW_OR] = "or", [KW_UNLESS] = "unless", [KW_ATAN2] = "atan2",
    [KW_BY] = "by", [KW_WITHOUT] = "without", [KW_ON] = "on", [KW_IGNORING] = "ignoring",
    [KW_GROUP_LEFT] = "group_left", [KW_GROUP_RIGHT] = "group_right", [KW_BOOL] = "bool",
    [KW_OFFSET] = "offset", [KW_START] = "start", [KW_END] = "end",
    [KW_JSON] = "json", [KW_LOGFMT] = "logfmt", [KW_REGEXP] = "regexp", [KW_PATTERN] = "pattern",
    [KW_UNPACK] = "unpack", [KW_LINE_FORMAT] = "line_format", [KW_LABEL_FORMAT] = "label_format",
    [KW_DROP] = "drop", [KW_KEEP] = "keep", [KW_UNWRAP] = "unwrap", [KW_DECOLORIZE] = "decolorize",
    [KW_IP] = "ip", [KW_DURATION] = "duration", [KW_DURATION_SECONDS] = "duration_seconds",
    [KW_BYTES] = "bytes",
};

static int lex_lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static int lex_ieq(const char *s, size_t n, const char *z)
{
    size_t i = 0;
    for (; i < n; i++)
        if (z[i] == '\0' || lex_lower((unsigned char)s[i]) != z[i]) return 0;
    return z[i] == '\0';
}

tok_kw lex_keyword(const char *s, size_t n)
{
    if (n < 2 || n > 16) return KW_NONE;
    for (int k = 1; k < KW__COUNT; k++)
        if (lex_ieq(s, n, lex_kw_names[k])) return (tok_kw)k;
    return KW_NONE;
}

const char *lex_keyword_name(tok_kw kw)
{
    return (kw > KW_NONE && kw < KW__COUNT) ? lex_kw_names[kw] : "";
}

const char *lex_kind_name(tok_kind k)
{
    static const char *const names[T__COUNT] = {
        [T_EOF] = "end of input", [T_IDENT] = "identifier", [T_NUMBER] = "number",
        [T_DURATION] = "duration", [T_BYTES] = "bytes", [T_STRING] = "string", [T_FLAG] = "flag",
        [T_LPAREN] = "\"(\"", [T_RPAREN] = "\")\"", [T_LBRACE] = "\"{\"", [T_RBRACE] = "\"}\"",
        [T_LBRACKET] = "\"[\"", [T_RBRACKET] = "\"]\"", [T_COMMA] = "\",\"", [T_COLON] = "\":\"",
        [T_AT] = "\"@\"", [T_ADD] = "\"+\"", [T_SUB] = "\"-\"", [T_MUL] = "\"*\"", [T_DIV] = "\"/\"",
        [T_MOD] = "\"%\"", [T_POW] = "\"^\"", [T_EQLC] = "\"==\"", [T_NEQ] = "\"!=\"",
        [T_GTR] = "\">\"", [T_LSS] = "\"<\"", [T_GTE] = "\">=\"", [T_LTE] = "\"<=\"",
        [T_EQ] = "\"=\"", [T_EQ_REGEX] = "\"=~\"", [T_NEQ_REGEX] = "\"!~\"", [T_PIPE] = "\"|\"",
        [T_PIPE_EXACT] = "\"|=\"", [T_PIPE_MATCH] = "\"|~\"", [T_PIPE_PATTERN] = "\"|>\"",
        [T_NPIPE_PATTERN] = "\"!>\"",
    };
    return (k >= 0 && k < T__COUNT && names[k]) ? names[k] : "token";
}

/* ---- positions ------------------------------------------------------------------ */

static int lex_col(const lex *lx, const char *p) { return (int)(p - lx->line_start) + 1; }

/* Count newlines in [p, q) so positions after a multi-line token stay right. */
static void lex_newlines(lex *lx, const char *p, const char *q)
{
    for (; p < q; p++)
        if (*p == '\n') {
            lx->line++;
            lx->line_start = p + 1;
        }
}

/* ---- values ----------------------------------------------------------------------- */

static int lex_hex(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static size_t lex_utf8_put(char *d, uint32_t cp)
{
    if (cp < 0x80) { d[0] = (char)cp; return 1; }
    if (cp < 0x800) { d[0] = (char)(0xC0 | cp >> 6); d[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | cp >> 12); d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | cp >> 18); d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decode the body of a quoted string (between the quotes). The decoded form is
 * never longer than the source, so one arena block of n+1 bytes suffices. */
static int lex_unquote(lex *lx, token *t, const char *s, size_t n, cairn_err *err)
{
    char *d = arena_alloc(lx->ar, n + 1);
    if (!d) return err_set(err, CAIRN_ENOMEM, "out of memory decoding a string");
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c != '\\') {
            d[o++] = (char)c;
            i++;
            continue;
        }
        const char *esc = s + i;
        int col = lex_col(lx, esc);
        if (i + 1 >= n) return err_parse(err, t->line, col, "unfinished escape sequence in string");
        char e = s[i + 1];
        i += 2;
        switch (e) {
        case 'a': d[o++] = '\a'; break;
        case 'b': d[o++] = '\b'; break;
        case 'f': d[o++] = '\f'; break;
        case 'n': d[o++] = '\n'; break;
        case 'r': d[o++] = '\r'; break;
        case 't': d[o++] = '\t'; break;
        case 'v': d[o++] = '\v'; break;
        case '\\': d[o++] = '\\'; break;
        case '\'': d[o++] = '\''; break;
        case '"': d[o++] = '"'; break;
        case 'x': {
            int h1 = i < n ? lex_hex((unsigned char)s[i]) : -1;
            int h2 = i + 1 < n ? lex_hex((unsigned char)s[i + 1]) : -1;
            if (h1 < 0 || h2 < 0)
                return err_parse(err, t->line, col, "invalid escape sequence in string: \\x needs two hex digits");
            d[o++] = (char)(h1 << 4 | h2);
            i += 2;
            break;
        }
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
            unsigned v = (unsigned)(e - '0');
            for (int k = 0; k < 2; k++) {
                if (i >= n || s[i] < '0' || s[i] > '7')
                    return err_parse(err, t->line, col, "invalid escape sequence in string: octal escape needs three digits");
                v = v * 8 + (unsigned)(s[i++] - '0');
            }
            if (v > 255) return err_parse(err, t->line, col, "invalid escape sequence in string: octal value %o is above \\377", v);
            d[o++] = (char)v;
            break;
        }
        case 'u': case 'U': {
            int digits = e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (int k = 0; k < digits; k++) {
                int h = i < n ? lex_hex((unsigned char)s[i]) : -1;
                if (h < 0)
                    return err_parse(err, t->line, col, "invalid escape sequence in string: \\%c needs %d hex digits", e, digits);
                cp = cp << 4 | (uint32_t)h;
                i++;
            }
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return err_parse(err, t->line, col, "invalid escape sequence in string: U+%X is not a valid code point", (unsigned)cp);
            /* A \u escape takes at least 6 source bytes and gives at most 4. */
            o += lex_utf8_put(d + o, cp);
            break;
        }
        default:
            if ((unsigned char)e < 0x20 || (unsigned char)e >= 0x7f)
                return err_parse(err, t->line, col, "invalid escape sequence in string: \\ followed by byte 0x%02x", (unsigned char)e);
            return err_parse(err, t->line, col, "invalid escape sequence \"\\%c\" in string", e);
        }
    }
    d[o] = '\0';
    t->s = d;
    t->s_len = o;
    return CAIRN_OK;
}

/* strtod needs a NUL-terminated copy; numbers are short, so use the stack
 * unless the literal is absurdly long. */
static int lex_strtod(lex *lx, const char *p, size_t n, double *out, cairn_err *err, int line, int col)
{
    char small[64];
    char *z = small;
    if (n >= sizeof small) {
        z = arena_strdup(lx->ar, p, n);
        if (!z) return err_set(err, CAIRN_ENOMEM, "out of memory lexing a number");
    } else {
        memcpy(small, p, n);
        small[n] = '\0';
    }
    char *end;
    *out = strtod(z, &end);
    if (end != z + n) return err_parse(err, line, col, "bad number \"%.*s\"", (int)n, p);
    return CAIRN_OK;
}

/* go-humanize style byte sizes, one decimal and one unit. */
static int lex_parse_bytes(const char *s, size_t n, double *bytes)
{
    static const struct { const char *u; double mul; } units[] = {
        {"B", 1}, {"kB", 1e3}, {"KB", 1e3}, {"KiB", 1024.0}, {"MB", 1e6}, {"MiB", 1048576.0},
        {"GB", 1e9}, {"GiB", 1073741824.0}, {"TB", 1e12}, {"TiB", 1099511627776.0},
        {"PB", 1e15}, {"PiB", 1125899906842624.0}, {"EB", 1e18}, {"EiB", 1152921504606846976.0},
    };
    size_t i = 0;
    double v = 0, scale = 1;
    int digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') { v = v * 10 + (s[i++] - '0'); digits++; }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') { scale /= 10; v += (s[i++] - '0') * scale; digits++; }
    }
    if (!digits) return 0;
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (strlen(units[k].u) == n - i && memcmp(units[k].u, s + i, n - i) == 0) {
            *bytes = v * units[k].mul;
            return 1;
        }
    return 0;
}

static int lex_number_unit(token *t, cairn_err *err)
{
    int64_t ms;
    double v;
    if (dur_parse_prom(t->p, t->len, &ms) == CAIRN_OK) {
        t->kind = T_DURATION;
        t->dur_prom = 1;
        t->dur_ms = ms;
        t->num = (double)ms / 1000.0;
        return CAIRN_OK;
    }
    if (dur_parse_go(t->p, t->len, &v) == CAIRN_OK) {
        t->kind = T_DURATION;
        t->dur_prom = 0;
        t->dur_ms = -1;
        t->num = v;
        return CAIRN_OK;
    }
    if (lex_parse_bytes(t->p, t->len, &v)) {
        t->kind = T_BYTES;
        t->num = v;
        return CAIRN_OK;
    }
    return err_parse(err, t->line, t->col, "bad number or duration \"%.*s\"", (int)t->len, t->p);
}

static int lex_integer(lex *lx, token *t, cairn_err *err)
{
    /* Prometheus parses integer literals with Go's ParseInt(s, 0, 64): a leading
     * 0 means octal when every digit is 0-7 ("010" is 8); otherwise decimal. */
    if (t->len > 1 && t->p[0] == '0') {
        int octal = 1;
        for (size_t i = 1; i < t->len; i++)
            if (t->p[i] > '7') octal = 0;
        if (octal && t->len <= 22) {
            uint64_t v = 0;
            for (size_t i = 1; i < t->len; i++) v = v * 8 + (uint64_t)(t->p[i] - '0');
            if (v <= (uint64_t)INT64_MAX) {
                t->num = (double)v;
                return CAIRN_OK;
            }
        }
    }
    return lex_strtod(lx, t->p, t->len, &t->num, err, t->line, t->col);
}

/* ---- the scanner ------------------------------------------------------------------ */

void lex_init(lex *lx, int lang, const char *src, size_t len, arena *ar)
{
    lx->base = lx->cur = lx->line_start = src;
    lx->lim = src + len;
    lx->line = 1;
    lx->lang = lang;
    lx->brackets = 0;
    lx->ar = ar;
}

int lex_next(lex *lx, token *t, cairn_err *err)
{
    const char *cur, *lim = lx->lim, *mar = NULL, *tok;
    memset(t, 0, sizeof *t);
    cur = lx->cur;
again:
    tok = cur;
    t->p = tok;
    t->line = lx->line;
    t->col = lex_col(lx, tok);
#define TOK(k) do { t->kind = (k); goto done; } while (0)
    /*!re2c
      re2c:api = custom;
      re2c:api:style = free-form;
      re2c:define:YYCTYPE = "unsigned char";
      re2c:define:YYPEEK = "(cur < lim ? (unsigned char)*cur : 0)";
      re2c:define:YYSKIP = "++cur;";
      re2c:define:YYBACKUP = "mar = cur;";
      re2c:define:YYRESTORE = "cur = mar;";
      re2c:define:YYLESSTHAN = "cur >= lim";
      re2c:yyfill:enable = 0;
      re2c:eof = 0;

      dec    = [0-9]+;
      exp    = [eE] [+-]? dec;
      float  = dec "." [0-9]* exp? | "." dec exp? | dec exp;
      hex    = "0" [xX] [0-9a-fA-F]+;
      unit   = [a-zA-Z]+ | "\xc2\xb5s";
      numunit = (dec ("." dec)? unit)+;
      ident  = [a-zA-Z_:] [a-zA-Z0-9_:]*;
      dq     = ["] ([^"\\\n] | "\\" [^\n])* ["];
      sq     = ['] ([^'\\\n] | "\\" [^\n])* ['];
      bq     = [`] [^`]* [`];

      $ { cur = tok; TOK(T_EOF); }

      [ \t\r\n\f\v]+ { lex_newlines(lx, tok, cur); goto again; }
      "#" [^\n]*     { goto again; }

      hex     { t->len = (size_t)(cur - tok); { int rc = lex_strtod(lx, tok, t->len, &t->num, err, t->line, t->col); if (rc) return rc; } TOK(T_NUMBER); }
      dec     { t->len = (size_t)(cur - tok); { int rc = lex_integer(lx, t, err); if (rc) return rc; } TOK(T_NUMBER); }
      float   { t->len = (size_t)(cur - tok); { int rc = lex_strtod(lx, tok, t->len, &t->num, err, t->line, t->col); if (rc) return rc; } TOK(T_NUMBER); }
      numunit { t->len = (size_t)(cur - tok); { int rc = lex_number_unit(t, err); if (rc) return rc; } goto done; }

      ident {
          /* Inside [ ] a colon separates a subquery's range and step: `[5m:1m]`
           * has no identifier ":1m" (Prometheus' lexer does the same). */
          if (lx->brackets > 0 && *tok == ':') { cur = tok + 1; TOK(T_COLON); }
          t->len = (size_t)(cur - tok);
          if (lex_ieq(tok, t->len, "inf")) { t->num = INFINITY; TOK(T_NUMBER); }
          if (lex_ieq(tok, t->len, "nan")) { t->num = NAN; TOK(T_NUMBER); }
          t->kw = lex_keyword(tok, t->len);
          TOK(T_IDENT);
      }

      dq | sq {
          t->len = (size_t)(cur - tok);
          int rc = lex_unquote(lx, t, tok + 1, t->len - 2, err);
          if (rc) return rc;
          TOK(T_STRING);
      }
      bq {
          t->len = (size_t)(cur - tok);
          t->s = arena_strdup(lx->ar, tok + 1, t->len - 2);
          if (!t->s) return err_set(err, CAIRN_ENOMEM, "out of memory copying a string");
          t->s_len = t->len - 2;
          t->raw = 1;
          lex_newlines(lx, tok, cur);
          TOK(T_STRING);
      }
      ["'`] { return err_parse(err, t->line, t->col, "unclosed string"); }

      "--strict" | "--keep-empty" {
          if (lx->lang != QLANG_LOGQL) { cur = tok + 1; TOK(T_SUB); }
          TOK(T_FLAG);
      }

      "(" { TOK(T_LPAREN); }   ")" { TOK(T_RPAREN); }
      "{" { TOK(T_LBRACE); }   "}" { TOK(T_RBRACE); }
      "[" { lx->brackets++; TOK(T_LBRACKET); }
      "]" { if (lx->brackets > 0) lx->brackets--; TOK(T_RBRACKET); }
      "," { TOK(T_COMMA); }    ":" { TOK(T_COLON); }    "@" { TOK(T_AT); }
      "+" { TOK(T_ADD); } "-" { TOK(T_SUB); } "*" { TOK(T_MUL); } "/" { TOK(T_DIV); }
      "%" { TOK(T_MOD); } "^" { TOK(T_POW); }
      "==" { TOK(T_EQLC); } "!=" { TOK(T_NEQ); } ">" { TOK(T_GTR); } "<" { TOK(T_LSS); }
      ">=" { TOK(T_GTE); } "<=" { TOK(T_LTE); } "=" { TOK(T_EQ); } "=~" { TOK(T_EQ_REGEX); }
      "!~" { TOK(T_NEQ_REGEX); } "|" { TOK(T_PIPE); } "|=" { TOK(T_PIPE_EXACT); }
      "|~" { TOK(T_PIPE_MATCH); } "|>" { TOK(T_PIPE_PATTERN); } "!>" { TOK(T_NPIPE_PATTERN); }

      * {
          unsigned char c = (unsigned char)*tok;
          if (c >= 0x21 && c < 0x7f)
              return err_parse(err, t->line, t->col, "unexpected character \"%c\"", c);
          return err_parse(err, t->line, t->col, "unexpected byte 0x%02x", c);
      }
    */
done:
#undef TOK
    (void)mar;
    if (t->len == 0) t->len = (size_t)(cur - tok);
    lx->cur = cur;
    return CAIRN_OK;
}
