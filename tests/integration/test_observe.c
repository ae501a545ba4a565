/* tests/integration/test_observe.c - watching a running system (issue
 * 14, items 4 and 5): actors' output under a supervisor carries their
 * address and pid (and goes to a file per actor); the broker traces each
 * call at log level debug; broker and node serve Prometheus metrics that
 * the Prometheus project's own parser reads; the dashboard's data.
 * SPDX-License-Identifier: MIT
 *
 * Real processes on loopback. The broker's stderr is inherited from the
 * test, so a test that reads it points the test's own stderr at a file
 * while it starts the broker (s_broker_logged). Metrics listen on port 0
 * (any free one) and the port is read from the log line that names it.
 */
#include "suptest.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>

static char g_brklog[96]; /* the broker's stderr, when captured */

/* s_broker_logged starts a broker with the extra arguments (up to two;
 * NULL-terminated) and its stderr in g_brklog; env is set for it only. */
static void
s_broker_logged(
    const char *env_name, const char *env_value, const char *a1, const char *a2)
{
    snprintf(g_brklog, sizeof g_brklog, "%s/broker.err", g_supdir);
    int fd = open(g_brklog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    int saved = dup(STDERR_FILENO);
    ck_assert_int_ge(saved, 0);
    dup2(fd, STDERR_FILENO);
    if (env_name != NULL) {
        setenv(env_name, env_value, 1);
    }
    testutil_broker_start(a1, a2, NULL);
    if (env_name != NULL) {
        unsetenv(env_name);
    }
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
}

/* s_file reads path into a static buffer ("" if unreadable). */
static const char *
s_file(const char *path)
{
    static char buf[1 << 20];
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return buf;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* s_wait_text waits until the text read by get contains want. */
static void
s_wait_file(const char *path, const char *want)
{
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    while (strstr(s_file(path), want) == NULL) {
        ck_assert_msg(testutil_now_ms() < deadline, "no '%s' in %s: %s", want,
            path, s_file(path));
        testutil_poll_pause_ms(20);
    }
}

static void
s_wait_stderr(testutil_proc_t *p, const char *want)
{
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    while (strstr(testutil_proc_stderr(p), want) == NULL) {
        ck_assert_msg(testutil_now_ms() < deadline, "no '%s' in: %s", want,
            testutil_proc_stderr(p));
        testutil_poll_pause_ms(20);
    }
}

/* s_port reads the port of "http://127.0.0.1:PORT/metrics" in text. */
static int
s_port(const char *text)
{
    const char *p = strstr(text, "http://127.0.0.1:");
    ck_assert_msg(p != NULL, "no metrics url in: %s", text);
    return atoi(p + strlen("http://127.0.0.1:"));
}

static void
s_call_ok(const char *address, const char *method, const char *text)
{
    actors_future_t *f = itest_send(g_client, address, method, 0, "s", text);
    suptest_wait(f);
    itest_result(f);
    actors_future_destroy(&f);
}

/* s_group_start starts n chaos members of the group at address and waits
 * until LOOKUP lists them all. */
static void
s_group_start(const char *address, int n)
{
    for (int i = 0; i < n; i++) {
        testutil_proc_t *p =
            testutil_service_spawn(0, "chaos", address, 0, "--group", NULL);
        ck_assert_ptr_nonnull(p);
    }
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    for (;;) {
        actors_future_t *f = NULL;
        ck_assert_int_eq(
            actors_client_lookup(g_client, address, &f), ACTORS_OK);
        bool ok = actors_future_wait(f, SUPTEST_WAIT_MS) == ACTORS_OK &&
                  actors_future_error(f) == NULL;
        const msgpack_object *m =
            ok ? actors_map_get(actors_future_result(f), "members") : NULL;
        ok = m != NULL && m->type == MSGPACK_OBJECT_ARRAY &&
             (int)m->via.array.size == n;
        actors_future_destroy(&f);
        if (ok) {
            return;
        }
        ck_assert_msg(testutil_now_ms() < deadline,
            "the %d members of %s never joined", n, address);
        testutil_poll_pause_ms(20);
    }
}

/* s_calls_made makes ok calls of echo and failed calls of fail to
 * address. */
static void
s_calls_made(const char *address, int ok, int failed)
{
    for (int i = 0; i < ok; i++) {
        s_call_ok(address, "echo", "x");
    }
    for (int i = 0; i < failed; i++) {
        actors_future_t *f = itest_call(address, "fail", "s", "no");
        itest_assert_error(f, ACTORS_EAPP, "ChaosError", NULL);
        actors_future_destroy(&f);
    }
}

/* s_scrape runs promcheck.py on url and returns its stdout (static). */
static const char *
s_scrape(const char *url)
{
    static char out[1 << 18];
    char err[4096];
    char script[512];
    snprintf(script, sizeof script, "%s/tests/integration/promcheck.py",
        testutil_srcdir());
    const char *argv[] = {"/usr/bin/python3", script, url, NULL};
    int rc = testutil_run(argv, 30000, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "promcheck %s failed (%d): %s", url, rc, err);
    return out;
}

/* Every line an actor writes on stdout or stderr reaches the node's
 * stderr as "ADDRESS[PID]: line", and with ACTORS_LOG_DIR also the
 * actor's own file; the last line before a crash comes before the exit's
 * log line. Before: the lines came out bare, mixed into the node's. */
START_TEST(test_observe_actor_output_prefixed)
{
    static const char *zpl = "actor\n"
                             "    one\n"
                             "        service = chaos\n"
                             "        address = chaos/out1\n"
                             "    two\n"
                             "        service = chaos\n"
                             "        address = chaos/out2\n";
    testutil_broker_start(NULL);
    itest_connect();
    setenv("ACTORS_LOG_DIR", g_supdir, 1);
    testutil_proc_t *n1 = suptest_node("n1", zpl);
    unsetenv("ACTORS_LOG_DIR");
    int64_t p1 = suptest_wait_running("chaos/out1", 0);
    int64_t p2 = suptest_wait_running("chaos/out2", 0);
    s_call_ok("chaos/out1", "print", "hello-one");
    s_call_ok("chaos/out2", "print", "hello-two");
    char want[128];
    snprintf(want, sizeof want, "chaos/out1[%lld]: hello-one\n", (long long)p1);
    s_wait_stderr(n1, want);
    snprintf(want, sizeof want, "chaos/out1[%lld]: stderr: hello-one\n",
        (long long)p1);
    s_wait_stderr(n1, want);
    snprintf(want, sizeof want, "chaos/out2[%lld]: hello-two\n", (long long)p2);
    s_wait_stderr(n1, want);
    /* No line of an actor comes out without its prefix. */
    ck_assert_ptr_null(strstr(testutil_proc_stderr(n1), "\nhello-"));
    ck_assert_ptr_null(strstr(testutil_proc_stderr(n1), "\nstderr: hello"));
    char path[160];
    snprintf(path, sizeof path, "%s/chaos_out1.log", g_supdir);
    snprintf(want, sizeof want, " %lld hello-one\n", (long long)p1);
    s_wait_file(path, want);
    ck_assert_ptr_null(strstr(s_file(path), "hello-two"));
    /* Last words, then the crash: in that order in the node's log. */
    s_call_ok("chaos/out1", "print", "last-words");
    actors_future_t *f = itest_call("chaos/out1", "crash", "i", 9);
    suptest_wait(f);
    actors_future_destroy(&f);
    s_wait_stderr(n1, "SUP-EXIT node=n1 address=chaos/out1");
    const char *log = testutil_proc_stderr(n1);
    const char *words = strstr(log, "]: last-words");
    const char *exitl = strstr(log, "SUP-EXIT node=n1 address=chaos/out1");
    ck_assert_ptr_nonnull(words);
    ck_assert_ptr_nonnull(exitl);
    ck_assert_msg(words < exitl, "the exit was logged before the last words");
    char lp[160];
    snprintf(lp, sizeof lp, "%s/chaos_out2.log", g_supdir);
    unlink(path);
    unlink(lp);
}
END_TEST

/* At log level debug the broker logs one line per call: address, method,
 * outcome and duration. Before: nothing. */
START_TEST(test_observe_broker_traces_calls)
{
    s_broker_logged("ACTORS_LOG_LEVEL", "debug", NULL, NULL);
    itest_connect();
    testutil_service_start("chaos", "chaos/tr", 0, NULL);
    actors_future_t *f = itest_call("chaos/tr", "echo", "i", 1);
    itest_result(f);
    actors_future_destroy(&f);
    f = itest_call("chaos/tr", "fail", "s", "no");
    itest_assert_error(f, ACTORS_EAPP, "ChaosError", NULL);
    actors_future_destroy(&f);
    f = itest_call("chaos/none", "echo", "i", 1);
    itest_assert_error(f, ACTORS_ENOACTOR, "NoSuchActor", NULL);
    actors_future_destroy(&f);
    s_wait_file(
        g_brklog, "BRK-CALL address=chaos/tr method=echo outcome=ok us=");
    s_wait_file(
        g_brklog, "BRK-CALL address=chaos/tr method=fail outcome=error us=");
    s_wait_file(g_brklog,
        "BRK-CALL address=chaos/none method=echo outcome=NoSuchActor us=0");
    unlink(g_brklog);
}
END_TEST

/* Broker and node serve /metrics; the Prometheus client's parser reads
 * both, and the numbers are the ones played: calls by address, method
 * and outcome, a latency histogram per method, mailbox and in flight,
 * nodes; on the node, exits by cause and restarts. */
START_TEST(test_observe_metrics_parsed)
{
    static const char *zpl = "actor\n"
                             "    m\n"
                             "        service = chaos\n"
                             "        address = chaos/m\n"
                             "        policy\n"
                             "            max_restarts = -1\n";
    s_broker_logged(NULL, NULL, "--metrics-port", "0");
    int bport = s_port(s_file(g_brklog));
    itest_connect();
    setenv("ACTORS_METRICS_PORT", "0", 1);
    testutil_proc_t *n1 = suptest_node("n1", zpl);
    unsetenv("ACTORS_METRICS_PORT");
    int nport = s_port(testutil_proc_stderr(n1));
    int64_t pid = suptest_wait_running("chaos/m", 0);
    for (int i = 0; i < 3; i++) {
        actors_future_t *f = itest_call("chaos/m", "echo", "i", i);
        itest_result(f);
        actors_future_destroy(&f);
    }
    actors_future_t *f = itest_call("chaos/m", "fail", "s", "x");
    itest_assert_error(f, ACTORS_EAPP, "ChaosError", NULL);
    actors_future_destroy(&f);
    f = itest_call("chaos/nobody", "echo", "i", 1);
    itest_assert_error(f, ACTORS_ENOACTOR, "NoSuchActor", NULL);
    actors_future_destroy(&f);
    f = itest_call("chaos/m", "crash", "i", 11);
    suptest_wait(f);
    actors_future_destroy(&f);
    suptest_wait_running("chaos/m", pid);
    /* A group: its members' calls count as the group's. */
    s_group_start("grp/m", 2);
    s_calls_made("grp/m", 3, 1);

    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", bport);
    const char *m = s_scrape(url);
    const char *want[] = {
        "actors_calls_total{address=\"chaos/m\",method=\"echo\","
        "outcome=\"ok\"} 3\n",
        "actors_calls_total{address=\"chaos/m\",method=\"fail\","
        "outcome=\"error\"} 1\n",
        "actors_calls_total{address=\"chaos/m\",method=\"crash\","
        "outcome=\"ActorCrashed\"} 1\n",
        "actors_calls_total{address=\"\",method=\"echo\","
        "outcome=\"NoSuchActor\"} 1\n",
        /* Per method: chaos/m's, the unknown address's and grp/m's. */
        "actors_call_duration_seconds_count{method=\"echo\"} 7\n",
        "actors_call_duration_seconds_bucket{le=\"+Inf\",method=\"fail\"} 2\n",
        "actors_mailbox_depth{address=\"chaos/m\"} 0\n",
        "actors_inflight{address=\"chaos/m\"} 0\n",
        "actors_nodes{} 1\n",
        "actors_actor_info{address=\"chaos/m\",node=\"n1\",service=\"chaos\","
        "state=\"running\"} 1\n",
        "actors_undelivered_replies_total{} 0\n",
        "actors_address_call_duration_seconds_count{address=\"chaos/m\"} "
        "5\n",
        "actors_address_call_duration_seconds_bucket{address=\"chaos/m\","
        "le=\"+Inf\"} 5\n",
        "actors_address_call_errors_total{address=\"chaos/m\"} 2\n",
        "actors_calls_total{address=\"grp/m\",method=\"echo\","
        "outcome=\"ok\"} 3\n",
        "actors_calls_total{address=\"grp/m\",method=\"fail\","
        "outcome=\"error\"} 1\n",
        "actors_address_call_duration_seconds_count{address=\"grp/m\"} 4\n",
        "actors_address_call_errors_total{address=\"grp/m\"} 1\n",
        "actors_handled_total{address=\"grp/m\"} 4\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        ck_assert_msg(strstr(m, want[i]) != NULL, "no %s in:\n%s", want[i], m);
    }
    /* One series per address: none for a group's members. */
    const char *once = "actors_inflight{address=\"grp/m\"} ";
    const char *at = strstr(m, once);
    ck_assert_msg(at != NULL && strstr(at + 1, once) == NULL,
        "not one %s in:\n%.2000s", once, m);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", nport);
    m = s_scrape(url);
    const char *nwant[] = {
        "actors_node_exits_total{address=\"chaos/m\",cause=\"signal 11 "
        "(SIGSEGV)\",node=\"n1\"} 1\n",
        "actors_node_actor_restarts{address=\"chaos/m\",node=\"n1\"} 1\n",
        "actors_node_starts_total{address=\"chaos/m\",node=\"n1\"} 2\n",
        "actors_node_broker_connected{node=\"n1\"} 1\n",
    };
    for (size_t i = 0; i < sizeof nwant / sizeof nwant[0]; i++) {
        ck_assert_msg(
            strstr(m, nwant[i]) != NULL, "no %s in:\n%s", nwant[i], m);
    }
    unlink(g_brklog);
}
END_TEST

/* s_ctl runs actorctl against the test's broker with up to four more
 * arguments and returns its stdout (static); the exit status must be 0. */
static const char *
s_ctl(const char *a1, const char *a2, const char *a3, const char *a4)
{
    static char out[1 << 16];
    char err[4096];
    const char *argv[] = {
        "actorctl", "--broker", testutil_endpoint(), a1, a2, a3, a4, NULL};
    int rc = testutil_run(argv, 30000, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "actorctl %s failed (%d): %s", a1, rc, err);
    return out;
}

/* s_line_of returns the line of text that contains needle, copied into
 * buf ("" if none). */
static const char *
s_line_of(const char *text, const char *needle, char *buf, size_t cap)
{
    buf[0] = '\0';
    const char *p = strstr(text, needle);
    if (p == NULL) {
        return buf;
    }
    const char *start = p;
    while (start > text && start[-1] != '\n') {
        start--;
    }
    const char *end = strchr(p, '\n');
    size_t n = end ? (size_t)(end - start) : strlen(start);
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(buf, start, n);
    buf[n] = '\0';
    return buf;
}

/* ls hides the addresses that no longer run unless --all, and shows the
 * node an address last ran on even after another node took that node's
 * place; events have a time, node-lost and re-placed kinds, and actors
 * started by hand; top shows the actors live. Before: ls listed every
 * dead address, a tombstone showed the node that came next, events had
 * no time and none of those kinds. */
START_TEST(test_observe_ls_events_top)
{
    static const char *zpl = "actor\n"
                             "    keep\n"
                             "        service = chaos\n"
                             "        address = chaos/keep\n"
                             "        policy\n"
                             "            max_restarts = -1\n"
                             "    gone\n"
                             "        service = chaos\n"
                             "        address = chaos/gone\n";
    testutil_broker_start(NULL);
    itest_connect();
    testutil_proc_t *n1 = suptest_node("n1", zpl);
    suptest_node("n2", NULL);
    int64_t keep = suptest_wait_running("chaos/keep", 0);
    suptest_wait_running("chaos/gone", 0);
    testutil_service_start("chaos", "chaos/hand", 0, NULL);
    actors_future_t *f = itest_call("chaos/gone", "crash", "i", 9);
    suptest_wait(f);
    actors_future_destroy(&f);
    suptest_wait_state("chaos/gone", "dead");

    const char *ls = s_ctl("ls", NULL, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(ls, "chaos/keep"));
    ck_assert_ptr_nonnull(strstr(ls, "chaos/hand"));
    ck_assert_msg(
        strstr(ls, "chaos/gone") == NULL, "ls lists the dead: %s", ls);
    ls = s_ctl("ls", "--json", NULL, NULL);
    ck_assert_ptr_null(strstr(ls, "chaos/gone"));
    ls = s_ctl("ls", "--all", NULL, NULL);
    char line[512];
    s_line_of(ls, "chaos/gone", line, sizeof line);
    ck_assert_msg(
        strstr(line, " n1 ") && strstr(line, "dead"), "ls --all: %s", ls);

    /* n1 is lost; n3 comes and takes its place in the broker's table. */
    testutil_proc_kill(n1, SIGKILL);
    suptest_wait_running("chaos/keep", keep);
    suptest_node("n3", NULL);
    ls = s_ctl("ls", "--all", NULL, NULL);
    s_line_of(ls, "chaos/gone", line, sizeof line);
    ck_assert_msg(strstr(line, " n1 ") != NULL && strstr(line, " n3 ") == NULL,
        "the tombstone shows another node: %s", line);

    const char *ev = s_ctl("events", NULL, NULL, NULL);
    s_line_of(ev, "kind=registered address=chaos/hand", line, sizeof line);
    ck_assert_msg(line[0] != '\0',
        "no event for the actor started by hand: "
        "%s",
        ev);
    /* Each line starts with its UTC time, 2026-12-06T06:14:42.630Z. */
    ck_assert_msg(strlen(line) > 24 && line[4] == '-' && line[10] == 'T' &&
                      line[23] == 'Z' && line[24] == ' ',
        "no time: %s", line);
    ck_assert_ptr_nonnull(strstr(ev, "kind=node-lost address=- "));
    s_line_of(ev, "kind=re-placed address=chaos/keep", line, sizeof line);
    ck_assert_msg(strstr(line, "node=n2") != NULL, "re-placed: %s", ev);

    const char *top = s_ctl("top", "--count", "2", "--all");
    ck_assert_ptr_nonnull(strstr(top, "actors top "));
    ck_assert_ptr_nonnull(strstr(top, "CALLS/S"));
    s_line_of(top, "chaos/keep", line, sizeof line);
    ck_assert_msg(
        strstr(line, "n2") && strstr(line, "running"), "top: %s", top);
}
END_TEST

/* s_read_some appends what fd has now to buf (used bytes so far, kept
 * NUL-terminated) and returns how many lines buf holds. */
static int
s_read_some(int fd, char *buf, size_t cap, size_t *used)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    while (*used + 1 < cap && poll(&pfd, 1, 0) == 1) {
        ssize_t r = read(fd, buf + *used, cap - 1 - *used);
        if (r <= 0) {
            break;
        }
        *used += (size_t)r;
    }
    buf[*used] = '\0';
    int lines = 0;
    for (const char *p = buf; (p = strchr(p, '\n')) != NULL; p++) {
        lines++;
    }
    return lines;
}

/* s_is_rfc3339_ms tells whether p starts with 2026-12-06T06:14:42.630Z. */
static bool
s_is_rfc3339_ms(const char *p)
{
    static const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (size_t i = 0; shape[i] != '\0'; i++) {
        bool ok =
            shape[i] == 'd' ? (p[i] >= '0' && p[i] <= '9') : p[i] == shape[i];
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* `actorctl events` prints each event's time as RFC 3339 UTC with
 * milliseconds, listed and followed (--follow), and keeps the epoch ms in
 * --json. */
START_TEST(test_observe_events_times)
{
    testutil_broker_start(NULL);
    itest_connect();
    const char *text_argv[] = {"actorctl", "--broker", testutil_endpoint(),
        "events", "--follow", "--count", "2", NULL};
    const char *json_argv[] = {"actorctl", "--broker", testutil_endpoint(),
        "events", "--follow", "--json", "--count", "2", NULL};
    testutil_proc_t *text = testutil_spawn(text_argv, TESTUTIL_PIPE_STDOUT);
    testutil_proc_t *json = testutil_spawn(json_argv, TESTUTIL_PIPE_STDOUT);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(json);
    /* The followers subscribe at their own pace: make events (an actor
     * registered, then buried) until both have printed two. */
    static char out[1 << 14];
    static char jout[1 << 14];
    size_t used = 0;
    size_t jused = 0;
    int64_t deadline = testutil_now_ms() + SUPTEST_WAIT_MS;
    for (int i = 0; s_read_some(text->out_fd, out, sizeof out, &used) < 2 ||
                    s_read_some(json->out_fd, jout, sizeof jout, &jused) < 2;
         i++) {
        ck_assert_msg(testutil_now_ms() < deadline,
            "the followers got no two events: '%s' '%s'", out, jout);
        char address[32];
        snprintf(address, sizeof address, "chaos/t%d", i);
        testutil_proc_t *a = testutil_service_start("chaos", address, 0, NULL);
        testutil_proc_kill(a, SIGKILL);
        suptest_wait_state(address, "dead");
        testutil_poll_pause_ms(20);
    }
    ck_assert_msg(strncmp(out, "time=", 5) == 0 && s_is_rfc3339_ms(out + 5) &&
                      strncmp(out + 5 + 24, " kind=", 6) == 0,
        "--follow: %s", out);
    const char *second = strchr(out, '\n');
    ck_assert_msg(second != NULL && strncmp(second + 1, "time=", 5) == 0 &&
                      s_is_rfc3339_ms(second + 6),
        "--follow: %s", out);
    const char *ms = strstr(jout, "\"ms\":");
    ck_assert_msg(ms != NULL && ms[5] >= '1' && ms[5] <= '9' &&
                      strspn(ms + 5, "0123456789") == 13,
        "--follow --json: %s", jout);

    const char *ev = s_ctl("events", NULL, NULL, NULL);
    ck_assert_msg(s_is_rfc3339_ms(ev), "events: %s", ev);
    ev = s_ctl("events", "--json", NULL, NULL);
    ms = strstr(ev, "\"ms\":");
    ck_assert_msg(ms != NULL && strspn(ms + 5, "0123456789") == 13,
        "events --json: %s", ev);
}
END_TEST

/* s_top_line returns the fields of address's line in top's output:
 * ERRORS/S, ERRORS, P50 and P99 (each "" when absent). */
typedef struct {
    char err_rate[32];
    char errors[32];
    char p50[32];
    char p99[32];
} top_fields_t;

static top_fields_t
s_top_fields(const char *line)
{
    top_fields_t t;
    memset(&t, 0, sizeof t);
    char skip[8][64];
    int n =
        sscanf(line, "%63s %63s %63s %63s %63s %63s %63s %31s %31s %31s %31s",
            skip[0], skip[1], skip[2], skip[3], skip[4], skip[5], skip[6],
            t.err_rate, t.errors, t.p50, t.p99);
    ck_assert_msg(n == 11, "a short line in top: %s", line);
    return t;
}

/* The broker counts, per address, the calls that end in an error (the
 * actor's ERROR or its own: Timeout, ActorCrashed, ...) and their latency
 * in fixed buckets; LOOKUP and LIST report them and top shows errors/s,
 * the error count and p50/p99. Before: only "handled", and top had no
 * error or latency column. */
START_TEST(test_observe_errors_latency)
{
    testutil_broker_start(NULL);
    itest_connect();
    testutil_service_start("chaos", "chaos/el", 0, NULL);
    for (int i = 0; i < 5; i++) {
        actors_future_t *f = itest_call("chaos/el", "echo", "i", i);
        itest_result(f);
        actors_future_destroy(&f);
    }
    for (int i = 0; i < 2; i++) {
        actors_future_t *f = itest_call("chaos/el", "fail", "s", "no");
        itest_assert_error(f, ACTORS_EAPP, "ChaosError", NULL);
        actors_future_destroy(&f);
    }
    /* A call the broker fails itself: its deadline passes in the actor. */
    actors_call_opts_t opts = ACTORS_CALL_OPTS_INIT;
    opts.timeout_ms = 50;
    actors_msg_t *args = NULL;
    ck_assert_int_eq(actors_msg_build(&args, "i", 1000), ACTORS_OK);
    actors_future_t *f = NULL;
    ck_assert_int_eq(
        actors_client_call(g_client, "chaos/el", "sleep", &args, &opts, &f),
        ACTORS_OK);
    suptest_wait(f);
    ck_assert_int_eq(itest_code(f), ACTORS_ETIMEDOUT);
    actors_future_destroy(&f);

    ck_assert_int_eq(actors_client_lookup(g_client, "chaos/el", &f), ACTORS_OK);
    suptest_wait(f);
    const msgpack_object *m = itest_result(f);
    int64_t errors = -1;
    ck_assert_int_eq(
        actors_value_int(actors_map_get(m, "errors"), &errors), ACTORS_OK);
    ck_assert_int_eq(errors, 3);
    const msgpack_object *h = actors_map_get(m, "latency_hist");
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(h->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_int_eq(h->via.array.size, 17);
    int64_t calls = 0;
    for (uint32_t b = 0; b < h->via.array.size; b++) {
        int64_t v = 0;
        ck_assert_int_eq(actors_value_int(&h->via.array.ptr[b], &v), ACTORS_OK);
        calls += v;
    }
    ck_assert_int_eq(calls, 8);
    int64_t sum = 0;
    ck_assert_int_eq(
        actors_value_int(actors_map_get(m, "latency_us_sum"), &sum), ACTORS_OK);
    /* The timed-out call took its 50 ms: deadlines count whole
     * milliseconds from the broker's ms clock, so it may fire up to 1 ms
     * before 50 ms have passed since the call's microsecond stamp. */
    ck_assert_int_ge(sum, 49000);
    actors_future_destroy(&f);

    const char *ls = s_ctl("ls", "--json", NULL, NULL);
    ck_assert_msg(strstr(ls, "\"errors\":3,") != NULL, "LIST: %s", ls);

    /* The first frame's window is everything since the address began;
     * the second's is the interval, in which no call came. */
    const char *top = s_ctl("top", "--count", "2", NULL);
    ck_assert_msg(strstr(top, "ERRORS/S") && strstr(top, " P99 "),
        "no error or latency column: %s", top);
    const char *second = strstr(top, "\n\nactors top ");
    ck_assert_msg(second != NULL, "one frame only: %s", top);
    char line[512];
    char line2[512];
    s_line_of(top, "chaos/el", line, sizeof line);
    s_line_of(second, "chaos/el", line2, sizeof line2);
    top_fields_t t1 = s_top_fields(line);
    top_fields_t t2 = s_top_fields(line2);
    ck_assert_str_eq(t1.err_rate, "-");
    ck_assert_str_eq(t1.errors, "3");
    ck_assert_msg(strcmp(t1.p50, "-") != 0 && strcmp(t1.p99, "-") != 0,
        "no latency: %s", line);
    /* p99 of 8 calls is the slowest one: 50 ms or more. */
    static const char *slow[] = {
        "50ms", "100ms", "250ms", "500ms", "1s", "2.5s", "5s", "10s", ">10s"};
    bool is_slow = false;
    for (size_t i = 0; i < sizeof slow / sizeof slow[0]; i++) {
        is_slow = is_slow || strcmp(t1.p99, slow[i]) == 0;
    }
    ck_assert_msg(is_slow, "p99: %s", line);
    ck_assert_str_eq(t2.err_rate, "0");
    ck_assert_str_eq(t2.errors, "3");
    ck_assert_str_eq(t2.p50, "-");
}
END_TEST

/* s_dash_cells returns the dashboard's cells for handled, errors and p99
 * of address, from its LOOKUP (p99: the upper bound of the bucket of the
 * nearest-rank 99th percentile, written as actorctl top does). */
static const char *
s_dash_cells(const char *address, char *buf, size_t cap)
{
    static const char *labels[17] = {"100us", "250us", "500us", "1ms", "2.5ms",
        "5ms", "10ms", "25ms", "50ms", "100ms", "250ms", "500ms", "1s", "2.5s",
        "5s", "10s", ">10s"};
    actors_future_t *f = NULL;
    ck_assert_int_eq(actors_client_lookup(g_client, address, &f), ACTORS_OK);
    suptest_wait(f);
    const msgpack_object *m = itest_result(f);
    int64_t handled = -1;
    int64_t errors = -1;
    ck_assert_int_eq(
        actors_value_int(actors_map_get(m, "handled"), &handled), ACTORS_OK);
    ck_assert_int_eq(
        actors_value_int(actors_map_get(m, "errors"), &errors), ACTORS_OK);
    const msgpack_object *h = actors_map_get(m, "latency_hist");
    ck_assert_msg(
        h != NULL && h->type == MSGPACK_OBJECT_ARRAY && h->via.array.size == 17,
        "%s: no latency_hist", address);
    int64_t v[17];
    int64_t n = 0;
    for (int b = 0; b < 17; b++) {
        ck_assert_int_eq(
            actors_value_int(&h->via.array.ptr[b], &v[b]), ACTORS_OK);
        n += v[b];
    }
    ck_assert_int_gt(n, 0);
    int64_t rank = (99 * n + 99) / 100; /* ceil(0.99 n) */
    int64_t cum = 0;
    int b = 0;
    for (; b < 16; b++) {
        cum += v[b];
        if (cum >= rank) {
            break;
        }
    }
    snprintf(buf, cap,
        "<td class=\"n\">%lld</td><td class=\"n\">%lld</td><td>%s</td>",
        (long long)handled, (long long)errors, labels[b]);
    actors_future_destroy(&f);
    return buf;
}

/* The dashboard, in Debian's headless Chromium, while its actor is being
 * killed: the page's scripts ran and show the actor running on its node
 * with its restarts, both nodes, and the lifecycle events; each address
 * with its errors and p99 latency, a group as one row with its members'
 * calls. Before: no errors or p99, and a group had a row per member. */
START_TEST(test_observe_dashboard_in_chromium)
{
    static const char *chromium = "/usr/bin/chromium";
    if (access(chromium, X_OK) != 0) {
        fprintf(stderr, "SKIP dashboard: no %s (apt-get install chromium)\n",
            chromium);
        return;
    }
    static const char *zpl = "actor\n"
                             "    d\n"
                             "        service = chaos\n"
                             "        address = chaos/dash\n"
                             "        policy\n"
                             "            max_restarts = -1\n"
                             "            backoff_base_ms = 1\n";
    s_broker_logged(NULL, NULL, "--metrics-port", "0");
    int port = s_port(s_file(g_brklog));
    itest_connect();
    suptest_node("n1", zpl);
    suptest_node("n2", NULL);
    int64_t pid = suptest_wait_running("chaos/dash", 0);
    for (int i = 0; i < 3; i++) { /* the kill loop */
        kill((pid_t)pid, SIGKILL);
        pid = suptest_wait_running("chaos/dash", pid);
    }
    s_calls_made("chaos/dash", 3, 2);
    s_group_start("grp/dash", 2);
    s_calls_made("grp/dash", 4, 1);
    char cells[128];
    char gcells[128];
    s_dash_cells("chaos/dash", cells, sizeof cells);
    s_dash_cells("grp/dash", gcells, sizeof gcells);
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    static char dom[1 << 18];
    char err[8192];
    const char *argv[] = {chromium, "--headless", "--no-sandbox",
        "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom", url, NULL};
    int rc = testutil_run(argv, 120000, dom, sizeof dom, err, sizeof err);
    ck_assert_msg(rc == 0, "chromium failed (%d): %s", rc, err);
    char row[256];
    snprintf(row, sizeof row,
        "<td>chaos/dash</td><td>chaos</td><td class=\"running\">running</td>"
        "<td>n1</td><td class=\"n\">%lld</td>",
        (long long)pid);
    ck_assert_msg(strstr(dom, row) != NULL, "no %s in the page: %s", row, dom);
    ck_assert_msg(
        strstr(dom, cells) != NULL, "no %s in the page: %.2000s", cells, dom);
    const char *grow = strstr(dom, "<td>grp/dash</td>");
    const char *next = grow ? strstr(grow + 1, "<td>grp/dash</td>") : NULL;
    const char *end = strstr(dom, "</table>"); /* of the actors */
    ck_assert_msg(grow != NULL && grow < end && (next == NULL || next > end),
        "not one row for the group: %.2000s", dom);
    ck_assert_msg(strstr(grow, gcells) != NULL &&
                      strstr(grow, gcells) < strstr(grow, "</tr>"),
        "no %s in the group's row: %.2000s", gcells, dom);
    ck_assert_msg(strstr(dom, "<td>n2</td>") != NULL, "node n2: %s", dom);
    ck_assert_msg(strstr(dom, "<td>restart</td><td>chaos/dash</td><td>n1</td>"),
        "no restart event shown: %s", dom);
    ck_assert_msg(strstr(dom, "updated 20") != NULL, "not refreshed: %s", dom);
    ck_assert_msg(strstr(dom, "<div id=\"err\"></div>") != NULL,
        "the page shows an error: %s", dom);
    unlink(g_brklog);
}
END_TEST

static Suite *
observe_suite(void)
{
    Suite *s = suite_create("observe");
    TCase *tc = suptest_tcase("observe", 180);
    tcase_add_test(tc, test_observe_actor_output_prefixed);
    tcase_add_test(tc, test_observe_broker_traces_calls);
    tcase_add_test(tc, test_observe_metrics_parsed);
    tcase_add_test(tc, test_observe_ls_events_top);
    tcase_add_test(tc, test_observe_errors_latency);
    tcase_add_test(tc, test_observe_events_times);
    tcase_add_test(tc, test_observe_dashboard_in_chromium);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return itest_run(observe_suite());
}
