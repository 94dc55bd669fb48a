/* hiredis inside coroutines (lib_co.h): N coroutines on one worker each
 * connect to Redis over its Unix socket and block in "BLPOP key S" on a list
 * nobody fills, so each waits S seconds and gets nil; the waits overlap.
 *
 *   lib_redis SOCKET N SECONDS */
#include <hiredis/hiredis.h>
#include <stdlib.h>

#include "lib_co.h"

static const char *sock;
static const char *seconds;

static void *blpop(void *arg)
{
    (void)arg;
    redisContext *c = redisConnectUnix(sock);
    if (!c || c->err) {
        fprintf(stderr, "connect: %s\n", c ? c->errstr : "no memory");
        if (c) redisFree(c);
        return NULL;
    }
    redisReply *r = redisCommand(c, "BLPOP coroscope:nothing %s", seconds);
    int ok = r && r->type == REDIS_REPLY_NIL;
    if (!ok) fprintf(stderr, "BLPOP: %s\n", r ? "unexpected reply" : c->errstr);
    if (r) freeReplyObject(r);
    redisFree(c);
    return ok ? (void *)1 : NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) return 2;
    sock = argv[1];
    seconds = argv[3];
    return lib_co_run("redis", atoi(argv[2]), blpop);
}
