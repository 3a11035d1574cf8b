/* Certificate checks with OpenSSL: existence, PEM, key match, expiry. */
#include "cert.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include "rootfs.h"
#include "rootfs.h"
#include "util.h"

static void bio_freep(BIO **b) { if (*b) BIO_free(*b); }
static void x509_freep(X509 **x) { if (*x) X509_free(*x); }
static void pkey_freep(EVP_PKEY **k) { if (*k) EVP_PKEY_free(*k); }

/* Read a PEM file beneath the root (a symlink resolves inside it, as after chroot): a regular
 * file, never a FIFO or device that would block the read. The bytes are wiped when the BIO goes
 * (*DATA is the caller's, freed after the BIO): the key is a secret. */
static int open_pem(const char *root, const char *path, const char *what, char **data, size_t *len, BIO **out)
{
	int r = root_read_file(root, path, false, data, len, NULL);
	if (r == -ELOOP)
		return log_err(-EINVAL, "%s %s: symlink loop", what, path);
	if (r == -EISDIR)
		return log_err(-EINVAL, "%s %s: is a directory", what, path);
	if (r < 0)
		return log_err(-EINVAL, "%s %s: %s", what, path, root_strerror(root, path, r));
	if (*len > INT_MAX)
		return log_err(-EINVAL, "%s %s: too large", what, path);
	*out = BIO_new_mem_buf(*data, (int)*len);
	if (!*out)
		return log_err(-ENOMEM, "%s %s: out of memory", what, path);
	return 0;
}

struct pem {
	char *data;
	size_t len;
};

static void pem_done(struct pem *p)
{
	if (p->data)
		explicit_bzero(p->data, p->len);
	free(p->data);
}

/* The expiry line both checks print; a warning in the last two weeks. */
static void note_expiry(const char *cert, const char *subject, const char *when, int days)
{
	log_info("certificate %s: %s, expires %s (in %d days)", cert, subject, when, days);
	if (days < 14)
		log_warn("certificate %s expires in %d days: renew it", cert, days);
}

bool cert_still_valid(const char *cert, time_t not_after)
{
	time_t now = time(NULL);
	struct tm tm;
	char when[32];
	if (not_after <= now || !gmtime_r(&not_after, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d", &tm))
		return false;
	note_expiry(cert, "unchanged since op25b checked it", when, (int)((not_after - now) / 86400));
	return true;
}

int cert_check(const char *root, const char *cert, const char *key, time_t *not_after)
{
	/* Declared before the BIOs that read them: freed after them. */
	_cleanup_(pem_done) struct pem cp = { 0 }, kp = { 0 };
	_cleanup_(bio_freep) BIO *cb = NULL, *kb = NULL;
	_cleanup_(x509_freep) X509 *x = NULL;
	_cleanup_(pkey_freep) EVP_PKEY *k = NULL;
	int r;

	if ((r = open_pem(root, cert, "certificate", &cp.data, &cp.len, &cb)) < 0)
		return r;
	x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
	if (!x) {
		ERR_clear_error();
		return log_err(-EINVAL, "certificate %s: not a PEM certificate", cert);
	}
	if ((r = open_pem(root, key, "key", &kp.data, &kp.len, &kb)) < 0)
		return r;
	/* No passphrase callback: Postfix and Dovecot cannot use an encrypted key either. */
	k = PEM_read_bio_PrivateKey(kb, NULL, NULL, (void *)"");
	if (!k) {
		ERR_clear_error();
		return log_err(-EINVAL, "key %s: not an unencrypted PEM private key", key);
	}
	if (X509_check_private_key(x, k) != 1) {
		ERR_clear_error();
		return log_err(-EINVAL, "key %s does not match certificate %s", key, cert);
	}

	char subject[256] = "";
	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	int days = 0, secs = 0;
	const ASN1_TIME *na = X509_get0_notAfter(x);
	if (!ASN1_TIME_diff(&days, &secs, NULL, na))
		return log_err(-EINVAL, "certificate %s: unreadable expiry date", cert);
	struct tm tm;
	char when[32] = "?";
	bool have_tm = ASN1_TIME_to_tm(na, &tm) == 1;
	if (have_tm)
		strftime(when, sizeof(when), "%Y-%m-%d", &tm);
	if (days < 0 || (days == 0 && secs < 0))
		return log_err(-EINVAL, "certificate %s (%s) expired on %s", cert, subject, when);
	if (not_after && (!have_tm || (*not_after = timegm(&tm)) == (time_t)-1))
		*not_after = 0; /* unknown: a later run checks again */
	note_expiry(cert, subject, when, days);
	return 0;
}
