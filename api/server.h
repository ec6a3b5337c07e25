/*
 * server — the `cairn serve` and `cairn import` commands (api/server.c,
 * api/import.c), called from api/main.c. Both parse their own flags.
 */
#ifndef CAIRN_SERVER_H
#define CAIRN_SERVER_H
#include <stddef.h>
#include <stdint.h>

/* `cairn serve ...`: argv[0] is the program, argv[1] "serve". @return the exit status. */
int server_main(int argc, char **argv);
/* `cairn import FILE ...`. @return the exit status. */
int import_main(int argc, char **argv);

/*
 * Parse a Prometheus duration ("15d", "1h30m", "500ms", "2w", "1y", "0") into
 * milliseconds. Units: ms s m h d w y (y = 365 d). @return 0, or -1 when the
 * text is not a duration or overflows.
 */
int server_parse_duration(const char *s, int64_t *ms);
/*
 * Split "ADDR:PORT" ("127.0.0.1:9490", "[::1]:9490", ":9490" = 127.0.0.1)
 * into host (NUL-terminated, brackets removed) and port. @return 0 or -1.
 */
int server_parse_listen(const char *s, char *host, size_t host_cap, uint16_t *port);
#endif
