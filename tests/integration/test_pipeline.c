/* tests/integration/test_pipeline.c - the Pykka pipeline (a loader, a
 * preprocessor and a model) chained with futures, from C and from actorctl.
 * SPDX-License-Identifier: MIT
 *
 * The seed's data: a table with a missing value; dropna leaves three rows,
 * which are standardised per column (sample std) and summed per row. The
 * chain is built by the client (load_data, then preprocess, then
 * apply_model: actors_future_then, Pykka's add_callback), by the loader
 * actor itself (pipeline: deferred reply over the same chain), and from
 * the shell (actorctl call loader/1 pipeline ...). A stage's error
 * reaches the caller of the chain with its type.
 */
#include <math.h>
#include <unistd.h>

#include "itest.h"

/* [[1,2],[3,null],[5,6],[7,10]]: rows 0, 2, 3 kept; column means 13/3 and
 * 6, sample stds sqrt(28/3) and 4. */
static const char s_table[] = "[[1, 2], [3, null], [5, 6], [7, 10]]";

static double s_want[3];

static void
s_expected(void)
{
    double m0 = 13.0 / 3.0;
    double sd0 =
        sqrt(((1 - m0) * (1 - m0) + (5 - m0) * (5 - m0) + (7 - m0) * (7 - m0)) /
             2.0);
    s_want[0] = (1 - m0) / sd0 + (2 - 6) / 4.0;
    s_want[1] = (5 - m0) / sd0 + 0.0;
    s_want[2] = (7 - m0) / sd0 + (10 - 6) / 4.0;
}

static char s_path[64];

static void
s_write_table(void)
{
    snprintf(s_path, sizeof s_path, "/tmp/actors-pipeline-XXXXXX");
    int fd = mkstemp(s_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(
        write(fd, s_table, sizeof s_table - 1), (ssize_t)sizeof s_table - 1);
    close(fd);
}

static void
s_start(void)
{
    s_expected();
    s_write_table();
    testutil_broker_start(NULL);
    testutil_service_start("loader", "loader/1", 0, NULL);
    testutil_service_start("preprocessor", "preprocessor/1", 0, NULL);
    testutil_service_start("model", "model/1", 0, NULL);
}

static void
s_assert_predictions(const msgpack_object *r)
{
    ck_assert_int_eq(r->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(r->via.array.size, 3);
    for (int i = 0; i < 3; i++) {
        double v = 0;
        ck_assert_int_eq(
            actors_value_double(&r->via.array.ptr[i], &v), ACTORS_OK);
        ck_assert_msg(fabs(v - s_want[i]) < 1e-9, "row %d: %.17g, want %.17g",
            i, v, s_want[i]);
    }
}

/* The continuations of the client's chain. */
static actors_err
s_then_preprocess(const msgpack_object *data, void *arg, actors_future_t **next)
{
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "o", data));
    return actors_client_call(
        arg, "preprocessor/1", "preprocess", &args, NULL, next);
}

static actors_err
s_then_model(const msgpack_object *data, void *arg, actors_future_t **next)
{
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "o", data));
    return actors_client_call(arg, "model/1", "apply_model", &args, NULL, next);
}

/* The seed's main in C: load, then preprocess, then the model, each step
 * chained on the previous future; one wait at the end. */
START_TEST(test_pipeline_chained_from_c)
{
    s_start();
    actors_client_t *c = itest_connect();
    actors_future_t *loaded =
        itest_send(c, "loader/1", "load_data", 0, "s", s_path);
    actors_future_t *pre = NULL;
    actors_future_t *pred = NULL;
    TEST_ASSERT_OK(actors_future_then(loaded, s_then_preprocess, c, &pre));
    TEST_ASSERT_OK(actors_future_then(pre, s_then_model, c, &pred));
    const msgpack_object *r = NULL;
    TEST_ASSERT_OK(actors_future_get(pred, 10000, &r));
    s_assert_predictions(r);
    /* The loaded table itself, as the seed's print(data). */
    const msgpack_object *table = itest_result(loaded);
    ck_assert_uint_eq(table->via.array.size, 4);
    ck_assert_int_eq(
        table->via.array.ptr[1].via.array.ptr[1].type, MSGPACK_OBJECT_NIL);
    actors_future_destroy(&loaded);
    actors_future_destroy(&pre);
    actors_future_destroy(&pred);
    unlink(s_path);
}
END_TEST

/* One call: the loader runs the chain and answers with the predictions. */
START_TEST(test_pipeline_one_call)
{
    s_start();
    itest_connect();
    actors_future_t *f = itest_call(
        "loader/1", "pipeline", "sss", s_path, "preprocessor/1", "model/1");
    s_assert_predictions(itest_result(f));
    actors_future_destroy(&f);
    unlink(s_path);
}
END_TEST

/* From the shell; the output parses back to the same numbers. */
START_TEST(test_pipeline_from_actorctl)
{
    s_start();
    static char out[4096];
    static char err[4096];
    const char *argv[] = {"actorctl", "--broker", testutil_endpoint(), "call",
        "loader/1", "pipeline", s_path, "preprocessor/1", "model/1", NULL};
    int st = testutil_run(argv, 10000, out, sizeof out, err, sizeof err);
    ck_assert_msg(st == 0, "exit %d: %s", st, err);
    actors_msg_t *m = NULL;
    TEST_ASSERT_OK(actors_msg_create(&m));
    TEST_ASSERT_OK(actors_json_add(m, out, NULL, 0));
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(
        msgpack_unpack_next(&up, actors_msg_data(m), actors_msg_size(m), &off),
        MSGPACK_UNPACK_SUCCESS);
    /* JSON keeps 17 significant digits: the same doubles. */
    s_assert_predictions(&up.data);
    msgpack_unpacked_destroy(&up);
    actors_msg_destroy(&m);
    unlink(s_path);
}
END_TEST

/* Errors down the chain: a missing file, a stage that is not there, a
 * stage that refuses its input. */
START_TEST(test_pipeline_errors_reach_the_caller)
{
    s_start();
    itest_connect();
    actors_future_t *f = itest_call("loader/1", "pipeline", "sss",
        "/nonexistent/table.json", "preprocessor/1", "model/1");
    itest_assert_error(f, ACTORS_EAPP, "FileNotFoundError", "/nonexistent");
    actors_future_destroy(&f);
    f = itest_call(
        "loader/1", "pipeline", "sss", s_path, "preprocessor/1", "nomodel/1");
    itest_assert_error(f, ACTORS_ENOACTOR, NULL, NULL);
    actors_future_destroy(&f);
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "[[s]]", "x"));
    TEST_ASSERT_OK(actors_client_call(
        g_client, "model/1", "apply_model", &args, NULL, &f));
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    itest_assert_error(f, ACTORS_EARGS, NULL, "not a number");
    actors_future_destroy(&f);
    unlink(s_path);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = itest_tcase("pykka", 60);
    tcase_add_test(tc, test_pipeline_chained_from_c);
    tcase_add_test(tc, test_pipeline_one_call);
    tcase_add_test(tc, test_pipeline_from_actorctl);
    tcase_add_test(tc, test_pipeline_errors_reach_the_caller);
    suite_add_tcase(s, tc);
    return itest_run(s);
}
