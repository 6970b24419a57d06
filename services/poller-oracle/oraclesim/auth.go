package oraclesim

import (
	"net/http"
	"strings"

	"github.com/auditstream/auditstream/shared/simkit"
)

// authorize accepts HTTP Basic with the configured user ([domain.]user)
// and password, unless Config.MFA, or an OAuth2 bearer token issued by the
// token endpoint and not expired; otherwise it answers 401 and reports
// false.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		// Authenticate sets the Bearer challenge of a rejected token.
		if _, state := s.tokens.Authenticate(w, r); state == simkit.TokenValid {
			return true
		}
	case strings.EqualFold(scheme, "Basic"):
		user, pass, ok := r.BasicAuth()
		if ok && !s.cfg.MFA && simkit.Equal(user, s.basicUser) && simkit.Equal(pass, s.cfg.Password) {
			return true
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="oraclesim"`)
	default:
		w.Header().Set("WWW-Authenticate", `Basic realm="oraclesim"`)
	}
	s.fail(w, http.StatusUnauthorized, statusAuth, authFailed)
	return false
}
