/*
 * hello — the smallest program that uses the Coroscope API.
 *
 * The example from the top of coroscope.h, plus the two includes it needs:
 * one coroutine named "hello" sleeps a second (parked, not blocking its
 * worker) and prints its argument; main joins it and returns its status.
 *   make -C native && native/build/examples/hello        -> "hi" after 1 s
 *   cc hello.c -I native/engine/include -L native/build -lcoroscope
 */
#include <coroscope.h>
#include <stdio.h>
#include <unistd.h>

static void *hello(void *arg)
{
    sleep(1);
    puts(arg);
    return NULL;
}

int main(void)
{
    coroscope_co *co;
    coroscope_spawn(&co, "hello", hello, "hi"); // starts the workers
    return coroscope_join(co, NULL);            // blocks this thread
}
