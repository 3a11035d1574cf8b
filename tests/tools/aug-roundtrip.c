/* aug-roundtrip LENSDIR LENS FILE...: for each FILE, parse its bytes with LENS (as op25b does:
 * aug_text_store), write the tree back (aug_text_retrieve) and compare the bytes. Then append a
 * setting at the top level and check that the new text parses again and keeps the old bytes in
 * front. Prints "ok FILE NODES" or "FAIL FILE: reason" per file; exits 1 when one failed.
 * Used by tests/t-lens.sh (built there with pkg-config augeas). */
#include <augeas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	for (size_t n; buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
		len += n;
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
		}
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

static const char *error_of(augeas *a, const char *tree)
{
	char p[256];
	const char *msg = NULL;
	snprintf(p, sizeof(p), "/augeas/text%s/error/message", tree);
	if (aug_get(a, p, &msg) != 1 || !msg) {
		snprintf(p, sizeof(p), "/augeas/text%s/error", tree);
		if (aug_get(a, p, &msg) != 1 || !msg)
			msg = "unknown error";
	}
	return msg;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: aug-roundtrip LENSDIR LENS FILE...\n");
		return 2;
	}
	unsetenv("AUGEAS_LENS_LIB");
	augeas *a = aug_init("/", argv[1], AUG_NO_LOAD | AUG_NO_MODL_AUTOLOAD | AUG_NO_ERR_CLOSE);
	if (!a || aug_error(a) != AUG_NOERROR) {
		fprintf(stderr, "aug_init failed\n");
		return 2;
	}
	const char *lens = argv[2];
	int failed = 0;
	for (int i = 3; i < argc; i++) {
		const char *file = argv[i], *out = NULL;
		char *text = slurp(file);
		if (!text) {
			printf("FAIL %s: cannot read\n", file);
			failed++;
			continue;
		}
		aug_rm(a, "/t");
		aug_rm(a, "/augeas/text");
		/* An empty file is parsed as one empty line, as op25b does (src/conf/aug.c). */
		if (!*text) {
			free(text);
			text = strdup("\n");
		}
		aug_set(a, "/in", text);
		if (aug_text_store(a, lens, "/in", "/t") < 0) {
			printf("FAIL %s: parse: %s\n", file, error_of(a, "/t"));
			failed++;
		} else if (aug_text_retrieve(a, lens, "/in", "/t", "/out") < 0 || aug_get(a, "/out", &out) != 1 || !out) {
			printf("FAIL %s: write: %s\n", file, error_of(a, "/out"));
			failed++;
		} else if (strcmp(out, text) != 0) {
			printf("FAIL %s: written bytes differ from the file's\n", file);
			failed++;
		} else {
			int nodes = aug_match(a, "/t//*", NULL);
			/* An edit: a new setting last; the text still parses and starts with the old bytes. */
			aug_set(a, "/t/op25b_roundtrip", "yes");
			if (aug_text_retrieve(a, lens, "/in", "/t", "/out") < 0 || aug_get(a, "/out", &out) != 1 || !out ||
			    strncmp(out, text, strlen(text)) != 0) {
				printf("FAIL %s: a new setting does not go last\n", file);
				failed++;
			} else {
				aug_set(a, "/in2", out);
				if (aug_text_store(a, lens, "/in2", "/t2") < 0) {
					printf("FAIL %s: the edited text does not parse: %s\n", file, error_of(a, "/t2"));
					failed++;
				} else {
					printf("ok %s %d\n", file, nodes);
				}
				aug_rm(a, "/t2");
			}
		}
		free(text);
	}
	aug_close(a);
	return failed ? 1 : 0;
}
