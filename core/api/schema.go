package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/core/account"
	"github.com/gatehouse/gatehouse/core/failure"
)

// Field is one string property of a request body or query string. Every body property of the
// API is a string; the rules and messages are those of the original service's JSON-schema
// validator (ajv), so clients that match on them keep working.
type Field struct {
	Name      string
	Required  bool
	MinLength int // 0: no minimum
	MaxLength int // 0: no maximum
	// Format is "email" or "".
	Format string
	// Pattern, when set, must match.
	Pattern *regexp.Regexp
	// Description documents the field (OpenAPI).
	Description string
	// Object makes the field a JSON object instead of a string: its value is the object's
	// JSON text, compacted, and MaxLength limits that text in bytes.
	Object bool
}

// Schema is an object of string properties, checked in order; the first error is reported.
type Schema struct {
	Fields []Field
}

// decodeBody validates a JSON body against s and returns its string properties. An empty body
// is an empty object. Unknown properties are ignored.
func (s *Schema) decodeBody(body []byte) (map[string]string, error) {
	if !utf8.Valid(body) {
		return nil, failure.BadRequest("body must be valid UTF-8 JSON")
	}
	raw := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(body)) > 0 {
		if trimmed := bytes.TrimSpace(body); trimmed[0] != '{' {
			if json.Valid(trimmed) {
				return nil, failure.BadRequest("body must be object")
			}
			return nil, failure.BadRequest("body is not valid JSON")
		}
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, failure.BadRequest("body is not valid JSON")
		}
	}
	values := make(map[string]string, len(s.Fields))
	for _, f := range s.Fields {
		if _, ok := raw[f.Name]; !ok && f.Required {
			return nil, failure.BadRequest(fmt.Sprintf("body must have required property '%s'", f.Name))
		}
	}
	for _, f := range s.Fields {
		r, ok := raw[f.Name]
		if !ok {
			continue
		}
		if f.Object {
			v, err := f.object(r)
			if err != nil {
				return nil, err
			}
			values[f.Name] = v
			continue
		}
		var v string
		if len(r) == 0 || r[0] != '"' || json.Unmarshal(r, &v) != nil {
			return nil, failure.BadRequest(fmt.Sprintf("body/%s must be string", f.Name))
		}
		if err := f.check("body", v); err != nil {
			return nil, err
		}
		values[f.Name] = v
	}
	return values, nil
}

// decodeQuery validates query parameters (all optional strings) against s.
func (s *Schema) decodeQuery(get func(name string) ([]byte, bool)) (map[string]string, error) {
	values := make(map[string]string, len(s.Fields))
	for _, f := range s.Fields {
		b, ok := get(f.Name)
		if !ok {
			if f.Required {
				return nil, failure.BadRequest(fmt.Sprintf("querystring must have required property '%s'", f.Name))
			}
			continue
		}
		if !utf8.Valid(b) {
			return nil, failure.BadRequest(fmt.Sprintf("querystring/%s must be valid UTF-8", f.Name))
		}
		if err := f.check("querystring", string(b)); err != nil {
			return nil, err
		}
		values[f.Name] = string(b)
	}
	return values, nil
}

// decodeParams validates path parameters (every field of s is a {name} segment, so present).
func (s *Schema) decodeParams(params map[string]string) (map[string]string, error) {
	values := make(map[string]string, len(s.Fields))
	for _, f := range s.Fields {
		v := params[f.Name]
		if !utf8.ValidString(v) {
			return nil, failure.BadRequest(fmt.Sprintf("params/%s must be valid UTF-8", f.Name))
		}
		if err := f.check("params", v); err != nil {
			return nil, err
		}
		values[f.Name] = v
	}
	return values, nil
}

// has reports whether s has a field name.
func (s *Schema) has(name string) bool {
	for _, f := range s.Fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

// object checks an Object field's raw value and returns its compacted JSON text.
func (f Field) object(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return "", failure.BadRequest(fmt.Sprintf("body/%s must be object", f.Name))
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return "", failure.BadRequest(fmt.Sprintf("body/%s must be object", f.Name))
	}
	if f.MaxLength > 0 && compact.Len() > f.MaxLength {
		return "", failure.BadRequest(fmt.Sprintf("body/%s must NOT be larger than %d bytes", f.Name, f.MaxLength))
	}
	return compact.String(), nil
}

func (f Field) check(where, v string) error {
	n := utf8.RuneCountInString(v)
	switch {
	case f.MaxLength > 0 && n > f.MaxLength:
		return failure.BadRequest(fmt.Sprintf("%s/%s must NOT have more than %d characters", where, f.Name, f.MaxLength))
	case n < f.MinLength:
		return failure.BadRequest(fmt.Sprintf("%s/%s must NOT have fewer than %d characters", where, f.Name, f.MinLength))
	case f.Pattern != nil && !f.Pattern.MatchString(v):
		return failure.BadRequest(fmt.Sprintf("%s/%s must match pattern \"%s\"", where, f.Name, f.Pattern.String()))
	case f.Format == "email" && !account.ValidEmail(v):
		return failure.BadRequest(fmt.Sprintf("%s/%s must match format \"email\"", where, f.Name))
	}
	return nil
}
