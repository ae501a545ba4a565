/* libactors/src/httpd.c - a small HTTP server over libmicrohttpd
 * (actors-internal/httpd.h).
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include <actors-internal/httpd.h>

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

struct actors__httpd {
    struct MHD_Daemon *d;
    actors__httpd_fn fn;
    void *arg;
    uint16_t port;
};

static enum MHD_Result
s_answer(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    actors__httpd_t *self = cls;
    static int first;
    if (*con_cls == NULL) {
        *con_cls = &first; /* headers only so far: answer on the next call */
        return MHD_YES;
    }
    *upload_data_size = 0; /* a body is not read */
    int status = 405;
    actors__httpd_page_t page = {NULL, 0, "text/plain; charset=utf-8"};
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
        status = self->fn(self->arg, url, &page);
    }
    if (page.body == NULL && status != 200) {
        const char *text = status == 404   ? "not found\n"
                           : status == 405 ? "only GET\n"
                                           : "error\n";
        page.body = strdup(text);
        page.len = page.body ? strlen(page.body) : 0;
        page.type = "text/plain; charset=utf-8";
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(
        page.len, page.body ? page.body : (void *)"", MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(page.body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, page.type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

actors_err
actors__httpd_start(actors__httpd_t **out, const char *host, uint16_t port,
    actors__httpd_fn fn, void *arg)
{
    assert(out);
    assert(fn);
    *out = NULL;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, host ? host : "127.0.0.1", &sa.sin_addr) != 1) {
        return ACTORS_EINVAL;
    }
    actors__httpd_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->fn = fn;
    self->arg = arg;
    self->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL,
        port, NULL, NULL, s_answer, self, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (self->d == NULL) {
        free(self);
        return ACTORS_EIO;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(self->d, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info != NULL ? info->port : port;
    *out = self;
    return ACTORS_OK;
}

uint16_t
actors__httpd_port(const actors__httpd_t *self)
{
    assert(self);
    return self->port;
}

void
actors__httpd_stop(actors__httpd_t **self_p)
{
    assert(self_p);
    actors__httpd_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    MHD_stop_daemon(self->d);
    free(self);
    *self_p = NULL;
}
