package httpx

import "github.com/auditstream/auditstream/shared/config"

// CommonConfig is a vendor client's share of the common settings:
// HTTP_TIMEOUT, HTTP_RETRY_MAX_ELAPSED and HTTP_MAX_BODY_BYTES.
func CommonConfig(c *config.Common) Config {
	return Config{Timeout: c.HTTPTimeout, MaxElapsed: c.HTTPRetryMaxElapsed, MaxBodyBytes: c.HTTPMaxBodyBytes}
}
