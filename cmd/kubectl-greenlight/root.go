package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

// cli is one run of the plugin: its flags, its streams and its clock. Tests build one per
// command line, as a shell would start one process per command.
type cli struct {
	// configFlags are kubectl's connection flags: --kubeconfig, --context, -n, --as, ...
	configFlags *genericclioptions.ConfigFlags
	streams     genericiooptions.IOStreams
	// now is the wall clock; tests inject a fixed one.
	now func() time.Time
	// getenv reads the environment (NO_COLOR); tests inject their own.
	getenv func(string) string
	// location is the time zone times are shown in: the local one, UTC in tests.
	location *time.Location
	// noColor is --no-color.
	noColor bool

	// client and namespace are set by connect, on first use.
	client    client.Client
	namespace string
}

// run executes one command line and returns the process's exit status. Errors go to ErrOut: an
// admission denial as its own sentence, anything else after "error: ".
func run(args []string, streams genericiooptions.IOStreams, now func() time.Time, getenv func(string) string) int {
	c := &cli{
		configFlags: genericclioptions.NewConfigFlags(true),
		streams:     streams,
		now:         now,
		getenv:      getenv,
		location:    time.Local,
	}
	root := c.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err == nil {
		return 0
	}
	if sentence, ok := denial(err); ok {
		_, _ = fmt.Fprintln(streams.ErrOut, printable(sentence))
		return 1
	}
	_, _ = fmt.Fprintln(streams.ErrOut, "error: "+printable(err.Error()))
	return 1
}

func (c *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "kubectl-greenlight",
		Short: "Review, follow and freeze Greenlight posts from kubectl",
		Long: `kubectl greenlight records your review decisions on Greenlight ContentPosts and shows
what waits on you, where each post stands, and who decided what.

Reviewers:
  kubectl greenlight queue                       posts waiting on a department you may approve
  kubectl greenlight status POST                 where a post stands, stage by stage
  kubectl greenlight approve POST [-m TEXT]      approve it for your department
  kubectl greenlight request-changes POST -m TEXT
  kubectl greenlight reject POST -m TEXT
  kubectl greenlight withdraw POST --department D    take your decision back
  kubectl greenlight history POST                the audit trail

Planners and managers:
  kubectl greenlight calendar [--month] [--ics FILE]   the week's or month's posts and deadlines
  kubectl greenlight report [--since 720h] [-o csv]    response times, misses, publishing results

Policy admins:
  kubectl greenlight freeze POLICY --reason TEXT / unfreeze POLICY`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl greenlight"},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(c.streams.In)
	root.SetOut(c.streams.Out)
	root.SetErr(c.streams.ErrOut)
	c.configFlags.AddFlags(root.PersistentFlags())
	root.PersistentFlags().BoolVar(&c.noColor, "no-color", false,
		"Never colour the output (colour is used only on a terminal, and never when NO_COLOR is set).")
	_ = root.RegisterFlagCompletionFunc("namespace", c.completeNamespaces)

	root.AddCommand(
		c.decisionCommand(greenlightv1alpha1.DecisionApprove),
		c.decisionCommand(greenlightv1alpha1.DecisionRequestChanges),
		c.decisionCommand(greenlightv1alpha1.DecisionReject),
		c.withdrawCommand(),
		c.statusCommand(),
		c.queueCommand(),
		c.historyCommand(),
		c.calendarCommand(),
		c.reportCommand(),
		c.freezeCommand(),
		c.unfreezeCommand(),
	)
	return root
}

// connect builds the client from kubectl's flags, once.
func (c *cli) connect() (client.Client, error) {
	if c.client != nil {
		return c.client, nil
	}
	cfg, err := c.configFlags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	// Admission warnings (for example "this change removes a department a post waits on") are
	// for the person at the terminal.
	cfg.WarningHandler = rest.NewWarningWriter(c.streams.ErrOut, rest.WarningWriterOptions{Deduplicate: true})
	namespace, _, err := c.configFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, err
	}
	// The plugin reads and writes Greenlight's kinds, asks who the user is and lists namespaces
	// (for completion): nothing else.
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{greenlightv1alpha1.AddToScheme, authenticationv1.AddToScheme, corev1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	raw, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	cl := printableClient(raw)
	c.client, c.namespace = cl, namespace
	return cl, nil
}
