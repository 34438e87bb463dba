/*-------------------------------------------------------------------------
 *
 * engine_batch_update.c
 *	  A batch of UPDATE t SET ... WHERE key = $k as one set-oriented update:
 *	  the parameter sets become arrays that the statement joins to the table.
 *
 * Executed once per set, such an UPDATE costs an executor start-up, a scan
 * set-up and an index probe per set besides the row's update itself (about
 * 65k instructions a set for the speed test's "UPDATE t2 SET b = $1 WHERE
 * a = $2", of which 30k are the update).  Here the batch runs as
 *
 *		UPDATE t SET ... FROM ROWS FROM (unnest($1), ..., unnest($n))
 *			AS pgembed_batch(p1, ..., pn)
 *		WHERE key = pgembed_batch.pk
 *
 * (the statement's own text, each $i replaced by pgembed_batch.pi, the FROM
 * item put before its WHERE), planned with the arrays as constants: one
 * executor, one join, each row updated once.
 *
 * Eligible is what has the same outcome either way, whatever order the rows
 * are updated in:
 *	- the statement is UPDATE t SET col = expr, ... WHERE col = $k, with no
 *	  WITH, FROM, RETURNING, sub-select, set-returning or volatile function,
 *	  and no SET of the key column; the key is int2, int4 or int8 and the
 *	  equality that type's own, so that distinct values are distinct bits;
 *	- the key values of the sets are distinct and not NULL: each row is then
 *	  matched by one set at most, and sees none of the other sets' changes,
 *	  as row by row it would not either;
 *	- t is a plain table, not a catalog, without child tables, rules,
 *	  row-level security in force or any trigger (foreign keys are triggers),
 *	  and no SET column is in a unique or exclusion index (a uniqueness check
 *	  per row depends on the order of the rows).
 * With statement_timeout set, the batch stays row by row: the timeout would
 * count for the whole batch instead of per set.
 * The sets' conversions and the set-oriented statement run in a
 * subtransaction: when they fail (a value that does not convert, a
 * constraint, a value too long for its column), it is rolled back and the
 * batch runs row by row instead, which names the failing set as before (and
 * counts the sets before it).  A cancel or a timeout is not retried.
 *
 * Few sets against a big table (pgjdbc's chunks of 256) are joined by
 * probing the key's index once per set when there is one (probe_by_index):
 * the planner would scan the whole table for each chunk.
 *
 * What differs: one statement instead of n (log_statement logs it once, after
 * it ran, its
 * snapshot is taken once, as a COPY's; statement_timestamp() does not
 * advance per set), and the command tag is "UPDATE <rows>" for the batch.
 *
 * A protocol client's batch (front_protocol_batch.c) needs a count per set,
 * as each Execute's CommandComplete has it: given set_counts, the joined
 * statement numbers the sets (WITH ORDINALITY) and returns the number of
 * the set that updated each row (RETURNING pgembed_batch.ord) to a
 * DestReceiver that counts them.  The keys being distinct, each row is
 * counted for the one set whose key it has, as that set's Execute would
 * have counted it.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/engine_batch_update.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		engine_batch_update		- run a direct request's batch as one update, if eligible
 *------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_type.h"
#include "common/keywords.h"
#include "executor/executor.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "parser/scanner.h"
#include "tcop/dest.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "storage/bufmgr.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "pgembed_engine.h"

/* the most $i references a statement may have for this path */
#define MAX_BATCH_PARAM_REFS 256

/* The statement's parameters, as the raw parse tree has them. */
typedef struct
{
	int			nrefs;
	ParamRef   *refs[MAX_BATCH_PARAM_REFS];
} ParamRefs;

/* A DestReceiver counting the rows RETURNING gives each set's number. */
typedef struct
{
	DestReceiver pub;
	int64_t    *counts;
	int			nsets;
} CountDest;

/* routines only used in this file */
static int	key_param(Query *query);
static bool probe_by_index(Relation rel, Query *query, int nsets);
static bool statement_eligible(CachedPlanSource *psrc, Query *query);
static bool relation_eligible(Relation rel, Query *query);
static bool collect_param_refs(Node *node, ParamRefs *refs);
static char *joined_text(CachedPlanSource *psrc, ParamRefs *refs, bool counted);
static int	where_offset(const char *stmt);
static bool keys_distinct(Datum *keys, bool *nulls, int nsets, Oid type);
static int	int64_cmp(const void *a, const void *b);
static bool convert_and_run(CachedPlanSource *psrc, pgembed_direct *req, int key, const char *sql,
							Oid relid, bool probe, uint64 *processed);
static uint64 run_joined(const char *sql, Oid *argtypes, ParamListInfo arrays, int nparams, Oid relid,
						 bool probe, pgembed_direct *req);
static bool count_receive(TupleTableSlot *slot, DestReceiver *self);
static void count_startup(DestReceiver *self, int operation, TupleDesc typeinfo);
static void count_nothing(DestReceiver *self);

/*
 * Runs the request's batch as one update and sends its CommandComplete, when
 * the statement, its table and the sets are eligible; false (nothing done,
 * or all of it rolled back) otherwise.  Runs in the direct path's transaction
 * command, with a snapshot set.
 */
bool
engine_batch_update(CachedPlanSource *psrc, pgembed_direct *req)
{
	Query	   *query;
	CachedPlan *cplan;
	Oid			relid;
	Relation	rel;
	int			key;
	ParamRefs	refs;
	char	   *sql;
	uint64		processed = 0;
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool done = false;
	bool		probe;

	/*
	 * statement_timeout counts per set row by row; one statement would be
	 * cancelled where the sets would not
	 */
	if (req->nsets < 2 || req->nparams < 1 || StatementTimeout > 0 ||
		!IsA(psrc->raw_parse_tree->stmt, UpdateStmt))
		return false;

	/* the plan revalidated (the statement may have changed), the table locked */
	cplan = GetCachedPlan(psrc, NULL, CurrentResourceOwner, NULL);
	ReleaseCachedPlan(cplan, CurrentResourceOwner);
	if (list_length(psrc->query_list) != 1)
		return false;
	query = linitial_node(Query, psrc->query_list);
	if (!statement_eligible(psrc, query))
		return false;
	relid = rt_fetch(query->resultRelation, query->rtable)->relid;
	rel = table_open(relid, RowExclusiveLock);
	key = relation_eligible(rel, query) ? key_param(query) : -1;
	probe = key >= 0 && probe_by_index(rel, query, req->nsets);
	table_close(rel, NoLock);
	if (key < 0)
		return false;
	refs.nrefs = 0;
	if (collect_param_refs((Node *) ((UpdateStmt *) psrc->raw_parse_tree->stmt)->targetList, &refs) ||
		collect_param_refs(((UpdateStmt *) psrc->raw_parse_tree->stmt)->whereClause, &refs) ||
		(sql = joined_text(psrc, &refs, req->set_counts != NULL)) == NULL)
		return false;

	/*
	 * In a subtransaction, as PL/pgSQL's exception blocks run theirs: a
	 * failure (converting a set's values, or running the update) is rolled
	 * back and the batch runs row by row, whose error names the set.
	 */
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		bool		ran = convert_and_run(psrc, req, key, sql, relid, probe, &processed);

		if (ran)
			ReleaseCurrentSubTransaction();
		else
			RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
		done = ran;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();

		/* nothing of the batch ran: the sets are not the error's */
		req->failed_set = -1;
		req->failed_in_bind = false;
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN ||
			edata->elevel > ERROR)
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
		FreeErrorData(edata);
	}
	PG_END_TRY();
	if (!done)
		return false;

	engine_batch_done(psrc, req, CMDTAG_UPDATE, processed);
	return true;
}

/*
 * Converts the sets' values to one array per parameter and runs the joined
 * statement with them: true with the rows it updated in *processed, false
 * when the keys are not distinct (nothing run).  In the caller's
 * subtransaction: its errors are rolled back.
 */
static bool
convert_and_run(CachedPlanSource *psrc, pgembed_direct *req, int key, const char *sql, Oid relid,
				bool probe, uint64 *processed)
{
	Datum	  **values = palloc_array(Datum *, req->nparams);
	bool	  **nulls = palloc_array(bool *, req->nparams);
	Oid		   *argtypes;
	ParamListInfo arrays;

	for (int i = 0; i < req->nparams; i++)
	{
		values[i] = palloc_array(Datum, req->nsets);
		nulls[i] = palloc_array(bool, req->nsets);
	}

	/* each set's values, converted as Bind converts them */
	for (int set = 0; set < req->nsets; set++)
	{
		ParamListInfo p;

		req->failed_set = set;
		req->failed_in_bind = true;
		p = engine_direct_params(psrc, req, set);
		req->failed_in_bind = false;
		req->failed_set = -1;
		for (int i = 0; i < req->nparams; i++)
		{
			values[i][set] = p->params[i].value;
			nulls[i][set] = p->params[i].isnull;
		}
	}
	if (!keys_distinct(values[key], nulls[key], req->nsets, psrc->param_types[key]))
		return false;

	/* the arrays, one per parameter, constants for the planner */
	argtypes = palloc_array(Oid, req->nparams);
	arrays = makeParamList(req->nparams);
	for (int i = 0; i < req->nparams; i++)
	{
		Oid			elemtype = psrc->param_types[i];
		int16		typlen;
		bool		typbyval;
		char		typalign;
		int			dims[1] = {req->nsets};
		int			lbs[1] = {1};

		argtypes[i] = get_array_type(elemtype);
		if (!OidIsValid(argtypes[i]))
			return false;
		get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
		arrays->params[i].value = PointerGetDatum(construct_md_array(values[i], nulls[i], 1, dims, lbs,
																	 elemtype, typlen, typbyval, typalign));
		arrays->params[i].isnull = false;
		arrays->params[i].pflags = PARAM_FLAG_CONST;
		arrays->params[i].ptype = argtypes[i];
	}
	*processed = run_joined(sql, argtypes, arrays, req->nparams, relid, probe, req);
	return true;
}

/*
 * UPDATE t SET ... WHERE ... with nothing that sees the order of the rows or
 * runs another query: the raw statement, then the analyzed one.
 */
static bool
statement_eligible(CachedPlanSource *psrc, Query *query)
{
	UpdateStmt *stmt = (UpdateStmt *) psrc->raw_parse_tree->stmt;

	if (stmt->withClause || stmt->fromClause || stmt->returningClause || stmt->whereClause == NULL)
		return false;
	foreach_node(ResTarget, col, stmt->targetList)
	{
		if (col->indirection != NIL)
			return false;
	}
	if (query->commandType != CMD_UPDATE || query->hasSubLinks || query->hasTargetSRFs ||
		query->hasModifyingCTE || query->hasRowSecurity || query->cteList != NIL ||
		query->returningList != NIL || list_length(query->rtable) != 1 ||
		list_length(query->jointree->fromlist) != 1 || query->mergeActionList != NIL)
		return false;
	return !contain_volatile_functions((Node *) query->targetList) &&
		!contain_volatile_functions(query->jointree->quals);
}

static bool
relation_eligible(Relation rel, Query *query)
{
	List	   *indexes;
	Bitmapset  *setcols = NULL;
	bool		ok = true;

	if (rel->rd_rel->relkind != RELKIND_RELATION || IsCatalogRelation(rel) || rel->rd_rules != NULL ||
		rel->trigdesc != NULL || rel->rd_rel->relhassubclass ||
		check_enable_rls(RelationGetRelid(rel), InvalidOid, true) == RLS_ENABLED)
		return false;
	foreach_node(TargetEntry, tle, query->targetList)
	{
		if (!tle->resjunk)
			setcols = bms_add_member(setcols, tle->resno);
	}

	/* no SET column in a unique or exclusion index (nor in its expressions) */
	indexes = RelationGetIndexList(rel);
	foreach_oid(indexoid, indexes)
	{
		Relation	index = index_open(indexoid, AccessShareLock);
		Form_pg_index form = index->rd_index;

		if (form->indisunique || form->indisexclusion)
		{
			if (RelationGetIndexExpressions(index) != NIL || RelationGetIndexPredicate(index) != NIL)
				ok = false;
			for (int i = 0; ok && i < form->indnatts; i++)
				if (bms_is_member(form->indkey.values[i], setcols))
					ok = false;
		}
		index_close(index, AccessShareLock);
		if (!ok)
			break;
	}
	list_free(indexes);
	return ok;
}

/*
 * The parameter the WHERE compares the key column with (0-based), when the
 * WHERE is exactly "column = $k" on an integer column that is not SET, by
 * the type's own equality; -1 otherwise.
 */
static int
key_param(Query *query)
{
	OpExpr	   *op = (OpExpr *) query->jointree->quals;
	Var		   *var;
	Param	   *param;
	Oid			fn;

	if (op == NULL || !IsA(op, OpExpr) || list_length(op->args) != 2 ||
		!IsA(linitial(op->args), Var) || !IsA(lsecond(op->args), Param))
		return -1;
	var = linitial_node(Var, op->args);
	param = lsecond_node(Param, op->args);
	fn = get_opcode(op->opno);
	if (var->varno != query->resultRelation || var->varlevelsup != 0 || var->varattno <= 0 ||
		param->paramkind != PARAM_EXTERN || param->paramtype != var->vartype ||
		!((fn == F_INT2EQ && var->vartype == INT2OID) || (fn == F_INT4EQ && var->vartype == INT4OID) ||
		  (fn == F_INT8EQ && var->vartype == INT8OID)))
		return -1;
	foreach_node(TargetEntry, tle, query->targetList)
	{
		if (!tle->resjunk && tle->resno == var->varattno)
			return -1;
	}
	return param->paramid - 1;
}

/*
 * Whether the join should probe the key's index once per set rather than
 * scan the table: when the key column leads a plain B-tree index and the
 * sets are few for the table's size (pgjdbc sends a batch in chunks of 256
 * pairs).  The planner, costing index probes as random reads of a disk,
 * prefers a hash join over the whole table there: for the speed test's
 * 256 sets against 25 000 rows about twice the instructions of row by row.
 * Probing the index is what row by row does, less an executor per set.
 */
static bool
probe_by_index(Relation rel, Query *query, int nsets)
{
	Var		   *key = linitial_node(Var, ((OpExpr *) query->jointree->quals)->args);
	List	   *indexes;
	bool		found = false;

	/* a full scan reads every page; a probe about two */
	if ((BlockNumber) nsets >= RelationGetNumberOfBlocks(rel) * 2)
		return false;
	indexes = RelationGetIndexList(rel);
	foreach_oid(indexoid, indexes)
	{
		Relation	index = index_open(indexoid, AccessShareLock);

		if (index->rd_rel->relam == BTREE_AM_OID && index->rd_index->indkey.values[0] == key->varattno &&
			RelationGetIndexPredicate(index) == NIL && index->rd_index->indisvalid)
			found = true;
		index_close(index, AccessShareLock);
		if (found)
			break;
	}
	list_free(indexes);
	return found;
}

/* Every ParamRef under node, in refs; true when there are too many. */
static bool
collect_param_refs(Node *node, ParamRefs *refs)
{
	if (node == NULL)
		return false;
	if (IsA(node, ParamRef))
	{
		if (refs->nrefs == MAX_BATCH_PARAM_REFS)
			return true;
		refs->refs[refs->nrefs++] = (ParamRef *) node;
		return false;
	}
	return raw_expression_tree_walker(node, collect_param_refs, refs);
}

/*
 * The statement's text with the sets joined: each $i becomes
 * pgembed_batch.pi, and the FROM item goes before the WHERE; counted, the
 * sets are numbered (pgembed_batch.ord) and the number returned per row.
 * NULL when the text does not have the expected shape.
 */
static char *
joined_text(CachedPlanSource *psrc, ParamRefs *refs, bool counted)
{
	int			start = psrc->raw_parse_tree->stmt_location;
	int			len = psrc->raw_parse_tree->stmt_len;
	const char *text = psrc->query_string;
	char	   *stmt;
	int			where;
	StringInfoData buf;
	int			pos = 0;
	int			nparams = psrc->num_params;

	if (start < 0)
		start = 0;
	if (len <= 0)
		len = strlen(text +start);
	stmt = pnstrdup(text +start, len);
	where = where_offset(stmt);
	if (where < 0)
		return NULL;
	initStringInfo(&buf);
	for (;;)
	{
		int			next = -1;
		ParamRef   *ref = NULL;

		/* the next $i after pos, in text order */
		for (int i = 0; i < refs->nrefs; i++)
		{
			int			at = refs->refs[i]->location - start;

			if (at >= pos && (next < 0 || at < next))
			{
				next = at;
				ref = refs->refs[i];
			}
		}
		if (where >= pos && (next < 0 || where < next))
		{
			appendBinaryStringInfo(&buf, stmt + pos, where - pos);
			appendStringInfoString(&buf, " FROM ROWS FROM (");
			for (int i = 1; i <= nparams; i++)
				appendStringInfo(&buf, "%spg_catalog.unnest($%d)", i > 1 ? ", " : "", i);
			appendStringInfoString(&buf, counted ? ") WITH ORDINALITY AS pgembed_batch(" : ") AS pgembed_batch(");
			for (int i = 1; i <= nparams; i++)
				appendStringInfo(&buf, "%sp%d", i > 1 ? ", " : "", i);
			appendStringInfoString(&buf, counted ? ", ord) " : ") ");
			pos = where;
			where = -1;
			continue;
		}
		if (next < 0)
			break;
		if (stmt[next] != '$')
			return NULL;
		appendBinaryStringInfo(&buf, stmt + pos, next - pos);
		appendStringInfo(&buf, "pgembed_batch.p%d", ref->number);
		pos = next + 1;
		while (stmt[pos] >= '0' && stmt[pos] <= '9')
			pos++;
	}
	if (where >= 0)
		return NULL;
	appendStringInfoString(&buf, stmt + pos);
	/* on a line of its own: the text may end in a -- comment */
	if (counted)
		appendStringInfoString(&buf, "\nRETURNING pgembed_batch.ord");
	return buf.data;
}

/* Where the statement's WHERE keyword is (outside parentheses), or -1. */
static int
where_offset(const char *stmt)
{
	core_yy_extra_type extra;
	core_yyscan_t scanner;
	core_YYSTYPE lval;
	YYLTYPE		loc;
	int			where_token = ScanKeywordTokens[ScanKeywordLookup("where", &ScanKeywords)];
	int			depth = 0;
	int			found = -1;
	int			token;

	scanner = scanner_init(stmt, &extra, &ScanKeywords, ScanKeywordTokens);
	while ((token = core_yylex(&lval, &loc, scanner)) != 0)
	{
		if (token == '(' || token == '[')
			depth++;
		else if (token == ')' || token == ']')
			depth--;
		else if (token == where_token && depth == 0)
		{
			if (found >= 0)
			{
				found = -1;		/* two: not the shape we know */
				break;
			}
			found = loc;
		}
	}
	scanner_finish(scanner);
	return found;
}

/* The key values: none NULL, no two equal (integers: equal bits). */
static bool
keys_distinct(Datum *keys, bool *nulls, int nsets, Oid type)
{
	int64	   *v = palloc_array(int64, nsets);

	for (int i = 0; i < nsets; i++)
	{
		if (nulls[i])
			return false;
		v[i] = type == INT8OID ? DatumGetInt64(keys[i]) :
			type == INT4OID ? (int64) DatumGetInt32(keys[i]) : (int64) DatumGetInt16(keys[i]);
	}
	qsort(v, nsets, sizeof(int64), int64_cmp);
	for (int i = 1; i < nsets; i++)
		if (v[i] == v[i - 1])
			return false;
	return true;
}

static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * Parses, plans and runs the joined statement; the rows it updated, and
 * those of each set in req->set_counts when given.  Its table must be the
 * prepared statement's (its name is looked up again).
 */
static uint64
run_joined(const char *sql, Oid *argtypes, ParamListInfo arrays, int nparams, Oid relid,
		   bool probe, pgembed_direct *req)
{
	Query	   *query;
	List	   *raw = pg_parse_query(sql);
	List	   *queries;
	PlannedStmt *stmt;
	QueryDesc  *qdesc;
	uint64		processed;
	int			nestlevel;
	CountDest	count = {0};
	DestReceiver *dest = None_Receiver;

	if (list_length(raw) != 1)
		elog(ERROR, "pgembed: a batch's joined update is not one statement");
	queries = pg_analyze_and_rewrite_fixedparams(linitial_node(RawStmt, raw), sql, argtypes, nparams,
												 NULL);
	if (list_length(queries) != 1)
		elog(ERROR, "pgembed: a batch's joined update became several statements");
	query = linitial_node(Query, queries);
	if (query->commandType != CMD_UPDATE || rt_fetch(query->resultRelation, query->rtable)->relid != relid)
		elog(ERROR, "pgembed: a batch's joined update is not on the statement's table");
	if ((req->set_counts != NULL) != (query->returningList != NIL) ||
		(query->returningList != NIL &&
		 (list_length(query->returningList) != 1 ||
		  exprType((Node *) linitial_node(TargetEntry, query->returningList)->expr) != INT8OID)))
		elog(ERROR, "pgembed: a batch's joined update does not return the set numbers");
	if (req->set_counts != NULL)
	{
		memset(req->set_counts, 0, sizeof(int64_t) * req->nsets);
		count.pub.receiveSlot = count_receive;
		count.pub.rStartup = count_startup;
		count.pub.rShutdown = count_nothing;
		count.pub.rDestroy = count_nothing;
		count.pub.mydest = DestNone;
		count.counts = req->set_counts;
		count.nsets = req->nsets;
		dest = &count.pub;
	}

	/*
	 * probing: a nested loop over an index scan, the only plan left enabled
	 * (the settings are restored after planning, or by the subtransaction's
	 * abort)
	 */
	nestlevel = NewGUCNestLevel();
	if (probe)
	{
		static const char *const off[] = {"enable_hashjoin", "enable_mergejoin", "enable_seqscan",
		"enable_bitmapscan"};

		for (int i = 0; i < lengthof(off); i++)
			(void) set_config_option(off[i], "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
									 false);
	}
	stmt = pg_plan_query(query, sql, CURSOR_OPT_PARALLEL_OK, arrays);
	AtEOXact_GUC(true, nestlevel);
	if (stmt->commandType != CMD_UPDATE)
		elog(ERROR, "pgembed: a batch's joined update is not an update");
	PushCopiedSnapshot(GetActiveSnapshot());
	UpdateActiveSnapshotCommandId();
	qdesc = CreateQueryDesc(stmt, sql, GetActiveSnapshot(), InvalidSnapshot, dest, arrays, NULL, 0);
	ExecutorStart(qdesc, 0);
	ExecutorRun(qdesc, ForwardScanDirection, 0);
	ExecutorFinish(qdesc);
	processed = qdesc->estate->es_processed;
	ExecutorEnd(qdesc);
	FreeQueryDesc(qdesc);
	PopActiveSnapshot();
	return processed;
}

/* One updated row: its set's number counted (1-based, as the ordinality). */
static bool
count_receive(TupleTableSlot *slot, DestReceiver *self)
{
	CountDest  *count = (CountDest *) self;
	bool		isnull;
	int64		ord = DatumGetInt64(slot_getattr(slot, 1, &isnull));

	if (isnull || ord < 1 || ord > count->nsets)
		elog(ERROR, "pgembed: a batch's joined update returned no set number");
	count->counts[ord - 1]++;
	return true;
}

static void
count_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
count_nothing(DestReceiver *self)
{
}
