// Package maildomain decides whether an email address's domain is a forbidden mail provider:
// the disposable-mail deny list shipped with the binary, extended by configuration.
package maildomain

import (
	_ "embed"
	"sort"
	"strings"
)

var (
	//go:embed disposable-domains.txt
	shippedDomains string
	//go:embed disposable-domains-wildcard.txt
	shippedWildcards string
)

// DenyList holds exact domains and wildcard domains (every subdomain is denied too).
type DenyList struct {
	exact    []string // sorted
	wildcard map[string]struct{}
}

// Shipped returns the built-in deny list extended with extra domains (each exact; a leading
// "*." makes it a wildcard).
func Shipped(extra ...string) *DenyList {
	d := &DenyList{exact: strings.Fields(shippedDomains), wildcard: map[string]struct{}{}}
	for _, w := range strings.Fields(shippedWildcards) {
		d.wildcard[w] = struct{}{}
	}
	for _, e := range extra {
		e = strings.ToLower(strings.TrimSpace(e))
		if w, ok := strings.CutPrefix(e, "*."); ok {
			d.wildcard[w] = struct{}{}
		} else if e != "" {
			d.exact = append(d.exact, e)
		}
	}
	if len(extra) > 0 {
		sort.Strings(d.exact)
	}
	return d
}

// Denied reports whether the domain of email is on the list.
func (d *DenyList) Denied(email string) bool {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	domain := strings.TrimSuffix(strings.ToLower(email[at+1:]), ".")
	if i := sort.SearchStrings(d.exact, domain); i < len(d.exact) && d.exact[i] == domain {
		return true
	}
	for dom := domain; ; {
		if _, ok := d.wildcard[dom]; ok {
			return true
		}
		dot := strings.IndexByte(dom, '.')
		if dot < 0 {
			return false
		}
		dom = dom[dot+1:]
	}
}
