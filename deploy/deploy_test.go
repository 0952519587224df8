// Package deploy holds the deployment files (Docker Compose for a Redis
// Cluster with several bot processes, Kubernetes manifests). Docker and
// Kubernetes are not at hand where the tests run, so the tests here parse
// the files and check that they fit together: the shards, the replica
// count, the probes, the Redis URLs and the configuration the bot reads.
package deploy

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/config"
	"github.com/digestbot/digestbot/redisurl"
	"go.yaml.in/yaml/v3"
)

// docs parses every YAML document of a file.
func docs(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(d) == 0 {
			t.Fatalf("%s: an empty document", path)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no YAML document", path)
	}
	return out
}

// get walks maps by keys ("a", "b") and lists by index ("0").
func get(t *testing.T, v any, path ...string) any {
	t.Helper()
	for i, k := range path {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				t.Fatalf("no %q at %s", k, strings.Join(path[:i], "."))
			}
		case []any:
			n, err := strconv.Atoi(k)
			if err != nil || n >= len(x) {
				t.Fatalf("no item %q at %s", k, strings.Join(path[:i], "."))
			}
			v = x[n]
		default:
			t.Fatalf("%s is a %T, not a map or list", strings.Join(path[:i], "."), v)
		}
	}
	return v
}

func str(t *testing.T, v any, path ...string) string {
	t.Helper()
	s, ok := get(t, v, path...).(string)
	if !ok {
		t.Fatalf("%s is not a string: %v", strings.Join(path, "."), get(t, v, path...))
	}
	return s
}

// args joins a list of strings (a command) with spaces.
func args(t *testing.T, v any, path ...string) string {
	t.Helper()
	var out []string
	for _, a := range get(t, v, path...).([]any) {
		out = append(out, a.(string))
	}
	return strings.Join(out, " ")
}

func TestEveryFileParses(t *testing.T) {
	files, _ := filepath.Glob("*.yaml")
	more, _ := filepath.Glob("k8s/*.yaml")
	files = append(append(files, more...), "../compose.yaml")
	if len(files) < 7 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		docs(t, f)
	}
}

// TestComposeCluster: three Redis masters joined by the init service, and
// one bot process per shard, each started after the cluster is up.
func TestComposeCluster(t *testing.T) {
	c := docs(t, "compose.cluster.yaml")[0]
	services := get(t, c, "services").(map[string]any)
	init := args(t, services, "redis-cluster-init", "command")
	for i := 1; i <= 3; i++ {
		name := "redis-" + strconv.Itoa(i)
		cmd := args(t, services, name, "command")
		for _, want := range []string{"--cluster-enabled yes", "--appendonly yes", "--cluster-announce-hostname " + name} {
			if !strings.Contains(cmd, want) {
				t.Errorf("%s: command %q lacks %q", name, cmd, want)
			}
		}
		ip := str(t, services, name, "networks", "digestbot", "ipv4_address")
		if !strings.Contains(init, ip+":6379") {
			t.Errorf("the init service does not join %s at %s", name, ip)
		}
		if cond := str(t, services, "redis-cluster-init", "depends_on", name, "condition"); cond != "service_healthy" {
			t.Errorf("the init service waits for %s to be %q", name, cond)
		}
	}
	var bots []string
	for name := range services {
		if strings.HasPrefix(name, "digestbot-") {
			bots = append(bots, name)
		}
	}
	slices.Sort(bots)
	if len(bots) < 2 {
		t.Fatalf("bot services %v: want several", bots)
	}
	ports := map[string]bool{}
	for i, name := range bots {
		env := get(t, services, name, "environment")
		if got := str(t, env, "DIGESTBOT_SHARD_ID"); got != strconv.Itoa(i) {
			t.Errorf("%s: shard %s, want %d", name, got, i)
		}
		if got := str(t, env, "DIGESTBOT_SHARD_COUNT"); got != strconv.Itoa(len(bots)) {
			t.Errorf("%s: shard count %s, want %d (one shard per bot service)", name, got, len(bots))
		}
		o, err := redisurl.Parse(str(t, env, "DIGESTBOT_REDIS_URL"))
		if err != nil || !o.IsClusterMode || len(o.Addrs) != 3 {
			t.Errorf("%s: DIGESTBOT_REDIS_URL %v, %v; want the three nodes", name, o, err)
		}
		if cond := str(t, services, name, "depends_on", "redis-cluster-init", "condition"); cond != "service_completed_successfully" {
			t.Errorf("%s starts when the init service is %q", name, cond)
		}
		port := str(t, services, name, "ports", "0")
		if ports[port] {
			t.Errorf("%s publishes %s, as another bot does", name, port)
		}
		ports[port] = true
	}
}

// k8sObjects reads every manifest the kustomization lists, by kind/name.
func k8sObjects(t *testing.T) map[string]map[string]any {
	t.Helper()
	k := docs(t, "k8s/kustomization.yaml")[0]
	objs := map[string]map[string]any{}
	for _, r := range get(t, k, "resources").([]any) {
		for _, d := range docs(t, filepath.Join("k8s", r.(string))) {
			objs[str(t, d, "kind")+"/"+str(t, d, "metadata", "name")] = d
		}
	}
	return objs
}

// TestKubernetes: the replicas run one shard each (the pod index), probe
// /readyz and /healthz, read the token from the Secret as a file, the
// Redis URL from the Secret, and a configuration the bot accepts.
func TestKubernetes(t *testing.T) {
	objs := k8sObjects(t)
	sts, ok := objs["StatefulSet/digestbot"]
	if !ok {
		t.Fatalf("no StatefulSet/digestbot among %v", slices.Sorted(maps.Keys(objs)))
	}
	envCM := objs["ConfigMap/digestbot-env"]
	replicas := get(t, sts, "spec", "replicas").(int)
	if count := str(t, envCM, "data", "DIGESTBOT_SHARD_COUNT"); count != strconv.Itoa(replicas) {
		t.Errorf("DIGESTBOT_SHARD_COUNT %s, replicas %d: want one shard per replica", count, replicas)
	}
	pod := get(t, sts, "spec", "template")
	labels := get(t, pod, "metadata", "labels").(map[string]any)
	for k, v := range get(t, sts, "spec", "selector", "matchLabels").(map[string]any) {
		if labels[k] != v {
			t.Errorf("the selector %s=%v does not match the pod labels %v", k, v, labels)
		}
	}
	for _, svc := range []string{"Service/digestbot", "Service/digestbot-pods"} {
		for k, v := range get(t, objs[svc], "spec", "selector").(map[string]any) {
			if labels[k] != v {
				t.Errorf("%s selects %s=%v, which the pods do not carry", svc, k, v)
			}
		}
	}
	ctr := get(t, pod, "spec", "containers", "0")
	if p := str(t, ctr, "readinessProbe", "httpGet", "path"); p != "/readyz" {
		t.Errorf("readiness probe on %s, want /readyz", p)
	}
	if p := str(t, ctr, "livenessProbe", "httpGet", "path"); p != "/healthz" {
		t.Errorf("liveness probe on %s, want /healthz", p)
	}
	env := map[string]any{}
	for _, e := range get(t, ctr, "env").([]any) {
		env[str(t, e, "name")] = e
	}
	if f := str(t, env["DIGESTBOT_SHARD_ID"], "valueFrom", "fieldRef", "fieldPath"); f != "metadata.labels['apps.kubernetes.io/pod-index']" {
		t.Errorf("DIGESTBOT_SHARD_ID from %s, want the pod index", f)
	}
	if s := str(t, env["DIGESTBOT_REDIS_URL"], "valueFrom", "secretKeyRef", "name"); s != "digestbot-secrets" {
		t.Errorf("DIGESTBOT_REDIS_URL from %s", s)
	}
	secret := objs["Secret/digestbot-secrets"]
	if _, err := redisurl.Parse(str(t, secret, "stringData", "redis_url")); err != nil {
		t.Errorf("the Secret's example Redis URL: %v", err)
	}
	str(t, secret, "stringData", "discord_token")
	tokenFile := str(t, env["DISCORD_TOKEN_FILE"], "value")
	configFile := str(t, envCM, "data", "DIGESTBOT_CONFIG")
	mounts := map[string]string{}
	for _, m := range get(t, ctr, "volumeMounts").([]any) {
		mounts[str(t, m, "name")] = str(t, m, "mountPath")
	}
	if filepath.Dir(tokenFile) != mounts["secrets"] || filepath.Dir(configFile) != mounts["config"] {
		t.Errorf("token file %s and config %s are not in the mounts %v", tokenFile, configFile, mounts)
	}

	// The bot accepts the configuration and environment as given.
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "digestbot.yaml")
	if err := os.WriteFile(cfgPath, []byte(str(t, objs["ConfigMap/digestbot-config"], "data", filepath.Base(configFile))), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		switch k {
		case "DIGESTBOT_CONFIG":
			return cfgPath
		case "DIGESTBOT_REDIS_URL":
			return str(t, secret, "stringData", "redis_url")
		case "DIGESTBOT_SHARD_ID":
			return strconv.Itoa(replicas - 1)
		case "DISCORD_TOKEN":
			return "test-token"
		}
		if v, ok := get(t, envCM, "data").(map[string]any)[k].(string); ok {
			return v
		}
		return ""
	}
	if _, err := config.Load(getenv); err != nil {
		t.Errorf("the bot refuses the Kubernetes configuration: %v", err)
	}
}
