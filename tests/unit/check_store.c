/*
 * check_store.c -- unit tests for store.c: paths, safe file names, content
 * types, copying files in, the trash and recursive removal.  Everything on
 * disk happens under a fresh mkdtemp directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "docket.h"

#define U1 "0123abcd-4567-89ef-0123-456789abcdef"

static char	 root[64];

static void
setup(void)
{
	snprintf(root, sizeof(root), "/tmp/check_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
}

static void
teardown(void)
{
	store_remove_tree(root);
}

/* root/rel, asserted to fit */
static const char *
at(char *out, size_t outlen, const char *rel)
{
	int	 n = snprintf(out, outlen, "%s/%s", root, rel);

	ck_assert_int_gt(n, 0);
	ck_assert_uint_lt((size_t)n, outlen);
	return out;
}

static void
write_file(const char *path, const void *data, size_t n)
{
	FILE	*f = fopen(path, "w");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(data, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

/* The file's bytes (owned by the caller) and their count. */
static char *
read_file(const char *path, size_t *n)
{
	FILE	*f = fopen(path, "r");
	char	*data;
	long	 len;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	ck_assert_int_ge(len, 0);
	rewind(f);
	data = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	data[len] = '\0';
	*n = (size_t)len;
	return data;
}

static int
exists(const char *path)
{
	struct stat	 st;

	return lstat(path, &st) == 0;
}

/* ---- store_path ------------------------------------------------------------- */

START_TEST(test_store_path)
{
	char	 out[128];
	size_t	 need;

	ck_assert_int_eq(store_path(out, sizeof(out), "/srv/store", U1,
	    U1 ".png"), 0);
	ck_assert_str_eq(out, "/srv/store/" U1 "/" U1 ".png");
	ck_assert_int_eq(store_path(out, sizeof(out), "/srv/store", U1, NULL),
	    0);
	ck_assert_str_eq(out, "/srv/store/" U1);
	/* exactly enough room, and one byte less */
	need = strlen("/s/" U1) + 1;
	ck_assert_int_eq(store_path(out, need, "/s", U1, NULL), 0);
	ck_assert_str_eq(out, "/s/" U1);
	ck_assert_int_eq(store_path(out, need - 1, "/s", U1, NULL), -1);
	need = strlen("/s/" U1 "/n") + 1;
	ck_assert_int_eq(store_path(out, need, "/s", U1, "n"), 0);
	ck_assert_int_eq(store_path(out, need - 1, "/s", U1, "n"), -1);
}
END_TEST

/* ---- store_safe_filename ------------------------------------------------------ */

static void
safe_is(const char *in, size_t outlen, const char *want)
{
	char	 out[300];

	ck_assert_uint_le(outlen, sizeof(out));
	memset(out, 'X', sizeof(out));
	store_safe_filename(in, out, outlen);
	ck_assert_msg(strcmp(out, want) == 0, "\"%s\" -> \"%s\", want \"%s\"",
	    in, out, want);
	ck_assert_uint_lt(strlen(out), outlen);
}

START_TEST(test_safe_filename)
{
	safe_is("report.pdf", 256, "report.pdf");
	safe_is("r\xc3\xa9sum\xc3\xa9 2024.pdf", 256,
	    "r\xc3\xa9sum\xc3\xa9 2024.pdf");
	/* quotes and backslashes are part of the name (objects.c escapes
	 * them for Content-Disposition) */
	safe_is("a\"b\\c.txt", 256, "a\"b\\c.txt");
	safe_is("C:\\dir\\x.txt", 256, "C:\\dir\\x.txt");
	/* control characters, DEL */
	safe_is("x\ny\r\tz\x01\x1f\x7f.png", 256, "x_y__z___.png");
	/* slashes: only the last component is kept */
	safe_is("/path/to/file.png", 256, "file.png");
	safe_is("../../etc/passwd", 256, "passwd");
	safe_is("a/b\"c", 256, "b\"c");
	/* nothing left, or only dots meaning a directory */
	safe_is("", 256, "file");
	safe_is("dir/", 256, "file");
	safe_is("/", 256, "file");
	safe_is(".", 256, "file");
	safe_is("..", 256, "file");
	safe_is("a/..", 256, "file");
	safe_is("a/.", 256, "file");
	safe_is("...", 256, "...");
	safe_is(".hidden", 256, ".hidden");
	/* the output size bounds the result */
	safe_is("abcdefgh", 5, "abcd");
	safe_is("abcdefgh", 1, "");
	safe_is("", 3, "fi");
	safe_is("..", 2, "f");
}
END_TEST

/* ---- store_content_type ----------------------------------------------------- */

START_TEST(test_content_type)
{
	ck_assert_str_eq(store_content_type(U1 ".png"), "image/png");
	ck_assert_str_eq(store_content_type("x.PNG"), "image/png");
	ck_assert_str_eq(store_content_type("x.jpg"), "image/jpeg");
	ck_assert_str_eq(store_content_type("x.JPEG"), "image/jpeg");
	ck_assert_str_eq(store_content_type("x.gif"), "image/gif");
	ck_assert_str_eq(store_content_type("x.webp"), "image/webp");
	ck_assert_str_eq(store_content_type("x.tif"), "image/tiff");
	ck_assert_str_eq(store_content_type("x.tiff"), "image/tiff");
	ck_assert_str_eq(store_content_type("x.pdf"), "application/pdf");
	ck_assert_str_eq(store_content_type("x.json"), "application/json");
	ck_assert_str_eq(store_content_type("x.txt"),
	    "text/plain; charset=utf-8");
	ck_assert_str_eq(store_content_type("x.csv"), "text/csv; charset=utf-8");
	ck_assert_str_eq(store_content_type("x.mp4"), "video/mp4");
	ck_assert_str_eq(store_content_type("x.mov"), "video/quicktime");
	ck_assert_str_eq(store_content_type("x.mp3"), "audio/mpeg");
	ck_assert_str_eq(store_content_type("x.wav"), "audio/wav");
	ck_assert_str_eq(store_content_type(".png"), "image/png");
	ck_assert_str_eq(store_content_type("x.png.exe"),
	    "application/octet-stream");
	ck_assert_str_eq(store_content_type("x.tar.gz"),
	    "application/octet-stream");
	ck_assert_str_eq(store_content_type("png"), "application/octet-stream");
	ck_assert_str_eq(store_content_type("x."), "application/octet-stream");
	ck_assert_str_eq(store_content_type("x.pngx"),
	    "application/octet-stream");
	ck_assert_str_eq(store_content_type(""), "application/octet-stream");
}
END_TEST

/* ---- store_copy_in -------------------------------------------------------------- */

START_TEST(test_copy_in)
{
	char		 src[128], dst[128], empty[128];
	char		*data, *got;
	size_t		 n = 200000, i, gotn;	/* several read chunks */
	int64_t		 size = -1;
	struct stat	 st;

	data = malloc(n);
	ck_assert_ptr_nonnull(data);
	for (i = 0; i < n; i++)
		data[i] = (char)(i * 7 + i / 256);
	write_file(at(src, sizeof(src), "src.bin"), data, n);
	ck_assert_int_eq(store_copy_in(src, at(dst, sizeof(dst), "dst.bin"),
	    (uid_t)-1, (gid_t)-1, &size), 0);
	ck_assert_int_eq(size, (int64_t)n);
	got = read_file(dst, &gotn);
	ck_assert_uint_eq(gotn, n);
	ck_assert_int_eq(memcmp(got, data, n), 0);
	free(got);
	ck_assert_int_eq(stat(dst, &st), 0);
	ck_assert_int_eq(st.st_mode & 0007, 0);		/* not world-readable */
	ck_assert_uint_eq(st.st_uid, getuid());

	/* an existing destination is refused and left as it was */
	write_file(at(src, sizeof(src), "other.bin"), "new", 3);
	size = -1;
	ck_assert_int_eq(store_copy_in(src, dst, (uid_t)-1, (gid_t)-1, &size),
	    -1);
	ck_assert_int_eq(size, -1);
	got = read_file(dst, &gotn);
	ck_assert_uint_eq(gotn, n);
	ck_assert_int_eq(memcmp(got, data, n), 0);
	free(got);

	/* an empty file; an explicit owner (our own) */
	write_file(at(empty, sizeof(empty), "empty"), "", 0);
	ck_assert_int_eq(store_copy_in(empty, at(dst, sizeof(dst), "empty.out"),
	    getuid(), getgid(), &size), 0);
	ck_assert_int_eq(size, 0);
	ck_assert_int_eq(stat(dst, &st), 0);
	ck_assert_int_eq(st.st_size, 0);

	/* a missing source creates nothing */
	ck_assert_int_eq(store_copy_in(at(src, sizeof(src), "missing"),
	    at(dst, sizeof(dst), "never"), (uid_t)-1, (gid_t)-1, &size), -1);
	ck_assert_int_eq(exists(dst), 0);
	/* nor does a destination in a missing directory */
	ck_assert_int_eq(store_copy_in(empty, at(dst, sizeof(dst), "no/dir"),
	    (uid_t)-1, (gid_t)-1, &size), -1);
	/* a directory as the source: the read fails, dst is removed */
	ck_assert_int_eq(mkdir(at(src, sizeof(src), "adir"), 0700), 0);
	ck_assert_int_eq(store_copy_in(src, at(dst, sizeof(dst), "fromdir"),
	    (uid_t)-1, (gid_t)-1, &size), -1);
	ck_assert_int_eq(exists(dst), 0);
	free(data);
}
END_TEST

/* ---- store_trash / store_untrash ------------------------------------------------- */

START_TEST(test_trash_roundtrip)
{
	char	 dir[128], file[192], trash[256], trash2[256], moved[320];
	char	 prefix[192];
	char	*got;
	size_t	 n, tl;

	ck_assert_int_eq(mkdir(at(dir, sizeof(dir), U1), 0750), 0);
	snprintf(file, sizeof(file), "%s/%s.png", dir, U1);
	write_file(file, "png!", 4);

	ck_assert_int_eq(store_trash(root, U1, trash, sizeof(trash)), 0);
	tl = (size_t)snprintf(prefix, sizeof(prefix), "%s/.trash/%s.", root,
	    U1);
	ck_assert_msg(strncmp(trash, prefix, tl) == 0, "trash name %s", trash);
	ck_assert_int_eq(exists(dir), 0);
	snprintf(moved, sizeof(moved), "%s/%s.png", trash, U1);
	got = read_file(moved, &n);
	ck_assert_str_eq(got, "png!");
	free(got);

	/* the job directory is gone now: trashing again is a no-op */
	trash2[0] = 'X';
	ck_assert_int_eq(store_trash(root, U1, trash2, sizeof(trash2)), 0);
	ck_assert_str_eq(trash2, "");
	ck_assert_int_eq(store_untrash(root, U1, trash2), 0);
	ck_assert_int_eq(exists(dir), 0);

	/* put it back */
	ck_assert_int_eq(store_untrash(root, U1, trash), 0);
	ck_assert_int_eq(exists(trash), 0);
	got = read_file(file, &n);
	ck_assert_str_eq(got, "png!");
	free(got);

	/* each trash name is new */
	ck_assert_int_eq(store_trash(root, U1, trash2, sizeof(trash2)), 0);
	ck_assert_str_ne(trash, trash2);
	ck_assert_int_eq(exists(trash2), 1);
	/* untrash refuses to replace a job directory that has files again */
	ck_assert_int_eq(mkdir(dir, 0750), 0);
	write_file(file, "new", 3);
	ck_assert_int_eq(store_untrash(root, U1, trash2), -1);
	ck_assert_int_eq(exists(trash2), 1);
	got = read_file(file, &n);
	ck_assert_str_eq(got, "new");
	free(got);

	/* no room for the trash name */
	ck_assert_int_eq(store_trash(root, U1, trash, 10), -1);
	ck_assert_int_eq(exists(dir), 1);
}
END_TEST

/* ---- store_remove_tree ------------------------------------------------------- */

START_TEST(test_remove_tree)
{
	char	 t[128], p[192], outside[128], keep[192];

	at(outside, sizeof(outside), "outside");
	ck_assert_int_eq(mkdir(outside, 0700), 0);
	snprintf(keep, sizeof(keep), "%s/keep.txt", outside);
	write_file(keep, "keep", 4);

	at(t, sizeof(t), "tree");
	ck_assert_int_eq(mkdir(t, 0700), 0);
	snprintf(p, sizeof(p), "%s/a", t);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/a/b", t);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/a/b/deep.txt", t);
	write_file(p, "d", 1);
	snprintf(p, sizeof(p), "%s/top.txt", t);
	write_file(p, "t", 1);
	snprintf(p, sizeof(p), "%s/empty", t);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	/* links out of the tree, to a directory and to a file, and dangling */
	snprintf(p, sizeof(p), "%s/dirlink", t);
	ck_assert_int_eq(symlink(outside, p), 0);
	snprintf(p, sizeof(p), "%s/a/filelink", t);
	ck_assert_int_eq(symlink(keep, p), 0);
	snprintf(p, sizeof(p), "%s/a/b/dangling", t);
	ck_assert_int_eq(symlink("/nonexistent/x", p), 0);

	ck_assert_int_eq(store_remove_tree(t), 0);
	ck_assert_int_eq(exists(t), 0);
	/* the links were removed, not followed */
	ck_assert_int_eq(exists(outside), 1);
	ck_assert_int_eq(exists(keep), 1);

	/* a missing path is success */
	ck_assert_int_eq(store_remove_tree(t), 0);
	/* the path itself a symlink to a directory: the link goes */
	at(p, sizeof(p), "toplink");
	ck_assert_int_eq(symlink(outside, p), 0);
	ck_assert_int_eq(store_remove_tree(p), 0);
	ck_assert_int_eq(exists(p), 0);
	ck_assert_int_eq(exists(keep), 1);
	/* a plain file */
	ck_assert_int_eq(store_remove_tree(keep), 0);
	ck_assert_int_eq(exists(keep), 0);
	ck_assert_int_eq(exists(outside), 1);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc;

	tc = tcase_create("names");
	tcase_add_test(tc, test_store_path);
	tcase_add_test(tc, test_safe_filename);
	tcase_add_test(tc, test_content_type);
	suite_add_tcase(s, tc);

	tc = tcase_create("disk");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_copy_in);
	tcase_add_test(tc, test_trash_roundtrip);
	tcase_add_test(tc, test_remove_tree);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(store_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
