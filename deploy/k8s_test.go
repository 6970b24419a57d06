package deploy

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The kustomize directories, from the repository root.
const (
	k8sBase = "k8s/base"
	k8sDev  = "k8s/overlays/dev"
	k8sProd = "k8s/overlays/prod"
)

// manifests are the objects `kustomize build` renders for one directory,
// each decoded into its k8s.io/api type.
type manifests struct {
	dir             string
	namespaces      map[string]*corev1.Namespace
	serviceAccounts map[string]*corev1.ServiceAccount
	configMaps      map[string]*corev1.ConfigMap
	secrets         map[string]*corev1.Secret
	services        map[string]*corev1.Service
	deployments     map[string]*appsv1.Deployment
	policies        []*networkingv1.NetworkPolicy
}

// rendered caches each directory's manifests: the tests share them.
var rendered struct {
	mu   sync.Mutex
	byID map[string]*manifests
}

// render builds dir with kustomize (krusty, as kubectl apply -k does) and
// decodes every object strictly: a field its type does not know fails.
func render(t *testing.T, dir string) *manifests {
	t.Helper()
	rendered.mu.Lock()
	defer rendered.mu.Unlock()
	if m, ok := rendered.byID[dir]; ok {
		return m
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(root, dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	m := &manifests{
		dir:             dir,
		namespaces:      map[string]*corev1.Namespace{},
		serviceAccounts: map[string]*corev1.ServiceAccount{},
		configMaps:      map[string]*corev1.ConfigMap{},
		secrets:         map[string]*corev1.Secret{},
		services:        map[string]*corev1.Service{},
		deployments:     map[string]*appsv1.Deployment{},
	}
	for _, r := range rm.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			t.Fatalf("%s: %s: %v", dir, r.CurId(), err)
		}
		kind := r.GetApiVersion() + " " + r.GetKind()
		var obj metav1.Object
		switch kind {
		case "v1 Namespace":
			o := &corev1.Namespace{}
			m.namespaces[r.GetName()], obj = o, o
		case "v1 ServiceAccount":
			o := &corev1.ServiceAccount{}
			m.serviceAccounts[r.GetName()], obj = o, o
		case "v1 ConfigMap":
			o := &corev1.ConfigMap{}
			m.configMaps[r.GetName()], obj = o, o
		case "v1 Secret":
			o := &corev1.Secret{}
			m.secrets[r.GetName()], obj = o, o
		case "v1 Service":
			o := &corev1.Service{}
			m.services[r.GetName()], obj = o, o
		case "apps/v1 Deployment":
			o := &appsv1.Deployment{}
			m.deployments[r.GetName()], obj = o, o
		case "networking.k8s.io/v1 NetworkPolicy":
			o := &networkingv1.NetworkPolicy{}
			m.policies, obj = append(m.policies, o), o
		default:
			t.Errorf("%s: %s %s: no check knows this kind; add it to render", dir, kind, r.GetName())
			continue
		}
		if err := yaml.UnmarshalStrict(data, obj); err != nil {
			t.Errorf("%s: %s %s does not decode strictly into its k8s.io/api type: %v", dir, kind, r.GetName(), err)
		}
		checkMeta(t, dir, kind, obj)
	}
	if rendered.byID == nil {
		rendered.byID = map[string]*manifests{}
	}
	rendered.byID[dir] = m
	return m
}

// checkMeta checks the name and labels that the API server would check.
func checkMeta(t *testing.T, dir, kind string, obj metav1.Object) {
	t.Helper()
	check := validation.IsDNS1123Subdomain
	if strings.HasSuffix(kind, " Service") {
		check = validation.IsDNS1035Label
	}
	if errs := check(obj.GetName()); len(errs) > 0 {
		t.Errorf("%s: %s name %q: %v", dir, kind, obj.GetName(), errs)
	}
	if kind != "v1 Namespace" && obj.GetNamespace() == "" {
		t.Errorf("%s: %s %s has no namespace", dir, kind, obj.GetName())
	}
	for k, v := range obj.GetLabels() {
		if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
			t.Errorf("%s: %s %s label %s=%s: %v", dir, kind, obj.GetName(), k, v, errs)
		}
	}
}

// TestKustomizeBuilds renders the base and each overlay and checks what
// holds for all of them: every object decodes strictly, the base and the
// prod overlay hold no Secret (they reference Secrets by name), every
// image is pinned by tag, and every Deployment and its pods are hardened.
func TestKustomizeBuilds(t *testing.T) {
	for _, dir := range []string{k8sBase, k8sDev, k8sProd} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			m := render(t, dir)
			if dir != k8sDev {
				for name, s := range m.secrets {
					t.Errorf("%s renders Secret %s (%d keys): reference Secrets by name, with no values in the repository", dir, name, len(s.Data)+len(s.StringData))
				}
			}
			if len(m.deployments) == 0 {
				t.Fatalf("%s renders no Deployment", dir)
			}
			for _, d := range m.deployments {
				ns, ok := m.namespaces[d.Namespace]
				if !ok {
					t.Errorf("%s: Deployment %s is in namespace %q, which the build does not create", dir, d.Name, d.Namespace)
				} else if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
					t.Errorf("%s: namespace %s does not enforce the restricted Pod Security Standard", dir, ns.Name)
				}
			}
			for _, name := range sortedKeys(m.deployments) {
				d := m.deployments[name]
				for _, c := range d.Spec.Template.Spec.Containers {
					ref := c.Image
					tag := ""
					if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
						tag = ref[i+1:]
					}
					if dir != k8sBase && (tag == "" || tag == "latest") {
						t.Errorf("%s: Deployment %s runs %s: pin a tag", dir, name, ref)
					}
					if dir == k8sProd && tag == "dev" {
						t.Errorf("%s: Deployment %s runs %s, a development build", dir, name, ref)
					}
				}
				checkPodHardening(t, fmt.Sprintf("%s: Deployment %s", dir, name), m, d)
			}
		})
	}
}

// ourImage reports whether a Deployment runs one of the project's images
// (a poller or a simulator), which meet every hardening rule; the dev
// overlay's Kafka and registry images write their configuration at start
// and keep a writable root file system.
func ourImage(d *appsv1.Deployment) bool {
	c := d.Spec.Template.Labels["app.kubernetes.io/component"]
	return c == "poller" || c == "simulator"
}

// checkPodHardening checks a Deployment's pod: no service account token,
// no host namespaces, no Service link variables, non-root with the
// RuntimeDefault seccomp profile, every capability dropped, no privilege
// escalation, requests and limits, and for the project's images a
// read-only root file system.
func checkPodHardening(t *testing.T, where string, m *manifests, d *appsv1.Deployment) {
	t.Helper()
	spec := d.Spec.Template.Spec
	automount := true
	if sa, ok := m.serviceAccounts[spec.ServiceAccountName]; ok && sa.AutomountServiceAccountToken != nil {
		automount = *sa.AutomountServiceAccountToken
	}
	if spec.AutomountServiceAccountToken != nil {
		automount = *spec.AutomountServiceAccountToken
	}
	if automount {
		t.Errorf("%s: the pod mounts a service account token; set automountServiceAccountToken: false", where)
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		t.Errorf("%s: the pod shares a host namespace", where)
	}
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		t.Errorf("%s: set enableServiceLinks: false (Service link variables such as KAFKA_PORT reach the container's environment)", where)
	}
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		t.Errorf("%s: the pod runs as root", where)
	}
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		w := where + " container " + c.Name
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("%s: no securityContext", w)
			continue
		}
		if !isTrue(sc.RunAsNonRoot) && !(sc.RunAsNonRoot == nil && isTrue(psc.RunAsNonRoot)) {
			t.Errorf("%s: want runAsNonRoot: true", w)
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			t.Errorf("%s: runs as root", w)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: want allowPrivilegeEscalation: false", w)
		}
		if isTrue(sc.Privileged) {
			t.Errorf("%s: privileged", w)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			t.Errorf("%s: want capabilities drop [ALL] and nothing added", w)
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = psc.SeccompProfile
		}
		if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: want seccompProfile RuntimeDefault", w)
		}
		if ourImage(d) && !isTrue(sc.ReadOnlyRootFilesystem) {
			t.Errorf("%s: want readOnlyRootFilesystem: true", w)
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, rok := c.Resources.Requests[r]
			lim, lok := c.Resources.Limits[r]
			switch {
			case !rok || !lok:
				t.Errorf("%s: want %s requests and limits", w, r)
			case req.Cmp(lim) > 0:
				t.Errorf("%s: %s request %s exceeds its limit %s", w, r, req.String(), lim.String())
			}
		}
	}
}

// isTrue reports whether b is set and true.
func isTrue(b *bool) bool { return b != nil && *b }

// TestKubernetesPollers checks every poller's Deployment in each overlay:
// one replica replaced with Recreate, its own ServiceAccount without
// token, probes and Prometheus annotations on the port of HTTP_ADDR,
// settings its service declares and validates, Secrets mounted as files
// named by <NAME>_FILE, and network policies that allow egress to DNS,
// Kafka, the registry and the vendor only.
func TestKubernetesPollers(t *testing.T) {
	for _, dir := range []string{k8sDev, k8sProd} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			m := render(t, dir)
			for _, name := range sortedKeys(m.deployments) {
				if ourImage(m.deployments[name]) && m.deployments[name].Spec.Template.Labels["app.kubernetes.io/component"] == "poller" &&
					!slices.ContainsFunc(Pollers, func(p Poller) bool { return p.Service() == name }) {
					t.Errorf("%s: Deployment %s is a poller that Pollers does not list", dir, name)
				}
			}
			for _, pl := range Pollers {
				t.Run(pl.Service(), func(t *testing.T) {
					checkK8sPoller(t, m, pl)
				})
			}
		})
	}
}

// checkK8sPoller checks poller pl's Deployment in m.
func checkK8sPoller(t *testing.T, m *manifests, pl Poller) {
	where := m.dir + ": Deployment " + pl.Service()
	d, ok := m.deployments[pl.Service()]
	if !ok {
		t.Fatalf("%s renders no Deployment %s", m.dir, pl.Service())
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("%s: want replicas: 1 (one writer per stream)", where)
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("%s: strategy %q, want Recreate (the old pod stops before the new one starts)", where, d.Spec.Strategy.Type)
	}
	tmpl := d.Spec.Template
	if tmpl.Labels["app.kubernetes.io/name"] != pl.Service() {
		t.Errorf("%s: pod label app.kubernetes.io/name=%q, want %s", where, tmpl.Labels["app.kubernetes.io/name"], pl.Service())
	}
	if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || !sel.Matches(labels.Set(tmpl.Labels)) {
		t.Errorf("%s: the selector does not select the pod template", where)
	}
	sa, ok := m.serviceAccounts[tmpl.Spec.ServiceAccountName]
	switch {
	case !ok || tmpl.Spec.ServiceAccountName != pl.Service():
		t.Errorf("%s: want its own ServiceAccount %s, got %q", where, pl.Service(), tmpl.Spec.ServiceAccountName)
	case sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken:
		t.Errorf("%s: ServiceAccount %s: want automountServiceAccountToken: false", where, sa.Name)
	}
	if len(tmpl.Spec.Containers) != 1 {
		t.Fatalf("%s: want one container, got %d", where, len(tmpl.Spec.Containers))
	}
	c := tmpl.Spec.Containers[0]
	if name, _, _ := strings.Cut(c.Image[strings.LastIndex(c.Image, "/")+1:], ":"); name != pl.Service() {
		t.Errorf("%s: image %s is not a %s image", where, c.Image, pl.Service())
	}

	env := containerEnv(t, m, where, &c)
	e := pollerEnv{where: where, service: pl.Service(), env: env, files: mountedSecretFiles(t, m, where, &tmpl.Spec, &c, env)}
	checkPollerEnv(t, e)

	port := addrPort(t, where, e.value(t, "HTTP_ADDR"))
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return int(p.ContainerPort) == port }) {
		t.Errorf("%s: no container port %d (HTTP_ADDR)", where, port)
	}
	for _, probe := range []struct {
		name string
		p    *corev1.Probe
		path string
	}{{"liveness", c.LivenessProbe, "/livez"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if probe.p == nil || probe.p.HTTPGet == nil || probe.p.HTTPGet.Path != probe.path || containerPort(&c, probe.p.HTTPGet.Port) != port {
			t.Errorf("%s: want a %s probe GET %s on port %d", where, probe.name, probe.path, port)
		}
	}
	ann := tmpl.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != strconv.Itoa(port) || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("%s: want annotations prometheus.io/scrape=true, prometheus.io/port=%d, prometheus.io/path=/metrics; got %v", where, port, ann)
	}
	checkNetworkPolicies(t, m, d, e, port)
}

// containerPort resolves a probe's port (a number or a port name) to a
// number, or 0.
func containerPort(c *corev1.Container, p intstr.IntOrString) int {
	if p.Type == intstr.Int {
		return p.IntValue()
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort)
		}
	}
	return 0
}

// containerEnv returns the environment container c gets from its
// ConfigMaps (in order, later ones winning) and its env entries. A
// variable taken from a Secret is an error: secrets are mounted files.
func containerEnv(t *testing.T, m *manifests, where string, c *corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		switch {
		case from.SecretRef != nil:
			t.Errorf("%s: envFrom Secret %s: mount secrets as files and name them in <NAME>_FILE", where, from.SecretRef.Name)
		case from.ConfigMapRef != nil:
			cm, ok := m.configMaps[from.ConfigMapRef.Name]
			if !ok {
				t.Errorf("%s: envFrom ConfigMap %s, which the build does not render", where, from.ConfigMapRef.Name)
				continue
			}
			for k, v := range cm.Data {
				env[from.Prefix+k] = v
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			t.Errorf("%s: %s comes from Secret %s: mount secrets as files and name them in <NAME>_FILE", where, e.Name, e.ValueFrom.SecretKeyRef.Name)
		case e.ValueFrom.FieldRef != nil:
			env[e.Name] = "$(" + e.ValueFrom.FieldRef.FieldPath + ")"
		default:
			env[e.Name] = "$(valueFrom)"
		}
	}
	return env
}

// mountedSecretFiles returns, for every variable of env whose value is a path
// in a mounted Secret volume, that path and a local file with the key's
// content. When the Secret is part of the build its key must exist; when
// it is only referenced (created outside the repository), the local file
// holds stand-in content.
func mountedSecretFiles(t *testing.T, m *manifests, where string, spec *corev1.PodSpec, c *corev1.Container, env map[string]string) map[string]string {
	t.Helper()
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	dir := t.TempDir()
	files := map[string]string{}
	for _, value := range env {
		for _, vm := range c.VolumeMounts {
			rel, ok := strings.CutPrefix(value, strings.TrimSuffix(vm.MountPath, "/")+"/")
			vol := volumes[vm.Name]
			if !ok || vol.Secret == nil {
				continue
			}
			if !vm.ReadOnly {
				t.Errorf("%s: mount the Secret volume %s read-only", where, vm.Name)
			}
			key := rel
			for _, it := range vol.Secret.Items {
				if it.Path == rel {
					key = it.Key
				}
			}
			content := []byte("stand-in for a Secret created outside the repository\n")
			if s, ok := m.secrets[vol.Secret.SecretName]; ok {
				data, ok := s.Data[key]
				if !ok {
					t.Errorf("%s: %s names key %s of Secret %s, which has no such key", where, value, key, s.Name)
				}
				content = data
			}
			local := filepath.Join(dir, strconv.Itoa(len(files)))
			if err := os.WriteFile(local, content, 0o600); err != nil {
				t.Fatal(err)
			}
			files[value] = local
		}
	}
	return files
}

// checkNetworkPolicies checks the policies that select poller d's pod:
// egress is restricted, and allowed only to DNS and to each destination
// the poller's settings name (Kafka, the registry, the vendor), on its
// port; ingress, when restricted, still lets Prometheus reach metricsPort.
func checkNetworkPolicies(t *testing.T, m *manifests, d *appsv1.Deployment, e pollerEnv, metricsPort int) {
	t.Helper()
	podLabels := labels.Set(d.Spec.Template.Labels)
	var egress []networkingv1.NetworkPolicyEgressRule
	var ingress []networkingv1.NetworkPolicyIngressRule
	var restrictsEgress, restrictsIngress bool
	for _, np := range m.policies {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			t.Errorf("%s: NetworkPolicy %s: %v", m.dir, np.Name, err)
			continue
		}
		if np.Namespace != d.Namespace || !sel.Matches(podLabels) {
			continue
		}
		types := np.Spec.PolicyTypes
		if len(types) == 0 {
			types = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
			if len(np.Spec.Egress) > 0 {
				types = append(types, networkingv1.PolicyTypeEgress)
			}
		}
		if slices.Contains(types, networkingv1.PolicyTypeEgress) {
			restrictsEgress = true
			egress = append(egress, np.Spec.Egress...)
		}
		if slices.Contains(types, networkingv1.PolicyTypeIngress) {
			restrictsIngress = true
			ingress = append(ingress, np.Spec.Ingress...)
		}
	}
	if !restrictsEgress {
		t.Errorf("%s: no NetworkPolicy restricts the egress of %s", m.dir, d.Name)
		return
	}

	needed := map[int]bool{}
	for _, dst := range destinations(t, e) {
		port, peer, ok := resolveDestination(m, d.Namespace, dst)
		if !ok {
			t.Errorf("%s: %s=%s:%d names a Service of the namespace that does not serve that port", e.where, dst.setting, dst.host, dst.port)
			continue
		}
		needed[port] = true
		if !slices.ContainsFunc(egress, func(r networkingv1.NetworkPolicyEgressRule) bool {
			return allowsEgress(r, port, corev1.ProtocolTCP, peer)
		}) {
			t.Errorf("%s: no NetworkPolicy lets %s reach %s (%s:%d, pod port %d)", m.dir, d.Name, dst.setting, dst.host, dst.port, port)
		}
	}
	for _, proto := range []corev1.Protocol{corev1.ProtocolUDP, corev1.ProtocolTCP} {
		if !slices.ContainsFunc(egress, func(r networkingv1.NetworkPolicyEgressRule) bool {
			return allowsEgress(r, 53, proto, func(networkingv1.NetworkPolicyPeer) bool { return true })
		}) {
			t.Errorf("%s: no NetworkPolicy lets %s resolve names (port 53/%s)", m.dir, d.Name, proto)
		}
	}
	for _, r := range egress {
		if len(r.Ports) == 0 {
			t.Errorf("%s: an egress rule for %s allows every port", m.dir, d.Name)
		}
		for _, p := range r.Ports {
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			switch {
			case p.Port == nil || p.EndPort != nil || p.Port.Type != intstr.Int:
				t.Errorf("%s: an egress rule for %s allows a port range or a named port; name single port numbers", m.dir, d.Name)
			case p.Port.IntValue() == 53:
			case proto != corev1.ProtocolTCP || !needed[p.Port.IntValue()]:
				t.Errorf("%s: an egress rule lets %s reach port %d/%s, which none of its destinations uses", m.dir, d.Name, p.Port.IntValue(), proto)
			case len(r.To) == 0:
				t.Errorf("%s: an egress rule lets %s reach port %d on every address; name the destination", m.dir, d.Name, p.Port.IntValue())
			}
		}
	}
	if restrictsIngress && !slices.ContainsFunc(ingress, func(r networkingv1.NetworkPolicyIngressRule) bool {
		return len(r.From) == 0 && (len(r.Ports) == 0 || slices.ContainsFunc(r.Ports, func(p networkingv1.NetworkPolicyPort) bool {
			return p.Port != nil && p.Port.IntValue() == metricsPort && (p.Protocol == nil || *p.Protocol == corev1.ProtocolTCP)
		}))
	}) {
		t.Errorf("%s: the NetworkPolicies of %s block Prometheus from /metrics (port %d)", m.dir, d.Name, metricsPort)
	}
}

// resolveDestination returns the pod port a connection to dst reaches and
// a test of the peers that allow it. A host naming a Service of the
// namespace (name, name.namespace, name.namespace.svc...) resolves to the
// target port of its pods, which a pod selector must match; any other host
// is outside the cluster, which an ipBlock must cover.
func resolveDestination(m *manifests, namespace string, dst destination) (int, func(networkingv1.NetworkPolicyPeer) bool, bool) {
	parts := strings.Split(dst.host, ".")
	svc, ok := m.services[parts[0]]
	if net.ParseIP(dst.host) != nil || !ok || (len(parts) > 1 && parts[1] != namespace) {
		return dst.port, func(p networkingv1.NetworkPolicyPeer) bool { return p.IPBlock != nil }, true
	}
	pods := backingPods(m, svc)
	if pods == nil {
		return 0, nil, false
	}
	for _, sp := range svc.Spec.Ports {
		if int(sp.Port) != dst.port || (sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP) {
			continue
		}
		target := sp.TargetPort
		if target.Type == intstr.Int && target.IntValue() == 0 {
			target = intstr.FromInt32(sp.Port)
		}
		port := 0
		for i := range pods.Spec.Containers {
			if p := containerPort(&pods.Spec.Containers[i], target); p != 0 {
				port = p
			}
		}
		if port == 0 {
			return 0, nil, false
		}
		podLabels := labels.Set(pods.Labels)
		return port, func(p networkingv1.NetworkPolicyPeer) bool {
			if p.PodSelector == nil || p.NamespaceSelector != nil || p.IPBlock != nil {
				return false
			}
			sel, err := metav1.LabelSelectorAsSelector(p.PodSelector)
			return err == nil && sel.Matches(podLabels)
		}, true
	}
	return 0, nil, false
}

// backingPods returns the pod template of the Deployment that svc selects,
// or nil.
func backingPods(m *manifests, svc *corev1.Service) *corev1.PodTemplateSpec {
	if len(svc.Spec.Selector) == 0 {
		return nil
	}
	for _, name := range sortedKeys(m.deployments) {
		d := m.deployments[name]
		if d.Namespace == svc.Namespace && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			return &d.Spec.Template
		}
	}
	return nil
}

// allowsEgress reports whether rule r lets traffic to port/proto reach a
// peer that peer accepts.
func allowsEgress(r networkingv1.NetworkPolicyEgressRule, port int, proto corev1.Protocol, peer func(networkingv1.NetworkPolicyPeer) bool) bool {
	portOK := len(r.Ports) == 0
	for _, p := range r.Ports {
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pp == proto && (p.Port == nil || (p.Port.Type == intstr.Int && p.Port.IntValue() == port)) {
			portOK = true
		}
	}
	if !portOK {
		return false
	}
	return len(r.To) == 0 || slices.ContainsFunc(r.To, peer)
}

// TestKubernetesDev checks the dev overlay's own services: the single-node
// Kafka and the registry configured as in docker-compose.yml and reached
// through their Services, and every poller's simulator with the same data
// as in docker-compose.yml, serving the port its Service targets.
func TestKubernetesDev(t *testing.T) {
	t.Parallel()
	m := render(t, k8sDev)
	kafka, ok := m.deployments["kafka"]
	if !ok {
		t.Fatal("the dev overlay renders no Deployment kafka")
	}
	kc := kafka.Spec.Template.Spec.Containers[0]
	if !strings.HasPrefix(kc.Image, "apache/kafka:") {
		t.Errorf("dev kafka runs %s, want apache/kafka:<version>", kc.Image)
	}
	kenv := containerEnv(t, m, "dev kafka", &kc)
	b := checkKafkaEnv(t, "k8s dev kafka", kenv)
	if !slices.ContainsFunc(kc.VolumeMounts, func(v corev1.VolumeMount) bool { return v.MountPath == kenv["KAFKA_LOG_DIRS"] }) {
		t.Errorf("dev kafka: KAFKA_LOG_DIRS %s is not a mounted volume", kenv["KAFKA_LOG_DIRS"])
	}
	if kafka.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Error("dev kafka: want strategy Recreate: two brokers with one node id must not overlap")
	}
	aliases := []string{"kafka", "kafka." + kafka.Namespace, "kafka." + kafka.Namespace + ".svc", "kafka." + kafka.Namespace + ".svc.cluster.local"}
	kafkaPort := func(hostPort string) {
		t.Helper()
		host, port, _ := net.SplitHostPort(hostPort)
		n, _ := strconv.Atoi(port)
		pod, _, ok := resolveDestination(m, kafka.Namespace, destination{"", host, n})
		if !ok || !b.reaches(hostPort, aliases) || !slices.ContainsFunc(b.advertisedBy(pod), func(a string) bool { return a == hostPort }) {
			t.Errorf("dev: %s is not an advertised Kafka listener served through the Service kafka", hostPort)
		}
	}

	reg, ok := m.deployments["schema-registry"]
	if !ok {
		t.Fatal("the dev overlay renders no Deployment schema-registry")
	}
	rc := reg.Spec.Template.Spec.Containers[0]
	renv := containerEnv(t, m, "dev schema-registry", &rc)
	regPort := checkRegistryEnv(t, "k8s dev schema-registry", renv, b, aliases)
	for _, s := range splitList(renv["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"]) {
		_, hostPort, _ := cutListener(s)
		kafkaPort(hostPort)
	}

	compose := loadCompose(t, nil)
	for _, pl := range Pollers {
		t.Run(pl.Service(), func(t *testing.T) {
			d := m.deployments[pl.Service()]
			if d == nil {
				t.Fatalf("dev renders no Deployment %s", pl.Service())
			}
			c := d.Spec.Template.Spec.Containers[0]
			e := pollerEnv{where: "dev " + pl.Service(), service: pl.Service(), env: containerEnv(t, m, "dev "+pl.Service(), &c)}
			for _, hp := range splitList(e.value(t, "KAFKA_BROKERS")) {
				kafkaPort(hp)
			}

			sim, ok := m.deployments[pl.Simulator()]
			if !ok {
				t.Fatalf("dev renders no Deployment %s", pl.Simulator())
			}
			if sim.Spec.Template.Labels["app.kubernetes.io/component"] != "simulator" {
				t.Errorf("dev %s: want pod label app.kubernetes.io/component=simulator", pl.Simulator())
			}
			sc := sim.Spec.Template.Spec.Containers[0]
			if name, _, _ := strings.Cut(sc.Image, ":"); name != "auditstream/"+pl.Simulator() {
				t.Errorf("dev %s runs %s, want auditstream/%s:<tag>", pl.Simulator(), sc.Image, pl.Simulator())
			}
			if len(sc.Command) > 0 {
				t.Errorf("dev %s overrides the image's ENTRYPOINT", pl.Simulator())
			}
			checkSimulatorArgs(t, "dev "+pl.Simulator(), pl.Simulator(), sc.Args)
			if cs, ok := compose.Services[pl.Simulator()]; !ok || !slices.Equal(sc.Args, []string(cs.Command)) {
				t.Errorf("dev %s args %q differ from docker-compose.yml's command %q: both stacks should hold the same data", pl.Simulator(), sc.Args, cs.Command)
			}
			simPort := simulatorPort(t, pl, sc.Args)
			if !slices.ContainsFunc(sc.Ports, func(p corev1.ContainerPort) bool { return int(p.ContainerPort) == simPort }) {
				t.Errorf("dev %s: no container port %d (its -addr)", pl.Simulator(), simPort)
			}
			for _, p := range []*corev1.Probe{sc.ReadinessProbe, sc.LivenessProbe} {
				if p == nil || p.TCPSocket == nil || containerPort(&sc, p.TCPSocket.Port) != simPort {
					t.Errorf("dev %s: want readiness and liveness probes on port %d", pl.Simulator(), simPort)
				}
			}
			// Every host the poller names in the namespace serves that port.
			for _, dst := range destinations(t, e) {
				port, _, ok := resolveDestination(m, d.Namespace, dst)
				switch {
				case !ok:
					t.Errorf("dev %s: %s=%s:%d is not served in the namespace", pl.Service(), dst.setting, dst.host, dst.port)
				case dst.setting == "SCHEMA_REGISTRY_URL" && port != regPort:
					t.Errorf("dev %s: SCHEMA_REGISTRY_URL reaches port %d; the registry listens on %d", pl.Service(), port, regPort)
				case strings.HasPrefix(dst.host, pl.Simulator()) && port != simPort:
					t.Errorf("dev %s: %s reaches port %d; %s listens on %d", pl.Service(), dst.setting, port, pl.Simulator(), simPort)
				}
			}
		})
	}
}

// advertisedBy returns the advertised addresses of the listeners that bind
// port.
func (b broker) advertisedBy(port int) []string {
	var out []string
	for name, adv := range b.advertised {
		if b.bind[name] == port {
			out = append(out, adv)
		}
	}
	return out
}
