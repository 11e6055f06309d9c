package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	greenlightv1alpha1 "github.com/greenlight-operator/greenlight/api/v1alpha1"
)

func (c *cli) freezeCommand() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "freeze POLICY --reason TEXT",
		Short: "Halt all publishing under an ApprovalPolicy now (sets spec.freeze)",
		Long: `Halt all publishing of the posts an ApprovalPolicy matches, at once: the reason is shown on
every post the freeze stops. Review goes on; approved posts wait until ` + "`unfreeze`" + `.`,
		Example:           `  kubectl greenlight freeze brand-default --reason "crisis: all publishing halted"`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: c.completePolicies,
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return fmt.Errorf("freeze needs --reason TEXT: it is shown on every post the freeze stops")
			}
			return c.setFreeze(cmd.Context(), args[0], &greenlightv1alpha1.Freeze{Reason: reason})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "Why publishing is halted (required; shown on every post the freeze stops).")
	return cmd
}

func (c *cli) unfreezeCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "unfreeze POLICY",
		Short:             "Resume publishing under an ApprovalPolicy (removes spec.freeze)",
		Example:           "  kubectl greenlight unfreeze brand-default",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: c.completePolicies,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.setFreeze(cmd.Context(), args[0], nil)
		},
	}
}

// setFreeze sets (or, with nil, removes) a policy's spec.freeze with a merge patch, and says
// what the policy now does.
func (c *cli) setFreeze(ctx context.Context, name string, freeze *greenlightv1alpha1.Freeze) error {
	cl, err := c.connect()
	if err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"freeze": freeze}})
	if err != nil {
		return err
	}
	p := &greenlightv1alpha1.ApprovalPolicy{}
	p.Name, p.Namespace = name, c.namespace
	err = cl.Patch(ctx, p, client.RawPatch(types.MergePatchType, patch))
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("there is no ApprovalPolicy %s in namespace %s: check the name with `kubectl get approvalpolicies -n %s`",
			name, c.namespace, c.namespace)
	}
	if err != nil {
		return err
	}
	if p.Spec.Freeze != nil {
		_, err = fmt.Fprintf(c.streams.Out, "ApprovalPolicy %s is frozen (%q): no post it matches publishes until "+
			"`kubectl greenlight unfreeze %s`.\n", p.Name, p.Spec.Freeze.Reason, p.Name)
		return err
	}
	_, err = fmt.Fprintf(c.streams.Out, "ApprovalPolicy %s is not frozen: its approved posts publish when their time and windows come.\n",
		p.Name)
	return err
}
