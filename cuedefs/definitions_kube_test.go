package cuedefs

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kubeStepTypes are the built-in step types that work on Kubernetes.
var kubeStepTypes = []string{
	"apply-object", "read-object", "apply-deployment", "apply-job",
	"export2config", "export2secret", "clean-jobs", "build-push-image",
	"apply-terraform-config", "apply-terraform-provider", "apply-app", "read-app",
	"vela-cli", "addon-operation",
}

func TestKubeStepDefinitionsCompile(t *testing.T) {
	for _, typ := range kubeStepTypes {
		t.Run(typ, func(t *testing.T) {
			d, ok := Builtins()[typ]
			require.True(t, ok, "built-in %s missing", typ)
			assert.NoError(t, d.Check())
			assert.True(t, d.Builtin)
			assert.NotEmpty(t, d.Description)
			assert.Equal(t, "builtin/"+typ+".cue", d.File)
		})
	}
}

type paramCase struct {
	typ   string
	props map[string]any
	// bad is the parameter path expected in the errors ("" for the root);
	// unset means the properties are valid.
	bad *string
}

func ok(typ string, props map[string]any) paramCase { return paramCase{typ: typ, props: props} }
func bad(typ, path string, props map[string]any) paramCase {
	return paramCase{typ: typ, props: props, bad: &path}
}

type m = map[string]any

func TestKubeStepParameters(t *testing.T) {
	job := m{"apiVersion": "batch/v1", "kind": "Job", "metadata": m{"name": "migrate", "namespace": "apps"},
		"spec": m{"template": m{"spec": m{"restartPolicy": "Never", "containers": []any{m{"name": "m", "image": "busybox"}}}}}}
	cases := []paramCase{
		ok("apply-object", m{"value": m{"apiVersion": "v1", "kind": "ConfigMap", "metadata": m{"name": "x"}}}),
		ok("apply-object", m{"value": m{"apiVersion": "v1", "kind": "ConfigMap", "metadata": m{"name": "x"}}, "cluster": "us-west"}),
		bad("apply-object", "value", m{"value": "not an object"}),
		bad("apply-object", "cluster", m{"value": m{"apiVersion": "v1", "kind": "ConfigMap", "metadata": m{"name": "x"}}, "cluster": 3}),
		bad("apply-object", "value", m{}),

		ok("read-object", m{"name": "my-app"}),
		ok("read-object", m{"apiVersion": "v1", "kind": "ConfigMap", "name": "c", "namespace": "apps", "cluster": "local"}),
		bad("read-object", "name", m{"kind": "ConfigMap"}),
		bad("read-object", "namespace", m{"name": "c", "namespace": 7}),

		ok("apply-deployment", m{"image": "nginx:1.27"}),
		ok("apply-deployment", m{"image": "nginx:1.27", "replicas": 3, "cmd": []any{"nginx", "-g", "daemon off;"}, "cluster": "us-west"}),
		bad("apply-deployment", "replicas", m{"image": "nginx", "replicas": "3"}),
		bad("apply-deployment", "replicas", m{"image": "nginx", "replicas": -1}),
		bad("apply-deployment", "replicas", m{"image": "nginx", "replicas": 1.5}),
		bad("apply-deployment", "image", m{"image": ""}),
		bad("apply-deployment", "image", m{"replicas": 2}),
		bad("apply-deployment", "cmd", m{"image": "nginx", "cmd": "sleep 10"}),

		ok("apply-job", m{"value": job}),
		ok("apply-job", m{"value": job, "cluster": "us-west"}),
		bad("apply-job", "value.kind", m{"value": m{"apiVersion": "batch/v1", "kind": "Deployment", "metadata": m{"name": "x"}}}),
		bad("apply-job", "value.metadata.name", m{"value": m{"apiVersion": "batch/v1", "kind": "Job", "metadata": m{}}}),

		ok("export2config", m{"configName": "out", "data": m{"image": "reg/app:1", "replicas": 3, "ports": []any{80}}}),
		ok("export2config", m{"configName": "out", "namespace": "apps", "data": m{}, "cluster": "us-west"}),
		bad("export2config", "configName", m{"data": m{"a": "b"}}),
		bad("export2config", "data", m{"configName": "out", "data": "a=b"}),

		ok("export2secret", m{"secretName": "s", "data": m{"token": "t"}}),
		ok("export2secret", m{"secretName": "s", "type": "kubernetes.io/basic-auth", "data": m{"username": "u", "password": "p"}}),
		ok("export2secret", m{"secretName": "reg", "kind": "docker-registry", "dockerRegistry": m{"username": "u", "password": "p"}}),
		ok("export2secret", m{"secretName": "reg", "kind": "docker-registry", "dockerRegistry": m{"username": "u", "password": "p", "server": "ghcr.io"}, "cluster": "us-west"}),
		bad("export2secret", "kind", m{"secretName": "s", "kind": "tls"}),
		bad("export2secret", "dockerRegistry.username", m{"secretName": "s", "kind": "docker-registry"}),
		bad("export2secret", "secretName", m{"data": m{}}),

		ok("clean-jobs", m{}),
		ok("clean-jobs", m{"labelselector": m{"app": "batch"}, "namespace": "jobs"}),
		bad("clean-jobs", "labelselector.app", m{"labelselector": m{"app": 1}}),
		bad("clean-jobs", "namespace", m{"namespace": false}),

		ok("build-push-image", m{"context": m{"git": "github.com/acme/app", "branch": "main"}, "image": "reg/acme/app:1"}),
		ok("build-push-image", m{"context": "dir:///workspace", "image": "reg/app:1", "platform": "linux/arm64", "buildArgs": []any{"A=1"},
			"credentials": m{"git": m{"name": "git", "key": "token"}, "image": m{"name": "reg"}}, "verbosity": "debug"}),
		bad("build-push-image", "image", m{"context": "dir:///w"}),
		bad("build-push-image", "verbosity", m{"context": "dir:///w", "image": "x", "verbosity": "loud"}),
		bad("build-push-image", "context", m{"context": 3, "image": "x"}),
		bad("build-push-image", "credentials.git.key", m{"context": "dir:///w", "image": "x", "credentials": m{"git": m{"name": "g"}}}),

		ok("apply-terraform-config", m{"source": m{"hcl": "resource \"null_resource\" \"x\" {}"}, "variable": m{"a": 1}}),
		ok("apply-terraform-config", m{"source": m{"path": "alibaba/oss"}, "variable": m{}, "providerRef": m{"name": "p"}, "writeConnectionSecretToRef": m{"name": "out", "namespace": "x"}, "region": "cn-hangzhou"}),
		bad("apply-terraform-config", "source", m{"source": m{"hcl": "x", "remote": "y"}, "variable": m{}}),
		bad("apply-terraform-config", "deleteResource", m{"source": m{"hcl": "x"}, "variable": m{}, "deleteResource": "yes"}),
		bad("apply-terraform-config", "providerRef.name", m{"source": m{"hcl": "x"}, "variable": m{}, "providerRef": m{}}),

		ok("apply-terraform-provider", m{"accessKey": "a", "secretKey": "s", "region": "cn-hangzhou"}),
		ok("apply-terraform-provider", m{"type": "aws", "name": "aws", "accessKey": "a", "secretKey": "s", "region": "us-east-1"}),
		ok("apply-terraform-provider", m{"type": "gcp", "credentials": "{}", "region": "r", "project": "p"}),
		ok("apply-terraform-provider", m{"type": "azure", "subscriptionID": "s", "tenantID": "t", "clientID": "c", "clientSecret": "x"}),
		bad("apply-terraform-provider", "type", m{"type": "mars"}),
		bad("apply-terraform-provider", "region", m{"type": "aws", "accessKey": "a", "secretKey": "s"}),

		ok("apply-app", m{"data": m{"apiVersion": "core.oam.dev/v1beta1", "kind": "Application", "metadata": m{"name": "a"}}}),
		ok("apply-app", m{"ref": m{"name": "apps", "key": "first"}}),
		bad("apply-app", "ref.name", m{"ref": m{"key": "k"}}),
		bad("apply-app", "ref.type", m{"ref": m{"name": "apps", "type": "secret"}}),

		ok("read-app", m{"name": "a"}),
		ok("read-app", m{"name": "a", "namespace": "apps"}),
		bad("read-app", "name", m{}),

		ok("vela-cli", m{"command": []any{"vela", "version"}}),
		ok("vela-cli", m{"command": []any{"vela", "up", "-f", "/app.yaml"}, "image": "oamdev/vela-cli:v1.9.0", "serviceAccountName": "deployer",
			"storage": m{"secret": []any{m{"name": "app", "mountPath": "/app.yaml", "subPath": "app.yaml", "secretName": "app"}},
				"hostPath": []any{m{"name": "tmp", "path": "/tmp", "mountPath": "/tmp"}}}}),
		bad("vela-cli", "command", m{}),
		bad("vela-cli", "command", m{"command": "vela version"}),
		bad("vela-cli", "storage.hostPath.0.type", m{"command": []any{"vela"}, "storage": m{"hostPath": []any{m{"name": "t", "path": "/t", "mountPath": "/t", "type": "Pipe"}}}}),

		ok("addon-operation", m{"addonName": "fluxcd"}),
		ok("addon-operation", m{"addonName": "fluxcd", "operation": "upgrade", "args": []any{"--version=2.3.0"}, "image": "oamdev/vela-cli:v1.9.0"}),
		bad("addon-operation", "operation", m{"addonName": "fluxcd", "operation": "install"}),
		bad("addon-operation", "addonName", m{}),
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.typ] = true
		d, found := Builtins()[c.typ]
		require.True(t, found, c.typ)
		errs := CheckParameters(d, c.props, map[string]any{"name": "run", "namespace": "default", "stepName": "s"})
		if c.bad == nil {
			assert.Empty(t, errs, "%s %v", c.typ, c.props)
			continue
		}
		var paths []string
		for _, e := range errs {
			paths = append(paths, strings.Join(e.Path, "."))
		}
		found = false
		for _, p := range paths {
			found = found || p == *c.bad || strings.HasPrefix(p, *c.bad+".")
		}
		assert.True(t, found, "%s %v: want an error at %q, got %+v", c.typ, c.props, *c.bad, errs)
	}
	for _, typ := range kubeStepTypes {
		assert.True(t, seen[typ], "no parameter cases for %s", typ)
	}
}

// render fills a built-in template's parameter and context the way an
// execution does, before any operation ran.
func render(t *testing.T, typ string, props map[string]any) cue.Value {
	t.Helper()
	d := Builtins()[typ]
	v, err := Compile(NewContext(), d.Source, d.File, d.Line)
	require.NoError(t, err)
	v = v.FillPath(cue.ParsePath("parameter"), Numbers(props))
	v = v.FillPath(cue.ParsePath("context"), map[string]any{
		"name": "release", "namespace": "apps", "stepName": "build", "stepSessionID": "build-0123456789",
	})
	require.NoError(t, v.Validate(), typ)
	return v
}

func decode(t *testing.T, v cue.Value, path string) any {
	t.Helper()
	x := v.LookupPath(cue.ParsePath(path))
	require.NoError(t, x.Validate(cue.Concrete(true)), path)
	var out any
	require.NoError(t, x.Decode(&out), path)
	return out
}

// The objects the templates apply, before anything runs.
func TestKubeStepTemplatesRender(t *testing.T) {
	t.Run("apply-deployment", func(t *testing.T) {
		v := render(t, "apply-deployment", m{"image": "nginx:1.27", "replicas": 2, "cmd": []any{"nginx"}})
		dep := decode(t, v, "apply.$params.value").(map[string]any)
		assert.Equal(t, m{"name": "build", "namespace": "apps"}, dep["metadata"])
		spec := dep["spec"].(map[string]any)
		assert.EqualValues(t, 2, spec["replicas"])
		assert.Equal(t, m{"matchLabels": m{"workflow.oam.dev/step-name": "release-build"}}, spec["selector"])
		c := spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0]
		assert.Equal(t, m{"name": "build", "image": "nginx:1.27", "command": []any{"nginx"}}, c)
	})
	t.Run("export2config", func(t *testing.T) {
		v := render(t, "export2config", m{"configName": "out", "data": m{"image": "reg/app:1", "replicas": 3, "ports": []any{80, 443}}})
		cm := decode(t, v, "apply.$params.value").(map[string]any)
		assert.Equal(t, m{"name": "out", "namespace": "apps"}, cm["metadata"], "the run's namespace by default")
		assert.Equal(t, m{"image": "reg/app:1", "replicas": "3", "ports": "[80,443]"}, cm["data"])
	})
	t.Run("export2secret docker-registry", func(t *testing.T) {
		v := render(t, "export2secret", m{"secretName": "reg", "namespace": "ci", "kind": "docker-registry",
			"dockerRegistry": m{"username": "bot", "password": "s3cret"}})
		s := decode(t, v, "apply.$params.value").(map[string]any)
		assert.Equal(t, "kubernetes.io/dockerconfigjson", s["type"])
		assert.Equal(t, m{"name": "reg", "namespace": "ci"}, s["metadata"])
		raw := s["stringData"].(map[string]any)[".dockerconfigjson"].(string)
		var cfg map[string]any
		require.NoError(t, json.Unmarshal([]byte(raw), &cfg))
		assert.Equal(t, m{"auths": m{"https://index.docker.io/v1/": m{
			"username": "bot", "password": "s3cret", "auth": base64.StdEncoding.EncodeToString([]byte("bot:s3cret")),
		}}}, cfg)
	})
	t.Run("build-push-image", func(t *testing.T) {
		v := render(t, "build-push-image", m{"context": m{"git": "git://github.com/acme/app"}, "image": "reg/app:1",
			"buildArgs": []any{"A=1"}, "credentials": m{"image": m{"name": "reg"}}})
		pod := decode(t, v, "kaniko.$params.value").(map[string]any)
		assert.Equal(t, "release-build-0123456789-kaniko", pod["metadata"].(map[string]any)["name"])
		spec := pod["spec"].(map[string]any)
		assert.Equal(t, "Never", spec["restartPolicy"])
		c := spec["containers"].([]any)[0].(map[string]any)
		assert.Equal(t, []any{"--dockerfile=./Dockerfile", "--context=git://github.com/acme/app#refs/heads/master",
			"--destination=reg/app:1", "--verbosity=info", "--build-arg=A=1"}, c["args"])
		assert.Equal(t, "oamdev/kaniko-executor:v1.9.1", c["image"])
		assert.Equal(t, []any{m{"name": "docker-config", "mountPath": "/kaniko/.docker/"}}, c["volumeMounts"])
		vol := spec["volumes"].([]any)[0].(map[string]any)["secret"].(map[string]any)
		assert.Equal(t, []any{m{"key": ".dockerconfigjson", "path": "config.json"}}, vol["items"])
	})
	t.Run("vela-cli", func(t *testing.T) {
		v := render(t, "vela-cli", m{"command": []any{"vela", "version"}})
		job := decode(t, v, "job.$params.value").(map[string]any)
		assert.Equal(t, m{"name": "release-build-0123456789", "namespace": "vela-system",
			"annotations": m{"workflowrun.oam.dev/step": "build"}}, job["metadata"])
		v = render(t, "vela-cli", m{"command": []any{"vela", "version"}, "serviceAccountName": "me"})
		assert.Equal(t, "apps", decode(t, v, "job.$params.value.metadata.namespace"), "another service account runs in the run's namespace")

		v = render(t, "vela-cli", m{"command": []any{"vela", "up", "-f", "/app/app.yaml"}, "storage": m{
			"secret": []any{
				m{"name": "app", "mountPath": "/app", "secretName": "app-spec", "items": []any{m{"key": "spec", "path": "app.yaml"}}},
				m{"name": "app", "mountPath": "/again", "subPath": "app.yaml", "secretName": "app-spec"},
			},
			"hostPath": []any{m{"name": "cache", "path": "/var/cache", "mountPath": "/cache"}},
		}})
		pod := decode(t, v, "job.$params.value.spec.template.spec").(map[string]any)
		assert.Equal(t, []any{
			m{"name": "secret-app", "mountPath": "/app"},
			m{"name": "secret-app", "mountPath": "/again", "subPath": "app.yaml"},
			m{"name": "hostpath-cache", "mountPath": "/cache"},
		}, pod["containers"].([]any)[0].(map[string]any)["volumeMounts"])
		assert.Equal(t, []any{
			m{"name": "secret-app", "secret": m{"secretName": "app-spec", "defaultMode": int64(420), "items": []any{m{"key": "spec", "path": "app.yaml", "mode": int64(511)}}}},
			m{"name": "hostpath-cache", "hostPath": m{"path": "/var/cache", "type": "Directory"}},
		}, pod["volumes"], "one volume per name")
	})
	t.Run("addon-operation", func(t *testing.T) {
		v := render(t, "addon-operation", m{"addonName": "fluxcd", "args": []any{"--yes"}})
		c := decode(t, v, "job.$params.value.spec.template.spec.containers[0].command")
		assert.Equal(t, []any{"vela", "addon", "enable", "fluxcd", "--yes"}, c)
	})
	t.Run("apply-terraform-provider", func(t *testing.T) {
		v := render(t, "apply-terraform-provider", m{"type": "aws", "name": "aws", "accessKey": "AK", "secretKey": "SK", "region": "us-east-1"})
		creds := decode(t, v, "secret.$params.value.stringData.credentials").(string)
		assert.Contains(t, creds, "awsAccessKeyID: AK\n")
		assert.Contains(t, creds, "awsSecretAccessKey: SK\n")
	})
}
