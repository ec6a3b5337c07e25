/*
 * err.c — error reports that never allocate.
 *
 * A cairn_err carries a code and a fixed 256-byte message, so reporting an
 * out-of-memory condition cannot itself run out of memory. Messages are
 * formatted with vsnprintf and silently truncated at the buffer's end.
 * Only api/ maps codes to HTTP statuses; here a code is just a number.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void err_vfill(cairn_err *err, int code, const char *fmt, va_list ap)
{
    err->code = code;
    err->sys_errno = 0;
    err->line = err->col = 0;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

int err_set(cairn_err *err, int code, const char *fmt, ...)
{
    if (!err) return code;
    va_list ap;
    va_start(ap, fmt);
    err_vfill(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int err_sys(cairn_err *err, int sys_errno, const char *fmt, ...)
{
    if (!err) return CAIRN_EIO;
    va_list ap;
    va_start(ap, fmt);
    err_vfill(err, CAIRN_EIO, fmt, ap);
    va_end(ap);
    err->sys_errno = sys_errno;
    size_t n = strlen(err->msg);
    if (n < sizeof err->msg - 3) snprintf(err->msg + n, sizeof err->msg - n, ": %s", strerror(sys_errno));
    return CAIRN_EIO;
}

int err_parse(cairn_err *err, int line, int col, const char *fmt, ...)
{
    if (!err) return CAIRN_EPARSE;
    int n = snprintf(err->msg, sizeof err->msg, "%d:%d: ", line, col);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
    va_end(ap);
    err->code = CAIRN_EPARSE;
    err->sys_errno = 0;
    err->line = line;
    err->col = col;
    return CAIRN_EPARSE;
}

void err_clear(cairn_err *err)
{
    if (!err) return;
    err->code = CAIRN_OK;
    err->sys_errno = err->line = err->col = 0;
    err->msg[0] = '\0';
}

_Noreturn void err_bug(const char *file, int line, const char *msg)
{
    fprintf(stderr, "BUG: %s:%d: %s\n", file, line, msg);
    abort();
}

const char *cairn_strerror(int code)
{
    switch (code) {
    case CAIRN_OK: return "CAIRN_OK";
    case CAIRN_NOTFOUND: return "CAIRN_NOTFOUND";
    case CAIRN_EINVAL: return "CAIRN_EINVAL";
    case CAIRN_ENOMEM: return "CAIRN_ENOMEM";
    case CAIRN_EIO: return "CAIRN_EIO";
    case CAIRN_ECORRUPT: return "CAIRN_ECORRUPT";
    case CAIRN_EPARSE: return "CAIRN_EPARSE";
    case CAIRN_ELIMIT: return "CAIRN_ELIMIT";
    case CAIRN_ETIMEOUT: return "CAIRN_ETIMEOUT";
    case CAIRN_EOUTOFORDER: return "CAIRN_EOUTOFORDER";
    case CAIRN_EINTERNAL: return "CAIRN_EINTERNAL";
    case CAIRN_ENOSPC: return "CAIRN_ENOSPC";
    default: return "CAIRN_E?";
    }
}
