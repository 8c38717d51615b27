/*
 * Files the configuration names: where a relative path points, and whether krbwatch can read
 * the file and keep a secret in it.  Checked at load so that a broken reference fails
 * --check-config and a reload, not the first probe an interval later.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/xmalloc.h"
#include "config_int.h"

/*
 * An absolute path is used as written.  A relative one names a systemd credential when
 * use_credentials is set and $CREDENTIALS_DIRECTORY is (LoadCredential=), else a file beside
 * the configuration.  The result is relative to the working directory when the
 * configuration's path was: it is what messages show.
 */
char *
cf_resolve(const struct loader *l, const char *path, int use_credentials)
{
	const char *base = use_credentials && l->creds != NULL ? l->creds : l->dir;
	char *out;

	if (path[0] == '/' || base == NULL)
		return xstrdup(path);
	xasprintf(&out, "%s%s%s", base, base[strlen(base) - 1] == '/' ? "" : "/", path);
	return out;
}

/* The path made absolute, so that it still holds if the daemon changes directory. */
char *
cf_absolute(const char *path)
{
	char *cwd, *out;

	if (path[0] == '/' || (cwd = getcwd(NULL, 0)) == NULL)
		return xstrdup(path);
	xasprintf(&out, "%s/%s", cwd, path);
	free(cwd);
	return out;
}

/*
 * Reports (at mark) a file that is missing, not a regular file, or not readable by this
 * process; and for a secret, one that others may read or write.  "what" names it in the
 * message ("keytab"); the resolved path is shown when it differs from the written one.
 * Returns 0 when the file is fine.
 */
int
cf_check(struct loader *l, yaml_mark_t mark, const char *what, const char *written,
    const char *resolved, int secret)
{
	struct stat st;
	char *name;
	int rc = -1;

	if (strcmp(written, resolved) == 0)
		xasprintf(&name, "%s \"%s\"", what, written);
	else
		xasprintf(&name, "%s \"%s\" (%s)", what, written, resolved);
	if (stat(resolved, &st) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			cl_error(l, mark, "%s does not exist, expected an existing file", name);
		else
			cl_error(l, mark, "%s cannot be examined: %s", name, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		cl_error(l, mark, "%s is not a regular file, expected a file", name);
	} else if (access(resolved, R_OK) == -1) {
		cl_error(l, mark, "%s is not readable by uid %u: %s", name, (unsigned)getuid(),
		    strerror(errno));
	} else if (secret && (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
		cl_error(l, mark, "%s is %s by others (mode %04o), expected chmod 600 or 640",
		    name, (st.st_mode & (S_IROTH | S_IWOTH)) == (S_IROTH | S_IWOTH) ?
		    "readable and writable" : (st.st_mode & S_IROTH) ? "readable" : "writable",
		    (unsigned)(st.st_mode & 07777));
	} else {
		rc = 0;
	}
	free(name);
	return rc;
}

/*
 * The token of a bearer_token_file: its bytes without trailing white space (the newline an
 * editor or echo leaves).  Refused, with why: a file that cannot be read by this process, one
 * that is empty or white space only (the daemon would post without Authorization, the
 * receiver answer 401, and 401 is not retried: the notification lost while a reload said
 * success), one too long, or a token with a space or control character inside (a CR or LF
 * would start another header).  *token is the caller's to wipe and free.
 */
int
config_read_token(const char *path, char **token, char *why, size_t whysz)
{
	char buf[KW_MAX_TOKEN + 1];
	ssize_t n;
	size_t len = 0;
	int fd, rc = -1;

	*token = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(why, whysz, "cannot be opened by uid %u: %s", (unsigned)getuid(),
		    strerror(errno));
		return -1;
	}
	while (len < sizeof buf && (n = read(fd, buf + len, sizeof buf - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(why, whysz, "cannot be read: %s", strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
	    buf[len - 1] == '\t'))
		len--;
	if (len == 0) {
		snprintf(why, whysz, "is empty or white space only, expected the token");
		goto out;
	}
	if (len > KW_MAX_TOKEN) {
		snprintf(why, whysz, "is longer than %d bytes, expected one token", KW_MAX_TOKEN);
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] <= 0x20 || buf[i] == 0x7f) {
			snprintf(why, whysz, "has a space or control character inside its token");
			goto out;
		}
	*token = xmalloc(len + 1);
	memcpy(*token, buf, len);
	(*token)[len] = '\0';
	rc = 0;
out:
	explicit_bzero(buf, sizeof buf);
	close(fd);
	return rc;
}
