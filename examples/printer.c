/* The seed's first example: two unrelated tasks take turns.
 * Usage: printer [ROUNDS]  (default 3; the seed's loop is endless) */
#include <stdio.h>
#include <stdlib.h>

#include "multitask.h"

struct printer {
    mt_task task;
    const char *message; /* set before adding */
    long rounds, i;      /* i is a frame field: it survives MT_YIELD */
};

static int printer(mt_task *t)
{
    struct printer *f = (struct printer *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->rounds; f->i++) {
        printf("%s\n", f->message);
        MT_YIELD(t);
    }
    MT_END(t);
}

int main(int argc, char **argv)
{
    static struct printer hello, goodbye;
    long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 3;

    hello.message = "hello";
    goodbye.message = "goodbye";
    hello.rounds = goodbye.rounds = rounds;
    mt_add(&hello.task, printer);
    mt_add(&goodbye.task, printer);
    if (mt_run() != 0)
        return 1;
    return mt_sched_destroy(mt_default()) == 0 ? 0 : 1; /* closes what it opened */
}
