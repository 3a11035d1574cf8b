/* Unit tests of rootfs.c and atomic.c on a scratch tree: every resolution stays beneath the root
 * (absolute links, ".." climbing out, loops, magic links, dangling links), with openat2 and with
 * the walk that replaces it on kernels older than 5.6 (each test runs in both ways); special files
 * are refused without blocking; atomic writes compare what they swap out. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "rootfs.h"
#include "util.h"

static char root[64];

static void put(const char *rel, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s%s", root, rel);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
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

/* The test's tree: /etc/postfix/main.cf ("inside"), and links of every kind. */
static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/op25b-unit-rootfs-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	dir("/etc");
	dir("/etc/postfix");
	put("/etc/postfix/main.cf", "inside\n");
	link_("/etc", "/abs");                         /* absolute: /etc of the root, not the host's */
	link_("../../../../../../..", "/up");          /* climbs: stops at the root */
	link_("loop2", "/loop1");
	link_("loop1", "/loop2");
	link_("/etc/postfix/main.cf", "/link.cf");
	link_("/proc/self/root", "/magic");            /* a magic link's text, resolved in the root */
	link_("/newdir/file", "/dangling");
	link_("main.cf", "/etc/postfix/alias.cf");
	char fifo[256];
	snprintf(fifo, sizeof(fifo), "%s/etc/postfix/fifo.cf", root);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}

/* _i: 0 openat2 (where the kernel has it), 1 the walk. */
static void mode(int i)
{
	setenv("OP25B_TEST_NO_OPENAT2", i ? "1" : "0", 1);
}

static char *read_at(const char *path, int *err)
{
	char *data = NULL;
	size_t len;
	*err = root_read_file(root, path, false, &data, &len, NULL);
	return data;
}

START_TEST(absolute_link_stays_inside)
{
	mode(_i);
	int err;
	char *d = read_at("/abs/postfix/main.cf", &err);
	ck_assert_int_eq(err, 0);
	ck_assert_str_eq(d, "inside\n");
	free(d);
}
END_TEST

START_TEST(dotdot_stops_at_root)
{
	mode(_i);
	int err;
	char *d = read_at("/up/etc/postfix/main.cf", &err);
	ck_assert_int_eq(err, 0);
	ck_assert_str_eq(d, "inside\n");
	free(d);
	/* A ".." in the path itself: the same (callers refuse it earlier with path_is_clean). */
	d = read_at("/etc/../../../etc/postfix/main.cf", &err);
	ck_assert_int_eq(err, 0);
	ck_assert_str_eq(d, "inside\n");
	free(d);
}
END_TEST

START_TEST(loops_and_nofollow)
{
	mode(_i);
	int err;
	ck_assert_ptr_null(read_at("/loop1", &err));
	ck_assert_int_eq(err, -ELOOP);
	char *d = NULL;
	size_t len;
	ck_assert_int_eq(root_read_file(root, "/link.cf", true, &d, &len, NULL), -ELOOP);
	ck_assert_int_eq(root_read_file(root, "/link.cf", false, &d, &len, NULL), 0);
	ck_assert_str_eq(d, "inside\n");
	free(d);
}
END_TEST

START_TEST(magic_link_not_followed_out)
{
	mode(_i);
	int err;
	/* The host's /etc/hostname must never be what this reads. */
	ck_assert_ptr_null(read_at("/magic/etc/hostname", &err));
	ck_assert_int_eq(err, -ENOENT);
}
END_TEST

START_TEST(dangling_link_creates_inside)
{
	mode(_i);
	int fd = root_open(root, "/dangling", O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_eq(fd, -EEXIST); /* O_EXCL: the link itself is in the way, as open(2) has it */
	fd = root_open(root, "/dangling", O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(fd, -ENOENT); /* /newdir is not in the root */
	dir("/newdir");
	fd = root_open(root, "/dangling", O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	char p[256];
	struct stat st;
	snprintf(p, sizeof(p), "%s/newdir/file", root);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_ne(stat("/newdir/file", &st), 0);
}
END_TEST

START_TEST(parent_follows_last_link)
{
	mode(_i);
	char *name = NULL;
	int fd = root_open_parent(root, "/etc/postfix/alias.cf", true, 0, &name);
	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(name, "main.cf");
	free(name);
	close(fd);
	fd = root_open_parent(root, "/abs/postfix/alias.cf", false, 0, &name);
	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(name, "alias.cf");
	struct stat st;
	ck_assert_int_eq(fstatat(fd, "main.cf", &st, 0), 0);
	free(name);
	close(fd);
	fd = root_mkdir_p(root, "/up/a/b/c", 0700);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	close(fd);
	char p[256];
	snprintf(p, sizeof(p), "%s/a/b/c", root);
	ck_assert_int_eq(stat(p, &st), 0);
}
END_TEST

START_TEST(special_files_refused)
{
	mode(_i);
	int err;
	ck_assert_ptr_null(read_at("/etc/postfix/fifo.cf", &err)); /* returns: O_NONBLOCK */
	ck_assert_int_eq(err, -ENOTREGULAR);
	ck_assert_ptr_null(read_at("/etc/postfix", &err));
	ck_assert_int_eq(err, -EISDIR);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/etc/sock.cf", root);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_ptr_null(read_at("/etc/sock.cf", &err));
	ck_assert_int_eq(err, -ENOTREGULAR);
	close(s);
	ck_assert_str_eq(file_strerror(-ENOTREGULAR), "not a regular file");
}
END_TEST

START_TEST(clean_paths)
{
	ck_assert(path_is_clean("/"));
	ck_assert(path_is_clean("/etc/postfix/main.cf"));
	ck_assert(path_is_clean("/etc/.hidden/..x/x.."));
	ck_assert(!path_is_clean("etc/postfix"));
	ck_assert(!path_is_clean(""));
	ck_assert(!path_is_clean("/etc/../tmp"));
	ck_assert(!path_is_clean("/etc/.."));
	ck_assert(!path_is_clean("/etc/./postfix"));
	ck_assert(!path_is_clean("//etc"));
	ck_assert(!path_is_clean("/etc//postfix"));
	ck_assert(!path_is_clean("/etc/postfix/"));
}
END_TEST

static int stage(void)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/state", root);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	int fd = atomic_stage_open(root, "/state");
	ck_assert_int_ge(fd, 0);
	return fd;
}

START_TEST(atomic_replace_compares_what_it_swaps_out)
{
	mode(_i);
	int sfd = stage();
	struct stat st;
	/* The bytes read: replaced, dated 2 s back, through the symlink to the file. */
	ck_assert_int_eq(atomic_replace(root, "/etc/postfix/alias.cf", "new\n", 4, NULL, 0640, "inside\n", 7, sfd), 0);
	int err;
	char *d = read_at("/etc/postfix/main.cf", &err);
	ck_assert_str_eq(d, "new\n");
	free(d);
	char p[256];
	snprintf(p, sizeof(p), "%s/etc/postfix/main.cf", root);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_int_le(st.st_mtime, time(NULL) - 2);
	snprintf(p, sizeof(p), "%s/etc/postfix/alias.cf", root);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert(S_ISLNK(st.st_mode)); /* the link stays a link */
	/* An edit landed since the read: nothing is lost, -ESTALE. */
	ck_assert_int_eq(atomic_replace(root, "/etc/postfix/main.cf", "op25b\n", 6, NULL, 0644, "inside\n", 7, sfd),
			 -ESTALE);
	d = read_at("/etc/postfix/main.cf", &err);
	ck_assert_str_eq(d, "new\n");
	free(d);
	/* A new file: -ESTALE when one appeared. */
	ck_assert_int_eq(atomic_replace(root, "/etc/postfix/new.cf", "x", 1, NULL, 0644, NULL, 0, sfd), 0);
	ck_assert_int_eq(atomic_replace(root, "/etc/postfix/new.cf", "y", 1, NULL, 0644, NULL, 0, sfd), -ESTALE);
	/* Remove only what holds the bytes expected. */
	ck_assert_int_eq(atomic_remove(root, "/etc/postfix/new.cf", "z", 1, sfd), -ESTALE);
	ck_assert_int_eq(file_holds(root, "/etc/postfix/new.cf", "x", 1), 1);
	ck_assert_int_eq(atomic_remove(root, "/etc/postfix/new.cf", "x", 1, sfd), 0);
	ck_assert_int_eq(file_holds(root, "/etc/postfix/new.cf", NULL, 0), 1);
	/* No leftovers: not in the configuration directory, not in the stage. */
	snprintf(p, sizeof(p), "test -z \"$(ls -A '%s/etc/postfix' | grep -v '^main.cf$\\|^alias.cf$\\|^fifo.cf$')\" && "
			       "test -z \"$(ls -A '%s/state/stage')\"", root, root);
	ck_assert_int_eq(system(p), 0);
	close(sfd);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("rootfs");
	TCase *t = tcase_create("resolve");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_loop_test(t, absolute_link_stays_inside, 0, 2);
	tcase_add_loop_test(t, dotdot_stops_at_root, 0, 2);
	tcase_add_loop_test(t, loops_and_nofollow, 0, 2);
	tcase_add_loop_test(t, magic_link_not_followed_out, 0, 2);
	tcase_add_loop_test(t, dangling_link_creates_inside, 0, 2);
	tcase_add_loop_test(t, parent_follows_last_link, 0, 2);
	tcase_add_loop_test(t, special_files_refused, 0, 2);
	tcase_add_test(t, clean_paths);
	suite_add_tcase(s, t);
	t = tcase_create("atomic");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_loop_test(t, atomic_replace_compares_what_it_swaps_out, 0, 2);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
