/* /tmp/op25b-WHAT.PID.XXXXXX: named after the run that made it, so that a later run can tell a
 * killed run's directory from a running one's. */
#include "scratch.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "util.h"

#define TMP "/tmp"

/* Empty and remove NAME in DFD: only a real directory of ours, 0700, and only the files in it
 * (op25b's scratch dirs hold nothing else); never followed through a symlink. */
static void remove_at(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		return;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

/* The scratch dirs of op25b runs that no longer exist (killed: they could not clean up). */
void scratch_clean_stale(void)
{
	DIR *d = opendir(TMP);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "op25b-", 6) != 0)
			continue;
		/* op25b-WHAT.PID.XXXXXX */
		const char *suffix = strrchr(de->d_name, '.');
		const char *p = suffix;
		while (p && p > de->d_name && p[-1] >= '0' && p[-1] <= '9')
			p--;
		if (!suffix || p == suffix || p[-1] != '.' || strlen(suffix) != 7)
			continue;
		long pid = strtol(p, NULL, 10);
		if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		log_debug("removing %s/%s, left by a run that was killed", TMP, de->d_name);
		remove_at(dirfd(d), de->d_name);
	}
	closedir(d);
}

int scratch_make(const char *what, char dir[static SCRATCH_MAX])
{
	scratch_clean_stale();
	int n = snprintf(dir, SCRATCH_MAX, TMP "/op25b-%s.%ld.XXXXXX", what, (long)getpid());
	if (n < 0 || n >= SCRATCH_MAX)
		return log_err(-ENAMETOOLONG, "scratch directory name too long");
	if (!mkdtemp(dir))
		return log_err(-errno, "mkdtemp %s: %m", dir);
	return 0;
}

void scratch_remove(const char *dir)
{
	_cleanup_close_ int fd = open(TMP, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *name = strrchr(dir, '/');
	if (fd >= 0 && name)
		remove_at(fd, name + 1);
}
