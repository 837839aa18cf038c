package ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/velaflow/velaflow/activities/configstore"
)

// configOps keep configs in the default cluster (vela/config).
func configOps() []Op {
	return []Op{
		{Provider: "config", Do: "create", Run: createConfig},
		{Provider: "config", Do: "read", Run: readConfig},
		{Provider: "config", Do: "list", Run: listConfig},
		{Provider: "config", Do: "delete", Run: deleteConfig},
	}
}

type configRef struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// configStore decodes the call's arguments into args and returns the
// store of the default cluster.
func (c *Call) configStore(ctx context.Context, args any) (configstore.Store, error) {
	if err := c.Decode(args); err != nil {
		return configstore.Store{}, err
	}
	cl, err := c.cluster(ctx, "")
	return configstore.Store{Cluster: cl}, err
}

// configErr makes the errors retrying cannot cure final.
func configErr(err error) error {
	if errors.Is(err, configstore.ErrSensitive) || errors.Is(err, configstore.ErrChangeTemplate) {
		return FinalError{err}
	}
	return kubeErr(err)
}

func createConfig(ctx context.Context, c *Call) (any, error) {
	var args struct {
		configRef
		Template string         `json:"template"`
		Config   map[string]any `json:"config"`
	}
	store, err := c.configStore(ctx, &args)
	if err != nil {
		return nil, err
	}
	if args.Name == "" || args.Namespace == "" {
		return nil, RenderingError{fmt.Errorf("a config needs a name and a namespace")}
	}
	if err := c.mayWriteConfig(store, "write", args.configRef); err != nil {
		return nil, err
	}
	return nil, configErr(store.Create(ctx, args.Name, args.Namespace, args.Template, args.Config))
}

func readConfig(ctx context.Context, c *Call) (any, error) {
	var args configRef
	store, err := c.configStore(ctx, &args)
	if err != nil {
		return nil, err
	}
	if err := c.mayReadSecrets(store.Cluster, args.Namespace); err != nil {
		return nil, err
	}
	props, err := store.Read(ctx, args.Name, args.Namespace)
	if err != nil {
		return nil, configErr(err)
	}
	c.Env.Secrets.AddStrings(props) // a config is kept in a Secret
	return map[string]any{"config": props}, nil
}

func listConfig(ctx context.Context, c *Call) (any, error) {
	var args struct {
		Template  string `json:"template"`
		Namespace string `json:"namespace"`
	}
	store, err := c.configStore(ctx, &args)
	if err != nil {
		return nil, err
	}
	if args.Template == "" || args.Namespace == "" {
		return nil, RenderingError{fmt.Errorf("listing configs needs a template and a namespace")}
	}
	if err := c.mayReadSecrets(store.Cluster, args.Namespace); err != nil {
		return nil, err
	}
	configs, err := store.List(ctx, args.Namespace, args.Template)
	if err != nil {
		return nil, configErr(err)
	}
	return map[string]any{"configs": configs}, nil
}

func deleteConfig(ctx context.Context, c *Call) (any, error) {
	var args configRef
	store, err := c.configStore(ctx, &args)
	if err != nil {
		return nil, err
	}
	if err := c.mayWriteConfig(store, "delete", args); err != nil {
		return nil, err
	}
	return nil, configErr(store.Delete(ctx, args.Name, args.Namespace))
}

// mayWriteConfig checks that the run may write or delete (verb) the
// config's Secret.
func (c *Call) mayWriteConfig(store configstore.Store, verb string, ref configRef) error {
	return c.reachCheck(store.Cluster, ref.Namespace, verb+" config "+ref.Name+" in namespace "+ref.Namespace)
}
