/* tests/integration/test_load.c - many pipelined calls, all answered.
 * SPDX-License-Identifier: MIT
 *
 * 10,000 echo calls sent without waiting, from one client; every one gets
 * its own value back. And the same through several addresses at once.
 */
#include "itest.h"

#define LOAD_CALLS 10000

START_TEST(test_load_ten_thousand_pipelined)
{
    testutil_broker_start(NULL);
    testutil_service_start("chaos", "chaos/load", 0, NULL);
    actors_client_t *c = itest_connect();
    actors_future_t **fs = calloc(LOAD_CALLS, sizeof *fs);
    ck_assert_ptr_nonnull(fs);
    for (int i = 0; i < LOAD_CALLS; i++) {
        fs[i] = itest_send(c, "chaos/load", "echo", 0, "i", i);
    }
    TEST_ASSERT_OK(actors_future_wait_all(fs, LOAD_CALLS, 120000));
    for (int i = 0; i < LOAD_CALLS; i++) {
        ck_assert_msg(itest_int(fs[i]) == i, "call %d answered %s", i,
            itest_describe(fs[i]));
        actors_future_destroy(&fs[i]);
    }
    free(fs);
    ck_assert_uint_eq(actors_client_pending(c), 0);
}
END_TEST

START_TEST(test_load_two_actors_interleaved)
{
    testutil_broker_start(NULL);
    testutil_service_start("chaos", "chaos/l1", 0, NULL);
    testutil_service_start("chaos", "chaos/l2", 4, NULL);
    actors_client_t *c = itest_connect();
    enum { N = 2000 };
    actors_future_t **fs = calloc(N, sizeof *fs);
    ck_assert_ptr_nonnull(fs);
    for (int i = 0; i < N; i++) {
        fs[i] =
            itest_send(c, i % 2 ? "chaos/l2" : "chaos/l1", "echo", 0, "i", i);
    }
    TEST_ASSERT_OK(actors_future_wait_all(fs, N, 60000));
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(itest_int(fs[i]), i);
        actors_future_destroy(&fs[i]);
    }
    free(fs);
}
END_TEST

static Suite *
load_suite(void)
{
    Suite *s = suite_create("load");
    TCase *tc = itest_tcase("pipelined", 240);
    tcase_add_test(tc, test_load_ten_thousand_pipelined);
    tcase_add_test(tc, test_load_two_actors_interleaved);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(load_suite());
}
