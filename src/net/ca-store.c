/* CA certificates read beneath the root and loaded into OpenSSL from memory (see ca-store.h).
 *
 * A CA directory is loaded whole, at once, rather than looked up lazily as OpenSSL's by_dir
 * lookup does: a lookup method of our own differs between OpenSSL 1.1.1 and 3.x, and a
 * distribution's directory (~150 CAs) costs a few milliseconds. What is loaded
 * is what by_dir would find: for a certificate's issuer name hashing to H, by_dir opens H.0, H.1,
 * ... up to the first one missing or unreadable, and can only match certificates of that name
 * there; so only those files count, and of each only the certificates whose subject hashes to H. */
#include "ca-store.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include "rootfs.h"
#include "util.h"

/* No more than this many entries of one directory are looked at (a distribution has ~300). */
#define CA_DIR_MAX 65536

static void bio_freep(BIO **b)
{
	BIO_free(*b);
}

static void x509_info_freep(STACK_OF(X509_INFO) **s)
{
	if (*s)
		sk_X509_INFO_pop_free(*s, X509_INFO_free);
}

static BIO *mem_bio(const char *data, size_t len)
{
	return len > INT32_MAX ? NULL : BIO_new_mem_buf(data, (int)len);
}

/* Every certificate and CRL of the PEM text DATA into STORE, as X509_load_cert_crl_file() adds
 * them. -EBADMSG: a damaged block, or none at all. */
static int add_pem_all(X509_STORE *store, const char *data, size_t len, size_t *n_certs)
{
	_cleanup_(bio_freep) BIO *bio = mem_bio(data, len);
	if (!bio)
		return -ENOMEM;
	_cleanup_(x509_info_freep) STACK_OF(X509_INFO) *infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	if (!infos) {
		ERR_clear_error();
		return -EBADMSG;
	}
	size_t n = 0, crls = 0;
	for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *info = sk_X509_INFO_value(infos, i);
		if ((info->x509 && X509_STORE_add_cert(store, info->x509) != 1) ||
		    (info->crl && X509_STORE_add_crl(store, info->crl) != 1)) {
			ERR_clear_error();
			return -ENOMEM;
		}
		n += info->x509 != NULL;
		crls += info->crl != NULL;
	}
	if (n + crls == 0)
		return -EBADMSG;
	*n_certs += n;
	return 0;
}

/* One directory entry named as by_dir looks it up ("%08lx.%d"), and what it holds. */
struct ca_entry {
	unsigned long hash, n;
	STACK_OF(X509) *certs;  /* those whose subject hashes to HASH; NULL: not usable (unreadable,
				 * damaged, or no certificate at all: by_dir stops there) */
};

static bool hashed_name(const char *name, unsigned long *hash, unsigned long *n)
{
	if (strlen(name) < 10 || name[8] != '.')
		return false;
	for (int i = 0; i < 8; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	const char *d = name + 9;
	if (d[0] == '0' && d[1])
		return false;
	for (const char *p = d; *p; p++)
		if (*p < '0' || *p > '9' || p - d > 8)
			return false;
	*hash = strtoul(name, NULL, 16);
	*n = strtoul(d, NULL, 10);
	return true;
}

/* The certificates of the PEM text DATA whose subject hashes to HASH into *OUT (as by_dir's
 * X509_load_cert_file() reads a file). -EBADMSG: a damaged block, or no certificate at all. */
static int parse_named(const char *data, size_t len, unsigned long hash, STACK_OF(X509) **out)
{
	_cleanup_(bio_freep) BIO *bio = mem_bio(data, len);
	STACK_OF(X509) *certs = sk_X509_new_null();
	size_t seen = 0;
	int r = 0;
	if (!bio || !certs)
		r = -ENOMEM;
	while (r == 0) {
		X509 *x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
		if (!x) {
			/* The end of the text after at least one certificate; else damaged. */
			r = seen && ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE ? 1 : -EBADMSG;
			break;
		}
		seen++;
		if (X509_subject_name_hash(x) != hash)
			X509_free(x);
		else if (!sk_X509_push(certs, x)) {
			X509_free(x);
			r = -ENOMEM;
		}
	}
	ERR_clear_error();
	if (r < 0) {
		sk_X509_pop_free(certs, X509_free);
		return r;
	}
	*out = certs;
	return 0;
}

static void entries_free(struct ca_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sk_X509_pop_free(e[i].certs, X509_free);
	free(e);
}

/* Read the entry NAME of directory DIR beneath the root RFD (a symlink, as update-ca-certificates
 * makes them all, resolves inside it) into *E. Only -ENOMEM is an error. */
static int read_entry(int rfd, const char *dir, const char *name, struct ca_entry *e)
{
	_cleanup_free_ char *path = strdup_printf("%s/%s", streq(dir, "/") ? "" : dir, name), *data = NULL;
	size_t len;
	if (!path)
		return -ENOMEM;
	int r = root_read_file_at(rfd, path, false, &data, &len, NULL);
	if (r == 0)
		r = parse_named(data, len, e->hash, &e->certs);
	if (r < 0 && r != -ENOMEM)
		log_debug("CA directory %s: %s: %s", dir, name, r == -EBADMSG ? "no certificate" : file_strerror(r));
	return r == -ENOMEM ? r : 0;
}

/* The hashed entries of directory DIR, beneath the root RFD. */
static int read_entries(int rfd, const char *dir, struct ca_entry **out, size_t *n_out)
{
	_cleanup_close_ int dfd = root_openat(rfd, dir, O_RDONLY | O_DIRECTORY | O_NONBLOCK, 0);
	if (dfd < 0)
		return dfd;
	DIR *d = fdopendir(dfd);
	if (!d)
		return -errno;
	TAKE_FD(dfd);
	struct ca_entry *e = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	struct dirent *de;
	while (r == 0 && n < CA_DIR_MAX && (errno = 0, de = readdir(d))) {
		unsigned long hash, k;
		if (!hashed_name(de->d_name, &hash, &k))
			continue;
		if (n == cap) {
			struct ca_entry *ne = reallocarray(e, cap ? cap * 2 : 64, sizeof(*e));
			if (!ne) {
				r = -ENOMEM;
				break;
			}
			e = ne, cap = cap ? cap * 2 : 64;
		}
		e[n] = (struct ca_entry){ .hash = hash, .n = k };
		r = read_entry(rfd, dir, de->d_name, &e[n++]);
	}
	if (r == 0 && !de && errno)
		r = -errno;
	closedir(d);
	if (r < 0) {
		entries_free(e, n);
		return r;
	}
	*out = e, *n_out = n;
	return 0;
}

/* by_dir reaches H.N only through H.0 .. H.(N-1), each usable: as many usable entries of the same
 * hash below N as N itself (names are unique, so those are exactly 0 .. N-1). */
static bool reached(const struct ca_entry *e, size_t n, const struct ca_entry *x)
{
	unsigned long below = 0;
	for (size_t i = 0; i < n; i++)
		below += e[i].hash == x->hash && e[i].n < x->n && e[i].certs;
	return below == x->n;
}

/* The CAs by_dir finds in DIR into STORE. Only -ENOMEM is an error: as for by_dir, a directory
 * that cannot be read holds no CA. */
static int load_dir(X509_STORE *store, int rfd, const char *dir, size_t *n_certs)
{
	struct ca_entry *e = NULL;
	size_t n = 0;
	int r = read_entries(rfd, dir, &e, &n);
	if (r < 0 && r != -ENOMEM)
		log_debug("CA directory %s: %s", dir, file_strerror(r));
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!e[i].certs || !reached(e, n, &e[i]))
			continue;
		for (int j = 0; r == 0 && j < sk_X509_num(e[i].certs); j++) {
			if (X509_STORE_add_cert(store, sk_X509_value(e[i].certs, j)) != 1)
				r = -ENOMEM;
			else
				(*n_certs)++;
		}
	}
	ERR_clear_error();
	entries_free(e, n);
	return r;
}

/* Each directory of the ':'-separated list DIRS (OpenSSL's list separator on Unix). */
static int load_dirs(X509_STORE *store, int rfd, const char *dirs, size_t *n_certs)
{
	_cleanup_free_ char *copy = strdup(dirs);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		int r = load_dir(store, rfd, dir, n_certs);
		if (r < 0)
			return r;
	}
	return 0;
}

static int load_file(X509_STORE *store, int rfd, const char *file, size_t *n_certs)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = root_read_file_at(rfd, file, false, &data, &len, NULL);
	if (r < 0)
		return r;
	return add_pem_all(store, data, len, n_certs);
}

int ca_store_load(X509_STORE *store, const char *root, const char *ca_file, const char *ca_path, size_t *n_certs)
{
	size_t n = 0;
	int r;
	_cleanup_close_ int rfd = root_dir_open(root);
	if (rfd < 0)
		return rfd;
	if (!ca_file && !ca_path) {
		/* The default locations: a missing or damaged file is no error there (OpenSSL's
		 * X509_FILETYPE_DEFAULT). */
		const char *f = secure_getenv(X509_get_default_cert_file_env());
		const char *d = secure_getenv(X509_get_default_cert_dir_env());
		r = load_file(store, rfd, f ? f : X509_get_default_cert_file(), &n);
		if (r == -ENOMEM || (r = load_dirs(store, rfd, d ? d : X509_get_default_cert_dir(), &n)) < 0)
			return r;
	} else if ((ca_file && (r = load_file(store, rfd, ca_file, &n)) < 0) ||
		   (ca_path && (r = load_dirs(store, rfd, ca_path, &n)) < 0))
		return r;
	if (n_certs)
		*n_certs = n;
	return 0;
}
