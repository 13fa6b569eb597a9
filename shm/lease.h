/*
 * lease: what travels through a backend slot's rings while a worker holds it.
 *
 * Both directions use PostgreSQL's framing (type byte, then a 4-byte
 * big-endian length that counts itself), so the worker forwards executor
 * output without re-framing it.
 *
 * Requests (worker -> executor):
 *   'Q'  verb NUL sql          run one statement (verb names its command tag)
 *   'B'  tag NUL               begin a transaction
 *   'C'  tag NUL               commit
 *   'R'  tag NUL               roll back
 *   'X'                        end of lease: reset the connection, back to the pool
 * Responses (executor -> worker): PostgreSQL messages, and after each
 * request but 'X' one LEASE_DONE record:
 *   0x01 txstatus flags        txstatus 'I', 'T' or 'E'
 */
#ifndef PGIRIS_LEASE_H
#define PGIRIS_LEASE_H

#include <stdint.h>

#define LEASE_REQ_EXEC 'Q'
#define LEASE_REQ_BEGIN 'B'
#define LEASE_REQ_COMMIT 'C'
#define LEASE_REQ_ROLLBACK 'R'
#define LEASE_REQ_RELEASE 'X'

#define LEASE_DONE 0x01
#define LEASE_DONE_LEN 7            /* type + length + txstatus + flags */
#define LEASE_F_ERROR 0x01          /* the request ended in an ErrorResponse */
#define LEASE_F_BROKEN 0x02         /* the backend connection is gone; slot released */

#endif
