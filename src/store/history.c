/* op25b's history file (history.h). */
#include "history.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "rootfs.h"
#include "util.h"

/* STATE/history on the target system (reached beneath the root: rootfs.h), and as shown. */
static char *history_path(const char *state_dir)
{
	return strdup_printf("%s/history", state_dir);
}

int history_append(const char *root, const char *state_dir, const json_t *entry)
{
	_cleanup_free_ char *path = history_path(state_dir), *shown = path_under_root(root, state_dir);
	_cleanup_free_ char *line = json_dumps(entry, JSON_COMPACT);
	if (!path || !shown || !line)
		return -ENOMEM;
	/* O_APPEND and one write per record: concurrent runs (serialised by the lock anyway) cannot
	 * interleave a line; O_NOFOLLOW: the state dir is root's, a link there is not. */
	/* O_NONBLOCK, then only a regular file: a FIFO put there would block the run at its end. */
	_cleanup_close_ int fd = root_open(root, path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0600);
	struct stat st;
	if (fd == -ENOENT)
		return 0; /* no state dir: nothing was applied here */
	int r = fd < 0 ? fd : fd_verify_regular(fd, &st);
	if (r < 0) {
		log_warn("%s/history: cannot record this run: %s", shown,
			 r == -ENXIO || r == -ENOTREGULAR ? "not a regular file" : strerror(-r));
		return r;
	}
	size_t len = strlen(line);
	line[len] = '\n';
	r = write_all(fd, line, len + 1);
	if (r < 0 || fsync(fd) < 0) {
		r = r < 0 ? r : -errno;
		log_warn("%s/history: cannot record this run: %s", shown, strerror(-r));
	}
	return r < 0 ? r : 0;
}

int history_read(const char *root, const char *state_dir, json_t **out)
{
	_cleanup_free_ char *target = history_path(state_dir), *path = path_under_root(root, state_dir), *data = NULL;
	size_t len = 0;
	json_t *a = json_array();
	if (!target || !path || !a) {
		if (a)
			json_decref(a);
		return -ENOMEM;
	}
	int r = root_read_file(root, target, true, &data, &len, NULL);
	if (r == -ENOENT) {
		*out = a;
		return 0;
	}
	if (r < 0) {
		json_decref(a);
		return log_err(r, "%s/history: %s", path, file_strerror(r));
	}
	unsigned lineno = 0;
	for (char *p = data, *eol; p < data + len; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(data + len - p));
		if (!eol)
			eol = data + len;
		lineno++;
		if (eol == p)
			continue;
		json_error_t err;
		json_t *e = json_loadb(p, (size_t)(eol - p), 0, &err);
		if (!e || !json_is_object(e)) {
			log_warn("%s/history:%u: not a history record; skipped", path, lineno);
			if (e)
				json_decref(e);
			continue;
		}
		if (json_array_append_new(a, e) < 0) {
			json_decref(a);
			return -ENOMEM;
		}
	}
	*out = a;
	return 0;
}
