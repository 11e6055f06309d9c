package policy

import (
	"fmt"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/lru"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// celCostLimit bounds the work one `when` expression may do on one post, so that a careless
// expression cannot stall the reconciler.
const celCostLimit = 1_000_000

// Compiler compiles `when` expressions once and keeps the programs, keyed by their text, so a
// reconcile does not pay for compilation. It is safe for concurrent use.
type Compiler struct {
	env   *cel.Env
	cache *lru.Cache
	mu    sync.Mutex
}

type compiled struct {
	program cel.Program
	err     error
}

// NewCompiler returns a Compiler whose expressions see one variable, post, holding the post's
// metadata (name, namespace, labels, annotations) and spec.
func NewCompiler() (*Compiler, error) {
	env, err := cel.NewEnv(
		cel.Variable("post", cel.MapType(cel.StringType, cel.DynType)),
		ext.Strings(),
		ext.Lists(),
	)
	if err != nil {
		return nil, err
	}
	return &Compiler{env: env, cache: lru.New(512)}, nil
}

// Compile returns the program for expr, or an error that gives the position of the problem.
func (c *Compiler) Compile(expr string) (cel.Program, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hit, ok := c.cache.Get(expr); ok {
		entry := hit.(compiled)
		return entry.program, entry.err
	}
	program, err := c.compile(expr)
	c.cache.Add(expr, compiled{program: program, err: err})
	return program, err
}

func (c *Compiler) compile(expr string) (cel.Program, error) {
	ast, issues := c.env.Compile(expr)
	if issues != nil && issues.Err() != nil {
		return nil, fmt.Errorf("%s", issues.Err())
	}
	if out := ast.OutputType(); !out.IsExactType(cel.BoolType) && !out.IsExactType(cel.DynType) {
		return nil, fmt.Errorf("must evaluate to a bool (true when the department is required), not %s", out)
	}
	return c.env.Program(ast, cel.CostLimit(celCostLimit))
}

// Eval runs a compiled `when` program against a post. An error means the expression could not
// decide, and callers fail closed: the department is required.
func Eval(program cel.Program, post *greenlightv1alpha1.ContentPost) (bool, error) {
	vars, err := postVariable(post)
	if err != nil {
		return false, err
	}
	out, _, err := program.Eval(map[string]any{"post": vars})
	if err != nil {
		return false, err
	}
	required, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("evaluated to %v (%s), not a bool", out.Value(), out.Type().TypeName())
	}
	return required, nil
}

// postVariable is the post as expressions see it. Lists that may be absent from the spec are
// always present (empty), so that expressions like post.spec.media.size() > 0 work on every post.
func postVariable(post *greenlightv1alpha1.ContentPost) (map[string]any, error) {
	spec, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&post.Spec)
	if err != nil {
		return nil, err
	}
	for _, list := range []string{"media", "channels"} {
		if _, ok := spec[list]; !ok {
			spec[list] = []any{}
		}
	}
	return map[string]any{
		"metadata": map[string]any{
			"name":        post.Name,
			"namespace":   post.Namespace,
			"labels":      stringMap(post.Labels),
			"annotations": stringMap(post.Annotations),
		},
		"spec": spec,
	}, nil
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
