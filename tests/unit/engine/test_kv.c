/*
 * test_kv.c — the LMDB wrapper: put/get, cursors over plain and dup-sorted
 * DBIs, delete, persistence, map-full as CAIRN_ENOSPC, exclusive open.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "kv.h"
#include "mem.h"
#include "support.h"

typedef struct fx {
    char *dir;
    kv *k;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = t_tmpdir("kv");
    cairn_err e;
    if (kv_open(f->dir, 64ULL << 20, &f->k, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    kv_close(f->k);
    t_tmpdir_free(f->dir);
    free(f);
    return 0;
}

static void test_kv_put_get(void **state)
{
    fx *f = *state;
    kv_txn *t;
    cairn_err e;
    assert_int_equal(kv_begin(f->k, 1, &t, &e), CAIRN_OK);
    assert_int_equal(kv_put(t, KV_META, "a", 1, "one", 3, 0, &e), CAIRN_OK);
    assert_int_equal(kv_put(t, KV_META, "b", 1, "two", 3, 0, &e), CAIRN_OK);
    /* overwrite, then NOOVERWRITE refuses with NOTFOUND per the contract */
    assert_int_equal(kv_put(t, KV_META, "a", 1, "uno", 3, 0, &e), CAIRN_OK);
    assert_int_equal(kv_put(t, KV_META, "a", 1, "x", 1, KV_NOOVERWRITE, &e), CAIRN_NOTFOUND);
    const void *v;
    size_t vn;
    assert_int_equal(kv_get(t, KV_META, "a", 1, &v, &vn), CAIRN_OK);
    assert_int_equal(vn, 3);
    assert_memory_equal(v, "uno", 3);
    assert_int_equal(kv_get(t, KV_META, "zz", 2, &v, &vn), CAIRN_NOTFOUND);
    void *r;
    assert_int_equal(kv_reserve(t, KV_SERIES, "\0\0\0\1", 4, 5, &r, &e), CAIRN_OK);
    memcpy(r, "hello", 5);
    assert_int_equal(kv_commit(t, &e), CAIRN_OK);

    assert_int_equal(kv_begin(f->k, 0, &t, &e), CAIRN_OK);
    assert_int_equal(kv_get(t, KV_SERIES, "\0\0\0\1", 4, &v, &vn), CAIRN_OK);
    assert_int_equal(vn, 5);
    assert_memory_equal(v, "hello", 5);
    /* the same key in another DBI is another item */
    assert_int_equal(kv_get(t, KV_CHUNKS, "\0\0\0\1", 4, &v, &vn), CAIRN_NOTFOUND);
    kv_abort(t);
    kv_abort(NULL);
}

static void test_kv_abort_discards(void **state)
{
    fx *f = *state;
    kv_txn *t;
    const void *v;
    size_t vn;
    assert_int_equal(kv_begin(f->k, 1, &t, NULL), CAIRN_OK);
    assert_int_equal(kv_put(t, KV_META, "gone", 4, "x", 1, 0, NULL), CAIRN_OK);
    kv_abort(t);
    assert_int_equal(kv_begin(f->k, 0, &t, NULL), CAIRN_OK);
    assert_int_equal(kv_get(t, KV_META, "gone", 4, &v, &vn), CAIRN_NOTFOUND);
    kv_abort(t);
}

static void test_kv_cursor_order(void **state)
{
    fx *f = *state;
    kv_txn *t;
    assert_int_equal(kv_begin(f->k, 1, &t, NULL), CAIRN_OK);
    /* insert ids out of order; big-endian keys iterate in numeric order */
    uint32_t ids[] = {300, 2, 70000, 1, 256};
    for (int i = 0; i < 5; i++) {
        uint8_t k[4];
        be32_put(k, ids[i]);
        assert_int_equal(kv_put(t, KV_SERIES, k, 4, &ids[i], 4, 0, NULL), CAIRN_OK);
    }
    kv_cur *c;
    assert_int_equal(kv_cur_open(t, KV_SERIES, &c), CAIRN_OK);
    const void *k, *v;
    size_t kn, vn;
    uint32_t want[] = {1, 2, 256, 300, 70000}, got[5];
    int n = 0, rc = kv_cur_seek(c, NULL, 0, &k, &kn, &v, &vn);
    while (rc == CAIRN_OK) {
        assert_int_equal(kn, 4);
        got[n++] = be32_get(k);
        rc = kv_cur_next(c, &k, &kn, &v, &vn);
    }
    assert_int_equal(rc, CAIRN_NOTFOUND);
    assert_int_equal(n, 5);
    assert_memory_equal(got, want, sizeof want);
    /* seek to the first key >= 257 */
    uint8_t s[4];
    be32_put(s, 257);
    assert_int_equal(kv_cur_seek(c, s, 4, &k, &kn, &v, &vn), CAIRN_OK);
    assert_int_equal(be32_get(k), 300);
    assert_int_equal(kv_cur_prev(c, &k, &kn, &v, &vn), CAIRN_OK);
    assert_int_equal(be32_get(k), 256);
    assert_int_equal(kv_cur_last(c, &k, &kn, &v, &vn), CAIRN_OK);
    assert_int_equal(be32_get(k), 70000);
    be32_put(s, 70001);
    assert_int_equal(kv_cur_seek(c, s, 4, &k, &kn, &v, &vn), CAIRN_NOTFOUND);
    /* delete under the cursor */
    assert_int_equal(kv_cur_seek(c, NULL, 0, &k, &kn, &v, &vn), CAIRN_OK);
    assert_int_equal(kv_cur_del(c), CAIRN_OK);
    assert_int_equal(kv_cur_seek(c, NULL, 0, &k, &kn, &v, &vn), CAIRN_OK);
    assert_int_equal(be32_get(k), 2);
    kv_cur_close(c);
    kv_cur_close(NULL);
    kv_abort(t);
}

static void test_kv_dups(void **state)
{
    fx *f = *state;
    kv_txn *t;
    cairn_err e;
    assert_int_equal(kv_begin(f->k, 1, &t, &e), CAIRN_OK);
    /* 3000 ids under one key (spans several pages), inserted in a shuffled order */
    enum { N = 3000 };
    static uint32_t order[N];
    for (uint32_t i = 0; i < N; i++) order[i] = i * 3;
    t_rng_reset();
    for (uint32_t i = N - 1; i > 0; i--) {
        uint32_t j = (uint32_t)t_randn(i + 1), x = order[i];
        order[i] = order[j], order[j] = x;
    }
    for (uint32_t i = 0; i < N; i++) {
        uint8_t v[4];
        be32_put(v, order[i]);
        assert_int_equal(kv_put(t, KV_POSTINGS, "k", 1, v, 4, i & 1 ? KV_APPEND : 0, &e), CAIRN_OK);
    }
    uint8_t one[4];
    be32_put(one, 42);
    assert_int_equal(kv_put(t, KV_POSTINGS, "single", 6, one, 4, 0, &e), CAIRN_OK);
    /* NODUPDATA refuses an existing pair */
    be32_put(one, 3);
    assert_int_equal(kv_put(t, KV_POSTINGS, "k", 1, one, 4, KV_NODUPDATA, &e), CAIRN_NOTFOUND);

    kv_cur *c;
    assert_int_equal(kv_cur_open(t, KV_POSTINGS, &c), CAIRN_OK);
    const void *v;
    size_t vn, cnt;
    assert_int_equal(kv_cur_seek_exact(c, "k", 1, &v, &vn), CAIRN_OK);
    assert_int_equal(kv_cur_count(c, &cnt), CAIRN_OK);
    assert_int_equal(cnt, N);
    /* page-at-a-time reading yields every id in ascending order */
    uint32_t expect = 0;
    size_t total = 0;
    int rc = kv_cur_multiple(c, 1, &v, &vn);
    while (rc == CAIRN_OK) {
        assert_int_equal(vn % 4, 0);
        for (size_t i = 0; i < vn / 4; i++, expect += 3) assert_int_equal(be32_get((const uint8_t *)v + 4 * i), expect);
        total += vn / 4;
        rc = kv_cur_multiple(c, 0, &v, &vn);
    }
    assert_int_equal(rc, CAIRN_NOTFOUND);
    assert_int_equal(total, N);
    /* a key with one dup has no sub-page; multiple still returns it */
    assert_int_equal(kv_cur_seek_exact(c, "single", 6, &v, &vn), CAIRN_OK);
    assert_int_equal(kv_cur_multiple(c, 1, &v, &vn), CAIRN_OK);
    assert_int_equal(vn, 4);
    assert_int_equal(be32_get(v), 42);
    /* next_dup walks one key, next_key jumps */
    assert_int_equal(kv_cur_seek_exact(c, "k", 1, &v, &vn), CAIRN_OK);
    assert_int_equal(kv_cur_next_dup(c, &v, &vn), CAIRN_OK);
    assert_int_equal(be32_get(v), 3);
    const void *k;
    size_t kn;
    assert_int_equal(kv_cur_next_key(c, &k, &kn, &v, &vn), CAIRN_OK);
    assert_int_equal(kn, 6);
    assert_memory_equal(k, "single", 6);
    /* seek_dup: first dup >= 100 is 102 */
    uint8_t q[4];
    be32_put(q, 100);
    assert_int_equal(kv_cur_seek_dup(c, "k", 1, q, 4, &v, &vn), CAIRN_OK);
    assert_int_equal(be32_get(v), 102);
    kv_cur_close(c);

    /* delete one dup, then the whole key */
    be32_put(q, 102);
    assert_int_equal(kv_del(t, KV_POSTINGS, "k", 1, q, 4), CAIRN_OK);
    assert_int_equal(kv_del(t, KV_POSTINGS, "k", 1, q, 4), CAIRN_NOTFOUND);
    assert_int_equal(kv_del(t, KV_POSTINGS, "k", 1, NULL, 0), CAIRN_OK);
    assert_int_equal(kv_get(t, KV_POSTINGS, "k", 1, &v, &vn), CAIRN_NOTFOUND);
    assert_int_equal(kv_del(t, KV_POSTINGS, "k", 1, NULL, 0), CAIRN_NOTFOUND);
    assert_int_equal(kv_commit(t, &e), CAIRN_OK);
}

static void test_kv_persist_and_size(void **state)
{
    fx *f = *state;
    kv_txn *t;
    cairn_err e;
    uint64_t before = kv_used_bytes(f->k);
    assert_true(before > 0);
    assert_int_equal(kv_begin(f->k, 1, &t, &e), CAIRN_OK);
    static uint8_t blob[100000];
    memset(blob, 7, sizeof blob);
    assert_int_equal(kv_put(t, KV_CHUNKS, "c", 1, blob, sizeof blob, 0, &e), CAIRN_OK);
    assert_int_equal(kv_commit(t, &e), CAIRN_OK);
    assert_true(kv_used_bytes(f->k) >= before + sizeof blob);
    assert_int_equal(kv_sync(f->k, &e), CAIRN_OK);
    kv_close(f->k);
    f->k = NULL;
    assert_int_equal(kv_open(f->dir, 64ULL << 20, &f->k, &e), CAIRN_OK);
    assert_int_equal(kv_begin(f->k, 0, &t, &e), CAIRN_OK);
    const void *v;
    size_t vn;
    assert_int_equal(kv_get(t, KV_CHUNKS, "c", 1, &v, &vn), CAIRN_OK);
    assert_int_equal(vn, sizeof blob);
    assert_memory_equal(v, blob, sizeof blob);
    kv_abort(t);
}

static void test_kv_map_full_is_enospc(void **state)
{
    (void)state;
    char *dir = t_tmpdir("kvfull");
    kv *k;
    cairn_err e;
    assert_int_equal(kv_open(dir, 256 << 10, &k, &e), CAIRN_OK);
    kv_txn *t;
    assert_int_equal(kv_begin(k, 1, &t, &e), CAIRN_OK);
    static uint8_t blob[4000];
    int rc = CAIRN_OK;
    for (uint32_t i = 0; i < 1000 && rc == CAIRN_OK; i++) {
        uint8_t key[4];
        be32_put(key, i);
        rc = kv_put(t, KV_CHUNKS, key, 4, blob, sizeof blob, 0, &e);
    }
    /* a full map is storage full (HTTP 507, retried), not a limit of the request (400) */
    assert_int_equal(rc, CAIRN_ENOSPC);
    assert_int_equal(e.code, CAIRN_ENOSPC);
    assert_int_equal(e.sys_errno, ENOSPC);
    assert_non_null(strstr(e.msg, "no space left on device"));
    assert_non_null(strstr(e.msg, "(262144 bytes)"));
    assert_non_null(strstr(e.msg, "the chunks table"));
    assert_non_null(strstr(e.msg, dir));
    kv_abort(t);
    /* the environment stays usable after the failed transaction */
    assert_int_equal(kv_begin(k, 1, &t, &e), CAIRN_OK);
    assert_int_equal(kv_put(t, KV_META, "ok", 2, "1", 1, 0, &e), CAIRN_OK);
    assert_int_equal(kv_commit(t, &e), CAIRN_OK);
    kv_close(k);
    t_tmpdir_free(dir);
}

/* A short write (the file system filling up) is EIO from LMDB: CAIRN_ENOSPC when the file
 * system is (nearly) full, else CAIRN_EIO. RLIMIT_FSIZE makes the write short, in a child. */
static int kv_short_write_child(const char *dir, uint64_t fs_low)
{
    signal(SIGXFSZ, SIG_IGN);
    kv *k;
    cairn_err e;
    if (kv_open(dir, 64ULL << 20, &k, &e)) return 10;
    kv_test_fs_low(k, fs_low);
    struct rlimit rl = {(256 << 10) + 100, (256 << 10) + 100}; /* not page aligned: the crossing write is short */
    if (setrlimit(RLIMIT_FSIZE, &rl)) return 11;
    static uint8_t blob[4000];
    int rc = CAIRN_OK;
    for (uint32_t i = 0; i < 1000 && rc == CAIRN_OK; i++) {
        kv_txn *t;
        if (kv_begin(k, 1, &t, &e)) return 12;
        uint8_t key[4];
        be32_put(key, i);
        rc = kv_put(t, KV_CHUNKS, key, 4, blob, sizeof blob, 0, &e);
        if (rc) {
            kv_abort(t);
            break;
        }
        rc = kv_commit(t, &e);
    }
    if (rc == CAIRN_ENOSPC && !strstr(e.msg, "no space left on device: writing a transaction commit")) return 13;
    return rc == CAIRN_ENOSPC ? 1 : rc == CAIRN_EIO ? 2 : 14;
}

static void test_kv_short_write_is_enospc_when_fs_full(void **state)
{
    (void)state;
    for (int full = 0; full < 2; full++) {
        char *dir = t_tmpdir("kvshort");
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) _exit(kv_short_write_child(dir, full ? UINT64_MAX : 0));
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), full ? 1 : 2);
        t_tmpdir_free(dir);
    }
}

static void test_kv_double_open_fails(void **state)
{
    fx *f = *state;
    kv *k2 = (kv *)1;
    cairn_err e;
    /* same process, second handle */
    assert_int_equal(kv_open(f->dir, 64ULL << 20, &k2, &e), CAIRN_EIO);
    assert_null(k2);
    assert_int_equal(e.code, CAIRN_EIO);
    assert_non_null(strstr(e.msg, "is already open"));
    assert_non_null(strstr(e.msg, f->dir));
    assert_true(e.sys_errno != 0);
    /* another process */
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        kv *k3;
        cairn_err e3;
        int rc = kv_open(f->dir, 64ULL << 20, &k3, &e3);
        _exit(rc == CAIRN_EIO && strstr(e3.msg, "is already open") ? 0 : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* after close, it opens again */
    kv_close(f->k);
    f->k = NULL;
    assert_int_equal(kv_open(f->dir, 64ULL << 20, &f->k, &e), CAIRN_OK);
}

static void test_kv_open_bad_dir(void **state)
{
    (void)state;
    kv *k;
    cairn_err e;
    assert_int_equal(kv_open("/nonexistent/cairn/dir", 1 << 20, &k, &e), CAIRN_EIO);
    assert_null(k);
    assert_non_null(strstr(e.msg, "/nonexistent/cairn/dir/LOCK"));
    assert_int_equal(e.sys_errno, ENOENT);
}

static void test_kv_oom(void **state)
{
    (void)state;
    char *dir = t_tmpdir("kvoom");
    for (int64_t n = 0;; n++) {
        kv *k = NULL;
        cairn_err e;
        mem_fail_after(n);
        int rc = kv_open(dir, 1 << 20, &k, &e);
        kv_txn *t = NULL;
        if (rc == CAIRN_OK) rc = kv_begin(k, 1, &t, &e);
        kv_cur *c = NULL;
        if (rc == CAIRN_OK) rc = kv_cur_open(t, KV_META, &c);
        mem_fail_after(-1);
        kv_cur_close(c);
        kv_abort(t);
        kv_close(k);
        if (rc == CAIRN_OK) break;
        assert_int_equal(rc, CAIRN_ENOMEM);
        assert_true(n < 10);
    }
    t_tmpdir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kv_put_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kv_abort_discards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kv_cursor_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kv_dups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kv_persist_and_size, setup, teardown),
        cmocka_unit_test(test_kv_map_full_is_enospc),
        cmocka_unit_test(test_kv_short_write_is_enospc_when_fs_full),
        cmocka_unit_test_setup_teardown(test_kv_double_open_fails, setup, teardown),
        cmocka_unit_test(test_kv_open_bad_dir),
        cmocka_unit_test(test_kv_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
