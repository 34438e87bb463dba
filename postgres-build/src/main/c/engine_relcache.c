/*-------------------------------------------------------------------------
 *
 * engine_relcache.c
 *	  The relation cache's init files survive a clean restart of the engine.
 *
 * The first backend of a server that builds its relation cache writes it to
 * global/pg_internal.init and <database>/pg_internal.init, and every later
 * backend loads those files instead of reading the catalogs: without them,
 * start-up costs twice the instructions.  StartupXLOG removes them whenever a
 * server starts, since WAL replay may leave them stale, although "in theory we
 * could leave them in place if the database had been cleanly shut down"
 * (xlog.c).  An engine starts a server at every open, so it would rebuild them
 * at every open.
 *
 * This engine keeps them when no replay can happen: the control file says the
 * cluster was shut down cleanly, and no backup_label, recovery.signal or
 * standby.signal asks for recovery.  Then the files are as current as a running
 * server's (a catalog change that affects them removes them when it commits,
 * as it does in a server).  They must also come from the same PostgreSQL build:
 * pgembed.relcache holds the version string of the build that last started
 * the cluster, written after every start where it differed.  The unlink
 * wrapper asks engine_relcache_keeps() while the engine starts up.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/engine_relcache.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		engine_relcache_starting	- before start-up: may the init files stay?
 *		engine_relcache_keeps		- is this unlink one of StartupXLOG's to skip?
 *		engine_relcache_started		- after start-up: record which build ran
 *------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xlog.h"
#include "catalog/pg_control.h"
#include "common/controldata_utils.h"
#include "miscadmin.h"
#include "utils/relcache.h"

#include "pgembed_engine.h"

/* names the build that last started this cluster (PG_VERSION_STR) */
#define RELCACHE_STAMP "pgembed.relcache"

/* routines only used in this file */
static bool stamp_matches(void);
static bool recovery_requested(void);

/* true from a clean start's beginning until the session starts */
static bool keep_init_files = false;

/*
 * Decides, before InitPostgres runs StartupXLOG, whether the init files may
 * stay.  Runs after the configuration is read (DataDir is set).
 */
void
engine_relcache_starting(void)
{
	ControlFileData *control;
	bool		crc_ok;

	keep_init_files = false;
	if (!stamp_matches() || recovery_requested())
		return;
	control = get_controlfile(DataDir, &crc_ok);
	keep_init_files = crc_ok && control->state == DB_SHUTDOWNED;
	pfree(control);
}

/*
 * For the unlink wrapper: true when path is a relation cache init file that
 * StartupXLOG is about to remove although this start replays nothing.
 */
bool
engine_relcache_keeps(const char *path)
{
	const char *base;

	if (!keep_init_files)
		return false;
	base = strrchr(path, '/');
	return strcmp(base ? base + 1 : path, RELCACHE_INIT_FILENAME) == 0;
}

/*
 * Once start-up is over (StartupXLOG ran, the relation cache is loaded or
 * rebuilt): later removals are the invalidations of catalog changes, which
 * must happen.  Records this build as the one whose init files are current.
 */
void
engine_relcache_started(void)
{
	int			fd;
	size_t		len = strlen(PG_VERSION_STR);

	keep_init_files = false;
	if (stamp_matches())
		return;
	/* no fsync: a stamp lost in a crash only costs one rebuild */
	fd = openat(engine_datadir_fd, RELCACHE_STAMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				S_IRUSR | S_IWUSR);
	if (fd < 0)
		return;
	if (write(fd, PG_VERSION_STR "\n", len + 1) != (ssize_t) (len + 1))
	{
		/* a short stamp never matches: the files are rebuilt next time */
	}
	close(fd);
}

/* Did this build (PG_VERSION_STR) write the stamp? */
static bool
stamp_matches(void)
{
	char		buf[256];
	size_t		len = strlen(PG_VERSION_STR);
	ssize_t		n;
	int			fd;

	fd = openat(engine_datadir_fd, RELCACHE_STAMP, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t) (len + 1) && memcmp(buf, PG_VERSION_STR "\n", len + 1) == 0;
}

/* Will StartupXLOG replay WAL whatever the control file says? */
static bool
recovery_requested(void)
{
	static const char *const files[] = {BACKUP_LABEL_FILE, RECOVERY_SIGNAL_FILE, STANDBY_SIGNAL_FILE};
	struct stat st;

	for (int i = 0; i < lengthof(files); i++)
		if (fstatat(engine_datadir_fd, files[i], &st, 0) == 0 || errno != ENOENT)
			return true;
	return false;
}
