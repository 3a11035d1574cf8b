/* The stock zones revert may make a zone file from again (zone-stock.h). */
#include "zone-stock.h"

#include "rootfs.h"
#include "util.h"

#define ZONES "/etc/firewalld/zones/"

void zone_stock_done(struct zone_stock *z)
{
	for (size_t i = 0; i < z->n; i++) {
		free(z->v[i].path);
		free(z->v[i].data);
	}
	free(z->v);
	*z = (struct zone_stock){ 0 };
}

static bool known(const struct zone_stock *z, const char *path)
{
	for (size_t i = 0; i < z->n; i++)
		if (streq(z->v[i].path, path))
			return true;
	return false;
}

/* PATH's stock zone, added to Z when there is one. */
static int read_one(const char *root, const char *path, struct zone_stock *z)
{
	const char *name = path + strlen(ZONES);
	if (strchr(name, '/') || known(z, path))
		return 0;
	_cleanup_free_ char *stock = strdup_printf("/usr/lib/firewalld/zones/%s", name);
	_cleanup_free_ char *data = NULL, *copy = strdup(path);
	size_t len;
	if (!stock || !copy)
		return -ENOMEM;
	int r = root_read_file(root, stock, true, &data, &len, NULL);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		log_debug("%s: %s; a zone op25b created is not made again from it", stock, file_strerror(r));
		return 0;
	}
	struct revert_zone_stock *nv = realloc(z->v, (z->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	z->v = nv;
	z->v[z->n++] = (struct revert_zone_stock){ .path = TAKE_PTR(copy), .data = TAKE_PTR(data), .len = len };
	return 0;
}

int zone_stock_read(const char *root, const struct journal *j, struct zone_stock *out)
{
	for (size_t k = 0; k < j->n; k++)
		for (size_t i = 0; i < j->txs[k].n; i++) {
			const struct tx_file *x = &j->txs[k].files[i];
			int r = !x->lens && strncmp(x->path, ZONES, strlen(ZONES)) == 0 ? read_one(root, x->path, out) : 0;
			if (r < 0)
				return log_err(r, "out of memory");
		}
	return 0;
}
