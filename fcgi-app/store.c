/*
 * store.c -- the file store on disk.
 *
 * Layout: STORE_DIR/<job-uuid>/<object-name> for the files a job holds and
 * STORE_DIR/<job-uuid>/results/<object-name>.<full|min>.json for results.
 * Every path is built here from values that passed parse.c's validators or
 * came from the database, never from client text.  Deletion first renames
 * the job directory into STORE_DIR/.trash (atomic), so a delete whose
 * database half fails can put the files back: a failed request leaves the
 * store as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docket.h"

/* root/job_uuid or root/job_uuid/name; -1 if it does not fit. */
int
store_path(char *out, size_t len, const char *root, const char *job_uuid,
    const char *name)
{
	int	 n;

	if (name != NULL)
		n = snprintf(out, len, "%s/%s/%s", root, job_uuid, name);
	else
		n = snprintf(out, len, "%s/%s", root, job_uuid);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

static int
remove_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* rm -rf without following symlinks; a missing path is success. */
int
store_remove_tree(const char *path)
{
	struct stat	 st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Move root/job_uuid into root/.trash under a unique name, written to out.
 * A job without a directory is fine: out becomes "".
 */
int
store_trash(const char *root, const char *job_uuid, char *out, size_t outlen)
{
	char		 src[1024], trash[1024];
	static unsigned	 seq;
	int		 n;

	out[0] = '\0';
	if (store_path(src, sizeof(src), root, job_uuid, NULL) != 0)
		return -1;
	n = snprintf(trash, sizeof(trash), "%s/.trash", root);
	if (n < 0 || (size_t)n >= sizeof(trash))
		return -1;
	if (mkdir(trash, 0750) != 0 && errno != EEXIST)
		return -1;
	n = snprintf(out, outlen, "%s/%s.%d.%u", trash, job_uuid,
	    (int)getpid(), __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	if (rename(src, out) != 0) {
		out[0] = '\0';
		return errno == ENOENT ? 0 : -1;
	}
	return 0;
}

int
store_untrash(const char *root, const char *job_uuid, const char *trash)
{
	char	 dst[1024];

	if (trash[0] == '\0')
		return 0;
	if (store_path(dst, sizeof(dst), root, job_uuid, NULL) != 0)
		return -1;
	return rename(trash, dst);
}

/*
 * Copy src to dst (which must not exist), fsync it, and give it to uid/gid
 * (pass (uid_t)-1 to keep the caller's).  docketctl runs as root on some
 * hosts; the store must stay owned by the user docketd runs as.
 */
int
store_copy_in(const char *src, const char *dst, uid_t uid, gid_t gid,
    int64_t *size)
{
	char	 chunk[65536];
	int	 in = -1, out = -1, rc = -1;
	ssize_t	 n, w, off;
	int64_t	 total = 0;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		goto out;
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) < 0)
		goto out;
	for (;;) {
		n = read(in, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		for (off = 0; off < n; off += w)
			if ((w = write(out, chunk + off, (size_t)(n - off))) < 0)
				goto out;
		total += n;
	}
	if (uid != (uid_t)-1 && fchown(out, uid, gid) != 0)
		goto out;
	if (fsync(out) != 0)
		goto out;
	*size = total;
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0)
		rc = -1;
	if (rc != 0 && out >= 0)
		unlink(dst);
	return rc;
}

static const struct {
	const char	*ext;
	const char	*type;
} content_types[] = {
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "tif", "image/tiff" },
	{ "tiff", "image/tiff" },
	{ "pdf", "application/pdf" },
	{ "json", "application/json" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "csv", "text/csv; charset=utf-8" },
	{ "mp4", "video/mp4" },
	{ "mov", "video/quicktime" },
	{ "mp3", "audio/mpeg" },
	{ "wav", "audio/wav" },
};

const char *
store_content_type(const char *name)
{
	const char	*dot = strrchr(name, '.');
	size_t		 i;

	if (dot != NULL)
		for (i = 0; i < sizeof(content_types) /
		    sizeof(content_types[0]); i++)
			if (strcasecmp(dot + 1, content_types[i].ext) == 0)
				return content_types[i].type;
	return "application/octet-stream";
}

/*
 * The original file name as the API shows it: the last path component with
 * control characters replaced by '_', at most outlen - 1 bytes, never empty
 * or a directory name.  Quotes and backslashes stay: they are part of the
 * name, and objects.c escapes them where a header needs it.
 */
void
store_safe_filename(const char *in, char *out, size_t outlen)
{
	const char	*base = strrchr(in, '/');
	size_t		 i, o = 0;
	unsigned char	 c;

	base = base ? base + 1 : in;
	for (i = 0; base[i] != '\0' && o + 1 < outlen; i++) {
		c = (unsigned char)base[i];
		out[o++] = (c < 0x20 || c == 0x7f) ? '_' : (char)c;
	}
	out[o] = '\0';
	if (o == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
		snprintf(out, outlen, "file");
}
