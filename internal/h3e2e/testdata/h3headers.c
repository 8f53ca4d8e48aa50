/*
 * h3headers.c: an LD_PRELOAD shim that adds request header fields to the
 * HTTP/3 requests of a program linked against libnghttp3 (here Debian's
 * gtlsclient, from ngtcp2-client), which has no option of its own for it.
 *
 * It wraps nghttp3_conn_submit_request: the fields named in the
 * environment variable ATTESTD_H3_EXTRA_HEADERS, one "name: value" a
 * line, are appended after the program's own fields, and the real
 * function (found with dlsym(RTLD_NEXT)) is called with the longer list.
 * Names are lower-cased, as HTTP/3 requires (RFC 9114 §4.2). Each added
 * field is announced on stderr as "h3headers: added NAME", so that a test
 * can tell that the shim was loaded. A malformed line is fatal (exit 2):
 * better no request than one quietly missing a field.
 *
 * Built by internal/h3e2e's tests:
 *   gcc -shared -fPIC -o h3headers.so h3headers.c -ldl
 *
 * No nghttp3 headers are needed: the two types below are declared as
 * nghttp3 0.8.0 (Debian bookworm's libnghttp3-3) declares them in
 * <nghttp3/nghttp3.h>; the layout of nghttp3_nv is part of its ABI.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct nghttp3_conn nghttp3_conn;
typedef struct nghttp3_data_reader nghttp3_data_reader;

/* nghttp3 0.8.0, nghttp3.h: struct nghttp3_nv. */
typedef struct {
	uint8_t *name;
	uint8_t *value;
	size_t namelen;
	size_t valuelen;
	uint8_t flags;
} nghttp3_nv;

#define NGHTTP3_NV_FLAG_NONE 0x00u

typedef int (*submit_request_fn)(nghttp3_conn *conn, int64_t stream_id,
				 const nghttp3_nv *nva, size_t nvlen,
				 const nghttp3_data_reader *dr,
				 void *stream_user_data);

static void die(const char *msg, const char *line)
{
	fprintf(stderr, "h3headers: %s: \"%s\"\n", msg, line);
	exit(2);
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/*
 * parse reads ATTESTD_H3_EXTRA_HEADERS into a fresh array of fields; it
 * returns how many. The strings and the array live as long as the process:
 * nothing here frees them, whatever nghttp3 does with the pointers.
 */
static size_t parse(nghttp3_nv **out)
{
	const char *env = getenv("ATTESTD_H3_EXTRA_HEADERS");
	char *buf, *line, *save = NULL;
	nghttp3_nv *nv = NULL;
	size_t n = 0;

	*out = NULL;
	if (env == NULL || *env == '\0')
		return 0;
	buf = strdup(env);
	if (buf == NULL)
		die("out of memory", "");
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon, *name, *value, *p;

		if (*trim(line) == '\0')
			continue;
		colon = strchr(line, ':');
		if (colon == NULL)
			die("no colon in header line", line);
		*colon = '\0';
		name = trim(line);
		value = trim(colon + 1);
		if (*name == '\0')
			die("empty header name", line);
		for (p = name; *p; p++) {
			if (*p <= ' ' || *p >= 0x7f)
				die("bad character in header name", name);
			*p = (char)tolower((unsigned char)*p);
		}
		nv = realloc(nv, (n + 1) * sizeof(*nv));
		if (nv == NULL)
			die("out of memory", "");
		nv[n].name = (uint8_t *)name;
		nv[n].namelen = strlen(name);
		nv[n].value = (uint8_t *)value;
		nv[n].valuelen = strlen(value);
		nv[n].flags = NGHTTP3_NV_FLAG_NONE;
		n++;
	}
	*out = nv;
	return n;
}

int nghttp3_conn_submit_request(nghttp3_conn *conn, int64_t stream_id,
				const nghttp3_nv *nva, size_t nvlen,
				const nghttp3_data_reader *dr,
				void *stream_user_data)
{
	static submit_request_fn real;
	static nghttp3_nv *extra;
	static size_t nextra;
	static int parsed;
	nghttp3_nv *all;
	size_t i;

	if (real == NULL) {
		real = (submit_request_fn)dlsym(RTLD_NEXT,
						"nghttp3_conn_submit_request");
		if (real == NULL) {
			fprintf(stderr, "h3headers: dlsym: %s\n", dlerror());
			exit(2);
		}
	}
	if (!parsed) {
		nextra = parse(&extra);
		parsed = 1;
	}
	if (nextra == 0)
		return real(conn, stream_id, nva, nvlen, dr, stream_user_data);

	/* Kept for the life of the process, like the fields themselves. */
	all = malloc((nvlen + nextra) * sizeof(*all));
	if (all == NULL)
		die("out of memory", "");
	if (nvlen > 0)
		memcpy(all, nva, nvlen * sizeof(*all));
	memcpy(all + nvlen, extra, nextra * sizeof(*all));
	for (i = 0; i < nextra; i++)
		fprintf(stderr, "h3headers: added %s\n", (const char *)extra[i].name);
	return real(conn, stream_id, all, nvlen + nextra, dr, stream_user_data);
}
