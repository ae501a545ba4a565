/* libactors/src/error.c - error codes, names and error values.
 * SPDX-License-Identifier: MIT */
#include <actors/error.h>

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include <actors-internal/alloc.h>

#define ACTORS_ERROR_TAG 0xac7e0001u

struct actors_error {
    uint32_t tag;    /* ACTORS_ERROR_TAG while alive */
    actors_err code; /* ACTORS_EAPP for application types */
    char *type;      /* wire name or application type */
    char *message;   /* human text */
    char *address;   /* actor concerned, "" if none */
};

static const char *s_names[] = {"OK",
#define XX(code, name, text) name,
    ACTORS_ERRORS(XX)
#undef XX
};

static const char *s_texts[] = {"success",
#define XX(code, name, text) text,
    ACTORS_ERRORS(XX)
#undef XX
};

const char *
actors_err_name(actors_err rc)
{
    if ((int)rc < 0 || rc >= ACTORS_ERR_COUNT) {
        return "Unknown";
    }
    return s_names[rc];
}

const char *
actors_strerror(actors_err rc)
{
    if ((int)rc < 0 || rc >= ACTORS_ERR_COUNT) {
        return "unknown error";
    }
    return s_texts[rc];
}

actors_err
actors_err_from_name(const char *name, size_t len)
{
    if (name == NULL) {
        return ACTORS_EAPP;
    }
    for (int i = 1; i < ACTORS_ERR_COUNT; i++) {
        if (strlen(s_names[i]) == len && memcmp(s_names[i], name, len) == 0) {
            return (actors_err)i;
        }
    }
    return ACTORS_EAPP;
}

actors_err
actors_error_create(actors_error_t **out, actors_err code, const char *type,
    const char *message, const char *address)
{
    assert(out);
    *out = NULL;
    actors_error_t *self = actors__zalloc(sizeof *self);
    if (self == NULL) {
        return ACTORS_ENOMEM;
    }
    self->tag = ACTORS_ERROR_TAG;
    self->code = code;
    self->type = actors__strdup(type ? type : actors_err_name(code));
    self->message = actors__strdup(message ? message : actors_strerror(code));
    self->address = actors__strdup(address ? address : "");
    if (!self->type || !self->message || !self->address) {
        actors_error_destroy(&self);
        return ACTORS_ENOMEM;
    }
    *out = self;
    return ACTORS_OK;
}

void
actors_error_destroy(actors_error_t **self_p)
{
    assert(self_p);
    actors_error_t *self = *self_p;
    if (self == NULL) {
        return;
    }
    assert(self->tag == ACTORS_ERROR_TAG);
    self->tag = 0xdeadbeef;
    actors__free(self->type);
    actors__free(self->message);
    actors__free(self->address);
    actors__free(self);
    *self_p = NULL;
}

actors_err
actors_error_code(const actors_error_t *self)
{
    assert(self && self->tag == ACTORS_ERROR_TAG);
    return self->code;
}

const char *
actors_error_type(const actors_error_t *self)
{
    assert(self && self->tag == ACTORS_ERROR_TAG);
    return self->type;
}

const char *
actors_error_message(const actors_error_t *self)
{
    assert(self && self->tag == ACTORS_ERROR_TAG);
    return self->message;
}

const char *
actors_error_address(const actors_error_t *self)
{
    assert(self && self->tag == ACTORS_ERROR_TAG);
    return self->address;
}
