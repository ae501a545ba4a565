/* tests/integration/test_store.c - the store service (the seed's
 * FilePersistence as an actor) run as a pool of 3.
 * SPDX-License-Identifier: MIT
 *
 * Three store processes (store/1..3) share one ACTORS_STATE_DIR (a
 * mkdtemp() directory): what one member saved, any member restores, and
 * it survives kill -9 of the member that saved it.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "itest.h"

#include <ftw.h>
#include <signal.h>
#include <unistd.h>

#include "../testfs.h"

static char s_dir[64];

static int
s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
s_setup(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/actors-itest-store-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    setenv("ACTORS_STATE_DIR", s_dir, 1);
    unsetenv("ACTORS_REDIS");
    unsetenv("ACTORS_ACCOUNT_STORE");
}

static void
s_teardown(void)
{
    testutil_stop_all();
    testfs_unmount();
    nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* s_call sends method(key [, {"balance": b, "minimal": 20}]) to addr. */
static actors_future_t *
s_call(const char *addr, const char *method, const char *key, double b)
{
    actors_msg_t *args = NULL;
    if (b >= 0) {
        TEST_ASSERT_OK(actors_msg_build(
            &args, "s{sdsd}", key, "balance", b, "minimal", 20.0));
    } else {
        TEST_ASSERT_OK(actors_msg_build(&args, "s", key));
    }
    actors_call_opts_t opts = ACTORS_CALL_OPTS_INIT;
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(
        actors_client_call(g_client, addr, method, &args, &opts, &f));
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    return f;
}

static bool
s_exists(const char *addr, const char *key)
{
    actors_future_t *f = s_call(addr, "exists", key, -1);
    bool b = false;
    TEST_ASSERT_OK(actors_value_bool(itest_result(f), &b));
    actors_future_destroy(&f);
    return b;
}

/* s_restore_balance: the balance of the state restored from addr. What
 * an account saved through the runtime is its state in an envelope with
 * its call keys (docs/PERSISTENCE.md), what a test saved is bare. */
static double
s_restore_balance(const char *addr, const char *key)
{
    actors_future_t *f = s_call(addr, "restore", key, -1);
    double b = -1;
    const msgpack_object *st = itest_result(f);
    if (actors_map_get(st, "actors.durable") != NULL) {
        st = actors_map_get(st, "state");
        ck_assert_ptr_nonnull(
            actors_map_get(itest_result(f), "calls")); /* the keys */
    }
    TEST_ASSERT_OK(actors_value_double(actors_map_get(st, "balance"), &b));
    actors_future_destroy(&f);
    return b;
}

START_TEST(test_store_pool_exists_save_restore)
{
    testutil_broker_start(NULL);
    testutil_proc_t *m[3];
    m[0] = testutil_service_start("store", "store/1", 0, NULL);
    m[1] = testutil_service_start("store", "store/2", 0, NULL);
    m[2] = testutil_service_start("store", "store/3", 0, NULL);
    itest_connect();

    ck_assert(!s_exists("store/1", "1234567"));
    actors_future_t *f = s_call("store/1", "restore", "1234567", -1);
    itest_assert_error(
        f, ACTORS_EAPP, "KeyError", "nothing is saved under this key");
    actors_future_destroy(&f);

    f = s_call("store/1", "save", "1234567", 130.0);
    TEST_ASSERT_OK(itest_code(f));
    ck_assert_int_eq(itest_result(f)->type, MSGPACK_OBJECT_NIL);
    actors_future_destroy(&f);
    /* Every member sees it: they share the directory. */
    for (int i = 1; i <= 3; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "store/%d", i);
        ck_assert(s_exists(addr, "1234567"));
        ck_assert_double_eq(s_restore_balance(addr, "1234567"), 130.0);
    }
    /* A save is durable when acknowledged: kill -9 the member. */
    f = s_call("store/2", "save", "1234567", 60.0);
    TEST_ASSERT_OK(itest_code(f));
    actors_future_destroy(&f);
    testutil_proc_kill(m[1], SIGKILL);
    ck_assert(testutil_proc_wait(m[1], 10000, NULL));
    testutil_service_start("store", "store/2", 0, NULL);
    ck_assert_double_eq(s_restore_balance("store/2", "1234567"), 60.0);

    f = s_call("store/3", "delete", "1234567", -1);
    TEST_ASSERT_OK(itest_code(f));
    actors_future_destroy(&f);
    ck_assert(!s_exists("store/1", "1234567"));

    /* Arguments are checked. */
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "i", 5));
    actors_call_opts_t opts = ACTORS_CALL_OPTS_INIT;
    TEST_ASSERT_OK(
        actors_client_call(g_client, "store/1", "exists", &args, &opts, &f));
    TEST_ASSERT_OK(actors_future_wait(f, ITEST_WAIT_MS));
    ck_assert_int_eq(itest_code(f), ACTORS_EARGS);
    actors_future_destroy(&f);
    actors_msg_destroy(&args);
}
END_TEST

/* The account persists through the pool (ACTORS_ACCOUNT_STORE=store:3):
 * restored from it after kill -9, deposits acknowledged once saved. */
START_TEST(test_store_account_persists_through_the_pool)
{
    testutil_broker_start(NULL);
    testutil_service_start("store", "store/1", 0, NULL);
    testutil_service_start("store", "store/2", 0, NULL);
    testutil_service_start("store", "store/3", 0, NULL);
    setenv("ACTORS_ACCOUNT_STORE", "store:3", 1);
    testutil_proc_t *acc = testutil_service_start(
        "account", "account/s", 0, "100", "20", "\"1234567\"", NULL);
    itest_connect();
    actors_future_t *f = itest_call("account/s", "withdraw", "d", 40.0);
    ck_assert_double_eq(itest_double(f), 60.0);
    actors_future_destroy(&f);
    /* Pipelined: replies in order, each once its save is acknowledged. */
    actors_future_t *fs[10];
    for (int i = 0; i < 10; i++) {
        fs[i] = itest_send(g_client, "account/s", "deposit", 0, "d", 7.0);
    }
    for (int i = 0; i < 10; i++) {
        TEST_ASSERT_OK(actors_future_wait(fs[i], ITEST_WAIT_MS));
        ck_assert_double_eq(itest_double(fs[i]), 60.0 + 7.0 * (i + 1));
        actors_future_destroy(&fs[i]);
    }
    testutil_proc_kill(acc, SIGKILL);
    ck_assert(testutil_proc_wait(acc, 10000, NULL));
    /* The member chosen by the key saved it; the members share one
     * directory, so every one of them reads it back. */
    int holders = 0;
    for (int i = 1; i <= 3; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "store/%d", i);
        ck_assert_double_eq(s_restore_balance(addr, "1234567"), 130.0);
        holders += s_exists(addr, "1234567");
    }
    ck_assert_int_eq(holders, 3); /* one shared directory */
    testutil_service_start(
        "account", "account/s", 0, "5", "1", "\"1234567\"", NULL);
    f = itest_call("account/s", "balance", NULL);
    ck_assert_double_eq(itest_double(f), 130.0);
    actors_future_destroy(&f);
    /* A store that is not there: the account cannot start. */
    setenv("ACTORS_ACCOUNT_STORE", "nostore/1", 1);
    const char *argv[] = {"account", "--broker", testutil_endpoint(),
        "--address", "account/t", "100", "20", "\"k\"", NULL};
    char err[512];
    ck_assert_int_eq(testutil_run(argv, 20000, NULL, 0, err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "PersistenceError"));
    unsetenv("ACTORS_ACCOUNT_STORE");
}
END_TEST

/* A bare state (saved before the runtime wrapped it with its call keys,
 * or by hand) is loaded as it is; the account's next save wraps it. */
START_TEST(test_store_bare_state_is_loaded)
{
    testutil_broker_start(NULL);
    testutil_service_start("store", "store/1", 0, NULL);
    itest_connect();
    actors_future_t *f = s_call("store/1", "save", "bare", 42.0);
    TEST_ASSERT_OK(itest_code(f));
    actors_future_destroy(&f);
    setenv("ACTORS_PERSIST_STORE", "store/1", 1);
    testutil_service_start(
        "account", "account/b", 0, "5", "1", "\"bare\"", NULL);
    unsetenv("ACTORS_PERSIST_STORE");
    f = itest_call("account/b", "balance", NULL);
    ck_assert_double_eq(itest_double(f), 42.0);
    actors_future_destroy(&f);
    f = itest_call("account/b", "deposit", "d", 8.0);
    ck_assert_double_eq(itest_double(f), 50.0);
    actors_future_destroy(&f);
    f = s_call("store/1", "restore", "bare", -1);
    ck_assert_ptr_nonnull(actors_map_get(itest_result(f), "actors.durable"));
    actors_future_destroy(&f);
    ck_assert_double_eq(s_restore_balance("store/1", "bare"), 50.0);
}
END_TEST

/* A key an account is journaling (same directory) is locked: the store
 * answers KeyLocked, not NameTaken or PersistenceError, and touches
 * nothing; once the account is gone the store reads its state. */
START_TEST(test_store_locked_key_is_key_locked)
{
    testutil_broker_start(NULL);
    testutil_service_start("store", "store/1", 0, NULL);
    testutil_proc_t *acc = testutil_service_start(
        "account", "account/j", 0, "100", "20", "\"held\"", NULL);
    itest_connect();
    actors_future_t *f = s_call("store/1", "save", "held", 5.0);
    itest_assert_error(f, ACTORS_ELOCKED, "KeyLocked", "'held'");
    actors_future_destroy(&f);
    f = s_call("store/1", "restore", "held", -1);
    itest_assert_error(f, ACTORS_ELOCKED, "KeyLocked", NULL);
    actors_future_destroy(&f);
    testutil_proc_kill(acc, SIGKILL);
    ck_assert(testutil_proc_wait(acc, 10000, NULL));
    ck_assert_double_eq(s_restore_balance("store/1", "held"), 100.0);
}
END_TEST

/* A full disk (a small tmpfs, filled): a save that does not fit is
 * answered DiskFull and the previous state stays; once there is room the
 * same save succeeds. An account saving through the store gets a
 * PersistenceError instead (a later save in flight may still store its
 * change) and exits. */
START_TEST(test_store_save_on_full_disk)
{
    char fs[128];
    snprintf(fs, sizeof fs, "%s/fs", s_dir);
    if (!testfs_tmpfs(fs, 128 * 1024)) { /* before any thread starts */
        return;
    }
    setenv("ACTORS_STATE_DIR", fs, 1);
    testutil_broker_start(NULL);
    testutil_service_start("store", "store/1", 0, NULL);
    setenv("ACTORS_ACCOUNT_STORE", "store/1", 1);
    testutil_proc_t *acc = testutil_service_start(
        "account", "account/s", 0, "100", "20", "\"acc\"", NULL);
    unsetenv("ACTORS_ACCOUNT_STORE");
    itest_connect();
    actors_future_t *f = s_call("store/1", "save", "k", 100.0);
    TEST_ASSERT_OK(itest_code(f));
    actors_future_destroy(&f);

    char filler[160];
    snprintf(filler, sizeof filler, "%s/filler", fs);
    ck_assert_uint_gt(testfs_fill(filler), 0);
    f = s_call("store/1", "save", "k", 200.0);
    itest_assert_error(f, ACTORS_ENOSPACE, "DiskFull", "save");
    actors_future_destroy(&f);
    ck_assert_double_eq(s_restore_balance("store/1", "k"), 100.0);
    f = itest_call("account/s", "deposit", "d", 1.0);
    itest_assert_error(f, ACTORS_EAPP, "PersistenceError", "DiskFull");
    actors_future_destroy(&f);
    ck_assert(testutil_proc_wait(acc, 10000, NULL));
    ck_assert_int_eq(testutil_proc_exit_code(acc), 1);

    ck_assert_int_eq(unlink(filler), 0);
    f = s_call("store/1", "save", "k", 200.0);
    TEST_ASSERT_OK(itest_code(f));
    actors_future_destroy(&f);
    ck_assert_double_eq(s_restore_balance("store/1", "k"), 200.0);
    ck_assert_double_eq(s_restore_balance("store/1", "acc"), 100.0);
}
END_TEST

/* A pool of stores behind one group address (ACTORS_ACCOUNT_STORE is the
 * group): every save of the key goes to one member (its routing key), the
 * state survives kill -9 of the account, and of the member that saved it. */
START_TEST(test_store_account_persists_through_a_group)
{
    testutil_broker_start(NULL);
    testutil_proc_t *m[3];
    for (int i = 0; i < 3; i++) {
        m[i] = testutil_service_spawn(
            0, "store", "store/pool", 0, "--group", NULL);
    }
    itest_connect();
    int64_t deadline = testutil_now_ms() + ITEST_WAIT_MS;
    const msgpack_object *members = NULL;
    actors_future_t *look = NULL;
    while (testutil_now_ms() < deadline) {
        actors_future_destroy(&look);
        TEST_ASSERT_OK(actors_client_lookup(g_client, "store/pool", &look));
        TEST_ASSERT_OK(actors_future_wait(look, ITEST_WAIT_MS));
        members = actors_future_error(look) == NULL
                      ? actors_map_get(actors_future_result(look), "members")
                      : NULL;
        if (members != NULL && members->via.array.size == 3) {
            break;
        }
        testutil_poll_pause_ms(20); /* poll until the deadline */
    }
    ck_assert_msg(members != NULL && members->via.array.size == 3,
        "the three stores never joined store/pool");
    actors_future_destroy(&look);
    setenv("ACTORS_ACCOUNT_STORE", "store/pool", 1);
    testutil_proc_t *acc = testutil_service_start(
        "account", "account/g", 0, "100", "20", "\"7654321\"", NULL);
    actors_future_t *fs[10];
    for (int i = 0; i < 10; i++) {
        fs[i] = itest_send(g_client, "account/g", "deposit", 0, "d", 5.0);
    }
    for (int i = 0; i < 10; i++) {
        TEST_ASSERT_OK(actors_future_wait(fs[i], ITEST_WAIT_MS));
        ck_assert_double_eq(itest_double(fs[i]), 100.0 + 5.0 * (i + 1));
        actors_future_destroy(&fs[i]);
    }
    /* One member took the restore and every save: 1 + 1 + 10 calls. */
    TEST_ASSERT_OK(actors_client_lookup(g_client, "store/pool", &look));
    TEST_ASSERT_OK(actors_future_wait(look, ITEST_WAIT_MS));
    members = actors_map_get(actors_future_result(look), "members");
    int busy = 0;
    int64_t saver = 0;
    for (uint32_t i = 0; i < members->via.array.size; i++) {
        int64_t handled = 0;
        int64_t pid = 0;
        const msgpack_object *mm = &members->via.array.ptr[i];
        TEST_ASSERT_OK(
            actors_value_int(actors_map_get(mm, "handled"), &handled));
        TEST_ASSERT_OK(actors_value_int(actors_map_get(mm, "pid"), &pid));
        if (handled > 0) {
            busy++;
            saver = pid;
            ck_assert_int_eq(handled, 12);
        }
    }
    actors_future_destroy(&look);
    ck_assert_int_eq(busy, 1);
    testutil_proc_kill(acc, SIGKILL);
    ck_assert(testutil_proc_wait(acc, 10000, NULL));
    for (int i = 0; i < 3; i++) {
        if (m[i]->pid == (pid_t)saver) {
            testutil_proc_kill(m[i], SIGKILL);
        }
    }
    /* The broker has seen the member go: two are left. */
    deadline = testutil_now_ms() + ITEST_WAIT_MS;
    uint32_t left = 3;
    while (left != 2 && testutil_now_ms() < deadline) {
        TEST_ASSERT_OK(actors_client_lookup(g_client, "store/pool", &look));
        TEST_ASSERT_OK(actors_future_wait(look, ITEST_WAIT_MS));
        left = actors_map_get(actors_future_result(look), "members")
                   ->via.array.size;
        actors_future_destroy(&look);
        if (left != 2) {
            testutil_poll_pause_ms(20); /* poll until the deadline */
        }
    }
    ck_assert_uint_eq(left, 2);
    testutil_service_start(
        "account", "account/g", 0, "5", "1", "\"7654321\"", NULL);
    actors_future_t *f = itest_call("account/g", "balance", NULL);
    ck_assert_double_eq(itest_double(f), 150.0);
    actors_future_destroy(&f);
    unsetenv("ACTORS_ACCOUNT_STORE");
}
END_TEST

static Suite *
store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = itest_tcase("pool", 60);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_store_pool_exists_save_restore);
    tcase_add_test(tc, test_store_account_persists_through_the_pool);
    tcase_add_test(tc, test_store_account_persists_through_a_group);
    tcase_add_test(tc, test_store_save_on_full_disk);
    tcase_add_test(tc, test_store_locked_key_is_key_locked);
    tcase_add_test(tc, test_store_bare_state_is_loaded);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(store_suite());
}
