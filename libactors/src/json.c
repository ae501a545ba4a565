/* libactors/src/json.c - JSON <-> msgpack for shells and configs.
 * SPDX-License-Identifier: MIT
 *
 * Parsing is jansson's (json_loads with JSON_DECODE_ANY); the tree is then
 * walked into a scratch builder and appended to the caller's builder as one
 * raw value, so that a failure leaves the caller's builder unchanged.
 *
 * Dumping walks the msgpack_object directly into a growing buffer: it has
 * to render things jansson cannot hold (uint64 above INT64_MAX, bin, ext,
 * non-string keys) and doubles in their shortest round-trip form with a
 * decimal point kept (300.0, 0.1), which jansson's fixed %.17g does not.
 */
#include <actors/json.h>

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <actors-internal/alloc.h>

/* ---- JSON text -> msgpack --------------------------------------------- */

/* s_add_json appends one jansson value (recursively) to m. */
static actors_err
s_add_json(actors_msg_t *m, json_t *j)
{
    actors_err rc = ACTORS_OK;
    switch (json_typeof(j)) {
    case JSON_NULL:
        return actors_msg_add_nil(m);
    case JSON_TRUE:
        return actors_msg_add_bool(m, true);
    case JSON_FALSE:
        return actors_msg_add_bool(m, false);
    case JSON_INTEGER:
        return actors_msg_add_int(m, (int64_t)json_integer_value(j));
    case JSON_REAL:
        return actors_msg_add_double(m, json_real_value(j));
    case JSON_STRING:
        return actors_msg_add_strn(
            m, json_string_value(j), json_string_length(j));
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        if (n > UINT32_MAX) {
            return ACTORS_ETOOBIG;
        }
        rc = actors_msg_add_array(m, (uint32_t)n);
        for (size_t i = 0; i < n && rc == ACTORS_OK; i++) {
            rc = s_add_json(m, json_array_get(j, i));
        }
        return rc;
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(j);
        if (n > UINT32_MAX) {
            return ACTORS_ETOOBIG;
        }
        rc = actors_msg_add_map(m, (uint32_t)n);
        const char *key;
        json_t *val;
        json_object_foreach(j, key, val)
        {
            if (rc == ACTORS_OK) {
                rc = actors_msg_add_str(m, key);
            }
            if (rc == ACTORS_OK) {
                rc = s_add_json(m, val);
            }
        }
        return rc;
    }
    }
    return ACTORS_EINVAL;
}

/* s_is_json_shaped: text starts (after blanks) like an array, an object
 * or a quoted string, so it must be valid JSON; anything else that fails
 * to parse is a bare word. */
static bool
s_is_json_shaped(const char *text)
{
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r') {
        text++;
    }
    return *text == '{' || *text == '[' || *text == '"';
}

/* s_integer_text: text is (blanks) [-] digits (blanks), an integer that
 * jansson could only have refused for being out of int64 range. */
static bool
s_integer_text(const char *text)
{
    while (*text == ' ' || *text == '\t') {
        text++;
    }
    if (*text == '-') {
        text++;
    }
    if (*text < '0' || *text > '9') {
        return false;
    }
    while (*text >= '0' && *text <= '9') {
        text++;
    }
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r') {
        text++;
    }
    return *text == '\0';
}

/* s_add_big_integer adds an integer above INT64_MAX as uint64, or refuses
 * one that does not fit at all. */
static actors_err
s_add_big_integer(
    actors_msg_t *msg, const char *text, char *errbuf, size_t errlen)
{
    while (*text == ' ' || *text == '\t') {
        text++;
    }
    if (*text != '-') {
        errno = 0;
        unsigned long long v = strtoull(text, NULL, 10);
        if (errno == 0) {
            return actors_msg_add_uint(msg, (uint64_t)v);
        }
    }
    if (errbuf != NULL && errlen > 0) {
        snprintf(errbuf, errlen, "integer out of range: %s", text);
    }
    return ACTORS_EINVAL;
}

/* s_non_finite_word: text is (blanks) Infinity, -Infinity or NaN
 * (blanks), the words actors_json_dump prints for those doubles; *out
 * gets the double. */
static bool
s_non_finite_word(const char *text, double *out)
{
    static const struct {
        const char *word;
        double value;
    } words[] = {
        {"Infinity", INFINITY},
        {"-Infinity", -INFINITY},
        {"NaN", NAN},
    };
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r') {
        text++;
    }
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i].word);
        if (strncmp(text, words[i].word, n) != 0) {
            continue;
        }
        const char *rest = text + n;
        while (
            *rest == ' ' || *rest == '\t' || *rest == '\n' || *rest == '\r') {
            rest++;
        }
        if (*rest == '\0') {
            *out = words[i].value;
            return true;
        }
    }
    return false;
}

actors_err
actors_json_add(
    actors_msg_t *msg, const char *text, char *errbuf, size_t errlen)
{
    assert(msg);
    assert(text);
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (j == NULL) {
        if (s_is_json_shaped(text)) {
            if (errbuf != NULL && errlen > 0) {
                snprintf(errbuf, errlen,
                    "invalid JSON at line %d column %d: %s", jerr.line,
                    jerr.column, jerr.text);
            }
            return ACTORS_EINVAL;
        }
        if (s_integer_text(text)) {
            return s_add_big_integer(msg, text, errbuf, errlen);
        }
        if (json_error_code(&jerr) == json_error_numeric_overflow) {
            /* A real beyond a double (1e999): neither a bare word nor,
             * silently, an infinity. */
            if (errbuf != NULL && errlen > 0) {
                snprintf(errbuf, errlen,
                    "number out of range: %s (Infinity is the word for an "
                    "infinite value)",
                    text);
            }
            return ACTORS_EINVAL;
        }
        double v = 0;
        if (s_non_finite_word(text, &v)) {
            return actors_msg_add_double(msg, v);
        }
        return actors_msg_add_str(msg, text);
    }
    actors_msg_t *tmp = NULL;
    actors_err rc = actors_msg_create(&tmp);
    if (rc == ACTORS_OK) {
        rc = s_add_json(tmp, j);
    }
    if (rc == ACTORS_OK) {
        rc =
            actors_msg_add_raw(msg, actors_msg_data(tmp), actors_msg_size(tmp));
    }
    actors_msg_destroy(&tmp);
    json_decref(j);
    return rc;
}

/* ---- msgpack -> JSON text --------------------------------------------- */

typedef struct {
    char *buf;  /* NUL-terminated output */
    size_t len; /* bytes used, without the NUL */
    size_t cap; /* bytes allocated */
    bool oom;   /* an allocation failed; the output is garbage */
} s_out_t;

static void
s_put(s_out_t *o, const char *s, size_t n)
{
    if (o->oom || n == 0) {
        return;
    }
    if (o->cap - o->len <= n) {
        size_t cap = o->cap ? o->cap : 64;
        while (cap - o->len <= n) {
            cap *= 2;
        }
        char *buf = actors__realloc(o->buf, cap);
        if (buf == NULL) {
            o->oom = true;
            return;
        }
        o->buf = buf;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void
s_puts(s_out_t *o, const char *s)
{
    s_put(o, s, strlen(s));
}

/* s_put_string writes a JSON string literal of n bytes. */
static void
s_put_string(s_out_t *o, const char *s, size_t n)
{
    s_put(o, "\"", 1);
    size_t run = 0; /* bytes that need no escape, not yet written */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char ubuf[8];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        default:
            if (c < 0x20) {
                snprintf(ubuf, sizeof ubuf, "\\u%04x", c);
                esc = ubuf;
            }
        }
        if (esc == NULL) {
            run++;
            continue;
        }
        s_put(o, s + i - run, run);
        run = 0;
        s_puts(o, esc);
    }
    s_put(o, s + n - run, run);
    s_put(o, "\"", 1);
}

static void
s_put_hex(s_out_t *o, const char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    s_put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        char h[2] = {
            digits[(unsigned char)p[i] >> 4], digits[(unsigned char)p[i] & 15]};
        s_put(o, h, 2);
    }
    s_put(o, "\"", 1);
}

/* s_put_double writes the shortest text that reads back as v, keeping a
 * decimal point or exponent so it stays a real (300.0). NaN and the
 * infinities have no JSON form: they print as Python's json module prints
 * them (NaN, Infinity, -Infinity), never as null, which would pass for a
 * missing value. */
static void
s_put_double(s_out_t *o, double v, bool is_float)
{
    char buf[40];
    if (isnan(v)) {
        s_puts(o, "NaN");
        return;
    }
    if (isinf(v)) {
        s_puts(o, v > 0 ? "Infinity" : "-Infinity");
        return;
    }
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        double back = strtod(buf, NULL);
        if (is_float ? (float)back == (float)v : back == v) {
            break;
        }
    }
    /* Plain notation for moderate exponents, as Python prints them:
     * 300.0, not 3e+02. */
    char ebuf[40];
    snprintf(ebuf, sizeof ebuf, "%.*e", prec - 1, v);
    const char *e = strchr(ebuf, 'e');
    int exp10 = e ? atoi(e + 1) : 0;
    if (exp10 >= -4 && exp10 < 16 && exp10 + 1 > prec) {
        prec = exp10 + 1;
    }
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strpbrk(buf, ".eE") == NULL) {
        strcat(buf, ".0");
    }
    s_puts(o, buf);
}

static void s_dump(s_out_t *o, const msgpack_object *obj, bool in_key);

/* s_put_key writes a map key. A string is written as it is. Outside a key
 * (in_key false), any other key becomes one JSON string of its text, which
 * is rendered once, in key mode, and escaped once. In key mode, keys that
 * are not strings are written as their text, unquoted: quoting them there
 * would escape the text of a key inside a key again at every level, and
 * the output would double with each level of nesting. */
static void
s_put_key(s_out_t *o, const msgpack_object *key, bool in_key)
{
    if (key->type == MSGPACK_OBJECT_STR) {
        s_put_string(o, key->via.str.ptr, key->via.str.size);
        return;
    }
    if (in_key) {
        s_dump(o, key, true);
        return;
    }
    s_out_t k = {0};
    s_dump(&k, key, true);
    if (k.oom) {
        o->oom = true;
    } else {
        s_put_string(o, k.buf, k.len);
    }
    actors__free(k.buf);
}

/* s_dump writes obj; in_key: obj is (inside) the text of a map key. */
static void
s_dump(s_out_t *o, const msgpack_object *obj, bool in_key)
{
    char buf[32];
    switch (obj->type) {
    case MSGPACK_OBJECT_NIL:
        s_puts(o, "null");
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        s_puts(o, obj->via.boolean ? "true" : "false");
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        snprintf(buf, sizeof buf, "%" PRIu64, obj->via.u64);
        s_puts(o, buf);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        snprintf(buf, sizeof buf, "%" PRId64, obj->via.i64);
        s_puts(o, buf);
        break;
    case MSGPACK_OBJECT_FLOAT32:
        s_put_double(o, obj->via.f64, true);
        break;
    case MSGPACK_OBJECT_FLOAT64:
        s_put_double(o, obj->via.f64, false);
        break;
    case MSGPACK_OBJECT_STR:
        s_put_string(o, obj->via.str.ptr, obj->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN:
        s_puts(o, "{\"$bin\":");
        s_put_hex(o, obj->via.bin.ptr, obj->via.bin.size);
        s_puts(o, "}");
        break;
    case MSGPACK_OBJECT_EXT:
        snprintf(buf, sizeof buf, "{\"$ext\":[%d,", (int)obj->via.ext.type);
        s_puts(o, buf);
        s_put_hex(o, obj->via.ext.ptr, obj->via.ext.size);
        s_puts(o, "]}");
        break;
    case MSGPACK_OBJECT_ARRAY:
        s_puts(o, "[");
        for (uint32_t i = 0; i < obj->via.array.size; i++) {
            if (i > 0) {
                s_puts(o, ",");
            }
            s_dump(o, &obj->via.array.ptr[i], in_key);
        }
        s_puts(o, "]");
        break;
    case MSGPACK_OBJECT_MAP:
        s_puts(o, "{");
        for (uint32_t i = 0; i < obj->via.map.size; i++) {
            if (i > 0) {
                s_puts(o, ",");
            }
            s_put_key(o, &obj->via.map.ptr[i].key, in_key);
            s_puts(o, ":");
            s_dump(o, &obj->via.map.ptr[i].val, in_key);
        }
        s_puts(o, "}");
        break;
    default:
        s_puts(o, "null");
        break;
    }
}

actors_err
actors_json_dump(const msgpack_object *obj, char **out)
{
    assert(out);
    *out = NULL;
    s_out_t o = {0};
    if (obj == NULL) {
        s_puts(&o, "null");
    } else {
        s_dump(&o, obj, false);
    }
    if (o.oom || o.buf == NULL) {
        actors__free(o.buf);
        return ACTORS_ENOMEM;
    }
    *out = o.buf;
    return ACTORS_OK;
}
