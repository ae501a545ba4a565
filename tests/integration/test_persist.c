/* tests/integration/test_persist.c - the persistent account end to end:
 * the real broker and account processes, kill -9, restart, and a bounded
 * crash-consistency loop, on the file backend and on Redis.
 * SPDX-License-Identifier: MIT
 *
 * The state directory is a mkdtemp() directory given to the account
 * through ACTORS_STATE_DIR (children inherit the environment); Redis runs
 * as the test's own redis-server on a unix socket (no TCP port) with
 * appendfsync always. The test restarts the account itself (no
 * supervisor): after SIGKILL the broker keeps the address as a tombstone
 * until the new process registers it again.
 *
 * Crash consistency: deposits of 1 are pipelined (16 in flight), each
 * with its own call key, and the account is SIGKILLed after a random
 * number of acknowledgments, so the kill lands anywhere in the handling of
 * a call (before, during or after its journal write). After the restart
 * the balance must include every acknowledged deposit (>= the largest
 * acknowledged balance) and no deposit twice (<= the balance before the
 * round plus the deposits sent). Then every deposit that failed is sent
 * again with the same key, as a client that does not know whether it ran
 * would: afterwards the balance is exactly the balance before the round
 * plus the deposits sent, each applied once.
 *
 * The same under a supervisor with max_task_retries = -1: the broker
 * re-delivers the call in flight at each kill to the restarted account
 * with its key, so no caller sees an error and the balance is exactly the
 * number of deposits.
 *
 * Exactly-once holds for every style and backend of actors/durable.h:
 * the kill loop and the keyed-retry check (s_keyed_retry) run against the
 * event-sourced account and the snapshot-style file_account
 * (examples/persistence), on files, on Redis and through a pool of store
 * actors (s_store_pool); s_answer_lost loses the answer of a durable
 * change exactly (through a stopped store).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "itest.h"
#include "suptest.h"

#include "../testfs.h"

#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_ADDR "account/p"
#define S_WINDOW 16  /* deposits in flight */
#define S_KEY_LEN 32 /* room for a call key */

static char s_dir[64];
static pid_t s_loop_pid; /* the kill loop's current account, or 0 */
/* The program under test: "account" (event sourcing) or "file_account"
 * (snapshot style, examples/persistence). */
static const char *s_prog = "account";

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
    snprintf(s_dir, sizeof s_dir, "/tmp/actors-itest-persist-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    char state[128];
    snprintf(state, sizeof state, "%s/state", s_dir);
    setenv("ACTORS_STATE_DIR", state, 1);
    unsetenv("ACTORS_REDIS");
    unsetenv("ACTORS_PERSIST_SYNC");
    unsetenv("ACTORS_SNAPSHOT_EVERY");
    unsetenv("ACTORS_PERSIST_STORE");
    unsetenv("ACTORS_ACCOUNT_STORE");
    s_prog = "account";
    /* suptest_node writes its config files here too. */
    snprintf(g_supdir, sizeof g_supdir, "%s", s_dir);
    g_supfiles = 0;
}

static void
s_teardown(void)
{
    if (s_loop_pid > 0) {
        kill(s_loop_pid, SIGKILL);
        waitpid(s_loop_pid, NULL, 0);
        s_loop_pid = 0;
    }
    testutil_stop_all();
    testfs_unmount();
    nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* s_store_pool starts store/1..3 (the broker must be up) on a directory
 * of their own and sends the accounts' state through them
 * (ACTORS_PERSIST_STORE=store:3). */
static void
s_store_pool(void)
{
    char pool[128];
    char state[128];
    snprintf(pool, sizeof pool, "%s/pool", s_dir);
    snprintf(state, sizeof state, "%s", getenv("ACTORS_STATE_DIR"));
    setenv("ACTORS_STATE_DIR", pool, 1);
    testutil_service_start("store", "store/1", 0, NULL);
    testutil_service_start("store", "store/2", 0, NULL);
    testutil_service_start("store", "store/3", 0, NULL);
    setenv("ACTORS_STATE_DIR", state, 1);
    setenv("ACTORS_PERSIST_STORE", "store:3", 1);
}

static testutil_proc_t *
s_account(const char *balance, const char *minimal, const char *key)
{
    return testutil_service_start(
        s_prog, S_ADDR, 0, balance, minimal, key, NULL);
}

static double
s_balance(void)
{
    actors_future_t *f = itest_call(S_ADDR, "balance", NULL);
    double b = itest_double(f);
    actors_future_destroy(&f);
    return b;
}

static void
s_kill9(testutil_proc_t *p)
{
    testutil_proc_kill(p, SIGKILL);
    ck_assert(testutil_proc_wait(p, 10000, NULL));
}

/* The seed's session: the state saved under the key comes back after
 * kill -9, and the balance arguments of the new process are ignored. */
static void
s_survives_kill9(void)
{
    testutil_broker_start(NULL);
    testutil_proc_t *p = s_account("100", "20", "\"1234567\"");
    itest_connect();
    ck_assert_double_eq(s_balance(), 100.0);
    actors_future_t *f = itest_call(S_ADDR, "withdraw", "d", 40.0);
    ck_assert_double_eq(itest_double(f), 60.0);
    actors_future_destroy(&f);
    f = itest_call(S_ADDR, "deposit", "d", 70.0);
    ck_assert_double_eq(itest_double(f), 130.0);
    actors_future_destroy(&f);
    /* A refused withdrawal is not journaled. */
    f = itest_call(S_ADDR, "withdraw", "d", 1000.0);
    itest_assert_error(f, ACTORS_EAPP, "ValueError",
        "Withdraw is not supported by current balance");
    actors_future_destroy(&f);
    s_kill9(p);

    p = s_account("5", "1", "\"1234567\"");
    ck_assert_double_eq(s_balance(), 130.0);
    /* The minimal balance came back too. */
    f = itest_call(S_ADDR, "withdraw", "d", 111.0);
    itest_assert_error(f, ACTORS_EAPP, "ValueError",
        "Withdraw is not supported by current balance");
    actors_future_destroy(&f);
    f = itest_call(S_ADDR, "withdraw", "d", 110.0);
    ck_assert_double_eq(itest_double(f), 20.0);
    actors_future_destroy(&f);
    s_kill9(p);
    s_account("100", "20", "\"1234567\"");
    ck_assert_double_eq(s_balance(), 20.0);
}

START_TEST(test_persist_account_survives_kill9)
{
    s_survives_kill9();
}
END_TEST

START_TEST(test_persist_account_survives_kill9_redis)
{
    if (testutil_redis_start(s_dir)) {
        s_survives_kill9();
        /* Nothing went to the file system. */
        char state[128];
        snprintf(state, sizeof state, "%s/state", s_dir);
        ck_assert_int_ne(access(state, F_OK), 0);
    }
}
END_TEST

/* Without a key the account is in memory, as before. */
START_TEST(test_persist_account_without_key_is_in_memory)
{
    testutil_broker_start(NULL);
    testutil_proc_t *p =
        testutil_service_start("account", S_ADDR, 0, "100", "20", NULL);
    itest_connect();
    actors_future_t *f = itest_call(S_ADDR, "deposit", "d", 1.0);
    ck_assert_double_eq(itest_double(f), 101.0);
    actors_future_destroy(&f);
    s_kill9(p);
    testutil_service_start("account", S_ADDR, 0, "100", "20", NULL);
    ck_assert_double_eq(s_balance(), 100.0);
    char state[128];
    snprintf(state, sizeof state, "%s/state", s_dir);
    ck_assert_int_ne(access(state, F_OK), 0);
    /* A key that is not a string: WrongArguments, exit 2. */
    const char *argv[] = {"account", "--broker", testutil_endpoint(),
        "--address", "account/bad", "100", "20", "7", NULL};
    char err[512];
    ck_assert_int_eq(testutil_run(argv, 10000, NULL, 0, err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "WrongArguments"));
}
END_TEST

/* One key, one writer: a second account on a key a live one holds exits
 * ACTORS_EXIT_KEY_LOCKED with KeyLocked naming the key (not NameTaken:
 * its address was free) and touches nothing; once the holder is gone
 * (SIGKILL drops its lock; on Redis its lease lapses) the key opens again
 * with the state it left. redis: the log line names the lease's key, and
 * the holder stays idle past the lease's TTL while the twin waits (its
 * loop renews the lease). */
static void
s_key_has_one_writer(bool redis)
{
    testutil_broker_start(NULL);
    testutil_proc_t *p = s_account("100", "20", "\"shared\"");
    itest_connect();
    actors_future_t *f = itest_call(S_ADDR, "deposit", "d", 5.0);
    ck_assert_double_eq(itest_double(f), 105.0);
    actors_future_destroy(&f);
    const char *argv[] = {"account", "--broker", testutil_endpoint(),
        "--address", "account/twin", "100", "20", "\"shared\"", NULL};
    char err[1024];
    ck_assert_int_eq(testutil_run(argv, 10000, NULL, 0, err, sizeof err),
        ACTORS_EXIT_KEY_LOCKED);
    ck_assert_msg(strstr(err, "KeyLocked: ") != NULL &&
                      strstr(err, "account key 'shared'") != NULL &&
                      strstr(err, "another live process") != NULL &&
                      strstr(err, "NameTaken") == NULL,
        "stderr: %s", err);
    /* The log line names the directory that is locked (the lease). */
    ck_assert_msg(strstr(err, "PST-LOCKED") != NULL &&
                      strstr(err, redis ? "actors:shared:lock"
                                        : "/state/shared'") != NULL,
        "stderr: %s", err);
    ck_assert_double_eq(s_balance(), 105.0);
    s_kill9(p);
    const char *again[] = {"account", "--broker", testutil_endpoint(),
        "--address", "account/twin", "0", "0", "\"shared\"", NULL};
    testutil_proc_t *q = testutil_spawn(again, 0);
    ck_assert_ptr_nonnull(q);
    ck_assert(testutil_wait_state("account/twin", "running", q->pid, 10000));
    f = itest_call("account/twin", "balance", NULL);
    ck_assert_double_eq(itest_double(f), 105.0);
    actors_future_destroy(&f);
}

START_TEST(test_persist_key_has_one_writer)
{
    s_key_has_one_writer(false);
}
END_TEST

START_TEST(test_persist_key_has_one_writer_redis)
{
    if (testutil_redis_start(s_dir)) {
        s_key_has_one_writer(true);
    }
}
END_TEST

/* s_deposit_wait sends deposit(1) with call key n of run and waits for
 * the answer (its future is the caller's). */
static actors_future_t *s_deposit(const char *address, unsigned run, int n);

static actors_future_t *
s_deposit_wait(unsigned run, int n)
{
    actors_future_t *f = s_deposit(S_ADDR, run, n);
    ck_assert_int_eq(actors_future_wait(f, ITEST_WAIT_MS), ACTORS_OK);
    return f;
}

/* A full disk (a small tmpfs, filled): the deposit whose journal record
 * does not fit is answered DiskFull and not applied, the account goes on
 * serving, and once space is freed the same call (same key) is applied
 * once; after kill -9 the balance holds exactly the acknowledged
 * deposits. An account that cannot store its first state exits 2 with
 * DiskFull. */
static void
s_disk_full(const char *sync)
{
    char fs[128];
    snprintf(fs, sizeof fs, "%s/fs", s_dir);
    if (!testfs_tmpfs(fs, 256 * 1024)) { /* before any thread starts */
        return;
    }
    char state[160];
    snprintf(state, sizeof state, "%s/state", fs);
    setenv("ACTORS_STATE_DIR", state, 1);
    setenv("ACTORS_PERSIST_SYNC", sync, 1);
    testutil_broker_start(NULL);
    testutil_proc_t *p = s_account("100", "20", "\"full\"");
    itest_connect();
    unsigned run = (unsigned)testutil_now_ms();
    actors_future_t *f = s_deposit_wait(run, 0);
    ck_assert_double_eq(itest_double(f), 101.0);
    actors_future_destroy(&f);

    char filler[160];
    snprintf(filler, sizeof filler, "%s/filler", fs);
    ck_assert_uint_gt(testfs_fill(filler), 0);
    /* The journal's last page may take a few more records (each < 64
     * bytes of a 4 KiB page): deposit until one is refused. */
    int n = 1;
    for (;; n++) {
        ck_assert_int_lt(n, 4096 / 16);
        f = s_deposit_wait(run, n);
        if (itest_code(f) != ACTORS_OK) {
            break;
        }
        ck_assert_double_eq(itest_double(f), 101.0 + n);
        actors_future_destroy(&f);
    }
    itest_assert_error(f, ACTORS_ENOSPACE, "DiskFull", "deposit");
    actors_future_destroy(&f);
    ck_assert_double_eq(s_balance(), 100.0 + n); /* not applied */
    f = itest_call(S_ADDR, "withdraw", "d", 1.0);
    itest_assert_error(f, ACTORS_ENOSPACE, "DiskFull", NULL);
    actors_future_destroy(&f);

    /* No room for a new key's first state either: exit 2, DiskFull. */
    const char *argv[] = {"account", "--broker", testutil_endpoint(),
        "--address", "account/new", "100", "20", "\"new\"", NULL};
    char err[1024];
    ck_assert_int_eq(testutil_run(argv, 10000, NULL, 0, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "DiskFull") != NULL, "stderr: %s", err);

    /* Space again: the refused call, sent again, is applied once. */
    ck_assert_int_eq(unlink(filler), 0);
    f = s_deposit_wait(run, n);
    ck_assert_double_eq(itest_double(f), 101.0 + n);
    actors_future_destroy(&f);
    f = s_deposit_wait(run, n); /* a re-send: answered from the journal */
    ck_assert_double_eq(itest_double(f), 101.0 + n);
    actors_future_destroy(&f);
    s_kill9(p);
    s_account("0", "0", "\"full\"");
    ck_assert_double_eq(s_balance(), 101.0 + n);
}

START_TEST(test_persist_account_disk_full)
{
    s_disk_full("always");
}
END_TEST

START_TEST(test_persist_account_disk_full_group)
{
    s_disk_full("group:2");
}
END_TEST

/* Two config actors of one node with one key (a configuration mistake):
 * whichever opens the key second exits ACTORS_EXIT_KEY_LOCKED, and its
 * supervisor leaves it stopped with a KeyLocked cause (logged as
 * SUP-KEY-LOCKED) rather than restart it into the same lock; the other
 * serves the key. */
START_TEST(test_persist_supervised_key_locked_is_not_restarted)
{
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *node =
        suptest_node("n1", "supervisor\n"
                           "    node = n1\n"
                           "actor\n"
                           "    a\n"
                           "        service = account\n"
                           "        address = account/a\n"
                           "        args = '[100, 20, \"twin\"]'\n"
                           "        policy\n"
                           "            max_restarts = -1\n"
                           "            backoff_base_ms = 1\n"
                           "    b\n"
                           "        service = account\n"
                           "        address = account/b\n"
                           "        args = '[100, 20, \"twin\"]'\n"
                           "        policy\n"
                           "            max_restarts = -1\n"
                           "            backoff_base_ms = 1\n");
    const char *winner = NULL;
    const char *loser = NULL;
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    while (winner == NULL) {
        char a[32];
        char b[32];
        suptest_field("account/a", "state", a, sizeof a);
        suptest_field("account/b", "state", b, sizeof b);
        if (strcmp(a, "running") == 0 && strcmp(b, "stopped") == 0) {
            winner = "account/a";
            loser = "account/b";
        } else if (strcmp(b, "running") == 0 && strcmp(a, "stopped") == 0) {
            winner = "account/b";
            loser = "account/a";
        } else {
            ck_assert_msg(testutil_now_ms() < deadline,
                "want one running, one stopped: a '%s', b '%s'; %s", a, b,
                testutil_proc_stderr(node));
            testutil_poll_pause_ms(10);
        }
    }
    char cause[256];
    suptest_field(loser, "cause", cause, sizeof cause);
    ck_assert_msg(strstr(cause, "KeyLocked") != NULL, "cause '%s'", cause);
    const char *log = testutil_proc_stderr(node);
    ck_assert_msg(strstr(log, "SUP-KEY-LOCKED") != NULL &&
                      strstr(log, "SUP-RESTART") == NULL &&
                      strstr(log, "SUP-MOVED") == NULL,
        "supervisor: %s", log);
    actors_future_t *f = itest_call(winner, "deposit", "d", 5.0);
    ck_assert_double_eq(itest_double(f), 105.0);
    actors_future_destroy(&f);
}
END_TEST

/* s_loop_start starts the loop's account by hand (the testutil registry
 * holds 32 processes; the loop starts hundreds) and waits until the broker
 * lists it as running. */
static pid_t
s_loop_start(void)
{
    char bin[600];
    snprintf(bin, sizeof bin, "%s/%s", testutil_bin_dir(), s_prog);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(bin, s_prog, "--broker", testutil_endpoint(), "--address", S_ADDR,
            "0", "0", "\"loop\"", (char *)NULL);
        _exit(127);
    }
    s_loop_pid = pid;
    ck_assert_msg(testutil_wait_state(S_ADDR, "running", pid, 10000),
        "account (pid %d) did not register", (int)pid);
    return pid;
}

static void
s_loop_kill9(pid_t pid)
{
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    s_loop_pid = 0;
}

/* s_deposit sends deposit(1) to address with call key number n of the
 * run (the key names the logical deposit; a re-send reuses it). */
static actors_future_t *
s_deposit(const char *address, unsigned run, int n)
{
    char key[S_KEY_LEN];
    int len = snprintf(key, sizeof key, "dep-%08x-%d", run, n);
    actors_msg_t *args = NULL;
    TEST_ASSERT_OK(actors_msg_build(&args, "i", 1));
    actors_call_opts_t opts = ACTORS_CALL_OPTS_INIT;
    opts.key = key;
    opts.key_len = (size_t)len;
    actors_future_t *f = NULL;
    TEST_ASSERT_OK(
        actors_client_call(g_client, address, "deposit", &args, &opts, &f));
    actors_msg_destroy(&args);
    return f;
}

/* One round of the kill loop: deposits numbered from *next on; returns
 * the deposits sent. *max_acked gets the largest acknowledged balance (or
 * stays); the numbers of the deposits that failed go to failed[] (room
 * for every deposit sent), their count to *n_failed. */
static int
s_round(pid_t pid, int kill_after, unsigned run, int *next, double *max_acked,
    int *acked, int *failed, int *n_failed)
{
    actors_future_t *f[S_WINDOW] = {NULL};
    int num[S_WINDOW] = {0};
    int sent = 0;
    int head = 0;
    int n_acked = 0;
    bool killed = false;
    for (int i = 0; i < S_WINDOW; i++) {
        num[i] = (*next)++;
        f[i] = s_deposit(S_ADDR, run, num[i]);
        sent++;
    }
    if (kill_after == 0) {
        kill(pid, SIGKILL);
        killed = true;
    }
    /* Wait for the oldest, refill, until the kill; then drain. */
    for (int live = S_WINDOW; live > 0;) {
        actors_future_t **fp = &f[head];
        ck_assert_int_eq(actors_future_wait(*fp, ITEST_WAIT_MS), ACTORS_OK);
        if (itest_code(*fp) == ACTORS_OK) {
            double b = itest_double(*fp);
            *max_acked = fmax(*max_acked, b);
            n_acked++;
        } else {
            actors_err code = itest_code(*fp);
            ck_assert_msg(
                killed && (code == ACTORS_ECRASHED || code == ACTORS_EDEAD),
                "deposit failed: %s", itest_describe(*fp));
            failed[(*n_failed)++] = num[head];
        }
        actors_future_destroy(fp);
        live--;
        if (!killed && n_acked >= kill_after) {
            kill(pid, SIGKILL);
            killed = true;
        }
        if (!killed) {
            num[head] = (*next)++;
            *fp = s_deposit(S_ADDR, run, num[head]);
            sent++;
            live++;
        }
        head = (head + 1) % S_WINDOW;
    }
    s_loop_kill9(pid);
    *acked += n_acked;
    return sent;
}

/* The kill loop against s_prog; store: through s_store_pool. */
static void
s_kill_loop(int rounds, int64_t budget_ms, bool store)
{
    unsigned seed = (unsigned)getpid() ^ (unsigned)testutil_now_ms();
    srand(seed);
    fprintf(stderr, "kill loop (%s%s): seed %u\n", s_prog,
        store ? ", store pool" : "", seed);
    testutil_broker_start(NULL);
    if (store) {
        s_store_pool();
    }
    itest_connect();
    int64_t end = testutil_now_ms() + budget_ms;
    double before = 0;
    int acked = 0;
    int resent = 0;
    int next = 0;
    int r = 0;
    for (; r < rounds && (r < 3 || testutil_now_ms() < end); r++) {
        /* Alternate the durability policies; snapshot often. */
        setenv("ACTORS_PERSIST_SYNC", r % 2 ? "group:2" : "always", 1);
        setenv("ACTORS_SNAPSHOT_EVERY", "25", 1);
        pid_t pid = s_loop_start();
        double now = s_balance();
        ck_assert_double_ge(now, 0);
        if (r > 0) {
            /* Every acknowledged deposit is there... */
            ck_assert_msg(
                now >= before, "round %d: balance %.0f < %.0f", r, now, before);
        }
        before = now;
        double max_acked = now;
        int kill_after = rand() % 60;
        int failed[S_WINDOW + 64];
        int n_failed = 0;
        int sent = s_round(pid, kill_after, seed, &next, &max_acked, &acked,
            failed, &n_failed);
        pid_t q = s_loop_start();
        double after = s_balance();
        ck_assert_msg(after >= max_acked,
            "round %d: acknowledged balance %.0f lost (recovered %.0f)", r,
            max_acked, after);
        /* ...and none twice. */
        ck_assert_msg(after <= now + sent,
            "round %d: %.0f + %d sent, recovered %.0f", r, now, sent, after);
        ck_assert_double_eq(after, floor(after));
        /* Whether a failed deposit ran or not, sending it again with its
         * key makes it count exactly once. */
        for (int i = 0; i < n_failed; i++) {
            actors_future_t *f = s_deposit(S_ADDR, seed, failed[i]);
            ck_assert_int_eq(actors_future_wait(f, ITEST_WAIT_MS), ACTORS_OK);
            ck_assert_msg(itest_code(f) == ACTORS_OK, "re-send failed: %s",
                itest_describe(f));
            actors_future_destroy(&f);
        }
        resent += n_failed;
        after = s_balance();
        ck_assert_msg(after == now + sent,
            "round %d: %.0f + %d deposits (%d re-sent) gave %.0f", r, now, sent,
            n_failed, after);
        before = after;
        s_loop_kill9(q);
    }
    fprintf(stderr,
        "kill loop: %d rounds, %d acknowledged deposits, %d re-sent by key\n",
        r, acked, resent);
}

/* The supervised loop: account/s under a supervisor that restarts it at
 * once, the broker re-delivering the calls in flight at each SIGKILL.
 * keyed: the deposits carry the client's keys; otherwise none, and the
 * broker's own keys must make the re-deliveries recognisable. */
static void
s_supervised_loop(const char *sync, bool keyed, int64_t budget_ms)
{
    unsigned run = (unsigned)getpid() ^ (unsigned)testutil_now_ms();
    srand(run);
    fprintf(stderr, "supervised kill loop: seed %u, sync %s\n", run, sync);
    setenv("ACTORS_PERSIST_SYNC", sync, 1);
    setenv("ACTORS_SNAPSHOT_EVERY", "25", 1);
    testutil_broker_start(NULL);
    itest_connect();
    char config[1024];
    snprintf(config, sizeof config,
        "supervisor\n"
        "    node = n1\n"
        "actor\n"
        "    account\n"
        "        service = %s\n"
        "        address = account/s\n"
        "        args = '[0, 0, \"supervised\"]'\n"
        "        policy\n"
        "            max_restarts = -1\n"
        "            max_task_retries = -1\n"
        "            backoff_base_ms = 1\n"
        "            backoff_max_ms = 20\n",
        s_prog);
    suptest_node("n1", config);
    int64_t pid = suptest_wait_running("account/s", 0);
    int64_t end = testutil_now_ms() + budget_ms;
    int next = 0;
    int kills = 0;
    for (int r = 0; r < 3 || testutil_now_ms() < end; r++) {
        actors_future_t *f[S_WINDOW] = {NULL};
        for (int i = 0; i < S_WINDOW; i++) {
            f[i] =
                keyed ? s_deposit("account/s", run, next)
                      : itest_send(g_client, "account/s", "deposit", 0, "i", 1);
            next++;
        }
        int kill_at = rand() % S_WINDOW;
        for (int i = 0; i < S_WINDOW; i++) {
            if (i == kill_at) {
                kill((pid_t)pid, SIGKILL);
                kills++;
            }
            ck_assert_int_eq(
                actors_future_wait(f[i], ITEST_WAIT_MS), ACTORS_OK);
            /* Re-delivered, never failed. */
            ck_assert_msg(itest_code(f[i]) == ACTORS_OK, "deposit %d: %s",
                next - S_WINDOW + i, itest_describe(f[i]));
            actors_future_destroy(&f[i]);
        }
        pid = suptest_wait_running("account/s", pid);
    }
    actors_future_t *f = itest_call("account/s", "balance", NULL);
    double b = itest_double(f);
    actors_future_destroy(&f);
    fprintf(
        stderr, "supervised kill loop: %d deposits, %d kills\n", next, kills);
    ck_assert_msg(b == (double)next, "%d deposits, balance %.0f", next, b);
}

START_TEST(test_persist_supervised_retries_apply_each_call_once)
{
    s_supervised_loop("always", true, 6000);
}
END_TEST

START_TEST(test_persist_supervised_retries_apply_each_call_once_group)
{
    s_supervised_loop("group:2", true, 6000);
}
END_TEST

/* No key from the caller: the broker keys the calls it may re-deliver. */
START_TEST(test_persist_supervised_retries_without_client_keys)
{
    s_supervised_loop("always", false, 6000);
}
END_TEST

/* The same for the snapshot style: the broker's keys are saved with the
 * state. */
START_TEST(test_persist_supervised_retries_without_client_keys_snapshot)
{
    s_prog = "file_account";
    s_supervised_loop("always", false, 6000);
}
END_TEST

START_TEST(test_persist_kill_loop_keeps_acknowledged_deposits)
{
    s_kill_loop(150, 25000, false);
}
END_TEST

START_TEST(test_persist_kill_loop_keeps_acknowledged_deposits_redis)
{
    if (testutil_redis_start(s_dir)) {
        s_kill_loop(60, 15000, false);
    }
}
END_TEST

/* The same loop for the combinations a call key did not cover before:
 * snapshot style (files, Redis), and both styles through the store. */
START_TEST(test_persist_kill_loop_snapshot_style)
{
    s_prog = "file_account";
    s_kill_loop(40, 8000, false);
}
END_TEST

START_TEST(test_persist_kill_loop_snapshot_style_redis)
{
    s_prog = "file_account";
    if (testutil_redis_start(s_dir)) {
        s_kill_loop(30, 6000, false);
    }
}
END_TEST

START_TEST(test_persist_kill_loop_store_pool)
{
    s_kill_loop(30, 6000, true);
}
END_TEST

START_TEST(test_persist_kill_loop_snapshot_style_store_pool)
{
    s_prog = "file_account";
    s_kill_loop(30, 6000, true);
}
END_TEST

/* s_keyed_retry: a keyed deposit is applied and durable, the account is
 * SIGKILLed before the caller has used the answer, and the call sent
 * again with the same key (to the restarted process, and after one more
 * restart, so the key outlives more than the process that applied it)
 * is answered the first result and applied once; another key applies
 * again. Under always and group:2. */
static void
s_keyed_retry(bool store)
{
    testutil_broker_start(NULL);
    if (store) {
        s_store_pool();
    }
    itest_connect();
    const char *sync[] = {"always", "group:2"};
    for (int i = 0; i < 2; i++) {
        setenv("ACTORS_PERSIST_SYNC", sync[i], 1);
        char key[32];
        snprintf(key, sizeof key, "\"retry-%d\"", i);
        testutil_proc_t *p = s_account("100", "0", key);
        unsigned run = 0x5eed0000u + (unsigned)i;
        actors_future_t *f = s_deposit_wait(run, 1);
        ck_assert_double_eq(itest_double(f), 101.0);
        actors_future_destroy(&f);
        s_kill9(p);
        for (int restart = 0; restart < 2; restart++) {
            p = s_account("0", "0", key);
            f = s_deposit_wait(run, 1); /* the same call again */
            ck_assert_msg(
                itest_code(f) == ACTORS_OK && itest_double(f) == 101.0,
                "%s %s: re-sent key: %s", s_prog, sync[i], itest_describe(f));
            actors_future_destroy(&f);
            ck_assert_double_eq(s_balance(), 101.0);
            s_kill9(p);
        }
        p = s_account("0", "0", key);
        f = s_deposit_wait(run, 2); /* a new call */
        ck_assert_double_eq(itest_double(f), 102.0);
        actors_future_destroy(&f);
        ck_assert_double_eq(s_balance(), 102.0);
        s_kill9(p);
    }
}

/* s_store_busy: store/1 holds a call (in its mailbox or sent to it). */
static bool
s_store_busy(void *arg)
{
    (void)arg;
    char state[32];
    int64_t mailbox = 0;
    int64_t inflight = 0;
    return testutil_lookup_state("store/1", state, sizeof state, NULL, &mailbox,
               &inflight) == ACTORS_OK &&
           mailbox + inflight >= 1;
}

/* Through the store, where it can be arranged exactly: the change is
 * durable and its answer never sent. store/1 is stopped (SIGSTOP) while
 * the account's save of a keyed deposit waits for it; the account is
 * SIGKILLed (the caller gets ActorCrashed), then store/1, resumed, stores
 * the save with the call's key. The restarted account answers the same
 * key with the first result and does not apply it again; a new key
 * applies. (A long heartbeat: the stopped store must not be declared
 * dead.) */
static void
s_answer_lost(void)
{
    testutil_broker_start("--heartbeat", "60000", NULL);
    testutil_proc_t *st = testutil_service_start("store", "store/1", 0, NULL);
    setenv("ACTORS_PERSIST_STORE", "store/1", 1);
    testutil_proc_t *p = s_account("100", "0", "\"lost\"");
    itest_connect();
    ck_assert_int_eq(kill(st->pid, SIGSTOP), 0);
    actors_future_t *f = s_deposit(S_ADDR, 0x1057u, 1);
    ck_assert_msg(testutil_wait_until(s_store_busy, NULL, 10000),
        "the save did not reach store/1");
    s_kill9(p);
    ck_assert_int_eq(actors_future_wait(f, ITEST_WAIT_MS), ACTORS_OK);
    ck_assert_msg(
        itest_code(f) == ACTORS_ECRASHED, "deposit: %s", itest_describe(f));
    actors_future_destroy(&f);
    ck_assert_int_eq(kill(st->pid, SIGCONT), 0);
    /* The store has the change, with its key. */
    f = itest_call("store/1", "restore", "s", "lost");
    const msgpack_object *v = itest_result(f);
    double b = 0;
    TEST_ASSERT_OK(actors_value_double(
        actors_map_get(actors_map_get(v, "state"), "balance"), &b));
    ck_assert_double_eq(b, 101.0);
    const msgpack_object *calls = actors_map_get(v, "calls");
    ck_assert(calls != NULL && calls->type == MSGPACK_OBJECT_ARRAY &&
              calls->via.array.size == 1);
    actors_future_destroy(&f);
    p = s_account("0", "0", "\"lost\"");
    f = s_deposit_wait(0x1057u, 1); /* the same call again */
    ck_assert_msg(itest_code(f) == ACTORS_OK && itest_double(f) == 101.0,
        "%s: re-sent key: %s", s_prog, itest_describe(f));
    actors_future_destroy(&f);
    ck_assert_double_eq(s_balance(), 101.0);
    f = s_deposit_wait(0x1057u, 2); /* a new call */
    ck_assert_double_eq(itest_double(f), 102.0);
    actors_future_destroy(&f);
}

START_TEST(test_persist_store_answer_lost)
{
    s_answer_lost();
}
END_TEST

START_TEST(test_persist_store_answer_lost_snapshot_style)
{
    s_prog = "file_account";
    s_answer_lost();
}
END_TEST

START_TEST(test_persist_keyed_retry_snapshot_style)
{
    s_prog = "file_account";
    s_keyed_retry(false);
}
END_TEST

START_TEST(test_persist_keyed_retry_snapshot_style_redis)
{
    s_prog = "file_account";
    if (testutil_redis_start(s_dir)) {
        s_keyed_retry(false);
    }
}
END_TEST

START_TEST(test_persist_keyed_retry_store_pool)
{
    s_keyed_retry(true);
}
END_TEST

START_TEST(test_persist_keyed_retry_snapshot_style_store_pool)
{
    s_prog = "file_account";
    s_keyed_retry(true);
}
END_TEST

static Suite *
persist_suite(void)
{
    Suite *s = suite_create("persist");
    TCase *tc = itest_tcase("account", 120);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_persist_account_survives_kill9);
    tcase_add_test(tc, test_persist_account_survives_kill9_redis);
    tcase_add_test(tc, test_persist_account_without_key_is_in_memory);
    tcase_add_test(tc, test_persist_key_has_one_writer);
    tcase_add_test(tc, test_persist_key_has_one_writer_redis);
    tcase_add_test(tc, test_persist_supervised_key_locked_is_not_restarted);
    tcase_add_test(tc, test_persist_account_disk_full);
    tcase_add_test(tc, test_persist_account_disk_full_group);
    tcase_add_test(tc, test_persist_kill_loop_keeps_acknowledged_deposits);
    tcase_add_test(
        tc, test_persist_kill_loop_keeps_acknowledged_deposits_redis);
    tcase_add_test(tc, test_persist_kill_loop_snapshot_style);
    tcase_add_test(tc, test_persist_kill_loop_snapshot_style_redis);
    tcase_add_test(tc, test_persist_kill_loop_store_pool);
    tcase_add_test(tc, test_persist_kill_loop_snapshot_style_store_pool);
    tcase_add_test(tc, test_persist_store_answer_lost);
    tcase_add_test(tc, test_persist_store_answer_lost_snapshot_style);
    tcase_add_test(tc, test_persist_keyed_retry_snapshot_style);
    tcase_add_test(tc, test_persist_keyed_retry_snapshot_style_redis);
    tcase_add_test(tc, test_persist_keyed_retry_store_pool);
    tcase_add_test(tc, test_persist_keyed_retry_snapshot_style_store_pool);
    tcase_add_test(tc, test_persist_supervised_retries_apply_each_call_once);
    tcase_add_test(
        tc, test_persist_supervised_retries_apply_each_call_once_group);
    tcase_add_test(tc, test_persist_supervised_retries_without_client_keys);
    tcase_add_test(
        tc, test_persist_supervised_retries_without_client_keys_snapshot);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(persist_suite());
}
