/* Unit tests of ca-store.c on a scratch root: what a CA file and a hashed CA directory add to an
 * X509_STORE, read beneath the root (links out of it are not followed), and which files of a
 * directory count as OpenSSL's hashed lookup would find them (canonical HASH.N names, N from 0
 * without a gap, certificates of that name only). Every test runs with openat2 and with the walk. */
#include <check.h>
#include <errno.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca-store.h"
#include "rootfs.h"
#include "util.h"

static char root[64], outside[64];
static char *ca_pem, *other_pem; /* two self-signed CAs: "CN=unit CA", "CN=other CA" */
static char ca_hash[16], other_hash[16];

/* A self-signed CA certificate for NAME, in PEM (malloc'd). */
static char *make_ca(const char *name)
{
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	ck_assert(kc && EVP_PKEY_keygen_init(kc) == 1);
	ck_assert(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc, NID_X9_62_prime256v1) == 1);
	ck_assert(EVP_PKEY_keygen(kc, &key) == 1);
	EVP_PKEY_CTX_free(kc);
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	ck_assert(x && n);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	ck_assert(X509_sign(x, key, EVP_sha256()) > 0);
	BIO *b = BIO_new(BIO_s_mem());
	ck_assert(PEM_write_bio_X509(b, x) == 1);
	char *data;
	long len = BIO_get_mem_data(b, &data);
	char *pem = strndup(data, (size_t)len);
	BIO_free(b);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(key);
	return pem;
}

static void hash_of(const char *pem, char out[16])
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(x);
	snprintf(out, 16, "%08lx", X509_subject_name_hash(x));
	X509_free(x);
	BIO_free(b);
}

static void put(const char *rel, const char *a, const char *b)
{
	char p[256];
	snprintf(p, sizeof(p), "%s%s", root, rel);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(a, f);
	if (b)
		fputs(b, f);
	fclose(f);
}

static void link_(const char *target, const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s%s", root, rel);
	ck_assert_int_eq(symlink(target, p), 0);
}

static void dir(const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s%s", root, rel);
	ck_assert_int_eq(mkdir(p, 0755), 0);
}

static void setup(void)
{
	if (!ca_pem) {
		ca_pem = make_ca("unit CA");
		other_pem = make_ca("other CA");
		hash_of(ca_pem, ca_hash);
		hash_of(other_pem, other_hash);
	}
	snprintf(root, sizeof(root), "/tmp/op25b-unit-castore-XXXXXX");
	snprintf(outside, sizeof(outside), "/tmp/op25b-unit-castore-out-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_ptr_nonnull(mkdtemp(outside));
	dir("/etc");
	dir("/certs");
	dir("/more");
	dir("/usr");
	put("/usr/ca.crt", ca_pem, NULL);
	char p[256];
	snprintf(p, sizeof(p), "%s/ca.pem", outside);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(ca_pem, f);
	fclose(f);
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, outside);
	ck_assert_int_eq(system(cmd), 0);
	unsetenv("OP25B_TEST_NO_OPENAT2");
}

/* ca_store_load() into a fresh store: its return, and the number of certificates added. */
static int load(const char *file, const char *path, size_t *n)
{
	X509_STORE *s = X509_STORE_new();
	ck_assert_ptr_nonnull(s);
	*n = 99;
	int r = ca_store_load(s, root, file, path, n);
	X509_STORE_free(s);
	return r;
}

static void both_ways(int i)
{
	if (i)
		setenv("OP25B_TEST_NO_OPENAT2", "1", 1);
}

START_TEST(ca_file)
{
	size_t n;
	both_ways(_i);
	put("/etc/two.pem", ca_pem, other_pem);
	ck_assert_int_eq(load("/etc/two.pem", NULL, &n), 0);
	ck_assert_uint_eq(n, 2);
	link_("/usr/ca.crt", "/etc/in.pem");              /* absolute, inside the root */
	ck_assert_int_eq(load("/etc/in.pem", NULL, &n), 0);
	ck_assert_uint_eq(n, 1);
	char t[128];
	snprintf(t, sizeof(t), "%s/ca.pem", outside);
	link_(t, "/etc/out.pem");                         /* the host's file: not followed */
	ck_assert_int_eq(load("/etc/out.pem", NULL, &n), -ENOENT);
	snprintf(t, sizeof(t), "../../../../../../..%s/ca.pem", outside);
	link_(t, "/etc/up.pem");
	ck_assert_int_eq(load("/etc/up.pem", NULL, &n), -ENOENT);
	ck_assert_int_eq(load("/etc/missing.pem", NULL, &n), -ENOENT);
	/* No certificate, or a damaged block after a good one: OpenSSL refuses the file whole. */
	put("/etc/empty.pem", "nothing here\n", NULL);
	ck_assert_int_eq(load("/etc/empty.pem", NULL, &n), -EBADMSG);
	put("/etc/damaged.pem", ca_pem, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
	ck_assert_int_eq(load("/etc/damaged.pem", NULL, &n), -EBADMSG);
	/* A FIFO is refused at once, not waited on. */
	char p[256];
	snprintf(p, sizeof(p), "%s/etc/fifo.pem", root);
	ck_assert_int_eq(mkfifo(p, 0600), 0);
	ck_assert_int_eq(load("/etc/fifo.pem", NULL, &n), -ENOTREGULAR);
	/* A bad CA file: CApath is not loaded either, as OpenSSL does. */
	char name[32];
	snprintf(name, sizeof(name), "/certs/%s.0", ca_hash);
	put(name, ca_pem, NULL);
	ck_assert_int_eq(load("/etc/missing.pem", "/certs", &n), -ENOENT);
	ck_assert_int_eq(load("/etc/two.pem", "/certs", &n), 0);
	ck_assert_uint_eq(n, 3);
}
END_TEST

START_TEST(ca_dir_names)
{
	size_t n;
	char name[64];
	both_ways(_i);
	/* Names OpenSSL never looks up: not its hash, uppercase, "00", a suffix. */
	put("/certs/ca.pem", ca_pem, NULL);
	snprintf(name, sizeof(name), "/certs/%s.00", ca_hash);
	put(name, ca_pem, NULL);
	snprintf(name, sizeof(name), "/certs/%s.0.pem", ca_hash);
	put(name, ca_pem, NULL);
	snprintf(name, sizeof(name), "/certs/%s.0", other_hash);   /* another CA's name: its hash is not this */
	put(name, ca_pem, NULL);
	ck_assert_int_eq(load(NULL, "/certs", &n), 0);
	ck_assert_uint_eq(n, 0);
	/* HASH.0, a symlink inside the root: found; of a file holding two CAs, only the one of that
	 * name counts. */
	snprintf(name, sizeof(name), "/more/%s.0", ca_hash);
	put(name, other_pem, ca_pem);
	ck_assert_int_eq(load(NULL, "/more", &n), 0);
	ck_assert_uint_eq(n, 1);
	/* A ':'-separated list, a missing directory in it. */
	ck_assert_int_eq(load(NULL, "/nowhere:/certs:/more", &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(load(NULL, "/nowhere", &n), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(ca_dir_sequence)
{
	size_t n;
	char name[64], t[128];
	both_ways(_i);
	/* HASH.1 alone: OpenSSL stops at the missing HASH.0. */
	snprintf(name, sizeof(name), "/certs/%s.1", ca_hash);
	put(name, ca_pem, NULL);
	ck_assert_int_eq(load(NULL, "/certs", &n), 0);
	ck_assert_uint_eq(n, 0);
	/* HASH.0 damaged: it stops there too. */
	snprintf(name, sizeof(name), "/certs/%s.0", ca_hash);
	put(name, "garbage\n", NULL);
	ck_assert_int_eq(load(NULL, "/certs", &n), 0);
	ck_assert_uint_eq(n, 0);
	/* HASH.0 a link out of the root: as missing. */
	snprintf(name, sizeof(name), "/certs/%s.0", ca_hash);
	char p[256];
	snprintf(p, sizeof(p), "%s%s", root, name);
	ck_assert_int_eq(unlink(p), 0);
	snprintf(t, sizeof(t), "%s/ca.pem", outside);
	link_(t, name);
	ck_assert_int_eq(load(NULL, "/certs", &n), 0);
	ck_assert_uint_eq(n, 0);
	/* HASH.0 a link inside the root: HASH.0 and HASH.1 both found (the same CA twice: one). */
	ck_assert_int_eq(unlink(p), 0);
	link_("../usr/ca.crt", name);
	ck_assert_int_eq(load(NULL, "/certs", &n), 0);
	ck_assert_uint_ge(n, 1);
	/* CApath itself a link to a host directory: not followed out. */
	snprintf(t, sizeof(t), "%s/%s.0", outside, ca_hash);
	FILE *f = fopen(t, "w");
	ck_assert_ptr_nonnull(f);
	fputs(ca_pem, f);
	fclose(f);
	link_(outside, "/hostdir");
	ck_assert_int_eq(load(NULL, "/hostdir", &n), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(default_store)
{
	size_t n;
	both_ways(_i);
	/* $SSL_CERT_FILE and $SSL_CERT_DIR name places beneath the root, not on the host. */
	char t[128];
	snprintf(t, sizeof(t), "%s/ca.pem", outside);
	setenv(X509_get_default_cert_file_env(), t, 1);
	setenv(X509_get_default_cert_dir_env(), "/nowhere", 1);
	ck_assert_int_eq(load(NULL, NULL, &n), 0);
	ck_assert_uint_eq(n, 0);
	setenv(X509_get_default_cert_file_env(), "/usr/ca.crt", 1);
	ck_assert_int_eq(load(NULL, NULL, &n), 0);
	ck_assert_uint_eq(n, 1);
	/* A damaged default file is no error there. */
	put("/etc/bad.pem", "garbage\n", NULL);
	setenv(X509_get_default_cert_file_env(), "/etc/bad.pem", 1);
	ck_assert_int_eq(load(NULL, NULL, &n), 0);
	ck_assert_uint_eq(n, 0);
	unsetenv(X509_get_default_cert_file_env());
	unsetenv(X509_get_default_cert_dir_env());
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ca-store");
	TCase *t = tcase_create("ca-store");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_loop_test(t, ca_file, 0, 2);
	tcase_add_loop_test(t, ca_dir_names, 0, 2);
	tcase_add_loop_test(t, ca_dir_sequence, 0, 2);
	tcase_add_loop_test(t, default_store, 0, 2);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	free(ca_pem);
	free(other_pem);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
