/* services/counter/main.c - counter [--broker EP] --address A [START].
 * SPDX-License-Identifier: MIT */
#include "counter.h"

int
main(int argc, char **argv)
{
    return actors_service_main(&counter_service, argc, argv);
}
