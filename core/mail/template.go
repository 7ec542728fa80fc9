// Package mail is the mail pipeline: templates per purpose, origin and language; a durable
// outbox written in the transaction of the state change that causes a message; and a worker
// that hands each message to the mailer plugin with retries and backoff.
package mail

import (
	"bytes"
	"embed"
	"errors"
	htmltemplate "html/template"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	texttemplate "text/template"

	"github.com/gatehouse/gatehouse/core/failure"
)

// Purposes of the shipped templates.
const (
	PurposeEmailOTPSetup     = "email-otp-setup"
	PurposeEmailOTPChallenge = "email-otp-challenge"
	PurposePasswordReset     = "password-reset"
	PurposeForgotPassword    = "forgot-password"
	PurposeTransferCode      = "transfer-code"
	PurposeTransferNotice    = "transfer-notice"
)

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

// Templates finds and renders templates: first in the override folder for the request's origin,
// then the override folder's default, then the shipped ones.
//
// Override layout: <dir>/<origin host>/<language>/<purpose>.txt (and optionally .html), and
// <dir>/default/<language>/<purpose>.txt. A .txt starts with a "Subject: ..." line and a blank
// line; the rest is the text part. Without a .html file the HTML part is the shipped layout
// around the text.
type Templates struct {
	layers []fs.FS // most specific first, per origin key resolved at render time
	dir    string

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
func NewTemplates(overrideDir string) (*Templates, error) {
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
	if overrideDir != "" {
		if info, err := os.Stat(overrideDir); err != nil || !info.IsDir() {
			return nil, errors.New("config: GATEHOUSE_MAIL_TEMPLATES: not a folder: " + overrideDir)
		}
	}
	return &Templates{layers: []fs.FS{sub}, dir: overrideDir, cache: map[string]*parsed{}, layout: layout}, nil
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
	p, err := t.find(purpose, OriginKey(origin), language)
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
		t.cache[cacheKey] = p
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
