// Package mail is the mail pipeline: templates per purpose, origin and language; a durable
// outbox written in the transaction of the state change that causes a message; and a worker
// that hands each message to the mailer plugin with retries and backoff.
package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"

	"github.com/gatehouse/gatehouse/core/failure"
)

// Purposes of the core's own templates: <language>/<purpose>.txt.
const (
	PurposePasswordReset  = "password-reset"
	PurposeForgotPassword = "forgot-password"
	PurposeTransferCode   = "transfer-code"
	PurposeTransferNotice = "transfer-notice"
	// PurposeTwoFactorReset tells a user an operator turned their 2FA off.
	PurposeTwoFactorReset = "2fa-reset"
)

// CorePurposes are the purposes only the core mails. A 2FA method's template can never resolve
// to one of them: method templates live in their own namespace (see MethodPurpose).
var CorePurposes = []string{PurposePasswordReset, PurposeForgotPassword, PurposeTransferCode, PurposeTransferNotice, PurposeTwoFactorReset,
	PurposeVerifyEmail,
	"notice-password-changed", "notice-password-reset", "notice-2fa-enabled", "notice-2fa-disabled",
	"notice-recovery-codes-reset", "notice-recovery-code-used", "notice-account-deleted"}

// PurposeVerifyEmail is the code that confirms a new account's address (GATEHOUSE_VERIFY_EMAIL).
const PurposeVerifyEmail = "verify-email"

// Purposes of the templates the core ships for the first-party email OTP method.
const (
	PurposeEmailOTPSetup     = methodNamespace + "email-otp/email-otp-setup"
	PurposeEmailOTPChallenge = methodNamespace + "email-otp/email-otp-challenge"
)

// methodNamespace is the folder, inside a language folder, of the 2FA methods' templates: a
// method's template name is looked up only in <language>/2fa/<route>/<name>.txt.
const methodNamespace = "2fa/"

var (
	methodRoutePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	templateNamePat    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	languagePattern    = regexp.MustCompile(`^[a-z]{2}$`)
)

// ErrMethodTemplate is returned by MethodPurpose for a template name a 2FA method may not use.
var ErrMethodTemplate = errors.New("mail: a 2FA method's template must be named <route>-<name> of [a-z0-9_-]")

// MethodPurpose is the purpose of the template name a 2FA method (served at route) asks for.
// The purpose is inside the method's own namespace, 2fa/<route>/<name>, so it can never be a
// core purpose or another method's template; only the files present there (shipped for the
// method, or in the override folder) exist for it. The name must start with the route and a
// dash ("email-otp-challenge"), as host/ABI.md requires.
func MethodPurpose(route, name string) (string, error) {
	if !methodRoutePattern.MatchString(route) || !templateNamePat.MatchString(name) || !strings.HasPrefix(name, route+"-") {
		return "", ErrMethodTemplate
	}
	return methodNamespace + route + "/" + name, nil
}

// validPurpose reports whether purpose is a core purpose or a method purpose (MethodPurpose's
// form); anything else has no template, whatever the folders hold.
func validPurpose(purpose string) bool {
	if slices.Contains(CorePurposes, purpose) {
		return true
	}
	rest, ok := strings.CutPrefix(purpose, methodNamespace)
	if !ok {
		return false
	}
	route, name, ok := strings.Cut(rest, "/")
	if !ok {
		return false
	}
	p, err := MethodPurpose(route, name)
	return err == nil && p == purpose
}

// MaxCachedTemplates bounds the parsed-template cache whatever the folders hold; past it a
// template is parsed at each render.
const MaxCachedTemplates = 1024

// CodeNoTemplate is the 500 message code when neither the (origin, language) pair nor the
// default origin has a template.
const CodeNoTemplate = "UNABLE_TO_FIND_MAIL_TEMPLATE"

// DefaultLanguage is used when a request names none.
const DefaultLanguage = "en"

//go:embed templates
var shipped embed.FS

// Rendered is a message ready to send.
type Rendered struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
}

// Templates finds and renders templates: first in the override folder for the request's origin
// (only a configured origin has one), then the override folder's default, then the shipped ones.
//
// Override layout: <dir>/<origin host>/<language>/<purpose>.txt (and optionally .html), and
// <dir>/default/<language>/<purpose>.txt; a 2FA method's templates go in
// <language>/2fa/<route>/<name>.txt. A .txt starts with a "Subject: ..." line and a blank
// line; the rest is the text part. Without a .html file the HTML part is the shipped layout
// around the text.
//
// The request's origin is attacker-chosen: an origin that is not configured, or has no folder,
// renders the default templates and shares their cache entries, so the cache holds at most one
// entry per (configured origin with a folder, language, purpose) file, and never more than
// MaxCachedTemplates.
type Templates struct {
	layers []fs.FS // most specific first, per origin key resolved at render time
	dir    string
	// originFolders are the origin keys that have their own templates: configured origins
	// with a folder in dir.
	originFolders map[string]bool

	mu     sync.Mutex
	cache  map[string]*parsed
	layout *htmltemplate.Template
}

type parsed struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template // nil: the layout
}

// NewTemplates returns the template set with an optional override folder ("" for none).
// origins are the configured origins (GATEHOUSE_ORIGINS and the public URL): only they get
// templates of their own folder; every other origin renders the default templates.
func NewTemplates(overrideDir string, origins ...string) (*Templates, error) {
	sub, err := fs.Sub(shipped, "templates")
	if err != nil {
		return nil, err
	}
	layoutSrc, err := fs.ReadFile(sub, "layout.html")
	if err != nil {
		return nil, err
	}
	layout, err := htmltemplate.New("layout").Parse(string(layoutSrc))
	if err != nil {
		return nil, err
	}
	folders := map[string]bool{}
	if overrideDir != "" {
		if info, err := os.Stat(overrideDir); err != nil || !info.IsDir() {
			return nil, errors.New("config: GATEHOUSE_MAIL_TEMPLATES: not a folder: " + overrideDir)
		}
		if err := checkOverrideLayout(overrideDir); err != nil {
			return nil, err
		}
		for _, o := range origins {
			key := OriginKey(o)
			if key == "" || key == "default" {
				continue
			}
			if info, err := os.Stat(filepath.Join(overrideDir, key)); err == nil && info.IsDir() {
				folders[key] = true
			}
		}
	}
	return &Templates{layers: []fs.FS{sub}, dir: overrideDir, originFolders: folders, cache: map[string]*parsed{}, layout: layout}, nil
}

// checkOverrideLayout refuses an override folder with a template directly in a language folder
// that is not a core purpose, such as one of a 2FA method's from before method templates had
// their namespace (<language>/email-otp-setup.txt): it would silently never be used.
func checkOverrideLayout(dir string) error {
	origins, err := os.ReadDir(dir)
	if err != nil {
		return errors.New("config: GATEHOUSE_MAIL_TEMPLATES: " + err.Error())
	}
	for _, o := range origins {
		if !o.IsDir() {
			continue
		}
		languages, _ := os.ReadDir(filepath.Join(dir, o.Name()))
		for _, l := range languages {
			if !l.IsDir() {
				continue
			}
			files, _ := os.ReadDir(filepath.Join(dir, o.Name(), l.Name()))
			for _, f := range files {
				name := f.Name()
				purpose := strings.TrimSuffix(strings.TrimSuffix(name, ".txt"), ".html")
				if f.IsDir() || purpose == name || slices.Contains(CorePurposes, purpose) {
					continue
				}
				path := filepath.Join(o.Name(), l.Name(), name)
				if route, _, ok := strings.Cut(purpose, "-"); ok && methodRoutePattern.MatchString(route) {
					return fmt.Errorf("config: GATEHOUSE_MAIL_TEMPLATES: %s is not a core template; a 2FA method's templates go in %s", path,
						filepath.Join(o.Name(), l.Name(), "2fa", "<route>", name))
				}
				return fmt.Errorf("config: GATEHOUSE_MAIL_TEMPLATES: %s is not a template (the purposes are %s)", path, strings.Join(CorePurposes, ", "))
			}
		}
	}
	return nil
}

var originKeyPattern = regexp.MustCompile(`^[a-z0-9.-]+(:[0-9]+)?$`)

// OriginKey is the folder name of an origin: its host (and port), or "" when it is not a URL.
func OriginKey(origin string) string {
	if origin == "" {
		return ""
	}
	u, err := url.Parse(origin)
	host := origin
	if err == nil && u.Host != "" {
		host = u.Host
	}
	host = strings.ToLower(host)
	if !originKeyPattern.MatchString(host) || strings.HasPrefix(host, ".") || strings.Contains(host, "..") {
		return ""
	}
	return host
}

// Render renders purpose for (origin, language) with vars; a 500 UNABLE_TO_FIND_MAIL_TEMPLATE
// failure when no template exists.
func (t *Templates) Render(purpose, origin, language string, vars map[string]string) (Rendered, error) {
	if language == "" {
		language = DefaultLanguage
	}
	language = strings.ToLower(language)
	if !validPurpose(purpose) || !languagePattern.MatchString(language) {
		return Rendered{}, failure.Internal(CodeNoTemplate)
	}
	p, err := t.find(purpose, t.templateOrigin(origin), language)
	if err != nil {
		return Rendered{}, err
	}
	var subj, text bytes.Buffer
	if err := p.subject.Execute(&subj, vars); err != nil {
		return Rendered{}, err
	}
	if err := p.text.Execute(&text, vars); err != nil {
		return Rendered{}, err
	}
	out := Rendered{Subject: strings.TrimSpace(subj.String()), Text: text.String()}
	var html bytes.Buffer
	if p.html != nil {
		err = p.html.Execute(&html, vars)
	} else {
		err = t.layout.Execute(&html, layoutData(language, out))
	}
	if err != nil {
		return Rendered{}, err
	}
	out.HTML = html.String()
	return out, nil
}

type paragraph struct {
	Text       string
	Code, Link bool
}

func layoutData(language string, r Rendered) map[string]any {
	var paras []paragraph
	for _, block := range strings.Split(strings.TrimSpace(r.Text), "\n\n") {
		trimmed := strings.TrimSpace(block)
		switch {
		case trimmed == "":
		case strings.HasPrefix(block, "    ") && (strings.HasPrefix(trimmed, "http://") || strings.HasPrefix(trimmed, "https://")):
			paras = append(paras, paragraph{Text: trimmed, Link: true})
		case strings.HasPrefix(block, "    "):
			paras = append(paras, paragraph{Text: trimmed, Code: true})
		default:
			paras = append(paras, paragraph{Text: trimmed})
		}
	}
	return map[string]any{"Language": language, "Subject": r.Subject, "Paragraphs": paras}
}

// templateOrigin is the origin key whose folder renders origin's mail: the key of a configured
// origin with a folder, else "" (the default templates).
func (t *Templates) templateOrigin(origin string) string {
	if len(t.originFolders) == 0 {
		return ""
	}
	if key := OriginKey(origin); t.originFolders[key] {
		return key
	}
	return ""
}

// CacheSize is the number of parsed templates held (for tests and metrics).
func (t *Templates) CacheSize() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.cache)
}

func (t *Templates) find(purpose, originKey, language string) (*parsed, error) {
	cacheKey := originKey + "|" + language + "|" + purpose
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.cache[cacheKey]; ok {
		return p, nil
	}
	var layers []fs.FS
	if t.dir != "" {
		if originKey != "" {
			layers = append(layers, os.DirFS(filepath.Join(t.dir, originKey)))
		}
		layers = append(layers, os.DirFS(filepath.Join(t.dir, "default")))
	}
	layers = append(layers, t.layers...)
	for _, layer := range layers {
		src, err := fs.ReadFile(layer, language+"/"+purpose+".txt")
		if err != nil {
			continue
		}
		p, err := parse(purpose, string(src))
		if err != nil {
			return nil, err
		}
		if htmlSrc, err := fs.ReadFile(layer, language+"/"+purpose+".html"); err == nil {
			if p.html, err = htmltemplate.New(purpose).Option("missingkey=zero").Parse(string(htmlSrc)); err != nil {
				return nil, err
			}
		}
		if len(t.cache) < MaxCachedTemplates {
			t.cache[cacheKey] = p
		}
		return p, nil
	}
	return nil, failure.Internal(CodeNoTemplate)
}

func parse(name, src string) (*parsed, error) {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	head, body, ok := strings.Cut(src, "\n\n")
	subject, hasSubject := strings.CutPrefix(head, "Subject:")
	if !ok || !hasSubject {
		return nil, errors.New("mail: template " + name + " must start with a 'Subject:' line and a blank line")
	}
	p := &parsed{}
	var err error
	if p.subject, err = texttemplate.New(name + ".subject").Option("missingkey=zero").Parse(strings.TrimSpace(subject)); err != nil {
		return nil, err
	}
	if p.text, err = texttemplate.New(name + ".text").Option("missingkey=zero").Parse(body); err != nil {
		return nil, err
	}
	return p, nil
}
