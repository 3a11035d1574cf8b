/* The certificates the services were last given (certseen.h). */
#include "certseen.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>

#include "atomic.h"
#include "rootfs.h"
#include "util.h"

static const char *const names[SEEN_N] = { "postfix", "dovecot" };

static void md_freep(EVP_MD_CTX **md) { EVP_MD_CTX_free(*md); }

int cert_pair_hash(const char *root, const char *cert, const char *key, char out[65])
{
	const char *paths[] = { cert, key };
	_cleanup_(md_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[32];
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
		char *data = NULL;
		size_t len = 0;
		int r = paths[i] ? root_read_file(root, paths[i], false, &data, &len, NULL) : -ENOENT;
		if (r < 0)
			return r;
		/* The length first: the pair (A, BC) must not hash as (AB, C). */
		unsigned long long n = len;
		int ok = EVP_DigestUpdate(md, &n, sizeof(n)) == 1 && EVP_DigestUpdate(md, data, len) == 1;
		explicit_bzero(data, len); /* the key */
		free(data);
		if (!ok)
			return -EIO;
	}
	if (EVP_DigestFinal_ex(md, digest, NULL) != 1)
		return -EIO;
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
	return 0;
}

/* STATE/certs on the target system: reached beneath the root (rootfs.h, atomic.h). */
static char *seen_path(const char *state_dir)
{
	return strdup_printf("%s/certs", state_dir);
}

int certs_seen_read(const char *root, const char *state_dir, struct certs_seen *seen)
{
	_cleanup_free_ char *path = seen_path(state_dir), *data = NULL;
	size_t len;
	*seen = (struct certs_seen){ 0 };
	if (!path)
		return -ENOMEM;
	int r = root_read_file(root, path, true, &data, &len, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return log_err(r, "%s: %s", path, file_strerror(r));
	char *save = NULL;
	for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char name[16], hash[65];
		if (sscanf(l, "%15s %64s", name, hash) != 2 || strlen(hash) != 64)
			continue;
		for (int i = 0; i < SEEN_N; i++)
			if (streq(name, names[i]))
				memcpy(seen->hash[i], hash, 65);
	}
	return 0;
}

int certs_seen_write(const char *root, const char *state_dir, const struct certs_seen *seen)
{
	_cleanup_free_ char *path = seen_path(state_dir), *old = NULL;
	char buf[256];
	size_t len = 0, old_len = 0;
	if (!path)
		return -ENOMEM;
	for (int i = 0; i < SEEN_N; i++)
		if (seen->hash[i][0])
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s %s\n", names[i], seen->hash[i]);
	/* op25b's own file, written under the lock: replaced over whatever it holds now; in the
	 * state dir as it is (atomic_replace() would make a missing one, with the wrong mode). */
	struct stat st;
	int r = root_stat(root, state_dir, true, &st);
	if (r < 0)
		return log_err(r, "%s: %s", state_dir, strerror(-r));
	r = root_read_file(root, path, true, &old, &old_len, NULL);
	if (r < 0 && r != -ENOENT)
		return log_err(r, "%s: %s", path, file_strerror(r));
	r = atomic_replace(root, path, buf, len, NULL, 0600, r == 0 ? old : NULL, old_len, -1);
	if (r < 0)
		return r;
	return 0;
}
