/* replay.c - runs fuzz_sched.c's LLVMFuzzerTestOneInput over each file named
 * on the command line, without libFuzzer, so the corpus and the regression
 * inputs run as a plain test (gcc, sanitizers, valgrind). A violation aborts
 * with the harness's message; the file being run is printed first. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay(const char *path)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!fp) {
        perror(path);
        return 1;
    }
    do { /* grow by doubling: inputs are small, and stdin-like files have no size */
        if (len == cap) {
            unsigned char *p;
            cap = cap ? cap * 2 : 4096;
            if ((p = realloc(buf, cap)) == NULL) {
                fprintf(stderr, "%s: out of memory\n", path);
                free(buf);
                fclose(fp);
                return 1;
            }
            buf = p;
        }
        n = fread(buf + len, 1, cap - len, fp);
        len += n;
    } while (n > 0);
    if (ferror(fp)) {
        perror(path);
        free(buf);
        fclose(fp);
        return 1;
    }
    fclose(fp);
    fprintf(stderr, "replay %s (%lu bytes)\n", path, (unsigned long)len);
    (void)LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int i, bad = 0;
    for (i = 1; i < argc; i++)
        bad |= replay(argv[i]);
    printf("replayed %d input%s%s\n", argc - 1, argc == 2 ? "" : "s",
           bad ? ", some unreadable" : "");
    return bad;
}
