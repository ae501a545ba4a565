/* services/orders/main.c - orders [--broker EP] --address A [RESEND_MS].
 * SPDX-License-Identifier: MIT */
#include "orders.h"

int
main(int argc, char **argv)
{
    return actors_service_main(&orders_service, argc, argv);
}
