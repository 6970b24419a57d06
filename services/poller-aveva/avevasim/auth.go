package avevasim

import (
	"net/http"

	"github.com/auditstream/auditstream/shared/simkit"
)

// authorize checks the bearer token of a report request and returns it, or
// answers 401 and reports false.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) (string, bool) {
	token, state := s.tokens.Authenticate(w, r)
	switch state {
	case simkit.TokenMissing:
		s.fail(w, http.StatusUnauthorized, "the request has no Authorization: Bearer token")
		return "", false
	case simkit.TokenUnknown:
		s.fail(w, http.StatusUnauthorized, "the bearer token is not valid")
		return "", false
	case simkit.TokenExpired:
		s.fail(w, http.StatusUnauthorized, "the bearer token has expired")
		return "", false
	}
	return token, true
}
