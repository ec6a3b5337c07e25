/*
 * test_storage.c — the engine when storage fails or was damaged (issue 10):
 * a full LMDB map and a full disk under the WAL answer CAIRN_ENOSPC with
 * "no space left on device" and apply nothing of the failed batch; a damaged
 * WAL segment is quarantined at open, the intact records after it replay,
 * nothing is deleted and the counters say so; a missing segment refuses the
 * open unless wal_skip_missing; label values up to the documented limits work
 * for =, =~, label values and series listing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn.h"
#include "engine_int.h"
#include "support.h"
#include "wal.h"

#define T0 1700000000000LL

typedef struct fx {
    char *dir;
    cairn_db *db;
    cairn_options o;
    int n_err;
    char last_err[1024];
} fx;

static void fx_log(void *ctx, int level, const char *msg)
{
    fx *f = ctx;
    if (level == CAIRN_LOG_ERROR) {
        f->n_err++;
        snprintf(f->last_err, sizeof f->last_err, "%s", msg);
    }
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->dir = t_tmpdir("storage");
    cairn_options_default(&f->o);
    f->o.background = 0;
    f->o.retention_metrics_ms = 0;
    f->o.retention_logs_ms = 0;
    f->o.log_fn = fx_log;
    f->o.log_ctx = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    cairn_close(f->db);
    t_tmpdir_free(f->dir);
    free(f);
    return 0;
}

static void open_db(fx *f)
{
    cairn_err e;
    int rc = cairn_open(f->dir, &f->o, &f->db, &e);
    if (rc) fprintf(stderr, "cairn_open: %s\n", e.msg);
    assert_int_equal(rc, CAIRN_OK);
}

static void close_db(fx *f)
{
    cairn_close(f->db);
    f->db = NULL;
}

/* Commit `n` samples of {__name__="m", i="<i>"} for i in [from, from + n), each with a value
 * of `pad` bytes in label "pad" (so the index fills fast), at time t. */
static int put_many(fx *f, int from, int n, size_t pad, int64_t t, cairn_err *e)
{
    cairn_batch *b = cairn_batch_new();
    char *pv = malloc(pad + 1);
    assert_non_null(pv);
    memset(pv, 'p', pad);
    for (int i = from; i < from + n; i++) {
        char iv[16];
        snprintf(iv, sizeof iv, "%d", i);
        cairn_label ls[3] = {{"__name__", 8, "m", 1}, {"i", 1, iv, strlen(iv)}, {"pad", 3, pv, pad}};
        int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, pad ? 3 : 2, e);
        assert_true(ref >= 0);
        assert_int_equal(cairn_batch_sample(b, ref, t, i, e), CAIRN_OK);
    }
    int rc = cairn_commit(f->db, b, e);
    cairn_batch_free(b);
    free(pv);
    return rc;
}

/* Number of samples of the series {__name__="m", i="<i>"}, -1 if there is no such series with data
 * within a day of T0 (a series indexed by a batch whose WAL record was lost has none). */
static int samples_of(fx *f, int i)
{
    char iv[16];
    snprintf(iv, sizeof iv, "%d", i);
    cairn_matcher m = {CAIRN_MATCH_EQ, "i", 1, iv, strlen(iv)};
    cairn_series_set *s;
    cairn_err e;
    const int64_t day = 86400000;
    assert_int_equal(cairn_select(f->db, CAIRN_KIND_METRIC, &m, 1, T0 - day, T0 + day, &s, &e), CAIRN_OK);
    uint64_t id;
    int n = -1;
    if (cairn_series_set_next(s, &id, NULL, NULL) == 1) {
        cairn_samples *it;
        assert_int_equal(cairn_samples_open(f->db, id, INT64_MIN, INT64_MAX, &it, &e), CAIRN_OK);
        int64_t t;
        double v;
        n = 0;
        while (cairn_samples_next(it, &t, &v) == 1) n++;
        cairn_samples_close(it);
    }
    cairn_series_set_close(s);
    return n;
}

/* ---- disk full (item 9) ---------------------------------------------------------------- */

/* The LMDB map fills up: 507-class error, the failed batch is not there, the rest is. */
static void test_map_full_is_enospc_and_atomic(void **state)
{
    fx *f = *state;
    f->o.map_size_bytes = 1 << 20;
    open_db(f);
    cairn_err e;
    int rc = CAIRN_OK, from = 0;
    for (int k = 0; k < 2000 && rc == CAIRN_OK; k++, from += 20) rc = put_many(f, from, 20, 200, T0, &e);
    assert_int_equal(rc, CAIRN_ENOSPC);
    from -= 20; /* the batch that failed */
    assert_true(from > 0);
    assert_int_equal(e.code, CAIRN_ENOSPC);
    assert_non_null(strstr(e.msg, "no space left on device"));
    assert_non_null(strstr(e.msg, "index.mdb"));
    cairn_stats st;
    cairn_stats_get(f->db, &st);
    assert_int_equal(st.storage_full_errors, 1);
    /* nothing of the failed batch; everything before it */
    for (int i = from; i < from + 20; i++) assert_int_equal(samples_of(f, i), -1);
    assert_int_equal(samples_of(f, 0), 1);
    assert_int_equal(samples_of(f, from - 1), 1);
    /* samples of existing series need no index space: they still go in */
    assert_int_equal(put_many(f, 0, 5, 200, T0 + 1000, &e), CAIRN_OK);
    assert_int_equal(samples_of(f, 0), 2);
    /* a bigger map after a restart: the batch goes in, nothing was lost */
    close_db(f);
    f->o.map_size_bytes = 64ULL << 20;
    open_db(f);
    assert_int_equal(put_many(f, from, 20, 200, T0, &e), CAIRN_OK);
    assert_int_equal(samples_of(f, from), 1);
    assert_int_equal(samples_of(f, 0), 2);
}

/* The disk fills under the WAL: the commit fails whole, says why, is counted; the next one works. */
static void test_wal_disk_full_is_enospc(void **state)
{
    fx *f = *state;
    open_db(f);
    cairn_err e;
    assert_int_equal(put_many(f, 0, 3, 0, T0, &e), CAIRN_OK);
    wal_test_fault(f->db->wal, WAL_FAULT_WRITE, ENOSPC);
    assert_int_equal(put_many(f, 0, 3, 0, T0 + 1000, &e), CAIRN_ENOSPC);
    assert_int_equal(e.sys_errno, ENOSPC);
    assert_non_null(strstr(e.msg, "no space left on device: wal "));
    assert_non_null(strstr(e.msg, "record to segment 00000001"));
    cairn_stats st;
    cairn_stats_get(f->db, &st);
    assert_int_equal(st.storage_full_errors, 1);
    for (int i = 0; i < 3; i++) assert_int_equal(samples_of(f, i), 1);
    wal_test_fault(f->db->wal, WAL_FAULT_WRITE, EDQUOT);
    assert_int_equal(put_many(f, 0, 3, 0, T0 + 1000, &e), CAIRN_ENOSPC);
    assert_int_equal(put_many(f, 0, 3, 0, T0 + 1000, &e), CAIRN_OK);
    cairn_stats_get(f->db, &st);
    assert_int_equal(st.storage_full_errors, 2);
    /* and after a crash-free restart, exactly the acknowledged samples */
    close_db(f);
    open_db(f);
    for (int i = 0; i < 3; i++) assert_int_equal(samples_of(f, i), 2);
}

/* ---- WAL damage through cairn_open (item 8) --------------------------------------------- */

static long long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

/* In a child process: open, commit 40 one-sample batches over several WAL segments, and die
 * without closing (no checkpoint), as kill -9 would. */
static void write_and_crash(fx *f)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        cairn_db *db;
        cairn_err e;
        if (cairn_open(f->dir, &f->o, &db, &e)) _exit(2);
        f->db = db;
        for (int i = 0; i < 40; i++)
            if (put_many(f, i, 1, 400, T0 + i, &e)) _exit(3);
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* over several WAL segments, crash (no checkpoint), damage
 * a record in the middle of segment 2: every other batch is there, nothing is deleted. */
static void test_wal_damage_mid_segment_through_open(void **state)
{
    fx *f = *state;
    f->o.wal_segment_bytes = 4096;
    write_and_crash(f);
    char p[700];
    snprintf(p, sizeof p, "%s/wal/00000002", f->dir);
    long long n2 = file_size(p);
    assert_true(n2 > 100);
    char p3[700];
    snprintf(p3, sizeof p3, "%s/wal/00000003", f->dir);
    long long n3 = file_size(p3);
    assert_true(n3 > 0);
    FILE *fp = fopen(p, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 40, SEEK_SET), 0); /* inside the first record's payload */
    int c = fgetc(fp);
    assert_int_equal(fseek(fp, 40, SEEK_SET), 0);
    fputc(c ^ 0x5a, fp);
    fclose(fp);

    open_db(f);
    cairn_stats st;
    cairn_stats_get(f->db, &st);
    assert_int_equal(st.wal_corruptions, 1);
    assert_true(st.wal_quarantined_bytes > 400);
    assert_true(f->n_err >= 1);
    assert_non_null(strstr(f->last_err, "CORRUPTION") ? f->last_err : strstr(f->last_err, "WAL replay dropped"));
    /* segments all there, same sizes */
    assert_int_equal(file_size(p), n2);
    assert_int_equal(file_size(p3), n3);
    /* exactly one batch lost: the damaged one */
    int lost = 0;
    for (int i = 0; i < 40; i++) {
        int k = samples_of(f, i);
        assert_true(k == 1 || k == -1);
        lost += k == -1;
    }
    assert_int_equal(lost, 1);
    /* the next open is quiet and the same */
    close_db(f);
    f->n_err = 0;
    open_db(f);
    cairn_stats_get(f->db, &st);
    assert_int_equal(st.wal_corruptions, 0);
    assert_int_equal(f->n_err, 0);
}

/* A missing WAL segment refuses the open, naming it; wal_skip_missing opens, loudly and counted. */
static void test_wal_missing_segment_refuses_open(void **state)
{
    fx *f = *state;
    f->o.wal_segment_bytes = 4096;
    write_and_crash(f);
    cairn_err e;
    char p[700];
    snprintf(p, sizeof p, "%s/wal/00000002", f->dir);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(cairn_open(f->dir, &f->o, &f->db, &e), CAIRN_ECORRUPT);
    assert_null(f->db);
    assert_non_null(strstr(e.msg, "segment 00000002 is missing"));
    f->o.wal_skip_missing = 1;
    open_db(f);
    cairn_stats st;
    cairn_stats_get(f->db, &st);
    assert_int_equal(st.wal_missing_segments, 1);
    assert_true(f->n_err >= 1);
    assert_int_equal(samples_of(f, 0), 1);
    assert_int_equal(samples_of(f, 39), 1);
}

/* The only WAL segment of a data dir that was never checkpointed is gone: the index has series,
 * so the open fails instead of silently coming up without their samples. */
static void test_wal_only_segment_missing(void **state)
{
    fx *f = *state;
    write_and_crash(f);
    char p[700];
    for (int no = 1; no < 64; no++) {
        snprintf(p, sizeof p, "%s/wal/%08x", f->dir, no);
        unlink(p);
    }
    cairn_err e;
    assert_int_equal(cairn_open(f->dir, &f->o, &f->db, &e), CAIRN_ECORRUPT);
    assert_non_null(strstr(e.msg, "segment 00000001 is missing"));
    f->o.wal_skip_missing = 1;
    open_db(f);
    cairn_stats st;
    cairn_stats_get(f->db, &st);
    assert_int_equal(st.wal_missing_segments, 1);
    /* a fresh directory is not a missing log */
    close_db(f);
    t_tmpdir_free(f->dir);
    f->dir = t_tmpdir("storage");
    f->o.wal_skip_missing = 0;
    open_db(f);
}

/* ---- long label values (item 3) ----------------------------------------------------------- */

static void check_long(fx *f, const char *cmd, const char *big, const char *lv)
{
    cairn_err e;
    cairn_matcher m = {CAIRN_MATCH_EQ, "process_command_line", 20, cmd, strlen(cmd)};
    cairn_series_set *set;
    assert_int_equal(cairn_select(f->db, CAIRN_KIND_METRIC, &m, 1, INT64_MIN, INT64_MAX, &set, &e), CAIRN_OK);
    assert_int_equal(cairn_series_set_count(set), 1);
    uint64_t id;
    const cairn_label *ls;
    size_t nl;
    assert_int_equal(cairn_series_set_next(set, &id, &ls, &nl), 1);
    int seen = 0;
    for (size_t i = 0; i < nl; i++)
        if (ls[i].value_len == 4096 && memcmp(ls[i].value, big, 4096) == 0) seen = 1;
    assert_true(seen);
    cairn_series_set_close(set);
    cairn_matcher re = {CAIRN_MATCH_RE, "big", 3, "y+", 2};
    assert_int_equal(cairn_select(f->db, CAIRN_KIND_METRIC, &re, 1, INT64_MIN, INT64_MAX, &set, &e), CAIRN_OK);
    assert_int_equal(cairn_series_set_count(set), 1);
    cairn_series_set_close(set);
    cairn_strings *st;
    assert_int_equal(cairn_label_values(f->db, CAIRN_KIND_METRIC, "process_command_line", 20, NULL, 0, INT64_MIN,
                                        INT64_MAX, &st, &e),
                     CAIRN_OK);
    assert_int_equal(cairn_strings_count(st), 2);
    const char *v;
    size_t vn;
    assert_int_equal(cairn_strings_next(st, &v, &vn), 1);
    assert_int_equal(vn, strlen(cmd));
    assert_memory_equal(v, cmd, vn);
    assert_int_equal(cairn_strings_next(st, &v, &vn), 1);
    assert_int_equal(vn, 5);
    cairn_strings_close(st);
    cairn_matcher lm = {CAIRN_MATCH_EQ, "cmd", 3, lv, 2048};
    assert_int_equal(cairn_select(f->db, CAIRN_KIND_LOG, &lm, 1, INT64_MIN, INT64_MAX, &set, &e), CAIRN_OK);
    assert_int_equal(cairn_series_set_count(set), 1);
    cairn_series_set_close(set);
}

/* An OTLP resource with a 600-byte process.command_line, a 4096-byte value and a 2048-byte
 * stream label: stored, selected, listed in full, and still so after a restart. */
static void test_long_label_values_end_to_end(void **state)
{
    fx *f = *state;
    open_db(f);
    char *cmd = malloc(601), *big = malloc(4097), *lv = malloc(2049);
    assert_true(cmd && big && lv);
    for (int i = 0; i < 600; i++) cmd[i] = (char)('a' + i % 26);
    cmd[600] = 0;
    memset(big, 'y', 4096), big[4096] = 0;
    memset(lv, 'l', 2048), lv[2048] = 0;
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    cairn_label ls[3] = {{"__name__", 8, "otel_up", 7}, {"process_command_line", 20, cmd, 600}, {"big", 3, big, 4096}};
    int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, 3, &e);
    assert_true(ref >= 0);
    assert_int_equal(cairn_batch_sample(b, ref, T0, 1, &e), CAIRN_OK);
    cairn_label ls2[2] = {{"__name__", 8, "otel_up", 7}, {"process_command_line", 20, "short", 5}};
    ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls2, 2, &e);
    assert_true(ref >= 0);
    assert_int_equal(cairn_batch_sample(b, ref, T0, 2, &e), CAIRN_OK);
    cairn_label ll[2] = {{"app", 3, "api", 3}, {"cmd", 3, lv, 2048}};
    ref = cairn_batch_series(b, CAIRN_KIND_LOG, ll, 2, &e);
    assert_true(ref >= 0);
    assert_int_equal(cairn_batch_entry(b, ref, T0 * 1000000, "hello", 5, NULL, 0, &e), CAIRN_OK);
    int rc = cairn_commit(f->db, b, &e);
    if (rc) fail_msg("commit: %s", e.msg);
    cairn_batch_free(b);
    check_long(f, cmd, big, lv);
    close_db(f);
    open_db(f);
    check_long(f, cmd, big, lv);
    free(cmd), free(big), free(lv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_map_full_is_enospc_and_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_disk_full_is_enospc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_damage_mid_segment_through_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_missing_segment_refuses_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_only_segment_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_label_values_end_to_end, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
