package plmsim

import (
	"net/http"
	"strings"

	"github.com/auditstream/auditstream/shared/simkit"
)

// authorize checks the bearer token and the X-user-id header of a
// system-logs request and returns the token, or answers 401 and reports false.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) (string, bool) {
	token, state := s.tokens.Authenticate(w, r)
	switch state {
	case simkit.TokenMissing:
		s.fail(w, http.StatusUnauthorized, "MISSING_TOKEN", "the request has no Authorization: Bearer token")
		return "", false
	case simkit.TokenUnknown:
		s.fail(w, http.StatusUnauthorized, "INVALID_TOKEN", "the bearer token is not valid")
		return "", false
	case simkit.TokenExpired:
		s.fail(w, http.StatusUnauthorized, "EXPIRED_TOKEN", "the bearer token has expired")
		return "", false
	}
	user := strings.TrimSpace(r.Header.Get("X-user-id"))
	if user == "" {
		s.fail(w, http.StatusUnauthorized, "MISSING_USER_ID", "the request has no X-user-id header naming the service user")
		return "", false
	}
	for _, u := range s.cfg.UserIDs {
		if strings.EqualFold(u, user) {
			return token, true
		}
	}
	s.fail(w, http.StatusUnauthorized, "UNKNOWN_USER_ID", "the X-user-id user is not allowed for this application")
	return "", false
}
