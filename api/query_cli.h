/*
 * query_cli — the `cairn query` command (api/query_cli.c), called from
 * api/main.c. It uses only include/cairn.h.
 */
#ifndef CAIRN_QUERY_CLI_H
#define CAIRN_QUERY_CLI_H

/* `cairn query [options] QUERY`: argv[1] is "query". @return the exit status
 * (0 ok, 1 query/storage error, 2 usage). */
int query_main(int argc, char **argv);
#endif
