// Package argocdhealth runs an Argo CD resource health script (health.lua) the way Argo CD does,
// so that Greenlight's scripts under config/argocd can be tested without Argo CD: the object is
// converted to a Lua table in the global obj, the script runs with a one-second budget, and the
// table it returns gives the health status and message.
package argocdhealth

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// The health statuses Argo CD accepts from a script; any other is shown as Unknown.
const (
	Healthy     = "Healthy"
	Progressing = "Progressing"
	Suspended   = "Suspended"
	Degraded    = "Degraded"
	Missing     = "Missing"
	Unknown     = "Unknown"
)

// Libraries says which Lua libraries the script may use.
type Libraries int

const (
	// ArgoCDLibraries are the ones Argo CD opens for a script from argocd-cm without
	// resource.customizations.useOpenLibs: package, base and table (and its own restricted os
	// library, which Greenlight's scripts do not use and which is left out here, so a script that
	// needs it fails).
	ArgoCDLibraries Libraries = iota
	// AllLibraries are all of gopher-lua's, as Argo CD opens them for its built-in scripts and
	// with useOpenLibs.
	AllLibraries
)

// Status is the health a script returned.
type Status struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// ScriptFile is the path of the health script for kind under the config/argocd directory dir.
func ScriptFile(dir, kind string) string {
	return filepath.Join(dir, "greenlight.dev", kind, "health.lua")
}

// RunFile reads the script at path and runs it on obj (see Run).
func RunFile(path string, obj map[string]any, libs Libraries) (Status, error) {
	script, err := os.ReadFile(path) //nolint:gosec // tests name the scripts of this repository
	if err != nil {
		return Status{}, err
	}
	return Run(string(script), obj, libs)
}

// Run runs a health script on obj, an object as the API server returns it (decoded from JSON),
// with the libraries libs.
func Run(script string, obj map[string]any, libs Libraries) (Status, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: libs == ArgoCDLibraries})
	defer l.Close()
	if libs == ArgoCDLibraries {
		for name, open := range map[string]lua.LGFunction{
			lua.LoadLibName: lua.OpenPackage, lua.BaseLibName: lua.OpenBase, lua.TabLibName: lua.OpenTable,
		} {
			if err := l.CallByParam(lua.P{Fn: l.NewFunction(open), NRet: 0, Protect: true}, lua.LString(name)); err != nil {
				return Status{}, fmt.Errorf("opening Lua library %q: %w", name, err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return Status{}, err
	}
	returned := l.Get(-1)
	table, ok := returned.(*lua.LTable)
	if !ok {
		return Status{}, fmt.Errorf("expect table output from Lua script, not %s", returned.Type())
	}
	status := Status{Status: lua.LVAsString(table.RawGetString("status")), Message: lua.LVAsString(table.RawGetString("message"))}
	switch status.Status {
	case Healthy, Progressing, Suspended, Degraded, Missing, Unknown:
		return status, nil
	default:
		return Status{Status: Unknown, Message: "Lua returned an invalid health status"}, nil
	}
}

// toLua converts a decoded JSON value as Argo CD does: objects and arrays to tables, numbers
// (whatever their Go type) to Lua numbers, json.Number to a string.
func toLua(l *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case int32:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case json.Number:
		return lua.LString(v)
	case []any:
		array := l.CreateTable(len(v), 0)
		for _, item := range v {
			array.Append(toLua(l, item))
		}
		return array
	case map[string]any:
		table := l.CreateTable(0, len(v))
		for key, item := range v {
			table.RawSetH(lua.LString(key), toLua(l, item))
		}
		return table
	default:
		return lua.LNil
	}
}
