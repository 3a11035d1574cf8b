/* Snapshot, parse, edit with a record, render. Nothing here writes a file. */
#include "conffile.h"

#include <fcntl.h>

#include "aug.h"
#include "rootfs.h"
#include "util.h"

int conf_set_augeas(struct conf_set *s)
{
	return s->aug ? 0 : aug_open(&s->aug);
}

void edit_free(struct edit *e)
{
	free(e->path);
	free(e->before);
	free(e->after);
	free(e->anchor);
}

static void conf_file_free(struct conf_file *f)
{
	if (!f)
		return;
	free(f->path);
	free(f->host_path);
	free(f->postmap_type);
	if (f->secret) {
		if (f->old)
			explicit_bzero(f->old, f->old_len);
		if (f->new)
			explicit_bzero(f->new, f->new_len);
	}
	free(f->old);
	free(f->new);
	for (size_t i = 0; i < f->n_edits; i++)
		edit_free(&f->edits[i]);
	free(f->edits);
	free(f);
}

void conf_set_done(struct conf_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		conf_file_free(s->files[i]);
	free(s->files);
	free(s->postfix_defaults);
	spawn_abandon(&s->postfix_defaults_job);
	if (s->aug)
		sym_aug_close(s->aug);
	*s = (struct conf_set){ 0 };
}

struct conf_file *conf_find(struct conf_set *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->files[i]->path, path))
			return s->files[i];
	return NULL;
}

static int conf_new(struct conf_set *s, const char *path, struct conf_file **out)
{
	struct conf_file *f = calloc(1, sizeof(*f));
	struct conf_file **v = realloc(s->files, (s->n + 1) * sizeof(*v));
	if (!f || !v) {
		free(f);
		if (v)
			s->files = v;
		return -ENOMEM;
	}
	s->files = v;
	s->files[s->n] = f;
	snprintf(f->tree, sizeof(f->tree), "/op25b/tree/%zu", s->n);
	s->n++;
	f->path = strdup(path);
	f->host_path = path_under_root(s->root, path);
	f->create_mode = 0644;
	if (!f->path || !f->host_path)
		return -ENOMEM;
	*out = f;
	return 0;
}

static int conf_read(struct conf_set *s, struct conf_file *f, bool must_exist)
{
	/* Beneath the root, symlinks resolved inside it; a FIFO or device is refused, never read
	 * (it would block, or never end). */
	int r = root_read_file(s->root, f->path, false, &f->old, &f->old_len, &f->st);
	if (r == -ENOENT && !must_exist) {
		/* A symlink to nothing is never written through: that would make its target's
		 * directories, which nothing removes again (one rule for every file op25b writes). */
		struct stat lst;
		if (root_stat(s->root, f->path, true, &lst) == 0 && S_ISLNK(lst.st_mode))
			return log_err(-EINVAL, "%s: %s", f->host_path, root_strerror(s->root, f->path, r));
		/* Found now, not after the first write: a directory on the way that cannot be made. */
		_cleanup_free_ char *blocker = NULL;
		if ((r = root_check_creatable(s->root, f->path, &blocker)) < 0)
			return log_err(r == -ENOMEM ? r : -EINVAL, "%s: cannot be created: %s: %s", f->host_path,
				       blocker ? blocker : "", r == -ENOENT ? "a symlink whose target does not exist inside --root" :
				       r == -ENOTDIR ? "not a directory" : strerror(-r));
		f->old = strdup("");
		return f->old ? 0 : -ENOMEM;
	}
	if (r < 0)
		return log_err(r, "%s: %s", f->host_path, root_strerror(s->root, f->path, r));
	if (memchr(f->old, '\0', f->old_len))
		return log_err(-EBADMSG, "%s: contains NUL bytes, not a configuration file", f->host_path);
	f->existed = true;
	return 0;
}

static int open_lens(struct conf_set *s, const char *path, const char *lens, bool must_exist, bool quiet,
		     struct conf_file **out)
{
	struct conf_file *f;
	int r = conf_new(s, path, &f);
	if (r < 0)
		return r;
	f->lens = lens;
	if ((r = conf_read(s, f, must_exist)) < 0 || (r = conf_set_augeas(s)) < 0)
		return r;
	if ((r = aug_parse_text(s->aug, lens, f->old, f->tree, quiet ? NULL : f->host_path)) < 0) {
		f->lens = NULL; /* never rendered nor written */
		return r;
	}
	*out = f;
	return 0;
}

int conf_open(struct conf_set *s, const char *path, const char *lens, bool must_exist, struct conf_file **out)
{
	return open_lens(s, path, lens, must_exist, false, out);
}

int conf_open_try(struct conf_set *s, const char *path, const char *lens, struct conf_file **out)
{
	return open_lens(s, path, lens, true, true, out);
}

int conf_open_raw(struct conf_set *s, const char *path, mode_t create_mode, struct conf_file **out)
{
	struct conf_file *f;
	int r = conf_new(s, path, &f);
	if (r < 0)
		return r;
	f->create_mode = create_mode;
	f->secret = true;
	if ((r = conf_read(s, f, false)) < 0)
		return r;
	*out = f;
	return 0;
}

void conf_whole(struct conf_file *f, char *text)
{
	f->secret = false;
	if (f->existed && streq(f->old, text)) {
		f->claimed = true;
		free(text);
		return;
	}
	f->new_len = strlen(text);
	f->new = text;
}

int conf_open_whole(struct conf_set *s, const char *path, mode_t mode, char *text)
{
	struct conf_file *f;
	int r = conf_open_raw(s, path, mode, &f);
	if (r < 0) {
		free(text);
		return r;
	}
	conf_whole(f, text);
	return 0;
}

char *conf_node(const struct conf_file *f, const char *rel)
{
	return strdup_printf("%s/%s", f->tree, rel);
}

int conf_get(struct conf_set *s, struct conf_file *f, const char *rel, bool *present, const char **value)
{
	_cleanup_free_ char *p = conf_node(f, rel);
	return p ? aug_state(s->aug, p, present, value) : -ENOMEM;
}

int edit_append(struct edit **v, size_t *n, const char *path, bool bp, const char *b, bool ap, const char *a)
{
	struct edit *nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	struct edit *e = &nv[*n];
	*e = (struct edit){ .before_present = bp, .after_present = ap };
	e->path = strdup(path);
	e->before = b ? strdup(b) : NULL;
	e->after = a ? strdup(a) : NULL;
	if (!e->path || (b && !e->before) || (a && !e->after)) {
		edit_free(e);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

static const char *last_label(const char *path)
{
	const char *sl = strrchr(path, '/');
	return sl ? sl + 1 : path;
}

/* Put a node at ABS with VALUE, creating it where the lens expects it. */
static int node_put(augeas *a, const char *abs, const char *value, bool exists)
{
	if (exists) {
		_cleanup_free_ char *last = strdup_printf("%s[last()]", abs);
		if (!last)
			return -ENOMEM;
		return sym_aug_set(a, last, value) < 0 ? -EIO : 0;
	}
	const char *label = last_label(abs);
	if (streq(label, "disabled")) {
		/* The marker is the first child of its entry/option ("#" starts the line). */
		_cleanup_free_ char *parent = strndup(abs, (size_t)(label - abs - 1));
		_cleanup_free_ char *first = parent ? strdup_printf("%s/*[1]", parent) : NULL;
		if (!first)
			return -ENOMEM;
		if (sym_aug_match(a, first, NULL) > 0) {
			if (sym_aug_insert(a, first, "disabled", 1) < 0)
				return -EIO;
			return 0;
		}
	}
	return sym_aug_set(a, abs, value) < 0 ? -EIO : 0;
}

static bool same_value(const char *x, const char *y)
{
	return (!x && !y) || streq(x, y);
}

/* REL's node in F's tree (*ABS, malloc'd) and its state now: what conf_set(), conf_remove() and
 * conf_claim() record as "before". */
static int node_now(struct conf_set *s, struct conf_file *f, const char *rel, char **abs, bool *present,
		    const char **cur)
{
	if (!(*abs = conf_node(f, rel)))
		return -ENOMEM;
	return aug_state(s->aug, *abs, present, cur);
}

int conf_set(struct conf_set *s, struct conf_file *f, const char *rel, const char *value)
{
	_cleanup_free_ char *abs = NULL;
	bool present;
	const char *cur;
	int r = node_now(s, f, rel, &abs, &present, &cur);
	if (r < 0)
		return r;
	if (present && same_value(cur, value))
		return edit_append(&f->edits, &f->n_edits, rel, true, cur, true, cur);
	if ((r = edit_append(&f->edits, &f->n_edits, rel, present, cur, true, value)) < 0)
		return r;
	if ((r = node_put(s->aug, abs, value, present)) < 0)
		return log_err(r, "%s: cannot set %s: %s", f->path, rel, sym_aug_error_message(s->aug));
	return 0;
}

int conf_remove(struct conf_set *s, struct conf_file *f, const char *rel)
{
	_cleanup_free_ char *abs = NULL;
	bool present;
	const char *cur;
	int r = node_now(s, f, rel, &abs, &present, &cur);
	if (r < 0)
		return r;
	if (!present)
		return edit_append(&f->edits, &f->n_edits, rel, false, NULL, false, NULL);
	if ((r = edit_append(&f->edits, &f->n_edits, rel, true, cur, false, NULL)) < 0)
		return r;
	if (sym_aug_rm(s->aug, abs) < 0)
		return log_err(-EIO, "%s: cannot remove %s: %s", f->path, rel, sym_aug_error_message(s->aug));
	return 0;
}

int conf_claim(struct conf_set *s, struct conf_file *f, const char *rel)
{
	_cleanup_free_ char *abs = NULL;
	bool present;
	const char *cur;
	int r = node_now(s, f, rel, &abs, &present, &cur);
	return r < 0 ? r : edit_append(&f->edits, &f->n_edits, rel, present, cur, present, cur);
}

bool edit_is_claim(const struct edit *e)
{
	return e->before_present == e->after_present && same_value(e->before, e->after);
}

size_t conf_changes(const struct conf_file *f)
{
	size_t n = 0;
	for (size_t i = 0; i < f->n_edits; i++)
		n += !edit_is_claim(&f->edits[i]);
	return n;
}

int conf_insert(struct conf_set *s, struct conf_file *f, const char *at, bool before, const char *label)
{
	_cleanup_free_ char *abs = conf_node(f, at);
	if (!abs)
		return -ENOMEM;
	if (sym_aug_insert(s->aug, abs, label, before ? 1 : 0) < 0)
		return log_err(-EIO, "%s: cannot insert %s: %s", f->path, label, sym_aug_error_message(s->aug));
	int r = edit_append(&f->edits, &f->n_edits, label, false, NULL, true, NULL);
	if (r < 0)
		return r;
	/* Where it went: a revert that replays this edit on other text puts it there again. */
	struct edit *e = &f->edits[f->n_edits - 1];
	e->anchor_before = before;
	return (e->anchor = strdup(at)) ? 0 : -ENOMEM;
}

int conf_undo(struct conf_set *s, struct conf_file *f, const struct edit *edits, size_t n)
{
	int skipped = 0, r;
	for (size_t i = n; i-- > 0;) {
		const struct edit *e = &edits[i];
		if (edit_is_claim(e))
			continue; /* nothing to undo */
		_cleanup_free_ char *abs = conf_node(f, e->path);
		bool present;
		const char *cur;
		if (!abs)
			return -ENOMEM;
		if ((r = aug_state(s->aug, abs, &present, &cur)) < 0)
			return r;
		if (present != e->after_present || (present && !same_value(cur, e->after))) {
			log_warn("%s: %s was changed after op25b set it: left as it is", f->path, e->path);
			skipped++;
			continue;
		}
		if (!e->before_present) {
			if (present && sym_aug_rm(s->aug, abs) < 0)
				return -EIO;
		} else if ((r = node_put(s->aug, abs, e->before, present)) < 0) {
			return log_err(r, "%s: cannot restore %s", f->path, e->path);
		}
	}
	return skipped;
}

int conf_render(struct conf_set *s, struct conf_file *f)
{
	if (!f->lens)
		return 0;
	/* Every change to a tree is a recorded edit (conf_set, conf_remove, conf_insert): without
	 * one the lens would write the original bytes back, at the cost of reading them again. */
	if (conf_changes(f) == 0) {
		free(f->new);
		f->new = NULL;
		f->new_len = 0;
		return 0;
	}
	_cleanup_free_ char *text = NULL;
	int r = aug_render_text(s->aug, f->lens, f->old, f->tree, f->host_path, &text);
	if (r < 0)
		return r;
	free(f->new);
	f->new = NULL;
	f->new_len = 0;
	if (f->existed && strlen(text) == f->old_len && memcmp(text, f->old, f->old_len) == 0)
		return 0;
	if (!f->existed && !*text && conf_changes(f) == 0)
		return 0;
	f->new_len = strlen(text);
	f->new = TAKE_PTR(text);
	return 0;
}
