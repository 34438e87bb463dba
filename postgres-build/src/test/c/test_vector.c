/* pgvector: the bundled extension, its distance operators, HNSW and IVFFlat indexes, binary I/O. */
#include "test_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <arpa/inet.h>

static pgembed_engine *db;

/*
 * pgvector is optional in the build (its source may be unobtainable): without it the
 * tests report themselves skipped. PGEMBED_TEST_PGVECTOR, set by test-native.sh when the
 * build did include it, names the version: then its absence from the payload is a failure.
 */
static bool
setup(void)
{
	const char *built = getenv("PGEMBED_TEST_PGVECTOR");

	db = open_fresh(0, NULL);
	if (db == NULL)
	{
		test_fail(__FILE__, __LINE__, "could not open a database");
		return false;
	}
	if (strcmp(scalar(db, "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"), "1") != 0)
	{
		if (built != NULL)
			test_fail(__FILE__, __LINE__, "pgvector %s was built but the payload does not offer it", built);
		else
			test_skip("pgvector is not in this build");
		pgembed_close(db, NULL);
		db = NULL;
		return false;
	}
	return true;
}

static void
teardown(void)
{
	pgembed_close(db, NULL);
	db = NULL;
}

/* true when some row of the first column of sql's result contains needle */
static bool
any_row_contains(const char *sql, const char *needle, char *plan, size_t plan_size)
{
	pgembed_result *r = pgembed_exec(db, sql);
	bool		found = false;
	size_t		used = 0;

	plan[0] = '\0';
	if (pgembed_result_error(r))
		snprintf(plan, plan_size, "ERROR %s", pgembed_error_message(pgembed_result_error(r)));
	for (int64_t i = 0; i < pgembed_result_ntuples(r); i++)
	{
		const char *line = pgembed_result_value(r, i, 0);

		if (strstr(line, needle))
			found = true;
		if (used < plan_size)
			used += snprintf(plan + used, plan_size - used, "%s%s", i ? " | " : "", line);
	}
	pgembed_result_free(r);
	return found;
}

#define CHECK_PLAN(sql, needle) \
	do { char plan_[2048]; \
		if (!any_row_contains((sql), (needle), plan_, sizeof(plan_))) \
			test_fail(__FILE__, __LINE__, "plan lacks \"%s\": %s", (needle), plan_); \
	} while (0)

/* the small table of the distance tests: the L2 and the cosine neighbours of [3,3,3] differ */
static const char *const small_items =
"CREATE TABLE items(id int PRIMARY KEY, embedding vector(3));"
"INSERT INTO items VALUES (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[0,0,1]'), (4, '[10,10,10]'), (5, '[0.5,0.5,0]')";

static void
test_create_extension_and_insert(void)
{
	pgembed_result *r;

	if (!setup())
		return;
	CHECK_STR(sqlstate_of(db, "CREATE EXTENSION vector"), "00000");
	/* the version the build built; the module's magic block agrees */
	if (getenv("PGEMBED_TEST_PGVECTOR") != NULL)
		CHECK_STR(scalar(db, "SELECT extversion FROM pg_extension WHERE extname = 'vector'"), getenv("PGEMBED_TEST_PGVECTOR"));
	CHECK_STR(scalar(db, "SELECT count(*) FROM pg_get_loaded_modules() m JOIN pg_extension e"
					 " ON m.module_name = e.extname AND m.version = e.extversion WHERE e.extname = 'vector'"), "1");
	r = pgembed_exec(db, small_items);
	CHECK_INT(pgembed_result_status(r), PGEMBED_COMMAND_OK);
	CHECK_INT(pgembed_result_rows_affected(r), 5);
	pgembed_result_free(r);
	CHECK_STR(scalar(db, "SELECT embedding::text FROM items WHERE id = 5"), "[0.5,0.5,0]");
	CHECK_STR(scalar(db, "SELECT vector_dims(embedding) FROM items WHERE id = 4"), "3");
	/* the declared dimension is enforced */
	CHECK_STR(sqlstate_of(db, "INSERT INTO items VALUES (6, '[1,2]')"), "22000");
	CHECK_STR(sqlstate_of(db, "SELECT '[1,2,x]'::vector"), "22P02");
	/* the other types of the extension */
	CHECK_STR(scalar(db, "SELECT '[1,2,3]'::halfvec(3)::text"), "[1,2,3]");
	CHECK_STR(scalar(db, "SELECT '{1:1.5,3:2}/5'::sparsevec::vector::text"), "[1.5,0,2,0,0]");
	CHECK_STR(scalar(db, "SELECT avg(embedding)::text FROM items WHERE id IN (1, 2)"), "[0.5,0.5,0]");
	teardown();
}

static void
test_distance_ordering(void)
{
	if (!setup())
		return;
	CHECK_STR(sqlstate_of(db, "CREATE EXTENSION vector"), "00000");
	CHECK_STR(sqlstate_of(db, small_items), "00000");
	CHECK_STR(scalar(db, "SELECT round(('[1,2,3]'::vector <-> '[4,5,6]')::numeric, 6)"), "5.196152");
	CHECK_STR(scalar(db, "SELECT round(('[1,0]'::vector <=> '[0,1]')::numeric, 6)"), "1.000000");
	CHECK_STR(scalar(db, "SELECT '[1,2,3]'::vector <#> '[4,5,6]'"), "-32");

	/*
	 * Euclidean: [0.5,0.5,0] is nearest to [3,3,3]; cosine: [10,10,10] points
	 * the same way
	 */
	CHECK_STR(scalar(db, "SELECT id FROM items ORDER BY embedding <-> '[3,3,3]' LIMIT 1"), "5");
	CHECK_STR(scalar(db, "SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY embedding <-> '[3,3,3]' LIMIT 3) s"),
			  "5,1,2");
	CHECK_STR(scalar(db, "SELECT id FROM items ORDER BY embedding <=> '[3,3,3]' LIMIT 1"), "4");
	CHECK_STR(scalar(db, "SELECT id FROM items ORDER BY embedding <-> '[0.9,0.1,0]' LIMIT 1"), "1");
	CHECK_STR(scalar(db, "SELECT id FROM items ORDER BY embedding <=> '[0,0.1,3]' LIMIT 1"), "3");
	teardown();
}

/* 2000 points on a helix-like curve; the exact nearest neighbour of q is known by a scan */
static const char *const many_items =
"CREATE TABLE items(id int PRIMARY KEY, embedding vector(3));"
"INSERT INTO items SELECT i, ARRAY[sin(i), cos(i), (i % 97) / 10.0]::vector FROM generate_series(1, 2000) i";
static const char *const knn_query =
"SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY embedding <-> '[0.3,-0.8,4.2]' LIMIT 5) s";
static const char *const knn_explain =
"EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> '[0.3,-0.8,4.2]' LIMIT 5";

static void
test_hnsw_index(void)
{
	char		exact[256];

	if (!setup())
		return;
	CHECK_STR(sqlstate_of(db, "CREATE EXTENSION vector"), "00000");
	CHECK_STR(sqlstate_of(db, many_items), "00000");
	snprintf(exact, sizeof(exact), "%s", scalar(db, knn_query));
	CHECK(strchr(exact, ',') != NULL);
	CHECK_STR(sqlstate_of(db, "CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)"), "00000");
	CHECK_STR(sqlstate_of(db, "SET enable_seqscan = off"), "00000");
	CHECK_PLAN(knn_explain, "Index Scan using items_embedding_idx on items");
	CHECK_STR(sqlstate_of(db, "SET hnsw.ef_search = 200"), "00000");
	CHECK_STR(scalar(db, knn_query), exact);
	/* the index follows inserts and deletes */
	CHECK_STR(sqlstate_of(db, "INSERT INTO items VALUES (9999, '[0.3,-0.8,4.2]')"), "00000");
	CHECK_STR(scalar(db, "SELECT id FROM items ORDER BY embedding <-> '[0.3,-0.8,4.2]' LIMIT 1"), "9999");
	CHECK_STR(sqlstate_of(db, "DELETE FROM items WHERE id = 9999"), "00000");
	CHECK_STR(sqlstate_of(db, "VACUUM items"), "00000");
	CHECK_STR(scalar(db, knn_query), exact);
	/* cosine operator class */
	CHECK_STR(sqlstate_of(db, "CREATE INDEX items_cos ON items USING hnsw (embedding vector_cosine_ops) WITH (m = 8, ef_construction = 32)"), "00000");
	CHECK_PLAN("EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <=> '[1,1,1]' LIMIT 5",
			   "Index Scan using items_cos on items");
	teardown();
}

static void
test_ivfflat_index(void)
{
	char		exact[256];

	if (!setup())
		return;
	CHECK_STR(sqlstate_of(db, "CREATE EXTENSION vector"), "00000");
	CHECK_STR(sqlstate_of(db, many_items), "00000");
	snprintf(exact, sizeof(exact), "%s", scalar(db, knn_query));
	CHECK_STR(sqlstate_of(db, "CREATE INDEX ON items USING ivfflat (embedding vector_l2_ops) WITH (lists = 20)"), "00000");
	CHECK_STR(sqlstate_of(db, "SET enable_seqscan = off"), "00000");
	CHECK_PLAN(knn_explain, "Index Scan using items_embedding_idx on items");
	/* probing every list makes the scan exact */
	CHECK_STR(sqlstate_of(db, "SET ivfflat.probes = 20"), "00000");
	CHECK_STR(scalar(db, knn_query), exact);
	teardown();
}

static void
test_binary_io(void)
{
	pgembed_result *r;
	uint32_t	vector_oid;

	if (!setup())
		return;
	CHECK_STR(sqlstate_of(db, "CREATE EXTENSION vector"), "00000");
	vector_oid = (uint32_t) strtoul(scalar(db, "SELECT 'vector'::regtype::oid"), NULL, 10);
	CHECK(vector_oid != 0);

	/* send: int16 dim, int16 unused, then dim float4, all big-endian */
	r = pgembed_exec_params(db, "SELECT '[1,2,3]'::vector", 0, NULL, NULL, NULL, NULL, PGEMBED_FORMAT_BINARY);
	REQUIRE(pgembed_result_status(r) == PGEMBED_TUPLES_OK);
	CHECK_INT(pgembed_result_field_type(r, 0), vector_oid);
	CHECK_INT(pgembed_result_field_format(r, 0), 1);
	CHECK_INT(pgembed_result_length(r, 0, 0), 16);
	if (pgembed_result_length(r, 0, 0) == 16)
	{
		static const unsigned char expected[16] = {
			0x00, 0x03, 0x00, 0x00,
			0x3f, 0x80, 0x00, 0x00, /* 1.0f */
			0x40, 0x00, 0x00, 0x00, /* 2.0f */
			0x40, 0x40, 0x00, 0x00	/* 3.0f */
		};

		CHECK(memcmp(pgembed_result_value(r, 0, 0), expected, sizeof(expected)) == 0);
	}
	pgembed_result_free(r);

	/* AUTO keeps the extension type as text */
	r = pgembed_exec_params(db, "SELECT '[1,2,3]'::vector", 0, NULL, NULL, NULL, NULL, PGEMBED_FORMAT_AUTO);
	CHECK_INT(pgembed_result_field_format(r, 0), 0);
	CHECK_STR(pgembed_result_value(r, 0, 0), "[1,2,3]");
	pgembed_result_free(r);

	/* receive: the same layout as a binary parameter */
	{
		unsigned char buf[4 + 2 * 4];
		float		f[2] = {0.5f, -4.0f};
		uint16_t	dim = htons(2),
					unused = 0;
		const char *values[1] = {(const char *) buf};
		int32_t		lengths[1] = {sizeof(buf)};
		int32_t		formats[1] = {1};
		uint32_t	types[1] = {vector_oid};

		memcpy(buf, &dim, 2);
		memcpy(buf + 2, &unused, 2);
		for (int i = 0; i < 2; i++)
		{
			uint32_t	u;

			memcpy(&u, &f[i], 4);
			u = htonl(u);
			memcpy(buf + 4 + 4 * i, &u, 4);
		}
		r = pgembed_exec_params(db, "SELECT $1::text, vector_dims($1)", 1, types, values, lengths, formats, PGEMBED_FORMAT_TEXT);
		CHECK_INT(pgembed_result_status(r), PGEMBED_TUPLES_OK);
		CHECK_STR(pgembed_result_value(r, 0, 0), "[0.5,-4]");
		CHECK_STR(pgembed_result_value(r, 0, 1), "2");
		pgembed_result_free(r);
	}
	teardown();
}

/*
 * pgembed_set_binary_types: PGEMBED_FORMAT_AUTO fetches the listed extension types in
 * binary, in ad-hoc and in prepared statements, and in text again once the list is empty.
 */
static void
test_binary_types(void)
{
	pgembed_result *r;
	uint32_t	oids[2];
	static const char *const sql = "SELECT '[1,2,3]'::vector, '[1,-2]'::halfvec, 7";

	if (!setup())
		return;
	CHECK_STR(sqlstate_of(db, "CREATE EXTENSION vector"), "00000");
	oids[0] = (uint32_t) strtoul(scalar(db, "SELECT 'vector'::regtype::oid"), NULL, 10);
	oids[1] = (uint32_t) strtoul(scalar(db, "SELECT 'halfvec'::regtype::oid"), NULL, 10);
	pgembed_result_free(pgembed_prepare(db, "q", sql, 0, NULL));

	r = pgembed_exec_params(db, sql, 0, NULL, NULL, NULL, NULL, PGEMBED_FORMAT_AUTO);
	REQUIRE(pgembed_result_status(r) == PGEMBED_TUPLES_OK);
	CHECK_INT(pgembed_result_field_format(r, 0), 0);
	CHECK_INT(pgembed_result_field_format(r, 1), 0);
	CHECK_INT(pgembed_result_field_format(r, 2), 1);
	pgembed_result_free(r);

	CHECK_INT(pgembed_set_binary_types(db, 2, oids), 0);
	for (int prepared = 0; prepared <= 1; prepared++)
	{
		/* halfvec: int16 dim, int16 0, then IEEE half floats, big-endian */
		static const unsigned char half[8] = {0x00, 0x02, 0x00, 0x00, 0x3c, 0x00, 0xc0, 0x00};

		r = prepared ? pgembed_exec_prepared(db, "q", 0, NULL, NULL, NULL, PGEMBED_FORMAT_AUTO)
			: pgembed_exec_params(db, sql, 0, NULL, NULL, NULL, NULL, PGEMBED_FORMAT_AUTO);
		REQUIRE(pgembed_result_status(r) == PGEMBED_TUPLES_OK);
		CHECK_INT(pgembed_result_field_format(r, 0), 1);
		CHECK_INT(pgembed_result_field_format(r, 1), 1);
		CHECK_INT(pgembed_result_field_format(r, 2), 1);
		CHECK_INT(pgembed_result_length(r, 0, 0), 16);
		CHECK_INT(pgembed_result_length(r, 0, 1), 8);
		if (pgembed_result_length(r, 0, 1) == 8)
			CHECK(memcmp(pgembed_result_value(r, 0, 1), half, sizeof(half)) == 0);
		pgembed_result_free(r);
	}

	CHECK_INT(pgembed_set_binary_types(db, 0, NULL), 0);
	r = pgembed_exec_prepared(db, "q", 0, NULL, NULL, NULL, PGEMBED_FORMAT_AUTO);
	CHECK_INT(pgembed_result_field_format(r, 0), 0);
	CHECK_STR(pgembed_result_value(r, 0, 1), "[1,-2]");
	pgembed_result_free(r);
	CHECK_INT(pgembed_set_binary_types(db, -1, NULL), -1);
	CHECK_INT(pgembed_set_binary_types(db, 1, NULL), -1);
	CHECK_INT(pgembed_set_binary_types(NULL, 0, NULL), -1);
	teardown();
}

static void
test_survives_reopen(void)
{
	char		dir[1024];

	if (!setup())
		return;
	snprintf(dir, sizeof(dir), "%s", current_dir());
	CHECK_STR(sqlstate_of(db, "CREATE EXTENSION vector"), "00000");
	CHECK_STR(sqlstate_of(db, many_items), "00000");
	CHECK_STR(sqlstate_of(db, "CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)"), "00000");
	CHECK_INT(pgembed_close(db, NULL), 0);
	/* a fresh engine loads vector.so again in its own namespace */
	db = reopen(dir, 0, NULL);
	REQUIRE(db != NULL);
	CHECK_STR(sqlstate_of(db, "SET enable_seqscan = off"), "00000");
	CHECK_PLAN(knn_explain, "Index Scan using items_embedding_idx on items");
	CHECK_STR(scalar(db, "SELECT count(*) FROM items"), "2000");
	CHECK_STR(scalar(db, "SELECT embedding::text FROM items WHERE id = 97"), "[0.37960774,-0.92514753,0]");
	teardown();
}

const test_case vector_tests[] = {
	{"vector: CREATE EXTENSION vector, insert and types", test_create_extension_and_insert},
	{"vector: <-> and <=> return the right nearest neighbours", test_distance_ordering},
	{"vector: HNSW index build and index scan", test_hnsw_index},
	{"vector: IVFFlat index build and index scan", test_ivfflat_index},
	{"vector: binary send and receive", test_binary_io},
	{"vector: pgembed_set_binary_types makes AUTO fetch vector types in binary", test_binary_types},
	{"vector: index and data survive close and reopen", test_survives_reopen},
	{NULL, NULL}
};
