/*
 * fuzz_params — the API parameter parsers: Prometheus and Loki timestamps
 * (papi_parse_time, lapi_parse_time, papi_parse_rfc3339), durations
 * (papi_parse_duration, server_parse_duration), form decoding
 * (papi_form_decode), "U__" label-name unescaping, and the HTTP layer's
 * parameter check (http_form_check, http_path_check) that runs before all
 * of them.
 *
 * The first byte picks the parser, the rest is the parameter text. Besides
 * "no crash, no leak, no read past the input" (ASan), it checks:
 * - a duration from server_parse_duration is never negative;
 * - a parsed Prometheus time of integral seconds is exactly seconds*1000;
 * - the check and the decoder agree: when http_form_check accepts a form,
 *   papi_form_decode yields one pair per non-empty '&' field and every
 *   decoded key and value has the length of its decoded bytes (no NUL cut
 *   it short), and the check's message is always a terminated string;
 * - papi_unescape_name never writes more than its capacity.
 *
 * These parsers live in api/, not in libcairn.a, so the Makefile links this
 * target with the server objects (everything in api/ but main.o), in the
 * replay build and in `make fuzz`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "loki_api.h"
#include "prom_api.h"
#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hexv(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Length of s[0..n) once percent-decoded (the oracle for the form check). */
static size_t decoded_len(const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; o++)
        i += s[i] == '%' && i + 2 < n && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0 ? 3 : 1;
    return o;
}

static void check_form(const char *s, size_t n)
{
    char msg[200];
    memset(msg, 'x', sizeof msg);
    int bad = http_form_check(s, n, msg, sizeof msg);
    if (bad && !memchr(msg, 0, sizeof msg)) abort();
    papi_req q;
    if (papi_req_init(&q, NULL)) return;
    if (papi_form_decode(&q, s, n)) {
        papi_req_free(&q);
        return;
    }
    if (!bad) {
        size_t k = 0;
        for (size_t i = 0; i < n;) {
            size_t j = i;
            while (j < n && s[j] != '&') j++;
            if (j > i) {
                if (k >= q.n) abort();
                size_t eq = i;
                while (eq < j && s[eq] != '=') eq++;
                if (strlen(q.kv[k].k) != decoded_len(s + i, eq - i)) abort();
                size_t vl = eq < j ? decoded_len(s + eq + 1, j - eq - 1) : 0;
                if (strlen(q.kv[k].v) != vl) abort();
                k++;
            }
            i = j + 1;
        }
        if (k != q.n) abort();
    }
    papi_req_free(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) return 0;
    unsigned sel = data[0] % 6;
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    char *z = malloc(n + 1); /* the parsers take NUL-terminated strings */
    if (!z) return 0;
    memcpy(z, text, n);
    z[n] = 0;
    int64_t v = 0;
    switch (sel) {
    case 0:
        if (!papi_parse_time(z, &v)) {
            char *e;
            long long sec = strtoll(z, &e, 10);
            if (e != z && !*e && z[0] != '+' && z[0] != ' ' && sec > -1000000000000LL && sec < 1000000000000LL &&
                v != sec * 1000)
                abort();
        }
        break;
    case 1:
        if (!server_parse_duration(z, &v) && v < 0) abort();
        papi_parse_duration(z, &v);
        break;
    case 2: {
        lapi_parse_time(z, &v);
        int64_t sec;
        int32_t ns;
        if (!papi_parse_rfc3339(z, &sec, &ns) && (ns < 0 || ns > 999999999)) abort();
        break;
    }
    case 3:
        check_form(text, n);
        break;
    case 4: {
        char msg[64];
        if (http_path_check(text, n, msg, sizeof msg) && !memchr(msg, 0, sizeof msg)) abort();
        char name[32];
        memset(name, 0, sizeof name);
        long l = papi_unescape_name(z, name, sizeof name - 1);
        if (l > (long)sizeof name - 1 || name[sizeof name - 1]) abort();
        break;
    }
    default: {
        uint64_t u;
        papi_parse_uint(z, &u);
        check_form(text, n);
        break;
    }
    }
    free(z);
    return 0;
}
