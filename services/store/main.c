/* services/store/main.c - store [--broker EP] --address A.
 * SPDX-License-Identifier: MIT */
#include "store.h"

int
main(int argc, char **argv)
{
    return actors_service_main(&store_service, argc, argv);
}
