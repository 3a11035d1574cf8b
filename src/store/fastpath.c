/* The no-change fast path: a re-apply with the same options on a configuration that nothing
 * changed since op25b wrote it is proven from the journal, without Augeas or Postfix. */
#include "fastpath.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include "relay-map.h"
#include "rootfs.h"
#include "util.h"

bool fastpath_firewall_covers(const struct tx *t, const struct tx_steps *want)
{
	bool same_zone = (!t->zone && !want->zone) || (t->zone && want->zone && streq(t->zone, want->zone));
	return !want->firewall || (t->firewall && same_zone);
}

bool fastpath_steps_cover(const struct tx *t, const struct tx_steps *want)
{
	return (!want->restarted || t->restarted) && fastpath_firewall_covers(t, want);
}

/* ---- The no-change fast path: proven from the journal, without Augeas or Postfix ---- */

/* A digest of the configuration as it is: every entry under the Postfix and Dovecot directories
 * (name, type, mode, owner, size, the bytes of files, the target of links and the bytes behind
 * them), and the password map wherever it lives. Equal digests mean the planning would read
 * exactly the same input as when the digest was taken. Bounded: -E2BIG for an unreasonably big
 * tree (no fast path then). */
struct state_walk {
	EVP_MD_CTX *md;
	const char *root;             /* everything is reached beneath it (rootfs.h) */
	const char *skip;             /* the state directory, should it live in there */
	size_t files, bytes;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int state_entry(struct state_walk *w, int dirfd, const char *name, const char *path, int depth);

static int state_dir(struct state_walk *w, int fd, const char *path, int depth)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	char **names = NULL;
	size_t n = 0;
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		char **nv = realloc(names, (n + 1) * sizeof(*nv));
		if (!nv || !(nv[n] = strdup(de->d_name)))
			r = -ENOMEM;
		if (nv)
			names = nv;
		if (r == 0)
			n++;
		if (n > 4096)
			r = -E2BIG;
	}
	if (r == 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (r == 0) {
			_cleanup_free_ char *sub = strdup_printf("%s/%s", path, names[i]);
			r = sub ? state_entry(w, dirfd(d), names[i], sub, depth + 1) : -ENOMEM;
		}
		free(names[i]);
	}
	free(names);
	closedir(d);
	return r;
}

/* The bytes of the regular file PATH (a target-system path, followed beneath the root if a symlink:
 * the planning reads through links). */
static int state_file(struct state_walk *w, const char *path, const struct stat *st)
{
	if ((w->bytes += (size_t)st->st_size) > 16u << 20)
		return -E2BIG;
	_cleanup_close_ int fd = root_open(w->root, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	if (fd_verify_regular(fd, NULL) < 0)
		return 0;
	char buf[16384];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		EVP_DigestUpdate(w->md, buf, (size_t)n);
	}
	explicit_bzero(buf, sizeof(buf)); /* the password map passes through here */
	return 0;
}

static int state_entry(struct state_walk *w, int dirfd, const char *name, const char *path, int depth)
{
	struct stat st;
	/* The configured directories themselves may be links (/etc/postfix -> /srv/...): followed. */
	if (fstatat(dirfd, name, &st, depth == 0 ? 0 : AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return -errno;
		EVP_DigestUpdate(w->md, path, strlen(path) + 1);
		EVP_DigestUpdate(w->md, "-", 2);
		return 0;
	}
	if (w->skip && streq(path, w->skip))
		return 0;
	if (++w->files > 4096 || depth > 8)
		return -E2BIG;
	char head[128];
	int k = snprintf(head, sizeof(head), "%o %u %u %lld", (unsigned)st.st_mode, (unsigned)st.st_uid,
			 (unsigned)st.st_gid, (long long)st.st_size);
	EVP_DigestUpdate(w->md, path, strlen(path) + 1);
	EVP_DigestUpdate(w->md, head, (size_t)k + 1);
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target));
		if (n < 0)
			return -errno;
		EVP_DigestUpdate(w->md, target, (size_t)n);
		/* A link to a file: its bytes too (a link to a directory is not walked: loops). */
		struct stat to;
		if (root_stat(w->root, path, false, &to) == 0 && S_ISREG(to.st_mode)) {
			char head2[64];
			int k2 = snprintf(head2, sizeof(head2), "%o %lld", (unsigned)to.st_mode, (long long)to.st_size);
			EVP_DigestUpdate(w->md, head2, (size_t)k2 + 1);
			return state_file(w, path, &to);
		}
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (depth == 0 ? 0 : O_NOFOLLOW));
		return fd < 0 ? -errno : state_dir(w, fd, path, depth);
	}
	return S_ISREG(st.st_mode) ? state_file(w, path, &st) : 0;
}

/* PATHS: target-system paths under ROOT; a NULL entry ends them. */
static int config_state(const char *root, const char *state_dir, const char *const *paths, char out[65])
{
	struct state_walk w = { .md = EVP_MD_CTX_new(), .root = root, .skip = state_dir };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int r = 0;
	if (!w.md || EVP_DigestInit_ex(w.md, EVP_sha256(), NULL) != 1)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && paths[i]; i++) {
		/* Paths are target-system paths; directories are opened beneath the root. */
		_cleanup_free_ char *name = NULL;
		_cleanup_close_ int pfd = root_open_parent(root, paths[i], true, 0, &name);
		if (pfd == -ENOENT || pfd == -ENOTDIR) {
			EVP_DigestUpdate(w.md, paths[i], strlen(paths[i]) + 1);
			EVP_DigestUpdate(w.md, "-", 2);
			continue;
		}
		r = pfd < 0 ? pfd : state_entry(&w, pfd, name, paths[i], 0);
	}
	if (r == 0 && EVP_DigestFinal_ex(w.md, md, &mdlen) != 1)
		r = -EIO;
	EVP_MD_CTX_free(w.md);
	for (unsigned i = 0; r == 0 && i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return r;
}

int fastpath_state(const struct target *t, unsigned modes, const struct relay_settings *o, const struct tls_paths *tls,
		   char out[65])
{
	_cleanup_free_ char *map = (modes & MODE_SUBMISSION) ? relay_map_path(t, o) : NULL;
	if ((modes & MODE_SUBMISSION) && !map)
		return -ENOMEM;
	/* The certificate and key too: same bytes, same verdict from cert_check() but for the date. */
	const char *paths[6] = { t->postfix_dir, t->dovecot_dir };
	size_t n = 2;
	if (tls->cert)
		paths[n++] = tls->cert;
	if (tls->key)
		paths[n++] = tls->key;
	if (map)
		paths[n++] = map;
	return config_state(t->root, t->state_dir, paths, out);
}

int fastpath_password_holds(const struct target *t, const struct relay_settings *o, const struct secret *pw,
			   bool *same)
{
	struct hostport hp;
	const char *why;
	char key[HOSTPORT_FORMAT_MAX];
	int r = 0;

	*same = false;
	if (!o->user || relay_key(o->host, &hp, key, &why) < 0)
		return 0; /* the planning says what is wrong */
	_cleanup_free_ char *map = relay_map_path(t, o), *text = NULL;
	size_t len = 0;
	if (!map)
		return -ENOMEM;
	if (root_read_file(t->root, map, true, &text, &len, NULL) == 0) {
		r = relay_map_holds(text, len, key, o->user, pw, same);
		explicit_bzero(text, len);
	}
	return r;
}

/* 1 when the newest transaction of this mode was made with the same options and nothing in the
 * configuration changed since it was written: applying again would change nothing (for
 * submission, if the password is the same too: fastpath_password_holds()). 0 when that cannot be
 * shown (the full run decides), or a negative errno. */
int fastpath_already_applied(const struct target *target, unsigned modes, const struct relay_settings *o,
			     const struct tls_paths *tls, const char *opts_hash, const struct tx_steps *want,
			     const struct journal *j, time_t *cert_not_after)
{
	const struct tx *t = NULL;
	for (size_t i = j->n; i-- > 0 && !t;)
		if (j->txs[i].mode == modes)
			t = &j->txs[i];
	if (!t || t->pending || strlen(t->state_hash) != 64)
		return 0;
	/* "auto" asks the relay, which may answer differently now; so does fingerprint (its key). */
	if ((modes & MODE_SUBMISSION) && (!o->mechanisms || streq(o->mechanisms, "auto") ||
					  (o->tls && streq(o->tls, "fingerprint"))))
		return 0;
	char st[65];
	if (!streq(opts_hash, t->opts_hash) || !fastpath_steps_cover(t, want))
		return 0;
	/* Every file op25b wrote still holds what it wrote... */
	for (size_t i = 0; i < t->n; i++) {
		_cleanup_free_ char *data = NULL;
		size_t len = 0;
		char h[65];
		if (root_read_file(target->root, t->files[i].path, false, &data, &len, NULL) < 0)
			return 0;
		sha256_hex(data, len, h);
		explicit_bzero(data, len);
		if (!streq(h, t->files[i].new_hash))
			return 0;
	}
	/* ... and nothing else the planning reads has changed since. */
	if (fastpath_state(target, modes, o, tls, st) < 0 || !streq(st, t->state_hash))
		return 0;
	*cert_not_after = t->cert_not_after;
	return 1;
}

