/*
 * fuzz_labels.c — canonical label sets on arbitrary bytes.
 *
 * Byte 0 picks the mode. Mode even: the rest is taken as canonical bytes and
 * every reader (count, decode, get, iterate, format) must stay in bounds and
 * agree with each other. Mode odd: the rest is split into labels
 * (len byte, name, len byte, value, ...) and fed to labels_canon; when it
 * accepts, decoding and re-canonicalising must give back the same bytes
 * (the canonical form is a fixed point) and the same XXH3.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_readers(const uint8_t *p, size_t n)
{
    cairn_label out[64];
    int c = labels_count(p, n);
    int d = labels_decode(p, n, out, 64);
    if (c >= 0 && c <= 64 && d != c) abort();
    if (c < 0 && d >= 0) abort();
    char s[300];
    size_t fl = labels_format(p, n, s, sizeof s);
    if (fl >= sizeof s || strlen(s) != fl) abort();
    const char *v;
    size_t vn;
    int g = labels_get(p, n, "job", 3, &v, &vn);
    if (g == CAIRN_OK && (v < (const char *)p || v + vn > (const char *)p + n)) abort();
    labels_it it;
    cairn_label l;
    if (labels_it_init(&it, p, n) == CAIRN_OK)
        while (labels_it_next(&it, &l) == 1)
            if (l.name < (const char *)p || l.value + l.value_len > (const char *)p + n) abort();
}

static void check_canon(const uint8_t *p, size_t n)
{
    cairn_label in[40];
    size_t k = 0, i = 0;
    while (k < 40 && i < n) {
        size_t nl = p[i++] % 24;
        if (nl > n - i) nl = n - i;
        in[k].name = (const char *)p + i, in[k].name_len = nl, i += nl;
        size_t vl = i < n ? p[i++] % 40 : 0;
        if (vl > n - i) vl = n - i;
        in[k].value = (const char *)p + i, in[k].value_len = vl, i += vl;
        k++;
    }
    static const labels_limits lim = {30, 20, 32};
    buf a, b;
    buf_init(&a);
    buf_init(&b);
    cairn_err e;
    if (labels_canon(in, k, &lim, &a, &e) == CAIRN_OK) {
        cairn_label out[40];
        int m = labels_decode(a.p, a.len, out, 40);
        if (m <= 0) abort();
        if (labels_canon(out, (size_t)m, &lim, &b, &e) != CAIRN_OK) abort();
        if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0) abort();
        if (labels_hash(a.p, a.len) != labels_hash(b.p, b.len)) abort();
        check_readers(a.p, a.len);
    } else if (e.msg[0] == '\0' || memchr(e.msg, 0, sizeof e.msg) == NULL) {
        abort();
    }
    buf_free(&a);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    if (data[0] & 1) check_canon(data + 1, size - 1);
    else check_readers(data + 1, size - 1);
    return 0;
}
