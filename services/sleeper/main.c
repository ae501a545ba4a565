/* services/sleeper/main.c - sleeper [--broker EP] --address A
 * [--max-concurrency N]. SPDX-License-Identifier: MIT */
#include "sleeper.h"

int
main(int argc, char **argv)
{
    return actors_service_main(&sleeper_service, argc, argv);
}
