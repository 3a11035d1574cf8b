/* Apply-or-nothing file writes, and the dry-run diff. */
#include "txn.h"

#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <sys/wait.h>

#include "atomic.h"
#include "rootfs.h"
#include "postmap.h"
#include "scratch.h"
#include "spawn.h"
#include "util.h"

extern char **environ;

/* A table source was written or removed: its compiled table follows it. */
static int after_write(const struct conf_set *s, const struct conf_file *f, bool now_present)
{
	if (!f->postmap_type)
		return 0;
	if (now_present)
		return postmap_run(s->root, s->postfix_dir ? s->postfix_dir : "/etc/postfix", f->postmap_type, f->path);
	return postmap_remove(s->root, f->postmap_type, f->path);
}

bool txn_has_changes(const struct conf_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->files[i]->new || s->files[i]->remove)
			return true;
	return false;
}

static int write_one(const struct conf_set *s, struct conf_file *f, int stage_fd)
{
	const char *expect = f->existed ? f->old : NULL;
	if (f->remove)
		return atomic_remove(s->root, f->path, expect, f->old_len, stage_fd);
	struct stat like = f->st;
	if (f->force_mode)
		like.st_mode = (like.st_mode & ~07777u) | f->force_mode;
	if (f->force_root)
		like.st_uid = like.st_gid = 0;
	return atomic_replace(s->root, f->path, f->new, f->new_len, f->existed ? &like : NULL,
			      f->force_mode ? f->force_mode : f->create_mode, expect, f->old_len, stage_fd);
}

/* After a failed write_one(): did the change land anyway? atomic_replace() and atomic_remove() fail
 * after the rename (or unlink) when the directory cannot be fsync'ed; the file then is as planned
 * and must be put back with the others. */
static bool landed(const struct conf_set *s, const struct conf_file *f)
{
	return file_holds(s->root, f->path, f->remove ? NULL : f->new, f->remove ? 0 : f->new_len) > 0;
}

static int rollback(struct conf_set *s, int stage_fd)
{
	int ret = 0;
	for (size_t i = s->n; i-- > 0;) {
		struct conf_file *f = s->files[i];
		int r;
		if (!f->written)
			continue;
		/* Only what this run wrote is put back: a file that holds anything else now was
		 * changed by someone since, and their change stays (atomic.c compares the bytes it
		 * swaps out). */
		if (!f->existed)
			r = atomic_remove(s->root, f->path, f->new, f->new_len, stage_fd);
		else
			r = atomic_replace(s->root, f->path, f->old, f->old_len, &f->st, 0, f->remove ? NULL : f->new,
					   f->remove ? 0 : f->new_len, stage_fd);
		if (r == 0) {
			/* The bytes are back: done with this file, whatever postmap says next (a second
			 * rollback must not find "someone else's" bytes: they are the original ones). */
			f->written = false;
			if (after_write(s, f, f->existed) < 0)
				log_warn("%s: put back, but its compiled table could not be rebuilt: run postmap %s:%s",
					 f->path, f->postmap_type, f->path);
			continue;
		}
		if (r == -ESTALE) {
			log_warn("%s: not put back: it no longer holds what op25b wrote (someone changed it); "
				 "left as it is (op25b revert undoes only op25b's edits in it)", f->path);
			f->written = false;
			ret = r;
		} else if (r < 0)
			ret = log_err(r, "%s: could not be put back; the journal still holds its original", f->path);
		else
			f->written = false;
	}
	return ret;
}

int txn_rollback(struct conf_set *s)
{
	int stage_fd = atomic_stage_open(s->root, s->state_dir);
	int r = rollback(s, stage_fd);
	if (stage_fd >= 0)
		close(stage_fd);
	return r;
}

int txn_write(struct conf_set *s)
{
	_cleanup_close_ int stage_fd = atomic_stage_open(s->root, s->state_dir);
	for (size_t i = 0; i < s->n; i++) {
		struct conf_file *f = s->files[i];
		if (!f->new && !f->remove)
			continue;
		int r = write_one(s, f, stage_fd);
		if (r == 0 || landed(s, f))
			f->written = true;
		if (r == 0)
			r = after_write(s, f, !f->remove);
		if (r < 0) {
			rollback(s, stage_fd);
			return r;
		}
		log_debug("wrote %s", f->host_path);
	}
	return 0;
}

static int dump(const char *dir, const char *name, const char *data, size_t len, char **path)
{
	*path = strdup_printf("%s/%s", dir, name);
	if (!*path)
		return -ENOMEM;
	_cleanup_close_ int fd = open(*path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return log_err(-errno, "%s: %m", *path);
	return write_all(fd, data, len);
}

/* diff(1) does the formatting: one well-known tool, no home-made diff algorithm. */
static int diff_one(const struct conf_file *f, const char *dir, int out_fd)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *la = NULL, *lb = NULL;
	int r;
	if ((r = dump(dir, "a", f->old, f->old_len, &a)) < 0 ||
	    (r = dump(dir, "b", f->remove ? "" : f->new, f->remove ? 0 : f->new_len, &b)) < 0)
		goto out;
	const char *rel = f->path + (f->path[0] == '/');
	la = f->existed ? strdup_printf("a/%s", rel) : strdup("/dev/null");
	lb = f->remove ? strdup("/dev/null") : strdup_printf("b/%s", rel);
	if (!la || !lb) {
		r = -ENOMEM;
		goto out;
	}
	fflush(stdout);
	char *argv[] = { "diff", "-u", "--label", la, "--label", lb, a, b, NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	char prog[PATH_MAX];
	if ((r = -spawn_resolve("diff", prog, sizeof(prog))) == 0 &&
	    (r = posix_spawn_file_actions_init(&fa)) == 0) {
		if (out_fd != STDOUT_FILENO)
			r = posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
		if (r == 0)
			r = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
	}
	if (r != 0) {
		r = log_err(-r, "cannot run diff: %s", strerror(r));
		goto out;
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			r = log_err(-errno, "waitpid: %m");
			goto out;
		}
	r = WIFEXITED(status) && WEXITSTATUS(status) <= 1 ? 0 : log_err(-EIO, "diff failed");
out:
	if (a)
		unlink(a);
	if (b)
		unlink(b);
	return r;
}

int txn_diff(const struct conf_set *s, int fd)
{
	char dir[SCRATCH_MAX];
	int r = scratch_make("diff", dir);
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->n && r == 0; i++) {
		const struct conf_file *f = s->files[i];
		if (!f->new && !f->remove)
			continue;
		if (f->secret) {
			fflush(stdout);
			dprintf(fd, "%s %s (contents not shown: it holds a secret)\n",
				f->remove ? "remove" : f->existed ? "rewrite" : "create", f->path);
			continue;
		}
		r = diff_one(f, dir, fd);
	}
	scratch_remove(dir);
	return r;
}

int txn_print_diff(const struct conf_set *s)
{
	return txn_diff(s, STDOUT_FILENO);
}
