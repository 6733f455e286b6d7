package scenarios

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// expandEnv replaces ${NAME} and ${NAME:-default} in the string fields of
// target.azure, the only place a scenario names things that differ between
// environments (subscriptions, resource groups). Expanding nowhere else
// keeps a scenario's behaviour the same on every machine.
func (s *Scenario) expandEnv(lookup func(string) (string, bool)) []Problem {
	a := s.Target.Azure
	if a == nil {
		return nil
	}
	e := envExpander{lookup: lookup, file: s.File}
	a.Subscription = e.expand("target.azure.subscription", a.Subscription)
	e.expandAll("target.azure.resourceGroups", a.ResourceGroups)
	e.expandAll("target.azure.scaleSets", a.ScaleSets)
	e.expandAll("target.azure.vms", a.VMs)
	e.expandAll("target.azure.zones", a.Zones)
	e.expandAll("target.azure.nodeProviderIDs", a.NodeProviderIDs)
	// Sorted so that problems come out in the same order every run.
	for _, k := range slices.Sorted(maps.Keys(a.Tags)) {
		a.Tags[k] = e.expand("target.azure.tags."+k, a.Tags[k])
	}
	return e.probs
}

type envExpander struct {
	lookup func(string) (string, bool)
	file   string
	probs  []Problem
}

func (e *envExpander) expandAll(field string, values []string) {
	for i, v := range values {
		values[i] = e.expand(field+"["+strconv.Itoa(i)+"]", v)
	}
}

func (e *envExpander) fail(field, format string, args ...any) {
	e.probs = append(e.probs, Problem{File: e.file, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// expand substitutes every reference in v. As in the shell, a default
// applies when the variable is unset or empty. Substituted text is not
// expanded again.
func (e *envExpander) expand(field, v string) string {
	var b strings.Builder
	for {
		start := strings.Index(v, "${")
		if start < 0 {
			b.WriteString(v)
			return b.String()
		}
		b.WriteString(v[:start])
		end := strings.IndexByte(v[start:], '}')
		if end < 0 {
			e.fail(field, "%q has a ${ without a closing } (expected ${NAME} or ${NAME:-default})", v[start:])
			b.WriteString(v[start:])
			return b.String()
		}
		ref := v[start : start+end+1]
		b.WriteString(e.resolve(field, ref))
		v = v[start+end+1:]
	}
}

// resolve returns the value of one "${...}" reference.
func (e *envExpander) resolve(field, ref string) string {
	name, def, hasDef := strings.Cut(ref[2:len(ref)-1], ":-")
	if !validEnvName(name) {
		e.fail(field, "%s does not name an environment variable (expected ${NAME} or ${NAME:-default}, NAME made of letters, digits and _)", ref)
		return ref
	}
	if strings.Contains(def, "${") {
		e.fail(field, "%s nests a reference in its default (expected a plain default such as ${NAME:-value})", ref)
		return ref
	}
	val, ok := e.lookup(name)
	switch {
	case hasDef && val == "":
		return def
	case !ok:
		e.fail(field, "environment variable %s is not set (expected it set, or a default such as ${%s:-value})", name, name)
		// Keep the reference so that checks of the field do not also
		// report it empty.
		return ref
	}
	return val
}

func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z':
		case i > 0 && '0' <= r && r <= '9':
		default:
			return false
		}
	}
	return true
}
