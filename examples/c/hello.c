/*
 * hello.c: the smallest pgembed program in C.
 *
 *   cc hello.c -I<dir of pgembedded.h> -L<dir of libpgembed.so> -lpgembed -Wl,-rpath,<same dir>
 *   ./a.out /tmp/hello-db
 *
 * Creates a database in the directory given (if it is not one yet), opens it
 * inside this process and prints the server version.
 */
#include <stdio.h>

#include "pgembedded.h"

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "hello-db";
	pgembed_error *error = NULL;
	pgembed_engine *db;
	pgembed_result *result;

	if (!pgembed_is_cluster(dir) && pgembed_create_cluster(dir, &error) != 0)
	{
		fprintf(stderr, "could not create %s: %s\n", dir, pgembed_error_message(error));
		pgembed_error_free(error);
		return 1;
	}
	db = pgembed_open(dir, "postgres", 0, NULL, &error);
	if (db == NULL)
	{
		fprintf(stderr, "could not open %s: %s (SQLSTATE %s)\n", dir,
				pgembed_error_message(error), pgembed_error_sqlstate(error));
		pgembed_error_free(error);
		return 1;
	}
	result = pgembed_exec(db, "SELECT version()");
	if (pgembed_result_status(result) == PGEMBED_TUPLES_OK)
		printf("%s\n", pgembed_result_value(result, 0, 0));
	else
		fprintf(stderr, "query failed: %s\n", pgembed_error_message(pgembed_result_error(result)));
	pgembed_result_free(result);
	return pgembed_close(db, NULL) == 0 ? 0 : 1;
}
