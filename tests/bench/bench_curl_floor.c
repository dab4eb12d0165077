/* bench_curl_floor.c: the memory floor of any libcurl + OpenSSL client here: one TLS GET with a client certificate, then its RSS, USS (private pages) and PSS. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

/* "Rss: N kB"-style fields from /proc/self/smaps_rollup or status, in kB (0 if absent). */
static long field_kb(const char *file, const char *name)
{
	char line[256];
	long v = 0;
	FILE *f = fopen(file, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, name, strlen(name)) == 0 && sscanf(line + strlen(name), " %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	CURL *e;
	CURLcode rc;
	long code = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: bench_curl_floor URL CA CERT KEY\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, argv[1]);
	curl_easy_setopt(e, CURLOPT_CAINFO, argv[2]);
	curl_easy_setopt(e, CURLOPT_SSLCERT, argv[3]);
	curl_easy_setopt(e, CURLOPT_SSLKEY, argv[4]);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	printf("status=%ld curl=%d rss_kb=%ld uss_kb=%ld pss_kb=%ld\n", code, (int)rc,
	       field_kb("/proc/self/status", "VmRSS:"),
	       field_kb("/proc/self/smaps_rollup", "Private_Clean:") + field_kb("/proc/self/smaps_rollup", "Private_Dirty:"),
	       field_kb("/proc/self/smaps_rollup", "Pss:"));
	curl_easy_cleanup(e);
	curl_global_cleanup();
	return rc == CURLE_OK ? 0 : 1;
}
