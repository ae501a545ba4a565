/* services/chaos/main.c - chaos [--broker EP] --address A.
 * SPDX-License-Identifier: MIT */
#include "chaos.h"

int
main(int argc, char **argv)
{
    return actors_service_main(&chaos_service, argc, argv);
}
