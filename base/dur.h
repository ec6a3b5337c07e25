/*
 * dur — the two duration grammars cairn reads.
 *
 * Prometheus durations (model.ParseDuration): integers with units
 * y w d h m s ms, largest to smallest, each at most once ("1h30m", "5m",
 * "1y"), or "0". PromQL ranges and offsets, the HTTP API's step, timeout and
 * lookback_delta (which also take a float number of seconds; see
 * papi_parse_duration), and the command-line flags all use it.
 *
 * Go durations (time.ParseDuration): an optional sign, then decimals with
 * units ns us µs μs ms s m h in any order ("1.5h", "300ms", "2h45m"), or "0".
 * LogQL's `| duration` label filters, duration() conversions and unwrap.
 *
 * Both read (s, n) and never allocate.
 */
#ifndef CAIRN_DUR_H
#define CAIRN_DUR_H
#include <stddef.h>
#include <stdint.h>

/* Prometheus duration in milliseconds. CAIRN_OK, or CAIRN_EINVAL (empty, bad
 * syntax, units out of order or repeated, int64 overflow); *ms untouched then. */
int dur_parse_prom(const char *s, size_t n, int64_t *ms);
/* Go duration in seconds. CAIRN_OK or CAIRN_EINVAL; *sec untouched then. */
int dur_parse_go(const char *s, size_t n, double *sec);

#endif
