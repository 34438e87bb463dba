/*-------------------------------------------------------------------------
 *
 * engine_direct.c
 *	  Executes a prepared statement without protocol messages or a portal:
 *	  the direct path of pgembed_exec_prepared and pgembed_exec_prepared_batch.
 *
 * Over the protocol an execution is a Bind, a Describe, an Execute and a Sync:
 * the front writes them, the backend parses them, creates a portal, starts and
 * runs it, drops it when the transaction command ends, and writes its messages
 * back.  Here the front hands the engine a request (pgembed_direct: the
 * statement's name, the parameter sets, the result formats), and the engine
 * does what exec_bind_message and exec_execute_message do around the executor,
 * minus the messages and the portal: the cached plan, the parameters' input
 * functions, ExecutorStart/Run/Finish/End, the rows as DataRow messages and
 * the command tag as CommandComplete, which the front's result parser reads as
 * before.
 *
 * The request arrives inside PostgresMain's own loop: the front sends a Flush
 * message and a Sync, and the backend's Flush calls our PqCommMethods flush,
 * which runs the request (engine_direct_at_flush).  So the statement runs as
 * an extended-protocol message does: not while reading a command (a cancel
 * interrupts it), and its errors take PostgresMain's own recovery (the
 * transaction is aborted, ErrorResponse sent, everything skipped until the
 * Sync, which then sends ReadyForQuery with the transaction status).  The
 * statement's transaction command is ours: started before, committed after
 * (outside a transaction block that commits; inside one, it increments the
 * command counter), as start_xact_command and finish_xact_command would.
 *
 * Only single plannable statements take this path; anything else (a utility
 * statement, a rule that makes several) is left to the protocol: the request
 * comes back not handled, with nothing done.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/engine_direct.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		engine_direct_at_flush	- run the front's request at the Flush message
 *		engine_direct_params	- one parameter set, converted as Bind converts it
 *------------------------
 */
#include "postgres.h"

#include "access/printtup.h"
#include "access/xact.h"
#include "commands/prepare.h"
#include "executor/executor.h"
#include "libpq/libpq.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "mb/stringinfo_mb.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "pgstat.h"
#include "storage/proc.h"
#include "tcop/dest.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

#include "pgembed_engine.h"

/* A DestReceiver that sends rows as DataRow messages, in the request's formats. */
typedef struct
{
	DestReceiver pub;
	const pgembed_direct *req;
	int16	   *formats;		/* per column: 0 text, 1 binary */
	FmgrInfo   *finfo;			/* output or send function per column */
	StringInfoData buf;
	MemoryContext rowcontext;	/* values' output, reset per row */
} DirectDest;

/* The parameter whose input failed, for the error's context (as exec_bind_message). */
typedef struct
{
	int			paramno;
	const char *paramval;
} ParamInputCbData;

/* routines only used in this file */
static void run_request(pgembed_direct *req);
static bool plannable(Node *rawstmt);
static void param_input_error_callback(void *arg);
static void execute_one(CachedPlanSource *psrc, PlannedStmt *stmt, ParamListInfo params,
						DirectDest *dest, bool describe);
static int16 *result_formats(const pgembed_direct *req, int natts);
static bool check_log_statement(PlannedStmt *stmt);
static int	errdetail_params(ParamListInfo params);
static void direct_dest_init(DirectDest *dest, const pgembed_direct *req);
static bool direct_receive(TupleTableSlot *slot, DestReceiver *self);
static void direct_startup(DestReceiver *self, int operation, TupleDesc typeinfo);
static void direct_shutdown(DestReceiver *self);
static void direct_destroy(DestReceiver *self);

/* true while a request runs: a flush from inside it (a NOTICE) must not start another */
static bool running = false;

/*
 * Our PqCommMethods flush: when the front's request is pending and this is
 * PostgresMain's Flush message (dispatched in MessageContext; a flush from
 * elog runs in ErrorContext), run it.
 */
void
engine_direct_at_flush(void)
{
	pgembed_direct *req = engine_self->direct;

	if (req == NULL || running || CurrentMemoryContext != MessageContext)
		return;
	engine_self->direct = NULL;
	running = true;
	PG_TRY();
	{
		run_request(req);
	}
	PG_FINALLY();
	{
		running = false;
	}
	PG_END_TRY();
}

static void
run_request(pgembed_direct *req)
{
	PreparedStatement *pstmt;
	CachedPlanSource *psrc;
	MemoryContext setcontext;
	DirectDest	dest;
	bool		own_command;

	req->handled = false;
	req->failed_set = -1;
	req->failed_in_bind = false;
	pstmt = FetchPreparedStatement(req->stmt, false);
	if (pstmt == NULL || pstmt->plansource->raw_parse_tree == NULL ||
		req->nparams != pstmt->plansource->num_params || req->nsets < 1)
		return;					/* the protocol path reports what is wrong */
	psrc = pstmt->plansource;
	if (!plannable(psrc->raw_parse_tree->stmt) ||
		(req->copy_only && (req->nsets < 2 ||
							!(IsA(psrc->raw_parse_tree->stmt, InsertStmt) ||
							  (req->set_counts != NULL && IsA(psrc->raw_parse_tree->stmt, UpdateStmt))))))
		return;
	req->handled = true;

	/* each parameter set's conversions and plan lookups, freed after it */
	setcontext = AllocSetContextCreate(MessageContext, "pgembed direct set",
									   ALLOCSET_DEFAULT_SIZES);
	direct_dest_init(&dest, req);

	/*
	 * Our own transaction command, unless one is open already (a Describe
	 * without a Sync before us): then the Sync after us finishes it, as it
	 * would have finished an Execute's.
	 */
	own_command = !IsTransactionState() || IsTransactionBlock();
	if (own_command)
		StartTransactionCommand();
	for (int set = 0; set < req->nsets; set++)
	{
		MemoryContext oldcontext;
		CachedPlan *volatile cplan = NULL;
		volatile bool several = false;
		volatile bool all_inserted = false;

		if (set > 0)
		{
			/*
			 * as between a batch's Executes: the next Bind opens an implicit
			 * block
			 */
			CommandCounterIncrement();
			BeginImplicitTransactionBlock();
		}
		/* Bind's and Execute's bookkeeping */
		SetCurrentStatementStartTimestamp();
		debug_query_string = psrc->query_string;
		pgstat_report_activity(STATE_RUNNING, psrc->query_string);
		if (StatementTimeout > 0 &&
			(StatementTimeout < TransactionTimeout || TransactionTimeout == 0) &&
			!get_timeout_active(STATEMENT_TIMEOUT))
			enable_timeout_after(STATEMENT_TIMEOUT, StatementTimeout);
		oldcontext = MemoryContextSwitchTo(setcontext);

		if (IsAbortedTransactionBlockState())
			ereport(ERROR,
					(errcode(ERRCODE_IN_FAILED_SQL_TRANSACTION),
					 errmsg("current transaction is aborted, "
							"commands ignored until end of transaction block")));

		PushActiveSnapshot(GetTransactionSnapshot());
		PG_TRY();
		{
			ParamListInfo params;
			PlannedStmt *stmt;

			/*
			 * a plain INSERT's or a keyed UPDATE's batch: one statement, if
			 * it can
			 */
			if (set == 0 && req->nsets > 1 &&
				(engine_batch_insert(psrc, req) ||
				 ((!req->copy_only || req->set_counts != NULL) && engine_batch_update(psrc, req))))
				all_inserted = true;
			else if (req->copy_only)
				several = true; /* nothing done: the protocol runs it */
			else
			{
				/* an error in between is Bind's, not Execute's */
				req->failed_in_bind = true;
				params = engine_direct_params(psrc, req, set);
				req->failed_in_bind = false;
				cplan = GetCachedPlan(psrc, params, CurrentResourceOwner, NULL);
				stmt = linitial_node(PlannedStmt, cplan->stmt_list);
				if (list_length(cplan->stmt_list) != 1 || stmt->commandType == CMD_UTILITY)
					several = true;
				else
					execute_one(psrc, stmt, params, &dest, req->describe && set == 0);
				ReleaseCachedPlan(cplan, CurrentResourceOwner);
			}
		}
		PG_CATCH();
		{
			if (req->failed_set < 0)
				req->failed_set = set;
			PG_RE_THROW();
		}
		PG_END_TRY();
		PopActiveSnapshot();
		MemoryContextSwitchTo(oldcontext);
		if (get_timeout_active(STATEMENT_TIMEOUT))
			disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextReset(setcontext);

		if (all_inserted)
			break;
		if (several && set == 0)
		{
			/*
			 * several statements (a rule), or not one insert: the protocol
			 * runs it
			 */
			req->handled = false;
			break;
		}
		if (several)
			elog(ERROR, "prepared statement \"%s\" became several statements during a batch",
				 req->stmt);
	}
	if (own_command)
	{
		EndImplicitTransactionBlock();
		CommitTransactionCommand();
	}
	MemoryContextDelete(setcontext);
	debug_query_string = NULL;
}

/* A statement the planner makes one PlannedStmt of (a rule may still make several). */
static bool
plannable(Node *rawstmt)
{
	switch (nodeTag(rawstmt))
	{
		case T_SelectStmt:
			return ((SelectStmt *) rawstmt)->intoClause == NULL;
		case T_InsertStmt:
		case T_UpdateStmt:
		case T_DeleteStmt:
		case T_MergeStmt:
			return true;
		default:
			return false;
	}
}

/*
 * The parameters of one set, converted by the types' input or receive
 * functions, as exec_bind_message converts a Bind message's.
 */
ParamListInfo
engine_direct_params(CachedPlanSource *psrc, const pgembed_direct *req, int set)
{
	const char *const *values = req->values + (size_t) set * req->nparams;
	const int32_t *lengths = req->lengths ? req->lengths + (size_t) set * req->nparams : NULL;
	const int32_t *formats = req->formats ? req->formats + (size_t) set * req->nparams : NULL;
	ParamListInfo params;
	ParamInputCbData cbdata;
	ErrorContextCallback errcallback;
	char	  **knownTextValues = NULL;

	if (req->nparams == 0)
		return NULL;
	cbdata.paramno = -1;
	cbdata.paramval = NULL;
	errcallback.callback = param_input_error_callback;
	errcallback.arg = &cbdata;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	params = makeParamList(req->nparams);
	for (int i = 0; i < req->nparams; i++)
	{
		Oid			ptype = psrc->param_types[i];
		bool		isnull = values == NULL || values[i] == NULL;
		int			format = formats ? formats[i] : 0;
		Datum		pval;

		cbdata.paramno = i;
		cbdata.paramval = NULL;
		if (format == 0)
		{
			Oid			typinput,
						typioparam;
			char	   *pstring = NULL;

			getTypeInputInfo(ptype, &typinput, &typioparam);
			if (!isnull && req->text_lengths)
				pstring = pg_client_to_server(pnstrdup(values[i], lengths[i]), lengths[i]);
			else if (!isnull)
				pstring = pg_client_to_server(values[i], strlen(values[i]));
			cbdata.paramval = pstring;
			pval = OidInputFunctionCall(typinput, pstring, typioparam, -1);
			cbdata.paramval = NULL;
			if (pstring != NULL && log_parameter_max_length_on_error != 0)
			{
				if (knownTextValues == NULL)
					knownTextValues = palloc0_array(char *, req->nparams);
				knownTextValues[i] = log_parameter_max_length_on_error < 0 ? pstrdup(pstring)
					: pnstrdup(pstring, log_parameter_max_length_on_error + 2 * MAX_MULTIBYTE_CHAR_LEN);
			}
		}
		else if (format == 1)
		{
			Oid			typreceive,
						typioparam;
			StringInfoData pbuf;

			getTypeBinaryInputInfo(ptype, &typreceive, &typioparam);
			if (!isnull)
				initReadOnlyStringInfo(&pbuf, (char *) values[i], lengths ? lengths[i] : 0);
			pval = OidReceiveFunctionCall(typreceive, isnull ? NULL : &pbuf, typioparam, -1);
			if (!isnull && pbuf.cursor != pbuf.len)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
						 errmsg("incorrect binary data format in bind parameter %d", i + 1)));
		}
		else
		{
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unsupported format code: %d", format)));
			pval = 0;			/* keep compiler quiet */
		}
		params->params[i].value = pval;
		params->params[i].isnull = isnull;
		/* constants, so that a custom plan makes full use of them */
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = ptype;
	}
	cbdata.paramno = -1;
	error_context_stack = errcallback.previous;
	if (log_parameter_max_length_on_error != 0)
		params->paramValuesStr = BuildParamLogString(params, knownTextValues,
													 log_parameter_max_length_on_error);
	return params;
}

/* The context exec_bind_message gives an unnamed portal's parameter input errors. */
static void
param_input_error_callback(void *arg)
{
	ParamInputCbData *data = (ParamInputCbData *) arg;

	if (data->paramno < 0)
		return;
	if (data->paramval != NULL)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfoStringQuoted(&buf, data->paramval, log_parameter_max_length_on_error);
		errcontext("unnamed portal parameter $%d = %s", data->paramno + 1, buf.data);
	}
	else
		errcontext("unnamed portal parameter $%d", data->paramno + 1);
}

/*
 * One execution of the plan, as a portal would run it to completion: the
 * RowDescription (or NoData) if asked, the rows, CommandComplete.
 */
static void
execute_one(CachedPlanSource *psrc, PlannedStmt *stmt, ParamListInfo params, DirectDest *dest,
			bool describe)
{
	QueryDesc  *qdesc;
	QueryCompletion qc;
	ParamsErrorCbData params_data;
	ErrorContextCallback params_errcxt;
	bool		was_logged = false;
	char		msec_str[32];

	if (stmt->queryId != INT64CONST(0))
		pgstat_report_query_id(stmt->queryId, false);
	if (stmt->planId != INT64CONST(0))
		pgstat_report_plan_id(stmt->planId, false);

	if (check_log_statement(stmt))
	{
		ereport(LOG,
				(errmsg("execute %s: %s", dest->req->stmt, psrc->query_string),
				 errhidestmt(true),
				 errdetail_params(params)));
		was_logged = true;
	}

	/* errors from here on show the parameters, if so configured */
	params_data.portalName = "";
	params_data.params = params;
	params_errcxt.previous = error_context_stack;
	params_errcxt.callback = ParamsErrorCallback;
	params_errcxt.arg = &params_data;
	error_context_stack = &params_errcxt;

	CHECK_FOR_INTERRUPTS();
	qdesc = CreateQueryDesc(stmt, psrc->query_string, GetActiveSnapshot(), InvalidSnapshot,
							&dest->pub, params, NULL, 0);
	ExecutorStart(qdesc, 0);
	dest->formats = result_formats(dest->req, qdesc->tupDesc->natts);
	if (describe)
	{
		if (stmt->commandType == CMD_SELECT || stmt->hasReturning)
		{
			StringInfoData buf;

			initStringInfo(&buf);
			SendRowDescriptionMessage(&buf, qdesc->tupDesc,
									  FetchStatementTargetList((Node *) stmt), dest->formats);
			pfree(buf.data);
		}
		else
			pq_putemptymessage(PqMsg_NoData);
	}
	ExecutorRun(qdesc, ForwardScanDirection, 0);
	ExecutorFinish(qdesc);
	InitializeQueryCompletion(&qc);
	SetQueryCompletion(&qc, psrc->commandTag, qdesc->estate->es_processed);
	ExecutorEnd(qdesc);
	FreeQueryDesc(qdesc);
	error_context_stack = params_errcxt.previous;

	EndCommand(&qc, DestRemote, false);

	switch (check_log_duration(msec_str, was_logged))
	{
		case 1:
			ereport(LOG,
					(errmsg("duration: %s ms", msec_str),
					 errhidestmt(true)));
			break;
		case 2:
			ereport(LOG,
					(errmsg("duration: %s ms  execute %s: %s",
							msec_str, dest->req->stmt, psrc->query_string),
					 errhidestmt(true),
					 errdetail_params(params)));
			break;
	}
}

/* log_statement's test, as postgres.c's check_log_statement does it. */
static bool
check_log_statement(PlannedStmt *stmt)
{
	if (log_statement == LOGSTMT_NONE)
		return false;
	if (log_statement == LOGSTMT_ALL)
		return true;
	return GetCommandLogLevel((Node *) stmt) <= log_statement;
}

/* The parameters of a logged statement, as postgres.c's errdetail_params. */
static int
errdetail_params(ParamListInfo params)
{
	if (params && params->numParams > 0 && log_parameter_max_length != 0)
	{
		char	   *str = BuildParamLogString(params, NULL, log_parameter_max_length);

		if (str && str[0] != '\0')
			errdetail("Parameters: %s", str);
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Rows as DataRow messages, as printtup sends them
 * ---------------------------------------------------------------------
 */
static void
direct_dest_init(DirectDest *dest, const pgembed_direct *req)
{
	memset(dest, 0, sizeof(*dest));
	dest->pub.receiveSlot = direct_receive;
	dest->pub.rStartup = direct_startup;
	dest->pub.rShutdown = direct_shutdown;
	dest->pub.rDestroy = direct_destroy;
	dest->pub.mydest = DestRemote;
	dest->req = req;
}

/* The format of each result column, as Bind's result format codes give them. */
static int16 *
result_formats(const pgembed_direct *req, int natts)
{
	int16	   *formats = palloc0_array(int16, Max(natts, 1));

	if (req->nresult_formats > 1 && req->nresult_formats != natts)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("bind message has %d result formats but query has %d columns",
						req->nresult_formats, natts)));
	for (int i = 0; i < natts && req->nresult_formats > 0; i++)
		formats[i] = req->result_formats[req->nresult_formats == 1 ? 0 : i];
	return formats;
}

/* Each column's output or send function, at the start of each execution. */
static void
direct_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	DirectDest *dest = (DirectDest *) self;
	int			natts = typeinfo->natts;

	dest->finfo = palloc0_array(FmgrInfo, Max(natts, 1));
	for (int i = 0; i < natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(typeinfo, i);
		Oid			func;
		bool		isvarlena;

		if (dest->formats[i] == 0)
			getTypeOutputInfo(attr->atttypid, &func, &isvarlena);
		else if (dest->formats[i] == 1)
			getTypeBinaryOutputInfo(attr->atttypid, &func, &isvarlena);
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unsupported format code: %d", dest->formats[i])));
		fmgr_info(func, &dest->finfo[i]);
	}
	initStringInfo(&dest->buf);
	dest->rowcontext = AllocSetContextCreate(CurrentMemoryContext, "pgembed direct row",
											 ALLOCSET_DEFAULT_SIZES);
}

static bool
direct_receive(TupleTableSlot *slot, DestReceiver *self)
{
	DirectDest *dest = (DirectDest *) self;
	StringInfo	buf = &dest->buf;
	MemoryContext oldcontext;
	int			natts = slot->tts_tupleDescriptor->natts;

	slot_getallattrs(slot);
	oldcontext = MemoryContextSwitchTo(dest->rowcontext);
	pq_beginmessage_reuse(buf, PqMsg_DataRow);
	pq_sendint16(buf, natts);
	for (int i = 0; i < natts; i++)
	{
		Datum		value = slot->tts_values[i];

		if (slot->tts_isnull[i])
			pq_sendint32(buf, -1);
		else if (dest->formats[i] == 0)
		{
			char	   *s = OutputFunctionCall(&dest->finfo[i], value);

			pq_sendcountedtext(buf, s, strlen(s));
		}
		else
		{
			bytea	   *b = SendFunctionCall(&dest->finfo[i], value);

			pq_sendint32(buf, VARSIZE(b) - VARHDRSZ);
			pq_sendbytes(buf, VARDATA(b), VARSIZE(b) - VARHDRSZ);
		}
	}
	pq_endmessage_reuse(buf);
	MemoryContextSwitchTo(oldcontext);
	MemoryContextReset(dest->rowcontext);
	return true;
}

static void
direct_shutdown(DestReceiver *self)
{
}

static void
direct_destroy(DestReceiver *self)
{
}
