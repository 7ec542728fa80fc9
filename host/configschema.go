package host

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// ValidateConfig checks a plugin's configuration (a JSON document) against the JSON Schema its
// descriptor declares (Descriptor.ConfigSchema), before the host hands it to the plugin's
// configure export. It implements the subset of JSON Schema that plugin schemas use: type
// (object, array, string, integer, number, boolean, null, or a list of them), properties,
// required, additionalProperties (false or a schema), items, enum, const, minimum, maximum,
// exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern, minItems, maxItems; other
// keywords (default, description, title, ...) are ignored. An empty schema or an empty
// configuration is accepted. The error names the field at fault, as a JSON pointer ("/minLength").
func ValidateConfig(schema string, config []byte) error {
	if strings.TrimSpace(schema) == "" || len(bytes.TrimSpace(config)) == 0 {
		return nil
	}
	var s any
	if err := json.Unmarshal([]byte(schema), &s); err != nil {
		return fmt.Errorf("config schema: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(config))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("config: not JSON: %w", err)
	}
	return validate(s, v, "")
}

// ConfigError is a configuration that its plugin's schema refuses: Field is the JSON pointer of
// the value at fault ("" for the whole document).
type ConfigError struct {
	Field   string
	Problem string
}

// Error returns `config field "/minLength": must be at least 8`.
func (e *ConfigError) Error() string {
	if e.Field == "" {
		return "config: " + e.Problem
	}
	return fmt.Sprintf("config field %q: %s", e.Field, e.Problem)
}

func validate(schema, v any, path string) error {
	s, ok := schema.(map[string]any)
	if !ok {
		return nil // true, or a schema this subset does not read: accept
	}
	bad := func(format string, args ...any) error {
		return &ConfigError{Field: path, Problem: fmt.Sprintf(format, args...)}
	}
	if t, ok := s["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				if str, ok := x.(string); ok {
					types = append(types, str)
				}
			}
		}
		if !slicesAny(types, func(t string) bool { return hasType(v, t) }) {
			return bad("must be of type %s, not %s", strings.Join(types, " or "), typeOf(v))
		}
	}
	if e, ok := s["enum"].([]any); ok && !slicesAny(e, func(x any) bool { return jsonEqual(x, v) }) {
		return bad("must be one of %s", compact(e))
	}
	if c, ok := s["const"]; ok && !jsonEqual(c, v) {
		return bad("must be %s", compact(c))
	}
	switch v := v.(type) {
	case json.Number:
		f, _ := v.Float64()
		if m, ok := num(s["minimum"]); ok && f < m {
			return bad("must be at least %v", m)
		}
		if m, ok := num(s["maximum"]); ok && f > m {
			return bad("must be at most %v", m)
		}
		if m, ok := num(s["exclusiveMinimum"]); ok && f <= m {
			return bad("must be more than %v", m)
		}
		if m, ok := num(s["exclusiveMaximum"]); ok && f >= m {
			return bad("must be less than %v", m)
		}
	case string:
		n := float64(utf8.RuneCountInString(v))
		if m, ok := num(s["minLength"]); ok && n < m {
			return bad("must have at least %v characters", m)
		}
		if m, ok := num(s["maxLength"]); ok && n > m {
			return bad("must have at most %v characters", m)
		}
		if p, ok := s["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			if err != nil {
				return fmt.Errorf("config schema: pattern %q: %w", p, err)
			}
			if !re.MatchString(v) {
				return bad("must match %q", p)
			}
		}
	case []any:
		if m, ok := num(s["minItems"]); ok && float64(len(v)) < m {
			return bad("must have at least %v items", m)
		}
		if m, ok := num(s["maxItems"]); ok && float64(len(v)) > m {
			return bad("must have at most %v items", m)
		}
		for i, x := range v {
			if err := validate(s["items"], x, fmt.Sprintf("%s/%d", path, i)); err != nil {
				return err
			}
		}
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if name, ok := r.(string); ok {
					if _, present := v[name]; !present {
						return &ConfigError{Field: path + "/" + name, Problem: "is required"}
					}
				}
			}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub := path + "/" + k
			if ps, ok := props[k]; ok {
				if err := validate(ps, v[k], sub); err != nil {
					return err
				}
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					known := make([]string, 0, len(props))
					for p := range props {
						known = append(known, p)
					}
					sort.Strings(known)
					return &ConfigError{Field: sub, Problem: fmt.Sprintf("is not a setting of this plugin (it takes: %s)", strings.Join(known, ", "))}
				}
			case map[string]any:
				if err := validate(ap, v[k], sub); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func slicesAny[T any](xs []T, f func(T) bool) bool {
	for _, x := range xs {
		if f(x) {
			return true
		}
	}
	return false
}

func num(x any) (float64, bool) {
	f, ok := x.(float64)
	return f, ok
}

func hasType(v any, t string) bool {
	switch v := v.(type) {
	case nil:
		return t == "null"
	case bool:
		return t == "boolean"
	case string:
		return t == "string"
	case []any:
		return t == "array"
	case map[string]any:
		return t == "object"
	case json.Number:
		if t == "number" {
			return true
		}
		f, err := v.Float64()
		return t == "integer" && err == nil && f == math.Trunc(f)
	}
	return false
}

func typeOf(v any) string {
	for _, t := range []string{"null", "boolean", "string", "array", "object", "integer", "number"} {
		if hasType(v, t) {
			return t
		}
	}
	return "unknown"
}

func jsonEqual(a, b any) bool {
	return compact(a) == compact(b)
}

// compact is x as canonical JSON (numbers as float64, so 1 and 1.0 are equal).
func compact(x any) string {
	if n, ok := x.(json.Number); ok {
		f, _ := n.Float64()
		x = f
	}
	if m, ok := x.([]any); ok {
		parts := make([]string, len(m))
		for i, e := range m {
			parts[i] = compact(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	b, _ := json.Marshal(x)
	return string(b)
}
