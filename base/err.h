/*
 * err — filling a cairn_err. Every internal call that can fail because of its
 * input takes `cairn_err *err` last (NULL allowed) and returns the code;
 * err_set() returns the code it was given so a call site is one line:
 *     return err_set(err, CAIRN_EINVAL, "label name %.*s is empty", ...);
 */
#ifndef CAIRN_ERR_H
#define CAIRN_ERR_H
#include "cairn.h"

/* Set code and a printf-style message; returns `code`. err may be NULL. */
int err_set(cairn_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like err_set for CAIRN_EIO, recording errno. */
int err_sys(cairn_err *err, int sys_errno, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Set a parse error with a 1-based position. */
int err_parse(cairn_err *err, int line, int col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Clear to CAIRN_OK. */
void err_clear(cairn_err *err);

/* An invariant broke: always aborts with file and line. Never for bad input. */
#define CAIRN_BUG(msg) err_bug(__FILE__, __LINE__, (msg))
_Noreturn void err_bug(const char *file, int line, const char *msg);
#ifndef NDEBUG
#define CAIRN_ASSERT(c) ((c) ? (void)0 : err_bug(__FILE__, __LINE__, "assertion failed: " #c))
#else
#define CAIRN_ASSERT(c) ((void)0)
#endif

#define RETURN_IF_ERR(expr)                                                                              \
    do {                                                                                                 \
        int rc_ = (expr);                                                                                \
        if (rc_ < 0) return rc_;                                                                         \
    } while (0)
#endif
