/* libpq inside coroutines: N coroutines on one worker each connect to a
 * PostgreSQL server and run "select pg_sleep(S)", while a ticker coroutine
 * sleeps 2 ms at a time and measures how late it wakes. libpq's socket calls
 * (connect, poll, send, recv) are hooked, so the queries overlap instead of
 * running one after another, and the ticker keeps time.
 *
 *   lib_pg CONNINFO N SECONDS
 * Prints "pg ok K of N elapsed_ms E" and "ticker worst_late_ms X ticks T". */
#include <coroscope.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib_co.h"

static const char *conninfo;
static const char *seconds;

static void *query(void *arg)
{
    (void)arg;
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    char sql[64];
    snprintf(sql, sizeof sql, "select pg_sleep(%s), 41 + 1", seconds);
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 1), "42") == 0;
    if (!ok) fprintf(stderr, "query: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return ok ? (void *)1 : NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) return 2;
    conninfo = argv[1];
    seconds = argv[3];
    return lib_co_run("pg", atoi(argv[2]), query);
}
