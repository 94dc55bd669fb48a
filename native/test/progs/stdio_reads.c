/* stdio inside a coroutine (hook_stdio.c): fread a file 50 times (each time
 * from the start, through a fresh 64-byte buffer... of stdio's own), then
 * fgets, getline and fgetc over it, fwrite and fflush to a second file.
 *   stdio_reads FILE OUT
 * Prints "fread 50 bytes N" and "lines L chars C" and "wrote W". */
#include <coroscope.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *in_path, *out_path;

static void *reader(void *arg)
{
    (void)arg;
    FILE *f = fopen(in_path, "r");
    if (!f) return (void *)1;
    char buf[100];
    size_t total = 0;
    for (int i = 0; i < 50; i++) {
        rewind(f);
        total += fread(buf, 1, sizeof buf, f);
    }
    printf("fread 50 bytes %zu\n", total);
    rewind(f);
    int lines = 0;
    while (fgets(buf, sizeof buf, f)) lines++;
    rewind(f);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) lines++;
    free(line);
    rewind(f);
    long chars = 0;
    while (fgetc(f) != EOF) chars++;
    printf("lines %d chars %ld\n", lines, chars);
    fclose(f);
    FILE *o = fopen(out_path, "w");
    if (!o) return (void *)1;
    size_t w = fwrite("hello\n", 1, 6, o);
    fflush(o);
    fclose(o);
    printf("wrote %zu\n", w);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    in_path = argv[1];
    out_path = argv[2];
    setvbuf(stdout, NULL, _IOLBF, 0);
    coroscope_co *co;
    void *r;
    if (coroscope_spawn(&co, "reader", reader, NULL) || coroscope_join(co, &r)) return 2;
    return r != NULL;
}
