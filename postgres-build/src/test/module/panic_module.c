/*
 * panic_module.c
 *	  A module loaded only by the C tests: SQL-callable functions that end the
 *	  backend the hard ways (PANIC, FATAL) on request, which SQL alone cannot reach
 *	  on a healthy system.
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(pgembed_test_panic);
PG_FUNCTION_INFO_V1(pgembed_test_fatal);

Datum
pgembed_test_panic(PG_FUNCTION_ARGS)
{
	elog(PANIC, "pgembed test: PANIC on request");
	PG_RETURN_VOID();
}

Datum
pgembed_test_fatal(PG_FUNCTION_ARGS)
{
	elog(FATAL, "pgembed test: FATAL on request");
	PG_RETURN_VOID();
}
