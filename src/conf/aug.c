/* Augeas from C, the netcf way: restricted, explicit, every error turned into a file:line message. */
#include "aug.h"

#include <limits.h>
#include <stdio.h>

const char *lens_dir(char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			/* ./op25b or build/op25b in the source tree (build/unit/test_* for the Check tests,
			 * build/asan/unit/test_* for the sanitizer build's); PREFIX/sbin/op25b installed with
			 * its lenses in PREFIX/share/op25b/lenses, whatever PREFIX it was built for. */
			static const char *const rel[] = { "lenses", "../lenses", "../share/op25b/lenses", "../../lenses",
							   "../../../lenses" };
			for (unsigned i = 0; i < ELEMENTSOF(rel); i++) {
				char probe[PATH_MAX + 64];
				snprintf(buf, size, "%s/%s", exe, rel[i]);
				snprintf(probe, sizeof(probe), "%s/op25b_postfix_master.aug", buf);
				if (access(probe, R_OK) == 0)
					return buf;
			}
		}
	}
	snprintf(buf, size, "%s", OP25B_LENSDIR);
	return buf;
}

int aug_open(augeas **out)
{
	char dir[PATH_MAX];
	int r = dlopen_augeas();
	if (r < 0)
		return r;
	/* The search path always includes AUGEAS_LENS_LIB: drop it for this process. */
	if (unsetenv("AUGEAS_LENS_LIB") < 0)
		return log_err(-errno, "unsetenv: %m");
	augeas *a = sym_aug_init("/", lens_dir(dir, sizeof(dir)), AUG_NO_LOAD | AUG_NO_MODL_AUTOLOAD | AUG_NO_ERR_CLOSE);
	if (!a)
		return log_err(-ENOMEM, "cannot initialize Augeas");
	if (sym_aug_error(a) != AUG_NOERROR) {
		r = log_err(-EIO, "cannot initialize Augeas: %s", sym_aug_error_message(a));
		sym_aug_close(a);
		return r;
	}
	*out = a;
	return 0;
}

/* What a lens reads, in the user's words. */
static const char *syntax_of(const char *lens)
{
	if (strstr(lens, "Postfix_Main"))
		return "Postfix main.cf";
	if (strstr(lens, "Postfix_Master"))
		return "Postfix master.cf";
	if (strstr(lens, "Dovecot"))
		return "Dovecot configuration";
	return "configuration";
}

/* Augeas puts text-mode errors under /augeas/text<TREE>/error. The message says where, what kind
 * of file it should be and what to do; the lens's own words follow in parentheses, first line only
 * (lens errors can carry kilobytes of regular expression). */
static int report_error(augeas *a, const char *tree, const char *file, const char *lens, bool writing)
{
	_cleanup_free_ char *base = strdup_printf("/augeas/text%s/error", tree);
	const char *msg = NULL, *line = NULL;
	if (!base)
		return -ENOMEM;
	_cleanup_free_ char *pm = strdup_printf("%s/message", base);
	_cleanup_free_ char *pl = strdup_printf("%s/line", base);
	if (!pm || !pl)
		return -ENOMEM;
	sym_aug_get(a, pm, &msg);
	sym_aug_get(a, pl, &line);
	if (!msg && sym_aug_get(a, base, &msg) != 1)
		msg = sym_aug_error_message(a);
	if (msg && streq(msg, "No error"))
		msg = NULL;
	int n = msg ? (int)strcspn(msg, "\n") : 0;
	if (writing)
		log_err(0, "%s: op25b's edit cannot be written in %s syntax%s%.*s%s; nothing was changed: please "
			   "report this with the file", file, syntax_of(lens), msg ? " (" : "", n, msg ? msg : "",
			msg ? ")" : "");
	else if (line && !streq(line, "0"))
		log_err(0, "%s:%s: this line (or the block it ends) is not %s syntax op25b can read%s%.*s%s; "
			   "if the program that uses the file accepts it, please report it; else correct it and run "
			   "op25b again", file, line, syntax_of(lens), msg ? " (" : "", n, msg ? msg : "", msg ? ")" : "");
	else
		log_err(0, "%s: not %s syntax op25b can read%s%.*s%s; if the program that uses the file accepts "
			   "it, please report it; else correct it and run op25b again", file, syntax_of(lens),
			msg ? " (" : "", n, msg ? msg : "", msg ? ")" : "");
	return -EBADMSG;
}

/* Line ends. The lenses know LF-terminated lines only; Postfix and Dovecot also read files with
 * CRLF line ends and files whose last line has no newline (templates often write them). Such a
 * text is parsed as LF text with the newline added, and what the lens writes is turned back: CRLF
 * again, and no newline at the end (unchanged lines keep every byte; a line op25b adds gets the
 * file's line end). A file mixing both line ends is read as it is. An empty file is read as one
 * empty line, which is taken away again: Augeas' parser of recursive lenses (the Dovecot lens)
 * finds a syntax error in an empty text (Debian 13 ships an empty conf.d/99-local.conf). */
struct line_ends {
	bool crlf;       /* every line ends in CRLF */
	bool no_final;   /* the last line has no line end */
	bool empty;      /* no byte at all */
};

static struct line_ends line_ends_of(const char *text)
{
	struct line_ends e = { 0 };
	size_t n = strlen(text), lf = 0, crlf = 0;
	for (const char *p = text; (p = strchr(p, '\n')); p++) {
		lf++;
		if (p > text && p[-1] == '\r')
			crlf++;
	}
	e.crlf = lf > 0 && crlf == lf;
	e.no_final = n > 0 && text[n - 1] != '\n';
	e.empty = n == 0;
	return e;
}

/* TEXT as the lenses want it (malloc'd). */
static char *to_lf(const char *text, struct line_ends e)
{
	size_t n = strlen(text);
	char *out = malloc(n + 2), *o = out;
	if (!out)
		return NULL;
	for (const char *p = text; *p; p++)
		if (!(e.crlf && p[0] == '\r' && p[1] == '\n'))
			*o++ = *p;
	if (e.no_final || e.empty)
		*o++ = '\n';
	*o = '\0';
	return out;
}

/* The lens's TEXT (taken) with the line ends E of the original. */
static char *from_lf(char *text, struct line_ends e)
{
	size_t n = strlen(text);
	if (e.empty && text[0] == '\n')
		memmove(text, text + 1, n--);
	if (e.no_final && n > 0 && text[n - 1] == '\n')
		text[--n] = '\0';
	if (!e.crlf)
		return text;
	size_t lines = 0;
	for (const char *p = text; (p = strchr(p, '\n')); p++)
		lines++;
	char *out = malloc(n + lines + 1), *o = out;
	if (out) {
		for (const char *p = text; *p; p++) {
			if (*p == '\n')
				*o++ = '\r';
			*o++ = *p;
		}
		*o = '\0';
	}
	free(text);
	return out;
}

/* Stand-ins: a lens that reads a subset of another lens's files into the same tree at a fraction
 * of the cost (Op25b_Postfix_Master.lns_entries: master.cf without a leading orphan line, 122 M ->
 * 85 M; lenses/op25b_dovecot.aug needs none: it costs what its block-less stand-in did). A
 * file the stand-in cannot read goes to the full lens, and a tree is always written back by the
 * lens that read it (recorded under /op25b/lens<TREE>). */
static const struct {
	const char *lens, *fast;
	char needs_none_of;           /* files with this byte are left to the full lens (0: none) */
} stand_ins[] = {
	{ "Op25b_Postfix_Master.lns", "Op25b_Postfix_Master.lns_entries", 0 },
};

static const char *stand_in(const char *lens, const char *text)
{
	for (size_t i = 0; i < ELEMENTSOF(stand_ins); i++)
		if (streq(lens, stand_ins[i].lens) &&
		    (!text || !stand_ins[i].needs_none_of || !strchr(text, stand_ins[i].needs_none_of)))
			return stand_ins[i].fast;
	return NULL;
}

int aug_parse_text(augeas *a, const char *lens, const char *raw, const char *tree, const char *file_for_msg)
{
	_cleanup_free_ char *text = to_lf(raw, line_ends_of(raw));
	if (!text)
		return -ENOMEM;
	_cleanup_free_ char *node = strdup_printf("/op25b/text%s", tree);
	_cleanup_free_ char *mark = strdup_printf("/op25b/lens%s", tree);
	if (!node || !mark)
		return -ENOMEM;
	if (sym_aug_set(a, node, text) < 0)
		return log_err(-EIO, "%s: Augeas: %s", file_for_msg ? file_for_msg : tree, sym_aug_error_message(a));
	sym_aug_rm(a, mark);
	const char *fast = stand_in(lens, text);
	if (fast) {
		if (sym_aug_text_store(a, fast, node, tree) == 0)
			return sym_aug_set(a, mark, fast) < 0 ? -ENOMEM : 0;
		_cleanup_free_ char *err = strdup_printf("/augeas/text%s", tree);
		if (err)
			sym_aug_rm(a, err); /* the stock lens says what is wrong, if anything */
	}
	if (sym_aug_text_store(a, lens, node, tree) < 0) {
		if (!file_for_msg)
			return -EBADMSG; /* the caller has a fallback */
		if (sym_aug_error(a) != AUG_NOERROR)
			return log_err(-EBADMSG, "%s: %s: %s", file_for_msg, sym_aug_error_message(a),
				       sym_aug_error_minor_message(a) ? sym_aug_error_minor_message(a) : "");
		return report_error(a, tree, file_for_msg, lens, false);
	}
	return 0;
}

int aug_render_text(augeas *a, const char *lens, const char *raw, const char *tree,
		    const char *file_for_msg, char **out)
{
	struct line_ends ends = line_ends_of(raw);
	_cleanup_free_ char *original = to_lf(raw, ends);
	if (!original)
		return -ENOMEM;
	_cleanup_free_ char *in = strdup_printf("/op25b/orig%s", tree);
	_cleanup_free_ char *res = strdup_printf("/op25b/out%s", tree);
	_cleanup_free_ char *mark = strdup_printf("/op25b/lens%s", tree);
	const char *v = NULL, *used = NULL;
	if (!in || !res || !mark)
		return -ENOMEM;
	/* The lens that read the tree writes it; when an edit added what only the stock lens can
	 * write (a block), the stock lens writes it: both read these files into the same tree. */
	const char *fast = stand_in(lens, NULL);
	if (sym_aug_set(a, in, original) < 0)
		return log_err(-EIO, "%s: Augeas: %s", file_for_msg, sym_aug_error_message(a));
	bool fast_ok = fast && sym_aug_get(a, mark, &used) == 1 && streq(used, fast) &&
		       sym_aug_text_retrieve(a, fast, in, tree, res) == 0;
	if (!fast_ok && sym_aug_text_retrieve(a, lens, in, tree, res) < 0) {
		if (sym_aug_error(a) != AUG_NOERROR)
			return log_err(-EIO, "%s: cannot write the edited tree: %s", file_for_msg, sym_aug_error_message(a));
		return report_error(a, res, file_for_msg, lens, true);
	}
	if (sym_aug_get(a, res, &v) != 1 || !v)
		v = "";
	char *lf = strdup(v);
	sym_aug_rm(a, in);
	sym_aug_rm(a, res);
	*out = lf ? from_lf(lf, ends) : NULL;
	return *out ? 0 : -ENOMEM;
}

int aug_state(augeas *a, const char *path, bool *present, const char **value)
{
	_cleanup_free_ char *last = strdup_printf("%s[last()]", path);
	if (!last)
		return -ENOMEM;
	int n = sym_aug_get(a, last, value);
	if (n < 0)
		return log_err(-EINVAL, "Augeas path %s: %s", path, sym_aug_error_message(a));
	*present = n == 1;
	if (!*present)
		*value = NULL;
	return 0;
}
