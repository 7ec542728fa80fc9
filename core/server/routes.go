package server

import (
	"net/url"

	"github.com/gatehouse/gatehouse/core/api"
	"github.com/gatehouse/gatehouse/core/config"
)

// Routes returns the server's route table in registration order (for `gatehouse docs api`,
// which renders it as docs/API.md).
func (s *Server) Routes() []*api.Route { return s.router.Routes() }

// ownURL is the server's own base URL for the OpenAPI document's `servers`: the issuer when it
// is an http(s) URL (the deployment's https://auth.example.com), else "" ("/": wherever the
// document was fetched from). GATEHOUSE_PUBLIC_URL is not it: that is the base of the links in
// emails, the web app's address.
func ownURL(cfg config.Config) string {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return cfg.Issuer
}
