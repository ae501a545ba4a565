/* services/shipping/main.c - shipping [--broker EP] --address A [ACK].
 * SPDX-License-Identifier: MIT */
#include "shipping.h"

int
main(int argc, char **argv)
{
    return actors_service_main(&shipping_service, argc, argv);
}
