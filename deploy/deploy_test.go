// Package deploy_test checks the deployment files under deploy/: every YAML and JSON file parses (so a typo fails
// CI), and the invariants an operator relies on hold: probes, the restricted security context, PgBouncer's exec
// mode, metric names, and no committed secret.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The tests run in deploy/ (go test sets the package directory as the working directory).

var wantFiles = []string{
	"Dockerfile",
	"Dockerfile.dockerignore",
	"README.md",
	".env.example",
	"docker-compose.prod.yml",
	"postgres/init-roles.sh",
	"k8s/namespace.yaml",
	"k8s/serviceaccount.yaml",
	"k8s/configmap.yaml",
	"k8s/deployment.yaml",
	"k8s/service.yaml",
	"k8s/pdb.yaml",
	"k8s/admin-service.yaml",
	"k8s/kustomization.yaml",
	"k8s/image/kustomization.yaml",
	"k8s/migrate/kustomization.yaml",
	"k8s/migrate/job.yaml",
	"k8s/verify-server/kustomization.yaml",
	"k8s/verify-server/job.yaml",
	"prometheus/prometheus.yml",
	"prometheus/alerts.yml",
	"grafana/pgtenant.json",
}

func TestFilesExist(t *testing.T) {
	for _, f := range wantFiles {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("deploy/%s: %v", f, err)
		}
	}
}

// walk lists the files under deploy/ whose names end with one of exts, sorted.
func walk(t *testing.T, exts ...string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		for _, e := range exts {
			if strings.HasSuffix(path, e) {
				out = append(out, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// yamlDocs decodes every document of a YAML file. yaml.v3 rejects duplicate keys, bad indentation and tabs.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []map[string]any
	for i := 0; ; i++ {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("deploy/%s: document %d: %v", path, i+1, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	if len(docs) == 0 {
		t.Fatalf("deploy/%s: no YAML document", path)
	}
	return docs
}

func jsonFile(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("deploy/%s: %v", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("deploy/%s: data after the JSON value", path)
	}
	return v
}

func TestEveryYAMLAndJSONFileParses(t *testing.T) {
	ys := walk(t, ".yml", ".yaml")
	if len(ys) < 10 {
		t.Fatalf("found only %d YAML files under deploy/: %v", len(ys), ys)
	}
	for _, f := range ys {
		docs := yamlDocs(t, f)
		if strings.HasPrefix(f, "k8s/") {
			for _, d := range docs {
				if str(d, "apiVersion") == "" || str(d, "kind") == "" {
					t.Errorf("deploy/%s: a document without apiVersion or kind", f)
				}
			}
		}
	}
	js := walk(t, ".json")
	if len(js) == 0 {
		t.Fatal("no JSON file under deploy/")
	}
	for _, f := range js {
		jsonFile(t, f)
	}
}

// --- small accessors over decoded YAML/JSON ---

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func str(v any, path ...string) string {
	s, _ := get(v, path...).(string)
	return s
}

func list(v any, path ...string) []any {
	l, _ := get(v, path...).([]any)
	return l
}

// --- Kubernetes ---

type k8sDoc struct {
	file string
	doc  map[string]any
}

func k8sDocs(t *testing.T) []k8sDoc {
	var out []k8sDoc
	for _, f := range walk(t, ".yaml", ".yml") {
		if !strings.HasPrefix(f, "k8s/") {
			continue
		}
		for _, d := range yamlDocs(t, f) {
			out = append(out, k8sDoc{f, d})
		}
	}
	return out
}

func findKind(t *testing.T, kind, name string) map[string]any {
	t.Helper()
	for _, d := range k8sDocs(t) {
		if str(d.doc, "kind") == kind && str(d.doc, "metadata", "name") == name {
			return d.doc
		}
	}
	t.Fatalf("no %s %q under deploy/k8s", kind, name)
	return nil
}

func TestDeployment(t *testing.T) {
	d := findKind(t, "Deployment", "pgtenant")
	if r, _ := get(d, "spec", "replicas").(int); r < 2 {
		t.Errorf("replicas = %v, want at least 2", get(d, "spec", "replicas"))
	}
	if v := get(d, "spec", "strategy", "rollingUpdate", "maxUnavailable"); v != 0 {
		t.Errorf("rollingUpdate.maxUnavailable = %v, want 0 (readiness gates the rollout)", v)
	}
	pod := get(d, "spec", "template", "spec")
	if g, _ := get(pod, "terminationGracePeriodSeconds").(int); g <= 30 {
		t.Errorf("terminationGracePeriodSeconds = %v, want more than the 30 s drain", get(pod, "terminationGracePeriodSeconds"))
	}
	cs := list(pod, "containers")
	if len(cs) != 1 {
		t.Fatalf("%d containers, want 1", len(cs))
	}
	c := cs[0]
	if a := list(c, "args"); len(a) != 1 || a[0] != "serve" {
		t.Errorf("args = %v, want [serve]", a)
	}
	ports := map[string]int{}
	for _, p := range list(c, "ports") {
		n, _ := get(p, "containerPort").(int)
		ports[str(p, "name")] = n
	}
	if ports["http"] != 3000 || ports["admin"] != 3001 {
		t.Errorf("container ports = %v, want http 3000 and admin 3001", ports)
	}
	for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": "/healthz"} {
		if got := str(c, probe, "httpGet", "path"); got != path {
			t.Errorf("%s path = %q, want %q", probe, got, path)
		}
		if port := get(c, probe, "httpGet", "port"); port != "admin" && port != 3001 {
			t.Errorf("%s port = %v, want the admin port", probe, port)
		}
	}
	for _, k := range []string{"requests", "limits"} {
		if str(c, "resources", k, "memory") == "" {
			t.Errorf("resources.%s.memory is not set", k)
		}
	}
	if str(c, "resources", "requests", "cpu") == "" {
		t.Error("resources.requests.cpu is not set")
	}
	env := map[string]bool{}
	for _, e := range list(c, "env") {
		env[str(e, "name")] = true
	}
	for _, n := range []string{"DATABASE_URL", "DATABASE_LISTEN_URL"} {
		if !env[n] {
			t.Errorf("the container does not set %s from the Secret", n)
		}
	}
	if env["ADMIN_DATABASE_URL"] {
		t.Error("the API pods must not get the owner's ADMIN_DATABASE_URL")
	}
}

// TestPodSecurity holds every pod template under deploy/k8s (Deployment and Jobs) to the restricted profile.
func TestPodSecurity(t *testing.T) {
	n := 0
	for _, d := range k8sDocs(t) {
		pod := get(d.doc, "spec", "template", "spec")
		if pod == nil {
			continue
		}
		n++
		where := d.file + " " + str(d.doc, "kind") + "/" + str(d.doc, "metadata", "name")
		if get(pod, "securityContext", "runAsNonRoot") != true {
			t.Errorf("%s: pod securityContext.runAsNonRoot is not true", where)
		}
		if str(pod, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
			t.Errorf("%s: pod seccompProfile is not RuntimeDefault", where)
		}
		if get(pod, "automountServiceAccountToken") != false {
			t.Errorf("%s: automountServiceAccountToken is not false", where)
		}
		cs := append(list(pod, "initContainers"), list(pod, "containers")...)
		for _, c := range cs {
			sc := get(c, "securityContext")
			cw := where + " container " + str(c, "name")
			if get(sc, "runAsNonRoot") != true {
				t.Errorf("%s: runAsNonRoot is not true", cw)
			}
			if get(sc, "readOnlyRootFilesystem") != true {
				t.Errorf("%s: readOnlyRootFilesystem is not true", cw)
			}
			if get(sc, "allowPrivilegeEscalation") != false {
				t.Errorf("%s: allowPrivilegeEscalation is not false", cw)
			}
			if !slices.Contains(list(sc, "capabilities", "drop"), any("ALL")) {
				t.Errorf("%s: capabilities.drop does not include ALL", cw)
			}
			if str(sc, "seccompProfile", "type") != "RuntimeDefault" {
				t.Errorf("%s: seccompProfile is not RuntimeDefault", cw)
			}
			if get(c, "resources", "limits") == nil {
				t.Errorf("%s: no resource limits", cw)
			}
		}
	}
	if n < 3 {
		t.Fatalf("found %d pod templates under deploy/k8s, want the Deployment and two Jobs", n)
	}
}

func TestMigrateJob(t *testing.T) {
	j := findKind(t, "Job", "pgtenant-migrate")
	pod := get(j, "spec", "template", "spec")
	if str(pod, "restartPolicy") != "Never" || get(j, "spec", "backoffLimit") != 0 {
		t.Error("the migrate Job must not retry: restartPolicy Never, backoffLimit 0")
	}
	var steps []string
	for _, c := range append(list(pod, "initContainers"), list(pod, "containers")...) {
		var a []string
		for _, x := range list(c, "args") {
			a = append(a, x.(string))
		}
		steps = append(steps, strings.Join(a, " "))
	}
	if !slices.Equal(steps, []string{"migrate up", "verify"}) {
		t.Errorf("the Job runs %q, want migrate up, then verify", steps)
	}
	// The comment at the top says what the Job runs and how to apply it, as the manifest does it.
	head, _, _ := strings.Cut(readFile(t, "k8s/migrate/job.yaml"), "\napiVersion:")
	for _, want := range []string{"kubectl apply -k deploy/k8s/migrate", "pgtenant migrate up", "pgtenant verify",
		`init container "migrate"`, `container "verify"`, "backoffLimit: 0"} {
		if !strings.Contains(head, want) {
			t.Errorf("k8s/migrate/job.yaml: the comment does not say %q", want)
		}
	}
	if strings.Contains(head, "apply -f") {
		t.Error("k8s/migrate/job.yaml: the comment applies the file with -f, which skips the image component")
	}
}

func TestServiceAndPDB(t *testing.T) {
	s := findKind(t, "Service", "pgtenant")
	for _, p := range list(s, "spec", "ports") {
		if get(p, "targetPort") == "admin" || get(p, "targetPort") == 3001 || get(p, "port") == 3001 {
			t.Error("the Service exposes the admin port; metrics and probes stay off it")
		}
	}
	admin := findKind(t, "Service", "pgtenant-admin")
	for _, p := range list(admin, "spec", "ports") {
		if get(p, "targetPort") != "admin" {
			t.Errorf("the admin Service exposes %v; only the admin port", get(p, "targetPort"))
		}
	}
	if str(admin, "spec", "type") != "ClusterIP" {
		t.Error("the admin Service must stay inside the cluster (ClusterIP)")
	}
	pdb := findKind(t, "PodDisruptionBudget", "pgtenant")
	if get(pdb, "spec", "minAvailable") == nil && get(pdb, "spec", "maxUnavailable") == nil {
		t.Error("the PodDisruptionBudget sets neither minAvailable nor maxUnavailable")
	}
}

// TestSecretsAreReferencesOnly: no Secret object is committed, and every Secret the manifests reference is one
// deploy/README.md tells the operator how to create, with every key used.
func TestSecretsAreReferencesOnly(t *testing.T) {
	readme := readFile(t, "README.md")
	refs := map[string]map[string]bool{}
	var visit func(v any)
	visit = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["secretKeyRef"]; ok {
				name, key := str(r, "name"), str(r, "key")
				if refs[name] == nil {
					refs[name] = map[string]bool{}
				}
				refs[name][key] = true
			}
			for _, x := range v {
				visit(x)
			}
		case []any:
			for _, x := range v {
				visit(x)
			}
		}
	}
	for _, d := range k8sDocs(t) {
		if str(d.doc, "kind") == "Secret" {
			t.Errorf("%s: a Secret is committed; document `kubectl create secret` instead", d.file)
		}
		visit(d.doc)
	}
	if len(refs) == 0 {
		t.Fatal("no secretKeyRef found under deploy/k8s")
	}
	for name, keys := range refs {
		if !strings.Contains(readme, "kubectl -n pgtenant create secret generic "+name) {
			t.Errorf("deploy/README.md does not show how to create the Secret %s", name)
		}
		for k := range keys {
			if !strings.Contains(readme, "--from-literal="+k+"=") {
				t.Errorf("deploy/README.md does not show the key %s of the Secret %s", k, name)
			}
		}
	}
}

// --- docker compose ---

// envMap normalizes a compose environment (a map or a list of KEY=VALUE).
func envMap(v any) map[string]string {
	out := map[string]string{}
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if x == nil {
				out[k] = ""
			} else if s, ok := x.(string); ok {
				out[k] = s
			} else {
				b, _ := yaml.Marshal(x)
				out[k] = strings.TrimSpace(string(b))
			}
		}
	case []any:
		for _, x := range v {
			k, val, _ := strings.Cut(x.(string), "=")
			out[k] = val
		}
	}
	return out
}

var urlHost = regexp.MustCompile(`^postgres(?:ql)?://[^@/]+@([^:/]+)(?::(\d+))?/`)

func TestCompose(t *testing.T) {
	c := yamlDocs(t, "docker-compose.prod.yml")[0]
	svcs, _ := get(c, "services").(map[string]any)
	for _, s := range []string{"postgres", "pgbouncer", "migrate", "pgtenant", "prometheus"} {
		if svcs[s] == nil {
			t.Fatalf("docker-compose.prod.yml has no service %q", s)
		}
	}
	api := svcs["pgtenant"]
	env := envMap(get(api, "environment"))
	if env["DB_EXEC_MODE"] != "exec" {
		t.Errorf("pgtenant: DB_EXEC_MODE = %q, want exec (PgBouncer transaction pooling)", env["DB_EXEC_MODE"])
	}
	if m := urlHost.FindStringSubmatch(env["DATABASE_URL"]); m == nil || m[1] != "pgbouncer" {
		t.Errorf("pgtenant: DATABASE_URL %q does not go through the pgbouncer service", env["DATABASE_URL"])
	}
	if m := urlHost.FindStringSubmatch(env["DATABASE_LISTEN_URL"]); m == nil || m[1] != "postgres" {
		t.Errorf("pgtenant: DATABASE_LISTEN_URL %q does not go straight to the postgres service", env["DATABASE_LISTEN_URL"])
	}
	if !strings.HasSuffix(env["ADMIN_LISTEN_ADDR"], ":3001") {
		t.Errorf("pgtenant: ADMIN_LISTEN_ADDR = %q, want port 3001", env["ADMIN_LISTEN_ADDR"])
	}
	if env["REQUIRE_TENANT"] != "true" {
		t.Errorf("pgtenant: REQUIRE_TENANT = %q, want true", env["REQUIRE_TENANT"])
	}
	for _, p := range list(api, "ports") {
		if s := strings.TrimSuffix(str(map[string]any{"p": p}, "p"), "/tcp"); strings.HasSuffix(s, ":3001") || s == "3001" {
			t.Errorf("pgtenant publishes the admin port (%q); it must stay inside the network", s)
		}
		if m, ok := p.(map[string]any); ok && m["target"] == 3001 {
			t.Error("pgtenant publishes the admin port; it must stay inside the network")
		}
	}
	if str(api, "depends_on", "migrate", "condition") != "service_completed_successfully" {
		t.Error("pgtenant must wait for the migrate job to complete successfully")
	}
	if v := envMap(get(svcs["pgbouncer"], "environment"))["POOL_MODE"]; v != "transaction" {
		t.Errorf("pgbouncer: POOL_MODE = %q, want transaction", v)
	}
	mig := svcs["migrate"]
	if a := list(mig, "command"); len(a) != 2 || a[0] != "migrate" || a[1] != "up" {
		t.Errorf("migrate: command = %v, want [migrate up]", a)
	}
	if m := urlHost.FindStringSubmatch(envMap(get(mig, "environment"))["ADMIN_DATABASE_URL"]); m == nil || m[1] != "postgres" {
		t.Error("migrate: ADMIN_DATABASE_URL must go straight to postgres as the owner")
	}
	if str(mig, "depends_on", "postgres", "condition") != "service_healthy" {
		t.Error("migrate must wait for postgres to be healthy")
	}
	// pg_isready over TCP: the image's first-start initialisation runs a temporary server on the Unix socket only,
	// which a socket check would call ready before the init scripts have run.
	var hc []string
	for _, x := range list(svcs["postgres"], "healthcheck", "test") {
		hc = append(hc, x.(string))
	}
	if i := slices.Index(hc, "-h"); !slices.Contains(hc, "pg_isready") || i < 0 || i+1 >= len(hc) || hc[i+1] != "127.0.0.1" {
		t.Errorf("postgres healthcheck = %q, want pg_isready -h 127.0.0.1", hc)
	}
	if img := str(svcs["pgbouncer"], "image"); !pinnedImage.MatchString(img) {
		t.Errorf("pgbouncer image %q is not pinned to a version tag (and digest)", img)
	}
	if a := strings.Join(anyStrings(list(svcs["verify"], "command")), " "); !strings.Contains(a, "--server") ||
		!strings.Contains(a, "--admin http://pgtenant:3001") {
		t.Errorf("verify: command %q does not check the API and its admin listener", a)
	}
	if len(list(svcs["postgres"], "ports")) != 0 {
		t.Error("postgres is published; keep it inside the network")
	}
	var mounts []string
	for _, v := range list(svcs["prometheus"], "volumes") {
		s, _ := v.(string)
		mounts = append(mounts, s)
	}
	for _, f := range []string{"./prometheus/prometheus.yml", "./prometheus/alerts.yml"} {
		if !slices.ContainsFunc(mounts, func(m string) bool { return strings.HasPrefix(m, f+":") }) {
			t.Errorf("prometheus does not mount %s", f)
		}
	}
	for _, s := range []string{"migrate", "pgtenant"} {
		if get(svcs[s], "read_only") != true || !slices.Contains(list(svcs[s], "cap_drop"), any("ALL")) {
			t.Errorf("%s: want read_only and cap_drop ALL", s)
		}
	}
}

// pinnedImage is an image reference with a version tag and a digest.
var pinnedImage = regexp.MustCompile(`^[a-z0-9./_-]+:v?\d+\.\d+[0-9a-z.-]*@sha256:[0-9a-f]{64}$`)

func anyStrings(xs []any) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i], _ = x.(string)
	}
	return out
}

// releaseImage is the image of a release everywhere deploy/ and the README name it, as deploy/k8s/image sets it.
func releaseImage(t *testing.T) string {
	t.Helper()
	c := yamlDocs(t, "k8s/image/kustomization.yaml")[0]
	if str(c, "kind") != "Component" {
		t.Fatalf("k8s/image/kustomization.yaml is a %s, want a kustomize Component", str(c, "kind"))
	}
	imgs := list(c, "images")
	if len(imgs) != 1 || str(imgs[0], "name") != "pgtenant" || str(imgs[0], "newName") == "" || str(imgs[0], "newTag") == "" {
		t.Fatalf("k8s/image sets %v, want one image named pgtenant with newName and newTag", imgs)
	}
	return str(imgs[0], "newName") + ":" + str(imgs[0], "newTag")
}

// TestOneImageTag: the Kubernetes manifests name the image only as "pgtenant", which the component k8s/image
// rewrites; every kustomization includes that component; and wherever a release's image is written out (compose,
// .env.example, the Dockerfile's comment, both READMEs) it is that same registry and tag.
func TestOneImageTag(t *testing.T) {
	image := releaseImage(t)
	for _, d := range k8sDocs(t) {
		pod := get(d.doc, "spec", "template", "spec")
		for _, c := range append(list(pod, "initContainers"), list(pod, "containers")...) {
			if img := str(c, "image"); img != "pgtenant" {
				t.Errorf("%s: container %s has image %q; name it pgtenant, which k8s/image sets", d.file, str(c, "name"), img)
			}
		}
	}
	for _, k := range []string{"k8s/kustomization.yaml", "k8s/migrate/kustomization.yaml", "k8s/verify-server/kustomization.yaml"} {
		doc := yamlDocs(t, k)[0]
		comps := anyStrings(list(doc, "components"))
		if !slices.ContainsFunc(comps, func(c string) bool { return filepath.Base(c) == "image" }) {
			t.Errorf("%s does not include the image component", k)
		}
		if get(doc, "images") != nil {
			t.Errorf("%s sets images itself; only k8s/image may", k)
		}
	}
	name, _, _ := strings.Cut(image, ":")
	ref := regexp.MustCompile(regexp.QuoteMeta(name) + `:[A-Za-z0-9._-]+`)
	for _, f := range []string{"docker-compose.prod.yml", ".env.example", "Dockerfile", "README.md", "../README.md"} {
		text := readFile(t, f)
		found := ref.FindAllString(text, -1)
		for _, r := range found {
			if r != image {
				t.Errorf("%s names %s; the release's image is %s (k8s/image)", f, r, image)
			}
		}
		if len(found) == 0 && f != "../README.md" {
			t.Errorf("%s does not name the release's image %s", f, image)
		}
	}
	if strings.Contains(readFile(t, "docker-compose.prod.yml"), "pgtenant:latest") {
		t.Error("docker-compose.prod.yml falls back to pgtenant:latest")
	}

	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Log("kubectl is not installed: the rendered manifests are not checked")
		return
	}
	for _, dir := range []string{"k8s", "k8s/migrate", "k8s/verify-server"} {
		out, err := exec.Command(kubectl, "kustomize", dir).CombinedOutput()
		if err != nil {
			t.Errorf("kubectl kustomize %s: %v\n%s", dir, err, out)
			continue
		}
		imgs := regexp.MustCompile(`(?m)^\s+image: (\S+)$`).FindAllStringSubmatch(string(out), -1)
		if len(imgs) == 0 {
			t.Errorf("kubectl kustomize %s renders no image", dir)
		}
		for _, m := range imgs {
			if m[1] != image {
				t.Errorf("kubectl kustomize %s renders image %s, want %s", dir, m[1], image)
			}
		}
	}
}

// TestComposeVarsInEnvExample: every ${VAR} the compose file reads is in .env.example, where secrets are empty.
func TestComposeVarsInEnvExample(t *testing.T) {
	ex := map[string]string{}
	for _, line := range strings.Split(readFile(t, ".env.example"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf(".env.example: %q is not KEY=VALUE", line)
			continue
		}
		ex[k] = v
		if secretName.MatchString(k) && v != "" {
			t.Errorf(".env.example: %s has a value; leave secrets empty", k)
		}
	}
	vars := regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)`).FindAllStringSubmatch(readFile(t, "docker-compose.prod.yml"), -1)
	if len(vars) == 0 {
		t.Fatal("docker-compose.prod.yml reads no ${VAR}")
	}
	for _, m := range vars {
		if _, ok := ex[m[1]]; !ok {
			t.Errorf("docker-compose.prod.yml reads ${%s}, which .env.example does not list", m[1])
		}
	}
}

// TestEnvVarsDocumented: every variable the deployment sets for pgtenant is in deploy/README.md's table.
func TestEnvVarsDocumented(t *testing.T) {
	readme := readFile(t, "README.md")
	names := map[string]string{}
	c := yamlDocs(t, "docker-compose.prod.yml")[0]
	for _, s := range []string{"migrate", "pgtenant", "verify"} {
		for k := range envMap(get(c, "services", s, "environment")) {
			names[k] = "docker-compose.prod.yml " + s
		}
	}
	for k := range get(findKind(t, "ConfigMap", "pgtenant-config"), "data").(map[string]any) {
		names[k] = "k8s ConfigMap"
	}
	for _, d := range k8sDocs(t) {
		pod := get(d.doc, "spec", "template", "spec")
		for _, c := range append(list(pod, "initContainers"), list(pod, "containers")...) {
			for _, e := range list(c, "env") {
				names[str(e, "name")] = d.file
			}
		}
	}
	for n, where := range names {
		if !strings.Contains(readme, "| `"+n+"`") {
			t.Errorf("%s (set in %s) is not in deploy/README.md's table of variables", n, where)
		}
	}
}

// --- Dockerfile ---

func TestDockerfile(t *testing.T) {
	df := readFile(t, "Dockerfile")
	var froms []int
	lines := strings.Split(df, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "FROM ") {
			froms = append(froms, i)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("the Dockerfile has %d stages, want a builder and a runtime stage", len(froms))
	}
	if !strings.HasPrefix(lines[froms[0]], "FROM golang:1.26") {
		t.Errorf("the builder is %q, want golang:1.26", lines[froms[0]])
	}
	final := strings.Join(lines[froms[len(froms)-1]:], "\n")
	if !strings.Contains(lines[froms[len(froms)-1]], "distroless/static") && !strings.Contains(lines[froms[len(froms)-1]], "scratch") {
		t.Errorf("the runtime stage is %q, want distroless static or scratch", lines[froms[len(froms)-1]])
	}
	// pg_query_go (PostgreSQL's parser, for the declaration's SQL) needs cgo; the binary must still be static to
	// run on distroless/static, which has no libc. The builder proves it with ldd.
	for _, want := range []string{"CGO_ENABLED=1", "-trimpath", "-tags netgo,osusergo",
		`-linkmode external -extldflags -static"`, `grep -q "not a dynamic executable"`,
		`-ldflags "-s -w -X main.version=${VERSION}`, "ARG VERSION"} {
		if !strings.Contains(df, want) {
			t.Errorf("the build does not use %s", want)
		}
	}
	for _, want := range []string{
		`ENTRYPOINT ["/pgtenant"]`, `CMD ["serve"]`, "EXPOSE 3000 3001",
		"COPY --chown=65532:65532 policies.hcl", "COPY --chown=65532:65532 migrations/",
	} {
		if !strings.Contains(final, want) {
			t.Errorf("the runtime stage lacks %s", want)
		}
	}
	user := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindStringSubmatch(final)
	if user == nil || user[1] == "root" || strings.HasPrefix(user[1], "0") {
		t.Errorf("the runtime stage runs as %v, want a non-root USER", user)
	}
	ignore := strings.Fields(readFile(t, "Dockerfile.dockerignore"))
	for _, want := range []string{".pgtenant", ".git", "**/.env"} {
		if !slices.Contains(ignore, want) {
			t.Errorf("Dockerfile.dockerignore does not keep %s out of the build context", want)
		}
	}
	if regexp.MustCompile(`(?m)^(RUN|HEALTHCHECK)\b`).MatchString(final) {
		t.Error("the runtime stage has RUN or HEALTHCHECK, which need a shell the image does not have")
	}
}

// --- Prometheus and Grafana ---

// promFuncsAndKeywords are PromQL identifiers that are not metric names.
var promKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true,
	"sum": true, "avg": true, "min": true, "max": true, "count": true, "topk": true, "bottomk": true,
	"quantile": true, "stddev": true, "stdvar": true, "count_values": true, "group": true,
}

var (
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promMatchers = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promDuration = regexp.MustCompile(`^\d`)
)

// metricNames returns the metric names a PromQL expression selects: identifiers that are not functions (followed
// by "("), keywords, label names (inside braces or grouping lists), strings or durations. Grafana's $variables
// are left out.
func metricNames(expr string) []string {
	e := promString.ReplaceAllString(expr, `""`)
	e = promMatchers.ReplaceAllString(e, " ")
	e = promGrouping.ReplaceAllString(e, " ")
	e = regexp.MustCompile(`\$\w+`).ReplaceAllString(e, " ")
	var out []string
	for _, loc := range promIdent.FindAllStringIndex(e, -1) {
		id := e[loc[0]:loc[1]]
		if loc[0] > 0 && (promDuration.MatchString(e[loc[0]-1:loc[0]]) || e[loc[0]-1] == '.') {
			continue // the unit of a number such as 1e3, or part of 0.5
		}
		if promKeywords[strings.ToLower(id)] {
			continue
		}
		if rest := strings.TrimLeft(e[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue // a function call
		}
		out = append(out, id)
	}
	return out
}

func TestMetricNamesExtractor(t *testing.T) {
	got := metricNames(`histogram_quantile(0.99, sum by (le, route) (rate(pgtenant_http_request_duration_seconds_bucket{job="$job", status=~"5.."}[5m] offset 1h))) > 1e3
	  and on (instance) up / ignoring(x) node_load1 > bool 0.5 or absent(foo{a="b"})`)
	want := []string{"pgtenant_http_request_duration_seconds_bucket", "up", "node_load1", "foo"}
	if !slices.Equal(got, want) {
		t.Errorf("metricNames = %q, want %q", got, want)
	}
}

// promExprs gathers every PromQL expression of the alert rules and of the dashboard (targets and variables).
func promExprs(t *testing.T) map[string][]string {
	out := map[string][]string{}
	rules := yamlDocs(t, "prometheus/alerts.yml")[0]
	n := 0
	for _, g := range list(rules, "groups") {
		for _, r := range list(g, "rules") {
			n++
			name := str(r, "alert")
			if name == "" || str(r, "expr") == "" || str(r, "labels", "severity") == "" || str(r, "annotations", "summary") == "" {
				t.Errorf("alerts.yml: rule %q needs alert, expr, labels.severity and annotations.summary", name)
			}
			out["prometheus/alerts.yml"] = append(out["prometheus/alerts.yml"], str(r, "expr"))
		}
	}
	if n < 4 {
		t.Errorf("alerts.yml has %d rules, want at least error rate, latency, refusals and pool saturation", n)
	}
	dash := jsonFile(t, "grafana/pgtenant.json")
	for _, p := range list(dash, "panels") {
		for _, tg := range list(p, "targets") {
			out["grafana/pgtenant.json"] = append(out["grafana/pgtenant.json"], str(tg, "expr"))
		}
	}
	for _, v := range list(dash, "templating", "list") {
		q := strings.TrimSuffix(strings.TrimPrefix(str(v, "query"), "label_values("), ")")
		if i := strings.LastIndex(q, ","); i >= 0 {
			q = q[:i]
		}
		out["grafana/pgtenant.json"] = append(out["grafana/pgtenant.json"], q)
	}
	return out
}

func TestMetricNames(t *testing.T) {
	used := map[string]bool{}
	for file, exprs := range promExprs(t) {
		for _, e := range exprs {
			names := metricNames(e)
			if len(names) == 0 {
				t.Errorf("%s: %q selects no metric", file, e)
			}
			for _, n := range names {
				used[n] = true
				if !strings.HasPrefix(n, "pgtenant_") {
					t.Errorf("%s: %q uses the metric %s, which is not a pgtenant_ series", file, e, n)
				}
			}
		}
	}
	for _, want := range []string{
		"pgtenant_http_requests_total", "pgtenant_http_request_duration_seconds_bucket",
		"pgtenant_tenancy_refusals_total", "pgtenant_pool_acquired_connections", "pgtenant_pool_max_connections",
		"pgtenant_ratelimit_rejections_total",
	} {
		if !used[want] {
			t.Errorf("neither the alerts nor the dashboard use %s", want)
		}
	}
	// Every series used here must be one the server registers (a "pgtenant_…" string literal in the non-test Go
	// source), and, once the repository's README documents the metrics, one it documents.
	registered := goMetricNames(t)
	if len(registered) == 0 {
		t.Fatal("no pgtenant_ metric name found in the Go source")
	}
	checkKnown(t, used, registered, "registered by the server (a \"pgtenant_…\" literal in the Go source)")
	b, err := os.ReadFile("../README.md")
	if err != nil || !bytes.Contains(b, []byte("pgtenant_http_requests_total")) {
		t.Log("../README.md does not document the metrics yet: names not checked against it")
		return
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile(`pgtenant_[a-z0-9_]+`).FindAll(b, -1) {
		documented[string(m)] = true
	}
	checkKnown(t, used, documented, "documented in README.md")
}

// checkKnown reports each used series whose name, or base name for a histogram's _bucket, _count and _sum, is
// not in known.
func checkKnown(t *testing.T, used, known map[string]bool, what string) {
	t.Helper()
	for n := range used {
		base := n
		for _, s := range []string{"_bucket", "_count", "_sum"} {
			base = strings.TrimSuffix(base, s)
		}
		if !known[n] && !known[base] {
			t.Errorf("%s is used by deploy/ but not %s", n, what)
		}
	}
}

// goMetricNames collects the "pgtenant_…" string literals of the repository's non-test Go files: every metric
// name the server registers is one.
func goMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	lit := regexp.MustCompile(`"(pgtenant_[a-z0-9_]+)"`)
	names := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", ".pgtenant", "testdata", "deploy":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range lit.FindAllSubmatch(b, -1) {
			names[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestDashboardPanels(t *testing.T) {
	dash := jsonFile(t, "grafana/pgtenant.json")
	ids := map[float64]bool{}
	for _, p := range list(dash, "panels") {
		id, _ := get(p, "id").(float64)
		if ids[id] {
			t.Errorf("panel id %v is used twice", id)
		}
		ids[id] = true
		if str(p, "title") == "" || len(list(p, "targets")) == 0 || get(p, "gridPos") == nil {
			t.Errorf("panel %v needs a title, targets and a gridPos", id)
		}
	}
	if str(dash, "uid") == "" || str(dash, "title") == "" {
		t.Error("the dashboard needs a uid and a title")
	}
}

func TestPrometheusConfig(t *testing.T) {
	cfg := yamlDocs(t, "prometheus/prometheus.yml")[0]
	if !slices.ContainsFunc(list(cfg, "rule_files"), func(v any) bool { s, _ := v.(string); return strings.HasSuffix(s, "/alerts.yml") }) {
		t.Error("prometheus.yml does not load alerts.yml")
	}
	found := false
	for _, sc := range list(cfg, "scrape_configs") {
		for _, st := range list(sc, "static_configs") {
			for _, tg := range list(st, "targets") {
				if s, _ := tg.(string); strings.HasSuffix(s, ":3001") {
					found = true
				}
			}
		}
	}
	if !found {
		t.Error("prometheus.yml does not scrape the admin port 3001")
	}
}

// --- no committed secrets ---

var (
	secretName = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|SECRET)$`)
	// scheme://user:password@ : the password must be a variable or a placeholder.
	urlCreds = regexp.MustCompile(`[a-z][a-z0-9+.-]*://[A-Za-z0-9_.%-]+:([^@\s'"/]+)@`)
	// KEY: value or KEY=value where KEY ends in PASSWORD/PASSWD/SECRET.
	keyValue = regexp.MustCompile(`(?i)\b([A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET))["']?[:=][ \t]*([^\s#,}]*)`)
	// SQL: PASSWORD 'literal'.
	sqlPassword = regexp.MustCompile(`(?i)\bPASSWORD\s+E?'([^']*)'`)
)

// placeholder: empty, a variable ($X, ${X}, $(cmd), :'psql_var'), or <something>.
func placeholder(v string) bool {
	v = strings.Trim(v, `"'`)
	return v == "" || strings.HasPrefix(v, "$") || strings.HasPrefix(v, "<") || strings.HasPrefix(v, ":") ||
		v == "…" || v == "..."
}

func committedSecrets(text string) []string {
	var bad []string
	for _, m := range urlCreds.FindAllStringSubmatch(text, -1) {
		if !placeholder(m[1]) {
			bad = append(bad, m[0])
		}
	}
	for _, m := range keyValue.FindAllStringSubmatch(text, -1) {
		if !placeholder(m[2]) {
			bad = append(bad, m[0])
		}
	}
	for _, m := range sqlPassword.FindAllStringSubmatch(text, -1) {
		if !placeholder(m[1]) {
			bad = append(bad, m[0])
		}
	}
	return bad
}

func TestSecretDetector(t *testing.T) {
	for _, s := range []string{
		"postgres://app:hunter2@db:5432/x", "DB_PASSWORD: s3cret", "POSTGRES_PASSWORD=changeme",
		"CREATE ROLE x LOGIN PASSWORD 'hunter2';", `"JWT_SECRET": "abcdefabcdefabcdefabcdefabcdefabcdef"`,
	} {
		if len(committedSecrets(s)) == 0 {
			t.Errorf("%q is not flagged", s)
		}
	}
	for _, s := range []string{
		"postgres://app:${PGTENANT_API_PASSWORD}@pgbouncer:6432/x", "DB_PASSWORD: ${PGTENANT_API_PASSWORD}",
		"POSTGRES_PASSWORD=", "PASSWORD :'owner_pw'", "JWT_SECRET: ${JWT_SECRET:-}", "--from-literal=X=postgres://u:$PW@h/d",
		"postgres://u:<password>@h/d",
	} {
		if b := committedSecrets(s); len(b) != 0 {
			t.Errorf("%q is flagged: %q", s, b)
		}
	}
}

func TestNoCommittedPasswords(t *testing.T) {
	files := walk(t, "")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		if base := filepath.Base(f); base == ".env" || strings.HasPrefix(base, ".env.") && base != ".env.example" {
			continue // the operator's real values, ignored by deploy/.gitignore (checked below)
		}
		for _, s := range committedSecrets(readFile(t, f)) {
			t.Errorf("deploy/%s: looks like a committed password: %q (use a ${VAR} or a Secret)", f, s)
		}
	}
}

func TestEnvFileIgnored(t *testing.T) {
	if !slices.Contains(strings.Split(readFile(t, ".gitignore"), "\n"), ".env") {
		t.Error("deploy/.gitignore does not ignore .env, where the operator puts the real passwords")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
