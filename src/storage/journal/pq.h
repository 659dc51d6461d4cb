/* libpq, loaded when a PostgreSQL journal is first opened (dlopen), not linked: its
 * dependencies (Kerberos, LDAP, TLS: some 20 libraries) would otherwise be mapped and
 * relocated at the start of every command, a third of a short command's start-up. */
#ifndef LH_STORAGE_JOURNAL_PQ_H
#define LH_STORAGE_JOURNAL_PQ_H

#include <libpq-fe.h>

#include "lakehouse/error.h"

/* The libpq functions the journal uses. */
typedef struct lh__pq_api {
  PGconn *(*connectdb)(const char *conninfo);
  ConnStatusType (*status)(const PGconn *conn);
  char *(*error_message)(const PGconn *conn);
  void (*finish)(PGconn *conn);
  PGresult *(*exec)(PGconn *conn, const char *query);
  PGresult *(*exec_params)(PGconn *conn, const char *command, int n, const Oid *types,
                           const char *const *values, const int *lengths, const int *formats,
                           int result_format);
  PGresult *(*get_result)(PGconn *conn);
  ExecStatusType (*result_status)(const PGresult *res);
  int (*ntuples)(const PGresult *res);
  char *(*getvalue)(const PGresult *res, int row, int col);
  int (*getisnull)(const PGresult *res, int row, int col);
  void (*clear)(PGresult *res);
  void (*freemem)(void *ptr);
  char *(*escape_literal)(PGconn *conn, const char *str, size_t len);
  int (*put_copy_data)(PGconn *conn, const char *buffer, int nbytes);
  int (*put_copy_end)(PGconn *conn, const char *errormsg);
  int (*get_copy_data)(PGconn *conn, char **buffer, int async);
} lh__pq_api;

/* Filled by lh__pq_load; call nothing in it before that returned 0. */
extern lh__pq_api lh__pq;

/* Load libpq once per process (thread-safe): 0, or LH_EIO with err set when the library or
 * one of its functions cannot be found. */
int lh__pq_load(lh_error *err);

#endif
