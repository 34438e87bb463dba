/*-------------------------------------------------------------------------
 *
 * engine_batch.c
 *	  A batch of a plain INSERT ... VALUES ($1, ..., $n) as one set-oriented
 *	  insert: PostgreSQL's COPY FROM machinery fed the parameter sets.
 *
 * Executed once per set, such an INSERT costs an executor start-up, a plan
 * and a single-row heap and index insertion per row.  COPY FROM does the
 * same work per batch instead: one executor state, tuples buffered and
 * inserted with heap_multi_insert, their index entries and WAL records in
 * bulk.  So the direct path hands an eligible batch to BeginCopyFrom and
 * CopyFrom, with the parameter sets as the rows: our CopyFromRoutine's
 * OneRow converts a set's values the way Bind converts parameters (the
 * input function with typmod -1, in the client encoding, with Bind's error
 * context), then applies the column's typmod coercion as the INSERT's plan
 * would; CopyFrom adds the defaults, generated columns and constraints.
 *
 * Eligible is what behaves the same either way:
 *	- the statement is INSERT INTO t [(cols)] VALUES ($1, ..., $n), each
 *	  parameter once and in order, no WITH, ON CONFLICT, RETURNING or
 *	  OVERRIDING, and its parameters have the columns' types (as Parse
 *	  inferred them);
 *	- t is a plain table, not a catalog, with no rules, no row-level security
 *	  in force and no INSERT trigger at all: a trigger sees the difference
 *	  (statement triggers fire once, AFTER ROW triggers at the end, BEFORE ROW
 *	  triggers' queries do not see the earlier rows).  Foreign keys are
 *	  triggers, so a table with one takes the row-by-row path;
 *	- no target column is generated or GENERATED ALWAYS AS IDENTITY (the
 *	  INSERT refuses a value there; COPY would take it), and a typmod
 *	  coercion, if any, is a plain function.
 * The privileges checked are INSERT on the target columns, as the INSERT's
 * executor checks them; a read-only transaction refuses it as an INSERT.
 *
 * What differs: one statement instead of n (log_statement logs it once,
 * pg_stat_statements counts one call; statement_timeout is restarted per row
 * and statement_timestamp() advances per row, as before), and the command tag
 * is "INSERT 0 <rows>".  An error names the failing set (the row's line
 * number in COPY's terms), and COPY's own error context line is removed, so
 * that the error reads as the row-by-row path's.
 *
 * Which error comes first: COPY checks a row's values and constraints as it
 * buffers the row, but inserts the index entries of the buffered rows only
 * when it flushes them; so an error in set k could hide a unique violation
 * of an earlier set still in the buffer, which row by row reports instead.
 * A table with an index therefore takes the batch in a subtransaction: on an
 * error it is rolled back and the batch runs row by row, whose error is the
 * one to report (a cancel or a shutdown is reported as it is).  A table
 * without one fails exactly where row by row fails.
 *
 * The buffer holds at most ROWS_PER_FLUSH rows (COPY's own limit is 1000):
 * each buffered row's slot pins the table's tuple descriptor in the resource
 * owner, whose hash puts every pin of the same descriptor in the same bucket,
 * so that pinning and releasing k of them costs k * k / 2 probes (25% of a
 * 25 000-row batch's instructions at 1000).
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/engine_batch.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		engine_batch_insert		- run a direct request's batch as one insert, if eligible
 *		engine_batch_done		- log and complete a batch that ran as one statement
 *------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "commands/copy.h"
#include "commands/copyapi.h"
#include "commands/copyfrom_internal.h"
#include "executor/executor.h"
#include "mb/pg_wchar.h"
#include "mb/stringinfo_mb.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parse_coerce.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "parser/parsetree.h"
#include "storage/proc.h"
#include "tcop/dest.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/rls.h"
#include "utils/timeout.h"

#include "pgembed_engine.h"

/*
 * Rows buffered before COPY flushes them: the multi-insert buffer flushes at
 * 64 kB of line_buf bytes, and every row is counted at least this share.
 */
#define ROWS_PER_FLUSH 128
#define MIN_ROW_BYTES (65535 / ROWS_PER_FLUSH + 1)

/* The batch CopyFrom is reading, for the OneRow routine. */
typedef struct
{
	const pgembed_direct *req;
	int			next;			/* the next set to hand out */
	AttrNumber *attnums;		/* the target column of each parameter */
	FmgrInfo   *recv;			/* per parameter: receive function (binary
								 * sets) */
	Oid		   *recv_ioparam;
	FmgrInfo   *coerce;			/* per parameter: typmod coercion, or fn_oid 0 */
	const CopyFromRoutine *text_routine;	/* the routine BeginCopyFrom chose */
	int			paramno;		/* for the error context: the parameter being
								 * read */
	const char *paramval;
} BatchState;

/* routines only used in this file */
static List *target_columns(Relation rel, InsertStmt *stmt, CachedPlanSource *psrc, AttrNumber *attnums);
static bool statement_eligible(Node *rawstmt, int nparams);
static bool relation_eligible(Relation rel);
static bool batch_one_row(CopyFromState cstate, ExprContext *econtext, Datum *values, bool *nulls);
static void batch_end(CopyFromState cstate);
static void batch_param_error_callback(void *arg);
static int	batch_source(void *outbuf, int minread, int maxread);
static void strip_copy_context(ErrorData *edata, const char *relname);

static BatchState *current = NULL;

static const CopyFromRoutine batch_routine = {
	.CopyFromInFunc = NULL,		/* BeginCopyFrom is over when it is used */
	.CopyFromStart = NULL,
	.CopyFromOneRow = batch_one_row,
	.CopyFromEnd = batch_end,
};

/*
 * Runs the request's batch as one insert and sends its CommandComplete, when
 * the statement and its table are eligible; false (nothing done) otherwise.
 * Runs in the direct path's transaction command, with a snapshot set.
 */
bool
engine_batch_insert(struct CachedPlanSource *psrc, pgembed_direct *req)
{
	InsertStmt *stmt = (InsertStmt *) psrc->raw_parse_tree->stmt;
	CachedPlan *cplan;
	PlannedStmt *pstmt;
	Oid			relid;
	Relation	rel;
	ParseState *pstate;
	ParseNamespaceItem *nsitem;
	List	   *attnamelist;
	BatchState	batch;
	CopyFromState cstate;
	uint64		processed = 0;
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	bool		subxact;
	volatile bool done = false;

	if (req->nsets < 2 || current != NULL || !statement_eligible((Node *) stmt, req->nparams))
		return false;

	/* the plan: revalidated, the table resolved and locked as the INSERT's */
	cplan = GetCachedPlan(psrc, NULL, CurrentResourceOwner, NULL);
	pstmt = linitial_node(PlannedStmt, cplan->stmt_list);
	if (list_length(cplan->stmt_list) != 1 || pstmt->commandType != CMD_INSERT ||
		list_length(pstmt->resultRelations) != 1)
	{
		ReleaseCachedPlan(cplan, CurrentResourceOwner);
		return false;
	}
	relid = rt_fetch(linitial_int(pstmt->resultRelations), pstmt->rtable)->relid;
	ReleaseCachedPlan(cplan, CurrentResourceOwner);

	rel = table_open(relid, RowExclusiveLock);
	memset(&batch, 0, sizeof(batch));
	batch.paramno = -1;
	batch.attnums = palloc0_array(AttrNumber, req->nparams);
	if (!relation_eligible(rel) ||
		(attnamelist = target_columns(rel, stmt, psrc, batch.attnums)) == NIL)
	{
		table_close(rel, NoLock);
		return false;
	}

	/*
	 * INSERT's checks: privileges on the target columns, a read-only
	 * transaction
	 */
	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = psrc->query_string;
	nsitem = addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, NULL, false, false);
	nsitem->p_perminfo->requiredPerms = ACL_INSERT;
	for (int i = 0; i < req->nparams; i++)
		nsitem->p_perminfo->insertedCols =
			bms_add_member(nsitem->p_perminfo->insertedCols,
						   batch.attnums[i] - FirstLowInvalidHeapAttributeNumber);
	ExecCheckPermissions(pstate->p_rtable, list_make1(nsitem->p_perminfo), true);
	if (XactReadOnly && !rel->rd_islocaltemp)
		PreventCommandIfReadOnly("INSERT");

	/* what OneRow needs beyond COPY's input functions */
	batch.req = req;
	batch.coerce = palloc0_array(FmgrInfo, req->nparams);
	for (int i = 0; i < req->nparams; i++)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), batch.attnums[i] - 1);
		Oid			funcid;

		if (att->atttypmod >= 0 &&
			find_typmod_coercion_function(att->atttypid, &funcid) == COERCION_PATH_FUNC)
			fmgr_info(funcid, &batch.coerce[i]);
		if (req->formats != NULL)
		{
			Oid			typreceive;

			if (batch.recv == NULL)
			{
				batch.recv = palloc0_array(FmgrInfo, req->nparams);
				batch.recv_ioparam = palloc0_array(Oid, req->nparams);
			}
			getTypeBinaryInputInfo(att->atttypid, &typreceive, &batch.recv_ioparam[i]);
			fmgr_info(typreceive, &batch.recv[i]);
		}
	}

	/*
	 * With an index, in a subtransaction, as PL/pgSQL's exception blocks run
	 * theirs: see "Which error comes first" above.
	 */
	subxact = RelationGetIndexList(rel) != NIL;
	if (subxact)
	{
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(oldcontext);
	}
	cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, batch_source, attnamelist, NIL);
	batch.text_routine = cstate->routine;
	cstate->routine = &batch_routine;
	cstate->line_buf_valid = false;
	current = &batch;
	PG_TRY();
	{
		processed = CopyFrom(cstate);
		if (subxact)
		{
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcontext);
			CurrentResourceOwner = oldowner;
		}
		done = true;
	}
	PG_CATCH();
	{
		MemoryContext ecxt = MemoryContextSwitchTo(MessageContext);
		ErrorData  *edata = CopyErrorData();

		FlushErrorState();
		MemoryContextSwitchTo(ecxt);
		current = NULL;
		if (!subxact || edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN || edata->elevel > ERROR)
		{
			req->failed_in_bind = batch.paramno >= 0;
			req->failed_set = cstate->cur_lineno > 0 ? (int64) cstate->cur_lineno - 1 : 0;
			strip_copy_context(edata, RelationGetRelationName(rel));
			ReThrowError(edata);
		}
		/* row by row tells which error comes first */
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
		FreeErrorData(edata);
	}
	PG_END_TRY();
	EndCopyFrom(cstate);
	current = NULL;
	table_close(rel, NoLock);
	free_parsestate(pstate);
	if (!done)
		return false;

	engine_batch_done(psrc, req, CMDTAG_INSERT, processed);
	return true;
}

/*
 * A batch that ran as one statement: its log_statement line (once for the
 * batch, which was one statement; after it, since a batch rolled back runs
 * row by row, whose sets are logged) and its CommandComplete.
 */
void
engine_batch_done(CachedPlanSource *psrc, const pgembed_direct *req, CommandTag tag, uint64 processed)
{
	QueryCompletion qc;

	if (log_statement == LOGSTMT_ALL || log_statement == LOGSTMT_MOD)
		ereport(LOG,
				(errmsg("execute %s: %s", req->stmt, psrc->query_string),
				 errdetail("%d parameter sets, %s as one batch.", req->nsets,
						   tag == CMDTAG_INSERT ? "inserted" : "updated"),
				 errhidestmt(true)));
	InitializeQueryCompletion(&qc);
	SetQueryCompletion(&qc, tag, processed);
	EndCommand(&qc, DestRemote, false);
}

/* INSERT INTO t [(cols)] VALUES ($1, ..., $n) and nothing more. */
static bool
statement_eligible(Node *rawstmt, int nparams)
{
	InsertStmt *stmt;
	SelectStmt *values;
	List	   *row;
	int			n = 0;

	if (!IsA(rawstmt, InsertStmt))
		return false;
	stmt = (InsertStmt *) rawstmt;
	if (stmt->withClause || stmt->onConflictClause || stmt->returningClause ||
		stmt->override != OVERRIDING_NOT_SET || stmt->selectStmt == NULL ||
		!IsA(stmt->selectStmt, SelectStmt))
		return false;
	values = (SelectStmt *) stmt->selectStmt;
	if (list_length(values->valuesLists) != 1 || values->withClause || values->sortClause ||
		values->limitCount || values->limitOffset || values->lockingClause)
		return false;
	row = linitial(values->valuesLists);
	if (list_length(row) != nparams || nparams == 0)
		return false;
	foreach_node(Node, item, row)
	{
		if (!IsA(item, ParamRef) || ((ParamRef *) item)->number != ++n)
			return false;
	}
	foreach_node(ResTarget, col, stmt->cols)
	{
		if (col->indirection != NIL)
			return false;
	}
	return stmt->cols == NIL || list_length(stmt->cols) == nparams;
}

static bool
relation_eligible(Relation rel)
{
	TriggerDesc *trig = rel->trigdesc;

	if (rel->rd_rel->relkind != RELKIND_RELATION || IsCatalogRelation(rel) || rel->rd_rules != NULL)
		return false;
	if (trig != NULL &&
		(trig->trig_insert_before_row || trig->trig_insert_after_row ||
		 trig->trig_insert_instead_row || trig->trig_insert_before_statement ||
		 trig->trig_insert_after_statement || trig->trig_insert_new_table))
		return false;
	return check_enable_rls(RelationGetRelid(rel), InvalidOid, true) != RLS_ENABLED;
}

/*
 * The columns the VALUES items go to, as INSERT assigns them: the named ones,
 * or the table's in order.  NIL when one is not for this path.  attnums gets
 * each parameter's column.
 */
static List *
target_columns(Relation rel, InsertStmt *stmt, CachedPlanSource *psrc, AttrNumber *attnums)
{
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *names = NIL;
	int			i = 0;

	if (stmt->cols != NIL)
	{
		foreach_node(ResTarget, col, stmt->cols)
		{
			AttrNumber	attnum = attnameAttNum(rel, col->name, false);

			if (attnum <= 0)
				return NIL;		/* a system column or none: INSERT reports it */
			for (int j = 0; j < i; j++)
				if (attnums[j] == attnum)
					return NIL; /* twice: INSERT reports it */
			attnums[i++] = attnum;
		}
	}
	else
	{
		for (int a = 0; a < desc->natts && i < psrc->num_params; a++)
			if (!TupleDescAttr(desc, a)->attisdropped)
				attnums[i++] = a + 1;
		if (i < psrc->num_params)
			return NIL;			/* more values than columns: INSERT reports it */
	}
	for (i = 0; i < psrc->num_params; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, attnums[i] - 1);

		if (att->attgenerated || att->attidentity == ATTRIBUTE_IDENTITY_ALWAYS ||
			att->atttypid != psrc->param_types[i])
			return NIL;
		if (att->atttypmod >= 0)
		{
			Oid			funcid;
			CoercionPathType path = find_typmod_coercion_function(att->atttypid, &funcid);

			if (path != COERCION_PATH_FUNC && path != COERCION_PATH_NONE)
				return NIL;
		}
		names = lappend(names, makeString(pstrdup(NameStr(att->attname))));
	}
	return names;
}

/*
 * CopyFromOneRow: the next parameter set as a row.  The values go through the
 * input (or receive) functions as Bind's parameters do, then through the
 * typmod coercion the INSERT's plan would apply.
 */
static bool
batch_one_row(CopyFromState cstate, ExprContext *econtext, Datum *values, bool *nulls)
{
	BatchState *b = current;
	const pgembed_direct *req = b->req;
	int			set;
	const char *const *vals;
	const int32_t *lengths;
	const int32_t *formats;
	ErrorContextCallback errcallback;
	int			bytes = 0;

	if (b->next >= req->nsets)
		return false;
	set = b->next++;
	vals = req->values + (size_t) set * req->nparams;
	lengths = req->lengths ? req->lengths + (size_t) set * req->nparams : NULL;
	formats = req->formats ? req->formats + (size_t) set * req->nparams : NULL;
	cstate->cur_lineno = set + 1;

	/* each row as the statement it replaces: its start time and timeout */
	SetCurrentStatementStartTimestamp();
	if (StatementTimeout > 0 &&
		(StatementTimeout < TransactionTimeout || TransactionTimeout == 0))
	{
		if (get_timeout_active(STATEMENT_TIMEOUT))
			disable_timeout(STATEMENT_TIMEOUT, false);
		enable_timeout_after(STATEMENT_TIMEOUT, StatementTimeout);
	}

	errcallback.callback = batch_param_error_callback;
	errcallback.arg = b;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	for (int i = 0; i < req->nparams; i++)
	{
		int			m = b->attnums[i] - 1;
		bool		isnull = vals[i] == NULL;
		int			format = formats ? formats[i] : 0;

		b->paramno = i;
		b->paramval = NULL;
		if (format == 0)
		{
			char	   *pstring = NULL;

			if (!isnull)
			{
				int			len = req->text_lengths ? lengths[i] : strlen(vals[i]);

				pstring = pg_client_to_server(req->text_lengths ? pnstrdup(vals[i], len) : vals[i], len);
				bytes += len;
			}
			b->paramval = pstring;
			values[m] = InputFunctionCall(&cstate->in_functions[m], pstring, cstate->typioparams[m], -1);
		}
		else if (format == 1)
		{
			StringInfoData pbuf;

			if (!isnull)
			{
				initReadOnlyStringInfo(&pbuf, (char *) vals[i], lengths ? lengths[i] : 0);
				bytes += pbuf.len;
			}
			values[m] = ReceiveFunctionCall(&b->recv[i], isnull ? NULL : &pbuf, b->recv_ioparam[i], -1);
			if (!isnull && pbuf.cursor != pbuf.len)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
						 errmsg("incorrect binary data format in bind parameter %d", i + 1)));
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unsupported format code: %d", format)));
		nulls[m] = isnull;
	}
	b->paramno = -1;
	error_context_stack = errcallback.previous;

	/* the column's typmod, as the INSERT's target list coerces to it */
	for (int i = 0; i < req->nparams; i++)
	{
		int			m = b->attnums[i] - 1;

		if (!nulls[m] && b->coerce[i].fn_oid != InvalidOid)
			values[m] = FunctionCall3(&b->coerce[i], values[m],
									  Int32GetDatum(TupleDescAttr(RelationGetDescr(cstate->rel), m)->atttypmod),
									  BoolGetDatum(false));
	}

	/*
	 * the multi-insert buffer's memory accounting counts line_buf's length
	 * (no fewer than MIN_ROW_BYTES: see ROWS_PER_FLUSH)
	 */
	cstate->line_buf.len = Max(bytes, MIN_ROW_BYTES);
	return true;
}

static void
batch_end(CopyFromState cstate)
{
	BatchState *b = current;

	if (b != NULL && b->text_routine->CopyFromEnd != NULL)
		b->text_routine->CopyFromEnd(cstate);
}

/* Bind's context for a parameter's input error (postgres.c's bind_param_error_callback). */
static void
batch_param_error_callback(void *arg)
{
	BatchState *b = (BatchState *) arg;

	if (b->paramno < 0)
		return;
	if (b->paramval != NULL)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfoStringQuoted(&buf, b->paramval, log_parameter_max_length_on_error);
		errcontext("unnamed portal parameter $%d = %s", b->paramno + 1, buf.data);
	}
	else
		errcontext("unnamed portal parameter $%d", b->paramno + 1);
}

/* BeginCopyFrom wants a data source; the rows come from OneRow, so it is never read. */
static int
batch_source(void *outbuf, int minread, int maxread)
{
	return 0;
}

/*
 * COPY's error context callback says which line failed ("COPY t, line 5,
 * column a: ..."): the row-by-row path's error has no such line, and the
 * failing set is reported apart.  Its line is the outermost, the last.
 */
static void
strip_copy_context(ErrorData *edata, const char *relname)
{
	char	   *context = edata->context;
	char	   *last;
	char		prefix[NAMEDATALEN + 8];

	if (context == NULL)
		return;
	snprintf(prefix, sizeof(prefix), "COPY %s", relname);
	last = strrchr(context, '\n');
	last = last ? last + 1 : context;
	if (strncmp(last, prefix, strlen(prefix)) != 0)
		return;
	if (last == context)
		edata->context = NULL;
	else
		last[-1] = '\0';
}
