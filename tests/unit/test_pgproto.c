/*
 * Tests for common/pgproto: every message kind against bytes written out by
 * hand from the protocol documentation, buffer growth and out-of-memory
 * poisoning, and a reader that must refuse to go past the end of its input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/pgproto.h"

static void assert_buf(const struct pgbuf *b, const uint8_t *want, size_t n)
{
    assert_int_equal(b->oom, 0);
    assert_int_equal(b->len, n);
    assert_memory_equal(b->data, want, n);
}

static void test_ready(void **state)
{
    static const uint8_t want[] = { 'Z', 0, 0, 0, 5, 'I' };
    struct pgbuf b;

    pgbuf_init(&b);
    pgproto_ready(&b, 'I');
    assert_buf(&b, want, sizeof(want));
    pgbuf_free(&b);
}

static void test_auth_request(void **state)
{
    static const uint8_t ok[] = { 'R', 0, 0, 0, 8, 0, 0, 0, 0 };
    static const uint8_t md5[] = { 'R', 0, 0, 0, 12, 0, 0, 0, 5, 0xde, 0xad, 0xbe, 0xef };
    static const uint8_t sasl[] = {
        'R', 0, 0, 0, 23, 0, 0, 0, 10,
        'S', 'C', 'R', 'A', 'M', '-', 'S', 'H', 'A', '-', '2', '5', '6', 0, 0,
    };
    static const uint8_t salt[] = { 0xde, 0xad, 0xbe, 0xef };
    struct pgbuf b;

    pgbuf_init(&b);
    pgproto_auth_request(&b, 0, NULL, 0);
    assert_buf(&b, ok, sizeof(ok));

    pgbuf_reset(&b);
    pgproto_auth_request(&b, 5, salt, sizeof(salt));
    assert_buf(&b, md5, sizeof(md5));

    pgbuf_reset(&b);
    pgproto_auth_request(&b, 10, "SCRAM-SHA-256\0", 15);
    assert_buf(&b, sasl, sizeof(sasl));
    pgbuf_free(&b);
}

static void test_parameter_status(void **state)
{
    static const uint8_t want[] = {
        'S', 0, 0, 0, 25,
        'c', 'l', 'i', 'e', 'n', 't', '_', 'e', 'n', 'c', 'o', 'd', 'i', 'n', 'g', 0,
        'U', 'T', 'F', '8', 0,
    };
    struct pgbuf b;

    pgbuf_init(&b);
    pgproto_parameter_status(&b, "client_encoding", "UTF8");
    assert_buf(&b, want, sizeof(want));
    pgbuf_free(&b);
}

static void test_backend_key(void **state)
{
    static const uint8_t want[] = {
        'K', 0, 0, 0, 12, 0x00, 0x00, 0x30, 0x39, 0xff, 0xff, 0xff, 0xfe,
    };
    struct pgbuf b;

    pgbuf_init(&b);
    pgproto_backend_key(&b, 12345, -2);
    assert_buf(&b, want, sizeof(want));
    pgbuf_free(&b);
}

static void test_command_complete_and_empty(void **state)
{
    static const uint8_t want[] = {
        'C', 0, 0, 0, 13, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1', 0,
        'I', 0, 0, 0, 4,
    };
    struct pgbuf b;

    pgbuf_init(&b);
    pgproto_command_complete(&b, "SELECT 1");
    pgproto_empty_query(&b);
    assert_buf(&b, want, sizeof(want));
    pgbuf_free(&b);
}

static void test_error_minimal(void **state)
{
    static const uint8_t want[] = {
        'E', 0, 0, 0, 31,
        'S', 'E', 'R', 'R', 'O', 'R', 0,
        'V', 'E', 'R', 'R', 'O', 'R', 0,
        'C', '4', '2', '6', '0', '1', 0,
        'M', 'b', 'a', 'd', 0,
        0,
    };
    struct pgbuf b;

    pgbuf_init(&b);
    pgproto_error(&b, 'E', "ERROR", "42601", "bad", NULL, NULL);
    assert_buf(&b, want, sizeof(want));
    pgbuf_free(&b);
}

static void test_notice_with_detail_and_hint(void **state)
{
    static const uint8_t want[] = {
        'N', 0, 0, 0, 42,
        'S', 'N', 'O', 'T', 'I', 'C', 'E', 0,
        'V', 'N', 'O', 'T', 'I', 'C', 'E', 0,
        'C', '0', '0', '0', '0', '0', 0,
        'M', 'm', 0,
        'D', 'd', 'e', 't', 0,
        'H', 'h', 'i', 'n', 't', 0,
        0,
    };
    struct pgbuf b;

    pgbuf_init(&b);
    pgproto_error(&b, 'N', "NOTICE", "00000", "m", "det", "hint");
    assert_buf(&b, want, sizeof(want));
    pgbuf_free(&b);
}

static void test_row_description(void **state)
{
    static const uint8_t want[] = {
        'T', 0, 0, 0, 50, 0, 2,
        'i', 'd', 0,
        0, 0, 0, 0, 0, 0,                  /* table oid, attnum */
        0, 0, 0, 23, 0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0,
        'n', 'a', 'm', 'e', 0,
        0, 0, 0, 0, 0, 0,
        0, 0, 0x04, 0x13, 0xff, 0xff, 0, 0, 0, 0x44, 0, 1,
    };
    struct pgbuf b;

    pgbuf_init(&b);
    pgproto_row_description_begin(&b, 2);
    pgproto_row_description_field(&b, "id", PG_OID_INT4, 4, -1, 0);
    pgproto_row_description_field(&b, "name", PG_OID_VARCHAR, -1, 68, 1);
    assert_int_equal(pgproto_end(&b), 0);
    assert_buf(&b, want, sizeof(want));
    pgbuf_free(&b);
}

static void test_data_row(void **state)
{
    static const uint8_t want[] = {
        'D', 0, 0, 0, 20, 0, 3,
        0, 0, 0, 2, '4', '2',
        0xff, 0xff, 0xff, 0xff,
        0, 0, 0, 0,
    };
    struct pgbuf b;

    pgbuf_init(&b);
    pgproto_data_row_begin(&b, 3);
    pgproto_data_row_value(&b, "42", 2);
    pgproto_data_row_value(&b, NULL, 0);
    pgproto_data_row_value(&b, "", 0);
    assert_int_equal(pgproto_end(&b), 0);
    assert_buf(&b, want, sizeof(want));
    pgbuf_free(&b);
}

static void test_startup_untyped(void **state)
{
    static const uint8_t want[] = {
        0, 0, 0, 18, 0, 3, 0, 0,
        'u', 's', 'e', 'r', 0, 'b', 'o', 'b', 0, 0,
        0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f,
    };
    struct pgbuf b;

    pgbuf_init(&b);
    pgproto_begin(&b, 0);
    pgproto_put_i32(&b, PGPROTO_VERSION_3);
    pgproto_put_cstr(&b, "user");
    pgproto_put_cstr(&b, "bob");
    pgproto_put_u8(&b, 0);
    assert_int_equal(pgproto_end(&b), 0);
    /* An SSLRequest right after: the second message is untyped as well. */
    pgproto_begin(&b, 0);
    pgproto_put_i32(&b, PGPROTO_SSL_REQUEST);
    assert_int_equal(pgproto_end(&b), 0);
    assert_buf(&b, want, sizeof(want));
    pgbuf_free(&b);
}

static void test_several_messages(void **state)
{
    static const uint8_t want[] = {
        'C', 0, 0, 0, 10, 'B', 'E', 'G', 'I', 'N', 0,
        'S', 0, 0, 0, 8, 'a', 0, 'b', 0,
        'Z', 0, 0, 0, 5, 'T',
    };
    struct pgbuf b;

    pgbuf_init(&b);
    pgproto_command_complete(&b, "BEGIN");
    pgproto_parameter_status(&b, "a", "b");
    pgproto_ready(&b, 'T');
    assert_buf(&b, want, sizeof(want));
    pgbuf_free(&b);
}

/* Many messages and one large one force several reallocations; walk them all back. */
static void test_growth(void **state)
{
    enum { N = 5000 };
    struct pgbuf b;
    struct pgproto_reader r;
    char tag[32], *big;
    size_t off = 0;
    int i;

    pgbuf_init(&b);
    for (i = 0; i < N; i++) {
        snprintf(tag, sizeof(tag), "INSERT 0 %d", i);
        pgproto_command_complete(&b, tag);
    }
    big = malloc(100000);
    assert_non_null(big);
    memset(big, 'x', 99999);
    big[99999] = 0;
    pgproto_command_complete(&b, big);
    assert_int_equal(b.oom, 0);
    /* Doubling from a power of two: amortized O(1) appends, at most half wasted. */
    assert_true(b.cap >= b.len);
    assert_true(b.cap < 2 * b.len);
    assert_int_equal(b.cap & (b.cap - 1), 0);

    for (i = 0; i <= N; i++) {
        const char *s;
        uint32_t len;

        assert_true(off + 5 <= b.len);
        assert_int_equal(b.data[off], 'C');
        len = pgproto_load_u32(b.data + off + 1);
        pgproto_reader_init(&r, b.data + off + 5, len - 4);
        assert_int_equal(pgproto_get_cstr(&r, &s), 0);
        assert_int_equal(pgproto_remaining(&r), 0);
        if (i < N) {
            snprintf(tag, sizeof(tag), "INSERT 0 %d", i);
            assert_string_equal(s, tag);
        } else {
            assert_string_equal(s, big);
        }
        off += 1 + len;
    }
    assert_int_equal(off, b.len);
    free(big);
    pgbuf_free(&b);
}

static void test_reset_keeps_allocation(void **state)
{
    struct pgbuf b;
    uint8_t *data;
    size_t cap;

    pgbuf_init(&b);
    pgproto_command_complete(&b, "SELECT 1");
    data = b.data;
    cap = b.cap;
    pgbuf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    pgbuf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
}

/* An impossible reservation poisons the buffer: later puts change nothing. */
static void test_oom_poisons(void **state)
{
    struct pgbuf b;
    size_t len;

    pgbuf_init(&b);
    pgproto_ready(&b, 'I');
    pgproto_begin(&b, 'C');
    assert_int_equal(pgbuf_reserve(&b, SIZE_MAX - 2), -1);
    assert_int_equal(b.oom, 1);
    len = b.len;
    pgproto_put_cstr(&b, "SELECT 1");
    pgproto_put_i32(&b, 7);
    assert_int_equal(b.len, len);
    assert_int_equal(pgproto_end(&b), -1);
    pgbuf_reset(&b);
    assert_int_equal(b.oom, 0);
    pgproto_ready(&b, 'I');
    assert_int_equal(b.len, 6);
    pgbuf_free(&b);
}

static void test_reader_ints(void **state)
{
    static const uint8_t msg[] = { 0x7f, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x01, 0x09 };
    struct pgproto_reader r;
    int16_t i16;
    int32_t i32;
    uint8_t u8;

    pgproto_reader_init(&r, msg, sizeof(msg));
    assert_int_equal(pgproto_get_i16(&r, &i16), 0);
    assert_int_equal(i16, 0x7fff);
    assert_int_equal(pgproto_get_i16(&r, &i16), 0);
    assert_int_equal(i16, -384);
    assert_int_equal(pgproto_get_i32(&r, &i32), 0);
    assert_int_equal(i32, 0x00000109);
    assert_int_equal(pgproto_remaining(&r), 0);
    assert_int_equal(pgproto_get_u8(&r, &u8), -1);
    assert_int_equal(r.err, 1);
}

/*
 * The input is a heap copy of exactly its length, so ASan reports any read
 * past it; every getter must fail instead and leave the position alone.
 */
static void test_reader_truncated(void **state)
{
    static const uint8_t bytes[] = { 0x00, 0x00, 0x01 };
    struct pgproto_reader r;
    const uint8_t *p;
    uint8_t *msg;
    int32_t i32;
    int16_t i16;
    uint8_t u8;

    msg = malloc(sizeof(bytes));
    assert_non_null(msg);
    memcpy(msg, bytes, sizeof(bytes));

    pgproto_reader_init(&r, msg, sizeof(bytes));
    assert_int_equal(pgproto_get_i32(&r, &i32), -1);
    assert_int_equal(r.err, 1);
    assert_int_equal(r.pos, 0);
    /* Sticky: a read that would fit still fails after an error. */
    assert_int_equal(pgproto_get_u8(&r, &u8), -1);

    pgproto_reader_init(&r, msg, sizeof(bytes));
    assert_int_equal(pgproto_get_i16(&r, &i16), 0);
    assert_int_equal(pgproto_get_i16(&r, &i16), -1);
    assert_int_equal(pgproto_remaining(&r), 1);

    pgproto_reader_init(&r, msg, sizeof(bytes));
    assert_int_equal(pgproto_get_bytes(&r, &p, 4), -1);
    assert_null(p);
    pgproto_reader_init(&r, msg, sizeof(bytes));
    assert_int_equal(pgproto_get_bytes(&r, &p, 3), 0);
    assert_ptr_equal(p, msg);
    assert_int_equal(pgproto_get_bytes(&r, &p, 0), 0);

    pgproto_reader_init(&r, NULL, 0);
    assert_int_equal(pgproto_get_u8(&r, &u8), -1);
    free(msg);
}

static void test_reader_cstr(void **state)
{
    static const uint8_t two[] = { 'a', 'b', 0, 0, 'z' };
    struct pgproto_reader r;
    const char *s;
    uint8_t *msg;

    pgproto_reader_init(&r, two, sizeof(two));
    assert_int_equal(pgproto_get_cstr(&r, &s), 0);
    assert_string_equal(s, "ab");
    assert_int_equal(pgproto_get_cstr(&r, &s), 0);
    assert_string_equal(s, "");
    assert_int_equal(pgproto_remaining(&r), 1);
    /* "z" has no NUL before the end of the message. */
    assert_int_equal(pgproto_get_cstr(&r, &s), -1);
    assert_null(s);
    assert_int_equal(r.err, 1);

    msg = malloc(3);
    assert_non_null(msg);
    memcpy(msg, "abc", 3);
    pgproto_reader_init(&r, msg, 3);
    assert_int_equal(pgproto_get_cstr(&r, &s), -1);
    assert_int_equal(r.pos, 0);
    free(msg);

    pgproto_reader_init(&r, two, 0);
    assert_int_equal(pgproto_get_cstr(&r, &s), -1);
}

/* What the writer builds, the reader reads back field by field. */
static void test_roundtrip_error(void **state)
{
    struct pgbuf b;
    struct pgproto_reader r;
    const char *s;
    uint8_t code;

    pgbuf_init(&b);
    pgproto_error(&b, 'E', "FATAL", "28P01", "password authentication failed", NULL, "h");
    assert_int_equal(b.data[0], 'E');
    assert_int_equal(pgproto_load_u32(b.data + 1), b.len - 1);
    pgproto_reader_init(&r, b.data + 5, b.len - 5);
    assert_int_equal(pgproto_get_u8(&r, &code), 0);
    assert_int_equal(code, 'S');
    assert_int_equal(pgproto_get_cstr(&r, &s), 0);
    assert_string_equal(s, "FATAL");
    assert_int_equal(pgproto_get_u8(&r, &code), 0);
    assert_int_equal(code, 'V');
    assert_int_equal(pgproto_get_cstr(&r, &s), 0);
    assert_int_equal(pgproto_get_u8(&r, &code), 0);
    assert_int_equal(code, 'C');
    assert_int_equal(pgproto_get_cstr(&r, &s), 0);
    assert_string_equal(s, "28P01");
    assert_int_equal(pgproto_get_u8(&r, &code), 0);
    assert_int_equal(code, 'M');
    assert_int_equal(pgproto_get_cstr(&r, &s), 0);
    assert_string_equal(s, "password authentication failed");
    assert_int_equal(pgproto_get_u8(&r, &code), 0);
    assert_int_equal(code, 'H');
    assert_int_equal(pgproto_get_cstr(&r, &s), 0);
    assert_string_equal(s, "h");
    assert_int_equal(pgproto_get_u8(&r, &code), 0);
    assert_int_equal(code, 0);
    assert_int_equal(pgproto_remaining(&r), 0);
    pgbuf_free(&b);
}

/* A name as a quoted SQL identifier: quotes doubled, anything else as it is. */
static void test_put_ident(void **state)
{
    struct pgbuf b;
    pgbuf_init(&b);
    pgproto_put_ident(&b, "plain", 5);
    pgproto_put_ident(&b, "a\"b\"\"", 5);
    pgproto_put_ident(&b, "", 0);
    pgproto_put_ident(&b, "caf\xc3\xa9 x", 7);
    const char want[] = "\"plain\"\"a\"\"b\"\"\"\"\"\"\"\"caf\xc3\xa9" " x\"";
    assert_int_equal(b.len, sizeof(want) - 1);
    assert_memory_equal(b.data, want, b.len);
    pgbuf_free(&b);
}

/* boolin's and a Boolean setting's spellings: any case, unique prefixes, blanks around. */
static void test_bool_parse(void **state)
{
    static const struct {
        const char *text;
        int want;
    } cases[] = {
        { "true", 1 }, { "TR", 1 }, { "t", 1 }, { "yes", 1 }, { "Y", 1 }, { "on", 1 }, { "1", 1 },
        { "  off ", 0 }, { "of", 0 }, { "f", 0 }, { "NO", 0 }, { "0", 0 }, { "false", 0 },
        { "o", -1 }, { "", -1 }, { "truest", -1 }, { "2", -1 }, { "onn", -1 },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(pgproto_bool_parse(cases[i].text, strlen(cases[i].text)), cases[i].want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready),
        cmocka_unit_test(test_bool_parse),
        cmocka_unit_test(test_auth_request),
        cmocka_unit_test(test_parameter_status),
        cmocka_unit_test(test_backend_key),
        cmocka_unit_test(test_command_complete_and_empty),
        cmocka_unit_test(test_error_minimal),
        cmocka_unit_test(test_notice_with_detail_and_hint),
        cmocka_unit_test(test_row_description),
        cmocka_unit_test(test_data_row),
        cmocka_unit_test(test_startup_untyped),
        cmocka_unit_test(test_several_messages),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_reset_keeps_allocation),
        cmocka_unit_test(test_oom_poisons),
        cmocka_unit_test(test_reader_ints),
        cmocka_unit_test(test_reader_truncated),
        cmocka_unit_test(test_reader_cstr),
        cmocka_unit_test(test_roundtrip_error),
        cmocka_unit_test(test_put_ident),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
