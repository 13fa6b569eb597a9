/*
 * translate_cli: "pgiris translate", which shows what the translator makes
 * of a statement, for administrators checking a query before pointing an
 * application at IRIS.
 */
#ifndef PGIRIS_TRANSLATE_CLI_H
#define PGIRIS_TRANSLATE_CLI_H

/*
 * pgiris translate [--dialect iris|sqlite|postgres] [--schema NAME] ['SQL']
 * Without SQL, reads stdin.  Each statement's backend SQL goes to stdout,
 * followed by a "-- " line describing its record; errors go to stderr as
 * "ERROR <sqlstate>: <message>".  argv[0] is "translate".  Returns 0, 1 if
 * a statement failed to translate, 2 for a usage error.
 */
int translate_cli_main(int argc, char **argv);

#endif
