/* fuzz_prom_rw.c: libFuzzer target for the remote-write decoder (WriteRequest protobuf after snappy), with a metadata cache that lives across inputs. */
#include <stddef.h>
#include <stdint.h>

#include "in_prom_rw/decode.h"
#include "in_prom_rw/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct prw_meta_cache *cache;
	struct chunk_builder cb;
	uint64_t samples;
	char err[320];

	if (!cache && !(cache = prw_meta_cache_new(64)))
		return 0;
	if (chunk_builder_init(&cb, STREAM_METRICS, "fuzz", "prometheus_remote_write", "prometheus_remote_write.0", 1 << 22) < 0)
		return 0;
	prw_decode((const char *)data, size, cache, &cb, &samples, err, sizeof(err));
	chunk_builder_free(&cb);
	return 0;
}
