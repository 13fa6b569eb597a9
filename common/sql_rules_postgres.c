/*
 * sql_rules_postgres: the rule set for a PostgreSQL backend.  The statement
 * already is PostgreSQL, so only what the ODBC layer cares about changes.
 */
#include "common/sql_rules.h"

const struct sql_rule sql_rules_postgres[] = {
    { "trim_semicolons", sql_rule_trim_semicolons, NULL },
};
const size_t sql_rules_postgres_n = sizeof(sql_rules_postgres) / sizeof(sql_rules_postgres[0]);
